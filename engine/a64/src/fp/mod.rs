//! Scalar floating point with exact Arm semantics.
//!
//! A softfloat library over raw bit patterns (`u64` holding an f16, f32 or f64) that follows
//! the Arm ARM pseudocode (`FPRoundBase`, `FPUnpack`, `FPProcessNaNs`, ...) exactly,
//! including FPCR.{RMode, FZ, DN} and the FPSR cumulative flags. No host floating point
//! is used, so it runs unchanged in the `no_std` engine.

mod estimate;
/// Lowering of the FP instructions (tables/fp.tbl) and their helpers.
pub mod lower;
mod soft;
pub mod vec;

#[cfg(test)]
mod insn_diff;
#[cfg(test)]
mod qemu_diff;
#[cfg(test)]
mod tests;

pub use estimate::{recpe, recpx, rsqrte, urecpe, ursqrte};
pub use soft::{
    abd, add, add_sub, compare, compare_eq, compare_ge_gt, convert, default_nan, div, from_fixed,
    max, max_min, max_min_num, maxnm, min, minnm, mul, mul_add, mulx, recps, round_int, rsqrts,
    sqrt, step_fused, sub, to_fixed,
};

/// FPCR.AHP (alternative half precision; ignored: v8.0 guests get IEEE half).
pub const FPCR_AHP: u32 = 1 << 26;
/// FPCR.DN: default NaN.
pub const FPCR_DN: u32 = 1 << 25;
/// FPCR.FZ: flush denormals to zero (single and double precision).
pub const FPCR_FZ: u32 = 1 << 24;
/// FPCR.RMode field shift (bits 23:22).
pub const FPCR_RMODE_SHIFT: u32 = 22;

/// FPSR.IOC: invalid operation.
pub const FPSR_IOC: u32 = 1 << 0;
/// FPSR.DZC: divide by zero.
pub const FPSR_DZC: u32 = 1 << 1;
/// FPSR.OFC: overflow.
pub const FPSR_OFC: u32 = 1 << 2;
/// FPSR.UFC: underflow.
pub const FPSR_UFC: u32 = 1 << 3;
/// FPSR.IXC: inexact.
pub const FPSR_IXC: u32 = 1 << 4;
/// FPSR.IDC: input denormal.
pub const FPSR_IDC: u32 = 1 << 7;
/// FPSR.QC: saturation (AdvSIMD integer ops; not set by FP).
pub const FPSR_QC: u32 = 1 << 27;

/// A floating-point format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fmt {
    /// IEEE half precision.
    H,
    /// Single precision.
    S,
    /// Double precision.
    D,
}

impl Fmt {
    /// Format from an Arm `ftype`/`size` style width in bits (16, 32, 64).
    pub const fn from_bits(bits: u32) -> Option<Fmt> {
        match bits {
            16 => Some(Fmt::H),
            32 => Some(Fmt::S),
            64 => Some(Fmt::D),
            _ => None,
        }
    }
    /// Total width in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            Fmt::H => 16,
            Fmt::S => 32,
            Fmt::D => 64,
        }
    }
    /// Exponent width.
    #[inline]
    pub const fn ebits(self) -> u32 {
        match self {
            Fmt::H => 5,
            Fmt::S => 8,
            Fmt::D => 11,
        }
    }
    /// Fraction width.
    #[inline]
    pub const fn fbits(self) -> u32 {
        self.bits() - self.ebits() - 1
    }
    /// Mask of the whole value.
    #[inline]
    pub const fn mask(self) -> u64 {
        if self.bits() == 64 {
            u64::MAX
        } else {
            (1u64 << self.bits()) - 1
        }
    }
    #[inline]
    pub(crate) const fn emask(self) -> u64 {
        (1u64 << self.ebits()) - 1
    }
    #[inline]
    pub(crate) const fn fmask(self) -> u64 {
        (1u64 << self.fbits()) - 1
    }
    #[inline]
    pub(crate) const fn bias(self) -> i32 {
        (1i32 << (self.ebits() - 1)) - 1
    }
    /// Exponent of the smallest normal number.
    #[inline]
    pub(crate) const fn emin(self) -> i32 {
        1 - self.bias()
    }
    /// Sign bit.
    #[inline]
    pub const fn sign_bit(self) -> u64 {
        1u64 << (self.bits() - 1)
    }
    /// FNEG.
    #[inline]
    pub const fn neg(self, a: u64) -> u64 {
        (a ^ self.sign_bit()) & self.mask()
    }
    /// FABS.
    #[inline]
    pub const fn abs(self, a: u64) -> u64 {
        a & !self.sign_bit() & self.mask()
    }
}

/// Rounding mode (Arm's `FPRounding`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Rounding {
    /// Round to nearest, ties to even (RN).
    TieEven,
    /// Towards plus infinity (RP).
    PosInf,
    /// Towards minus infinity (RM).
    NegInf,
    /// Towards zero (RZ).
    Zero,
    /// Round to nearest, ties away from zero (FRINTA, FCVTA*).
    TieAway,
    /// Round to odd (FCVTXN).
    Odd,
}

impl Rounding {
    /// The mode selected by FPCR.RMode.
    #[inline]
    pub const fn from_fpcr(fpcr: u32) -> Rounding {
        Self::from_rmode(fpcr >> FPCR_RMODE_SHIFT)
    }
    /// Decode a 2-bit RMode value (0 RN, 1 RP, 2 RM, 3 RZ).
    #[inline]
    pub const fn from_rmode(rmode: u32) -> Rounding {
        match rmode & 3 {
            0 => Rounding::TieEven,
            1 => Rounding::PosInf,
            2 => Rounding::NegInf,
            _ => Rounding::Zero,
        }
    }
}
