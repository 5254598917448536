//! Pure logic of the engine: everything here builds and is unit-tested on the host as
//! well as for `x86_64-unknown-none`. The ring-0 kernel and the ring-3 monitor that use
//! it live in the `engine` binary (`main.rs`).
#![cfg_attr(not(test), no_std)]

pub mod bootargs;
pub mod calib;
pub mod frames;
pub mod paging;
