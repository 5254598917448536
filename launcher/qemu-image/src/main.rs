//! `qemu-image --engine ENGINE --out IMAGE [--guest FILE [--initrd FILE] [--append STR]
//! [--memory SIZE]] [--ramdisk FILE]`: wraps the engine ELF (and the guest package as the
//! bootloader's ramdisk) into a BIOS disk image for `qemu-system-x86_64`. Engine options
//! go through QEMU's fw_cfg at run time (`-fw_cfg name=opt/hvarm/args,string=--selftest`),
//! so one image serves every run.
//!
//! `--guest` takes what the launcher's `--guest` takes (a FIT or a raw arm64 `Image`);
//! the ramdisk is then the same package the launcher hands the engine
//! (`shared_abi::boot::make_package`): kernel, initrd, a DTB whose memory node says
//! `--memory` bytes (default 512M, the guest RAM the engine uses on this path) and
//! the command line. `--ramdisk` passes a file through unchanged instead (for probes).

use std::path::PathBuf;
use std::process::ExitCode;

use shared_abi::boot::{make_package, BootError};
use shared_abi::layout::{DEFAULT_GUEST_RAM, MAX_GUEST_RAM, MIN_GUEST_RAM};

const USAGE: &str = "usage: qemu-image --engine ENGINE --out IMAGE [--guest FILE [--initrd FILE] [--append STR] [--memory SIZE]] [--ramdisk FILE]";

/// QEMU-style size: a plain number is MiB; K/M/G/T suffixes (binary).
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        (i, 'T' | 't') => (&s[..i], 1 << 40),
        _ => (s, 1 << 20),
    };
    let v: f64 = num.parse().ok()?;
    let bytes = v * mult as f64;
    (v.is_finite() && v >= 0.0 && bytes < u64::MAX as f64).then(|| (bytes as u64 + 0xfff) & !0xfff)
}

/// A failure: the process exit code (the launcher's code for the same problem where
/// there is one) and the message.
struct Fail(u8, String);

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail(1, s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail(1, s.to_string())
    }
}

fn run() -> Result<(), Fail> {
    let (mut engine, mut out, mut ramdisk, mut guest, mut initrd, mut append, mut memory) =
        (None, None, None, None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args
            .next()
            .ok_or_else(|| Fail(2, format!("{a} needs a value; {USAGE}")))?;
        match a.as_str() {
            "--engine" => engine = Some(PathBuf::from(v)),
            "--out" => out = Some(PathBuf::from(v)),
            "--ramdisk" => ramdisk = Some(PathBuf::from(v)),
            "--guest" => guest = Some(PathBuf::from(v)),
            "--initrd" => initrd = Some(PathBuf::from(v)),
            "--append" => append = Some(v),
            "--memory" | "-m" => memory = Some(v),
            _ => return Err(Fail(2, format!("unknown argument {a:?}; {USAGE}"))),
        }
    }
    let (Some(engine), Some(out)) = (engine, out) else {
        return Err(Fail(2, USAGE.into()));
    };
    if guest.is_some() && ramdisk.is_some() {
        return Err("--guest and --ramdisk exclude each other".into());
    }
    if guest.is_none() && (initrd.is_some() || append.is_some() || memory.is_some()) {
        return Err("--initrd, --append and --memory need --guest".into());
    }
    for (p, code) in [
        (Some(&engine), 10),
        (ramdisk.as_ref(), 20),
        (guest.as_ref(), 20),
        (initrd.as_ref(), 22),
    ] {
        if let Some(p) = p.filter(|p| !p.is_file()) {
            return Err(Fail(code, format!("{} does not exist", p.display())));
        }
    }
    let ram = match &memory {
        None => DEFAULT_GUEST_RAM,
        Some(m) => parse_size(m)
            .filter(|b| (MIN_GUEST_RAM..=MAX_GUEST_RAM).contains(b))
            .ok_or_else(|| Fail(31, format!("bad guest memory size {m:?} (16M..255G)")))?,
    };
    let mut b = bootloader::DiskImageBuilder::new(engine);
    // Keep the serial console for the engine alone.
    let mut cfg = bootloader::BootConfig::default();
    cfg.serial_logging = false;
    cfg.frame_buffer_logging = false;
    b.set_boot_config(&cfg);
    if let Some(g) = guest {
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
        let data = read(&g)?;
        let rd = initrd.as_ref().map(read).transpose()?;
        let pkg = make_package(&data, rd.as_deref(), append.as_deref(), ram).map_err(|e| {
            let code = match e {
                BootError::UnknownFormat => 23,
                BootError::RamTooSmall { .. } => 31,
                BootError::BootargsTooLong { .. } => 2,
                _ => 24,
            };
            Fail(code, format!("guest file {}: {e}", g.display()))
        })?;
        let path = out.with_extension("package");
        std::fs::write(&path, &pkg.blob).map_err(|e| format!("{}: {e}", path.display()))?;
        b.set_ramdisk(path);
    } else if let Some(r) = ramdisk {
        b.set_ramdisk(r);
    }
    b.create_bios_image(&out)
        .map_err(|e| Fail(1, format!("{e:#}")))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(code, e)) => {
            eprintln!("qemu-image: {e}");
            ExitCode::from(code)
        }
    }
}
