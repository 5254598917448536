use super::*;

impl Tr<'_> {
    pub(super) fn sys_read(&mut self, i: usize, dst: Temp, reg: SysReg) {
        let inline: Option<(i32, u8)> = match reg {
            SysReg::Nzcv => Some((off::NZCV, 4)),
            SysReg::Daif => Some((off::DAIF, 4)),
            SysReg::Fpcr => Some((off::FPCR, 4)),
            SysReg::Fpsr => Some((off::FPSR, 4)),
            SysReg::TpidrEl0 => Some((off::TPIDR, 8)),
            SysReg::TpidrroEl0 => Some((off::TPIDRRO, 8)),
            _ => None,
        };
        if let Some((d, sz)) = inline {
            let r = self.def(dst);
            self.a.load(sz, r, m(R::RBP, d));
            self.fin(dst, r);
            return;
        }
        let konst = match reg {
            SysReg::Const(v) => Some(v),
            SysReg::CtrEl0 => Some(a64::interp::consts::CTR_EL0),
            SysReg::DczidEl0 => Some(a64::interp::consts::DCZID_EL0),
            _ => None,
        };
        if let Some(v) = konst {
            let r = self.def(dst);
            self.a.mov_ri(r, v);
            self.fin(dst, r);
            return;
        }
        let code = rt::sysreg_code(reg).unwrap_or(0);
        let f = self.env.rt.sys_read;
        let (pc, raw) = (self.pc, self.raw);
        self.call_site(
            i,
            Some(dst),
            f,
            |s| {
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| {
                s.a.test_rr(false, R::RAX, R::RAX);
                let fx = s.a.jcc_fwd(Cc::Ne);
                s.undef_exits.push((fx, pc, raw));
                s.take16(dst, m(R::R12, off::RET));
            },
        );
    }

    pub(super) fn sys_write(&mut self, i: usize, reg: SysReg, src: Temp) {
        let inline: Option<(i32, u8, u64)> = match reg {
            SysReg::Nzcv => Some((off::NZCV, 4, u64::from(a64::state::flags::MASK))),
            SysReg::Fpcr => Some((off::FPCR, 4, u64::from(a64::interp::consts::FPCR_MASK))),
            SysReg::Fpsr => Some((off::FPSR, 4, u64::from(a64::interp::consts::FPSR_MASK))),
            SysReg::TpidrEl0 => Some((off::TPIDR, 8, u64::MAX)),
            SysReg::TpidrroEl0 => Some((off::TPIDRRO, 8, u64::MAX)),
            SysReg::Const(_) | SysReg::CtrEl0 | SysReg::DczidEl0 => return,
            _ => None,
        };
        if reg == SysReg::Daif {
            // Inline; when the write unmasks IRQ or FIQ while a line is asserted, stop
            // at the next block entry so the runner takes the interrupt.
            let r = self.get(src, R::RAX);
            self.a.mov_rr(false, R::RAX, r);
            self.a.alu_ri(false, Alu::And, R::RAX, 0x3c0);
            self.a.store(4, m(R::RBP, off::DAIF), R::RAX);
            self.a.alu_ri(false, Alu::And, R::RAX, 0xc0);
            self.a.alu_ri(false, Alu::Cmp, R::RAX, 0xc0);
            let masked = self.a.jcc_fwd(Cc::E);
            self.a.cmp_m8i(m(R::R12, off::IRQ_LINE), 0);
            let quiet = self.a.jcc_fwd(Cc::E);
            self.a.store_i(8, m(R::R12, off::LIMIT), 0);
            self.a.load(8, R::RCX, m(R::R12, off::IRQ));
            self.a.store_i8(m(R::RCX, 0), 1);
            self.a.bind(masked);
            self.a.bind(quiet);
            return;
        }
        if let Some((d, sz, mask)) = inline {
            let r = self.get(src, R::RAX);
            if sz == 4 {
                self.a.mov_rr(false, R::RAX, r);
                self.a.alu_ri(false, Alu::And, R::RAX, mask as u32 as i32);
                self.a.store(4, m(R::RBP, d), R::RAX);
            } else {
                self.a.store(8, m(R::RBP, d), r);
            }
            return;
        }
        // Most writes may change what translated code is keyed on: the runner looks
        // again before the next block.
        self.no_chain |= !a64::sysreg::write_keeps_context(reg);
        let code = rt::sysreg_code(reg).unwrap_or(0);
        let f = self.env.rt.sys_write;
        let (pc, raw) = (self.pc, self.raw);
        self.call_site(
            i,
            None,
            f,
            |s| {
                s.get_into(src, R::RDX);
                s.a.mov_rr(true, R::RDI, R::R12);
                s.a.mov_ri(R::RSI, code);
            },
            |s| {
                s.a.test_rr(false, R::RAX, R::RAX);
                let fx = s.a.jcc_fwd(Cc::Ne);
                s.undef_exits.push((fx, pc, raw));
            },
        );
    }

    /// Leaves the block for the runner to take exception or event `kind` at `pc`.
    pub(super) fn exception_exit(&mut self, kind: ExcKind, pc: u64) {
        if !matches!(kind, ExcKind::Wfi | ExcKind::Wfe | ExcKind::Maint(_)) {
            self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        }
        let resume = if kind.resumes_after() {
            pc.wrapping_add(4)
        } else {
            pc
        };
        self.set_pc(resume);
        let k = self.exits.len();
        self.exits.push(ExitRec::Exception {
            kind,
            raw: self.raw,
        });
        let code = exit::EXIT_REC | u64::from(self.env.block_id) << 8 | k as u64;
        self.a.mov_ri(R::RAX, code);
        self.jmp_abs(self.env.epilogue);
    }
}
