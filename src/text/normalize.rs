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
//! (a step holds back at most a pending `ー`, newline, NFKC segment, run of spaces or run under
//! a right-to-left override), and each step still runs alone, into a `Vec<Piece>`, in its own
//! test table.
//!
//! 0. `ReverseOverrides` puts the text under a RIGHT-TO-LEFT OVERRIDE (U+202E, up to its
//!    PDF U+202C or the end of the line) in the order a reader sees it: reversed, a base char
//!    and its combining marks kept together. `山田商事は\u{202E}欺詐\u{202C}` is displayed
//!    `山田商事は詐欺`, and a post is judged by what its readers see, so the analyzer and the
//!    index read `詐欺`. Every char of such a run maps to the whole run (the override through
//!    its PDF), like the chars of one NFKC segment, so the map stays monotonic.
//! 1. `StripFormat` removes zero-width and format characters: U+200B–U+200F, U+202A–U+202E,
//!    U+2060–U+2064, U+2066–U+2069 (bidi isolates, added), U+061C (ARABIC LETTER MARK), U+FEFF,
//!    U+00AD, variation selectors U+FE00–U+FE0F and U+E0100–U+E01EF: a word split by them is
//!    read whole. It runs *before* NFKC (the brief lists it second) so that `ﾊ\u{200B}ﾞ`
//!    composes to `バ` and normalizing twice gives the same text.
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
//! [`fold`] a byte-length-preserving case/kana fold for comparisons. [`kanji_numerals_to_digits`]
//! lives in `reading` (it reads numbers) and is re-exported here.
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

pub use crate::text::reading::kanji_numerals_to_digits;
use crate::text::reading::{is_kana_char, kata_to_hira_char};
use bidi::ReverseOverrides;

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
        let (text, map) = (s.to_owned(), (0..=off(s.len())).collect());
        Normalized {
            text,
            map,
            gaps: vec![],
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
    fn put_all(&mut self, pieces: impl IntoIterator<Item = Piece>) {
        pieces.into_iter().for_each(|p| self.put(p));
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
/// Runs the steps of the module header in order: right-to-left overrides in display order,
/// strip format chars, NFKC, dash/tilde unification, whitespace. Never panics.
pub fn normalize(input: &str) -> Normalized {
    if is_already_normal(input) {
        return Normalized::identity(input);
    }
    let out = Builder::new(input.len(), input.len());
    feed(
        ReverseOverrides::new(StripFormat(Nfkc::new(UnifyDashes::new(
            CollapseSpaces::new(out),
        )))),
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
        let (text, map, gaps) = (self.text, self.map, self.gaps);
        Normalized { text, map, gaps }
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
        | '\u{00AD}' | '\u{FEFF}' | '\u{061C}')
}

impl<S: Step> Step for StripFormat<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        if (p.ch as u32) < 0xAD || !is_format(p.ch) {
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
    /// Original start of the first char in `rest` (the end of `first`, unless step 0 mapped
    /// both to one reversed run).
    rest_start: u32,
    end: u32,
    buf: String,
}

/// Chars NFKC must not touch because a later step needs to see them as they were.
fn is_nfkc_exempt(c: char) -> bool {
    matches!(c, 'ｰ' | '－' | '﹣' | '゛' | '゜')
}

/// True if `c` alone is already NFKC (and is kept as is).
#[inline]
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
#[inline]
fn starts_segment(c: char) -> bool {
    (c as u32) < 0x300 || is_plain_japanese(c) || is_width_variant(c) || starts_with_starter(c)
}

/// The slow half of [`starts_segment`]: the decomposition starts with a non-combining starter.
fn starts_with_starter(c: char) -> bool {
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
            rest_start: 0,
            end: 0,
            buf,
        }
    }

    #[inline]
    fn flush(&mut self) {
        match self.first.take() {
            Some(first) if self.rest.is_empty() && is_nfkc_stable(first.ch) => self.next.put(first),
            Some(first) => self.normalize_segment(first),
            None => {}
        }
    }

    /// NFKC of a segment that is not a single stable char.
    #[inline(never)]
    fn normalize_segment(&mut self, first: Piece) {
        let (start, end) = (first.start, self.end);
        let voicing = match self.rest.as_str() {
            "\u{FF9E}" => Some('\u{3099}'),
            "\u{FF9F}" => Some('\u{309A}'),
            _ => None,
        };
        if is_width_variant(first.ch) && (self.rest.is_empty() || voicing.is_some()) {
            // Full-width ASCII / half-width kana, alone or with a half-width voicing mark.
            self.rest.clear();
            let base = first_of_decomposition(first.ch);
            let piece = |ch| Piece::new(ch, start, end);
            match voicing.map(|m| (m, compose(base, m))) {
                None => self.next.put(piece(base)),
                Some((_, Some(voiced))) => self.next.put(piece(voiced)),
                Some((m, None)) => self.next.put_all([piece(base), piece(m)]),
            }
            return;
        }
        self.buf.clear();
        let mut start = start;
        if is_nfkc_exempt(first.ch) {
            self.next.put(first);
            start = self.rest_start;
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
            Some(_) => {
                if self.rest.is_empty() {
                    self.rest_start = p.start;
                }
                self.rest.push(p.ch);
            }
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

/// Hyphen variants and long-vowel look-alikes (`─ ━ ｰ`): `ー` after a kana, `-` elsewhere.
fn is_dash(c: char) -> bool {
    matches!(c as u32,
        0x2010..=0x2015 | 0x2E3A..=0x2E3B | 0x2500..=0x2501 | 0x02D7 | 0x058A | 0x2043 | 0x207B
        | 0x208B | 0x2212 | 0xFE58 | 0xFE63 | 0xFF0D | 0xFF70)
}

fn is_tilde(c: char) -> bool {
    matches!(c, '~' | '∼' | '∾' | '〜' | '〰' | '～')
}

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
            c if is_dash(c) => {
                if self.prev.is_some_and(is_kana_char) {
                    'ー'
                } else {
                    '-'
                }
            }
            c if is_tilde(c) => '~',
            c => c,
        };
        if ch == 'ー' {
            match &mut self.held {
                Some(h) => h.end = p.end,
                None => self.held = Some(Piece { ch, ..p }),
            }
        } else {
            self.next.put_all(self.held.take());
            self.next.put(Piece { ch, ..p });
        }
        self.prev = Some(ch);
    }
    fn finish(mut self) -> S::Out {
        self.next.put_all(self.held.take());
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
        self.next.put_all(self.held.take());
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
        self.next.put_all(self.held.take());
        self.next.finish()
    }
}

// ---------------------------------------------------------------- compact, fold

/// Separator characters [`compact`] removes between two letters.
fn is_separator(c: char) -> bool {
    match u8::try_from(c) {
        Ok(b) => b" ._*/|,-=+~".contains(&b),
        Err(_) => "・･·•‧∙、☆★♪".contains(c),
    }
}

/// Removes separator characters used to evade search between non-separator characters
/// (ASCII space, '.', '・', '･', '_', '*', '/', '|', ',', '、', '-', '=', '+', '~', '☆', '★',
/// '♪', '·', '•' between two letters/kana/kanji — any alphabetic char, `ー` and `々` included;
/// digits are not letters, so phone numbers and addresses keep their hyphens), keeping the map
/// to the *original* text of `n` (compose the maps). `山 田 商 事` is already `山田商事` after
/// `normalize`; `山.田.商.事`, `山_田_商_事`, `山・田・商・事` become `山田商事` here. A run of
/// mixed separators (`山 / 田`) counts as one.
pub fn compact(n: &Normalized) -> Normalized {
    if !n.text.chars().any(is_separator) {
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
        if is_separator(p.ch) {
            return self.run.push(p);
        }
        let letter = p.ch.is_alphabetic();
        if !(self.after_letter && letter) {
            self.next.put_all(self.run.drain(..));
        }
        self.run.clear();
        self.next.put(p);
        self.after_letter = letter;
    }
    fn finish(mut self) -> S::Out {
        self.next.put_all(self.run.drain(..));
        self.next.finish()
    }
}

/// Folds for comparison: katakana → hiragana, ASCII upper → lower. Byte-length preserving
/// (each char maps to a char of the same UTF-8 length), so a Normalized's map stays valid.
pub fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().map(fold_char).collect()
}

/// [`fold`] of one char (the same UTF-8 length).
pub fn fold_char(c: char) -> char {
    kata_to_hira_char(c.to_ascii_lowercase())
}

mod bidi;
#[cfg(test)]
mod tests;
