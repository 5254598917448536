//! The virtio device back ends and their queues (the launcher's half of virtio).
//!
//! The split (see also `virt::dev::virtio_mmio` and `shared_abi::hypercall::virtio`):
//!
//! * the engine models the virtio-mmio transport registers (where the guest's MMIO
//!   accesses trap), so probing, feature negotiation, queue setup, reading and
//!   acknowledging the interrupt cost no VM exit;
//! * DRIVER_OK, a reset and QUEUE_NOTIFY each become one `Virtio` hypercall, serviced
//!   here by [`VirtioHost`];
//! * on a notify the device ([`VirtioDevice`]) handles every request the queue holds:
//!   `virtio-queue` walks the rings, [`Chain::collect`] checks every descriptor's
//!   address and length against guest RAM (a `vm-memory` map of exactly guest RAM), the
//!   device does the I/O on the host and writes the used ring; the hypercall returns
//!   the interrupt bits and the engine raises the SPI.
//!
//! A guest that breaks the contract (a ring or descriptor outside RAM, a looping
//! chain, a bad queue size, a malformed request) fails only its device: it gets
//! DEVICE_NEEDS_RESET and stops being served until the driver resets it. Bad
//! hypercall arguments (from the engine) get a status code; nothing here panics.

pub mod blk;
pub mod net;
pub mod rng;

use std::collections::VecDeque;

use shared_abi::hypercall::status;
use shared_abi::hypercall::virtio::{
    op, Activate, QueueConfig, INT_VRING, MAX_CONFIG, MAX_QUEUES, NEEDS_RESET,
};
use virtio_queue::{Queue, QueueOwnedT, QueueT};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestRegionMmap};

use crate::memory::GuestMemory;

/// Guest RAM as the device back ends see it: one region at `guest::RAM_BASE`.
pub type Mem = GuestMemoryMmap<()>;

/// VIRTIO_F_VERSION_1.
pub const F_VERSION_1: u64 = 1 << virtio_bindings::virtio_config::VIRTIO_F_VERSION_1;
/// VIRTIO_RING_F_INDIRECT_DESC.
pub const F_INDIRECT_DESC: u64 = 1 << virtio_bindings::virtio_ring::VIRTIO_RING_F_INDIRECT_DESC;

/// Why a device stopped: the guest broke the virtio contract.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("bad queue: {0}")]
    Queue(#[from] virtio_queue::Error),
    #[error("bad descriptor chain: {0}")]
    Chain(&'static str),
    #[error("bad request: {0}")]
    Request(&'static str),
    #[error("guest memory: {0}")]
    Memory(#[from] vm_memory::GuestMemoryError),
}

/// One device model behind a virtio-mmio transport.
pub trait VirtioDevice: Send {
    /// Its name in messages (`virtio-blk`).
    fn name(&self) -> &'static str;
    /// The virtio device id.
    fn device_id(&self) -> u32;
    /// The features it offers (VERSION_1 included).
    fn features(&self) -> u64;
    /// How many queues it has.
    fn num_queues(&self) -> u16;
    /// QueueNumMax of its queues.
    fn queue_max(&self) -> u16 {
        256
    }
    /// Its config space.
    fn config(&self) -> Vec<u8>;
    /// Handles one request: returns the bytes written into the chain's writable part
    /// (the used length).
    fn request(&mut self, queue: u16, chain: &Chain, mem: &Mem) -> Result<u32, DeviceError>;
    /// The driver set DRIVER_OK with these queues. A device that serves a queue on its
    /// own thread takes it out here (leaving a queue that is not ready).
    fn activate(&mut self, _queues: &mut [Queue], _mem: &Mem) {}
    /// The driver reset the device.
    fn reset(&mut self) {}
    /// A notify for a queue the device took at activation: `Some(used?)`; `None`
    /// lets the common code serve the queue with [`VirtioDevice::request`].
    fn notify(&mut self, _queue: u16) -> Option<Result<bool, DeviceError>> {
        None
    }
    /// What the device completed on its own since the last call: (used buffers were
    /// added, the device failed).
    fn poll(&mut self) -> (bool, bool) {
        (false, false)
    }
}

/// A descriptor chain, checked: every buffer lies in guest RAM, the readable buffers
/// come first, the chain ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chain {
    pub head: u16,
    /// (guest address, length) of the device-readable buffers, in order.
    pub readable: Vec<(u64, u32)>,
    /// The device-writable ones.
    pub writable: Vec<(u64, u32)>,
}

impl Chain {
    /// Walks `chain` (virtio-queue follows `next` and indirect tables, at most the
    /// table's size of descriptors) and checks it.
    pub fn collect<M>(
        chain: virtio_queue::DescriptorChain<M>,
        mem: &Mem,
    ) -> Result<Chain, DeviceError>
    where
        M: std::ops::Deref,
        M::Target: vm_memory::GuestMemory,
    {
        let mut c = Chain {
            head: chain.head_index(),
            ..Default::default()
        };
        let mut more = true;
        let mut n = 0usize;
        for d in chain {
            n += 1;
            let (addr, len) = (d.addr().0, d.len());
            if !GuestMemoryBackend::check_range(mem, GuestAddress(addr), len as usize) {
                return Err(DeviceError::Chain("a buffer lies outside guest RAM"));
            }
            if d.is_write_only() {
                c.writable.push((addr, len));
            } else if !c.writable.is_empty() {
                return Err(DeviceError::Chain("a readable buffer after a writable one"));
            } else {
                c.readable.push((addr, len));
            }
            more = d.has_next();
        }
        if n == 0 {
            return Err(DeviceError::Chain(
                "the head or the descriptor table is invalid",
            ));
        }
        if more {
            // The walk stopped with `next` still set: a loop, a chain longer than the
            // table, a `next` out of the table, or a table outside RAM.
            return Err(DeviceError::Chain(
                "the chain loops or leaves its descriptor table",
            ));
        }
        Ok(c)
    }
}

/// A cursor over a list of guest buffers.
#[derive(Clone, Debug, Default)]
pub struct Segs(VecDeque<(u64, u32)>);

impl Segs {
    pub fn new(bufs: &[(u64, u32)]) -> Segs {
        Segs(bufs.iter().copied().filter(|b| b.1 != 0).collect())
    }

    /// Bytes left.
    pub fn len(&self) -> u64 {
        self.0.iter().map(|b| u64::from(b.1)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next `n` bytes as buffers (None: fewer are left).
    pub fn take(&mut self, mut n: u64) -> Option<Vec<(u64, u32)>> {
        if self.len() < n {
            return None;
        }
        let mut out = Vec::new();
        while n > 0 {
            let (a, l) = self.0.pop_front()?;
            if u64::from(l) <= n {
                out.push((a, l));
                n -= u64::from(l);
            } else {
                out.push((a, n as u32));
                self.0.push_front((a + n, l - n as u32));
                n = 0;
            }
        }
        Some(out)
    }

    /// The last `n` bytes as buffers.
    pub fn take_back(&mut self, mut n: u64) -> Option<Vec<(u64, u32)>> {
        if self.len() < n {
            return None;
        }
        let mut out = Vec::new();
        while n > 0 {
            let (a, l) = self.0.pop_back()?;
            if u64::from(l) <= n {
                out.insert(0, (a, l));
                n -= u64::from(l);
            } else {
                let keep = l - n as u32;
                out.insert(0, (a + u64::from(keep), n as u32));
                self.0.push_back((a, keep));
                n = 0;
            }
        }
        Some(out)
    }

    /// Reads the next `n` bytes (n small: headers).
    pub fn read(&mut self, mem: &Mem, n: u64) -> Result<Vec<u8>, DeviceError> {
        let bufs = self
            .take(n)
            .ok_or(DeviceError::Request("the request is too short"))?;
        let mut out = Vec::with_capacity(n as usize);
        for (a, l) in bufs {
            let at = out.len();
            out.resize(at + l as usize, 0);
            mem.read_slice(&mut out[at..], GuestAddress(a))?;
        }
        Ok(out)
    }

    /// The remaining buffers.
    pub fn rest(&mut self) -> Vec<(u64, u32)> {
        self.0.drain(..).collect()
    }
}

/// Writes `data` across `bufs` (as far as they reach); returns the bytes written.
pub fn write_bufs(mem: &Mem, bufs: &[(u64, u32)], mut data: &[u8]) -> Result<u32, DeviceError> {
    let mut n = 0u32;
    for &(a, l) in bufs {
        if data.is_empty() {
            break;
        }
        let k = (l as usize).min(data.len());
        mem.write_slice(&data[..k], GuestAddress(a))?;
        data = &data[k..];
        n += k as u32;
    }
    Ok(n)
}

/// A device in its transport slot.
struct Slot {
    dev: Box<dyn VirtioDevice>,
    queues: Vec<Queue>,
    active: bool,
    /// Failed (NEEDS_RESET reported) until the driver resets it.
    broken: bool,
}

/// The `Virtio` hypercall server: the devices, their queues and the map of guest RAM.
pub struct VirtioHost {
    slots: Vec<Slot>,
    mem: Option<Mem>,
    /// Requests served, for `--stats`.
    pub requests: u64,
    /// Notifies served.
    pub notifies: u64,
}

type Reply = Result<[u64; 4], u32>;

impl VirtioHost {
    pub fn new(devices: Vec<Box<dyn VirtioDevice>>) -> VirtioHost {
        VirtioHost {
            slots: devices
                .into_iter()
                .map(|dev| Slot {
                    dev,
                    queues: Vec::new(),
                    active: false,
                    broken: false,
                })
                .collect(),
            mem: None,
            requests: 0,
            notifies: 0,
        }
    }

    /// Services one `Virtio` hypercall (`args[0]` is the operation).
    pub fn call(&mut self, vm: &GuestMemory, args: &[u64; 4]) -> Reply {
        let slot_of = |s: &mut Vec<Slot>, i: u64| -> Result<usize, u32> {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < s.len())
                .ok_or(status::EINVAL)
        };
        match args[0] {
            op::SETUP => {
                if args[3] != 0 {
                    return Err(status::EINVAL);
                }
                let (paddr, size) = (args[1], args[2]);
                let off = vm.range(paddr, size).map_err(|_| status::EFAULT)?;
                if size == 0 || !paddr.is_multiple_of(4096) || !size.is_multiple_of(4096) {
                    return Err(status::EINVAL);
                }
                // SAFETY: `range` checked that [paddr, paddr + size) lies inside the VM
                // mapping, which lives as long as the launcher's VM (longer than this
                // host); vm-memory gets the same protection and flags the mapping has,
                // and does not unmap a raw region.
                let region = unsafe {
                    vm_memory::MmapRegion::build_raw(
                        (vm.host_addr() as *mut u8).add(off),
                        size as usize,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    )
                }
                .map_err(|_| status::EINVAL)?;
                let region =
                    GuestRegionMmap::new(region, GuestAddress(shared_abi::guest::RAM_BASE))
                        .ok_or(status::EINVAL)?;
                let mem =
                    GuestMemoryMmap::from_regions(vec![region]).map_err(|_| status::EINVAL)?;
                self.mem = Some(mem);
                for s in &mut self.slots {
                    s.queues.clear();
                    s.active = false;
                    s.broken = false;
                }
                Ok([self.slots.len() as u64, 0, 0, 0])
            }
            op::QUERY => {
                let i = slot_of(&mut self.slots, args[1])?;
                let dev = &self.slots[i].dev;
                let mut config = dev.config();
                config.truncate(MAX_CONFIG);
                let n = config.len().min(args[3] as usize);
                vm.range(args[2], args[3]).map_err(|_| status::EFAULT)?;
                vm.write(args[2], &config[..n])
                    .map_err(|_| status::EFAULT)?;
                let queues = u64::from(dev.num_queues().min(MAX_QUEUES as u16));
                Ok([
                    u64::from(dev.device_id()),
                    dev.features(),
                    queues | u64::from(dev.queue_max()) << 16,
                    config.len() as u64,
                ])
            }
            op::ACTIVATE => {
                let i = slot_of(&mut self.slots, args[1])?;
                if args[3] != Activate::SIZE as u64 {
                    return Err(status::EINVAL);
                }
                let mut raw = [0u8; Activate::SIZE];
                vm.read(args[2], &mut raw).map_err(|_| status::EFAULT)?;
                let a = Activate::from_bytes(&raw).ok_or(status::EINVAL)?;
                let mem = self.mem.as_ref().ok_or(status::EINVAL)?;
                let s = &mut self.slots[i];
                match activate(s.dev.as_ref(), &a, mem) {
                    Ok(mut queues) => {
                        s.dev.activate(&mut queues, mem);
                        s.queues = queues;
                        s.active = true;
                        s.broken = false;
                        Ok([0; 4])
                    }
                    Err(e) => {
                        s.broken = true;
                        report(s.dev.name(), &e);
                        Ok([NEEDS_RESET, 0, 0, 0])
                    }
                }
            }
            op::RESET => {
                let i = slot_of(&mut self.slots, args[1])?;
                let s = &mut self.slots[i];
                s.queues.clear();
                s.active = false;
                s.broken = false;
                s.dev.reset();
                Ok([0; 4])
            }
            op::POLL => {
                let (mut used, mut failed) = (0u64, 0u64);
                for (i, s) in self.slots.iter_mut().enumerate() {
                    let (u, f) = s.dev.poll();
                    if !s.active {
                        continue;
                    }
                    if f && !s.broken {
                        s.broken = true;
                        eprint!(
                            "\r\nlauncher: {}: the guest broke the device, it needs a reset\r\n",
                            s.dev.name()
                        );
                    }
                    used |= u64::from(u) << i;
                    failed |= u64::from(s.broken && f) << i;
                }
                Ok([used, failed, 0, 0])
            }
            op::NOTIFY => {
                let i = slot_of(&mut self.slots, args[1])?;
                let mem = self.mem.as_ref().ok_or(status::EINVAL)?;
                let s = &mut self.slots[i];
                let q = usize::try_from(args[2])
                    .ok()
                    .filter(|&q| q < usize::from(s.dev.num_queues()))
                    .ok_or(status::EINVAL)?;
                if s.broken {
                    return Ok([NEEDS_RESET, 0, 0, 0]);
                }
                if !s.active {
                    return Ok([0; 4]);
                }
                self.notifies += 1;
                if let Some(r) = s.dev.notify(q as u16) {
                    return Ok(match r {
                        Ok(used) => [if used { INT_VRING } else { 0 }, 0, 0, 0],
                        Err(e) => {
                            s.broken = true;
                            report(s.dev.name(), &e);
                            [NEEDS_RESET, 0, 0, 0]
                        }
                    });
                }
                match serve(s.dev.as_mut(), q as u16, &mut s.queues[q], mem) {
                    Ok((n, used)) => {
                        self.requests += n;
                        Ok([if used { INT_VRING } else { 0 }, 0, 0, 0])
                    }
                    Err((n, e)) => {
                        self.requests += n;
                        s.broken = true;
                        report(s.dev.name(), &e);
                        // What was completed before the bad request is still reported.
                        let int = if n > 0 { INT_VRING } else { 0 };
                        Ok([NEEDS_RESET | int, 0, 0, 0])
                    }
                }
            }
            _ => Err(status::EINVAL),
        }
    }
}

/// One line on stderr when a guest breaks a device (it gets NEEDS_RESET).
fn report(name: &str, e: &DeviceError) {
    eprint!("\r\nlauncher: {name}: the guest broke the device, it needs a reset: {e}\r\n");
}

/// Builds the device's queues from the driver's configuration.
fn activate(dev: &dyn VirtioDevice, a: &Activate, mem: &Mem) -> Result<Vec<Queue>, DeviceError> {
    if a.num_queues != usize::from(dev.num_queues()) {
        return Err(DeviceError::Chain("wrong number of queues"));
    }
    if a.features & !dev.features() != 0 {
        return Err(DeviceError::Chain("features the device did not offer"));
    }
    let mut out = Vec::new();
    for qc in &a.queues[..a.num_queues] {
        out.push(make_queue(dev.queue_max(), qc, a.features, mem)?);
    }
    Ok(out)
}

fn make_queue(max: u16, qc: &QueueConfig, features: u64, mem: &Mem) -> Result<Queue, DeviceError> {
    let mut q = Queue::new(max)?;
    if !qc.ready {
        return Ok(q);
    }
    q.try_set_size(qc.size)?;
    q.try_set_desc_table_address(GuestAddress(qc.desc))?;
    q.try_set_avail_ring_address(GuestAddress(qc.driver))?;
    q.try_set_used_ring_address(GuestAddress(qc.device))?;
    q.set_event_idx(features & 1 << virtio_bindings::virtio_ring::VIRTIO_RING_F_EVENT_IDX != 0);
    q.set_ready(true);
    if !q.is_valid(mem) {
        return Err(DeviceError::Chain(
            "the rings lie outside guest RAM or are misaligned",
        ));
    }
    Ok(q)
}

/// Serves every request queue `index` holds, in batches, until it is empty. Returns
/// the requests served and whether used entries were added; on a broken request, the
/// count so far and the error.
pub fn serve(
    dev: &mut dyn VirtioDevice,
    index: u16,
    q: &mut Queue,
    mem: &Mem,
) -> Result<(u64, bool), (u64, DeviceError)> {
    if !q.ready() {
        return Ok((0, false));
    }
    let mut n = 0u64;
    let mut used = false;
    // Each round takes what the driver has published; at most a queue's worth.
    loop {
        let chains: Vec<_> = match q.iter(mem) {
            Ok(it) => it.collect(),
            Err(e) => return Err((n, e.into())),
        };
        if chains.is_empty() {
            break;
        }
        for chain in chains {
            let c = Chain::collect(chain, mem).map_err(|e| (n, e))?;
            let len = dev.request(index, &c, mem).map_err(|e| (n, e))?;
            q.add_used(mem, c.head, len).map_err(|e| (n, e.into()))?;
            n += 1;
            used = true;
        }
    }
    Ok((n, used))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use shared_abi::guest::RAM_BASE;
    use virtio_bindings::virtio_ring::{VRING_DESC_F_NEXT, VRING_DESC_F_WRITE};

    pub const RAM: u64 = 1 << 20;
    pub const DESC: u64 = RAM_BASE;
    pub const AVAIL: u64 = RAM_BASE + 0x1000;
    pub const USED: u64 = RAM_BASE + 0x2000;
    pub const QSIZE: u16 = 16;

    /// A mock guest: 1 MiB of RAM at RAM_BASE with one split queue of 16 entries.
    pub struct MockGuest {
        pub mem: Mem,
        pub queue: Queue,
        avail_idx: u16,
    }

    impl MockGuest {
        pub fn new() -> MockGuest {
            let mem =
                GuestMemoryMmap::from_ranges(&[(GuestAddress(RAM_BASE), RAM as usize)]).unwrap();
            let qc = QueueConfig {
                size: QSIZE,
                ready: true,
                desc: DESC,
                driver: AVAIL,
                device: USED,
            };
            let queue = make_queue(256, &qc, F_VERSION_1, &mem).unwrap();
            MockGuest {
                mem,
                queue,
                avail_idx: 0,
            }
        }

        /// Writes descriptor `i`.
        pub fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
            let a = DESC + 16 * u64::from(i);
            let m = &self.mem;
            m.write_obj(addr, GuestAddress(a)).unwrap();
            m.write_obj(len, GuestAddress(a + 8)).unwrap();
            m.write_obj(flags, GuestAddress(a + 12)).unwrap();
            m.write_obj(next, GuestAddress(a + 14)).unwrap();
        }

        /// A chain of buffers (addr, len, writable) at descriptors first.., published.
        pub fn chain(&mut self, first: u16, bufs: &[(u64, u32, bool)]) {
            for (k, &(addr, len, w)) in bufs.iter().enumerate() {
                let i = first + k as u16;
                let mut flags = if w { VRING_DESC_F_WRITE as u16 } else { 0 };
                if k + 1 < bufs.len() {
                    flags |= VRING_DESC_F_NEXT as u16;
                }
                self.desc(i, addr, len, flags, i + 1);
            }
            self.publish(first);
        }

        /// Puts head `head` in the avail ring.
        pub fn publish(&mut self, head: u16) {
            let slot = AVAIL + 4 + 2 * u64::from(self.avail_idx % QSIZE);
            self.mem.write_obj(head, GuestAddress(slot)).unwrap();
            self.avail_idx = self.avail_idx.wrapping_add(1);
            self.set_avail_idx(self.avail_idx);
        }

        pub fn set_avail_idx(&self, idx: u16) {
            self.mem.write_obj(idx, GuestAddress(AVAIL + 2)).unwrap();
        }

        /// The used ring's index and entry `i` (id, len).
        pub fn used(&self, i: u16) -> (u16, u32, u32) {
            let idx: u16 = self.mem.read_obj(GuestAddress(USED + 2)).unwrap();
            let e = USED + 4 + 8 * u64::from(i % QSIZE);
            let id: u32 = self.mem.read_obj(GuestAddress(e)).unwrap();
            let len: u32 = self.mem.read_obj(GuestAddress(e + 4)).unwrap();
            (idx, id, len)
        }

        pub fn serve(&mut self, dev: &mut dyn VirtioDevice) -> Result<(u64, bool), DeviceError> {
            serve(dev, 0, &mut self.queue, &self.mem).map_err(|(_, e)| e)
        }
    }

    /// Echoes the readable bytes into the writable buffers.
    struct Echo;
    impl VirtioDevice for Echo {
        fn name(&self) -> &'static str {
            "echo"
        }
        fn device_id(&self) -> u32 {
            99
        }
        fn features(&self) -> u64 {
            F_VERSION_1
        }
        fn num_queues(&self) -> u16 {
            1
        }
        fn config(&self) -> Vec<u8> {
            vec![1, 2, 3]
        }
        fn request(&mut self, _: u16, c: &Chain, mem: &Mem) -> Result<u32, DeviceError> {
            let mut r = Segs::new(&c.readable);
            let n = r.len();
            let data = r.read(mem, n)?;
            write_bufs(mem, &c.writable, &data)
        }
    }

    const BUF: u64 = RAM_BASE + 0x8000;

    #[test]
    fn echo_requests_in_one_batch() {
        let mut g = MockGuest::new();
        g.mem
            .write_slice(b"hello world", GuestAddress(BUF))
            .unwrap();
        g.chain(
            0,
            &[
                (BUF, 5, false),
                (BUF + 5, 6, false),
                (BUF + 0x100, 16, true),
            ],
        );
        g.chain(
            3,
            &[
                (BUF, 2, false),
                (BUF + 0x200, 1, true),
                (BUF + 0x300, 1, true),
            ],
        );
        assert_eq!(g.serve(&mut Echo).unwrap(), (2, true));
        assert_eq!(g.used(0), (2, 0, 11));
        assert_eq!(g.used(1), (2, 3, 2));
        let mut b = [0u8; 11];
        g.mem.read_slice(&mut b, GuestAddress(BUF + 0x100)).unwrap();
        assert_eq!(&b, b"hello world");
        let mut b = [0u8; 1];
        g.mem.read_slice(&mut b, GuestAddress(BUF + 0x300)).unwrap();
        assert_eq!(&b, b"e");
        assert_eq!(g.serve(&mut Echo).unwrap(), (0, false), "nothing left");
    }

    #[test]
    fn buffer_outside_ram_fails_the_device() {
        for (addr, len) in [
            (RAM_BASE + RAM - 4, 8),
            (RAM_BASE - 1, 2),
            (0, 1),
            (u64::MAX - 2, 8),
        ] {
            let mut g = MockGuest::new();
            g.chain(0, &[(BUF, 4, false), (addr, len, true)]);
            let e = g.serve(&mut Echo).unwrap_err();
            assert!(
                e.to_string().contains("outside guest RAM"),
                "{addr:#x}: {e}"
            );
            assert_eq!(g.used(0).0, 0, "nothing used");
        }
    }

    #[test]
    fn looping_chain_fails_the_device() {
        let mut g = MockGuest::new();
        g.desc(0, BUF, 4, VRING_DESC_F_NEXT as u16, 1);
        g.desc(1, BUF, 4, VRING_DESC_F_NEXT as u16, 0);
        g.publish(0);
        let e = g.serve(&mut Echo).unwrap_err();
        assert!(e.to_string().contains("loops"), "{e}");
        // A `next` beyond the table.
        let mut g = MockGuest::new();
        g.desc(0, BUF, 4, VRING_DESC_F_NEXT as u16, 200);
        g.publish(0);
        assert!(g.serve(&mut Echo).is_err());
        // A head beyond the table.
        let mut g = MockGuest::new();
        g.publish(40);
        assert!(g.serve(&mut Echo).is_err());
    }

    #[test]
    fn bad_avail_index_fails_the_device() {
        let mut g = MockGuest::new();
        g.set_avail_idx(QSIZE + 5);
        let e = g.serve(&mut Echo).unwrap_err();
        assert!(matches!(e, DeviceError::Queue(_)), "{e}");
    }

    #[test]
    fn readable_after_writable_fails() {
        let mut g = MockGuest::new();
        g.chain(0, &[(BUF, 4, true), (BUF, 4, false)]);
        assert!(g.serve(&mut Echo).is_err());
    }

    #[test]
    fn bad_queue_configs() {
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(RAM_BASE), RAM as usize)]).unwrap();
        let good = QueueConfig {
            size: 16,
            ready: true,
            desc: DESC,
            driver: AVAIL,
            device: USED,
        };
        assert!(make_queue(256, &good, 0, &mem).is_ok());
        for bad in [
            QueueConfig { size: 512, ..good },
            QueueConfig { size: 12, ..good },
            QueueConfig { size: 0, ..good },
            QueueConfig {
                desc: 0x1000,
                ..good
            },
            QueueConfig {
                device: RAM_BASE + RAM - 8,
                ..good
            },
            QueueConfig {
                driver: AVAIL + 1,
                ..good
            },
        ] {
            assert!(make_queue(256, &bad, 0, &mem).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn segs_split() {
        let mut s = Segs::new(&[(100, 10), (200, 0), (300, 6)]);
        assert_eq!(s.len(), 16);
        assert_eq!(s.take_back(1), Some(vec![(305, 1)]));
        assert_eq!(s.take(12), Some(vec![(100, 10), (300, 2)]));
        assert_eq!(s.take(4), None);
        assert_eq!(s.rest(), vec![(302, 3)]);
        let mut s = Segs::new(&[(100, 2), (200, 2)]);
        assert_eq!(s.take_back(3), Some(vec![(101, 1), (200, 2)]));
    }

    /// The hypercall interface: argument checks, then a device that breaks.
    #[test]
    fn hypercall_arguments() {
        let vm = GuestMemory::new(4 << 20).unwrap();
        let mut h = VirtioHost::new(vec![Box::new(Echo)]);
        // Notify before setup, bad ops and slots, RAM outside VM memory.
        assert_eq!(h.call(&vm, &[op::NOTIFY, 0, 0, 0]), Err(status::EINVAL));
        assert_eq!(h.call(&vm, &[99, 0, 0, 0]), Err(status::EINVAL));
        assert_eq!(
            h.call(&vm, &[op::SETUP, 0, 8 << 20, 0]),
            Err(status::EFAULT)
        );
        assert_eq!(
            h.call(&vm, &[op::SETUP, 0x800, 0x1000, 0]),
            Err(status::EINVAL)
        );
        assert_eq!(
            h.call(&vm, &[op::SETUP, u64::MAX, 2, 0]),
            Err(status::EFAULT)
        );
        assert_eq!(
            h.call(&vm, &[op::SETUP, 1 << 20, 2 << 20, 0]),
            Ok([1, 0, 0, 0])
        );
        assert_eq!(h.call(&vm, &[op::QUERY, 1, 0, 16]), Err(status::EINVAL));
        assert_eq!(
            h.call(&vm, &[op::QUERY, 0, 0x1000, 16]),
            Ok([99, F_VERSION_1, 1 | 256 << 16, 3])
        );
        let mut b = [0u8; 3];
        vm.read(0x1000, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3]);
        assert_eq!(
            h.call(&vm, &[op::QUERY, 0, (4 << 20) - 1, 16]),
            Err(status::EFAULT)
        );
        assert_eq!(
            h.call(&vm, &[op::ACTIVATE, 0, 0x1000, 5]),
            Err(status::EINVAL)
        );
        assert_eq!(
            h.call(&vm, &[op::NOTIFY, 0, 1, 0]),
            Err(status::EINVAL),
            "no queue 1"
        );
        assert_eq!(h.call(&vm, &[op::NOTIFY, 0, 0, 0]), Ok([0; 4]), "inactive");
        // Activate with a queue whose rings lie outside guest RAM: NEEDS_RESET.
        let mut a = Activate {
            features: F_VERSION_1,
            num_queues: 1,
            ..Default::default()
        };
        a.queues[0] = QueueConfig {
            size: 16,
            ready: true,
            desc: 0x1000,
            driver: RAM_BASE,
            device: RAM_BASE + 0x1000,
        };
        vm.write(0x2000, &a.to_bytes()).unwrap();
        let act = [op::ACTIVATE, 0, 0x2000, Activate::SIZE as u64];
        assert_eq!(h.call(&vm, &act), Ok([NEEDS_RESET, 0, 0, 0]));
        assert_eq!(
            h.call(&vm, &[op::NOTIFY, 0, 0, 0]),
            Ok([NEEDS_RESET, 0, 0, 0])
        );
        assert_eq!(h.call(&vm, &[op::RESET, 0, 0, 0]), Ok([0; 4]));
        // A good queue at guest RAM's start (VM-physical 1 MiB): a looping chain.
        a.queues[0].desc = RAM_BASE;
        a.queues[0].driver = RAM_BASE + 0x1000;
        a.queues[0].device = RAM_BASE + 0x2000;
        vm.write(0x2000, &a.to_bytes()).unwrap();
        assert_eq!(h.call(&vm, &act), Ok([0; 4]));
        let d = 1 << 20; // VM-physical address of descriptor 0
        vm.write_u64(d, RAM_BASE + 0x8000).unwrap();
        vm.write(d + 8, &[4, 0, 0, 0, 1, 0, 0, 0]).unwrap(); // len 4, NEXT, next 0
        vm.write(d + 0x1000, &[0, 0, 1, 0, 0, 0]).unwrap(); // avail idx 1, ring[0] = 0
        assert_eq!(
            h.call(&vm, &[op::NOTIFY, 0, 0, 0]),
            Ok([NEEDS_RESET, 0, 0, 0])
        );
        assert_eq!(
            h.call(&vm, &[op::NOTIFY, 0, 0, 0]),
            Ok([NEEDS_RESET, 0, 0, 0])
        );
    }
}
