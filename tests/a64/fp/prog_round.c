/* Rounding modes (fesetround), exception flags (fetestexcept), and FPCR.FZ / FPCR.DN. */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double one = 1.0, three = 3.0, tiny = 1e-310, big = 1e308, zero = 0.0;
static volatile float fone = 1.0f, fthree = 3.0f, ftiny = 1e-40f;

static uint64_t bd(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }

static void flags(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  printf("%-10s flags:%s%s%s%s%s\n", what, f & FE_INVALID ? " IV" : "",
         f & FE_DIVBYZERO ? " DZ" : "", f & FE_OVERFLOW ? " OF" : "",
         f & FE_UNDERFLOW ? " UF" : "", f & FE_INEXACT ? " IX" : "");
  feclearexcept(FE_ALL_EXCEPT);
}

static uint64_t get_fpcr(void) { uint64_t v; __asm__ volatile("mrs %0, fpcr" : "=r"(v)); return v; }
static void set_fpcr(uint64_t v) { __asm__ volatile("msr fpcr, %0" ::"r"(v)); }
static uint64_t get_fpsr(void) { uint64_t v; __asm__ volatile("mrs %0, fpsr" : "=r"(v)); return v; }
static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" ::"r"(v)); }

int main(void) {
  static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
  static const char *names[] = {"nearest", "upward", "downward", "towardzero"};
  for (int m = 0; m < 4; m++) {
    fesetround(modes[m]);
    feclearexcept(FE_ALL_EXCEPT);
    printf("mode %s (fegetround ok=%d)\n", names[m], fegetround() == modes[m]);
    printf("  1/3=%a -1/3=%a f1/3=%a\n", one / three, -one / three, (double)(fone / fthree));
    printf("  big*10=%a -big*10=%a\n", big * 10, -big * 10);
    flags("overflow");
    printf("  tiny/3=%a tiny*tiny=%a\n", tiny / three, tiny * tiny);
    flags("underflow");
    printf("  rint(2.5)=%a rint(-2.5)=%a nearbyint(0.5)=%a lrint(1.5)=%ld\n", rint(2.5),
           rint(-2.5), nearbyint(0.5), lrint(1.5));
    flags("rint");
    printf("  1-1=%a x-x=%a sqrt(2)=%a fma=%a\n", one - one, three - three, sqrt(2.0 * one),
           fma(one / three, three, -one));
    printf("  (float)(1/3)=%a (int)2.7=%d\n", (double)(float)(one / three), (int)(2.7 * one));
    flags("misc");
    printf("  1/0=%a 0/0 nan=%d sqrt(-1) nan=%d\n", one / zero, isnan(zero / zero),
           isnan(sqrt(-one)));
    flags("invalid");
  }
  fesetround(FE_TONEAREST);
  /* Flush-to-zero and default NaN via FPCR. */
  uint64_t fpcr = get_fpcr();
  set_fpcr(fpcr | (1 << 24));
  set_fpsr(0);
  volatile double r1 = tiny * one;
  volatile double r2 = 2.2250738585072014e-308 * (0.5 * one);
  volatile float r3 = ftiny + 0.0f;
  printf("FZ: tiny*1=%a minnorm/2=%a ftiny+0=%a fpsr=%llx\n", r1, r2, (double)r3,
         (unsigned long long)get_fpsr());
  set_fpcr(fpcr | (1 << 25));
  set_fpsr(0);
  volatile double qn = nan("0x1234");
  volatile double r4 = qn + one;
  printf("DN: nan+1 bits=%016llx fpsr=%llx\n", (unsigned long long)bd(r4),
         (unsigned long long)get_fpsr());
  set_fpcr(fpcr);
  set_fpsr(0);
  r4 = qn + one;
  printf("noDN: nan+1 bits=%016llx\n", (unsigned long long)bd(r4));
  return 0;
}
