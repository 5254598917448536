//! Issue 4: the stock Debian arm64 kernel boots under the launcher to a busybox shell,
//! and a different initramfs prints the same as under qemu-system-aarch64.

use hv_tests::console::session;
use hv_tests::run::{require_kvm, run_with_timeout};
use hv_tests::{repo_root, target_dir, workspace_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The hwcaps /proc/cpuinfo must list: exactly what our ID registers advertise
/// (ARMv8.0 FP/AdvSIMD, AES+PMULL, SHA1, SHA2, CRC32; evtstrm comes from the timer,
/// cpuid from Linux's emulation of ID-register reads).
const FEATURES: &str = "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid";

fn guest_file(name: &str) -> PathBuf {
    let p = target_dir().join("guest").join(name);
    assert!(
        p.exists(),
        "{} is missing: build the guest image with `bash tests/guest/build-image`",
        p.display()
    );
    p
}

fn launcher() -> Command {
    require_kvm();
    Command::new(workspace_bin("launcher"))
}

#[test]
fn boots_to_a_shell_and_runs_commands() {
    let mut cmd = launcher();
    cmd.arg("--guest").arg(guest_file("arm-linux.img"));
    // hvarm.crypto=1: the initramfs loads the arm64 crypto modules, whose self-tests
    // run our AES/SHA/PMULL instructions.
    cmd.args(["--append", "console=ttyAMA0 rdinit=/init hvarm.crypto=1"]);
    cmd.arg("--stats");
    let s = session(
        cmd,
        "hvarm initramfs: Linux ",
        &[
            "uname -m",
            "echo $((6*7))",
            "echo -n hello | md5sum",
            "grep -m1 Features /proc/cpuinfo",
            "dmesg | grep -E 'alg: .*fail|Unhandled|BUG' ; echo dmesg-checked",
            "dmesg | grep -c .",
        ],
        Duration::from_secs(600),
        Duration::from_secs(120),
    );
    eprintln!(
        "launcher reached the prompt after {:.1} s",
        s.secs_to_prompt
    );
    let a = &s.answers;
    assert_eq!(a[0], "aarch64");
    assert_eq!(a[1], "42");
    assert_eq!(a[2], "5d41402abc4b2a76b9719d911017c592  -");
    let features = a[3].split_once(':').map(|(_, f)| f.trim());
    assert_eq!(features, Some(FEATURES), "cpuinfo: {}", a[3]);
    assert_eq!(a[4], "dmesg-checked", "bad lines in dmesg:\n{}", a[4]);
    let lines: u32 = a[5].parse().unwrap_or(0);
    assert!(lines > 100, "dmesg has only {lines} lines");
    assert_eq!(
        s.status.code(),
        Some(0),
        "poweroff must end the launcher with 0:\n{}",
        s.text
    );
    assert!(s.text.contains("reboot: Power down"), "{}", s.text);
    // The translator ran the boot (it is the default). A block's first run is
    // interpreted (virt::machine::HOT_AFTER = 2) and every later one is translated: no
    // block is interpreted twice.
    let stat = |name: &str| -> Option<u64> {
        s.text
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
    };
    assert!(stat("blocks translated").unwrap_or(0) > 1000, "{}", s.text);
    let lowered = stat("blocks lowered to IR").unwrap_or(0);
    let interpreted = stat("blocks interpreted").unwrap_or(u64::MAX);
    assert!(interpreted <= lowered, "{}", s.text);
    // --stats turns the translator's instruction counting on, and reports MIPS.
    assert!(
        stat("guest instructions").unwrap_or(0) > 100_000_000,
        "{}",
        s.text
    );
    let mips = s
        .text
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("guest MIPS"))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(mips.is_some_and(|m| m > 0.0), "{}", s.text);
}

/// `--cpu interp`: the same boot on the reference interpreter (the translator is the
/// default); `--stats` then shows no translated blocks.
#[test]
fn boots_on_the_interpreter_with_cpu_interp() {
    let mut cmd = launcher();
    cmd.arg("--guest")
        .arg(guest_file("arm-linux.img"))
        .args(["--cpu", "interp", "--stats"]);
    let s = session(
        cmd,
        "hvarm initramfs: Linux ",
        &["uname -m", "echo $((6*7))"],
        Duration::from_secs(600),
        Duration::from_secs(120),
    );
    let a = &s.answers;
    assert_eq!(a[0], "aarch64");
    assert_eq!(a[1], "42");
    assert_eq!(s.status.code(), Some(0), "{}", s.text);
    assert!(
        !s.text.contains("blocks translated"),
        "--cpu interp still translated blocks:\n{}",
        s.text
    );
    assert!(
        s.text.contains("blocks interpreted"),
        "no stats:\n{}",
        s.text
    );
}

/// Builds an initramfs unlike the default one: its /init runs a fixed script and
/// powers off, printing between markers what both machines must agree on.
fn custom_initramfs(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let _ = std::fs::remove_dir_all(&root);
    for d in ["bin", "proc", "sys", "dev"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    // busybox from the Debian package the image script downloaded.
    let debs = target_dir().join("guest/debs");
    let deb = std::fs::read_dir(&debs)
        .unwrap_or_else(|e| panic!("{}: {e} (run tests/guest/build-image)", debs.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains("busybox-static"))
        .expect("busybox-static .deb in target/guest/debs");
    let x = dir.join("bb");
    let st = Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::copy(x.join("bin/busybox"), root.join("bin/busybox")).unwrap();
    let init = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "=== BEGIN ==="
echo "args: $*"
uname -sm
cat /proc/cmdline
grep -E '^(BogoMIPS|Features|CPU implementer|CPU architecture|CPU variant|CPU part|CPU revision)' /proc/cpuinfo
grep MemTotal /proc/meminfo | sed 's/ *[0-9]* kB/ N kB/'
echo "sum: $(seq 1 1000 | awk '{s+=$1} END {print s}')"
printf 'hvarm differential\n' | sha256sum
printf 'hvarm differential\n' | gzip -9 | md5sum
echo "float: $(awk 'BEGIN {printf "%.6f", sin(1)*exp(2)}')"
ls /sys/bus/amba/devices | sort
cat /proc/interrupts | awk 'NR>1 {print $1, $3, $4, $5}' | sort
echo "=== END ==="
poweroff -f
"#;
    let p = root.join("init");
    std::fs::write(&p, init).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.join("diff-initramfs.cpio.gz");
    let script = format!(
        "cd '{}' && find . | sort | cpio -o -H newc --quiet | gzip -9 > '{}'",
        root.display(),
        out.display()
    );
    let st = Command::new("sh").arg("-c").arg(script).status().unwrap();
    assert!(st.success(), "building the initramfs failed");
    out
}

fn between_markers(text: &str) -> String {
    let t = text.replace('\r', "");
    let (_, rest) = t
        .split_once("=== BEGIN ===\n")
        .unwrap_or_else(|| panic!("no BEGIN marker in:\n{t}"));
    let (body, _) = rest
        .split_once("=== END ===")
        .unwrap_or_else(|| panic!("no END marker in:\n{t}"));
    body.to_string()
}

#[test]
fn other_initramfs_matches_qemu() {
    let dir = target_dir().join("boot-linux-test");
    std::fs::create_dir_all(&dir).unwrap();
    let initrd = custom_initramfs(&dir);
    let image = guest_file("Image");
    let append = "console=ttyAMA0 rdinit=/init quiet";

    let mut ours = launcher();
    ours.arg("--guest").arg(&image).arg("--initrd").arg(&initrd);
    ours.args(["--append", append, "-m", "512M"]);
    let o = run_with_timeout(ours, Duration::from_secs(600));
    assert_eq!(
        o.code,
        Some(0),
        "launcher failed:\n{}\n{}",
        o.stdout,
        o.stderr
    );

    let mut reference = Command::new("bash");
    reference.arg(repo_root().join("tests/guest/qemu-ref"));
    reference
        .arg("--kernel")
        .arg(&image)
        .arg("--initrd")
        .arg(&initrd);
    // Our generated DTB on both sides: the same devices, so the comparison is of the
    // CPU and the device models.
    reference.args(["--append", append, "-m", "512M", "--our-dtb"]);
    let r = run_with_timeout(reference, Duration::from_secs(300));
    assert_eq!(
        r.code,
        Some(0),
        "qemu-system-aarch64 failed:\n{}\n{}",
        r.stdout,
        r.stderr
    );

    let (a, b) = (between_markers(&o.stdout), between_markers(&r.stdout));
    assert!(a.contains("aarch64") && a.contains("sum: 500500"), "{a}");
    assert_eq!(a, b, "our output differs from qemu-system-aarch64's");
}

/// A guest kernel panic ends the launcher with its own status (106), and the panic
/// text stays on the console.
#[test]
fn guest_panic_ends_the_launcher() {
    let mut cmd = launcher();
    cmd.arg("--guest").arg(guest_file("arm-linux.img"));
    // No init anywhere: the kernel panics ("VFS: Unable to mount root fs").
    cmd.args([
        "--append",
        "console=ttyAMA0 rdinit=/nonexistent init=/nonexistent",
    ]);
    let o = run_with_timeout(cmd, Duration::from_secs(600));
    assert_eq!(
        o.code,
        Some(106),
        "stdout:\n{}\nstderr:\n{}",
        o.stdout,
        o.stderr
    );
    assert!(
        o.stdout.contains("Kernel panic - not syncing"),
        "{}",
        o.stdout
    );
    assert_eq!(o.stderr.trim(), "launcher: the guest kernel panicked");
}
