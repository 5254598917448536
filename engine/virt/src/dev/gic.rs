//! GICv2 interrupt controller (Arm IHI 0048B) for one CPU, without the Security
//! Extensions -- what QEMU's `virt` board gives a guest without `secure=on`.
//!
//! * Interrupt groups are implemented (GICv2 always has `GICD_IGROUPR`); with no Security
//!   Extensions both groups are visible to the one (Secure-view) software, group 0 is
//!   signalled as FIQ only when `GICC_CTLR.FIQEn` is set, otherwise as IRQ. Linux leaves
//!   everything in group 0 with FIQEn clear, so everything is an IRQ.
//! * 8 priority bits, minimum binary point 0 (group 0) / 1 (group 1, `GICC_ABPR`).
//! * SGIs have a single source (CPU 0); `GICD_ITARGETSR` reads 0x01 for SGIs and PPIs and
//!   only bit 0 (CPU 0) is implemented for SPIs: an SPI whose target byte is 0 is never
//!   forwarded.
//! * Inputs: level-sensitive interrupts are pending while their line is high (plus a
//!   software latch set by `GICD_ISPENDR`); edge-triggered ones latch pending on a rising
//!   edge or a [`Gic::pulse`].
//! * `GICC_EOIR` drops the running priority and deactivates, or only drops it when
//!   `GICC_CTLR.EOImodeS` (bit 9, what Linux calls EOImodeNS) is set; `GICC_DIR` then
//!   deactivates. Linux uses EOImode 0 unless it runs at EL2.
//!
//! Access rules: distributor registers are 32-bit, byte access works for the byte-wide
//! registers (`IPRIORITYR`, `ITARGETSR`, `CPENDSGIR`, `SPENDSGIR`) and is accepted on the
//! others too, applied to the addressed bytes only; an 8-byte access is two 32-bit ones;
//! `GICD_SGIR` takes 32-bit writes only. CPU interface registers are 32-bit only: other
//! sizes read as zero and are ignored (so a stray byte read cannot acknowledge an
//! interrupt). Reserved and unimplemented offsets are RAZ/WI, including `GICC_NSAPRn`,
//! `GICD_NSACRn`, `GICD_PPISR`/`SPISR` and writes to `GICC_APRn`.

use alloc::vec::Vec;

use super::lane;

/// Number of interrupt IDs: 32 SGIs/PPIs + 128 SPIs (`GICD_TYPER.ITLinesNumber` = 4).
pub const NUM_IRQS: usize = 160;
const WORDS: usize = NUM_IRQS / 32;

/// The spurious interrupt ID: nothing to acknowledge.
pub const SPURIOUS: u32 = 1023;
/// Returned by `GICC_IAR`/`GICC_HPPIR` when the highest-priority pending interrupt is a
/// group 1 interrupt and `GICC_CTLR.AckCtl` is clear.
pub const SPURIOUS_GROUP1: u32 = 1022;

const GICD_IIDR: u32 = 0x0000_043b;
const GICC_IIDR: u32 = 0x0002_043b;
/// `GICD_PIDR4..7`, `PIDR0..3`, `CIDR0..3` at 0xFD0..0xFFC (`PIDR2.ArchRev` = 2).
const GICD_ID: [u8; 12] = [
    0x04, 0x00, 0x00, 0x00, 0x90, 0xb4, 0x2b, 0x00, 0x0d, 0xf0, 0x05, 0xb1,
];

// GICC_CTLR bits (the layout without Security Extensions).
const CTLR_EN_GRP0: u32 = 1 << 0;
const CTLR_EN_GRP1: u32 = 1 << 1;
const CTLR_ACKCTL: u32 = 1 << 2;
const CTLR_FIQEN: u32 = 1 << 3;
const CTLR_CBPR: u32 = 1 << 4;
/// EOImodeS: split priority drop / deactivation for `GICC_EOIR`.
const CTLR_EOIMODE: u32 = 1 << 9;
/// EOImodeNS: the same for `GICC_AEOIR`.
const CTLR_EOIMODE_ALIAS: u32 = 1 << 10;
const GICC_CTLR_MASK: u32 = 0x7ff;

/// One acknowledged interrupt whose priority has not been dropped yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ActivePrio {
    intid: u16,
    /// The group priority it runs at.
    group_prio: u8,
}

/// Bitmap of one bit per interrupt ID.
type Bits = [u32; WORDS];

fn bit(b: &Bits, id: usize) -> bool {
    b[id / 32] & (1 << (id % 32)) != 0
}

fn set_bit(b: &mut Bits, id: usize, v: bool) {
    if v {
        b[id / 32] |= 1 << (id % 32);
    } else {
        b[id / 32] &= !(1 << (id % 32));
    }
}

/// The GICv2 distributor and the CPU interface of CPU 0.
pub struct Gic {
    // Distributor.
    dctlr: u32,
    group: Bits,
    enabled: Bits,
    /// Software / edge pending latch.
    latch: Bits,
    /// Input line levels.
    line: Bits,
    active: Bits,
    /// Edge-triggered configuration (`GICD_ICFGR` Int_config[1]).
    edge: Bits,
    priority: [u8; NUM_IRQS],
    /// SPI targets (bit 0 = CPU 0); SGIs and PPIs always target CPU 0.
    target: [u8; NUM_IRQS],
    // CPU interface.
    cctlr: u32,
    pmr: u8,
    bpr: u8,
    abpr: u8,
    /// Acknowledged interrupts whose priority is still held, oldest first.
    running: Vec<ActivePrio>,
    // Outputs, recomputed after every change.
    irq_out: bool,
    fiq_out: bool,
}

impl Default for Gic {
    fn default() -> Self {
        Self::new()
    }
}

impl Gic {
    /// The GIC at reset: everything disabled, group 0, priority 0, SPIs untargeted,
    /// SGIs edge-triggered, PPIs and SPIs level-sensitive.
    pub fn new() -> Self {
        let mut edge = [0; WORDS];
        edge[0] = 0xffff;
        Gic {
            dctlr: 0,
            group: [0; WORDS],
            enabled: [0; WORDS],
            latch: [0; WORDS],
            line: [0; WORDS],
            active: [0; WORDS],
            edge,
            priority: [0; NUM_IRQS],
            target: [0; NUM_IRQS],
            cctlr: 0,
            pmr: 0,
            bpr: 0,
            abpr: 1,
            running: Vec::new(),
            irq_out: false,
            fiq_out: false,
        }
    }

    // ---- inputs -------------------------------------------------------------------

    /// Drives the input line of a PPI or SPI (`intid` 16..NUM_IRQS; others are ignored).
    /// Level-sensitive: pending follows the line. Edge-triggered: a rising edge latches
    /// pending.
    pub fn set_level(&mut self, intid: u32, level: bool) {
        let id = intid as usize;
        if !(16..NUM_IRQS).contains(&id) {
            return;
        }
        let was = bit(&self.line, id);
        if was == level {
            return;
        }
        set_bit(&mut self.line, id, level);
        if level && bit(&self.edge, id) {
            set_bit(&mut self.latch, id, true);
        }
        self.update();
    }

    /// An edge on a PPI or SPI input: latches it pending (`intid` 16..NUM_IRQS).
    pub fn pulse(&mut self, intid: u32) {
        let id = intid as usize;
        if (16..NUM_IRQS).contains(&id) {
            set_bit(&mut self.latch, id, true);
            self.update();
        }
    }

    /// The current level of an input line.
    pub fn line_level(&self, intid: u32) -> bool {
        (intid as usize) < NUM_IRQS && bit(&self.line, intid as usize)
    }

    /// Whether an interrupt is pending (latched or by its level-sensitive line).
    pub fn is_pending(&self, intid: u32) -> bool {
        let id = intid as usize;
        id < NUM_IRQS && self.pending(id)
    }

    /// Whether an interrupt is active.
    pub fn is_active(&self, intid: u32) -> bool {
        let id = intid as usize;
        id < NUM_IRQS && bit(&self.active, id)
    }

    // ---- outputs ------------------------------------------------------------------

    /// The CPU's IRQ input.
    pub fn irq_line(&self) -> bool {
        self.irq_out
    }

    /// The CPU's FIQ input (group 0 interrupts with `GICC_CTLR.FIQEn`).
    pub fn fiq_line(&self) -> bool {
        self.fiq_out
    }

    // ---- state helpers ------------------------------------------------------------

    fn pending(&self, id: usize) -> bool {
        bit(&self.latch, id) || (!bit(&self.edge, id) && bit(&self.line, id))
    }

    fn group_of(&self, id: usize) -> u32 {
        u32::from(bit(&self.group, id))
    }

    /// The group priority of `prio` for an interrupt of `group` (binary point).
    fn group_prio(&self, prio: u8, group: u32) -> u8 {
        let mask: u8 = if group == 1 && self.cctlr & CTLR_CBPR == 0 {
            0xffu8.checked_shl(u32::from(self.abpr)).unwrap_or(0)
        } else {
            0xffu8.checked_shl(u32::from(self.bpr) + 1).unwrap_or(0)
        };
        prio & mask
    }

    /// The running priority: the group priority of the highest-priority interrupt whose
    /// priority is held, or 0x100 when idle.
    fn running_prio(&self) -> u16 {
        self.running
            .iter()
            .map(|a| u16::from(a.group_prio))
            .min()
            .unwrap_or(0x100)
    }

    /// The highest-priority interrupt the distributor forwards to CPU 0: pending, enabled,
    /// not active, its group enabled in `GICD_CTLR`, targeting CPU 0. Ties go to the lowest
    /// ID.
    fn best_pending(&self) -> Option<usize> {
        let mut best: Option<(u8, usize)> = None;
        for w in 0..WORDS {
            let level = self.line[w] & !self.edge[w];
            let mut cand = (self.latch[w] | level) & self.enabled[w] & !self.active[w];
            while cand != 0 {
                let id = w * 32 + cand.trailing_zeros() as usize;
                cand &= cand - 1;
                if self.dctlr & (1 << self.group_of(id)) == 0 {
                    continue;
                }
                if id >= 32 && self.target[id] & 1 == 0 {
                    continue;
                }
                let p = self.priority[id];
                if best.is_none_or(|(bp, _)| p < bp) {
                    best = Some((p, id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    /// Whether the CPU interface signals `id` to the processor: its group enabled in
    /// `GICC_CTLR`, priority above `GICC_PMR` and group priority above the running
    /// priority.
    fn signalable(&self, id: usize) -> bool {
        let group = self.group_of(id);
        let en = if group == 0 {
            CTLR_EN_GRP0
        } else {
            CTLR_EN_GRP1
        };
        let prio = self.priority[id];
        self.cctlr & en != 0
            && prio < self.pmr
            && u16::from(self.group_prio(prio, group)) < self.running_prio()
    }

    fn update(&mut self) {
        self.irq_out = false;
        self.fiq_out = false;
        if let Some(id) = self.best_pending() {
            if self.signalable(id) {
                if self.group_of(id) == 0 && self.cctlr & CTLR_FIQEN != 0 {
                    self.fiq_out = true;
                } else {
                    self.irq_out = true;
                }
            }
        }
    }

    /// `GICC_IAR` (`alias` false) or `GICC_AIAR` (`alias` true).
    fn acknowledge(&mut self, alias: bool) -> u32 {
        let Some(id) = self.best_pending() else {
            return SPURIOUS;
        };
        let group = self.group_of(id);
        if alias && group == 0 {
            return SPURIOUS;
        }
        if !alias && group == 1 && self.cctlr & CTLR_ACKCTL == 0 {
            return SPURIOUS_GROUP1;
        }
        if !self.signalable(id) {
            return SPURIOUS;
        }
        set_bit(&mut self.latch, id, false);
        set_bit(&mut self.active, id, true);
        let group_prio = self.group_prio(self.priority[id], group);
        self.running.push(ActivePrio {
            intid: id as u16,
            group_prio,
        });
        self.update();
        // SGIs carry their source CPU in bits [12:10]: always CPU 0 here.
        id as u32
    }

    /// `GICC_HPPIR` / `GICC_AHPPIR`.
    fn highest_pending(&self, alias: bool) -> u32 {
        let Some(id) = self.best_pending() else {
            return SPURIOUS;
        };
        match (alias, self.group_of(id)) {
            (true, 0) => SPURIOUS,
            (false, 1) if self.cctlr & CTLR_ACKCTL == 0 => SPURIOUS_GROUP1,
            _ => id as u32,
        }
    }

    /// `GICC_EOIR` (`alias` false) / `GICC_AEOIR` (`alias` true): priority drop, plus
    /// deactivation unless the register's EOImode bit is set (without Security Extensions
    /// `EOImodeS`, bit 9, governs `GICC_EOIR` and `EOImodeNS`, bit 10, `GICC_AEOIR`). An
    /// EOI for an interrupt whose priority is not held is ignored.
    fn end_of_interrupt(&mut self, value: u32, alias: bool) {
        let id = (value & 0x3ff) as usize;
        if id >= NUM_IRQS {
            return;
        }
        let Some(pos) = self.running.iter().rposition(|a| a.intid as usize == id) else {
            return;
        };
        self.running.remove(pos);
        let eoimode = if alias {
            CTLR_EOIMODE_ALIAS
        } else {
            CTLR_EOIMODE
        };
        if self.cctlr & eoimode == 0 {
            set_bit(&mut self.active, id, false);
        }
        self.update();
    }

    /// `GICC_DIR`: deactivate.
    fn deactivate(&mut self, value: u32) {
        let id = (value & 0x3ff) as usize;
        if id < NUM_IRQS {
            set_bit(&mut self.active, id, false);
            self.update();
        }
    }

    /// `GICC_APRn`: one bit per held preemption level (group priority >> 1).
    fn apr(&self, n: usize) -> u32 {
        let mut v = 0;
        for a in &self.running {
            let level = usize::from(a.group_prio >> 1);
            if level / 32 == n {
                v |= 1 << (level % 32);
            }
        }
        v
    }

    // ---- distributor registers ----------------------------------------------------

    /// A guest read of the distributor window (offset from `GICD_BASE`).
    pub fn dist_read(&mut self, offset: u64, size: u8) -> u64 {
        if size == 8 {
            if !offset.is_multiple_of(8) {
                return 0;
            }
            let lo = self.dist_read(offset, 4);
            let hi = self.dist_read(offset + 4, 4);
            return lo | (hi << 32);
        }
        let Some(l) = lane(offset, size) else {
            return 0;
        };
        u64::from((self.dist_read_word(l.word) & l.mask) >> l.shift)
    }

    /// A guest write of the distributor window.
    pub fn dist_write(&mut self, offset: u64, size: u8, value: u64) {
        if size == 8 {
            if offset.is_multiple_of(8) {
                self.dist_write(offset, 4, value & 0xffff_ffff);
                self.dist_write(offset + 4, 4, value >> 32);
            }
            return;
        }
        let Some(l) = lane(offset, size) else {
            return;
        };
        let v = ((value as u32) << l.shift) & l.mask;
        self.dist_write_word(l.word, v, l.mask);
        self.update();
    }

    fn bits_word(b: &Bits, off: u64, base: u64) -> u32 {
        let n = ((off - base) / 4) as usize;
        b.get(n).copied().unwrap_or(0)
    }

    fn dist_read_word(&self, off: u64) -> u32 {
        match off {
            0x000 => self.dctlr,
            0x004 => (WORDS as u32 - 1) & 0x1f,
            0x008 => GICD_IIDR,
            0x080..=0x0fc => Self::bits_word(&self.group, off, 0x080),
            0x100..=0x17c => Self::bits_word(&self.enabled, off, 0x100),
            0x180..=0x1fc => Self::bits_word(&self.enabled, off, 0x180),
            0x200..=0x2fc => {
                let n = ((off & 0x7f) / 4) as usize;
                if n >= WORDS {
                    return 0;
                }
                let level = self.line[n] & !self.edge[n];
                self.latch[n] | level
            }
            0x300..=0x37c => Self::bits_word(&self.active, off, 0x300),
            0x380..=0x3fc => Self::bits_word(&self.active, off, 0x380),
            0x400..=0x7fc => self.bytes_word(off - 0x400, |g, id| g.priority[id]),
            0x800..=0xbfc => {
                self.bytes_word(off - 0x800, |g, id| if id < 32 { 1 } else { g.target[id] })
            }
            0xc00..=0xcfc => {
                let first = ((off - 0xc00) * 4) as usize;
                let mut v = 0;
                for i in 0..16 {
                    let id = first + i;
                    if id < NUM_IRQS && bit(&self.edge, id) {
                        v |= 2 << (2 * i);
                    }
                }
                v
            }
            0xf10..=0xf1c | 0xf20..=0xf2c => {
                let first = (off & 0xf) as usize;
                let mut v = 0;
                for i in 0..4 {
                    if bit(&self.latch, first + i) {
                        v |= 1 << (8 * i);
                    }
                }
                v
            }
            0xfd0..=0xffc => u32::from(GICD_ID[((off - 0xfd0) / 4) as usize]),
            _ => 0,
        }
    }

    fn bytes_word(&self, rel: u64, f: impl Fn(&Self, usize) -> u8) -> u32 {
        let first = rel as usize;
        let mut v = 0;
        for i in 0..4 {
            let id = first + i;
            if id < NUM_IRQS {
                v |= u32::from(f(self, id)) << (8 * i);
            }
        }
        v
    }

    /// Applies a set- or clear-style write of `v` to the 32 bits of `b` at register `n`.
    fn set_clear(b: &mut Bits, n: usize, v: u32, set: bool, writable: u32) {
        if let Some(w) = b.get_mut(n) {
            if set {
                *w |= v & writable;
            } else {
                *w &= !(v & writable);
            }
        }
    }

    fn dist_write_word(&mut self, off: u64, v: u32, mask: u32) {
        let n = ((off & 0x7f) / 4) as usize;
        // SGI pending state lives in CPENDSGIR/SPENDSGIR, not ISPENDR/ICPENDR.
        let pend_writable = if n == 0 { 0xffff_0000 } else { !0 };
        match off {
            0x000 => self.dctlr = (self.dctlr & !mask) | (v & 0x3),
            0x080..=0x0fc => {
                if let Some(w) = self.group.get_mut(n) {
                    *w = (*w & !mask) | v;
                }
            }
            0x100..=0x17c => Self::set_clear(&mut self.enabled, n, v, true, !0),
            0x180..=0x1fc => Self::set_clear(&mut self.enabled, n, v, false, !0),
            0x200..=0x27c => Self::set_clear(&mut self.latch, n, v, true, pend_writable),
            0x280..=0x2fc => Self::set_clear(&mut self.latch, n, v, false, pend_writable),
            0x300..=0x37c => Self::set_clear(&mut self.active, n, v, true, !0),
            0x380..=0x3fc => Self::set_clear(&mut self.active, n, v, false, !0),
            0x400..=0x7fc => {
                let first = (off - 0x400) as usize;
                for i in 0..4 {
                    if mask & (0xff << (8 * i)) != 0 && first + i < NUM_IRQS {
                        self.priority[first + i] = (v >> (8 * i)) as u8;
                    }
                }
            }
            0x800..=0xbfc => {
                let first = (off - 0x800) as usize;
                for i in 0..4 {
                    let id = first + i;
                    if mask & (0xff << (8 * i)) != 0 && (32..NUM_IRQS).contains(&id) {
                        self.target[id] = ((v >> (8 * i)) as u8) & 1;
                    }
                }
            }
            0xc00..=0xcfc => {
                let first = ((off - 0xc00) * 4) as usize;
                for i in 0..16 {
                    let id = first + i;
                    // SGI configuration is fixed (edge); only Int_config[1] exists.
                    if !(16..NUM_IRQS).contains(&id) || mask & (2 << (2 * i)) == 0 {
                        continue;
                    }
                    set_bit(&mut self.edge, id, v & (2 << (2 * i)) != 0);
                }
            }
            0xf00 if mask == !0 => self.sgir(v),
            0xf10..=0xf1c | 0xf20..=0xf2c => {
                let set = off >= 0xf20;
                let first = (off & 0xf) as usize;
                for i in 0..4 {
                    if v & (1 << (8 * i)) != 0 {
                        set_bit(&mut self.latch, first + i, set);
                    }
                }
            }
            _ => {}
        }
    }

    /// `GICD_SGIR`: software-generated interrupts; only CPU 0 exists.
    fn sgir(&mut self, v: u32) {
        let id = (v & 0xf) as usize;
        let to_self = match (v >> 24) & 3 {
            0 => (v >> 16) & 1 != 0,
            2 => true,
            _ => false,
        };
        if to_self {
            set_bit(&mut self.latch, id, true);
        }
    }

    // ---- CPU interface registers --------------------------------------------------

    /// A guest read of the CPU interface window (offset from `GICC_BASE`).
    pub fn cpu_read(&mut self, offset: u64, size: u8) -> u64 {
        if size != 4 || !offset.is_multiple_of(4) {
            return 0;
        }
        let v = match offset {
            0x00 => self.cctlr,
            0x04 => u32::from(self.pmr),
            0x08 => u32::from(self.bpr),
            0x0c => self.acknowledge(false),
            0x14 => u32::from(self.running_prio().min(0xff) as u8),
            0x18 => self.highest_pending(false),
            0x1c => u32::from(self.abpr),
            0x20 => self.acknowledge(true),
            0x28 => self.highest_pending(true),
            0xd0..=0xdc => self.apr(((offset - 0xd0) / 4) as usize),
            0xfc => GICC_IIDR,
            _ => 0,
        };
        u64::from(v)
    }

    /// A guest write of the CPU interface window.
    pub fn cpu_write(&mut self, offset: u64, size: u8, value: u64) {
        if size != 4 || !offset.is_multiple_of(4) {
            return;
        }
        let v = value as u32;
        match offset {
            0x00 => self.cctlr = v & GICC_CTLR_MASK,
            0x04 => self.pmr = v as u8,
            0x08 => self.bpr = (v & 7) as u8,
            0x10 => self.end_of_interrupt(v, false),
            0x24 => self.end_of_interrupt(v, true),
            0x1c => self.abpr = ((v & 7) as u8).max(1),
            0x1000 => self.deactivate(v),
            _ => {}
        }
        self.update();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTLR: u64 = 0x000;
    const TYPER: u64 = 0x004;
    const ISENABLER: u64 = 0x100;
    const ICENABLER: u64 = 0x180;
    const ISPENDR: u64 = 0x200;
    const ICPENDR: u64 = 0x280;
    const ISACTIVER: u64 = 0x300;
    const ICACTIVER: u64 = 0x380;
    const IPRIORITYR: u64 = 0x400;
    const ITARGETSR: u64 = 0x800;
    const ICFGR: u64 = 0xc00;
    const SGIR: u64 = 0xf00;
    const IGROUPR: u64 = 0x080;

    const C_CTLR: u64 = 0x00;
    const PMR: u64 = 0x04;
    const BPR: u64 = 0x08;
    const IAR: u64 = 0x0c;
    const EOIR: u64 = 0x10;
    const RPR: u64 = 0x14;
    const HPPIR: u64 = 0x18;
    const ABPR: u64 = 0x1c;
    const AIAR: u64 = 0x20;
    const AEOIR: u64 = 0x24;
    const AHPPIR: u64 = 0x28;
    const APR0: u64 = 0xd0;
    const DIR: u64 = 0x1000;

    /// What Linux's irq-gic.c does at boot: gic_dist_init, gic_cpu_init, gic_cpu_if_up.
    fn linux_gic() -> Gic {
        let mut g = Gic::new();
        g.dist_write(CTLR, 4, 0);
        let typer = g.dist_read(TYPER, 4);
        let lines = ((typer & 0x1f) + 1) * 32;
        // gic_get_cpumask: OR of the first 8 target words, folded to a byte.
        let mut mask = 0;
        for i in 0..8 {
            mask |= g.dist_read(ITARGETSR + 4 * i, 4) as u32;
        }
        mask |= mask >> 16;
        mask |= mask >> 8;
        let cpumask = u64::from(mask & 0xff) * 0x0101_0101;
        for i in (32..lines).step_by(4) {
            g.dist_write(ITARGETSR + i, 4, cpumask);
        }
        for i in (32..lines).step_by(16) {
            g.dist_write(ICFGR + i / 4, 4, 0);
        }
        for i in (32..lines).step_by(4) {
            g.dist_write(IPRIORITYR + i, 4, 0xa0a0_a0a0);
        }
        for i in (32..lines).step_by(32) {
            g.dist_write(ICACTIVER + i / 8, 4, 0xffff_ffff);
            g.dist_write(ICENABLER + i / 8, 4, 0xffff_ffff);
        }
        g.dist_write(CTLR, 4, 1);
        // gic_cpu_config
        g.dist_write(ICACTIVER, 4, 0xffff_ffff);
        g.dist_write(ICENABLER, 4, 0xffff_0000);
        g.dist_write(ISENABLER, 4, 0x0000_ffff);
        for i in (0..32).step_by(4) {
            g.dist_write(IPRIORITYR + i, 4, 0xa0a0_a0a0);
        }
        g.cpu_write(PMR, 4, 0xf0);
        let bypass = g.cpu_read(C_CTLR, 4) & 0x1e0;
        g.cpu_write(C_CTLR, 4, bypass | 1);
        g
    }

    fn enable(g: &mut Gic, id: u32) {
        g.dist_write(ISENABLER + u64::from(id / 32) * 4, 4, 1 << (id % 32));
    }

    #[test]
    fn id_registers() {
        let mut g = Gic::new();
        let typer = g.dist_read(TYPER, 4);
        assert_eq!(typer & 0x1f, 4, "ITLinesNumber: 160 interrupts");
        assert_eq!((typer >> 5) & 7, 0, "CPUNumber: one CPU");
        assert_eq!(typer & (1 << 10), 0, "no Security Extensions");
        assert_eq!(g.dist_read(0x008, 4), 0x43b);
        assert_eq!((g.dist_read(0xfe8, 4) >> 4) & 0xf, 2, "GICv2 ArchRev");
        assert_eq!(g.dist_read(0xff0, 4), 0x0d);
        assert_eq!(g.dist_read(0xffc, 4), 0xb1);
        assert_eq!(g.cpu_read(0xfc, 4), 0x0002_043b);
        // SGI/PPI targets read as CPU 0.
        for w in 0..8 {
            assert_eq!(g.dist_read(ITARGETSR + 4 * w, 4), 0x0101_0101);
        }
        // SGIs are edge-triggered and fixed.
        assert_eq!(g.dist_read(ICFGR, 4), 0xaaaa_aaaa);
        g.dist_write(ICFGR, 4, 0);
        assert_eq!(g.dist_read(ICFGR, 4), 0xaaaa_aaaa);
        assert_eq!(g.dist_read(ICFGR + 4, 4), 0);
        // Reset state of the CPU interface.
        assert_eq!(g.cpu_read(RPR, 4), 0xff);
        assert_eq!(g.cpu_read(IAR, 4), 1023);
        assert_eq!(g.cpu_read(BPR, 4), 0);
        assert_eq!(g.cpu_read(ABPR, 4), 1);
        // Out-of-range and reserved offsets are RAZ/WI.
        assert_eq!(g.dist_read(0x17c, 4), 0);
        g.dist_write(0x17c, 4, !0);
        assert_eq!(g.dist_read(0x17c, 4), 0);
        assert_eq!(g.dist_read(0xe00, 4), 0);
    }

    #[test]
    fn linux_boot_then_spi_level() {
        let mut g = linux_gic();
        assert!(!g.irq_line());
        assert_eq!(g.dist_read(ITARGETSR + 32, 4), 0x0101_0101);
        assert_eq!(g.dist_read(IPRIORITYR + 32, 1), 0xa0);
        enable(&mut g, 33);
        assert_eq!(g.dist_read(ISENABLER + 4, 4), 2);
        assert_eq!(g.dist_read(ICENABLER + 4, 4), 2);
        g.set_level(33, true);
        assert!(g.irq_line());
        assert_eq!(g.cpu_read(HPPIR, 4), 33);
        assert_eq!(g.cpu_read(IAR, 4), 33);
        assert_eq!(g.cpu_read(RPR, 4), 0xa0);
        // Active, and still pending while the line is high, but not signalled again.
        assert!(g.is_active(33));
        assert!(g.is_pending(33));
        assert_eq!(g.dist_read(ISACTIVER + 4, 4), 2);
        assert_eq!(g.dist_read(ISPENDR + 4, 4), 2);
        assert!(!g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 1023);
        // The device drops its line; EOI deactivates.
        g.set_level(33, false);
        assert!(!g.is_pending(33));
        g.cpu_write(EOIR, 4, 33);
        assert!(!g.is_active(33));
        assert_eq!(g.cpu_read(RPR, 4), 0xff);
        assert!(!g.irq_line());
    }

    #[test]
    fn level_still_high_at_eoi_fires_again() {
        let mut g = linux_gic();
        enable(&mut g, 40);
        g.set_level(40, true);
        assert_eq!(g.cpu_read(IAR, 4), 40);
        g.cpu_write(EOIR, 4, 40);
        assert!(g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 40);
    }

    #[test]
    fn masking_and_enables() {
        let mut g = linux_gic();
        g.set_level(34, true);
        assert!(!g.irq_line(), "disabled interrupt");
        enable(&mut g, 34);
        assert!(g.irq_line());
        // PMR at or below the priority masks it.
        g.cpu_write(PMR, 4, 0xa0);
        assert!(!g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 1023);
        assert_eq!(g.cpu_read(HPPIR, 4), 34, "HPPIR ignores the mask");
        g.cpu_write(PMR, 4, 0xf0);
        assert!(g.irq_line());
        // Distributor disable.
        g.dist_write(CTLR, 4, 0);
        assert!(!g.irq_line());
        assert_eq!(g.cpu_read(HPPIR, 4), 1023);
        g.dist_write(CTLR, 4, 1);
        // CPU interface disable.
        g.cpu_write(C_CTLR, 4, 0);
        assert!(!g.irq_line());
        g.cpu_write(C_CTLR, 4, 1);
        assert!(g.irq_line());
        // Untargeted SPI is not forwarded.
        g.dist_write(ITARGETSR + 34, 1, 0);
        assert!(!g.irq_line());
        g.dist_write(ITARGETSR + 34, 1, 0xff);
        assert_eq!(g.dist_read(ITARGETSR + 34, 1), 1);
        assert!(g.irq_line());
        g.dist_write(ICENABLER + 4, 4, 1 << 2);
        assert!(!g.irq_line());
    }

    #[test]
    fn edge_triggered_spi_and_pending_registers() {
        let mut g = linux_gic();
        // Configure INTID 35 as edge (Int_config[1] of field 3 in ICFGR2).
        g.dist_write(ICFGR + 8, 4, 2 << 6);
        assert_eq!(g.dist_read(ICFGR + 8, 4), 2 << 6);
        enable(&mut g, 35);
        g.set_level(35, true);
        g.set_level(35, false);
        assert!(g.is_pending(35));
        assert_eq!(g.cpu_read(IAR, 4), 35);
        assert!(!g.is_pending(35), "acknowledge clears an edge");
        g.pulse(35);
        assert!(g.is_pending(35));
        g.cpu_write(EOIR, 4, 35);
        assert_eq!(g.cpu_read(IAR, 4), 35);
        g.cpu_write(EOIR, 4, 35);
        assert_eq!(g.cpu_read(IAR, 4), 1023);
        // Software pending through ISPENDR / ICPENDR.
        g.dist_write(ISPENDR + 4, 4, 1 << 3);
        assert!(g.is_pending(35));
        g.dist_write(ICPENDR + 4, 4, 1 << 3);
        assert!(!g.is_pending(35));
        // ICPENDR does not clear a level-sensitive input whose line is high.
        enable(&mut g, 36);
        g.set_level(36, true);
        g.dist_write(ICPENDR + 4, 4, 1 << 4);
        assert!(g.is_pending(36));
        // ISPENDR on a level interrupt latches until acknowledged.
        g.set_level(36, false);
        g.dist_write(ISPENDR + 4, 4, 1 << 4);
        assert_eq!(g.cpu_read(IAR, 4), 36);
        assert!(!g.is_pending(36));
    }

    #[test]
    fn priority_order_and_preemption() {
        let mut g = linux_gic();
        for id in [40, 41, 42] {
            enable(&mut g, id);
        }
        g.dist_write(IPRIORITYR + 40, 1, 0xa0);
        g.dist_write(IPRIORITYR + 41, 1, 0x80);
        g.dist_write(IPRIORITYR + 42, 1, 0x80);
        assert_eq!(g.dist_read(IPRIORITYR + 40, 4), 0xa080_80a0);
        g.pulse(40);
        g.pulse(42);
        g.pulse(41);
        // Highest priority first, ties to the lowest ID.
        assert_eq!(g.cpu_read(IAR, 4), 41);
        // Equal priority does not preempt; lower priority neither.
        assert!(!g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 1023);
        // Something higher does.
        enable(&mut g, 43);
        g.dist_write(IPRIORITYR + 43, 1, 0x40);
        g.pulse(43);
        assert!(g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 43);
        assert_eq!(g.cpu_read(RPR, 4), 0x40);
        // Preemption levels 0x20 (43) and 0x40 (41): bit 0 of APR1 and APR2.
        assert_eq!(g.cpu_read(APR0, 4), 0);
        assert_eq!(g.cpu_read(APR0 + 4, 4), 1);
        assert_eq!(g.cpu_read(APR0 + 8, 4), 1);
        g.cpu_write(EOIR, 4, 43);
        assert_eq!(g.cpu_read(RPR, 4), 0x80);
        g.cpu_write(EOIR, 4, 41);
        assert_eq!(g.cpu_read(IAR, 4), 42);
        g.cpu_write(EOIR, 4, 42);
        assert_eq!(g.cpu_read(IAR, 4), 40);
        g.cpu_write(EOIR, 4, 40);
        assert_eq!(g.cpu_read(RPR, 4), 0xff);
        assert_eq!(g.cpu_read(APR0 + 4, 4), 0);
        assert_eq!(g.cpu_read(APR0 + 8, 4), 0);
    }

    #[test]
    fn binary_point_groups_priorities() {
        let mut g = linux_gic();
        enable(&mut g, 40);
        enable(&mut g, 41);
        g.dist_write(IPRIORITYR + 40, 1, 0x84);
        g.dist_write(IPRIORITYR + 41, 1, 0x80);
        g.cpu_write(BPR, 4, 3); // group priority = bits [7:4]
        assert_eq!(g.cpu_read(BPR, 4), 3);
        g.pulse(40);
        assert_eq!(g.cpu_read(IAR, 4), 40);
        assert_eq!(g.cpu_read(RPR, 4), 0x80);
        g.pulse(41);
        assert!(!g.irq_line(), "same group priority: no preemption");
        g.cpu_write(EOIR, 4, 40);
        assert!(g.irq_line());
    }

    #[test]
    fn sgis_to_self() {
        let mut g = linux_gic();
        // Linux's gic_ipi_send_mask: CPU target list from gic_cpu_map (0x01).
        g.dist_write(SGIR, 4, (1 << 16) | 5);
        assert!(g.irq_line());
        assert_eq!(g.dist_read(0xf14, 4), 1 << 8, "SPENDSGIR1 byte for SGI 5");
        assert_eq!(g.dist_read(ISPENDR, 4), 1 << 5);
        assert_eq!(g.cpu_read(IAR, 4), 5, "source CPU 0 in bits [12:10]");
        g.cpu_write(EOIR, 4, 5);
        assert!(!g.is_active(5));
        // Filter 2: to self; filter 1: to others (nobody); list without CPU 0: nobody.
        g.dist_write(SGIR, 4, (2 << 24) | 7);
        assert!(g.is_pending(7));
        g.dist_write(SGIR, 4, (1 << 24) | 8);
        g.dist_write(SGIR, 4, (2 << 16) | 9);
        assert!(!g.is_pending(8) && !g.is_pending(9));
        // SGIR ignores sub-word writes.
        g.dist_write(SGIR, 2, 10);
        assert!(!g.is_pending(10));
        // CPENDSGIR clears, SPENDSGIR sets; ISPENDR/ICPENDR do not touch SGIs.
        g.dist_write(0xf10 + 4, 4, 1 << 24);
        assert!(!g.is_pending(7));
        g.dist_write(0xf20, 1, 1);
        assert!(g.is_pending(0));
        g.dist_write(ICPENDR, 4, 1);
        assert!(g.is_pending(0));
        g.dist_write(ISPENDR, 4, 2);
        assert!(!g.is_pending(1));
        assert_eq!(g.cpu_read(IAR, 4), 0);
    }

    #[test]
    fn eoimode_split_priority_drop_and_deactivate() {
        let mut g = linux_gic();
        g.cpu_write(C_CTLR, 4, 1 | (1 << 9));
        enable(&mut g, 33);
        g.set_level(33, true);
        assert_eq!(g.cpu_read(IAR, 4), 33);
        g.cpu_write(EOIR, 4, 33);
        assert_eq!(g.cpu_read(RPR, 4), 0xff, "priority dropped");
        assert!(g.is_active(33), "still active");
        assert!(!g.irq_line());
        g.cpu_write(DIR, 4, 33);
        assert!(!g.is_active(33));
        assert!(g.irq_line());
        // EOImodeNS governs AEOIR only: EOIR deactivates again.
        g.cpu_write(C_CTLR, 4, 1 | (1 << 10));
        assert_eq!(g.cpu_read(IAR, 4), 33);
        g.cpu_write(EOIR, 4, 33);
        assert!(!g.is_active(33));
        assert_eq!(g.cpu_read(C_CTLR, 4), 1 | (1 << 10));
    }

    #[test]
    fn stray_eoi_and_icactiver() {
        let mut g = linux_gic();
        enable(&mut g, 33);
        g.set_level(33, true);
        g.cpu_write(EOIR, 4, 33); // not acknowledged: ignored
        assert!(g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 33);
        g.cpu_write(EOIR, 4, 1023);
        assert!(g.is_active(33));
        // ICACTIVER deactivates (priority still held until EOI).
        g.dist_write(ICACTIVER + 4, 4, 2);
        assert!(!g.is_active(33));
        assert!(!g.irq_line(), "running priority still held");
        g.cpu_write(EOIR, 4, 33);
        assert!(g.irq_line());
        // ISACTIVER makes it active: not signalled.
        g.dist_write(ISACTIVER + 4, 4, 2);
        assert!(!g.irq_line());
    }

    #[test]
    fn groups_fiq_and_aliases() {
        let mut g = linux_gic();
        enable(&mut g, 50);
        enable(&mut g, 51);
        g.dist_write(IGROUPR + 4, 4, 1 << (51 - 32));
        assert_eq!(g.dist_read(IGROUPR + 4, 4), 1 << 19);
        g.dist_write(CTLR, 4, 3);
        g.cpu_write(C_CTLR, 4, 3);
        g.dist_write(IPRIORITYR + 51, 1, 0x10);
        g.pulse(51);
        assert!(g.irq_line());
        // Group 1 through IAR without AckCtl: 1022.
        assert_eq!(g.cpu_read(HPPIR, 4), 1022);
        assert_eq!(g.cpu_read(IAR, 4), 1022);
        assert_eq!(g.cpu_read(AHPPIR, 4), 51);
        assert_eq!(g.cpu_read(AIAR, 4), 51);
        assert_eq!(g.cpu_read(RPR, 4), 0x10);
        g.cpu_write(AEOIR, 4, 51);
        assert!(!g.is_active(51));
        // Group 0 through the alias: spurious. With FIQEn group 0 is a FIQ.
        g.pulse(50);
        assert_eq!(g.cpu_read(AIAR, 4), 1023);
        g.cpu_write(C_CTLR, 4, 3 | (1 << 3));
        assert!(g.fiq_line());
        assert!(!g.irq_line());
        assert_eq!(g.cpu_read(IAR, 4), 50);
        assert!(!g.fiq_line());
        g.cpu_write(EOIR, 4, 50);
        // AckCtl: IAR acknowledges group 1 too.
        g.cpu_write(C_CTLR, 4, 3 | (1 << 2));
        g.pulse(51);
        assert_eq!(g.cpu_read(IAR, 4), 51);
        // Group 1 disabled in the distributor: not forwarded.
        g.cpu_write(EOIR, 4, 51);
        g.dist_write(CTLR, 4, 1);
        g.pulse(51);
        assert!(!g.irq_line());
    }

    #[test]
    fn access_widths() {
        let mut g = Gic::new();
        // Byte and halfword access to priorities.
        g.dist_write(IPRIORITYR + 41, 1, 0x12);
        g.dist_write(IPRIORITYR + 42, 2, 0x5634);
        assert_eq!(g.dist_read(IPRIORITYR + 40, 4), 0x5634_1200);
        assert_eq!(g.dist_read(IPRIORITYR + 42, 2), 0x5634);
        // 8-byte access: two words.
        g.dist_write(IPRIORITYR + 48, 8, 0x0102_0304_0506_0708);
        assert_eq!(g.dist_read(IPRIORITYR + 48, 8), 0x0102_0304_0506_0708);
        assert_eq!(g.dist_read(IPRIORITYR + 52, 4), 0x0102_0304);
        // Unaligned: RAZ/WI.
        assert_eq!(g.dist_read(IPRIORITYR + 41, 2), 0);
        // CPU interface: 32-bit only.
        g.cpu_write(PMR, 1, 0xf0);
        assert_eq!(g.cpu_read(PMR, 4), 0);
        g.cpu_write(PMR, 4, 0xf0);
        assert_eq!(g.cpu_read(PMR, 1), 0);
        assert_eq!(g.cpu_read(PMR, 4), 0xf0);
        // Out-of-range lines ignored.
        g.set_level(NUM_IRQS as u32, true);
        g.set_level(5, true);
        g.pulse(2000);
        assert!(!g.is_pending(5));
    }

    #[test]
    fn ppi_timer_level() {
        let mut g = linux_gic();
        enable(&mut g, 27);
        g.set_level(27, true);
        assert_eq!(g.cpu_read(IAR, 4), 27);
        g.set_level(27, false);
        g.cpu_write(EOIR, 4, 27);
        assert!(!g.irq_line());
        assert_eq!(g.dist_read(ISPENDR, 4), 0);
    }
}
