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

mod analysis;
mod branch;
mod call;
mod crypto;
mod host_crypto;
pub(crate) mod hostfp;
mod int;
mod mem;
mod regalloc;
mod simd;
mod simd_int;
mod system;

use analysis::*;
use int::*;
use regalloc::*;

pub(crate) use mem::tlb_entry_offset;

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
    /// Scalar FP on the host's SSE unit ([`hostfp`]; SSE2, always there: off only to
    /// measure or compare).
    pub host_fp: bool,
    /// FMA3 with the OS saving the AVX state (the FMADD family on the host).
    pub fma: bool,
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
            host_fp: true,
            fma: hostfp::fma_usable(l1),
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
        n if n.starts_with("fp::") => hostfp::inline(h, imm, f),
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
    /// What MXCSR holds for host FP ops ([`hostfp::MX_UNKNOWN`], ...).
    mx: u8,
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
        mx: hostfp::MX_UNKNOWN,
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

impl Tr<'_> {
    fn ty(&self, t: Temp) -> Ty {
        self.b.temps[t.0 as usize]
    }

    fn abs_rel(&self, target: u64) -> i32 {
        let here = self.env.base + self.a.pos() as u64;
        (target as i64 - here as i64) as i32
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

    fn fault_exit(&mut self, cc: Cc) {
        let f = self.a.jcc_fwd(cc);
        self.fault_exits.push((f, self.pc));
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
        hostfp::note_op(&mut self.mx, &op);
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
            Op::Call { .. } => self.call(i),
        }
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
}

#[cfg(test)]
mod codegen_tests;
#[cfg(test)]
mod corpus_bench;
#[cfg(test)]
mod host_exec;
