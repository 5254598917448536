//! The one-shot timer behind the guest's generic timer: the x2APIC TSC-deadline timer
//! where the CPU has it (our KVM), else the x2APIC one-shot count (QEMU's TCG), both
//! armed in TSC cycles.

use super::host::rdtsc;
use crate::kernel::stubs::{svc, Svc};
use crate::kernel::Handoff;
use core::sync::atomic::{AtomicU64, AtomicU8, Ordering};

const NONE: u8 = 0;
const DEADLINE: u8 = 1;
const ONE_SHOT: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(NONE);
/// APIC timer ticks per 2^20 TSC cycles (one-shot mode).
static APIC_PER_TSC: AtomicU64 = AtomicU64::new(0);

/// Finds which timer we have; measures the APIC clock against the TSC if needed.
pub fn init(h: &Handoff, tsc_hz: u64) {
    if !h.x2apic {
        return;
    }
    if h.tsc_deadline {
        MODE.store(DEADLINE, Ordering::Relaxed);
        return;
    }
    svc(Svc::SetOneShot, u32::MAX as u64, 0, 0);
    let t0 = rdtsc();
    while rdtsc() - t0 < tsc_hz / 100 {
        core::hint::spin_loop();
    }
    let left = svc(Svc::ApicCount, 0, 0, 0);
    let t1 = rdtsc();
    svc(Svc::SetOneShot, 0, 0, 0);
    let ticks = (u32::MAX as u64).saturating_sub(left);
    if ticks > 0 {
        APIC_PER_TSC.store(
            ((ticks as u128) << 20).div_ceil((t1 - t0).max(1) as u128) as u64,
            Ordering::Relaxed,
        );
        MODE.store(ONE_SHOT, Ordering::Relaxed);
    }
}

/// Whether a timer interrupt can be armed at all.
pub fn available() -> bool {
    MODE.load(Ordering::Relaxed) != NONE
}

/// Arms the timer to fire at TSC value `deadline` (in the past: fires at once).
pub fn arm(deadline: u64) {
    match MODE.load(Ordering::Relaxed) {
        DEADLINE => {
            svc(Svc::SetDeadline, deadline.max(1), 0, 0);
        }
        ONE_SHOT => {
            let delta = deadline.saturating_sub(rdtsc()) as u128;
            let count = ((delta * APIC_PER_TSC.load(Ordering::Relaxed) as u128) >> 20)
                .clamp(1, u32::MAX as u128);
            svc(Svc::SetOneShot, count as u64, 0, 0);
        }
        _ => {}
    }
}

/// Disarms the timer.
pub fn disarm() {
    match MODE.load(Ordering::Relaxed) {
        DEADLINE => {
            svc(Svc::SetDeadline, 0, 0, 0);
        }
        ONE_SHOT => {
            svc(Svc::SetOneShot, 0, 0, 0);
        }
        _ => {}
    }
}
