//! What the gate hands its prescreen: each character's role and anchors, each group's
//! anchors and need, the names and keys a run may spell, the watched numbers.

use super::*;

/// What the gate watches besides its pattern groups, as the prescreen needs to know it.
pub(super) struct PrescreenNeeds<'a> {
    /// Letters in one run that may hold an ASCII or romanized name.
    pub(super) letters: Option<usize>,
    /// The names and romaji keys a run may hold, as [`prescreen::Spec::keys`].
    pub(super) keys: Vec<Vec<u32>>,
    /// The watched numbers.
    pub(super) digits: &'a DigitValues,
    /// E-mail addresses are watched: an '@' or "at" passes.
    pub(super) email: bool,
    /// Hashed or town-less addresses are watched: any address mark passes.
    pub(super) address: bool,
}

/// The prescreen's view of the gate: each character's role (digit, separator, run letter,
/// a sign that passes by itself) and anchors, and each group's anchors and need.
pub(super) fn prescreen_spec(
    table: &[u16],
    astral: &HashMap<char, u16>,
    (class_anchors, class_flags): (&[Vec<u16>], &[u8]),
    groups: &[Group],
    needs: PrescreenNeeds,
) -> prescreen::Spec {
    use prescreen::role;
    let digits = needs.digits.min_len().is_some();
    let role_of = |c: char, slot: u16| -> prescreen::CharSpec {
        let slot = usize::from(slot & !LETTER);
        let f = class_flags[slot];
        let mut r = 0;
        let fw_digit = matches!(c, '\u{FF10}'..='\u{FF19}');
        let fw_letter = matches!(c, '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}');
        if f & DIGIT != 0 {
            r |= if fw_digit {
                role::DIGIT
            } else if digits {
                role::PASS
            } else {
                0
            };
        } else if f & DIGIT_SEPARATOR != 0 {
            r |= role::SEPARATOR;
        } else if f & TRANSPARENT != 0 {
            r |= role::TRANSPARENT;
        }
        if f & RUN_CHAR != 0 {
            r |= role::RUN;
            if fw_letter {
                r |= role::LETTER;
            }
        }
        if needs.email {
            if f & (AT_SIGN | TRANSPARENT) != 0 {
                r |= role::PASS;
            }
            if f & SMALL_TSU != 0 {
                r |= role::WORD;
            }
        }
        if needs.address && f & ADDRESS_MARK != 0 {
            r |= role::PASS;
        }
        if c as u32 == RLO {
            r |= role::PASS;
        }
        let value = match c {
            '\u{FF10}'..='\u{FF19}' => c as u32 - 0xFF10,
            '\u{FF21}'..='\u{FF3A}' => c as u32 - 0xFF21,
            '\u{FF41}'..='\u{FF5A}' => c as u32 - 0xFF41,
            _ => 0,
        };
        prescreen::CharSpec {
            flags: r,
            anchors: class_anchors[slot].clone(),
            value: value as u8,
        }
    };
    let mut chars: Vec<(char, prescreen::CharSpec)> = table
        .iter()
        .enumerate()
        .skip(0x80)
        .filter(|(_, e)| **e & !LETTER != 0)
        .filter_map(|(cp, &e)| char::from_u32(cp as u32).map(|c| (c, role_of(c, e))))
        .collect();
    for (&c, &e) in astral {
        let mut spec = role_of(c, e);
        // Above the BMP a character only passes a post or does nothing.
        if spec.flags & role::PASS != 0 || !spec.anchors.is_empty() {
            spec.flags = role::PASS;
            chars.push((c, spec));
        }
    }
    let ascii = (0u8..128)
        .map(|b| {
            let c = char::from(b);
            let mut r = 0;
            if c.is_ascii_digit() {
                r |= role::DIGIT;
            } else if matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '\t') {
                r |= role::SEPARATOR;
            }
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '\'' | '.' | '_' | ' ' | '\t') {
                r |= role::RUN;
            }
            if c.is_ascii_alphabetic() {
                r |= role::LETTER;
            }
            if needs.email && c == '@' {
                r |= role::PASS;
            }
            if needs.email && matches!(c, 't' | 'T') {
                r |= role::AT_T;
            }
            let value = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'z' | b'A'..=b'Z' => (b | 0x20) - b'a',
                _ => 0,
            };
            prescreen::CharSpec {
                flags: r,
                anchors: class_anchors[usize::from(table[usize::from(b)] & !LETTER)].clone(),
                value,
            }
        })
        .collect();
    let words = if needs.email {
        ["あっと", "アット", "ｱｯﾄ"]
            .iter()
            .map(|w| (w.to_string(), w.chars().next().map_or(0, char::len_utf8)))
            .collect()
    } else {
        Vec::new()
    };
    prescreen::Spec {
        chars,
        ascii,
        groups: groups
            .iter()
            .map(|g| (g.anchors.clone(), g.need, g.span))
            .collect(),
        words,
        letters: needs.letters,
        keys: needs.keys,
        digits: needs.digits.any_len,
        numbers: needs.digits.values.clone(),
    }
}

/// For each ASCII name and romaji key, in order, the letters (a bit each) each of its letters
/// may be written with in a run: itself for a name, its sources for a key.
pub(super) fn run_keys(ascii_patterns: &[String], matcher: &Matcher) -> Vec<Vec<u32>> {
    let bit = |b: u8| 1u32 << (b - b'a');
    let names = ascii_patterns.iter().map(|p| {
        p.bytes()
            .filter(u8::is_ascii_alphabetic)
            .map(|b| bit(b.to_ascii_lowercase()))
            .collect::<Vec<u32>>()
    });
    let keys = matcher.romaji_keys().map(|k| {
        k.bytes()
            .map(|b| {
                reading::romaji_key_letter_sources(b)
                    .iter()
                    .fold(0, |m, &s| m | bit(s))
            })
            .filter(|sources| *sources != 0)
            .collect::<Vec<u32>>()
    });
    let mut out: Vec<Vec<u32>> = names.chain(keys).collect();
    out.sort();
    out.dedup();
    out
}
