//! The foundation: the engine's self-tests, booted under the launcher (KVM) and under
//! QEMU (`bootloader` crate). Each asserts on the exit code first, then on the console.

use hv_tests::run::{require_kvm, run_with_timeout};
use hv_tests::{repo_root, target_dir, workspace_bin};
use std::process::Command;
use std::time::Duration;

const SELFTESTS: &[&str] = &[
    "monitor runs in ring 3",
    "ring-0 service answers",
    "#PF in ring 3 is handled and resumed",
    "#UD is reported with the faulting RIP",
    "#GP, #DE and #BP come back as upcalls",
    "ring-0-only page cannot be read from ring 3",
    "LAPIC timer interrupt arrives while ring 3 runs",
    "hlt wakes on the timer",
    "console read does not block",
];

fn assert_selftests_pass(stdout: &str) {
    for t in SELFTESTS {
        let line = format!("selftest: {t} ... ok");
        assert!(
            stdout.lines().any(|l| l == line),
            "missing `{line}` in:\n{stdout}"
        );
    }
    let summary = format!("selftest: {} passed, 0 failed", SELFTESTS.len());
    assert!(
        stdout.contains(&summary),
        "missing `{summary}` in:\n{stdout}"
    );
}

fn engine_path() -> std::path::PathBuf {
    let p = target_dir().join("x86_64-unknown-none/release/engine");
    assert!(
        p.exists(),
        "{} is missing: run `cargo engine` first",
        p.display()
    );
    p
}

#[test]
fn selftest_under_launcher() {
    require_kvm();
    let mut cmd = Command::new(workspace_bin("launcher"));
    cmd.arg("--engine").arg(engine_path()).arg("--selftest");
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_selftests_pass(&out.stdout);
    assert!(out.stdout.contains("host: Launcher"), "{}", out.stdout);
}

#[test]
fn stats_print_calibration() {
    require_kvm();
    let mut cmd = Command::new(workspace_bin("launcher"));
    cmd.arg("--engine")
        .arg(engine_path())
        .args(["--selftest", "--stats"]);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    for key in [
        "launcher start -> first hypercall",
        "one ring-0 instruction",
        "int3 service round trip",
        "#PF upcall round trip",
        "PTE write + INVLPG",
        "CR3 switch",
        "timer interrupt",
        "hypercall round trip",
    ] {
        assert!(
            out.stdout.contains(key),
            "missing {key:?} in:\n{}",
            out.stdout
        );
    }
}

#[test]
fn selftest_under_qemu() {
    let script = repo_root().join("launcher/qemu-run");
    let mut cmd = Command::new("bash");
    cmd.arg(script).arg("--selftest");
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    assert_eq!(
        out.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert_selftests_pass(&out.stdout);
    assert!(out.stdout.contains("host: Qemu"), "{}", out.stdout);
}

#[test]
fn guest_file_reaches_engine_under_qemu() {
    let dir = target_dir().join("qemu");
    std::fs::create_dir_all(&dir).unwrap();
    let guest = dir.join("ramdisk-probe.bin");
    std::fs::write(&guest, b"\x7fRAMDISK-PROBE-0123456789").unwrap();
    // --ramdisk hands the file to the bootloader unchanged: the engine finds it, sees
    // that it is not a guest package, says so and exits with BAD_GUEST (104).
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("launcher/qemu-run"))
        .arg("--ramdisk")
        .arg(&guest);
    let out = run_with_timeout(cmd, Duration::from_secs(300));
    assert_eq!(
        out.code,
        Some(104),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("engine: the guest package is invalid"),
        "{}",
        out.stdout
    );
}
