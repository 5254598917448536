use super::*;

impl Tr<'_> {
    pub(super) fn jmp_abs(&mut self, target: u64) {
        self.a.buf.push(0xe9);
        let rel = self.abs_rel(target) - 4;
        self.a.buf.extend_from_slice(&rel.to_le_bytes());
    }

    /// Calls the shared lookup (target VA in RDI) and jumps to the entry it returns.
    pub(super) fn lookup_jump(&mut self) {
        self.a.buf.push(0xe8);
        let rel = self.abs_rel(self.env.lookup) - 4;
        self.a.buf.extend_from_slice(&rel.to_le_bytes());
        self.a.jmp_r(R::RAX);
    }

    /// An exit to guest `target` from the end of the block.
    pub(super) fn exit_to(&mut self, target: u64) {
        let same_page = target & !0xfff == self.b.pc & !0xfff;
        if self.no_chain {
            self.set_pc(target);
            self.a.mov_ri(R::RAX, exit::CONTINUE);
            self.jmp_abs(self.env.epilogue);
        } else if same_page {
            // A patchable jump, initially to the stub right after it; `cpu.pc` moves
            // first, as the next block expects.
            self.set_pc(target);
            let k = self.exits.len();
            let f = self.a.jmp_fwd();
            let patch = self.env.base + f.0 as u64;
            self.a.bind(f);
            self.exits.push(ExitRec::Chain { patch });
            let code = exit::EXIT_REC | u64::from(self.env.block_id) << 8 | k as u64;
            self.a.mov_ri(R::RAX, code);
            self.jmp_abs(self.env.epilogue);
        } else {
            self.pc_into(R::RDI, target);
            self.lookup_jump();
        }
    }

    /// A forward jump taken when `cond` (I8) is non-zero.
    pub(super) fn branch_if(&mut self, cond: Temp) -> Fixup {
        if let Some(cc) = self.direct[cond.0 as usize] {
            return self.a.jcc_fwd(cc);
        }
        let c = self.get(cond, R::RAX);
        self.a.test_rr8(c, c);
        self.a.jcc_fwd(Cc::Ne)
    }

    /// The shared data-abort and UNDEF exits of the block.
    pub(super) fn emit_exits(&mut self) {
        let faults = core::mem::take(&mut self.fault_exits);
        for (f, pc) in faults {
            self.a.bind(f);
            self.set_pc(pc);
            self.a.mov_ri(R::RAX, exit::DATA_ABORT);
            self.jmp_abs(self.env.epilogue);
        }
        let undefs = core::mem::take(&mut self.undef_exits);
        for (f, pc, raw) in undefs {
            self.a.bind(f);
            self.set_pc(pc);
            self.a.mov_ri(R::RAX, u64::from(raw));
            self.a.store(8, m(R::R12, off::UNDEF_RAW), R::RAX);
            self.a.mov_ri(R::RAX, exit::UNDEF);
            self.jmp_abs(self.env.epilogue);
        }
    }
}
