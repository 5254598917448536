//! `a64-user PROG [ARGS...]`: runs a static AArch64 Linux ELF on the a64 reference
//! interpreter, with Linux system calls implemented on the host.
//!
//! Exit status: the program's; fatal events kill the runner with the matching signal
//! (SIGILL: illegal instruction, SIGTRAP: BRK, SIGSEGV: bad memory access, SIGBUS:
//! alignment fault), which a shell reports as 128+signal (132, 133, 139, 135), as it does
//! for qemu-aarch64.
//! `A64_STATS=1` prints the instruction count and speed on stderr; `A64_STRACE=1` traces
//! system calls; `A64_NOOPT=1` skips the IR passes; `A64_VERIFY=1` verifies every block;
//! `A64_CPU=jit` runs translated x86-64 code instead of the interpreter.

mod linux;
mod loader;
mod mem;

use a64::interp::{run_block, Exit, Memory};
use a64::ir::{Block, ExcKind, Maint};
use a64::lower::{lower_block, MAX_BLOCK_INSNS};
use a64::state::Cpu;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

/// User + system CPU time of this process, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: zeroed rusage is a valid value for getrusage to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: ru is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Lowered blocks by guest PC: a direct-mapped front table over a hash map.
struct BlockCache {
    blocks: Vec<Block>,
    /// Translated code of each block (JIT mode).
    jit_ids: Vec<Option<u32>>,
    map: HashMap<u64, usize>,
    fast: Vec<(u64, usize)>,
}

const FAST_SIZE: usize = 8192;

impl BlockCache {
    fn new() -> Self {
        BlockCache {
            blocks: Vec::new(),
            jit_ids: Vec::new(),
            map: HashMap::new(),
            fast: vec![(u64::MAX, 0); FAST_SIZE],
        }
    }

    #[inline]
    fn get(&mut self, pc: u64) -> Option<usize> {
        let slot = (pc >> 2) as usize & (FAST_SIZE - 1);
        let (tag, idx) = self.fast[slot];
        if tag == pc {
            return Some(idx);
        }
        let idx = *self.map.get(&pc)?;
        self.fast[slot] = (pc, idx);
        Some(idx)
    }

    fn insert(&mut self, pc: u64, b: Block) -> usize {
        self.blocks.push(b);
        self.jit_ids.push(None);
        let idx = self.blocks.len() - 1;
        self.map.insert(pc, idx);
        self.fast[(pc >> 2) as usize & (FAST_SIZE - 1)] = (pc, idx);
        idx
    }

    fn clear(&mut self) {
        self.blocks.clear();
        self.jit_ids.clear();
        self.map.clear();
        self.fast.fill((u64::MAX, 0));
    }
}

/// Bytes of executable memory for translated code.
const CODE_REGION: usize = 64 << 20;

/// A translator over a fresh RWX region (host features probed here).
fn new_jit() -> jit::Jit {
    // A64_JIT_CODE_KB: a smaller code cache (tests of the flush path).
    let len = std::env::var("A64_JIT_CODE_KB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(CODE_REGION, |kb| (kb << 10).clamp(64 << 10, CODE_REGION));
    let region = match launcher::jitmem::code_region(len) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("a64-user: cannot map memory for translated code: {e}");
            std::process::exit(2);
        }
    };
    let mut feats = jit::Features::probe();
    // A64_HOSTFP=0: every FP operation through the softfloat (to compare).
    if std::env::var("A64_HOSTFP").is_ok_and(|v| v == "0") {
        feats.host_fp = false;
    }
    let mut j = jit::Jit::new::<mem::GuestMem>(region, feats);
    // No interrupts here: block entries only look at the event byte.
    j.set_limit_checks(false);
    // A64_JIT_REGS: fewer host registers for temps (tests of the spilling paths).
    if let Some(n) = std::env::var("A64_JIT_REGS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        j.set_max_regs(n);
    }
    j
}

/// Returns from translated code by exit code (for `A64_STATS`).
static EXITS: [std::sync::atomic::AtomicU64; 8] =
    [const { std::sync::atomic::AtomicU64::new(0) }; 8];

/// Turns a translated-code exit into the interpreter's [`Exit`].
fn jit_exit(j: &mut jit::Jit, code: u64, cpu: &Cpu, chain: &mut Option<(u64, u64)>) -> Exit {
    use jit::rt::exit;
    EXITS[code.min(7) as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match code {
        exit::CONTINUE | exit::STOP | exit::LOOKUP_MISS => Exit::Continue,
        exit::DATA_ABORT => Exit::DataAbort {
            fault: j
                .ctx
                .fault
                .take()
                .unwrap_or(a64::interp::MemFault::Unmapped {
                    addr: 0,
                    write: false,
                }),
            pc: cpu.pc,
        },
        exit::UNDEF => Exit::Exception {
            kind: ExcKind::Undef(j.ctx.undef_raw as u32),
            pc: cpu.pc,
        },
        c => match j.exit_rec(c) {
            Some((_, jit::ExitRec::Chain { .. })) => {
                *chain = Some((c, cpu.pc));
                Exit::Continue
            }
            Some((_, jit::ExitRec::Exception { kind, .. })) => Exit::Exception {
                kind,
                pc: kind.insn_pc(cpu.pc),
            },
            None => Exit::Continue,
        },
    }
}

/// How the guest ended.
enum End {
    Exit(i32),
    Signal(i32),
}

fn main() {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // `--argv0 NAME`: the guest's argv[0] (used when a guest execve()s another program).
    let mut argv0 = None;
    if args.len() >= 3 && args[0] == "--argv0" {
        argv0 = Some(args[1].clone());
        args.drain(..2);
    }
    if args.is_empty() {
        eprintln!("usage: a64-user PROG [ARGS...]");
        std::process::exit(2);
    }
    let end = run(&args, argv0);
    let _ = std::io::stdout().flush();
    match end {
        End::Exit(c) => std::process::exit(c),
        End::Signal(sig) => {
            // Die like the guest would: by the signal's default action (status 128+sig).
            // SAFETY: restoring the default disposition and raising a signal on ourselves.
            unsafe {
                libc::signal(sig, libc::SIG_DFL);
                libc::raise(sig);
            }
            std::process::exit(128 + sig);
        }
    }
}

fn run(args: &[std::ffi::OsString], argv0: Option<std::ffi::OsString>) -> End {
    let prog = args[0].to_string_lossy().into_owned();
    let mut argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
    if let Some(a0) = argv0 {
        argv[0] = a0.as_bytes().to_vec();
    }
    // The runner's own A64_* settings are not passed to the guest.
    let env: Vec<Vec<u8>> = std::env::vars_os()
        .filter(|(k, _)| !k.as_bytes().starts_with(b"A64_"))
        .map(|(k, v)| {
            let mut e = k.as_bytes().to_vec();
            e.push(b'=');
            e.extend_from_slice(v.as_bytes());
            e
        })
        .collect();
    let mut mem = mem::GuestMem::new();
    let loaded = match loader::load(&mut mem, &prog, &argv, &env) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("a64-user: {prog}: {e}");
            return End::Exit(127);
        }
    };
    let mut cpu = Cpu::new();
    cpu.pc = loaded.entry;
    cpu.sp = loaded.sp;
    let mut os = linux::Linux::new(loaded.brk, prog);
    let stats = std::env::var_os("A64_STATS").is_some();
    // A64_NOOPT=1 runs the unoptimized IR; A64_VERIFY=1 verifies every block.
    let optimize = std::env::var_os("A64_NOOPT").is_none();
    let verify = std::env::var_os("A64_VERIFY").is_some();
    let start = std::time::Instant::now();
    let mut cache = BlockCache::new();
    let mut temps = Vec::new();
    let mut icount: u64 = 0;
    let mut opcount: u64 = 0;
    let mut jit = match std::env::var("A64_CPU").as_deref() {
        Ok("jit") => Some(new_jit()),
        Ok("interp") | Err(_) => None,
        Ok(other) => {
            eprintln!("a64-user: A64_CPU={other}: expected jit or interp");
            return End::Exit(2);
        }
    };
    // A chain exit (its code) and the address it left for.
    let mut pending_chain: Option<(u64, u64)> = None;
    // A64_PERFMAP=1: a perf map of translated blocks (/tmp/perf-PID.map) for `perf report`.
    let mut perfmap = std::env::var_os("A64_PERFMAP")
        .and_then(|_| std::fs::File::create(format!("/tmp/perf-{}.map", std::process::id())).ok());
    let status = loop {
        let pc = cpu.pc;
        let idx = match cache.get(pc) {
            Some(i) => i,
            None => match lower_block(pc, 0, MAX_BLOCK_INSNS, &mut |a| mem.fetch(a)) {
                Ok(mut b) => {
                    if optimize {
                        a64::opt::optimize(&mut b);
                        if let Some(j) = jit.as_ref() {
                            j.prepare(&mut b);
                        }
                    }
                    if verify {
                        if let Err(e) = a64::verify::verify(&b) {
                            eprintln!("a64-user: internal error: {e} in block at {pc:#x}");
                            break End::Exit(125);
                        }
                    }
                    cache.insert(pc, b)
                }
                Err(f) => {
                    eprintln!(
                        "a64-user: segmentation fault: instruction fetch at {:#x} ({f})",
                        pc
                    );
                    break End::Signal(libc::SIGSEGV);
                }
            },
        };
        let exit = if let Some(j) = jit.as_mut() {
            let id = match cache.jit_ids[idx] {
                Some(id) => Some(id),
                None => {
                    let r = match j.translate(&cache.blocks[idx], 0) {
                        Err(jit::JitError::Full) => {
                            j.flush();
                            pending_chain = None;
                            let b = cache.blocks[idx].clone();
                            cache.clear();
                            let i2 = cache.insert(pc, b);
                            debug_assert_eq!(i2, 0);
                            j.translate(&cache.blocks[0], 0)
                        }
                        r => r,
                    };
                    let idx = cache.get(pc).unwrap_or(0);
                    let id = r.ok();
                    if let (Some(f), Some(m)) = (perfmap.as_mut(), id.and_then(|i| j.meta(i))) {
                        let _ = writeln!(f, "{:x} {:x} g_{:x}", m.entry, 64, pc);
                    }
                    cache.jit_ids[idx] = id;
                    id
                }
            };
            match id {
                Some(id) => {
                    if let Some((code, target)) = pending_chain.take() {
                        if target == pc {
                            j.chain(code, id);
                        }
                    }
                    if let Some(h) = jit::JitMemory::host_page(&mut mem, pc, 2) {
                        j.ctx.fill(pc, 2, h, 12);
                        let entry = j.meta(id).map_or(0, |m| m.entry);
                        j.ctx.jc_insert(pc, h as u64 + (pc & 0xfff), entry);
                    }
                    j.ctx.event = 0;
                    let code = j.run(&mut cpu, &mut mem, id);
                    jit_exit(j, code, &cpu, &mut pending_chain)
                }
                None => {
                    let bi = cache.get(pc).unwrap_or(0);
                    let blk = &cache.blocks[bi];
                    icount += blk.ninsns as u64;
                    run_block(&mut cpu, &mut mem, blk, &mut temps)
                }
            }
        } else {
            let blk = &cache.blocks[idx];
            icount += blk.ninsns as u64;
            opcount += blk.ops.len() as u64;
            run_block(&mut cpu, &mut mem, blk, &mut temps)
        };
        match exit {
            Exit::Continue => {}
            Exit::Exception { kind, pc } => match kind {
                ExcKind::Svc(_) => match os.syscall(&mut cpu, &mut mem) {
                    linux::Outcome::Ret(v) => {
                        cpu.x[0] = v as u64;
                        if let Some(j) = jit.as_mut() {
                            // Mappings may have changed: drop every direct memory path.
                            j.ctx.flush_tlb();
                        }
                        if os.code_changed {
                            os.code_changed = false;
                            cache.clear();
                            if let Some(j) = jit.as_mut() {
                                j.flush();
                            }
                        }
                    }
                    linux::Outcome::Exit(c) => break End::Exit(c),
                    linux::Outcome::Signal(s) => break End::Signal(s),
                },
                ExcKind::Wfi | ExcKind::Wfe => {}
                ExcKind::Maint(Maint::IcIvau) | ExcKind::Maint(Maint::IcAll) => {
                    cache.clear();
                    if let Some(j) = jit.as_mut() {
                        j.flush();
                    }
                }
                ExcKind::Maint(_) => {}
                ExcKind::Brk(imm) => {
                    eprintln!("a64-user: trace/breakpoint trap (BRK #{imm:#x}) at pc {pc:#x}");
                    break End::Signal(libc::SIGTRAP);
                }
                ExcKind::Undef(insn) => {
                    eprintln!("a64-user: illegal instruction {insn:#010x} at pc {pc:#x}");
                    break End::Signal(libc::SIGILL);
                }
                ExcKind::Hvc(_) | ExcKind::Smc(_) | ExcKind::Hlt(_) | ExcKind::Eret => {
                    let insn = mem.fetch(pc).unwrap_or(0);
                    eprintln!("a64-user: illegal instruction {insn:#010x} at pc {pc:#x}");
                    break End::Signal(libc::SIGILL);
                }
            },
            Exit::DataAbort { fault, pc } => {
                let sig = if matches!(fault, a64::interp::MemFault::Alignment { .. }) {
                    libc::SIGBUS
                } else {
                    libc::SIGSEGV
                };
                eprintln!(
                    "a64-user: {} {fault} at pc {pc:#x}",
                    if sig == libc::SIGBUS {
                        "bus error:"
                    } else {
                        "segmentation fault:"
                    }
                );
                break End::Signal(sig);
            }
        }
    };
    if let Some(j) = jit.as_ref() {
        icount += j.ctx.insns;
    }
    if stats {
        if let Some(j) = jit.as_ref() {
            eprintln!("a64-user: jit {:?}", j.stats);
            let e: Vec<u64> = EXITS
                .iter()
                .map(|x| x.load(std::sync::atomic::Ordering::Relaxed))
                .collect();
            eprintln!("a64-user: exits continue/abort/undef/stop/lookup-miss/../rec {e:?}");
        }
        let t = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds();
        eprintln!(
            "a64-user: {icount} guest instructions ({opcount} IR ops) in {t:.3} s wall, {cpu:.3} s CPU = {:.1} MIPS (CPU time) ({} blocks cached)",
            icount as f64 / cpu.max(1e-9) / 1e6,
            cache.blocks.len()
        );
    }
    status
}
