use super::*;

impl Tr<'_> {
    /// The inline AdvSIMD operations (see [`crate::simd`]).
    pub(super) fn simd(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        use crate::simd::{tm, ts, SImm};
        let i = SImm::of(imm);
        let e = match i.esize {
            8 => 0,
            16 => 1,
            32 => 2,
            _ => 3,
        };
        let bytes = (i.esize / 8) as i32;
        const MOVDQA: &[u8] = &[0x0f, 0x6f];
        const PAND: &[u8] = &[0x0f, 0xdb];
        const PANDN: &[u8] = &[0x0f, 0xdf];
        const POR: &[u8] = &[0x0f, 0xeb];
        const PXOR: &[u8] = &[0x0f, 0xef];
        const PCMPEQD: &[u8] = &[0x0f, 0x76];
        let padd: [&[u8]; 4] = [&[0x0f, 0xfc], &[0x0f, 0xfd], &[0x0f, 0xfe], &[0x0f, 0xd4]];
        let psub: [&[u8]; 4] = [&[0x0f, 0xf8], &[0x0f, 0xf9], &[0x0f, 0xfa], &[0x0f, 0xfb]];
        let pcmpeq: [&[u8]; 4] = [
            &[0x0f, 0x74],
            &[0x0f, 0x75],
            &[0x0f, 0x76],
            &[0x0f, 0x38, 0x29],
        ];
        let pcmpgt: [&[u8]; 4] = [
            &[0x0f, 0x64],
            &[0x0f, 0x65],
            &[0x0f, 0x66],
            &[0x0f, 0x38, 0x37],
        ];
        let pmaxu: [&[u8]; 3] = [&[0x0f, 0xde], &[0x0f, 0x38, 0x3e], &[0x0f, 0x38, 0x3f]];
        let pminu: [&[u8]; 3] = [&[0x0f, 0xda], &[0x0f, 0x38, 0x3a], &[0x0f, 0x38, 0x3b]];
        let pmaxs: [&[u8]; 3] = [&[0x0f, 0x38, 0x3c], &[0x0f, 0xee], &[0x0f, 0x38, 0x3d]];
        let pmins: [&[u8]; 3] = [&[0x0f, 0x38, 0x38], &[0x0f, 0xea], &[0x0f, 0x38, 0x39]];
        let mut vector = true;
        match h.name {
            "simd::three_same" => {
                self.xmm_load(1, args[0]);
                self.xmm_load(2, args[1]);
                let a = &mut self.a;
                let not0 = |a: &mut Asm| {
                    a.sse_rr(PCMPEQD, 7, 7);
                    a.sse_rr(PXOR, 0, 7);
                };
                let bin = |a: &mut Asm, op: &[u8]| {
                    a.sse_rr(MOVDQA, 0, 1);
                    a.sse_rr(op, 0, 2);
                };
                match i.op {
                    ts::ADD => bin(a, padd[e]),
                    ts::SUB => bin(a, psub[e]),
                    ts::AND => bin(a, PAND),
                    ts::ORR => bin(a, POR),
                    ts::EOR => bin(a, PXOR),
                    ts::BIC => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(PANDN, 0, 1);
                    }
                    ts::ORN => {
                        a.sse_rr(PCMPEQD, 0, 0);
                        a.sse_rr(PXOR, 0, 2);
                        a.sse_rr(POR, 0, 1);
                    }
                    ts::CMEQ => bin(a, pcmpeq[e]),
                    ts::CMGT => bin(a, pcmpgt[e]),
                    ts::CMGE => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(pcmpgt[e], 0, 1);
                        not0(a);
                    }
                    ts::CMTST => {
                        bin(a, PAND);
                        a.sse_rr(PXOR, 7, 7);
                        a.sse_rr(pcmpeq[e], 0, 7);
                        not0(a);
                    }
                    ts::UMAX => bin(a, pmaxu[e]),
                    ts::UMIN => bin(a, pminu[e]),
                    ts::SMAX => bin(a, pmaxs[e]),
                    ts::SMIN => bin(a, pmins[e]),
                    ts::CMHS => {
                        bin(a, pmaxu[e]);
                        a.sse_rr(pcmpeq[e], 0, 1);
                    }
                    ts::CMHI => {
                        a.sse_rr(MOVDQA, 0, 2);
                        a.sse_rr(pmaxu[e], 0, 1);
                        a.sse_rr(pcmpeq[e], 0, 2);
                        not0(a);
                    }
                    ts::ADDP if e == 1 => bin(a, &[0x0f, 0x38, 0x01]),
                    ts::ADDP if e == 2 => bin(a, &[0x0f, 0x38, 0x02]),
                    ts::ADDP | ts::UMAXP | ts::UMINP => {
                        // Bytes: even and odd bytes of each source as words, combined,
                        // then packed back to bytes (Vn's pairs low, Vm's high).
                        let op: &[u8] = match i.op {
                            ts::ADDP => &[0x0f, 0xfd],
                            ts::UMAXP => &[0x0f, 0xde],
                            _ => &[0x0f, 0xda],
                        };
                        a.sse_rr(PCMPEQD, 7, 7);
                        a.sse_shift(0x71, 2, 7, 8);
                        for (out, src) in [(0u8, 1u8), (5, 2)] {
                            a.sse_rr(MOVDQA, out, src);
                            a.sse_rr(PAND, out, 7);
                            a.sse_rr(MOVDQA, 4, src);
                            a.sse_shift(0x71, 2, 4, 8);
                            a.sse_rr(op, out, 4);
                            if i.op == ts::ADDP {
                                a.sse_rr(PAND, out, 7);
                            }
                        }
                        a.sse_rr(&[0x0f, 0x67], 0, 5);
                    }
                    _ => {
                        // BSL / BIT / BIF: d ^ ((d ^ n) & mask) with the right roles.
                        self.xmm_load(3, args[2]);
                        let a = &mut self.a;
                        match i.op {
                            ts::BSL => {
                                // m ^ ((m ^ n) & d)
                                a.sse_rr(MOVDQA, 0, 2);
                                a.sse_rr(PXOR, 0, 1);
                                a.sse_rr(PAND, 0, 3);
                                a.sse_rr(PXOR, 0, 2);
                            }
                            ts::BIT => {
                                a.sse_rr(MOVDQA, 0, 3);
                                a.sse_rr(PXOR, 0, 1);
                                a.sse_rr(PAND, 0, 2);
                                a.sse_rr(PXOR, 0, 3);
                            }
                            _ => {
                                // BIF: d ^ ((d ^ n) & !m)
                                a.sse_rr(MOVDQA, 4, 3);
                                a.sse_rr(PXOR, 4, 1);
                                a.sse_rr(MOVDQA, 0, 2);
                                a.sse_rr(PANDN, 0, 4);
                                a.sse_rr(PXOR, 0, 3);
                            }
                        }
                    }
                }
            }
            "simd::shift_narrow" => {
                // SHRN: shift the double-width elements right, keep their low halves
                // (mask, then an unsigned pack that cannot saturate).
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                if i.esize == 8 {
                    self.a.sse_shift(0x71, 2, 0, i.sh as u8);
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_shift(0x71, 2, 7, 8);
                    self.a.sse_rr(PAND, 0, 7);
                    self.a.sse_rr(&[0x0f, 0x67], 0, 0);
                } else {
                    self.a.sse_shift(0x72, 2, 0, i.sh as u8);
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_shift(0x72, 2, 7, 16);
                    self.a.sse_rr(PAND, 0, 7);
                    self.a.sse_rr(&[0x0f, 0x38, 0x2b], 0, 0);
                }
                if SImm::part2(imm) {
                    // SHRN2: into the upper half of Vd, its lower half kept.
                    self.xmm_load(1, args[1]);
                    self.a.sse_rr(&[0x0f, 0x6c], 1, 0);
                    self.a.sse_rr(MOVDQA, 0, 1);
                    self.xdef(dst, 0);
                    return;
                }
            }
            "simd::ext" => {
                self.xmm_load(1, args[0]);
                self.xmm_load(2, args[1]);
                if i.lanes == 16 {
                    // (m:n) >> 8*index bytes.
                    self.a.sse_rr(MOVDQA, 0, 2);
                    self.a.sse_rri(&[0x0f, 0x3a, 0x0f], 0, 1, i.sh as u8);
                } else {
                    // Low halves: m[63:0]:n[63:0] >> 8*index bytes, low 64 bits kept.
                    self.a.sse_rr(MOVDQA, 0, 1);
                    self.a.sse_rr(&[0x0f, 0x6c], 0, 2);
                    self.a.sse_shift(0x73, 3, 0, i.sh as u8);
                }
            }
            "simd::two_misc" if i.op <= tm::REV64 => {
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                let mask = crate::simd::rev_mask(i.op, i.esize).map_or(0, |m| m.as_ptr() as u64);
                self.a.mov_ri(R::RAX, mask);
                self.a.movdqu_load(7, m(R::RAX, 0));
                self.a.sse_rr(&[0x0f, 0x38, 0x00], 0, 7);
            }
            "simd::two_misc" => {
                self.xmm_load(0, args[0]);
                self.x0_dirty = true;
                if i.op == tm::NOT {
                    self.a.sse_rr(PCMPEQD, 7, 7);
                    self.a.sse_rr(PXOR, 0, 7);
                } else {
                    self.a.sse_rr(PXOR, 7, 7);
                    self.a.sse_rr(pcmpeq[e], 0, 7);
                }
            }
            "simd::dup_gen" | "simd::dup_elem" => {
                if h.name == "simd::dup_gen" {
                    let r = self.get(args[0], R::RAX);
                    self.a.movq_xr(0, r);
                } else {
                    let src = self.vec_mem(args[0]);
                    let at = crate::emit::M {
                        disp: src.disp + bytes * i.sh as i32,
                        ..src
                    };
                    self.a.load(bytes as u8, R::RAX, at);
                    self.a.movq_xr(0, R::RAX);
                }
                match e {
                    0 => {
                        self.a.sse_rr(&[0x0f, 0x60], 0, 0);
                        self.a.pshuflw(0, 0, 0);
                        self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0);
                    }
                    1 => {
                        self.a.pshuflw(0, 0, 0);
                        self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0);
                    }
                    2 => self.a.sse_rri(&[0x0f, 0x70], 0, 0, 0),
                    _ => self.a.sse_rr(&[0x0f, 0x6c], 0, 0),
                }
            }
            "simd::umov" => {
                let src = self.vec_mem(args[0]);
                let at = crate::emit::M {
                    disp: src.disp + bytes * i.sh as i32,
                    ..src
                };
                let r = self.def(dst);
                self.a.load(bytes as u8, r, at);
                self.fin(dst, r);
                return;
            }
            _ => {
                // INS (general / element): copy Vd, then replace one element in place.
                vector = false;
                // The element is stored into the slot: Vd stays in memory.
                if self.loc[dst.0 as usize] == Loc::None {
                    self.loc[dst.0 as usize] = Loc::Slot;
                }
                self.xmm_load(0, args[1]);
                self.a.movdqu_store(slot(dst), 0);
                if h.name == "simd::ins_gen" {
                    let r = self.get(args[0], R::RAX);
                    if r != R::RAX {
                        self.a.mov_rr(true, R::RAX, r);
                    }
                } else {
                    let src = self.vec_mem(args[0]);
                    let at = crate::emit::M {
                        disp: src.disp + bytes * i.idx2 as i32,
                        ..src
                    };
                    self.a.load(bytes as u8, R::RAX, at);
                }
                let d = slot(dst);
                let at = crate::emit::M {
                    disp: d.disp + bytes * i.sh as i32,
                    ..d
                };
                self.a.store(bytes as u8, at, R::RAX);
            }
        }
        if vector {
            if i.bits() == 64 {
                self.a.movq_xx(0, 0);
            }
            self.xdef(dst, 0);
            self.x0 = Some(dst.0);
        }
    }

    /// Memory holding the 128-bit value of `t` (its slot, or a copy in the argument block).
    pub(super) fn vec_mem(&mut self, t: Temp) -> crate::emit::M {
        match self.loc[t.0 as usize] {
            Loc::Slot if self.ty(t) == Ty::I128 => slot(t),
            _ => {
                self.put16(t, m(R::R12, off::ARGS + 32));
                m(R::R12, off::ARGS + 32)
            }
        }
    }
}
