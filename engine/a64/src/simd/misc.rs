//! Two-register miscellaneous integer operations and across-lanes reductions.

use super::arith::narrow_write;
use super::{build, elem, ival, sat_s, sat_u, selem, sext, trunc};

/// AdvSIMD "two-register miscellaneous" integer operations that keep the element size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TwoMisc {
    /// REV16/REV32/REV64: reverse `esize` elements inside 16/32/64-bit containers.
    Rev16,
    Rev32,
    Rev64,
    Cnt,
    Cls,
    Clz,
    /// NOT / MVN.
    Not,
    Rbit,
    Abs,
    Neg,
    Sqabs,
    Sqneg,
    Suqadd,
    Usqadd,
    Cmeq0,
    Cmge0,
    Cmgt0,
    Cmle0,
    Cmlt0,
    Urecpe,
    Ursqrte,
}

/// Executes a same-size two-register operation on `lanes` elements of `n`
/// (`d` = old Vd, used by SUQADD/USQADD).
pub fn two_misc(op: TwoMisc, esize: u32, lanes: usize, n: u128, d: u128, qc: &mut bool) -> u128 {
    use TwoMisc::*;
    match op {
        Rev16 | Rev32 | Rev64 => {
            let c = match op {
                Rev16 => 16,
                Rev32 => 32,
                _ => 64,
            };
            let per = (c / esize) as usize;
            build(esize, lanes, |i| {
                let base = i - i % per;
                elem(n, esize, base + (per - 1 - i % per))
            })
        }
        _ => build(esize, lanes, |i| {
            let a = elem(n, esize, i);
            let sa = sext(a, esize) as i128;
            let m = |c: bool| if c { u64::MAX } else { 0 };
            match op {
                Cnt => a.count_ones() as u64,
                Clz => (a.leading_zeros() - (64 - esize)) as u64,
                Cls => {
                    let x = a ^ (a >> 1);
                    let x = x & (super::mask(esize - 1) as u64);
                    (x.leading_zeros() - (64 - esize + 1)) as u64
                }
                Not => !a,
                Rbit => a.reverse_bits() >> (64 - esize),
                Abs => sa.unsigned_abs() as u64,
                Neg => (-sa) as u64,
                Sqabs => sat_s(sa.abs(), esize, qc),
                Sqneg => sat_s(-sa, esize, qc),
                Suqadd => sat_s(selem(d, esize, i) as i128 + a as i128, esize, qc),
                Usqadd => sat_u(elem(d, esize, i) as i128 + sa, esize, qc),
                Cmeq0 => m(sa == 0),
                Cmge0 => m(sa >= 0),
                Cmgt0 => m(sa > 0),
                Cmle0 => m(sa <= 0),
                Cmlt0 => m(sa < 0),
                Urecpe => urecpe(a as u32) as u64,
                Ursqrte => ursqrte(a as u32) as u64,
                Rev16 | Rev32 | Rev64 => 0,
            }
        }),
    }
}

/// URECPE on one 32-bit element.
pub fn urecpe(x: u32) -> u32 {
    if x >> 31 == 0 {
        return u32::MAX;
    }
    let a = (x >> 23) as u64; // 256..=511
    let a = 2 * a + 1;
    let b = (1u64 << 19) / a;
    let r = b.div_ceil(2);
    ((r as u32) & 0x1ff) << 23
}

/// URSQRTE on one 32-bit element.
pub fn ursqrte(x: u32) -> u32 {
    if x >> 30 == 0 {
        return u32::MAX;
    }
    let a = (x >> 23) as u64; // 128..=511
    let a = if a < 256 {
        2 * a + 1
    } else {
        ((a >> 1) << 1) * 2 + 2
    };
    let mut b = 512u64;
    while a * (b + 1) * (b + 1) < (1u64 << 28) {
        b += 1;
    }
    let r = b.div_ceil(2);
    ((r as u32) & 0x1ff) << 23
}

/// Pairwise long add (SADDLP/UADDLP) and accumulate (SADALP/UADALP).
/// `esize` is the source element size; `lanes` the number of result lanes.
pub fn addlp(signed: bool, acc: bool, esize: u32, lanes: usize, n: u128, d: u128) -> u128 {
    let w = esize * 2;
    build(w, lanes, |i| {
        let s = ival(n, esize, 2 * i, signed) + ival(n, esize, 2 * i + 1, signed);
        let s = if acc { s + elem(d, w, i) as i128 } else { s };
        s as u64
    })
}

/// Narrowing two-register operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Narrow {
    Xtn,
    Sqxtn,
    Uqxtn,
    Sqxtun,
}

/// XTN/SQXTN/UQXTN/SQXTUN: `esize` is the narrow (result) size, `lanes` is
/// `64/esize` for vectors or 1 for the scalar forms.
pub fn narrow(
    op: Narrow,
    esize: u32,
    lanes: usize,
    part2: bool,
    n: u128,
    d: u128,
    qc: &mut bool,
) -> u128 {
    let w = esize * 2;
    let res = build(esize, lanes, |i| match op {
        Narrow::Xtn => elem(n, w, i),
        Narrow::Sqxtn => sat_s(selem(n, w, i) as i128, esize, qc),
        Narrow::Uqxtn => sat_u(elem(n, w, i) as i128, esize, qc),
        Narrow::Sqxtun => sat_u(selem(n, w, i) as i128, esize, qc),
    });
    if lanes == 1 {
        return res;
    }
    narrow_write(res, d, part2)
}

/// SHLL/SHLL2: widen each element and shift left by `esize`.
pub fn shll(esize: u32, part2: bool, n: u128) -> u128 {
    let lanes = (64 / esize) as usize;
    let off = if part2 { lanes } else { 0 };
    build(esize * 2, lanes, |i| elem(n, esize, i + off) << esize)
}

/// Across-lanes reductions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Across {
    Addv,
    Saddlv,
    Uaddlv,
    Smaxv,
    Umaxv,
    Sminv,
    Uminv,
}

/// Reduces `lanes` elements of `n` to a scalar (esize wide, or 2*esize for the long sums).
pub fn across(op: Across, esize: u32, lanes: usize, n: u128) -> u128 {
    use Across::*;
    let signed = matches!(op, Saddlv | Smaxv | Sminv);
    let vals = (0..lanes).map(|i| ival(n, esize, i, signed));
    let (r, bits) = match op {
        Addv => (vals.sum::<i128>(), esize),
        Saddlv | Uaddlv => (vals.sum::<i128>(), esize * 2),
        Smaxv | Umaxv => (vals.max().unwrap_or(0), esize),
        Sminv | Uminv => (vals.min().unwrap_or(0), esize),
    };
    trunc(r as u128, bits)
}
