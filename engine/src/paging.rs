//! x86-64 4-level page tables, built and walked through a [`PhysMem`] accessor so the
//! same code runs in ring 0 (through the physical map) and in host unit tests.

pub const PRESENT: u64 = 1 << 0;
pub const WRITABLE: u64 = 1 << 1;
pub const USER: u64 = 1 << 2;
pub const HUGE: u64 = 1 << 7;
pub const NO_EXECUTE: u64 = 1 << 63;
/// Physical-address bits of an entry.
pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;
/// The flag bits we copy between mappings.
pub const FLAG_MASK: u64 = PRESENT | WRITABLE | USER | NO_EXECUTE;

pub const PAGE_4K: u64 = 0x1000;
pub const PAGE_2M: u64 = 0x20_0000;
pub const PAGE_1G: u64 = 0x4000_0000;

/// Index of `va` in the table at `level` (4 = PML4 .. 1 = PT).
pub const fn index(va: u64, level: u32) -> usize {
    ((va >> (12 + 9 * (level - 1))) & 511) as usize
}

/// Access to physical memory for the page-table code.
pub trait PhysMem {
    fn read(&self, paddr: u64) -> u64;
    fn write(&mut self, paddr: u64, value: u64);
    /// A zeroed 4 KiB frame for a new table, or `None` when memory is exhausted.
    fn alloc_table(&mut self) -> Option<u64>;
}

/// Errors while editing page tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("no memory for a page table")]
    NoMemory,
    #[error("address {0:#x} is not aligned for this page size")]
    Misaligned(u64),
    #[error("{0:#x} is already mapped by a large page")]
    HugeConflict(u64),
}

/// Result of a walk: physical address, the effective flags (U/W: AND over the
/// levels, NX: OR), and the page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub paddr: u64,
    pub flags: u64,
    pub page_size: u64,
}

/// Upper-level entries get generous permissions; the leaf decides.
const TABLE_FLAGS: u64 = PRESENT | WRITABLE | USER;

fn next_table<M: PhysMem>(mem: &mut M, table: u64, idx: usize, va: u64) -> Result<u64, MapError> {
    let slot = table + idx as u64 * 8;
    let e = mem.read(slot);
    if e & PRESENT != 0 {
        if e & HUGE != 0 {
            return Err(MapError::HugeConflict(va));
        }
        return Ok(e & ADDR_MASK);
    }
    let t = mem.alloc_table().ok_or(MapError::NoMemory)?;
    mem.write(slot, t | TABLE_FLAGS);
    Ok(t)
}

/// Maps one page of `size` (4K, 2M or 1G) at `va` to `pa` with `flags` in the tables
/// rooted at `pml4`, replacing any leaf already there.
pub fn map<M: PhysMem>(
    mem: &mut M,
    pml4: u64,
    va: u64,
    pa: u64,
    size: u64,
    flags: u64,
) -> Result<(), MapError> {
    map_in(mem, pml4, 4, va, pa, size, flags)
}

/// Like [`map`], starting from a table at `level` (4 = PML4, 3 = PDPT, ...) that
/// covers `va`.
pub fn map_in<M: PhysMem>(
    mem: &mut M,
    root: u64,
    root_level: u32,
    va: u64,
    pa: u64,
    size: u64,
    flags: u64,
) -> Result<(), MapError> {
    let leaf_level = match size {
        PAGE_4K => 1,
        PAGE_2M => 2,
        PAGE_1G => 3,
        _ => return Err(MapError::Misaligned(size)),
    };
    if !va.is_multiple_of(size) || !pa.is_multiple_of(size) {
        return Err(MapError::Misaligned(va | pa));
    }
    if root_level < leaf_level || root_level > 4 {
        return Err(MapError::Misaligned(size));
    }
    let mut table = root;
    let mut level = root_level;
    while level > leaf_level {
        table = next_table(mem, table, index(va, level), va)?;
        level -= 1;
    }
    let huge = if leaf_level > 1 { HUGE } else { 0 };
    mem.write(
        table + index(va, level) as u64 * 8,
        (pa & ADDR_MASK) | (flags & FLAG_MASK) | PRESENT | huge,
    );
    Ok(())
}

/// Removes the 4 KiB leaf for `va` if present; returns the old entry.
pub fn unmap_4k<M: PhysMem>(mem: &mut M, root: u64, root_level: u32, va: u64) -> Option<u64> {
    let slot = leaf_slot(mem, root, root_level, va)?;
    let old = mem.read(slot);
    mem.write(slot, 0);
    Some(old)
}

/// The physical address of the 4 KiB leaf entry for `va`, if its tables exist, from
/// a table at `root_level` (4 = PML4).
pub fn leaf_slot<M: PhysMem>(mem: &M, root: u64, root_level: u32, va: u64) -> Option<u64> {
    let mut table = root;
    for level in (2..=root_level).rev() {
        let e = mem.read(table + index(va, level) as u64 * 8);
        if e & PRESENT == 0 || e & HUGE != 0 {
            return None;
        }
        table = e & ADDR_MASK;
    }
    Some(table + index(va, 1) as u64 * 8)
}

/// Walks the tables rooted at `pml4` for `va`.
pub fn translate<M: PhysMem>(mem: &M, pml4: u64, va: u64) -> Option<Translation> {
    let mut table = pml4;
    let mut flags = PRESENT | WRITABLE | USER;
    let mut nx = 0;
    for level in (1..=4).rev() {
        let e = mem.read(table + index(va, level) as u64 * 8);
        if e & PRESENT == 0 {
            return None;
        }
        flags &= e | !(WRITABLE | USER);
        nx |= e & NO_EXECUTE;
        let size = 1u64 << (12 + 9 * (level - 1));
        if level == 1 || (e & HUGE != 0 && level <= 3) {
            let base = e & ADDR_MASK & !(size - 1);
            return Some(Translation {
                paddr: base + (va & (size - 1)),
                flags: flags | nx,
                page_size: size,
            });
        }
        table = e & ADDR_MASK;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Mem {
        words: HashMap<u64, u64>,
        next: u64,
    }

    impl PhysMem for Mem {
        fn read(&self, paddr: u64) -> u64 {
            assert_eq!(paddr % 8, 0);
            *self.words.get(&paddr).unwrap_or(&0)
        }
        fn write(&mut self, paddr: u64, value: u64) {
            self.words.insert(paddr, value);
        }
        fn alloc_table(&mut self) -> Option<u64> {
            if self.next >= 0x10_0000 {
                return None;
            }
            self.next += 0x1000;
            Some(0x100_0000 + self.next)
        }
    }

    #[test]
    fn map_and_translate_all_sizes() {
        let mut m = Mem::default();
        let pml4 = m.alloc_table().unwrap();
        let va4 = 0xffff_ffff_8000_1000;
        map(&mut m, pml4, va4, 0x5000, PAGE_4K, WRITABLE | USER).unwrap();
        let t = translate(&m, pml4, va4 + 0x123).unwrap();
        assert_eq!(t.paddr, 0x5123);
        assert_eq!(t.page_size, PAGE_4K);
        assert_eq!(t.flags & (WRITABLE | USER), WRITABLE | USER);

        let va2 = 0xffff_8080_0020_0000;
        map(&mut m, pml4, va2, 0x4000_0000, PAGE_2M, NO_EXECUTE).unwrap();
        let t = translate(&m, pml4, va2 + 0x1_2345).unwrap();
        assert_eq!(t.paddr, 0x4001_2345);
        assert_eq!(t.flags & (WRITABLE | USER), 0);
        assert_ne!(t.flags & NO_EXECUTE, 0);

        let va1 = 0xffff_8100_0000_0000;
        map(&mut m, pml4, va1, 0x8000_0000, PAGE_1G, USER).unwrap();
        assert_eq!(translate(&m, pml4, va1 + 5).unwrap().paddr, 0x8000_0005);

        assert!(translate(&m, pml4, 0x1000).is_none());
        assert_eq!(index(0xffff_8080_0000_0000, 4), 257);
        assert_eq!(index(0xffff_ffff_8000_0000, 4), 511);
    }

    #[test]
    fn errors() {
        let mut m = Mem::default();
        let pml4 = m.alloc_table().unwrap();
        assert!(matches!(
            map(&mut m, pml4, 0x1234, 0, PAGE_4K, 0),
            Err(MapError::Misaligned(_))
        ));
        map(&mut m, pml4, 0x20_0000, 0x20_0000, PAGE_2M, 0).unwrap();
        assert_eq!(
            map(&mut m, pml4, 0x20_1000, 0, PAGE_4K, 0),
            Err(MapError::HugeConflict(0x20_1000))
        );
        let va = 0x4000_0000;
        map(&mut m, pml4, va, 0x9000, PAGE_4K, 0).unwrap();
        assert!(unmap_4k(&mut m, pml4, 4, va).is_some());
        assert!(translate(&m, pml4, va).is_none());
        m.next = 0x10_0000;
        assert_eq!(
            map(&mut m, pml4, 0x7000_0000_0000, 0, PAGE_4K, 0),
            Err(MapError::NoMemory)
        );
    }
}
