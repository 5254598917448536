//! `--selftest`: checks of the ring-0/ring-3 split, one line per test.

use super::fault::{self, vector, Action, FaultFrame};
use super::host::{host, rdtsc};
use crate::kernel::stubs::{
    hv_probe_cli, hv_probe_div, hv_probe_div_end, hv_probe_int3, hv_probe_int3_end, hv_probe_read,
    hv_probe_ud2, svc, Svc,
};
use crate::kernel::{self, Handoff, PhysMap, FRAMES};
use crate::mprintln;
use engine::paging::PAGE_4K;
use shared_abi::layout::{vector as irq, PHYS_MAP_BASE};

type Test = fn(&Handoff) -> Result<(), &'static str>;

const TESTS: &[(&str, Test)] = &[
    ("monitor runs in ring 3", ring3),
    ("ring-0 service answers", service),
    ("#PF in ring 3 is handled and resumed", pf_resume),
    ("#UD is reported with the faulting RIP", ud_rip),
    ("#GP, #DE and #BP come back as upcalls", other_faults),
    ("ring-0-only page cannot be read from ring 3", ring0_page),
    (
        "LAPIC timer interrupt arrives while ring 3 runs",
        timer_ring3,
    ),
    ("hlt wakes on the timer", hlt_wakes),
    ("console read does not block", console_read),
];

/// Runs every test, prints one line each and a summary; true when all pass.
pub fn run_all(h: &Handoff) -> bool {
    let mut failed = 0;
    for (name, t) in TESTS {
        match t(h) {
            Ok(()) => mprintln!("selftest: {name} ... ok"),
            Err(e) => {
                failed += 1;
                mprintln!("selftest: {name} ... FAILED: {e}");
            }
        }
    }
    mprintln!(
        "selftest: {} passed, {} failed (host: {:?})",
        TESTS.len() - failed,
        failed,
        host().kind()
    );
    failed == 0
}

fn ring3(_: &Handoff) -> Result<(), &'static str> {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs) };
    if cs & 3 == 3 {
        Ok(())
    } else {
        Err("CS.RPL is not 3")
    }
}

fn service(_: &Handoff) -> Result<(), &'static str> {
    if svc(Svc::Ping, 41, 0, 0) != 42 {
        return Err("ping(41) did not return 42");
    }
    let cr3 = svc(Svc::ReadCr3, 0, 0, 0);
    if cr3 == 0 || cr3 & 0xfff != 0 {
        return Err("read-CR3 service returned nonsense");
    }
    Ok(())
}

fn pf_resume(h: &Handoff) -> Result<(), &'static str> {
    let va = h.scratch_base + 0x20_0000;
    let frame = FRAMES
        .lock()
        .alloc(PAGE_4K, PAGE_4K)
        .map_err(|_| "no memory")?;
    // SAFETY: a fresh frame, written through the physical map.
    unsafe { *PhysMap::ptr::<u64>(frame) = 0xfeed_f00d_1234_5678 };
    let mut faults = 0;
    let mut handler = |f: &mut FaultFrame| {
        if f.vector == vector::PF && f.cr2 == va && faults == 0 {
            faults += 1;
            match super::scratch_map(h, va, frame) {
                Ok(()) => Action::Resume,
                Err(_) => Action::Abandon,
            }
        } else {
            Action::Abandon
        }
    };
    // SAFETY: the read faults (the page is not mapped yet); the handler maps it.
    let r = fault::catch(&mut handler, || unsafe {
        core::ptr::read_volatile(va as *const u64)
    });
    super::scratch_unmap(h, va);
    match r {
        Ok(0xfeed_f00d_1234_5678) if faults == 1 => Ok(()),
        Ok(_) => Err("resumed read returned the wrong value"),
        Err(_) => Err("the fault was not resumed"),
    }
}

fn abandon(_: &mut FaultFrame) -> Action {
    Action::Abandon
}

fn ud_rip(_: &Handoff) -> Result<(), &'static str> {
    let mut h = abandon;
    // SAFETY: executes ud2; the fault abandons the call.
    match fault::catch(&mut h, || unsafe { hv_probe_ud2() }) {
        Err(f) if f.vector == vector::UD && f.rip == (hv_probe_ud2 as *const () as u64) => Ok(()),
        Err(_) => Err("wrong vector or RIP"),
        Ok(()) => Err("ud2 did not fault"),
    }
}

fn other_faults(_: &Handoff) -> Result<(), &'static str> {
    let mut h = abandon;
    // SAFETY: `cli` in ring 3 raises #GP; the fault abandons the call.
    match fault::catch(&mut h, || unsafe { hv_probe_cli() }) {
        Err(f) if f.vector == vector::GP && f.rip == (hv_probe_cli as *const () as u64) => {}
        _ => return Err("cli in ring 3 did not give #GP at its RIP"),
    }
    // #DE resumed with a substitute quotient.
    let mut de = |f: &mut FaultFrame| {
        if f.vector == vector::DE {
            f.rip = hv_probe_div_end as *const () as u64;
            f.rax = 77;
            Action::Resume
        } else {
            Action::Abandon
        }
    };
    // SAFETY: divides by zero; the handler skips the division.
    match fault::catch(&mut de, || unsafe { hv_probe_div(5, 0) }) {
        Ok(77) => {}
        _ => return Err("#DE was not resumed"),
    }
    // A plain int3 (not a service call) is a #BP upcall, RIP after the int3.
    let mut bp = |f: &mut FaultFrame| {
        if f.vector == vector::BP && f.rip == (hv_probe_int3_end as *const () as u64) {
            Action::Resume
        } else {
            Action::Abandon
        }
    };
    // SAFETY: executes int3 with rax = 0; the handler resumes after it.
    match fault::catch(&mut bp, || unsafe { hv_probe_int3() }) {
        Ok(()) => Ok(()),
        Err(_) => Err("#BP was not reported after the int3"),
    }
}

fn ring0_page(h: &Handoff) -> Result<(), &'static str> {
    let va = PHYS_MAP_BASE + h.ring0_page;
    let mut handler = abandon;
    // SAFETY: reads a supervisor-only page; the fault abandons the read.
    match fault::catch(&mut handler, || unsafe { hv_probe_read(va) }) {
        // error code: present (bit 0) and user (bit 2)
        Err(f) if f.vector == vector::PF && f.cr2 == va && f.error & 5 == 5 => Ok(()),
        Err(_) => Err("wrong fault"),
        Ok(_) => Err("ring 3 could read the ring-0 page"),
    }
}

fn wait_irq(deadline_cycles: u64) -> Result<u64, &'static str> {
    let tsc = host().tsc_hz();
    kernel::take_irq(irq::TIMER);
    kernel::clear_irq_flag();
    let t0 = rdtsc();
    super::timer::arm(t0 + deadline_cycles);
    while rdtsc() - t0 < tsc {
        if kernel::take_irq(irq::TIMER) {
            super::timer::disarm();
            return Ok(rdtsc() - t0);
        }
        core::hint::spin_loop();
    }
    super::timer::disarm();
    Err("no timer interrupt within 1 s")
}

fn timer_ring3(_: &Handoff) -> Result<(), &'static str> {
    if !super::timer::available() {
        return Err("the CPU has no x2APIC timer");
    }
    let d = host().tsc_hz() / 1000;
    let waited = wait_irq(d)?;
    if waited < d {
        return Err("the interrupt came before its deadline");
    }
    Ok(())
}

fn hlt_wakes(_: &Handoff) -> Result<(), &'static str> {
    if !super::timer::available() {
        return Err("the CPU has no x2APIC timer");
    }
    let d = host().tsc_hz() / 1000;
    kernel::take_irq(irq::TIMER);
    kernel::clear_irq_flag();
    let t0 = rdtsc();
    super::timer::arm(t0 + d);
    svc(Svc::Hlt, 0, 0, 0);
    let t1 = rdtsc();
    if !kernel::take_irq(irq::TIMER) {
        return Err("hlt returned without the timer interrupt");
    }
    if t1 - t0 < d {
        return Err("hlt returned before the deadline");
    }
    Ok(())
}

fn console_read(_: &Handoff) -> Result<(), &'static str> {
    let host = host();
    let mut buf = [0u8; 64];
    let t0 = rdtsc();
    let n = host.console_read(&mut buf);
    if n > buf.len() {
        return Err("read more than the buffer holds");
    }
    // Stdin is idle or closed in tests; either way the call must come back at once.
    if rdtsc() - t0 > host.tsc_hz() / 10 {
        return Err("console read took over 100 ms");
    }
    Ok(())
}
