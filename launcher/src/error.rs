//! Every way the launcher can fail, and the process exit code of each.

use std::path::PathBuf;

/// Process exit codes of the launcher, defined in one place. Each failure class has
/// its own code so scripts and tests can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// The engine exited with code 0.
    Success,
    /// Bad command line (clap's own code).
    Usage,
    /// The engine file is missing or unreadable.
    EngineMissing,
    /// The engine file is not an ELF file.
    NotElf,
    /// The engine is not a 64-bit ELF.
    NotElf64,
    /// The engine is not built for x86-64.
    WrongMachine,
    /// The engine is not `ET_EXEC` or its `PT_LOAD` segments do not fit.
    BadImage,
    /// The engine's ABI marker is missing or does not match.
    AbiMismatch,
    /// The guest image is missing or unreadable.
    GuestMissing,
    /// The guest image is empty.
    GuestEmpty,
    /// The initrd is missing, unreadable or empty.
    InitrdBad,
    /// The guest file is neither a FIT image nor an arm64 kernel `Image`.
    GuestFormat,
    /// The guest file is a malformed FIT or its kernel is not a usable arm64 `Image`.
    GuestInvalid,
    /// `-m` could not be parsed.
    MemoryUnparsable,
    /// `-m` is too small or too large.
    MemoryRange,
    /// `/dev/kvm` cannot be opened.
    KvmUnavailable,
    /// Another KVM or host failure while setting up or running the VM.
    Kvm,
    /// The engine misbehaved: triple fault, unexpected VM exit, bad port, bad hypercall block.
    EngineMisbehaved,
    /// A malformed -drive / -device / -nic / -netdev.
    DeviceOption,
    /// A disk image is missing or unreadable.
    DriveUnreadable,
    /// A disk image is not a regular file.
    DriveNotFile,
    /// A disk image is locked by another process.
    DriveLocked,
    /// User networking could not be set up.
    Network,
    /// The engine reported failure with this code (process status `100 + code`, at most 255).
    EngineFailure(u64),
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Usage => 2,
            ExitCode::EngineMissing => 10,
            ExitCode::NotElf => 11,
            ExitCode::NotElf64 => 12,
            ExitCode::WrongMachine => 13,
            ExitCode::BadImage => 14,
            ExitCode::AbiMismatch => 15,
            ExitCode::GuestMissing => 20,
            ExitCode::GuestEmpty => 21,
            ExitCode::InitrdBad => 22,
            ExitCode::GuestFormat => 23,
            ExitCode::GuestInvalid => 24,
            ExitCode::MemoryUnparsable => 30,
            ExitCode::MemoryRange => 31,
            ExitCode::KvmUnavailable => 40,
            ExitCode::Kvm => 41,
            ExitCode::EngineMisbehaved => 42,
            ExitCode::DeviceOption => 50,
            ExitCode::DriveUnreadable => 51,
            ExitCode::DriveNotFile => 52,
            ExitCode::DriveLocked => 53,
            ExitCode::Network => 54,
            ExitCode::EngineFailure(0) => 0,
            ExitCode::EngineFailure(c) => 100u64.saturating_add(c).min(255) as u8,
        }
    }
}

/// Why the engine ELF was rejected after it was found to be a 64-bit x86-64 ELF.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("it is not an executable (ELF type {0}, expected ET_EXEC)")]
    NotExec(u16),
    #[error("it has no PT_LOAD segments")]
    NoLoad,
    #[error("malformed ELF: {0}")]
    Malformed(String),
    #[error("segment {index}: {reason}")]
    Segment { index: usize, reason: &'static str },
}

/// Any failure of the launcher. `Display` is one line without the `launcher:` prefix.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot read engine {path}: {source}{hint}")]
    EngineUnreadable {
        path: PathBuf,
        source: std::io::Error,
        /// Extra advice (how to build the engine), may be empty.
        hint: &'static str,
    },
    #[error("engine {path} is not an ELF file")]
    NotElf { path: PathBuf },
    #[error("engine {path} is not a 64-bit ELF ({class})")]
    NotElf64 { path: PathBuf, class: &'static str },
    #[error("engine {path} is built for {machine} (e_machine {e_machine}), not x86-64")]
    WrongMachine {
        path: PathBuf,
        machine: &'static str,
        e_machine: u16,
    },
    #[error("engine {path} cannot be loaded: {reason}")]
    BadImage { path: PathBuf, reason: ImageError },
    #[error(
        "engine {path} has no ABI marker (section {section}); this launcher expects ABI version {expected}"
    )]
    AbiMissing {
        path: PathBuf,
        section: &'static str,
        expected: u32,
    },
    #[error("engine {path} has a malformed ABI marker in section {section}")]
    AbiMalformed {
        path: PathBuf,
        section: &'static str,
    },
    #[error(
        "engine {path} has ABI version {found}, but this launcher expects ABI version {expected}: rebuild the engine (`cargo engine`)"
    )]
    AbiVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("cannot read guest image {path}: {source}")]
    GuestUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("guest image {path} is empty")]
    GuestEmpty { path: PathBuf },
    #[error("cannot read initrd {path}: {source}")]
    InitrdUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("initrd {path} is empty")]
    InitrdEmpty { path: PathBuf },
    #[error("guest file {path} is neither a FIT image nor an arm64 kernel Image")]
    GuestFormat { path: PathBuf },
    #[error("guest file {path}: {reason}")]
    GuestInvalid {
        path: PathBuf,
        reason: shared_abi::boot::BootError,
    },
    #[error("{reason}; raise -m")]
    GuestRamTooSmall { reason: shared_abi::boot::BootError },
    #[error("cannot parse memory size {input:?}: {reason}")]
    MemoryUnparsable { input: String, reason: &'static str },
    #[error("memory size {input} is too small: the guest needs at least {min}")]
    MemoryTooSmall { input: String, min: String },
    #[error("memory size {input} is too large: at most {max} is supported")]
    MemoryTooLarge { input: String, max: String },
    #[error("the kernel command line (--append) is {len} bytes long; at most {max} are allowed")]
    AppendTooLong { len: usize, max: usize },
    #[error("guest files of {size} bytes leave no room in VM memory")]
    FilesTooLarge { size: u64 },
    #[error("cannot open /dev/kvm: {source} (is KVM available and accessible to this user?)")]
    KvmUnavailable { source: kvm_ioctls::Error },
    #[error("KVM: {what} failed: {source}")]
    Kvm {
        what: &'static str,
        source: kvm_ioctls::Error,
    },
    #[error("cannot allocate {size} bytes of VM memory: {source}")]
    VmMemory { size: u64, source: std::io::Error },
    #[error("cannot start the console input thread: {0}")]
    Thread(std::io::Error),
    #[error("{option} {value:?}: {reason}")]
    DeviceOption {
        option: &'static str,
        value: String,
        reason: String,
    },
    #[error("cannot open disk image {path}: {source}")]
    DriveUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("disk image {path} is not a regular file")]
    DriveNotFile { path: PathBuf },
    #[error("disk image {path} is in use by another process (locked {how})")]
    DriveLocked { path: PathBuf, how: &'static str },
    #[error("user networking: {0}")]
    Network(String),
    #[error("{0}")]
    Engine(#[from] EngineFault),
}

/// The engine did something the launcher cannot continue from.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineFault {
    #[error("engine triple-faulted (rip {rip:#x})")]
    TripleFault { rip: u64 },
    #[error("engine executed hlt with no way to wake up (rip {rip:#x})")]
    Halted { rip: u64 },
    #[error("engine {dir} I/O port {port:#x} ({len} bytes; only out to {hyper:#x} is a hypercall) (rip {rip:#x})")]
    BadPort {
        dir: &'static str,
        port: u16,
        len: usize,
        hyper: u16,
        rip: u64,
    },
    #[error("engine accessed unbacked physical address {addr:#x} ({dir}) (rip {rip:#x})")]
    Mmio {
        addr: u64,
        dir: &'static str,
        rip: u64,
    },
    #[error("engine passed a bad hypercall block address {paddr:#x}: {reason}")]
    BadBlock { paddr: u64, reason: &'static str },
    #[error("KVM could not enter the engine (hardware entry failure reason {reason:#x})")]
    EntryFailed { reason: u64 },
    #[error("KVM internal error running the engine (suberror {suberror}) (rip {rip:#x})")]
    InternalError { suberror: u32, rip: u64 },
    #[error("unexpected VM exit {what} (rip {rip:#x})")]
    UnexpectedExit { what: String, rip: u64 },
}

impl LaunchError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        use LaunchError as E;
        match self {
            E::EngineUnreadable { .. } => ExitCode::EngineMissing,
            E::NotElf { .. } => ExitCode::NotElf,
            E::NotElf64 { .. } => ExitCode::NotElf64,
            E::WrongMachine { .. } => ExitCode::WrongMachine,
            E::BadImage { .. } => ExitCode::BadImage,
            E::AbiMissing { .. } | E::AbiMalformed { .. } | E::AbiVersion { .. } => {
                ExitCode::AbiMismatch
            }
            E::GuestUnreadable { .. } => ExitCode::GuestMissing,
            E::GuestEmpty { .. } => ExitCode::GuestEmpty,
            E::InitrdUnreadable { .. } | E::InitrdEmpty { .. } => ExitCode::InitrdBad,
            E::GuestFormat { .. } => ExitCode::GuestFormat,
            E::GuestInvalid { .. } => ExitCode::GuestInvalid,
            E::MemoryUnparsable { .. } => ExitCode::MemoryUnparsable,
            E::MemoryTooSmall { .. }
            | E::MemoryTooLarge { .. }
            | E::FilesTooLarge { .. }
            | E::GuestRamTooSmall { .. } => ExitCode::MemoryRange,
            E::AppendTooLong { .. } => ExitCode::Usage,
            E::KvmUnavailable { .. } => ExitCode::KvmUnavailable,
            E::Kvm { .. } | E::VmMemory { .. } | E::Thread(_) => ExitCode::Kvm,
            E::Engine(_) => ExitCode::EngineMisbehaved,
            E::DeviceOption { .. } => ExitCode::DeviceOption,
            E::DriveUnreadable { .. } => ExitCode::DriveUnreadable,
            E::DriveNotFile { .. } => ExitCode::DriveNotFile,
            E::DriveLocked { .. } => ExitCode::DriveLocked,
            E::Network(_) => ExitCode::Network,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct() {
        let all = [
            ExitCode::Success,
            ExitCode::Usage,
            ExitCode::EngineMissing,
            ExitCode::NotElf,
            ExitCode::NotElf64,
            ExitCode::WrongMachine,
            ExitCode::BadImage,
            ExitCode::AbiMismatch,
            ExitCode::GuestMissing,
            ExitCode::GuestEmpty,
            ExitCode::InitrdBad,
            ExitCode::GuestFormat,
            ExitCode::GuestInvalid,
            ExitCode::MemoryUnparsable,
            ExitCode::MemoryRange,
            ExitCode::KvmUnavailable,
            ExitCode::Kvm,
            ExitCode::EngineMisbehaved,
            ExitCode::DeviceOption,
            ExitCode::DriveUnreadable,
            ExitCode::DriveNotFile,
            ExitCode::DriveLocked,
            ExitCode::Network,
            ExitCode::EngineFailure(1),
        ];
        let mut codes: Vec<u8> = all.iter().map(|c| c.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn engine_failure_codes() {
        assert_eq!(ExitCode::EngineFailure(0).code(), 0);
        assert_eq!(ExitCode::EngineFailure(1).code(), 101);
        assert_eq!(ExitCode::EngineFailure(155).code(), 255);
        assert_eq!(ExitCode::EngineFailure(u64::MAX).code(), 255);
    }
}
