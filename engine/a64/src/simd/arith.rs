//! Integer arithmetic: three registers of the same type, three different types
//! (widening / narrowing), by-element helpers, and the scalar forms of those groups.

use super::{build, elem, ival, mask, sat_s, sat_u, sext, trunc};

/// AdvSIMD "three same" integer and bitwise operations (vector and scalar forms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreeSame {
    Add,
    Sub,
    Mul,
    Mla,
    Mls,
    Sqadd,
    Uqadd,
    Sqsub,
    Uqsub,
    Shadd,
    Uhadd,
    Srhadd,
    Urhadd,
    Shsub,
    Uhsub,
    Smax,
    Umax,
    Smin,
    Umin,
    Sabd,
    Uabd,
    Saba,
    Uaba,
    Cmeq,
    Cmge,
    Cmgt,
    Cmhi,
    Cmhs,
    Cmtst,
    Sshl,
    Ushl,
    Srshl,
    Urshl,
    Sqshl,
    Uqshl,
    Sqrshl,
    Uqrshl,
    Sqdmulh,
    Sqrdmulh,
    /// SQRDMLAH (FEAT_RDM).
    Sqrdmlah,
    /// SQRDMLSH (FEAT_RDM).
    Sqrdmlsh,
    Pmul,
    /// Pairwise forms: element `i` of the result combines elements `2i` and `2i+1`
    /// of the concatenation `Vm:Vn`.
    Addp,
    Smaxp,
    Umaxp,
    Sminp,
    Uminp,
    And,
    Bic,
    Orr,
    Orn,
    Eor,
    Bsl,
    Bit,
    Bif,
}

/// Shift of `a` (already extended) by the signed amount in the low byte of `b`,
/// as SSHL/USHL/SRSHL/URSHL/SQSHL/UQSHL/SQRSHL/UQRSHL do. Returns the exact
/// result before truncation or saturation (or a value certain to saturate).
pub fn shift_by_reg(a: i128, b: u64, esize: u32, round: bool) -> i128 {
    let shift = sext(b & 0xff, 8);
    if shift >= 0 {
        if a == 0 {
            return 0;
        }
        if shift as u32 >= esize {
            // Every non-zero bit leaves the element; the exact value does not
            // fit but only its sign and magnitude class matter.
            return if a > 0 { 1i128 << 100 } else { -(1i128 << 100) };
        }
        a << shift
    } else {
        let n = (-shift).min(100) as u32;
        let r = if round { 1i128 << (n - 1) } else { 0 };
        (a + r) >> n
    }
}

fn cmp_mask(c: bool) -> u64 {
    if c {
        u64::MAX
    } else {
        0
    }
}

/// Polynomial (carry-less) multiply of two `bits`-bit values, full product.
pub fn clmul(a: u64, b: u64, bits: u32) -> u128 {
    let mut r = 0u128;
    for i in 0..bits {
        if (b >> i) & 1 != 0 {
            r ^= (a as u128) << i;
        }
    }
    r
}

/// Computes one element of a three-same operation (`d` is the old destination
/// element, used by the accumulating forms).
fn same_elem(op: ThreeSame, esize: u32, a: u64, b: u64, d: u64, qc: &mut bool) -> u64 {
    use ThreeSame::*;
    let sa = sext(a, esize) as i128;
    let sb = sext(b, esize) as i128;
    let ua = a as i128;
    let ub = b as i128;
    match op {
        Add | Addp => a.wrapping_add(b),
        Sub => a.wrapping_sub(b),
        Mul => a.wrapping_mul(b),
        Mla => d.wrapping_add(a.wrapping_mul(b)),
        Mls => d.wrapping_sub(a.wrapping_mul(b)),
        Sqadd => sat_s(sa + sb, esize, qc),
        Uqadd => sat_u(ua + ub, esize, qc),
        Sqsub => sat_s(sa - sb, esize, qc),
        Uqsub => sat_u(ua - ub, esize, qc),
        Shadd => ((sa + sb) >> 1) as u64,
        Uhadd => ((ua + ub) >> 1) as u64,
        Srhadd => ((sa + sb + 1) >> 1) as u64,
        Urhadd => ((ua + ub + 1) >> 1) as u64,
        Shsub => ((sa - sb) >> 1) as u64,
        Uhsub => ((ua - ub) >> 1) as u64,
        Smax | Smaxp => sa.max(sb) as u64,
        Umax | Umaxp => ua.max(ub) as u64,
        Smin | Sminp => sa.min(sb) as u64,
        Umin | Uminp => ua.min(ub) as u64,
        Sabd => (sa - sb).unsigned_abs() as u64,
        Uabd => (ua - ub).unsigned_abs() as u64,
        Saba => d.wrapping_add((sa - sb).unsigned_abs() as u64),
        Uaba => d.wrapping_add((ua - ub).unsigned_abs() as u64),
        Cmeq => cmp_mask(a == b),
        Cmge => cmp_mask(sa >= sb),
        Cmgt => cmp_mask(sa > sb),
        Cmhi => cmp_mask(ua > ub),
        Cmhs => cmp_mask(ua >= ub),
        Cmtst => cmp_mask(a & b != 0),
        Sshl => shift_by_reg(sa, b, esize, false) as u64,
        Ushl => shift_by_reg(ua, b, esize, false) as u64,
        Srshl => shift_by_reg(sa, b, esize, true) as u64,
        Urshl => shift_by_reg(ua, b, esize, true) as u64,
        Sqshl => sat_s(shift_by_reg(sa, b, esize, false), esize, qc),
        Uqshl => sat_u(shift_by_reg(ua, b, esize, false), esize, qc),
        Sqrshl => sat_s(shift_by_reg(sa, b, esize, true), esize, qc),
        Uqrshl => sat_u(shift_by_reg(ua, b, esize, true), esize, qc),
        Sqdmulh => sat_s((2 * sa * sb) >> esize, esize, qc),
        Sqrdmulh => sat_s((2 * sa * sb + (1i128 << (esize - 1))) >> esize, esize, qc),
        Sqrdmlah | Sqrdmlsh => {
            let sd = sext(d, esize) as i128;
            let p = 2 * sa * sb;
            let acc = if op == Sqrdmlah {
                (sd << esize) + p
            } else {
                (sd << esize) - p
            };
            sat_s((acc + (1i128 << (esize - 1))) >> esize, esize, qc)
        }
        Pmul => clmul(a, b, esize) as u64,
        And => a & b,
        Bic => a & !b,
        Orr => a | b,
        Orn => a | !b,
        Eor => a ^ b,
        Bsl => (d & a) | (!d & b),
        Bit => (b & a) | (!b & d),
        Bif => (b & d) | (!b & a),
    }
}

/// Whether a three-same operation is a pairwise form.
pub fn is_pairwise(op: ThreeSame) -> bool {
    use ThreeSame::*;
    matches!(op, Addp | Smaxp | Umaxp | Sminp | Uminp)
}

/// Executes a three-same operation: `n` = Vn, `m` = Vm, `d` = old Vd.
/// `lanes` is `64/esize` or `128/esize` (vector) or 1 (scalar).
pub fn three_same(
    op: ThreeSame,
    esize: u32,
    lanes: usize,
    n: u128,
    m: u128,
    d: u128,
    qc: &mut bool,
) -> u128 {
    if is_pairwise(op) {
        let half = lanes / 2;
        return build(esize, lanes, |i| {
            let (src, j) = if i < half {
                (n, 2 * i)
            } else {
                (m, 2 * (i - half))
            };
            same_elem(
                op,
                esize,
                elem(src, esize, j),
                elem(src, esize, j + 1),
                0,
                qc,
            )
        });
    }
    build(esize, lanes, |i| {
        same_elem(
            op,
            esize,
            elem(n, esize, i),
            elem(m, esize, i),
            elem(d, esize, i),
            qc,
        )
    })
}

/// Scalar ADDP (`ADDP Dd, Vn.2D`).
pub fn addp_scalar(n: u128) -> u128 {
    (elem(n, 64, 0).wrapping_add(elem(n, 64, 1))) as u128
}

/// AdvSIMD "three different" operations. `esize` is always the narrow element size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreeDiff {
    Saddl,
    Uaddl,
    Saddw,
    Uaddw,
    Ssubl,
    Usubl,
    Ssubw,
    Usubw,
    Addhn,
    Raddhn,
    Subhn,
    Rsubhn,
    Sabal,
    Uabal,
    Sabdl,
    Uabdl,
    Smlal,
    Umlal,
    Smlsl,
    Umlsl,
    Smull,
    Umull,
    Sqdmlal,
    Sqdmlsl,
    Sqdmull,
    /// Polynomial multiply long: esize 8 (8x8->16) or 64 (64x64->128, crypto).
    Pmull,
}

/// Executes a three-different operation. `part2` selects the "2" form (upper half of
/// the narrow sources, or the upper half of the destination for narrowing forms).
/// `lanes` is `64 / esize` for the vector forms and 1 for the scalar SQDMULL family.
#[allow(clippy::too_many_arguments)]
pub fn three_diff(
    op: ThreeDiff,
    esize: u32,
    lanes: usize,
    part2: bool,
    n: u128,
    m: u128,
    d: u128,
    qc: &mut bool,
) -> u128 {
    use ThreeDiff::*;
    let w = esize * 2;
    let off = if part2 { lanes } else { 0 };
    match op {
        Addhn | Raddhn | Subhn | Rsubhn => {
            let res = build(esize, lanes, |i| {
                let a = elem(n, w, i) as u128;
                let b = elem(m, w, i) as u128;
                let mut s = if matches!(op, Addhn | Raddhn) {
                    a.wrapping_add(b)
                } else {
                    a.wrapping_sub(b)
                };
                if matches!(op, Raddhn | Rsubhn) {
                    s = s.wrapping_add(1u128 << (esize - 1));
                }
                ((s & mask(w)) >> esize) as u64
            });
            narrow_write(res, d, part2)
        }
        Pmull => {
            if esize == 64 {
                let i = usize::from(part2);
                clmul(elem(n, 64, i), elem(m, 64, i), 64)
            } else {
                build(w, lanes, |i| {
                    clmul(elem(n, esize, i + off), elem(m, esize, i + off), esize) as u64
                })
            }
        }
        _ => {
            let signed = matches!(
                op,
                Saddl
                    | Saddw
                    | Ssubl
                    | Ssubw
                    | Sabal
                    | Sabdl
                    | Smlal
                    | Smlsl
                    | Smull
                    | Sqdmlal
                    | Sqdmlsl
                    | Sqdmull
            );
            build(w, lanes, |i| {
                let wide_n = matches!(op, Saddw | Uaddw | Ssubw | Usubw);
                let a = if wide_n {
                    ival(n, w, i, signed)
                } else {
                    ival(n, esize, i + off, signed)
                };
                let b = ival(m, esize, i + off, signed);
                let dd = ival(d, w, i, true);
                let r: i128 = match op {
                    Saddl | Uaddl | Saddw | Uaddw => a + b,
                    Ssubl | Usubl | Ssubw | Usubw => a - b,
                    Sabal | Uabal => dd + (a - b).abs(),
                    Sabdl | Uabdl => (a - b).abs(),
                    Smlal | Umlal => dd + a * b,
                    Smlsl | Umlsl => dd - a * b,
                    Smull | Umull => a * b,
                    Sqdmull => sat_s(2 * a * b, w, qc) as i64 as i128,
                    Sqdmlal | Sqdmlsl => {
                        let p = sext(sat_s(2 * a * b, w, qc), w) as i128;
                        let acc = if op == Sqdmlal { dd + p } else { dd - p };
                        sat_s(acc, w, qc) as i64 as i128
                    }
                    _ => 0,
                };
                r as u64
            })
        }
    }
}

/// Writes a narrow 64-bit result into the low half (upper zeroed) or the upper half
/// (low half kept from `d`) of the destination.
pub fn narrow_write(res: u128, d: u128, part2: bool) -> u128 {
    if part2 {
        trunc(d, 64) | (trunc(res, 64) << 64)
    } else {
        trunc(res, 64)
    }
}

/// Replicates element `index` of `v` into `lanes` lanes (the "by element" operand).
pub fn dup_lane(v: u128, esize: u32, index: usize, lanes: usize) -> u128 {
    let x = elem(v, esize, index);
    build(esize, lanes, |_| x)
}
