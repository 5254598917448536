/* Integer-heavy hashing and arithmetic: FNV-1a, software CRC32, xorshift, 128-bit products,
 * division edge cases, bit tricks. Output must match qemu-aarch64 exactly. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <limits.h>

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_sw(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ull; }
    return h;
}

static uint64_t xs = 88172645463325252ull;
static uint64_t xorshift(void) { xs ^= xs << 13; xs ^= xs >> 7; xs ^= xs << 17; return xs; }

__attribute__((noinline)) static int64_t sdiv(int64_t a, int64_t b) { return b ? a / b : 0; }
__attribute__((noinline)) static uint64_t udiv(uint64_t a, uint64_t b) { return b ? a / b : 0; }
__attribute__((noinline)) static int32_t smod32(int32_t a, int32_t b) { return b ? a % b : 0; }

int main(void) {
    crc_init();
    unsigned char buf[4096];
    for (int i = 0; i < 4096; i++) buf[i] = (unsigned char)(xorshift() >> 17);
    printf("crc32=%08x fnv=%016llx\n", crc32_sw(buf, sizeof buf), (unsigned long long)fnv1a(buf, sizeof buf));
    const char *s = "The quick brown fox jumps over the lazy dog";
    printf("crc32(fox)=%08x fnv(fox)=%llx\n", crc32_sw((const unsigned char *)s, strlen(s)), (unsigned long long)fnv1a((const unsigned char *)s, strlen(s)));

    uint64_t acc = 0;
    for (int i = 0; i < 200000; i++) {
        uint64_t a = xorshift(), b = xorshift();
        unsigned __int128 p = (unsigned __int128)a * b;
        __int128 q = (__int128)(int64_t)a * (int64_t)b;
        acc ^= (uint64_t)(p >> 64) + (uint64_t)(q >> 64) * 3 + (uint64_t)p;
        acc = (acc << 7) | (acc >> 57);
        acc += udiv(a, (b >> (i & 63)) | 1) + (uint64_t)sdiv((int64_t)a, (int64_t)(b >> 40) - 8388608);
        acc += (uint64_t)__builtin_clzll(a | 1) + (uint64_t)__builtin_ctzll(b | (1ull << 63));
        acc += __builtin_bswap64(a) ^ __builtin_bswap32((uint32_t)b);
        acc += (uint32_t)smod32((int32_t)a, (int32_t)(b >> 58) - 16);
        acc += (a > b) ? a - b : b - a;
        acc += (int64_t)a < (int64_t)b;
        acc += (uint16_t)(a >> 3) * (int16_t)(b >> 5);
        acc += (uint64_t)((int8_t)a) + (uint64_t)((int16_t)b) + (uint64_t)((int32_t)(a ^ b));
    }
    printf("acc=%016llx\n", (unsigned long long)acc);
    printf("edge: %lld %lld %llu %d %d\n", (long long)sdiv(LLONG_MIN, -1LL == 0 ? 1 : 3), (long long)sdiv(-7, 2),
           (unsigned long long)udiv(~0ull, 3), smod32(-7, 3), smod32(INT_MIN, 7));
    int32_t w = 0x7fffffff;
    printf("wrap: %d %u %lld\n", (int32_t)((uint32_t)w + 1u), (uint32_t)w * 3u, (long long)w * w);
    /* bitfield-style extraction */
    uint64_t bits = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t v = xorshift();
        bits += ((v >> (i % 50)) & ((1ull << (i % 13 + 1)) - 1)) ^ (uint64_t)(((int64_t)v << (i % 17)) >> (i % 23 + 3));
    }
    printf("bits=%llx\n", (unsigned long long)bits);
    return (int)(acc & 0x3f);
}
