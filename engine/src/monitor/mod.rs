//! The monitor: everything the engine does after setup, in ring 3.

pub mod calibrate;
pub mod console;
pub mod fault;
pub mod guest;
pub mod heap;
pub mod host;
pub mod selftest;
pub mod timer;

use crate::kernel::{self, Handoff, PhysMap, FRAMES};
use crate::mprintln;
use engine::calib::Calibration;
use engine::paging::{self, PAGE_4K, USER, WRITABLE};
use shared_abi::hypercall::exit_code;

#[global_allocator]
static HEAP: heap::Heap = heap::Heap::empty();

/// The monitor's heap.
const HEAP_SIZE: u64 = 256 * 1024 * 1024;

/// Ring-3 entry from `kernel::stage2`.
pub extern "C" fn monitor_entry(h: &'static Handoff) -> ! {
    let host = host::init(h.host, h.ramdisk);
    let heap = match FRAMES.lock().alloc(HEAP_SIZE, PAGE_4K) {
        Ok(p) => p,
        Err(_) => host.exit(
            exit_code::NO_MEMORY,
            "not enough memory for the engine heap",
        ),
    };
    // SAFETY: the range is fresh memory from the frame allocator, mapped user-writable
    // through the physical map, and handed to the allocator once.
    unsafe { HEAP.init(PhysMap::ptr::<u8>(heap), HEAP_SIZE as usize) };

    let cfg = match host.boot_config() {
        Ok(c) => c,
        Err(e) => host.exit(exit_code::FAILURE, e),
    };
    timer::init(h, host.tsc_hz());
    let mut cal = calibrate::run(h);
    cal.start_to_first_hypercall_ns = cfg.start_to_first_hypercall_ns;
    CALIBRATION.call_once(|| cal);

    let code = if cfg.options.selftest {
        if selftest::run_all(h) {
            exit_code::SUCCESS
        } else {
            exit_code::FAILURE
        }
    } else {
        run_guest(host, &cfg)
    };
    if cfg.options.stats {
        mprintln!("{}", cal);
        mprintln!(
            "  upcalls taken                      {}",
            fault::UPCALLS.load(core::sync::atomic::Ordering::Relaxed)
        );
    }
    host.exit(code, "")
}

/// The figures measured at start (for the translator's choice of memory strategy).
pub static CALIBRATION: spin::Once<Calibration> = spin::Once::new();

fn run_guest(host: &host::Host, cfg: &host::BootConfig) -> u64 {
    match host.guest_image() {
        Some((paddr, len)) => guest::run(
            host,
            host::phys_slice(paddr, len),
            cfg.guest_ram,
            cfg.options.stats,
            !cfg.options.interp,
        ),
        None => {
            mprintln!("engine: no guest image was given");
            exit_code::BAD_GUEST
        }
    }
}

/// Maps `paddr` at `va` in the scratch window (PML4[258]) from ring 3: the window's
/// tables live in user-writable memory, so only the INVLPG needs ring 0.
pub fn scratch_map(h: &Handoff, va: u64, paddr: u64) -> Result<(), paging::MapError> {
    // The PML4 (ring-0 arena) entry for the window exists; we edit from its PDPT down,
    // with lower tables from FRAMES.
    paging::map_in(
        &mut PhysMap,
        h.scratch_pdpt,
        3,
        va,
        paddr,
        PAGE_4K,
        WRITABLE | USER,
    )?;
    kernel::stubs::svc(kernel::stubs::Svc::Invlpg, va, 0, 0);
    Ok(())
}

/// Unmaps a scratch page.
pub fn scratch_unmap(h: &Handoff, va: u64) {
    if paging::unmap_4k(&mut PhysMap, h.scratch_pdpt, 3, va).is_some() {
        kernel::stubs::svc(kernel::stubs::Svc::Invlpg, va, 0, 0);
    }
}
