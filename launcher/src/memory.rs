//! VM memory: one anonymous mapping, and bounds-checked access to it. Every access the
//! launcher makes on behalf of the engine goes through [`GuestMemory::range`], so
//! nothing can read or write outside the mapping.

use std::io;

/// An address range did not lie inside VM memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("range {paddr:#x}+{len:#x} lies outside VM memory")]
pub struct OutOfRange {
    pub paddr: u64,
    pub len: u64,
}

/// The VM's physical memory, `[0, size)`, backed by an anonymous private mapping.
pub struct GuestMemory {
    ptr: *mut u8,
    size: u64,
}

impl GuestMemory {
    /// Maps `size` bytes of zeroed memory (lazily committed).
    pub fn new(size: u64) -> io::Result<GuestMemory> {
        let len = usize::try_from(size)
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: an anonymous private mapping at an address the kernel chooses; it
        // aliases nothing. The result is checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        // Transparent huge pages where the host allows them: the engine maps this
        // memory with 2 MiB pages, so 2 MiB host pages let KVM map it with 2 MiB
        // entries too (one fault per 2 MiB touched, not one per 4 KiB). Advice only:
        // a host without THP ignores it, and the result does not matter.
        // SAFETY: advice on the mapping just made; it changes no contents.
        unsafe {
            libc::madvise(ptr, len, libc::MADV_HUGEPAGE);
        }
        Ok(GuestMemory {
            ptr: ptr.cast(),
            size,
        })
    }

    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Host address of VM-physical address 0 (for the KVM memory slot).
    pub fn host_addr(&self) -> u64 {
        self.ptr as u64
    }

    /// Checks `[paddr, paddr + len)` and returns its offset in the mapping.
    pub fn range(&self, paddr: u64, len: u64) -> Result<usize, OutOfRange> {
        match paddr.checked_add(len) {
            Some(end) if end <= self.size => Ok(paddr as usize),
            _ => Err(OutOfRange { paddr, len }),
        }
    }

    /// Copies VM memory at `paddr` into `buf`.
    pub fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), OutOfRange> {
        let off = self.range(paddr, buf.len() as u64)?;
        // SAFETY: `range` checked that off..off+len lies in the mapping; `buf` is host
        // memory distinct from it. The vCPU is stopped while the launcher runs this
        // (one vCPU, serviced on its own thread), so nothing writes the bytes meanwhile.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(off), buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copies `data` into VM memory at `paddr`.
    pub fn write(&self, paddr: u64, data: &[u8]) -> Result<(), OutOfRange> {
        let off = self.range(paddr, data.len() as u64)?;
        // SAFETY: as in `read`, with the roles of source and destination swapped.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.ptr.add(off), data.len()) };
        Ok(())
    }

    /// Fills `[paddr, paddr + len)` with zeroes.
    pub fn zero(&self, paddr: u64, len: u64) -> Result<(), OutOfRange> {
        let off = self.range(paddr, len)?;
        // SAFETY: the range was checked to lie in the mapping.
        unsafe { std::ptr::write_bytes(self.ptr.add(off), 0, len as usize) };
        Ok(())
    }

    pub fn read_u64(&self, paddr: u64) -> Result<u64, OutOfRange> {
        let mut b = [0u8; 8];
        self.read(paddr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u64(&self, paddr: u64, v: u64) -> Result<(), OutOfRange> {
        self.write(paddr, &v.to_le_bytes())
    }

    /// Writes a value with its in-memory (x86-64 `repr(C)`) layout; the engine reads it
    /// as the same Rust type (same crate version, same target architecture).
    pub fn write_obj<T>(&self, paddr: u64, value: T) -> Result<(), OutOfRange> {
        let off = self.range(paddr, std::mem::size_of::<T>() as u64)?;
        // SAFETY: the range was checked; write_unaligned has no alignment requirement
        // and the mapping holds plain bytes that nothing else references.
        unsafe { std::ptr::write_unaligned(self.ptr.add(off).cast::<T>(), value) };
        Ok(())
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        // SAFETY: ptr/size are exactly the mapping created in `new`; it is unmapped once.
        unsafe { libc::munmap(self.ptr.cast(), self.size as usize) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        let m = GuestMemory::new(0x2000).unwrap();
        assert_eq!(m.range(0, 0x2000), Ok(0));
        assert_eq!(m.range(0x2000, 0), Ok(0x2000));
        assert!(m.range(0x1ff9, 8).is_err());
        assert!(m.range(u64::MAX, 2).is_err());
        assert!(m.range(1, u64::MAX).is_err());
        m.write_u64(0x1ff8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(m.read_u64(0x1ff8), Ok(0x1122_3344_5566_7788));
        assert!(m.write_u64(0x1ffc, 0).is_err());
        assert!(m.read_u64(0x2000).is_err());
        m.zero(0x1ff8, 8).unwrap();
        assert_eq!(m.read_u64(0x1ff8), Ok(0));
        assert!(GuestMemory::new(0).is_err());
    }
}
