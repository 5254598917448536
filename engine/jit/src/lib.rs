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
