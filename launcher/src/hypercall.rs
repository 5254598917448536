//! Servicing the engine's hypercalls. The block address and every argument are checked
//! (range with checked arithmetic, alignment, size, reserved arguments zero); a bad
//! argument gets a status code, a block the launcher cannot even write is fatal.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use shared_abi::hypercall::{status, Hypercall, HypercallBlock, MAX_EXIT_MSG, MAX_IO_LEN};

use crate::error::EngineFault;
use crate::memory::GuestMemory;

/// Bytes typed on the launcher's stdin, waiting for the engine.
pub type InputQueue = Arc<Mutex<VecDeque<u8>>>;

/// What the launcher knows that the engine may ask for.
pub struct BootParams {
    /// `shared_abi::hypercall::boot_flags` bits.
    pub flags: u64,
    pub guest_ram: u64,
    pub cmdline: Vec<u8>,
    /// (paddr, len) of the guest image and the initrd.
    pub guest: Option<(u64, u64)>,
    pub initrd: Option<(u64, u64)>,
    pub tsc_hz: u64,
    /// When the launcher started (measured first thing in `main`).
    pub start: Instant,
}

/// What the run loop does after a hypercall.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    /// The engine exited with this code; the message (maybe empty) goes to stderr.
    Exit {
        code: u64,
        message: String,
    },
}

/// The hypercall server.
pub struct Services {
    params: BootParams,
    out: Box<dyn Write>,
    input: InputQueue,
    first_call_ns: Option<u64>,
    /// Number of hypercalls serviced.
    pub calls: u64,
    /// Hypercalls by number (index 0: unknown numbers).
    pub by_nr: [u64; 8],
    /// The virtio devices (the `Virtio` hypercall).
    pub virtio: crate::virtio::VirtioHost,
    /// Print every hypercall to stderr (`LAUNCHER_TRACE=1`).
    pub trace: bool,
}

/// A reply: the `ret` values, or a status code.
type Reply = Result<[u64; 4], u32>;

impl Services {
    pub fn new(params: BootParams, out: Box<dyn Write>, input: InputQueue) -> Services {
        Services {
            params,
            out,
            input,
            first_call_ns: None,
            calls: 0,
            by_nr: [0; 8],
            virtio: crate::virtio::VirtioHost::new(Vec::new()),
            trace: false,
        }
    }

    /// Nanoseconds from launcher start to the first hypercall, once there was one.
    pub fn first_call_ns(&self) -> Option<u64> {
        self.first_call_ns
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.params.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// Services the block at VM-physical `paddr` (what the engine wrote to the port).
    pub fn handle(&mut self, mem: &GuestMemory, paddr: u64) -> Result<Outcome, EngineFault> {
        if self.first_call_ns.is_none() {
            self.first_call_ns = Some(self.now_ns());
        }
        self.calls += 1;
        if !paddr.is_multiple_of(8) {
            return Err(EngineFault::BadBlock {
                paddr,
                reason: "not 8-byte aligned",
            });
        }
        let mut raw = [0u8; HypercallBlock::SIZE];
        mem.read(paddr, &mut raw)
            .map_err(|_| EngineFault::BadBlock {
                paddr,
                reason: "it lies (partly) outside VM memory",
            })?;
        let block = HypercallBlock::from_bytes(&raw);
        let k = if (1..=7).contains(&block.nr) {
            block.nr as usize
        } else {
            0
        };
        self.by_nr[k] += 1;
        let (reply, outcome) = match Hypercall::from_u32(block.nr) {
            None => (Err(status::ENOSYS), Outcome::Continue),
            Some(Hypercall::Exit) => match self.exit(mem, &block.args) {
                Ok(o) => (Ok([0; 4]), o),
                Err(s) => (Err(s), Outcome::Continue),
            },
            Some(nr) => (self.call(mem, nr, &block.args), Outcome::Continue),
        };
        let (st, ret) = match reply {
            Ok(ret) => (status::OK, ret),
            Err(st) => (st, [0; 4]),
        };
        if self.trace {
            eprintln!(
                "launcher: trace: {:.3} ms: hypercall {} args {:x?} -> status {} ret {:x?}",
                self.now_ns() as f64 / 1e6,
                block.nr,
                block.args,
                st,
                ret
            );
        }
        let mut back = block;
        back.status = st;
        back.ret = ret;
        // The range was checked by the read above.
        mem.write(paddr, &back.to_bytes())
            .map_err(|_| EngineFault::BadBlock {
                paddr,
                reason: "it lies (partly) outside VM memory",
            })?;
        Ok(outcome)
    }

    fn call(&mut self, mem: &GuestMemory, nr: Hypercall, args: &[u64; 4]) -> Reply {
        match nr {
            Hypercall::ConsoleWrite => {
                reserved(args, 2)?;
                let (paddr, len) = (args[0], args[1]);
                if len > MAX_IO_LEN {
                    return Err(status::E2BIG);
                }
                let mut buf = vec![0u8; len as usize];
                mem.read(paddr, &mut buf).map_err(|_| status::EFAULT)?;
                self.out
                    .write_all(&buf)
                    .and_then(|()| self.out.flush())
                    .map_err(|_| status::EIO)?;
                Ok([len, 0, 0, 0])
            }
            Hypercall::ConsoleRead => {
                reserved(args, 2)?;
                let (paddr, cap) = (args[0], args[1]);
                if cap > MAX_IO_LEN {
                    return Err(status::E2BIG);
                }
                mem.range(paddr, cap).map_err(|_| status::EFAULT)?;
                let bytes: Vec<u8> = {
                    let mut q = self.input.lock().unwrap_or_else(|p| p.into_inner());
                    let n = q.len().min(cap as usize);
                    q.drain(..n).collect()
                };
                mem.write(paddr, &bytes).map_err(|_| status::EFAULT)?;
                Ok([bytes.len() as u64, 0, 0, 0])
            }
            Hypercall::Clock => {
                reserved(args, 0)?;
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
                Ok([self.now_ns(), self.params.tsc_hz, wall, 0])
            }
            Hypercall::GuestInfo => {
                reserved(args, 0)?;
                let (gp, gl) = self.params.guest.unwrap_or((0, 0));
                let (ip, il) = self.params.initrd.unwrap_or((0, 0));
                Ok([gp, gl, ip, il])
            }
            Hypercall::BootConfig => {
                reserved(args, 2)?;
                let (paddr, cap) = (args[0], args[1]);
                if cap > MAX_IO_LEN {
                    return Err(status::E2BIG);
                }
                mem.range(paddr, cap).map_err(|_| status::EFAULT)?;
                let line = &self.params.cmdline;
                let n = line.len().min(cap as usize);
                mem.write(paddr, &line[..n]).map_err(|_| status::EFAULT)?;
                Ok([
                    self.params.flags,
                    self.params.guest_ram,
                    line.len() as u64,
                    self.first_call_ns.unwrap_or(0),
                ])
            }
            Hypercall::Virtio => self.virtio.call(mem, args),
            // Handled by the caller.
            Hypercall::Exit => Err(status::EINVAL),
        }
    }

    /// Exit: args [code, msg paddr, msg len]. A message longer than `MAX_EXIT_MSG` is
    /// cut; one outside memory is replaced by a note (the exit itself is honoured).
    fn exit(&mut self, mem: &GuestMemory, args: &[u64; 4]) -> Result<Outcome, u32> {
        reserved(args, 3)?;
        let (code, paddr, len) = (args[0], args[1], args[2]);
        let shown = len.min(MAX_EXIT_MSG);
        let mut buf = vec![0u8; shown as usize];
        let message = match mem.read(paddr, &mut buf) {
            Ok(()) => {
                let mut m = String::from_utf8_lossy(&buf).into_owned();
                if shown < len {
                    m.push_str(" [...]");
                }
                m
            }
            Err(_) => format!(
                "launcher: the engine's exit message ({paddr:#x}, {len} bytes) lies outside VM memory"
            ),
        };
        // Flush what the engine printed before its last words.
        let _ = self.out.flush();
        Ok(Outcome::Exit { code, message })
    }
}

/// Arguments from `used` on must be zero.
fn reserved(args: &[u64; 4], used: usize) -> Result<(), u32> {
    if args[used..].iter().any(|a| *a != 0) {
        Err(status::EINVAL)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_abi::hypercall::boot_flags;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const MEM: u64 = 0x10000;
    const BLK: u64 = 0x100;

    fn setup() -> (GuestMemory, Services, Sink, InputQueue) {
        let mem = GuestMemory::new(MEM).unwrap();
        let sink = Sink::default();
        let input = InputQueue::default();
        let params = BootParams {
            flags: boot_flags::SELFTEST,
            guest_ram: 16 << 20,
            cmdline: b"console=ttyAMA0 quiet".to_vec(),
            guest: Some((0x8000, 0x1234)),
            initrd: None,
            tsc_hz: 2_600_000_000,
            start: Instant::now(),
        };
        let s = Services::new(params, Box::new(sink.clone()), input.clone());
        (mem, s, sink, input)
    }

    fn call(
        mem: &GuestMemory,
        s: &mut Services,
        nr: u32,
        args: [u64; 4],
    ) -> (u32, [u64; 4], Outcome) {
        let mut b = HypercallBlock {
            nr,
            status: u32::MAX,
            args,
            ret: [7; 4],
        };
        mem.write(BLK, &b.to_bytes()).unwrap();
        let o = s.handle(mem, BLK).unwrap();
        let mut raw = [0u8; HypercallBlock::SIZE];
        mem.read(BLK, &mut raw).unwrap();
        b = HypercallBlock::from_bytes(&raw);
        assert_eq!(b.args, args, "args untouched");
        (b.status, b.ret, o)
    }

    #[test]
    fn console_write() {
        let (mem, mut s, sink, _) = setup();
        mem.write(0x2000, b"hello").unwrap();
        let (st, ret, o) = call(&mem, &mut s, 1, [0x2000, 5, 0, 0]);
        assert_eq!((st, ret[0], o), (status::OK, 5, Outcome::Continue));
        assert_eq!(&*sink.0.lock().unwrap(), b"hello");
        // Out of range, straddling the end, overflowing, too large, reserved args.
        for (args, want) in [
            ([MEM, 1, 0, 0], status::EFAULT),
            ([MEM - 2, 3, 0, 0], status::EFAULT),
            ([u64::MAX, 2, 0, 0], status::EFAULT),
            ([0, MAX_IO_LEN + 1, 0, 0], status::E2BIG),
            ([0x2000, 5, 1, 0], status::EINVAL),
        ] {
            let (st, ret, _) = call(&mem, &mut s, 1, args);
            assert_eq!(st, want, "{args:x?}");
            assert_eq!(ret, [0; 4]);
        }
        assert_eq!(sink.0.lock().unwrap().len(), 5, "nothing more written");
        let (st, ret, _) = call(&mem, &mut s, 1, [MEM, 0, 0, 0]);
        assert_eq!(
            (st, ret[0]),
            (status::OK, 0),
            "empty write at the end is fine"
        );
    }

    #[test]
    fn console_read() {
        let (mem, mut s, _, input) = setup();
        let (st, ret, _) = call(&mem, &mut s, 2, [0x3000, 16, 0, 0]);
        assert_eq!((st, ret[0]), (status::OK, 0));
        input.lock().unwrap().extend(b"abcdef");
        let (st, ret, _) = call(&mem, &mut s, 2, [0x3000, 4, 0, 0]);
        assert_eq!((st, ret[0]), (status::OK, 4));
        let mut b = [0u8; 4];
        mem.read(0x3000, &mut b).unwrap();
        assert_eq!(&b, b"abcd");
        // A bad buffer loses no input.
        let (st, _, _) = call(&mem, &mut s, 2, [MEM - 1, 4, 0, 0]);
        assert_eq!(st, status::EFAULT);
        let (st, _, _) = call(&mem, &mut s, 2, [0, MAX_IO_LEN + 1, 0, 0]);
        assert_eq!(st, status::E2BIG);
        let (st, ret, _) = call(&mem, &mut s, 2, [0x3000, 16, 0, 0]);
        assert_eq!((st, ret[0]), (status::OK, 2));
    }

    #[test]
    fn info_calls() {
        let (mem, mut s, _, _) = setup();
        let (st, ret, _) = call(&mem, &mut s, 4, [0; 4]);
        assert_eq!(st, status::OK);
        assert_eq!(ret[1], 2_600_000_000);
        let (_, ret2, _) = call(&mem, &mut s, 4, [0; 4]);
        assert!(ret2[0] >= ret[0], "monotonic");
        let (st, ret, _) = call(&mem, &mut s, 5, [0; 4]);
        assert_eq!((st, ret), (status::OK, [0x8000, 0x1234, 0, 0]));
        let (st, _, _) = call(&mem, &mut s, 5, [1, 0, 0, 0]);
        assert_eq!(st, status::EINVAL);
        let (st, _, _) = call(&mem, &mut s, 99, [0; 4]);
        assert_eq!(st, status::ENOSYS);
        let (st, _, _) = call(&mem, &mut s, 0, [0; 4]);
        assert_eq!(st, status::ENOSYS);
    }

    #[test]
    fn boot_config() {
        let (mem, mut s, _, _) = setup();
        let (st, ret, _) = call(&mem, &mut s, 6, [0x4000, 7, 0, 0]);
        assert_eq!(st, status::OK);
        assert_eq!(ret[0], boot_flags::SELFTEST);
        assert_eq!(ret[1], 16 << 20);
        assert_eq!(ret[2], 21, "full length even when truncated");
        assert_eq!(ret[3], s.first_call_ns().unwrap());
        let mut b = [0u8; 8];
        mem.read(0x4000, &mut b).unwrap();
        assert_eq!(&b, b"console\0", "7 bytes copied, no more");
        let (st, _, _) = call(&mem, &mut s, 6, [MEM - 4, 7, 0, 0]);
        assert_eq!(st, status::EFAULT);
        let (st, ret, _) = call(&mem, &mut s, 6, [0, 0, 0, 0]);
        assert_eq!(
            (st, ret[2]),
            (status::OK, 21),
            "capacity 0: only the length"
        );
        let (st, _, _) = call(&mem, &mut s, 6, [u64::MAX, 0, 0, 0]);
        assert_eq!(
            st,
            status::EFAULT,
            "even an empty buffer must lie in memory"
        );
    }

    #[test]
    fn exit() {
        let (mem, mut s, _, _) = setup();
        mem.write(0x5000, b"all good").unwrap();
        let (st, _, o) = call(&mem, &mut s, 3, [0, 0x5000, 8, 0]);
        assert_eq!(st, status::OK);
        assert_eq!(
            o,
            Outcome::Exit {
                code: 0,
                message: "all good".into()
            }
        );
        let (_, _, o) = call(&mem, &mut s, 3, [3, u64::MAX - 1, 8, 0]);
        match o {
            Outcome::Exit { code: 3, message } => assert!(message.contains("outside")),
            o => panic!("{o:?}"),
        }
        let (_, _, o) = call(&mem, &mut s, 3, [1, 0, MAX_EXIT_MSG + 100, 0]);
        match o {
            Outcome::Exit { code: 1, message } => assert!(message.ends_with("[...]")),
            o => panic!("{o:?}"),
        }
        let (st, _, o) = call(&mem, &mut s, 3, [1, 0, 0, 9]);
        assert_eq!((st, o), (status::EINVAL, Outcome::Continue));
    }

    /// Random blocks at random addresses: errors or statuses, never a panic, and
    /// nothing written outside memory (the mapping would fault).
    #[test]
    fn random_blocks_never_panic() {
        let (mem, mut s, _, input) = setup();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pick = |r: u64| match r % 6 {
            0 => r % (MEM + 0x100),
            1 => MEM - r % 0x100,
            2 => u64::MAX - r % 0x100,
            3 => r % 0x100,
            4 => r,
            _ => MAX_IO_LEN + r % 2,
        };
        for _ in 0..5000 {
            input.lock().unwrap().extend([1u8, 2, 3]);
            let b = HypercallBlock {
                nr: (next() % 9) as u32,
                status: 0,
                args: [pick(next()), pick(next()), next() % 2, 0],
                ret: [0; 4],
            };
            let paddr = if next() % 4 == 0 { pick(next()) } else { BLK };
            if mem.write(BLK, &b.to_bytes()).is_ok() {
                let _ = s.handle(&mem, paddr);
            }
        }
    }

    #[test]
    fn bad_blocks_are_fatal() {
        let (mem, mut s, _, _) = setup();
        for paddr in [BLK + 4, MEM, MEM - 8, MEM - 64, u64::MAX - 7] {
            assert!(
                matches!(s.handle(&mem, paddr), Err(EngineFault::BadBlock { .. })),
                "{paddr:#x}"
            );
        }
        // The last block that fits.
        let last = MEM - HypercallBlock::SIZE as u64;
        mem.write(
            last,
            &HypercallBlock::new(Hypercall::Clock, [0; 4]).to_bytes(),
        )
        .unwrap();
        assert_eq!(s.handle(&mem, last), Ok(Outcome::Continue));
    }
}
