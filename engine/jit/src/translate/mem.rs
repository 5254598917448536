use super::*;

/// `dst` = the offset of the TLB entry of the address in `va` (another register):
/// ((va >> 12) & (TLB_SIZE - 1)) * 32 = (va >> 7) & mask (the bits a rotate brings in at
/// the top are masked off). Also used by the lookup stub.
pub(crate) fn tlb_entry_offset(a: &mut Asm, dst: R, va: R, bmi2: bool) {
    if bmi2 {
        a.rorx(dst, va, 7);
    } else {
        a.mov_rr(true, dst, va);
        a.sh_i(true, Sh::Shr, dst, 7);
    }
    a.alu_ri(false, Alu::And, dst, ((rt::TLB_SIZE - 1) << 5) as i32);
}

impl Tr<'_> {
    /// Inline TLB probe for an access of `attr` at the address in `ar` (not RAX/RCX):
    /// on a hit RCX = host address - VA and execution falls through; returns the
    /// fixup of the miss branch.
    pub(super) fn tlb_probe(&mut self, ar: R, attr: MemAttr, write: bool) -> Fixup {
        let size = u64::from(attr.size.max(1));
        self.tlb_entry_offset(ar);
        let a = &mut self.a;
        let align = u64::from(attr.align.max(1));
        if align >= size {
            // Aligned access: cannot cross a page; misalignment must miss.
            a.mov_rr(true, R::RCX, ar);
            a.alu_ri(
                true,
                Alu::And,
                R::RCX,
                (!0xfffu64 | (align - 1)) as i64 as i32,
            );
        } else {
            a.lea(true, R::RCX, m(ar, (size - 1) as i32));
            a.alu_ri(true, Alu::And, R::RCX, -4096);
        }
        self.tlb_tag_check(write)
    }

    /// RAX = the offset of the TLB entry of the address in `va` (not RAX).
    pub(super) fn tlb_entry_offset(&mut self, va: R) {
        tlb_entry_offset(&mut self.a, R::RAX, va, self.env.feats.bmi2);
    }

    /// Compares RCX (a page) with the read or write tag of the TLB entry at offset RAX;
    /// on a hit RCX = that entry's host address - VA and execution falls through;
    /// returns the fixup of the miss branch.
    pub(super) fn tlb_tag_check(&mut self, write: bool) -> Fixup {
        let tag = if write { 8 } else { 0 };
        let a = &mut self.a;
        a.alu_rm(true, Alu::Cmp, R::RCX, mi(R::R13, R::RAX, 1, tag));
        let miss = a.jcc_fwd(Cc::Ne);
        a.load(8, R::RCX, mi(R::R13, R::RAX, 1, 24));
        miss
    }

    /// The TLB probe of the plain access op `i` (both halves of a pair) at the address
    /// in `ar`, alone or for its group (see [`Probe`]): on a hit RCX = host address - VA
    /// and execution falls through to the access; returns the fixup of the miss branch
    /// and, for a grouped access, the probe its out-of-line path makes first.
    pub(super) fn probe_access(
        &mut self,
        i: usize,
        ar: R,
        attr: MemAttr,
        write: bool,
    ) -> (Fixup, Option<Reprobe>) {
        let (miss, clear) = match self.probes[i] {
            Probe::Own => return (self.tlb_probe(ar, attr, write), None),
            Probe::First { slot, lo, hi } => {
                let so = off::PROBES + 8 * i32::from(slot);
                let lo_reg = if lo == 0 {
                    ar
                } else {
                    self.a.lea(true, R::RCX, m(ar, lo));
                    R::RCX
                };
                self.tlb_entry_offset(lo_reg);
                // The entry of the lowest byte's page holds the highest byte's page only
                // when they are the same page (the range is far narrower than the table).
                self.a.lea(true, R::RCX, m(ar, hi));
                self.a.alu_ri(true, Alu::And, R::RCX, -4096);
                let miss = self.tlb_tag_check(write);
                self.a.store(8, m(R::R12, so), R::RCX);
                (miss, Some(so))
            }
            Probe::Later { slot } => {
                let so = off::PROBES + 8 * i32::from(slot);
                self.a.load(8, R::RCX, m(R::R12, so));
                self.a.test_rr(true, R::RCX, R::RCX);
                (self.a.jcc_fwd(Cc::E), None)
            }
        };
        let rp = Reprobe {
            ar,
            attr,
            write,
            access: self.a.pos(),
            clear,
        };
        (miss, Some(rp))
    }

    /// The address temp in a register other than RAX/RCX.
    pub(super) fn addr_reg(&mut self, addr: Temp) -> R {
        self.get(addr, R::RDX)
    }

    pub(super) fn load(&mut self, i: usize, dst: Temp, addr: Temp, attr: MemAttr) {
        if attr.unpriv || attr.exclusive && !inline_excl(attr) {
            let f = self.env.rt.load;
            let pa = rt::pack_attr(attr);
            self.call_site(
                i,
                Some(dst),
                f,
                |s| {
                    s.arg_addr(addr);
                    s.a.mov_rr(true, R::RDI, R::R12);
                    s.a.mov_ri(R::RDX, pa);
                },
                |s| {
                    s.a.test_rr(false, R::RAX, R::RAX);
                    s.fault_exit(Cc::Ne);
                    s.take16(dst, m(R::R12, off::RET));
                },
            );
            return;
        }
        let ar = self.addr_reg(addr);
        // Allocate first: a spill must happen on every path, not only on a TLB hit.
        let d = self.def(dst);
        let (miss, rp) = self.probe_access(i, ar, attr, false);
        self.load_at(mi(R::RCX, ar, 1, 0), dst, d, attr.size);
        if attr.exclusive {
            // Arm the monitor with the address and value (on a TLB miss the run-time
            // function arms it itself); inline exclusives are at most 8 bytes, in `d`.
            self.a.store(8, m(R::RBP, off::MON_ADDR), ar);
            self.a.store(8, m(R::RBP, off::MON_VALUE), d);
            self.a.store_i(8, m(R::RBP, off::MON_VALUE + 8), 0);
            self.a.store_i8(m(R::RBP, off::MON_SIZE), attr.size);
            self.a.store_i8(m(R::RBP, off::MON_VALID), 1);
        }
        self.rejoin(
            i,
            &[miss],
            ColdKind::Load { dst, attr },
            addr,
            Some(dst),
            dst,
            rp,
        );
    }

    /// Records the out-of-line paths of memory op `i` (entered at `fixes`), which
    /// rejoin the block here; `except` is the op's result (not live across it), `t`
    /// the other temp the path reads or writes besides `addr`; `reprobe`: the probe the
    /// path makes first (a grouped access).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn rejoin(
        &mut self,
        i: usize,
        fixes: &[Fixup],
        kind: ColdKind,
        addr: Temp,
        except: Option<Temp>,
        t: Temp,
        reprobe: Option<Reprobe>,
    ) {
        let resume = self.a.pos();
        // No register is known to hold a slot where paths join.
        self.just_stored = None;
        let live = self.live_caller_saved(i, except);
        let snap = self.cold_snap(&[addr, t]);
        for &fix in fixes {
            self.cold.push(Cold {
                fix,
                resume,
                kind,
                addr,
                pc: self.pc,
                live,
                pend: self.pend,
                snap,
                reprobe,
                ..Cold::EMPTY
            });
        }
    }

    /// The two accesses of an LDP/STP, ops `i` and `i + 1` (see [`pair_of`]), with one
    /// TLB probe covering both. When it misses (or they straddle a page boundary), the
    /// out-of-line path does them one after the other, exactly as two ops would.
    pub(super) fn mem_pair(&mut self, i: usize) {
        self.skip = Some(i + 1);
        let (load, t, addr, addr2, attr) = match (self.b.ops[i], self.b.ops[i + 1]) {
            (
                Op::Load { dst, addr, attr },
                Op::Load {
                    dst: d2, addr: a2, ..
                },
            ) => (true, [dst, d2], addr, a2, attr),
            (
                Op::Store { src, addr, attr },
                Op::Store {
                    src: s2, addr: a2, ..
                },
            ) => (false, [src, s2], addr, a2, attr),
            _ => return,
        };
        let size = attr.size;
        let both = MemAttr {
            size: 2 * size,
            ..attr
        };
        let ar = self.addr_reg(addr);
        let (miss, reprobe) = if load {
            // Allocate first: a spill must happen on every path, not only on a hit.
            let r = [self.def(t[0]), self.def(t[1])];
            let probe = self.probe_access(i, ar, both, false);
            for (k, (d, r)) in t.into_iter().zip(r).enumerate() {
                self.load_at(mi(R::RCX, ar, 1, k as i32 * i32::from(size)), d, r, size);
            }
            probe
        } else {
            let probe = self.probe_access(i, ar, both, true);
            for (k, src) in t.into_iter().enumerate() {
                let hm = mi(R::RCX, ar, 1, k as i32 * i32::from(size));
                self.store_at(hm, src, size);
            }
            probe
        };
        let resume = self.a.pos();
        self.just_stored = None;
        let (live, live2) = if load {
            let mut live = Live::default();
            for x in &self.live_caller_saved(i, Some(t[0])) {
                if x.1 != t[1].0 {
                    live.push(x);
                }
            }
            (live, self.live_caller_saved(i + 1, Some(t[1])))
        } else {
            (
                self.live_caller_saved(i, None),
                self.live_caller_saved(i + 1, None),
            )
        };
        let snap = self.cold_snap(&[addr, addr2, t[0], t[1]]);
        self.cold.push(Cold {
            fix: miss,
            resume,
            kind: ColdKind::Pair {
                load,
                t,
                addr2,
                attr,
            },
            addr,
            pc: self.pc,
            live,
            live2,
            pend: self.pend,
            pend_live: false,
            snap,
            reprobe,
        });
    }

    pub(super) fn store(&mut self, i: usize, addr: Temp, src: Temp, attr: MemAttr) {
        if attr.exclusive || attr.unpriv {
            let f = self.env.rt.store;
            let pa = rt::pack_attr(attr);
            self.call_site(
                i,
                None,
                f,
                |s| {
                    s.put16(src, m(R::R12, off::ARGS));
                    s.arg_addr(addr);
                    s.a.mov_rr(true, R::RDI, R::R12);
                    s.a.mov_ri(R::RDX, pa);
                },
                |s| {
                    s.a.test_rr(false, R::RAX, R::RAX);
                    s.fault_exit(Cc::Ne);
                },
            );
            return;
        }
        let ar = self.addr_reg(addr);
        let (miss, rp) = self.probe_access(i, ar, attr, true);
        self.store_at(mi(R::RCX, ar, 1, 0), src, attr.size);
        let kind = ColdKind::Store { src, attr };
        self.rejoin(i, &[miss], kind, addr, None, src, rp);
    }

    /// DC ZVA: a write probe of the whole aligned block holding `addr`, then four
    /// 16-byte stores of zero; a miss (no write permission, translated code in the
    /// page, a device) takes the run-time function.
    pub(super) fn dc_zva(&mut self, i: usize, addr: Temp) {
        const PXOR: &[u8] = &[0x0f, 0xef];
        let z = a64::interp::consts::ZVA_BYTES as u8;
        self.get_into(addr, R::RDX);
        self.a.alu_ri(true, Alu::And, R::RDX, -i32::from(z));
        let attr = MemAttr {
            align: z,
            ..MemAttr::plain(z)
        };
        let miss = self.tlb_probe(R::RDX, attr, true);
        self.a.sse_rr(PXOR, XSCRATCH, XSCRATCH);
        for k in 0..i32::from(z / 16) {
            self.a.movdqu_store(mi(R::RCX, R::RDX, 1, 16 * k), XSCRATCH);
        }
        self.rejoin(i, &[miss], ColdKind::DcZva, addr, None, addr, None);
    }

    /// Loads `size` bytes at host address `hm` (a TLB hit) into `dst`, whose register
    /// `def` gave as `d` (a 16-byte value goes to its slot).
    pub(super) fn load_at(&mut self, hm: crate::emit::M, dst: Temp, d: R, size: u8) {
        if size == 16 {
            self.load16(dst, hm);
        } else {
            self.a.load(size, d, hm);
            self.fin(dst, d);
        }
    }

    /// Stores `size` bytes of `src` at host address `hm` (a TLB hit).
    pub(super) fn store_at(&mut self, hm: crate::emit::M, src: Temp, size: u8) {
        if size == 16 {
            if let Loc::Xmm(x) = self.loc[src.0 as usize] {
                self.a.movdqu_store(hm, x);
            } else if self.ty(src) == Ty::I128 && !matches!(self.loc[src.0 as usize], Loc::Const(_))
            {
                self.a.movdqu_load(0, slot(src));
                self.a.movdqu_store(hm, 0);
            } else {
                self.xmm_direct(XSCRATCH, src);
                self.a.movdqu_store(hm, XSCRATCH);
            }
        } else {
            let v = self.get(src, R::RAX);
            self.a.store(size, hm, v);
        }
    }

    /// Store-exclusive of up to 8 bytes: succeeds (status 0) when the monitor holds
    /// this address and size and memory still holds the value the load-exclusive read;
    /// the monitor is cleared either way. Misaligned accesses and TLB misses take the
    /// run-time function (which faults as needed).
    pub(super) fn store_excl(
        &mut self,
        i: usize,
        status: Temp,
        addr: Temp,
        src: Temp,
        attr: MemAttr,
    ) {
        let ar = self.addr_reg(addr);
        let mut slow = Vec::new();
        if attr.size > 1 {
            self.a.test_ri(true, ar, i32::from(attr.size) - 1);
            slow.push(self.a.jcc_fwd(Cc::Ne));
        }
        self.a.cmp_m8i(m(R::RBP, off::MON_VALID), 0);
        let f1 = self.a.jcc_fwd(Cc::E);
        self.a.alu_rm(true, Alu::Cmp, ar, m(R::RBP, off::MON_ADDR));
        let f2 = self.a.jcc_fwd(Cc::Ne);
        self.a.cmp_m8i(m(R::RBP, off::MON_SIZE), attr.size as i8);
        let f3 = self.a.jcc_fwd(Cc::Ne);
        slow.push(self.tlb_probe(ar, attr, true));
        self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        self.a.load(attr.size, R::RAX, mi(R::RCX, ar, 1, 0));
        self.a
            .alu_rm(true, Alu::Cmp, R::RAX, m(R::RBP, off::MON_VALUE));
        let f4 = self.a.jcc_fwd(Cc::Ne);
        let v = self.get(src, R::RAX);
        self.a.store(attr.size, mi(R::RCX, ar, 1, 0), v);
        self.mov_nf(R::RCX, 0);
        let ok = self.a.jmp_fwd();
        for f in [f1, f2, f3] {
            self.a.bind(f);
        }
        self.a.store_i8(m(R::RBP, off::MON_VALID), 0);
        self.a.bind(f4);
        self.a.mov_ri(R::RCX, 1);
        self.a.bind(ok);
        let kind = ColdKind::StoreExcl { src, attr };
        self.rejoin(i, &slow, kind, addr, Some(status), src, None);
        let d = self.def(status);
        self.a.mov_rr(false, d, R::RCX);
        self.fin(status, d);
    }
}
