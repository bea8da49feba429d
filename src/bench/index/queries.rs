//! The fixed query set of `bench index`: names, phrases, kana readings, words and filtered
//! queries, each written once and translated for both engines (`mimamori search` syntax here,
//! FTS5 in `fts5`).

use chrono::{DateTime, Utc};

use super::{LIMIT, posts};
use crate::index::search::SearchRequest;

/// How the words of a query combine (the same on both engines).
#[derive(Debug, Clone, Copy)]
pub enum Words {
    /// Every word (Tantivy: `a b`; FTS5: `"a" AND "b"`).
    All(&'static [&'static str]),
    /// One phrase (Tantivy: `"ab"`; FTS5: `"ab"`).
    Phrase(&'static str),
    /// Any word (Tantivy: `a OR b`; FTS5: `"a" OR "b"`).
    Any(&'static [&'static str]),
}

/// One benchmark query.
#[derive(Debug, Clone, Copy)]
pub struct BenchQuery {
    /// Query class for the summary.
    pub class: &'static str,
    /// The words.
    pub words: Words,
    /// `--target`.
    pub target: Option<&'static str>,
    /// `--category`.
    pub category: Option<&'static str>,
    /// `--source`.
    pub source: Option<&'static str>,
    /// `--since`, in days before the newest post.
    pub since_days: Option<i64>,
}

const fn q(class: &'static str, words: Words) -> BenchQuery {
    BenchQuery {
        class,
        words,
        target: None,
        category: None,
        source: None,
        since_days: None,
    }
}

/// Query classes, in report order.
pub const CLASSES: &[&str] = &["name", "phrase", "kana", "word", "filter"];

/// The fixed query set.
pub const QUERIES: &[BenchQuery] = &[
    q("name", Words::All(&["山田商事"])),
    q("name", Words::All(&["田中花子"])),
    q("name", Words::All(&["日之出フーズ"])),
    q("name", Words::All(&["黒木誠一郎"])),
    q("name", Words::All(&["ヤマダ商事"])),
    q("name", Words::All(&["さくら軒"])),
    q("phrase", Words::Phrase("山田商事は詐欺")),
    q("phrase", Words::Phrase("田中花子の電話番号")),
    q("phrase", Words::Phrase("社員全員ゴミ")),
    q("phrase", Words::Phrase("詐欺会社")),
    q("kana", Words::All(&["やまだ"])),
    q("kana", Words::All(&["たなか"])),
    q("kana", Words::All(&["くろき"])),
    q("kana", Words::All(&["ひので"])),
    q("word", Words::All(&["詐欺"])),
    q("word", Words::All(&["倒産"])),
    q("word", Words::All(&["ラーメン"])),
    q("word", Words::All(&["残業"])),
    q("word", Words::Any(&["詐欺", "倒産"])),
    q("word", Words::All(&["山田商事", "詐欺"])),
    BenchQuery {
        target: Some("yamada"),
        ..q("filter", Words::All(&["詐欺"]))
    },
    BenchQuery {
        category: Some("defamation"),
        ..q("filter", Words::All(&["山田商事"]))
    },
    BenchQuery {
        source: Some("shitaraba"),
        ..q("filter", Words::All(&["ラーメン"]))
    },
    BenchQuery {
        since_days: Some(7),
        ..q("filter", Words::All(&["残業"]))
    },
    BenchQuery {
        source: Some("5ch"),
        since_days: Some(30),
        ..q("filter", Words::All(&["田中花子"]))
    },
    BenchQuery {
        target: Some("tanaka"),
        category: Some("personal_data"),
        ..q("filter", Words::All(&["電話番号"]))
    },
];

impl BenchQuery {
    /// The query in `mimamori search` syntax.
    pub fn tantivy(&self) -> String {
        match self.words {
            Words::All(w) => w.join(" "),
            Words::Phrase(p) => format!("\"{p}\""),
            Words::Any(w) => w.join(" OR "),
        }
    }

    /// The filters as `mimamori search` options.
    pub fn filters(&self) -> String {
        let mut out = Vec::new();
        if let Some(t) = self.target {
            out.push(format!("--target {t}"));
        }
        if let Some(c) = self.category {
            out.push(format!("--category {c}"));
        }
        if let Some(s) = self.source {
            out.push(format!("--source {s}"));
        }
        if let Some(d) = self.since_days {
            out.push(format!("--since {d}d"));
        }
        out.join(" ")
    }

    /// `--since` as a time: `since_days` before the newest post.
    pub(super) fn since(&self) -> Option<DateTime<Utc>> {
        self.since_days
            .map(|d| posts::corpus_end() - chrono::Duration::days(d))
    }

    /// The query as mimamori runs it.
    pub(super) fn request(&self) -> SearchRequest {
        SearchRequest {
            query: self.tantivy(),
            target: self.target.map(str::to_string),
            category: self.category.map(str::to_string),
            source: self.source.map(str::to_string),
            since: self.since(),
            until: None,
            limit: LIMIT,
        }
    }
}
