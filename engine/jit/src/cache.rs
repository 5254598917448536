//! The code cache: shared stubs (entry, epilogue, indirect-branch lookup), translated
//! blocks placed by bump allocation in an executable region the embedder provides,
//! chaining by patching jumps, and running translated code.

use alloc::boxed::Box;
use alloc::vec::Vec;

use a64::ir::Block;
use a64::state::Cpu;

use crate::emit::{m, mi, Alu, Asm, Cc, Sh, R};
use crate::rt::{self, exit, off, Ctx, JitMemory, Rt};
use crate::translate::{translate_with, Env, ExitRec, Features, Scratch, TransError};

/// Why a block could not be placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The code region is full: flush and retry.
    #[error("code cache full")]
    Full,
    /// The translator declined the block.
    #[error(transparent)]
    Trans(#[from] TransError),
}

/// A translated block's metadata (lives until the next flush).
#[derive(Debug)]
pub struct Meta {
    /// Entry address.
    pub entry: u64,
    /// Exit records.
    pub exits: Vec<ExitRec>,
    /// Context key of the block (EL, FP trap).
    pub ctx: u8,
}

/// Translator counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Blocks translated to x86 code.
    pub translated: u64,
    /// Bytes of x86 code emitted.
    pub code_bytes: u64,
    /// Chained (patched) jumps.
    pub chains: u64,
    /// Code cache flushes.
    pub flushes: u64,
    /// Temps the register allocator moved to memory.
    pub spills: u64,
}

/// An executable region for translated code.
pub struct CodeRegion {
    ptr: *mut u8,
    len: usize,
}

impl CodeRegion {
    /// Wraps `len` bytes at `ptr`.
    ///
    /// # Safety
    /// The memory must be readable, writable and executable, unused by anything else,
    /// and live as long as the [`Jit`] using it.
    pub unsafe fn new(ptr: *mut u8, len: usize) -> Self {
        CodeRegion { ptr, len }
    }
}

/// The translator with its code cache and context.
pub struct Jit {
    code: CodeRegion,
    used: usize,
    stubs_end: usize,
    enter: usize,
    epilogue: u64,
    lookup: u64,
    /// The context translated code runs with.
    pub ctx: Box<Ctx>,
    blocks: Vec<Meta>,
    feats: Features,
    rt: Rt,
    /// Counters.
    pub stats: JitStats,
    /// Block entries check the instruction limit (see [`Jit::set_limit_checks`]).
    limit_checks: bool,
    /// Blocks count the instructions they run (see [`Jit::set_count_insns`]).
    count_insns: bool,
    /// Translation buffers.
    scratch: Scratch,
    /// Host registers temps may use (see [`Jit::set_max_regs`]).
    max_regs: usize,
    /// The event byte's fixed address, when block entries test it directly (see
    /// [`Jit::set_event_byte`]).
    event_abs: Option<i32>,
}

const ENTRY_ALIGN: usize = 16;

impl Jit {
    /// A translator whose code calls the run-time functions of memory type `M`.
    pub fn new<M: JitMemory>(code: CodeRegion, feats: Features) -> Jit {
        let mut j = Jit {
            code,
            used: 0,
            stubs_end: 0,
            enter: 0,
            epilogue: 0,
            lookup: 0,
            ctx: Ctx::new_boxed(),
            blocks: Vec::new(),
            feats,
            rt: Rt::of::<M>(),
            stats: JitStats::default(),
            limit_checks: true,
            count_insns: true,
            scratch: Scratch::default(),
            max_regs: 9,
            event_abs: None,
        };
        j.write_stubs();
        j
    }

    fn base(&self) -> u64 {
        self.code.ptr as u64
    }

    fn write_stubs(&mut self) {
        let mut a = Asm::new();
        // enter(cpu = RDI, ctx = RSI, code = RDX) -> RAX
        let enter = a.pos();
        for r in [R::RBX, R::RBP, R::R12, R::R13, R::R14, R::R15] {
            a.push(r);
        }
        a.alu_ri(true, Alu::Sub, R::RSP, 8);
        // The host's MXCSR, restored on the way out: host FP ops load the guest's
        // (`translate::hostfp`).
        a.stmxcsr(m(R::RSP, 0));
        a.mov_rr(true, R::RBP, R::RDI);
        a.mov_rr(true, R::R12, R::RSI);
        a.load(8, R::R13, m(R::R12, off::TLB_CUR));
        a.jmp_r(R::RDX);
        // epilogue
        let epi = a.pos();
        a.ldmxcsr(m(R::RSP, 0));
        a.alu_ri(true, Alu::Add, R::RSP, 8);
        for r in [R::R15, R::R14, R::R13, R::R12, R::RBP, R::RBX] {
            a.pop(r);
        }
        a.ret();
        // lookup(target = RDI), called from the branch site: returns the entry of the
        // target's block in RAX (the site jumps there itself, so each site's indirect
        // jump gets its own branch-predictor history); on a miss it leaves the block
        // through the epilogue instead of returning.
        let look = a.pos();
        // The jump cache is inside the context: its entries are addressed off R12.
        let jc = rt::off::JCACHE;
        a.mov_ri(R::RAX, rt::JC_HASH);
        a.imul_rr(true, R::RAX, R::RDI);
        a.sh_i(
            true,
            Sh::Shr,
            R::RAX,
            (64 - rt::JC_SIZE.trailing_zeros()) as u8,
        );
        a.sh_i(true, Sh::Shl, R::RAX, 5);
        a.alu_rm(true, Alu::Cmp, R::RDI, mi(R::R12, R::RAX, 1, jc));
        let first = a.jcc_fwd(Cc::E);
        a.alu_ri(false, Alu::Xor, R::RAX, 32);
        a.alu_rm(true, Alu::Cmp, R::RDI, mi(R::R12, R::RAX, 1, jc));
        let miss1 = a.jcc_fwd(Cc::Ne);
        a.bind(first);
        a.lea(true, R::RAX, mi(R::R12, R::RAX, 1, jc));
        // The target's fetch entry in the TLB.
        crate::translate::tlb_entry_offset(&mut a, R::RCX, R::RDI, self.feats.bmi2);
        a.mov_rr(true, R::RDX, R::RDI);
        a.alu_ri(true, Alu::And, R::RDX, !0xffci32);
        a.alu_rm(true, Alu::Cmp, R::RDX, mi(R::R13, R::RCX, 1, 16));
        let miss2 = a.jcc_fwd(Cc::Ne);
        a.load(8, R::RDX, mi(R::R13, R::RCX, 1, 24));
        a.alu_rr(true, Alu::Add, R::RDX, R::RDI);
        a.alu_rm(true, Alu::Or, R::RDX, m(R::R12, off::CTX_BITS));
        a.alu_rm(true, Alu::Cmp, R::RDX, m(R::RAX, 8));
        let miss3 = a.jcc_fwd(Cc::Ne);
        a.load(8, R::RAX, m(R::RAX, 16));
        // The target block expects `cpu.pc` to hold its address (position-independent
        // code, see `Tr::set_pc`).
        a.store(8, m(R::RBP, off::PC), R::RDI);
        a.ret();
        a.bind(miss1);
        a.bind(miss2);
        a.bind(miss3);
        a.alu_ri(true, Alu::Add, R::RSP, 8);
        a.store(8, m(R::RBP, off::PC), R::RDI);
        a.mov_ri(R::RAX, exit::LOOKUP_MISS);
        a.jmp_to(epi);
        let n = a.buf.len();
        assert!(n <= self.code.len, "code region smaller than the stubs");
        // SAFETY: the region is ours, writable and at least `n` bytes (checked above).
        unsafe { core::ptr::copy_nonoverlapping(a.buf.as_ptr(), self.code.ptr, n) };
        self.enter = enter;
        self.epilogue = self.base() + epi as u64;
        self.lookup = self.base() + look as u64;
        self.stubs_end = n.next_multiple_of(ENTRY_ALIGN);
        self.used = self.stubs_end;
    }

    /// Rewrites an optimised block for this host's instructions before it is run or
    /// translated (see [`crate::translate::host_passes`]).
    pub fn prepare(&self, block: &mut a64::ir::Block) {
        crate::translate::host_passes(block, self.feats);
    }

    /// Lets translated code keep temps in only `n` host registers (1..=9; 9 by
    /// default): fewer exercise the spilling paths (tests). Flushes.
    pub fn set_max_regs(&mut self, n: usize) {
        self.max_regs = n.clamp(1, 9);
        self.flush();
    }

    /// Whether block entries check the instruction limit as well as the event byte
    /// (needed when the host has no interrupt flag and relies on time slices). Flushes.
    pub fn set_limit_checks(&mut self, on: bool) {
        self.limit_checks = on;
        self.flush();
    }

    /// Tells the translator where the event byte is for as long as code runs (`None`:
    /// only the context's pointer to it is known). At an address in the low or the top
    /// 2 GiB, block entries test it with one instruction. When that changes, blocks
    /// translated before are flushed; returns whether there were any.
    pub fn set_event_byte(&mut self, addr: Option<u64>) -> bool {
        let abs = addr.and_then(|a| i32::try_from(a as i64).ok());
        if abs == self.event_abs {
            return false;
        }
        self.event_abs = abs;
        let any = !self.blocks.is_empty();
        if any {
            self.flush();
        }
        any
    }

    /// Whether translated blocks count the guest instructions they run (for `--stats`;
    /// on by default). Without it a block entry only tests the event byte. Flushes.
    pub fn set_count_insns(&mut self, on: bool) {
        self.count_insns = on;
        self.flush();
    }

    /// Drops every translated block (their code, chains and jump-cache entries).
    pub fn flush(&mut self) {
        self.used = self.stubs_end;
        self.blocks.clear();
        self.ctx.flush_jc();
        self.stats.flushes += 1;
    }

    /// Number of live translated blocks.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }

    /// Bytes of the code region in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// The code at host address `entry`, `len` bytes (None outside the used region).
    pub fn code_at(&self, entry: u64, len: usize) -> Option<&[u8]> {
        let off = (entry as usize).checked_sub(self.code.ptr as usize)?;
        if off.checked_add(len)? > self.used {
            return None;
        }
        // SAFETY: [off, off+len) lies within the used part of the region, which is
        // initialised, readable and lives as long as `self`.
        Some(unsafe { core::slice::from_raw_parts(self.code.ptr.add(off), len) })
    }

    /// Translates `b` (context key `ctx`); returns its id.
    pub fn translate(&mut self, b: &Block, ctx: u8) -> Result<u32, JitError> {
        let id = self.blocks.len() as u32;
        if id >= 1 << 24 {
            return Err(JitError::Full);
        }
        let base = self.base() + self.used as u64;
        let env = Env {
            base,
            epilogue: self.epilogue,
            lookup: self.lookup,
            rt: &self.rt,
            feats: self.feats,
            limit_checks: self.limit_checks,
            count_insns: self.count_insns,
            event_abs: self.event_abs,
            block_id: id,
            max_regs: self.max_regs,
        };
        let exits = translate_with(b, &env, &mut self.scratch)?;
        self.stats.spills = self.scratch.spills;
        let code = &self.scratch.code;
        let n = code.len();
        if self.used + n > self.code.len {
            return Err(JitError::Full);
        }
        // SAFETY: [used, used + n) lies inside the region (checked) and holds no live code.
        unsafe { core::ptr::copy_nonoverlapping(code.as_ptr(), self.code.ptr.add(self.used), n) };
        self.used = (self.used + n).next_multiple_of(ENTRY_ALIGN);
        self.blocks.push(Meta {
            entry: base,
            exits,
            ctx,
        });
        self.stats.translated += 1;
        self.stats.code_bytes += n as u64;
        Ok(id)
    }

    /// Metadata of block `id`.
    pub fn meta(&self, id: u32) -> Option<&Meta> {
        self.blocks.get(id as usize)
    }

    /// The exit record an exit code names, with the block's id.
    pub fn exit_rec(&self, code: u64) -> Option<(u32, ExitRec)> {
        if code < exit::EXIT_REC {
            return None;
        }
        let id = ((code >> 8) & 0xff_ffff) as u32;
        let k = (code & 0xff) as usize;
        self.blocks
            .get(id as usize)
            .and_then(|b| b.exits.get(k))
            .map(|e| (id, *e))
    }

    /// Patches the chain exit named by `code` to jump straight to block `to`.
    pub fn chain(&mut self, code: u64, to: u32) {
        let Some((from, ExitRec::Chain { patch, .. })) = self.exit_rec(code) else {
            return;
        };
        let (Some(f), Some(t)) = (self.blocks.get(from as usize), self.blocks.get(to as usize))
        else {
            return;
        };
        if f.ctx != t.ctx {
            return;
        }
        let rel = (t.entry as i64 - patch as i64) as i32;
        let lo = self.base() + self.stubs_end as u64;
        let hi = self.base() + self.used as u64;
        if patch < lo + 4 || patch > hi {
            return;
        }
        // SAFETY: `patch - 4 .. patch` is the displacement of a jump inside a live block
        // of our region (bounds checked above); nothing executes concurrently.
        unsafe {
            core::ptr::write_unaligned((patch - 4) as *mut [u8; 4], rel.to_le_bytes());
        }
        self.stats.chains += 1;
    }

    /// Runs translated code from block `id` until it exits; returns the exit code
    /// ([`rt::exit`]). `M` must be the type the translator was created for.
    pub fn run<M: JitMemory>(&mut self, cpu: &mut Cpu, mem: &mut M, id: u32) -> u64 {
        let Some(entry) = self.blocks.get(id as usize).map(|b| b.entry) else {
            return exit::STOP;
        };
        if Rt::of::<M>().load != self.rt.load {
            return exit::STOP;
        }
        self.ctx.mem = mem as *mut M as *mut ();
        self.ctx.cpu = cpu as *mut Cpu;
        type Enter = extern "sysv64" fn(*mut Cpu, *mut Ctx, u64) -> u64;
        // The entry stub saves and restores the callee-saved registers; translated code
        // touches only `cpu`, `ctx` and guest RAM through TLB entries `M` filled.
        // SAFETY: `enter` is the sysv64 entry stub `write_stubs` put in our RWX region.
        let f: Enter = unsafe { core::mem::transmute(self.code.ptr.add(self.enter)) };
        let ctx: *mut Ctx = &mut *self.ctx;
        let r = f(cpu as *mut Cpu, ctx, entry);
        self.ctx.mem = core::ptr::null_mut();
        self.ctx.cpu = core::ptr::null_mut();
        r
    }
}
