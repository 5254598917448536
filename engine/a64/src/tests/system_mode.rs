//! System mode hooks of the core: environment system registers, EL-dependent lowering,
//! the FP trap classifier.

use crate::interp::{Exit, Memory};
use crate::ir::{ExcKind, Maint, Op, SysReg};
use crate::lower::{lower, uses_fp};
use crate::sysreg::{key, KEY_PAN};
use crate::testutil::run_to_exit;

#[test]
fn unknown_sysreg_is_undef_when_the_environment_refuses() {
    // mrs x0, sctlr_el1 at EL1: TestMem implements no EL1 registers -> UNDEF at the MRS.
    let (cpu, _m, e) = run_to_exit(&[0xd503201f, 0xd5381000], |c, _| c.el = 1);
    assert_eq!(
        e,
        Exit::Exception {
            kind: ExcKind::Undef(0xd5381000),
            pc: 0x10004
        }
    );
    assert_eq!(cpu.pc, 0x10004);
}

#[test]
fn el1_registers_lower_to_environment_accesses() {
    let mut b = crate::lower::Builder::new();
    b.el = 1;
    b.begin_insn(0, 0xd518c000); // msr vbar_el1, x0
    crate::lower::lower_into(&mut b, 0xd518c000);
    let blk = b.finish(0, 1, 4);
    let k = key(3, 0, 12, 0, 0);
    assert!(blk.ops.iter().any(|o| matches!(
        o,
        Op::SysWrite {
            reg: SysReg::Impl(x),
            ..
        } if *x == k
    )));
    // At EL0 the same MSR is an environment access too (which refuses at EL0).
    let blk = lower(0xd500419f, 0); // msr pan, #1 at EL0: UNDEF (MSR immediate)
    assert!(matches!(
        blk.term,
        crate::ir::Term::Exception {
            kind: ExcKind::Undef(_),
            ..
        }
    ));
}

#[test]
fn msr_pan_immediate_writes_bit_22() {
    struct Env(Option<(u32, u64)>);
    impl Memory for Env {
        fn read(&mut self, _: u64, _: crate::ir::MemAttr) -> Result<u128, crate::interp::MemFault> {
            Ok(0)
        }
        fn write(
            &mut self,
            _: u64,
            _: u128,
            _: crate::ir::MemAttr,
        ) -> Result<(), crate::interp::MemFault> {
            Ok(())
        }
        fn sys_write(&mut self, _: &mut crate::Cpu, k: u32, v: u64) -> bool {
            self.0 = Some((k, v));
            true
        }
    }
    let mut b = crate::lower::Builder::new();
    b.el = 1;
    b.begin_insn(0x1000, 0xd500419f);
    crate::lower::lower_into(&mut b, 0xd500419f);
    let blk = b.finish(0x1000, 1, 0x1004);
    let mut cpu = crate::Cpu::new();
    cpu.el = 1;
    let mut env = Env(None);
    let e = crate::run_block(&mut cpu, &mut env, &blk, &mut Vec::new());
    assert_eq!(e, Exit::Continue);
    assert_eq!(env.0, Some((KEY_PAN, 1 << 22)));
    assert_eq!(cpu.pc, 0x1004, "the block ends after the write");
}

#[test]
fn smc_is_undef_and_hvc_an_event_at_el1() {
    let (_, _, e) = run_to_exit(&[0xd4000003], |c, _| c.el = 1);
    assert!(matches!(
        e,
        Exit::Exception {
            kind: ExcKind::Undef(_),
            ..
        }
    ));
    let (cpu, _, e) = run_to_exit(&[0xd4000002], |c, _| c.el = 1);
    assert!(matches!(
        e,
        Exit::Exception {
            kind: ExcKind::Hvc(0),
            ..
        }
    ));
    assert_eq!(cpu.pc, 0x10004);
    // TLBI VMALLE1 at EL1 is a maintenance event; at EL0 it is UNDEF.
    let (_, _, e) = run_to_exit(&[0xd508871f], |c, _| c.el = 1);
    assert!(matches!(
        e,
        Exit::Exception {
            kind: ExcKind::Maint(Maint::Tlbi),
            ..
        }
    ));
    let (_, _, e) = run_to_exit(&[0xd508871f], |_, _| {});
    assert!(matches!(
        e,
        Exit::Exception {
            kind: ExcKind::Undef(_),
            ..
        }
    ));
}

#[test]
fn fp_classifier() {
    assert!(uses_fp(0x1e622820)); // fadd d0, d1, d2
    assert!(uses_fp(0x4e284800)); // aese v0.16b, v0.16b
    assert!(uses_fp(0x3dc00000)); // ldr q0, [x0]
    assert!(uses_fp(0xad400440)); // ldp q0, q1, [x2]
    assert!(uses_fp(0xd53b4400)); // mrs x0, fpcr
    assert!(uses_fp(0xd51b4420)); // msr fpsr, x0
    assert!(!uses_fp(0xf9400000)); // ldr x0, [x0]
    assert!(!uses_fp(0x8b020020)); // add x0, x1, x2
    assert!(!uses_fp(0x1ac24020)); // crc32b w0, w1, w2
    assert!(!uses_fp(0xd53b4200)); // mrs x0, nzcv
    assert!(!uses_fp(0xc85f7c00)); // ldxr x0, [x0]
}
