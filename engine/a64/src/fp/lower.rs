//! Lowering of the floating-point instructions (tables/fp.tbl) to IR.
//!
//! Bit moves (FMOV, FABS, FNEG, FCSEL) are plain IR; everything that rounds, compares or
//! may raise an FP exception is a call of one of the helpers below, whose immediate
//! selects the operation, the format and the lane layout. The helpers run the exact
//! softfloat library with the guest's FPCR and accumulate the guest's FPSR.

use super::vec::{self, Op1, Op2};
use super::{convert, from_fixed, to_fixed, Fmt, Rounding};
use crate::decode::fields as fl;
use crate::ir::{BinOp, Helper, Reg, Temp, Ty};
use crate::lower::Builder;
use crate::state::Cpu;

// ---------------------------------------------------------------------------------------
// Immediate encodings shared by handlers and helpers.

const fn fcode(f: Fmt) -> u64 {
    match f {
        Fmt::H => 0,
        Fmt::S => 1,
        Fmt::D => 2,
    }
}

fn fdec(c: u64) -> Fmt {
    match c & 3 {
        0 => Fmt::H,
        1 => Fmt::S,
        _ => Fmt::D,
    }
}

/// Rounding codes in immediates; `RM_FPCR` means "the mode in FPCR".
const RM_FPCR: u64 = 7;

const fn rcode(r: Rounding) -> u64 {
    match r {
        Rounding::TieEven => 0,
        Rounding::PosInf => 1,
        Rounding::NegInf => 2,
        Rounding::Zero => 3,
        Rounding::TieAway => 4,
        Rounding::Odd => 5,
    }
}

fn rdec(c: u64, fpcr: u32) -> Rounding {
    match c & 7 {
        0 => Rounding::TieEven,
        1 => Rounding::PosInf,
        2 => Rounding::NegInf,
        3 => Rounding::Zero,
        4 => Rounding::TieAway,
        5 => Rounding::Odd,
        _ => Rounding::from_fpcr(fpcr),
    }
}

#[inline]
fn arg(a: u128, f: Fmt) -> u64 {
    a as u64 & f.mask()
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Scalar two-operand op. imm: op | fmt << 8.
fn h_s2(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let Some(op) = Op2::from_u8(imm as u8) else {
        return 0;
    };
    let r = vec::op2(
        op,
        f,
        arg(a[0], f),
        arg(a[1], f),
        0,
        cpu.fpcr,
        &mut cpu.fpsr,
    );
    r as u128
}
/// Scalar FP two-operand operations (FADD, FMUL, FCMEQ, ...).
pub static FP_S2: Helper = Helper {
    name: "fp::s2",
    func: h_s2,
    ret: Some(Ty::I64),
    args: &[Ty::I64, Ty::I64],
};

/// Scalar fused multiply-add: addend a[0], factors a[1], a[2].
/// imm: fmt | negate addend << 8 | negate first factor << 9.
fn h_s3(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let mut acc = arg(a[0], f);
    let mut n = arg(a[1], f);
    if imm >> 8 & 1 != 0 {
        acc = f.neg(acc);
    }
    if imm >> 9 & 1 != 0 {
        n = f.neg(n);
    }
    super::mul_add(f, acc, n, arg(a[2], f), cpu.fpcr, &mut cpu.fpsr) as u128
}
/// FMADD, FMSUB, FNMADD, FNMSUB.
pub static FP_S3: Helper = Helper {
    name: "fp::s3",
    func: h_s3,
    ret: Some(Ty::I64),
    args: &[Ty::I64, Ty::I64, Ty::I64],
};

/// Scalar one-operand op. imm: op | fmt << 8.
fn h_s1(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let Some(op) = Op1::from_u8(imm as u8) else {
        return 0;
    };
    vec::op1(op, f, arg(a[0], f), cpu.fpcr, &mut cpu.fpsr) as u128
}
/// Scalar FP one-operand operations (FSQRT, FRINT*, FRECPE, FCMxx #0, ...).
pub static FP_S1: Helper = Helper {
    name: "fp::s1",
    func: h_s1,
    ret: Some(Ty::I64),
    args: &[Ty::I64],
};

/// FCMP/FCMPE: NZCV in bits 31..28. imm: fmt | signal << 8.
fn h_cmp(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let r = super::compare(
        f,
        arg(a[0], f),
        arg(a[1], f),
        imm >> 8 & 1 != 0,
        cpu.fpcr,
        &mut cpu.fpsr,
    );
    (r as u128) << 28
}
/// FCMP, FCMPE.
pub static FP_CMP: Helper = Helper {
    name: "fp::cmp",
    func: h_cmp,
    ret: Some(Ty::I32),
    args: &[Ty::I64, Ty::I64],
};

/// FCCMP/FCCMPE: compare if a[2] != 0, else the immediate flags.
/// imm: fmt | signal << 8 | nzcv << 12.
fn h_ccmp(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    if a[2] & 1 == 0 {
        return ((imm >> 12 & 15) as u128) << 28;
    }
    h_cmp(cpu, a, imm)
}
/// FCCMP, FCCMPE.
pub static FP_CCMP: Helper = Helper {
    name: "fp::ccmp",
    func: h_ccmp,
    ret: Some(Ty::I32),
    args: &[Ty::I64, Ty::I64, Ty::I8],
};

/// Precision conversion. imm: from | to << 4 | rounding << 8.
fn h_cvt(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let from = fdec(imm);
    let to = fdec(imm >> 4);
    let rm = rdec(imm >> 8, cpu.fpcr);
    convert(from, to, arg(a[0], from), rm, cpu.fpcr, &mut cpu.fpsr) as u128
}
/// FCVT (scalar, between precisions), FCVTXN (scalar).
pub static FP_CVT: Helper = Helper {
    name: "fp::cvt",
    func: h_cvt,
    ret: Some(Ty::I64),
    args: &[Ty::I64],
};

/// FP to fixed point. imm: fmt | rounding << 4 | unsigned << 8 | width << 16 | fbits << 24.
fn h_toint(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let rm = rdec(imm >> 4, cpu.fpcr);
    let unsigned = imm >> 8 & 1 != 0;
    let width = (imm >> 16 & 0xff) as u32;
    let fbits = (imm >> 24 & 0xff) as u32;
    to_fixed(
        f,
        arg(a[0], f),
        fbits,
        unsigned,
        width,
        rm,
        cpu.fpcr,
        &mut cpu.fpsr,
    ) as u128
}
/// FCVT{N,A,P,M,Z}{S,U} (scalar, to general or SIMD register, incl. fixed point).
pub static FP_TOINT: Helper = Helper {
    name: "fp::toint",
    func: h_toint,
    ret: Some(Ty::I64),
    args: &[Ty::I64],
};

/// Fixed point to FP (FPCR rounding). imm: fmt | unsigned << 8 | width << 16 | fbits << 24.
fn h_fromint(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let unsigned = imm >> 8 & 1 != 0;
    let width = (imm >> 16 & 0xff) as u32;
    let fbits = (imm >> 24 & 0xff) as u32;
    let rm = Rounding::from_fpcr(cpu.fpcr);
    from_fixed(
        f,
        a[0] as u64,
        fbits,
        unsigned,
        width,
        rm,
        cpu.fpcr,
        &mut cpu.fpsr,
    ) as u128
}
/// SCVTF, UCVTF (scalar, from general or SIMD register, incl. fixed point).
pub static FP_FROMINT: Helper = Helper {
    name: "fp::fromint",
    func: h_fromint,
    ret: Some(Ty::I64),
    args: &[Ty::I64],
};

/// Vector element-wise two-operand op; a[2] is the FMLA/FMLS accumulator.
/// imm: op | fmt << 8 | bytes << 12.
fn h_v2(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let bytes = (imm >> 12 & 0x1f) as u32;
    let Some(op) = Op2::from_u8(imm as u8) else {
        return 0;
    };
    vec::map2(op, f, bytes, a[0], a[1], a[2], cpu.fpcr, &mut cpu.fpsr)
}
/// Vector three-same FP operations.
pub static FP_V2: Helper = Helper {
    name: "fp::v2",
    func: h_v2,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128, Ty::I128],
};

/// By-element op: second operand is lane `index` of a[1]; a[2] the accumulator.
/// imm: op | fmt << 8 | bytes << 12 | index << 20.
fn h_v2e(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let bytes = (imm >> 12 & 0x1f) as u32;
    let idx = (imm >> 20 & 0xf) as usize;
    let Some(op) = Op2::from_u8(imm as u8) else {
        return 0;
    };
    let e = vec::lane(a[1], f, idx);
    vec::map2_elem(op, f, bytes, a[0], e, a[2], cpu.fpcr, &mut cpu.fpsr)
}
/// FMLA, FMLS, FMUL, FMULX (by element, vector and scalar).
pub static FP_V2E: Helper = Helper {
    name: "fp::v2e",
    func: h_v2e,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128, Ty::I128],
};

/// Pairwise op over the concatenation a[1]:a[0]. imm: op | fmt << 8 | bytes << 12.
fn h_vp(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let bytes = (imm >> 12 & 0x1f) as u32;
    let Some(op) = Op2::from_u8(imm as u8) else {
        return 0;
    };
    vec::pairwise(op, f, bytes, a[0], a[1], cpu.fpcr, &mut cpu.fpsr)
}
/// FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP (vector).
pub static FP_VP: Helper = Helper {
    name: "fp::vp",
    func: h_vp,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128],
};

/// Reduction in Arm's `Reduce` order. imm: op | fmt << 8 | bytes << 12.
fn h_vred(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let bytes = (imm >> 12 & 0x1f) as u32;
    let Some(op) = Op2::from_u8(imm as u8) else {
        return 0;
    };
    vec::reduce(op, f, bytes, a[0], cpu.fpcr, &mut cpu.fpsr) as u128
}
/// FMAXV, FMINV, FMAXNMV, FMINNMV and the scalar pairwise forms.
pub static FP_VRED: Helper = Helper {
    name: "fp::vred",
    func: h_vred,
    ret: Some(Ty::I64),
    args: &[Ty::I128],
};

/// Vector one-operand op. imm: op | fmt << 8 | bytes << 12.
fn h_v1(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm >> 8);
    let bytes = (imm >> 12 & 0x1f) as u32;
    let Some(op) = Op1::from_u8(imm as u8) else {
        return 0;
    };
    vec::map1(op, f, bytes, a[0], cpu.fpcr, &mut cpu.fpsr)
}
/// Vector two-reg misc FP operations.
pub static FP_V1: Helper = Helper {
    name: "fp::v1",
    func: h_v1,
    ret: Some(Ty::I128),
    args: &[Ty::I128],
};

/// FCVTL(2). imm: from fmt | upper << 8.
fn h_widen(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    vec::widen(fdec(imm), imm >> 8 & 1 != 0, a[0], cpu.fpcr, &mut cpu.fpsr)
}
/// FCVTL, FCVTL2.
pub static FP_WIDEN: Helper = Helper {
    name: "fp::widen",
    func: h_widen,
    ret: Some(Ty::I128),
    args: &[Ty::I128],
};

/// FCVTN(2)/FCVTXN(2); a[1] is the old destination. imm: to fmt | upper << 8 | rounding << 12.
fn h_narrow(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let rm = rdec(imm >> 12, cpu.fpcr);
    vec::narrow(
        fdec(imm),
        imm >> 8 & 1 != 0,
        rm,
        a[0],
        a[1],
        cpu.fpcr,
        &mut cpu.fpsr,
    )
}
/// FCVTN, FCVTN2, FCVTXN, FCVTXN2.
pub static FP_NARROW: Helper = Helper {
    name: "fp::narrow",
    func: h_narrow,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128],
};

/// Vector FP to fixed point. imm: fmt | rounding << 4 | unsigned << 8 | bytes << 12 | fbits << 20.
fn h_vtoint(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let rm = rdec(imm >> 4, cpu.fpcr);
    let unsigned = imm >> 8 & 1 != 0;
    let bytes = (imm >> 12 & 0x1f) as u32;
    let fbits = (imm >> 20 & 0xff) as u32;
    vec::to_int_lanes(f, bytes, a[0], fbits, unsigned, rm, cpu.fpcr, &mut cpu.fpsr)
}
/// FCVT{N,A,P,M,Z}{S,U} (vector, incl. fixed point).
pub static FP_VTOINT: Helper = Helper {
    name: "fp::vtoint",
    func: h_vtoint,
    ret: Some(Ty::I128),
    args: &[Ty::I128],
};

/// Vector fixed point to FP. imm: fmt | unsigned << 8 | bytes << 12 | fbits << 20.
fn h_vfromint(cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let f = fdec(imm);
    let unsigned = imm >> 8 & 1 != 0;
    let bytes = (imm >> 12 & 0x1f) as u32;
    let fbits = (imm >> 20 & 0xff) as u32;
    vec::from_int_lanes(f, bytes, a[0], fbits, unsigned, cpu.fpcr, &mut cpu.fpsr)
}
/// SCVTF, UCVTF (vector, incl. fixed point).
pub static FP_VFROMINT: Helper = Helper {
    name: "fp::vfromint",
    func: h_vfromint,
    ret: Some(Ty::I128),
    args: &[Ty::I128],
};

/// URECPE / URSQRTE (imm bit 0) on 32-bit lanes; imm bytes << 12.
fn h_uest(_cpu: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let bytes = (imm >> 12 & 0x1f) as u32;
    let mut r = 0;
    for i in 0..vec::lanes(Fmt::S, bytes) {
        let x = vec::lane(a[0], Fmt::S, i) as u32;
        let y = if imm & 1 != 0 {
            super::ursqrte(x)
        } else {
            super::urecpe(x)
        };
        r = vec::set_lane(r, Fmt::S, i, y as u64);
    }
    r
}
/// URECPE, URSQRTE.
pub static FP_UEST: Helper = Helper {
    name: "fp::uest",
    func: h_uest,
    ret: Some(Ty::I128),
    args: &[Ty::I128],
};

// ---------------------------------------------------------------------------------------
// Lowering utilities.

/// Scalar format from the `ftype` field for arithmetic (v8.0: single and double only).
fn arith_fmt(ftype: u32) -> Option<Fmt> {
    match ftype {
        0 => Some(Fmt::S),
        1 => Some(Fmt::D),
        _ => None,
    }
}

/// Scalar format from `ftype` including half precision (FCVT only).
fn any_fmt(ftype: u32) -> Option<Fmt> {
    match ftype {
        0 => Some(Fmt::S),
        1 => Some(Fmt::D),
        3 => Some(Fmt::H),
        _ => None,
    }
}

fn sz_fmt(sz: u32) -> Fmt {
    if sz == 0 {
        Fmt::S
    } else {
        Fmt::D
    }
}

/// The low `f.bits()` of V`n`, zero-extended to I64.
fn scalar(b: &mut Builder, n: u32, f: Fmt) -> Temp {
    let v = b.read_v(n);
    let t = match f {
        Fmt::H => Ty::I16,
        Fmt::S => Ty::I32,
        Fmt::D => Ty::I64,
    };
    let v = b.zext(v, t);
    b.zext(v, Ty::I64)
}

/// Calls a helper; an impossible verifier mismatch becomes UNDEF rather than a panic.
fn call(b: &mut Builder, h: &'static Helper, args: &[Temp], imm: u64) -> Option<Temp> {
    let r = b.call(h, args, imm);
    if r.is_none() {
        b.undef();
    }
    r
}

fn op2imm(op: Op2, f: Fmt) -> u64 {
    op as u64 | fcode(f) << 8
}

fn vimm(op: u64, f: Fmt, bytes: u32) -> u64 {
    op | fcode(f) << 8 | (bytes as u64) << 12
}

/// Replicates a lane value over `bytes` of a 128-bit vector.
fn replicate(f: Fmt, bytes: u32, x: u64) -> u128 {
    let mut r = 0u128;
    for i in 0..vec::lanes(f, bytes) {
        r = vec::set_lane(r, f, i, x);
    }
    r
}

/// Sign-bit mask over all lanes of `bytes`.
fn sign_mask(f: Fmt, bytes: u32) -> u128 {
    replicate(f, bytes, f.sign_bit())
}

// ---------------------------------------------------------------------------------------
// Scalar floating point (Arm ARM C4.1.96: floating-point data processing).

/// FCVTZS/FCVTZU/SCVTF/UCVTF (scalar, fixed point, general register).
pub fn cvt_fixed(b: &mut Builder, x: fl::FP_CVT_FIXED) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let sf = x.sf != 0;
    if !sf && x.scale & 0x20 == 0 {
        return b.undef();
    }
    let fbits = 64 - x.scale as u64;
    let width: u64 = if sf { 64 } else { 32 };
    match (x.rmode, x.opcode) {
        (3, 0) | (3, 1) => {
            let n = scalar(b, x.rn, f);
            let imm = fcode(f)
                | rcode(Rounding::Zero) << 4
                | (x.opcode as u64) << 8
                | width << 16
                | fbits << 24;
            let Some(r) = call(b, &FP_TOINT, &[n], imm) else {
                return;
            };
            let r = if sf { r } else { b.zext(r, Ty::I32) };
            b.write_x(x.rd, r);
        }
        (0, 2) | (0, 3) => {
            let v = b.read_x(x.rn, sf);
            let v = b.zext(v, Ty::I64);
            let imm = fcode(f) | ((x.opcode & 1) as u64) << 8 | width << 16 | fbits << 24;
            let Some(r) = call(b, &FP_FROMINT, &[v], imm) else {
                return;
            };
            b.write_v(x.rd, r);
        }
        _ => b.undef(),
    }
}

/// FCVT*S/U, SCVTF/UCVTF and FMOV between FP and general registers.
pub fn cvt_int(b: &mut Builder, x: fl::FP_CVT_INT) {
    let sf = x.sf != 0;
    let width: u64 = if sf { 64 } else { 32 };
    match x.opcode {
        0 | 1 | 4 | 5 => {
            let Some(f) = arith_fmt(x.ftype) else {
                return b.undef();
            };
            let rm = if x.opcode >= 4 {
                if x.rmode != 0 {
                    return b.undef();
                }
                Rounding::TieAway
            } else {
                Rounding::from_rmode(x.rmode)
            };
            let n = scalar(b, x.rn, f);
            let imm = fcode(f) | rcode(rm) << 4 | ((x.opcode & 1) as u64) << 8 | width << 16;
            let Some(r) = call(b, &FP_TOINT, &[n], imm) else {
                return;
            };
            let r = if sf { r } else { b.zext(r, Ty::I32) };
            b.write_x(x.rd, r);
        }
        2 | 3 => {
            let Some(f) = arith_fmt(x.ftype) else {
                return b.undef();
            };
            if x.rmode != 0 {
                return b.undef();
            }
            let v = b.read_x(x.rn, sf);
            let v = b.zext(v, Ty::I64);
            let imm = fcode(f) | ((x.opcode & 1) as u64) << 8 | width << 16;
            let Some(r) = call(b, &FP_FROMINT, &[v], imm) else {
                return;
            };
            b.write_v(x.rd, r);
        }
        6 | 7 => fmov_general(b, x),
        _ => b.undef(),
    }
}

fn fmov_general(b: &mut Builder, x: fl::FP_CVT_INT) {
    let to_fp = x.opcode == 7;
    match (x.sf, x.ftype, x.rmode) {
        (0, 0, 0) => {
            if to_fp {
                let v = b.read_x(x.rn, false);
                b.write_v(x.rd, v);
            } else {
                let v = b.read_v(x.rn);
                let v = b.zext(v, Ty::I32);
                b.write_x(x.rd, v);
            }
        }
        (1, 1, 0) => {
            if to_fp {
                let v = b.read_x(x.rn, true);
                b.write_v(x.rd, v);
            } else {
                let v = b.read_v(x.rn);
                let v = b.zext(v, Ty::I64);
                b.write_x(x.rd, v);
            }
        }
        (1, 2, 1) => {
            if to_fp {
                // FMOV Vd.D[1], Xn: replaces the upper half, keeps the lower.
                let x_val = b.read_x(x.rn, true);
                let hi = b.zext(x_val, Ty::I128);
                let hi = b.bini(BinOp::Shl, hi, 64);
                let old = b.read_v(x.rd);
                let lo = b.bini(BinOp::And, old, u64::MAX as u128);
                let r = b.bin(BinOp::Or, hi, lo);
                b.write_v(x.rd, r);
            } else {
                let v = b.read_v(x.rn);
                let hi = b.bini(BinOp::LShr, v, 64);
                let hi = b.zext(hi, Ty::I64);
                b.write_x(x.rd, hi);
            }
        }
        _ => b.undef(),
    }
}

/// FMOV/FABS/FNEG/FSQRT/FCVT/FRINT* (scalar, one source).
pub fn dp1(b: &mut Builder, x: fl::FP_DP1) {
    let op = x.opcode;
    if op & 0b111100 == 0b000100 {
        // FCVT between precisions: opc<1:0> selects the destination.
        let Some(from) = any_fmt(x.ftype) else {
            return b.undef();
        };
        let Some(to) = any_fmt(op & 3) else {
            return b.undef();
        };
        if from == to {
            return b.undef();
        }
        let n = scalar(b, x.rn, from);
        let imm = fcode(from) | fcode(to) << 4 | RM_FPCR << 8;
        let Some(r) = call(b, &FP_CVT, &[n], imm) else {
            return;
        };
        return b.write_v(x.rd, r);
    }
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let n = scalar(b, x.rn, f);
    let r = match op {
        0 => n,
        1 => b.bini(BinOp::And, n, f.mask() as u128 >> 1),
        2 => b.bini(BinOp::Xor, n, f.sign_bit() as u128),
        _ => {
            let o = match op {
                3 => Op1::Sqrt,
                8 => Op1::RintN,
                9 => Op1::RintP,
                10 => Op1::RintM,
                11 => Op1::RintZ,
                12 => Op1::RintA,
                14 => Op1::RintX,
                15 => Op1::RintI,
                _ => return b.undef(),
            };
            let Some(r) = call(b, &FP_S1, &[n], o as u64 | fcode(f) << 8) else {
                return;
            };
            r
        }
    };
    b.write_v(x.rd, r);
}

/// FCMP, FCMPE (register or #0.0).
pub fn fcmp(b: &mut Builder, x: fl::FP_CMP) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let n = scalar(b, x.rn, f);
    let m = if x.opc & 1 != 0 {
        b.k64(0)
    } else {
        scalar(b, x.rm, f)
    };
    let imm = fcode(f) | ((x.opc >> 1) as u64) << 8;
    let Some(r) = call(b, &FP_CMP, &[n, m], imm) else {
        return;
    };
    b.set(Reg::Nzcv, r);
}

/// FMOV (scalar, immediate).
pub fn fmov_imm(b: &mut Builder, x: fl::FP_IMM) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let v = b.k64(vec::expand_imm(f, x.imm8 as u8));
    b.write_v(x.rd, v);
}

/// FCCMP, FCCMPE.
pub fn fccmp(b: &mut Builder, x: fl::FP_CCMP) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let n = scalar(b, x.rn, f);
    let m = scalar(b, x.rm, f);
    let c = b.cond_now(x.cond);
    let imm = fcode(f) | (x.op as u64) << 8 | (x.nzcv as u64) << 12;
    let Some(r) = call(b, &FP_CCMP, &[n, m, c], imm) else {
        return;
    };
    b.set(Reg::Nzcv, r);
}

/// FMUL, FDIV, FADD, FSUB, FMAX, FMIN, FMAXNM, FMINNM, FNMUL (scalar).
pub fn dp2(b: &mut Builder, x: fl::FP_DP2) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let op = match x.opcode {
        0 => Op2::Mul,
        1 => Op2::Div,
        2 => Op2::Add,
        3 => Op2::Sub,
        4 => Op2::Max,
        5 => Op2::Min,
        6 => Op2::MaxNm,
        7 => Op2::MinNm,
        8 => Op2::Nmul,
        _ => return b.undef(),
    };
    let n = scalar(b, x.rn, f);
    let m = scalar(b, x.rm, f);
    let Some(r) = call(b, &FP_S2, &[n, m], op2imm(op, f)) else {
        return;
    };
    b.write_v(x.rd, r);
}

/// FCSEL.
pub fn fcsel(b: &mut Builder, x: fl::FP_CSEL) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let n = scalar(b, x.rn, f);
    let m = scalar(b, x.rm, f);
    let c = b.cond_now(x.cond);
    let r = b.select(c, n, m);
    b.write_v(x.rd, r);
}

/// FMADD, FMSUB, FNMADD, FNMSUB.
pub fn dp3(b: &mut Builder, x: fl::FP_DP3) {
    let Some(f) = arith_fmt(x.ftype) else {
        return b.undef();
    };
    let (neg_a, neg_n) = match (x.o1, x.o0) {
        (0, 0) => (0, 0),
        (0, _) => (0, 1),
        (_, 0) => (1, 1),
        _ => (1, 0),
    };
    let a = scalar(b, x.ra, f);
    let n = scalar(b, x.rn, f);
    let m = scalar(b, x.rm, f);
    let imm = fcode(f) | neg_a << 8 | neg_n << 9;
    let Some(r) = call(b, &FP_S3, &[a, n, m], imm) else {
        return;
    };
    b.write_v(x.rd, r);
}

// ---------------------------------------------------------------------------------------
// AdvSIMD floating point.

/// Bytes of a vector operation, or None for the reserved 1D arrangement (Q=0, 64-bit lanes).
fn vbytes(q: u32, sz: u32) -> Option<u32> {
    match (q, sz) {
        (0, 1) => None,
        (0, _) => Some(8),
        _ => Some(16),
    }
}

enum ThreeSame {
    Map(Op2),
    Pair(Op2),
}

fn three_same_op(u: u32, a: u32, op3: u32) -> Option<ThreeSame> {
    use ThreeSame::*;
    Some(match (u, a, op3) {
        (0, 0, 0) => Map(Op2::MaxNm),
        (0, 0, 1) => Map(Op2::Mla),
        (0, 0, 2) => Map(Op2::Add),
        (0, 0, 3) => Map(Op2::Mulx),
        (0, 0, 4) => Map(Op2::CmEq),
        (0, 0, 6) => Map(Op2::Max),
        (0, 0, 7) => Map(Op2::Recps),
        (0, 1, 0) => Map(Op2::MinNm),
        (0, 1, 1) => Map(Op2::Mls),
        (0, 1, 2) => Map(Op2::Sub),
        (0, 1, 6) => Map(Op2::Min),
        (0, 1, 7) => Map(Op2::Rsqrts),
        (1, 0, 0) => Pair(Op2::MaxNm),
        (1, 0, 2) => Pair(Op2::Add),
        (1, 0, 3) => Map(Op2::Mul),
        (1, 0, 4) => Map(Op2::CmGe),
        (1, 0, 5) => Map(Op2::AcGe),
        (1, 0, 6) => Pair(Op2::Max),
        (1, 0, 7) => Map(Op2::Div),
        (1, 1, 0) => Pair(Op2::MinNm),
        (1, 1, 2) => Map(Op2::Abd),
        (1, 1, 4) => Map(Op2::CmGt),
        (1, 1, 5) => Map(Op2::AcGt),
        (1, 1, 6) => Pair(Op2::Min),
        _ => return None,
    })
}

/// AdvSIMD three same (FP, vector).
pub fn v3same(b: &mut Builder, x: fl::FPV_3SAME) {
    let Some(bytes) = vbytes(x.Q, x.sz) else {
        return b.undef();
    };
    let Some(op) = three_same_op(x.U, x.a, x.op3) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let n = b.read_v(x.rn);
    let m = b.read_v(x.rm);
    let r = match op {
        ThreeSame::Map(o) => {
            let acc = if matches!(o, Op2::Mla | Op2::Mls) {
                b.read_v(x.rd)
            } else {
                n
            };
            call(b, &FP_V2, &[n, m, acc], vimm(o as u64, f, bytes))
        }
        ThreeSame::Pair(o) => call(b, &FP_VP, &[n, m], vimm(o as u64, f, bytes)),
    };
    if let Some(r) = r {
        b.write_v(x.rd, r);
    }
}

/// AdvSIMD scalar three same (FP).
pub fn s3same(b: &mut Builder, x: fl::FPS_3SAME) {
    let op = match (x.U, x.a, x.op3) {
        (0, 0, 3) => Op2::Mulx,
        (0, 0, 4) => Op2::CmEq,
        (0, 0, 7) => Op2::Recps,
        (0, 1, 7) => Op2::Rsqrts,
        (1, 0, 4) => Op2::CmGe,
        (1, 0, 5) => Op2::AcGe,
        (1, 1, 2) => Op2::Abd,
        (1, 1, 4) => Op2::CmGt,
        (1, 1, 5) => Op2::AcGt,
        _ => return b.undef(),
    };
    let f = sz_fmt(x.sz);
    let n = scalar(b, x.rn, f);
    let m = scalar(b, x.rm, f);
    let Some(r) = call(b, &FP_S2, &[n, m], op2imm(op, f)) else {
        return;
    };
    b.write_v(x.rd, r);
}

fn cmp0_op(u: u32, op2: u32) -> Option<Op1> {
    Some(match (u, op2) {
        (0, 0) => Op1::CmGt0,
        (0, 1) => Op1::CmEq0,
        (0, 2) => Op1::CmLt0,
        (1, 0) => Op1::CmGe0,
        (1, 1) => Op1::CmLe0,
        _ => return None,
    })
}

/// AdvSIMD two-reg misc (FP, vector): FCMxx #0, FABS, FNEG.
pub fn v2misc_a(b: &mut Builder, x: fl::FPV_2MISC_A) {
    let Some(bytes) = vbytes(x.Q, x.sz) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let n = b.read_v(x.rn);
    let r = match (x.U, x.op2) {
        (0, 3) => {
            let keep = replicate(f, bytes, f.mask() >> 1);
            b.bini(BinOp::And, n, keep)
        }
        (1, 3) => {
            let r = b.bini(BinOp::Xor, n, sign_mask(f, bytes));
            if bytes == 8 {
                b.bini(BinOp::And, r, u64::MAX as u128)
            } else {
                r
            }
        }
        (u, o) => {
            let Some(op) = cmp0_op(u, o) else {
                return b.undef();
            };
            let Some(r) = call(b, &FP_V1, &[n], vimm(op as u64, f, bytes)) else {
                return;
            };
            r
        }
    };
    b.write_v(x.rd, r);
}

/// AdvSIMD two-reg misc (FP, vector): FCVTN(2), FCVTL(2), FCVTXN(2).
pub fn v2misc_b(b: &mut Builder, x: fl::FPV_2MISC_B) {
    let upper = x.Q as u64;
    let n = b.read_v(x.rn);
    let r = match (x.U, x.o) {
        (0, 1) => {
            let from = if x.sz == 0 { Fmt::H } else { Fmt::S };
            call(b, &FP_WIDEN, &[n], fcode(from) | upper << 8)
        }
        (0, 0) | (1, 0) => {
            let (to, rm) = if x.U == 1 {
                if x.sz == 0 {
                    return b.undef();
                }
                (Fmt::S, rcode(Rounding::Odd))
            } else if x.sz == 0 {
                (Fmt::H, RM_FPCR)
            } else {
                (Fmt::S, RM_FPCR)
            };
            let d = b.read_v(x.rd);
            call(b, &FP_NARROW, &[n, d], fcode(to) | upper << 8 | rm << 12)
        }
        _ => return b.undef(),
    };
    if let Some(r) = r {
        b.write_v(x.rd, r);
    }
}

enum Misc {
    One(Op1),
    ToInt(Rounding, bool),
    FromInt(bool),
    UEst(bool),
}

fn misc_c_op(u: u32, a: u32, op3: u32) -> Option<Misc> {
    use Misc::*;
    Some(match (u, a, op3) {
        (0, 0, 0) => One(Op1::RintN),
        (0, 0, 1) => One(Op1::RintM),
        (0, 0, 2) => ToInt(Rounding::TieEven, false),
        (0, 0, 3) => ToInt(Rounding::NegInf, false),
        (0, 0, 4) => ToInt(Rounding::TieAway, false),
        (0, 0, 5) => FromInt(false),
        (0, 1, 0) => One(Op1::RintP),
        (0, 1, 1) => One(Op1::RintZ),
        (0, 1, 2) => ToInt(Rounding::PosInf, false),
        (0, 1, 3) => ToInt(Rounding::Zero, false),
        (0, 1, 4) => UEst(false),
        (0, 1, 5) => One(Op1::Recpe),
        (1, 0, 0) => One(Op1::RintA),
        (1, 0, 1) => One(Op1::RintX),
        (1, 0, 2) => ToInt(Rounding::TieEven, true),
        (1, 0, 3) => ToInt(Rounding::NegInf, true),
        (1, 0, 4) => ToInt(Rounding::TieAway, true),
        (1, 0, 5) => FromInt(true),
        (1, 1, 1) => One(Op1::RintI),
        (1, 1, 2) => ToInt(Rounding::PosInf, true),
        (1, 1, 3) => ToInt(Rounding::Zero, true),
        (1, 1, 4) => UEst(true),
        (1, 1, 5) => One(Op1::Rsqrte),
        (1, 1, 7) => One(Op1::Sqrt),
        _ => return None,
    })
}

/// AdvSIMD two-reg misc (FP, vector): FRINT*, FCVT*S/U, SCVTF/UCVTF, FRECPE, FRSQRTE,
/// FSQRT, URECPE, URSQRTE.
pub fn v2misc_c(b: &mut Builder, x: fl::FPV_2MISC_C) {
    let Some(bytes) = vbytes(x.Q, x.sz) else {
        return b.undef();
    };
    let Some(op) = misc_c_op(x.U, x.a, x.op3) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let n = b.read_v(x.rn);
    let r = match op {
        Misc::One(o) => call(b, &FP_V1, &[n], vimm(o as u64, f, bytes)),
        Misc::ToInt(rm, u) => {
            let imm = fcode(f) | rcode(rm) << 4 | (u as u64) << 8 | (bytes as u64) << 12;
            call(b, &FP_VTOINT, &[n], imm)
        }
        Misc::FromInt(u) => {
            let imm = fcode(f) | (u as u64) << 8 | (bytes as u64) << 12;
            call(b, &FP_VFROMINT, &[n], imm)
        }
        Misc::UEst(rsqrt) => {
            if x.sz != 0 {
                return b.undef();
            }
            call(b, &FP_UEST, &[n], rsqrt as u64 | (bytes as u64) << 12)
        }
    };
    if let Some(r) = r {
        b.write_v(x.rd, r);
    }
}

/// AdvSIMD scalar two-reg misc (FP): FCMxx #0.
pub fn s2misc_a(b: &mut Builder, x: fl::FPS_2MISC_A) {
    let Some(op) = cmp0_op(x.U, x.op2) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let n = scalar(b, x.rn, f);
    let Some(r) = call(b, &FP_S1, &[n], op as u64 | fcode(f) << 8) else {
        return;
    };
    b.write_v(x.rd, r);
}

/// AdvSIMD scalar two-reg misc (FP): FCVT*S/U, SCVTF/UCVTF, FRECPE, FRECPX, FRSQRTE.
pub fn s2misc_c(b: &mut Builder, x: fl::FPS_2MISC_C) {
    let f = sz_fmt(x.sz);
    let width = f.bits() as u64;
    let op = match (x.U, x.a, x.op3) {
        (0, 1, 7) => Misc::One(Op1::Recpx),
        (_, _, 0) | (_, _, 1) | (_, _, 7) => return b.undef(),
        (u, a, o) => match misc_c_op(u, a, o) {
            Some(Misc::UEst(_)) | None => return b.undef(),
            Some(m) => m,
        },
    };
    let n = scalar(b, x.rn, f);
    let r = match op {
        Misc::One(o) => call(b, &FP_S1, &[n], o as u64 | fcode(f) << 8),
        Misc::ToInt(rm, u) => {
            let imm = fcode(f) | rcode(rm) << 4 | (u as u64) << 8 | width << 16;
            call(b, &FP_TOINT, &[n], imm)
        }
        Misc::FromInt(u) => {
            let imm = fcode(f) | (u as u64) << 8 | width << 16;
            call(b, &FP_FROMINT, &[n], imm)
        }
        Misc::UEst(_) => return b.undef(),
    };
    if let Some(r) = r {
        b.write_v(x.rd, r);
    }
}

/// FCVTXN (scalar).
pub fn s_fcvtxn(b: &mut Builder, x: fl::FPS_FCVTXN) {
    if x.sz == 0 {
        return b.undef();
    }
    let n = scalar(b, x.rn, Fmt::D);
    let imm = fcode(Fmt::D) | fcode(Fmt::S) << 4 | rcode(Rounding::Odd) << 8;
    let Some(r) = call(b, &FP_CVT, &[n], imm) else {
        return;
    };
    b.write_v(x.rd, r);
}

fn pair_op(a: u32, op2: u32) -> Option<Op2> {
    Some(match (a, op2) {
        (0, 0) => Op2::MaxNm,
        (0, 1) => Op2::Add,
        (0, 3) => Op2::Max,
        (1, 0) => Op2::MinNm,
        (1, 3) => Op2::Min,
        _ => return None,
    })
}

/// AdvSIMD scalar pairwise (FP): FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP.
pub fn s_pairwise(b: &mut Builder, x: fl::FPS_PAIR) {
    let Some(op) = pair_op(x.a, x.op2) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let bytes = if x.sz == 0 { 8 } else { 16 };
    let n = b.read_v(x.rn);
    let Some(r) = call(b, &FP_VRED, &[n], vimm(op as u64, f, bytes)) else {
        return;
    };
    b.write_v(x.rd, r);
}

/// AdvSIMD across lanes (FP): FMAXV, FMINV, FMAXNMV, FMINNMV.
pub fn across(b: &mut Builder, x: fl::FPV_ACROSS) {
    if x.Q == 0 || x.sz != 0 || x.op2 == 1 {
        return b.undef();
    }
    let Some(op) = pair_op(x.a, x.op2) else {
        return b.undef();
    };
    let n = b.read_v(x.rn);
    let Some(r) = call(b, &FP_VRED, &[n], vimm(op as u64, Fmt::S, 16)) else {
        return;
    };
    b.write_v(x.rd, r);
}

/// Element index and register of a by-element operand, or None if reserved.
fn elem(sz: u32, l: u32, h: u32, m: u32, rm: u32) -> Option<(u64, u32)> {
    let reg = m << 4 | rm;
    if sz == 0 {
        Some(((h << 1 | l) as u64, reg))
    } else if l == 0 {
        Some((h as u64, reg))
    } else {
        None
    }
}

fn by_elem(b: &mut Builder, op: Op2, f: Fmt, bytes: u32, (idx, rm): (u64, u32), rn: u32, rd: u32) {
    let n = b.read_v(rn);
    let m = b.read_v(rm);
    let acc = if matches!(op, Op2::Mla | Op2::Mls) {
        b.read_v(rd)
    } else {
        n
    };
    let imm = vimm(op as u64, f, bytes) | idx << 20;
    let Some(r) = call(b, &FP_V2E, &[n, m, acc], imm) else {
        return;
    };
    // Scalar forms: only lane 0 survives (the helper computed `bytes` = one element).
    b.write_v(rd, r);
}

/// FMLA, FMLS (by element, vector).
pub fn v_elem_mla(b: &mut Builder, x: fl::FPV_ELEM_MLA) {
    let Some(bytes) = vbytes(x.Q, x.sz) else {
        return b.undef();
    };
    let Some(e) = elem(x.sz, x.L, x.H, x.M, x.rm) else {
        return b.undef();
    };
    if x.U != 0 {
        return b.undef();
    }
    let op = if x.s == 0 { Op2::Mla } else { Op2::Mls };
    by_elem(b, op, sz_fmt(x.sz), bytes, e, x.rn, x.rd);
}

/// FMUL, FMULX (by element, vector).
pub fn v_elem_mul(b: &mut Builder, x: fl::FPV_ELEM_MUL) {
    let Some(bytes) = vbytes(x.Q, x.sz) else {
        return b.undef();
    };
    let Some(e) = elem(x.sz, x.L, x.H, x.M, x.rm) else {
        return b.undef();
    };
    let op = if x.U == 0 { Op2::Mul } else { Op2::Mulx };
    by_elem(b, op, sz_fmt(x.sz), bytes, e, x.rn, x.rd);
}

/// FMLA, FMLS (by element, scalar).
pub fn s_elem_mla(b: &mut Builder, x: fl::FPS_ELEM_MLA) {
    let Some(e) = elem(x.sz, x.L, x.H, x.M, x.rm) else {
        return b.undef();
    };
    if x.U != 0 {
        return b.undef();
    }
    let f = sz_fmt(x.sz);
    let op = if x.s == 0 { Op2::Mla } else { Op2::Mls };
    by_elem(b, op, f, f.bits() / 8, e, x.rn, x.rd);
}

/// FMUL, FMULX (by element, scalar).
pub fn s_elem_mul(b: &mut Builder, x: fl::FPS_ELEM_MUL) {
    let Some(e) = elem(x.sz, x.L, x.H, x.M, x.rm) else {
        return b.undef();
    };
    let f = sz_fmt(x.sz);
    let op = if x.U == 0 { Op2::Mul } else { Op2::Mulx };
    by_elem(b, op, f, f.bits() / 8, e, x.rn, x.rd);
}

/// SCVTF/UCVTF/FCVTZS/FCVTZU with fbits (vector or scalar) once the format is known.
#[allow(clippy::too_many_arguments)]
fn shift_cvt(b: &mut Builder, f: Fmt, bytes: u32, fbits: u32, u: u32, op: u32, rn: u32, rd: u32) {
    let n = b.read_v(rn);
    let common = fcode(f) | (u as u64) << 8 | (bytes as u64) << 12 | (fbits as u64) << 20;
    let r = match op {
        0 => call(b, &FP_VFROMINT, &[n], common),
        3 => call(b, &FP_VTOINT, &[n], common | rcode(Rounding::Zero) << 4),
        _ => return b.undef(),
    };
    if let Some(r) = r {
        b.write_v(rd, r);
    }
}

/// SCVTF/UCVTF/FCVTZS/FCVTZU (vector, fixed point), 32-bit lanes (immh = 01xx).
pub fn v_shift_s(b: &mut Builder, x: fl::FPV_SHIFT_S) {
    let bytes = if x.Q == 0 { 8 } else { 16 };
    let fbits = 64 - ((0b0100 | x.ih) << 3 | x.immb);
    shift_cvt(b, Fmt::S, bytes, fbits, x.U, x.op, x.rn, x.rd);
}

/// SCVTF/UCVTF/FCVTZS/FCVTZU (vector, fixed point), 64-bit lanes (immh = 1xxx).
pub fn v_shift_d(b: &mut Builder, x: fl::FPV_SHIFT_D) {
    if x.Q == 0 {
        return b.undef();
    }
    let fbits = 128 - ((0b1000 | x.ih) << 3 | x.immb);
    shift_cvt(b, Fmt::D, 16, fbits, x.U, x.op, x.rn, x.rd);
}

/// SCVTF/UCVTF/FCVTZS/FCVTZU (scalar, fixed point), single precision.
pub fn s_shift_s(b: &mut Builder, x: fl::FPS_SHIFT_S) {
    let fbits = 64 - ((0b0100 | x.ih) << 3 | x.immb);
    shift_cvt(b, Fmt::S, 4, fbits, x.U, x.op, x.rn, x.rd);
}

/// SCVTF/UCVTF/FCVTZS/FCVTZU (scalar, fixed point), double precision.
pub fn s_shift_d(b: &mut Builder, x: fl::FPS_SHIFT_D) {
    let fbits = 128 - ((0b1000 | x.ih) << 3 | x.immb);
    shift_cvt(b, Fmt::D, 8, fbits, x.U, x.op, x.rn, x.rd);
}

/// FMOV (vector, immediate).
pub fn v_fmov_imm(b: &mut Builder, x: fl::FPV_FMOV_IMM) {
    let imm8 = (x.abc << 5 | x.defgh) as u8;
    let (f, bytes) = match (x.op, x.Q) {
        (0, 0) => (Fmt::S, 8),
        (0, _) => (Fmt::S, 16),
        (_, 0) => return b.undef(),
        _ => (Fmt::D, 16),
    };
    let v = replicate(f, bytes, vec::expand_imm(f, imm8));
    let t = b.konst(Ty::I128, v);
    b.write_v(x.rd, t);
}

#[cfg(test)]
mod tests {
    use crate::testutil::run;

    fn d(x: f64) -> u128 {
        x.to_bits() as u128
    }
    fn s4(x: [f32; 4]) -> u128 {
        x.iter()
            .enumerate()
            .fold(0, |a, (i, v)| a | (v.to_bits() as u128) << (32 * i))
    }

    #[test]
    fn scalar_and_vector_fp_through_the_interpreter() {
        let code = [
            0x1e622820, // fadd d0, d1, d2
            0x1e622020, // fcmp d1, d2
            0x1e7e9003, // fmov d3, #-1.25
            0x1e780024, // fcvtzs w4, d1
            0x9e2200c5, // scvtf s5, x6
            0x4e29d507, // fadd v7.4s, v8.4s, v9.4s
            0x6e30f90a, // fmaxv s10, v8.4s
            0x4fcd198b, // fmla v11.2d, v12.2d, v13.d[1]
            0x4f3cfd0e, // fcvtzs v14.4s, v8.4s, #4
            0x6f03f40f, // fmov v15.2d, #0.5
            0x9eae0187, // fmov x7, v12.d[1]
            0x1e221425, // fccmp s1, s2, #5, ne
            0x1e62bc30, // fcsel d16, d1, d2, lt
            0x1f62b431, // fnmsub d17, d1, d2, d13
            0x1e63c032, // fcvt h18, d1
            0xd4200000, // brk #0
        ];
        let (cpu, _) = run(&code, |cpu, _| {
            cpu.v[0] = u128::MAX;
            cpu.v[1] = d(-2.75);
            cpu.v[2] = d(0.5) | 0xdead << 64;
            cpu.x[6] = 3;
            cpu.v[8] = s4([1.5, -2.0, 8.25, 0.0625]);
            cpu.v[9] = s4([0.5, 0.5, 0.5, 0.5]);
            cpu.v[11] = d(1.0) | d(2.0) << 64;
            cpu.v[12] = d(3.0) | d(-4.0) << 64;
            cpu.v[13] = d(100.0) | d(0.25) << 64;
        });
        assert_eq!(cpu.v[0], d(-2.25)); // upper bits cleared
        assert_eq!(cpu.v[3], d(-1.25));
        assert_eq!(cpu.x[4], (-2i32) as u32 as u64);
        assert_eq!(cpu.v[5], 3.0f32.to_bits() as u128);
        assert_eq!(cpu.v[7], s4([2.0, -1.5, 8.75, 0.5625]));
        assert_eq!(cpu.v[10], 8.25f32.to_bits() as u128);
        assert_eq!(cpu.v[11], d(1.75) | d(1.0) << 64);
        assert_eq!(
            cpu.v[14],
            24 | (-32i32 as u32 as u128) << 32 | 132 << 64 | 1 << 96
        );
        assert_eq!(cpu.v[15], d(0.5) | d(0.5) << 64);
        assert_eq!(cpu.x[7], (-4.0f64).to_bits());
        // fcmp d1 < d2 -> N; fccmp with ne (Z clear) compares s1, s2 (both low words zero
        // for -2.75 / 0.5 as doubles: +0 == +0) -> Z C.
        assert_eq!(cpu.nzcv, 0x6000_0000);
        // lt was false after fccmp (N == V), so fcsel picks d2.
        assert_eq!(cpu.v[16], d(0.5));
        // fnmsub: -d13 + d1 * d2 = -100 + -1.375
        assert_eq!(cpu.v[17], d(-101.375));
        assert_eq!(cpu.v[18], 0xc180); // -2.75 as half
        assert_eq!(cpu.fpsr, super::super::FPSR_IXC); // fcvtzs w4 of -2.75
    }

    #[test]
    fn fpsr_flags_accumulate() {
        // fdiv d0, d1, d2 ; fsqrt d3, d4 ; brk #0
        let (cpu, _) = run(&[0x1e621820, 0x1e61c083, 0xd4200000], |cpu, _| {
            cpu.v[1] = d(1.0);
            cpu.v[2] = d(0.0);
            cpu.v[4] = d(-1.0);
        });
        assert_eq!(cpu.v[0], d(f64::INFINITY));
        assert_eq!(cpu.v[3], 0x7ff8_0000_0000_0000);
        assert_eq!(cpu.fpsr, super::super::FPSR_DZC | super::super::FPSR_IOC);
    }
}
