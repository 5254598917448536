//! Hypercalls from the engine to the launcher.
//!
//! The engine fills a [`HypercallBlock`] in VM-physical memory (8-byte aligned, below
//! 4 GiB) and writes its physical address with a 32-bit `out` to [`HYPERCALL_PORT`]
//! (from ring 0: ring-3 port I/O faults on our hosts). The launcher validates the block
//! address and every argument, performs the call, and writes `status` and `ret`.

/// The I/O port the engine writes a block's physical address to.
pub const HYPERCALL_PORT: u16 = 0x07e0;

/// Largest buffer a single console read or write may name.
pub const MAX_IO_LEN: u64 = 1 << 20;

/// Largest exit message the launcher prints.
pub const MAX_EXIT_MSG: u64 = 4096;

/// Hypercall numbers (`HypercallBlock::nr`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hypercall {
    /// args: [paddr, len] -> ret[0] = bytes written.
    ConsoleWrite = 1,
    /// Non-blocking. args: [paddr, capacity] -> ret[0] = bytes read (0: none pending).
    ConsoleRead = 2,
    /// args: [code, msg paddr, msg len]. Does not return. Code 0 = success.
    Exit = 3,
    /// ret[0] = monotonic nanoseconds since launcher start, ret[1] = TSC frequency in Hz,
    /// ret[2] = wall-clock nanoseconds since the Unix epoch.
    Clock = 4,
    /// ret[0] = guest image paddr, ret[1] = its length,
    /// ret[2] = initrd paddr (0 if none), ret[3] = initrd length.
    GuestInfo = 5,
    /// args: [paddr, capacity] of a buffer that receives the kernel command line
    /// (`--append`). ret[0] = [`BootFlags`] bits, ret[1] = guest RAM bytes,
    /// ret[2] = command-line length (may exceed capacity: then it is truncated),
    /// ret[3] = nanoseconds from launcher start to the engine's first hypercall.
    BootConfig = 6,
    /// The virtio devices (see [`virtio`]). args[0] = the operation ([`virtio::op`]),
    /// the rest as that operation says.
    Virtio = 7,
}

impl Hypercall {
    pub fn from_u32(v: u32) -> Option<Hypercall> {
        Some(match v {
            1 => Hypercall::ConsoleWrite,
            2 => Hypercall::ConsoleRead,
            3 => Hypercall::Exit,
            4 => Hypercall::Clock,
            5 => Hypercall::GuestInfo,
            6 => Hypercall::BootConfig,
            7 => Hypercall::Virtio,
            _ => return None,
        })
    }
}

/// The virtio hypercall. The engine models the virtio-mmio transports (registers,
/// interrupt status, status handshake); the launcher owns the device back ends and the
/// queues: it reads the rings and descriptors in guest RAM (each address and length
/// checked against it), does the I/O and writes the used ring. A `QUEUE_NOTIFY` costs
/// one hypercall that handles every request the queue holds.
pub mod virtio {
    /// Operations (`args[0]`).
    pub mod op {
        /// args: [op, guest RAM VM-physical address, guest RAM bytes] (guest RAM starts
        /// at `guest::RAM_BASE` in the guest's physical map). ret[0] = number of devices;
        /// they sit in transport slots `0..n`.
        pub const SETUP: u64 = 0;
        /// args: [op, slot, buffer paddr, capacity] -> ret[0] = device id (0: none),
        /// ret[1] = device features, ret[2] = queues | max queue size << 16,
        /// ret[3] = config-space length; the config space is copied to the buffer.
        pub const QUERY: u64 = 1;
        /// The driver set DRIVER_OK. args: [op, slot, paddr, len] of an
        /// [`super::Activate`] record. ret[0] = [`super::NEEDS_RESET`] if the device
        /// refuses the configuration.
        pub const ACTIVATE: u64 = 2;
        /// The driver wrote 0 to Status. args: [op, slot].
        pub const RESET: u64 = 3;
        /// QUEUE_NOTIFY. args: [op, slot, queue]. ret[0] = interrupt-status bits to
        /// raise ([`super::INT_VRING`], [`super::INT_CONFIG`]) | [`super::NEEDS_RESET`].
        pub const NOTIFY: u64 = 4;
        /// After the `VIRTIO` interrupt: what the back ends completed on their own.
        /// args: [op]. ret[0] = slots with used buffers to signal (bit per slot),
        /// ret[1] = slots that failed (NEEDS_RESET).
        pub const POLL: u64 = 5;
    }

    /// Interrupt status: used buffers were added.
    pub const INT_VRING: u64 = 1;
    /// Interrupt status: the configuration changed.
    pub const INT_CONFIG: u64 = 2;
    /// The device failed (a bad ring or descriptor): the transport sets
    /// DEVICE_NEEDS_RESET and raises a configuration interrupt.
    pub const NEEDS_RESET: u64 = 1 << 32;

    /// Most queues per device.
    pub const MAX_QUEUES: usize = 8;
    /// Most config-space bytes.
    pub const MAX_CONFIG: usize = 256;

    /// One queue's configuration as the driver left it.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct QueueConfig {
        pub size: u16,
        pub ready: bool,
        pub desc: u64,
        pub driver: u64,
        pub device: u64,
    }

    /// What [`op::ACTIVATE`] passes: the negotiated features and the queues.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Activate {
        pub features: u64,
        pub num_queues: usize,
        pub queues: [QueueConfig; MAX_QUEUES],
    }

    impl Activate {
        /// Bytes of the wire form: features, count, then 32 bytes per queue.
        pub const SIZE: usize = 16 + 32 * MAX_QUEUES;

        pub fn to_bytes(&self) -> [u8; Self::SIZE] {
            let mut b = [0u8; Self::SIZE];
            b[0..8].copy_from_slice(&self.features.to_le_bytes());
            b[8..16].copy_from_slice(&(self.num_queues as u64).to_le_bytes());
            for (i, q) in self.queues.iter().enumerate() {
                let o = 16 + 32 * i;
                let head = u64::from(q.size) | u64::from(q.ready) << 16;
                b[o..o + 8].copy_from_slice(&head.to_le_bytes());
                b[o + 8..o + 16].copy_from_slice(&q.desc.to_le_bytes());
                b[o + 16..o + 24].copy_from_slice(&q.driver.to_le_bytes());
                b[o + 24..o + 32].copy_from_slice(&q.device.to_le_bytes());
            }
            b
        }

        /// `None` when the count is above [`MAX_QUEUES`] or reserved bits are set.
        pub fn from_bytes(b: &[u8; Self::SIZE]) -> Option<Activate> {
            let u = |o: usize| {
                let mut x = [0u8; 8];
                x.copy_from_slice(&b[o..o + 8]);
                u64::from_le_bytes(x)
            };
            let n = u(8);
            if n > MAX_QUEUES as u64 {
                return None;
            }
            let mut a = Activate {
                features: u(0),
                num_queues: n as usize,
                ..Default::default()
            };
            for (i, q) in a.queues.iter_mut().enumerate() {
                let o = 16 + 32 * i;
                let head = u(o);
                if head >> 17 != 0 {
                    return None;
                }
                *q = QueueConfig {
                    size: head as u16,
                    ready: head >> 16 & 1 != 0,
                    desc: u(o + 8),
                    driver: u(o + 16),
                    device: u(o + 24),
                };
            }
            Some(a)
        }
    }
}

/// Status codes in `HypercallBlock::status`.
pub mod status {
    pub const OK: u32 = 0;
    /// Unknown hypercall number.
    pub const ENOSYS: u32 = 1;
    /// An address argument lies (partly) outside VM memory.
    pub const EFAULT: u32 = 2;
    /// A length argument is too large.
    pub const E2BIG: u32 = 3;
    /// An argument is malformed (bad alignment, reserved bits set, ...).
    pub const EINVAL: u32 = 4;
    /// The host failed to perform the call (I/O error).
    pub const EIO: u32 = 5;
}

/// Flags in `BootConfig` ret[0].
pub mod boot_flags {
    /// Run the engine self-tests instead of a guest and exit with their verdict.
    pub const SELFTEST: u64 = 1 << 0;
    /// Print statistics and calibration figures on exit.
    pub const STATS: u64 = 1 << 1;
    /// Run guest code on the interpreter only (`--cpu interp`).
    pub const INTERP: u64 = 1 << 2;
}

/// Codes the engine passes to [`Hypercall::Exit`].
pub mod exit_code {
    pub const SUCCESS: u64 = 0;
    /// The guest or the self-tests failed.
    pub const FAILURE: u64 = 1;
    /// The engine panicked; the message says where.
    pub const PANIC: u64 = 2;
    /// A fatal CPU exception in ring 0.
    pub const RING0_FAULT: u64 = 3;
    /// The guest image was rejected.
    pub const BAD_GUEST: u64 = 4;
    /// Not enough memory for the engine or the guest.
    pub const NO_MEMORY: u64 = 5;
    /// The guest kernel panicked (its console printed "Kernel panic - not syncing").
    pub const GUEST_PANIC: u64 = 6;
}

/// The hypercall parameter block.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HypercallBlock {
    pub nr: u32,
    pub status: u32,
    pub args: [u64; 4],
    pub ret: [u64; 4],
}

impl HypercallBlock {
    pub const SIZE: usize = core::mem::size_of::<HypercallBlock>();

    pub fn new(nr: Hypercall, args: [u64; 4]) -> Self {
        HypercallBlock {
            nr: nr as u32,
            status: u32::MAX,
            args,
            ret: [0; 4],
        }
    }

    /// Little-endian wire form (what lies in VM memory).
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.status.to_le_bytes());
        for (i, a) in self.args.iter().chain(self.ret.iter()).enumerate() {
            b[8 + i * 8..16 + i * 8].copy_from_slice(&a.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> Self {
        let u64_at = |o: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(x)
        };
        let mut blk = HypercallBlock {
            nr: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            status: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            ..Default::default()
        };
        for i in 0..4 {
            blk.args[i] = u64_at(8 + i * 8);
            blk.ret[i] = u64_at(40 + i * 8);
        }
        blk
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_layout() {
        assert_eq!(HypercallBlock::SIZE, 72);
        let b = HypercallBlock {
            nr: 5,
            status: 7,
            args: [1, 2, 3, 4],
            ret: [5, 6, 7, 8],
        };
        assert_eq!(HypercallBlock::from_bytes(&b.to_bytes()), b);
        let mut a = virtio::Activate {
            features: 1 << 32 | 7,
            num_queues: 2,
            ..Default::default()
        };
        a.queues[1] = virtio::QueueConfig {
            size: 256,
            ready: true,
            desc: 0x4000_1000,
            driver: 0x4000_2000,
            device: 0x4000_3000,
        };
        assert_eq!(virtio::Activate::from_bytes(&a.to_bytes()), Some(a));
        let mut raw = a.to_bytes();
        raw[8] = 9;
        assert_eq!(virtio::Activate::from_bytes(&raw), None, "too many queues");
        let mut raw = a.to_bytes();
        raw[16 + 32 + 2] = 2;
        assert_eq!(virtio::Activate::from_bytes(&raw), None, "reserved bits");
        for n in 0..10 {
            if let Some(h) = Hypercall::from_u32(n) {
                assert_eq!(h as u32, n);
            }
        }
    }
}
