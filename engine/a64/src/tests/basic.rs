use crate::testutil::run;

const BRK: u32 = 0xd420_0000;

#[test]
fn add_sub_flags() {
    // movz x0,#5; movz x1,#7; subs x2,x0,x1; adds w3,w0,w1; brk
    let (cpu, _) = run(
        &[0xd28000a0, 0xd28000e1, 0xeb010002, 0x2b010003, BRK],
        |_, _| {},
    );
    assert_eq!(cpu.x[2], (-2i64) as u64);
    assert_eq!(cpu.x[3], 12);
    // last flags from adds w3: 12 -> N=0 Z=0 C=0 V=0
    assert_eq!(cpu.nzcv, 0);
}

#[test]
fn loop_sum() {
    // mov x0,#0; mov x1,#100; loop: add x0,x0,x1; subs x1,x1,#1; b.ne loop; brk
    let (cpu, _) = run(
        &[
            0xd2800000, 0xd2800c81, 0x8b010000, 0xf1000421, 0x54ffffc1, BRK,
        ],
        |_, _| {},
    );
    assert_eq!(cpu.x[0], 5050);
    assert_eq!(cpu.nzcv, 0x6000_0000);
}

#[test]
fn encoding_count_and_tree() {
    println!(
        "encodings: {} ({})",
        crate::decode::ENCODING_COUNT,
        crate::decode::TREE_STATS
    );
    assert_eq!(crate::decode::ALL.len(), crate::decode::ENCODING_COUNT);
    for e in crate::decode::ALL {
        let (m, v) = e.pattern();
        assert_eq!(v & !m, 0, "{}", e.name());
    }
}

#[test]
fn ir_sizes() {
    println!("size_of::<Op>() = {}", std::mem::size_of::<crate::ir::Op>());
    assert!(std::mem::size_of::<crate::ir::Op>() <= 48);
}
