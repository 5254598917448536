use super::*;

/// Whether ops `i` and `i + 1` are the two accesses of an LDP/STP: plain loads or
/// stores of the same size, the second at the first's address plus that size.
pub(super) fn pair_of(b: &Block, defat: &[usize], i: usize) -> bool {
    let key = |op: &Op| match *op {
        Op::Load { addr, attr, .. } => Some((addr, attr, false)),
        Op::Store { addr, attr, .. } => Some((addr, attr, true)),
        _ => None,
    };
    let (Some((a1, at, w1)), Some((a2, at2, w2))) =
        (key(&b.ops[i]), b.ops.get(i + 1).and_then(key))
    else {
        return false;
    };
    let plain = !at.exclusive && !at.unpriv && !at.acquire && !at.release && at.align <= 1;
    plain
        && at == at2
        && w1 == w2
        && matches!(at.size, 4 | 8 | 16)
        && matches!(b.ops[defat[a2.0 as usize]], Op::BinImm { op: BinOp::Add, dst, a, imm, .. }
            if dst == a2 && a == a1 && imm == u64::from(at.size))
}

/// How a plain load or store finds its TLB entry (see [`probe_groups`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// Its own probe.
    Own,
    /// The first access of a group: one probe of the bytes `addr + lo ..= addr + hi`
    /// (which must lie in one page), leaving the page's addend in probe slot `slot`,
    /// or 0 when that probe missed.
    First { slot: u8, lo: i32, hi: i32 },
    /// A later access of a group: the addend in probe slot `slot`, or (when it is 0) a
    /// probe of its own.
    Later { slot: u8 },
}

/// The widest byte range one shared probe covers (a wider range crosses a page more
/// often, and then every access of the group probes again).
pub(super) const GROUP_SPAN: i64 = 512;

/// The root [`probe_groups`] gives addresses computed from the PC (no temp has it).
pub(super) const PC_ROOT: u32 = u32::MAX;

/// A group of [`probe_groups`]: accesses off `root` plus constants.
#[derive(Clone, Copy)]
pub(super) struct Group {
    pub(super) root: u32,
    pub(super) write: bool,
    /// Lowest and highest byte offset the accesses cover.
    pub(super) lo: i64,
    pub(super) hi: i64,
    /// First and last access (op indices).
    pub(super) first: usize,
    pub(super) last: usize,
    /// Accesses.
    pub(super) n: u32,
    /// Still taking accesses (no system-register access or wider range since).
    pub(super) open: bool,
    /// Its probe slot.
    pub(super) slot: Option<u8>,
}

/// Buffers of [`probe_groups`].
#[derive(Default)]
pub(super) struct GroupScratch {
    /// Per temp: (root temp, byte offset) when the temp is the root plus a constant.
    pub(super) base: Vec<(u32, i64)>,
    pub(super) groups: Vec<Group>,
    /// Members: op, group, byte offset.
    pub(super) members: Vec<(usize, usize, i64)>,
}

/// Groups the plain loads (and, separately, the plain stores) of a block whose
/// addresses are one temp plus constants within [`GROUP_SPAN`] bytes: the first access
/// of a group probes the TLB once for the whole range and the others reuse the host
/// addend it found, since nothing inside a block changes a translation. A system
/// register access (which may change translation or invalidate the TLB) ends every
/// group. Blocks are straight-line code, so a group's first access runs before the
/// others whenever they run.
pub(super) fn probe_groups(b: &Block, paired: &[bool], g: &mut GroupScratch, out: &mut [Probe]) {
    let base = &mut g.base;
    base.clear();
    base.extend((0..b.temps.len() as u32).map(|t| (t, 0i64)));
    g.groups.clear();
    g.members.clear();
    let mut i = 0;
    while i < b.ops.len() {
        let op = b.ops[i];
        let step = if paired[i] { 2 } else { 1 };
        match op {
            Op::BinImm {
                op: k @ (BinOp::Add | BinOp::Sub),
                ty: Ty::I64,
                dst,
                a,
                imm,
            } => {
                let (root, off) = base[a.0 as usize];
                let d = if k == BinOp::Add {
                    imm as i64
                } else {
                    (imm as i64).wrapping_neg()
                };
                let off = off.wrapping_add(d);
                if off.unsigned_abs() < 1 << 40 {
                    base[dst.0 as usize] = (root, off);
                }
            }
            // Addresses computed from the PC (ADRP, literals) differ by constants.
            Op::PcRel { dst, val } => {
                let off = val.wrapping_sub(b.pc) as i64;
                if off.unsigned_abs() < 1 << 40 {
                    base[dst.0 as usize] = (PC_ROOT, off);
                }
            }
            Op::SysRead { .. } | Op::SysWrite { .. } => {
                g.groups.iter_mut().for_each(|gr| gr.open = false);
            }
            Op::Load { addr, attr, .. } | Op::Store { addr, attr, .. }
                if !attr.exclusive && !attr.unpriv && attr.align <= 1 =>
            {
                let write = matches!(op, Op::Store { .. });
                let (root, off) = base[addr.0 as usize];
                let end = off + i64::from(attr.size) * step as i64 - 1;
                let open = g
                    .groups
                    .iter()
                    .rposition(|gr| gr.open && gr.root == root && gr.write == write);
                let k = match open {
                    Some(k) if g.groups[k].hi.max(end) - g.groups[k].lo.min(off) < GROUP_SPAN => {
                        let gr = &mut g.groups[k];
                        (gr.lo, gr.hi) = (gr.lo.min(off), gr.hi.max(end));
                        (gr.last, gr.n) = (i, gr.n + 1);
                        k
                    }
                    _ => {
                        if let Some(k) = open {
                            g.groups[k].open = false;
                        }
                        g.groups.push(Group {
                            root,
                            write,
                            lo: off,
                            hi: end,
                            first: i,
                            last: i,
                            n: 1,
                            open: true,
                            slot: None,
                        });
                        g.groups.len() - 1
                    }
                };
                g.members.push((i, k, off));
            }
            _ => {}
        }
        i += step;
    }
    // Probe slots: a group holds one from its first access to its last.
    let mut busy_until = [None::<usize>; rt::PROBE_SLOTS];
    for gr in g.groups.iter_mut().filter(|gr| gr.n >= 2) {
        if let Some(k) = busy_until
            .iter()
            .position(|u| u.is_none_or(|u| u < gr.first))
        {
            busy_until[k] = Some(gr.last);
            gr.slot = Some(k as u8);
        }
    }
    for &(i, k, off) in &g.members {
        let gr = g.groups[k];
        out[i] = match gr.slot {
            None => Probe::Own,
            Some(slot) if i == gr.first => Probe::First {
                slot,
                lo: (gr.lo - off) as i32,
                hi: (gr.hi - off) as i32,
            },
            Some(slot) => Probe::Later { slot },
        };
    }
}

/// Finds the zero-extensions and truncations that need no code: the register of the
/// source already holds the result, because registers hold values zero-extended from
/// their type (and 64-bit register reads whose every use truncates to 32 bits load only
/// the low half). Such a result shares its source's register (`root`), and the source
/// then lives as long as any of them (`last`).
pub(super) fn free_conversions(
    b: &Block,
    only_low: &[bool],
    last: &mut [usize],
    root: &mut [u32],
    width: &mut [u8],
) {
    for (t, (r, w)) in root.iter_mut().zip(width.iter_mut()).enumerate() {
        *r = t as u32;
        *w = b.temps[t].bits() as u8;
    }
    // Temps that are the constant 0 (0 | x, x + 0 and the like are x).
    let mut zero = alloc::vec![false; b.temps.len()];
    let mut share = |dst: Temp, a: Temp, root: &mut [u32], width: &mut [u8]| {
        let r = root[a.0 as usize] as usize;
        root[dst.0 as usize] = r as u32;
        width[dst.0 as usize] = width[r];
        let l = last[dst.0 as usize];
        if l != usize::MAX && (last[r] == usize::MAX || last[r] < l) {
            last[r] = l;
        }
    };
    for op in &b.ops {
        match *op {
            Op::Const { dst, val: 0, .. } => zero[dst.0 as usize] = true,
            Op::Bin {
                op: BinOp::Or | BinOp::Xor | BinOp::Add,
                ty,
                dst,
                a,
                b: bb,
            } if ty != Ty::I128 && (zero[a.0 as usize] || zero[bb.0 as usize]) => {
                let x = if zero[a.0 as usize] { bb } else { a };
                if b.temps[x.0 as usize] == ty && !zero[x.0 as usize] {
                    share(dst, x, root, width);
                }
            }
            Op::Get {
                dst,
                reg: Reg::X(_) | Reg::Sp,
            } if only_low[dst.0 as usize] => width[dst.0 as usize] = 32,
            // x | 0, x + 0, x << 0, ...: the value itself.
            Op::BinImm {
                op: BinOp::Or | BinOp::Xor | BinOp::Add | BinOp::Sub,
                ty,
                dst,
                a,
                imm: 0,
            }
            | Op::BinImm {
                op: BinOp::Shl | BinOp::LShr | BinOp::AShr | BinOp::Ror,
                ty,
                dst,
                a,
                imm: 0,
            } if ty != Ty::I128 && b.temps[a.0 as usize] == ty => share(dst, a, root, width),
            Op::Zext { dst, src } | Op::Trunc { dst, src } => {
                let (ft, tt) = (b.temps[src.0 as usize], b.temps[dst.0 as usize]);
                let r = root[src.0 as usize] as usize;
                if ft == Ty::I128 || tt == Ty::I128 || u32::from(width[r]) > tt.bits() {
                    continue;
                }
                share(dst, src, root, width);
            }
            _ => {}
        }
    }
}

/// Temps read from X registers or SP: their home in the CPU block (4 bytes for reads
/// whose every use is 32-bit, as the load is) and the index of the next op writing
/// that register (the home is valid up to and including it).
pub(super) fn homes(
    b: &Block,
    only_low: &[bool],
    home: &mut [Option<(i32, u8)>],
    until: &mut [usize],
) {
    let disp = |reg: Reg| match reg {
        Reg::X(n) => Some(off::X + 8 * i32::from(n)),
        Reg::Sp => Some(off::SP),
        _ => None,
    };
    let mut open: Vec<Temp> = Vec::new();
    for (i, op) in b.ops.iter().enumerate() {
        match *op {
            Op::Get { dst, reg } => {
                let Some(d) = disp(reg) else { continue };
                let size = if only_low[dst.0 as usize] { 4 } else { 8 };
                home[dst.0 as usize] = Some((d, size));
                open.push(dst);
            }
            Op::Set { reg, .. } => {
                let Some(disp) = disp(reg) else { continue };
                open.retain(|&t| {
                    let same = home[t.0 as usize].is_some_and(|(d, _)| d == disp);
                    if same {
                        until[t.0 as usize] = i;
                    }
                    !same
                });
            }
            _ => {}
        }
    }
}

/// What a pending deferred NZCV write does at `op`.
#[derive(PartialEq, Eq)]
pub(super) enum AtOp {
    /// Nothing: the op cannot observe NZCV.
    Pass,
    /// The op may leave the block on an out-of-line path, which stores NZCV first.
    Cold,
    /// NZCV is stored before the op.
    Flush,
    /// The op overwrites NZCV: the pending write is dropped.
    Drop,
}

pub(super) fn at_op(op: &Op) -> AtOp {
    match *op {
        Op::Get { reg: Reg::Nzcv, .. } => AtOp::Flush,
        // Pure ops (pure helper calls among them) cannot observe NZCV.
        Op::Insn { .. } => AtOp::Pass,
        _ if a64::opt::is_pure(op) => AtOp::Pass,
        Op::Set { reg: Reg::Nzcv, .. } => AtOp::Drop,
        Op::Set { .. } => AtOp::Pass,
        Op::Load { attr, .. } | Op::Store { attr, .. } if !attr.exclusive && !attr.unpriv => {
            AtOp::Cold
        }
        Op::Load { attr, .. } | Op::StoreExcl { attr, .. } if inline_excl(attr) => AtOp::Cold,
        Op::ExitIf { .. } | Op::DcZva { .. } => AtOp::Cold,
        _ => AtOp::Flush,
    }
}

/// Defers `Set`s of NZCV whose flags temp has no other use: instead of materialising
/// NZCV after every flag-setting instruction, the write is owed until something may
/// observe it. Out-of-line paths that leave the block (TLB misses, side exits) recompute
/// the flags from the operands and store them; a later NZCV write drops the debt; any
/// other observer (and the block end) gets the store inline. The operands therefore
/// live until the last point that may need them.
pub(super) fn defer_nzcv(
    b: &Block,
    flags_def: &[Option<(usize, FlagOp)>],
    defat: &[usize],
    plain_uses: &mut [u32],
    root: &[u32],
    last: &mut [usize],
    (defer, pend_at): (&mut [bool], &mut [Option<Pend>]),
) {
    let mut pend: Option<Pend> = None;
    let extend = |p: &Pend, i: usize, last: &mut [usize]| {
        for t in p.temps() {
            for x in [t.0 as usize, root[t.0 as usize] as usize] {
                if last[x] == usize::MAX || last[x] < i {
                    last[x] = i;
                }
            }
        }
    };
    // The pending write for `Set NZCV, src` if `src` is only read by it.
    let owed = |src: Temp, plain_uses: &[u32]| -> Option<(Pend, Option<usize>)> {
        if plain_uses[src.0 as usize] != 1 {
            return None;
        }
        let flags = |f: Temp| match flags_def[f.0 as usize].map(|(j, _)| b.ops[j]) {
            Some(Op::Flags {
                op: k, ty, a, b, c, ..
            }) => Some(Pend {
                k,
                ty,
                a,
                b,
                c,
                sel: None,
            }),
            _ => None,
        };
        if let Some(p) = flags(src) {
            return Some((p, None));
        }
        // A Select between such flags and a constant (CCMP): its op emits nothing.
        let j = defat[src.0 as usize];
        if let Some(Op::Select { dst, c, a, b: k }) = b.ops.get(j).copied() {
            if dst != src || plain_uses[a.0 as usize] != 1 {
                return None;
            }
            let kv = b.ops[..j].iter().rev().find_map(|o| match *o {
                Op::Const { dst, val, .. } if dst == k => Some(val as u32),
                _ => None,
            })?;
            let mut p = flags(a)?;
            p.sel = Some((c, kv & a64::state::flags::MASK));
            return Some((p, Some(j)));
        }
        None
    };
    for (i, op) in b.ops.iter().enumerate() {
        if let Op::Set {
            reg: Reg::Nzcv,
            src,
        } = *op
        {
            if let Some((p, sel_op)) = owed(src, plain_uses) {
                defer[i] = true;
                pend_at[i] = Some(p);
                plain_uses[src.0 as usize] = 0;
                if let Some(j) = sel_op {
                    defer[j] = true;
                    if let Op::Select { a, .. } = b.ops[j] {
                        plain_uses[a.0 as usize] = 0;
                    }
                }
                pend = Some(p);
                continue;
            }
        }
        let Some(p) = pend else { continue };
        match at_op(op) {
            AtOp::Pass => {}
            AtOp::Cold => extend(&p, i, last),
            AtOp::Flush => {
                extend(&p, i, last);
                pend = None;
            }
            AtOp::Drop => pend = None,
        }
    }
    if let Some(p) = pend {
        extend(&p, b.ops.len(), last);
    }
}

/// Finds the fused conditions that a side exit or the block's conditional branch can
/// take straight from the host flags: the condition has no other use, and nothing
/// between the flag-setting op and the branch emits code.
pub(super) fn direct_branches(
    b: &Block,
    flag_conds: &[(u32, usize, Temp)],
    flags_def: &[Option<(usize, FlagOp)>],
    fused: &[Option<Result<Cc, bool>>],
    plain_uses: &[u32],
    defer: &[bool],
    direct: &mut [Option<Cc>],
) {
    // Ops whose code (if any) is plain moves, which leave the flags alone.
    let quiet = |i: usize| match b.ops[i] {
        Op::Insn { .. } | Op::Const { .. } | Op::PcRel { .. } | Op::Get { .. } => true,
        Op::Cond { .. } => fused[i].is_some(),
        Op::Set { reg, .. } => defer[i] || matches!(reg, Reg::X(_) | Reg::Sp),
        Op::Select { .. } => defer[i],
        Op::Zext { dst, .. } | Op::Trunc { dst, .. } | Op::Sext { dst, .. } => {
            b.temps[dst.0 as usize] != Ty::I128
        }
        // An add or subtract of an immediate is a LEA (see `Tr::bin`).
        Op::BinImm { op, ty, imm, .. } => lea_disp(op, ty, imm).is_some(),
        _ => false,
    };
    let mut try_branch = |cond: Temp, at: usize| {
        let Some(&(t, j, _)) = flag_conds.iter().find(|&&(_, _, d)| d == cond) else {
            return;
        };
        let (Some(Ok(cc)), Some((f, _))) = (fused[j], flags_def[t as usize]) else {
            return;
        };
        // Not when the flags op also computes the NZCV value (a condition that does not
        // fuse reads it): that computation overwrites the host flags.
        if plain_uses[cond.0 as usize] == 1 && plain_uses[t as usize] == 0 && (f + 1..at).all(quiet)
        {
            direct[cond.0 as usize] = Some(cc);
        }
    };
    for (i, op) in b.ops.iter().enumerate() {
        match *op {
            Op::ExitIf { cond, .. } => try_branch(cond, i),
            // CSEL/CSINC/CINC...: a CMOV straight on the host flags.
            Op::Select { dst, c, .. } if b.temps[dst.0 as usize] != Ty::I128 && !defer[i] => {
                try_branch(c, i)
            }
            _ => {}
        }
    }
    if let Term::Branch { cond, .. } = b.term {
        try_branch(cond, b.ops.len());
    }
}

/// Finds CLZ(RBIT(x)) whose RBIT result has no other use: one TZCNT of `x`. Marks the
/// CLZ result with `x` and the RBIT result with itself (no code), and keeps `x` alive
/// until the CLZ.
pub(super) fn count_trailing(
    b: &Block,
    defat: &[usize],
    plain_uses: &[u32],
    root: &[u32],
    last: &mut [usize],
    ctz: &mut [Option<Temp>],
) {
    for (i, op) in b.ops.iter().enumerate() {
        let Op::Un {
            op: UnOp::Clz,
            ty,
            dst,
            a,
        } = *op
        else {
            continue;
        };
        if !matches!(ty, Ty::I32 | Ty::I64) || plain_uses[a.0 as usize] != 1 {
            continue;
        }
        let Some(&Op::Un {
            op: UnOp::Rbit,
            ty: t2,
            dst: r,
            a: x,
        }) = b.ops.get(defat[a.0 as usize])
        else {
            continue;
        };
        if r != a || t2 != ty {
            continue;
        }
        ctz[dst.0 as usize] = Some(x);
        ctz[a.0 as usize] = Some(a);
        for t in [x.0 as usize, root[x.0 as usize] as usize] {
            if last[t] == usize::MAX || last[t] < i {
                last[t] = i;
            }
        }
    }
}

/// Whether an op always calls out (so values living across it prefer callee-saved registers).
pub(super) fn always_calls(op: &Op, b: &Block, f: Features) -> bool {
    match *op {
        Op::Call { helper, imm, .. } if inline_helper(helper, imm, f) => false,
        Op::StoreExcl { attr, .. } => !inline_excl(attr),
        Op::Call { .. } => true,
        Op::Load { attr, .. } => attr.unpriv || attr.exclusive && !inline_excl(attr),
        Op::Store { attr, .. } => attr.exclusive || attr.unpriv,
        Op::SysRead { reg, .. } => !inline_sysreg(reg),
        Op::SysWrite { reg, .. } => !inline_sysreg(reg),
        Op::Bin { op, ty, .. } | Op::BinImm { op, ty, .. } => !bin_inline(op, ty),
        Op::Un { op, ty, .. } => !un_inline(op, ty, f),
        Op::Sext { dst, .. } => b.temps[dst.0 as usize] == Ty::I128,
        Op::Select { dst, .. } => b.temps[dst.0 as usize] == Ty::I128,
        _ => false,
    }
}

/// Exclusive accesses of up to 8 bytes run inline (the monitor lives in the CPU block).
pub(super) fn inline_excl(attr: MemAttr) -> bool {
    !attr.unpriv && attr.size <= 8
}

pub(super) fn inline_sysreg(r: SysReg) -> bool {
    matches!(
        r,
        SysReg::Nzcv
            | SysReg::Daif
            | SysReg::Fpcr
            | SysReg::Fpsr
            | SysReg::TpidrEl0
            | SysReg::TpidrroEl0
            | SysReg::Const(_)
            | SysReg::CtrEl0
            | SysReg::DczidEl0
    )
}

pub(super) fn bin_inline(op: BinOp, ty: Ty) -> bool {
    match ty {
        Ty::I128 => matches!(op, BinOp::And | BinOp::Or | BinOp::Xor),
        Ty::I32 | Ty::I64 => true,
        Ty::I8 | Ty::I16 => matches!(
            op,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor
        ),
    }
}

pub(super) fn un_inline(op: UnOp, ty: Ty, f: Features) -> bool {
    let wide = matches!(ty, Ty::I32 | Ty::I64);
    match op {
        UnOp::Not => true,
        UnOp::Neg => ty != Ty::I128,
        UnOp::Rev => wide,
        UnOp::Rev32 => ty == Ty::I64,
        UnOp::Clz => wide && f.lzcnt,
        UnOp::Popcnt => wide && f.popcnt,
        _ => false,
    }
}
