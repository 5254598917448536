//! The AArch64 guest files (tests/guest/build-image) and the launcher's handling of
//! `--guest`: the image parses, the reference qemu-system-aarch64 boots it to a shell,
//! and the launcher accepts FIT / Image guests and rejects anything else.

use hv_tests::console::session;
use hv_tests::run::{require_kvm, run_with_timeout, Output};
use hv_tests::{repo_root, target_dir, workspace_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn guest_dir() -> PathBuf {
    target_dir().join("guest")
}

/// A file build-image makes; a clear failure if it is missing.
fn guest_file(name: &str) -> PathBuf {
    let p = guest_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run `tests/guest/build-image` (or .ci/setup) first",
        p.display()
    );
    p
}

fn tool(name: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        })
        .unwrap_or_else(|| panic!("this test needs `{name}` (Debian package {package})"))
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hv-guest-files-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

fn fdtget(fit: &Path, node: &str, prop: &str) -> String {
    let out = Command::new(tool("fdtget", "device-tree-compiler"))
        .args(["-t", "s"])
        .arg(fit)
        .args([node, prop])
        .output()
        .expect("run fdtget");
    assert!(
        out.status.success(),
        "fdtget {node} {prop}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Extracts image number `index` of a FIT with dumpimage.
fn dumpimage(fit: &Path, index: usize, out: &Path) -> Vec<u8> {
    let st = Command::new(tool("dumpimage", "u-boot-tools"))
        .args(["-T", "flat_dt", "-p", &index.to_string(), "-o"])
        .arg(out)
        .arg(fit)
        .output()
        .expect("run dumpimage");
    assert!(
        st.status.success(),
        "dumpimage -p {index}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read(out).unwrap()
}

#[test]
fn image_is_a_fit_with_kernel_initrd_and_bootargs() {
    let fit = guest_file("arm-linux.img");
    assert_eq!(fdtget(&fit, "/configurations", "default"), "conf-1");
    let conf = "/configurations/conf-1";
    assert_eq!(
        fdtget(&fit, conf, "bootargs"),
        "console=ttyAMA0 rdinit=/init"
    );
    assert_eq!(fdtget(&fit, conf, "kernel"), "kernel-1");
    assert_eq!(fdtget(&fit, conf, "ramdisk"), "ramdisk-1");
    assert_eq!(fdtget(&fit, "/images/kernel-1", "type"), "kernel");
    assert_eq!(fdtget(&fit, "/images/kernel-1", "arch"), "arm64");
    assert_eq!(fdtget(&fit, "/images/kernel-1", "compression"), "none");
    assert_eq!(fdtget(&fit, "/images/ramdisk-1", "type"), "ramdisk");
    let d = scratch("fit");
    let kernel = dumpimage(&fit, 0, &d.join("Image"));
    assert_eq!(
        &kernel[56..60],
        b"ARM\x64",
        "kernel-1 is not an arm64 Image"
    );
    assert_eq!(
        kernel,
        std::fs::read(guest_file("Image")).unwrap(),
        "the FIT's kernel differs from target/guest/Image"
    );
    let initrd = dumpimage(&fit, 1, &d.join("initrd"));
    assert_eq!(&initrd[..2], b"\x1f\x8b", "ramdisk-1 is not gzip");
    assert_eq!(
        initrd,
        std::fs::read(guest_file("initramfs.cpio.gz")).unwrap()
    );

    // Our parser (shared_abi::boot, through the launcher's guest-package tool) reads it
    // and lays it out in 512 MiB.
    let pkg = d.join("package");
    let out = Command::new(workspace_bin("guest-package"))
        .arg("--guest")
        .arg(&fit)
        .arg("--out")
        .arg(&pkg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "guest-package: {err}");
    assert!(
        err.contains("kernel at 0x40000000")
            && err.contains("bootargs \"console=ttyAMA0 rdinit=/init\""),
        "{err}"
    );
    // The package carries the same kernel and initrd plus our DTB.
    assert_eq!(dumpimage(&pkg, 0, &d.join("k2")), kernel);
    assert_eq!(dumpimage(&pkg, 1, &d.join("i2")), initrd);
    let dtb = dumpimage(&pkg, 2, &d.join("dtb"));
    assert_eq!(&dtb[..4], b"\xd0\x0d\xfe\xed");
}

/// Boots the FIT under tests/guest/qemu-ref `extra`, waits for the prompt, runs each
/// command and returns its output, then powers off and checks that QEMU exits cleanly.
fn qemu_session(extra: &[&str], commands: &[&str]) -> Vec<String> {
    tool("qemu-system-aarch64", "qemu-system-arm");
    let fit = guest_file("arm-linux.img");
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("tests/guest/qemu-ref"))
        .arg("--guest")
        .arg(&fit)
        .args(extra);
    let limit = Duration::from_secs(120);
    let s = session(cmd, "hvarm initramfs: Linux ", commands, limit, limit);
    assert!(s.text.contains("on aarch64, 1 cpu(s)"), "{}", s.text);
    assert!(s.status.success(), "qemu exited with {}", s.status);
    assert!(s.text.contains("reboot: Power down"), "{}", s.text);
    eprintln!(
        "qemu-system-aarch64 {extra:?} reached the prompt after {:.2} s",
        s.secs_to_prompt
    );
    s.answers
}

#[test]
fn qemu_boots_the_image_to_a_shell() {
    let a = qemu_session(&[], &["uname -m", "cat /proc/cmdline"]);
    assert_eq!(a[0], "aarch64", "`uname -m` printed {:?}", a[0]);
    assert_eq!(a[1], "console=ttyAMA0 rdinit=/init");
}

/// The stock kernel under QEMU, but with the DTB our launcher generates: its timer,
/// GIC, PL011 and PL031 nodes must be what Linux expects.
#[test]
fn qemu_boots_with_our_dtb() {
    let a = qemu_session(
        &["--our-dtb"],
        &[
            "tr -d '\\0' </proc/device-tree/model; echo",
            "cat /proc/interrupts",
            "ls /dev/rtc0",
        ],
    );
    assert_eq!(a[0], "hvarm,virt", "not our DTB: {:?}", a[0]);
    for dev in ["arch_timer", "uart-pl011", "rtc-pl031"] {
        assert!(a[1].contains(dev), "no {dev} interrupt in:\n{}", a[1]);
    }
    assert!(a[1].contains("GIC-0  27 Level     arch_timer"), "{}", a[1]);
    assert_eq!(a[2], "/dev/rtc0");
}

fn launcher(args: &[&str], limit: Duration) -> Output {
    let mut cmd = Command::new(workspace_bin("launcher"));
    cmd.args(args);
    run_with_timeout(cmd, limit)
}

#[test]
fn launcher_rejects_a_file_that_is_not_a_guest() {
    let d = scratch("not-guest");
    let g = d.join("random.bin");
    let mut x = 0x9e37_79b9u32;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(&g, bytes).unwrap();
    let gs = g.to_str().unwrap();
    // Rejected before the engine is read: a nonexistent engine does not matter.
    let out = launcher(
        &["--engine", "/nonexistent/engine", "--guest", gs],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(23), "{out:?}");
    assert_eq!(
        out.stderr,
        format!("launcher: guest file {gs} is neither a FIT image nor an arm64 kernel Image\n")
    );
    assert!(out.stdout.is_empty(), "{out:?}");
    // A truncated FIT is an invalid guest (24), an Image that does not fit in -m is a
    // memory error (31).
    let fit = std::fs::read(guest_file("arm-linux.img")).unwrap();
    let cut = d.join("cut.img");
    std::fs::write(&cut, &fit[..fit.len() / 2]).unwrap();
    let out = launcher(
        &[
            "--engine",
            "/nonexistent/engine",
            "--guest",
            cut.to_str().unwrap(),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(24), "{out:?}");
    assert!(
        out.stderr.starts_with("launcher: guest file ") && out.stderr.lines().count() == 1,
        "{out:?}"
    );
    let image = guest_file("Image");
    let out = launcher(
        &[
            "--engine",
            "/nonexistent/engine",
            "--guest",
            image.to_str().unwrap(),
            "-m",
            "16M",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(out.code, Some(31), "{out:?}");
    assert!(out.stderr.contains("too small"), "{out:?}");
}

/// An Image with --initrd and --append gets past the launcher to the engine. Loose on
/// purpose: today's engine reports the package and exits 104 (BAD_GUEST); once it runs
/// guests, the shell reads EOF from the closed stdin and the guest powers off.
#[test]
fn launcher_hands_image_initrd_and_append_to_the_engine() {
    require_kvm();
    let engine = target_dir().join("x86_64-unknown-none/release/engine");
    assert!(
        engine.exists(),
        "{} is missing: run `cargo engine`",
        engine.display()
    );
    let mut cmd = Command::new(workspace_bin("launcher"));
    cmd.arg("--engine").arg(&engine);
    cmd.arg("--guest").arg(guest_file("Image"));
    cmd.arg("--initrd").arg(guest_file("initramfs.cpio.gz"));
    cmd.args(["--append", "console=ttyAMA0 rdinit=/init", "-m", "256M"]);
    // A full boot on the interpreter; generous limits, since tests run side by side.
    let s = session(
        cmd,
        "hvarm initramfs: Linux ",
        &["cat /proc/cmdline", "grep MemTotal /proc/meminfo"],
        Duration::from_secs(600),
        Duration::from_secs(120),
    );
    assert_eq!(s.answers[0], "console=ttyAMA0 rdinit=/init", "{}", s.text);
    let kb: u64 = s.answers[1]
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        (200_000..262_144).contains(&kb),
        "-m 256M gave {}",
        s.answers[1]
    );
    assert_eq!(s.status.code(), Some(0), "{}", s.text);
}
