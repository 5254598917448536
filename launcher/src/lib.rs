//! The host side of the hypervisor: loads the engine ELF into a KVM virtual machine,
//! starts it in long mode and services its hypercalls (see `shared_abi::hypercall`).
//!
//! ```no_run
//! # fn main() -> Result<(), launcher::LaunchError> {
//! let cli = <launcher::Cli as clap::Parser>::parse();
//! let status = launcher::Vm::new(cli.into_config(std::time::Instant::now())?)?.run()?;
//! std::process::exit(i32::from(status.exit_code().code()));
//! # }
//! ```
//!
//! Nothing the engine or the guest controls can panic the launcher or make it touch
//! memory outside the VM: every hypercall argument is range-, alignment- and
//! size-checked (see [`hypercall`]).

pub mod boot;
pub mod cli;
pub mod devopts;
pub mod elf;
pub mod error;
pub mod guest;
pub mod hypercall;
pub mod jitmem;
pub mod memory;
pub mod size;
pub mod slirp;
pub mod term;
pub mod virtio;
pub mod vm;

pub use cli::Cli;
pub use error::{EngineFault, ExitCode, LaunchError};
pub use vm::{Config, ExitStatus, Vm};
