//! The digit chains of the gate: which chains can hold a watched number.

use super::*;

/// Which digit chains can hold a watched number.
///
/// A clear phone, My Number or card value must occur in the chain's digits (a phone without
/// its leading 0, which `+81` replaces); hashed values and bank accounts (whose detector may
/// join numbers across context words) only need a chain of their kind's length.
#[derive(Debug, Clone, Default)]
pub(super) struct DigitValues {
    /// ASCII digits that must end the chain's digits at some point, in a chain of at least
    /// so many digits.
    pub(super) values: Vec<(Vec<u8>, usize)>,
    /// A chain this long passes whatever its digits (hashed values, bank accounts).
    pub(super) any_len: Option<usize>,
    /// A chain holding digits other than ASCII or full-width ones (①, ⑴…) passes at this
    /// length, since those may stand for more than one digit.
    pub(super) exotic_len: Option<usize>,
}

impl DigitValues {
    /// Watches one personal value whose chains need `len` digits.
    pub(super) fn add(&mut self, p: &PersonalValue, len: usize) {
        self.exotic_len = Some(self.exotic_len.map_or(len, |m| m.min(len)));
        let clear = match (&p.value, p.kind) {
            (WatchedValue::Clear(v), PiiKind::Phone | PiiKind::MyNumber | PiiKind::CreditCard) => {
                crate::analyze::pii::normalize_value(p.kind, v).ok()
            }
            _ => None,
        };
        match clear {
            Some(v) => {
                let digits = match p.kind {
                    PiiKind::Phone => v.strip_prefix('0').unwrap_or(&v),
                    _ => v.as_str(),
                };
                self.values.push((digits.as_bytes().to_vec(), len));
            }
            None => self.any_len = Some(self.any_len.map_or(len, |m| m.min(len))),
        }
    }

    /// The fewest digits of any chain that passes.
    pub(super) fn min_len(&self) -> Option<usize> {
        self.exotic_len
    }
}

/// The chains of digits joined by at most three separator characters (how the personal-data
/// detector reads phone, card and My Number chains), checked against the watched numbers.
#[derive(Debug)]
pub(super) struct DigitChain<'a> {
    /// The numbers to look for.
    watched: &'a DigitValues,
    /// Digits in the current chain.
    current: usize,
    /// Separators since the chain's last digit.
    gap: usize,
    /// Digits in the longest chain so far.
    pub(super) longest: usize,
    /// The ASCII digits of the current chain.
    digits: Vec<u8>,
    /// The current chain has a digit of another form.
    exotic: bool,
    /// Some chain can hold a watched number.
    pub(super) hit: bool,
}

impl<'a> DigitChain<'a> {
    /// No chain yet, looking for `watched`.
    pub(super) fn new(watched: &'a DigitValues) -> Self {
        DigitChain {
            watched,
            current: 0,
            gap: 0,
            longest: 0,
            digits: Vec::new(),
            exotic: false,
            hit: false,
        }
    }

    /// A digit: its ASCII form, or `None` for a form that is not read digit by digit.
    pub(super) fn digit(&mut self, d: Option<u8>) {
        if self.current > 0 && self.gap <= 3 {
            self.current += 1;
        } else {
            self.current = 1;
            self.digits.clear();
            self.exotic = false;
        }
        self.gap = 0;
        self.longest = self.longest.max(self.current);
        match d {
            Some(d) => self.digits.push(d),
            None => self.exotic = true,
        }
        let w = self.watched;
        self.hit = self.hit
            || w.any_len.is_some_and(|n| self.current >= n)
            || (self.exotic && w.exotic_len.is_some_and(|n| self.current >= n))
            || w.values
                .iter()
                .any(|(v, n)| self.current >= *n && self.digits.ends_with(v));
    }

    /// A separator: up to three join the digits on either side.
    pub(super) fn separator(&mut self) {
        self.gap += 1;
    }

    /// Anything else ends the chain.
    pub(super) fn other(&mut self) {
        self.current = 0;
        self.gap = 0;
    }
}
