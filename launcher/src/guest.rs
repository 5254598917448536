//! Turns the user's guest files into the one package the engine boots.
//!
//! `--guest` is a FIT image (FDT magic; see `shared_abi::boot`) or a raw arm64 `Image`
//! (magic "ARM\x64" at offset 56). With a FIT, its ramdisk and `bootargs` are used
//! unless `--initrd` / `--append` override them (a DTB inside the FIT is ignored: the
//! platform is ours). With an `Image`, `--initrd` and `--append` are used as QEMU uses
//! them (default command line [`DEFAULT_APPEND`]).
//!
//! The launcher then places the files in guest RAM ([`boot_layout`]), builds the DTB
//! with the initrd's addresses and hands the engine a FIT with kernel, initrd, DTB and
//! command line ([`build_package`]); the engine places the files with the same
//! `boot_layout`, so both agree.

use std::path::Path;

use shared_abi::boot::{make_package_seeded, BootError, Package};

use crate::error::LaunchError;

pub use shared_abi::boot::DEFAULT_BOOTARGS as DEFAULT_APPEND;

/// Builds the guest package (`shared_abi::boot::make_package`) from the `--guest`
/// file at `path`, an optional `--initrd` and `--append`, for `guest_ram` bytes of RAM.
pub fn prepare(
    path: &Path,
    guest: &[u8],
    initrd: Option<&[u8]>,
    append: Option<&str>,
    guest_ram: u64,
) -> Result<Package, LaunchError> {
    // A fresh seed for the guest's random pool, as QEMU's `virt` gives one (the boot
    // goes on without it if the host has no /dev/urandom).
    let mut seed = [0u8; 32];
    let seeded = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
        .is_ok();
    make_package_seeded(
        guest,
        initrd,
        append,
        guest_ram,
        seeded.then_some(&seed[..]),
    )
    .map_err(|reason| match reason {
        BootError::UnknownFormat => LaunchError::GuestFormat {
            path: path.to_path_buf(),
        },
        BootError::RamTooSmall { .. } => LaunchError::GuestRamTooSmall { reason },
        BootError::BootargsTooLong { len, max } => LaunchError::AppendTooLong { len, max },
        reason => LaunchError::GuestInvalid {
            path: path.to_path_buf(),
            reason,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::MAX_APPEND;
    use shared_abi::boot::{
        arm64_image_header, boot_layout, build_package, dtb_memory, package_layout, parse_package,
        Fdt,
    };
    use shared_abi::guest::RAM_BASE;

    fn image(len: usize) -> Vec<u8> {
        let mut k = vec![0u8; len];
        k[16..24].copy_from_slice(&(8u64 << 20).to_le_bytes());
        k[24..32].copy_from_slice(&0xau64.to_le_bytes());
        k[56..60].copy_from_slice(b"ARM\x64");
        k
    }

    fn chosen_int(dtb: &[u8], name: &str) -> Option<u64> {
        let fdt = Fdt::new(dtb).unwrap();
        let chosen = fdt.root().unwrap().child("chosen").unwrap().unwrap();
        chosen.property_int(name).unwrap()
    }

    #[test]
    fn raw_image_with_initrd() {
        let k = image(5000);
        let p = prepare(
            Path::new("Image"),
            &k,
            Some(b"\x1f\x8bINITRD"),
            None,
            64 << 20,
        )
        .unwrap();
        assert_eq!(p.bootargs, DEFAULT_APPEND);
        let pkg = parse_package(&p.blob).unwrap();
        assert_eq!(pkg.kernel, &k[..]);
        assert_eq!(pkg.initrd, Some(&b"\x1f\x8bINITRD"[..]));
        assert_eq!(pkg.bootargs, Some(DEFAULT_APPEND));
        let dtb = pkg.dtb.unwrap();
        let start = chosen_int(dtb, "linux,initrd-start").unwrap();
        assert_eq!(start, p.layout.initrd_addr);
        assert_eq!(chosen_int(dtb, "linux,initrd-end"), Some(start + 8));
        // The engine recomputes the same layout from the package.
        let hdr = arm64_image_header(pkg.kernel).unwrap();
        let again = boot_layout(RAM_BASE, 64 << 20, &hdr, 5000, 8, dtb.len() as u64).unwrap();
        assert_eq!(again, p.layout);
        assert_eq!(package_layout(&pkg, RAM_BASE, 64 << 20).unwrap(), p.layout);
        assert_eq!(dtb_memory(dtb).unwrap(), (RAM_BASE, 64 << 20));
    }

    #[test]
    fn fit_defaults_and_overrides() {
        let k = image(5000);
        let fit = build_package(&k, Some(b"fit-initrd"), None, Some("from fit")).unwrap();
        let p = prepare(Path::new("f"), &fit, None, None, 64 << 20).unwrap();
        let pkg = parse_package(&p.blob).unwrap();
        assert_eq!(pkg.initrd, Some(&b"fit-initrd"[..]));
        assert_eq!(pkg.bootargs, Some("from fit"));
        let p = prepare(Path::new("f"), &fit, Some(b"mine"), Some("cli"), 64 << 20).unwrap();
        let pkg = parse_package(&p.blob).unwrap();
        assert_eq!(pkg.initrd, Some(&b"mine"[..]));
        assert_eq!(pkg.bootargs, Some("cli"));
        assert_eq!(p.bootargs, "cli");
    }

    #[test]
    fn rejects() {
        let e = prepare(Path::new("x"), b"hello world", None, None, 64 << 20).unwrap_err();
        assert_eq!(e.exit_code().code(), 23);
        assert!(e
            .to_string()
            .contains("neither a FIT image nor an arm64 kernel Image"));
        let e = prepare(
            Path::new("x"),
            &[0xd0, 0x0d, 0xfe, 0xed, 0, 0],
            None,
            None,
            64 << 20,
        )
        .unwrap_err();
        assert_eq!(e.exit_code().code(), 24, "{e}");
        let big = vec![0u8; 8 << 20];
        let e = prepare(Path::new("x"), &image(5000), Some(&big), None, 16 << 20).unwrap_err();
        assert_eq!(e.exit_code().code(), 31, "{e}");
        assert!(e.to_string().contains("too small"), "{e}");
        let long = "x".repeat(MAX_APPEND + 1);
        let fit = build_package(&image(5000), None, None, Some(&long)).unwrap();
        let e = prepare(Path::new("x"), &fit, None, None, 64 << 20).unwrap_err();
        assert_eq!(e.exit_code().code(), 2, "{e}");
    }
}
