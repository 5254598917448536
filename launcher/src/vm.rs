//! The KVM virtual machine: setup (memory, irqchip, vCPU in long mode) and the run loop.

use std::collections::VecDeque;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kvm_bindings::{kvm_msi, kvm_segment, kvm_userspace_memory_region, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Cap, Kvm, VcpuExit, VcpuFd, VmFd};
use shared_abi::hypercall::{boot_flags, HYPERCALL_PORT};
use shared_abi::layout::{
    vector, BOOT_INFO_PADDR, BOOT_PT_BASE, BOOT_STACK_TOP, MAX_GUEST_RAM, MIN_GUEST_RAM,
    PHYS_MAP_BASE,
};

use crate::boot::{self, Layout, CODE_SELECTOR, DATA_SELECTOR, GDT, GDT_PADDR};
use crate::elf::{self, EngineImage};
use crate::error::{EngineFault, ExitCode, LaunchError};
use crate::guest;
use crate::hypercall::{BootParams, InputQueue, Outcome, Services};
use crate::memory::GuestMemory;
use crate::size::format_size;

/// Longest `--append` accepted (arm64 Linux's COMMAND_LINE_SIZE is 2048, NUL included).
pub const MAX_APPEND: usize = shared_abi::boot::MAX_BOOTARGS;

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The virtio devices asked for (`-drive`, `-device`, `-nic`, `-netdev`).
    pub devices: crate::devopts::DeviceSet,
    pub engine: PathBuf,
    /// Advice appended when the engine cannot be read (how to build the default one).
    pub engine_hint: &'static str,
    pub guest: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    /// `--append` (None: the FIT's bootargs or the default).
    pub append: Option<String>,
    /// Guest RAM in bytes (4 KiB multiple, `MIN_GUEST_RAM..=MAX_GUEST_RAM`).
    pub guest_ram: u64,
    pub stats: bool,
    /// Run guest code on the interpreter only.
    pub interp: bool,
    pub selftest: bool,
    /// When the launcher started (for `Clock` and the start-up time).
    pub start: Instant,
}

/// How the engine ended the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus {
    /// The code the engine passed to `Exit` (0 = success).
    pub code: u64,
    /// Its message, maybe empty.
    pub message: String,
}

impl ExitStatus {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::EngineFailure(self.code)
    }
}

/// Checks a guest RAM size (`input` is how the user wrote it, for the message).
pub fn check_guest_ram(bytes: u64, input: &str) -> Result<u64, LaunchError> {
    let Some(bytes) = boot::page_align(bytes) else {
        return Err(LaunchError::MemoryTooLarge {
            input: input.to_string(),
            max: format_size(MAX_GUEST_RAM),
        });
    };
    if bytes < MIN_GUEST_RAM {
        return Err(LaunchError::MemoryTooSmall {
            input: input.to_string(),
            min: format_size(MIN_GUEST_RAM),
        });
    }
    if bytes > MAX_GUEST_RAM {
        return Err(LaunchError::MemoryTooLarge {
            input: input.to_string(),
            max: format_size(MAX_GUEST_RAM),
        });
    }
    Ok(bytes)
}

/// Reads a guest file; `None` path gives `None`.
fn read_file(
    path: Option<&Path>,
    unreadable: fn(PathBuf, std::io::Error) -> LaunchError,
    empty: fn(PathBuf) -> LaunchError,
) -> Result<Option<Vec<u8>>, LaunchError> {
    let Some(path) = path else { return Ok(None) };
    let data = std::fs::read(path).map_err(|e| unreadable(path.to_path_buf(), e))?;
    if data.is_empty() {
        return Err(empty(path.to_path_buf()));
    }
    Ok(Some(data))
}

/// Opens the virtio back ends, in slot order: disks, network interfaces, entropy.
/// Disk images are opened and locked here, before anything else is set up.
fn open_devices(
    set: &crate::devopts::DeviceSet,
    kick: &crate::slirp::Kick,
) -> Result<Vec<Box<dyn crate::virtio::VirtioDevice>>, LaunchError> {
    let mut out: Vec<Box<dyn crate::virtio::VirtioDevice>> = Vec::new();
    for d in &set.drives {
        out.push(Box::new(crate::virtio::blk::Blk::open(
            &d.path, d.readonly,
        )?));
    }
    for n in &set.nets {
        let (shared, wake) = crate::slirp::start(n, kick.clone())?;
        out.push(Box::new(crate::virtio::net::Net::new(shared, wake)));
    }
    if set.rng {
        out.push(Box::new(crate::virtio::rng::Rng));
    }
    if out.len() > shared_abi::guest::VIRTIO_MMIO_COUNT as usize {
        return Err(LaunchError::DeviceOption {
            option: "-drive/-device",
            value: format!("{} devices", out.len()),
            reason: format!(
                "at most {} virtio devices",
                shared_abi::guest::VIRTIO_MMIO_COUNT
            ),
        });
    }
    Ok(out)
}

/// A VM ready to run the engine.
pub struct Vm {
    config: Config,
    /// The effective kernel command line (`BootConfig`).
    cmdline: String,
    layout: Layout,
    // Field order = drop order: the vCPU before the VM, memory after both.
    vcpu: VcpuFd,
    vm: Arc<VmFd>,
    mem: GuestMemory,
    tsc_hz: u64,
    /// The virtio device back ends, in slot order (handed to the hypercall server).
    devices: Vec<Box<dyn crate::virtio::VirtioDevice>>,
    /// Where the network threads send their interrupt (set when the VM runs).
    kick: crate::slirp::Kick,
    /// Nanoseconds from launcher start until the VM was ready to run.
    ready_ns: u64,
}

fn kvm_err(what: &'static str) -> impl FnOnce(kvm_ioctls::Error) -> LaunchError {
    move |source| LaunchError::Kvm { what, source }
}

impl Vm {
    /// Validates the inputs (memory size, guest files, engine; all before touching KVM),
    /// then builds the VM.
    pub fn new(config: Config) -> Result<Vm, LaunchError> {
        if let Some(append) = config.append.as_deref().filter(|a| a.len() > MAX_APPEND) {
            return Err(LaunchError::AppendTooLong {
                len: append.len(),
                max: MAX_APPEND,
            });
        }
        let ram = check_guest_ram(config.guest_ram, &format_size(config.guest_ram))?;
        let guest = read_file(
            config.guest.as_deref(),
            |path, source| LaunchError::GuestUnreadable { path, source },
            |path| LaunchError::GuestEmpty { path },
        )?;
        let initrd = read_file(
            config.initrd.as_deref(),
            |path, source| LaunchError::InitrdUnreadable { path, source },
            |path| LaunchError::InitrdEmpty { path },
        )?;
        // The guest, initrd and command line become one package (see `guest`).
        let prepared = match (&guest, config.guest.as_deref()) {
            (Some(g), Some(path)) => Some(guest::prepare(
                path,
                g,
                initrd.as_deref(),
                config.append.as_deref(),
                ram,
            )?),
            _ => None,
        };
        drop(guest);
        drop(initrd);
        let cmdline = match &prepared {
            Some(p) => p.bootargs.clone(),
            None => config.append.clone().unwrap_or_default(),
        };
        let package = prepared.map(|p| p.blob);
        let kick = crate::slirp::Kick::default();
        let devices = open_devices(&config.devices, &kick)?;
        let engine = elf::read_engine(&config.engine, config.engine_hint)?;
        let glen = package.as_ref().map(|g| g.len() as u64);
        let layout =
            Layout::new(ram, engine.extent, glen, None).ok_or(LaunchError::FilesTooLarge {
                size: glen.unwrap_or(0),
            })?;

        let kvm = Kvm::new().map_err(|source| LaunchError::KvmUnavailable { source })?;
        let vm = kvm.create_vm().map_err(kvm_err("KVM_CREATE_VM"))?;
        vm.create_irq_chip()
            .map_err(kvm_err("KVM_CREATE_IRQCHIP"))?;
        // Only used for real-mode emulation on VMX; we never run real mode.
        let _ = vm.set_tss_address(0xfffb_d000);

        let mem = GuestMemory::new(layout.mem_size).map_err(|source| LaunchError::VmMemory {
            size: layout.mem_size,
            source,
        })?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: layout.mem_size,
            userspace_addr: mem.host_addr(),
        };
        // SAFETY: the region is exactly the mapping owned by `mem`, which lives in the
        // returned Vm and is dropped only after the VM fd (field order).
        unsafe { vm.set_user_memory_region(region) }
            .map_err(kvm_err("KVM_SET_USER_MEMORY_REGION"))?;

        let mut cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(kvm_err("KVM_GET_SUPPORTED_CPUID"))?;
        let tsc_deadline = kvm.check_extension(Cap::TscDeadlineTimer);
        for e in cpuid.as_mut_slice().iter_mut().filter(|e| e.function == 1) {
            // x2APIC (bit 21) stays as KVM_GET_SUPPORTED_CPUID reports it; KVM reports
            // the TSC-deadline timer (bit 24) through KVM_CAP_TSC_DEADLINE_TIMER.
            if tsc_deadline {
                e.ecx |= 1 << 24;
            } else {
                e.ecx &= !(1 << 24);
            }
        }

        let load_err = |e: crate::memory::OutOfRange| LaunchError::FilesTooLarge { size: e.len };
        engine.load(&mem).map_err(load_err)?;
        if let (Some((paddr, _)), Some(data)) = (layout.guest, &package) {
            mem.write(paddr, data).map_err(load_err)?;
        }
        drop(package);
        boot::write_boot_tables(&mem, &layout)
            .map_err(|e| LaunchError::FilesTooLarge { size: e.mem_size })?;
        boot::write_boot_info(&mem, &layout, engine.extent).map_err(load_err)?;

        let vcpu = vm.create_vcpu(0).map_err(kvm_err("KVM_CREATE_VCPU"))?;
        vcpu.set_cpuid2(&cpuid).map_err(kvm_err("KVM_SET_CPUID2"))?;
        setup_long_mode(&vcpu, &engine)?;
        let tsc_hz = vcpu
            .get_tsc_khz()
            .map(|khz| u64::from(khz) * 1000)
            .unwrap_or(0);

        Ok(Vm {
            cmdline,
            layout,
            vcpu,
            vm: Arc::new(vm),
            ready_ns: u64::try_from(config.start.elapsed().as_nanos()).unwrap_or(u64::MAX),
            config,
            mem,
            tsc_hz,
            devices,
            kick,
        })
    }

    /// VM-physical layout chosen for this run.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Runs the engine until it exits or fails.
    pub fn run(mut self) -> Result<ExitStatus, LaunchError> {
        let c = &self.config;
        let mut flags = 0;
        if c.selftest {
            flags |= boot_flags::SELFTEST;
        }
        if c.stats {
            flags |= boot_flags::STATS;
        }
        if c.interp {
            flags |= boot_flags::INTERP;
        }
        let params = BootParams {
            flags,
            guest_ram: c.guest_ram,
            cmdline: self.cmdline.as_bytes().to_vec(),
            guest: self.layout.guest,
            initrd: self.layout.initrd,
            tsc_hz: self.tsc_hz,
            start: c.start,
        };
        let input: InputQueue = Arc::new(Mutex::new(VecDeque::new()));
        // Raw terminal while a guest runs (self-tests read no input).
        let _raw = if c.selftest {
            None
        } else {
            crate::term::RawMode::enter()
        };
        spawn_stdin_reader(input.clone(), self.vm.clone())?;
        install_dump_signal();
        let mut services = Services::new(params, Box::new(std::io::stdout()), input);
        services.trace = std::env::var_os("LAUNCHER_TRACE").is_some_and(|v| v != "0");
        services.virtio = crate::virtio::VirtioHost::new(std::mem::take(&mut self.devices));
        *self.kick.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.vm.clone());
        let mut exits = 0u64;
        let mut other_exits = 0u64;
        let status = loop {
            exits += 1;
            let ev = match self.vcpu.run() {
                Ok(exit) => Event::from(exit),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    if DUMP_REQUESTED.swap(false, std::sync::atomic::Ordering::Relaxed) {
                        self.dump_state();
                    }
                    continue;
                }
                Err(source) => {
                    return Err(LaunchError::Kvm {
                        what: "KVM_RUN",
                        source,
                    })
                }
            };
            let fault = match ev {
                Event::Hypercall(paddr) => match services.handle(&self.mem, paddr)? {
                    Outcome::Continue => continue,
                    Outcome::Exit { code, message } => break ExitStatus { code, message },
                },
                Event::Continue => {
                    other_exits += 1;
                    continue;
                }
                Event::Port { dir, port, len } => EngineFault::BadPort {
                    dir,
                    port,
                    len,
                    hyper: HYPERCALL_PORT,
                    rip: self.rip(),
                },
                Event::Mmio { addr, dir } => EngineFault::Mmio {
                    addr,
                    dir,
                    rip: self.rip(),
                },
                Event::Hlt => EngineFault::Halted { rip: self.rip() },
                Event::Shutdown => EngineFault::TripleFault { rip: self.rip() },
                Event::FailEntry(reason) => EngineFault::EntryFailed { reason },
                Event::InternalError => {
                    let run = self.vcpu.get_kvm_run();
                    // SAFETY: the exit reason is KVM_EXIT_INTERNAL_ERROR, so `internal`
                    // is the member of the exit union KVM filled in.
                    let suberror = unsafe { run.__bindgen_anon_1.internal.suberror };
                    EngineFault::InternalError {
                        suberror,
                        rip: self.rip(),
                    }
                }
                Event::Other(what) => EngineFault::UnexpectedExit {
                    what,
                    rip: self.rip(),
                },
            };
            return Err(fault.into());
        };
        if self.config.stats {
            let ms = |ns: u64| ns as f64 / 1e6;
            eprintln!(
                "launcher: stats: VM ready after {:.3} ms, first hypercall after {:.3} ms, {} VM exits, {} hypercalls, total {:.3} ms",
                ms(self.ready_ns),
                ms(services.first_call_ns().unwrap_or(0)),
                exits,
                services.calls,
                self.config.start.elapsed().as_secs_f64() * 1e3
            );
            let n = &services.by_nr;
            eprintln!(
                "launcher: stats: VM exits by kind: hypercalls {} (console write {}, console read {}, clock {}, guest info {}, boot config {}, virtio {}, exit {}, unknown {}), other {}",
                services.calls, n[1], n[2], n[4], n[5], n[6], n[7], n[3], n[0], other_exits
            );
            eprintln!(
                "launcher: stats: virtio: {} notifies served {} requests",
                services.virtio.notifies, services.virtio.requests
            );
        }
        Ok(status)
    }

    /// One line of vCPU state on stderr (on SIGUSR1, to debug a hung engine).
    fn dump_state(&self) {
        match (self.vcpu.get_regs(), self.vcpu.get_sregs()) {
            (Ok(r), Ok(s)) => eprintln!(
                "launcher: vcpu: rip {:#x} rsp {:#x} rflags {:#x} rax {:#x} rdi {:#x} cs {:#x} cr3 {:#x} cr2 {:#x} (after {:.3} ms)",
                r.rip,
                r.rsp,
                r.rflags,
                r.rax,
                r.rdi,
                s.cs.selector,
                s.cr3,
                s.cr2,
                self.config.start.elapsed().as_secs_f64() * 1e3
            ),
            _ => eprintln!("launcher: vcpu: cannot read registers"),
        }
    }

    fn rip(&self) -> u64 {
        self.vcpu.get_regs().map(|r| r.rip).unwrap_or(0)
    }
}

/// A VM exit, copied out of the kvm_run area so the vCPU can be used again.
enum Event {
    Hypercall(u64),
    Continue,
    Port {
        dir: &'static str,
        port: u16,
        len: usize,
    },
    Mmio {
        addr: u64,
        dir: &'static str,
    },
    Hlt,
    Shutdown,
    FailEntry(u64),
    InternalError,
    Other(String),
}

impl From<VcpuExit<'_>> for Event {
    fn from(exit: VcpuExit<'_>) -> Event {
        match exit {
            VcpuExit::IoOut(port, data) if port == HYPERCALL_PORT && data.len() == 4 => {
                Event::Hypercall(u64::from(u32::from_le_bytes([
                    data[0], data[1], data[2], data[3],
                ])))
            }
            VcpuExit::IoOut(port, data) => Event::Port {
                dir: "wrote to",
                port,
                len: data.len(),
            },
            VcpuExit::IoIn(port, data) => Event::Port {
                dir: "read from",
                port,
                len: data.len(),
            },
            VcpuExit::MmioRead(addr, _) => Event::Mmio { addr, dir: "read" },
            VcpuExit::MmioWrite(addr, _) => Event::Mmio { addr, dir: "write" },
            VcpuExit::Hlt => Event::Hlt,
            VcpuExit::Shutdown => Event::Shutdown,
            VcpuExit::FailEntry(reason, _) => Event::FailEntry(reason),
            VcpuExit::InternalError => Event::InternalError,
            VcpuExit::Intr | VcpuExit::IrqWindowOpen => Event::Continue,
            VcpuExit::SystemEvent(kind, _) => Event::Other(format!("system event {kind}")),
            other => Event::Other(format!("{other:?}")),
        }
    }
}

/// Puts the vCPU in 64-bit long mode at the engine's entry point (see DESIGN.md and
/// shared_abi::layout for the register contract).
fn setup_long_mode(vcpu: &VcpuFd, engine: &EngineImage) -> Result<(), LaunchError> {
    let mut sregs = vcpu.get_sregs().map_err(kvm_err("KVM_GET_SREGS"))?;
    let code = kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: CODE_SELECTOR,
        type_: 0xb, // execute/read, accessed
        present: 1,
        dpl: 0,
        db: 0,
        s: 1,
        l: 1,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    };
    let data = kvm_segment {
        selector: DATA_SELECTOR,
        type_: 0x3, // read/write, accessed
        db: 1,
        l: 0,
        ..code
    };
    sregs.cs = code;
    sregs.ds = data;
    sregs.es = data;
    sregs.ss = data;
    sregs.fs = data;
    sregs.gs = data;
    // Descriptor-table bases are linear addresses: the GDT is reached through the
    // physical map (there is no identity map).
    sregs.gdt.base = PHYS_MAP_BASE + GDT_PADDR;
    sregs.gdt.limit = (GDT.len() * 8 - 1) as u16;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    const CR0_PE: u64 = 1 << 0;
    const CR0_MP: u64 = 1 << 1;
    const CR0_ET: u64 = 1 << 4;
    const CR0_NE: u64 = 1 << 5;
    const CR0_WP: u64 = 1 << 16;
    const CR0_PG: u64 = 1 << 31;
    const CR4_PAE: u64 = 1 << 5;
    const CR4_OSFXSR: u64 = 1 << 9;
    const CR4_OSXMMEXCPT: u64 = 1 << 10;
    const EFER_LME: u64 = 1 << 8;
    const EFER_LMA: u64 = 1 << 10;
    const EFER_NXE: u64 = 1 << 11;
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
    sregs.cr3 = BOOT_PT_BASE;
    vcpu.set_sregs(&sregs).map_err(kvm_err("KVM_SET_SREGS"))?;

    let fpu = kvm_bindings::kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu).map_err(kvm_err("KVM_SET_FPU"))?;

    let regs = kvm_bindings::kvm_regs {
        rip: engine.entry,
        rsp: PHYS_MAP_BASE + BOOT_STACK_TOP - 8,
        rdi: PHYS_MAP_BASE + BOOT_INFO_PADDR,
        rflags: 2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(kvm_err("KVM_SET_REGS"))?;
    Ok(())
}

/// Set by the SIGUSR1 handler: print the vCPU state when KVM_RUN returns EINTR.
static DUMP_REQUESTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_sigusr1(_: libc::c_int) {
    DUMP_REQUESTED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Makes SIGUSR1 interrupt KVM_RUN (no SA_RESTART) and request a state dump.
fn install_dump_signal() {
    // SAFETY: a zeroed sigaction is valid; the handler only stores to an atomic
    // (async-signal-safe); sigemptyset/sigaction get valid pointers.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
}

/// Blocks SIGUSR1 in the calling thread, so it reaches the vCPU thread.
fn block_dump_signal() {
    // SAFETY: plain signal-mask calls on a local, initialised sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Reads stdin on a thread; each chunk goes to the queue and raises the console MSI so a
/// sleeping engine wakes up.
fn spawn_stdin_reader(queue: InputQueue, vm: Arc<VmFd>) -> Result<(), LaunchError> {
    std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            block_dump_signal();
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin();
            let mut escape = crate::term::Escape::default();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                let f = escape.feed(&buf[..n]);
                if f.quit {
                    // Ctrl-A x, as in QEMU: leave at once with status 0.
                    crate::term::restore();
                    let _ = std::io::Write::flush(&mut std::io::stdout());
                    eprintln!("\r\nlauncher: terminated (Ctrl-A x)");
                    std::process::exit(0);
                }
                if f.bytes.is_empty() {
                    continue;
                }
                queue
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(&f.bytes);
                let msi = kvm_msi {
                    address_lo: 0xfee0_0000,
                    data: u32::from(vector::CONSOLE),
                    ..Default::default()
                };
                // Dropped if the engine has not enabled its LAPIC yet; it polls then.
                let _ = vm.signal_msi(msi);
            }
        })
        .map(|_| ())
        .map_err(LaunchError::Thread)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_ram_range() {
        let e = check_guest_ram(1024, "1K").unwrap_err();
        assert_eq!(
            e.to_string(),
            "memory size 1K is too small: the guest needs at least 16M"
        );
        assert_eq!(e.exit_code().code(), 31);
        assert_eq!(check_guest_ram(16 << 20, "16M").unwrap(), 16 << 20);
        assert_eq!(
            check_guest_ram((16 << 20) + 1, "x").unwrap(),
            (16 << 20) + 4096
        );
        assert_eq!(check_guest_ram(MAX_GUEST_RAM, "x").unwrap(), MAX_GUEST_RAM);
        assert!(check_guest_ram(MAX_GUEST_RAM + 1, "x").is_err());
        assert!(check_guest_ram(u64::MAX, "x").is_err());
    }
}

/// Boots tiny hand-assembled engines: needs /dev/kvm (fails, never skips, without it).
#[cfg(test)]
mod kvm_tests {
    use super::*;
    use crate::elf::tests::{build_elf, ElfSpec};
    use shared_abi::layout::ENGINE_VIRT_BASE;

    /// Writes "hi\n" (ConsoleWrite from image offset 0x100), then exits with code
    /// 7 + the write's status. Block at paddr 0x30_0000, reached via the physical map.
    const HELLO: &[u8] = &[
        0x48, 0xbb, 0x00, 0x00, 0x30, 0x00, 0x80, 0x80, 0xff, 0xff, // movabs rbx, block
        0x53, 0x5b, // push rbx; pop rbx (the stack works)
        0xc7, 0x03, 0x01, 0x00, 0x00, 0x00, // nr = ConsoleWrite
        0x48, 0xc7, 0xc1, 0x00, 0x01, 0x20, 0x00, // rcx = paddr of the text
        0x48, 0x89, 0x4b, 0x08, // args[0]
        0x48, 0xc7, 0x43, 0x10, 0x03, 0x00, 0x00, 0x00, // args[1] = 3
        0x48, 0xc7, 0x43, 0x18, 0x00, 0x00, 0x00, 0x00, // args[2] = 0
        0x48, 0xc7, 0x43, 0x20, 0x00, 0x00, 0x00, 0x00, // args[3] = 0
        0x66, 0xba, 0xe0, 0x07, // dx = HYPERCALL_PORT
        0xb8, 0x00, 0x00, 0x30, 0x00, // eax = block paddr
        0xef, // out dx, eax
        0x8b, 0x4b, 0x04, // ecx = status
        0x48, 0x83, 0xc1, 0x07, // rcx += 7
        0xc7, 0x03, 0x03, 0x00, 0x00, 0x00, // nr = Exit
        0x48, 0x89, 0x4b, 0x08, // args[0] = code
        0x48, 0xc7, 0x43, 0x10, 0x00, 0x00, 0x00, 0x00, // args[1] = 0
        0x48, 0xc7, 0x43, 0x18, 0x00, 0x00, 0x00, 0x00, // args[2] = 0
        0xef, // out dx, eax
        0xf4, // hlt
    ];

    fn boot(code: &[u8]) -> Result<ExitStatus, LaunchError> {
        let mut text = code.to_vec();
        text.resize(0x100, 0xf4);
        text.extend_from_slice(b"hi\n");
        let spec = ElfSpec {
            entry: ENGINE_VIRT_BASE,
            segments: vec![(ENGINE_VIRT_BASE, text, 0x1000)],
            ..Default::default()
        };
        let dir = std::env::temp_dir().join(format!("lnch-kvm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("engine-{:x}", code.as_ptr() as usize));
        std::fs::write(&path, build_elf(&spec)).unwrap();
        let config = Config {
            devices: Default::default(),
            engine: path.clone(),
            engine_hint: "",
            guest: None,
            initrd: None,
            append: None,
            guest_ram: MIN_GUEST_RAM,
            stats: false,
            interp: false,
            selftest: true,
            start: Instant::now(),
        };
        let r = Vm::new(config).and_then(Vm::run);
        let _ = std::fs::remove_file(path);
        if let Err(LaunchError::KvmUnavailable { source }) = &r {
            panic!("these tests boot a VM and need /dev/kvm: {source}");
        }
        r
    }

    #[test]
    fn hello_and_exit() {
        let s = boot(HELLO).unwrap();
        assert_eq!(s.code, 7, "console write returned status {}", s.code - 7);
        assert_eq!(s.exit_code().code(), 107);
        assert_eq!(s.message, "");
    }

    #[test]
    fn triple_fault() {
        // ud2 with an empty IDT: #UD -> #GP -> #DF -> shutdown.
        let e = boot(&[0x0f, 0x0b]).unwrap_err();
        assert!(
            matches!(e, LaunchError::Engine(EngineFault::TripleFault { .. })),
            "{e}"
        );
        assert!(e.to_string().contains("triple-faulted"));
        assert_eq!(e.exit_code().code(), 42);
    }

    #[test]
    fn bad_port() {
        // mov al, 1; out 0x80, al
        let e = boot(&[0xb0, 0x01, 0xe6, 0x80, 0xf4]).unwrap_err();
        assert!(
            matches!(
                e,
                LaunchError::Engine(EngineFault::BadPort { port: 0x80, .. })
            ),
            "{e}"
        );
    }

    #[test]
    fn bad_block() {
        // mov dx, port; mov eax, 0x300004; out dx, eax
        let code = [
            0x66, 0xba, 0xe0, 0x07, 0xb8, 0x04, 0x00, 0x30, 0x00, 0xef, 0xf4,
        ];
        let e = boot(&code).unwrap_err();
        assert!(
            matches!(e, LaunchError::Engine(EngineFault::BadBlock { .. })),
            "{e}"
        );
        // Beyond the end of memory.
        let code = [
            0x66, 0xba, 0xe0, 0x07, 0xb8, 0xf8, 0xff, 0xff, 0xff, 0xef, 0xf4,
        ];
        let e = boot(&code).unwrap_err();
        assert!(e.to_string().contains("outside VM memory"), "{e}");
    }
}
