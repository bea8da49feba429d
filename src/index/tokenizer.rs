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
//!
//! A text is analyzed once for all three ([`Analysis`]: normalized, folded, segmented by
//! this thread's Lindera worker) and kept in a small per-thread cache: Tantivy runs the
//! analyzers of a document's fields one after the other on the same thread, so the body's
//! n-gram and reading analyzers reuse the segmentation its [`JA`] analyzer made, and
//! repeated titles and names are segmented once. Each analyzer writes its tokens into buffers
//! it keeps from text to text, so indexing allocates nothing per token.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use tantivy::Index;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::text::normalize::{Normalized, fold, fold_char, normalize};
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
    manager.register(JA, TextAnalyzer::from(JaTokenizer::default()));
    manager.register(BIGRAM, TextAnalyzer::from(BigramTokenizer::default()));
    manager.register(
        READING_BIGRAM,
        TextAnalyzer::from(ReadingBigramTokenizer::default()),
    );
}

/// Lindera morphemes, folded, with their readings at the same position ([`JA`]).
#[derive(Debug, Clone, Default)]
pub struct JaTokenizer {
    scratch: Scratch,
}

/// Character bigrams of the folded text ([`BIGRAM`]).
#[derive(Debug, Clone, Default)]
pub struct BigramTokenizer {
    scratch: Scratch,
}

/// Character bigrams of the text's hiragana reading ([`READING_BIGRAM`]).
#[derive(Debug, Clone, Default)]
pub struct ReadingBigramTokenizer {
    scratch: Scratch,
}

/// One token of a text: its text in [`Out::text`], its place in the original text.
#[derive(Debug, Clone)]
struct Piece {
    text: Range<usize>,
    offset_from: usize,
    offset_to: usize,
    position: usize,
}

/// The tokens of one text, their texts concatenated in one buffer.
#[derive(Debug, Clone, Default)]
struct Out {
    text: String,
    pieces: Vec<Piece>,
}

impl Out {
    fn push(&mut self, text: &str, offset_from: usize, offset_to: usize, position: usize) {
        let start = self.text.len();
        self.text.push_str(text);
        self.pieces.push(Piece {
            text: start..self.text.len(),
            offset_from,
            offset_to,
            position,
        });
    }
}

/// One letter of a bigram run: its bytes in the source text, its original range.
#[derive(Debug, Clone)]
struct RunChar {
    text: Range<usize>,
    original: Range<usize>,
}

/// An analyzer's buffers, kept from text to text so tokens cost no allocation.
#[derive(Debug, Clone, Default)]
struct Scratch {
    out: Out,
    /// The run of letters being paired ([`Bigrams`]).
    run: Vec<RunChar>,
    /// The text read by Lindera ([`ReadingBigramTokenizer`]).
    source: String,
    /// The token the stream shows.
    token: Token,
}

impl Scratch {
    /// Clears the buffers for a new text.
    fn start(&mut self) {
        self.out.text.clear();
        self.out.pieces.clear();
        self.run.clear();
        self.source.clear();
    }

    /// The stream over the tokens in [`Scratch::out`].
    fn stream(&mut self) -> PieceStream<'_> {
        let Scratch { out, token, .. } = self;
        *token = Token::default();
        PieceStream {
            out,
            next: 0,
            token,
        }
    }
}

/// The tokens an analyzer computed for one text (a post is short; Lindera segments a whole
/// sentence at once), shown one at a time through a reused [`Token`].
#[derive(Debug)]
pub struct PieceStream<'a> {
    out: &'a Out,
    next: usize,
    token: &'a mut Token,
}

impl TokenStream for PieceStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(p) = self.out.pieces.get(self.next) else {
            return false;
        };
        self.next += 1;
        let t = &mut *self.token;
        t.text.clear();
        t.text.push_str(&self.out.text[p.text.clone()]);
        t.offset_from = p.offset_from;
        t.offset_to = p.offset_to;
        t.position = p.position;
        t.position_length = 1;
        true
    }

    fn token(&self) -> &Token {
        debug_assert!(self.next > 0, "token() before advance()");
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

impl Tokenizer for JaTokenizer {
    type TokenStream<'a> = PieceStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PieceStream<'a> {
        self.scratch.start();
        ja_tokens(&analysis(text), &mut self.scratch.out);
        self.scratch.stream()
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = PieceStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PieceStream<'a> {
        let s = &mut self.scratch;
        s.start();
        let a = analysis(text);
        let mut b = Bigrams::new(&mut s.run, &mut s.out);
        for (i, c) in a.folded.char_indices() {
            let text = i..i + c.len_utf8();
            b.push(
                &a.folded,
                c,
                text.clone(),
                a.normalized.original_range(text),
            );
        }
        b.finish(&a.folded);
        s.stream()
    }
}

impl Tokenizer for ReadingBigramTokenizer {
    type TokenStream<'a> = PieceStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PieceStream<'a> {
        let s = &mut self.scratch;
        s.start();
        let a = analysis(text);
        let mut b = Bigrams::new(&mut s.run, &mut s.out);
        for m in &a.morphemes {
            if !m.is_word {
                b.finish(&s.source);
                continue;
            }
            let read = match &m.reading {
                Some(r) => &a.readings[r.clone()],
                None => &a.folded[m.surface.clone()],
            };
            for c in read.chars() {
                let at = s.source.len();
                s.source.push(c);
                b.push(&s.source, c, at..s.source.len(), m.original.clone());
            }
        }
        b.finish(&s.source);
        s.stream()
    }
}

/// A text as every analyzer needs it, computed once ([`analysis`]).
#[derive(Debug)]
struct Analysis {
    /// The normalized text with its map to the original.
    normalized: Normalized,
    /// [`Analysis::normalized`] folded: the same byte offsets ([`fold`] keeps lengths).
    folded: String,
    /// The folded readings of the morphemes that have one, one after the other.
    readings: String,
    /// The morphemes of each sentence, each sentence followed by a separator.
    morphemes: Vec<Morpheme>,
}

/// One morpheme as the analyzers see it.
#[derive(Debug)]
struct Morpheme {
    /// Folded surface: a range of [`Analysis::folded`].
    surface: Range<usize>,
    /// Folded (hiragana) reading, when the dictionary has one that differs from the surface:
    /// a range of [`Analysis::readings`].
    reading: Option<Range<usize>>,
    /// Byte range in the original text.
    original: Range<usize>,
    /// False for punctuation, spaces and sentence separators (no letter or digit).
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

/// Texts longer than this (bytes) are not kept in the analysis cache.
const CACHE_MAX_TEXT: usize = 8 * 1024;
/// Texts per generation of the analysis cache (two generations are kept).
const CACHE_ENTRIES: usize = 1024;

/// Analyses of recently seen texts, per thread, in two generations: when the young one is
/// full it becomes the old one (a cheap approximation of LRU).
#[derive(Default)]
struct AnalysisCache {
    young: HashMap<Box<str>, Arc<Analysis>>,
    old: HashMap<Box<str>, Arc<Analysis>>,
}

thread_local! {
    static CACHE: RefCell<AnalysisCache> = RefCell::default();
}

/// The analysis of `text`, from the cache when this thread analyzed the same text recently.
///
/// Segmentation is most of the cost of indexing and a post's body goes through all three
/// analyzers (`body`, `body_ngram`, `body_reading`), while thread titles and poster names
/// repeat from post to post; the result depends on the text alone, so caching it changes no
/// token.
fn analysis(text: &str) -> Arc<Analysis> {
    if text.len() > CACHE_MAX_TEXT {
        return Arc::new(analyze(text));
    }
    let cached = CACHE.with_borrow_mut(|c| {
        if let Some(a) = c.young.get(text) {
            return Some(Arc::clone(a));
        }
        let (key, a) = c.old.remove_entry(text)?;
        c.young.insert(key, Arc::clone(&a));
        Some(a)
    });
    if let Some(a) = cached {
        return a;
    }
    let a = Arc::new(analyze(text));
    CACHE.with_borrow_mut(|c| {
        if c.young.len() >= CACHE_ENTRIES {
            c.old = std::mem::take(&mut c.young);
        }
        c.young.insert(text.into(), Arc::clone(&a));
    });
    a
}

/// Normalizes and folds `text` and segments each sentence with Lindera. A Lindera failure
/// (a broken build) is logged and the sentence is skipped.
fn analyze(text: &str) -> Analysis {
    let normalized = normalize(text);
    let folded = fold(&normalized.text);
    debug_assert_eq!(
        folded.len(),
        normalized.text.len(),
        "fold keeps byte lengths"
    );
    let mut readings = String::new();
    let mut morphemes = Vec::new();
    for sentence in sentences(&normalized.text) {
        let base = sentence.start;
        let before = (morphemes.len(), readings.len());
        let segmented = tokenize::for_each_morpheme(&normalized.text[sentence], |m| {
            let surface = base + m.start..base + m.end;
            let folded_surface = &folded[surface.clone()];
            let is_word = folded_surface.chars().any(char::is_alphanumeric);
            let mut reading = None;
            if is_word {
                let at = readings.len();
                readings.extend(m.reading.chars().map(fold_char));
                let r = &readings[at..];
                if r != folded_surface && r.chars().all(is_kana_or_mark) {
                    reading = Some(at..readings.len());
                } else {
                    readings.truncate(at);
                }
            }
            morphemes.push(Morpheme {
                original: normalized.original_range(surface.clone()),
                surface,
                reading,
                is_word,
            });
        });
        if let Err(e) = segmented {
            tracing::warn!(error = %e, "cannot index a sentence");
            morphemes.truncate(before.0);
            readings.truncate(before.1);
            continue;
        }
        morphemes.push(Morpheme {
            surface: 0..0,
            reading: None,
            original: 0..0,
            is_word: false,
        });
    }
    Analysis {
        normalized,
        folded,
        readings,
        morphemes,
    }
}

fn is_kana_or_mark(c: char) -> bool {
    matches!(c, 'ぁ'..='ゖ' | 'ー' | 'ゝ' | 'ゞ')
}

/// The [`JA`] tokens of `a`: each word's surface, then its reading at the same position.
fn ja_tokens(a: &Analysis, out: &mut Out) {
    let words = a.morphemes.iter().filter(|m| m.is_word);
    for (position, m) in words.enumerate() {
        let (from, to) = (m.original.start, m.original.end);
        out.push(&a.folded[m.surface.clone()], from, to, position);
        if let Some(r) = &m.reading {
            out.push(&a.readings[r.clone()], from, to, position);
        }
    }
}

/// Bigrams over a stream of letters with their original ranges; a break or a non-letter
/// ends a run. ASCII letters and digits form whole words; other letters pair up with the
/// next one (a run of one letter gives that letter). The letters of a run must be
/// consecutive in the source text each call passes.
struct Bigrams<'s> {
    run: &'s mut Vec<RunChar>,
    ascii: bool,
    out: &'s mut Out,
}

impl<'s> Bigrams<'s> {
    fn new(run: &'s mut Vec<RunChar>, out: &'s mut Out) -> Self {
        run.clear();
        Bigrams {
            run,
            ascii: false,
            out,
        }
    }

    /// Adds letter `c`, bytes `text` of `source`, from `original`.
    fn push(&mut self, source: &str, c: char, text: Range<usize>, original: Range<usize>) {
        if !c.is_alphanumeric() {
            self.finish(source);
            return;
        }
        let ascii = c.is_ascii();
        if !self.run.is_empty() && ascii != self.ascii {
            self.finish(source);
        }
        self.ascii = ascii;
        self.run.push(RunChar { text, original });
    }

    /// Ends the current run, writing its tokens.
    fn finish(&mut self, source: &str) {
        let out = &mut *self.out;
        let mut push = |text: Range<usize>, from: usize, to: usize| {
            let position = out.pieces.len();
            out.push(&source[text], from, to.max(from), position);
        };
        match self.run.as_slice() {
            [] => {}
            [c] => push(c.text.clone(), c.original.start, c.original.end),
            [first, .., last] if self.ascii => {
                push(
                    first.text.start..last.text.end,
                    first.original.start,
                    last.original.end,
                );
            }
            all => {
                for w in all.windows(2) {
                    push(
                        w[0].text.start..w[1].text.end,
                        w[0].original.start,
                        w[1].original.end,
                    );
                }
            }
        }
        self.run.clear();
    }
}

#[cfg(test)]
mod reference;

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::Schema;

    fn tokens(t: &mut impl Tokenizer, text: &str) -> Vec<Token> {
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
            tokens(&mut JaTokenizer::default(), text),
            tokens(&mut BigramTokenizer::default(), text),
            tokens(&mut ReadingBigramTokenizer::default(), text),
        ] {
            for t in &analyzer {
                assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
                assert!(t.offset_from < t.offset_to, "{t:?}");
            }
        }
        let ja = tokens(&mut JaTokenizer::default(), text);
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
    fn the_analysis_cache_changes_no_token() {
        let text = "山田商事は詐欺。\nﾔﾏﾀﾞの社長";
        let fresh = analyze(text);
        for _ in 0..2 {
            let cached = analysis(text);
            assert_eq!(cached.folded, fresh.folded);
            assert_eq!(cached.readings, fresh.readings);
            assert_eq!(cached.morphemes.len(), fresh.morphemes.len());
            for (a, b) in cached.morphemes.iter().zip(&fresh.morphemes) {
                assert_eq!(
                    (&a.surface, &a.reading, &a.original, a.is_word),
                    (&b.surface, &b.reading, &b.original, b.is_word)
                );
            }
        }
        // Older entries survive a generation turning over.
        for i in 0..CACHE_ENTRIES + 1 {
            analysis(&format!("{i}番"));
        }
        assert_eq!(
            texts(&tokens(&mut JaTokenizer::default(), text)),
            texts(&reference::ja(text))
        );
        assert!(CACHE.with_borrow(|c| c.young.len() + c.old.len()) <= 2 * CACHE_ENTRIES);
    }

    /// Texts that exercise normalization, unknown words, mixed scripts and sentence ends.
    const EDGE_TEXTS: &[&str] = &[
        "",
        "。。\n\n",
        "ＡＢＣ商事の\u{200B}ﾔﾏﾀﾞは詐欺。\n山田商事",
        "ｗｗｗ🤣xyzzy　ﾃｽﾄ！？株式会社ヤマダ商事ABC123def",
        "桜井眼科の電話番号は090-1234-5678です!本当?",
        "一二三丁目４番５号、ヴァイオリン教室ゞゝー",
        "Yamada Shoji は ｶﾀｶﾅ と ひらがな と 漢字 を 混ぜる\r\n改行\tタブ",
    ];

    #[test]
    fn tokens_are_the_same_as_before_one_analysis_fed_all_three() {
        let watchlist = crate::bench::builtin_watchlist().expect("watchlist");
        let posts = crate::bench::index::posts::generate(3_000, 11, &watchlist).expect("posts");
        let mut texts: Vec<&str> = EDGE_TEXTS.to_vec();
        for p in &posts {
            texts.push(&p.post.body);
            texts.extend(p.post.thread_title.as_deref());
            texts.extend(p.post.author_name.as_deref());
        }
        let mut ja = JaTokenizer::default();
        let mut bigram = BigramTokenizer::default();
        let mut reading = ReadingBigramTokenizer::default();
        let mut compared = 0;
        for text in texts {
            // Twice: the second time the analysis comes from the cache.
            for _ in 0..2 {
                assert_eq!(tokens(&mut ja, text), reference::ja(text), "{text:?}");
                assert_eq!(
                    tokens(&mut bigram, text),
                    reference::bigram(text),
                    "{text:?}"
                );
                assert_eq!(
                    tokens(&mut reading, text),
                    reference::reading_bigram(text),
                    "{text:?}"
                );
                compared += 1;
            }
        }
        assert!(compared > 6_000, "{compared} texts compared");
    }

    #[test]
    fn readings_share_the_position_of_their_word() {
        let ja = tokens(&mut JaTokenizer::default(), "山田商事は詐欺");
        let surface = ja.iter().find(|t| t.text == "詐欺").expect("詐欺");
        let reading = ja.iter().find(|t| t.text == "さぎ").expect("reading さぎ");
        assert_eq!(surface.position, reading.position);
        assert_eq!(
            (surface.offset_from, surface.offset_to),
            (reading.offset_from, reading.offset_to)
        );
        // A kana word is not repeated as its own reading.
        let kana = tokens(&mut JaTokenizer::default(), "すごい");
        assert_eq!(kana.len(), 1, "{:?}", texts(&kana));
    }

    #[test]
    fn width_and_kana_are_folded() {
        let full = tokens(&mut JaTokenizer::default(), "ＹＡＭＡＤＡ　ヤマダ");
        let half = tokens(&mut JaTokenizer::default(), "yamada ﾔﾏﾀﾞ");
        assert_eq!(texts(&full), texts(&half));
        assert!(texts(&full).contains(&"yamada"), "{:?}", texts(&full));
        assert_eq!(
            texts(&tokens(&mut BigramTokenizer::default(), "ｶﾀｶﾅ")),
            texts(&tokens(&mut BigramTokenizer::default(), "かたかな"))
        );
    }

    #[test]
    fn sentences_are_segmented_separately() {
        // No token spans a 。 or a newline.
        let text = "山田。商事\n詐欺";
        for t in tokens(&mut JaTokenizer::default(), text) {
            let s = &text[t.offset_from..t.offset_to];
            assert!(!s.contains('。') && !s.contains('\n'), "{s:?}");
        }
    }

    #[test]
    fn bigrams_cover_substrings_and_ascii_words() {
        let b = tokens(&mut BigramTokenizer::default(), "桜井眼科 ABC123");
        assert_eq!(texts(&b), ["桜井", "井眼", "眼科", "abc123"]);
        assert_eq!(
            texts(&tokens(&mut BigramTokenizer::default(), "山")),
            ["山"]
        );
        let positions: Vec<usize> = b.iter().map(|t| t.position).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
    }

    #[test]
    fn a_kana_query_matches_the_reading_of_kanji_text() {
        let doc = texts(&tokens(&mut ReadingBigramTokenizer::default(), "山田商事"))
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>();
        let query = tokens(&mut ReadingBigramTokenizer::default(), "やまだ");
        let q = texts(&query);
        assert!(!q.is_empty());
        // The query's bigrams appear consecutively in the document's.
        let found = doc
            .windows(q.len())
            .any(|w| w.iter().zip(&q).all(|(a, b)| a == b));
        assert!(found, "doc {doc:?} query {q:?}");
    }
}
