/* Scalar double/float arithmetic, conversions, libm and printf/strtod. Output must be
 * identical under a64-user and qemu-aarch64. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile double vd[] = {0.0, -0.0, 1.0, -1.5, 2.5, 3.141592653589793, 1e300, -1e-300,
                               4.9e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
                               0.1, 1.0 / 3.0, 123456789.125, -7.75, 0.5, 1e16, -2.5e-5};
static volatile float vf[] = {0.0f, -0.0f, 1.0f, -1.5f, 2.5f, 3.1415927f, 1e30f, -1e-30f,
                              1.4e-45f, 1.17549435e-38f, 3.4028235e38f, 0.1f, 16777217.0f,
                              -7.75f, 0.5f, 65504.0f};
#define ND (sizeof vd / sizeof vd[0])
#define NF (sizeof vf / sizeof vf[0])

static uint64_t bd(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
static uint32_t bf(float x) { uint32_t u; memcpy(&u, &x, 4); return u; }

int main(void) {
  unsigned long long h = 1469598103934665603ULL;
#define MIX(x) (h = (h ^ (unsigned long long)(x)) * 1099511628211ULL)
  for (unsigned i = 0; i < ND; i++) {
    for (unsigned j = 0; j < ND; j++) {
      double a = vd[i], b = vd[j];
      MIX(bd(a + b)); MIX(bd(a - b)); MIX(bd(a * b)); MIX(bd(a / b));
      MIX(bd(fma(a, b, 1.0))); MIX(bd(fmax(a, b))); MIX(bd(fmin(a, b)));
      MIX(a < b); MIX(a <= b); MIX(a == b); MIX(isless(a, b)); MIX(isunordered(a, b));
    }
    double a = vd[i];
    printf("d[%u]=%a %.17g %e %f sqrt=%a floor=%a ceil=%a round=%a trunc=%a rint=%a\n", i, a,
           a, a, a < 1e20 && a > -1e20 ? a : 0.0, sqrt(fabs(a)), floor(a), ceil(a), round(a),
           trunc(a), rint(a));
    printf("  f=%a l=%ld ll=%lld lr=%ld (float)=%a exp=%a log=%a sin=%a\n", (double)(float)a,
           fabs(a) < 1e18 ? (long)a : 0L, fabs(a) < 1e18 ? llround(a) : 0LL,
           fabs(a) < 1e18 ? lrint(a) : 0L, (double)(float)a, exp(fmod(a, 700.0)),
           log(fabs(a) + 1e-300), sin(fmod(a, 1e6)));
    int e;
    double m = frexp(a, &e);
    double ip;
    printf("  frexp=%a,%d ldexp=%a modf=%a,%a cbrt=%a pow=%a atan2=%a\n", m, e, ldexp(a, -3),
           modf(a, &ip), ip, cbrt(a), pow(fabs(a), 0.37), atan2(a, 2.0));
  }
  for (unsigned i = 0; i < NF; i++) {
    for (unsigned j = 0; j < NF; j++) {
      float a = vf[i], b = vf[j];
      MIX(bf(a + b)); MIX(bf(a - b)); MIX(bf(a * b)); MIX(bf(a / b));
      MIX(bf(fmaf(a, b, -a))); MIX(bf(fmaxf(a, b))); MIX(bf(fminf(a, b)));
      MIX(bd((double)a * (double)b));
    }
    float a = vf[i];
    printf("f[%u]=%a %.9g sqrtf=%a rintf=%a i=%d u=%u d=%a expf=%a logf=%a\n", i, a, a,
           sqrtf(fabsf(a)), rintf(a), fabsf(a) < 2e9f ? (int)a : 0,
           a >= 0 && a < 4e9f ? (unsigned)a : 0u, (double)a, expf(fmodf(a, 80.0f)),
           logf(fabsf(a) + 1e-30f));
  }
  static const char *strs[] = {"0", "-0", "1e-400", "2.4703282292062328e-324", "0x1.8p3",
                               "3.14159265358979323846264338327950288", "1e308", "1e309",
                               "-inf", "nan", "123456789012345678901234567890",
                               "0.30000000000000004", "4.9406564584124654e-324",
                               "2.2250738585072011e-308", "1.00000000000000011102230246251565"};
  for (unsigned i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    double d = strtod(strs[i], 0);
    float f = strtof(strs[i], 0);
    printf("strtod(%s)=%a %.17g strtof=%a %g\n", strs[i], d, d, f, f);
  }
  for (long long k = -5; k < 70; k += 3) {
    long long v = (k < 0 ? -1LL : 1LL) << (k < 0 ? -k : k % 63);
    unsigned long long u = 0xffffffffffffffffULL >> (k & 63);
    printf("cvt %lld -> %a %a ; %llu -> %a %a\n", v, (double)v, (double)(float)v, u,
           (double)u, (double)(float)u);
  }
  printf("hash %016llx\n", h);
  return 0;
}
