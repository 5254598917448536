//! Semantics of the core framework: exclusives, alignment, precise faults, DC ZVA,
//! UNDEF, system registers, verifier rejections.

use crate::decode::{decode, Enc};
use crate::interp::{Exit, MemFault, Memory};
use crate::ir::{Block, ExcKind, MemAttr, Op, Reg, Temp, Term, Ty};
use crate::testutil::{run, run_to_exit};
use crate::verify::verify;

const BRK: u32 = 0xd420_0000;
const LDXR_X0_X1: u32 = 0xc85f_7c20;
const STXR_W2_X3_X1: u32 = 0xc802_7c23;
const STR_X4_X1: u32 = 0xf900_0024;
const CLREX: u32 = 0xd503_3f5f;
const SVC0: u32 = 0xd400_0001;

fn setup_excl(cpu: &mut crate::state::Cpu, mem: &mut crate::testutil::TestMem) {
    cpu.x[1] = 0x20000;
    cpu.x[3] = 0x1111;
    mem.write(0x20000, 0x55, MemAttr::plain(8)).unwrap();
}

fn mem64(mem: &mut crate::testutil::TestMem, a: u64) -> u64 {
    mem.read(a, MemAttr::plain(8)).unwrap() as u64
}

#[test]
fn exclusive_pair_succeeds() {
    let (cpu, mut mem) = run(&[LDXR_X0_X1, STXR_W2_X3_X1, BRK], setup_excl);
    assert_eq!(cpu.x[0], 0x55);
    assert_eq!(cpu.x[2], 0, "STXR should succeed");
    assert_eq!(mem64(&mut mem, 0x20000), 0x1111);
    assert!(!cpu.monitor.valid);
}

#[test]
fn store_exclusive_without_monitor_fails() {
    let (cpu, mut mem) = run(&[STXR_W2_X3_X1, BRK], setup_excl);
    assert_eq!(cpu.x[2], 1);
    assert_eq!(mem64(&mut mem, 0x20000), 0x55);
}

#[test]
fn store_exclusive_fails_when_value_changed() {
    let (cpu, mut mem) = run(&[LDXR_X0_X1, STR_X4_X1, STXR_W2_X3_X1, BRK], |c, m| {
        setup_excl(c, m);
        c.x[4] = 0x77;
    });
    assert_eq!(cpu.x[2], 1);
    assert_eq!(mem64(&mut mem, 0x20000), 0x77);
}

#[test]
fn store_exclusive_succeeds_when_same_value_written_back() {
    let (cpu, mut mem) = run(&[LDXR_X0_X1, STR_X4_X1, STXR_W2_X3_X1, BRK], |c, m| {
        setup_excl(c, m);
        c.x[4] = 0x55;
    });
    assert_eq!(cpu.x[2], 0);
    assert_eq!(mem64(&mut mem, 0x20000), 0x1111);
}

#[test]
fn clrex_and_exceptions_clear_the_monitor() {
    let (cpu, _) = run(&[LDXR_X0_X1, CLREX, STXR_W2_X3_X1, BRK], setup_excl);
    assert_eq!(cpu.x[2], 1);
    let (mut cpu, mut mem, exit) = run_to_exit(&[LDXR_X0_X1, SVC0, STXR_W2_X3_X1, BRK], setup_excl);
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Svc(0),
            pc: 0x10004
        }
    );
    assert_eq!(cpu.pc, 0x10008);
    assert!(!cpu.monitor.valid);
    // continue after the SVC: the store-exclusive must fail
    let mut temps = Vec::new();
    let blk = crate::lower::lower_block(cpu.pc, 0, 64, &mut |a| mem.fetch(a)).unwrap();
    let _ = crate::interp::run_block(&mut cpu, &mut mem, &blk, &mut temps);
    assert_eq!(cpu.x[2], 1);
}

#[test]
fn exclusive_size_mismatch_fails() {
    // ldxr w0, [x1]; stxr w2, x3, [x1]
    let (cpu, _) = run(&[0x885f_7c20, STXR_W2_X3_X1, BRK], setup_excl);
    assert_eq!(cpu.x[2], 1);
}

#[test]
fn exclusive_pair_128() {
    // ldxp x5, x6, [x1]; stxp w2, x3, x4, [x1]
    let (cpu, mut mem) = run(&[0xc87f_1825, 0xc822_1023, BRK], |c, m| {
        c.x[1] = 0x20010;
        c.x[3] = 0xaaaa;
        c.x[4] = 0xbbbb;
        m.write(0x20010, 1 | (2u128 << 64), MemAttr::plain(16))
            .unwrap();
    });
    assert_eq!((cpu.x[5], cpu.x[6], cpu.x[2]), (1, 2, 0));
    assert_eq!(mem64(&mut mem, 0x20010), 0xaaaa);
    assert_eq!(mem64(&mut mem, 0x20018), 0xbbbb);
}

#[test]
fn alignment_faults() {
    for insn in [
        LDXR_X0_X1,
        0xc8df_fc20, /* ldar x0,[x1] */
        0xc89f_fc20, /* stlr x0,[x1] */
    ] {
        let (cpu, _, exit) = run_to_exit(&[insn, BRK], |c, _| c.x[1] = 0x20004);
        match exit {
            Exit::DataAbort {
                fault: MemFault::Alignment { addr, .. },
                pc,
            } => {
                assert_eq!((addr, pc, cpu.pc), (0x20004, 0x10000, 0x10000));
            }
            e => panic!("{insn:#x}: expected alignment fault, got {e:?}"),
        }
    }
    // a plain unaligned load is fine
    let (cpu, _) = run(&[0xf940_0020, BRK], |c, m| {
        c.x[1] = 0x20003;
        m.write(0x20003, 0x0102_0304_0506_0708, MemAttr::plain(8))
            .unwrap();
    });
    assert_eq!(cpu.x[0], 0x0102_0304_0506_0708);
}

#[test]
fn faults_are_precise() {
    // mov x0,#7 ; ldr x0, [x1], #8 (post-index, faults) ; brk
    let (cpu, _, exit) = run_to_exit(&[0xd28000e0, 0xf8408420, BRK], |c, _| c.x[1] = 0x10);
    assert!(matches!(
        exit,
        Exit::DataAbort {
            fault: MemFault::Unmapped {
                addr: 0x10,
                write: false
            },
            pc: 0x10004
        }
    ));
    assert_eq!(cpu.x[0], 7, "destination must be untouched");
    assert_eq!(cpu.x[1], 0x10, "writeback must not happen");
    assert_eq!(cpu.pc, 0x10004);
}

#[test]
fn dc_zva_zeroes_block() {
    let (_, mut mem) = run(&[0xd50b_7421 /* dc zva, x1 */, BRK], |c, m| {
        c.x[1] = 0x20047;
        for i in 0..0x100 {
            m.write(0x20000 + i, 0xff, MemAttr::plain(1)).unwrap();
        }
    });
    for i in 0..0x100u64 {
        let v = mem.read(0x20000 + i, MemAttr::plain(1)).unwrap();
        assert_eq!(
            v,
            if (0x40..0x80).contains(&i) { 0 } else { 0xff },
            "byte {i:#x}"
        );
    }
}

#[test]
fn undef_and_system_registers() {
    for insn in [
        0u32,
        0xd538_1000, /* mrs x0, sctlr_el1 */
        0xd503_42df, /* msr daifset,#2 */
        0xd69f_03e0, /* eret */
        0xd400_0002, /* hvc #0 */
        0xd400_0003, /* smc #0 */
    ] {
        let (_, _, exit) = run_to_exit(&[insn], |_, _| {});
        assert_eq!(
            exit,
            Exit::Exception {
                kind: ExcKind::Undef(insn),
                pc: 0x10000
            },
            "{insn:#x}"
        );
    }
    // mrs x0, midr_el1; mrs x1, dczid_el0; msr tpidr_el0, x0; mrs x2, tpidr_el0; msr nzcv, x3; mrs x4, nzcv
    let (cpu, _) = run(
        &[
            0xd538_0000,
            0xd53b_00e1,
            0xd51b_d040,
            0xd53b_d042,
            0xd51b_4203,
            0xd53b_4204,
            BRK,
        ],
        |c, _| {
            c.x[3] = 0xffff_ffff_ffff_ffff;
        },
    );
    assert_eq!(cpu.x[0], crate::sysreg::id::MIDR_EL1);
    assert_eq!(cpu.x[1], 4);
    assert_eq!(cpu.x[2], cpu.x[0]);
    assert_eq!(cpu.x[4], 0xf000_0000);
    // unallocated hints are NOPs (e.g. PACIASP = hint #25), SVC/BRK/HLT report events
    let (_, _, exit) = run_to_exit(&[0xd503_233f, 0xd400_0021 /* svc #1 */], |_, _| {});
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Svc(1),
            pc: 0x10004
        }
    );
    let (cpu, _, exit) = run_to_exit(&[0xd420_0040 /* brk #2 */], |_, _| {});
    assert_eq!(
        (exit, cpu.pc),
        (
            Exit::Exception {
                kind: ExcKind::Brk(2),
                pc: 0x10000
            },
            0x10000
        )
    );
    let (_, _, exit) = run_to_exit(&[0xd440_0060 /* hlt #3 */], |_, _| {});
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Hlt(3),
            pc: 0x10000
        }
    );
}

#[test]
fn decoder_api() {
    assert_eq!(decode(0xd503_201f).enc, Some(Enc::HINT));
    assert_eq!(decode(0).enc, None);
    assert_eq!(decode(0x8b02_0020).enc, Some(Enc::ADDSUB_sreg));
    assert_eq!(decode(0xf940_0020).enc.map(|e| e.name()), Some("LDST_uimm"));
    let b = crate::lower::lower(0x8b02_0020, 0x1000);
    verify(&b).unwrap();
    assert!(matches!(b.term, Term::Jump(0x1004)));
}

#[test]
fn verifier_rejects_bad_blocks() {
    let good = |ops: Vec<Op>, temps: Vec<Ty>, term: Term| Block {
        pc: 0,
        ninsns: 1,
        ops,
        temps,
        term,
    };
    let ins = Op::Insn { pc: 0, raw: 0 };
    // use before definition
    let b = good(
        vec![
            ins,
            Op::Set {
                reg: Reg::X(0),
                src: Temp(0),
            },
        ],
        vec![Ty::I64],
        Term::Jump(4),
    );
    assert!(verify(&b).is_err());
    // type mismatch
    let b = good(
        vec![
            ins,
            Op::Const {
                dst: Temp(0),
                ty: Ty::I32,
                val: 1,
            },
            Op::Set {
                reg: Reg::X(0),
                src: Temp(0),
            },
        ],
        vec![Ty::I32],
        Term::Jump(4),
    );
    assert!(verify(&b).is_err());
    // double definition
    let b = good(
        vec![
            ins,
            Op::Const {
                dst: Temp(0),
                ty: Ty::I64,
                val: 1,
            },
            Op::Const {
                dst: Temp(0),
                ty: Ty::I64,
                val: 2,
            },
        ],
        vec![Ty::I64],
        Term::Jump(4),
    );
    assert!(verify(&b).is_err());
    // missing instruction marker / bad terminator operand
    let b = good(
        vec![Op::Const {
            dst: Temp(0),
            ty: Ty::I64,
            val: 1,
        }],
        vec![Ty::I64],
        Term::Jump(4),
    );
    assert!(verify(&b).is_err());
    let b = good(
        vec![
            ins,
            Op::Const {
                dst: Temp(0),
                ty: Ty::I64,
                val: 1,
            },
        ],
        vec![Ty::I64],
        Term::Branch {
            cond: Temp(0),
            taken: 0,
            not_taken: 4,
        },
    );
    assert!(verify(&b).is_err());
    let ok = good(
        vec![
            ins,
            Op::Const {
                dst: Temp(0),
                ty: Ty::I64,
                val: 1,
            },
            Op::Set {
                reg: Reg::X(0),
                src: Temp(0),
            },
        ],
        vec![Ty::I64],
        Term::Jump(4),
    );
    assert!(verify(&ok).is_ok());
}

#[test]
fn flags_and_conditional_ops() {
    // movz x0,#1; lsl x0,x0,#63 (ubfm) ; subs x1, x0, #1 -> overflow; mrs x2, nzcv
    let (cpu, _) = run(
        &[0xd2800020, 0xd3410000, 0xf1000401, 0xd53b4202, BRK],
        |_, _| {},
    );
    assert_eq!(cpu.x[0], 1 << 63);
    assert_eq!(cpu.x[1], (1 << 63) - 1);
    assert_eq!(cpu.x[2], 0x3000_0000, "C=1 (no borrow), V=1");
    // cmp x3, x4 ; csneg x5, x6, x7, lt ; ccmp x3, #5, #4, ge ; cset-like csinc x8, xzr, xzr, eq
    let (cpu, _) = run(
        &[0xeb04007f, 0xda87b4c5, 0xfa45a864, 0x9a9f17e8, BRK],
        |c, _| {
            c.x[3] = 3;
            c.x[4] = 9;
            c.x[6] = 100;
            c.x[7] = 42;
        },
    );
    assert_eq!(cpu.x[5], 100);
    assert_eq!(cpu.nzcv, 0x4000_0000, "ccmp not taken: nzcv = #4 (Z)");
    assert_eq!(
        cpu.x[8], 1,
        "cset x8, eq (csinc x8, xzr, xzr, ne) with Z set"
    );
}

#[test]
fn el1_system_instructions() {
    // msr daifset, #2 ; hvc #5
    let (cpu, _, exit) = run_to_exit(&[0xd503_42df, 0xd400_00a2], |c, _| c.el = 1);
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Hvc(5),
            pc: 0x10004
        }
    );
    assert_eq!((cpu.daif, cpu.pc), (0x80, 0x10008));
    let (_, _, exit) = run_to_exit(&[0xd69f_03e0], |c, _| c.el = 1);
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Eret,
            pc: 0x10000
        }
    );
    // mrs x0, currentel
    let (cpu, _, _) = run_to_exit(&[0xd538_4240, 0xd420_0000], |c, _| c.el = 1);
    assert_eq!(cpu.x[0], 4);
    // TLBI VMALLE1 is a maintenance event at EL1 and UNDEF at EL0
    let (_, _, exit) = run_to_exit(&[0xd508_871f], |c, _| c.el = 1);
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Maint(crate::ir::Maint::Tlbi),
            pc: 0x10000
        }
    );
    let (_, _, exit) = run_to_exit(&[0xd508_871f], |_, _| {});
    assert_eq!(
        exit,
        Exit::Exception {
            kind: ExcKind::Undef(0xd508_871f),
            pc: 0x10000
        }
    );
}
