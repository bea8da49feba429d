//! Bounds on a query string, checked before it reaches Tantivy's query parser.
//!
//! Why: the query grammar parses recursively, so a query nested in thousands of parentheses
//! overflows the stack of the thread that parses it (in tantivy 0.25 the parse time also
//! doubled with each level), and `serve` parses whatever a cross-site `<img>` sends. A human
//! query is a few words, a phrase, a filter or two: the limits below are far above that and
//! far below what hurts. [`check`] is one linear pass over the string; it tracks quotes and
//! escapes the way the grammar does so that a `)` inside a phrase cannot hide a `(` (when it
//! is unsure it over-counts, which can only refuse more, never let more through).

/// Longest query, in characters (a query of 4-byte characters is then at most 4,000 bytes).
pub const MAX_QUERY_CHARS: usize = 1000;
/// Deepest nesting of parentheses.
pub const MAX_QUERY_DEPTH: usize = 8;
/// Most terms (words, phrases, `field:value`s, ranges); `AND`, `OR`, `NOT` do not count.
pub const MAX_QUERY_TERMS: usize = 64;

/// Which limit a query is over; each message names the limit and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryLimit {
    /// Too many characters.
    #[error(
        "the query is {chars} characters long, the limit is {MAX_QUERY_CHARS}: shorten it or split it into several searches"
    )]
    TooLong {
        /// Characters in the query.
        chars: usize,
    },
    /// Parentheses nested too deep.
    #[error(
        "the query nests parentheses {depth} deep, the limit is {MAX_QUERY_DEPTH}: remove some of the parentheses"
    )]
    TooDeep {
        /// The deepest nesting found.
        depth: usize,
    },
    /// Too many terms.
    #[error(
        "the query has {terms} terms, the limit is {MAX_QUERY_TERMS}: use fewer words or split it into several searches"
    )]
    TooManyTerms {
        /// Terms counted.
        terms: usize,
    },
}

/// Refuses a query over [`MAX_QUERY_CHARS`], [`MAX_QUERY_DEPTH`] or [`MAX_QUERY_TERMS`].
pub fn check(query: &str) -> Result<(), QueryLimit> {
    // Every character is at least one byte, so a short string needs no counting.
    if query.len() > MAX_QUERY_CHARS {
        let chars = query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryLimit::TooLong { chars });
        }
    }
    let shape = shape(query);
    if shape.depth > MAX_QUERY_DEPTH {
        return Err(QueryLimit::TooDeep { depth: shape.depth });
    }
    if shape.terms > MAX_QUERY_TERMS {
        return Err(QueryLimit::TooManyTerms { terms: shape.terms });
    }
    Ok(())
}

/// What [`shape`] measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Shape {
    /// Deepest nesting of parentheses.
    depth: usize,
    /// Terms, not counting the operators.
    terms: usize,
}

/// Where the scanner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between terms.
    Gap,
    /// Inside a term (a word, `field:value`).
    Word,
    /// Inside a phrase opened by this quote character.
    Quoted(char),
    /// Inside a range opened by `[` or `{`.
    Range,
    /// Inside a regex `/…/` (after `field:`).
    Regex,
}

/// Nesting depth and term count of `query`.
fn shape(query: &str) -> Shape {
    let mut out = Shape::default();
    let mut depth = 0usize;
    let mut state = State::Gap;
    let mut word = String::new();
    let mut chars = query.chars();
    // Ends the current word, counting it unless it is an operator or a `field:` whose value
    // (a phrase, range or group) is counted by itself.
    let end_word = |word: &mut String, out: &mut Shape| {
        if !word.is_empty()
            && !word.ends_with(':')
            && !matches!(word.as_str(), "AND" | "OR" | "NOT" | "&&" | "||")
        {
            out.terms += 1;
        }
        word.clear();
    };
    while let Some(c) = chars.next() {
        match state {
            State::Quoted(q) => {
                if c == '\\' {
                    chars.next();
                } else if c == q {
                    state = State::Gap;
                }
                continue;
            }
            State::Range => {
                if c == ']' || c == '}' {
                    state = State::Gap;
                }
                continue;
            }
            State::Regex => {
                if c == '\\' {
                    chars.next();
                } else if c == '/' {
                    state = State::Gap;
                }
                continue;
            }
            State::Gap | State::Word => {}
        }
        match c {
            '\\' => {
                // An escaped character is part of a word, whatever it is.
                state = State::Word;
                word.push(c);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '(' => {
                end_word(&mut word, &mut out);
                depth += 1;
                out.depth = out.depth.max(depth);
                state = State::Gap;
            }
            ')' => {
                end_word(&mut word, &mut out);
                depth = depth.saturating_sub(1);
                state = State::Gap;
            }
            '"' | '\'' => {
                end_word(&mut word, &mut out);
                out.terms += 1;
                state = State::Quoted(c);
            }
            '[' | '{' => {
                end_word(&mut word, &mut out);
                out.terms += 1;
                state = State::Range;
            }
            '/' if word.ends_with(':') => {
                word.clear();
                out.terms += 1;
                state = State::Regex;
            }
            c if c.is_whitespace() => {
                end_word(&mut word, &mut out);
                state = State::Gap;
            }
            c => {
                state = State::Word;
                word.push(c);
            }
        }
    }
    end_word(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(q: &str) -> usize {
        shape(q).depth
    }

    fn terms(q: &str) -> usize {
        shape(q).terms
    }

    #[test]
    fn human_queries_pass() {
        for q in [
            "",
            "*",
            "山田商事 詐欺",
            "\"山田商事は詐欺\"",
            "詐欺 OR 倒産",
            "山田商事 NOT 求人 -広告",
            "target:yamada category:threat severity:[50 TO 100]",
            "(詐欺 OR 横領) AND (逮捕 OR 書類送検) title:(スレ OR 板)",
            &"山".repeat(MAX_QUERY_CHARS),
        ] {
            assert_eq!(check(q), Ok(()), "{q}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert_eq!(check(&"あ".repeat(MAX_QUERY_CHARS)), Ok(()));
        assert_eq!(
            check(&"あ".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryLimit::TooLong {
                chars: MAX_QUERY_CHARS + 1
            })
        );
        assert_eq!(
            check(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(QueryLimit::TooLong {
                chars: MAX_QUERY_CHARS + 1
            })
        );
    }

    #[test]
    fn nesting_is_measured_and_refused_past_the_limit() {
        assert_eq!(depth("a"), 0);
        assert_eq!(depth("(a) (b) (c)"), 1);
        assert_eq!(depth("((a OR b) AND (c OR (d)))"), 3);
        let ok = format!("{}a{}", "(".repeat(8), ")".repeat(8));
        assert_eq!(check(&ok), Ok(()));
        let deep = format!("{}a{}", "(".repeat(9), ")".repeat(9));
        assert_eq!(check(&deep), Err(QueryLimit::TooDeep { depth: 9 }));
        // The reported attack: 1,550 levels, and one never closed.
        let attack = format!("{}a{}", "(".repeat(1550), ")".repeat(1550));
        assert!(matches!(check(&attack), Err(QueryLimit::TooLong { .. })));
        let attack = format!("{}a", "(".repeat(30));
        assert_eq!(check(&attack), Err(QueryLimit::TooDeep { depth: 30 }));
    }

    #[test]
    fn a_quoted_or_escaped_paren_neither_opens_nor_closes() {
        assert_eq!(depth("\"((((((((((\""), 0);
        assert_eq!(depth("'(((((((((('"), 0);
        assert_eq!(depth("a\\(\\(\\(\\(\\(\\(\\(\\(\\(\\("), 0);
        // Closers hidden in a phrase, an escape or a regex do not lower the count.
        let hidden = "((((( \"))))\" \\)\\)\\)\\) title:/)))))/ (((((x";
        assert_eq!(depth(hidden), 10);
        assert_eq!(check(hidden), Err(QueryLimit::TooDeep { depth: 10 }));
        // An escaped quote does not end the phrase.
        assert_eq!(depth("\"a \\\" ((((\" (b)"), 1);
    }

    #[test]
    fn terms_are_counted_without_operators() {
        assert_eq!(terms("山田商事 詐欺"), 2);
        assert_eq!(terms("詐欺 OR 倒産 AND NOT 求人"), 3);
        assert_eq!(terms("\"山田商事 は 詐欺\" target:yamada"), 2);
        assert_eq!(terms("severity:[50 TO 100]"), 1);
        assert_eq!(terms("title:\"a b\" source:5ch"), 2);
        assert_eq!(terms("title:(スレ OR 板)"), 2);
        assert_eq!(terms("(a OR b) (c)"), 3);
        let many = vec!["詐欺"; MAX_QUERY_TERMS + 1].join(" ");
        assert_eq!(
            check(&many),
            Err(QueryLimit::TooManyTerms {
                terms: MAX_QUERY_TERMS + 1
            })
        );
        let ok = vec!["詐欺"; MAX_QUERY_TERMS].join(" OR ");
        assert_eq!(check(&ok), Ok(()));
    }

    #[test]
    fn messages_name_the_limit() {
        let e = QueryLimit::TooDeep { depth: 9 }.to_string();
        assert!(e.contains("limit is 8") && e.contains("parentheses"), "{e}");
        let e = QueryLimit::TooLong { chars: 1001 }.to_string();
        assert!(e.contains("limit is 1000") && e.contains("1001"), "{e}");
        let e = QueryLimit::TooManyTerms { terms: 65 }.to_string();
        assert!(e.contains("limit is 64"), "{e}");
    }
}
