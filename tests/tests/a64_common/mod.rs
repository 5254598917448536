//! Shared helpers of the a64 differential tests: locating `a64-user`, `qemu-aarch64` and
//! `aarch64-linux-gnu-gcc`, building guest programs, running them under both.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `target/<profile>/` of this test binary.
pub fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("test binary has no target dir")
        .to_path_buf()
}

/// The `a64-user` binary next to this test binary (target/<profile>/a64-user).
pub fn a64_user() -> PathBuf {
    let p = target_profile_dir().join("a64-user");
    assert!(
        p.exists(),
        "a64-user not found at {}: build it first with `cargo build -p launcher --release --bin a64-user` \
         (and run the tests with `cargo test -p hv-tests --release`)",
        p.display()
    );
    p
}

/// Panics with a clear message if a required host tool is missing.
pub fn require_tool(name: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "required tool `{name}` not found in PATH (Debian packages: qemu-user, gcc-aarch64-linux-gnu)");
}

/// A scratch directory under target/<profile>/a64-work/<name>.
pub fn work_dir(name: &str) -> PathBuf {
    let d = target_profile_dir().join("a64-work").join(name);
    std::fs::create_dir_all(&d).expect("create work dir");
    d
}

/// The repository's tests/a64 directory.
pub fn sources_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("a64")
}

/// Compiles guest sources with `aarch64-linux-gnu-gcc -static` plus `flags`.
///
/// Tests running in parallel build the same programs to the same paths while others
/// run them: the compiler writes a private file that then replaces `out` in one
/// rename, so a run never reads a half-written program.
pub fn compile(srcs: &[PathBuf], out: &Path, flags: &[&str]) {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    require_tool("aarch64-linux-gnu-gcc");
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}-{seq}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let o = Command::new("aarch64-linux-gnu-gcc")
        .args(flags)
        .arg("-static")
        .arg("-o")
        .arg(&tmp)
        .args(srcs)
        .output()
        .expect("run aarch64-linux-gnu-gcc");
    assert!(
        o.status.success(),
        "compiling {srcs:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::rename(&tmp, out).expect("move the compiled program into place");
}

/// Result of one run: stdout, stderr, exit status (128+signal for a killed process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: i32,
}

fn status_code(s: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => -1,
    }
}

/// Options given to qemu-aarch64: model the same ARMv8.0 + crypto core as a64-user
/// (the default `max` CPU would accept later-architecture encodings that are UNDEF here).
pub const QEMU_ARGS: &[&str] = &["-cpu", "cortex-a72"];

/// Program output for a failure message, cut after 3000 characters.
fn show(v: &[u8]) -> String {
    let s = String::from_utf8_lossy(v);
    if s.len() > 3000 {
        let mut end = 3000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...[{} bytes]", &s[..end], s.len())
    } else {
        s.into_owned()
    }
}

/// Runs `runner prog args...` with `stdin` as input, in directory `cwd`.
///
/// For `a64-user` this runs the program twice, on the interpreter (`A64_CPU=interp`) and
/// on the translator (`A64_CPU=jit`), asserts that both print the same and exit with the
/// same status, and returns the interpreter's result.
pub fn run_with(runner: &Path, prog: &Path, args: &[&str], stdin: &[u8], cwd: &Path) -> RunResult {
    if runner == Path::new("qemu-aarch64") {
        return run_one(runner, prog, args, stdin, cwd, None);
    }
    let i = run_one(runner, prog, args, stdin, cwd, Some("interp"));
    let j = run_one(runner, prog, args, stdin, cwd, Some("jit"));
    if i.stdout != j.stdout || i.status != j.status {
        panic!(
            "{} {:?}: the interpreter and the translator differ\n--- interpreter (status {}):\n{}\n--- translator (status {}):\n{}\n--- translator stderr:\n{}",
            prog.display(),
            args,
            i.status,
            show(&i.stdout),
            j.status,
            show(&j.stdout),
            show(&j.stderr)
        );
    }
    i
}

/// Runs `prog` under a64-user on the translator with extra environment variables.
#[allow(dead_code)]
pub fn run_jit_with_env(prog: &Path, cwd: &Path, env: &[(&str, &str)]) -> RunResult {
    let mut cmd = Command::new(a64_user());
    cmd.env("A64_CPU", "jit").env("A64_STATS", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .arg(prog)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn a64-user: {e}"));
    RunResult {
        stdout: out.stdout,
        stderr: out.stderr,
        status: status_code(out.status),
    }
}

fn run_one(
    runner: &Path,
    prog: &Path,
    args: &[&str],
    stdin: &[u8],
    cwd: &Path,
    cpu: Option<&str>,
) -> RunResult {
    use std::io::Write;
    let pre: &[&str] = if runner == Path::new("qemu-aarch64") {
        QEMU_ARGS
    } else {
        &[]
    };
    let mut cmd = Command::new(runner);
    if let Some(c) = cpu {
        // a64-user: run the IR verifier on every lowered block.
        cmd.env("A64_VERIFY", "1");
        cmd.env("A64_CPU", c);
    }
    let mut child = cmd
        .args(pre)
        .arg(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", runner.display()));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let reader = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = reader(Box::new(child.stdout.take().expect("stdout")));
    let err = reader(Box::new(child.stderr.take().expect("stderr")));
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break status_code(s);
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break TIMED_OUT;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let _ = feeder.join();
    let stdout = out.join().expect("stdout reader");
    let mut stderr = err.join().expect("stderr reader");
    if status == TIMED_OUT {
        stderr.extend_from_slice(format!("\n[killed after {RUN_TIMEOUT:?}]").as_bytes());
    }
    RunResult {
        stdout,
        stderr,
        status,
    }
}

/// Longest a single guest run may take before it is killed (a hang is a failure).
pub const RUN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
/// Status reported for a run killed by [`RUN_TIMEOUT`].
pub const TIMED_OUT: i32 = -2;

/// Runs under qemu-aarch64 and under a64-user and asserts identical stdout and status.
pub fn diff_run(prog: &Path, args: &[&str], stdin: &[u8], cwd: &Path) -> RunResult {
    require_tool("qemu-aarch64");
    let q = run_with(Path::new("qemu-aarch64"), prog, args, stdin, cwd);
    let a = run_with(&a64_user(), prog, args, stdin, cwd);
    assert!(
        q.status != TIMED_OUT && a.status != TIMED_OUT,
        "{} {args:?} timed out (qemu status {}, a64-user status {})",
        prog.display(),
        q.status,
        a.status
    );
    if q.stdout != a.stdout || q.status != a.status {
        panic!(
            "{} {:?}: qemu-aarch64 and a64-user differ\n--- qemu (status {}):\n{}\n--- a64-user (status {}):\n{}\n--- a64-user stderr:\n{}",
            prog.display(),
            args,
            q.status,
            show(&q.stdout),
            a.status,
            show(&a.stdout),
            show(&a.stderr)
        );
    }
    a
}
