//! Digit chains as the gate reads them.

use super::role::{DIGIT, SEPARATOR, TRANSPARENT};

/// A digit chain as the gate reads it: digits joined by at most three separators.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Chain {
    /// Digits in the chain.
    pub(super) len: usize,
    /// Separators since its last digit.
    pub(super) gap: usize,
    /// Its last 16 digits, 4 bits each.
    pub(super) tail: u64,
}

impl Chain {
    /// Steps over a character of role flags `f` and value `value`; true if it was a digit.
    #[inline(always)]
    pub(super) fn step(&mut self, f: u8, value: u8) -> bool {
        if f & DIGIT != 0 {
            self.len = if self.len > 0 && self.gap <= 3 {
                self.len + 1
            } else {
                1
            };
            self.gap = 0;
            self.tail = (self.tail << 4) | u64::from(value);
            true
        } else {
            if f & SEPARATOR != 0 {
                self.gap += 1;
            } else if f & TRANSPARENT == 0 {
                self.end();
            }
            false
        }
    }

    /// Ends the chain (its tail stays, as the gate keeps it).
    #[inline(always)]
    pub(super) fn end(&mut self) {
        (self.len, self.gap) = (0, 0);
    }
}
