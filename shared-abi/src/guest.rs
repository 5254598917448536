//! The AArch64 guest platform: QEMU's `virt` board memory map and interrupt numbers.
//! The launcher builds the guest's device tree from these, so the DTB and the engine's
//! device models cannot disagree.

/// Guest RAM starts here.
pub const RAM_BASE: u64 = 0x4000_0000;

/// GICv2 distributor (QEMU `virt,gic-version=2`). GICv2 keeps the whole interrupt
/// controller behind MMIO, so it lives with the other device models.
pub const GICD_BASE: u64 = 0x0800_0000;
pub const GICD_SIZE: u64 = 0x1_0000;
/// GICv2 CPU interface.
pub const GICC_BASE: u64 = 0x0801_0000;
pub const GICC_SIZE: u64 = 0x1_0000;

/// PL011 UART.
pub const UART_BASE: u64 = 0x0900_0000;
pub const UART_SIZE: u64 = 0x1000;
/// Its SPI number (GIC INTID = 32 + SPI).
pub const UART_SPI: u32 = 1;

/// PL031 real-time clock.
pub const RTC_BASE: u64 = 0x0901_0000;
pub const RTC_SIZE: u64 = 0x1000;
pub const RTC_SPI: u32 = 2;

/// virtio-mmio transports.
pub const VIRTIO_MMIO_BASE: u64 = 0x0a00_0000;
pub const VIRTIO_MMIO_SIZE: u64 = 0x200;
pub const VIRTIO_MMIO_COUNT: u32 = 32;
pub const VIRTIO_MMIO_FIRST_SPI: u32 = 16;

/// Architected timer PPIs (GIC INTID = 16 + PPI).
pub const TIMER_PPI_SECURE_PHYS: u32 = 13;
pub const TIMER_PPI_NONSECURE_PHYS: u32 = 14;
pub const TIMER_PPI_VIRT: u32 = 11;
pub const TIMER_PPI_HYP: u32 = 10;

/// The arm64 Linux boot protocol: the Image is placed at a 2 MiB aligned address plus
/// its `text_offset`.
pub const KERNEL_ALIGN: u64 = 0x20_0000;
