//! The generic timer as EL1 sees it (Arm ARM D11/D12 "The Generic Timer"): the system
//! counter, the EL1 physical timer and the virtual timer. No EL2/EL3 timers.
//!
//! The count is supplied by the caller on every access (the host derives it from its own
//! clock); `CNTVOFF_EL2` is 0 unless the machine sets it with
//! [`GenericTimer::set_cntvoff`]. A timer's condition is met when
//! `count - offset >= CVAL` (unsigned 64-bit); `CTL.ISTATUS` shows it while `ENABLE` is
//! set (reads as 0 when the timer is disabled), and the interrupt output is
//! `ENABLE && ISTATUS && !IMASK`.

/// The generic-timer system registers reachable from EL1/EL0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerReg {
    /// CNTFRQ_EL0: counter frequency in Hz (a plain register; writes do not change the
    /// rate the count runs at).
    Cntfrq,
    /// CNTPCT_EL0: the physical count (read-only).
    Cntpct,
    /// CNTVCT_EL0: the virtual count (read-only).
    Cntvct,
    /// CNTP_CTL_EL0.
    CntpCtl,
    /// CNTP_CVAL_EL0.
    CntpCval,
    /// CNTP_TVAL_EL0.
    CntpTval,
    /// CNTV_CTL_EL0.
    CntvCtl,
    /// CNTV_CVAL_EL0.
    CntvCval,
    /// CNTV_TVAL_EL0.
    CntvTval,
    /// CNTKCTL_EL1: EL0 access controls (stored; the CPU enforces them).
    Cntkctl,
}

impl TimerReg {
    /// The register for a system-register encoding (op0, op1, CRn, CRm, op2), if it is
    /// one of the timer registers.
    pub fn from_encoding(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Option<Self> {
        Some(match (op0, op1, crn, crm, op2) {
            (3, 3, 14, 0, 0) => TimerReg::Cntfrq,
            (3, 3, 14, 0, 1) => TimerReg::Cntpct,
            (3, 3, 14, 0, 2) => TimerReg::Cntvct,
            (3, 3, 14, 2, 0) => TimerReg::CntpTval,
            (3, 3, 14, 2, 1) => TimerReg::CntpCtl,
            (3, 3, 14, 2, 2) => TimerReg::CntpCval,
            (3, 3, 14, 3, 0) => TimerReg::CntvTval,
            (3, 3, 14, 3, 1) => TimerReg::CntvCtl,
            (3, 3, 14, 3, 2) => TimerReg::CntvCval,
            (3, 0, 14, 1, 0) => TimerReg::Cntkctl,
            _ => return None,
        })
    }
}

/// CTL.ENABLE.
pub const CTL_ENABLE: u64 = 1 << 0;
/// CTL.IMASK.
pub const CTL_IMASK: u64 = 1 << 1;
/// CTL.ISTATUS (read-only).
pub const CTL_ISTATUS: u64 = 1 << 2;

/// One EL1 timer (physical or virtual).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Timer {
    /// ENABLE and IMASK.
    ctl: u64,
    cval: u64,
}

impl Timer {
    fn met(&self, count: u64) -> bool {
        self.ctl & CTL_ENABLE != 0 && count >= self.cval
    }

    fn ctl(&self, count: u64) -> u64 {
        self.ctl | if self.met(count) { CTL_ISTATUS } else { 0 }
    }

    fn level(&self, count: u64) -> bool {
        self.met(count) && self.ctl & CTL_IMASK == 0
    }

    /// TVAL reads as the signed 32-bit difference CVAL - count.
    fn tval(&self, count: u64) -> u64 {
        u64::from(self.cval.wrapping_sub(count) as u32)
    }

    /// A TVAL write sets CVAL = count + SignExtend(TVAL[31:0]).
    fn set_tval(&mut self, value: u64, count: u64) {
        self.cval = count.wrapping_add(value as u32 as i32 as i64 as u64);
    }

    /// The count at which an enabled, unmasked timer fires, if still in the future.
    fn deadline(&self, count: u64) -> Option<u64> {
        (self.ctl & (CTL_ENABLE | CTL_IMASK) == CTL_ENABLE && self.cval > count)
            .then_some(self.cval)
    }
}

/// The EL1 physical and virtual timers with the system counter's registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenericTimer {
    cntfrq: u32,
    cntvoff: u64,
    cntkctl: u64,
    phys: Timer,
    virt: Timer,
}

impl GenericTimer {
    /// Timers at reset (disabled, CVAL 0) for a counter running at `cntfrq` Hz.
    pub fn new(cntfrq: u32) -> Self {
        GenericTimer {
            cntfrq,
            cntvoff: 0,
            cntkctl: 0,
            phys: Timer::default(),
            virt: Timer::default(),
        }
    }

    /// CNTFRQ_EL0.
    pub fn frequency(&self) -> u32 {
        self.cntfrq
    }

    /// Sets CNTVOFF_EL2 (the virtual count is the physical count minus it).
    pub fn set_cntvoff(&mut self, off: u64) {
        self.cntvoff = off;
    }

    /// The virtual count at physical count `now`.
    pub fn virtual_count(&self, now: u64) -> u64 {
        now.wrapping_sub(self.cntvoff)
    }

    /// A read of `reg` at physical count `now`.
    pub fn sysreg_read(&self, reg: TimerReg, now: u64) -> u64 {
        let vnow = self.virtual_count(now);
        match reg {
            TimerReg::Cntfrq => u64::from(self.cntfrq),
            TimerReg::Cntpct => now,
            TimerReg::Cntvct => vnow,
            TimerReg::CntpCtl => self.phys.ctl(now),
            TimerReg::CntpCval => self.phys.cval,
            TimerReg::CntpTval => self.phys.tval(now),
            TimerReg::CntvCtl => self.virt.ctl(vnow),
            TimerReg::CntvCval => self.virt.cval,
            TimerReg::CntvTval => self.virt.tval(vnow),
            TimerReg::Cntkctl => self.cntkctl,
        }
    }

    /// A write of `reg` at physical count `now`. Writes to the counts are ignored.
    pub fn sysreg_write(&mut self, reg: TimerReg, value: u64, now: u64) {
        let vnow = self.virtual_count(now);
        match reg {
            TimerReg::Cntfrq => self.cntfrq = value as u32,
            TimerReg::Cntpct | TimerReg::Cntvct => {}
            TimerReg::CntpCtl => self.phys.ctl = value & (CTL_ENABLE | CTL_IMASK),
            TimerReg::CntpCval => self.phys.cval = value,
            TimerReg::CntpTval => self.phys.set_tval(value, now),
            TimerReg::CntvCtl => self.virt.ctl = value & (CTL_ENABLE | CTL_IMASK),
            TimerReg::CntvCval => self.virt.cval = value,
            TimerReg::CntvTval => self.virt.set_tval(value, vnow),
            // EVNTI, EVNTDIR, EVNTEN, EL0VTEN, EL0PTEN, EL0VCTEN, EL0PCTEN.
            TimerReg::Cntkctl => self.cntkctl = value & 0x3ff,
        }
    }

    /// The interrupt outputs (physical timer → PPI 14 / INTID 30, virtual timer → PPI 11 /
    /// INTID 27) at physical count `now`.
    pub fn irq_levels(&self, now: u64) -> (bool, bool) {
        (
            self.phys.level(now),
            self.virt.level(self.virtual_count(now)),
        )
    }

    /// The physical count at which the next enabled, unmasked timer condition becomes
    /// true, or `None` when no such condition lies in the future (conditions already met
    /// show in [`GenericTimer::irq_levels`]).
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        let p = self.phys.deadline(now);
        let v = self
            .virt
            .deadline(self.virtual_count(now))
            .map(|c| c.wrapping_add(self.cntvoff));
        match (p, v) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimerReg::*;

    #[test]
    fn counts_and_frequency() {
        let mut t = GenericTimer::new(62_500_000);
        assert_eq!(t.sysreg_read(Cntfrq, 0), 62_500_000);
        assert_eq!(t.sysreg_read(Cntpct, 12345), 12345);
        assert_eq!(t.sysreg_read(Cntvct, 12345), 12345);
        t.sysreg_write(Cntpct, 7, 12345);
        assert_eq!(t.sysreg_read(Cntpct, 12346), 12346);
        t.set_cntvoff(100);
        assert_eq!(t.sysreg_read(Cntvct, 12345), 12245);
    }

    #[test]
    fn tval_programs_cval_and_istatus_flips() {
        let mut t = GenericTimer::new(1_000_000);
        let now = 1_000_000;
        t.sysreg_write(CntpTval, 1000, now);
        assert_eq!(t.sysreg_read(CntpCval, now), 1_001_000);
        assert_eq!(t.sysreg_read(CntpTval, now + 400), 600);
        // Disabled: no ISTATUS, no deadline, no interrupt.
        assert_eq!(t.sysreg_read(CntpCtl, now + 2000), 0);
        assert_eq!(t.next_deadline(now), None);
        t.sysreg_write(CntpCtl, CTL_ENABLE, now);
        assert_eq!(t.next_deadline(now), Some(1_001_000));
        assert_eq!(t.sysreg_read(CntpCtl, 1_000_999), CTL_ENABLE);
        assert_eq!(t.irq_levels(1_000_999), (false, false));
        assert_eq!(t.sysreg_read(CntpCtl, 1_001_000), CTL_ENABLE | CTL_ISTATUS);
        assert_eq!(t.irq_levels(1_001_000), (true, false));
        // Past the deadline TVAL goes negative (as a signed 32-bit value).
        assert_eq!(t.sysreg_read(CntpTval, 1_001_005), 0xffff_fffb);
        assert_eq!(t.next_deadline(1_001_000), None);
        // IMASK keeps ISTATUS but drops the output.
        t.sysreg_write(CntpCtl, CTL_ENABLE | CTL_IMASK | CTL_ISTATUS, now);
        assert_eq!(
            t.sysreg_read(CntpCtl, 1_001_000),
            CTL_ENABLE | CTL_IMASK | CTL_ISTATUS
        );
        assert_eq!(t.irq_levels(1_001_000), (false, false));
        assert_eq!(t.next_deadline(now), None);
    }

    #[test]
    fn negative_tval_fires_at_once() {
        let mut t = GenericTimer::new(1000);
        t.sysreg_write(CntvCtl, CTL_ENABLE, 5000);
        t.sysreg_write(CntvTval, (-10i64) as u64, 5000);
        assert_eq!(t.sysreg_read(CntvCval, 5000), 4990);
        assert_eq!(t.irq_levels(5000), (false, true));
        // Only the low 32 bits of a TVAL write count.
        t.sysreg_write(CntvTval, 0xffff_ffff_0000_0010, 5000);
        assert_eq!(t.sysreg_read(CntvCval, 5000), 5016);
    }

    #[test]
    fn virtual_timer_uses_offset_and_earliest_deadline() {
        let mut t = GenericTimer::new(1000);
        t.set_cntvoff(1000);
        let now = 2000;
        assert_eq!(t.sysreg_read(Cntvct, now), 1000);
        t.sysreg_write(CntvCval, 5000, now);
        t.sysreg_write(CntvCtl, CTL_ENABLE, now);
        t.sysreg_write(CntpCval, 7000, now);
        t.sysreg_write(CntpCtl, CTL_ENABLE, now);
        // Virtual count 5000 is physical 6000.
        assert_eq!(t.next_deadline(now), Some(6000));
        assert_eq!(t.irq_levels(5999), (false, false));
        assert_eq!(t.irq_levels(6000), (false, true));
        assert_eq!(t.sysreg_read(CntvCtl, 6000), CTL_ENABLE | CTL_ISTATUS);
        assert_eq!(t.next_deadline(6000), Some(7000));
        assert_eq!(t.irq_levels(7000), (true, true));
        // TVAL of the virtual timer is relative to the virtual count.
        t.sysreg_write(CntvTval, 100, 6000);
        assert_eq!(t.sysreg_read(CntvCval, 6000), 5100);
        assert_eq!(t.sysreg_read(CntvTval, 6050), 50);
    }

    #[test]
    fn ctl_and_cntkctl_masks() {
        let mut t = GenericTimer::new(1000);
        t.sysreg_write(CntvCtl, !0, 0);
        assert_eq!(t.sysreg_read(CntvCtl, 0) & !CTL_ISTATUS, 3);
        t.sysreg_write(Cntkctl, !0, 0);
        assert_eq!(t.sysreg_read(Cntkctl, 0), 0x3ff);
    }

    #[test]
    fn encodings() {
        assert_eq!(TimerReg::from_encoding(3, 3, 14, 0, 0), Some(Cntfrq));
        assert_eq!(TimerReg::from_encoding(3, 3, 14, 3, 1), Some(CntvCtl));
        assert_eq!(TimerReg::from_encoding(3, 3, 14, 2, 2), Some(CntpCval));
        assert_eq!(TimerReg::from_encoding(3, 0, 14, 1, 0), Some(Cntkctl));
        assert_eq!(TimerReg::from_encoding(3, 4, 14, 2, 1), None);
    }
}
