//! RISU-style differential test: random integer / load-store / direct-branch instruction
//! sequences, generated from the a64 decoder tables
//! (engine/a64/tables/{dp_imm,dp_reg,ldst,branch}.tbl; branches skip one instruction),
//! run under qemu-aarch64 and a64-user inside tests/a64/risu_harness.S; all general
//! registers, NZCV, FPSR, V registers and the 16 KiB scratch memory must match.
//!
//! Bounded run: `cargo test -p hv-tests --release --test a64_risu` (300 sequences).
//! Longer run:  `A64_RISU_COUNT=100000 A64_RISU_SEED=7 cargo test -p hv-tests --release --test a64_risu`.

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
    for f in ["dp_imm.tbl", "dp_reg.tbl", "ldst.tbl", "branch.tbl"] {
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
            if parts[0] == "BR" {
                continue; // register-indirect branches: targets would be random
            }
            out.push(Enc {
                name: parts[0].to_string(),
                mask,
                value,
                fields,
            });
        }
    }
    assert!(out.len() >= 20, "tables look empty");
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
    fn interesting(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => 0x8000_0000,
            3 => 0x7fff_ffff,
            4 => 0x8000_0000_0000_0000,
            5 => self.below(256),
            _ => self.next(),
        }
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

fn pick_reg(r: &mut Rng, avoid: &[u32]) -> u32 {
    loop {
        let x = r.below(32) as u32;
        if !avoid.contains(&x) {
            return x;
        }
    }
}

/// One random instruction obeying the harness constraints (see tests/a64/risu_harness.S):
/// X27 = small index register, X28 = SP = scratch base; neither is ever a destination,
/// only X28 is written back; no store-exclusives; unpredictable register overlaps avoided.
fn gen_insn(r: &mut Rng, encs: &[Enc]) -> u32 {
    loop {
        let e = &encs[r.below(encs.len() as u64) as usize];
        let mut w = (r.next() as u32 & !e.mask) | e.value;
        // Direct branches skip exactly the next instruction (offset +8): both paths stay
        // inside the test code, the condition evaluation is compared.
        match e.name.as_str() {
            "B_imm" => {
                set(&mut w, e, "imm26", 2);
                return w;
            }
            "B_cond" => {
                set(&mut w, e, "imm19", 2);
                return w;
            }
            "CBZ" => {
                set(&mut w, e, "imm19", 2);
                return w;
            }
            "TBZ" => {
                set(&mut w, e, "imm14", 2);
                return w;
            }
            _ => {}
        }
        let is_ldst = e.name.starts_with("LD") || e.name.starts_with("LDR");
        if !is_ldst {
            let rd = pick_reg(r, &[27, 28, 31]);
            set(&mut w, e, "rd", rd);
            avoid_reserved(&mut w, e);
            return w;
        }
        let wback = match e.name.as_str() {
            "LDST_imm9" => matches!(get(w, e, "mode"), Some(1) | Some(3)),
            "LDST_pair" => matches!(get(w, e, "mode"), Some(1) | Some(3)),
            _ => false,
        };
        match e.name.as_str() {
            "LDST_excl" | "LDST_exclp" => {
                if get(w, e, "L") == Some(0) {
                    continue; // store-exclusives: outcome depends on the monitor model
                }
                set(&mut w, e, "rn", 31);
            }
            "LDST_ordered" => set(&mut w, e, "rn", 31),
            "LDR_lit" => {
                let off = (r.below(128) as i32 - 64) as u32;
                set(&mut w, e, "imm19", off & 0x7ffff);
            }
            _ => {
                let rn = if wback || r.below(2) == 0 { 28 } else { 31 };
                set(&mut w, e, "rn", rn);
            }
        }
        set(&mut w, e, "rm", 27);
        if e.name == "LDST_roff" {
            let o = get(w, e, "option").unwrap_or(3);
            set(&mut w, e, "option", o | 2);
        }
        if wback {
            if e.name == "LDST_imm9" {
                set(&mut w, e, "imm9", (r.below(129) as i32 - 64) as u32 & 0x1ff);
            } else {
                set(&mut w, e, "imm7", (r.below(9) as i32 - 4) as u32 & 0x7f);
            }
        }
        if e.name == "LDST_uimm" {
            let scale = get(w, e, "size").unwrap_or(0)
                + if get(w, e, "V") == Some(1) && get(w, e, "opc").unwrap_or(0) >= 2 {
                    4
                } else {
                    0
                };
            let lim = (4096u64 >> scale.min(4)).max(1);
            set(&mut w, e, "imm12", r.below(lim) as u32);
        }
        let rt = pick_reg(r, &[27, 28]);
        set(&mut w, e, "rt", rt);
        let rt2 = pick_reg(r, &[27, 28, rt]);
        set(&mut w, e, "rt2", rt2);
        set(&mut w, e, "rs", 31);
        return w;
    }
}

/// Steers random fields away from reserved (UNDEF) combinations so that sequences run
/// to the end more often (the Arm ARM's "unallocated" rules for these groups).
fn avoid_reserved(w: &mut u32, e: &Enc) {
    let sf = get(*w, e, "sf").unwrap_or(1);
    if sf == 0 {
        for f in ["imm6", "imms", "immr"] {
            if let Some(v) = get(*w, e, f) {
                set(w, e, f, v & 31);
            }
        }
    }
    match e.name.as_str() {
        "BITFIELD" | "EXTR" => set(w, e, "N", sf),
        "LOGIC_imm" if sf == 0 => set(w, e, "N", 0),
        "ADDSUB_sreg" if get(*w, e, "shift") == Some(3) => set(w, e, "shift", 0),
        "ADDSUB_ereg" => {
            set(w, e, "opt", 0);
            if get(*w, e, "imm3").unwrap_or(0) > 4 {
                set(w, e, "imm3", 2);
            }
        }
        "MOVW" => {
            if get(*w, e, "opc") == Some(1) {
                set(w, e, "opc", 2);
            }
            if sf == 0 {
                set(w, e, "hw", get(*w, e, "hw").unwrap_or(0) & 1);
            }
        }
        _ => {}
    }
    if e.name == "BITFIELD" && get(*w, e, "opc") == Some(3) {
        set(w, e, "opc", 2);
    }
    if e.name == "REVBITS" && sf == 0 && get(*w, e, "opc") == Some(3) {
        set(w, e, "opc", 2);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const NOP: [u8; 4] = 0xd503201fu32.to_le_bytes();
const STATE_BYTES: usize = 776;

fn harness() -> (Vec<u8>, usize, usize) {
    let dir = work_dir("risu");
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
) -> Result<(), String> {
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    for _ in 0..4 {
        r.next();
    }
    let mut img = elf.to_vec();
    let n = 1 + r.below(20) as usize;
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
        // qemu-aarch64 reports a guest signal as exit status 1 for non-executable files.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let q = run_with(Path::new("qemu-aarch64"), path, &[], b"", dir);
    let a = run_with(&a64_user(), path, &[], b"", dir);
    if q.stdout == a.stdout && q.status == a.status && a.status != TIMED_OUT {
        return Ok(());
    }
    let mut msg = format!(
        "seed {seed}: mismatch for {} instruction(s): {}\nqemu status {}, a64-user status {} ({})\n",
        n,
        words.iter().map(|w| format!("{w:#010x}")).collect::<Vec<_>>().join(" "),
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
fn random_sequences_match_qemu() {
    require_tool("qemu-aarch64");
    let _ = a64_user();
    let encs = parse_tables();
    let (elf, code, init) = harness();
    let count: u64 = std::env::var("A64_RISU_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let base: u64 = std::env::var("A64_RISU_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let dir = work_dir("risu");
    let threads = 2u64;
    let failures: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (elf, encs, dir) = (&elf, &encs, &dir);
                s.spawn(move || {
                    let path = dir.join(format!("case{t}"));
                    let mut fails = Vec::new();
                    let mut i = t;
                    while i < count {
                        if let Err(m) = run_case(elf, code, init, base * 1_000_003 + i, encs, &path)
                        {
                            fails.push(m);
                            if fails.len() >= 5 {
                                break;
                            }
                        }
                        i += threads;
                    }
                    fails
                })
            })
            .collect();
        hs.into_iter()
            .flat_map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failing sequence(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
