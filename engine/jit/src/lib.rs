//! The translator: A64 IR blocks to x86-64 machine code.
//!
//! * [`emit`]: a small hand-written x86-64 encoder (checked against iced-x86's decoder).
//! * [`translate`]: IR block -> code, with a per-block register allocator, an inline
//!   software-TLB memory path, fused NZCV conditions, chainable exits.
//! * [`rt`]: the context block and the monitor functions translated code calls.
//! * [`cache`]: the code cache, chaining, the jump cache stub, and running code.
//!
//! Pure logic except [`cache::Jit::run`], which calls into generated code; the
//! embedder supplies executable memory.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod cache;
pub mod emit;
pub mod rt;
pub mod simd;
pub mod translate;

pub use cache::{CodeRegion, Jit, JitError, JitStats};
pub use rt::{Ctx, JitMemory};
pub use translate::{ExitRec, Features};

/// Whether NZCV may be gathered with LAHF + PEXT: BMI2 present (`bmi2`), LAHF usable in
/// 64-bit mode, and PEXT fast (Intel, or AMD from family 19h; older AMD cores run it
/// in microcode). Uses CPUID, which ring 3 may execute.
pub fn fast_pext(bmi2: bool) -> bool {
    let v = core::arch::x86_64::__cpuid(0);
    let intel = (v.ebx, v.edx, v.ecx) == (0x756e_6547, 0x4965_6e69, 0x6c65_746e);
    let amd = (v.ebx, v.edx, v.ecx) == (0x6874_7541, 0x6974_6e65, 0x444d_4163);
    let f = core::arch::x86_64::__cpuid(1).eax;
    let family = ((f >> 8) & 0xf)
        + if (f >> 8) & 0xf == 0xf {
            (f >> 20) & 0xff
        } else {
            0
        };
    let lahf = core::arch::x86_64::__cpuid(0x8000_0001).ecx & 1 != 0;
    bmi2 && lahf && (intel || (amd && family >= 0x19))
}
