//! Running the AArch64 guest: the `virt` machine in ring 3, with the engine's host
//! back end behind it (console, clock, the LAPIC timer, `hlt` for WFI).

use super::host::{rdtsc, Host};
use super::timer;
use crate::kernel::stubs::{svc, Svc};
use crate::kernel::{self, PhysMap, FRAMES};
use crate::{mprint, mprintln};
use core::sync::atomic::Ordering;
use engine::paging::PAGE_2M;
use shared_abi::boot;
use shared_abi::hypercall::exit_code;
use shared_abi::layout::vector;
use virt::machine::{BoardHost, Machine, MachineConfig, RunExit};

/// The console text that marks a guest kernel panic.
const PANIC_NEEDLE: &[u8] = b"Kernel panic - not syncing";
/// How long the panic text may keep coming before we end the run.
const PANIC_GRACE_MS: u64 = 1000;

/// The guest's counter frequency (CNTFRQ_EL0): QEMU's for `virt` with a Cortex-A72, so
/// the guest sees the same timer rate (and BogoMIPS) as under qemu-system-aarch64.
pub const COUNTER_HZ: u64 = 62_500_000;

/// TSC <-> guest counter, as a 32.32 fixed-point factor.
#[derive(Clone, Copy, Debug)]
struct CounterScale {
    /// counter = tsc * mult >> 32
    mult: u64,
}

impl CounterScale {
    fn new(tsc_hz: u64) -> CounterScale {
        CounterScale {
            mult: ((COUNTER_HZ as u128) << 32).div_ceil(tsc_hz.max(1) as u128) as u64,
        }
    }
    fn counter(self, tsc: u64) -> u64 {
        ((tsc as u128 * self.mult as u128) >> 32) as u64
    }
    /// The first TSC value at which the counter reaches `count`.
    fn tsc_for(self, count: u64) -> u64 {
        ((count as u128) << 32)
            .div_ceil(self.mult as u128)
            .min(u64::MAX as u128) as u64
    }
}

/// The engine's side of the board: everything the machine asks of the host.
struct EngineBoard<'h> {
    host: &'h Host,
    scale: CounterScale,
    /// Wall clock at start (seconds) and the TSC then.
    wall0: u64,
    tsc0: u64,
    /// Console input may be waiting (an input interrupt came, or the last read was full).
    input_ready: bool,
    /// Progress through PANIC_NEEDLE over the output stream, and when a panic was seen.
    panic_match: usize,
    panic_seen_at: Option<u64>,
    /// Console output not yet sent (one hypercall per batch, not per byte).
    out: alloc::vec::Vec<u8>,
    /// TSC at the last console flush.
    out_tsc: u64,
    /// Guest RAM's VM-physical address and size (for the launcher's virtio back ends).
    ram: (u64, u64),
}

impl EngineBoard<'_> {
    fn check_panic(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == PANIC_NEEDLE[self.panic_match] {
                self.panic_match += 1;
                if self.panic_match == PANIC_NEEDLE.len() {
                    self.panic_match = 0;
                    self.panic_seen_at.get_or_insert_with(rdtsc);
                }
            } else {
                self.panic_match = usize::from(b == PANIC_NEEDLE[0]);
            }
        }
    }

    /// Sends buffered console output to the host.
    fn flush_out(&mut self) {
        if !self.out.is_empty() {
            self.host.console_write(&self.out);
            self.out.clear();
        }
        self.out_tsc = rdtsc();
    }

    /// Ends the run once a panic has been printed and the grace period is over.
    fn panic_deadline_passed(&self) -> bool {
        self.panic_seen_at
            .is_some_and(|t| rdtsc() - t > self.host.tsc_hz() / 1000 * PANIC_GRACE_MS)
    }
}

impl BoardHost for EngineBoard<'_> {
    fn counter(&mut self) -> u64 {
        self.scale.counter(rdtsc())
    }

    fn wall_clock_secs(&mut self) -> u64 {
        self.wall0 + (rdtsc() - self.tsc0) / self.host.tsc_hz()
    }

    fn console_write(&mut self, bytes: &[u8]) {
        self.check_panic(bytes);
        self.out.extend_from_slice(bytes);
        // Flush at once when idle for a while (interactive echo), else batch up to 1 ms.
        let now = rdtsc();
        if self.out.len() >= CONSOLE_BATCH || now - self.out_tsc > self.host.tsc_hz() / 1000 {
            self.flush_out();
        }
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        if kernel::take_irq(vector::CONSOLE) {
            self.input_ready = true;
        }
        if !self.input_ready || buf.is_empty() {
            return 0;
        }
        let n = self.host.console_read(buf);
        // A full read may have left more behind; an empty one means drained.
        self.input_ready = n == buf.len();
        n
    }

    fn set_timer(&mut self, deadline: Option<u64>) {
        match deadline {
            Some(d) => timer::arm(self.scale.tsc_for(d)),
            None => timer::disarm(),
        }
    }

    fn poll_event(&mut self) -> bool {
        if !self.out.is_empty() && rdtsc() - self.out_tsc > self.host.tsc_hz() / 1000 {
            self.flush_out();
        }
        if kernel::IRQ_FLAG.load(Ordering::Relaxed) == 0 {
            return false;
        }
        kernel::clear_irq_flag();
        if self.panic_deadline_passed() {
            self.flush_out();
            self.host.exit(
                exit_code::GUEST_PANIC,
                "launcher: the guest kernel panicked",
            );
        }
        // Under QEMU, COM1 input raises no interrupt: look at every event.
        if self.host.kind() == kernel::HostKind::Qemu {
            self.input_ready = true;
        }
        true
    }

    fn event_flag(&self) -> *const u8 {
        kernel::IRQ_FLAG.as_ptr() as *const u8
    }

    fn virtio_devices(&mut self) -> alloc::vec::Vec<virt::dev::VirtioDeviceInfo> {
        self.host.virtio_setup(self.ram.0, self.ram.1)
    }

    fn virtio_event(&mut self, slot: usize, event: &virt::dev::VirtioEvent) -> (u32, bool) {
        self.host.virtio_event(slot, event)
    }

    fn virtio_poll(&mut self) -> (u32, u32) {
        if kernel::take_irq(vector::VIRTIO) {
            self.host.virtio_poll()
        } else {
            (0, 0)
        }
    }

    fn wait_for_event(&mut self) {
        self.flush_out();
        if self.panic_seen_at.is_some() && self.panic_deadline_passed() {
            self.flush_out();
            self.host.exit(
                exit_code::GUEST_PANIC,
                "launcher: the guest kernel panicked",
            );
        }
        svc(Svc::Hlt, 0, 0, 0);
    }
}

/// Console output is sent in batches of at most this many bytes.
const CONSOLE_BATCH: usize = 4096;

/// Bytes of the translator's code cache.
const CODE_REGION: usize = 128 << 20;

/// Boots the guest package (a FIT: kernel, initrd, DTB, bootargs) and runs it to the end.
/// `guest_ram` is the RAM size the launcher was asked for (0 when the host does not say).
pub fn run(host: &Host, package: &[u8], guest_ram: u64, stats: bool, translate: bool) -> u64 {
    let pkg = match boot::parse_package(package) {
        Ok(p) => p,
        Err(e) => {
            mprintln!("engine: the guest package is invalid: {e}");
            return exit_code::BAD_GUEST;
        }
    };
    // The launcher (or qemu-image) wrote the DTB; its /memory node is the guest RAM.
    let ram_size = match pkg.dtb.map(boot::dtb_memory) {
        Some(Ok((base, size))) if base == shared_abi::guest::RAM_BASE => size,
        _ => {
            mprintln!("engine: the guest package has no DTB with a /memory node");
            return exit_code::BAD_GUEST;
        }
    };
    if guest_ram != 0 && guest_ram != ram_size {
        mprintln!(
            "engine: the DTB describes {} MiB of RAM, the launcher was asked for {} MiB",
            ram_size >> 20,
            guest_ram >> 20
        );
        return exit_code::BAD_GUEST;
    }
    let Some(ram) = FRAMES.lock().take_largest(PAGE_2M, ram_size) else {
        mprintln!("engine: no memory for the guest RAM");
        return exit_code::NO_MEMORY;
    };
    if ram.len() < ram_size {
        mprintln!(
            "engine: only {} MiB of contiguous memory for {} MiB of guest RAM",
            ram.len() >> 20,
            ram_size >> 20
        );
        return exit_code::NO_MEMORY;
    }
    // SAFETY: the range was just taken from the frame allocator (nobody else uses it)
    // and the physical map covers it, user-writable.
    let ram_slice: &'static mut [u8] = unsafe {
        core::slice::from_raw_parts_mut(PhysMap::ptr::<u8>(ram.start), ram_size as usize)
    };

    let cfg = MachineConfig {
        counter_hz: COUNTER_HZ as u32,
        ram_size,
    };
    let mut machine = Machine::new(cfg, ram_slice);
    if translate {
        // The code cache lives on the heap: the heap is in the physical map, which is
        // executable from ring 3.
        // Not zeroed: every page touched costs a shadow-paging fill here, so the region
        // is only touched as code is written into it.
        let Ok(layout) = core::alloc::Layout::from_size_align(CODE_REGION, 4096) else {
            return exit_code::NO_MEMORY;
        };
        // SAFETY: a non-zero-sized layout; the result is checked for null.
        let region = unsafe { alloc::alloc::alloc(layout) };
        if region.is_null() {
            mprintln!("engine: no memory for the code cache");
            return exit_code::NO_MEMORY;
        }
        // SAFETY: the allocation is ours for the rest of the run (never freed),
        // readable, writable and (through the physical map) executable in ring 3.
        let region = unsafe { jit::CodeRegion::new(region, CODE_REGION) };
        machine.enable_jit(region, jit::Features::probe(), false);
        // Guest instructions are only reported by --stats: without it blocks skip
        // the count (one read-modify-write of memory per block).
        machine.set_instruction_counting(stats);
    }
    if let Err(e) = machine.load_package(package) {
        mprintln!("engine: cannot load the guest: {e}");
        return exit_code::BAD_GUEST;
    }
    let mut board = EngineBoard {
        host,
        scale: CounterScale::new(host.tsc_hz()),
        wall0: host.wall_clock_ns() / 1_000_000_000,
        tsc0: rdtsc(),
        input_ready: false,
        panic_match: 0,
        panic_seen_at: None,
        out: alloc::vec::Vec::with_capacity(CONSOLE_BATCH),
        out_tsc: 0,
        ram: (ram.start, ram_size),
    };
    let exit = machine.run(&mut board);
    board.flush_out();
    if stats {
        let st = machine.stats();
        mprintln!("{}", st);
        // Guest run time by the TSC, from the first guest instruction to the exit.
        let secs = rdtsc().wrapping_sub(board.tsc0) as f64 / host.tsc_hz().max(1) as f64;
        let mips = st.insns as f64 / secs.max(1e-9) / 1e6;
        mprintln!("guest wall time      {secs:>11.2} s (idle included)\nguest MIPS           {mips:>14.1}");
    }
    match exit {
        RunExit::PowerOff | RunExit::Reset if board.panic_seen_at.is_some() => {
            exit_code::GUEST_PANIC
        }
        RunExit::PowerOff | RunExit::Reset => exit_code::SUCCESS,
        RunExit::Fatal(e) => {
            mprint!("\r\n");
            mprintln!("engine: guest stopped: {e}");
            exit_code::FAILURE
        }
    }
}
