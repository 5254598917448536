//! Bad input to the launcher: each case must end with its own exit code and exactly one
//! line `launcher: <message>` on stderr, never a panic. None of these needs /dev/kvm:
//! the launcher rejects them all before it opens KVM.

use hv_tests::run::{run_with_timeout, Output};
use hv_tests::{target_dir, workspace_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hv-bad-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

fn launcher(args: &[&str]) -> Output {
    let mut cmd = Command::new(workspace_bin("launcher"));
    cmd.args(args);
    run_with_timeout(cmd, Duration::from_secs(30))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Exit code, one stderr line starting `launcher: ` that mentions every `needle`, no
/// panic, nothing on stdout.
fn assert_fails(out: &Output, code: i32, needles: &[&str]) {
    let ctx = format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.code, out.stdout, out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "the launcher panicked:\n{ctx}"
    );
    assert!(
        !out.stderr.contains("RUST_BACKTRACE"),
        "backtrace hint:\n{ctx}"
    );
    assert_eq!(out.code, Some(code), "wrong exit code:\n{ctx}");
    assert_eq!(
        out.stderr.lines().count(),
        1,
        "not one line on stderr:\n{ctx}"
    );
    assert!(out.stderr.ends_with('\n'), "unterminated line:\n{ctx}");
    assert!(
        out.stderr.starts_with("launcher: "),
        "no `launcher: ` prefix:\n{ctx}"
    );
    for n in needles {
        assert!(
            out.stderr.contains(n),
            "stderr does not mention `{n}`:\n{ctx}"
        );
    }
    assert!(out.stdout.is_empty(), "unexpected stdout:\n{ctx}");
}

#[test]
fn missing_engine_file() {
    let d = scratch("missing-engine");
    let engine = d.join("no-such-engine");
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 10, &[path_str(&engine), "No such file"]);
}

#[test]
fn engine_not_elf() {
    let d = scratch("not-elf");
    let engine = d.join("engine.sh");
    std::fs::write(&engine, "#!/bin/sh\necho I am not an ELF\n").unwrap();
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 11, &[path_str(&engine), "not an ELF"]);
}

/// Hand-written ELF header: class (1 = 32-bit, 2 = 64-bit), machine, ET_EXEC; no
/// program or section headers.
fn elf_header(class: u8, machine: u16) -> Vec<u8> {
    let mut h = vec![0u8; if class == 1 { 52 } else { 64 }];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = class;
    h[5] = 1; // little-endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h[18..20].copy_from_slice(&machine.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h
}

/// Compiles `_start: ...` with `cc args` into `out`; false if the compiler is missing
/// or cannot build for that target (the caller then writes the header by hand).
fn try_compile(cc: &str, args: &[&str], dir: &Path, out: &Path) -> bool {
    let src = dir.join("start.c");
    std::fs::write(&src, "void _start(void) { for (;;) {} }\n").unwrap();
    Command::new(cc)
        .args(args)
        .args(["-nostdlib", "-static", "-o"])
        .arg(out)
        .arg(&src)
        .output()
        .map(|o| o.status.success() && out.exists())
        .unwrap_or(false)
}

#[test]
fn engine_32_bit() {
    let d = scratch("elf32");
    let engine = d.join("engine32");
    if !try_compile("gcc", &["-m32"], &d, &engine) {
        std::fs::write(&engine, elf_header(1, 3)).unwrap();
    }
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 12, &[path_str(&engine), "32-bit"]);
}

#[test]
fn engine_32_bit_hand_made() {
    let d = scratch("elf32-hand");
    let engine = d.join("engine32");
    std::fs::write(&engine, elf_header(1, 3)).unwrap();
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 12, &["32-bit"]);
}

#[test]
fn engine_for_aarch64() {
    let d = scratch("aarch64");
    let engine = d.join("engine-arm64");
    if !try_compile("aarch64-linux-gnu-gcc", &[], &d, &engine) {
        std::fs::write(&engine, elf_header(2, 183)).unwrap();
    }
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 13, &[path_str(&engine), "AArch64", "not x86-64"]);
}

#[test]
fn engine_not_executable() {
    // An x86-64 relocatable object (ET_REL) is not an engine.
    let d = scratch("et-rel");
    let engine = d.join("engine.o");
    let mut h = elf_header(2, 62);
    h[16..18].copy_from_slice(&1u16.to_le_bytes());
    std::fs::write(&engine, h).unwrap();
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(&out, 14, &["ET_EXEC"]);
}

#[test]
fn engine_wrong_abi_version() {
    let real = target_dir().join("x86_64-unknown-none/release/engine");
    assert!(
        real.exists(),
        "{} is missing: build the engine with `cargo engine` first",
        real.display()
    );
    let mut bytes = std::fs::read(&real).unwrap();
    const MAGIC: &[u8] = b"HVARMABI";
    let hits: Vec<usize> = bytes
        .windows(MAGIC.len())
        .enumerate()
        .filter(|(_, w)| *w == MAGIC)
        .map(|(i, _)| i + MAGIC.len())
        .collect();
    assert!(
        !hits.is_empty(),
        "no ABI marker (HVARMABI) in {}",
        real.display()
    );
    let version = u32::from_le_bytes(bytes[hits[0]..hits[0] + 4].try_into().unwrap());
    let bumped = version + 1;
    for at in hits {
        if bytes[at..at + 4] == version.to_le_bytes() {
            bytes[at..at + 4].copy_from_slice(&bumped.to_le_bytes());
        }
    }
    let d = scratch("abi");
    let engine = d.join("engine");
    std::fs::write(&engine, &bytes).unwrap();
    let out = launcher(&["--engine", path_str(&engine), "--selftest"]);
    assert_fails(
        &out,
        15,
        &[
            &format!("ABI version {bumped}"),
            &format!("expects ABI version {version}"),
        ],
    );
}

// The guest files are checked before the engine is even read, so these pass a
// nonexistent engine: a guest error must win.

#[test]
fn missing_guest_file() {
    let d = scratch("missing-guest");
    let guest = d.join("no-such-Image");
    let out = launcher(&[
        "--engine",
        "/nonexistent/engine",
        "--guest",
        path_str(&guest),
    ]);
    assert_fails(&out, 20, &["guest image", path_str(&guest), "No such file"]);
}

#[test]
fn empty_guest_file() {
    let d = scratch("empty-guest");
    let guest = d.join("Image");
    std::fs::write(&guest, b"").unwrap();
    let out = launcher(&[
        "--engine",
        "/nonexistent/engine",
        "--guest",
        path_str(&guest),
    ]);
    assert_fails(&out, 21, &["guest image", path_str(&guest), "empty"]);
}

#[test]
fn missing_and_empty_initrd() {
    let d = scratch("initrd");
    let guest = d.join("Image");
    std::fs::write(&guest, b"not really a kernel").unwrap();
    let initrd = d.join("initrd");
    let out = launcher(&[
        "--engine",
        "/nonexistent/engine",
        "--guest",
        path_str(&guest),
        "--initrd",
        path_str(&initrd),
    ]);
    assert_fails(&out, 22, &["initrd", path_str(&initrd), "No such file"]);
    std::fs::write(&initrd, b"").unwrap();
    let out = launcher(&[
        "--engine",
        "/nonexistent/engine",
        "--guest",
        path_str(&guest),
        "--initrd",
        path_str(&initrd),
    ]);
    assert_fails(&out, 22, &["initrd", "empty"]);
}

#[test]
fn memory_too_small() {
    let out = launcher(&["--selftest", "-m", "1K"]);
    assert_fails(&out, 31, &[]);
    assert_eq!(
        out.stderr,
        "launcher: memory size 1K is too small: the guest needs at least 16M\n"
    );
}

#[test]
fn memory_too_large() {
    let out = launcher(&["--selftest", "--memory", "2T"]);
    assert_fails(&out, 31, &["2T", "too large"]);
}

#[test]
fn memory_unparsable() {
    let out = launcher(&["--selftest", "-m", "banana"]);
    assert_fails(&out, 30, &["banana"]);
}

#[test]
fn guest_required_without_selftest() {
    // A usage error: clap's own code (2) and message.
    let out = launcher(&[]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--guest"), "{out:?}");
    assert!(!out.stderr.contains("panicked"), "{out:?}");
}
