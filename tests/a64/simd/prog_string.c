/* glibc's AArch64 string and memory routines (NEON: LD1/LD2, CMEQ, UMAXP, ADDP, SHRN,
 * TBL, ...) over many lengths and alignments, plus the compiler's auto-vectorised loops
 * (-O3). Prints a hash of all results. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t h = 1469598103934665603ull;
static void mixu(uint64_t v) {
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 1099511628211ull;
    }
}

static uint32_t seed = 12345;
static uint32_t rnd(void) {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

/* Auto-vectorised kernels. */
__attribute__((noinline)) static void saxpy_i(int32_t *y, const int32_t *x, int32_t a, int n) {
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}
__attribute__((noinline)) static uint32_t sum_u8(const uint8_t *p, int n) {
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}
__attribute__((noinline)) static void clamp_u8(uint8_t *d, const int16_t *s, int n) {
    for (int i = 0; i < n; i++)
        d[i] = s[i] < 0 ? 0 : s[i] > 255 ? 255 : (uint8_t)s[i];
}
__attribute__((noinline)) static int16_t max_i16(const int16_t *p, int n) {
    int16_t m = -32768;
    for (int i = 0; i < n; i++)
        m = p[i] > m ? p[i] : m;
    return m;
}
__attribute__((noinline)) static void interleave(uint8_t *d, const uint8_t *a, const uint8_t *b, int n) {
    for (int i = 0; i < n; i++) {
        d[2 * i] = a[i];
        d[2 * i + 1] = b[i];
    }
}
__attribute__((noinline)) static void rgb_to_gray(uint8_t *g, const uint8_t *rgb, int n) {
    for (int i = 0; i < n; i++)
        g[i] = (uint8_t)((77 * rgb[3 * i] + 150 * rgb[3 * i + 1] + 29 * rgb[3 * i + 2]) >> 8);
}
__attribute__((noinline)) static uint64_t dot_u16(const uint16_t *a, const uint16_t *b, int n) {
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (uint32_t)a[i] * b[i];
    return s;
}

int main(void) {
    static char buf[8192], buf2[8192];
    for (int i = 0; i < 8192; i++)
        buf[i] = (char)('a' + rnd() % 26);
    for (int t = 0; t < 3000; t++) {
        int off = rnd() % 64, len = rnd() % 700, off2 = rnd() % 64;
        char save = buf[off + len];
        buf[off + len] = 0;
        mixu(strlen(buf + off));
        mixu(strnlen(buf + off, rnd() % 800));
        char c = (char)('a' + rnd() % 26);
        char *p = strchr(buf + off, c);
        mixu(p ? (uint64_t)(p - buf) : 0);
        p = strrchr(buf + off, c);
        mixu(p ? (uint64_t)(p - buf) : 0);
        p = memchr(buf + off, c, len);
        mixu(p ? (uint64_t)(p - buf) : 0);
        p = memrchr(buf + off, c, len);
        mixu(p ? (uint64_t)(p - buf) : 0);
        strcpy(buf2 + off2, buf + off);
        mixu((uint64_t)strcmp(buf2 + off2, buf + off) + 7);
        buf2[off2 + len / 2] ^= 1;
        mixu((uint64_t)(strcmp(buf2 + off2, buf + off) > 0));
        mixu((uint64_t)(memcmp(buf2 + off2, buf + off, len) < 0));
        mixu((uint64_t)(strncmp(buf2 + off2, buf + off, len / 3) == 0));
        memmove(buf2 + off2 + 3, buf2 + off2, len);
        memset(buf2 + off2, c, len / 4);
        memcpy(buf2 + 4096 + off, buf2 + off2, len);
        for (int i = 0; i < len; i += 61)
            mixu((uint8_t)buf2[4096 + off + i]);
        mixu(strspn(buf + off, "abcdefghij"));
        mixu(strcspn(buf + off, "xyz"));
        buf[off + len] = save;
    }
    printf("string %016llx\n", (unsigned long long)h);

    h = 1469598103934665603ull;
    static int32_t x[1024], y[1024];
    static uint8_t u8[4096], rgb[3 * 1024], gray[1024], inter[2048];
    static int16_t s16[1024];
    static uint16_t a16[1024], b16[1024];
    for (int i = 0; i < 1024; i++) {
        x[i] = (int32_t)rnd() - (1 << 23);
        y[i] = (int32_t)rnd();
        s16[i] = (int16_t)rnd();
        a16[i] = (uint16_t)rnd();
        b16[i] = (uint16_t)rnd();
    }
    for (int i = 0; i < 4096; i++)
        u8[i] = (uint8_t)rnd();
    for (int i = 0; i < 3 * 1024; i++)
        rgb[i] = (uint8_t)rnd();
    for (int r = 0; r < 20; r++) {
        int n = 1024 - 37 * r;
        saxpy_i(y, x, r - 7, n);
        mixu(sum_u8(u8 + r, 4000 - r));
        clamp_u8(gray, s16, n);
        mixu(max_i16(s16 + r, n - r));
        interleave(inter, u8 + r, u8 + 2048, n);
        rgb_to_gray(gray, rgb, n);
        mixu(dot_u16(a16, b16 + r, n - r));
        for (int i = 0; i < n; i += 17)
            mixu((uint64_t)y[i] ^ gray[i] ^ inter[2 * i + 1]);
    }
    printf("vector %016llx\n", (unsigned long long)h);
    return 0;
}
