//! The run-time side of translated code: the context block it addresses through R12,
//! the software TLB and jump cache it reads inline, and the monitor functions it calls
//! (`extern "sysv64"`, monomorphised per [`Memory`] implementation).

use a64::interp::{eval_bin, eval_un, MemFault, Memory};
use a64::ir::{BinOp, Helper, MemAttr, Ty, UnOp};
use a64::state::Cpu;

/// Entries per software-TLB table (one table per access mode).
pub const TLB_SIZE: usize = 4096;
/// Software-TLB table sets, one per recently used ASID.
pub const ASID_SETS: usize = 4;
/// Entries in the indirect-branch jump cache.
pub const JC_SIZE: usize = 16384;
/// Spill slots for temporaries (16 bytes each).
pub const MAX_TEMPS: usize = 4096;
/// Slots for the addends of shared TLB probes ([`Ctx::probes`]).
pub const PROBE_SLOTS: usize = 8;
/// Tag value no probe produces: probes compare page-aligned values, at most with the
/// low alignment bits (0..3) kept, so bit 11 is never set.
pub const NO_TAG: u64 = 0x800;

/// One software-TLB entry: the page tag for reads, writes and fetches (page-aligned VA,
/// or [`NO_TAG`]) and `addend` = host address of the page minus its VA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct TlbEntry {
    /// Tag for reads.
    pub tag_r: u64,
    /// Tag for writes.
    pub tag_w: u64,
    /// Tag for instruction fetches (indirect-branch lookups).
    pub tag_x: u64,
    /// Host address minus guest VA.
    pub addend: u64,
}

impl TlbEntry {
    /// An entry that matches nothing.
    pub const EMPTY: TlbEntry = TlbEntry {
        tag_r: NO_TAG,
        tag_w: NO_TAG,
        tag_x: NO_TAG,
        addend: 0,
    };
}

/// One jump-cache entry: guest VA, key (host address of the guest code | context bits),
/// and the translated code's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct JcEntry {
    /// Guest VA of the block.
    pub va: u64,
    /// Host address of the guest instruction bytes | context bits.
    pub key: u64,
    /// Entry point of the translated block.
    pub code: u64,
    /// Padding to 32 bytes (the lookup pairs slots `2k` and `2k + 1`).
    pub pad: u64,
}

impl JcEntry {
    /// An entry that matches nothing.
    pub const EMPTY: JcEntry = JcEntry {
        va: 1,
        key: 0,
        code: 0,
        pad: 0,
    };
}

/// Exit codes of translated code (values at or above [`EXIT_REC`] name a block exit record).
pub mod exit {
    /// Continue at `cpu.pc` (no chaining requested).
    pub const CONTINUE: u64 = 0;
    /// A data abort: the fault is in [`super::Ctx::fault`]; `cpu.pc` is the instruction.
    pub const DATA_ABORT: u64 = 1;
    /// An UNDEFINED system-register access: `cpu.pc` is the instruction, the encoding
    /// is in [`super::Ctx::undef_raw`].
    pub const UNDEF: u64 = 2;
    /// Stopped at a block entry (instruction limit or interrupt flag); continue at `cpu.pc`.
    pub const STOP: u64 = 3;
    /// The indirect-branch lookup missed; continue at `cpu.pc`.
    pub const LOOKUP_MISS: u64 = 4;
    /// `EXIT_REC | block << 8 | exit`: the exit record `exit` of block `block`.
    pub const EXIT_REC: u64 = 1 << 32;
}

/// The per-CPU context translated code addresses through R12.
#[repr(C)]
pub struct Ctx {
    /// Guest instructions executed (counted at block entry).
    pub insns: u64,
    /// Translated code stops at the first block entry with `insns >= limit`.
    pub limit: u64,
    /// A byte that is non-zero when an interrupt arrived (checked at every block entry).
    pub irq: *const u8,
    /// The software-TLB table of the current mode.
    pub tlb_cur: *mut TlbEntry,
    /// Context bits of the current mode (EL, FP trap), or'ed into jump-cache keys.
    pub ctx_bits: u64,
    /// The [`Memory`] implementation while translated code runs.
    pub mem: *mut (),
    /// The CPU while translated code runs.
    pub cpu: *mut Cpu,
    /// Host addends a block's shared TLB probes left for the later accesses of their
    /// group (0: the probe failed and each access probes for itself; see
    /// `translate::probe_groups`). Meaningful only inside one block run.
    pub probes: [u64; PROBE_SLOTS],
    /// The fault of a [`exit::DATA_ABORT`] exit.
    pub fault: Option<MemFault>,
    /// The encoding of an [`exit::UNDEF`] exit.
    pub undef_raw: u64,
    /// A scratch byte for flag materialisation (and the MXCSR a host FP op stores).
    pub scratch: u64,
    /// MXCSR for host FP operations by FPCR.RMode (`translate::hostfp`): every
    /// exception masked, the rounding control of the mode, FTZ and DAZ off.
    pub mxcsr: [u32; 4],
    /// The event byte `irq` points at when the host has none (the runner clears it).
    pub event: u64,
    /// Non-zero when an interrupt line is asserted (set by the runner before each run):
    /// an inline DAIF write that unmasks then stops at the next block entry.
    pub irq_line: u64,
    /// Argument block for calls (16 bytes each).
    pub args: [u128; 3],
    /// Result of calls.
    pub ret: u128,
    /// Spill slots.
    pub temps: [u128; MAX_TEMPS],
    /// Software-TLB tables: [`ASID_SETS`] sets (one per recent ASID) of three (EL0, EL1,
    /// EL1 with PAN); table `3 * set + mode`.
    pub tlbs: [[TlbEntry; TLB_SIZE]; 3 * ASID_SETS],
    /// log2 of the mapping size behind each entry (not read by generated code).
    pub shifts: [[u8; TLB_SIZE]; 3 * ASID_SETS],
    /// Index of the current table in `tlbs`.
    pub cur: usize,
    /// The current set, and the ASID each set holds entries of (None: empty).
    pub set: usize,
    set_asid: [Option<u16>; ASID_SETS],
    /// Use stamps of the sets (least recently used is replaced).
    set_used: [u64; ASID_SETS],
    /// Per table, the host pages that may have write tags in it (a 4096-bit filter on
    /// the page number): revoking writes to a page scans only the tables whose filter
    /// holds it.
    wpages: [[u64; 64]; 3 * ASID_SETS],
    /// (table, slot) of entries filled from mappings larger than 4 KiB (may hold stale
    /// ones; `large_overflow` when some were not recorded).
    pub large: alloc::vec::Vec<(u8, u16)>,
    /// More large fills happened than `large` records.
    pub large_overflow: bool,
    /// The ASID [`Ctx::select_asid`] was last given.
    asid_now: Option<u16>,
    /// Use counter for `set_used`.
    stamp: u64,
    /// The jump cache.
    pub jcache: [JcEntry; JC_SIZE],
}

/// Field offsets used by generated code.
#[allow(missing_docs)]
pub mod off {
    use super::Ctx;
    use a64::state::Cpu;
    use core::mem::offset_of;
    pub const INSNS: i32 = offset_of!(Ctx, insns) as i32;
    pub const LIMIT: i32 = offset_of!(Ctx, limit) as i32;
    pub const IRQ: i32 = offset_of!(Ctx, irq) as i32;
    pub const TLB_CUR: i32 = offset_of!(Ctx, tlb_cur) as i32;
    pub const CTX_BITS: i32 = offset_of!(Ctx, ctx_bits) as i32;
    pub const JCACHE: i32 = offset_of!(Ctx, jcache) as i32;
    // Code addresses every part of the context (the jump cache too) off R12 with a
    // 32-bit displacement.
    const _: () = assert!(size_of::<Ctx>() < i32::MAX as usize);
    pub const UNDEF_RAW: i32 = offset_of!(Ctx, undef_raw) as i32;
    pub const SCRATCH: i32 = offset_of!(Ctx, scratch) as i32;
    pub const MXCSR: i32 = offset_of!(Ctx, mxcsr) as i32;
    pub const IRQ_LINE: i32 = offset_of!(Ctx, irq_line) as i32;
    pub const ARGS: i32 = offset_of!(Ctx, args) as i32;
    pub const RET: i32 = offset_of!(Ctx, ret) as i32;
    pub const TEMPS: i32 = offset_of!(Ctx, temps) as i32;
    pub const PROBES: i32 = offset_of!(Ctx, probes) as i32;
    pub const X: i32 = offset_of!(Cpu, x) as i32;
    pub const SP: i32 = offset_of!(Cpu, sp) as i32;
    pub const PC: i32 = offset_of!(Cpu, pc) as i32;
    pub const NZCV: i32 = offset_of!(Cpu, nzcv) as i32;
    pub const FPCR: i32 = offset_of!(Cpu, fpcr) as i32;
    pub const FPSR: i32 = offset_of!(Cpu, fpsr) as i32;
    pub const DAIF: i32 = offset_of!(Cpu, daif) as i32;
    pub const V: i32 = offset_of!(Cpu, v) as i32;
    pub const TPIDR: i32 = offset_of!(Cpu, tpidr_el0) as i32;
    pub const TPIDRRO: i32 = offset_of!(Cpu, tpidrro_el0) as i32;
    pub const MON_VALID: i32 =
        (offset_of!(Cpu, monitor) + offset_of!(a64::state::Monitor, valid)) as i32;
    pub const MON_SIZE: i32 =
        (offset_of!(Cpu, monitor) + offset_of!(a64::state::Monitor, size)) as i32;
    pub const MON_ADDR: i32 =
        (offset_of!(Cpu, monitor) + offset_of!(a64::state::Monitor, addr)) as i32;
    pub const MON_VALUE: i32 =
        (offset_of!(Cpu, monitor) + offset_of!(a64::state::Monitor, value)) as i32;
    pub const EL: i32 = offset_of!(Cpu, el) as i32;
}

impl Ctx {
    /// A context with empty tables, allocated on the heap (it is large).
    pub fn new_boxed() -> alloc::boxed::Box<Ctx> {
        let mut b: alloc::boxed::Box<core::mem::MaybeUninit<Ctx>> = alloc::boxed::Box::new_uninit();
        let p = b.as_mut_ptr();
        // SAFETY: every field is written below before `assume_init`; raw pointer writes
        // through `addr_of_mut!` never read the uninitialised memory.
        unsafe {
            core::ptr::addr_of_mut!((*p).insns).write(0);
            core::ptr::addr_of_mut!((*p).limit).write(u64::MAX);
            core::ptr::addr_of_mut!((*p).event).write(0);
            core::ptr::addr_of_mut!((*p).irq_line).write(0);
            core::ptr::addr_of_mut!((*p).irq).write(core::ptr::addr_of!((*p).event) as *const u8);
            core::ptr::addr_of_mut!((*p).ctx_bits).write(0);
            core::ptr::addr_of_mut!((*p).mem).write(core::ptr::null_mut());
            core::ptr::addr_of_mut!((*p).cpu).write(core::ptr::null_mut());
            core::ptr::addr_of_mut!((*p).probes).write([0; PROBE_SLOTS]);
            core::ptr::addr_of_mut!((*p).fault).write(None);
            core::ptr::addr_of_mut!((*p).undef_raw).write(0);
            core::ptr::addr_of_mut!((*p).scratch).write(0);
            core::ptr::addr_of_mut!((*p).mxcsr).write(crate::translate::hostfp::MXCSR_BY_RMODE);
            core::ptr::addr_of_mut!((*p).args).write([0; 3]);
            core::ptr::addr_of_mut!((*p).ret).write(0);
            core::ptr::addr_of_mut!((*p).temps).write([0; MAX_TEMPS]);
            core::ptr::addr_of_mut!((*p).tlbs).write([[TlbEntry::EMPTY; TLB_SIZE]; 3 * ASID_SETS]);
            core::ptr::addr_of_mut!((*p).shifts).write([[12; TLB_SIZE]; 3 * ASID_SETS]);
            core::ptr::addr_of_mut!((*p).cur).write(0);
            core::ptr::addr_of_mut!((*p).set).write(0);
            core::ptr::addr_of_mut!((*p).set_asid).write([None; ASID_SETS]);
            core::ptr::addr_of_mut!((*p).set_used).write([0; ASID_SETS]);
            core::ptr::addr_of_mut!((*p).wpages).write([[0; 64]; 3 * ASID_SETS]);
            core::ptr::addr_of_mut!((*p).large).write(alloc::vec::Vec::new());
            core::ptr::addr_of_mut!((*p).large_overflow).write(false);
            core::ptr::addr_of_mut!((*p).asid_now).write(None);
            core::ptr::addr_of_mut!((*p).stamp).write(0);
            core::ptr::addr_of_mut!((*p).jcache).write([JcEntry::EMPTY; JC_SIZE]);
            let tlb = core::ptr::addr_of_mut!((*p).tlbs) as *mut TlbEntry;
            core::ptr::addr_of_mut!((*p).tlb_cur).write(tlb);
            b.assume_init()
        }
    }

    /// Makes translated code return to the runner at the next block entry.
    pub fn request_exit(&mut self) {
        self.limit = 0;
        // SAFETY: `irq` points at a live byte (the host's interrupt flag, an AtomicU8,
        // or `self.event`) for as long as translated code can run.
        unsafe {
            (*(self.irq as *const core::sync::atomic::AtomicU8))
                .store(1, core::sync::atomic::Ordering::Relaxed)
        };
    }

    /// Empties every software-TLB table (of every ASID).
    pub fn flush_tlb(&mut self) {
        for t in self.tlbs.iter_mut() {
            t.fill(TlbEntry::EMPTY);
        }
        self.large.clear();
        self.large_overflow = false;
        self.set_asid = [None; ASID_SETS];
        self.set_asid[self.set] = self.asid_now;
        self.wpages = [[0; 64]; 3 * ASID_SETS];
    }

    /// Switches to the table set of `asid` (the guest's current ASID). Each set keeps
    /// the entries made under one ASID, so switching back and forth between processes
    /// keeps their translations (global ones are refilled per set). The least recently
    /// used set is emptied for a new ASID. TLB maintenance applies to every set.
    pub fn select_asid(&mut self, asid: u16) {
        self.asid_now = Some(asid);
        self.stamp += 1;
        let k = match self.set_asid.iter().position(|&a| a == Some(asid)) {
            Some(k) => k,
            None => {
                let k = (0..ASID_SETS)
                    .min_by_key(|&k| (self.set_asid[k].is_some(), self.set_used[k]))
                    .unwrap_or(0);
                for t in &mut self.tlbs[3 * k..3 * k + 3] {
                    t.fill(TlbEntry::EMPTY);
                }
                for w in &mut self.wpages[3 * k..3 * k + 3] {
                    *w = [0; 64];
                }
                for sh in &mut self.shifts[3 * k..3 * k + 3] {
                    sh.fill(12);
                }
                self.large.retain(|&(t, _)| usize::from(t) / 3 != k);
                self.set_asid[k] = Some(asid);
                k
            }
        };
        self.set_used[k] = self.stamp;
        self.set = k;
        let mode = self.cur % 3;
        self.cur = 3 * k + mode;
        self.tlb_cur = &mut self.tlbs[self.cur][0];
    }

    /// Drops the entries of the page holding `va` from every table; with `large`, also
    /// every cached piece of a larger mapping that contains `va`.
    pub fn invalidate_va(&mut self, va: u64, large: bool) {
        let page = va & !0xfff;
        let i = Self::tlb_slot(va);
        for t in self.tlbs.iter_mut() {
            let e = &mut t[i];
            if e.tag_r == page || e.tag_w == page || e.tag_x == page {
                *e = TlbEntry::EMPTY;
            }
        }
        if !large {
            return;
        }
        if !self.large_overflow {
            // Only entries from larger mappings can cover `va` from another slot.
            let mut k = 0;
            while k < self.large.len() {
                let (t, s) = self.large[k];
                let (t, s) = (t as usize, s as usize);
                let sh = self.shifts[t][s];
                if sh <= 12 {
                    self.large.swap_remove(k);
                    continue;
                }
                let e = &mut self.tlbs[t][s];
                let p = e.tag_r & e.tag_w & e.tag_x;
                let p = [e.tag_r, e.tag_w, e.tag_x]
                    .into_iter()
                    .find(|&x| x != NO_TAG)
                    .unwrap_or(p);
                if p == NO_TAG || (p ^ page) >> u32::from(sh.min(63)) == 0 {
                    *e = TlbEntry::EMPTY;
                    self.shifts[t][s] = 12;
                    self.large.swap_remove(k);
                    continue;
                }
                k += 1;
            }
            return;
        }
        for (t, sh) in self.tlbs.iter_mut().zip(self.shifts.iter()) {
            for (e, &s) in t.iter_mut().zip(sh.iter()) {
                let p = if e.tag_r != NO_TAG {
                    e.tag_r
                } else if e.tag_w != NO_TAG {
                    e.tag_w
                } else if e.tag_x != NO_TAG {
                    e.tag_x
                } else {
                    continue;
                };
                let s = u32::from(s.clamp(12, 63));
                if (p ^ page) >> s == 0 {
                    *e = TlbEntry::EMPTY;
                }
            }
        }
    }

    /// Revokes write permission to host page `host` (it now holds translated code).
    pub fn revoke_page(&mut self, host: u64) {
        let bit = (host >> 12) as usize & 4095;
        for (t, w) in self.tlbs.iter_mut().zip(&self.wpages) {
            if w[bit / 64] & (1 << (bit % 64)) == 0 {
                continue;
            }
            for e in t.iter_mut() {
                if e.tag_w != NO_TAG && e.tag_w.wrapping_add(e.addend) == host {
                    e.tag_w = NO_TAG;
                }
            }
        }
    }

    /// Drops the jump-cache entry of the block at guest `va` if it points at `code`.
    pub fn jc_drop(&mut self, va: u64, code: u64) {
        let i = jc_index(va);
        for k in [i, i ^ 1] {
            if self.jcache[k].code == code {
                self.jcache[k] = JcEntry::EMPTY;
            }
        }
    }

    /// Drops the jump-cache entries of guest code in host page `host`.
    pub fn jc_drop_page(&mut self, host: u64) {
        for e in self.jcache.iter_mut() {
            if e.key & !0xfff == host {
                *e = JcEntry::EMPTY;
            }
        }
    }

    /// Revokes every write permission in the software TLB (a page became code).
    pub fn revoke_writes(&mut self) {
        for t in self.tlbs.iter_mut() {
            for e in t.iter_mut() {
                e.tag_w = NO_TAG;
            }
        }
        self.wpages = [[0; 64]; 3 * ASID_SETS];
    }

    /// Empties the jump cache.
    pub fn flush_jc(&mut self) {
        self.jcache.fill(JcEntry::EMPTY);
    }

    /// Selects the TLB table of mode `m` (0 EL0, 1 EL1, 2 EL1 with PAN).
    pub fn select_mode(&mut self, m: usize, ctx_bits: u64) {
        self.cur = 3 * self.set + m.min(2);
        self.tlb_cur = &mut self.tlbs[self.cur][0];
        self.ctx_bits = ctx_bits;
    }

    /// The TLB slot of `va` in the current table.
    #[inline]
    pub fn tlb_slot(va: u64) -> usize {
        ((va >> 12) as usize) & (TLB_SIZE - 1)
    }

    /// Fills the current mode's entry for `va` with host page `host` for access `kind`
    /// (0 read, 1 write, 2 fetch).
    pub fn fill(&mut self, va: u64, kind: u8, host: *mut u8, shift: u8) {
        let page = va & !0xfff;
        let addend = (host as u64).wrapping_sub(page);
        let slot = Self::tlb_slot(va);
        if shift > 12 && self.shifts[self.cur][slot] <= 12 {
            if self.large.len() < 2 * TLB_SIZE {
                self.large.push((self.cur as u8, slot as u16));
            } else {
                self.large_overflow = true;
            }
        }
        self.shifts[self.cur][slot] = shift;
        let e = &mut self.tlbs[self.cur][slot];
        let same = e.addend == addend && (e.tag_r == page || e.tag_w == page || e.tag_x == page);
        if !same {
            *e = TlbEntry::EMPTY;
            e.addend = addend;
        }
        match kind {
            0 => e.tag_r = page,
            1 => {
                e.tag_w = page;
                let bit = (host as u64 >> 12) as usize & 4095;
                self.wpages[self.cur][bit / 64] |= 1 << (bit % 64);
            }
            _ => e.tag_x = page,
        }
    }

    /// Records translated block `code` for guest `va` whose bytes are at host address
    /// `host` (context bits of the current mode) in the jump cache.
    pub fn jc_insert(&mut self, va: u64, host: u64, code: u64) {
        let i = jc_index(va);
        let e = JcEntry {
            va,
            key: host | self.ctx_bits,
            code,
            pad: 0,
        };
        // Two-way: a pair of slots; the newest entry goes first, the other one moves
        // to the partner slot.
        if self.jcache[i].va == va || self.jcache[i].va == JcEntry::EMPTY.va {
            self.jcache[i] = e;
        } else if self.jcache[i ^ 1].va == va || self.jcache[i ^ 1].va == JcEntry::EMPTY.va {
            self.jcache[i ^ 1] = e;
        } else {
            self.jcache[i ^ 1] = self.jcache[i];
            self.jcache[i] = e;
        }
    }
}

/// The jump-cache slot of guest `va` (the lookup stub computes the same).
#[inline]
pub fn jc_index(va: u64) -> usize {
    (va.wrapping_mul(JC_HASH) >> (64 - JC_SIZE.trailing_zeros())) as usize
}

/// Multiplier of the jump-cache hash (a Fibonacci hash).
pub const JC_HASH: u64 = 0x9e37_79b9_7f4a_7c15;

/// Packs a [`MemAttr`] into the immediate passed to slow paths.
pub fn pack_attr(a: MemAttr) -> u64 {
    u64::from(a.size)
        | (u64::from(a.align) << 8)
        | (u64::from(a.acquire) << 16)
        | (u64::from(a.release) << 17)
        | (u64::from(a.exclusive) << 18)
        | (u64::from(a.unpriv) << 19)
        | (u64::from(a.nontemporal) << 20)
}

/// Inverse of [`pack_attr`].
pub fn unpack_attr(v: u64) -> MemAttr {
    MemAttr {
        size: v as u8,
        align: (v >> 8) as u8,
        acquire: v & (1 << 16) != 0,
        release: v & (1 << 17) != 0,
        exclusive: v & (1 << 18) != 0,
        unpriv: v & (1 << 19) != 0,
        nontemporal: v & (1 << 20) != 0,
    }
}

/// Environment hooks a [`Memory`] implementation offers translated code.
pub trait JitMemory: Memory {
    /// Host address of the 4 KiB page holding `va` if an ordinary access of `kind`
    /// (0 read, 1 write, 2 fetch) at the current mode may go straight to memory: RAM,
    /// permitted, and for writes not holding translated code. `None` otherwise.
    fn host_page(&mut self, va: u64, kind: u8) -> Option<*mut u8>;
    /// log2 of the size of the mapping holding `va` (12 for a 4 KiB page), for
    /// invalidation of cached pieces of larger mappings.
    fn page_shift(&mut self, va: u64) -> u8 {
        let _ = va;
        12
    }
    /// True when translated code must return to its runner after the current block
    /// (for example a store hit a page holding translated code).
    fn exit_requested(&mut self) -> bool;
    /// Does the maintenance instruction `raw` (`kind` 0: a TLBI, `kind` 1: an IC IVAU)
    /// with register operand `xt` without the runner, keeping `ctx`'s TLB in step;
    /// false when the runner must do it (the default).
    fn maint(&mut self, ctx: &mut Ctx, kind: u8, raw: u32, xt: u64) -> bool {
        let _ = (ctx, kind, raw, xt);
        false
    }
}

/// SAFETY contract for every `rt_*` function (they are called only by translated
/// code): `ctx` is the live context of a run of translated code whose `mem` points at an
/// `M` and `cpu` at the running CPU.
macro_rules! env {
    ($ctx:ident, $M:ty) => {{
        // SAFETY: see the contract above: the runner sets both pointers for the
        // duration of the run and nothing else aliases them during this call.
        unsafe {
            (
                &mut *$ctx,
                &mut *((*$ctx).mem as *mut $M),
                &mut *(*$ctx).cpu,
            )
        }
    }};
}

fn check_align(addr: u64, attr: &MemAttr, write: bool) -> Result<(), MemFault> {
    if attr.align > 1 && addr & (u64::from(attr.align) - 1) != 0 {
        return Err(MemFault::Alignment { addr, write });
    }
    Ok(())
}

/// Slow-path load: the value goes to `ctx.ret`. Returns 0, or 1 on a fault (in `ctx.fault`).
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_load<M: JitMemory>(ctx: *mut Ctx, va: u64, attr: u64) -> u64 {
    let (c, mem, cpu) = env!(ctx, M);
    let attr = unpack_attr(attr);
    let r = check_align(va, &attr, false).and_then(|_| mem.read(va, attr));
    match r {
        Ok(v) => {
            c.ret = v;
            if attr.exclusive {
                cpu.monitor.valid = true;
                cpu.monitor.addr = va;
                cpu.monitor.size = attr.size;
                cpu.monitor.value = v;
            } else if !attr.unpriv && (va & 0xfff) + u64::from(attr.size) <= 0x1000 {
                if let Some(h) = mem.host_page(va, 0) {
                    let sh = mem.page_shift(va);
                    c.fill(va, 0, h, sh);
                }
            }
            0
        }
        Err(f) => {
            c.fault = Some(f);
            1
        }
    }
}

/// Slow-path store of `ctx.args[0]`. Returns 0, or 1 on a fault.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_store<M: JitMemory>(ctx: *mut Ctx, va: u64, attr: u64) -> u64 {
    let (c, mem, _cpu) = env!(ctx, M);
    let attr = unpack_attr(attr);
    let r = check_align(va, &attr, true).and_then(|_| mem.write(va, c.args[0], attr));
    match r {
        Ok(()) => {
            if mem.exit_requested() {
                c.request_exit();
            } else if !attr.unpriv && (va & 0xfff) + u64::from(attr.size) <= 0x1000 {
                if let Some(h) = mem.host_page(va, 1) {
                    let sh = mem.page_shift(va);
                    c.fill(va, 1, h, sh);
                }
            }
            0
        }
        Err(f) => {
            c.fault = Some(f);
            1
        }
    }
}

/// Store-exclusive of `ctx.args[0]`: 0 stored, 1 failed, 2 fault.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_store_excl<M: JitMemory>(
    ctx: *mut Ctx,
    va: u64,
    attr: u64,
) -> u64 {
    let (c, mem, cpu) = env!(ctx, M);
    let attr = unpack_attr(attr);
    if let Err(f) = check_align(va, &attr, true) {
        c.fault = Some(f);
        return 2;
    }
    let m = cpu.monitor;
    cpu.monitor.clear();
    if !(m.valid && m.addr == va && m.size == attr.size) {
        return 1;
    }
    match mem.compare_exchange(va, m.value, c.args[0], attr) {
        Ok(true) => {
            if mem.exit_requested() {
                c.request_exit();
            }
            0
        }
        Ok(false) => 1,
        Err(f) => {
            c.fault = Some(f);
            2
        }
    }
}

/// TLBI (`kind` 0) or IC IVAU (1) `raw` with operand `xt`: 0 done, 1 the runner must do
/// it (see [`JitMemory::maint`]).
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_maint<M: JitMemory>(
    ctx: *mut Ctx,
    raw: u64,
    xt: u64,
    kind: u64,
) -> u64 {
    let (c, mem, _cpu) = env!(ctx, M);
    u64::from(!mem.maint(c, kind as u8, raw as u32, xt))
}

/// DC ZVA at `va`: 0, or 1 on a fault.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_dczva<M: JitMemory>(ctx: *mut Ctx, va: u64) -> u64 {
    let (c, mem, _cpu) = env!(ctx, M);
    let z = a64::interp::consts::ZVA_BYTES;
    let base = va & !(z - 1);
    if let Some(h) = mem.host_page(base, 1) {
        // SAFETY: `h` is the host address of the guest RAM page holding `base`
        // (writable, no translated code), and the 64-byte block lies inside it.
        unsafe { core::ptr::write_bytes(h.add((base & 0xfff) as usize), 0, z as usize) };
        let sh = mem.page_shift(base);
        c.fill(base, 1, h, sh);
        return 0;
    }
    let mut o = 0;
    while o < z {
        if let Err(f) = mem.write(base + o, 0, MemAttr::plain(8)) {
            c.fault = Some(f);
            return 1;
        }
        o += 8;
    }
    if mem.exit_requested() {
        c.request_exit();
    }
    0
}

/// System register read (`reg` = [`sysreg_code`]): value in `ctx.ret`; 0, or 1 if UNDEFINED.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_sys_read<M: JitMemory>(ctx: *mut Ctx, reg: u64) -> u64 {
    let (c, mem, cpu) = env!(ctx, M);
    let r = sysreg_decode(reg);
    let v = match r {
        a64::ir::SysReg::Impl(k) => match mem.sys_read(cpu, k) {
            Some(v) => v,
            None => return 1,
        },
        r => a64::interp::sys_read(cpu, mem, r),
    };
    c.ret = u128::from(v);
    0
}

/// System register write of `val`: 0, or 1 if UNDEFINED. Asks for a return to the runner.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_sys_write<M: JitMemory>(ctx: *mut Ctx, reg: u64, val: u64) -> u64 {
    let (c, mem, cpu) = env!(ctx, M);
    let r = sysreg_decode(reg);
    if !a64::sysreg::write_keeps_context(r) {
        c.request_exit();
    }
    match r {
        a64::ir::SysReg::Impl(k) => {
            if !mem.sys_write(cpu, k, val) {
                return 1;
            }
        }
        r => a64::interp::sys_write(cpu, r, val),
    }
    0
}

/// Encodes a system register for [`rt_sys_read`] / [`rt_sys_write`].
pub fn sysreg_code(r: a64::ir::SysReg) -> Option<u64> {
    use a64::ir::SysReg as S;
    Some(match r {
        S::Impl(k) => u64::from(k) << 8,
        S::CntvctEl0 => 1,
        S::CntfrqEl0 => 2,
        S::Daif => 3,
        S::Nzcv => 4,
        S::Fpcr => 5,
        S::Fpsr => 6,
        S::TpidrEl0 => 7,
        S::TpidrroEl0 => 8,
        S::SpSel => 9,
        S::CurrentEl => 10,
        S::CtrEl0 => 11,
        S::DczidEl0 => 12,
        S::Const(_) => return None,
    })
}

fn sysreg_decode(v: u64) -> a64::ir::SysReg {
    use a64::ir::SysReg as S;
    match v {
        1 => S::CntvctEl0,
        2 => S::CntfrqEl0,
        3 => S::Daif,
        4 => S::Nzcv,
        5 => S::Fpcr,
        6 => S::Fpsr,
        7 => S::TpidrEl0,
        8 => S::TpidrroEl0,
        9 => S::SpSel,
        10 => S::CurrentEl,
        11 => S::CtrEl0,
        12 => S::DczidEl0,
        v => S::Impl((v >> 8) as u32),
    }
}

/// Calls IR helper `h` on `ctx.args` with `imm`; the result goes to `ctx.ret`.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_helper(ctx: *mut Ctx, h: *const Helper, imm: u64) {
    // SAFETY: `ctx` is the live context (contract above); `h` is a `&'static Helper`
    // the translator embedded.
    let (c, h) = unsafe { (&mut *ctx, &*h) };
    // SAFETY: the runner set `cpu` for the duration of the run.
    let cpu = unsafe { &mut *c.cpu };
    let v = (h.func)(cpu, c.args, imm);
    c.ret = match h.ret {
        Some(t) => v & t.mask(),
        None => 0,
    };
}

/// Fallback for integer ops the translator does not inline: `code` = kind | op << 8 |
/// ty << 16 | ty2 << 24 (kinds: 0 Bin, 1 Un, 2 Sext from ty2 bits, 3 Select);
/// operands in `ctx.args`, result in `ctx.ret`.
///
/// # Safety
/// Called only by translated code, with the live context (see the contract above).
pub unsafe extern "sysv64" fn rt_op(ctx: *mut Ctx, code: u64) {
    // SAFETY: `ctx` is the live context (contract above).
    let c = unsafe { &mut *ctx };
    let ty = ty_of((code >> 16) as u8);
    let (a, b) = (c.args[0], c.args[1]);
    c.ret = match code & 0xff {
        0 => eval_bin(BINOPS[((code >> 8) & 0xff) as usize], ty, a, b),
        1 => eval_un(UNOPS[((code >> 8) & 0xff) as usize], ty, a),
        2 => {
            let from = ty_of((code >> 24) as u8).bits();
            let s = 128 - from;
            (((a << s) as i128 >> s) as u128) & ty.mask()
        }
        _ => {
            if c.args[2] & 1 != 0 {
                a
            } else {
                b
            }
        }
    };
}

/// Type code used in [`rt_op`] codes.
pub fn ty_code(t: Ty) -> u64 {
    match t {
        Ty::I8 => 0,
        Ty::I16 => 1,
        Ty::I32 => 2,
        Ty::I64 => 3,
        Ty::I128 => 4,
    }
}

fn ty_of(c: u8) -> Ty {
    match c {
        0 => Ty::I8,
        1 => Ty::I16,
        2 => Ty::I32,
        3 => Ty::I64,
        _ => Ty::I128,
    }
}

/// Binary ops by [`rt_op`] index.
pub const BINOPS: [BinOp; 14] = [
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::UMulHi,
    BinOp::SMulHi,
    BinOp::UDiv,
    BinOp::SDiv,
    BinOp::And,
    BinOp::Or,
    BinOp::Xor,
    BinOp::Shl,
    BinOp::LShr,
    BinOp::AShr,
    BinOp::Ror,
];

/// Unary ops by [`rt_op`] index.
pub const UNOPS: [UnOp; 9] = [
    UnOp::Not,
    UnOp::Neg,
    UnOp::Clz,
    UnOp::Cls,
    UnOp::Rbit,
    UnOp::Rev,
    UnOp::Rev16,
    UnOp::Rev32,
    UnOp::Popcnt,
];

/// A64 condition results for every NZCV value: `COND_TABLE[cond][nzcv >> 28]`.
pub static COND_TABLE: [[u8; 16]; 16] = {
    let mut t = [[0u8; 16]; 16];
    let mut c = 0;
    while c < 16 {
        let mut f = 0;
        while f < 16 {
            let n = f & 8 != 0;
            let z = f & 4 != 0;
            let cy = f & 2 != 0;
            let v = f & 1 != 0;
            let r = match c >> 1 {
                0 => z,
                1 => cy,
                2 => n,
                3 => v,
                4 => cy && !z,
                5 => n == v,
                6 => n == v && !z,
                _ => true,
            };
            let r = if c & 1 != 0 && c != 15 { !r } else { r };
            t[c][f] = r as u8;
            f += 1;
        }
        c += 1;
    }
    t
};

/// Addresses of the run-time functions for one [`JitMemory`] type.
#[derive(Clone, Copy, Debug)]
pub struct Rt {
    /// [`rt_load`].
    pub load: u64,
    /// [`rt_store`].
    pub store: u64,
    /// [`rt_store_excl`].
    pub store_excl: u64,
    /// [`rt_dczva`].
    pub dczva: u64,
    /// [`rt_sys_read`].
    pub sys_read: u64,
    /// [`rt_sys_write`].
    pub sys_write: u64,
    /// [`rt_helper`].
    pub helper: u64,
    /// [`rt_op`].
    pub op: u64,
    /// [`rt_maint`].
    pub maint: u64,
}

impl Rt {
    /// The functions for memory type `M`.
    pub fn of<M: JitMemory>() -> Rt {
        Rt {
            load: rt_load::<M> as *const () as u64,
            store: rt_store::<M> as *const () as u64,
            store_excl: rt_store_excl::<M> as *const () as u64,
            dczva: rt_dczva::<M> as *const () as u64,
            sys_read: rt_sys_read::<M> as *const () as u64,
            sys_write: rt_sys_write::<M> as *const () as u64,
            helper: rt_helper as *const () as u64,
            op: rt_op as *const () as u64,
            maint: rt_maint::<M> as *const () as u64,
        }
    }
}
