//! `launcher`: see `launcher --help` and the crate documentation.

use std::io::Write;
use std::time::Instant;

use clap::Parser;
use launcher::{Cli, LaunchError, Vm};

fn run(start: Instant) -> Result<launcher::ExitStatus, LaunchError> {
    let config = Cli::parse().into_config(start)?;
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
