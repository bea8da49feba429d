//! The gate: a single pass over the *raw* post text that proves most posts cannot mention a
//! target, before anything is normalized. It is a necessary condition of the analyzer's
//! prefilter, never a second opinion: a post it rejects could not have produced a mention or a
//! watched personal value on the slow path.
//!
//! How: every pattern of the matcher (names, aliases, readings, kana/kanji mixes) gets up to
//! five *anchor* characters (its rarest ones, by a rough frequency rank). For each anchor we
//! precompute every raw character that normalizes and folds to it (full- and half-width
//! forms, katakana for hiragana, Kangxi radicals for kanji, upper case for ASCII; for a voiced
//! kana written apart — ﾀﾞ, た + U+3099 — the voicing mark, which stands at its base's
//! position, so a bare た is no raw form of だ). A post passes if, for some pattern, enough of its anchors occur in any raw form
//! *close together* — within the pattern's length in letters, separators and invisible
//! characters not counted: all of them, or all but one for names that may carry one masked
//! character (伏せ字).
//! ASCII runs (with full-width letters folded) are checked for ASCII names and romaji keys
//! exactly as the matcher does. Watched personal values need a digit chain that holds a
//! watched clear number (a phone without its leading 0), or is long enough for a hashed one;
//! an '@' (or "at"); or the town name of a watched address. The pass is a table lookup per
//! character. A post holding a right-to-left override always passes: normalizing puts the run
//! under it in display order ([`normalize`](crate::text::normalize)), which no raw-text window
//! can follow.
//!
//! In front of it runs the [`prescreen`], a necessary condition of this pass read off the
//! bytes with one table lookup per character and a few counters (anchor bits, digit chain,
//! letter run), no buffers. Only posts it lets through are scanned as above; `prescreen_passes_whatever_the_gate_passes` (in
//! `analyze`) checks that it never rejects a post the precise pass would let through.

mod anchors;
mod digits;
mod prescreen;
mod spec;

use std::collections::HashMap;

use aho_corasick::AhoCorasick;

use super::matcher::Matcher;
use super::pii::{PiiKind, WatchedValue};
use crate::config::PersonalValue;
use crate::text::{normalize, reading};
use anchors::{anchor_score, anchorable, raw_forms};
use digits::{DigitChain, DigitValues};
use spec::{PrescreenNeeds, prescreen_spec, run_keys};

/// The scalar value at byte `i` of valid UTF-8 and its width in bytes, read straight off the
/// bytes (the hot loop of the no-hit path, in the gate and its prescreen). A truncated
/// sequence or a stray byte reads as U+FFFD, one byte wide.
#[inline(always)]
fn decode_at(bytes: &[u8], i: usize) -> (u32, usize) {
    let b = bytes[i];
    let n = bytes.len();
    match b {
        0..0x80 => (u32::from(b), 1),
        0xE0..=0xEF if i + 2 < n => (
            (u32::from(b & 0x0F) << 12)
                | (u32::from(bytes[i + 1] & 0x3F) << 6)
                | u32::from(bytes[i + 2] & 0x3F),
            3,
        ),
        0xC0..=0xDF if i + 1 < n => (
            (u32::from(b & 0x1F) << 6) | u32::from(bytes[i + 1] & 0x3F),
            2,
        ),
        0xF0.. if i + 3 < n => (
            (u32::from(b & 0x07) << 18)
                | (u32::from(bytes[i + 1] & 0x3F) << 12)
                | (u32::from(bytes[i + 2] & 0x3F) << 6)
                | u32::from(bytes[i + 3] & 0x3F),
            4,
        ),
        _ => (0xFFFD, 1),
    }
}

#[derive(Debug, Clone)]
struct Group {
    anchors: Vec<u16>,
    need: usize,
    /// Longest distance, in letters, between two anchors of one occurrence of the pattern.
    span: u32,
}

/// True for the characters that count as one letter of distance between anchors: kana
/// (without voicing marks, iteration marks or `ー`), kanji, ASCII and full-width letters and
/// digits, half-width katakana. Everything else (separators, spaces, marks, masks, invisible
/// characters) is not counted — so distances in the raw text are never longer than in the
/// normalized text the matcher reads, and the window test stays a necessary condition.
#[inline]
fn counts_as_letter(cp: u32) -> bool {
    matches!(
        cp,
        0x30..=0x39
            | 0x41..=0x5A
            | 0x61..=0x7A
            | 0x3041..=0x3096
            | 0x30A1..=0x30FA
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xFF10..=0xFF19
            | 0xFF21..=0xFF3A
            | 0xFF41..=0xFF5A
            | 0xFF66..=0xFF9D
    )
}

const DIGIT: u8 = 1;
const AT_SIGN: u8 = 2;
const ADDRESS_MARK: u8 = 4;
const KANJI_NUMERAL: u8 = 8;
const DIGIT_SEPARATOR: u8 = 16;
const TRANSPARENT: u8 = 32;
/// Characters that matter inside an ASCII run: full-width letters, spaces, dashes.
const RUN_CHAR: u8 = 64;
/// A small tsu (っ, ッ, ｯ): "あっと"/"アット" spell an obfuscated '@'.
const SMALL_TSU: u8 = 128;

/// Bit of a [`Gate`] table entry: the character [`counts_as_letter`] (the rest is its class).
const LETTER: u16 = 0x8000;

/// The compiled gate for one analyzer.
#[derive(Debug, Clone)]
pub struct Gate {
    /// BMP character → index into the classes (0 = nothing of interest), with [`LETTER`].
    table: Vec<u16>,
    /// Characters above the BMP.
    astral: HashMap<char, u16>,
    /// Anchor ids per class.
    class_anchors: Vec<Vec<u16>>,
    /// Flags per class.
    class_flags: Vec<u8>,
    groups: Vec<Group>,
    /// The groups each anchor belongs to.
    groups_of: Vec<Vec<u16>>,
    ascii: Option<AhoCorasick>,
    romaji: bool,
    min_run_letters: usize,
    /// Digit chains of watched numbers: the values that must occur in them.
    digit_values: DigitValues,
    email: bool,
    generic_address: bool,
    /// The byte-level necessary condition checked first.
    prescreen: prescreen::Prescreen,
}

impl Gate {
    /// Builds the gate for a matcher and the watched personal values.
    pub fn new(matcher: &Matcher, watched: &[PersonalValue]) -> Gate {
        let mut anchor_ids: HashMap<char, u16> = HashMap::new();
        let mut groups = Vec::new();
        let mut ascii_patterns: Vec<String> = Vec::new();
        let mut add_group = |text: &str, maskable: bool, anchor_ids: &mut HashMap<char, u16>| {
            let mut chars: Vec<(usize, char)> = Vec::new();
            for c in text.chars().filter(|c| anchorable(*c)) {
                if !chars.iter().any(|(_, d)| *d == c) {
                    chars.push((chars.len(), c));
                }
            }
            chars.sort_by_key(|(i, c)| (std::cmp::Reverse(anchor_score(*c)), *i));
            let k = chars.len().min(5);
            let need = if maskable { k.saturating_sub(1) } else { k };
            let mut anchors = Vec::with_capacity(k);
            for (_, c) in chars.into_iter().take(k) {
                let next = anchor_ids.len() as u16;
                anchors.push(*anchor_ids.entry(c).or_insert(next));
            }
            // The pattern's letters, plus one of slack (a mask may stand between two of them).
            let span = text.chars().filter(|c| anchorable(*c)).count() as u32 + 1;
            groups.push(Group {
                anchors,
                need,
                span,
            });
        };
        for (text, maskable) in matcher.gate_patterns() {
            if text.is_ascii() {
                ascii_patterns.push(text.to_string());
            } else {
                add_group(text, maskable, &mut anchor_ids);
            }
        }
        let mut digit_values = DigitValues::default();
        let mut email = false;
        let mut generic_address = false;
        for p in watched {
            let digits = match p.kind {
                PiiKind::Phone => Some(10),
                PiiKind::MyNumber => Some(12),
                PiiKind::CreditCard => Some(13),
                PiiKind::BankAccount => Some(6),
                PiiKind::Email => {
                    email = true;
                    None
                }
                PiiKind::Address => {
                    match &p.value {
                        WatchedValue::Clear(v) => match town_of(v) {
                            Some(town) => {
                                add_group(&normalize::fold(&town), false, &mut anchor_ids)
                            }
                            None => generic_address = true,
                        },
                        WatchedValue::Hashed(_) => generic_address = true,
                    }
                    None
                }
            };
            if let Some(d) = digits {
                digit_values.add(p, d);
            }
        }
        let mut table = vec![0u16; 0x10000];
        let mut astral = HashMap::new();
        let mut classes: Vec<(Vec<u16>, u8)> = vec![(Vec::new(), 0)];
        let mut mark = |c: char, anchor: Option<u16>, flag: u8, table: &mut Vec<u16>| {
            let slot = if (c as u32) < 0x10000 {
                table[c as usize]
            } else {
                astral.get(&c).copied().unwrap_or(0)
            };
            let idx = if slot == 0 {
                classes.push((Vec::new(), 0));
                let idx = (classes.len() - 1) as u16;
                if (c as u32) < 0x10000 {
                    table[c as usize] = idx;
                } else {
                    astral.insert(c, idx);
                }
                idx
            } else {
                slot
            };
            let class = &mut classes[idx as usize];
            if let Some(a) = anchor
                && !class.0.contains(&a)
            {
                class.0.push(a);
            }
            class.1 |= flag;
        };
        for (&c, &id) in &anchor_ids {
            for r in raw_forms(c) {
                mark(r, Some(id), 0, &mut table);
            }
        }
        for d in '0'..='9' {
            for r in raw_forms(d).into_iter().filter(|r| !r.is_ascii()) {
                mark(r, None, DIGIT, &mut table);
            }
        }
        for r in raw_forms('@').into_iter().filter(|r| !r.is_ascii()) {
            mark(r, None, AT_SIGN, &mut table);
        }
        for r in raw_forms('っ') {
            mark(r, None, SMALL_TSU, &mut table);
        }
        for sep in [' ', '-', '.', '(', ')', '+', 'ー'] {
            for r in raw_forms(sep).into_iter().filter(|r| !r.is_ascii()) {
                mark(r, None, DIGIT_SEPARATOR, &mut table);
            }
        }
        for cp in 0x80u32..0x10000 {
            if let Some(c) = char::from_u32(cp) {
                if c.is_whitespace()
                    || matches!(
                        c,
                        '\u{2010}'
                            ..='\u{2015}'
                                | '\u{2212}'
                                | '\u{30FC}'
                                | '\u{FF70}'
                                | '\u{2500}'
                                | '\u{2501}'
                    )
                {
                    mark(c, None, DIGIT_SEPARATOR, &mut table);
                }
                match fold_wide(c) {
                    Fold::Transparent => mark(c, None, TRANSPARENT | RUN_CHAR, &mut table),
                    Fold::Letter(_) | Fold::Space => mark(c, None, RUN_CHAR, &mut table),
                    Fold::Other => {}
                }
            }
        }
        for c in "都道府県市区町村郡".chars() {
            for r in raw_forms(c) {
                mark(r, None, ADDRESS_MARK, &mut table);
            }
        }
        for c in "〇一二三四五六七八九十百千".chars() {
            for r in raw_forms(c) {
                mark(r, None, KANJI_NUMERAL, &mut table);
            }
        }
        let ascii = if ascii_patterns.is_empty() {
            None
        } else {
            AhoCorasick::new(&ascii_patterns).ok()
        };
        let min_ascii = ascii_patterns
            .iter()
            .map(|p| p.bytes().filter(u8::is_ascii_alphanumeric).count())
            .min();
        let romaji = matcher.has_romaji();
        let min_run_letters = match (min_ascii, romaji) {
            (Some(a), true) => a.min(Matcher::romaji_min_letters()),
            (Some(a), false) => a,
            (None, _) => Matcher::romaji_min_letters(),
        };
        let mut groups_of = vec![Vec::new(); anchor_ids.len()];
        for (g, group) in groups.iter().enumerate() {
            for &a in &group.anchors {
                groups_of[a as usize].push(g as u16);
            }
        }
        let (class_anchors, class_flags): (Vec<_>, Vec<_>) = classes.into_iter().unzip();
        debug_assert!(class_flags.len() < usize::from(LETTER));
        for (cp, slot) in table.iter_mut().enumerate() {
            if counts_as_letter(cp as u32) {
                *slot |= LETTER;
            }
        }
        let prescreen = prescreen::Prescreen::new(prescreen_spec(
            &table,
            &astral,
            (&class_anchors, &class_flags),
            &groups,
            PrescreenNeeds {
                letters: (ascii.is_some() || romaji).then_some(min_run_letters.max(1)),
                keys: run_keys(&ascii_patterns, matcher),
                digits: &digit_values,
                email,
                address: generic_address,
            },
        ));
        Gate {
            table,
            astral,
            class_anchors,
            class_flags,
            groups,
            groups_of,
            ascii,
            romaji,
            min_run_letters: min_run_letters.max(1),
            digit_values,
            email,
            generic_address,
            prescreen,
        }
    }

    /// False only if [`Gate::reason`] is `None`: the byte-level prescreen alone.
    pub fn prescreen(&self, raw: &str) -> bool {
        self.prescreen.pass(raw)
    }

    /// True if the post may mention a target or hold a watched personal value.
    pub fn pass(&self, matcher: &Matcher, raw: &str) -> bool {
        self.prescreen(raw) && self.reason(matcher, raw).is_some()
    }

    /// Why a post passes (`None`: it cannot mention a target nor hold a watched value).
    ///
    /// A pattern group passes when enough of its anchors occur within its span of letters
    /// (the last occurrence of each anchor is kept, and the group is checked whenever one of
    /// its anchors occurs): a name's characters scattered over a post are no mention.
    pub fn reason(&self, matcher: &Matcher, raw: &str) -> Option<Reason> {
        const NEVER: u32 = u32::MAX;
        let mut small = [NEVER; 128];
        let mut big = Vec::new();
        let last: &mut [u32] = if self.groups_of.len() <= small.len() {
            &mut small[..self.groups_of.len()]
        } else {
            big.resize(self.groups_of.len(), NEVER);
            &mut big
        };
        let mut pos: u32 = 0;
        let mut flags = 0u8;
        let mut digits = DigitChain::new(&self.digit_values);
        let mut at_word = AtWord::default();
        let want_runs = self.ascii.is_some() || self.romaji;
        let mut run: Option<usize> = None;
        let mut run_letters = 0usize;
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                let c = b as char;
                let letter = c.is_ascii_alphabetic();
                if c.is_ascii_alphanumeric() {
                    pos += 1;
                }
                if c.is_ascii_digit() {
                    digits.digit(Some(b));
                } else if matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '\t') {
                    digits.separator();
                } else {
                    digits.other();
                    if c == '@' {
                        flags |= AT_SIGN;
                    }
                }
                at_word.feed(if letter {
                    Some(c.to_ascii_lowercase())
                } else {
                    None
                });
                if want_runs {
                    if c.is_ascii_alphanumeric() || matches!(c, '-' | '\'' | '.' | '_' | ' ' | '\t')
                    {
                        run.get_or_insert(i);
                        run_letters += usize::from(letter);
                    } else if let Some(start) = run.take()
                        && self.run_hits(matcher, &raw[start..i], &mut run_letters)
                    {
                        return Some(Reason::Run);
                    }
                }
                i += 1;
                continue;
            }
            let (cp, width) = decode_at(bytes, i);
            i += width;
            let here = pos;
            let entry = match self.table.get(cp as usize) {
                Some(&e) => e,
                None => char::from_u32(cp)
                    .and_then(|c| self.astral.get(&c).copied())
                    .unwrap_or(0),
            };
            pos += u32::from(entry >> 15);
            let slot = entry & !LETTER;
            if slot == 0 {
                // Nothing of interest (most characters): the common, short path.
                digits.other();
                at_word.feed(None);
                if let Some(start) = run.take()
                    && self.run_hits(matcher, &raw[start..i - width], &mut run_letters)
                {
                    return Some(Reason::Run);
                }
                continue;
            }
            if cp == RLO {
                return Some(Reason::Override);
            }
            // A separate voicing mark stands for the voiced kana of the letter before it.
            let here = if matches!(cp, 0x3099 | 0x309A | 0xFF9E | 0xFF9F) {
                here.saturating_sub(1)
            } else {
                here
            };
            for &a in &self.class_anchors[slot as usize] {
                last[a as usize] = here;
                for &g in &self.groups_of[a as usize] {
                    let group = &self.groups[g as usize];
                    let near = group
                        .anchors
                        .iter()
                        .filter(|b| {
                            let at = last[**b as usize];
                            at != NEVER && here.abs_diff(at) <= group.span
                        })
                        .count();
                    if near >= group.need {
                        return Some(Reason::Group(g as usize));
                    }
                }
            }
            let flag = self.class_flags[slot as usize];
            flags |= flag;
            if flag & DIGIT != 0 {
                // Full-width digits are read as theirs; any other form only by its length.
                digits.digit(match cp {
                    0xFF10..=0xFF19 => Some((cp - 0xFF10) as u8 + b'0'),
                    _ => None,
                });
            } else if flag & DIGIT_SEPARATOR != 0 {
                digits.separator();
            } else if flag & TRANSPARENT == 0 {
                digits.other();
            }
            if flag & RUN_CHAR == 0 {
                at_word.feed(None);
                if let Some(start) = run.take()
                    && self.run_hits(matcher, &raw[start..i - width], &mut run_letters)
                {
                    return Some(Reason::Run);
                }
            } else if want_runs || self.email {
                let c = char::from_u32(cp).unwrap_or('\u{FFFD}');
                match fold_wide(c) {
                    Fold::Letter(l) => {
                        at_word.feed(l.is_ascii_alphabetic().then_some(l));
                        run.get_or_insert(i - width);
                        run_letters += usize::from(l.is_ascii_alphabetic());
                    }
                    Fold::Space => {
                        at_word.feed(None);
                        run.get_or_insert(i - width);
                    }
                    Fold::Transparent => {}
                    Fold::Other => {
                        at_word.feed(None);
                        if let Some(start) = run.take()
                            && self.run_hits(matcher, &raw[start..i - width], &mut run_letters)
                        {
                            return Some(Reason::Run);
                        }
                    }
                }
            }
        }
        at_word.feed(None);
        if let Some(start) = run.take()
            && self.run_hits(matcher, &raw[start..], &mut run_letters)
        {
            return Some(Reason::Run);
        }
        if digits.hit {
            return Some(Reason::Digits);
        }
        if self.email
            && (flags & AT_SIGN != 0
                || at_word.found
                || (flags & SMALL_TSU != 0
                    && ["あっと", "アット", "ｱｯﾄ"].iter().any(|w| raw.contains(w))))
        {
            return Some(Reason::Email);
        }
        (self.generic_address
            && flags & ADDRESS_MARK != 0
            && (digits.longest > 0 || flags & KANJI_NUMERAL != 0))
            .then_some(Reason::Address)
    }

    /// Checks a finished run of ASCII (or full-width) letters for ASCII names and romaji.
    fn run_hits(&self, matcher: &Matcher, raw_run: &str, letters: &mut usize) -> bool {
        let enough = *letters >= self.min_run_letters;
        *letters = 0;
        if !enough {
            return false;
        }
        let mut text = String::with_capacity(raw_run.len());
        for c in raw_run.chars() {
            let folded = if c.is_ascii() {
                if c.is_ascii_whitespace() {
                    Fold::Space
                } else {
                    Fold::Letter(c.to_ascii_lowercase())
                }
            } else {
                fold_wide(c)
            };
            match folded {
                Fold::Letter(l) => text.push(l),
                Fold::Space => {
                    if !text.is_empty() && !text.ends_with(' ') {
                        text.push(' ');
                    }
                }
                Fold::Transparent | Fold::Other => {}
            }
        }
        let text = text.trim();
        let ascii_hit = self.ascii.as_ref().is_some_and(|ac| {
            ac.is_match(text) || {
                // N e x R i s e: the matcher's compacted view joins spaced-out letters.
                let joined: String = text
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '.' | '-' | '_' | '\''))
                    .collect();
                ac.is_match(&joined)
            }
        });
        ascii_hit || (self.romaji && !matcher.romaji_in(text).is_empty())
    }
}

/// Why a post passed the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// An ASCII run holds an ASCII name or a romanized one.
    Run,
    /// Enough anchors of pattern group N occur.
    Group(usize),
    /// A digit chain long enough for a watched number.
    Digits,
    /// An e-mail sign (@, "at") while e-mails are watched.
    Email,
    /// An address shape while hashed addresses are watched.
    Address,
    /// A right-to-left override: normalizing puts the run under it in display order, which
    /// can move a name's characters next to each other that are far apart in the raw text,
    /// so no raw-text window test holds. Overrides are rare in Japanese posts: they all pass.
    Override,
}

/// RIGHT-TO-LEFT OVERRIDE: a post holding one passes ([`Reason::Override`]; the prescreen
/// gives it the role of a sign that passes by itself).
const RLO: u32 = 0x202E;

/// Spots the word "at" (an obfuscated '@': `name (at) example.com`).
#[derive(Debug, Default)]
struct AtWord {
    state: u8,
    found: bool,
}

impl AtWord {
    fn feed(&mut self, letter: Option<char>) {
        self.state = match (self.state, letter) {
            (2, None) => {
                self.found = true;
                0
            }
            (_, None) => 0,
            (0, Some('a')) => 1,
            (1, Some('t')) => 2,
            _ => 3,
        };
    }
}

enum Fold {
    Letter(char),
    Space,
    Transparent,
    Other,
}

/// How a non-ASCII character behaves inside an ASCII run after normalization.
fn fold_wide(c: char) -> Fold {
    match c {
        '\u{FF10}'..='\u{FF19}' => {
            Fold::Letter(char::from_u32(c as u32 - 0xFF10 + 0x30).unwrap_or('0'))
        }
        '\u{FF21}'..='\u{FF3A}' => {
            Fold::Letter(char::from_u32(c as u32 - 0xFF21 + 0x61).unwrap_or('a'))
        }
        '\u{FF41}'..='\u{FF5A}' => {
            Fold::Letter(char::from_u32(c as u32 - 0xFF41 + 0x61).unwrap_or('a'))
        }
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => Fold::Letter('-'),
        '\u{200B}'..='\u{200F}'
        | '\u{061C}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{00AD}'
        | '\u{FE00}'..='\u{FE0F}' => Fold::Transparent,
        c if c.is_whitespace() => Fold::Space,
        _ => Fold::Other,
    }
}

/// The town part of a normalized watched address (三軒茶屋 of 東京都世田谷区三軒茶屋2-11-5).
fn town_of(address: &str) -> Option<String> {
    let head = address.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let start = head
        .rfind(['都', '道', '府', '県', '市', '区', '町', '村', '郡'])
        .map_or(0, |i| {
            i + head[i..].chars().next().map_or(0, char::len_utf8)
        });
    let town = &head[start..];
    (town.chars().count() >= 2).then(|| town.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn towns_are_cut_after_the_municipality() {
        assert_eq!(
            town_of("東京都世田谷区三軒茶屋2-11-5").as_deref(),
            Some("三軒茶屋")
        );
        assert_eq!(town_of("横浜市港北区日吉3-2-1").as_deref(), Some("日吉"));
        assert_eq!(town_of("3-2-1"), None);
    }
}
