//! How far one run has spelled each ASCII name or romaji key, letter by letter and in order.
//!
//! The gate finds an ASCII name as a substring of a run (or of the run without its
//! separators), and a romaji key only where some of the run's words canonicalize to it. Both
//! write each letter of the name or key from a letter of the run at the same place or a later
//! one (canonicalizing drops letters and may write two from one: `j` gives `zy`, `sh` gives
//! `sy`; see [`crate::text::reading::romaji_key_letter_sources`]). So a run holds one only if
//! the name's or key's letters, each read from one of its sources, form a subsequence of the
//! run's letters in which one letter may stand for several in a row. A set of letters (the
//! first tier's test) cannot tell `sakura` from the random letters of a URL; an order can.

/// One run's progress through every name and key (see the module).
#[derive(Debug, Clone)]
pub(super) struct Spelling {
    /// For each key, how many of its letters the run has spelled.
    at: Vec<usize>,
    /// Some key is spelled in full.
    done: bool,
    /// Some key has a letter spelled (a reset has work to do).
    started: bool,
}

impl Spelling {
    /// A new run, for `keys` names and keys.
    pub(super) fn new(keys: usize) -> Spelling {
        Spelling {
            at: vec![0; keys],
            done: false,
            started: false,
        }
    }

    /// The run ends: start again.
    #[inline]
    pub(super) fn reset(&mut self) {
        if self.started {
            self.at.fill(0);
            self.started = false;
        }
        self.done = false;
    }

    /// Reads one letter of the run (its bit, as in the keys' source masks) and tells whether
    /// some key is now spelled in full. Each key takes as many letters in a row as this one
    /// letter can be a source of: the earliest place for each key letter, which finds a
    /// spelling whenever there is one.
    pub(super) fn feed(&mut self, keys: &[Vec<u32>], bit: u32) -> bool {
        for (at, key) in self.at.iter_mut().zip(keys) {
            while key.get(*at).is_some_and(|sources| sources & bit != 0) {
                *at += 1;
                self.started = true;
            }
            self.done |= *at == key.len();
        }
        self.done
    }

    /// Whether some key is spelled in full in this run.
    #[inline]
    pub(super) fn done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Vec<u32> {
        s.bytes().map(|b| 1u32 << (b - b'a')).collect()
    }

    fn spells(keys: &[Vec<u32>], run: &str) -> bool {
        let mut s = Spelling::new(keys.len());
        run.bytes().any(|b| s.feed(keys, 1 << (b - b'a')))
    }

    #[test]
    fn keys_are_spelled_in_order() {
        let keys = [key("sakura")];
        assert!(spells(&keys, "sakura"));
        assert!(spells(&keys, "xsaakkuuraax"));
        assert!(!spells(&keys, "arukas"));
        assert!(!spells(&keys, "kuraxsa"));
        // One letter may stand for several key letters in a row (`j` is `z` then `y`).
        let zy = vec![
            1 << (b'z' - b'a') | 1 << (b'j' - b'a'),
            1 << (b'y' - b'a') | 1 << (b'j' - b'a'),
            1,
        ];
        assert!(spells(std::slice::from_ref(&zy), "ja"));
        assert!(!spells(&[zy], "aj"));
    }

    #[test]
    fn a_reset_starts_the_run_again() {
        let keys = [key("abc"), key("xy")];
        let mut s = Spelling::new(keys.len());
        assert!(!s.feed(&keys, 1));
        assert!(!s.feed(&keys, 2));
        s.reset();
        assert!(!s.feed(&keys, 4));
        assert!(!s.done());
        assert!(!s.feed(&keys, 1 << (b'x' - b'a')));
        assert!(s.feed(&keys, 1 << (b'y' - b'a')));
        assert!(s.done());
        s.reset();
        assert!(!s.done());
    }
}
