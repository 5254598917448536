//! FRECPE, FRSQRTE and FRECPX: Arm's table-based reciprocal (square root) estimates,
//! computed with the exact integer algorithms of the pseudocode.

use super::soft::{default_nan, inf, max_normal, process_nan, unpack, zero, Kind};
use super::{Fmt, Rounding, FPCR_FZ, FPSR_DZC, FPSR_IOC, FPSR_IXC, FPSR_OFC, FPSR_UFC};

/// `RecipEstimate` for a 9-bit input in [256, 512): an estimate in [256, 512).
const fn recip_estimate(a: u32) -> u32 {
    let a = a * 2 + 1;
    let b = (1u32 << 19) / a;
    b.div_ceil(2)
}

/// `RecipSqrtEstimate` for a 9-bit input in [128, 512): an estimate in [256, 512).
const fn rsqrt_estimate(a: u32) -> u32 {
    let a = if a < 256 {
        a * 2 + 1
    } else {
        ((a >> 1) << 1) * 2 + 2
    };
    let mut b: u64 = 512;
    while (a as u64) * (b + 1) * (b + 1) < (1u64 << 28) {
        b += 1;
    }
    b.div_ceil(2) as u32
}

const fn make_tables() -> ([u16; 256], [u16; 384]) {
    let mut r = [0u16; 256];
    let mut s = [0u16; 384];
    let mut i = 0;
    while i < 256 {
        r[i] = recip_estimate(256 + i as u32) as u16;
        i += 1;
    }
    let mut j = 0;
    while j < 384 {
        s[j] = rsqrt_estimate(128 + j as u32) as u16;
        j += 1;
    }
    (r, s)
}

const TABLES: ([u16; 256], [u16; 384]) = make_tables();

const MASK52: u64 = (1 << 52) - 1;

/// FRECPE (`FPRecipEstimate`).
pub fn recpe(f: Fmt, a: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    let bias = f.bias();
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(f, x.kind, a, fpcr, fpsr),
        Kind::Inf => return zero(f, x.sign),
        Kind::Zero => {
            *fpsr |= FPSR_DZC;
            return inf(f, x.sign);
        }
        Kind::Num => {}
    }
    let log2 = x.exp + 63; // floor(log2(|value|))
    if log2 < -(bias + 1) {
        let to_inf = match Rounding::from_fpcr(fpcr) {
            Rounding::TieEven => true,
            Rounding::PosInf => !x.sign,
            Rounding::NegInf => x.sign,
            _ => false,
        };
        *fpsr |= FPSR_OFC | FPSR_IXC;
        return if to_inf {
            inf(f, x.sign)
        } else {
            max_normal(f, x.sign)
        };
    }
    if f != Fmt::H && fpcr & FPCR_FZ != 0 && log2 >= bias - 1 {
        *fpsr |= FPSR_UFC;
        return zero(f, x.sign);
    }
    let a = a & f.mask();
    let mut fraction = (a & f.fmask()) << (52 - f.fbits());
    let mut exp = ((a >> f.fbits()) & f.emask()) as i32;
    if exp == 0 {
        if fraction >> 51 & 1 == 0 {
            exp = -1;
            fraction = (fraction << 2) & MASK52;
        } else {
            fraction = (fraction << 1) & MASK52;
        }
    }
    let scaled = (fraction >> 44) as usize; // the leading 1 is implicit in the table index
    let mut result_exp = 2 * bias - 1 - exp;
    let est = TABLES.0[scaled] as u64;
    let mut fraction = (est & 0xff) << 44;
    if result_exp == 0 {
        fraction = 1 << 51 | fraction >> 1;
    } else if result_exp == -1 {
        fraction = 1 << 50 | fraction >> 2;
        result_exp = 0;
    }
    zero(f, x.sign) | ((result_exp as u64) & f.emask()) << f.fbits() | fraction >> (52 - f.fbits())
}

/// FRSQRTE (`FPRSqrtEstimate`).
pub fn rsqrte(f: Fmt, a: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    match x.kind {
        Kind::QNaN | Kind::SNaN => return process_nan(f, x.kind, a, fpcr, fpsr),
        Kind::Zero => {
            *fpsr |= FPSR_DZC;
            return inf(f, x.sign);
        }
        _ if x.sign => {
            *fpsr |= FPSR_IOC;
            return default_nan(f);
        }
        Kind::Inf => return zero(f, false),
        Kind::Num => {}
    }
    let a = a & f.mask();
    let mut fraction = (a & f.fmask()) << (52 - f.fbits());
    let mut exp = ((a >> f.fbits()) & f.emask()) as i32;
    if exp == 0 {
        while fraction >> 51 & 1 == 0 {
            fraction <<= 1;
            exp -= 1;
        }
        fraction = (fraction << 1) & MASK52;
    }
    let scaled = if exp & 1 == 0 {
        256 | (fraction >> 44) as usize
    } else {
        128 | (fraction >> 45) as usize
    };
    let result_exp = (3 * f.bias() - 1 - exp) / 2;
    let est = TABLES.1[scaled - 128] as u64;
    ((result_exp as u64) & f.emask()) << f.fbits() | (est & 0xff) << (f.fbits() - 8)
}

/// FRECPX (`FPRecpX`): the exponent inverted, fraction zero.
pub fn recpx(f: Fmt, a: u64, fpcr: u32, fpsr: &mut u32) -> u64 {
    let x = unpack(f, a, fpcr, fpsr);
    if matches!(x.kind, Kind::QNaN | Kind::SNaN) {
        return process_nan(f, x.kind, a, fpcr, fpsr);
    }
    let exp = (a >> f.fbits()) & f.emask();
    let e = if exp == 0 {
        f.emask() - 1
    } else {
        !exp & f.emask()
    };
    zero(f, x.sign) | e << f.fbits()
}

/// URECPE element (`UnsignedRecipEstimate`): a 32-bit fixed-point reciprocal estimate.
pub fn urecpe(a: u32) -> u32 {
    if a >> 31 == 0 {
        return u32::MAX;
    }
    let est = TABLES.0[((a >> 23) & 0xff) as usize] as u32;
    (est & 0x1ff) << 23
}

/// URSQRTE element (`UnsignedRSqrtEstimate`): a 32-bit fixed-point 1/sqrt estimate.
pub fn ursqrte(a: u32) -> u32 {
    if a >> 30 == 0 {
        return u32::MAX;
    }
    let est = TABLES.1[((a >> 23) - 128) as usize] as u32;
    (est & 0x1ff) << 23
}
