//! Normalization of post text for matching, with a map back to the original text.
//!
//! Posts that attack someone are often written to dodge search: full-width letters, half-width
//! kana, zero-width characters, dashes for the 長音, a space or a dot between every character.
//! Matching runs on a normalized copy, but snippets, highlights and evidence must point at the
//! text *as posted*, so every normalized byte keeps the byte offset of the original character it
//! came from (the charabia approach: normalizers as an ordered list, plus a char map).
//!
//! # Steps of [`normalize`], in order
//!
//! Each step is a small state machine over `Piece`s (a char plus the original byte range it
//! came from) that owns the next step (trait `Step`); the chain ends in a `Builder` that writes
//! the text and the map. So `normalize` is one pass over the input with no buffer between steps
//! (a step holds back at most a pending `ー`, newline, NFKC segment or run of spaces), and each
//! step still runs alone, into a `Vec<Piece>`, in its own test table.
//!
//! 1. `StripFormat` removes zero-width and format characters: U+200B–U+200F, U+202A–U+202E,
//!    U+2060–U+2064, U+2066–U+2069 (bidi isolates, added), U+FEFF, U+00AD, variation selectors
//!    U+FE00–U+FE0F and U+E0100–U+E01EF. It runs *before* NFKC (the brief lists it second) so
//!    that `ﾊ\u{200B}ﾞ` composes to `バ` and normalizing twice gives the same text.
//! 2. `Nfkc` applies NFKC per *segment*: a char whose decomposition starts with a starter that
//!    never composes backwards, plus the combining marks after it. `ﾀﾞ` (two chars, the second a
//!    non-starter once decomposed) is one segment and becomes `ダ`; every output char of a
//!    segment maps to the whole segment. One-char segments already in NFKC (kanji, kana, ASCII)
//!    skip the normalizer, and full-width ASCII / half-width kana (± voicing mark) are looked up
//!    directly. The chars step 3 owns are left alone (`ｰ` U+FF70, `－` U+FF0D, `﹣` U+FE63: NFKC
//!    would erase that they were dashes), and so are `゛` `゜` (NFKC makes them space + mark).
//! 3. `UnifyDashes` (neologdn): hyphen variants (U+02D7 U+058A U+2010–U+2015 U+2043 U+207B
//!    U+208B U+2212 U+2E3A U+2E3B U+FE58 U+FE63 U+FF0D) become `-`, or `ー` right after a kana;
//!    `─` `━` `ｰ` become `ー` after a kana, `-` elsewhere; runs of `ー` collapse to one; tildes
//!    (`~ ∼ ∾ 〜 〰 ～`) become `~`. ASCII `-` is never changed: it is the separator of phone
//!    numbers and addresses and the one [`compact`] removes from `ヤ-マ-ダ`.
//! 4. `CollapseSpaces`: every Unicode space (tab, NBSP, U+3000 …) is one `' '` and runs
//!    collapse; a space is dropped at the start and end of a line, between two Japanese chars,
//!    and between a Japanese and an ASCII char (neologdn); it stays between two ASCII chars
//!    (`Yamada Shoji`, `090 2345 6789`) and next to other scripts. `\r\n`, `\r`, U+0085, U+2028
//!    and U+2029 become `\n`; newlines are kept (they separate sentences). A `ー` that meets
//!    another `ー` once a space is gone merges into it, so normalizing is idempotent.
//!
//! [`compact`] is a separate, more aggressive view (separators between letters removed) and
//! [`fold`] a byte-length-preserving case/kana fold for comparisons.
//!
//! # Offset map
//!
//! [`Normalized`] keeps, for every byte of `text`, the original offset of the start of the char
//! it belongs to (`text.len() + 1` entries, the last one the original length), plus a sparse
//! list of the places where a char's original *end* is not the next char's original start
//! (something was removed there, or several output chars share one segment), so
//! [`Normalized::original_range`] ends at the last char instead of swallowing what was removed
//! after it. Offsets are `u32`: inputs of 4 GiB or more are out of scope (offsets saturate).
//!
//! # Speed
//!
//! A text no step would change (plain ASCII, kanji, kana, common punctuation) is detected in one
//! scan and returned as an identity. Otherwise it is one decode and one trip down the chain per
//! char; no regex, no allocation per char.

use std::ops::Range;

use unicode_normalization::char::{canonical_combining_class, compose, decompose_compatible};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick, is_nfkc_quick};

use crate::text::reading::{is_kana_char, kata_to_hira_char};

/// Text after normalization, with a map from each normalized byte back to the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// The normalized text.
    pub text: String,
    /// `text.len() + 1` entries: original offset of the start of the char holding each byte;
    /// the last entry is the original length.
    map: Vec<u32>,
    /// `(normalized char boundary p, original end of the char ending at p)`, sorted by `p`,
    /// only where that end differs from `map[p]`.
    gaps: Vec<(u32, u32)>,
}

impl Normalized {
    /// Identity (no change) for `s`.
    pub fn identity(s: &str) -> Normalized {
        let (text, gaps) = (s.to_owned(), Vec::new());
        Normalized {
            text,
            map: (0..=off(s.len())).collect(),
            gaps,
        }
    }

    /// Byte offset in the original text for normalized byte offset `i` (i may equal text.len()).
    ///
    /// Inside a char, the offset of that char's origin; past the end, the original length.
    pub fn original_offset(&self, i: usize) -> usize {
        let i = i.min(self.text.len());
        self.map.get(i).copied().unwrap_or(0) as usize
    }

    /// Original byte range covering normalized range `r` (start of the first char .. end of the
    /// last char in the original; on char boundaries of the original). Out-of-range or mid-char
    /// bounds are clamped / widened to whole chars; an empty `r` gives an empty range at
    /// [`Normalized::original_offset`] of its end.
    pub fn original_range(&self, r: Range<usize>) -> Range<usize> {
        let end = r.end.min(self.text.len());
        let start = r.start.min(end);
        let from = self.original_offset(start);
        if start == end {
            return from..from;
        }
        let mut e = end;
        while !self.text.is_char_boundary(e) {
            e += 1;
        }
        from..self.end_at(e).max(from)
    }

    /// Original end of the char that ends at normalized char boundary `p`.
    fn end_at(&self, p: usize) -> usize {
        match self.gaps.binary_search_by_key(&off(p), |g| g.0) {
            Ok(k) => self.gaps[k].1 as usize,
            Err(_) => self.original_offset(p),
        }
    }

    /// The text as pieces with their original ranges (what the `Builder` was fed, after merges).
    fn pieces(&self) -> impl Iterator<Item = Piece> + '_ {
        let mut gap = self.gaps.iter().peekable();
        let mut chars = self.text.char_indices().peekable();
        std::iter::from_fn(move || {
            let (i, ch) = chars.next()?;
            let j = chars.peek().map_or(self.text.len(), |&(j, _)| j);
            while gap.next_if(|g| (g.0 as usize) < j).is_some() {}
            let end = match gap.peek() {
                Some(g) if g.0 as usize == j => g.1,
                _ => off(self.original_offset(j)),
            };
            Some(Piece::new(ch, off(self.original_offset(i)), end))
        })
    }
}

/// One char of the text being normalized, with the original byte range it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    ch: char,
    start: u32,
    end: u32,
}

impl Piece {
    fn new(ch: char, start: u32, end: u32) -> Piece {
        Piece { ch, start, end }
    }
}

/// Saturating `usize` → `u32` for offsets (see the module header on the 4 GiB limit).
fn off(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// One stage of a chain: takes pieces one at a time and passes its output on to the next
/// stage, which it owns; `finish` flushes what it holds and returns the end of the chain.
trait Step {
    type Out;
    fn put(&mut self, p: Piece);
    fn finish(self) -> Self::Out;
}

/// Collects pieces: the end of a chain in tests.
impl Step for Vec<Piece> {
    type Out = Vec<Piece>;
    fn put(&mut self, p: Piece) {
        self.push(p);
    }
    fn finish(self) -> Vec<Piece> {
        self
    }
}

/// Feeds the chars of `input` through a chain.
fn feed<S: Step>(mut chain: S, input: &str) -> S::Out {
    for (i, ch) in input.char_indices() {
        chain.put(Piece::new(ch, off(i), off(i + ch.len_utf8())));
    }
    chain.finish()
}

/// Normalizes post text for matching (the rules below), keeping the offset map.
///
/// Runs the steps of the module header in order: strip format chars, NFKC, dash/tilde
/// unification, whitespace. Never panics.
pub fn normalize(input: &str) -> Normalized {
    if is_already_normal(input) {
        return Normalized::identity(input);
    }
    let out = Builder::new(input.len(), input.len());
    feed(
        StripFormat(Nfkc::new(UnifyDashes::new(CollapseSpaces::new(out)))),
        input,
    )
}

/// The end of the chain: writes the normalized text and its offset map.
struct Builder {
    text: String,
    map: Vec<u32>,
    gaps: Vec<(u32, u32)>,
    prev_end: Option<u32>,
    original_len: u32,
}

impl Builder {
    fn new(capacity: usize, original_len: usize) -> Builder {
        let (text, map) = (
            String::with_capacity(capacity),
            Vec::with_capacity(capacity + 1),
        );
        let original_len = off(original_len);
        Builder {
            text,
            map,
            gaps: Vec::new(),
            prev_end: None,
            original_len,
        }
    }
}

impl Step for Builder {
    type Out = Normalized;
    #[inline]
    fn put(&mut self, p: Piece) {
        if let Some(e) = self.prev_end.filter(|&e| e != p.start) {
            self.gaps.push((off(self.text.len()), e));
        }
        self.text.push(p.ch);
        self.map
            .extend(std::iter::repeat_n(p.start, p.ch.len_utf8()));
        self.prev_end = Some(p.end);
    }
    fn finish(mut self) -> Normalized {
        if let Some(e) = self.prev_end.filter(|&e| e != self.original_len) {
            self.gaps.push((off(self.text.len()), e));
        }
        self.map.push(self.original_len);
        debug_assert_eq!(self.map.len(), self.text.len() + 1);
        Normalized {
            text: self.text,
            map: self.map,
            gaps: self.gaps,
        }
    }
}

/// True if no step would change `s`: the fast path of [`normalize`].
fn is_already_normal(s: &str) -> bool {
    let mut prev: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let ok = match c {
            '!'..='~' | '\n' => true,
            ' ' => {
                prev.is_some_and(|p| p.is_ascii_graphic())
                    && chars.peek().is_some_and(|n| n.is_ascii_graphic())
            }
            'ー' => prev != Some('ー'),
            c => is_plain_japanese(c),
        };
        if !ok {
            return false;
        }
        prev = Some(c);
    }
    true
}

/// Kanji, kana and CJK punctuation that every step leaves as they are (and that start an NFKC
/// segment). `ー` is not here (runs collapse), nor `〜` (a tilde).
fn is_plain_japanese(c: char) -> bool {
    matches!(c,
        '\u{3001}'..='\u{301B}' | '\u{301D}'..='\u{301F}' | '\u{3041}'..='\u{3096}'
        | '\u{309D}'..='\u{309E}' | '\u{30A1}'..='\u{30FB}' | '\u{30FD}'..='\u{30FE}'
        | '\u{4E00}'..='\u{9FFF}')
}

// ---------------------------------------------------------------- step 1: format characters

/// Step 1: drops zero-width / format characters.
struct StripFormat<S>(S);

/// Zero-width and format characters removed by step 1.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}'
        | '\u{00AD}' | '\u{FEFF}')
}

impl<S: Step> Step for StripFormat<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        if !is_format(p.ch) {
            self.0.put(p);
        }
    }
    fn finish(self) -> S::Out {
        self.0.finish()
    }
}

// ---------------------------------------------------------------- step 2: NFKC

/// Step 2: NFKC per segment (see the module header).
struct Nfkc<S> {
    next: S,
    /// The first piece of the current segment; the chars after it are in `rest`.
    first: Option<Piece>,
    rest: String,
    end: u32,
    buf: String,
}

/// Chars NFKC must not touch because a later step needs to see them as they were.
fn is_nfkc_exempt(c: char) -> bool {
    "ｰ－﹣゛゜".contains(c)
}

/// True if `c` alone is already NFKC (and is kept as is).
fn is_nfkc_stable(c: char) -> bool {
    c.is_ascii()
        || is_plain_japanese(c)
        || is_nfkc_exempt(c)
        || is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes
}

/// Full-width ASCII and half-width katakana: NFKC is one char, looked up directly.
fn is_width_variant(c: char) -> bool {
    ('\u{FF01}'..='\u{FF9D}').contains(&c) && !is_nfkc_exempt(c)
}

/// True if NFKC can never combine `c` with what comes before it, so a segment starts at `c`.
fn starts_segment(c: char) -> bool {
    if (c as u32) < 0x300 || is_plain_japanese(c) || is_width_variant(c) {
        return true;
    }
    let d = first_of_decomposition(c);
    canonical_combining_class(d) == 0 && is_nfc_quick(std::iter::once(d)) == IsNormalized::Yes
}

fn first_of_decomposition(c: char) -> char {
    let mut first = None;
    decompose_compatible(c, |d| {
        first.get_or_insert(d);
    });
    first.unwrap_or(c)
}

impl<S: Step> Nfkc<S> {
    fn new(next: S) -> Self {
        let (rest, buf) = (String::new(), String::new());
        Nfkc {
            next,
            first: None,
            rest,
            end: 0,
            buf,
        }
    }

    fn flush(&mut self) {
        let Some(first) = self.first.take() else {
            return;
        };
        let (start, end) = (first.start, self.end);
        if self.rest.is_empty() && is_nfkc_stable(first.ch) {
            return self.next.put(first);
        }
        let mark = match self.rest.as_str() {
            "" => Some(None),
            "\u{FF9E}" => Some(Some('\u{3099}')),
            "\u{FF9F}" => Some(Some('\u{309A}')),
            _ => None,
        };
        if let Some(mark) = mark.filter(|_| is_width_variant(first.ch)) {
            self.rest.clear();
            let base = first_of_decomposition(first.ch);
            match mark.map(|m| (m, compose(base, m))) {
                None => self.next.put(Piece::new(base, start, end)),
                Some((_, Some(ch))) => self.next.put(Piece::new(ch, start, end)),
                Some((m, None)) => {
                    self.next.put(Piece::new(base, start, end));
                    self.next.put(Piece::new(m, start, end));
                }
            }
            return;
        }
        self.buf.clear();
        let mut start = start;
        if is_nfkc_exempt(first.ch) {
            self.next.put(first);
            start = first.end;
        } else {
            self.buf.push(first.ch);
        }
        self.buf.push_str(&self.rest);
        self.rest.clear();
        for ch in self.buf.nfkc() {
            self.next.put(Piece::new(ch, start, end));
        }
    }
}

impl<S: Step> Step for Nfkc<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        if starts_segment(p.ch) {
            self.flush();
        }
        match self.first {
            None => self.first = Some(p),
            Some(_) => self.rest.push(p.ch),
        }
        self.end = p.end;
    }
    fn finish(mut self) -> S::Out {
        self.flush();
        self.next.finish()
    }
}

// ---------------------------------------------------------------- step 3: dashes and tildes

/// Step 3: unifies hyphens, long-vowel marks and tildes (neologdn). A `ー` is held back until
/// the next char shows whether the run goes on.
struct UnifyDashes<S> {
    next: S,
    prev: Option<char>,
    held: Option<Piece>,
}

/// Hyphen variants (→ `-`, or `ー` after a kana).
const HYPHENS: &str = "\u{02D7}\u{058A}‐‑‒–—―⁃⁻₋−⸺⸻﹘﹣－";
/// Long-vowel look-alikes (→ `ー` after a kana, `-` elsewhere; `ー` itself stays).
const LONG_BARS: &str = "─━ｰー";
const TILDES: &str = "~∼∾〜〰～";

impl<S: Step> UnifyDashes<S> {
    fn new(next: S) -> Self {
        UnifyDashes {
            next,
            prev: None,
            held: None,
        }
    }
}

impl<S: Step> Step for UnifyDashes<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        let ch = match p.ch {
            c if ((c as u32) < 0x2D7 && c != '~') || is_plain_japanese(c) => c,
            'ー' => 'ー',
            c if HYPHENS.contains(c) || LONG_BARS.contains(c) => {
                if self.prev.is_some_and(is_kana_char) {
                    'ー'
                } else {
                    '-'
                }
            }
            c if TILDES.contains(c) => '~',
            c => c,
        };
        if ch == 'ー' {
            match &mut self.held {
                Some(h) => h.end = p.end,
                None => self.held = Some(Piece { ch, ..p }),
            }
        } else {
            if let Some(h) = self.held.take() {
                self.next.put(h);
            }
            self.next.put(Piece { ch, ..p });
        }
        self.prev = Some(ch);
    }
    fn finish(mut self) -> S::Out {
        if let Some(h) = self.held.take() {
            self.next.put(h);
        }
        self.next.finish()
    }
}

// ---------------------------------------------------------------- step 4: whitespace

/// Step 4: spaces and newlines (see the module header). A run of spaces waits for the next
/// char; a `ー` or a newline from `\r` is held back in case the next char merges into it.
struct CollapseSpaces<S> {
    next: S,
    prev: Option<char>,
    held: Option<Piece>,
    held_cr: bool,
    space: Option<(u32, u32)>,
}

fn is_newline(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0085}' | '\u{2028}' | '\u{2029}')
}

fn is_space(c: char) -> bool {
    c == ' ' || (c.is_whitespace() && !is_newline(c))
}

/// Kanji, kana, `ー` and Japanese punctuation, for the space rule of step 4 (not the combining
/// voicing marks: dropping a space before one would let it compose on the next run).
fn is_japanese(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{3098}' | '\u{309B}'..='\u{30FF}' | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FFEF}' | '\u{20000}'..='\u{2FFFF}' | '\u{203B}')
}

/// True if a space between `a` and `b` carries no meaning (neologdn rule).
fn space_is_noise(a: char, b: char) -> bool {
    let (ja, jb) = (is_japanese(a), is_japanese(b));
    (ja && (jb || b.is_ascii_graphic())) || (jb && a.is_ascii_graphic())
}

impl<S: Step> CollapseSpaces<S> {
    fn new(next: S) -> Self {
        CollapseSpaces {
            next,
            prev: None,
            held: None,
            held_cr: false,
            space: None,
        }
    }

    fn emit(&mut self, q: Piece, cr: bool) {
        if let Some(h) = self.held.take() {
            self.next.put(h);
        }
        if q.ch == 'ー' || cr {
            self.held = Some(q);
        } else {
            self.next.put(q);
        }
        self.held_cr = cr;
        self.prev = Some(q.ch);
    }
}

impl<S: Step> Step for CollapseSpaces<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        if is_space(p.ch) {
            self.space = Some((self.space.map_or(p.start, |s| s.0), p.end));
            return;
        }
        let ch = if is_newline(p.ch) { '\n' } else { p.ch };
        let space = self.space.take();
        let keep_space = space.is_some()
            && self
                .prev
                .is_some_and(|a| a != '\n' && ch != '\n' && !space_is_noise(a, ch));
        if let Some(h) = self.held.as_mut().filter(|_| !keep_space) {
            // `\r\n` → one `\n`; `ー ー` → one `ー` once the space is dropped.
            if (self.held_cr && p.ch == '\n' && space.is_none()) || (h.ch == 'ー' && ch == 'ー') {
                h.end = p.end;
                self.held_cr = false;
                return;
            }
        }
        if let Some((start, end)) = space.filter(|_| keep_space) {
            self.emit(Piece::new(' ', start, end), false);
        }
        self.emit(Piece { ch, ..p }, p.ch == '\r');
    }
    fn finish(mut self) -> S::Out {
        if let Some(h) = self.held.take() {
            self.next.put(h);
        }
        self.next.finish()
    }
}

// ---------------------------------------------------------------- compact, fold, numerals

/// Separator characters [`compact`] removes between two letters.
const SEPARATORS: &str = " .・･·•‧∙_*/|,、-=+~☆★♪";

/// Removes separator characters used to evade search between non-separator characters
/// (ASCII space, '.', '・', '･', '_', '*', '/', '|', ',', '、', '-', '=', '+', '~', '☆', '★',
/// '♪', '·', '•' between two letters/kana/kanji — any alphabetic char, `ー` and `々` included;
/// digits are not letters, so phone numbers and addresses keep their hyphens), keeping the map
/// to the *original* text of `n` (compose the maps). `山 田 商 事` is already `山田商事` after
/// `normalize`; `山.田.商.事`, `山_田_商_事`, `山・田・商・事` become `山田商事` here. A run of
/// mixed separators (`山 / 田`) counts as one.
pub fn compact(n: &Normalized) -> Normalized {
    if !n.text.chars().any(|c| SEPARATORS.contains(c)) {
        return n.clone();
    }
    let out = Builder::new(n.text.len(), n.original_offset(n.text.len()));
    let mut step = RemoveSeparators {
        next: out,
        after_letter: false,
        run: Vec::new(),
    };
    for p in n.pieces() {
        step.put(p);
    }
    step.finish()
}

/// The step behind [`compact`]: a run of separators waits for the next char.
struct RemoveSeparators<S> {
    next: S,
    after_letter: bool,
    run: Vec<Piece>,
}

impl<S: Step> Step for RemoveSeparators<S> {
    type Out = S::Out;
    fn put(&mut self, p: Piece) {
        if SEPARATORS.contains(p.ch) {
            return self.run.push(p);
        }
        let letter = p.ch.is_alphabetic();
        if !(self.after_letter && letter) {
            self.run.drain(..).for_each(|q| self.next.put(q));
        }
        self.run.clear();
        self.next.put(p);
        self.after_letter = letter;
    }
    fn finish(mut self) -> S::Out {
        self.run.drain(..).for_each(|q| self.next.put(q));
        self.next.finish()
    }
}

/// Folds for comparison: katakana → hiragana, ASCII upper → lower. Byte-length preserving
/// (each char maps to a char of the same UTF-8 length), so a Normalized's map stays valid.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars()
        .map(|c| kata_to_hira_char(c.to_ascii_lowercase()))
        .collect()
}

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

    /// Cases no step changes (every step's table also runs these).
    #[rustfmt::skip]
    const UNCHANGED: &[&str] = &[
        "", "山田商事", "Yamada Shoji", "東京都港区1-2-3", "hanako@example.com", "ラーメン",
        "a\nb", "ヤマダ商事の営業はカス", "「山田」、『商事』。", "090 2345 6789",
    ];

    #[rustfmt::skip]
    const STRIP: &[(&str, &str)] = &[
        ("a\u{200B}b", "ab"), ("山\u{FEFF}田\u{200C}商\u{200D}事", "山田商事"), ("葛\u{E0100}城", "葛城"),
        ("👨\u{200D}👩\u{200D}👧", "👨👩👧"), ("❤\u{FE0F}", "❤"), ("soft\u{AD}hyphen", "softhyphen"),
        ("\u{202E}abc\u{202C}\u{2066}d\u{2069}", "abcd"), ("\u{2060}\u{2061}\u{2062}\u{2063}\u{2064}", ""),
    ];

    #[rustfmt::skip]
    const NFKC: &[(&str, &str)] = &[
        ("ﾔﾏﾀﾞ", "ヤマダ"), ("ﾊﾟﾝ", "パン"), ("ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ガギグゲゴ"), ("ｳﾞ", "ヴ"),
        ("０９０２３４５６７８９", "09023456789"), ("Ｙａｍａｄａ", "Yamada"), ("＠", "@"),
        ("①②⑳", "1220"), ("㈱山田", "(株)山田"), ("e\u{301}", "é"), ("\u{301}a", "\u{301}a"),
        ("か\u{3099}", "が"), ("\u{1100}\u{1161}\u{11A8}", "각"), ("…", "..."), ("\u{3000}", " "),
        ("ｰ－﹣", "ｰ－﹣"), ("か゛", "か゛"), ("ﾞ", "\u{3099}"), ("ｱｲｳｴｵ｡｢｣､･", "アイウエオ。「」、・"),
        ("ｱﾞﾝﾟﾞ", "ア\u{3099}ン\u{309A}\u{3099}"), ("ﾊﾞ\u{301}", "バ\u{301}"), ("ｰ\u{301}", "ｰ\u{301}"),
    ];

    #[rustfmt::skip]
    const DASHES: &[(&str, &str)] = &[
        ("ラ—メン", "ラーメン"), ("ラ−メン", "ラーメン"), ("ラｰメン", "ラーメン"), ("ラ－メン", "ラーメン"),
        ("ラ─メン", "ラーメン"), ("ラーーーメン", "ラーメン"), ("すごーーい", "すごーい"),
        ("すご〜〜い", "すご~~い"), ("a−b", "a-b"), ("3‐2‐1", "3-2-1"), ("090—1234", "090-1234"),
        ("ｰ", "-"), ("─━", "--"), ("ラ-メン", "ラ-メン"), ("漢ーー", "漢ー"), ("∼∾〜〰～~", "~~~~~~"),
    ];

    #[rustfmt::skip]
    const SPACES: &[(&str, &str)] = &[
        ("山 田 商 事 は 倒 産 寸 前", "山田商事は倒産寸前"), ("a  b", "a b"), ("  a  ", "a"),
        ("a\r\nb", "a\nb"), ("a\rb\u{2028}c", "a\nb\nc"), ("a \n b", "a\nb"), ("a\r \nb", "a\n\nb"),
        ("山田 abc", "山田abc"), ("abc 山田", "abc山田"), ("a\tb\u{A0}c\u{3000}d", "a b c d"),
        ("\n\n", "\n\n"), ("山田 \t 商事", "山田商事"), ("ー ー", "ー"), ("Привет мир", "Привет мир"),
        ("山田 Привет", "山田 Привет"), ("「山田」 です", "「山田」です"), ("a\r\r\n", "a\n\n"),
    ];

    /// `normalize` end to end.
    #[rustfmt::skip]
    const FULL: &[(&str, &str)] = &[
        ("山 田 商 事 は 倒 産 寸 前", "山田商事は倒産寸前"), ("ﾔﾏﾀﾞ商事の営業はカス", "ヤマダ商事の営業はカス"),
        ("０９０２３４５６７８９", "09023456789"), ("Ｙａｍａｄａ　Ｓｈｏｊｉ", "Yamada Shoji"),
        ("ﾗｰﾒﾝ", "ラーメン"), ("ラ ー メ ン", "ラーメン"), ("ラー ー", "ラー"), ("ﾊ\u{200B}ﾞｶ", "バカ"),
        ("山\u{200B}田\u{200B}商\u{200B}事", "山田商事"), ("  山田商事　\r\n  詐欺  ", "山田商事\n詐欺"),
        ("０９０－２３４５－６７８９", "090-2345-6789"), ("ＴＥＬ：０９０ ２３４５", "TEL:090 2345"),
        ("ｈａｎａｋｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "hanako@example.com"), ("㈱山田 ①", "(株)山田1"),
        ("\u{301}", "\u{301}"), ("", ""), ("   ", ""), ("👨\u{200D}👩 ok", "👨👩 ok"),
    ];

    fn text_of(p: &[Piece]) -> String {
        p.iter().map(|p| p.ch).collect()
    }

    /// Runs one step's table (plus the shared unchanged cases), checking its pieces too.
    fn run_table<S: Step<Out = Vec<Piece>>>(step: impl Fn() -> S, table: &[(&str, &str)]) {
        for (input, want) in table
            .iter()
            .copied()
            .chain(UNCHANGED.iter().map(|&s| (s, s)))
        {
            let pieces = feed(step(), input);
            let mut last = 0;
            for p in &pieces {
                let (s, e) = (p.start as usize, p.end as usize);
                assert!(s < e && e <= input.len() && s >= last, "{input:?}: {p:?}");
                assert!(
                    input.is_char_boundary(s) && input.is_char_boundary(e),
                    "{input:?}"
                );
                last = s;
            }
            assert_eq!(text_of(&pieces), want, "input {input:?}");
        }
    }

    #[test]
    fn step_strip_format() {
        run_table(|| StripFormat(Vec::new()), STRIP);
    }

    #[test]
    fn step_nfkc() {
        run_table(|| Nfkc::new(Vec::new()), NFKC);
    }

    #[test]
    fn step_unify_dashes() {
        run_table(|| UnifyDashes::new(Vec::new()), DASHES);
    }

    #[test]
    fn step_collapse_spaces() {
        run_table(|| CollapseSpaces::new(Vec::new()), SPACES);
    }

    #[test]
    fn normalize_table() {
        for &(input, want) in FULL {
            let n = normalize(input);
            assert_eq!(n.text, want, "input {input:?}");
            check_map(input, &n);
        }
    }

    #[test]
    fn fast_path_is_identity() {
        for &s in UNCHANGED {
            assert!(is_already_normal(s), "{s:?}");
            assert_eq!(normalize(s), Normalized::identity(s));
        }
        for s in [
            "a  b", " a", "a ", "山 田", "ーー", "ｱ", "a\r\n", "a\tb", "〜", "a\u{301}",
        ] {
            assert!(!is_already_normal(s), "{s:?}");
        }
    }

    /// A context-free class of a char, to check a char against its origin alone.
    fn class(c: char) -> char {
        match c {
            c if HYPHENS.contains(c) || LONG_BARS.contains(c) || c == '-' => '-',
            c if TILDES.contains(c) => '~',
            c if is_newline(c) => '\n',
            c if c.is_whitespace() => ' ',
            c => c,
        }
    }

    /// Every normalized char's original range is sane, and its origin (NFKC'd alone) holds it.
    fn check_map(input: &str, n: &Normalized) {
        assert_eq!(n.map.len(), n.text.len() + 1);
        assert_eq!(n.original_offset(n.text.len()), input.len());
        let mut last = 0;
        for (i, c) in n.text.char_indices() {
            let r = n.original_range(i..i + c.len_utf8());
            assert!(
                r.start < r.end && r.end <= input.len() && r.start >= last,
                "{input:?} {r:?}"
            );
            assert!(input.is_char_boundary(r.start) && input.is_char_boundary(r.end));
            last = r.start;
            let slice = &input[r];
            let origin = feed(StripFormat(Nfkc::new(Vec::new())), slice);
            let ok = origin.iter().any(|p| class(p.ch) == class(c))
                || (c == ' ' && slice.chars().all(|o| !o.is_alphanumeric()));
            assert!(ok, "{input:?}: {c:?} at {i} maps to {slice:?}");
        }
    }

    /// Strings from a small xorshift over an alphabet of troublesome pieces.
    fn random_strings(count: usize) -> Vec<String> {
        #[rustfmt::skip]
        const ALPHABET: &[&str] = &[
            "a", "Z", "0", " ", "  ", "\u{3000}", "\t", "\n", "\r\n", "\r", "山", "田", "や", "マ",
            "ﾔ", "ﾏ", "ﾀ", "ﾞ", "ﾟ", "ｰ", "ー", "—", "−", "－", "-", "~", "〜", "・", "･", ".", "_",
            "\u{200B}", "\u{200D}", "\u{FE0F}", "\u{E0100}", "\u{301}", "\u{3099}", "゛", "e", "Ａ",
            "１", "①", "㈱", "…", "👨", "❤", "\u{1100}", "\u{1161}", "\u{11A8}", "가", "Я", "\u{A0}",
            "\u{2028}", "、", "。", "ｶ", "ﾊ", "ｳ", "ｱ", "！", "\u{FEFF}", "ﬁ", "½", "﹣", "─",
        ];
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as usize
        };
        let mut one = move || {
            (0..next() % 24)
                .map(|_| ALPHABET[next() % ALPHABET.len()])
                .collect()
        };
        (0..count).map(|_| one()).collect()
    }

    #[test]
    fn offset_map_property() {
        let tables = FULL
            .iter()
            .map(|&(s, _)| s)
            .chain(UNCHANGED.iter().copied());
        for input in tables.map(str::to_owned).chain(random_strings(3000)) {
            let n = normalize(&input);
            check_map(&input, &n);
            check_map(&input, &compact(&n));
            assert_eq!(
                normalize(&n.text).text,
                n.text,
                "not idempotent for {input:?}"
            );
            if !input.chars().any(is_nfkc_exempt) {
                let nfkc = feed(Nfkc::new(Vec::new()), &input);
                assert_eq!(
                    text_of(&nfkc),
                    input.nfkc().collect::<String>(),
                    "{input:?}"
                );
            }
        }
    }

    #[test]
    fn original_range_ends_at_last_char() {
        let input = "山\u{200B}田 \u{200B}商事";
        let n = normalize(input);
        assert_eq!(n.text, "山田商事");
        assert_eq!(&input[n.original_range(0..3)], "山");
        assert_eq!(&input[n.original_range(0..6)], "山\u{200B}田");
        assert_eq!(&input[n.original_range(6..12)], "商事");
        assert_eq!(n.original_offset(3), 6);
        // Mid-char and out-of-range bounds widen / clamp instead of panicking.
        assert_eq!(&input[n.original_range(1..4)], "山\u{200B}田");
        assert_eq!(n.original_range(10..99), n.original_range(9..12));
        let (five, two) = (5, 2);
        assert_eq!(n.original_range(five..two), 0..0);
        assert_eq!(normalize("ｶﾞｽ").original_range(0..3), 0..6);
        assert_eq!(normalize("㈱x").original_range(1..4), 0..3);
        assert_eq!(Normalized::identity("abc").original_range(1..2), 1..2);
    }

    #[test]
    fn compact_table() {
        #[rustfmt::skip]
        let table = [
            ("山.田.商.事", "山田商事"), ("山_田_商_事", "山田商事"), ("山・田・商・事", "山田商事"),
            ("山／田｜商＊事", "山田商事"), ("ヤ-マ-ダ", "ヤマダ"), ("山 / 田", "山田"),
            ("Y.a.m.a.d.a Shoji", "YamadaShoji"), ("山田☆商事", "山田商事"), ("山田、", "山田、"),
            ("090-2345-6789", "090-2345-6789"), ("日吉3-2-1", "日吉3-2-1"), ("・山田", "・山田"),
            ("山田\n商事", "山田\n商事"), ("", ""), ("山 .\u{200B}田", "山田"),
        ];
        for (input, want) in table {
            let c = compact(&normalize(input));
            assert_eq!(c.text, want, "input {input:?}");
            check_map(input, &c);
        }
        let input = "山 . 田";
        let c = compact(&normalize(input));
        assert_eq!(&input[c.original_range(0..6)], input);
        assert_eq!(&input[c.original_range(0..3)], "山");
    }

    #[test]
    fn fold_keeps_byte_length() {
        #[rustfmt::skip]
        let table = [
            ("ヤマダ商事", "やまだ商事"), ("YAMADA shoji", "yamada shoji"), ("ＡＢＣ", "ＡＢＣ"),
            ("ヴヵヶヽヾー", "ゔゕゖゝゞー"), ("ㇰヷ", "ㇰヷ"),
        ];
        for (input, want) in table {
            assert_eq!(fold(input), want);
        }
        for s in random_strings(500) {
            let n = normalize(&s);
            assert_eq!(fold(&n.text).len(), n.text.len());
        }
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

    #[test]
    fn never_panics_on_large_or_odd_input() {
        let unit = "ﾔﾏﾀﾞ商事の営業は　カス！！ ０９０－２３４５－６７８９ ラ—メン\r\n";
        let mixed = unit.repeat(1_000_000 / unit.len());
        assert!(normalize(&mixed).text.len() < mixed.len());
        check_map(&mixed[..2000], &normalize(&mixed[..2000]));
        let marks = "\u{301}".repeat(300_000);
        assert_eq!(normalize(&marks).text.chars().count(), 300_000);
        let plain = "山田商事は倒産寸前".repeat(40_000);
        assert_eq!(normalize(&plain).text, plain);
        let _ = compact(&normalize(&"山.田 ".repeat(100_000)));
    }

    /// `cargo test --release --lib text::normalize::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn speed() {
        #[rustfmt::skip]
        let units = [
            ("mixed", "ﾔﾏﾀﾞ商事の営業はカス！！ 山田商事は倒産寸前らしい。ＴＥＬ ０９０－２３４５－６７８９ ラ—メン屋の店長がマジでむかつく wwww Yamada Shoji is a scam\n"),
            ("spaced", "山田商事は 倒産寸前らしい。店長の対応が最悪だった。 Yamada Shoji は最悪\n"),
            ("plain", "山田商事は倒産寸前らしい。店長の対応が最悪だった。二度と行かない。\n"),
            ("ascii", "Yamada Shoji is a scam, do not buy from them!!  Call 090-2345-6789\n"),
        ];
        for (name, unit) in units {
            let post = unit.repeat(2000 / unit.len() + 1);
            let doc = unit.repeat(4_000_000 / unit.len());
            let posts = vec![post.as_str(); 4_000_000 / post.len()];
            for (shape, texts) in [("2 KB posts", posts), ("one 4 MB text", vec![doc.as_str()])] {
                let mut best = 0f64;
                for _ in 0..5 {
                    let t = std::time::Instant::now();
                    texts
                        .iter()
                        .for_each(|text| drop(std::hint::black_box(normalize(text))));
                    best = best.max(4.0 / t.elapsed().as_secs_f64());
                }
                println!("{name}, {shape}: {best:.0} MB/s");
            }
        }
    }
}
