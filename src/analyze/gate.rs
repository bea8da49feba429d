//! The gate: a single pass over the *raw* post text that proves most posts cannot mention a
//! target, before anything is normalized. It is a necessary condition of the analyzer's
//! prefilter, never a second opinion: a post it rejects could not have produced a mention or a
//! watched personal value on the slow path.
//!
//! How: every pattern of the matcher (names, aliases, readings, kana/kanji mixes) gets a few
//! *anchor* characters (its rarest ones). For each anchor we precompute every raw character that
//! normalizes and folds to it (full- and half-width forms, katakana for hiragana, the unvoiced
//! kana of a voiced one — ﾀﾞ is two characters —, Kangxi radicals for kanji, upper case for
//! ASCII). A post passes if, for some pattern, enough of its anchors occur in any raw form:
//! all of them, or all but one for names that may carry one masked character (伏せ字).
//! ASCII runs (with full-width letters folded) are checked for ASCII names and romaji keys
//! exactly as the matcher does. Watched personal values need digits, an '@' (or "at"), or the
//! town name of a watched address. The pass is a table lookup per character.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::matcher::Matcher;
use super::pii::{PiiKind, WatchedValue};
use crate::config::PersonalValue;
use crate::text::normalize;

/// Every raw character that normalizes and folds to a given character (besides itself).
static PREIMAGES: LazyLock<HashMap<char, Vec<char>>> = LazyLock::new(|| {
    let mut map: HashMap<char, Vec<char>> = HashMap::new();
    for cp in 0x80u32..=0x10FFFF {
        let Some(c) = char::from_u32(cp) else {
            continue;
        };
        let katakana = matches!(c, '\u{30A1}'..='\u{30FA}');
        if !katakana && is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            continue;
        }
        let image = normalize::fold(&normalize::normalize(&c.to_string()).text);
        for d in image.chars() {
            if d != c {
                map.entry(d).or_default().push(c);
            }
        }
    }
    for c in 'A'..='Z' {
        map.entry(c.to_ascii_lowercase()).or_default().push(c);
    }
    map
});

/// Kanji too common to be a useful anchor when a pattern has better ones.
const COMMON_KANJI: &str = "日人大中年本出上子一二三十田山川会社事時行見生分前後手間方自気東京新店思言今円金家学問目来物者地国長場高小食品所内外同下部多";

/// Characters that are never anchors (separators, marks, masks, long vowels).
fn anchorable(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c, 'ー' | '〜' | '〇' | '・' | '々')
        || c.is_ascii_digit())
}

fn anchor_score(c: char) -> u32 {
    match c {
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' => {
            if COMMON_KANJI.contains(c) {
                40
            } else {
                50
            }
        }
        'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'っ' | 'ゃ' | 'ゅ' | 'ょ' | 'ん' | 'の' | 'い' | 'う' | 'し' | 'た' | 'て' | 'と' | 'な' | 'に' | 'は' | 'か' | 'る' => 10,
        '\u{3041}'..='\u{309F}' => 20,
        c if c.is_ascii_alphabetic() => 5,
        _ => 15,
    }
}

/// The raw forms of a folded character.
fn raw_forms(c: char) -> Vec<char> {
    let mut out = vec![c];
    let mut add = |d: char| {
        out.push(d);
        if let Some(more) = PREIMAGES.get(&d) {
            out.extend(more.iter().copied());
        }
    };
    if let Some(more) = PREIMAGES.get(&c) {
        for &d in more {
            add(d);
        }
    }
    // A voiced kana may be written as its unvoiced base plus a separate voicing mark.
    if let Some(base) = c.nfd().next().filter(|b| *b != c) {
        add(base);
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[derive(Debug, Clone)]
struct Group {
    anchors: Vec<u16>,
    need: usize,
}

const DIGIT: u8 = 1;
const AT_SIGN: u8 = 2;
const ADDRESS_MARK: u8 = 4;
const KANJI_NUMERAL: u8 = 8;

/// The compiled gate for one analyzer.
#[derive(Debug, Clone)]
pub struct Gate {
    /// BMP character → index into `classes` (0 = nothing of interest).
    table: Vec<u16>,
    /// Characters above the BMP.
    astral: HashMap<char, u16>,
    /// (anchor ids, flags) per class.
    classes: Vec<(Vec<u16>, u8)>,
    groups: Vec<Group>,
    anchors: usize,
    ascii: Option<AhoCorasick>,
    romaji: bool,
    min_run_letters: usize,
    min_digits: Option<usize>,
    email: bool,
    generic_address: bool,
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
            let k = if maskable { chars.len().min(3) } else { chars.len().min(4) };
            let need = if maskable { k.saturating_sub(1) } else { k };
            let mut anchors = Vec::with_capacity(k);
            for (_, c) in chars.into_iter().take(k) {
                let next = anchor_ids.len() as u16;
                anchors.push(*anchor_ids.entry(c).or_insert(next));
            }
            groups.push(Group { anchors, need });
        };
        for (text, maskable) in matcher.gate_patterns() {
            if text.is_ascii() {
                ascii_patterns.push(text.to_string());
            } else {
                add_group(text, maskable, &mut anchor_ids);
            }
        }
        let mut min_digits: Option<usize> = None;
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
                            Some(town) => add_group(&normalize::fold(&town), false, &mut anchor_ids),
                            None => generic_address = true,
                        },
                        WatchedValue::Hashed(_) => generic_address = true,
                    }
                    None
                }
            };
            if let Some(d) = digits {
                min_digits = Some(min_digits.map_or(d, |m: usize| m.min(d)));
            }
        }
        if email {
            add_group("あっと", false, &mut anchor_ids);
        }
        let mut table = vec![0u16; 0x10000];
        let mut astral = HashMap::new();
        let mut classes: Vec<(Vec<u16>, u8)> = vec![(Vec::new(), 0)];
        let mut mark = |c: char, anchor: Option<u16>, flag: u8, table: &mut Vec<u16>| {
            let slot = if (c as u32) < 0x10000 { table[c as usize] } else { astral.get(&c).copied().unwrap_or(0) };
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
        let ascii = if ascii_patterns.is_empty() { None } else { AhoCorasick::new(&ascii_patterns).ok() };
        let min_ascii = ascii_patterns.iter().map(|p| p.bytes().filter(u8::is_ascii_alphanumeric).count()).min();
        let romaji = matcher.has_romaji();
        let min_run_letters = match (min_ascii, romaji) {
            (Some(a), true) => a.min(Matcher::romaji_min_letters()),
            (Some(a), false) => a,
            (None, _) => Matcher::romaji_min_letters(),
        };
        Gate {
            table,
            astral,
            classes,
            groups,
            anchors: anchor_ids.len(),
            ascii,
            romaji,
            min_run_letters: min_run_letters.max(1),
            min_digits,
            email,
            generic_address,
        }
    }

    /// True if the post may mention a target or hold a watched personal value.
    pub fn pass(&self, matcher: &Matcher, raw: &str) -> bool {
        self.reason(matcher, raw).is_some()
    }

    /// Why a post passes (for tuning): `run`, `group N`, `digits`, `email`, `address`.
    pub fn reason(&self, matcher: &Matcher, raw: &str) -> Option<String> {
        let mut seen = vec![0u64; self.anchors.div_ceil(64).max(1)];
        let mut any_anchor = false;
        let (mut digits, mut flags) = (0usize, 0u8);
        let want_runs = self.ascii.is_some() || self.romaji;
        let mut run = String::new();
        let mut run_letters = 0usize;
        let mut prev_a = false;
        for c in raw.chars() {
            if c.is_ascii() {
                let lower = c.to_ascii_lowercase();
                if c.is_ascii_digit() {
                    digits += 1;
                } else if c == '@' {
                    flags |= AT_SIGN;
                }
                if prev_a && lower == 't' {
                    flags |= AT_SIGN;
                }
                prev_a = lower == 'a';
                if want_runs {
                    if lower.is_ascii_alphanumeric() || matches!(lower, '-' | '\'' | '.' | '_') {
                        run_letters += usize::from(lower.is_ascii_alphabetic());
                        run.push(lower);
                        continue;
                    } else if lower.is_ascii_whitespace() {
                        if !run.is_empty() && !run.ends_with(' ') {
                            run.push(' ');
                        }
                        continue;
                    }
                    if self.run_hits(matcher, &mut run, &mut run_letters) {
                        return Some("run".into());
                    }
                }
                continue;
            }
            prev_a = false;
            if want_runs {
                match fold_wide(c) {
                    Fold::Letter(l) => {
                        run_letters += usize::from(l.is_ascii_alphabetic());
                        run.push(l);
                    }
                    Fold::Space => {
                        if !run.is_empty() && !run.ends_with(' ') {
                            run.push(' ');
                        }
                    }
                    Fold::Transparent => {}
                    Fold::Other => {
                        if self.run_hits(matcher, &mut run, &mut run_letters) {
                            return Some("run".into());
                        }
                    }
                }
            }
            let slot = if (c as u32) < 0x10000 { self.table[c as usize] } else { self.astral.get(&c).copied().unwrap_or(0) };
            if slot != 0 {
                let (anchors, flag) = &self.classes[slot as usize];
                for &a in anchors {
                    seen[a as usize / 64] |= 1 << (a % 64);
                    any_anchor = true;
                }
                flags |= flag;
                if flag & DIGIT != 0 {
                    digits += 1;
                }
            }
        }
        if want_runs && self.run_hits(matcher, &mut run, &mut run_letters) {
            return Some("run".into());
        }
        if any_anchor {
            let has = |a: u16| seen[a as usize / 64] & (1 << (a % 64)) != 0;
            if let Some(i) = self.groups.iter().position(|g| g.anchors.iter().filter(|a| has(**a)).count() >= g.need) {
                return Some(format!("group {i}"));
            }
        }
        if self.min_digits.is_some_and(|m| digits >= m) {
            return Some("digits".into());
        }
        if self.email && flags & AT_SIGN != 0 {
            return Some("email".into());
        }
        (self.generic_address && flags & ADDRESS_MARK != 0 && (digits > 0 || flags & KANJI_NUMERAL != 0)).then(|| "address".into())
    }

    /// The anchors of group `i`, for tuning.
    pub fn group_anchors(&self, i: usize) -> Vec<u16> {
        self.groups.get(i).map(|g| g.anchors.clone()).unwrap_or_default()
    }

    /// Checks a finished ASCII run for ASCII names and romaji, then clears it.
    fn run_hits(&self, matcher: &Matcher, run: &mut String, letters: &mut usize) -> bool {
        let hit = *letters >= self.min_run_letters && {
            let text = run.trim();
            let ascii_hit = self.ascii.as_ref().is_some_and(|ac| {
                ac.is_match(text) || {
                    // N e x R i s e: the matcher's compacted view joins spaced-out letters.
                    let joined: String = text.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '_' | '\'')).collect();
                    ac.is_match(&joined)
                }
            });
            ascii_hit || (self.romaji && !matcher.romaji_in(text).is_empty())
        };
        run.clear();
        *letters = 0;
        hit
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
        '\u{FF10}'..='\u{FF19}' => Fold::Letter(char::from_u32(c as u32 - 0xFF10 + 0x30).unwrap_or('0')),
        '\u{FF21}'..='\u{FF3A}' => Fold::Letter(char::from_u32(c as u32 - 0xFF21 + 0x61).unwrap_or('a')),
        '\u{FF41}'..='\u{FF5A}' => Fold::Letter(char::from_u32(c as u32 - 0xFF41 + 0x61).unwrap_or('a')),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FF0D}' => Fold::Letter('-'),
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{FE00}'..='\u{FE0F}' => Fold::Transparent,
        c if c.is_whitespace() => Fold::Space,
        _ => Fold::Other,
    }
}

/// The town part of a normalized watched address (三軒茶屋 of 東京都世田谷区三軒茶屋2-11-5).
fn town_of(address: &str) -> Option<String> {
    let head = address.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    let start = head.rfind(['都', '道', '府', '県', '市', '区', '町', '村', '郡']).map_or(0, |i| {
        i + head[i..].chars().next().map_or(0, char::len_utf8)
    });
    let town = &head[start..];
    (town.chars().count() >= 2).then(|| town.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_forms_cover_widths_scripts_and_voicing() {
        let forms = raw_forms('だ');
        for c in ['だ', 'ダ', 'た', 'タ', 'ﾀ'] {
            assert!(forms.contains(&c), "{c} missing from {forms:?}");
        }
        assert!(raw_forms('山').contains(&'⼭'));
        assert!(raw_forms('a').contains(&'Ａ'));
    }

    #[test]
    fn towns_are_cut_after_the_municipality() {
        assert_eq!(town_of("東京都世田谷区三軒茶屋2-11-5").as_deref(), Some("三軒茶屋"));
        assert_eq!(town_of("横浜市港北区日吉3-2-1").as_deref(), Some("日吉"));
        assert_eq!(town_of("3-2-1"), None);
    }
}
