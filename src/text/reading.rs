//! Kana folding, a loose romaji key for matching romanized names, and 漢数字 read as digits.
//!
//! A watched name is written in kanji (`山田商事`), kana (`やまだしょうじ`, `ヤマダショウジ`)
//! and romaji, and romaji has several systems: Hepburn (`Shōji`, `Shoji`, `Shouji`), Kunrei
//! (`Syôzi`), wāpuro (`shouji`, `syouji`, `jya`). Posts use whichever the writer likes, so both
//! sides are reduced to one key instead of enumerating spellings.
//!
//! # The key
//!
//! * Kana are first romanized to Hepburn: yōon by dropping the `i` (`きゃ` kya, `しゃ` sha,
//!   `じゃ` ja), small vowels replacing the vowel (`ティ` ti, `ファ` fa, `ウィ` wi), `っ`
//!   doubling the next consonant (`ch` → `tch`), `ん` = `n`, `を` = `o`, `ゐ` `ゑ` = `i` `e`,
//!   `ヴ` = `vu`, `ー` adds nothing, `ゝ` repeats. Other chars are dropped, ASCII letters kept.
//! * Romaji is cleaned to lower-case ASCII letters: NFKD (full-width letters fold, macrons and
//!   accents drop: `ō ô ū û ā â` → plain vowel), everything else (spaces, hyphens, apostrophes,
//!   digits) dropped. A word ending in `oh` loses the `h` (`Satoh`, `Itoh`).
//! * Both then go through the same canonicalization, so spellings meet:
//!   - consonants: `shi`/`si` → `si`, `sh`+vowel → `sy` (`sha`/`sya`, `shu`, `sho`);
//!     `chi`/`ti` → `ti`, `ch`+vowel → `ty`, `cch`/`tch` → `tt`; `ts` → `t` (`tsu`/`tu`);
//!     `j`+`i`/`y` → `z`, `j`+other vowel → `zy` (`ji`/`zi`, `ja`/`jya`/`zya`); `d`+`i`/`u`/`y`
//!     → `z` (Nihon-shiki `di` `du` `dya`), `dz` → `z`; `f` → `h` (`fu`/`hu`); `wo` → `o`;
//!     `m` before `b`/`m`/`p` → `n` (`shimbun` = `shinbun`); loose letters `c` → `k`,
//!     `q` → `k`, `l` → `r`, `v` → `b`.
//!   - long vowels: a doubled vowel is one (`oo`, `uu`, `aa`, `ii`, `ee`), `ou` → `o`, and `oh`
//!     before a consonant other than `y` → `o` (`Ohno`). `ei` is kept (Hepburn writes it).
//!
//! The key has no spaces: callers compare keys of whole ASCII word runs. It is loose on
//! purpose (`ふぁ` and `は` share `ha`, `しんや` and `しにゃ` share `sinya` as the apostrophe
//! of `shin'ya` is dropped); it is only compared against the few watched names.
//!
//! # 漢数字
//!
//! Addresses and numbers are written `三丁目二番一号`, `3-2-1`, `〇九〇…` or `二千二十三年`;
//! [`kanji_numerals_to_digits`] reads the kanji as digits so the watchlist's normalized forms
//! meet what posts write (re-exported as `normalize::kanji_numerals_to_digits`).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Katakana → hiragana for one char (ヴ→ゔ, ヵ→ゕ, ヶ→ゖ, ヽヾ→ゝゞ); same UTF-8 length.
pub(crate) fn kata_to_hira_char(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' | '\u{30FD}'..='\u{30FE}' => {
            char::from_u32(c as u32 - 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

/// Hiragana → katakana for one char; same UTF-8 length.
pub(crate) fn hira_to_kata_char(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

/// True for a hiragana or katakana letter, an iteration mark or `ー` (not `・`, not the
/// voicing marks).
pub(crate) fn is_kana_char(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309F}' | '\u{30A1}'..='\u{30FA}'
        | '\u{30FC}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}')
}

/// Katakana → hiragana (ヴ→ゔ, ヵ→ゕ, ヶ→ゖ; others unchanged). Same byte length.
pub fn kata_to_hira(s: &str) -> String {
    s.chars().map(kata_to_hira_char).collect()
}

/// Hiragana → katakana (ゔ→ヴ, ゕ→ヵ, ゖ→ヶ; others unchanged). Same byte length.
pub fn hira_to_kata(s: &str) -> String {
    s.chars().map(hira_to_kata_char).collect()
}

/// True if every char is kana (hiragana/katakana/'ー'). False for the empty string, which is no
/// reading at all.
pub fn is_kana(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_kana_char)
}

/// Hepburn romaji of U+3041..=U+3096 (small kana give their vowel or `y` syllable).
#[rustfmt::skip]
const ROMAJI: [&str; 86] = [
    "a", "a", "i", "i", "u", "u", "e", "e", "o", "o", // ぁあぃいぅうぇえぉお
    "ka", "ga", "ki", "gi", "ku", "gu", "ke", "ge", "ko", "go", // かが…ご
    "sa", "za", "shi", "ji", "su", "zu", "se", "ze", "so", "zo", // さざ…ぞ
    "ta", "da", "chi", "ji", "", "tsu", "zu", "te", "de", "to", "do", // ただちぢっつづてでとど
    "na", "ni", "nu", "ne", "no", // な…の
    "ha", "ba", "pa", "hi", "bi", "pi", "fu", "bu", "pu", "he", "be", "pe", "ho", "bo", "po",
    "ma", "mi", "mu", "me", "mo", // ま…も
    "ya", "ya", "yu", "yu", "yo", "yo", // ゃやゅゆょよ
    "ra", "ri", "ru", "re", "ro", // ら…ろ
    "wa", "wa", "i", "e", "o", "n", "vu", "ka", "ke", // ゎわゐゑをんゔゕゖ
];

/// Romaji of a hiragana letter (U+3041..=U+3096), and its last letter (the vowel).
fn kana_romaji(h: char) -> Option<(&'static str, u8)> {
    let r = ROMAJI.get(((h as u32).checked_sub(0x3041)?) as usize)?;
    Some((r, r.bytes().last().unwrap_or(b'a')))
}

fn is_vowel(b: u8) -> bool {
    matches!(b, b'a' | b'i' | b'u' | b'e' | b'o')
}

/// Attaches a small vowel (`ぁぃぅぇぉゎ`) to the syllable starting at `syl`.
fn attach_small_vowel(out: &mut Vec<u8>, syl: &mut Option<usize>, v: u8) {
    match *syl {
        Some(st) if out.len() > st && out.last().copied().is_some_and(is_vowel) => {
            let popped = out.pop().unwrap_or(v);
            if out.len() == st {
                out.push(match popped {
                    b'u' => b'w',
                    b'i' => b'y',
                    other => other,
                });
            }
            out.push(v);
        }
        _ => {
            *syl = Some(out.len());
            out.push(v);
        }
    }
}

/// Attaches a small `ゃゅょ` (vowel `v`) to the syllable starting at `syl`.
fn attach_small_y(out: &mut Vec<u8>, syl: &mut Option<usize>, v: u8) {
    match *syl {
        Some(st) if out.len() > st + 1 && out.last().copied().is_some_and(is_vowel) => {
            out.pop();
            if !matches!(out.last(), Some(b'h' | b'j')) {
                out.push(b'y');
            }
            out.push(v);
        }
        _ => {
            *syl = Some(out.len());
            out.extend_from_slice(&[b'y', v]);
        }
    }
}

/// Hepburn romaji of kana text (ASCII letters kept lower-cased, other chars dropped).
fn romanize(kana: &str) -> Vec<u8> {
    let needs_nfkc = kana.chars().any(|c| !(c.is_ascii() || is_kana_char(c)));
    let owned: String;
    let kana = if needs_nfkc {
        owned = kana.nfkc().collect();
        owned.as_str()
    } else {
        kana
    };
    let mut out = Vec::with_capacity(kana.len());
    let mut syl: Option<usize> = None;
    let mut sokuon = false;
    for c in kana.chars().map(kata_to_hira_char) {
        match c {
            'ー' => continue,
            'っ' => {
                sokuon = true;
                continue;
            }
            'ゝ' | 'ゞ' => {
                if let Some(st) = syl {
                    let again = out.get(st..).map(<[u8]>::to_vec).unwrap_or_default();
                    syl = Some(out.len());
                    out.extend_from_slice(&again);
                }
            }
            'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'ゎ' => {
                let v = kana_romaji(c).map_or(b'a', |r| r.1);
                attach_small_vowel(&mut out, &mut syl, v);
            }
            'ゃ' | 'ゅ' | 'ょ' => {
                let v = kana_romaji(c).map_or(b'a', |r| r.1);
                attach_small_y(&mut out, &mut syl, v);
            }
            c => match kana_romaji(c) {
                Some((r, _)) => {
                    if let Some(first) = r.bytes().next().filter(|&b| sokuon && !is_vowel(b)) {
                        out.push(if r.starts_with("ch") { b't' } else { first });
                    }
                    syl = Some(out.len());
                    out.extend_from_slice(r.as_bytes());
                }
                None => {
                    if c.is_ascii_alphabetic() {
                        out.push(c.to_ascii_lowercase() as u8);
                    }
                    syl = None;
                }
            },
        }
        sokuon = false;
    }
    out
}

/// Lower-case ASCII letters of romaji text (see the module header), `oh` at a word end → `o`.
fn clean_romaji(s: &str) -> Vec<u8> {
    fn end_word(out: &mut Vec<u8>, word_start: &mut usize) {
        if out.len() >= *word_start + 2 && out.ends_with(b"oh") {
            out.pop();
        }
        *word_start = out.len();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut word_start = 0;
    let mut parts: Vec<char> = Vec::new();
    for c in s.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphabetic() {
                out.push(c.to_ascii_lowercase() as u8);
            } else {
                end_word(&mut out, &mut word_start);
            }
            continue;
        }
        parts.clear();
        decompose_compatible(c, |d| parts.push(d));
        for &d in &parts {
            if d.is_ascii_alphabetic() {
                out.push(d.to_ascii_lowercase() as u8);
            } else if !is_combining_mark(d) {
                end_word(&mut out, &mut word_start);
            }
        }
    }
    end_word(&mut out, &mut word_start);
    out
}

/// Canonical consonants, then collapsed long vowels (see the module header).
fn canonicalize(s: &[u8]) -> String {
    let at = |i: usize| s.get(i).copied();
    let mut a = Vec::with_capacity(s.len() + 4);
    let mut i = 0;
    while i < s.len() {
        let (c, next) = (s[i], at(i + 1));
        i += 1;
        match (c, next) {
            (b's' | b'c', Some(b'h')) => {
                a.push(if c == b's' { b's' } else { b't' });
                i += 1;
                if at(i).is_some_and(|v| is_vowel(v) && v != b'i') {
                    a.push(b'y');
                }
            }
            (b'c', Some(b'c')) if at(i + 1) == Some(b'h') => a.push(b't'),
            (b'c' | b'q', _) => a.push(b'k'),
            (b'j', _) => {
                a.push(b'z');
                if next.is_some_and(|v| is_vowel(v) && v != b'i') {
                    a.push(b'y');
                }
            }
            (b't', Some(b's')) => {
                a.push(b't');
                i += 1;
            }
            (b'd', Some(b'i' | b'u' | b'y')) => a.push(b'z'),
            (b'd', Some(b'z')) => {}
            (b'f', _) => a.push(b'h'),
            (b'm', Some(b'b' | b'm' | b'p')) => a.push(b'n'),
            (b'w', Some(b'o')) => {}
            (b'l', _) => a.push(b'r'),
            (b'v', _) => a.push(b'b'),
            _ => a.push(c),
        }
    }
    let mut out = String::with_capacity(a.len());
    for (k, &b) in a.iter().enumerate() {
        let prev = out.as_bytes().last().copied();
        if is_vowel(b) && (prev == Some(b) || (b == b'u' && prev == Some(b'o'))) {
            continue;
        }
        if b == b'h'
            && prev == Some(b'o')
            && a.get(k + 1).is_none_or(|&n| !is_vowel(n) && n != b'y')
        {
            continue;
        }
        out.push(char::from(b));
    }
    out
}

/// The raw letters that [`romaji_key`] may turn into the key letter `k` (lower case): a key
/// holds `k` only if its text holds one of these. Kept beside `canonicalize`, whose rules it
/// reads backwards (the gate's prescreen relies on it).
pub fn romaji_key_letter_sources(k: u8) -> &'static [u8] {
    match k {
        b't' => b"tc",
        b'y' => b"yscj",
        b'k' => b"kcq",
        b'z' => b"zjd",
        b'h' => b"hf",
        b'n' => b"nm",
        b'r' => b"rl",
        b'b' => b"bv",
        b'a' => b"a",
        b'e' => b"e",
        b'i' => b"i",
        b'o' => b"o",
        b'u' => b"u",
        b's' => b"s",
        _ if k.is_ascii_lowercase() => {
            let i = usize::from(k - b'a');
            &LETTERS[i..=i]
        }
        _ => &[],
    }
}

/// The lower-case ASCII letters, for [`romaji_key_letter_sources`].
const LETTERS: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// A loose romaji key of a kana string, for matching romanized names:
/// `やまだしょうじ`/`ヤマダショウジ` → same key as `romaji_key("Yamada Shoji")`.
///
/// Hiragana, katakana and half-width katakana are read; ASCII letters are kept; other chars
/// (kanji, digits, punctuation) are dropped.
pub fn kana_to_romaji_key(kana: &str) -> String {
    canonicalize(&romanize(kana))
}

/// The same loose key of romaji text: lower-case ASCII letters only (spaces, hyphens,
/// apostrophes, macrons ō/ū/â dropped or folded), then canonicalized so Hepburn / Kunrei /
/// wāpuro spellings meet.
pub fn romaji_key(s: &str) -> String {
    canonicalize(&clean_romaji(s))
}

// ---------------------------------------------------------------- 漢数字

/// Value of a digit: kanji (also 壱弐参) or ASCII.
fn numeral_digit(c: char) -> Option<u8> {
    let kanji = [
        "〇零", "一壱", "二弐", "三参", "四", "五", "六", "七", "八", "九",
    ];
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        c if c != '〇' && !('\u{4E00}'..='\u{9FFF}').contains(&c) => None,
        c => kanji
            .iter()
            .position(|k| k.contains(c))
            .and_then(|d| u8::try_from(d).ok()),
    }
}

/// Value of a kanji unit, and whether it is a big unit (万, 億) that closes a section.
fn numeral_unit(c: char) -> Option<(u128, bool)> {
    match c {
        '十' => Some((10, false)),
        '百' => Some((100, false)),
        '千' => Some((1000, false)),
        '万' => Some((10_000, true)),
        '億' => Some((100_000_000, true)),
        _ => None,
    }
}

fn is_kanji_numeral(c: char) -> bool {
    !c.is_ascii_digit() && (numeral_digit(c).is_some() || numeral_unit(c).is_some())
}

/// Value of a run of digits and units (`二十三` = 23, `一億二千万` = 120000000, `3万5千` =
/// 35000); `None` on overflow.
fn numeral_value(run: &[char]) -> Option<u128> {
    let (mut total, mut section, mut cur) = (0u128, 0u128, None::<u128>);
    for &c in run {
        if let Some(d) = numeral_digit(c) {
            cur = Some(
                cur.unwrap_or(0)
                    .checked_mul(10)?
                    .checked_add(u128::from(d))?,
            );
        } else if let Some((unit, big)) = numeral_unit(c) {
            if big {
                let group = section.checked_add(cur.unwrap_or(0))?.max(1);
                total = total.checked_add(group.checked_mul(unit)?)?;
                section = 0;
            } else {
                section = section.checked_add(cur.unwrap_or(1).checked_mul(unit)?)?;
            }
            cur = None;
        }
    }
    total.checked_add(section)?.checked_add(cur.unwrap_or(0))
}

/// Converts 漢数字 in a string of digits/kanji numerals to ASCII digits (一→1, 十→10, 二十三→23,
/// 百五→105, 〇/零→0, 千, 万; also 壱弐参 and 億), used for addresses and numbers. Leaves other
/// text as is.
///
/// A run of kanji numerals (ASCII digits may be mixed in: `3万5千` → `35000`) without units is
/// read digit by digit, keeping leading zeros (`〇九〇` → `090`, `二〇二三` → `2023`); a run
/// with units is read as a number (on overflow it is left as is). Runs are converted wherever
/// they are, so place names change too (`千代田` → `1000代田`): apply it to both sides of a
/// comparison.
pub fn kanji_numerals_to_digits(s: &str) -> String {
    if !s.chars().any(is_kanji_numeral) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        let has_units = run.iter().any(|&c| numeral_unit(c).is_some());
        if !run.iter().any(|&c| is_kanji_numeral(c)) {
            out.extend(run.iter());
        } else if !has_units {
            out.extend(
                run.iter()
                    .filter_map(|&c| numeral_digit(c))
                    .map(|d| char::from(b'0' + d)),
            );
        } else if let Some(v) = numeral_value(run) {
            out.push_str(&v.to_string());
        } else {
            out.extend(run.iter());
        }
        run.clear();
    };
    for c in s.chars() {
        if numeral_digit(c).is_some() || numeral_unit(c).is_some() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_conversions() {
        #[rustfmt::skip]
        let table = [
            ("ヤマダショウジ", "やまだしょうじ"), ("ヴヵヶ", "ゔゕゖ"), ("ヽヾー・", "ゝゞー・"),
            ("山田ABC", "山田ABC"), ("", ""),
        ];
        for (kata, hira) in table {
            assert_eq!(kata_to_hira(kata), hira);
            assert_eq!(kata_to_hira(kata).len(), kata.len());
            assert_eq!(hira_to_kata(hira), kata);
        }
        assert_eq!(kata_to_hira("ㇰヷヺ"), "ㇰヷヺ");
    }

    /// Every letter of a key comes from one of its sources in the text, whatever the text.
    #[test]
    fn key_letters_come_from_their_sources() {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz  ";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(state % 13 + 1) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(char::from(
                    alphabet[(state % alphabet.len() as u64) as usize],
                ));
            }
            for k in romaji_key(&text).bytes() {
                assert!(
                    romaji_key_letter_sources(k)
                        .iter()
                        .any(|s| text.as_bytes().contains(s)),
                    "key letter {:?} of {text:?} has no source",
                    char::from(k)
                );
            }
        }
        for text in [
            "Yamada Shoji",
            "Sakura Foods",
            "chocchi",
            "Jouji",
            "tsuchiya",
        ] {
            for k in romaji_key(text).bytes() {
                let lower = text.to_ascii_lowercase();
                assert!(
                    romaji_key_letter_sources(k)
                        .iter()
                        .any(|s| lower.as_bytes().contains(s))
                );
            }
        }
    }

    #[test]
    fn is_kana_table() {
        for s in ["やまだ", "ヤマダ", "ラーメン", "ゝゞ", "ㇰ"] {
            assert!(is_kana(s), "{s:?}");
        }
        for s in [
            "",
            "山田",
            "ヤマダ商事",
            "ya",
            "ヤマダ・ショウジ",
            "ﾔﾏﾀﾞ",
            "か\u{3099}",
        ] {
            assert!(!is_kana(s), "{s:?}");
        }
    }

    /// Groups whose members must all share one key (kana through `kana_to_romaji_key`, the rest
    /// through `romaji_key`).
    #[rustfmt::skip]
    const SAME_KEY: &[&[&str]] = &[
        &["Yamada Shoji", "yamada shouji", "YAMADA SYOZI", "やまだしょうじ", "ヤマダショウジ",
          "ﾔﾏﾀﾞｼｮｳｼﾞ", "Yamada Shōji", "Yamada-Shôji", "yamada syouji", "Ｙａｍａｄａ Ｓｈｏｊｉ",
          "ヤマダ ショウジ", "yamadashoji"],
        &["Satō Hanako", "sato hanako", "satou hanako", "さとうはなこ", "Satoh Hanako", "SATOO HANAKO"],
        &["Itō", "Itoh", "Ito", "いとう", "ITOU"],
        &["Ōno", "Ohno", "Oono", "おおの", "Ono"],
        &["shimbun", "shinbun", "しんぶん"],
        &["matcha", "maccha", "mattya", "まっちゃ"],
        &["Tsutsumi", "tutumi", "つつみ"],
        &["Fujita", "Huzita", "ふじた", "Hujita"],
        &["Chiba", "Tiba", "ちば"],
        &["Jun'ichirō", "Zyun'itiro", "junichirou", "じゅんいちろう", "jyunichirou"],
        &["Kyōto", "Kyouto", "kyoto", "きょうと", "Kyoto"],
        &["Shinjuku", "Sinzyuku", "しんじゅく"],
        &["ramen", "Rāmen", "raamen", "ラーメン"],
        &["Tifani", "ティファニー", "tifanii"],
        &["Kōno", "Kohno", "こうの"],
        &["Yūki", "yuuki", "Yuki", "ゆうき"],
        &["chizu", "tidu", "ちず", "ちづ"],
        &["Ōhashi", "Ohashi", "おおはし", "Oohashi"],
        &["shatchou", "syattyo", "しゃっちょう"],
        &["wi", "ウィ"],
        &["Hanako", "ハナコ", "hanako"],
        &["Sanma", "Samma", "さんま"],
        &["Nippon", "にっぽん", "NIPPON", "ニッポン"],
    ];

    #[test]
    fn keys_meet_across_spellings() {
        let key = |s: &str| {
            let kana = s
                .chars()
                .any(|c| is_kana_char(c) || ('\u{FF66}'..='\u{FF9D}').contains(&c));
            if kana {
                kana_to_romaji_key(s)
            } else {
                romaji_key(s)
            }
        };
        for group in SAME_KEY {
            let first = key(group[0]);
            assert!(!first.is_empty(), "{:?}", group[0]);
            for s in *group {
                assert_eq!(key(s), first, "{s:?} vs {:?}", group[0]);
            }
        }
    }

    #[test]
    fn exact_keys() {
        #[rustfmt::skip]
        let kana = [
            ("さとうはなこ", "satohanako"), ("きゃきゅきょ", "kyakyukyo"), ("ちぇ", "tye"),
            ("ヴァイオリン", "baiorin"), ("を", "o"), ("あっ", "a"), ("いすゞ", "isusu"),
            ("ABCマート", "abkmato"), ("山田", ""), ("", ""), ("フュージョン", "hyuzyon"),
        ];
        for (input, want) in kana {
            assert_eq!(kana_to_romaji_key(input), want, "{input:?}");
        }
        for (input, want) in [("Yamada Shoji", "yamadasyozi"), ("", ""), ("090-1234", "")] {
            assert_eq!(romaji_key(input), want, "{input:?}");
        }
    }

    #[test]
    fn different_names_differ() {
        #[rustfmt::skip]
        let pairs = [
            ("やまだ", "やまな"), ("さとう", "さいとう"), ("たなか", "なかた"), ("しょうじ", "しょうこ"),
            ("はなこ", "はなえ"), ("ようこ", "ゆうこ"), ("きょう", "きよ"), ("かとう", "かど"),
            ("はっとり", "はとり"), ("しんぶん", "しぶん"),
        ];
        for (a, b) in pairs {
            assert_ne!(kana_to_romaji_key(a), kana_to_romaji_key(b), "{a} vs {b}");
        }
        assert_ne!(romaji_key("Yamada"), romaji_key("Yamana"));
        assert_ne!(romaji_key("Sato"), romaji_key("Saito"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        #[rustfmt::skip]
        let odd = [
            "ゃ", "ぁ", "っ", "ー", "ゝ", "ぃゃ", "っっか", "ﾞ", "\u{301}", "ん'", "oh", "h", "ts",
            "ch", "sh", "cch", "j", "dz", "👨\u{200D}👩", "ゐゑゎ", "ｶﾞ", "ㇰ",
        ];
        for s in odd {
            let _ = (kana_to_romaji_key(s), romaji_key(s));
        }
        let long = "しょうじ".repeat(50_000);
        assert_eq!(kana_to_romaji_key(&long), "syozi".repeat(50_000));
    }

    #[test]
    fn kanji_numerals_table() {
        #[rustfmt::skip]
        let table = [
            ("一", "1"), ("十", "10"), ("二十三", "23"), ("百五", "105"), ("〇", "0"), ("零", "0"),
            ("千", "1000"), ("二千二十三", "2023"), ("二〇二三", "2023"), ("〇九〇", "090"),
            ("三十万", "300000"), ("一億二千万", "120000000"), ("3万5千", "35000"), ("壱弐参", "123"),
            ("日吉三丁目二番一号", "日吉3丁目2番1号"), ("横浜市港北区日吉3-2-1", "横浜市港北区日吉3-2-1"),
            ("第二十一回", "第21回"), ("", ""), ("abc", "abc"), ("万", "10000"),
        ];
        for (input, want) in table {
            assert_eq!(kanji_numerals_to_digits(input), want, "input {input:?}");
        }
        assert_eq!(kanji_numerals_to_digits(&"九".repeat(200)), "9".repeat(200));
        let huge = "九".repeat(50) + "万";
        assert_eq!(kanji_numerals_to_digits(&huge), huge);
    }
}
