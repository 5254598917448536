//! AdvSIMD integer and crypto differential tests: C programs from tests/a64/simd/
//! (NEON integer intrinsics incl. saturation/QC, permutes, table lookups and structure
//! loads/stores; AES/SHA-1/SHA-256/CRC32/PMULL intrinsics; glibc's NEON string routines
//! and auto-vectorised loops) run under `qemu-aarch64` and under `a64-user`; stdout and
//! exit status must be identical.

mod a64_common;

use a64_common::{compile, diff_run, sources_dir, work_dir};

/// Builds tests/a64/simd/`name`.c and compares both runners; `last` must appear in the
/// output so a program that stopped early cannot pass.
fn check(name: &str, flags: &[&str], last: &str) {
    let src = sources_dir().join("simd").join(format!("{name}.c"));
    let dir = work_dir("simd");
    let exe = dir.join(format!(
        "{name}{}",
        flags.join("").replace(['-', '+', '='], "_")
    ));
    compile(&[src], &exe, flags);
    let r = diff_run(&exe, &[], b"", &dir);
    assert_eq!(r.status, 0, "{name} exited with {}", r.status);
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(
        out.contains(last),
        "{name}: `{last}` missing from its output:\n{out}"
    );
}

#[test]
fn simd_neon_integer_intrinsics() {
    check("prog_neon_int", &["-O2", "-march=armv8-a"], "done");
}

#[test]
fn simd_neon_integer_intrinsics_unoptimized() {
    // -O0: every intrinsic goes through memory, different instruction selection.
    check("prog_neon_int", &["-O0", "-march=armv8-a"], "done");
}

#[test]
fn simd_crypto_aes_sha_crc_pmull() {
    check(
        "prog_crypto",
        &["-O2", "-march=armv8-a+crypto+crc"],
        "failures 0",
    );
}

#[test]
fn simd_string_routines_and_autovectorised_loops() {
    check("prog_string", &["-O3"], "vector ");
}
