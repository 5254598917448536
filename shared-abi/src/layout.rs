//! The x86-64 side: where things live in the VM's physical memory (as the launcher
//! lays it out) and in the engine's virtual address space.
//!
//! VM-physical layout built by the launcher (all sizes in bytes):
//!
//! | range                          | what                                          |
//! |--------------------------------|-----------------------------------------------|
//! | `0 .. 0x1000`                  | unused (null page)                            |
//! | `BOOT_PT_BASE ..`              | the launcher's boot page tables               |
//! | `BOOT_INFO_PADDR ..`           | `bootloader_api::BootInfo` + memory regions    |
//! | `BOOT_STACK_BASE .. _TOP`      | the engine's boot stack                       |
//! | `ENGINE_PHYS_BASE ..`          | the engine image (its PT_LOAD segments)       |
//! | image end .. guest files       | usable memory (engine pool + guest RAM)       |
//! | top of memory                  | the guest file(s), page aligned               |

/// Virtual base the engine ELF is linked at (PML4[511]).
pub const ENGINE_VIRT_BASE: u64 = 0xffff_ffff_8000_0000;

/// Where the launcher loads the engine image: `paddr = vaddr - ENGINE_VIRT_BASE + ENGINE_PHYS_BASE`.
pub const ENGINE_PHYS_BASE: u64 = 0x20_0000;

/// Largest engine image (sum of its PT_LOAD extents) the launcher accepts.
pub const ENGINE_MAX_IMAGE: u64 = 62 * 1024 * 1024;

/// Virtual base of the map of all VM-physical memory (PML4[257]; PML4[256] belongs to
/// PVM and faults from ring 3). Used by both boot paths and kept by the engine.
pub const PHYS_MAP_BASE: u64 = 0xffff_8080_0000_0000;

/// Most VM-physical memory the physical map covers (PML4[257..=264]: 4 TiB).
pub const PHYS_MAP_MAX: u64 = 4 << 40;

/// The launcher's boot page tables.
pub const BOOT_PT_BASE: u64 = 0x1000;
/// Room for the boot page tables (PML4 + PDPTs + page directories).
pub const BOOT_PT_SIZE: u64 = 0xF000;

/// Where the launcher writes the `BootInfo`; the memory-region array follows at
/// `BOOT_INFO_PADDR + 0x1000`.
pub const BOOT_INFO_PADDR: u64 = 0x1_0000;
/// Size of the `BootInfo` area, regions included.
pub const BOOT_INFO_SIZE: u64 = 0x2000;
/// Most memory regions the launcher reports.
pub const BOOT_MAX_REGIONS: u64 = 64;

/// The launcher writes [`LAUNCHER_MAGIC`] here (inside the `BootInfo` area) so the
/// engine can tell which host booted it (the launcher or the `bootloader` crate under
/// QEMU). The engine also checks that the `BootInfo` pointer is `PHYS_MAP_BASE +
/// BOOT_INFO_PADDR`.
pub const LAUNCHER_MAGIC_PADDR: u64 = BOOT_INFO_PADDR + 0x0f00;
/// See [`LAUNCHER_MAGIC_PADDR`].
pub const LAUNCHER_MAGIC: [u8; 16] = *b"hvarm-launcher\0\x01";

/// The boot stack the launcher gives the engine (grows down from `BOOT_STACK_TOP`).
pub const BOOT_STACK_BASE: u64 = 0x8_0000;
pub const BOOT_STACK_TOP: u64 = 0x10_0000;

/// Memory the engine keeps for itself beyond its image: heap, stacks, page tables,
/// the code cache. The launcher adds it to the guest RAM size (`-m`).
pub const ENGINE_POOL: u64 = 352 * 1024 * 1024;

/// Smallest guest RAM the launcher accepts.
pub const MIN_GUEST_RAM: u64 = 16 * 1024 * 1024;

/// Largest guest RAM (the guest's RAM window in the `virt` map ends at 256 GiB,
/// and the physical map must hold it).
pub const MAX_GUEST_RAM: u64 = 255 * 1024 * 1024 * 1024;

/// Default guest RAM, as `-m` sets it.
pub const DEFAULT_GUEST_RAM: u64 = 512 * 1024 * 1024;

/// x86 interrupt vectors used inside the VM.
pub mod vector {
    /// LAPIC timer (TSC-deadline mode).
    pub const TIMER: u8 = 0x20;
    /// Console input is pending (an MSI the launcher injects).
    pub const CONSOLE: u8 = 0x21;
    /// A virtio back end completed requests on its own (network frames arrived): an
    /// MSI the launcher injects; the engine then asks which devices (`Virtio` POLL).
    pub const VIRTIO: u8 = 0x22;
    /// LAPIC spurious-interrupt vector.
    pub const SPURIOUS: u8 = 0xFF;
}

/// Total VM memory for a given guest RAM size and engine image extent, or `None`
/// on overflow.
pub fn vm_memory_size(guest_ram: u64, guest_files: u64) -> Option<u64> {
    let base = ENGINE_PHYS_BASE
        .checked_add(ENGINE_MAX_IMAGE)?
        .checked_add(ENGINE_POOL)?
        .checked_add(guest_ram)?
        .checked_add(guest_files)?;
    // 2 MiB granularity keeps the boot page tables on large pages.
    base.checked_add(0x1f_ffff).map(|v| v & !0x1f_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_ordered() {
        const {
            assert!(BOOT_PT_BASE + BOOT_PT_SIZE <= BOOT_INFO_PADDR);
            assert!(BOOT_INFO_PADDR + BOOT_INFO_SIZE <= BOOT_STACK_BASE);
            assert!(BOOT_STACK_TOP <= ENGINE_PHYS_BASE);
            assert!(PHYS_MAP_BASE >> 39 & 511 == 257);
            assert!(ENGINE_VIRT_BASE >> 39 & 511 == 511);
        }
        assert_eq!(vm_memory_size(0, 0).unwrap() % 0x20_0000, 0);
        assert!(vm_memory_size(u64::MAX, 1).is_none());
    }
}
