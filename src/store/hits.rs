//! Hits (one per post and flagged target), their triage history and the alert outbox.
//!
//! A post's [`Analysis`] covers every target it mentions; a hit is recorded only for the
//! targets that the post's risk terms or leaked personal data are about (the matches carry
//! their target), so a post that defames one company and merely names another yields one hit.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ANY_SINK, Store, StoreError, posted_at};
use crate::analyze::{Analysis, MatchDetail};
use crate::model::Post;
use crate::model::timestamp;

/// Triage statuses a hit may take (`new` when recorded): `reviewing` (someone is on it),
/// `reported` (a takedown or disclosure request was sent), `deleted` (the post is gone),
/// `ignored` (not worth acting on).
pub const TRIAGE_STATUSES: &[&str] = &["new", "reviewing", "reported", "deleted", "ignored"];

/// One match shown with a hit: what it is and the text (personal values masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HitMatch {
    /// `target` (a mention), `risk` or `pii`.
    pub kind: String,
    /// How the mention matched (`name`, `alias`, …), the risk category and term
    /// (`defamation:詐欺`), or the personal-data kind (`phone`, `phone (watched)`).
    pub label: String,
    /// The matched text as written; personal values masked (`090-****-6789`).
    pub text: String,
    /// Which field of the post holds it (`text` = the body, `title`); absent in old rows.
    #[serde(default)]
    pub field: Option<String>,
    /// Byte offset of the match in that field; absent in old rows.
    #[serde(default)]
    pub start: Option<usize>,
    /// Byte offset one past its end.
    #[serde(default)]
    pub end: Option<usize>,
}

/// A recorded hit: a post and one target it is flagged about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    /// Row id (stable; the evidence and alerts refer to it).
    pub id: i64,
    /// The post's key.
    pub post_key: String,
    /// The source that found it.
    pub source_id: String,
    /// The target id.
    pub target: String,
    /// Categories about this target (`defamation`, `insult`, `threat`, `personal_data`).
    pub categories: Vec<String>,
    /// Personal-data kinds leaked about this target.
    pub pii: Vec<String>,
    /// Severity 0–100 of the post.
    pub severity: u8,
    /// Posted-at (RFC 3339 in JST, or as written).
    pub posted_at: Option<String>,
    /// The post's URL.
    pub url: String,
    /// The matches about this target.
    pub matches: Vec<HitMatch>,
    /// When it was recorded (RFC 3339 UTC).
    pub created_at: String,
    /// Triage status (`new`, …).
    pub status: String,
}

/// Which hits to list ([`Store::hits`]); the default lists all, newest first.
#[derive(Debug, Clone, Default)]
pub struct HitFilter {
    /// Only hits whose status is `new`.
    pub new_only: bool,
    /// Only this target.
    pub target: Option<String>,
    /// Only hits recorded at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// One triage history entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriageEntry {
    /// The hit.
    pub hit_id: i64,
    /// The status set.
    pub status: String,
    /// The note given.
    pub note: Option<String>,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// One alert delivery to make (or made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// The hit to alert about.
    pub hit_id: i64,
    /// The sink (`*` = every configured sink).
    pub sink: String,
    /// Stable key for the receiver to drop repeats: SHA-256 of post key and target.
    pub idempotency_key: String,
    /// When it was queued.
    pub created_at: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Not before this time.
    pub next_attempt_at: String,
    /// When it was delivered.
    pub sent_at: Option<String>,
}

/// A hit about to be inserted.
pub(super) struct Draft {
    target: String,
    categories: Vec<String>,
    pii: Vec<String>,
    matches: Vec<HitMatch>,
    severity: u8,
}

/// The hits a flagged post yields: one per target its risk or personal-data matches are about.
pub(super) fn drafts(analysis: &Analysis) -> Vec<Draft> {
    if !analysis.flagged {
        return Vec::new();
    }
    let mut out: Vec<Draft> = Vec::new();
    for target in &analysis.targets {
        let mut categories: Vec<String> = Vec::new();
        let mut pii: Vec<String> = Vec::new();
        let mut matches = Vec::new();
        for m in analysis
            .matches
            .iter()
            .filter(|m| m.target.as_deref() == Some(target.as_str()))
        {
            let (kind, label) = match &m.detail {
                MatchDetail::Target { how } => {
                    let how = serde_json::to_value(how)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string));
                    ("target", how.unwrap_or_else(|| "name".into()))
                }
                MatchDetail::Risk { category, term, .. } => {
                    push_once(&mut categories, category.as_str());
                    ("risk", format!("{}:{term}", category.as_str()))
                }
                MatchDetail::Pii { pii: kind, watched } => {
                    push_once(&mut categories, "personal_data");
                    push_once(&mut pii, kind.as_str());
                    (
                        "pii",
                        if *watched {
                            format!("{kind} (watched)")
                        } else {
                            kind.to_string()
                        },
                    )
                }
            };
            let field = serde_json::to_value(m.field)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string));
            matches.push(HitMatch {
                kind: kind.into(),
                label,
                text: m.text.clone(),
                field,
                start: Some(m.start),
                end: Some(m.end),
            });
        }
        if categories.is_empty() {
            continue;
        }
        categories.sort_by_key(|c| category_rank(c));
        pii.sort();
        out.push(Draft {
            target: target.clone(),
            categories,
            pii,
            matches,
            severity: analysis.severity,
        });
    }
    out
}

fn push_once(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

fn category_rank(c: &str) -> usize {
    ["defamation", "insult", "threat", "personal_data"]
        .iter()
        .position(|x| *x == c)
        .unwrap_or(9)
}

/// The idempotency key of a (post, target) alert.
pub(super) fn idempotency_key(post_key: &str, target: &str) -> String {
    let mut h = Sha256::new();
    h.update(post_key.as_bytes());
    h.update([0u8]);
    h.update(target.as_bytes());
    hex::encode(h.finalize())
}

/// Inserts a hit unless one exists for (post, target); creates its outbox row; returns it if new.
pub(super) fn insert(
    tx: &Transaction<'_>,
    path: &Path,
    source_id: &str,
    post: &Post,
    d: &Draft,
    now: &str,
) -> Result<Option<Hit>, StoreError> {
    let sq = |what| {
        let path = path.to_path_buf();
        move |source| StoreError::Sqlite { path, what, source }
    };
    let categories = to_json(path, "hit categories", &d.categories)?;
    let pii = to_json(path, "hit personal-data kinds", &d.pii)?;
    let matches = to_json(path, "hit matches", &d.matches)?;
    let posted = posted_at(post);
    let inserted = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO hits (post_key, source_id, target, categories, pii, severity, posted_at, url, matches, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(sq("cannot store hits"))?
        .execute(params![post.key, source_id, d.target, categories, pii, d.severity, posted, post.url, matches, now])
        .map_err(sq("cannot store hits"))?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox (hit_id, sink, idempotency_key, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4)",
    )
    .map_err(sq("cannot queue the alert"))?
    .execute(params![id, ANY_SINK, idempotency_key(&post.key, &d.target), now])
    .map_err(sq("cannot queue the alert"))?;
    Ok(Some(Hit {
        id,
        post_key: post.key.clone(),
        source_id: source_id.to_string(),
        target: d.target.clone(),
        categories: d.categories.clone(),
        pii: d.pii.clone(),
        severity: d.severity,
        posted_at: posted,
        url: post.url.clone(),
        matches: d.matches.clone(),
        created_at: now.to_string(),
        status: "new".into(),
    }))
}

fn to_json<T: Serialize>(path: &Path, what: &str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|source| StoreError::Json {
        path: path.to_path_buf(),
        what: what.to_string(),
        source,
    })
}

const HIT_COLUMNS: &str = "id, post_key, source_id, target, categories, pii, severity, posted_at, url, matches, created_at, status";

fn hit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hit> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let s: String = r.get(i)?;
        Ok(serde_json::from_str(&s).unwrap_or_default())
    };
    let matches: String = r.get(9)?;
    Ok(Hit {
        id: r.get(0)?,
        post_key: r.get(1)?,
        source_id: r.get(2)?,
        target: r.get(3)?,
        categories: list(4)?,
        pii: list(5)?,
        severity: r.get::<_, i64>(6)?.clamp(0, 100) as u8,
        posted_at: r.get(7)?,
        url: r.get(8)?,
        matches: serde_json::from_str(&matches).unwrap_or_default(),
        created_at: r.get(10)?,
        status: r.get(11)?,
    })
}

impl Store {
    /// Hits matching the filter, newest first.
    pub fn hits(&self, filter: &HitFilter) -> Result<Vec<Hit>, StoreError> {
        let mut sql = format!("SELECT {HIT_COLUMNS} FROM hits WHERE 1 = 1");
        let mut args: Vec<String> = Vec::new();
        if filter.new_only {
            sql.push_str(" AND status = 'new'");
        }
        if let Some(t) = &filter.target {
            args.push(t.clone());
            sql.push_str(&format!(" AND target = ?{}", args.len()));
        }
        if let Some(since) = filter.since {
            args.push(timestamp(since));
            sql.push_str(&format!(" AND created_at >= ?{}", args.len()));
        }
        sql.push_str(" ORDER BY id DESC");
        if let Some(limit) = filter.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        let conn = self.lock();
        let mut stmt = conn.prepare(&sql).map_err(self.sq("cannot read hits"))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), hit_from_row)
            .map_err(self.sq("cannot read hits"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read hits"))
    }

    /// One hit by id.
    pub fn hit(&self, id: i64) -> Result<Option<Hit>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {HIT_COLUMNS} FROM hits WHERE id = ?1"),
            [id],
            hit_from_row,
        )
        .optional()
        .map_err(self.sq("cannot read hits"))
    }

    /// Sets a hit's triage status, keeping the history (entries are never overwritten).
    pub fn set_status(
        &self,
        hit_id: i64,
        status: &str,
        note: Option<&str>,
    ) -> Result<(), StoreError> {
        if !TRIAGE_STATUSES.contains(&status) {
            return Err(StoreError::Status(status.to_string()));
        }
        let now = timestamp(Utc::now());
        let mut conn = self.lock();
        let tx = conn
            .transaction()
            .map_err(self.sq("cannot begin a transaction"))?;
        let changed = tx
            .execute(
                "UPDATE hits SET status = ?1 WHERE id = ?2",
                params![status, hit_id],
            )
            .map_err(self.sq("cannot update the hit"))?;
        if changed == 0 {
            return Err(StoreError::NoHit(hit_id));
        }
        tx.execute(
            "INSERT INTO triage (hit_id, status, note, at) VALUES (?1, ?2, ?3, ?4)",
            params![hit_id, status, note, now],
        )
        .map_err(self.sq("cannot record triage"))?;
        tx.commit().map_err(self.sq("cannot commit triage"))
    }

    /// Triage entries recorded after entry `after` (0 to start), oldest first, `limit` at a
    /// time: (entry id, post key of its hit). The search index follows this feed to keep each
    /// post's status current.
    pub fn triage_after(&self, after: i64, limit: usize) -> Result<Vec<(i64, String)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT t.id, h.post_key FROM triage t JOIN hits h ON h.id = t.hit_id
                 WHERE t.id > ?1 ORDER BY t.id LIMIT ?2",
            )
            .map_err(self.sq("cannot read triage"))?;
        let rows = stmt
            .query_map(params![after, limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(self.sq("cannot read triage"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read triage"))
    }

    /// Highest triage entry id (0 when there is none).
    pub fn last_triage_id(&self) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.query_row("SELECT coalesce(max(id), 0) FROM triage", [], |r| r.get(0))
            .map_err(self.sq("cannot read triage"))
    }

    /// The hits of one post, oldest first.
    pub fn hits_of_post(&self, post_key: &str) -> Result<Vec<Hit>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {HIT_COLUMNS} FROM hits WHERE post_key = ?1 ORDER BY id"
            ))
            .map_err(self.sq("cannot read hits"))?;
        let rows = stmt
            .query_map([post_key], hit_from_row)
            .map_err(self.sq("cannot read hits"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read hits"))
    }

    /// A hit's triage history, oldest first.
    pub fn triage(&self, hit_id: i64) -> Result<Vec<TriageEntry>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT hit_id, status, note, at FROM triage WHERE hit_id = ?1 ORDER BY id",
            )
            .map_err(self.sq("cannot read triage"))?;
        let rows = stmt
            .query_map([hit_id], |r| {
                Ok(TriageEntry {
                    hit_id: r.get(0)?,
                    status: r.get(1)?,
                    note: r.get(2)?,
                    at: r.get(3)?,
                })
            })
            .map_err(self.sq("cannot read triage"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read triage"))
    }

    /// Outbox rows not yet sent whose next attempt is due at `now`, oldest first.
    pub fn outbox_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_query(
            "WHERE sent_at IS NULL AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2",
            params![timestamp(now), limit as i64],
        )
    }

    /// Every outbox row, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_query("ORDER BY id", params![])
    }

    fn outbox_query(
        &self,
        tail: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let conn = self.lock();
        let sql = format!(
            "SELECT id, hit_id, sink, idempotency_key, created_at, attempts, next_attempt_at, sent_at FROM outbox {tail}"
        );
        let mut stmt = conn
            .prepare_cached(&sql)
            .map_err(self.sq("cannot read the outbox"))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    hit_id: r.get(1)?,
                    sink: r.get(2)?,
                    idempotency_key: r.get(3)?,
                    created_at: r.get(4)?,
                    attempts: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                    sent_at: r.get(7)?,
                })
            })
            .map_err(self.sq("cannot read the outbox"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read the outbox"))
    }

    /// Turns every undelivered "any sink" row into one row per sink in `sinks` (idempotency key
    /// = SHA-256 of the hit's key and the sink name, so two sinks posting to one receiver stay
    /// apart; a row that exists is kept) and marks the "any sink" row done, in one transaction:
    /// a hit is queued for each configured sink exactly once.
    pub fn outbox_expand(&self, sinks: &[String], now: DateTime<Utc>) -> Result<usize, StoreError> {
        let now = timestamp(now);
        let mut conn = self.lock();
        let tx = conn
            .transaction()
            .map_err(self.sq("cannot begin a transaction"))?;
        let rows: Vec<(i64, i64, String)> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id, hit_id, idempotency_key FROM outbox WHERE sink = ?1 AND sent_at IS NULL ORDER BY id",
                )
                .map_err(self.sq("cannot read the outbox"))?;
            let found = stmt
                .query_map([ANY_SINK], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(self.sq("cannot read the outbox"))?;
            found
                .collect::<Result<_, _>>()
                .map_err(self.sq("cannot read the outbox"))?
        };
        for (id, hit_id, key) in &rows {
            for sink in sinks {
                let sink_key = hex::encode(Sha256::digest(format!("{key}\n{sink}").as_bytes()));
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (hit_id, sink, idempotency_key, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![hit_id, sink, sink_key, now],
                )
                .map_err(self.sq("cannot queue an alert"))?;
            }
            tx.execute(
                "UPDATE outbox SET sent_at = ?2 WHERE id = ?1",
                params![id, now],
            )
            .map_err(self.sq("cannot update the outbox"))?;
        }
        tx.commit().map_err(self.sq("cannot commit the outbox"))?;
        Ok(rows.len())
    }

    /// Marks an outbox row delivered.
    pub fn outbox_sent(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1 WHERE id = ?1 AND sent_at IS NULL",
            params![id, timestamp(at)],
        )
        .map_err(self.sq("cannot update the outbox"))?;
        Ok(())
    }

    /// Records a failed delivery and when to try again.
    pub fn outbox_retry(&self, id: i64, next: DateTime<Utc>) -> Result<(), StoreError> {
        let conn = self.lock();
        conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1 AND sent_at IS NULL",
            params![id, timestamp(next)],
        )
        .map_err(self.sq("cannot update the outbox"))?;
        Ok(())
    }
}
