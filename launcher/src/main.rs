//! `launcher`: see `launcher --help` and the crate documentation.

use std::io::Write;
use std::time::Instant;

use clap::Parser;
use launcher::{Cli, LaunchError, Vm};

/// The command line, QEMU's single-dash forms included; a usage error is one line
/// on stderr and status 2 (help and version print as usual).
fn parse_cli() -> Cli {
    let usage = |msg: &str| -> ! {
        eprintln!("launcher: {msg} (see --help)");
        std::process::exit(2)
    };
    let args =
        launcher::devopts::rewrite_args(std::env::args().collect()).unwrap_or_else(|e| usage(&e));
    match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // clap's message up to its first blank line (before tips and usage),
            // on one line.
            let text = e.to_string();
            let head: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = head.join(" ");
            usage(line.trim_start_matches("error: ").trim_end_matches(':'))
        }
    }
}

fn run(start: Instant) -> Result<launcher::ExitStatus, LaunchError> {
    let config = parse_cli().into_config(start)?;
    Vm::new(config)?.run()
}

fn main() -> std::process::ExitCode {
    let start = Instant::now();
    let code = match run(start) {
        Ok(status) => {
            let _ = std::io::stdout().flush();
            let msg = status.message.trim_end_matches('\n');
            if !msg.is_empty() {
                eprintln!("{msg}");
            } else if status.code != 0 {
                eprintln!("launcher: the engine exited with code {}", status.code);
            }
            status.exit_code()
        }
        Err(e) => {
            let _ = std::io::stdout().flush();
            eprintln!("launcher: {e}");
            e.exit_code()
        }
    };
    std::process::ExitCode::from(code.code())
}
