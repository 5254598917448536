//! The console terminal: raw mode while a guest runs (as `qemu -nographic` does), and
//! QEMU's escape `Ctrl-A x` to quit (`Ctrl-A Ctrl-A` sends one Ctrl-A to the guest).

use std::sync::Mutex;

/// The terminal settings to restore, when stdin is a terminal we switched to raw mode.
static SAVED: Mutex<Option<libc::termios>> = Mutex::new(None);

/// Puts stdin in raw mode if it is a terminal; the returned guard restores it.
pub struct RawMode(());

impl RawMode {
    pub fn enter() -> Option<RawMode> {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(0) } != 1 {
            return None;
        }
        // SAFETY: termios is plain data; tcgetattr fills it for fd 0, a terminal.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        // SAFETY: cfmakeraw edits the struct in place.
        unsafe { libc::cfmakeraw(&mut t) };
        // Keep output post-processing off too: the guest sends \r\n itself.
        // SAFETY: fd 0 is a terminal; `t` is a valid termios.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(saved);
        Some(RawMode(()))
    }
}

/// Restores the terminal if we changed it (idempotent).
pub fn restore() {
    if let Some(t) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() {
        // SAFETY: restores the settings read from fd 0 by `RawMode::enter`.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore();
    }
}

/// What the escape filter wants done with a chunk of input.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Filtered {
    /// Bytes for the guest.
    pub bytes: Vec<u8>,
    /// `Ctrl-A x` was typed: quit.
    pub quit: bool,
}

/// QEMU's `Ctrl-A` escape, as a state machine over input bytes.
#[derive(Debug, Default)]
pub struct Escape {
    pending: bool,
}

pub const CTRL_A: u8 = 0x01;

impl Escape {
    pub fn feed(&mut self, input: &[u8]) -> Filtered {
        let mut out = Filtered::default();
        for &b in input {
            if self.pending {
                self.pending = false;
                match b {
                    b'x' | b'X' => {
                        out.quit = true;
                        return out;
                    }
                    CTRL_A => out.bytes.push(CTRL_A),
                    // Other escapes (help, monitor, ...) do not exist here: drop them.
                    _ => {}
                }
            } else if b == CTRL_A {
                self.pending = true;
            } else {
                out.bytes.push(b);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences() {
        let mut e = Escape::default();
        assert_eq!(e.feed(b"ls\r").bytes, b"ls\r");
        let f = e.feed(&[b'a', CTRL_A]);
        assert_eq!(f.bytes, b"a");
        assert!(!f.quit);
        // split across reads
        let f = e.feed(b"x");
        assert!(f.quit);
        let f = e.feed(&[CTRL_A, CTRL_A, b'b', CTRL_A, b'h', b'c']);
        assert_eq!(f.bytes, vec![CTRL_A, b'b', b'c']);
        assert!(!f.quit);
    }
}
