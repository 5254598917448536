//! The one definition of everything the engine (inside the VM) and the launcher (on
//! the host) must agree on: the hypercall ABI, the VM-physical layout the launcher
//! builds, the AArch64 guest platform map, and the ABI version marker embedded in
//! the engine ELF.
#![cfg_attr(not(feature = "std"), no_std)]

pub mod boot;
pub mod guest;
pub mod hypercall;
pub mod layout;

/// Version of the engine <-> launcher ABI. Bump on any incompatible change to this crate.
pub const ABI_VERSION: u32 = 1;

/// Magic at the start of the ABI marker.
pub const ABI_MAGIC: [u8; 8] = *b"HVARMABI";

/// Name of the ELF section that holds the [`AbiMarker`] of an engine binary.
pub const ABI_SECTION: &str = ".hvabi";

/// The marker the engine embeds in its [`ABI_SECTION`]; the launcher refuses an engine
/// whose marker is missing or carries another version.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiMarker {
    pub magic: [u8; 8],
    pub version: u32,
    pub reserved: u32,
}

impl AbiMarker {
    pub const CURRENT: AbiMarker = AbiMarker {
        magic: ABI_MAGIC,
        version: ABI_VERSION,
        reserved: 0,
    };

    /// Size of the marker in bytes.
    pub const SIZE: usize = core::mem::size_of::<AbiMarker>();

    /// Parses a marker from the raw bytes of the section.
    pub fn parse(bytes: &[u8]) -> Option<AbiMarker> {
        if bytes.len() < Self::SIZE {
            return None;
        }
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[..8]);
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let reserved = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
        Some(AbiMarker {
            magic,
            version,
            reserved,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_roundtrip() {
        let m = AbiMarker::CURRENT;
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&m.magic);
        b[8..12].copy_from_slice(&m.version.to_le_bytes());
        assert_eq!(AbiMarker::parse(&b), Some(m));
        assert_eq!(AbiMarker::parse(&b[..10]), None);
    }
}
