//! Device models of the `virt` board.
//!
//! Every memory-mapped device implements [`Mmio`]: a read or write of 1, 2, 4 or 8 bytes at
//! an offset inside the device's window. Accesses a device does not implement read as zero
//! and ignore writes (RAZ/WI), which is what the real parts and QEMU do for reserved offsets;
//! each device documents its own rules. [`Platform`] owns every device and routes guest
//! physical addresses to them; an address no device claims is reported to the caller, which
//! raises a synchronous external abort in the guest.

pub mod gic;
pub mod pl011;
pub mod pl031;
pub mod psci;
pub mod timer;
pub mod virtio_mmio;

use alloc::vec::Vec;
use shared_abi::guest;

pub use gic::Gic;
pub use pl011::Pl011;
pub use pl031::Pl031;
pub use psci::{psci_call, PsciOutcome};
pub use timer::{GenericTimer, TimerReg};
pub use virtio_mmio::{VirtioDeviceInfo, VirtioEvent, VirtioMmio};

/// A memory-mapped device register window.
pub trait Mmio {
    /// Reads `size` (1, 2, 4 or 8) bytes at `offset` from the start of the window.
    fn read(&mut self, offset: u64, size: u8) -> u64;
    /// Writes the low `size` (1, 2, 4 or 8) bytes of `value` at `offset`.
    fn write(&mut self, offset: u64, size: u8, value: u64);
}

/// A sub-word access to a bank of 32-bit registers, resolved to the register it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lane {
    /// Offset of the 32-bit register (4-byte aligned).
    pub word: u64,
    /// Bit position of the access inside the register.
    pub shift: u32,
    /// Mask of the accessed bits, in register position.
    pub mask: u32,
}

/// Resolves a naturally aligned 1-, 2- or 4-byte access to its 32-bit register.
/// Unaligned accesses and other sizes give `None`.
pub(crate) fn lane(offset: u64, size: u8) -> Option<Lane> {
    let bits: u32 = match size {
        1 => 0xff,
        2 => 0xffff,
        4 => 0xffff_ffff,
        _ => return None,
    };
    if !offset.is_multiple_of(u64::from(size)) {
        return None;
    }
    let shift = ((offset & 3) * 8) as u32;
    Some(Lane {
        word: offset & !3,
        shift,
        mask: bits << shift,
    })
}

/// The guest's wall clock for the RTC: Unix seconds at a given count of the generic timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// Unix time in seconds when the count was `base_count`.
    pub base_secs: u64,
    /// The generic-timer count that corresponds to `base_secs`.
    pub base_count: u64,
}

/// The guest physical address window of one device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    GicDist,
    GicCpu,
    Uart,
    Rtc,
    /// A virtio-mmio transport slot.
    Virtio(usize),
}

/// Finds the device whose window contains `paddr`, with the offset inside it.
pub fn decode(paddr: u64) -> Option<(Device, u64)> {
    let windows = [
        (guest::GICD_BASE, guest::GICD_SIZE, Device::GicDist),
        (guest::GICC_BASE, guest::GICC_SIZE, Device::GicCpu),
        (guest::UART_BASE, guest::UART_SIZE, Device::Uart),
        (guest::RTC_BASE, guest::RTC_SIZE, Device::Rtc),
    ];
    let found = windows.iter().find_map(|&(base, size, dev)| {
        paddr
            .checked_sub(base)
            .filter(|&off| off < size)
            .map(|off| (dev, off))
    });
    found.or_else(|| {
        let off = paddr.checked_sub(guest::VIRTIO_MMIO_BASE)?;
        let slot = off / guest::VIRTIO_MMIO_SIZE;
        (slot < u64::from(guest::VIRTIO_MMIO_COUNT))
            .then_some((Device::Virtio(slot as usize), off % guest::VIRTIO_MMIO_SIZE))
    })
}

/// GIC INTID of virtio-mmio transport `slot`.
pub fn intid_virtio(slot: usize) -> u32 {
    32 + guest::VIRTIO_MMIO_FIRST_SPI + slot as u32
}

/// GIC INTID of the non-secure EL1 physical timer (PPI 14).
pub const INTID_PHYS_TIMER: u32 = 16 + guest::TIMER_PPI_NONSECURE_PHYS;
/// GIC INTID of the EL1 virtual timer (PPI 11).
pub const INTID_VIRT_TIMER: u32 = 16 + guest::TIMER_PPI_VIRT;
/// GIC INTID of the PL011 (SPI 1).
pub const INTID_UART: u32 = 32 + guest::UART_SPI;
/// GIC INTID of the PL031 (SPI 2).
pub const INTID_RTC: u32 = 32 + guest::RTC_SPI;

/// The whole device side of the board: GICv2, generic timer, PL011, PL031.
///
/// Time: the machine tells the platform the current generic-timer count with
/// [`Platform::set_now`] -- when the host's deadline timer (armed from
/// [`Platform::next_deadline`]) fires, when a WFI wakes, and before an MMIO access to the
/// RTC; the timer register accessors take the count themselves. The platform then
/// refreshes every interrupt line into the GIC. Between those points the lines change
/// only through MMIO and timer register writes, which refresh them too.
/// The CPU's IRQ and FIQ inputs are [`Platform::irq_line`] and [`Platform::fiq_line`].
pub struct Platform {
    pub gic: Gic,
    pub timer: GenericTimer,
    pub uart: Pl011,
    pub rtc: Pl031,
    /// The virtio-mmio transports, one per slot (empty slots have device id 0).
    pub virtio: Vec<VirtioMmio>,
    /// The slot whose last register write produced a [`VirtioEvent`].
    virtio_pending: Option<usize>,
    wall: WallClock,
    /// The count's real rate (CNTFRQ_EL0 is guest-writable and may differ).
    freq: u64,
    now: u64,
}

impl Platform {
    /// A board at reset. `cntfrq` is the generic timer's frequency in Hz; `wall` ties the
    /// RTC to the count.
    pub fn new(cntfrq: u32, wall: WallClock) -> Self {
        let mut p = Platform {
            gic: Gic::new(),
            timer: GenericTimer::new(cntfrq),
            uart: Pl011::new(),
            rtc: Pl031::new(),
            virtio: (0..guest::VIRTIO_MMIO_COUNT)
                .map(|_| VirtioMmio::new(VirtioDeviceInfo::default()))
                .collect(),
            virtio_pending: None,
            wall,
            freq: u64::from(cntfrq.max(1)),
            now: wall.base_count,
        };
        p.set_now(wall.base_count);
        p
    }

    /// The count last passed to [`Platform::set_now`].
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Advances time to `count` (the generic timer's physical count) and refreshes every
    /// interrupt line. Time never goes backwards: an older count is ignored.
    pub fn set_now(&mut self, count: u64) {
        self.now = self.now.max(count);
        self.rtc.set_clock(self.wall_secs());
        self.sync_irqs();
    }

    /// Unix seconds of the guest's wall clock at the current count.
    pub fn wall_secs(&self) -> u64 {
        let elapsed = self.now.saturating_sub(self.wall.base_count) / self.freq;
        self.wall.base_secs.wrapping_add(elapsed)
    }

    /// Drives the GIC's inputs from the devices' interrupt outputs.
    pub fn sync_irqs(&mut self) {
        let (phys, virt) = self.timer.irq_levels(self.now);
        self.gic.set_level(INTID_PHYS_TIMER, phys);
        self.gic.set_level(INTID_VIRT_TIMER, virt);
        self.gic.set_level(INTID_UART, self.uart.irq_level());
        self.gic.set_level(INTID_RTC, self.rtc.irq_level());
        for (i, v) in self.virtio.iter().enumerate() {
            if v.device_id() != 0 {
                self.gic.set_level(intid_virtio(i), v.irq_level());
            }
        }
    }

    /// Puts the devices the host described into slots `0..devices.len()`.
    pub fn set_virtio_devices(&mut self, devices: &[VirtioDeviceInfo]) {
        for (slot, info) in self.virtio.iter_mut().zip(devices) {
            *slot = VirtioMmio::new(info.clone());
        }
    }

    /// The event the last MMIO write raised in a virtio transport, with its slot.
    pub fn take_virtio_event(&mut self) -> Option<(usize, VirtioEvent)> {
        let slot = self.virtio_pending.take()?;
        Some((slot, self.virtio.get_mut(slot)?.take_event()?))
    }

    /// The host's answer for transport `slot` (see [`VirtioMmio::complete`]).
    pub fn virtio_complete(&mut self, slot: usize, interrupt: u32, needs_reset: bool) {
        if let Some(v) = self.virtio.get_mut(slot) {
            v.complete(interrupt, needs_reset);
        }
        self.sync_irqs();
    }

    /// The CPU's IRQ input.
    pub fn irq_line(&self) -> bool {
        self.gic.irq_line()
    }

    /// The CPU's FIQ input.
    pub fn fiq_line(&self) -> bool {
        self.gic.fiq_line()
    }

    /// The count at which the next timer interrupt condition becomes true, if any (for the
    /// host's one-shot timer). The RTC alarm is second-granular: see [`Pl031::next_alarm`].
    pub fn next_deadline(&self) -> Option<u64> {
        let timer = self.timer.next_deadline(self.now);
        let rtc = self.rtc.next_alarm().map(|secs| {
            let delta = secs.saturating_sub(self.wall.base_secs);
            self.wall
                .base_count
                .saturating_add(delta.saturating_mul(self.freq))
        });
        match (timer, rtc) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A guest read of a generic-timer system register at count `now` (also advances
    /// the platform's time to `now`).
    pub fn timer_read(&mut self, reg: TimerReg, now: u64) -> u64 {
        self.set_now(now);
        self.timer.sysreg_read(reg, self.now)
    }

    /// A guest write of a generic-timer system register at count `now` (also advances
    /// the platform's time to `now`); refreshes the timer interrupt lines.
    pub fn timer_write(&mut self, reg: TimerReg, value: u64, now: u64) {
        self.now = self.now.max(now);
        self.timer.sysreg_write(reg, value, self.now);
        self.set_now(now);
    }

    /// New console input from the host; returns how many bytes the UART took (the rest
    /// would have overrun its FIFO: offer them again later).
    pub fn push_console_input(&mut self, bytes: &[u8]) -> usize {
        let n = bytes.len().min(self.uart.rx_space());
        self.uart.push_input(&bytes[..n]);
        self.sync_irqs();
        n
    }

    /// A guest read of `size` bytes at guest physical `paddr`; `None` when no device is
    /// there (the CPU raises an external abort).
    pub fn mmio_read(&mut self, paddr: u64, size: u8) -> Option<u64> {
        let (dev, off) = decode(paddr)?;
        let v = match dev {
            Device::GicDist => self.gic.dist_read(off, size),
            Device::GicCpu => self.gic.cpu_read(off, size),
            Device::Uart => {
                let v = self.uart.read(off, size);
                self.sync_irqs();
                v
            }
            Device::Rtc => self.rtc.read(off, size),
            Device::Virtio(i) => self.virtio[i].read(off, size),
        };
        Some(v)
    }

    /// A guest write; `false` when no device is there (the CPU raises an external abort).
    pub fn mmio_write(&mut self, paddr: u64, size: u8, value: u64) -> bool {
        let Some((dev, off)) = decode(paddr) else {
            return false;
        };
        match dev {
            Device::GicDist => self.gic.dist_write(off, size, value),
            Device::GicCpu => self.gic.cpu_write(off, size, value),
            Device::Uart => self.uart.write(off, size, value),
            Device::Rtc => self.rtc.write(off, size, value),
            Device::Virtio(i) => {
                self.virtio[i].write(off, size, value);
                self.virtio_pending = Some(i);
            }
        }
        self.sync_irqs();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FREQ: u32 = 62_500_000;

    fn board() -> Platform {
        Platform::new(
            FREQ,
            WallClock {
                base_secs: 1_700_000_000,
                base_count: 1000,
            },
        )
    }

    #[test]
    fn lane_resolution() {
        assert_eq!(
            lane(0x401, 1),
            Some(Lane {
                word: 0x400,
                shift: 8,
                mask: 0xff00
            })
        );
        assert_eq!(
            lane(0x402, 2),
            Some(Lane {
                word: 0x400,
                shift: 16,
                mask: 0xffff_0000
            })
        );
        assert_eq!(lane(0x401, 2), None);
        assert_eq!(lane(0x400, 8), None);
        assert_eq!(lane(0x400, 3), None);
    }

    #[test]
    fn decode_windows() {
        assert_eq!(decode(0x0800_0000), Some((Device::GicDist, 0)));
        assert_eq!(decode(0x0800_ffff), Some((Device::GicDist, 0xffff)));
        assert_eq!(decode(0x0801_1000), Some((Device::GicCpu, 0x1000)));
        assert_eq!(decode(0x0900_0018), Some((Device::Uart, 0x18)));
        assert_eq!(decode(0x0900_1000), None);
        assert_eq!(decode(0x0901_0ffc), Some((Device::Rtc, 0xffc)));
        assert_eq!(decode(0x0a00_0000), Some((Device::Virtio(0), 0)));
        assert_eq!(decode(0x0a00_0270), Some((Device::Virtio(1), 0x70)));
        assert_eq!(decode(0x0a00_3fff), Some((Device::Virtio(31), 0x1ff)));
        assert_eq!(decode(0x0a00_4000), None);
        assert_eq!(decode(0x4000_0000), None);
        assert_eq!(decode(0), None);
    }

    #[test]
    fn unmapped_addresses_abort() {
        let mut p = board();
        assert_eq!(p.mmio_read(0x0902_0000, 4), None);
        assert!(!p.mmio_write(0x0700_0000, 4, 1));
        assert_eq!(p.mmio_read(0x0900_0fe0, 4), Some(0x11));
    }

    /// Linux's boot sequence for the GIC, then a UART receive interrupt end to end.
    #[test]
    fn uart_rx_interrupt_through_gic() {
        let mut p = board();
        let d = guest::GICD_BASE;
        let c = guest::GICC_BASE;
        // Distributor: SPI targets, priorities, enable SPI 1 (INTID 33).
        assert!(p.mmio_write(d + 0x820, 4, 0x0101_0101));
        assert!(p.mmio_write(d + 0x420, 4, 0xa0a0_a0a0));
        assert!(p.mmio_write(d + 0x104, 4, 1 << (INTID_UART - 32)));
        assert!(p.mmio_write(d, 4, 1));
        assert!(p.mmio_write(c + 4, 4, 0xf0));
        assert!(p.mmio_write(c, 4, 1));
        // UART: FIFOs on, enable RX and RX-timeout interrupts.
        assert!(p.mmio_write(guest::UART_BASE + 0x2c, 2, 0x70));
        assert!(p.mmio_write(guest::UART_BASE + 0x38, 2, 0x50));
        assert!(!p.irq_line());
        assert_eq!(p.push_console_input(b"hi"), 2);
        assert!(p.irq_line());
        assert_eq!(p.mmio_read(c + 0xc, 4), Some(INTID_UART as u64));
        assert!(!p.irq_line());
        assert_eq!(p.mmio_read(guest::UART_BASE, 2), Some(b'h' as u64));
        assert_eq!(p.mmio_read(guest::UART_BASE, 2), Some(b'i' as u64));
        assert!(p.mmio_write(c + 0x10, 4, INTID_UART as u64));
        assert!(!p.irq_line());
        // Nothing left pending in the distributor.
        assert_eq!(p.mmio_read(d + 0x204, 4), Some(0));
    }

    #[test]
    fn timer_interrupt_through_gic() {
        let mut p = board();
        let d = guest::GICD_BASE;
        let c = guest::GICC_BASE;
        assert!(p.mmio_write(d + 0x100, 4, 1 << INTID_VIRT_TIMER));
        assert!(p.mmio_write(d + 0x418, 4, 0xa0a0_a0a0));
        assert!(p.mmio_write(d, 4, 1));
        assert!(p.mmio_write(c + 4, 4, 0xf0));
        assert!(p.mmio_write(c, 4, 1));
        p.timer_write(TimerReg::CntvTval, 500, 10_000);
        p.timer_write(TimerReg::CntvCtl, 1, 10_000);
        assert_eq!(p.timer_read(TimerReg::CntvCtl, 10_100), 1);
        assert_eq!(p.timer_read(TimerReg::CntvTval, 10_100), 400);
        assert_eq!(p.next_deadline(), Some(10_500));
        assert!(!p.irq_line());
        p.set_now(10_499);
        assert!(!p.irq_line());
        assert_eq!(p.timer_read(TimerReg::CntvCtl, 10_499), 1);
        p.set_now(10_500);
        assert!(p.irq_line());
        assert_eq!(p.mmio_read(c + 0xc, 4), Some(INTID_VIRT_TIMER as u64));
        // The handler masks the timer, then EOIs: nothing is pending any more.
        p.timer_write(TimerReg::CntvCtl, 3, 10_600);
        assert!(p.mmio_write(c + 0x10, 4, INTID_VIRT_TIMER as u64));
        assert!(!p.irq_line());
        assert_eq!(p.next_deadline(), None);
    }

    /// Linux's gic_handle_irq loop with the virtual timer and the UART both pending: each
    /// is taken once, in priority order, and the loop ends with a spurious read.
    #[test]
    fn linux_irq_loop_takes_each_source_once() {
        let mut p = board();
        let d = guest::GICD_BASE;
        let c = guest::GICC_BASE;
        assert!(p.mmio_write(d + 0x820, 4, 0x0101_0101));
        assert!(p.mmio_write(d + 0x100, 4, 1 << INTID_VIRT_TIMER));
        assert!(p.mmio_write(d + 0x104, 4, 1 << (INTID_UART - 32)));
        assert!(p.mmio_write(d + 0x418, 4, 0xa0a0_a0a0));
        assert!(p.mmio_write(d + 0x420, 4, 0x9090_9090));
        assert!(p.mmio_write(d, 4, 1));
        assert!(p.mmio_write(c + 4, 4, 0xf0));
        assert!(p.mmio_write(c, 4, 1));
        assert!(p.mmio_write(guest::UART_BASE + 0x38, 2, 0x50));
        p.timer_write(TimerReg::CntvCval, 2000, 1000);
        p.timer_write(TimerReg::CntvCtl, 1, 1000);
        p.push_console_input(b"k");
        p.set_now(2000);
        let mut taken = alloc::vec::Vec::new();
        loop {
            let iar = p.mmio_read(c + 0xc, 4).unwrap_or(1023) as u32;
            let id = iar & 0x3ff;
            if id >= 1020 {
                break;
            }
            taken.push(id);
            match id {
                INTID_UART => {
                    while p.mmio_read(guest::UART_BASE + 0x18, 2) == Some(0x87) {
                        p.mmio_read(guest::UART_BASE, 2);
                    }
                    let _ = p.mmio_read(guest::UART_BASE, 2);
                }
                INTID_VIRT_TIMER => {
                    let ctl = p.timer_read(TimerReg::CntvCtl, 2001);
                    assert_eq!(ctl, 5, "ENABLE | ISTATUS");
                    p.timer_write(TimerReg::CntvCtl, ctl | 2, 2001);
                }
                other => panic!("unexpected interrupt {other}"),
            }
            assert!(p.mmio_write(c + 0x10, 4, u64::from(iar)));
            assert!(taken.len() < 10, "interrupt storm: {taken:?}");
        }
        assert_eq!(taken, [INTID_UART, INTID_VIRT_TIMER]);
        assert!(!p.irq_line());
    }

    #[test]
    fn rtc_reads_wall_clock() {
        let mut p = board();
        assert_eq!(p.mmio_read(guest::RTC_BASE, 4), Some(1_700_000_000));
        p.set_now(1000 + 3 * u64::from(FREQ) + 5);
        assert_eq!(p.mmio_read(guest::RTC_BASE, 4), Some(1_700_000_003));
        // Time never runs backwards.
        p.set_now(0);
        assert_eq!(p.now(), 1000 + 3 * u64::from(FREQ) + 5);
    }

    #[test]
    fn rtc_alarm_deadline() {
        let mut p = board();
        assert!(p.mmio_write(guest::RTC_BASE + 4, 4, 1_700_000_010));
        assert!(p.mmio_write(guest::RTC_BASE + 0x10, 4, 1));
        assert_eq!(p.next_deadline(), Some(1000 + 10 * u64::from(FREQ)));
        p.set_now(1000 + 10 * u64::from(FREQ));
        assert_eq!(p.mmio_read(guest::RTC_BASE + 0x18, 4), Some(1));
        assert!(p.gic.line_level(INTID_RTC));
    }
}
