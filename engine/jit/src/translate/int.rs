use super::*;

/// The LEA displacement that adds (or subtracts) `imm` in `ty` (I32 or I64), if it fits.
pub(super) fn lea_disp(op: BinOp, ty: Ty, imm: u64) -> Option<i32> {
    let v = match ty {
        Ty::I64 => imm as i64,
        Ty::I32 => i64::from(imm as u32 as i32),
        _ => return None,
    };
    let d = match op {
        BinOp::Add => v,
        BinOp::Sub => v.checked_neg()?,
        _ => return None,
    };
    i32::try_from(d).ok()
}

/// `v` as a sign-extended 32-bit immediate for an op of width `w` (64-bit when true).
pub(super) fn imm_fit(v: u64, w: bool) -> Option<i32> {
    if w {
        let s = v as i64;
        (s >= i32::MIN as i64 && s <= i32::MAX as i64).then_some(s as i32)
    } else {
        (v <= u32::MAX as u64).then_some(v as u32 as i32)
    }
}
/// The x86 condition equal to A64 condition `cond` right after the flags op `k`, or a
/// constant (Some(Err(v))), or None when it needs the NZCV word.
pub(super) fn fused_cc(k: FlagOp, cond: u8) -> Option<Result<Cc, bool>> {
    // Carry sense: Add/Adc: A64 C = x86 CF; Sub/Sbc: C = !CF; Logic: C = 0.
    #[derive(PartialEq)]
    enum C {
        Cf,
        NotCf,
        Zero,
    }
    let c = match k {
        FlagOp::Add | FlagOp::Adc => C::Cf,
        FlagOp::Sub | FlagOp::Sbc => C::NotCf,
        FlagOp::Logic => C::Zero,
    };
    Some(Ok(match cond {
        0 => Cc::E,
        1 => Cc::Ne,
        2 => match c {
            C::Cf => Cc::B,
            C::NotCf => Cc::Ae,
            C::Zero => return Some(Err(false)),
        },
        3 => match c {
            C::Cf => Cc::Ae,
            C::NotCf => Cc::B,
            C::Zero => return Some(Err(true)),
        },
        4 => Cc::S,
        5 => Cc::Ns,
        6 => Cc::O,
        7 => Cc::No,
        8 => match c {
            C::NotCf => Cc::A,
            C::Zero => return Some(Err(false)),
            C::Cf => return None,
        },
        9 => match c {
            C::NotCf => Cc::Be,
            C::Zero => return Some(Err(true)),
            C::Cf => return None,
        },
        10 => Cc::Ge,
        11 => Cc::L,
        12 => Cc::G,
        13 => Cc::Le,
        _ => return Some(Err(true)),
    }))
}

pub(super) fn binop_index(op: BinOp) -> u64 {
    rt::BINOPS.iter().position(|&o| o == op).unwrap_or(0) as u64
}

pub(super) fn unop_index(op: UnOp) -> u64 {
    rt::UNOPS.iter().position(|&o| o == op).unwrap_or(0) as u64
}

impl Tr<'_> {
    /// Folds pure integer ops on constants; true when `op` was folded.
    pub(super) fn fold(&mut self, op: &Op) -> bool {
        let (dst, v) = match *op {
            Op::Bin { op, ty, dst, a, b } => match (self.konst(a), self.konst(b)) {
                (Some(x), Some(y)) => (dst, a64::interp::eval_bin(op, ty, x, y)),
                _ => return false,
            },
            Op::BinImm {
                op,
                ty,
                dst,
                a,
                imm,
            } => match self.konst(a) {
                Some(x) => (
                    dst,
                    a64::interp::eval_bin(op, ty, x, u128::from(imm) & ty.mask()),
                ),
                None => return false,
            },
            Op::Un { op, ty, dst, a } => match self.konst(a) {
                Some(x) => (dst, a64::interp::eval_un(op, ty, x)),
                None => return false,
            },
            Op::Zext { dst, src } | Op::Trunc { dst, src } => match self.konst(src) {
                Some(x) => (dst, x & self.ty(dst).mask()),
                None => return false,
            },
            Op::Sext { dst, src } => match self.konst(src) {
                Some(x) => {
                    let s = 128 - self.ty(src).bits();
                    (dst, (((x << s) as i128 >> s) as u128) & self.ty(dst).mask())
                }
                None => return false,
            },
            _ => return false,
        };
        self.loc[dst.0 as usize] = Loc::Const(v);
        true
    }

    /// Calls `rt_op` with up to three operands; `kind` as in [`rt::rt_op`].
    pub(super) fn fallback(&mut self, i: usize, dst: Temp, ops: &[Temp], code: u64) {
        let f = self.env.rt.op;
        let ops: Vec<Temp> = ops.to_vec();
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                for (k, &t) in ops.iter().enumerate() {
                    s.put16(t, m(R::R12, off::ARGS + 16 * k as i32));
                }
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| s.take16(dst, m(R::R12, off::RET)),
        );
    }

    pub(super) fn fallback_imm(&mut self, i: usize, dst: Temp, a: Temp, imm: u64, code: u64) {
        let f = self.env.rt.op;
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                s.put16(a, m(R::R12, off::ARGS));
                s.a.mov_ri(R::RAX, imm);
                s.a.store(8, m(R::R12, off::ARGS + 16), R::RAX);
                s.a.store_i(8, m(R::R12, off::ARGS + 24), 0);
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| s.take16(dst, m(R::R12, off::RET)),
        );
    }

    pub(super) fn bin(
        &mut self,
        i: usize,
        op: BinOp,
        ty: Ty,
        dst: Temp,
        a: Temp,
        b: Result<u64, Temp>,
    ) {
        if !bin_inline(op, ty) {
            let code = binop_index(op) << 8 | rt::ty_code(ty) << 16;
            match b {
                Ok(imm) => self.fallback_imm(i, dst, a, imm, code),
                Err(bt) => self.fallback(i, dst, &[a, bt], code),
            }
            return;
        }
        if ty == Ty::I128 {
            // And / Or / Xor on 128 bits: SSE on the slots.
            self.xmm_load(1, a);
            match b {
                Err(t) => self.xmm_load(2, t),
                Ok(v) => {
                    self.a.mov_ri(R::RAX, v);
                    self.a.store(8, m(R::R12, off::ARGS + 32), R::RAX);
                    self.a.store_i(8, m(R::R12, off::ARGS + 40), 0);
                    self.a.movdqu_load(2, m(R::R12, off::ARGS + 32));
                }
            }
            let opc: &[u8] = match op {
                BinOp::And => &[0x0f, 0xdb],
                BinOp::Or => &[0x0f, 0xeb],
                _ => &[0x0f, 0xef],
            };
            self.a.sse_rr(opc, 1, 2);
            self.xdef(dst, 1);
            return;
        }
        let w = ty == Ty::I64;
        let bits = ty.bits();
        // Commutative ops: put the operand that can be overwritten (or the constant)
        // where the two-operand x86 form wants it.
        let (a, b) = match b {
            Err(bt)
                if matches!(
                    op,
                    BinOp::Add | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Mul
                ) && !matches!(self.loc[bt.0 as usize], Loc::Const(_))
                    && (matches!(self.loc[a.0 as usize], Loc::Const(_))
                        || self.dies_in_reg(a, i).is_none()
                            && self.dies_in_reg(bt, i).is_some()) =>
            {
                (bt, Err(a))
            }
            _ => (a, b),
        };
        // Operand b: immediate or register.
        let bimm: Option<i32> = match b {
            Ok(v) => imm_fit(v, w),
            Err(t) => self.imm(t, w),
        };
        let bval: Option<u64> = match b {
            Ok(v) => Some(v),
            Err(t) => match self.loc[t.0 as usize] {
                Loc::Const(v) => Some(v as u64),
                _ => None,
            },
        };
        let ar = self.get(a, R::RAX);
        if let Some(disp) = b.ok().and_then(|v| lea_disp(op, ty, v)) {
            // `lea d, [a + disp]`: one instruction, and the host flags survive (a CMOV
            // or branch on them may follow, see `direct_branches`).
            let d = self.def_reuse(dst, a, i);
            self.a.lea(w, d, m(ar, disp));
            self.fin(dst, d);
            return;
        }
        match op {
            BinOp::Add | BinOp::Sub | BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Mul => {
                let br = if bimm.is_some() {
                    None
                } else {
                    Some(match b {
                        Ok(v) => {
                            self.a.mov_ri(R::RCX, v);
                            R::RCX
                        }
                        Err(t) => self.get(t, R::RCX),
                    })
                };
                let d = self.def_reuse(dst, a, i);
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                let alu = match op {
                    BinOp::Add => Some(Alu::Add),
                    BinOp::Sub => Some(Alu::Sub),
                    BinOp::And => Some(Alu::And),
                    BinOp::Or => Some(Alu::Or),
                    BinOp::Xor => Some(Alu::Xor),
                    _ => None,
                };
                match (alu, br) {
                    (Some(k), None) => self.a.alu_ri(w, k, d, bimm.unwrap_or(0)),
                    (Some(k), Some(br)) => self.a.alu_rr(w, k, d, br),
                    (None, None) => {
                        self.a.mov_ri(R::RCX, bval.unwrap_or(0));
                        self.a.imul_rr(w, d, R::RCX);
                    }
                    (None, Some(br)) => self.a.imul_rr(w, d, br),
                }
                if bits < 32 && matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul) {
                    self.a.movzx((bits / 8) as u8, d, d);
                }
                self.fin(dst, d);
            }
            BinOp::Shl | BinOp::LShr | BinOp::AShr | BinOp::Ror => {
                let sh = match op {
                    BinOp::Shl => Sh::Shl,
                    BinOp::LShr => Sh::Shr,
                    BinOp::AShr => Sh::Sar,
                    _ => Sh::Ror,
                };
                if let Some(v) = bval {
                    let d = self.def_reuse(dst, a, i);
                    if d != ar {
                        self.a.mov_rr(w, d, ar);
                    }
                    let n = (v % u64::from(bits)) as u8;
                    if n != 0 {
                        self.a.sh_i(w, sh, d, n);
                    }
                    self.fin(dst, d);
                } else {
                    let Err(bt) = b else { return };
                    // Shift count to CL; value to RAX.
                    let br = self.get(bt, R::RCX);
                    if br != R::RCX {
                        self.a.mov_rr(false, R::RCX, br);
                    }
                    if ar != R::RAX {
                        self.a.mov_rr(w, R::RAX, ar);
                    }
                    self.a.sh_cl(w, sh, R::RAX);
                    let d = self.def(dst);
                    if d != R::RAX {
                        self.a.mov_rr(w, d, R::RAX);
                    }
                    self.fin(dst, d);
                }
            }
            BinOp::UDiv | BinOp::SDiv => {
                let br = match b {
                    Ok(v) => {
                        self.a.mov_ri(R::RCX, v);
                        R::RCX
                    }
                    Err(t) => self.get(t, R::RCX),
                };
                if br != R::RCX {
                    self.a.mov_rr(w, R::RCX, br);
                }
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                // x / 0 = 0.
                self.a.test_rr(w, R::RCX, R::RCX);
                let z = self.a.jcc_fwd(Cc::E);
                let mut neg = None;
                if op == BinOp::SDiv {
                    self.a.alu_ri(w, Alu::Cmp, R::RCX, -1);
                    neg = Some(self.a.jcc_fwd(Cc::E));
                    self.a.cqo(w);
                    self.a.grp3(w, 7, R::RCX);
                } else {
                    self.a.alu_rr(false, Alu::Xor, R::RDX, R::RDX);
                    self.a.grp3(w, 6, R::RCX);
                }
                let done = self.a.jmp_fwd();
                if let Some(n) = neg {
                    // x / -1 = -x (wrapping: MIN / -1 = MIN).
                    self.a.bind(n);
                    self.a.grp3(w, 3, R::RAX);
                    let d2 = self.a.jmp_fwd();
                    self.a.bind(z);
                    self.a.alu_rr(false, Alu::Xor, R::RAX, R::RAX);
                    self.a.bind(d2);
                } else {
                    self.a.bind(z);
                    self.a.alu_rr(false, Alu::Xor, R::RAX, R::RAX);
                }
                self.a.bind(done);
                let d = self.def(dst);
                if d != R::RAX {
                    self.a.mov_rr(w, d, R::RAX);
                }
                self.fin(dst, d);
            }
            BinOp::UMulHi | BinOp::SMulHi => {
                let signed = op == BinOp::SMulHi;
                let br = match b {
                    Ok(v) => {
                        self.a.mov_ri(R::RCX, v);
                        R::RCX
                    }
                    Err(t) => self.get(t, R::RCX),
                };
                if w {
                    if br != R::RCX {
                        self.a.mov_rr(true, R::RCX, br);
                    }
                    if ar != R::RAX {
                        self.a.mov_rr(true, R::RAX, ar);
                    }
                    self.a.grp3(true, if signed { 5 } else { 4 }, R::RCX);
                    let d = self.def(dst);
                    self.a.mov_rr(true, d, R::RDX);
                    self.fin(dst, d);
                } else {
                    // 32-bit: full product in 64 bits, high half.
                    if signed {
                        self.a.movsx(true, 4, R::RCX, br);
                        self.a.movsx(true, 4, R::RAX, ar);
                    } else {
                        self.a.mov_rr(false, R::RCX, br);
                        self.a.mov_rr(false, R::RAX, ar);
                    }
                    self.a.imul_rr(true, R::RAX, R::RCX);
                    self.a.sh_i(true, Sh::Shr, R::RAX, 32);
                    let d = self.def(dst);
                    self.a.mov_rr(false, d, R::RAX);
                    self.fin(dst, d);
                }
            }
        }
    }

    pub(super) fn un(&mut self, i: usize, op: UnOp, ty: Ty, dst: Temp, a: Temp) {
        if !un_inline(op, ty, self.env.feats) {
            let code = 1 | unop_index(op) << 8 | rt::ty_code(ty) << 16;
            self.fallback(i, dst, &[a], code);
            return;
        }
        if ty == Ty::I128 {
            // Not on 128 bits.
            self.xmm_load(0, a);
            self.a.sse_rr(&[0x0f, 0x76], 7, 7);
            self.a.sse_rr(&[0x0f, 0xef], 0, 7);
            self.xdef(dst, 0);
            return;
        }
        let w = ty == Ty::I64;
        let ar = self.get(a, R::RAX);
        let d = if matches!(op, UnOp::Clz | UnOp::Popcnt) {
            self.def(dst)
        } else {
            self.def_reuse(dst, a, i)
        };
        match op {
            UnOp::Not | UnOp::Neg => {
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                self.a.grp3(w, if op == UnOp::Not { 2 } else { 3 }, d);
                if ty.bits() < 32 {
                    self.a.movzx((ty.bits() / 8) as u8, d, d);
                }
            }
            UnOp::Rev | UnOp::Rev32 => {
                if d != ar {
                    self.a.mov_rr(w, d, ar);
                }
                self.a.bswap(w, d);
                if op == UnOp::Rev32 {
                    self.a.sh_i(true, Sh::Ror, d, 32);
                }
            }
            UnOp::Clz => self.a.f3op(w, 0xbd, d, ar),
            _ => self.a.f3op(w, 0xb8, d, ar),
        }
        self.fin(dst, d);
    }

    pub(super) fn ext(&mut self, i: usize, dst: Temp, src: Temp, signed: bool) {
        let (ft, tt) = (self.ty(src), self.ty(dst));
        if tt == Ty::I128 {
            if signed && ft != Ty::I128 {
                let code = 2 | rt::ty_code(tt) << 16 | rt::ty_code(ft) << 24;
                self.fallback(i, dst, &[src], code);
                return;
            }
            // Zero-extension (or a 128-bit copy).
            self.def(dst);
            match self.loc[dst.0 as usize] {
                Loc::Xmm(x) => self.xmm_load(x, src),
                _ => self.put16(src, slot(dst)),
            }
            return;
        }
        // Narrow destination.
        let sr = if ft == Ty::I128 {
            match self.loc[src.0 as usize] {
                Loc::Const(v) => {
                    self.a.mov_ri(R::RAX, v as u64);
                }
                Loc::Xmm(x) => self.a.movq_rx(R::RAX, x),
                _ => self.a.load(8, R::RAX, slot(src)),
            }
            R::RAX
        } else {
            self.get(src, R::RAX)
        };
        let d = self.def_reuse(dst, src, i);
        if signed && ft.bits() < tt.bits() {
            self.a.movsx(tt == Ty::I64, ft.bytes() as u8, d, sr);
            if tt.bits() < 32 {
                self.a.movzx(tt.bytes() as u8, d, d);
            }
        } else if ft.bits() <= tt.bits()
            || ft == Ty::I128 && tt == Ty::I64
            || (ft == Ty::I64 && tt == Ty::I32 && self.narrow[src.0 as usize])
        {
            // Zero-extension: registers already hold values zero-extended from their
            // type, so this is at most a copy.
            if d != sr {
                self.a.mov_rr(true, d, sr);
            }
        } else {
            match tt.bits() {
                8 | 16 => self.a.movzx((tt.bits() / 8) as u8, d, sr),
                32 => self.a.mov_rr(false, d, sr),
                _ => {
                    if d != sr {
                        self.a.mov_rr(true, d, sr)
                    }
                }
            }
        }
        self.fin(dst, d);
    }

    /// Stores the pending NZCV write, if any.
    pub(super) fn flush_nzcv(&mut self) {
        if let Some(p) = self.pend.take() {
            self.store_nzcv(p);
        }
    }

    /// Whether a branch on `cond` jumps straight on the host flags of the owed NZCV
    /// write `pend` (so both its paths still have them).
    pub(super) fn flags_are_pend(&self, cond: Temp, pend: Option<Pend>) -> bool {
        let Some(p) = pend.filter(|p| p.sel.is_none()) else {
            return false;
        };
        if self.direct[cond.0 as usize].is_none() {
            return false;
        }
        let Some(&(t, _, _)) = self.flag_conds.iter().find(|&&(_, _, d)| d == cond) else {
            return false;
        };
        let Some((f, _)) = self.flags_def[t as usize] else {
            return false;
        };
        matches!(self.b.ops[f], Op::Flags { op, ty, a, b, c, .. }
            if (op, ty, a, b, c) == (p.k, p.ty, p.a, p.b, p.c))
    }

    /// Stores NZCV of `p` from the host flags, which still hold it (clobbers RAX, RCX).
    pub(super) fn store_nzcv_from_flags(&mut self, p: Pend) {
        self.nzcv_to_ecx(p.k);
        self.a.store(4, m(R::RBP, off::NZCV), R::RCX);
    }

    /// Recomputes the flags of `p` and stores NZCV (clobbers RAX, RCX, RDX).
    pub(super) fn store_nzcv(&mut self, p: Pend) {
        self.flag_insn(p.k, p.ty, p.a, p.b, p.c);
        self.nzcv_to_ecx(p.k);
        if let Some((c, k)) = p.sel {
            let cr = self.get(c, R::RDX);
            self.a.test_rr8(cr, cr);
            self.mov_nf(R::RAX, u64::from(k));
            self.a.cmov(false, Cc::E, R::RCX, R::RAX);
        }
        self.a.store(4, m(R::RBP, off::NZCV), R::RCX);
    }

    /// Emits the x86 instruction whose host flags give NZCV of `k` (operands in
    /// registers or RAX/RCX/RDX).
    pub(super) fn flag_insn(&mut self, k: FlagOp, ty: Ty, a: Temp, b: Temp, c: Temp) {
        let w = ty == Ty::I64;
        // Load the operands first: nothing after the flags-setting instruction may
        // disturb the flags until the conditions are taken.
        match k {
            FlagOp::Logic => {
                let ar = self.get(a, R::RAX);
                self.a.test_rr(w, ar, ar);
            }
            FlagOp::Sub => {
                let ar = self.get(a, R::RAX);
                if let Some(v) = self.imm(b, w) {
                    self.a.alu_ri(w, Alu::Cmp, ar, v);
                } else {
                    let br = self.get(b, R::RCX);
                    self.a.alu_rr(w, Alu::Cmp, ar, br);
                }
            }
            FlagOp::Add => {
                let ar = self.get(a, R::RAX);
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                if let Some(v) = self.imm(b, w) {
                    self.a.alu_ri(w, Alu::Add, R::RAX, v);
                } else {
                    let br = self.get(b, R::RCX);
                    self.a.alu_rr(w, Alu::Add, R::RAX, br);
                }
            }
            FlagOp::Adc | FlagOp::Sbc => {
                let ar = self.get(a, R::RAX);
                if ar != R::RAX {
                    self.a.mov_rr(w, R::RAX, ar);
                }
                let br = self.get(b, R::RCX);
                let cr = self.get(c, R::RDX);
                self.a.bt_i(false, cr, 0);
                if k == FlagOp::Sbc {
                    self.a.cmc();
                    self.a.alu_rr(w, Alu::Sbb, R::RAX, br);
                } else {
                    self.a.alu_rr(w, Alu::Adc, R::RAX, br);
                }
            }
        }
    }

    pub(super) fn flags(&mut self, k: FlagOp, ty: Ty, dst: Temp, a: Temp, b: Temp, c: Temp) {
        self.flag_insn(k, ty, a, b, c);
        // Fused conditions.
        let nconds = self.flag_conds.len();
        for k in 0..nconds {
            let (t, j, cd) = self.flag_conds[k];
            if t != dst.0 || self.direct[cd.0 as usize].is_some() {
                continue;
            }
            let r = self.def(cd);
            match self.fused[j] {
                Some(Ok(cc)) => {
                    self.a.setcc(cc, r);
                    self.a.movzx(1, r, r);
                }
                Some(Err(v)) => self.mov_nf(r, u64::from(v)),
                None => {}
            }
            if self.loc[cd.0 as usize] == Loc::Slot {
                // Slot: store without touching the flags.
                self.a.store(8, slot(cd), r);
            }
        }
        if self.plain_uses[dst.0 as usize] == 0 {
            self.loc[dst.0 as usize] = Loc::Const(0);
            return;
        }
        self.nzcv_to_ecx(k);
        let d = self.def(dst);
        self.a.mov_rr(false, d, R::RCX);
        self.fin(dst, d);
    }

    /// ECX = NZCV (bits 31..28) from the host flags left by [`Tr::flag_insn`] for `k`
    /// (clobbers RAX and RDX).
    pub(super) fn nzcv_to_ecx(&mut self, k: FlagOp) {
        if self.env.feats.flag_pext {
            // AH = SF:ZF:0:AF:0:PF:1:CF, AL = OF; PEXT with 0xC101 gathers N Z C V.
            self.a.lahf();
            self.a.setcc(Cc::O, R::RAX);
            self.a.mov_ri(R::RCX, 0xc101);
            self.a.pext_ecx_eax_ecx();
            self.a.sh_i(false, Sh::Shl, R::RCX, 28);
            match k {
                FlagOp::Sub | FlagOp::Sbc => self.a.alu_ri(false, Alu::Xor, R::RCX, 1 << 29),
                FlagOp::Logic => self
                    .a
                    .alu_ri(false, Alu::And, R::RCX, 0xc000_0000u32 as i32),
                _ => {}
            }
            return;
        }
        // Materialise NZCV: V -> AL, C -> CL, Z -> DL, N -> scratch byte.
        self.a.setcc(Cc::O, R::RAX);
        match k {
            FlagOp::Add | FlagOp::Adc => self.a.setcc(Cc::B, R::RCX),
            FlagOp::Sub | FlagOp::Sbc => self.a.setcc(Cc::Ae, R::RCX),
            FlagOp::Logic => self.mov_nf(R::RCX, 0),
        }
        self.a.setcc(Cc::E, R::RDX);
        // sets byte [r12 + SCRATCH]
        let sm = m(R::R12, off::SCRATCH);
        {
            // 41 0F 98 /0 with r12 base: emit via a generic path.
            self.setcc_m(Cc::S, sm);
        }
        self.a.movzx(1, R::RAX, R::RAX);
        self.a.movzx(1, R::RCX, R::RCX);
        self.a.movzx(1, R::RDX, R::RDX);
        self.a.lea(false, R::RCX, mi(R::RAX, R::RCX, 2, 0));
        self.a.lea(false, R::RCX, mi(R::RCX, R::RDX, 4, 0));
        self.a.load(1, R::RDX, sm);
        self.a.lea(false, R::RCX, mi(R::RCX, R::RDX, 8, 0));
        self.a.sh_i(false, Sh::Shl, R::RCX, 28);
    }

    pub(super) fn setcc_m(&mut self, cc: Cc, mm: crate::emit::M) {
        // SETcc r/m8 with a memory operand: REX.B for R12, 0F 9x, ModRM.
        let mut t = Asm::new();
        t.load(1, R::RAX, mm); // movzx eax, byte [mm]: same ModRM/SIB/disp layout
                               // t.buf = [REX?] 0F B6 modrm sib disp...
        let (rex, rest) = if t.buf[0] & 0xf0 == 0x40 {
            (Some(t.buf[0]), &t.buf[1..])
        } else {
            (None, &t.buf[..])
        };
        if let Some(r) = rex {
            self.a.buf.push(r);
        }
        self.a.buf.push(0x0f);
        self.a.buf.push(0x90 | cc as u8);
        self.a.buf.extend_from_slice(&rest[2..]);
    }
}
