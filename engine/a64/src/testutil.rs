//! Test helpers shared by all groups' unit tests (compiled only for `cargo test`).

use crate::interp::{run_block, Exit, MemFault, Memory};
use crate::ir::{ExcKind, MemAttr};
use crate::lower::lower_block;
use crate::state::Cpu;
use crate::verify::verify;
use std::collections::HashMap;

/// Byte-addressed test memory; addresses below 0x1000 fault.
#[derive(Default)]
pub struct TestMem {
    pub bytes: HashMap<u64, u8>,
}

impl Memory for TestMem {
    fn read(&mut self, addr: u64, attr: MemAttr) -> Result<u128, MemFault> {
        let mut v = 0u128;
        for i in 0..attr.size as u64 {
            let a = addr.wrapping_add(i);
            if a < 0x1000 {
                return Err(MemFault::Unmapped {
                    addr: a,
                    write: false,
                });
            }
            v |= (*self.bytes.get(&a).unwrap_or(&0) as u128) << (8 * i);
        }
        Ok(v)
    }
    fn write(&mut self, addr: u64, val: u128, attr: MemAttr) -> Result<(), MemFault> {
        for i in 0..attr.size as u64 {
            let a = addr.wrapping_add(i);
            if a < 0x1000 {
                return Err(MemFault::Unmapped {
                    addr: a,
                    write: true,
                });
            }
            self.bytes.insert(a, (val >> (8 * i)) as u8);
        }
        Ok(())
    }
}

/// Runs `code` placed at 0x10000 (SP = 0x80000) until it executes BRK; returns the CPU and
/// memory. Every block is checked by the IR verifier. Panics on UNDEF or faults.
pub fn run(code: &[u32], setup: impl FnOnce(&mut Cpu, &mut TestMem)) -> (Cpu, TestMem) {
    let mut mem = TestMem::default();
    for (i, w) in code.iter().enumerate() {
        mem.write(0x10000 + 4 * i as u64, *w as u128, MemAttr::plain(4))
            .unwrap();
    }
    let mut cpu = Cpu::new();
    cpu.pc = 0x10000;
    cpu.sp = 0x80000;
    setup(&mut cpu, &mut mem);
    let mut temps = Vec::new();
    for _ in 0..100_000 {
        let pc = cpu.pc;
        let mut blk = lower_block(pc, 0, 64, &mut |a| mem.fetch(a)).expect("fetch");
        verify(&blk).unwrap_or_else(|e| panic!("{e} in {blk:#?}"));
        crate::opt::optimize(&mut blk);
        verify(&blk).unwrap_or_else(|e| panic!("after optimize: {e} in {blk:#?}"));
        match run_block(&mut cpu, &mut mem, &blk, &mut temps) {
            Exit::Continue => {}
            Exit::Exception {
                kind: ExcKind::Brk(_),
                ..
            } => return (cpu, mem),
            e => panic!("unexpected exit {e:?}"),
        }
    }
    panic!("did not finish");
}

/// Places `code` at 0x10000 and runs until the first exit that is not plain control flow
/// (exception, event or data abort); returns it with the CPU and memory.
pub fn run_to_exit(
    code: &[u32],
    setup: impl FnOnce(&mut Cpu, &mut TestMem),
) -> (Cpu, TestMem, Exit) {
    let mut mem = TestMem::default();
    for (i, w) in code.iter().enumerate() {
        mem.write(0x10000 + 4 * i as u64, *w as u128, MemAttr::plain(4))
            .unwrap();
    }
    let mut cpu = Cpu::new();
    cpu.pc = 0x10000;
    cpu.sp = 0x80000;
    setup(&mut cpu, &mut mem);
    let mut temps = Vec::new();
    for _ in 0..100_000 {
        let pc = cpu.pc;
        let mut blk = lower_block(pc, cpu.el, 64, &mut |a| mem.fetch(a)).expect("fetch");
        verify(&blk).unwrap_or_else(|e| panic!("{e} in {blk:#?}"));
        crate::opt::optimize(&mut blk);
        verify(&blk).unwrap_or_else(|e| panic!("after optimize: {e} in {blk:#?}"));
        match run_block(&mut cpu, &mut mem, &blk, &mut temps) {
            Exit::Continue => {}
            e => return (cpu, mem, e),
        }
    }
    panic!("did not finish");
}
