//! Tantivy analyzers for Japanese posts, all registered by [`register_tokenizers`].
//!
//! Every analyzer normalizes the way the matcher does ([`normalize`] then [`fold`]: NFKC,
//! width, dashes, spaces, katakana → hiragana, ASCII lower case) and reports byte offsets into
//! the *original* text through [`Normalized::original_range`], so Tantivy's snippets highlight
//! the text as posted.
//!
//! | name | field | tokens |
//! |---|---|---|
//! | [`JA`] | body, title, author | Lindera (embedded IPADIC) morphemes of each sentence (text split on 。！？ and newlines first), folded; the dictionary reading (hiragana) at the same position when it differs, so `さぎ` finds 詐欺 and the phrase `"山田 商事"` still needs both words in order |
//! | [`BIGRAM`] | body n-grams | overlapping character bigrams of every run of non-ASCII letters (a single letter alone), ASCII words whole |
//! | [`READING_BIGRAM`] | body readings | the same bigrams over the text *read* by Lindera (each morpheme replaced by its hiragana reading) |
//!
//! Why bigrams as well as Lindera: morphological analysis splits names it does not know
//! (桜井眼科 → 桜 / 井 / 眼科, a handle or a misspelt 伏せ字 into single letters) and a query
//! segmented on its own can split differently from the same words inside a sentence, so a
//! phrase of morphemes can miss. Bigrams of the folded text find every substring of two or more
//! letters regardless of segmentation — the CJK approach of Lucene's `CJKBigramFilter` — at
//! about one token per letter. The reading bigrams do the same for kana queries of kanji text
//! whose morphemes Lindera reads differently as a whole (やまだ typed as a query is one
//! unknown word, 山田 in the text reads ヤマダ). Search queries the three fields together.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;

use tantivy::Index;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::text::normalize::{Normalized, fold, normalize};
use crate::text::tokenize;

/// Name of the Lindera analyzer (words and readings).
pub const JA: &str = "mimamori_ja";
/// Name of the character-bigram analyzer (body n-grams).
pub const BIGRAM: &str = "mimamori_bigram";
/// Name of the reading-bigram analyzer (kana readings of the body).
pub const READING_BIGRAM: &str = "mimamori_reading_bigram";

/// Every analyzer name this module registers (the schema may use any of them).
pub const NAMES: &[&str] = &[JA, BIGRAM, READING_BIGRAM];

/// Registers every analyzer of the index under its name. Call on each opened or created
/// [`Index`] before reading or writing it.
pub fn register_tokenizers(index: &Index) {
    let manager = index.tokenizers();
    manager.register(JA, TextAnalyzer::from(JaTokenizer));
    manager.register(BIGRAM, TextAnalyzer::from(BigramTokenizer));
    manager.register(READING_BIGRAM, TextAnalyzer::from(ReadingBigramTokenizer));
}

/// Lindera morphemes, folded, with their readings at the same position ([`JA`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct JaTokenizer;

/// Character bigrams of the folded text ([`BIGRAM`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct BigramTokenizer;

/// Character bigrams of the text's hiragana reading ([`READING_BIGRAM`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadingBigramTokenizer;

/// Tokens computed up front (a post is short; Lindera segments a whole sentence at once).
#[derive(Debug, Default)]
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
    /// Returned by `token()` before the first `advance()` (a caller's bug).
    empty: Token,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream {
            tokens,
            next: 0,
            empty: Token::default(),
        }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        debug_assert!(self.next > 0, "token() before advance()");
        self.next
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .unwrap_or(&self.empty)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.empty,
        }
    }
}

impl Tokenizer for JaTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(ja_tokens(text))
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let n = normalize(text);
        let folded = fold(&n.text);
        let chars = folded
            .char_indices()
            .map(|(i, c)| Some((c, n.original_range(i..i + c.len_utf8()))));
        VecTokenStream::new(bigrams(chars))
    }
}

impl Tokenizer for ReadingBigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut chars: Vec<Option<(char, Range<usize>)>> = Vec::new();
        for m in morphemes(text).iter() {
            if !m.is_word {
                chars.push(None);
                continue;
            }
            for c in m.reading.as_deref().unwrap_or(&m.surface).chars() {
                chars.push(Some((c, m.original.clone())));
            }
        }
        VecTokenStream::new(bigrams(chars.into_iter()))
    }
}

/// One morpheme as the analyzers see it.
struct Morpheme {
    /// Folded surface.
    surface: String,
    /// Folded (hiragana) reading, when the dictionary has one that differs from the surface.
    reading: Option<String>,
    /// Byte range in the original text.
    original: Range<usize>,
    /// False for punctuation and spaces (no letter or digit).
    is_word: bool,
}

/// Splits normalized text into sentences: on 。！？!? and newlines (the delimiter is dropped).
fn sentences(text: &str) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    let mut iter = text
        .char_indices()
        .chain(std::iter::once((text.len(), '\n')));
    std::iter::from_fn(move || {
        for (i, c) in iter.by_ref() {
            if matches!(c, '。' | '\n' | '！' | '？' | '!' | '?') {
                let r = start..i;
                start = i + c.len_utf8();
                if !r.is_empty() {
                    return Some(r);
                }
            }
        }
        None
    })
}

/// Texts longer than this (bytes) are not kept in the morpheme cache.
const CACHE_MAX_TEXT: usize = 8 * 1024;
/// Texts per generation of the morpheme cache (two generations are kept).
const CACHE_ENTRIES: usize = 1024;

/// Morphemes of recently analyzed texts, per thread, in two generations: when the young one
/// is full it becomes the old one (a cheap approximation of LRU).
#[derive(Default)]
struct MorphemeCache {
    young: HashMap<Box<str>, Rc<[Morpheme]>>,
    old: HashMap<Box<str>, Rc<[Morpheme]>>,
}

thread_local! {
    static CACHE: RefCell<MorphemeCache> = RefCell::default();
}

/// The morphemes of `text` (with a separator after each sentence), from the cache when this
/// thread analyzed the same text recently.
///
/// Segmentation is most of the cost of indexing and a post's body goes through two Lindera
/// analyzers ([`JA`] for `body`, [`READING_BIGRAM`] for `body_reading`), while thread titles
/// and poster names repeat from post to post; the result depends on the text alone, so
/// caching it changes no token.
fn morphemes(text: &str) -> Rc<[Morpheme]> {
    if text.len() > CACHE_MAX_TEXT {
        return segment_morphemes(text).into();
    }
    let cached = CACHE.with_borrow_mut(|c| {
        if let Some(m) = c.young.get(text) {
            return Some(Rc::clone(m));
        }
        let (key, m) = c.old.remove_entry(text)?;
        c.young.insert(key, Rc::clone(&m));
        Some(m)
    });
    if let Some(m) = cached {
        return m;
    }
    let m: Rc<[Morpheme]> = segment_morphemes(text).into();
    CACHE.with_borrow_mut(|c| {
        if c.young.len() >= CACHE_ENTRIES {
            c.old = std::mem::take(&mut c.young);
        }
        c.young.insert(text.into(), Rc::clone(&m));
    });
    m
}

fn segment_morphemes(text: &str) -> Vec<Morpheme> {
    let mut out = Vec::new();
    for_each_morpheme(text, |m| out.push(m));
    out
}

/// Normalizes `text`, segments each sentence with Lindera and calls `f` on each morpheme.
/// A Lindera failure (a broken build) is logged and the sentence is skipped.
fn for_each_morpheme(text: &str, mut f: impl FnMut(Morpheme)) {
    let n: Normalized = normalize(text);
    for sentence in sentences(&n.text) {
        let tokens = match tokenize::tokenize(&n.text[sentence.clone()]) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "cannot index a sentence");
                continue;
            }
        };
        for t in tokens {
            let surface = fold(&t.surface);
            let reading = fold(&t.reading);
            let is_word = surface.chars().any(char::is_alphanumeric);
            let reading = (is_word && reading != surface && reading.chars().all(is_kana_or_mark))
                .then_some(reading);
            let start = sentence.start + t.start;
            f(Morpheme {
                surface,
                reading,
                original: n.original_range(start..sentence.start + t.end),
                is_word,
            });
        }
        f(Morpheme {
            surface: String::new(),
            reading: None,
            original: 0..0,
            is_word: false,
        });
    }
}

fn is_kana_or_mark(c: char) -> bool {
    matches!(c, 'ぁ'..='ゖ' | 'ー' | 'ゝ' | 'ゞ')
}

/// The [`JA`] tokens of `text`.
fn ja_tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut position = 0usize;
    for m in morphemes(text).iter() {
        if !m.is_word {
            continue;
        }
        let token = |text: String| Token {
            offset_from: m.original.start,
            offset_to: m.original.end,
            position,
            text,
            position_length: 1,
        };
        out.push(token(m.surface.clone()));
        if let Some(r) = m.reading.clone() {
            out.push(token(r));
        }
        position += 1;
    }
    out
}

/// Bigrams over a stream of letters with their original ranges; `None` or a non-letter ends a
/// run. ASCII letters and digits form whole words; other letters pair up with the next one
/// (a run of one letter gives that letter).
fn bigrams(chars: impl Iterator<Item = Option<(char, Range<usize>)>>) -> Vec<Token> {
    let mut out = Vec::new();
    let mut run: Vec<(char, Range<usize>)> = Vec::new();
    let mut ascii_run = false;
    let flush = |run: &mut Vec<(char, Range<usize>)>, ascii: bool, out: &mut Vec<Token>| {
        let mut push = |text: String, from: usize, to: usize| {
            let position = out.len();
            out.push(Token {
                offset_from: from,
                offset_to: to.max(from),
                position,
                text,
                position_length: 1,
            });
        };
        match run.as_slice() {
            [] => {}
            [(c, r)] => push(c.to_string(), r.start, r.end),
            all if ascii => {
                let text = all.iter().map(|(c, _)| *c).collect();
                push(text, all[0].1.start, all[all.len() - 1].1.end);
            }
            all => {
                for w in all.windows(2) {
                    push([w[0].0, w[1].0].iter().collect(), w[0].1.start, w[1].1.end);
                }
            }
        }
        run.clear();
    };
    for item in chars {
        match item {
            Some((c, r)) if c.is_alphanumeric() => {
                let ascii = c.is_ascii();
                if !run.is_empty() && ascii != ascii_run {
                    flush(&mut run, ascii_run, &mut out);
                }
                ascii_run = ascii;
                run.push((c, r));
            }
            _ => flush(&mut run, ascii_run, &mut out),
        }
    }
    flush(&mut run, ascii_run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::Schema;

    fn tokens(mut t: impl Tokenizer, text: &str) -> Vec<Token> {
        let mut out = Vec::new();
        t.token_stream(text)
            .process(&mut |tok| out.push(tok.clone()));
        out
    }

    fn texts(tokens: &[Token]) -> Vec<&str> {
        tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn every_name_resolves_after_registration() {
        let index = Index::create_in_ram(Schema::builder().build());
        register_tokenizers(&index);
        for name in NAMES {
            let mut analyzer = index
                .tokenizers()
                .get(name)
                .unwrap_or_else(|| panic!("{name} is not registered"));
            let mut n = 0;
            analyzer.token_stream("山田商事").process(&mut |_| n += 1);
            assert!(n > 0, "{name} gives no tokens");
        }
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        // Full-width letters, a half-width katakana name and a zero-width space change byte
        // lengths during normalization; every token must still cover its original text.
        let text = "ＡＢＣ商事の\u{200B}ﾔﾏﾀﾞは詐欺。\n山田商事";
        for analyzer in [
            tokens(JaTokenizer, text),
            tokens(BigramTokenizer, text),
            tokens(ReadingBigramTokenizer, text),
        ] {
            for t in &analyzer {
                assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
                assert!(t.offset_from < t.offset_to, "{t:?}");
            }
        }
        let ja = tokens(JaTokenizer, text);
        let find = |s: &str| {
            ja.iter()
                .find(|t| t.text == s)
                .map(|t| &text[t.offset_from..t.offset_to])
        };
        assert_eq!(find("詐欺"), Some("詐欺"));
        assert_eq!(find("abc"), Some("ＡＢＣ"));
        assert_eq!(find("やまだ"), Some("ﾔﾏﾀﾞ"));
    }

    #[test]
    fn the_morpheme_cache_changes_no_token() {
        let text = "山田商事は詐欺。\nﾔﾏﾀﾞの社長";
        let fresh = segment_morphemes(text);
        for _ in 0..2 {
            let cached = morphemes(text);
            assert_eq!(cached.len(), fresh.len());
            for (a, b) in cached.iter().zip(&fresh) {
                assert_eq!(
                    (&a.surface, &a.reading, &a.original, a.is_word),
                    (&b.surface, &b.reading, &b.original, b.is_word)
                );
            }
        }
        // Older entries survive a generation turning over.
        for i in 0..CACHE_ENTRIES + 1 {
            morphemes(&format!("{i}番"));
        }
        assert_eq!(
            texts(&tokens(JaTokenizer, text)),
            texts(&tokens(JaTokenizer, text))
        );
        assert!(CACHE.with_borrow(|c| c.young.len() + c.old.len()) <= 2 * CACHE_ENTRIES);
    }

    #[test]
    fn readings_share_the_position_of_their_word() {
        let ja = tokens(JaTokenizer, "山田商事は詐欺");
        let surface = ja.iter().find(|t| t.text == "詐欺").expect("詐欺");
        let reading = ja.iter().find(|t| t.text == "さぎ").expect("reading さぎ");
        assert_eq!(surface.position, reading.position);
        assert_eq!(
            (surface.offset_from, surface.offset_to),
            (reading.offset_from, reading.offset_to)
        );
        // A kana word is not repeated as its own reading.
        let kana = tokens(JaTokenizer, "すごい");
        assert_eq!(kana.len(), 1, "{:?}", texts(&kana));
    }

    #[test]
    fn width_and_kana_are_folded() {
        let full = tokens(JaTokenizer, "ＹＡＭＡＤＡ　ヤマダ");
        let half = tokens(JaTokenizer, "yamada ﾔﾏﾀﾞ");
        assert_eq!(texts(&full), texts(&half));
        assert!(texts(&full).contains(&"yamada"), "{:?}", texts(&full));
        assert_eq!(
            texts(&tokens(BigramTokenizer, "ｶﾀｶﾅ")),
            texts(&tokens(BigramTokenizer, "かたかな"))
        );
    }

    #[test]
    fn sentences_are_segmented_separately() {
        // No token spans a 。 or a newline.
        let text = "山田。商事\n詐欺";
        for t in tokens(JaTokenizer, text) {
            let s = &text[t.offset_from..t.offset_to];
            assert!(!s.contains('。') && !s.contains('\n'), "{s:?}");
        }
    }

    #[test]
    fn bigrams_cover_substrings_and_ascii_words() {
        let b = tokens(BigramTokenizer, "桜井眼科 ABC123");
        assert_eq!(texts(&b), ["桜井", "井眼", "眼科", "abc123"]);
        assert_eq!(texts(&tokens(BigramTokenizer, "山")), ["山"]);
        let positions: Vec<usize> = b.iter().map(|t| t.position).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
    }

    #[test]
    fn a_kana_query_matches_the_reading_of_kanji_text() {
        let doc = texts(&tokens(ReadingBigramTokenizer, "山田商事"))
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        let query = tokens(ReadingBigramTokenizer, "やまだ");
        let q = texts(&query);
        assert!(!q.is_empty());
        // The query's bigrams appear consecutively in the document's.
        let found = doc
            .windows(q.len())
            .any(|w| w.iter().zip(&q).all(|(a, b)| a == b));
        assert!(found, "doc {doc:?} query {q:?}");
    }
}
