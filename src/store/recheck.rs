//! Re-checks of flagged posts (see [`crate::recheck`]): `post_checks` holds each post's current
//! state (`up`, `changed`, `deleted`; `unknown` until a check succeeds) and when it is due
//! next; `rechecks` keeps every check. A post seen deleted sets its hits to the triage status
//! `deleted` (a history entry noting the re-check), unless they were `ignored` — so a
//! takedown the user marked `reported` shows when it took effect.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Store, StoreError};
use crate::model::Post;
use crate::model::timestamp;

/// A post whose re-check is due.
#[derive(Debug, Clone)]
pub struct DueCheck {
    /// The post as stored when found.
    pub post: Post,
    /// The source that found it.
    pub source_id: String,
    /// Its state so far (`None`: never checked).
    pub state: Option<String>,
}

/// A post's re-check state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostCheck {
    /// `up`, `changed`, `deleted` or `unknown` (no check has succeeded yet).
    pub state: String,
    /// When this state was first seen (RFC 3339 UTC).
    pub since: String,
    /// The last check (RFC 3339 UTC).
    pub last_checked: String,
    /// When it is due again.
    pub next_check: String,
    /// Checks made.
    pub checks: i64,
    /// What the last check saw.
    pub detail: Option<String>,
    /// The last check that saw it up (RFC 3339 UTC), if any.
    pub last_up: Option<String>,
}

/// One re-check in the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecheckRow {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `up`, `changed`, `deleted` or `error`.
    pub state: String,
    /// HTTP status of the response, when there was one.
    pub http_status: Option<u16>,
    /// What was seen.
    pub detail: Option<String>,
    /// The ledger entry of the response captured as evidence of a change.
    pub evidence_seq: Option<u64>,
}

/// What recording a check changed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded {
    /// The state before (`None`: never checked).
    pub previous: Option<String>,
    /// Hits set to `deleted` by this check.
    pub hits_deleted: Vec<i64>,
}

impl Store {
    /// Flagged posts due for a re-check at `now`: never checked and found at least `every`
    /// ago, or due by their schedule; not yet seen deleted; found within `for_days`. With
    /// `all`, every such post regardless of schedule. Oldest due first, at most `limit`.
    pub fn due_checks(
        &self,
        now: DateTime<Utc>,
        every: std::time::Duration,
        for_days: i64,
        all: bool,
        limit: usize,
    ) -> Result<Vec<DueCheck>, StoreError> {
        let every = Duration::from_std(every).unwrap_or(Duration::days(1));
        let first_due = if all {
            timestamp(now + Duration::days(36_500))
        } else {
            timestamp(now - every)
        };
        let next_due = if all {
            first_due.clone()
        } else {
            timestamp(now)
        };
        let oldest = timestamp(now - Duration::days(for_days));
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT p.json, p.source_id, c.state FROM posts p
                 JOIN (SELECT post_key, MIN(created_at) AS found FROM hits
                       WHERE status != 'ignored' GROUP BY post_key) h ON h.post_key = p.post_key
                 LEFT JOIN post_checks c ON c.post_key = p.post_key
                 WHERE h.found >= ?1
                   AND ((c.post_key IS NULL AND h.found <= ?2)
                        OR (c.state != 'deleted' AND c.next_check <= ?3))
                 ORDER BY COALESCE(c.next_check, h.found) LIMIT ?4",
            )
            .map_err(self.sq("cannot read due re-checks"))?;
        let rows = stmt
            .query_map(params![oldest, first_due, next_due, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(self.sq("cannot read due re-checks"))?;
        let mut out = Vec::new();
        for row in rows {
            let (json, source_id, state) = row.map_err(self.sq("cannot read due re-checks"))?;
            match serde_json::from_str::<Post>(&json) {
                Ok(post) => out.push(DueCheck {
                    post,
                    source_id,
                    state,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, "a stored post cannot be read; not re-checked")
                }
            }
        }
        Ok(out)
    }

    /// Records one re-check of `post_key` (`state` = `up`, `changed`, `deleted` or `error`)
    /// and schedules the next at `next`. A first `deleted` sets the post's hits to `deleted`.
    #[allow(clippy::too_many_arguments)]
    pub fn record_check(
        &self,
        post_key: &str,
        state: &str,
        http_status: Option<u16>,
        detail: &str,
        evidence_seq: Option<u64>,
        at: DateTime<Utc>,
        next: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let (at_s, next_s) = (timestamp(at), timestamp(next));
        let mut conn = self.lock();
        let tx = conn
            .transaction()
            .map_err(self.sq("cannot begin a transaction"))?;
        let previous: Option<String> = tx
            .query_row(
                "SELECT state FROM post_checks WHERE post_key = ?1",
                [post_key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sq("cannot read a post's re-check state"))?;
        tx.execute(
            "INSERT INTO rechecks (post_key, at, state, http_status, detail, evidence_seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                post_key,
                at_s,
                state,
                http_status,
                detail,
                evidence_seq.map(|s| s as i64)
            ],
        )
        .map_err(self.sq("cannot record a re-check"))?;
        // An error keeps the state seen before (or `unknown`).
        let new_state = if state == "error" {
            previous.clone().unwrap_or_else(|| "unknown".into())
        } else {
            state.to_string()
        };
        tx.execute(
            "INSERT INTO post_checks (post_key, state, since, last_checked, next_check, checks, detail)
             VALUES (?1, ?2, ?3, ?3, ?4, 1, ?5)
             ON CONFLICT (post_key) DO UPDATE SET
               since = CASE WHEN state = excluded.state THEN since ELSE excluded.since END,
               state = excluded.state, last_checked = excluded.last_checked,
               next_check = excluded.next_check, checks = checks + 1, detail = excluded.detail",
            params![post_key, new_state, at_s, next_s, detail],
        )
        .map_err(self.sq("cannot record a re-check"))?;
        let mut hits_deleted = Vec::new();
        if state == "deleted" && previous.as_deref() != Some("deleted") {
            let ids: Vec<i64> = {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT id FROM hits WHERE post_key = ?1 AND status NOT IN ('deleted', 'ignored')",
                    )
                    .map_err(self.sq("cannot read hits"))?;
                stmt.query_map([post_key], |r| r.get(0))
                    .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                    .map_err(self.sq("cannot read hits"))?
            };
            for id in &ids {
                tx.execute(
                    "INSERT INTO triage (hit_id, status, note, at) VALUES (?1, 'deleted', ?2, ?3)",
                    params![id, format!("re-check: {detail}"), at_s],
                )
                .map_err(self.sq("cannot record triage"))?;
                tx.execute("UPDATE hits SET status = 'deleted' WHERE id = ?1", [id])
                    .map_err(self.sq("cannot record triage"))?;
            }
            hits_deleted = ids;
        }
        tx.commit().map_err(self.sq("cannot commit a re-check"))?;
        Ok(Recorded {
            previous,
            hits_deleted,
        })
    }

    /// A post's re-check state, if it was ever checked.
    pub fn post_check(&self, post_key: &str) -> Result<Option<PostCheck>, StoreError> {
        let conn = self.lock();
        conn.query_row(
            "SELECT state, since, last_checked, next_check, checks, detail,
                    (SELECT MAX(at) FROM rechecks r WHERE r.post_key = c.post_key AND r.state = 'up')
             FROM post_checks c WHERE post_key = ?1",
            [post_key],
            |r| {
                Ok(PostCheck {
                    state: r.get(0)?,
                    since: r.get(1)?,
                    last_checked: r.get(2)?,
                    next_check: r.get(3)?,
                    checks: r.get(4)?,
                    detail: r.get(5)?,
                    last_up: r.get(6)?,
                })
            },
        )
        .optional()
        .map_err(self.sq("cannot read a post's re-check state"))
    }

    /// Every re-check of a post, oldest first.
    pub fn rechecks(&self, post_key: &str) -> Result<Vec<RecheckRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT at, state, http_status, detail, evidence_seq FROM rechecks
                 WHERE post_key = ?1 ORDER BY id",
            )
            .map_err(self.sq("cannot read re-checks"))?;
        stmt.query_map([post_key], |r| {
            Ok(RecheckRow {
                at: r.get(0)?,
                state: r.get(1)?,
                http_status: r.get::<_, Option<i64>>(2)?.map(|s| s.clamp(0, 999) as u16),
                detail: r.get(3)?,
                evidence_seq: r.get::<_, Option<i64>>(4)?.map(|s| s.max(0) as u64),
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(self.sq("cannot read re-checks"))
    }
}
