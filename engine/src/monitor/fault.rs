//! Faults the monitor takes in ring 3 come back to it as upcalls: [`monitor_upcall`]
//! gets the full register state and either resumes it (possibly changed) or abandons
//! the faulting code by returning to the innermost [`catch`].

use crate::kernel::stubs::{hv_longjmp, hv_try, JmpBuf};
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// Register state at a fault, as `hv_upcall_entry` lays it out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FaultFrame {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    pub vector: u64,
    pub error: u64,
    pub cr2: u64,
    pub cs: u64,
    _pad: [u64; 2],
}

const _: () = assert!(core::mem::size_of::<FaultFrame>() == 192);

pub mod vector {
    pub const DE: u64 = 0;
    pub const BP: u64 = 3;
    pub const UD: u64 = 6;
    pub const GP: u64 = 13;
    pub const PF: u64 = 14;
}

/// What to do with a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Continue the faulting code with the (possibly modified) frame.
    Resume,
    /// Unwind to the innermost `catch`, which returns `Err(frame)`.
    Abandon,
}

type Handler<'a> = &'a mut dyn FnMut(&mut FaultFrame) -> Action;

struct CatchCtx<'a> {
    buf: JmpBuf,
    handler: Handler<'a>,
    fault: FaultFrame,
    prev: *mut CatchCtx<'static>,
}

static CATCH: AtomicPtr<CatchCtx<'static>> = AtomicPtr::new(ptr::null_mut());
/// Upcalls taken (for `--stats`).
pub static UPCALLS: AtomicU64 = AtomicU64::new(0);

/// Runs `f`; faults in it go to `handler`. Returns `Err(frame)` if the handler
/// abandons `f`. Abandoning skips the destructors of `f`'s locals: use it around code
/// that owns nothing that must be dropped.
#[expect(
    clippy::result_large_err,
    reason = "the frame is the answer; catch is not a hot path"
)]
pub fn catch<R, F: FnOnce() -> R>(
    handler: &mut dyn FnMut(&mut FaultFrame) -> Action,
    f: F,
) -> Result<R, FaultFrame> {
    struct Payload<F, R> {
        f: Option<F>,
        r: Option<R>,
    }
    extern "C" fn tramp<F: FnOnce() -> R, R>(p: *mut u8) {
        // SAFETY: `p` is the Payload passed to hv_try below, alive for the call.
        let p = unsafe { &mut *(p as *mut Payload<F, R>) };
        if let Some(f) = p.f.take() {
            p.r = Some(f());
        }
    }
    let mut payload = Payload {
        f: Some(f),
        r: None,
    };
    let mut ctx = CatchCtx {
        buf: JmpBuf::default(),
        handler,
        fault: FaultFrame::default(),
        prev: CATCH.load(Ordering::Acquire),
    };
    let ctx_ptr: *mut CatchCtx<'static> = (&mut ctx as *mut CatchCtx<'_>).cast();
    CATCH.store(ctx_ptr, Ordering::Release);
    // SAFETY: hv_try saves a recovery point in ctx.buf and calls tramp(payload); the
    // upcall handler longjmps there only while ctx is the innermost catch (CATCH).
    let r = unsafe {
        hv_try(
            ptr::addr_of_mut!((*ctx_ptr).buf),
            tramp::<F, R>,
            &mut payload as *mut Payload<F, R> as *mut u8,
        )
    };
    // SAFETY: ctx is still alive; read through the pointer (it may have been written
    // by the upcall path before the longjmp).
    let (prev, fault) = unsafe {
        (
            (*ctx_ptr).prev,
            ptr::read_volatile(ptr::addr_of!((*ctx_ptr).fault)),
        )
    };
    CATCH.store(prev, Ordering::Release);
    if r == 0 {
        match payload.r {
            Some(v) => Ok(v),
            None => Err(fault),
        }
    } else {
        Err(fault)
    }
}

/// Called by `hv_upcall_entry` on the upcall stack for every fault in ring 3. When it
/// returns, the frame is resumed.
pub extern "C" fn monitor_upcall(frame: &mut FaultFrame) {
    UPCALLS.fetch_add(1, Ordering::Relaxed);
    let ctx = CATCH.load(Ordering::Acquire);
    if ctx.is_null() {
        panic!(
            "unhandled exception {} (error {:#x}) at {:#x}, cr2 {:#x}",
            frame.vector, frame.error, frame.rip, frame.cr2
        );
    }
    // SAFETY: ctx is the innermost live catch (the catch that installed it has not
    // returned: it removes itself before returning).
    let ctx = unsafe { &mut *ctx };
    // Faults inside the handler itself go to the enclosing catch.
    CATCH.store(ctx.prev, Ordering::Release);
    let action = (ctx.handler)(frame);
    CATCH.store(ctx as *mut _, Ordering::Release);
    match action {
        Action::Resume => {}
        Action::Abandon => {
            ctx.fault = *frame;
            // SAFETY: ctx.buf was filled by hv_try, whose frame is still live.
            unsafe { hv_longjmp(&ctx.buf, 1) }
        }
    }
}
