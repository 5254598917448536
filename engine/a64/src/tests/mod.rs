//! Unit tests of the decoder, lowering, verifier and interpreter.

mod basic;
mod fuzz;
mod semantics;
mod system_mode;
