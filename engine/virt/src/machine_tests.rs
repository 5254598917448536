//! Unit tests of the machine: exception entry and return, ESR values, system register
//! access rules, block cache invalidation. Programs run from RAM with the MMU off.

use super::*;

/// A host whose counter advances on every read; console output is collected.
struct TestHost {
    t: u64,
    out: Vec<u8>,
}

impl BoardHost for TestHost {
    fn counter(&mut self) -> u64 {
        self.t += 100;
        self.t
    }
    fn wall_clock_secs(&mut self) -> u64 {
        1_700_000_000
    }
    fn console_write(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
    fn console_read(&mut self, _buf: &mut [u8]) -> usize {
        0
    }
    fn set_timer(&mut self, _deadline: Option<u64>) {}
    fn poll_event(&mut self) -> bool {
        false
    }
    fn wait_for_event(&mut self) {
        self.t += 1_000_000;
    }
}

const RAM: usize = 1 << 20;
const B: u64 = RAM_BASE;

/// Boot code at RAM_BASE: VBAR_EL1 = B + 0x1000, SPSR_EL1 = `spsr`, ELR_EL1 = B + 0x2000,
/// SP_EL0 = B + 0x80000, x9 = 0x1234, ERET. Vectors at +0x200 (current EL, SPx) and
/// +0x400 (lower EL): x1 = ESR, x2 = ELR, x3 = SPSR, x4 = FAR, x5 = vector offset
/// (0x400 also: x6 = SP_EL0, x7 = SP), then PSCI SYSTEM_OFF via HVC #0.
fn image(spsr: u32, payload: &[u32]) -> Vec<u8> {
    let mut w = vec![0u32; 0x3000 / 4];
    let boot = [
        0x58000140,                        // ldr x0, =B+0x1000
        0xd518c000,                        // msr vbar_el1, x0
        0xd2800000 | (spsr & 0xffff) << 5, // mov x0, #spsr
        0xd5184000,                        // msr spsr_el1, x0
        0x58000100,                        // ldr x0, =B+0x2000
        0xd5184020,                        // msr elr_el1, x0
        0x58000100,                        // ldr x0, =B+0x80000
        0xd5184100,                        // msr sp_el0, x0
        0xd2824689,                        // mov x9, #0x1234
        0xd69f03e0,                        // eret
        0x40001000,
        0,
        0x40002000,
        0,
        0x40080000,
        0,
    ];
    w[..boot.len()].copy_from_slice(&boot);
    let cur = [
        0xd5385201, 0xd5384022, 0xd5384003, 0xd5386004, 0xd2804005, 0x14000082,
    ];
    w[0x1200 / 4..0x1200 / 4 + cur.len()].copy_from_slice(&cur);
    let lower = [
        0xd5385201, 0xd5384022, 0xd5384003, 0xd5386004, 0xd2808005, 0xd5384106, 0x910003e7,
        0x58000060, // ldr x0, =0x84000008 (SYSTEM_OFF)
        0xd4000002, // hvc #0
        0, 0x84000008, 0,
    ];
    w[0x1400 / 4..0x1400 / 4 + lower.len()].copy_from_slice(&lower);
    w[0x2000 / 4..0x2000 / 4 + payload.len()].copy_from_slice(payload);
    w.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Runs `payload` at B + 0x2000 entered with ERET from `spsr`, on the interpreter and
/// on the translator; both must end in the same CPU state. Returns the interpreter's.
fn run(spsr: u32, payload: &[u32]) -> (Cpu, Stats) {
    run_with(spsr, payload, |_| {})
}

/// [`run`] with RAM changed by `init` after the image is placed.
fn run_with(spsr: u32, payload: &[u32], init: impl Fn(&mut [u8])) -> (Cpu, Stats) {
    let (c, s) = run_on_with(spsr, payload, false, &init);
    let (cj, sj) = run_on_with(spsr, payload, true, &init);
    assert_eq!(c, cj, "the interpreter and the translator differ");
    assert!(sj.jit.is_some_and(|j| j.translated > 0));
    (c, s)
}

/// An RWX mapping for translated code (never unmapped: tests are short-lived).
fn code_region() -> jit::CodeRegion {
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
    // SAFETY: the mapping is RWX, ours, LEN bytes, and never unmapped.
    unsafe { jit::CodeRegion::new(p as *mut u8, LEN) }
}

fn run_on(spsr: u32, payload: &[u32], translate: bool) -> (Cpu, Stats) {
    run_on_with(spsr, payload, translate, &|_| {})
}

fn run_on_with(
    spsr: u32,
    payload: &[u32],
    translate: bool,
    init: &dyn Fn(&mut [u8]),
) -> (Cpu, Stats) {
    let mut ram = vec![0u8; RAM];
    let img = image(spsr, payload);
    ram[..img.len()].copy_from_slice(&img);
    init(&mut ram);
    let cfg = MachineConfig {
        counter_hz: 62_500_000,
        ram_size: RAM as u64,
    };
    let mut m = Machine::new(cfg, &mut ram);
    if translate {
        m.enable_jit(code_region(), jit::Features::probe(), true);
        m.set_hot_after(1);
    }
    m.start_at(B);
    let mut h = TestHost {
        t: 0,
        out: Vec::new(),
    };
    let r = m.run(&mut h);
    assert_eq!(r, RunExit::PowerOff);
    (m.cpu().clone(), m.stats())
}

#[test]
fn svc_from_el0_enters_lower_el_vector_with_banked_sp() {
    let (c, st) = run(0, &[0x910003ea, 0xd4000841]); // mov x10, sp; svc #0x42
    assert_eq!(c.x[5], 0x400);
    assert_eq!(c.x[1], 0x5600_0042, "ESR");
    assert_eq!(c.x[2], B + 0x2008, "ELR is after the SVC");
    assert_eq!(c.x[3], 0, "SPSR: EL0t, flags and DAIF clear");
    assert_eq!(c.x[10], 0x4008_0000, "EL0 runs on SP_EL0");
    assert_eq!(c.x[6], 0x4008_0000, "SP_EL0 readable at EL1");
    assert_eq!(c.x[7], 0, "EL1 runs on SP_EL1");
    assert_eq!(c.x[9], 0x1234);
    assert_eq!(st.exc.svc, 1);
    assert_eq!(st.exc.eret, 1);
}

#[test]
fn undef_at_el0_and_el1() {
    let (c, st) = run(0, &[0]); // udf #0 at EL0
    assert_eq!((c.x[5], c.x[1], c.x[2]), (0x400, 0x0200_0000, B + 0x2000));
    assert_eq!(st.undefs, vec![(B + 0x2000, 0)]);
    let (c, _) = run(5, &[0]); // at EL1h: current EL with SPx
    assert_eq!(
        (c.x[5], c.x[1], c.x[2], c.x[3]),
        (0x200, 0x0200_0000, B + 0x2000, 5)
    );
}

#[test]
fn privileged_register_at_el0_is_undef() {
    let (c, _) = run(0, &[0xd5381000]); // mrs x0, sctlr_el1
    assert_eq!((c.x[5], c.x[1]), (0x400, 0x0200_0000));
    // SMC is UNDEFINED (no EL3) even at EL1.
    let (c, _) = run(5, &[0xd4000003]); // smc #0
    assert_eq!((c.x[5], c.x[1]), (0x200, 0x0200_0000));
}

#[test]
fn external_abort_on_unmapped_physical_address() {
    // mov x0, #0x10000000; ldr x1, [x0]
    let (c, _) = run(0, &[0xd2a20000, 0xf9400001]);
    assert_eq!(c.x[1], 0x9200_0010, "EC 0x24, IL, DFSC external abort");
    assert_eq!(c.x[4], 0x1000_0000, "FAR");
    assert_eq!(c.x[2], B + 0x2004, "ELR at the load");
    // A store sets WnR; from EL1 the EC is 0x25.
    let (c, _) = run(5, &[0xd2a20000, 0xf9000000]);
    assert_eq!(c.x[1], 0x9600_0050);
}

#[test]
fn flags_owed_at_a_fault_are_in_spsr() {
    // The translator defers NZCV writes; a fault must still see them in SPSR.
    // mov x0, #0x10000000; cmp x9, x9 (Z, C); b.ne +8 (side exit, not taken);
    // ldr x1, [x0] (external abort)
    let (c, _) = run(0, &[0xd2a20000, 0xeb09013f, 0x54000041, 0xf9400001]);
    assert_eq!(c.x[1], 0x9200_0010, "EC 0x24, IL, DFSC external abort");
    assert_eq!(c.x[3], 0x6000_0000, "SPSR: Z and C from the CMP, EL0t");
    // mov x10, #0; subs x10, x10, #1 (N, borrow); ldr x1, [x0]
    let (c, _) = run(5, &[0xd2a20000, 0xd280000a, 0xf100054a, 0xf9400001]);
    assert_eq!(c.x[3], 0x8000_0005, "SPSR: N from the SUBS, EL1h");
    // CCMP's NZCV is owed too, both ways: mov x10, #0; cmp x10, #0 (Z); ccmp x9, x9, #8,
    // ne (condition false: N from the immediate); ldr x1, [x0]
    let (c, _) = run(
        0,
        &[0xd2a20000, 0xd280000a, 0xf100015f, 0xfa491128, 0xf9400001],
    );
    assert_eq!(c.x[3], 0x8000_0000, "SPSR: N from CCMP's immediate");
    // cmp x10, #1 (N, so ne holds); ccmp x9, x9, #8, ne (Z, C from x9 - x9)
    let (c, _) = run(
        0,
        &[0xd2a20000, 0xd280000a, 0xf100055f, 0xfa491128, 0xf9400001],
    );
    assert_eq!(c.x[3], 0x6000_0000, "SPSR: Z and C from CCMP's comparison");
}

#[test]
fn brk_reports_its_immediate_and_stays_at_the_instruction() {
    let (c, _) = run(0, &[0xd503201f, 0xd42000a0]); // nop; brk #5
    assert_eq!((c.x[1], c.x[2]), (0xf200_0005, B + 0x2004));
}

#[test]
fn eret_restores_flags_and_masks() {
    // SPSR = DAIF all set, EL0t: EL0 runs masked and the SVC saves exactly that back.
    let (c, _) = run(0x03c0, &[0xd53b420b, 0xd4000001]); // mrs x11, nzcv; svc #0
    assert_eq!(c.x[3], 0x3c0);
    assert_eq!(c.x[11], 0);
}

#[test]
fn pan_is_set_by_msr_immediate_and_saved_in_spsr() {
    // msr pan, #1; mrs x15, pan; svc #0 (at EL1h)
    let (c, _) = run(5, &[0xd500419f, 0xd538426f, 0xd4000001]);
    assert_eq!(c.x[15], 1 << 22);
    assert_eq!(c.x[3], (1 << 22) | 5, "SPSR.PAN");
    assert_eq!(c.x[1], 0x5600_0000);
}

#[test]
fn stores_over_cached_code_invalidate_it() {
    // Calls `target` (mov x12, #1; ret) until it returns 42, patching its first
    // instruction to `mov x12, #42` after the first call: the patched code must run.
    let prog = [
        0xd280000c, 0x1000010d, 0x1800012e, 0x94000006, 0xf100a99f, 0x54000060, 0xb90001ae,
        0x17fffffc, 0xd4000001, 0xd280002c, 0xd65f03c0, 0xd280054c,
    ];
    let (c, st) = run(5, &prog);
    assert_eq!(c.x[12], 42);
    assert_eq!(c.x[5], 0x200);
    assert_eq!(c.x[1], 0x5600_0000);
    assert!(st.blocks_invalidated >= 1);
}

#[test]
fn esr_encoding() {
    assert_eq!(cpu::esr(cpu::EC_SVC, 7), 0x5600_0007);
    assert_eq!(cpu::esr(cpu::EC_DABT_SAME, 0x47), 0x9600_0047);
    assert_eq!(cpu::esr(cpu::EC_FP, 0x01e0_0000), 0x1fe0_0000);
}

#[test]
fn translated_code_is_shared_by_aliases_of_a_physical_page() {
    // Maps RAM twice (1 GiB blocks at VA 0x4000_0000 and 0x8000_0000, both to PA
    // 0x4000_0000), turns the MMU on and calls `f` through both: f reads its own
    // address (ADR, ADRP), a literal, and its callee's link address (BL). The
    // translator keys blocks by physical address, so the alias runs the code
    // translated for the first address: it must still see the alias's addresses.
    let prog = [
        0x58000480, 0x580004a1, 0xf9000401, 0xf9000801, 0xd5182000, 0xd2801fe1, 0xd518a201,
        0x58000421, 0xd5182041, 0xd5033fdf, 0xd5381001, 0xb2400021, 0xd5181001, 0xd5033fdf,
        0x9400000a, // bl f
        0xaa1403ea, 0xaa1503eb, 0xaa1603ec, 0xaa1703ed, // x10..x13 = x20..x23
        0x580002e1, 0x10000082, 0x8b010042, 0xd63f0040, // blr (f + 0x4000_0000)
        0xd4000001, // svc #0
        // f: adr x20, .; adrp x21, f; ldr x22, lit; mov x24, x30; bl g; mov x30, x24; ret
        0x10000014, 0x90000015, 0x58000116, 0xaa1e03f8, 0x94000003, 0xaa1803fe, 0xd65f03c0,
        // g: mov x23, x30; ret
        0xaa1e03f7, 0xd65f03c0, 0xd503201f, // lit (8-aligned), then the literal pool
        0x55667788, 0x11223344, 0x40004000, 0, 0x40000401, 0, 0x00800019, 0, 0x40000000, 0,
    ];
    let (c, s) = run(5, &prog);
    let alias = 0x4000_0000;
    assert_eq!(c.x[10], B + 0x2060, "ADR");
    assert_eq!(c.x[11], B + 0x2000, "ADRP");
    assert_eq!(c.x[12], 0x1122_3344_5566_7788, "LDR (literal)");
    assert_eq!(c.x[13], B + 0x2074, "BL's link");
    assert_eq!(c.x[20], c.x[10] + alias, "ADR through the alias");
    assert_eq!(c.x[21], c.x[11] + alias, "ADRP through the alias");
    assert_eq!(c.x[22], c.x[12], "LDR (literal) through the alias");
    assert_eq!(c.x[23], c.x[13] + alias, "BL's link through the alias");
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    // The interpreter lowers f twice (its IR is per address); the translator once.
    let (_, sj) = run_on(5, &prog, true);
    assert!(
        sj.blocks_translated < s.blocks_translated,
        "translated code was not shared: {} blocks lowered, {} on the interpreter",
        sj.blocks_translated,
        s.blocks_translated
    );
}

#[test]
fn pairs_across_a_page_boundary_and_faulting_halfway() {
    // The translator probes the TLB once for both halves of an LDP/STP; a pair that
    // straddles a page takes the one-at-a-time path, and so does one whose second half
    // faults (the first half is stored, the abort reports the second's address).
    // FP on (CPACR_EL1.FPEN); x0 = B + 0x3ff8; stp x9, x10, [x0]; ldp x11, x12, [x0];
    // ldp w13, w14, [x0, #4]; ldp q2, q3, [x0, #-16]; x0 = the last 8 bytes of RAM;
    // stp x9, x10, [x0]
    let prog = [
        0xd2a00601, 0xd5181041, 0xd5033fdf, 0x58000120, 0xd28acf0a, 0xa9002809, 0xa940300b,
        0x2940b80d, 0xad7f8c02, 0x580000a0, 0xa9002809, 0, 0x40003ff8, 0, 0x400ffff8, 0,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!((c.x[11], c.x[12]), (0x1234, 0x5678));
    assert_eq!((c.x[13], c.x[14]), (0, 0x5678));
    assert_eq!(c.v[3], 0x5678_0000_0000_0000_1234);
    // The second half's address: the first byte past RAM.
    assert_write_abort_past_ram(&c, B + 0x2028);
}

/// The payload ended with a write to the first byte past RAM, by the instruction at
/// `elr`: a data abort (EL1, external, WnR) with that address.
fn assert_write_abort_past_ram(c: &Cpu, elr: u64) {
    assert_eq!(
        c.x[1],
        0x9600_0010 | 1 << 6,
        "EC 0x25, IL, WnR, external abort"
    );
    assert_eq!(c.x[4], B + RAM as u64, "FAR");
    assert_eq!(c.x[2], elr, "ELR");
}

#[test]
fn dc_zva_zeroes_its_block_and_faults_precisely() {
    // x0 = B + 0x4000; 0x1234 at +0, +8, +48, +56 and +64; dc zva, (x0 + 0x10) zeroes
    // [+0, +64); x11..x13 = [+0], [+56], [+64]; dc zva past the end of RAM aborts.
    let prog = [
        0x58000180, 0xa9002409, 0xa9032409, 0xf9002009, 0x91004001, 0xd50b7421, 0xf940000b,
        0xf9401c0c, 0xf940200d, 0x580000a0, 0xd50b7420, 0, 0x40004000, 0, 0x40100000, 0,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!((c.x[11], c.x[12], c.x[13]), (0, 0, 0x1234));
    assert_write_abort_past_ram(&c, B + 0x2028);
}

#[test]
fn context_neutral_system_register_writes_do_not_end_the_block() {
    // msr elr_el1, x9; mrs x10, elr_el1; msr tpidr_el1, x10; mrs x11, tpidr_el1;
    // add x12, x11, #1; svc #0 (at EL1h): one block, the values read back in it.
    let prog = [
        0xd5184029, 0xd538402a, 0xd518d08a, 0xd538d08b, 0x9100056c, 0xd4000001,
    ];
    let (c, s) = run(5, &prog);
    assert_eq!((c.x[10], c.x[11], c.x[12]), (0x1234, 0x1234, 0x1235));
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    // The boot code, the payload and the vector handlers, none split by the MSRs (ten
    // blocks when every MSR ends one).
    let (_, sj) = run_on(5, &prog, true);
    assert_eq!(sj.blocks_translated, s.blocks_translated);
    assert!(s.blocks_translated <= 4, "{} blocks", s.blocks_translated);
}

#[test]
fn sha256_rounds_fused_by_the_translator_match_the_interpreter() {
    // FP on; q0 (ABCD), q1 (EFGH), q4 (W+K) from the literals; MOV v2, v0;
    // SHA256H q0, q1, v4.4s; SHA256H2 q1, q2, v4.4s (one fused pair in translated
    // code); SVC. The interpreter does each instruction on its own.
    let prog = [
        0xd2a00601, 0xd5181041, 0xd5033fdf, 0x9c000120, 0x9c000181, 0x9c0001e4, 0x4ea01c02,
        0x5e044020, 0x5e045041, 0xd4000001, 0, 0, 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19, 0xc28a2f98, 0x71374491, 0xb5c0fbcf,
        0xe9b5dba5,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    let (abcd, efgh) = (c.v[0], c.v[1]);
    // Both halves of the state moved on (and `run` found them equal on both).
    assert_ne!(abcd, 0xa54f_f53a_3c6e_f372_bb67_ae85_6a09_e667);
    assert_ne!(efgh, 0x5be0_cd19_1f83_d9ab_9b05_688c_510e_527f);
    assert_ne!(abcd, efgh);
}

#[test]
fn a_select_on_flags_that_are_also_materialised_is_right() {
    // x11 = 1; x12 = -1; x15 = 5; x16 = 6; ADDS x10, x11, x12 (0: Z and C set);
    // CSEL x14, x15, x16, EQ; CSET w13, HI; CMP x11, x11 (so the ADDS's NZCV write is
    // dead); SVC. HI after an add reads the NZCV value, which the translator computes
    // from the host flags right after the ADDS, overwriting them: the CSEL must not
    // take EQ from them.
    let prog = [
        0xd280002b, 0x9280000c, 0xd28000af, 0xd28000d0, 0xab0c016a, 0x9a9001ee, 0x1a9f97ed,
        0xeb0b017f, 0xd4000001,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    assert_eq!((c.x[10], c.x[13], c.x[14]), (0, 0, 5));
    // The same with a B.EQ (a side exit) over MOVZ x14, #7 in place of the CSEL.
    let prog = [
        0xd280002b, 0x9280000c, 0xd280012e, 0xab0c016a, 0x54000040, 0xd28000ee, 0x1a9f97ed,
        0xeb0b017f, 0xd4000001,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    assert_eq!(c.x[14], 9, "the B.EQ was taken");
}

/// Writes 4 KiB-granule tables for a 39-bit VA space at RAM offset `l1` (level 2 and
/// 3 in the next two pages) mapping RAM to itself, except VA page B + 0x40000, whose
/// entry is `p40` (a PA with, optionally, more attribute bits). Entries are valid
/// pages with the access flag, EL1 read/write, MAIR attribute 0.
fn page_tables(ram: &mut [u8], l1: usize, p40: u64) {
    let mut put = |at: usize, v: u64| ram[at..at + 8].copy_from_slice(&v.to_le_bytes());
    let (l2, l3) = (l1 + 0x1000, l1 + 0x2000);
    put(l1 + 8, (B + l2 as u64) | 3);
    put(l2, (B + l3 as u64) | 3);
    for k in 0..(RAM / 0x1000) as u64 {
        let pte = if k == 0x40 { p40 } else { B + k * 0x1000 };
        put(l3 + 8 * k as usize, pte | 0x403);
    }
}

/// Fills each RAM page at offset `page` with bytes `k * mul + 1`.
fn fill_pages(ram: &mut [u8], pages: &[(usize, usize)]) {
    for &(page, mul) in pages {
        for (k, b) in ram[page..page + 0x1000].iter_mut().enumerate() {
            *b = (k * mul + 1) as u8;
        }
    }
}

#[test]
fn grouped_accesses_use_the_right_page_where_their_range_crosses_into_a_remapped_one() {
    // 4 KiB pages map RAM to itself, except VA page B + 0x40000 -> PA B + 0x70000
    // (tables at B + 0x4000, 0x5000, 0x6000), with different bytes in PA pages 0x3f000,
    // 0x40000 and 0x70000. MMU on; x11 = B + 0x3ffc0; 96 times: LDR x14, [x11];
    // LDR x15, [x11, #8]; LDRB w16, [x11, #16]; x12 = (x14 ^ ror(x12, 7) ^ x15) + x16;
    // STR x12, [x11, #24]; STR x13, [x11, #32]; x11 += 1; x13 -= 1. The loads share one
    // TLB probe and the stores another. As x11 walks over the boundary the shared
    // probes first miss, then cover ranges that cross into the remapped page (each
    // access then probes for itself), then hit. Accesses above the boundary made with
    // the lower page's addend would read and write PA B + 0x40000: x12 would differ
    // from the interpreter's.
    let prog = [
        0x58000380, 0xd5182000, 0xd2801fe1, 0xd518a201, 0x58000341, 0xd5182041, 0xd5033fdf,
        0xd5381001, 0xb2400021, 0xd5181001, 0xd5033fdf, 0xd2a8006b, 0xf29ff80b, 0xd280000c,
        0xd2800c0d, 0xf940016e, 0xf940056f, 0x39404170, 0xcacc1dcc, 0xca0f018c, 0x8b10018c,
        0xf9000d6c, 0xf900116d, 0x9100056b, 0xf10005ad, 0x54fffec1, 0xd4000001, 0xd503201f,
        0x40004000, 0, 0x00800019, 0,
    ];
    let init = |ram: &mut [u8]| {
        page_tables(ram, 0x4000, B + 0x70000);
        fill_pages(ram, &[(0x3f000, 7), (0x40000, 11), (0x70000, 13)]);
    };
    let (c, _) = run_with(5, &prog, init);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    assert_eq!(c.x[11], B + 0x40020);
}

#[test]
fn translated_loads_follow_tlbi_and_asid_changes() {
    // 4 KiB pages: ASID 0's tables (B + 0x4000..) map VA page P = B + 0x40000 to PA
    // X = B + 0x3f000, ASID 1's (B + 0x7000..) too; the rest of RAM maps to itself. MMU
    // on; x11 = P; f is `LDR x14, [x11]; RET`. x20, x19 = f() twice; then ASID 0's
    // entry for P is rewritten to PA Y = B + 0x70000, DSB, TLBI VAAE1, DSB, ISB;
    // x18 = f(); TTBR0 = ASID 1's tables; x17 = f(); back to ASID 0's; x16 = f().
    // f's translated load must see the TLBI and each ASID switch (the software TLB
    // keeps a set of entries per recent ASID).
    let prog = [
        0x58000500, 0xd5182000, 0xd2801fe1, 0xd518a201, 0x580004c1, 0xd5182041, 0xd5033fdf,
        0xd5381001, 0xb2400021, 0xd5181001, 0xd5033fdf, 0xd2a8008b, 0x58000416, 0x58000435,
        0x58000457, 0x94000016, 0xaa0e03f4, 0x94000014, 0xaa0e03f3, 0xf90002d5, 0xd5033b9f,
        0xd5088777, 0xd5033b9f, 0xd5033fdf, 0x9400000d, 0xaa0e03f2, 0x58000300, 0xd5182000,
        0xd5033fdf, 0x94000008, 0xaa0e03f1, 0x58000120, 0xd5182000, 0xd5033fdf, 0x94000003,
        0xaa0e03f0, 0xd4000001, 0xf940016e, 0xd65f03c0, 0xd503201f, 0x40004000, 0, 0x00800019, 0,
        0x40006200, 0, 0x40070c03, 0, 0x00040040, 0, 0x40007000, 0x00010000,
    ];
    let init = |ram: &mut [u8]| {
        // P's entries are not global (nG): each ASID has its own.
        page_tables(ram, 0x4000, (B + 0x3f000) | 0x800);
        page_tables(ram, 0x7000, (B + 0x3f000) | 0x800);
        fill_pages(ram, &[(0x3f000, 7), (0x70000, 13)]);
    };
    let (c, _) = run_with(5, &prog, init);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    let bytes = |mul: u64| (0..8u64).fold(0u64, |v, k| v | ((k * mul + 1) & 0xff) << (8 * k));
    let (x, y) = (bytes(7), bytes(13));
    assert_eq!((c.x[20], c.x[19]), (x, x), "before the TLBI");
    assert_eq!(c.x[18], y, "after the TLBI");
    assert_eq!(c.x[17], x, "ASID 1");
    assert_eq!(c.x[16], y, "back to ASID 0");
}

#[test]
fn stores_translated_before_their_page_held_code_stop_writing_it_directly() {
    // Q = B + 0x10000 (a data page at first); st0 is `STR w1, [x13]; RET` (x13 = Q).
    // Writes `MOV x12, #1; RET` to Q with st0 (twice) and st4, calls Q (now it is
    // translated code), x20 = x12; patches Q's first instruction to `MOV x12, #42`
    // with st0 (no cache maintenance, as `stores_over_cached_code_invalidate_it`),
    // calls Q again, x21 = x12. st0's TLB entry for Q was writable before Q held code:
    // translating Q revokes it, so the patch takes the path that invalidates the code.
    let prog = [
        0xd2a8002d, 0x1800028e, 0x1800028f, 0x18000290, 0xaa0e03e1, 0x9400000c, 0xaa0f03e1,
        0x9400000c, 0xaa0e03e1, 0x94000008, 0xd63f01a0, 0xaa0c03f4, 0xaa1003e1, 0x94000004,
        0xd63f01a0, 0xaa0c03f5, 0xd4000001, 0xb90001a1, 0xd65f03c0, 0xb90005a1, 0xd65f03c0,
        0xd280002c, 0xd65f03c0, 0xd280054c,
    ];
    let (c, _) = run(5, &prog);
    assert_eq!(c.x[1], 0x5600_0000, "ended by the SVC");
    assert_eq!((c.x[20], c.x[21]), (1, 42));
}
