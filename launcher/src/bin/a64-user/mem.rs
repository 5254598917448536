//! The guest's user address space: 4 KiB pages allocated on first touch, with
//! protections, behind a small direct-mapped TLB.

use a64::interp::{MemFault, Memory};
use a64::ir::MemAttr;
use std::collections::HashMap;

pub const PAGE: u64 = 4096;
pub const PROT_READ: u8 = 1;
pub const PROT_WRITE: u8 = 2;
pub const PROT_EXEC: u8 = 4;

const TLB_SIZE: usize = 256;
const NO_PAGE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    prot: u8,
    idx: u32,
}

#[derive(Clone, Copy)]
struct TlbEntry {
    vpn: u64,
    idx: u32,
    prot: u8,
}

/// The guest address space.
pub struct GuestMem {
    map: HashMap<u64, Entry>,
    frames: Vec<Box<[u8; PAGE as usize]>>,
    free: Vec<u32>,
    tlb: [TlbEntry; TLB_SIZE],
    /// Counter base for CNTVCT.
    start: std::time::Instant,
}

impl GuestMem {
    pub fn new() -> Self {
        GuestMem {
            map: HashMap::new(),
            frames: Vec::new(),
            free: Vec::new(),
            tlb: [TlbEntry {
                vpn: u64::MAX,
                idx: 0,
                prot: 0,
            }; TLB_SIZE],
            start: std::time::Instant::now(),
        }
    }

    fn flush_tlb(&mut self) {
        for e in self.tlb.iter_mut() {
            e.vpn = u64::MAX;
        }
    }

    /// Whether any page of [addr, addr+len) is mapped.
    pub fn any_mapped(&self, addr: u64, len: u64) -> bool {
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            if self.map.contains_key(&p) {
                return true;
            }
            p += 1;
        }
        false
    }

    /// Whether any page of [addr, addr+len) is mapped executable (cached code may change).
    pub fn any_exec(&self, addr: u64, len: u64) -> bool {
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            if self.map.get(&p).is_some_and(|e| e.prot & PROT_EXEC != 0) {
                return true;
            }
            p += 1;
        }
        false
    }

    /// Whether every page of [addr, addr+len) is mapped.
    pub fn all_mapped(&self, addr: u64, len: u64) -> bool {
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            if !self.map.contains_key(&p) {
                return false;
            }
            p += 1;
        }
        true
    }

    /// Maps [addr, addr+len) (page aligned) with zeroed pages, replacing old mappings.
    pub fn map(&mut self, addr: u64, len: u64, prot: u8) {
        self.unmap(addr, len);
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            self.map.insert(p, Entry { prot, idx: NO_PAGE });
            p += 1;
        }
    }

    /// Unmaps [addr, addr+len).
    pub fn unmap(&mut self, addr: u64, len: u64) {
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        if end - p > self.map.len() as u64 {
            let keys: Vec<u64> = self
                .map
                .keys()
                .copied()
                .filter(|&k| k >= p && k < end)
                .collect();
            for k in keys {
                if let Some(e) = self.map.remove(&k) {
                    self.release(e);
                }
            }
        } else {
            while p < end {
                if let Some(e) = self.map.remove(&p) {
                    self.release(e);
                }
                p += 1;
            }
        }
        self.flush_tlb();
    }

    fn release(&mut self, e: Entry) {
        if e.idx != NO_PAGE {
            self.free.push(e.idx);
        }
    }

    /// Changes protections; false if part of the range is unmapped.
    pub fn protect(&mut self, addr: u64, len: u64, prot: u8) -> bool {
        if !self.all_mapped(addr, len) {
            return false;
        }
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            if let Some(e) = self.map.get_mut(&p) {
                e.prot = prot;
            }
            p += 1;
        }
        self.flush_tlb();
        true
    }

    /// Zeroes the pages of [addr, addr+len) that are mapped (MADV_DONTNEED).
    pub fn discard(&mut self, addr: u64, len: u64) {
        let mut p = addr / PAGE;
        let end = addr.saturating_add(len).div_ceil(PAGE);
        while p < end {
            if let Some(e) = self.map.get_mut(&p) {
                if e.idx != NO_PAGE {
                    let i = e.idx;
                    e.idx = NO_PAGE;
                    self.free.push(i);
                }
            }
            p += 1;
        }
        self.flush_tlb();
    }

    /// Moves the page mappings of [old, old+len) to [new, new+len).
    pub fn move_pages(&mut self, old: u64, new: u64, len: u64) {
        let n = len.div_ceil(PAGE);
        let mut moved = Vec::new();
        for i in 0..n {
            if let Some(e) = self.map.remove(&(old / PAGE + i)) {
                moved.push((new / PAGE + i, e));
            }
        }
        self.unmap(new, len);
        for (k, e) in moved {
            self.map.insert(k, e);
        }
        self.flush_tlb();
    }

    /// Protection of the page containing `addr`, if mapped.
    pub fn prot_of(&self, addr: u64) -> Option<u8> {
        self.map.get(&(addr / PAGE)).map(|e| e.prot)
    }

    #[inline]
    fn frame(&mut self, addr: u64, need: u8, write: bool) -> Result<usize, MemFault> {
        let vpn = addr / PAGE;
        let t = &self.tlb[(vpn as usize) & (TLB_SIZE - 1)];
        if t.vpn == vpn && t.prot & need == need {
            return Ok(t.idx as usize);
        }
        self.frame_slow(vpn, addr, need, write)
    }

    fn frame_slow(
        &mut self,
        vpn: u64,
        addr: u64,
        need: u8,
        write: bool,
    ) -> Result<usize, MemFault> {
        let Some(e) = self.map.get(&vpn).copied() else {
            return Err(MemFault::Unmapped { addr, write });
        };
        if e.prot & need != need {
            return Err(MemFault::Permission { addr, write });
        }
        let idx = if e.idx == NO_PAGE {
            let idx = match self.free.pop() {
                Some(i) => {
                    self.frames[i as usize].fill(0);
                    i
                }
                None => {
                    self.frames.push(Box::new([0u8; PAGE as usize]));
                    (self.frames.len() - 1) as u32
                }
            };
            if let Some(m) = self.map.get_mut(&vpn) {
                m.idx = idx;
            }
            idx
        } else {
            e.idx
        };
        self.tlb[(vpn as usize) & (TLB_SIZE - 1)] = TlbEntry {
            vpn,
            idx,
            prot: e.prot,
        };
        Ok(idx as usize)
    }

    /// Reads bytes with permission `need` (READ for data, or none for the kernel's view).
    pub fn read_bytes(&mut self, addr: u64, buf: &mut [u8], need: u8) -> Result<(), MemFault> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            let f = self.frame(a, need, false)?;
            buf[done..done + n].copy_from_slice(&self.frames[f][off..off + n]);
            done += n;
        }
        Ok(())
    }

    /// Writes bytes with permission `need`.
    pub fn write_bytes(&mut self, addr: u64, buf: &[u8], need: u8) -> Result<(), MemFault> {
        let mut done = 0usize;
        while done < buf.len() {
            let a = addr.wrapping_add(done as u64);
            let off = (a % PAGE) as usize;
            let n = (PAGE as usize - off).min(buf.len() - done);
            let f = self.frame(a, need, true)?;
            self.frames[f][off..off + n].copy_from_slice(&buf[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Reads a NUL-terminated string (at most `max` bytes).
    pub fn read_cstr(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, MemFault> {
        let mut out = Vec::new();
        let mut a = addr;
        while out.len() < max {
            let mut b = [0u8];
            self.read_bytes(a, &mut b, PROT_READ)?;
            if b[0] == 0 {
                return Ok(out);
            }
            out.push(b[0]);
            a = a.wrapping_add(1);
        }
        Ok(out)
    }

    pub fn read_u64(&mut self, addr: u64) -> Result<u64, MemFault> {
        let mut b = [0u8; 8];
        self.read_bytes(addr, &mut b, PROT_READ)?;
        Ok(u64::from_le_bytes(b))
    }
}

impl Memory for GuestMem {
    #[inline]
    fn read(&mut self, addr: u64, attr: MemAttr) -> Result<u128, MemFault> {
        let size = attr.size as usize;
        let off = (addr % PAGE) as usize;
        if off + size <= PAGE as usize {
            let f = self.frame(addr, PROT_READ, false)?;
            let p = &self.frames[f][off..];
            return Ok(match size {
                1 => p[0] as u128,
                2 => u16::from_le_bytes([p[0], p[1]]) as u128,
                4 => u32::from_le_bytes([p[0], p[1], p[2], p[3]]) as u128,
                8 => u64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]) as u128,
                _ => {
                    let mut b = [0u8; 16];
                    b[..size].copy_from_slice(&p[..size]);
                    u128::from_le_bytes(b)
                }
            });
        }
        let mut b = [0u8; 16];
        self.read_bytes(addr, &mut b[..size], PROT_READ)?;
        Ok(u128::from_le_bytes(b))
    }

    #[inline]
    fn write(&mut self, addr: u64, val: u128, attr: MemAttr) -> Result<(), MemFault> {
        let size = attr.size as usize;
        let off = (addr % PAGE) as usize;
        let b = val.to_le_bytes();
        if off + size <= PAGE as usize {
            let f = self.frame(addr, PROT_WRITE, true)?;
            let p = &mut self.frames[f][off..];
            match size {
                1 => p[0] = val as u8,
                2 => p[..2].copy_from_slice(&(val as u16).to_le_bytes()),
                4 => p[..4].copy_from_slice(&(val as u32).to_le_bytes()),
                8 => p[..8].copy_from_slice(&(val as u64).to_le_bytes()),
                _ => p[..size].copy_from_slice(&b[..size]),
            }
            return Ok(());
        }
        // Check both pages before writing anything.
        self.frame(addr, PROT_WRITE, true)?;
        self.frame(addr.wrapping_add(size as u64 - 1), PROT_WRITE, true)?;
        self.write_bytes(addr, &b[..size], PROT_WRITE)
    }

    fn fetch(&mut self, addr: u64) -> Result<u32, MemFault> {
        let mut b = [0u8; 4];
        self.read_bytes(addr, &mut b, PROT_EXEC)?;
        Ok(u32::from_le_bytes(b))
    }

    fn cntvct(&mut self) -> u64 {
        (self.start.elapsed().as_nanos() as u64) / 16
    }
}

impl jit::JitMemory for GuestMem {
    fn host_page(&mut self, va: u64, kind: u8) -> Option<*mut u8> {
        let (need, write) = match kind {
            0 => (PROT_READ, false),
            1 => (PROT_WRITE, true),
            _ => (PROT_EXEC, false),
        };
        let f = self.frame(va, need, write).ok()?;
        Some(self.frames[f].as_mut_ptr())
    }

    fn exit_requested(&mut self) -> bool {
        false
    }
}
