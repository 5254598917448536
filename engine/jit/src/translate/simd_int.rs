//! AdvSIMD integer operations emitted inline on SSE2..SSE4.2 beyond [`crate::simd`]'s
//! set: shifts by immediate and by register (plain, accumulating, rounding, inserting,
//! saturating, narrowing, widening), multiplies (by element too, long, accumulating,
//! doubling-saturating, polynomial of bytes), halving, absolute difference, saturating
//! add/subtract of every size, pairwise and across-lanes reductions, widening and
//! narrowing moves (saturating ones too), ABS/NEG/SQABS/SQNEG/SUQADD/USQADD,
//! CNT/CLZ/CLS/RBIT, the compares against zero, ZIP/UZP/TRN, TBL/TBX, LD3/ST3
//! (de)interleaving and SMOV; the lane-wise ones in their scalar forms too. FPSR.QC is
//! ORed into the CPU block when a lane saturates (only the lanes the instruction has).
//!
//! Register use: the operands are loaded into XMM1..3, the result is built in XMM0,
//! XMM4/5/7 (and XMM14 for the saturating shifts by register) are scratch; RAX is
//! clobbered (constants, the QC test).

use super::*;
use crate::simd::SImm;

// SSE opcodes (all with the 66 prefix, `Asm::sse_rr`).
const MOVDQA: &[u8] = &[0x0f, 0x6f];
const PAND: &[u8] = &[0x0f, 0xdb];
const PANDN: &[u8] = &[0x0f, 0xdf];
const POR: &[u8] = &[0x0f, 0xeb];
const PXOR: &[u8] = &[0x0f, 0xef];
const PCMPEQD: &[u8] = &[0x0f, 0x76];
const PUNPCKLQDQ: &[u8] = &[0x0f, 0x6c];
const PUNPCKHQDQ: &[u8] = &[0x0f, 0x6d];
const PSHUFB: &[u8] = &[0x0f, 0x38, 0x00];
const PSHUFD: &[u8] = &[0x0f, 0x70];
const PMULLW: &[u8] = &[0x0f, 0xd5];
const PMULLD: &[u8] = &[0x0f, 0x38, 0x40];
const PMULDQ: &[u8] = &[0x0f, 0x38, 0x28];
const PMULUDQ: &[u8] = &[0x0f, 0xf4];
const PMULHW: &[u8] = &[0x0f, 0xe5];
const PMULHRSW: &[u8] = &[0x0f, 0x38, 0x0b];
const PMOVMSKB: &[u8] = &[0x0f, 0xd7];
const PMADDWD: &[u8] = &[0x0f, 0xf5];
const PMADDUBSW: &[u8] = &[0x0f, 0x38, 0x04];
const PACKUSWB: &[u8] = &[0x0f, 0x67];
const PACKUSDW: &[u8] = &[0x0f, 0x38, 0x2b];
const PACKSSWB: &[u8] = &[0x0f, 0x63];
const PACKSSDW: &[u8] = &[0x0f, 0x6b];
const PMINUB: &[u8] = &[0x0f, 0xda];
const PCMPEQB: &[u8] = &[0x0f, 0x74];
const PSUBB: &[u8] = &[0x0f, 0xf8];
const PADD: [&[u8]; 4] = [&[0x0f, 0xfc], &[0x0f, 0xfd], &[0x0f, 0xfe], &[0x0f, 0xd4]];
const PSUB: [&[u8]; 4] = [&[0x0f, 0xf8], &[0x0f, 0xf9], &[0x0f, 0xfa], &[0x0f, 0xfb]];
const PCMPEQ: [&[u8]; 4] = [
    &[0x0f, 0x74],
    &[0x0f, 0x75],
    &[0x0f, 0x76],
    &[0x0f, 0x38, 0x29],
];
const PCMPGT: [&[u8]; 4] = [
    &[0x0f, 0x64],
    &[0x0f, 0x65],
    &[0x0f, 0x66],
    &[0x0f, 0x38, 0x37],
];
const PMAXU: [&[u8]; 3] = [&[0x0f, 0xde], &[0x0f, 0x38, 0x3e], &[0x0f, 0x38, 0x3f]];
const PMINU: [&[u8]; 3] = [&[0x0f, 0xda], &[0x0f, 0x38, 0x3a], &[0x0f, 0x38, 0x3b]];
const PMAXS: [&[u8]; 3] = [&[0x0f, 0x38, 0x3c], &[0x0f, 0xee], &[0x0f, 0x38, 0x3d]];
const PMINS: [&[u8]; 3] = [&[0x0f, 0x38, 0x38], &[0x0f, 0xea], &[0x0f, 0x38, 0x39]];
const PABS: [&[u8]; 3] = [
    &[0x0f, 0x38, 0x1c],
    &[0x0f, 0x38, 0x1d],
    &[0x0f, 0x38, 0x1e],
];
/// PUNPCKL{BW,WD,DQ,QDQ} and PUNPCKH*.
const PUNPCKL: [&[u8]; 4] = [&[0x0f, 0x60], &[0x0f, 0x61], &[0x0f, 0x62], &[0x0f, 0x6c]];
const PUNPCKH: [&[u8]; 4] = [&[0x0f, 0x68], &[0x0f, 0x69], &[0x0f, 0x6a], &[0x0f, 0x6d]];
/// Saturating add/sub of bytes and words: [PADDSB, PADDSW], [PADDUSB, PADDUSW]...
const PADDS: [&[u8]; 2] = [&[0x0f, 0xec], &[0x0f, 0xed]];
const PADDUS: [&[u8]; 2] = [&[0x0f, 0xdc], &[0x0f, 0xdd]];
const PSUBS: [&[u8]; 2] = [&[0x0f, 0xe8], &[0x0f, 0xe9]];
const PSUBUS: [&[u8]; 2] = [&[0x0f, 0xd8], &[0x0f, 0xd9]];

/// Three-same operation indices (`a64::simd::lower::THREE_SAME_OPS`).
mod ts {
    pub const MUL: u8 = 2;
    pub const MLA: u8 = 3;
    pub const MLS: u8 = 4;
    pub const SQADD: u8 = 5;
    pub const UQADD: u8 = 6;
    pub const SQSUB: u8 = 7;
    pub const UQSUB: u8 = 8;
    pub const SHADD: u8 = 9;
    pub const UHADD: u8 = 10;
    pub const SRHADD: u8 = 11;
    pub const URHADD: u8 = 12;
    pub const SHSUB: u8 = 13;
    pub const UHSUB: u8 = 14;
    pub const SMAX: u8 = 15;
    pub const UMAX: u8 = 16;
    pub const SMIN: u8 = 17;
    pub const UMIN: u8 = 18;
    pub const SABD: u8 = 19;
    pub const SABA: u8 = 21;
    pub const UABA: u8 = 22;
    pub const SSHL: u8 = 29;
    pub const SRSHL: u8 = 31;
    pub const URSHL: u8 = 32;
    pub const SQSHL: u8 = 33;
    pub const SQRSHL: u8 = 35;
    pub const UQRSHL: u8 = 36;
    pub const SQDMULH: u8 = 37;
    pub const SQRDMULH: u8 = 38;
    pub const PMUL: u8 = 41;
    pub const ADDP: u8 = 42;
    pub const SMAXP: u8 = 43;
    pub const UMAXP: u8 = 44;
    pub const SMINP: u8 = 45;
    pub const UMINP: u8 = 46;
}

/// Three-different indices (`THREE_DIFF_OPS`).
mod td {
    pub const SADDL: u8 = 0;
    pub const ADDHN: u8 = 8;
    pub const RSUBHN: u8 = 11;
    pub const SABAL: u8 = 12;
    pub const UABDL: u8 = 15;
    pub const SMLAL: u8 = 16;
    pub const UMULL: u8 = 21;
    pub const SQDMLAL: u8 = 22;
    pub const SQDMULL: u8 = 24;
    pub const PMULL: u8 = 25;
}

/// Two-register misc indices (`TWO_MISC_OPS`).
mod tm {
    pub const CNT: u8 = 3;
    pub const CLS: u8 = 4;
    pub const CLZ: u8 = 5;
    pub const RBIT: u8 = 7;
    pub const SQABS: u8 = 10;
    pub const SQNEG: u8 = 11;
    pub const SUQADD: u8 = 12;
    pub const USQADD: u8 = 13;
    pub const ABS: u8 = 8;
    pub const NEG: u8 = 9;
    pub const CMGE0: u8 = 15;
    pub const CMGT0: u8 = 16;
    pub const CMLE0: u8 = 17;
    pub const CMLT0: u8 = 18;
}

/// Shift-by-immediate indices (`SHIFT_OPS`).
mod si {
    pub const SHL: u8 = 0;
    pub const SSHR: u8 = 1;
    pub const SSRA: u8 = 3;
    pub const USRA: u8 = 4;
    pub const SRSHR: u8 = 5;
    pub const URSHR: u8 = 6;
    pub const SRSRA: u8 = 7;
    pub const URSRA: u8 = 8;
    pub const SRI: u8 = 9;
    pub const SLI: u8 = 10;
    pub const SQSHL: u8 = 11;
    pub const UQSHL: u8 = 12;
    pub const SQSHLU: u8 = 13;
}

/// `0..=3` for 8..64-bit elements.
fn lg(esize: u32) -> usize {
    match esize {
        8 => 0,
        16 => 1,
        32 => 2,
        _ => 3,
    }
}

/// `v` (an `esize`-bit pattern) repeated over 64 bits.
fn rep(esize: u32, v: u64) -> u64 {
    let v = if esize >= 64 {
        v
    } else {
        v & ((1u64 << esize) - 1)
    };
    let mut r = 0u64;
    let mut s = 0;
    while s < 64 {
        r |= v << s;
        s += esize;
    }
    r
}

/// Whether `h` with `imm` is one of this module's inline forms (on top of
/// [`crate::simd::inline`], which is asked first).
fn part2(imm: u64) -> bool {
    SImm::part2(imm)
}

pub(super) fn inline(h: &Helper, imm: u64, f: Features) -> bool {
    if !f.sse41 || crate::simd::inline(h, imm, f) {
        return false;
    }
    let i = SImm::of(imm);
    let e = i.esize;
    let esz = matches!(e, 8 | 16 | 32 | 64);
    let vec = esz && matches!(i.bits(), 64 | 128);
    // Lane-wise forms also run on the scalar forms of 8-32-bit elements.
    let lanewise = vec || (esz && i.lanes == 1);
    match h.name {
        "simd::shift_imm" => {
            lanewise && (i.op <= si::SLI || (i.op <= si::SQSHLU && (e < 64 || f.sse42)))
        }
        "simd::shift_long" => matches!(e, 8 | 16 | 32) && i.sh < e,
        "simd::shll" => matches!(e, 8 | 16 | 32),
        // Vector forms, and the scalar saturating ones (one lane).
        "simd::shift_narrow" => {
            (i.bits() == 64 || (i.lanes == 1 && i.op >= 2 && !part2(imm)))
                && ((matches!(e, 8 | 16) && i.op <= 7) || (e == 32 && i.op <= 1))
        }
        "simd::narrow" => {
            (i.bits() == 64 || (i.lanes == 1 && i.op >= 1 && !part2(imm)))
                && matches!(e, 8 | 16 | 32)
                && (i.op == 0 || e < 32)
        }
        "simd::three_same" => {
            if !lanewise || (i.elem && !matches!(e, 16 | 32)) {
                return false;
            }
            match i.op {
                ts::MUL | ts::MLA | ts::MLS => e < 64,
                ts::SQADD..=ts::UQSUB => e < 64 || f.sse42,
                ts::SHADD..=ts::UHSUB => e < 64,
                ts::SMAX..=ts::UMIN => e < 64,
                ts::SABD..=ts::UABA => e < 64,
                ts::SQDMULH | ts::SQRDMULH => e == 16 || e == 32,
                ts::SSHL..=ts::UQRSHL => !i.elem && (e < 64 || f.sse42),
                ts::PMUL => !i.elem && e == 8,
                ts::ADDP..=ts::UMINP => i.lanes >= 2 && (i.op == ts::ADDP || e < 64),
                _ => false,
            }
        }
        "simd::three_diff" => {
            matches!(e, 8 | 16 | 32)
                && i.lanes * e == 64
                && (matches!(i.op, td::SADDL..=td::UMULL)
                    || (matches!(i.op, td::SQDMLAL..=td::SQDMULL) && e > 8)
                    || (i.op == td::PMULL && e == 8))
                && (!i.elem || matches!(e, 16 | 32))
        }
        "simd::two_misc" => {
            lanewise
                && match i.op {
                    tm::CNT | tm::RBIT => e == 8,
                    tm::CLS | tm::CLZ => e < 64,
                    tm::SQABS | tm::SQNEG => true,
                    tm::SUQADD => e < 64 || f.sse42,
                    tm::USQADD => true,
                    tm::ABS => true,
                    tm::NEG => true,
                    tm::CMGE0..=tm::CMLT0 => e < 64 || f.sse42,
                    _ => false,
                }
        }
        "simd::addlp" => matches!(e, 8 | 16 | 32) && matches!(i.lanes * e * 2, 64 | 128),
        "simd::across" => vec && e < 64 && i.lanes >= 4 && i.op <= 6,
        "simd::permute" => vec && i.lanes >= 2 && i.op <= 5,
        "simd::tbl_step" => matches!(i.lanes, 8 | 16) && i.sh < 4,
        "simd::deinterleave3" | "simd::interleave3" => vec && i.lanes >= 2 && i.sh < 3,
        "simd::smov" => matches!(e, 8 | 16 | 32) && i.sh * e < 128 && (e < 32 || part2(imm)),
        _ => false,
    }
}

/// XMM`d` = XMM`s`.
fn mov(a: &mut Asm, d: u8, s: u8) {
    if d != s {
        a.sse_rr(MOVDQA, d, s);
    }
}

/// XMM`x` = the 64-bit pattern `v` in both halves (clobbers RAX).
fn splat(a: &mut Asm, x: u8, v: u64) {
    match v {
        0 => a.sse_rr(PXOR, x, x),
        u64::MAX => a.sse_rr(PCMPEQD, x, x),
        _ => {
            a.mov_ri(R::RAX, v);
            a.movq_xr(x, R::RAX);
            a.sse_rr(PUNPCKLQDQ, x, x);
        }
    }
}

/// XMM`x` &= the pattern `v` (through XMM`t`).
fn and_const(a: &mut Asm, x: u8, t: u8, v: u64) {
    if v != u64::MAX {
        splat(a, t, v);
        a.sse_rr(PAND, x, t);
    }
}

/// x <<= s per `e`-bit lane (`s < e`).
fn shl(a: &mut Asm, x: u8, e: u32, s: u32, t: u8) {
    if s == 0 {
        return;
    }
    match e {
        8 => {
            a.sse_shift(0x71, 6, x, s as u8);
            and_const(a, x, t, rep(8, 0xff << s));
        }
        16 => a.sse_shift(0x71, 6, x, s as u8),
        32 => a.sse_shift(0x72, 6, x, s as u8),
        _ => a.sse_shift(0x73, 6, x, s as u8),
    }
}

/// x >>= s (logical) per `e`-bit lane (`s <= e`).
fn lsr(a: &mut Asm, x: u8, e: u32, s: u32, t: u8) {
    if s == 0 {
        return;
    }
    if s >= e {
        a.sse_rr(PXOR, x, x);
        return;
    }
    match e {
        8 => {
            a.sse_shift(0x71, 2, x, s as u8);
            and_const(a, x, t, rep(8, 0xff >> s));
        }
        16 => a.sse_shift(0x71, 2, x, s as u8),
        32 => a.sse_shift(0x72, 2, x, s as u8),
        _ => a.sse_shift(0x73, 2, x, s as u8),
    }
}

/// x >>= s (arithmetic) per `e`-bit lane (`s <= e`).
fn asr(a: &mut Asm, x: u8, e: u32, s: u32, t: u8) {
    let s = s.min(e - 1);
    if s == 0 {
        return;
    }
    match e {
        16 => a.sse_shift(0x71, 4, x, s as u8),
        32 => a.sse_shift(0x72, 4, x, s as u8),
        _ => {
            // Logical shift, then sign-extend from bit e-1-s: (x ^ m) - m.
            lsr(a, x, e, s, t);
            splat(a, t, rep(e, 1u64 << (e - 1 - s)));
            a.sse_rr(PXOR, x, t);
            a.sse_rr(PSUB[lg(e)], x, t);
        }
    }
}

/// x = x >> s, rounding (adds bit s-1 of x) when `round`, arithmetic when `signed`
/// (`1 <= s <= e`). Uses XMM4 and XMM5.
fn shr(a: &mut Asm, x: u8, e: u32, s: u32, signed: bool, round: bool) {
    let (t1, t2) = (4, 5);
    if round {
        mov(a, t1, x);
        lsr(a, t1, e, s - 1, t2);
        and_const(a, t1, t2, rep(e, 1));
    }
    if signed {
        asr(a, x, e, s, t2);
    } else {
        lsr(a, x, e, s, t2);
    }
    if round {
        a.sse_rr(PADD[lg(e)], x, t1);
    }
}

/// Sign- or zero-extends the low (`upper`: high) 64 bits of XMM`x` from `e`-bit lanes.
fn widen(a: &mut Asm, x: u8, e: u32, signed: bool, upper: bool) {
    if upper {
        a.sse_rri(PSHUFD, x, x, 0xee);
    }
    let k = match e {
        8 => 0,
        16 => 3,
        _ => 5,
    };
    a.sse_rr(&[0x0f, 0x38, if signed { 0x20 } else { 0x30 } + k], x, x);
}

/// The low half of each `w`-bit lane of XMM`x`, packed into its low 64 bits (the upper
/// 64 are a copy).
fn narrow_trunc(a: &mut Asm, x: u8, w: u32, t: u8) {
    match w {
        16 => {
            and_const(a, x, t, rep(16, 0xff));
            a.sse_rr(PACKUSWB, x, x);
        }
        32 => {
            and_const(a, x, t, rep(32, 0xffff));
            a.sse_rr(PACKUSDW, x, x);
        }
        _ => a.sse_rri(PSHUFD, x, x, 0x88),
    }
}

/// PSHUFB mask gathering the even `e`-bit elements of a register into its low 64 bits
/// and the odd ones into its high 64 bits.
fn uzp_mask(e: u32) -> (u64, u64) {
    let eb = (e / 8) as usize;
    let mut m = [0u8; 16];
    let mut j = 0;
    for part in 0..2 {
        let mut el = part;
        while el * eb < 16 {
            for b in 0..eb {
                m[j] = (el * eb + b) as u8;
                j += 1;
            }
            el += 2;
        }
    }
    let lo = u64::from_le_bytes(m[..8].try_into().unwrap_or([0; 8]));
    let hi = u64::from_le_bytes(m[8..].try_into().unwrap_or([0; 8]));
    (lo, hi)
}

/// XMM`x` = a 128-bit constant (clobbers RAX and XMM`t`).
fn const128(a: &mut Asm, x: u8, t: u8, lo: u64, hi: u64) {
    a.mov_ri(R::RAX, lo);
    a.movq_xr(x, R::RAX);
    a.mov_ri(R::RAX, hi);
    a.movq_xr(t, R::RAX);
    a.sse_rr(PUNPCKLQDQ, x, t);
}

/// XMM`x` = [evens of x | odds of x] (`e` < 64; clobbers XMM`t1`, XMM`t2`).
fn deinterleave(a: &mut Asm, x: u8, e: u32, t1: u8, t2: u8) {
    if e == 32 {
        a.sse_rri(PSHUFD, x, x, 0xd8);
        return;
    }
    let (lo, hi) = uzp_mask(e);
    const128(a, t1, t2, lo, hi);
    a.sse_rr(PSHUFB, x, t1);
}

/// ORs FPSR.QC into the CPU block when any of the low `bytes` bytes of XMM`x` is
/// non-zero (clobbers RAX and the flags).
fn qc_if_any(a: &mut Asm, x: u8, bytes: u32) {
    a.sse_rr(PMOVMSKB, 0, x);
    a.test_ri(false, R::RAX, ((1u32 << bytes.min(16)) - 1) as i32);
    let skip = a.jcc_fwd(Cc::E);
    a.alu_mi(
        false,
        Alu::Or,
        m(R::RBP, off::FPSR),
        a64::simd::lower::FPSR_QC as i32,
    );
    a.bind(skip);
}

impl Tr<'_> {
    /// Emits one of [`inline`]'s forms.
    pub(super) fn simd_int(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        if h.name == "simd::smov" {
            // The element loaded from the register's memory copy, sign-extended.
            let i = SImm::of(imm);
            let bytes = (i.esize / 8) as u8;
            let src = self.vec_mem(args[0]);
            let at = crate::emit::M {
                disp: src.disp + i32::from(bytes) * i.sh as i32,
                ..src
            };
            self.a.load(bytes, R::RAX, at);
            let r = self.def(dst);
            self.a.movsx(SImm::part2(imm), bytes, r, R::RAX);
            self.fin(dst, r);
            return;
        }
        for (k, &t) in args.iter().enumerate().take(h.args.len()) {
            self.xmm_load(k as u8 + 1, t);
        }
        self.x0_dirty = true;
        emit(&mut self.a, h.name, imm);
        self.xdef(dst, 0);
        self.x0 = Some(dst.0);
    }
}

/// The code of helper `name` with `imm` (one of [`inline`]'s forms): operands in XMM1..3
/// in the helper's argument order, result in XMM0 (the bits above the result zeroed).
pub(crate) fn emit(a: &mut Asm, name: &str, imm: u64) {
    let i = SImm::of(imm);
    let part2 = SImm::part2(imm);
    let e = i.esize;
    let bits = i.bits();
    // Result in XMM0; `keep` bits of it are kept (the rest zeroed).
    let keep = match name {
        "simd::shift_imm" => {
            shift_imm(a, i);
            bits
        }
        "simd::shift_long" | "simd::shll" => {
            let signed = name == "simd::shift_long" && i.op != 0;
            let sh = if name == "simd::shll" { e } else { i.sh };
            mov(a, 0, 1);
            widen(a, 0, e, signed, part2);
            shl(a, 0, 2 * e, sh, 7);
            128
        }
        "simd::shift_narrow" => {
            // SHRN, RSHRN, SQSHRN, UQSHRN, SQRSHRN, UQRSHRN, SQSHRUN, SQRSHRUN: the
            // (rounding) shift of the wide lanes, then XTN / SQXTN / UQXTN / SQXTUN.
            let (signed, round, nop) = match i.op {
                0 => (false, false, 0),
                1 => (false, true, 0),
                2 => (true, false, 1),
                3 => (false, false, 2),
                4 => (true, true, 1),
                5 => (false, true, 2),
                6 => (true, false, 3),
                _ => (true, true, 3),
            };
            shr(a, 1, 2 * e, i.sh, signed, round);
            narrow(a, nop, e, bits / 4);
            if part2 {
                // Into the upper half, Vd's lower half kept.
                a.sse_rr(PUNPCKLQDQ, 2, 0);
                mov(a, 0, 2);
                128
            } else {
                bits
            }
        }
        "simd::narrow" => {
            narrow(a, i.op, e, bits / 4);
            if part2 {
                a.sse_rr(PUNPCKLQDQ, 2, 0);
                mov(a, 0, 2);
                128
            } else {
                bits
            }
        }
        "simd::three_same" => {
            if i.elem {
                dup_lane(a, 2, e, i.sh);
            }
            three_same(a, i);
            bits
        }
        "simd::three_diff" => {
            if i.elem {
                dup_lane(a, 2, e, i.sh);
            }
            three_diff(a, i.op, e, part2);
            128
        }
        "simd::two_misc" => {
            two_misc(a, i.op, e, bits);
            bits
        }
        "simd::addlp" => {
            addlp(a, i.op & 1 != 0, i.op & 2 != 0, e);
            i.lanes * e * 2
        }
        "simd::across" => {
            across(a, i.op, e, bits);
            128
        }
        "simd::permute" => {
            permute(a, i.op, e, bits);
            bits
        }
        "simd::deinterleave3" | "simd::interleave3" => {
            // Each source's bytes put in place by PSHUFB (0x80 elsewhere), ORed.
            let inter = name == "simd::interleave3";
            for src in 0..3u8 {
                let mask = &LDST3_MASKS[ldst3_index(inter, e, bits, i.sh, u32::from(src))];
                a.mov_ri(R::RAX, mask.as_ptr() as u64);
                a.movdqu_load(7, m(R::RAX, 0));
                let x = if src == 0 { 0 } else { 4 };
                mov(a, x, src + 1);
                a.sse_rr(PSHUFB, x, 7);
                if src > 0 {
                    a.sse_rr(POR, 0, 4);
                }
            }
            128
        }
        _ => {
            // TBL/TBX, one table register: bytes whose index is in
            // [16k, 16k+16) from the table, others from the accumulator (XMM1).
            splat(a, 0, rep(8, 16 * i.sh as u64));
            mov(a, 4, 3);
            a.sse_rr(PSUBB, 4, 0); // t = idx - 16k
            splat(a, 5, rep(8, 15));
            a.sse_rr(PMINUB, 5, 4);
            a.sse_rr(PCMPEQB, 5, 4); // in range: min(t, 15) == t
            mov(a, 0, 2);
            a.sse_rr(PSHUFB, 0, 4);
            a.sse_rr(PAND, 0, 5);
            a.sse_rr(PANDN, 5, 1);
            a.sse_rr(POR, 0, 5);
            i.lanes * 8
        }
    };
    if keep <= 64 {
        a.movq_xx(0, 0);
    }
    if keep < 64 {
        and_const(a, 0, 7, (1u64 << keep) - 1);
    }
}

/// PSHUFB masks of LD3 de-interleaving and ST3 interleaving: for (ST3, element size,
/// 128-bit, register or chunk `k`, source `s`), the bytes of source `s` that go into
/// the result (0x80 for the others, and above the 64 bits of a 64-bit form).
static LDST3_MASKS: [[u8; 16]; 144] = {
    let mut t = [[0x80u8; 16]; 144];
    let mut n = 0;
    while n < 144 {
        let (inter, eb, total) = (n / 72 == 1, 1usize << ((n / 18) % 4), 8 << ((n / 9) % 2));
        let (k, s) = ((n / 3) % 3, n % 3);
        let lanes = total / eb;
        let mut j = 0;
        while j < total {
            let (i, b) = (j / eb, j % eb);
            let (from, at) = if inter {
                // Chunk k, element i: element e / 3 of register e % 3.
                let e = k * lanes + i;
                (e % 3, (e / 3) * eb + b)
            } else {
                // Register k, element i: memory element 3i + k.
                let e = i * 3 + k;
                (e / lanes, (e % lanes) * eb + b)
            };
            if from == s {
                t[n][j] = at as u8;
            }
            j += 1;
        }
        n += 1;
    }
    t
};

fn ldst3_index(inter: bool, e: u32, bits: u32, k: u32, s: u32) -> usize {
    (usize::from(inter) * 72)
        + lg(e) * 18
        + usize::from(bits == 128) * 9
        + (k as usize) * 3
        + s as usize
}

/// Shifts by immediate: Vn in XMM1, Vd in XMM2.
fn shift_imm(a: &mut Asm, i: SImm) {
    let (e, s) = (i.esize, i.sh);
    mov(a, 0, 1);
    match i.op {
        si::SHL => shl(a, 0, e, s, 7),
        si::SLI => {
            shl(a, 0, e, s, 7);
            if s > 0 {
                and_const(a, 2, 7, rep(e, (1u64 << s) - 1));
                a.sse_rr(POR, 0, 2);
            }
        }
        si::SQSHL | si::UQSHL | si::SQSHLU => {
            // r = n << s; it overflowed where shifting back does not give n.
            shl(a, 0, e, s, 7);
            mov(a, 4, 0);
            if i.op == si::SQSHL {
                asr(a, 4, e, s, 7);
            } else {
                lsr(a, 4, e, s, 7);
            }
            a.sse_rr(PCMPEQ[lg(e)], 4, 1);
            a.sse_rr(PCMPEQD, 7, 7);
            a.sse_rr(PXOR, 4, 7); // overflow mask
            a.sse_rr(PXOR, 5, 5);
            a.sse_rr(PCMPGT[lg(e)], 5, 1); // n < 0
            match i.op {
                si::SQSHL => {
                    // Saturated: n < 0 ? MIN : MAX.
                    splat(a, 7, rep(e, u64::MAX >> (64 - e + 1)));
                    a.sse_rr(PXOR, 5, 7);
                    a.sse_rr(PXOR, 5, 0);
                    a.sse_rr(PAND, 5, 4);
                    a.sse_rr(PXOR, 0, 5);
                }
                si::UQSHL => a.sse_rr(POR, 0, 4),
                _ => {
                    // Negative inputs saturate to 0, others to the unsigned maximum.
                    a.sse_rr(POR, 0, 4);
                    a.sse_rr(POR, 4, 5);
                    a.sse_rr(PANDN, 5, 0);
                    mov(a, 0, 5);
                }
            }
            qc_if_any(a, 4, i.bits() / 8);
        }
        si::SRI => {
            lsr(a, 0, e, s, 7);
            // Vd keeps the top `s` bits of each lane (all of them for s = e).
            let lane = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
            let keep = if s >= e { lane } else { lane & !(lane >> s) };
            and_const(a, 2, 7, rep(e, keep));
            a.sse_rr(POR, 0, 2);
        }
        op => {
            let signed = matches!(op, si::SSHR | si::SSRA | si::SRSHR | si::SRSRA);
            let round = matches!(op, si::SRSHR | si::URSHR | si::SRSRA | si::URSRA);
            shr(a, 0, e, s, signed, round);
            if matches!(op, si::SSRA | si::USRA | si::SRSRA | si::URSRA) {
                a.sse_rr(PADD[lg(e)], 0, 2);
            }
        }
    }
}

/// XMM`x` = element `idx` of XMM`x` in every lane (`e` 16 or 32).
fn dup_lane(a: &mut Asm, x: u8, e: u32, idx: u32) {
    if e == 32 {
        a.sse_rri(PSHUFD, x, x, (idx * 0x55) as u8);
    } else {
        let b = u64::from(2 * idx);
        splat(a, 7, rep(16, b | ((b + 1) << 8)));
        a.sse_rr(PSHUFB, x, 7);
    }
}

/// XMM0 = XMM1 * XMM2 per `e`-bit lane (`e` < 64; clobbers XMM4, XMM5, XMM7).
fn mul(a: &mut Asm, e: u32) {
    match e {
        8 => {
            // Even bytes: word products, low bytes kept; odd bytes: (n >> 8) * (m & 0xff00).
            mov(a, 0, 1);
            a.sse_rr(PMULLW, 0, 2);
            and_const(a, 0, 7, rep(16, 0xff));
            mov(a, 4, 1);
            a.sse_shift(0x71, 2, 4, 8);
            mov(a, 5, 2);
            and_const(a, 5, 7, rep(16, 0xff00));
            a.sse_rr(PMULLW, 4, 5);
            a.sse_rr(POR, 0, 4);
        }
        16 => {
            mov(a, 0, 1);
            a.sse_rr(PMULLW, 0, 2);
        }
        _ => {
            mov(a, 0, 1);
            a.sse_rr(PMULLD, 0, 2);
        }
    }
}

/// Three-same: Vn XMM1, Vm XMM2, Vd XMM3 -> XMM0.
fn three_same(a: &mut Asm, i: SImm) {
    let e = i.esize;
    let l = lg(e);
    match i.op {
        ts::MUL => mul(a, e),
        ts::MLA | ts::MLS => {
            mul(a, e);
            if i.op == ts::MLA {
                a.sse_rr(PADD[l], 0, 3);
            } else {
                a.sse_rr(PSUB[l], 3, 0);
                mov(a, 0, 3);
            }
        }
        ts::SQADD..=ts::UQSUB => saturating(a, i.op, e, i.bits()),
        ts::SHADD | ts::UHADD | ts::SRHADD | ts::URHADD | ts::SHSUB | ts::UHSUB => {
            // Exact identities: n + m = (n ^ m) + 2(n & m), n - m = (n ^ m) - 2(!n & m):
            // halving add (n & m) + ((n ^ m) >> 1), rounding (n | m) - ((n ^ m) >> 1),
            // halving sub ((n ^ m) >> 1) - (!n & m).
            let signed = matches!(i.op, ts::SHADD | ts::SRHADD | ts::SHSUB);
            mov(a, 4, 1);
            a.sse_rr(PXOR, 4, 2);
            if signed {
                asr(a, 4, e, 1, 7);
            } else {
                lsr(a, 4, e, 1, 7);
            }
            mov(a, 0, 1);
            match i.op {
                ts::SHADD | ts::UHADD => {
                    a.sse_rr(PAND, 0, 2);
                    a.sse_rr(PADD[l], 0, 4);
                }
                ts::SRHADD | ts::URHADD => {
                    a.sse_rr(POR, 0, 2);
                    a.sse_rr(PSUB[l], 0, 4);
                }
                _ => {
                    a.sse_rr(PANDN, 0, 2);
                    a.sse_rr(PSUB[l], 4, 0);
                    mov(a, 0, 4);
                }
            }
        }
        ts::SMAX..=ts::UMIN => {
            let op = match i.op {
                ts::SMAX => PMAXS[l],
                ts::UMAX => PMAXU[l],
                ts::SMIN => PMINS[l],
                _ => PMINU[l],
            };
            mov(a, 0, 1);
            a.sse_rr(op, 0, 2);
        }
        ts::SABD..=ts::UABA => {
            let signed = matches!(i.op, ts::SABD | ts::SABA);
            absdiff(a, e, signed);
            if matches!(i.op, ts::SABA | ts::UABA) {
                a.sse_rr(PADD[l], 0, 3);
            }
        }
        ts::SSHL..=ts::UQRSHL => shift_by_reg(
            a,
            e,
            matches!(i.op, ts::SSHL | ts::SRSHL | ts::SQSHL | ts::SQRSHL),
            matches!(i.op, ts::SRSHL | ts::URSHL | ts::SQRSHL | ts::UQRSHL),
            i.op >= ts::SQSHL,
            i.bits(),
        ),
        ts::PMUL => {
            mov(a, 4, 1);
            clmul_lanes(a, 8);
        }
        ts::SQDMULH | ts::SQRDMULH => {
            // 16-bit: (2nm) >> 16 = (nm) >> 15, i.e. high word << 1 | low word's top bit;
            // SQRDMULH is PMULHRSW. Both give 0x8000 only for -32768 * -32768, which
            // saturates to 0x7fff.
            // 32-bit: the 64-bit products of the even and odd lanes (PMULDQ), plus 2^30
            // when rounding, bits 62:31 of each.
            if e == 32 {
                let round = i.op == ts::SQRDMULH;
                for (out, sh) in [(0u8, false), (5u8, true)] {
                    mov(a, out, 1);
                    mov(a, 4, 2);
                    if sh {
                        a.sse_shift(0x73, 2, out, 32);
                        a.sse_shift(0x73, 2, 4, 32);
                    }
                    a.sse_rr(PMULDQ, out, 4);
                    if round {
                        splat(a, 4, 1 << 30);
                        a.sse_rr(PADD[3], out, 4);
                    }
                    a.sse_shift(0x73, 6, out, 1);
                }
                a.sse_shift(0x73, 2, 0, 32);
                and_const(a, 5, 7, 0xffff_ffff_0000_0000);
                a.sse_rr(POR, 0, 5);
            } else if i.op == ts::SQRDMULH {
                mov(a, 0, 1);
                a.sse_rr(PMULHRSW, 0, 2);
            } else {
                mov(a, 0, 1);
                a.sse_rr(PMULHW, 0, 2);
                a.sse_shift(0x71, 6, 0, 1);
                mov(a, 4, 1);
                a.sse_rr(PMULLW, 4, 2);
                a.sse_shift(0x71, 2, 4, 15);
                a.sse_rr(POR, 0, 4);
            }
            splat(a, 4, rep(e, 1 << (e - 1)));
            a.sse_rr(PCMPEQ[lg(e)], 4, 0);
            a.sse_rr(PXOR, 0, 4);
            qc_if_any(a, 4, i.bits() / 8);
        }
        op => {
            // Pairwise: element j of the result combines elements 2j and 2j+1 of Vm:Vn.
            if i.bits() == 64 {
                // [n_lo | m_lo]: the evens and odds of it, in the low 64 bits.
                mov(a, 4, 1);
                a.sse_rr(PUNPCKLQDQ, 4, 2);
                if e == 32 {
                    a.sse_rri(PSHUFD, 5, 4, 0xdd);
                    a.sse_rri(PSHUFD, 4, 4, 0x88);
                } else {
                    deinterleave(a, 4, e, 0, 7);
                    a.sse_rri(PSHUFD, 5, 4, 0xee);
                }
            } else if e == 64 {
                mov(a, 4, 1);
                a.sse_rr(PUNPCKLQDQ, 4, 2);
                mov(a, 5, 1);
                a.sse_rr(PUNPCKHQDQ, 5, 2);
            } else {
                mov(a, 4, 1);
                deinterleave(a, 4, e, 0, 7);
                mov(a, 5, 2);
                deinterleave(a, 5, e, 0, 7);
                mov(a, 0, 4);
                a.sse_rr(PUNPCKLQDQ, 4, 5); // evens
                a.sse_rr(PUNPCKHQDQ, 0, 5); // odds
                mov(a, 5, 0);
            }
            let f = match op {
                ts::ADDP => PADD[l],
                ts::SMAXP => PMAXS[l],
                ts::UMAXP => PMAXU[l],
                ts::SMINP => PMINS[l],
                _ => PMINU[l],
            };
            a.sse_rr(f, 4, 5);
            mov(a, 0, 4);
        }
    }
}

/// SSHL/USHL/SRSHL/URSHL: XMM1 shifted by the signed low byte of each lane of XMM2
/// (left when positive, right when negative, rounding when `round`; by the lane size or
/// more: 0, or the sign for SSHL), built from the bits of the amount (one fixed shift
/// each, selected per lane). A right shift by n is one by n - 1, then by 1, so that the
/// rounding bit is at hand and n = e needs no special case.
/// The saturating forms (`sat`) saturate left shifts that lose bits, setting QC (only
/// lanes of `bits` count).
fn shift_by_reg(a: &mut Asm, e: u32, signed: bool, round: bool, sat: bool, bits: u32) {
    let l = lg(e);
    let lane = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
    // XMM2 = the amount, sign-extended from its low byte; XMM3 = its sign; XMM2 = |amount|.
    if e > 8 {
        shl(a, 2, e, e - 8, 7);
        asr(a, 2, e, e - 8, 7);
    }
    a.sse_rr(PXOR, 3, 3);
    a.sse_rr(PCMPGT[l], 3, 2);
    a.sse_rr(PXOR, 2, 3);
    a.sse_rr(PSUB[l], 2, 3);
    // XMM5 = lanes where XMM2 < e.
    let small = |a: &mut Asm| {
        mov(a, 5, 2);
        and_const(a, 5, 7, rep(e, lane & !u64::from(e - 1)));
        a.sse_rr(PXOR, 7, 7);
        a.sse_rr(PCMPEQ[l], 5, 7);
    };
    let fixed = |a: &mut Asm, x: u8, left: bool, k: u32| {
        if left {
            shl(a, x, e, k, 7);
        } else if signed {
            asr(a, x, e, k, 7);
        } else {
            lsr(a, x, e, k, 7);
        }
    };
    // XMM`x` = XMM`x` shifted by the low bits of XMM2 (left or right).
    let steps = |a: &mut Asm, x: u8, left: bool| {
        let mut k = 1;
        while k < e {
            mov(a, 5, 2);
            and_const(a, 5, 7, rep(e, u64::from(k)));
            a.sse_rr(PCMPEQ[l], 5, 7);
            mov(a, 4, x);
            fixed(a, 4, left, k);
            a.sse_rr(PXOR, 4, x);
            a.sse_rr(PAND, 4, 5);
            a.sse_rr(PXOR, x, 4);
            k *= 2;
        }
    };
    mov(a, 0, 1);
    steps(a, 0, true);
    small(a);
    a.sse_rr(PAND, 0, 5);
    if sat {
        // Overflow where shifting back does not give the input (for n >= e, the 0
        // there gives it only for a zero input); positive amounts only.
        const X: u8 = 14;
        mov(a, X, 0);
        steps(a, X, false);
        a.sse_rr(PCMPEQ[l], X, 1);
        a.sse_rr(PCMPEQD, 7, 7);
        a.sse_rr(PXOR, X, 7);
        mov(a, 4, 3);
        a.sse_rr(PANDN, 4, X);
        mov(a, X, 4);
        // Saturated: MAX, or MIN for negative signed inputs.
        if signed {
            a.sse_rr(PXOR, 4, 4);
            a.sse_rr(PCMPGT[l], 4, 1);
            splat(a, 7, rep(e, lane >> 1));
            a.sse_rr(PXOR, 4, 7);
        } else {
            a.sse_rr(PCMPEQD, 4, 4);
        }
        a.sse_rr(PXOR, 4, 0);
        a.sse_rr(PAND, 4, X);
        a.sse_rr(PXOR, 0, 4);
        qc_if_any(a, X, bits / 8);
    }
    // Right: by n - 1 (n <= e here), then by 1, plus the bit shifted out when rounding.
    splat(a, 4, rep(e, 1));
    a.sse_rr(PSUB[l], 2, 4);
    steps(a, 1, false);
    if round {
        mov(a, 4, 1);
        and_const(a, 4, 7, rep(e, 1));
        fixed(a, 1, false, 1);
        a.sse_rr(PADD[l], 1, 4);
    } else {
        fixed(a, 1, false, 1);
    }
    small(a);
    if signed && !round {
        // n > e: the sign (which the shifts kept) in every bit.
        mov(a, 4, 1);
        asr(a, 4, e, e - 1, 7);
        a.sse_rr(PXOR, 1, 4);
        a.sse_rr(PAND, 1, 5);
        a.sse_rr(PXOR, 1, 4);
    } else {
        a.sse_rr(PAND, 1, 5);
    }
    // Negative amounts take the right shift.
    a.sse_rr(PXOR, 1, 0);
    a.sse_rr(PAND, 1, 3);
    a.sse_rr(PXOR, 0, 1);
}

/// XMM0 = the carry-less product of XMM4 and XMM2 per `e`-bit lane, of their low 8
/// bits (XMM4 is shifted; clobbers XMM5, XMM7).
fn clmul_lanes(a: &mut Asm, e: u32) {
    a.sse_rr(PXOR, 0, 0);
    for k in 0..8 {
        mov(a, 5, 2);
        and_const(a, 5, 7, rep(e, 1 << k));
        a.sse_rr(PCMPEQ[lg(e)], 5, 7);
        a.sse_rr(PAND, 5, 4);
        a.sse_rr(PXOR, 0, 5);
        if k < 7 {
            a.sse_rr(PADD[lg(e)], 4, 4);
        }
    }
}

/// XMM0 = |XMM1 - XMM2| per `e`-bit lane (`e` < 64; clobbers XMM4).
fn absdiff(a: &mut Asm, e: u32, signed: bool) {
    let l = lg(e);
    let (max, min) = if signed {
        (PMAXS[l], PMINS[l])
    } else {
        (PMAXU[l], PMINU[l])
    };
    mov(a, 0, 1);
    a.sse_rr(max, 0, 2);
    mov(a, 4, 1);
    a.sse_rr(min, 4, 2);
    a.sse_rr(PSUB[l], 0, 4);
}

/// SQADD/UQADD/SQSUB/UQSUB: XMM1 op XMM2 -> XMM0, QC from the lanes of `bits`.
fn saturating(a: &mut Asm, op: u8, e: u32, bits: u32) {
    let l = lg(e);
    let add = matches!(op, ts::SQADD | ts::UQADD);
    let signed = matches!(op, ts::SQADD | ts::SQSUB);
    if e <= 16 {
        // The host's saturating form; QC where it differs from the wrapping one.
        let sat = match (add, signed) {
            (true, true) => PADDS[l],
            (true, false) => PADDUS[l],
            (false, true) => PSUBS[l],
            _ => PSUBUS[l],
        };
        mov(a, 0, 1);
        a.sse_rr(sat, 0, 2);
        mov(a, 4, 1);
        a.sse_rr(if add { PADD[l] } else { PSUB[l] }, 4, 2);
        a.sse_rr(PCMPEQ[l], 4, 0);
        a.sse_rr(PCMPEQD, 7, 7);
        a.sse_rr(PXOR, 4, 7);
        qc_if_any(a, 4, bits / 8);
        return;
    }
    // 32/64 bits: the wrapping result r, an overflow mask, and the saturated value.
    mov(a, 0, 1);
    a.sse_rr(if add { PADD[l] } else { PSUB[l] }, 0, 2);
    if signed {
        // Overflow: add (n ^ r) & (m ^ r), sub (n ^ m) & (n ^ r), sign bits.
        mov(a, 4, 1);
        a.sse_rr(PXOR, 4, 0);
        mov(a, 5, if add { 2 } else { 1 });
        a.sse_rr(PXOR, 5, if add { 0 } else { 2 });
        a.sse_rr(PAND, 4, 5);
        sign_mask(a, 4, e);
        // Saturated value: n < 0 ? MIN : MAX = (n >> (e-1)) ^ MAX.
        mov(a, 5, 1);
        sign_mask(a, 5, e);
        splat(a, 7, rep(e, u64::MAX >> (64 - e + 1)));
        a.sse_rr(PXOR, 5, 7);
        // r ^= (r ^ sat) & ovf
        a.sse_rr(PXOR, 5, 0);
        a.sse_rr(PAND, 5, 4);
        a.sse_rr(PXOR, 0, 5);
    } else {
        // Carry: n > r (add), borrow: m > n (sub), unsigned.
        let (x, y) = if add { (1, 0) } else { (2, 1) };
        if e == 32 {
            // x > y  <=>  max(x, y) != y
            mov(a, 4, x);
            a.sse_rr(PMAXU[2], 4, y);
            a.sse_rr(PCMPEQ[2], 4, y);
            a.sse_rr(PCMPEQD, 7, 7);
            a.sse_rr(PXOR, 4, 7);
        } else {
            splat(a, 7, 1u64 << 63);
            mov(a, 4, x);
            a.sse_rr(PXOR, 4, 7);
            mov(a, 5, y);
            a.sse_rr(PXOR, 5, 7);
            a.sse_rr(PCMPGT[3], 4, 5);
        }
        if add {
            a.sse_rr(POR, 0, 4);
        } else {
            mov(a, 5, 4);
            a.sse_rr(PANDN, 5, 0);
            mov(a, 0, 5);
        }
    }
    qc_if_any(a, 4, bits / 8);
}

/// XMM`x` = all ones in the `e`-bit (32 or 64) lanes whose sign bit is set.
fn sign_mask(a: &mut Asm, x: u8, e: u32) {
    if e == 64 {
        a.sse_rri(PSHUFD, x, x, 0xf5);
    }
    a.sse_shift(0x72, 4, x, 31);
}

/// XTN/SQXTN/UQXTN/SQXTUN: the wide lanes of XMM1 (2e bits) to the low 64 bits of XMM0.
/// QC counts the low `src_bytes` bytes of the source (16, or one lane's for the scalar
/// forms).
fn narrow(a: &mut Asm, op: u8, e: u32, src_bytes: u32) {
    let w = 2 * e;
    mov(a, 0, 1);
    if op == 0 {
        narrow_trunc(a, 0, w, 7);
        return;
    }
    // e = 8 or 16. UQXTN: unsigned min with the narrow maximum, then truncate;
    // SQXTN / SQXTUN: the host's signed packs.
    match (op, e) {
        (2, _) => {
            splat(a, 7, rep(w, (1u64 << e) - 1));
            a.sse_rr(PMINU[lg(w)], 0, 7);
            narrow_trunc(a, 0, w, 7);
        }
        (1, 8) => a.sse_rr(PACKSSWB, 0, 0),
        (1, _) => a.sse_rr(PACKSSDW, 0, 0),
        (_, 8) => a.sse_rr(PACKUSWB, 0, 0),
        _ => a.sse_rr(PACKUSDW, 0, 0),
    }
    // QC where the narrow value, extended back, differs from the source.
    mov(a, 4, 0);
    widen(a, 4, e, op == 1, false);
    a.sse_rr(PCMPEQ[lg(w)], 4, 1);
    a.sse_rr(PCMPEQD, 7, 7);
    a.sse_rr(PXOR, 4, 7);
    qc_if_any(a, 4, src_bytes);
}

/// Three-different (`e` the narrow size): Vn XMM1, Vm XMM2, Vd XMM3 -> XMM0.
fn three_diff(a: &mut Asm, op: u8, e: u32, part2: bool) {
    let w = 2 * e;
    let lw = lg(w);
    // Ops come in signed/unsigned pairs, signed first.
    let signed = op.is_multiple_of(2);
    match op {
        td::SQDMLAL..=td::SQDMULL => {
            // 2nm overflows only for MIN * MIN, which wraps to MIN and saturates to MAX.
            mov(a, 4, 1);
            widen(a, 4, e, true, part2);
            mov(a, 0, 2);
            widen(a, 0, e, true, part2);
            a.sse_rr(if e == 16 { PMULLD } else { PMULDQ }, 0, 4);
            a.sse_rr(PADD[lw], 0, 0);
            splat(a, 4, rep(w, 1u64 << (w - 1)));
            a.sse_rr(PCMPEQ[lw], 4, 0);
            a.sse_rr(PXOR, 0, 4);
            qc_if_any(a, 4, 16);
            if op != td::SQDMULL {
                // Vd +/- the product, saturating.
                mov(a, 2, 0);
                mov(a, 1, 3);
                let sop = if op == td::SQDMLAL {
                    ts::SQADD
                } else {
                    ts::SQSUB
                };
                saturating(a, sop, w, 128);
            }
        }
        td::PMULL => {
            // 8 x 8 -> 16-bit carry-less products of the (upper) halves.
            mov(a, 4, 1);
            widen(a, 4, 8, false, part2);
            widen(a, 2, 8, false, part2);
            clmul_lanes(a, 16);
        }
        td::ADDHN..=td::RSUBHN => {
            // Wide add/sub, (rounding,) the high halves, narrowed into Vd's half.
            let sub = op >= 10;
            mov(a, 0, 1);
            a.sse_rr(if sub { PSUB[lw] } else { PADD[lw] }, 0, 2);
            if op % 2 == 1 {
                splat(a, 7, rep(w, 1u64 << (e - 1)));
                a.sse_rr(PADD[lw], 0, 7);
            }
            lsr(a, 0, w, e, 7);
            narrow_trunc(a, 0, w, 7);
            if part2 {
                a.sse_rr(PUNPCKLQDQ, 3, 0);
                mov(a, 0, 3);
            } else {
                a.movq_xx(0, 0);
            }
        }
        td::SABAL..=td::UABDL => {
            // |n - m| fits the narrow size unsigned: compute it narrow, zero-extend.
            absdiff(a, e, signed);
            widen(a, 0, e, false, part2);
            if op <= td::SABAL + 1 {
                a.sse_rr(PADD[lw], 0, 3);
            }
        }
        td::SMLAL..=td::UMULL => {
            mov(a, 4, 1);
            widen(a, 4, e, signed, part2);
            mov(a, 5, 2);
            widen(a, 5, e, signed, part2);
            mov(a, 0, 4);
            match e {
                8 => a.sse_rr(PMULLW, 0, 5),
                16 => a.sse_rr(PMULLD, 0, 5),
                _ => a.sse_rr(if signed { PMULDQ } else { PMULUDQ }, 0, 5),
            }
            match op {
                16 | 17 => a.sse_rr(PADD[lw], 0, 3),
                18 | 19 => {
                    a.sse_rr(PSUB[lw], 3, 0);
                    mov(a, 0, 3);
                }
                _ => {}
            }
        }
        _ => {
            // SADDL/UADDL/SADDW/UADDW/SSUBL/USUBL/SSUBW/USUBW.
            let wide_n = matches!(op, 2 | 3 | 6 | 7);
            let sub = op >= 4;
            mov(a, 0, 1);
            if !wide_n {
                widen(a, 0, e, signed, part2);
            }
            mov(a, 4, 2);
            widen(a, 4, e, signed, part2);
            a.sse_rr(if sub { PSUB[lw] } else { PADD[lw] }, 0, 4);
        }
    }
}

/// Two-register misc: Vn XMM1 -> XMM0.
fn two_misc(a: &mut Asm, op: u8, e: u32, bits: u32) {
    let l = lg(e);
    match op {
        tm::RBIT => {
            // Each nibble reversed by table, the two swapped.
            let rev = |n: u64| ((n & 1) << 3) | ((n & 2) << 1) | ((n & 4) >> 1) | ((n & 8) >> 3);
            let table = |f: &dyn Fn(u64) -> u64| -> (u64, u64) {
                let (mut lo, mut hi) = (0u64, 0u64);
                for n in 0..8 {
                    lo |= f(n) << (8 * n);
                    hi |= f(n + 8) << (8 * n);
                }
                (lo, hi)
            };
            let (lo, hi) = table(&|n| rev(n) << 4);
            const128(a, 5, 7, lo, hi);
            mov(a, 0, 1);
            and_const(a, 0, 7, rep(8, 0x0f));
            a.sse_rr(PSHUFB, 5, 0); // low nibbles, reversed, on top
            let (lo, hi) = table(&rev);
            const128(a, 4, 7, lo, hi);
            mov(a, 0, 1);
            lsr(a, 0, 8, 4, 7);
            a.sse_rr(PSHUFB, 4, 0);
            mov(a, 0, 4);
            a.sse_rr(POR, 0, 5);
        }
        tm::CLZ | tm::CLS => {
            mov(a, 0, 1);
            if op == tm::CLS {
                // CLS(x) = CLZ(x ^ (x >> 1, arithmetic)) - 1.
                mov(a, 4, 1);
                asr(a, 4, e, 1, 7);
                a.sse_rr(PXOR, 0, 4);
            }
            clz(a, e);
            if op == tm::CLS {
                splat(a, 4, rep(e, 1));
                a.sse_rr(PSUB[l], 0, 4);
            }
        }
        tm::SUQADD | tm::USQADD => {
            // Vd (XMM2) + Vn (XMM1) with Vd biased by the sign bit: SUQADD is an unsigned
            // saturating add in that domain, USQADD a signed one; the bias removed after.
            let bias = rep(e, 1u64 << (e - 1));
            mov(a, 4, 1);
            mov(a, 1, 2);
            mov(a, 2, 4);
            splat(a, 4, bias);
            a.sse_rr(PXOR, 1, 4);
            let op = if op == tm::SUQADD {
                ts::UQADD
            } else {
                ts::SQADD
            };
            saturating(a, op, e, bits);
            splat(a, 4, bias);
            a.sse_rr(PXOR, 0, 4);
        }
        tm::SQABS | tm::SQNEG => {
            // ABS / NEG, and the one overflowing input (MIN) gives MAX, with QC.
            if op == tm::SQNEG {
                a.sse_rr(PXOR, 0, 0);
                a.sse_rr(PSUB[l], 0, 1);
            } else if e < 64 {
                a.sse_rr(PABS[l], 0, 1);
            } else {
                mov(a, 4, 1);
                sign_mask(a, 4, 64);
                mov(a, 0, 1);
                a.sse_rr(PXOR, 0, 4);
                a.sse_rr(PSUB[3], 0, 4);
            }
            splat(a, 4, rep(e, 1u64 << (e - 1)));
            a.sse_rr(PCMPEQ[l], 4, 1);
            a.sse_rr(PXOR, 0, 4);
            qc_if_any(a, 4, bits / 8);
        }
        tm::CNT => {
            // Per-byte popcount: a nibble table lookup for each half.
            const128(a, 5, 7, 0x0302_0201_0201_0100, 0x0403_0302_0302_0201);
            mov(a, 0, 1);
            and_const(a, 0, 7, rep(8, 0x0f));
            mov(a, 4, 5);
            a.sse_rr(PSHUFB, 4, 0);
            mov(a, 0, 1);
            lsr(a, 0, 8, 4, 7);
            a.sse_rr(PSHUFB, 5, 0);
            mov(a, 0, 4);
            a.sse_rr(PADD[0], 0, 5);
        }
        tm::ABS if e < 64 => a.sse_rr(PABS[l], 0, 1),
        tm::ABS => {
            // (x ^ s) - s with s the sign mask.
            mov(a, 4, 1);
            sign_mask(a, 4, 64);
            mov(a, 0, 1);
            a.sse_rr(PXOR, 0, 4);
            a.sse_rr(PSUB[3], 0, 4);
        }
        tm::NEG => {
            a.sse_rr(PXOR, 0, 0);
            a.sse_rr(PSUB[l], 0, 1);
        }
        _ => {
            // Compares against zero: GT0 = x > 0, LT0 = 0 > x, GE0 = !LT0, LE0 = !GT0.
            let gt = matches!(op, tm::CMGT0 | tm::CMLE0);
            if gt {
                mov(a, 0, 1);
                a.sse_rr(PXOR, 4, 4);
                a.sse_rr(PCMPGT[l], 0, 4);
            } else {
                a.sse_rr(PXOR, 0, 0);
                a.sse_rr(PCMPGT[l], 0, 1);
            }
            if matches!(op, tm::CMGE0 | tm::CMLE0) {
                a.sse_rr(PCMPEQD, 4, 4);
                a.sse_rr(PXOR, 0, 4);
            }
        }
    }
}

/// XMM0 = the leading zero count of each `e`-bit lane of XMM0 (`e` < 64; clobbers
/// XMM4, XMM5, XMM7): bytes by nibble table, wider lanes from their halves
/// (`hi == h ? h + lo : hi`).
fn clz(a: &mut Asm, e: u32) {
    const128(a, 5, 7, 0x0101_0101_0202_0304, 0);
    mov(a, 4, 0);
    lsr(a, 4, 8, 4, 7); // high nibbles
    and_const(a, 0, 7, rep(8, 0x0f));
    mov(a, 7, 5);
    a.sse_rr(PSHUFB, 7, 0); // clz4(low)
    a.sse_rr(PSHUFB, 5, 4); // clz4(high)
    a.sse_rr(PXOR, 0, 0);
    a.sse_rr(PCMPEQB, 4, 0); // high nibble zero
    a.sse_rr(PAND, 7, 4);
    a.sse_rr(PADD[0], 5, 7);
    mov(a, 0, 5);
    let mut h = 8;
    while h < e {
        let w = 2 * h;
        // XMM4 = hi half's count, XMM0 = lo half's count.
        mov(a, 4, 0);
        lsr(a, 4, w, h, 7);
        and_const(a, 0, 7, rep(w, (1u64 << h) - 1));
        splat(a, 5, rep(w, u64::from(h)));
        a.sse_rr(PCMPEQ[lg(w)], 5, 4);
        a.sse_rr(PAND, 0, 5);
        a.sse_rr(PADD[lg(w)], 0, 4);
        h = w;
    }
}

/// SADDLP/UADDLP/SADALP/UADALP: pairs of `e`-bit lanes of XMM1 summed into 2e bits,
/// plus Vd (XMM2) when `acc`.
fn addlp(a: &mut Asm, signed: bool, acc: bool, e: u32) {
    let lw = lg(2 * e);
    match (e, signed) {
        (8, false) => {
            mov(a, 0, 1);
            splat(a, 4, rep(8, 1));
            a.sse_rr(PMADDUBSW, 0, 4);
        }
        (8, true) => {
            splat(a, 0, rep(8, 1));
            a.sse_rr(PMADDUBSW, 0, 1);
        }
        (16, true) => {
            mov(a, 0, 1);
            splat(a, 4, rep(16, 1));
            a.sse_rr(PMADDWD, 0, 4);
        }
        (16, false) => {
            // Biased to signed, then 2 * 0x8000 added back.
            mov(a, 0, 1);
            splat(a, 4, rep(16, 0x8000));
            a.sse_rr(PXOR, 0, 4);
            splat(a, 4, rep(16, 1));
            a.sse_rr(PMADDWD, 0, 4);
            splat(a, 4, rep(32, 0x1_0000));
            a.sse_rr(PADD[2], 0, 4);
        }
        _ => {
            // Even and odd 32-bit lanes extended to 64 bits, added.
            mov(a, 0, 1);
            a.sse_shift(0x73, 6, 0, 32);
            mov(a, 4, 1);
            if signed {
                asr(a, 0, 64, 32, 7);
                asr(a, 4, 64, 32, 7);
            } else {
                lsr(a, 0, 64, 32, 7);
                lsr(a, 4, 64, 32, 7);
            }
            a.sse_rr(PADD[3], 0, 4);
        }
    }
    if acc {
        a.sse_rr(PADD[lw], 0, 2);
    }
}

/// Across-lanes reductions of the `bits` low bits of XMM1 into lane 0 of XMM0, the rest
/// zero.
fn across(a: &mut Asm, op: u8, e: u32, bits: u32) {
    mov(a, 0, 1);
    if bits == 64 {
        a.movq_xx(0, 0);
    }
    let (w, f): (u32, &[u8]) = match op {
        0 => (e, PADD[lg(e)]),
        1 | 2 => {
            // SADDLV/UADDLV: widen both halves, add them, reduce at 2e.
            let signed = op == 1;
            mov(a, 4, 0);
            widen(a, 0, e, signed, false);
            if bits == 128 {
                widen(a, 4, e, signed, true);
                a.sse_rr(PADD[lg(2 * e)], 0, 4);
            }
            (2 * e, PADD[lg(2 * e)])
        }
        3 => (e, PMAXS[lg(e)]),
        4 => (e, PMAXU[lg(e)]),
        5 => (e, PMINS[lg(e)]),
        _ => (e, PMINU[lg(e)]),
    };
    let wide = matches!(op, 1 | 2);
    // The values fill `span` bits of XMM0 (all of it once widened); lane 0 folds in
    // only lanes below `span`, so the zeroed upper half of a 64-bit vector never
    // takes part.
    let mut span = if wide { 128 } else { bits };
    while span > w {
        span /= 2;
        mov(a, 4, 0);
        a.sse_shift(0x73, 3, 4, (span / 8) as u8);
        a.sse_rr(f, 0, 4);
    }
    // Lane 0 only.
    a.movq_rx(R::RAX, 0);
    match w {
        8 => a.movzx(1, R::RAX, R::RAX),
        16 => a.movzx(2, R::RAX, R::RAX),
        32 => a.mov_rr(false, R::RAX, R::RAX),
        _ => {}
    }
    a.movq_xr(0, R::RAX);
}

/// ZIP1/ZIP2/UZP1/UZP2/TRN1/TRN2 of Vn (XMM1), Vm (XMM2).
fn permute(a: &mut Asm, op: u8, e: u32, bits: u32) {
    let l = lg(e);
    match op {
        0 | 1 => {
            mov(a, 0, 1);
            if bits == 128 {
                a.sse_rr(if op == 0 { PUNPCKL[l] } else { PUNPCKH[l] }, 0, 2);
            } else {
                // Low halves interleaved: ZIP1 is the low 64 bits, ZIP2 the high.
                a.sse_rr(PUNPCKL[l], 0, 2);
                if op == 1 {
                    a.sse_rri(PSHUFD, 0, 0, 0xee);
                }
            }
        }
        2 | 3 => {
            if bits == 128 {
                if e == 64 {
                    mov(a, 0, 1);
                    a.sse_rr(if op == 2 { PUNPCKLQDQ } else { PUNPCKHQDQ }, 0, 2);
                } else {
                    mov(a, 4, 1);
                    deinterleave(a, 4, e, 0, 7);
                    mov(a, 5, 2);
                    deinterleave(a, 5, e, 0, 7);
                    mov(a, 0, 4);
                    a.sse_rr(if op == 2 { PUNPCKLQDQ } else { PUNPCKHQDQ }, 0, 5);
                }
            } else {
                mov(a, 4, 1);
                a.sse_rr(PUNPCKLQDQ, 4, 2);
                deinterleave(a, 4, e, 0, 7);
                mov(a, 0, 4);
                if op == 3 {
                    a.sse_rri(PSHUFD, 0, 0, 0xee);
                }
            }
        }
        _ => {
            // TRN1: n's even elements, m's even elements moved up one;
            // TRN2: n's odd elements moved down one, m's odd elements.
            if e == 64 {
                mov(a, 0, 1);
                a.sse_rr(if op == 4 { PUNPCKLQDQ } else { PUNPCKHQDQ }, 0, 2);
                return;
            }
            let even = rep(2 * e, (1u64 << e) - 1);
            let (keep, moved) = if op == 4 { (1, 2) } else { (2, 1) };
            mov(a, 0, keep);
            and_const(a, 0, 7, if op == 4 { even } else { !even });
            mov(a, 4, moved);
            if op == 4 {
                shl(a, 4, 2 * e, e, 7);
            } else {
                lsr(a, 4, 2 * e, e, 7);
            }
            a.sse_rr(POR, 0, 4);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uzp_masks() {
        let (lo, hi) = uzp_mask(8);
        assert_eq!(lo.to_le_bytes(), [0, 2, 4, 6, 8, 10, 12, 14]);
        assert_eq!(hi.to_le_bytes(), [1, 3, 5, 7, 9, 11, 13, 15]);
        let (lo, hi) = uzp_mask(16);
        assert_eq!(lo.to_le_bytes(), [0, 1, 4, 5, 8, 9, 12, 13]);
        assert_eq!(hi.to_le_bytes(), [2, 3, 6, 7, 10, 11, 14, 15]);
    }

    #[test]
    fn patterns() {
        assert_eq!(rep(8, 0x1f), 0x1f1f_1f1f_1f1f_1f1f);
        assert_eq!(rep(16, 0x8000), 0x8000_8000_8000_8000);
        assert_eq!(rep(32, u64::MAX), u64::MAX);
        assert_eq!(rep(64, 5), 5);
    }
}

/// Every inline form against the interpreter's helper, on random and edge operands
/// run on this host.
#[cfg(test)]
mod exec_tests {
    use super::super::host_exec::{Exec, Rng};
    use super::*;
    use a64::simd::lower as sl;

    fn all_features() -> Features {
        Features {
            lzcnt: true,
            popcnt: true,
            aes: true,
            sha: true,
            sse41: true,
            sse42: true,
            flag_pext: true,
            bmi2: true,
            bmi1: true,
            host_fp: true,
            fma: false,
            pclmul: true,
        }
    }

    fn pack(op: u8, esize: u32, lanes: u32, part2: bool, elem: bool, sh: u32, idx2: u32) -> u64 {
        u64::from(op)
            | (u64::from(esize) << 8)
            | (u64::from(lanes) << 16)
            | (u64::from(part2) << 24)
            | (u64::from(elem) << 25)
            | (u64::from(sh) << 32)
            | (u64::from(idx2) << 40)
    }

    /// Checks every immediate of `h` that `inline` accepts among `imms`.
    fn check(h: &'static Helper, imms: impl IntoIterator<Item = u64>, iters: u32) -> u32 {
        let f = all_features();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut n = 0;
        for imm in imms {
            if !inline(h, imm, f) {
                continue;
            }
            n += 1;
            let ex = Exec::new(|a| {
                for k in 0..3u8 {
                    a.movdqu_load(k + 1, m(R::RDI, 16 * i32::from(k)));
                }
                emit(a, h.name, imm);
                a.movdqu_store(m(R::RDI, 48), 0);
            });
            let es = SImm::of(imm).esize;
            for it in 0..iters {
                let args = [rng.vec(es), rng.vec(es), rng.vec(es)];
                let mut io = [0u8; 64];
                for k in 0..3 {
                    io[16 * k..16 * k + 16].copy_from_slice(&args[k].to_le_bytes());
                }
                let mut c1 = a64::state::Cpu::default();
                let mut c2 = a64::state::Cpu::default();
                let want = (h.func)(&mut c1, args, imm);
                ex.run(&mut io, &mut c2);
                let got = u128::from_le_bytes(io[48..64].try_into().unwrap());
                assert_eq!(
                    (got, c2.fpsr),
                    (want, c1.fpsr),
                    "{} imm {imm:#x} ({:?}) iter {it} args {args:x?}: got {got:#x}, want {want:#x}",
                    h.name,
                    SImm::of(imm)
                );
            }
        }
        n
    }

    const ES: [u32; 4] = [8, 16, 32, 64];

    /// (esize, lanes) of the 64- and 128-bit vectors and the 64-bit scalar.
    fn shapes() -> impl Iterator<Item = (u32, u32)> {
        ES.into_iter()
            .flat_map(|e| [(e, 1), (e, 64 / e), (e, 128 / e)])
    }

    #[test]
    fn shifts_by_immediate() {
        let imms = shapes().flat_map(|(e, l)| {
            (0..=13u8).flat_map(move |op| {
                let (lo, hi) = if matches!(op, 0 | 10..=13) {
                    (0, e - 1)
                } else {
                    (1, e)
                };
                (lo..=hi).map(move |s| pack(op, e, l, false, false, s, 0))
            })
        });
        assert!(check(&sl::SHIFT, imms, 60) > 1000);
    }

    #[test]
    fn long_and_narrow_shifts() {
        let long = [8, 16, 32].into_iter().flat_map(|e| {
            (0..2u8).flat_map(move |op| {
                (0..2).flat_map(move |p| (0..e).map(move |s| pack(op, e, 0, p == 1, false, s, 0)))
            })
        });
        assert!(check(&sl::SHIFT_LONG, long, 40) > 100);
        let shll = [8, 16, 32]
            .into_iter()
            .flat_map(|e| (0..2).map(move |p| pack(0, e, 0, p == 1, false, 0, 0)));
        assert_eq!(check(&sl::SHLL, shll, 200), 6);
        let narrow = [8, 16, 32].into_iter().flat_map(|e| {
            (0..8u8).flat_map(move |op| {
                (0..2).flat_map(move |p| {
                    [1, 64 / e].into_iter().flat_map(move |l| {
                        (1..=e).map(move |s| pack(op, e, l, p == 1, false, s, 0))
                    })
                })
            })
        });
        assert!(check(&sl::SHIFT_NARROW, narrow, 40) > 100);
        let xtn = [8, 16, 32].into_iter().flat_map(|e| {
            (0..4u8)
                .flat_map(move |op| (0..2).map(move |p| pack(op, e, 64 / e, p == 1, false, 0, 0)))
                .chain((1..4u8).map(move |op| pack(op, e, 1, false, false, 0, 0)))
        });
        assert_eq!(check(&sl::NARROW, xtn, 400), 24);
    }

    #[test]
    fn three_same() {
        let imms = shapes().flat_map(|(e, l)| {
            (0..=46u8).flat_map(move |op| {
                let plain = core::iter::once(pack(op, e, l, false, false, 0, 0));
                let by_elem = (0..128 / e).map(move |x| pack(op, e, l, false, true, x, 0));
                plain.chain(by_elem)
            })
        });
        assert!(check(&sl::THREE_SAME, imms, 300) > 100);
    }

    #[test]
    fn three_diff() {
        let imms = [8, 16, 32].into_iter().flat_map(|e| {
            (0..=25u8).flat_map(move |op| {
                (0..2).flat_map(move |p| {
                    let plain = core::iter::once(pack(op, e, 64 / e, p == 1, false, 0, 0));
                    let by_elem =
                        (0..128 / e).map(move |x| pack(op, e, 64 / e, p == 1, true, x, 0));
                    plain.chain(by_elem)
                })
            })
        });
        assert!(check(&sl::THREE_DIFF, imms, 200) > 100);
    }

    #[test]
    fn misc_reductions_permutes_tables() {
        let misc = shapes()
            .flat_map(|(e, l)| (0..=18u8).map(move |op| pack(op, e, l, false, false, 0, 0)));
        assert!(check(&sl::TWO_MISC, misc, 400) > 20);
        let addlp = [8, 16, 32].into_iter().flat_map(|e| {
            (0..4u8)
                .flat_map(move |op| [32 / e, 64 / e].map(|l| pack(op, e, l, false, false, 0, 0)))
        });
        assert_eq!(check(&sl::ADDLP, addlp, 400), 24);
        let across =
            shapes().flat_map(|(e, l)| (0..7u8).map(move |op| pack(op, e, l, false, false, 0, 0)));
        assert!(check(&sl::ACROSS, across, 400) > 20);
        let perm =
            shapes().flat_map(|(e, l)| (0..6u8).map(move |op| pack(op, e, l, false, false, 0, 0)));
        assert!(check(&sl::PERMUTE, perm, 400) > 20);
        let ld3: Vec<u64> = shapes()
            .flat_map(|(e, l)| (0..3).map(move |k| pack(0, e, l, false, false, k, 0)))
            .collect();
        assert_eq!(check(&sl::DEINTERLEAVE3, ld3.clone(), 100), 21);
        assert_eq!(check(&sl::INTERLEAVE3, ld3, 100), 21);
        let tbl = [8, 16]
            .into_iter()
            .flat_map(|l| (0..4).map(move |k| pack(0, 8, l, false, false, k, 0)));
        assert_eq!(check(&sl::TBL_STEP, tbl, 400), 8);
    }
}
