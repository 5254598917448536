//! The AArch64 guest machine, as pure logic that builds for the engine
//! (`x86_64-unknown-none`) and for the host (unit tests, a hosted runner).
#![cfg_attr(not(test), no_std)]

extern crate alloc;

/// EL1 system state, exception model, system registers, data memory path.
pub mod cpu;
/// Device models of the `virt` board (GICv2, generic timer, PL011, PL031, PSCI).
pub mod dev;
/// The machine and its run loop.
pub mod machine;
pub mod mmu;

pub use machine::{BoardHost, FatalError, LoadError, Machine, MachineConfig, RunExit, Stats};
