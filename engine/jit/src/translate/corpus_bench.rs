//! Translation throughput over a real kernel's code (run by hand):
//! `A64_IMAGE=target/guest/Image cargo test --release -p jit corpus -- --ignored --nocapture`.

use super::codegen_tests::test_env;
use super::*;

#[test]
#[ignore = "benchmark: needs A64_IMAGE (an arm64 kernel Image) and prints timings"]
fn translate_kernel_corpus() {
    let path = std::env::var("A64_IMAGE").expect("set A64_IMAGE to an arm64 Image");
    let img = std::fs::read(path).expect("read A64_IMAGE");
    let words: Vec<u32> = img
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Block starts: the instruction after each unconditional branch or return in the
    // first 8 MiB (roughly where blocks start in a real run).
    let lim = words.len().min(2 << 20);
    let mut starts = Vec::new();
    for (i, &w) in words[..lim].iter().enumerate() {
        let uncond = w & 0xfc00_0000 == 0x1400_0000 || w & 0xffff_fc1f == 0xd65f_0000;
        if uncond && i + 1 < lim {
            starts.push(i + 1);
        }
    }
    let rt = super::codegen_tests::test_rt();
    let env = test_env(&rt, 9);
    let mut s = Scratch::default();
    let reps: usize = std::env::var("A64_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let (mut tl, mut tt, mut insns, mut bytes, mut blocks) = (0u128, 0u128, 0u64, 0u64, 0u64);
    for _ in 0..reps {
        for &st in &starts {
            let mut fetch = |va: u64| -> Result<u32, ()> {
                let i = (va / 4) as usize;
                if i >= lim || (va & 0xfff == 0 && i != st) {
                    return Err(());
                }
                Ok(words[i])
            };
            let t0 = std::time::Instant::now();
            let Ok(mut b) = a64::lower::lower_block(st as u64 * 4, 1, 64, &mut fetch) else {
                continue;
            };
            a64::opt::optimize(&mut b);
            let t1 = std::time::Instant::now();
            if translate_with(&b, &env, &mut s).is_ok() {
                bytes += s.code.len() as u64;
            }
            let t2 = std::time::Instant::now();
            tl += (t1 - t0).as_nanos();
            tt += (t2 - t1).as_nanos();
            insns += u64::from(b.ninsns);
            blocks += 1;
        }
    }
    println!(
        "{blocks} blocks, {:.1} insns/block, {:.0} bytes/block; lower+opt {:.2} us/block, translate {:.2} us/block",
        insns as f64 / blocks as f64,
        bytes as f64 / blocks as f64,
        tl as f64 / 1e3 / blocks as f64,
        tt as f64 / 1e3 / blocks as f64
    );
}
