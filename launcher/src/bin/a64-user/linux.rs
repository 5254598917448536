//! Linux system calls for static AArch64 programs, implemented on the host.
//!
//! File descriptors are passed through to the host (guest fd = host fd); structures whose
//! layouts differ between aarch64 and x86-64 (struct stat, open flags) are converted.

use crate::mem::{GuestMem, PAGE, PROT_READ, PROT_WRITE};
use a64::state::Cpu;
use std::collections::HashSet;

const EPERM: i64 = 1;
const ENOENT: i64 = 2;
const EBADF: i64 = 9;
const EAGAIN: i64 = 11;
const ENOMEM: i64 = 12;
const EFAULT: i64 = 14;
const EEXIST: i64 = 17;
const EINVAL: i64 = 22;
const ENOTTY: i64 = 25;
const ERANGE: i64 = 34;
const ENOSYS: i64 = 38;

/// Largest mapping we create at once (pages are tracked one by one).
const MAX_MAP: u64 = 1 << 32;

/// Largest single I/O transfer we buffer at once.
const MAX_IO: u64 = 1 << 24;

pub struct Linux {
    pub brk_start: u64,
    pub brk: u64,
    mmap_low: u64,
    pub exe_path: String,
    warned: HashSet<u64>,
    /// Set when code pages may have changed (munmap/mprotect/mmap over code).
    pub code_changed: bool,
    /// Print every system call on stderr (`A64_STRACE=1`).
    pub strace: bool,
    /// SIGPIPE has its default disposition (terminate).
    sigpipe_default: bool,
}

fn errno() -> i64 {
    -(std::io::Error::last_os_error().raw_os_error().unwrap_or(5) as i64)
}

fn host(r: i64) -> i64 {
    if r < 0 {
        errno()
    } else {
        r
    }
}

// aarch64 open flags that differ from x86-64.
const A_O_DIRECTORY: u64 = 0o40000;
const A_O_NOFOLLOW: u64 = 0o100000;
const A_O_DIRECT: u64 = 0o200000;
const A_O_LARGEFILE: u64 = 0o400000;

fn open_flags_to_host(f: u64) -> i32 {
    let mut h = f & !(A_O_DIRECTORY | A_O_NOFOLLOW | A_O_DIRECT | A_O_LARGEFILE);
    if f & A_O_DIRECTORY != 0 {
        h |= libc::O_DIRECTORY as u64;
    }
    if f & A_O_NOFOLLOW != 0 {
        h |= libc::O_NOFOLLOW as u64;
    }
    if f & A_O_DIRECT != 0 {
        h |= libc::O_DIRECT as u64;
    }
    h as i32
}

fn open_flags_to_guest(h: i64) -> i64 {
    let hu = h as u64;
    let mut g =
        hu & !((libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_DIRECT | libc::O_LARGEFILE) as u64);
    if hu & libc::O_DIRECTORY as u64 != 0 {
        g |= A_O_DIRECTORY;
    }
    if hu & libc::O_NOFOLLOW as u64 != 0 {
        g |= A_O_NOFOLLOW;
    }
    if hu & libc::O_DIRECT as u64 != 0 {
        g |= A_O_DIRECT;
    }
    g as i64
}

/// struct stat in the aarch64 (asm-generic) layout, 128 bytes.
fn stat_to_guest(st: &libc::stat) -> [u8; 128] {
    let mut b = [0u8; 128];
    let mut put =
        |off: usize, v: u64, n: usize| b[off..off + n].copy_from_slice(&v.to_le_bytes()[..n]);
    put(0, st.st_dev, 8);
    put(8, st.st_ino, 8);
    put(16, st.st_mode as u64, 4);
    put(20, st.st_nlink as u32 as u64, 4);
    put(24, st.st_uid as u64, 4);
    put(28, st.st_gid as u64, 4);
    put(32, st.st_rdev, 8);
    put(48, st.st_size as u64, 8);
    put(56, st.st_blksize as u32 as u64, 4);
    put(64, st.st_blocks as u64, 8);
    put(72, st.st_atime as u64, 8);
    put(80, st.st_atime_nsec as u64, 8);
    put(88, st.st_mtime as u64, 8);
    put(96, st.st_mtime_nsec as u64, 8);
    put(104, st.st_ctime as u64, 8);
    put(112, st.st_ctime_nsec as u64, 8);
    b
}

/// The outcome of a system call.
#[derive(Clone, Copy)]
pub enum Outcome {
    /// Continue with this value in X0.
    Ret(i64),
    /// The program exits with this status.
    Exit(i32),
    /// The program is terminated by this signal (default action).
    Signal(i32),
}

impl Linux {
    pub fn new(brk: u64, exe_path: String) -> Self {
        Linux {
            brk_start: brk,
            brk,
            mmap_low: 0x7fff_b000_0000,
            exe_path,
            warned: HashSet::new(),
            code_changed: false,
            strace: std::env::var_os("A64_STRACE").is_some(),
            sigpipe_default: true,
        }
    }

    /// Reads a path argument; `/proc/self/exe` names the guest program, not the runner.
    fn cpath(&self, mem: &mut GuestMem, addr: u64) -> Result<std::ffi::CString, i64> {
        let mut v = mem.read_cstr(addr, 4096).map_err(|_| -EFAULT)?;
        if v == b"/proc/self/exe" {
            v = self.exe_path.clone().into_bytes();
        }
        std::ffi::CString::new(v).map_err(|_| -EINVAL)
    }

    fn find_free(&mut self, mem: &GuestMem, len: u64) -> Option<u64> {
        if len > MAX_MAP {
            return None;
        }
        let mut cand = self.mmap_low.checked_sub(len)? & !(PAGE - 1);
        for _ in 0..1024 {
            if cand < 0x1000_0000 {
                return None;
            }
            if !mem.any_mapped(cand, len) {
                self.mmap_low = cand;
                return Some(cand);
            }
            cand = cand.saturating_sub(len.max(1 << 20));
        }
        None
    }

    /// Executes the system call in X8 with arguments X0..X5.
    pub fn syscall(&mut self, cpu: &mut Cpu, mem: &mut GuestMem) -> Outcome {
        let nr = cpu.x[8];
        let a = [cpu.x[0], cpu.x[1], cpu.x[2], cpu.x[3], cpu.x[4], cpu.x[5]];
        let mut out = match self.dispatch(nr, a, cpu, mem) {
            Ok(o) => o,
            Err(e) => Outcome::Ret(e),
        };
        const EPIPE: i64 = 32;
        if matches!(out, Outcome::Ret(r) if r == -EPIPE)
            && matches!(nr, 64 | 66 | 68)
            && self.sigpipe_default
        {
            out = Outcome::Signal(libc::SIGPIPE);
        }
        if self.strace {
            match out {
                Outcome::Ret(r) => eprintln!(
                    "a64-user: syscall {nr}({:#x}, {:#x}, {:#x}, {:#x}) = {r}",
                    a[0], a[1], a[2], a[3]
                ),
                Outcome::Exit(c) => eprintln!("a64-user: syscall {nr}({:#x}) = exit {c}", a[0]),
                Outcome::Signal(c) => eprintln!("a64-user: syscall {nr}({:#x}) = signal {c}", a[0]),
            }
        }
        out
    }

    fn dispatch(
        &mut self,
        nr: u64,
        a: [u64; 6],
        cpu: &mut Cpu,
        mem: &mut GuestMem,
    ) -> Result<Outcome, i64> {
        let ok = |v: i64| Ok(Outcome::Ret(v));
        let fd = a[0] as i32;
        match nr {
            // read
            63 => {
                let n = a[2].min(MAX_IO) as usize;
                let mut buf = vec![0u8; n];
                // SAFETY: buf is a valid writable buffer of n bytes.
                let r = host(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), n) } as i64);
                if r > 0 {
                    mem.write_bytes(a[1], &buf[..r as usize], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // pread64
            67 => {
                let n = a[2].min(MAX_IO) as usize;
                let mut buf = vec![0u8; n];
                // SAFETY: buf is a valid writable buffer of n bytes.
                let r = host(
                    unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), n, a[3] as i64) } as i64,
                );
                if r > 0 {
                    mem.write_bytes(a[1], &buf[..r as usize], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // write, pwrite64
            64 | 68 => {
                let n = a[2].min(MAX_IO) as usize;
                let mut buf = vec![0u8; n];
                mem.read_bytes(a[1], &mut buf, PROT_READ)
                    .map_err(|_| -EFAULT)?;
                let r = if nr == 64 {
                    // SAFETY: buf is a valid readable buffer of n bytes.
                    unsafe { libc::write(fd, buf.as_ptr().cast(), n) }
                } else {
                    // SAFETY: buf is a valid readable buffer of n bytes.
                    unsafe { libc::pwrite(fd, buf.as_ptr().cast(), n, a[3] as i64) }
                };
                ok(host(r as i64))
            }
            // readv, writev
            65 | 66 => {
                let cnt = a[2].min(1024);
                let mut iov = Vec::new();
                for i in 0..cnt {
                    let base = mem.read_u64(a[1] + 16 * i).map_err(|_| -EFAULT)?;
                    let len = mem.read_u64(a[1] + 16 * i + 8).map_err(|_| -EFAULT)?;
                    iov.push((base, len.min(MAX_IO)));
                }
                if nr == 66 {
                    let mut buf = Vec::new();
                    for &(base, len) in &iov {
                        let s = buf.len();
                        buf.resize(s + len as usize, 0);
                        mem.read_bytes(base, &mut buf[s..], PROT_READ)
                            .map_err(|_| -EFAULT)?;
                    }
                    // SAFETY: buf is a valid readable buffer of buf.len() bytes.
                    ok(host(
                        unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) } as i64,
                    ))
                } else {
                    let total: u64 = iov.iter().map(|x| x.1).sum();
                    let mut buf = vec![0u8; total as usize];
                    // SAFETY: buf is a valid writable buffer of buf.len() bytes.
                    let r =
                        host(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) } as i64);
                    if r > 0 {
                        let mut off = 0usize;
                        for &(base, len) in &iov {
                            if off >= r as usize {
                                break;
                            }
                            let n = (len as usize).min(r as usize - off);
                            mem.write_bytes(base, &buf[off..off + n], PROT_WRITE)
                                .map_err(|_| -EFAULT)?;
                            off += n;
                        }
                    }
                    ok(r)
                }
            }
            // openat
            56 => {
                let p = self.cpath(mem, a[1])?;
                // SAFETY: p is a valid NUL-terminated string.
                ok(host(unsafe {
                    libc::openat(
                        a[0] as i32,
                        p.as_ptr(),
                        open_flags_to_host(a[2]),
                        a[3] as libc::c_uint,
                    )
                } as i64))
            }
            // close
            57 => {
                // SAFETY: closing a guest-owned descriptor number (guest fds are host fds).
                ok(host(unsafe { libc::close(fd) } as i64))
            }
            // lseek
            62 => {
                // SAFETY: plain syscall on integers.
                ok(host(unsafe { libc::lseek(fd, a[1] as i64, a[2] as i32) }))
            }
            // fstat
            80 => {
                // SAFETY: zeroed is a valid libc::stat.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                // SAFETY: st is a valid writable stat buffer.
                let r = host(unsafe { libc::fstat(fd, &mut st) } as i64);
                if r == 0 {
                    mem.write_bytes(a[1], &stat_to_guest(&st), PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // newfstatat
            79 => {
                let p = self.cpath(mem, a[1])?;
                // SAFETY: zeroed is a valid libc::stat.
                let mut st: libc::stat = unsafe { std::mem::zeroed() };
                // SAFETY: p is NUL-terminated, st a valid buffer.
                let r = host(
                    unsafe { libc::fstatat(a[0] as i32, p.as_ptr(), &mut st, a[3] as i32) } as i64,
                );
                if r == 0 {
                    mem.write_bytes(a[2], &stat_to_guest(&st), PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // faccessat, faccessat2
            48 | 439 => {
                let p = self.cpath(mem, a[1])?;
                let flags = if nr == 439 { a[3] as i32 } else { 0 };
                // SAFETY: p is NUL-terminated.
                ok(host(
                    unsafe { libc::faccessat(a[0] as i32, p.as_ptr(), a[2] as i32, flags) } as i64,
                ))
            }
            // readlinkat
            78 => {
                let raw = mem.read_cstr(a[1], 4096).map_err(|_| -EFAULT)?;
                let p = self.cpath(mem, a[1])?;
                let target: Vec<u8> = if raw == b"/proc/self/exe" {
                    std::fs::canonicalize(&self.exe_path)
                        .map(|x| x.into_os_string().into_encoded_bytes())
                        .unwrap_or_else(|_| self.exe_path.clone().into_bytes())
                } else {
                    let mut buf = vec![0u8; 4096];
                    // SAFETY: p is NUL-terminated; buf is writable for 4096 bytes.
                    let r = host(unsafe {
                        libc::readlinkat(
                            a[0] as i32,
                            p.as_ptr(),
                            buf.as_mut_ptr().cast(),
                            buf.len(),
                        )
                    } as i64);
                    if r < 0 {
                        return ok(r);
                    }
                    buf.truncate(r as usize);
                    buf
                };
                let n = target.len().min(a[3] as usize);
                mem.write_bytes(a[2], &target[..n], PROT_WRITE)
                    .map_err(|_| -EFAULT)?;
                ok(n as i64)
            }
            // getcwd
            17 => {
                let cwd = std::env::current_dir().map_err(|_| -ENOENT)?;
                let mut v = cwd.into_os_string().into_encoded_bytes();
                v.push(0);
                if v.len() as u64 > a[1] {
                    return ok(-ERANGE);
                }
                mem.write_bytes(a[0], &v, PROT_WRITE).map_err(|_| -EFAULT)?;
                ok(v.len() as i64)
            }
            // dup
            // SAFETY: plain syscall on integers.
            23 => ok(host(unsafe { libc::dup(fd) } as i64)),
            // dup3
            // SAFETY: plain syscall on integers.
            24 => ok(host(
                unsafe { libc::dup3(fd, a[1] as i32, a[2] as i32) } as i64
            )),
            // fcntl
            25 => {
                let cmd = a[1] as i32;
                match cmd {
                    libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_GETFD | libc::F_SETFD => {
                        // SAFETY: integer-argument fcntl commands.
                        ok(host(unsafe { libc::fcntl(fd, cmd, a[2] as i32) } as i64))
                    }
                    libc::F_GETFL => {
                        // SAFETY: integer-argument fcntl command.
                        let r = host(unsafe { libc::fcntl(fd, cmd) } as i64);
                        ok(if r < 0 { r } else { open_flags_to_guest(r) })
                    }
                    libc::F_SETFL => {
                        // SAFETY: integer-argument fcntl command.
                        ok(host(
                            unsafe { libc::fcntl(fd, cmd, open_flags_to_host(a[2])) } as i64,
                        ))
                    }
                    _ => ok(-EINVAL),
                }
            }
            // ioctl: no terminals.
            29 => ok(-ENOTTY),
            // mkdirat
            34 => {
                let p = self.cpath(mem, a[1])?;
                // SAFETY: p is NUL-terminated.
                ok(host(
                    unsafe { libc::mkdirat(a[0] as i32, p.as_ptr(), a[2] as libc::mode_t) } as i64,
                ))
            }
            // unlinkat
            35 => {
                let p = self.cpath(mem, a[1])?;
                // SAFETY: p is NUL-terminated.
                ok(host(
                    unsafe { libc::unlinkat(a[0] as i32, p.as_ptr(), a[2] as i32) } as i64,
                ))
            }
            // renameat, renameat2 (flags 0 only)
            38 | 276 => {
                if nr == 276 && a[4] != 0 {
                    return ok(-EINVAL);
                }
                let p = self.cpath(mem, a[1])?;
                let q = self.cpath(mem, a[3])?;
                // SAFETY: p, q are NUL-terminated.
                ok(host(
                    unsafe { libc::renameat(a[0] as i32, p.as_ptr(), a[2] as i32, q.as_ptr()) }
                        as i64,
                ))
            }
            // chdir
            49 => {
                let p = self.cpath(mem, a[0])?;
                // SAFETY: p is NUL-terminated.
                ok(host(unsafe { libc::chdir(p.as_ptr()) } as i64))
            }
            // fchdir
            // SAFETY: plain syscall on integers.
            50 => ok(host(unsafe { libc::fchdir(fd) } as i64)),
            // clone: process-style only (fork / vfork semantics via a host fork).
            220 => {
                const CLONE_VM: u64 = 0x100;
                const CLONE_VFORK: u64 = 0x4000;
                const CLONE_THREAD: u64 = 0x10000;
                let flags = a[0];
                if flags & CLONE_THREAD != 0 || (flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0)
                {
                    return ok(-ENOSYS);
                }
                let _ = std::io::Write::flush(&mut std::io::stdout());
                // SAFETY: the runner is single-threaded; the child continues the same
                // interpreter loop with a copy of the guest state.
                let pid = host(unsafe { libc::fork() } as i64);
                if pid == 0 {
                    if a[1] != 0 {
                        cpu.sp = a[1];
                    }
                    const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
                    if flags & CLONE_CHILD_SETTID != 0 && a[3] != 0 {
                        let me = std::process::id().to_le_bytes();
                        let _ = mem.write_bytes(a[3], &me, PROT_WRITE);
                    }
                }
                ok(pid)
            }
            // execve: re-run a64-user on the new program (argv[0] kept via --argv0).
            221 => {
                let path = self.cpath(mem, a[0])?;
                let read_vec =
                    |mem: &mut GuestMem, mut p: u64| -> Result<Vec<std::ffi::CString>, i64> {
                        let mut v = Vec::new();
                        if p == 0 {
                            return Ok(v);
                        }
                        loop {
                            let s = mem.read_u64(p).map_err(|_| -EFAULT)?;
                            if s == 0 || v.len() > 65536 {
                                return Ok(v);
                            }
                            let b = mem.read_cstr(s, 1 << 20).map_err(|_| -EFAULT)?;
                            v.push(std::ffi::CString::new(b).map_err(|_| -EINVAL)?);
                            p += 8;
                        }
                    };
                let argv = read_vec(mem, a[1])?;
                let envp = read_vec(mem, a[2])?;
                // SAFETY: path is NUL-terminated.
                if unsafe { libc::access(path.as_ptr(), libc::R_OK) } != 0 {
                    return ok(errno());
                }
                let me = std::env::current_exe().map_err(|_| -ENOENT)?;
                let me = std::ffi::CString::new(me.into_os_string().into_encoded_bytes())
                    .map_err(|_| -EINVAL)?;
                let mut args = vec![me.clone(), c"--argv0".to_owned()];
                args.push(argv.first().cloned().unwrap_or_else(|| path.clone()));
                args.push(path.clone());
                args.extend(argv.iter().skip(1).cloned());
                let mut aptr: Vec<*const libc::c_char> = args.iter().map(|c| c.as_ptr()).collect();
                aptr.push(std::ptr::null());
                let mut eptr: Vec<*const libc::c_char> = envp.iter().map(|c| c.as_ptr()).collect();
                eptr.push(std::ptr::null());
                let _ = std::io::Write::flush(&mut std::io::stdout());
                // SAFETY: all pointers are valid NUL-terminated strings; arrays end in NULL.
                unsafe { libc::execve(me.as_ptr(), aptr.as_ptr(), eptr.as_ptr()) };
                ok(errno())
            }
            // wait4
            260 => {
                let mut st: i32 = 0;
                // SAFETY: st is a valid int; rusage is not requested from the host.
                let r = host(unsafe {
                    libc::wait4(a[0] as i32, &mut st, a[2] as i32, std::ptr::null_mut())
                } as i64);
                if r > 0 && a[1] != 0 {
                    mem.write_bytes(a[1], &st.to_le_bytes(), PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                if r > 0 && a[3] != 0 {
                    mem.write_bytes(a[3], &[0u8; 144], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // setpgid, getpgid, getsid, setsid
            // SAFETY: plain syscalls on integers.
            154 => ok(host(
                unsafe { libc::setpgid(a[0] as i32, a[1] as i32) } as i64
            )),
            // SAFETY: plain syscalls on integers.
            155 => ok(host(unsafe { libc::getpgid(a[0] as i32) } as i64)),
            // SAFETY: plain syscalls on integers.
            156 => ok(host(unsafe { libc::getsid(a[0] as i32) } as i64)),
            // SAFETY: plain syscalls on integers.
            157 => ok(host(unsafe { libc::setsid() } as i64)),
            // rseq: not provided (glibc copes with ENOSYS silently).
            293 => ok(-ENOSYS),
            // ftruncate
            // SAFETY: plain syscall on integers.
            46 => ok(host(unsafe { libc::ftruncate(fd, a[1] as i64) } as i64)),
            // fchmod
            // SAFETY: plain syscall on integers.
            52 => ok(host(
                unsafe { libc::fchmod(fd, a[1] as libc::mode_t) } as i64
            )),
            // fchmodat
            53 => {
                let p = self.cpath(mem, a[1])?;
                // SAFETY: p is NUL-terminated.
                ok(host(
                    unsafe { libc::fchmodat(a[0] as i32, p.as_ptr(), a[2] as libc::mode_t, 0) }
                        as i64,
                ))
            }
            // pipe2
            59 => {
                let mut fds = [0i32; 2];
                // SAFETY: fds is a valid 2-element array.
                let r =
                    host(unsafe { libc::pipe2(fds.as_mut_ptr(), open_flags_to_host(a[1])) } as i64);
                if r == 0 {
                    let mut b = [0u8; 8];
                    b[..4].copy_from_slice(&fds[0].to_le_bytes());
                    b[4..].copy_from_slice(&fds[1].to_le_bytes());
                    mem.write_bytes(a[0], &b, PROT_WRITE).map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // getdents64: the record layout is the same on both architectures.
            61 => {
                let n = a[2].min(MAX_IO) as usize;
                let mut buf = vec![0u8; n];
                // SAFETY: buf is writable for n bytes.
                let r =
                    host(unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), n) });
                if r > 0 {
                    mem.write_bytes(a[1], &buf[..r as usize], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // exit, exit_group
            93 | 94 => Ok(Outcome::Exit((a[0] & 0xff) as i32)),
            // set_tid_address
            96 => ok(std::process::id() as i64),
            // futex: single thread.
            98 => {
                let op = a[1] & 127;
                if op == 0 || op == 9 {
                    let mut b = [0u8; 4];
                    mem.read_bytes(a[0], &mut b, PROT_READ)
                        .map_err(|_| -EFAULT)?;
                    if u32::from_le_bytes(b) != a[2] as u32 {
                        return ok(-EAGAIN);
                    }
                    return ok(-110); // ETIMEDOUT: nobody else could wake us
                }
                ok(0)
            }
            // set_robust_list, sigaltstack, rt_sigprocmask, sched_yield, madvise(other), prctl
            99 | 132 | 124 | 167 => ok(0),
            135 => {
                if a[2] != 0 {
                    mem.write_bytes(a[2], &[0u8; 8], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(0)
            }
            // rt_sigaction
            134 => {
                // Handlers are not delivered; only SIGPIPE's disposition matters (a write
                // to a broken pipe kills the guest unless it ignores or handles SIGPIPE).
                if a[0] == 13 && a[1] != 0 {
                    let h = mem.read_u64(a[1]).map_err(|_| -EFAULT)?;
                    self.sigpipe_default = h == 0;
                }
                if a[2] != 0 {
                    mem.write_bytes(a[2], &[0u8; 32], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(0)
            }
            // clock_gettime, clock_getres
            113 | 114 => {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: ts is a valid timespec.
                let r = host(unsafe {
                    if nr == 113 {
                        libc::clock_gettime(a[0] as i32, &mut ts)
                    } else {
                        libc::clock_getres(a[0] as i32, &mut ts)
                    }
                } as i64);
                if r == 0 && a[1] != 0 {
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&ts.tv_sec.to_le_bytes());
                    b[8..].copy_from_slice(&ts.tv_nsec.to_le_bytes());
                    mem.write_bytes(a[1], &b, PROT_WRITE).map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // gettimeofday
            169 => {
                let d = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                if a[0] != 0 {
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&d.as_secs().to_le_bytes());
                    b[8..].copy_from_slice(&(d.subsec_micros() as u64).to_le_bytes());
                    mem.write_bytes(a[0], &b, PROT_WRITE).map_err(|_| -EFAULT)?;
                }
                ok(0)
            }
            // sched_setaffinity: accepted, no effect.
            122 => ok(0),
            // sched_getaffinity: the host's mask.
            123 => {
                let n = a[1].min(1024) as usize;
                let mut b = vec![0u8; n];
                // SAFETY: b is writable for n bytes.
                let r = host(unsafe {
                    libc::syscall(libc::SYS_sched_getaffinity, 0, n, b.as_mut_ptr())
                });
                if r > 0 {
                    mem.write_bytes(a[2], &b[..r as usize], PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // getgroups
            158 => {
                let n = a[0].min(65536) as usize;
                let mut g = vec![0 as libc::gid_t; n];
                // SAFETY: g has room for n gids.
                let r = host(unsafe { libc::getgroups(n as i32, g.as_mut_ptr()) } as i64);
                if r > 0 && n > 0 {
                    let bytes: Vec<u8> = g[..r as usize]
                        .iter()
                        .flat_map(|x| x.to_le_bytes())
                        .collect();
                    mem.write_bytes(a[1], &bytes, PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // kill, tkill, tgkill: signals to ourselves terminate like the default action.
            129..=131 => {
                let (pid, sig) = if nr == 131 {
                    (a[1], a[2])
                } else {
                    (a[0], a[1])
                };
                let me = std::process::id() as u64;
                if nr == 129 && pid as i64 != me as i64 && pid != 0 {
                    // SAFETY: plain kill(2) on integers.
                    return ok(host(unsafe { libc::kill(pid as i32, sig as i32) } as i64));
                }
                if sig == 0 {
                    return ok(0);
                }
                Ok(Outcome::Signal(sig as i32))
            }
            // uname
            160 => {
                let mut u = [0u8; 65 * 6];
                // SAFETY: zeroed utsname is valid.
                let mut h: libc::utsname = unsafe { std::mem::zeroed() };
                // SAFETY: h is a valid utsname buffer.
                unsafe { libc::uname(&mut h) };
                let copy = |dst: &mut [u8], src: &[libc::c_char]| {
                    for (d, s) in dst.iter_mut().zip(src.iter().take(64)) {
                        *d = *s as u8;
                    }
                };
                copy(&mut u[0..65], &h.sysname);
                copy(&mut u[65..130], &h.nodename);
                copy(&mut u[130..195], &h.release);
                copy(&mut u[195..260], &h.version);
                u[260..267].copy_from_slice(b"aarch64");
                copy(&mut u[325..390], &h.domainname);
                mem.write_bytes(a[0], &u, PROT_WRITE).map_err(|_| -EFAULT)?;
                ok(0)
            }
            // getrlimit, prlimit64
            163 | 261 => {
                let (res, new, old) = if nr == 163 {
                    (a[0], 0, a[1])
                } else {
                    (a[1], a[2], a[3])
                };
                if nr == 261 && a[0] != 0 && a[0] as u32 != std::process::id() {
                    return ok(-EPERM);
                }
                let _ = new;
                if old != 0 {
                    let mut rl = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    // SAFETY: rl is a valid rlimit buffer.
                    let r = host(unsafe { libc::getrlimit(res as _, &mut rl) } as i64);
                    if r < 0 {
                        return ok(r);
                    }
                    let mut b = [0u8; 16];
                    b[..8].copy_from_slice(&rl.rlim_cur.to_le_bytes());
                    b[8..].copy_from_slice(&rl.rlim_max.to_le_bytes());
                    mem.write_bytes(old, &b, PROT_WRITE).map_err(|_| -EFAULT)?;
                }
                ok(0)
            }
            // getrusage
            165 => {
                mem.write_bytes(a[1], &[0u8; 144], PROT_WRITE)
                    .map_err(|_| -EFAULT)?;
                ok(0)
            }
            // umask
            // SAFETY: plain syscall.
            166 => ok(unsafe { libc::umask(a[0] as libc::mode_t) } as i64),
            // getpid, gettid
            172 | 178 => ok(std::process::id() as i64),
            // SAFETY: plain syscalls without arguments.
            173 => ok(unsafe { libc::getppid() } as i64),
            // SAFETY: plain syscalls without arguments.
            174 => ok(unsafe { libc::getuid() } as i64),
            // SAFETY: plain syscalls without arguments.
            175 => ok(unsafe { libc::geteuid() } as i64),
            // SAFETY: plain syscalls without arguments.
            176 => ok(unsafe { libc::getgid() } as i64),
            // SAFETY: plain syscalls without arguments.
            177 => ok(unsafe { libc::getegid() } as i64),
            // sysinfo: same layout on both architectures.
            179 => {
                // SAFETY: zeroed sysinfo is valid.
                let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
                // SAFETY: si is a valid sysinfo buffer.
                let r = host(unsafe { libc::sysinfo(&mut si) } as i64);
                if r == 0 {
                    // SAFETY: reading the plain-old-data bytes of si.
                    let bytes = unsafe {
                        std::slice::from_raw_parts(
                            (&si as *const libc::sysinfo).cast::<u8>(),
                            std::mem::size_of::<libc::sysinfo>(),
                        )
                    };
                    mem.write_bytes(a[0], bytes, PROT_WRITE)
                        .map_err(|_| -EFAULT)?;
                }
                ok(r)
            }
            // brk
            214 => {
                let want = a[0];
                if want >= self.brk_start && want < self.brk_start + (1 << 32) {
                    let old_end = self.brk.div_ceil(PAGE) * PAGE;
                    let new_end = want.div_ceil(PAGE) * PAGE;
                    if new_end > old_end {
                        if mem.any_mapped(old_end, new_end - old_end) {
                            return ok(self.brk as i64);
                        }
                        mem.map(old_end, new_end - old_end, PROT_READ | PROT_WRITE);
                    } else if new_end < old_end {
                        mem.unmap(new_end, old_end - new_end);
                    }
                    self.brk = want;
                }
                ok(self.brk as i64)
            }
            // munmap
            215 => {
                if !a[0].is_multiple_of(PAGE) || a[1] == 0 || a[1] > 1 << 47 {
                    return ok(-EINVAL);
                }
                let len = a[1].div_ceil(PAGE) * PAGE;
                self.code_changed |= mem.any_exec(a[0], len);
                mem.unmap(a[0], len);
                ok(0)
            }
            // mremap
            216 => self.mremap(a, mem),
            // mmap
            222 => self.mmap(a, mem),
            // mprotect
            226 => {
                if !a[0].is_multiple_of(PAGE) || a[1] > MAX_MAP {
                    return ok(-EINVAL);
                }
                let len = a[1].div_ceil(PAGE) * PAGE;
                self.code_changed |= mem.any_exec(a[0], len);
                ok(if mem.protect(a[0], len, (a[2] & 7) as u8) {
                    0
                } else {
                    -ENOMEM
                })
            }
            // madvise
            233 => {
                if a[2] == 4 && a[1] <= MAX_MAP {
                    mem.discard(a[0], a[1].div_ceil(PAGE) * PAGE);
                }
                ok(0)
            }
            // getrandom
            278 => {
                let n = a[1].min(MAX_IO) as usize;
                let mut buf = vec![0u8; n];
                crate::loader::getrandom(&mut buf);
                mem.write_bytes(a[0], &buf, PROT_WRITE)
                    .map_err(|_| -EFAULT)?;
                ok(n as i64)
            }
            _ => {
                if self.warned.insert(nr) {
                    eprintln!(
                        "a64-user: unimplemented syscall {nr} (pc {:#x})",
                        cpu.pc.wrapping_sub(4)
                    );
                }
                ok(-ENOSYS)
            }
        }
    }

    fn mmap(&mut self, a: [u64; 6], mem: &mut GuestMem) -> Result<Outcome, i64> {
        let (addr, len, prot, flags, fd, off) =
            (a[0], a[1], (a[2] & 7) as u8, a[3], a[4] as i32, a[5]);
        if len == 0 || off % PAGE != 0 {
            return Ok(Outcome::Ret(-EINVAL));
        }
        let len = len.checked_add(PAGE - 1).ok_or(-ENOMEM)? & !(PAGE - 1);
        if len > MAX_MAP || addr.checked_add(len).is_none_or(|e| e > 1 << 48) {
            return Ok(Outcome::Ret(-ENOMEM));
        }
        let fixed = flags & 0x10 != 0;
        let noreplace = flags & 0x100000 != 0;
        let anon = flags & 0x20 != 0;
        let at = if fixed || noreplace {
            if addr % PAGE != 0 {
                return Ok(Outcome::Ret(-EINVAL));
            }
            if noreplace && mem.any_mapped(addr, len) {
                return Ok(Outcome::Ret(-EEXIST));
            }
            addr
        } else if addr != 0
            && addr % PAGE == 0
            && addr < 0x8000_0000_0000
            && !mem.any_mapped(addr, len)
        {
            addr
        } else {
            match self.find_free(mem, len) {
                Some(x) => x,
                None => return Ok(Outcome::Ret(-ENOMEM)),
            }
        };
        if !anon {
            // SAFETY: fcntl F_GETFD only queries the descriptor.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Ok(Outcome::Ret(-EBADF));
            }
        }
        self.code_changed |= mem.any_exec(at, len);
        mem.map(at, len, prot);
        if !anon {
            let mut buf = vec![0u8; len as usize];
            // SAFETY: buf is writable for len bytes.
            let r = unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off as i64) };
            if r < 0 {
                let e = errno();
                mem.unmap(at, len);
                return Ok(Outcome::Ret(e));
            }
            mem.write_bytes(at, &buf[..r as usize], 0)
                .map_err(|_| -EFAULT)?;
        }
        Ok(Outcome::Ret(at as i64))
    }

    fn mremap(&mut self, a: [u64; 6], mem: &mut GuestMem) -> Result<Outcome, i64> {
        let (old, old_len, new_len, flags) = (a[0], a[1], a[2], a[3]);
        if old % PAGE != 0 || new_len == 0 {
            return Ok(Outcome::Ret(-EINVAL));
        }
        if old_len > MAX_MAP || new_len > MAX_MAP {
            return Ok(Outcome::Ret(-ENOMEM));
        }
        let ol = old_len.div_ceil(PAGE) * PAGE;
        let nl = new_len.div_ceil(PAGE) * PAGE;
        if !mem.all_mapped(old, ol) {
            return Ok(Outcome::Ret(-EFAULT));
        }
        let prot = mem.prot_of(old).unwrap_or(PROT_READ | PROT_WRITE);
        if nl <= ol {
            if nl < ol {
                self.code_changed |= mem.any_exec(old + nl, ol - nl);
                mem.unmap(old + nl, ol - nl);
            }
            return Ok(Outcome::Ret(old as i64));
        }
        if !mem.any_mapped(old + ol, nl - ol) {
            mem.map(old + ol, nl - ol, prot);
            return Ok(Outcome::Ret(old as i64));
        }
        if flags & 1 == 0 {
            return Ok(Outcome::Ret(-ENOMEM));
        }
        let Some(new) = self.find_free(mem, nl) else {
            return Ok(Outcome::Ret(-ENOMEM));
        };
        self.code_changed |= mem.any_exec(old, ol);
        mem.move_pages(old, new, ol);
        mem.map(new + ol, nl - ol, prot);
        Ok(Outcome::Ret(new as i64))
    }
}
