//! Differential test of the softfloat library against `qemu-aarch64` running the real
//! instructions (tests/a64/fp/fpops.c), with random and special operands under every
//! rounding mode and FZ/DN setting.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::*;

pub(crate) struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn fmt_of(c: char) -> Option<Fmt> {
    match c {
        'h' => Some(Fmt::H),
        's' => Some(Fmt::S),
        'd' => Some(Fmt::D),
        _ => None,
    }
}

/// A random operand of format `f`, biased towards special and boundary values.
pub(crate) fn operand(r: &mut Rng, f: Fmt) -> u64 {
    let fb = f.fbits();
    let emask = (1u64 << f.ebits()) - 1;
    let fmask = (1u64 << fb) - 1;
    let bias = emask >> 1;
    let sign = (r.next() & 1) << (f.bits() - 1);
    let v = match r.below(16) {
        0 => 0,
        1 => emask << fb,                                      // inf
        2 => emask << fb | 1 << (fb - 1) | (r.next() & fmask), // qnan
        3 => emask << fb | ((r.next() & (fmask >> 1)) | 1),    // snan
        4 => r.next() & fmask,                                 // subnormal
        5 => [1, fmask, 1 << fb, (emask - 1) << fb | fmask][r.below(4) as usize],
        6 => {
            (bias + r.below(f.bits() as u64 + 2)) << fb
                | (r.next() & fmask & !((1 << r.below(fb as u64)) - 1))
        } // integers-ish
        7 => {
            (bias - 1 + r.below(3)) << fb
                | [0, 1 << (fb - 1), 1 << (fb - 2), r.next() & fmask][r.below(4) as usize]
        }
        8 => (bias + r.below(8)) << fb | (r.next() & fmask),
        9 => (1 + r.below(3)) << fb | (r.next() & fmask), // near the subnormal boundary
        10 => (emask - 1 - r.below(3)) << fb | (r.next() & fmask), // near overflow
        _ => r.next() & (f.mask() >> 1),
    };
    (v | sign) & f.mask()
}

fn int_operand(r: &mut Rng) -> u64 {
    match r.below(6) {
        0 => [
            0,
            1,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            1 << 31,
            (1 << 31) - 1,
            0xffff_ffff,
        ][r.below(8) as usize],
        1 => r.next() >> r.below(64),
        2 => (r.next() >> r.below(64)).wrapping_neg(),
        3 => r.next() & 0xffff_ffff,
        _ => r.next(),
    }
}

/// What the library computes for one harness line. Returns None for an unknown name.
fn eval(name: &str, a: u64, b: u64, c: u64, fpcr: u32, fpsr: &mut u32) -> Option<u64> {
    let (base, suf) = name.split_once('_')?;
    let cur = Rounding::from_fpcr(fpcr);
    let sc = suf.chars().next()?;
    if let Some(f) = fmt_of(sc).filter(|_| suf.len() == 1) {
        let ones = f.mask();
        let m = f.mask();
        let (a, b, c) = (a & m, b & m, c & m);
        let r = match base {
            "fadd" => add(f, a, b, fpcr, fpsr),
            "fsub" => sub(f, a, b, fpcr, fpsr),
            "fmul" => mul(f, a, b, fpcr, fpsr),
            "fdiv" => div(f, a, b, fpcr, fpsr),
            "fmax" => max(f, a, b, fpcr, fpsr),
            "fmin" => min(f, a, b, fpcr, fpsr),
            "fmaxnm" => maxnm(f, a, b, fpcr, fpsr),
            "fminnm" => minnm(f, a, b, fpcr, fpsr),
            "fmulx" => mulx(f, a, b, fpcr, fpsr),
            "fabd" => abd(f, a, b, fpcr, fpsr),
            "frecps" => recps(f, a, b, fpcr, fpsr),
            "frsqrts" => rsqrts(f, a, b, fpcr, fpsr),
            "fnmul" => f.neg(mul(f, a, b, fpcr, fpsr)),
            "fcmeq" => ones * compare_eq(f, a, b, fpcr, fpsr) as u64,
            "fcmge" => ones * compare_ge_gt(f, a, b, false, fpcr, fpsr) as u64,
            "fcmgt" => ones * compare_ge_gt(f, a, b, true, fpcr, fpsr) as u64,
            "facge" => ones * compare_ge_gt(f, f.abs(a), f.abs(b), false, fpcr, fpsr) as u64,
            "facgt" => ones * compare_ge_gt(f, f.abs(a), f.abs(b), true, fpcr, fpsr) as u64,
            "fmadd" => mul_add(f, c, a, b, fpcr, fpsr),
            "fmsub" => mul_add(f, c, f.neg(a), b, fpcr, fpsr),
            "fnmadd" => mul_add(f, f.neg(c), f.neg(a), b, fpcr, fpsr),
            "fnmsub" => mul_add(f, f.neg(c), a, b, fpcr, fpsr),
            "fsqrt" => sqrt(f, a, fpcr, fpsr),
            "frintn" => round_int(f, a, Rounding::TieEven, false, fpcr, fpsr),
            "frinta" => round_int(f, a, Rounding::TieAway, false, fpcr, fpsr),
            "frintp" => round_int(f, a, Rounding::PosInf, false, fpcr, fpsr),
            "frintm" => round_int(f, a, Rounding::NegInf, false, fpcr, fpsr),
            "frintz" => round_int(f, a, Rounding::Zero, false, fpcr, fpsr),
            "frintx" => round_int(f, a, cur, true, fpcr, fpsr),
            "frinti" => round_int(f, a, cur, false, fpcr, fpsr),
            "frecpe" => recpe(f, a, fpcr, fpsr),
            "frsqrte" => rsqrte(f, a, fpcr, fpsr),
            "frecpx" => recpx(f, a, fpcr, fpsr),
            "fcmp" => compare(f, a, b, false, fpcr, fpsr) as u64,
            "fcmpe" => compare(f, a, b, true, fpcr, fpsr) as u64,
            _ => return None,
        };
        return Some(r);
    }
    let mut parts = suf.split('_');
    let regs: Vec<char> = parts.next()?.chars().collect();
    let fbits: u32 = parts.next().map(|s| s.parse().unwrap()).unwrap_or(0);
    if regs.len() != 2 {
        return None;
    }
    let (d, s) = (regs[0], regs[1]);
    if base == "fcvt" || base == "fcvtxn" {
        // fcvt_XY: from X to Y.
        let (from, to) = (fmt_of(d)?, fmt_of(s)?);
        let rm = if base == "fcvtxn" { Rounding::Odd } else { cur };
        return Some(convert(from, to, a & from.mask(), rm, fpcr, fpsr));
    }
    if let (Some(w), Some(f)) = (
        match d {
            'w' => Some(32),
            'x' => Some(64),
            _ => None,
        },
        fmt_of(s),
    ) {
        let unsigned = base.ends_with('u');
        let rm = match &base[..5] {
            "fcvtz" => Rounding::Zero,
            "fcvtn" => Rounding::TieEven,
            "fcvta" => Rounding::TieAway,
            "fcvtp" => Rounding::PosInf,
            "fcvtm" => Rounding::NegInf,
            _ => return None,
        };
        return Some(to_fixed(
            f,
            a & f.mask(),
            fbits,
            unsigned,
            w,
            rm,
            fpcr,
            fpsr,
        ));
    }
    let f = fmt_of(d)?;
    let w = if s == 'w' { 32 } else { 64 };
    let unsigned = base == "ucvtf";
    Some(from_fixed(f, a, fbits, unsigned, w, cur, fpcr, fpsr))
}

/// The library's result for a 128-bit vector harness op (`v_*`).
fn eval_vec(name: &str, a: u64, b: u64, c: u64, fpcr: u32, fpsr: &mut u32) -> Option<u128> {
    use super::vec::*;
    let v1 = (b as u128) << 64 | a as u128;
    let v2 = (c.rotate_left(17) as u128) << 64 | c as u128;
    let v0 = (a as u128) << 64 | b as u128;
    let (s, d) = (Fmt::S, Fmt::D);
    let cur = Rounding::from_fpcr(fpcr);
    let r = match name {
        "v_fmaxv_4s" => reduce(Op2::Max, s, 16, v1, fpcr, fpsr) as u128,
        "v_fminv_4s" => reduce(Op2::Min, s, 16, v1, fpcr, fpsr) as u128,
        "v_fmaxnmv_4s" => reduce(Op2::MaxNm, s, 16, v1, fpcr, fpsr) as u128,
        "v_fminnmv_4s" => reduce(Op2::MinNm, s, 16, v1, fpcr, fpsr) as u128,
        "v_faddp_4s" => pairwise(Op2::Add, s, 16, v1, v2, fpcr, fpsr),
        "v_fmaxp_2d" => pairwise(Op2::Max, d, 16, v1, v2, fpcr, fpsr),
        "v_fminnmp_4s" => pairwise(Op2::MinNm, s, 16, v1, v2, fpcr, fpsr),
        "v_faddp_s" => reduce(Op2::Add, s, 8, v1, fpcr, fpsr) as u128,
        "v_fmaxnmp_d" => reduce(Op2::MaxNm, d, 16, v1, fpcr, fpsr) as u128,
        "v_fmla_4s" => map2(Op2::Mla, s, 16, v1, v2, v0, fpcr, fpsr),
        "v_fmls_2d" => map2(Op2::Mls, d, 16, v1, v2, v0, fpcr, fpsr),
        "v_fmla_e_4s" => map2_elem(Op2::Mla, s, 16, v1, lane(v2, s, 1), v0, fpcr, fpsr),
        "v_fmulx_e_2d" => map2_elem(Op2::Mulx, d, 16, v1, lane(v2, d, 1), 0, fpcr, fpsr),
        "v_fcvtl_4s" => widen(Fmt::H, false, v1, fpcr, fpsr),
        "v_fcvtl2_2d" => widen(s, true, v1, fpcr, fpsr),
        "v_fcvtn_4h" => narrow(Fmt::H, false, cur, v1, v0, fpcr, fpsr),
        "v_fcvtn2_4s" => narrow(s, true, cur, v1, v0, fpcr, fpsr),
        "v_fcvtxn_2s" => narrow(s, false, Rounding::Odd, v1, v0, fpcr, fpsr),
        "v_fcvtxn2_4s" => narrow(s, true, Rounding::Odd, v1, v0, fpcr, fpsr),
        "v_urecpe_4s" | "v_ursqrte_4s" => {
            let mut r = 0;
            for i in 0..4 {
                let x = lane(v1, s, i) as u32;
                let y = if name == "v_urecpe_4s" {
                    urecpe(x)
                } else {
                    ursqrte(x)
                };
                r = set_lane(r, s, i, y as u64);
            }
            r
        }
        "v_frecpe_4s" => map1(Op1::Recpe, s, 16, v1, fpcr, fpsr),
        "v_frsqrte_2d" => map1(Op1::Rsqrte, d, 16, v1, fpcr, fpsr),
        "v_scvtf_4s_3" => from_int_lanes(s, 16, v1, 3, false, fpcr, fpsr),
        "v_ucvtf_2d" => from_int_lanes(d, 16, v1, 0, true, fpcr, fpsr),
        "v_fcvtzs_2d_5" => to_int_lanes(d, 16, v1, 5, false, Rounding::Zero, fpcr, fpsr),
        "v_fcvtau_4s" => to_int_lanes(s, 16, v1, 0, true, Rounding::TieAway, fpcr, fpsr),
        "v_fcmlt0_4s" => map1(Op1::CmLt0, s, 16, v1, fpcr, fpsr),
        "v_fcmle0_2d" => map1(Op1::CmLe0, d, 16, v1, fpcr, fpsr),
        "v_frintx_4s" => map1(Op1::RintX, s, 16, v1, fpcr, fpsr),
        "v_fabd_2d" => map2(Op2::Abd, d, 16, v1, v2, 0, fpcr, fpsr),
        _ => return None,
    };
    Some(r)
}

/// Vector harness ops with the lane kind of their operands ('i': integers).
const VEC_OPS: &[(&str, char)] = &[
    ("v_fmaxv_4s", 's'),
    ("v_fminv_4s", 's'),
    ("v_fmaxnmv_4s", 's'),
    ("v_fminnmv_4s", 's'),
    ("v_faddp_4s", 's'),
    ("v_fmaxp_2d", 'd'),
    ("v_fminnmp_4s", 's'),
    ("v_faddp_s", 's'),
    ("v_fmaxnmp_d", 'd'),
    ("v_fmla_4s", 's'),
    ("v_fmls_2d", 'd'),
    ("v_fmla_e_4s", 's'),
    ("v_fmulx_e_2d", 'd'),
    ("v_fcvtl_4s", 'h'),
    ("v_fcvtl2_2d", 's'),
    ("v_fcvtn_4h", 's'),
    ("v_fcvtn2_4s", 'd'),
    ("v_fcvtxn_2s", 'd'),
    ("v_fcvtxn2_4s", 'd'),
    ("v_urecpe_4s", 'i'),
    ("v_ursqrte_4s", 'i'),
    ("v_frecpe_4s", 's'),
    ("v_frsqrte_2d", 'd'),
    ("v_scvtf_4s_3", 'i'),
    ("v_ucvtf_2d", 'i'),
    ("v_fcvtzs_2d_5", 'd'),
    ("v_fcvtau_4s", 's'),
    ("v_fcmlt0_4s", 's'),
    ("v_fcmle0_2d", 'd'),
    ("v_frintx_4s", 's'),
    ("v_fabd_2d", 'd'),
];

/// A 64-bit word of packed random lanes of kind `k`.
fn packed(r: &mut Rng, k: char) -> u64 {
    match fmt_of(k) {
        None => int_operand(r),
        Some(f) => {
            let mut w = 0u64;
            for i in 0..64 / f.bits() {
                w |= operand(r, f) << (i * f.bits());
            }
            w
        }
    }
}

/// The harness's op names, with the kind of operands each wants.
fn names() -> Vec<(String, char)> {
    let mut v: Vec<(String, char)> = VEC_OPS
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_ascii_uppercase()))
        .collect();
    for b in [
        "fadd", "fsub", "fmul", "fdiv", "fmax", "fmin", "fmaxnm", "fminnm", "fmulx", "fabd",
        "frecps", "frsqrts", "fnmul", "fcmeq", "fcmge", "fcmgt", "facge", "facgt", "fmadd",
        "fmsub", "fnmadd", "fnmsub", "fsqrt", "frintn", "frinta", "frintp", "frintm", "frintz",
        "frintx", "frinti", "frecpe", "frsqrte", "frecpx", "fcmp", "fcmpe",
    ] {
        for f in ['h', 's', 'd'] {
            v.push((format!("{b}_{f}"), f));
        }
    }
    for (n, f) in [
        ("sd", 's'),
        ("ds", 'd'),
        ("hs", 'h'),
        ("sh", 's'),
        ("hd", 'h'),
        ("dh", 'd'),
    ] {
        v.push((format!("fcvt_{n}"), f));
    }
    v.push(("fcvtxn_ds".into(), 'd'));
    for b in ["zs", "zu", "ns", "nu", "as", "au", "ps", "pu", "ms", "mu"] {
        for d in ['w', 'x'] {
            for f in ['h', 's', 'd'] {
                v.push((format!("fcvt{b}_{d}{f}"), f));
            }
        }
    }
    for b in ["fcvtzs", "fcvtzu"] {
        for fb in [7, 32] {
            for d in ['w', 'x'] {
                for f in ['s', 'd'] {
                    v.push((format!("{b}_{d}{f}_{fb}"), f));
                }
            }
        }
    }
    for b in ["scvtf", "ucvtf"] {
        for f in ['h', 's', 'd'] {
            for s in ['w', 'x'] {
                v.push((format!("{b}_{f}{s}"), 'i'));
            }
        }
        for fb in [7, 32] {
            for f in ['s', 'd'] {
                for s in ['w', 'x'] {
                    v.push((format!("{b}_{f}{s}_{fb}"), 'i'));
                }
            }
        }
    }
    v
}

fn harness() -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/a64/fp/fpops.c");
    let out = std::env::temp_dir().join(format!("a64-fpops-{}", std::process::id()));
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-O2", "-static", "-march=armv8.2-a+fp16", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc is required for the FP differential test (apt install gcc-aarch64-linux-gnu)");
    assert!(st.success(), "compiling {} failed", src.display());
    out
}

fn run_diff(per_op: usize, seed: u64) {
    let exe = harness();
    let mut rng = Rng(seed);
    let mut input = String::new();
    let mut cases = Vec::new();
    for (name, kind) in names() {
        for _ in 0..per_op {
            let (a, b, c) = if kind.is_ascii_uppercase() {
                let k = kind.to_ascii_lowercase();
                (
                    packed(&mut rng, k),
                    packed(&mut rng, k),
                    packed(&mut rng, k),
                )
            } else if kind == 'i' {
                (int_operand(&mut rng), 0, 0)
            } else {
                let f = fmt_of(kind).unwrap();
                let a = operand(&mut rng, f);
                // Often make b close to a (cancellation, equal compares).
                let b = match rng.below(4) {
                    0 => a ^ (rng.below(4) << rng.below(3)),
                    1 => f.neg(a),
                    _ => operand(&mut rng, f),
                };
                (a, b, operand(&mut rng, f))
            };
            let fpcr = (rng.below(4) as u32) << 22
                | if rng.below(3) == 0 { FPCR_FZ } else { 0 }
                | if rng.below(4) == 0 { FPCR_DN } else { 0 };
            input.push_str(&format!("{name} {a:x} {b:x} {c:x} {fpcr:x}\n"));
            cases.push((name.clone(), a, b, c, fpcr));
        }
    }
    let mut child = Command::new("qemu-aarch64")
        .arg(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("qemu-aarch64 is required for the FP differential test (apt install qemu-user)");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let _ = std::fs::remove_file(&exe);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), cases.len(), "harness output length");
    let mut bad = Vec::new();
    let mut per_op_bad = std::collections::BTreeMap::<String, usize>::new();
    for (line, (name, a, b, c, fpcr)) in lines.iter().zip(&cases) {
        let mut it = line.split(' ');
        let mut field = || {
            it.next()
                .and_then(|w| u64::from_str_radix(w, 16).ok())
                .unwrap_or_else(|| panic!("harness: {line} for {name}"))
        };
        let want = field() as u128 | (field() as u128) << 64;
        let want_fpsr = field() as u32 & 0x9f;
        let mut fpsr = 0;
        let got = if name.starts_with("v_") {
            eval_vec(name, *a, *b, *c, *fpcr, &mut fpsr)
        } else {
            eval(name, *a, *b, *c, *fpcr, &mut fpsr).map(u128::from)
        }
        .unwrap_or_else(|| panic!("no library op for {name}"));
        if got != want || fpsr != want_fpsr {
            *per_op_bad.entry(name.clone()).or_default() += 1;
            if bad.len() < 40 {
                bad.push(format!(
                    "{name} a={a:x} b={b:x} c={c:x} fpcr={fpcr:x}: qemu {want:x} fpsr {want_fpsr:x}, lib {got:x} fpsr {fpsr:x}"
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {} cases differ; per op: {:?}\n{}",
        per_op_bad.values().sum::<usize>(),
        cases.len(),
        per_op_bad,
        bad.join("\n")
    );
}

#[test]
fn softfloat_matches_qemu() {
    let seed = std::env::var("A64_FP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x1234_5678_9abc_def1);
    let n = std::env::var("A64_FP_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    run_diff(n, seed);
}
