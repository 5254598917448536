//! virtio-net on user-mode networking (libslirp, see [`crate::slirp`]).
//!
//! Two queues: receive (0) and transmit (1). Transmit is served on the vCPU thread at
//! the guest's notify: each frame (after its 12-byte `virtio_net_hdr_v1`) goes to the
//! network thread. Receive is served by the network thread: the device takes queue 0
//! at activation, frames from slirp fill the guest's receive buffers as they come
//! (or wait, up to [`MAX_PENDING`], for the guest to post more), and the thread then
//! raises the `VIRTIO` interrupt into the VM; the engine asks (`POLL`) and raises
//! the SPI. So while the guest runs CPU code, the network adds no VM exit.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use virtio_bindings::virtio_ids::VIRTIO_ID_NET;
use virtio_bindings::virtio_net::{VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_S_LINK_UP};
use virtio_queue::{Queue, QueueOwnedT, QueueT};

use super::{write_bufs, Chain, DeviceError, Mem, Segs, VirtioDevice, F_VERSION_1};

/// `struct virtio_net_hdr_v1`.
pub const HDR_LEN: usize = 12;
/// Frames kept while the guest has no receive buffer (then dropped, as a NIC does).
pub const MAX_PENDING: usize = 256;
/// Largest frame taken from the guest.
const MAX_FRAME: u64 = 65_550;
/// QEMU's default MAC address for the first NIC.
pub const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// The state the vCPU thread and the network thread share.
#[derive(Default)]
pub struct NetShared {
    /// The receive queue, once the driver activated the device.
    pub rx: Option<Queue>,
    pub mem: Option<Mem>,
    /// Frames from the network waiting for receive buffers.
    pub pending: VecDeque<Vec<u8>>,
    /// Frames from the guest for the network thread.
    pub tx: VecDeque<Vec<u8>>,
    /// Used receive buffers were added since the engine last polled.
    pub irq: bool,
    /// The receive queue broke (a bad ring or buffer).
    pub failed: bool,
    /// Frames dropped for want of receive buffers.
    pub dropped: u64,
}

impl NetShared {
    /// Network side: a frame arrived; deliver what the receive queue has room for.
    /// Returns whether used buffers were added.
    pub fn receive(&mut self, frame: Vec<u8>) -> bool {
        if self.pending.len() >= MAX_PENDING {
            self.dropped += 1;
        } else {
            self.pending.push_back(frame);
        }
        self.deliver()
    }

    /// Fills receive buffers with pending frames; true when any was used.
    pub fn deliver(&mut self) -> bool {
        if self.failed {
            return false;
        }
        match self.try_deliver() {
            Ok(used) => {
                self.irq |= used;
                used
            }
            Err(_) => {
                self.failed = true;
                false
            }
        }
    }

    fn try_deliver(&mut self) -> Result<bool, DeviceError> {
        let (Some(q), Some(mem)) = (self.rx.as_mut(), self.mem.as_ref()) else {
            return Ok(false);
        };
        if !q.ready() {
            return Ok(false);
        }
        let mut used = false;
        while let Some(frame) = self.pending.front() {
            let chain = {
                let mut it = q.iter(mem)?;
                it.next()
            };
            let Some(chain) = chain else { break };
            let c = Chain::collect(chain, mem)?;
            let room: u64 = c.writable.iter().map(|b| u64::from(b.1)).sum();
            let len = if room >= (HDR_LEN + frame.len()) as u64 {
                let mut hdr = [0u8; HDR_LEN];
                hdr[10] = 1; // num_buffers
                let n = write_bufs(mem, &c.writable, &hdr)?;
                let mut rest = Segs::new(&c.writable);
                rest.take(u64::from(n));
                n + write_bufs(mem, &rest.rest(), frame)?
            } else {
                // Too small a buffer: the frame is lost, the buffer returned empty.
                self.dropped += 1;
                0
            };
            q.add_used(mem, c.head, len)?;
            used = true;
            self.pending.pop_front();
        }
        Ok(used)
    }
}

/// Wakes the network thread (it has frames to send).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// The virtio-net device.
pub struct Net {
    shared: Arc<Mutex<NetShared>>,
    wake: Wake,
}

impl Net {
    pub fn new(shared: Arc<Mutex<NetShared>>, wake: Wake) -> Net {
        Net { shared, wake }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NetShared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl VirtioDevice for Net {
    fn name(&self) -> &'static str {
        "virtio-net"
    }

    fn device_id(&self) -> u32 {
        VIRTIO_ID_NET
    }

    fn features(&self) -> u64 {
        F_VERSION_1 | 1 << VIRTIO_NET_F_MAC | 1 << VIRTIO_NET_F_STATUS
    }

    fn num_queues(&self) -> u16 {
        2
    }

    /// mac, status.
    fn config(&self) -> Vec<u8> {
        let mut c = MAC.to_vec();
        c.extend_from_slice(&(VIRTIO_NET_S_LINK_UP as u16).to_le_bytes());
        c
    }

    fn request(&mut self, queue: u16, chain: &Chain, mem: &Mem) -> Result<u32, DeviceError> {
        if queue != 1 {
            return Err(DeviceError::Request("receive buffers served as requests"));
        }
        let mut r = Segs::new(&chain.readable);
        let n = r.len();
        if n < HDR_LEN as u64 || n > MAX_FRAME {
            return Err(DeviceError::Request("a frame without header or too long"));
        }
        r.take(HDR_LEN as u64);
        let frame = r.read(mem, n - HDR_LEN as u64)?;
        self.lock().tx.push_back(frame);
        (self.wake)();
        Ok(0)
    }

    fn activate(&mut self, queues: &mut [Queue], mem: &Mem) {
        let mut st = self.lock();
        if let Some(q) = queues.get_mut(0) {
            let max = q.max_size();
            st.rx = Some(std::mem::replace(q, Queue::new(max).unwrap_or_default()));
        }
        st.mem = Some(mem.clone());
        st.failed = false;
        st.deliver();
    }

    fn reset(&mut self) {
        let mut st = self.lock();
        st.rx = None;
        st.pending.clear();
        st.irq = false;
        st.failed = false;
    }

    fn notify(&mut self, queue: u16) -> Option<Result<bool, DeviceError>> {
        if queue != 0 {
            return None;
        }
        let mut st = self.lock();
        let used = st.deliver();
        st.irq = false;
        Some(if st.failed {
            Err(DeviceError::Chain("a bad receive buffer"))
        } else {
            Ok(used)
        })
    }

    fn poll(&mut self) -> (bool, bool) {
        let mut st = self.lock();
        let used = std::mem::take(&mut st.irq);
        (used, st.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::MockGuest;
    use super::*;
    use shared_abi::guest::RAM_BASE;
    use vm_memory::{Bytes, GuestAddress};

    #[test]
    fn receive_waits_for_buffers_and_fills_them() {
        let mut g = MockGuest::new();
        let shared = Arc::new(Mutex::new(NetShared::default()));
        {
            let mut st = shared.lock().unwrap();
            st.rx = Some(std::mem::take(&mut g.queue));
            st.mem = Some(g.mem.clone());
            assert!(!st.receive(b"frame-one".to_vec()), "no buffer yet");
        }
        let a = RAM_BASE + 0x8000;
        // The queue now lives in `shared`: publish a buffer by hand.
        g.desc(
            0,
            a,
            2048,
            virtio_bindings::virtio_ring::VRING_DESC_F_WRITE as u16,
            0,
        );
        g.publish(0);
        let mut st = shared.lock().unwrap();
        assert!(st.deliver());
        assert!(st.irq);
        assert_eq!(g.used(0), (1, 0, (HDR_LEN + 9) as u32));
        let mut b = [0u8; HDR_LEN + 9];
        g.mem.read_slice(&mut b, GuestAddress(a)).unwrap();
        assert_eq!(b[10], 1, "num_buffers");
        assert_eq!(&b[HDR_LEN..], b"frame-one");
        // A buffer outside RAM fails the device, not the thread.
        g.desc(
            1,
            0x10,
            2048,
            virtio_bindings::virtio_ring::VRING_DESC_F_WRITE as u16,
            0,
        );
        g.publish(1);
        assert!(!st.receive(b"two".to_vec()));
        assert!(st.failed);
    }

    #[test]
    fn transmit_strips_the_header() {
        let mut g = MockGuest::new();
        let shared = Arc::new(Mutex::new(NetShared::default()));
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let w = woken.clone();
        let mut net = Net::new(
            shared.clone(),
            Arc::new(move || {
                w.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }),
        );
        let a = RAM_BASE + 0x8000;
        g.mem.write_slice(&[0u8; HDR_LEN], GuestAddress(a)).unwrap();
        g.mem
            .write_slice(b"ethernet", GuestAddress(a + 0x100))
            .unwrap();
        g.chain(0, &[(a, HDR_LEN as u32, false), (a + 0x100, 8, false)]);
        let mut q = std::mem::take(&mut g.queue);
        super::super::serve(&mut net, 1, &mut q, &g.mem).unwrap();
        assert_eq!(shared.lock().unwrap().tx.pop_front().unwrap(), b"ethernet");
        assert_eq!(woken.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
