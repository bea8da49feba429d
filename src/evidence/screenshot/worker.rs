//! The screenshot worker of `watch`: one task, one browser, fed the new hits after their
//! commit through a bounded queue, so a slow page never holds up a poll.
//!
//! Crash safety: at start the worker lists the hits of the last [`RECOVER_WITHIN`] that have no
//! screenshot entry (nor a note) in the ledger — hits committed just before a crash — and takes
//! them when the queue is idle, at most [`RECOVER_LIMIT`] per start. A capture that fails is
//! recorded as a note, which counts as done: a deleted page is not retried forever.
//!
//! Without a browser the worker logs one warning and writes a note per hit saying why, so the
//! legal packet can tell the reader. A full queue drops the hit with a warning; the next
//! start's recovery picks it up.
//!
//! Stopping: [`ShotWorker::finish`] drains the queue (for `watch --once`);
//! [`ShotWorker::stop`] abandons the capture in flight and the queued hits (for a signal: the
//! service must stop within seconds), leaving them to the next start's recovery.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use super::{
    Guard, Shooter, ShotConfig, ShotError, ShotTarget, entries_of_hit, find_browser, save,
    save_note,
};
use crate::evidence::{Evidence, ledger};
use crate::store::{Hit, HitFilter, Store};

/// Hits waiting for a screenshot, at most.
pub const QUEUE: usize = 64;
/// How far back the start-up recovery looks.
pub const RECOVER_WITHIN: Duration = Duration::from_secs(24 * 3600);
/// Hits the start-up recovery takes, at most.
pub const RECOVER_LIMIT: usize = 50;

impl ShotTarget {
    /// The target of `hit`, with the page it was read from as the fallback.
    pub fn of_hit(hit: &Hit, fallback_url: Option<String>) -> ShotTarget {
        ShotTarget {
            hit_id: hit.id,
            post_key: hit.post_key.clone(),
            url: hit.url.clone(),
            fallback_url,
        }
    }
}

/// What the worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Hits captured (PNG, stamped PNG, PDF written).
    pub captured: u64,
    /// Hits given a note instead (no browser, page failed).
    pub notes: u64,
    /// Hits taken from the start-up recovery.
    pub recovered: u64,
    /// Hits dropped because the queue was full.
    pub dropped: u64,
    /// Hits whose files or note could not be written.
    pub failed: u64,
}

/// Hands hits to the worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct ShotSender {
    tx: mpsc::Sender<ShotTarget>,
    dropped: Arc<AtomicU64>,
}

impl ShotSender {
    /// Hits waiting in the queue now.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// Queues a hit; when the queue is full the hit is dropped with a warning (the next
    /// start's recovery takes it).
    pub fn submit(&self, t: ShotTarget) {
        if let Err(e) = self.tx.try_send(t) {
            let t = match e {
                mpsc::error::TrySendError::Full(t) | mpsc::error::TrySendError::Closed(t) => t,
            };
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                hit = t.hit_id,
                "screenshot queue full: hit skipped for now (taken at the next start)"
            );
        }
    }
}

/// The running worker.
#[derive(Debug)]
pub struct ShotWorker {
    sender: ShotSender,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<WorkerStats>,
}

impl ShotWorker {
    /// Starts the worker on the current runtime; it looks for the browser and the hits left
    /// without screenshots first.
    pub fn start(
        evidence: Arc<Evidence>,
        store: Arc<Store>,
        config: ShotConfig,
        guard: Guard,
    ) -> ShotWorker {
        let (tx, rx) = mpsc::channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(run(rx, stop_rx, evidence, store, (config, guard)));
        ShotWorker {
            sender: ShotSender { tx, dropped },
            stop,
            task,
        }
    }

    /// A handle to queue hits with.
    pub fn sender(&self) -> ShotSender {
        self.sender.clone()
    }

    /// Waits until every queued hit (and the recovered ones) is done, once every
    /// [`ShotSender`] is dropped; closes the browser.
    pub async fn finish(self) -> WorkerStats {
        self.join().await
    }

    /// Stops now: the capture in flight is abandoned and the queued hits are left for the next
    /// start's recovery (they have no ledger entry yet); closes the browser.
    pub async fn stop(self) -> WorkerStats {
        let _ = self.stop.send(true);
        self.join().await
    }

    async fn join(self) -> WorkerStats {
        let dropped = Arc::clone(&self.sender.dropped);
        drop(self.sender);
        let mut stats = match self.task.await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "the screenshot worker stopped");
                WorkerStats::default()
            }
        };
        stats.dropped = dropped.load(Ordering::Relaxed);
        stats
    }
}

/// Hits recorded in the last [`RECOVER_WITHIN`] with no screenshot or note in the ledger.
pub fn unshot_hits(evidence: &Evidence, store: &Store) -> Result<Vec<ShotTarget>, ShotError> {
    let since = Utc::now() - chrono::Duration::from_std(RECOVER_WITHIN).unwrap_or_default();
    let hits = store
        .hits(&HitFilter {
            since: Some(since),
            limit: Some(1_000),
            ..HitFilter::default()
        })
        .map_err(|e| ShotError::Config(format!("[evidence]: cannot list recent hits: {e}")))?;
    let entries = ledger::entries(evidence.dir())?;
    let mut out = Vec::new();
    // Oldest first: they have waited longest.
    for hit in hits.iter().rev() {
        if !entries_of_hit(&entries, hit.id).is_empty() {
            continue;
        }
        let fallback = store
            .post(&hit.post_key)
            .ok()
            .flatten()
            .map(|p| p.source_url);
        out.push(ShotTarget::of_hit(hit, fallback));
        if out.len() == RECOVER_LIMIT {
            break;
        }
    }
    Ok(out)
}

struct Run {
    evidence: Arc<Evidence>,
    config: ShotConfig,
    /// What the browser may open.
    guard: Guard,
    shooter: Option<Shooter>,
    /// Why there is no browser, once known.
    unavailable: Option<String>,
    stats: WorkerStats,
}

async fn run(
    mut rx: mpsc::Receiver<ShotTarget>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    evidence: Arc<Evidence>,
    store: Arc<Store>,
    (config, guard): (ShotConfig, Guard),
) -> WorkerStats {
    let mut r = Run {
        evidence: Arc::clone(&evidence),
        config,
        guard,
        shooter: None,
        unavailable: None,
        stats: WorkerStats::default(),
    };
    if let Err(e) = find_browser() {
        tracing::warn!("no screenshots: {e}; a note is kept with each hit's evidence instead");
        r.unavailable = Some(e.to_string());
    } else {
        // Browsers and profiles an earlier run left behind (killed before it could close them).
        let _ = tokio::task::spawn_blocking(super::orphans::sweep).await;
    }
    let mut backlog: VecDeque<ShotTarget> =
        match tokio::task::spawn_blocking(move || unshot_hits(&evidence, &store)).await {
            Ok(Ok(v)) => v.into(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot look for hits left without screenshots");
                VecDeque::new()
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot look for hits left without screenshots");
                VecDeque::new()
            }
        };
    if !backlog.is_empty() {
        tracing::info!(
            hits = backlog.len(),
            "taking screenshots left from an earlier run"
        );
    }
    let mut seen = HashSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        // New hits first (their pages are freshest); the backlog when the queue is idle.
        let (t, recovered) = match rx.try_recv() {
            Ok(t) => (t, false),
            Err(_) => match backlog.pop_front() {
                Some(t) => (t, true),
                None => tokio::select! {
                    next = rx.recv() => match next {
                        Some(t) => (t, false),
                        None => break,
                    },
                    _ = stop.changed() => break,
                },
            },
        };
        if !seen.insert(t.hit_id) {
            continue;
        }
        if recovered {
            r.stats.recovered += 1;
        }
        tokio::select! {
            () = r.one(&t) => {}
            _ = stop.changed() => {
                tracing::info!(hit = t.hit_id, "stopping: screenshot abandoned (taken at the next start)");
                break;
            }
        }
    }
    if let Some(s) = r.shooter.take() {
        s.close().await;
    }
    r.stats
}

impl Run {
    async fn one(&mut self, t: &ShotTarget) {
        let outcome = match self.shooter().await {
            Some(shooter) => shooter.capture(t).await.map_err(|e| e.to_string()),
            None => Err(self.unavailable.clone().unwrap_or_default()),
        };
        let (ev, t2) = (Arc::clone(&self.evidence), t.clone());
        let written = tokio::task::spawn_blocking(move || match outcome {
            Ok(c) => save(&ev, &t2, &c).map(|_| true),
            Err(reason) => save_note(&ev, &t2, &reason, Utc::now()).map(|_| false),
        })
        .await;
        match written {
            Ok(Ok(true)) => {
                self.stats.captured += 1;
                tracing::info!(hit = t.hit_id, url = %t.url, "screenshot taken");
            }
            Ok(Ok(false)) => {
                self.stats.notes += 1;
                tracing::info!(hit = t.hit_id, url = %t.url, "no screenshot; note kept");
            }
            Ok(Err(e)) => {
                self.stats.failed += 1;
                tracing::error!(hit = t.hit_id, error = %e, "cannot write the screenshot evidence");
            }
            Err(e) => {
                self.stats.failed += 1;
                tracing::error!(hit = t.hit_id, error = %e, "the screenshot writer stopped");
            }
        }
    }

    /// The browser, started (or restarted after a crash) on demand; `None` when there is
    /// none (the reason is in `unavailable`).
    async fn shooter(&mut self) -> Option<&Shooter> {
        if self.unavailable.is_some() {
            return None;
        }
        if self.shooter.as_ref().is_some_and(Shooter::is_broken) {
            tracing::warn!("restarting the browser after a failed tab");
            if let Some(s) = self.shooter.take() {
                s.close().await;
            }
        }
        if self.shooter.is_none() {
            match Shooter::launch(&self.config).await {
                Ok(s) => {
                    tracing::info!(browser = %s.product(), "browser started for screenshots");
                    self.shooter = Some(s.with_guard(self.guard.clone()));
                }
                Err(e) => {
                    tracing::warn!(
                        "no screenshots: {e}; a note is kept with each hit's evidence instead"
                    );
                    self.unavailable = Some(e.to_string());
                    return None;
                }
            }
        }
        self.shooter.as_ref()
    }
}
