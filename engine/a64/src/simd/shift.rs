//! Shifts by immediate (vector and scalar forms), narrowing and widening.

use super::arith::narrow_write;
use super::{build, elem, ival, mask, sat_s, sat_u};

/// Same-size shifts by immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftImm {
    Shl,
    Sshr,
    Ushr,
    Ssra,
    Usra,
    Srshr,
    Urshr,
    Srsra,
    Ursra,
    Sri,
    Sli,
    Sqshl,
    Uqshl,
    Sqshlu,
}

/// Executes a same-size immediate shift. Right shifts take `shift` in `1..=esize`,
/// left shifts in `0..esize`.
pub fn shift_imm(
    op: ShiftImm,
    esize: u32,
    lanes: usize,
    shift: u32,
    n: u128,
    d: u128,
    qc: &mut bool,
) -> u128 {
    use ShiftImm::*;
    let signed = matches!(op, Sshr | Ssra | Srshr | Srsra | Sqshl | Sqshlu);
    let round = matches!(op, Srshr | Urshr | Srsra | Ursra);
    let em = mask(esize) as u64;
    build(esize, lanes, |i| {
        let a = ival(n, esize, i, signed);
        let dd = elem(d, esize, i);
        match op {
            Shl => ((a as u64) << shift) & em,
            Sqshl => sat_s(a << shift, esize, qc),
            Uqshl => sat_u(a << shift, esize, qc),
            Sqshlu => sat_u(a << shift, esize, qc),
            Sli => {
                let m = em << shift;
                (dd & !m) | (((a as u64) << shift) & m)
            }
            Sri => {
                let m = (em as u128 >> shift) as u64;
                (dd & !m) | (((a as u64 as u128) >> shift) as u64 & m)
            }
            _ => {
                let r = if round { 1i128 << (shift - 1) } else { 0 };
                let v = ((a + r) >> shift) as u64;
                if matches!(op, Ssra | Usra | Srsra | Ursra) {
                    dd.wrapping_add(v)
                } else {
                    v
                }
            }
        }
    })
}

/// Narrowing shifts right by immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftNarrow {
    Shrn,
    Rshrn,
    Sqshrn,
    Uqshrn,
    Sqrshrn,
    Uqrshrn,
    Sqshrun,
    Sqrshrun,
}

/// Executes a narrowing shift: `esize` is the narrow (result) size, `shift` in
/// `1..=esize`, `lanes` is `64/esize` (vector) or 1 (scalar).
#[allow(clippy::too_many_arguments)]
pub fn shift_narrow(
    op: ShiftNarrow,
    esize: u32,
    lanes: usize,
    part2: bool,
    shift: u32,
    n: u128,
    d: u128,
    qc: &mut bool,
) -> u128 {
    use ShiftNarrow::*;
    let w = esize * 2;
    let signed = matches!(op, Sqshrn | Sqrshrn | Sqshrun | Sqrshrun);
    let round = matches!(op, Rshrn | Sqrshrn | Uqrshrn | Sqrshrun);
    let res = build(esize, lanes, |i| {
        let a = ival(n, w, i, signed);
        let r = if round { 1i128 << (shift - 1) } else { 0 };
        let v = (a + r) >> shift;
        match op {
            Shrn | Rshrn => v as u64,
            Sqshrn | Sqrshrn => sat_s(v, esize, qc),
            Uqshrn | Uqrshrn | Sqshrun | Sqrshrun => sat_u(v, esize, qc),
        }
    });
    if lanes == 1 {
        return res;
    }
    narrow_write(res, d, part2)
}

/// SSHLL/USHLL (and SXTL/UXTL with `shift` 0): `esize` is the source size.
pub fn shift_long(signed: bool, esize: u32, part2: bool, shift: u32, n: u128) -> u128 {
    let lanes = (64 / esize) as usize;
    let off = if part2 { lanes } else { 0 };
    build(esize * 2, lanes, |i| {
        (ival(n, esize, i + off, signed) << shift) as u64
    })
}
