//! The prefilter: one Aho-Corasick automaton over every folded name, alias, reading and
//! obfuscated form of every target. A post whose folded text holds none of them (and no
//! personal-data shape) is dismissed by this scan alone and never tokenized.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Why the automaton could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the name automaton over {patterns} patterns: {reason}")]
pub struct PrefilterError {
    patterns: usize,
    reason: String,
}

/// A multi-pattern literal scanner that reports every (overlapping) occurrence.
#[derive(Debug, Clone)]
pub struct Prefilter {
    automaton: AhoCorasick,
    len: usize,
}

impl Prefilter {
    /// Builds the scanner over `patterns` (already normalized and folded).
    pub fn new<I, P>(patterns: I) -> Result<Self, PrefilterError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<[u8]>,
    {
        let patterns: Vec<P> = patterns.into_iter().collect();
        let len = patterns.len();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .map_err(|e| PrefilterError {
                patterns: len,
                reason: e.to_string(),
            })?;
        Ok(Prefilter { automaton, len })
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True if any pattern occurs in `haystack` (stops at the first).
    pub fn is_match(&self, haystack: &str) -> bool {
        self.len > 0 && self.automaton.is_match(haystack)
    }

    /// Every occurrence, overlapping ones included: (pattern index, byte range).
    pub fn find_all(&self, haystack: &str) -> Vec<(usize, Range<usize>)> {
        if self.len == 0 {
            return Vec::new();
        }
        self.automaton
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_usize(), m.range()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_overlapping_patterns() {
        let p = Prefilter::new(["やまだ商事", "商事", "abc"]).expect("build");
        assert!(p.is_match("株式会社やまだ商事です"));
        assert!(!p.is_match("山田さんは会社員"));
        let found = p.find_all("やまだ商事");
        assert_eq!(found.len(), 2);
        assert!(found.iter().any(|(i, r)| *i == 0 && r.start == 0));
    }

    #[test]
    fn empty_set_matches_nothing() {
        let p = Prefilter::new(Vec::<String>::new()).expect("build");
        assert!(p.is_empty());
        assert!(!p.is_match("anything"));
        assert!(p.find_all("anything").is_empty());
    }
}
