//! Loads and stores of general and SIMD&FP registers (single, pair, exclusive, ordered,
//! literal, all addressing modes), and prefetches (no-ops).

use crate::decode::fields as f;
use crate::int::extend_reg;
use crate::ir::{BinOp, MemAttr, Op, Temp, Ty};
use crate::lower::Builder;

fn sext(v: u32, bits: u32) -> i64 {
    ((v as i64) << (64 - bits)) >> (64 - bits)
}

/// What a single-register load/store does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acc {
    /// Store the low `bytes` of the register.
    Store,
    /// Load and zero-extend (to the W/X or V register).
    Load,
    /// Load and sign-extend to I32 (`W`) or I64 (`X`).
    LoadSigned(Ty),
    /// Prefetch: no architectural effect.
    Prefetch,
}

/// A classified single-register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Class {
    /// Kind.
    pub acc: Acc,
    /// Size in bytes.
    pub bytes: u32,
    /// SIMD&FP register (`V`) or general register.
    pub vec: bool,
}

/// Classifies (size, V, opc) of the "load/store register" groups; `None` = UNDEF.
pub fn classify(size: u32, v: u32, opc: u32) -> Option<Class> {
    if v != 0 {
        let bytes = if opc & 2 != 0 {
            if size != 0 {
                return None;
            }
            16
        } else {
            1 << size
        };
        let acc = if opc & 1 != 0 { Acc::Load } else { Acc::Store };
        return Some(Class {
            acc,
            bytes,
            vec: true,
        });
    }
    let bytes = 1 << size;
    let acc = match (opc, size) {
        (0, _) => Acc::Store,
        (1, _) => Acc::Load,
        (2, 3) => Acc::Prefetch,
        (2, _) => Acc::LoadSigned(Ty::I64),
        (3, 0..=1) => Acc::LoadSigned(Ty::I32),
        _ => return None,
    };
    Some(Class {
        acc,
        bytes,
        vec: false,
    })
}

/// Performs the memory part of an access: a store is done; a load returns the loaded
/// (extended) value, to be written with [`commit`] after any base writeback.
pub fn access(b: &mut Builder, c: &Class, rt: u32, addr: Temp, attr: MemAttr) -> Option<Temp> {
    match c.acc {
        Acc::Prefetch => None,
        Acc::Store => {
            let v = store_value(b, c, rt);
            b.store(addr, v, attr);
            None
        }
        Acc::Load | Acc::LoadSigned(_) => {
            let raw = load_raw(b, c, addr, attr);
            Some(extend(b, c, raw))
        }
    }
}

/// The register a store of class `c` writes to memory.
fn store_value(b: &mut Builder, c: &Class, rt: u32) -> Temp {
    if c.vec {
        b.read_v(rt)
    } else {
        b.read_x(rt, c.bytes == 8)
    }
}

/// The load of class `c`, before any sign extension ([`extend`]).
fn load_raw(b: &mut Builder, c: &Class, addr: Temp, attr: MemAttr) -> Temp {
    let ty = match c.acc {
        Acc::LoadSigned(_) => Ty::from_bytes(c.bytes).unwrap_or(Ty::I64),
        _ if c.vec => Ty::I128,
        _ if c.bytes == 8 => Ty::I64,
        _ => Ty::I32,
    };
    b.load(addr, attr, ty)
}

/// A loaded value extended as class `c` wants.
fn extend(b: &mut Builder, c: &Class, raw: Temp) -> Temp {
    match c.acc {
        Acc::LoadSigned(to) => b.sext(raw, to),
        _ => raw,
    }
}

/// Writes a loaded value to its destination register.
pub fn commit(b: &mut Builder, c: &Class, rt: u32, v: Temp) {
    if c.vec {
        b.write_v(rt, v)
    } else {
        b.write_x(rt, v)
    }
}

fn attr(bytes: u32) -> MemAttr {
    MemAttr::plain(bytes as u8)
}

/// LDR/STR/LDRS*/PRFM (unsigned offset).
pub fn uimm(b: &mut Builder, x: f::LDST_uimm) {
    let Some(c) = classify(x.size, x.V, x.opc) else {
        return b.undef();
    };
    let base = b.read_xsp(x.rn, true);
    let off = (x.imm12 as u128) << c.bytes.trailing_zeros();
    let addr = b.bini(BinOp::Add, base, off);
    if let Some(v) = access(b, &c, x.rt, addr, attr(c.bytes)) {
        commit(b, &c, x.rt, v);
    }
}

/// LDUR/STUR/PRFUM, post-index, pre-index and LDTR/STTR (9-bit signed offset).
pub fn imm9(b: &mut Builder, x: f::LDST_imm9) {
    let Some(c) = classify(x.size, x.V, x.opc) else {
        return b.undef();
    };
    if x.mode != 0 && c.acc == Acc::Prefetch {
        return b.undef();
    }
    if x.mode == 2 && c.vec {
        return b.undef();
    }
    let mut a = attr(c.bytes);
    a.unpriv = x.mode == 2;
    let base = b.read_xsp(x.rn, true);
    let off = sext(x.imm9, 9) as u64 as u128;
    let moved = b.bini(BinOp::Add, base, off);
    let addr = if x.mode == 1 { base } else { moved };
    let v = access(b, &c, x.rt, addr, a);
    if x.mode == 1 || x.mode == 3 {
        b.write_xsp(x.rn, moved);
    }
    if let Some(v) = v {
        commit(b, &c, x.rt, v);
    }
}

/// LDR/STR/LDRS*/PRFM (register offset).
pub fn roff(b: &mut Builder, x: f::LDST_roff) {
    let Some(c) = classify(x.size, x.V, x.opc) else {
        return b.undef();
    };
    if x.option & 2 == 0 {
        return b.undef();
    }
    let base = b.read_xsp(x.rn, true);
    let m = b.read_x(x.rm, true);
    let sh = if x.S != 0 {
        c.bytes.trailing_zeros()
    } else {
        0
    };
    let off = extend_reg(b, m, x.option, sh, Ty::I64);
    let addr = b.bin(BinOp::Add, base, off);
    if let Some(v) = access(b, &c, x.rt, addr, attr(c.bytes)) {
        commit(b, &c, x.rt, v);
    }
}

/// LDR (literal), LDRSW (literal), PRFM (literal).
pub fn literal(b: &mut Builder, x: f::LDR_lit) {
    let c = match (x.opc, x.V) {
        (0, v) => Class {
            acc: Acc::Load,
            bytes: 4,
            vec: v != 0,
        },
        (1, v) => Class {
            acc: Acc::Load,
            bytes: 8,
            vec: v != 0,
        },
        (2, 0) => Class {
            acc: Acc::LoadSigned(Ty::I64),
            bytes: 4,
            vec: false,
        },
        (2, _) => Class {
            acc: Acc::Load,
            bytes: 16,
            vec: true,
        },
        (3, 0) => return,
        _ => return b.undef(),
    };
    let addr = b.pc_rel(b.pc.wrapping_add((sext(x.imm19, 19) << 2) as u64));
    if let Some(v) = access(b, &c, x.rt, addr, attr(c.bytes)) {
        commit(b, &c, x.rt, v);
    }
}

/// LDP/STP/LDPSW/LDNP/STNP of general and SIMD&FP registers, all index modes.
pub fn pair(b: &mut Builder, x: f::LDST_pair) {
    let load = x.L != 0;
    let (bytes, vec, signed) = match (x.opc, x.V) {
        (0, 0) => (4, false, false),
        (1, 0) if load && x.mode != 0 => (4, false, true),
        (2, 0) => (8, false, false),
        (0, 1) => (4, true, false),
        (1, 1) => (8, true, false),
        (2, 1) => (16, true, false),
        _ => return b.undef(),
    };
    let acc = match (load, signed) {
        (false, _) => Acc::Store,
        (true, false) => Acc::Load,
        (true, true) => Acc::LoadSigned(Ty::I64),
    };
    let c = Class { acc, bytes, vec };
    let mut a = attr(bytes);
    a.nontemporal = x.mode == 0;
    let base = b.read_xsp(x.rn, true);
    let off = (sext(x.imm7, 7) << bytes.trailing_zeros()) as u64 as u128;
    let moved = b.bini(BinOp::Add, base, off);
    let addr1 = if x.mode == 1 { base } else { moved };
    let addr2 = b.bini(BinOp::Add, addr1, bytes as u128);
    // The two accesses are adjacent ops (registers read, or values extended, around
    // them): the translator probes the TLB once for both.
    let (v1, v2) = if load {
        let r1 = load_raw(b, &c, addr1, a);
        let r2 = load_raw(b, &c, addr2, a);
        (Some(extend(b, &c, r1)), Some(extend(b, &c, r2)))
    } else {
        let s1 = store_value(b, &c, x.rt);
        let s2 = store_value(b, &c, x.rt2);
        b.store(addr1, s1, a);
        b.store(addr2, s2, a);
        (None, None)
    };
    if x.mode == 1 || x.mode == 3 {
        b.write_xsp(x.rn, moved);
    }
    if let (Some(v1), Some(v2)) = (v1, v2) {
        commit(b, &c, x.rt, v1);
        commit(b, &c, x.rt2, v2);
    }
}

fn ordered_attr(bytes: u32, acquire: bool, release: bool, exclusive: bool) -> MemAttr {
    MemAttr {
        size: bytes as u8,
        acquire,
        release,
        exclusive,
        unpriv: false,
        align: bytes as u8,
        nontemporal: false,
    }
}

/// LDXR/LDAXR/STXR/STLXR (all sizes).
pub fn excl(b: &mut Builder, x: f::LDST_excl) {
    let bytes = 1u32 << x.size;
    let sf = bytes == 8;
    let addr = b.read_xsp(x.rn, true);
    if x.L != 0 {
        let a = ordered_attr(bytes, x.o0 != 0, false, true);
        let v = b.load(addr, a, if sf { Ty::I64 } else { Ty::I32 });
        b.write_x(x.rt, v);
    } else {
        let a = ordered_attr(bytes, false, x.o0 != 0, true);
        let v = b.read_x(x.rt, sf);
        let st = b.temp(Ty::I32);
        b.emit(Op::StoreExcl {
            status: st,
            addr,
            src: v,
            attr: a,
        });
        b.write_x(x.rs, st);
    }
}

/// LDXP/LDAXP/STXP/STLXP.
pub fn excl_pair(b: &mut Builder, x: f::LDST_exclp) {
    let sf = x.sz != 0;
    let (rty, total, wide) = if sf {
        (Ty::I64, 16u32, Ty::I128)
    } else {
        (Ty::I32, 8u32, Ty::I64)
    };
    let addr = b.read_xsp(x.rn, true);
    if x.L != 0 {
        let a = ordered_attr(total, x.o0 != 0, false, true);
        let v = b.load(addr, a, wide);
        let lo = b.zext(v, rty);
        let hs = b.bini(BinOp::LShr, v, rty.bits() as u128);
        let hi = b.zext(hs, rty);
        b.write_x(x.rt, lo);
        b.write_x(x.rt2, hi);
    } else {
        let a = ordered_attr(total, false, x.o0 != 0, true);
        let lo = b.read_x(x.rt, sf);
        let hi = b.read_x(x.rt2, sf);
        let lw = b.zext(lo, wide);
        let hw = b.zext(hi, wide);
        let hs = b.bini(BinOp::Shl, hw, rty.bits() as u128);
        let v = b.bin(BinOp::Or, lw, hs);
        let st = b.temp(Ty::I32);
        b.emit(Op::StoreExcl {
            status: st,
            addr,
            src: v,
            attr: a,
        });
        b.write_x(x.rs, st);
    }
}

/// LDAR/STLR (all sizes).
pub fn ordered(b: &mut Builder, x: f::LDST_ordered) {
    let bytes = 1u32 << x.size;
    let sf = bytes == 8;
    let addr = b.read_xsp(x.rn, true);
    if x.L != 0 {
        let v = b.load(
            addr,
            ordered_attr(bytes, true, false, false),
            if sf { Ty::I64 } else { Ty::I32 },
        );
        b.write_x(x.rt, v);
    } else {
        let v = b.read_x(x.rt, sf);
        b.store(addr, v, ordered_attr(bytes, false, true, false));
    }
}
