//! Scalar floating point on the host's SSE unit, bit-exact with the softfloat.
//!
//! The FP helpers (`a64::fp::lower`: `fp::s2`, `fp::s1`, `fp::s3`, `fp::cmp`, `fp::cvt`,
//! `fp::toint`, `fp::fromint`) that have a host instruction with the same IEEE result
//! run as that instruction, under an MXCSR with FPCR's rounding mode, every exception
//! masked and FTZ/DAZ off (`Ctx::mxcsr`, indexed by FPCR.RMode). Where Arm and x86 can
//! differ, the operation is redone by the helper (the softfloat, still the reference)
//! on the original operands, in code placed beside the fast path:
//!
//! * a NaN result (Arm's NaN propagation and default NaN are not x86's);
//! * MXCSR.IE (invalid: the NaN or saturated result is Arm's to choose), DE (a denormal
//!   operand: FPCR.FZ flushes it and sets IDC), UE (a tiny inexact result: Arm detects
//!   tininess before rounding, x86 after, and FZ flushes differently);
//! * a result that is denormal or ±min-normal (covers an exact denormal result under
//!   FZ, and a result x86 rounded up to the smallest normal that Arm calls tiny).
//!
//! Otherwise the result is the host's and MXCSR.ZE/OE/PE go to FPSR.DZC/OFC/IXC (MXCSR
//! bits 2, 3, 5 are FPSR bits 1, 2, 4 shifted left by one). MXCSR is loaded (which
//! clears its flags) before the first host op of a block and after a write of FPCR or
//! FPSR or a fallback, so later ops copy the sticky ZE/OE/PE of earlier ones again,
//! which FPSR already holds. Translated code never depends on what MXCSR held when the
//! block began; the entry stub saves the host's MXCSR and the epilogue restores it
//! (`cache::Jit::write_stubs`). Run-time functions called from translated code run
//! with the guest's MXCSR and must not do host FP arithmetic (the engine has none at
//! all; on the host runners they do not either).

use super::*;
use a64::fp::vec::{Op1, Op2};

/// MXCSR by FPCR.RMode (RN, RP, RM, RZ): exceptions masked, RC = nearest, up, down,
/// zero.
pub const MXCSR_BY_RMODE: [u32; 4] = [0x1f80, 0x1f80 | 2 << 13, 0x1f80 | 1 << 13, 0x1f80 | 3 << 13];

/// [`Tr::mx`]: MXCSR is not known to hold a mode set in this block.
pub(crate) const MX_UNKNOWN: u8 = 0xff;
/// [`Tr::mx`]: MXCSR holds FPCR's mode (the only one host ops use: FCVT* with their
/// own rounding use CVTTSD2SI or ROUNDSD with an immediate mode).
const MX_FPCR: u8 = 4;

/// Keeps [`Tr::mx`] across op `op`: writes of FPCR change the mode, writes of FPSR
/// must not be followed by MXCSR's sticky flags of earlier operations (which the next
/// host op would copy to FPSR again); a load of MXCSR clears them.
pub(crate) fn note_op(mx: &mut u8, op: &Op) {
    if matches!(
        op,
        Op::Set {
            reg: Reg::Fpcr | Reg::Fpsr,
            ..
        } | Op::SysWrite { .. }
    ) {
        *mx = MX_UNKNOWN;
    }
}

/// MXCSR flags that send an operation to the softfloat: IE, DE, UE.
const MX_SLOW: i32 = 0x13;
/// Only IE and DE (operations that cannot underflow: compares, conversions to integer).
const MX_SLOW_NO_UE: i32 = 0x03;

/// Whether FMA3 may be used, from CPUID leaf 1's ECX: FMA, AVX and OSXSAVE set, and
/// XCR0 enabling the SSE and AVX state (the VEX forms need the OS to save YMM).
pub fn fma_usable(l1_ecx: u32) -> bool {
    let (fma, osxsave, avx) = (1 << 12, 1 << 27, 1 << 28);
    if l1_ecx & (fma | osxsave | avx) != fma | osxsave | avx {
        return false;
    }
    let xcr0: u32;
    // SAFETY: XGETBV with ECX = 0 reads XCR0; it exists (and may run in ring 3) when
    // CPUID reports OSXSAVE, checked above. It touches no memory.
    unsafe {
        core::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") xcr0, out("edx") _,
            options(nomem, nostack, preserves_flags));
    }
    xcr0 & 6 == 6
}

/// An operation the host does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HostOp {
    /// addsd/subsd/mulsd/divsd (the opcode byte); `neg`: FNMUL (negate the result).
    Arith { opc: u8, neg: bool },
    /// sqrtsd.
    Sqrt,
    /// FMADD family: addend, then the factors (negated as the flags say).
    Fma { neg_a: bool, neg_n: bool },
    /// FRINT* with ROUNDSD's immediate.
    Rint { imm: u8 },
    /// FCMP/FCMPE (`signal`: comisd); FCCMP/FCCMPE with the NZCV when the condition
    /// fails.
    Cmp { signal: bool, ccmp: Option<u8> },
    /// FMAX/FMIN(NM) (maxsd 0x5f, minsd 0x5d): they agree with x86 except on NaNs and
    /// equal operands (±0), which go to the softfloat.
    MinMax { opc: u8 },
    /// FCVT between single and double (`double`: the destination's format is D).
    Cvt,
    /// SCVTF/UCVTF from a `width`-bit integer.
    FromInt { unsigned: bool, width: u32 },
    /// FCVT*S/U to a `width`-bit integer; `mode`: the instruction's RMode (0 RN, 1 RP,
    /// 2 RM, 3 RZ), or None for FPCR's.
    ToInt {
        unsigned: bool,
        width: u32,
        mode: Option<u8>,
    },
}

/// A vector operation the host does on all lanes at once (`bytes`: 8 or 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VecOp {
    /// addp?/subp?/mulp?/divp? (the opcode byte).
    Arith { opc: u8 },
    /// FMLA (acc + a * b) / FMLS (acc - a * b), fused.
    Fma { neg: bool },
    /// sqrtp?.
    Sqrt,
    /// FRINT* with ROUNDPS/PD's immediate.
    Rint { imm: u8 },
    /// FCMEQ/FCMGE/FCMGT/FACGE/FACGT: CMPPS/PD predicate `pred` (0 EQ, 1 LT, 2 LE) of
    /// the operands (`swap`: b pred a), of their magnitudes with `abs`.
    Cmp { pred: u8, swap: bool, abs: bool },
    /// FCVT{N,P,M,Z}S of single lanes to 32-bit integers (mode as [`HostOp::ToInt`]).
    ToInt { mode: Option<u8> },
    /// SCVTF of 32-bit integer lanes to single.
    FromInt,
    /// FADDP (vector): haddps/haddpd.
    AddPairs,
    /// FCVTL(2): single lanes (the upper half with `upper`) to double.
    Widen { upper: bool },
    /// FCVTN(2): double lanes to single, into the low half (the upper half of the
    /// destination, keeping its low half, with `upper`).
    Narrow { upper: bool },
}

/// The decoded vector operation of a helper call: op, whether the lanes are D, bytes.
pub(crate) fn classify_vec(h: &Helper, imm: u64, f: Features) -> Option<(VecOp, bool, u32)> {
    // FCVTL(2) from single, FCVTN(2) to single with FPCR's rounding.
    match h.name {
        "fp::widen" if imm & 3 == 1 => {
            return f.sse41.then_some((
                VecOp::Widen {
                    upper: imm >> 8 & 1 != 0,
                },
                false,
                16,
            ));
        }
        "fp::narrow" if imm & 3 == 1 && imm >> 12 & 7 == 7 => {
            return f.sse41.then_some((
                VecOp::Narrow {
                    upper: imm >> 8 & 1 != 0,
                },
                true,
                16,
            ));
        }
        "fp::widen" | "fp::narrow" => return None,
        _ => {}
    }
    // The format is in bits 8.. for the arithmetic helpers, 0.. for the conversions.
    let fsh = if h.name.starts_with("fp::v") && h.name.ends_with("int") {
        0
    } else {
        8
    };
    let d = match imm >> fsh & 3 {
        1 => false,
        2 => true,
        _ => return None,
    };
    let bytes = (imm >> 12 & 0x1f) as u32;
    if bytes != 8 && bytes != 16 {
        return None;
    }
    let op = match h.name {
        "fp::v2e" => match Op2::from_u8(imm as u8)? {
            Op2::Mul => VecOp::Arith { opc: 0x59 },
            Op2::Mla if f.fma => VecOp::Fma { neg: false },
            Op2::Mls if f.fma => VecOp::Fma { neg: true },
            _ => return None,
        },
        "fp::v2" => match Op2::from_u8(imm as u8)? {
            Op2::Add => VecOp::Arith { opc: 0x58 },
            Op2::Sub => VecOp::Arith { opc: 0x5c },
            Op2::Mul => VecOp::Arith { opc: 0x59 },
            // 0 / 0 in the unused upper lanes of a 64-bit vector would raise IE.
            Op2::Div if bytes == 16 => VecOp::Arith { opc: 0x5e },
            Op2::Mla if f.fma => VecOp::Fma { neg: false },
            Op2::Mls if f.fma => VecOp::Fma { neg: true },
            Op2::CmEq => VecOp::Cmp {
                pred: 0,
                swap: false,
                abs: false,
            },
            Op2::CmGe | Op2::AcGe => VecOp::Cmp {
                pred: 2,
                swap: true,
                abs: Op2::from_u8(imm as u8)? == Op2::AcGe,
            },
            Op2::CmGt | Op2::AcGt => VecOp::Cmp {
                pred: 1,
                swap: true,
                abs: Op2::from_u8(imm as u8)? == Op2::AcGt,
            },
            _ => return None,
        },
        // Signed 32-bit lanes, no fraction bits.
        "fp::vtoint" if !d && imm >> 8 & 1 == 0 && imm >> 20 & 0xff == 0 => {
            let mode = match imm >> 4 & 7 {
                k @ 0..=3 => Some(k as u8),
                7 => None,
                _ => return None,
            };
            VecOp::ToInt { mode }
        }
        "fp::vfromint" if !d && imm >> 8 & 1 == 0 && imm >> 20 & 0xff == 0 => VecOp::FromInt,
        "fp::vp" if Op2::from_u8(imm as u8)? == Op2::Add => VecOp::AddPairs,
        "fp::v1" => match Op1::from_u8(imm as u8)? {
            Op1::Sqrt => VecOp::Sqrt,
            Op1::RintN => VecOp::Rint { imm: 8 },
            Op1::RintM => VecOp::Rint { imm: 9 },
            Op1::RintP => VecOp::Rint { imm: 10 },
            Op1::RintZ => VecOp::Rint { imm: 11 },
            Op1::RintI => VecOp::Rint { imm: 12 },
            Op1::RintX => VecOp::Rint { imm: 4 },
            _ => return None,
        },
        _ => return None,
    };
    // The lane checks use PCMPEQQ and PTEST (SSE4.1).
    f.sse41.then_some((op, d, bytes))
}

/// The decoded operation of a helper call: op and whether the (source) format is D.
pub(crate) fn classify(h: &Helper, imm: u64, f: Features) -> Option<(HostOp, bool)> {
    // Format codes of a64::fp::lower: 0 H, 1 S, 2 D.
    let fmt = |c: u64| match c & 3 {
        1 => Some(false),
        2 => Some(true),
        _ => None,
    };
    // Rounding codes: 0 TieEven, 1 PosInf, 2 NegInf, 3 Zero, 7 FPCR; as MXCSR entries.
    let rmode = |c: u64| match c & 7 {
        0 => Some(Some(0)),
        1 => Some(Some(1)),
        2 => Some(Some(2)),
        3 => Some(Some(3)),
        7 => Some(None),
        _ => None,
    };
    match h.name {
        "fp::s2" => {
            let d = fmt(imm >> 8)?;
            let (opc, neg) = match Op2::from_u8(imm as u8)? {
                Op2::Add => (0x58, false),
                Op2::Sub => (0x5c, false),
                Op2::Mul => (0x59, false),
                Op2::Div => (0x5e, false),
                Op2::Nmul => (0x59, true),
                Op2::Max | Op2::MaxNm => return Some((HostOp::MinMax { opc: 0x5f }, d)),
                Op2::Min | Op2::MinNm => return Some((HostOp::MinMax { opc: 0x5d }, d)),
                _ => return None,
            };
            Some((HostOp::Arith { opc, neg }, d))
        }
        "fp::s1" => {
            let d = fmt(imm >> 8)?;
            let op = match Op1::from_u8(imm as u8)? {
                Op1::Sqrt => HostOp::Sqrt,
                // ROUNDSD: bits 1..0 the mode (0 nearest, 1 down, 2 up, 3 zero), bit 2
                // MXCSR's mode instead, bit 3 no precision exception.
                Op1::RintN if f.sse41 => HostOp::Rint { imm: 8 },
                Op1::RintM if f.sse41 => HostOp::Rint { imm: 9 },
                Op1::RintP if f.sse41 => HostOp::Rint { imm: 10 },
                Op1::RintZ if f.sse41 => HostOp::Rint { imm: 11 },
                Op1::RintI if f.sse41 => HostOp::Rint { imm: 12 },
                Op1::RintX if f.sse41 => HostOp::Rint { imm: 4 },
                _ => return None,
            };
            Some((op, d))
        }
        "fp::s3" if f.fma => Some((
            HostOp::Fma {
                neg_a: imm >> 8 & 1 != 0,
                neg_n: imm >> 9 & 1 != 0,
            },
            fmt(imm)?,
        )),
        "fp::cmp" => Some((
            HostOp::Cmp {
                signal: imm >> 8 & 1 != 0,
                ccmp: None,
            },
            fmt(imm)?,
        )),
        "fp::ccmp" => Some((
            HostOp::Cmp {
                signal: imm >> 8 & 1 != 0,
                ccmp: Some((imm >> 12 & 15) as u8),
            },
            fmt(imm)?,
        )),
        "fp::cvt" => {
            let (from, to) = (fmt(imm)?, fmt(imm >> 4)?);
            (from != to && rmode(imm >> 8)?.is_none()).then_some((HostOp::Cvt, from))
        }
        "fp::fromint" => {
            let d = fmt(imm)?;
            let width = (imm >> 16 & 0xff) as u32;
            let ok = imm >> 24 & 0xff == 0 && matches!(width, 32 | 64);
            ok.then_some((
                HostOp::FromInt {
                    unsigned: imm >> 8 & 1 != 0,
                    width,
                },
                d,
            ))
        }
        "fp::toint" => {
            let d = fmt(imm)?;
            let width = (imm >> 16 & 0xff) as u32;
            let mode = rmode(imm >> 4)?;
            // RN, RP, RM need ROUNDSD.
            let ok = imm >> 24 & 0xff == 0
                && matches!(width, 32 | 64)
                && (f.sse41 || matches!(mode, None | Some(3)));
            ok.then_some((
                HostOp::ToInt {
                    unsigned: imm >> 8 & 1 != 0,
                    width,
                    mode,
                },
                d,
            ))
        }
        _ => None,
    }
}

/// Whether the helper call is done on the host FPU (with the softfloat beside it).
pub(crate) fn inline(h: &Helper, imm: u64, f: Features) -> bool {
    f.host_fp && (classify(h, imm, f).is_some() || classify_vec(h, imm, f).is_some())
}

/// Scalar prefix: F2 for double, F3 for single.
fn pre(d: bool) -> &'static [u8] {
    if d {
        &[0xf2]
    } else {
        &[0xf3]
    }
}

impl Tr<'_> {
    /// Host FP op `i` (`inline` said yes): the fast path, and the helper call it falls
    /// back to, which rejoins it.
    pub(super) fn host_fp(
        &mut self,
        i: usize,
        dst: Temp,
        h: &'static Helper,
        args: [Temp; 3],
        nargs: u8,
        imm: u64,
    ) {
        let Some((op, d)) = classify(h, imm, self.env.feats) else {
            if let Some((op, d, bytes)) = classify_vec(h, imm, self.env.feats) {
                self.host_fp_vec(i, dst, (h, args, nargs, imm), op, d, bytes);
            }
            return;
        };
        // Allocate first: a spill must happen on both paths.
        let r = self.def(dst);
        self.x0_dirty = true;
        let mut slow: Vec<Fixup> = Vec::new();
        // MXCSR: FPCR's rounding, or the instruction's own.
        let want = MX_FPCR;
        if self.mx != want {
            self.load_mxcsr();
            self.mx = want;
        }
        let p = pre(d);
        // The result format (for the result checks).
        let mut rd = d;
        let mut float_result = true;
        let mut mask = MX_SLOW;
        match op {
            HostOp::Arith { opc, .. } => {
                self.fp_in(0, args[0], d);
                self.fp_in(1, args[1], d);
                self.a.fp_rr(p, &[0x0f, opc], 0, 1);
                if opc == 0x5e {
                    // ZE takes precedence over DE: a denormal dividend (0 under FZ).
                    mask |= 4;
                }
            }
            HostOp::Sqrt => {
                self.fp_in(1, args[0], d);
                self.a.fp_rr(p, &[0x0f, 0x51], 0, 1);
            }
            HostOp::Fma { neg_a, neg_n } => {
                self.fp_in(0, args[0], d);
                self.fp_in(1, args[1], d);
                self.fp_in(2, args[2], d);
                // 231 forms: xmm0 = ±(xmm1 * xmm2) ± xmm0; negating the product is
                // negating the first factor.
                let opc = match (neg_n, neg_a) {
                    (false, false) => 0xb9, // vfmadd231
                    (false, true) => 0xbb,  // vfmsub231
                    (true, false) => 0xbd,  // vfnmadd231
                    (true, true) => 0xbf,   // vfnmsub231
                };
                self.a.vex_rrr(2, 1, d, opc, 0, 1, 2);
            }
            HostOp::Rint { imm } => {
                // ROUNDSD raises no DE: a denormal operand (flushed under FZ) is
                // caught on the way in.
                let x = self.get(args[0], R::RCX);
                self.a.mov_rr(true, R::RDX, x);
                self.tiny_check(R::RDX, d, &mut slow);
                self.fp_in_reg(1, x, d);
                let opc = if d { 0x0b } else { 0x0a };
                self.a.sse_rri(&[0x0f, 0x3a, opc], 0, 1, imm);
            }
            HostOp::MinMax { opc } => {
                self.fp_in(0, args[0], d);
                self.fp_in(1, args[1], d);
                let pp: &[u8] = if d { &[0x66] } else { &[] };
                self.a.fp_rr(pp, &[0x0f, 0x2e], 0, 1);
                slow.push(self.a.jcc_fwd(Cc::P));
                slow.push(self.a.jcc_fwd(Cc::E));
                self.a.fp_rr(p, &[0x0f, opc], 0, 1);
            }
            HostOp::Cmp { signal, ccmp } => {
                let mut skip = None;
                if let Some(nzcv) = ccmp {
                    // The condition failed: the immediate NZCV, nothing compared.
                    let c = self.get(args[2], R::RDX);
                    self.a.mov_ri(R::RCX, u64::from(nzcv) << 28);
                    self.a.test_ri(false, c, 1);
                    skip = Some(self.a.jcc_fwd(Cc::E));
                }
                self.fp_in(0, args[0], d);
                self.fp_in(1, args[1], d);
                let opc = if signal { 0x2f } else { 0x2e };
                let pp: &[u8] = if d { &[0x66] } else { &[] };
                self.a.fp_rr(pp, &[0x0f, opc], 0, 1);
                // A NaN hides DE (a denormal beside it): unordered goes to the softfloat.
                slow.push(self.a.jcc_fwd(Cc::P));
                // NZCV by outcome: greater 0010, less 1000, equal 0110 (x86: ZF CF =
                // 00, 01, 10). MOV leaves the flags alone.
                self.a.mov_ri(R::RCX, 0x2 << 28);
                self.a.mov_ri(R::RDX, 0x8 << 28);
                self.a.cmov(false, Cc::B, R::RCX, R::RDX);
                self.a.mov_ri(R::RDX, 0x6 << 28);
                self.a.cmov(false, Cc::E, R::RCX, R::RDX);
                if let Some(s) = skip {
                    self.a.bind(s);
                }
                float_result = false;
                // IE hides DE (a NaN beside a denormal): both go to the softfloat.
                mask = MX_SLOW_NO_UE;
            }
            HostOp::Cvt => {
                self.fp_in(1, args[0], d);
                // cvtsd2ss / cvtss2sd.
                self.a.fp_rr(p, &[0x0f, 0x5a], 0, 1);
                rd = !d;
            }
            HostOp::FromInt { unsigned, width } => {
                let x = self.get(args[0], R::RCX);
                let w = match (unsigned, width) {
                    (false, 32) => false,
                    (false, _) => true,
                    (true, 32) => {
                        // Zero-extended, converted as a (positive) 64-bit integer.
                        self.a.mov_rr(false, R::RCX, x);
                        true
                    }
                    (true, _) => {
                        self.a.test_rr(true, x, x);
                        slow.push(self.a.jcc_fwd(Cc::S));
                        true
                    }
                };
                let x = if unsigned && width == 32 { R::RCX } else { x };
                self.a.sse_rr(&[0x0f, 0xef], 0, 0);
                self.a.fp_rr_gpr(w, p, &[0x0f, 0x2a], 0, x.0);
                // Integers are never NaN, tiny or invalid.
                float_result = false;
                mask = 0;
            }
            HostOp::ToInt {
                unsigned,
                width,
                mode,
            } => {
                // CVTSD2SI raises no DE: a denormal operand is caught on the way in.
                let x = self.get(args[0], R::RCX);
                self.a.mov_rr(true, R::RDX, x);
                self.tiny_check(R::RDX, d, &mut slow);
                self.fp_in_reg(1, x, d);
                let w = unsigned || width == 64;
                // cvtsd2si: MXCSR's rounding; cvttsd2si: towards zero; other modes:
                // ROUNDSD first (raising PE when inexact), then exact. Out of range
                // and NaN raise IE.
                let cvt = match mode {
                    None => 0x2d,
                    Some(3) => 0x2c,
                    Some(k) => {
                        let imm = [0, 2, 1][usize::from(k)];
                        self.a
                            .sse_rri(&[0x0f, 0x3a, if d { 0x0b } else { 0x0a }], 1, 1, imm);
                        0x2c
                    }
                };
                self.a.fp_rr_gpr(w, p, &[0x0f, cvt], R::RCX.0, 1);
                if unsigned && width == 32 {
                    self.a.mov_rr(true, R::RDX, R::RCX);
                    self.a.sh_i(true, Sh::Shr, R::RDX, 32);
                    slow.push(self.a.jcc_fwd(Cc::Ne));
                } else if unsigned {
                    self.a.test_rr(true, R::RCX, R::RCX);
                    slow.push(self.a.jcc_fwd(Cc::S));
                }
                float_result = false;
                mask = MX_SLOW_NO_UE;
            }
        }
        self.a.stmxcsr(m(R::R12, off::SCRATCH));
        if float_result {
            // A NaN result.
            let pp: &[u8] = if rd { &[0x66] } else { &[] };
            self.a.fp_rr(pp, &[0x0f, 0x2e], 0, 0);
            slow.push(self.a.jcc_fwd(Cc::P));
        }
        if float_result || matches!(op, HostOp::FromInt { .. }) {
            if rd {
                self.a.movq_rx(R::RCX, 0);
            } else {
                self.a.movd_rx(R::RCX, 0);
            }
        }
        if float_result {
            self.a.mov_rr(true, R::RDX, R::RCX);
            self.tiny_check(R::RDX, rd, &mut slow);
        }
        self.a.load(4, R::RDX, m(R::R12, off::SCRATCH));
        if mask != 0 {
            self.a.test_ri(false, R::RDX, mask);
            slow.push(self.a.jcc_fwd(Cc::Ne));
        }
        if !matches!(op, HostOp::Cmp { .. }) {
            // A compare without IE raises nothing.
            self.a.sh_i(false, Sh::Shr, R::RDX, 1);
            self.a.alu_ri(false, Alu::And, R::RDX, 0x16);
            self.a.alu_mr(false, Alu::Or, m(R::RBP, off::FPSR), R::RDX);
        }
        if let HostOp::Arith { neg: true, .. } = op {
            // FNMUL: the rounded product, negated.
            if rd {
                self.a.mov_ri(R::RDX, 1 << 63);
                self.a.alu_rr(true, Alu::Xor, R::RCX, R::RDX);
            } else {
                self.a.alu_ri(false, Alu::Xor, R::RCX, i32::MIN);
            }
        }
        if r != R::RCX {
            self.a.mov_rr(true, r, R::RCX);
        }
        self.fin(dst, r);
        let done = self.a.jmp_fwd();
        for f in slow {
            self.a.bind(f);
        }
        self.helper_call(i, Some(dst), h, args, nargs, imm);
        // Clear the sticky IE/DE/UE that sent us here.
        self.load_mxcsr();
        self.a.bind(done);
        self.just_stored = None;
        self.x0_dirty = true;
    }

    /// Vector op `i`: as [`Tr::host_fp`], with the checks on every lane.
    fn host_fp_vec(
        &mut self,
        i: usize,
        dst: Temp,
        call: (&'static Helper, [Temp; 3], u8, u64),
        op: VecOp,
        d: bool,
        bytes: u32,
    ) {
        let (h, args, nargs, imm) = call;
        self.def(dst);
        self.x0_dirty = true;
        let mut slow: Vec<Fixup> = Vec::new();
        if self.mx != MX_FPCR {
            self.load_mxcsr();
            self.mx = MX_FPCR;
        }
        // Packed forms: 66 prefix for double, none for single.
        let pp: &[u8] = if d { &[0x66] } else { &[] };
        let mut mask = MX_SLOW;
        let mut lanes_out = true;
        // A 64-bit vector: its upper lanes are 0 (0 op 0 raises nothing: no Div).
        let low = |s: &mut Self, x: u8| {
            if bytes == 8 {
                s.a.movq_xx(x, x);
            }
        };
        // By element: lane `index` of the second operand in every lane.
        let elem = (h.name == "fp::v2e").then_some((imm >> 20 & 0xf) as u8);
        let bcast = |s: &mut Self, x: u8| {
            if let Some(k) = elem {
                let sh = if d {
                    [0x44, 0xee][usize::from(k & 1)]
                } else {
                    (k & 3) * 0x55
                };
                s.a.sse_rri(&[0x0f, 0x70], x, x, sh);
            }
        };
        // The format of the result lanes.
        let mut out_d = d;
        match op {
            VecOp::Widen { upper } => {
                self.xmm_load(1, args[0]);
                if upper {
                    self.a.sse_rri(&[0x0f, 0x70], 1, 1, 0xee);
                }
                // cvtps2pd
                self.a.fp_rr(&[], &[0x0f, 0x5a], 0, 1);
                out_d = true;
            }
            VecOp::Narrow { .. } => {
                self.xmm_load(1, args[0]);
                // cvtpd2ps (the upper half zero)
                self.a.fp_rr(&[0x66], &[0x0f, 0x5a], 0, 1);
                out_d = false;
            }
            VecOp::AddPairs => {
                self.xmm_load(0, args[0]);
                self.xmm_load(1, args[1]);
                if bytes == 8 {
                    // [a0 a1 b0 b1] added in pairs (twice).
                    self.a.fp_rr(&[0x66], &[0x0f, 0x14], 0, 1);
                    self.a.sse_rr(&[0x0f, 0x6f], 1, 0);
                }
                self.a
                    .fp_rr(if d { &[0x66] } else { &[0xf2] }, &[0x0f, 0x7c], 0, 1);
            }
            VecOp::Arith { opc } => {
                self.xmm_load(0, args[0]);
                self.xmm_load(1, args[1]);
                bcast(self, 1);
                low(self, 0);
                low(self, 1);
                self.a.fp_rr(pp, &[0x0f, opc], 0, 1);
                if opc == 0x5e {
                    mask |= 4;
                }
            }
            VecOp::Fma { neg } => {
                self.xmm_load(0, args[2]);
                self.xmm_load(1, args[0]);
                self.xmm_load(2, args[1]);
                bcast(self, 2);
                low(self, 0);
                low(self, 1);
                low(self, 2);
                // vfmadd231p? / vfnmadd231p?: xmm0 = ±(xmm1 * xmm2) + xmm0.
                self.a
                    .vex_rrr(2, 1, d, if neg { 0xbc } else { 0xb8 }, 0, 1, 2);
            }
            VecOp::Sqrt => {
                self.xmm_load(1, args[0]);
                low(self, 1);
                self.a.fp_rr(pp, &[0x0f, 0x51], 0, 1);
            }
            VecOp::Cmp { pred, swap, abs } => {
                self.xmm_load(0, args[0]);
                self.xmm_load(1, args[1]);
                low(self, 0);
                low(self, 1);
                if abs {
                    // The magnitudes: and with all-ones >> 1 per lane.
                    let shr = if d { 0x73 } else { 0x72 };
                    self.a.sse_rr(&[0x0f, 0x76], 2, 2);
                    self.a.sse_shift(shr, 2, 2, 1);
                    self.a.sse_rr(&[0x0f, 0xdb], 0, 2);
                    self.a.sse_rr(&[0x0f, 0xdb], 1, 2);
                }
                // NaN lanes (IE, and DE hidden) go to the softfloat.
                self.a.sse_rr(&[0x0f, 0x6f], 3, 0);
                self.a.fp_rri(pp, &[0x0f, 0xc2], 3, 1, 3);
                self.a.sse_rr(&[0x0f, 0x38, 0x17], 3, 3);
                slow.push(self.a.jcc_fwd(Cc::Ne));
                if swap {
                    self.a.fp_rri(pp, &[0x0f, 0xc2], 1, 0, pred);
                    self.a.sse_rr(&[0x0f, 0x6f], 0, 1);
                } else {
                    self.a.fp_rri(pp, &[0x0f, 0xc2], 0, 1, pred);
                }
                mask = MX_SLOW_NO_UE;
                lanes_out = false;
            }
            VecOp::ToInt { mode } => {
                // CVT(T)PS2DQ raises no DE: denormal lanes are caught on the way in;
                // out of range and NaN raise IE.
                self.xmm_load(1, args[0]);
                low(self, 1);
                self.lanes_check(1, d, &mut slow);
                match mode {
                    None => self.a.sse_rr(&[0x0f, 0x5b], 0, 1),
                    Some(3) => self.a.fp_rr(&[0xf3], &[0x0f, 0x5b], 0, 1),
                    Some(k) => {
                        let imm = [0, 2, 1][usize::from(k)];
                        self.a.sse_rri(&[0x0f, 0x3a, 0x08], 1, 1, imm);
                        self.a.fp_rr(&[0xf3], &[0x0f, 0x5b], 0, 1);
                    }
                }
                mask = MX_SLOW_NO_UE;
                lanes_out = false;
            }
            VecOp::FromInt => {
                self.xmm_load(1, args[0]);
                low(self, 1);
                self.a.fp_rr(&[], &[0x0f, 0x5b], 0, 1);
                mask = 0;
                lanes_out = false;
            }
            VecOp::Rint { imm } => {
                // ROUNDP? raises no DE: denormal lanes are caught on the way in.
                self.xmm_load(1, args[0]);
                low(self, 1);
                self.lanes_check(1, d, &mut slow);
                self.a
                    .sse_rri(&[0x0f, 0x3a, if d { 0x09 } else { 0x08 }], 0, 1, imm);
            }
        }
        if bytes == 8 {
            // -0 or an FMLS's -0 in the unused lanes.
            self.a.movq_xx(0, 0);
        }
        self.a.stmxcsr(m(R::R12, off::SCRATCH));
        if lanes_out {
            self.lanes_check(0, out_d, &mut slow);
        }
        self.a.load(4, R::RDX, m(R::R12, off::SCRATCH));
        if mask != 0 {
            self.a.test_ri(false, R::RDX, mask);
            slow.push(self.a.jcc_fwd(Cc::Ne));
        }
        self.a.sh_i(false, Sh::Shr, R::RDX, 1);
        self.a.alu_ri(false, Alu::And, R::RDX, 0x16);
        self.a.alu_mr(false, Alu::Or, m(R::RBP, off::FPSR), R::RDX);
        if let VecOp::Narrow { upper: true } = op {
            // [the destination's low half, the result].
            self.xmm_load(2, args[1]);
            self.a.movq_xx(2, 2);
            self.a.sse_rr(&[0x0f, 0x6c], 2, 0);
            self.a.sse_rr(&[0x0f, 0x6f], 0, 2);
        }
        self.xdef(dst, 0);
        let done = self.a.jmp_fwd();
        for f in slow {
            self.a.bind(f);
        }
        self.helper_call(i, Some(dst), h, args, nargs, imm);
        self.load_mxcsr();
        self.a.bind(done);
        self.just_stored = None;
        self.x0_dirty = true;
    }

    /// Jumps to a new `slow` fixup when a lane of XMM`x` is NaN (CMPUNORD), or
    /// denormal or ±min-normal (as [`Tr::tiny_check`]: (2|v| - 1) >> (fraction bits
    /// + 1) = 0, zero wrapping to all ones). Uses XMM2..4.
    fn lanes_check(&mut self, x: u8, d: bool, slow: &mut Vec<Fixup>) {
        const PCMPEQD: &[u8] = &[0x0f, 0x76];
        const PCMPEQQ: &[u8] = &[0x0f, 0x38, 0x29];
        let (eq, add, shr, fb, pp): (&[u8], &[u8], u8, u8, &[u8]) = if d {
            (PCMPEQQ, &[0x0f, 0xd4], 0x73, 52, &[0x66])
        } else {
            (PCMPEQD, &[0x0f, 0xfe], 0x72, 23, &[])
        };
        // XMM2 = 2|v| - 1 (paddq/paddd of v and v, then of -1), >> fraction bits + 1.
        self.a.sse_rr(&[0x0f, 0x6f], 2, x);
        self.a.sse_rr(add, 2, 2);
        self.a.sse_rr(PCMPEQD, 3, 3);
        self.a.sse_rr(add, 2, 3);
        self.a.sse_shift(shr, 2, 2, fb + 1);
        self.a.sse_rr(&[0x0f, 0xef], 4, 4);
        self.a.sse_rr(eq, 2, 4);
        // XMM3 = NaN lanes.
        self.a.sse_rr(&[0x0f, 0x6f], 3, x);
        self.a.fp_rri(pp, &[0x0f, 0xc2], 3, 3, 3);
        self.a.sse_rr(&[0x0f, 0xeb], 2, 3);
        // PTEST xmm2, xmm2: ZF = no lane set.
        self.a.sse_rr(&[0x0f, 0x38, 0x17], 2, 2);
        slow.push(self.a.jcc_fwd(Cc::Ne));
    }

    /// Loads MXCSR for FPCR's mode, clearing its flags.
    fn load_mxcsr(&mut self) {
        self.a.load(4, R::RDX, m(R::RBP, off::FPCR));
        self.a.sh_i(false, Sh::Shr, R::RDX, 22);
        self.a.alu_ri(false, Alu::And, R::RDX, 3);
        self.a.ldmxcsr(mi(R::R12, R::RDX, 4, off::MXCSR));
    }

    /// XMM`x` = the FP value of `t` (low 64 or 32 bits).
    fn fp_in(&mut self, x: u8, t: Temp, d: bool) {
        let r = self.get(t, R::RCX);
        self.fp_in_reg(x, r, d);
    }

    fn fp_in_reg(&mut self, x: u8, r: R, d: bool) {
        if d {
            self.a.movq_xr(x, r);
        } else {
            self.a.movd_xr(x, r);
        }
    }

    /// Jumps to a new `slow` fixup when the FP value in `r` (clobbered) is denormal or
    /// ±min-normal: 2|v| - 1 < 2 min-normal, with 0 wrapping to all ones.
    fn tiny_check(&mut self, r: R, d: bool, slow: &mut Vec<Fixup>) {
        self.a.alu_rr(d, Alu::Add, r, r);
        self.a.alu_ri(d, Alu::Sub, r, 1);
        self.a.sh_i(d, Sh::Shr, r, if d { 53 } else { 24 });
        slow.push(self.a.jcc_fwd(Cc::E));
    }

    /// The call of helper `h` (its arguments through the context's argument block).
    pub(super) fn helper_call(
        &mut self,
        i: usize,
        dst: Option<Temp>,
        helper: &'static Helper,
        args: [Temp; 3],
        nargs: u8,
        imm: u64,
    ) {
        let f = self.env.rt.helper;
        let h = helper as *const Helper as u64;
        self.call_site(
            i,
            dst,
            f,
            |s| {
                for (k, &t) in args.iter().enumerate().take(nargs.min(3) as usize) {
                    s.put16(t, m(R::R12, off::ARGS + 16 * k as i32));
                }
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, h);
                s.a.mov_ri(R::RDX, imm);
            },
            |s| {
                if let Some(d) = dst {
                    s.take16(d, m(R::R12, off::RET));
                }
            },
        );
    }
}

#[cfg(test)]
#[path = "hostfp_tests.rs"]
mod tests;
