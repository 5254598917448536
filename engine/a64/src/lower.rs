//! Lowering of decoded instructions to IR: the [`Builder`] that handlers write into,
//! and block formation.

use crate::decode::{decode_enc, dispatch};
use crate::ir::*;
use alloc::vec::Vec;

/// Maximum number of guest instructions in one block.
pub const MAX_BLOCK_INSNS: u32 = 64;

/// Collects the IR of one block. Handlers (`fn(&mut Builder, fields::NAME)`) call its
/// methods; `pc` and `insn` describe the instruction being lowered.
pub struct Builder {
    /// Address of the instruction being lowered.
    pub pc: u64,
    /// The instruction word being lowered.
    pub insn: u32,
    /// Exception level the code runs at (decides UNDEF for privileged instructions).
    pub el: u8,
    ops: Vec<Op>,
    temps: Vec<Ty>,
    term: Option<Term>,
    insn_start: usize,
    temps_start: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Self {
        Builder {
            pc: 0,
            insn: 0,
            el: 0,
            ops: Vec::new(),
            temps: Vec::new(),
            term: None,
            insn_start: 0,
            temps_start: 0,
        }
    }

    /// Starts a new guest instruction (emits the [`Op::Insn`] marker).
    pub fn begin_insn(&mut self, pc: u64, insn: u32) {
        self.pc = pc;
        self.insn = insn;
        self.insn_start = self.ops.len();
        self.temps_start = self.temps.len();
        self.ops.push(Op::Insn { pc, raw: insn });
    }

    /// Whether a terminator has been set.
    pub fn terminated(&self) -> bool {
        self.term.is_some()
    }

    /// Finishes the block; `fallthrough` is used if no terminator was set.
    pub fn finish(mut self, start_pc: u64, ninsns: u32, fallthrough: u64) -> Block {
        // One copy to the final size instead of a reallocation per doubling.
        self.ops.shrink_to_fit();
        self.temps.shrink_to_fit();
        Block {
            pc: start_pc,
            ninsns,
            ops: self.ops,
            temps: self.temps,
            term: self.term.unwrap_or(Term::Jump(fallthrough)),
        }
    }

    /// Appends a raw op (for groups that build ops themselves).
    pub fn emit(&mut self, op: Op) {
        self.ops.push(op);
    }

    /// A fresh temporary of type `ty`.
    pub fn temp(&mut self, ty: Ty) -> Temp {
        self.temps.push(ty);
        Temp(self.temps.len() as u32 - 1)
    }

    /// The type of a temporary.
    pub fn ty(&self, t: Temp) -> Ty {
        self.temps[t.0 as usize]
    }

    /// A constant.
    pub fn konst(&mut self, ty: Ty, val: u128) -> Temp {
        let dst = self.temp(ty);
        self.ops.push(Op::Const {
            dst,
            ty,
            val: val & ty.mask(),
        });
        dst
    }

    /// A PC-relative address (see [`Op::PcRel`]).
    pub fn pc_rel(&mut self, val: u64) -> Temp {
        let dst = self.temp(Ty::I64);
        self.ops.push(Op::PcRel { dst, val });
        dst
    }

    /// A 64-bit constant.
    pub fn k64(&mut self, val: u64) -> Temp {
        self.konst(Ty::I64, val as u128)
    }

    /// Reads a register.
    pub fn get(&mut self, reg: Reg) -> Temp {
        let dst = self.temp(reg.ty());
        self.ops.push(Op::Get { dst, reg });
        dst
    }

    /// Writes a register (the value must have the register's type).
    pub fn set(&mut self, reg: Reg, src: Temp) {
        self.ops.push(Op::Set { reg, src });
    }

    /// `a op b` in the type of `a`.
    pub fn bin(&mut self, op: BinOp, a: Temp, b: Temp) -> Temp {
        let ty = self.ty(a);
        let dst = self.temp(ty);
        self.ops.push(Op::Bin { op, ty, dst, a, b });
        dst
    }

    /// `a op imm` in the type of `a`.
    pub fn bini(&mut self, op: BinOp, a: Temp, imm: u128) -> Temp {
        let ty = self.ty(a);
        let imm = imm & ty.mask();
        if imm > u64::MAX as u128 {
            let k = self.konst(ty, imm);
            return self.bin(op, a, k);
        }
        let dst = self.temp(ty);
        self.ops.push(Op::BinImm {
            op,
            ty,
            dst,
            a,
            imm: imm as u64,
        });
        dst
    }

    /// `op a`.
    pub fn un(&mut self, op: UnOp, a: Temp) -> Temp {
        let ty = self.ty(a);
        let dst = self.temp(ty);
        self.ops.push(Op::Un { op, ty, dst, a });
        dst
    }

    /// Converts `src` to type `ty`: zero-extends, truncates or returns it unchanged.
    pub fn zext(&mut self, src: Temp, ty: Ty) -> Temp {
        let from = self.ty(src);
        if from == ty {
            return src;
        }
        let dst = self.temp(ty);
        if from.bits() < ty.bits() {
            self.ops.push(Op::Zext { dst, src });
        } else {
            self.ops.push(Op::Trunc { dst, src });
        }
        dst
    }

    /// Converts `src` to type `ty`: sign-extends, truncates or returns it unchanged.
    pub fn sext(&mut self, src: Temp, ty: Ty) -> Temp {
        let from = self.ty(src);
        if from == ty {
            return src;
        }
        let dst = self.temp(ty);
        if from.bits() < ty.bits() {
            self.ops.push(Op::Sext { dst, src });
        } else {
            self.ops.push(Op::Trunc { dst, src });
        }
        dst
    }

    /// NZCV of `op` on `a`, `b` with carry `c` (I8, ignored unless Adc/Sbc).
    pub fn flags(&mut self, op: FlagOp, a: Temp, b: Temp, c: Option<Temp>) -> Temp {
        let ty = self.ty(a);
        let c = match c {
            Some(c) => c,
            None => self.konst(Ty::I8, 0),
        };
        let dst = self.temp(Ty::I32);
        self.ops.push(Op::Flags {
            op,
            ty,
            dst,
            a,
            b,
            c,
        });
        dst
    }

    /// 1 (I8) if condition `cond` holds on `nzcv`.
    pub fn cond(&mut self, cond: u32, nzcv: Temp) -> Temp {
        let dst = self.temp(Ty::I8);
        self.ops.push(Op::Cond {
            dst,
            cond: (cond & 15) as u8,
            nzcv,
        });
        dst
    }

    /// 1 (I8) if condition `cond` holds on the current NZCV.
    pub fn cond_now(&mut self, cond: u32) -> Temp {
        let n = self.get(Reg::Nzcv);
        self.cond(cond, n)
    }

    /// `c ? a : b`.
    pub fn select(&mut self, c: Temp, a: Temp, b: Temp) -> Temp {
        let dst = self.temp(self.ty(a));
        self.ops.push(Op::Select { dst, c, a, b });
        dst
    }

    /// Loads `attr.size` bytes, zero-extended to `ty`.
    pub fn load(&mut self, addr: Temp, attr: MemAttr, ty: Ty) -> Temp {
        let dst = self.temp(ty);
        self.ops.push(Op::Load { dst, addr, attr });
        dst
    }

    /// Stores the low `attr.size` bytes of `src`.
    pub fn store(&mut self, addr: Temp, src: Temp, attr: MemAttr) {
        self.ops.push(Op::Store { addr, src, attr });
    }

    /// Calls a helper; returns its result temp if it has a return type.
    pub fn call(&mut self, helper: &'static Helper, args: &[Temp], imm: u64) -> Option<Temp> {
        let dst = helper.ret.map(|t| self.temp(t));
        let pad = match args.first() {
            Some(&a) => a,
            None => self.konst(Ty::I8, 0),
        };
        let mut a = [pad; 3];
        for (i, &t) in args.iter().take(3).enumerate() {
            a[i] = t;
        }
        self.ops.push(Op::Call {
            dst,
            helper,
            args: a,
            nargs: args.len().min(3) as u8,
            imm,
        });
        dst
    }

    // ---- A64 register conventions ----

    /// Reads X`n` (31 = XZR) as I64 if `sf`, else the low 32 bits as I32.
    pub fn read_x(&mut self, n: u32, sf: bool) -> Temp {
        let ty = if sf { Ty::I64 } else { Ty::I32 };
        if n >= 31 {
            return self.konst(ty, 0);
        }
        let r = self.get(Reg::X(n as u8));
        self.zext(r, ty)
    }

    /// Reads X`n` (31 = SP) as I64 if `sf`, else I32.
    pub fn read_xsp(&mut self, n: u32, sf: bool) -> Temp {
        let ty = if sf { Ty::I64 } else { Ty::I32 };
        let r = if n >= 31 {
            self.get(Reg::Sp)
        } else {
            self.get(Reg::X(n as u8))
        };
        self.zext(r, ty)
    }

    /// Writes X`n` (31 = XZR: discarded); I32 values are zero-extended.
    pub fn write_x(&mut self, n: u32, val: Temp) {
        if n >= 31 {
            return;
        }
        let v = self.zext(val, Ty::I64);
        self.set(Reg::X(n as u8), v);
    }

    /// Writes X`n` (31 = SP); I32 values are zero-extended.
    pub fn write_xsp(&mut self, n: u32, val: Temp) {
        let v = self.zext(val, Ty::I64);
        if n >= 31 {
            self.set(Reg::Sp, v)
        } else {
            self.set(Reg::X(n as u8), v)
        }
    }

    /// Reads V`n` (I128).
    pub fn read_v(&mut self, n: u32) -> Temp {
        self.get(Reg::V((n & 31) as u8))
    }

    /// Writes V`n`, zero-extending narrower values to 128 bits.
    pub fn write_v(&mut self, n: u32, val: Temp) {
        let v = self.zext(val, Ty::I128);
        self.set(Reg::V((n & 31) as u8), v)
    }

    // ---- terminators ----

    /// Ends the block with a direct jump.
    pub fn jump(&mut self, target: u64) {
        self.term = Some(Term::Jump(target));
    }

    /// Ends the block with a conditional branch to `taken`, else to the next instruction.
    pub fn branch(&mut self, cond: Temp, taken: u64) {
        self.term = Some(Term::Branch {
            cond,
            taken,
            not_taken: self.pc.wrapping_add(4),
        });
    }

    /// Ends the block with an indirect branch.
    pub fn indirect(&mut self, target: Temp, kind: IndKind) {
        self.term = Some(Term::Indirect { target, kind });
    }

    /// Ends the block with an exception / event for the runner.
    pub fn exception(&mut self, kind: ExcKind) {
        self.term = Some(Term::Exception { kind, pc: self.pc });
    }

    /// The current instruction is UNDEFINED: drops anything it emitted and ends the block
    /// with [`ExcKind::Undef`].
    pub fn undef(&mut self) {
        self.ops.truncate(self.insn_start + 1);
        self.temps.truncate(self.temps_start);
        self.term = Some(Term::Exception {
            kind: ExcKind::Undef(self.insn),
            pc: self.pc,
        });
    }

    /// Ends the block after this instruction (e.g. ISB, system register writes).
    pub fn end_block(&mut self) {
        self.term = Some(Term::Jump(self.pc.wrapping_add(4)));
    }
}

/// Lowers one instruction into `b` (after `begin_insn`). Unallocated words become UNDEF.
pub fn lower_into(b: &mut Builder, insn: u32) {
    match decode_enc(insn) {
        Some(enc) => dispatch(b, insn, enc),
        None => b.undef(),
    }
}

/// Lowers a single instruction at `pc` into a one-instruction block (its terminator is
/// the instruction's own control flow, or a jump to `pc + 4`).
pub fn lower(insn: u32, pc: u64) -> Block {
    let mut b = Builder::new();
    b.begin_insn(pc, insn);
    lower_into(&mut b, insn);
    b.finish(pc, 1, pc.wrapping_add(4))
}

/// Forms and lowers the block starting at `pc`. `fetch` reads an instruction word; if the
/// first fetch fails its error is returned (the runner raises the instruction abort), a
/// later failing fetch just ends the block before that instruction. Blocks end at
/// control flow, exceptions, `max_insns`, or a 4 KiB page boundary.
pub fn lower_block<E>(
    pc: u64,
    el: u8,
    max_insns: u32,
    fetch: &mut dyn FnMut(u64) -> Result<u32, E>,
) -> Result<Block, E> {
    let mut b = Builder::new();
    // Room for typical blocks (about 6 ops and 4 temps per instruction), given back
    // by `finish`.
    let n = max_insns.clamp(1, 64) as usize;
    b.ops.reserve(8 * n);
    b.temps.reserve(8 * n);
    b.el = el;
    let mut cur = pc;
    let mut n = 0;
    loop {
        let insn = match fetch(cur) {
            Ok(i) => i,
            Err(e) => {
                if n == 0 {
                    return Err(e);
                }
                break;
            }
        };
        b.begin_insn(cur, insn);
        lower_into(&mut b, insn);
        n += 1;
        cur = cur.wrapping_add(4);
        let more = n < max_insns.max(1) && cur & 0xfff != 0;
        // A conditional branch in mid-block becomes a side exit; the block goes on
        // with the fall-through path.
        if let (true, Some(Term::Branch { cond, taken, .. })) = (more, b.term) {
            b.term = None;
            b.emit(Op::ExitIf {
                cond,
                target: taken,
                insns: n,
            });
            continue;
        }
        if b.terminated() || !more {
            break;
        }
    }
    Ok(b.finish(pc, n, cur))
}

/// Whether `insn` is an FP/AdvSIMD instruction that `CPACR_EL1.FPEN` traps: SIMD&FP data
/// processing (including crypto), SIMD&FP loads/stores, and MRS/MSR of FPCR/FPSR.
/// A system runner checks this while forming blocks when FP is trapped at the current EL.
pub fn uses_fp(insn: u32) -> bool {
    let op0 = (insn >> 25) & 0xf;
    // Data processing -- SIMD and FP: op0 = x111.
    if op0 & 0b0111 == 0b0111 {
        return true;
    }
    // Loads and stores: op0 = x1x0, with V (bit 26) set.
    if op0 & 0b0101 == 0b0100 && insn & (1 << 26) != 0 {
        return true;
    }
    // MRS/MSR (register) of FPCR (3,3,4,4,0) / FPSR (3,3,4,4,1).
    let sysreg = insn & 0xffd0_0000 == 0xd510_0000 && (insn >> 19) & 1 == 1;
    sysreg && (insn >> 5) & 0x7ffe == crate::sysreg::key(3, 3, 4, 4, 0) & 0x7ffe
}
