//! Issue 4, hosted path: the stock Debian arm64 kernel boots on `a64-system` (the guest
//! machine `virt::Machine` with the a64 interpreter, run on the host) to a busybox shell,
//! runs commands, and `poweroff` ends it with status 0.
//!
//! Needs `target/release/a64-system` and `target/release/guest-package`
//! (`cargo build --release -p launcher`) and the guest image (`bash tests/guest/build-image`).

use hv_tests::console::session;
use hv_tests::run::run_with_timeout;
use hv_tests::{target_dir, workspace_bin};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// What /proc/cpuinfo must list for our ID registers: FP, AdvSIMD, AES+PMULL, SHA1,
/// SHA2, CRC32 (evtstrm comes from the generic timer's event stream, cpuid from
/// Linux's emulation of EL0 ID register reads).
const FEATURES: &str = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid";

fn guest_image() -> PathBuf {
    let p = target_dir().join("guest").join("arm-linux.img");
    assert!(
        p.exists(),
        "{} is missing: build the guest image with `bash tests/guest/build-image`",
        p.display()
    );
    p
}

/// Writes the package `a64-system` boots (kernel, initrd, generated DTB, bootargs).
fn package(name: &str, append: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("a64-system-{}-{name}.fit", std::process::id()));
    let mut cmd = Command::new(workspace_bin("guest-package"));
    cmd.arg("--guest")
        .arg(guest_image())
        .args(["--append", append, "-m", "512M", "--out"])
        .arg(&out);
    let o = run_with_timeout(cmd, Duration::from_secs(60));
    assert_eq!(o.code, Some(0), "guest-package failed: {}", o.stderr);
    out
}

fn a64_system(pkg: &PathBuf) -> Command {
    // current_exe() is target/release/deps/a64_system-*: the binary is ../../a64-system.
    let mut c = Command::new(workspace_bin("a64-system"));
    c.arg(pkg).arg("--stats");
    c
}

#[test]
fn boots_to_a_shell_and_runs_commands() {
    let pkg = package("plain", "console=ttyAMA0 rdinit=/init");
    let s = session(
        a64_system(&pkg),
        "hvarm initramfs: Linux ",
        &[
            "uname -m",
            "echo $((6*7))",
            "grep -m1 Features /proc/cpuinfo",
            "cat /proc/cpuinfo | grep -c processor",
            "dmesg | grep -E 'Unhandled|BUG|alg: .*fail' ; echo dmesg-checked",
            "dmesg | grep -c .",
        ],
        Duration::from_secs(300),
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_file(&pkg);
    eprintln!(
        "a64-system reached the prompt after {:.1} s",
        s.secs_to_prompt
    );
    let a = &s.answers;
    assert_eq!(a[0], "aarch64", "{}", s.text);
    assert_eq!(a[1], "42");
    let features = a[2].split_once(':').map(|(_, f)| f.trim());
    assert_eq!(features, Some(FEATURES), "cpuinfo: {}", a[2]);
    assert_eq!(a[3], "1");
    assert_eq!(a[4], "dmesg-checked", "bad lines in dmesg:\n{}", a[4]);
    let lines: u32 = a[5].parse().unwrap_or(0);
    assert!(lines > 100, "dmesg has only {lines} lines");
    assert_eq!(
        s.status.code(),
        Some(0),
        "poweroff must end a64-system with 0:\n{}",
        s.text
    );
    assert!(s.text.contains("reboot: Power down"), "{}", s.text);
    assert!(
        s.text.contains("guest MIPS"),
        "no --stats output:\n{}",
        s.text
    );
}

#[test]
fn crypto_self_tests_pass() {
    // hvarm.crypto=1: the initramfs loads the arm64 crypto modules (aes-ce, sha1/sha2-ce,
    // ghash-ce, crct10dif-ce...), whose self-tests run our AES/SHA/PMULL instructions.
    let pkg = package("crypto", "console=ttyAMA0 rdinit=/init hvarm.crypto=1");
    let s = session(
        a64_system(&pkg),
        "hvarm initramfs: Linux ",
        &[
            "dmesg | grep -E 'alg: .*(fail|error)|Unhandled|BUG' ; echo dmesg-checked",
            "grep -c -E '^name' /proc/crypto",
            "grep -E '^driver.*-ce' /proc/crypto | sort -u | grep -c .",
        ],
        Duration::from_secs(300),
        Duration::from_secs(60),
    );
    let _ = std::fs::remove_file(&pkg);
    let a = &s.answers;
    assert_eq!(
        a[0], "dmesg-checked",
        "crypto self-test failures:\n{}",
        a[0]
    );
    let ce: u32 = a[2].parse().unwrap_or(0);
    assert!(
        ce > 0,
        "no arm64 -ce crypto drivers registered:\n{}",
        s.text
    );
    assert_eq!(s.status.code(), Some(0), "{}", s.text);
}
