//! Single-instruction differential test of the FP decoding + lowering + interpreter against
//! `qemu-aarch64 -cpu cortex-a57` (an ARMv8.0 core): random words of every fp.tbl encoding,
//! random FP-biased register contents and FPCR settings; the whole architectural state
//! after the instruction (V0-V31, X0-X15, NZCV, FPSR, or UNDEF) must agree.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::qemu_diff::{operand, Rng};
use super::{Fmt, FPCR_DN, FPCR_FZ};
use crate::decode::{decode, Enc};
use crate::interp::{run_block, Exit};
use crate::ir::ExcKind;
use crate::state::Cpu;
use crate::testutil::TestMem;

const ENCS: &[Enc] = &[
    Enc::FP_CVT_FIXED,
    Enc::FP_CVT_INT,
    Enc::FP_DP1,
    Enc::FP_CMP,
    Enc::FP_IMM,
    Enc::FP_CCMP,
    Enc::FP_DP2,
    Enc::FP_CSEL,
    Enc::FP_DP3,
    Enc::FPV_3SAME,
    Enc::FPS_3SAME,
    Enc::FPV_2MISC_A,
    Enc::FPV_2MISC_B,
    Enc::FPV_2MISC_C,
    Enc::FPS_2MISC_A,
    Enc::FPS_2MISC_C,
    Enc::FPS_FCVTXN,
    Enc::FPS_PAIR,
    Enc::FPV_ACROSS,
    Enc::FPV_ELEM_MLA,
    Enc::FPV_ELEM_MUL,
    Enc::FPS_ELEM_MLA,
    Enc::FPS_ELEM_MUL,
    Enc::FPV_SHIFT_S,
    Enc::FPV_SHIFT_D,
    Enc::FPS_SHIFT_S,
    Enc::FPS_SHIFT_D,
    Enc::FPV_FMOV_IMM,
];

const REC: usize = 8 + 64 * 8 + 16 * 8 + 24;

#[derive(Clone)]
struct State {
    insn: u32,
    v: [u128; 32],
    x: [u64; 16],
    nzcv: u64,
    fpcr: u64,
    fpsr: u64,
}

impl State {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.insn.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for v in &self.v {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for x in &self.x {
            out.extend_from_slice(&x.to_le_bytes());
        }
        for w in [self.nzcv, self.fpcr, self.fpsr] {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    fn decode(b: &[u8]) -> State {
        let u64at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
        let mut v = [0u128; 32];
        for (i, r) in v.iter_mut().enumerate() {
            *r = u64at(8 + 16 * i) as u128 | (u64at(16 + 16 * i) as u128) << 64;
        }
        let mut x = [0u64; 16];
        for (i, r) in x.iter_mut().enumerate() {
            *r = u64at(520 + 8 * i);
        }
        State {
            insn: u32::from_le_bytes(b[0..4].try_into().unwrap()),
            v,
            x,
            nzcv: u64at(648),
            fpcr: u64at(656),
            fpsr: u64at(664),
        }
    }
}

fn half(r: &mut Rng) -> u64 {
    match r.below(5) {
        0 => operand(r, Fmt::D),
        1 | 2 => operand(r, Fmt::S) | operand(r, Fmt::S) << 32,
        3 => (0..4).fold(0, |w, i| w | operand(r, Fmt::H) << (16 * i)),
        _ => r.next() >> r.below(64),
    }
}

fn random_state(r: &mut Rng, insn: u32) -> State {
    let mut v = [0u128; 32];
    for x in v.iter_mut() {
        *x = half(r) as u128 | (half(r) as u128) << 64;
    }
    let mut x = [0u64; 16];
    for w in x.iter_mut() {
        *w = half(r);
    }
    let fpcr = (r.below(4) << 22)
        | if r.below(3) == 0 { FPCR_FZ as u64 } else { 0 }
        | if r.below(4) == 0 { FPCR_DN as u64 } else { 0 };
    State {
        insn,
        v,
        x,
        nzcv: r.below(16) << 28,
        fpcr,
        fpsr: 0,
    }
}

/// Our result: the state after the instruction; fpsr bit 63 marks UNDEF.
fn ours(s: &State) -> State {
    let mut cpu = Cpu::new();
    cpu.v = s.v;
    cpu.x[..16].copy_from_slice(&s.x);
    cpu.nzcv = s.nzcv as u32;
    cpu.fpcr = s.fpcr as u32;
    cpu.fpsr = 0;
    cpu.pc = 0x10000;
    let blk = crate::lower::lower(s.insn, 0x10000);
    crate::verify::verify(&blk).unwrap_or_else(|e| panic!("verifier: {e} for {:08x}", s.insn));
    let mut mem = TestMem::default();
    let mut temps = Vec::new();
    let exit = run_block(&mut cpu, &mut mem, &blk, &mut temps);
    let mut out = s.clone();
    match exit {
        Exit::Exception {
            kind: ExcKind::Undef(_),
            ..
        } => out.fpsr = 1 << 63,
        Exit::Continue => {
            out.v = cpu.v;
            out.x.copy_from_slice(&cpu.x[..16]);
            out.nzcv = cpu.nzcv as u64;
            out.fpsr = cpu.fpsr as u64;
        }
        e => panic!("unexpected exit {e:?} for {:08x}", s.insn),
    }
    out
}

fn harness() -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/a64/fp/insnrun.c");
    let out = std::env::temp_dir().join(format!("a64-insnrun-{}", std::process::id()));
    let st = Command::new("aarch64-linux-gnu-gcc")
        .args(["-O2", "-static", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("aarch64-linux-gnu-gcc is required for the FP instruction test (apt install gcc-aarch64-linux-gnu)");
    assert!(st.success(), "compiling {} failed", src.display());
    out
}

fn run_diff(per_enc: usize, seed: u64) {
    let mut rng = Rng(seed);
    let mut cases = Vec::new();
    for &enc in ENCS {
        let (mask, value) = enc.pattern();
        let mut made = 0;
        let mut tries = 0;
        while made < per_enc && tries < per_enc * 20 {
            tries += 1;
            let mut w = (rng.next() as u32 & !mask) | value;
            if matches!(enc, Enc::FP_CVT_INT | Enc::FP_CVT_FIXED) {
                w &= !(1 << 4 | 1 << 9); // general registers 0..15 only
            }
            if decode(w).enc != Some(enc) {
                continue;
            }
            let st = random_state(&mut rng, w);
            // Mostly defined encodings: keep only a quarter of the UNDEF ones.
            if ours(&st).fpsr >> 63 != 0 && rng.below(4) != 0 {
                continue;
            }
            made += 1;
            cases.push((enc, st));
        }
    }
    let mut input = Vec::with_capacity(cases.len() * REC);
    for (_, s) in &cases {
        s.encode(&mut input);
    }
    let exe = harness();
    let mut child = Command::new("qemu-aarch64")
        .args(["-cpu", "cortex-a57"])
        .arg(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("qemu-aarch64 is required for the FP instruction test (apt install qemu-user)");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let _ = std::fs::remove_file(&exe);
    assert_eq!(out.stdout.len(), cases.len() * REC, "harness output size");
    let mut bad = Vec::new();
    let mut per = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    let mut undefs = std::collections::BTreeMap::<&str, usize>::new();
    for (i, (enc, s)) in cases.iter().enumerate() {
        let want = State::decode(&out.stdout[i * REC..(i + 1) * REC]);
        let got = ours(s);
        let wundef = want.fpsr >> 63 != 0;
        *undefs.entry(enc.name()).or_default() += wundef as usize;
        let e = per.entry(enc.name()).or_default();
        e.0 += 1;
        let gundef = got.fpsr >> 63 != 0;
        let same = wundef == gundef
            && (wundef
                || (want.v == got.v
                    && want.x == got.x
                    && want.nzcv & 0xf000_0000 == got.nzcv
                    && want.fpsr & 0x9f == got.fpsr & 0x9f));
        if !same {
            e.1 += 1;
            if bad.len() < 30 {
                let mut d = format!("{} {:08x} fpcr={:x}:", enc.name(), s.insn, s.fpcr);
                if wundef != gundef {
                    d += &format!(" undef qemu={wundef} ours={gundef}");
                } else {
                    for r in 0..32 {
                        if want.v[r] != got.v[r] {
                            d += &format!(
                                " v{r}: in {:032x} qemu {:032x} ours {:032x};",
                                s.v[r], want.v[r], got.v[r]
                            );
                        }
                    }
                    for r in 0..16 {
                        if want.x[r] != got.x[r] {
                            d += &format!(" x{r}: qemu {:x} ours {:x};", want.x[r], got.x[r]);
                        }
                    }
                    if want.nzcv & 0xf000_0000 != got.nzcv {
                        d += &format!(" nzcv qemu {:x} ours {:x};", want.nzcv, got.nzcv);
                    }
                    if want.fpsr & 0x9f != got.fpsr & 0x9f {
                        d += &format!(" fpsr qemu {:x} ours {:x};", want.fpsr, got.fpsr);
                    }
                }
                bad.push(d);
            }
        }
    }
    eprintln!(
        "fp insn diff: {} cases; UNDEF per encoding: {:?}",
        cases.len(),
        undefs
    );
    let failures: Vec<_> = per.iter().filter(|(_, (_, b))| *b > 0).collect();
    assert!(
        failures.is_empty(),
        "{} instructions differ from qemu; per encoding (cases, bad): {:?}\n{}",
        failures.iter().map(|(_, (_, b))| b).sum::<usize>(),
        failures,
        bad.join("\n")
    );
}

#[test]
fn fp_instructions_match_qemu() {
    let seed = std::env::var("A64_FP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f00d);
    let n = std::env::var("A64_FP_INSNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    run_diff(n, seed);
}
