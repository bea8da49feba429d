//! Anchors: which characters of a pattern the gate looks for (its rarest ones, by a rough
//! frequency rank; never separators, marks or masks) and every raw form of each — the
//! characters that normalize and fold to it, and the voicing mark of a voiced kana written
//! apart.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

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
pub(super) fn anchorable(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_ascii_punctuation()
        || matches!(c, 'ー' | '〜' | '〇' | '・' | '々')
        || c.is_ascii_digit())
}

/// Hiragana from the most to the least frequent in ordinary Japanese text (rough).
const KANA_BY_FREQUENCY: &str = "のいうにてとしたかなはるんがですまこれをもらりくっきょつあそおけだよやせどえさわちゃじみめろごげねばびべぶほへひふむゆぎずぐぜぞざぼゅぱぽぴぷぺぬぢづゐゑぁぃぅぇぉゎ";

/// How rare a folded character is in raw text (higher: rarer). A voiced kana is rated on its
/// own: written apart, its base is no raw form of it, the separate voicing mark is (see
/// [`raw_forms`]).
pub(super) fn anchor_score(c: char) -> u32 {
    let kana_rank = |k: char| {
        KANA_BY_FREQUENCY
            .chars()
            .position(|x| x == k)
            .map_or(60, |i| i as u32)
    };
    match c {
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' => {
            if COMMON_KANJI.contains(c) {
                100
            } else {
                200
            }
        }
        '\u{3041}'..='\u{309F}' => kana_rank(c),
        c if c.is_ascii_alphabetic() => 0,
        _ => 60,
    }
}

/// The raw forms of a folded character.
pub(super) fn raw_forms(c: char) -> Vec<char> {
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
    // A voiced kana may be written as its unvoiced base plus a combining voicing mark (or a
    // half-width one, which normalizes to it): the mark is the raw form that witnesses it,
    // so that a bare は is no raw form of ば. (`゛` and `゜` stay apart after normalizing.)
    if let Some(mark) = c.nfd().nth(1) {
        match mark {
            '\u{3099}' => out.extend(['\u{3099}', '\u{FF9E}']),
            '\u{309A}' => out.extend(['\u{309A}', '\u{FF9F}']),
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_forms_cover_widths_scripts_and_voicing() {
        let forms = raw_forms('だ');
        // Written apart, だ is a base and a combining or half-width mark: the mark stands for it.
        for c in ['だ', 'ダ', '\u{3099}', '\u{FF9E}'] {
            assert!(forms.contains(&c), "{c} missing from {forms:?}");
        }
        for c in ['た', 'タ', 'ﾀ'] {
            assert!(!forms.contains(&c), "{c} is no raw form of だ: {forms:?}");
        }
        assert!(raw_forms('ぱ').contains(&'\u{FF9F}'));
        assert!(raw_forms('山').contains(&'⼭'));
        assert!(raw_forms('a').contains(&'Ａ'));
    }
}
