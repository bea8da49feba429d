//! Source health as a state, and its changes as operational alerts.
//!
//! A source is `ok`, `failing` (its last `failing_after` polls failed: network, HTTP errors
//! that outlasted the retries, the circuit breaker, robots.txt, missing credentials…) or
//! `parsing_nothing` (its last `empty_after` polls succeeded but a page that should list posts
//! yielded none: a selector that matches nothing after a site's redesign). Each change of
//! state is one row of `health_events`, written in the same transaction as the state, so it is
//! raised once however many processes or restarts see it; the alert dispatcher delivers each
//! event once to every sink (`health_deliveries`, retried like hit alerts). A recovery is an
//! event too (`recovered`), so the alert clears.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, timestamp};
use crate::config::Watchlist;

/// When a source's state changes (the `[health]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed polls that make a source `failing`.
    pub failing_after: u32,
    /// Consecutive polls that parse nothing that make it `parsing_nothing`.
    pub empty_after: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            failing_after: 3,
            empty_after: 3,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    failing_after: Option<u32>,
    empty_after: Option<u32>,
}

impl HealthPolicy {
    /// The `[health]` table of a watchlist (defaults when absent); a bad value is an error
    /// naming the file, line and field.
    pub fn from_watchlist(w: &Watchlist) -> Result<HealthPolicy, String> {
        let Some(raw) = w.section::<RawPolicy>("health", 0, "[health]")? else {
            return Ok(HealthPolicy::default());
        };
        let mut p = HealthPolicy::default();
        for (field, value, into) in [
            ("failing_after", raw.failing_after, &mut p.failing_after),
            ("empty_after", raw.empty_after, &mut p.empty_after),
        ] {
            match value {
                Some(0) => {
                    return Err(w.located(
                        "health",
                        0,
                        "[health]",
                        &format!("{field}: must be at least 1 (the number of polls in a row)"),
                    ));
                }
                Some(n) => *into = n,
                None => {}
            }
        }
        Ok(p)
    }
}

/// What one poll said about a source's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollHealth<'a> {
    /// It committed; `parsed_nothing` says why a page that should list posts listed none.
    Ok {
        /// See [`crate::sources::PollOutput::parsed_nothing`].
        parsed_nothing: Option<&'a str>,
    },
    /// It failed with this error (already counted by [`Store::record_error`]).
    Failed {
        /// The error.
        error: &'a str,
    },
}

/// One change of a source's health: what an operational alert says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthEvent {
    /// Row id (orders events).
    pub id: i64,
    /// The source.
    pub source_id: String,
    /// `failing`, `parsing_nothing` or `recovered`.
    pub state: String,
    /// The error, the page that parsed to nothing, or what recovered.
    pub detail: String,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// An event one sink has not accepted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthDue {
    /// The event.
    pub event: HealthEvent,
    /// Failed attempts so far.
    pub attempts: i64,
}

impl Store {
    /// Updates a source's health after a poll (call it after [`Store::commit_poll`] or
    /// [`Store::record_error`]) and returns the event when its state changed. The new state
    /// and the event commit together, so a change is raised once.
    pub fn record_health(
        &self,
        source_id: &str,
        poll: PollHealth<'_>,
        policy: &HealthPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<HealthEvent>, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sq("cannot begin a transaction"))?;
        let row: Option<(String, i64, i64)> = tx
            .query_row(
                "SELECT health, consecutive_errors, empty_polls FROM source_state WHERE source_id = ?1",
                [source_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sq("cannot read source state"))?;
        let (was, errors, empty) = row.unwrap_or_else(|| ("ok".to_string(), 0, 0));
        let (now_state, empty, detail) = match poll {
            PollHealth::Failed { error } => {
                let state = if errors >= i64::from(policy.failing_after) {
                    "failing"
                } else {
                    was.as_str()
                };
                (state, empty, error.to_string())
            }
            PollHealth::Ok {
                parsed_nothing: Some(what),
            } => {
                let empty = empty + 1;
                let state = if empty >= i64::from(policy.empty_after) {
                    "parsing_nothing"
                } else if was == "failing" {
                    "ok"
                } else {
                    was.as_str()
                };
                (state, empty, what.to_string())
            }
            PollHealth::Ok {
                parsed_nothing: None,
            } => ("ok", 0, format!("polls work again (it was {was})")),
        };
        let now_state = now_state.to_string();
        tx.execute(
            "INSERT INTO source_state (source_id, health, empty_polls) VALUES (?1, ?2, ?3)
             ON CONFLICT (source_id) DO UPDATE SET health = ?2, empty_polls = ?3",
            params![source_id, now_state, empty],
        )
        .map_err(self.sq("cannot update source state"))?;
        let event = if now_state == was {
            None
        } else {
            let state = if now_state == "ok" {
                "recovered"
            } else {
                now_state.as_str()
            };
            let at = timestamp(now);
            tx.execute(
                "INSERT INTO health_events (source_id, state, detail, at) VALUES (?1, ?2, ?3, ?4)",
                params![source_id, state, detail, at],
            )
            .map_err(self.sq("cannot record a health event"))?;
            Some(HealthEvent {
                id: tx.last_insert_rowid(),
                source_id: source_id.to_string(),
                state: state.to_string(),
                detail,
                at,
            })
        };
        tx.commit()
            .map_err(self.sq("cannot commit source health"))?;
        Ok(event)
    }

    /// Every health event, oldest first.
    pub fn health_events(&self) -> Result<Vec<HealthEvent>, StoreError> {
        self.health_query(
            "SELECT id, source_id, state, detail, at, 0 FROM health_events ORDER BY id",
            params![],
        )
        .map(|v| v.into_iter().map(|d| d.event).collect())
    }

    /// The events `sink` has not accepted yet and may be tried at `now`: those newer than
    /// `since` (a sink added later is not sent a source's old history), oldest first.
    pub fn health_due(
        &self,
        sink: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<HealthDue>, StoreError> {
        self.health_query(
            "SELECT e.id, e.source_id, e.state, e.detail, e.at, COALESCE(d.attempts, 0)
             FROM health_events e
             LEFT JOIN health_deliveries d ON d.event_id = e.id AND d.sink = ?1
             WHERE e.at >= ?2 AND d.sent_at IS NULL AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?3)
             ORDER BY e.id",
            params![sink, timestamp(since), timestamp(now)],
        )
    }

    fn health_query(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<HealthDue>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(sql)
            .map_err(self.sq("cannot read health events"))?;
        let rows = stmt
            .query_map(args, |r| {
                Ok(HealthDue {
                    event: HealthEvent {
                        id: r.get(0)?,
                        source_id: r.get(1)?,
                        state: r.get(2)?,
                        detail: r.get(3)?,
                        at: r.get(4)?,
                    },
                    attempts: r.get(5)?,
                })
            })
            .map_err(self.sq("cannot read health events"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.sq("cannot read health events"))
    }

    /// Records that `sink` accepted event `event_id`, or (with `next`) that it failed and
    /// when to try again.
    pub fn health_delivered(
        &self,
        event_id: i64,
        sink: &str,
        now: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let now = timestamp(now);
        let (sent, next) = match next {
            None => (Some(now.clone()), now),
            Some(t) => (None, timestamp(t)),
        };
        let conn = self.lock();
        conn.execute(
            "INSERT INTO health_deliveries (event_id, sink, attempts, next_attempt_at, sent_at)
             VALUES (?1, ?2, 1, ?3, ?4)
             ON CONFLICT (event_id, sink) DO UPDATE SET attempts = attempts + 1,
               next_attempt_at = ?3, sent_at = COALESCE(sent_at, ?4)",
            params![event_id, sink, next, sent],
        )
        .map_err(self.sq("cannot record a health delivery"))?;
        Ok(())
    }
}

impl Store {
    /// Levels for `/metrics` that live in the state: alerts waiting per sink, and each
    /// source's health.
    pub fn metric_levels(&self) -> Result<Vec<crate::metrics::Sample>, StoreError> {
        use crate::metrics::Sample;
        let conn = self.lock();
        let mut out = Vec::new();
        let mut stmt = conn
            .prepare_cached(
                "SELECT sink, COUNT(*) FROM outbox WHERE sent_at IS NULL AND sink != ?1 GROUP BY sink ORDER BY sink",
            )
            .map_err(self.sq("cannot read the outbox"))?;
        let rows = stmt
            .query_map([super::ANY_SINK], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(self.sq("cannot read the outbox"))?;
        for row in rows {
            let (sink, n) = row.map_err(self.sq("cannot read the outbox"))?;
            out.push(Sample::new(
                "mimamori_alert_queue_depth",
                &[("sink", &sink)],
                n as f64,
            ));
        }
        let mut stmt = conn
            .prepare_cached("SELECT source_id, health FROM source_state ORDER BY source_id")
            .map_err(self.sq("cannot read source state"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.sq("cannot read source state"))?;
        for row in rows {
            let (source, state) = row.map_err(self.sq("cannot read source state"))?;
            out.push(Sample::new(
                "mimamori_source_health",
                &[("source", &source), ("state", &state)],
                1.0,
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        (dir, store)
    }

    /// A failed poll as the watch loop records it.
    fn fail(store: &Store, id: &str, policy: &HealthPolicy) -> Option<HealthEvent> {
        store.record_error(id, "HTTP 503").expect("error");
        store
            .record_health(
                id,
                PollHealth::Failed { error: "HTTP 503" },
                policy,
                Utc::now(),
            )
            .expect("health")
    }

    fn ok(
        store: &Store,
        id: &str,
        nothing: Option<&str>,
        policy: &HealthPolicy,
    ) -> Option<HealthEvent> {
        store.commit_poll(id, &[], &[], &[]).expect("commit");
        store
            .record_health(
                id,
                PollHealth::Ok {
                    parsed_nothing: nothing,
                },
                policy,
                Utc::now(),
            )
            .expect("health")
    }

    #[test]
    fn a_source_fails_after_the_threshold_once_and_recovers_once() {
        let (_d, store) = store();
        let p = HealthPolicy::default();
        assert_eq!(fail(&store, "rss:a", &p), None);
        assert_eq!(fail(&store, "rss:a", &p), None);
        let failing = fail(&store, "rss:a", &p).expect("third failure");
        assert_eq!(
            (failing.state.as_str(), failing.detail.as_str()),
            ("failing", "HTTP 503")
        );
        assert_eq!(fail(&store, "rss:a", &p), None, "once per change");
        // One good poll between failures resets the count.
        assert_eq!(ok(&store, "rss:b", None, &p), None);
        assert_eq!(fail(&store, "rss:b", &p), None);
        assert_eq!(ok(&store, "rss:b", None, &p), None);
        assert_eq!(fail(&store, "rss:b", &p), None);
        let recovered = ok(&store, "rss:a", None, &p).expect("recovery");
        assert_eq!(recovered.state, "recovered");
        assert_eq!(ok(&store, "rss:a", None, &p), None);
        let states: Vec<String> = store
            .health_events()
            .expect("events")
            .into_iter()
            .map(|e| format!("{} {}", e.source_id, e.state))
            .collect();
        assert_eq!(states, ["rss:a failing", "rss:a recovered"]);
    }

    #[test]
    fn parsing_nothing_needs_polls_in_a_row_and_clears_when_posts_come_back() {
        let (_d, store) = store();
        let p = HealthPolicy {
            failing_after: 1,
            empty_after: 2,
        };
        let nothing = Some("https://example.com/: item selector matched nothing");
        assert_eq!(ok(&store, "html:x", nothing, &p), None);
        assert_eq!(ok(&store, "html:x", None, &p), None, "reset by posts");
        assert_eq!(ok(&store, "html:x", nothing, &p), None);
        let e = ok(&store, "html:x", nothing, &p).expect("second in a row");
        assert_eq!(e.state, "parsing_nothing");
        assert!(e.detail.contains("matched nothing"));
        assert_eq!(ok(&store, "html:x", nothing, &p), None);
        // A failure on top is a change of its own (failing_after = 1), and so is the end.
        assert_eq!(
            fail(&store, "html:x", &p).expect("failing").state,
            "failing"
        );
        assert_eq!(
            ok(&store, "html:x", None, &p).expect("ok").state,
            "recovered"
        );
    }

    #[test]
    fn each_sink_gets_each_event_until_it_accepts_it() {
        let (_d, store) = store();
        let p = HealthPolicy {
            failing_after: 1,
            empty_after: 1,
        };
        let since = Utc::now() - chrono::Duration::hours(1);
        let e = fail(&store, "rss:a", &p).expect("event");
        let now = Utc::now();
        assert_eq!(store.health_due("hook", since, now).expect("due").len(), 1);
        // A failure schedules a retry: not due before it.
        let later = now + chrono::Duration::minutes(5);
        store
            .health_delivered(e.id, "hook", now, Some(later))
            .expect("retry");
        assert!(
            store
                .health_due("hook", since, now)
                .expect("due")
                .is_empty()
        );
        let due = store.health_due("hook", since, later).expect("due");
        assert_eq!((due.len(), due[0].attempts), (1, 1));
        store
            .health_delivered(e.id, "hook", later, None)
            .expect("sent");
        assert!(
            store
                .health_due("hook", since, later)
                .expect("due")
                .is_empty()
        );
        // Another sink is independent; an event older than `since` is not sent.
        assert_eq!(
            store.health_due("file", since, later).expect("due").len(),
            1
        );
        assert!(
            store
                .health_due("file", later, later)
                .expect("due")
                .is_empty()
        );
    }

    #[test]
    fn a_zero_threshold_is_refused_naming_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("w.toml");
        std::fs::write(&path, "[health]\nfailing_after = 0\n").expect("write");
        let w = crate::config::load(&path).expect("load");
        let e = HealthPolicy::from_watchlist(&w).expect_err("refused");
        assert!(e.contains("w.toml:2") && e.contains("failing_after"), "{e}");
    }
}
