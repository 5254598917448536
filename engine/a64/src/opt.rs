//! IR passes: plain functions over a [`Block`].
//!
//! [`optimize`] forwards guest register values inside a block (a `Get` after a `Get`/`Set`
//! of the same register reuses the known temporary), drops register writes that are
//! overwritten before anything could observe them, and removes pure ops whose results are
//! unused. Observable state at every possible fault point (loads, stores, helper calls,
//! system register accesses), at side exits and at the block end is unchanged.

use crate::ir::{Block, Op, Reg, Temp, Term};
use alloc::vec;
use alloc::vec::Vec;

/// Calls `f` on every temporary the op reads.
pub fn for_each_use(op: &mut Op, mut f: impl FnMut(&mut Temp)) {
    match op {
        Op::Insn { .. }
        | Op::Const { .. }
        | Op::PcRel { .. }
        | Op::Get { .. }
        | Op::ClearExcl
        | Op::Barrier(_)
        | Op::SysRead { .. } => {}
        Op::Set { src, .. } | Op::SysWrite { src, .. } => f(src),
        Op::Bin { a, b, .. } => {
            f(a);
            f(b)
        }
        Op::BinImm { a, .. } | Op::Un { a, .. } => f(a),
        Op::Zext { src, .. } | Op::Sext { src, .. } | Op::Trunc { src, .. } => f(src),
        Op::Flags { a, b, c, .. } => {
            f(a);
            f(b);
            f(c)
        }
        Op::Cond { nzcv, .. } => f(nzcv),
        Op::ExitIf { cond, .. } => f(cond),
        Op::Select { c, a, b, .. } => {
            f(c);
            f(a);
            f(b)
        }
        Op::Load { addr, .. } | Op::DcZva { addr } => f(addr),
        Op::Store { addr, src, .. } | Op::StoreExcl { addr, src, .. } => {
            f(addr);
            f(src)
        }
        Op::Call { args, .. } => {
            for a in args.iter_mut() {
                f(a)
            }
        }
    }
}

/// The temporaries the op reads (at most three), without copying the op.
#[inline]
pub fn uses_of(op: &Op) -> ([Temp; 3], usize) {
    let z = Temp(0);
    match *op {
        Op::Insn { .. }
        | Op::Const { .. }
        | Op::PcRel { .. }
        | Op::Get { .. }
        | Op::ClearExcl
        | Op::Barrier(_)
        | Op::SysRead { .. } => ([z; 3], 0),
        Op::Set { src, .. } | Op::SysWrite { src, .. } => ([src, z, z], 1),
        Op::Bin { a, b, .. } => ([a, b, z], 2),
        Op::BinImm { a, .. } | Op::Un { a, .. } => ([a, z, z], 1),
        Op::Zext { src, .. } | Op::Sext { src, .. } | Op::Trunc { src, .. } => ([src, z, z], 1),
        Op::Flags { a, b, c, .. } => ([a, b, c], 3),
        Op::Cond { nzcv, .. } => ([nzcv, z, z], 1),
        Op::ExitIf { cond, .. } => ([cond, z, z], 1),
        Op::Select { c, a, b, .. } => ([c, a, b], 3),
        Op::Load { addr, .. } | Op::DcZva { addr } => ([addr, z, z], 1),
        Op::Store { addr, src, .. } | Op::StoreExcl { addr, src, .. } => ([addr, src, z], 2),
        Op::Call { args, nargs, .. } => (args, usize::from(nargs).min(3)),
    }
}

/// The temporary an op defines, if any.
#[inline]
pub fn def_of(op: &Op) -> Option<Temp> {
    match *op {
        Op::Const { dst, .. }
        | Op::PcRel { dst, .. }
        | Op::Get { dst, .. }
        | Op::Bin { dst, .. }
        | Op::BinImm { dst, .. }
        | Op::Un { dst, .. }
        | Op::Zext { dst, .. }
        | Op::Sext { dst, .. }
        | Op::Trunc { dst, .. }
        | Op::Flags { dst, .. }
        | Op::Cond { dst, .. }
        | Op::Select { dst, .. }
        | Op::Load { dst, .. }
        | Op::SysRead { dst, .. } => Some(dst),
        Op::StoreExcl { status, .. } => Some(status),
        Op::Call { dst, .. } => dst,
        _ => None,
    }
}

/// Whether the op only computes its result: it neither observes nor changes the guest
/// state beyond reading guest registers (`Get`) and its operands.
#[inline]
pub fn is_pure(op: &Op) -> bool {
    if let Op::Call { helper, .. } = op {
        return helper.is_pure();
    }
    matches!(
        op,
        Op::Const { .. }
            | Op::PcRel { .. }
            | Op::Get { .. }
            | Op::Bin { .. }
            | Op::BinImm { .. }
            | Op::Un { .. }
            | Op::Zext { .. }
            | Op::Sext { .. }
            | Op::Trunc { .. }
            | Op::Flags { .. }
            | Op::Cond { .. }
            | Op::Select { .. }
    )
}

/// Whether the whole guest state may be observed (fault, system register, exit) at this
/// op. A helper call observes only FPCR and FPSR (see `remove_dead_sets`).
fn observes_state(op: &Op) -> bool {
    matches!(
        op,
        Op::Load { .. }
            | Op::Store { .. }
            | Op::StoreExcl { .. }
            | Op::DcZva { .. }
            | Op::SysRead { .. }
            | Op::SysWrite { .. }
            | Op::ExitIf { .. }
    )
}

fn reg_slot(r: Reg) -> usize {
    match r {
        Reg::X(n) => n as usize,
        Reg::Sp => 31,
        Reg::V(n) => 32 + n as usize,
        Reg::Nzcv => 64,
        Reg::Fpcr => 65,
        Reg::Fpsr => 66,
    }
}

const NSLOTS: usize = 67;

/// Runs all passes.
pub fn optimize(block: &mut Block) {
    forward_registers(block);
    split_selected_conditions(block);
    remove_dead_sets(block);
    crate::crypto::lower::fuse_aes_rounds(block);
    remove_dead_code(block);
}

/// Reuses known register values instead of re-reading registers.
pub fn forward_registers(block: &mut Block) {
    let mut known: [Option<Temp>; NSLOTS] = [None; NSLOTS];
    let mut rename: Vec<Temp> = (0..block.temps.len() as u32).map(Temp).collect();
    // Temps known to hold a valid NZCV value (only bits 31..28): a `Set` of NZCV masks
    // its value, so only those can be forwarded unchanged.
    let mut clean_nzcv = vec![false; block.temps.len()];
    // Compacts in place: op `r` is kept at `w <= r`.
    let mut w = 0;
    for r in 0..block.ops.len() {
        let mut op = block.ops[r];
        for_each_use(&mut op, |t| *t = rename[t.0 as usize]);
        match op {
            Op::Flags { dst, .. } => clean_nzcv[dst.0 as usize] = true,
            Op::Const { dst, val, .. } => {
                clean_nzcv[dst.0 as usize] = val & !(crate::state::flags::MASK as u128) == 0
            }
            Op::Select { dst, a, b, .. } => {
                clean_nzcv[dst.0 as usize] = clean_nzcv[a.0 as usize] && clean_nzcv[b.0 as usize]
            }
            _ => {}
        }
        match op {
            Op::Get { dst, reg } => {
                let s = reg_slot(reg);
                if let Some(k) = known[s] {
                    rename[dst.0 as usize] = k;
                    continue;
                }
                known[s] = Some(dst);
                if reg == Reg::Nzcv {
                    clean_nzcv[dst.0 as usize] = true;
                }
            }
            Op::Set { reg, src } => {
                known[reg_slot(reg)] = match reg {
                    Reg::Nzcv if clean_nzcv[src.0 as usize] => Some(src),
                    // FPCR/FPSR/NZCV writes mask the value: re-read after them.
                    Reg::Nzcv | Reg::Fpcr | Reg::Fpsr => None,
                    _ => Some(src),
                }
            }
            Op::Call { helper, .. } if helper.is_pure() => {}
            // Helpers read FPCR and may write FPSR, nothing else (see `Helper`).
            Op::Call { .. } => known[reg_slot(Reg::Fpsr)] = None,
            // System register writes may change NZCV/FPCR/FPSR: forget everything but the
            // X registers and SP.
            Op::SysWrite { .. } => {
                for k in known.iter_mut().skip(32) {
                    *k = None;
                }
            }
            _ => {}
        }
        block.ops[w] = op;
        w += 1;
    }
    block.ops.truncate(w);
    match &mut block.term {
        Term::Branch { cond, .. } => *cond = rename[cond.0 as usize],
        Term::Indirect { target, .. } => *target = rename[target.0 as usize],
        _ => {}
    }
}

/// A condition on a selected NZCV (what CCMP/CCMN and a following B.cond or CSEL
/// become: `s = c1 ? flags : #nzcv; d = cond(s)`) becomes a selection between the
/// condition on the flags and the condition's constant value on `#nzcv`:
/// `d = c1 ? cond(flags) : K`. The condition on the flags can then come straight from
/// the host flags, and `s` is left for the NZCV write alone.
pub fn split_selected_conditions(block: &mut Block) {
    if !block.ops.iter().any(|o| matches!(o, Op::Select { .. })) {
        return;
    }
    let n = block.temps.len();
    // Per temp: (c1, flags temp, constant NZCV) of a Select of a Flags result and a Const.
    let mut flags = vec![false; n];
    let mut konst: Vec<Option<u128>> = vec![None; n];
    let mut sel: Vec<Option<(Temp, Temp, u32)>> = vec![None; n];
    let mut out = Vec::with_capacity(block.ops.len() + 8);
    for op in block.ops.drain(..) {
        match op {
            Op::Flags { dst, .. } => flags[dst.0 as usize] = true,
            Op::Const { dst, val, .. } => konst[dst.0 as usize] = Some(val),
            Op::Select { dst, c, a, b } if flags[a.0 as usize] => {
                if let Some(k) = konst[b.0 as usize] {
                    sel[dst.0 as usize] = Some((c, a, k as u32));
                }
            }
            Op::Cond { dst, cond, nzcv } => {
                if let Some((c1, f, k)) = sel[nzcv.0 as usize] {
                    let on_flags = Temp(block.temps.len() as u32);
                    block.temps.push(crate::ir::Ty::I8);
                    let on_k = Temp(block.temps.len() as u32);
                    block.temps.push(crate::ir::Ty::I8);
                    out.push(Op::Cond {
                        dst: on_flags,
                        cond,
                        nzcv: f,
                    });
                    out.push(Op::Const {
                        dst: on_k,
                        ty: crate::ir::Ty::I8,
                        val: u128::from(crate::interp::cond_holds(cond, k)),
                    });
                    out.push(Op::Select {
                        dst,
                        c: c1,
                        a: on_flags,
                        b: on_k,
                    });
                    continue;
                }
            }
            _ => {}
        }
        out.push(op);
    }
    block.ops = out;
}

/// Drops `Set`s overwritten by a later `Set` of the same register with nothing in between
/// that could observe the guest state.
pub fn remove_dead_sets(block: &mut Block) {
    let mut pending: [Option<usize>; NSLOTS] = [None; NSLOTS];
    let mut dead = vec![false; block.ops.len()];
    for (i, op) in block.ops.iter().enumerate() {
        if let Op::Call { helper, .. } = op {
            // A helper reads FPCR and may read and write FPSR, and observes nothing else
            // (it cannot fault): the other pending writes stay pending.
            if !helper.is_pure() {
                pending[reg_slot(Reg::Fpcr)] = None;
                pending[reg_slot(Reg::Fpsr)] = None;
            }
            continue;
        }
        if observes_state(op) {
            pending = [None; NSLOTS];
            continue;
        }
        match *op {
            Op::Set { reg, .. } => {
                let s = reg_slot(reg);
                if let Some(prev) = pending[s] {
                    dead[prev] = true;
                }
                pending[s] = Some(i);
            }
            Op::Get { reg, .. } => pending[reg_slot(reg)] = None,
            _ => {}
        }
    }
    let mut i = 0;
    block.ops.retain(|_| {
        let keep = !dead[i];
        i += 1;
        keep
    });
}

/// Removes pure ops whose results are never used.
pub fn remove_dead_code(block: &mut Block) {
    let mut used = vec![false; block.temps.len()];
    match block.term {
        Term::Branch { cond, .. } => used[cond.0 as usize] = true,
        Term::Indirect { target, .. } => used[target.0 as usize] = true,
        _ => {}
    }
    let mut keep = vec![true; block.ops.len()];
    for i in (0..block.ops.len()).rev() {
        let op = &mut block.ops[i];
        if is_pure(op) {
            if let Some(d) = def_of(op) {
                if !used[d.0 as usize] {
                    keep[i] = false;
                    continue;
                }
            }
        }
        for_each_use(op, |t| used[t.0 as usize] = true);
    }
    let mut i = 0;
    block.ops.retain(|_| {
        let k = keep[i];
        i += 1;
        k
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::BinOp;
    use crate::lower::lower_block;

    fn optimized(code: &[u32]) -> Block {
        let mut fetch =
            |pc: u64| -> Result<u32, ()> { code.get(pc as usize / 4).copied().ok_or(()) };
        let mut b = lower_block(0, 1, code.len() as u32, &mut fetch).unwrap();
        optimize(&mut b);
        b
    }

    fn gets(b: &Block, reg: Reg) -> usize {
        b.ops
            .iter()
            .filter(|o| matches!(o, Op::Get { reg: r, .. } if *r == reg))
            .count()
    }

    fn sets(b: &Block, reg: Reg) -> usize {
        b.ops
            .iter()
            .filter(|o| matches!(o, Op::Set { reg: r, .. } if *r == reg))
            .count()
    }

    #[test]
    fn vector_registers_are_forwarded_across_simd_helpers() {
        // add v1.4s, v2.4s, v3.4s; add v4.4s, v2.4s, v1.4s: V2 is read once, and V1 only
        // by the first add (its helper also takes Vd); the second add's V1 is the first
        // add's result.
        let b = optimized(&[0x4ea38441, 0x4ea18444]);
        assert!(
            b.ops.iter().any(|o| matches!(o, Op::Call { .. })),
            "{:?}",
            b.ops
        );
        assert_eq!(gets(&b, Reg::V(2)), 1, "{:?}", b.ops);
        assert_eq!(gets(&b, Reg::V(1)), 1, "{:?}", b.ops);
    }

    #[test]
    fn a_write_overwritten_after_a_simd_helper_is_dropped() {
        // mov v5.16b, v6.16b; add v5.4s, v5.4s, v5.4s: only the add's V5 is written, and
        // the MOV is the value itself (no OR).
        let b = optimized(&[0x4ea61cc5, 0x4ea584a5]);
        assert_eq!(sets(&b, Reg::V(5)), 1);
        assert!(!b
            .ops
            .iter()
            .any(|o| matches!(o, Op::Bin { op: BinOp::Or, .. })));
    }

    #[test]
    fn fpsr_is_re_read_after_a_helper_that_may_set_qc() {
        // msr fpsr, x0; sqadd v0.4s, v1.4s, v2.4s; mrs x1, fpsr: the helper may set QC,
        // so the MSR's write stays and the MRS reads FPSR again.
        let b = optimized(&[0xd51b4420, 0x4ea20c20, 0xd53b4421]);
        assert_eq!(sets(&b, Reg::Fpsr), 1);
        assert_eq!(gets(&b, Reg::Fpsr), 1);
    }
}
