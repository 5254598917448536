//! Checksums and crypto on host instructions, when probed: CRC32C with SSE4.2 `crc32`,
//! CRC32 by a Barrett reduction with PCLMULQDQ, PMULL/PMULL2 of 64-bit lanes with
//! PCLMULQDQ, SHA1C/SHA1P/SHA1M with SHA1RNDS4, and SHA1H/SHA1SU0/SHA1SU1 (plain SSE).
//! Without the extension the helper (the exact reference) is called.

use super::*;
use crate::simd::SImm;

const MOVDQA: &[u8] = &[0x0f, 0x6f];
const PXOR: &[u8] = &[0x0f, 0xef];
const POR: &[u8] = &[0x0f, 0xeb];
const PADDD: &[u8] = &[0x0f, 0xfe];
const PSUBD: &[u8] = &[0x0f, 0xfa];
const PSHUFD: &[u8] = &[0x0f, 0x70];
const PBLENDW: &[u8] = &[0x0f, 0x3a, 0x0e];
const PALIGNR: &[u8] = &[0x0f, 0x3a, 0x0f];
const PCLMULQDQ: &[u8] = &[0x0f, 0x3a, 0x44];
const SHA1RNDS4: &[u8] = &[0x0f, 0x3a, 0xcc];

/// `THREE_DIFF_OPS` index of PMULL.
const PMULL: u8 = 25;

/// CRC-32 (reflected 0x04C11DB7) Barrett constants: x^64 / P and P, both reflected to
/// 33 bits.
const CRC32_MU: u64 = 0x1_f701_1641;
const CRC32_P: u64 = 0x1_db71_0641;

/// Whether `h` with `imm` is emitted here for features `f`.
pub(super) fn inline(h: &Helper, imm: u64, f: Features) -> bool {
    match h.name {
        "crypto::crc32" if imm & 4 != 0 => f.sse42,
        "crypto::crc32" => f.pclmul,
        "simd::three_diff" => {
            let i = SImm::of(imm);
            f.pclmul && i.op == PMULL && i.esize == 64 && !i.elem
        }
        // SHA1C / SHA1P / SHA1M; SHA1SU0.
        "crypto::sha3" => (imm <= 2 && f.sha) || (imm == 3 && f.sse41),
        // SHA1H, SHA1SU1.
        "crypto::sha2" => imm <= 1 && f.sse41,
        _ => false,
    }
}

impl Tr<'_> {
    /// Emits one of [`inline`]'s forms.
    pub(super) fn host_crypto(&mut self, dst: Temp, h: &Helper, args: [Temp; 3], imm: u64) {
        if h.name == "crypto::crc32" {
            let acc = self.get(args[0], R::RCX);
            let data = self.get(args[1], R::RDX);
            emit_crc(&mut self.a, imm, acc, data);
            let r = self.def(dst);
            if r != R::RAX {
                self.a.mov_rr(false, r, R::RAX);
            }
            self.fin(dst, r);
            return;
        }
        for (k, &t) in args.iter().enumerate().take(h.args.len()) {
            self.xmm_load(k as u8 + 1, t);
        }
        self.x0_dirty = true;
        emit_vec(&mut self.a, h.name, imm);
        self.xdef(dst, 0);
        self.x0 = Some(dst.0);
    }
}

/// CRC32{C}{B,H,W,X} (`imm` = C << 2 | sz) of the accumulator in `acc` and the data in
/// `data` (neither RAX; `data` may be RDX) into EAX (zero-extended). Clobbers RDX,
/// XMM0 and XMM1.
pub(crate) fn emit_crc(a: &mut Asm, imm: u64, acc: R, data: R) {
    let bytes = 1u8 << (imm & 3);
    a.mov_rr(false, R::RAX, acc);
    if imm & 4 != 0 {
        a.crc32(bytes, R::RAX, data);
        return;
    }
    // CRC-32 of n <= 32 bits t = (acc ^ data) mod 2^n: with R = t << (32 - n), the
    // Barrett reduction of R * x^32 is bits 63:32 of clmul(clmul(R, mu) mod x^32, P);
    // the accumulator's bits above n are shifted out: xor acc >> n.
    let step = |a: &mut Asm, n: u32| {
        if n < 32 {
            a.sh_i(false, Sh::Shl, R::RAX, (32 - n) as u8);
        }
        a.movq_xr(0, R::RAX);
        a.mov_ri(R::RAX, CRC32_MU);
        a.movq_xr(1, R::RAX);
        a.sse_rri(PCLMULQDQ, 0, 1, 0);
        a.movq_rx(R::RAX, 0);
        a.mov_rr(false, R::RAX, R::RAX);
        a.movq_xr(0, R::RAX);
        a.mov_ri(R::RAX, CRC32_P);
        a.movq_xr(1, R::RAX);
        a.sse_rri(PCLMULQDQ, 0, 1, 0);
        a.movq_rx(R::RAX, 0);
        a.sh_i(true, Sh::Shr, R::RAX, 32);
    };
    a.alu_rr(false, Alu::Xor, R::RAX, data);
    if bytes == 8 {
        step(a, 32);
        // The high word on the CRC of the low one.
        if data != R::RDX {
            a.mov_rr(true, R::RDX, data);
        }
        a.sh_i(true, Sh::Shr, R::RDX, 32);
        a.alu_rr(false, Alu::Xor, R::RAX, R::RDX);
        step(a, 32);
        return;
    }
    let n = 8 * u32::from(bytes);
    step(a, n);
    if n < 32 {
        a.mov_rr(false, R::RDX, acc);
        a.sh_i(false, Sh::Shr, R::RDX, n as u8);
        a.alu_rr(false, Alu::Xor, R::RAX, R::RDX);
    }
}

/// The vector forms: operands in XMM1..3 in the helper's order, result in XMM0.
/// Clobbers RAX and XMM4, XMM5, XMM7.
pub(crate) fn emit_vec(a: &mut Asm, name: &str, imm: u64) {
    match (name, imm) {
        ("simd::three_diff", _) => {
            // PMULL / PMULL2 of 64-bit lanes: (Vn, Vm, Vd).
            a.sse_rr(MOVDQA, 0, 1);
            let q = if SImm::part2(imm) { 0x11 } else { 0x00 };
            a.sse_rri(PCLMULQDQ, 0, 2, q);
        }
        ("crypto::sha3", 3) => {
            // SHA1SU0 (Vd, Vn, Vm): (Vn[63:0] : Vd[127:64]) ^ Vd ^ Vm.
            a.sse_rr(MOVDQA, 0, 2);
            a.sse_rri(PALIGNR, 0, 1, 8);
            a.sse_rr(PXOR, 0, 1);
            a.sse_rr(PXOR, 0, 3);
        }
        ("crypto::sha3", _) => {
            // SHA1C/P/M (Vd = abcd, Sn = e, Vm = wk): SHA1RNDS4 adds the round constant
            // itself and takes e in the first word, both in x86's reversed word order.
            let (k, f) = match imm {
                0 => (0x5a82_7999u64, 0),
                1 => (0x6ed9_eba1, 1),
                _ => (0x8f1b_bcdc, 2),
            };
            a.mov_ri(R::RAX, k | (k << 32));
            a.movq_xr(4, R::RAX);
            a.sse_rri(PSHUFD, 4, 4, 0);
            a.sse_rr(MOVDQA, 5, 3);
            a.sse_rr(PSUBD, 5, 4);
            a.sse_rr(PXOR, 4, 4);
            a.sse_rri(PBLENDW, 4, 2, 0x03);
            a.sse_rr(PADDD, 5, 4);
            a.sse_rri(PSHUFD, 5, 5, 0x1b);
            a.sse_rri(PSHUFD, 0, 1, 0x1b);
            a.sse_np_rri(SHA1RNDS4, 0, 5, f);
            a.sse_rri(PSHUFD, 0, 0, 0x1b);
        }
        ("crypto::sha2", 0) => {
            // SHA1H (Vd, Vn): ROL(Sn, 30), the rest zero.
            a.sse_rr(MOVDQA, 4, 2);
            a.sse_shift(0x72, 6, 4, 30);
            a.sse_rr(MOVDQA, 5, 2);
            a.sse_shift(0x72, 2, 5, 2);
            a.sse_rr(POR, 4, 5);
            a.sse_rr(PXOR, 0, 0);
            a.sse_rri(PBLENDW, 0, 4, 0x03);
        }
        _ => {
            // SHA1SU1 (Vd, Vn): t = Vd ^ (Vn >> 32); ROL(t, 1) per word, and word 3
            // also ^ ROL(word 0 of the result, 1).
            a.sse_rr(MOVDQA, 4, 2);
            a.sse_shift(0x73, 3, 4, 4);
            a.sse_rr(PXOR, 4, 1);
            let rol1 = |a: &mut Asm, d: u8, s: u8, t: u8| {
                a.sse_rr(MOVDQA, d, s);
                a.sse_shift(0x72, 6, d, 1);
                a.sse_rr(MOVDQA, t, s);
                a.sse_shift(0x72, 2, t, 31);
                a.sse_rr(POR, d, t);
            };
            rol1(a, 0, 4, 5);
            a.sse_rr(MOVDQA, 4, 0);
            a.sse_shift(0x73, 7, 4, 12);
            rol1(a, 5, 4, 7);
            a.sse_rr(PXOR, 0, 5);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::host_exec::{Exec, Rng};
    use super::*;

    #[test]
    fn crc_matches_the_tables() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for imm in 0..8u64 {
            let ex = Exec::new(|a| {
                a.load(8, R::RCX, m(R::RDI, 0));
                a.load(8, R::RDX, m(R::RDI, 16));
                emit_crc(a, imm, R::RCX, R::RDX);
                a.store(8, m(R::RDI, 48), R::RAX);
            });
            for _ in 0..2000 {
                let (acc, data) = (rng.next(), rng.next());
                let mut io = [0u8; 64];
                io[..8].copy_from_slice(&acc.to_le_bytes());
                io[16..24].copy_from_slice(&data.to_le_bytes());
                let mut cpu = a64::state::Cpu::default();
                ex.run(&mut io, &mut cpu);
                let got = u64::from_le_bytes(io[48..56].try_into().unwrap());
                let want =
                    (a64::crypto::lower::CRC32.func)(&mut cpu, [acc.into(), data.into(), 0], imm);
                assert_eq!(
                    u128::from(got),
                    want,
                    "imm {imm} acc {acc:#x} data {data:#x}"
                );
            }
        }
    }

    #[test]
    fn vector_forms_match_the_helpers() {
        let mut rng = Rng(0x0bad_cafe_f00d_1234);
        let cases: [(&Helper, u64); 8] = [
            (&a64::simd::lower::THREE_DIFF, 0x1_4000 | u64::from(PMULL)),
            (&a64::simd::lower::THREE_DIFF, 0x101_4000 | u64::from(PMULL)),
            (&a64::crypto::lower::SHA3, 0),
            (&a64::crypto::lower::SHA3, 1),
            (&a64::crypto::lower::SHA3, 2),
            (&a64::crypto::lower::SHA3, 3),
            (&a64::crypto::lower::SHA2, 0),
            (&a64::crypto::lower::SHA2, 1),
        ];
        let sha = std::is_x86_feature_detected!("sha");
        for (h, imm) in cases {
            if h.name == "crypto::sha3" && imm <= 2 && !sha {
                continue;
            }
            let ex = Exec::new(|a| {
                for k in 0..3u8 {
                    a.movdqu_load(k + 1, m(R::RDI, 16 * i32::from(k)));
                }
                emit_vec(a, h.name, imm);
                a.movdqu_store(m(R::RDI, 48), 0);
            });
            for _ in 0..2000 {
                let args = [rng.vec(32), rng.vec(32), rng.vec(32)];
                let mut io = [0u8; 64];
                for k in 0..3 {
                    io[16 * k..16 * k + 16].copy_from_slice(&args[k].to_le_bytes());
                }
                let mut cpu = a64::state::Cpu::default();
                ex.run(&mut io, &mut cpu);
                let got = u128::from_le_bytes(io[48..64].try_into().unwrap());
                let want = (h.func)(&mut cpu, args, imm);
                assert_eq!(got, want, "{} imm {imm:#x} args {args:x?}", h.name);
            }
        }
    }
}
