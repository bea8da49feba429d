//! One poll of one source, start to commit: load its cursors, fetch (the only phase a shutdown
//! may cancel), drop the keys already seen, analyze on the blocking pool, capture evidence of
//! flagged posts with their thread pages, then commit everything in one transaction and report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{PollError, PollReport, Scheduled, WatchEvent, Watcher, error_chain, stopped};
use crate::analyze::{Analysis, Analyzer};
use crate::model::Post;
use crate::sources::{Capture, PollContext};
use crate::store::{PollHealth, StoreError};

impl Watcher {
    /// Fetches the thread page of each thread with flagged posts (see
    /// [`Source::context_request`]), one request per thread. A page that cannot be fetched
    /// becomes a note: the post's own response is the primary evidence, and the hit must not
    /// wait for a retry.
    async fn context_pages(
        &self,
        s: &Scheduled,
        analyzed: &[(Post, Analysis)],
        notes: &mut Vec<String>,
    ) -> Vec<Capture> {
        let mut threads: BTreeMap<&str, Vec<&Post>> = BTreeMap::new();
        for (p, _) in analyzed.iter().filter(|(_, a)| a.flagged) {
            threads
                .entry(crate::spread::thread_of(&p.key))
                .or_default()
                .push(p);
        }
        let mut out = Vec::new();
        for posts in threads.values() {
            let Some(req) = s.source.context_request(posts) else {
                continue;
            };
            let url = req.url.to_string();
            match self.fetcher.fetch(req).await {
                Ok(resp) if resp.status == 200 => out.push(Capture {
                    response: resp,
                    post_keys: posts.iter().map(|p| p.key.clone()).collect(),
                }),
                Ok(resp) => notes.push(format!(
                    "{url}: thread page not captured: HTTP {}",
                    resp.status
                )),
                Err(e) => notes.push(format!("{url}: thread page not captured: {e}")),
            }
        }
        out
    }

    /// Polls source `i` once: fetch (cancelled if `stop` turns true), drop seen keys,
    /// analyze, commit, report. Failures are recorded in the source's health.
    pub async fn poll_source(
        &self,
        i: usize,
        stop: Option<&mut watch::Receiver<bool>>,
    ) -> Result<PollReport, PollError> {
        let started = Instant::now();
        let s = &self.sources[i];
        let result = self.poll_inner(s, stop, started).await;
        match &result {
            Ok(report) => {
                self.set_failing(&s.id, None);
                crate::metrics::inc(
                    "mimamori_polls_total",
                    &[("source", &s.id), ("outcome", "ok")],
                );
                crate::metrics::add(
                    "mimamori_posts_seen_total",
                    &[("source", &s.id)],
                    report.new_posts as u64,
                );
                self.record_health(&s.id, None, report.parsed_nothing.as_deref())
                    .await;
                tracing::info!(
                    source = %s.id, new_posts = report.new_posts, hits = report.hits,
                    requests = report.requests, bytes = report.bytes, "poll done"
                );
                for note in &report.notes {
                    tracing::info!(source = %s.id, note = %note, "poll note");
                }
                self.emit(WatchEvent::Polled(report.clone()));
            }
            Err(PollError::Cancelled) => {
                tracing::debug!(source = %s.id, "poll cancelled by shutdown")
            }
            Err(PollError::Failed(error)) => {
                self.counters.failed_polls.fetch_add(1, Ordering::Relaxed);
                crate::metrics::inc(
                    "mimamori_polls_total",
                    &[("source", &s.id), ("outcome", "failed")],
                );
                self.set_failing(&s.id, Some(error.clone()));
                tracing::info!(source = %s.id, error = %error, "poll failed");
                let (store, id, msg) = (self.store.clone(), s.id.clone(), error.clone());
                match blocking(move || store.record_error(&id, &msg)).await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::error!(source = %s.id, error = %e, "cannot record the poll error")
                    }
                }
                self.record_health(&s.id, Some(error), None).await;
                self.emit(WatchEvent::Failed {
                    source_id: s.id.clone(),
                    error: error.clone(),
                });
            }
        }
        result
    }

    /// Records what a poll said about the source's health — its error when it failed, or why
    /// it parsed nothing — and reports a change (an event, and an operational alert). A
    /// failure to record it is logged: the poll itself stands.
    async fn record_health(&self, id: &str, error: Option<&str>, parsed_nothing: Option<&str>) {
        let (store, source, policy) = (self.store.clone(), id.to_string(), self.health);
        let (error, nothing) = (
            error.map(str::to_string),
            parsed_nothing.map(str::to_string),
        );
        let changed = blocking(move || {
            let poll = match &error {
                Some(error) => PollHealth::Failed { error },
                None => PollHealth::Ok {
                    parsed_nothing: nothing.as_deref(),
                },
            };
            store.record_health(&source, poll, &policy, Utc::now())
        })
        .await;
        match changed {
            Ok(Some(event)) => {
                tracing::warn!(source = %event.source_id, state = %event.state, detail = %event.detail, "source health changed");
                self.emit(WatchEvent::Health(event));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(source = %id, error = %e, "cannot record the source's health")
            }
        }
    }

    async fn poll_inner(
        &self,
        s: &Scheduled,
        stop: Option<&mut watch::Receiver<bool>>,
        started: Instant,
    ) -> Result<PollReport, PollError> {
        let failed = |e: &dyn std::error::Error| PollError::Failed(error_chain(e));
        let (store, id) = (self.store.clone(), s.id.clone());
        let cursors = blocking(move || store.load_cursors(&id))
            .await
            .map_err(|e| failed(&e))?;

        // Fetch: the only phase a shutdown may cancel (nothing is stored yet).
        let lock = self.host_locks.get(&s.host).cloned().unwrap_or_default();
        let fetch = async {
            let _host = lock.lock().await;
            let ctx = PollContext {
                fetcher: &self.fetcher,
                targets: &self.targets,
                cursors: &cursors,
                now: Utc::now(),
            };
            s.source.poll(&ctx).await
        };
        let out = match stop {
            Some(rx) => tokio::select! {
                r = fetch => r,
                () = stopped(rx) => return Err(PollError::Cancelled),
            },
            None => fetch.await,
        }
        .map_err(|e| failed(&e))?;

        // From here on the poll runs to its commit.
        let total = out.posts.len();
        let keys: Vec<String> = out.posts.iter().map(|p| p.key.clone()).collect();
        let store = self.store.clone();
        let unseen: HashSet<String> = blocking(move || store.filter_unseen(&keys))
            .await
            .map_err(|e| failed(&e))?
            .into_iter()
            .collect();
        let mut taken = HashSet::new();
        let fresh: Vec<Post> = out
            .posts
            .into_iter()
            .filter(|p| unseen.contains(&p.key) && taken.insert(p.key.clone()))
            .collect();
        let new_post_bytes = fresh.iter().map(|p| p.body.len() as u64).sum();
        let analyzed = analyze_all(&self.analyzer, fresh)
            .await
            .map_err(|e| PollError::Failed(e.to_string()))?;
        let new_posts = analyzed.len();

        // Evidence before the commit: once committed, the response is never fetched again.
        let mut notes = out.notes;
        let (analyzed, evidence_entries) = match &self.evidence {
            Some(evidence) if analyzed.iter().any(|(_, a)| a.flagged) => {
                let context = self.context_pages(s, &analyzed, &mut notes).await;
                let (evidence, captures) = (Arc::clone(evidence), out.captures);
                let joined = tokio::task::spawn_blocking(move || {
                    let flagged: Vec<(&Post, &Analysis)> = analyzed
                        .iter()
                        .filter(|(_, a)| a.flagged)
                        .map(|(p, a)| (p, a))
                        .collect();
                    let entries = evidence
                        .capture(&captures, &context, &flagged)
                        .map(|e| e.len());
                    (analyzed, entries)
                })
                .await
                .map_err(|e| PollError::Failed(format!("evidence task failed: {e}")))?;
                match joined {
                    (analyzed, Ok(n)) => (analyzed, n),
                    (_, Err(e)) => return Err(failed(&e)),
                }
            }
            _ => (analyzed, 0),
        };
        if evidence_entries > 0 {
            tracing::debug!(source = %s.id, captures = evidence_entries, "evidence captured");
        }

        let (store, id) = (self.store.clone(), s.id.clone());
        let (updates, requests, bytes) = (out.cursor_updates, out.requests, out.bytes);
        let parsed_nothing = out.parsed_nothing;
        let (hits, analyzed, notes) = blocking(move || {
            let hits = store.commit_poll(&id, &updates, &analyzed, &notes)?;
            if let Err(e) = store.record_traffic(&id, requests, bytes) {
                tracing::warn!(source = %id, error = %e, "cannot record traffic counters");
            }
            Ok::<_, StoreError>((hits, analyzed, notes))
        })
        .await
        .map_err(|e| failed(&e))?;

        let c = &self.counters;
        c.polls.fetch_add(1, Ordering::Relaxed);
        c.requests.fetch_add(requests, Ordering::Relaxed);
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
        c.new_posts.fetch_add(new_posts as u64, Ordering::Relaxed);
        c.hits.fetch_add(hits.len() as u64, Ordering::Relaxed);
        let report = PollReport {
            source_id: s.id.clone(),
            kind: s.source.kind().to_string(),
            posts: total,
            new_posts,
            new_post_bytes,
            hits: hits.len(),
            requests,
            bytes,
            notes,
            parsed_nothing,
            elapsed: started.elapsed(),
        };
        if !hits.is_empty() {
            let posts: HashMap<&str, Arc<Post>> = analyzed
                .iter()
                .map(|(p, _)| (p.key.as_str(), Arc::new(p.clone())))
                .collect();
            for hit in hits {
                for category in &hit.categories {
                    crate::metrics::inc("mimamori_hits_total", &[("category", category)]);
                }
                self.capture_site(&hit.url);
                if let Some(post) = posts.get(hit.post_key.as_str()) {
                    self.emit(WatchEvent::Hit {
                        post: Arc::clone(post),
                        hit,
                    });
                }
            }
        }
        Ok(report)
    }
}

/// Why blocking store work did not finish.
#[derive(Debug, thiserror::Error)]
enum BlockingError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task panicked or was cancelled by the runtime shutting down.
    #[error("state task failed: {0}")]
    Join(String),
}

/// Runs blocking store work off the executor.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, BlockingError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(BlockingError::Join(e.to_string())),
    }
}

/// Why analysis could not run.
#[derive(Debug, thiserror::Error)]
#[error("analysis task failed: {0}")]
struct AnalysisJoinError(String);

/// Analyzes posts on the blocking pool, split over the cores when there are many.
async fn analyze_all(
    analyzer: &Arc<Analyzer>,
    posts: Vec<Post>,
) -> Result<Vec<(Post, Analysis)>, AnalysisJoinError> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let chunks = if posts.len() < 32 {
        1
    } else {
        cores.min(posts.len() / 16).max(1)
    };
    let per = posts.len().div_ceil(chunks);
    let mut rest = posts;
    let mut handles = Vec::new();
    while !rest.is_empty() {
        let tail = rest.split_off(per.min(rest.len()));
        let chunk = std::mem::replace(&mut rest, tail);
        let a = Arc::clone(analyzer);
        handles.push(tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .map(|p| {
                    let analysis = a.analyze(&p.to_input());
                    (p, analysis)
                })
                .collect::<Vec<_>>()
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.extend(h.await.map_err(|e| AnalysisJoinError(e.to_string()))?);
    }
    Ok(out)
}
