//! Differential tests: integer-heavy C programs from tests/a64/ built with
//! `aarch64-linux-gnu-gcc -O2 -static` must produce the same output and exit status
//! under a64-user as under qemu-aarch64.
//!
//! Run: `cargo build -p launcher --release --bin a64-user && cargo test -p hv-tests --release --test a64_programs`.

mod a64_common;

use a64_common::*;

fn build(name: &str) -> std::path::PathBuf {
    let dir = work_dir("programs");
    let out = dir.join(name);
    compile(
        &[sources_dir().join(format!("{name}.c"))],
        &out,
        &["-O2", "-march=armv8-a"],
    );
    out
}

fn check(name: &str, args: &[&str], stdin: &[u8]) {
    let _ = a64_user();
    let prog = build(name);
    let dir = work_dir(&format!("run-{name}"));
    let r = diff_run(&prog, args, stdin, &dir);
    assert!(!r.stdout.is_empty(), "{name} printed nothing");
}

#[test]
fn int_hash() {
    check("int_hash", &[], b"");
}

#[test]
fn sort() {
    check("sort", &[], b"");
}

#[test]
fn printf_formats() {
    check("printf_formats", &[], b"");
}

#[test]
fn setjmp() {
    check("setjmp", &[], b"");
}

#[test]
fn malloc_heavy() {
    check("malloc_heavy", &[], b"");
}

#[test]
fn atomics_bits() {
    check("atomics_bits", &[], b"");
}

#[test]
fn files() {
    check("files", &["."], b"");
}

#[test]
fn stdin_filter() {
    let mut input = Vec::new();
    for i in 0..2000 {
        input.extend_from_slice(
            format!("line {i} of the input  with   words {}\n", i * 7919 % 1000).as_bytes(),
        );
    }
    check("stdin_filter", &[], &input);
    check("stdin_filter", &[], b"");
}

#[test]
fn sysregs_dczva() {
    check("sysregs", &[], b"");
}

#[test]
fn fatal_events_match_qemu() {
    let _ = a64_user();
    let prog = build("sysregs");
    let dir = work_dir("run-fatal");
    for (what, status) in [
        ("undef", 132),
        ("brk", 133),
        ("segv", 139),
        ("abort", 134),
        ("exit", 42),
        ("misaligned", 135),
    ] {
        let r = diff_run(&prog, &[what], b"", &dir);
        assert_eq!(
            r.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
}

/// Runs each of `names` on qemu-aarch64 and on the translator with `env`; the outputs
/// must be equal, and the translator's stats counter `counter` (from `A64_STATS`) must
/// exceed `min` for each. `what` names the setting in failure messages.
fn translator_matches_qemu_with(
    names: &[&str],
    env: (&str, &str),
    what: &str,
    counter: &str,
    min: u64,
) {
    let _ = a64_user();
    for &name in names {
        let prog = build(name);
        let dir = work_dir(&format!("{}-{name}", env.0.to_lowercase()));
        let q = run_with(std::path::Path::new("qemu-aarch64"), &prog, &[], b"", &dir);
        let j = run_jit_with_env(&prog, &dir, &[env]);
        assert_eq!(
            (String::from_utf8_lossy(&q.stdout), q.status),
            (String::from_utf8_lossy(&j.stdout), j.status),
            "{name}: qemu-aarch64 and the translator with {what} differ\n{}",
            String::from_utf8_lossy(&j.stderr)
        );
        assert!(!j.stdout.is_empty(), "{name} printed nothing");
        let err = String::from_utf8_lossy(&j.stderr);
        let n: u64 = err
            .split(&format!("{counter}: "))
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(n > min, "{name}: {counter} only {n} with {what}:\n{err}");
    }
}

/// The translator's code-cache flush path: the same programs with a 64 KiB code cache
/// (A64_JIT_CODE_KB), so translated code is dropped and retranslated many times, must
/// still print exactly what qemu-aarch64 prints.
#[test]
fn translator_with_a_tiny_code_cache() {
    translator_matches_qemu_with(
        &["sort", "int_hash", "printf_formats"],
        ("A64_JIT_CODE_KB", "64"),
        "a 64 KiB code cache",
        "flushes",
        0,
    );
}

/// The translator with only 3 host registers for temps: values spill to memory all the
/// time, around TLB misses, side exits and deferred flag writes. Same output as
/// qemu-aarch64.
#[test]
fn translator_with_three_registers() {
    translator_matches_qemu_with(
        &[
            "sort",
            "int_hash",
            "printf_formats",
            "atomics_bits",
            "malloc_heavy",
        ],
        ("A64_JIT_REGS", "3"),
        "3 registers",
        "spills",
        100,
    );
}
