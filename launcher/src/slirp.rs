//! User-mode networking: libslirp (Debian's `libslirp-dev`) through the
//! `libslirp-sys` bindings, on a thread of its own.
//!
//! `libslirp-sys` is the raw binding by libslirp's maintainer; the higher-level
//! `libslirp` crate wraps it with mio 0.6 and a CLI's worth of dependencies, so the
//! few calls we need (create, poll, input, hostfwd) are wrapped here instead.
//!
//! The network is QEMU's: 10.0.2.0/24, the host (gateway) 10.0.2.2, DNS 10.0.2.3,
//! DHCP handing out 10.0.2.15 first. The thread polls slirp's sockets, an eventfd the
//! vCPU thread writes when the guest sent frames, and slirp's timers; frames slirp
//! sends to the guest go into the receive queue ([`NetShared::receive`]) and raise the
//! `VIRTIO` MSI.

use std::ffi::c_void;
use std::net::Ipv4Addr;
use std::os::raw::{c_char, c_int};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kvm_bindings::kvm_msi;
use kvm_ioctls::VmFd;
use libslirp_sys as sys;
use shared_abi::layout::vector;

use crate::devopts::NetSpec;
use crate::error::LaunchError;
use crate::virtio::net::{NetShared, Wake};

/// The guest's side of the network.
pub const NETWORK: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 0);
pub const NETMASK: Ipv4Addr = Ipv4Addr::new(255, 255, 255, 0);
pub const HOST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
pub const DNS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 3);
pub const GUEST: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);

/// Where the MSI goes once the VM exists.
pub type Kick = Arc<Mutex<Option<Arc<VmFd>>>>;

struct Timer {
    cb: sys::SlirpTimerCb,
    opaque: *mut c_void,
    /// Milliseconds on the thread's clock, or None when disarmed.
    expire: Option<i64>,
}

/// The thread's context, behind slirp's `opaque` pointer.
struct Ctx {
    shared: Arc<Mutex<NetShared>>,
    kick: Kick,
    start: Instant,
    timers: Vec<*mut Timer>,
    fds: Vec<libc::pollfd>,
}

impl Ctx {
    fn now_ms(&self) -> i64 {
        (self.start.elapsed().as_millis()).min(i64::MAX as u128) as i64
    }
}

/// Recovers the context from slirp's opaque pointer.
///
/// # Safety
/// `opaque` must be the `Ctx` the thread passed to `slirp_new` (it outlives slirp).
unsafe fn ctx<'a>(opaque: *mut c_void) -> &'a mut Ctx {
    // SAFETY: per the contract above; only the network thread calls back.
    unsafe { &mut *opaque.cast::<Ctx>() }
}

unsafe extern "C" fn send_packet(buf: *const c_void, len: usize, opaque: *mut c_void) -> isize {
    // SAFETY: slirp passes our context and a frame of `len` bytes at `buf`.
    let (c, frame) = unsafe {
        (
            ctx(opaque),
            std::slice::from_raw_parts(buf.cast::<u8>(), len),
        )
    };
    let used = c
        .shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .receive(frame.to_vec());
    if used {
        if let Some(vm) = c.kick.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            let msi = kvm_msi {
                address_lo: 0xfee0_0000,
                data: u32::from(vector::VIRTIO),
                ..Default::default()
            };
            let _ = vm.signal_msi(msi);
        }
    }
    len as isize
}

unsafe extern "C" fn guest_error(_msg: *const c_char, _opaque: *mut c_void) {}

unsafe extern "C" fn clock_get_ns(opaque: *mut c_void) -> i64 {
    // SAFETY: our context.
    let c = unsafe { ctx(opaque) };
    c.start.elapsed().as_nanos().min(i64::MAX as u128) as i64
}

unsafe extern "C" fn timer_new(
    cb: sys::SlirpTimerCb,
    cb_opaque: *mut c_void,
    opaque: *mut c_void,
) -> *mut c_void {
    // SAFETY: our context.
    let c = unsafe { ctx(opaque) };
    let t = Box::into_raw(Box::new(Timer {
        cb,
        opaque: cb_opaque,
        expire: None,
    }));
    c.timers.push(t);
    t.cast()
}

unsafe extern "C" fn timer_free(timer: *mut c_void, opaque: *mut c_void) {
    // SAFETY: our context.
    let c = unsafe { ctx(opaque) };
    let t = timer.cast::<Timer>();
    if let Some(i) = c.timers.iter().position(|&x| x == t) {
        c.timers.swap_remove(i);
        // SAFETY: `t` came from Box::into_raw in timer_new and is freed once.
        drop(unsafe { Box::from_raw(t) });
    }
}

unsafe extern "C" fn timer_mod(timer: *mut c_void, expire_ms: i64, opaque: *mut c_void) {
    // SAFETY: our context; `timer` is one of ours (slirp only passes what it got).
    let c = unsafe { ctx(opaque) };
    let t = timer.cast::<Timer>();
    if c.timers.contains(&t) {
        // SAFETY: a live timer of ours.
        unsafe { (*t).expire = Some(expire_ms) };
    }
}

unsafe extern "C" fn register_poll_fd(_fd: c_int, _opaque: *mut c_void) {}
unsafe extern "C" fn unregister_poll_fd(_fd: c_int, _opaque: *mut c_void) {}
unsafe extern "C" fn notify(_opaque: *mut c_void) {}

unsafe extern "C" fn add_poll(fd: c_int, events: c_int, opaque: *mut c_void) -> c_int {
    // SAFETY: our context.
    let c = unsafe { ctx(opaque) };
    let mut ev = 0;
    if events & sys::SLIRP_POLL_IN != 0 {
        ev |= libc::POLLIN;
    }
    if events & sys::SLIRP_POLL_OUT != 0 {
        ev |= libc::POLLOUT;
    }
    if events & sys::SLIRP_POLL_PRI != 0 {
        ev |= libc::POLLPRI;
    }
    c.fds.push(libc::pollfd {
        fd,
        events: ev,
        revents: 0,
    });
    (c.fds.len() - 1) as c_int
}

unsafe extern "C" fn get_revents(idx: c_int, opaque: *mut c_void) -> c_int {
    // SAFETY: our context.
    let c = unsafe { ctx(opaque) };
    let Some(p) = usize::try_from(idx).ok().and_then(|i| c.fds.get(i)) else {
        return 0;
    };
    let mut r = 0;
    if p.revents & libc::POLLIN != 0 {
        r |= sys::SLIRP_POLL_IN;
    }
    if p.revents & libc::POLLOUT != 0 {
        r |= sys::SLIRP_POLL_OUT;
    }
    if p.revents & libc::POLLPRI != 0 {
        r |= sys::SLIRP_POLL_PRI;
    }
    if p.revents & libc::POLLERR != 0 {
        r |= sys::SLIRP_POLL_ERR;
    }
    if p.revents & libc::POLLHUP != 0 {
        r |= sys::SLIRP_POLL_HUP;
    }
    r
}

static CALLBACKS: sys::SlirpCb = sys::SlirpCb {
    send_packet: Some(send_packet),
    guest_error: Some(guest_error),
    clock_get_ns: Some(clock_get_ns),
    timer_new: Some(timer_new),
    timer_free: Some(timer_free),
    timer_mod: Some(timer_mod),
    register_poll_fd: Some(register_poll_fd),
    unregister_poll_fd: Some(unregister_poll_fd),
    notify: Some(notify),
};

/// Starts the network thread for one interface: slirp with the spec's port
/// forwards (a forward that cannot be bound is an error here, before the VM runs).
/// Returns the shared state and the wake-up for the device.
pub fn start(spec: &NetSpec, kick: Kick) -> Result<(Arc<Mutex<NetShared>>, Wake), LaunchError> {
    // SAFETY: plain eventfd creation; the result is checked.
    let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if efd < 0 {
        return Err(LaunchError::Network(format!(
            "eventfd: {}",
            std::io::Error::last_os_error()
        )));
    }
    let shared = Arc::new(Mutex::new(NetShared::default()));
    let wake: Wake = Arc::new(move || {
        let one = 1u64.to_ne_bytes();
        // SAFETY: writing 8 bytes to our eventfd (it lives for the whole run).
        unsafe { libc::write(efd, one.as_ptr().cast(), 8) };
    });
    let (tx, rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let th_shared = shared.clone();
    let fwds = spec.hostfwd.clone();
    std::thread::Builder::new()
        .name("slirp".into())
        .spawn(move || {
            let mut c = Box::new(Ctx {
                shared: th_shared,
                kick,
                start: Instant::now(),
                timers: Vec::new(),
                fds: Vec::new(),
            });
            let opaque = (&mut *c as *mut Ctx).cast::<c_void>();
            let zero6 = sys::in6_addr { s6_addr: [0; 16] };
            let cfg = sys::SlirpConfig {
                version: 1,
                restricted: 0,
                in_enabled: true,
                vnetwork: NETWORK.into(),
                vnetmask: NETMASK.into(),
                vhost: HOST.into(),
                in6_enabled: false,
                vprefix_addr6: zero6,
                vprefix_len: 0,
                vhost6: zero6,
                vhostname: std::ptr::null(),
                tftp_server_name: std::ptr::null(),
                tftp_path: std::ptr::null(),
                bootfile: std::ptr::null(),
                vdhcp_start: GUEST.into(),
                vnameserver: DNS.into(),
                vnameserver6: zero6,
                vdnssearch: std::ptr::null_mut(),
                vdomainname: std::ptr::null(),
                if_mtu: 0,
                if_mru: 0,
                disable_host_loopback: false,
                enable_emu: false,
                outbound_addr: std::ptr::null(),
                outbound_addr6: std::ptr::null(),
                disable_dns: false,
                disable_dhcp: false,
            };
            // SAFETY: a version-1 config (slirp reads only the fields of version 1),
            // static callbacks, and a context that outlives the instance (this
            // thread never returns while slirp exists).
            let slirp = unsafe { sys::slirp_new(&cfg, &CALLBACKS, opaque) };
            if slirp.is_null() {
                let _ = tx.send(Err("slirp_new failed".into()));
                return;
            }
            for f in &fwds {
                let guest = f.guest_addr.unwrap_or(GUEST);
                // SAFETY: a live slirp instance; plain values.
                let r = unsafe {
                    sys::slirp_add_hostfwd(
                        slirp,
                        c_int::from(f.udp),
                        f.host_addr.into(),
                        c_int::from(f.host_port),
                        guest.into(),
                        c_int::from(f.guest_port),
                    )
                };
                if r != 0 {
                    let _ = tx.send(Err(format!(
                        "cannot forward {}:{}:{} (is the port in use?)",
                        if f.udp { "udp" } else { "tcp" },
                        f.host_addr,
                        f.host_port
                    )));
                    return;
                }
            }
            let _ = tx.send(Ok(()));
            run(slirp, &mut c, efd);
        })
        .map_err(LaunchError::Thread)?;
    match rx.recv() {
        Ok(Ok(())) => Ok((shared, wake)),
        Ok(Err(e)) => Err(LaunchError::Network(e)),
        Err(_) => Err(LaunchError::Network("the network thread died".into())),
    }
}

/// The poll loop (never returns; the process ends with the VM).
fn run(slirp: *mut sys::Slirp, c: &mut Ctx, efd: c_int) {
    let opaque = (c as *mut Ctx).cast::<c_void>();
    loop {
        // Frames the guest sent.
        let frames: Vec<Vec<u8>> = c
            .shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .tx
            .drain(..)
            .collect();
        for f in frames {
            // SAFETY: a live instance; the frame is `f.len()` readable bytes.
            unsafe { sys::slirp_input(slirp, f.as_ptr(), f.len() as c_int) };
        }
        c.fds.clear();
        c.fds.push(libc::pollfd {
            fd: efd,
            events: libc::POLLIN,
            revents: 0,
        });
        let mut timeout: u32 = 1000;
        // SAFETY: a live instance; add_poll gets our context.
        unsafe { sys::slirp_pollfds_fill(slirp, &mut timeout, Some(add_poll), opaque) };
        let now = c.now_ms();
        for &t in &c.timers {
            // SAFETY: live timers of ours.
            if let Some(e) = unsafe { (*t).expire } {
                timeout = timeout.min(e.saturating_sub(now).clamp(0, 1000) as u32);
            }
        }
        // SAFETY: `fds` is a valid array of `len` pollfds.
        let n = unsafe {
            libc::poll(
                c.fds.as_mut_ptr(),
                c.fds.len() as libc::nfds_t,
                timeout as c_int,
            )
        };
        if c.fds[0].revents & libc::POLLIN != 0 {
            let mut b = [0u8; 8];
            // SAFETY: reading 8 bytes from our eventfd into a local buffer.
            unsafe { libc::read(efd, b.as_mut_ptr().cast(), 8) };
        }
        // SAFETY: a live instance; get_revents reads the fds filled above.
        unsafe { sys::slirp_pollfds_poll(slirp, c_int::from(n < 0), Some(get_revents), opaque) };
        let now = c.now_ms();
        let due: Vec<*mut Timer> = c
            .timers
            .iter()
            .copied()
            // SAFETY: live timers of ours.
            .filter(|&t| unsafe { (*t).expire }.is_some_and(|e| e <= now))
            .collect();
        for t in due {
            if !c.timers.contains(&t) {
                continue;
            }
            // SAFETY: a live timer; its callback is slirp's, called on slirp's thread.
            unsafe {
                (*t).expire = None;
                if let Some(cb) = (*t).cb {
                    cb((*t).opaque);
                }
            }
        }
    }
}
