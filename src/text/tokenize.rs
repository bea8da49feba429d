//! Lindera tokenization over the IPADIC dictionary embedded at build time.
//!
//! `build.rs` builds the dictionary from the IPADIC source shipped in `dict/ipadic/` (no
//! download), and `embedded_dictionary!` bakes it into the binary. One segmenter is loaded
//! lazily per process and shared: loading costs tens of milliseconds, segmenting is `&self`.
//! Only prefilter candidates are tokenized; the no-hit path never reaches this module.

use std::borrow::Cow;
use std::sync::LazyLock;

use lindera::mode::Mode;
use lindera::segmenter::Segmenter;

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

fn segmenter() -> Result<&'static Segmenter, TokenizeError> {
    SEGMENTER
        .as_ref()
        .map_err(|e| TokenizeError::Dictionary(e.clone()))
}

/// Loads the dictionary now (it is otherwise loaded on first use), so that a broken build
/// fails at start-up and benchmarks do not time the load.
pub fn warm_up() -> Result<(), TokenizeError> {
    segmenter().map(|_| ())
}

/// Tokenizes `text` into morphemes with surface, offsets, part of speech, base form and reading.
pub fn tokenize(text: &str) -> Result<Vec<Token>, TokenizeError> {
    let segmenter = segmenter()?;
    let tokens = segmenter
        .segment(Cow::Borrowed(text))
        .map_err(|e| TokenizeError::Segment(e.to_string()))?;
    Ok(tokens
        .into_iter()
        .map(|mut t| {
            let surface = t.surface.to_string();
            let (start, end) = (t.byte_start, t.byte_end);
            let details = t.details();
            let field = |i: usize| details.get(i).filter(|s| **s != "*").map(|s| s.to_string());
            let pos = details
                .first()
                .map_or_else(|| "UNK".to_string(), |s| s.to_string());
            let pos1 = details
                .get(1)
                .map_or_else(|| "*".to_string(), |s| s.to_string());
            let base = field(6).unwrap_or_else(|| surface.clone());
            let reading = field(7).unwrap_or_else(|| surface.clone());
            Token {
                surface,
                start,
                end,
                pos,
                pos1,
                base,
                reading,
            }
        })
        .collect())
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
