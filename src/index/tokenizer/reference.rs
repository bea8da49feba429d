//! The analyzers as they were before one analysis fed all three (each text segmented per
//! field, one `String` per token, Lindera's allocating `segment` and `Token::details`), kept
//! to test that the faster ones give the same tokens.

use std::borrow::Cow;
use std::ops::Range;

use tantivy::tokenizer::Token;

use crate::text::normalize::{fold, normalize};
use crate::text::tokenize::segmenter;

/// One morpheme of the old analyzers.
struct Morpheme {
    surface: String,
    reading: Option<String>,
    original: Range<usize>,
    is_word: bool,
}

/// Surface, byte range and katakana reading of each morpheme, the old way.
fn lindera(text: &str) -> Vec<(String, usize, usize, String)> {
    let Ok(segmenter) = segmenter() else {
        return Vec::new();
    };
    let Ok(tokens) = segmenter.segment(Cow::Borrowed(text)) else {
        return Vec::new();
    };
    tokens
        .into_iter()
        .map(|mut t| {
            let surface = t.surface.to_string();
            let (start, end) = (t.byte_start, t.byte_end);
            let details = t.details();
            let reading = details
                .get(7)
                .filter(|s| **s != "*")
                .map_or_else(|| surface.clone(), |s| s.to_string());
            (surface, start, end, reading)
        })
        .collect()
}

fn morphemes(text: &str) -> Vec<Morpheme> {
    let n = normalize(text);
    let mut out = Vec::new();
    for sentence in super::sentences(&n.text) {
        for (surface, start, end, reading) in lindera(&n.text[sentence.clone()]) {
            let surface = fold(&surface);
            let reading = fold(&reading);
            let is_word = surface.chars().any(char::is_alphanumeric);
            let reading =
                (is_word && reading != surface && reading.chars().all(super::is_kana_or_mark))
                    .then_some(reading);
            out.push(Morpheme {
                surface,
                reading,
                original: n.original_range(sentence.start + start..sentence.start + end),
                is_word,
            });
        }
        out.push(Morpheme {
            surface: String::new(),
            reading: None,
            original: 0..0,
            is_word: false,
        });
    }
    out
}

/// The old `mimamori_ja` tokens.
pub fn ja(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut position = 0usize;
    for m in morphemes(text) {
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

/// The old `mimamori_bigram` tokens.
pub fn bigram(text: &str) -> Vec<Token> {
    let n = normalize(text);
    let folded = fold(&n.text);
    let chars = folded
        .char_indices()
        .map(|(i, c)| Some((c, n.original_range(i..i + c.len_utf8()))));
    bigrams(chars)
}

/// The old `mimamori_reading_bigram` tokens.
pub fn reading_bigram(text: &str) -> Vec<Token> {
    let mut chars: Vec<Option<(char, Range<usize>)>> = Vec::new();
    for m in morphemes(text) {
        if !m.is_word {
            chars.push(None);
            continue;
        }
        for c in m.reading.as_deref().unwrap_or(&m.surface).chars() {
            chars.push(Some((c, m.original.clone())));
        }
    }
    bigrams(chars.into_iter())
}

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
