//! Issue 16: virtio-mmio devices under the launcher, driven through the guest's serial
//! console: virtio-blk (read, write, flush, discard, read-only, persistence across
//! kill -9, the image lock), virtio-rng, and the device options' errors.

use hv_tests::console::{session, Console, PROMPT};
use hv_tests::run::{require_kvm, run_with_timeout};
use hv_tests::{target_dir, workspace_bin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BOOT: Duration = Duration::from_secs(600);
const CMD: Duration = Duration::from_secs(120);
const APPEND: &str = "console=ttyAMA0 rdinit=/init hvarm.virtio=1";

fn image() -> PathBuf {
    let p = target_dir().join("guest/arm-linux.img");
    assert!(
        p.exists(),
        "{} is missing: run tests/guest/build-image",
        p.display()
    );
    p
}

fn launcher(args: &[&str]) -> Command {
    require_kvm();
    let mut c = Command::new(workspace_bin("launcher"));
    c.arg("-kernel").arg(image()).args(["-append", APPEND]);
    c.args(args);
    c
}

fn scratch(name: &str) -> PathBuf {
    let d = target_dir().join("virtio-tests");
    std::fs::create_dir_all(&d).unwrap();
    let p = d.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// A deterministic pattern: byte i = (i * 7 + i / 4096) mod 256.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 4096) as u8).collect()
}

fn sha256(data: &[u8]) -> String {
    let p = scratch("sha-input");
    std::fs::write(&p, data).unwrap();
    let out = Command::new("sha256sum").arg(&p).output().unwrap();
    let _ = std::fs::remove_file(&p);
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn last(s: &str) -> &str {
    s.lines().last().unwrap_or("").trim()
}

fn drive(path: &Path, extra: &str) -> String {
    format!("file={},format=raw,if=virtio{extra}", path.display())
}

/// The guest sees /dev/vda with the image's size and reads the host's pattern; its
/// writes (plain, discard, write-zeroes) reach the image; /dev/hwrng gives bytes.
#[test]
fn blk_read_write_discard_and_rng() {
    let img = scratch("rw.img");
    let data = pattern(8 << 20);
    std::fs::write(&img, &data).unwrap();
    let d = drive(&img, "");
    let cmd = launcher(&["-drive", &d, "-device", "virtio-rng-device"]);
    let s = session(
        cmd,
        "hvarm initramfs",
        &[
            "cat /sys/block/vda/size",
            "dd if=/dev/vda bs=4096 skip=3 count=5 2>/dev/null | sha256sum",
            "cat /sys/block/vda/ro",
            "W='conv=notrunc,fsync'; D=/dev/vda",
            "printf written-by-the-guest | dd of=$D bs=512 seek=100 $W; echo rc=$?",
            "blkdiscard -o 1048576 -l 65536 /dev/vda; echo rc=$?",
            "sync; echo 3 > /proc/sys/vm/drop_caches; echo ok",
            "dd if=/dev/vda bs=512 skip=100 count=1 2>/dev/null | head -c 20",
            "cat /sys/class/misc/hw_random/rng_current",
            "dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | wc -w",
        ],
        BOOT,
        CMD,
    );
    // The last line of each answer (kernel messages may come before it).
    let a: Vec<&str> = s.answers.iter().map(|x| last(x)).collect();
    assert_eq!(a[0], "16384", "{}", s.text);
    let want = sha256(&data[3 * 4096..8 * 4096]);
    assert_eq!(a[1], format!("{want}  -"), "{}", s.text);
    assert_eq!(a[2], "0");
    assert_eq!(a[4], "rc=0", "{}", s.text);
    assert_eq!(a[5], "rc=0", "{}", s.text);
    assert_eq!(a[7], "written-by-the-guest");
    assert!(a[8].starts_with("virtio_rng"), "{}", s.text);
    assert_eq!(a[9], "32", "{}", s.text);
    assert_eq!(s.status.code(), Some(0), "{}", s.text);
    let after = std::fs::read(&img).unwrap();
    assert_eq!(after.len(), data.len(), "size kept");
    assert_eq!(&after[51200..51220], b"written-by-the-guest");
    assert!(
        after[1 << 20..(1 << 20) + 65536].iter().all(|&b| b == 0),
        "discarded"
    );
    // Everything else is untouched.
    assert_eq!(&after[..51200], &data[..51200]);
    assert_eq!(&after[51220..1 << 20], &data[51220..1 << 20]);
    assert_eq!(&after[(1 << 20) + 65536..], &data[(1 << 20) + 65536..]);
    let _ = std::fs::remove_file(&img);
}

/// readonly=on: the guest sees a read-only disk and cannot change the image.
#[test]
fn blk_readonly() {
    let img = scratch("ro.img");
    let data = pattern(1 << 20);
    std::fs::write(&img, &data).unwrap();
    let d = drive(&img, ",readonly=on");
    let s = session(
        launcher(&["-drive", &d]),
        "hvarm initramfs",
        &[
            "cat /sys/block/vda/ro",
            "echo x | dd of=/dev/vda conv=fsync 2>&1 | head -1",
            "dd if=/dev/vda bs=4096 count=1 2>/dev/null | sha256sum",
        ],
        BOOT,
        CMD,
    );
    assert_eq!(last(&s.answers[0]), "1", "{}", s.text);
    assert!(
        s.answers[1].contains("Operation not permitted") || s.answers[1].contains("Read-only"),
        "{}",
        s.text
    );
    assert_eq!(last(&s.answers[2]), format!("{}  -", sha256(&data[..4096])));
    assert_eq!(std::fs::read(&img).unwrap(), data, "image untouched");
    let _ = std::fs::remove_file(&img);
}

/// Boots with `img` writable and waits for the prompt.
fn boot_console(img: &Path) -> (Console, usize) {
    let d = drive(img, "");
    let mut c = Console::spawn(launcher(&["-drive", &d]));
    let b = c.wait_for(0, "hvarm initramfs", BOOT);
    let at = c.wait_for(b, PROMPT, BOOT);
    (c, at)
}

fn run_line(c: &mut Console, at: usize, line: &str) -> (String, usize) {
    c.send(line);
    let limit = c.start.elapsed() + CMD;
    let after = c.wait_for(at, PROMPT, limit);
    let t = c.text();
    let ans = t[at..after - PROMPT.len()]
        .split_once('\n')
        .map_or("", |(_, r)| r)
        .trim();
    (last(ans).to_string(), after)
}

/// An ext4 file written and synced survives kill -9 of the launcher; while the image
/// is in use a second launcher refuses it with a one-line error, leaving it untouched.
#[test]
fn blk_persists_across_kill_and_locks() {
    let img = scratch("fs.img");
    std::fs::write(&img, vec![0u8; 96 << 20]).unwrap();
    let mk = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
        .arg(&img)
        .status()
        .expect("mkfs.ext4 (e2fsprogs)");
    assert!(mk.success());
    let (mut c, at) = boot_console(&img);
    let (a, at) = run_line(
        &mut c,
        at,
        "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo mounted",
    );
    assert_eq!(a, "mounted", "{}", c.text());
    let (a, at) = run_line(
        &mut c,
        at,
        "dd if=/dev/urandom of=/mnt/big bs=1M count=64 2>/dev/null",
    );
    let _ = a;
    let (a, at) = run_line(&mut c, at, "sync; sha256sum /mnt/big");
    let sum = a.split_whitespace().next().unwrap_or("").to_string();
    assert_eq!(sum.len(), 64, "{}", c.text());
    // Quiesce the filesystem (no journal commit or writeback can touch the image while
    // its bytes are compared below).
    let (a, at) = run_line(&mut c, at, "mount -o remount,ro /mnt && sync && echo ro");
    assert_eq!(a, "ro", "{}", c.text());
    let _ = at;

    // A second launcher on the same image: refused before anything runs.
    let before = sha256(&std::fs::read(&img).unwrap());
    let second = run_with_timeout(
        {
            let mut cmd = Command::new(workspace_bin("launcher"));
            cmd.arg("-kernel")
                .arg(image())
                .args(["-drive", &drive(&img, "")]);
            cmd
        },
        Duration::from_secs(60),
    );
    assert_eq!(second.code, Some(53), "{second:?}");
    assert_eq!(second.stderr.lines().count(), 1, "{second:?}");
    assert!(
        second.stderr.starts_with("launcher: disk image "),
        "{second:?}"
    );
    assert!(second.stderr.contains("in use"), "{second:?}");
    // Read-only is refused too while a writer holds it.
    let third = run_with_timeout(
        {
            let mut cmd = Command::new(workspace_bin("launcher"));
            cmd.arg("-kernel")
                .arg(image())
                .args(["-drive", &drive(&img, ",readonly=on")]);
            cmd
        },
        Duration::from_secs(60),
    );
    assert_eq!(third.code, Some(53), "{third:?}");
    assert_eq!(
        sha256(&std::fs::read(&img).unwrap()),
        before,
        "image untouched"
    );

    c.child.kill().unwrap(); // SIGKILL
    let _ = c.child.wait();

    let (mut c, at) = boot_console(&img);
    let (a, at) = run_line(
        &mut c,
        at,
        "mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && sha256sum /mnt/big",
    );
    assert_eq!(
        a.split_whitespace().next(),
        Some(sum.as_str()),
        "{}",
        c.text()
    );
    let (_, _) = run_line(&mut c, at, "umount /mnt; echo done");
    c.send("poweroff");
    let st = c.child.wait().unwrap();
    assert_eq!(st.code(), Some(0));
    let fsck = Command::new("e2fsck")
        .args(["-f", "-n"])
        .arg(&img)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "fsck after a clean unmount: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let _ = std::fs::remove_file(&img);
}

/// Bad -drive / -device / -nic inputs: one line on stderr, a distinct status, no VM.
#[test]
fn bad_device_options() {
    let dir = scratch("a-directory");
    std::fs::create_dir_all(&dir).unwrap();
    let file = scratch("plain");
    std::fs::write(&file, b"x").unwrap();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec!["-drive".into(), "file=/nonexistent/disk.img".into()],
            51,
            "cannot open disk image",
        ),
        (
            vec!["-drive".into(), format!("file={}/sub", file.display())],
            51,
            "cannot open disk image",
        ),
        (
            vec!["-drive".into(), format!("file={}", dir.display())],
            52,
            "is not a regular file",
        ),
        (
            vec!["-drive".into(), "if=virtio".into()],
            50,
            "file=PATH is missing",
        ),
        (
            vec!["-drive".into(), "file=x,format=qcow2".into()],
            50,
            "only raw",
        ),
        (
            vec!["-drive".into(), "file=x,bogus=1".into()],
            50,
            "unsupported key",
        ),
        (
            vec!["-device".into(), "virtio-gpu-device".into()],
            50,
            "not supported",
        ),
        (
            vec!["-nic".into(), "tap".into()],
            50,
            "only user networking",
        ),
        (
            vec!["-nic".into(), "user,hostfwd=tcp::x-:22".into()],
            50,
            "bad hostfwd",
        ),
        (
            vec!["-smp".into(), "2".into()],
            2,
            "unsupported option '-smp'",
        ),
        (vec!["--frobnicate".into()], 2, "unexpected argument"),
    ];
    // A hostfwd whose host port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut cases = cases;
    cases.push((
        vec![
            "-nic".into(),
            format!("user,hostfwd=tcp:127.0.0.1:{port}-:80"),
        ],
        54,
        "cannot forward tcp:127.0.0.1",
    ));
    cases.push((
        vec![
            "-netdev".into(),
            format!("user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:80"),
            "-device".into(),
            "virtio-net-device,netdev=n0".into(),
        ],
        54,
        "is the port in use",
    ));
    cases.push((
        vec!["-netdev".into(), "user,id=n0".into()],
        50,
        "no -device",
    ));
    for (args, code, needle) in cases {
        let mut cmd = Command::new(workspace_bin("launcher"));
        cmd.arg("-kernel").arg(image()).args(&args);
        let out = run_with_timeout(cmd, Duration::from_secs(60));
        assert_eq!(out.code, Some(code), "{args:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("launcher: "), "{args:?}: {out:?}");
        assert!(out.stderr.contains(needle), "{args:?}: {out:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&file);
}

/// A free TCP port on the loopback interface (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// User networking: DHCP gives QEMU's addresses, the guest fetches a page from a
/// host server through the gateway 10.0.2.2, and the host fetches a page from the
/// guest's busybox httpd through a hostfwd rule.
#[test]
fn net_user_dhcp_wget_and_hostfwd() {
    use std::io::{Read, Write};
    // The host's server: answers every connection with one fixed page.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in server.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let body = "served-by-the-host\n";
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let fwd = free_port();
    let nic = format!("user,hostfwd=tcp:127.0.0.1:{fwd}-:80");
    let mut c = Console::spawn(launcher(&["-nic", &nic]));
    let b = c.wait_for(0, "hvarm initramfs", BOOT);
    let at = c.wait_for(b, PROMPT, BOOT);
    let (_, at) = run_line(&mut c, at, "udhcpc -i eth0 -q -n -t 5 -T 2 2>&1 | tail -1");
    let (a, at) = run_line(&mut c, at, "ifconfig eth0 | grep -o 'inet addr:[0-9.]*'");
    assert_eq!(a, "inet addr:10.0.2.15", "{}", c.text());
    let (a, at) = run_line(&mut c, at, "route -n | grep -c '^0.0.0.0 *10.0.2.2'");
    assert_eq!(a, "1", "{}", c.text());
    let (a, at) = run_line(&mut c, at, "cat /etc/resolv.conf");
    assert_eq!(a, "nameserver 10.0.2.3", "{}", c.text());
    let (a, at) = run_line(&mut c, at, &format!("wget -q -O - http://10.0.2.2:{port}/"));
    assert_eq!(a, "served-by-the-host", "{}", c.text());
    let (_, at) = run_line(
        &mut c,
        at,
        "mkdir -p /www; echo served-by-the-guest >/www/index.html",
    );
    let (a, at) = run_line(&mut c, at, "httpd -p 80 -h /www; echo started");
    assert_eq!(a, "started");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", fwd)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n").unwrap();
    let mut page = String::new();
    let _ = s.read_to_string(&mut page);
    assert!(
        page.starts_with("HTTP/1.") && page.contains(" 200 "),
        "{page}"
    );
    assert!(page.ends_with("served-by-the-guest\n"), "{page}");
    let _ = at;
    c.send("poweroff");
    let st = c.child.wait().unwrap();
    assert_eq!(st.code(), Some(0), "{}", c.text());
}
