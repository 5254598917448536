//! The command line.

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use shared_abi::layout::DEFAULT_GUEST_RAM;

use crate::error::LaunchError;
use crate::size::parse_size;
use crate::vm::{check_guest_ram, Config};

/// Runs the AArch64 translation engine in a KVM virtual machine.
#[derive(Debug, Parser)]
#[command(name = "launcher", version)]
pub struct Cli {
    /// The engine ELF [default: the one this workspace builds with `cargo engine`]
    #[arg(long, value_name = "PATH")]
    pub engine: Option<PathBuf>,
    /// The guest: a FIT image (kernel, ramdisk, bootargs; see tests/guest/build-image)
    /// or a raw arm64 Linux `Image` (QEMU's `-kernel` is the same)
    #[arg(
        long,
        alias = "kernel",
        value_name = "PATH",
        required_unless_present = "selftest"
    )]
    pub guest: Option<PathBuf>,
    /// An initial ramdisk for the guest (overrides the FIT's)
    #[arg(long, value_name = "PATH")]
    pub initrd: Option<PathBuf>,
    /// The guest kernel command line [default: the FIT's bootargs, else "console=ttyAMA0"]
    #[arg(long, value_name = "STR")]
    pub append: Option<String>,
    /// Guest RAM (QEMU syntax: a plain number is MiB; K/M/G/T suffixes; 1.5G works)
    #[arg(short = 'm', long = "memory", value_name = "SIZE")]
    pub memory: Option<String>,
    /// Print statistics on exit
    #[arg(long)]
    pub stats: bool,
    /// How guest code runs: translated to x86-64 (`jit`) or on the reference
    /// interpreter (`interp`)
    #[arg(long, value_enum, default_value_t = CpuMode::Jit)]
    pub cpu: CpuMode,
    /// Run the engine's self-tests instead of a guest
    #[arg(long)]
    pub selftest: bool,
    /// A virtio disk: `file=PATH[,format=raw][,if=virtio][,readonly=on]` (QEMU's `-drive`)
    #[arg(long, value_name = "OPTS")]
    pub drive: Vec<String>,
    /// `virtio-rng-device`, or `virtio-net-device,netdev=ID` (QEMU's `-device`)
    #[arg(long, value_name = "OPTS")]
    pub device: Vec<String>,
    /// User-mode networking: `user[,hostfwd=tcp:[ADDR]:PORT-:PORT]...` (QEMU's `-nic`)
    #[arg(long, value_name = "OPTS")]
    pub nic: Vec<String>,
    /// A user-mode network back end: `user,id=ID[,hostfwd=...]` (QEMU's `-netdev`)
    #[arg(long, value_name = "OPTS")]
    pub netdev: Vec<String>,
    /// Accepted for QEMU compatibility: the serial console on stdio is the only mode
    #[arg(long)]
    pub nographic: bool,
}

/// How the engine runs guest code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CpuMode {
    /// The translator (x86-64 code).
    Jit,
    /// The reference interpreter.
    Interp,
}

/// Where the default engine is looked for: next to this executable's target directory
/// (`<target>/release/launcher` -> `<target>/x86_64-unknown-none/release/engine`), then
/// the workspace's own `target/`.
pub fn default_engine() -> PathBuf {
    let beside = std::env::current_exe().ok().and_then(|exe| {
        let p = exe.parent()?.join("../x86_64-unknown-none/release/engine");
        p.exists().then_some(p)
    });
    beside.unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/x86_64-unknown-none/release/engine"
        ))
    })
}

impl Cli {
    /// Turns the parsed command line into a run configuration (checks `-m`).
    pub fn into_config(self, start: Instant) -> Result<Config, LaunchError> {
        let guest_ram = match &self.memory {
            None => DEFAULT_GUEST_RAM,
            Some(s) => {
                let bytes = parse_size(s).map_err(|e| LaunchError::MemoryUnparsable {
                    input: s.clone(),
                    reason: match e {
                        crate::size::SizeError::Empty => "it is empty",
                        crate::size::SizeError::Syntax => {
                            "expected a number with an optional K/M/G/T suffix, e.g. 512M or 1.5G"
                        }
                        crate::size::SizeError::Suffix => "unknown suffix (use K, M, G or T)",
                        crate::size::SizeError::Overflow => "it is too large",
                    },
                })?;
                check_guest_ram(bytes, s)?
            }
        };
        let (engine, engine_hint) = match self.engine {
            Some(p) => (p, ""),
            None => (
                default_engine(),
                " (build the engine with `cargo engine`, or pass --engine PATH)",
            ),
        };
        let devices =
            crate::devopts::parse_devices(&self.drive, &self.device, &self.nic, &self.netdev)?;
        Ok(Config {
            devices,
            engine,
            engine_hint,
            guest: self.guest,
            initrd: self.initrd,
            append: self.append,
            guest_ram,
            stats: self.stats,
            interp: self.cpu == CpuMode::Interp,
            selftest: self.selftest,
            start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let argv = std::iter::once("launcher").chain(args.iter().copied());
        let argv = crate::devopts::rewrite_args(argv.map(String::from).collect())?;
        let cli = Cli::try_parse_from(argv).map_err(|e| format!("clap: {}", e.kind()))?;
        cli.into_config(Instant::now()).map_err(|e| e.to_string())
    }

    #[test]
    fn options() {
        let c = parse(&["--guest", "g", "-m", "1.5G", "--append", "a b", "--stats"]).unwrap();
        assert_eq!(c.guest_ram, 3 << 29);
        assert_eq!(c.append.as_deref(), Some("a b"));
        assert!(c.stats && !c.selftest);
        assert!(c.engine.ends_with("x86_64-unknown-none/release/engine"));
        assert!(c.engine_hint.contains("cargo engine"));
        let c = parse(&["--selftest", "--memory", "64", "--engine", "/e"]).unwrap();
        assert_eq!(c.guest_ram, 64 << 20);
        assert_eq!(c.guest, None);
        assert_eq!(c.engine, PathBuf::from("/e"));
        assert_eq!(c.engine_hint, "");
        let c = parse(&["--selftest"]).unwrap();
        assert_eq!(c.guest_ram, DEFAULT_GUEST_RAM);
    }

    #[test]
    fn qemu_forms() {
        let c = parse(&[
            "-kernel",
            "Image",
            "-initrd",
            "i.gz",
            "-append",
            "console=ttyAMA0",
            "-m",
            "1G",
            "-nographic",
            "-drive",
            "file=d.img,format=raw,if=virtio,readonly=on",
            "-device",
            "virtio-rng-device",
        ])
        .unwrap();
        assert_eq!(c.guest.as_deref(), Some(std::path::Path::new("Image")));
        assert_eq!(c.initrd.as_deref(), Some(std::path::Path::new("i.gz")));
        assert_eq!(c.append.as_deref(), Some("console=ttyAMA0"));
        assert_eq!(c.guest_ram, 1 << 30);
        assert!(c.devices.rng);
        assert!(c.devices.drives[0].readonly);
        let e = parse(&["-kernel", "x", "-smp", "2"]).unwrap_err();
        assert_eq!(e, "unsupported option '-smp'");
        let e = parse(&["-kernel", "x", "-drive", "if=virtio"]).unwrap_err();
        assert!(e.contains("file=PATH is missing"), "{e}");
    }

    #[test]
    fn errors() {
        assert!(
            parse(&[]).unwrap_err().starts_with("clap"),
            "--guest required"
        );
        let e = parse(&["--selftest", "-m", "banana"]).unwrap_err();
        assert!(e.contains("\"banana\""), "{e}");
        let e = parse(&["--selftest", "-m", "1K"]).unwrap_err();
        assert_eq!(
            e,
            "memory size 1K is too small: the guest needs at least 16M"
        );
        let e = parse(&["--selftest", "-m", "1T"]).unwrap_err();
        assert!(e.contains("too large"), "{e}");
    }
}
