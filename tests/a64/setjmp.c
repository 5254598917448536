/* setjmp/longjmp across recursion, and deep recursion with many live registers. */
#include <stdio.h>
#include <setjmp.h>
#include <string.h>

static jmp_buf env;
static int depth_reached;

static void dive(int d, int limit) {
    volatile char pad[64];
    memset((char *)pad, d, sizeof pad);
    depth_reached = d;
    if (d == limit) longjmp(env, d * 2 + pad[3]);
    dive(d + 1, limit);
}

static long ack(long m, long n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static long regs(long a, long b, long c, long d, long e, long f, long g, long h, long i, long j) {
    long r = 0;
    for (int k = 0; k < 1000; k++) {
        r += a * k ^ b; r -= c << (k & 7); r ^= d * e; r += f / (g | 1); r += h % (i | 1); r ^= j;
        a += 1; b ^= r; c -= 3; d += b; e ^= a; f += c; g ^= d; h -= e; i += f; j ^= g;
    }
    return r;
}

int main(void) {
    for (int lim = 1; lim <= 200; lim *= 3) {
        int v = setjmp(env);
        if (v == 0) dive(0, lim);
        else printf("longjmp from depth %d value %d\n", depth_reached, v);
    }
    volatile int count = 0;
    jmp_buf e2;
    if (setjmp(e2) < 5) { count++; longjmp(e2, count); }
    printf("count %d\n", count);
    printf("ack(2,300)=%ld ack(3,6)=%ld\n", ack(2, 300), ack(3, 6));
    printf("regs=%ld\n", regs(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
    return 0;
}
