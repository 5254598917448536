//! The AArch64 core: a decoder generated from one declarative table of A64 encodings,
//! a small typed IR, and the exact reference interpreter that executes it.
//!
//! Pure logic only: builds for `x86_64-unknown-none` (inside the engine) and for the
//! host (unit tests, the `a64-user` runner). No inline assembly here.
//! See `FRAMEWORK.md` for how instruction groups plug in.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// The generated decoder (`decode`, `Enc`, per-encoding field structs).
pub mod decode;
/// The reference interpreter and the memory trait.
pub mod interp;
/// The typed IR.
pub mod ir;
/// Lowering: the block builder and block formation.
pub mod lower;
/// IR passes (register forwarding, dead code removal).
pub mod opt;
/// CPU state.
pub mod state;
/// System register map.
pub mod sysreg;
/// The IR verifier.
pub mod verify;

/// Branch instructions.
pub mod branch;
/// Integer data processing.
pub mod int;
/// Loads and stores.
pub mod ldst;
/// System instructions.
pub mod system;

/// AES, SHA1, SHA256, PMULL, CRC32 semantics.
pub mod crypto;
/// Scalar floating point with exact Arm semantics (softfloat).
pub mod fp;
/// AdvSIMD integer/permute semantics on 128-bit vectors.
pub mod simd;

#[cfg(test)]
mod tests;
/// Test helpers (TestMem, run) for unit tests of every group.
#[cfg(test)]
pub mod testutil;

pub use decode::{decode, Decoded, Enc};
pub use interp::{run_block, Exit, MemFault, Memory};
pub use ir::{Block, Op, Term};
pub use lower::{lower, lower_block, Builder};
pub use state::Cpu;
