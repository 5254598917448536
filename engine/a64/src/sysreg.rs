//! The system register map: (op0, op1, CRn, CRm, op2) -> [`SysReg`] with access rules.
//! EL1 registers arrive with EL1 support; unknown registers are UNDEF.

use crate::ir::SysReg;

/// Identification values of the modelled core (Cortex-A72-like, ARMv8.0 + crypto + CRC32).
pub mod id {
    /// MIDR_EL1: Arm Cortex-A72 r0p3.
    pub const MIDR_EL1: u64 = 0x410f_d083;
    /// MPIDR_EL1: uniprocessor affinity 0, U=0, bit 31 RES1.
    pub const MPIDR_EL1: u64 = 0x8000_0000;
    /// ID_AA64PFR0_EL1: EL0/EL1 AArch64 only, FP and AdvSIMD implemented, CSV3 = 1.
    pub const ID_AA64PFR0_EL1: u64 = 0x1000_0000_0000_0011;
    /// ID_AA64ISAR0_EL1: AES+PMULL (2), SHA1 (1), SHA2 (1), CRC32 (1).
    pub const ID_AA64ISAR0_EL1: u64 = 0x0001_1120;
    /// ID_AA64MMFR0_EL1: 44-bit PA, 16-bit ASID, 4K and 64K granules.
    pub const ID_AA64MMFR0_EL1: u64 = 0x1124;
    /// ID_AA64MMFR1_EL1: PAN.
    pub const ID_AA64MMFR1_EL1: u64 = 0x0010_0000;
    /// ID_AA64DFR0_EL1: debug v8, 6 breakpoints, 4 watchpoints, no PMU (PMUVer = 0).
    pub const ID_AA64DFR0_EL1: u64 = 0x1030_5006;
}

/// A resolved system register access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysRegInfo {
    /// The register.
    pub reg: SysReg,
    /// Lowest exception level that may read it.
    pub read_el: u8,
    /// Lowest exception level that may write it (`u8::MAX`: read-only).
    pub write_el: u8,
}

const RO: u8 = u8::MAX;

/// The key of a system register encoding: `op0:op1:CRn:CRm:op2` packed as in the
/// MRS/MSR instruction bits \[20:5\] (op0 in bits 15..14).
pub const fn key(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    ((op0 & 3) << 14) | ((op1 & 7) << 11) | ((crn & 15) << 7) | ((crm & 15) << 3) | (op2 & 7)
}

/// Splits a [`key`] into (op0, op1, CRn, CRm, op2).
pub const fn unkey(k: u32) -> (u32, u32, u32, u32, u32) {
    (
        (k >> 14) & 3,
        (k >> 11) & 7,
        (k >> 7) & 15,
        (k >> 3) & 15,
        k & 7,
    )
}

/// Key of the PSTATE.PAN register (MRS/MSR PAN), also used for `MSR PAN, #imm`.
pub const KEY_PAN: u32 = key(3, 0, 4, 2, 3);
/// Key of SPSel, also used for `MSR SPSel, #imm`.
pub const KEY_SPSEL: u32 = key(3, 0, 4, 2, 0);

/// Whether a write of system register `r` leaves alone everything the runner must see
/// before the next block: the exception level and stack selection, the translation
/// regime and ASID (SCTLR, TCR, TTBRs, MAIR), PAN, the FP trap (CPACR) and the timers.
/// Such writes (exception-return state, SP_EL0, fault syndromes, thread pointers, the
/// vector base) need not end the block, and translated code chains on after them.
pub fn write_keeps_context(r: SysReg) -> bool {
    const KEEP: [u32; 14] = [
        key(3, 0, 4, 0, 0),  // SPSR_EL1
        key(3, 0, 4, 0, 1),  // ELR_EL1
        key(3, 0, 4, 1, 0),  // SP_EL0
        key(3, 0, 5, 1, 0),  // AFSR0_EL1
        key(3, 0, 5, 1, 1),  // AFSR1_EL1
        key(3, 0, 5, 2, 0),  // ESR_EL1
        key(3, 0, 6, 0, 0),  // FAR_EL1
        key(3, 0, 7, 4, 0),  // PAR_EL1
        key(3, 0, 10, 3, 0), // AMAIR_EL1
        key(3, 0, 12, 0, 0), // VBAR_EL1
        key(3, 0, 13, 0, 1), // CONTEXTIDR_EL1
        key(3, 0, 13, 0, 4), // TPIDR_EL1
        key(3, 2, 0, 0, 0),  // CSSELR_EL1
        key(2, 0, 0, 2, 2),  // MDSCR_EL1
    ];
    match r {
        SysReg::TpidrEl0 | SysReg::TpidrroEl0 => true,
        SysReg::Impl(k) => KEEP.contains(&k),
        _ => false,
    }
}

/// Looks up a system register encoding the core models itself (op0 is 2 or 3).
/// `None`: the register is the environment's ([`SysReg::Impl`]).
pub fn lookup(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> Option<SysRegInfo> {
    let r = |reg, read_el, write_el| {
        Some(SysRegInfo {
            reg,
            read_el,
            write_el,
        })
    };
    match (op0, op1, crn, crm, op2) {
        (3, 3, 4, 2, 0) => r(SysReg::Nzcv, 0, 0),
        (3, 3, 4, 2, 1) => r(SysReg::Daif, 1, 1),
        (3, 3, 4, 4, 0) => r(SysReg::Fpcr, 0, 0),
        (3, 3, 4, 4, 1) => r(SysReg::Fpsr, 0, 0),
        // SPSel: EL1 only, banked stack pointers are the environment's (system mode).
        (3, 0, 4, 2, 0) => r(SysReg::Impl(KEY_SPSEL), 1, 1),
        (3, 0, 4, 2, 2) => r(SysReg::CurrentEl, 1, RO),
        (3, 3, 13, 0, 2) => r(SysReg::TpidrEl0, 0, 0),
        (3, 3, 13, 0, 3) => r(SysReg::TpidrroEl0, 0, 1),
        (3, 3, 0, 0, 1) => r(SysReg::CtrEl0, 0, RO),
        (3, 3, 0, 0, 7) => r(SysReg::DczidEl0, 0, RO),
        (3, 3, 14, 0, 0) => r(SysReg::CntfrqEl0, 0, RO),
        (3, 3, 14, 0, 1) | (3, 3, 14, 0, 2) => r(SysReg::CntvctEl0, 0, RO),
        // Identification registers: Linux emulates EL0 reads of these, so allow them.
        (3, 0, 0, 0, 0) => r(SysReg::Const(id::MIDR_EL1), 0, RO),
        (3, 0, 0, 0, 5) => r(SysReg::Const(id::MPIDR_EL1), 0, RO),
        (3, 0, 0, 0, 6) => r(SysReg::Const(0), 0, RO),
        (3, 0, 0, 4, 0) => r(SysReg::Const(id::ID_AA64PFR0_EL1), 0, RO),
        (3, 0, 0, 5, 0) => r(SysReg::Const(id::ID_AA64DFR0_EL1), 0, RO),
        (3, 0, 0, 6, 0) => r(SysReg::Const(id::ID_AA64ISAR0_EL1), 0, RO),
        (3, 0, 0, 7, 0) => r(SysReg::Const(id::ID_AA64MMFR0_EL1), 0, RO),
        (3, 0, 0, 7, 1) => r(SysReg::Const(id::ID_AA64MMFR1_EL1), 0, RO),
        // Remaining ID_AA64* registers (PFR1, DFR1, AFR*, ISAR1/2, MMFR2): zero.
        (3, 0, 0, 4..=7, 0..=7) => r(SysReg::Const(0), 0, RO),
        _ => None,
    }
}
