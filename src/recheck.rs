//! After the alert: flagged posts are re-fetched on a schedule to see whether they are still
//! up, changed or deleted, and a change is kept as evidence.
//!
//! Each source knows how to look at one of its posts again ([`Source::recheck`]): a board
//! reads the post's thread page or raw range and finds the post by number (あぼーん, a number
//! missing from the thread, or a thread that answers 404 is "deleted"); other sources fetch
//! the post's permalink (404/410 is "deleted"; a page that no longer holds the post's text
//! is "changed"). A server error or a timeout is not a verdict: it is recorded as `error`
//! and tried again at the next interval.
//!
//! The schedule: `[recheck]` in the watchlist — `every` (default `1d`), `for_days` (default
//! 180: after that the access logs a disclosure needs are gone anyway) and `enabled`. The
//! first check is one interval after the hit was found; a post seen deleted is not checked
//! again. When a check's state differs from the last one (and for every first "changed" or
//! "deleted"), the response is written as WARC records with a ledger entry, so the change
//! itself is evidence; a "deleted" sets the post's hits to triage status `deleted`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Watchlist, parse_duration};
use crate::evidence::Evidence;
use crate::fetch::Fetcher;
use crate::sources::Source;
pub use crate::sources::recheck::{
    Liveness, Observation, check_page, classify_board, classify_page, fingerprint, holds_body,
    page_text,
};
use crate::store::Store;

/// The `[recheck]` settings of a watchlist.
#[derive(Debug, Clone, PartialEq)]
pub struct RecheckConfig {
    /// Whether `watch` re-checks at all.
    pub enabled: bool,
    /// Time between checks of one post.
    pub every: Duration,
    /// Posts found longer ago than this many days are no longer checked.
    pub for_days: i64,
}

impl Default for RecheckConfig {
    fn default() -> Self {
        RecheckConfig {
            enabled: true,
            every: Duration::from_secs(86_400),
            for_days: 180,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    enabled: Option<bool>,
    every: Option<String>,
    for_days: Option<i64>,
}

/// Why re-checking could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    /// `[recheck]` is malformed (the message names the file, line and field) or a re-check
    /// task failed.
    #[error("{0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

impl RecheckConfig {
    /// Reads `[recheck]` (defaults when absent).
    pub fn from_watchlist(w: &Watchlist) -> Result<RecheckConfig, RecheckError> {
        let Some(raw) = w
            .section::<RawConfig>("recheck", 0, "[recheck]")
            .map_err(RecheckError::Config)?
        else {
            return Ok(RecheckConfig::default());
        };
        let bad = |m: String| RecheckError::Config(w.located("recheck", 0, "[recheck]", &m));
        let mut c = RecheckConfig::default();
        if let Some(e) = raw.enabled {
            c.enabled = e;
        }
        if let Some(s) = raw.every {
            c.every = parse_duration(&s).map_err(|e| bad(format!("every: {e}")))?;
            if c.every < Duration::from_secs(60) {
                return Err(bad(format!(
                    "every: \"{s}\" is shorter than 1m (re-checks are polite: write e.g. 6h or 1d)"
                )));
            }
        }
        if let Some(d) = raw.for_days {
            if d < 1 {
                return Err(bad(format!("for_days: {d} must be at least 1")));
            }
            c.for_days = d;
        }
        Ok(c)
    }
}

/// What one run of due re-checks did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecheckSummary {
    /// Posts checked.
    pub checked: usize,
    /// Still up.
    pub up: usize,
    /// Changed.
    pub changed: usize,
    /// Deleted.
    pub deleted: usize,
    /// Checks that failed (retried next time).
    pub failed: usize,
    /// Responses kept as evidence.
    pub captured: usize,
    /// Why the first failed check failed (post key and error), so the user sees a reason
    /// without turning logs on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

impl std::fmt::Display for RecheckSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "re-checked {} posts: {} up, {} changed, {} deleted, {} failed; {} responses kept as evidence",
            self.checked, self.up, self.changed, self.deleted, self.failed, self.captured
        )?;
        if let Some(why) = &self.first_failure {
            write!(f, " (first failure: {why})")?;
        }
        Ok(())
    }
}

/// Runs due re-checks through the sources that found the posts.
pub struct Rechecker {
    sources: HashMap<String, Arc<dyn Source>>,
    fetcher: Fetcher,
    store: Arc<Store>,
    evidence: Option<Arc<Evidence>>,
    config: RecheckConfig,
}

/// Posts checked per round at most (a backlog is worked off over later rounds).
const ROUND: usize = 200;
/// How often `run` looks for due checks.
const TICK: Duration = Duration::from_secs(60);

impl Rechecker {
    /// A rechecker over the configured sources.
    pub fn new(
        sources: Vec<Arc<dyn Source>>,
        fetcher: Fetcher,
        store: Arc<Store>,
        evidence: Option<Arc<Evidence>>,
        config: RecheckConfig,
    ) -> Rechecker {
        Rechecker {
            sources: sources
                .into_iter()
                .map(|s| (s.id().to_string(), s))
                .collect(),
            fetcher,
            store,
            evidence,
            config,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &RecheckConfig {
        &self.config
    }

    /// Checks the posts due at `now` (every flagged post not yet deleted with `all`);
    /// `only` limits it to these post keys.
    pub async fn run_due(
        &self,
        now: DateTime<Utc>,
        all: bool,
        only: Option<&[String]>,
    ) -> Result<RecheckSummary, RecheckError> {
        let mut summary = RecheckSummary::default();
        let (store, every, days) = (
            Arc::clone(&self.store),
            self.config.every,
            self.config.for_days,
        );
        let due = tokio::task::spawn_blocking(move || {
            store.due_checks(
                now,
                every,
                days,
                all,
                if all { usize::MAX >> 1 } else { ROUND },
            )
        })
        .await
        .map_err(|e| RecheckError::Config(format!("[recheck]: re-check task failed: {e}")))??;
        for d in due {
            if only.is_some_and(|keys| !keys.contains(&d.post.key)) {
                continue;
            }
            let Some(source) = self.sources.get(&d.source_id) else {
                tracing::debug!(post = %d.post.key, source = %d.source_id, "source no longer configured; not re-checked");
                continue;
            };
            summary.checked += 1;
            let observed = source.recheck(&self.fetcher, &d.post).await;
            let at = Utc::now();
            let next = at + chrono::Duration::from_std(self.config.every).unwrap_or_default();
            let (state, status, detail, seq) = match observed {
                Ok(o) => {
                    match o.state {
                        Liveness::Up => summary.up += 1,
                        Liveness::Changed => summary.changed += 1,
                        Liveness::Deleted => summary.deleted += 1,
                    }
                    let changed = d.state.as_deref() != Some(o.state.as_str())
                        && !(d.state.is_none() && o.state == Liveness::Up);
                    let seq = match (&self.evidence, &o.response, changed) {
                        (Some(ev), Some(resp), true) => {
                            let (ev, resp, post) = (Arc::clone(ev), resp.clone(), d.post.clone());
                            let (state, detail) = (o.state, o.detail.clone());
                            let entry = tokio::task::spawn_blocking(move || {
                                ev.capture_recheck(&resp, &post, state.as_str(), &detail)
                            })
                            .await;
                            match entry {
                                Ok(Ok(e)) => {
                                    summary.captured += 1;
                                    Some(e.seq)
                                }
                                Ok(Err(e)) => {
                                    tracing::error!(post = %d.post.key, error = %e, "cannot keep the re-check response as evidence");
                                    None
                                }
                                Err(e) => {
                                    tracing::error!(post = %d.post.key, error = %e, "evidence task failed");
                                    None
                                }
                            }
                        }
                        _ => None,
                    };
                    let status = o.response.as_ref().map(|r| r.status);
                    (o.state.as_str(), status, o.detail, seq)
                }
                Err(e) => {
                    summary.failed += 1;
                    if summary.first_failure.is_none() {
                        summary.first_failure = Some(format!("{}: {e}", d.post.key));
                    }
                    tracing::info!(post = %d.post.key, error = %e, "re-check failed; trying again later");
                    ("error", None, e.to_string(), None)
                }
            };
            let store = Arc::clone(&self.store);
            let key = d.post.key.clone();
            let detail2 = detail.clone();
            let recorded = tokio::task::spawn_blocking(move || {
                store.record_check(&key, state, status, &detail2, seq, at, next)
            })
            .await
            .map_err(|e| RecheckError::Config(format!("[recheck]: re-check task failed: {e}")))??;
            if state != "error" && recorded.previous.as_deref() != Some(state) {
                tracing::info!(post = %d.post.key, url = %d.post.url, state, detail = %detail, "re-check: state changed");
            }
        }
        Ok(summary)
    }

    /// Re-checks due posts every minute until `stop` turns true.
    /// A round in progress is abandoned at the stop: each check is recorded on its own, so
    /// the unchecked rest is simply still due at the next start.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            let round = tokio::select! {
                r = self.run_due(Utc::now(), false, None) => r,
                _ = stop.changed() => return,
            };
            match round {
                Ok(s) if s.checked > 0 => tracing::info!(summary = %s, "re-checks done"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "re-checks failed"),
            }
            tokio::select! {
                () = tokio::time::sleep(TICK) => {}
                r = stop.changed() => if r.is_err() || *stop.borrow() { return },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_errors() {
        let w = |s: &str| {
            crate::config::parse_str(s, std::path::Path::new("w.toml")).expect("watchlist")
        };
        assert_eq!(
            RecheckConfig::from_watchlist(&w("")).expect("default"),
            RecheckConfig::default()
        );
        let c = RecheckConfig::from_watchlist(&w("[recheck]\nevery = \"6h\"\nfor_days = 90"))
            .expect("ok");
        assert_eq!(c.every, Duration::from_secs(6 * 3600));
        assert_eq!(c.for_days, 90);
        let e = RecheckConfig::from_watchlist(&w("[recheck]\nevery = \"5s\""))
            .expect_err("too short")
            .to_string();
        assert!(e.contains("shorter than 1m"), "{e}");
        let e = RecheckConfig::from_watchlist(&w("[recheck]\nevry = \"1d\""))
            .expect_err("unknown")
            .to_string();
        assert!(e.contains("evry"), "{e}");
    }
}
