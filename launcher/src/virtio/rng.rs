//! virtio-rng: fills the guest's buffers from the host's `getrandom`.

use virtio_bindings::virtio_ids::VIRTIO_ID_RNG;

use super::{write_bufs, Chain, DeviceError, Mem, VirtioDevice, F_VERSION_1};

/// Most bytes given per request (the guest asks again for more).
const MAX_REQUEST: usize = 64 << 10;

/// The entropy device.
#[derive(Default)]
pub struct Rng;

/// Fills `buf` from the host's random source.
fn getrandom(buf: &mut [u8]) -> bool {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the pointer and length describe `rest`, writable memory we own.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return false;
        }
        done += n as usize;
    }
    true
}

impl VirtioDevice for Rng {
    fn name(&self) -> &'static str {
        "virtio-rng"
    }

    fn device_id(&self) -> u32 {
        VIRTIO_ID_RNG
    }

    fn features(&self) -> u64 {
        F_VERSION_1
    }

    fn num_queues(&self) -> u16 {
        1
    }

    fn config(&self) -> Vec<u8> {
        Vec::new()
    }

    fn request(&mut self, _queue: u16, chain: &Chain, mem: &Mem) -> Result<u32, DeviceError> {
        let want: u64 = chain.writable.iter().map(|b| u64::from(b.1)).sum();
        let mut buf = vec![0u8; (want as usize).min(MAX_REQUEST)];
        if !getrandom(&mut buf) {
            // No entropy to give: an empty answer (the guest tries again).
            return Ok(0);
        }
        write_bufs(mem, &chain.writable, &buf)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::MockGuest;
    use super::*;
    use shared_abi::guest::RAM_BASE;
    use vm_memory::{Bytes, GuestAddress};

    #[test]
    fn fills_buffers() {
        let mut g = MockGuest::new();
        let a = RAM_BASE + 0x8000;
        g.chain(0, &[(a, 64, true), (a + 64, 64, true)]);
        g.chain(2, &[(a + 0x1000, 100_000, true)]);
        assert_eq!(g.serve(&mut Rng).unwrap(), (2, true));
        assert_eq!(g.used(0), (2, 0, 128));
        assert_eq!(g.used(1).2, MAX_REQUEST as u32);
        let mut b = [0u8; 128];
        g.mem.read_slice(&mut b, GuestAddress(a)).unwrap();
        assert!(b.iter().filter(|&&x| x == 0).count() < 16, "random bytes");
    }
}
