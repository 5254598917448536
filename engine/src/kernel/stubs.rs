//! Ring-0 entry stubs, the int3 service dispatcher and its services, and the ring-3
//! halves of the upcall path (entry, resume, try/abandon), all in assembly.
//!
//! Ring-0 instructions cost ~1.6k cycles each on our KVM (PVM emulates ring 0), so
//! every ring-0 path here is a handful of instructions:
//!
//! * exception from ring 3: the stub pushes the vector (and a zero error code), saves
//!   CR2 next to the CPU's frame on the RSP0 stack (a user-readable page of the engine
//!   image), and `iretq`s to `upcall_entry` in ring 3, which copies that frame and the
//!   untouched GPRs into a [`FaultFrame`](crate::monitor::fault::FaultFrame) and calls
//!   the monitor. The monitor resumes in ring 3 (no ring-0 transition) or abandons.
//! * interrupt: set the vector's pending bit and `IRQ_FLAG`, EOI, `iretq` (IST1).
//! * int3 with `rax = SVC_MAGIC + n`: service `n` (a few instructions each), `iretq`.
//!   Any other int3 is a #BP upcall.

use super::{
    pio_service, ring0_fatal, IRQ_FLAG, IRQ_PENDING, KSTACK, KSTACK_SIZE, UPCALL_SCRATCH,
    UPCALL_STACK, UPCALL_STACK_SIZE,
};
use crate::monitor::fault::monitor_upcall;
use shared_abi::hypercall::HYPERCALL_PORT;

/// `rax` value that selects service 0; service `n` is `SVC_MAGIC + n`.
pub const SVC_MAGIC: u64 = 0x5eca_0000;

/// Ring-0 services, callable from ring 3 (and ring 0) with int3.
#[repr(u64)]
#[derive(Clone, Copy, Debug)]
pub enum Svc {
    /// rdi -> rdi + 1.
    Ping = 0,
    /// Hypercall to the launcher: rdi = VM-physical address of the block (< 4 GiB).
    Hypercall = 1,
    /// CR3 <- rdi.
    WriteCr3 = 2,
    /// rax <- CR3.
    ReadCr3 = 3,
    /// INVLPG [rdi].
    Invlpg = 4,
    /// `sti; hlt` unless an interrupt is already pending; returns after it.
    Hlt = 5,
    /// IA32_TSC_DEADLINE <- rdi (0 disarms).
    SetDeadline = 6,
    /// x2APIC EOI. The interrupt stubs EOI themselves; this is for interrupt sources
    /// the monitor acknowledges late (level-triggered devices of the guest platform).
    #[expect(
        dead_code,
        reason = "first user: the guest platform's device interrupts"
    )]
    Eoi = 7,
    /// Spin rdi iterations of a 2-instruction loop in ring 0 (calibration).
    Spin = 8,
    /// Port I/O for the QEMU host (allow-listed ports): rdi = port, rsi = value,
    /// rdx = size (1, 2, 4) | 0x100 for a read; rax <- value read.
    Pio = 9,
    /// x2APIC timer initial count <- rdi (one-shot mode, for CPUs without TSC-deadline).
    SetOneShot = 10,
    /// rax <- x2APIC timer current count.
    ApicCount = 11,
}

pub const SVC_COUNT: u64 = 12;

/// Error-code-pushing exception vectors.
macro_rules! has_err {
    () => {
        "((vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30))"
    };
}

core::arch::global_asm!(
    ".section .text.hvstubs, \"ax\"",
    // ---- exceptions 0..31: fixed 16-byte stubs at exc_stubs + 16*vec ----
    ".balign 16",
    ".global hv_exc_stubs",
    "hv_exc_stubs:",
    ".set vec, 0",
    ".rept 32",
    ".balign 16",
    concat!(".if ", has_err!(), " == 0"),
    "push 0",
    ".endif",
    "push vec",
    "jmp hv_exc_common",
    ".set vec, vec + 1",
    ".endr",
    // ---- interrupts 32..255: fixed 16-byte stubs at irq_stubs + 16*(vec-32) ----
    ".balign 16",
    ".global hv_irq_stubs",
    "hv_irq_stubs:",
    ".set vec, 32",
    ".rept 224",
    ".balign 16",
    "bts qword ptr [{pending} + (vec >> 6) * 8], (vec & 63)",
    "jmp hv_irq_common",
    ".set vec, vec + 1",
    ".endr",
    "hv_irq_common:",
    "mov byte ptr [{irq_flag}], 1",
    "push rax",
    "push rcx",
    "push rdx",
    "mov ecx, 0x80b",
    "xor eax, eax",
    "xor edx, edx",
    "wrmsr",
    "pop rdx",
    "pop rcx",
    "pop rax",
    "iretq",
    // ---- common exception path ----
    // [rsp]=vec, +8 err, +16 rip, +24 cs, +32 rflags, +40 rsp, +48 ss
    "hv_exc_common:",
    "test byte ptr [rsp + 24], 3",
    "jz 2f",
    "push rax",
    "mov rax, cr2",
    "xchg [rsp], rax",
    // new iret frame: ring 3 at upcall_entry on the upcall stack, IF=1
    "push 0x1b",
    "push qword ptr [{upcall_rsp}]",
    "push 0x202",
    "push 0x23",
    "push qword ptr [{upcall_rip}]",
    "iretq",
    "2:",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {ring0_fatal}",
    "ud2",
    // ---- int3: services or #BP upcall ----
    ".balign 16",
    ".global hv_bp_entry",
    "hv_bp_entry:",
    "sub rax, {svc_magic}",
    "cmp rax, {svc_count}",
    "jae 3f",
    "jmp qword ptr [hv_svc_table + rax * 8]",
    "3:",
    "add rax, {svc_magic}",
    "push 0",
    "push 3",
    "jmp hv_exc_common",
    // ---- services ----
    "hv_svc_ping:",
    "lea rax, [rdi + 1]",
    "iretq",
    "hv_svc_hypercall:",
    "mov eax, edi",
    "mov edx, {hc_port}",
    "out dx, eax",
    "iretq",
    "hv_svc_write_cr3:",
    "mov cr3, rdi",
    "iretq",
    "hv_svc_read_cr3:",
    "mov rax, cr3",
    "iretq",
    "hv_svc_invlpg:",
    "invlpg [rdi]",
    "iretq",
    "hv_svc_hlt:",
    "cmp byte ptr [{irq_flag}], 0",
    "jne 4f",
    "sti",
    "hlt",
    "cli",
    "4:",
    "iretq",
    "hv_svc_deadline:",
    "mov ecx, 0x6e0",
    "mov eax, edi",
    "mov rdx, rdi",
    "shr rdx, 32",
    "wrmsr",
    "iretq",
    "hv_svc_eoi:",
    "mov ecx, 0x80b",
    "xor eax, eax",
    "xor edx, edx",
    "wrmsr",
    "iretq",
    "hv_svc_spin:",
    "mov rcx, rdi",
    "test rcx, rcx",
    "jz 6f",
    "5:",
    "dec rcx",
    "jnz 5b",
    "6:",
    "iretq",
    "hv_svc_oneshot:",
    "mov ecx, 0x838",
    "mov eax, edi",
    "xor edx, edx",
    "wrmsr",
    "iretq",
    "hv_svc_apic_count:",
    "mov ecx, 0x839",
    "rdmsr",
    "shl rdx, 32",
    "or rax, rdx",
    "iretq",
    "hv_svc_pio:",
    // entered with rsp = 8 mod 16 (5-qword CPU frame on a 16-aligned stack)
    "sub rsp, 8",
    "call {pio_service}",
    "add rsp, 8",
    "iretq",
    // ---- ring 3: upcall entry ----
    ".balign 16",
    ".global hv_upcall_entry",
    "hv_upcall_entry:",
    "mov [{scratch}], rax",
    // original rsp, from the CPU frame left on the RSP0 stack
    "mov rax, [{kstack} + {kstack_size} - 16]",
    "lea rsp, [{ustack} + 4096]",
    "cmp rax, rsp",
    "jb 7f",
    "lea rsp, [{ustack} + {ustack_size}]",
    "cmp rax, rsp",
    "ja 7f",
    // nested fault on the upcall stack: continue below the faulting frame
    "lea rsp, [rax - 512]",
    "and rsp, -16",
    "jmp 8f",
    "7:",
    "lea rsp, [{ustack} + {ustack_size}]",
    "8:",
    "sub rsp, 192",
    "mov [rsp + 8], rbx",
    "mov [rsp + 16], rcx",
    "mov [rsp + 24], rdx",
    "mov [rsp + 32], rsi",
    "mov [rsp + 40], rdi",
    "mov [rsp + 48], rbp",
    "mov [rsp + 64], r8",
    "mov [rsp + 72], r9",
    "mov [rsp + 80], r10",
    "mov [rsp + 88], r11",
    "mov [rsp + 96], r12",
    "mov [rsp + 104], r13",
    "mov [rsp + 112], r14",
    "mov [rsp + 120], r15",
    "mov rax, [{scratch}]",
    "mov [rsp], rax",
    "mov rax, [{kstack} + {kstack_size} - 16]",
    "mov [rsp + 56], rax",
    "mov rax, [{kstack} + {kstack_size} - 40]",
    "mov [rsp + 128], rax",
    "mov rax, [{kstack} + {kstack_size} - 24]",
    "mov [rsp + 136], rax",
    "mov rax, [{kstack} + {kstack_size} - 56]",
    "mov [rsp + 144], rax",
    "mov rax, [{kstack} + {kstack_size} - 48]",
    "mov [rsp + 152], rax",
    "mov rax, [{kstack} + {kstack_size} - 64]",
    "mov [rsp + 160], rax",
    "mov rax, [{kstack} + {kstack_size} - 32]",
    "mov [rsp + 168], rax",
    "mov rdi, rsp",
    "call {upcall}",
    "mov rdi, rsp",
    // fall through: resume the (possibly modified) frame
    // ---- ring 3: resume a FaultFrame at rdi ----
    ".global hv_resume_frame",
    "hv_resume_frame:",
    "mov rax, [rdi + 56]",
    "sub rax, 16",
    "mov rcx, [rdi + 128]",
    "mov [rax + 8], rcx",
    "mov rcx, [rdi + 136]",
    "mov [rax], rcx",
    "mov rbx, [rdi + 8]",
    "mov rcx, [rdi + 16]",
    "mov rdx, [rdi + 24]",
    "mov rsi, [rdi + 32]",
    "mov rbp, [rdi + 48]",
    "mov r8, [rdi + 64]",
    "mov r9, [rdi + 72]",
    "mov r10, [rdi + 80]",
    "mov r11, [rdi + 88]",
    "mov r12, [rdi + 96]",
    "mov r13, [rdi + 104]",
    "mov r14, [rdi + 112]",
    "mov r15, [rdi + 120]",
    "mov rsp, rax",
    "mov rax, [rdi]",
    "mov rdi, [rdi + 40]",
    "popfq",
    "ret",
    // ---- ring 3: hv_try(buf, f, arg) -> 0, or the value given to hv_longjmp ----
    ".global hv_try",
    "hv_try:",
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 48], rax",
    "mov rax, [rsp]",
    "mov [rdi + 56], rax",
    "mov rax, rsi",
    "mov rdi, rdx",
    "sub rsp, 8",
    "call rax",
    "add rsp, 8",
    "xor eax, eax",
    "ret",
    ".global hv_longjmp",
    "hv_longjmp:",
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov rax, rsi",
    "jmp qword ptr [rdi + 56]",
    // ---- probes with known fault sites (self-tests and calibration) ----
    ".global hv_probe_read",
    ".global hv_probe_read_end",
    "hv_probe_read:",
    "mov rax, [rdi]",
    "hv_probe_read_end:",
    "ret",
    ".global hv_probe_ud2",
    "hv_probe_ud2:",
    "ud2",
    "ret",
    ".global hv_probe_cli",
    "hv_probe_cli:",
    "cli",
    "ret",
    ".global hv_probe_div",
    ".global hv_probe_div_end",
    "hv_probe_div:",
    "xor edx, edx",
    "mov rax, rdi",
    "div rsi",
    "hv_probe_div_end:",
    "ret",
    ".global hv_probe_int3",
    ".global hv_probe_int3_end",
    "hv_probe_int3:",
    "xor eax, eax",
    "int3",
    "hv_probe_int3_end:",
    "ret",
    // ---- service table ----
    ".section .rodata.hvsvc, \"a\"",
    ".balign 8",
    "hv_svc_table:",
    ".quad hv_svc_ping, hv_svc_hypercall, hv_svc_write_cr3, hv_svc_read_cr3, hv_svc_invlpg",
    ".quad hv_svc_hlt, hv_svc_deadline, hv_svc_eoi, hv_svc_spin, hv_svc_pio",
    ".quad hv_svc_oneshot, hv_svc_apic_count",
    ".text",
    pending = sym IRQ_PENDING,
    irq_flag = sym IRQ_FLAG,
    upcall_rsp = sym super::UPCALL_RSP,
    upcall_rip = sym super::UPCALL_RIP,
    ring0_fatal = sym ring0_fatal,
    svc_magic = const SVC_MAGIC,
    svc_count = const SVC_COUNT,
    hc_port = const HYPERCALL_PORT,
    pio_service = sym pio_service,
    scratch = sym UPCALL_SCRATCH,
    kstack = sym KSTACK,
    kstack_size = const KSTACK_SIZE,
    ustack = sym UPCALL_STACK,
    ustack_size = const UPCALL_STACK_SIZE,
    upcall = sym monitor_upcall,
);

unsafe extern "C" {
    pub fn hv_exc_stubs();
    pub fn hv_irq_stubs();
    pub fn hv_bp_entry();
    pub fn hv_upcall_entry();
    /// Calls `f(arg)` with a recovery point in `buf`; returns 0 when `f` returns, or
    /// the value passed to [`hv_longjmp`].
    pub fn hv_try(buf: *mut JmpBuf, f: extern "C" fn(*mut u8), arg: *mut u8) -> u64;
    /// Returns to the recovery point `buf` with `value` (non-zero).
    pub fn hv_longjmp(buf: *const JmpBuf, value: u64) -> !;
    pub fn hv_probe_read(addr: u64) -> u64;
    pub fn hv_probe_read_end();
    pub fn hv_probe_ud2();
    pub fn hv_probe_cli();
    pub fn hv_probe_div(a: u64, b: u64) -> u64;
    pub fn hv_probe_div_end();
    pub fn hv_probe_int3();
    pub fn hv_probe_int3_end();
}

/// Callee-saved registers, stack pointer and return address for [`hv_try`].
#[repr(C)]
#[derive(Default, Debug)]
pub struct JmpBuf {
    pub regs: [u64; 8],
}

/// Calls ring-0 service `svc` with up to three arguments; returns rax.
#[inline(always)]
pub fn svc(svc: Svc, a: u64, b: u64, c: u64) -> u64 {
    let ret: u64;
    // SAFETY: int3 with rax = SVC_MAGIC + n enters the ring-0 dispatcher, which runs
    // service n and returns with iretq; the services clobber at most the C
    // caller-saved registers (declared below) and touch no Rust-visible memory.
    unsafe {
        core::arch::asm!(
            "int3",
            inlateout("rax") SVC_MAGIC + svc as u64 => ret,
            inlateout("rdi") a => _,
            inlateout("rsi") b => _,
            inlateout("rdx") c => _,
            out("rcx") _, out("r8") _, out("r9") _, out("r10") _, out("r11") _,
        );
    }
    ret
}
