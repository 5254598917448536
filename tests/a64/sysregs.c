/* System registers readable at EL0, DC ZVA (via glibc's memset and directly), exclusives,
 * and (with an argument) fatal events: undef, brk, segv, abort, misaligned exclusive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint64_t rd_ctr(void) { uint64_t v; __asm__ volatile("mrs %0, ctr_el0" : "=r"(v)); return v; }
static uint64_t rd_dczid(void) { uint64_t v; __asm__ volatile("mrs %0, dczid_el0" : "=r"(v)); return v; }
static uint64_t rd_tpidr(void) { uint64_t v; __asm__ volatile("mrs %0, tpidr_el0" : "=r"(v)); return v; }
static void wr_tpidr(uint64_t v) { __asm__ volatile("msr tpidr_el0, %0" ::"r"(v)); }
static uint64_t rd_nzcv(void) { uint64_t v; __asm__ volatile("mrs %0, nzcv" : "=r"(v)); return v; }
static void wr_nzcv(uint64_t v) { __asm__ volatile("msr nzcv, %0" ::"r"(v)); }
static uint64_t rd_fpcr(void) { uint64_t v; __asm__ volatile("mrs %0, fpcr" : "=r"(v)); return v; }
static void wr_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" ::"r"(v)); }
static uint64_t rd_cntvct(void) { uint64_t v; __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)); return v; }

int main(int argc, char **argv) {
    if (argc > 1) {
        printf("fatal test %s\n", argv[1]);
        fflush(stdout);
        if (!strcmp(argv[1], "undef")) __asm__ volatile(".word 0x00000000");
        if (!strcmp(argv[1], "brk")) __asm__ volatile("brk #7");
        if (!strcmp(argv[1], "segv")) *(volatile int *)16 = 1;
        if (!strcmp(argv[1], "abort")) abort();
        if (!strcmp(argv[1], "exit")) exit(42);
        if (!strcmp(argv[1], "misaligned")) {
            static char buf[32] __attribute__((aligned(16)));
            uint64_t v;
            __asm__ volatile("ldxr %0, [%1]" : "=r"(v) : "r"(buf + 3) : "memory");
            printf("%llu\n", (unsigned long long)v);
        }
        return 1;
    }
    printf("ctr_el0=%#llx dczid_el0=%#llx\n", (unsigned long long)rd_ctr(), (unsigned long long)rd_dczid());
    uint64_t old = rd_tpidr();
    wr_tpidr(0x123456789abcdef0ull);
    uint64_t got = rd_tpidr();
    wr_tpidr(old); /* TLS lives there: restore before calling libc */
    printf("tpidr round trip %#llx\n", (unsigned long long)got);
    wr_nzcv(0xffffffffull);
    printf("nzcv=%#llx\n", (unsigned long long)rd_nzcv());
    wr_nzcv(0x60000000ull);
    printf("nzcv=%#llx\n", (unsigned long long)rd_nzcv());
    uint64_t f = rd_fpcr();
    wr_fpcr(0x03c00000ull);
    printf("fpcr=%#llx\n", (unsigned long long)rd_fpcr());
    wr_fpcr(f);
    uint64_t t0 = rd_cntvct(), t1 = rd_cntvct();
    printf("cntvct monotonic %d\n", t1 >= t0);
    static unsigned char big[1 << 16] __attribute__((aligned(64)));
    memset(big, 0xab, sizeof big);
    memset(big + 100, 0, 40000);
    unsigned long sum = 0;
    for (size_t i = 0; i < sizeof big; i++) sum += big[i] * (i % 7 + 1);
    printf("memset sum %lu\n", sum);
    memset(big, 0xcd, 256);
    __asm__ volatile("dc zva, %0" ::"r"(big + 70) : "memory");
    sum = 0;
    for (size_t i = 0; i < 256; i++) sum += big[i] * (i + 1);
    printf("dc zva sum %lu\n", sum);
    return 0;
}
