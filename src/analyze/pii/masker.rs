//! Masking personal data in text shown to people (the hit page, the API, `search`, `hits`,
//! `evidence show`): whatever the detector finds, and every watched value wherever it
//! appears, whatever the detector thinks of it.
//!
//! The detector ([`super::detect`]) is built to flag leaks, so it rejects what is not
//! plausibly a real value: a known test card number, a number glued to letters, a phone
//! number of an odd shape. A watched value is masked all the same: the text is normalized as
//! the analyzer reads it (so full-width digits, zero-width characters and a run reversed by a
//! right-to-left override hide nothing), cut into digit groups joined by at most three
//! separator characters, and every run of whole groups is compared with the watched values
//! of the digit kinds (phone, My Number, card, bank account): in clear by its digits, hashed
//! by the SHA-256 of its digits (a phone after `+81` also as `0…`). E-mail addresses and
//! street addresses are masked wherever the detector finds one, watched or not.

use std::collections::HashMap;
use std::ops::Range;

use super::{PiiKind, WatchedValue, detect, hash_value, mask};
use crate::config::Watchlist;
use crate::text::normalize;

/// Most digits a watched digit value has in text (a card: 19).
const MAX_DIGITS: usize = 19;
/// Fewest digits a watched digit value has (a bank account: 6).
const MIN_DIGITS: usize = 6;
/// Most groups one value is written in (`4111 1111 1111 1111`, `+81 90 2345 6789`).
const MAX_GROUPS: usize = 8;

/// Ranges to mask with their masks: sorted by start, non-overlapping.
pub type MaskRanges = Vec<(Range<usize>, String)>;

/// Masks text for display: the detector's findings and the watched values of a watchlist.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Watched digit values in clear: digits → kind.
    clear: HashMap<String, PiiKind>,
    /// Watched digit values given as hashes: lower-case hex → kind.
    hashed: HashMap<String, PiiKind>,
}

fn digit_kind(kind: PiiKind) -> bool {
    matches!(
        kind,
        PiiKind::Phone | PiiKind::MyNumber | PiiKind::CreditCard | PiiKind::BankAccount
    )
}

impl Masker {
    /// A masker for these watched values (e-mails and addresses need none: every one the
    /// detector finds is masked).
    pub fn new<'a>(values: impl IntoIterator<Item = (PiiKind, &'a WatchedValue)>) -> Masker {
        let mut m = Masker::default();
        for (kind, value) in values.into_iter().filter(|(k, _)| digit_kind(*k)) {
            match value {
                WatchedValue::Clear(v) => {
                    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                    m.clear.insert(digits, kind);
                }
                WatchedValue::Hashed(h) => {
                    let h = h.trim().trim_start_matches("sha256:").to_ascii_lowercase();
                    m.hashed.insert(h, kind);
                }
            }
        }
        m
    }

    /// A masker for every watched value of `watchlist` (detector findings only without one).
    pub fn of_watchlist(watchlist: Option<&Watchlist>) -> Masker {
        Masker::new(
            watchlist
                .into_iter()
                .flat_map(|w| w.targets.iter())
                .flat_map(|t| t.personal.iter())
                .map(|p| (p.kind, &p.value)),
        )
    }

    /// The ranges of `text` to mask, with their masks (sorted, non-overlapping).
    pub fn ranges(&self, text: &str) -> MaskRanges {
        let mut ranges: MaskRanges = detect(text)
            .into_iter()
            .map(|f| (f.range, mask(f.kind, &f.normalized)))
            .collect();
        let norm = normalize::normalize(text);
        for f in detect(&norm.text) {
            ranges.push((norm.original_range(f.range), mask(f.kind, &f.normalized)));
        }
        if !self.clear.is_empty() || !self.hashed.is_empty() {
            for (r, kind, digits) in self.watched_digits(&norm.text) {
                ranges.push((norm.original_range(r), mask(kind, &digits)));
            }
        }
        merge(ranges)
    }

    /// `text` with every range of [`Masker::ranges`] replaced by its mask.
    pub fn mask(&self, text: &str) -> String {
        apply_masks(text, &self.ranges(text)).0
    }

    /// A snippet with matches between `«` and `»`, masked: the marks are taken out before
    /// looking for values (a highlight inside a number must not hide it), and put back around
    /// the same text, a highlight that reaches into a masked value covering its whole mask.
    pub fn mask_marked(&self, snippet: &str) -> String {
        let mut plain = String::with_capacity(snippet.len());
        let mut marks: Vec<Range<usize>> = Vec::new();
        let mut open = None;
        for c in snippet.chars() {
            match c {
                '«' => open = Some(plain.len()),
                '»' => {
                    if let Some(s) = open.take() {
                        marks.push(s..plain.len());
                    }
                }
                c => plain.push(c),
            }
        }
        let ranges = self.ranges(&plain);
        let (masked, _) = apply_masks(&plain, &ranges);
        let moved = |p: usize, end: bool| map_offset(&ranges, p, end);
        let mut spans: Vec<Range<usize>> = marks
            .iter()
            .map(|m| moved(m.start, false)..moved(m.end, true))
            .filter(|m| m.start < m.end)
            .collect();
        spans.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::new();
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => merged.push(s),
            }
        }
        let mut out = String::with_capacity(masked.len() + 4 * merged.len());
        let mut at = 0;
        for m in merged {
            let (Some(before), Some(inside)) = (masked.get(at..m.start), masked.get(m.clone()))
            else {
                continue;
            };
            out.push_str(before);
            out.push('«');
            out.push_str(inside);
            out.push('»');
            at = m.end;
        }
        out.push_str(masked.get(at..).unwrap_or(""));
        out
    }

    /// Watched digit values in normalized text: (range in it, kind, digits).
    fn watched_digits(&self, text: &str) -> Vec<(Range<usize>, PiiKind, String)> {
        let mut out = Vec::new();
        for chain in chains(text) {
            for a in 0..chain.len() {
                let before = text[..chain[a].start].trim_end();
                let plus = before.ends_with('+');
                let start = if plus {
                    before.len() - 1
                } else {
                    chain[a].start
                };
                let mut digits = String::new();
                for b in a..chain.len().min(a + MAX_GROUPS) {
                    digits.push_str(&text[chain[b].clone()]);
                    if digits.len() > MAX_DIGITS + 2 {
                        break;
                    }
                    if digits.len() < MIN_DIGITS {
                        continue;
                    }
                    // +81 90 …, +81 (0)90 …: the national number is 0 and what follows.
                    let national = digits
                        .strip_prefix("81")
                        .filter(|_| plus)
                        .map(|n| format!("0{}", n.strip_prefix('0').unwrap_or(n)));
                    for candidate in std::iter::once(&digits).chain(national.as_ref()) {
                        if let Some(kind) = self.watched(candidate) {
                            out.push((start..chain[b].end, kind, candidate.clone()));
                        }
                    }
                }
            }
        }
        out
    }

    /// The kind of the watched value these digits are, if any.
    fn watched(&self, digits: &str) -> Option<PiiKind> {
        if let Some(k) = self.clear.get(digits) {
            return Some(*k);
        }
        if self.hashed.is_empty() || !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return None;
        }
        self.hashed.get(&hash_value(digits)).copied()
    }
}

/// Characters that may stand between the digit groups of one written number.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '.' | ' ' | 'ー' | '(' | ')' | '/' | '_' | ',' | '・' | '~' | '\u{3000}'
    )
}

/// Chains of digit groups (byte ranges of ASCII digit runs) joined by one to three separators.
fn chains(text: &str) -> Vec<Vec<Range<usize>>> {
    let mut chains = Vec::new();
    let mut current: Vec<Range<usize>> = Vec::new();
    let mut start: Option<usize> = None;
    let (mut gap, mut linkable) = (0usize, true);
    for (i, c) in text.char_indices() {
        if c.is_ascii_digit() {
            if start.is_none() {
                let joined = linkable && (1..=3).contains(&gap);
                if !joined && !current.is_empty() {
                    chains.push(std::mem::take(&mut current));
                }
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            current.push(s..i);
            (gap, linkable) = (0, true);
        }
        gap += 1;
        linkable &= is_separator(c);
    }
    if let Some(s) = start {
        current.push(s..text.len());
    }
    if !current.is_empty() {
        chains.push(current);
    }
    chains
}

/// Sorts ranges and merges overlapping ones (the first one's mask is kept).
fn merge(mut ranges: MaskRanges) -> MaskRanges {
    ranges.retain(|(r, _)| r.start < r.end);
    ranges.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: MaskRanges = Vec::new();
    for (r, m) in ranges {
        match out.last_mut() {
            Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push((r, m)),
        }
    }
    out
}

/// Where offset `p` of `text` lands once `ranges` are masked: inside a masked range, at the
/// mask's start (`end` false) or end (`end` true).
fn map_offset(ranges: &[(Range<usize>, String)], p: usize, end: bool) -> usize {
    let mut delta: isize = 0;
    for (r, m) in ranges {
        let new_start = (r.start as isize + delta) as usize;
        if p <= r.start {
            break;
        }
        if p < r.end {
            return if end { new_start + m.len() } else { new_start };
        }
        delta += m.len() as isize - r.len() as isize;
    }
    (p as isize + delta).max(0) as usize
}

/// `text` with `ranges` (sorted, non-overlapping, on char boundaries) replaced by their
/// masks, and a map from offsets in `text` to offsets in the result (an offset inside a
/// replaced range maps to the end of its mask).
pub fn apply_masks(
    text: &str,
    ranges: &[(Range<usize>, String)],
) -> (String, impl Fn(usize) -> usize + use<>) {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    // (old start, old end, new start, new end)
    let mut shifts: Vec<(usize, usize, usize, usize)> = Vec::new();
    for (r, mask) in ranges {
        if r.start < at {
            continue;
        }
        out.push_str(text.get(at..r.start).unwrap_or(""));
        let ns = out.len();
        out.push_str(mask);
        shifts.push((r.start, r.end, ns, out.len()));
        at = r.end;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    let map = move |old: usize| -> usize {
        let mut delta: isize = 0;
        for &(os, oe, ns, ne) in &shifts {
            if old >= oe {
                delta = ne as isize - oe as isize;
            } else if old > os {
                return ne;
            } else if old == os {
                return ns;
            } else {
                break;
            }
        }
        (old as isize + delta).max(0) as usize
    };
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_CARD: &str = "4111111111111111";

    fn masker(values: &[(PiiKind, WatchedValue)]) -> Masker {
        Masker::new(values.iter().map(|(k, v)| (*k, v)))
    }

    #[test]
    fn a_watched_test_card_is_masked_though_the_detector_rejects_it() {
        let text = "カード番号 4111 1111 1111 1111 です";
        assert!(detect(text).is_empty(), "the detector rejects test numbers");
        for watched in [
            WatchedValue::Clear(TEST_CARD.into()),
            WatchedValue::Hashed(hash_value(TEST_CARD)),
        ] {
            let m = masker(&[(PiiKind::CreditCard, watched)]);
            let out = m.mask(text);
            assert_eq!(out, "カード番号 **** **** **** 1111 です");
            for form in [
                "4111-1111-1111-1111",
                "４１１１　１１１１　１１１１　１１１１",
                "card4111111111111111xyz",
                "4111\u{200B}1111 1111/1111",
                "\u{202E}1111 1111 1111 1114\u{202C}",
            ] {
                let out = m.mask(form);
                assert!(!out.contains("1111 1111"), "{form:?} → {out:?}");
                assert!(out.contains("**** 1111"), "{form:?} → {out:?}");
            }
        }
        // Without the watchlist, the detector's view: the test number stays.
        assert_eq!(Masker::default().mask(text), text);
    }

    #[test]
    fn watched_phones_in_any_writing() {
        let m = masker(&[(
            PiiKind::Phone,
            WatchedValue::Hashed(hash_value("09023456789")),
        )]);
        for form in [
            "電話は+81 90-2345-6789",
            "電話は +81-(0)90-2345-6789 まで",
            "TEL09023456789x",
            "090・2345・6789",
        ] {
            let out = m.mask(form);
            assert!(
                out.contains("090-****-6789") && !out.contains("2345"),
                "{form:?} → {out:?}"
            );
        }
        assert_eq!(
            m.mask("090-9999-6789"),
            "090-****-6789",
            "the detector's own find"
        );
        assert_eq!(m.mask("品番 123456789012"), "品番 123456789012");
    }

    #[test]
    fn marks_are_kept_around_the_same_text() {
        let m = masker(&[(PiiKind::Phone, WatchedValue::Clear("09023456789".into()))]);
        assert_eq!(
            m.mask_marked("«田中» 電話«090»-2345-6789 «詐欺»"),
            "«田中» 電話«090-****-6789» «詐欺»"
        );
        assert_eq!(m.mask_marked("x «a» y"), "x «a» y");
        assert_eq!(
            m.mask_marked("unclosed « 0902345678"),
            "unclosed  0902345678"
        );
    }

    #[test]
    fn masks_shift_later_offsets() {
        let body = "電話 09023456789 です";
        let ranges = vec![(7..18, "090-****-6789".to_string())];
        let (out, map) = apply_masks(body, &ranges);
        assert_eq!(out, "電話 090-****-6789 です");
        assert_eq!(map(0), 0);
        assert_eq!(map(7), 7);
        assert_eq!(map(18), 20);
        assert_eq!(&out[map(19)..], "です");
    }

    #[test]
    fn chains_join_groups_over_short_gaps() {
        let t = "a 12-34  5 x 6";
        let c = chains(t);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].len(), 3);
        assert_eq!(&t[c[1][0].clone()], "6");
    }
}
