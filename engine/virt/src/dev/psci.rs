//! PSCI 1.0 firmware interface (Arm DEN 0022) for one CPU, called with HVC (the DTB says
//! `compatible = "arm,psci-1.0", "arm,psci-0.2"`, `method = "hvc"`), plus the SMCCC
//! (Arm DEN 0028) discovery calls.
//!
//! SMCCC: the firmware presents itself as SMCCC v1.0 -- `PSCI_FEATURES(SMCCC_VERSION)`
//! and `SMCCC_VERSION` return NOT_SUPPORTED -- so Linux makes no SMCCC 1.1 calls at all:
//! no `ARCH_WORKAROUND_1/2/3` mitigations that would trap to us on every context switch
//! or kernel entry, no TRNG or vendor hypervisor service probing. Every function ID this
//! module does not know returns NOT_SUPPORTED (-1), as SMCCC requires.

/// Result codes (`x0`), as the 64-bit sign extension of the 32-bit PSCI values.
pub mod ret {
    pub const SUCCESS: u64 = 0;
    pub const NOT_SUPPORTED: u64 = -1i64 as u64;
    pub const INVALID_PARAMETERS: u64 = -2i64 as u64;
    pub const DENIED: u64 = -3i64 as u64;
    pub const ALREADY_ON: u64 = -4i64 as u64;
    pub const ON_PENDING: u64 = -5i64 as u64;
    pub const INTERNAL_FAILURE: u64 = -6i64 as u64;
    pub const NOT_PRESENT: u64 = -7i64 as u64;
    pub const DISABLED: u64 = -8i64 as u64;
    pub const INVALID_ADDRESS: u64 = -9i64 as u64;
}

/// Function IDs (the SMC32 form; `| 0x4000_0000` gives the SMC64 form where one exists).
pub mod fid {
    pub const PSCI_VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND: u32 = 0x8400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON: u32 = 0x8400_0003;
    pub const AFFINITY_INFO: u32 = 0x8400_0004;
    pub const MIGRATE: u32 = 0x8400_0005;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const MIGRATE_INFO_UP_CPU: u32 = 0x8400_0007;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const PSCI_FEATURES: u32 = 0x8400_000a;
    pub const SMC64: u32 = 0x4000_0000;
    pub const SMCCC_VERSION: u32 = 0x8000_0000;
    pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
}

/// PSCI 1.0.
pub const PSCI_VERSION_1_0: u64 = 0x0001_0000;
/// MIGRATE_INFO_TYPE: a uniprocessor / migration-free Trusted OS ("not present").
pub const MIGRATE_INFO_NOT_PRESENT: u64 = 2;

/// What the machine must do for a PSCI call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PsciOutcome {
    /// Write the value to `x0` and return to the caller.
    Return(u64),
    /// Power the machine off (SYSTEM_OFF); the call does not return.
    SystemOff,
    /// Reset the machine (SYSTEM_RESET); the call does not return.
    SystemReset,
    /// CPU_OFF of the only CPU: nothing will ever run again; treat as power off.
    CpuOff,
    /// CPU_SUSPEND. A standby state (`power_state` bit 16 clear) is a WFI: wait for an
    /// interrupt (even a masked one), then return SUCCESS in `x0`. For a power-down state
    /// the machine may do the same (a shallower state than requested; Linux copes) or
    /// resume at `entry` with `x0 = context` after the wake-up, MMU off, as from reset.
    CpuSuspend {
        power_state: u32,
        entry: u64,
        context: u64,
    },
}

/// The affinity fields of an MPIDR (Aff3 in [39:32], Aff2..Aff0 in [23:0]).
const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;

fn is_cpu0(mpidr: u64, smc64: bool) -> bool {
    let mask = if smc64 { MPIDR_AFF_MASK } else { 0x00ff_ffff };
    mpidr & mask == 0
}

/// Whether `id` (either calling convention) is a function this firmware implements.
fn supported(id: u32) -> bool {
    let base = id & !fid::SMC64;
    let has64 = matches!(base, fid::CPU_SUSPEND | fid::CPU_ON | fid::AFFINITY_INFO);
    if id & fid::SMC64 != 0 && !has64 {
        return false;
    }
    matches!(
        base,
        fid::PSCI_VERSION
            | fid::CPU_SUSPEND
            | fid::CPU_OFF
            | fid::CPU_ON
            | fid::AFFINITY_INFO
            | fid::MIGRATE_INFO_TYPE
            | fid::SYSTEM_OFF
            | fid::SYSTEM_RESET
            | fid::PSCI_FEATURES
    )
}

/// A PSCI / SMCCC call: `function_id` from `w0`, arguments from `x1..x3`.
pub fn psci_call(function_id: u32, x1: u64, x2: u64, x3: u64) -> PsciOutcome {
    use PsciOutcome::Return;
    let smc64 = function_id & fid::SMC64 != 0;
    // SMC32 calls see only the low 32 bits of their arguments.
    let (a1, a2, a3) = if smc64 {
        (x1, x2, x3)
    } else {
        (x1 & 0xffff_ffff, x2 & 0xffff_ffff, x3 & 0xffff_ffff)
    };
    if !supported(function_id) {
        return Return(ret::NOT_SUPPORTED);
    }
    match function_id & !fid::SMC64 {
        fid::PSCI_VERSION => Return(PSCI_VERSION_1_0),
        fid::CPU_SUSPEND => PsciOutcome::CpuSuspend {
            power_state: a1 as u32,
            entry: a2,
            context: a3,
        },
        fid::CPU_OFF => PsciOutcome::CpuOff,
        fid::CPU_ON => Return(if is_cpu0(a1, smc64) {
            ret::ALREADY_ON
        } else {
            ret::INVALID_PARAMETERS
        }),
        fid::AFFINITY_INFO => {
            // Lowest affinity level 0..3; the fields below it are ignored.
            let level = a2;
            if level > 3 || (!smc64 && level > 2) {
                return Return(ret::INVALID_PARAMETERS);
            }
            let ignored: u64 = match level {
                0 => 0,
                1 => 0xff,
                2 => 0xffff,
                _ => 0xff_ffff,
            };
            if is_cpu0(a1 & !ignored, smc64) {
                Return(0) // ON
            } else {
                Return(ret::INVALID_PARAMETERS)
            }
        }
        fid::MIGRATE_INFO_TYPE => Return(MIGRATE_INFO_NOT_PRESENT),
        fid::SYSTEM_OFF => PsciOutcome::SystemOff,
        fid::SYSTEM_RESET => PsciOutcome::SystemReset,
        fid::PSCI_FEATURES => {
            let queried = a1 as u32;
            // CPU_SUSPEND features: original power_state format, platform-coordinated.
            if supported(queried) {
                Return(ret::SUCCESS)
            } else {
                Return(ret::NOT_SUPPORTED)
            }
        }
        _ => Return(ret::NOT_SUPPORTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PsciOutcome::*;

    #[test]
    fn version_and_features() {
        assert_eq!(psci_call(fid::PSCI_VERSION, 0, 0, 0), Return(0x1_0000));
        for f in [
            fid::PSCI_VERSION,
            fid::CPU_SUSPEND,
            fid::CPU_SUSPEND | fid::SMC64,
            fid::CPU_OFF,
            fid::CPU_ON,
            fid::CPU_ON | fid::SMC64,
            fid::AFFINITY_INFO | fid::SMC64,
            fid::MIGRATE_INFO_TYPE,
            fid::SYSTEM_OFF,
            fid::SYSTEM_RESET,
            fid::PSCI_FEATURES,
        ] {
            assert_eq!(
                psci_call(fid::PSCI_FEATURES, u64::from(f), 0, 0),
                Return(ret::SUCCESS),
                "{f:#x}"
            );
        }
        for f in [
            fid::SMCCC_VERSION,
            fid::SMCCC_ARCH_FEATURES,
            fid::MIGRATE,
            fid::MIGRATE_INFO_UP_CPU,
            0x8400_000e, // SYSTEM_SUSPEND
            0xc400_000e,
            0x8400_0012, // SYSTEM_RESET2
            fid::SYSTEM_OFF | fid::SMC64,
            fid::PSCI_VERSION | fid::SMC64,
        ] {
            assert_eq!(
                psci_call(fid::PSCI_FEATURES, u64::from(f), 0, 0),
                Return(ret::NOT_SUPPORTED),
                "{f:#x}"
            );
        }
    }

    #[test]
    fn smccc_is_v1_0() {
        assert_eq!(
            psci_call(fid::SMCCC_VERSION, 0, 0, 0),
            Return(ret::NOT_SUPPORTED)
        );
        // ARCH_FEATURES(ARCH_WORKAROUND_1) and friends.
        for w in [0x8000_8000u64, 0x8000_7fff, 0x8000_3fff] {
            assert_eq!(
                psci_call(fid::SMCCC_ARCH_FEATURES, w, 0, 0),
                Return(ret::NOT_SUPPORTED)
            );
        }
        assert_eq!(psci_call(0x8400_0050, 0, 0, 0), Return(ret::NOT_SUPPORTED));
        assert_eq!(psci_call(0x8600_ff01, 0, 0, 0), Return(ret::NOT_SUPPORTED));
        assert_eq!(ret::NOT_SUPPORTED, u64::MAX);
    }

    #[test]
    fn cpu_on_and_affinity_info() {
        assert_eq!(
            psci_call(fid::CPU_ON | fid::SMC64, 0, 0x4008_0000, 0),
            Return(ret::ALREADY_ON)
        );
        assert_eq!(
            psci_call(fid::CPU_ON | fid::SMC64, 1, 0x4008_0000, 0),
            Return(ret::INVALID_PARAMETERS)
        );
        assert_eq!(
            psci_call(fid::CPU_ON | fid::SMC64, 1 << 32, 0, 0),
            Return(ret::INVALID_PARAMETERS)
        );
        // SMC32 ignores the upper half of x1 (Aff3 is not reachable).
        assert_eq!(
            psci_call(fid::CPU_ON, 1 << 32, 0, 0),
            Return(ret::ALREADY_ON)
        );
        // MPIDR bit 31 (RES1) and the U/MT bits are not affinity.
        assert_eq!(
            psci_call(fid::CPU_ON | fid::SMC64, 0x8000_0000, 0, 0),
            Return(ret::ALREADY_ON)
        );
        assert_eq!(
            psci_call(fid::AFFINITY_INFO | fid::SMC64, 0, 0, 0),
            Return(0)
        );
        assert_eq!(
            psci_call(fid::AFFINITY_INFO | fid::SMC64, 2, 0, 0),
            Return(ret::INVALID_PARAMETERS)
        );
        // Level 1 ignores Aff0.
        assert_eq!(psci_call(fid::AFFINITY_INFO, 2, 1, 0), Return(0));
        assert_eq!(
            psci_call(fid::AFFINITY_INFO, 0, 3, 0),
            Return(ret::INVALID_PARAMETERS)
        );
        assert_eq!(
            psci_call(fid::AFFINITY_INFO | fid::SMC64, 0, 4, 0),
            Return(ret::INVALID_PARAMETERS)
        );
    }

    #[test]
    fn power_and_migrate() {
        assert_eq!(psci_call(fid::SYSTEM_OFF, 0, 0, 0), SystemOff);
        assert_eq!(psci_call(fid::SYSTEM_RESET, 0, 0, 0), SystemReset);
        assert_eq!(psci_call(fid::CPU_OFF, 0, 0, 0), CpuOff);
        assert_eq!(
            psci_call(fid::MIGRATE_INFO_TYPE, 0, 0, 0),
            Return(MIGRATE_INFO_NOT_PRESENT)
        );
        assert_eq!(
            psci_call(fid::MIGRATE_INFO_UP_CPU, 0, 0, 0),
            Return(ret::NOT_SUPPORTED)
        );
        assert_eq!(
            psci_call(fid::SYSTEM_OFF | fid::SMC64, 0, 0, 0),
            Return(ret::NOT_SUPPORTED)
        );
    }

    #[test]
    fn cpu_suspend_arguments() {
        assert_eq!(
            psci_call(
                fid::CPU_SUSPEND | fid::SMC64,
                0x1_0000,
                0x4010_0000,
                0xdead_beef_0000
            ),
            CpuSuspend {
                power_state: 0x1_0000,
                entry: 0x4010_0000,
                context: 0xdead_beef_0000
            }
        );
        assert_eq!(
            psci_call(fid::CPU_SUSPEND, 0xffff_ffff_0000_0001, 0x1_4010_0000, 0),
            CpuSuspend {
                power_state: 1,
                entry: 0x4010_0000,
                context: 0
            }
        );
    }
}
