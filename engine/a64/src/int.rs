//! Integer data processing (immediate and register forms).

use crate::decode::fields as f;
use crate::ir::{BinOp, FlagOp, Reg, Temp, Ty, UnOp};
use crate::lower::Builder;

fn ty(sf: u32) -> Ty {
    if sf != 0 {
        Ty::I64
    } else {
        Ty::I32
    }
}

/// `DecodeBitMasks` of the Arm ARM: (wmask, tmask) for `datasize` bits, or `None` if reserved.
pub fn decode_bit_masks(
    n: u32,
    imms: u32,
    immr: u32,
    immediate: bool,
    datasize: u32,
) -> Option<(u64, u64)> {
    let combined = (n << 6) | (!imms & 0x3f);
    if combined == 0 {
        return None;
    }
    let len = 31 - combined.leading_zeros();
    if len < 1 || (1u32 << len) > datasize {
        return None;
    }
    let levels = (1u32 << len) - 1;
    if immediate && (imms & levels) == levels {
        return None;
    }
    let s = imms & levels;
    let r = immr & levels;
    let d = s.wrapping_sub(r) & levels;
    let esize = 1u32 << len;
    let ones = |k: u32| -> u64 {
        if k >= 64 {
            u64::MAX
        } else {
            (1u64 << k) - 1
        }
    };
    let emask = ones(esize);
    let welem = ones(s + 1);
    let telem = ones(d + 1);
    let ror = |v: u64, sh: u32| -> u64 {
        if sh == 0 {
            v
        } else {
            ((v >> sh) | (v << (esize - sh))) & emask
        }
    };
    let wel = ror(welem, r);
    let mut wmask = 0u64;
    let mut tmask = 0u64;
    let mut i = 0;
    while i < datasize {
        wmask |= wel << i;
        tmask |= telem << i;
        i += esize;
    }
    let dm = ones(datasize);
    Some((wmask & dm, tmask & dm))
}

/// Applies an immediate shift (LSL, LSR, ASR, ROR by `shift` 0..3).
pub fn shift_imm(b: &mut Builder, v: Temp, shift: u32, amount: u32) -> Temp {
    if amount == 0 {
        return v;
    }
    let op = match shift {
        0 => BinOp::Shl,
        1 => BinOp::LShr,
        2 => BinOp::AShr,
        _ => BinOp::Ror,
    };
    b.bini(op, v, amount as u128)
}

/// `ExtendReg`: extends the low bits of `v` per `option` and shifts left by `sh`, in `ty`.
pub fn extend_reg(b: &mut Builder, v: Temp, option: u32, sh: u32, ty: Ty) -> Temp {
    let from = match option & 3 {
        0 => Ty::I8,
        1 => Ty::I16,
        2 => Ty::I32,
        _ => Ty::I64,
    };
    let narrowed = b.zext(
        v,
        if from.bits() < b.ty(v).bits() {
            from
        } else {
            b.ty(v)
        },
    );
    let e = if option & 4 != 0 {
        b.sext(narrowed, ty)
    } else {
        b.zext(narrowed, ty)
    };
    if sh == 0 {
        e
    } else {
        b.bini(BinOp::Shl, e, sh as u128)
    }
}

/// Common tail of ADD/ADDS/SUB/SUBS: computes, sets flags, returns the result.
fn addsub(b: &mut Builder, sub: bool, setflags: bool, a: Temp, m: Temp) -> Temp {
    let r = b.bin(if sub { BinOp::Sub } else { BinOp::Add }, a, m);
    if setflags {
        let fl = b.flags(if sub { FlagOp::Sub } else { FlagOp::Add }, a, m, None);
        b.set(Reg::Nzcv, fl);
    }
    r
}

/// ADR / ADRP.
pub fn adr(b: &mut Builder, x: f::ADR) {
    let imm = (((x.immhi << 2) | x.immlo) as i64) << 43 >> 43;
    let v = if x.op != 0 {
        (b.pc & !0xfff).wrapping_add((imm << 12) as u64)
    } else {
        b.pc.wrapping_add(imm as u64)
    };
    let t = b.pc_rel(v);
    b.write_x(x.rd, t);
}

/// ADD/ADDS/SUB/SUBS (immediate).
pub fn addsub_imm(b: &mut Builder, x: f::ADDSUB_imm) {
    let sf = x.sf != 0;
    let a = b.read_xsp(x.rn, sf);
    let imm = if x.sh != 0 { x.imm12 << 12 } else { x.imm12 };
    let m = b.konst(ty(x.sf), imm as u128);
    let r = addsub(b, x.op != 0, x.S != 0, a, m);
    if x.S != 0 {
        b.write_x(x.rd, r)
    } else {
        b.write_xsp(x.rd, r)
    }
}

fn logic_op(b: &mut Builder, opc: u32, a: Temp, m: Temp) -> Temp {
    match opc {
        0 | 3 => b.bin(BinOp::And, a, m),
        1 => b.bin(BinOp::Or, a, m),
        _ => b.bin(BinOp::Xor, a, m),
    }
}

/// AND/ORR/EOR/ANDS (immediate).
pub fn logic_imm(b: &mut Builder, x: f::LOGIC_imm) {
    if x.sf == 0 && x.N != 0 {
        return b.undef();
    }
    let w = if x.sf != 0 { 64 } else { 32 };
    let Some((wmask, _)) = decode_bit_masks(x.N, x.imms, x.immr, true, w) else {
        return b.undef();
    };
    let a = b.read_x(x.rn, x.sf != 0);
    let m = b.konst(ty(x.sf), wmask as u128);
    let r = logic_op(b, x.opc, a, m);
    if x.opc == 3 {
        let fl = b.flags(FlagOp::Logic, r, r, None);
        b.set(Reg::Nzcv, fl);
        b.write_x(x.rd, r);
    } else {
        b.write_xsp(x.rd, r);
    }
}

/// MOVN/MOVZ/MOVK.
pub fn movw(b: &mut Builder, x: f::MOVW) {
    if x.opc == 1 || (x.sf == 0 && x.hw >= 2) {
        return b.undef();
    }
    let t = ty(x.sf);
    let pos = x.hw * 16;
    let imm = (x.imm16 as u128) << pos;
    let r = match x.opc {
        0 => b.konst(t, !imm),
        2 => b.konst(t, imm),
        _ => {
            let old = b.read_x(x.rd, x.sf != 0);
            let kept = b.bini(BinOp::And, old, !(0xffffu128 << pos));
            b.bini(BinOp::Or, kept, imm)
        }
    };
    b.write_x(x.rd, r);
}

/// SBFM/BFM/UBFM.
pub fn bitfield(b: &mut Builder, x: f::BITFIELD) {
    let w = if x.sf != 0 { 64 } else { 32 };
    if x.opc == 3 || x.N != x.sf || (x.sf == 0 && (x.immr >= 32 || x.imms >= 32)) {
        return b.undef();
    }
    let Some((wmask, tmask)) = decode_bit_masks(x.N, x.imms, x.immr, false, w) else {
        return b.undef();
    };
    let sf = x.sf != 0;
    let src = b.read_x(x.rn, sf);
    if x.opc != 1 {
        let r = shift_form(b, src, x.opc == 0, w, x.immr, x.imms);
        return b.write_x(x.rd, r);
    }
    let rot = if x.immr == 0 {
        src
    } else {
        b.bini(BinOp::Ror, src, x.immr as u128)
    };
    let botsrc = b.bini(BinOp::And, rot, wmask as u128);
    let bot = if x.opc == 1 {
        let dst = b.read_x(x.rd, sf);
        let keep = b.bini(BinOp::And, dst, !wmask as u128);
        b.bin(BinOp::Or, keep, botsrc)
    } else {
        botsrc
    };
    let botm = b.bini(BinOp::And, bot, tmask as u128);
    let r = match x.opc {
        0 => {
            // top = replicate(src<S>)
            let up = b.bini(BinOp::Shl, src, (w - 1 - x.imms) as u128);
            let top = b.bini(BinOp::AShr, up, (w - 1) as u128);
            let topm = b.bini(BinOp::And, top, !tmask as u128);
            b.bin(BinOp::Or, topm, botm)
        }
        1 => {
            let dst = b.read_x(x.rd, sf);
            let topm = b.bini(BinOp::And, dst, !tmask as u128);
            b.bin(BinOp::Or, topm, botm)
        }
        _ => botm,
    };
    b.write_x(x.rd, r);
}

/// SBFM (`signed`) / UBFM of `src` (`w` bits) as shifts, a mask or an extension (the
/// forms LSL, LSR, ASR, SXT*, UXT*, SBFX, UBFX, SBFIZ, UBFIZ are all of them).
fn shift_form(b: &mut Builder, src: Temp, signed: bool, w: u32, immr: u32, imms: u32) -> Temp {
    let ty = b.ty(src);
    if imms >= immr {
        // Extract bits imms..immr to the bottom.
        let len = imms - immr + 1;
        if immr == 0 && matches!(len, 8 | 16 | 32) && len < w {
            let narrow = match len {
                8 => Ty::I8,
                16 => Ty::I16,
                _ => Ty::I32,
            };
            let t = b.zext(src, narrow);
            return if signed { b.sext(t, ty) } else { b.zext(t, ty) };
        }
        if imms == w - 1 {
            let op = if signed { BinOp::AShr } else { BinOp::LShr };
            return if immr == 0 {
                src
            } else {
                b.bini(op, src, immr as u128)
            };
        }
        if signed {
            let up = b.bini(BinOp::Shl, src, (w - 1 - imms) as u128);
            return b.bini(BinOp::AShr, up, (w - 1 - imms + immr) as u128);
        }
        let down = if immr == 0 {
            src
        } else {
            b.bini(BinOp::LShr, src, immr as u128)
        };
        return b.bini(BinOp::And, down, (1u128 << len) - 1);
    }
    // Bits imms..0 moved up to position w - immr.
    let up = w - 1 - imms;
    let s = b.bini(BinOp::Shl, src, up as u128);
    let down = immr - 1 - imms;
    if down == 0 {
        return s;
    }
    let op = if signed { BinOp::AShr } else { BinOp::LShr };
    b.bini(op, s, down as u128)
}

/// EXTR.
pub fn extr(b: &mut Builder, x: f::EXTR) {
    let w = if x.sf != 0 { 64 } else { 32 };
    if x.N != x.sf || x.imms >= w {
        return b.undef();
    }
    let sf = x.sf != 0;
    let hi = b.read_x(x.rn, sf);
    let lo = b.read_x(x.rm, sf);
    let r = if x.imms == 0 {
        lo
    } else if x.rn == x.rm {
        // ROR (immediate): one host rotate.
        b.bini(BinOp::Ror, lo, x.imms as u128)
    } else {
        let l = b.bini(BinOp::LShr, lo, x.imms as u128);
        let h = b.bini(BinOp::Shl, hi, (w - x.imms) as u128);
        b.bin(BinOp::Or, l, h)
    };
    b.write_x(x.rd, r);
}

/// AND/BIC/ORR/ORN/EOR/EON/ANDS/BICS (shifted register).
pub fn logic_sreg(b: &mut Builder, x: f::LOGIC_sreg) {
    if x.sf == 0 && x.imm6 >= 32 {
        return b.undef();
    }
    let sf = x.sf != 0;
    let a = b.read_x(x.rn, sf);
    let m0 = b.read_x(x.rm, sf);
    let m1 = shift_imm(b, m0, x.shift, x.imm6);
    let m = if x.N != 0 { b.un(UnOp::Not, m1) } else { m1 };
    let r = logic_op(b, x.opc, a, m);
    if x.opc == 3 {
        let fl = b.flags(FlagOp::Logic, r, r, None);
        b.set(Reg::Nzcv, fl);
    }
    b.write_x(x.rd, r);
}

/// ADD/ADDS/SUB/SUBS (shifted register).
pub fn addsub_sreg(b: &mut Builder, x: f::ADDSUB_sreg) {
    if x.shift == 3 || (x.sf == 0 && x.imm6 >= 32) {
        return b.undef();
    }
    let sf = x.sf != 0;
    let a = b.read_x(x.rn, sf);
    let m0 = b.read_x(x.rm, sf);
    let m = shift_imm(b, m0, x.shift, x.imm6);
    let r = addsub(b, x.op != 0, x.S != 0, a, m);
    b.write_x(x.rd, r);
}

/// ADD/ADDS/SUB/SUBS (extended register).
pub fn addsub_ereg(b: &mut Builder, x: f::ADDSUB_ereg) {
    if x.opt != 0 || x.imm3 > 4 {
        return b.undef();
    }
    let sf = x.sf != 0;
    let a = b.read_xsp(x.rn, sf);
    let m0 = b.read_x(x.rm, true);
    let m = extend_reg(b, m0, x.option, x.imm3, ty(x.sf));
    let r = addsub(b, x.op != 0, x.S != 0, a, m);
    if x.S != 0 {
        b.write_x(x.rd, r)
    } else {
        b.write_xsp(x.rd, r)
    }
}

/// The carry flag as an I8 (0/1).
pub fn carry_flag(b: &mut Builder) -> Temp {
    let n = b.get(Reg::Nzcv);
    let s = b.bini(BinOp::LShr, n, 29);
    let c = b.bini(BinOp::And, s, 1);
    b.zext(c, Ty::I8)
}

/// ADC/ADCS/SBC/SBCS.
pub fn adc(b: &mut Builder, x: f::ADC) {
    let sf = x.sf != 0;
    let a = b.read_x(x.rn, sf);
    let m0 = b.read_x(x.rm, sf);
    let c = carry_flag(b);
    let m = if x.op != 0 { b.un(UnOp::Not, m0) } else { m0 };
    let s = b.bin(BinOp::Add, a, m);
    let cw = b.zext(c, ty(x.sf));
    let r = b.bin(BinOp::Add, s, cw);
    if x.S != 0 {
        let fl = b.flags(
            if x.op != 0 { FlagOp::Sbc } else { FlagOp::Adc },
            a,
            m0,
            Some(c),
        );
        b.set(Reg::Nzcv, fl);
    }
    b.write_x(x.rd, r);
}

fn ccmp(b: &mut Builder, sf: u32, op: u32, cond: u32, nzcv: u32, rn: u32, m: Temp) {
    let a = b.read_x(rn, sf != 0);
    let fl = b.flags(if op != 0 { FlagOp::Sub } else { FlagOp::Add }, a, m, None);
    let alt = b.konst(Ty::I32, (nzcv as u128) << 28);
    let c = b.cond_now(cond);
    let r = b.select(c, fl, alt);
    b.set(Reg::Nzcv, r);
}

/// CCMN/CCMP (register).
pub fn ccmp_reg(b: &mut Builder, x: f::CCMP_reg) {
    let m = b.read_x(x.rm, x.sf != 0);
    ccmp(b, x.sf, x.op, x.cond, x.nzcv, x.rn, m);
}

/// CCMN/CCMP (immediate).
pub fn ccmp_imm(b: &mut Builder, x: f::CCMP_imm) {
    let m = b.konst(ty(x.sf), x.imm5 as u128);
    ccmp(b, x.sf, x.op, x.cond, x.nzcv, x.rn, m);
}

/// CSEL/CSINC/CSINV/CSNEG.
pub fn csel(b: &mut Builder, x: f::CSEL) {
    let sf = x.sf != 0;
    let n = b.read_x(x.rn, sf);
    let m0 = b.read_x(x.rm, sf);
    let m1 = if x.op != 0 { b.un(UnOp::Not, m0) } else { m0 };
    let m = if x.o2 != 0 {
        b.bini(BinOp::Add, m1, 1)
    } else {
        m1
    };
    let c = b.cond_now(x.cond);
    let r = b.select(c, n, m);
    b.write_x(x.rd, r);
}

/// UDIV/SDIV.
pub fn div(b: &mut Builder, x: f::DIV) {
    let sf = x.sf != 0;
    let n = b.read_x(x.rn, sf);
    let m = b.read_x(x.rm, sf);
    let r = b.bin(if x.o1 != 0 { BinOp::SDiv } else { BinOp::UDiv }, n, m);
    b.write_x(x.rd, r);
}

/// LSLV/LSRV/ASRV/RORV.
pub fn shiftv(b: &mut Builder, x: f::SHIFTV) {
    let sf = x.sf != 0;
    let n = b.read_x(x.rn, sf);
    let m = b.read_x(x.rm, sf);
    let op = match x.op2 {
        0 => BinOp::Shl,
        1 => BinOp::LShr,
        2 => BinOp::AShr,
        _ => BinOp::Ror,
    };
    let r = b.bin(op, n, m);
    b.write_x(x.rd, r);
}

/// RBIT/REV16/REV32/REV.
pub fn revbits(b: &mut Builder, x: f::REVBITS) {
    if x.sf == 0 && x.opc == 3 {
        return b.undef();
    }
    let n = b.read_x(x.rn, x.sf != 0);
    let op = match (x.opc, x.sf) {
        (0, _) => UnOp::Rbit,
        (1, _) => UnOp::Rev16,
        (2, 0) => UnOp::Rev,
        (2, _) => UnOp::Rev32,
        _ => UnOp::Rev,
    };
    let r = b.un(op, n);
    b.write_x(x.rd, r);
}

/// CLZ/CLS.
pub fn clzcls(b: &mut Builder, x: f::CLZCLS) {
    let n = b.read_x(x.rn, x.sf != 0);
    let r = b.un(if x.op != 0 { UnOp::Cls } else { UnOp::Clz }, n);
    b.write_x(x.rd, r);
}

/// MADD/MSUB.
pub fn madd(b: &mut Builder, x: f::MADD) {
    let sf = x.sf != 0;
    let n = b.read_x(x.rn, sf);
    let m = b.read_x(x.rm, sf);
    let a = b.read_x(x.ra, sf);
    let p = b.bin(BinOp::Mul, n, m);
    let r = b.bin(if x.o0 != 0 { BinOp::Sub } else { BinOp::Add }, a, p);
    b.write_x(x.rd, r);
}

/// SMADDL/SMSUBL/UMADDL/UMSUBL.
pub fn maddl(b: &mut Builder, x: f::MADDL) {
    let n0 = b.read_x(x.rn, false);
    let m0 = b.read_x(x.rm, false);
    let (n, m) = if x.U != 0 {
        (b.zext(n0, Ty::I64), b.zext(m0, Ty::I64))
    } else {
        (b.sext(n0, Ty::I64), b.sext(m0, Ty::I64))
    };
    let a = b.read_x(x.ra, true);
    let p = b.bin(BinOp::Mul, n, m);
    let r = b.bin(if x.o0 != 0 { BinOp::Sub } else { BinOp::Add }, a, p);
    b.write_x(x.rd, r);
}

/// SMULH/UMULH.
pub fn mulh(b: &mut Builder, x: f::MULH) {
    let n = b.read_x(x.rn, true);
    let m = b.read_x(x.rm, true);
    let r = b.bin(
        if x.U != 0 {
            BinOp::UMulHi
        } else {
            BinOp::SMulHi
        },
        n,
        m,
    );
    b.write_x(x.rd, r);
}
