//! The guest machine: one AArch64 core (EL0 + EL1) on the `virt` board, run by the
//! reference interpreter over cached lowered blocks.
//!
//! * Blocks are formed from guest-physical pages (fetch through the instruction side of
//!   the soft TLB), lowered, optimised and cached keyed on (VA, PA, EL, FP trap). A block
//!   never crosses a 4 KiB page. Stores to a RAM page that holds cached code drop that
//!   page's blocks after the current block; IC IVAU / IC IALLU drop them too.
//! * Data accesses take the soft TLB's fast path to RAM; misses walk the tables; MMIO
//!   pages go to the device [`Platform`]; anything else is a synchronous external abort.
//! * Interrupts are taken at block boundaries; WFI with nothing pending waits on the host.
//! * PSCI is reached by `HVC #0`.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use a64::interp::{run_block, Exit, MemFault};
use a64::ir::{Block, ExcKind, Maint, Op};
use a64::state::Cpu;
use shared_abi::boot::{package_layout, parse_package, BootError};
use shared_abi::guest::RAM_BASE;

use crate::cpu::{self, Sys};
use crate::dev::psci::{psci_call, PsciOutcome};
use crate::dev::{Platform, VirtioDeviceInfo, VirtioEvent, WallClock};

/// The host side of the board (clock, console, timer events).
pub trait BoardHost {
    /// Current value of the counter behind CNTPCT (ticks at MachineConfig::counter_hz).
    fn counter(&mut self) -> u64;
    /// Wall-clock seconds since the Unix epoch (for the PL031).
    fn wall_clock_secs(&mut self) -> u64;
    /// Writes guest console output.
    fn console_write(&mut self, bytes: &[u8]);
    /// Non-blocking; returns bytes read (0 = none).
    fn console_read(&mut self, buf: &mut [u8]) -> usize;
    /// Arm the host timer so that an event is pending at counter value `deadline` (None: disarm).
    fn set_timer(&mut self, deadline: Option<u64>);
    /// Cheap poll, called often (e.g. at every block boundary): true when a host event
    /// (timer expiry, console input) arrived since the last call that returned true.
    fn poll_event(&mut self) -> bool;
    /// Block until a host event arrives (guest WFI with nothing pending). May return early.
    fn wait_for_event(&mut self);
    /// A byte that becomes non-zero when a host event arrives (translated code checks it
    /// at every block entry), or null when there is none: translated code then returns
    /// to the runner every [`JIT_SLICE`] guest instructions so that `poll_event` runs.
    fn event_flag(&self) -> *const u8 {
        core::ptr::null()
    }
    /// The virtio devices, for transport slots `0..n` (asked once, at start).
    fn virtio_devices(&mut self) -> Vec<VirtioDeviceInfo> {
        Vec::new()
    }
    /// A virtio transport's event for the device back end. Returns the
    /// interrupt-status bits to raise and whether the device failed (NEEDS_RESET).
    fn virtio_event(&mut self, _slot: usize, _event: &VirtioEvent) -> (u32, bool) {
        (0, true)
    }
    /// Completions the back ends made on their own since the last call (after a host
    /// event): (slots with used buffers, slots that failed), a bit per slot.
    fn virtio_poll(&mut self) -> (u32, u32) {
        (0, 0)
    }
}

/// Guest instructions translated code runs between returns to the runner when the host
/// has no event flag.
pub const JIT_SLICE: u64 = 200_000;

/// Machine parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    /// Generic timer frequency (CNTFRQ_EL0) in Hz.
    pub counter_hz: u32,
    /// Guest RAM size in bytes.
    pub ram_size: u64,
}

/// Something that stops the machine for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FatalError {
    /// `run` was called before a successful `load_package`.
    #[error("no guest loaded")]
    NotLoaded,
    /// The interpreter produced an inconsistent block (an internal error).
    #[error("internal error: invalid lowered block at {0:#x}")]
    BadBlock(u64),
}

/// Why the machine stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunExit {
    /// PSCI SYSTEM_OFF (or CPU_OFF of the only CPU).
    PowerOff,
    /// PSCI SYSTEM_RESET.
    Reset,
    /// Something fatal.
    Fatal(FatalError),
}

/// Why a guest package was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The package or its layout is malformed.
    #[error("bad guest package: {0}")]
    Boot(#[from] BootError),
    /// A file does not fit in guest RAM.
    #[error("guest file does not fit in RAM at {0:#x}")]
    DoesNotFit(u64),
}

/// Exception counters by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExcStats {
    /// SVC.
    pub svc: u64,
    /// HVC (PSCI).
    pub hvc: u64,
    /// Data aborts.
    pub data_abort: u64,
    /// Instruction aborts.
    pub insn_abort: u64,
    /// UNDEFINED instructions.
    pub undef: u64,
    /// FP/SIMD access traps.
    pub fp_trap: u64,
    /// BRK.
    pub brk: u64,
    /// PC alignment faults.
    pub pc_align: u64,
    /// ERET.
    pub eret: u64,
    /// IRQs taken.
    pub irq: u64,
    /// FIQs taken.
    pub fiq: u64,
    /// WFI executed.
    pub wfi: u64,
    /// TLB maintenance, instruction-cache maintenance and address translation (TLBI,
    /// IC, AT) done by the runner.
    pub maint: [u64; 3],
}

/// Counters for `--stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Guest instructions executed (counted per block).
    pub insns: u64,
    /// Blocks lowered to IR.
    pub blocks_translated: u64,
    /// Blocks executed by the interpreter.
    pub blocks_run: u64,
    /// Returns from translated code to the runner.
    pub jit_runs: u64,
    /// ... by reason: continue (unchained exit), stop at a block entry (interrupt flag
    /// or event), chain request, exception or event, data abort, UNDEF, lookup miss.
    pub jit_exits: [u64; 7],
    /// Flushes of the translator's whole TLB / write revocations.
    pub jit_tlb_flushes: [u64; 2],
    /// Block lookups in the runner that found a cached block.
    pub cache_hits: u64,
    /// Block lookups that had to lower (and translate) a block.
    pub cache_misses: u64,
    /// Counter ticks spent lowering and translating blocks.
    pub translate_ticks: u64,
    /// Counter frequency (for `translate_ticks`).
    pub counter_hz: u64,
    /// Translator counters (None: interpreter only).
    pub jit: Option<jit::JitStats>,
    /// Cached blocks dropped by code invalidation.
    pub blocks_invalidated: u64,
    /// Whole-cache flushes because the cached blocks reached CODE_CACHE_BUDGET.
    pub cache_flushes: u64,
    /// Exceptions by kind.
    pub exc: ExcStats,
    /// TLB misses (table walks).
    pub tlb_misses: u64,
    /// MMIO accesses.
    pub mmio: u64,
    /// UNDEF instructions: the first few (PC, encoding).
    pub undefs: Vec<(u64, u32)>,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.exc;
        writeln!(f, "guest instructions   {:>14}", self.insns)?;
        writeln!(f, "blocks lowered to IR {:>14}", self.blocks_translated)?;
        if let Some(j) = &self.jit {
            writeln!(f, "blocks translated    {:>14}", j.translated)?;
            writeln!(f, "x86 code bytes       {:>14}", j.code_bytes)?;
            writeln!(f, "chained jumps        {:>14}", j.chains)?;
            writeln!(f, "translated runs      {:>14}", self.jit_runs)?;
            writeln!(
                f,
                "  TLB flushes {} / write revocations {}",
                self.jit_tlb_flushes[0], self.jit_tlb_flushes[1]
            )?;
            let e = &self.jit_exits;
            writeln!(
                f,
                "  exits: continue {} / stop {} / chain {} / exception {} / abort {} / undef {} / lookup miss {}",
                e[0], e[1], e[2], e[3], e[4], e[5], e[6]
            )?;
        }
        let ms = self.translate_ticks as f64 * 1e3 / (self.counter_hz.max(1) as f64);
        writeln!(f, "translation time     {:>11.1} ms", ms)?;
        writeln!(
            f,
            "block cache hits / misses {:>9} / {}",
            self.cache_hits, self.cache_misses
        )?;
        writeln!(f, "blocks interpreted   {:>14}", self.blocks_run)?;
        writeln!(f, "blocks invalidated   {:>14}", self.blocks_invalidated)?;
        writeln!(f, "code cache flushes   {:>14}", self.cache_flushes)?;
        writeln!(f, "TLB misses (walks)   {:>14}", self.tlb_misses)?;
        writeln!(f, "MMIO accesses        {:>14}", self.mmio)?;
        writeln!(f, "IRQs / FIQs          {:>14} / {}", e.irq, e.fiq)?;
        writeln!(
            f,
            "SVC / HVC / ERET     {:>14} / {} / {}",
            e.svc, e.hvc, e.eret
        )?;
        writeln!(
            f,
            "TLBI / IC / AT       {:>14} / {} / {}",
            e.maint[0], e.maint[1], e.maint[2]
        )?;
        writeln!(
            f,
            "aborts data / insn   {:>14} / {}",
            e.data_abort, e.insn_abort
        )?;
        writeln!(
            f,
            "UNDEF / FP trap / BRK / PC align {:>6} / {} / {} / {}",
            e.undef, e.fp_trap, e.brk, e.pc_align
        )?;
        writeln!(f, "WFI                  {:>14}", e.wfi)?;
        for (pc, insn) in &self.undefs {
            writeln!(f, "  UNDEF {insn:#010x} at {pc:#x}")?;
        }
        Ok(())
    }
}

const UNDEF_LOG: usize = 8;

/// Number of block cache slots (direct mapped on a hash of the physical address).
const CACHE_SLOTS: usize = 1 << 19;

/// The cache slot of the block at physical address `pa`.
#[inline]
fn slot_of(pa: u64) -> usize {
    (((pa >> 2) ^ (pa >> 19)) as usize) & (CACHE_SLOTS - 1)
}

/// A block of the cache, keyed by physical address and context. Its translated code is
/// position-independent, so it also serves other virtual addresses of the same page
/// (another process's mapping of a shared library, say); its IR is for `va` only.
struct Cached {
    va: u64,
    pa: u64,
    ctx: u8,
    block: Block,
    /// The translated code of the block (translator mode).
    jit: Option<u32>,
    /// Interpreted runs so far (u32::MAX once translation was tried).
    runs: u32,
    /// The translation also ran at an address other than `va` (so the jump cache may
    /// hold it under several addresses).
    shared: bool,
}

/// Runs before a block is translated (the earlier ones use the interpreter). Measured
/// on the bench image's boot (`launcher --stats`, 5 interleaved pairs): 2 translates a
/// third fewer blocks than 1 (35k, not 52k), translation time falls from 0.80-0.92 s
/// to 0.58-0.77 s and the boot from 2.0-2.5 s to 1.6-2.3 s. 3 saves no more.
pub const HOT_AFTER: u32 = 2;

/// Most memory the cached blocks may hold; past it the whole cache is dropped (the
/// engine's heap is finite, and a full flush is cheap next to a boot's worth of work).
const CODE_CACHE_BUDGET: usize = 96 << 20;

/// Approximate heap footprint of a cached block.
fn cached_bytes(b: &Block) -> usize {
    core::mem::size_of::<Cached>() + b.ops.capacity() * core::mem::size_of::<Op>()
}

/// Why the first instruction of a block could not be fetched.
#[derive(Clone, Copy, Debug)]
enum FetchErr {
    /// Translation / permission fault: instruction abort with this IFSC at this VA.
    Abort { fsc: u32, va: u64 },
    /// FP/SIMD instruction with CPACR_EL1.FPEN trapping.
    FpTrap,
}

/// The machine.
pub struct Machine<'r> {
    cfg: MachineConfig,
    cpu: Cpu,
    sys: Sys<'r>,
    cache: Vec<Option<alloc::boxed::Box<Cached>>>,
    temps: Vec<u128>,
    loaded: bool,
    started: bool,
    stats: Stats,
    console_in: Vec<u8>,
    profile: Option<alloc::collections::BTreeMap<u64, u64>>,
    /// Approximate bytes held by the cached blocks.
    cache_bytes: usize,
    /// The translator (None: the interpreter runs every block).
    jit: Option<jit::Jit>,
    /// (1 once set, ASID) the translator's TLB tables were selected for.
    jit_tlb_key: (u64, u16),
    /// Code-page generation the translator's write paths were checked against.
    jit_code_gen: u64,
    /// A chain exit waiting for its target (the exit's code, the address it left for).
    pending_chain: Option<(u64, u64)>,
    /// Interpreted runs of a block before it is translated ([`HOT_AFTER`] by default).
    hot_after: u32,
    /// Translated blocks (host entry, guest VA, code bytes), when enabled (perf maps).
    code_map: Option<Vec<(u64, u64, Vec<u8>)>>,
}

impl<'r> Machine<'r> {
    /// `ram` is guest RAM at guest-physical shared_abi::guest::RAM_BASE, ram.len() == cfg.ram_size.
    pub fn new(cfg: MachineConfig, ram: &'r mut [u8]) -> Self {
        let platform = Platform::new(
            cfg.counter_hz,
            WallClock {
                base_secs: 0,
                base_count: 0,
            },
        );
        let mut cache = Vec::with_capacity(CACHE_SLOTS);
        cache.resize_with(CACHE_SLOTS, || None);
        Machine {
            cfg,
            cpu: Cpu::new(),
            sys: Sys::new(ram, platform, cfg.counter_hz),
            cache,
            temps: vec![0; 256],
            loaded: false,
            started: false,
            stats: Stats::default(),
            console_in: Vec::new(),
            profile: None,
            cache_bytes: 0,
            jit: None,
            code_map: None,
            hot_after: HOT_AFTER,
            jit_tlb_key: (0, 0),
            jit_code_gen: u64::MAX,
            pending_chain: None,
        }
    }

    /// Runs guest code on the translator, with its code in `region`.
    /// `time_slices`: the host has no event flag (see [`BoardHost::event_flag`]), so
    /// translated code also counts down an instruction limit.
    pub fn enable_jit(&mut self, region: jit::CodeRegion, feats: jit::Features, time_slices: bool) {
        let mut j = jit::Jit::new::<cpu::Env<'static, 'static>>(region, feats);
        j.set_limit_checks(time_slices);
        self.jit = Some(j);
        self.flush_code();
    }

    /// Whether translated code counts guest instructions (on by default; only
    /// `--stats` reports them). Off, a block entry is one test of the event byte.
    pub fn set_instruction_counting(&mut self, on: bool) {
        if let Some(j) = self.jit.as_mut() {
            j.set_count_insns(on);
        }
        self.flush_code();
    }

    /// Parses the FIT package, places kernel/initrd/DTB (package_layout), sets up the
    /// boot state: PC = kernel entry, x0 = DTB address, x1..x3 = 0, EL1h, DAIF masked, MMU off.
    pub fn load_package(&mut self, pkg: &[u8]) -> Result<(), LoadError> {
        let p = parse_package(pkg)?;
        let ram_size = self.sys.ram.len() as u64;
        let lay = package_layout(&p, RAM_BASE, ram_size)?;
        let mut put = |addr: u64, data: &[u8]| -> Result<(), LoadError> {
            let off = addr
                .checked_sub(RAM_BASE)
                .ok_or(LoadError::DoesNotFit(addr))? as usize;
            let dst = self
                .sys
                .ram
                .get_mut(off..off.saturating_add(data.len()))
                .ok_or(LoadError::DoesNotFit(addr))?;
            dst.copy_from_slice(data);
            Ok(())
        };
        put(lay.kernel_addr, p.kernel)?;
        if let Some(i) = p.initrd {
            put(lay.initrd_addr, i)?;
        }
        if let Some(d) = p.dtb {
            put(lay.dtb_addr, d)?;
        }
        self.start_at(lay.kernel_addr);
        self.cpu.x[0] = lay.dtb_addr;
        Ok(())
    }

    /// Starts the core at `pc` in the boot state (EL1h, DAIF masked, MMU off) without a
    /// package (tests, bare-metal programs already in RAM).
    pub fn start_at(&mut self, pc: u64) {
        let mut c = Cpu::new();
        c.pc = pc;
        c.el = 1;
        c.daif = 0x3c0;
        self.cpu = c;
        self.sys.reset_el1_state();
        self.sys.spsel = true;
        self.sys.update_mode(&self.cpu);
        self.flush_code();
        self.loaded = true;
    }

    /// Turns on the block profile: guest instructions executed per 256-byte block of
    /// virtual addresses (for performance work; costs a map update per block).
    /// Sets how many times a block runs on the interpreter before it is translated
    /// (1: translate every block before its first run).
    pub fn set_hot_after(&mut self, runs: u32) {
        self.hot_after = runs.max(1);
    }

    /// Starts recording where each translated block's host code lies.
    pub fn enable_code_map(&mut self) {
        self.code_map = Some(Vec::new());
    }

    /// Takes the recorded (host entry, guest VA, code) triples.
    pub fn take_code_map(&mut self) -> Vec<(u64, u64, Vec<u8>)> {
        self.code_map
            .as_mut()
            .map(core::mem::take)
            .unwrap_or_default()
    }

    pub fn enable_profile(&mut self) {
        self.profile = Some(alloc::collections::BTreeMap::new());
    }

    /// The hottest `n` profile buckets: (virtual address, guest instructions).
    pub fn profile_top(&self, n: usize) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = self
            .profile
            .iter()
            .flat_map(|m| m.iter().map(|(a, c)| (*a, *c)))
            .collect();
        v.sort_by_key(|e| core::cmp::Reverse(e.1));
        v.truncate(n);
        v
    }

    /// The CPU state (for tests and debugging).
    pub fn cpu(&self) -> &Cpu {
        &self.cpu
    }

    /// Counters for `--stats`.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.tlb_misses = self.sys.tlb_misses;
        s.exc.maint[0] += self.sys.maint_inline[0];
        s.exc.maint[1] += self.sys.maint_inline[1];
        s.mmio = self.sys.mmio_count;
        s.counter_hz = u64::from(self.cfg.counter_hz);
        s.jit = self.jit.as_ref().map(|j| j.stats);
        s
    }

    fn flush_code(&mut self) {
        if let Some(j) = self.jit.as_mut() {
            j.flush();
        }
        self.pending_chain = None;
        self.cache_bytes = 0;
        for c in self.cache.iter_mut() {
            *c = None;
        }
        self.sys.code_pages.iter_mut().for_each(|w| *w = 0);
    }

    /// Drops the cached blocks of physical page `page_pa`.
    fn invalidate_page(&mut self, page_pa: u64) {
        let page_pa = page_pa & !0xfff;
        for i in 0..1024 {
            let slot = &mut self.cache[slot_of(page_pa + 4 * i)];
            if slot.as_ref().is_some_and(|c| c.pa >> 12 == page_pa >> 12) {
                if let Some(c) = slot.take() {
                    drop_jc(&mut self.jit, &c, self.sys.ram.as_ptr() as u64);
                }
                self.stats.blocks_invalidated += 1;
            }
        }
        self.pending_chain = None;
        self.sys.clear_code_page(page_pa);
    }

    fn process_dirty_code(&mut self) {
        while let Some(p) = self.sys.dirty_code.pop() {
            self.invalidate_page(p);
        }
    }

    /// Runs until the guest powers off / resets (PSCI) or something fatal happens.
    pub fn run(&mut self, host: &mut dyn BoardHost) -> RunExit {
        if !self.loaded {
            return RunExit::Fatal(FatalError::NotLoaded);
        }
        if !self.started {
            self.started = true;
            let wall = WallClock {
                base_secs: host.wall_clock_secs(),
                base_count: host.counter(),
            };
            self.sys.platform = Platform::new(self.cfg.counter_hz, wall);
            let devices = host.virtio_devices();
            self.sys.platform.set_virtio_devices(&devices);
            self.sys.armed = None;
        }
        // The host's event byte stays put: block entries may test it directly
        // (without one they go through `ctx.irq`). Nothing is translated for another
        // byte unless the host changed.
        let flag = host.event_flag();
        if let Some(j) = self.jit.as_mut() {
            if j.set_event_byte((!flag.is_null()).then_some(flag as u64)) {
                self.flush_code();
            }
        }
        loop {
            if host.poll_event() {
                self.host_event(host);
            }
            // Interrupts at block boundaries.
            if self.sys.platform.irq_line() && self.cpu.daif & 0x80 == 0 {
                self.stats.exc.irq += 1;
                let ret = self.cpu.pc;
                cpu::take_exception(&mut self.cpu, &mut self.sys, 1, None, None, ret);
            } else if self.sys.platform.fiq_line() && self.cpu.daif & 0x40 == 0 {
                self.stats.exc.fiq += 1;
                let ret = self.cpu.pc;
                cpu::take_exception(&mut self.cpu, &mut self.sys, 2, None, None, ret);
            }
            let pc = self.cpu.pc;
            if pc & 3 != 0 {
                self.stats.exc.pc_align += 1;
                let esr = cpu::esr(cpu::EC_PC_ALIGN, 0);
                cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), Some(pc), pc);
                continue;
            }
            let idx = match self.find_block(pc, host) {
                Ok(i) => i,
                Err(FetchErr::Abort { fsc, va }) => {
                    self.stats.exc.insn_abort += 1;
                    let ec = if self.cpu.el == 0 {
                        cpu::EC_IABT_LOWER
                    } else {
                        cpu::EC_IABT_SAME
                    };
                    let esr = cpu::esr(ec, fsc);
                    cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), Some(va), pc);
                    continue;
                }
                Err(FetchErr::FpTrap) => {
                    self.stats.exc.fp_trap += 1;
                    let esr = cpu::esr(cpu::EC_FP, 0x01e0_0000);
                    cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), None, pc);
                    continue;
                }
            };
            if self.jit.is_some() {
                if let Some(c) = self.cache[idx].as_mut() {
                    if c.jit.is_none() && c.runs != u32::MAX {
                        c.runs += 1;
                        if c.runs >= self.hot_after {
                            self.translate_slot(idx, host);
                        }
                    }
                }
            }
            let Some(entry) = self.cache[idx].as_ref() else {
                return RunExit::Fatal(FatalError::BadBlock(pc));
            };
            let (exit, last_raw) = match (self.jit.as_mut(), entry.jit) {
                (Some(j), Some(id)) => {
                    let (epa, ectx) = (entry.pa, entry.ctx);
                    self.stats.jit_runs += 1;
                    run_jit(
                        j,
                        &mut self.cpu,
                        &mut self.sys,
                        &mut *host,
                        id,
                        epa,
                        ectx,
                        &mut self.pending_chain,
                        &mut self.jit_tlb_key,
                        &mut self.jit_code_gen,
                        &mut self.stats,
                    )
                }
                _ => {
                    // A chain exit waiting for this block is dropped: the block is not
                    // translated (yet), and what runs next may be in another context.
                    self.pending_chain = None;
                    let block = &entry.block;
                    self.stats.insns += u64::from(block.ninsns);
                    if let Some(p) = self.profile.as_mut() {
                        *p.entry(pc & !0xff).or_insert(0) += u64::from(block.ninsns);
                    }
                    self.stats.blocks_run += 1;
                    let exit = {
                        let mut env = cpu::Env {
                            s: &mut self.sys,
                            host: &mut *host,
                        };
                        run_block(&mut self.cpu, &mut env, block, &mut self.temps)
                    };
                    let last_raw = if matches!(exit, Exit::Exception { .. }) {
                        last_insn(block)
                    } else {
                        0
                    };
                    (exit, last_raw)
                }
            };
            self.sys.mmio_exit = false;
            if !self.sys.dirty_code.is_empty() {
                self.process_dirty_code();
            }
            if self.sys.timer_dirty {
                self.sys.timer_dirty = false;
                self.rearm(host);
            }
            match exit {
                Exit::Continue => {}
                Exit::DataAbort { fault, pc } => {
                    self.stats.exc.data_abort += 1;
                    let info = self.sys.fault.take().unwrap_or(cpu::FaultInfo {
                        va: fault.addr(),
                        fsc: 0x21,
                        wnr: matches!(
                            fault,
                            MemFault::Alignment { write: true, .. }
                                | MemFault::Permission { write: true, .. }
                                | MemFault::Unmapped { write: true, .. }
                        ),
                        cm: false,
                    });
                    let ec = if self.cpu.el == 0 {
                        cpu::EC_DABT_LOWER
                    } else {
                        cpu::EC_DABT_SAME
                    };
                    let iss = info.fsc | (u32::from(info.wnr) << 6) | (u32::from(info.cm) << 8);
                    let esr = cpu::esr(ec, iss);
                    cpu::take_exception(
                        &mut self.cpu,
                        &mut self.sys,
                        0,
                        Some(esr),
                        Some(info.va),
                        pc,
                    );
                }
                Exit::Exception { kind, pc } => {
                    if let Some(r) = self.exception(host, kind, pc, last_raw) {
                        return r;
                    }
                }
            }
        }
    }

    fn rearm(&mut self, host: &mut dyn BoardHost) {
        let d = self.sys.platform.next_deadline();
        if d != self.sys.armed {
            self.sys.armed = d;
            host.set_timer(d);
        }
    }

    fn host_event(&mut self, host: &mut dyn BoardHost) {
        let now = host.counter();
        self.sys.platform.set_now(now);
        let (used, failed) = host.virtio_poll();
        for slot in 0..32 {
            if (used | failed) >> slot & 1 != 0 {
                let irq = used >> slot & 1;
                self.sys
                    .platform
                    .virtio_complete(slot, irq, failed >> slot & 1 != 0);
            }
        }
        let mut buf = [0u8; 64];
        loop {
            if self.console_in.len() >= 256 {
                break;
            }
            let n = host.console_read(&mut buf);
            if n == 0 {
                break;
            }
            self.console_in.extend_from_slice(&buf[..n.min(buf.len())]);
        }
        if !self.console_in.is_empty() {
            let took = self.sys.platform.push_console_input(&self.console_in);
            self.console_in.drain(..took);
        }
        self.rearm(host);
    }

    fn undef(&mut self, pc: u64, raw: u32) {
        self.stats.exc.undef += 1;
        if self.stats.undefs.len() < UNDEF_LOG {
            self.stats.undefs.push((pc, raw));
        }
        let esr = cpu::esr(cpu::EC_UNKNOWN, 0);
        cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), None, pc);
    }

    /// Handles a block's exception exit; `Some` ends the run.
    fn exception(
        &mut self,
        host: &mut dyn BoardHost,
        kind: ExcKind,
        pc: u64,
        raw: u32,
    ) -> Option<RunExit> {
        match kind {
            ExcKind::Svc(imm) => {
                self.stats.exc.svc += 1;
                let esr = cpu::esr(cpu::EC_SVC, u32::from(imm));
                let ret = self.cpu.pc;
                cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), None, ret);
            }
            ExcKind::Brk(imm) => {
                self.stats.exc.brk += 1;
                let esr = cpu::esr(cpu::EC_BRK, u32::from(imm));
                cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), None, pc);
            }
            ExcKind::Undef(raw) => self.undef(pc, raw),
            ExcKind::Hlt(_) | ExcKind::Smc(_) => self.undef(pc, raw),
            ExcKind::Hvc(_) => {
                self.stats.exc.hvc += 1;
                let c = &mut self.cpu;
                match psci_call(c.x[0] as u32, c.x[1], c.x[2], c.x[3]) {
                    PsciOutcome::Return(v) => c.x[0] = v,
                    PsciOutcome::SystemOff | PsciOutcome::CpuOff => {
                        self.flush_console(host);
                        return Some(RunExit::PowerOff);
                    }
                    PsciOutcome::SystemReset => {
                        self.flush_console(host);
                        return Some(RunExit::Reset);
                    }
                    PsciOutcome::CpuSuspend { .. } => {
                        self.wfi(host);
                        self.cpu.x[0] = 0;
                    }
                }
            }
            ExcKind::Eret => {
                self.stats.exc.eret += 1;
                cpu::eret(&mut self.cpu, &mut self.sys);
            }
            ExcKind::Wfi => {
                self.stats.exc.wfi += 1;
                self.wfi(host);
            }
            ExcKind::Wfe => {}
            ExcKind::Maint(m) => {
                let k = match m {
                    Maint::Tlbi => 0,
                    Maint::IcIvau | Maint::IcAll => 1,
                    _ => 2,
                };
                self.stats.exc.maint[k] += 1;
                self.maint(m, pc, raw)
            }
        }
        None
    }

    fn flush_console(&mut self, host: &mut dyn BoardHost) {
        let mut out = Vec::new();
        self.sys.platform.uart.take_output(&mut out);
        if !out.is_empty() {
            host.console_write(&out);
        }
    }

    fn wfi(&mut self, host: &mut dyn BoardHost) {
        loop {
            let now = host.counter();
            self.sys.platform.set_now(now);
            if self.sys.platform.irq_line() || self.sys.platform.fiq_line() {
                return;
            }
            self.rearm(host);
            host.wait_for_event();
            self.host_event(host);
            if self.sys.platform.irq_line() || self.sys.platform.fiq_line() {
                return;
            }
        }
    }

    fn maint(&mut self, m: Maint, pc: u64, raw: u32) {
        let rt = (raw & 31) as usize;
        let xt = if rt == 31 { 0 } else { self.cpu.x[rt] };
        let op1 = (raw >> 16) & 7;
        let crm = (raw >> 8) & 15;
        let op2 = (raw >> 5) & 7;
        match m {
            Maint::IcAll => self.flush_code(),
            Maint::IcIvau => {
                if let Some(pa) = self.sys.probe_pa(xt) {
                    // Only pages that still hold cached code have anything to drop.
                    if self.sys.is_code_page(pa) {
                        self.invalidate_page(pa & !0xfff);
                    }
                }
            }
            Maint::DcVa | Maint::DcSw => {}
            Maint::Tlbi => {
                if !self.sys.tlbi(op1, crm, op2, xt) {
                    self.undef(pc, raw);
                }
            }
            Maint::At => {
                if op1 != 0 {
                    return self.undef(pc, raw);
                }
                if let Err(f) = self.sys.at(op2, xt) {
                    self.stats.exc.data_abort += 1;
                    let ec = if self.cpu.el == 0 {
                        cpu::EC_DABT_LOWER
                    } else {
                        cpu::EC_DABT_SAME
                    };
                    let esr = cpu::esr(ec, f.fsc() | (1 << 6) | (1 << 8));
                    cpu::take_exception(&mut self.cpu, &mut self.sys, 0, Some(esr), Some(xt), pc);
                }
            }
        }
    }

    /// Finds (or lowers and caches) the block at `pc`; returns its cache slot.
    fn find_block(&mut self, pc: u64, host: &mut dyn BoardHost) -> Result<usize, FetchErr> {
        let pa = self
            .sys
            .fetch_pa(pc)
            .map_err(|(fsc, va)| FetchErr::Abort { fsc, va })?;
        let fp_trap = self.sys.fp_trapped(self.cpu.el);
        let ctx = self.cpu.el | (u8::from(fp_trap) << 1);
        let idx = slot_of(pa);
        if let Some(c) = self.cache[idx].as_mut() {
            if c.pa == pa && c.ctx == ctx && (c.va == pc || c.jit.is_some()) {
                c.shared |= c.va != pc;
                self.stats.cache_hits += 1;
                return Ok(idx);
            }
        }
        self.stats.cache_misses += 1;
        let off = (pa - RAM_BASE) as usize;
        let page_end = (off | 0xfff) + 1;
        let ram: &[u8] = self.sys.ram;
        let mut fetch = |va: u64| -> Result<u32, FetchErr> {
            let o = off + (va.wrapping_sub(pc) as usize);
            if o + 4 > page_end {
                return Err(FetchErr::Abort { fsc: 0x10, va });
            }
            let w = ram
                .get(o..o + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or(FetchErr::Abort { fsc: 0x10, va })?;
            if fp_trap && a64::lower::uses_fp(w) {
                return Err(FetchErr::FpTrap);
            }
            Ok(w)
        };
        let t0 = host.counter();
        let mut block =
            a64::lower::lower_block(pc, self.cpu.el, a64::lower::MAX_BLOCK_INSNS, &mut fetch)?;
        a64::opt::optimize(&mut block);
        if let Some(j) = self.jit.as_ref() {
            j.prepare(&mut block);
        }
        self.stats.blocks_translated += 1;
        self.cache_bytes += cached_bytes(&block);
        if self.cache_bytes > CODE_CACHE_BUDGET {
            self.stats.cache_flushes += 1;
            self.flush_code();
            self.cache_bytes = cached_bytes(&block);
        }
        self.stats.translate_ticks += host.counter().wrapping_sub(t0);
        self.sys.mark_code_page(pa);
        // The evicted block (if any) leaves the jump cache too: the jump cache only
        // holds blocks of this table, so dropping a page's blocks drops all its entries.
        if let Some(old) = self.cache[idx].take() {
            drop_jc(&mut self.jit, &old, self.sys.ram.as_ptr() as u64);
        }
        self.cache[idx] = Some(alloc::boxed::Box::new(Cached {
            va: pc,
            pa,
            ctx,
            block,
            jit: None,
            runs: 0,
            shared: false,
        }));
        Ok(idx)
    }

    /// Translates the block in cache slot `idx` (once it has run [`HOT_AFTER`] times
    /// on the interpreter); its IR is dropped once translated.
    fn translate_slot(&mut self, idx: usize, host: &mut dyn BoardHost) {
        let Some(mut c) = self.cache[idx].take() else {
            return;
        };
        c.runs = u32::MAX;
        let t0 = host.counter();
        let used0 = self.jit.as_ref().map_or(0, |j| j.used());
        let mut jit_id = None;
        if let Some(j) = self.jit.as_mut() {
            jit_id = match j.translate(&c.block, c.ctx) {
                Ok(id) => Some(id),
                Err(jit::JitError::Full) => {
                    // Everything goes (the block itself stays, as IR).
                    self.stats.cache_flushes += 1;
                    self.flush_code();
                    self.cache_bytes = cached_bytes(&c.block);
                    self.jit
                        .as_mut()
                        .and_then(|j| j.translate(&c.block, c.ctx).ok())
                }
                Err(jit::JitError::Trans(_)) => None,
            };
        }
        if let (Some(map), Some(j), Some(id)) = (self.code_map.as_mut(), self.jit.as_ref(), jit_id)
        {
            if let Some(m) = j.meta(id) {
                let len = j.used().saturating_sub(used0);
                let code = j
                    .code_at(m.entry, len)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                map.push((m.entry, c.va, code));
            }
        }
        if jit_id.is_some() {
            // Translated: the IR is no longer needed (only the interpreter reads it).
            self.cache_bytes -= cached_bytes(&c.block).min(self.cache_bytes);
            c.block.ops = Vec::new();
            c.block.temps = Vec::new();
            self.cache_bytes += cached_bytes(&c.block);
        }
        c.jit = jit_id;
        self.stats.translate_ticks += host.counter().wrapping_sub(t0);
        self.cache[idx] = Some(c);
    }
}

/// Removes `c`'s translated code from the jump cache (`ram` = host address of guest
/// RAM).
fn drop_jc(jit: &mut Option<jit::Jit>, c: &Cached, ram: u64) {
    if let (Some(j), Some(id)) = (jit.as_mut(), c.jit) {
        if c.shared {
            // Entered under other addresses too: drop every entry for code in its page.
            j.ctx
                .jc_drop_page(ram + (c.pa.wrapping_sub(RAM_BASE) & !0xfff));
        } else if let Some(entry) = j.meta(id).map(|m| m.entry) {
            j.ctx.jc_drop(c.va, entry);
        }
    }
}

/// Runs translated block `id` (guest PA `pa`, context `ctx`) until translated code
/// returns; gives the exit in the interpreter's terms and the encoding of the
/// instruction behind an exception exit.
#[allow(clippy::too_many_arguments)]
fn run_jit(
    j: &mut jit::Jit,
    cpu: &mut Cpu,
    sys: &mut Sys<'_>,
    host: &mut dyn BoardHost,
    id: u32,
    pa: u64,
    ctx: u8,
    pending_chain: &mut Option<(u64, u64)>,
    tlb_key: &mut (u64, u16),
    code_gen: &mut u64,
    stats: &mut Stats,
) -> (Exit, u32) {
    use jit::rt::exit;
    let asid = sys.asid();
    if cpu::sync_jit_tlb(&mut j.ctx, sys.tlb.take_pending()) {
        stats.jit_tlb_flushes[0] += 1;
    }
    if asid != tlb_key.1 || tlb_key.0 == 0 {
        // Each recent ASID keeps its own tables (see `Ctx::select_asid`).
        j.ctx.select_asid(asid);
        *tlb_key = (1, asid);
    }
    if sys.code_gen != *code_gen {
        let lost = sys.code_gen.wrapping_sub(*code_gen) != sys.new_code.len() as u64;
        if lost {
            j.ctx.revoke_writes();
            stats.jit_tlb_flushes[1] += 1;
        } else {
            let base = sys.ram.as_ptr() as u64;
            for &pa in &sys.new_code {
                j.ctx.revoke_page(base + (pa - RAM_BASE));
            }
        }
        sys.new_code.clear();
        *code_gen = sys.code_gen;
    }
    j.ctx.select_mode(sys.jit_mode(cpu.el), u64::from(ctx));
    let pc = cpu.pc;
    if let Some((code, target)) = pending_chain.take() {
        if target == pc {
            j.chain(code, id);
        }
    }
    if let Some(off) = pa.checked_sub(RAM_BASE) {
        let page = (off & !0xfff) as usize;
        if let Some(p) = sys.ram.get_mut(page..) {
            let h = p.as_mut_ptr();
            let sh = sys.page_shift(pc);
            j.ctx.fill(pc, 2, h, sh);
            if let Some(entry) = j.meta(id).map(|m| m.entry) {
                j.ctx.jc_insert(pc, h as u64 + (pc & 0xfff), entry);
            }
        }
    }
    j.ctx.irq_line = u64::from(sys.platform.irq_line() || sys.platform.fiq_line());
    let flag = host.event_flag();
    let before = j.ctx.insns;
    if flag.is_null() {
        j.ctx.event = 0;
        j.ctx.irq = core::ptr::addr_of!(j.ctx.event) as *const u8;
        j.ctx.limit = before + JIT_SLICE;
    } else {
        j.ctx.irq = flag;
        j.ctx.limit = u64::MAX;
    }
    let code = {
        let mut env = cpu::Env {
            s: &mut *sys,
            host: &mut *host,
        };
        j.run(cpu, &mut env, id)
    };
    stats.insns += j.ctx.insns - before;
    let kind = match code {
        exit::CONTINUE => 0,
        exit::STOP => 1,
        exit::DATA_ABORT => 4,
        exit::UNDEF => 5,
        exit::LOOKUP_MISS => 6,
        c => match j.exit_rec(c) {
            Some((_, jit::ExitRec::Chain { .. })) => 2,
            _ => 3,
        },
    };
    stats.jit_exits[kind] += 1;
    match code {
        exit::CONTINUE | exit::STOP | exit::LOOKUP_MISS => (Exit::Continue, 0),
        exit::DATA_ABORT => {
            let fault = j.ctx.fault.take().unwrap_or(MemFault::Unmapped {
                addr: 0,
                write: false,
            });
            (Exit::DataAbort { fault, pc: cpu.pc }, 0)
        }
        exit::UNDEF => {
            let raw = j.ctx.undef_raw as u32;
            (
                Exit::Exception {
                    kind: ExcKind::Undef(raw),
                    pc: cpu.pc,
                },
                raw,
            )
        }
        c => match j.exit_rec(c) {
            Some((_, jit::ExitRec::Chain { .. })) => {
                *pending_chain = Some((c, cpu.pc));
                (Exit::Continue, 0)
            }
            Some((_, jit::ExitRec::Exception { kind, raw })) => (
                Exit::Exception {
                    kind,
                    pc: kind.insn_pc(cpu.pc),
                },
                raw,
            ),
            None => (Exit::Continue, 0),
        },
    }
}

/// The encoding of the last instruction of a block (the one that ended it).
fn last_insn(b: &Block) -> u32 {
    b.ops
        .iter()
        .rev()
        .find_map(|op| match op {
            Op::Insn { raw, .. } => Some(*raw),
            _ => None,
        })
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
