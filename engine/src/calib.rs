//! The cost figures the engine measures at start (DESIGN.md §3). The translator reads
//! them to choose its memory strategy; `--stats` prints them.

use core::fmt;

/// Measured costs; cycles are TSC cycles.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Calibration {
    pub tsc_hz: u64,
    /// Launcher start to the engine's first hypercall (0 when not booted by the launcher).
    pub start_to_first_hypercall_ns: u64,
    pub ring0_insn_cycles: u64,
    pub int3_service_cycles: u64,
    pub pf_upcall_cycles: u64,
    pub pte_write_invlpg_cycles: u64,
    pub cr3_switch_cycles: u64,
    pub timer_irq_cycles: u64,
    pub hypercall_ns: u64,
}

impl Calibration {
    /// Ring 0 is emulated instruction by instruction (as under PVM) when one ring-0
    /// instruction costs more than this many cycles.
    pub const EMULATED_RING0_THRESHOLD: u64 = 100;

    pub fn ring0_emulated(&self) -> bool {
        self.ring0_insn_cycles > Self::EMULATED_RING0_THRESHOLD
    }

    /// Preferred guest-memory strategy: mirroring guest page tables into x86 ones
    /// (`hw`) pays a fault per fill; when faults cost this much the software TLB wins.
    pub fn prefer_soft_mmu(&self) -> bool {
        self.ring0_emulated() || self.pf_upcall_cycles > 5_000
    }
}

/// Median of a small sample (sorts it in place); 0 for an empty one.
pub fn median(samples: &mut [u64]) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    samples[samples.len() / 2]
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // value / div with two decimals
        let fixed2 = |v: u64, div: u64| (v / div, (v % div) * 100 / div);
        writeln!(f, "calibration (TSC {} MHz):", self.tsc_hz / 1_000_000)?;
        let (a, b) = fixed2(self.start_to_first_hypercall_ns, 1_000_000);
        writeln!(f, "  launcher start -> first hypercall  {a}.{b:02} ms")?;
        writeln!(
            f,
            "  one ring-0 instruction             {} cycles",
            self.ring0_insn_cycles
        )?;
        writeln!(
            f,
            "  int3 service round trip            {} cycles",
            self.int3_service_cycles
        )?;
        writeln!(
            f,
            "  #PF upcall round trip              {} cycles",
            self.pf_upcall_cycles
        )?;
        writeln!(
            f,
            "  PTE write + INVLPG                 {} cycles",
            self.pte_write_invlpg_cycles
        )?;
        writeln!(
            f,
            "  CR3 switch                         {} cycles",
            self.cr3_switch_cycles
        )?;
        writeln!(
            f,
            "  timer interrupt (ring 3 time lost) {} cycles",
            self.timer_irq_cycles
        )?;
        let (a, b) = fixed2(self.hypercall_ns, 1000);
        writeln!(f, "  hypercall round trip               {a}.{b:02} us")?;
        write!(
            f,
            "  ring 0 emulated: {}; memory strategy: {}",
            if self.ring0_emulated() { "yes" } else { "no" },
            if self.prefer_soft_mmu() { "soft" } else { "hw" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_choice() {
        assert_eq!(median(&mut [5, 1, 9]), 5);
        assert_eq!(median(&mut []), 0);
        let c = Calibration {
            ring0_insn_cycles: 1600,
            ..Default::default()
        };
        assert!(c.ring0_emulated() && c.prefer_soft_mmu());
        let c = Calibration {
            ring0_insn_cycles: 1,
            pf_upcall_cycles: 1500,
            ..Default::default()
        };
        assert!(!c.prefer_soft_mmu());
        let s = std::format!(
            "{}",
            Calibration {
                hypercall_ns: 12_345,
                tsc_hz: 2_600_000_000,
                ..c
            }
        );
        assert!(s.contains("12.34 us"), "{s}");
        assert!(s.contains("2600 MHz"));
    }
}
