//! Engine options, as the launcher's `BootConfig` flags or a QEMU `fw_cfg` string give them.

use shared_abi::hypercall::boot_flags;

/// Options that select what the engine does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub selftest: bool,
    pub stats: bool,
    /// Interpreter only (no translator).
    pub interp: bool,
}

impl Options {
    pub fn from_flags(flags: u64) -> Options {
        Options {
            selftest: flags & boot_flags::SELFTEST != 0,
            stats: flags & boot_flags::STATS != 0,
            interp: flags & boot_flags::INTERP != 0,
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
                "--cpu=interp" => o.interp = true,
                "--cpu=jit" => o.interp = false,
                other => return Err(other),
            }
        }
        Ok(o)
    }
}

/// Seconds since the Unix epoch for a UTC calendar date (years 1970..).
pub fn unix_time(year: u64, month: u64, day: u64, hour: u64, min: u64, sec: u64) -> u64 {
    // Days before each month in a common year.
    const CUM: [u64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let year = year.max(1970);
    let mut days: u64 = (1970..year).map(|y| if leap(y) { 366 } else { 365 }).sum();
    let m = month.clamp(1, 12) as usize;
    days += CUM[m - 1] + u64::from(m > 2 && leap(year)) + day.max(1) - 1;
    days * 86_400 + hour * 3600 + min * 60 + sec
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
                stats: true,
                interp: false
            })
        );
        assert_eq!(Options::parse("--bogus"), Err("--bogus"));
        assert_eq!(
            Options::from_flags(boot_flags::STATS),
            Options {
                selftest: false,
                stats: true,
                interp: false
            }
        );
    }

    #[test]
    fn unix_times() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_time(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(unix_time(2026, 11, 21, 15, 30, 5), 1_795_275_005);
    }
}
