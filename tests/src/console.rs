//! Driving a guest's serial console: spawn a process (the launcher, qemu-system-aarch64,
//! a64-system), wait for text, type commands.

use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The shell prompt of the project's initramfs.
pub const PROMPT: &str = "~ # ";

/// A process whose console we drive: stdout (and stderr) collected on threads.
pub struct Console {
    pub child: std::process::Child,
    /// stdout and stderr, kept apart: two pipes read by two threads have no order
    /// between them, so the text is stdout followed by stderr.
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    pub start: Instant,
}

impl Console {
    pub fn spawn(mut cmd: Command) -> Console {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        for (mut r, out) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                out.clone(),
            ),
            (Box::new(child.stderr.take().unwrap()), err.clone()),
        ] {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    out.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        Console {
            child,
            out,
            err,
            start: Instant::now(),
        }
    }

    /// Everything printed so far, terminal escape sequences and CRs removed.
    pub fn text(&self) -> String {
        let mut bytes = self.out.lock().unwrap().clone();
        bytes.extend_from_slice(&self.err.lock().unwrap());
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let mut s = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' && chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else if c != '\r' {
                s.push(c);
            }
        }
        s
    }

    /// Waits until the text from byte `from` on contains `needle`.
    pub fn wait_for(&mut self, from: usize, needle: &str, limit: Duration) -> usize {
        loop {
            let t = self.text();
            if let Some(i) = t.get(from..).and_then(|s| s.find(needle)) {
                return from + i + needle.len();
            }
            if self.start.elapsed() > limit {
                let _ = self.child.kill();
                panic!("no {needle:?} after {limit:?}; console so far:\n{t}");
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "exited ({st}) before printing {needle:?}; console:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }
}

/// What a scripted console session saw.
#[derive(Debug)]
pub struct Session {
    /// Each command's output (between the echoed command and the next prompt), trimmed.
    pub answers: Vec<String>,
    /// Seconds from spawn to the first prompt.
    pub secs_to_prompt: f64,
    /// Exit status after `poweroff`.
    pub status: ExitStatus,
    /// The whole console text.
    pub text: String,
}

/// Spawns `cmd`, waits for `banner` and then the prompt (within `boot_limit`), runs
/// each command (each within `cmd_limit`), then types `poweroff` and waits for the
/// process to exit.
pub fn session(
    cmd: Command,
    banner: &str,
    commands: &[&str],
    boot_limit: Duration,
    cmd_limit: Duration,
) -> Session {
    let mut c = Console::spawn(cmd);
    let b = c.wait_for(0, banner, boot_limit);
    let mut at = c.wait_for(b, PROMPT, boot_limit);
    let secs_to_prompt = c.start.elapsed().as_secs_f64();
    let mut answers = Vec::new();
    for command in commands {
        c.send(command);
        let limit = c.start.elapsed() + cmd_limit;
        let after = c.wait_for(at, PROMPT, limit);
        let t = c.text();
        let answer = &t[at..after - PROMPT.len()];
        // Drop the echoed command line.
        let answer = answer.split_once('\n').map_or("", |(_, rest)| rest);
        answers.push(answer.trim().to_string());
        at = after;
    }
    c.send("poweroff");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = c.child.try_wait().expect("try_wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = c.child.kill();
            panic!("the guest did not power off:\n{}", c.text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let the reader threads catch the last output.
    std::thread::sleep(Duration::from_millis(100));
    Session {
        answers,
        secs_to_prompt,
        status,
        text: c.text(),
    }
}
