//! Differential tests with Debian's static arm64 busybox: applets must give identical
//! output and exit status under a64-user and qemu-aarch64.
//!
//! The package is fetched on first use with `apt-get download busybox-static:arm64` into
//! `<target dir>/debs/` and extracted with `dpkg-deb -x` (`apt-get update` is run only if
//! the download fails).

mod a64_common;

use a64_common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn busybox() -> PathBuf {
    static BB: OnceLock<PathBuf> = OnceLock::new();
    BB.get_or_init(|| {
        let debs = target_profile_dir().parent().expect("target dir").join("debs");
        let root = debs.join("root");
        let bb = root.join("bin/busybox");
        if bb.exists() {
            return bb;
        }
        std::fs::create_dir_all(&debs).expect("create debs dir");
        let download = || {
            Command::new("apt-get")
                .args(["download", "busybox-static:arm64"])
                .current_dir(&debs)
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        if !download() {
            let _ = Command::new("apt-get").arg("update").status();
            assert!(
                download(),
                "`apt-get download busybox-static:arm64` failed in {} (is the arm64 architecture added with `dpkg --add-architecture arm64`?)",
                debs.display()
            );
        }
        let deb = std::fs::read_dir(&debs)
            .expect("read debs")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("busybox-static") && n.to_string_lossy().ends_with(".deb")))
            .expect("downloaded busybox-static .deb not found");
        let ok = Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok && bb.exists(), "dpkg-deb -x {} failed", deb.display());
        bb
    })
    .clone()
}

fn input_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(make_inputs).clone()
}

fn make_inputs() -> PathBuf {
    let d = work_dir("busybox");
    let mut nums = String::new();
    let mut x: u64 = 12345;
    for i in 0..3000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        nums += &format!(
            "{} {} word{} {}\n",
            (x >> 40) % 1000,
            i,
            (x >> 20) % 37,
            if i % 5 == 0 { "five" } else { "other" }
        );
    }
    std::fs::write(d.join("data.txt"), &nums).expect("write data");
    let mut text = String::new();
    for i in 0..500 {
        text += &format!(
            "The quick brown fox {i} jumps over the lazy dog; Lorem ipsum dolor sit amet {}.\n",
            i * i
        );
    }
    std::fs::write(d.join("text.txt"), &text).expect("write text");
    let bin: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 & if i % 3 == 0 { 0xff } else { 0x0f })
        .collect();
    std::fs::write(d.join("bin.dat"), &bin).expect("write bin");
    d
}

fn bb(args: &[&str], stdin: &[u8]) -> RunResult {
    let prog = busybox();
    let dir = input_dir();
    let _ = a64_user();
    diff_run(&prog, args, stdin, &dir)
}

fn ok(args: &[&str]) -> Vec<u8> {
    let r = bb(args, b"");
    assert_eq!(
        r.status,
        0,
        "busybox {args:?} failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    r.stdout
}

#[test]
fn echo() {
    assert_eq!(ok(&["echo", "hello", "a64", "world"]), b"hello a64 world\n");
    ok(&["echo", "-n", "-e", "tab\\there\\nnewline"]);
}

#[test]
fn md5sum_sha256sum() {
    ok(&["md5sum", "data.txt", "text.txt", "bin.dat"]);
    ok(&["sha256sum", "data.txt", "text.txt", "bin.dat"]);
    ok(&["sha1sum", "bin.dat"]);
    let r = bb(&["md5sum", "missing.file"], b"");
    assert_ne!(r.status, 0);
}

#[test]
fn gzip_gunzip() {
    let z = ok(&["gzip", "-c", "data.txt"]);
    assert!(z.len() > 100 && z[0] == 0x1f && z[1] == 0x8b);
    ok(&["gzip", "-9", "-c", "bin.dat"]);
    let dir = input_dir();
    std::fs::write(dir.join("data.gz"), &z).expect("write gz");
    let _ = std::fs::remove_file(dir.join("data.gz.tmp"));
    let back = ok(&["gunzip", "-c", "data.gz"]);
    assert_eq!(back, std::fs::read(dir.join("data.txt")).expect("read"));
    let r = bb(&["gunzip", "-c"], &z);
    assert_eq!(r.status, 0);
    assert_eq!(r.stdout, back);
}

#[test]
fn sort() {
    ok(&["sort", "data.txt"]);
    ok(&["sort", "-n", "-r", "data.txt"]);
    ok(&["sort", "-k", "3,3", "-k", "2n", "data.txt"]);
    ok(&["sort", "-u", "-t", " ", "-k", "4", "data.txt"]);
}

#[test]
fn awk() {
    ok(&[
        "awk",
        "{ s += $1; c[$4]++ } END { print s, NR; for (k in c) n++; print n, c[\"five\"] }",
        "data.txt",
    ]);
    ok(&[
        "awk",
        "-F",
        " ",
        "$1 > 500 { print $2 * 3, toupper($3), length($0) }",
        "data.txt",
    ]);
    ok(&["awk", "BEGIN { for (i = 0; i < 20; i++) printf \"%d %x %s\\n\", i * i, i * 4099, substr(\"abcdefghij\", i % 5 + 1, 3) }"]);
}

#[test]
fn sed() {
    ok(&[
        "sed",
        "s/fox \\([0-9]*\\)/cat \\1\\1/g; s/dog/DOG/",
        "text.txt",
    ]);
    ok(&["sed", "-n", "/five/p", "data.txt"]);
    ok(&["sed", "3,700d;s/word/W/2;y/abc/xyz/", "data.txt"]);
}

#[test]
fn wc_head_tail_tr() {
    ok(&["wc", "data.txt", "text.txt"]);
    ok(&["head", "-n", "17", "text.txt"]);
    ok(&["tail", "-c", "300", "data.txt"]);
    let r = bb(&["tr", "a-z", "A-Z"], b"some lower case text\n");
    assert_eq!(r.stdout, b"SOME LOWER CASE TEXT\n");
    let _ = Path::new(".");
}

#[test]
fn shell_pipelines() {
    // fork (clone), execve of /proc/self/exe, pipe2, dup3, wait4
    let out = ok(&[
        "sh",
        "-c",
        "cat data.txt | gzip -c | gunzip -c | md5sum; for i in 3 1 2; do echo $i; done | sort",
    ]);
    assert!(out.ends_with(b"1\n2\n3\n"));
    // SIGPIPE: `yes` is killed when `head` exits
    let out = ok(&["sh", "-c", "yes | head -n 3; sort -n data.txt | head -n 1"]);
    assert!(out.starts_with(b"y\ny\ny\n"));
    let r = bb(
        &[
            "sh",
            "-c",
            "x=0; while [ $x -lt 50 ]; do x=$((x+1)); done; echo $x; exit 7",
        ],
        b"",
    );
    assert_eq!((r.stdout.as_slice(), r.status), (&b"50\n"[..], 7));
}
