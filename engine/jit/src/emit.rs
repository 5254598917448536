//! A small x86-64 machine-code emitter: the instruction forms the translator uses,
//! encoded by hand (REX, opcode, ModRM, SIB, displacement, immediate). Faster to
//! translate with than a general assembler; checked against iced-x86's decoder in tests.

use alloc::vec::Vec;

/// A general-purpose register (hardware number 0..15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct R(pub u8);

#[allow(missing_docs)]
impl R {
    pub const RAX: R = R(0);
    pub const RCX: R = R(1);
    pub const RDX: R = R(2);
    pub const RBX: R = R(3);
    pub const RSP: R = R(4);
    pub const RBP: R = R(5);
    pub const RSI: R = R(6);
    pub const RDI: R = R(7);
    pub const R8: R = R(8);
    pub const R9: R = R(9);
    pub const R10: R = R(10);
    pub const R11: R = R(11);
    pub const R12: R = R(12);
    pub const R13: R = R(13);
    pub const R14: R = R(14);
    pub const R15: R = R(15);
}

/// A memory operand: `[base + index * scale + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct M {
    /// Base register.
    pub base: R,
    /// Optional index register (not RSP) and scale (1, 2, 4, 8).
    pub index: Option<(R, u8)>,
    /// Displacement.
    pub disp: i32,
}

/// `[base + disp]`.
pub const fn m(base: R, disp: i32) -> M {
    M {
        base,
        index: None,
        disp,
    }
}

/// `[base + index * scale + disp]`.
pub const fn mi(base: R, index: R, scale: u8, disp: i32) -> M {
    M {
        base,
        index: Some((index, scale)),
        disp,
    }
}

/// Two-operand ALU operations (the /digit of 0x81 and the 0x01-style opcode base).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Alu {
    Add = 0,
    Or = 1,
    Adc = 2,
    Sbb = 3,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

/// Shift / rotate kinds (the /digit of 0xD3 / 0xC1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Sh {
    Rol = 0,
    Ror = 1,
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

/// Condition codes (the low nibble of Jcc / SETcc / CMOVcc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Cc {
    O = 0,
    No = 1,
    B = 2,
    Ae = 3,
    E = 4,
    Ne = 5,
    Be = 6,
    A = 7,
    S = 8,
    Ns = 9,
    P = 10,
    Np = 11,
    L = 12,
    Ge = 13,
    Le = 14,
    G = 15,
}

impl Cc {
    /// The opposite condition.
    pub fn negate(self) -> Cc {
        CC_ALL[(self as usize) ^ 1]
    }
}

const CC_ALL: [Cc; 16] = [
    Cc::O,
    Cc::No,
    Cc::B,
    Cc::Ae,
    Cc::E,
    Cc::Ne,
    Cc::Be,
    Cc::A,
    Cc::S,
    Cc::Ns,
    Cc::P,
    Cc::Np,
    Cc::L,
    Cc::Ge,
    Cc::Le,
    Cc::G,
];

/// A forward jump whose 32-bit displacement is filled in later ([`Asm::bind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixup(pub usize);

/// The code buffer being written.
#[derive(Default)]
pub struct Asm {
    /// The bytes.
    pub buf: Vec<u8>,
}

impl Asm {
    /// An empty buffer.
    pub fn new() -> Self {
        Asm {
            buf: Vec::with_capacity(1024),
        }
    }

    /// Current offset.
    #[inline]
    pub fn pos(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    fn b(&mut self, x: u8) {
        self.buf.push(x);
    }

    #[inline]
    fn d32(&mut self, x: i32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }

    /// REX prefix for reg-field `r`, rm/base `b`, index `x`; `force` for byte regs
    /// SPL..DIL; omitted when not needed.
    #[inline]
    fn rex(&mut self, w: bool, r: u8, x: u8, b: u8, force: bool) {
        let v = 0x40 | (u8::from(w) << 3) | ((r >> 3) << 2) | ((x >> 3) << 1) | (b >> 3);
        if v != 0x40 || force {
            self.b(v);
        }
    }

    /// ModRM (+SIB, disp) for a memory operand with reg field `reg`.
    fn modrm_m(&mut self, reg: u8, mm: M) {
        let reg = (reg & 7) << 3;
        let base = mm.base.0 & 7;
        let (mode, dsz) = if mm.disp == 0 && base != 5 {
            (0u8, 0)
        } else if (-128..=127).contains(&mm.disp) {
            (0x40, 1)
        } else {
            (0x80, 4)
        };
        match mm.index {
            None if base != 4 => self.b(mode | reg | base),
            None => {
                self.b(mode | reg | 4);
                self.b(0x24);
            }
            Some((ix, sc)) => {
                let ss = match sc {
                    1 => 0,
                    2 => 1,
                    4 => 2,
                    _ => 3,
                };
                self.b(mode | reg | 4);
                self.b((ss << 6) | ((ix.0 & 7) << 3) | base);
            }
        }
        match dsz {
            1 => self.b(mm.disp as i8 as u8),
            4 => self.d32(mm.disp),
            _ => {}
        }
    }

    fn op_rm(&mut self, w: bool, pre: &[u8], op: &[u8], reg: u8, mm: M, byte_reg: bool) {
        for &p in pre {
            self.b(p);
        }
        let x = mm.index.map_or(0, |(i, _)| i.0);
        self.rex(w, reg, x, mm.base.0, byte_reg && (4..8).contains(&reg));
        for &o in op {
            self.b(o);
        }
        self.modrm_m(reg, mm);
    }

    fn op_rr(&mut self, w: bool, pre: &[u8], op: &[u8], reg: u8, rm: u8, byte_regs: bool) {
        for &p in pre {
            self.b(p);
        }
        let force = byte_regs && ((4..8).contains(&reg) || (4..8).contains(&rm));
        self.rex(w, reg, 0, rm, force);
        for &o in op {
            self.b(o);
        }
        self.b(0xc0 | ((reg & 7) << 3) | (rm & 7));
    }

    /// `op dst, src` (register forms; `w`: 64-bit).
    pub fn alu_rr(&mut self, w: bool, op: Alu, dst: R, src: R) {
        self.op_rr(w, &[], &[(op as u8) << 3 | 1], src.0, dst.0, false);
    }

    /// `op dst, imm` (sign-extended 32-bit immediate).
    pub fn alu_ri(&mut self, w: bool, op: Alu, dst: R, imm: i32) {
        if (-128..=127).contains(&imm) {
            self.op_rr(w, &[], &[0x83], op as u8, dst.0, false);
            self.b(imm as i8 as u8);
        } else {
            self.op_rr(w, &[], &[0x81], op as u8, dst.0, false);
            self.d32(imm);
        }
    }

    /// `op dst, [mem]`.
    pub fn alu_rm(&mut self, w: bool, op: Alu, dst: R, mm: M) {
        self.op_rm(w, &[], &[(op as u8) << 3 | 3], dst.0, mm, false);
    }

    /// `op [mem], imm` (sign-extended 32-bit immediate).
    pub fn alu_mi(&mut self, w: bool, op: Alu, mm: M, imm: i32) {
        if (-128..=127).contains(&imm) {
            self.op_rm(w, &[], &[0x83], op as u8, mm, false);
            self.b(imm as i8 as u8);
        } else {
            self.op_rm(w, &[], &[0x81], op as u8, mm, false);
            self.d32(imm);
        }
    }

    /// `op [mem], src`.
    pub fn alu_mr(&mut self, w: bool, op: Alu, mm: M, src: R) {
        self.op_rm(w, &[], &[(op as u8) << 3 | 1], src.0, mm, false);
    }

    /// `test a, b`.
    pub fn test_rr(&mut self, w: bool, a: R, b: R) {
        self.op_rr(w, &[], &[0x85], b.0, a.0, false);
    }

    /// `test r8, r8` (low byte).
    pub fn test_rr8(&mut self, a: R, b: R) {
        self.op_rr(false, &[], &[0x84], b.0, a.0, true);
    }

    /// `test dst, imm32`.
    pub fn test_ri(&mut self, w: bool, dst: R, imm: i32) {
        self.op_rr(w, &[], &[0xf7], 0, dst.0, false);
        self.d32(imm);
    }

    /// `cmp byte [mem], imm8`.
    pub fn cmp_m8i(&mut self, mm: M, imm: i8) {
        self.op_rm(false, &[], &[0x80], 7, mm, false);
        self.b(imm as u8);
    }

    /// `cmp byte [addr], imm` with an absolute address (sign-extended 32 bits: the low
    /// or the top 2 GiB).
    pub fn cmp_abs8i(&mut self, addr: i32, imm: i8) {
        // 80 /7 ib; ModRM mod 00 r/m 100 + SIB (no index, no base) = disp32 alone.
        self.buf.extend_from_slice(&[0x80, 0x3c, 0x25]);
        self.buf.extend_from_slice(&addr.to_le_bytes());
        self.b(imm as u8);
    }

    /// `mov dst, src` (32-bit form zero-extends).
    pub fn mov_rr(&mut self, w: bool, dst: R, src: R) {
        self.op_rr(w, &[], &[0x89], src.0, dst.0, false);
    }

    /// `mov dst, imm` choosing the shortest exact form.
    pub fn mov_ri(&mut self, dst: R, imm: u64) {
        if imm == 0 {
            self.alu_rr(false, Alu::Xor, dst, dst);
        } else if imm <= u32::MAX as u64 {
            self.rex(false, 0, 0, dst.0, false);
            self.b(0xb8 | (dst.0 & 7));
            self.d32(imm as u32 as i32);
        } else if (imm as i64) >= i32::MIN as i64 && (imm as i64) < 0 {
            self.op_rr(true, &[], &[0xc7], 0, dst.0, false);
            self.d32(imm as i32);
        } else {
            self.rex(true, 0, 0, dst.0, false);
            self.b(0xb8 | (dst.0 & 7));
            self.buf.extend_from_slice(&imm.to_le_bytes());
        }
    }

    /// `mov dst, [mem]` (`size` 1, 2: zero-extending movzx; 4, 8: mov).
    pub fn load(&mut self, size: u8, dst: R, mm: M) {
        match size {
            1 => self.op_rm(false, &[], &[0x0f, 0xb6], dst.0, mm, false),
            2 => self.op_rm(false, &[], &[0x0f, 0xb7], dst.0, mm, false),
            4 => self.op_rm(false, &[], &[0x8b], dst.0, mm, false),
            _ => self.op_rm(true, &[], &[0x8b], dst.0, mm, false),
        }
    }

    /// `mov [mem], src` of `size` bytes (1, 2, 4, 8).
    pub fn store(&mut self, size: u8, mm: M, src: R) {
        match size {
            1 => self.op_rm(false, &[], &[0x88], src.0, mm, true),
            2 => self.op_rm(false, &[0x66], &[0x89], src.0, mm, false),
            4 => self.op_rm(false, &[], &[0x89], src.0, mm, false),
            _ => self.op_rm(true, &[], &[0x89], src.0, mm, false),
        }
    }

    /// `mov qword/dword [mem], imm32` (sign-extended for 8 bytes).
    pub fn store_i(&mut self, size: u8, mm: M, imm: i32) {
        self.op_rm(size == 8, &[], &[0xc7], 0, mm, false);
        self.d32(imm);
    }

    /// `mov byte [mem], imm8`.
    pub fn store_i8(&mut self, mm: M, imm: u8) {
        self.op_rm(false, &[], &[0xc6], 0, mm, false);
        self.b(imm);
    }

    /// `lea dst, [mem]`.
    pub fn lea(&mut self, w: bool, dst: R, mm: M) {
        self.op_rm(w, &[], &[0x8d], dst.0, mm, false);
    }

    /// `movzx dst32, src8/16` (size 1 or 2).
    pub fn movzx(&mut self, size: u8, dst: R, src: R) {
        let op = if size == 1 { 0xb6 } else { 0xb7 };
        self.op_rr(false, &[], &[0x0f, op], dst.0, src.0, size == 1);
    }

    /// `movsx dst, src` from `size` bytes (1, 2, 4) into 32 (`w` false) or 64 bits.
    pub fn movsx(&mut self, w: bool, size: u8, dst: R, src: R) {
        match size {
            1 => self.op_rr(w, &[], &[0x0f, 0xbe], dst.0, src.0, true),
            2 => self.op_rr(w, &[], &[0x0f, 0xbf], dst.0, src.0, false),
            _ => self.op_rr(true, &[], &[0x63], dst.0, src.0, false),
        }
    }

    /// Shift/rotate `dst` by CL.
    pub fn sh_cl(&mut self, w: bool, op: Sh, dst: R) {
        self.op_rr(w, &[], &[0xd3], op as u8, dst.0, false);
    }

    /// Shift/rotate `dst` by an immediate.
    pub fn sh_i(&mut self, w: bool, op: Sh, dst: R, imm: u8) {
        self.op_rr(w, &[], &[0xc1], op as u8, dst.0, false);
        self.b(imm);
    }

    /// `imul dst, src` (low half).
    pub fn imul_rr(&mut self, w: bool, dst: R, src: R) {
        self.op_rr(w, &[], &[0x0f, 0xaf], dst.0, src.0, false);
    }

    /// One-operand group-3 ops on `r`: 2 not, 3 neg, 4 mul, 5 imul, 6 div, 7 idiv.
    pub fn grp3(&mut self, w: bool, digit: u8, r: R) {
        self.op_rr(w, &[], &[0xf7], digit, r.0, false);
    }

    /// `cqo` (w) / `cdq`.
    pub fn cqo(&mut self, w: bool) {
        if w {
            self.b(0x48);
        }
        self.b(0x99);
    }

    /// `bswap r`.
    pub fn bswap(&mut self, w: bool, r: R) {
        self.rex(w, 0, 0, r.0, false);
        self.b(0x0f);
        self.b(0xc8 | (r.0 & 7));
    }

    /// `lzcnt` (0xBD) / `tzcnt` (0xBC) / `popcnt` (0xB8) `dst, src` (F3 0F op).
    pub fn f3op(&mut self, w: bool, op: u8, dst: R, src: R) {
        self.op_rr(w, &[0xf3], &[0x0f, op], dst.0, src.0, false);
    }

    /// `bt r, imm8`.
    pub fn bt_i(&mut self, w: bool, r: R, bit: u8) {
        self.op_rr(w, &[], &[0x0f, 0xba], 4, r.0, false);
        self.b(bit);
    }

    /// `cmc`.
    pub fn cmc(&mut self) {
        self.b(0xf5);
    }

    /// `setcc r8`.
    pub fn setcc(&mut self, cc: Cc, r: R) {
        self.op_rr(false, &[], &[0x0f, 0x90 | cc as u8], 0, r.0, true);
    }

    /// `cmovcc dst, src`.
    pub fn cmov(&mut self, w: bool, cc: Cc, dst: R, src: R) {
        self.op_rr(w, &[], &[0x0f, 0x40 | cc as u8], dst.0, src.0, false);
    }

    /// `jcc rel32` to a later [`Asm::bind`].
    pub fn jcc_fwd(&mut self, cc: Cc) -> Fixup {
        self.b(0x0f);
        self.b(0x80 | cc as u8);
        self.d32(0);
        Fixup(self.pos())
    }

    /// `jmp rel32` to a later [`Asm::bind`].
    pub fn jmp_fwd(&mut self) -> Fixup {
        self.b(0xe9);
        self.d32(0);
        Fixup(self.pos())
    }

    /// Points fixup `f` at the current position.
    pub fn bind(&mut self, f: Fixup) {
        let here = self.pos();
        self.patch(f, here);
    }

    /// Points fixup `f` at offset `to`.
    pub fn patch(&mut self, f: Fixup, to: usize) {
        let rel = (to as i64 - f.0 as i64) as i32;
        self.buf[f.0 - 4..f.0].copy_from_slice(&rel.to_le_bytes());
    }

    /// `jcc` back to offset `to`.
    pub fn jcc_to(&mut self, cc: Cc, to: usize) {
        let f = self.jcc_fwd(cc);
        self.patch(f, to);
    }

    /// `jmp` to offset `to` (in this buffer).
    pub fn jmp_to(&mut self, to: usize) {
        let f = self.jmp_fwd();
        self.patch(f, to);
    }

    /// `call r`.
    pub fn call_r(&mut self, r: R) {
        self.op_rr(false, &[], &[0xff], 2, r.0, false);
    }

    /// `jmp r`.
    pub fn jmp_r(&mut self, r: R) {
        self.op_rr(false, &[], &[0xff], 4, r.0, false);
    }

    /// `jmp qword [mem]`.
    pub fn jmp_m(&mut self, mm: M) {
        self.op_rm(false, &[], &[0xff], 4, mm, false);
    }

    /// `push r`.
    pub fn push(&mut self, r: R) {
        self.rex(false, 0, 0, r.0, false);
        self.b(0x50 | (r.0 & 7));
    }

    /// `pop r`.
    pub fn pop(&mut self, r: R) {
        self.rex(false, 0, 0, r.0, false);
        self.b(0x58 | (r.0 & 7));
    }

    /// `ret`.
    pub fn ret(&mut self) {
        self.b(0xc3);
    }

    /// `movdqu xmm, [mem]`.
    pub fn movdqu_load(&mut self, x: u8, mm: M) {
        self.op_rm(false, &[0xf3], &[0x0f, 0x6f], x, mm, false);
    }

    /// `movdqu [mem], xmm`.
    pub fn movdqu_store(&mut self, mm: M, x: u8) {
        self.op_rm(false, &[0xf3], &[0x0f, 0x7f], x, mm, false);
    }

    /// An SSE op `xmm_d, xmm_s` with prefix 66 and opcode bytes `op` (e.g. `[0x0f, 0xef]`
    /// pxor, `[0x0f, 0x38, 0xdd]` aesenclast). Registers 0..15.
    pub fn sse_rr(&mut self, op: &[u8], d: u8, s: u8) {
        self.op_rr(false, &[0x66], op, d, s, false);
    }

    /// An SSE op without the 66 prefix (SHA extensions).
    pub fn sse_np_rr(&mut self, op: &[u8], d: u8, s: u8) {
        self.op_rr(false, &[], op, d, s, false);
    }

    /// An SSE op with prefix 66 and an 8-bit immediate (pshufd, palignr, pblendw).
    pub fn sse_rri(&mut self, op: &[u8], d: u8, s: u8, imm: u8) {
        self.op_rr(false, &[0x66], op, d, s, false);
        self.b(imm);
    }

    /// An SSE op without the 66 prefix and with an 8-bit immediate (sha1rnds4).
    pub fn sse_np_rri(&mut self, op: &[u8], d: u8, s: u8, imm: u8) {
        self.op_rr(false, &[], op, d, s, false);
        self.b(imm);
    }

    /// `crc32 dst, src` (CRC-32C) over the low `size` bytes of `src` (1, 2, 4 or 8;
    /// 8 is the 64-bit form, whose result is zero-extended as well).
    pub fn crc32(&mut self, size: u8, dst: R, src: R) {
        let pre: &[u8] = if size == 2 { &[0x66, 0xf2] } else { &[0xf2] };
        let op = if size == 1 { 0xf0 } else { 0xf1 };
        self.op_rr(size == 8, pre, &[0x0f, 0x38, op], dst.0, src.0, size == 1);
    }

    /// An SSE shift by immediate (`66 0F op /digit ib`: psrlw is 0x71 /2).
    pub fn sse_shift(&mut self, op: u8, digit: u8, x: u8, imm: u8) {
        self.op_rr(false, &[0x66], &[0x0f, op], digit, x, false);
        self.b(imm);
    }

    /// `movq xmm, r64`.
    pub fn movq_xr(&mut self, x: u8, r: R) {
        self.op_rr(true, &[0x66], &[0x0f, 0x6e], x, r.0, false);
    }

    /// `movq r64, xmm` (the low 64 bits).
    pub fn movq_rx(&mut self, r: R, x: u8) {
        self.op_rr(true, &[0x66], &[0x0f, 0x7e], x, r.0, false);
    }

    /// `movq xmm_d, xmm_s` (zeroes bits 127..64).
    pub fn movq_xx(&mut self, d: u8, s: u8) {
        self.op_rr(false, &[0xf3], &[0x0f, 0x7e], d, s, false);
    }

    /// `pshuflw xmm_d, xmm_s, imm`.
    pub fn pshuflw(&mut self, d: u8, s: u8, imm: u8) {
        self.op_rr(false, &[0xf2], &[0x0f, 0x70], d, s, false);
        self.b(imm);
    }

    /// `rorx dst, src, imm` (BMI2, 64-bit): rotate right without touching the flags.
    pub fn rorx(&mut self, dst: R, src: R, imm: u8) {
        let r = u8::from(dst.0 < 8) << 7;
        let b = u8::from(src.0 < 8) << 5;
        self.buf
            .extend_from_slice(&[0xc4, r | 0x40 | b | 0x03, 0xfb, 0xf0]);
        self.b(0xc0 | ((dst.0 & 7) << 3) | (src.0 & 7));
        self.b(imm);
    }

    /// `lahf`.
    pub fn lahf(&mut self) {
        self.b(0x9f);
    }

    /// `pext ecx, eax, ecx` (BMI2; the one form the translator needs).
    pub fn pext_ecx_eax_ecx(&mut self) {
        self.buf.extend_from_slice(&[0xc4, 0xe2, 0x7a, 0xf5, 0xc9]);
    }

    /// A scalar/packed FP op `xmm_d, xmm_s` with the prefix `pre` (none, 66, F2 or F3)
    /// and opcode bytes `op` (`[0xf2]`, `[0x0f, 0x58]` is addsd).
    pub fn fp_rr(&mut self, pre: &[u8], op: &[u8], d: u8, s: u8) {
        self.op_rr(false, pre, op, d, s, false);
    }

    /// A scalar FP op with a general-register source or destination in the ModRM
    /// `rm` field (cvtsi2sd, cvttsd2si); `w`: 64-bit integer.
    pub fn fp_rr_gpr(&mut self, w: bool, pre: &[u8], op: &[u8], reg: u8, rm: u8) {
        self.op_rr(w, pre, op, reg, rm, false);
    }

    /// [`Asm::fp_rr`] with an 8-bit immediate (cmpps, cmppd).
    pub fn fp_rri(&mut self, pre: &[u8], op: &[u8], d: u8, s: u8, imm: u8) {
        self.op_rr(false, pre, op, d, s, false);
        self.b(imm);
    }

    /// `movd xmm, r32` (zeroes the rest).
    pub fn movd_xr(&mut self, x: u8, r: R) {
        self.op_rr(false, &[0x66], &[0x0f, 0x6e], x, r.0, false);
    }

    /// `movd r32, xmm` (the low 32 bits, zero-extended).
    pub fn movd_rx(&mut self, r: R, x: u8) {
        self.op_rr(false, &[0x66], &[0x0f, 0x7e], x, r.0, false);
    }

    /// `ldmxcsr [mem]`.
    pub fn ldmxcsr(&mut self, mm: M) {
        self.op_rm(false, &[], &[0x0f, 0xae], 2, mm, false);
    }

    /// `stmxcsr [mem]`.
    pub fn stmxcsr(&mut self, mm: M) {
        self.op_rm(false, &[], &[0x0f, 0xae], 3, mm, false);
    }

    /// A three-operand VEX op `d, v, s` (128-bit, VEX.L = 0) in opcode map `map` (1 0F,
    /// 2 0F38, 3 0F3A) with implied prefix `pp` (0 none, 1 66, 2 F3, 3 F2) and VEX.W `w`:
    /// `vex_rrr(2, 1, true, 0xb9, d, v, s)` is vfmadd231sd.
    #[allow(clippy::too_many_arguments)]
    pub fn vex_rrr(&mut self, map: u8, pp: u8, w: bool, op: u8, d: u8, v: u8, s: u8) {
        let r = u8::from(d < 8) << 7;
        let b = u8::from(s < 8) << 5;
        self.b(0xc4);
        self.b(r | 0x40 | b | map);
        self.b(u8::from(w) << 7 | ((!v & 15) << 3) | pp);
        self.b(op);
        self.b(0xc0 | ((d & 7) << 3) | (s & 7));
    }

    /// `mfence`.
    pub fn mfence(&mut self) {
        self.buf.extend_from_slice(&[0x0f, 0xae, 0xf0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

    fn dis(a: &Asm) -> Vec<String> {
        let mut d = Decoder::with_ip(64, &a.buf, 0, DecoderOptions::NONE);
        let mut f = IntelFormatter::new();
        let mut out = Vec::new();
        for i in d.iter() {
            let mut s = String::new();
            f.format(&i, &mut s);
            out.push(s);
        }
        out
    }

    fn one(f: impl FnOnce(&mut Asm)) -> String {
        let mut a = Asm::new();
        f(&mut a);
        let v = dis(&a);
        assert_eq!(v.len(), 1, "{v:?} {:02x?}", a.buf);
        v[0].clone()
    }

    #[test]
    fn encodings_match_iced() {
        let cases: Vec<(String, &str)> = vec![
            (
                one(|a| a.alu_rr(true, Alu::Add, R::RAX, R::R9)),
                "add rax,r9",
            ),
            (
                one(|a| a.alu_rr(false, Alu::Sub, R::R12, R::RBX)),
                "sub r12d,ebx",
            ),
            (one(|a| a.alu_ri(true, Alu::Cmp, R::R13, 5)), "cmp r13,5"),
            (
                one(|a| a.alu_ri(true, Alu::And, R::RCX, -4096)),
                "and rcx,0FFFFFFFFFFFFF000h",
            ),
            (
                one(|a| a.alu_ri(false, Alu::Xor, R::RSI, 0x12345)),
                "xor esi,12345h",
            ),
            (
                one(|a| a.alu_rm(true, Alu::Cmp, R::RCX, m(R::RAX, 8))),
                "cmp rcx,[rax+8]",
            ),
            (
                one(|a| a.alu_mi(true, Alu::Sub, m(R::R12, 0x100), 3)),
                "sub qword ptr [r12+100h],3",
            ),
            (
                one(|a| a.alu_mr(true, Alu::Add, m(R::R12, 0x10), R::RDX)),
                "add [r12+10h],rdx",
            ),
            (one(|a| a.test_rr8(R::RSI, R::RSI)), "test sil,sil"),
            (one(|a| a.cmp_m8i(m(R::RAX, 0), 0)), "cmp byte ptr [rax],0"),
            (
                one(|a| a.cmp_abs8i(-0x7fef_0000, 0)),
                "cmp byte ptr [0FFFFFFFF80110000h],0",
            ),
            (
                one(|a| a.mov_ri(R::R8, 0x1234_5678_9abc)),
                "mov r8,123456789ABCh",
            ),
            (
                one(|a| a.mov_ri(R::R8, 0xffff_ffff_ffff_fff0)),
                "mov r8,0FFFFFFFFFFFFFFF0h",
            ),
            (one(|a| a.mov_ri(R::RDX, 7)), "mov edx,7"),
            (
                one(|a| a.load(1, R::R10, m(R::RBP, 0x7f))),
                "movzx r10d,byte ptr [rbp+7Fh]",
            ),
            (
                one(|a| a.load(2, R::RAX, mi(R::RAX, R::R11, 1, 0))),
                "movzx eax,word ptr [rax+r11]",
            ),
            (one(|a| a.load(8, R::RBX, m(R::R13, 0))), "mov rbx,[r13]"),
            (one(|a| a.load(8, R::RBX, m(R::RSP, 8))), "mov rbx,[rsp+8]"),
            (
                one(|a| a.load(4, R::R15, m(R::RBP, 0x1000))),
                "mov r15d,[rbp+1000h]",
            ),
            (one(|a| a.store(1, m(R::RAX, 0), R::RSI)), "mov [rax],sil"),
            (
                one(|a| a.store(2, mi(R::RCX, R::RAX, 1, 0), R::R9)),
                "mov [rcx+rax],r9w",
            ),
            (
                one(|a| a.store(8, m(R::R12, -8), R::R14)),
                "mov [r12-8],r14",
            ),
            (
                one(|a| a.store_i(8, m(R::RBP, 16), -1)),
                "mov qword ptr [rbp+10h],0FFFFFFFFFFFFFFFFh",
            ),
            (
                one(|a| a.lea(true, R::RCX, m(R::RDI, 7))),
                "lea rcx,[rdi+7]",
            ),
            (
                one(|a| a.lea(false, R::RAX, mi(R::RDX, R::RAX, 2, 0))),
                "lea eax,[rdx+rax*2]",
            ),
            (one(|a| a.movzx(1, R::RAX, R::RDI)), "movzx eax,dil"),
            (one(|a| a.movsx(true, 4, R::R9, R::RAX)), "movsxd r9,eax"),
            (one(|a| a.movsx(false, 2, R::RAX, R::R9)), "movsx eax,r9w"),
            (one(|a| a.sh_cl(true, Sh::Sar, R::R11)), "sar r11,cl"),
            (one(|a| a.sh_i(false, Sh::Ror, R::RAX, 3)), "ror eax,3"),
            (one(|a| a.imul_rr(true, R::RAX, R::R14)), "imul rax,r14"),
            (one(|a| a.grp3(true, 7, R::RCX)), "idiv rcx"),
            (one(|a| a.bswap(true, R::R10)), "bswap r10"),
            (one(|a| a.f3op(true, 0xbd, R::RAX, R::RBX)), "lzcnt rax,rbx"),
            (one(|a| a.bt_i(false, R::RSI, 0)), "bt esi,0"),
            (one(|a| a.setcc(Cc::Ae, R::RDI)), "setae dil"),
            (
                one(|a| a.cmov(true, Cc::Ne, R::RAX, R::R8)),
                "cmovne rax,r8",
            ),
            (one(|a| a.call_r(R::RAX)), "call rax"),
            (one(|a| a.jmp_m(m(R::RCX, 16))), "jmp qword ptr [rcx+10h]"),
            (one(|a| a.push(R::R12)), "push r12"),
            (
                one(|a| a.movdqu_load(0, m(R::R12, 0x40))),
                "movdqu xmm0,[r12+40h]",
            ),
            (
                one(|a| a.movdqu_store(mi(R::RAX, R::RCX, 1, 0), 0)),
                "movdqu [rax+rcx],xmm0",
            ),
            (one(|a| a.sse_rr(&[0x0f, 0xef], 0, 1)), "pxor xmm0,xmm1"),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0xdd], 0, 1)),
                "aesenclast xmm0,xmm1",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0xdf], 0, 1)),
                "aesdeclast xmm0,xmm1",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0xdc], 0, 1)),
                "aesenc xmm0,xmm1",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0xdb], 0, 1)),
                "aesimc xmm0,xmm1",
            ),
            (
                one(|a| a.sse_np_rr(&[0x0f, 0x38, 0xcb], 2, 3)),
                "sha256rnds2 xmm2,xmm3",
            ),
            (
                one(|a| a.sse_np_rr(&[0x0f, 0x38, 0xcc], 1, 2)),
                "sha256msg1 xmm1,xmm2",
            ),
            (
                one(|a| a.sse_np_rr(&[0x0f, 0x38, 0xcd], 1, 2)),
                "sha256msg2 xmm1,xmm2",
            ),
            (
                one(|a| a.sse_rri(&[0x0f, 0x70], 1, 3, 0x1b)),
                "pshufd xmm1,xmm3,1Bh",
            ),
            (
                one(|a| a.sse_rri(&[0x0f, 0x3a, 0x0f], 3, 2, 8)),
                "palignr xmm3,xmm2,8",
            ),
            (
                one(|a| a.sse_rri(&[0x0f, 0x3a, 0x0e], 2, 1, 0xf0)),
                "pblendw xmm2,xmm1,0F0h",
            ),
            (one(|a| a.sse_rr(&[0x0f, 0xfe], 1, 2)), "paddd xmm1,xmm2"),
            (one(|a| a.sse_rr(&[0x0f, 0x6f], 4, 1)), "movdqa xmm4,xmm1"),
            (one(|a| a.sse_shift(0x71, 2, 4, 8)), "psrlw xmm4,8"),
            (one(|a| a.pext_ecx_eax_ecx()), "pext ecx,eax,ecx"),
            (one(|a| a.lahf()), "lahf"),
            (one(|a| a.rorx(R::RAX, R::RSI, 7)), "rorx rax,rsi,7"),
            (one(|a| a.rorx(R::RAX, R::R14, 7)), "rorx rax,r14,7"),
            (one(|a| a.rorx(R::R9, R::RDX, 12)), "rorx r9,rdx,0Ch"),
            (
                one(|a| a.fp_rr(&[0xf2], &[0x0f, 0x58], 0, 1)),
                "addsd xmm0,xmm1",
            ),
            (
                one(|a| a.fp_rr(&[0xf3], &[0x0f, 0x5e], 9, 2)),
                "divss xmm9,xmm2",
            ),
            (
                one(|a| a.fp_rr(&[0x66], &[0x0f, 0x2e], 0, 0)),
                "ucomisd xmm0,xmm0",
            ),
            (
                one(|a| a.fp_rr_gpr(true, &[0xf2], &[0x0f, 0x2a], 0, R::R9.0)),
                "cvtsi2sd xmm0,r9",
            ),
            (
                one(|a| a.fp_rr_gpr(false, &[0xf2], &[0x0f, 0x2c], R::RCX.0, 1)),
                "cvttsd2si ecx,xmm1",
            ),
            (one(|a| a.movd_xr(1, R::R10)), "movd xmm1,r10d"),
            (
                one(|a| a.fp_rri(&[], &[0x0f, 0xc2], 3, 3, 3)),
                "cmpunordps xmm3,xmm3",
            ),
            (one(|a| a.movd_rx(R::RAX, 0)), "movd eax,xmm0"),
            (
                one(|a| a.ldmxcsr(mi(R::R12, R::RDX, 4, 0x40))),
                "ldmxcsr [r12+rdx*4+40h]",
            ),
            (one(|a| a.stmxcsr(m(R::RSP, 0))), "stmxcsr [rsp]"),
            (
                one(|a| a.vex_rrr(2, 1, true, 0xb9, 0, 1, 2)),
                "vfmadd231sd xmm0,xmm1,xmm2",
            ),
            (
                one(|a| a.vex_rrr(2, 1, false, 0xbd, 9, 10, 11)),
                "vfnmadd231ss xmm9,xmm10,xmm11",
            ),
            (one(|a| a.movq_xr(0, R::RAX)), "movq xmm0,rax"),
            (one(|a| a.movq_xr(0, R::R9)), "movq xmm0,r9"),
            (one(|a| a.movq_xr(15, R::RAX)), "movq xmm15,rax"),
            (one(|a| a.movq_rx(R::RAX, 9)), "movq rax,xmm9"),
            (one(|a| a.movq_rx(R::R11, 0)), "movq r11,xmm0"),
            (
                one(|a| a.sse_rr(&[0x0f, 0x6c], 15, 14)),
                "punpcklqdq xmm15,xmm14",
            ),
            (one(|a| a.sse_rr(&[0x0f, 0xef], 3, 3)), "pxor xmm3,xmm3"),
            (
                one(|a| a.movdqu_store(m(R::R12, 0x70), 15)),
                "movdqu [r12+70h],xmm15",
            ),
            (one(|a| a.movq_xx(0, 0)), "movq xmm0,xmm0"),
            (one(|a| a.pshuflw(0, 0, 0)), "pshuflw xmm0,xmm0,0"),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x3e], 0, 2)),
                "pmaxuw xmm0,xmm2",
            ),
            (one(|a| a.sse_rr(&[0x0f, 0x67], 0, 5)), "packuswb xmm0,xmm5"),
            (one(|a| a.crc32(1, R::RAX, R::RSI)), "crc32 eax,sil"),
            (one(|a| a.crc32(1, R::R9, R::RCX)), "crc32 r9d,cl"),
            (one(|a| a.crc32(2, R::RAX, R::R10)), "crc32 eax,r10w"),
            (one(|a| a.crc32(4, R::RDX, R::RBX)), "crc32 edx,ebx"),
            (one(|a| a.crc32(8, R::RAX, R::R11)), "crc32 rax,r11"),
            (
                one(|a| a.sse_rri(&[0x0f, 0x3a, 0x44], 0, 1, 0x11)),
                "pclmulhqhqdq xmm0,xmm1",
            ),
            (
                one(|a| a.sse_np_rri(&[0x0f, 0x3a, 0xcc], 0, 4, 2)),
                "sha1rnds4 xmm0,xmm4,2",
            ),
            (one(|a| a.sse_rr(&[0x0f, 0xd7], 0, 4)), "pmovmskb eax,xmm4"),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x0b], 0, 2)),
                "pmulhrsw xmm0,xmm2",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x04], 0, 4)),
                "pmaddubsw xmm0,xmm4",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x20], 0, 0)),
                "pmovsxbw xmm0,xmm0",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x35], 4, 4)),
                "pmovzxdq xmm4,xmm4",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x28], 0, 5)),
                "pmuldq xmm0,xmm5",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x40], 0, 2)),
                "pmulld xmm0,xmm2",
            ),
            (
                one(|a| a.sse_rr(&[0x0f, 0x38, 0x1e], 0, 1)),
                "pabsd xmm0,xmm1",
            ),
            (one(|a| a.sse_shift(0x73, 3, 4, 8)), "psrldq xmm4,8"),
            (one(|a| a.sse_shift(0x73, 7, 5, 12)), "pslldq xmm5,0Ch"),
            (one(|a| a.sse_shift(0x72, 4, 4, 31)), "psrad xmm4,1Fh"),
        ];
        for (got, want) in cases {
            assert_eq!(got.replace(", ", ","), want);
        }
    }
}
