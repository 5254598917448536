//! Crypto extension and CRC32 semantics: AES, SHA-1, SHA-256, 64-bit PMULL and the
//! CRC32/CRC32C instructions. All functions are pure and bit-exact.

pub mod lower;

/// Multiplication in GF(2^8) modulo the AES polynomial x^8+x^4+x^3+x+1.
const fn gmul(a: u8, b: u8) -> u8 {
    let (mut a, mut b, mut r) = (a, b, 0u8);
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        let hi = a & 0x80;
        a <<= 1;
        if hi != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    r
}

const fn make_sbox() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut x = 0usize;
    while x < 256 {
        // Multiplicative inverse as x^254 (0 maps to 0).
        let mut inv = 1u8;
        let mut k = 0;
        while k < 254 {
            inv = gmul(inv, x as u8);
            k += 1;
        }
        if x == 0 {
            inv = 0;
        }
        let s = inv
            ^ inv.rotate_left(1)
            ^ inv.rotate_left(2)
            ^ inv.rotate_left(3)
            ^ inv.rotate_left(4)
            ^ 0x63;
        t[x] = s;
        x += 1;
    }
    t
}

const fn invert(t: &[u8; 256]) -> [u8; 256] {
    let mut r = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        r[t[i] as usize] = i as u8;
        i += 1;
    }
    r
}

/// The AES S-box (SubBytes).
pub static SBOX: [u8; 256] = make_sbox();
/// The inverse AES S-box (InvSubBytes).
pub static INV_SBOX: [u8; 256] = invert(&make_sbox());

fn bytes(v: u128) -> [u8; 16] {
    v.to_le_bytes()
}

fn from_bytes(b: [u8; 16]) -> u128 {
    u128::from_le_bytes(b)
}

/// AESE: AddRoundKey (XOR), ShiftRows, SubBytes.
pub fn aese(d: u128, n: u128) -> u128 {
    let s = bytes(d ^ n);
    let mut o = [0u8; 16];
    for c in 0..4 {
        for r in 0..4 {
            o[4 * c + r] = SBOX[s[4 * ((c + r) % 4) + r] as usize];
        }
    }
    from_bytes(o)
}

/// AESD: AddRoundKey (XOR), InvShiftRows, InvSubBytes.
pub fn aesd(d: u128, n: u128) -> u128 {
    let s = bytes(d ^ n);
    let mut o = [0u8; 16];
    for c in 0..4 {
        for r in 0..4 {
            o[4 * c + r] = INV_SBOX[s[4 * ((c + 4 - r) % 4) + r] as usize];
        }
    }
    from_bytes(o)
}

fn mix(n: u128, m: [u8; 4]) -> u128 {
    let s = bytes(n);
    let mut o = [0u8; 16];
    for c in 0..4 {
        for r in 0..4 {
            let mut acc = 0u8;
            for k in 0..4 {
                acc ^= gmul(m[(k + 4 - r) % 4], s[4 * c + k]);
            }
            o[4 * c + r] = acc;
        }
    }
    from_bytes(o)
}

/// AESMC: MixColumns.
pub fn aesmc(n: u128) -> u128 {
    mix(n, [2, 3, 1, 1])
}

/// AESIMC: InvMixColumns.
pub fn aesimc(n: u128) -> u128 {
    mix(n, [14, 11, 13, 9])
}

fn w32(v: u128, i: usize) -> u32 {
    (v >> (32 * i)) as u32
}

fn from_w32(w: [u32; 4]) -> u128 {
    w.iter()
        .enumerate()
        .fold(0u128, |acc, (i, &x)| acc | ((x as u128) << (32 * i)))
}

/// The SHA-1 hash-update variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sha1Op {
    /// SHA1C: choose.
    C,
    /// SHA1P: parity.
    P,
    /// SHA1M: majority.
    M,
}

/// SHA1C/SHA1P/SHA1M `Qd, Sn, Vm.4S`: `d` = abcd, `e` = Sn (low 32 bits), `m` = W+K.
pub fn sha1_hash(op: Sha1Op, d: u128, e: u32, m: u128) -> u128 {
    let mut x = [w32(d, 0), w32(d, 1), w32(d, 2), w32(d, 3)];
    let mut y = e;
    for i in 0..4 {
        let t = match op {
            Sha1Op::C => (x[1] & x[2]) | (!x[1] & x[3]),
            Sha1Op::P => x[1] ^ x[2] ^ x[3],
            Sha1Op::M => (x[1] & x[2]) | (x[1] & x[3]) | (x[2] & x[3]),
        };
        y = y
            .wrapping_add(x[0].rotate_left(5))
            .wrapping_add(t)
            .wrapping_add(w32(m, i));
        x[1] = x[1].rotate_left(30);
        let top = x[3];
        x = [y, x[0], x[1], x[2]];
        y = top;
    }
    from_w32(x)
}

/// SHA1H: fixed rotate (`Sd = ROL(Sn, 30)`).
pub fn sha1h(n: u32) -> u32 {
    n.rotate_left(30)
}

/// SHA1SU0 `Vd, Vn, Vm`.
pub fn sha1su0(d: u128, n: u128, m: u128) -> u128 {
    let t = ((n as u64 as u128) << 64) | (d >> 64);
    t ^ d ^ m
}

/// SHA1SU1 `Vd, Vn`.
pub fn sha1su1(d: u128, n: u128) -> u128 {
    let t = d ^ (n >> 32);
    let w0 = w32(t, 0).rotate_left(1);
    let w1 = w32(t, 1).rotate_left(1);
    let w2 = w32(t, 2).rotate_left(1);
    let w3 = w32(t, 3).rotate_left(1) ^ w0.rotate_left(1);
    from_w32([w0, w1, w2, w3])
}

fn sha256_hash(x: u128, y: u128, w: u128, part1: bool) -> u128 {
    let (x, y) = sha256_rounds(x, y, w, 4);
    if part1 {
        x
    } else {
        y
    }
}

/// `rounds` SHA-256 rounds on (ABCD, EFGH) with round inputs `w` (lane per round).
fn sha256_rounds(x: u128, y: u128, w: u128, rounds: usize) -> (u128, u128) {
    let mut x = [w32(x, 0), w32(x, 1), w32(x, 2), w32(x, 3)];
    let mut y = [w32(y, 0), w32(y, 1), w32(y, 2), w32(y, 3)];
    for e in 0..rounds {
        let chs = (y[0] & y[1]) | (!y[0] & y[2]);
        let maj = (x[0] & x[1]) | (x[0] & x[2]) | (x[1] & x[2]);
        let s1 = y[0].rotate_right(6) ^ y[0].rotate_right(11) ^ y[0].rotate_right(25);
        let s0 = x[0].rotate_right(2) ^ x[0].rotate_right(13) ^ x[0].rotate_right(22);
        let t1 = y[3]
            .wrapping_add(s1)
            .wrapping_add(chs)
            .wrapping_add(w32(w, e));
        x[3] = t1.wrapping_add(x[3]);
        y[3] = t1.wrapping_add(s0).wrapping_add(maj);
        // Rotate the 256-bit Y:X left by 32 bits.
        let (x3, y3) = (x[3], y[3]);
        x = [y3, x[0], x[1], x[2]];
        y = [x3, y[0], y[1], y[2]];
    }
    (from_w32(x), from_w32(y))
}

/// The SHA-256 state in x86's SHA-NI layout (`sha256rnds2`'s operands): from
/// (ABCD, EFGH) in A64's lane order (A in lane 0) to ABEF = [F, E, B, A] and
/// CDGH = [H, G, D, C] (dword 0 first).
pub fn sha256_to_x86(abcd: u128, efgh: u128) -> (u128, u128) {
    let (a, e) = (|i| w32(abcd, i), |i| w32(efgh, i));
    (
        from_w32([e(1), e(0), a(1), a(0)]),
        from_w32([e(3), e(2), a(3), a(2)]),
    )
}

/// The inverse of [`sha256_to_x86`]: (ABEF, CDGH) back to (ABCD, EFGH).
pub fn sha256_from_x86(abef: u128, cdgh: u128) -> (u128, u128) {
    let (p, q) = (|i| w32(abef, i), |i| w32(cdgh, i));
    (
        from_w32([p(3), p(2), q(3), q(2)]),
        from_w32([p(1), p(0), q(1), q(0)]),
    )
}

/// x86's SHA256RNDS2 on the x86 layout: two rounds with the round inputs (W + K)
/// `wk[2 * half]` and `wk[2 * half + 1]`; returns the new ABEF (the new CDGH is the
/// old ABEF).
pub fn sha256_rnds2(cdgh: u128, abef: u128, wk: u128, half: usize) -> u128 {
    let (abcd, efgh) = sha256_from_x86(abef, cdgh);
    // Two A64 rounds: `sha256_hash` with only two round inputs.
    let w = from_w32([w32(wk, 2 * half), w32(wk, 2 * half + 1), 0, 0]);
    let (x, y) = sha256_rounds(abcd, efgh, w, 2);
    sha256_to_x86(x, y).0
}

/// SHA256H `Qd, Qn, Vm.4S`.
pub fn sha256h(d: u128, n: u128, m: u128) -> u128 {
    sha256_hash(d, n, m, true)
}

/// SHA256H2 `Qd, Qn, Vm.4S`.
pub fn sha256h2(d: u128, n: u128, m: u128) -> u128 {
    sha256_hash(n, d, m, false)
}

/// SHA256SU0 `Vd.4S, Vn.4S`.
pub fn sha256su0(d: u128, n: u128) -> u128 {
    let t = ((n as u32 as u128) << 96) | (d >> 32);
    let mut r = [0u32; 4];
    for (e, out) in r.iter_mut().enumerate() {
        let x = w32(t, e);
        *out = (x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)).wrapping_add(w32(d, e));
    }
    from_w32(r)
}

/// SHA256SU1 `Vd.4S, Vn.4S, Vm.4S`.
pub fn sha256su1(d: u128, n: u128, m: u128) -> u128 {
    let t0 = ((m as u32 as u128) << 96) | (n >> 32);
    let sig1 = |x: u32| x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10);
    let mut r = [0u32; 4];
    for e in 0..4 {
        let src = if e < 2 { w32(m, e + 2) } else { r[e - 2] };
        r[e] = sig1(src).wrapping_add(w32(d, e)).wrapping_add(w32(t0, e));
    }
    from_w32(r)
}

/// PMULL/PMULL2 with 64-bit elements: carry-less 64x64->128 multiply.
pub fn pmull64(a: u64, b: u64) -> u128 {
    crate::simd::arith::clmul(a, b, 64)
}

/// Which CRC polynomial a CRC32 instruction uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CrcPoly {
    /// CRC32B/H/W/X: ISO-HDLC polynomial 0x04C11DB7.
    Crc32,
    /// CRC32CB/H/W/X: Castagnoli polynomial 0x1EDC6F41.
    Crc32c,
}

/// CRC32{,C}{B,H,W,X}: updates `acc` with the low `bytes` (1, 2, 4 or 8) bytes of
/// `data`, bit-reflected and without pre/post inversion, as the instructions do.
pub fn crc32(poly: CrcPoly, acc: u32, data: u64, bytes: u32) -> u32 {
    let t = match poly {
        CrcPoly::Crc32 => &CRC32_TABLE,
        CrcPoly::Crc32c => &CRC32C_TABLE,
    };
    let mut crc = acc;
    for i in 0..bytes {
        let b = (data >> (8 * i)) as u8;
        crc = (crc >> 8) ^ t[usize::from((crc as u8) ^ b)];
    }
    crc
}

/// The byte-at-a-time table of the reflected CRC-32 with polynomial `p` (reversed form).
const fn crc_table(p: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ p } else { c >> 1 };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
}

static CRC32_TABLE: [u32; 256] = crc_table(0xEDB8_8320);
static CRC32C_TABLE: [u32; 256] = crc_table(0x82F6_3B78);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_rounds_in_the_x86_layout_compute_the_instructions_values() {
        // Two rounds of OpenSSL's loop: mov v2.16b, v0.16b; sha256h q0, q1, v4.4s;
        // sha256h2 q1, q2, v4.4s; mov v2.16b, v0.16b; sha256h q0, q1, v5.4s;
        // sha256h2 q1, q2, v5.4s; brk. The rewritten block (one conversion to x86's
        // layout, four SHA256RNDS2, one conversion back) gives the same V0..V2.
        let code = [
            0x4ea0_1c02,
            0x5e04_4020,
            0x5e04_5041,
            0x4ea0_1c02,
            0x5e05_4020,
            0x5e05_5041,
            0xd420_0000,
        ];
        let mut fetch =
            |pc: u64| -> Result<u32, ()> { code.get(pc as usize / 4).copied().ok_or(()) };
        let mut plain = crate::lower::lower_block(0, 1, 7, &mut fetch).unwrap();
        crate::opt::optimize(&mut plain);
        let mut fused = plain.clone();
        lower::fuse_sha256_rounds(&mut fused);
        crate::verify::verify(&fused).unwrap();
        let calls = |b: &crate::ir::Block, name: &str| {
            b.ops
                .iter()
                .filter(|o| matches!(o, crate::ir::Op::Call { helper, .. } if helper.name == name))
                .count()
        };
        assert_eq!(calls(&fused, "crypto::sha3"), 0, "{fused:#?}");
        // 2 conversions in, 2 x 2 SHA256RNDS2, and 3 conversions out: the second
        // pair's ABCD and EFGH and the first pair's ABCD (V2's final value).
        assert_eq!(calls(&fused, "crypto::sha256x"), 9, "{fused:#?}");
        let run = |b: &crate::ir::Block| {
            let mut cpu = crate::state::Cpu::new();
            for (k, v) in cpu.v.iter_mut().enumerate() {
                *v = (k as u128 + 3).wrapping_mul(0x6a09_e667_bb67_ae85_3c6e_f372_a54f_f53a);
            }
            let mut mem = crate::testutil::TestMem::default();
            crate::interp::run_block(&mut cpu, &mut mem, b, &mut Vec::new());
            cpu
        };
        let (a, b) = (run(&plain), run(&fused));
        assert_eq!(a.v[..3], b.v[..3]);
    }

    #[test]
    fn fused_aes_rounds_compute_the_instructions_values() {
        // aese v0,v1; aesmc v0,v0; aese v0,v2; aesmc v5,v0; aese v5,v3; aesmc v5,v5;
        // eor v6.16b,v5.16b,v4.16b; aese v6,v7; brk: pairs the optimiser fuses (the
        // first and third), one it cannot (V0 keeps the AESE result), a key EOR after a
        // fused round and a lone AESE, run through lowering, `optimize` and the
        // interpreter, against the instructions' definitions.
        let aese_i = |d: u32, n: u32| 0x4e28_4800 | n << 5 | d;
        let aesmc_i = |d: u32, n: u32| 0x4e28_6800 | n << 5 | d;
        let code = [
            aese_i(0, 1),
            aesmc_i(0, 0),
            aese_i(0, 2),
            aesmc_i(5, 0),
            aese_i(5, 3),
            aesmc_i(5, 5),
            0x6e24_1ca6,
            aese_i(6, 7),
            0xd420_0000,
        ];
        let v: Vec<u128> = (0..8u128)
            .map(|k| (k + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834))
            .collect();
        let (cpu, _) = crate::testutil::run(&code, |cpu, _| cpu.v[..8].copy_from_slice(&v));
        let v0 = aese(aesmc(aese(v[0], v[1])), v[2]);
        let v5 = aesmc(aese(aesmc(v0), v[3]));
        let v6 = aese(v5 ^ v[4], v[7]);
        assert_eq!(cpu.v[0], v0);
        assert_eq!(cpu.v[5], v5);
        assert_eq!(cpu.v[6], v6);
    }

    fn h(s: &str) -> u128 {
        // Byte string in memory order -> register value (byte 0 = lane 0).
        let mut b = [0u8; 16];
        for (i, out) in b.iter_mut().enumerate() {
            *out = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        u128::from_le_bytes(b)
    }

    #[test]
    fn sbox_known_values() {
        assert_eq!(SBOX[0x00], 0x63);
        assert_eq!(SBOX[0x53], 0xed);
        assert_eq!(SBOX[0xff], 0x16);
        assert_eq!(INV_SBOX[0x63], 0x00);
    }

    /// FIPS-197 Appendix C.1 (AES-128) first round, via AESE+AESMC.
    #[test]
    fn fips197_round1() {
        let pt = h("00112233445566778899aabbccddeeff");
        let k0 = h("000102030405060708090a0b0c0d0e0f");
        let k1 = h("d6aa74fdd2af72fadaa678f1d6ab76fe");
        // round[1].start = after round 0 AddRoundKey + SubBytes... compare start of round 2.
        let s = aesmc(aese(pt, k0));
        let start2 = s ^ k1;
        assert_eq!(start2, h("89d810e8855ace682d1843d8cb128fe4"));
    }

    /// Full FIPS-197 C.1 encryption and decryption with the AES instructions.
    #[test]
    fn fips197_aes128_full() {
        let pt = h("00112233445566778899aabbccddeeff");
        let key = h("000102030405060708090a0b0c0d0e0f");
        let ct = h("69c4e0d86a7b0430d8cdb78070b4c55a");
        let rk = expand_key(key);
        let mut s = pt;
        for r in rk.iter().take(9) {
            s = aesmc(aese(s, *r));
        }
        s = aese(s, rk[9]) ^ rk[10];
        assert_eq!(s, ct);
        // Equivalent inverse cipher: AESD + AESIMC with InvMixColumns'd keys.
        let mut s = ct;
        s = aesimc(aesd(s, rk[10]));
        for r in (2..10).rev() {
            s = aesimc(aesd(s, aesimc(rk[r])));
        }
        s = aesd(s, aesimc(rk[1])) ^ rk[0];
        assert_eq!(s, pt);
    }

    fn expand_key(key: u128) -> [u128; 11] {
        let mut w = [0u32; 44];
        for (i, x) in w.iter_mut().take(4).enumerate() {
            *x = (key >> (32 * i)) as u32;
        }
        let mut rcon = 1u8;
        for i in 4..44 {
            let mut t = w[i - 1];
            if i % 4 == 0 {
                t = t.rotate_right(8);
                let b = t.to_le_bytes().map(|x| SBOX[x as usize]);
                t = u32::from_le_bytes(b) ^ rcon as u32;
                rcon = gmul(rcon, 2);
            }
            w[i] = w[i - 4] ^ t;
        }
        let mut rk = [0u128; 11];
        for (r, k) in rk.iter_mut().enumerate() {
            *k = from_w32([w[4 * r], w[4 * r + 1], w[4 * r + 2], w[4 * r + 3]]);
        }
        rk
    }

    const K256: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    fn padded_block(msg: &[u8]) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..msg.len()].copy_from_slice(msg);
        b[msg.len()] = 0x80;
        b[56..].copy_from_slice(&((msg.len() as u64) * 8).to_be_bytes());
        b
    }

    /// SHA-256("abc") computed with the instruction sequence used by real code
    /// (SHA256SU0/SU1 message schedule, SHA256H/H2 rounds, four rounds at a time).
    #[test]
    fn sha256_abc() {
        let block = padded_block(b"abc");
        let mut msg = [0u128; 4];
        for (i, m) in msg.iter_mut().enumerate() {
            let mut w = [0u32; 4];
            for (j, x) in w.iter_mut().enumerate() {
                let o = 16 * i + 4 * j;
                *x = u32::from_be_bytes([block[o], block[o + 1], block[o + 2], block[o + 3]]);
            }
            *m = from_w32(w);
        }
        let iv = [
            0x6a09e667u32,
            0xbb67ae85,
            0x3c6ef372,
            0xa54ff53a,
            0x510e527f,
            0x9b05688c,
            0x1f83d9ab,
            0x5be0cd19,
        ];
        let (s0, s1) = (
            from_w32([iv[0], iv[1], iv[2], iv[3]]),
            from_w32([iv[4], iv[5], iv[6], iv[7]]),
        );
        let (mut a, mut e) = (s0, s1);
        for g in 0..16 {
            let k = from_w32([
                K256[4 * g],
                K256[4 * g + 1],
                K256[4 * g + 2],
                K256[4 * g + 3],
            ]);
            let wk = add32(msg[g % 4], k);
            let a0 = a;
            a = sha256h(a, e, wk);
            e = sha256h2(e, a0, wk);
            if g < 12 {
                // msg[g] <- next schedule words (W[4g+16..4g+19]).
                let t = sha256su0(msg[g % 4], msg[(g + 1) % 4]);
                msg[g % 4] = sha256su1(t, msg[(g + 2) % 4], msg[(g + 3) % 4]);
            }
        }
        let out_a = add32(a, s0);
        let out_e = add32(e, s1);
        let mut digest = [0u32; 8];
        for i in 0..4 {
            digest[i] = w32(out_a, i);
            digest[i + 4] = w32(out_e, i);
        }
        assert_eq!(
            digest,
            [
                0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223, 0xb00361a3, 0x96177a9c, 0xb410ff61,
                0xf20015ad
            ]
        );
    }

    fn add32(a: u128, b: u128) -> u128 {
        from_w32([0, 1, 2, 3].map(|i| w32(a, i).wrapping_add(w32(b, i))))
    }

    /// SHA-1("abc") with SHA1C/P/M, SHA1H, SHA1SU0/SU1.
    #[test]
    fn sha1_abc() {
        let block = padded_block(b"abc");
        let mut msg = [0u128; 4];
        for (i, m) in msg.iter_mut().enumerate() {
            let mut w = [0u32; 4];
            for (j, x) in w.iter_mut().enumerate() {
                let o = 16 * i + 4 * j;
                *x = u32::from_be_bytes([block[o], block[o + 1], block[o + 2], block[o + 3]]);
            }
            *m = from_w32(w);
        }
        let iv = [
            0x67452301u32,
            0xefcdab89,
            0x98badcfe,
            0x10325476,
            0xc3d2e1f0,
        ];
        let abcd0 = from_w32([iv[0], iv[1], iv[2], iv[3]]);
        let mut abcd = abcd0;
        let mut e = iv[4];
        let ks = [0x5a827999u32, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6];
        for g in 0..20 {
            let k = ks[g / 5];
            let wk = add32(msg[g % 4], from_w32([k; 4]));
            let op = match g / 5 {
                0 => Sha1Op::C,
                2 => Sha1Op::M,
                _ => Sha1Op::P,
            };
            let e_next = sha1h(abcd as u32);
            abcd = sha1_hash(op, abcd, e, wk);
            e = e_next;
            if g < 16 {
                let t = sha1su0(msg[g % 4], msg[(g + 1) % 4], msg[(g + 2) % 4]);
                msg[g % 4] = sha1su1(t, msg[(g + 3) % 4]);
            }
        }
        let out = add32(abcd, abcd0);
        let e = e.wrapping_add(iv[4]);
        assert_eq!(
            [w32(out, 0), w32(out, 1), w32(out, 2), w32(out, 3), e],
            [0xa9993e36, 0x4706816a, 0xba3e2571, 0x7850c26c, 0x9cd0d89d]
        );
    }

    #[test]
    fn crc32_check_values() {
        // Standard check value for "123456789" (with the usual ~ pre/post inversion).
        let data = b"123456789";
        let mut c = !0u32;
        for &b in data {
            c = crc32(CrcPoly::Crc32, c, b as u64, 1);
        }
        assert_eq!(!c, 0xCBF43926);
        let mut c = !0u32;
        for &b in data {
            c = crc32(CrcPoly::Crc32c, c, b as u64, 1);
        }
        assert_eq!(!c, 0xE3069283);
        // Word form equals the byte form on the same bytes.
        let x = 0x0123_4567_89ab_cdefu64;
        let mut c1 = 0x1234_5678;
        for i in 0..8 {
            c1 = crc32(CrcPoly::Crc32c, c1, x >> (8 * i), 1);
        }
        assert_eq!(crc32(CrcPoly::Crc32c, 0x1234_5678, x, 8), c1);
    }

    #[test]
    fn pmull64_known() {
        assert_eq!(pmull64(3, 3), 5);
        assert_eq!(pmull64(1 << 63, 1 << 63), 1u128 << 126);
        assert_eq!(pmull64(u64::MAX, 1), u64::MAX as u128);
    }
}
