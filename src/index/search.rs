//! Queries: the user's query string plus filters, ranked by BM25, with highlighted snippets.
//!
//! The query string uses Tantivy's syntax (documented in the README and in
//! `mimamori search --help`): words are ANDed, `"…"` is a phrase, `OR`, `AND`, `NOT` / `-word`,
//! `field:value`, ranges `severity:[50 TO 100]`. A word without a field is looked up in the
//! body (Lindera words and readings), the body bigrams and the thread title; a word written in
//! kana only is also looked up in the body's reading bigrams, so `やまだ` finds 山田 (a query
//! with kanji does not, so 詐欺 does not find every さぎ).
//!
//! Before it is parsed, the query string is checked against [`super::limits`]; a search runs
//! under a [`Deadline`] ([`SEARCH_BUDGET`] unless the caller gives one).

use std::ops::{Bound, Range};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, TantivyDocument, Value};
use tantivy::snippet::{Snippet, SnippetGenerator};
use tantivy::{DocAddress, Searcher, Term};

pub use super::deadline::{Deadline, SEARCH_BUDGET};
use super::{IndexError, SearchIndex, limits, tv};
use crate::model::jst;

/// Longest snippet, in characters.
const SNIPPET_CHARS: usize = 160;

/// Longest duration text [`parse_duration`] takes.
const MAX_DURATION_TEXT: usize = 40;
/// Most digits in one number of a duration (999,999,999 days still fits every type on the way).
const MAX_DURATION_DIGITS: usize = 9;

/// A duration as `--since 7d`, `since=12h` or `--timeout 5s` write it (the config syntax:
/// `500ms`, `30s`, `5m`, `1h`, `7d`, combined as `1h30m`), refused past
/// [`MAX_DURATION_DIGITS`] digits in a number or [`MAX_DURATION_TEXT`] characters, so that a
/// hostile value cannot overflow the arithmetic behind it.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let longest = s
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if s.len() > MAX_DURATION_TEXT || longest > MAX_DURATION_DIGITS {
        return Err(format!(
            "a duration has at most {MAX_DURATION_DIGITS} digits per number and {MAX_DURATION_TEXT} characters (write e.g. 30s, 5m, 1h, 7d)"
        ));
    }
    crate::config::parse_duration(s)
}

/// One search.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// The query string (Tantivy syntax); empty or `*` matches every post.
    pub query: String,
    /// Only posts that mention this target id.
    pub target: Option<String>,
    /// Only posts with a hit of this category.
    pub category: Option<String>,
    /// Only posts from this source kind.
    pub source: Option<String>,
    /// Only posts posted at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only posts posted before this time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many results (at least 1).
    pub limit: usize,
}

/// One result (`search --json` prints these; design.md §3 requires `url`, `post_key`,
/// `targets`, `posted_at`, `snippet`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResult {
    /// The post's key.
    pub post_key: String,
    /// The post's URL.
    pub url: String,
    /// Source kind.
    pub source: String,
    /// Thread title.
    pub title: Option<String>,
    /// Target ids the post mentions.
    pub targets: Vec<String>,
    /// Risk categories of its hits.
    pub categories: Vec<String>,
    /// Severity 0–100.
    pub severity: u64,
    /// Triage status (`none` when the post has no hit).
    pub status: String,
    /// Hit ids in `state.sqlite`.
    pub hit_ids: Vec<u64>,
    /// Posted-at (RFC 3339, JST).
    pub posted_at: Option<String>,
    /// BM25 score.
    pub score: f32,
    /// The match in context, plain text, each match between « and ».
    pub snippet: String,
    /// The same, HTML-escaped, each match in `<b>…</b>`.
    pub snippet_html: String,
}

/// True if `query` has kana and no kanji: then it is also matched against readings.
fn is_kana_query(query: &str) -> bool {
    let kana = query
        .chars()
        .any(|c| matches!(c, 'ぁ'..='ゖ' | 'ァ'..='ヺ' | 'ｦ'..='ﾝ'));
    let kanji = query
        .chars()
        .any(|c| matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '々'));
    kana && !kanji
}

fn term_filter(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

fn date_term(field: Field, t: DateTime<Utc>) -> Term {
    Term::from_field_date_for_search(field, tantivy::DateTime::from_timestamp_secs(t.timestamp()))
}

impl SearchIndex {
    /// The query `request` describes (query string and filters); a query string over one of
    /// the [`limits`] is refused before it is parsed.
    pub fn query(&self, request: &SearchRequest) -> Result<Box<dyn Query>, IndexError> {
        limits::check(&request.query)?;
        let f = &self.fields;
        let mut defaults = vec![f.body, f.body_ngram, f.title];
        if is_kana_query(&request.query) {
            defaults.push(f.body_reading);
        }
        let mut parser = QueryParser::for_index(&self.index, defaults);
        parser.set_conjunction_by_default();
        let text = request.query.trim();
        let text = if text.is_empty() { "*" } else { text };
        let user = parser
            .parse_query(text)
            .map_err(|source| IndexError::Query {
                query: request.query.clone(),
                source,
            })?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, user)];
        for (field, value) in [
            (f.target, &request.target),
            (f.category, &request.category),
            (f.source, &request.source),
        ] {
            if let Some(v) = value {
                clauses.push((Occur::Must, term_filter(field, v)));
            }
        }
        if request.since.is_some() || request.until.is_some() {
            let lower = request.since.map_or(Bound::Unbounded, |t| {
                Bound::Included(date_term(f.posted_at, t))
            });
            let upper = request.until.map_or(Bound::Unbounded, |t| {
                Bound::Excluded(date_term(f.posted_at, t))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// Runs `request` within [`SEARCH_BUDGET`]: the best `limit` posts with snippets.
    pub fn search(&self, request: &SearchRequest) -> Result<Vec<SearchResult>, IndexError> {
        self.search_within(request, &Deadline::after(SEARCH_BUDGET))
    }

    /// Runs `request`, failing with [`IndexError::TimedOut`] once `deadline` passes.
    pub fn search_within(
        &self,
        request: &SearchRequest,
        deadline: &Deadline,
    ) -> Result<Vec<SearchResult>, IndexError> {
        let query = self.query(request)?;
        deadline.check()?;
        let searcher = self.searcher()?;
        let top = searcher
            .search(
                &deadline.wrap(query.box_clone()),
                &TopDocs::with_limit(request.limit.max(1)).order_by_score(),
            )
            .map_err(tv(&self.path, "search failed"))?;
        deadline.check()?;
        let f = self.fields;
        let mut generators = Vec::new();
        for field in [f.body, f.body_ngram, f.body_reading, f.title] {
            let mut g = SnippetGenerator::create(&searcher, &*query, field)
                .map_err(tv(&self.path, "cannot make snippets"))?;
            g.set_max_num_chars(SNIPPET_CHARS);
            generators.push(g);
        }
        top.into_iter()
            .map(|(score, addr)| {
                deadline.check()?;
                self.result(&searcher, addr, score, &generators)
            })
            .collect()
    }

    fn result(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
        generators: &[SnippetGenerator],
    ) -> Result<SearchResult, IndexError> {
        let f = &self.fields;
        let doc: TantivyDocument = searcher
            .doc(addr)
            .map_err(tv(&self.path, "cannot read a document"))?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_string))
        };
        let texts = |field: Field| -> Vec<String> {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        let body = text(f.body).unwrap_or_default();
        let title = text(f.title);
        // The first analyzer whose terms occur in the body gives the snippet; else the title's;
        // else the start of the body.
        let snippet = generators[..3]
            .iter()
            .map(|g| g.snippet(&body))
            .find(|s| !s.highlighted().is_empty())
            .or_else(|| {
                let t = title.as_deref()?;
                Some(generators[3].snippet(t)).filter(|s| !s.highlighted().is_empty())
            });
        let (plain, html) = match snippet {
            Some(s) => (marked(&s), s.to_html()),
            None => {
                let head: String = body.chars().take(SNIPPET_CHARS).collect();
                (head.clone(), escape(&head))
            }
        };
        let posted_at = doc
            .get_first(f.posted_at)
            .and_then(|v| v.as_datetime())
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.into_timestamp_secs(), 0))
            .map(|d| d.with_timezone(&jst()).to_rfc3339());
        Ok(SearchResult {
            post_key: text(f.post_key).unwrap_or_default(),
            url: text(f.url).unwrap_or_default(),
            source: text(f.source).unwrap_or_default(),
            title,
            targets: texts(f.target),
            categories: texts(f.category),
            severity: doc
                .get_first(f.severity)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            status: text(f.status).unwrap_or_default(),
            hit_ids: doc.get_all(f.hit_id).filter_map(|v| v.as_u64()).collect(),
            posted_at,
            score,
            snippet: plain,
            snippet_html: html,
        })
    }
}

/// Merges overlapping or touching ranges (sorted by start).
fn merge(ranges: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut sorted = ranges.to_vec();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in sorted {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// The snippet as plain text with « » around each match (newlines shown as spaces).
fn marked(s: &Snippet) -> String {
    let text = s.fragment();
    let mut out = String::new();
    let mut at = 0;
    for r in merge(s.highlighted()) {
        let (Some(before), Some(hit)) = (text.get(at..r.start), text.get(r.clone())) else {
            continue;
        };
        out.push_str(before);
        out.push('«');
        out.push_str(hit);
        out.push('»');
        at = r.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out.replace(['\n', '\r'], " ")
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kana_queries_are_recognized() {
        assert!(is_kana_query("やまだ"));
        assert!(is_kana_query("ヤマダ"));
        assert!(!is_kana_query("山田 やまだ"));
        assert!(!is_kana_query("yamada"));
    }

    #[test]
    fn durations_are_bounded_before_any_arithmetic() {
        assert_eq!(
            parse_duration("7d"),
            Ok(std::time::Duration::from_secs(7 * 86400))
        );
        assert_eq!(
            parse_duration(" 1h30m "),
            Ok(std::time::Duration::from_secs(5400))
        );
        assert!(parse_duration("999999999d999999999d999999999d").is_ok());
        for hostile in ["999999999999999999d", "1000000000s", &"1d".repeat(30)] {
            let e = parse_duration(hostile).expect_err(hostile);
            assert!(e.contains("at most 9 digits"), "{e}");
        }
        assert!(parse_duration("tomorrow").is_err());
    }

    #[test]
    fn overlapping_highlights_merge() {
        assert_eq!(merge(&[3..6, 0..2, 5..9, 9..10]), vec![0..2, 3..10]);
    }
}
