//! The virtio-mmio transport (virtio 1.x, "version 2" register layout, no legacy).
//!
//! Where the work runs: this model (in the engine's monitor, where the guest's MMIO
//! accesses trap) holds every transport register -- identification, feature
//! negotiation, queue selection and addresses, the status handshake, interrupt status
//! and the config space (a copy the launcher gives at start). Only three register
//! writes leave it, as [`VirtioEvent`]s the machine hands to its host (one hypercall
//! each): DRIVER_OK ([`VirtioEvent::Activate`], with the features and queue
//! addresses), a write of 0 to Status ([`VirtioEvent::Reset`]) and QUEUE_NOTIFY
//! ([`VirtioEvent::Notify`]). The host's back end (the launcher) walks the queue,
//! does all the I/O the queue holds and answers with the interrupt-status bits to
//! raise, so one notify is one exit however many requests it carries; reading and
//! acknowledging the interrupt stay here.
//!
//! The interrupt output is `interrupt_status != 0`. A device whose back end reported
//! a broken queue gets DEVICE_NEEDS_RESET and a configuration interrupt, as the spec
//! asks; the driver resets it.

use alloc::vec::Vec;
use shared_abi::hypercall::virtio::{Activate, QueueConfig, MAX_CONFIG, MAX_QUEUES};

/// "virt" little-endian.
pub const MAGIC: u32 = 0x7472_6976;
/// QEMU's vendor id ("QEMU").
pub const VENDOR: u32 = 0x554d_4551;
/// VIRTIO_F_VERSION_1.
pub const F_VERSION_1: u64 = 1 << 32;

/// Status bits.
pub const S_ACKNOWLEDGE: u32 = 1;
pub const S_DRIVER: u32 = 2;
pub const S_DRIVER_OK: u32 = 4;
pub const S_FEATURES_OK: u32 = 8;
pub const S_NEEDS_RESET: u32 = 0x40;
pub const S_FAILED: u32 = 0x80;

/// Register offsets.
pub mod reg {
    pub const MAGIC: u64 = 0x000;
    pub const VERSION: u64 = 0x004;
    pub const DEVICE_ID: u64 = 0x008;
    pub const VENDOR_ID: u64 = 0x00c;
    pub const DEVICE_FEATURES: u64 = 0x010;
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    pub const DRIVER_FEATURES: u64 = 0x020;
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    pub const QUEUE_SEL: u64 = 0x030;
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    pub const QUEUE_NUM: u64 = 0x038;
    pub const QUEUE_READY: u64 = 0x044;
    pub const QUEUE_NOTIFY: u64 = 0x050;
    pub const INTERRUPT_STATUS: u64 = 0x060;
    pub const INTERRUPT_ACK: u64 = 0x064;
    pub const STATUS: u64 = 0x070;
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    pub const SHM_SEL: u64 = 0x0ac;
    pub const SHM_LEN_LOW: u64 = 0x0b0;
    pub const SHM_LEN_HIGH: u64 = 0x0b4;
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    pub const CONFIG: u64 = 0x100;
}

/// What the host says about the device behind a transport.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VirtioDeviceInfo {
    /// Virtio device id (2 block, 4 entropy, 1 network).
    pub device_id: u32,
    /// Features the device offers (VERSION_1 is always added).
    pub features: u64,
    /// Number of queues (at most [`MAX_QUEUES`]).
    pub num_queues: u16,
    /// QueueNumMax of every queue.
    pub queue_max: u16,
    /// The device's config space (at most [`MAX_CONFIG`] bytes).
    pub config: Vec<u8>,
}

/// A register write the host's back end must see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VirtioEvent {
    Activate(alloc::boxed::Box<Activate>),
    Reset,
    Notify(u16),
}

/// One virtio-mmio transport.
#[derive(Clone, Debug)]
pub struct VirtioMmio {
    info: VirtioDeviceInfo,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    queues: [QueueConfig; MAX_QUEUES],
    interrupt_status: u32,
    status: u32,
    generation: u32,
    /// A write the host must handle (taken by [`VirtioMmio::take_event`]).
    event: Option<VirtioEvent>,
}

impl VirtioMmio {
    /// A transport at reset for `info` (its queue count and config are clamped to the
    /// limits).
    pub fn new(mut info: VirtioDeviceInfo) -> Self {
        info.num_queues = info.num_queues.min(MAX_QUEUES as u16);
        info.config.truncate(MAX_CONFIG);
        info.features |= F_VERSION_1;
        VirtioMmio {
            info,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            queues: [QueueConfig::default(); MAX_QUEUES],
            interrupt_status: 0,
            status: 0,
            generation: 0,
            event: None,
        }
    }

    /// The device id (0: an empty slot).
    pub fn device_id(&self) -> u32 {
        self.info.device_id
    }

    /// The interrupt output.
    pub fn irq_level(&self) -> bool {
        self.interrupt_status != 0
    }

    /// The Status register.
    pub fn status(&self) -> u32 {
        self.status
    }

    /// The event the last write produced, if any.
    pub fn take_event(&mut self) -> Option<VirtioEvent> {
        self.event.take()
    }

    /// The back end's answer to an event or an asynchronous completion:
    /// interrupt-status bits to raise, or that the device failed.
    pub fn complete(&mut self, interrupt: u32, needs_reset: bool) {
        if self.status == 0 {
            // Reset meanwhile: nothing to report.
            return;
        }
        if needs_reset && self.status & S_NEEDS_RESET == 0 {
            self.status |= S_NEEDS_RESET;
            self.interrupt_status |= 2;
        }
        self.interrupt_status |= interrupt & 3;
    }

    fn reset(&mut self) {
        let info = core::mem::take(&mut self.info);
        let generation = self.generation;
        *self = VirtioMmio::new(info);
        self.generation = generation;
    }

    fn queue(&mut self) -> Option<&mut QueueConfig> {
        let n = usize::from(self.info.num_queues);
        let i = self.queue_sel as usize;
        (i < n).then(|| &mut self.queues[i])
    }

    fn read32(&mut self, off: u64) -> u32 {
        let present = self.info.device_id != 0;
        match off {
            reg::MAGIC => MAGIC,
            reg::VERSION => 2,
            reg::DEVICE_ID => self.info.device_id,
            reg::VENDOR_ID if present => VENDOR,
            reg::DEVICE_FEATURES => match self.device_features_sel {
                0 => self.info.features as u32,
                1 => (self.info.features >> 32) as u32,
                _ => 0,
            },
            reg::QUEUE_NUM_MAX => {
                let max = self.info.queue_max;
                self.queue().map_or(0, |_| u32::from(max))
            }
            reg::QUEUE_NUM => self.queue().map_or(0, |q| u32::from(q.size)),
            reg::QUEUE_READY => self.queue().map_or(0, |q| u32::from(q.ready)),
            reg::QUEUE_DESC_LOW => self.queue().map_or(0, |q| q.desc as u32),
            reg::QUEUE_DESC_HIGH => self.queue().map_or(0, |q| (q.desc >> 32) as u32),
            reg::QUEUE_DRIVER_LOW => self.queue().map_or(0, |q| q.driver as u32),
            reg::QUEUE_DRIVER_HIGH => self.queue().map_or(0, |q| (q.driver >> 32) as u32),
            reg::QUEUE_DEVICE_LOW => self.queue().map_or(0, |q| q.device as u32),
            reg::QUEUE_DEVICE_HIGH => self.queue().map_or(0, |q| (q.device >> 32) as u32),
            reg::INTERRUPT_STATUS => self.interrupt_status,
            reg::STATUS => self.status,
            // No shared memory regions: length all ones.
            reg::SHM_LEN_LOW | reg::SHM_LEN_HIGH => u32::MAX,
            reg::CONFIG_GENERATION => self.generation,
            _ => 0,
        }
    }

    fn set_queue(&mut self, f: impl FnOnce(&mut QueueConfig)) {
        // Queue layout changes only while the queue is not ready (spec 4.2.2.2).
        if self.status & S_DRIVER_OK != 0 {
            return;
        }
        if let Some(q) = self.queue() {
            if !q.ready {
                f(q);
            }
        }
    }

    fn write32(&mut self, off: u64, v: u32) {
        let lo = |x: &mut u64| *x = (*x & !0xffff_ffff) | u64::from(v);
        let hi = |x: &mut u64| *x = (*x & 0xffff_ffff) | u64::from(v) << 32;
        match off {
            reg::DEVICE_FEATURES_SEL => self.device_features_sel = v,
            reg::DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            reg::DRIVER_FEATURES if self.status & S_FEATURES_OK == 0 => {
                match self.driver_features_sel {
                    0 => lo(&mut self.driver_features),
                    1 => hi(&mut self.driver_features),
                    _ => {}
                }
            }
            reg::QUEUE_SEL => self.queue_sel = v,
            reg::QUEUE_NUM => {
                // Any size up to 2^16 is stored; the back end refuses a bad one at
                // activation (the device then needs a reset).
                self.set_queue(|q| q.size = v.min(0xffff) as u16);
            }
            reg::QUEUE_READY => {
                if let Some(q) = self.queue() {
                    q.ready = v & 1 != 0;
                }
            }
            reg::QUEUE_DESC_LOW => self.set_queue(|q| lo(&mut q.desc)),
            reg::QUEUE_DESC_HIGH => self.set_queue(|q| hi(&mut q.desc)),
            reg::QUEUE_DRIVER_LOW => self.set_queue(|q| lo(&mut q.driver)),
            reg::QUEUE_DRIVER_HIGH => self.set_queue(|q| hi(&mut q.driver)),
            reg::QUEUE_DEVICE_LOW => self.set_queue(|q| lo(&mut q.device)),
            reg::QUEUE_DEVICE_HIGH => self.set_queue(|q| hi(&mut q.device)),
            reg::QUEUE_NOTIFY => {
                let ok = S_DRIVER_OK | S_NEEDS_RESET | S_FAILED;
                if self.status & ok == S_DRIVER_OK && v < u32::from(self.info.num_queues) {
                    self.event = Some(VirtioEvent::Notify(v as u16));
                }
            }
            reg::INTERRUPT_ACK => self.interrupt_status &= !v,
            reg::STATUS => self.write_status(v),
            _ => {}
        }
    }

    fn write_status(&mut self, v: u32) {
        if self.info.device_id == 0 {
            return;
        }
        if v == 0 {
            let was_active = self.status & S_DRIVER_OK != 0;
            self.reset();
            if was_active {
                self.event = Some(VirtioEvent::Reset);
            }
            return;
        }
        let old = self.status;
        let mut new = (v & 0xff & !S_NEEDS_RESET) | (old & S_NEEDS_RESET);
        if new & S_FEATURES_OK != 0 && old & S_FEATURES_OK == 0 {
            // Only offered features, and never the legacy interface.
            let ok = self.driver_features & !self.info.features == 0
                && self.driver_features & F_VERSION_1 != 0;
            if !ok {
                new &= !S_FEATURES_OK;
            }
        }
        if new & S_DRIVER_OK != 0 && old & S_DRIVER_OK == 0 {
            if new & S_FEATURES_OK == 0 {
                new &= !S_DRIVER_OK;
            } else {
                self.event = Some(VirtioEvent::Activate(alloc::boxed::Box::new(Activate {
                    features: self.driver_features,
                    num_queues: usize::from(self.info.num_queues),
                    queues: self.queues,
                })));
            }
        }
        self.status = new;
    }

    fn config_read(&self, off: u64, size: u8) -> u64 {
        let c = &self.info.config;
        let mut v = 0u64;
        for i in 0..u64::from(size) {
            let b = off
                .checked_add(i)
                .and_then(|o| c.get(usize::try_from(o).ok()?))
                .copied()
                .unwrap_or(0);
            v |= u64::from(b) << (8 * i);
        }
        v
    }
}

impl super::Mmio for VirtioMmio {
    fn read(&mut self, offset: u64, size: u8) -> u64 {
        if offset >= reg::CONFIG {
            return self.config_read(offset - reg::CONFIG, size);
        }
        // The transport registers are 32-bit wide; other accesses read as zero.
        if size != 4 || !offset.is_multiple_of(4) {
            return 0;
        }
        u64::from(self.read32(offset))
    }

    fn write(&mut self, offset: u64, size: u8, value: u64) {
        // Config-space writes are ignored: our devices have no writable fields.
        if offset >= reg::CONFIG || size != 4 || !offset.is_multiple_of(4) {
            return;
        }
        self.write32(offset, value as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mmio;
    use super::*;

    fn blk() -> VirtioMmio {
        VirtioMmio::new(VirtioDeviceInfo {
            device_id: 2,
            features: 1 << 9,
            num_queues: 1,
            queue_max: 256,
            config: (0u8..60).collect(),
        })
    }

    /// Linux's virtio_mmio probe and virtio core handshake, then a notify.
    #[test]
    fn linux_handshake() {
        let mut d = blk();
        assert_eq!(d.read(reg::MAGIC, 4), u64::from(MAGIC));
        assert_eq!(d.read(reg::VERSION, 4), 2);
        assert_eq!(d.read(reg::DEVICE_ID, 4), 2);
        assert_eq!(d.read(reg::VENDOR_ID, 4), u64::from(VENDOR));
        d.write(reg::STATUS, 4, 0);
        assert_eq!(d.take_event(), None, "reset of an inactive device");
        d.write(reg::STATUS, 4, 1);
        d.write(reg::STATUS, 4, 3);
        d.write(reg::DEVICE_FEATURES_SEL, 4, 1);
        assert_eq!(d.read(reg::DEVICE_FEATURES, 4), 1);
        d.write(reg::DEVICE_FEATURES_SEL, 4, 0);
        assert_eq!(d.read(reg::DEVICE_FEATURES, 4), 1 << 9);
        d.write(reg::DRIVER_FEATURES_SEL, 4, 1);
        d.write(reg::DRIVER_FEATURES, 4, 1);
        d.write(reg::DRIVER_FEATURES_SEL, 4, 0);
        d.write(reg::DRIVER_FEATURES, 4, 1 << 9);
        d.write(reg::STATUS, 4, 0xb);
        assert_eq!(d.read(reg::STATUS, 4), 0xb, "features accepted");
        // Config space, byte and word reads.
        assert_eq!(d.read(reg::CONFIG, 1), 0);
        assert_eq!(d.read(reg::CONFIG + 4, 4), 0x0706_0504);
        assert_eq!(d.read(reg::CONFIG + 8, 8), 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(d.read(reg::CONFIG + 59, 2), 59, "past the end reads zero");
        // Queue 0.
        d.write(reg::QUEUE_SEL, 4, 0);
        assert_eq!(d.read(reg::QUEUE_READY, 4), 0);
        assert_eq!(d.read(reg::QUEUE_NUM_MAX, 4), 256);
        d.write(reg::QUEUE_NUM, 4, 128);
        d.write(reg::QUEUE_DESC_LOW, 4, 0x4000_0000);
        d.write(reg::QUEUE_DESC_HIGH, 4, 0);
        d.write(reg::QUEUE_DRIVER_LOW, 4, 0x4000_1000);
        d.write(reg::QUEUE_DEVICE_LOW, 4, 0x4000_2000);
        d.write(reg::QUEUE_READY, 4, 1);
        d.write(reg::QUEUE_SEL, 4, 1);
        assert_eq!(d.read(reg::QUEUE_NUM_MAX, 4), 0, "no queue 1");
        d.write(reg::QUEUE_NOTIFY, 4, 0);
        assert_eq!(d.take_event(), None, "no notify before DRIVER_OK");
        d.write(reg::STATUS, 4, 0xf);
        match d.take_event() {
            Some(VirtioEvent::Activate(a)) => {
                assert_eq!(a.features, 1 << 32 | 1 << 9);
                assert_eq!(a.num_queues, 1);
                assert_eq!(
                    a.queues[0],
                    QueueConfig {
                        size: 128,
                        ready: true,
                        desc: 0x4000_0000,
                        driver: 0x4000_1000,
                        device: 0x4000_2000
                    }
                );
            }
            e => panic!("{e:?}"),
        }
        d.write(reg::QUEUE_NOTIFY, 4, 0);
        assert_eq!(d.take_event(), Some(VirtioEvent::Notify(0)));
        d.write(reg::QUEUE_NOTIFY, 4, 1);
        assert_eq!(d.take_event(), None, "no such queue");
        assert!(!d.irq_level());
        d.complete(1, false);
        assert!(d.irq_level());
        assert_eq!(d.read(reg::INTERRUPT_STATUS, 4), 1);
        d.write(reg::INTERRUPT_ACK, 4, 1);
        assert!(!d.irq_level());
        d.write(reg::STATUS, 4, 0);
        assert_eq!(d.take_event(), Some(VirtioEvent::Reset));
        assert_eq!(d.read(reg::STATUS, 4), 0);
        d.write(reg::QUEUE_SEL, 4, 0);
        assert_eq!(d.read(reg::QUEUE_READY, 4), 0, "reset clears the queues");
    }

    #[test]
    fn refuses_legacy_and_unknown_features() {
        let mut d = blk();
        d.write(reg::STATUS, 4, 3);
        d.write(reg::DRIVER_FEATURES, 4, 1 << 9);
        d.write(reg::STATUS, 4, 0xb);
        assert_eq!(d.read(reg::STATUS, 4), 3, "no VERSION_1: no FEATURES_OK");
        d.write(reg::STATUS, 4, 0xf);
        assert_eq!(d.take_event(), None, "no DRIVER_OK without FEATURES_OK");
        d.write(reg::DRIVER_FEATURES_SEL, 4, 1);
        d.write(reg::DRIVER_FEATURES, 4, 1 | 2);
        d.write(reg::STATUS, 4, 0xb);
        assert_eq!(d.read(reg::STATUS, 4), 3, "feature 33 was not offered");
    }

    #[test]
    fn needs_reset() {
        let mut d = blk();
        d.write(reg::STATUS, 4, 3);
        d.write(reg::DRIVER_FEATURES_SEL, 4, 1);
        d.write(reg::DRIVER_FEATURES, 4, 1);
        d.write(reg::STATUS, 4, 0xb);
        d.write(reg::STATUS, 4, 0xf);
        assert!(matches!(d.take_event(), Some(VirtioEvent::Activate(_))));
        d.complete(0, true);
        assert_eq!(d.read(reg::STATUS, 4), 0x4f);
        assert_eq!(d.read(reg::INTERRUPT_STATUS, 4), 2, "config interrupt");
        d.write(reg::QUEUE_NOTIFY, 4, 0);
        assert_eq!(
            d.take_event(),
            None,
            "a failed device gets no more notifies"
        );
        d.write(reg::STATUS, 4, 0);
        assert_eq!(d.read(reg::STATUS, 4), 0);
        assert!(!d.irq_level());
    }

    #[test]
    fn empty_slot() {
        let mut d = VirtioMmio::new(VirtioDeviceInfo::default());
        assert_eq!(d.read(reg::MAGIC, 4), u64::from(MAGIC));
        assert_eq!(d.read(reg::DEVICE_ID, 4), 0);
        d.write(reg::STATUS, 4, 0xf);
        assert_eq!(d.read(reg::STATUS, 4), 0);
        assert_eq!(d.take_event(), None);
        // Odd sizes read as zero.
        assert_eq!(d.read(reg::MAGIC, 2), 0);
    }
}
