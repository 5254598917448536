//! Loading the engine ELF: validation in a fixed order (ELF? 64-bit? x86-64? ET_EXEC
//! with PT_LOAD segments that fit? ABI marker?) and placement in VM memory.

use std::path::{Path, PathBuf};

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::header::{EM_X86_64, ET_EXEC};
use goblin::elf::program_header::PT_LOAD;
use goblin::elf::section_header::{SHN_XINDEX, SHT_NOBITS};
use goblin::elf::{Elf, ProgramHeader, SectionHeader};
use shared_abi::layout::{ENGINE_MAX_IMAGE, ENGINE_PHYS_BASE, ENGINE_VIRT_BASE};
use shared_abi::{AbiMarker, ABI_MAGIC, ABI_SECTION, ABI_VERSION};

use crate::error::{ImageError, LaunchError};
use crate::memory::{GuestMemory, OutOfRange};

/// One PT_LOAD segment, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// VM-physical load address.
    pub paddr: u64,
    /// Offset of its file data in the ELF.
    pub offset: usize,
    pub filesz: u64,
    pub memsz: u64,
}

/// A validated engine image.
#[derive(Debug)]
pub struct EngineImage {
    pub path: PathBuf,
    bytes: Vec<u8>,
    /// Virtual entry point.
    pub entry: u64,
    pub segments: Vec<Segment>,
    /// Bytes from `ENGINE_VIRT_BASE` to the end of the last segment.
    pub extent: u64,
}

/// Reads and validates the engine at `path`. `hint` is appended to a read error (how to
/// build the engine when the default path is missing).
pub fn read_engine(path: &Path, hint: &'static str) -> Result<EngineImage, LaunchError> {
    let bytes = std::fs::read(path).map_err(|source| LaunchError::EngineUnreadable {
        path: path.to_path_buf(),
        source,
        hint,
    })?;
    parse_engine(path, bytes)
}

fn bad(path: &Path, reason: ImageError) -> LaunchError {
    LaunchError::BadImage {
        path: path.to_path_buf(),
        reason,
    }
}

fn malformed(path: &Path, e: goblin::error::Error) -> LaunchError {
    // goblin's messages are one line; keep ours so whatever it says.
    let msg = e.to_string().replace('\n', " ");
    bad(path, ImageError::Malformed(msg))
}

/// Validates an engine ELF held in memory.
pub fn parse_engine(path: &Path, bytes: Vec<u8>) -> Result<EngineImage, LaunchError> {
    let p = || path.to_path_buf();
    if bytes.len() < 5 || bytes[..4] != *b"\x7fELF" {
        return Err(LaunchError::NotElf { path: p() });
    }
    match bytes[4] {
        2 => {}
        1 => {
            return Err(LaunchError::NotElf64 {
                path: p(),
                class: "it is a 32-bit ELF",
            })
        }
        _ => {
            return Err(LaunchError::NotElf64 {
                path: p(),
                class: "invalid ELF class",
            })
        }
    }
    let header = Elf::parse_header(&bytes).map_err(|e| malformed(path, e))?;
    if header.e_machine != EM_X86_64 {
        return Err(LaunchError::WrongMachine {
            path: p(),
            machine: machine_name(header.e_machine),
            e_machine: header.e_machine,
        });
    }
    if bytes.get(5) != Some(&1) {
        return Err(bad(
            path,
            ImageError::Malformed("not little-endian".to_string()),
        ));
    }
    if header.e_type != ET_EXEC {
        return Err(bad(path, ImageError::NotExec(header.e_type)));
    }
    let ctx = Ctx::new(Container::Big, Endian::Little);
    let phoff = usize::try_from(header.e_phoff).unwrap_or(usize::MAX);
    let phdrs = ProgramHeader::parse(&bytes, phoff, usize::from(header.e_phnum), ctx)
        .map_err(|e| malformed(path, e))?;
    let (segments, extent) = check_segments(&phdrs, bytes.len()).map_err(|r| bad(path, r))?;
    let entry = header.e_entry;
    let in_image = entry
        .checked_sub(ENGINE_VIRT_BASE)
        .is_some_and(|off| off < extent);
    if !in_image {
        return Err(bad(
            path,
            ImageError::Malformed(format!("entry point {entry:#x} lies outside the image")),
        ));
    }
    check_abi_marker(path, &bytes, &header, ctx)?;
    Ok(EngineImage {
        path: p(),
        bytes,
        entry,
        segments,
        extent,
    })
}

fn machine_name(m: u16) -> &'static str {
    match m {
        goblin::elf::header::EM_AARCH64 => "AArch64",
        goblin::elf::header::EM_386 => "i386",
        goblin::elf::header::EM_ARM => "32-bit ARM",
        goblin::elf::header::EM_RISCV => "RISC-V",
        _ => goblin::elf::header::machine_to_str(m),
    }
}

/// Checks the PT_LOAD segments; returns them and the image extent.
pub fn check_segments(
    phdrs: &[ProgramHeader],
    file_len: usize,
) -> Result<(Vec<Segment>, u64), ImageError> {
    let mut segments = Vec::new();
    let mut extent = 0u64;
    for (index, ph) in phdrs.iter().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        let err = |reason| ImageError::Segment { index, reason };
        if ph.p_filesz > ph.p_memsz {
            return Err(err("file size exceeds memory size"));
        }
        let file_end = ph
            .p_offset
            .checked_add(ph.p_filesz)
            .ok_or(err("file range overflows"))?;
        if file_end > file_len as u64 {
            return Err(err("file data lies outside the file"));
        }
        let off = ph
            .p_vaddr
            .checked_sub(ENGINE_VIRT_BASE)
            .ok_or(err("address lies below the engine base 0xffffffff80000000"))?;
        let end = off
            .checked_add(ph.p_memsz)
            .ok_or(err("address range overflows"))?;
        if end > ENGINE_MAX_IMAGE {
            return Err(err("extends beyond the largest engine image (62 MiB)"));
        }
        extent = extent.max(end);
        segments.push(Segment {
            paddr: ENGINE_PHYS_BASE + off,
            offset: ph.p_offset as usize,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
        });
    }
    if segments.is_empty() {
        return Err(ImageError::NoLoad);
    }
    Ok((segments, extent))
}

/// Finds the section named [`ABI_SECTION`] and checks the marker in it.
fn check_abi_marker(
    path: &Path,
    bytes: &[u8],
    header: &goblin::elf::Header,
    ctx: Ctx,
) -> Result<(), LaunchError> {
    let missing = || LaunchError::AbiMissing {
        path: path.to_path_buf(),
        section: ABI_SECTION,
        expected: ABI_VERSION,
    };
    let malformed_marker = || LaunchError::AbiMalformed {
        path: path.to_path_buf(),
        section: ABI_SECTION,
    };
    let shoff = usize::try_from(header.e_shoff).unwrap_or(usize::MAX);
    let Ok(shdrs) = SectionHeader::parse(bytes, shoff, usize::from(header.e_shnum), ctx) else {
        return Err(missing());
    };
    let mut strndx = usize::from(header.e_shstrndx);
    if strndx == SHN_XINDEX as usize {
        strndx = shdrs.first().map_or(0, |s| s.sh_link as usize);
    }
    let Some(strtab) = shdrs.get(strndx).and_then(|s| section_data(bytes, s)) else {
        return Err(missing());
    };
    let section = shdrs.iter().find(|s| {
        let name = strtab.get(s.sh_name..).unwrap_or(&[]);
        let name = name.split(|b| *b == 0).next().unwrap_or(&[]);
        name == ABI_SECTION.as_bytes()
    });
    let Some(section) = section else {
        return Err(missing());
    };
    let data = section_data(bytes, section).ok_or_else(malformed_marker)?;
    let marker = AbiMarker::parse(data).ok_or_else(malformed_marker)?;
    if marker.magic != ABI_MAGIC {
        return Err(malformed_marker());
    }
    if marker.version != ABI_VERSION {
        return Err(LaunchError::AbiVersion {
            path: path.to_path_buf(),
            found: marker.version,
            expected: ABI_VERSION,
        });
    }
    Ok(())
}

/// The file bytes of a section, if it has any and they lie inside the file.
fn section_data<'a>(bytes: &'a [u8], s: &SectionHeader) -> Option<&'a [u8]> {
    if s.sh_type == SHT_NOBITS {
        return None;
    }
    let start = usize::try_from(s.sh_offset).ok()?;
    let len = usize::try_from(s.sh_size).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

impl EngineImage {
    /// Copies the segments into VM memory and zeroes their bss parts.
    pub fn load(&self, mem: &GuestMemory) -> Result<(), OutOfRange> {
        for s in &self.segments {
            // Validated in check_segments: offset + filesz <= bytes.len().
            let data = self
                .bytes
                .get(s.offset..s.offset + s.filesz as usize)
                .ok_or(OutOfRange {
                    paddr: s.paddr,
                    len: s.filesz,
                })?;
            mem.write(s.paddr, data)?;
            mem.zero(s.paddr + s.filesz, s.memsz - s.filesz)?;
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Options for a hand-made ELF.
    pub struct ElfSpec {
        pub class: u8,
        pub machine: u16,
        pub e_type: u16,
        pub entry: u64,
        /// (vaddr, file bytes, memsz)
        pub segments: Vec<(u64, Vec<u8>, u64)>,
        /// Contents of the ABI section, if any.
        pub marker: Option<Vec<u8>>,
    }

    impl Default for ElfSpec {
        fn default() -> Self {
            let mut m = Vec::new();
            m.extend_from_slice(&ABI_MAGIC);
            m.extend_from_slice(&ABI_VERSION.to_le_bytes());
            m.extend_from_slice(&0u32.to_le_bytes());
            ElfSpec {
                class: 2,
                machine: EM_X86_64,
                e_type: ET_EXEC,
                entry: ENGINE_VIRT_BASE + 0x10,
                segments: vec![
                    (ENGINE_VIRT_BASE, vec![0x90; 0x40], 0x40),
                    (ENGINE_VIRT_BASE + 0x1000, vec![0xaa; 0x10], 0x3000),
                ],
                marker: Some(m),
            }
        }
    }

    /// Builds an ELF64 (little-endian) file: header, program headers, segment data,
    /// then a section table with a null section, `.shstrtab` and the ABI section.
    pub fn build_elf(spec: &ElfSpec) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..4].copy_from_slice(b"\x7fELF");
        f[4] = spec.class;
        f[5] = 1;
        f[6] = 1;
        let put16 =
            |f: &mut Vec<u8>, o: usize, v: u16| f[o..o + 2].copy_from_slice(&v.to_le_bytes());
        let put32 =
            |f: &mut Vec<u8>, o: usize, v: u32| f[o..o + 4].copy_from_slice(&v.to_le_bytes());
        let put64 =
            |f: &mut Vec<u8>, o: usize, v: u64| f[o..o + 8].copy_from_slice(&v.to_le_bytes());
        put16(&mut f, 16, spec.e_type);
        put16(&mut f, 18, spec.machine);
        put32(&mut f, 20, 1);
        put64(&mut f, 24, spec.entry);
        put64(&mut f, 32, 64); // e_phoff
        put16(&mut f, 52, 64);
        put16(&mut f, 54, 56);
        put16(&mut f, 56, spec.segments.len() as u16);
        put16(&mut f, 58, 64);
        let ph_start = f.len();
        f.resize(ph_start + 56 * spec.segments.len(), 0);
        for (i, (vaddr, data, memsz)) in spec.segments.iter().enumerate() {
            let off = f.len();
            f.extend_from_slice(data);
            let p = ph_start + 56 * i;
            put32(&mut f, p, PT_LOAD);
            put32(&mut f, p + 4, 7);
            put64(&mut f, p + 8, off as u64);
            put64(&mut f, p + 16, *vaddr);
            put64(&mut f, p + 24, *vaddr);
            put64(&mut f, p + 32, data.len() as u64);
            put64(&mut f, p + 40, *memsz);
            put64(&mut f, p + 48, 0x1000);
        }
        let names = format!("\0.shstrtab\0{ABI_SECTION}\0");
        let names_off = f.len();
        f.extend_from_slice(names.as_bytes());
        let marker_off = f.len();
        let marker = spec.marker.clone().unwrap_or_default();
        f.extend_from_slice(&marker);
        while !f.len().is_multiple_of(8) {
            f.push(0);
        }
        let sh_start = f.len();
        let nsec = if spec.marker.is_some() { 3 } else { 2 };
        f.resize(sh_start + 64 * nsec, 0);
        // .shstrtab
        let s = sh_start + 64;
        put32(&mut f, s, 1);
        put32(&mut f, s + 4, 3); // SHT_STRTAB
        put64(&mut f, s + 24, names_off as u64);
        put64(&mut f, s + 32, names.len() as u64);
        if spec.marker.is_some() {
            let s = sh_start + 128;
            put32(&mut f, s, 11);
            put32(&mut f, s + 4, 1); // SHT_PROGBITS
            put64(&mut f, s + 24, marker_off as u64);
            put64(&mut f, s + 32, marker.len() as u64);
        }
        put64(&mut f, 40, sh_start as u64);
        put16(&mut f, 60, nsec as u16);
        put16(&mut f, 62, 1);
        f
    }

    fn parse(spec: &ElfSpec) -> Result<EngineImage, LaunchError> {
        parse_engine(Path::new("e"), build_elf(spec))
    }

    #[test]
    fn accepts_a_good_image() {
        let img = parse(&ElfSpec::default()).unwrap();
        assert_eq!(img.entry, ENGINE_VIRT_BASE + 0x10);
        assert_eq!(img.extent, 0x4000);
        assert_eq!(img.segments.len(), 2);
        assert_eq!(img.segments[1].paddr, ENGINE_PHYS_BASE + 0x1000);
        let mem = GuestMemory::new(ENGINE_PHYS_BASE + 0x10000).unwrap();
        mem.write(ENGINE_PHYS_BASE + 0x1010, &[0xff; 16]).unwrap();
        img.load(&mem).unwrap();
        let mut b = [0u8; 0x20];
        mem.read(ENGINE_PHYS_BASE + 0x1000, &mut b).unwrap();
        assert_eq!(&b[..0x10], &[0xaa; 0x10]);
        assert_eq!(&b[0x10..], &[0; 0x10], "bss is zeroed");
        mem.read(ENGINE_PHYS_BASE, &mut b).unwrap();
        assert_eq!(b, [0x90; 0x20]);
    }

    #[test]
    fn rejects_in_order() {
        let p = Path::new("e");
        assert!(matches!(
            parse_engine(p, b"#!/bin/sh\n".to_vec()),
            Err(LaunchError::NotElf { .. })
        ));
        assert!(matches!(
            parse_engine(p, b"\x7fEL".to_vec()),
            Err(LaunchError::NotElf { .. })
        ));
        let e = parse(&ElfSpec {
            class: 1,
            machine: 183,
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, LaunchError::NotElf64 { .. }), "{e}");
        let e = parse(&ElfSpec {
            machine: 183,
            e_type: 3,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("AArch64"), "{e}");
        assert_eq!(e.exit_code().code(), 13);
        let e = parse(&ElfSpec {
            e_type: 3,
            marker: None,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("ET_EXEC"), "{e}");
        assert_eq!(e.exit_code().code(), 14);
        // Truncated header.
        let mut f = build_elf(&ElfSpec::default());
        f.truncate(20);
        assert_eq!(parse_engine(p, f).unwrap_err().exit_code().code(), 14);
    }

    fn seg_err(segments: Vec<(u64, Vec<u8>, u64)>) -> String {
        let e = parse(&ElfSpec {
            segments,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.exit_code().code(), 14, "{e}");
        e.to_string()
    }

    #[test]
    fn rejects_bad_segments() {
        assert!(seg_err(vec![]).contains("no PT_LOAD"));
        assert!(seg_err(vec![(0x40_0000, vec![0; 4], 4)]).contains("below"));
        assert!(seg_err(vec![(ENGINE_VIRT_BASE, vec![0; 8], 4)]).contains("exceeds"));
        assert!(
            seg_err(vec![(ENGINE_VIRT_BASE, vec![0; 4], ENGINE_MAX_IMAGE + 1)]).contains("beyond")
        );
        assert!(
            seg_err(vec![(ENGINE_VIRT_BASE + 0x10, vec![0; 4], u64::MAX - 4)]).contains("overflow")
        );
        // Entry point outside the image.
        let e = parse(&ElfSpec {
            entry: ENGINE_VIRT_BASE + 0x10_0000,
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("entry point"), "{e}");
        // File data out of the file: patch p_filesz/p_memsz of segment 0.
        let mut f = build_elf(&ElfSpec::default());
        f[64 + 32..64 + 40].copy_from_slice(&0x10_0000u64.to_le_bytes());
        f[64 + 40..64 + 48].copy_from_slice(&0x10_0000u64.to_le_bytes());
        let e = parse_engine(Path::new("e"), f).unwrap_err();
        assert!(e.to_string().contains("outside the file"), "{e}");
        // p_offset + p_filesz overflows.
        let mut f = build_elf(&ElfSpec::default());
        f[64 + 8..64 + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = parse_engine(Path::new("e"), f).unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        // Program headers out of the file.
        let mut f = build_elf(&ElfSpec::default());
        f[32..40].copy_from_slice(&0xffff_0000u64.to_le_bytes());
        assert_eq!(
            parse_engine(Path::new("e"), f)
                .unwrap_err()
                .exit_code()
                .code(),
            14
        );
    }

    #[test]
    fn abi_marker() {
        let e = parse(&ElfSpec {
            marker: None,
            ..Default::default()
        })
        .unwrap_err();
        assert!(
            matches!(e, LaunchError::AbiMissing { .. }) && e.to_string().contains(".hvabi"),
            "{e}"
        );
        assert_eq!(e.exit_code().code(), 15);
        let mut m = ElfSpec::default().marker.unwrap();
        m[8] = 7;
        let e = parse(&ElfSpec {
            marker: Some(m.clone()),
            ..Default::default()
        })
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains("version 7") && s.contains(&format!("version {ABI_VERSION}")),
            "{s}"
        );
        assert_eq!(e.exit_code().code(), 15);
        m[0] = b'X';
        let e = parse(&ElfSpec {
            marker: Some(m),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, LaunchError::AbiMalformed { .. }), "{e}");
        let e = parse(&ElfSpec {
            marker: Some(vec![1, 2, 3]),
            ..Default::default()
        })
        .unwrap_err();
        assert!(matches!(e, LaunchError::AbiMalformed { .. }), "{e}");
    }

    /// Mutated images never panic the parser (or the loader, when they pass).
    #[test]
    fn mutations_never_panic() {
        let good = build_elf(&ElfSpec::default());
        let mem = GuestMemory::new(ENGINE_PHYS_BASE + ENGINE_MAX_IMAGE).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..3000 {
            let mut f = good.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % f.len();
                f[at] = next() as u8;
            }
            if i % 7 == 0 {
                f.truncate((next() as usize) % good.len());
            }
            if let Ok(img) = parse_engine(Path::new("e"), f) {
                img.load(&mem).unwrap();
            }
        }
    }

    #[test]
    fn no_section_table_means_no_marker() {
        let mut f = build_elf(&ElfSpec::default());
        f[40..48].copy_from_slice(&0u64.to_le_bytes());
        let e = parse_engine(Path::new("e"), f).unwrap_err();
        assert!(matches!(e, LaunchError::AbiMissing { .. }), "{e}");
        let mut f = build_elf(&ElfSpec::default());
        f[40..48].copy_from_slice(&u64::MAX.to_le_bytes());
        let e = parse_engine(Path::new("e"), f).unwrap_err();
        assert!(matches!(e, LaunchError::AbiMissing { .. }), "{e}");
    }
}
