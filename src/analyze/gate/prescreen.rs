//! The prescreen: a byte-level necessary condition of the gate, so that most posts are
//! rejected by one cheap pass, without the gate's tables and state machines.
//!
//! The gate passes a post for one of five reasons, and each has a cheaper consequence that
//! can be read off the raw UTF-8 bytes:
//!
//! - a pattern group: at least `need` of its `k` anchors occur, so at least one of *any*
//!   `k - need + 1` of them does — the gate hands over the raw forms of its rarest ones as
//!   literals;
//! - an ASCII run with enough letters: the post has at least that many ASCII and full-width
//!   letters in all;
//! - a digit chain of a watched number: the post has that many ASCII and full-width digits, or
//!   a digit of another form (①, ⑴…, given as literals);
//! - an e-mail sign: an '@', a letter pair "at" in ASCII, or one of the literals (＠, ａ/ｔ in
//!   full width, invisible characters that the gate skips between letters, あっと…);
//! - an address shape: one of the address marks (literals).
//!
//! One pass, without the gate's state machines: an ASCII byte is counted (and checked for
//! '@', "at" and ASCII literals) with a few compares; any other character's scalar value is
//! read straight off its bytes and tested in a bitmap of the BMP (8 KB, so it stays in the
//! L1 cache) that marks the characters literals start with and the full-width letters and
//! digits. Only a marked character costs more than that; characters above the BMP are
//! looked up in a short sorted list. Multi-character literals (あっと) are checked at their
//! first character.

/// What the gate needs the prescreen to look for.
#[derive(Debug, Clone, Default)]
pub(super) struct Spec {
    /// Raw forms whose presence lets a post through (characters or short words).
    pub literals: Vec<String>,
    /// Letters (ASCII and full-width) that let a post through, when runs are checked.
    pub letters: Option<usize>,
    /// Digits (ASCII and full-width) that let a post through, when numbers are watched.
    pub digits: Option<usize>,
    /// An ASCII '@' or "at" lets a post through (e-mails are watched).
    pub at: bool,
}

/// 64-bit words of the BMP bitmap.
const WORDS: usize = 0x10000 / 64;

/// The compiled prescreen of one gate.
#[derive(Debug, Clone)]
pub(super) struct Prescreen {
    /// One bit per BMP code point: a literal starts with it, or it is counted.
    bits: Vec<u64>,
    /// ASCII characters that start a literal (bit per byte value).
    ascii: u128,
    /// Literals starting with each marked character, when longer than it.
    words: Vec<(char, String)>,
    /// Marked characters that are literals by themselves.
    single: std::collections::HashSet<char>,
    /// Literals above the BMP.
    astral: Vec<char>,
    letters: usize,
    digits: usize,
    at: bool,
}

impl Prescreen {
    /// Compiles the literals into bitmaps.
    pub(super) fn new(spec: Spec) -> Prescreen {
        let mut p = Prescreen {
            bits: vec![0; WORDS],
            ascii: 0,
            words: Vec::new(),
            single: Default::default(),
            astral: Vec::new(),
            letters: spec.letters.unwrap_or(usize::MAX),
            digits: spec.digits.unwrap_or(usize::MAX),
            at: spec.at,
        };
        for lit in &spec.literals {
            let mut chars = lit.chars();
            let Some(first) = chars.next() else {
                continue;
            };
            if first.is_ascii() {
                p.ascii |= 1 << (first as u32);
            } else if (first as u32) < 0x10000 {
                p.set(first as u32);
            } else {
                p.astral.push(first);
            }
            if chars.next().is_some() {
                p.words.push((first, lit.clone()));
            } else {
                p.single.insert(first);
            }
        }
        for cp in (0xFF10..=0xFF19)
            .chain(0xFF21..=0xFF3A)
            .chain(0xFF41..=0xFF5A)
        {
            p.set(cp);
        }
        p.astral.sort_unstable();
        p.astral.dedup();
        p
    }

    fn set(&mut self, cp: u32) {
        self.bits[(cp >> 6) as usize] |= 1 << (cp & 63);
    }

    /// Whether a literal starting with `c` occurs at byte `i` of `raw`.
    fn literal_at(&self, c: char, raw: &[u8], i: usize) -> bool {
        self.single.contains(&c)
            || self
                .words
                .iter()
                .any(|(f, w)| *f == c && raw[i..].starts_with(w.as_bytes()))
    }

    /// False only if the gate cannot pass `raw`.
    pub(super) fn pass(&self, raw: &[u8]) -> bool {
        let (mut letters, mut digits) = (0usize, 0usize);
        let mut prev = 0u8;
        let mut i = 0;
        let n = raw.len();
        while i < n {
            let b = raw[i];
            if b < 0x80 {
                letters += usize::from((b | 0x20).wrapping_sub(b'a') < 26);
                digits += usize::from(b.wrapping_sub(b'0') < 10);
                if (self.at && (b == b'@' || (prev | 0x20 == b'a' && b | 0x20 == b't')))
                    || (self.ascii >> b) & 1 != 0 && self.literal_at(b as char, raw, i)
                {
                    return true;
                }
                prev = b;
                i += 1;
                continue;
            }
            prev = 0;
            // `raw` is valid UTF-8: the scalar's bits straight from the bytes.
            let (cp, width) = match b {
                0xC0..=0xDF if i + 1 < n => {
                    ((u32::from(b & 0x1F) << 6) | u32::from(raw[i + 1] & 0x3F), 2)
                }
                0xE0..=0xEF if i + 2 < n => (
                    (u32::from(b & 0x0F) << 12)
                        | (u32::from(raw[i + 1] & 0x3F) << 6)
                        | u32::from(raw[i + 2] & 0x3F),
                    3,
                ),
                0xF0.. if i + 3 < n => {
                    let cp = (u32::from(b & 0x07) << 18)
                        | (u32::from(raw[i + 1] & 0x3F) << 12)
                        | (u32::from(raw[i + 2] & 0x3F) << 6)
                        | u32::from(raw[i + 3] & 0x3F);
                    if char::from_u32(cp).is_some_and(|c| self.astral.binary_search(&c).is_ok()) {
                        return true;
                    }
                    i += 4;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            if (self.bits[(cp >> 6) as usize] >> (cp & 63)) & 1 != 0 {
                match cp {
                    0xFF10..=0xFF19 => digits += 1,
                    0xFF21..=0xFF3A | 0xFF41..=0xFF5A => letters += 1,
                    _ => {}
                }
                if char::from_u32(cp).is_some_and(|c| self.literal_at(c, raw, i)) {
                    return true;
                }
            }
            i += width;
        }
        letters >= self.letters || digits >= self.digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(letters: usize, digits: usize, at: bool) -> Prescreen {
        Prescreen::new(Spec {
            literals: vec!["桜".into(), "あっと".into(), "𠮷".into(), "x".into()],
            letters: Some(letters),
            digits: Some(digits),
            at,
        })
    }

    #[test]
    fn literals_letters_and_digits_each_let_a_post_through() {
        let p = screen(6, 10, false);
        assert!(p.pass("夜桜がきれい".as_bytes()));
        assert!(p.pass("メール あっと".as_bytes()));
        assert!(!p.pass("あっち".as_bytes()));
        assert!(p.pass("𠮷野家".as_bytes()));
        assert!(p.pass("box".as_bytes()));
        assert!(p.pass("ＳＡＫＵＲＡ".as_bytes()));
        assert!(p.pass("Sakura".as_bytes()));
        assert!(!p.pass("Ｓａｋｕｒ".as_bytes()));
        assert!(p.pass("０８０-3141-5926".as_bytes()));
        assert!(!p.pass("今日は晴れ 12:30 www 😀".as_bytes()));
        assert!(!p.pass("a@b".as_bytes()));
    }

    #[test]
    fn at_signs_only_when_e_mails_are_watched() {
        let p = screen(100, 100, true);
        assert!(p.pass(b"a@b"));
        assert!(p.pass(b"name AT example"));
        assert!(!p.pass("あいうえお a t".as_bytes()));
    }
}
