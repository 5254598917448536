//! The typed IR that decoded A64 instructions lower to.
//!
//! A [`Block`] is a straight-line list of [`Op`]s over SSA temporaries ([`Temp`]), each
//! defined exactly once, followed by one [`Term`]inator. Guest registers are read and
//! written with [`Op::Get`] / [`Op::Set`]; memory goes through [`Op::Load`] / [`Op::Store`];
//! NZCV is computed by explicit [`Op::Flags`] ops. Every guest instruction starts with an
//! [`Op::Insn`] marker carrying its PC so faults are precise.
//!
//! Complex floating-point / vector semantics use [`Op::Call`]: a call of a plain Rust
//! function described by a static [`Helper`], defined in the group's own module.

use crate::state::Cpu;
use alloc::vec::Vec;

/// Value types. Integer types only: FP values travel as their bit patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// 8-bit (also used for booleans: 0 or 1).
    I8,
    /// 16-bit.
    I16,
    /// 32-bit.
    I32,
    /// 64-bit.
    I64,
    /// 128-bit (V registers, pair exclusives).
    I128,
}

impl Ty {
    /// Width in bits.
    #[inline]
    pub const fn bits(self) -> u32 {
        match self {
            Ty::I8 => 8,
            Ty::I16 => 16,
            Ty::I32 => 32,
            Ty::I64 => 64,
            Ty::I128 => 128,
        }
    }
    /// Width in bytes.
    #[inline]
    pub const fn bytes(self) -> u32 {
        self.bits() / 8
    }
    /// All-ones value of this width.
    #[inline]
    pub const fn mask(self) -> u128 {
        match self {
            Ty::I128 => u128::MAX,
            t => (1u128 << t.bits()) - 1,
        }
    }
    /// The type of a given byte size (1, 2, 4, 8, 16).
    pub const fn from_bytes(n: u32) -> Option<Ty> {
        match n {
            1 => Some(Ty::I8),
            2 => Some(Ty::I16),
            4 => Some(Ty::I32),
            8 => Some(Ty::I64),
            16 => Some(Ty::I128),
            _ => None,
        }
    }
}

/// An SSA temporary: an index into [`Block::temps`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Temp(pub u32);

/// Guest registers addressable by [`Op::Get`] / [`Op::Set`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reg {
    /// X0..X30 (I64). Index 31 is invalid here: XZR is a constant, SP is [`Reg::Sp`].
    X(u8),
    /// The current stack pointer (I64).
    Sp,
    /// V0..V31 (I128).
    V(u8),
    /// NZCV in bits 31..28 (I32).
    Nzcv,
    /// FPCR (I32).
    Fpcr,
    /// FPSR (I32).
    Fpsr,
}

impl Reg {
    /// The type of the register.
    pub const fn ty(self) -> Ty {
        match self {
            Reg::X(_) | Reg::Sp => Ty::I64,
            Reg::V(_) => Ty::I128,
            Reg::Nzcv | Reg::Fpcr | Reg::Fpsr => Ty::I32,
        }
    }
}

/// Two-operand integer operations. Operands and result share the op's type.
///
/// Shift amounts are taken modulo the width (as A64's register-controlled shifts do).
/// Division by zero yields 0; signed MIN / -1 yields MIN (A64 semantics).
/// `UMulHi`/`SMulHi` give the high half of the double-width product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Wrapping add.
    Add,
    /// Wrapping subtract.
    Sub,
    /// Wrapping multiply (low half).
    Mul,
    /// High half of the unsigned product.
    UMulHi,
    /// High half of the signed product.
    SMulHi,
    /// Unsigned divide (x/0 = 0).
    UDiv,
    /// Signed divide (x/0 = 0, MIN/-1 = MIN).
    SDiv,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
    /// Shift left.
    Shl,
    /// Logical shift right.
    LShr,
    /// Arithmetic shift right.
    AShr,
    /// Rotate right.
    Ror,
}

/// One-operand integer operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Bitwise not.
    Not,
    /// Two's complement negate.
    Neg,
    /// Count leading zeros.
    Clz,
    /// Count leading sign bits (excluding the sign bit itself).
    Cls,
    /// Reverse bit order.
    Rbit,
    /// Reverse byte order of the whole value.
    Rev,
    /// Reverse bytes within each 16-bit halfword.
    Rev16,
    /// Reverse bytes within each 32-bit word (I64 only; for I32 it equals `Rev`).
    Rev32,
    /// Population count.
    Popcnt,
}

/// NZCV computations. Result: an I32 with NZCV in bits 31..28.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagOp {
    /// Flags of `a + b`.
    Add,
    /// Flags of `a - b` (C = no borrow).
    Sub,
    /// Flags of `a + b + c` (c: I8 carry, 0 or 1).
    Adc,
    /// Flags of `a - b - 1 + c` = `a + !b + c`.
    Sbc,
    /// Flags of a logical result `a`: N, Z from `a`; C = V = 0 (`b` and `c` unused).
    Logic,
}

/// Memory access attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemAttr {
    /// Access size in bytes: 1, 2, 4, 8 or 16.
    pub size: u8,
    /// Load-acquire semantics (LDAR, LDAXR).
    pub acquire: bool,
    /// Store-release semantics (STLR, STLXR).
    pub release: bool,
    /// Exclusive access (LDXR sets the monitor; stores use [`Op::StoreExcl`]).
    pub exclusive: bool,
    /// Unprivileged access (LDTR/STTR): checked with EL0 permissions.
    pub unpriv: bool,
    /// The access must be aligned to `align` bytes (exclusives, acquire/release);
    /// 0 or 1 means no alignment requirement.
    pub align: u8,
    /// Non-temporal hint (LDNP/STNP); no semantic effect.
    pub nontemporal: bool,
}

impl MemAttr {
    /// A plain, unaligned-allowed access of `size` bytes.
    pub const fn plain(size: u8) -> Self {
        MemAttr {
            size,
            acquire: false,
            release: false,
            exclusive: false,
            unpriv: false,
            align: 0,
            nontemporal: false,
        }
    }
}

/// Barrier kinds (no effect on a single core; kept for the translator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Barrier {
    /// DMB with its CRm option.
    Dmb(u8),
    /// DSB with its CRm option.
    Dsb(u8),
    /// ISB: ends the block (context synchronisation).
    Isb,
}

/// Cache and TLB maintenance operations that need no value (user mode: events only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Maint {
    /// DC CVAC / CVAU / CIVAC / IVAC / CVAP... by VA (address in `addr`).
    DcVa,
    /// DC by set/way (EL1 only).
    DcSw,
    /// IC IVAU by VA: code at `addr` may have changed.
    IcIvau,
    /// IC IALLU / IALLUIS: all code may have changed.
    IcAll,
    /// AT address translation (EL1).
    At,
    /// TLBI (EL1).
    Tlbi,
}

/// System registers known to the framework. Unknown encodings lower to UNDEF.
/// Extend [`crate::sysreg`] to add more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SysReg {
    /// NZCV.
    Nzcv,
    /// FPCR.
    Fpcr,
    /// FPSR.
    Fpsr,
    /// DAIF.
    Daif,
    /// SPSel.
    SpSel,
    /// CurrentEL.
    CurrentEl,
    /// TPIDR_EL0.
    TpidrEl0,
    /// TPIDRRO_EL0.
    TpidrroEl0,
    /// CTR_EL0.
    CtrEl0,
    /// DCZID_EL0.
    DczidEl0,
    /// CNTFRQ_EL0.
    CntfrqEl0,
    /// CNTVCT_EL0.
    CntvctEl0,
    /// A read-only identification register with a fixed value (MIDR_EL1, ID_AA64*...).
    Const(u64),
    /// A register the core does not model itself: the access goes to the environment
    /// ([`crate::interp::Memory::sys_read`] / [`crate::interp::Memory::sys_write`]), which
    /// may refuse it (the instruction is then UNDEFINED). The value is the encoding key
    /// [`crate::sysreg::key`] (op0, op1, CRn, CRm, op2).
    Impl(u32),
}

/// The signature of a helper function called by [`Op::Call`].
///
/// `args` holds the values of the argument temporaries (unused ones are 0), `imm` a
/// constant chosen at lowering time (element size, rounding mode, ...). The helper may
/// read and update the CPU state (FPCR, FPSR cumulative bits); it must not touch the
/// general registers, PC or memory. The result is truncated to the destination type.
pub type HelperFn = fn(cpu: &mut Cpu, args: [u128; 3], imm: u64) -> u128;

/// A static description of a helper: what the translator needs to call (or inline) it.
///
/// The contract every helper keeps (the optimiser relies on it, see `opt`): it may read
/// FPCR and read and write FPSR through its `cpu` argument, and touches no other guest
/// state (no X, SP, V or NZCV write, no memory), and it cannot fault.
#[derive(Debug)]
pub struct Helper {
    /// Unique name, e.g. `"fp::fadd64"`: the translator may match on it to inline.
    pub name: &'static str,
    /// The function.
    pub func: HelperFn,
    /// Result type, or `None` if the helper returns nothing useful.
    pub ret: Option<Ty>,
    /// Argument types (at most 3).
    pub args: &'static [Ty],
}

impl Helper {
    /// Whether the helper is a function of its arguments alone: it neither reads nor
    /// writes the CPU state (the crypto helpers), so guest state around it needs no
    /// write-back and an unused result can be dropped.
    pub fn is_pure(&self) -> bool {
        self.name.starts_with("crypto::")
    }
}

/// Why a block stops executing and returns to the runner (besides plain control flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExcKind {
    /// SVC #imm. The runner resumes at `pc + 4`.
    Svc(u16),
    /// HVC #imm.
    Hvc(u16),
    /// SMC #imm.
    Smc(u16),
    /// BRK #imm (resumes at the BRK itself).
    Brk(u16),
    /// HLT #imm.
    Hlt(u16),
    /// ERET.
    Eret,
    /// Undefined / unallocated / unimplemented instruction (raw encoding).
    Undef(u32),
    /// WFI (resumes at pc + 4).
    Wfi,
    /// WFE (resumes at pc + 4).
    Wfe,
    /// Maintenance event for the runner (resumes at pc + 4): IC IVAU etc.
    Maint(Maint),
}

impl ExcKind {
    /// The address of the instruction that raised it, given the address execution
    /// resumes at (see [`ExcKind::resumes_after`]).
    pub const fn insn_pc(self, resume: u64) -> u64 {
        if self.resumes_after() {
            resume.wrapping_sub(4)
        } else {
            resume
        }
    }

    /// Whether execution resumes after the instruction (true) or at it (false).
    pub const fn resumes_after(self) -> bool {
        matches!(
            self,
            ExcKind::Svc(_)
                | ExcKind::Hvc(_)
                | ExcKind::Smc(_)
                | ExcKind::Wfi
                | ExcKind::Wfe
                | ExcKind::Maint(_)
        )
    }
}

/// Kind of an indirect branch (a hint for return-address prediction).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IndKind {
    /// BR.
    Jump,
    /// BLR.
    Call,
    /// RET.
    Ret,
}

/// One IR operation.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Start of the guest instruction at `pc` with encoding `raw`.
    Insn { pc: u64, raw: u32 },
    /// `dst = val` (truncated to `ty`).
    Const { dst: Temp, ty: Ty, val: u128 },
    /// `dst = val` (I64), an address computed from the PC (ADR, ADRP, a link address,
    /// a literal's address): equal to `val` when the block runs at the virtual address it
    /// was lowered for, and moving with the block when its translation is shared by
    /// other virtual addresses of the same physical page (the translator derives it from
    /// the block's run-time PC instead of using `val`).
    PcRel { dst: Temp, val: u64 },
    /// `dst = reg`.
    Get { dst: Temp, reg: Reg },
    /// `reg = src` (types must match; a write of `V` is the full 128 bits).
    Set { reg: Reg, src: Temp },
    /// `dst = a op b` in type `ty`.
    Bin {
        op: BinOp,
        ty: Ty,
        dst: Temp,
        a: Temp,
        b: Temp,
    },
    /// `dst = a op imm` in type `ty` (`imm` zero-extended; the immediate form of `Bin`).
    BinImm {
        op: BinOp,
        ty: Ty,
        dst: Temp,
        a: Temp,
        imm: u64,
    },
    /// `dst = op a` in type `ty`.
    Un {
        op: UnOp,
        ty: Ty,
        dst: Temp,
        a: Temp,
    },
    /// `dst = zero_extend(src)` (dst wider or equal).
    Zext { dst: Temp, src: Temp },
    /// `dst = sign_extend(src)` (dst wider or equal).
    Sext { dst: Temp, src: Temp },
    /// `dst = truncate(src)` (dst narrower or equal).
    Trunc { dst: Temp, src: Temp },
    /// `dst` (I32 NZCV) = flags of `op` on `a`, `b` (type `ty`, I32 or I64), carry `c` (I8).
    Flags {
        op: FlagOp,
        ty: Ty,
        dst: Temp,
        a: Temp,
        b: Temp,
        c: Temp,
    },
    /// `dst` (I8) = 1 if condition `cond` (A64 encoding 0..15) holds for `nzcv` (I32).
    Cond { dst: Temp, cond: u8, nzcv: Temp },
    /// `dst = if c != 0 { a } else { b }`; `c` is I8.
    Select {
        dst: Temp,
        c: Temp,
        a: Temp,
        b: Temp,
    },
    /// `dst = zero_extend(mem[addr .. addr + attr.size])`; `addr` is I64.
    Load {
        dst: Temp,
        addr: Temp,
        attr: MemAttr,
    },
    /// `mem[addr .. addr + attr.size] = low bytes of src`.
    Store {
        addr: Temp,
        src: Temp,
        attr: MemAttr,
    },
    /// Store-exclusive: `status` (I32) = 0 on success, 1 on failure. Clears the monitor.
    StoreExcl {
        status: Temp,
        addr: Temp,
        src: Temp,
        attr: MemAttr,
    },
    /// CLREX: disarms the exclusive monitor.
    ClearExcl,
    /// Memory barrier (no effect on a single core).
    Barrier(Barrier),
    /// Side exit: if `cond` (I8) != 0, the block ends here and continues at `target`,
    /// after `insns` of its guest instructions (a conditional branch in mid-block;
    /// otherwise execution falls through to the next instruction).
    ExitIf { cond: Temp, target: u64, insns: u32 },
    /// DC ZVA: zero the DCZID-sized block containing `addr`.
    DcZva { addr: Temp },
    /// `dst = sysreg` (read).
    SysRead { dst: Temp, reg: SysReg },
    /// `sysreg = src` (write).
    SysWrite { reg: SysReg, src: Temp },
    /// `dst = helper(args, imm)`. Unused argument slots should repeat a valid temp.
    Call {
        dst: Option<Temp>,
        helper: &'static Helper,
        args: [Temp; 3],
        nargs: u8,
        imm: u64,
    },
}

/// How a block ends.
#[derive(Clone, Copy, Debug)]
pub enum Term {
    /// Continue at a fixed address (also used for the fall-through of straight code).
    Jump(u64),
    /// If `cond` (I8) != 0 go to `taken`, else to `not_taken`.
    Branch {
        cond: Temp,
        taken: u64,
        not_taken: u64,
    },
    /// Continue at the address in `target` (I64).
    Indirect { target: Temp, kind: IndKind },
    /// Stop and report to the runner; `pc` is the address of the instruction.
    Exception { kind: ExcKind, pc: u64 },
}

/// A lowered block of guest code.
#[derive(Clone, Debug)]
pub struct Block {
    /// Guest address of the first instruction.
    pub pc: u64,
    /// Number of guest instructions in the block.
    pub ninsns: u32,
    /// Operations in execution order.
    pub ops: Vec<Op>,
    /// Type of each temporary, indexed by [`Temp`].
    pub temps: Vec<Ty>,
    /// The terminator.
    pub term: Term,
}

impl Block {
    /// A new temporary of type `ty` (for passes that add ops).
    pub fn new_temp(&mut self, ty: Ty) -> Temp {
        self.temps.push(ty);
        Temp(self.temps.len() as u32 - 1)
    }
}
