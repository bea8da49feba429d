//! Kana folding and a loose romaji key for matching romanized names.
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
//! purpose (`ふぁ` and `は` share `ha`); it is only compared against the few watched names.

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
const ROMAJI: [&str; 86] = [
    "a", "a", "i", "i", "u", "u", "e", "e", "o", "o", // ぁあぃいぅうぇえぉお
    "ka", "ga", "ki", "gi", "ku", "gu", "ke", "ge", "ko", "go", // かが…ご
    "sa", "za", "shi", "ji", "su", "zu", "se", "ze", "so", "zo", // さざ…ぞ
    "ta", "da", "chi", "ji", "", "tsu", "zu", "te", "de", "to",
    "do", // ただちぢっつづてでとど
    "na", "ni", "nu", "ne", "no", // な…の
    "ha", "ba", "pa", "hi", "bi", "pi", "fu", "bu", "pu", "he", "be", "pe", "ho", "bo", "po", "ma",
    "mi", "mu", "me", "mo", // ま…も
    "ya", "ya", "yu", "yu", "yo", "yo", // ゃやゅゆょよ
    "ra", "ri", "ru", "re", "ro", // ら…ろ
    "wa", "wa", "i", "e", "o", "n", "vu", "ka", "ke", // ゎわゐゑをんゔゕゖ
];

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
                let v = ROMAJI[(c as u32 - 0x3041) as usize]
                    .bytes()
                    .last()
                    .unwrap_or(b'a');
                attach_small_vowel(&mut out, &mut syl, v);
            }
            'ゃ' | 'ゅ' | 'ょ' => {
                let v = ROMAJI[(c as u32 - 0x3041) as usize]
                    .bytes()
                    .last()
                    .unwrap_or(b'a');
                attach_small_y(&mut out, &mut syl, v);
            }
            '\u{3041}'..='\u{3096}' => {
                let r = ROMAJI[(c as u32 - 0x3041) as usize];
                if let Some(first) = r.bytes().next().filter(|&b| sokuon && !is_vowel(b)) {
                    out.push(if r.starts_with("ch") { b't' } else { first });
                }
                syl = Some(out.len());
                out.extend_from_slice(r.as_bytes());
            }
            c if c.is_ascii_alphabetic() => {
                out.push(c.to_ascii_lowercase() as u8);
                syl = None;
            }
            _ => syl = None,
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

/// A loose romaji key of a kana string, for matching romanized names: `やまだしょうじ`/`ヤマダショウジ` → same key as romaji_key("Yamada Shoji").
///
/// Hiragana, katakana and half-width katakana are read; ASCII letters are kept; other chars
/// (kanji, digits, punctuation) are dropped.
pub fn kana_to_romaji_key(kana: &str) -> String {
    canonicalize(&romanize(kana))
}

/// The same loose key of romaji text: lower-case ASCII letters only (spaces, hyphens, apostrophes, macrons ō/ū/â dropped or folded), then canonicalized so Hepburn / Kunrei / wāpuro spellings meet.
pub fn romaji_key(s: &str) -> String {
    canonicalize(&clean_romaji(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_conversions() {
        for (kata, hira) in [
            ("ヤマダショウジ", "やまだしょうじ"),
            ("ヴヵヶ", "ゔゕゖ"),
            ("ヽヾー・", "ゝゞー・"),
            ("山田ABC", "山田ABC"),
            ("", ""),
        ] {
            assert_eq!(kata_to_hira(kata), hira);
            assert_eq!(kata_to_hira(kata).len(), kata.len());
            assert_eq!(hira_to_kata(hira), kata);
        }
        assert_eq!(kata_to_hira("ㇰヷヺ"), "ㇰヷヺ");
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

    /// Groups whose members must all share one key.
    const SAME_KEY: &[&[&str]] = &[
        &[
            "Yamada Shoji",
            "yamada shouji",
            "YAMADA SYOZI",
            "やまだしょうじ",
            "ヤマダショウジ",
            "ﾔﾏﾀﾞｼｮｳｼﾞ",
            "Yamada Shōji",
            "Yamada-Shôji",
            "yamada syouji",
            "Ｙａｍａｄａ Ｓｈｏｊｉ",
        ],
        &[
            "Satō Hanako",
            "sato hanako",
            "satou hanako",
            "さとうはなこ",
            "Satoh Hanako",
            "SATOO HANAKO",
        ],
        &["Itō", "Itoh", "Ito", "いとう", "ITOU"],
        &["Ōno", "Ohno", "Oono", "おおの", "Ono"],
        &["shimbun", "shinbun", "しんぶん"],
        &["matcha", "maccha", "mattya", "まっちゃ"],
        &["Tsutsumi", "tutumi", "つつみ"],
        &["Fujita", "Huzita", "ふじた", "Hujita"],
        &["Chiba", "Tiba", "ちば"],
        &[
            "Jun'ichirō",
            "Zyun'itiro",
            "junichirou",
            "じゅんいちろう",
            "jyunichirou",
        ],
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
    ];

    #[test]
    fn keys_meet_across_spellings() {
        for group in SAME_KEY {
            let key = |s: &str| {
                if s.is_ascii()
                    || s.chars().any(|c| {
                        c.is_ascii_alphabetic()
                            || ('Ａ'..='ｚ').contains(&c)
                            || "ōôūûāâ".contains(c)
                    })
                {
                    romaji_key(s)
                } else {
                    kana_to_romaji_key(s)
                }
            };
            let first = key(group[0]);
            assert!(!first.is_empty(), "{:?}", group[0]);
            for s in *group {
                assert_eq!(key(s), first, "{s:?} vs {:?}", group[0]);
            }
        }
    }

    #[test]
    fn exact_keys() {
        assert_eq!(romaji_key("Yamada Shoji"), "yamadasyozi");
        assert_eq!(kana_to_romaji_key("さとうはなこ"), "satohanako");
        assert_eq!(kana_to_romaji_key("きゃきゅきょ"), "kyakyukyo");
        assert_eq!(kana_to_romaji_key("ちぇ"), "tye");
        assert_eq!(kana_to_romaji_key("ヴァイオリン"), "baiorin");
        assert_eq!(kana_to_romaji_key("を"), "o");
        assert_eq!(kana_to_romaji_key("あっ"), "a");
        assert_eq!(kana_to_romaji_key("いすゞ"), "isusu");
        assert_eq!(kana_to_romaji_key("ABCマート"), "abkmato");
        assert_eq!(kana_to_romaji_key("山田"), "");
        assert_eq!(romaji_key(""), "");
        assert_eq!(kana_to_romaji_key(""), "");
        assert_eq!(romaji_key("090-1234"), "");
    }

    #[test]
    fn different_names_differ() {
        for (a, b) in [
            ("やまだ", "やまな"),
            ("さとう", "さいとう"),
            ("たなか", "なかた"),
            ("しょうじ", "しょうこ"),
            ("はなこ", "はなえ"),
            ("ようこ", "ゆうこ"),
            ("きょう", "きよ"),
            ("かとう", "かど"),
        ] {
            assert_ne!(kana_to_romaji_key(a), kana_to_romaji_key(b), "{a} vs {b}");
        }
        assert_ne!(romaji_key("Yamada"), romaji_key("Yamana"));
        assert_ne!(romaji_key("Sato"), romaji_key("Saito"));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "ゃ",
            "ぁ",
            "っ",
            "ー",
            "ゝ",
            "ぃゃ",
            "っっか",
            "ﾞ",
            "\u{301}",
            "ん'",
            "oh",
            "h",
            "ts",
            "ch",
            "sh",
            "cch",
            "j",
            "dz",
            "👨\u{200D}👩",
            "ゐゑゎ",
        ] {
            let _ = kana_to_romaji_key(s);
            let _ = romaji_key(s);
        }
        let long = "しょうじ".repeat(50_000);
        assert_eq!(kana_to_romaji_key(&long), "syozi".repeat(50_000));
    }
}
