//! `a64-system PACKAGE [--stats] [--counter-hz N]`: runs the AArch64 guest machine
//! (`virt::Machine`, the same code the engine runs in ring 3) on the host, with the
//! console on stdin/stdout. The package is what `guest-package` writes.
//! Ctrl-A x quits (like QEMU). Exit status 0 on PSCI SYSTEM_OFF.
//! Env: `A64_PROFILE=1` prints the hottest guest code addresses at exit;
//! `A64_HOT_AFTER=N` translates a block on its Nth run (default 2: the first run is
//! interpreted);
//! `A64_PERFMAP=1` writes /tmp/perf-PID.map (translated blocks) for `perf report`.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use virt::{BoardHost, Machine, MachineConfig, RunExit};

const USAGE: &str = "usage: a64-system PACKAGE [--stats] [--counter-hz N] [-m SIZE_MIB]";

/// Saved terminal state, restored on drop.
struct RawTerm {
    saved: Option<libc::termios>,
}

impl RawTerm {
    fn enter() -> Self {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(0) } != 1 {
            return RawTerm { saved: None };
        }
        // SAFETY: termios is plain data; tcgetattr fills it or fails.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd 0 is a tty and `t` is a valid termios.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return RawTerm { saved: None };
        }
        let saved = t;
        if let Ok(mut g) = SAVED_TERM.lock() {
            *g = Some(saved);
        }
        // SAFETY: cfmakeraw only edits the struct.
        unsafe { libc::cfmakeraw(&mut t) };
        // SAFETY: valid termios for fd 0.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        RawTerm { saved: Some(saved) }
    }
}

impl Drop for RawTerm {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restores the termios read from fd 0 at start.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}

struct Host {
    start: Instant,
    hz: u64,
    deadline: Option<u64>,
    polls: u32,
    stdin_open: bool,
    ctrl_a: bool,
    quit: bool,
    out: std::io::Stdout,
}

impl Host {
    fn stdin_ready(&mut self, timeout_ms: i32) -> bool {
        if !self.stdin_open {
            if timeout_ms > 0 {
                std::thread::sleep(Duration::from_millis(timeout_ms as u64));
            }
            return false;
        }
        let mut p = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        if r > 0
            && p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
            && p.revents & libc::POLLIN == 0
        {
            self.stdin_open = false;
        }
        r > 0 && p.revents & libc::POLLIN != 0
    }

    fn expired(&mut self) -> bool {
        match self.deadline {
            Some(d) => self.counter() >= d,
            None => false,
        }
    }
}

impl BoardHost for Host {
    fn counter(&mut self) -> u64 {
        let ns = self.start.elapsed().as_nanos();
        (ns * self.hz as u128 / 1_000_000_000) as u64
    }

    fn wall_clock_secs(&mut self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn console_write(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
        let _ = self.out.flush();
    }

    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        if self.quit || !self.stdin_ready(0) {
            return 0;
        }
        let mut raw = [0u8; 64];
        let want = raw.len().min(buf.len());
        // SAFETY: reads at most `want` bytes into `raw`.
        let n = unsafe { libc::read(0, raw.as_mut_ptr().cast(), want) };
        if n <= 0 {
            self.stdin_open = false;
            return 0;
        }
        let mut k = 0;
        for &b in &raw[..n as usize] {
            if self.ctrl_a {
                self.ctrl_a = false;
                match b {
                    b'x' | b'X' => {
                        self.quit = true;
                        return k;
                    }
                    1 => {
                        buf[k] = 1;
                        k += 1;
                    }
                    _ => {}
                }
            } else if b == 1 {
                self.ctrl_a = true;
            } else {
                buf[k] = b;
                k += 1;
            }
        }
        k
    }

    fn set_timer(&mut self, deadline: Option<u64>) {
        self.deadline = deadline;
    }

    fn poll_event(&mut self) -> bool {
        self.polls = self.polls.wrapping_add(1);
        if !self.polls.is_multiple_of(64) {
            return false;
        }
        if self.expired() {
            // One-shot: the machine re-arms (set_timer) when it needs another event.
            self.deadline = None;
            return true;
        }
        self.polls.is_multiple_of(8192) && self.stdin_ready(0)
    }

    fn wait_for_event(&mut self) {
        let wait_ms = match self.deadline {
            Some(d) => {
                let now = self.counter();
                if d <= now {
                    return;
                }
                (((d - now) as u128 * 1000 / self.hz as u128) as i32).clamp(0, 20)
            }
            None => 20,
        };
        self.stdin_ready(wait_ms);
    }
}

fn run() -> Result<ExitCode, String> {
    let mut pkg = None;
    let mut stats = false;
    let mut hz: u32 = 62_500_000;
    let mut mib: u64 = 0;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--stats" => stats = true,
            "--counter-hz" => {
                let v = args.next().ok_or(USAGE)?;
                hz = v
                    .parse()
                    .map_err(|e| format!("bad --counter-hz {v:?}: {e}"))?;
                if hz == 0 {
                    return Err("--counter-hz must be positive".into());
                }
            }
            "-m" => {
                let v = args.next().ok_or(USAGE)?;
                mib = v
                    .trim_end_matches(['M', 'm'])
                    .parse()
                    .map_err(|e| format!("bad -m {v:?}: {e}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(ExitCode::SUCCESS);
            }
            _ if pkg.is_none() && !a.starts_with('-') => pkg = Some(a),
            _ => return Err(format!("unknown argument {a:?}; {USAGE}")),
        }
    }
    let pkg = pkg.ok_or(USAGE)?;
    let bytes = std::fs::read(&pkg).map_err(|e| format!("{pkg}: {e}"))?;
    // RAM size: -m, else the DTB's /memory node, else 512 MiB.
    let ram_size = if mib > 0 {
        mib << 20
    } else {
        shared_abi::boot::parse_package(&bytes)
            .ok()
            .and_then(|p| p.dtb)
            .and_then(|d| shared_abi::boot::dtb_memory(d).ok())
            .map(|(_, size)| size)
            .unwrap_or(512 << 20)
    };
    let mut ram = vec![0u8; ram_size as usize];
    let cfg = MachineConfig {
        counter_hz: hz,
        ram_size,
    };
    let mut m = Machine::new(cfg, &mut ram);
    m.load_package(&bytes).map_err(|e| format!("{pkg}: {e}"))?;
    let profile = std::env::var_os("A64_PROFILE").is_some();
    // A64_PERFMAP=1: a perf map of translated blocks (/tmp/perf-PID.map) for `perf report`.
    let perfmap = std::env::var_os("A64_PERFMAP").is_some();
    if perfmap {
        m.enable_code_map();
    }
    if profile {
        m.enable_profile();
    }
    if std::env::var("A64_CPU").as_deref() != Ok("interp") {
        let region = launcher::jitmem::code_region(128 << 20)
            .map_err(|e| format!("cannot map memory for translated code: {e}"))?;
        m.enable_jit(region, jit::Features::probe(), true);
        if let Some(n) = std::env::var("A64_HOT_AFTER")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            m.set_hot_after(n);
        }
    }
    let mut host = Host {
        start: Instant::now(),
        hz: u64::from(hz),
        deadline: None,
        polls: 0,
        stdin_open: true,
        ctrl_a: false,
        quit: false,
        out: std::io::stdout(),
    };
    let term = RawTerm::enter();
    let t0 = Instant::now();
    let exit = run_until_quit(&mut m, &mut host);
    drop(term);
    let secs = t0.elapsed().as_secs_f64();
    if stats {
        let s = m.stats();
        eprintln!("\r\n--- a64-system stats ---");
        eprint!("{s}");
        eprintln!(
            "wall time            {secs:>14.2} s\nguest MIPS           {:>14.1}",
            s.insns as f64 / secs / 1e6
        );
    }
    if perfmap {
        // The map, and the code of each block (/tmp/perf-PID.code: entry, VA,
        // length as u64 LE, then the bytes) for disassembly.
        let mut text = String::new();
        let mut code = Vec::new();
        for (entry, va, bytes) in m.take_code_map() {
            text.push_str(&format!("{entry:x} {:x} g_{va:x}\n", bytes.len()));
            for w in [entry, va, bytes.len() as u64] {
                code.extend_from_slice(&w.to_le_bytes());
            }
            code.extend_from_slice(&bytes);
        }
        let pid = std::process::id();
        for (path, data) in [
            (format!("/tmp/perf-{pid}.map"), text.into_bytes()),
            (format!("/tmp/perf-{pid}.code"), code),
        ] {
            if let Err(e) = std::fs::write(&path, data) {
                eprintln!("a64-system: cannot write {path}: {e}");
            }
        }
    }
    if profile {
        eprintln!("hottest 256-byte code blocks (guest instructions):");
        for (va, n) in m.profile_top(40) {
            eprintln!("  {va:#018x} {n:>12}");
        }
    }
    Ok(match exit {
        Some(RunExit::PowerOff) | None => ExitCode::SUCCESS,
        Some(RunExit::Reset) => {
            eprintln!("a64-system: guest requested a reset");
            ExitCode::from(2)
        }
        Some(RunExit::Fatal(e)) => {
            eprintln!("a64-system: fatal: {e}");
            ExitCode::from(1)
        }
    })
}

/// Runs the machine; `None` when the user quit with Ctrl-A x.
fn run_until_quit(m: &mut Machine<'_>, host: &mut Host) -> Option<RunExit> {
    let mut q = QuitHost { h: host };
    let r = m.run(&mut q);
    if q.h.quit {
        None
    } else {
        Some(r)
    }
}

/// Wraps the host so that Ctrl-A x ends `Machine::run` by exiting the process cleanly.
struct QuitHost<'a> {
    h: &'a mut Host,
}

impl BoardHost for QuitHost<'_> {
    fn counter(&mut self) -> u64 {
        self.h.counter()
    }
    fn wall_clock_secs(&mut self) -> u64 {
        self.h.wall_clock_secs()
    }
    fn console_write(&mut self, bytes: &[u8]) {
        self.h.console_write(bytes)
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let n = self.h.console_read(buf);
        if self.h.quit {
            quit_now();
        }
        n
    }
    fn set_timer(&mut self, deadline: Option<u64>) {
        self.h.set_timer(deadline)
    }
    fn poll_event(&mut self) -> bool {
        self.h.poll_event()
    }
    fn wait_for_event(&mut self) {
        self.h.wait_for_event()
    }
}

static SAVED_TERM: std::sync::Mutex<Option<libc::termios>> = std::sync::Mutex::new(None);

fn quit_now() -> ! {
    if let Ok(g) = SAVED_TERM.lock() {
        if let Some(t) = *g {
            // SAFETY: restores the termios saved at start.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
    eprintln!("\r\na64-system: terminated (Ctrl-A x)");
    std::process::exit(0);
}

fn main() -> ExitCode {
    match run() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("a64-system: {e}");
            ExitCode::from(1)
        }
    }
}
