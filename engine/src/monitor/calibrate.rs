//! Measures what privileged operations cost on this host (DESIGN.md §3), once at start.

use super::fault::{self, Action, FaultFrame};
use super::host::{host, rdtsc};
use crate::kernel::stubs::{hv_probe_read, hv_probe_read_end, svc, Svc};
use crate::kernel::{self, Handoff, PhysMap, FRAMES};
use engine::calib::{median, Calibration};
use engine::paging::{self, PhysMem, PAGE_4K};
use shared_abi::layout::vector;

const N: usize = 15;

fn sample(mut f: impl FnMut() -> u64) -> u64 {
    let mut s = [0u64; N];
    for v in s.iter_mut() {
        *v = f();
    }
    median(&mut s)
}

fn timed(mut f: impl FnMut()) -> u64 {
    sample(|| {
        let t0 = rdtsc();
        f();
        rdtsc() - t0
    })
}

/// A #PF handler that skips a faulting `hv_probe_read`.
pub fn skip_probe(f: &mut FaultFrame) -> Action {
    if f.rip == (hv_probe_read as *const () as u64) {
        f.rip = hv_probe_read_end as *const () as u64;
        f.rax = u64::MAX;
        Action::Resume
    } else {
        Action::Abandon
    }
}

pub fn run(h: &Handoff) -> Calibration {
    let host = host();
    let tsc_hz = host.tsc_hz();
    let mut c = Calibration {
        tsc_hz,
        ..Default::default()
    };

    // One ring-0 instruction: the Spin service runs 2 instructions per iteration.
    const ITERS: u64 = 500;
    let t0 = timed(|| {
        svc(Svc::Spin, 0, 0, 0);
    });
    let t1 = timed(|| {
        svc(Svc::Spin, ITERS, 0, 0);
    });
    c.ring0_insn_cycles = t1.saturating_sub(t0) / (2 * ITERS);

    c.int3_service_cycles = timed(|| {
        svc(Svc::Ping, 1, 0, 0);
    });

    // #PF upcall round trip: read the ring-0-only page, skip the read, resume.
    let ring0_va = shared_abi::layout::PHYS_MAP_BASE + h.ring0_page;
    let mut handler = skip_probe;
    c.pf_upcall_cycles = fault::catch(&mut handler, || {
        timed(|| {
            // SAFETY: the probe only reads; the fault is handled by skip_probe.
            unsafe { hv_probe_read(ring0_va) };
        })
    })
    .unwrap_or(0);

    // PTE write (ring 3, user-writable scratch tables) + INVLPG (ring 0).
    let va = h.scratch_base + 0x10_0000;
    let frame = FRAMES.lock().alloc(PAGE_4K, PAGE_4K);
    if let Ok(frame) = frame {
        if super::scratch_map(h, va, frame).is_ok() {
            if let Some(slot) = paging::leaf_slot(&PhysMap, h.scratch_pdpt, 3, va) {
                let pte = PhysMap.read(slot);
                c.pte_write_invlpg_cycles = timed(|| {
                    PhysMap.write(slot, pte);
                    svc(Svc::Invlpg, va, 0, 0);
                });
            }
            super::scratch_unmap(h, va);
        }
    }

    let cr3 = svc(Svc::ReadCr3, 0, 0, 0);
    c.cr3_switch_cycles = timed(|| {
        svc(Svc::WriteCr3, cr3, 0, 0);
    });

    if super::timer::available() {
        c.timer_irq_cycles = sample(|| timer_gap(tsc_hz));
    }

    let ns = sample(|| {
        let t0 = rdtsc();
        host.clock_ns();
        rdtsc() - t0
    });
    c.hypercall_ns = (ns as u128 * 1_000_000_000 / tsc_hz.max(1) as u128) as u64;
    c
}

/// Arms the timer and watches rdtsc in ring 3: the largest gap between two reads
/// (minus a normal gap) is the time the interrupt took from us.
fn timer_gap(tsc_hz: u64) -> u64 {
    kernel::take_irq(vector::TIMER);
    kernel::clear_irq_flag();
    let start = rdtsc();
    super::timer::arm(start + tsc_hz / 2000);
    let limit = start + tsc_hz / 5;
    let mut last = rdtsc();
    let mut max_gap = 0;
    let mut min_gap = u64::MAX;
    loop {
        let now = rdtsc();
        let gap = now - last;
        max_gap = max_gap.max(gap);
        min_gap = min_gap.min(gap);
        last = now;
        if kernel::take_irq(vector::TIMER) || now > limit {
            // Keep watching a little: the flag is set inside the interrupt.
            break;
        }
    }
    kernel::clear_irq_flag();
    max_gap.saturating_sub(min_gap)
}
