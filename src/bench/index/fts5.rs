//! The peer of the index benchmark: SQLite FTS5 with the trigram tokenizer (rusqlite's bundled
//! SQLite is built with FTS5), loaded with the same posts and asked the same queries.
//!
//! `fts(title, body)` is an FTS5 table with `tokenize='trigram'`; the filter fields live in a
//! regular table `posts` (rowid = the FTS rowid) and two `WITHOUT ROWID` tables for the
//! multi-valued targets and categories, all joined by rowid. A query is translated as the FTS5
//! documentation recommends: words and phrases of three letters or more become a `MATCH`
//! (ranked by `bm25`, shown with `snippet()`); the trigram index cannot match shorter strings,
//! so a two-letter word becomes `LIKE '%…%'` over title and body, a scan of every row, ranked
//! by recency and shown with a `substr` around the first occurrence. Trigram matching is
//! literal (it folds ASCII case only), so a kana reading finds kana text only.

use std::path::{Path, PathBuf};

use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::posts::BenchPost;
use super::{BenchQuery, IndexBenchError, Words};
use crate::index::PostMeta;

/// An FTS5 database being loaded or queried.
pub struct Fts5 {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Fts5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fts5")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One translated query: the SQL for the top results and for the count, with parameters.
#[derive(Debug, Clone)]
pub struct Translated {
    /// `SELECT post_key, snippet … LIMIT ?`.
    pub top: String,
    /// `SELECT count(*) …`.
    pub count: String,
    /// Parameters of both (`top` takes [`Translated::snippet_param`] and the limit after them).
    pub params: Vec<Value>,
    /// The word `top` shows the first occurrence of when there is no MATCH.
    pub snippet_param: Option<Value>,
    /// Whether a `LIKE` scan stands in for a word the trigram index cannot match.
    pub like: bool,
    /// The WHERE clause as run, for the report.
    pub shown: String,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    post_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    host TEXT,
    url TEXT NOT NULL,
    author TEXT,
    author_id TEXT,
    posted_at INTEGER NOT NULL,
    severity INTEGER NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX posts_source ON posts (source, posted_at);
CREATE INDEX posts_time ON posts (posted_at);
CREATE TABLE post_target (target TEXT NOT NULL, post INTEGER NOT NULL, PRIMARY KEY (target, post)) WITHOUT ROWID;
CREATE TABLE post_category (category TEXT NOT NULL, post INTEGER NOT NULL, PRIMARY KEY (category, post)) WITHOUT ROWID;
CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'trigram');
";

fn sq(path: &Path, what: &'static str) -> impl FnOnce(rusqlite::Error) -> IndexBenchError {
    let path = path.to_path_buf();
    move |source| IndexBenchError::Sqlite { path, what, source }
}

impl Fts5 {
    /// Creates an empty database at `path` (which must not exist).
    pub fn create(path: &Path) -> Result<Fts5, IndexBenchError> {
        let conn = Connection::open(path).map_err(sq(path, "cannot create the database"))?;
        conn.execute_batch(SCHEMA)
            .map_err(sq(path, "cannot create the FTS5 tables"))?;
        Ok(Fts5 {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Loads `posts` (with `metas`, in the same order), one transaction per `batch` posts,
    /// then checkpoints the WAL into the database file.
    pub fn ingest(
        &mut self,
        posts: &[BenchPost],
        metas: &[PostMeta],
        batch: usize,
    ) -> Result<(), IndexBenchError> {
        let path = self.path.clone();
        for (chunk_no, chunk) in posts.chunks(batch.max(1)).enumerate() {
            let tx = self
                .conn
                .transaction()
                .map_err(sq(&path, "cannot begin a transaction"))?;
            {
                let mut post_stmt = tx
                    .prepare_cached(
                        "INSERT INTO posts (id, post_key, source, host, url, author, author_id, posted_at, severity, status)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    )
                    .map_err(sq(&path, "cannot prepare the insert"))?;
                let mut fts_stmt = tx
                    .prepare_cached("INSERT INTO fts (rowid, title, body) VALUES (?1, ?2, ?3)")
                    .map_err(sq(&path, "cannot prepare the insert"))?;
                let mut target_stmt = tx
                    .prepare_cached("INSERT INTO post_target (target, post) VALUES (?1, ?2)")
                    .map_err(sq(&path, "cannot prepare the insert"))?;
                let mut category_stmt = tx
                    .prepare_cached("INSERT INTO post_category (category, post) VALUES (?1, ?2)")
                    .map_err(sq(&path, "cannot prepare the insert"))?;
                for (i, p) in chunk.iter().enumerate() {
                    let n = chunk_no * batch.max(1) + i;
                    let id = n as i64 + 1;
                    let meta = &metas[n];
                    let post = &p.post;
                    let host = url::Url::parse(&post.url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string));
                    let posted = post
                        .posted_at
                        .map_or(post.fetched_at.timestamp(), |t| t.timestamp());
                    post_stmt
                        .execute(params![
                            id,
                            post.key,
                            post.source_kind,
                            host,
                            post.url,
                            post.author_name,
                            post.author_id,
                            posted,
                            meta.severity,
                            meta.status.as_deref().unwrap_or(crate::index::NO_STATUS),
                        ])
                        .map_err(sq(&path, "cannot insert a post"))?;
                    fts_stmt
                        .execute(params![id, post.thread_title, post.body])
                        .map_err(sq(&path, "cannot insert into fts"))?;
                    for t in &meta.targets {
                        target_stmt
                            .execute(params![t, id])
                            .map_err(sq(&path, "cannot insert a target"))?;
                    }
                    for c in &meta.categories {
                        category_stmt
                            .execute(params![c, id])
                            .map_err(sq(&path, "cannot insert a category"))?;
                    }
                }
            }
            tx.commit().map_err(sq(&path, "cannot commit"))?;
        }
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(sq(&path, "cannot checkpoint the WAL"))
    }

    /// Bytes on disk: the database file and its WAL.
    pub fn size_bytes(&self) -> u64 {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            total += std::fs::metadata(&p).map_or(0, |m| m.len());
        }
        total
    }

    /// Runs `t`: the best `limit` posts as (post key, snippet).
    pub fn search(
        &self,
        t: &Translated,
        limit: usize,
    ) -> Result<Vec<(String, String)>, IndexBenchError> {
        let mut stmt = self
            .conn
            .prepare_cached(&t.top)
            .map_err(sq(&self.path, "cannot prepare a query"))?;
        let mut params = t.params.clone();
        params.extend(t.snippet_param.clone());
        params.push(Value::Integer(limit as i64));
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sq(&self.path, "query failed"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(sq(&self.path, "query failed"))
    }

    /// How many posts `t` matches.
    pub fn count(&self, t: &Translated) -> Result<u64, IndexBenchError> {
        let mut stmt = self
            .conn
            .prepare_cached(&t.count)
            .map_err(sq(&self.path, "cannot prepare a count"))?;
        stmt.query_row(rusqlite::params_from_iter(t.params.clone()), |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
        .map_err(sq(&self.path, "count failed"))
    }
}

/// `"…"` for FTS5, doubling any quote inside.
fn fts_string(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `%…%` for LIKE, escaping its wildcards with `\`.
fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Translates `q` to FTS5 SQL (see the module header for the rules).
pub fn translate(q: &BenchQuery, since_epoch: Option<i64>) -> Translated {
    let short = |w: &str| w.chars().count() < 3;
    let mut matches: Vec<String> = Vec::new();
    let mut likes: Vec<Vec<String>> = Vec::new(); // OR-groups of words, ANDed
    match &q.words {
        Words::All(words) => {
            for w in *words {
                if short(w) {
                    likes.push(vec![(*w).to_string()]);
                } else {
                    matches.push(fts_string(w));
                }
            }
        }
        Words::Phrase(p) => {
            if short(p) {
                likes.push(vec![(*p).to_string()]);
            } else {
                matches.push(fts_string(p));
            }
        }
        Words::Any(words) => {
            if words.iter().any(|w| short(w)) {
                likes.push(words.iter().map(|w| (*w).to_string()).collect());
            } else {
                let any: Vec<String> = words.iter().map(|w| fts_string(w)).collect();
                matches.push(format!("({})", any.join(" OR ")));
            }
        }
    }
    let mut where_: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut add = |clause: String, shown_clause: String, values: Vec<Value>| {
        let mut clause = clause;
        for v in values {
            params.push(v);
            clause = clause.replacen("{}", &format!("?{}", params.len()), 1);
        }
        where_.push(clause);
        shown.push(shown_clause);
    };
    let has_match = !matches.is_empty();
    if has_match {
        let m = matches.join(" AND ");
        add(
            "fts MATCH {}".into(),
            format!("fts MATCH '{m}'"),
            vec![Value::Text(m)],
        );
    }
    for group in &likes {
        let mut clause = Vec::new();
        let mut shown_clause = Vec::new();
        let mut values = Vec::new();
        for w in group {
            let pat = like_pattern(w);
            clause.push("fts.title LIKE {} ESCAPE '\\' OR fts.body LIKE {} ESCAPE '\\'");
            shown_clause.push(format!("LIKE '{pat}'"));
            values.push(Value::Text(pat.clone()));
            values.push(Value::Text(pat));
        }
        add(
            format!("({})", clause.join(" OR ")),
            shown_clause.join(" OR "),
            values,
        );
    }
    if let Some(t) = q.target {
        add(
            "p.id IN (SELECT post FROM post_target WHERE target = {})".into(),
            format!("target = '{t}'"),
            vec![Value::Text(t.into())],
        );
    }
    if let Some(c) = q.category {
        add(
            "p.id IN (SELECT post FROM post_category WHERE category = {})".into(),
            format!("category = '{c}'"),
            vec![Value::Text(c.into())],
        );
    }
    // With a MATCH, `+` keeps SQLite from driving the query by the posts indexes and
    // testing MATCH row by row (hundreds of ms); the FTS index goes first, as one would write it.
    let plus = if has_match { "+" } else { "" };
    if let Some(s) = q.source {
        add(
            format!("{plus}p.source = {{}}"),
            format!("source = '{s}'"),
            vec![Value::Text(s.into())],
        );
    }
    if let Some(since) = since_epoch {
        add(
            format!("{plus}p.posted_at >= {{}}"),
            format!("posted_at >= -{}d", q.since_days.unwrap_or(0)),
            vec![Value::Integer(since)],
        );
    }
    let from = "FROM fts JOIN posts p ON p.id = fts.rowid";
    let cond = if where_.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", where_.join(" AND "))
    };
    let mut snippet_param = None;
    let (snippet, order) = if has_match {
        (
            "snippet(fts, -1, '«', '»', '…', 24)".to_string(),
            "ORDER BY bm25(fts)".to_string(),
        )
    } else {
        // No MATCH: bm25() and snippet() are not available; show the first occurrence.
        let first = likes
            .first()
            .and_then(|g| g.first())
            .cloned()
            .unwrap_or_default();
        snippet_param = Some(Value::Text(first));
        let n = params.len() + 1;
        (
            format!("substr(fts.body, max(1, instr(fts.body, ?{n}) - 30), 80)"),
            "ORDER BY p.posted_at DESC".to_string(),
        )
    };
    let limit = params.len() + 1 + usize::from(snippet_param.is_some());
    Translated {
        top: format!("SELECT p.post_key, {snippet} {from} {cond} {order} LIMIT ?{limit}"),
        count: format!("SELECT count(*) {from} {cond}"),
        params,
        snippet_param,
        like: !likes.is_empty(),
        shown: shown.join(" AND "),
    }
}
