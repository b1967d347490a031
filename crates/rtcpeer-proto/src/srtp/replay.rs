//! The sliding replay window of RFC 3711 §3.3.2 (Appendix A), over SRTP packet indices or
//! SRTCP indices: a bitmap of the last `size` indices below the highest one authenticated.

use super::SrtpError;

/// Bounds of a replay window, in packets (libsrtp accepts 64..0x8000 too).
pub(crate) const MIN_WINDOW: u32 = 64;
pub(crate) const MAX_WINDOW: u32 = 32768;

/// A replay window: the highest index seen and which of the `size` indices up to it were
/// seen. Bit `i % size` stands for index `i`; advancing clears the bits of the indices that
/// leave the window, word by word (O(size/64) at most, O(1) for in-order packets).
#[derive(Debug, Clone)]
pub(crate) struct ReplayWindow {
    top: u64,
    bits: Box<[u64]>,
}

impl ReplayWindow {
    /// A window of `size` packets (rounded up to a multiple of 64 within the bounds) whose
    /// first accepted index is `first`.
    pub(crate) fn new(size: u32, first: u64) -> ReplayWindow {
        let words = size.clamp(MIN_WINDOW, MAX_WINDOW).div_ceil(64) as usize;
        let mut w = ReplayWindow {
            top: first,
            bits: vec![0u64; words].into_boxed_slice(),
        };
        w.set(first);
        w
    }

    /// The window size in packets.
    pub(crate) fn size(&self) -> u64 {
        self.bits.len() as u64 * 64
    }

    /// The highest index accepted so far.
    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    fn position(&self, index: u64) -> (usize, u64) {
        let pos = index % self.size();
        ((pos / 64) as usize, 1u64 << (pos % 64))
    }

    fn set(&mut self, index: u64) {
        let (word, mask) = self.position(index);
        if let Some(w) = self.bits.get_mut(word) {
            *w |= mask;
        }
    }

    /// Whether `index` may be accepted: newer than the top, or inside the window and unseen.
    pub(crate) fn check(&self, index: u64) -> Result<(), SrtpError> {
        if index > self.top {
            return Ok(());
        }
        if self.top - index >= self.size() {
            return Err(SrtpError::TooOld);
        }
        let (word, mask) = self.position(index);
        match self.bits.get(word) {
            Some(w) if w & mask == 0 => Ok(()),
            _ => Err(SrtpError::Replayed),
        }
    }

    /// Records `index` as received (after it authenticated); slides the window if it is new.
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.top {
            let size = self.size();
            if index - self.top >= size {
                self.bits.fill(0);
            } else {
                // Clear the bits of top+1..=index (they held indices that now leave).
                let mut i = self.top + 1;
                while i <= index {
                    let pos = i % size;
                    let bit = pos % 64;
                    let n = (64 - bit).min(index - i + 1);
                    let mask = if n == 64 {
                        u64::MAX
                    } else {
                        ((1u64 << n) - 1) << bit
                    };
                    if let Some(w) = self.bits.get_mut((pos / 64) as usize) {
                        *w &= !mask;
                    }
                    i += n;
                }
            }
            self.top = index;
        }
        self.set(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRandom;
    use crate::util::RandomSource;

    #[test]
    fn duplicate_rejected_old_in_window_once_too_old_rejected() {
        let mut w = ReplayWindow::new(128, 1000);
        assert_eq!(w.check(1000), Err(SrtpError::Replayed));
        assert_eq!(w.check(1001), Ok(()));
        w.accept(1001);
        w.accept(1100);
        // 990 is older than the first packet but inside the window: accepted once.
        assert_eq!(w.check(990), Ok(()));
        w.accept(990);
        assert_eq!(w.check(990), Err(SrtpError::Replayed));
        // 1100 - 972 = 128: just outside a 128-packet window.
        assert_eq!(w.check(972), Err(SrtpError::TooOld));
        assert_eq!(w.check(973), Ok(()));
        // A jump larger than the window forgets everything below.
        w.accept(5000);
        assert_eq!(w.check(1100), Err(SrtpError::TooOld));
        assert_eq!(w.check(4999), Ok(()));
        assert_eq!(w.check(5000), Err(SrtpError::Replayed));
        assert_eq!(w.size(), 128);
        assert_eq!(ReplayWindow::new(1, 0).size(), 64);
        assert_eq!(ReplayWindow::new(1000, 0).size(), 1024);
        assert_eq!(ReplayWindow::new(u32::MAX, 0).size(), 32768);
    }

    /// The bitmap agrees with a plain set of indices for random arrivals.
    #[test]
    fn matches_a_reference_model() {
        let mut rng = SeededRandom::new(7);
        for size in [64u32, 128, 1024] {
            let mut w = ReplayWindow::new(size, 50_000);
            let mut seen = std::collections::BTreeSet::from([50_000u64]);
            let mut top = 50_000u64;
            for _ in 0..20_000 {
                let mut b = [0u8; 4];
                rng.fill(&mut b);
                let r = u32::from_le_bytes(b);
                let delta = i64::from(r % 2600) - 1300;
                let idx = (top as i64 + delta) as u64;
                let expected = if idx > top {
                    Ok(())
                } else if top - idx >= u64::from(size) {
                    Err(SrtpError::TooOld)
                } else if seen.contains(&idx) {
                    Err(SrtpError::Replayed)
                } else {
                    Ok(())
                };
                assert_eq!(w.check(idx), expected, "size {size} idx {idx} top {top}");
                if expected.is_ok() && r & 1 == 0 {
                    w.accept(idx);
                    seen.insert(idx);
                    top = top.max(idx);
                }
                assert_eq!(w.top(), top);
            }
        }
    }
}
