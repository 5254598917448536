//! Memory sizes in QEMU's `-m` syntax: a plain number is MiB; suffixes `K`, `M`, `G`,
//! `T` (any case, optionally followed by `B` or `iB`) scale by powers of 1024; `B`
//! alone means bytes; fractions such as `1.5G` are allowed (the result is truncated to
//! whole bytes).

/// Why a size did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("it is empty")]
    Empty,
    #[error("expected a number with an optional K/M/G/T suffix")]
    Syntax,
    #[error("unknown suffix (use K, M, G or T)")]
    Suffix,
    /// The value does not fit in 64 bits.
    #[error("it is too large")]
    Overflow,
}

/// Parses a size; see the module documentation.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(SizeError::Empty);
    }
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    let (int_part, frac_part) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(SizeError::Syntax);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        // A second '.'.
        return Err(SizeError::Syntax);
    }
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" => 20,
        "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => {
            return Err(if suffix.starts_with(|c: char| c.is_ascii_alphabetic()) {
                SizeError::Suffix
            } else {
                SizeError::Syntax
            })
        }
    };
    let mul: u128 = 1u128 << shift;
    let mut int: u128 = 0;
    for b in int_part.bytes() {
        int = int
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(b - b'0')))
            .filter(|v| *v <= u128::from(u64::MAX))
            .ok_or(SizeError::Overflow)?;
    }
    let mut bytes = int.checked_mul(mul).ok_or(SizeError::Overflow)?;
    // The fraction: digits beyond 19 cannot change a whole-byte result of a 2^40 multiple.
    let mut frac: u128 = 0;
    let mut den: u128 = 1;
    for b in frac_part.bytes().take(19) {
        frac = frac * 10 + u128::from(b - b'0');
        den *= 10;
    }
    bytes = bytes
        .checked_add(frac * mul / den)
        .ok_or(SizeError::Overflow)?;
    u64::try_from(bytes).map_err(|_| SizeError::Overflow)
}

/// Formats a size compactly with the largest exact binary suffix (`16M`, `1536K`, `7`).
pub fn format_size(bytes: u64) -> String {
    for (shift, suffix) in [(40, "T"), (30, "G"), (20, "M"), (10, "K")] {
        if bytes != 0 && bytes.trailing_zeros() >= shift {
            return format!("{}{}", bytes >> shift, suffix);
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_are_mib() {
        assert_eq!(parse_size("512"), Ok(512 << 20));
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size(" 16 "), Ok(16 << 20));
    }

    #[test]
    fn suffixes() {
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("1KB"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("1kib"), Ok(1024));
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("2mb"), Ok(2 << 20));
        assert_eq!(parse_size("3G"), Ok(3 << 30));
        assert_eq!(parse_size("3GiB"), Ok(3 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert_eq!(parse_size("4096B"), Ok(4096));
        assert_eq!(parse_size("4096b"), Ok(4096));
    }

    #[test]
    fn fractions() {
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("0.5"), Ok(512 << 10));
        assert_eq!(parse_size(".5K"), Ok(512));
        assert_eq!(parse_size("2.K"), Ok(2048));
        assert_eq!(parse_size("1.3K"), Ok(1331)); // 1331.2 truncated
        assert_eq!(parse_size("0.000000000000000000000001T"), Ok(0));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_size(""), Err(SizeError::Empty));
        assert_eq!(parse_size("   "), Err(SizeError::Empty));
        assert_eq!(parse_size("banana"), Err(SizeError::Syntax));
        assert_eq!(parse_size("."), Err(SizeError::Syntax));
        assert_eq!(parse_size("1.2.3"), Err(SizeError::Syntax));
        assert_eq!(parse_size("-1"), Err(SizeError::Syntax));
        assert_eq!(parse_size("12Q"), Err(SizeError::Suffix));
        assert_eq!(parse_size("12 M"), Err(SizeError::Syntax));
        assert_eq!(parse_size("1MM"), Err(SizeError::Suffix));
        assert_eq!(parse_size("1Bi"), Err(SizeError::Suffix));
        assert_eq!(parse_size("1e9"), Err(SizeError::Suffix));
    }

    #[test]
    fn overflow() {
        assert_eq!(parse_size("16777216T"), Err(SizeError::Overflow));
        assert_eq!(parse_size("16777215T"), Ok(16777215 << 40));
        assert_eq!(
            parse_size("99999999999999999999999999999999999"),
            Err(SizeError::Overflow)
        );
        assert_eq!(parse_size("18446744073709551615B"), Ok(u64::MAX));
        assert_eq!(
            parse_size("18446744073709551616B"),
            Err(SizeError::Overflow)
        );
    }

    #[test]
    fn formatting() {
        assert_eq!(format_size(16 << 20), "16M");
        assert_eq!(format_size(255 << 30), "255G");
        assert_eq!(format_size(1536 << 10), "1536K");
        assert_eq!(format_size(7), "7B");
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(1 << 40), "1T");
    }
}
