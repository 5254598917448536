//! Exception generation, hints, barriers, MSR/MRS, SYS (DC/IC/AT/TLBI).

use crate::decode::fields as f;
use crate::ir::{Barrier, ExcKind, Maint, Op, Reg, SysReg, Ty};
use crate::lower::Builder;
use crate::sysreg;

/// SVC/HVC/SMC/BRK/HLT (DCPS* are UNDEF: no external debug; HVC/SMC are UNDEF at EL0).
pub fn excgen(b: &mut Builder, x: f::EXCGEN) {
    let imm = x.imm16 as u16;
    let kind = match (x.opc, x.ll) {
        (0, 1) => ExcKind::Svc(imm),
        // HVC is UNDEFINED at EL0; SMC is UNDEFINED everywhere (no EL3 is implemented).
        (0, 2) if b.el == 0 => return b.undef(),
        (0, 2) => ExcKind::Hvc(imm),
        (0, 3) => return b.undef(),
        (1, 0) => ExcKind::Brk(imm),
        (2, 0) => ExcKind::Hlt(imm),
        _ => return b.undef(),
    };
    b.exception(kind);
}

/// ERET (UNDEF at EL0).
pub fn eret(b: &mut Builder, _x: f::ERET) {
    if b.el == 0 {
        return b.undef();
    }
    b.exception(ExcKind::Eret);
}

/// NOP, YIELD, WFE, WFI, SEV, SEVL; unallocated hints (PAC, BTI, ...) execute as NOP.
pub fn hint(b: &mut Builder, x: f::HINT) {
    match (x.CRm, x.op2) {
        (0, 2) => b.exception(ExcKind::Wfe),
        (0, 3) => b.exception(ExcKind::Wfi),
        _ => {}
    }
}

/// CLREX, DSB, DMB, ISB.
pub fn barrier(b: &mut Builder, x: f::BARRIER) {
    match x.op2 {
        2 => b.emit(Op::ClearExcl),
        4 => b.emit(Op::Barrier(Barrier::Dsb(x.CRm as u8))),
        5 => b.emit(Op::Barrier(Barrier::Dmb(x.CRm as u8))),
        6 => {
            b.emit(Op::Barrier(Barrier::Isb));
            b.end_block();
        }
        _ => b.undef(),
    }
}

/// MSR (immediate): DAIFSet/DAIFClr/SPSel at EL1; UNDEF at EL0 (SCTLR_EL1.UMA = 0).
pub fn msr_imm(b: &mut Builder, x: f::MSR_imm) {
    if b.el == 0 {
        return b.undef();
    }
    match (x.op1, x.op2) {
        (3, 6) | (3, 7) => {
            let cur = b.temp(Ty::I64);
            b.emit(Op::SysRead {
                dst: cur,
                reg: SysReg::Daif,
            });
            let bits = (x.CRm as u128) << 6;
            let new = if x.op2 == 6 {
                b.bini(crate::ir::BinOp::Or, cur, bits)
            } else {
                b.bini(crate::ir::BinOp::And, cur, !bits)
            };
            b.emit(Op::SysWrite {
                reg: SysReg::Daif,
                src: new,
            });
            b.end_block();
        }
        // PAN (op1 = 0, op2 = 4) and SPSel (op1 = 0, op2 = 5): the environment's.
        (0, 4) | (0, 5) => {
            let key = if x.op2 == 4 {
                sysreg::KEY_PAN
            } else {
                sysreg::KEY_SPSEL
            };
            // Same value layout as the register forms: PAN in bit 22, SPSel in bit 0.
            let shift = if x.op2 == 4 { 22 } else { 0 };
            let v = b.k64(((x.CRm & 1) as u64) << shift);
            b.emit(Op::SysWrite {
                reg: SysReg::Impl(key),
                src: v,
            });
            b.end_block();
        }
        _ => b.undef(),
    }
}

/// SYS: DC, IC, AT, TLBI.
pub fn sys(b: &mut Builder, x: f::SYS) {
    let el0 = b.el == 0;
    match (x.op1, x.CRn, x.CRm, x.op2) {
        (3, 7, 4, 1) => {
            let a = b.read_x(x.rt, true);
            b.emit(Op::DcZva { addr: a });
        }
        // DC CVAC, CVAU, CVAP, CIVAC: no effect on a coherent single core.
        (3, 7, 10, 1) | (3, 7, 11, 1) | (3, 7, 12, 1) | (3, 7, 14, 1) => {}
        (3, 7, 5, 1) => b.exception(ExcKind::Maint(Maint::IcIvau)),
        _ if el0 => b.undef(),
        (0, 7, 6, 1) | (0, 7, 6, 2) | (0, 7, 10, 2) | (0, 7, 14, 2) => match x.op2 {
            1 => {}
            _ => b.exception(ExcKind::Maint(Maint::DcSw)),
        },
        (0, 7, 1, 0) | (0, 7, 5, 0) => b.exception(ExcKind::Maint(Maint::IcAll)),
        (0, 7, 8, 0..=3) | (4, 7, 8, 0..=7) | (6, 7, 8, 0..=1) => {
            b.exception(ExcKind::Maint(Maint::At))
        }
        (_, 8, _, _) => b.exception(ExcKind::Maint(Maint::Tlbi)),
        _ => b.undef(),
    }
}

fn resolve(
    b: &Builder,
    o0: u32,
    op1: u32,
    crn: u32,
    crm: u32,
    op2: u32,
    write: bool,
) -> Option<SysReg> {
    let Some(info) = sysreg::lookup(2 + o0, op1, crn, crm, op2) else {
        // Not modelled by the core: the environment decides (it may UNDEF).
        return Some(SysReg::Impl(sysreg::key(2 + o0, op1, crn, crm, op2)));
    };
    let need = if write { info.write_el } else { info.read_el };
    (b.el >= need).then_some(info.reg)
}

/// MSR (register).
pub fn msr_reg(b: &mut Builder, x: f::MSR_reg) {
    let Some(reg) = resolve(b, x.o0, x.op1, x.CRn, x.CRm, x.op2, true) else {
        return b.undef();
    };
    let v = b.read_x(x.rt, true);
    match reg {
        SysReg::Nzcv | SysReg::Fpcr | SysReg::Fpsr => {
            let r = match reg {
                SysReg::Nzcv => Reg::Nzcv,
                SysReg::Fpcr => Reg::Fpcr,
                _ => Reg::Fpsr,
            };
            let t = b.zext(v, Ty::I32);
            b.set(r, t);
        }
        _ => {
            b.emit(Op::SysWrite { reg, src: v });
            if !sysreg::write_keeps_context(reg) {
                b.end_block();
            }
        }
    }
}

/// MRS.
pub fn mrs(b: &mut Builder, x: f::MRS) {
    let Some(reg) = resolve(b, x.o0, x.op1, x.CRn, x.CRm, x.op2, false) else {
        return b.undef();
    };
    let v = match reg {
        SysReg::Nzcv => b.get(Reg::Nzcv),
        SysReg::Fpcr => b.get(Reg::Fpcr),
        SysReg::Fpsr => b.get(Reg::Fpsr),
        _ => {
            let d = b.temp(Ty::I64);
            b.emit(Op::SysRead { dst: d, reg });
            d
        }
    };
    b.write_x(x.rt, v);
}
