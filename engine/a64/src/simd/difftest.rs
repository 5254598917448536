//! Differential tests of the AdvSIMD integer and crypto semantics against
//! `qemu-aarch64`: a generated static AArch64 C program executes each instruction
//! (by inline assembly) on random operands read from stdin; its results (the
//! destination vector, X0 and FPSR.QC) are compared with this library.

use super::arith::{dup_lane, three_diff, three_same, ThreeDiff, ThreeSame};
use super::misc::{across, addlp, narrow, shll, two_misc, Across, Narrow, TwoMisc};
use super::perm::{
    dup_elem, dup_gen, expand_imm, ext, ins_elem, ins_gen, mod_imm, permute, smov, tbl, umov,
    ModImm, Permute,
};
use super::shift::{shift_imm, shift_long, shift_narrow, ShiftImm, ShiftNarrow};
use crate::crypto;
use crate::interp::{run_block, Exit};
use crate::lower::lower;
use crate::state::Cpu;
use crate::testutil::TestMem;
use crate::verify::verify;
use std::boxed::Box;
use std::format;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::string::String;
use std::vec::Vec;

const NV: usize = 7;
const IN_BYTES: usize = NV * 16 + 16;
const OUT_BYTES: usize = 32;

/// Inputs: V0..V6 and X0, X1. V0 = Vn, V1 = Vm, V2 = Vd, V3..V6 = TBL tables.
#[derive(Clone, Copy, Debug)]
struct Inp {
    v: [u128; NV],
    x: [u64; 2],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Out {
    v2: u128,
    x0: u64,
    qc: bool,
}

type Model = Box<dyn Fn(&Inp) -> Out>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gen {
    /// Random lanes mixed with edge values and small signed values.
    Mixed,
    /// Like `Mixed` but Vm bytes are small table indices.
    Tbl,
}

struct Case {
    asm: String,
    gen: Gen,
    /// The library model (None for memory cases: only the decoder path is checked).
    model: Option<Model>,
    /// Load/store case: X0 points at a 64-byte buffer, all V0..V6 and memory compared.
    mem: bool,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn vec(&mut self) -> u128 {
        let esize = [8u32, 16, 32, 64][self.below(4) as usize];
        let mut v = 0u128;
        for i in 0..(128 / esize) as usize {
            let m = super::mask(esize) as u64;
            let x = match self.below(10) {
                0 => 0,
                1 => m,
                2 => m >> 1,
                3 => (m >> 1) + 1,
                4 => 1,
                5 | 6 => (self.below(141) as i64 - 70) as u64,
                _ => self.next(),
            };
            v = super::with_elem(v, esize, i, x);
        }
        v
    }
    fn gpr(&mut self) -> u64 {
        match self.below(4) {
            0 => self.below(300).wrapping_sub(150),
            _ => self.next(),
        }
    }
}

fn arr(esize: u32, lanes: usize) -> &'static str {
    match (esize, esize as usize * lanes) {
        (8, 64) => "8b",
        (8, 128) => "16b",
        (16, 64) => "4h",
        (16, 128) => "8h",
        (32, 64) => "2s",
        (32, 128) => "4s",
        (64, 64) => "1d",
        (64, 128) => "2d",
        _ => "??",
    }
}

fn sreg(esize: u32) -> char {
    match esize {
        8 => 'b',
        16 => 'h',
        32 => 's',
        _ => 'd',
    }
}

fn lane_ch(esize: u32) -> char {
    sreg(esize)
}

/// Vector shapes for element sizes `es`: (esize, lanes), 64-bit lanes only as 2D.
fn shapes(es: &[u32]) -> Vec<(u32, usize)> {
    let mut v = Vec::new();
    for &e in es {
        if e != 64 {
            v.push((e, (64 / e) as usize));
        }
        v.push((e, (128 / e) as usize));
    }
    v
}

fn vout(v2: u128, i: &Inp) -> Out {
    Out {
        v2,
        x0: i.x[0],
        qc: false,
    }
}

fn qout(i: &Inp, f: impl FnOnce(&mut bool) -> u128) -> Out {
    let mut qc = false;
    let v2 = f(&mut qc);
    Out { v2, x0: i.x[0], qc }
}

fn add(cases: &mut Vec<Case>, asm: String, model: impl Fn(&Inp) -> Out + 'static) {
    cases.push(Case {
        asm,
        gen: Gen::Mixed,
        model: Some(Box::new(model)),
        mem: false,
    });
}

fn three_same_cases(c: &mut Vec<Case>) {
    use ThreeSame::*;
    let all = [8u32, 16, 32, 64];
    let no64 = [8u32, 16, 32];
    let hs = [16u32, 32];
    let ops: &[(ThreeSame, &str, &[u32])] = &[
        (Add, "add", &all),
        (Sub, "sub", &all),
        (Mul, "mul", &no64),
        (Mla, "mla", &no64),
        (Mls, "mls", &no64),
        (Sqadd, "sqadd", &all),
        (Uqadd, "uqadd", &all),
        (Sqsub, "sqsub", &all),
        (Uqsub, "uqsub", &all),
        (Shadd, "shadd", &no64),
        (Uhadd, "uhadd", &no64),
        (Srhadd, "srhadd", &no64),
        (Urhadd, "urhadd", &no64),
        (Shsub, "shsub", &no64),
        (Uhsub, "uhsub", &no64),
        (Smax, "smax", &no64),
        (Umax, "umax", &no64),
        (Smin, "smin", &no64),
        (Umin, "umin", &no64),
        (Smaxp, "smaxp", &no64),
        (Umaxp, "umaxp", &no64),
        (Sminp, "sminp", &no64),
        (Uminp, "uminp", &no64),
        (Addp, "addp", &all),
        (Sabd, "sabd", &no64),
        (Uabd, "uabd", &no64),
        (Saba, "saba", &no64),
        (Uaba, "uaba", &no64),
        (Cmeq, "cmeq", &all),
        (Cmge, "cmge", &all),
        (Cmgt, "cmgt", &all),
        (Cmhi, "cmhi", &all),
        (Cmhs, "cmhs", &all),
        (Cmtst, "cmtst", &all),
        (Sshl, "sshl", &all),
        (Ushl, "ushl", &all),
        (Srshl, "srshl", &all),
        (Urshl, "urshl", &all),
        (Sqshl, "sqshl", &all),
        (Uqshl, "uqshl", &all),
        (Sqrshl, "sqrshl", &all),
        (Uqrshl, "uqrshl", &all),
        (Sqdmulh, "sqdmulh", &hs),
        (Sqrdmulh, "sqrdmulh", &hs),
        (Sqrdmlah, "sqrdmlah", &hs),
        (Sqrdmlsh, "sqrdmlsh", &hs),
        (Pmul, "pmul", &[8]),
        (And, "and", &[8]),
        (Bic, "bic", &[8]),
        (Orr, "orr", &[8]),
        (Orn, "orn", &[8]),
        (Eor, "eor", &[8]),
        (Bsl, "bsl", &[8]),
        (Bit, "bit", &[8]),
        (Bif, "bif", &[8]),
    ];
    for &(op, name, es) in ops {
        for (e, l) in shapes(es) {
            let a = arr(e, l);
            add(c, format!("{name} v2.{a}, v0.{a}, v1.{a}"), move |i| {
                qout(i, |q| three_same(op, e, l, i.v[0], i.v[1], i.v[2], q))
            });
        }
    }
    // Scalar forms.
    let scalar: &[(ThreeSame, &str, &[u32])] = &[
        (Add, "add", &[64]),
        (Sub, "sub", &[64]),
        (Cmeq, "cmeq", &[64]),
        (Cmge, "cmge", &[64]),
        (Cmgt, "cmgt", &[64]),
        (Cmhi, "cmhi", &[64]),
        (Cmhs, "cmhs", &[64]),
        (Cmtst, "cmtst", &[64]),
        (Sshl, "sshl", &[64]),
        (Ushl, "ushl", &[64]),
        (Srshl, "srshl", &[64]),
        (Urshl, "urshl", &[64]),
        (Sqadd, "sqadd", &all),
        (Uqadd, "uqadd", &all),
        (Sqsub, "sqsub", &all),
        (Uqsub, "uqsub", &all),
        (Sqshl, "sqshl", &all),
        (Uqshl, "uqshl", &all),
        (Sqrshl, "sqrshl", &all),
        (Uqrshl, "uqrshl", &all),
        (Sqdmulh, "sqdmulh", &hs),
        (Sqrdmulh, "sqrdmulh", &hs),
        (Sqrdmlah, "sqrdmlah", &hs),
        (Sqrdmlsh, "sqrdmlsh", &hs),
    ];
    for &(op, name, es) in scalar {
        for &e in es {
            let r = sreg(e);
            add(c, format!("{name} {r}2, {r}0, {r}1"), move |i| {
                qout(i, |q| three_same(op, e, 1, i.v[0], i.v[1], i.v[2], q))
            });
        }
    }
    add(c, "addp d2, v0.2d".into(), |i| {
        vout(super::arith::addp_scalar(i.v[0]), i)
    });
}

fn three_diff_cases(c: &mut Vec<Case>) {
    use ThreeDiff::*;
    let bhs = [8u32, 16, 32];
    let hs = [16u32, 32];
    #[derive(Clone, Copy)]
    enum K {
        Long,
        Wide,
        Narrow,
    }
    let ops: &[(ThreeDiff, &str, &[u32], K)] = &[
        (Saddl, "saddl", &bhs, K::Long),
        (Uaddl, "uaddl", &bhs, K::Long),
        (Ssubl, "ssubl", &bhs, K::Long),
        (Usubl, "usubl", &bhs, K::Long),
        (Saddw, "saddw", &bhs, K::Wide),
        (Uaddw, "uaddw", &bhs, K::Wide),
        (Ssubw, "ssubw", &bhs, K::Wide),
        (Usubw, "usubw", &bhs, K::Wide),
        (Addhn, "addhn", &bhs, K::Narrow),
        (Raddhn, "raddhn", &bhs, K::Narrow),
        (Subhn, "subhn", &bhs, K::Narrow),
        (Rsubhn, "rsubhn", &bhs, K::Narrow),
        (Sabal, "sabal", &bhs, K::Long),
        (Uabal, "uabal", &bhs, K::Long),
        (Sabdl, "sabdl", &bhs, K::Long),
        (Uabdl, "uabdl", &bhs, K::Long),
        (Smlal, "smlal", &bhs, K::Long),
        (Umlal, "umlal", &bhs, K::Long),
        (Smlsl, "smlsl", &bhs, K::Long),
        (Umlsl, "umlsl", &bhs, K::Long),
        (Smull, "smull", &bhs, K::Long),
        (Umull, "umull", &bhs, K::Long),
        (Sqdmlal, "sqdmlal", &hs, K::Long),
        (Sqdmlsl, "sqdmlsl", &hs, K::Long),
        (Sqdmull, "sqdmull", &hs, K::Long),
        (Pmull, "pmull", &[8], K::Long),
    ];
    for &(op, name, es, k) in ops {
        for &e in es {
            for p2 in [false, true] {
                let l = (64 / e) as usize;
                let na = arr(e, if p2 { 2 * l } else { l });
                let wa = arr(2 * e, l);
                let s = if p2 { "2" } else { "" };
                let asm = match k {
                    K::Long => format!("{name}{s} v2.{wa}, v0.{na}, v1.{na}"),
                    K::Wide => format!("{name}{s} v2.{wa}, v0.{wa}, v1.{na}"),
                    K::Narrow => format!("{name}{s} v2.{na}, v0.{wa}, v1.{wa}"),
                };
                add(c, asm, move |i| {
                    qout(i, |q| three_diff(op, e, l, p2, i.v[0], i.v[1], i.v[2], q))
                });
            }
        }
    }
    add(c, "pmull v2.1q, v0.1d, v1.1d".into(), |i| {
        vout(crypto::pmull64(i.v[0] as u64, i.v[1] as u64), i)
    });
    add(c, "pmull2 v2.1q, v0.2d, v1.2d".into(), |i| {
        qout(i, |q| {
            three_diff(Pmull, 64, 1, true, i.v[0], i.v[1], i.v[2], q)
        })
    });
    for (op, name) in [
        (Sqdmull, "sqdmull"),
        (Sqdmlal, "sqdmlal"),
        (Sqdmlsl, "sqdmlsl"),
    ] {
        for e in hs {
            let (w, n) = (sreg(2 * e), sreg(e));
            add(c, format!("{name} {w}2, {n}0, {n}1"), move |i| {
                qout(i, |q| {
                    three_diff(op, e, 1, false, i.v[0], i.v[1], i.v[2], q)
                })
            });
        }
    }
}

fn by_elem_cases(c: &mut Vec<Case>) {
    use ThreeSame::*;
    for (op, name, es) in [
        (Mul, "mul", &[16u32, 32][..]),
        (Mla, "mla", &[16, 32]),
        (Mls, "mls", &[16, 32]),
        (Sqdmulh, "sqdmulh", &[16, 32]),
        (Sqrdmulh, "sqrdmulh", &[16, 32]),
        (Sqrdmlah, "sqrdmlah", &[16, 32]),
    ] {
        for (e, l) in shapes(es) {
            for idx in [0usize, (128 / e) as usize - 1, 1] {
                let a = arr(e, l);
                add(
                    c,
                    format!("{name} v2.{a}, v0.{a}, v1.{}[{idx}]", lane_ch(e)),
                    move |i| {
                        qout(i, |q| {
                            three_same(op, e, l, i.v[0], dup_lane(i.v[1], e, idx, l), i.v[2], q)
                        })
                    },
                );
            }
        }
        for e in [16u32, 32] {
            if matches!(op, Sqdmulh | Sqrdmulh | Sqrdmlah) {
                let r = sreg(e);
                let idx = 1;
                add(c, format!("{name} {r}2, {r}0, v1.{r}[{idx}]"), move |i| {
                    qout(i, |q| {
                        three_same(op, e, 1, i.v[0], dup_lane(i.v[1], e, idx, 1), i.v[2], q)
                    })
                });
            }
        }
    }
    use ThreeDiff::*;
    for (op, name) in [
        (Smull, "smull"),
        (Umull, "umull"),
        (Smlal, "smlal"),
        (Umlal, "umlal"),
        (Smlsl, "smlsl"),
        (Umlsl, "umlsl"),
        (Sqdmull, "sqdmull"),
        (Sqdmlal, "sqdmlal"),
        (Sqdmlsl, "sqdmlsl"),
    ] {
        for e in [16u32, 32] {
            for p2 in [false, true] {
                let l = (64 / e) as usize;
                let idx = if p2 { 1 } else { (128 / e) as usize - 1 };
                let na = arr(e, if p2 { 2 * l } else { l });
                let s = if p2 { "2" } else { "" };
                add(
                    c,
                    format!(
                        "{name}{s} v2.{}, v0.{na}, v1.{}[{idx}]",
                        arr(2 * e, l),
                        lane_ch(e)
                    ),
                    move |i| {
                        let m = dup_lane(i.v[1], e, idx, (128 / e) as usize);
                        qout(i, |q| three_diff(op, e, l, p2, i.v[0], m, i.v[2], q))
                    },
                );
            }
            if matches!(op, Sqdmull | Sqdmlal | Sqdmlsl) {
                let (w, n) = (sreg(2 * e), sreg(e));
                add(c, format!("{name} {w}2, {n}0, v1.{n}[0]"), move |i| {
                    qout(i, |q| {
                        three_diff(
                            op,
                            e,
                            1,
                            false,
                            i.v[0],
                            dup_lane(i.v[1], e, 0, 1),
                            i.v[2],
                            q,
                        )
                    })
                });
            }
        }
    }
}

fn misc_cases(c: &mut Vec<Case>) {
    use TwoMisc::*;
    let all = [8u32, 16, 32, 64];
    let ops: &[(TwoMisc, &str, &[u32])] = &[
        (Rev16, "rev16", &[8]),
        (Rev32, "rev32", &[8, 16]),
        (Rev64, "rev64", &[8, 16, 32]),
        (Cnt, "cnt", &[8]),
        (Cls, "cls", &[8, 16, 32]),
        (Clz, "clz", &[8, 16, 32]),
        (Not, "not", &[8]),
        (Rbit, "rbit", &[8]),
        (Abs, "abs", &all),
        (Neg, "neg", &all),
        (Sqabs, "sqabs", &all),
        (Sqneg, "sqneg", &all),
        (Suqadd, "suqadd", &all),
        (Usqadd, "usqadd", &all),
        (Urecpe, "urecpe", &[32]),
        (Ursqrte, "ursqrte", &[32]),
    ];
    for &(op, name, es) in ops {
        for (e, l) in shapes(es) {
            let a = arr(e, l);
            add(c, format!("{name} v2.{a}, v0.{a}"), move |i| {
                qout(i, |q| two_misc(op, e, l, i.v[0], i.v[2], q))
            });
        }
    }
    for (op, name) in [
        (Cmeq0, "cmeq"),
        (Cmge0, "cmge"),
        (Cmgt0, "cmgt"),
        (Cmle0, "cmle"),
        (Cmlt0, "cmlt"),
    ] {
        for (e, l) in shapes(&all) {
            let a = arr(e, l);
            add(c, format!("{name} v2.{a}, v0.{a}, #0"), move |i| {
                qout(i, |q| two_misc(op, e, l, i.v[0], i.v[2], q))
            });
        }
        add(c, format!("{name} d2, d0, #0"), move |i| {
            qout(i, |q| two_misc(op, 64, 1, i.v[0], i.v[2], q))
        });
    }
    for (op, name) in [(Abs, "abs"), (Neg, "neg")] {
        add(c, format!("{name} d2, d0"), move |i| {
            qout(i, |q| two_misc(op, 64, 1, i.v[0], i.v[2], q))
        });
    }
    for (op, name) in [
        (Sqabs, "sqabs"),
        (Sqneg, "sqneg"),
        (Suqadd, "suqadd"),
        (Usqadd, "usqadd"),
    ] {
        for e in all {
            let r = sreg(e);
            add(c, format!("{name} {r}2, {r}0"), move |i| {
                qout(i, |q| two_misc(op, e, 1, i.v[0], i.v[2], q))
            });
        }
    }
    for (signed, acc, name) in [
        (true, false, "saddlp"),
        (false, false, "uaddlp"),
        (true, true, "sadalp"),
        (false, true, "uadalp"),
    ] {
        for (e, l) in shapes(&[8, 16, 32]) {
            add(
                c,
                format!("{name} v2.{}, v0.{}", arr(2 * e, l / 2), arr(e, l)),
                move |i| vout(addlp(signed, acc, e, l / 2, i.v[0], i.v[2]), i),
            );
        }
    }
    for (op, name) in [
        (Narrow::Xtn, "xtn"),
        (Narrow::Sqxtn, "sqxtn"),
        (Narrow::Uqxtn, "uqxtn"),
        (Narrow::Sqxtun, "sqxtun"),
    ] {
        for e in [8u32, 16, 32] {
            let l = (64 / e) as usize;
            for p2 in [false, true] {
                let s = if p2 { "2" } else { "" };
                add(
                    c,
                    format!(
                        "{name}{s} v2.{}, v0.{}",
                        arr(e, if p2 { 2 * l } else { l }),
                        arr(2 * e, l)
                    ),
                    move |i| qout(i, |q| narrow(op, e, l, p2, i.v[0], i.v[2], q)),
                );
            }
            if op != Narrow::Xtn {
                add(
                    c,
                    format!("{name} {}2, {}0", sreg(e), sreg(2 * e)),
                    move |i| qout(i, |q| narrow(op, e, 1, false, i.v[0], i.v[2], q)),
                );
            }
        }
    }
    for e in [8u32, 16, 32] {
        let l = (64 / e) as usize;
        add(
            c,
            format!("shll v2.{}, v0.{}, #{e}", arr(2 * e, l), arr(e, l)),
            move |i| vout(shll(e, false, i.v[0]), i),
        );
        add(
            c,
            format!("shll2 v2.{}, v0.{}, #{e}", arr(2 * e, l), arr(e, 2 * l)),
            move |i| vout(shll(e, true, i.v[0]), i),
        );
    }
    for (op, name) in [
        (Across::Addv, "addv"),
        (Across::Saddlv, "saddlv"),
        (Across::Uaddlv, "uaddlv"),
        (Across::Smaxv, "smaxv"),
        (Across::Umaxv, "umaxv"),
        (Across::Sminv, "sminv"),
        (Across::Uminv, "uminv"),
    ] {
        for (e, l) in [(8u32, 8usize), (8, 16), (16, 4), (16, 8), (32, 4)] {
            let long = matches!(op, Across::Saddlv | Across::Uaddlv);
            let r = sreg(if long { 2 * e } else { e });
            add(c, format!("{name} {r}2, v0.{}", arr(e, l)), move |i| {
                vout(across(op, e, l, i.v[0]), i)
            });
        }
    }
}

fn shift_cases(c: &mut Vec<Case>) {
    use ShiftImm::*;
    let all = [8u32, 16, 32, 64];
    let ops: &[(ShiftImm, &str, bool)] = &[
        (Shl, "shl", true),
        (Sshr, "sshr", false),
        (Ushr, "ushr", false),
        (Ssra, "ssra", false),
        (Usra, "usra", false),
        (Srshr, "srshr", false),
        (Urshr, "urshr", false),
        (Srsra, "srsra", false),
        (Ursra, "ursra", false),
        (Sri, "sri", false),
        (Sli, "sli", true),
        (Sqshl, "sqshl", true),
        (Uqshl, "uqshl", true),
        (Sqshlu, "sqshlu", true),
    ];
    for &(op, name, left) in ops {
        for (e, l) in shapes(&all) {
            let amounts: Vec<u32> = if left {
                [0, 1, e / 2 + 1, e - 1].to_vec()
            } else {
                [1, 3, e - 1, e].to_vec()
            };
            for sh in amounts {
                let a = arr(e, l);
                add(c, format!("{name} v2.{a}, v0.{a}, #{sh}"), move |i| {
                    qout(i, |q| shift_imm(op, e, l, sh, i.v[0], i.v[2], q))
                });
            }
        }
        // Scalar forms: D for all; B/H/S for the saturating left shifts.
        let es: &[u32] = if matches!(op, Sqshl | Uqshl | Sqshlu) {
            &all
        } else {
            &[64]
        };
        for &e in es {
            let r = sreg(e);
            let sh = if left { e - 3 } else { e - 2 };
            add(c, format!("{name} {r}2, {r}0, #{sh}"), move |i| {
                qout(i, |q| shift_imm(op, e, 1, sh, i.v[0], i.v[2], q))
            });
        }
    }
    use ShiftNarrow::*;
    for (op, name) in [
        (Shrn, "shrn"),
        (Rshrn, "rshrn"),
        (Sqshrn, "sqshrn"),
        (Uqshrn, "uqshrn"),
        (Sqrshrn, "sqrshrn"),
        (Uqrshrn, "uqrshrn"),
        (Sqshrun, "sqshrun"),
        (Sqrshrun, "sqrshrun"),
    ] {
        for e in [8u32, 16, 32] {
            let l = (64 / e) as usize;
            for sh in [1, e / 2, e] {
                for p2 in [false, true] {
                    let s = if p2 { "2" } else { "" };
                    add(
                        c,
                        format!(
                            "{name}{s} v2.{}, v0.{}, #{sh}",
                            arr(e, if p2 { 2 * l } else { l }),
                            arr(2 * e, l)
                        ),
                        move |i| qout(i, |q| shift_narrow(op, e, l, p2, sh, i.v[0], i.v[2], q)),
                    );
                }
            }
            if !matches!(op, Shrn | Rshrn) {
                let sh = e / 2 + 1;
                add(
                    c,
                    format!("{name} {}2, {}0, #{sh}", sreg(e), sreg(2 * e)),
                    move |i| qout(i, |q| shift_narrow(op, e, 1, false, sh, i.v[0], i.v[2], q)),
                );
            }
        }
    }
    for (signed, name) in [(true, "sshll"), (false, "ushll")] {
        for e in [8u32, 16, 32] {
            let l = (64 / e) as usize;
            for sh in [0, 1, e - 1] {
                add(
                    c,
                    format!("{name} v2.{}, v0.{}, #{sh}", arr(2 * e, l), arr(e, l)),
                    move |i| vout(shift_long(signed, e, false, sh, i.v[0]), i),
                );
                add(
                    c,
                    format!("{name}2 v2.{}, v0.{}, #{sh}", arr(2 * e, l), arr(e, 2 * l)),
                    move |i| vout(shift_long(signed, e, true, sh, i.v[0]), i),
                );
            }
        }
    }
}

fn perm_cases(c: &mut Vec<Case>) {
    use Permute::*;
    for (op, name) in [
        (Zip1, "zip1"),
        (Zip2, "zip2"),
        (Uzp1, "uzp1"),
        (Uzp2, "uzp2"),
        (Trn1, "trn1"),
        (Trn2, "trn2"),
    ] {
        for (e, l) in shapes(&[8, 16, 32, 64]) {
            let a = arr(e, l);
            add(c, format!("{name} v2.{a}, v0.{a}, v1.{a}"), move |i| {
                vout(permute(op, e, l, i.v[0], i.v[1]), i)
            });
        }
    }
    for idx in [0u32, 1, 5, 7] {
        add(c, format!("ext v2.8b, v0.8b, v1.8b, #{idx}"), move |i| {
            vout(ext(8, idx, i.v[0], i.v[1]), i)
        });
    }
    for idx in [0u32, 1, 8, 15] {
        add(c, format!("ext v2.16b, v0.16b, v1.16b, #{idx}"), move |i| {
            vout(ext(16, idx, i.v[0], i.v[1]), i)
        });
    }
    for tbx in [false, true] {
        for nregs in 1..=4usize {
            for bytes in [8usize, 16] {
                let a = if bytes == 8 { "8b" } else { "16b" };
                let list: Vec<String> = (0..nregs).map(|k| format!("v{}.16b", 3 + k)).collect();
                let name = if tbx { "tbx" } else { "tbl" };
                c.push(Case {
                    asm: format!("{name} v2.{a}, {{{}}}, v1.{a}", list.join(", ")),
                    gen: Gen::Tbl,
                    mem: false,
                    model: Some(Box::new(move |i| {
                        let d = if bytes == 8 {
                            i.v[2] & super::mask(64)
                        } else {
                            i.v[2]
                        };
                        vout(tbl(tbx, bytes, &i.v[3..3 + nregs], i.v[1], d), i)
                    })),
                });
            }
        }
    }
    for (e, l) in shapes(&[8, 16, 32, 64]) {
        let a = arr(e, l);
        let idx = (128 / e) as usize - 1;
        add(
            c,
            format!("dup v2.{a}, v0.{}[{idx}]", lane_ch(e)),
            move |i| vout(dup_elem(e, l, idx, i.v[0]), i),
        );
        let g = if e == 64 { "x0" } else { "w0" };
        add(c, format!("dup v2.{a}, {g}"), move |i| {
            vout(dup_gen(e, l, i.x[0]), i)
        });
    }
    for e in [8u32, 16, 32, 64] {
        let r = lane_ch(e);
        let n = (128 / e) as usize;
        let (dst, src) = (n - 1, 1usize);
        add(c, format!("mov v2.{r}[{dst}], v0.{r}[{src}]"), move |i| {
            vout(ins_elem(e, dst, src, i.v[0], i.v[2]), i)
        });
        let g = if e == 64 { "x0" } else { "w0" };
        add(c, format!("mov v2.{r}[{src}], {g}"), move |i| {
            vout(ins_gen(e, src, i.x[0], i.v[2]), i)
        });
        add(c, format!("dup {r}2, v0.{r}[{dst}]"), move |i| {
            vout(dup_elem(e, 1, dst, i.v[0]), i)
        });
        let gu = if e == 64 { "x0" } else { "w0" };
        add(c, format!("umov {gu}, v0.{r}[{dst}]"), move |i| Out {
            v2: i.v[2],
            x0: umov(e, dst, i.v[0]),
            qc: false,
        });
        if e < 64 {
            add(c, format!("smov x0, v0.{r}[{src}]"), move |i| Out {
                v2: i.v[2],
                x0: smov(e, src, true, i.v[0]),
                qc: false,
            });
        }
        if e < 32 {
            add(c, format!("smov w0, v0.{r}[{dst}]"), move |i| Out {
                v2: i.v[2],
                x0: smov(e, dst, false, i.v[0]),
                qc: false,
            });
        }
    }
}

fn modimm_cases(c: &mut Vec<Case>) {
    // (asm, op, cmode, imm8, kind, bytes)
    let list: &[(&str, bool, u32, u8, ModImm, u32)] = &[
        ("movi v2.4s, #0x5a", false, 0b0000, 0x5a, ModImm::Movi, 16),
        (
            "movi v2.2s, #0xa5, lsl #8",
            false,
            0b0010,
            0xa5,
            ModImm::Movi,
            8,
        ),
        (
            "movi v2.4s, #0x81, lsl #16",
            false,
            0b0100,
            0x81,
            ModImm::Movi,
            16,
        ),
        (
            "movi v2.4s, #0xff, lsl #24",
            false,
            0b0110,
            0xff,
            ModImm::Movi,
            16,
        ),
        (
            "orr v2.4s, #0x12, lsl #8",
            false,
            0b0011,
            0x12,
            ModImm::Orr,
            16,
        ),
        (
            "orr v2.2s, #0x34, lsl #24",
            false,
            0b0111,
            0x34,
            ModImm::Orr,
            8,
        ),
        ("movi v2.8h, #0x7e", false, 0b1000, 0x7e, ModImm::Movi, 16),
        (
            "movi v2.4h, #0x7e, lsl #8",
            false,
            0b1010,
            0x7e,
            ModImm::Movi,
            8,
        ),
        ("orr v2.8h, #0xc3", false, 0b1001, 0xc3, ModImm::Orr, 16),
        (
            "orr v2.4h, #0xc3, lsl #8",
            false,
            0b1011,
            0xc3,
            ModImm::Orr,
            8,
        ),
        (
            "movi v2.4s, #0x42, msl #8",
            false,
            0b1100,
            0x42,
            ModImm::Movi,
            16,
        ),
        (
            "movi v2.2s, #0x42, msl #16",
            false,
            0b1101,
            0x42,
            ModImm::Movi,
            8,
        ),
        ("movi v2.16b, #0x99", false, 0b1110, 0x99, ModImm::Movi, 16),
        ("movi v2.8b, #0x99", false, 0b1110, 0x99, ModImm::Movi, 8),
        ("mvni v2.4s, #0x5a", true, 0b0000, 0x5a, ModImm::Mvni, 16),
        (
            "mvni v2.2s, #0x5a, lsl #16",
            true,
            0b0100,
            0x5a,
            ModImm::Mvni,
            8,
        ),
        (
            "bic v2.4s, #0x5a, lsl #8",
            true,
            0b0011,
            0x5a,
            ModImm::Bic,
            16,
        ),
        (
            "mvni v2.8h, #0x5a, lsl #8",
            true,
            0b1010,
            0x5a,
            ModImm::Mvni,
            16,
        ),
        ("bic v2.4h, #0xf0", true, 0b1001, 0xf0, ModImm::Bic, 8),
        (
            "mvni v2.4s, #0x42, msl #16",
            true,
            0b1101,
            0x42,
            ModImm::Mvni,
            16,
        ),
        (
            "mvni v2.2s, #0x42, msl #8",
            true,
            0b1100,
            0x42,
            ModImm::Mvni,
            8,
        ),
        (
            "movi d2, #0xff00ff0000ffff00",
            true,
            0b1110,
            0b1010_0110,
            ModImm::Movi,
            8,
        ),
        (
            "movi v2.2d, #0x00ff00ff0000ff00",
            true,
            0b1110,
            0b0101_0010,
            ModImm::Movi,
            16,
        ),
    ];
    for &(asm, op, cmode, imm8, kind, bytes) in list {
        add(c, asm.into(), move |i| {
            let imm = expand_imm(op, cmode, imm8).unwrap_or(0);
            vout(mod_imm(kind, bytes, imm, i.v[2]), i)
        });
    }
}

fn crypto_cases(c: &mut Vec<Case>) {
    use crypto::*;
    add(c, "aese v2.16b, v0.16b".into(), |i| {
        vout(aese(i.v[2], i.v[0]), i)
    });
    add(c, "aesd v2.16b, v0.16b".into(), |i| {
        vout(aesd(i.v[2], i.v[0]), i)
    });
    add(c, "aesmc v2.16b, v0.16b".into(), |i| vout(aesmc(i.v[0]), i));
    add(c, "aesimc v2.16b, v0.16b".into(), |i| {
        vout(aesimc(i.v[0]), i)
    });
    add(c, "sha1c q2, s0, v1.4s".into(), |i| {
        vout(sha1_hash(Sha1Op::C, i.v[2], i.v[0] as u32, i.v[1]), i)
    });
    add(c, "sha1p q2, s0, v1.4s".into(), |i| {
        vout(sha1_hash(Sha1Op::P, i.v[2], i.v[0] as u32, i.v[1]), i)
    });
    add(c, "sha1m q2, s0, v1.4s".into(), |i| {
        vout(sha1_hash(Sha1Op::M, i.v[2], i.v[0] as u32, i.v[1]), i)
    });
    add(c, "sha1h s2, s0".into(), |i| {
        vout(sha1h(i.v[0] as u32) as u128, i)
    });
    add(c, "sha1su0 v2.4s, v0.4s, v1.4s".into(), |i| {
        vout(sha1su0(i.v[2], i.v[0], i.v[1]), i)
    });
    add(c, "sha1su1 v2.4s, v0.4s".into(), |i| {
        vout(sha1su1(i.v[2], i.v[0]), i)
    });
    add(c, "sha256h q2, q0, v1.4s".into(), |i| {
        vout(sha256h(i.v[2], i.v[0], i.v[1]), i)
    });
    add(c, "sha256h2 q2, q0, v1.4s".into(), |i| {
        vout(sha256h2(i.v[2], i.v[0], i.v[1]), i)
    });
    add(c, "sha256su0 v2.4s, v0.4s".into(), |i| {
        vout(sha256su0(i.v[2], i.v[0]), i)
    });
    add(c, "sha256su1 v2.4s, v0.4s, v1.4s".into(), |i| {
        vout(sha256su1(i.v[2], i.v[0], i.v[1]), i)
    });
    for (poly, cc) in [(CrcPoly::Crc32, ""), (CrcPoly::Crc32c, "c")] {
        for (sz, bytes, r) in [
            ("b", 1u32, 'w'),
            ("h", 2, 'w'),
            ("w", 4, 'w'),
            ("x", 8, 'x'),
        ] {
            add(c, format!("crc32{cc}{sz} w0, w0, {r}1"), move |i| Out {
                v2: i.v[2],
                x0: crc32(poly, i.x[0] as u32, i.x[1], bytes) as u64,
                qc: false,
            });
        }
    }
}

fn mem_cases(c: &mut Vec<Case>) {
    let list = [
        "ld1 {v2.16b}, [x0]",
        "ld1 {v2.8b, v3.8b}, [x0]",
        "ld1 {v2.4s, v3.4s, v4.4s, v5.4s}, [x0], #64",
        "ld1 {v2.2d, v3.2d, v4.2d}, [x0], x1",
        "ld1 {v2.1d}, [x0], #8",
        "ld2 {v2.8h, v3.8h}, [x0]",
        "ld2 {v2.8b, v3.8b}, [x0], #16",
        "ld2 {v2.2d, v3.2d}, [x0]",
        "ld3 {v2.4s, v3.4s, v4.4s}, [x0]",
        "ld3 {v2.8b, v3.8b, v4.8b}, [x0], #24",
        "ld3 {v2.16b, v3.16b, v4.16b}, [x0], x1",
        "ld4 {v2.16b, v3.16b, v4.16b, v5.16b}, [x0]",
        "ld4 {v2.4h, v3.4h, v4.4h, v5.4h}, [x0], x1",
        "ld4 {v2.2d, v3.2d, v4.2d, v5.2d}, [x0]",
        "ld4 {v2.2s, v3.2s, v4.2s, v5.2s}, [x0], #32",
        "st1 {v2.16b}, [x0]",
        "st1 {v2.2d, v3.2d}, [x0], #32",
        "st1 {v2.8b, v3.8b, v4.8b, v5.8b}, [x0], x1",
        "st2 {v2.4s, v3.4s}, [x0]",
        "st2 {v2.8b, v3.8b}, [x0], #16",
        "st3 {v2.8h, v3.8h, v4.8h}, [x0], x1",
        "st3 {v2.8b, v3.8b, v4.8b}, [x0]",
        "st3 {v2.2d, v3.2d, v4.2d}, [x0]",
        "st4 {v2.16b, v3.16b, v4.16b, v5.16b}, [x0]",
        "st4 {v2.2s, v3.2s, v4.2s, v5.2s}, [x0], #32",
        "st4 {v2.8h, v3.8h, v4.8h, v5.8h}, [x0], x1",
        "ld1 {v2.s}[3], [x0]",
        "ld1 {v2.b}[9], [x0], #1",
        "ld1 {v2.d}[1], [x0], x1",
        "ld2 {v2.h, v3.h}[5], [x0]",
        "ld3 {v2.d, v3.d, v4.d}[1], [x0], #24",
        "ld3 {v2.b, v3.b, v4.b}[14], [x0]",
        "ld4 {v2.s, v3.s, v4.s, v5.s}[1], [x0], x1",
        "ld1r {v2.8h}, [x0]",
        "ld1r {v2.2s}, [x0], #4",
        "ld2r {v2.4s, v3.4s}, [x0], #8",
        "ld3r {v2.16b, v3.16b, v4.16b}, [x0]",
        "ld4r {v2.1d, v3.1d, v4.1d, v5.1d}, [x0], x1",
        "ld4r {v2.8b, v3.8b, v4.8b, v5.8b}, [x0]",
        "st1 {v2.d}[1], [x0]",
        "st1 {v2.h}[6], [x0], #2",
        "st2 {v2.b, v3.b}[15], [x0], #2",
        "st3 {v2.s, v3.s, v4.s}[2], [x0]",
        "st4 {v2.h, v3.h, v4.h, v5.h}[7], [x0], x1",
        "st4 {v2.d, v3.d, v4.d, v5.d}[0], [x0]",
    ];
    for asm in list {
        c.push(Case {
            asm: asm.into(),
            gen: Gen::Mixed,
            model: None,
            mem: true,
        });
    }
}

fn all_cases() -> Vec<Case> {
    let mut c = Vec::new();
    three_same_cases(&mut c);
    three_diff_cases(&mut c);
    by_elem_cases(&mut c);
    misc_cases(&mut c);
    shift_cases(&mut c);
    perm_cases(&mut c);
    modimm_cases(&mut c);
    crypto_cases(&mut c);
    mem_cases(&mut c);
    c
}

const MEM_BYTES: usize = 64;
const MEM_OUT_BYTES: usize = NV * 16 + 16 + MEM_BYTES;

/// The generated harness: reads `u32 case; V0..V6; X0, X1; [64-byte buffer if memory case]`
/// records and writes `V2, X0, FPSR` (or `V0..V6, X0 - buffer, FPSR, buffer`).
fn c_source(cases: &[Case]) -> String {
    let mut s = String::from(
        "#include <stdint.h>\n#include <stdio.h>\n#include <string.h>\n\
         typedef void (*fn_t)(uint8_t *, uint8_t *);\n",
    );
    let load = "\"ldp q0, q1, [%0]\\n ldp q2, q3, [%0, #32]\\n ldp q4, q5, [%0, #64]\\n ldr q6, [%0, #96]\\n\"\n\
                \"ldp x0, x1, [%0, #112]\\n\"\n";
    let clobbers =
        ": \"memory\", \"x0\", \"x1\", \"v0\", \"v1\", \"v2\", \"v3\", \"v4\", \"v5\", \"v6\"";
    for (k, case) in cases.iter().enumerate() {
        if case.mem {
            s += &format!(
                "static void f{k}(uint8_t *in, uint8_t *out) {{\n  __asm__ volatile(\n{load}\
                 \"add x0, %0, #128\\n msr fpsr, xzr\\n\"\n\
                 \"{}\\n\"\n\
                 \"stp q0, q1, [%1]\\n stp q2, q3, [%1, #32]\\n stp q4, q5, [%1, #64]\\n str q6, [%1, #96]\\n\"\n\
                 \"sub x0, x0, %0\\n sub x0, x0, #128\\n mrs x1, fpsr\\n stp x0, x1, [%1, #112]\\n\"\n\
                 :: \"r\"(in), \"r\"(out) {clobbers});\n  memcpy(out + 128, in + 128, {MEM_BYTES});\n}}\n",
                case.asm
            );
        } else {
            s += &format!(
                "static void f{k}(uint8_t *in, uint8_t *out) {{\n  __asm__ volatile(\n{load}\
                 \"msr fpsr, xzr\\n\"\n\
                 \"{}\\n\"\n\
                 \"str q2, [%1]\\n mrs x1, fpsr\\n stp x0, x1, [%1, #16]\\n\"\n\
                 :: \"r\"(in), \"r\"(out) {clobbers});\n}}\n",
                case.asm
            );
        }
    }
    s += "static const fn_t table[] = {";
    for k in 0..cases.len() {
        s += &format!("f{k},");
    }
    s += "};\nstatic const unsigned char is_mem[] = {";
    for c in cases {
        s += if c.mem { "1," } else { "0," };
    }
    s += &format!(
        "}};\nint main(void) {{\n  static uint8_t buf[{IN_BYTES} + {MEM_BYTES} + 64], out[{MEM_OUT_BYTES}];\n  uint32_t k;\n\
         while (fread(&k, 4, 1, stdin) == 1) {{\n\
         if (k >= {n}) return 2;\n\
         size_t in_len = {IN_BYTES} + (is_mem[k] ? {MEM_BYTES} : 0);\n\
         if (fread(buf, in_len, 1, stdin) != 1) return 3;\n\
         table[k](buf, out);\n\
         fwrite(out, is_mem[k] ? {MEM_OUT_BYTES} : {OUT_BYTES}, 1, stdout);\n }}\n\
         return 0;\n}}\n",
        n = cases.len()
    );
    s
}

fn tool(name: &str) -> String {
    let ok = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        ok.is_ok(),
        "differential test needs `{name}` on PATH (Debian packages gcc-aarch64-linux-gnu and qemu-user)"
    );
    name.into()
}

/// The instruction word under test in each `f{k}`: the word after `msr fpsr, xzr`.
fn encodings(exe: &std::path::Path, n: usize) -> Vec<u32> {
    let out = Command::new("aarch64-linux-gnu-objdump")
        .arg("-d")
        .arg(exe)
        .output()
        .expect("aarch64-linux-gnu-objdump is needed (Debian binutils-aarch64-linux-gnu)");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut enc = std::vec![None; n];
    let mut cur: Option<usize> = None;
    let mut take_next = false;
    for line in text.lines() {
        if let Some(rest) = line.split_once(" <f").map(|x| x.1) {
            cur = rest.strip_suffix(">:").and_then(|x| x.parse().ok());
            take_next = false;
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            continue;
        }
        if take_next {
            if let (Some(k), Ok(w)) = (cur, u32::from_str_radix(cols[1].trim(), 16)) {
                if k < n {
                    enc[k] = Some(w);
                }
            }
            take_next = false;
        } else if cols[2].trim() == "msr" && cols.get(3).is_some_and(|a| a.trim() == "fpsr, xzr") {
            take_next = true;
        }
    }
    enc.into_iter()
        .enumerate()
        .map(|(k, e)| e.unwrap_or_else(|| panic!("no encoding found for case {k}")))
        .collect()
}

const BUF_ADDR: u64 = 0x20000;

/// Runs one instruction word through decode -> lower -> verify -> interpreter.
fn run_interp(word: u32, inp: &Inp, mem: Option<&[u8]>) -> Result<(Cpu, [u8; MEM_BYTES]), String> {
    let mut cpu = Cpu::new();
    cpu.v[..NV].copy_from_slice(&inp.v);
    cpu.x[0] = inp.x[0];
    cpu.x[1] = inp.x[1];
    cpu.fpsr = 0;
    cpu.pc = 0x10000;
    let mut m = TestMem::default();
    if let Some(bytes) = mem {
        cpu.x[0] = BUF_ADDR;
        for (i, b) in bytes.iter().enumerate() {
            m.bytes.insert(BUF_ADDR + i as u64, *b);
        }
    }
    let blk = lower(word, 0x10000);
    verify(&blk).map_err(|e| format!("verifier: {e}"))?;
    let mut temps = Vec::new();
    match run_block(&mut cpu, &mut m, &blk, &mut temps) {
        Exit::Continue => {}
        e => return Err(format!("exit {e:?}")),
    }
    let mut buf = [0u8; MEM_BYTES];
    for (i, b) in buf.iter_mut().enumerate() {
        *b = *m.bytes.get(&(BUF_ADDR + i as u64)).unwrap_or(&0);
    }
    Ok((cpu, buf))
}

#[test]
fn differential_vs_qemu() {
    let gcc = tool("aarch64-linux-gnu-gcc");
    let qemu = tool("qemu-aarch64");
    let cases = all_cases();
    let dir = std::env::temp_dir().join(format!("a64-simd-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("t.c");
    let exe = dir.join("t");
    std::fs::write(&src, c_source(&cases)).unwrap();
    let st = Command::new(&gcc)
        .args(["-O1", "-static", "-march=armv8.2-a+crypto+crc+rdma", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success(), "compiling {} failed", src.display());
    let words = encodings(&exe, cases.len());

    let per_case: usize = std::env::var("A64_DIFF_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut inputs = Vec::new();
    let mut stdin_bytes = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        for _ in 0..per_case {
            let mut inp = Inp {
                v: [0; NV],
                x: [rng.gpr(), rng.gpr()],
            };
            for v in inp.v.iter_mut() {
                *v = rng.vec();
            }
            if case.gen == Gen::Tbl {
                let mut m = 0u128;
                for b in 0..16 {
                    m = super::with_elem(m, 8, b, rng.below(72));
                }
                inp.v[1] = m;
            }
            let mut buf = [0u8; MEM_BYTES];
            if case.mem {
                for b in buf.iter_mut() {
                    *b = rng.next() as u8;
                }
            }
            stdin_bytes.extend_from_slice(&(k as u32).to_le_bytes());
            for v in inp.v {
                stdin_bytes.extend_from_slice(&v.to_le_bytes());
            }
            for x in inp.x {
                stdin_bytes.extend_from_slice(&x.to_le_bytes());
            }
            if case.mem {
                stdin_bytes.extend_from_slice(&buf);
            }
            inputs.push((k, inp, buf));
        }
    }
    let mut child = Command::new(&qemu)
        .arg("-cpu")
        .arg("max")
        .arg(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&stdin_bytes));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());

    let mut failures = Vec::new();
    let mut failed_model = std::collections::BTreeSet::new();
    let mut failed_interp = std::collections::BTreeSet::new();
    let mut pos = 0usize;
    let rd = |o: &[u8], at: usize| u64::from_le_bytes(o[at..at + 8].try_into().unwrap());
    for (k, inp, buf) in &inputs {
        let case = &cases[*k];
        let len = if case.mem { MEM_OUT_BYTES } else { OUT_BYTES };
        assert!(pos + len <= out.len(), "qemu run produced short output");
        let o = &out[pos..pos + len];
        pos += len;
        let word = words[*k];
        if case.mem {
            let real_v: Vec<u128> = (0..NV)
                .map(|r| u128::from_le_bytes(o[16 * r..16 * r + 16].try_into().unwrap()))
                .collect();
            let (real_dx0, real_mem) = (rd(o, 112), &o[128..128 + MEM_BYTES]);
            let got = run_interp(word, inp, Some(buf));
            let ok = match &got {
                Ok((cpu, m)) => {
                    cpu.v[..NV] == real_v[..]
                        && cpu.x[0].wrapping_sub(BUF_ADDR) == real_dx0
                        && &m[..] == real_mem
                }
                Err(_) => false,
            };
            if !ok && failed_interp.insert(*k) {
                let ours = match got {
                    Ok((cpu, m)) => format!(
                        "v={:x?} dx0={:#x} mem={:02x?}",
                        &cpu.v[..NV],
                        cpu.x[0].wrapping_sub(BUF_ADDR),
                        m
                    ),
                    Err(e) => e,
                };
                failures.push(format!(
                    "[interp] {} ({word:#010x}): x1={:#x}\n   qemu v={real_v:x?} dx0={real_dx0:#x} mem={real_mem:02x?}\n   ours {ours}",
                    case.asm, inp.x[1]
                ));
            }
            continue;
        }
        let real = Out {
            v2: u128::from_le_bytes(o[..16].try_into().unwrap()),
            x0: rd(o, 16),
            qc: rd(o, 24) & (1 << 27) != 0,
        };
        let describe = |want: &Out| {
            format!(
                "n={:#034x} m={:#034x} d={:#034x} x0={:#x} x1={:#x}\n   qemu {:#034x} x0={:#x} qc={}\n   ours {:#034x} x0={:#x} qc={}",
                inp.v[0], inp.v[1], inp.v[2], inp.x[0], inp.x[1], real.v2, real.x0, real.qc, want.v2, want.x0, want.qc
            )
        };
        if let Some(model) = &case.model {
            let want = model(inp);
            if real != want && failed_model.insert(*k) {
                failures.push(format!("[model] {}: {}", case.asm, describe(&want)));
            }
        }
        // ARMv8.1 RDM instructions: compared with the model above, but the modelled
        // ARMv8.0 core must reject them.
        if case.asm.starts_with("sqrdml") {
            let r = run_interp(word, inp, None);
            if !matches!(&r, Err(e) if e.contains("Undef")) && failed_interp.insert(*k) {
                failures.push(format!(
                    "[interp] {} ({word:#010x}): expected UNDEF",
                    case.asm
                ));
            }
            continue;
        }
        match run_interp(word, inp, None) {
            Ok((cpu, _)) => {
                let got = Out {
                    v2: cpu.v[2],
                    x0: cpu.x[0],
                    qc: cpu.fpsr & (1 << 27) != 0,
                };
                if got != real && failed_interp.insert(*k) {
                    failures.push(format!(
                        "[interp] {} ({word:#010x}): {}",
                        case.asm,
                        describe(&got)
                    ));
                }
            }
            Err(e) => {
                if failed_interp.insert(*k) {
                    failures.push(format!("[interp] {} ({word:#010x}): {e}", case.asm));
                }
            }
        }
    }
    assert_eq!(pos, out.len(), "qemu run produced extra output");
    let _ = std::fs::remove_dir_all(&dir);
    std::println!(
        "{} instruction forms x {} random operands compared (model and decoder/interpreter)",
        cases.len(),
        per_case
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
