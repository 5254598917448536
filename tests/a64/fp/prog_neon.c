/* AdvSIMD floating point through NEON intrinsics. */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void p4(const char *n, float32x4_t v) {
  uint32_t u[4];
  memcpy(u, &v, 16);
  printf("%-12s %08x %08x %08x %08x\n", n, u[0], u[1], u[2], u[3]);
}
static void p2(const char *n, float64x2_t v) {
  uint64_t u[2];
  memcpy(u, &v, 16);
  printf("%-12s %016llx %016llx\n", n, (unsigned long long)u[0], (unsigned long long)u[1]);
}
static void pi(const char *n, uint32x4_t v) {
  uint32_t u[4];
  memcpy(u, &v, 16);
  printf("%-12s %08x %08x %08x %08x\n", n, u[0], u[1], u[2], u[3]);
}
static void pl(const char *n, int64x2_t v) {
  int64_t u[2];
  memcpy(u, &v, 16);
  printf("%-12s %lld %lld\n", n, (long long)u[0], (long long)u[1]);
}

static volatile float src[16] = {1.5f, -2.25f, 3.0e-39f, 1e30f, -0.0f, 0.1f, 7.0f, -1e-3f,
                                 2.5f, -3.5f, 65504.0f, 1e-8f, 100.0f, -0.5f, 3.75f, 1e38f};
static volatile double dsrc[8] = {1.5, -2.25, 1e-310, 1e300, -0.0, 0.1, 2.5, -3.5};

int main(void) {
  float fa[16];
  double da[8];
  for (int i = 0; i < 16; i++) fa[i] = src[i];
  for (int i = 0; i < 8; i++) da[i] = dsrc[i];
  float32x4_t a = vld1q_f32(fa), b = vld1q_f32(fa + 4), c = vld1q_f32(fa + 8),
              d = vld1q_f32(fa + 12);
  float64x2_t x = vld1q_f64(da), y = vld1q_f64(da + 2), z = vld1q_f64(da + 4),
              w = vld1q_f64(da + 6);
  p4("add", vaddq_f32(a, b));
  p4("sub", vsubq_f32(a, c));
  p4("mul", vmulq_f32(a, d));
  p4("div", vdivq_f32(a, b));
  p4("fma", vfmaq_f32(a, b, c));
  p4("fms", vfmsq_f32(a, b, c));
  p4("fma_lane", vfmaq_laneq_f32(a, b, c, 3));
  p4("mul_lane", vmulq_laneq_f32(a, d, 1));
  p4("mulx", vmulxq_f32(a, b));
  p4("abd", vabdq_f32(a, c));
  p4("max", vmaxq_f32(a, b));
  p4("minnm", vminnmq_f32(a, b));
  p4("padd", vpaddq_f32(a, b));
  p4("pmax", vpmaxq_f32(c, d));
  p4("abs", vabsq_f32(b));
  p4("neg", vnegq_f32(a));
  p4("sqrt", vsqrtq_f32(vabsq_f32(d)));
  p4("rndn", vrndnq_f32(c));
  p4("rnda", vrndaq_f32(c));
  p4("rndm", vrndmq_f32(b));
  p4("rndx", vrndxq_f32(d));
  float32x4_t e = vrecpeq_f32(d);
  p4("recpe", e);
  e = vmulq_f32(e, vrecpsq_f32(d, e));
  p4("recps", e);
  float32x4_t r = vrsqrteq_f32(vabsq_f32(c));
  p4("rsqrte", r);
  p4("rsqrts", vrsqrtsq_f32(vmulq_f32(vabsq_f32(c), r), r));
  pi("cmeq", vceqq_f32(a, a));
  pi("cmge", vcgeq_f32(a, b));
  pi("cmgt", vcgtq_f32(c, d));
  pi("cmlt0", vcltzq_f32(b));
  pi("cale", vcaleq_f32(a, b));
  pi("cvt_s32", vreinterpretq_u32_s32(vcvtq_s32_f32(c)));
  pi("cvtn_s32", vreinterpretq_u32_s32(vcvtnq_s32_f32(c)));
  pi("cvta_u32", vcvtaq_u32_f32(d));
  pi("cvt_n_s32", vreinterpretq_u32_s32(vcvtq_n_s32_f32(a, 8)));
  p4("cvt_f32_s32", vcvtq_f32_s32(vreinterpretq_s32_f32(d)));
  p4("cvt_n_f32", vcvtq_n_f32_u32(vreinterpretq_u32_f32(c), 16));
  printf("maxv %a minv %a maxnmv %a minnmv %a\n", (double)vmaxvq_f32(c), (double)vminvq_f32(c),
         (double)vmaxnmvq_f32(d), (double)vminnmvq_f32(a));
  printf("paddq_s %a pmaxnm_d %a\n", (double)vpadds_f32(vget_low_f32(a)), vpmaxnmqd_f64(x));
  p2("dadd", vaddq_f64(x, y));
  p2("dmul", vmulq_f64(x, z));
  p2("ddiv", vdivq_f64(z, w));
  p2("dfma", vfmaq_f64(x, y, w));
  p2("dfma_lane", vfmaq_laneq_f64(x, y, w, 1));
  p2("dsqrt", vsqrtq_f64(vabsq_f64(y)));
  p2("drecpe", vrecpeq_f64(y));
  p2("drsqrte", vrsqrteq_f64(vabsq_f64(x)));
  p2("dmaxnm", vmaxnmq_f64(x, z));
  p2("drndp", vrndpq_f64(w));
  pl("dcvt_s64", vcvtq_s64_f64(w));
  pl("dcvtm_s64", vcvtmq_s64_f64(w));
  p2("dcvt_f64", vcvtq_f64_s64(vcvtq_s64_f64(y)));
  float32x2_t lo = vget_low_f32(a);
  p2("cvt_f64_f32", vcvt_f64_f32(lo));
  p2("cvt_high", vcvt_high_f64_f32(b));
  float32x2_t n = vcvt_f32_f64(y);
  p4("cvt_f32_f64", vcombine_f32(n, n));
  p4("cvt_high_f32", vcvt_high_f32_f64(n, w));
  float32x2_t xn = vcvtx_f32_f64(x);
  p4("cvtx", vcombine_f32(xn, xn));
  float16x4_t hf = vcvt_f16_f32(c);
  p4("cvt_f32_f16", vcvt_f32_f16(hf));
  uint16_t hb[4];
  memcpy(hb, &hf, 8);
  printf("f16 bits %04x %04x %04x %04x\n", hb[0], hb[1], hb[2], hb[3]);
  p4("fmov_imm", vdupq_n_f32(0.375f));
  p2("fmov_imm_d", vdupq_n_f64(-1.25));
  pi("urecpe", vrecpeq_u32(vreinterpretq_u32_f32(d)));
  pi("ursqrte", vrsqrteq_u32(vreinterpretq_u32_f32(a)));
  /* A small computation: dot products and a Newton-Raphson division. */
  float acc = 0;
  for (int i = 0; i < 100; i++) {
    float32x4_t t = vmulq_n_f32(a, (float)i * 0.37f);
    t = vfmaq_f32(t, b, vdupq_n_f32(1.0f / (i + 1)));
    acc += vaddvq_f32(t);
  }
  printf("acc %a\n", (double)acc);
  return 0;
}
