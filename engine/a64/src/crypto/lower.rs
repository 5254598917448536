//! Lowering of the crypto extension (AES, SHA-1, SHA-256) and CRC32 instructions.
//! (PMULL/PMULL2 with 64-bit elements is lowered with the AdvSIMD three-different group.)

use super::{
    aesd, aese, aesimc, aesmc, crc32, sha1_hash, sha1h, sha1su0, sha1su1, sha256h, sha256h2,
};
use super::{sha256su0, sha256su1, CrcPoly, Sha1Op};
use crate::decode::fields as f;
use crate::ir::{Helper, Ty};
use crate::lower::Builder;
use crate::state::Cpu;

fn h_aes(_: &mut Cpu, a: [u128; 3], imm: u64) -> u128 {
    match imm {
        0 => aese(a[1], a[0]),
        1 => aesd(a[1], a[0]),
        2 => aesmc(a[1]),
        _ => aesimc(a[1]),
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
