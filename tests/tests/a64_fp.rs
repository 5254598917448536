//! Floating-point differential tests: C programs from tests/a64/fp/prog_*.c (double/float
//! arithmetic and libm, printf/strtod, rounding modes and exception flags, FZ/DN, NEON
//! float intrinsics) run under `qemu-aarch64` and under `a64-user`; stdout and exit status
//! must be identical.

mod a64_common;

use a64_common::{diff_run, require_tool, sources_dir, work_dir};
use std::process::Command;

fn check(name: &str, flags: &[&str], last: &str) {
    check_as(name, name, flags, last)
}

/// Builds tests/a64/fp/`name`.c and compares both runners; `last` must appear in the
/// output so a program that stopped early cannot pass.
fn check_as(exe_name: &str, name: &str, flags: &[&str], last: &str) {
    let src = sources_dir().join("fp").join(format!("{name}.c"));
    let dir = work_dir("fp");
    let exe = dir.join(exe_name);
    require_tool("aarch64-linux-gnu-gcc");
    let o = Command::new("aarch64-linux-gnu-gcc")
        .args(flags)
        .arg("-static")
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .arg("-lm")
        .output()
        .expect("run aarch64-linux-gnu-gcc");
    assert!(
        o.status.success(),
        "compiling {}: {}",
        src.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let r = diff_run(&exe, &[], b"", &dir);
    assert_eq!(r.status, 0, "{name} exited with {}", r.status);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains(last),
        "{name}: `{last}` missing from its output:\n{out}"
    );
}

#[test]
fn fp_scalar_math_printf_strtod() {
    check("prog_scalar", &["-O2"], "hash ");
}

#[test]
fn fp_rounding_modes_flags_fz_dn() {
    check("prog_round", &["-O2"], "noDN: nan+1");
}

#[test]
fn fp_neon_intrinsics() {
    check("prog_neon", &["-O2"], "acc ");
}

#[test]
fn fp_scalar_math_unoptimized() {
    // -O0 keeps every operation in memory round trips: different instruction mix.
    check_as("prog_scalar_o0", "prog_scalar", &["-O0"], "hash ");
}
