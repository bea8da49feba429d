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

mod poll;
pub mod progress;
mod schedule;
mod sendto;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::analyze::{AnalyzeError, Analyzer};
use crate::config::{SourceConfig, Target, Watchlist};
use crate::evidence::{Evidence, EvidenceError};
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use crate::model::Post;
use crate::sources::{self, Source, SourceError};
use crate::store::{Hit, Store, StoreError};
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
