//! Lowering robustness: every encoding of every table (all groups), with random fields,
//! and random 32-bit words must lower without panicking to IR that passes the verifier,
//! both before and after the IR passes.

use crate::decode::{decode, ALL};
use crate::lower::lower;
use crate::opt::optimize;
use crate::verify::verify;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 16) as u32
    }
}

fn check(word: u32) {
    let mut b = lower(word, 0x40_0000);
    if let Err(e) = verify(&b) {
        panic!(
            "{word:#010x} ({:?}): {e}\n{b:#?}",
            decode(word).enc.map(|e| e.name())
        );
    }
    optimize(&mut b);
    if let Err(e) = verify(&b) {
        panic!(
            "{word:#010x} ({:?}) after optimize: {e}\n{b:#?}",
            decode(word).enc.map(|e| e.name())
        );
    }
}

#[test]
fn every_encoding_lowers_to_valid_ir() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    for e in ALL {
        let (m, v) = e.pattern();
        for _ in 0..300 {
            let w = (r.next() & !m) | v;
            assert!(
                decode(w).enc.is_some(),
                "{} pattern word {w:#x} does not decode",
                e.name()
            );
            check(w);
        }
    }
}

#[test]
fn random_words_lower_to_valid_ir() {
    let mut r = Rng(42);
    let n = 200_000;
    let start = std::time::Instant::now();
    let mut undef = 0;
    for _ in 0..n {
        let w = r.next();
        if decode(w).enc.is_none() {
            undef += 1;
        }
        check(w);
    }
    println!(
        "{n} random words lowered in {:?}; {undef} unallocated",
        start.elapsed()
    );
}

#[test]
fn decode_speed() {
    let mut r = Rng(7);
    let words: Vec<u32> = (0..1_000_000).map(|_| r.next()).collect();
    let start = std::time::Instant::now();
    let mut found = 0usize;
    for &w in &words {
        found += decode(w).enc.is_some() as usize;
    }
    let t = start.elapsed();
    println!(
        "decode: {:.1} ns/word over {} random words ({found} allocated)",
        t.as_nanos() as f64 / words.len() as f64,
        words.len()
    );
    assert!(found > 0);
}
