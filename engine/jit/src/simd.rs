//! AdvSIMD helpers the translator emits inline on SSE2..SSE4.1 (the common integer,
//! logic, compare, pairwise and element-move operations); the rest stay helper calls.
//!
//! The helpers' immediates use `a64::simd`'s packing: op in bits 0..7, element size in
//! 8..15, lane count in 16..23, the by-element flag in bit 25, the index in 32..39 and
//! a second index in 40..47.

use a64::ir::Helper;

use crate::translate::Features;

/// Decoded immediate of a SIMD helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SImm {
    /// Operation index.
    pub op: u8,
    /// Element size in bits.
    pub esize: u32,
    /// Lanes.
    pub lanes: u32,
    /// By-element form.
    pub elem: bool,
    /// Index.
    pub sh: u32,
    /// Second index.
    pub idx2: u32,
}

impl SImm {
    /// Unpacks a helper immediate.
    pub fn of(v: u64) -> SImm {
        SImm {
            op: v as u8,
            esize: ((v >> 8) & 0xff) as u32,
            lanes: ((v >> 16) & 0xff) as u32,
            elem: (v >> 25) & 1 != 0,
            sh: ((v >> 32) & 0xff) as u32,
            idx2: ((v >> 40) & 0xff) as u32,
        }
    }

    /// The "second part" flag (bit 24) of a packed immediate.
    pub fn part2(v: u64) -> bool {
        (v >> 24) & 1 != 0
    }

    /// Total bits (64 or 128).
    pub fn bits(&self) -> u32 {
        self.esize * self.lanes
    }
}

/// Three-same operation indices (`a64::simd::lower::THREE_SAME_OPS`).
#[allow(missing_docs)]
pub mod ts {
    pub const ADD: u8 = 0;
    pub const SUB: u8 = 1;
    pub const SMAX: u8 = 15;
    pub const UMAX: u8 = 16;
    pub const SMIN: u8 = 17;
    pub const UMIN: u8 = 18;
    pub const CMEQ: u8 = 23;
    pub const CMGE: u8 = 24;
    pub const CMGT: u8 = 25;
    pub const CMHI: u8 = 26;
    pub const CMHS: u8 = 27;
    pub const CMTST: u8 = 28;
    pub const ADDP: u8 = 42;
    pub const UMAXP: u8 = 44;
    pub const UMINP: u8 = 46;
    pub const AND: u8 = 47;
    pub const BIC: u8 = 48;
    pub const ORR: u8 = 49;
    pub const ORN: u8 = 50;
    pub const EOR: u8 = 51;
    pub const BSL: u8 = 52;
    pub const BIT: u8 = 53;
    pub const BIF: u8 = 54;
}

/// Two-register-misc indices (`TWO_MISC_OPS`).
#[allow(missing_docs)]
pub mod tm {
    pub const REV16: u8 = 0;
    pub const REV32: u8 = 1;
    pub const REV64: u8 = 2;
    pub const NOT: u8 = 6;
    pub const CMEQ0: u8 = 14;
}

/// Whether `h` with `imm` is emitted inline.
pub fn inline(h: &Helper, imm: u64, f: Features) -> bool {
    if !f.sse41 {
        return false;
    }
    let i = SImm::of(imm);
    let sizes_ok = matches!(i.esize, 8 | 16 | 32 | 64) && matches!(i.bits(), 64 | 128);
    match h.name {
        "simd::three_same" => {
            if i.elem || !sizes_ok {
                return false;
            }
            match i.op {
                ts::AND..=ts::BIF => true,
                ts::ADD | ts::SUB | ts::CMEQ | ts::CMTST => true,
                ts::CMGT | ts::CMGE => i.esize < 64 || f.sse42,
                ts::SMAX | ts::UMAX | ts::SMIN | ts::UMIN | ts::CMHI | ts::CMHS => i.esize < 64,
                ts::ADDP => i.bits() == 128 && i.esize < 64,
                ts::UMAXP | ts::UMINP => i.bits() == 128 && i.esize == 8,
                _ => false,
            }
        }
        "simd::two_misc" => {
            sizes_ok
                && (i.op == tm::NOT
                    || (i.op == tm::CMEQ0 && i.esize < 64)
                    || (i.op <= tm::REV64 && rev_mask(i.op, i.esize).is_some()))
        }
        "simd::ext" => i.lanes == 8 || i.lanes == 16,
        // SHRN / SHRN2 to bytes or halfwords.
        "simd::shift_narrow" => {
            i.op == 0 && matches!(i.esize, 8 | 16) && i.bits() == 64 && i.sh >= 1 && i.sh <= i.esize
        }
        "simd::dup_gen" | "simd::dup_elem" => sizes_ok,
        "simd::umov" | "simd::ins_gen" | "simd::ins_elem" => {
            matches!(i.esize, 8 | 16 | 32 | 64) && i.sh * i.esize < 128 && i.idx2 * i.esize < 128
        }
        _ => false,
    }
}

/// PSHUFB masks for REV16/REV32/REV64 by (container, element size), byte indices.
static REV_MASKS: [[u8; 16]; 6] = {
    const fn mask(c: usize, e: usize) -> [u8; 16] {
        let mut m = [0u8; 16];
        let (cb, eb) = (c / 8, e / 8);
        let mut j = 0;
        while j < 16 {
            let q = j % cb;
            let (ei, bi) = (q / eb, q % eb);
            m[j] = ((j - q) + (cb / eb - 1 - ei) * eb + bi) as u8;
            j += 1;
        }
        m
    }
    [
        mask(16, 8),
        mask(32, 8),
        mask(32, 16),
        mask(64, 8),
        mask(64, 16),
        mask(64, 32),
    ]
};

/// The PSHUFB mask for two-misc REV op `op` (0 REV16, 1 REV32, 2 REV64) on `esize`.
pub fn rev_mask(op: u8, esize: u32) -> Option<&'static [u8; 16]> {
    let i = match (op, esize) {
        (0, 8) => 0,
        (1, 8) => 1,
        (1, 16) => 2,
        (2, 8) => 3,
        (2, 16) => 4,
        (2, 32) => 5,
        _ => return None,
    };
    Some(&REV_MASKS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rev_masks() {
        assert_eq!(rev_mask(0, 8).unwrap()[..4], [1, 0, 3, 2]);
        assert_eq!(rev_mask(1, 8).unwrap()[..4], [3, 2, 1, 0]);
        assert_eq!(rev_mask(2, 32).unwrap()[..8], [4, 5, 6, 7, 0, 1, 2, 3]);
        assert_eq!(rev_mask(1, 16).unwrap()[..4], [2, 3, 0, 1]);
        assert!(rev_mask(2, 64).is_none());
    }
}
