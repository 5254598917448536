//! A physical-frame allocator over the usable memory regions the boot host reports.
//!
//! It hands out aligned, contiguous ranges from the regions (first fit) and can hand
//! over the largest remaining contiguous range (for guest RAM). Freed memory is not
//! reused: the engine allocates its long-lived structures once.

/// Most regions tracked.
pub const MAX_REGIONS: usize = 64;

/// A half-open physical range `[start, end)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Range {
    pub start: u64,
    pub end: u64,
}

impl Range {
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Errors of the frame allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("too many memory regions (at most {MAX_REGIONS})")]
    TooManyRegions,
    #[error("out of physical memory: {0} bytes requested")]
    OutOfMemory(u64),
    #[error("invalid alignment {0}")]
    BadAlign(u64),
}

/// First-fit allocator over up to [`MAX_REGIONS`] free ranges.
#[derive(Clone, Debug)]
pub struct FrameAllocator {
    free: [Range; MAX_REGIONS],
    n: usize,
}

impl Default for FrameAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameAllocator {
    pub const fn new() -> Self {
        FrameAllocator {
            free: [Range { start: 0, end: 0 }; MAX_REGIONS],
            n: 0,
        }
    }

    /// Adds a usable region, trimmed inward to 4 KiB boundaries. Region 0..4K
    /// (the null page) is never handed out.
    pub fn add_region(&mut self, start: u64, end: u64) -> Result<(), FrameError> {
        let start = start.max(0x1000).checked_add(0xfff).map(|v| v & !0xfff);
        let end = end & !0xfff;
        let Some(start) = start else { return Ok(()) };
        if end <= start {
            return Ok(());
        }
        if self.n == MAX_REGIONS {
            return Err(FrameError::TooManyRegions);
        }
        self.free[self.n] = Range { start, end };
        self.n += 1;
        self.free[..self.n].sort_unstable_by_key(|r| r.start);
        Ok(())
    }

    /// The free ranges, sorted by address.
    pub fn free_ranges(&self) -> &[Range] {
        &self.free[..self.n]
    }

    /// Total free bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free_ranges().iter().map(Range::len).sum()
    }

    /// Allocates `size` bytes aligned to `align` (a power of two, at least 4 KiB).
    pub fn alloc(&mut self, size: u64, align: u64) -> Result<u64, FrameError> {
        if !align.is_power_of_two() || align < 0x1000 {
            return Err(FrameError::BadAlign(align));
        }
        let size = size
            .checked_add(0xfff)
            .map(|v| v & !0xfff)
            .ok_or(FrameError::OutOfMemory(size))?;
        for i in 0..self.n {
            let r = self.free[i];
            let Some(start) = r.start.checked_add(align - 1).map(|v| v & !(align - 1)) else {
                continue;
            };
            let Some(end) = start.checked_add(size) else {
                continue;
            };
            if end <= r.end {
                self.carve(i, start, end);
                return Ok(start);
            }
        }
        Err(FrameError::OutOfMemory(size))
    }

    /// Takes the largest free range whose start is aligned to `align`, at most `max`
    /// bytes of it (a multiple of `align`).
    pub fn take_largest(&mut self, align: u64, max: u64) -> Option<Range> {
        let mut best: Option<(usize, Range)> = None;
        for i in 0..self.n {
            let r = self.free[i];
            let start = r.start.checked_add(align - 1)? & !(align - 1);
            if start >= r.end {
                continue;
            }
            let len = ((r.end - start) & !(align - 1)).min(max & !(align - 1));
            if len == 0 {
                continue;
            }
            if best.is_none_or(|(_, b)| len > b.len()) {
                best = Some((
                    i,
                    Range {
                        start,
                        end: start + len,
                    },
                ));
            }
        }
        let (i, r) = best?;
        self.carve(i, r.start, r.end);
        Some(r)
    }

    /// Removes `[start, end)` (inside free range `i`) from the free list.
    fn carve(&mut self, i: usize, start: u64, end: u64) {
        let r = self.free[i];
        let before = Range {
            start: r.start,
            end: start,
        };
        let after = Range {
            start: end,
            end: r.end,
        };
        // Replace range i by `before` and/or `after`.
        let mut parts = [before, after];
        let keep: usize = parts.iter().filter(|p| !p.is_empty()).count();
        parts.sort_unstable_by_key(|p| p.is_empty());
        match keep {
            0 => {
                self.free.copy_within(i + 1..self.n, i);
                self.n -= 1;
            }
            1 => self.free[i] = parts[0],
            _ => {
                if self.n == MAX_REGIONS {
                    // No room to split: drop the smaller piece (memory is lost, not corrupted).
                    self.free[i] = if before.len() >= after.len() {
                        before
                    } else {
                        after
                    };
                } else {
                    self.free.copy_within(i + 1..self.n, i + 2);
                    self.free[i] = before;
                    self.free[i + 1] = after;
                    self.n += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_aligned_and_split() {
        let mut a = FrameAllocator::new();
        a.add_region(0x1000, 0x10_0000).unwrap();
        a.add_region(0x20_0000, 0x80_0000).unwrap();
        let p = a.alloc(0x3000, 0x1000).unwrap();
        assert_eq!(p, 0x1000);
        let q = a.alloc(0x1000, 0x20_0000).unwrap();
        assert_eq!(q, 0x20_0000);
        let r = a.alloc(0x1000, 0x10_0000).unwrap();
        assert_eq!(r, 0x30_0000);
        assert_eq!(a.free_bytes(), (0x10_0000 - 0x4000) + (0x60_0000 - 0x2000));
        // the hole between 0x201000 and 0x300000 is still usable
        assert_eq!(a.alloc(0x1000, 0x1000).unwrap(), 0x4000);
    }

    #[test]
    fn out_of_memory_and_bad_align() {
        let mut a = FrameAllocator::new();
        a.add_region(0, 0x3000).unwrap();
        assert_eq!(a.free_bytes(), 0x2000);
        assert!(matches!(
            a.alloc(0x3000, 0x1000),
            Err(FrameError::OutOfMemory(_))
        ));
        assert_eq!(a.alloc(0x1000, 3), Err(FrameError::BadAlign(3)));
    }

    #[test]
    fn largest() {
        let mut a = FrameAllocator::new();
        a.add_region(0x1000, 0x40_0000).unwrap();
        a.add_region(0x100_0000, 0x300_0000).unwrap();
        let r = a.take_largest(0x20_0000, u64::MAX).unwrap();
        assert_eq!(
            r,
            Range {
                start: 0x100_0000,
                end: 0x300_0000
            }
        );
        let r = a.take_largest(0x20_0000, 0x10_0000);
        assert!(r.is_none(), "max below alignment gives nothing");
        let r = a.take_largest(0x1000, 0x1000).unwrap();
        assert_eq!(r.len(), 0x1000);
    }
}
