//! Differential test of the host-FPU lowering against the softfloat: each scalar FP
//! instruction the host does is translated once, then run on random and edge operands
//! under every FPCR.{RMode, FZ, DN}, on the translator and on the interpreter; result
//! registers, NZCV and FPSR must agree bit for bit.
//!
//! `HOSTFP_CASES=N` sets the number of cases (default 10^7, shared out over the
//! instructions); `HOSTFP_SEED=S` the seed.

use a64::interp::{MemFault, Memory};
use a64::ir::{MemAttr, Op};
use a64::state::Cpu;

use crate::rt::{Ctx, JitMemory};
use crate::{CodeRegion, Features, Jit};

/// No memory: the blocks under test do not access it.
struct NoMem;

impl Memory for NoMem {
    fn read(&mut self, addr: u64, _: MemAttr) -> Result<u128, MemFault> {
        Err(MemFault::Unmapped { addr, write: false })
    }
    fn write(&mut self, addr: u64, _: u128, _: MemAttr) -> Result<(), MemFault> {
        Err(MemFault::Unmapped { addr, write: true })
    }
}

impl JitMemory for NoMem {
    fn host_page(&mut self, _: u64, _: u8) -> Option<*mut u8> {
        None
    }
    fn exit_requested(&mut self) -> bool {
        false
    }
    fn maint(&mut self, _: &mut Ctx, _: u8, _: u32, _: u64) -> bool {
        false
    }
}

fn code_region() -> CodeRegion {
    const LEN: usize = 1 << 20;
    // SAFETY: an anonymous private mapping; the result is checked.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            LEN,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED, "mmap of the code region");
    // SAFETY: the mapping is RWX, ours, LEN bytes, and never unmapped (tests are short).
    unsafe { CodeRegion::new(p as *mut u8, LEN) }
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Operand kinds of an instruction under test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Src {
    /// FP values of this many bits in V1, V2, V3.
    Fp(u32),
    /// An integer in X1.
    Int,
    /// Vectors of lanes of this many bits in V0 (the accumulator), V1, V2.
    Vec(u32),
}

/// Edge values of a format (`bits` 32 or 64).
fn edges(bits: u32) -> Vec<u64> {
    let (e, f) = if bits == 64 { (11, 52) } else { (8, 23) };
    let sign = 1u64 << (bits - 1);
    let emax = (1u64 << e) - 1;
    let bias = (1u64 << (e - 1)) - 1;
    let one = bias << f;
    let minn = 1u64 << f;
    let fm = (1u64 << f) - 1;
    let mut v = vec![
        0,
        emax << f,                    // inf
        emax << f | 1 << (f - 1),     // default qNaN
        emax << f | 1 << (f - 1) | 5, // qNaN with payload
        emax << f | 1,                // sNaN
        emax << f | 0x2a << (f - 8),  // sNaN with payload
        minn,                         // min normal
        minn + 1,
        minn - 1, // max denormal
        1,        // min denormal
        2,
        minn >> 1,
        (emax - 1) << f | fm, // max normal
        (emax - 1) << f,
        one,                            // 1.0
        one | fm,                       // 2 - ulp
        one - 1,                        // 1 - ulp/2
        one | 1 << (f - 1),             // 1.5
        (bias - 1) << f,                // 0.5
        (bias + 1) << f | 1 << (f - 2), // 2.5
        (bias + 1) << f | 3 << (f - 2), // 3.5
        (bias - 1) << f | fm,           // just below 0.5
        (bias + f as u64) << f | 1,     // 2^f + 1: the last with a fraction ulp 1
        (bias + f as u64 + 1) << f | 1,
        (bias + 52) << f,      // 2^52
        (bias + 30) << f | fm, // just below 2^31
        (bias + 31) << f,      // 2^31
        (bias + 31) << f | 1,
        (bias + 32) << f,           // 2^32
        (bias + 31) << f | fm,      // just below 2^32
        (bias + 62) << f | fm,      // just below 2^63
        (bias + 63) << f,           // 2^63
        (bias + 63) << f | fm,      // just below 2^64
        (bias + 64) << f,           // 2^64
        (bias - f as u64 - 1) << f, // 2^-(f+1)
        (2 * bias - 2) << f,        // near the top
        (f as u64 + 2) << f,        // near the bottom
        (bias / 2) << f | fm,
        (bias + bias / 2) << f | 1,
    ];
    let n = v.len();
    for k in 0..n {
        v.push(v[k] | sign);
    }
    v
}

/// A random FP operand: edge values, raw bits, and random exponents with sparse or
/// dense fractions (for exact results, ties and near-boundary roundings).
fn fp_val(r: &mut Rng, bits: u32, edge: &[u64]) -> u64 {
    let (e, f) = if bits == 64 { (11u32, 52u32) } else { (8, 23) };
    let mask = if bits == 64 { u64::MAX } else { (1 << 32) - 1 };
    match r.below(8) {
        0 | 1 => edge[r.below(edge.len() as u64) as usize],
        2 => r.next() & mask,
        3 => {
            // A small exponent (denormals, underflow).
            let ex = r.below(4);
            let fr = r.next() & ((1 << f) - 1);
            (r.next() & 1) << (bits - 1) | ex << f | fr
        }
        _ => {
            let ex = r.below((1 << e) - 1);
            let fr = match r.below(4) {
                0 => (r.next() & ((1 << f) - 1)) >> r.below(u64::from(f)) << r.below(4),
                1 => (1u64 << f) - 1 - (r.next() & 7),
                _ => r.next() & ((1 << f) - 1),
            } & ((1 << f) - 1);
            (r.next() & 1) << (bits - 1) | ex << f | fr
        }
    }
}

/// An operand near `a` (same or adjacent exponent, or `a` shifted by about the
/// precision): sums and differences then cancel, tie or round at their boundaries.
fn near(r: &mut Rng, a: u64, bits: u32) -> u64 {
    let f = if bits == 64 { 52 } else { 23 };
    let mask = if bits == 64 { u64::MAX } else { (1 << 32) - 1 };
    let sign = (r.next() & 1) << (bits - 1);
    let mag = a & (mask >> 1);
    let delta = match r.below(3) {
        0 => r.below(4),
        1 => (f + r.below(5)) << f,
        _ => r.below(1 << 8) << (f - 8),
    };
    let m = if r.next() & 1 == 0 {
        mag.wrapping_sub(delta)
    } else {
        mag.wrapping_add(delta)
    };
    sign | m & (mask >> 1)
}

/// Integers for SCVTF/UCVTF: limits, powers of two near the precision, random.
fn int_val(r: &mut Rng) -> u64 {
    match r.below(4) {
        0 => {
            let k = r.below(64);
            let v = (1u64 << k).wrapping_add(r.below(5)).wrapping_sub(2);
            if r.next() & 1 == 0 {
                v
            } else {
                v.wrapping_neg()
            }
        }
        1 => [
            0,
            1,
            u64::MAX,
            i64::MAX as u64,
            1 << 63,
            u32::MAX as u64,
            1 << 31,
        ][r.below(7) as usize],
        2 => r.next() >> r.below(64),
        _ => r.next(),
    }
}

struct Case {
    name: &'static str,
    words: Vec<u32>,
    src: Src,
}

/// The instructions under test: Dd/Sd = op(n = 1, m = 2, a = 3) or Xd/Wd from Vn.
fn cases(f: Features) -> Vec<Case> {
    let mut v = Vec::new();
    let ft = |bits: u32| if bits == 64 { 1u32 << 22 } else { 0 };
    for bits in [32u32, 64] {
        let t = ft(bits);
        let regs = 2 << 16 | 1 << 5;
        for (name, opc) in [
            ("fmul", 0),
            ("fdiv", 1),
            ("fadd", 2),
            ("fsub", 3),
            ("fnmul", 8),
        ] {
            v.push(Case {
                name,
                words: vec![0x1e20_0800 | t | opc << 12 | regs],
                src: Src::Fp(bits),
            });
        }
        for (name, opc) in [
            ("fsqrt", 3u32),
            ("frintn", 8),
            ("frintp", 9),
            ("frintm", 10),
            ("frintz", 11),
            ("frintx", 14),
            ("frinti", 15),
            ("fcvt", if bits == 64 { 4 } else { 5 }),
        ] {
            v.push(Case {
                name,
                words: vec![0x1e20_4000 | t | opc << 15 | 1 << 5],
                src: Src::Fp(bits),
            });
        }
        if f.fma {
            for (name, o1, o0) in [
                ("fmadd", 0u32, 0u32),
                ("fmsub", 0, 1),
                ("fnmadd", 1, 0),
                ("fnmsub", 1, 1),
            ] {
                v.push(Case {
                    name,
                    words: vec![0x1f00_0000 | t | o1 << 21 | 2 << 16 | o0 << 15 | 3 << 10 | 1 << 5],
                    src: Src::Fp(bits),
                });
            }
        }
        for (name, opc) in [("fcmp", 0u32), ("fcmp0", 1), ("fcmpe", 2), ("fcmpe0", 3)] {
            let rm = if opc & 1 != 0 { 0 } else { 2 << 16 };
            v.push(Case {
                name,
                words: vec![0x1e20_2000 | t | rm | 1 << 5 | opc << 3],
                src: Src::Fp(bits),
            });
        }
        // FCCMP(E) d1/s1, d2/s2, #nzcv, cond: random NZCV, conditions EQ, GE, AL.
        for (name, op) in [("fccmp", 0u32), ("fccmpe", 1)] {
            for cond in [0u32, 10, 14] {
                v.push(Case {
                    name,
                    words: vec![0x1e20_0400 | t | 2 << 16 | cond << 12 | 1 << 5 | op << 4 | 0b1010],
                    src: Src::Fp(bits),
                });
            }
        }
        for sf in [0u32, 1] {
            for (name, base) in [("scvtf", 0x1e22_0000u32), ("ucvtf", 0x1e23_0000)] {
                v.push(Case {
                    name,
                    words: vec![base | sf << 31 | t | 1 << 5],
                    src: Src::Int,
                });
            }
            for (name, base) in [
                ("fcvtzs", 0x1e38_0000u32),
                ("fcvtzu", 0x1e39_0000),
                ("fcvtns", 0x1e20_0000),
                ("fcvtnu", 0x1e21_0000),
                ("fcvtps", 0x1e28_0000),
                ("fcvtpu", 0x1e29_0000),
                ("fcvtms", 0x1e30_0000),
                ("fcvtmu", 0x1e31_0000),
            ] {
                v.push(Case {
                    name,
                    words: vec![base | sf << 31 | t | 1 << 5],
                    src: Src::Fp(bits),
                });
            }
        }
    }
    // Vector forms: 2S, 4S, 2D.
    for (q, sz, bits) in [(0u32, 0u32, 32u32), (1, 0, 32), (1, 1, 64)] {
        let x = q << 30 | sz << 22;
        let regs = 2 << 16 | 1 << 5;
        let mut ops = vec![
            ("v.fadd", 0x0e20_d400 | regs),
            ("v.fsub", 0x0ea0_d400 | regs),
            ("v.fmul", 0x2e20_dc00 | regs),
            ("v.fsqrt", 0x2ea1_f800 | 1 << 5),
            ("v.frintn", 0x0e21_8800 | 1 << 5),
            ("v.frintm", 0x0e21_9800 | 1 << 5),
            ("v.frintp", 0x0ea1_8800 | 1 << 5),
            ("v.frintz", 0x0ea1_9800 | 1 << 5),
            ("v.frintx", 0x2e21_9800 | 1 << 5),
            ("v.frinti", 0x2ea1_9800 | 1 << 5),
        ];
        ops.push(("v.faddp", 0x2e20_d400 | regs));
        // By element: lane k of V2.
        let lanes = if sz == 1 { 2 } else { 4 };
        for k in [0u32, lanes - 1] {
            let hl = if sz == 1 {
                k << 11
            } else {
                (k >> 1) << 11 | (k & 1) << 21
            };
            let e = 2 << 16 | hl | 1 << 5;
            ops.push(("v.fmul[]", 0x0f80_9000 | e));
            if f.fma {
                ops.push(("v.fmla[]", 0x0f80_1000 | e));
                ops.push(("v.fmls[]", 0x0f80_5000 | e));
            }
            if q == 1 && sz == 1 {
                // Scalar by element (one D lane; single lanes stay helper calls).
                ops.push(("s.fmul[]", 0x1f80_9000 | e));
            }
        }
        ops.extend([
            ("v.fcmeq", 0x0e20_e400 | regs),
            ("v.fcmge", 0x2e20_e400 | regs),
            ("v.fcmgt", 0x2ea0_e400 | regs),
            ("v.facge", 0x2e20_ec00 | regs),
            ("v.facgt", 0x2ea0_ec00 | regs),
        ]);
        if q == 1 {
            ops.push(("v.fdiv", 0x2e20_fc00 | regs));
        }
        if sz == 0 {
            ops.extend([
                ("v.fcvtzs", 0x0ea1_b800 | 1 << 5),
                ("v.fcvtns", 0x0e21_a800 | 1 << 5),
                ("v.fcvtps", 0x0ea1_a800 | 1 << 5),
                ("v.fcvtms", 0x0e21_b800 | 1 << 5),
                ("v.scvtf", 0x0e21_d800 | 1 << 5),
            ]);
        }
        if f.fma {
            ops.push(("v.fmla", 0x0e20_cc00 | regs));
            ops.push(("v.fmls", 0x0ea0_cc00 | regs));
        }
        for (name, w) in ops {
            v.push(Case {
                name,
                words: vec![w | x],
                src: Src::Vec(bits),
            });
        }
    }
    // FCVTL(2) from single lanes, FCVTN(2) to single lanes.
    for q in [0u32, 1] {
        v.push(Case {
            name: "v.fcvtl",
            words: vec![0x0e61_7800 | q << 30 | 1 << 5],
            src: Src::Vec(32),
        });
        v.push(Case {
            name: "v.fcvtn",
            words: vec![0x0e61_6800 | q << 30 | 1 << 5],
            src: Src::Vec(64),
        });
    }
    // Sequences: flags of one op must not leak into the next, nor survive an FPSR or
    // FPCR write (X5 holds a random FPCR).
    let (msr_fpsr, msr_fpcr) = (0xd51b_443f, 0xd51b_4405);
    for (bits, t) in [(32, 0), (64, 1u32 << 22)] {
        let op2 =
            |opc: u32, d: u32, n: u32, m: u32| 0x1e20_0800 | t | opc << 12 | m << 16 | n << 5 | d;
        for (name, words) in [
            ("fadd;fmul", vec![op2(2, 0, 1, 2), op2(0, 4, 1, 3)]),
            (
                "fdiv;msr fpsr;fadd",
                vec![op2(1, 0, 1, 2), msr_fpsr, op2(2, 4, 1, 3)],
            ),
            (
                "fmul;msr fpcr;fsub",
                vec![op2(0, 0, 1, 2), msr_fpcr, op2(3, 4, 2, 3)],
            ),
            (
                "fsqrt;fcmp;fsub",
                vec![
                    0x1e21_c000 | t | 1 << 5,
                    0x1e20_2000 | t | 2 << 16 | 1 << 5,
                    op2(3, 4, 2, 3),
                ],
            ),
        ] {
            v.push(Case {
                name,
                words,
                src: Src::Fp(bits),
            });
        }
    }
    v
}

fn lower(words: &[u32]) -> a64::ir::Block {
    let mut fetch =
        |va: u64| -> Result<u32, ()> { words.get(((va - 0x1000) / 4) as usize).copied().ok_or(()) };
    let n = words.len() as u32;
    let mut b = a64::lower::lower_block(0x1000, 0, n, &mut fetch).expect("lowers");
    a64::opt::optimize(&mut b);
    b
}

#[test]
fn host_fp_matches_softfloat() {
    let feats = Features::probe();
    assert!(feats.host_fp);
    let total: u64 = std::env::var("HOSTFP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let seed: u64 = std::env::var("HOSTFP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    let mut jit = Jit::new::<NoMem>(code_region(), feats);
    let mut mem = NoMem;
    let list = cases(feats);
    let per = total.div_ceil(list.len() as u64);
    let mut rng = Rng(seed | 1);
    let (e32, e64) = (edges(32), edges(64));
    let mut temps = Vec::new();
    let mut fails = Vec::new();
    let mut done = 0u64;
    let mut total_bad = 0u64;
    for c in &list {
        let b = lower(&c.words);
        // The test is about the host path: the block must use it.
        let host = b.ops.iter().any(
            |o| matches!(o, Op::Call { helper, imm, .. } if super::inline(helper, *imm, feats)),
        );
        assert!(host, "{}: {:#x?} is not done on the host", c.name, c.words);
        let id = jit.translate(&b, 0).expect("translates");
        let mut bad = 0u64;
        for _ in 0..per {
            let mut cpu = Cpu {
                pc: 0x1000,
                fpcr: (rng.below(16) as u32) << 22,
                fpsr: 0,
                nzcv: (rng.below(16) as u32) << 28,
                ..Cpu::default()
            };
            match c.src {
                Src::Fp(bits) => {
                    let e = if bits == 64 { &e64 } else { &e32 };
                    let a = fp_val(&mut rng, bits, e);
                    let m = if rng.below(4) == 0 {
                        near(&mut rng, a, bits)
                    } else {
                        fp_val(&mut rng, bits, e)
                    };
                    let acc = if rng.below(4) == 0 {
                        near(&mut rng, a, bits)
                    } else {
                        fp_val(&mut rng, bits, e)
                    };
                    cpu.v[1] = u128::from(a) | u128::from(rng.next()) << 64;
                    cpu.v[2] = u128::from(m);
                    cpu.v[3] = u128::from(acc);
                    cpu.x[5] = rng.below(16) << 22;
                }
                Src::Int => cpu.x[1] = int_val(&mut rng),
                Src::Vec(bits) => {
                    let e = if bits == 64 { &e64 } else { &e32 };
                    for lane in 0..128 / bits {
                        let a = fp_val(&mut rng, bits, e);
                        let val = |r: &mut Rng| {
                            if r.below(4) == 0 {
                                near(r, a, bits)
                            } else {
                                fp_val(r, bits, e)
                            }
                        };
                        let (m, acc) = (val(&mut rng), val(&mut rng));
                        let sh = lane * bits;
                        cpu.v[1] |= u128::from(a) << sh;
                        cpu.v[2] |= u128::from(m) << sh;
                        cpu.v[0] |= u128::from(acc) << sh;
                    }
                    cpu.x[5] = rng.below(16) << 22;
                }
            }
            let mut want = cpu.clone();
            a64::interp::run_block(&mut want, &mut mem, &b, &mut temps);
            let mut got = cpu.clone();
            jit.run(&mut got, &mut mem, id);
            let same = got.v[0] == want.v[0]
                && got.v[4] == want.v[4]
                && got.fpcr == want.fpcr
                && got.x[0] == want.x[0]
                && got.nzcv == want.nzcv
                && got.fpsr == want.fpsr;
            if !same {
                bad += 1;
                if bad <= 2 {
                    fails.push(format!(
                        "{} {:#x?}: fpcr {:#x} in v1 {:#x} v2 {:#x} v3 {:#x} x1 {:#x}: \
                         interp v0 {:#x} v4 {:#x} x0 {:#x} nzcv {:#x} fpsr {:#x}; \
                         jit v0 {:#x} v4 {:#x} x0 {:#x} nzcv {:#x} fpsr {:#x}",
                        c.name,
                        c.words,
                        cpu.fpcr,
                        cpu.v[1],
                        cpu.v[2],
                        cpu.v[3],
                        cpu.x[1],
                        want.v[0],
                        want.v[4],
                        want.x[0],
                        want.nzcv,
                        want.fpsr,
                        got.v[0],
                        got.v[4],
                        got.x[0],
                        got.nzcv,
                        got.fpsr
                    ));
                }
            }
            done += 1;
        }
        total_bad += bad;
        if bad > 0 {
            eprintln!("{}: {bad} of {per} mismatches", c.name);
        }
    }
    eprintln!(
        "host FP: {done} cases over {} instructions, {total_bad} mismatches",
        list.len()
    );
    assert!(total_bad == 0, "mismatches:\n{}", fails.join("\n"));
}

/// Prints the translation of the words in `HOSTFP_SHOW` (hex, comma-separated).
#[test]
#[ignore]
fn show_words() {
    use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
    let words: Vec<u32> = std::env::var("HOSTFP_SHOW")
        .unwrap_or_default()
        .split(',')
        .filter_map(|w| u32::from_str_radix(w.trim(), 16).ok())
        .collect();
    let mut fetch =
        |va: u64| -> Result<u32, ()> { words.get(((va - 0x1000) / 4) as usize).copied().ok_or(()) };
    let mut b = a64::lower::lower_block(0x1000, 0, words.len() as u32, &mut fetch).unwrap();
    a64::opt::optimize(&mut b);
    let rt = super::super::codegen_tests::test_rt();
    let mut env = super::super::codegen_tests::test_env(&rt, 9);
    env.base = 0;
    let mut s = super::super::Scratch::default();
    super::super::translate_with(&b, &env, &mut s).unwrap();
    let mut d = Decoder::with_ip(64, &s.code, 0, DecoderOptions::NONE);
    let mut f = IntelFormatter::new();
    for ins in &mut d {
        let mut t = String::new();
        f.format(&ins, &mut t);
        println!("{:5x} {t}", ins.ip());
    }
}
