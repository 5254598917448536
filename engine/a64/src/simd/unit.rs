//! Known-value unit tests (the exhaustive comparison is in `difftest`).

use super::arith::{three_diff, three_same, ThreeDiff, ThreeSame};
use super::misc::{across, two_misc, urecpe, ursqrte, Across, TwoMisc};
use super::perm::{expand_imm, ext, permute, Permute};
use super::shift::{shift_imm, shift_narrow, ShiftImm, ShiftNarrow};

#[test]
fn sqadd_saturates_and_sets_qc() {
    let mut qc = false;
    let r = three_same(ThreeSame::Sqadd, 8, 16, 0x7f, 0x01, 0, &mut qc);
    assert_eq!(r, 0x7f);
    assert!(qc);
    let mut qc = false;
    let r = three_same(ThreeSame::Sqadd, 8, 16, 0x10, 0x01, 0, &mut qc);
    assert_eq!(r, 0x11);
    assert!(!qc);
}

#[test]
fn q0_forms_zero_the_upper_half() {
    let mut qc = false;
    let r = three_same(ThreeSame::Add, 32, 2, u128::MAX, 1, u128::MAX, &mut qc);
    assert_eq!(r, 0xffff_ffff_0000_0000);
}

#[test]
fn sshl_negative_is_arithmetic_right_shift() {
    let mut qc = false;
    // -16 >> 2 = -4 (shift byte 0xfe = -2).
    let r = three_same(ThreeSame::Sshl, 16, 1, 0xfff0, 0xfe, 0, &mut qc);
    assert_eq!(r, 0xfffc);
    // URSHL rounding: 7 >> 1 rounded = 4.
    let r = three_same(ThreeSame::Urshl, 8, 1, 7, 0xff, 0, &mut qc);
    assert_eq!(r, 4);
    assert!(!qc);
}

#[test]
fn sqdmull_min_times_min_saturates() {
    let mut qc = false;
    let r = three_diff(ThreeDiff::Sqdmull, 16, 1, false, 0x8000, 0x8000, 0, &mut qc);
    assert_eq!(r, 0x7fff_ffff);
    assert!(qc);
}

#[test]
fn estimates() {
    assert_eq!(urecpe(0x8000_0000), 0xff80_0000);
    assert_eq!(urecpe(0x7fff_ffff), 0xffff_ffff);
    assert_eq!(ursqrte(0x4000_0000), 0xff80_0000);
    assert_eq!(ursqrte(0x3fff_ffff), 0xffff_ffff);
}

#[test]
fn misc_known() {
    let mut qc = false;
    assert_eq!(two_misc(TwoMisc::Cnt, 8, 16, 0xff07, 0, &mut qc), 0x0803);
    assert_eq!(two_misc(TwoMisc::Clz, 32, 4, 1, 0, &mut qc) as u32, 31);
    assert_eq!(two_misc(TwoMisc::Cls, 8, 1, 0xff, 0, &mut qc), 7);
    assert_eq!(
        two_misc(TwoMisc::Rev64, 8, 8, 0x0102030405060708, 0, &mut qc),
        0x0807060504030201
    );
    assert_eq!(across(Across::Uaddlv, 8, 16, u128::MAX), 16 * 255);
    assert_eq!(across(Across::Sminv, 16, 8, 0x8000_0001), 0x8000);
}

#[test]
fn shifts_known() {
    let mut qc = false;
    assert_eq!(
        shift_imm(ShiftImm::Sshr, 64, 1, 64, 1 << 63, 0, &mut qc),
        u64::MAX as u128
    );
    assert_eq!(shift_imm(ShiftImm::Ushr, 64, 1, 64, 1 << 63, 0, &mut qc), 0);
    assert_eq!(shift_imm(ShiftImm::Sri, 8, 1, 8, 0xff, 0x5a, &mut qc), 0x5a);
    assert!(!qc);
    assert_eq!(
        shift_narrow(ShiftNarrow::Uqshrn, 8, 1, false, 1, 0x4000, 0, &mut qc),
        0xff
    );
    assert!(qc);
}

#[test]
fn permutes_known() {
    let n = 0x0706050403020100u128;
    let m = 0x1716151413121110u128;
    assert_eq!(permute(Permute::Zip1, 8, 8, n, m), 0x1303120211011000);
    assert_eq!(permute(Permute::Trn2, 8, 8, n, m), 0x1707150513031101);
    assert_eq!(ext(8, 3, n, m), 0x1211100706050403);
    assert_eq!(
        expand_imm(true, 0b1110, 0b1000_0001),
        Some(0xff00_0000_0000_00ff)
    );
    assert_eq!(expand_imm(true, 0b1111, 0), None);
}

/// Structure loads/stores whose register list wraps from V31 to V0, with SP as base and
/// register post-index, through the decoder and the interpreter.
#[test]
fn structure_register_lists_wrap_around() {
    use crate::interp::Memory;
    use crate::ir::MemAttr;
    use crate::testutil::run;
    let base = 0x3_0000u64;
    // ld4 {v30.16b, v31.16b, v0.16b, v1.16b}, [x0], #64
    // st3 {v31.4s, v0.4s, v1.4s}, [sp]
    // ld3r {v31.8h, v0.8h, v1.8h}, [x0], x2
    // brk #0
    let code = [0x4cdf001e, 0x4c004bff, 0x4dc2e41f, 0xd4200000];
    let (cpu, mut mem) = run(&code, |cpu, mem| {
        cpu.x[0] = base;
        cpu.x[2] = 6;
        for i in 0..128u64 {
            mem.write(base + i, i as u128, MemAttr::plain(1)).unwrap();
        }
    });
    // LD4: register k of the list holds bytes k, k+4, k+8, ... (V30, V31, V0, V1).
    let chunks =
        [0, 16, 32, 48].map(|o| u128::from_le_bytes(core::array::from_fn(|i| (o + i) as u8)));
    let regs = [30usize, 31, 0, 1];
    let lds: [u128; 4] = core::array::from_fn(|k| super::ldst::deinterleave(&chunks, 8, 16, k));
    assert_eq!(lds[0] & 0xffff_ffff, 0x0c08_0400);
    // ST3 at SP stored V31, V0, V1 (as loaded by LD4) interleaved by words.
    let stored: [u128; 3] = core::array::from_fn(|j| {
        mem.read(0x80000 + 16 * j as u64, MemAttr::plain(16))
            .unwrap()
    });
    for (j, s) in stored.iter().enumerate() {
        assert_eq!(
            *s,
            super::ldst::interleave(&[lds[1], lds[2], lds[3]], 32, 4, j)
        );
    }
    // LD3R at base + 64 (after the LD4 post-index): halfwords 64|65<<8, 66|67<<8, 68|69<<8.
    let dup = |x: u64| super::build(16, 8, |_| x);
    assert_eq!(cpu.v[31], dup(0x4140));
    assert_eq!(cpu.v[0], dup(0x4342));
    assert_eq!(cpu.v[1], dup(0x4544));
    assert_eq!(cpu.v[regs[0]], lds[0]);
    assert_eq!(cpu.x[0], base + 64 + 6);
}
