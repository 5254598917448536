/* NEON integer intrinsics: arithmetic, saturation (with FPSR.QC), shifts, widening and
 * narrowing, pairwise and across-lanes, permutes, table lookups, lane copies and the
 * structure loads/stores. Prints per-group hashes and some values; the differential test
 * compares the output of qemu-aarch64 and a64-user. */
#include <arm_neon.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Random bytes with a bias to edge values per lane. */
static void fill(uint8_t *p, int n) {
    for (int i = 0; i < n; i++) {
        uint64_t r = next();
        switch (r & 7) {
        case 0: p[i] = 0; break;
        case 1: p[i] = 0xff; break;
        case 2: p[i] = 0x80; break;
        case 3: p[i] = 0x7f; break;
        default: p[i] = (uint8_t)(r >> 8);
        }
    }
}

static uint64_t h = 1469598103934665603ull;
static void mix(const void *p, int n) {
    const uint8_t *b = p;
    for (int i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
}
#define MIX(v) do { __typeof__(v) t_ = (v); mix(&t_, sizeof t_); } while (0)

static uint64_t get_fpsr(void) {
    uint64_t r;
    __asm__ volatile("mrs %0, fpsr" : "=r"(r));
    return r;
}
static void set_fpsr(uint64_t v) { __asm__ volatile("msr fpsr, %0" ::"r"(v)); }

static void report(const char *name) {
    printf("%-10s %016llx qc=%d\n", name, (unsigned long long)h, (int)((get_fpsr() >> 27) & 1));
    h = 1469598103934665603ull;
    set_fpsr(0);
}

int main(void) {
    uint8_t buf[256] __attribute__((aligned(16)));
    int rounds = 400;

    for (int r = 0; r < rounds; r++) {
        fill(buf, 64);
        int8x16_t a = vld1q_s8((int8_t *)buf), b = vld1q_s8((int8_t *)buf + 16);
        int16x8_t c = vld1q_s16((int16_t *)(buf + 32)), d = vld1q_s16((int16_t *)(buf + 48));
        int32x4_t e = vreinterpretq_s32_s8(a), f = vreinterpretq_s32_s8(b);
        int64x2_t g = vreinterpretq_s64_s16(c), k = vreinterpretq_s64_s16(d);
        MIX(vaddq_s8(a, b)); MIX(vsubq_s16(c, d)); MIX(vmulq_s32(e, f)); MIX(vmlaq_s16(c, c, d));
        MIX(vmlsq_s8(a, a, b)); MIX(vaddq_s64(g, k)); MIX(vsubq_s64(g, k));
        MIX(vhaddq_s8(a, b)); MIX(vhaddq_u16(vreinterpretq_u16_s16(c), vreinterpretq_u16_s16(d)));
        MIX(vrhaddq_s32(e, f)); MIX(vhsubq_u8(vreinterpretq_u8_s8(a), vreinterpretq_u8_s8(b)));
        MIX(vmaxq_s8(a, b)); MIX(vminq_u16(vreinterpretq_u16_s16(c), vreinterpretq_u16_s16(d)));
        MIX(vabdq_s16(c, d)); MIX(vabaq_u32(vreinterpretq_u32_s32(e), vreinterpretq_u32_s32(f), vreinterpretq_u32_s32(e)));
        MIX(vceqq_s8(a, b)); MIX(vcgeq_s16(c, d)); MIX(vcgtq_u32(vreinterpretq_u32_s32(e), vreinterpretq_u32_s32(f)));
        MIX(vcltq_s64(g, k)); MIX(vtstq_s8(a, b)); MIX(vceqzq_s16(c)); MIX(vcltzq_s32(e));
        MIX(vbslq_s8(vreinterpretq_u8_s8(a), b, vreinterpretq_s8_s16(c)));
        MIX(veorq_s8(a, b)); MIX(vornq_s16(c, d)); MIX(vbicq_s32(e, f));
        MIX(vpaddq_s16(c, d)); MIX(vpmax_s8(vget_low_s8(a), vget_high_s8(b))); MIX(vpmin_u16(vget_low_u16(vreinterpretq_u16_s16(c)), vget_high_u16(vreinterpretq_u16_s16(d))));
        MIX(vmulq_u8(vreinterpretq_u8_s8(a), vreinterpretq_u8_s8(b)));
        MIX(vmulq_p8(vreinterpretq_p8_s8(a), vreinterpretq_p8_s8(b)));
    }
    report("arith");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 64);
        int8x16_t a = vld1q_s8((int8_t *)buf), b = vld1q_s8((int8_t *)buf + 16);
        int16x8_t c = vld1q_s16((int16_t *)(buf + 32)), d = vld1q_s16((int16_t *)(buf + 48));
        int32x4_t e = vreinterpretq_s32_s8(a), f = vreinterpretq_s32_s8(b);
        int64x2_t g = vreinterpretq_s64_s16(c);
        MIX(vqaddq_s8(a, b)); MIX(vqsubq_s16(c, d)); MIX(vqaddq_u32(vreinterpretq_u32_s32(e), vreinterpretq_u32_s32(f)));
        MIX(vqsubq_u64(vreinterpretq_u64_s64(g), vreinterpretq_u64_s32(e)));
        MIX(vqdmulhq_s16(c, d)); MIX(vqrdmulhq_s32(e, f)); MIX(vqdmulhq_n_s16(c, 0x7fff));
        MIX(vqrdmulhq_lane_s16(c, vget_low_s16(d), 3));
        MIX(vqabsq_s8(a)); MIX(vqnegq_s16(c)); MIX(vabsq_s32(e)); MIX(vnegq_s64(g));
        MIX(vuqaddq_s8(a, vreinterpretq_u8_s8(b))); MIX(vsqaddq_u16(vreinterpretq_u16_s16(c), d));
        MIX(vqdmull_s16(vget_low_s16(c), vget_low_s16(d))); MIX(vqdmlal_high_s32(g, e, f));
        MIX(vqdmlsl_n_s16(e, vget_high_s16(c), -32768));
        MIX(vqmovn_s32(e)); MIX(vqmovun_s16(c)); MIX(vqmovn_u64(vreinterpretq_u64_s64(g)));
        MIX(vqshlq_s8(a, vshrq_n_s8(b, 4))); MIX(vqshlq_u16(vreinterpretq_u16_s16(c), vshrq_n_s16(d, 11)));
        MIX(vqrshlq_s32(e, vshrq_n_s32(f, 26))); MIX(vqshluq_n_s16(c, 3)); MIX(vqshlq_n_u8(vreinterpretq_u8_s8(a), 2));
        MIX(vqshrn_n_s32(e, 7)); MIX(vqrshrun_n_s16(c, 3)); MIX(vqrshrn_n_u64(vreinterpretq_u64_s64(g), 17));
        MIX(vqaddb_s8(vgetq_lane_s8(a, 0), vgetq_lane_s8(b, 1)));
        MIX(vqsubh_u16(vgetq_lane_u16(vreinterpretq_u16_s16(c), 2), vgetq_lane_u16(vreinterpretq_u16_s16(d), 3)));
        MIX(vqdmulhs_s32(vgetq_lane_s32(e, 1), vgetq_lane_s32(f, 2)));
        MIX(vqmovnd_s64(vgetq_lane_s64(g, 0)));
        MIX(vqrdmulhq_laneq_s16(c, d, 6));
    }
    report("saturate");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 64);
        int8x16_t a = vld1q_s8((int8_t *)buf), b = vld1q_s8((int8_t *)buf + 16);
        int16x8_t c = vld1q_s16((int16_t *)(buf + 32)), d = vld1q_s16((int16_t *)(buf + 48));
        int32x4_t e = vreinterpretq_s32_s8(a), f = vreinterpretq_s32_s8(b);
        int64x2_t g = vreinterpretq_s64_s16(c), k = vreinterpretq_s64_s16(d);
        MIX(vshlq_s8(a, vshrq_n_s8(b, 3))); MIX(vshlq_u32(vreinterpretq_u32_s32(e), vshrq_n_s32(f, 25)));
        MIX(vrshlq_s16(c, vshrq_n_s16(d, 10))); MIX(vrshlq_u64(vreinterpretq_u64_s64(g), vshrq_n_s64(k, 57)));
        MIX(vshrq_n_s8(a, 3)); MIX(vshrq_n_u16(vreinterpretq_u16_s16(c), 15)); MIX(vrshrq_n_s32(e, 31));
        MIX(vrsraq_n_u64(vreinterpretq_u64_s64(g), vreinterpretq_u64_s64(k), 64)); MIX(vsraq_n_s64(g, k, 63));
        MIX(vshlq_n_s16(c, 9)); MIX(vsriq_n_s8(a, b, 5)); MIX(vsliq_n_s32(e, f, 31)); MIX(vsriq_n_u64(vreinterpretq_u64_s64(g), vreinterpretq_u64_s64(k), 64));
        MIX(vshrn_n_s32(e, 9)); MIX(vrshrn_n_s16(c, 8)); MIX(vshrn_high_n_s64(vmovn_s64(g), k, 32));
        MIX(vshll_n_s8(vget_low_s8(a), 3)); MIX(vshll_high_n_u16(vreinterpretq_u16_s16(c), 16));
        MIX(vmovl_s32(vget_low_s32(e))); MIX(vmovl_high_u8(vreinterpretq_u8_s8(a)));
        MIX(vshrd_n_s64(vgetq_lane_s64(g, 1), 13)); MIX(vrshrd_n_u64(vgetq_lane_u64(vreinterpretq_u64_s64(k), 0), 64));
        MIX(vshld_n_u64(vgetq_lane_u64(vreinterpretq_u64_s64(k), 1), 7));
    }
    report("shift");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 64);
        int8x16_t a = vld1q_s8((int8_t *)buf), b = vld1q_s8((int8_t *)buf + 16);
        int16x8_t c = vld1q_s16((int16_t *)(buf + 32)), d = vld1q_s16((int16_t *)(buf + 48));
        int32x4_t e = vreinterpretq_s32_s8(a), f = vreinterpretq_s32_s8(b);
        int64x2_t g = vreinterpretq_s64_s16(c);
        MIX(vaddl_s8(vget_low_s8(a), vget_low_s8(b))); MIX(vaddl_high_u16(vreinterpretq_u16_s16(c), vreinterpretq_u16_s16(d)));
        MIX(vsubw_s32(g, vget_low_s32(e))); MIX(vaddw_high_u8(vreinterpretq_u16_s16(c), vreinterpretq_u8_s8(a)));
        MIX(vmull_s16(vget_low_s16(c), vget_low_s16(d))); MIX(vmull_high_u32(vreinterpretq_u32_s32(e), vreinterpretq_u32_s32(f)));
        MIX(vmlal_s8(c, vget_low_s8(a), vget_low_s8(b))); MIX(vmlsl_high_s16(e, c, d));
        MIX(vmull_lane_s16(vget_low_s16(c), vget_low_s16(d), 2)); MIX(vmlal_laneq_u32(vreinterpretq_u64_s64(g), vget_low_u32(vreinterpretq_u32_s32(e)), vreinterpretq_u32_s32(f), 3));
        MIX(vabdl_s8(vget_low_s8(a), vget_high_s8(b))); MIX(vabal_high_u16(vreinterpretq_u32_s32(e), vreinterpretq_u16_s16(c), vreinterpretq_u16_s16(d)));
        MIX(vaddhn_s16(c, d)); MIX(vraddhn_s32(e, f)); MIX(vsubhn_high_s16(vget_low_s8(a), c, d)); MIX(vrsubhn_s64(g, g));
        MIX(vmovn_s16(c)); MIX(vmovn_high_s32(vget_low_s16(c), e));
        MIX(vmull_p8(vget_low_p8(vreinterpretq_p8_s8(a)), vget_low_p8(vreinterpretq_p8_s8(b))));
        MIX(vmulq_lane_s32(e, vget_low_s32(f), 1)); MIX(vmlaq_laneq_s16(c, d, c, 7)); MIX(vmlsq_n_s32(e, f, 12345));
    }
    report("widen");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 64);
        int8x16_t a = vld1q_s8((int8_t *)buf), b = vld1q_s8((int8_t *)buf + 16);
        int16x8_t c = vld1q_s16((int16_t *)(buf + 32));
        int32x4_t e = vreinterpretq_s32_s8(a);
        uint8x16_t ua = vreinterpretq_u8_s8(a);
        MIX(vrev16q_s8(a)); MIX(vrev32q_s16(c)); MIX(vrev64q_s32(e)); MIX(vcntq_u8(ua));
        MIX(vclsq_s8(a)); MIX(vclzq_s16(c)); MIX(vclzq_u32(vreinterpretq_u32_s32(e))); MIX(vmvnq_s8(a)); MIX(vrbitq_u8(ua));
        MIX(vpaddlq_s8(a)); MIX(vpaddlq_u16(vreinterpretq_u16_s16(c))); MIX(vpadalq_s32(vreinterpretq_s64_s8(b), e));
        MIX(vaddvq_s8(a)); MIX(vaddvq_u16(vreinterpretq_u16_s16(c))); MIX(vaddvq_s32(e)); MIX(vaddlvq_s8(a));
        MIX(vaddlvq_u16(vreinterpretq_u16_s16(c))); MIX(vaddlvq_s32(e)); MIX(vmaxvq_s8(a)); MIX(vmaxvq_u16(vreinterpretq_u16_s16(c)));
        MIX(vminvq_s32(e)); MIX(vminvq_u8(ua)); MIX(vaddv_s16(vget_low_s16(c))); MIX(vaddvq_u64(vreinterpretq_u64_s8(b)));
        MIX(vrecpeq_u32(vreinterpretq_u32_s32(e))); MIX(vrsqrteq_u32(vreinterpretq_u32_s8(b)));
    }
    report("misc");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 128);
        uint8x16_t a = vld1q_u8(buf), b = vld1q_u8(buf + 16);
        uint16x8_t c = vld1q_u16((uint16_t *)(buf + 32)), d = vld1q_u16((uint16_t *)(buf + 48));
        uint32x4_t e = vreinterpretq_u32_u8(a), f = vreinterpretq_u32_u8(b);
        uint64x2_t g = vreinterpretq_u64_u16(c), k = vreinterpretq_u64_u16(d);
        MIX(vzip1q_u8(a, b)); MIX(vzip2q_u16(c, d)); MIX(vuzp1q_u32(e, f)); MIX(vuzp2q_u64(g, k));
        MIX(vtrn1q_u8(a, b)); MIX(vtrn2q_u16(c, d)); MIX(vzip1_u32(vget_low_u32(e), vget_high_u32(f)));
        MIX(vextq_u8(a, b, 7)); MIX(vext_u16(vget_low_u16(c), vget_high_u16(d), 3)); MIX(vextq_u64(g, k, 1));
        uint8x16_t idx = vandq_u8(vld1q_u8(buf + 64), vdupq_n_u8(0x4f));
        uint8x16x2_t t2 = {{a, b}};
        uint8x16x3_t t3 = {{a, b, vreinterpretq_u8_u16(c)}};
        uint8x16x4_t t4 = {{a, b, vreinterpretq_u8_u16(c), vreinterpretq_u8_u16(d)}};
        MIX(vqtbl1q_u8(a, idx)); MIX(vqtbl2q_u8(t2, idx)); MIX(vqtbl3q_u8(t3, idx)); MIX(vqtbl4q_u8(t4, idx));
        MIX(vqtbx1q_u8(b, a, idx)); MIX(vqtbx4q_u8(a, t4, idx)); MIX(vqtbl2_u8(t2, vget_low_u8(idx)));
        MIX(vdupq_laneq_u8(a, 13)); MIX(vdupq_n_u16((uint16_t)next())); MIX(vdupq_laneq_u64(g, 1));
        MIX(vsetq_lane_u32((uint32_t)next(), e, 2)); MIX(vcopyq_laneq_u16(c, 7, d, 1));
        MIX(vgetq_lane_u8(a, 11)); MIX(vgetq_lane_s16(vreinterpretq_s16_u16(c), 5)); MIX((int64_t)vgetq_lane_s8(vreinterpretq_s8_u8(b), 3));
        MIX(vdupq_n_u32(0x00ff0000)); MIX(vdupq_n_u16(0xff00)); MIX(vdupq_n_u64(0xff0000ffff00ff00ull)); MIX(vdupq_n_s32(-256));
        MIX(vorrq_u32(e, vdupq_n_u32(0x5a00))); MIX(vbicq_u16(c, vdupq_n_u16(0x00f0)));
    }
    report("permute");

    for (int r = 0; r < rounds; r++) {
        fill(buf, 256);
        uint8x16x2_t l2 = vld2q_u8(buf);
        uint16x8x3_t l3 = vld3q_u16((uint16_t *)(buf + 32));
        uint32x4x4_t l4 = vld4q_u32((uint32_t *)(buf + 96));
        uint8x8x4_t l4d = vld4_u8(buf + 160);
        MIX(l2); MIX(l3); MIX(l4); MIX(l4d);
        uint64x2x2_t l2d = vld2q_u64((uint64_t *)(buf + 16));
        MIX(l2d);
        uint16x4x2_t dup2 = vld2_dup_u16((uint16_t *)(buf + 7 * 2));
        uint32x4x3_t dup3 = vld3q_dup_u32((uint32_t *)(buf + 44));
        uint8x16_t one = vld1q_dup_u8(buf + 77);
        MIX(dup2); MIX(dup3); MIX(one);
        uint32x4x2_t lane = vld2q_lane_u32((uint32_t *)(buf + 200), vld2q_u32((uint32_t *)buf), 3);
        MIX(lane);
        uint8_t out[128] = {0};
        vst2q_u8(out, l2);
        vst3q_u16((uint16_t *)(out + 32), l3);
        vst4_u8(out + 80, l4d);
        vst4q_lane_u32((uint32_t *)(out + 112), l4, 2);
        mix(out, sizeof out);
        vst1q_u8_x4(out, (uint8x16x4_t){{l2.val[0], l2.val[1], one, one}});
        uint8x16x3_t x3 = vld1q_u8_x3(buf + 5);
        MIX(x3);
        mix(out, sizeof out);
    }
    report("ldst");
    printf("done\n");
    return 0;
}
