//! Code-quality checks: what a few common A64 sequences translate to.

use super::*;
use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

/// The optimised IR and the x86 code (Intel syntax, one instruction per line) of the
/// block made of `words` at guest address 0x1000, translated for a host with every
/// extension the translator uses.
pub(crate) fn show(words: &[u32]) -> (String, Vec<String>) {
    show_regs(words, 9)
}

/// [`show`] with only `max_regs` host registers for temps.
pub(crate) fn show_regs(words: &[u32], max_regs: usize) -> (String, Vec<String>) {
    show_env(words, |e| e.max_regs = max_regs)
}

/// [`show`] with the translation environment changed by `tweak`.
pub(crate) fn show_env(words: &[u32], tweak: impl FnOnce(&mut Env)) -> (String, Vec<String>) {
    let mut fetch = |va: u64| -> Result<u32, ()> {
        let i = ((va - 0x1000) / 4) as usize;
        words.get(i).copied().ok_or(())
    };
    let rt = test_rt();
    let mut env = test_env(&rt, 9);
    tweak(&mut env);
    let mut b = a64::lower::lower_block(0x1000, 0, words.len() as u32, &mut fetch).unwrap();
    a64::opt::optimize(&mut b);
    host_passes(&mut b, env.feats);
    let ir = b
        .ops
        .iter()
        .map(|o| alloc::format!("{o:?}\n"))
        .collect::<String>();
    let mut s = Scratch::default();
    translate_with(&b, &env, &mut s).unwrap();
    let mut d = Decoder::with_ip(64, &s.code, env.base, DecoderOptions::NONE);
    let mut f = IntelFormatter::new();
    let mut out = Vec::new();
    for ins in &mut d {
        let mut t = String::new();
        f.format(&ins, &mut t);
        out.push(t);
    }
    (ir, out)
}

/// Run-time function addresses for code that is only inspected or timed, never run.
pub(crate) fn test_rt() -> Rt {
    Rt {
        load: 0x1000_0000,
        store: 0x1000_0100,
        store_excl: 0x1000_0200,
        dczva: 0x1000_0300,
        sys_read: 0x1000_0400,
        sys_write: 0x1000_0500,
        helper: 0x1000_0600,
        op: 0x1000_0700,
        maint: 0x1000_0800,
    }
}

/// A translation environment for a host with every extension the translator uses.
pub(crate) fn test_env(rt: &Rt, max_regs: usize) -> Env<'_> {
    Env {
        base: 0x2000_0000,
        epilogue: 0x1fff_0000,
        lookup: 0x1fff_0100,
        rt,
        feats: Features {
            lzcnt: true,
            popcnt: true,
            aes: true,
            sha: true,
            sse41: true,
            sse42: true,
            flag_pext: true,
            bmi2: true,
            bmi1: true,
            host_fp: true,
            fma: true,
            pclmul: true,
        },
        limit_checks: false,
        event_abs: None,
        count_insns: true,
        block_id: 1,
        max_regs,
    }
}

/// The instructions of the block body: from after the entry check to the first
/// write-back of a guest register or exit.
fn body(code: &[String]) -> Vec<String> {
    let start = code
        .iter()
        .position(|l| l.starts_with("jne"))
        .map_or(0, |p| p + 1);
    code[start..]
        .iter()
        .take_while(|l| !l.starts_with("mov [rbp") && !l.starts_with("mov qword ptr [rbp"))
        .cloned()
        .collect()
}

/// Register-to-register moves in `code`.
fn reg_moves(code: &[String]) -> usize {
    code.iter()
        .filter(|l| {
            l.strip_prefix("mov ")
                .and_then(|x| x.split_once(','))
                .is_some_and(|(d, s)| !d.contains('[') && !s.contains('[') && !s.ends_with('h'))
        })
        .count()
}

#[test]
fn w_register_chain_needs_no_copies() {
    // EOR w0, w2, w0 ; ADD w0, w2, w0 (twice): two loads, four ALU ops, nothing else.
    let (ir, code) = show(&[0x4a00_0040, 0x0b00_0040, 0x4a00_0040, 0x0b00_0040]);
    let b = body(&code);
    assert_eq!(b.len(), 6, "{ir}\n{b:#?}");
    assert_eq!(reg_moves(&b), 0, "{b:#?}");
}

#[test]
fn bitfield_aliases_are_single_instructions() {
    // SXTW x2, w0: load + MOVSXD.
    let (ir, code) = show(&[0x9340_7c02]);
    let b = body(&code);
    assert_eq!(b.len(), 2, "{ir}\n{b:#?}");
    assert!(b[1].starts_with("movsxd"), "{b:#?}");
    // LSL x1, x2, #3: load + SHL.
    let (ir, code) = show(&[0xd37d_f041]);
    let b = body(&code);
    assert_eq!(b.len(), 2, "{ir}\n{b:#?}");
    assert!(b[1].starts_with("shl"), "{b:#?}");
    // UBFX x1, x2, #4, #8: load + SHR + AND.
    let (ir, code) = show(&[0xd344_2c41]);
    assert_eq!(body(&code).len(), 3, "{ir}\n{code:#?}");
}

#[test]
fn register_moves_are_free() {
    // MOV w4, w1 (ORR w4, wzr, w1): a 32-bit load and the store of X4.
    let (ir, code) = show(&[0x2a01_03e4]);
    let b = body(&code);
    assert_eq!(b.len(), 1, "{ir}\n{code:#?}");
}

#[test]
fn conditional_branches_in_mid_block_jump_on_host_flags() {
    // CMP w8, w1; B.CS +0x124; SUBS w6, w6, #1; B.EQ +0x11c; SXTW x2, w0
    // (gzip's longest_match). The branches become side exits that jump on the flags of
    // the CMP/SUBS; NZCV is stored only on the way out, never on the straight path.
    let (ir, code) = show(&[
        0x6b01_011f,
        0x5400_0922,
        0x7100_04c6,
        0x5400_08e0,
        0x9340_7c02,
    ]);
    let start = code.iter().position(|l| l.starts_with("jne")).unwrap() + 1;
    // Up to the SXTW (the block end stores the NZCV of the SUBS).
    let main: Vec<&String> = code[start..]
        .iter()
        .take_while(|l| !l.starts_with("movsxd"))
        .collect();
    let jumps = main.iter().filter(|l| l.starts_with('j')).count();
    assert_eq!(jumps, 2, "{ir}\n{main:#?}");
    for l in &main {
        assert!(
            !l.starts_with("lahf") && !l.starts_with("set") && !l.starts_with("test"),
            "{ir}\n{main:#?}"
        );
    }
    assert!(
        code.iter()
            .any(|l| l.starts_with("lahf") || l.starts_with("seto")),
        "{code:#?}"
    );
}

#[test]
fn aese_aesmc_pairs_are_one_aesenc() {
    // AESE v0.16b, v1.16b; AESMC v0.16b, v0.16b
    let (ir, code) = show(&[0x4e28_4820, 0x4e28_6800]);
    let aes: Vec<&String> = code.iter().filter(|l| l.starts_with("aes")).collect();
    assert_eq!(aes.len(), 1, "{ir}\n{code:#?}");
    assert!(aes[0].starts_with("aesenc "), "{code:#?}");
    // The intermediate AESE result is not written to V0.
    let v0_writes = code.iter().filter(|l| l.contains("[rbp+120h],xmm")).count();
    assert_eq!(v0_writes, 1, "{code:#?}");
}

#[test]
fn vector_constants_are_built_in_registers() {
    // MOVI v0.4s, #0; STP q0, q0, [x3] (busybox's strspn table clear). Two 8-byte
    // stores read back by one 16-byte load stall store forwarding: no memory round trip.
    let (ir, code) = show(&[0x4f00_0400, 0xad00_0060]);
    let start = code.iter().position(|l| l.starts_with("jne")).unwrap() + 1;
    let main: Vec<&String> = code[start..]
        .iter()
        .take_while(|l| !l.starts_with("jmp"))
        .collect();
    assert!(!main.iter().any(|l| l.contains("[r12+")), "{ir}\n{main:#?}");
    assert!(main.iter().any(|l| l.starts_with("pxor")), "{main:#?}");
}

#[test]
fn rbit_clz_is_one_tzcnt() {
    // RBIT x1, x0; CLZ x1, x1 (count trailing zeros, as in strlen/memchr).
    let (ir, code) = show(&[0xdac0_0001, 0xdac0_1021]);
    let b = body(&code);
    assert_eq!(b.len(), 2, "{ir}\n{b:#?}");
    assert!(b[1].starts_with("tzcnt"), "{b:#?}");
}

#[test]
fn ccmp_then_branch_uses_the_host_flags() {
    // CMP x1, x7; CCMP x9, x6, #0, HI; B.NE +0x40; ADD x0, x0, #1: the branch condition
    // comes from SETcc on each comparison, NZCV is only written at the block end.
    let (ir, code) = show(&[0xeb07_003f, 0xfa46_8120, 0x5400_0201, 0x9100_0400]);
    let start = code.iter().position(|l| l.starts_with("jne")).unwrap() + 1;
    let main: Vec<&String> = code[start..]
        .iter()
        .take_while(|l| !l.starts_with("jne"))
        .collect();
    assert!(main.len() <= 16, "{ir}\n{main:#?}");
    assert!(
        !main
            .iter()
            .any(|l| l.starts_with("lahf") || l.contains("0C101h")),
        "{main:#?}"
    );
}

#[test]
fn pairs_probe_the_tlb_once() {
    // STP x29, x30, [sp, #-16]! ; LDP x0, x1, [x2]: one probe per pair, and each pair
    // is two plain moves through the host address the probe found.
    let (ir, code) = show(&[0xa9bf_7bfd, 0xa940_0440]);
    let probes = code
        .iter()
        .filter(|l| l.starts_with("cmp") && l.contains("[r13+"));
    assert_eq!(probes.count(), 2, "{ir}\n{code:#?}");
    let through = code.iter().filter(|l| l.contains("[rcx+"));
    assert_eq!(through.count(), 4, "{ir}\n{code:#?}");
}

#[test]
fn vector_temps_live_in_xmm_registers() {
    // AESE v0, v1; AESMC v0, v0; AESE v0, v2; AESMC v0, v0; EOR v0.16b, v0.16b, v3.16b;
    // STR q0, [x0]; LDR q4, [x0, #16]; EOR v0.16b, v0.16b, v4.16b: the values go from
    // register to register (the only memory traffic is the guest's own: V registers
    // in the CPU block and the two accesses), never through the temps' slots.
    let words = [
        0x4e28_4820,
        0x4e28_6800,
        0x4e28_4840,
        0x4e28_6800,
        0x6e23_1c00,
        0x3d80_0000,
        0x3dc0_0404,
        0x6e24_1c00,
    ];
    let (ir, code) = show(&words);
    let start = code.iter().position(|l| l.starts_with("jne")).unwrap() + 1;
    let main: Vec<&String> = code[start..]
        .iter()
        .take_while(|l| !l.starts_with("jmp"))
        .collect();
    assert!(
        !main
            .iter()
            .any(|l| l.contains("[r12+") && l.contains("xmm")),
        "{ir}\n{main:#?}"
    );
    assert_eq!(
        main.iter().filter(|l| l.starts_with("aesenc")).count(),
        2,
        "{main:#?}"
    );
    // The load's miss path calls the run-time function, which may clobber every XMM
    // register: V0's value (live across it) is saved to its slot and reloaded.
    let held = main
        .iter()
        .find_map(|l| l.strip_prefix("movdqu [rcx+rsi],"))
        .expect("the STR of v0");
    let saves = code
        .iter()
        .filter(|l| l.starts_with("movdqu [r12+") && l.ends_with(held))
        .count();
    let reloads = code
        .iter()
        .filter(|l| l.starts_with(&format!("movdqu {held},[r12+")))
        .count();
    assert!(saves >= 1 && reloads >= 1, "{code:#?}");
    // With one register for temps, the same block uses the slots (the other path).
    let (_, code1) = show_regs(&words, 1);
    assert!(code1
        .iter()
        .any(|l| l.contains("[r12+") && l.contains("xmm")));
}

#[test]
fn sha256h_and_h2_of_the_same_rounds_are_computed_once() {
    // ADD v4.4s, v4.4s, v16.4s; MOV v2, v0 (ORR); SHA256H q0, q1, v4.4s;
    // SHA256H2 q1, q2, v4.4s (OpenSSL's loop): one pair of SHA256RNDS2, not two.
    let (ir, code) = show(&[0x4eb0_8484, 0x4ea0_1c02, 0x5e04_4020, 0x5e04_5041]);
    let rounds = code.iter().filter(|l| l.starts_with("sha256rnds2")).count();
    assert_eq!(rounds, 2, "{ir}\n{code:#?}");
    // Without the copy the H2 reads another state: both are computed.
    let (ir, code) = show(&[0x5e04_4020, 0x5e04_5041]);
    let rounds = code.iter().filter(|l| l.starts_with("sha256rnds2")).count();
    assert_eq!(rounds, 4, "{ir}\n{code:#?}");
}

#[test]
fn block_entries_count_instructions_only_when_asked() {
    // CBZ x0 (a side exit), ADD, then the end of the block.
    let words = [0xb400_0040, 0x9100_0421, 0x9100_0421];
    let counts = |code: &[String]| code.iter().filter(|l| l.contains("ptr [r12],")).count();
    let (_, on) = show(&words);
    // The entry adds, the stop path and the side exit take back.
    assert_eq!(counts(&on), 3, "{on:#?}");
    let (_, off) = show_env(&words, |e| e.count_insns = false);
    assert_eq!(counts(&off), 0, "{off:#?}");
    assert!(
        off[0].starts_with("mov rcx,[r12+"),
        "the event byte first: {off:#?}"
    );
}

#[test]
fn a_chain_of_vector_ops_keeps_its_registers_when_long_lived_values_take_them_all() {
    // Seven V values read first and again at the end hold every XMM register for temps
    // through an AESE/AESMC chain in between: a long-lived one moves to its slot, and each
    // round's result stays in a register (no store to a slot right after the AESENC).
    let eor = |d: u32, n: u32, m: u32| 0x6e20_1c00 | m << 16 | n << 5 | d;
    let aese = |d: u32, n: u32| 0x4e28_4800 | n << 5 | d;
    let aesmc = |d: u32| 0x4e28_6800 | d << 5 | d;
    let words = [
        eor(15, 1, 2),
        eor(16, 3, 4),
        eor(17, 5, 6),
        eor(18, 7, 1),
        aese(0, 8),
        aesmc(0),
        aese(0, 9),
        aesmc(0),
        aese(0, 10),
        aesmc(0),
        eor(11, 1, 2),
        eor(12, 3, 4),
        eor(13, 5, 6),
        eor(14, 7, 0),
    ];
    let (ir, code) = show(&words);
    let rounds: Vec<usize> = (0..code.len())
        .filter(|&k| code[k].starts_with("aesenc"))
        .collect();
    // Three rounds, and the last EOR with V0 = ROUND(x) ^ V7 is a fourth AESENC.
    assert_eq!(rounds.len(), 4, "{code:#?}");
    for k in rounds {
        let to_reg = |l: &String| l.starts_with("movdqa xmm") && l.ends_with(",xmm0");
        assert!(code[k + 1..k + 3].iter().any(to_reg), "{ir}\n{code:#?}");
    }
    assert!(
        !code
            .iter()
            .any(|l| l.starts_with("movdqu [r12+") && l.ends_with(",xmm0")),
        "{code:#?}"
    );
}

#[test]
fn aes_rounds_add_the_next_key_in_their_aesenc() {
    // AESE v0, v1; AESMC v0, v0; AESE v0, v2; AESMC v0, v0; AESE v0, v3;
    // EOR v0.16b, v0.16b, v4.16b (an AES-128 tail): after the first key, each key is the
    // AESENC's own operand, so no key XOR sits between the rounds.
    let (ir, code) = show(&[
        0x4e28_4820,
        0x4e28_6800,
        0x4e28_4840,
        0x4e28_6800,
        0x4e28_4860,
        0x6e24_1c00,
    ]);
    let at = |p: &str| code.iter().position(|l| l.starts_with(p));
    let (Some(first), Some(last)) = (at("aesenc "), at("aesenclast")) else {
        panic!("{ir}\n{code:#?}");
    };
    assert_eq!(
        code.iter().filter(|l| l.starts_with("aesenc ")).count(),
        2,
        "{ir}\n{code:#?}"
    );
    let key_xor = |l: &&String| {
        l.strip_prefix("pxor ")
            .and_then(|ops| ops.split_once(','))
            .is_some_and(|(a, b)| a != b)
    };
    assert!(
        !code[first..last].iter().any(|l| key_xor(&l)),
        "{ir}\n{code:#?}"
    );
}

#[test]
fn conditional_selects_use_the_host_flags() {
    // cmp x6, x0; cinc x4, x4, cc (multi-word arithmetic's carry): the increment is a
    // LEA, which leaves the flags alone, and the select a CMOV on them (no SETcc, no
    // TEST of a materialised condition).
    let (ir, code) = show(&[0xeb00_00df, 0x9a84_2484]);
    let Some(cmov) = code.iter().position(|l| l.starts_with("cmov")) else {
        panic!("{ir}\n{code:#?}");
    };
    // (The NZCV write at the block end, after the CMOV, uses SETO.)
    assert!(
        !code[..cmov]
            .iter()
            .any(|l| l.starts_with("set") || l.starts_with("test")),
        "{ir}\n{code:#?}"
    );
    assert!(
        code[..cmov].iter().any(|l| l.starts_with("lea")),
        "{code:#?}"
    );
}

#[test]
fn nzcv_at_a_branch_comes_from_the_flags_the_branch_used() {
    // cmp x0, x1; b.ne #8: the block's two exits store NZCV from the host flags the
    // JNE used; the compare is not recomputed on either path.
    let (ir, code) = show(&[0xeb01_001f, 0x5400_0041]);
    let cmps = code.iter().filter(|l| l.starts_with("cmp ")).count();
    // One for the compare (the block entry's event-byte test is `cmp byte ptr`).
    let entry = code.iter().filter(|l| l.starts_with("cmp byte")).count();
    assert_eq!(cmps - entry, 1, "{ir}\n{code:#?}");
    assert_eq!(
        code.iter().filter(|l| l.starts_with("lahf")).count(),
        2,
        "{code:#?}"
    );
}

#[test]
fn accesses_off_one_base_share_a_tlb_probe() {
    // STP x29, x30, [sp, #-48]! ; MOV x29, sp ; STP x19, x20, [sp, #16] ;
    // STR x21, [sp, #32] ; LDR x0, [x1] ; LDR x2, [x1, #8] ; LDRB w3, [x1, #16] ;
    // ADD x4, x0, x2: one write probe covers the three stores off SP and one read probe
    // the three loads off x1; the later accesses take the addend from their probe slot.
    let (ir, code) = show(&[
        0xa9bd_7bfd,
        0x9100_03fd,
        0xa901_53f3,
        0xf900_13f5,
        0xf940_0020,
        0xf940_0422,
        0x3940_4023,
        0x8b02_0004,
    ]);
    let hot = code
        .iter()
        .take_while(|l| !l.starts_with("jmp"))
        .collect::<Vec<_>>();
    let probes = hot
        .iter()
        .filter(|l| l.starts_with("cmp") && l.contains("[r13+"));
    assert_eq!(probes.count(), 2, "{ir}\n{code:#?}");
    let slot = |l: &&&String| l.as_str() == "test rcx,rcx";
    assert_eq!(hot.iter().filter(slot).count(), 4, "{ir}\n{code:#?}");
    // Each grouped access can still probe for itself out of line.
    let all = code
        .iter()
        .filter(|l| l.starts_with("cmp") && l.contains("[r13+"));
    assert_eq!(all.count(), 2 + 6, "{ir}\n{code:#?}");
}

#[test]
fn block_entries_test_a_fixed_event_byte_directly() {
    // NOP: with the event byte at a fixed address in the top 2 GiB, the entry is one
    // compare of that byte (no load of the context's pointer to it).
    let (_, code) = show_env(&[0xd503_201f], |e| {
        e.count_insns = false;
        e.event_abs = Some(-0x7fef_0000);
    });
    assert_eq!(code[0], "cmp byte ptr [0FFFFFFFF80110000h],0", "{code:#?}");
    assert!(code[1].starts_with("jne"), "{code:#?}");
    let (_, code) = show_env(&[0xd503_201f], |e| e.count_insns = false);
    assert!(code[0].starts_with("mov rcx,[r12+"), "{code:#?}");
    assert_eq!(code[1], "cmp byte ptr [rcx],0", "{code:#?}");
}

#[test]
fn accesses_off_pc_relative_addresses_share_a_tlb_probe() {
    // ADRP x0, . ; LDR x1, [x0, #8] ; ADRP x2, . ; LDR x3, [x2, #16] ; LDR w4, lit ;
    // ADD x5, x1, x3 ; B .+0x100: the three addresses are the block's PC plus
    // constants, so the loads share one probe.
    let (ir, code) = show(&[
        0x9000_0000,
        0xf940_0401,
        0x9000_0002,
        0xf940_0843,
        0x1800_0064,
        0x8b03_0025,
        0x1400_0040,
        0x0000_0005,
    ]);
    let hot = code.iter().take_while(|l| !l.starts_with("jmp"));
    let probes = hot.filter(|l| l.starts_with("cmp") && l.contains("[r13+"));
    assert_eq!(probes.count(), 1, "{ir}\n{code:#?}");
}

#[test]
fn advsimd_integer_and_checksums_call_no_helper() {
    // USHR v0.4s, v1.4s, #3; MUL v0.4s, v0.4s, v2.4s; SQADD v3.8h, v0.8h, v4.8h;
    // CRC32CX w0, w0, x1; PMULL2 v5.1q, v6.2d, v7.2d; LD3 {v16.16b-v18.16b}, [x2]
    let words = [
        0x6f3d_0420,
        0x4ea2_9c00,
        0x4e64_0c03,
        0x9ac1_5c00,
        0x4ee7_e0c5,
        0x4c40_4050,
    ];
    let (ir, code) = show(&words);
    let helper = alloc::format!("{:X}h", test_rt().helper);
    assert!(!code.iter().any(|l| l.contains(&helper)), "{ir}\n{code:#?}");
    for want in [
        "psrld",
        "pmulld",
        "paddsw",
        "crc32 ",
        "pclmulhqhqdq",
        "pshufb",
    ] {
        assert!(
            code.iter().any(|l| l.starts_with(want)),
            "{want}: {code:#?}"
        );
    }
}

#[test]
fn helper_calls_are_visible_to_the_check_above() {
    // URECPE v0.4s, v1.4s still calls its helper.
    let (ir, code) = show(&[0x4ea1_c820]);
    let helper = alloc::format!("{:X}h", test_rt().helper);
    assert!(code.iter().any(|l| l.contains(&helper)), "{ir}\n{code:#?}");
}
