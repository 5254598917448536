/* Crypto extension and CRC32 intrinsics: AES-128 (FIPS-197) encryption/decryption with
 * AESE/AESMC/AESD/AESIMC, SHA-1 and SHA-256 of test strings with the SHA instructions,
 * CRC32/CRC32C with the __crc32* intrinsics, and a GHASH-style carry-less multiply with
 * PMULL/PMULL2. Checks against known answers and prints digests. */
#include <arm_acle.h>
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int failures;
static void check(const char *what, int ok) {
    printf("%-28s %s\n", what, ok ? "ok" : "BAD");
    if (!ok)
        failures++;
}
static void hex(const char *what, const uint8_t *p, int n) {
    printf("%-28s ", what);
    for (int i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

/* ---- AES-128 ---- */
static const uint8_t rcon[10] = {1, 2, 4, 8, 16, 32, 64, 128, 0x1b, 0x36};

static uint8_t sbox_byte(uint8_t x) {
    /* SubBytes of one byte through AESE with a zero key: ShiftRows keeps byte 0. */
    uint8x16_t v = vdupq_n_u8(x);
    v = vaeseq_u8(v, vdupq_n_u8(0));
    return vgetq_lane_u8(v, 0);
}

static void expand(const uint8_t key[16], uint8x16_t rk[11]) {
    uint32_t w[44];
    memcpy(w, key, 16);
    for (int i = 4; i < 44; i++) {
        uint32_t t = w[i - 1];
        if (i % 4 == 0) {
            t = (t >> 8) | (t << 24);
            t = (uint32_t)sbox_byte(t & 0xff) | (uint32_t)sbox_byte((t >> 8) & 0xff) << 8 |
                (uint32_t)sbox_byte((t >> 16) & 0xff) << 16 | (uint32_t)sbox_byte(t >> 24) << 24;
            t ^= rcon[i / 4 - 1];
        }
        w[i] = w[i - 4] ^ t;
    }
    for (int r = 0; r < 11; r++)
        rk[r] = vld1q_u8((const uint8_t *)&w[4 * r]);
}

static uint8x16_t aes_enc(uint8x16_t s, const uint8x16_t rk[11]) {
    for (int r = 0; r < 9; r++)
        s = vaesmcq_u8(vaeseq_u8(s, rk[r]));
    return veorq_u8(vaeseq_u8(s, rk[9]), rk[10]);
}

static uint8x16_t aes_dec(uint8x16_t s, const uint8x16_t rk[11]) {
    s = vaesimcq_u8(vaesdq_u8(s, rk[10]));
    for (int r = 9; r > 1; r--)
        s = vaesimcq_u8(vaesdq_u8(s, vaesimcq_u8(rk[r])));
    return veorq_u8(vaesdq_u8(s, vaesimcq_u8(rk[1])), rk[0]);
}

/* ---- SHA-256 ---- */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static void sha256_block(uint32_t st[8], const uint8_t *blk) {
    uint32x4_t s0 = vld1q_u32(st), s1 = vld1q_u32(st + 4);
    uint32x4_t m[4];
    for (int i = 0; i < 4; i++)
        m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(blk + 16 * i)));
    uint32x4_t a = s0, e = s1;
    for (int g = 0; g < 16; g++) {
        uint32x4_t wk = vaddq_u32(m[g % 4], vld1q_u32(K256 + 4 * g));
        uint32x4_t a0 = a;
        a = vsha256hq_u32(a, e, wk);
        e = vsha256h2q_u32(e, a0, wk);
        if (g < 12)
            m[g % 4] = vsha256su1q_u32(vsha256su0q_u32(m[g % 4], m[(g + 1) % 4]), m[(g + 2) % 4], m[(g + 3) % 4]);
    }
    vst1q_u32(st, vaddq_u32(a, s0));
    vst1q_u32(st + 4, vaddq_u32(e, s1));
}

static void sha256(const uint8_t *msg, size_t len, uint8_t out[32]) {
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t blk[64];
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha256_block(st, msg + i);
    size_t rem = len - i;
    memset(blk, 0, 64);
    memcpy(blk, msg + i, rem);
    blk[rem] = 0x80;
    if (rem >= 56) {
        sha256_block(st, blk);
        memset(blk, 0, 64);
    }
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        blk[63 - k] = (uint8_t)(bits >> (8 * k));
    sha256_block(st, blk);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 4; j++)
            out[4 * k + j] = (uint8_t)(st[k] >> (24 - 8 * j));
}

/* ---- SHA-1 ---- */
static void sha1_block(uint32_t st[5], const uint8_t *blk) {
    uint32x4_t abcd0 = vld1q_u32(st), abcd = abcd0;
    uint32_t e0 = st[4], e = e0;
    uint32x4_t m[4];
    for (int i = 0; i < 4; i++)
        m[i] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(blk + 16 * i)));
    static const uint32_t ks[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};
    for (int g = 0; g < 20; g++) {
        uint32x4_t wk = vaddq_u32(m[g % 4], vdupq_n_u32(ks[g / 5]));
        uint32_t en = vsha1h_u32(vgetq_lane_u32(abcd, 0));
        if (g < 5)
            abcd = vsha1cq_u32(abcd, e, wk);
        else if (g >= 10 && g < 15)
            abcd = vsha1mq_u32(abcd, e, wk);
        else
            abcd = vsha1pq_u32(abcd, e, wk);
        e = en;
        if (g < 16)
            m[g % 4] = vsha1su1q_u32(vsha1su0q_u32(m[g % 4], m[(g + 1) % 4], m[(g + 2) % 4]), m[(g + 3) % 4]);
    }
    vst1q_u32(st, vaddq_u32(abcd, abcd0));
    st[4] = e0 + e;
}

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t st[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    uint8_t blk[64];
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha1_block(st, msg + i);
    size_t rem = len - i;
    memset(blk, 0, 64);
    memcpy(blk, msg + i, rem);
    blk[rem] = 0x80;
    if (rem >= 56) {
        sha1_block(st, blk);
        memset(blk, 0, 64);
    }
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        blk[63 - k] = (uint8_t)(bits >> (8 * k));
    sha1_block(st, blk);
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < 4; j++)
            out[4 * k + j] = (uint8_t)(st[k] >> (24 - 8 * j));
}

static int hexeq(const uint8_t *p, const char *hx) {
    for (size_t i = 0; hx[2 * i]; i++) {
        unsigned v;
        sscanf(hx + 2 * i, "%2x", &v);
        if (p[i] != v)
            return 0;
    }
    return 1;
}

int main(void) {
    /* AES-128, FIPS-197 appendix C.1. */
    uint8_t key[16], pt[16], ct[16], back[16];
    for (int i = 0; i < 16; i++) {
        key[i] = (uint8_t)i;
        pt[i] = (uint8_t)(i * 0x11);
    }
    uint8x16_t rk[11];
    expand(key, rk);
    vst1q_u8(ct, aes_enc(vld1q_u8(pt), rk));
    hex("aes128 ct", ct, 16);
    check("aes128 fips-197", hexeq(ct, "69c4e0d86a7b0430d8cdb78070b4c55a"));
    vst1q_u8(back, aes_dec(vld1q_u8(ct), rk));
    check("aes128 decrypt", memcmp(back, pt, 16) == 0);

    /* CBC-like chain over a buffer to exercise many rounds. */
    uint8_t data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 5));
    uint8x16_t chain = vdupq_n_u8(0);
    for (int i = 0; i < 4096; i += 16) {
        chain = aes_enc(veorq_u8(chain, vld1q_u8(data + i)), rk);
        vst1q_u8(data + i, chain);
    }
    uint8_t last[16];
    vst1q_u8(last, chain);
    hex("aes cbc last block", last, 16);
    uint8x16_t prev = vdupq_n_u8(0);
    int cbc_ok = 1;
    for (int i = 0; i < 4096; i += 16) {
        uint8x16_t c = vld1q_u8(data + i);
        uint8x16_t p = veorq_u8(aes_dec(c, rk), prev);
        prev = c;
        uint8_t pb[16];
        vst1q_u8(pb, p);
        for (int j = 0; j < 16; j++)
            if (pb[j] != (uint8_t)((i + j) * 7 + ((i + j) >> 5)))
                cbc_ok = 0;
    }
    check("aes cbc round trip", cbc_ok);

    /* SHA-256 / SHA-1 */
    uint8_t d[32];
    sha256((const uint8_t *)"abc", 3, d);
    hex("sha256(abc)", d, 32);
    check("sha256 abc", hexeq(d, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256((const uint8_t *)two, strlen(two), d);
    check("sha256 two blocks", hexeq(d, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    sha256(data, sizeof data, d);
    hex("sha256(data)", d, 32);
    sha1((const uint8_t *)"abc", 3, d);
    hex("sha1(abc)", d, 20);
    check("sha1 abc", hexeq(d, "a9993e364706816aba3e25717850c26c9cd0d89d"));
    sha1((const uint8_t *)two, strlen(two), d);
    check("sha1 two blocks", hexeq(d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
    sha1(data, sizeof data, d);
    hex("sha1(data)", d, 20);

    /* CRC32 / CRC32C */
    const char *nine = "123456789";
    uint32_t c = 0xffffffff, cc = 0xffffffff;
    for (int i = 0; i < 9; i++) {
        c = __crc32b(c, (uint8_t)nine[i]);
        cc = __crc32cb(cc, (uint8_t)nine[i]);
    }
    check("crc32 check value", ~c == 0xCBF43926u);
    check("crc32c check value", ~cc == 0xE3069283u);
    uint32_t c1 = 0, c2 = 0;
    for (int i = 0; i < 4096; i += 8) {
        uint64_t x;
        memcpy(&x, data + i, 8);
        c1 = __crc32d(c1, x);
        c2 = __crc32cd(c2, x);
        c1 = __crc32w(c1, (uint32_t)x);
        c2 = __crc32ch(c2, (uint16_t)x);
        c1 = __crc32h(c1, (uint16_t)(x >> 16));
        c2 = __crc32cw(c2, (uint32_t)(x >> 32));
    }
    printf("%-28s %08x %08x\n", "crc mix", c1, c2);

    /* PMULL / PMULL2: carry-less products and a GF(2^128) reduction (GHASH-style). */
    poly64_t pa = 0x87654321fedcba98ull, pb = 0xf0e1d2c3b4a59687ull;
    poly128_t pr = vmull_p64(pa, pb);
    uint64_t lo = (uint64_t)pr, hi = (uint64_t)(pr >> 64);
    uint64_t rlo = 0, rhi = 0;
    for (int i = 0; i < 64; i++)
        if ((pb >> i) & 1) {
            rlo ^= pa << i;
            if (i)
                rhi ^= pa >> (64 - i);
        }
    check("pmull 64x64", lo == rlo && hi == rhi);
    uint64_t acc_lo = 0, acc_hi = 0;
    poly64x2_t hkey = vreinterpretq_p64_u8(rk[3]);
    for (int i = 0; i < 4096; i += 16) {
        poly64x2_t x = vreinterpretq_p64_u8(veorq_u8(vld1q_u8(data + i), vreinterpretq_u8_u64(vcombine_u64(vcreate_u64(acc_lo), vcreate_u64(acc_hi)))));
        poly128_t l = vmull_p64(vgetq_lane_p64(x, 0), vgetq_lane_p64(hkey, 0));
        poly128_t hh = vmull_high_p64(x, hkey);
        poly128_t m = vmull_p64(vgetq_lane_p64(x, 0) ^ vgetq_lane_p64(x, 1), vgetq_lane_p64(hkey, 0) ^ vgetq_lane_p64(hkey, 1));
        m ^= l ^ hh;
        /* reduce 256 -> 128 bits modulo x^128 + x^7 + x^2 + x + 1 */
        poly128_t full_lo = l ^ (m << 64), full_hi = hh ^ (m >> 64);
        poly128_t t = vmull_p64((uint64_t)(full_hi >> 64), 0x87);
        full_hi ^= t >> 64;
        poly128_t t2 = vmull_p64((uint64_t)full_hi, 0x87);
        full_lo ^= t2 ^ ((t & (((poly128_t)1 << 64) - 1)) << 64);
        acc_lo = (uint64_t)full_lo;
        acc_hi = (uint64_t)(full_lo >> 64);
    }
    printf("%-28s %016llx%016llx\n", "ghash-like", (unsigned long long)acc_hi, (unsigned long long)acc_lo);
    poly8x8_t p8a = vcreate_p8(0x0123456789abcdefull), p8b = vcreate_p8(0xfedcba9876543210ull);
    poly16x8_t p16 = vmull_p8(p8a, p8b);
    uint16_t p16o[8];
    vst1q_u16(p16o, vreinterpretq_u16_p16(p16));
    printf("%-28s %04x %04x %04x %04x\n", "pmull p8", p16o[0], p16o[1], p16o[6], p16o[7]);

    printf("failures %d\n", failures);
    return failures != 0;
}
