//! Robustness: random words in the AdvSIMD / crypto / structure load-store encoding
//! spaces must lower to verifiable IR (or UNDEF) and execute without panicking.

use crate::decode::decode;
use crate::interp::{run_block, Exit};
use crate::lower::lower;
use crate::state::Cpu;
use crate::testutil::TestMem;
use crate::verify::verify;
use std::vec::Vec;

#[test]
fn random_simd_words_never_panic() {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut temps = Vec::new();
    let (mut decoded, mut undef) = (0u32, 0u32);
    for i in 0..200_000u32 {
        let r = next();
        let w = r as u32;
        // Force the AdvSIMD data-processing space (x111 at bits 28:25) for most words,
        // the structure load/store space (0x0011 0xx at bits 31..23) for the others.
        let word = match i % 4 {
            0 | 1 => (w & !0x1e00_0000) | 0x0e00_0000,
            2 => (w & !0x1f00_0000) | 0x1e00_0000,
            _ => (w & 0xbfff_ffff & !0x3e00_0000) | 0x0c00_0000,
        };
        if decode(word).enc.is_none() {
            continue;
        }
        decoded += 1;
        let blk = lower(word, 0x10000);
        verify(&blk).unwrap_or_else(|e| panic!("{word:#010x}: {e}"));
        let mut cpu = Cpu::new();
        for (k, v) in cpu.v.iter_mut().enumerate() {
            *v = (r as u128) << 64 | (r.rotate_left(k as u32) as u128);
        }
        for (k, x) in cpu.x.iter_mut().enumerate() {
            *x = 0x40000 + 64 * k as u64;
        }
        cpu.sp = 0x80000;
        let mut mem = TestMem::default();
        if let Exit::Exception { .. } = run_block(&mut cpu, &mut mem, &blk, &mut temps) {
            undef += 1;
        }
    }
    assert!(decoded > 10_000, "too few decoded words: {decoded}");
    std::println!("{decoded} decoded words executed, {undef} raised an exception");
}
