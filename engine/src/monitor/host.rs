//! The one small host interface (console, clock, exit, guest files, boot options) and
//! its two back ends: the launcher's hypercalls, and QEMU's PC devices (COM1 through
//! `uart_16550`, `isa-debug-exit`, `fw_cfg`, the PIT for the TSC frequency).

use crate::kernel::stubs::{svc, Svc};
use crate::kernel::{HostKind, PhysMap};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use engine::bootargs::Options;
use shared_abi::hypercall::virtio::{op, MAX_CONFIG, NEEDS_RESET};
use shared_abi::hypercall::{Hypercall, HypercallBlock, MAX_IO_LEN};
use shared_abi::layout::{ENGINE_PHYS_BASE, ENGINE_VIRT_BASE};
use spin::{Mutex, Once};
use uart_16550::backend::Backend;
use uart_16550::Uart16550;
use virt::dev::{VirtioDeviceInfo, VirtioEvent};

/// What the host tells the engine at start.
#[derive(Clone, Copy, Debug, Default)]
pub struct BootConfig {
    pub options: Options,
    pub guest_ram: u64,
    pub start_to_first_hypercall_ns: u64,
}

/// A page shared with the launcher: the hypercall block, then a bounce buffer.
#[repr(C, align(4096))]
struct HcPage {
    block: HypercallBlock,
    _pad: [u8; 128 - HypercallBlock::SIZE],
    buf: [u8; 4096 - 128],
}

static mut HC_PAGE: HcPage = HcPage {
    block: HypercallBlock {
        nr: 0,
        status: 0,
        args: [0; 4],
        ret: [0; 4],
    },
    _pad: [0; 128 - HypercallBlock::SIZE],
    buf: [0; 4096 - 128],
};
static HC_LOCK: Mutex<()> = Mutex::new(());

/// VM-physical address of `HC_PAGE`: the launcher loads the image linearly.
fn hc_page_paddr() -> u64 {
    core::ptr::addr_of!(HC_PAGE) as u64 - ENGINE_VIRT_BASE + ENGINE_PHYS_BASE
}

/// Whether we run in ring 0 (setup and fatal paths) or ring 3.
fn in_ring0() -> bool {
    let cs: u16;
    // SAFETY: reading CS has no side effects.
    unsafe { core::arch::asm!("mov {0:x}, cs", out(reg) cs) };
    cs & 3 == 0
}

/// Performs a hypercall through the HC page. `data` is copied to the bounce buffer
/// first and the buffer's VM-physical address is available as `BUF` in args.
fn hypercall(nr: Hypercall, args: [u64; 4]) -> HypercallBlock {
    let _g = HC_LOCK.lock();
    hypercall_locked(nr, args)
}

fn hypercall_locked(nr: Hypercall, args: [u64; 4]) -> HypercallBlock {
    let paddr = hc_page_paddr();
    // SAFETY: HC_LOCK is held (or we are the only code running, in fatal paths); the
    // block is plain data in our image.
    unsafe {
        core::ptr::write_volatile(
            core::ptr::addr_of_mut!(HC_PAGE.block),
            HypercallBlock::new(nr, args),
        );
    }
    if in_ring0() {
        // SAFETY: ring 0 may do port I/O; the launcher reads the block at `paddr`.
        unsafe {
            core::arch::asm!("out dx, eax", in("dx") shared_abi::hypercall::HYPERCALL_PORT,
                in("eax") paddr as u32, options(nostack));
        }
    } else {
        svc(Svc::Hypercall, paddr, 0, 0);
    }
    // SAFETY: the launcher has written the result; read it back.
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(HC_PAGE.block)) }
}

fn bounce_paddr() -> u64 {
    hc_page_paddr() + 128
}

fn with_bounce<R>(f: impl FnOnce(&mut [u8]) -> R) -> R {
    // SAFETY: callers hold HC_LOCK.
    f(unsafe { &mut *core::ptr::addr_of_mut!(HC_PAGE.buf) })
}

/// The host back end in use.
pub enum Host {
    Launcher { tsc_hz: u64 },
    Qemu(QemuHost),
}

static HOST: Once<Host> = Once::new();

pub fn host() -> &'static Host {
    HOST.get().expect("host initialised before use")
}

/// Sets up the back end for `kind` (ring 3).
pub fn init(kind: HostKind, ramdisk: Option<(u64, u64)>) -> &'static Host {
    HOST.call_once(|| match kind {
        HostKind::Launcher => {
            let b = hypercall(Hypercall::Clock, [0; 4]);
            Host::Launcher {
                tsc_hz: b.ret[1].max(1),
            }
        }
        HostKind::Qemu => Host::Qemu(QemuHost::new(ramdisk)),
    })
}

pub fn rdtsc() -> u64 {
    // SAFETY: rdtsc is unprivileged here (CR4.TSD clear) and has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

impl Host {
    pub fn kind(&self) -> HostKind {
        match self {
            Host::Launcher { .. } => HostKind::Launcher,
            Host::Qemu(_) => HostKind::Qemu,
        }
    }

    pub fn console_write(&self, mut data: &[u8]) {
        match self {
            Host::Launcher { .. } => {
                let _g = HC_LOCK.lock();
                while !data.is_empty() {
                    let n = with_bounce(|b| {
                        let n = data.len().min(b.len());
                        b[..n].copy_from_slice(&data[..n]);
                        n
                    });
                    let blk =
                        hypercall_locked(Hypercall::ConsoleWrite, [bounce_paddr(), n as u64, 0, 0]);
                    if blk.status != 0 {
                        return;
                    }
                    data = &data[n..];
                }
            }
            Host::Qemu(q) => q.uart.lock().send_bytes_exact(data),
        }
    }

    /// Non-blocking console read.
    pub fn console_read(&self, out: &mut [u8]) -> usize {
        match self {
            Host::Launcher { .. } => {
                let _g = HC_LOCK.lock();
                let cap = with_bounce(|b| b.len())
                    .min(out.len())
                    .min(MAX_IO_LEN as usize);
                let blk =
                    hypercall_locked(Hypercall::ConsoleRead, [bounce_paddr(), cap as u64, 0, 0]);
                if blk.status != 0 {
                    return 0;
                }
                let n = (blk.ret[0] as usize).min(cap);
                with_bounce(|b| out[..n].copy_from_slice(&b[..n]));
                n
            }
            Host::Qemu(q) => {
                let mut u = q.uart.lock();
                let mut n = 0;
                while n < out.len() {
                    match u.try_receive_byte() {
                        Ok(b) => {
                            out[n] = b;
                            n += 1;
                        }
                        Err(_) => break,
                    }
                }
                n
            }
        }
    }

    /// Monotonic time in nanoseconds.
    pub fn clock_ns(&self) -> u64 {
        match self {
            Host::Launcher { .. } => hypercall(Hypercall::Clock, [0; 4]).ret[0],
            Host::Qemu(q) => {
                let t = rdtsc().wrapping_sub(q.tsc0) as u128;
                (t * 1_000_000_000 / q.tsc_hz.max(1) as u128) as u64
            }
        }
    }

    /// Wall-clock nanoseconds since the Unix epoch (0 if the host has no clock).
    pub fn wall_clock_ns(&self) -> u64 {
        match self {
            Host::Launcher { .. } => hypercall(Hypercall::Clock, [0; 4]).ret[2],
            Host::Qemu(_) => cmos_unix_secs().saturating_mul(1_000_000_000),
        }
    }

    pub fn tsc_hz(&self) -> u64 {
        match self {
            Host::Launcher { tsc_hz } => *tsc_hz,
            Host::Qemu(q) => q.tsc_hz,
        }
    }

    /// The guest file (VM-physical address, length), if one was given.
    pub fn guest_image(&self) -> Option<(u64, u64)> {
        match self {
            Host::Launcher { .. } => {
                let b = hypercall(Hypercall::GuestInfo, [0; 4]);
                (b.status == 0 && b.ret[1] != 0).then_some((b.ret[0], b.ret[1]))
            }
            Host::Qemu(q) => q.ramdisk,
        }
    }

    pub fn boot_config(&self) -> Result<BootConfig, &'static str> {
        match self {
            Host::Launcher { .. } => {
                let b = hypercall(Hypercall::BootConfig, [bounce_paddr(), 0, 0, 0]);
                if b.status != 0 {
                    return Err("the launcher refused BootConfig");
                }
                Ok(BootConfig {
                    options: Options::from_flags(b.ret[0]),
                    guest_ram: b.ret[1],
                    start_to_first_hypercall_ns: b.ret[3],
                })
            }
            Host::Qemu(q) => {
                let mut buf = [0u8; 256];
                let n = q.fw_cfg_file("opt/hvarm/args", &mut buf).unwrap_or(0);
                let s = core::str::from_utf8(&buf[..n]).map_err(|_| "fw_cfg args are not UTF-8")?;
                let options =
                    Options::parse(s).map_err(|_| "unknown option in fw_cfg opt/hvarm/args")?;
                Ok(BootConfig {
                    options,
                    guest_ram: 0,
                    start_to_first_hypercall_ns: 0,
                })
            }
        }
    }

    /// Tells the launcher where guest RAM lies and returns the virtio devices it has
    /// (none under QEMU).
    pub fn virtio_setup(&self, ram_paddr: u64, ram_size: u64) -> Vec<VirtioDeviceInfo> {
        let Host::Launcher { .. } = self else {
            return Vec::new();
        };
        let _g = HC_LOCK.lock();
        let b = hypercall_locked(Hypercall::Virtio, [op::SETUP, ram_paddr, ram_size, 0]);
        if b.status != 0 {
            return Vec::new();
        }
        let n = b.ret[0].min(u64::from(shared_abi::guest::VIRTIO_MMIO_COUNT));
        let mut out = Vec::new();
        for slot in 0..n {
            let cap = with_bounce(|b| b.len()).min(MAX_CONFIG) as u64;
            let b = hypercall_locked(Hypercall::Virtio, [op::QUERY, slot, bounce_paddr(), cap]);
            if b.status != 0 {
                out.push(VirtioDeviceInfo::default());
                continue;
            }
            let len = (b.ret[3].min(cap)) as usize;
            out.push(VirtioDeviceInfo {
                device_id: b.ret[0] as u32,
                features: b.ret[1],
                num_queues: b.ret[2] as u16,
                queue_max: (b.ret[2] >> 16) as u16,
                config: with_bounce(|b| b[..len].to_vec()),
            });
        }
        out
    }

    /// Hands a virtio transport event to the launcher's device back end: the
    /// interrupt-status bits to raise and whether the device failed.
    pub fn virtio_event(&self, slot: usize, event: &VirtioEvent) -> (u32, bool) {
        let Host::Launcher { .. } = self else {
            return (0, true);
        };
        let _g = HC_LOCK.lock();
        let slot = slot as u64;
        let b = match event {
            VirtioEvent::Activate(a) => {
                let bytes = a.to_bytes();
                with_bounce(|b| b[..bytes.len()].copy_from_slice(&bytes));
                hypercall_locked(
                    Hypercall::Virtio,
                    [op::ACTIVATE, slot, bounce_paddr(), bytes.len() as u64],
                )
            }
            VirtioEvent::Reset => hypercall_locked(Hypercall::Virtio, [op::RESET, slot, 0, 0]),
            VirtioEvent::Notify(q) => {
                hypercall_locked(Hypercall::Virtio, [op::NOTIFY, slot, u64::from(*q), 0])
            }
        };
        if b.status != 0 {
            return (0, true);
        }
        ((b.ret[0] & 3) as u32, b.ret[0] & NEEDS_RESET != 0)
    }

    /// What the launcher's back ends completed on their own: (slots with used
    /// buffers, failed slots).
    pub fn virtio_poll(&self) -> (u32, u32) {
        let Host::Launcher { .. } = self else {
            return (0, 0);
        };
        let b = hypercall(Hypercall::Virtio, [op::POLL, 0, 0, 0]);
        if b.status != 0 {
            return (0, 0);
        }
        (b.ret[0] as u32, b.ret[1] as u32)
    }

    pub fn exit(&self, code: u64, msg: &str) -> ! {
        match self {
            Host::Launcher { .. } => launcher_exit(code, msg),
            Host::Qemu(q) => {
                if !msg.is_empty() {
                    let mut u = q.uart.lock();
                    u.send_bytes_exact(msg.as_bytes());
                    u.send_bytes_exact(b"\n");
                }
                qemu_exit(code)
            }
        }
    }
}

fn launcher_exit(code: u64, msg: &str) -> ! {
    // In fatal paths the lock may be held by the interrupted code: do not wait for it.
    let _g = HC_LOCK.try_lock();
    let n = with_bounce(|b| {
        let n = msg.len().min(b.len());
        b[..n].copy_from_slice(&msg.as_bytes()[..n]);
        n
    });
    hypercall_locked(Hypercall::Exit, [code, bounce_paddr(), n as u64, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// `isa-debug-exit` makes QEMU exit with status `(value << 1) | 1`; we write
/// `0x10 + code`, so success is status 33 and code c is 33 + 2c.
pub const QEMU_EXIT_BASE: u64 = 0x10;

fn qemu_exit(code: u64) -> ! {
    pio_out(0xf4, QEMU_EXIT_BASE + code.min(0x60), 4);
    loop {
        core::hint::spin_loop();
    }
}

fn pio_out(port: u16, value: u64, size: u64) {
    if in_ring0() {
        crate::kernel::pio_service(port as u64, value, size);
    } else {
        svc(Svc::Pio, port as u64, value, size);
    }
}

fn pio_in(port: u16, size: u64) -> u64 {
    if in_ring0() {
        crate::kernel::pio_service(port as u64, 0, size | 0x100)
    } else {
        svc(Svc::Pio, port as u64, 0, size | 0x100)
    }
}

/// Exit from ring 0 before (or without) the monitor's host state.
pub fn early_exit(kind: HostKind, code: u64, msg: &str) -> ! {
    match kind {
        HostKind::Launcher => launcher_exit(code, msg),
        HostKind::Qemu => {
            // SAFETY: COM1 exists on QEMU's PC machine; SvcPio reaches it from either ring.
            let mut u = unsafe { Uart16550::new_with_backend(SvcPio { base: 0x3f8 }) };
            u.send_bytes_exact(msg.as_bytes());
            u.send_bytes_exact(b"\n");
            qemu_exit(code)
        }
    }
}

/// uart_16550 register access through the ring-0 port service.
#[derive(Debug)]
pub struct SvcPio {
    base: u16,
}

impl Backend for SvcPio {
    unsafe fn read(&mut self, register_offset: u8) -> u8 {
        pio_in(self.base + register_offset as u16, 1) as u8
    }
    unsafe fn write(&mut self, register_offset: u8, value: u8) {
        pio_out(self.base + register_offset as u16, value as u64, 1)
    }
}

/// The QEMU (`bootloader` crate) host.
pub struct QemuHost {
    uart: Mutex<Uart16550<SvcPio>>,
    tsc_hz: u64,
    tsc0: u64,
    ramdisk: Option<(u64, u64)>,
}

impl QemuHost {
    fn new(ramdisk: Option<(u64, u64)>) -> QemuHost {
        // SAFETY: COM1 is QEMU's first serial port; we own it.
        let mut uart = unsafe { Uart16550::new_with_backend(SvcPio { base: 0x3f8 }) };
        let _ = uart.init(uart_16550::Config::default());
        let tsc0 = rdtsc();
        QemuHost {
            uart: Mutex::new(uart),
            tsc_hz: measure_tsc_with_pit(),
            tsc0,
            ramdisk,
        }
    }

    /// Reads the fw_cfg file `name` into `out`; returns its length (may exceed `out`).
    fn fw_cfg_file(&self, name: &str, out: &mut [u8]) -> Option<usize> {
        const SEL: u16 = 0x510;
        const DATA: u16 = 0x511;
        let rd = |n: usize| -> u64 { (0..n).fold(0, |acc, _| (acc << 8) | pio_in(DATA, 1)) };
        pio_out(SEL, 0, 2);
        if rd(4) != u64::from_be_bytes([0, 0, 0, 0, b'Q', b'E', b'M', b'U']) {
            return None;
        }
        pio_out(SEL, 0x19, 2);
        let count = rd(4);
        for _ in 0..count.min(4096) {
            let size = rd(4) as usize;
            let select = rd(2) as u16;
            rd(2);
            let mut fname = [0u8; 56];
            for b in fname.iter_mut() {
                *b = pio_in(DATA, 1) as u8;
            }
            let len = fname.iter().position(|&c| c == 0).unwrap_or(56);
            if &fname[..len] == name.as_bytes() {
                pio_out(SEL, select as u64, 2);
                for b in out.iter_mut().take(size) {
                    *b = pio_in(DATA, 1) as u8;
                }
                return Some(size.min(out.len()));
            }
        }
        None
    }
}

/// The PC's CMOS real-time clock (QEMU keeps it in UTC), as Unix seconds.
fn cmos_unix_secs() -> u64 {
    let reg = |r: u64| {
        pio_out(0x70, r, 1);
        pio_in(0x71, 1)
    };
    // Wait for no update in progress, then read; status B bit 2 = binary, else BCD.
    for _ in 0..10_000 {
        if reg(0x0a) & 0x80 == 0 {
            break;
        }
    }
    let binary = reg(0x0b) & 4 != 0;
    let conv = |v: u64| {
        if binary {
            v
        } else {
            (v & 0x0f) + (v >> 4) * 10
        }
    };
    let (sec, min, hour) = (conv(reg(0)), conv(reg(2)), conv(reg(4) & 0x7f));
    let (day, mon, year) = (conv(reg(7)), conv(reg(8)), 2000 + conv(reg(9)));
    engine::bootargs::unix_time(year, mon, day, hour, min, sec)
}

/// TSC frequency from PIT channel 2 counting down 50 ms.
fn measure_tsc_with_pit() -> u64 {
    const PIT_HZ: u64 = 1_193_182;
    let ticks = PIT_HZ / 20;
    let gate = pio_in(0x61, 1);
    pio_out(0x61, (gate & !0x02) | 0x01, 1); // gate on, speaker off
    pio_out(0x43, 0xb0, 1); // channel 2, lobyte/hibyte, mode 0
    pio_out(0x42, ticks & 0xff, 1);
    pio_out(0x42, ticks >> 8, 1);
    let t0 = rdtsc();
    let mut spins = 0u64;
    while pio_in(0x61, 1) & 0x20 == 0 {
        spins += 1;
        if spins > 50_000_000 {
            break;
        }
    }
    let t1 = rdtsc();
    (t1 - t0) * 20
}

/// Copies `len` bytes of VM-physical memory at `paddr` (through the physical map).
pub fn phys_slice(paddr: u64, len: u64) -> &'static [u8] {
    // SAFETY: the caller passes a range the host reported inside VM memory, which the
    // physical map covers.
    unsafe { core::slice::from_raw_parts(PhysMap::ptr::<u8>(paddr), len as usize) }
}

/// The panic path: report through whichever host is set up and stop.
pub fn panic_exit(msg: &str) -> ! {
    use shared_abi::hypercall::exit_code::PANIC;
    static PANICKING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if PANICKING.swap(true, Ordering::SeqCst) {
        // A panic while reporting a panic: stop without touching the console again.
        match crate::kernel::host_kind() {
            HostKind::Launcher => launcher_exit(PANIC, "engine panic while panicking"),
            HostKind::Qemu => qemu_exit(PANIC),
        }
    }
    match HOST.get() {
        Some(h) => h.exit(PANIC, msg),
        None => {
            // Before the monitor's host exists we are in ring 0 setup.
            early_exit(crate::kernel::host_kind(), PANIC, msg)
        }
    }
}
