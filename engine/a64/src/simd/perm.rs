//! Permutes (ZIP/UZP/TRN/EXT/TBL/TBX), copies (DUP/INS/UMOV/SMOV) and
//! modified-immediate moves (MOVI/MVNI/ORR/BIC).

use super::{build, elem, mask, selem, trunc, with_elem};

/// ZIP/UZP/TRN permutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permute {
    Zip1,
    Zip2,
    Uzp1,
    Uzp2,
    Trn1,
    Trn2,
}

/// Executes a permute on `lanes` elements (`64/esize` or `128/esize`).
pub fn permute(op: Permute, esize: u32, lanes: usize, n: u128, m: u128) -> u128 {
    use Permute::*;
    let half = lanes / 2;
    build(esize, lanes, |i| match op {
        Zip1 | Zip2 => {
            let base = if op == Zip2 { half } else { 0 };
            let src = if i % 2 == 0 { n } else { m };
            elem(src, esize, base + i / 2)
        }
        Uzp1 | Uzp2 => {
            let k = 2 * i + usize::from(op == Uzp2);
            if k < lanes {
                elem(n, esize, k)
            } else {
                elem(m, esize, k - lanes)
            }
        }
        Trn1 | Trn2 => {
            let p = usize::from(op == Trn2);
            let src = if i % 2 == 0 { n } else { m };
            elem(src, esize, (i & !1) + p)
        }
    })
}

/// EXT: bytes `index..` of `Vm:Vn` (`bytes` = 8 or 16).
pub fn ext(bytes: u32, index: u32, n: u128, m: u128) -> u128 {
    let bits = bytes * 8;
    let (n, m) = (trunc(n, bits), trunc(m, bits));
    let sh = (index * 8) % bits;
    if sh == 0 {
        return n;
    }
    trunc((n >> sh) | (m << (bits - sh)), bits)
}

/// TBL (`tbx == false`) or TBX over the table registers `table` (1 to 4 registers),
/// `bytes` = 8 or 16 result bytes, `m` = indices, `d` = old destination.
pub fn tbl(tbx: bool, bytes: usize, table: &[u128], m: u128, d: u128) -> u128 {
    build(8, bytes, |i| {
        let idx = elem(m, 8, i) as usize;
        if idx < table.len() * 16 {
            elem(table[idx / 16], 8, idx % 16)
        } else if tbx {
            elem(d, 8, i)
        } else {
            0
        }
    })
}

/// DUP (element): replicate element `index` of `n`.
pub fn dup_elem(esize: u32, lanes: usize, index: usize, n: u128) -> u128 {
    let x = elem(n, esize, index);
    build(esize, lanes, |_| x)
}

/// DUP (general): replicate the low `esize` bits of a general register.
pub fn dup_gen(esize: u32, lanes: usize, x: u64) -> u128 {
    build(esize, lanes, |_| x)
}

/// INS (element): `d[dst] = n[src]`; other bits of `d` unchanged.
pub fn ins_elem(esize: u32, dst: usize, src: usize, n: u128, d: u128) -> u128 {
    with_elem(d, esize, dst, elem(n, esize, src))
}

/// INS (general): `d[dst] = x`.
pub fn ins_gen(esize: u32, dst: usize, x: u64, d: u128) -> u128 {
    with_elem(d, esize, dst, x)
}

/// UMOV: zero-extended element.
pub fn umov(esize: u32, index: usize, n: u128) -> u64 {
    elem(n, esize, index)
}

/// SMOV: sign-extended element, to a 32-bit (`to64 == false`, upper bits zero) or 64-bit result.
pub fn smov(esize: u32, index: usize, to64: bool, n: u128) -> u64 {
    let v = selem(n, esize, index) as u64;
    if to64 {
        v
    } else {
        v & 0xffff_ffff
    }
}

/// AdvSIMDExpandImm for the integer forms (`op`, `cmode`, `imm8`): the 64-bit pattern
/// that is replicated across the register. Returns `None` for the `op=1, cmode=1111`
/// encoding (reserved for integer; FMOV belongs to the FP code).
pub fn expand_imm(op: bool, cmode: u32, imm8: u8) -> Option<u64> {
    let i = imm8 as u64;
    let rep32 = |x: u64| x | (x << 32);
    let rep16 = |x: u64| x | (x << 16) | (x << 32) | (x << 48);
    Some(match cmode >> 1 {
        0 => rep32(i),
        1 => rep32(i << 8),
        2 => rep32(i << 16),
        3 => rep32(i << 24),
        4 => rep16(i),
        5 => rep16(i << 8),
        6 => {
            if cmode & 1 == 0 {
                rep32((i << 8) | 0xff)
            } else {
                rep32((i << 16) | 0xffff)
            }
        }
        _ => {
            if cmode & 1 == 0 {
                if !op {
                    i * 0x0101_0101_0101_0101
                } else {
                    let mut r = 0u64;
                    for b in 0..8 {
                        if (i >> b) & 1 != 0 {
                            r |= 0xff << (8 * b);
                        }
                    }
                    r
                }
            } else {
                return None;
            }
        }
    })
}

/// Modified-immediate operation kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModImm {
    Movi,
    Mvni,
    Orr,
    Bic,
}

/// Applies a modified-immediate operation with the expanded 64-bit pattern `imm`
/// over `bytes` (8 or 16) bytes of the register.
pub fn mod_imm(op: ModImm, bytes: u32, imm: u64, d: u128) -> u128 {
    let v = (imm as u128) | ((imm as u128) << 64);
    let r = match op {
        ModImm::Movi => v,
        ModImm::Mvni => !v,
        ModImm::Orr => d | v,
        ModImm::Bic => d & !v,
    };
    r & mask(bytes * 8)
}
