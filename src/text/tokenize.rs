//! Lindera tokenization over the IPADIC dictionary embedded at build time.
//!
//! `build.rs` builds the dictionary from the IPADIC source shipped in `dict/ipadic/` (no
//! download), and `embedded_dictionary!` bakes it into the binary. One segmenter is loaded
//! lazily per process and shared: loading costs tens of milliseconds. Each thread segments
//! with its own `SegmentWorker` over that dictionary (cheap to make: the dictionary is behind
//! `Arc`s), which reuses its lattice from text to text.
//! Only prefilter candidates are tokenized; the no-hit path never reaches this module.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use lindera::dictionary::Dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::token::Token as LinderaToken;
use lindera::worker::SegmentWorker;

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIpadicLoader);
}

/// Why tokenization failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// The embedded dictionary could not be loaded (a broken build).
    #[error("cannot load the embedded IPADIC dictionary: {0} (rebuild mimamori)")]
    Dictionary(String),
    /// Lindera failed on this text.
    #[error("lindera could not segment the text: {0}")]
    Segment(String),
}

/// One morpheme: surface with byte offsets into the tokenized text, part of speech, base
/// form and katakana reading (the surface itself where the dictionary has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The text as it appears.
    pub surface: String,
    /// Byte offset of the first byte in the tokenized text.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Part of speech (名詞, 動詞, 助詞, …); `UNK` for unknown words.
    pub pos: String,
    /// First part-of-speech subcategory (固有名詞, 自立, 接尾, …) or `*`.
    pub pos1: String,
    /// Base (dictionary) form: 殺さ → 殺す.
    pub base: String,
    /// Reading in katakana.
    pub reading: String,
}

impl Token {
    /// True for particles, auxiliaries and symbols: words that end a noun phrase.
    pub fn is_function_word(&self) -> bool {
        matches!(self.pos.as_str(), "助詞" | "助動詞" | "記号")
    }
}

static SEGMENTER: LazyLock<Result<Segmenter, String>> = LazyLock::new(|| {
    let dictionary = embedded::load().map_err(|e| e.to_string())?;
    Ok(Segmenter::new(Mode::Normal, dictionary, None))
});

thread_local! {
    /// This thread's Lindera worker over the shared dictionary: it keeps the Viterbi lattice
    /// and the backtrace buffer between calls instead of allocating them per text.
    static WORKER: RefCell<Option<SegmentWorker>> = const { RefCell::new(None) };
}

/// The process's segmenter (the dictionary is loaded on first use).
pub(crate) fn segmenter() -> Result<&'static Segmenter, TokenizeError> {
    SEGMENTER
        .as_ref()
        .map_err(|e| TokenizeError::Dictionary(e.clone()))
}

/// Loads the dictionary now (it is otherwise loaded on first use), so that a broken build
/// fails at start-up and benchmarks do not time the load.
pub fn warm_up() -> Result<(), TokenizeError> {
    segmenter().map(|_| ())
}

/// One morpheme borrowed from Lindera's output, valid during a [`for_each_morpheme`] call:
/// the same fields as [`Token`] without allocating them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Morpheme<'a> {
    /// The text as it appears.
    pub surface: &'a str,
    /// Byte offset of the first byte in the tokenized text.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// Part of speech; `UNK` for unknown words.
    pub pos: &'a str,
    /// First part-of-speech subcategory or `*`.
    pub pos1: &'a str,
    /// Base (dictionary) form (the surface where the dictionary has none).
    pub base: &'a str,
    /// Reading in katakana (the surface where the dictionary has none).
    pub reading: &'a str,
}

impl<'a> Morpheme<'a> {
    /// The details of Lindera's token read straight from the dictionary's bytes (what
    /// `Token::details` returns, without its per-token vector).
    fn of(t: &'a LinderaToken<'_>) -> Morpheme<'a> {
        let mut fields: [Option<&'a str>; 8] = [None; 8];
        let mut fill = |it: &mut dyn Iterator<Item = &'a str>| {
            for (slot, f) in fields.iter_mut().zip(it) {
                *slot = Some(f);
            }
        };
        let id = t.word_id.id() as usize;
        let dictionary: &'a Dictionary = t.dictionary;
        if t.word_id.is_unknown() {
            fill(&mut dictionary.unknown_word_details_iter(id));
        } else if t.word_id.is_system() {
            fill(&mut dictionary.word_details_iter(id));
        } else {
            // A user dictionary's word; mimamori loads none.
            fill(&mut std::iter::once("UNK"));
        }
        let surface: &'a str = &t.surface;
        let field = |i: usize| fields[i].filter(|s| *s != "*");
        Morpheme {
            surface,
            start: t.byte_start,
            end: t.byte_end,
            pos: fields[0].unwrap_or("UNK"),
            pos1: fields[1].unwrap_or("*"),
            base: field(6).unwrap_or(surface),
            reading: field(7).unwrap_or(surface),
        }
    }
}

/// Segments `text` with this thread's Lindera worker and calls `f` on each morpheme in
/// order, borrowing instead of building [`Token`]s (the index's analyzers use this).
pub fn for_each_morpheme(
    text: &str,
    mut f: impl FnMut(&Morpheme<'_>),
) -> Result<(), TokenizeError> {
    let segmenter = segmenter()?;
    let seg_error = |e: lindera::error::LinderaError| TokenizeError::Segment(e.to_string());
    WORKER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let worker = slot.get_or_insert_with(|| segmenter.new_worker());
            for t in &worker.segment(text).map_err(seg_error)? {
                f(&Morpheme::of(t));
            }
            Ok(())
        }
        // Called again from inside `f`: segment without the worker.
        Err(_) => {
            for t in &segmenter.segment(Cow::Borrowed(text)).map_err(seg_error)? {
                f(&Morpheme::of(t));
            }
            Ok(())
        }
    })
}

/// Tokenizes `text` into morphemes with surface, offsets, part of speech, base form and reading.
pub fn tokenize(text: &str) -> Result<Vec<Token>, TokenizeError> {
    let mut out = Vec::new();
    for_each_morpheme(text, |m| {
        out.push(Token {
            surface: m.surface.to_string(),
            start: m.start,
            end: m.end,
            pos: m.pos.to_string(),
            pos1: m.pos1.to_string(),
            base: m.base.to_string(),
            reading: m.reading.to_string(),
        })
    })?;
    Ok(out)
}

/// Counts the morphemes of `text` without building [`Token`]s: the cheapest full
/// tokenization, used as the Lindera peer in benchmarks.
pub fn count_tokens(text: &str) -> Result<usize, TokenizeError> {
    let segmenter = segmenter()?;
    segmenter
        .segment(Cow::Borrowed(text))
        .map(|t| t.len())
        .map_err(|e| TokenizeError::Segment(e.to_string()))
}

/// The katakana reading of `text` as the dictionary reads it (山田商事 → ヤマダショウジ).
pub fn reading(text: &str) -> Result<String, TokenizeError> {
    Ok(tokenize(text)?.into_iter().map(|t| t.reading).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_with_base_form_and_reading() {
        let tokens = tokenize("山田商事の社員に殺されたい").expect("tokenize");
        let surfaces: Vec<&str> = tokens.iter().map(|t| t.surface.as_str()).collect();
        assert_eq!(
            surfaces,
            ["山田", "商事", "の", "社員", "に", "殺さ", "れ", "たい"]
        );
        assert_eq!(tokens[5].base, "殺す");
        assert_eq!(tokens[5].pos, "動詞");
        assert_eq!(tokens[0].reading, "ヤマダ");
        assert_eq!(tokens[1].start, "山田".len());
        assert!(tokens[2].is_function_word());
    }

    #[test]
    fn borrowed_morphemes_equal_linderas_own_details() {
        let segmenter = segmenter().expect("dictionary");
        for text in [
            "山田商事の社員に殺されたい",
            "ｗｗｗ🤣xyzzy ヤマダ　商事、株式会社。\n090-1234-5678",
            "桜井眼科はヴァイオリン教室ゞ",
            "",
        ] {
            let expected: Vec<Token> = segmenter
                .segment(Cow::Borrowed(text))
                .expect("segment")
                .into_iter()
                .map(|mut t| {
                    let surface = t.surface.to_string();
                    let (start, end) = (t.byte_start, t.byte_end);
                    let d: Vec<String> = t.details().iter().map(|s| s.to_string()).collect();
                    let field = |i: usize| d.get(i).filter(|s| *s != "*").cloned();
                    Token {
                        start,
                        end,
                        pos: d.first().cloned().unwrap_or_else(|| "UNK".into()),
                        pos1: d.get(1).cloned().unwrap_or_else(|| "*".into()),
                        base: field(6).unwrap_or_else(|| surface.clone()),
                        reading: field(7).unwrap_or_else(|| surface.clone()),
                        surface,
                    }
                })
                .collect();
            // Twice: the second call reuses this thread's worker.
            for _ in 0..2 {
                assert_eq!(tokenize(text).expect("tokenize"), expected, "{text:?}");
            }
        }
    }

    #[test]
    fn reads_names() {
        assert_eq!(reading("山田商事").expect("reading"), "ヤマダショウジ");
    }

    #[test]
    fn unknown_words_keep_surface() {
        let tokens = tokenize("ｗｗｗ🤣xyzzy").expect("tokenize");
        assert!(!tokens.is_empty());
        assert!(
            tokens
                .iter()
                .all(|t| !t.base.is_empty() && !t.reading.is_empty())
        );
        assert_eq!(count_tokens("").expect("count"), 0);
    }
}
