//! The exact reference interpreter over the IR.

use crate::ir::*;
use crate::state::{flags, Cpu};
use alloc::vec::Vec;

/// A memory fault, reported precisely (address of the access that failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemFault {
    /// No mapping at `addr`.
    #[error("translation fault at {addr:#x} (write: {write})")]
    Unmapped {
        /// Faulting address.
        addr: u64,
        /// Whether the access was a write.
        write: bool,
    },
    /// The mapping forbids the access.
    #[error("permission fault at {addr:#x} (write: {write})")]
    Permission {
        /// Faulting address.
        addr: u64,
        /// Whether the access was a write.
        write: bool,
    },
    /// The architecture requires alignment for this access (exclusives, acquire/release).
    #[error("alignment fault at {addr:#x} (write: {write})")]
    Alignment {
        /// Faulting address.
        addr: u64,
        /// Whether the access was a write.
        write: bool,
    },
}

impl MemFault {
    /// The faulting address.
    pub fn addr(&self) -> u64 {
        match *self {
            MemFault::Unmapped { addr, .. }
            | MemFault::Permission { addr, .. }
            | MemFault::Alignment { addr, .. } => addr,
        }
    }
}

/// The guest's view of memory (and of the few platform facts the interpreter needs).
/// The engine plugs its MMU in here; `a64-user` uses a flat user address space.
pub trait Memory {
    /// Reads `attr.size` bytes (little-endian) at `addr`, zero-extended.
    fn read(&mut self, addr: u64, attr: MemAttr) -> Result<u128, MemFault>;
    /// Writes the low `attr.size` bytes of `val` at `addr`.
    fn write(&mut self, addr: u64, val: u128, attr: MemAttr) -> Result<(), MemFault>;
    /// Atomically (with respect to this core and other cores sharing `self`) replaces the
    /// value at `addr` by `new` if it equals `expected`; returns whether it did.
    fn compare_exchange(
        &mut self,
        addr: u64,
        expected: u128,
        new: u128,
        attr: MemAttr,
    ) -> Result<bool, MemFault> {
        let cur = self.read(addr, attr)?;
        if cur != expected {
            return Ok(false);
        }
        self.write(addr, new, attr)?;
        Ok(true)
    }
    /// Fetches an instruction word.
    fn fetch(&mut self, addr: u64) -> Result<u32, MemFault> {
        self.read(addr, MemAttr::plain(4)).map(|v| v as u32)
    }
    /// Reads a system register the core does not model ([`SysReg::Impl`], key from
    /// [`crate::sysreg::key`]) at `cpu.el`; `None`: the access is UNDEFINED.
    fn sys_read(&mut self, cpu: &mut Cpu, key: u32) -> Option<u64> {
        let _ = (cpu, key);
        None
    }
    /// Writes a system register the core does not model; `false`: UNDEFINED. The block
    /// ends after every such write, so the environment may change any CPU state here.
    fn sys_write(&mut self, cpu: &mut Cpu, key: u32, val: u64) -> bool {
        let _ = (cpu, key, val);
        false
    }
    /// CNTVCT_EL0: the virtual counter.
    fn cntvct(&mut self) -> u64 {
        0
    }
    /// CNTFRQ_EL0: the counter frequency in Hz.
    fn cntfrq(&mut self) -> u64 {
        62_500_000
    }
}

/// Why [`run_block`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The block ended with ordinary control flow; `cpu.pc` is the next instruction.
    Continue,
    /// An exception or event; `pc` is the instruction's address and `cpu.pc` the resume
    /// address (after it for SVC/HVC/SMC/WFI/WFE/maintenance events, else `pc`).
    /// The exclusive monitor has been cleared (for real exceptions, not WFI/WFE/events).
    Exception {
        /// What happened.
        kind: ExcKind,
        /// Address of the instruction.
        pc: u64,
    },
    /// A data abort; `cpu.pc` = `pc` = the faulting instruction. Registers written by
    /// earlier instructions of the block are committed; the faulting one wrote none.
    DataAbort {
        /// The fault.
        fault: MemFault,
        /// Address of the instruction.
        pc: u64,
    },
}

/// Implementation-defined constants of the modelled core.
pub mod consts {
    /// CTR_EL0: 64-byte lines, IDC/DIC clear, VIPT I-cache (like Cortex-A72).
    pub const CTR_EL0: u64 = 0x8444_c004;
    /// DCZID_EL0: DC ZVA allowed, block = 4 << 4 = 64 bytes.
    pub const DCZID_EL0: u64 = 4;
    /// DC ZVA block size in bytes.
    pub const ZVA_BYTES: u64 = 64;
    /// FPCR bits that exist in ARMv8.0 (AHP, DN, FZ, RMode, Stride, Len, trap enables).
    pub const FPCR_MASK: u32 = 0x07f7_0000;
    /// FPSR bits that exist (QC, IDC, IXC, UFC, OFC, DZC, IOC).
    pub const FPSR_MASK: u32 = 0x0800_009f;
}

#[inline(always)]
fn sx(v: u128, bits: u32) -> i128 {
    let s = 128 - bits;
    ((v << s) as i128) >> s
}

/// Whether A64 condition `cond` holds for `nzcv` (bits 31..28).
#[inline]
pub fn cond_holds(cond: u8, nzcv: u32) -> bool {
    let n = nzcv & flags::N != 0;
    let z = nzcv & flags::Z != 0;
    let c = nzcv & flags::C != 0;
    let v = nzcv & flags::V != 0;
    let r = match cond >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => true,
    };
    if cond & 1 != 0 && cond != 15 {
        !r
    } else {
        r
    }
}

/// NZCV of `a + b + carry` in `bits` width (a, b already masked).
#[inline]
pub fn add_flags(a: u128, b: u128, carry: u128, bits: u32) -> u32 {
    if bits == 64 {
        let (a, b) = (a as u64, b as u64);
        let (s1, c1) = a.overflowing_add(b);
        let (r, c2) = s1.overflowing_add(carry as u64);
        let c = (c1 | c2) as u32;
        let n = (r >> 63) as u32;
        let z = (r == 0) as u32;
        let v = (((a ^ r) & (b ^ r)) >> 63) as u32;
        return (n << 31) | (z << 30) | (c << 29) | (v << 28);
    }
    if bits == 32 {
        let sum = (a as u64) + (b as u64) + (carry as u64);
        let r = sum as u32;
        let c = (sum >> 32) as u32 & 1;
        let n = r >> 31;
        let z = (r == 0) as u32;
        let v = (((a as u32 ^ r) & (b as u32 ^ r)) >> 31) & 1;
        return (n << 31) | (z << 30) | (c << 29) | (v << 28);
    }
    let mask = if bits == 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    let sum = a.wrapping_add(b).wrapping_add(carry);
    let r = sum & mask;
    let c = if bits >= 128 {
        (sum < a || (carry != 0 && sum == a)) as u32
    } else {
        (sum >> bits) as u32 & 1
    };
    let n = (r >> (bits - 1)) as u32 & 1;
    let z = (r == 0) as u32;
    let v = (((a ^ r) & (b ^ r)) >> (bits - 1)) as u32 & 1;
    (n << 31) | (z << 30) | (c << 29) | (v << 28)
}

#[inline(always)]
fn sx64(v: u64, bits: u32) -> i64 {
    let s = 64 - bits;
    ((v << s) as i64) >> s
}

/// Evaluates a binary op in type `ty` on masked operands; the result is masked.
#[inline(always)]
pub fn eval_bin(op: BinOp, ty: Ty, a: u128, b: u128) -> u128 {
    if ty == Ty::I128 {
        return eval_bin128(op, a, b);
    }
    let w = ty.bits();
    let m = u64::MAX >> (64 - w);
    let (a, b) = (a as u64, b as u64);
    let r = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::UMulHi => ((a as u128 * b as u128) >> w) as u64,
        BinOp::SMulHi => ((sx64(a, w) as i128 * sx64(b, w) as i128) >> w) as u64,
        BinOp::UDiv => a.checked_div(b).unwrap_or(0),
        BinOp::SDiv => {
            if b == 0 {
                0
            } else {
                sx64(a, w).wrapping_div(sx64(b, w)) as u64
            }
        }
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl => a << (b % w as u64),
        BinOp::LShr => a >> (b % w as u64),
        BinOp::AShr => (sx64(a, w) >> (b % w as u64)) as u64,
        BinOp::Ror => {
            let s = (b % w as u64) as u32;
            if s == 0 {
                a
            } else {
                (a >> s) | (a << (w - s))
            }
        }
    };
    (r & m) as u128
}

#[inline(never)]
fn eval_bin128(op: BinOp, a: u128, b: u128) -> u128 {
    match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::UMulHi | BinOp::SMulHi => 0,
        BinOp::UDiv => a.checked_div(b).unwrap_or(0),
        BinOp::SDiv => {
            if b == 0 {
                0
            } else {
                (a as i128).wrapping_div(b as i128) as u128
            }
        }
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl => a << (b % 128) as u32,
        BinOp::LShr => a >> (b % 128) as u32,
        BinOp::AShr => ((a as i128) >> (b % 128) as u32) as u128,
        BinOp::Ror => a.rotate_right((b % 128) as u32),
    }
}

/// Evaluates a unary op in type `ty` on a masked operand; the result is masked.
#[inline]
pub fn eval_un(op: UnOp, ty: Ty, a: u128) -> u128 {
    let w = ty.bits();
    let m = ty.mask();
    let r = match op {
        UnOp::Not => !a,
        UnOp::Neg => a.wrapping_neg(),
        UnOp::Clz => (a.leading_zeros() - (128 - w)) as u128,
        UnOp::Cls => {
            let t = ((a >> 1) ^ a) & (m >> 1);
            (t.leading_zeros() - (128 - (w - 1))) as u128
        }
        UnOp::Rbit => a.reverse_bits() >> (128 - w),
        UnOp::Rev => a.swap_bytes() >> (128 - w),
        UnOp::Rev16 => {
            ((a & 0x00ff00ff_00ff00ff_00ff00ff_00ff00ffu128) << 8)
                | ((a >> 8) & 0x00ff00ff_00ff00ff_00ff00ff_00ff00ffu128)
        }
        UnOp::Rev32 => {
            let mut r = 0u128;
            let mut i = 0;
            while i < w {
                r |= (((a >> i) as u32).swap_bytes() as u128) << i;
                i += 32;
            }
            r
        }
        UnOp::Popcnt => a.count_ones() as u128,
    };
    r & m
}

fn check_align(addr: u64, attr: &MemAttr, write: bool) -> Result<(), MemFault> {
    if attr.align > 1 && addr & (attr.align as u64 - 1) != 0 {
        return Err(MemFault::Alignment { addr, write });
    }
    Ok(())
}

/// Reads a system register.
pub fn sys_read<M: Memory + ?Sized>(cpu: &Cpu, mem: &mut M, reg: SysReg) -> u64 {
    match reg {
        SysReg::Nzcv => cpu.nzcv as u64,
        SysReg::Fpcr => cpu.fpcr as u64,
        SysReg::Fpsr => cpu.fpsr as u64,
        SysReg::Daif => cpu.daif as u64,
        SysReg::SpSel | SysReg::Impl(_) => 0,
        SysReg::CurrentEl => (cpu.el as u64) << 2,
        SysReg::TpidrEl0 => cpu.tpidr_el0,
        SysReg::TpidrroEl0 => cpu.tpidrro_el0,
        SysReg::CtrEl0 => consts::CTR_EL0,
        SysReg::DczidEl0 => consts::DCZID_EL0,
        SysReg::CntfrqEl0 => mem.cntfrq(),
        SysReg::CntvctEl0 => mem.cntvct(),
        SysReg::Const(v) => v,
    }
}

/// Writes a system register (read-only ones ignore the write).
pub fn sys_write(cpu: &mut Cpu, reg: SysReg, v: u64) {
    match reg {
        SysReg::Nzcv => cpu.nzcv = v as u32 & flags::MASK,
        SysReg::Fpcr => cpu.fpcr = v as u32 & consts::FPCR_MASK,
        SysReg::Fpsr => cpu.fpsr = v as u32 & consts::FPSR_MASK,
        SysReg::Daif => cpu.daif = v as u32 & 0x3c0,
        SysReg::TpidrEl0 => cpu.tpidr_el0 = v,
        SysReg::TpidrroEl0 => cpu.tpidrro_el0 = v,
        _ => {}
    }
}

/// Executes one block. `temps` is scratch space reused across calls.
pub fn run_block<M: Memory + ?Sized>(
    cpu: &mut Cpu,
    mem: &mut M,
    block: &Block,
    temps: &mut Vec<u128>,
) -> Exit {
    if temps.len() < block.temps.len() {
        temps.resize(block.temps.len(), 0);
    }
    let t = &mut temps[..];
    let mut pc = block.pc;
    let mut raw = 0u32;
    macro_rules! undef {
        () => {{
            cpu.pc = pc;
            return Exit::Exception {
                kind: ExcKind::Undef(raw),
                pc,
            };
        }};
    }
    macro_rules! fault {
        ($f:expr) => {{
            cpu.pc = pc;
            return Exit::DataAbort { fault: $f, pc };
        }};
    }
    for op in &block.ops {
        match *op {
            Op::Insn { pc: p, raw: r } => {
                pc = p;
                raw = r;
            }
            Op::Const { dst, val, .. } => t[dst.0 as usize] = val,
            Op::PcRel { dst, val } => t[dst.0 as usize] = u128::from(val),
            Op::Get { dst, reg } => {
                t[dst.0 as usize] = match reg {
                    Reg::X(n) => cpu.x[n as usize] as u128,
                    Reg::Sp => cpu.sp as u128,
                    Reg::V(n) => cpu.v[n as usize],
                    Reg::Nzcv => cpu.nzcv as u128,
                    Reg::Fpcr => cpu.fpcr as u128,
                    Reg::Fpsr => cpu.fpsr as u128,
                }
            }
            Op::Set { reg, src } => {
                let v = t[src.0 as usize];
                match reg {
                    Reg::X(n) => cpu.x[n as usize] = v as u64,
                    Reg::Sp => cpu.sp = v as u64,
                    Reg::V(n) => cpu.v[n as usize] = v,
                    Reg::Nzcv => cpu.nzcv = v as u32 & flags::MASK,
                    Reg::Fpcr => cpu.fpcr = v as u32 & consts::FPCR_MASK,
                    Reg::Fpsr => cpu.fpsr = v as u32 & consts::FPSR_MASK,
                }
            }
            Op::Bin { op, ty, dst, a, b } => {
                t[dst.0 as usize] = eval_bin(op, ty, t[a.0 as usize], t[b.0 as usize])
            }
            Op::BinImm {
                op,
                ty,
                dst,
                a,
                imm,
            } => t[dst.0 as usize] = eval_bin(op, ty, t[a.0 as usize], imm as u128),
            Op::Un { op, ty, dst, a } => t[dst.0 as usize] = eval_un(op, ty, t[a.0 as usize]),
            Op::Zext { dst, src } => t[dst.0 as usize] = t[src.0 as usize],
            Op::Sext { dst, src } => {
                let from = block.temps[src.0 as usize];
                let to = block.temps[dst.0 as usize];
                t[dst.0 as usize] = (sx(t[src.0 as usize], from.bits()) as u128) & to.mask();
            }
            Op::Trunc { dst, src } => {
                t[dst.0 as usize] = t[src.0 as usize] & block.temps[dst.0 as usize].mask()
            }
            Op::Flags {
                op,
                ty,
                dst,
                a,
                b,
                c,
            } => {
                let (a, b, c) = (t[a.0 as usize], t[b.0 as usize], t[c.0 as usize] & 1);
                let w = ty.bits();
                t[dst.0 as usize] = match op {
                    FlagOp::Add => add_flags(a, b, 0, w),
                    FlagOp::Sub => add_flags(a, !b & ty.mask(), 1, w),
                    FlagOp::Adc => add_flags(a, b, c, w),
                    FlagOp::Sbc => add_flags(a, !b & ty.mask(), c, w),
                    FlagOp::Logic => {
                        let n = (a >> (w - 1)) as u32 & 1;
                        (n << 31) | (((a == 0) as u32) << 30)
                    }
                } as u128;
            }
            Op::Cond { dst, cond, nzcv } => {
                t[dst.0 as usize] = cond_holds(cond, t[nzcv.0 as usize] as u32) as u128
            }
            Op::Select { dst, c, a, b } => {
                t[dst.0 as usize] = if t[c.0 as usize] != 0 {
                    t[a.0 as usize]
                } else {
                    t[b.0 as usize]
                }
            }
            Op::Load { dst, addr, attr } => {
                let a = t[addr.0 as usize] as u64;
                if let Err(f) = check_align(a, &attr, false) {
                    fault!(f)
                }
                match mem.read(a, attr) {
                    Ok(v) => {
                        t[dst.0 as usize] = v;
                        if attr.exclusive {
                            cpu.monitor.valid = true;
                            cpu.monitor.addr = a;
                            cpu.monitor.size = attr.size;
                            cpu.monitor.value = v;
                        }
                    }
                    Err(f) => fault!(f),
                }
            }
            Op::Store { addr, src, attr } => {
                let a = t[addr.0 as usize] as u64;
                if let Err(f) = check_align(a, &attr, true) {
                    fault!(f)
                }
                if let Err(f) = mem.write(a, t[src.0 as usize], attr) {
                    fault!(f)
                }
            }
            Op::StoreExcl {
                status,
                addr,
                src,
                attr,
            } => {
                let a = t[addr.0 as usize] as u64;
                if let Err(f) = check_align(a, &attr, true) {
                    fault!(f)
                }
                let m = cpu.monitor;
                cpu.monitor.clear();
                let ok = if m.valid && m.addr == a && m.size == attr.size {
                    match mem.compare_exchange(a, m.value, t[src.0 as usize], attr) {
                        Ok(ok) => ok,
                        Err(f) => fault!(f),
                    }
                } else {
                    false
                };
                t[status.0 as usize] = (!ok) as u128;
            }
            Op::ClearExcl => cpu.monitor.clear(),
            Op::ExitIf { cond, target, .. } => {
                if t[cond.0 as usize] != 0 {
                    cpu.pc = target;
                    return Exit::Continue;
                }
            }
            Op::Barrier(_) => {}
            Op::DcZva { addr } => {
                let base = (t[addr.0 as usize] as u64) & !(consts::ZVA_BYTES - 1);
                let mut off = 0;
                while off < consts::ZVA_BYTES {
                    if let Err(f) = mem.write(base + off, 0, MemAttr::plain(8)) {
                        fault!(f)
                    }
                    off += 8;
                }
            }
            Op::SysRead {
                dst,
                reg: SysReg::Impl(key),
            } => match mem.sys_read(cpu, key) {
                Some(v) => t[dst.0 as usize] = v as u128,
                None => undef!(),
            },
            Op::SysWrite {
                reg: SysReg::Impl(key),
                src,
            } => {
                if !mem.sys_write(cpu, key, t[src.0 as usize] as u64) {
                    undef!()
                }
            }
            Op::SysRead { dst, reg } => t[dst.0 as usize] = sys_read(cpu, mem, reg) as u128,
            Op::SysWrite { reg, src } => sys_write(cpu, reg, t[src.0 as usize] as u64),
            Op::Call {
                dst,
                helper,
                args,
                nargs: _,
                imm,
            } => {
                let v = (helper.func)(
                    cpu,
                    [
                        t[args[0].0 as usize],
                        t[args[1].0 as usize],
                        t[args[2].0 as usize],
                    ],
                    imm,
                );
                if let Some(d) = dst {
                    t[d.0 as usize] = v & block.temps[d.0 as usize].mask();
                }
            }
        }
    }
    match block.term {
        Term::Jump(target) => {
            cpu.pc = target;
            Exit::Continue
        }
        Term::Branch {
            cond,
            taken,
            not_taken,
        } => {
            cpu.pc = if t[cond.0 as usize] != 0 {
                taken
            } else {
                not_taken
            };
            Exit::Continue
        }
        Term::Indirect { target, .. } => {
            cpu.pc = t[target.0 as usize] as u64;
            Exit::Continue
        }
        Term::Exception { kind, pc } => {
            if !matches!(kind, ExcKind::Wfi | ExcKind::Wfe | ExcKind::Maint(_)) {
                cpu.monitor.clear();
            }
            cpu.pc = if kind.resumes_after() {
                pc.wrapping_add(4)
            } else {
                pc
            };
            Exit::Exception { kind, pc }
        }
    }
}
