//! The ring-0 kernel: one-time setup (page tables, GDT/TSS/IDT, x2APIC) and the few
//! privileged services in [`stubs`]. Everything else runs in ring 3 (the monitor).

pub mod stubs;

use crate::monitor;
use bootloader_api::info::MemoryRegionKind;
use bootloader_api::BootInfo;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use engine::frames::FrameAllocator;
use engine::paging::{self, PhysMem, NO_EXECUTE, PAGE_2M, PAGE_4K, USER, WRITABLE};
use shared_abi::layout::{self, PHYS_MAP_BASE};
use spin::Mutex;

/// Ring-0 stack (TSS.RSP0): services run here, and the CPU's exception frame for an
/// upcall is read from its top by ring 3 (so it lives in the user-readable image).
pub const KSTACK_SIZE: usize = 64 * 1024;
/// Stack the monitor's fault handlers run on.
pub const UPCALL_STACK_SIZE: usize = 256 * 1024;
/// The monitor's main stack (its first page is left unmapped as a guard).
pub const MONITOR_STACK_SIZE: usize = 2 * 1024 * 1024;
const IST_SIZE: usize = 16 * 1024;

#[repr(C, align(4096))]
pub struct Stack<const N: usize>(pub [u8; N]);

#[unsafe(no_mangle)]
pub static mut KSTACK: Stack<KSTACK_SIZE> = Stack([0; KSTACK_SIZE]);
#[unsafe(no_mangle)]
pub static mut UPCALL_STACK: Stack<UPCALL_STACK_SIZE> = Stack([0; UPCALL_STACK_SIZE]);
pub static mut MONITOR_STACK: Stack<MONITOR_STACK_SIZE> = Stack([0; MONITOR_STACK_SIZE]);
static mut IST_IRQ: Stack<IST_SIZE> = Stack([0; IST_SIZE]);
static mut IST_FATAL: Stack<IST_SIZE> = Stack([0; IST_SIZE]);

/// Set by every interrupt; the monitor clears it when it has looked at `IRQ_PENDING`.
#[unsafe(no_mangle)]
pub static IRQ_FLAG: AtomicU8 = AtomicU8::new(0);
/// One bit per interrupt vector that arrived and was not yet consumed.
#[unsafe(no_mangle)]
pub static IRQ_PENDING: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
#[unsafe(no_mangle)]
pub static mut UPCALL_SCRATCH: u64 = 0;
/// Where an exception from ring 3 continues (set at setup; read by the stub).
pub static mut UPCALL_RSP: u64 = 0;
pub static mut UPCALL_RIP: u64 = 0;

/// Which host booted the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKind {
    Launcher,
    Qemu,
}

/// What ring 0 hands to the monitor when it enters ring 3.
#[derive(Debug)]
pub struct Handoff {
    pub host: HostKind,
    /// Guest file handed over as the boot ramdisk: VM-physical address and length.
    pub ramdisk: Option<(u64, u64)>,
    /// VM-physical address of the ring-0-only test page.
    pub ring0_page: u64,
    /// Virtual base of the scratch window (PML4[258]) whose tables ring 3 may edit.
    pub scratch_base: u64,
    /// VM-physical address of the scratch window's PDPT (user-writable).
    pub scratch_pdpt: u64,
    pub x2apic: bool,
    pub tsc_deadline: bool,
}

/// The scratch window: PML4[258], page tables in user-writable memory.
pub const SCRATCH_BASE: u64 = 0xffff_8100_0000_0000;

/// Physical frames not yet used, shared by ring 0 (setup) and ring 3 (everything after).
pub static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator::new());

static mut HANDOFF: Handoff = Handoff {
    host: HostKind::Qemu,
    ramdisk: None,
    ring0_page: 0,
    scratch_base: SCRATCH_BASE,
    scratch_pdpt: 0,
    x2apic: false,
    tsc_deadline: false,
};

/// Physical memory through the physical map.
pub struct PhysMap;

impl PhysMap {
    pub fn ptr<T>(paddr: u64) -> *mut T {
        (PHYS_MAP_BASE + paddr) as *mut T
    }
}

impl PhysMem for PhysMap {
    fn read(&self, paddr: u64) -> u64 {
        // SAFETY: the physical map covers all VM memory; page-table code only passes
        // addresses of table entries it found or allocated.
        unsafe { core::ptr::read_volatile(Self::ptr::<u64>(paddr)) }
    }
    fn write(&mut self, paddr: u64, value: u64) {
        // SAFETY: as for `read`.
        unsafe { core::ptr::write_volatile(Self::ptr::<u64>(paddr), value) }
    }
    fn alloc_table(&mut self) -> Option<u64> {
        let f = FRAMES.lock().alloc(PAGE_4K, PAGE_4K).ok()?;
        zero_frame(f);
        Some(f)
    }
}

/// Page tables allocated from a fixed arena (the ring-0 2 MiB chunk) during setup.
struct ArenaMem {
    next: u64,
    end: u64,
}

impl PhysMem for ArenaMem {
    fn read(&self, paddr: u64) -> u64 {
        PhysMap.read(paddr)
    }
    fn write(&mut self, paddr: u64, value: u64) {
        PhysMap.write(paddr, value)
    }
    fn alloc_table(&mut self) -> Option<u64> {
        if self.next >= self.end {
            return None;
        }
        let f = self.next;
        self.next += PAGE_4K;
        zero_frame(f);
        Some(f)
    }
}

pub fn zero_frame(paddr: u64) {
    // SAFETY: `paddr` is a whole free frame, reachable through the physical map.
    unsafe { core::ptr::write_bytes(PhysMap::ptr::<u8>(paddr), 0, PAGE_4K as usize) }
}

/// The tables the boot host left us (read-only walks while we build our own).
struct CurrentTables;
impl PhysMem for CurrentTables {
    fn read(&self, paddr: u64) -> u64 {
        PhysMap.read(paddr)
    }
    fn write(&mut self, _: u64, _: u64) {}
    fn alloc_table(&mut self) -> Option<u64> {
        None
    }
}

fn read_cr3() -> u64 {
    x86_64::registers::control::Cr3::read_raw()
        .0
        .start_address()
        .as_u64()
}

unsafe extern "C" {
    static __image_start: u8;
    static __image_end: u8;
}

/// Stops the engine from ring 0 before the monitor exists: report and exit.
fn early_fatal(host: HostKind, msg: &str) -> ! {
    monitor::host::early_exit(host, shared_abi::hypercall::exit_code::RING0_FAULT, msg)
}

/// Entry from `_start` (ring 0, boot host's page tables and stack).
pub fn start(boot_info: &'static mut BootInfo) -> ! {
    let bi_addr = boot_info as *const BootInfo as u64;
    let host = if bi_addr == PHYS_MAP_BASE + layout::BOOT_INFO_PADDR && {
        // SAFETY: the launcher maps all VM memory at PHYS_MAP_BASE, and the boot info
        // pointer says the launcher booted us; the magic lies inside its BootInfo area.
        let m = unsafe { &*PhysMap::ptr::<[u8; 16]>(layout::LAUNCHER_MAGIC_PADDR) };
        *m == layout::LAUNCHER_MAGIC
    } {
        HostKind::Launcher
    } else {
        HostKind::Qemu
    };
    if boot_info.physical_memory_offset.into_option() != Some(PHYS_MAP_BASE) {
        early_fatal(
            host,
            "boot host did not map physical memory at PHYS_MAP_BASE",
        );
    }

    // Usable memory.
    let mut top = 0u64;
    {
        let mut frames = FRAMES.lock();
        for r in boot_info.memory_regions.iter() {
            // The physical map covers RAM (usable or used by the boot host), not the
            // reserved windows a PC BIOS reports far above it.
            if matches!(
                r.kind,
                MemoryRegionKind::Usable | MemoryRegionKind::Bootloader
            ) {
                top = top.max(r.end);
            }
            if r.kind == MemoryRegionKind::Usable && frames.add_region(r.start, r.end).is_err() {
                drop(frames);
                early_fatal(host, "too many memory regions");
            }
        }
    }
    if top > layout::PHYS_MAP_MAX {
        early_fatal(host, "VM memory exceeds the physical map");
    }

    let old = read_cr3();
    let ramdisk = match boot_info.ramdisk_addr.into_option() {
        Some(va) if boot_info.ramdisk_len > 0 => match paging::translate(&CurrentTables, old, va) {
            Some(t) => Some((t.paddr, boot_info.ramdisk_len)),
            None => early_fatal(host, "ramdisk is not mapped"),
        },
        _ => None,
    };

    // The ring-0 arena: one 2 MiB chunk, supervisor-only in the physical map.
    let arena = match FRAMES.lock().alloc(PAGE_2M, PAGE_2M) {
        Ok(a) => a,
        Err(_) => early_fatal(host, "out of memory for the ring-0 arena"),
    };
    let mut mem = ArenaMem {
        next: arena,
        end: arena + PAGE_2M,
    };
    let Some(pml4) = mem.alloc_table() else {
        early_fatal(host, "arena")
    };
    let gdt = mem.alloc_table().unwrap_or(0);
    let idt = mem.alloc_table().unwrap_or(0);
    let ring0_page = mem.alloc_table().unwrap_or(0);
    // SAFETY: ring0_page is a fresh frame of the arena.
    unsafe { *PhysMap::ptr::<u64>(ring0_page) = 0x5EC2E7 };

    // Physical map: all VM memory, 2 MiB pages, user-accessible except the arena.
    let mut pa = 0;
    while pa < top {
        let user = if pa == arena { 0 } else { USER };
        if paging::map(
            &mut mem,
            pml4,
            PHYS_MAP_BASE + pa,
            pa,
            PAGE_2M,
            WRITABLE | user,
        )
        .is_err()
        {
            early_fatal(host, "out of arena memory for the physical map");
        }
        pa += PAGE_2M;
    }

    // The engine image, page by page, with its permissions plus USER (the monitor runs
    // it in ring 3). The monitor stack's first page stays unmapped (guard).
    // SAFETY: linker-defined symbols; only their addresses are used.
    let (img_start, img_end) = unsafe {
        (
            &__image_start as *const u8 as u64,
            &__image_end as *const u8 as u64,
        )
    };
    let guard = core::ptr::addr_of!(MONITOR_STACK) as u64;
    let mut va = img_start;
    while va < img_end {
        let Some(t) = paging::translate(&CurrentTables, old, va) else {
            early_fatal(host, "engine image page not mapped by the boot host");
        };
        if va != guard {
            let flags = (t.flags & (WRITABLE | NO_EXECUTE)) | USER;
            if paging::map(&mut mem, pml4, va, t.paddr & !0xfff, PAGE_4K, flags).is_err() {
                early_fatal(host, "out of arena memory for the image");
            }
        }
        va += PAGE_4K;
    }

    // The scratch window: its PDPT comes from user memory so ring 3 can edit below it.
    let scratch_pdpt = match FRAMES.lock().alloc(PAGE_4K, PAGE_4K) {
        Ok(f) => f,
        Err(_) => early_fatal(host, "out of memory"),
    };
    zero_frame(scratch_pdpt);
    PhysMap.write(
        pml4 + paging::index(SCRATCH_BASE, 4) as u64 * 8,
        scratch_pdpt | 0x7,
    );

    // GDT: null, kernel code 0x08, kernel data 0x10, user data 0x18, user code 0x20, TSS 0x28.
    let tss = gdt + 0x800;
    let g = PhysMap::ptr::<u64>(gdt);
    let tss_base = PHYS_MAP_BASE + tss;
    let tss_limit = 104 - 1;
    // SAFETY: `gdt` is a fresh arena frame; the TSS lies in its second half.
    unsafe {
        *g.add(1) = 0x00af_9a00_0000_ffff;
        *g.add(2) = 0x00cf_9200_0000_ffff;
        *g.add(3) = 0x00cf_f200_0000_ffff;
        *g.add(4) = 0x00af_fa00_0000_ffff;
        *g.add(5) = tss_limit
            | ((tss_base & 0xff_ffff) << 16)
            | (0x89 << 40)
            | (((tss_base >> 24) & 0xff) << 56);
        *g.add(6) = tss_base >> 32;
        let t = PhysMap::ptr::<u8>(tss);
        let put = |off: usize, v: u64| core::ptr::write_unaligned(t.add(off) as *mut u64, v);
        put(4, core::ptr::addr_of!(KSTACK) as u64 + KSTACK_SIZE as u64); // RSP0
        put(36, core::ptr::addr_of!(IST_IRQ) as u64 + IST_SIZE as u64); // IST1
        put(44, core::ptr::addr_of!(IST_FATAL) as u64 + IST_SIZE as u64); // IST2
        core::ptr::write_unaligned(t.add(102) as *mut u16, 104); // no I/O bitmap
    }

    // IDT.
    let idt_ptr = PhysMap::ptr::<u64>(idt);
    for v in 0..256u64 {
        let handler = if v == 3 {
            stubs::hv_bp_entry as *const () as u64
        } else if v < 32 {
            (stubs::hv_exc_stubs as *const () as u64) + 16 * v
        } else {
            (stubs::hv_irq_stubs as *const () as u64) + 16 * (v - 32)
        };
        let ist: u64 = match v {
            2 | 8 | 18 => 2,
            32.. => 1,
            _ => 0,
        };
        let dpl: u64 = if v == 3 { 3 } else { 0 };
        let lo = (handler & 0xffff)
            | (0x08 << 16)
            | (ist << 32)
            | ((0x8e | (dpl << 5)) << 40)
            | (((handler >> 16) & 0xffff) << 48);
        // SAFETY: idt is a fresh arena frame of 256 16-byte gates.
        unsafe {
            *idt_ptr.add(2 * v as usize) = lo;
            *idt_ptr.add(2 * v as usize + 1) = handler >> 32;
        }
    }

    // SAFETY: statics read by the exception stub; written once before ring 3 exists.
    unsafe {
        UPCALL_RIP = stubs::hv_upcall_entry as *const () as u64;
        UPCALL_RSP = core::ptr::addr_of!(UPCALL_STACK) as u64 + UPCALL_STACK_SIZE as u64;
    }

    let (x2apic, tsc_deadline) = {
        let c = core::arch::x86_64::__cpuid(1);
        (c.ecx & (1 << 21) != 0, c.ecx & (1 << 24) != 0)
    };

    // SAFETY: single writer before ring 3 starts.
    unsafe {
        HANDOFF = Handoff {
            host,
            ramdisk,
            ring0_page,
            scratch_base: SCRATCH_BASE,
            scratch_pdpt,
            x2apic,
            tsc_deadline,
        };
    }

    let kstack_top = core::ptr::addr_of!(KSTACK) as u64 + KSTACK_SIZE as u64;
    // SAFETY: the new tables map the image (this code, its statics and stacks) at the
    // same addresses and the physical map at the same offset, so execution continues
    // after the switch; the boot stack is abandoned for the RSP0 stack.
    unsafe {
        core::arch::asm!(
            "mov cr3, {pml4}",
            "mov rsp, {stack}",
            "jmp {next}",
            pml4 = in(reg) pml4,
            stack = in(reg) kstack_top,
            next = sym stage2,
            in("rdi") gdt,
            in("rsi") idt,
            options(noreturn)
        );
    }
}

/// Ring 0 on our own tables and stack: load GDT/TSS/IDT, set up the x2APIC, drop to ring 3.
extern "C" fn stage2(gdt: u64, idt: u64) -> ! {
    use x86_64::structures::DescriptorTablePointer;
    use x86_64::VirtAddr;
    let gdtr = DescriptorTablePointer {
        limit: 7 * 8 - 1,
        base: VirtAddr::new(PHYS_MAP_BASE + gdt),
    };
    let idtr = DescriptorTablePointer {
        limit: 256 * 16 - 1,
        base: VirtAddr::new(PHYS_MAP_BASE + idt),
    };
    // SAFETY: the descriptors were built in `start`; after lgdt we reload every segment
    // register with valid selectors, then load the TSS and the IDT.
    unsafe {
        x86_64::instructions::tables::lgdt(&gdtr);
        core::arch::asm!(
            "push 0x08",
            "lea rax, [rip + 2f]",
            "push rax",
            "retfq",
            "2:",
            "mov ax, 0x10",
            "mov ds, ax",
            "mov es, ax",
            "mov ss, ax",
            "xor eax, eax",
            "mov fs, ax",
            "mov gs, ax",
            "mov ax, 0x28",
            "ltr ax",
            out("rax") _,
        );
        x86_64::instructions::tables::lidt(&idtr);
        // SSE for ring 3 (translated code): CR0.EM off, MP on; CR4.OSFXSR|OSXMMEXCPT.
        core::arch::asm!(
            "mov rax, cr0",
            "and rax, ~4",
            "or rax, 2",
            "mov cr0, rax",
            "mov rax, cr4",
            "or rax, 0x600",
            "mov cr4, rax",
            out("rax") _,
        );
    }
    mask_legacy_pic();
    // SAFETY: HANDOFF was fully written in `start`.
    let h = unsafe { &*core::ptr::addr_of!(HANDOFF) };
    if h.x2apic {
        // SAFETY: x2APIC is advertised: enable it, the spurious vector, and put the LVT
        // timer in TSC-deadline mode (or one-shot if that is missing) on our vector.
        unsafe {
            let mut base = x86_64::registers::model_specific::Msr::new(0x1b);
            let v = base.read();
            base.write(v | (1 << 10) | (1 << 11));
            x86_64::registers::model_specific::Msr::new(0x80f)
                .write(0x100 | layout::vector::SPURIOUS as u64);
            let mode = if h.tsc_deadline { 2 << 17 } else { 0 };
            x86_64::registers::model_specific::Msr::new(0x832)
                .write(mode | layout::vector::TIMER as u64);
            x86_64::registers::model_specific::Msr::new(0x808).write(0);
            // One-shot mode counts at the APIC clock divided by 1.
            x86_64::registers::model_specific::Msr::new(0x83e).write(0b1011);
        }
    }
    let top = core::ptr::addr_of!(MONITOR_STACK) as u64 + MONITOR_STACK_SIZE as u64;
    // SAFETY: enter ring 3 at the monitor with IF=1 on its own stack; rdi carries the
    // handoff pointer (a static of the user-accessible image).
    unsafe {
        core::arch::asm!(
            "push 0x1b",
            "push {stack}",
            "push 0x202",
            "push 0x23",
            "push {entry}",
            "iretq",
            stack = in(reg) top - 8,
            entry = in(reg) monitor::monitor_entry as *const () as u64,
            in("rdi") h as *const Handoff as u64,
            options(noreturn)
        );
    }
}

/// Moves the 8259 PICs' vectors to 0x30..0x3f (clear of the exception vectors, where
/// the BIOS leaves them) and masks every line: all our interrupts come via the LAPIC.
fn mask_legacy_pic() {
    // SAFETY: the standard ICW1-4 sequence and OCW1 masks on the PIC ports, which both
    // hosts provide (KVM's in-kernel irqchip includes the PICs).
    unsafe {
        use x86_64::instructions::port::Port;
        let mut cmd1 = Port::<u8>::new(0x20);
        let mut data1 = Port::<u8>::new(0x21);
        let mut cmd2 = Port::<u8>::new(0xa0);
        let mut data2 = Port::<u8>::new(0xa1);
        cmd1.write(0x11);
        cmd2.write(0x11);
        data1.write(0x30);
        data2.write(0x38);
        data1.write(4);
        data2.write(2);
        data1.write(1);
        data2.write(1);
        data1.write(0xff);
        data2.write(0xff);
    }
}

/// Ring-0 port I/O for the QEMU host (the launcher path never needs it): COM1, the
/// isa-debug-exit device, the PIT, the CMOS clock and fw_cfg only.
pub extern "C" fn pio_service(port: u64, value: u64, mode: u64) -> u64 {
    let port16 = port as u16;
    let allowed = port == port16 as u64
        && matches!(port16, 0x3f8..=0x3ff | 0xf4 | 0x40..=0x43 | 0x61 | 0x70 | 0x71 | 0x510 | 0x511);
    if !allowed {
        return u64::MAX;
    }
    let read = mode & 0x100 != 0;
    // SAFETY: allow-listed ports of devices only QEMU's PC machine has; no memory
    // is touched.
    unsafe {
        use x86_64::instructions::port::Port;
        match (mode & 0xff, read) {
            (1, false) => Port::<u8>::new(port16).write(value as u8),
            (2, false) => Port::<u16>::new(port16).write(value as u16),
            (4, false) => Port::<u32>::new(port16).write(value as u32),
            (1, true) => return Port::<u8>::new(port16).read() as u64,
            (2, true) => return Port::<u16>::new(port16).read() as u64,
            (4, true) => return Port::<u32>::new(port16).read() as u64,
            _ => return u64::MAX,
        }
    }
    0
}

/// A CPU exception in ring 0: a bug in the engine. Report it and stop.
pub extern "C" fn ring0_fatal(frame: *const u64) -> ! {
    // SAFETY: the stub passes its stack: vector, error code, then the CPU frame.
    let (vec, err, rip) = unsafe { (*frame, *frame.add(1), *frame.add(2)) };
    let cr2 = x86_64::registers::control::Cr2::read_raw();
    let mut buf = monitor::console::FmtBuf::<160>::new();
    let _ = core::fmt::write(
        &mut buf,
        format_args!("ring-0 exception {vec} (error {err:#x}) at {rip:#x}, cr2 {cr2:#x}"),
    );
    // SAFETY: HANDOFF was set before any service can run.
    let host = unsafe { (*core::ptr::addr_of!(HANDOFF)).host };
    monitor::host::early_exit(
        host,
        shared_abi::hypercall::exit_code::RING0_FAULT,
        buf.as_str(),
    )
}

/// Consumes and returns whether vector `v` arrived since the last call.
pub fn take_irq(v: u8) -> bool {
    let bit = 1u64 << (v & 63);
    IRQ_PENDING[(v >> 6) as usize].fetch_and(!bit, Ordering::AcqRel) & bit != 0
}

/// Clears the "an interrupt arrived" flag (the per-vector bits stay).
pub fn clear_irq_flag() {
    IRQ_FLAG.store(0, Ordering::Release);
}

/// The host kind found at setup (valid once `start` has looked).
pub fn host_kind() -> HostKind {
    // SAFETY: written once in `start`, before anything reads it.
    unsafe { (*core::ptr::addr_of!(HANDOFF)).host }
}
