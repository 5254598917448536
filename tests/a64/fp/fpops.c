/* Differential-test harness for the a64 softfloat library.
 * Reads lines "OPNAME A B C FPCR" (hex operands) from stdin, runs the one AArch64
 * instruction named by OPNAME with FPCR set, prints "RESULT HIGH64 FPSR" in hex per line
 * (HIGH64: the upper half of a vector result, else 0).
 * Build: aarch64-linux-gnu-gcc -O2 -static -march=armv8.2-a+fp16 fpops.c -o fpops */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

typedef uint64_t (*opfn)(uint64_t a, uint64_t b, uint64_t c);

#define LD "fmov d1, %1\n fmov d2, %2\n fmov d3, %3\n"
#define CLOB "v0", "v1", "v2", "v3", "cc"

/* d = n op m */
#define B2(NAME, INSN, R) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD INSN " " #R "0, " #R "1, " #R "2\n fmov %0, d0" \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r; }
/* d = a(v3) +- n*m (FMADD family: Rd, Rn, Rm, Ra) */
#define B3(NAME, INSN, R) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD INSN " " #R "0, " #R "1, " #R "2, " #R "3\n fmov %0, d0" \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r; }
/* d = op(n) with possibly different register widths */
#define U1(NAME, INSN, RD, RS) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD "movi v0.2d, #0\n " INSN " " #RD "0, " #RS "1\n fmov %0, d0" \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r; }
/* NZCV from a compare */
#define CMP(NAME, INSN, R) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD "msr nzcv, xzr\n " INSN " " #R "1, " #R "2\n mrs %0, nzcv" \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r >> 28; }
/* float -> general register */
#define F2I(NAME, INSN, RD, RS, EXTRA) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD INSN " %" #RD "0, " #RS "1" EXTRA \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r; }
/* general register -> float */
#define I2F(NAME, INSN, RD, RS, EXTRA) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r; asm volatile(LD "movi v0.2d, #0\n " INSN " " #RD "0, %" #RS "1" EXTRA "\n fmov %0, d0" \
  : "=r"(r) : "r"(a), "r"(b), "r"(c) : CLOB); return r; }

#define B2ALL(N, I) B2(N##_h, I, h) B2(N##_s, I, s) B2(N##_d, I, d)
B2ALL(fadd, "fadd") B2ALL(fsub, "fsub") B2ALL(fmul, "fmul") B2ALL(fdiv, "fdiv")
B2ALL(fmax, "fmax") B2ALL(fmin, "fmin") B2ALL(fmaxnm, "fmaxnm") B2ALL(fminnm, "fminnm")
B2ALL(fmulx, "fmulx") B2ALL(fabd, "fabd") B2ALL(frecps, "frecps") B2ALL(frsqrts, "frsqrts")
B2ALL(fnmul, "fnmul")
B2ALL(fcmeq, "fcmeq") B2ALL(fcmge, "fcmge") B2ALL(fcmgt, "fcmgt")
B2ALL(facge, "facge") B2ALL(facgt, "facgt")
#define B3ALL(N, I) B3(N##_h, I, h) B3(N##_s, I, s) B3(N##_d, I, d)
B3ALL(fmadd, "fmadd") B3ALL(fmsub, "fmsub") B3ALL(fnmadd, "fnmadd") B3ALL(fnmsub, "fnmsub")
#define U1ALL(N, I) U1(N##_h, I, h, h) U1(N##_s, I, s, s) U1(N##_d, I, d, d)
U1ALL(fsqrt, "fsqrt") U1ALL(frintn, "frintn") U1ALL(frinta, "frinta") U1ALL(frintp, "frintp")
U1ALL(frintm, "frintm") U1ALL(frintz, "frintz") U1ALL(frintx, "frintx") U1ALL(frinti, "frinti")
U1ALL(frecpe, "frecpe") U1ALL(frsqrte, "frsqrte") U1ALL(frecpx, "frecpx")
U1(fcvt_sd, "fcvt", d, s) U1(fcvt_ds, "fcvt", s, d) U1(fcvt_hs, "fcvt", s, h)
U1(fcvt_sh, "fcvt", h, s) U1(fcvt_hd, "fcvt", d, h) U1(fcvt_dh, "fcvt", h, d)
U1(fcvtxn_ds, "fcvtxn", s, d)
#define CMPALL(N, I) CMP(N##_h, I, h) CMP(N##_s, I, s) CMP(N##_d, I, d)
CMPALL(fcmp, "fcmp") CMPALL(fcmpe, "fcmpe")

#define F2IALL(N, I) \
  F2I(N##_wh, I, w, h, "") F2I(N##_xh, I, x, h, "") \
  F2I(N##_ws, I, w, s, "") F2I(N##_xs, I, x, s, "") \
  F2I(N##_wd, I, w, d, "") F2I(N##_xd, I, x, d, "")
F2IALL(fcvtzs, "fcvtzs") F2IALL(fcvtzu, "fcvtzu") F2IALL(fcvtns, "fcvtns") F2IALL(fcvtnu, "fcvtnu")
F2IALL(fcvtas, "fcvtas") F2IALL(fcvtau, "fcvtau") F2IALL(fcvtps, "fcvtps") F2IALL(fcvtpu, "fcvtpu")
F2IALL(fcvtms, "fcvtms") F2IALL(fcvtmu, "fcvtmu")
#define FIXALL(N, I, FB) \
  F2I(N##_ws_##FB, I, w, s, ", #" #FB) F2I(N##_xs_##FB, I, x, s, ", #" #FB) \
  F2I(N##_wd_##FB, I, w, d, ", #" #FB) F2I(N##_xd_##FB, I, x, d, ", #" #FB)
FIXALL(fcvtzs, "fcvtzs", 7) FIXALL(fcvtzu, "fcvtzu", 7) FIXALL(fcvtzs, "fcvtzs", 32) FIXALL(fcvtzu, "fcvtzu", 32)
#define I2FALL(N, I) \
  I2F(N##_hw, I, h, w, "") I2F(N##_hx, I, h, x, "") \
  I2F(N##_sw, I, s, w, "") I2F(N##_sx, I, s, x, "") \
  I2F(N##_dw, I, d, w, "") I2F(N##_dx, I, d, x, "")
I2FALL(scvtf, "scvtf") I2FALL(ucvtf, "ucvtf")
#define IFIXALL(N, I, FB) \
  I2F(N##_sw_##FB, I, s, w, ", #" #FB) I2F(N##_sx_##FB, I, s, x, ", #" #FB) \
  I2F(N##_dw_##FB, I, d, w, ", #" #FB) I2F(N##_dx_##FB, I, d, x, ", #" #FB)
IFIXALL(scvtf, "scvtf", 7) IFIXALL(ucvtf, "ucvtf", 7) IFIXALL(scvtf, "scvtf", 32) IFIXALL(ucvtf, "ucvtf", 32)

/* 128-bit vector forms: v1 = b:a, v2 = rol(c,17):c, v0 = a:b before the op.
 * The low 64 bits of the result are returned, the high 64 bits left in vhi. */
static uint64_t vhi;
#define VLD "fmov d1, %2\n ins v1.d[1], %3\n fmov d2, %4\n ins v2.d[1], %5\n fmov d0, %3\n ins v0.d[1], %2\n"
#define VOP(NAME, TEXT) static uint64_t NAME(uint64_t a, uint64_t b, uint64_t c) { \
  uint64_t r, h, c2 = (c << 17) | (c >> 47); asm volatile(VLD TEXT "\n mov %0, v0.d[0]\n mov %1, v0.d[1]" \
  : "=&r"(r), "=&r"(h) : "r"(a), "r"(b), "r"(c), "r"(c2) : CLOB); vhi = h; return r; }
VOP(v_fmaxv_4s, "fmaxv s0, v1.4s") VOP(v_fminv_4s, "fminv s0, v1.4s")
VOP(v_fmaxnmv_4s, "fmaxnmv s0, v1.4s") VOP(v_fminnmv_4s, "fminnmv s0, v1.4s")
VOP(v_faddp_4s, "faddp v0.4s, v1.4s, v2.4s") VOP(v_fmaxp_2d, "fmaxp v0.2d, v1.2d, v2.2d")
VOP(v_fminnmp_4s, "fminnmp v0.4s, v1.4s, v2.4s") VOP(v_faddp_s, "faddp s0, v1.2s")
VOP(v_fmaxnmp_d, "fmaxnmp d0, v1.2d")
VOP(v_fmla_4s, "fmla v0.4s, v1.4s, v2.4s") VOP(v_fmls_2d, "fmls v0.2d, v1.2d, v2.2d")
VOP(v_fmla_e_4s, "fmla v0.4s, v1.4s, v2.s[1]") VOP(v_fmulx_e_2d, "fmulx v0.2d, v1.2d, v2.d[1]")
VOP(v_fcvtl_4s, "fcvtl v0.4s, v1.4h") VOP(v_fcvtl2_2d, "fcvtl2 v0.2d, v1.4s")
VOP(v_fcvtn_4h, "fcvtn v0.4h, v1.4s") VOP(v_fcvtn2_4s, "fcvtn2 v0.4s, v1.2d")
VOP(v_fcvtxn_2s, "fcvtxn v0.2s, v1.2d") VOP(v_fcvtxn2_4s, "fcvtxn2 v0.4s, v1.2d")
VOP(v_urecpe_4s, "urecpe v0.4s, v1.4s") VOP(v_ursqrte_4s, "ursqrte v0.4s, v1.4s")
VOP(v_frecpe_4s, "frecpe v0.4s, v1.4s") VOP(v_frsqrte_2d, "frsqrte v0.2d, v1.2d")
VOP(v_scvtf_4s_3, "scvtf v0.4s, v1.4s, #3") VOP(v_ucvtf_2d, "ucvtf v0.2d, v1.2d")
VOP(v_fcvtzs_2d_5, "fcvtzs v0.2d, v1.2d, #5") VOP(v_fcvtau_4s, "fcvtau v0.4s, v1.4s")
VOP(v_fcmlt0_4s, "fcmlt v0.4s, v1.4s, #0.0") VOP(v_fcmle0_2d, "fcmle v0.2d, v1.2d, #0.0")
VOP(v_frintx_4s, "frintx v0.4s, v1.4s") VOP(v_fabd_2d, "fabd v0.2d, v1.2d, v2.2d")

struct entry { const char *name; opfn fn; };
#define E(N) { #N, N },
#define E3(N) E(N##_h) E(N##_s) E(N##_d)
#define EF2I(N) E(N##_wh) E(N##_xh) E(N##_ws) E(N##_xs) E(N##_wd) E(N##_xd)
#define EFIX(N, FB) E(N##_ws_##FB) E(N##_xs_##FB) E(N##_wd_##FB) E(N##_xd_##FB)
#define EI2F(N) E(N##_hw) E(N##_hx) E(N##_sw) E(N##_sx) E(N##_dw) E(N##_dx)
#define EIFIX(N, FB) E(N##_sw_##FB) E(N##_sx_##FB) E(N##_dw_##FB) E(N##_dx_##FB)
static const struct entry table[] = {
  E3(fadd) E3(fsub) E3(fmul) E3(fdiv) E3(fmax) E3(fmin) E3(fmaxnm) E3(fminnm) E3(fmulx)
  E3(fabd) E3(frecps) E3(frsqrts) E3(fnmul) E3(fcmeq) E3(fcmge) E3(fcmgt) E3(facge) E3(facgt)
  E3(fmadd) E3(fmsub) E3(fnmadd) E3(fnmsub)
  E3(fsqrt) E3(frintn) E3(frinta) E3(frintp) E3(frintm) E3(frintz) E3(frintx) E3(frinti)
  E3(frecpe) E3(frsqrte) E3(frecpx)
  E(fcvt_sd) E(fcvt_ds) E(fcvt_hs) E(fcvt_sh) E(fcvt_hd) E(fcvt_dh) E(fcvtxn_ds)
  E3(fcmp) E3(fcmpe)
  EF2I(fcvtzs) EF2I(fcvtzu) EF2I(fcvtns) EF2I(fcvtnu) EF2I(fcvtas) EF2I(fcvtau)
  EF2I(fcvtps) EF2I(fcvtpu) EF2I(fcvtms) EF2I(fcvtmu)
  EFIX(fcvtzs, 7) EFIX(fcvtzu, 7) EFIX(fcvtzs, 32) EFIX(fcvtzu, 32)
  EI2F(scvtf) EI2F(ucvtf)
  EIFIX(scvtf, 7) EIFIX(ucvtf, 7) EIFIX(scvtf, 32) EIFIX(ucvtf, 32)
  E(v_fmaxv_4s) E(v_fminv_4s) E(v_fmaxnmv_4s) E(v_fminnmv_4s) E(v_faddp_4s) E(v_fmaxp_2d)
  E(v_fminnmp_4s) E(v_faddp_s) E(v_fmaxnmp_d) E(v_fmla_4s) E(v_fmls_2d) E(v_fmla_e_4s)
  E(v_fmulx_e_2d) E(v_fcvtl_4s) E(v_fcvtl2_2d) E(v_fcvtn_4h) E(v_fcvtn2_4s) E(v_fcvtxn_2s)
  E(v_fcvtxn2_4s) E(v_urecpe_4s) E(v_ursqrte_4s) E(v_frecpe_4s) E(v_frsqrte_2d)
  E(v_scvtf_4s_3) E(v_ucvtf_2d) E(v_fcvtzs_2d_5) E(v_fcvtau_4s) E(v_fcmlt0_4s)
  E(v_fcmle0_2d) E(v_frintx_4s) E(v_fabd_2d)
};

int main(void) {
  char line[256], name[64];
  unsigned long long a, b, c, fpcr;
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out);
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "%63s %llx %llx %llx %llx", name, &a, &b, &c, &fpcr) != 5) {
      printf("BADLINE\n");
      continue;
    }
    opfn fn = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
      if (!strcmp(table[i].name, name)) { fn = table[i].fn; break; }
    if (!fn) { printf("NOOP %s\n", name); continue; }
    uint64_t fpsr, zero = 0, cr = fpcr;
    asm volatile("msr fpsr, %0\n msr fpcr, %1" :: "r"(zero), "r"(cr));
    vhi = 0;
    uint64_t r = fn(a, b, c);
    asm volatile("mrs %0, fpsr\n msr fpcr, %1" : "=r"(fpsr) : "r"(zero));
    printf("%llx %llx %llx\n", (unsigned long long)r, (unsigned long long)vhi,
           (unsigned long long)fpsr);
  }
  return 0;
}
