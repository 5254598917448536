//! Architectural CPU state of one AArch64 core as seen by the interpreter (and, later,
//! by translated code: the layout is `#[repr(C)]` so generated code can address fields).

/// The exclusive monitor: the address, size and value that the last load-exclusive saw.
///
/// A store-exclusive succeeds only if the monitor is armed for the same address and size
/// and memory still holds `value` (compared and replaced atomically with respect to this
/// core). CLREX, any exception and any exception return disarm it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Monitor {
    /// Whether the monitor is armed.
    pub valid: bool,
    /// Access size in bytes (1, 2, 4, 8, or 16 for pair exclusives of 64-bit registers).
    pub size: u8,
    /// Virtual address of the exclusive access.
    pub addr: u64,
    /// The value read by the load-exclusive (zero-extended).
    pub value: u128,
}

impl Monitor {
    /// Disarms the monitor (CLREX, exceptions).
    #[inline]
    pub fn clear(&mut self) {
        self.valid = false;
    }
}

/// NZCV bit positions as in PSTATE / the NZCV system register (bits 31..28).
pub mod flags {
    /// Negative.
    pub const N: u32 = 1 << 31;
    /// Zero.
    pub const Z: u32 = 1 << 30;
    /// Carry.
    pub const C: u32 = 1 << 29;
    /// Overflow.
    pub const V: u32 = 1 << 28;
    /// All four flags.
    pub const MASK: u32 = 0xf000_0000;
}

/// The state of one AArch64 core.
#[derive(Clone, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Cpu {
    /// General purpose registers X0..X30.
    pub x: [u64; 31],
    /// Stack pointer of EL0 (SP_EL0). Per-EL stack pointers arrive with EL1 support.
    pub sp: u64,
    /// Program counter.
    pub pc: u64,
    /// Condition flags in bits 31..28 (N, Z, C, V); other bits are zero.
    pub nzcv: u32,
    /// Floating-point control register.
    pub fpcr: u32,
    /// Floating-point status register (cumulative exception bits, QC).
    pub fpsr: u32,
    /// DAIF interrupt mask bits (bits 9..6).
    pub daif: u32,
    /// SIMD&FP registers V0..V31 (little-endian lanes: lane 0 in the low bits).
    pub v: [u128; 32],
    /// TPIDR_EL0 (user read/write thread pointer).
    pub tpidr_el0: u64,
    /// TPIDRRO_EL0 (user read-only thread pointer).
    pub tpidrro_el0: u64,
    /// The exclusive monitor.
    pub monitor: Monitor,
    /// Current exception level (0 for user mode).
    pub el: u8,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    /// A reset core at EL0 with all registers zero.
    pub const fn new() -> Self {
        Cpu {
            x: [0; 31],
            sp: 0,
            pc: 0,
            nzcv: 0,
            fpcr: 0,
            fpsr: 0,
            daif: 0,
            v: [0; 32],
            tpidr_el0: 0,
            tpidrro_el0: 0,
            monitor: Monitor {
                valid: false,
                size: 0,
                addr: 0,
                value: 0,
            },
            el: 0,
        }
    }

    /// Reads X`n`, where 31 means XZR (zero).
    #[inline]
    pub fn xr(&self, n: u32) -> u64 {
        if n >= 31 {
            0
        } else {
            self.x[n as usize]
        }
    }

    /// Writes X`n`; writes to 31 (XZR) are discarded.
    #[inline]
    pub fn set_xr(&mut self, n: u32, val: u64) {
        if n < 31 {
            self.x[n as usize] = val;
        }
    }
}
