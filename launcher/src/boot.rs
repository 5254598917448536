//! What the launcher writes into VM memory before the first KVM_RUN: the placement of
//! the guest files, the boot page tables and GDT, and the `bootloader_api::BootInfo`
//! with its memory regions.

use bootloader_api::info::{MemoryRegion, MemoryRegionKind, MemoryRegions};
use bootloader_api::BootInfo;
use shared_abi::layout::{
    vm_memory_size, BOOT_INFO_PADDR, BOOT_INFO_SIZE, BOOT_MAX_REGIONS, BOOT_PT_BASE, BOOT_PT_SIZE,
    ENGINE_PHYS_BASE, ENGINE_VIRT_BASE, LAUNCHER_MAGIC, LAUNCHER_MAGIC_PADDR, PHYS_MAP_BASE,
    PHYS_MAP_MAX,
};

use crate::memory::{GuestMemory, OutOfRange};

const PAGE: u64 = 0x1000;
const MIB2: u64 = 0x20_0000;
const GIB: u64 = 1 << 30;

/// Page-table entry bits.
pub const PTE_PRESENT: u64 = 1 << 0;
pub const PTE_WRITABLE: u64 = 1 << 1;
pub const PTE_HUGE: u64 = 1 << 7;

/// Bytes of the engine's virtual window mapped by the boot tables (PML4[511]).
pub const ENGINE_WINDOW: u64 = 64 << 20;

/// The GDT the launcher writes: at the end of the boot page-table area.
pub const GDT_PADDR: u64 = BOOT_PT_BASE + BOOT_PT_SIZE - 0x100;
/// Null, 64-bit ring-0 code (selector 0x08), ring-0 data (selector 0x10); accessed bits set.
pub const GDT: [u64; 3] = [0, 0x00af_9b00_0000_ffff, 0x00cf_9300_0000_ffff];
pub const CODE_SELECTOR: u16 = 0x08;
pub const DATA_SELECTOR: u16 = 0x10;

/// Offset of the memory-region array from `BOOT_INFO_PADDR`.
pub const REGIONS_OFFSET: u64 = 0x1000;

/// Round up to a multiple of 4 KiB (None on overflow).
pub fn page_align(v: u64) -> Option<u64> {
    v.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// Where everything lies in VM-physical memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Total VM memory.
    pub mem_size: u64,
    /// End of the engine image, page aligned.
    pub image_end: u64,
    /// Page directories that do not fit in the boot area go here (right after the
    /// image); `pt_pages` of them. Usable memory starts after them.
    pub pt_pages: u64,
    /// Start of the usable memory (`image_end + pt_pages * 4 KiB`).
    pub usable_start: u64,
    /// First byte of the guest files (== `mem_size` if there are none).
    pub files_start: u64,
    /// (paddr, length) of the guest image.
    pub guest: Option<(u64, u64)>,
    /// (paddr, length) of the initrd.
    pub initrd: Option<(u64, u64)>,
}

impl Layout {
    /// Lays out VM memory for `guest_ram` bytes of guest RAM, an engine image of
    /// `extent` bytes and the given guest files; None if the sizes overflow or exceed
    /// what the physical map can cover.
    pub fn new(
        guest_ram: u64,
        extent: u64,
        guest_len: Option<u64>,
        initrd_len: Option<u64>,
    ) -> Option<Layout> {
        let g = page_align(guest_len.unwrap_or(0))?;
        let i = page_align(initrd_len.unwrap_or(0))?;
        let files = g.checked_add(i)?;
        let mem_size = vm_memory_size(guest_ram, files)?;
        if mem_size > PHYS_MAP_MAX {
            return None;
        }
        let files_start = mem_size - files;
        let image_end = ENGINE_PHYS_BASE.checked_add(page_align(extent)?)?;
        let pt_pages = overflow_table_pages(mem_size);
        let usable_start = image_end.checked_add(pt_pages * PAGE)?;
        if usable_start > files_start {
            return None;
        }
        Some(Layout {
            mem_size,
            image_end,
            pt_pages,
            usable_start,
            files_start,
            guest: guest_len.map(|l| (files_start, l)),
            initrd: initrd_len.map(|l| (files_start + g, l)),
        })
    }

    /// The memory map handed to the engine: sorted, non-overlapping, covering all memory.
    pub fn regions(&self) -> Vec<MemoryRegion> {
        let r = |start, end, kind| MemoryRegion { start, end, kind };
        let mut v = vec![
            r(0, ENGINE_PHYS_BASE, MemoryRegionKind::Bootloader),
            // The engine image and the overflow page tables.
            r(
                ENGINE_PHYS_BASE,
                self.usable_start,
                MemoryRegionKind::Bootloader,
            ),
            r(
                self.usable_start,
                self.files_start,
                MemoryRegionKind::Usable,
            ),
            r(
                self.files_start,
                self.mem_size,
                MemoryRegionKind::Bootloader,
            ),
        ];
        v.retain(|m| m.end > m.start);
        v
    }
}

/// Why the boot page tables cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("VM memory of {mem_size:#x} bytes does not fit in the boot page tables")]
pub struct PageTableError {
    pub mem_size: u64,
}

/// Table pages available in the boot area (its last page holds the GDT).
pub const BOOT_TABLE_PAGES: u64 = BOOT_PT_SIZE / PAGE - 1;

/// Table pages the boot tables need for `mem_size` bytes of VM memory: PML4, the
/// engine window's PDPT and PD, the physical map's PDPTs and one PD per GiB.
pub fn table_pages(mem_size: u64) -> u64 {
    let gibs = mem_size.div_ceil(GIB);
    3 + gibs.div_ceil(512) + gibs
}

/// Table pages that do not fit in the boot area (placed after the engine image).
pub fn overflow_table_pages(mem_size: u64) -> u64 {
    table_pages(mem_size).saturating_sub(BOOT_TABLE_PAGES)
}

/// The boot page tables and GDT, ready to copy into VM memory.
#[derive(Debug)]
pub struct BootTables {
    /// Contents of `[BOOT_PT_BASE, BOOT_PT_BASE + BOOT_PT_SIZE)`.
    pub area: Vec<u8>,
    /// Contents of `[overflow_base, overflow_base + overflow.len())`.
    pub overflow: Vec<u8>,
}

/// Builds the boot page tables: PML4 at `BOOT_PT_BASE`; PML4[257..] maps all
/// `mem_size` bytes at `PHYS_MAP_BASE` and PML4[511] maps `ENGINE_WINDOW` bytes from
/// `ENGINE_VIRT_BASE` to `ENGINE_PHYS_BASE`, all with 2 MiB pages. Tables beyond the
/// boot area's `BOOT_TABLE_PAGES` go to `overflow_base`. The GDT sits in the boot
/// area's last 0x100 bytes.
pub fn boot_tables(mem_size: u64, overflow_base: u64) -> Result<BootTables, PageTableError> {
    if mem_size == 0 || mem_size > PHYS_MAP_MAX || !overflow_base.is_multiple_of(PAGE) {
        return Err(PageTableError { mem_size });
    }
    let total = table_pages(mem_size);
    // All table pages in allocation order; page i lives at paddr(i).
    let mut pages = vec![0u8; (total * PAGE) as usize];
    let paddr = |i: u64| {
        if i < BOOT_TABLE_PAGES {
            BOOT_PT_BASE + i * PAGE
        } else {
            overflow_base + (i - BOOT_TABLE_PAGES) * PAGE
        }
    };
    let set = |pages: &mut [u8], table: u64, index: u64, value: u64| {
        let o = (table * PAGE + index * 8) as usize;
        pages[o..o + 8].copy_from_slice(&value.to_le_bytes());
    };
    let link = |i: u64| paddr(i) | PTE_PRESENT | PTE_WRITABLE;
    let huge = |pa: u64| pa | PTE_PRESENT | PTE_WRITABLE | PTE_HUGE;

    const PML4: u64 = 0;
    const PDPT_E: u64 = 1;
    const PD_E: u64 = 2;
    set(&mut pages, PML4, ENGINE_VIRT_BASE >> 39 & 511, link(PDPT_E));
    set(&mut pages, PDPT_E, ENGINE_VIRT_BASE >> 30 & 511, link(PD_E));
    let pd_first = ENGINE_VIRT_BASE >> 21 & 511;
    for k in 0..ENGINE_WINDOW / MIB2 {
        set(
            &mut pages,
            PD_E,
            pd_first + k,
            huge(ENGINE_PHYS_BASE + k * MIB2),
        );
    }

    let gibs = mem_size.div_ceil(GIB);
    let pdpts = gibs.div_ceil(512);
    let pml4_first = PHYS_MAP_BASE >> 39 & 511;
    let first_pdpt = 3;
    let first_pd = first_pdpt + pdpts;
    for i in 0..pdpts {
        set(&mut pages, PML4, pml4_first + i, link(first_pdpt + i));
    }
    for g in 0..gibs {
        let pd = first_pd + g;
        set(&mut pages, first_pdpt + g / 512, g % 512, link(pd));
        let chunks = (mem_size - g * GIB).min(GIB).div_ceil(MIB2);
        for k in 0..chunks {
            set(&mut pages, pd, k, huge(g * GIB + k * MIB2));
        }
    }

    let split = (BOOT_TABLE_PAGES.min(total) * PAGE) as usize;
    let overflow = pages.split_off(split);
    let mut area = pages;
    area.resize(BOOT_PT_SIZE as usize, 0);
    let gdt_off = (GDT_PADDR - BOOT_PT_BASE) as usize;
    for (i, d) in GDT.iter().enumerate() {
        area[gdt_off + i * 8..gdt_off + i * 8 + 8].copy_from_slice(&d.to_le_bytes());
    }
    Ok(BootTables { area, overflow })
}

/// Writes the boot tables for `layout` into VM memory.
pub fn write_boot_tables(mem: &GuestMemory, layout: &Layout) -> Result<(), PageTableError> {
    let err = PageTableError {
        mem_size: layout.mem_size,
    };
    let t = boot_tables(layout.mem_size, layout.image_end)?;
    if t.overflow.len() as u64 != layout.pt_pages * PAGE {
        return Err(err);
    }
    mem.write(BOOT_PT_BASE, &t.area).map_err(|_| err)?;
    mem.write(layout.image_end, &t.overflow).map_err(|_| err)?;
    Ok(())
}

/// Writes the `BootInfo` at `BOOT_INFO_PADDR`, the memory regions after it, and the
/// launcher magic that tells the engine which host booted it.
pub fn write_boot_info(mem: &GuestMemory, layout: &Layout, extent: u64) -> Result<(), OutOfRange> {
    let regions = layout.regions();
    let region_size = std::mem::size_of::<MemoryRegion>() as u64;
    let count = regions.len() as u64;
    if count > BOOT_MAX_REGIONS || REGIONS_OFFSET + count * region_size > BOOT_INFO_SIZE {
        return Err(OutOfRange {
            paddr: BOOT_INFO_PADDR + REGIONS_OFFSET,
            len: count * region_size,
        });
    }
    let empty: &'static mut [MemoryRegion] = &mut [];
    let mut info = BootInfo::new(MemoryRegions::from(empty));
    info.physical_memory_offset = Some(PHYS_MAP_BASE).into();
    match layout.guest {
        Some((paddr, len)) => {
            info.ramdisk_addr = Some(PHYS_MAP_BASE + paddr).into();
            info.ramdisk_len = len;
        }
        None => {
            info.ramdisk_addr = None.into();
            info.ramdisk_len = 0;
        }
    }
    info.kernel_addr = ENGINE_PHYS_BASE;
    info.kernel_len = extent;
    info.kernel_image_offset = 0;
    const {
        assert!(std::mem::size_of::<BootInfo>() as u64 <= LAUNCHER_MAGIC_PADDR - BOOT_INFO_PADDR);
        assert!(LAUNCHER_MAGIC_PADDR + 16 <= BOOT_INFO_PADDR + REGIONS_OFFSET);
    }
    mem.write_obj(BOOT_INFO_PADDR, info)?;
    mem.write(LAUNCHER_MAGIC_PADDR, &LAUNCHER_MAGIC)?;
    let mr = BOOT_INFO_PADDR + std::mem::offset_of!(BootInfo, memory_regions) as u64;
    mem.write_u64(mr, PHYS_MAP_BASE + BOOT_INFO_PADDR + REGIONS_OFFSET)?;
    mem.write_u64(mr + 8, count)?;
    for (i, r) in regions.into_iter().enumerate() {
        mem.write_obj(BOOT_INFO_PADDR + REGIONS_OFFSET + i as u64 * region_size, r)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::layout::{DEFAULT_GUEST_RAM, ENGINE_POOL, MIN_GUEST_RAM};

    /// Reads a table entry from the boot area or the overflow tables.
    fn entry(t: &BootTables, overflow_base: u64, table: u64, index: u64) -> u64 {
        let (buf, off) = if (BOOT_PT_BASE..BOOT_PT_BASE + BOOT_PT_SIZE).contains(&table) {
            (&t.area, table - BOOT_PT_BASE)
        } else {
            assert!(
                table >= overflow_base,
                "table {table:#x} outside both areas"
            );
            (&t.overflow, table - overflow_base)
        };
        let o = (off + index * 8) as usize;
        u64::from_le_bytes(buf[o..o + 8].try_into().unwrap())
    }

    /// Walks the boot tables like the MMU: virtual -> physical (None if unmapped).
    fn walk(t: &BootTables, ob: u64, va: u64) -> Option<u64> {
        let mut table = BOOT_PT_BASE;
        for (level, shift) in [(4, 39), (3, 30), (2, 21)] {
            let e = entry(t, ob, table, va >> shift & 511);
            if e & PTE_PRESENT == 0 {
                return None;
            }
            assert_ne!(e & PTE_WRITABLE, 0, "writable");
            let addr = e & 0x000f_ffff_ffff_f000;
            if e & PTE_HUGE != 0 {
                assert_eq!(level, 2, "2 MiB pages only");
                let mask = (1u64 << shift) - 1;
                assert_eq!(addr & mask, 0, "huge page aligned");
                return Some(addr | (va & mask));
            }
            assert!(table != GDT_PADDR & !0xfff, "no table in the GDT page");
            table = addr;
        }
        None
    }

    const OB: u64 = ENGINE_PHYS_BASE + 0x10_0000;

    #[test]
    fn maps_memory_and_engine() {
        let size = vm_memory_size(DEFAULT_GUEST_RAM, 0x40_0000).unwrap();
        let t = boot_tables(size, OB).unwrap();
        assert!(t.overflow.is_empty());
        assert_eq!(t.area.len() as u64, BOOT_PT_SIZE);
        for pa in [0, 0x1234, 0x20_0000, size / 2 + 0x17, size - 1] {
            assert_eq!(walk(&t, OB, PHYS_MAP_BASE + pa), Some(pa), "pa {pa:#x}");
        }
        assert_eq!(walk(&t, OB, PHYS_MAP_BASE + size), None);
        assert_eq!(walk(&t, OB, ENGINE_VIRT_BASE), Some(ENGINE_PHYS_BASE));
        assert_eq!(
            walk(&t, OB, ENGINE_VIRT_BASE + ENGINE_WINDOW - 8),
            Some(ENGINE_PHYS_BASE + ENGINE_WINDOW - 8)
        );
        assert_eq!(walk(&t, OB, ENGINE_VIRT_BASE + ENGINE_WINDOW), None);
        // No identity map, nothing in PML4[256] (PVM's).
        assert_eq!(walk(&t, OB, 0x20_0000), None);
        assert_eq!(entry(&t, OB, BOOT_PT_BASE, 256), 0);
        assert_eq!(entry(&t, OB, BOOT_PT_BASE, 257) & PTE_PRESENT, 1);
        // A 2 MiB leaf: present, writable, huge.
        let pdpt = entry(&t, OB, BOOT_PT_BASE, 257) & !0xfff;
        let pd = entry(&t, OB, pdpt, 0) & !0xfff;
        assert_eq!(entry(&t, OB, pd, 1), 0x20_0000 | 0x83);
        // The GDT.
        let g = (GDT_PADDR - BOOT_PT_BASE) as usize;
        assert_eq!(&t.area[g + 8..g + 16], &GDT[1].to_le_bytes());
    }

    #[test]
    fn large_memory_spills_tables() {
        let small = 10 * GIB; // 3 + 1 + 10 = 14 pages: exactly the boot area
        assert_eq!(overflow_table_pages(small), 0);
        assert!(boot_tables(small, OB).unwrap().overflow.is_empty());
        let big = 300 * GIB + MIB2;
        let t = boot_tables(big, OB).unwrap();
        assert_eq!(t.overflow.len() as u64, overflow_table_pages(big) * PAGE);
        assert_eq!(overflow_table_pages(big), 3 + 1 + 301 - BOOT_TABLE_PAGES);
        for pa in [0, 5 * GIB + 3, 200 * GIB + 0x1000, big - 1] {
            assert_eq!(walk(&t, OB, PHYS_MAP_BASE + pa), Some(pa));
        }
        assert_eq!(walk(&t, OB, PHYS_MAP_BASE + big), None);
        let huge = 600 * GIB; // two PDPTs
        let t = boot_tables(huge, OB).unwrap();
        assert_eq!(walk(&t, OB, PHYS_MAP_BASE + huge - 1), Some(huge - 1));
        assert_eq!(
            walk(&t, OB, PHYS_MAP_BASE + 513 * GIB + 7),
            Some(513 * GIB + 7)
        );
        assert!(boot_tables(PHYS_MAP_MAX + GIB, OB).is_err());
        assert!(boot_tables(0, OB).is_err());
        assert!(boot_tables(GIB, OB + 8).is_err());
    }

    #[test]
    fn layout_reserves_overflow_tables() {
        use shared_abi::layout::MAX_GUEST_RAM;
        let l = Layout::new(MAX_GUEST_RAM, 0x5000, Some(1), None).unwrap();
        assert!(l.pt_pages > 0);
        assert_eq!(l.usable_start, l.image_end + l.pt_pages * PAGE);
        let r = l.regions();
        assert_eq!(r[1].end, l.usable_start);
        assert_eq!(r[2].kind, MemoryRegionKind::Usable);
        assert!(r[2].end - r[2].start >= MAX_GUEST_RAM + ENGINE_POOL);
        let mem = GuestMemory::new(l.mem_size).unwrap();
        write_boot_tables(&mem, &l).unwrap();
        let last = l.mem_size - 8;
        // Find the PD entry of the last 2 MiB page by walking the written tables.
        let mut table = BOOT_PT_BASE;
        let va = PHYS_MAP_BASE + last;
        for shift in [39, 30, 21] {
            let e = mem.read_u64(table + (va >> shift & 511) * 8).unwrap();
            assert_eq!(e & 1, 1);
            if shift == 21 {
                assert_eq!(e & !0x1f_ffff, last & !0x1f_ffff);
            }
            table = e & 0x000f_ffff_ffff_f000;
        }
    }

    #[test]
    fn layout_and_regions() {
        let l = Layout::new(MIN_GUEST_RAM, 0x12345, Some(5000), Some(1)).unwrap();
        assert_eq!(l.image_end, ENGINE_PHYS_BASE + 0x13000);
        assert_eq!(l.guest, Some((l.mem_size - 0x3000, 5000)));
        assert_eq!(l.initrd, Some((l.mem_size - 0x1000, 1)));
        let r = l.regions();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].start, 0);
        assert_eq!(r[3].end, l.mem_size);
        for w in r.windows(2) {
            assert_eq!(w[0].end, w[1].start, "sorted, contiguous");
        }
        assert_eq!(r[2].kind, MemoryRegionKind::Usable);
        assert!(r[2].end - r[2].start >= ENGINE_POOL + MIN_GUEST_RAM);
        // No guest files: no files region.
        let l = Layout::new(MIN_GUEST_RAM, 0x1000, None, None).unwrap();
        assert_eq!(l.regions().len(), 3);
        assert_eq!(l.files_start, l.mem_size);
        assert!(Layout::new(u64::MAX, 0, None, None).is_none());
        assert!(Layout::new(MIN_GUEST_RAM, 0, Some(u64::MAX - 10), None).is_none());
        assert!(Layout::new(MIN_GUEST_RAM, 0, Some(PHYS_MAP_MAX), None).is_none());
    }

    #[test]
    fn boot_info_serialisation() {
        let l = Layout::new(MIN_GUEST_RAM, 0x5000, Some(0x1800), None).unwrap();
        let mem = GuestMemory::new(l.mem_size).unwrap();
        write_boot_info(&mem, &l, 0x5000).unwrap();
        let at = |field: usize| mem.read_u64(BOOT_INFO_PADDR + field as u64).unwrap();
        use std::mem::offset_of;
        let mr = offset_of!(BootInfo, memory_regions);
        assert_eq!(at(mr), PHYS_MAP_BASE + BOOT_INFO_PADDR + REGIONS_OFFSET);
        assert_eq!(at(mr + 8), 4);
        // Optional<u64> is repr(C): a u32 tag (Some = 0) then the value at offset 8.
        let pmo = offset_of!(BootInfo, physical_memory_offset);
        assert_eq!(at(pmo) & 0xffff_ffff, 0);
        assert_eq!(at(pmo + 8), PHYS_MAP_BASE);
        let rd = offset_of!(BootInfo, ramdisk_addr);
        assert_eq!(at(rd) & 0xffff_ffff, 0);
        assert_eq!(at(rd + 8), PHYS_MAP_BASE + l.guest.unwrap().0);
        assert_eq!(at(offset_of!(BootInfo, ramdisk_len)), 0x1800);
        assert_eq!(at(offset_of!(BootInfo, kernel_addr)), ENGINE_PHYS_BASE);
        assert_eq!(at(offset_of!(BootInfo, kernel_len)), 0x5000);
        assert_eq!(at(offset_of!(BootInfo, kernel_image_offset)), 0);
        let mut magic = [0u8; 16];
        mem.read(LAUNCHER_MAGIC_PADDR, &mut magic).unwrap();
        assert_eq!(magic, LAUNCHER_MAGIC);
        // The regions: MemoryRegion is {start, end, kind (u32 tag)}.
        let rsz = std::mem::size_of::<MemoryRegion>() as u64;
        assert_eq!(rsz, 24);
        let base = BOOT_INFO_PADDR + REGIONS_OFFSET;
        let usable = base + 2 * rsz;
        assert_eq!(mem.read_u64(usable).unwrap(), l.usable_start);
        assert_eq!(mem.read_u64(usable + 8).unwrap(), l.files_start);
        assert_eq!(
            mem.read_u64(usable + 16).unwrap() & 0xffff_ffff,
            0,
            "Usable = 0"
        );
        assert_eq!(
            mem.read_u64(base + 16).unwrap() & 0xffff_ffff,
            1,
            "Bootloader = 1"
        );
        // No guest (selftest): no ramdisk.
        let l = Layout::new(MIN_GUEST_RAM, 0x5000, None, None).unwrap();
        let mem = GuestMemory::new(l.mem_size).unwrap();
        write_boot_info(&mem, &l, 0x5000).unwrap();
        let rd = BOOT_INFO_PADDR + offset_of!(BootInfo, ramdisk_addr) as u64;
        assert_eq!(mem.read_u64(rd).unwrap() & 0xffff_ffff, 1, "None");
        assert!(std::mem::size_of::<BootInfo>() as u64 <= REGIONS_OFFSET);
    }
}
