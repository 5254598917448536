//! Executable memory for the translator when it runs on the host (`a64-user`,
//! `a64-system`).

/// A fresh private read-write-execute mapping of `len` bytes for translated code
/// (never unmapped: it lives as long as the process).
pub fn code_region(len: usize) -> std::io::Result<jit::CodeRegion> {
    // SAFETY: an anonymous private mapping; the result is checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: the mapping is RWX, ours alone, `len` bytes, and never unmapped.
    Ok(unsafe { jit::CodeRegion::new(p as *mut u8, len) })
}
