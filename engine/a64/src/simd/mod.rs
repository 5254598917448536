//! AdvSIMD integer and permute semantics.
//!
//! Every function here is pure: it takes 128-bit register values (`u128`, lane 0 in
//! the least significant bits, as in the Arm register file) plus the element size in
//! bits (`esize`: 8, 16, 32 or 64) and the number of lanes that the instruction
//! operates on (`lanes`: `64 / esize` or `128 / esize` for the vector forms, 1 for the
//! scalar forms). Results are the full new value of the destination register: bits
//! above `esize * lanes` are zero, exactly as an AdvSIMD write does. Saturating
//! operations set `*qc = true` when they saturate (the FPSR.QC cumulative bit) and
//! never clear it.

pub mod arith;
pub mod ldst;
pub mod lower;
pub mod misc;
pub mod perm;
pub mod shift;

#[cfg(test)]
mod difftest;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod unit;

/// Mask of the low `bits` bits (`bits` in 1..=128).
#[inline]
pub const fn mask(bits: u32) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

/// Element `i` of `v`, zero-extended.
#[inline]
pub fn elem(v: u128, esize: u32, i: usize) -> u64 {
    ((v >> (esize as usize * i)) & mask(esize)) as u64
}

/// Element `i` of `v`, sign-extended.
#[inline]
pub fn selem(v: u128, esize: u32, i: usize) -> i64 {
    sext(elem(v, esize, i), esize)
}

/// Returns `v` with element `i` replaced by the low `esize` bits of `x`.
#[inline]
pub fn with_elem(v: u128, esize: u32, i: usize, x: u64) -> u128 {
    let sh = esize as usize * i;
    let m = mask(esize) << sh;
    (v & !m) | (((x as u128) << sh) & m)
}

/// Sign-extends the low `bits` bits of `x`.
#[inline]
pub fn sext(x: u64, bits: u32) -> i64 {
    if bits >= 64 {
        x as i64
    } else {
        let s = 64 - bits;
        ((x << s) as i64) >> s
    }
}

/// Builds a vector of `lanes` elements from `f(i)` (upper bits zero).
#[inline]
pub fn build(esize: u32, lanes: usize, mut f: impl FnMut(usize) -> u64) -> u128 {
    let mut r = 0u128;
    for i in 0..lanes {
        r = with_elem(r, esize, i, f(i));
    }
    r
}

/// Saturates a signed value to `bits` bits, setting `qc` on saturation.
#[inline]
pub fn sat_s(x: i128, bits: u32, qc: &mut bool) -> u64 {
    let max = (1i128 << (bits - 1)) - 1;
    let min = -(1i128 << (bits - 1));
    if x > max {
        *qc = true;
        max as u64
    } else if x < min {
        *qc = true;
        min as u64
    } else {
        x as u64
    }
}

/// Saturates to an unsigned value of `bits` bits, setting `qc` on saturation.
#[inline]
pub fn sat_u(x: i128, bits: u32, qc: &mut bool) -> u64 {
    let max = mask(bits) as i128;
    if x > max {
        *qc = true;
        max as u64
    } else if x < 0 {
        *qc = true;
        0
    } else {
        x as u64
    }
}

/// Element value as a wide integer, signed or unsigned.
#[inline]
pub fn ival(v: u128, esize: u32, i: usize, signed: bool) -> i128 {
    if signed {
        selem(v, esize, i) as i128
    } else {
        elem(v, esize, i) as i128
    }
}

/// Keeps only the low `bits` of a register value (the write of a narrower result).
#[inline]
pub fn trunc(v: u128, bits: u32) -> u128 {
    v & mask(bits)
}
