//! Unit tests: page tables built in a fake physical memory the way Linux builds them.

use super::tlb::{Tlb, TlbiOp};
use super::*;
use std::collections::HashMap;

// ---- Linux-like descriptor bits (arch/arm64/include/asm/pgtable-hwdef.h) ----
const TYPE_TABLE: u64 = 3;
const TYPE_PAGE: u64 = 3;
const TYPE_BLOCK: u64 = 1;
const USER: u64 = 1 << 6; // AP[1]
const RDONLY: u64 = 1 << 7; // AP[2]
const SHARED: u64 = 3 << 8;
const AF: u64 = 1 << 10;
const NG: u64 = 1 << 11;
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const fn attr_idx(i: u64) -> u64 {
    i << 2
}
const PXN_TABLE: u64 = 1 << 59;
const UXN_TABLE: u64 = 1 << 60;
const AP_TABLE_NO_EL0: u64 = 1 << 61;
const AP_TABLE_RO: u64 = 1 << 62;

// MAIR as Linux 6.1 sets it: 0 NORMAL, 1 NORMAL_TAGGED, 2 NORMAL_NC, 3 nGnRnE, 4 nGnRE.
const MAIR: u64 = 0x04_00_44_f0_ff;
const MT_NORMAL: u64 = 0;
const MT_NC: u64 = 2;
const MT_DEV_NGNRNE: u64 = 3;
const MT_DEV_NGNRE: u64 = 4;

const KERNEL_DATA: u64 = AF | SHARED | attr_idx(MT_NORMAL) | PXN | UXN;
const USER_RW: u64 = AF | SHARED | NG | USER | attr_idx(MT_NORMAL) | PXN | UXN;
const USER_RX: u64 = AF | SHARED | NG | USER | RDONLY | attr_idx(MT_NORMAL) | PXN;

const RAM_BASE: u64 = 0x4000_0000;
const RAM_END: u64 = 0x8000_0000;

/// Fake physical memory: RAM at [1 GiB, 2 GiB), nothing elsewhere.
#[derive(Default, Clone)]
struct Mem {
    words: HashMap<u64, u64>,
    reads: usize,
}

impl PhysRead for Mem {
    fn read_u64(&mut self, pa: u64) -> Option<u64> {
        assert_eq!(pa & 7, 0, "descriptor read not 8-byte aligned: {pa:#x}");
        self.reads += 1;
        if (RAM_BASE..RAM_END).contains(&pa) {
            Some(self.words.get(&pa).copied().unwrap_or(0))
        } else {
            None
        }
    }
}

/// Page-table builder for one granule / input size.
struct Pt {
    mem: Mem,
    next: u64,
    grain: u32,
}

impl Pt {
    fn new(grain: u32) -> Self {
        Pt {
            mem: Mem::default(),
            next: 0x4800_0000,
            grain,
        }
    }

    fn alloc(&mut self) -> u64 {
        let t = self.next;
        self.next += 1 << self.grain;
        t
    }

    fn start_level(&self, inputsize: u32) -> u32 {
        let stride = self.grain - 3;
        4 - (inputsize - self.grain).div_ceil(stride)
    }

    /// Maps `va` to `pa` with a leaf at `leaf_level` carrying `attrs`
    /// (the type bits are added). New table descriptors get `table_attrs`;
    /// `table_attrs` is also ORed into existing ones on the path.
    #[allow(clippy::too_many_arguments)]
    fn map(
        &mut self,
        root: u64,
        inputsize: u32,
        va: u64,
        pa: u64,
        leaf_level: u32,
        attrs: u64,
        table_attrs: u64,
    ) {
        let stride = self.grain - 3;
        let mut level = self.start_level(inputsize);
        let mut base = root;
        loop {
            let bottom = (3 - level) * stride + self.grain;
            let idx = (va >> bottom) & ((1u64 << stride) - 1);
            let slot = base + idx * 8;
            if level == leaf_level {
                let ty = if level == 3 { TYPE_PAGE } else { TYPE_BLOCK };
                self.mem.words.insert(slot, pa | attrs | ty);
                return;
            }
            let cur = self.mem.words.get(&slot).copied().unwrap_or(0);
            let next = if cur & 3 == 3 {
                self.mem.words.insert(slot, cur | table_attrs);
                cur & 0x0000_ffff_ffff_f000 & !((1u64 << self.grain) - 1)
            } else {
                let t = self.alloc();
                self.mem.words.insert(slot, t | TYPE_TABLE | table_attrs);
                t
            };
            base = next;
            level += 1;
        }
    }

    /// Writes a raw descriptor at the slot of `va` at `level` (tables must exist).
    fn set_raw(&mut self, root: u64, inputsize: u32, va: u64, level: u32, desc: u64) {
        let stride = self.grain - 3;
        let mut l = self.start_level(inputsize);
        let mut base = root;
        loop {
            let bottom = (3 - l) * stride + self.grain;
            let idx = (va >> bottom) & ((1u64 << stride) - 1);
            let slot = base + idx * 8;
            if l == level {
                self.mem.words.insert(slot, desc);
                return;
            }
            let cur = self.mem.words.get(&slot).copied().unwrap_or(0);
            assert_eq!(cur & 3, 3, "no table at level {l}");
            base = cur & 0x0000_ffff_ffff_f000 & !((1u64 << self.grain) - 1);
            l += 1;
        }
    }
}

/// TCR as Linux sets it for 4K pages and `va_bits` VAs: TG1 = 4K, IPS = 44 bits,
/// AS = 1, TBI0 = 1.
fn linux_tcr(va_bits: u64) -> u64 {
    let tsz = 64 - va_bits;
    tsz | (tsz << 16) | (0b10 << 30) | (0b100 << 32) | tcr::AS | tcr::TBI0 | (0b01 << 8)
}

const SCTLR_ON: u64 = sctlr::M | (1 << 2) | (1 << 12) | (1 << 23);

struct Setup {
    pt: Pt,
    regs: MmuRegs,
    root0: u64,
    root1: u64,
}

/// A Linux-like 48-bit (or 39-bit) address space: kernel linear map with 2M
/// blocks in TTBR1, user pages with nG under ASID 5 in TTBR0.
fn linux_setup(vabits: u32) -> Setup {
    let mut pt = Pt::new(12);
    let root0 = pt.alloc();
    let root1 = pt.alloc();
    let regs = MmuRegs {
        sctlr: SCTLR_ON,
        tcr: linux_tcr(u64::from(vabits)),
        ttbr0: root0 | (5 << 48),
        ttbr1: root1,
        mair: MAIR,
    };
    let kbase = kernel_base(vabits);
    // Linear map: 4 blocks of 2M at PA 1 GiB.
    for i in 0..4u64 {
        pt.map(
            root1,
            vabits,
            kbase + (i << 21),
            RAM_BASE + (i << 21),
            2,
            KERNEL_DATA,
            0,
        );
    }
    // A device page (UART-like) at kbase + 1 GiB, nGnRE.
    pt.map(
        root1,
        vabits,
        kbase + (1 << 30),
        0x0900_0000,
        3,
        AF | PXN | UXN | attr_idx(MT_DEV_NGNRE),
        0,
    );
    // User pages.
    pt.map(root0, vabits, 0x40_0000, 0x5000_0000, 3, USER_RX, 0);
    pt.map(root0, vabits, 0x40_1000, 0x5000_1000, 3, USER_RW, 0);
    Setup {
        pt,
        regs,
        root0,
        root1,
    }
}

fn kernel_base(vabits: u32) -> u64 {
    !((1u64 << vabits) - 1)
}

fn rd(el: u8) -> Access {
    Access::new(AccessKind::Read, el, false)
}
fn wr(el: u8) -> Access {
    Access::new(AccessKind::Write, el, false)
}
fn ex(el: u8) -> Access {
    Access::new(AccessKind::Exec, el, false)
}

#[test]
fn kernel_block_48bit() {
    let mut s = linux_setup(48);
    let va = 0xffff_0000_0020_1234;
    let t = translate(&s.regs, va, rd(1), &mut s.pt.mem).unwrap();
    assert_eq!(t.pa, RAM_BASE + 0x20_1234);
    assert_eq!(t.attrs.level, 2);
    assert_eq!(t.attrs.block_shift, 21);
    assert!(t.attrs.global);
    assert_eq!(t.attrs.mem, MemType::Normal);
    assert_eq!(t.attrs.attr, 0xff);
    assert_eq!(t.attrs.sh, 3);
    assert!(!t.attrs.mmu_off);
    // Kernel data: RW at EL1, nothing at EL0, never executable.
    assert_eq!(t.attrs.perms, Perms(Perms::PRIV_R | Perms::PRIV_W));
    let w = translate(&s.regs, va, wr(1), &mut s.pt.mem).unwrap();
    assert_eq!(w.pa, t.pa);
    let f = translate(&s.regs, va, ex(1), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc(), f.fetch),
        (FaultKind::Permission, 2, 0b001110, true)
    );
    let f = translate(&s.regs, va, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.fsc(), f.wnr, f.va),
        (FaultKind::Permission, 0b001110, false, va)
    );
}

#[test]
fn user_pages_ng_asid_48_and_39() {
    for vabits in [48, 39] {
        let mut s = linux_setup(vabits);
        let t = translate(&s.regs, 0x40_0abc, ex(0), &mut s.pt.mem).unwrap();
        assert_eq!(t.pa, 0x5000_0abc);
        assert_eq!((t.attrs.level, t.attrs.block_shift), (3, 12));
        assert!(!t.attrs.global);
        assert_eq!(t.attrs.asid, 5);
        let t = translate(&s.regs, 0x40_1ff8, wr(0), &mut s.pt.mem).unwrap();
        assert_eq!(t.pa, 0x5000_1ff8);
        // EL0 cannot write the text page.
        let f = translate(&s.regs, 0x40_0000, wr(0), &mut s.pt.mem).unwrap_err();
        assert_eq!(
            (f.kind, f.level, f.fsc(), f.wnr),
            (FaultKind::Permission, 3, 0b001111, true)
        );
        // EL1 cannot execute user pages (PXN).
        let f = translate(&s.regs, 0x40_0000, ex(1), &mut s.pt.mem).unwrap_err();
        assert_eq!(f.kind, FaultKind::Permission);
        // Kernel side works for both sizes.
        let kva = kernel_base(vabits) + 0x60_0008;
        let t = translate(&s.regs, kva, rd(1), &mut s.pt.mem).unwrap();
        assert_eq!(t.pa, RAM_BASE + 0x60_0008);
        // Walk depth: 48-bit starts at level 0 (4 reads), 39-bit at level 1 (3 reads).
        s.pt.mem.reads = 0;
        translate(&s.regs, 0x40_0000, rd(0), &mut s.pt.mem).unwrap();
        assert_eq!(s.pt.mem.reads, if vabits == 48 { 4 } else { 3 });
        // Device mapping.
        let t = translate(
            &s.regs,
            kernel_base(vabits) + (1 << 30) + 4,
            wr(1),
            &mut s.pt.mem,
        )
        .unwrap();
        assert_eq!(t.pa, 0x0900_0004);
        assert_eq!(
            (t.attrs.mem, t.attrs.attr, t.attrs.sh),
            (MemType::DeviceNGnRE, 0x04, 0b10)
        );
    }
}

#[test]
fn one_gib_block_39bit_and_1g_at_level1_48bit() {
    for vabits in [39u32, 48] {
        let mut s = linux_setup(vabits);
        let va = kernel_base(vabits) + (2 << 30) + 0x12_3456;
        s.pt.map(s.root1, vabits, va, RAM_BASE, 1, KERNEL_DATA | NG, 0);
        let t = translate(&s.regs, va, rd(1), &mut s.pt.mem).unwrap();
        assert_eq!(t.pa, RAM_BASE + 0x12_3456);
        assert_eq!(
            (t.attrs.level, t.attrs.block_shift, t.attrs.global),
            (1, 30, false)
        );
        // Kernel nG mapping under TCR.A1 = 0 takes the TTBR0 ASID.
        assert_eq!(t.attrs.asid, 5);
    }
}

#[test]
fn translation_faults_each_level() {
    let mut s = linux_setup(48);
    // Level 0: nothing mapped in that 512 GiB slot.
    let f = translate(
        &s.regs,
        0x0000_8000_0000_0000 - 0x1000,
        rd(0),
        &mut s.pt.mem,
    )
    .unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::Translation, 0, 0b000100)
    );
    // Level 1: level-0 table exists (user 0x40_0000 slot), level-1 entry empty.
    let f = translate(&s.regs, 0x40_0000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.level, f.fsc()), (1, 0b000101));
    // Level 2.
    let f = translate(&s.regs, 0x2000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.level, f.fsc()), (2, 0b000110));
    // Level 3.
    let f = translate(&s.regs, 0x40_2000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.level, f.fsc()), (3, 0b000111));
    // Fetch reports fetch.
    let f = translate(&s.regs, 0x40_2000, ex(0), &mut s.pt.mem).unwrap_err();
    assert!(f.fetch && !f.wnr);
    // Block descriptor at level 0 (4K granule): translation fault level 0.
    s.pt.set_raw(s.root0, 48, 0x80_0000_0000, 0, RAM_BASE | AF | TYPE_BLOCK);
    let f = translate(&s.regs, 0x80_0000_0000, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
    // Block-type (0b01) descriptor at level 3: reserved, translation fault level 3.
    s.pt.set_raw(s.root0, 48, 0x40_0000, 3, 0x5000_0000 | USER_RX | 1);
    let f = translate(&s.regs, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 3));
    // Reserved 0b10 at level 2.
    s.pt.set_raw(s.root1, 48, 0xffff_0000_0000_0000, 2, RAM_BASE | AF | 2);
    let f = translate(&s.regs, 0xffff_0000_0000_0000, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 2));
}

#[test]
fn va_range_epd_and_t0sz() {
    let mut s = linux_setup(48);
    // Bits [63:48] not all equal (TBI0 on, so [55:48] checked).
    for va in [
        0x0001_0000_0000_0000u64,
        0x00ff_0000_0040_0000,
        0xfffe_ffff_ffff_f000,
    ] {
        let f = translate(&s.regs, va, rd(1), &mut s.pt.mem).unwrap_err();
        assert_eq!(
            (f.kind, f.level, f.fsc()),
            (FaultKind::Translation, 0, 0b000100),
            "{va:#x}"
        );
    }
    // 39-bit: VA[47:39] must follow VA[63].
    let mut s39 = linux_setup(39);
    for va in [0x80_0000_0000u64, 0xffff_ff00_0000_0000 - 0x1000] {
        let f = translate(&s39.regs, va, rd(1), &mut s39.pt.mem).unwrap_err();
        assert_eq!((f.kind, f.level), (FaultKind::Translation, 0), "{va:#x}");
    }
    // EPD0 / EPD1.
    let mut r = s.regs;
    r.tcr |= tcr::EPD0;
    let f = translate(&r, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
    assert!(translate(&r, 0xffff_0000_0000_0000, rd(1), &mut s.pt.mem).is_ok());
    let mut r = s.regs;
    r.tcr |= tcr::EPD1;
    let f = translate(&r, 0xffff_0000_0000_0000, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
    assert!(translate(&r, 0x40_0000, rd(0), &mut s.pt.mem).is_ok());
    // T0SZ out of range (< 16) is forced to 16: VA bit 48 set still faults.
    let mut r = s.regs;
    r.tcr = (r.tcr & !0x3f) | 8;
    assert!(translate(&r, 0x40_0000, rd(0), &mut s.pt.mem).is_ok());
    let f = translate(&r, 0x1_0000_0040_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
}

#[test]
fn access_flag_faults() {
    let mut s = linux_setup(48);
    s.pt.set_raw(
        s.root0,
        48,
        0x40_0000,
        3,
        0x5000_0000 | (USER_RX & !AF) | TYPE_PAGE,
    );
    let f = translate(&s.regs, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::AccessFlag, 3, 0b001011)
    );
    // AF comes before permission: a write to the RO page also reports AF.
    let f = translate(&s.regs, 0x40_0000, wr(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.wnr), (FaultKind::AccessFlag, true));
    // Block at level 2 with AF = 0.
    let kva = 0xffff_0000_0000_0000;
    s.pt.set_raw(
        s.root1,
        48,
        kva,
        2,
        RAM_BASE | (KERNEL_DATA & !AF) | TYPE_BLOCK,
    );
    let f = translate(&s.regs, kva, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::AccessFlag, 2, 0b001010)
    );
    // Level 1 block.
    let kva1 = 0xffff_0000_c000_0000;
    s.pt.set_raw(
        s.root1,
        48,
        kva1,
        1,
        RAM_BASE | (KERNEL_DATA & !AF) | TYPE_BLOCK,
    );
    let f = translate(&s.regs, kva1, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!(f.fsc(), 0b001001);
}

#[test]
fn address_size_faults() {
    let mut s = linux_setup(48);
    // TTBR base above 44 bits: level 0.
    let mut r = s.regs;
    r.ttbr0 |= 1 << 44;
    let f = translate(&r, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::AddressSize, 0, 0b000000)
    );
    // Leaf output address above 44 bits: level 3.
    s.pt.set_raw(
        s.root0,
        48,
        0x40_0000,
        3,
        (1 << 45) | 0x5000_0000 | USER_RX | TYPE_PAGE,
    );
    let f = translate(&s.regs, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::AddressSize, 3, 0b000011)
    );
    // Address size beats access flag.
    s.pt.set_raw(
        s.root0,
        48,
        0x40_0000,
        3,
        (1 << 45) | 0x5000_0000 | (USER_RX & !AF) | 3,
    );
    let f = translate(&s.regs, 0x40_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(f.kind, FaultKind::AddressSize);
    // Table descriptor above the IPS size: level of that descriptor (level 1 here).
    let mut r = s.regs;
    r.tcr &= !(7 << 32); // IPS = 0b000: 32 bits
                         // All tables sit above 1 GiB but below 4 GiB: fine with 32 bits.
    assert!(translate(&r, 0x40_1000, rd(0), &mut s.pt.mem).is_ok());
    s.pt.map(s.root0, 48, 0x1_0000_0000, 0x1_4000_0000, 3, USER_RW, 0);
    let f = translate(&r, 0x1_0000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::AddressSize, 3, 0b000011)
    );
    let l1 = s.pt.alloc();
    s.pt.set_raw(s.root0, 48, 0x100_0000_0000, 0, (1 << 33) | l1 | TYPE_TABLE);
    let f = translate(&r, 0x100_0000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::AddressSize, 0));
    s.pt.set_raw(
        s.root0,
        48,
        0x100_0000_0000,
        0,
        (1u64 << 46) | l1 | TYPE_TABLE,
    );
    let f = translate(&s.regs, 0x100_0000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::AddressSize, 0));
}

#[test]
fn external_abort_on_walk() {
    let mut s = linux_setup(48);
    // A level-0 table entry pointing outside RAM: the level-1 read aborts.
    s.pt.set_raw(s.root0, 48, 0x200_0000_0000, 0, 0x1000 | TYPE_TABLE);
    let f = translate(&s.regs, 0x200_0000_0000, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.level, f.fsc()),
        (FaultKind::WalkExternalAbort, 1, 0b010101)
    );
}

#[test]
fn device_fetch_and_alignment() {
    let mut s = linux_setup(48);
    let dva = 0xffff_0000_8000_0000;
    // Executable (no XN) device page: fetch still takes a permission fault.
    s.pt.map(
        s.root1,
        48,
        dva,
        0x0900_0000,
        3,
        AF | attr_idx(MT_DEV_NGNRNE),
        0,
    );
    let f = translate(&s.regs, dva, ex(1), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level, f.fetch), (FaultKind::Permission, 3, true));
    // Unaligned data access to Device: alignment fault, checked before permissions.
    let mut a = wr(0);
    a.unaligned = true;
    let f = translate(&s.regs, dva + 1, a, &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.fsc()), (FaultKind::Alignment, 0b100001));
    // ... but not to Normal memory.
    let mut a = rd(1);
    a.unaligned = true;
    assert!(translate(&s.regs, 0xffff_0000_0000_0001, a, &mut s.pt.mem).is_ok());
    // Normal non-cacheable reports SH = 0b10.
    s.pt.map(
        s.root1,
        48,
        dva + 0x1000,
        0x4100_0000,
        3,
        KERNEL_DATA | attr_idx(MT_NC),
        0,
    );
    let t = translate(&s.regs, dva + 0x1000, rd(1), &mut s.pt.mem).unwrap();
    assert_eq!(
        (t.attrs.attr, t.attrs.sh, t.attrs.mem),
        (0x44, 0b10, MemType::Normal)
    );
}

#[test]
fn mmu_off() {
    let mut mem = Mem::default();
    let regs = MmuRegs {
        sctlr: 0,
        tcr: 0,
        ..Default::default()
    };
    let t = translate(&regs, 0x4008_0000, rd(1), &mut mem).unwrap();
    assert_eq!(t.pa, 0x4008_0000);
    assert!(t.attrs.mmu_off);
    assert_eq!(t.attrs.mem_for(AccessKind::Read), MemType::DeviceNGnRnE);
    assert_eq!(t.attrs.mem_for(AccessKind::Exec), MemType::Normal);
    assert!(translate(&regs, 0x4008_0000, ex(1), &mut mem).is_ok());
    assert!(translate(&regs, 0x4008_0000, wr(0), &mut mem).is_ok());
    // Highest PA of a 44-bit space, and just above.
    assert!(translate(&regs, (1 << 44) - 8, rd(1), &mut mem).is_ok());
    let f = translate(&regs, 1 << 44, rd(1), &mut mem).unwrap_err();
    assert_eq!((f.kind, f.level, f.fsc()), (FaultKind::AddressSize, 0, 0));
    let f = translate(&regs, 0xff00_0000_4000_0000, ex(1), &mut mem).unwrap_err();
    assert_eq!((f.kind, f.fetch), (FaultKind::AddressSize, true));
    // With TBI0 the top byte is ignored.
    let r = MmuRegs {
        tcr: tcr::TBI0,
        ..regs
    };
    assert_eq!(
        translate(&r, 0x5a00_0000_4000_0010, rd(1), &mut mem)
            .unwrap()
            .pa,
        0x4000_0010
    );
    // Unaligned data is Device: alignment fault; unaligned fetch is not checked here.
    let mut a = rd(1);
    a.unaligned = true;
    assert_eq!(
        translate(&regs, 0x4000_0001, a, &mut mem).unwrap_err().kind,
        FaultKind::Alignment
    );
    // No descriptor is read.
    assert_eq!(mem.reads, 0);
}

#[test]
fn tbi() {
    let mut s = linux_setup(48);
    // TBI0 set (Linux): tagged user pointer translates.
    let t = translate(&s.regs, 0x5a00_0000_0040_1008, rd(0), &mut s.pt.mem).unwrap();
    assert_eq!(t.pa, 0x5000_1008);
    // TBI0 clear: the tag makes it out of range.
    let mut r = s.regs;
    r.tcr &= !tcr::TBI0;
    let f = translate(&r, 0x5a00_0000_0040_1008, rd(0), &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
    // TBI1 clear (Linux default without KASAN sw tags): tagged kernel pointer faults.
    let f = translate(&s.regs, 0x12ff_0000_0000_0008, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!(f.kind, FaultKind::Translation);
    let mut r = s.regs;
    r.tcr |= tcr::TBI1;
    let t = translate(&r, 0x12ff_0000_0000_0008, rd(1), &mut s.pt.mem).unwrap();
    assert_eq!(t.pa, RAM_BASE + 8);
    // Bit 55 selects the half, not bit 63, when TBI applies.
    let f = translate(&r, 0xff7f_0000_0000_0008, rd(1), &mut s.pt.mem).unwrap_err();
    assert_eq!(f.kind, FaultKind::Translation);
}

#[test]
fn granule_64k() {
    // TG0 = 64K, T0SZ = 16: 3 levels starting at level 1; TG1 = 64K, T1SZ = 22 (42 bits): 2 levels.
    let mut pt = Pt::new(16);
    let root0 = pt.alloc();
    let root1 = pt.alloc();
    let tcr_val = 16 | (22 << 16) | (0b01 << 14) | (0b11 << 30) | (0b100 << 32);
    let regs = MmuRegs {
        sctlr: SCTLR_ON,
        tcr: tcr_val,
        ttbr0: root0,
        ttbr1: root1,
        mair: MAIR,
    };
    assert_eq!(pt.start_level(48), 1);
    assert_eq!(pt.start_level(42), 2);
    pt.map(root0, 48, 0x1234_0000, 0x4321_0000, 3, USER_RW, 0);
    let t = translate(&regs, 0x1234_abcd, rd(0), &mut pt.mem).unwrap();
    assert_eq!(t.pa, 0x4321_abcd);
    assert_eq!((t.attrs.level, t.attrs.block_shift), (3, 16));
    // 512 MiB block at level 2.
    pt.map(root0, 48, 0x2_0000_0000, 0x6000_0000, 2, USER_RW, 0);
    let t = translate(&regs, 0x2_1234_5678, wr(0), &mut pt.mem).unwrap();
    assert_eq!(t.pa, 0x7234_5678);
    assert_eq!((t.attrs.level, t.attrs.block_shift), (2, 29));
    // A block at level 1 is not allowed with 64K (v8.0): translation fault level 1.
    pt.set_raw(
        root0,
        48,
        0x400_0000_0000,
        1,
        RAM_BASE | USER_RW | TYPE_BLOCK,
    );
    let f = translate(&regs, 0x400_0000_0000, rd(0), &mut pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 1));
    // TTBR1, 42-bit: starts at level 2.
    let kva = 0xffff_fc00_0000_0000u64;
    pt.map(root1, 42, kva, 0x4400_0000, 3, KERNEL_DATA, 0);
    pt.mem.reads = 0;
    let t = translate(&regs, kva + 0xfff8, rd(1), &mut pt.mem).unwrap();
    assert_eq!((t.pa, pt.mem.reads), (0x4400_fff8, 2));
    let f = translate(&regs, 0xffff_f800_0000_0000, rd(1), &mut pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Translation, 0));
}

#[test]
fn granule_16k() {
    // TG0 = 16K, T0SZ = 17 (47 bits): levels 1..3; a 32 MiB block at level 2.
    let mut pt = Pt::new(14);
    let root0 = pt.alloc();
    let regs = MmuRegs {
        sctlr: SCTLR_ON,
        tcr: 17 | (0b10 << 14) | (0b10 << 30) | (0b100 << 32) | tcr::EPD1,
        ttbr0: root0,
        ttbr1: 0,
        mair: MAIR,
    };
    assert_eq!(pt.start_level(47), 1);
    pt.map(root0, 47, 0x10_0000_4000, 0x4000_c000, 3, USER_RW, 0);
    let t = translate(&regs, 0x10_0000_7ffc, rd(0), &mut pt.mem).unwrap();
    assert_eq!((t.pa, t.attrs.block_shift), (0x4000_fffc, 14));
    pt.map(root0, 47, 0x20_0200_0000, 0x4200_0000, 2, USER_RW, 0);
    let t = translate(&regs, 0x20_03ff_fff0, rd(0), &mut pt.mem).unwrap();
    assert_eq!((t.pa, t.attrs.block_shift), (0x43ff_fff0, 25));
}

// ---- Permission table, against an independent model written from the spec's tables ----

/// Data access permissions by AP[2:1] (Arm ARM table "Data access permissions
/// for stage 1 translations"): (EL1 read, EL1 write, EL0 read, EL0 write).
fn ap_table(ap: u8) -> (bool, bool, bool, bool) {
    match ap {
        0b00 => (true, true, false, false),
        0b01 => (true, true, true, true),
        0b10 => (true, false, false, false),
        _ => (true, false, true, false),
    }
}

#[derive(Clone, Copy, Debug)]
struct Case {
    ap: u8,
    uxn: bool,
    pxn: bool,
    wxn: bool,
    ap_table: u8,
    uxn_table: bool,
    pxn_table: bool,
}

/// Expected outcome (true = allowed).
fn reference(c: Case, el: u8, pan: bool, op: AccessOp, kind: AccessKind) -> bool {
    // APTable: 0b01 removes EL0 access, 0b10 removes write, 0b11 both.
    let mut ap = c.ap;
    if c.ap_table & 0b01 != 0 {
        ap &= 0b10;
    }
    if c.ap_table & 0b10 != 0 {
        ap |= 0b10;
    }
    let (el1_r, el1_w, el0_r, el0_w) = ap_table(ap);
    let uxn = c.uxn || c.uxn_table;
    let pxn = c.pxn || c.pxn_table;
    let uses_el0_perms = el == 0 || op == AccessOp::Unpriv;
    match kind {
        AccessKind::Exec => {
            if uses_el0_perms {
                !(uxn || (c.wxn && el0_w))
            } else {
                // EL1 cannot execute what EL0 can write.
                !(pxn || el0_w || (c.wxn && el1_w))
            }
        }
        AccessKind::Read | AccessKind::Write => {
            let write = kind == AccessKind::Write;
            if uses_el0_perms {
                if write {
                    el0_w
                } else {
                    el0_r
                }
            } else if op == AccessOp::Normal && pan && el0_r {
                false
            } else if write {
                el1_w
            } else {
                el1_r
            }
        }
    }
}

#[test]
fn permission_table_exhaustive() {
    let va = 0x7f_1234_5000u64;
    let mut checked = 0;
    for bitsv in 0u32..(1 << 9) {
        let c = Case {
            ap: (bitsv & 3) as u8,
            uxn: bitsv & 4 != 0,
            pxn: bitsv & 8 != 0,
            wxn: bitsv & 16 != 0,
            ap_table: ((bitsv >> 5) & 3) as u8,
            uxn_table: bitsv & 128 != 0,
            pxn_table: bitsv & 256 != 0,
        };
        let mut pt = Pt::new(12);
        let root0 = pt.alloc();
        let mut leaf = AF | NG | 0x5000_0000 | (u64::from(c.ap) << 6);
        if c.uxn {
            leaf |= UXN;
        }
        if c.pxn {
            leaf |= PXN;
        }
        let mut table = 0;
        if c.ap_table & 1 != 0 {
            table |= AP_TABLE_NO_EL0;
        }
        if c.ap_table & 2 != 0 {
            table |= AP_TABLE_RO;
        }
        if c.uxn_table {
            table |= UXN_TABLE;
        }
        if c.pxn_table {
            table |= PXN_TABLE;
        }
        // Table attributes on every level's table descriptor (they accumulate).
        pt.map(root0, 48, va, 0x5000_0000, 3, leaf, table);
        let mut regs = MmuRegs {
            sctlr: SCTLR_ON,
            tcr: linux_tcr(48),
            ttbr0: root0 | (9 << 48),
            ttbr1: 0,
            mair: MAIR,
        };
        if c.wxn {
            regs.sctlr |= sctlr::WXN;
        }
        let mut tlb = Tlb::new();
        for el in [0u8, 1] {
            for pan in [false, true] {
                for op in [AccessOp::Normal, AccessOp::Unpriv] {
                    for kind in [AccessKind::Read, AccessKind::Write, AccessKind::Exec] {
                        if op == AccessOp::Unpriv && kind == AccessKind::Exec {
                            continue;
                        }
                        let a = Access {
                            kind,
                            op,
                            el,
                            pan,
                            unaligned: false,
                        };
                        let want = reference(c, el, pan, op, kind);
                        let got = translate(&regs, va + 8, a, &mut pt.mem);
                        assert_eq!(got.is_ok(), want, "{c:?} el{el} pan{pan} {op:?} {kind:?}");
                        if let Err(f) = got {
                            assert_eq!(
                                (f.kind, f.level, f.fsc()),
                                (FaultKind::Permission, 3, 0b1111)
                            );
                            assert_eq!(f.wnr, kind == AccessKind::Write);
                            assert_eq!(f.fetch, kind == AccessKind::Exec);
                        }
                        // The TLB path (one entry re-checked for every access) agrees.
                        let via_tlb = tlb.translate(&regs, va + 8, a, &mut pt.mem);
                        assert_eq!(via_tlb.map(|x| x.0), got.map(|t| t.pa));
                        let fast = tlb.lookup_fast(va + 8, 9, a.fast_class().unwrap());
                        assert_eq!(fast, got.ok().map(|t| t.pa));
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(tlb.occupancy(), 1);
    }
    assert_eq!(checked, 512 * 2 * 2 * 5);
}

#[test]
fn dc_and_at_permissions() {
    let mut s = linux_setup(48);
    // DC CIVAC at EL1 on a read-only user page: no permission fault.
    let dc = Access {
        kind: AccessKind::Read,
        op: AccessOp::Dc,
        el: 1,
        pan: true,
        unaligned: false,
    };
    assert!(translate(&s.regs, 0x40_0000, dc, &mut s.pt.mem).is_ok());
    // At EL0 on a kernel page: permission fault with CM and WnR set.
    let dc0 = Access { el: 0, ..dc };
    let f = translate(&s.regs, 0xffff_0000_0000_0000, dc0, &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.cm, f.wnr), (FaultKind::Permission, true, true));
    // DC at EL1 still takes translation faults.
    let f = translate(&s.regs, 0x40_2000, dc, &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.cm), (FaultKind::Translation, true));
}

#[test]
fn at_par_values() {
    let mut s = linux_setup(48);
    let m = &mut s.pt.mem;
    // Success, Normal WB, inner shareable.
    let par = at_translate(&s.regs, 0xffff_0000_0020_1234, AtOp::S1E1R, m).unwrap();
    assert_eq!(
        par,
        (0xff << 56) | (RAM_BASE + 0x20_1000) | (1 << 11) | (1 << 9) | (0b11 << 7)
    );
    assert_eq!(par & PAR_F, 0);
    // Device: ATTR 0x04, SH 0b10.
    let par = at_translate(&s.regs, 0xffff_0000_4000_0010, AtOp::S1E1W, m).unwrap();
    assert_eq!(
        par,
        (0x04 << 56) | 0x0900_0000 | (1 << 11) | (1 << 9) | (0b10 << 7)
    );
    // Translation fault level 3: F = 1, FST = 0b000111.
    let par = at_translate(&s.regs, 0x40_2000, AtOp::S1E0R, m).unwrap();
    assert_eq!(par, (1 << 11) | (0b000111 << 1) | 1);
    // S1E0R on a kernel page: permission fault level 2 (block).
    let par = at_translate(&s.regs, 0xffff_0000_0000_0000, AtOp::S1E0R, m).unwrap();
    assert_eq!(par, (1 << 11) | (0b001110 << 1) | 1);
    // S1E1W on the read-only user text page: permission fault level 3.
    let par = at_translate(&s.regs, 0x40_0000, AtOp::S1E1W, m).unwrap();
    assert_eq!(par, (1 << 11) | (0b001111 << 1) | 1);
    // S1E1R on a user page succeeds (PAN is not applied to AT S1E1R).
    let par = at_translate(&s.regs, 0x40_1000, AtOp::S1E1R, m).unwrap();
    assert_eq!(
        par & !(0xffu64 << 56),
        0x5000_1000 | (1 << 11) | (1 << 9) | (0b11 << 7)
    );
    // S1E0W on the user data page.
    assert_eq!(
        at_translate(&s.regs, 0x40_1000, AtOp::S1E0W, m).unwrap() & PAR_F,
        0
    );
    // Access flag fault reported in PAR.
    s.pt.set_raw(s.root0, 48, 0x40_1000, 3, 0x5000_1000 | (USER_RW & !AF) | 3);
    let par = at_translate(&s.regs, 0x40_1000, AtOp::S1E0R, &mut s.pt.mem).unwrap();
    assert_eq!(par, (1 << 11) | (0b001011 << 1) | 1);
    // MMU off: flat, Device-nGnRnE, outer shareable.
    let off = MmuRegs { sctlr: 0, ..s.regs };
    let par = at_translate(&off, 0x4123_4567, AtOp::S1E1R, &mut s.pt.mem).unwrap();
    assert_eq!(par, 0x4123_4000 | (1 << 11) | (1 << 9) | (0b10 << 7));
    let par = at_translate(&off, 1 << 44, AtOp::S1E1R, &mut s.pt.mem).unwrap();
    assert_eq!(par, (1 << 11) | 1);
    // External abort on the walk: an exception (CM = 1, WnR = 1), not a PAR value.
    s.pt.set_raw(s.root0, 48, 0x200_0000_0000, 0, 0x1000 | TYPE_TABLE);
    let f = at_translate(&s.regs, 0x200_0000_0000, AtOp::S1E0R, &mut s.pt.mem).unwrap_err();
    assert_eq!(
        (f.kind, f.fsc(), f.cm, f.wnr, f.at),
        (FaultKind::WalkExternalAbort, 0b010101, true, true, true)
    );
}

#[test]
fn pan_rules() {
    let mut s = linux_setup(48);
    let pan_rd = Access::new(AccessKind::Read, 1, true);
    let f = translate(&s.regs, 0x40_1000, pan_rd, &mut s.pt.mem).unwrap_err();
    assert_eq!((f.kind, f.level), (FaultKind::Permission, 3));
    // LDTR at EL1 with PAN: EL0 permissions, allowed.
    let ldtr = Access {
        op: AccessOp::Unpriv,
        ..pan_rd
    };
    assert!(translate(&s.regs, 0x40_1000, ldtr, &mut s.pt.mem).is_ok());
    // Kernel pages are unaffected by PAN.
    assert!(translate(&s.regs, 0xffff_0000_0000_0000, pan_rd, &mut s.pt.mem).is_ok());
    // Fetch is not subject to PAN (but PXN forbids it anyway here).
    let mut r = s.regs;
    r.ttbr0 = s.root0 | (5 << 48);
    s.pt.map(
        s.root0,
        48,
        0x40_3000,
        0x5000_3000,
        3,
        AF | NG | USER | RDONLY,
        0,
    );
    let t = translate(
        &r,
        0x40_3000,
        Access::new(AccessKind::Exec, 1, true),
        &mut s.pt.mem,
    );
    assert!(t.is_ok());
}

// ---- TLB ----

#[test]
fn tlb_asid_switch_and_invalidation() {
    let mut s = linux_setup(48);
    let mut tlb = Tlb::new();
    let user = 0x40_1000;
    let kva = 0xffff_0000_0000_0000u64;
    // ASID 5 fills.
    assert_eq!(
        tlb.translate(&s.regs, user, rd(0), &mut s.pt.mem)
            .unwrap()
            .0,
        0x5000_1000
    );
    assert_eq!(
        tlb.translate(&s.regs, kva, rd(1), &mut s.pt.mem).unwrap().0,
        RAM_BASE
    );
    // Another process: ASID 6, other tables mapping the same VA elsewhere.
    let root0b = s.pt.alloc();
    s.pt.map(root0b, 48, user, 0x5800_1000, 3, USER_RW, 0);
    let mut r6 = s.regs;
    r6.ttbr0 = root0b | (6 << 48);
    assert_eq!(
        tlb.translate(&r6, user, rd(0), &mut s.pt.mem).unwrap().0,
        0x5800_1000
    );
    // Back to ASID 5: its entry survived the TTBR switch (proven by changing its PTE
    // without TLBI: the stale cached translation is still used).
    s.pt.set_raw(s.root0, 48, user, 3, 0x5100_1000 | USER_RW | 3);
    s.pt.mem.reads = 0;
    assert_eq!(
        tlb.translate(&s.regs, user, rd(0), &mut s.pt.mem)
            .unwrap()
            .0,
        0x5000_1000
    );
    assert_eq!(s.pt.mem.reads, 0);
    // Kernel global entry hit under both ASIDs.
    assert!(tlb.lookup(kva, 5).is_some() && tlb.lookup(kva, 6).is_some());
    // TLBI VAE1 for (user, ASID 5): ASID 6's entry stays.
    tlb.tlbi(TlbiOp::Vae1, (5 << 48) | (user >> 12));
    assert!(tlb.lookup(user, 5).is_none());
    assert!(tlb.lookup(user, 6).is_some());
    assert_eq!(
        tlb.translate(&s.regs, user, rd(0), &mut s.pt.mem)
            .unwrap()
            .0,
        0x5100_1000
    );
    // ASIDE1(5): ASID 5 entries go, globals and ASID 6 stay.
    tlb.tlbi(TlbiOp::Aside1, 5 << 48);
    assert!(tlb.lookup(user, 5).is_none());
    assert!(tlb.lookup(user, 6).is_some());
    assert!(tlb.lookup(kva, 5).is_some());
    // VAAE1: all ASIDs of that VA.
    tlb.translate(&s.regs, user, rd(0), &mut s.pt.mem).unwrap();
    tlb.tlbi(TlbiOp::Vaae1, user >> 12);
    assert!(tlb.lookup(user, 5).is_none() && tlb.lookup(user, 6).is_none());
    // VAE1 with another ASID removes a global entry at that VA.
    tlb.tlbi(TlbiOp::Vale1, (77 << 48) | ((kva >> 12) & ((1 << 44) - 1)));
    assert!(tlb.lookup(kva, 5).is_none());
    // VMALLE1.
    tlb.translate(&s.regs, kva, rd(1), &mut s.pt.mem).unwrap();
    assert!(tlb.occupancy() > 0);
    tlb.tlbi(TlbiOp::Vmalle1, 0);
    assert_eq!(tlb.occupancy(), 0);
}

#[test]
fn tlb_block_invalidation_and_8bit_asid() {
    let mut s = linux_setup(48);
    let mut tlb = Tlb::new();
    let kva = 0xffff_0000_0020_0000u64; // second 2M block
    for off in [0x0u64, 0x1000, 0x1f_f000] {
        tlb.translate(&s.regs, kva + off, rd(1), &mut s.pt.mem)
            .unwrap();
    }
    tlb.translate(&s.regs, kva - 0x1000, rd(1), &mut s.pt.mem)
        .unwrap(); // previous block
    tlb.translate(&s.regs, 0x40_1000, rd(0), &mut s.pt.mem)
        .unwrap();
    assert_eq!(tlb.occupancy(), 5);
    // TLBI VAALE1 on an untouched page of the block removes every piece of it.
    tlb.tlbi(TlbiOp::Vaale1, ((kva + 0x8_0000) >> 12) & ((1 << 44) - 1));
    assert_eq!(tlb.occupancy(), 2);
    assert!(tlb.lookup(kva - 0x1000, 0).is_some());
    assert!(tlb.lookup(kva + 0x1000, 0).is_none());
    // Block spans: user 4K pages never need a scan; the kernel block region does,
    // until its block entries are gone.
    assert!(!tlb.va_needs_scan(0x40_1000));
    assert!(tlb.va_needs_scan(kva - 0x1000));
    assert!(
        !tlb.va_needs_scan(kva + 0x1000),
        "span shrank after the scan"
    );
    tlb.tlbi(TlbiOp::Vaae1, ((kva - 0x1000) >> 12) & ((1 << 44) - 1));
    assert!(!tlb.va_needs_scan(kva - 0x1000));
    assert_eq!(tlb.occupancy(), 1);
    tlb.translate(&s.regs, kva + 0x1000, rd(1), &mut s.pt.mem)
        .unwrap();
    // 8-bit ASIDs: TLBI's ASID bits [63:56] are ignored and TTBR ASID[15:8] too.
    let mut r = s.regs;
    r.tcr &= !tcr::AS;
    r.ttbr0 = s.root0 | (0x1205 << 48);
    tlb.sync(&r); // TCR change flushes
    assert_eq!(tlb.occupancy(), 0);
    assert_eq!(r.current_asid(), 5);
    tlb.translate(&r, 0x40_1000, rd(0), &mut s.pt.mem).unwrap();
    assert!(tlb.lookup(0x40_1000, 5).is_some());
    tlb.tlbi(TlbiOp::Aside1, 0xab05 << 48);
    assert_eq!(tlb.occupancy(), 0);
    // TCR.A1: ASID from TTBR1.
    let mut r = s.regs;
    r.tcr |= tcr::A1;
    r.ttbr1 |= 0x33 << 48;
    assert_eq!(r.current_asid(), 0x33);
}

#[test]
fn tlb_rechecks_permissions_and_flushes_on_config_change() {
    let mut s = linux_setup(48);
    let mut tlb = Tlb::new();
    let user = 0x40_1000;
    tlb.translate(&s.regs, user, rd(0), &mut s.pt.mem).unwrap();
    s.pt.mem.reads = 0;
    // Same entry: EL1 write OK, EL1 with PAN faults, fetch faults (UXN/PXN).
    assert!(tlb.translate(&s.regs, user, wr(1), &mut s.pt.mem).is_ok());
    let pan = Access::new(AccessKind::Write, 1, true);
    let f = tlb
        .translate(&s.regs, user, pan, &mut s.pt.mem)
        .unwrap_err();
    assert_eq!((f.kind, f.level, f.wnr), (FaultKind::Permission, 3, true));
    assert!(tlb.translate(&s.regs, user, ex(0), &mut s.pt.mem).is_err());
    assert_eq!(s.pt.mem.reads, 0, "all served from the TLB");
    // Tagged pointer hits the same entry.
    assert_eq!(
        tlb.translate(&s.regs, 0x3400_0000_0040_1010, rd(0), &mut s.pt.mem)
            .unwrap()
            .0,
        0x5000_1010
    );
    assert_eq!(s.pt.mem.reads, 0);
    // Permission-faulting translations are cached too (one walk, then hits).
    let kva = 0xffff_0000_0030_0000u64;
    assert!(tlb.translate(&s.regs, kva, rd(0), &mut s.pt.mem).is_err());
    let n = s.pt.mem.reads;
    assert!(tlb.translate(&s.regs, kva, rd(0), &mut s.pt.mem).is_err());
    assert_eq!(s.pt.mem.reads, n);
    // Faults other than permission are not cached.
    assert!(tlb
        .translate(&s.regs, 0x40_2000, rd(0), &mut s.pt.mem)
        .is_err());
    let n = s.pt.mem.reads;
    assert!(tlb
        .translate(&s.regs, 0x40_2000, rd(0), &mut s.pt.mem)
        .is_err());
    assert!(s.pt.mem.reads > n);
    // MAIR change: flush, new attributes seen.
    let mut r = s.regs;
    r.mair = MAIR & !0xff | 0x44;
    let (_, at) = tlb.translate(&r, user, rd(0), &mut s.pt.mem).unwrap();
    assert_eq!(at.attr, 0x44);
    // SCTLR.WXN change flushes: a RW user page becomes non-executable at EL0.
    s.pt.map(
        s.root0,
        48,
        0x40_5000,
        0x5000_5000,
        3,
        AF | NG | USER | SHARED,
        0,
    );
    assert!(tlb.translate(&r, 0x40_5000, ex(0), &mut s.pt.mem).is_ok());
    r.sctlr |= sctlr::WXN;
    assert!(tlb.translate(&r, 0x40_5000, ex(0), &mut s.pt.mem).is_err());
    // MMU off and on again.
    let off = MmuRegs { sctlr: 0, ..r };
    assert_eq!(
        tlb.translate(&off, 0x4000_1000, rd(1), &mut s.pt.mem)
            .unwrap()
            .0,
        0x4000_1000
    );
    assert_eq!(
        tlb.translate(&r, user, rd(0), &mut s.pt.mem).unwrap().0,
        0x5000_1000
    );
}

#[test]
#[ignore = "micro-benchmark: run with --release -- --ignored --nocapture"]
fn bench_tlb_hit() {
    let mut s = linux_setup(48);
    let mut tlb = Tlb::new();
    for i in 0..512u64 {
        tlb.translate(
            &s.regs,
            0xffff_0000_0000_0000 + i * 0x1000,
            rd(1),
            &mut s.pt.mem,
        )
        .unwrap();
    }
    let n = 50_000_000u64;
    let t0 = std::time::Instant::now();
    let mut acc = 0u64;
    let access = rd(1);
    for i in 0..n {
        let va = 0xffff_0000_0000_0000 + ((i * 0x1008) & 0x1f_ffff);
        let e = tlb.lookup(std::hint::black_box(va), 5).unwrap();
        e.attrs.check(va, &access).unwrap();
        acc = acc.wrapping_add(e.pa(va));
    }
    let dt = t0.elapsed();
    println!(
        "lookup+check: {:.2} ns/access ({acc:#x})",
        dt.as_nanos() as f64 / n as f64
    );
    let class = access.fast_class().unwrap();
    let t0 = std::time::Instant::now();
    for i in 0..n {
        let va = 0xffff_0000_0000_0000 + ((i * 0x1008) & 0x1f_ffff);
        acc = acc.wrapping_add(tlb.lookup_fast(std::hint::black_box(va), 5, class).unwrap());
    }
    let dt = t0.elapsed();
    println!(
        "lookup_fast: {:.2} ns/access ({acc:#x})",
        dt.as_nanos() as f64 / n as f64
    );
    let t0 = std::time::Instant::now();
    for i in 0..n {
        let va = 0xffff_0000_0000_0000 + ((i * 0x1008) & 0x1f_ffff);
        acc = acc.wrapping_add(std::hint::black_box(va) & 0xfff);
    }
    let dt = t0.elapsed();
    println!(
        "empty loop: {:.2} ns/iteration ({acc:#x})",
        dt.as_nanos() as f64 / n as f64
    );
}
