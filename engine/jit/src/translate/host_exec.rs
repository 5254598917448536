//! Test support: runs emitted x86 code on the host, to compare inline lowerings with the
//! interpreter's helpers on random operands.

use super::*;

/// Executable copy of a code buffer: `fn(io, cpu)` with RBP = `cpu` during the body.
pub(crate) struct Exec {
    ptr: *mut u8,
    len: usize,
}

impl Exec {
    /// Wraps `body` (which reads its operands from `[RDI]`, `[RDI+16]`, `[RDI+32]` as
    /// it likes and leaves what it wants checked at `[RDI+48..]`) in a prologue that sets
    /// RBP to the CPU block and an epilogue that returns.
    pub(crate) fn new(body: impl FnOnce(&mut Asm)) -> Exec {
        let mut a = Asm::new();
        a.push(R::RBP);
        a.push(R::RBX);
        a.mov_rr(true, R::RBP, R::RSI);
        body(&mut a);
        a.pop(R::RBX);
        a.pop(R::RBP);
        a.ret();
        let len = a.buf.len().next_multiple_of(4096);
        // SAFETY: a fresh anonymous private mapping; nothing else refers to it.
        let ptr = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(ptr, libc::MAP_FAILED, "mmap");
        let ptr = ptr as *mut u8;
        // SAFETY: the mapping is `len >= buf.len()` bytes, writable, and ours.
        unsafe { core::ptr::copy_nonoverlapping(a.buf.as_ptr(), ptr, a.buf.len()) };
        Exec { ptr, len }
    }

    /// Runs the code on `io` (at least 64 bytes) and `cpu`.
    pub(crate) fn run(&self, io: &mut [u8; 64], cpu: &mut a64::state::Cpu) {
        // SAFETY: the mapping holds a complete function with the SysV signature
        // `fn(*mut u8, *mut Cpu)` that only touches `io`, the CPU block's FPSR and
        // caller-saved registers (RBP and RBX are restored).
        unsafe {
            let f: extern "sysv64" fn(*mut u8, *mut a64::state::Cpu) =
                core::mem::transmute(self.ptr);
            f(io.as_mut_ptr(), cpu);
        }
    }
}

impl Drop for Exec {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}

/// A small xorshift generator of test operands.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A 128-bit operand whose `esize`-bit lanes are random, or (often) one of the
    /// edge values 0, 1, all ones, the sign bit, the largest positive.
    pub(crate) fn vec(&mut self, esize: u32) -> u128 {
        let mut v = (u128::from(self.next()) << 64) | u128::from(self.next());
        if self.next().is_multiple_of(3) {
            return v;
        }
        let e = esize.clamp(8, 64);
        let lm = if e == 64 { u64::MAX } else { (1u64 << e) - 1 };
        for l in 0..(128 / e) {
            let edge = match self.next() % 8 {
                0 => 0,
                1 => 1,
                2 => lm,
                3 => 1u64 << (e - 1),
                4 => lm >> 1,
                5 => (1u64 << (e - 1)) + 1,
                _ => continue,
            };
            let sh = l * e;
            v = (v & !(u128::from(lm) << sh)) | (u128::from(edge) << sh);
        }
        v
    }
}
