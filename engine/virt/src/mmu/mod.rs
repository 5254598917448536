//! Stage-1 MMU of the EL1&0 translation regime (VMSAv8-64, ARMv8.0 plus PAN),
//! written from the Arm ARM pseudocode (`AArch64.FirstStageTranslate`,
//! `AArch64.TranslateAddressS1Off`, `AArch64.TranslationTableWalk`,
//! `AArch64.CheckPermission`).
//!
//! * [`walk`] performs the table walk (or the flat MMU-off mapping) and reports
//!   translation, address size, access flag and external-abort-on-walk faults.
//! * [`Attrs::check`] applies the alignment (Device memory) and permission checks,
//!   in the order the pseudocode gives; it is what a TLB hit re-runs.
//! * [`translate`] is `walk` followed by `check`.
//! * [`at_translate`] gives the PAR_EL1 value of an `AT S1E{0,1}{R,W}`.
//! * [`tlb::Tlb`] is the software TLB.
//!
//! Not modelled: stage 2, EL2/EL3 regimes, FEAT_HAFDBS (no hardware AF/dirty
//! update), FEAT_HPDS, FEAT_LPA/LVA (52-bit), FEAT_TTST, the Contiguous hint
//! (ignored, which the architecture allows), big-endian walks are honoured
//! (`SCTLR_EL1.EE`) although Linux never sets it.

pub mod tlb;

#[cfg(test)]
mod tests;

/// Physical address size of the modelled core (Cortex-A72: ID_AA64MMFR0_EL1.PARange = 0b0100).
pub const PA_BITS: u32 = 44;

/// Reads translation table descriptors from guest physical memory.
pub trait PhysRead {
    /// The little-endian 64-bit word at `pa` (8-byte aligned), or `None` if
    /// nothing answers there (reported as a synchronous external abort on the walk).
    fn read_u64(&mut self, pa: u64) -> Option<u64>;
}

/// The system registers the stage-1 translation of EL1&0 depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmuRegs {
    /// SCTLR_EL1 (uses M, WXN, EE).
    pub sctlr: u64,
    /// TCR_EL1.
    pub tcr: u64,
    /// TTBR0_EL1 (BADDR, ASID).
    pub ttbr0: u64,
    /// TTBR1_EL1 (BADDR, ASID).
    pub ttbr1: u64,
    /// MAIR_EL1.
    pub mair: u64,
}

/// SCTLR_EL1 bits used here.
pub mod sctlr {
    /// MMU enable.
    pub const M: u64 = 1 << 0;
    /// Write implies execute-never.
    pub const WXN: u64 = 1 << 19;
    /// Big-endian translation table walks at EL1.
    pub const EE: u64 = 1 << 25;
}

/// TCR_EL1 fields used here.
pub mod tcr {
    /// EPD0: no walks through TTBR0.
    pub const EPD0: u64 = 1 << 7;
    /// A1: the ASID comes from TTBR1.
    pub const A1: u64 = 1 << 22;
    /// EPD1: no walks through TTBR1.
    pub const EPD1: u64 = 1 << 23;
    /// AS: 16-bit ASIDs.
    pub const AS: u64 = 1 << 36;
    /// TBI0: top byte ignored for VA\[55\] = 0.
    pub const TBI0: u64 = 1 << 37;
    /// TBI1: top byte ignored for VA\[55\] = 1.
    pub const TBI1: u64 = 1 << 38;
    /// Shift of T0SZ (6 bits).
    pub const T0SZ_SHIFT: u32 = 0;
    /// Shift of T1SZ (6 bits).
    pub const T1SZ_SHIFT: u32 = 16;
    /// Shift of TG0 (2 bits: 00 4K, 01 64K, 10 16K).
    pub const TG0_SHIFT: u32 = 14;
    /// Shift of TG1 (2 bits: 10 4K, 11 64K, 01 16K).
    pub const TG1_SHIFT: u32 = 30;
    /// Shift of IPS (3 bits).
    pub const IPS_SHIFT: u32 = 32;
}

impl MmuRegs {
    /// The ASID that tags non-global translations now (TTBR0 or TTBR1 per
    /// TCR_EL1.A1, 8 bits unless TCR_EL1.AS).
    #[inline]
    pub fn current_asid(&self) -> u16 {
        let ttbr = if self.tcr & tcr::A1 != 0 {
            self.ttbr1
        } else {
            self.ttbr0
        };
        asid_from(self.tcr, ttbr >> 48)
    }

    /// `va` with its top byte replaced by copies of bit 55 when TBI applies to it.
    #[inline]
    pub fn strip_tag(&self, va: u64) -> u64 {
        if tbi_applies(self.tcr, va) {
            sext55(va)
        } else {
            va
        }
    }

    fn pa_out_bits(&self) -> u32 {
        let ips = match (self.tcr >> tcr::IPS_SHIFT) & 7 {
            0 => 32,
            1 => 36,
            2 => 40,
            3 => 42,
            4 => 44,
            // 0b101 is 48 bits; 0b110/0b111 are reserved in v8.0 and treated as 48.
            _ => 48,
        };
        ips.min(PA_BITS)
    }
}

#[inline]
pub(crate) fn asid_from(tcr_val: u64, raw: u64) -> u16 {
    if tcr_val & tcr::AS != 0 {
        raw as u16
    } else {
        (raw & 0xff) as u16
    }
}

#[inline]
pub(crate) fn tbi_applies(tcr_val: u64, va: u64) -> bool {
    let bit = if (va >> 55) & 1 != 0 {
        tcr::TBI1
    } else {
        tcr::TBI0
    };
    tcr_val & bit != 0
}

/// Sign-extends `va` from bit 55 (the canonical form of any translatable VA).
#[inline]
pub(crate) fn sext55(va: u64) -> u64 {
    (((va << 8) as i64) >> 8) as u64
}

/// Mask of bits `hi..=lo` (hi >= lo, hi <= 63).
#[inline]
fn bits(hi: u32, lo: u32) -> u64 {
    let width = hi - lo + 1;
    if width >= 64 {
        u64::MAX
    } else {
        ((1u64 << width) - 1) << lo
    }
}

/// What the access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum AccessKind {
    /// Data read.
    Read = 0,
    /// Data write (also DC ZVA, store-exclusive, atomics).
    Write = 1,
    /// Instruction fetch.
    Exec = 2,
}

/// Which instruction class makes the access (it changes which permissions apply
/// and how a fault is reported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessOp {
    /// An ordinary load, store or fetch.
    Normal,
    /// LDTR/STTR family: EL0 permissions even at EL1, PAN not applied.
    Unpriv,
    /// An AT instruction (PAN not applied; never raises an exception, see [`at_translate`]).
    At,
    /// DC maintenance by VA other than DC ZVA (which is an ordinary write): at EL1
    /// it cannot take a permission fault; at EL0 it needs read permission.
    /// Faults report ESR.CM = 1 and WnR = 1.
    Dc,
}

/// One access to translate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Access {
    /// Read, write or fetch.
    pub kind: AccessKind,
    /// Instruction class.
    pub op: AccessOp,
    /// Exception level of the access (0 or 1). For AT S1E0* use 0.
    pub el: u8,
    /// PSTATE.PAN.
    pub pan: bool,
    /// The data access is not aligned to its size: an alignment fault if the
    /// memory is Device (checked before permissions). SCTLR.A checks are the CPU's.
    pub unaligned: bool,
}

impl Access {
    /// An ordinary, aligned access of `kind` at `el` with PSTATE.PAN = `pan`.
    pub const fn new(kind: AccessKind, el: u8, pan: bool) -> Self {
        Access {
            kind,
            op: AccessOp::Normal,
            el,
            pan,
            unaligned: false,
        }
    }

    /// Number of fast-path access classes (see [`Access::fast_class`]).
    pub const FAST_CLASSES: u32 = 9;

    /// The access class used by the TLB's one-bit permission test:
    /// `kind * 3 + {0: EL0 permissions, 1: EL1, 2: EL1 with PAN in force}`.
    /// `None` for AT, DC and unaligned accesses (they take [`Attrs::check`]).
    #[inline]
    pub fn fast_class(&self) -> Option<u32> {
        if self.unaligned || matches!(self.op, AccessOp::At | AccessOp::Dc) {
            return None;
        }
        let p = if self.el == 0 || self.op == AccessOp::Unpriv {
            0
        } else if self.pan {
            2
        } else {
            1
        };
        Some(self.kind as u32 * 3 + p)
    }

    /// The access of fast class `class` (inverse of [`Access::fast_class`]).
    fn from_fast_class(class: u32) -> Self {
        let kind = match class / 3 {
            0 => AccessKind::Read,
            1 => AccessKind::Write,
            _ => AccessKind::Exec,
        };
        let p = class % 3;
        Access::new(kind, u8::from(p != 0), p == 2)
    }
}

/// Memory type from MAIR (or the MMU-off defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MemType {
    /// Device-nGnRnE.
    DeviceNGnRnE = 0,
    /// Device-nGnRE.
    DeviceNGnRE = 1,
    /// Device-nGRE.
    DeviceNGRE = 2,
    /// Device-GRE.
    DeviceGRE = 3,
    /// Any Normal memory.
    Normal = 4,
}

impl MemType {
    /// True for the four Device types.
    #[inline]
    pub fn is_device(self) -> bool {
        !matches!(self, MemType::Normal)
    }

    /// Decodes one MAIR_EL1 attribute byte.
    pub fn from_mair_attr(attr: u8) -> Self {
        if attr & 0xf0 == 0 {
            match (attr >> 2) & 3 {
                0 => MemType::DeviceNGnRnE,
                1 => MemType::DeviceNGnRE,
                2 => MemType::DeviceNGRE,
                _ => MemType::DeviceGRE,
            }
        } else {
            MemType::Normal
        }
    }
}

/// Final access permissions of a translation, with the hierarchical table bits,
/// SCTLR.WXN and "writable at EL0 implies PXN" already folded in. PAN is
/// applied at check time from `USER_R` (EL0 readable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Perms(pub u8);

impl Perms {
    /// EL1 read.
    pub const PRIV_R: u8 = 1 << 0;
    /// EL1 write.
    pub const PRIV_W: u8 = 1 << 1;
    /// EL1 execute.
    pub const PRIV_X: u8 = 1 << 2;
    /// EL0 read (also the PAN condition).
    pub const USER_R: u8 = 1 << 3;
    /// EL0 write.
    pub const USER_W: u8 = 1 << 4;
    /// EL0 execute.
    pub const USER_X: u8 = 1 << 5;
    /// Everything (MMU off).
    pub const ALL: Perms = Perms(0x3f);

    /// Computes the permissions from the effective AP\[2:1\], UXN, PXN and SCTLR.WXN
    /// (`AArch64.CheckPermission` for a regime with two privilege levels).
    pub fn from_bits(ap2: bool, ap1: bool, uxn: bool, pxn: bool, wxn: bool) -> Self {
        let priv_w = !ap2;
        let user_r = ap1;
        let user_w = ap1 && !ap2;
        let user_x = !(uxn || (user_w && wxn));
        let priv_x = !(pxn || (priv_w && wxn) || user_w);
        let mut p = Self::PRIV_R;
        if priv_w {
            p |= Self::PRIV_W;
        }
        if priv_x {
            p |= Self::PRIV_X;
        }
        if user_r {
            p |= Self::USER_R;
        }
        if user_w {
            p |= Self::USER_W;
        }
        if user_x {
            p |= Self::USER_X;
        }
        Perms(p)
    }

    /// Whether bit `b` is set.
    #[inline]
    pub fn has(self, b: u8) -> bool {
        self.0 & b != 0
    }
}

/// Everything about a translation except the VA/PA, as cached by the TLB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attrs {
    /// ASID the walk ran under (meaningful when `!global`).
    pub asid: u16,
    /// Access permissions.
    pub perms: Perms,
    /// MAIR attribute byte (0x00 with the MMU off, whatever the access).
    pub attr: u8,
    /// Memory type for data accesses (with the MMU off, fetches are Normal: see [`Attrs::mem_for`]).
    pub mem: MemType,
    /// Shareability as PAR_EL1 reports it (Device and Normal non-cacheable: 0b10).
    pub sh: u8,
    /// Level of the final descriptor (0 with the MMU off).
    pub level: u8,
    /// log2 of the mapping size: 12 (4K page), 14 (16K), 16 (64K), 21, 25, 29, 30;
    /// 12 with the MMU off.
    pub block_shift: u8,
    /// nG = 0 (or MMU off).
    pub global: bool,
    /// Flat MMU-off mapping.
    pub mmu_off: bool,
}

impl Attrs {
    /// Bit `c` set when an access of fast class `c` ([`Access::fast_class`]) passes [`Attrs::check`].
    pub fn allow_mask(&self, va: u64) -> u16 {
        (0..Access::FAST_CLASSES)
            .filter(|&c| self.check(va, &Access::from_fast_class(c)).is_ok())
            .fold(0, |m, c| m | (1 << c))
    }

    /// Memory type seen by an access of `kind`.
    #[inline]
    pub fn mem_for(&self, kind: AccessKind) -> MemType {
        if self.mmu_off && kind == AccessKind::Exec {
            MemType::Normal
        } else {
            self.mem
        }
    }

    /// Alignment (Device memory) and permission checks for `access` to `va`
    /// (`AArch64.FirstStageTranslate` after the walk, `AArch64.CheckPermission`,
    /// `AArch64.InstructionDevice`).
    #[inline]
    pub fn check(&self, va: u64, access: &Access) -> Result<(), MmuFault> {
        let mem = self.mem_for(access.kind);
        if access.unaligned && access.kind != AccessKind::Exec && mem.is_device() {
            return Err(MmuFault::new(FaultKind::Alignment, 0, va, access));
        }
        if self.mmu_off {
            return Ok(());
        }
        let ispriv = access.el != 0 && access.op != AccessOp::Unpriv;
        let p = self.perms;
        let ok = match access.kind {
            AccessKind::Exec => {
                let x = if ispriv { Perms::PRIV_X } else { Perms::USER_X };
                // An executable Device location still faults on fetch.
                p.has(x) && !mem.is_device()
            }
            _ if access.op == AccessOp::Dc && access.el != 0 => true,
            kind => {
                let pan_blocks =
                    ispriv && access.pan && access.op == AccessOp::Normal && p.has(Perms::USER_R);
                let need = match (kind, ispriv) {
                    (AccessKind::Write, true) => Perms::PRIV_W,
                    (AccessKind::Write, false) => Perms::USER_W,
                    (_, true) => Perms::PRIV_R,
                    (_, false) => Perms::USER_R,
                };
                p.has(need) && !pan_blocks
            }
        };
        if ok {
            Ok(())
        } else {
            Err(MmuFault::new(FaultKind::Permission, self.level, va, access))
        }
    }
}

/// A successful stage-1 translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Translation {
    /// Physical address of the byte at the translated VA.
    pub pa: u64,
    /// Attributes and permissions.
    pub attrs: Attrs,
}

/// Fault classes of a stage-1 translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// Address size fault (TTBR, table or output address beyond the PA size, or MMU-off VA).
    AddressSize,
    /// Translation fault (out of range VA, EPDx, invalid or reserved descriptor).
    Translation,
    /// Access flag fault (AF = 0; no hardware update in v8.0).
    AccessFlag,
    /// Permission fault.
    Permission,
    /// Alignment fault (unaligned data access to Device memory).
    Alignment,
    /// Synchronous external abort on a translation table walk (descriptor read
    /// from where nothing answers).
    WalkExternalAbort,
}

/// A stage-1 fault: everything needed for ESR_EL1 / FAR_EL1 (or PAR_EL1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("stage-1 {kind:?} fault, level {level}, va {va:#x}")]
pub struct MmuFault {
    /// Fault class.
    pub kind: FaultKind,
    /// Lookup level (0-3); 0 for alignment faults (no level).
    pub level: u8,
    /// The faulting virtual address as given (FAR_EL1), tag included.
    pub va: u64,
    /// ESR.WnR: a write, or a cache maintenance / AT instruction (reported as 1).
    pub wnr: bool,
    /// The access was an instruction fetch (ESR.EC = instruction abort).
    pub fetch: bool,
    /// ESR.CM: the access was a DC maintenance or AT instruction.
    pub cm: bool,
    /// The access was an AT instruction (report in PAR_EL1, no exception).
    pub at: bool,
}

impl MmuFault {
    fn new(kind: FaultKind, level: u8, va: u64, access: &Access) -> Self {
        // ESR.CM is 1 for cache maintenance and for AT instructions.
        let cm = matches!(access.op, AccessOp::Dc | AccessOp::At);
        let at = access.op == AccessOp::At;
        MmuFault {
            kind,
            level,
            va,
            wnr: access.kind == AccessKind::Write || cm || at,
            fetch: access.kind == AccessKind::Exec,
            cm,
            at,
        }
    }

    /// DFSC/IFSC (ESR_ELx.ISS\[5:0\]) and PAR_EL1.FST, long-descriptor encoding.
    pub fn fsc(&self) -> u32 {
        let ll = u32::from(self.level & 3);
        match self.kind {
            FaultKind::AddressSize => ll,
            FaultKind::Translation => 0b00_0100 | ll,
            FaultKind::AccessFlag => 0b00_1000 | ll,
            FaultKind::Permission => 0b00_1100 | ll,
            FaultKind::WalkExternalAbort => 0b01_0100 | ll,
            FaultKind::Alignment => 0b10_0001,
        }
    }
}

/// Stage-1 translation of `va` for `access`: the walk then the alignment and
/// permission checks.
pub fn translate(
    regs: &MmuRegs,
    va: u64,
    access: Access,
    walker_mem: &mut impl PhysRead,
) -> Result<Translation, MmuFault> {
    let t = walk(regs, va, &access, walker_mem)?;
    t.attrs.check(va, &access)?;
    Ok(t)
}

/// Granule parameters: log2 of the granule size.
fn ttbr0_grain(tcr_val: u64) -> u32 {
    match (tcr_val >> tcr::TG0_SHIFT) & 3 {
        0b01 => 16,
        0b10 => 14,
        // 0b00, and the reserved 0b11 (treated as 4K).
        _ => 12,
    }
}

fn ttbr1_grain(tcr_val: u64) -> u32 {
    match (tcr_val >> tcr::TG1_SHIFT) & 3 {
        0b11 => 16,
        0b01 => 14,
        // 0b10, and the reserved 0b00 (treated as 4K).
        _ => 12,
    }
}

/// The table walk (or the MMU-off flat map): everything but the permission and
/// alignment checks. Faults: translation, address size, access flag, external
/// abort on walk. `access` only fills the fault's syndrome bits and picks the
/// MMU-off memory type.
pub fn walk(
    regs: &MmuRegs,
    va: u64,
    access: &Access,
    mem: &mut impl PhysRead,
) -> Result<Translation, MmuFault> {
    let fault = |kind, level: u32| Err(MmuFault::new(kind, level as u8, va, access));
    let top = if tbi_applies(regs.tcr, va) { 55 } else { 63 };

    if regs.sctlr & sctlr::M == 0 {
        if va & bits(top, PA_BITS) != 0 {
            return fault(FaultKind::AddressSize, 0);
        }
        return Ok(Translation {
            pa: va & bits(PA_BITS - 1, 0),
            attrs: Attrs {
                asid: 0,
                perms: Perms::ALL,
                attr: 0x00,
                mem: MemType::DeviceNGnRnE,
                sh: 0b10,
                level: 0,
                block_shift: 12,
                global: true,
                mmu_off: true,
            },
        });
    }

    let upper = (va >> top) & 1 != 0;
    let (tsz, disabled, grain, ttbr) = if upper {
        (
            (regs.tcr >> tcr::T1SZ_SHIFT) & 0x3f,
            regs.tcr & tcr::EPD1 != 0,
            ttbr1_grain(regs.tcr),
            regs.ttbr1,
        )
    } else {
        (
            (regs.tcr >> tcr::T0SZ_SHIFT) & 0x3f,
            regs.tcr & tcr::EPD0 != 0,
            ttbr0_grain(regs.tcr),
            regs.ttbr0,
        )
    };
    // Out-of-range TxSZ: CONSTRAINED UNPREDICTABLE, this model forces it into range.
    let inputsize = (64 - tsz as u32).clamp(25, 48);
    let range = va & bits(top, inputsize);
    let in_range = if upper {
        range == bits(top, inputsize)
    } else {
        range == 0
    };
    if !in_range || disabled {
        return fault(FaultKind::Translation, 0);
    }

    let stride = grain - 3;
    let firstblocklevel = if grain == 12 { 1 } else { 2 };
    let mut level = 4 - (inputsize - grain).div_ceil(stride);
    let outputsize = regs.pa_out_bits();
    if ttbr & bits(47, outputsize) != 0 {
        return fault(FaultKind::AddressSize, 0);
    }
    let baselowerbound = 3 + inputsize - ((3 - level) * stride + grain);
    let mut base = ttbr & bits(47, baselowerbound);
    let big_endian = regs.sctlr & sctlr::EE != 0;

    let mut ap_table_ro = false; // APTable[1]
    let mut ap_table_nouser = false; // APTable[0]
    let mut xn_table = false;
    let mut pxn_table = false;
    let mut addrselecttop = inputsize - 1;
    let (desc, bottom) = loop {
        let bottom = (3 - level) * stride + grain;
        let index = (va & bits(addrselecttop, bottom)) >> bottom;
        let raw = match mem.read_u64(base | (index << 3)) {
            Some(d) => d,
            None => return fault(FaultKind::WalkExternalAbort, level),
        };
        let desc = if big_endian { raw.swap_bytes() } else { raw };
        if desc & 1 == 0 || (desc & 3 == 1 && level == 3) {
            return fault(FaultKind::Translation, level);
        }
        if desc & 3 == 1 || level == 3 {
            break (desc, bottom);
        }
        // Table descriptor.
        if desc & bits(47, outputsize) != 0 {
            return fault(FaultKind::AddressSize, level);
        }
        base = desc & bits(47, grain);
        ap_table_ro |= desc & (1 << 62) != 0;
        ap_table_nouser |= desc & (1 << 61) != 0;
        xn_table |= desc & (1 << 60) != 0;
        pxn_table |= desc & (1 << 59) != 0;
        level += 1;
        addrselecttop = bottom - 1;
    };
    if level < firstblocklevel {
        return fault(FaultKind::Translation, level);
    }
    if desc & bits(47, outputsize) != 0 {
        return fault(FaultKind::AddressSize, level);
    }
    if desc & (1 << 10) == 0 {
        return fault(FaultKind::AccessFlag, level);
    }
    let pa = (desc & bits(47, bottom)) | (va & bits(bottom - 1, 0));
    let attr = (regs.mair >> (8 * ((desc >> 2) & 7))) as u8;
    let memtype = MemType::from_mair_attr(attr);
    // Device and Normal inner+outer Non-cacheable are reported Outer Shareable.
    let sh = if memtype.is_device() || attr == 0x44 {
        0b10
    } else {
        ((desc >> 8) & 3) as u8
    };
    let perms = Perms::from_bits(
        desc & (1 << 7) != 0 || ap_table_ro,
        desc & (1 << 6) != 0 && !ap_table_nouser,
        desc & (1 << 54) != 0 || xn_table,
        desc & (1 << 53) != 0 || pxn_table,
        regs.sctlr & sctlr::WXN != 0,
    );
    Ok(Translation {
        pa,
        attrs: Attrs {
            asid: regs.current_asid(),
            perms,
            attr,
            mem: memtype,
            sh,
            level: level as u8,
            block_shift: bottom as u8,
            global: desc & (1 << 11) == 0,
            mmu_off: false,
        },
    })
}

/// The AT instructions of EL1 this module answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtOp {
    /// AT S1E1R: EL1 read.
    S1E1R,
    /// AT S1E1W: EL1 write.
    S1E1W,
    /// AT S1E0R: EL0 read.
    S1E0R,
    /// AT S1E0W: EL0 write.
    S1E0W,
}

/// PAR_EL1.F.
pub const PAR_F: u64 = 1;

/// Executes an AT S1E{0,1}{R,W} on `va` and returns the PAR_EL1 value.
///
/// Success: ATTR\[63:56\] = MAIR byte, PA\[47:12\], bit 11 RES1, NS\[9\] = 1
/// (UNKNOWN for a Non-secure regime), SH\[8:7\] (0b10 for Device and Normal
/// Non-cacheable), F = 0. Failure: F = 1, FST\[6:1\] = the fault status code,
/// PTW\[8\] = 0 and S\[9\] = 0 (stage 1), bit 11 RES1. PAN is not applied
/// (AT S1E1RP/WP are v8.2). With the MMU off the result is the flat mapping
/// with Device-nGnRnE attributes.
///
/// `Err` only for a synchronous external abort on the walk, which the
/// architecture reports as a Data Abort exception (ESR CM = 1, WnR = 1), not in PAR.
pub fn at_translate(
    regs: &MmuRegs,
    va: u64,
    op: AtOp,
    mem: &mut impl PhysRead,
) -> Result<u64, MmuFault> {
    let (kind, el) = match op {
        AtOp::S1E1R => (AccessKind::Read, 1),
        AtOp::S1E1W => (AccessKind::Write, 1),
        AtOp::S1E0R => (AccessKind::Read, 0),
        AtOp::S1E0W => (AccessKind::Write, 0),
    };
    let access = Access {
        kind,
        op: AccessOp::At,
        el,
        pan: false,
        unaligned: false,
    };
    match translate(regs, va, access, mem) {
        Ok(t) => Ok((u64::from(t.attrs.attr) << 56)
            | (t.pa & bits(47, 12))
            | (1 << 11)
            | (1 << 9)
            | (u64::from(t.attrs.sh) << 7)),
        Err(f) if f.kind == FaultKind::WalkExternalAbort => Err(f),
        Err(f) => Ok((1 << 11) | (u64::from(f.fsc()) << 1) | PAR_F),
    }
}
