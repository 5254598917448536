//! Exact softfloat core: unpacking, the single rounding routine (Arm's `FPRoundBase`),
//! and the arithmetic operations, all on raw bit patterns held in a `u64`.
//!
//! Every operation works on the exact real result and rounds it once, the way the Arm
//! pseudocode describes it, so results and FPSR flags are bit-exact.

use core::cmp::Ordering;

use super::{
    Fmt, Rounding, FPCR_DN, FPCR_FZ, FPSR_DZC, FPSR_IDC, FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC,
};

/// Class of an unpacked operand (Arm's `FPType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Zero,
    Num,
    Inf,
    QNaN,
    SNaN,
}

/// An unpacked operand. For `Num`, value = (-1)^sign * man * 2^exp with man's top bit at bit 63.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unp {
    pub kind: Kind,
    pub sign: bool,
    pub exp: i32,
    pub man: u64,
}

impl Unp {
    pub fn is_nan(&self) -> bool {
        matches!(self.kind, Kind::QNaN | Kind::SNaN)
    }
}

/// Whether FZ flushes operands/results of this format (v8.0: FZ covers single and double only).
#[inline]
fn fz(f: Fmt, fpcr: u32) -> bool {
    f != Fmt::H && fpcr & FPCR_FZ != 0
}

/// `FPUnpack`: decode `bits`, flushing a denormal to zero (and setting IDC) when FZ applies.
pub(crate) fn unpack(f: Fmt, bits: u64, fpcr: u32, fpsr: &mut u32) -> Unp {
    let bits = bits & f.mask();
    let sign = bits >> (f.bits() - 1) & 1 != 0;
    let e = (bits >> f.fbits()) & f.emask();
    let frac = bits & f.fmask();
    let fb = f.fbits() as i32;
    if e == 0 {
        if frac == 0 {
            return Unp {
                kind: Kind::Zero,
                sign,
                exp: 0,
                man: 0,
            };
        }
        if fz(f, fpcr) {
            *fpsr |= FPSR_IDC;
            return Unp {
                kind: Kind::Zero,
                sign,
                exp: 0,
                man: 0,
            };
        }
        let lz = frac.leading_zeros() as i32;
        // value = frac * 2^(emin - F)
        Unp {
            kind: Kind::Num,
            sign,
            exp: f.emin() - fb - lz,
            man: frac << lz,
        }
    } else if e == f.emask() {
        let kind = if frac == 0 {
            Kind::Inf
        } else if frac >> (fb - 1) & 1 != 0 {
            Kind::QNaN
        } else {
            Kind::SNaN
        };
        Unp {
            kind,
            sign,
            exp: 0,
            man: 0,
        }
    } else {
        let m = frac | 1 << fb;
        let lz = m.leading_zeros() as i32;
        Unp {
            kind: Kind::Num,
            sign,
            exp: e as i32 - f.bias() - fb - lz,
            man: m << lz,
        }
    }
}

#[inline]
pub(crate) fn zero(f: Fmt, sign: bool) -> u64 {
    (sign as u64) << (f.bits() - 1)
}
#[inline]
pub(crate) fn inf(f: Fmt, sign: bool) -> u64 {
    zero(f, sign) | f.emask() << f.fbits()
}
#[inline]
pub(crate) fn max_normal(f: Fmt, sign: bool) -> u64 {
    zero(f, sign) | (f.emask() - 1) << f.fbits() | f.fmask()
}
/// `FPDefaultNaN`.
#[inline]
pub fn default_nan(f: Fmt) -> u64 {
    f.emask() << f.fbits() | 1 << (f.fbits() - 1)
}
/// A normal number 2^k * 1.x for small constants: sign, unbiased exponent, top fraction bits.
#[inline]
fn small_const(f: Fmt, sign: bool, unbiased: i32, top_frac: u64, top_bits: u32) -> u64 {
    zero(f, sign) | ((unbiased + f.bias()) as u64) << f.fbits() | top_frac << (f.fbits() - top_bits)
}

/// `FPProcessNaN`.
pub(crate) fn process_nan(f: Fmt, kind: Kind, bits: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let mut r = bits & f.mask();
    if kind == Kind::SNaN {
        r |= 1 << (f.fbits() - 1);
        *fpsr |= FPSR_IOC;
    }
    if fpcr & FPCR_DN != 0 {
        r = default_nan(f);
    }
    r
}

/// `FPProcessNaNs`.
pub(crate) fn process_nans2(
    f: Fmt,
    x: (&Unp, u64),
    y: (&Unp, u64),
    fpcr: u32,
    fpsr: &mut u32,
) -> Option<u64> {
    for k in [Kind::SNaN, Kind::QNaN] {
        for (u, b) in [x, y] {
            if u.kind == k {
                return Some(process_nan(f, k, b, fpcr, fpsr));
            }
        }
    }
    None
}

/// `FPProcessNaNs3`.
pub(crate) fn process_nans3(
    f: Fmt,
    x: (&Unp, u64),
    y: (&Unp, u64),
    z: (&Unp, u64),
    fpcr: u32,
    fpsr: &mut u32,
) -> Option<u64> {
    for k in [Kind::SNaN, Kind::QNaN] {
        for (u, b) in [x, y, z] {
            if u.kind == k {
                return Some(process_nan(f, k, b, fpcr, fpsr));
            }
        }
    }
    None
}

/// The rounding error of a truncated significand, in units of its last place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Err {
    Exact,
    Below,
    Half,
    Above,
}

/// `FPRoundBase`: round the nonzero real (-1)^sign * (man + s) * 2^exp, 0 <= s < 1 and
/// s != 0 iff `sticky`, to format `f` with rounding `rm` (FZ flushes tiny results).
#[allow(clippy::too_many_arguments)]
pub(crate) fn round(
    f: Fmt,
    sign: bool,
    mut exp: i32,
    mut man: u128,
    mut sticky: bool,
    rm: Rounding,
    fpcr: u32,
    fpsr: &mut u32,
) -> u64 {
    debug_assert!(man != 0);
    // Keep the significand narrow (<= 72 bits) so that all shifts below are in range.
    let mut p = 127 - man.leading_zeros() as i32;
    if p > 72 {
        let sh = p - 72;
        sticky |= man & ((1u128 << sh) - 1) != 0;
        man >>= sh;
        exp += sh;
        p = 72;
    }
    let e_top = exp + p; // floor(log2(|value|))
    let fb = f.fbits() as i32;
    let emin = f.emin();
    if fz(f, fpcr) && e_top < emin {
        *fpsr |= FPSR_UFC;
        return zero(f, sign);
    }
    let lsb = e_top.max(emin) - fb;
    let shift = lsb - exp;
    let (mut int_mant, err): (u64, Err) = if shift <= 0 {
        // shift >= -fb here, so this is exact and fits.
        (
            (man << (-shift) as u32) as u64,
            if sticky { Err::Below } else { Err::Exact },
        )
    } else if shift > 100 {
        (0, Err::Below)
    } else {
        let sh = shift as u32;
        let im = (man >> sh) as u64;
        let rem = man & ((1u128 << sh) - 1);
        let half = 1u128 << (sh - 1);
        let e = match rem.cmp(&half) {
            Ordering::Less => {
                if rem == 0 && !sticky {
                    Err::Exact
                } else {
                    Err::Below
                }
            }
            Ordering::Equal => {
                if sticky {
                    Err::Above
                } else {
                    Err::Half
                }
            }
            Ordering::Greater => Err::Above,
        };
        (im, e)
    };
    let mut biased = if e_top >= emin { e_top - emin + 1 } else { 0 };
    if biased == 0 && err != Err::Exact {
        *fpsr |= FPSR_UFC;
    }
    let inexact = err != Err::Exact;
    let (round_up, overflow_to_inf) = match rm {
        Rounding::TieEven => (
            err == Err::Above || (err == Err::Half && int_mant & 1 != 0),
            true,
        ),
        Rounding::TieAway => (err == Err::Above || err == Err::Half, true),
        Rounding::PosInf => (inexact && !sign, !sign),
        Rounding::NegInf => (inexact && sign, sign),
        Rounding::Zero | Rounding::Odd => (false, false),
    };
    if round_up {
        int_mant += 1;
        if int_mant == 1 << fb {
            biased = 1;
        }
        if int_mant == 1 << (fb + 1) {
            biased += 1;
            int_mant >>= 1;
        }
    }
    if rm == Rounding::Odd && inexact {
        int_mant |= 1;
    }
    if biased >= f.emask() as i32 {
        *fpsr |= FPSR_OFC | FPSR_IXC;
        return if overflow_to_inf {
            inf(f, sign)
        } else {
            max_normal(f, sign)
        };
    }
    if inexact {
        *fpsr |= FPSR_IXC;
    }
    zero(f, sign) | (biased as u64) << fb | (int_mant & f.fmask())
}

/// Round a number already known to be exactly representable (or to be flushed by FZ).
#[inline]
fn repack(f: Fmt, u: &Unp, fpcr: u32, fpsr: &mut u32) -> u64 {
    round(
        f,
        u.sign,
        u.exp,
        u.man as u128,
        false,
        Rounding::TieEven,
        fpcr,
        fpsr,
    )
}

/// Sign of an exact zero sum: -0 only when rounding towards minus infinity.
#[inline]
fn exact_zero_sign(fpcr: u32) -> bool {
    Rounding::from_fpcr(fpcr) == Rounding::NegInf
}

/// Exact sum of two signed values m * 2^e (u128 significands, either may be zero).
/// Returns None for an exact zero, else (sign, exp, man, sticky).
fn add_exact(
    s1: bool,
    e1: i32,
    m1: u128,
    s2: bool,
    e2: i32,
    m2: u128,
) -> Option<(bool, i32, u128, bool)> {
    if m1 == 0 {
        return if m2 == 0 {
            None
        } else {
            Some((s2, e2, m2, false))
        };
    }
    if m2 == 0 {
        return Some((s1, e1, m1, false));
    }
    // Normalize both to top bit 125 (2 bits of headroom for the carry).
    let n1 = m1.leading_zeros() as i32 - 2;
    let n2 = m2.leading_zeros() as i32 - 2;
    let (mut a, mut ea) = (shl_signed(m1, n1), e1 - n1);
    let (mut b, mut eb) = (shl_signed(m2, n2), e2 - n2);
    let (mut sa, mut sb) = (s1, s2);
    if ea < eb || (ea == eb && a < b) {
        core::mem::swap(&mut a, &mut b);
        core::mem::swap(&mut ea, &mut eb);
        core::mem::swap(&mut sa, &mut sb);
    }
    let d = ea - eb;
    let b = if d == 0 {
        b
    } else if d >= 126 {
        1 // pure sticky
    } else {
        let lost = b & ((1u128 << d) - 1) != 0;
        (b >> d) | lost as u128
    };
    let m = if sa == sb { a + b } else { a - b };
    if m == 0 {
        None
    } else {
        Some((sa, ea, m, false))
    }
}

#[inline]
fn shl_signed(m: u128, n: i32) -> u128 {
    if n >= 0 {
        m << n
    } else {
        m >> (-n)
    }
}

/// FADD (`neg` = false) / FSUB (`neg` = true).
pub fn add_sub(f: Fmt, a: u64, b: u64, neg: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if let Some(r) = process_nans2(f, (&x, a), (&y, b), fpcr, fpsr) {
        return r;
    }
    let ys = y.sign ^ neg;
    if x.kind == Kind::Inf && y.kind == Kind::Inf && x.sign != ys {
        *fpsr |= FPSR_IOC;
        return default_nan(f);
    }
    if (x.kind == Kind::Inf && !x.sign) || (y.kind == Kind::Inf && !ys) {
        return inf(f, false);
    }
    if (x.kind == Kind::Inf && x.sign) || (y.kind == Kind::Inf && ys) {
        return inf(f, true);
    }
    if x.kind == Kind::Zero && y.kind == Kind::Zero && x.sign == ys {
        return zero(f, x.sign);
    }
    match add_exact(x.sign, x.exp, x.man as u128, ys, y.exp, y.man as u128) {
        None => zero(f, exact_zero_sign(fpcr)),
        Some((s, e, m, st)) => round(f, s, e, m, st, Rounding::from_fpcr(fpcr), fpcr, fpsr),
    }
}

/// FADD.
pub fn add(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    add_sub(f, a, b, false, fpcr, fpsr)
}

/// FSUB.
pub fn sub(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    add_sub(f, a, b, true, fpcr, fpsr)
}

/// FMUL (`FPMul`), or FMULX (`FPMulX`) when `x` is set.
fn mul_impl(f: Fmt, a: u64, b: u64, mulx: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if let Some(r) = process_nans2(f, (&x, a), (&y, b), fpcr, fpsr) {
        return r;
    }
    let s = x.sign ^ y.sign;
    if (x.kind == Kind::Inf && y.kind == Kind::Zero)
        || (x.kind == Kind::Zero && y.kind == Kind::Inf)
    {
        if mulx {
            return small_const(f, s, 1, 0, 1);
        }
        *fpsr |= FPSR_IOC;
        return default_nan(f);
    }
    if x.kind == Kind::Inf || y.kind == Kind::Inf {
        return inf(f, s);
    }
    if x.kind == Kind::Zero || y.kind == Kind::Zero {
        return zero(f, s);
    }
    let m = x.man as u128 * y.man as u128;
    round(
        f,
        s,
        x.exp + y.exp,
        m,
        false,
        Rounding::from_fpcr(fpcr),
        fpcr,
        fpsr,
    )
}

/// FMUL.
pub fn mul(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    mul_impl(f, a, b, false, fpcr, fpsr)
}

/// FMULX: like FMUL but infinity times zero gives +-2.0.
pub fn mulx(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    mul_impl(f, a, b, true, fpcr, fpsr)
}

/// FDIV.
pub fn div(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if let Some(r) = process_nans2(f, (&x, a), (&y, b), fpcr, fpsr) {
        return r;
    }
    let s = x.sign ^ y.sign;
    if (x.kind == Kind::Inf && y.kind == Kind::Inf)
        || (x.kind == Kind::Zero && y.kind == Kind::Zero)
    {
        *fpsr |= FPSR_IOC;
        return default_nan(f);
    }
    if x.kind == Kind::Inf || y.kind == Kind::Zero {
        if x.kind != Kind::Inf {
            *fpsr |= FPSR_DZC;
        }
        return inf(f, s);
    }
    if x.kind == Kind::Zero || y.kind == Kind::Inf {
        return zero(f, s);
    }
    // Both significands have their top bit at 63: a 64-bit-plus quotient.
    let n = (x.man as u128) << 64;
    let d = y.man as u128;
    let q = n / d;
    let r = n % d;
    round(
        f,
        s,
        x.exp - y.exp - 64,
        q,
        r != 0,
        Rounding::from_fpcr(fpcr),
        fpcr,
        fpsr,
    )
}

/// Integer square root of a u64 (digit by digit).
fn isqrt64(v: u64) -> u64 {
    let mut rem = v;
    let mut res: u64 = 0;
    let mut bit: u64 = 1 << 62;
    while bit > v {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= res + bit {
            rem -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    res
}

/// Integer square root of a u128 below 2^127: (floor(sqrt(v)), v != floor^2).
fn isqrt(v: u128) -> (u128, bool) {
    if v >> 64 == 0 {
        let r = isqrt64(v as u64) as u128;
        return (r, r * r != v);
    }
    // 32 correct leading bits from the top 64 bits, then one Newton step (which lands on
    // floor(sqrt(v)) or one above it) and a final correction.
    let bits = 128 - v.leading_zeros();
    let s = (bits - 63) / 2;
    let r0 = (isqrt64((v >> (2 * s)) as u64) as u128) << s;
    let mut r = (r0 + v / r0) / 2;
    while r * r > v {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= v {
        r += 1;
    }
    (r, r * r != v)
}

/// FSQRT.
pub fn sqrt(f: Fmt, a: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(f, x.kind, a, fpcr, fpsr),
        Kind::Zero => return zero(f, x.sign),
        Kind::Inf if !x.sign => return inf(f, false),
        _ => {}
    }
    if x.sign {
        *fpsr |= FPSR_IOC;
        return default_nan(f);
    }
    // value = man * 2^exp, man has its top bit at 63: scale to ~126 bits with an even exponent.
    let mut m = (x.man as u128) << 62;
    let mut e = x.exp - 62;
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    let (r, st) = isqrt(m);
    round(
        f,
        false,
        e / 2,
        r,
        st,
        Rounding::from_fpcr(fpcr),
        fpcr,
        fpsr,
    )
}

/// `FPMulAdd`: addend + op1 * op2 with a single rounding (FMADD, FMLA).
pub fn mul_add(f: Fmt, addend: u64, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let z = unpack(f, addend, fpcr, fpsr);
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    let inf_zero = (x.kind == Kind::Inf && y.kind == Kind::Zero)
        || (x.kind == Kind::Zero && y.kind == Kind::Inf);
    if let Some(r) = process_nans3(f, (&z, addend), (&x, a), (&y, b), fpcr, fpsr) {
        if z.kind == Kind::QNaN && inf_zero {
            *fpsr |= FPSR_IOC;
            return default_nan(f);
        }
        return r;
    }
    let sp = x.sign ^ y.sign;
    let inf_p = x.kind == Kind::Inf || y.kind == Kind::Inf;
    let zero_p = x.kind == Kind::Zero || y.kind == Kind::Zero;
    if inf_zero || (z.kind == Kind::Inf && inf_p && z.sign != sp) {
        *fpsr |= FPSR_IOC;
        return default_nan(f);
    }
    if (z.kind == Kind::Inf && !z.sign) || (inf_p && !sp) {
        return inf(f, false);
    }
    if (z.kind == Kind::Inf && z.sign) || (inf_p && sp) {
        return inf(f, true);
    }
    if z.kind == Kind::Zero && zero_p && z.sign == sp {
        return zero(f, z.sign);
    }
    let (pe, pm) = if zero_p {
        (0, 0)
    } else {
        (x.exp + y.exp, x.man as u128 * y.man as u128)
    };
    match add_exact(z.sign, z.exp, z.man as u128, sp, pe, pm) {
        None => zero(f, exact_zero_sign(fpcr)),
        Some((s, e, m, st)) => round(f, s, e, m, st, Rounding::from_fpcr(fpcr), fpcr, fpsr),
    }
}

/// Compare two non-NaN unpacked values.
pub(crate) fn cmp_val(x: &Unp, y: &Unp) -> Ordering {
    // Map to (sign-adjusted) keys: magnitude class, exponent, significand.
    fn mag(u: &Unp) -> (u8, i32, u64) {
        match u.kind {
            Kind::Zero => (0, 0, 0),
            Kind::Num => (1, u.exp, u.man),
            _ => (2, 0, 0),
        }
    }
    let xz = x.kind == Kind::Zero;
    let yz = y.kind == Kind::Zero;
    let xneg = x.sign && !xz;
    let yneg = y.sign && !yz;
    match (xneg, yneg) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => mag(x).cmp(&mag(y)),
        (true, true) => mag(y).cmp(&mag(x)),
    }
}

/// FMAX (`max` = true) / FMIN (`FPMax` / `FPMin`).
pub fn max_min(f: Fmt, a: u64, b: u64, max: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if let Some(r) = process_nans2(f, (&x, a), (&y, b), fpcr, fpsr) {
        return r;
    }
    let c = cmp_val(&x, &y);
    let pick_x = if max {
        c == Ordering::Greater
    } else {
        c == Ordering::Less
    };
    let u = if pick_x { x } else { y };
    match u.kind {
        Kind::Inf => inf(f, u.sign),
        Kind::Zero => {
            let s = if max {
                x.sign && y.sign
            } else {
                x.sign || y.sign
            };
            zero(f, s)
        }
        _ => repack(f, &u, fpcr, fpsr),
    }
}

/// FMAX.
pub fn max(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    max_min(f, a, b, true, fpcr, fpsr)
}
/// FMIN.
pub fn min(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    max_min(f, a, b, false, fpcr, fpsr)
}

/// FMAXNM / FMINNM (`FPMaxNum` / `FPMinNum`): a single quiet NaN loses to a number.
pub fn max_min_num(f: Fmt, a: u64, b: u64, max: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    let mut a = a;
    let mut b = b;
    // max: replace the quiet NaN by -inf; min: by +inf.
    if x.kind == Kind::QNaN && y.kind != Kind::QNaN {
        a = inf(f, max);
    } else if x.kind != Kind::QNaN && y.kind == Kind::QNaN {
        b = inf(f, max);
    }
    max_min(f, a, b, max, fpcr, fpsr)
}

/// FMAXNM.
pub fn maxnm(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    max_min_num(f, a, b, true, fpcr, fpsr)
}
/// FMINNM.
pub fn minnm(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    max_min_num(f, a, b, false, fpcr, fpsr)
}

/// FCMP (`signal` = false) / FCMPE (`signal` = true): returns NZCV in bits 3:0.
pub fn compare(f: Fmt, a: u64, b: u64, signal: bool, fpcr: u32, fpsr: &mut u32) -> u32 {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if x.is_nan() || y.is_nan() {
        if x.kind == Kind::SNaN || y.kind == Kind::SNaN || signal {
            *fpsr |= FPSR_IOC;
        }
        return 0b0011;
    }
    match cmp_val(&x, &y) {
        Ordering::Equal => 0b0110,
        Ordering::Less => 0b1000,
        Ordering::Greater => 0b0010,
    }
}

/// `FPCompareEQ` (FCMEQ): false on NaN, IOC only for signalling NaNs.
pub fn compare_eq(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> bool {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if x.is_nan() || y.is_nan() {
        if x.kind == Kind::SNaN || y.kind == Kind::SNaN {
            *fpsr |= FPSR_IOC;
        }
        return false;
    }
    cmp_val(&x, &y) == Ordering::Equal
}

/// `FPCompareGE` (`gt` = false) / `FPCompareGT` (`gt` = true): false with IOC on any NaN.
pub fn compare_ge_gt(f: Fmt, a: u64, b: u64, gt: bool, fpcr: u32, fpsr: &mut u32) -> bool {
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if x.is_nan() || y.is_nan() {
        *fpsr |= FPSR_IOC;
        return false;
    }
    let c = cmp_val(&x, &y);
    if gt {
        c == Ordering::Greater
    } else {
        c != Ordering::Less
    }
}

/// Round the magnitude man * 2^exp (exp < 0 allowed) to an integer with `rm`, where
/// `sign` is the sign of the value. Returns (integer magnitude, inexact). The magnitude
/// is saturated to u128::MAX >> 1 when it does not fit.
fn round_to_int_mag(sign: bool, exp: i32, man: u64, rm: Rounding) -> (u128, bool) {
    if exp >= 0 {
        if exp > 63 {
            return (u128::MAX >> 1, false);
        }
        return ((man as u128) << exp, false);
    }
    let sh = -exp;
    let (int, err) = if sh > 65 {
        (0u128, Err::Below)
    } else {
        let m = man as u128;
        let int = m >> sh;
        let rem = m & ((1u128 << sh) - 1);
        let half = 1u128 << (sh - 1);
        let e = match rem.cmp(&half) {
            Ordering::Less if rem == 0 => Err::Exact,
            Ordering::Less => Err::Below,
            Ordering::Equal => Err::Half,
            Ordering::Greater => Err::Above,
        };
        (int, e)
    };
    let inexact = err != Err::Exact;
    let up = match rm {
        Rounding::TieEven => err == Err::Above || (err == Err::Half && int & 1 != 0),
        Rounding::TieAway => err == Err::Above || err == Err::Half,
        Rounding::PosInf => inexact && !sign,
        Rounding::NegInf => inexact && sign,
        Rounding::Zero | Rounding::Odd => false,
    };
    (int + up as u128, inexact)
}

/// `FPRoundInt` (FRINTN/A/P/M/Z/I, and FRINTX with `exact`).
pub fn round_int(f: Fmt, a: u64, rm: Rounding, exact: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(f, x.kind, a, fpcr, fpsr),
        Kind::Inf => return inf(f, x.sign),
        Kind::Zero => return zero(f, x.sign),
        Kind::Num => {}
    }
    if x.exp >= 0 {
        return repack(f, &x, fpcr, fpsr);
    }
    let (int, inexact) = round_to_int_mag(x.sign, x.exp, x.man, rm);
    let r = if int == 0 {
        zero(f, x.sign)
    } else {
        round(f, x.sign, 0, int, false, Rounding::TieEven, fpcr, fpsr)
    };
    if inexact && exact {
        *fpsr |= FPSR_IXC;
    }
    r
}

/// `FPToFixed`: convert to a `width`-bit (32 or 64) signed/unsigned fixed-point number with
/// `fbits` fraction bits, rounding with `rm` and saturating. The result is zero-extended.
#[allow(clippy::too_many_arguments)]
pub fn to_fixed(
    f: Fmt,
    a: u64,
    fbits: u32,
    unsigned: bool,
    width: u32,
    rm: Rounding,
    fpcr: u32,
    fpsr: &mut u32,
) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let (int, inexact) = match x.kind {
        Kind::QNaN | Kind::SNaN => {
            *fpsr |= FPSR_IOC;
            return 0;
        }
        Kind::Zero => (0u128, false),
        Kind::Inf => (u128::MAX >> 1, false),
        Kind::Num => round_to_int_mag(x.sign, x.exp + fbits as i32, x.man, rm),
    };
    let neg = x.sign && int != 0;
    let wmask: u64 = if width >= 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    let (res, overflow) = if unsigned {
        if neg {
            (0, true)
        } else if int > wmask as u128 {
            (wmask, true)
        } else {
            (int as u64, false)
        }
    } else {
        let lim = 1u128 << (width - 1); // |min|
        if neg {
            if int > lim {
                ((lim as u64).wrapping_neg() & wmask, true)
            } else {
                ((int as u64).wrapping_neg() & wmask, false)
            }
        } else if int >= lim {
            ((lim - 1) as u64, true)
        } else {
            (int as u64, false)
        }
    };
    if overflow {
        *fpsr |= FPSR_IOC;
    } else if inexact {
        *fpsr |= FPSR_IXC;
    }
    res
}

/// `FixedToFP`: convert a `width`-bit signed/unsigned fixed-point number with `fbits`
/// fraction bits to format `f`, rounding with `rm`.
#[allow(clippy::too_many_arguments)]
pub fn from_fixed(
    f: Fmt,
    v: u64,
    fbits: u32,
    unsigned: bool,
    width: u32,
    rm: Rounding,
    fpcr: u32,
    fpsr: &mut u32,
) -> u64 {
    let v = if width >= 64 {
        v
    } else {
        v & ((1u64 << width) - 1)
    };
    let (sign, mag) = if unsigned {
        (false, v)
    } else {
        let sv = if width >= 64 {
            v as i64
        } else {
            ((v << (64 - width)) as i64) >> (64 - width)
        };
        (sv < 0, sv.unsigned_abs())
    };
    if mag == 0 {
        return zero(f, false);
    }
    round(f, sign, -(fbits as i32), mag as u128, false, rm, fpcr, fpsr)
}

/// `FPConvertNaN`: move a NaN's payload between formats and make it quiet.
pub(crate) fn convert_nan(from: Fmt, to: Fmt, a: u64) -> u64 {
    let sign = a >> (from.bits() - 1) & 1 != 0;
    // Payload below the quiet bit, left-aligned in a u64.
    let pay = (a & (from.fmask() >> 1)) << (64 - (from.fbits() - 1));
    let frac = if to.fbits() - 1 == 0 {
        0
    } else {
        pay >> (64 - (to.fbits() - 1))
    };
    inf(to, sign) | 1 << (to.fbits() - 1) | frac
}

/// `FPConvert` (FCVT between precisions, and FCVTXN with `Rounding::Odd`).
pub fn convert(from: Fmt, to: Fmt, a: u64, rm: Rounding, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(from, a, fpcr, fpsr);
    match x.kind {
        Kind::QNaN | Kind::SNaN => {
            if x.kind == Kind::SNaN {
                *fpsr |= FPSR_IOC;
            }
            if fpcr & FPCR_DN != 0 {
                default_nan(to)
            } else {
                convert_nan(from, to, a)
            }
        }
        Kind::Inf => inf(to, x.sign),
        Kind::Zero => zero(to, x.sign),
        Kind::Num => round(to, x.sign, x.exp, x.man as u128, false, rm, fpcr, fpsr),
    }
}

/// `FPRecipStepFused` (FRECPS): 2 - a*b, fused. `FPRSqrtStepFused` (FRSQRTS) when `rsqrt`:
/// (3 - a*b) / 2.
pub fn step_fused(f: Fmt, a: u64, b: u64, rsqrt: bool, fpcr: u32, fpsr: &mut u32) -> u64 {
    let a = a ^ (1 << (f.bits() - 1)); // FPNeg(op1), before NaN handling
    let x = unpack(f, a, fpcr, fpsr);
    let y = unpack(f, b, fpcr, fpsr);
    if let Some(r) = process_nans2(f, (&x, a), (&y, b), fpcr, fpsr) {
        return r;
    }
    if (x.kind == Kind::Inf && y.kind == Kind::Zero)
        || (x.kind == Kind::Zero && y.kind == Kind::Inf)
    {
        return if rsqrt {
            small_const(f, false, 0, 1, 1) // 1.5
        } else {
            small_const(f, false, 1, 0, 1) // 2.0
        };
    }
    if x.kind == Kind::Inf || y.kind == Kind::Inf {
        return inf(f, x.sign ^ y.sign);
    }
    let (pe, pm) = if x.kind == Kind::Zero || y.kind == Kind::Zero {
        (0, 0)
    } else {
        (x.exp + y.exp, x.man as u128 * y.man as u128)
    };
    let (ce, cm) = if rsqrt { (0, 3u128) } else { (1, 1u128) };
    match add_exact(false, ce, cm, x.sign ^ y.sign, pe, pm) {
        None => zero(f, exact_zero_sign(fpcr)),
        Some((s, e, m, st)) => {
            let e = if rsqrt { e - 1 } else { e };
            round(f, s, e, m, st, Rounding::from_fpcr(fpcr), fpcr, fpsr)
        }
    }
}

/// FRECPS.
pub fn recps(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    step_fused(f, a, b, false, fpcr, fpsr)
}
/// FRSQRTS.
pub fn rsqrts(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    step_fused(f, a, b, true, fpcr, fpsr)
}

/// FABD: |a - b| (the absolute value is applied to NaN results too).
pub fn abd(f: Fmt, a: u64, b: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    sub(f, a, b, fpcr, fpsr) & !(1 << (f.bits() - 1))
}
