//! RISU-style differential test for the AdvSIMD integer / permute / structure load-store
//! and crypto groups: random instruction sequences generated from the decoder tables
//! engine/a64/tables/{simd,crypto}.tbl (random field values, so reserved encodings are
//! included and qemu and a64-user must agree on UNDEF too), run under qemu-aarch64 and
//! a64-user inside tests/a64/risu_harness.S; all general registers, NZCV, FPSR (incl. QC),
//! the 32 V registers and the 16 KiB scratch memory must match.
//!
//! Bounded run: `cargo test -p hv-tests --release --test a64_simd_risu` (400 sequences).
//! Longer run:  `A64_SIMD_RISU_COUNT=20000 A64_SIMD_RISU_SEED=3 cargo test -p hv-tests --release --test a64_simd_risu`.

mod a64_common;

use a64_common::*;
use std::path::{Path, PathBuf};

struct Field {
    name: String,
    lo: u32,
    width: u32,
}

struct Enc {
    name: String,
    mask: u32,
    value: u32,
    fields: Vec<Field>,
}

fn parse_tables() -> Vec<Enc> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../engine/a64/tables");
    let mut out = Vec::new();
    for f in ["simd.tbl", "crypto.tbl"] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        for line in text.lines() {
            let t = line.split('#').next().unwrap_or("").trim();
            if t.is_empty() {
                continue;
            }
            let parts: Vec<&str> = t.split('|').map(str::trim).collect();
            let (mut pos, mut mask, mut value, mut fields) = (32u32, 0u32, 0u32, Vec::new());
            for tok in parts[1].split_whitespace() {
                if let Some((n, w)) = tok.split_once(':') {
                    let w: u32 = w.parse().expect("width");
                    pos -= w;
                    fields.push(Field {
                        name: n.to_string(),
                        lo: pos,
                        width: w,
                    });
                } else {
                    for c in tok.chars() {
                        pos -= 1;
                        match c {
                            '0' => mask |= 1 << pos,
                            '1' => {
                                mask |= 1 << pos;
                                value |= 1 << pos
                            }
                            _ => {}
                        }
                    }
                }
            }
            out.push(Enc {
                name: parts[0].to_string(),
                mask,
                value,
                fields,
            });
        }
    }
    assert!(out.len() >= 40, "tables look empty");
    out
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Lane-structured values with edge cases (0, all-ones, sign bits, small numbers).
    fn interesting(&mut self) -> u64 {
        let mut v = 0u64;
        let esize = [8u32, 16, 32, 64][self.below(4) as usize];
        for i in 0..(64 / esize) {
            let m = if esize == 64 {
                u64::MAX
            } else {
                (1u64 << esize) - 1
            };
            let x = match self.below(8) {
                0 => 0,
                1 => m,
                2 => m >> 1,
                3 => (m >> 1) + 1,
                4 => self.below(70),
                5 => self.below(70).wrapping_neg() & m,
                _ => self.next() & m,
            };
            v |= x << (esize * i);
        }
        v
    }
}

fn get(w: u32, e: &Enc, name: &str) -> Option<u32> {
    e.fields
        .iter()
        .find(|f| f.name == name)
        .map(|f| (w >> f.lo) & ((1u64 << f.width) - 1) as u32)
}

fn set(w: &mut u32, e: &Enc, name: &str, v: u32) {
    if let Some(f) = e.fields.iter().find(|f| f.name == name) {
        let m = (((1u64 << f.width) - 1) as u32) << f.lo;
        *w = (*w & !m) | ((v << f.lo) & m);
    }
}

/// One random instruction obeying the harness constraints (tests/a64/risu_harness.S):
/// X27 = small index register, X28 = SP = scratch base + 8192; neither is a destination;
/// structure loads/stores address [X28] or [SP] and only X28 is written back.
fn gen_insn(r: &mut Rng, encs: &[Enc]) -> u32 {
    let e = &encs[r.below(encs.len() as u64) as usize];
    let mut w = (r.next() as u32 & !e.mask) | e.value;
    if r.below(8) != 0 {
        steer(r, &mut w, e);
    }
    if e.name.starts_with("SIMD_LDST") {
        let post = e.name.ends_with("POST");
        let rn = if post || r.below(2) == 0 { 28 } else { 31 };
        set(&mut w, e, "rn", rn);
        if post {
            set(&mut w, e, "rm", if r.below(2) == 0 { 31 } else { 27 });
        }
        return w;
    }
    // X destinations (UMOV/SMOV, CRC32) must not be X27/X28.
    if let Some(rd) = get(w, e, "rd") {
        if rd == 27 || rd == 28 {
            set(&mut w, e, "rd", rd - 10);
        }
    }
    w
}

/// Steers random fields away from reserved (UNDEF) combinations most of the time, so
/// that sequences run to the end more often (the Arm ARM's "unallocated" rules).
fn steer(r: &mut Rng, w: &mut u32, e: &Enc) {
    let name = e.name.as_str();
    if let Some(size) = get(*w, e, "size") {
        if name.starts_with("SIMD_ELEM") || name.starts_with("SIMD_SELEM") {
            set(w, e, "size", 1 + r.below(2) as u32);
        } else if size == 3 && !name.starts_with("SIMD_LDST") && r.below(4) != 0 {
            set(w, e, "size", r.below(3) as u32);
        }
    }
    if get(*w, e, "size") == Some(3) && get(*w, e, "Q") == Some(0) {
        set(w, e, "Q", 1);
    }
    if let Some(immh) = get(*w, e, "immh") {
        if immh == 0 {
            set(w, e, "immh", 1 + r.below(15) as u32);
        }
        if get(*w, e, "immh").unwrap_or(0) >= 8 && get(*w, e, "Q") == Some(0) {
            set(w, e, "Q", 1);
        }
    }
    match name {
        "SIMD_LDST_MULT" | "SIMD_LDST_MULT_POST" => {
            let ops = [0b0000, 0b0010, 0b0100, 0b0110, 0b0111, 0b1000, 0b1010];
            set(w, e, "opc", ops[r.below(7) as usize]);
        }
        "SIMD_LDST_SINGLE" | "SIMD_LDST_SINGLE_POST" => {
            let opc = get(*w, e, "opc").unwrap_or(0);
            match opc >> 1 {
                1 => set(w, e, "size", get(*w, e, "size").unwrap_or(0) & 2),
                2 => {
                    let sz = get(*w, e, "size").unwrap_or(0) & 1;
                    set(w, e, "size", sz);
                    if sz == 1 {
                        set(w, e, "S", 0);
                    }
                }
                3 => {
                    set(w, e, "L", 1);
                    set(w, e, "S", 0);
                }
                _ => {}
            }
        }
        "SIMD_COPY" => {
            if get(*w, e, "imm5").unwrap_or(0) & 15 == 0 {
                set(w, e, "imm5", 1 + r.below(15) as u32);
            }
            if get(*w, e, "op") == Some(0) {
                let ops = [0b0000, 0b0001, 0b0011, 0b0101, 0b0111];
                set(w, e, "imm4", ops[r.below(5) as usize]);
                if get(*w, e, "imm4") == Some(0b0011) {
                    set(w, e, "Q", 1);
                }
            } else {
                set(w, e, "Q", 1);
            }
        }
        "SIMD_SCOPY" if get(*w, e, "imm5").unwrap_or(0) & 15 == 0 => {
            set(w, e, "imm5", 1 + r.below(15) as u32);
        }
        "SIMD_PERM" if get(*w, e, "opc").unwrap_or(0) & 3 == 0 => {
            set(w, e, "opc", get(*w, e, "opc").unwrap_or(0) | 1);
        }
        "SIMD_EXT" if get(*w, e, "Q") == Some(0) => {
            set(w, e, "imm4", get(*w, e, "imm4").unwrap_or(0) & 7)
        }
        "SIMD_3DIFF" if get(*w, e, "opc") == Some(15) => {
            set(w, e, "opc", r.below(9) as u32);
        }
        "CRYPTO_SHA3" if get(*w, e, "opc") == Some(7) => set(w, e, "opc", r.below(7) as u32),
        "CRYPTO_SHA2" => set(w, e, "opc", r.below(3) as u32),
        "CRC32" => {
            let sz = get(*w, e, "sz").unwrap_or(0);
            set(w, e, "sf", (sz == 3) as u32);
        }
        _ => {}
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const NOP: [u8; 4] = 0xd503201fu32.to_le_bytes();
const STATE_BYTES: usize = 776;

fn harness() -> (Vec<u8>, usize, usize) {
    let dir = work_dir("simd_risu");
    let bin = dir.join("risu_harness");
    compile(
        &[sources_dir().join("risu_harness.S")],
        &bin,
        &["-nostdlib"],
    );
    let elf = std::fs::read(&bin).expect("read harness");
    let nops: Vec<u8> = NOP.iter().copied().cycle().take(64 * 4).collect();
    let code = find(&elf, &nops).expect("NOP run not found in harness");
    let init = find(&elf, b"RISUINIT").expect("RISUINIT not found") + 16;
    (elf, code, init)
}

fn reg_name(off: usize) -> String {
    match off {
        0..=247 => format!("X{}", off / 8),
        248..=255 => "NZCV".into(),
        256..=263 => "FPSR".into(),
        264..=775 => format!("V{}", (off - 264) / 16),
        _ => format!("scratch+{:#x}", off - STATE_BYTES),
    }
}

fn run_case(
    elf: &[u8],
    code: usize,
    init: usize,
    seed: u64,
    encs: &[Enc],
    path: &PathBuf,
) -> Result<bool, String> {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for _ in 0..4 {
        r.next();
    }
    let mut img = elf.to_vec();
    let n = 1 + r.below(12) as usize;
    let words: Vec<u32> = (0..n).map(|_| gen_insn(&mut r, encs)).collect();
    for (i, w) in words.iter().enumerate() {
        img[code + 4 * i..code + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
    }
    let mut p = init;
    for i in 0..31 {
        let v = if i == 27 {
            r.below(256)
        } else {
            r.interesting()
        };
        img[p..p + 8].copy_from_slice(&v.to_le_bytes());
        p += 8;
    }
    let nzcv = (r.below(16) << 28).to_le_bytes();
    img[p..p + 8].copy_from_slice(&nzcv);
    p += 8;
    for _ in 0..(64 + 2048) {
        let v = r.interesting().to_le_bytes();
        img[p..p + 8].copy_from_slice(&v);
        p += 8;
    }
    std::fs::write(path, &img).map_err(|e| e.to_string())?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let q = run_with(Path::new("qemu-aarch64"), path, &[], b"", dir);
    let a = run_with(&a64_user(), path, &[], b"", dir);
    if q.stdout == a.stdout && q.status == a.status {
        return Ok(q.status == 0);
    }
    let mut msg = format!(
        "seed {seed}: mismatch for {} instruction(s): {}\nqemu status {}, a64-user status {} ({})\n",
        n,
        words
            .iter()
            .map(|w| format!("{w:#010x}"))
            .collect::<Vec<_>>()
            .join(" "),
        q.status,
        a.status,
        String::from_utf8_lossy(&a.stderr).trim()
    );
    let mut shown = 0;
    for (i, (x, y)) in q.stdout.iter().zip(a.stdout.iter()).enumerate() {
        if x != y && shown < 8 {
            msg += &format!(
                "  byte {i} ({}): qemu {x:#04x} a64-user {y:#04x}\n",
                reg_name(i)
            );
            shown += 1;
        }
    }
    Err(msg)
}

#[test]
fn random_simd_sequences_match_qemu() {
    require_tool("qemu-aarch64");
    let _ = a64_user();
    let encs = parse_tables();
    let (elf, code, init) = harness();
    let count: u64 = std::env::var("A64_SIMD_RISU_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    let base: u64 = std::env::var("A64_SIMD_RISU_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir = work_dir("simd_risu");
    let threads = 2u64;
    let results: Vec<(Vec<String>, u64)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (elf, encs, dir) = (&elf, &encs, &dir);
                s.spawn(move || {
                    let path = dir.join(format!("case{t}"));
                    let (mut fails, mut completed) = (Vec::new(), 0u64);
                    let mut i = t;
                    while i < count {
                        match run_case(elf, code, init, base * 1_000_003 + i, encs, &path) {
                            Ok(true) => completed += 1,
                            Ok(false) => {}
                            Err(m) => {
                                fails.push(m);
                                if fails.len() >= 5 {
                                    break;
                                }
                            }
                        }
                        i += threads;
                    }
                    (fails, completed)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let completed: u64 = results.iter().map(|r| r.1).sum();
    let failures: Vec<String> = results.into_iter().flat_map(|r| r.0).collect();
    println!("{count} sequences, {completed} ran to the end without a signal");
    assert!(
        failures.is_empty(),
        "{} failing sequence(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        completed * 5 >= count,
        "too few sequences ran to completion ({completed} of {count}): generator steers badly"
    );
}
