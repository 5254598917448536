//! PL031 real-time clock (Arm DDI 0224).
//!
//! `RTCDR` counts seconds: the host's wall clock (passed in with [`Pl031::set_clock`])
//! plus an offset that a write to `RTCLR` sets, so the guest can set the time without
//! touching the host's. The counter always runs: `RTCCR` reads 1 and ignores writes (as
//! QEMU's model). The alarm raw interrupt latches when the count reaches `RTCMR` (seen
//! when the clock moves past it or when `MR`/`LR` writes make them equal) and stays until
//! `RTCICR` clears it; the output (SPI 2) is `RIS & IMSC`.
//!
//! Access rules: 32-bit registers; 1- and 2-byte reads return the addressed bytes, writes
//! narrower than 32 bits, 8-byte and unaligned accesses, and reserved offsets are RAZ/WI.

use super::{lane, Mmio};

const DR: u64 = 0x00;
const MR: u64 = 0x04;
const LR: u64 = 0x08;
const CR: u64 = 0x0c;
const IMSC: u64 = 0x10;
const RIS: u64 = 0x14;
const MIS: u64 = 0x18;
const ICR: u64 = 0x1c;

/// PeriphID0..3, PCellID0..3 at 0xFE0..0xFFC: part 0x031, designer 0x41 (Arm).
const ID: [u8; 8] = [0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// The PL031 RTC.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pl031 {
    /// Host wall clock, Unix seconds.
    host_secs: u64,
    /// `RTCDR` - host seconds (mod 2^32).
    offset: u32,
    mr: u32,
    lr: u32,
    imsc: u32,
    ris: u32,
}

impl Pl031 {
    /// The RTC at reset, showing the host's time until the guest loads another.
    pub fn new() -> Self {
        Self::default()
    }

    fn dr(&self) -> u32 {
        (self.host_secs as u32).wrapping_add(self.offset)
    }

    /// The host wall clock is now `secs` (Unix seconds). Latches the alarm if the count
    /// passed `RTCMR` on the way.
    pub fn set_clock(&mut self, secs: u64) {
        let before = self.dr();
        let elapsed = secs.saturating_sub(self.host_secs);
        self.host_secs = self.host_secs.max(secs);
        if elapsed == 0 {
            return;
        }
        // Reached: MR lies in (before, before + elapsed], modulo 2^32.
        let dist = self.mr.wrapping_sub(before);
        if dist != 0 && u64::from(dist) <= elapsed {
            self.ris |= 1;
        }
    }

    fn check_match(&mut self) {
        if self.dr() == self.mr {
            self.ris |= 1;
        }
    }

    /// The interrupt output (SPI 2).
    pub fn irq_level(&self) -> bool {
        self.ris & self.imsc & 1 != 0
    }

    /// The host wall-clock second at which the alarm will latch, when the alarm interrupt
    /// is enabled and not yet raised.
    pub fn next_alarm(&self) -> Option<u64> {
        if self.imsc & 1 == 0 || self.ris & 1 != 0 {
            return None;
        }
        // A match at the current second has been seen (or cleared): the next one is a
        // full wrap of the counter away.
        let dist = match self.mr.wrapping_sub(self.dr()) {
            0 => 1u64 << 32,
            d => u64::from(d),
        };
        Some(self.host_secs.saturating_add(dist))
    }

    fn read_reg(&self, off: u64) -> u32 {
        match off {
            DR => self.dr(),
            MR => self.mr,
            LR => self.lr,
            CR => 1,
            IMSC => self.imsc,
            RIS => self.ris,
            MIS => self.ris & self.imsc,
            0xfe0..=0xffc => u32::from(ID[((off - 0xfe0) / 4) as usize]),
            _ => 0,
        }
    }
}

impl Mmio for Pl031 {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        match lane(offset, size) {
            Some(l) => u64::from((self.read_reg(l.word) & l.mask) >> l.shift),
            None => 0,
        }
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        if size != 4 || !offset.is_multiple_of(4) {
            return;
        }
        let v = value as u32;
        match offset {
            MR => {
                self.mr = v;
                self.check_match();
            }
            LR => {
                self.lr = v;
                self.offset = v.wrapping_sub(self.host_secs as u32);
                self.check_match();
            }
            IMSC => self.imsc = v & 1,
            ICR => self.ris &= !(v & 1),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rtc(now: u64) -> Pl031 {
        let mut r = Pl031::new();
        r.set_clock(now);
        r
    }

    #[test]
    fn ids_and_reset() {
        let mut r = Pl031::new();
        let mut periph = 0u32;
        let mut cell = 0u32;
        for i in 0..4 {
            periph |= (r.read(0xfe0 + 4 * i, 4) as u32) << (8 * i);
            cell |= (r.read(0xff0 + 4 * i, 4) as u32) << (8 * i);
        }
        assert_eq!(periph & 0x000f_ffff, 0x0004_1031);
        assert_eq!(cell, 0xb105_f00d);
        assert_eq!(r.read(CR, 4), 1);
        assert_eq!(r.read(IMSC, 4), 0);
        assert_eq!(r.read(RIS, 4), 0);
        assert_eq!(r.read(0x20, 4), 0);
    }

    #[test]
    fn counts_host_time_and_load_sets_offset() {
        let mut r = rtc(1_700_000_000);
        assert_eq!(r.read(DR, 4), 1_700_000_000);
        r.set_clock(1_700_000_005);
        assert_eq!(r.read(DR, 4), 1_700_000_005);
        // Guest sets the time to 1000.
        r.write(LR, 4, 1000);
        assert_eq!(r.read(DR, 4), 1000);
        assert_eq!(r.read(LR, 4), 1000);
        r.set_clock(1_700_000_065);
        assert_eq!(r.read(DR, 4), 1060);
        // Byte reads and ignored narrow writes.
        assert_eq!(r.read(DR, 1), 1060 & 0xff);
        assert_eq!(r.read(DR + 1, 1), 1060 >> 8);
        r.write(LR, 2, 5);
        assert_eq!(r.read(DR, 4), 1060);
        // DR is read-only, CR ignores writes, time never goes back.
        r.write(DR, 4, 7);
        r.write(CR, 4, 0);
        r.set_clock(0);
        assert_eq!(r.read(DR, 4), 1060);
        assert_eq!(r.read(CR, 4), 1);
    }

    #[test]
    fn alarm_latches_and_clears() {
        let mut r = rtc(100);
        r.write(MR, 4, 110);
        r.write(IMSC, 4, 1);
        assert_eq!(r.next_alarm(), Some(110));
        r.set_clock(109);
        assert!(!r.irq_level());
        assert_eq!(r.next_alarm(), Some(110));
        // Jumping past the match still latches.
        r.set_clock(112);
        assert!(r.irq_level());
        assert_eq!(r.read(RIS, 4), 1);
        assert_eq!(r.read(MIS, 4), 1);
        assert_eq!(r.next_alarm(), None);
        // Masking hides it, ICR clears it.
        r.write(IMSC, 4, 0);
        assert!(!r.irq_level());
        assert_eq!(r.read(RIS, 4), 1);
        r.write(ICR, 4, 1);
        assert_eq!(r.read(RIS, 4), 0);
        r.write(IMSC, 4, 1);
        assert!(!r.irq_level());
        // Passing it again later does not re-latch.
        r.set_clock(200);
        assert!(!r.irq_level());
    }

    #[test]
    fn alarm_with_loaded_time_and_immediate_match() {
        let mut r = rtc(1_000_000);
        r.write(LR, 4, 50);
        r.write(MR, 4, 60);
        r.write(IMSC, 4, 1);
        assert_eq!(r.next_alarm(), Some(1_000_010));
        r.set_clock(1_000_010);
        assert!(r.irq_level());
        r.write(ICR, 4, 1);
        // Writing MR equal to the current count latches at once.
        r.write(MR, 4, 60);
        assert!(r.irq_level());
        // Once cleared, the next match is a counter wrap away (no busy deadline).
        r.write(ICR, 4, 1);
        assert_eq!(r.next_alarm(), Some(1_000_010 + (1 << 32)));
    }

    #[test]
    fn alarm_across_wrap() {
        let mut r = rtc(10);
        r.write(LR, 4, 0xffff_fffe);
        r.write(MR, 4, 1);
        r.write(IMSC, 4, 1);
        r.set_clock(12);
        assert!(!r.irq_level());
        r.set_clock(13);
        assert!(r.irq_level());
        assert_eq!(r.read(DR, 4), 1);
    }
}
