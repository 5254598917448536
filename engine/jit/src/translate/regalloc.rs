use super::*;

/// XMM registers the translator uses only inside one op's code (XMM0..7 carry operands).
pub(super) const XSCRATCH: u8 = 15;
pub(super) const XSCRATCH2: u8 = 14;

pub(super) fn slot(t: Temp) -> crate::emit::M {
    m(R::R12, off::TEMPS + 16 * t.0 as i32)
}

impl Tr<'_> {
    /// Frees registers of temps whose last use is op `i`.
    pub(super) fn release(&mut self, i: usize) {
        if i < self.next_free {
            return;
        }
        let mut next = usize::MAX;
        for &r in self.alloc() {
            if let Some(t) = self.owner[r.0 as usize] {
                let l = self.last[t as usize];
                if l <= i {
                    self.owner[r.0 as usize] = None;
                } else {
                    next = next.min(l);
                }
            }
        }
        for x in XALLOC {
            if let Some(t) = self.xowner[usize::from(x)] {
                let l = self.last[t as usize];
                if l <= i {
                    self.xowner[usize::from(x)] = None;
                } else {
                    next = next.min(l);
                }
            }
        }
        self.next_free = next;
    }

    /// Assigns a location to a newly defined temp; returns the register to compute into
    /// (RAX when the temp lives in a slot: call `fin` afterwards).
    pub(super) fn def(&mut self, t: Temp) -> R {
        if self.loc[t.0 as usize] != Loc::None {
            return match self.loc[t.0 as usize] {
                Loc::Reg(r) => r,
                _ => R::RAX,
            };
        }
        if self.ty(t) == Ty::I128 {
            // An XMM register unless the temp lives across a call (which would have to
            // save it each time).
            let free = XALLOC
                .into_iter()
                .find(|&x| self.xowner[usize::from(x)].is_none())
                .or_else(|| self.xspill_for(t));
            self.loc[t.0 as usize] = match free {
                Some(x) if !self.cross[t.0 as usize] && self.env.max_regs > 1 => {
                    self.xowner[usize::from(x)] = Some(t.0);
                    self.next_free = self.next_free.min(self.last[t.0 as usize]);
                    Loc::Xmm(x)
                }
                _ => Loc::Slot,
            };
            return R::RAX;
        }
        let cross = self.cross[t.0 as usize];
        let regs = self.alloc();
        let pick = |want_callee: bool, owner: &[Option<u32>; 16]| {
            regs.iter()
                .copied()
                .find(|&r| owner[r.0 as usize].is_none() && callee_saved(r) == want_callee)
        };
        let r = pick(cross, &self.owner)
            .or_else(|| pick(!cross, &self.owner))
            .or_else(|| self.spill_for(t));
        self.note_def(t);
        match r {
            Some(r) => {
                self.owner[r.0 as usize] = Some(t.0);
                self.next_free = self.next_free.min(self.last[t.0 as usize]);
                self.shared[r.0 as usize] = false;
                self.loc[t.0 as usize] = Loc::Reg(r);
                r
            }
            None => {
                self.loc[t.0 as usize] = Loc::Slot;
                R::RAX
            }
        }
    }

    /// The registers temps may live in.
    pub(super) fn alloc(&self) -> &'static [R] {
        &ALLOC[..self.env.max_regs.clamp(1, ALLOC.len())]
    }

    pub(super) fn note_def(&mut self, t: Temp) {
        let (d, n) = &mut self.cur_defs;
        if *n < d.len() {
            d[*n] = t.0;
            *n += 1;
        }
    }

    /// With every register taken: frees the one whose temp is needed furthest ahead
    /// (if later than `t` is) among temps that are unmodified reads of a guest
    /// register still holding the value: those need no store, later uses reload the
    /// register from the CPU block (as a slot would be). Otherwise `t` gets a slot.
    /// Operands and results of the current op stay.
    pub(super) fn spill_for(&mut self, t: Temp) -> Option<R> {
        if self.no_spill {
            return None;
        }
        let lt = self.last[t.0 as usize];
        let mut best: Option<(usize, R)> = None;
        for &r in self.alloc() {
            let Some(o) = self.owner[r.0 as usize] else {
                continue;
            };
            let (us, nu) = self.cur_uses;
            let (ds, nd) = self.cur_defs;
            if self.shared[r.0 as usize]
                || us[..nu]
                    .iter()
                    .any(|u| u.0 == o || self.root[u.0 as usize] == o)
                || ds[..nd].contains(&o)
            {
                continue;
            }
            let lo = self.last[o as usize];
            let home_ok = self.home[o as usize].is_some() && lo <= self.home_until[o as usize];
            if home_ok && lo != usize::MAX && lo > lt && best.is_none_or(|(l, _)| lo > l) {
                best = Some((lo, r));
            }
        }
        let (_, r) = best?;
        let o = self.owner[r.0 as usize]?;
        let (disp, size) = self.home[o as usize]?;
        // Nothing to store: later uses reload the guest register.
        self.loc[o as usize] = Loc::Home(disp, size);
        self.owner[r.0 as usize] = None;
        self.spills += 1;
        Some(r)
    }

    /// Frees an XMM register for the 128-bit temp `t` when all are taken: the temp
    /// living longest past `t` (and not used by the current op) moves to its slot, so
    /// that the short-lived values of a dependency chain stay in registers.
    pub(super) fn xspill_for(&mut self, t: Temp) -> Option<u8> {
        if self.no_spill || self.cross[t.0 as usize] || self.env.max_regs <= 1 {
            return None;
        }
        let lt = self.last[t.0 as usize];
        let (us, nu) = self.cur_uses;
        let (ds, nd) = self.cur_defs;
        let mut best: Option<(usize, u8)> = None;
        for x in XALLOC {
            let Some(o) = self.xowner[usize::from(x)] else {
                continue;
            };
            if us[..nu].iter().any(|u| u.0 == o) || ds[..nd].contains(&o) {
                continue;
            }
            let lo = self.last[o as usize];
            if lo != usize::MAX && lo > lt && best.is_none_or(|(l, _)| lo > l) {
                best = Some((lo, x));
            }
        }
        let (_, x) = best?;
        let o = self.xowner[usize::from(x)].take()?;
        self.a.movdqu_store(slot(Temp(o)), x);
        self.loc[o as usize] = Loc::Slot;
        self.spills += 1;
        Some(x)
    }

    /// The locations of `ts` now, for an out-of-line path emitted later.
    pub(super) fn snap(&self, ts: &[Temp]) -> Snap {
        let mut s = Snap::EMPTY;
        for &t in ts.iter().take(8) {
            s.t[s.n] = (t.0, self.loc[t.0 as usize]);
            s.n += 1;
        }
        s
    }

    /// [`Tr::snap`] of `ts` and the operands of the owed NZCV write.
    pub(super) fn cold_snap(&self, ts: &[Temp]) -> Snap {
        let mut v = [Temp(0); 8];
        let mut n = 0;
        for &t in ts {
            v[n] = t;
            n += 1;
        }
        if let Some(p) = self.pend {
            for t in p.temps() {
                if n < v.len() {
                    v[n] = t;
                    n += 1;
                }
            }
        }
        self.snap(&v[..n])
    }

    /// Puts the locations of `s` in place; returns the ones it replaced.
    pub(super) fn apply(&mut self, s: &Snap) -> Snap {
        let mut old = *s;
        for k in (0..s.n).rev() {
            let (t, l) = s.t[k];
            old.t[k] = (t, self.loc[t as usize]);
            self.loc[t as usize] = l;
        }
        old
    }

    /// Completes a def computed into `r` (stores it when the temp lives in a slot).
    pub(super) fn fin(&mut self, t: Temp, r: R) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            // A 128-bit temp computed in a GPR: MOVQ zeroes the upper half.
            self.a.movq_xr(x, r);
            return;
        }
        if self.loc[t.0 as usize] == Loc::Slot {
            self.a.store(8, slot(t), r);
            if self.ty(t) == Ty::I128 {
                // A 128-bit temp computed in a GPR (a load of up to 8 bytes).
                self.a
                    .store_i(8, m(R::R12, off::TEMPS + 16 * t.0 as i32 + 8), 0);
            } else {
                // Only the low 8 bytes of a narrow temp's slot are ever read.
                self.just_stored = Some((t.0, r, self.a.buf.len()));
            }
        }
    }

    /// The value of `t` in a register (loaded into `scratch` if needed).
    pub(super) fn get(&mut self, t: Temp, scratch: R) -> R {
        match self.loc[t.0 as usize] {
            Loc::Reg(r) => r,
            Loc::Const(v) => {
                self.mov_nf(scratch, v as u64);
                scratch
            }
            Loc::Home(d, size) => {
                self.a.load(size, scratch, m(R::RBP, d));
                scratch
            }
            Loc::Xmm(x) => {
                // The low 64 bits of a 128-bit temp.
                self.a.movq_rx(scratch, x);
                scratch
            }
            _ => {
                // Right after `fin` stored it, the register still holds the value.
                if let Some((u, r, pos)) = self.just_stored {
                    if u == t.0 && pos == self.a.buf.len() {
                        if r != scratch {
                            self.a.mov_rr(true, scratch, r);
                        }
                        return scratch;
                    }
                }
                self.a.load(8, scratch, slot(t));
                scratch
            }
        }
    }

    /// A sign-extendable 32-bit immediate for `t` in an op of width `w`.
    pub(super) fn imm(&self, t: Temp, w: bool) -> Option<i32> {
        match self.loc[t.0 as usize] {
            Loc::Const(v) => imm_fit(v as u64, w),
            _ => None,
        }
    }

    /// Copies `t` (any type) into the 16-byte memory at `dst`: one 16-byte store (two
    /// 8-byte stores read back by a 16-byte load would defeat store forwarding).
    pub(super) fn put16(&mut self, t: Temp, dst: crate::emit::M) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            self.a.movdqu_store(dst, x);
            return;
        }
        if self.ty(t) == Ty::I128 && self.loc[t.0 as usize] == Loc::Slot {
            if self.x0_dirty || self.x0_prev != Some(t.0) {
                self.a.movdqu_load(0, slot(t));
            }
            self.a.movdqu_store(dst, 0);
            self.x0_dirty = true;
            return;
        }
        self.xmm_direct(XSCRATCH, t);
        self.a.movdqu_store(dst, XSCRATCH);
    }

    /// XMM `x` = the value of `t`, which is not a 128-bit temp in its slot (a constant,
    /// or a narrower value zero-extended), built in registers. Clobbers RAX.
    pub(super) fn xmm_direct(&mut self, x: u8, t: Temp) {
        const PXOR: &[u8] = &[0x0f, 0xef];
        const PUNPCKLQDQ: &[u8] = &[0x0f, 0x6c];
        match self.loc[t.0 as usize] {
            Loc::Const(0) => self.a.sse_rr(PXOR, x, x),
            Loc::Const(v) => {
                self.a.mov_ri(R::RAX, v as u64);
                self.a.movq_xr(x, R::RAX);
                if v >> 64 != 0 {
                    self.a.mov_ri(R::RAX, (v >> 64) as u64);
                    self.a.movq_xr(XSCRATCH2, R::RAX);
                    self.a.sse_rr(PUNPCKLQDQ, x, XSCRATCH2);
                }
            }
            _ => {
                let r = self.get(t, R::RAX);
                self.a.movq_xr(x, r);
            }
        }
    }

    /// Defines `t` from the 16-byte memory at `src` (zero-extended values).
    pub(super) fn take16(&mut self, t: Temp, src: crate::emit::M) {
        self.x0_dirty = true;
        if self.ty(t) == Ty::I128 {
            self.def(t);
            self.load16(t, src);
        } else {
            let r = self.def(t);
            self.a.load(8, r, src);
            self.fin(t, r);
        }
    }

    /// Puts the 16 bytes at `src` where the defined temp `t` lives: its XMM register,
    /// else its slot (through XMM0).
    pub(super) fn load16(&mut self, t: Temp, src: crate::emit::M) {
        if let Loc::Xmm(x) = self.loc[t.0 as usize] {
            self.a.movdqu_load(x, src);
        } else {
            self.a.movdqu_load(0, src);
            self.a.movdqu_store(slot(t), 0);
        }
    }

    /// Caller-saved registers holding temps still needed after op `i` (except `except`).
    pub(super) fn live_caller_saved(&self, i: usize, except: Option<Temp>) -> Live {
        let mut v = Live::default();
        for &r in self.alloc() {
            if callee_saved(r) {
                continue;
            }
            if let Some(t) = self.owner[r.0 as usize] {
                if self.last[t as usize] > i && Some(t) != except.map(|e| e.0) {
                    v.push((r, t));
                }
            }
        }
        for x in XALLOC {
            if let Some(t) = self.xowner[usize::from(x)] {
                if self.last[t as usize] > i && Some(t) != except.map(|e| e.0) {
                    v.push((R(XMM_TAG + x), t));
                }
            }
        }
        v
    }

    pub(super) fn save(&mut self, live: &Live) {
        for (r, t) in live {
            if r.0 >= XMM_TAG {
                self.a.movdqu_store(slot(Temp(t)), r.0 - XMM_TAG);
            } else {
                self.a.store(8, slot(Temp(t)), r);
            }
        }
    }

    pub(super) fn restore(&mut self, live: &Live) {
        for (r, t) in live {
            if r.0 >= XMM_TAG {
                self.a.movdqu_load(r.0 - XMM_TAG, slot(Temp(t)));
            } else {
                self.a.load(8, r, slot(Temp(t)));
            }
        }
    }

    /// Defines the 128-bit temp `t` as the value in XMM `x`.
    pub(super) fn xdef(&mut self, t: Temp, x: u8) {
        self.def(t);
        match self.loc[t.0 as usize] {
            Loc::Xmm(d) if d == x => {}
            Loc::Xmm(d) => self.a.sse_rr(&[0x0f, 0x6f], d, x),
            _ => self.a.movdqu_store(slot(t), x),
        }
    }

    /// A call that always happens, at op `i`: `setup` loads the argument registers
    /// (after the live registers were saved), the result (RAX) is left for `after`.
    pub(super) fn call_site(
        &mut self,
        i: usize,
        except: Option<Temp>,
        f: u64,
        setup: impl FnOnce(&mut Self),
        after: impl FnOnce(&mut Self),
    ) {
        let live = self.live_caller_saved(i, except);
        self.save(&live);
        setup(self);
        self.call_abs(f);
        // The saved registers are reloaded after `after`: none may be spilled (and so
        // handed to a result) in between.
        self.no_spill = true;
        after(self);
        self.no_spill = false;
        self.restore(&live);
    }

    /// The constant value of `t`, if known at translation time.
    pub(super) fn konst(&self, t: Temp) -> Option<u128> {
        match self.loc[t.0 as usize] {
            Loc::Const(v) => Some(v),
            _ => None,
        }
    }

    /// Like [`Tr::def`], but takes over the register of operand `a` when `a` dies at op
    /// `i` (saves the copy of two-operand x86 forms).
    pub(super) fn def_reuse(&mut self, dst: Temp, a: Temp, i: usize) -> R {
        if let Some(r) = self.dies_in_reg(a, i) {
            if self.loc[dst.0 as usize] == Loc::None
                && self.ty(dst) != Ty::I128
                && self.cross[dst.0 as usize] == callee_saved(r)
            {
                self.owner[r.0 as usize] = Some(dst.0);
                self.next_free = self.next_free.min(self.last[dst.0 as usize]);
                self.shared[r.0 as usize] = false;
                self.loc[dst.0 as usize] = Loc::Reg(r);
                self.note_def(dst);
                return r;
            }
        }
        self.def(dst)
    }

    /// Gives `dst` the register of its root (see [`free_conversions`]) when the root
    /// holds one; false when `dst` must be computed.
    pub(super) fn share_root(&mut self, dst: Temp) -> bool {
        let r = self.root[dst.0 as usize];
        match self.loc[r as usize] {
            Loc::Reg(x) if r != dst.0 && self.owner[x.0 as usize] == Some(r) => {
                self.loc[dst.0 as usize] = Loc::Reg(x);
                self.shared[x.0 as usize] = true;
                self.x0 = self.x0_prev;
                true
            }
            _ => false,
        }
    }

    /// The register of `t` when the value in it is not needed after op `i` (so op `i`
    /// may overwrite it).
    pub(super) fn dies_in_reg(&self, t: Temp, i: usize) -> Option<R> {
        let Loc::Reg(r) = self.loc[t.0 as usize] else {
            return None;
        };
        let o = self.owner[r.0 as usize]?;
        ((o == t.0 || o == self.root[t.0 as usize]) && self.last[o as usize] == i).then_some(r)
    }

    /// XMM`x` = the 128-bit value of `t`.
    pub(super) fn xmm_load(&mut self, x: u8, t: Temp) {
        if !self.x0_dirty && self.x0_prev == Some(t.0) {
            // XMM0 still holds `t` from the previous op.
            if x != 0 {
                self.a.sse_rr(&[0x0f, 0x6f], x, 0);
            }
            return;
        }
        if x == 0 {
            self.x0_dirty = true;
        }
        match self.loc[t.0 as usize] {
            Loc::Xmm(r) if r == x => {}
            Loc::Xmm(r) => self.a.sse_rr(&[0x0f, 0x6f], x, r),
            Loc::Slot if self.ty(t) == Ty::I128 => self.a.movdqu_load(x, slot(t)),
            _ => self.xmm_direct(x, t),
        }
    }

    /// Register `r` = the value of `t` (a 64-bit or narrower temp).
    pub(super) fn get_into(&mut self, t: Temp, r: R) {
        let x = self.get(t, r);
        if x != r {
            self.a.mov_rr(true, r, x);
        }
    }

    /// RSI = address temp (for calls).
    pub(super) fn arg_addr(&mut self, addr: Temp) {
        self.get_into(addr, R::RSI);
    }
}
