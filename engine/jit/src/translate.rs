//! IR block -> x86-64 code.
//!
//! Conventions inside translated code: RBP = the guest [`Cpu`], R12 = the [`Ctx`]; RAX,
//! RCX, RDX are scratch; the other ten registers hold IR temporaries, assigned for each
//! temporary's whole (straight-line) lifetime, the callee-saved ones preferred for values
//! that live across a call. Temporaries that do not get a register, and all 128-bit
//! ones, live in `Ctx::temps`. Guest registers stay in the `Cpu` (every `Set` writes
//! through), so a fault anywhere leaves exactly the state the interpreter would.
//!
//! Memory accesses index the software TLB of the current mode inline (about nine
//! instructions on a hit); misses call [`crate::rt`] functions from out-of-line code
//! that saves and restores the live caller-saved registers.
//!
//! [`Cpu`]: a64::state::Cpu
//! [`Ctx`]: crate::rt::Ctx

use alloc::vec::Vec;

use a64::ir::*;

use crate::emit::{m, mi, Alu, Asm, Cc, Fixup, Sh, R};
use crate::rt::{self, exit, off, Rt};

/// Host CPU features the generated code may use (probed once by the embedder).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// LZCNT (ABM).
    pub lzcnt: bool,
    /// POPCNT.
    pub popcnt: bool,
    /// AES-NI.
    pub aes: bool,
    /// SHA extensions (with SSSE3/SSE4.1 for the shuffles around them).
    pub sha: bool,
    /// SSSE3 and SSE4.1.
    pub sse41: bool,
    /// SSE4.2.
    pub sse42: bool,
    /// LAHF in 64-bit mode and a fast BMI2 PEXT (NZCV from the host flags in 5
    /// instructions).
    pub flag_pext: bool,
    /// BMI2 (RORX in the TLB probe).
    pub bmi2: bool,
    /// BMI1 (TZCNT for RBIT + CLZ).
    pub bmi1: bool,
    /// PCLMULQDQ (PMULL/PMULL2 of 64-bit lanes, CRC32 by Barrett reduction).
    pub pclmul: bool,
}

impl Features {
    /// The host's extensions, from CPUID (which ring 3 may execute, and which there
    /// reports the real host features).
    pub fn probe() -> Features {
        use core::arch::x86_64::{__cpuid, __cpuid_count};
        let l1 = __cpuid(1).ecx;
        let l7 = __cpuid_count(7, 0).ebx;
        let lx = __cpuid(0x8000_0001).ecx;
        let bmi2 = l7 & (1 << 8) != 0;
        let ssse3_41 = l1 & (1 << 9) != 0 && l1 & (1 << 19) != 0;
        Features {
            lzcnt: lx & (1 << 5) != 0,
            popcnt: l1 & (1 << 23) != 0,
            aes: l1 & (1 << 25) != 0,
            sha: l7 & (1 << 29) != 0 && ssse3_41,
            sse41: ssse3_41,
            sse42: l1 & (1 << 20) != 0,
            flag_pext: crate::fast_pext(bmi2),
            bmi2,
            bmi1: l7 & (1 << 3) != 0,
            pclmul: l1 & (1 << 1) != 0,
        }
    }
}

/// IR rewrites for the host's instructions, run after `a64::opt::optimize`: with SHA-NI,
/// SHA-256 rounds on the state in its layout (`a64::crypto::lower::fuse_sha256_rounds`;
/// without it the rewritten forms would be more helper calls).
pub fn host_passes(b: &mut Block, f: Features) {
    if f.sha {
        a64::crypto::lower::fuse_sha256_rounds(b);
    }
}

/// Whether the translator emits helper `h` (with `imm`) inline for features `f`.
fn inline_helper(h: &Helper, imm: u64, f: Features) -> bool {
    if host_crypto::inline(h, imm, f) {
        return true;
    }
    match h.name {
        "crypto::aes" => f.aes,
        "crypto::sha3" => f.sha && (4..=6).contains(&imm),
        "crypto::sha2" => f.sha && imm == 2,
        "crypto::sha256x" => f.sha,
        _ => crate::simd::inline(h, imm, f) || simd_int::inline(h, imm, f),
    }
}

/// Where translation places the code and what it links to.
#[derive(Clone, Copy, Debug)]
pub struct Env<'a> {
    /// Final address of the first byte of the block's code.
    pub base: u64,
    /// Shared epilogue (returns RAX to the runner).
    pub epilogue: u64,
    /// Shared indirect-branch lookup, called with the target VA in RDI (see `Jit`).
    pub lookup: u64,
    /// Run-time functions.
    pub rt: &'a Rt,
    /// Host features.
    pub feats: Features,
    /// Block entries also check the instruction limit (hosts without an event byte).
    pub limit_checks: bool,
    /// Blocks add their instruction counts to the context's counter (`--stats`);
    /// always on with `limit_checks`, which counts down with it.
    pub count_insns: bool,
    /// The event byte's address when it is fixed and a sign-extended 32-bit value (the
    /// engine's, in the top 2 GiB): block entries test it directly instead of through
    /// the context's pointer.
    pub event_abs: Option<i32>,
    /// Index of the block (exit codes name it).
    pub block_id: u32,
    /// How many host registers temps may use (9; fewer to test spilling).
    pub max_regs: usize,
}

/// What a block exit record means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitRec {
    /// A direct branch within the same guest page (`cpu.pc` holds the target): patch
    /// the 32-bit displacement ending at `patch` (absolute address) to chain it.
    Chain {
        /// Address just after the displacement.
        patch: u64,
    },
    /// The block ended with an exception or event; `cpu.pc` holds the resume address
    /// (the instruction's own address, or the next one when `kind.resumes_after()`).
    Exception {
        /// What.
        kind: ExcKind,
        /// Its encoding.
        raw: u32,
    },
}

/// A translated block.
#[derive(Debug)]
pub struct Translated {
    /// The code (position-dependent: valid only at `Env::base`).
    pub code: Vec<u8>,
    /// Exit records.
    pub exits: Vec<ExitRec>,
}

/// Why a block was not translated (the caller interprets it instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransError {
    /// More temporaries than spill slots.
    #[error("block has too many temporaries")]
    TooManyTemps,
}

/// Allocatable registers. RBP = CPU, R12 = context, R13 = the current TLB table
/// (loaded at entry: the mode cannot change while translated code runs).
const ALLOC: [R; 9] = [
    R::RBX,
    R::R14,
    R::R15,
    R::RSI,
    R::RDI,
    R::R8,
    R::R9,
    R::R10,
    R::R11,
];

/// The XMM registers 128-bit temps may live in (XMM0..5 and XMM7 are the ops' scratch
/// registers, XMM14/15 [`XSCRATCH2`]/[`XSCRATCH`]). All are caller-saved.
const XALLOC: [u8; 7] = [6, 8, 9, 10, 11, 12, 13];

/// In a [`Live`] set, XMM register `x` is entry `XMM_TAG + x`.
const XMM_TAG: u8 = 16;

fn callee_saved(r: R) -> bool {
    matches!(r, R::RBX | R::R14 | R::R15)
}

/// Where a temporary lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loc {
    /// A host register.
    Reg(R),
    /// An XMM register (128-bit temps).
    Xmm(u8),
    /// Its spill slot.
    Slot,
    /// A known constant.
    Const(u128),
    /// Still in its home, the guest register in the CPU block it was read from
    /// (offset from RBP, bytes to load).
    Home(i32, u8),
    /// Not defined yet.
    None,
}

/// The x86 condition equal to A64 condition `cond` right after the flags op `k`, or a
/// constant (Some(Err(v))), or None when it needs the NZCV word.
fn fused_cc(k: FlagOp, cond: u8) -> Option<Result<Cc, bool>> {
    // Carry sense: Add/Adc: A64 C = x86 CF; Sub/Sbc: C = !CF; Logic: C = 0.
    #[derive(PartialEq)]
    enum C {
        Cf,
        NotCf,
        Zero,
    }
    let c = match k {
        FlagOp::Add | FlagOp::Adc => C::Cf,
        FlagOp::Sub | FlagOp::Sbc => C::NotCf,
        FlagOp::Logic => C::Zero,
    };
    Some(Ok(match cond {
        0 => Cc::E,
        1 => Cc::Ne,
        2 => match c {
            C::Cf => Cc::B,
            C::NotCf => Cc::Ae,
            C::Zero => return Some(Err(false)),
        },
        3 => match c {
            C::Cf => Cc::Ae,
            C::NotCf => Cc::B,
            C::Zero => return Some(Err(true)),
        },
        4 => Cc::S,
        5 => Cc::Ns,
        6 => Cc::O,
        7 => Cc::No,
        8 => match c {
            C::NotCf => Cc::A,
            C::Zero => return Some(Err(false)),
            C::Cf => return None,
        },
        9 => match c {
            C::NotCf => Cc::Be,
            C::Zero => return Some(Err(true)),
            C::Cf => return None,
        },
        10 => Cc::Ge,
        11 => Cc::L,
        12 => Cc::G,
        13 => Cc::Le,
        _ => return Some(Err(true)),
    }))
}

fn binop_index(op: BinOp) -> u64 {
    rt::BINOPS.iter().position(|&o| o == op).unwrap_or(0) as u64
}

fn unop_index(op: UnOp) -> u64 {
    rt::UNOPS.iter().position(|&o| o == op).unwrap_or(0) as u64
}

#[derive(Clone, Copy)]
enum ColdKind {
    Load {
        dst: Temp,
        attr: MemAttr,
    },
    Store {
        src: Temp,
        attr: MemAttr,
    },
    /// A taken side exit to `target`, `rest` guest instructions before the block end.
    Side {
        target: u64,
        rest: u32,
    },
    /// A store-exclusive that missed the TLB (or is misaligned): the run-time function
    /// does it all; its status goes to ECX.
    StoreExcl {
        src: Temp,
        attr: MemAttr,
    },
    /// A DC ZVA whose block missed the TLB: the run-time function zeroes it.
    DcZva,
    /// The two accesses of an LDP/STP (loaded temps or stored values `t`), the second
    /// at `addr2`, done one after the other by the run-time functions.
    Pair {
        load: bool,
        t: [Temp; 2],
        addr2: Temp,
        attr: MemAttr,
    },
}

#[derive(Clone, Copy)]
struct Cold {
    fix: Fixup,
    resume: usize,
    kind: ColdKind,
    addr: Temp,
    pc: u64,
    live: Live,
    /// For a [`ColdKind::Pair`]: the registers to keep across the second access.
    live2: Live,
    /// The NZCV write still owed at this point (stored before leaving the block).
    pend: Option<Pend>,
    /// The host flags on entry to this path are those of `pend` (a side exit taken
    /// straight on them): NZCV is read from them without recomputing.
    pend_live: bool,
    /// Where the temps this path reads or writes were at this point (a temp may be
    /// spilled to its slot later in the block).
    snap: Snap,
    /// A grouped access whose shared probe failed: probe for itself first.
    reprobe: Option<Reprobe>,
}

/// The out-of-line probe of a grouped access (see [`Probe`]) whose shared probe
/// missed: on a hit it goes back to the access with RCX = the addend.
#[derive(Clone, Copy)]
struct Reprobe {
    /// The register holding the address.
    ar: R,
    /// The access (both halves of a pair).
    attr: MemAttr,
    write: bool,
    /// Code position of the access.
    access: usize,
    /// The probe slot to clear first (a group's first access).
    clear: Option<i32>,
}

/// Locations of up to eight temps at one point of the block.
#[derive(Clone, Copy)]
struct Snap {
    n: usize,
    t: [(u32, Loc); 8],
}

impl Snap {
    const EMPTY: Snap = Snap {
        n: 0,
        t: [(0, Loc::None); 8],
    };
}

/// A deferred NZCV write: the flags of this computation, recomputed from its operands
/// where the guest state may be observed (see [`defer_nzcv`]).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Pend {
    k: FlagOp,
    ty: Ty,
    a: Temp,
    b: Temp,
    c: Temp,
    /// NZCV is `sel.1` instead when the I8 temp `sel.0` is 0 (CCMP/CCMN: the flags
    /// of the comparison if the condition held, else the immediate).
    sel: Option<(Temp, u32)>,
}

impl Pend {
    /// The temps the recomputation reads.
    fn temps(&self) -> [Temp; 4] {
        [self.a, self.b, self.c, self.sel.map_or(self.a, |(c, _)| c)]
    }
}

/// Caller-saved registers holding live temps: at most the six allocatable GPRs and
/// the [`XALLOC`] XMM registers (as `XMM_TAG + x`).
#[derive(Clone, Copy, Default)]
struct Live {
    regs: [(u8, u32); 13],
    n: usize,
}

impl Cold {
    const EMPTY: Cold = Cold {
        fix: Fixup(0),
        resume: 0,
        kind: ColdKind::Load {
            dst: Temp(0),
            attr: MemAttr::plain(1),
        },
        addr: Temp(0),
        pc: 0,
        live: Live {
            regs: [(0, 0); 13],
            n: 0,
        },
        live2: Live {
            regs: [(0, 0); 13],
            n: 0,
        },
        pend: None,
        pend_live: false,
        snap: Snap::EMPTY,
        reprobe: None,
    };
}

impl Live {
    fn push(&mut self, x: (R, u32)) {
        if self.n < self.regs.len() {
            self.regs[self.n] = (x.0 .0, x.1);
            self.n += 1;
        }
    }
}

impl<'a> IntoIterator for &'a Live {
    type Item = (R, u32);
    type IntoIter = core::iter::Map<core::slice::Iter<'a, (u8, u32)>, fn(&(u8, u32)) -> (R, u32)>;
    fn into_iter(self) -> Self::IntoIter {
        self.regs[..self.n].iter().map(|&(r, t)| (R(r), t))
    }
}

struct Tr<'a> {
    a: Asm,
    env: Env<'a>,
    b: &'a Block,
    loc: Vec<Loc>,
    last: Vec<usize>,
    cross: Vec<bool>,
    owner: [Option<u32>; 16],
    /// The temp each XMM register holds.
    xowner: [Option<u32>; 16],
    /// For Cond ops fused into their Flags op: op index -> outcome.
    fused: Vec<Option<Result<Cc, bool>>>,
    /// (flags temp, Cond op index, Cond dst) of the fused conditions.
    flag_conds: Vec<(u32, usize, Temp)>,
    /// Per temp: defined by a Flags op (its op index and kind).
    flags_def: Vec<Option<(usize, FlagOp)>>,
    /// Per temp: uses not covered by fusion.
    plain_uses: Vec<u32>,
    pc: u64,
    raw: u32,
    cold: Vec<Cold>,
    fault_exits: Vec<(Fixup, u64)>,
    undef_exits: Vec<(Fixup, u64, u32)>,
    exits: Vec<ExitRec>,
    no_chain: bool,
    /// The prologue's branch to the out-of-line stop path.
    stop: Option<Fixup>,
    /// The 128-bit temp XMM0 holds after the current op (set only by ops that end
    /// with it there on every path).
    x0: Option<u32>,
    /// What XMM0 held when the current op began, and whether the op changed XMM0 since.
    x0_prev: Option<u32>,
    x0_dirty: bool,
    /// Per temp: its value is known to fit in 32 bits (so a truncation to I32 is free).
    narrow: Vec<bool>,
    /// Per temp: every use truncates it to 32 bits (a 64-bit register read can load
    /// just the low half).
    only_low: Vec<bool>,
    /// Per temp: the temp whose register it may share (itself unless it is a free
    /// zero-extension or truncation of that temp; see [`free_conversions`]).
    root: Vec<u32>,
    /// Per op: a `Set` of NZCV that is deferred, or the CCMP select feeding one (see
    /// [`defer_nzcv`]): no code.
    defer: Vec<bool>,
    /// Per deferred `Set`: what it owes.
    pend_at: Vec<Option<Pend>>,
    /// The deferred NZCV write not yet stored.
    pend: Option<Pend>,
    /// An op already done by an earlier one (the AESMC/AESIMC of a fused pair).
    skip: Option<usize>,
    /// The op being translated, its operands and the temps it defined so far (not to
    /// be spilled while it runs).
    cur_op: usize,
    cur_uses: ([Temp; 3], usize),
    cur_defs: ([u32; 4], usize),
    /// Per register: some other temp shares it (a free conversion), so its owner
    /// cannot be spilled.
    shared: [bool; 16],
    /// (temp, register, code position): `fin` just stored the temp from the register.
    just_stored: Option<(u32, R, usize)>,
    /// Temps moved from a register to their slot.
    spills: u64,
    /// No register owner's last use comes before this op (see [`Tr::release`]).
    next_free: usize,
    /// Spilling is off (between a call and the reload of the registers it saved).
    no_spill: bool,
    /// Per temp read from a guest register: where it lives in the CPU block and how
    /// many bytes a use loads; valid until op `home_until` (the next write of it).
    home: Vec<Option<(i32, u8)>>,
    home_until: Vec<usize>,
    /// Per temp: a CLZ of an RBIT of this value (a TZCNT; see [`count_trailing`]), or,
    /// for that RBIT's result, a marker that it needs no code.
    ctz: Vec<Option<Temp>>,
    /// Per op: it and the next op are the two accesses of an LDP/STP ([`pair_of`]).
    paired: Vec<bool>,
    /// Per op: how a plain access probes the TLB ([`probe_groups`]).
    probes: Vec<Probe>,
    /// Per temp: a fused condition whose only use, a side exit or the block's branch,
    /// jumps on the host flags directly (see [`direct_branches`]).
    direct: Vec<Option<Cc>>,
}

/// The temps `op` reads (at most three).
use a64::opt::uses_of as uses;

/// Buffers reused from block to block (translation allocates almost nothing).
#[derive(Default)]
pub struct Scratch {
    last: Vec<usize>,
    defat: Vec<usize>,
    plain_uses: Vec<u32>,
    flags_def: Vec<Option<(usize, FlagOp)>>,
    fused: Vec<Option<Result<Cc, bool>>>,
    flag_conds: Vec<(u32, usize, Temp)>,
    calls: Vec<usize>,
    before: Vec<u32>,
    cross: Vec<bool>,
    loc: Vec<Loc>,
    cold: Vec<Cold>,
    fault_exits: Vec<(Fixup, u64)>,
    undef_exits: Vec<(Fixup, u64, u32)>,
    narrow: Vec<bool>,
    only_low: Vec<bool>,
    root: Vec<u32>,
    known_width: Vec<u8>,
    defer: Vec<bool>,
    pend_at: Vec<Option<Pend>>,
    direct: Vec<Option<Cc>>,
    ctz: Vec<Option<Temp>>,
    paired: Vec<bool>,
    probes: Vec<Probe>,
    groups: GroupScratch,
    home: Vec<Option<(i32, u8)>>,
    home_until: Vec<usize>,
    /// The code of the last block translated.
    pub code: Vec<u8>,
    /// Temps spilled from registers so far (all blocks).
    pub spills: u64,
}

/// Resets `v` to `n` copies of `x`, keeping its allocation.
fn reset<T: Clone>(v: &mut Vec<T>, n: usize, x: T) -> Vec<T> {
    let mut v = core::mem::take(v);
    v.clear();
    v.resize(n, x);
    v
}

/// Translates `b` for placement at `env.base`.
pub fn translate(b: &Block, env: &Env) -> Result<Translated, TransError> {
    let mut s = Scratch::default();
    translate_with(b, env, &mut s).map(|exits| Translated {
        code: core::mem::take(&mut s.code),
        exits,
    })
}

/// Translates `b` into `s.code` (valid at `env.base`), reusing `s`'s buffers; returns
/// the exit records.
pub fn translate_with(b: &Block, env: &Env, s: &mut Scratch) -> Result<Vec<ExitRec>, TransError> {
    let nt = b.temps.len();
    if nt > rt::MAX_TEMPS {
        return Err(TransError::TooManyTemps);
    }
    let nops = b.ops.len();
    let mut last = reset(&mut s.last, nt, usize::MAX);
    let mut defat = reset(&mut s.defat, nt, 0usize);
    let mut plain_uses = reset(&mut s.plain_uses, nt, 0u32);
    let mut flags_def = reset(&mut s.flags_def, nt, None);
    let mut fused = reset(&mut s.fused, nops, None);
    let mut flag_conds = reset(&mut s.flag_conds, 0, (0, 0, Temp(0)));
    let mut calls = reset(&mut s.calls, 0, 0);
    for (i, op) in b.ops.iter().enumerate() {
        if let Op::Cond { dst, cond, nzcv } = *op {
            if let Some((_, k)) = flags_def[nzcv.0 as usize] {
                if let Some(f) = fused_cc(k, cond) {
                    fused[i] = Some(f);
                    flag_conds.push((nzcv.0, i, dst));
                }
            }
        }
        let (us, nu) = uses(op);
        for &u in &us[..nu] {
            last[u.0 as usize] = i;
            if fused[i].is_none() {
                plain_uses[u.0 as usize] += 1;
            }
        }
        if let Some(d) = a64::opt::def_of(op) {
            defat[d.0 as usize] = i;
            if last[d.0 as usize] == usize::MAX {
                last[d.0 as usize] = i;
            }
        }
        if let Op::Flags { dst, op: k, .. } = *op {
            flags_def[dst.0 as usize] = Some((i, k));
        }
        if always_calls(op, b, env.feats) {
            calls.push(i);
        }
    }
    let term_use = match b.term {
        Term::Branch { cond, .. } => Some(cond),
        Term::Indirect { target, .. } => Some(target),
        _ => None,
    };
    if let Some(t) = term_use {
        last[t.0 as usize] = nops;
        plain_uses[t.0 as usize] += 1;
    }
    // Temps read only by truncations to 32 bits.
    let mut only_low = reset(&mut s.only_low, nt, false);
    {
        let mut all = alloc::vec![0u32; nt];
        let mut low = alloc::vec![0u32; nt];
        for op in &b.ops {
            let (us, nu) = uses(op);
            let trunc32 =
                matches!(*op, Op::Trunc { dst, .. } if b.temps[dst.0 as usize] == Ty::I32);
            for &u in &us[..nu] {
                all[u.0 as usize] += 1;
                if trunc32 {
                    low[u.0 as usize] += 1;
                }
            }
        }
        if let Some(t) = term_use {
            all[t.0 as usize] += 1;
        }
        for t in 0..nt {
            only_low[t] = all[t] > 0 && all[t] == low[t];
        }
    }
    let mut root = reset(&mut s.root, nt, 0u32);
    let mut known_width = reset(&mut s.known_width, nt, 0u8);
    free_conversions(b, &only_low, &mut last, &mut root, &mut known_width);
    let mut ctz = reset(&mut s.ctz, nt, None);
    if env.feats.bmi1 {
        count_trailing(b, &defat, &plain_uses, &root, &mut last, &mut ctz);
    }
    let mut home = reset(&mut s.home, nt, None);
    let mut home_until = reset(&mut s.home_until, nt, usize::MAX);
    homes(b, &only_low, &mut home, &mut home_until);
    let mut paired = reset(&mut s.paired, nops, false);
    for (i, p) in paired.iter_mut().enumerate() {
        *p = pair_of(b, &defat, i);
    }
    let mut probes = reset(&mut s.probes, nops, Probe::Own);
    probe_groups(b, &paired, &mut s.groups, &mut probes);
    let mut defer = reset(&mut s.defer, nops, false);
    let mut pend_at = reset(&mut s.pend_at, nops, None);
    defer_nzcv(
        b,
        &flags_def,
        &defat,
        &mut plain_uses,
        &root,
        &mut last,
        (&mut defer, &mut pend_at),
    );
    let mut direct = reset(&mut s.direct, nt, None);
    direct_branches(
        b,
        &flag_conds,
        &flags_def,
        &fused,
        &plain_uses,
        &defer,
        &mut direct,
    );
    // Fused conds are defined at their flags op.
    for &(t, _, d) in &flag_conds {
        defat[d.0 as usize] = defat[t as usize];
    }
    // before[i]: calls at op indices < i.
    let mut before = reset(&mut s.before, nops + 2, 0u32);
    {
        let mut k = 0;
        for (i, slot) in before.iter_mut().enumerate() {
            *slot = k;
            if calls.get(k as usize) == Some(&i) {
                k += 1;
            }
        }
    }
    let mut cross = reset(&mut s.cross, nt, false);
    for t in 0..nt {
        if last[t] == usize::MAX {
            continue;
        }
        let (d, l) = (defat[t], last[t].min(nops + 1));
        // Calls c with d < c < l.
        cross[t] = before[l] > before[(d + 1).min(l)];
    }
    let mut code = core::mem::take(&mut s.code);
    code.clear();
    let mut tr = Tr {
        a: Asm { buf: code },
        env: *env,
        b,
        loc: reset(&mut s.loc, nt, Loc::None),
        last,
        cross,
        owner: [None; 16],
        xowner: [None; 16],
        fused,
        flag_conds,
        flags_def,
        plain_uses,
        pc: b.pc,
        raw: 0,
        cold: reset(&mut s.cold, 0, Cold::EMPTY),
        fault_exits: reset(&mut s.fault_exits, 0, (Fixup(0), 0)),
        undef_exits: reset(&mut s.undef_exits, 0, (Fixup(0), 0, 0)),
        exits: Vec::new(),
        no_chain: false,
        stop: None,
        x0: None,
        x0_prev: None,
        x0_dirty: false,
        narrow: reset(&mut s.narrow, nt, false),
        only_low,
        root,
        defer,
        pend_at,
        pend: None,
        skip: None,
        cur_op: 0,
        cur_uses: ([Temp(0); 3], 0),
        cur_defs: ([0; 4], 0),
        shared: [false; 16],
        just_stored: None,
        spills: 0,
        next_free: 0,
        no_spill: false,
        home,
        home_until,
        direct,
        ctz,
        paired,
        probes,
    };
    tr.prologue();
    for i in 0..nops {
        tr.op(i);
        tr.release(i);
    }
    tr.term();
    tr.emit_cold();
    // Hand the buffers back.
    s.code = tr.a.buf;
    s.last = tr.last;
    s.cross = tr.cross;
    s.loc = tr.loc;
    s.fused = tr.fused;
    s.flag_conds = tr.flag_conds;
    s.plain_uses = tr.plain_uses;
    s.cold = tr.cold;
    s.fault_exits = tr.fault_exits;
    s.undef_exits = tr.undef_exits;
    s.defat = defat;
    s.flags_def = tr.flags_def;
    s.narrow = tr.narrow;
    s.only_low = tr.only_low;
    s.root = tr.root;
    s.spills += tr.spills;
    s.home = tr.home;
    s.home_until = tr.home_until;
    s.defer = tr.defer;
    s.pend_at = tr.pend_at;
    s.direct = tr.direct;
    s.ctz = tr.ctz;
    s.paired = tr.paired;
    s.probes = tr.probes;
    s.known_width = known_width;
    s.calls = calls;
    s.before = before;
    Ok(tr.exits)
}

/// Whether ops `i` and `i + 1` are the two accesses of an LDP/STP: plain loads or
/// stores of the same size, the second at the first's address plus that size.
fn pair_of(b: &Block, defat: &[usize], i: usize) -> bool {
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
enum Probe {
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
const GROUP_SPAN: i64 = 512;

/// `dst` = the offset of the TLB entry of the address in `va` (another register):
/// ((va >> 12) & (TLB_SIZE - 1)) * 32 = (va >> 7) & mask (the bits a rotate brings in at
/// the top are masked off). Also used by the lookup stub.
pub(crate) fn tlb_entry_offset(a: &mut Asm, dst: R, va: R, bmi2: bool) {
    if bmi2 {
        a.rorx(dst, va, 7);
    } else {
        a.mov_rr(true, dst, va);
        a.sh_i(true, Sh::Shr, dst, 7);
    }
    a.alu_ri(false, Alu::And, dst, ((rt::TLB_SIZE - 1) << 5) as i32);
}

/// The root [`probe_groups`] gives addresses computed from the PC (no temp has it).
const PC_ROOT: u32 = u32::MAX;

/// A group of [`probe_groups`]: accesses off `root` plus constants.
#[derive(Clone, Copy)]
struct Group {
    root: u32,
    write: bool,
    /// Lowest and highest byte offset the accesses cover.
    lo: i64,
    hi: i64,
    /// First and last access (op indices).
    first: usize,
    last: usize,
    /// Accesses.
    n: u32,
    /// Still taking accesses (no system-register access or wider range since).
    open: bool,
    /// Its probe slot.
    slot: Option<u8>,
}

/// Buffers of [`probe_groups`].
#[derive(Default)]
struct GroupScratch {
    /// Per temp: (root temp, byte offset) when the temp is the root plus a constant.
    base: Vec<(u32, i64)>,
    groups: Vec<Group>,
    /// Members: op, group, byte offset.
    members: Vec<(usize, usize, i64)>,
}

/// Groups the plain loads (and, separately, the plain stores) of a block whose
/// addresses are one temp plus constants within [`GROUP_SPAN`] bytes: the first access
/// of a group probes the TLB once for the whole range and the others reuse the host
/// addend it found, since nothing inside a block changes a translation. A system
/// register access (which may change translation or invalidate the TLB) ends every
/// group. Blocks are straight-line code, so a group's first access runs before the
/// others whenever they run.
fn probe_groups(b: &Block, paired: &[bool], g: &mut GroupScratch, out: &mut [Probe]) {
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

/// XMM registers the translator uses only inside one op's code (XMM0..7 carry operands).
const XSCRATCH: u8 = 15;
const XSCRATCH2: u8 = 14;

/// Finds the zero-extensions and truncations that need no code: the register of the
/// source already holds the result, because registers hold values zero-extended from
/// their type (and 64-bit register reads whose every use truncates to 32 bits load only
/// the low half). Such a result shares its source's register (`root`), and the source
/// then lives as long as any of them (`last`).
fn free_conversions(
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
fn homes(b: &Block, only_low: &[bool], home: &mut [Option<(i32, u8)>], until: &mut [usize]) {
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
enum AtOp {
    /// Nothing: the op cannot observe NZCV.
    Pass,
    /// The op may leave the block on an out-of-line path, which stores NZCV first.
    Cold,
    /// NZCV is stored before the op.
    Flush,
    /// The op overwrites NZCV: the pending write is dropped.
    Drop,
}

fn at_op(op: &Op) -> AtOp {
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
fn defer_nzcv(
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
fn direct_branches(
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

/// The LEA displacement that adds (or subtracts) `imm` in `ty` (I32 or I64), if it fits.
fn lea_disp(op: BinOp, ty: Ty, imm: u64) -> Option<i32> {
    let v = match ty {
        Ty::I64 => imm as i64,
        Ty::I32 => i64::from(imm as u32 as i32),
        _ => return None,
    };
    let d = match op {
        BinOp::Add => v,
        BinOp::Sub => v.checked_neg()?,
        _ => return None,
    };
    i32::try_from(d).ok()
}

/// Finds CLZ(RBIT(x)) whose RBIT result has no other use: one TZCNT of `x`. Marks the
/// CLZ result with `x` and the RBIT result with itself (no code), and keeps `x` alive
/// until the CLZ.
fn count_trailing(
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
fn always_calls(op: &Op, b: &Block, f: Features) -> bool {
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
fn inline_excl(attr: MemAttr) -> bool {
    !attr.unpriv && attr.size <= 8
}

fn inline_sysreg(r: SysReg) -> bool {
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

fn bin_inline(op: BinOp, ty: Ty) -> bool {
    match ty {
        Ty::I128 => matches!(op, BinOp::And | BinOp::Or | BinOp::Xor),
        Ty::I32 | Ty::I64 => true,
        Ty::I8 | Ty::I16 => matches!(
            op,
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor
        ),
    }
}

fn un_inline(op: UnOp, ty: Ty, f: Features) -> bool {
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

fn slot(t: Temp) -> crate::emit::M {
    m(R::R12, off::TEMPS + 16 * t.0 as i32)
}

impl Tr<'_> {
    fn ty(&self, t: Temp) -> Ty {
        self.b.temps[t.0 as usize]
    }

    fn abs_rel(&self, target: u64) -> i32 {
        let here = self.env.base + self.a.pos() as u64;
        (target as i64 - here as i64) as i32
    }

    fn jmp_abs(&mut self, target: u64) {
        self.a.buf.push(0xe9);
        let rel = self.abs_rel(target) - 4;
        self.a.buf.extend_from_slice(&rel.to_le_bytes());
    }

    /// Calls the shared lookup (target VA in RDI) and jumps to the entry it returns.
    fn lookup_jump(&mut self) {
        self.a.buf.push(0xe8);
        let rel = self.abs_rel(self.env.lookup) - 4;
        self.a.buf.extend_from_slice(&rel.to_le_bytes());
        self.a.jmp_r(R::RAX);
    }

    fn call_abs(&mut self, f: u64) {
        self.a.mov_ri(R::RAX, f);
        self.a.call_r(R::RAX);
    }

    /// `mov r, imm` without touching the flags.
    fn mov_nf(&mut self, r: R, v: u64) {
        if v == 0 {
            // mov r32, 0 (B8+r imm32): flags untouched.
            if r.0 >= 8 {
                self.a.buf.push(0x41);
            }
            self.a.buf.push(0xb8 | (r.0 & 7));
            self.a.buf.extend_from_slice(&0u32.to_le_bytes());
        } else {
            self.a.mov_ri(r, v);
        }
    }

    fn prologue(&mut self) {
        if !self.env.limit_checks {
            // Count, then stop if the event byte is set (un-counting the block).
            let n = self.b.ninsns as i32;
            let a = &mut self.a;
            if self.env.count_insns {
                a.alu_mi(true, Alu::Add, m(R::R12, off::INSNS), n);
            }
            if let Some(addr) = self.env.event_abs {
                a.cmp_abs8i(addr, 0);
            } else {
                a.load(8, R::RCX, m(R::R12, off::IRQ));
                a.cmp_m8i(m(R::RCX, 0), 0);
            }
            // The stop path is out of line (emit_cold): the body falls through.
            self.stop = Some(a.jcc_fwd(Cc::Ne));
            return;
        }
        let a = &mut self.a;
        a.load(8, R::RAX, m(R::R12, off::INSNS));
        a.alu_rm(true, Alu::Cmp, R::RAX, m(R::R12, off::LIMIT));
        let f1 = a.jcc_fwd(Cc::Ae);
        a.load(8, R::RCX, m(R::R12, off::IRQ));
        a.cmp_m8i(m(R::RCX, 0), 0);
        let f2 = a.jcc_fwd(Cc::Ne);
        a.alu_ri(true, Alu::Add, R::RAX, self.b.ninsns as i32);
        a.store(8, m(R::R12, off::INSNS), R::RAX);
        let skip = a.jmp_fwd();
        a.bind(f1);
        a.bind(f2);
        self.set_pc(self.b.pc);
        self.a.mov_ri(R::RAX, exit::STOP);
        self.jmp_abs(self.env.epilogue);
        self.a.bind(skip);
    }

    /// Moves `cpu.pc` from the block's start to `pc` (on a path that leaves the block).
    /// Translated code is position-independent: `cpu.pc` holds the address the block
    /// runs at (the runner, the jump-cache lookup and chained exits set it on entry),
    /// so a translation serves every virtual address of its physical page.
    fn set_pc(&mut self, pc: u64) {
        let d = pc.wrapping_sub(self.b.pc) as i64;
        if d == 0 {
            return;
        }
        if let Ok(v) = i32::try_from(d) {
            self.a.alu_mi(true, Alu::Add, m(R::RBP, off::PC), v);
        } else {
            self.a.mov_ri(R::RAX, d as u64);
            self.a.alu_mr(true, Alu::Add, m(R::RBP, off::PC), R::RAX);
        }
    }

    /// `r = pc` for a guest address `pc` given as it was at lowering (see
    /// [`Tr::set_pc`]): `cpu.pc` plus the distance from the block's start. Leaves the
    /// host flags alone; uses RCX when the distance needs 64 bits.
    fn pc_into(&mut self, r: R, pc: u64) {
        self.a.load(8, r, m(R::RBP, off::PC));
        let d = pc.wrapping_sub(self.b.pc) as i64;
        if let Ok(v) = i32::try_from(d) {
            if v != 0 {
                self.a.lea(true, r, m(r, v));
            }
        } else {
            self.a.mov_ri(R::RCX, d as u64);
            self.a.lea(true, r, mi(r, R::RCX, 1, 0));
        }
    }

    /// Frees registers of temps whose last use is op `i`.
    fn release(&mut self, i: usize) {
        if i < self.next_free {
            return;
        }
        let mut next = usize::MAX;
        for &r in self.alloc() {
            if let Some(t) = self.owner[r.0 as usize] {
                let l = self.last[t as usize];
                if l <= i {
                    self.owner[r.0 as usize] = None;
                } else {
                    next = next.min(l);
                }
            }
        }
        for x in XALLOC {
            if let Some(t) = self.xowner[usize::from(x)] {
                let l = self.last[t as usize];
                if l <= i {
                    self.xowner[usize::from(x)] = None;
                } else {
                    next = next.min(l);
                }
            }
        }
        self.next_free = next;
    }

    /// Assigns a location to a newly defined temp; returns the register to compute into
    /// (RAX when the temp lives in a slot: call `fin` afterwards).
    fn def(&mut self, t: Temp) -> R {
        if self.loc[t.0 as usize] != Loc::None {
            return match self.loc[t.0 as usize] {
                Loc::Reg(r) => r,
                _ => R::RAX,
            };
        }
        if self.ty(t) == Ty::I128 {
            // An XMM register unless the temp lives across a call (which would have to
            // save it each time).
            let free = XALLOC
                .into_iter()
                .find(|&x| self.xowner[usize::from(x)].is_none())
                .or_else(|| self.xspill_for(t));
            self.loc[t.0 as usize] = match free {
                Some(x) if !self.cross[t.0 as usize] && self.env.max_regs > 1 => {
                    self.xowner[usize::from(x)] = Some(t.0);
                    self.next_free = self.next_free.min(self.last[t.0 as usize]);
                    Loc::Xmm(x)
                }
                _ => Loc::Slot,
            };
            return R::RAX;
        }
        let cross = self.cross[t.0 as usize];
        let regs = self.alloc();
        let pick = |want_callee: bool, owner: &[Option<u32>; 16]| {
            regs.iter()
                .copied()
                .find(|&r| owner[r.0 as usize].is_none() && callee_saved(r) == want_callee)
        };
        let r = pick(cross, &self.owner)
            .or_else(|| pick(!cross, &self.owner))
            .or_else(|| self.spill_for(t));
        self.note_def(t);
        match r {
            Some(r) => {
                self.owner[r.0 as usize] = Some(t.0);
                self.next_free = self.next_free.min(self.last[t.0 as usize]);
                self.shared[r.0 as usize] = false;
                self.loc[t.0 as usize] = Loc::Reg(r);
                r
            }
            None => {
                self.loc[t.0 as usize] = Loc::Slot;
                R::RAX
            }
        }
    }

    /// The registers temps may live in.
    fn alloc(&self) -> &'static [R] {
        &ALLOC[..self.env.max_regs.clamp(1, ALLOC.len())]
    }

    fn note_def(&mut self, t: Temp) {
        let (d, n) = &mut self.cur_defs;
        if *n < d.len() {
            d[*n] = t.0;
            *n += 1;
        }
    }

    /// With every register taken: frees the one whose temp is needed furthest ahead
    /// (if later than `t` is) among temps that are unmodified reads of a guest
    /// register still holding the value: those need no store, later uses reload the
    /// register from the CPU block (as a slot would be). Otherwise `t` gets a slot.
    /// Operands and results of the current op stay.
    fn spill_for(&mut self, t: Temp) -> Option<R> {
        if self.no_spill {
            return None;
        }
        let lt = self.last[t.0 as usize];
        let mut best: Option<(usize, R)> = None;
        for &r in self.alloc() {
            let Some(o) = self.owner[r.0 as usize] else {
                continue;
            };
            let (us, nu) = self.cur_uses;
            let (ds, nd) = self.cur_defs;
            if self.shared[r.0 as usize]
                || us[..nu]
                    .iter()
                    .any(|u| u.0 == o || self.root[u.0 as usize] == o)
                || ds[..nd].contains(&o)
            {
                continue;
            }
            let lo = self.last[o as usize];
            let home_ok = self.home[o as usize].is_some() && lo <= self.home_until[o as usize];
            if home_ok && lo != usize::MAX && lo > lt && best.is_none_or(|(l, _)| lo > l) {
                best = Some((lo, r));
            }
        }
        let (_, r) = best?;
        let o = self.owner[r.0 as usize]?;
        let (disp, size) = self.home[o as usize]?;
        // Nothing to store: later uses reload the guest register.
        self.loc[o as usize] = Loc::Home(disp, size);
        self.owner[r.0 as usize] = None;
        self.spills += 1;
        Some(r)
    }

    /// Frees an XMM register for the 128-bit temp `t` when all are taken: the temp
    /// living longest past `t` (and not used by the current op) moves to its slot, so
    /// that the short-lived values of a dependency chain stay in registers.
    fn xspill_for(&mut self, t: Temp) -> Option<u8> {
        if self.no_spill || self.cross[t.0 as usize] || self.env.max_regs <= 1 {
            return None;
        }
        let lt = self.last[t.0 as usize];
        let (us, nu) = self.cur_uses;
        let (ds, nd) = self.cur_defs;
        let mut best: Option<(usize, u8)> = None;
        for x in XALLOC {
            let Some(o) = self.xowner[usize::from(x)] else {
                continue;
            };
            if us[..nu].iter().any(|u| u.0 == o) || ds[..nd].contains(&o) {
                continue;
            }
            let lo = self.last[o as usize];
            if lo != usize::MAX && lo > lt && best.is_none_or(|(l, _)| lo > l) {
                best = Some((lo, x));
            }
        }
        let (_, x) = best?;
        let o = self.xowner[usize::from(x)].take()?;
        self.a.movdqu_store(slot(Temp(o)), x);
        self.loc[o as usize] = Loc::Slot;
        self.spills += 1;
        Some(x)
    }

    /// The locations of `ts` now, for an out-of-line path emitted later.
    fn snap(&self, ts: &[Temp]) -> Snap {
        let mut s = Snap::EMPTY;
        for &t in ts.iter().take(8) {
            s.t[s.n] = (t.0, self.loc[t.0 as usize]);
            s.n += 1;
        }
        s
    }

    /// [`Tr::snap`] of `ts` and the operands of the owed NZCV write.
    fn cold_snap(&self, ts: &[Temp]) -> Snap {
        let mut v = [Temp(0); 8];
        let mut n = 0;
        for &t in ts {
            v[n] = t;
            n += 1;
        }
        if let Some(p) = self.pend {
            for t in p.temps() {
                if n < v.len() {
                    v[n] = t;
                    n += 1;
                }
            }
        }
        self.snap(&v[..n])
    }

    /// Puts the locations of `s` in place; returns the ones it replaced.
    fn apply(&mut self, s: &Snap) -> Snap {
        let mut old = *s;
        for k in (0..s.n).rev() {
            let (t, l) = s.t[k];
            old.t[k] = (t, self.loc[t as usize]);
            self.loc[t as usize] = l;
        }
        old
    }

    /// Completes a def computed into `r` (stores it when the temp lives in a slot).
    fn fin(&mut self, t: Temp, r: R) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            // A 128-bit temp computed in a GPR: MOVQ zeroes the upper half.
            self.a.movq_xr(x, r);
            return;
        }
        if self.loc[t.0 as usize] == Loc::Slot {
            self.a.store(8, slot(t), r);
            if self.ty(t) == Ty::I128 {
                // A 128-bit temp computed in a GPR (a load of up to 8 bytes).
                self.a
                    .store_i(8, m(R::R12, off::TEMPS + 16 * t.0 as i32 + 8), 0);
            } else {
                // Only the low 8 bytes of a narrow temp's slot are ever read.
                self.just_stored = Some((t.0, r, self.a.buf.len()));
            }
        }
    }

    /// The value of `t` in a register (loaded into `scratch` if needed).
    fn get(&mut self, t: Temp, scratch: R) -> R {
        match self.loc[t.0 as usize] {
            Loc::Reg(r) => r,
            Loc::Const(v) => {
                self.mov_nf(scratch, v as u64);
                scratch
            }
            Loc::Home(d, size) => {
                self.a.load(size, scratch, m(R::RBP, d));
                scratch
            }
            Loc::Xmm(x) => {
                // The low 64 bits of a 128-bit temp.
                self.a.movq_rx(scratch, x);
                scratch
            }
            _ => {
                // Right after `fin` stored it, the register still holds the value.
                if let Some((u, r, pos)) = self.just_stored {
                    if u == t.0 && pos == self.a.buf.len() {
                        if r != scratch {
                            self.a.mov_rr(true, scratch, r);
                        }
                        return scratch;
                    }
                }
                self.a.load(8, scratch, slot(t));
                scratch
            }
        }
    }

    /// A sign-extendable 32-bit immediate for `t` in an op of width `w`.
    fn imm(&self, t: Temp, w: bool) -> Option<i32> {
        match self.loc[t.0 as usize] {
            Loc::Const(v) => imm_fit(v as u64, w),
            _ => None,
        }
    }

    /// Copies `t` (any type) into the 16-byte memory at `dst`: one 16-byte store (two
    /// 8-byte stores read back by a 16-byte load would defeat store forwarding).
    fn put16(&mut self, t: Temp, dst: crate::emit::M) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            self.a.movdqu_store(dst, x);
            return;
        }
        if self.ty(t) == Ty::I128 && self.loc[t.0 as usize] == Loc::Slot {
            if self.x0_dirty || self.x0_prev != Some(t.0) {
                self.a.movdqu_load(0, slot(t));
            }
            self.a.movdqu_store(dst, 0);
            self.x0_dirty = true;
            return;
        }
        self.xmm_direct(XSCRATCH, t);
        self.a.movdqu_store(dst, XSCRATCH);
    }

    /// XMM `x` = the value of `t`, which is not a 128-bit temp in its slot (a constant,
    /// or a narrower value zero-extended), built in registers. Clobbers RAX.
    fn xmm_direct(&mut self, x: u8, t: Temp) {
        const PXOR: &[u8] = &[0x0f, 0xef];
        const PUNPCKLQDQ: &[u8] = &[0x0f, 0x6c];
        match self.loc[t.0 as usize] {
            Loc::Const(0) => self.a.sse_rr(PXOR, x, x),
            Loc::Const(v) => {
                self.a.mov_ri(R::RAX, v as u64);
                self.a.movq_xr(x, R::RAX);
                if v >> 64 != 0 {
                    self.a.mov_ri(R::RAX, (v >> 64) as u64);
                    self.a.movq_xr(XSCRATCH2, R::RAX);
                    self.a.sse_rr(PUNPCKLQDQ, x, XSCRATCH2);
                }
            }
            _ => {
                let r = self.get(t, R::RAX);
                self.a.movq_xr(x, r);
            }
        }
    }

    /// Defines `t` from the 16-byte memory at `src` (zero-extended values).
    fn take16(&mut self, t: Temp, src: crate::emit::M) {
        self.x0_dirty = true;
        if self.ty(t) == Ty::I128 {
            self.def(t);
            self.load16(t, src);
        } else {
            let r = self.def(t);
            self.a.load(8, r, src);
            self.fin(t, r);
        }
    }

    /// Puts the 16 bytes at `src` where the defined temp `t` lives: its XMM register,
    /// else its slot (through XMM0).
    fn load16(&mut self, t: Temp, src: crate::emit::M) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            self.a.movdqu_load(x, src);
        } else {
            self.a.movdqu_load(0, src);
            self.a.movdqu_store(slot(t), 0);
        }
    }

    /// Caller-saved registers holding temps still needed after op `i` (except `except`).
    fn live_caller_saved(&self, i: usize, except: Option<Temp>) -> Live {
        let mut v = Live::default();
        for &r in self.alloc() {
            if callee_saved(r) {
                continue;
            }
            if let Some(t) = self.owner[r.0 as usize] {
                if self.last[t as usize] > i && Some(t) != except.map(|e| e.0) {
                    v.push((r, t));
                }
            }
        }
        for x in XALLOC {
            if let Some(t) = self.xowner[usize::from(x)] {
                if self.last[t as usize] > i && Some(t) != except.map(|e| e.0) {
                    v.push((R(XMM_TAG + x), t));
                }
            }
        }
        v
    }

    fn save(&mut self, live: &Live) {
        for (r, t) in live {
            if r.0 >= XMM_TAG {
                self.a.movdqu_store(slot(Temp(t)), r.0 - XMM_TAG);
            } else {
                self.a.store(8, slot(Temp(t)), r);
            }
        }
    }

    fn restore(&mut self, live: &Live) {
        for (r, t) in live {
            if r.0 >= XMM_TAG {
                self.a.movdqu_load(r.0 - XMM_TAG, slot(Temp(t)));
            } else {
                self.a.load(8, r, slot(Temp(t)));
            }
        }
    }

    /// Defines the 128-bit temp `t` as the value in XMM `x`.
    fn xdef(&mut self, t: Temp, x: u8) {
        self.def(t);
        match self.loc[t.0 as usize] {
            Loc::Xmm(d) if d == x => {}
            Loc::Xmm(d) => self.a.sse_rr(&[0x0f, 0x6f], d, x),
            _ => self.a.movdqu_store(slot(t), x),
        }
    }

    /// A call that always happens, at op `i`: `setup` loads the argument registers
    /// (after the live registers were saved), the result (RAX) is left for `after`.
    fn call_site(
        &mut self,
        i: usize,
        except: Option<Temp>,
        f: u64,
        setup: impl FnOnce(&mut Self),
        after: impl FnOnce(&mut Self),
    ) {
        let live = self.live_caller_saved(i, except);
        self.save(&live);
        setup(self);
        self.call_abs(f);
        // The saved registers are reloaded after `after`: none may be spilled (and so
        // handed to a result) in between.
        self.no_spill = true;
        after(self);
        self.no_spill = false;
        self.restore(&live);
    }

    fn fault_exit(&mut self, cc: Cc) {
        let f = self.a.jcc_fwd(cc);
        self.fault_exits.push((f, self.pc));
    }

    /// The constant value of `t`, if known at translation time.
    fn konst(&self, t: Temp) -> Option<u128> {
        match self.loc[t.0 as usize] {
            Loc::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Folds pure integer ops on constants; true when `op` was folded.
    fn fold(&mut self, op: &Op) -> bool {
        let (dst, v) = match *op {
            Op::Bin { op, ty, dst, a, b } => match (self.konst(a), self.konst(b)) {
                (Some(x), Some(y)) => (dst, a64::interp::eval_bin(op, ty, x, y)),
                _ => return false,
            },
            Op::BinImm {
                op,
                ty,
                dst,
                a,
                imm,
            } => match self.konst(a) {
                Some(x) => (
                    dst,
                    a64::interp::eval_bin(op, ty, x, u128::from(imm) & ty.mask()),
                ),
                None => return false,
            },
            Op::Un { op, ty, dst, a } => match self.konst(a) {
                Some(x) => (dst, a64::interp::eval_un(op, ty, x)),
                None => return false,
            },
            Op::Zext { dst, src } | Op::Trunc { dst, src } => match self.konst(src) {
                Some(x) => (dst, x & self.ty(dst).mask()),
                None => return false,
            },
            Op::Sext { dst, src } => match self.konst(src) {
                Some(x) => {
                    let s = 128 - self.ty(src).bits();
                    (dst, (((x << s) as i128 >> s) as u128) & self.ty(dst).mask())
                }
                None => return false,
            },
            _ => return false,
        };
        self.loc[dst.0 as usize] = Loc::Const(v);
        true
    }

    /// Like [`Tr::def`], but takes over the register of operand `a` when `a` dies at op
    /// `i` (saves the copy of two-operand x86 forms).
    fn def_reuse(&mut self, dst: Temp, a: Temp, i: usize) -> R {
        if let Some(r) = self.dies_in_reg(a, i) {
            if self.loc[dst.0 as usize] == Loc::None
                && self.ty(dst) != Ty::I128
                && self.cross[dst.0 as usize] == callee_saved(r)
            {
                self.owner[r.0 as usize] = Some(dst.0);
                self.next_free = self.next_free.min(self.last[dst.0 as usize]);
                self.shared[r.0 as usize] = false;
                self.loc[dst.0 as usize] = Loc::Reg(r);
                self.note_def(dst);
                return r;
            }
        }
        self.def(dst)
    }

    /// For AESE/AESD (`imm` 0/1) at op `i` defining `t`: the AESMC/AESIMC right after
    /// it that is the only user of `t` (its index and result), to fuse with it.
    fn aes_pair(&self, i: usize, t: Temp, imm: u64) -> Option<(usize, Temp)> {
        let j = (i + 1..self.b.ops.len()).find(|&k| !matches!(self.b.ops[k], Op::Insn { .. }))?;
        match self.b.ops[j] {
            Op::Call {
                dst: Some(d),
                helper,
                args,
                imm: m,
                ..
            } if helper.name == "crypto::aes"
                && m == imm + 2
                && args[1] == t
                && self.last[t.0 as usize] == j =>
            {
                Some((j, d))
            }
            _ => None,
        }
    }

    /// Gives `dst` the register of its root (see [`free_conversions`]) when the root
    /// holds one; false when `dst` must be computed.
    fn share_root(&mut self, dst: Temp) -> bool {
        let r = self.root[dst.0 as usize];
        match self.loc[r as usize] {
            Loc::Reg(x) if r != dst.0 && self.owner[x.0 as usize] == Some(r) => {
                self.loc[dst.0 as usize] = Loc::Reg(x);
                self.shared[x.0 as usize] = true;
                self.x0 = self.x0_prev;
                true
            }
            _ => false,
        }
    }

    /// The register of `t` when the value in it is not needed after op `i` (so op `i`
    /// may overwrite it).
    fn dies_in_reg(&self, t: Temp, i: usize) -> Option<R> {
        let Loc::Reg(r) = self.loc[t.0 as usize] else {
            return None;
        };
        let o = self.owner[r.0 as usize]?;
        ((o == t.0 || o == self.root[t.0 as usize]) && self.last[o as usize] == i).then_some(r)
    }

    fn op(&mut self, i: usize) {
        let op = self.b.ops[i];
        self.cur_op = i;
        self.cur_uses = uses(&op);
        self.cur_defs.1 = 0;
        if self.skip == Some(i) {
            self.skip = None;
            return;
        }
        if self.pend.is_some() {
            match at_op(&op) {
                AtOp::Pass | AtOp::Cold => {}
                AtOp::Flush => self.flush_nzcv(),
                AtOp::Drop => self.pend = None,
            }
        }
        // XMM0 tracking: only ops that set `x0` at their end leave it known.
        self.x0_prev = self.x0.take();
        self.x0_dirty = false;
        if self.fold(&op) {
            self.x0 = self.x0_prev;
            return;
        }
        match op {
            Op::Insn { pc, raw } => {
                self.pc = pc;
                self.raw = raw;
                self.x0 = self.x0_prev;
            }
            Op::Const { dst, val, .. } => {
                self.loc[dst.0 as usize] = Loc::Const(val);
                self.x0 = self.x0_prev;
            }
            Op::PcRel { dst, val } => {
                let r = self.def(dst);
                self.pc_into(r, val);
                self.fin(dst, r);
                self.x0 = self.x0_prev;
            }
            Op::Get { dst, reg } => self.get_reg(dst, reg),
            Op::Set { .. } | Op::Select { .. } if self.defer[i] => {
                if let Some(p) = self.pend_at[i] {
                    self.pend = Some(p);
                }
                self.x0 = self.x0_prev;
            }
            Op::Set { reg, src } => self.set_reg(reg, src),
            Op::ExitIf {
                cond,
                target,
                insns,
            } => {
                let pend_live = self.flags_are_pend(cond, self.pend);
                let fix = self.branch_if(cond);
                self.cold.push(Cold {
                    fix,
                    kind: ColdKind::Side {
                        target,
                        rest: self.b.ninsns.saturating_sub(insns),
                    },
                    pc: self.pc,
                    pend: self.pend,
                    pend_live,
                    snap: self.cold_snap(&[]),
                    ..Cold::EMPTY
                });
                self.x0 = self.x0_prev;
            }
            Op::BinImm { dst, .. } | Op::Bin { dst, .. } if self.share_root(dst) => {}
            Op::Bin { op, ty, dst, a, b } => self.bin(i, op, ty, dst, a, Err(b)),
            Op::BinImm {
                op,
                ty,
                dst,
                a,
                imm,
            } => self.bin(i, op, ty, dst, a, Ok(imm)),
            Op::Un {
                op: UnOp::Rbit,
                dst,
                ..
            } if self.ctz[dst.0 as usize] == Some(dst) => {}
            Op::Un {
                op: UnOp::Clz,
                ty,
                dst,
                ..
            } if self.ctz[dst.0 as usize].is_some() => {
                let x = self.ctz[dst.0 as usize].unwrap_or(dst);
                let xr = self.get(x, R::RAX);
                let d = self.def(dst);
                self.a.f3op(ty == Ty::I64, 0xbc, d, xr);
                self.fin(dst, d);
            }
            Op::Un { op, ty, dst, a } => self.un(i, op, ty, dst, a),
            Op::Zext { dst, .. } | Op::Trunc { dst, .. } if self.share_root(dst) => {}
            Op::Zext { dst, src } | Op::Trunc { dst, src } => self.ext(i, dst, src, false),
            Op::Sext { dst, src } => self.ext(i, dst, src, true),
            Op::Flags {
                op,
                ty,
                dst,
                a,
                b,
                c,
            } => self.flags(op, ty, dst, a, b, c),
            Op::Cond { dst, cond, nzcv } => {
                if self.fused[i].is_some() {
                    return;
                }
                let n = self.get(nzcv, R::RCX);
                self.a.mov_rr(false, R::RCX, n);
                self.a.sh_i(false, Sh::Shr, R::RCX, 28);
                let tbl = rt::COND_TABLE.as_ptr() as u64 + 16 * u64::from(cond & 15);
                self.a.mov_ri(R::RAX, tbl);
                let r = self.def(dst);
                self.a.load(1, r, mi(R::RAX, R::RCX, 1, 0));
                self.fin(dst, r);
            }
            Op::Select { dst, c, a, b } => {
                if self.ty(dst) == Ty::I128 {
                    self.fallback(i, dst, &[a, b, c], 3);
                    return;
                }
                let ar = self.get(a, R::RDX);
                let br = self.get(b, R::RAX);
                if br != R::RAX {
                    self.a.mov_rr(true, R::RAX, br);
                }
                match self.direct[c.0 as usize] {
                    // The condition is still in the host flags.
                    Some(cc) => self.a.cmov(true, cc, R::RAX, ar),
                    None => {
                        let cr = self.get(c, R::RCX);
                        self.a.test_rr8(cr, cr);
                        self.a.cmov(true, Cc::Ne, R::RAX, ar);
                    }
                }
                let r = self.def(dst);
                if r != R::RAX {
                    self.a.mov_rr(true, r, R::RAX);
                }
                self.fin(dst, r);
            }
            Op::Load { .. } | Op::Store { .. } if self.paired[i] => self.mem_pair(i),
            Op::Load { dst, addr, attr } => self.load(i, dst, addr, attr),
            Op::Store { addr, src, attr } => self.store(i, addr, src, attr),
            Op::StoreExcl {
                status,
                addr,
                src,
                attr,
            } if inline_excl(attr) => self.store_excl(i, status, addr, src, attr),
            Op::StoreExcl {
                status,
                addr,
                src,
                attr,
            } => {
                let f = self.env.rt.store_excl;
                let pa = rt::pack_attr(attr);
                self.call_site(
                    i,
                    Some(status),
                    f,
                    |s| {
                        s.put16(src, m(R::R12, off::ARGS));
                        s.arg_addr(addr);
                        s.a.mov_rr(true, R::RDI, R::R12);
                        s.a.mov_ri(R::RDX, pa);
                    },
                    |s| {
                        s.a.alu_ri(false, Alu::Cmp, R::RAX, 2);
                        s.fault_exit(Cc::E);
                        let r = s.def(status);
                        s.a.mov_rr(false, r, R::RAX);
                        s.fin(status, r);
                    },
                );
            }
            Op::ClearExcl => {
                self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
            }
            Op::Barrier(_) => {}
            Op::DcZva { addr } => self.dc_zva(i, addr),
            Op::SysRead { dst, reg } => self.sys_read(i, dst, reg),
            Op::SysWrite { reg, src } => self.sys_write(i, reg, src),
            Op::Call {
                dst: Some(dst),
                helper,
                args,
                imm,
                ..
            } if inline_helper(helper, imm, self.env.feats) && helper.name == "crypto::aes" => {
                // AESE = AESENCLAST(d ^ n, 0); AESD = AESDECLAST(d ^ n, 0);
                // AESMC = AESENC(AESDECLAST(n, 0), 0); AESIMC = AESIMC(n).
                // AESE + AESMC of its result = AESENC(d ^ n, 0), AESD + AESIMC =
                // AESDEC(d ^ n, 0).
                const PXOR: &[u8] = &[0x0f, 0xef];
                if imm >= a64::crypto::lower::AES_ROUND_KEY {
                    // The rewritten rounds (`a64::crypto::lower::fuse_aes_rounds`):
                    // AESENC(x, key), AESENCLAST(x, 0), AESENC(x, 0).
                    self.xmm_load(0, args[0]);
                    self.x0_dirty = true;
                    if imm == a64::crypto::lower::AES_ROUND_KEY {
                        self.xmm_load(1, args[1]);
                    } else {
                        self.a.sse_rr(PXOR, 1, 1);
                    }
                    let last = imm == a64::crypto::lower::AES_SUB_SHIFT;
                    self.a
                        .sse_rr(&[0x0f, 0x38, if last { 0xdd } else { 0xdc }], 0, 1);
                    self.xdef(dst, 0);
                    self.x0 = Some(dst.0);
                    return;
                }
                let pair = if imm <= 1 {
                    self.aes_pair(i, dst, imm)
                } else {
                    None
                };
                let dst = pair.map_or(dst, |(_, d)| d);
                self.xmm_load(0, args[1]);
                if imm <= 1 {
                    self.xmm_load(1, args[0]);
                    self.a.sse_rr(PXOR, 0, 1);
                }
                self.x0_dirty = true;
                self.a.sse_rr(PXOR, 1, 1);
                match (imm, pair) {
                    (0, Some(_)) => self.a.sse_rr(&[0x0f, 0x38, 0xdc], 0, 1),
                    (1, Some(_)) => self.a.sse_rr(&[0x0f, 0x38, 0xde], 0, 1),
                    _ => {}
                }
                if let Some((j, _)) = pair {
                    self.skip = Some(j);
                    self.xdef(dst, 0);
                    self.x0 = Some(dst.0);
                    return;
                }
                match imm {
                    0 => self.a.sse_rr(&[0x0f, 0x38, 0xdd], 0, 1),
                    1 => self.a.sse_rr(&[0x0f, 0x38, 0xdf], 0, 1),
                    2 => {
                        self.a.sse_rr(&[0x0f, 0x38, 0xdf], 0, 1);
                        self.a.sse_rr(&[0x0f, 0x38, 0xdc], 0, 1);
                    }
                    _ => self.a.sse_rr(&[0x0f, 0x38, 0xdb], 0, 0),
                }
                self.xdef(dst, 0);
                self.x0 = Some(dst.0);
            }
            Op::Call {
                dst: Some(dst),
                helper,
                args,
                imm,
                ..
            } if inline_helper(helper, imm, self.env.feats) => {
                if host_crypto::inline(helper, imm, self.env.feats) {
                    self.host_crypto(dst, helper, args, imm)
                } else if simd_int::inline(helper, imm, self.env.feats) {
                    self.simd_int(dst, helper, args, imm)
                } else if helper.name.starts_with("simd::") {
                    self.simd(dst, helper, args, imm)
                } else {
                    self.sha(dst, helper, args, imm)
                }
            }
            Op::Call {
                dst,
                helper,
                args,
                nargs,
                imm,
            } => {
                let f = self.env.rt.helper;
                let h = helper as *const Helper as u64;
                self.call_site(
                    i,
                    dst,
                    f,
                    |s| {
                        for (k, &t) in args.iter().enumerate().take(nargs.min(3) as usize) {
                            s.put16(t, m(R::R12, off::ARGS + 16 * k as i32));
                        }
                        s.a.mov_rr(true, R::RDI, R::R12);
                        s.a.mov_ri(R::RSI, h);
                        s.a.mov_ri(R::RDX, imm);
                    },
                    |s| {
                        if let Some(d) = dst {
                            s.take16(d, m(R::R12, off::RET));
                        }
                    },
                );
            }
        }
    }

    /// The inline AdvSIMD operations (see [`crate::simd`]).
    fn simd(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        use crate::simd::{tm, ts, SImm};
        let i = SImm::of(imm);
        let e = match i.esize {
            8 => 0,
            16 => 1,
            32 => 2,
            _ => 3,
        };
        let bytes = (i.esize / 8) as i32;
        const MOVDQA: &[u8] = &[0x0f, 0x6f];
        const PAND: &[u8] = &[0x0f, 0xdb];
        const PANDN: &[u8] = &[0x0f, 0xdf];
        const POR: &[u8] = &[0x0f, 0xeb];
        const PXOR: &[u8] = &[0x0f, 0xef];
        const PCMPEQD: &[u8] = &[0x0f, 0x76];
        let padd: [&[u8]; 4] = [&[0x0f, 0xfc], &[0x0f, 0xfd], &[0x0f, 0xfe], &[0x0f, 0xd4]];
        let psub: [&[u8]; 4] = [&[0x0f, 0xf8], &[0x0f, 0xf9], &[0x0f, 0xfa], &[0x0f, 0xfb]];
        let pcmpeq: [&[u8]; 4] = [
            &[0x0f, 0x74],
            &[0x0f, 0x75],
            &[0x0f, 0x76],
            &[0x0f, 0x38, 0x29],
        ];
        let pcmpgt: [&[u8]; 4] = [
            &[0x0f, 0x64],
            &[0x0f, 0x65],
            &[0x0f, 0x66],
            &[0x0f, 0x38, 0x37],
        ];
        let pmaxu: [&[u8]; 3] = [&[0x0f, 0xde], &[0x0f, 0x38, 0x3e], &[0x0f, 0x38, 0x3f]];
        let pminu: [&[u8]; 3] = [&[0x0f, 0xda], &[0x0f, 0x38, 0x3a], &[0x0f, 0x38, 0x3b]];
        let pmaxs: [&[u8]; 3] = [&[0x0f, 0x38, 0x3c], &[0x0f, 0xee], &[0x0f, 0x38, 0x3d]];
        let pmins: [&[u8]; 3] = [&[0x0f, 0x38, 0x38], &[0x0f, 0xea], &[0x0f, 0x38, 0x39]];
        let mut vector = true;
        match h.name {
            "simd::three_same" => {
                self.xmm_load(1, args[0]);
                self.xmm_load(2, args[1]);
                let a = &mut self.a;
                let not0 = |a: &mut Asm| {
                    a.sse_rr(PCMPEQD, 7, 7);
                    a.sse_rr(PXOR, 0, 7);
                };
                let bin = |a: &mut Asm, op: &[u8]| {
                    a.sse_rr(MOVDQA, 0, 1);
                    a.sse_rr(op, 0, 2);
                };
                match i.op {
                    ts::ADD => bin(a, padd[e]),
                    ts::SUB => bin(a, psub[e]),
                    ts::AND => bin(a, PAND),
                    ts::ORR => bin(a, POR),
                    ts::EOR => bin(a, PXOR),
                    ts::BIC => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(PANDN, 0, 1);
                    }
                    ts::ORN => {
                        a.sse_rr(PCMPEQD, 0, 0);
                        a.sse_rr(PXOR, 0, 2);
                        a.sse_rr(POR, 0, 1);
                    }
                    ts::CMEQ => bin(a, pcmpeq[e]),
                    ts::CMGT => bin(a, pcmpgt[e]),
                    ts::CMGE => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(pcmpgt[e], 0, 1);
                        not0(a);
                    }
                    ts::CMTST => {
                        bin(a, PAND);
                        a.sse_rr(PXOR, 7, 7);
                        a.sse_rr(pcmpeq[e], 0, 7);
                        not0(a);
                    }
                    ts::UMAX => bin(a, pmaxu[e]),
                    ts::UMIN => bin(a, pminu[e]),
                    ts::SMAX => bin(a, pmaxs[e]),
                    ts::SMIN => bin(a, pmins[e]),
                    ts::CMHS => {
                        bin(a, pmaxu[e]);
                        a.sse_rr(pcmpeq[e], 0, 1);
                    }
                    ts::CMHI => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(pmaxu[e], 0, 1);
                        a.sse_rr(pcmpeq[e], 0, 2);
                        not0(a);
                    }
                    ts::ADDP if e == 1 => bin(a, &[0x0f, 0x38, 0x01]),
                    ts::ADDP if e == 2 => bin(a, &[0x0f, 0x38, 0x02]),
                    ts::ADDP | ts::UMAXP | ts::UMINP => {
                        // Bytes: even and odd bytes of each source as words, combined,
                        // then packed back to bytes (Vn's pairs low, Vm's high).
                        let op: &[u8] = match i.op {
                            ts::ADDP => &[0x0f, 0xfd],
                            ts::UMAXP => &[0x0f, 0xde],
                            _ => &[0x0f, 0xda],
                        };
                        a.sse_rr(PCMPEQD, 7, 7);
                        a.sse_shift(0x71, 2, 7, 8);
                        for (out, src) in [(0u8, 1u8), (5, 2)] {
                            a.sse_rr(MOVDQA, out, src);
                            a.sse_rr(PAND, out, 7);
                            a.sse_rr(MOVDQA, 4, src);
                            a.sse_shift(0x71, 2, 4, 8);
                            a.sse_rr(op, out, 4);
                            if i.op == ts::ADDP {
                                a.sse_rr(PAND, out, 7);
                            }
                        }
                        a.sse_rr(&[0x0f, 0x67], 0, 5);
                    }
                    _ => {
                        // BSL / BIT / BIF: d ^ ((d ^ n) & mask) with the right roles.
                        self.xmm_load(3, args[2]);
                        let a = &mut self.a;
                        match i.op {
                            ts::BSL => {
                                // m ^ ((m ^ n) & d)
                                a.sse_rr(MOVDQA, 0, 2);
                                a.sse_rr(PXOR, 0, 1);
                                a.sse_rr(PAND, 0, 3);
                                a.sse_rr(PXOR, 0, 2);
                            }
                            ts::BIT => {
                                a.sse_rr(MOVDQA, 0, 3);
                                a.sse_rr(PXOR, 0, 1);
                                a.sse_rr(PAND, 0, 2);
                                a.sse_rr(PXOR, 0, 3);
                            }
                            _ => {
                                // BIF: d ^ ((d ^ n) & !m)
                                a.sse_rr(MOVDQA, 4, 3);
                                a.sse_rr(PXOR, 4, 1);
                                a.sse_rr(MOVDQA, 0, 2);
                                a.sse_rr(PANDN, 0, 4);
                                a.sse_rr(PXOR, 0, 3);
                            }
                        }
                    }
                }
            }
            "simd::shift_narrow" => {
                // SHRN: shift the double-width elements right, keep their low halves
                // (mask, then an unsigned pack that cannot saturate).
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                if i.esize == 8 {
                    self.a.sse_shift(0x71, 2, 0, i.sh as u8);
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_shift(0x71, 2, 7, 8);
                    self.a.sse_rr(PAND, 0, 7);
                    self.a.sse_rr(&[0x0f, 0x67], 0, 0);
                } else {
                    self.a.sse_shift(0x72, 2, 0, i.sh as u8);
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_shift(0x72, 2, 7, 16);
                    self.a.sse_rr(PAND, 0, 7);
                    self.a.sse_rr(&[0x0f, 0x38, 0x2b], 0, 0);
                }
                if SImm::part2(imm) {
                    // SHRN2: into the upper half of Vd, its lower half kept.
                    self.xmm_load(1, args[1]);
                    self.a.sse_rr(&[0x0f, 0x6c], 1, 0);
                    self.a.sse_rr(MOVDQA, 0, 1);
                    self.xdef(dst, 0);
                    return;
                }
            }
            "simd::ext" => {
                self.xmm_load(1, args[0]);
                self.xmm_load(2, args[1]);
                if i.lanes == 16 {
                    // (m:n) >> 8*index bytes.
                    self.a.sse_rr(MOVDQA, 0, 2);
                    self.a.sse_rri(&[0x0f, 0x3a, 0x0f], 0, 1, i.sh as u8);
                } else {
                    // Low halves: m[63:0]:n[63:0] >> 8*index bytes, low 64 bits kept.
                    self.a.sse_rr(MOVDQA, 0, 1);
                    self.a.sse_rr(&[0x0f, 0x6c], 0, 2);
                    self.a.sse_shift(0x73, 3, 0, i.sh as u8);
                }
            }
            "simd::two_misc" if i.op <= tm::REV64 => {
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                let mask = crate::simd::rev_mask(i.op, i.esize).map_or(0, |m| m.as_ptr() as u64);
                self.a.mov_ri(R::RAX, mask);
                self.a.movdqu_load(7, m(R::RAX, 0));
                self.a.sse_rr(&[0x0f, 0x38, 0x00], 0, 7);
            }
            "simd::two_misc" => {
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                if i.op == tm::NOT {
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_rr(PXOR, 0, 7);
                } else {
                    self.a.sse_rr(PXOR, 7, 7);
                    self.a.sse_rr(pcmpeq[e], 0, 7);
                }
            }
            "simd::dup_gen" | "simd::dup_elem" => {
                if h.name == "simd::dup_gen" {
                    let r = self.get(args[0], R::RAX);
                    self.a.movq_xr(0, r);
                } else {
                    let src = self.vec_mem(args[0]);
                    let at = crate::emit::M {
                        disp: src.disp + bytes * i.sh as i32,
                        ..src
                    };
                    self.a.load(bytes as u8, R::RAX, at);
                    self.a.movq_xr(0, R::RAX);
                }
                match e {
                    0 => {
                        self.a.sse_rr(&[0x0f, 0x60], 0, 0);
                        self.a.pshuflw(0, 0, 0);
                        self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0);
                    }
                    1 => {
                        self.a.pshuflw(0, 0, 0);
                        self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0);
                    }
                    2 => self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0),
                    _ => self.a.sse_rr(&[0x0f, 0x6c], 0, 0),
                }
            }
            "simd::umov" => {
                let src = self.vec_mem(args[0]);
                let at = crate::emit::M {
                    disp: src.disp + bytes * i.sh as i32,
                    ..src
                };
                let r = self.def(dst);
                self.a.load(bytes as u8, r, at);
                self.fin(dst, r);
                return;
            }
            _ => {
                // INS (general / element): copy Vd, then replace one element in place.
                vector = false;
                // The element is stored into the slot: Vd stays in memory.
                if self.loc[dst.0 as usize] == Loc::None {
                    self.loc[dst.0 as usize] = Loc::Slot;
                }
                self.xmm_load(0, args[1]);
                self.a.movdqu_store(slot(dst), 0);
                if h.name == "simd::ins_gen" {
                    let r = self.get(args[0], R::RAX);
                    if r != R::RAX {
                        self.a.mov_rr(true, R::RAX, r);
                    }
                } else {
                    let src = self.vec_mem(args[0]);
                    let at = crate::emit::M {
                        disp: src.disp + bytes * i.idx2 as i32,
                        ..src
                    };
                    self.a.load(bytes as u8, R::RAX, at);
                }
                let d = slot(dst);
                let at = crate::emit::M {
                    disp: d.disp + bytes * i.sh as i32,
                    ..d
                };
                self.a.store(bytes as u8, at, R::RAX);
            }
        }
        if vector {
            if i.bits() == 64 {
                self.a.movq_xx(0, 0);
            }
            self.xdef(dst, 0);
            self.x0 = Some(dst.0);
        }
    }

    /// Memory holding the 128-bit value of `t` (its slot, or a copy in the argument block).
    fn vec_mem(&mut self, t: Temp) -> crate::emit::M {
        match self.loc[t.0 as usize] {
            Loc::Slot if self.ty(t) == Ty::I128 => slot(t),
            _ => {
                self.put16(t, m(R::R12, off::ARGS + 32));
                m(R::R12, off::ARGS + 32)
            }
        }
    }

    /// SHA256H/H2/SU0/SU1 on the SHA extensions.
    fn sha(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        const PSHUFD: &[u8] = &[0x0f, 0x70];
        const PALIGNR: &[u8] = &[0x0f, 0x3a, 0x0f];
        const PBLENDW: &[u8] = &[0x0f, 0x3a, 0x0e];
        const MOVDQA: &[u8] = &[0x0f, 0x6f];
        const RNDS2: &[u8] = &[0x0f, 0x38, 0xcb];
        if h.name == "crypto::sha256x" {
            use a64::crypto::lower as cl;
            let out = match imm {
                cl::SHA256X_ABEF | cl::SHA256X_CDGH => {
                    // ABCD = [A, B, C, D], EFGH = [E, F, G, H] (dword 0 first):
                    // ABEF = [F, E, B, A], CDGH = [H, G, D, C].
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_rri(PSHUFD, 1, 1, 0xb1); // [B, A, D, C]
                    self.a.sse_rri(PSHUFD, 2, 2, 0x1b); // [H, G, F, E]
                    if imm == cl::SHA256X_ABEF {
                        self.a.sse_rri(PALIGNR, 1, 2, 8);
                    } else {
                        self.a.sse_rri(PBLENDW, 2, 1, 0xf0);
                        self.a.sse_rr(MOVDQA, 1, 2);
                    }
                    1
                }
                cl::SHA256X_RNDS2_LO | cl::SHA256X_RNDS2_HI => {
                    self.xmm_load(0, args[2]);
                    if imm == cl::SHA256X_RNDS2_HI {
                        self.a.sse_rri(PSHUFD, 0, 0, 0x0e);
                    }
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_np_rr(RNDS2, 1, 2);
                    1
                }
                _ => {
                    // (ABEF, CDGH) -> [A, B, E, F], [G, H, C, D] -> ABCD or EFGH.
                    self.xmm_load(1, args[0]);
                    self.xmm_load(2, args[1]);
                    self.a.sse_rri(PSHUFD, 1, 1, 0x1b);
                    self.a.sse_rri(PSHUFD, 2, 2, 0xb1);
                    if imm == cl::SHA256X_ABCD {
                        self.a.sse_rri(PBLENDW, 1, 2, 0xf0);
                    } else {
                        self.a.sse_rri(PALIGNR, 2, 1, 8);
                        self.a.sse_rr(MOVDQA, 1, 2);
                    }
                    1
                }
            };
            self.xdef(dst, out);
            return;
        }
        let out = if h.name == "crypto::sha2" {
            // SHA256SU0 (d, n) = SHA256MSG1(d, n).
            self.xmm_load(1, args[0]);
            self.xmm_load(2, args[1]);
            self.a.sse_np_rr(&[0x0f, 0x38, 0xcc], 1, 2);
            1
        } else if imm == 6 {
            // SHA256SU1 (d, n, m) = SHA256MSG2(d + (m:n >> 32 bits), m).
            self.xmm_load(1, args[0]);
            self.xmm_load(2, args[1]);
            self.xmm_load(3, args[2]);
            self.a.sse_rr(MOVDQA, 4, 3);
            self.a.sse_rri(PALIGNR, 4, 2, 4);
            self.a.sse_rr(&[0x0f, 0xfe], 1, 4);
            self.a.sse_np_rr(&[0x0f, 0x38, 0xcd], 1, 3);
            1
        } else {
            // SHA256H: (ABCD = d, EFGH = n) -> ABCD'; SHA256H2: (ABCD = n, EFGH = d) -> EFGH'.
            let (abcd, efgh) = if imm == 4 {
                (args[0], args[1])
            } else {
                (args[1], args[0])
            };
            self.xmm_load(1, abcd);
            self.xmm_load(2, efgh);
            self.a.sse_rri(PSHUFD, 1, 1, 0xb1);
            self.a.sse_rri(PSHUFD, 2, 2, 0x1b);
            self.a.sse_rr(MOVDQA, 3, 1);
            self.a.sse_rri(PALIGNR, 3, 2, 8); // ABEF
            self.a.sse_rri(PBLENDW, 2, 1, 0xf0); // CDGH
            self.xmm_load(0, args[2]);
            self.a.sse_np_rr(RNDS2, 2, 3);
            self.a.sse_rri(PSHUFD, 0, 0, 0x0e);
            self.a.sse_np_rr(RNDS2, 3, 2);
            // xmm3 = ABEF, xmm2 = CDGH: back to ABCD / EFGH.
            self.a.sse_rri(PSHUFD, 1, 3, 0x1b);
            self.a.sse_rri(PSHUFD, 2, 2, 0xb1);
            self.a.sse_rr(MOVDQA, 4, 1);
            self.a.sse_rri(PBLENDW, 4, 2, 0xf0); // ABCD
            self.a.sse_rri(PALIGNR, 2, 1, 8); // EFGH
            if imm == 4 {
                4
            } else {
                2
            }
        };
        self.xdef(dst, out);
    }

    /// XMM`x` = the 128-bit value of `t`.
    fn xmm_load(&mut self, x: u8, t: Temp) {
        if !self.x0_dirty && self.x0_prev == Some(t.0) {
            // XMM0 still holds `t` from the previous op.
            if x != 0 {
                self.a.sse_rr(&[0x0f, 0x6f], x, 0);
            }
            return;
        }
        if x == 0 {
            self.x0_dirty = true;
        }
        match self.loc[t.0 as usize] {
            Loc::Xmm(r) if r == x => {}
            Loc::Xmm(r) => self.a.sse_rr(&[0x0f, 0x6f], x, r),
            Loc::Slot if self.ty(t) == Ty::I128 => self.a.movdqu_load(x, slot(t)),
            _ => self.xmm_direct(x, t),
        }
    }

    /// Register `r` = the value of `t` (a 64-bit or narrower temp).
    fn get_into(&mut self, t: Temp, r: R) {
        let x = self.get(t, r);
        if x != r {
            self.a.mov_rr(true, r, x);
        }
    }

    /// RSI = address temp (for calls).
    fn arg_addr(&mut self, addr: Temp) {
        self.get_into(addr, R::RSI);
    }

    fn get_reg(&mut self, dst: Temp, reg: Reg) {
        let (disp, size) = match reg {
            Reg::X(n) => (off::X + 8 * i32::from(n), 8),
            Reg::Sp => (off::SP, 8),
            Reg::Nzcv => (off::NZCV, 4),
            Reg::Fpcr => (off::FPCR, 4),
            Reg::Fpsr => (off::FPSR, 4),
            Reg::V(n) => {
                self.take16(dst, m(R::RBP, off::V + 16 * i32::from(n)));
                if self.loc[dst.0 as usize] == Loc::Slot {
                    // take16 went through XMM0.
                    self.x0 = Some(dst.0);
                }
                return;
            }
        };
        let size = if size == 8 && self.only_low[dst.0 as usize] {
            self.narrow[dst.0 as usize] = true;
            4
        } else {
            size
        };
        let r = self.def(dst);
        self.a.load(size, r, m(R::RBP, disp));
        self.fin(dst, r);
    }

    fn set_reg(&mut self, reg: Reg, src: Temp) {
        let (disp, mask) = match reg {
            Reg::X(n) => (off::X + 8 * i32::from(n), None),
            Reg::Sp => (off::SP, None),
            Reg::Nzcv => (off::NZCV, Some(a64::state::flags::MASK)),
            Reg::Fpcr => (off::FPCR, Some(a64::interp::consts::FPCR_MASK)),
            Reg::Fpsr => (off::FPSR, Some(a64::interp::consts::FPSR_MASK)),
            Reg::V(n) => {
                // put16 leaves a 128-bit temp read from its slot in XMM0.
                let held = self.ty(src) == Ty::I128 && self.loc[src.0 as usize] == Loc::Slot;
                self.put16(src, m(R::RBP, off::V + 16 * i32::from(n)));
                if held {
                    self.x0 = Some(src.0);
                }
                return;
            }
        };
        match mask {
            None => {
                if let Some(v) = self.imm(src, true) {
                    self.a.store_i(8, m(R::RBP, disp), v);
                } else {
                    let r = self.get(src, R::RAX);
                    self.a.store(8, m(R::RBP, disp), r);
                }
            }
            Some(_) if reg == Reg::Nzcv && self.flags_def[src.0 as usize].is_some() => {
                // Materialised flags are clean: store as they are.
                let r = self.get(src, R::RAX);
                self.a.store(4, m(R::RBP, disp), r);
            }
            Some(mk) => {
                let r = self.get(src, R::RAX);
                self.a.mov_rr(false, R::RAX, r);
                self.a.alu_ri(false, Alu::And, R::RAX, mk as i32);
                self.a.store(4, m(R::RBP, disp), R::RAX);
            }
        }
    }

    /// Calls `rt_op` with up to three operands; `kind` as in [`rt::rt_op`].
    fn fallback(&mut self, i: usize, dst: Temp, ops: &[Temp], code: u64) {
        let f = self.env.rt.op;
        let ops: Vec<Temp> = ops.to_vec();
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                for (k, &t) in ops.iter().enumerate() {
                    s.put16(t, m(R::R12, off::ARGS + 16 * k as i32));
                }
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| s.take16(dst, m(R::R12, off::RET)),
        );
    }

    fn fallback_imm(&mut self, i: usize, dst: Temp, a: Temp, imm: u64, code: u64) {
        let f = self.env.rt.op;
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                s.put16(a, m(R::R12, off::ARGS));
                s.a.mov_ri(R::RAX, imm);
                s.a.store(8, m(R::R12, off::ARGS + 16), R::RAX);
                s.a.store_i(8, m(R::R12, off::ARGS + 24), 0);
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| s.take16(dst, m(R::R12, off::RET)),
        );
    }

    fn bin(&mut self, i: usize, op: BinOp, ty: Ty, dst: Temp, a: Temp, b: Result<u64, Temp>) {
        if !bin_inline(op, ty) {
            let code = binop_index(op) << 8 | rt::ty_code(ty) << 16;
            match b {
                Ok(imm) => self.fallback_imm(i, dst, a, imm, code),
                Err(bt) => self.fallback(i, dst, &[a, bt], code),
            }
            return;
        }
        if ty == Ty::I128 {
            // And / Or / Xor on 128 bits: SSE on the slots.
            self.xmm_load(1, a);
            match b {
                Err(t) => self.xmm_load(2, t),
                Ok(v) => {
                    self.a.mov_ri(R::RAX, v);
                    self.a.store(8, m(R::R12, off::ARGS + 32), R::RAX);
                    self.a.store_i(8, m(R::R12, off::ARGS + 40), 0);
                    self.a.movdqu_load(2, m(R::R12, off::ARGS + 32));
                }
            }
            let opc: &[u8] = match op {
                BinOp::And => &[0x0f, 0xdb],
                BinOp::Or => &[0x0f, 0xeb],
                _ => &[0x0f, 0xef],
            };
            self.a.sse_rr(opc, 1, 2);
            self.xdef(dst, 1);
            return;
        }
        let w = ty == Ty::I64;
        let bits = ty.bits();
        // Commutative ops: put the operand that can be overwritten (or the constant)
        // where the two-operand x86 form wants it.
        let (a, b) = match b {
            Err(bt)
                if matches!(
                    op,
                    BinOp::Add | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Mul
                ) && !matches!(self.loc[bt.0 as usize], Loc::Const(_))
                    && (matches!(self.loc[a.0 as usize], Loc::Const(_))
                        || self.dies_in_reg(a, i).is_none()
                            && self.dies_in_reg(bt, i).is_some()) =>
            {
                (bt, Err(a))
            }
            _ => (a, b),
        };
        // Operand b: immediate or register.
        let bimm: Option<i32> = match b {
            Ok(v) => imm_fit(v, w),
            Err(t) => self.imm(t, w),
        };
        let bval: Option<u64> = match b {
            Ok(v) => Some(v),
            Err(t) => match self.loc[t.0 as usize] {
                Loc::Const(v) => Some(v as u64),
                _ => None,
            },
        };
        let ar = self.get(a, R::RAX);
        if let Some(disp) = b.ok().and_then(|v| lea_disp(op, ty, v)) {
            // `lea d, [a + disp]`: one instruction, and the host flags survive (a CMOV
            // or branch on them may follow, see `direct_branches`).
            let d = self.def_reuse(dst, a, i);
            self.a.lea(w, d, m(ar, disp));
            self.fin(dst, d);
            return;
        }
        match op {
            BinOp::Add | BinOp::Sub | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Mul => {
                let br = if bimm.is_some() {
                    None
                } else {
                    Some(match b {
                        Ok(v) => {
                            self.a.mov_ri(R::RCX, v);
                            R::RCX
                        }
                        Err(t) => self.get(t, R::RCX),
                    })
                };
                let d = self.def_reuse(dst, a, i);
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                let alu = match op {
                    BinOp::Add => Some(Alu::Add),
                    BinOp::Sub => Some(Alu::Sub),
                    BinOp::And => Some(Alu::And),
                    BinOp::Or => Some(Alu::Or),
                    BinOp::Xor => Some(Alu::Xor),
                    _ => None,
                };
                match (alu, br) {
                    (Some(k), None) => self.a.alu_ri(w, k, d, bimm.unwrap_or(0)),
                    (Some(k), Some(br)) => self.a.alu_rr(w, k, d, br),
                    (None, None) => {
                        self.a.mov_ri(R::RCX, bval.unwrap_or(0));
                        self.a.imul_rr(w, d, R::RCX);
                    }
                    (None, Some(br)) => self.a.imul_rr(w, d, br),
                }
                if bits < 32 && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul) {
                    self.a.movzx((bits / 8) as u8, d, d);
                }
                self.fin(dst, d);
            }
            BinOp::Shl | BinOp::LShr | BinOp::AShr | BinOp::Ror => {
                let sh = match op {
                    BinOp::Shl => Sh::Shl,
                    BinOp::LShr => Sh::Shr,
                    BinOp::AShr => Sh::Sar,
                    _ => Sh::Ror,
                };
                if let Some(v) = bval {
                    let d = self.def_reuse(dst, a, i);
                    if d != ar {
                        self.a.mov_rr(w, d, ar);
                    }
                    let n = (v % u64::from(bits)) as u8;
                    if n != 0 {
                        self.a.sh_i(w, sh, d, n);
                    }
                    self.fin(dst, d);
                } else {
                    let Err(bt) = b else { return };
                    // Shift count to CL; value to RAX.
                    let br = self.get(bt, R::RCX);
                    if br != R::RCX {
                        self.a.mov_rr(false, R::RCX, br);
                    }
                    if ar != R::RAX {
                        self.a.mov_rr(w, R::RAX, ar);
                    }
                    self.a.sh_cl(w, sh, R::RAX);
                    let d = self.def(dst);
                    if d != R::RAX {
                        self.a.mov_rr(w, d, R::RAX);
                    }
                    self.fin(dst, d);
                }
            }
            BinOp::UDiv | BinOp::SDiv => {
                let br = match b {
                    Ok(v) => {
                        self.a.mov_ri(R::RCX, v);
                        R::RCX
                    }
                    Err(t) => self.get(t, R::RCX),
                };
                if br != R::RCX {
                    self.a.mov_rr(w, R::RCX, br);
                }
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                // x / 0 = 0.
                self.a.test_rr(w, R::RCX, R::RCX);
                let z = self.a.jcc_fwd(Cc::E);
                let mut neg = None;
                if op == BinOp::SDiv {
                    self.a.alu_ri(w, Alu::Cmp, R::RCX, -1);
                    neg = Some(self.a.jcc_fwd(Cc::E));
                    self.a.cqo(w);
                    self.a.grp3(w, 7, R::RCX);
                } else {
                    self.a.alu_rr(false, Alu::Xor, R::RDX, R::RDX);
                    self.a.grp3(w, 6, R::RCX);
                }
                let done = self.a.jmp_fwd();
                if let Some(n) = neg {
                    // x / -1 = -x (wrapping: MIN / -1 = MIN).
                    self.a.bind(n);
                    self.a.grp3(w, 3, R::RAX);
                    let d2 = self.a.jmp_fwd();
                    self.a.bind(z);
                    self.a.alu_rr(false, Alu::Xor, R::RAX, R::RAX);
                    self.a.bind(d2);
                } else {
                    self.a.bind(z);
                    self.a.alu_rr(false, Alu::Xor, R::RAX, R::RAX);
                }
                self.a.bind(done);
                let d = self.def(dst);
                if d != R::RAX {
                    self.a.mov_rr(w, d, R::RAX);
                }
                self.fin(dst, d);
            }
            BinOp::UMulHi | BinOp::SMulHi => {
                let signed = op == BinOp::SMulHi;
                let br = match b {
                    Ok(v) => {
                        self.a.mov_ri(R::RCX, v);
                        R::RCX
                    }
                    Err(t) => self.get(t, R::RCX),
                };
                if w {
                    if br != R::RCX {
                        self.a.mov_rr(true, R::RCX, br);
                    }
                    if ar != R::RAX {
                        self.a.mov_rr(true, R::RAX, ar);
                    }
                    self.a.grp3(true, if signed { 5 } else { 4 }, R::RCX);
                    let d = self.def(dst);
                    self.a.mov_rr(true, d, R::RDX);
                    self.fin(dst, d);
                } else {
                    // 32-bit: full product in 64 bits, high half.
                    if signed {
                        self.a.movsx(true, 4, R::RCX, br);
                        self.a.movsx(true, 4, R::RAX, ar);
                    } else {
                        self.a.mov_rr(false, R::RCX, br);
                        self.a.mov_rr(false, R::RAX, ar);
                    }
                    self.a.imul_rr(true, R::RAX, R::RCX);
                    self.a.sh_i(true, Sh::Shr, R::RAX, 32);
                    let d = self.def(dst);
                    self.a.mov_rr(false, d, R::RAX);
                    self.fin(dst, d);
                }
            }
        }
    }

    fn un(&mut self, i: usize, op: UnOp, ty: Ty, dst: Temp, a: Temp) {
        if !un_inline(op, ty, self.env.feats) {
            let code = 1 | unop_index(op) << 8 | rt::ty_code(ty) << 16;
            self.fallback(i, dst, &[a], code);
            return;
        }
        if ty == Ty::I128 {
            // Not on 128 bits.
            self.xmm_load(0, a);
            self.a.sse_rr(&[0x0f, 0x76], 7, 7);
            self.a.sse_rr(&[0x0f, 0xef], 0, 7);
            self.xdef(dst, 0);
            return;
        }
        let w = ty == Ty::I64;
        let ar = self.get(a, R::RAX);
        let d = if matches!(op, UnOp::Clz | UnOp::Popcnt) {
            self.def(dst)
        } else {
            self.def_reuse(dst, a, i)
        };
        match op {
            UnOp::Not | UnOp::Neg => {
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                self.a.grp3(w, if op == UnOp::Not { 2 } else { 3 }, d);
                if ty.bits() < 32 {
                    self.a.movzx((ty.bits() / 8) as u8, d, d);
                }
            }
            UnOp::Rev | UnOp::Rev32 => {
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                self.a.bswap(w, d);
                if op == UnOp::Rev32 {
                    self.a.sh_i(true, Sh::Ror, d, 32);
                }
            }
            UnOp::Clz => self.a.f3op(w, 0xbd, d, ar),
            _ => self.a.f3op(w, 0xb8, d, ar),
        }
        self.fin(dst, d);
    }

    fn ext(&mut self, i: usize, dst: Temp, src: Temp, signed: bool) {
        let (ft, tt) = (self.ty(src), self.ty(dst));
        if tt == Ty::I128 {
            if signed && ft != Ty::I128 {
                let code = 2 | rt::ty_code(tt) << 16 | rt::ty_code(ft) << 24;
                self.fallback(i, dst, &[src], code);
                return;
            }
            // Zero-extension (or a 128-bit copy).
            self.def(dst);
            match self.loc[dst.0 as usize] {
                Loc::Xmm(x) => self.xmm_load(x, src),
                _ => self.put16(src, slot(dst)),
            }
            return;
        }
        // Narrow destination.
        let sr = if ft == Ty::I128 {
            match self.loc[src.0 as usize] {
                Loc::Const(v) => {
                    self.a.mov_ri(R::RAX, v as u64);
                }
                Loc::Xmm(x) => self.a.movq_rx(R::RAX, x),
                _ => self.a.load(8, R::RAX, slot(src)),
            }
            R::RAX
        } else {
            self.get(src, R::RAX)
        };
        let d = self.def_reuse(dst, src, i);
        if signed && ft.bits() < tt.bits() {
            self.a.movsx(tt == Ty::I64, ft.bytes() as u8, d, sr);
            if tt.bits() < 32 {
                self.a.movzx(tt.bytes() as u8, d, d);
            }
        } else if ft.bits() <= tt.bits()
            || ft == Ty::I128 && tt == Ty::I64
            || (ft == Ty::I64 && tt == Ty::I32 && self.narrow[src.0 as usize])
        {
            // Zero-extension: registers already hold values zero-extended from their
            // type, so this is at most a copy.
            if d != sr {
                self.a.mov_rr(true, d, sr);
            }
        } else {
            match tt.bits() {
                8 | 16 => self.a.movzx((tt.bits() / 8) as u8, d, sr),
                32 => self.a.mov_rr(false, d, sr),
                _ => {
                    if d != sr {
                        self.a.mov_rr(true, d, sr)
                    }
                }
            }
        }
        self.fin(dst, d);
    }

    /// Stores the pending NZCV write, if any.
    fn flush_nzcv(&mut self) {
        if let Some(p) = self.pend.take() {
            self.store_nzcv(p);
        }
    }

    /// Whether a branch on `cond` jumps straight on the host flags of the owed NZCV
    /// write `pend` (so both its paths still have them).
    fn flags_are_pend(&self, cond: Temp, pend: Option<Pend>) -> bool {
        let Some(p) = pend.filter(|p| p.sel.is_none()) else {
            return false;
        };
        if self.direct[cond.0 as usize].is_none() {
            return false;
        }
        let Some(&(t, _, _)) = self.flag_conds.iter().find(|&&(_, _, d)| d == cond) else {
            return false;
        };
        let Some((f, _)) = self.flags_def[t as usize] else {
            return false;
        };
        matches!(self.b.ops[f], Op::Flags { op, ty, a, b, c, .. }
            if (op, ty, a, b, c) == (p.k, p.ty, p.a, p.b, p.c))
    }

    /// Stores NZCV of `p` from the host flags, which still hold it (clobbers RAX, RCX).
    fn store_nzcv_from_flags(&mut self, p: Pend) {
        self.nzcv_to_ecx(p.k);
        self.a.store(4, m(R::RBP, off::NZCV), R::RCX);
    }

    /// Recomputes the flags of `p` and stores NZCV (clobbers RAX, RCX, RDX).
    fn store_nzcv(&mut self, p: Pend) {
        self.flag_insn(p.k, p.ty, p.a, p.b, p.c);
        self.nzcv_to_ecx(p.k);
        if let Some((c, k)) = p.sel {
            let cr = self.get(c, R::RDX);
            self.a.test_rr8(cr, cr);
            self.mov_nf(R::RAX, u64::from(k));
            self.a.cmov(false, Cc::E, R::RCX, R::RAX);
        }
        self.a.store(4, m(R::RBP, off::NZCV), R::RCX);
    }

    /// Emits the x86 instruction whose host flags give NZCV of `k` (operands in
    /// registers or RAX/RCX/RDX).
    fn flag_insn(&mut self, k: FlagOp, ty: Ty, a: Temp, b: Temp, c: Temp) {
        let w = ty == Ty::I64;
        // Load the operands first: nothing after the flags-setting instruction may
        // disturb the flags until the conditions are taken.
        match k {
            FlagOp::Logic => {
                let ar = self.get(a, R::RAX);
                self.a.test_rr(w, ar, ar);
            }
            FlagOp::Sub => {
                let ar = self.get(a, R::RAX);
                if let Some(v) = self.imm(b, w) {
                    self.a.alu_ri(w, Alu::Cmp, ar, v);
                } else {
                    let br = self.get(b, R::RCX);
                    self.a.alu_rr(w, Alu::Cmp, ar, br);
                }
            }
            FlagOp::Add => {
                let ar = self.get(a, R::RAX);
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                if let Some(v) = self.imm(b, w) {
                    self.a.alu_ri(w, Alu::Add, R::RAX, v);
                } else {
                    let br = self.get(b, R::RCX);
                    self.a.alu_rr(w, Alu::Add, R::RAX, br);
                }
            }
            FlagOp::Adc | FlagOp::Sbc => {
                let ar = self.get(a, R::RAX);
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                let br = self.get(b, R::RCX);
                let cr = self.get(c, R::RDX);
                self.a.bt_i(false, cr, 0);
                if k == FlagOp::Sbc {
                    self.a.cmc();
                    self.a.alu_rr(w, Alu::Sbb, R::RAX, br);
                } else {
                    self.a.alu_rr(w, Alu::Adc, R::RAX, br);
                }
            }
        }
    }

    fn flags(&mut self, k: FlagOp, ty: Ty, dst: Temp, a: Temp, b: Temp, c: Temp) {
        self.flag_insn(k, ty, a, b, c);
        // Fused conditions.
        let nconds = self.flag_conds.len();
        for k in 0..nconds {
            let (t, j, cd) = self.flag_conds[k];
            if t != dst.0 || self.direct[cd.0 as usize].is_some() {
                continue;
            }
            let r = self.def(cd);
            match self.fused[j] {
                Some(Ok(cc)) => {
                    self.a.setcc(cc, r);
                    self.a.movzx(1, r, r);
                }
                Some(Err(v)) => self.mov_nf(r, u64::from(v)),
                None => {}
            }
            if self.loc[cd.0 as usize] == Loc::Slot {
                // Slot: store without touching the flags.
                self.a.store(8, slot(cd), r);
            }
        }
        if self.plain_uses[dst.0 as usize] == 0 {
            self.loc[dst.0 as usize] = Loc::Const(0);
            return;
        }
        self.nzcv_to_ecx(k);
        let d = self.def(dst);
        self.a.mov_rr(false, d, R::RCX);
        self.fin(dst, d);
    }

    /// ECX = NZCV (bits 31..28) from the host flags left by [`Tr::flag_insn`] for `k`
    /// (clobbers RAX and RDX).
    fn nzcv_to_ecx(&mut self, k: FlagOp) {
        if self.env.feats.flag_pext {
            // AH = SF:ZF:0:AF:0:PF:1:CF, AL = OF; PEXT with 0xC101 gathers N Z C V.
            self.a.lahf();
            self.a.setcc(Cc::O, R::RAX);
            self.a.mov_ri(R::RCX, 0xc101);
            self.a.pext_ecx_eax_ecx();
            self.a.sh_i(false, Sh::Shl, R::RCX, 28);
            match k {
                FlagOp::Sub | FlagOp::Sbc => self.a.alu_ri(false, Alu::Xor, R::RCX, 1 << 29),
                FlagOp::Logic => self
                    .a
                    .alu_ri(false, Alu::And, R::RCX, 0xc000_0000u32 as i32),
                _ => {}
            }
            return;
        }
        // Materialise NZCV: V -> AL, C -> CL, Z -> DL, N -> scratch byte.
        self.a.setcc(Cc::O, R::RAX);
        match k {
            FlagOp::Add | FlagOp::Adc => self.a.setcc(Cc::B, R::RCX),
            FlagOp::Sub | FlagOp::Sbc => self.a.setcc(Cc::Ae, R::RCX),
            FlagOp::Logic => self.mov_nf(R::RCX, 0),
        }
        self.a.setcc(Cc::E, R::RDX);
        // sets byte [r12 + SCRATCH]
        let sm = m(R::R12, off::SCRATCH);
        {
            // 41 0F 98 /0 with r12 base: emit via a generic path.
            self.setcc_m(Cc::S, sm);
        }
        self.a.movzx(1, R::RAX, R::RAX);
        self.a.movzx(1, R::RCX, R::RCX);
        self.a.movzx(1, R::RDX, R::RDX);
        self.a.lea(false, R::RCX, mi(R::RAX, R::RCX, 2, 0));
        self.a.lea(false, R::RCX, mi(R::RCX, R::RDX, 4, 0));
        self.a.load(1, R::RDX, sm);
        self.a.lea(false, R::RCX, mi(R::RCX, R::RDX, 8, 0));
        self.a.sh_i(false, Sh::Shl, R::RCX, 28);
    }

    fn setcc_m(&mut self, cc: Cc, mm: crate::emit::M) {
        // SETcc r/m8 with a memory operand: REX.B for R12, 0F 9x, ModRM.
        let mut t = Asm::new();
        t.load(1, R::RAX, mm); // movzx eax, byte [mm]: same ModRM/SIB/disp layout
                               // t.buf = [REX?] 0F B6 modrm sib disp...
        let (rex, rest) = if t.buf[0] & 0xf0 == 0x40 {
            (Some(t.buf[0]), &t.buf[1..])
        } else {
            (None, &t.buf[..])
        };
        if let Some(r) = rex {
            self.a.buf.push(r);
        }
        self.a.buf.push(0x0f);
        self.a.buf.push(0x90 | cc as u8);
        self.a.buf.extend_from_slice(&rest[2..]);
    }

    /// Inline TLB probe for an access of `attr` at the address in `ar` (not RAX/RCX):
    /// on a hit RCX = host address - VA and execution falls through; returns the
    /// fixup of the miss branch.
    fn tlb_probe(&mut self, ar: R, attr: MemAttr, write: bool) -> Fixup {
        let size = u64::from(attr.size.max(1));
        self.tlb_entry_offset(ar);
        let a = &mut self.a;
        let align = u64::from(attr.align.max(1));
        if align >= size {
            // Aligned access: cannot cross a page; misalignment must miss.
            a.mov_rr(true, R::RCX, ar);
            a.alu_ri(
                true,
                Alu::And,
                R::RCX,
                (!0xfffu64 | (align - 1)) as i64 as i32,
            );
        } else {
            a.lea(true, R::RCX, m(ar, (size - 1) as i32));
            a.alu_ri(true, Alu::And, R::RCX, -4096);
        }
        self.tlb_tag_check(write)
    }

    /// RAX = the offset of the TLB entry of the address in `va` (not RAX).
    fn tlb_entry_offset(&mut self, va: R) {
        tlb_entry_offset(&mut self.a, R::RAX, va, self.env.feats.bmi2);
    }

    /// Compares RCX (a page) with the read or write tag of the TLB entry at offset RAX;
    /// on a hit RCX = that entry's host address - VA and execution falls through;
    /// returns the fixup of the miss branch.
    fn tlb_tag_check(&mut self, write: bool) -> Fixup {
        let tag = if write { 8 } else { 0 };
        let a = &mut self.a;
        a.alu_rm(true, Alu::Cmp, R::RCX, mi(R::R13, R::RAX, 1, tag));
        let miss = a.jcc_fwd(Cc::Ne);
        a.load(8, R::RCX, mi(R::R13, R::RAX, 1, 24));
        miss
    }

    /// The TLB probe of the plain access op `i` (both halves of a pair) at the address
    /// in `ar`, alone or for its group (see [`Probe`]): on a hit RCX = host address - VA
    /// and execution falls through to the access; returns the fixup of the miss branch
    /// and, for a grouped access, the probe its out-of-line path makes first.
    fn probe_access(
        &mut self,
        i: usize,
        ar: R,
        attr: MemAttr,
        write: bool,
    ) -> (Fixup, Option<Reprobe>) {
        let (miss, clear) = match self.probes[i] {
            Probe::Own => return (self.tlb_probe(ar, attr, write), None),
            Probe::First { slot, lo, hi } => {
                let so = off::PROBES + 8 * i32::from(slot);
                let lo_reg = if lo == 0 {
                    ar
                } else {
                    self.a.lea(true, R::RCX, m(ar, lo));
                    R::RCX
                };
                self.tlb_entry_offset(lo_reg);
                // The entry of the lowest byte's page holds the highest byte's page only
                // when they are the same page (the range is far narrower than the table).
                self.a.lea(true, R::RCX, m(ar, hi));
                self.a.alu_ri(true, Alu::And, R::RCX, -4096);
                let miss = self.tlb_tag_check(write);
                self.a.store(8, m(R::R12, so), R::RCX);
                (miss, Some(so))
            }
            Probe::Later { slot } => {
                let so = off::PROBES + 8 * i32::from(slot);
                self.a.load(8, R::RCX, m(R::R12, so));
                self.a.test_rr(true, R::RCX, R::RCX);
                (self.a.jcc_fwd(Cc::E), None)
            }
        };
        let rp = Reprobe {
            ar,
            attr,
            write,
            access: self.a.pos(),
            clear,
        };
        (miss, Some(rp))
    }

    /// The address temp in a register other than RAX/RCX.
    fn addr_reg(&mut self, addr: Temp) -> R {
        self.get(addr, R::RDX)
    }

    fn load(&mut self, i: usize, dst: Temp, addr: Temp, attr: MemAttr) {
        if attr.unpriv || attr.exclusive && !inline_excl(attr) {
            let f = self.env.rt.load;
            let pa = rt::pack_attr(attr);
            self.call_site(
                i,
                Some(dst),
                f,
                |s| {
                    s.arg_addr(addr);
                    s.a.mov_rr(true, R::RDI, R::R12);
                    s.a.mov_ri(R::RDX, pa);
                },
                |s| {
                    s.a.test_rr(false, R::RAX, R::RAX);
                    s.fault_exit(Cc::Ne);
                    s.take16(dst, m(R::R12, off::RET));
                },
            );
            return;
        }
        let ar = self.addr_reg(addr);
        // Allocate first: a spill must happen on every path, not only on a TLB hit.
        let d = self.def(dst);
        let (miss, rp) = self.probe_access(i, ar, attr, false);
        self.load_at(mi(R::RCX, ar, 1, 0), dst, d, attr.size);
        if attr.exclusive {
            // Arm the monitor with the address and value (on a TLB miss the run-time
            // function arms it itself); inline exclusives are at most 8 bytes, in `d`.
            self.a.store(8, m(R::RBP, off::MON_ADDR), ar);
            self.a.store(8, m(R::RBP, off::MON_VALUE), d);
            self.a.store_i(8, m(R::RBP, off::MON_VALUE + 8), 0);
            self.a.store_i8(m(R::RBP, off::MON_SIZE), attr.size);
            self.a.store_i8(m(R::RBP, off::MON_VALID), 1);
        }
        self.rejoin(
            i,
            &[miss],
            ColdKind::Load { dst, attr },
            addr,
            Some(dst),
            dst,
            rp,
        );
    }

    /// Records the out-of-line paths of memory op `i` (entered at `fixes`), which
    /// rejoin the block here; `except` is the op's result (not live across it), `t`
    /// the other temp the path reads or writes besides `addr`; `reprobe`: the probe the
    /// path makes first (a grouped access).
    #[allow(clippy::too_many_arguments)]
    fn rejoin(
        &mut self,
        i: usize,
        fixes: &[Fixup],
        kind: ColdKind,
        addr: Temp,
        except: Option<Temp>,
        t: Temp,
        reprobe: Option<Reprobe>,
    ) {
        let resume = self.a.pos();
        // No register is known to hold a slot where paths join.
        self.just_stored = None;
        let live = self.live_caller_saved(i, except);
        let snap = self.cold_snap(&[addr, t]);
        for &fix in fixes {
            self.cold.push(Cold {
                fix,
                resume,
                kind,
                addr,
                pc: self.pc,
                live,
                pend: self.pend,
                snap,
                reprobe,
                ..Cold::EMPTY
            });
        }
    }

    /// The two accesses of an LDP/STP, ops `i` and `i + 1` (see [`pair_of`]), with one
    /// TLB probe covering both. When it misses (or they straddle a page boundary), the
    /// out-of-line path does them one after the other, exactly as two ops would.
    fn mem_pair(&mut self, i: usize) {
        self.skip = Some(i + 1);
        let (load, t, addr, addr2, attr) = match (self.b.ops[i], self.b.ops[i + 1]) {
            (
                Op::Load { dst, addr, attr },
                Op::Load {
                    dst: d2, addr: a2, ..
                },
            ) => (true, [dst, d2], addr, a2, attr),
            (
                Op::Store { src, addr, attr },
                Op::Store {
                    src: s2, addr: a2, ..
                },
            ) => (false, [src, s2], addr, a2, attr),
            _ => return,
        };
        let size = attr.size;
        let both = MemAttr {
            size: 2 * size,
            ..attr
        };
        let ar = self.addr_reg(addr);
        let (miss, reprobe) = if load {
            // Allocate first: a spill must happen on every path, not only on a hit.
            let r = [self.def(t[0]), self.def(t[1])];
            let probe = self.probe_access(i, ar, both, false);
            for (k, (d, r)) in t.into_iter().zip(r).enumerate() {
                self.load_at(mi(R::RCX, ar, 1, k as i32 * i32::from(size)), d, r, size);
            }
            probe
        } else {
            let probe = self.probe_access(i, ar, both, true);
            for (k, src) in t.into_iter().enumerate() {
                let hm = mi(R::RCX, ar, 1, k as i32 * i32::from(size));
                self.store_at(hm, src, size);
            }
            probe
        };
        let resume = self.a.pos();
        self.just_stored = None;
        let (live, live2) = if load {
            let mut live = Live::default();
            for x in &self.live_caller_saved(i, Some(t[0])) {
                if x.1 != t[1].0 {
                    live.push(x);
                }
            }
            (live, self.live_caller_saved(i + 1, Some(t[1])))
        } else {
            (
                self.live_caller_saved(i, None),
                self.live_caller_saved(i + 1, None),
            )
        };
        let snap = self.cold_snap(&[addr, addr2, t[0], t[1]]);
        self.cold.push(Cold {
            fix: miss,
            resume,
            kind: ColdKind::Pair {
                load,
                t,
                addr2,
                attr,
            },
            addr,
            pc: self.pc,
            live,
            live2,
            pend: self.pend,
            pend_live: false,
            snap,
            reprobe,
        });
    }

    fn store(&mut self, i: usize, addr: Temp, src: Temp, attr: MemAttr) {
        if attr.exclusive || attr.unpriv {
            let f = self.env.rt.store;
            let pa = rt::pack_attr(attr);
            self.call_site(
                i,
                None,
                f,
                |s| {
                    s.put16(src, m(R::R12, off::ARGS));
                    s.arg_addr(addr);
                    s.a.mov_rr(true, R::RDI, R::R12);
                    s.a.mov_ri(R::RDX, pa);
                },
                |s| {
                    s.a.test_rr(false, R::RAX, R::RAX);
                    s.fault_exit(Cc::Ne);
                },
            );
            return;
        }
        let ar = self.addr_reg(addr);
        let (miss, rp) = self.probe_access(i, ar, attr, true);
        self.store_at(mi(R::RCX, ar, 1, 0), src, attr.size);
        let kind = ColdKind::Store { src, attr };
        self.rejoin(i, &[miss], kind, addr, None, src, rp);
    }

    /// DC ZVA: a write probe of the whole aligned block holding `addr`, then four
    /// 16-byte stores of zero; a miss (no write permission, translated code in the
    /// page, a device) takes the run-time function.
    fn dc_zva(&mut self, i: usize, addr: Temp) {
        const PXOR: &[u8] = &[0x0f, 0xef];
        let z = a64::interp::consts::ZVA_BYTES as u8;
        self.get_into(addr, R::RDX);
        self.a.alu_ri(true, Alu::And, R::RDX, -i32::from(z));
        let attr = MemAttr {
            align: z,
            ..MemAttr::plain(z)
        };
        let miss = self.tlb_probe(R::RDX, attr, true);
        self.a.sse_rr(PXOR, XSCRATCH, XSCRATCH);
        for k in 0..i32::from(z / 16) {
            self.a.movdqu_store(mi(R::RCX, R::RDX, 1, 16 * k), XSCRATCH);
        }
        self.rejoin(i, &[miss], ColdKind::DcZva, addr, None, addr, None);
    }

    /// Loads `size` bytes at host address `hm` (a TLB hit) into `dst`, whose register
    /// `def` gave as `d` (a 16-byte value goes to its slot).
    fn load_at(&mut self, hm: crate::emit::M, dst: Temp, d: R, size: u8) {
        if size == 16 {
            self.load16(dst, hm);
        } else {
            self.a.load(size, d, hm);
            self.fin(dst, d);
        }
    }

    /// Stores `size` bytes of `src` at host address `hm` (a TLB hit).
    fn store_at(&mut self, hm: crate::emit::M, src: Temp, size: u8) {
        if size == 16 {
            if let Loc::Xmm(x) = self.loc[src.0 as usize] {
                self.a.movdqu_store(hm, x);
            } else if self.ty(src) == Ty::I128 && !matches!(self.loc[src.0 as usize], Loc::Const(_))
            {
                self.a.movdqu_load(0, slot(src));
                self.a.movdqu_store(hm, 0);
            } else {
                self.xmm_direct(XSCRATCH, src);
                self.a.movdqu_store(hm, XSCRATCH);
            }
        } else {
            let v = self.get(src, R::RAX);
            self.a.store(size, hm, v);
        }
    }

    /// Store-exclusive of up to 8 bytes: succeeds (status 0) when the monitor holds
    /// this address and size and memory still holds the value the load-exclusive read;
    /// the monitor is cleared either way. Misaligned accesses and TLB misses take the
    /// run-time function (which faults as needed).
    fn store_excl(&mut self, i: usize, status: Temp, addr: Temp, src: Temp, attr: MemAttr) {
        let ar = self.addr_reg(addr);
        let mut slow = Vec::new();
        if attr.size > 1 {
            self.a.test_ri(true, ar, i32::from(attr.size) - 1);
            slow.push(self.a.jcc_fwd(Cc::Ne));
        }
        self.a.cmp_m8i(m(R::RBP, off::MON_VALID), 0);
        let f1 = self.a.jcc_fwd(Cc::E);
        self.a.alu_rm(true, Alu::Cmp, ar, m(R::RBP, off::MON_ADDR));
        let f2 = self.a.jcc_fwd(Cc::Ne);
        self.a.cmp_m8i(m(R::RBP, off::MON_SIZE), attr.size as i8);
        let f3 = self.a.jcc_fwd(Cc::Ne);
        slow.push(self.tlb_probe(ar, attr, true));
        self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        self.a.load(attr.size, R::RAX, mi(R::RCX, ar, 1, 0));
        self.a
            .alu_rm(true, Alu::Cmp, R::RAX, m(R::RBP, off::MON_VALUE));
        let f4 = self.a.jcc_fwd(Cc::Ne);
        let v = self.get(src, R::RAX);
        self.a.store(attr.size, mi(R::RCX, ar, 1, 0), v);
        self.mov_nf(R::RCX, 0);
        let ok = self.a.jmp_fwd();
        for f in [f1, f2, f3] {
            self.a.bind(f);
        }
        self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        self.a.bind(f4);
        self.a.mov_ri(R::RCX, 1);
        self.a.bind(ok);
        let kind = ColdKind::StoreExcl { src, attr };
        self.rejoin(i, &slow, kind, addr, Some(status), src, None);
        let d = self.def(status);
        self.a.mov_rr(false, d, R::RCX);
        self.fin(status, d);
    }

    fn sys_read(&mut self, i: usize, dst: Temp, reg: SysReg) {
        let inline: Option<(i32, u8)> = match reg {
            SysReg::Nzcv => Some((off::NZCV, 4)),
            SysReg::Daif => Some((off::DAIF, 4)),
            SysReg::Fpcr => Some((off::FPCR, 4)),
            SysReg::Fpsr => Some((off::FPSR, 4)),
            SysReg::TpidrEl0 => Some((off::TPIDR, 8)),
            SysReg::TpidrroEl0 => Some((off::TPIDRRO, 8)),
            _ => None,
        };
        if let Some((d, sz)) = inline {
            let r = self.def(dst);
            self.a.load(sz, r, m(R::RBP, d));
            self.fin(dst, r);
            return;
        }
        let konst = match reg {
            SysReg::Const(v) => Some(v),
            SysReg::CtrEl0 => Some(a64::interp::consts::CTR_EL0),
            SysReg::DczidEl0 => Some(a64::interp::consts::DCZID_EL0),
            _ => None,
        };
        if let Some(v) = konst {
            let r = self.def(dst);
            self.a.mov_ri(r, v);
            self.fin(dst, r);
            return;
        }
        let code = rt::sysreg_code(reg).unwrap_or(0);
        let f = self.env.rt.sys_read;
        let (pc, raw) = (self.pc, self.raw);
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| {
                s.a.test_rr(false, R::RAX, R::RAX);
                let fx = s.a.jcc_fwd(Cc::Ne);
                s.undef_exits.push((fx, pc, raw));
                s.take16(dst, m(R::R12, off::RET));
            },
        );
    }

    fn sys_write(&mut self, i: usize, reg: SysReg, src: Temp) {
        let inline: Option<(i32, u8, u64)> = match reg {
            SysReg::Nzcv => Some((off::NZCV, 4, u64::from(a64::state::flags::MASK))),
            SysReg::Fpcr => Some((off::FPCR, 4, u64::from(a64::interp::consts::FPCR_MASK))),
            SysReg::Fpsr => Some((off::FPSR, 4, u64::from(a64::interp::consts::FPSR_MASK))),
            SysReg::TpidrEl0 => Some((off::TPIDR, 8, u64::MAX)),
            SysReg::TpidrroEl0 => Some((off::TPIDRRO, 8, u64::MAX)),
            SysReg::Const(_) | SysReg::CtrEl0 | SysReg::DczidEl0 => return,
            _ => None,
        };
        if reg == SysReg::Daif {
            // Inline; when the write unmasks IRQ or FIQ while a line is asserted, stop
            // at the next block entry so the runner takes the interrupt.
            let r = self.get(src, R::RAX);
            self.a.mov_rr(false, R::RAX, r);
            self.a.alu_ri(false, Alu::And, R::RAX, 0x3c0);
            self.a.store(4, m(R::RBP, off::DAIF), R::RAX);
            self.a.alu_ri(false, Alu::And, R::RAX, 0xc0);
            self.a.alu_ri(false, Alu::Cmp, R::RAX, 0xc0);
            let masked = self.a.jcc_fwd(Cc::E);
            self.a.cmp_m8i(m(R::R12, off::IRQ_LINE), 0);
            let quiet = self.a.jcc_fwd(Cc::E);
            self.a.store_i(8, m(R::R12, off::LIMIT), 0);
            self.a.load(8, R::RCX, m(R::R12, off::IRQ));
            self.a.store_i8(m(R::RCX, 0), 1);
            self.a.bind(masked);
            self.a.bind(quiet);
            return;
        }
        if let Some((d, sz, mask)) = inline {
            let r = self.get(src, R::RAX);
            if sz == 4 {
                self.a.mov_rr(false, R::RAX, r);
                self.a.alu_ri(false, Alu::And, R::RAX, mask as u32 as i32);
                self.a.store(4, m(R::RBP, d), R::RAX);
            } else {
                self.a.store(8, m(R::RBP, d), r);
            }
            return;
        }
        // Most writes may change what translated code is keyed on: the runner looks
        // again before the next block.
        self.no_chain |= !a64::sysreg::write_keeps_context(reg);
        let code = rt::sysreg_code(reg).unwrap_or(0);
        let f = self.env.rt.sys_write;
        let (pc, raw) = (self.pc, self.raw);
        self.call_site(
            i,
            None,
            f,
            |s| {
                s.get_into(src, R::RDX);
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| {
                s.a.test_rr(false, R::RAX, R::RAX);
                let fx = s.a.jcc_fwd(Cc::Ne);
                s.undef_exits.push((fx, pc, raw));
            },
        );
    }

    /// An exit to guest `target` from the end of the block.
    fn exit_to(&mut self, target: u64) {
        let same_page = target & !0xfff == self.b.pc & !0xfff;
        if self.no_chain {
            self.set_pc(target);
            self.a.mov_ri(R::RAX, exit::CONTINUE);
            self.jmp_abs(self.env.epilogue);
        } else if same_page {
            // A patchable jump, initially to the stub right after it; `cpu.pc` moves
            // first, as the next block expects.
            self.set_pc(target);
            let k = self.exits.len();
            let f = self.a.jmp_fwd();
            let patch = self.env.base + f.0 as u64;
            self.a.bind(f);
            self.exits.push(ExitRec::Chain { patch });
            let code = exit::EXIT_REC | u64::from(self.env.block_id) << 8 | k as u64;
            self.a.mov_ri(R::RAX, code);
            self.jmp_abs(self.env.epilogue);
        } else {
            self.pc_into(R::RDI, target);
            self.lookup_jump();
        }
    }

    /// A forward jump taken when `cond` (I8) is non-zero.
    fn branch_if(&mut self, cond: Temp) -> Fixup {
        if let Some(cc) = self.direct[cond.0 as usize] {
            return self.a.jcc_fwd(cc);
        }
        let c = self.get(cond, R::RAX);
        self.a.test_rr8(c, c);
        self.a.jcc_fwd(Cc::Ne)
    }

    fn term(&mut self) {
        if let Term::Branch {
            cond,
            taken,
            not_taken,
        } = self.b.term
        {
            // The owed NZCV write goes on both paths (after the branch, which may use
            // the host flags).
            let pend = self.pend.take();
            let live = self.flags_are_pend(cond, pend);
            let f = self.branch_if(cond);
            for (fix, target) in [(None, not_taken), (Some(f), taken)] {
                if let Some(fix) = fix {
                    self.a.bind(fix);
                }
                match pend {
                    Some(p) if live => self.store_nzcv_from_flags(p),
                    Some(p) => self.store_nzcv(p),
                    None => {}
                }
                self.exit_to(target);
            }
            return;
        }
        self.flush_nzcv();
        match self.b.term {
            Term::Jump(t) => self.exit_to(t),
            Term::Branch { .. } => {}
            Term::Indirect { target, .. } => {
                self.get_into(target, R::RDI);
                if self.no_chain {
                    self.a.store(8, m(R::RBP, off::PC), R::RDI);
                    self.a.mov_ri(R::RAX, exit::CONTINUE);
                    self.jmp_abs(self.env.epilogue);
                } else {
                    self.lookup_jump();
                }
            }
            Term::Exception {
                kind: ExcKind::Maint(Maint::DcVa | Maint::DcSw),
                pc,
            } => {
                // Data-cache maintenance has no effect here (the runner ignores it too).
                self.exit_to(pc.wrapping_add(4));
            }
            Term::Exception {
                kind: ExcKind::Maint(mk @ (Maint::Tlbi | Maint::IcIvau)),
                pc,
            } if !self.no_chain => {
                // Done by the monitor in place when it can (a TLBI; an IC IVAU of a page
                // without translated code), then on to the next instruction.
                let raw = self.raw;
                let rt = (raw & 31) as u8;
                if rt == 31 {
                    self.a.alu_rr(false, Alu::Xor, R::RDX, R::RDX);
                } else {
                    self.a
                        .load(8, R::RDX, m(R::RBP, off::X + 8 * i32::from(rt)));
                }
                self.a.mov_ri(R::RSI, u64::from(raw));
                self.a.mov_ri(R::RCX, u64::from(mk == Maint::IcIvau));
                self.a.mov_rr(true, R::RDI, R::R12);
                self.call_abs(self.env.rt.maint);
                self.a.test_rr(false, R::RAX, R::RAX);
                let runner = self.a.jcc_fwd(Cc::Ne);
                self.exit_to(pc.wrapping_add(4));
                self.a.bind(runner);
                self.exception_exit(ExcKind::Maint(mk), pc);
            }
            Term::Exception { kind, pc } => self.exception_exit(kind, pc),
        }
    }

    /// Leaves the block for the runner to take exception or event `kind` at `pc`.
    fn exception_exit(&mut self, kind: ExcKind, pc: u64) {
        if !matches!(kind, ExcKind::Wfi | ExcKind::Wfe | ExcKind::Maint(_)) {
            self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        }
        let resume = if kind.resumes_after() {
            pc.wrapping_add(4)
        } else {
            pc
        };
        self.set_pc(resume);
        let k = self.exits.len();
        self.exits.push(ExitRec::Exception {
            kind,
            raw: self.raw,
        });
        let code = exit::EXIT_REC | u64::from(self.env.block_id) << 8 | k as u64;
        self.a.mov_ri(R::RAX, code);
        self.jmp_abs(self.env.epilogue);
    }

    fn emit_cold(&mut self) {
        // What XMM0 holds where an out-of-line path starts is not what it held after
        // the last op.
        self.x0_prev = None;
        self.x0_dirty = true;
        if let Some(f) = self.stop.take() {
            self.a.bind(f);
            if self.env.count_insns {
                self.a
                    .alu_mi(true, Alu::Sub, m(R::R12, off::INSNS), self.b.ninsns as i32);
            }
            self.set_pc(self.b.pc);
            self.a.mov_ri(R::RAX, exit::STOP);
            self.jmp_abs(self.env.epilogue);
        }
        let cold = core::mem::take(&mut self.cold);
        for c in cold {
            let saved = self.apply(&c.snap);
            self.cold_one(c);
            self.apply(&saved);
        }
        self.emit_exits();
    }

    /// One out-of-line path (see [`Cold`]), with the temps where they were at its op.
    fn cold_one(&mut self, c: Cold) {
        {
            self.a.bind(c.fix);
            if let Some(rp) = c.reprobe {
                if let Some(so) = rp.clear {
                    self.a.store_i(8, m(R::R12, so), 0);
                }
                let miss = self.tlb_probe(rp.ar, rp.attr, rp.write);
                self.a.jmp_to(rp.access);
                self.a.bind(miss);
            }
            match c.pend {
                Some(p) if c.pend_live => self.store_nzcv_from_flags(p),
                Some(p) => self.store_nzcv(p),
                None => {}
            }
            if let ColdKind::Side { target, rest } = c.kind {
                if rest > 0 && (self.env.count_insns || self.env.limit_checks) {
                    self.a
                        .alu_mi(true, Alu::Sub, m(R::R12, off::INSNS), rest as i32);
                }
                self.exit_to(target);
                return;
            }
            if let ColdKind::Pair {
                load,
                t,
                addr2,
                attr,
            } = c.kind
            {
                for (k, (addr, live)) in [(c.addr, &c.live), (addr2, &c.live2)]
                    .into_iter()
                    .enumerate()
                {
                    let kind = if load {
                        ColdKind::Load { dst: t[k], attr }
                    } else {
                        ColdKind::Store { src: t[k], attr }
                    };
                    self.cold_access(kind, addr, live, c.pc);
                }
                self.a.jmp_to(c.resume);
                return;
            }
            if let ColdKind::StoreExcl { src, attr } = c.kind {
                self.save(&c.live);
                self.put16(src, m(R::R12, off::ARGS));
                self.arg_addr(c.addr);
                self.a.mov_rr(true, R::RDI, R::R12);
                self.a.mov_ri(R::RDX, rt::pack_attr(attr));
                self.call_abs(self.env.rt.store_excl);
                self.a.alu_ri(false, Alu::Cmp, R::RAX, 2);
                let fx = self.a.jcc_fwd(Cc::E);
                self.fault_exits.push((fx, c.pc));
                self.a.mov_rr(false, R::RCX, R::RAX);
                self.restore(&c.live);
                self.a.jmp_to(c.resume);
                return;
            }
            self.cold_access(c.kind, c.addr, &c.live, c.pc);
            self.a.jmp_to(c.resume);
        }
    }

    /// A load, store or DC ZVA at `addr` through the run-time function (a TLB miss),
    /// keeping the `live` registers; a fault leaves through the data-abort exit of `pc`.
    fn cold_access(&mut self, kind: ColdKind, addr: Temp, live: &Live, pc: u64) {
        self.save(live);
        let (f, attr) = match kind {
            ColdKind::Load { attr, .. } => (self.env.rt.load, Some(attr)),
            ColdKind::Store { src, attr } => {
                self.put16(src, m(R::R12, off::ARGS));
                (self.env.rt.store, Some(attr))
            }
            ColdKind::DcZva => (self.env.rt.dczva, None),
            ColdKind::Side { .. } | ColdKind::StoreExcl { .. } | ColdKind::Pair { .. } => return,
        };
        self.arg_addr(addr);
        self.a.mov_rr(true, R::RDI, R::R12);
        if let Some(attr) = attr {
            self.a.mov_ri(R::RDX, rt::pack_attr(attr));
        }
        self.call_abs(f);
        self.a.test_rr(false, R::RAX, R::RAX);
        let fx = self.a.jcc_fwd(Cc::Ne);
        self.fault_exits.push((fx, pc));
        if let ColdKind::Load { dst, .. } = kind {
            match self.loc[dst.0 as usize] {
                Loc::Reg(r) => self.a.load(8, r, m(R::R12, off::RET)),
                _ => self.load16(dst, m(R::R12, off::RET)),
            }
        }
        self.restore(live);
    }

    /// The shared data-abort and UNDEF exits of the block.
    fn emit_exits(&mut self) {
        let faults = core::mem::take(&mut self.fault_exits);
        for (f, pc) in faults {
            self.a.bind(f);
            self.set_pc(pc);
            self.a.mov_ri(R::RAX, exit::DATA_ABORT);
            self.jmp_abs(self.env.epilogue);
        }
        let undefs = core::mem::take(&mut self.undef_exits);
        for (f, pc, raw) in undefs {
            self.a.bind(f);
            self.set_pc(pc);
            self.a.mov_ri(R::RAX, u64::from(raw));
            self.a.store(8, m(R::R12, off::UNDEF_RAW), R::RAX);
            self.a.mov_ri(R::RAX, exit::UNDEF);
            self.jmp_abs(self.env.epilogue);
        }
    }
}

/// `v` as a sign-extended 32-bit immediate for an op of width `w` (64-bit when true).
fn imm_fit(v: u64, w: bool) -> Option<i32> {
    if w {
        let s = v as i64;
        (s >= i32::MIN as i64 && s <= i32::MAX as i64).then_some(s as i32)
    } else {
        (v <= u32::MAX as u64).then_some(v as u32 as i32)
    }
}

mod host_crypto;
mod simd_int;

#[cfg(test)]
mod host_exec;

#[cfg(test)]
mod codegen_tests;
#[cfg(test)]
mod corpus_bench;
