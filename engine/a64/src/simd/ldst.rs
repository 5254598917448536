//! Element (de)interleaving for the AdvSIMD load/store structure instructions and the
//! partial table lookup used to build TBL/TBX with 2-4 table registers.
//!
//! A multiple-structure access of `n` registers (`LDn`/`STn`, n = 1..4) transfers `n`
//! chunks: chunk `j` holds the memory bytes `j*B .. (j+1)*B` (B = 8 or 16, the register
//! width), and the memory element sequence is `r0[0], r1[0], .., r(n-1)[0], r0[1], ...`.

use super::{build, elem};

/// Register `k` of an `n`-register structure load from the memory chunks `c`
/// (`c.len() == n`), `lanes` elements of `esize` bits per register.
pub fn deinterleave(c: &[u128], esize: u32, lanes: usize, k: usize) -> u128 {
    let n = c.len();
    build(esize, lanes, |i| {
        let e = i * n + k; // element index in memory order
        elem(c[e / lanes], esize, e % lanes)
    })
}

/// Memory chunk `j` of an `n`-register structure store of registers `r`.
pub fn interleave(r: &[u128], esize: u32, lanes: usize, j: usize) -> u128 {
    let n = r.len();
    build(esize, lanes, |i| {
        let e = j * lanes + i; // element index in memory order
        elem(r[e % n], esize, e / n)
    })
}

/// One step of a multi-register TBL/TBX: for each of `bytes` result bytes whose
/// index (in `idx`) selects table register `k` (index in `16k..16k+16`), take the
/// byte from `table`; other bytes keep `acc`. Starting from `acc = 0` (TBL) or
/// `acc = Vd` (TBX) and applying the steps for every table register gives the
/// instruction's result.
pub fn tbl_step(acc: u128, table: u128, idx: u128, k: usize, bytes: usize) -> u128 {
    build(8, bytes, |i| {
        let x = elem(idx, 8, i) as usize;
        if x / 16 == k {
            elem(table, 8, x % 16)
        } else {
            elem(acc, 8, i)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::perm::{permute, tbl, Permute};

    #[test]
    fn ld2_is_uzp() {
        let c0 = 0x0f0e0d0c0b0a09080706050403020100u128;
        let c1 = 0x1f1e1d1c1b1a19181716151413121110u128;
        for e in [8u32, 16, 32, 64] {
            let l = (128 / e) as usize;
            assert_eq!(
                deinterleave(&[c0, c1], e, l, 0),
                permute(Permute::Uzp1, e, l, c0, c1)
            );
            assert_eq!(
                deinterleave(&[c0, c1], e, l, 1),
                permute(Permute::Uzp2, e, l, c0, c1)
            );
        }
    }

    #[test]
    fn ld3_st3_round_trip() {
        let c = [
            0x0f0e0d0c0b0a09080706050403020100u128,
            0x1f1e1d1c1b1a19181716151413121110,
            0x2f2e2d2c2b2a29282726252423222120,
        ];
        // LD3 {v0.16b-v2.16b}: v0 = bytes 0,3,6,...
        let r0 = deinterleave(&c, 8, 16, 0);
        assert_eq!(r0 & 0xffff_ffff, 0x09060300);
        for (e, l) in [(8u32, 16usize), (16, 4), (32, 4), (64, 2), (8, 8)] {
            let r: [u128; 3] = core::array::from_fn(|k| deinterleave(&c, e, l, k));
            for (j, cj) in c.iter().enumerate() {
                let bits = e * l as u32;
                assert_eq!(
                    interleave(&r, e, l, j),
                    *cj & super::super::mask(bits),
                    "e={e} l={l} j={j}"
                );
            }
        }
    }

    #[test]
    fn tbl_steps_equal_tbl() {
        let t = [
            0x0f0e0d0c0b0a09080706050403020100u128,
            0x1f1e1d1c1b1a19181716151413121110,
            0x2f2e2d2c2b2a29282726252423222120,
            0x3f3e3d3c3b3a39383736353433323130,
        ];
        let idx = 0x45_3f_00_10_2a_31_07_ff_40_20_1f_0e_30_11_22_33u128;
        let d = 0xaaaa_bbbb_cccc_dddd_eeee_ffff_0000_1111u128;
        for n in 1..=4 {
            for tbx in [false, true] {
                let mut acc = if tbx { d } else { 0 };
                for (k, tk) in t.iter().enumerate().take(n) {
                    acc = tbl_step(acc, *tk, idx, k, 16);
                }
                assert_eq!(acc, tbl(tbx, 16, &t[..n], idx, d));
            }
        }
    }
}
