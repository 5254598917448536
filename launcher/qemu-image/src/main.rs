//! `qemu-image --engine ENGINE --out IMAGE [--ramdisk FILE]`: wraps the engine ELF (and
//! the guest file as the bootloader's ramdisk) into a BIOS disk image for
//! `qemu-system-x86_64`. Engine options go through QEMU's fw_cfg at run time
//! (`-fw_cfg name=opt/hvarm/args,string=--selftest`), so one image serves every run.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut engine = None;
    let mut out = None;
    let mut ramdisk = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let slot = match a.as_str() {
            "--engine" => &mut engine,
            "--out" => &mut out,
            "--ramdisk" => &mut ramdisk,
            _ => {
                eprintln!("qemu-image: unknown argument {a:?}; usage: qemu-image --engine ENGINE --out IMAGE [--ramdisk FILE]");
                return ExitCode::from(2);
            }
        };
        match args.next() {
            Some(v) => *slot = Some(PathBuf::from(v)),
            None => {
                eprintln!("qemu-image: {a} needs a value");
                return ExitCode::from(2);
            }
        }
    }
    let (Some(engine), Some(out)) = (engine, out) else {
        eprintln!("qemu-image: usage: qemu-image --engine ENGINE --out IMAGE [--ramdisk FILE]");
        return ExitCode::from(2);
    };
    for p in [Some(&engine), ramdisk.as_ref()].into_iter().flatten() {
        if !p.is_file() {
            eprintln!("qemu-image: {} does not exist", p.display());
            return ExitCode::from(1);
        }
    }
    let mut b = bootloader::DiskImageBuilder::new(engine);
    // Keep the serial console for the engine alone.
    let mut cfg = bootloader::BootConfig::default();
    cfg.serial_logging = false;
    cfg.frame_buffer_logging = false;
    b.set_boot_config(&cfg);
    if let Some(r) = ramdisk {
        b.set_ramdisk(r);
    }
    match b.create_bios_image(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qemu-image: {e:#}");
            ExitCode::from(1)
        }
    }
}
