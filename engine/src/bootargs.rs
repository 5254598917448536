//! Engine options, as the launcher's `BootConfig` flags or a QEMU `fw_cfg` string give them.

use shared_abi::hypercall::boot_flags;

/// Options that select what the engine does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub selftest: bool,
    pub stats: bool,
}

impl Options {
    pub fn from_flags(flags: u64) -> Options {
        Options {
            selftest: flags & boot_flags::SELFTEST != 0,
            stats: flags & boot_flags::STATS != 0,
        }
    }

    /// Parses a whitespace-separated option string (`--selftest --stats`). Unknown words
    /// are returned as the error so the engine can report them.
    pub fn parse(s: &str) -> Result<Options, &str> {
        let mut o = Options::default();
        for w in s.split_ascii_whitespace() {
            match w {
                "--selftest" => o.selftest = true,
                "--stats" => o.stats = true,
                other => return Err(other),
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_flags() {
        assert_eq!(
            Options::parse(" --stats  --selftest\n"),
            Ok(Options {
                selftest: true,
                stats: true
            })
        );
        assert_eq!(Options::parse("--bogus"), Err("--bogus"));
        assert_eq!(
            Options::from_flags(boot_flags::STATS),
            Options {
                selftest: false,
                stats: true
            }
        );
    }
}
