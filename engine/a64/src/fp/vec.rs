//! Element-wise, pairwise and across-lanes floating-point operations on 128-bit vectors
//! (lane 0 in the low bits), built on the scalar library. These are what the AdvSIMD
//! floating-point instructions compute; the scalar FP instructions use lane 0.

use super::{
    abd, add, compare_eq, compare_ge_gt, convert, div, from_fixed, max, maxnm, min, minnm, mul,
    mul_add, mulx, recpe, recps, recpx, round_int, rsqrte, rsqrts, sqrt, sub, to_fixed, Fmt,
    Rounding,
};

/// Two-operand element operations (vector and scalar three-same FP).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Op2 {
    /// FADD.
    Add,
    /// FSUB.
    Sub,
    /// FMUL.
    Mul,
    /// FDIV.
    Div,
    /// FMAX.
    Max,
    /// FMIN.
    Min,
    /// FMAXNM.
    MaxNm,
    /// FMINNM.
    MinNm,
    /// FMULX.
    Mulx,
    /// FABD.
    Abd,
    /// FRECPS.
    Recps,
    /// FRSQRTS.
    Rsqrts,
    /// FNMUL (scalar only): -(a * b).
    Nmul,
    /// FCMEQ: all ones if a == b.
    CmEq,
    /// FCMGE: all ones if a >= b.
    CmGe,
    /// FCMGT: all ones if a > b.
    CmGt,
    /// FACGE: all ones if |a| >= |b|.
    AcGe,
    /// FACGT: all ones if |a| > |b|.
    AcGt,
    /// FMLA: acc + a * b (fused; `acc` is the third operand).
    Mla,
    /// FMLS: acc + (-a) * b (fused).
    Mls,
}

impl Op2 {
    /// All values, indexed by their discriminant.
    pub const ALL: [Op2; 20] = [
        Op2::Add,
        Op2::Sub,
        Op2::Mul,
        Op2::Div,
        Op2::Max,
        Op2::Min,
        Op2::MaxNm,
        Op2::MinNm,
        Op2::Mulx,
        Op2::Abd,
        Op2::Recps,
        Op2::Rsqrts,
        Op2::Nmul,
        Op2::CmEq,
        Op2::CmGe,
        Op2::CmGt,
        Op2::AcGe,
        Op2::AcGt,
        Op2::Mla,
        Op2::Mls,
    ];
    /// The op with discriminant `n`.
    pub fn from_u8(n: u8) -> Option<Op2> {
        Self::ALL.get(n as usize).copied()
    }
}

/// One-operand element operations (vector and scalar two-reg misc FP).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum Op1 {
    /// FABS.
    Abs,
    /// FNEG.
    Neg,
    /// FSQRT.
    Sqrt,
    /// FRINTN.
    RintN,
    /// FRINTA.
    RintA,
    /// FRINTP.
    RintP,
    /// FRINTM.
    RintM,
    /// FRINTZ.
    RintZ,
    /// FRINTX.
    RintX,
    /// FRINTI.
    RintI,
    /// FRECPE.
    Recpe,
    /// FRSQRTE.
    Rsqrte,
    /// FRECPX.
    Recpx,
    /// FCMEQ #0.0.
    CmEq0,
    /// FCMGE #0.0.
    CmGe0,
    /// FCMGT #0.0.
    CmGt0,
    /// FCMLE #0.0.
    CmLe0,
    /// FCMLT #0.0.
    CmLt0,
}

impl Op1 {
    /// All values, indexed by their discriminant.
    pub const ALL: [Op1; 18] = [
        Op1::Abs,
        Op1::Neg,
        Op1::Sqrt,
        Op1::RintN,
        Op1::RintA,
        Op1::RintP,
        Op1::RintM,
        Op1::RintZ,
        Op1::RintX,
        Op1::RintI,
        Op1::Recpe,
        Op1::Rsqrte,
        Op1::Recpx,
        Op1::CmEq0,
        Op1::CmGe0,
        Op1::CmGt0,
        Op1::CmLe0,
        Op1::CmLt0,
    ];
    /// The op with discriminant `n`.
    pub fn from_u8(n: u8) -> Option<Op1> {
        Self::ALL.get(n as usize).copied()
    }
}

/// Apply a two-operand op to scalars (`c` is the accumulator for FMLA/FMLS).
pub fn op2(op: Op2, f: Fmt, a: u64, b: u64, c: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let ones = f.mask();
    match op {
        Op2::Add => add(f, a, b, fpcr, fpsr),
        Op2::Sub => sub(f, a, b, fpcr, fpsr),
        Op2::Mul => mul(f, a, b, fpcr, fpsr),
        Op2::Div => div(f, a, b, fpcr, fpsr),
        Op2::Max => max(f, a, b, fpcr, fpsr),
        Op2::Min => min(f, a, b, fpcr, fpsr),
        Op2::MaxNm => maxnm(f, a, b, fpcr, fpsr),
        Op2::MinNm => minnm(f, a, b, fpcr, fpsr),
        Op2::Mulx => mulx(f, a, b, fpcr, fpsr),
        Op2::Abd => abd(f, a, b, fpcr, fpsr),
        Op2::Recps => recps(f, a, b, fpcr, fpsr),
        Op2::Rsqrts => rsqrts(f, a, b, fpcr, fpsr),
        Op2::Nmul => f.neg(mul(f, a, b, fpcr, fpsr)),
        Op2::CmEq => ones * compare_eq(f, a, b, fpcr, fpsr) as u64,
        Op2::CmGe => ones * compare_ge_gt(f, a, b, false, fpcr, fpsr) as u64,
        Op2::CmGt => ones * compare_ge_gt(f, a, b, true, fpcr, fpsr) as u64,
        Op2::AcGe => ones * compare_ge_gt(f, f.abs(a), f.abs(b), false, fpcr, fpsr) as u64,
        Op2::AcGt => ones * compare_ge_gt(f, f.abs(a), f.abs(b), true, fpcr, fpsr) as u64,
        Op2::Mla => mul_add(f, c, a, b, fpcr, fpsr),
        Op2::Mls => mul_add(f, c, f.neg(a), b, fpcr, fpsr),
    }
}

/// Apply a one-operand op to a scalar.
pub fn op1(op: Op1, f: Fmt, a: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let ones = f.mask();
    let cur = Rounding::from_fpcr(fpcr);
    match op {
        Op1::Abs => f.abs(a),
        Op1::Neg => f.neg(a),
        Op1::Sqrt => sqrt(f, a, fpcr, fpsr),
        Op1::RintN => round_int(f, a, Rounding::TieEven, false, fpcr, fpsr),
        Op1::RintA => round_int(f, a, Rounding::TieAway, false, fpcr, fpsr),
        Op1::RintP => round_int(f, a, Rounding::PosInf, false, fpcr, fpsr),
        Op1::RintM => round_int(f, a, Rounding::NegInf, false, fpcr, fpsr),
        Op1::RintZ => round_int(f, a, Rounding::Zero, false, fpcr, fpsr),
        Op1::RintX => round_int(f, a, cur, true, fpcr, fpsr),
        Op1::RintI => round_int(f, a, cur, false, fpcr, fpsr),
        Op1::Recpe => recpe(f, a, fpcr, fpsr),
        Op1::Rsqrte => rsqrte(f, a, fpcr, fpsr),
        Op1::Recpx => recpx(f, a, fpcr, fpsr),
        Op1::CmEq0 => ones * compare_eq(f, a, 0, fpcr, fpsr) as u64,
        Op1::CmGe0 => ones * compare_ge_gt(f, a, 0, false, fpcr, fpsr) as u64,
        Op1::CmGt0 => ones * compare_ge_gt(f, a, 0, true, fpcr, fpsr) as u64,
        Op1::CmLe0 => ones * compare_ge_gt(f, 0, a, false, fpcr, fpsr) as u64,
        Op1::CmLt0 => ones * compare_ge_gt(f, 0, a, true, fpcr, fpsr) as u64,
    }
}

/// Lane `i` of `v` for elements of format `f`.
#[inline]
pub fn lane(v: u128, f: Fmt, i: usize) -> u64 {
    (v >> (i as u32 * f.bits())) as u64 & f.mask()
}

/// `v` with lane `i` replaced by `x`.
#[inline]
pub fn set_lane(v: u128, f: Fmt, i: usize, x: u64) -> u128 {
    let sh = i as u32 * f.bits();
    let m = (f.mask() as u128) << sh;
    (v & !m) | (((x & f.mask()) as u128) << sh)
}

/// Number of lanes of format `f` in `bytes` (8 or 16, or the element size for scalars).
#[inline]
pub fn lanes(f: Fmt, bytes: u32) -> usize {
    (bytes * 8 / f.bits()) as usize
}

/// Element-wise two-operand op over the low `bytes` of the vectors (upper bytes zero).
/// `c` is the accumulator vector of FMLA/FMLS.
#[allow(clippy::too_many_arguments)]
pub fn map2(
    op: Op2,
    f: Fmt,
    bytes: u32,
    a: u128,
    b: u128,
    c: u128,
    fpcr: u32,
    fpsr: &mut u32,
) -> u128 {
    let mut r = 0;
    for i in 0..lanes(f, bytes) {
        let x = op2(
            op,
            f,
            lane(a, f, i),
            lane(b, f, i),
            lane(c, f, i),
            fpcr,
            fpsr,
        );
        r = set_lane(r, f, i, x);
    }
    r
}

/// Element-wise op with the second operand the single element `b` (by-element forms).
#[allow(clippy::too_many_arguments)]
pub fn map2_elem(
    op: Op2,
    f: Fmt,
    bytes: u32,
    a: u128,
    b: u64,
    c: u128,
    fpcr: u32,
    fpsr: &mut u32,
) -> u128 {
    let mut r = 0;
    for i in 0..lanes(f, bytes) {
        let x = op2(op, f, lane(a, f, i), b, lane(c, f, i), fpcr, fpsr);
        r = set_lane(r, f, i, x);
    }
    r
}

/// Element-wise one-operand op over the low `bytes` of `a`.
pub fn map1(op: Op1, f: Fmt, bytes: u32, a: u128, fpcr: u32, fpsr: &mut u32) -> u128 {
    let mut r = 0;
    for i in 0..lanes(f, bytes) {
        r = set_lane(r, f, i, op1(op, f, lane(a, f, i), fpcr, fpsr));
    }
    r
}

/// Pairwise op (FADDP, FMAXP, ... vector): lanes of the concatenation `b:a`, pair by pair.
pub fn pairwise(op: Op2, f: Fmt, bytes: u32, a: u128, b: u128, fpcr: u32, fpsr: &mut u32) -> u128 {
    let n = lanes(f, bytes);
    let get = |i: usize| {
        if i < n {
            lane(a, f, i)
        } else {
            lane(b, f, i - n)
        }
    };
    let mut r = 0;
    for i in 0..n {
        let x = op2(op, f, get(2 * i), get(2 * i + 1), 0, fpcr, fpsr);
        r = set_lane(r, f, i, x);
    }
    r
}

/// Across-lanes reduction (FMAXV, FMINV, FMAXNMV, FMINNMV) in Arm's `Reduce` order:
/// recursive halves, op(reduce(low half), reduce(high half)).
pub fn reduce(op: Op2, f: Fmt, bytes: u32, a: u128, fpcr: u32, fpsr: &mut u32) -> u64 {
    fn go(op: Op2, f: Fmt, a: u128, lo: usize, n: usize, fpcr: u32, fpsr: &mut u32) -> u64 {
        if n == 1 {
            return lane(a, f, lo);
        }
        let h = n / 2;
        let x = go(op, f, a, lo, h, fpcr, fpsr);
        let y = go(op, f, a, lo + h, h, fpcr, fpsr);
        op2(op, f, x, y, 0, fpcr, fpsr)
    }
    go(op, f, a, 0, lanes(f, bytes), fpcr, fpsr)
}

/// FCVTL(2): widen the lanes of the low (or, with `upper`, high) 64 bits of `a` from `from`.
pub fn widen(from: Fmt, upper: bool, a: u128, fpcr: u32, fpsr: &mut u32) -> u128 {
    let to = if from == Fmt::H { Fmt::S } else { Fmt::D };
    let src = if upper { a >> 64 } else { a };
    let mut r = 0;
    for i in 0..lanes(to, 16) {
        let x = convert(
            from,
            to,
            lane(src, from, i),
            Rounding::from_fpcr(fpcr),
            fpcr,
            fpsr,
        );
        r = set_lane(r, to, i, x);
    }
    r
}

/// FCVTN(2) / FCVTXN(2): narrow the lanes of `a` to format `to`, into the low 64 bits
/// (upper half zero) or, with `upper`, into the high 64 bits of `d` (low half kept).
pub fn narrow(
    to: Fmt,
    upper: bool,
    rm: Rounding,
    a: u128,
    d: u128,
    fpcr: u32,
    fpsr: &mut u32,
) -> u128 {
    let from = if to == Fmt::H { Fmt::S } else { Fmt::D };
    let mut r: u128 = 0;
    for i in 0..lanes(from, 16) {
        let x = convert(from, to, lane(a, from, i), rm, fpcr, fpsr);
        r = set_lane(r, to, i, x);
    }
    if upper {
        (d & u64::MAX as u128) | r << 64
    } else {
        r
    }
}

/// Vector FCVT{N,A,P,M,Z}{S,U} (with `fbits` for the fixed-point FCVTZ forms): lanes of
/// format `f` to integers of the same width.
#[allow(clippy::too_many_arguments)]
pub fn to_int_lanes(
    f: Fmt,
    bytes: u32,
    a: u128,
    fbits: u32,
    unsigned: bool,
    rm: Rounding,
    fpcr: u32,
    fpsr: &mut u32,
) -> u128 {
    let mut r = 0;
    for i in 0..lanes(f, bytes) {
        let x = to_fixed(f, lane(a, f, i), fbits, unsigned, f.bits(), rm, fpcr, fpsr);
        r = set_lane(r, f, i, x);
    }
    r
}

/// Vector SCVTF/UCVTF (with `fbits` for the fixed-point forms): integer lanes to format `f`.
pub fn from_int_lanes(
    f: Fmt,
    bytes: u32,
    a: u128,
    fbits: u32,
    unsigned: bool,
    fpcr: u32,
    fpsr: &mut u32,
) -> u128 {
    let mut r = 0;
    let rm = Rounding::from_fpcr(fpcr);
    for i in 0..lanes(f, bytes) {
        let x = from_fixed(f, lane(a, f, i), fbits, unsigned, f.bits(), rm, fpcr, fpsr);
        r = set_lane(r, f, i, x);
    }
    r
}

/// `VFPExpandImm`: the FMOV (scalar, immediate) constant for imm8 in format `f`.
pub fn expand_imm(f: Fmt, imm8: u8) -> u64 {
    let e = f.ebits();
    let fb = f.fbits();
    let sign = (imm8 >> 7) as u64 & 1;
    let b6 = (imm8 >> 6) as u64 & 1;
    let exp = ((b6 ^ 1) << (e - 1))
        | (if b6 != 0 { (1u64 << (e - 3)) - 1 } else { 0 } << 2)
        | ((imm8 >> 4) as u64 & 3);
    let frac = ((imm8 & 15) as u64) << (fb - 4);
    sign << (f.bits() - 1) | exp << fb | frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_imm_values() {
        assert_eq!(expand_imm(Fmt::D, 0x70), 1.0f64.to_bits());
        assert_eq!(expand_imm(Fmt::S, 0x00), 2.0f32.to_bits() as u64);
        assert_eq!(expand_imm(Fmt::D, 0xf0), (-1.0f64).to_bits());
        assert_eq!(expand_imm(Fmt::S, 0x60), 0.5f32.to_bits() as u64);
        assert_eq!(expand_imm(Fmt::H, 0x70), 0x3c00);
        assert_eq!(expand_imm(Fmt::D, 0x7f), 1.9375f64.to_bits());
        assert_eq!(expand_imm(Fmt::D, 0x3f), 31.0f64.to_bits());
        assert_eq!(expand_imm(Fmt::S, 0x40), 0.125f32.to_bits() as u64);
    }

    #[test]
    fn reduce_and_pairwise_order() {
        let f = Fmt::S;
        let v = |xs: [f32; 4]| -> u128 {
            xs.iter()
                .enumerate()
                .fold(0u128, |acc, (i, x)| set_lane(acc, f, i, x.to_bits() as u64))
        };
        let mut fpsr = 0;
        let a = v([1.0, 5.0, -2.0, 3.0]);
        assert_eq!(
            reduce(Op2::Max, f, 16, a, 0, &mut fpsr),
            5.0f32.to_bits() as u64
        );
        assert_eq!(
            reduce(Op2::Min, f, 16, a, 0, &mut fpsr),
            (-2.0f32).to_bits() as u64
        );
        let b = v([10.0, 20.0, 30.0, 40.0]);
        assert_eq!(
            pairwise(Op2::Add, f, 16, a, b, 0, &mut fpsr),
            v([6.0, 1.0, 30.0, 70.0])
        );
        assert_eq!(fpsr, 0);
    }
}
