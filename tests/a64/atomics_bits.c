/* Exclusives via __atomic builtins (LDAXR/STLXR loops at -march=armv8-a), bit operations,
 * conditional selects, and 32-bit arithmetic corner cases. */
#include <stdio.h>
#include <stdint.h>

static long counter;
static int flag32;
static unsigned char byte;
static unsigned short half;

int main(void) {
    for (int i = 0; i < 1000; i++) {
        __atomic_fetch_add(&counter, i, __ATOMIC_SEQ_CST);
        __atomic_fetch_xor(&flag32, i * 3, __ATOMIC_ACQ_REL);
        __atomic_fetch_add(&byte, 3, __ATOMIC_RELAXED);
        __atomic_fetch_or(&half, 1u << (i % 16), __ATOMIC_RELEASE);
    }
    long expected = 5;
    int ok1 = __atomic_compare_exchange_n(&counter, &expected, 7, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    expected = counter;
    int ok2 = __atomic_compare_exchange_n(&counter, &expected, 7, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    long old = __atomic_exchange_n(&counter, 99, __ATOMIC_ACQUIRE);
    printf("atomics: %d %d old=%ld now=%ld flag=%d byte=%u half=%u\n", ok1, ok2, old,
           __atomic_load_n(&counter, __ATOMIC_ACQUIRE), flag32, byte, half);
    uint64_t x = 0x0123456789abcdefull;
    unsigned acc = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t v = x * (uint64_t)(i + 1) ^ (x >> i);
        acc += __builtin_clzll(v | 1) * 3 + __builtin_ctzll(v | 1u << 31) + __builtin_clrsbll((long long)v) + __builtin_parityll(v);
        acc += __builtin_clz((unsigned)v | 1) + __builtin_clrsb((int)v);
        acc ^= (unsigned)__builtin_bswap16((uint16_t)v) << (i & 15);
        int32_t a = (int32_t)v, b = (int32_t)(v >> 32);
        acc += (a < b ? a : b) + (a > 0 ? 1 : -1) + (uint32_t)a / ((uint32_t)b | 1) + (a == b);
        acc += (unsigned)(((uint64_t)a * (uint64_t)b) >> 32);
        acc += (unsigned)(((int64_t)a * (int64_t)b) >> 29);
    }
    printf("bits acc %u\n", acc);
    return 0;
}
