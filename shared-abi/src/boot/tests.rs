extern crate std;

use super::*;
use crate::guest::RAM_BASE;

const MIB: u64 = 1 << 20;

/// A fake arm64 Image: header with `text_offset`/`image_size`, `len` bytes.
fn fake_image(text_offset: u64, image_size: u64, flags: u64, len: usize) -> std::vec::Vec<u8> {
    let mut k = std::vec![0u8; len.max(64)];
    k[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b #0x40
    k[8..16].copy_from_slice(&text_offset.to_le_bytes());
    k[16..24].copy_from_slice(&image_size.to_le_bytes());
    k[24..32].copy_from_slice(&flags.to_le_bytes());
    k[56..60].copy_from_slice(b"ARM\x64");
    for (i, b) in k.iter_mut().enumerate().skip(64) {
        *b = (i * 7) as u8;
    }
    k
}

#[test]
fn image_header() {
    let k = fake_image(0, 30 * MIB, 0xa, 4096);
    assert!(is_arm64_image(&k));
    assert_eq!(
        arm64_image_header(&k),
        Ok(ImageHeader {
            text_offset: 0,
            image_size: 30 * MIB,
            flags: 0xa
        })
    );
    // Before 3.17: image_size 0 means text_offset 0x80000.
    let k = fake_image(0x1234, 0, 0, 64);
    assert_eq!(arm64_image_header(&k).unwrap().text_offset, 0x80000);
    assert_eq!(
        arm64_image_header(&fake_image(0, MIB, 1, 64)),
        Err(BootError::BigEndianKernel)
    );
    let mut bad = fake_image(0, MIB, 0, 64);
    bad[56] = b'X';
    assert_eq!(arm64_image_header(&bad), Err(BootError::NotImage));
    assert_eq!(arm64_image_header(&k[..60]), Err(BootError::NotImage));
    assert_eq!(arm64_image_header(&[]), Err(BootError::NotImage));
}

#[test]
fn layout_512m() {
    let hdr = ImageHeader {
        text_offset: 0,
        image_size: 40 * MIB,
        flags: 0xa,
    };
    let l = boot_layout(RAM_BASE, 512 * MIB, &hdr, 30 * MIB, 5 * MIB + 17, 4000).unwrap();
    assert_eq!(l.kernel_addr, RAM_BASE);
    assert_eq!(l.dtb_addr, RAM_BASE + 510 * MIB);
    assert_eq!(
        l.initrd_addr,
        (RAM_BASE + 510 * MIB - 5 * MIB - 17) & !0xfff
    );
    assert_eq!(l.initrd_addr % 4096, 0);
    // text_offset is honoured; an unaligned RAM base rounds up to 2 MiB.
    let hdr2 = ImageHeader {
        text_offset: 0x8_0000,
        ..hdr
    };
    let l = boot_layout(RAM_BASE + 4096, 64 * MIB, &hdr2, MIB, 0, 100).unwrap();
    assert_eq!(l.kernel_addr, RAM_BASE + 2 * MIB + 0x8_0000);
    assert_eq!(l.initrd_addr, l.dtb_addr);
    // A RAM size that is not a 2 MiB multiple: the DTB stays inside RAM and inside
    // one 2 MiB block.
    let l = boot_layout(RAM_BASE, 64 * MIB + 8192, &hdr2, MIB, 0, 12288).unwrap();
    assert_eq!(l.dtb_addr, RAM_BASE + 62 * MIB);
    assert!(l.dtb_addr + 12288 <= RAM_BASE + 64 * MIB + 8192);
}

#[test]
fn layout_errors() {
    let hdr = ImageHeader {
        text_offset: 0,
        image_size: 40 * MIB,
        flags: 0,
    };
    // Kernel (40 MiB) + initrd (30 MiB) + DTB block do not fit in 64 MiB.
    let e = boot_layout(RAM_BASE, 64 * MIB, &hdr, 30 * MIB, 30 * MIB, 4096).unwrap_err();
    assert!(
        matches!(e, BootError::RamTooSmall { ram, need } if ram == 64 * MIB && need > 64 * MIB),
        "{e:?}"
    );
    // Kernel alone larger than RAM.
    assert!(matches!(
        boot_layout(RAM_BASE, 16 * MIB, &hdr, MIB, 0, 4096),
        Err(BootError::RamTooSmall { .. })
    ));
    // Tight fit: kernel 40 MiB, initrd up to the DTB block.
    let ok = boot_layout(RAM_BASE, 64 * MIB, &hdr, MIB, 22 * MIB, 4096).unwrap();
    assert_eq!(ok.initrd_addr, RAM_BASE + 40 * MIB);
    assert!(boot_layout(RAM_BASE, 64 * MIB, &hdr, MIB, 22 * MIB + 1, 4096).is_err());
    assert_eq!(
        boot_layout(RAM_BASE, 64 * MIB, &hdr, MIB, 0, 3 * MIB),
        Err(BootError::DtbTooLarge(3 * MIB))
    );
    // Overflowing inputs are errors, not panics.
    assert!(boot_layout(u64::MAX - 10, 64 * MIB, &hdr, MIB, 0, 4096).is_err());
    assert!(boot_layout(RAM_BASE, u64::MAX, &hdr, MIB, 0, 4096).is_err());
    assert!(boot_layout(RAM_BASE, 64 * MIB, &hdr, u64::MAX, 0, 4096).is_err());
    assert!(boot_layout(RAM_BASE, 64 * MIB, &hdr, MIB, u64::MAX, 4096).is_err());
    let huge = ImageHeader {
        text_offset: u64::MAX,
        ..hdr
    };
    assert!(boot_layout(RAM_BASE, 64 * MIB, &huge, MIB, 0, 4096).is_err());
    assert!(boot_layout(0, 0, &hdr, 0, 0, 0).is_err());
}

/// A hand-built FDT: header + struct + strings from raw tokens.
fn raw_fdt(structs: &[u32], strings: &[u8]) -> std::vec::Vec<u8> {
    let off_struct = 40 + 16; // header + one empty reservation entry
    let size_struct = structs.len() * 4;
    let off_strings = off_struct + size_struct;
    let total = off_strings + strings.len();
    let mut b = std::vec::Vec::new();
    for v in [
        FDT_MAGIC,
        total as u32,
        off_struct as u32,
        off_strings as u32,
        40,
        17,
        16,
        0,
        strings.len() as u32,
        size_struct as u32,
    ] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(&[0; 16]);
    for t in structs {
        b.extend_from_slice(&t.to_be_bytes());
    }
    b.extend_from_slice(strings);
    b
}

#[test]
fn fdt_malformed() {
    assert_eq!(Fdt::new(b"\x7fELF").unwrap_err(), BootError::NotFdt);
    assert_eq!(parse_package(&[0u8; 100]).unwrap_err(), BootError::NotFdt);
    assert!(matches!(
        Fdt::new(&[0xd0, 0x0d, 0xfe, 0xed]),
        Err(BootError::BadFdt(_))
    ));
    assert!(Fdt::new(&[]).is_err());
    // Root node "" with one property (nameoff 0 = "data"), then END_NODE, END.
    let good = raw_fdt(&[1, 0, 3, 4, 0, 0xdead_beef, 2, 9], b"data\0");
    let fdt = Fdt::new(&good).unwrap();
    let root = fdt.root().unwrap();
    assert_eq!(
        root.property("data").unwrap(),
        Some(&[0xde, 0xad, 0xbe, 0xef][..])
    );
    assert_eq!(root.property_int("data").unwrap(), Some(0xdead_beef));
    assert_eq!(root.child("x").unwrap().map(|n| n.name), None);
    // Name offset outside the strings block.
    let bad = raw_fdt(&[1, 0, 3, 4, 99, 0, 2, 9], b"data\0");
    assert!(Fdt::new(&bad)
        .unwrap()
        .root()
        .unwrap()
        .property("data")
        .is_err());
    // Property length beyond the block.
    let bad = raw_fdt(&[1, 0, 3, 0x7fff_fff0, 0, 0, 2, 9], b"data\0");
    assert!(Fdt::new(&bad)
        .unwrap()
        .root()
        .unwrap()
        .property("data")
        .is_err());
    let bad = raw_fdt(&[1, 0, 3, u32::MAX, 0, 0, 2, 9], b"data\0");
    assert!(Fdt::new(&bad)
        .unwrap()
        .root()
        .unwrap()
        .property("data")
        .is_err());
    // Unknown token, missing END_NODE, unterminated name.
    let bad = raw_fdt(&[1, 0, 7, 2, 9], b"");
    assert!(Fdt::new(&bad)
        .unwrap()
        .root()
        .unwrap()
        .property("x")
        .is_err());
    let bad = raw_fdt(&[1, 0, 1, 0x6100_0000, 9], b"");
    assert!(Fdt::new(&bad).unwrap().root().unwrap().child("b").is_err());
    let bad = raw_fdt(&[1, 0x6161_6161], b"");
    assert!(Fdt::new(&bad).unwrap().root().is_err());
    // Deep nesting is refused, not recursed into.
    let mut deep = std::vec![1u32, 0];
    for _ in 0..200 {
        deep.extend_from_slice(&[1, 0x6100_0000]);
    }
    deep.extend_from_slice(&[2; 201]);
    deep.push(9);
    let deep = raw_fdt(&deep, b"");
    let r = Fdt::new(&deep).unwrap().root().unwrap();
    assert!(r.child("b").is_err());
    // Header lies: totalsize beyond the file, blocks beyond totalsize, bad version.
    let mut b = good.clone();
    b[4..8].copy_from_slice(&(good.len() as u32 + 1).to_be_bytes());
    assert!(Fdt::new(&b).is_err());
    let mut b = good.clone();
    b[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(Fdt::new(&b).is_err());
    let mut b = good.clone();
    b[36..40].copy_from_slice(&0x1000u32.to_be_bytes());
    assert!(Fdt::new(&b).is_err());
    let mut b = good.clone();
    b[20..24].copy_from_slice(&2u32.to_be_bytes());
    assert!(Fdt::new(&b).is_err());
    // A valid FDT that is not a FIT.
    assert_eq!(
        parse_package(&good),
        Err(BootError::BadFit("no /images node"))
    );
}

#[cfg(feature = "std")]
mod with_std {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("shared-abi-boot-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn tool(name: &str, package: &str) -> PathBuf {
        let found = std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|f| f.is_file())
        });
        found.unwrap_or_else(|| {
            panic!("this test needs `{name}` (Debian package {package}; .ci/setup installs it)")
        })
    }

    fn mkimage(dir: &Path, its: &str, extra: &[&str]) -> std::vec::Vec<u8> {
        std::fs::write(dir.join("t.its"), its).unwrap();
        let out = Command::new(tool("mkimage", "u-boot-tools"))
            .current_dir(dir)
            .args(extra)
            .args(["-f", "t.its", "t.fit"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mkimage failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(dir.join("t.fit")).unwrap()
    }

    const ITS: &str = r#"/dts-v1/;
/ {
    description = "test";
    #address-cells = <1>;
    images {
        kernel-1 {
            data = /incbin/("Image");
            type = "kernel"; arch = "arm64"; os = "linux"; compression = "none";
            load = <0x40000000>; entry = <0x40000000>;
            hash-1 { algo = "sha256"; };
        };
        ramdisk-1 {
            data = /incbin/("initrd");
            type = "ramdisk"; arch = "arm64"; os = "linux"; compression = "none";
        };
        fdt-1 {
            data = /incbin/("dtb");
            type = "flat_dt"; arch = "arm64"; compression = "none";
        };
    };
    configurations {
        default = "conf-2";
        conf-1 { kernel = "kernel-1"; bootargs = "wrong"; };
        conf-2 { kernel = "kernel-1"; ramdisk = "ramdisk-1"; fdt = "fdt-1"; bootargs = "console=ttyAMA0 rdinit=/init"; };
    };
};
"#;

    #[test]
    fn parses_mkimage_fit() {
        let d = scratch("mkimage");
        let kernel = fake_image(0, 3 * MIB, 0xa, 100_001);
        let initrd: std::vec::Vec<u8> = (0..54_321u32).map(|i| (i * 13 + 1) as u8).collect();
        let dtb = build_dtb(&DtbConfig {
            ram_size: 256 * MIB,
            bootargs: "x",
            initrd: None,
            rng_seed: None,
        })
        .unwrap();
        std::fs::write(d.join("Image"), &kernel).unwrap();
        std::fs::write(d.join("initrd"), &initrd).unwrap();
        std::fs::write(d.join("dtb"), &dtb).unwrap();
        // Embedded data, external data (data-offset) and external at a fixed
        // position (data-position).
        for extra in [&[][..], &["-E"][..], &["-E", "-p", "0x2000"][..]] {
            let fit = mkimage(&d, ITS, extra);
            let p = parse_package(&fit).unwrap_or_else(|e| panic!("{extra:?}: {e}"));
            assert_eq!(p.kernel, &kernel[..], "{extra:?}");
            assert_eq!(p.initrd, Some(&initrd[..]), "{extra:?}");
            assert_eq!(p.dtb, Some(&dtb[..]), "{extra:?}");
            assert_eq!(p.bootargs, Some("console=ttyAMA0 rdinit=/init"));
            // Every truncation of the file fails cleanly (checked on a sample of cuts;
            // mkimage pads external data to 4 bytes, so the last 3 may be padding).
            let cuts = (0..fit.len())
                .step_by(97)
                .chain(fit.len() - 8..fit.len() - 3);
            for cut in cuts {
                assert!(
                    parse_package(&fit[..cut]).is_err(),
                    "{extra:?} cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn package_roundtrip() {
        let kernel = fake_image(0x8_0000, 3 * MIB, 0xa, 70_000);
        let initrd = std::vec![0x1f, 0x8b, 8, 0, 1, 2, 3];
        let dtb = build_dtb(&DtbConfig {
            ram_size: 512 * MIB,
            bootargs: "console=ttyAMA0",
            initrd: Some((0x5000_0000, 0x5000_0007)),
            rng_seed: None,
        })
        .unwrap();
        let fit = build_package(
            &kernel,
            Some(&initrd),
            Some(&dtb),
            Some("console=ttyAMA0 quiet"),
        )
        .unwrap();
        let p = parse_package(&fit).unwrap();
        assert_eq!(p.kernel, &kernel[..]);
        assert_eq!(p.initrd, Some(&initrd[..]));
        assert_eq!(p.dtb, Some(&dtb[..]));
        assert_eq!(p.bootargs, Some("console=ttyAMA0 quiet"));
        let fit = build_package(&kernel, None, None, None).unwrap();
        assert_eq!(
            parse_package(&fit).unwrap(),
            GuestPackage {
                kernel: &kernel,
                initrd: None,
                dtb: None,
                bootargs: None
            }
        );
        // The load address follows text_offset.
        let fdt = Fdt::new(&fit).unwrap();
        let k = fdt
            .root()
            .unwrap()
            .child("images")
            .unwrap()
            .unwrap()
            .child("kernel-1")
            .unwrap()
            .unwrap();
        assert_eq!(k.property_int("load").unwrap(), Some(RAM_BASE + 0x8_0000));
        assert!(build_package(&kernel, None, None, Some("a\0b")).is_err());
    }

    /// Flips bytes all over a package: parse_package may fail but must not panic, and
    /// any data it returns lies inside the input.
    #[test]
    fn corrupted_packages_never_panic() {
        let kernel = fake_image(0, MIB, 0, 300);
        let fit = build_package(&kernel, Some(b"initrd"), Some(b"dtb!"), Some("args")).unwrap();
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut failures = 0;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut b = fit.clone();
            let at = (seed % b.len() as u64) as usize;
            b[at] = (seed >> 40) as u8;
            if (seed >> 32) & 3 == 0 {
                let at2 = ((seed >> 20) % b.len() as u64) as usize;
                b[at2] ^= 0xff;
            }
            match parse_package(&b) {
                Ok(p) => {
                    let inside = |s: &[u8]| {
                        let r = b.as_ptr_range();
                        s.is_empty()
                            || (r.contains(&s.as_ptr())
                                && s.as_ptr() as usize + s.len() <= r.end as usize)
                    };
                    assert!(inside(p.kernel));
                    assert!(p.initrd.is_none_or(inside) && p.dtb.is_none_or(inside));
                }
                Err(_) => failures += 1,
            }
        }
        assert!(
            failures > 100,
            "corruption should break some parses ({failures})"
        );
    }

    #[test]
    fn fit_errors() {
        let kernel = fake_image(0, MIB, 0, 300);
        let d = scratch("fit-errors");
        std::fs::write(d.join("Image"), &kernel).unwrap();
        std::fs::write(d.join("initrd"), b"i").unwrap();
        std::fs::write(d.join("dtb"), b"d").unwrap();
        let missing = ITS.replace("ramdisk = \"ramdisk-1\"", "ramdisk = \"ramdisk-9\"");
        assert_eq!(
            parse_package(&mkimage(&d, &missing, &[])),
            Err(BootError::BadFit("configuration names a missing image"))
        );
        let gz = ITS.replace(
            "type = \"ramdisk\"; arch = \"arm64\"; os = \"linux\"; compression = \"none\"",
            "type = \"ramdisk\"; arch = \"arm64\"; os = \"linux\"; compression = \"gzip\"",
        );
        assert_eq!(
            parse_package(&mkimage(&d, &gz, &[])),
            Err(BootError::Compressed("ramdisk"))
        );
        let nodefault = ITS.replace("default = \"conf-2\";", "");
        assert_eq!(
            parse_package(&mkimage(&d, &nodefault, &[]))
                .unwrap()
                .bootargs,
            Some("wrong")
        );
        let arm32 = ITS.replace(
            "type = \"kernel\"; arch = \"arm64\"",
            "type = \"kernel\"; arch = \"arm\"",
        );
        assert!(parse_package(&mkimage(&d, &arm32, &[])).is_err());
    }

    #[test]
    fn dtb_is_valid() {
        let dtb = build_dtb(&DtbConfig {
            ram_size: 512 * MIB,
            bootargs: "console=ttyAMA0 rdinit=/init",
            initrd: Some((0x5f00_0000, 0x5f12_3456)),
            rng_seed: Some(&[7; 32]),
        })
        .unwrap();
        let d = scratch("dtc");
        std::fs::write(d.join("t.dtb"), &dtb).unwrap();
        let out = Command::new(tool("dtc", "device-tree-compiler"))
            .args(["-I", "dtb", "-O", "dts", "-o", "-"])
            .arg(d.join("t.dtb"))
            .output()
            .unwrap();
        let dts = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "dtc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for needle in [
            "bootargs = \"console=ttyAMA0 rdinit=/init\"",
            "stdout-path = \"/pl011@9000000\"",
            "linux,initrd-start = <0x00 0x5f000000>",
            "linux,initrd-end = <0x00 0x5f123456>",
            "rng-seed = <0x7070707 0x7070707",
            "reg = <0x00 0x40000000 0x00 0x20000000>",
            "compatible = \"arm,cortex-a72\"",
            "enable-method = \"psci\"",
            "compatible = \"arm,psci-1.0\\0arm,psci-0.2\"",
            "method = \"hvc\"",
            "interrupts = <0x01 0x0d 0x104 0x01 0x0e 0x104 0x01 0x0b 0x104 0x01 0x0a 0x104>",
            "compatible = \"arm,cortex-a15-gic\"",
            "reg = <0x00 0x8000000 0x00 0x10000 0x00 0x8010000 0x00 0x10000>",
            "compatible = \"arm,pl011\\0arm,primecell\"",
            "interrupts = <0x00 0x01 0x04>",
            "compatible = \"arm,pl031\\0arm,primecell\"",
            "interrupts = <0x00 0x02 0x04>",
            "clock-frequency = <0x16e3600>",
            "interrupt-parent = <0x01>",
        ] {
            assert!(dts.contains(needle), "missing {needle:?} in:\n{dts}");
        }
        // dtc does not warn about the structure either.
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("Warning"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Our own reader agrees.
        let fdt = Fdt::new(&dtb).unwrap();
        let chosen = fdt.root().unwrap().child("chosen").unwrap().unwrap();
        assert_eq!(
            chosen.property_int("linux,initrd-end").unwrap(),
            Some(0x5f12_3456)
        );
        assert!(build_dtb(&DtbConfig {
            ram_size: MIB,
            bootargs: "a\0",
            initrd: None,
            rng_seed: None,
        })
        .is_err());
    }
}
