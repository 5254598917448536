//! Branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET.

use crate::decode::fields as f;
use crate::ir::{BinOp, FlagOp, IndKind, Ty};
use crate::lower::Builder;

fn sext(v: u32, bits: u32) -> i64 {
    ((v as i64) << (64 - bits)) >> (64 - bits)
}

/// B / BL.
pub fn b_imm(b: &mut Builder, x: f::B_imm) {
    let target = b.pc.wrapping_add((sext(x.imm26, 26) << 2) as u64);
    if x.op != 0 {
        let ret = b.pc_rel(b.pc.wrapping_add(4));
        b.write_x(30, ret);
    }
    b.jump(target);
}

/// CBZ / CBNZ.
pub fn cbz(b: &mut Builder, x: f::CBZ) {
    let target = b.pc.wrapping_add((sext(x.imm19, 19) << 2) as u64);
    let v = b.read_x(x.rt, x.sf != 0);
    let fl = b.flags(FlagOp::Logic, v, v, None);
    let c = b.cond(x.op, fl); // EQ (0) for CBZ, NE (1) for CBNZ
    b.branch(c, target);
}

/// TBZ / TBNZ.
pub fn tbz(b: &mut Builder, x: f::TBZ) {
    let target = b.pc.wrapping_add((sext(x.imm14, 14) << 2) as u64);
    let bit = (x.b5 << 5) | x.b40;
    let v = b.read_x(x.rt, true);
    let s = b.bini(BinOp::LShr, v, bit as u128);
    let one = b.bini(BinOp::And, s, 1);
    let t = b.zext(one, Ty::I8);
    let c = if x.op == 0 {
        b.bini(BinOp::Xor, t, 1)
    } else {
        t
    };
    b.branch(c, target);
}

/// B.cond.
pub fn b_cond(b: &mut Builder, x: f::B_cond) {
    let target = b.pc.wrapping_add((sext(x.imm19, 19) << 2) as u64);
    if x.cond >= 14 {
        return b.jump(target);
    }
    let c = b.cond_now(x.cond);
    b.branch(c, target);
}

/// BR / BLR / RET.
pub fn br(b: &mut Builder, x: f::BR) {
    let kind = match x.op {
        0 => IndKind::Jump,
        1 => IndKind::Call,
        2 => IndKind::Ret,
        _ => return b.undef(),
    };
    let t = b.read_x(x.rn, true);
    if kind == IndKind::Call {
        let ret = b.pc_rel(b.pc.wrapping_add(4));
        b.write_x(30, ret);
    }
    b.indirect(t, kind);
}
