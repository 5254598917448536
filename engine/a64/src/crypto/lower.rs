//! Lowering of the crypto extension (AES, SHA-1, SHA-256) and CRC32 instructions.
//! (PMULL/PMULL2 with 64-bit elements is lowered with the AdvSIMD three-different group.)

use super::{
    aesd, aese, aesimc, aesmc, crc32, sha1_hash, sha1h, sha1su0, sha1su1, sha256_from_x86,
    sha256_rnds2, sha256_to_x86, sha256h, sha256h2,
};
use super::{sha256su0, sha256su1, CrcPoly, Sha1Op};
use crate::decode::fields as f;
use crate::ir::{BinOp, Block, Helper, Op, Temp, Term, Ty};
use crate::lower::Builder;
use crate::opt::uses_of;
use crate::state::Cpu;
use alloc::vec::Vec;

fn h_aes(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    match imm {
        0 => aese(a[1], a[0]),
        1 => aesd(a[1], a[0]),
        2 => aesmc(a[1]),
        3 => aesimc(a[1]),
        // The forms `fuse_aes_rounds` makes (x86's AESENC and AESENCLAST with a zero key).
        AES_ROUND_KEY => aesmc(aese(a[0], 0)) ^ a[1],
        AES_SUB_SHIFT => aese(a[0], 0),
        _ => aesmc(aese(a[0], 0)),
    }
}

/// `crypto::aes` immediate: one full encryption round then a round key,
/// `MixColumns(ShiftRows(SubBytes(a0))) ^ a1` (x86's AESENC).
pub const AES_ROUND_KEY: u64 = 4;
/// `crypto::aes` immediate: `ShiftRows(SubBytes(a0))`, an AESE whose key was XORed in
/// before (x86's AESENCLAST with a zero key).
pub const AES_SUB_SHIFT: u64 = 5;
/// `crypto::aes` immediate: `MixColumns(ShiftRows(SubBytes(a0)))`, an AESE + AESMC
/// whose key was XORed in before (x86's AESENC with a zero key).
pub const AES_ROUND: u64 = 6;

/// Rewrites AES encryption rounds so that each round's key addition joins the previous
/// round: AESE `t = SR(SB(d ^ k))` becomes `x = d ^ k; t = SUB_SHIFT(x)` (or, with the
/// AESMC that alone reads it, `t' = ROUND(x)`), and a key addition `ROUND(x) ^ k'` then
/// becomes `ROUND_KEY(x, k')`. A chain of rounds is then one AESENC per round on x86,
/// where AESE + AESMC take a separate XOR and AESENC each.
pub fn fuse_aes_rounds(block: &mut Block) {
    let is_aes = |op: &Op, want: u64| matches!(op, Op::Call { helper, imm, .. } if core::ptr::eq(*helper, &AES) && *imm == want);
    if !block.ops.iter().any(|o| is_aes(o, 0)) {
        return;
    }
    let nt = block.temps.len();
    let mut uses = alloc::vec![0u32; nt];
    for op in &block.ops {
        let (us, n) = uses_of(op);
        for u in &us[..n] {
            uses[u.0 as usize] += 1;
        }
    }
    if let Term::Branch { cond: t, .. } | Term::Indirect { target: t, .. } = block.term {
        uses[t.0 as usize] += 1;
    }
    let ops = core::mem::take(&mut block.ops);
    // For an AESMC to rewrite: the XOR of its AESE's operands.
    let mut mc_of = alloc::vec![None; ops.len()];
    // For a temp computed as ROUND(x): x.
    let mut round_of: Vec<Option<Temp>> = alloc::vec![None; nt];
    let mut out = Vec::with_capacity(ops.len() + 4);
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Call {
                dst: Some(t), args, ..
            } if is_aes(op, 0) => {
                let x = block.new_temp(Ty::I128);
                out.push(xor_into(&round_of, x, args[0], args[1]));
                // The AESMC that is the only reader of `t` (it reads it twice when its
                // Vd is its Vn) replaces it.
                let mc = ops
                    .iter()
                    .enumerate()
                    .skip(i + 1)
                    .find(|(_, o)| {
                        let (us, n) = uses_of(o);
                        us[..n].contains(&t)
                    })
                    .filter(|&(_, o)| match *o {
                        Op::Call { args: a, .. } if is_aes(o, 2) && a[1] == t => {
                            uses[t.0 as usize] == if a[0] == t { 2 } else { 1 }
                        }
                        _ => false,
                    });
                match mc {
                    Some((j, _)) => mc_of[j] = Some(x),
                    None => out.push(aes_call(t, x, x, AES_SUB_SHIFT)),
                }
            }
            Op::Call { dst: Some(t), .. } if mc_of[i].is_some() => {
                let x = mc_of[i].unwrap_or(t);
                round_of[t.0 as usize] = Some(x);
                out.push(aes_call(t, x, x, AES_ROUND));
            }
            Op::Bin {
                op: BinOp::Xor,
                ty: Ty::I128,
                dst,
                a,
                b,
            } => out.push(xor_into(&round_of, dst, a, b)),
            _ => out.push(*op),
        }
    }
    block.ops = out;
}

/// `dst = a ^ b` (I128), as ROUND_KEY(x, key) when one side is ROUND(x).
fn xor_into(round_of: &[Option<Temp>], dst: Temp, a: Temp, b: Temp) -> Op {
    let at = |t: Temp| round_of.get(t.0 as usize).copied().flatten();
    match (at(a), at(b)) {
        (Some(x), _) => aes_call(dst, x, b, AES_ROUND_KEY),
        (_, Some(x)) => aes_call(dst, x, a, AES_ROUND_KEY),
        _ => Op::Bin {
            op: BinOp::Xor,
            ty: Ty::I128,
            dst,
            a,
            b,
        },
    }
}

fn aes_call(dst: Temp, a: Temp, b: Temp, imm: u64) -> Op {
    Op::Call {
        dst: Some(dst),
        helper: &AES,
        args: [a, b, b],
        nargs: 2,
        imm,
    }
}

fn h_sha3(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    // (Vd, Vn, Vm)
    let (d, n, m) = (a[0], a[1], a[2]);
    match imm {
        0 => sha1_hash(Sha1Op::C, d, n as u32, m),
        1 => sha1_hash(Sha1Op::P, d, n as u32, m),
        2 => sha1_hash(Sha1Op::M, d, n as u32, m),
        3 => sha1su0(d, n, m),
        4 => sha256h(d, n, m),
        5 => sha256h2(d, n, m),
        _ => sha256su1(d, n, m),
    }
}

fn h_sha2(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    // (Vd, Vn)
    match imm {
        0 => sha1h(a[1] as u32) as u128,
        1 => sha1su1(a[0], a[1]),
        _ => sha256su0(a[0], a[1]),
    }
}

fn h_crc(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    let poly = if imm & 4 != 0 {
        CrcPoly::Crc32c
    } else {
        CrcPoly::Crc32
    };
    crc32(poly, a[0] as u32, a[1] as u64, 1 << (imm & 3)) as u128
}

/// AESE/AESD/AESMC/AESIMC: `(Vd, Vn)`, imm = 0..3.
pub static AES: Helper = Helper {
    name: "crypto::aes",
    func: h_aes,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128],
};
/// Three-register SHA: `(Vd, Vn, Vm)`, imm = opcode 0..6.
pub static SHA3: Helper = Helper {
    name: "crypto::sha3",
    func: h_sha3,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128, Ty::I128],
};
/// Two-register SHA: `(Vd, Vn)`, imm = opcode 0..2.
pub static SHA2: Helper = Helper {
    name: "crypto::sha2",
    func: h_sha2,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128],
};
/// CRC32{C}{B,H,W,X}: `(Wn, Xm)`, imm = C<<2 | sz.
pub static CRC32: Helper = Helper {
    name: "crypto::crc32",
    func: h_crc,
    ret: Some(Ty::I32),
    args: &[Ty::I64, Ty::I64],
};

fn h_sha256x(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    match imm {
        SHA256X_ABEF => sha256_to_x86(a[0], a[1]).0,
        SHA256X_CDGH => sha256_to_x86(a[0], a[1]).1,
        SHA256X_RNDS2_LO => sha256_rnds2(a[0], a[1], a[2], 0),
        SHA256X_RNDS2_HI => sha256_rnds2(a[0], a[1], a[2], 1),
        SHA256X_ABCD => sha256_from_x86(a[0], a[1]).0,
        _ => sha256_from_x86(a[0], a[1]).1,
    }
}

/// `crypto::sha256x` immediate: ABEF of `(ABCD, EFGH)` (x86's layout).
pub const SHA256X_ABEF: u64 = 0;
/// `crypto::sha256x` immediate: CDGH of `(ABCD, EFGH)`.
pub const SHA256X_CDGH: u64 = 1;
/// `crypto::sha256x` immediate: SHA256RNDS2 `(CDGH, ABEF, WK)` with WK lanes 0 and 1.
pub const SHA256X_RNDS2_LO: u64 = 2;
/// `crypto::sha256x` immediate: SHA256RNDS2 `(CDGH, ABEF, WK)` with WK lanes 2 and 3.
pub const SHA256X_RNDS2_HI: u64 = 3;
/// `crypto::sha256x` immediate: ABCD of `(ABEF, CDGH)`.
pub const SHA256X_ABCD: u64 = 4;
/// `crypto::sha256x` immediate: EFGH of `(ABEF, CDGH)`.
pub const SHA256X_EFGH: u64 = 5;

/// SHA-256 rounds on the state in x86's SHA-NI layout (see `super::sha256_to_x86`); made
/// by [`fuse_sha256_rounds`] only.
pub static SHA256X: Helper = Helper {
    name: "crypto::sha256x",
    func: h_sha256x,
    ret: Some(Ty::I128),
    args: &[Ty::I128, Ty::I128, Ty::I128],
};

/// Rewrites each SHA256H with the SHA256H2 of the same four rounds (OpenSSL's
/// `mov v2, v0; sha256h q0, q1, vK; sha256h2 q1, q2, vK`) into rounds on the state in
/// x86's layout: convert, two SHA256RNDS2, convert back. A conversion of values that
/// were just converted back is dropped, so a chain of rounds stays in x86's layout.
/// For hosts with SHA-NI (the translator runs each form as one instruction).
pub fn fuse_sha256_rounds(block: &mut Block) {
    let is_sha3 = |op: &Op, want: u64| matches!(op, Op::Call { helper, imm, .. } if core::ptr::eq(*helper, &SHA3) && *imm == want);
    if !block.ops.iter().any(|o| is_sha3(o, 4)) {
        return;
    }
    let ops = core::mem::take(&mut block.ops);
    // For a SHA256H2 computed by its SHA256H: the final (ABEF, CDGH).
    let mut h2_of: Vec<Option<(Temp, Temp)>> = alloc::vec![None; ops.len()];
    // For a temp converted back from the x86 layout: (ABCD or EFGH, ABEF, CDGH).
    let mut from: Vec<Option<(u64, Temp, Temp)>> = alloc::vec![None; block.temps.len()];
    let mut out = Vec::with_capacity(ops.len() + 8);
    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Call {
                dst: Some(d),
                args: [abcd, efgh, wk],
                ..
            } if is_sha3(op, 4) => {
                let h2 = ops.iter().enumerate().skip(i + 1).find(|(j, o)| {
                    matches!(**o, Op::Call { args: a, .. }
                        if is_sha3(o, 5) && h2_of[*j].is_none()
                            && a == [efgh, abcd, wk])
                });
                let Some((j, _)) = h2 else {
                    out.push(*op);
                    continue;
                };
                let at = |t: Temp| from.get(t.0 as usize).copied().flatten();
                let (abef0, cdgh0) = match (at(abcd), at(efgh)) {
                    (Some((SHA256X_ABCD, p, q)), Some((SHA256X_EFGH, p2, q2)))
                        if (p, q) == (p2, q2) =>
                    {
                        (p, q)
                    }
                    _ => {
                        let p = block.new_temp(Ty::I128);
                        let q = block.new_temp(Ty::I128);
                        out.push(sha256x(p, [abcd, efgh, efgh], SHA256X_ABEF));
                        out.push(sha256x(q, [abcd, efgh, efgh], SHA256X_CDGH));
                        (p, q)
                    }
                };
                let abef1 = block.new_temp(Ty::I128);
                let abef2 = block.new_temp(Ty::I128);
                out.push(sha256x(abef1, [cdgh0, abef0, wk], SHA256X_RNDS2_LO));
                out.push(sha256x(abef2, [abef0, abef1, wk], SHA256X_RNDS2_HI));
                out.push(sha256x(d, [abef2, abef1, abef1], SHA256X_ABCD));
                from[d.0 as usize] = Some((SHA256X_ABCD, abef2, abef1));
                h2_of[j] = Some((abef2, abef1));
            }
            Op::Call { dst: Some(d), .. } if h2_of[i].is_some() => {
                let (p, q) = h2_of[i].unwrap_or((d, d));
                out.push(sha256x(d, [p, q, q], SHA256X_EFGH));
                from[d.0 as usize] = Some((SHA256X_EFGH, p, q));
            }
            _ => out.push(*op),
        }
    }
    block.ops = out;
    // The conversions back that only fed conversions in.
    crate::opt::remove_dead_code(block);
}

fn sha256x(dst: Temp, args: [Temp; 3], imm: u64) -> Op {
    Op::Call {
        dst: Some(dst),
        helper: &SHA256X,
        args,
        nargs: 3,
        imm,
    }
}

/// `CRYPTO_AES`: AESE, AESD, AESMC, AESIMC.
pub fn crypto_aes(b: &mut Builder, x: f::CRYPTO_AES) {
    let d = b.read_v(x.rd);
    let n = b.read_v(x.rn);
    if let Some(r) = b.call(&AES, &[d, n], x.op as u64) {
        b.write_v(x.rd, r);
    }
}

/// `CRYPTO_SHA3`: SHA1C/P/M, SHA1SU0, SHA256H/H2, SHA256SU1.
pub fn crypto_sha3(b: &mut Builder, x: f::CRYPTO_SHA3) {
    if x.opc == 7 {
        return b.undef();
    }
    let d = b.read_v(x.rd);
    let n = b.read_v(x.rn);
    let m = b.read_v(x.rm);
    if let Some(r) = b.call(&SHA3, &[d, n, m], x.opc as u64) {
        b.write_v(x.rd, r);
    }
}

/// `CRYPTO_SHA2`: SHA1H, SHA1SU1, SHA256SU0.
pub fn crypto_sha2(b: &mut Builder, x: f::CRYPTO_SHA2) {
    if x.opc > 2 {
        return b.undef();
    }
    let d = b.read_v(x.rd);
    let n = b.read_v(x.rn);
    if let Some(r) = b.call(&SHA2, &[d, n], x.opc as u64) {
        b.write_v(x.rd, r);
    }
}

/// `CRC32`: CRC32B/H/W/X and CRC32CB/H/W/X.
pub fn crc32_insn(b: &mut Builder, x: f::CRC32) {
    if (x.sf == 1) != (x.sz == 3) {
        return b.undef();
    }
    let acc = b.read_x(x.rn, true);
    let data = b.read_x(x.rm, true);
    if let Some(r) = b.call(&CRC32, &[acc, data], ((x.C << 2) | x.sz) as u64) {
        b.write_x(x.rd, r);
    }
}
