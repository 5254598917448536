//! The IR verifier: types, single definition before use, terminator operands.

use crate::ir::*;
use alloc::vec;

/// A verifier error: which op (index in `Block::ops`, or `ops.len()` for the terminator)
/// and what is wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("IR verify error at op {index}: {msg}")]
pub struct VerifyError {
    /// Index of the offending op.
    pub index: usize,
    /// Description.
    pub msg: &'static str,
}

/// Checks a block. Returns the first error found.
pub fn verify(block: &Block) -> Result<(), VerifyError> {
    let mut defined = vec![false; block.temps.len()];
    let mut insns = 0u32;
    for (index, op) in block.ops.iter().enumerate() {
        let err = |msg| Err(VerifyError { index, msg });
        let ty = |t: Temp| block.temps.get(t.0 as usize).copied();
        macro_rules! use_ {
            ($t:expr) => {{
                let t: Temp = $t;
                match ty(t) {
                    None => return err("temp out of range"),
                    Some(x) => {
                        if !defined[t.0 as usize] {
                            return err("temp used before definition");
                        }
                        x
                    }
                }
            }};
        }
        macro_rules! def {
            ($t:expr) => {{
                let t: Temp = $t;
                match ty(t) {
                    None => return err("temp out of range"),
                    Some(x) => {
                        if defined[t.0 as usize] {
                            return err("temp defined twice");
                        }
                        defined[t.0 as usize] = true;
                        x
                    }
                }
            }};
        }
        let check_reg = |r: Reg| match r {
            Reg::X(n) => n < 31,
            Reg::V(n) => n < 32,
            _ => true,
        };
        let size_ok = |a: &MemAttr| {
            matches!(a.size, 1 | 2 | 4 | 8 | 16) && (a.align <= 1 || a.align.is_power_of_two())
        };
        if index == 0 && !matches!(op, Op::Insn { .. }) {
            return err("block does not start with an Insn marker");
        }
        match *op {
            Op::Insn { .. } => insns += 1,
            Op::Const { dst, ty: t, val } => {
                if def!(dst) != t || val & !t.mask() != 0 {
                    return err("Const type mismatch");
                }
            }
            Op::PcRel { dst, .. } => {
                if def!(dst) != Ty::I64 {
                    return err("PcRel type mismatch");
                }
            }
            Op::Get { dst, reg } => {
                if !check_reg(reg) {
                    return err("bad register");
                }
                if def!(dst) != reg.ty() {
                    return err("Get type mismatch");
                }
            }
            Op::Set { reg, src } => {
                if !check_reg(reg) {
                    return err("bad register");
                }
                if use_!(src) != reg.ty() {
                    return err("Set type mismatch");
                }
            }
            Op::Bin {
                op,
                ty: t,
                dst,
                a,
                b,
            } => {
                let (ta, tb) = (use_!(a), use_!(b));
                if def!(dst) != t || ta != t || tb != t {
                    return err("Bin type mismatch");
                }
                if matches!(op, BinOp::UMulHi | BinOp::SMulHi) && t == Ty::I128 {
                    return err("MulHi on I128");
                }
            }
            Op::BinImm {
                op,
                ty: t,
                dst,
                a,
                imm,
            } => {
                if use_!(a) != t || def!(dst) != t || (imm as u128) & !t.mask() != 0 {
                    return err("BinImm type mismatch");
                }
                if matches!(op, BinOp::UMulHi | BinOp::SMulHi) && t == Ty::I128 {
                    return err("MulHi on I128");
                }
            }
            Op::Un { ty: t, dst, a, .. } => {
                if use_!(a) != t || def!(dst) != t {
                    return err("Un type mismatch");
                }
            }
            Op::Zext { dst, src } | Op::Sext { dst, src } => {
                let s = use_!(src);
                if def!(dst).bits() < s.bits() {
                    return err("extension to a narrower type");
                }
            }
            Op::Trunc { dst, src } => {
                let s = use_!(src);
                if def!(dst).bits() > s.bits() {
                    return err("truncation to a wider type");
                }
            }
            Op::Flags {
                ty: t,
                dst,
                a,
                b,
                c,
                ..
            } => {
                if use_!(a) != t || use_!(b) != t || use_!(c) != Ty::I8 || def!(dst) != Ty::I32 {
                    return err("Flags type mismatch");
                }
                if t == Ty::I128 {
                    return err("Flags on I128");
                }
            }
            Op::Cond { dst, cond, nzcv } => {
                if use_!(nzcv) != Ty::I32 || def!(dst) != Ty::I8 || cond > 15 {
                    return err("Cond type mismatch");
                }
            }
            Op::Select { dst, c, a, b } => {
                let (tc, ta, tb) = (use_!(c), use_!(a), use_!(b));
                if tc != Ty::I8 || ta != tb || def!(dst) != ta {
                    return err("Select type mismatch");
                }
            }
            Op::Load { dst, addr, attr } => {
                if use_!(addr) != Ty::I64 || !size_ok(&attr) || def!(dst).bytes() < attr.size as u32
                {
                    return err("Load type mismatch");
                }
            }
            Op::Store { addr, src, attr } => {
                if use_!(addr) != Ty::I64
                    || !size_ok(&attr)
                    || use_!(src).bytes() < attr.size as u32
                {
                    return err("Store type mismatch");
                }
            }
            Op::StoreExcl {
                status,
                addr,
                src,
                attr,
            } => {
                if use_!(addr) != Ty::I64
                    || !size_ok(&attr)
                    || use_!(src).bytes() < attr.size as u32
                    || def!(status) != Ty::I32
                {
                    return err("StoreExcl type mismatch");
                }
            }
            Op::ClearExcl | Op::Barrier(_) => {}
            Op::ExitIf { cond, insns: n, .. } => {
                if use_!(cond) != Ty::I8 {
                    return err("ExitIf condition not an I8");
                }
                if n != insns {
                    return err("ExitIf instruction count does not match its position");
                }
            }
            Op::DcZva { addr } => {
                if use_!(addr) != Ty::I64 {
                    return err("DcZva type mismatch");
                }
            }
            Op::SysRead { dst, .. } => {
                if def!(dst) != Ty::I64 {
                    return err("SysRead type mismatch");
                }
            }
            Op::SysWrite { src, .. } => {
                if use_!(src) != Ty::I64 {
                    return err("SysWrite type mismatch");
                }
            }
            Op::Call {
                dst,
                helper,
                args,
                nargs,
                ..
            } => {
                if nargs as usize != helper.args.len() || nargs > 3 {
                    return err("Call argument count mismatch");
                }
                for (i, &a) in args.iter().enumerate() {
                    let ta = use_!(a);
                    if i < nargs as usize && ta != helper.args[i] {
                        return err("Call argument type mismatch");
                    }
                }
                match (dst, helper.ret) {
                    (None, None) => {}
                    (Some(d), Some(r)) => {
                        if def!(d) != r {
                            return err("Call result type mismatch");
                        }
                    }
                    _ => return err("Call result presence mismatch"),
                }
            }
        }
    }
    let index = block.ops.len();
    let err = |msg| Err(VerifyError { index, msg });
    if block.ops.is_empty() {
        return err("empty block");
    }
    if insns != block.ninsns {
        return err("ninsns does not match the Insn markers");
    }
    let used = |t: Temp| {
        block
            .temps
            .get(t.0 as usize)
            .copied()
            .filter(|_| defined[t.0 as usize])
    };
    match block.term {
        Term::Jump(_) | Term::Exception { .. } => {}
        Term::Branch { cond, .. } => {
            if used(cond) != Some(Ty::I8) {
                return err("Branch condition not a defined I8");
            }
        }
        Term::Indirect { target, .. } => {
            if used(target) != Some(Ty::I64) {
                return err("Indirect target not a defined I64");
            }
        }
    }
    Ok(())
}
