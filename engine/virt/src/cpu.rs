//! EL1 system state of the core, the exception model (entry and ERET), the EL1 system
//! registers, and the data side of memory (soft TLB fast path, walks, MMIO).

use alloc::vec;
use alloc::vec::Vec;

use a64::interp::{MemFault, Memory};
use a64::ir::MemAttr;
use a64::state::Cpu;
use a64::sysreg::{key, KEY_PAN, KEY_SPSEL};
use shared_abi::guest::RAM_BASE;

use crate::dev::{Platform, TimerReg};
use crate::machine::BoardHost;
use crate::mmu::tlb::{Tlb, TlbiOp};
use crate::mmu::{at_translate, Access, AccessKind, AccessOp, AtOp, MmuFault, MmuRegs, PhysRead};

/// ESR_EL1.EC values.
pub const EC_UNKNOWN: u32 = 0x00;
/// FP/SIMD access trapped by CPACR_EL1.FPEN.
pub const EC_FP: u32 = 0x07;
/// Illegal execution state.
pub const EC_ILLEGAL: u32 = 0x0e;
/// SVC from AArch64.
pub const EC_SVC: u32 = 0x15;
/// Instruction abort from EL0.
pub const EC_IABT_LOWER: u32 = 0x20;
/// Instruction abort from EL1.
pub const EC_IABT_SAME: u32 = 0x21;
/// PC alignment fault.
pub const EC_PC_ALIGN: u32 = 0x22;
/// Data abort from EL0.
pub const EC_DABT_LOWER: u32 = 0x24;
/// Data abort from EL1.
pub const EC_DABT_SAME: u32 = 0x25;
/// BRK from AArch64.
pub const EC_BRK: u32 = 0x3c;

/// Synchronous external abort, not on a walk (DFSC/IFSC).
pub const FSC_EXT_ABORT: u32 = 0x10;

/// ESR value: EC, IL = 1 (32-bit instruction), ISS.
pub const fn esr(ec: u32, iss: u32) -> u32 {
    (ec << 26) | (1 << 25) | (iss & 0x01ff_ffff)
}

/// SCTLR_EL1.SPAN: when 0, exceptions to EL1 set PSTATE.PAN.
const SCTLR_SPAN: u64 = 1 << 23;

/// Details of the last data fault, for ESR/FAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    /// FAR.
    pub va: u64,
    /// DFSC.
    pub fsc: u32,
    /// WnR.
    pub wnr: bool,
    /// CM.
    pub cm: bool,
}

struct Ram<'a>(&'a [u8]);

impl PhysRead for Ram<'_> {
    fn read_u64(&mut self, pa: u64) -> Option<u64> {
        let off = pa.checked_sub(RAM_BASE)? as usize;
        let b = self.0.get(off..off.checked_add(8)?)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Some(u64::from_le_bytes(w))
    }
}

/// The system side of the core and the board.
pub struct Sys<'r> {
    /// Guest RAM at [`RAM_BASE`].
    pub ram: &'r mut [u8],
    /// Devices.
    pub platform: Platform,
    /// Translation registers.
    pub regs: MmuRegs,
    /// Soft TLB.
    pub tlb: Tlb,
    asid: u16,
    cls_r: u32,
    cls_w: u32,
    cls_x: u32,
    /// PSTATE.PAN.
    pub pan: bool,
    /// PSTATE.SPSel.
    pub spsel: bool,
    /// The banked stack pointer that is not current (SP_EL0 while on SP_EL1 and vice versa).
    sp_other: u64,
    /// Which EL's SP `cpu.sp` holds now (0 or 1).
    sp_cur: u8,
    /// ELR_EL1.
    pub elr: u64,
    /// SPSR_EL1.
    pub spsr: u64,
    /// ESR_EL1.
    pub esr: u64,
    /// FAR_EL1.
    pub far: u64,
    /// PAR_EL1.
    pub par: u64,
    /// VBAR_EL1.
    pub vbar: u64,
    /// CPACR_EL1.
    pub cpacr: u64,
    contextidr: u64,
    tpidr_el1: u64,
    mdscr: u64,
    amair: u64,
    csselr: u64,
    afsr0: u64,
    afsr1: u64,
    mdccint: u64,
    counter_hz: u32,
    /// Last data fault (set where a `MemFault` is returned).
    pub fault: Option<FaultInfo>,
    /// Bit per RAM page: holds cached code.
    pub code_pages: Vec<u64>,
    /// Code pages written since the last check (physical page addresses).
    pub dirty_code: Vec<u64>,
    /// A timer register was written: re-arm the host timer.
    pub timer_dirty: bool,
    /// Deadline the host timer is armed for.
    pub armed: Option<u64>,
    /// Bumped when a page becomes a code page (direct write paths must be revoked).
    pub code_gen: u64,
    /// Physical pages that became code pages since the runner last looked (at most 16;
    /// `code_gen` tells when more were lost).
    pub new_code: Vec<u64>,
    /// An MMIO access happened since the runner last cleared this.
    pub mmio_exit: bool,
    /// Table walks.
    pub tlb_misses: u64,
    /// TLBIs and IC IVAUs done for translated code without the runner.
    pub maint_inline: [u64; 2],
    /// MMIO accesses.
    pub mmio_count: u64,
    out: Vec<u8>,
}

impl<'r> Sys<'r> {
    /// System state at reset.
    pub fn new(ram: &'r mut [u8], platform: Platform, counter_hz: u32) -> Self {
        let pages = ram.len().div_ceil(4096);
        let mut s = Sys {
            ram,
            platform,
            regs: MmuRegs::default(),
            tlb: Tlb::new(),
            asid: 0,
            cls_r: 0,
            cls_w: 0,
            cls_x: 0,
            pan: false,
            spsel: true,
            sp_other: 0,
            sp_cur: 1,
            elr: 0,
            spsr: 0,
            esr: 0,
            far: 0,
            par: 0,
            vbar: 0,
            cpacr: 0,
            contextidr: 0,
            tpidr_el1: 0,
            mdscr: 0,
            amair: 0,
            csselr: 0,
            afsr0: 0,
            afsr1: 0,
            mdccint: 0,
            counter_hz,
            fault: None,
            code_pages: vec![0; pages.div_ceil(64)],
            dirty_code: Vec::new(),
            timer_dirty: false,
            armed: None,
            code_gen: 0,
            new_code: Vec::new(),
            mmio_exit: false,
            tlb_misses: 0,
            maint_inline: [0; 2],
            mmio_count: 0,
            out: Vec::new(),
        };
        s.reset_el1_state();
        s
    }

    /// Architectural reset values of the EL1 registers (MMU off).
    pub fn reset_el1_state(&mut self) {
        self.regs = MmuRegs {
            sctlr: 0x30d0_0800,
            ..MmuRegs::default()
        };
        self.tlb.flush_all();
        self.tlb.sync(&self.regs);
        self.asid = self.regs.current_asid();
        self.pan = false;
        self.cpacr = 0;
        self.vbar = 0;
    }

    /// Recomputes the cached access classes and ASID after a change of EL, PAN or
    /// translation registers; banks the stack pointer for the new (EL, SPSel).
    pub fn update_mode(&mut self, cpu: &Cpu) {
        let el = cpu.el;
        let cls = |k| Access::new(k, el, self.pan).fast_class().unwrap_or(0);
        self.cls_r = cls(AccessKind::Read);
        self.cls_w = cls(AccessKind::Write);
        self.cls_x = cls(AccessKind::Exec);
        self.tlb.sync(&self.regs);
        self.asid = self.regs.current_asid();
    }

    fn sp_switch(&mut self, cpu: &mut Cpu, el: u8, spsel: bool) {
        let want = u8::from(el != 0 && spsel);
        if want != self.sp_cur {
            core::mem::swap(&mut cpu.sp, &mut self.sp_other);
            self.sp_cur = want;
        }
        cpu.el = el;
        self.spsel = spsel;
    }

    /// Whether FP/SIMD instructions trap at `el` (CPACR_EL1.FPEN).
    pub fn fp_trapped(&self, el: u8) -> bool {
        match (self.cpacr >> 20) & 3 {
            0b11 => false,
            0b01 => el == 0,
            _ => true,
        }
    }

    /// Marks the RAM page of `pa` as holding cached code.
    pub fn mark_code_page(&mut self, pa: u64) {
        let p = ((pa - RAM_BASE) >> 12) as usize;
        if let Some(w) = self.code_pages.get_mut(p / 64) {
            if *w & (1 << (p % 64)) == 0 {
                *w |= 1 << (p % 64);
                self.code_gen = self.code_gen.wrapping_add(1);
                if self.new_code.len() < 16 {
                    self.new_code.push(pa & !0xfff);
                }
            }
        }
    }

    /// log2 of the size of the cached mapping holding `va` (12 when unknown).
    pub fn page_shift(&self, va: u64) -> u8 {
        self.tlb.shift_of(va, self.asid).unwrap_or(12)
    }

    /// The current ASID (for the translator's TLB key).
    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// The translator's TLB table for the current mode (0 EL0, 1 EL1, 2 EL1 with PAN).
    pub fn jit_mode(&self, el: u8) -> usize {
        if el == 0 {
            0
        } else if self.pan {
            2
        } else {
            1
        }
    }

    /// Whether the RAM page of `pa` holds cached code.
    pub fn is_code_page(&self, pa: u64) -> bool {
        let Some(off) = pa.checked_sub(RAM_BASE) else {
            return false;
        };
        let p = (off >> 12) as usize;
        self.code_pages
            .get(p / 64)
            .is_some_and(|w| (w >> (p % 64)) & 1 != 0)
    }

    /// Clears the code mark of the page of `pa`.
    pub fn clear_code_page(&mut self, pa: u64) {
        let Some(off) = pa.checked_sub(RAM_BASE) else {
            return;
        };
        let p = (off >> 12) as usize;
        if let Some(w) = self.code_pages.get_mut(p / 64) {
            *w &= !(1 << (p % 64));
        }
    }

    /// The PA of an instruction fetch at `va` (RAM only), or (IFSC, FAR).
    #[inline]
    pub fn fetch_pa(&mut self, va: u64) -> Result<u64, (u32, u64)> {
        let pa = match self.tlb.lookup_fast(va, self.asid, self.cls_x) {
            Some(pa) => pa,
            None => {
                self.tlb_misses += 1;
                let el = if self.cls_x == 6 { 0 } else { 1 };
                let acc = Access::new(AccessKind::Exec, el, self.pan);
                match self.tlb.translate(&self.regs, va, acc, &mut Ram(self.ram)) {
                    Ok((pa, _)) => pa,
                    Err(f) => return Err((f.fsc(), va)),
                }
            }
        };
        match pa.checked_sub(RAM_BASE) {
            Some(off) if off < self.ram.len() as u64 => Ok(pa),
            _ => Err((FSC_EXT_ABORT, va)),
        }
    }

    /// Translates `va` for IC IVAU (no fault reported).
    pub fn probe_pa(&mut self, va: u64) -> Option<u64> {
        let acc = Access {
            kind: AccessKind::Read,
            op: AccessOp::Dc,
            el: 1,
            pan: false,
            unaligned: false,
        };
        self.tlb
            .translate(&self.regs, va, acc, &mut Ram(self.ram))
            .ok()
            .map(|(pa, _)| pa)
    }

    /// TLBI op1, CRm, op2 with Xt; false: UNDEFINED.
    pub fn tlbi(&mut self, op1: u32, crm: u32, op2: u32, xt: u64) -> bool {
        if op1 != 0 || !(crm == 3 || crm == 7) {
            return false;
        }
        let op = match op2 {
            0 => TlbiOp::Vmalle1,
            1 => TlbiOp::Vae1,
            2 => TlbiOp::Aside1,
            3 => TlbiOp::Vaae1,
            5 => TlbiOp::Vale1,
            7 => TlbiOp::Vaale1,
            _ => return false,
        };
        self.tlb.tlbi(op, xt);
        true
    }

    /// AT S1E{1,0}{R,W} (op1 = 0, op2 0..3): sets PAR_EL1.
    pub fn at(&mut self, op2: u32, va: u64) -> Result<(), MmuFault> {
        let op = match op2 {
            0 => AtOp::S1E1R,
            1 => AtOp::S1E1W,
            2 => AtOp::S1E0R,
            _ => AtOp::S1E0W,
        };
        self.par = at_translate(&self.regs, va, op, &mut Ram(self.ram))?;
        Ok(())
    }

    /// PSTATE as saved in SPSR_EL1.
    fn pstate(&self, cpu: &Cpu) -> u64 {
        let m = (u64::from(cpu.el) << 2) | u64::from(cpu.el != 0 && self.spsel);
        u64::from(cpu.nzcv & 0xf000_0000)
            | (u64::from(self.pan) << 22)
            | u64::from(cpu.daif & 0x3c0)
            | m
    }
}

/// Takes an exception to EL1: `vtype` 0 sync, 1 IRQ, 2 FIQ, 3 SError; `esr`/`far` if the
/// kind reports them; `elr` the preferred return address.
pub fn take_exception(
    cpu: &mut Cpu,
    s: &mut Sys<'_>,
    vtype: u64,
    esr: Option<u32>,
    far: Option<u64>,
    elr: u64,
) {
    let base = if cpu.el == 0 {
        0x400
    } else if s.spsel {
        0x200
    } else {
        0
    };
    s.spsr = s.pstate(cpu);
    s.elr = elr;
    if let Some(e) = esr {
        s.esr = u64::from(e);
    }
    if let Some(f) = far {
        s.far = f;
    }
    s.sp_switch(cpu, 1, true);
    cpu.daif = 0x3c0;
    if s.regs.sctlr & SCTLR_SPAN == 0 {
        s.pan = true;
    }
    cpu.monitor.clear();
    cpu.pc = (s.vbar & !0x7ff).wrapping_add(base + vtype * 0x80);
    s.update_mode(cpu);
}

/// ERET from EL1: restores PSTATE from SPSR_EL1 and PC from ELR_EL1.
pub fn eret(cpu: &mut Cpu, s: &mut Sys<'_>) {
    let spsr = s.spsr;
    let target = match spsr & 0x1f {
        0b00000 => Some((0, false)),
        0b00100 => Some((1, false)),
        0b00101 => Some((1, true)),
        _ => None,
    };
    cpu.monitor.clear();
    let Some((el, sp)) = target else {
        // Illegal exception return: PSTATE.IL would be set and the next instruction
        // takes an Illegal Execution State exception; take it at once.
        let pc = s.elr;
        take_exception(cpu, s, 0, Some(esr(EC_ILLEGAL, 0)), None, pc);
        return;
    };
    cpu.nzcv = (spsr as u32) & 0xf000_0000;
    cpu.daif = (spsr as u32) & 0x3c0;
    s.pan = spsr & (1 << 22) != 0;
    s.sp_switch(cpu, el, sp);
    cpu.pc = s.elr;
    s.update_mode(cpu);
}

/// The machine's view of memory and system registers while a block runs.
pub struct Env<'a, 'r> {
    /// System state.
    pub s: &'a mut Sys<'r>,
    /// The host.
    pub host: &'a mut dyn BoardHost,
}

#[inline(always)]
fn ram_read(ram: &[u8], off: usize, size: u8) -> Option<u128> {
    Some(match size {
        1 => u128::from(*ram.get(off)?),
        2 => {
            let b = ram.get(off..off + 2)?;
            u128::from(u16::from_le_bytes([b[0], b[1]]))
        }
        4 => {
            let b = ram.get(off..off + 4)?;
            u128::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        }
        8 => {
            let b: [u8; 8] = ram.get(off..off + 8)?.try_into().ok()?;
            u128::from(u64::from_le_bytes(b))
        }
        _ => {
            let b: [u8; 16] = ram.get(off..off + 16)?.try_into().ok()?;
            u128::from_le_bytes(b)
        }
    })
}

#[inline(always)]
fn ram_write(ram: &mut [u8], off: usize, size: u8, v: u128) -> bool {
    let n = size as usize;
    match ram.get_mut(off..off + n) {
        Some(d) => {
            d.copy_from_slice(&v.to_le_bytes()[..n]);
            true
        }
        None => false,
    }
}

impl Env<'_, '_> {
    fn fail(&mut self, f: FaultInfo) -> MemFault {
        self.s.fault = Some(f);
        MemFault::Unmapped {
            addr: f.va,
            write: f.wnr,
        }
    }

    /// One access that does not cross a page: translate, then RAM or MMIO.
    fn access_slow(
        &mut self,
        va: u64,
        attr: MemAttr,
        write: Option<u128>,
    ) -> Result<u128, MemFault> {
        let s = &mut *self.s;
        let el = if s.cls_r == 0 { 0 } else { 1 };
        let size = u64::from(attr.size);
        let acc = Access {
            kind: if write.is_some() {
                AccessKind::Write
            } else {
                AccessKind::Read
            },
            op: if attr.unpriv {
                AccessOp::Unpriv
            } else {
                AccessOp::Normal
            },
            el,
            pan: s.pan,
            unaligned: size > 1 && va & (size - 1) != 0,
        };
        s.tlb_misses += 1;
        let pa = match s.tlb.translate(&s.regs, va, acc, &mut Ram(s.ram)) {
            Ok((pa, _)) => pa,
            Err(f) => {
                let fi = FaultInfo {
                    va,
                    fsc: f.fsc(),
                    wnr: f.wnr,
                    cm: f.cm,
                };
                return Err(self.fail(fi));
            }
        };
        let wnr = write.is_some();
        let ext = FaultInfo {
            va,
            fsc: FSC_EXT_ABORT,
            wnr,
            cm: false,
        };
        if let Some(off) = pa.checked_sub(RAM_BASE) {
            if off + size <= s.ram.len() as u64 {
                let off = off as usize;
                return match write {
                    None => ram_read(s.ram, off, attr.size).ok_or(MemFault::Unmapped {
                        addr: va,
                        write: false,
                    }),
                    Some(v) => {
                        s.note_code_write(pa);
                        ram_write(s.ram, off, attr.size, v);
                        Ok(0)
                    }
                };
            }
        }
        if attr.size > 8 {
            return Err(self.fail(ext));
        }
        s.mmio_count += 1;
        s.mmio_exit = true;
        let now = self.host.counter();
        s.platform.set_now(now);
        match write {
            None => match s.platform.mmio_read(pa, attr.size) {
                Some(v) => Ok(u128::from(v)),
                None => Err(self.fail(ext)),
            },
            Some(v) => {
                if !s.platform.mmio_write(pa, attr.size, v as u64) {
                    return Err(self.fail(ext));
                }
                if let Some((slot, ev)) = s.platform.take_virtio_event() {
                    let (irq, broken) = self.host.virtio_event(slot, &ev);
                    s.platform.virtio_complete(slot, irq, broken);
                }
                if s.platform.uart.has_output() {
                    s.out.clear();
                    s.platform.uart.take_output(&mut s.out);
                    self.host.console_write(&s.out);
                }
                s.timer_dirty = true;
                Ok(0)
            }
        }
    }

    /// An access that crosses a page: byte by byte (each byte translated).
    fn access_split(
        &mut self,
        va: u64,
        attr: MemAttr,
        write: Option<u128>,
    ) -> Result<u128, MemFault> {
        // Check every byte's translation first so a fault leaves memory untouched.
        let n = u64::from(attr.size);
        let mut b1 = attr;
        b1.size = 1;
        if write.is_some() {
            for i in 0..n {
                self.access_slow(va.wrapping_add(i), b1, None)?;
            }
        }
        let mut r = 0u128;
        for i in 0..n {
            let a = va.wrapping_add(i);
            match write {
                None => r |= self.access_slow(a, b1, None)? << (8 * i),
                Some(v) => {
                    self.access_slow(a, b1, Some((v >> (8 * i)) & 0xff))?;
                }
            }
        }
        Ok(r)
    }
}

impl Sys<'_> {
    #[inline(always)]
    fn note_code_write(&mut self, pa: u64) {
        let p = ((pa - RAM_BASE) >> 12) as usize;
        if let Some(w) = self.code_pages.get(p / 64) {
            if (w >> (p % 64)) & 1 != 0 {
                self.dirty_code.push(pa & !0xfff);
                self.code_pages[p / 64] &= !(1 << (p % 64));
            }
        }
    }
}

impl Memory for Env<'_, '_> {
    #[inline]
    fn read(&mut self, va: u64, attr: MemAttr) -> Result<u128, MemFault> {
        let size = u64::from(attr.size);
        if (va & 0xfff) + size <= 0x1000 {
            let s = &*self.s;
            let cls = if attr.unpriv { 0 } else { s.cls_r };
            if let Some(pa) = s.tlb.lookup_fast(va, s.asid, cls) {
                let off = pa.wrapping_sub(RAM_BASE);
                if off < s.ram.len() as u64 {
                    if let Some(v) = ram_read(s.ram, off as usize, attr.size) {
                        return Ok(v);
                    }
                }
            }
            return self.access_slow(va, attr, None);
        }
        self.access_split(va, attr, None)
    }

    #[inline]
    fn write(&mut self, va: u64, val: u128, attr: MemAttr) -> Result<(), MemFault> {
        let size = u64::from(attr.size);
        if (va & 0xfff) + size <= 0x1000 {
            let s = &mut *self.s;
            let cls = if attr.unpriv { 3 } else { s.cls_w };
            if let Some(pa) = s.tlb.lookup_fast(va, s.asid, cls) {
                let off = pa.wrapping_sub(RAM_BASE);
                if off < s.ram.len() as u64 {
                    s.note_code_write(pa);
                    if ram_write(s.ram, off as usize, attr.size, val) {
                        return Ok(());
                    }
                }
            }
            return self.access_slow(va, attr, Some(val)).map(|_| ());
        }
        self.access_split(va, attr, Some(val)).map(|_| ())
    }

    fn cntvct(&mut self) -> u64 {
        let now = self.host.counter();
        self.s.platform.timer_read(TimerReg::Cntvct, now)
    }

    fn cntfrq(&mut self) -> u64 {
        u64::from(self.s.counter_hz)
    }

    fn sys_read(&mut self, cpu: &mut Cpu, k: u32) -> Option<u64> {
        if cpu.el == 0 {
            return None;
        }
        let s = &mut *self.s;
        let (op0, op1, crn, crm, op2) = a64::sysreg::unkey(k);
        if let Some(t) =
            TimerReg::from_encoding(op0 as u8, op1 as u8, crn as u8, crm as u8, op2 as u8)
        {
            let now = self.host.counter();
            return Some(s.platform.timer_read(t, now));
        }
        Some(match k {
            KEY_SPSEL => u64::from(s.spsel),
            KEY_PAN => u64::from(s.pan) << 22,
            _ if k == key(3, 0, 1, 0, 0) => s.regs.sctlr,
            _ if k == key(3, 0, 1, 0, 1) => 0, // ACTLR_EL1
            _ if k == key(3, 0, 1, 0, 2) => s.cpacr,
            _ if k == key(3, 0, 2, 0, 0) => s.regs.ttbr0,
            _ if k == key(3, 0, 2, 0, 1) => s.regs.ttbr1,
            _ if k == key(3, 0, 2, 0, 2) => s.regs.tcr,
            _ if k == key(3, 0, 4, 0, 0) => s.spsr,
            _ if k == key(3, 0, 4, 0, 1) => s.elr,
            _ if k == key(3, 0, 4, 1, 0) => {
                if !s.spsel {
                    return None;
                }
                s.sp_other
            }
            _ if k == key(3, 0, 5, 1, 0) => s.afsr0,
            _ if k == key(3, 0, 5, 1, 1) => s.afsr1,
            _ if k == key(3, 0, 5, 2, 0) => s.esr,
            _ if k == key(3, 0, 6, 0, 0) => s.far,
            _ if k == key(3, 0, 7, 4, 0) => s.par,
            _ if k == key(3, 0, 10, 2, 0) => s.regs.mair,
            _ if k == key(3, 0, 10, 3, 0) => s.amair,
            _ if k == key(3, 0, 12, 0, 0) => s.vbar,
            _ if k == key(3, 0, 12, 1, 0) => {
                (u64::from(s.platform.irq_line()) << 7) | (u64::from(s.platform.fiq_line()) << 6)
            }
            _ if k == key(3, 0, 13, 0, 1) => s.contextidr,
            _ if k == key(3, 0, 13, 0, 4) => s.tpidr_el1,
            // CCSIDR_EL1 (for CSSELR): L1D 32K 2-way 64B lines, L1I 48K, L2 1M 16-way.
            _ if k == key(3, 1, 0, 0, 0) => match s.csselr & 0xf {
                0 => 0x7003_e01a,
                1 => 0x2007_e01a,
                2 => 0x703f_e07a,
                _ => 0,
            },
            _ if k == key(3, 1, 0, 0, 1) => 0x0a20_0023, // CLIDR_EL1: L1 I+D, L2 unified
            _ if k == key(3, 1, 0, 0, 7) => 0,           // AIDR_EL1
            _ if k == key(3, 2, 0, 0, 0) => s.csselr,
            // AArch32 ID registers (ID_PFR0.. MVFR2): RAZ (no AArch32).
            _ if op0 == 3 && op1 == 0 && crn == 0 && (1..=3).contains(&crm) => 0,
            // Debug: MDSCR_EL1, MDCCINT_EL1, OSLSR_EL1, the rest RAZ.
            _ if k == key(2, 0, 0, 2, 2) => s.mdscr,
            _ if k == key(2, 0, 0, 2, 0) => s.mdccint,
            _ if k == key(2, 0, 1, 1, 4) => 0b1000,
            _ if op0 == 2 && op1 == 0 && (crn == 0 || crn == 1) => 0,
            _ if k == key(2, 3, 0, 1, 0) => 0, // MDCCSR_EL0
            _ => return None,
        })
    }

    fn sys_write(&mut self, cpu: &mut Cpu, k: u32, v: u64) -> bool {
        if cpu.el == 0 {
            return false;
        }
        let s = &mut *self.s;
        let (op0, op1, crn, crm, op2) = a64::sysreg::unkey(k);
        if let Some(t) =
            TimerReg::from_encoding(op0 as u8, op1 as u8, crn as u8, crm as u8, op2 as u8)
        {
            let now = self.host.counter();
            s.platform.timer_write(t, v, now);
            s.timer_dirty = true;
            return true;
        }
        let mut mode = false;
        match k {
            KEY_SPSEL => {
                s.sp_switch(cpu, cpu.el, v & 1 != 0);
            }
            KEY_PAN => {
                s.pan = v & (1 << 22) != 0;
                mode = true;
            }
            _ if k == key(3, 0, 1, 0, 0) => {
                s.regs.sctlr = v;
                mode = true;
            }
            _ if k == key(3, 0, 1, 0, 1) => {}
            _ if k == key(3, 0, 1, 0, 2) => s.cpacr = v & (3 << 20),
            _ if k == key(3, 0, 2, 0, 0) => {
                s.regs.ttbr0 = v;
                mode = true;
            }
            _ if k == key(3, 0, 2, 0, 1) => {
                s.regs.ttbr1 = v;
                mode = true;
            }
            _ if k == key(3, 0, 2, 0, 2) => {
                s.regs.tcr = v;
                mode = true;
            }
            _ if k == key(3, 0, 4, 0, 0) => s.spsr = v,
            _ if k == key(3, 0, 4, 0, 1) => s.elr = v,
            _ if k == key(3, 0, 4, 1, 0) => {
                if !s.spsel {
                    return false;
                }
                s.sp_other = v;
            }
            _ if k == key(3, 0, 5, 1, 0) => s.afsr0 = v,
            _ if k == key(3, 0, 5, 1, 1) => s.afsr1 = v,
            _ if k == key(3, 0, 5, 2, 0) => s.esr = v & 0xffff_ffff,
            _ if k == key(3, 0, 6, 0, 0) => s.far = v,
            _ if k == key(3, 0, 7, 4, 0) => s.par = v,
            _ if k == key(3, 0, 10, 2, 0) => {
                s.regs.mair = v;
                mode = true;
            }
            _ if k == key(3, 0, 10, 3, 0) => s.amair = v,
            _ if k == key(3, 0, 12, 0, 0) => s.vbar = v & !0x7ff,
            _ if k == key(3, 0, 13, 0, 1) => s.contextidr = v & 0xffff_ffff,
            _ if k == key(3, 0, 13, 0, 4) => s.tpidr_el1 = v,
            _ if k == key(3, 2, 0, 0, 0) => s.csselr = v & 0xf,
            _ if k == key(2, 0, 0, 2, 2) => s.mdscr = v,
            _ if k == key(2, 0, 0, 2, 0) => s.mdccint = v,
            // OSLAR, OSDLR, DBGPRCR, breakpoints/watchpoints, other debug: WI.
            _ if op0 == 2 && op1 == 0 && (crn == 0 || crn == 1) => {}
            _ => return false,
        }
        if mode {
            s.update_mode(cpu);
        }
        true
    }
}

impl jit::JitMemory for Env<'_, '_> {
    fn host_page(&mut self, va: u64, kind: u8) -> Option<*mut u8> {
        let s = &mut *self.s;
        let cls = match kind {
            0 => s.cls_r,
            1 => s.cls_w,
            _ => s.cls_x,
        };
        let pa = s.tlb.lookup_fast(va, s.asid, cls)?;
        let off = pa.checked_sub(RAM_BASE)?;
        if off >= s.ram.len() as u64 {
            return None;
        }
        // Tagged addresses (TBI) take the slow path: a TLBI names canonical pages.
        if ((va << 8) as i64 >> 8) as u64 != va {
            return None;
        }
        if kind == 1 {
            let p = (off >> 12) as usize;
            if s.code_pages
                .get(p / 64)
                .is_none_or(|w| (w >> (p % 64)) & 1 != 0)
            {
                return None;
            }
        }
        let page = (off & !0xfff) as usize;
        Some(s.ram[page..].as_mut_ptr())
    }

    fn page_shift(&mut self, va: u64) -> u8 {
        self.s.page_shift(va)
    }

    fn exit_requested(&mut self) -> bool {
        let s = &*self.s;
        !s.dirty_code.is_empty() || s.timer_dirty || s.mmio_exit
    }

    fn maint(&mut self, ctx: &mut jit::rt::Ctx, kind: u8, raw: u32, xt: u64) -> bool {
        let s = &mut *self.s;
        if kind == 1 {
            // IC IVAU: nothing to do unless the page holds translated code.
            let done = s.probe_pa(xt).is_none_or(|pa| !s.is_code_page(pa));
            s.maint_inline[1] += u64::from(done);
            return done;
        }
        let (op1, crm, op2) = ((raw >> 16) & 7, (raw >> 8) & 15, (raw >> 5) & 7);
        if !s.tlbi(op1, crm, op2, xt) {
            return false;
        }
        s.maint_inline[0] += 1;
        sync_jit_tlb(ctx, s.tlb.take_pending());
        true
    }
}

/// Applies the software TLB's invalidations to the translator's TLB.
pub fn sync_jit_tlb(ctx: &mut jit::rt::Ctx, p: crate::mmu::tlb::Pending) -> bool {
    if p.full {
        ctx.flush_tlb();
        return true;
    }
    for &vpn in &p.vpns[..p.n] {
        ctx.invalidate_va(vpn << 12, p.large);
    }
    false
}
