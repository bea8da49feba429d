//! Spread links between hits (see [`crate::spread`]): each flagged post's shingle sketch is
//! stored with its hits, and a new hit whose post copies an earlier hit's post about the same
//! target — on another source or thread, within [`WINDOW_DAYS`] — is linked to the *first*
//! hit of that chain. Both gain [`SEVERITY_BOOST`] once. The search index shows the first
//! hit's raised severity after its next re-index (a triage change or `mimamori reindex`):
//! the index follows post row ids, and a re-stored row would be read as a new post.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Hit, Store, StoreError};
use crate::model::timestamp;
use crate::spread::{SEVERITY_BOOST, Sketch, thread_of};

/// How far back a copy is looked for (the access-log window: older posts' logs are gone).
pub const WINDOW_DAYS: i64 = 180;
/// Candidates compared per new hit (the newest first).
const CANDIDATES: usize = 2000;

/// One hit of a spread chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadMember {
    /// The hit.
    pub hit_id: i64,
    /// Its post.
    pub post_key: String,
    /// The source that found it.
    pub source_id: String,
    /// The post's URL.
    pub url: String,
    /// When the hit was recorded (RFC 3339 UTC).
    pub seen_at: String,
    /// Share of the first post found in this one (absent for the first).
    pub similarity: Option<f64>,
}

/// A hit's spread chain: the first post seen and every copy of it found since.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpreadInfo {
    /// The first hit of the chain.
    pub first: SpreadMember,
    /// The copies, in the order they were found.
    pub copies: Vec<SpreadMember>,
}

/// Stores a flagged post's sketch (once).
pub(super) fn store_sketch(
    tx: &Transaction<'_>,
    path: &Path,
    post_key: &str,
    sketch: &Sketch,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO sketches (post_key, shingles, hashes) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| s.execute(params![post_key, sketch.shingles as i64, sketch.to_bytes()]))
    .map_err(sq(path, "cannot store a post sketch"))?;
    Ok(())
}

/// Links a new hit to the chain it copies, if any; raises severities. Updates `hit`.
pub(super) fn link(
    tx: &Transaction<'_>,
    path: &Path,
    hit: &mut Hit,
    sketch: &Sketch,
    now: DateTime<Utc>,
) -> Result<Option<f64>, StoreError> {
    let since = timestamp(now - Duration::days(WINDOW_DAYS));
    let thread = thread_of(&hit.post_key);
    let mut best: Option<(f64, i64)> = None;
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT h.post_key, s.shingles, s.hashes, COALESCE(sp.first_hit_id, h.id)
                 FROM hits h JOIN sketches s ON s.post_key = h.post_key
                 LEFT JOIN spread sp ON sp.hit_id = h.id
                 WHERE h.target = ?1 AND h.id != ?2 AND h.post_key != ?3 AND h.created_at >= ?4
                 ORDER BY h.id DESC LIMIT ?5",
            )
            .map_err(sq(path, "cannot look for copies"))?;
        let rows = stmt
            .query_map(
                params![hit.target, hit.id, hit.post_key, since, CANDIDATES as i64],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .map_err(sq(path, "cannot look for copies"))?;
        for row in rows {
            let (key, shingles, bytes, root) = row.map_err(sq(path, "cannot look for copies"))?;
            if thread_of(&key) == thread {
                continue;
            }
            let other = Sketch::from_bytes(shingles.max(0) as usize, &bytes);
            if let Some(s) = sketch.is_copy(&other) {
                // The most similar; on a tie the oldest chain.
                if best.is_none_or(|(b, r)| s > b || (s == b && root < r)) {
                    best = Some((s, root));
                }
            }
        }
    }
    let Some((similarity, root)) = best else {
        return Ok(None);
    };
    let root_was_spreading: bool = tx
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM spread WHERE first_hit_id = ?1)",
            [root],
            |r| r.get(0),
        )
        .map_err(sq(path, "cannot read spread links"))?;
    tx.execute(
        "INSERT OR IGNORE INTO spread (hit_id, first_hit_id, similarity, at) VALUES (?1, ?2, ?3, ?4)",
        params![hit.id, root, similarity, timestamp(now)],
    )
    .map_err(sq(path, "cannot store a spread link"))?;
    let root_severity: i64 = tx
        .query_row("SELECT severity FROM hits WHERE id = ?1", [root], |r| {
            r.get(0)
        })
        .map_err(sq(path, "cannot read the first hit"))?;
    let raised = (i64::from(hit.severity).max(root_severity) + i64::from(SEVERITY_BOOST)).min(100);
    hit.severity = raised as u8;
    tx.execute(
        "UPDATE hits SET severity = ?1 WHERE id = ?2",
        params![raised, hit.id],
    )
    .map_err(sq(path, "cannot raise a hit's severity"))?;
    if !root_was_spreading {
        tx.execute(
            "UPDATE hits SET severity = MIN(100, severity + ?1) WHERE id = ?2",
            params![i64::from(SEVERITY_BOOST), root],
        )
        .map_err(sq(path, "cannot raise a hit's severity"))?;
    }
    Ok(Some(similarity))
}

fn sq(path: &Path, what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Sqlite { path, what, source }
}

impl Store {
    /// The spread chain a hit belongs to (as the first post or as a copy), if any.
    pub fn spread_of(&self, hit_id: i64) -> Result<Option<SpreadInfo>, StoreError> {
        let conn = self.lock();
        let root: Option<i64> = conn
            .query_row(
                "SELECT first_hit_id FROM spread WHERE hit_id = ?1
                 UNION SELECT first_hit_id FROM spread WHERE first_hit_id = ?1 LIMIT 1",
                [hit_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sq("cannot read spread links"))?;
        let Some(root) = root else {
            return Ok(None);
        };
        let member = |r: &rusqlite::Row<'_>| {
            Ok(SpreadMember {
                hit_id: r.get(0)?,
                post_key: r.get(1)?,
                source_id: r.get(2)?,
                url: r.get(3)?,
                seen_at: r.get(4)?,
                similarity: r.get(5)?,
            })
        };
        let first = conn
            .query_row(
                "SELECT id, post_key, source_id, url, created_at, NULL FROM hits WHERE id = ?1",
                [root],
                member,
            )
            .map_err(self.sq("cannot read spread links"))?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT h.id, h.post_key, h.source_id, h.url, h.created_at, s.similarity
                 FROM spread s JOIN hits h ON h.id = s.hit_id
                 WHERE s.first_hit_id = ?1 ORDER BY h.id",
            )
            .map_err(self.sq("cannot read spread links"))?;
        let copies = stmt
            .query_map([root], member)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(self.sq("cannot read spread links"))?;
        Ok(Some(SpreadInfo { first, copies }))
    }
}
