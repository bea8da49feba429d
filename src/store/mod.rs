//! SQLite state in `<data>/state.sqlite`: per-source cursors and health, seen post keys, the
//! posts that mention a target, hits, triage history, the alert outbox and suggestion sets.
//!
//! Why one transaction per poll: a hit must be recorded exactly once per (post, target), and a
//! kill -9 may come at any instant. [`Store::commit_poll`] writes the seen keys, posts, hits,
//! outbox rows and the advanced cursors of one poll together, so after a crash either all of a
//! poll is stored or none of it is — and then the next poll re-reads from the old cursor and
//! the seen table drops what was already processed. `INSERT OR IGNORE` on `(post_key, target)`
//! makes a re-run harmless even if two pollers ever raced. Outbox rows are created in the same
//! transaction as their hit, so the alerts stage delivers from a durable queue.
//!
//! The database runs in WAL mode (readers such as `mimamori hits` do not block the crawler)
//! with `synchronous = FULL` (a committed poll survives power loss, not only a crash) and a
//! busy timeout. The schema is versioned: [`MIGRATIONS`] are applied in order at open.
//!
//! Everything here is blocking I/O: async callers go through `spawn_blocking`.

mod health;
mod hits;
mod readonly;
mod recheck;
mod schema;
mod spread;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use rusqlite::{Connection, OptionalExtension, params};

use crate::analyze::Analysis;
use crate::model::Post;
pub use crate::model::timestamp;
use crate::sources::{CursorUpdate, Cursors};
pub use health::{HealthDue, HealthEvent, HealthPolicy, PollHealth};
pub use hits::{Hit, HitFilter, HitMatch, OutboxRow, TRIAGE_STATUSES, TriageEntry};
pub use readonly::write_protected;
pub use recheck::{DueCheck, PostCheck, RecheckRow};
pub use schema::{MIGRATIONS, SCHEMA_VERSION};
pub use spread::{SpreadInfo, SpreadMember, WINDOW_DAYS};

use crate::spread::Sketch;

/// A stored post as the search index reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPost {
    /// Row id in the posts table (increases with every stored post).
    pub rowid: i64,
    /// The post.
    pub post: Post,
    /// Target ids the post mentions (flagged or not), as analyzed when it was stored.
    pub targets: Vec<String>,
}

/// File name of the state database inside the data directory.
pub const STATE_FILE: &str = "state.sqlite";

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Sink name of outbox rows created with a hit: "every configured sink" (the alerts stage
/// expands it).
pub const ANY_SINK: &str = "*";

/// What went wrong with the state database; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("{path}: cannot create the data directory: {source} (pass another --data DIR)")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("{path}: {what}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer mimamori.
    #[error(
        "{path}: schema version {found} is newer than this mimamori knows ({known}); upgrade mimamori"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A stored or given value could not be encoded or decoded as JSON.
    #[error("{path}: {what}: {source}")]
    Json {
        /// The database file.
        path: PathBuf,
        /// What was being encoded or decoded.
        what: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// A triage status that is not one of [`TRIAGE_STATUSES`].
    #[error("unknown triage status {0:?} (use one of: new, reviewing, reported, deleted, ignored)")]
    Status(String),
    /// No hit with this id.
    #[error("no hit with id {0}")]
    NoHit(i64),
    /// There is no state database in the directory.
    #[error(
        "{path}: no state database here (is --data right? run `mimamori watch` or `mimamori demo --data DIR` first)"
    )]
    NoState {
        /// The database file looked for.
        path: PathBuf,
    },
    /// A read-only open found a database that needs migrating first.
    #[error(
        "{path}: schema version {found} is older than this mimamori's ({expected}) and the data directory is opened read-only; run any mimamori command with write access to it once (e.g. `mimamori hits`) to upgrade it"
    )]
    Outdated {
        /// The database file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Version this build needs.
        expected: i64,
    },
    /// A blocking state task panicked or was cancelled.
    #[error("state task failed: {0}")]
    Task(String),
}

/// Health and counters of one source, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceState {
    /// The source id (`kind:url`).
    pub source_id: String,
    /// Start of the last poll that finished (ok or not), RFC 3339 UTC.
    pub last_poll: Option<String>,
    /// Last successful poll.
    pub last_ok: Option<String>,
    /// Last error message.
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<String>,
    /// Errors in a row since the last success.
    pub consecutive_errors: i64,
    /// Polls done.
    pub polls: i64,
    /// Polls that failed.
    pub errors: i64,
    /// New posts stored.
    pub posts: i64,
    /// New hits recorded.
    pub hits: i64,
    /// Requests made.
    pub requests: i64,
    /// Bytes fetched.
    pub bytes: i64,
    /// Notes of the last successful poll (skipped items, dat落ち…).
    pub last_notes: Vec<String>,
}

impl SourceState {
    /// True when the last poll failed.
    pub fn failing(&self) -> bool {
        self.consecutive_errors > 0
    }
}

/// The state database. Share one per process (`Arc<Store>`); calls are serialized.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `<dir>/state.sqlite` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(STATE_FILE);
        let sq = |what| {
            let path = path.clone();
            move |source| StoreError::Sqlite { path, what, source }
        };
        let mut conn = Connection::open(&path).map_err(sq("cannot open"))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(sq("cannot set the busy timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sq("cannot switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode = %mode, "state database is not in WAL mode");
        }
        conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(sq("cannot set pragmas"))?;
        schema::migrate(&mut conn, &path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        match self.conn.lock() {
            Ok(c) => c,
            // A panic while holding the lock rolled its transaction back (Drop); the
            // connection itself is fine.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn sq(&self, what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite {
            path: self.path.clone(),
            what,
            source,
        }
    }

    fn json_err(&self, what: String) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
        move |source| StoreError::Json {
            path: self.path.clone(),
            what,
            source,
        }
    }

    /// The saved cursors of a source.
    pub fn load_cursors(&self, source_id: &str) -> Result<Cursors, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT key, value FROM cursors WHERE source_id = ?1")
            .map_err(self.sq("cannot read cursors"))?;
        let rows = stmt
            .query_map([source_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(self.sq("cannot read cursors"))?;
        let mut out = Cursors::new();
        for row in rows {
            let (key, value) = row.map_err(self.sq("cannot read cursors"))?;
            let value = serde_json::from_str(&value)
                .map_err(self.json_err(format!("cursor {source_id} {key}")))?;
            out.insert(key, value);
        }
        Ok(out)
    }

    /// The keys among `keys` that were never committed, in order, each once.
    pub fn filter_unseen<S: AsRef<str>>(&self, keys: &[S]) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached("SELECT 1 FROM seen WHERE post_key = ?1")
            .map_err(self.sq("cannot read seen keys"))?;
        let mut taken = HashSet::new();
        let mut out = Vec::new();
        for key in keys {
            let key = key.as_ref();
            if !taken.insert(key) {
                continue;
            }
            let seen = stmt
                .exists([key])
                .map_err(self.sq("cannot read seen keys"))?;
            if !seen {
                out.push(key.to_string());
            }
        }
        Ok(out)
    }

    /// Stores one poll in a single transaction: seen keys, the posts that mention a target,
    /// one hit per (post, flagged target) with its outbox row, the cursor updates and the
    /// source's counters. Returns the hits that were newly inserted (a hit already stored is
    /// not returned again).
    pub fn commit_poll(
        &self,
        source_id: &str,
        cursor_updates: &[CursorUpdate],
        posts: &[(Post, Analysis)],
        notes: &[String],
    ) -> Result<Vec<Hit>, StoreError> {
        let now_t = Utc::now();
        let now = timestamp(now_t);
        let notes_json =
            serde_json::to_string(notes).map_err(self.json_err("poll notes".into()))?;
        let mut conn = self.lock();
        let tx = conn
            .transaction()
            .map_err(self.sq("cannot begin a transaction"))?;
        let mut new_hits = Vec::new();
        let mut new_posts = 0i64;
        {
            let mut seen = tx
                .prepare_cached("INSERT OR IGNORE INTO seen (post_key, source_id, first_seen) VALUES (?1, ?2, ?3)")
                .map_err(self.sq("cannot store seen keys"))?;
            let mut store_post = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO posts (post_key, source_id, url, posted_at, fetched_at, json, targets)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(self.sq("cannot store posts"))?;
            for (post, analysis) in posts {
                new_posts +=
                    seen.execute(params![post.key, source_id, now])
                        .map_err(self.sq("cannot store seen keys"))? as i64;
                if analysis.targets.is_empty() {
                    continue;
                }
                let json = serde_json::to_string(post)
                    .map_err(self.json_err(format!("post {}", post.key)))?;
                let targets = serde_json::to_string(&analysis.targets)
                    .map_err(self.json_err(format!("targets of post {}", post.key)))?;
                store_post
                    .execute(params![
                        post.key,
                        source_id,
                        post.url,
                        posted_at(post),
                        timestamp(post.fetched_at),
                        json,
                        targets
                    ])
                    .map_err(self.sq("cannot store posts"))?;
                let drafts = hits::drafts(analysis);
                if drafts.is_empty() {
                    continue;
                }
                let sketch = Sketch::of(&post.body);
                spread::store_sketch(&tx, &self.path, &post.key, &sketch)?;
                for draft in drafts {
                    if let Some(mut hit) =
                        hits::insert(&tx, &self.path, source_id, post, &draft, &now)?
                    {
                        spread::link(&tx, &self.path, &mut hit, &sketch, now_t)?;
                        new_hits.push(hit);
                    }
                }
            }
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO cursors (source_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (source_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .map_err(self.sq("cannot store cursors"))?;
            let mut del = tx
                .prepare_cached("DELETE FROM cursors WHERE source_id = ?1 AND key = ?2")
                .map_err(self.sq("cannot store cursors"))?;
            for u in cursor_updates {
                match &u.value {
                    Some(v) => {
                        let v = serde_json::to_string(v)
                            .map_err(self.json_err(format!("cursor {source_id} {}", u.key)))?;
                        put.execute(params![source_id, u.key, v, now])
                            .map_err(self.sq("cannot store cursors"))?;
                    }
                    None => {
                        del.execute(params![source_id, u.key])
                            .map_err(self.sq("cannot store cursors"))?;
                    }
                }
            }
            tx.execute(
                "INSERT INTO source_state (source_id, last_poll, last_ok, polls, posts, hits, consecutive_errors, last_notes)
                 VALUES (?1, ?2, ?2, 1, ?3, ?4, 0, ?5)
                 ON CONFLICT (source_id) DO UPDATE SET last_poll = ?2, last_ok = ?2, polls = polls + 1,
                   posts = posts + ?3, hits = hits + ?4, consecutive_errors = 0, last_notes = ?5",
                params![source_id, now, new_posts, new_hits.len() as i64, notes_json],
            )
            .map_err(self.sq("cannot update source state"))?;
        }
        tx.commit().map_err(self.sq("cannot commit the poll"))?;
        Ok(new_hits)
    }

    /// Adds a poll's request and byte counts to the source's counters.
    pub fn record_traffic(
        &self,
        source_id: &str,
        requests: u64,
        bytes: u64,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO source_state (source_id, requests, bytes) VALUES (?1, ?2, ?3)
             ON CONFLICT (source_id) DO UPDATE SET requests = requests + ?2, bytes = bytes + ?3",
            params![source_id, requests as i64, bytes as i64],
        )
        .map_err(self.sq("cannot update source state"))?;
        Ok(())
    }

    /// Records a failed poll of a source (shown in its health); its cursors are unchanged.
    pub fn record_error(&self, source_id: &str, error: &str) -> Result<(), StoreError> {
        let now = timestamp(Utc::now());
        let conn = self.lock();
        conn.execute(
            "INSERT INTO source_state (source_id, last_poll, last_error, last_error_at, polls, errors, consecutive_errors)
             VALUES (?1, ?2, ?3, ?2, 1, 1, 1)
             ON CONFLICT (source_id) DO UPDATE SET last_poll = ?2, last_error = ?3, last_error_at = ?2,
               polls = polls + 1, errors = errors + 1, consecutive_errors = consecutive_errors + 1",
            params![source_id, now, error],
        )
        .map_err(self.sq("cannot record a source error"))?;
        Ok(())
    }

    /// Every source's state, by id.
    pub fn source_states(&self) -> Result<Vec<SourceState>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT source_id, last_poll, last_ok, last_error, last_error_at, consecutive_errors, polls, errors,
                        posts, hits, requests, bytes, last_notes
                 FROM source_state ORDER BY source_id",
            )
            .map_err(self.sq("cannot read source state"))?;
        let rows = stmt
            .query_map([], |r| {
                let notes: Option<String> = r.get(12)?;
                Ok(SourceState {
                    source_id: r.get(0)?,
                    last_poll: r.get(1)?,
                    last_ok: r.get(2)?,
                    last_error: r.get(3)?,
                    last_error_at: r.get(4)?,
                    consecutive_errors: r.get(5)?,
                    polls: r.get(6)?,
                    errors: r.get(7)?,
                    posts: r.get(8)?,
                    hits: r.get(9)?,
                    requests: r.get(10)?,
                    bytes: r.get(11)?,
                    last_notes: notes
                        .and_then(|n| serde_json::from_str(&n).ok())
                        .unwrap_or_default(),
                })
            })
            .map_err(self.sq("cannot read source state"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read source state"))
    }

    /// A stored post (only posts that mention a target are stored).
    pub fn post(&self, key: &str) -> Result<Option<Post>, StoreError> {
        let conn = self.lock();
        let json: Option<String> = conn
            .query_row("SELECT json FROM posts WHERE post_key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sq("cannot read posts"))?;
        json.map(|j| serde_json::from_str(&j).map_err(self.json_err(format!("post {key}"))))
            .transpose()
    }

    /// Stored posts in insertion order, `limit` at a time after row `after` (0 to start),
    /// with their row ids and the targets they mention: what the search index is built from.
    pub fn posts_after(&self, after: i64, limit: usize) -> Result<Vec<StoredPost>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT rowid, post_key, json, targets FROM posts WHERE rowid > ?1 ORDER BY rowid LIMIT ?2",
            )
            .map_err(self.sq("cannot read posts"))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(self.sq("cannot read posts"))?;
        let mut out = Vec::new();
        for row in rows {
            let (rowid, key, json, targets) = row.map_err(self.sq("cannot read posts"))?;
            out.push(StoredPost {
                rowid,
                post: serde_json::from_str(&json).map_err(self.json_err(format!("post {key}")))?,
                targets: serde_json::from_str(&targets)
                    .map_err(self.json_err(format!("targets of post {key}")))?,
            });
        }
        Ok(out)
    }

    /// The stored post `key` with its row id and targets.
    pub fn stored_post(&self, key: &str) -> Result<Option<StoredPost>, StoreError> {
        let rowid: Option<i64> = {
            let conn = self.lock();
            conn.query_row("SELECT rowid FROM posts WHERE post_key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(self.sq("cannot read posts"))?
        };
        let Some(rowid) = rowid else { return Ok(None) };
        Ok(self.posts_after(rowid - 1, 1)?.into_iter().next())
    }

    /// Highest row id of the posts table (0 when empty).
    pub fn last_post_rowid(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.query_row("SELECT coalesce(max(rowid), 0) FROM posts", [], |r| {
            r.get(0)
        })
        .map_err(self.sq("cannot read posts"))
    }

    /// Number of stored posts (those that mention a target), for `reindex`'s progress.
    pub fn post_count(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM posts", [], |r| r.get(0))
            .map_err(self.sq("cannot count posts"))?;
        Ok(n.max(0) as u64)
    }

    /// Number of seen post keys.
    pub fn seen_count(&self) -> Result<u64, StoreError> {
        let conn = self.lock();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM seen", [], |r| r.get(0))
            .map_err(self.sq("cannot count seen keys"))?;
        Ok(n as u64)
    }

    /// Stores one day's suggestion set for an engine and query (replacing that day's).
    pub fn save_suggestions(
        &self,
        engine: &str,
        query: &str,
        day: &str,
        suggestions: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(suggestions)
            .map_err(self.json_err(format!("suggestions for {query:?}")))?;
        let conn = self.lock();
        conn.execute(
            "INSERT INTO suggestions (engine, query, day, json) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (engine, query, day) DO UPDATE SET json = excluded.json",
            params![engine, query, day, json],
        )
        .map_err(self.sq("cannot store suggestions"))?;
        Ok(())
    }

    /// The suggestion set stored for an engine, query and day (`YYYY-MM-DD`).
    pub fn suggestions(
        &self,
        engine: &str,
        query: &str,
        day: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let conn = self.lock();
        let json: Option<String> = conn
            .query_row(
                "SELECT json FROM suggestions WHERE engine = ?1 AND query = ?2 AND day = ?3",
                params![engine, query, day],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sq("cannot read suggestions"))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(self.json_err(format!("suggestions for {query:?}")))
        })
        .transpose()
    }
}

/// The post time as stored: parsed RFC 3339 (JST offset kept), else as written.
fn posted_at(post: &Post) -> Option<String> {
    post.posted_at
        .map(|t| t.to_rfc3339())
        .or_else(|| post.posted_at_raw.clone())
}
