//! Lowering of the AdvSIMD integer, permute, copy, modified-immediate and load/store
//! structure instructions to IR: each instruction reads its registers, calls one of the
//! helpers below (pure functions of this module's semantics, with the operation, element
//! size and lane count packed in the call's `imm`) and writes its destination.
//!
//! Every unallocated or reserved encoding of these groups lowers to a guest UNDEF, and so
//! do the ARMv8.1+ extensions of them (SQRDMLAH/SQRDMLSH, dot products): the modelled core
//! is ARMv8.0 with AES/PMULL, SHA1, SHA2 and CRC32.

use super::arith::{self, ThreeDiff, ThreeSame};
use super::ldst;
use super::misc::{self, Across, Narrow, TwoMisc};
use super::perm::{self, ModImm, Permute};
use super::shift::{self, ShiftImm, ShiftNarrow};
use crate::decode::fields as f;
use crate::ir::{BinOp, Helper, MemAttr, Temp, Ty};
use crate::lower::Builder;
use crate::state::Cpu;

/// FPSR.QC (cumulative saturation).
pub const FPSR_QC: u32 = 1 << 27;

// ---------------------------------------------------------------------------------
// Helper immediates: op (bits 0..8), esize (8..16), lanes (16..24), part2 (24),
// by-element flag (25), shift / index (32..40), second index (40..48).

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Imm {
    pub op: u8,
    pub esize: u32,
    pub lanes: usize,
    pub part2: bool,
    pub elem: bool,
    pub sh: u32,
    pub idx2: u32,
}

impl Imm {
    fn new(op: u8, esize: u32, lanes: usize) -> Self {
        Imm {
            op,
            esize,
            lanes,
            ..Default::default()
        }
    }
    fn part2(mut self, p: bool) -> Self {
        self.part2 = p;
        self
    }
    fn sh(mut self, s: u32) -> Self {
        self.sh = s;
        self
    }
    fn elem(mut self, index: u32) -> Self {
        self.elem = true;
        self.sh = index;
        self
    }
    fn idx2(mut self, i: u32) -> Self {
        self.idx2 = i;
        self
    }
    pub(crate) fn pack(self) -> u64 {
        (self.op as u64)
            | ((self.esize as u64 & 0xff) << 8)
            | ((self.lanes as u64 & 0xff) << 16)
            | ((self.part2 as u64) << 24)
            | ((self.elem as u64) << 25)
            | ((self.sh as u64 & 0xff) << 32)
            | ((self.idx2 as u64 & 0xff) << 40)
    }
    pub(crate) fn unpack(v: u64) -> Self {
        Imm {
            op: v as u8,
            esize: ((v >> 8) & 0xff) as u32,
            lanes: ((v >> 16) & 0xff) as usize,
            part2: (v >> 24) & 1 != 0,
            elem: (v >> 25) & 1 != 0,
            sh: ((v >> 32) & 0xff) as u32,
            idx2: ((v >> 40) & 0xff) as u32,
        }
    }
}

fn set_qc(cpu: &mut Cpu, qc: bool) {
    if qc {
        cpu.fpsr |= FPSR_QC;
    }
}

/// Every `ThreeSame` operation, indexed by its discriminant.
const THREE_SAME_OPS: [ThreeSame; 55] = {
    use ThreeSame::*;
    [
        Add, Sub, Mul, Mla, Mls, Sqadd, Uqadd, Sqsub, Uqsub, Shadd, Uhadd, Srhadd, Urhadd, Shsub,
        Uhsub, Smax, Umax, Smin, Umin, Sabd, Uabd, Saba, Uaba, Cmeq, Cmge, Cmgt, Cmhi, Cmhs, Cmtst,
        Sshl, Ushl, Srshl, Urshl, Sqshl, Uqshl, Sqrshl, Uqrshl, Sqdmulh, Sqrdmulh, Sqrdmlah,
        Sqrdmlsh, Pmul, Addp, Smaxp, Umaxp, Sminp, Uminp, And, Bic, Orr, Orn, Eor, Bsl, Bit, Bif,
    ]
};

const THREE_DIFF_OPS: [ThreeDiff; 26] = {
    use ThreeDiff::*;
    [
        Saddl, Uaddl, Saddw, Uaddw, Ssubl, Usubl, Ssubw, Usubw, Addhn, Raddhn, Subhn, Rsubhn,
        Sabal, Uabal, Sabdl, Uabdl, Smlal, Umlal, Smlsl, Umlsl, Smull, Umull, Sqdmlal, Sqdmlsl,
        Sqdmull, Pmull,
    ]
};

const TWO_MISC_OPS: [TwoMisc; 21] = {
    use TwoMisc::*;
    [
        Rev16, Rev32, Rev64, Cnt, Cls, Clz, Not, Rbit, Abs, Neg, Sqabs, Sqneg, Suqadd, Usqadd,
        Cmeq0, Cmge0, Cmgt0, Cmle0, Cmlt0, Urecpe, Ursqrte,
    ]
};

const NARROW_OPS: [Narrow; 4] = [Narrow::Xtn, Narrow::Sqxtn, Narrow::Uqxtn, Narrow::Sqxtun];

const ACROSS_OPS: [Across; 7] = {
    use Across::*;
    [Addv, Saddlv, Uaddlv, Smaxv, Umaxv, Sminv, Uminv]
};

const SHIFT_OPS: [ShiftImm; 14] = {
    use ShiftImm::*;
    [
        Shl, Sshr, Ushr, Ssra, Usra, Srshr, Urshr, Srsra, Ursra, Sri, Sli, Sqshl, Uqshl, Sqshlu,
    ]
};

const SHIFT_NARROW_OPS: [ShiftNarrow; 8] = {
    use ShiftNarrow::*;
    [
        Shrn, Rshrn, Sqshrn, Uqshrn, Sqrshrn, Uqrshrn, Sqshrun, Sqrshrun,
    ]
};

const PERMUTE_OPS: [Permute; 6] = {
    use Permute::*;
    [Zip1, Zip2, Uzp1, Uzp2, Trn1, Trn2]
};

fn h_three_same(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let op = THREE_SAME_OPS[i.op as usize % THREE_SAME_OPS.len()];
    let m = if i.elem {
        arith::dup_lane(a[1], i.esize, i.sh as usize, i.lanes)
    } else {
        a[1]
    };
    let mut qc = false;
    let r = arith::three_same(op, i.esize, i.lanes, a[0], m, a[2], &mut qc);
    set_qc(cpu, qc);
    r
}

fn h_three_diff(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let op = THREE_DIFF_OPS[i.op as usize % THREE_DIFF_OPS.len()];
    let m = if i.elem {
        arith::dup_lane(
            a[1],
            i.esize,
            i.sh as usize,
            (128 / i.esize.max(8)) as usize,
        )
    } else {
        a[1]
    };
    let mut qc = false;
    let r = arith::three_diff(op, i.esize, i.lanes, i.part2, a[0], m, a[2], &mut qc);
    set_qc(cpu, qc);
    r
}

fn h_two_misc(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let op = TWO_MISC_OPS[i.op as usize % TWO_MISC_OPS.len()];
    let mut qc = false;
    let r = misc::two_misc(op, i.esize, i.lanes, a[0], a[1], &mut qc);
    set_qc(cpu, qc);
    r
}

fn h_addlp(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    misc::addlp(i.op & 1 != 0, i.op & 2 != 0, i.esize, i.lanes, a[0], a[1])
}

fn h_narrow(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let mut qc = false;
    let r = misc::narrow(
        NARROW_OPS[i.op as usize % 4],
        i.esize,
        i.lanes,
        i.part2,
        a[0],
        a[1],
        &mut qc,
    );
    set_qc(cpu, qc);
    r
}

fn h_shll(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    misc::shll(i.esize, i.part2, a[0])
}

fn h_across(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    misc::across(
        ACROSS_OPS[i.op as usize % ACROSS_OPS.len()],
        i.esize,
        i.lanes,
        a[0],
    )
}

fn h_shift(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let mut qc = false;
    let r = shift::shift_imm(
        SHIFT_OPS[i.op as usize % SHIFT_OPS.len()],
        i.esize,
        i.lanes,
        i.sh,
        a[0],
        a[1],
        &mut qc,
    );
    set_qc(cpu, qc);
    r
}

fn h_shift_narrow(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    let op = SHIFT_NARROW_OPS[i.op as usize % SHIFT_NARROW_OPS.len()];
    let mut qc = false;
    let r = shift::shift_narrow(op, i.esize, i.lanes, i.part2, i.sh, a[0], a[1], &mut qc);
    set_qc(cpu, qc);
    r
}

fn h_shift_long(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    shift::shift_long(i.op != 0, i.esize, i.part2, i.sh, a[0])
}

fn h_permute(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::permute(
        PERMUTE_OPS[i.op as usize % PERMUTE_OPS.len()],
        i.esize,
        i.lanes,
        a[0],
        a[1],
    )
}

fn h_ext(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::ext(i.lanes as u32, i.sh, a[0], a[1])
}

fn h_tbl_step(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    ldst::tbl_step(a[0], a[1], a[2], i.sh as usize, i.lanes)
}

fn h_dup_elem(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::dup_elem(i.esize, i.lanes, i.sh as usize, a[0])
}

fn h_dup_gen(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::dup_gen(i.esize, i.lanes, a[0] as u64)
}

fn h_ins_elem(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::ins_elem(i.esize, i.sh as usize, i.idx2 as usize, a[0], a[1])
}

fn h_ins_gen(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::ins_gen(i.esize, i.sh as usize, a[0] as u64, a[1])
}

fn h_umov(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::umov(i.esize, i.sh as usize, a[0]) as u128
}

fn h_smov(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    perm::smov(i.esize, i.sh as usize, i.part2, a[0]) as u128
}

fn h_deinterleave3(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    ldst::deinterleave(&a, i.esize, i.lanes, i.sh as usize)
}

fn h_interleave3(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let i = Imm::unpack(imm);
    ldst::interleave(&a, i.esize, i.lanes, i.sh as usize)
}

const V1: &[Ty] = &[Ty::I128];
const V2: &[Ty] = &[Ty::I128, Ty::I128];
const V3: &[Ty] = &[Ty::I128, Ty::I128, Ty::I128];

macro_rules! helper {
    ($(#[$m:meta])* $id:ident, $name:literal, $f:ident, $args:expr, $ret:expr) => {
        $(#[$m])*
        pub static $id: Helper = Helper { name: $name, func: $f, ret: Some($ret), args: $args };
    };
}

helper!(/// Three-same (and by-element) integer ops: `(Vn, Vm, Vd)`.
    THREE_SAME, "simd::three_same", h_three_same, V3, Ty::I128);
helper!(/// Three-different (and long by-element) ops: `(Vn, Vm, Vd)`.
    THREE_DIFF, "simd::three_diff", h_three_diff, V3, Ty::I128);
helper!(/// Two-register misc ops: `(Vn, Vd)`.
    TWO_MISC, "simd::two_misc", h_two_misc, V2, Ty::I128);
helper!(/// SADDLP/UADDLP/SADALP/UADALP: `(Vn, Vd)`.
    ADDLP, "simd::addlp", h_addlp, V2, Ty::I128);
helper!(/// XTN/SQXTN/UQXTN/SQXTUN: `(Vn, Vd)`.
    NARROW, "simd::narrow", h_narrow, V2, Ty::I128);
helper!(/// SHLL: `(Vn)`.
    SHLL, "simd::shll", h_shll, V1, Ty::I128);
helper!(/// Across-lanes reductions: `(Vn)`.
    ACROSS, "simd::across", h_across, V1, Ty::I128);
helper!(/// Same-size shifts by immediate: `(Vn, Vd)`.
    SHIFT, "simd::shift_imm", h_shift, V2, Ty::I128);
helper!(/// Narrowing shifts by immediate: `(Vn, Vd)`.
    SHIFT_NARROW, "simd::shift_narrow", h_shift_narrow, V2, Ty::I128);
helper!(/// SSHLL/USHLL: `(Vn)`.
    SHIFT_LONG, "simd::shift_long", h_shift_long, V1, Ty::I128);
helper!(/// ZIP/UZP/TRN: `(Vn, Vm)`.
    PERMUTE, "simd::permute", h_permute, V2, Ty::I128);
helper!(/// EXT: `(Vn, Vm)`.
    EXT, "simd::ext", h_ext, V2, Ty::I128);
helper!(/// One table register of TBL/TBX: `(acc, table, indices)`.
    TBL_STEP, "simd::tbl_step", h_tbl_step, V3, Ty::I128);
helper!(/// DUP (element): `(Vn)`.
    DUP_ELEM, "simd::dup_elem", h_dup_elem, V1, Ty::I128);
helper!(/// DUP (general): `(Xn)`.
    DUP_GEN, "simd::dup_gen", h_dup_gen, &[Ty::I64], Ty::I128);
helper!(/// INS (element): `(Vn, Vd)`.
    INS_ELEM, "simd::ins_elem", h_ins_elem, V2, Ty::I128);
helper!(/// INS (general): `(Xn, Vd)`.
    INS_GEN, "simd::ins_gen", h_ins_gen, &[Ty::I64, Ty::I128], Ty::I128);
helper!(/// UMOV: `(Vn)` -> X.
    UMOV, "simd::umov", h_umov, V1, Ty::I64);
helper!(/// SMOV: `(Vn)` -> X.
    SMOV, "simd::smov", h_smov, V1, Ty::I64);
helper!(/// LD3 de-interleave: `(chunk0, chunk1, chunk2)` -> register `sh`.
    DEINTERLEAVE3, "simd::deinterleave3", h_deinterleave3, V3, Ty::I128);
helper!(/// ST3 interleave: `(r0, r1, r2)` -> memory chunk `sh`.
    INTERLEAVE3, "simd::interleave3", h_interleave3, V3, Ty::I128);

// ---------------------------------------------------------------------------------
// Small lowering utilities.

fn esize_of(size: u32) -> u32 {
    8 << size
}

fn vlanes(q: u32, esize: u32) -> usize {
    (if q != 0 { 128 } else { 64 } / esize) as usize
}

fn call3(b: &mut Builder, h: &'static Helper, args: &[Temp], imm: Imm) -> Option<Temp> {
    b.call(h, args, imm.pack())
}

/// `Vd = helper(Vn, Vm, Vd)`.
fn nmd(b: &mut Builder, h: &'static Helper, rn: u32, rm: u32, rd: u32, imm: Imm) {
    let n = b.read_v(rn);
    let m = b.read_v(rm);
    let d = b.read_v(rd);
    if let Some(r) = call3(b, h, &[n, m, d], imm) {
        b.write_v(rd, r);
    }
}

/// `Vd = helper(Vn, Vd)`.
fn nd(b: &mut Builder, h: &'static Helper, rn: u32, rd: u32, imm: Imm) {
    let n = b.read_v(rn);
    let d = b.read_v(rd);
    if let Some(r) = call3(b, h, &[n, d], imm) {
        b.write_v(rd, r);
    }
}

/// `Vd = helper(Vn)`.
fn n1(b: &mut Builder, h: &'static Helper, rn: u32, rd: u32, imm: Imm) {
    let n = b.read_v(rn);
    if let Some(r) = call3(b, h, &[n], imm) {
        b.write_v(rd, r);
    }
}

/// `Vd = helper(Vn, Vm)`.
fn nm(b: &mut Builder, h: &'static Helper, rn: u32, rm: u32, rd: u32, imm: Imm) {
    let n = b.read_v(rn);
    let m = b.read_v(rm);
    if let Some(r) = call3(b, h, &[n, m], imm) {
        b.write_v(rd, r);
    }
}

fn bits(raw: u32, lo: u32, n: u32) -> u32 {
    (raw >> lo) & ((1 << n) - 1)
}

// ---------------------------------------------------------------------------------
// Three same.

/// Which element sizes a three-same op accepts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sizes {
    /// 8, 16, 32, and 64 (64 only with Q=1 for vectors).
    All,
    /// 8, 16, 32.
    No64,
    /// 16, 32.
    Hs,
    /// 64 only (scalar forms).
    D,
}

fn size_ok(s: Sizes, size: u32) -> bool {
    match s {
        Sizes::All => true,
        Sizes::No64 => size != 3,
        Sizes::Hs => size == 1 || size == 2,
        Sizes::D => size == 3,
    }
}

fn three_same_op(u: u32, opcode: u32, size: u32) -> Option<(ThreeSame, Sizes)> {
    use Sizes::*;
    use ThreeSame::*;
    let s = |a, bb| if u == 0 { a } else { bb };
    Some(match opcode {
        0b00000 => (s(Shadd, Uhadd), No64),
        0b00001 => (s(Sqadd, Uqadd), All),
        0b00010 => (s(Srhadd, Urhadd), No64),
        0b00011 => {
            let op = match (u, size) {
                (0, 0) => And,
                (0, 1) => Bic,
                (0, 2) => Orr,
                (0, _) => Orn,
                (_, 0) => Eor,
                (_, 1) => Bsl,
                (_, 2) => Bit,
                _ => Bif,
            };
            (op, All)
        }
        0b00100 => (s(Shsub, Uhsub), No64),
        0b00101 => (s(Sqsub, Uqsub), All),
        0b00110 => (s(Cmgt, Cmhi), All),
        0b00111 => (s(Cmge, Cmhs), All),
        0b01000 => (s(Sshl, Ushl), All),
        0b01001 => (s(Sqshl, Uqshl), All),
        0b01010 => (s(Srshl, Urshl), All),
        0b01011 => (s(Sqrshl, Uqrshl), All),
        0b01100 => (s(Smax, Umax), No64),
        0b01101 => (s(Smin, Umin), No64),
        0b01110 => (s(Sabd, Uabd), No64),
        0b01111 => (s(Saba, Uaba), No64),
        0b10000 => (s(Add, Sub), All),
        0b10001 => (s(Cmtst, Cmeq), All),
        0b10010 => (s(Mla, Mls), No64),
        0b10011 => {
            if u == 0 {
                (Mul, No64)
            } else if size == 0 {
                (Pmul, All)
            } else {
                return None;
            }
        }
        0b10100 => (s(Smaxp, Umaxp), No64),
        0b10101 => (s(Sminp, Uminp), No64),
        0b10110 => (s(Sqdmulh, Sqrdmulh), Hs),
        0b10111 if u == 0 => (Addp, All),
        _ => return None,
    })
}

fn three_same_vec(b: &mut Builder, raw: u32) {
    let (q, u, size, rm, opcode, rn, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 16, 5),
        bits(raw, 11, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let Some((op, sizes)) = three_same_op(u, opcode, size) else {
        return b.undef();
    };
    let logical = opcode == 0b00011;
    if !size_ok(sizes, size) || (!logical && size == 3 && q == 0) {
        return b.undef();
    }
    if logical {
        return bitwise(b, op, q, rn, rm, rd);
    }
    let esize = esize_of(size);
    nmd(
        b,
        &THREE_SAME,
        rn,
        rm,
        rd,
        Imm::new(op as u8, esize, vlanes(q, esize)),
    );
}

/// AND/BIC/ORR/ORN/EOR/BSL/BIT/BIF directly in IR on I128 (no helper call).
fn bitwise(b: &mut Builder, op: ThreeSame, q: u32, rn: u32, rm: u32, rd: u32) {
    use crate::ir::UnOp;
    use ThreeSame::*;
    let n = b.read_v(rn);
    let m = b.read_v(rm);
    let r = match op {
        // MOV (vector) is ORR with Rn == Rm: the value itself, which the optimiser can
        // then forward like any register copy.
        And | Orr if rn == rm => n,
        And => b.bin(BinOp::And, n, m),
        Bic => {
            let nm = b.un(UnOp::Not, m);
            b.bin(BinOp::And, n, nm)
        }
        Orr => b.bin(BinOp::Or, n, m),
        Orn => {
            let nm = b.un(UnOp::Not, m);
            b.bin(BinOp::Or, n, nm)
        }
        Eor => b.bin(BinOp::Xor, n, m),
        _ => {
            // BSL: m ^ ((m ^ n) & d); BIT: d ^ ((d ^ n) & m); BIF: d ^ ((d ^ n) & !m).
            let d = b.read_v(rd);
            let (base, sel) = match op {
                Bsl => (m, d),
                Bit => (d, m),
                _ => (d, b.un(UnOp::Not, m)),
            };
            let x = b.bin(BinOp::Xor, base, n);
            let x = b.bin(BinOp::And, x, sel);
            b.bin(BinOp::Xor, base, x)
        }
    };
    let r = if q == 0 {
        b.bini(BinOp::And, r, u64::MAX as u128)
    } else {
        r
    };
    b.write_v(rd, r);
}

/// `SIMD_3SAME_A` (opcode 0xxxx).
pub fn simd_3same_a(b: &mut Builder, x: f::SIMD_3SAME_A) {
    three_same_vec(b, x.raw)
}

/// `SIMD_3SAME_B` (opcode 10xxx).
pub fn simd_3same_b(b: &mut Builder, x: f::SIMD_3SAME_B) {
    three_same_vec(b, x.raw)
}

fn three_same_scalar(b: &mut Builder, raw: u32) {
    use Sizes::*;
    use ThreeSame::*;
    let (u, size, rm, opcode, rn, rd) = (
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 16, 5),
        bits(raw, 11, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let s = |a, bb| if u == 0 { a } else { bb };
    let (op, sizes) = match opcode {
        0b00001 => (s(Sqadd, Uqadd), All),
        0b00101 => (s(Sqsub, Uqsub), All),
        0b00110 => (s(Cmgt, Cmhi), D),
        0b00111 => (s(Cmge, Cmhs), D),
        0b01000 => (s(Sshl, Ushl), D),
        0b01001 => (s(Sqshl, Uqshl), All),
        0b01010 => (s(Srshl, Urshl), D),
        0b01011 => (s(Sqrshl, Uqrshl), All),
        0b10000 => (s(Add, Sub), D),
        0b10001 => (s(Cmtst, Cmeq), D),
        0b10110 => (s(Sqdmulh, Sqrdmulh), Hs),
        _ => return b.undef(),
    };
    if !size_ok(sizes, size) {
        return b.undef();
    }
    nmd(
        b,
        &THREE_SAME,
        rn,
        rm,
        rd,
        Imm::new(op as u8, esize_of(size), 1),
    );
}

/// `SIMD_S3SAME_A` (scalar, opcode 0xxxx).
pub fn simd_s3same_a(b: &mut Builder, x: f::SIMD_S3SAME_A) {
    three_same_scalar(b, x.raw)
}

/// `SIMD_S3SAME_B` (scalar, opcode 10xxx).
pub fn simd_s3same_b(b: &mut Builder, x: f::SIMD_S3SAME_B) {
    three_same_scalar(b, x.raw)
}

// ---------------------------------------------------------------------------------
// Three different.

/// `SIMD_3DIFF`.
pub fn simd_3diff(b: &mut Builder, x: f::SIMD_3DIFF) {
    use ThreeDiff::*;
    let s = |a, bb| if x.U == 0 { a } else { bb };
    let op = match x.opc {
        0b0000 => s(Saddl, Uaddl),
        0b0001 => s(Saddw, Uaddw),
        0b0010 => s(Ssubl, Usubl),
        0b0011 => s(Ssubw, Usubw),
        0b0100 => s(Addhn, Raddhn),
        0b0101 => s(Sabal, Uabal),
        0b0110 => s(Subhn, Rsubhn),
        0b0111 => s(Sabdl, Uabdl),
        0b1000 => s(Smlal, Umlal),
        0b1001 if x.U == 0 => Sqdmlal,
        0b1010 => s(Smlsl, Umlsl),
        0b1011 if x.U == 0 => Sqdmlsl,
        0b1100 => s(Smull, Umull),
        0b1101 if x.U == 0 => Sqdmull,
        0b1110 if x.U == 0 => Pmull,
        _ => return b.undef(),
    };
    let ok = match op {
        Sqdmlal | Sqdmlsl | Sqdmull => x.size == 1 || x.size == 2,
        Pmull => x.size == 0 || x.size == 3,
        _ => x.size != 3,
    };
    if !ok {
        return b.undef();
    }
    let esize = esize_of(x.size);
    let lanes = if esize == 64 {
        1
    } else {
        (64 / esize) as usize
    };
    nmd(
        b,
        &THREE_DIFF,
        x.rn,
        x.rm,
        x.rd,
        Imm::new(op as u8, esize, lanes).part2(x.Q != 0),
    );
}

/// `SIMD_S3DIFF`: SQDMLAL/SQDMLSL/SQDMULL (scalar).
pub fn simd_s3diff(b: &mut Builder, x: f::SIMD_S3DIFF) {
    let op = match x.opc {
        0b1001 => ThreeDiff::Sqdmlal,
        0b1011 => ThreeDiff::Sqdmlsl,
        0b1101 => ThreeDiff::Sqdmull,
        _ => return b.undef(),
    };
    if x.U != 0 || (x.size != 1 && x.size != 2) {
        return b.undef();
    }
    nmd(
        b,
        &THREE_DIFF,
        x.rn,
        x.rm,
        x.rd,
        Imm::new(op as u8, esize_of(x.size), 1),
    );
}

// ---------------------------------------------------------------------------------
// Two-register miscellaneous.

fn two_misc_vec(b: &mut Builder, raw: u32) {
    use TwoMisc::*;
    let (q, u, size, opcode, rn, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 12, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let esize = esize_of(size);
    let same = |b: &mut Builder, op: TwoMisc, ok: bool| {
        if !ok || (size == 3 && q == 0) {
            return b.undef();
        }
        nd(
            b,
            &TWO_MISC,
            rn,
            rd,
            Imm::new(op as u8, esize, vlanes(q, esize)),
        );
    };
    match (u, opcode) {
        (0, 0b00000) => same(b, Rev64, size != 3),
        (1, 0b00000) => same(b, Rev32, size < 2),
        (0, 0b00001) => same(b, Rev16, size == 0),
        (_, 0b00010) | (_, 0b00110) => {
            if size == 3 {
                return b.undef();
            }
            let acc = opcode == 0b00110;
            let op = (u == 0) as u8 | ((acc as u8) << 1);
            nd(b, &ADDLP, rn, rd, Imm::new(op, esize, vlanes(q, esize) / 2));
        }
        (_, 0b00011) => same(b, if u == 0 { Suqadd } else { Usqadd }, true),
        (_, 0b00100) => same(b, if u == 0 { Cls } else { Clz }, size != 3),
        (0, 0b00101) => same(b, Cnt, size == 0),
        (1, 0b00101) => match size {
            0 => same(b, Not, true),
            1 => {
                // RBIT works on bytes.
                nd(b, &TWO_MISC, rn, rd, Imm::new(Rbit as u8, 8, vlanes(q, 8)));
            }
            _ => b.undef(),
        },
        (_, 0b00111) => same(b, if u == 0 { Sqabs } else { Sqneg }, true),
        (_, 0b01000) => same(b, if u == 0 { Cmgt0 } else { Cmge0 }, true),
        (_, 0b01001) => same(b, if u == 0 { Cmeq0 } else { Cmle0 }, true),
        (0, 0b01010) => same(b, Cmlt0, true),
        (_, 0b01011) => same(b, if u == 0 { Abs } else { Neg }, true),
        (_, 0b10010) | (_, 0b10100) => {
            if size == 3 {
                return b.undef();
            }
            let op = match (u, opcode) {
                (0, 0b10010) => Narrow::Xtn,
                (1, 0b10010) => Narrow::Sqxtun,
                (0, _) => Narrow::Sqxtn,
                _ => Narrow::Uqxtn,
            };
            nd(
                b,
                &NARROW,
                rn,
                rd,
                Imm::new(op as u8, esize, (64 / esize) as usize).part2(q != 0),
            );
        }
        (1, 0b10011) => {
            if size == 3 {
                return b.undef();
            }
            n1(b, &SHLL, rn, rd, Imm::new(0, esize, 0).part2(q != 0));
        }
        (_, 0b11100) if size == 2 => same(b, if u == 0 { Urecpe } else { Ursqrte }, true),
        _ => b.undef(),
    }
}

/// `SIMD_2MISC_A` (opcodes 00xxx).
pub fn simd_2misc_a(b: &mut Builder, x: f::SIMD_2MISC_A) {
    two_misc_vec(b, x.raw)
}
/// `SIMD_2MISC_B` (opcodes 010xx).
pub fn simd_2misc_b(b: &mut Builder, x: f::SIMD_2MISC_B) {
    two_misc_vec(b, x.raw)
}
/// `SIMD_2MISC_C` (opcodes 1001x).
pub fn simd_2misc_c(b: &mut Builder, x: f::SIMD_2MISC_C) {
    two_misc_vec(b, x.raw)
}
/// `SIMD_2MISC_D` (opcode 10100).
pub fn simd_2misc_d(b: &mut Builder, x: f::SIMD_2MISC_D) {
    two_misc_vec(b, x.raw)
}
/// `SIMD_2MISC_E` (URECPE/URSQRTE).
pub fn simd_2misc_e(b: &mut Builder, x: f::SIMD_2MISC_E) {
    two_misc_vec(b, x.raw)
}

fn two_misc_scalar(b: &mut Builder, raw: u32) {
    use TwoMisc::*;
    let (u, size, opcode, rn, rd) = (
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 12, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let esize = esize_of(size);
    let same = |b: &mut Builder, op: TwoMisc, ok: bool| {
        if !ok {
            return b.undef();
        }
        nd(b, &TWO_MISC, rn, rd, Imm::new(op as u8, esize, 1));
    };
    match (u, opcode) {
        (_, 0b00011) => same(b, if u == 0 { Suqadd } else { Usqadd }, true),
        (_, 0b00111) => same(b, if u == 0 { Sqabs } else { Sqneg }, true),
        (_, 0b01000) => same(b, if u == 0 { Cmgt0 } else { Cmge0 }, size == 3),
        (_, 0b01001) => same(b, if u == 0 { Cmeq0 } else { Cmle0 }, size == 3),
        (0, 0b01010) => same(b, Cmlt0, size == 3),
        (_, 0b01011) => same(b, if u == 0 { Abs } else { Neg }, size == 3),
        (1, 0b10010) | (_, 0b10100) => {
            if size == 3 {
                return b.undef();
            }
            let op = match (u, opcode) {
                (1, 0b10010) => Narrow::Sqxtun,
                (0, _) => Narrow::Sqxtn,
                _ => Narrow::Uqxtn,
            };
            nd(b, &NARROW, rn, rd, Imm::new(op as u8, esize, 1));
        }
        _ => b.undef(),
    }
}

/// `SIMD_S2MISC_A` (00x11).
pub fn simd_s2misc_a(b: &mut Builder, x: f::SIMD_S2MISC_A) {
    two_misc_scalar(b, x.raw)
}
/// `SIMD_S2MISC_B` (010xx).
pub fn simd_s2misc_b(b: &mut Builder, x: f::SIMD_S2MISC_B) {
    two_misc_scalar(b, x.raw)
}
/// `SIMD_S2MISC_C` (10010).
pub fn simd_s2misc_c(b: &mut Builder, x: f::SIMD_S2MISC_C) {
    two_misc_scalar(b, x.raw)
}
/// `SIMD_S2MISC_D` (10100).
pub fn simd_s2misc_d(b: &mut Builder, x: f::SIMD_S2MISC_D) {
    two_misc_scalar(b, x.raw)
}

// ---------------------------------------------------------------------------------
// Across lanes, scalar pairwise.

fn across_lanes(b: &mut Builder, raw: u32) {
    use Across::*;
    let (q, u, size, opcode, rn, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 12, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let op = match (u, opcode) {
        (0, 0b00011) => Saddlv,
        (1, 0b00011) => Uaddlv,
        (0, 0b01010) => Smaxv,
        (1, 0b01010) => Umaxv,
        (0, 0b11010) => Sminv,
        (1, 0b11010) => Uminv,
        (0, 0b11011) => Addv,
        _ => return b.undef(),
    };
    if size == 3 || (size == 2 && q == 0) {
        return b.undef();
    }
    let esize = esize_of(size);
    n1(
        b,
        &ACROSS,
        rn,
        rd,
        Imm::new(op as u8, esize, vlanes(q, esize)),
    );
}

/// `SIMD_ACROSS_A` (SADDLV/UADDLV).
pub fn simd_across_a(b: &mut Builder, x: f::SIMD_ACROSS_A) {
    across_lanes(b, x.raw)
}
/// `SIMD_ACROSS_B` (SMAXV/UMAXV, SMINV/UMINV).
pub fn simd_across_b(b: &mut Builder, x: f::SIMD_ACROSS_B) {
    across_lanes(b, x.raw)
}
/// `SIMD_ACROSS_C` (ADDV).
pub fn simd_across_c(b: &mut Builder, x: f::SIMD_ACROSS_C) {
    across_lanes(b, x.raw)
}

/// `SIMD_SADDP`: ADDP Dd, Vn.2D.
pub fn simd_saddp(b: &mut Builder, x: f::SIMD_SADDP) {
    // ADDP of the two D lanes = pairwise add of a 2-lane vector with itself, lane 0.
    let n = b.read_v(x.rn);
    if let Some(r) = call3(
        b,
        &THREE_SAME,
        &[n, n, n],
        Imm::new(ThreeSame::Addp as u8, 64, 1),
    ) {
        b.write_v(x.rd, r);
    }
}

// ---------------------------------------------------------------------------------
// Copy, permute, extract, table lookup.

/// `(size, index)` from an imm5 field, `None` if reserved.
fn imm5_elem(imm5: u32) -> Option<(u32, u32)> {
    let size = imm5.trailing_zeros();
    if size > 3 {
        return None;
    }
    Some((size, imm5 >> (size + 1)))
}

/// `SIMD_COPY`: DUP, INS, SMOV, UMOV.
pub fn simd_copy(b: &mut Builder, x: f::SIMD_COPY) {
    let Some((size, index)) = imm5_elem(x.imm5) else {
        return b.undef();
    };
    let esize = esize_of(size);
    match (x.op, x.imm4) {
        (0, 0b0000) => {
            if size == 3 && x.Q == 0 {
                return b.undef();
            }
            n1(
                b,
                &DUP_ELEM,
                x.rn,
                x.rd,
                Imm::new(0, esize, vlanes(x.Q, esize)).sh(index),
            );
        }
        (0, 0b0001) => {
            if size == 3 && x.Q == 0 {
                return b.undef();
            }
            let g = b.read_x(x.rn, true);
            if let Some(r) = call3(b, &DUP_GEN, &[g], Imm::new(0, esize, vlanes(x.Q, esize))) {
                b.write_v(x.rd, r);
            }
        }
        (0, 0b0011) if x.Q == 1 => {
            let g = b.read_x(x.rn, true);
            let d = b.read_v(x.rd);
            if let Some(r) = call3(b, &INS_GEN, &[g, d], Imm::new(0, esize, 0).sh(index)) {
                b.write_v(x.rd, r);
            }
        }
        (0, 0b0101) | (0, 0b0111) => {
            let signed = x.imm4 == 0b0101;
            let ok = match (signed, x.Q) {
                (true, 0) => size <= 1,
                (true, _) => size <= 2,
                (false, 0) => size <= 2,
                (false, _) => size == 3,
            };
            if !ok {
                return b.undef();
            }
            let n = b.read_v(x.rn);
            let h = if signed { &SMOV } else { &UMOV };
            if let Some(r) = call3(b, h, &[n], Imm::new(0, esize, 0).sh(index).part2(x.Q != 0)) {
                if x.Q != 0 {
                    b.write_x(x.rd, r);
                } else {
                    let w = b.zext(r, Ty::I32);
                    b.write_x(x.rd, w);
                }
            }
        }
        (1, imm4) if x.Q == 1 => {
            let src = imm4 >> size;
            nd(
                b,
                &INS_ELEM,
                x.rn,
                x.rd,
                Imm::new(0, esize, 0).sh(index).idx2(src),
            );
        }
        _ => b.undef(),
    }
}

/// `SIMD_SCOPY`: DUP (element), scalar (MOV Vd, Vn.T[i]).
pub fn simd_scopy(b: &mut Builder, x: f::SIMD_SCOPY) {
    let Some((size, index)) = imm5_elem(x.imm5) else {
        return b.undef();
    };
    n1(
        b,
        &DUP_ELEM,
        x.rn,
        x.rd,
        Imm::new(0, esize_of(size), 1).sh(index),
    );
}

/// `SIMD_PERM`: UZP1/2, TRN1/2, ZIP1/2.
pub fn simd_perm(b: &mut Builder, x: f::SIMD_PERM) {
    let op = match x.opc {
        0b001 => Permute::Uzp1,
        0b010 => Permute::Trn1,
        0b011 => Permute::Zip1,
        0b101 => Permute::Uzp2,
        0b110 => Permute::Trn2,
        0b111 => Permute::Zip2,
        _ => return b.undef(),
    };
    if x.size == 3 && x.Q == 0 {
        return b.undef();
    }
    let esize = esize_of(x.size);
    nm(
        b,
        &PERMUTE,
        x.rn,
        x.rm,
        x.rd,
        Imm::new(op as u8, esize, vlanes(x.Q, esize)),
    );
}

/// `SIMD_EXT`.
pub fn simd_ext(b: &mut Builder, x: f::SIMD_EXT) {
    if x.Q == 0 && x.imm4 >= 8 {
        return b.undef();
    }
    let bytes = if x.Q != 0 { 16 } else { 8 };
    nm(b, &EXT, x.rn, x.rm, x.rd, Imm::new(0, 8, bytes).sh(x.imm4));
}

/// `SIMD_TBL`: TBL/TBX with 1-4 table registers.
pub fn simd_tbl(b: &mut Builder, x: f::SIMD_TBL) {
    let bytes = if x.Q != 0 { 16 } else { 8 };
    let idx = b.read_v(x.rm);
    let mut acc = if x.op != 0 {
        let d = b.read_v(x.rd);
        if bytes == 8 {
            let m = b.konst(Ty::I128, u64::MAX as u128);
            b.bin(BinOp::And, d, m)
        } else {
            d
        }
    } else {
        b.konst(Ty::I128, 0)
    };
    for k in 0..=x.len {
        let t = b.read_v((x.rn + k) % 32);
        match call3(b, &TBL_STEP, &[acc, t, idx], Imm::new(0, 8, bytes).sh(k)) {
            Some(r) => acc = r,
            None => return b.undef(),
        }
    }
    b.write_v(x.rd, acc);
}

// ---------------------------------------------------------------------------------
// Modified immediate.

fn mod_imm(b: &mut Builder, raw: u32) {
    let (q, op, cmode, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 12, 4),
        bits(raw, 0, 5),
    );
    let imm8 = ((bits(raw, 16, 3) << 5) | bits(raw, 5, 5)) as u8;
    if bits(raw, 11, 1) != 0 {
        return b.undef();
    }
    let Some(pattern) = perm::expand_imm(op != 0, cmode, imm8) else {
        return b.undef();
    };
    let logical = cmode & 1 == 1 && cmode < 12;
    let kind = match (op, logical, cmode) {
        (_, _, 0b1110) => ModImm::Movi,
        (0, true, _) => ModImm::Orr,
        (0, false, _) => ModImm::Movi,
        (_, true, _) => ModImm::Bic,
        _ => ModImm::Mvni,
    };
    let bytes = if q != 0 { 16 } else { 8 };
    match kind {
        ModImm::Movi | ModImm::Mvni => {
            let v = perm::mod_imm(kind, bytes, pattern, 0);
            let k = b.konst(Ty::I128, v);
            b.write_v(rd, k);
        }
        ModImm::Orr | ModImm::Bic => {
            let d = b.read_v(rd);
            let all = perm::mod_imm(ModImm::Movi, 16, pattern, 0);
            let r = if kind == ModImm::Orr {
                let k = b.konst(Ty::I128, all);
                b.bin(BinOp::Or, d, k)
            } else {
                let k = b.konst(Ty::I128, !all);
                b.bin(BinOp::And, d, k)
            };
            let r = if bytes == 8 {
                let m = b.konst(Ty::I128, u64::MAX as u128);
                b.bin(BinOp::And, r, m)
            } else {
                r
            };
            b.write_v(rd, r);
        }
    }
}

/// `SIMD_MODIMM_A` (cmode 0xxx).
pub fn simd_modimm_a(b: &mut Builder, x: f::SIMD_MODIMM_A) {
    mod_imm(b, x.raw)
}
/// `SIMD_MODIMM_B` (cmode 10xx).
pub fn simd_modimm_b(b: &mut Builder, x: f::SIMD_MODIMM_B) {
    mod_imm(b, x.raw)
}
/// `SIMD_MODIMM_C` (cmode 110x).
pub fn simd_modimm_c(b: &mut Builder, x: f::SIMD_MODIMM_C) {
    mod_imm(b, x.raw)
}
/// `SIMD_MODIMM_D` (cmode 1110).
pub fn simd_modimm_d(b: &mut Builder, x: f::SIMD_MODIMM_D) {
    mod_imm(b, x.raw)
}

// ---------------------------------------------------------------------------------
// Shift by immediate (vector and scalar).

fn shift_by_imm(b: &mut Builder, raw: u32, scalar: bool) {
    use ShiftImm::*;
    let (q, u, immh, immb, opcode, rn, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 19, 4),
        bits(raw, 16, 3),
        bits(raw, 11, 5),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    if immh == 0 {
        return b.undef();
    }
    let hsb = 31 - immh.leading_zeros(); // 0..3
    let esize = 8u32 << hsb;
    let immhb = (immh << 3) | immb;
    let rshift = 2 * esize - immhb;
    let lshift = immhb - esize;
    let lanes = if scalar { 1 } else { vlanes(q, esize) };
    let same = |b: &mut Builder, op: ShiftImm, sh: u32| {
        // Non-saturating scalar shifts exist for D only; 64-bit vectors need Q=1.
        let sat = matches!(op, Sqshl | Uqshl | Sqshlu);
        if (scalar && !sat && esize != 64) || (!scalar && esize == 64 && q == 0) {
            return b.undef();
        }
        nd(b, &SHIFT, rn, rd, Imm::new(op as u8, esize, lanes).sh(sh));
    };
    match (u, opcode) {
        (_, 0b00000) => same(b, if u == 0 { Sshr } else { Ushr }, rshift),
        (_, 0b00010) => same(b, if u == 0 { Ssra } else { Usra }, rshift),
        (_, 0b00100) => same(b, if u == 0 { Srshr } else { Urshr }, rshift),
        (_, 0b00110) => same(b, if u == 0 { Srsra } else { Ursra }, rshift),
        (1, 0b01000) => same(b, Sri, rshift),
        (_, 0b01010) => same(b, if u == 0 { Shl } else { Sli }, lshift),
        (1, 0b01100) => same(b, Sqshlu, lshift),
        (_, 0b01110) => same(b, if u == 0 { Sqshl } else { Uqshl }, lshift),
        (_, 0b10000..=0b10011) => {
            use ShiftNarrow::*;
            if esize == 64 {
                return b.undef();
            }
            let op = match (u, opcode) {
                (0, 0b10000) => Shrn,
                (0, 0b10001) => Rshrn,
                (0, 0b10010) => Sqshrn,
                (0, _) => Sqrshrn,
                (_, 0b10000) => Sqshrun,
                (_, 0b10001) => Sqrshrun,
                (_, 0b10010) => Uqshrn,
                _ => Uqrshrn,
            };
            if scalar && matches!(op, Shrn | Rshrn) {
                return b.undef();
            }
            let lanes = if scalar { 1 } else { (64 / esize) as usize };
            nd(
                b,
                &SHIFT_NARROW,
                rn,
                rd,
                Imm::new(op as u8, esize, lanes)
                    .part2(q != 0 && !scalar)
                    .sh(rshift),
            );
        }
        (_, 0b10100) if !scalar => {
            if esize == 64 {
                return b.undef();
            }
            n1(
                b,
                &SHIFT_LONG,
                rn,
                rd,
                Imm::new((u == 0) as u8, esize, 0).part2(q != 0).sh(lshift),
            );
        }
        _ => b.undef(),
    }
}

/// `SIMD_SHIFT_A` (opcodes 0xxxx).
pub fn simd_shift_a(b: &mut Builder, x: f::SIMD_SHIFT_A) {
    shift_by_imm(b, x.raw, false)
}
/// `SIMD_SHIFT_B` (opcodes 100xx).
pub fn simd_shift_b(b: &mut Builder, x: f::SIMD_SHIFT_B) {
    shift_by_imm(b, x.raw, false)
}
/// `SIMD_SHIFT_C` (opcode 10100: SSHLL/USHLL).
pub fn simd_shift_c(b: &mut Builder, x: f::SIMD_SHIFT_C) {
    shift_by_imm(b, x.raw, false)
}
/// `SIMD_SSHIFT_A` (scalar, opcodes 0xxxx).
pub fn simd_sshift_a(b: &mut Builder, x: f::SIMD_SSHIFT_A) {
    shift_by_imm(b, x.raw, true)
}
/// `SIMD_SSHIFT_B` (scalar, opcodes 100xx).
pub fn simd_sshift_b(b: &mut Builder, x: f::SIMD_SSHIFT_B) {
    shift_by_imm(b, x.raw, true)
}

// ---------------------------------------------------------------------------------
// By element.

fn by_element(b: &mut Builder, raw: u32, scalar: bool) {
    let (q, u, size, l, m, rm4, opcode, h, rn, rd) = (
        bits(raw, 30, 1),
        bits(raw, 29, 1),
        bits(raw, 22, 2),
        bits(raw, 21, 1),
        bits(raw, 20, 1),
        bits(raw, 16, 4),
        bits(raw, 12, 4),
        bits(raw, 11, 1),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let (index, rm) = match size {
        1 => ((h << 2) | (l << 1) | m, rm4),
        2 => ((h << 1) | l, (m << 4) | rm4),
        _ => return b.undef(),
    };
    let esize = esize_of(size);
    let same = |b: &mut Builder, op: ThreeSame| {
        let lanes = if scalar { 1 } else { vlanes(q, esize) };
        nmd(
            b,
            &THREE_SAME,
            rn,
            rm,
            rd,
            Imm::new(op as u8, esize, lanes).elem(index),
        );
    };
    let long = |b: &mut Builder, op: ThreeDiff| {
        let lanes = if scalar { 1 } else { (64 / esize) as usize };
        nmd(
            b,
            &THREE_DIFF,
            rn,
            rm,
            rd,
            Imm::new(op as u8, esize, lanes)
                .part2(q != 0 && !scalar)
                .elem(index),
        );
    };
    match (u, opcode) {
        (1, 0b0000) if !scalar => same(b, ThreeSame::Mla),
        (1, 0b0100) if !scalar => same(b, ThreeSame::Mls),
        (0, 0b1000) if !scalar => same(b, ThreeSame::Mul),
        (0, 0b1100) => same(b, ThreeSame::Sqdmulh),
        (0, 0b1101) => same(b, ThreeSame::Sqrdmulh),
        (_, 0b0010) if !scalar => long(
            b,
            if u == 0 {
                ThreeDiff::Smlal
            } else {
                ThreeDiff::Umlal
            },
        ),
        (_, 0b0110) if !scalar => long(
            b,
            if u == 0 {
                ThreeDiff::Smlsl
            } else {
                ThreeDiff::Umlsl
            },
        ),
        (_, 0b1010) if !scalar => long(
            b,
            if u == 0 {
                ThreeDiff::Smull
            } else {
                ThreeDiff::Umull
            },
        ),
        (0, 0b0011) => long(b, ThreeDiff::Sqdmlal),
        (0, 0b0111) => long(b, ThreeDiff::Sqdmlsl),
        (0, 0b1011) => long(b, ThreeDiff::Sqdmull),
        _ => b.undef(),
    }
}

macro_rules! elem_handlers {
    ($($(#[$m:meta])* $name:ident: $fields:ident, $scalar:expr;)*) => {
        $(
            $(#[$m])*
            pub fn $name(b: &mut Builder, x: f::$fields) {
                by_element(b, x.raw, $scalar)
            }
        )*
    };
}

elem_handlers! {
    /// `SIMD_ELEM_MLA`: MLA/MLS by element.
    simd_elem_mla: SIMD_ELEM_MLA, false;
    /// `SIMD_ELEM_MUL`: MUL by element.
    simd_elem_mul: SIMD_ELEM_MUL, false;
    /// `SIMD_ELEM_LONG_A`: SMLAL/UMLAL/SMLSL/UMLSL by element.
    simd_elem_long_a: SIMD_ELEM_LONG_A, false;
    /// `SIMD_ELEM_LONG_B`: SMULL/UMULL by element.
    simd_elem_long_b: SIMD_ELEM_LONG_B, false;
    /// `SIMD_ELEM_SQD_A`: SQDMLAL/SQDMLSL by element.
    simd_elem_sqd_a: SIMD_ELEM_SQD_A, false;
    /// `SIMD_ELEM_SQD_B`: SQDMULL by element.
    simd_elem_sqd_b: SIMD_ELEM_SQD_B, false;
    /// `SIMD_ELEM_QDMULH`: SQDMULH/SQRDMULH by element.
    simd_elem_qdmulh: SIMD_ELEM_QDMULH, false;
    /// `SIMD_SELEM_SQD_A`: scalar SQDMLAL/SQDMLSL by element.
    simd_selem_sqd_a: SIMD_SELEM_SQD_A, true;
    /// `SIMD_SELEM_SQD_B`: scalar SQDMULL by element.
    simd_selem_sqd_b: SIMD_SELEM_SQD_B, true;
    /// `SIMD_SELEM_QDMULH`: scalar SQDMULH/SQRDMULH by element.
    simd_selem_qdmulh: SIMD_SELEM_QDMULH, true;
}

// ---------------------------------------------------------------------------------
// Load/store structures.

/// Base address and the post-index write-back (if any) for a structure access.
fn post_index(b: &mut Builder, post: bool, rn: u32, rm: u32, base: Temp, bytes: u64) {
    if !post {
        return;
    }
    let off = if rm == 31 {
        b.k64(bytes)
    } else {
        b.read_x(rm, true)
    };
    let nb = b.bin(BinOp::Add, base, off);
    b.write_xsp(rn, nb);
}

fn addr_plus(b: &mut Builder, base: Temp, off: u64) -> Temp {
    if off == 0 {
        base
    } else {
        b.bini(BinOp::Add, base, off as u128)
    }
}

/// LD1-LD4 / ST1-ST4 (multiple structures).
fn ldst_multiple(b: &mut Builder, raw: u32, post: bool) {
    let (q, load, rm, opcode, size, rn, rt) = (
        bits(raw, 30, 1),
        bits(raw, 22, 1) != 0,
        bits(raw, 16, 5),
        bits(raw, 12, 4),
        bits(raw, 10, 2),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    let (rpt, selem) = match opcode {
        0b0000 => (1, 4),
        0b0010 => (4, 1),
        0b0100 => (1, 3),
        0b0110 => (3, 1),
        0b0111 => (1, 1),
        0b1000 => (1, 2),
        0b1010 => (2, 1),
        _ => return b.undef(),
    };
    if size == 3 && q == 0 && selem != 1 {
        return b.undef();
    }
    if !post && rm != 0 {
        return b.undef();
    }
    let esize = esize_of(size);
    let bytes = if q != 0 { 16u64 } else { 8 };
    let lanes = (bytes * 8 / esize as u64) as usize;
    let nregs = (rpt * selem) as u32;
    let base = b.read_xsp(rn, true);
    let attr = MemAttr::plain(bytes as u8);
    let reg = |k: u32| (rt + k) % 32;
    if load {
        let chunks: [Option<Temp>; 4] = core::array::from_fn(|_| None);
        let mut chunks = chunks;
        for (k, c) in chunks.iter_mut().enumerate().take(nregs as usize) {
            let a = addr_plus(b, base, k as u64 * bytes);
            *c = Some(b.load(a, attr, Ty::I128));
        }
        let c: [Temp; 4] = core::array::from_fn(|k| chunks[k].unwrap_or(base));
        let imm = |op: Permute| Imm::new(op as u8, esize, lanes);
        let mut out: [Temp; 4] = c;
        match selem {
            1 => {}
            2 => {
                out[0] = call3(b, &PERMUTE, &[c[0], c[1]], imm(Permute::Uzp1)).unwrap_or(c[0]);
                out[1] = call3(b, &PERMUTE, &[c[0], c[1]], imm(Permute::Uzp2)).unwrap_or(c[1]);
            }
            3 => {
                for (k, o) in out.iter_mut().enumerate().take(3) {
                    let i = Imm::new(0, esize, lanes).sh(k as u32);
                    *o = call3(b, &DEINTERLEAVE3, &[c[0], c[1], c[2]], i).unwrap_or(c[k]);
                }
            }
            _ => {
                let p =
                    |b: &mut Builder, op, x, y| call3(b, &PERMUTE, &[x, y], imm(op)).unwrap_or(x);
                let t0 = p(b, Permute::Uzp1, c[0], c[1]);
                let t1 = p(b, Permute::Uzp2, c[0], c[1]);
                let t2 = p(b, Permute::Uzp1, c[2], c[3]);
                let t3 = p(b, Permute::Uzp2, c[2], c[3]);
                out[0] = p(b, Permute::Uzp1, t0, t2);
                out[1] = p(b, Permute::Uzp1, t1, t3);
                out[2] = p(b, Permute::Uzp2, t0, t2);
                out[3] = p(b, Permute::Uzp2, t1, t3);
            }
        }
        for (k, o) in out.iter().enumerate().take(nregs as usize) {
            b.write_v(reg(k as u32), *o);
        }
    } else {
        let r: [Temp; 4] =
            core::array::from_fn(|k| k as u32)
                .map(|k| if k < nregs { b.read_v(reg(k)) } else { base });
        let imm = |op: Permute| Imm::new(op as u8, esize, lanes);
        let mut out = r;
        match selem {
            1 => {}
            2 => {
                out[0] = call3(b, &PERMUTE, &[r[0], r[1]], imm(Permute::Zip1)).unwrap_or(r[0]);
                out[1] = call3(b, &PERMUTE, &[r[0], r[1]], imm(Permute::Zip2)).unwrap_or(r[1]);
            }
            3 => {
                for (j, o) in out.iter_mut().enumerate().take(3) {
                    let i = Imm::new(0, esize, lanes).sh(j as u32);
                    *o = call3(b, &INTERLEAVE3, &[r[0], r[1], r[2]], i).unwrap_or(r[j]);
                }
            }
            _ => {
                let p =
                    |b: &mut Builder, op, x, y| call3(b, &PERMUTE, &[x, y], imm(op)).unwrap_or(x);
                let u0 = p(b, Permute::Zip1, r[0], r[2]);
                let v0 = p(b, Permute::Zip1, r[1], r[3]);
                let u1 = p(b, Permute::Zip2, r[0], r[2]);
                let v1 = p(b, Permute::Zip2, r[1], r[3]);
                out[0] = p(b, Permute::Zip1, u0, v0);
                out[1] = p(b, Permute::Zip2, u0, v0);
                out[2] = p(b, Permute::Zip1, u1, v1);
                out[3] = p(b, Permute::Zip2, u1, v1);
            }
        }
        for (k, o) in out.iter().enumerate().take(nregs as usize) {
            let a = addr_plus(b, base, k as u64 * bytes);
            b.store(a, *o, attr);
        }
    }
    post_index(b, post, rn, rm, base, bytes * nregs as u64);
}

/// LD1-LD4 / ST1-ST4 (single structure) and LD1R-LD4R.
fn ldst_single(b: &mut Builder, raw: u32, post: bool) {
    let (q, load, r, rm, opcode, s, size, rn, rt) = (
        bits(raw, 30, 1),
        bits(raw, 22, 1) != 0,
        bits(raw, 21, 1),
        bits(raw, 16, 5),
        bits(raw, 13, 3),
        bits(raw, 12, 1),
        bits(raw, 10, 2),
        bits(raw, 5, 5),
        bits(raw, 0, 5),
    );
    if !post && rm != 0 {
        return b.undef();
    }
    let selem = (((opcode & 1) << 1) | r) + 1;
    let mut scale = opcode >> 1;
    let mut replicate = false;
    let mut index = 0;
    match scale {
        3 => {
            if !load || s != 0 {
                return b.undef();
            }
            scale = size;
            replicate = true;
        }
        0 => index = (q << 3) | (s << 2) | size,
        1 => {
            if size & 1 != 0 {
                return b.undef();
            }
            index = (q << 2) | (s << 1) | (size >> 1);
        }
        _ => {
            if size & 2 != 0 {
                return b.undef();
            }
            if size & 1 == 0 {
                index = (q << 1) | s;
            } else {
                if s != 0 {
                    return b.undef();
                }
                index = q;
                scale = 3;
            }
        }
    }
    let esize = 8u32 << scale;
    let ebytes = (esize / 8) as u64;
    let base = b.read_xsp(rn, true);
    let attr = MemAttr::plain(ebytes as u8);
    let reg = |k: u32| (rt + k) % 32;
    if load {
        let mut vals = [base; 4];
        for (k, v) in vals.iter_mut().enumerate().take(selem as usize) {
            let a = addr_plus(b, base, k as u64 * ebytes);
            *v = b.load(a, attr, Ty::I64);
        }
        for (k, v) in vals.iter().enumerate().take(selem as usize) {
            let t = reg(k as u32);
            let res = if replicate {
                call3(b, &DUP_GEN, &[*v], Imm::new(0, esize, vlanes(q, esize)))
            } else {
                let d = b.read_v(t);
                call3(b, &INS_GEN, &[*v, d], Imm::new(0, esize, 0).sh(index))
            };
            if let Some(res) = res {
                b.write_v(t, res);
            }
        }
    } else {
        for k in 0..selem {
            let n = b.read_v(reg(k));
            if let Some(v) = call3(b, &UMOV, &[n], Imm::new(0, esize, 0).sh(index)) {
                let a = addr_plus(b, base, k as u64 * ebytes);
                b.store(a, v, attr);
            }
        }
    }
    post_index(b, post, rn, rm, base, ebytes * selem as u64);
}

/// `SIMD_LDST_MULT` (no write-back).
pub fn simd_ldst_mult(b: &mut Builder, x: f::SIMD_LDST_MULT) {
    ldst_multiple(b, x.raw, false)
}
/// `SIMD_LDST_MULT_POST`.
pub fn simd_ldst_mult_post(b: &mut Builder, x: f::SIMD_LDST_MULT_POST) {
    ldst_multiple(b, x.raw, true)
}
/// `SIMD_LDST_SINGLE` (no write-back).
pub fn simd_ldst_single(b: &mut Builder, x: f::SIMD_LDST_SINGLE) {
    ldst_single(b, x.raw, false)
}
/// `SIMD_LDST_SINGLE_POST`.
pub fn simd_ldst_single_post(b: &mut Builder, x: f::SIMD_LDST_SINGLE_POST) {
    ldst_single(b, x.raw, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_tables_match_discriminants() {
        for (i, op) in THREE_SAME_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in THREE_DIFF_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in TWO_MISC_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in NARROW_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in ACROSS_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in SHIFT_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in SHIFT_NARROW_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
        for (i, op) in PERMUTE_OPS.iter().enumerate() {
            assert_eq!(*op as usize, i);
        }
    }

    #[test]
    fn imm_round_trip() {
        let i = Imm::new(54, 64, 16).part2(true).elem(7).idx2(15);
        assert_eq!(Imm::unpack(i.pack()), i);
    }
}
