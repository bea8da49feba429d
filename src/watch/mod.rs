//! The watch loop: every configured source is polled on its own schedule, and each poll's new
//! posts are analyzed and committed exactly once.
//!
//! One [`Watcher`] owns one `Fetcher`, one `Analyzer` and one `Store` for every source. A poll
//! of one source goes: load its cursors → `Source::poll` (holding its host's lock, so
//! requests to one host are in series while hosts run in parallel) → drop the post keys
//! already seen → analyze in blocking threads (the analyzer is CPU-bound and must not stall
//! the executor) → [`Store::commit_poll`], which stores seen keys, hits, outbox rows and the
//! advanced cursors in one transaction → report the new hits as [`WatchEvent`]s.
//!
//! Why this is exactly-once: nothing about a poll is durable until its commit, and the commit
//! is atomic. A crash before it re-polls from the old cursors and the seen table drops what
//! an earlier commit already holds; a crash after it finds the cursors advanced. Shutdown
//! (Ctrl-C) cancels polls that are still fetching — harmless, they committed nothing — and
//! lets every poll that reached analysis finish its commit.
//!
//! A failed poll is recorded in the source's state (its health) and the loop goes on; the
//! cursors stay where they were, so nothing is skipped.

pub mod progress;
mod schedule;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::analyze::{Analysis, AnalyzeError, Analyzer};
use crate::config::{SourceConfig, Target, Watchlist};
use crate::evidence::{Evidence, EvidenceError};
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use crate::model::Post;
use crate::sources::{self, Capture, PollContext, Source, SourceError};
use crate::store::{Hit, PollHealth, Store, StoreError};
pub use schedule::{host_key, initial_delay};

/// Shortest poll interval honoured (a misconfigured `every = "0s"` must not spin).
pub const MIN_EVERY: Duration = Duration::from_millis(200);

/// Why the watcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The watchlist has no `[[source]]`.
    #[error("no [[source]] to watch: add a [[source]] table (kind, url, every) to the watchlist")]
    NoSources,
    /// The `[fetch]` table is wrong (the message names the file, line and field).
    #[error("{0}")]
    FetchConfig(String),
    /// A source could not be built from its table.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The analyzer could not be built.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The evidence directory could not be opened.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The `[whois]` table is wrong.
    #[error(transparent)]
    Whois(#[from] crate::rdap::RdapError),
    /// The `[health]` table is wrong (the message names the file, line and field).
    #[error("{0}")]
    HealthConfig(String),
}

/// What the watcher reports as it goes.
#[derive(Debug, Clone)]
pub enum WatchEvent {
    /// A hit newly recorded (committed before it is reported).
    Hit {
        /// The hit as stored.
        hit: Hit,
        /// The post it is about (never log its body).
        post: Arc<Post>,
    },
    /// A poll finished and was committed.
    Polled(PollReport),
    /// A poll failed; it is recorded in the source's health and retried on schedule.
    Failed {
        /// The source id.
        source_id: String,
        /// The error, with its chain.
        error: String,
    },
    /// A source's health changed (failing, parsing nothing, recovered); committed with its
    /// operational alert, which the dispatcher delivers.
    Health(crate::store::HealthEvent),
}

/// One committed poll.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// The source id.
    pub source_id: String,
    /// Its kind.
    pub kind: String,
    /// Posts the source returned.
    pub posts: usize,
    /// Posts not seen before (analyzed and committed).
    pub new_posts: usize,
    /// UTF-8 bytes of the new posts' bodies.
    pub new_post_bytes: u64,
    /// Hits newly recorded.
    pub hits: usize,
    /// Requests made.
    pub requests: u64,
    /// Bytes fetched.
    pub bytes: u64,
    /// The source's notes (skipped items, dat落ち…).
    pub notes: Vec<String>,
    /// Why a page that should list posts listed none (see
    /// [`crate::sources::PollOutput::parsed_nothing`]).
    pub parsed_nothing: Option<String>,
    /// Wall time of the poll, commit included.
    pub elapsed: Duration,
}

/// Counters over the watcher's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Sources watched.
    pub sources: usize,
    /// Polls committed.
    pub polls: u64,
    /// Polls that failed.
    pub failed_polls: u64,
    /// Requests made.
    pub requests: u64,
    /// Bytes fetched.
    pub bytes: u64,
    /// New posts analyzed.
    pub new_posts: u64,
    /// Hits recorded.
    pub hits: u64,
    /// Sources whose last poll failed.
    pub failing: usize,
}

/// How a run ended.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Counters at the end.
    pub totals: Totals,
    /// Sources whose last poll failed, with the error.
    pub failing: BTreeMap<String, String>,
    /// True when the run was stopped by the shutdown signal before it finished its polls.
    pub interrupted: bool,
}

/// Why one poll did not commit.
#[derive(Debug)]
pub enum PollError {
    /// The shutdown signal came while it was fetching (nothing was committed).
    Cancelled,
    /// It failed (recorded in the source's health).
    Failed(String),
}

struct Scheduled {
    source: Arc<dyn Source>,
    id: String,
    host: String,
}

#[derive(Default)]
struct Counters {
    polls: AtomicU64,
    failed_polls: AtomicU64,
    requests: AtomicU64,
    bytes: AtomicU64,
    new_posts: AtomicU64,
    hits: AtomicU64,
}

/// Polls sources, analyzes and commits. Build once, share as `Arc<Watcher>`.
pub struct Watcher {
    sources: Vec<Scheduled>,
    fetcher: Fetcher,
    analyzer: Arc<Analyzer>,
    store: Arc<Store>,
    targets: Vec<Target>,
    host_locks: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
    counters: Counters,
    failing: Mutex<BTreeMap<String, String>>,
    events: Option<mpsc::UnboundedSender<WatchEvent>>,
    evidence: Option<Arc<Evidence>>,
    /// RDAP client for the 送付先 capture of new hits' sites, and the (site, UTC day) pairs
    /// already asked about.
    rdap: Option<(Arc<crate::rdap::Rdap>, Arc<Mutex<AskedSites>>)>,
    /// When a source's health changes (`[health]`).
    health: crate::store::HealthPolicy,
}

/// (site, UTC day) pairs whose RDAP record was asked for.
type AskedSites = HashSet<(String, String)>;

/// A function that builds the source for a `[[source]]` table (`sources::build` by default).
pub type BuildSource = dyn Fn(&SourceConfig) -> Result<Box<dyn Source>, SourceError>;

/// The `[fetch]` settings of a watchlist (defaults when absent).
pub fn fetch_config(watchlist: &Watchlist) -> Result<FetchConfig, WatchError> {
    Ok(watchlist
        .section("fetch", 0, "[fetch]")
        .map_err(WatchError::FetchConfig)?
        .unwrap_or_default())
}

impl Watcher {
    /// Builds the sources, fetcher (from `[fetch]`) and analyzer of a watchlist. Blocking: the
    /// analyzer loads its dictionary.
    pub fn from_watchlist(watchlist: &Watchlist, store: Arc<Store>) -> Result<Watcher, WatchError> {
        Self::from_watchlist_with(watchlist, store, &sources::build)
    }

    /// [`Watcher::from_watchlist`] with another source builder (the demo gives the simulated
    /// SNS its credentials this way, without touching the process environment).
    pub fn from_watchlist_with(
        watchlist: &Watchlist,
        store: Arc<Store>,
        build: &BuildSource,
    ) -> Result<Watcher, WatchError> {
        if watchlist.sources.is_empty() {
            return Err(WatchError::NoSources);
        }
        let fetcher = Fetcher::new(fetch_config(watchlist)?)?;
        let analyzer = Analyzer::new(watchlist)?;
        let mut built = Vec::new();
        for cfg in &watchlist.sources {
            let source: Arc<dyn Source> = Arc::from(build(cfg)?);
            built.push((source, host_key(&cfg.url)));
        }
        let data = store
            .path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let evidence = Evidence::open(&data)?;
        let whois = crate::rdap::WhoisConfig::from_watchlist(watchlist)?;
        let health = crate::store::HealthPolicy::from_watchlist(watchlist)
            .map_err(WatchError::HealthConfig)?;
        let mut watcher =
            Watcher::with_sources(built, fetcher, analyzer, store, watchlist.targets.clone())
                .with_evidence(evidence);
        watcher.health = health;
        if whois.capture.unwrap_or(true) {
            let servers = crate::rdap::Servers::choose(None, None, &whois)?;
            let rdap_fetcher = Fetcher::new(crate::rdap::fetch_config(&fetch_config(watchlist)?))?;
            watcher = watcher.with_rdap(crate::rdap::Rdap::new(rdap_fetcher, servers));
        }
        Ok(watcher)
    }

    /// A watcher over given sources, each with the host it talks to (tests, benchmarks).
    pub fn with_sources(
        sources: Vec<(Arc<dyn Source>, String)>,
        fetcher: Fetcher,
        analyzer: Analyzer,
        store: Arc<Store>,
        targets: Vec<Target>,
    ) -> Watcher {
        let mut host_locks = HashMap::new();
        let sources = sources
            .into_iter()
            .map(|(source, host)| {
                host_locks
                    .entry(host.clone())
                    .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())));
                Scheduled {
                    id: source.id().to_string(),
                    source,
                    host,
                }
            })
            .collect();
        Watcher {
            sources,
            fetcher,
            analyzer: Arc::new(analyzer),
            store,
            targets,
            host_locks,
            counters: Counters::default(),
            failing: Mutex::new(BTreeMap::new()),
            events: None,
            evidence: None,
            rdap: None,
            health: crate::store::HealthPolicy::default(),
        }
    }

    /// Keeps the RDAP record of each new hit's site (one per site per UTC day) as evidence,
    /// asked with `client` in the background after the commit (needs evidence).
    pub fn with_rdap(mut self, client: crate::rdap::Rdap) -> Watcher {
        self.rdap = Some((Arc::new(client), Arc::default()));
        self
    }

    /// Starts the background 送付先 capture of the site of `url`, unless asked today already.
    fn capture_site(&self, url: &str) {
        let (Some(evidence), Some((client, asked))) = (&self.evidence, &self.rdap) else {
            return;
        };
        let Ok(query) = crate::evidence::sendto::query_of_url(url) else {
            return;
        };
        if query.unanswerable().is_some() {
            return;
        }
        let key = (query.subject(), Utc::now().format("%Y%m%d").to_string());
        if !asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            return;
        }
        let (evidence, client) = (Arc::clone(evidence), Arc::clone(client));
        tokio::spawn(async move {
            let subject = key.0;
            let kept = {
                let (evidence, subject) = (Arc::clone(&evidence), subject.clone());
                tokio::task::spawn_blocking(move || {
                    crate::evidence::sendto::kept_today(&evidence, &subject)
                })
                .await
            };
            if matches!(kept, Ok(Ok(Some(_)))) {
                return;
            }
            let answer = match client.lookup(&query).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::info!(site = %subject, error = %e, "no RDAP record kept for the site");
                    return;
                }
            };
            let saved = tokio::task::spawn_blocking(move || {
                crate::evidence::sendto::save_rdap(&evidence, &answer)
            })
            .await;
            match saved {
                Ok(Ok(e)) => tracing::debug!(site = %subject, path = %e.path, "RDAP record kept"),
                Ok(Err(e)) => {
                    tracing::warn!(site = %subject, error = %e, "cannot keep the RDAP record")
                }
                Err(e) => tracing::warn!(site = %subject, error = %e, "RDAP capture task failed"),
            }
        });
    }

    /// Captures the responses of flagged posts into `evidence` before each commit.
    pub fn with_evidence(mut self, evidence: Evidence) -> Watcher {
        self.evidence = Some(Arc::new(evidence));
        self
    }

    /// The evidence writer, when capturing (share it: one writer per data directory keeps
    /// the ledger's chain head in memory).
    pub fn evidence(&self) -> Option<&Arc<Evidence>> {
        self.evidence.as_ref()
    }

    /// Sends every [`WatchEvent`] to `tx` from now on.
    pub fn with_events(mut self, tx: mpsc::UnboundedSender<WatchEvent>) -> Watcher {
        self.events = Some(tx);
        self
    }

    /// A [`Rechecker`](crate::recheck::Rechecker) over this watcher's sources, fetcher, store
    /// and evidence.
    pub fn rechecker(&self, config: crate::recheck::RecheckConfig) -> crate::recheck::Rechecker {
        crate::recheck::Rechecker::new(
            self.sources.iter().map(|s| Arc::clone(&s.source)).collect(),
            self.fetcher.clone(),
            Arc::clone(&self.store),
            self.evidence.clone(),
            config,
        )
    }

    /// The ids of the sources, in config order.
    pub fn source_ids(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.id.as_str()).collect()
    }

    /// The shared fetcher.
    pub fn fetcher(&self) -> &Fetcher {
        &self.fetcher
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Counters so far.
    pub fn totals(&self) -> Totals {
        let c = &self.counters;
        Totals {
            sources: self.sources.len(),
            polls: c.polls.load(Ordering::Relaxed),
            failed_polls: c.failed_polls.load(Ordering::Relaxed),
            requests: c.requests.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            new_posts: c.new_posts.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            failing: self.failing_now().len(),
        }
    }

    fn failing_now(&self) -> BTreeMap<String, String> {
        match self.failing.lock() {
            Ok(f) => f.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_failing(&self, id: &str, error: Option<String>) {
        let mut f = match self.failing.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        match error {
            Some(e) => f.insert(id.to_string(), e),
            None => f.remove(id),
        };
    }

    fn summary(&self, interrupted: bool) -> Summary {
        Summary {
            totals: self.totals(),
            failing: self.failing_now(),
            interrupted,
        }
    }

    fn emit(&self, event: WatchEvent) {
        if let Some(tx) = &self.events {
            // The receiver may be gone (the printer stopped); the state is stored anyway.
            let _ = tx.send(event);
        }
    }

    /// Polls every source once — hosts in parallel, one host's sources in series — and
    /// returns when all have committed or failed, or when `shutdown` resolves (polls that
    /// are committing finish first).
    pub async fn run_once(self: &Arc<Self>, shutdown: impl Future<Output = ()>) -> Summary {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut by_host: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, s) in self.sources.iter().enumerate() {
            by_host.entry(s.host.as_str()).or_default().push(i);
        }
        let mut set = JoinSet::new();
        for indices in by_host.into_values() {
            let w = Arc::clone(self);
            let mut rx = stop_rx.clone();
            set.spawn(async move {
                for i in indices {
                    if *rx.borrow() {
                        return true;
                    }
                    if let Err(PollError::Cancelled) = w.poll_source(i, Some(&mut rx)).await {
                        return true;
                    }
                }
                false
            });
        }
        let mut interrupted = false;
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                joined = set.join_next() => match joined {
                    None => break,
                    Some(Ok(cancelled)) => interrupted |= cancelled,
                    Some(Err(e)) => tracing::error!(error = %e, "a poll task panicked"),
                },
                () = &mut shutdown, if !*stop_tx.borrow() => {
                    let _ = stop_tx.send(true);
                    interrupted = true;
                }
            }
        }
        self.summary(interrupted)
    }

    /// Polls every source on its own schedule (first polls spread over the first interval)
    /// until `shutdown` resolves, then lets in-flight commits finish and returns.
    pub async fn run(self: &Arc<Self>, shutdown: impl Future<Output = ()>) -> Summary {
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut set = JoinSet::new();
        for i in 0..self.sources.len() {
            let w = Arc::clone(self);
            let rx = stop_rx.clone();
            set.spawn(async move { w.source_loop(i, rx).await });
        }
        shutdown.await;
        tracing::info!("stopping: finishing the polls that are committing");
        let _ = stop_tx.send(true);
        while let Some(joined) = set.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a source task panicked");
            }
        }
        self.summary(true)
    }

    async fn source_loop(self: Arc<Self>, i: usize, mut stop: watch::Receiver<bool>) {
        let s = &self.sources[i];
        let every = s.source.every().max(MIN_EVERY);
        let mut next = Instant::now() + initial_delay(&s.id, every);
        loop {
            if sleep_until_or_stop(next, &mut stop).await {
                return;
            }
            next += every;
            if let Err(PollError::Cancelled) = self.poll_source(i, Some(&mut stop)).await {
                return;
            }
            // A poll longer than the interval: start the next one now, do not burst.
            let now = Instant::now();
            if next < now {
                next = now;
            }
        }
    }

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

/// An error with its causes, `: `-joined.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
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

/// Resolves when the stop flag turns true (or its sender is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Sleeps until `t`; true if the stop flag turned true first.
async fn sleep_until_or_stop(t: Instant, rx: &mut watch::Receiver<bool>) -> bool {
    if *rx.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep_until(t) => *rx.borrow(),
        () = stopped(rx) => true,
    }
}
