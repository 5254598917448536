//! Software TLB for the EL1&0 stage-1 regime.
//!
//! Design: 2-way set-associative array of [`SETS`] sets (1024 entries, 32 bytes
//! each, 32 KiB), indexed by the 4 KiB virtual page number folded with the VA's
//! upper bits (so the kernel and user halves do not share sets). Every entry
//! maps one 4 KiB page; larger mappings (64K pages, 2M/32M/512M/1G blocks) are
//! cached as the 4 KiB pieces actually touched, each recording its
//! `block_shift`. Entries are tagged with the canonical VA page (tag bits
//! removed per TCR.TBIx), the ASID and nG. Permissions are not part of the
//! match: one entry serves reads, writes and fetches at EL0 and EL1. Each entry
//! carries a 9-bit "allowed" mask (one bit per [`Access::fast_class`]:
//! {read, write, fetch} x {EL0 perms, EL1, EL1 with PAN}) precomputed from
//! [`Attrs::check`], so the hot path [`Tlb::lookup_fast`] is: strip tag,
//! shift, xor-fold, mask, two tag compares, one bit test. AT, DC and unaligned
//! accesses and all faults go through [`Attrs::check`].
//!
//! Invalidation by VA probes one set; only when the VA falls in the span of
//! cached entries coming from mappings larger than 4 KiB (tracked per VA half
//! as a [lo, hi] page range, recomputed, and so shrunk, on every full scan)
//! does it scan the whole array, so that every 4 KiB piece of the block goes.
//! TLBI by ASID scans the array (1024 entries). The IS forms are the same
//! operations (broadcast is the caller's), and the last-level forms are
//! treated as the all-level ones (invalidating more is always allowed).
//!
//! TTBR writes need no call (entries are ASID-tagged, and stale entries under
//! the same ASID are what the architecture allows). SCTLR (M, WXN, EE), TCR
//! and MAIR changes flush everything: [`Tlb::sync`] detects them
//! ([`Tlb::translate`] calls it on every access).

use alloc::boxed::Box;
use alloc::vec;

use super::{
    asid_from, sctlr, sext55, tbi_applies, walk, Access, Attrs, MmuFault, MmuRegs, PhysRead,
    Translation,
};

/// Number of sets (2 ways each).
pub const SETS: usize = 512;
const WAYS: usize = 2;
const INVALID: u64 = u64::MAX;

/// One cached 4 KiB page translation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Canonical VA >> 12 (`u64::MAX` when empty).
    pub vpn: u64,
    /// Physical address of the 4 KiB page.
    pub pa_page: u64,
    /// Attributes, permissions, ASID, nG.
    pub attrs: Attrs,
    /// [`Attrs::allow_mask`]: bit per fast access class.
    pub allow: u16,
}

impl Entry {
    const EMPTY: Entry = Entry {
        vpn: INVALID,
        pa_page: 0,
        allow: 0,
        attrs: Attrs {
            asid: 0,
            perms: super::Perms(0),
            attr: 0,
            mem: super::MemType::DeviceNGnRnE,
            sh: 0,
            level: 0,
            block_shift: 12,
            global: false,
            mmu_off: false,
        },
    };

    /// Physical address of `va` (which hit this entry).
    #[inline]
    pub fn pa(&self, va: u64) -> u64 {
        self.pa_page | (va & 0xfff)
    }

    #[inline]
    fn matches_asid(&self, asid: Option<u16>) -> bool {
        match asid {
            None => true,
            Some(a) => self.attrs.global || self.attrs.asid == a,
        }
    }

    /// True if this entry belongs to the mapping that contains page `vpn`.
    #[inline]
    fn covers(&self, vpn: u64) -> bool {
        let sh = u32::from(self.attrs.block_shift.max(12)) - 12;
        self.vpn != INVALID && (self.vpn ^ vpn) >> sh == 0
    }
}

/// TLB maintenance operations (the IS forms are the same operation on this CPU;
/// broadcasting them to other CPUs is the caller's job).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlbiOp {
    /// VMALLE1(IS): everything.
    Vmalle1,
    /// VAE1(IS): VA + ASID (and global entries for the VA), all levels.
    Vae1,
    /// VALE1(IS): same, last level only (treated as VAE1).
    Vale1,
    /// VAAE1(IS): VA, any ASID.
    Vaae1,
    /// VAALE1(IS): VA, any ASID, last level (treated as VAAE1).
    Vaale1,
    /// ASIDE1(IS): all non-global entries of an ASID.
    Aside1,
}

/// Up to [`Blocks::MAX`] distinct >4K mappings: (first page, log2 of pages).
#[derive(Clone, Copy)]
struct Blocks {
    n: usize,
    over: bool,
    b: [(u64, u32); Blocks::MAX],
}

impl Blocks {
    const MAX: usize = 32;
    const EMPTY: Blocks = Blocks {
        n: 0,
        over: false,
        b: [(0, 0); Blocks::MAX],
    };

    fn add(&mut self, lo: u64, sh: u32) {
        if self.over || self.b[..self.n].contains(&(lo, sh)) {
            return;
        }
        if self.n == Self::MAX {
            self.over = true;
        } else {
            self.b[self.n] = (lo, sh);
            self.n += 1;
        }
    }

    /// Whether page `vpn` may lie in one of the mappings.
    fn may_cover(&self, vpn: u64) -> bool {
        self.over
            || self.b[..self.n]
                .iter()
                .any(|&(lo, sh)| vpn >> sh == lo >> sh)
    }
}

/// The software TLB.
pub struct Tlb {
    sets: Box<[[Entry; WAYS]]>,
    /// Per VA half (VA\[55\]): 0xff00_0000_0000_0000 if TBI applies, else 0.
    tbi_mask: [u64; 2],
    /// Fingerprint of the registers whose change flushes everything.
    key: (u64, u64, u64),
    tcr: u64,
    /// Per VA half (VA\[55\]), the page range spanned by cached >4K mappings (lo > hi: none).
    blk: [(u64, u64); 2],
    /// Per VA half, the distinct >4K mappings cached (while there are few), so that a
    /// TLBI of a page inside the span but outside every block skips the full scan.
    blocks: [Blocks; 2],
    /// Bumped whenever entries are dropped (flushes, TLBI): copies of translations
    /// kept elsewhere (the translator's TLB) must be dropped when it changes.
    pub gen: u64,
    /// What was invalidated since the last [`Tlb::take_pending`].
    pending: Pending,
}

/// Invalidations not yet applied to copies of the TLB's translations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    /// Everything (or too many single pages to list).
    pub full: bool,
    /// Canonical 4 KiB page numbers (VA >> 12), `n` of them.
    pub vpns: [u64; 8],
    /// Number of valid `vpns`.
    pub n: usize,
    /// Some of `vpns` may lie in mappings larger than 4 KiB (drop every cached piece
    /// of the mapping containing them).
    pub large: bool,
}

impl Default for Tlb {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn set_index(vpn: u64) -> usize {
    ((vpn ^ (vpn >> 36) ^ (vpn >> 20)) as usize) & (SETS - 1)
}

/// SCTLR bits that change translations.
const SCTLR_KEY: u64 = sctlr::M | sctlr::WXN | sctlr::EE;

impl Tlb {
    /// An empty TLB (valid for MMU-off reset state; call [`Tlb::sync`] before use).
    pub fn new() -> Self {
        Tlb {
            sets: vec![[Entry::EMPTY; WAYS]; SETS].into_boxed_slice(),
            tbi_mask: [0; 2],
            key: (u64::MAX, u64::MAX, u64::MAX),
            tcr: 0,
            blk: [(u64::MAX, 0); 2],
            blocks: [Blocks::EMPTY; 2],
            gen: 0,
            pending: Pending {
                full: true,
                ..Pending::default()
            },
        }
    }

    /// Call after any write to SCTLR_EL1, TCR_EL1 or MAIR_EL1 (cheap when nothing
    /// relevant changed): flushes everything when the translation setup changed.
    #[inline]
    pub fn sync(&mut self, regs: &MmuRegs) {
        let key = (regs.sctlr & SCTLR_KEY, regs.tcr, regs.mair);
        if key != self.key {
            self.flush_all();
            self.key = key;
            self.tcr = regs.tcr;
            const TOP: u64 = 0xff00_0000_0000_0000;
            self.tbi_mask = [
                if tbi_applies(regs.tcr, 0) { TOP } else { 0 },
                if tbi_applies(regs.tcr, 1 << 55) {
                    TOP
                } else {
                    0
                },
            ];
        }
    }

    #[inline]
    fn canon(&self, va: u64) -> u64 {
        let mask = self.tbi_mask[((va >> 55) & 1) as usize];
        va ^ ((va ^ sext55(va)) & mask)
    }

    /// The entry translating `va` under `asid` (the current one, see
    /// [`MmuRegs::current_asid`]), if cached. Check it with [`Attrs::check`].
    #[inline]
    pub fn lookup(&self, va: u64, asid: u16) -> Option<&Entry> {
        let vpn = self.canon(va) >> 12;
        let set = &self.sets[set_index(vpn)];
        set.iter()
            .find(|e| e.vpn == vpn && (e.attrs.global || e.attrs.asid == asid))
    }

    /// Hot path: the PA of `va` if it hits under `asid` and an access of fast
    /// class `class` ([`Access::fast_class`]) is allowed; `None` means "take
    /// [`Tlb::translate`]" (miss, or a fault to report).
    #[inline(always)]
    pub fn lookup_fast(&self, va: u64, asid: u16, class: u32) -> Option<u64> {
        let vpn = self.canon(va) >> 12;
        let set = &self.sets[set_index(vpn)];
        for e in set {
            if e.vpn == vpn && (e.attrs.global || e.attrs.asid == asid) {
                return if (e.allow >> class) & 1 != 0 {
                    Some(e.pa(va))
                } else {
                    None
                };
            }
        }
        None
    }

    /// Caches the (successful, AF = 1) translation `t` of `va`.
    pub fn insert(&mut self, va: u64, t: &Translation) {
        let vpn = self.canon(va) >> 12;
        let e = Entry {
            vpn,
            pa_page: t.pa & !0xfff,
            attrs: t.attrs,
            allow: t.attrs.allow_mask(va),
        };
        if t.attrs.block_shift > 12 {
            let sh = u32::from(t.attrs.block_shift) - 12;
            let lo = vpn >> sh << sh;
            let hi = lo | ((1u64 << sh) - 1);
            let half = ((vpn >> 43) & 1) as usize;
            let r = &mut self.blk[half];
            r.0 = r.0.min(lo);
            r.1 = r.1.max(hi);
            self.blocks[half].add(lo, sh);
        }
        let set = &mut self.sets[set_index(vpn)];
        let asid = t.attrs.asid;
        if let Some(old) = set
            .iter_mut()
            .find(|o| o.vpn == vpn && (o.attrs.global || t.attrs.global || o.attrs.asid == asid))
        {
            *old = e;
            return;
        }
        set[1] = set[0];
        set[0] = e;
    }

    /// Invalidates everything.
    /// The block shift (12 for 4 KiB pages) of the cached translation of `va`, if any.
    pub fn shift_of(&self, va: u64, asid: u16) -> Option<u8> {
        self.lookup(va, asid).map(|e| e.attrs.block_shift.max(12))
    }

    /// The invalidations since the last call (and forgets them).
    pub fn take_pending(&mut self) -> Pending {
        core::mem::take(&mut self.pending)
    }

    fn note_vpn(&mut self, vpn: u64) {
        let p = &mut self.pending;
        if p.n < p.vpns.len() {
            p.vpns[p.n] = vpn;
            p.n += 1;
        } else {
            p.full = true;
        }
    }

    pub fn flush_all(&mut self) {
        self.gen = self.gen.wrapping_add(1);
        self.pending.full = true;
        for s in self.sets.iter_mut() {
            *s = [Entry::EMPTY; WAYS];
        }
        self.blk = [(u64::MAX, 0); 2];
        self.blocks = [Blocks::EMPTY; 2];
    }

    /// Invalidates the translations of page `vpn` (canonical VA >> 12): for
    /// `asid = Some(a)`, global ones and those of ASID `a`; for `None`, all.
    fn invalidate_vpn(&mut self, vpn: u64, asid: Option<u16>) {
        if self.in_block(vpn) {
            // Maybe part of a larger mapping: its other 4 KiB pieces go too.
            self.pending.large = true;
            self.note_vpn(vpn);
            self.scan_remove(|e| e.covers(vpn) && e.matches_asid(asid));
            return;
        }
        self.note_vpn(vpn);
        for e in self.sets[set_index(vpn)].iter_mut() {
            if e.vpn == vpn && e.matches_asid(asid) {
                *e = Entry::EMPTY;
            }
        }
    }

    /// Removes every entry for which `kill` holds, and recomputes the spans of
    /// the remaining >4K entries (so they shrink back as such entries go).
    /// Whether page `vpn` may be part of a cached >4K mapping.
    fn in_block(&self, vpn: u64) -> bool {
        let half = ((vpn >> 43) & 1) as usize;
        let (lo, hi) = self.blk[half];
        lo <= vpn && vpn <= hi && self.blocks[half].may_cover(vpn)
    }

    fn scan_remove(&mut self, kill: impl Fn(&Entry) -> bool) {
        let mut blk = [(u64::MAX, 0u64); 2];
        let mut blocks = [Blocks::EMPTY; 2];
        for s in self.sets.iter_mut() {
            for e in s.iter_mut() {
                if e.vpn == INVALID {
                    continue;
                }
                if kill(e) {
                    *e = Entry::EMPTY;
                } else if e.attrs.block_shift > 12 {
                    let sh = u32::from(e.attrs.block_shift) - 12;
                    let lo = e.vpn >> sh << sh;
                    let half = ((e.vpn >> 43) & 1) as usize;
                    let r = &mut blk[half];
                    r.0 = r.0.min(lo);
                    r.1 = r.1.max(lo | ((1u64 << sh) - 1));
                    blocks[half].add(lo, sh);
                }
            }
        }
        self.blk = blk;
        self.blocks = blocks;
    }

    /// Executes a TLBI whose register operand is `xt` (ignored for VMALLE1):
    /// `VA[55:12]` in `Xt[43:0]`, ASID in `Xt[63:48]`.
    pub fn tlbi(&mut self, op: TlbiOp, xt: u64) {
        self.gen = self.gen.wrapping_add(1);
        let vpn = sext55((xt & ((1u64 << 44) - 1)) << 12) >> 12;
        let asid = asid_from(self.tcr, xt >> 48);
        match op {
            TlbiOp::Vmalle1 => self.flush_all(),
            TlbiOp::Vae1 | TlbiOp::Vale1 => self.invalidate_vpn(vpn, Some(asid)),
            TlbiOp::Vaae1 | TlbiOp::Vaale1 => self.invalidate_vpn(vpn, None),
            TlbiOp::Aside1 => {
                self.pending.full = true;
                self.scan_remove(|e| !e.attrs.global && e.attrs.asid == asid)
            }
        }
    }

    /// Whether a TLBI by VA for `va` would scan the whole array (for tests and statistics).
    pub fn va_needs_scan(&self, va: u64) -> bool {
        self.in_block(self.canon(va) >> 12)
    }

    /// Number of valid entries (for tests and statistics).
    pub fn occupancy(&self) -> usize {
        self.sets
            .iter()
            .flatten()
            .filter(|e| e.vpn != INVALID)
            .count()
    }

    /// Full translation through the TLB: [`Tlb::sync`], lookup, walk on a miss
    /// (caching the result even if the access then takes a permission fault),
    /// then the alignment/permission check. Returns the PA and the attributes.
    #[inline]
    pub fn translate(
        &mut self,
        regs: &MmuRegs,
        va: u64,
        access: Access,
        mem: &mut impl PhysRead,
    ) -> Result<(u64, Attrs), MmuFault> {
        self.sync(regs);
        let asid = regs.current_asid();
        if let Some(e) = self.lookup(va, asid) {
            let fast_ok = access.fast_class().is_some_and(|c| (e.allow >> c) & 1 != 0);
            if !fast_ok {
                e.attrs.check(va, &access)?;
            }
            return Ok((e.pa(va), e.attrs));
        }
        let t = walk(regs, va, &access, mem)?;
        self.insert(va, &t);
        t.attrs.check(va, &access)?;
        Ok((t.pa, t.attrs))
    }
}
