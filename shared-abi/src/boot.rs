//! Booting an AArch64 Linux guest: the files and where they go.
//!
//! * A minimal flattened-device-tree reader ([`Fdt`]): every offset is bounds-checked,
//!   malformed input is an error, never a panic.
//! * The guest package ([`parse_package`]): a U-Boot FIT (an FDT whose `/images` hold
//!   the kernel, ramdisk and DTB and whose default `/configurations` node names them;
//!   our extension: the configuration's `bootargs` string is the kernel command line).
//! * The arm64 `Image` header ([`arm64_image_header`]) and the placement of kernel,
//!   initrd and DTB in guest RAM ([`boot_layout`]): the launcher uses it to write the
//!   initrd addresses into the DTB, the engine to place the files, so both agree.
//! * With the `std` feature: [`build_dtb`] (the `virt`-like platform of [`crate::guest`])
//!   and [`build_package`] (writes a FIT).

use crate::guest::KERNEL_ALIGN;

/// FDT header magic (big-endian on disk).
pub const FDT_MAGIC: u32 = 0xd00d_feed;
/// The arm64 `Image` magic, "ARM\x64" little-endian at offset 56.
pub const ARM64_IMAGE_MAGIC: u32 = 0x644d_5241;
/// Offset of [`ARM64_IMAGE_MAGIC`] in an `Image`.
pub const ARM64_MAGIC_OFFSET: usize = 56;
/// Size of the arm64 `Image` header.
pub const ARM64_HEADER_SIZE: usize = 64;
/// Largest DTB the boot protocol allows.
pub const MAX_DTB: u64 = 2 << 20;
/// Default `text_offset` of kernels whose header has `image_size == 0` (before 3.17).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;

const PAGE: u64 = 0x1000;
const FDT_HEADER_SIZE: usize = 40;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;
/// Deepest node nesting the reader accepts.
const MAX_DEPTH: usize = 64;

/// Why a guest file was rejected or the boot files do not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BootError {
    #[error("not a flattened device tree (bad magic)")]
    NotFdt,
    #[error("malformed device tree: {0}")]
    BadFdt(&'static str),
    #[error("malformed FIT image: {0}")]
    BadFit(&'static str),
    #[error("FIT image {0} uses compression other than \"none\"")]
    Compressed(&'static str),
    #[error("not an arm64 kernel Image (no \"ARM\\x64\" magic at offset 56)")]
    NotImage,
    #[error("the arm64 kernel Image is big-endian; only little-endian kernels are supported")]
    BigEndianKernel,
    #[error("the DTB is {0} bytes; at most 2 MiB are allowed")]
    DtbTooLarge(u64),
    #[error("guest RAM of {ram} bytes is too small for the kernel, initrd and DTB ({need} bytes needed)")]
    RamTooSmall { ram: u64, need: u64 },
    #[error("the guest RAM window is malformed (base {0:#x})")]
    BadRam(u64),
    #[error("cannot build the device tree: {0}")]
    Build(&'static str),
    #[error("neither a FIT image nor an arm64 kernel Image")]
    UnknownFormat,
    #[error("the kernel command line is {len} bytes long; at most {max} are allowed")]
    BootargsTooLong { len: usize, max: usize },
}

fn be32(b: &[u8], off: usize) -> Result<u32, BootError> {
    let s = off
        .checked_add(4)
        .and_then(|e| b.get(off..e))
        .ok_or(BootError::BadFdt("truncated"))?;
    Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn le32(b: &[u8], off: usize) -> u32 {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .unwrap_or(0)
}

fn le64(b: &[u8], off: usize) -> u64 {
    b.get(off..off + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .unwrap_or(0)
}

/// A NUL-terminated string at the start of `b` (without the NUL).
fn cstr(b: &[u8]) -> Result<&str, BootError> {
    let n = b
        .iter()
        .position(|&c| c == 0)
        .ok_or(BootError::BadFdt("unterminated string"))?;
    core::str::from_utf8(&b[..n]).map_err(|_| BootError::BadFdt("string is not UTF-8"))
}

fn align4(v: usize) -> Option<usize> {
    v.checked_add(3).map(|v| v & !3)
}

/// A validated flattened device tree.
#[derive(Clone, Copy, Debug)]
pub struct Fdt<'a> {
    /// The whole input (may extend beyond `totalsize`: FIT external data lives there).
    whole: &'a [u8],
    totalsize: usize,
    structs: &'a [u8],
    strings: &'a [u8],
}

/// One structure-block token.
enum Token<'a> {
    Begin { name: &'a str, body: usize },
    End,
    Prop { name: &'a str, value: &'a [u8] },
    Nop,
    Finish,
}

impl<'a> Fdt<'a> {
    /// Checks the header and the block bounds.
    pub fn new(bytes: &'a [u8]) -> Result<Fdt<'a>, BootError> {
        if bytes.len() < FDT_HEADER_SIZE {
            return if bytes.len() >= 4 && be32(bytes, 0)? != FDT_MAGIC {
                Err(BootError::NotFdt)
            } else {
                Err(BootError::BadFdt("shorter than its header"))
            };
        }
        if be32(bytes, 0)? != FDT_MAGIC {
            return Err(BootError::NotFdt);
        }
        let h = |i: usize| be32(bytes, i * 4).map(|v| v as usize);
        let (totalsize, off_struct, off_strings) = (h(1)?, h(2)?, h(3)?);
        let (version, last_comp, size_strings, size_struct) = (h(5)?, h(6)?, h(8)?, h(9)?);
        if totalsize < FDT_HEADER_SIZE || totalsize > bytes.len() {
            return Err(BootError::BadFdt("totalsize exceeds the file"));
        }
        if version < 16 || last_comp > 17 {
            return Err(BootError::BadFdt("unsupported version"));
        }
        let size_struct = if version >= 17 {
            size_struct
        } else {
            totalsize.saturating_sub(off_struct)
        };
        let block = |off: usize, size: usize| {
            off.checked_add(size)
                .filter(|&end| off >= FDT_HEADER_SIZE && end <= totalsize)
                .map(|end| &bytes[off..end])
                .ok_or(BootError::BadFdt("block outside the blob"))
        };
        if off_struct % 4 != 0 {
            return Err(BootError::BadFdt("misaligned structure block"));
        }
        Ok(Fdt {
            whole: bytes,
            totalsize,
            structs: block(off_struct, size_struct)?,
            strings: block(off_strings, size_strings)?,
        })
    }

    /// The header's `totalsize`.
    pub fn total_size(&self) -> usize {
        self.totalsize
    }

    fn token(&self, pos: usize) -> Result<(Token<'a>, usize), BootError> {
        let s = self.structs;
        let tag = be32(s, pos).map_err(|_| BootError::BadFdt("structure block ends early"))?;
        let after = pos + 4;
        match tag {
            FDT_BEGIN_NODE => {
                let rest = s.get(after..).unwrap_or(&[]);
                let name = cstr(rest)?;
                let next = align4(after + name.len() + 1).ok_or(BootError::BadFdt("overflow"))?;
                if next > s.len() {
                    return Err(BootError::BadFdt("node name outside the structure block"));
                }
                Ok((Token::Begin { name, body: next }, next))
            }
            FDT_END_NODE => Ok((Token::End, after)),
            FDT_NOP => Ok((Token::Nop, after)),
            FDT_END => Ok((Token::Finish, after)),
            FDT_PROP => {
                let len = be32(s, after)? as usize;
                let nameoff = be32(s, after + 4)? as usize;
                let vstart = after + 8;
                let vend =
                    vstart
                        .checked_add(len)
                        .filter(|&e| e <= s.len())
                        .ok_or(BootError::BadFdt(
                            "property value outside the structure block",
                        ))?;
                let name = cstr(self.strings.get(nameoff..).ok_or(BootError::BadFdt(
                    "property name offset outside the strings",
                ))?)?;
                let next = align4(vend).ok_or(BootError::BadFdt("overflow"))?;
                Ok((
                    Token::Prop {
                        name,
                        value: &s[vstart..vend],
                    },
                    next,
                ))
            }
            _ => Err(BootError::BadFdt("unknown structure token")),
        }
    }

    /// The root node.
    pub fn root(&self) -> Result<Node<'a>, BootError> {
        let mut pos = 0;
        loop {
            match self.token(pos)? {
                (Token::Nop, next) => pos = next,
                (Token::Begin { name, body }, _) => {
                    return Ok(Node {
                        fdt: *self,
                        name,
                        body,
                    })
                }
                _ => return Err(BootError::BadFdt("no root node")),
            }
        }
    }

    /// Position just after the END_NODE that closes the node whose body starts at `body`.
    fn skip_node(&self, body: usize) -> Result<usize, BootError> {
        let mut depth = 1usize;
        let mut pos = body;
        while depth > 0 {
            let (t, next) = self.token(pos)?;
            match t {
                Token::Begin { .. } => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err(BootError::BadFdt("nodes nested too deeply"));
                    }
                }
                Token::End => depth -= 1,
                Token::Finish => return Err(BootError::BadFdt("unterminated node")),
                Token::Prop { .. } | Token::Nop => {}
            }
            pos = next;
        }
        Ok(pos)
    }
}

/// A node of an [`Fdt`].
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    fdt: Fdt<'a>,
    /// Its name (unit address included).
    pub name: &'a str,
    /// Position of the first token after the name.
    body: usize,
}

impl<'a> Node<'a> {
    /// Calls `f` for each property (in order) until it returns `Some`.
    fn find_prop<T>(
        &self,
        mut f: impl FnMut(&'a str, &'a [u8]) -> Option<T>,
    ) -> Result<Option<T>, BootError> {
        let mut pos = self.body;
        loop {
            let (t, next) = self.fdt.token(pos)?;
            match t {
                Token::Prop { name, value } => {
                    if let Some(r) = f(name, value) {
                        return Ok(Some(r));
                    }
                }
                Token::Nop => {}
                Token::Begin { .. } | Token::End => return Ok(None),
                Token::Finish => return Err(BootError::BadFdt("unterminated node")),
            }
            pos = next;
        }
    }

    /// The raw value of property `name`.
    pub fn property(&self, name: &str) -> Result<Option<&'a [u8]>, BootError> {
        self.find_prop(|n, v| (n == name).then_some(v))
    }

    /// Property `name` as a string (the first one of a string list).
    pub fn property_str(&self, name: &str) -> Result<Option<&'a str>, BootError> {
        self.property(name)?.map(cstr).transpose()
    }

    /// Property `name` as a big-endian integer of one or two cells.
    pub fn property_int(&self, name: &str) -> Result<Option<u64>, BootError> {
        self.property(name)?
            .map(|v| match v.len() {
                4 => Ok(u64::from(be32(v, 0)?)),
                8 => Ok((u64::from(be32(v, 0)?) << 32) | u64::from(be32(v, 4)?)),
                _ => Err(BootError::BadFdt("integer property is not 1 or 2 cells")),
            })
            .transpose()
    }

    /// Calls `f` for each child node (in order) until it returns `Some`.
    pub fn find_child<T>(
        &self,
        mut f: impl FnMut(Node<'a>) -> Option<T>,
    ) -> Result<Option<T>, BootError> {
        let mut pos = self.body;
        loop {
            let (t, next) = self.fdt.token(pos)?;
            match t {
                Token::Prop { .. } | Token::Nop => pos = next,
                Token::Begin { name, body } => {
                    let child = Node {
                        fdt: self.fdt,
                        name,
                        body,
                    };
                    if let Some(r) = f(child) {
                        return Ok(Some(r));
                    }
                    pos = self.fdt.skip_node(body)?;
                }
                Token::End => return Ok(None),
                Token::Finish => return Err(BootError::BadFdt("unterminated node")),
            }
        }
    }

    /// The child called `name`.
    pub fn child(&self, name: &str) -> Result<Option<Node<'a>>, BootError> {
        self.find_child(|c| (c.name == name).then_some(c))
    }
}

/// The files of a guest package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestPackage<'a> {
    pub kernel: &'a [u8],
    pub initrd: Option<&'a [u8]>,
    pub dtb: Option<&'a [u8]>,
    pub bootargs: Option<&'a str>,
}

/// True if `bytes` start with the FDT magic (a FIT image or a DTB).
pub fn is_fdt(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4] == FDT_MAGIC.to_be_bytes()
}

/// True if `bytes` carry the arm64 `Image` magic.
pub fn is_arm64_image(bytes: &[u8]) -> bool {
    bytes.len() >= ARM64_HEADER_SIZE && le32(bytes, ARM64_MAGIC_OFFSET) == ARM64_IMAGE_MAGIC
}

/// The data of FIT image node `img`: `data`, or external `data-size` with
/// `data-offset` (from the end of the FDT, 4-byte aligned) or `data-position`
/// (from the start of the file).
fn image_data<'a>(
    fdt: &Fdt<'a>,
    img: &Node<'a>,
    what: &'static str,
) -> Result<&'a [u8], BootError> {
    if let Some(compression) = img.property_str("compression")? {
        if compression != "none" {
            return Err(BootError::Compressed(what));
        }
    }
    if let Some(d) = img.property("data")? {
        return Ok(d);
    }
    let size = img
        .property_int("data-size")?
        .ok_or(BootError::BadFit("image node without data"))?;
    let start = if let Some(p) = img.property_int("data-position")? {
        p
    } else if let Some(o) = img.property_int("data-offset")? {
        let base = align4(fdt.totalsize).ok_or(BootError::BadFit("overflow"))? as u64;
        base.checked_add(o).ok_or(BootError::BadFit("overflow"))?
    } else {
        return Err(BootError::BadFit("image node without data"));
    };
    let start =
        usize::try_from(start).map_err(|_| BootError::BadFit("external data outside the file"))?;
    let size =
        usize::try_from(size).map_err(|_| BootError::BadFit("external data outside the file"))?;
    start
        .checked_add(size)
        .and_then(|end| fdt.whole.get(start..end))
        .ok_or(BootError::BadFit("external data outside the file"))
}

/// Parses a FIT guest package: the default configuration's kernel, ramdisk, fdt and
/// `bootargs`. Without `/configurations`, the first images of type kernel, ramdisk and
/// flat_dt are used.
pub fn parse_package(bytes: &[u8]) -> Result<GuestPackage<'_>, BootError> {
    let fdt = Fdt::new(bytes)?;
    let root = fdt.root()?;
    let images = root
        .child("images")?
        .ok_or(BootError::BadFit("no /images node"))?;
    let by_name = |name: &str| -> Result<Node<'_>, BootError> {
        images
            .child(name)?
            .ok_or(BootError::BadFit("configuration names a missing image"))
    };
    let by_type = |ty: &str| -> Result<Option<Node<'_>>, BootError> {
        images.find_child(|c| matches!(c.property_str("type"), Ok(Some(t)) if t == ty).then_some(c))
    };
    let (kernel, ramdisk, dtb, bootargs) = match root.child("configurations")? {
        Some(confs) => {
            let conf = match confs.property_str("default")? {
                Some(d) => confs
                    .child(d)?
                    .ok_or(BootError::BadFit("the default configuration is missing"))?,
                None => confs
                    .find_child(Some)?
                    .ok_or(BootError::BadFit("no configuration"))?,
            };
            let kernel = conf
                .property_str("kernel")?
                .ok_or(BootError::BadFit("the configuration has no kernel"))?;
            let ramdisk = conf.property_str("ramdisk")?;
            let dtb = conf.property_str("fdt")?;
            (
                by_name(kernel)?,
                ramdisk.map(by_name).transpose()?,
                dtb.map(by_name).transpose()?,
                conf.property_str("bootargs")?,
            )
        }
        None => (
            by_type("kernel")?.ok_or(BootError::BadFit("no kernel image"))?,
            by_type("ramdisk")?,
            by_type("flat_dt")?,
            None,
        ),
    };
    match kernel.property_str("type")? {
        Some("kernel") | Some("kernel_noload") | None => {}
        Some(_) => {
            return Err(BootError::BadFit(
                "the configuration's kernel is not of type kernel",
            ))
        }
    }
    if let Some(arch) = kernel.property_str("arch")? {
        if arch != "arm64" {
            return Err(BootError::BadFit("the kernel is not for arm64"));
        }
    }
    Ok(GuestPackage {
        kernel: image_data(&fdt, &kernel, "kernel")?,
        initrd: ramdisk
            .map(|r| image_data(&fdt, &r, "ramdisk"))
            .transpose()?,
        dtb: dtb.map(|d| image_data(&fdt, &d, "fdt")).transpose()?,
        bootargs,
    })
}

/// The arm64 `Image` header fields the loader needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageHeader {
    /// Offset from a 2 MiB aligned base where the Image must be placed.
    pub text_offset: u64,
    /// Bytes the kernel occupies from its load address, bss included (0: unknown).
    pub image_size: u64,
    /// Header flags (bit 0: big-endian, bits 1-2: page size, bit 3: placement).
    pub flags: u64,
}

/// Reads the arm64 boot protocol header of an `Image`.
pub fn arm64_image_header(kernel: &[u8]) -> Result<ImageHeader, BootError> {
    if !is_arm64_image(kernel) {
        return Err(BootError::NotImage);
    }
    let image_size = le64(kernel, 16);
    let flags = le64(kernel, 24);
    if image_size != 0 && flags & 1 != 0 {
        return Err(BootError::BigEndianKernel);
    }
    let text_offset = if image_size == 0 {
        LEGACY_TEXT_OFFSET
    } else {
        le64(kernel, 8)
    };
    Ok(ImageHeader {
        text_offset,
        image_size,
        flags,
    })
}

/// Guest-physical addresses of the boot files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootLayout {
    pub kernel_addr: u64,
    /// Page aligned, just below the DTB (== `dtb_addr` when there is no initrd).
    pub initrd_addr: u64,
    /// 2 MiB aligned, in the top 2 MiB block of RAM.
    pub dtb_addr: u64,
}

/// Places the files: the kernel at the first 2 MiB aligned address of RAM plus its
/// `text_offset`, the DTB at the 2 MiB boundary at or below `RAM end - dtb_len` (so it
/// never crosses a 2 MiB boundary), the initrd page aligned just below the DTB. Fails
/// when they overlap or leave RAM.
pub fn boot_layout(
    ram_base: u64,
    ram_size: u64,
    hdr: &ImageHeader,
    kernel_len: u64,
    initrd_len: u64,
    dtb_len: u64,
) -> Result<BootLayout, BootError> {
    let align_up = |v: u64, a: u64| v.checked_add(a - 1).map(|v| v & !(a - 1));
    let ram_end = ram_base
        .checked_add(ram_size)
        .ok_or(BootError::BadRam(ram_base))?;
    if dtb_len > MAX_DTB {
        return Err(BootError::DtbTooLarge(dtb_len));
    }
    let base = align_up(ram_base, KERNEL_ALIGN).ok_or(BootError::BadRam(ram_base))?;
    let kernel_addr = base
        .checked_add(hdr.text_offset)
        .ok_or(BootError::BadFit("text_offset overflows"))?;
    let kernel_span = hdr.image_size.max(kernel_len);
    let too_small = BootError::RamTooSmall {
        ram: ram_size,
        need: (kernel_addr - ram_base)
            .saturating_add(align_up(kernel_span, PAGE).unwrap_or(u64::MAX))
            .saturating_add(align_up(initrd_len, PAGE).unwrap_or(u64::MAX))
            .saturating_add(KERNEL_ALIGN),
    };
    let kernel_end = kernel_addr
        .checked_add(kernel_span)
        .and_then(|e| align_up(e, PAGE))
        .ok_or(too_small)?;
    let dtb_addr = ram_end
        .checked_sub(dtb_len.max(8))
        .map(|a| a & !(KERNEL_ALIGN - 1))
        .filter(|&a| a >= kernel_end)
        .ok_or(too_small)?;
    let initrd_addr = dtb_addr
        .checked_sub(initrd_len)
        .map(|a| a & !(PAGE - 1))
        .filter(|&a| a >= kernel_end)
        .ok_or(too_small)?;
    Ok(BootLayout {
        kernel_addr,
        initrd_addr,
        dtb_addr,
    })
}

/// Where a parsed package's files go in `ram_size` bytes of RAM at `ram_base`: the
/// engine's one call (the launcher computed the same layout to write the DTB's initrd
/// addresses).
pub fn package_layout(
    pkg: &GuestPackage<'_>,
    ram_base: u64,
    ram_size: u64,
) -> Result<BootLayout, BootError> {
    let hdr = arm64_image_header(pkg.kernel)?;
    boot_layout(
        ram_base,
        ram_size,
        &hdr,
        pkg.kernel.len() as u64,
        pkg.initrd.map_or(0, |i| i.len() as u64),
        pkg.dtb.map_or(0, |d| d.len() as u64),
    )
}

/// The first RAM range (base, size) of a DTB's `/memory` node (2 address and 2 size
/// cells): the guest RAM size on hosts that do not pass it otherwise (QEMU path).
pub fn dtb_memory(dtb: &[u8]) -> Result<(u64, u64), BootError> {
    let root = Fdt::new(dtb)?.root()?;
    let mem = root
        .find_child(|c| (c.name == "memory" || c.name.starts_with("memory@")).then_some(c))?
        .ok_or(BootError::BadFdt("no /memory node"))?;
    let reg = mem
        .property("reg")?
        .filter(|r| r.len() >= 16)
        .ok_or(BootError::BadFdt("/memory has no 64-bit reg"))?;
    let cell = |i: usize| be32(reg, i * 4).map(u64::from);
    Ok(((cell(0)? << 32) | cell(1)?, (cell(2)? << 32) | cell(3)?))
}

#[cfg(feature = "std")]
mod build;
#[cfg(feature = "std")]
pub use build::{
    build_dtb, build_package, make_package, make_package_seeded, DtbConfig, Package,
    DEFAULT_BOOTARGS, MAX_BOOTARGS,
};

#[cfg(test)]
mod tests;
