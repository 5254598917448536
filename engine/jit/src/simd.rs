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
        "simd::two_misc" => sizes_ok && (i.op == tm::NOT || (i.op == tm::CMEQ0 && i.esize < 64)),
        "simd::dup_gen" | "simd::dup_elem" => sizes_ok,
        "simd::umov" | "simd::ins_gen" | "simd::ins_elem" => {
            matches!(i.esize, 8 | 16 | 32 | 64) && i.sh * i.esize < 128 && i.idx2 * i.esize < 128
        }
        _ => false,
    }
}
