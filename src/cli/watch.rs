//! `mimamori watch [--config F] [--once]`: polls every configured source, records hits in
//! `<data>/state.sqlite` and prints each new hit on stdout as it is found. Runs until Ctrl-C
//! or SIGTERM (in-flight commits finish first; a second signal exits at once); `--once` runs
//! one cycle and exits 0, or 3 when a source, an alert sink or a re-check failed (each reported
//! on stderr). `--metrics-addr ADDR` serves Prometheus metrics at `http://ADDR/metrics`.
//!
//! New hits are handed to the screenshot worker after their commit (headless Chromium; see
//! `mimamori::evidence::screenshot`); `--no-screenshots` or `[evidence] screenshots = false`
//! turns it off. `--once` waits for the queued screenshots before it exits; a signal stops
//! at once and leaves the queued ones to the next start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;

use super::Outcome;
use mimamori::alert::Dispatcher;
use mimamori::evidence::screenshot::worker::{ShotSender, ShotWorker};
use mimamori::evidence::screenshot::{Guard, ShotConfig, ShotTarget};
use mimamori::index::SyncHandle;
use mimamori::recheck::RecheckConfig;
use mimamori::serve::metrics::{Scrape, serve_metrics};
use mimamori::store::{Hit, Store};
use mimamori::watch::progress::Progress;
use mimamori::watch::{Summary, WatchError, WatchEvent, Watcher};

/// Arguments of `watch`.
#[derive(clap::Args)]
pub struct Args {
    /// One TOML file with targets, sources and settings (default: every watchlists/*.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Poll every source once, then exit.
    #[arg(long)]
    once: bool,
    /// Take no screenshots or PDFs of new hits (as `[evidence] screenshots = false`).
    #[arg(long)]
    no_screenshots: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics while watching (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
}

/// Period of the plain progress line when stderr is not a terminal.
const PLAIN_PROGRESS: Duration = Duration::from_secs(30);

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    let watchlist = super::load_watchlist(args.config.as_deref())?;
    let mut shots = ShotConfig::from_watchlist(&watchlist).context("cannot set up screenshots")?;
    shots.enabled &= !args.no_screenshots;
    let store = Arc::new(Store::open(data)?);
    let watcher = match Watcher::from_watchlist(&watchlist, Arc::clone(&store)) {
        Ok(w) => w,
        // The errors name their file already.
        Err(e @ (WatchError::FetchConfig(_) | WatchError::HealthConfig(_))) => anyhow::bail!("{e}"),
        Err(e) => return Err(anyhow::Error::new(e).context("cannot start watching")),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let routes = mimamori::alert::routes(&watchlist).context("cannot set up alerts")?;
    let dispatcher = Arc::new(Dispatcher::new(Arc::clone(&store), routes));
    let recheck = RecheckConfig::from_watchlist(&watchlist).context("cannot set up re-checks")?;
    let rechecker = recheck
        .enabled
        .then(|| Arc::new(watcher.rechecker(recheck)));
    let index = start_index(data, store).map(Arc::new);
    let outcome = runtime.block_on(async {
        let (stop_alerts, alerts) = start_alerts(&dispatcher);
        let (stop_rechecks, rechecks) = tokio::sync::watch::channel(false);
        let recheck_task = match (&rechecker, args.once) {
            (Some(r), false) => Some(tokio::spawn(Arc::clone(r).run(rechecks))),
            _ => None,
        };
        let wake = (!dispatcher.is_empty()).then(|| Arc::clone(&dispatcher));
        let mut outcome = watch(
            watcher,
            args.once,
            data,
            index.clone(),
            shots,
            wake,
            args.metrics_addr,
        )
        .await;
        let mut partial = false;
        if let (Some(r), true) = (&rechecker, args.once) {
            // A cron-driven `watch --once` re-checks what is due, too.
            match r.run_due(chrono::Utc::now(), false, None).await {
                Ok(s) if s.checked > 0 => {
                    eprintln!("mimamori: {s}");
                    partial |= s.failed > 0;
                }
                Ok(_) => {}
                Err(e) => {
                    eprintln!("mimamori: re-checks failed: {e}");
                    partial = true;
                }
            }
        }
        let _ = stop_rechecks.send(true);
        if let Some(t) = recheck_task {
            let _ = t.await;
        }
        stop_alerts_and_wait(stop_alerts, alerts).await;
        if args.once {
            for (sink, error) in dispatcher.failing() {
                eprintln!(
                    "mimamori: alert sink failed: {sink}: {error} (its alerts wait in the outbox and go out on the next run)"
                );
                partial = true;
            }
        }
        if partial && matches!(outcome, Ok(Outcome::Ok)) {
            outcome = Ok(Outcome::Partial);
        }
        outcome
    });
    finish_index(index);
    outcome
}

/// Starts delivering the outbox (nothing to do without `[[alert]]` tables).
pub fn start_alerts(
    dispatcher: &Arc<Dispatcher>,
) -> (
    tokio::sync::watch::Sender<bool>,
    Option<tokio::task::JoinHandle<()>>,
) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let task = (!dispatcher.is_empty()).then(|| tokio::spawn(Arc::clone(dispatcher).run(rx)));
    (tx, task)
}

/// Stops alert delivery after one last round.
pub async fn stop_alerts_and_wait(
    stop: tokio::sync::watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
) {
    let _ = stop.send(true);
    if let Some(t) = task {
        let _ = t.await;
    }
}

/// Starts the search index's writer thread for `data` (see [`SyncHandle`]). The index is
/// derived from the state, so a failure here is reported and watching goes on without it.
pub fn start_index(data: &Path, store: Arc<Store>) -> Option<SyncHandle> {
    match SyncHandle::start(data, store) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("mimamori: not updating the search index: {e}");
            None
        }
    }
}

/// Commits the last posts into the index and stops its thread.
pub fn finish_index(index: Option<Arc<SyncHandle>>) {
    let Some(handle) = index.and_then(|h| Arc::try_unwrap(h).ok()) else {
        return;
    };
    match handle.finish() {
        Ok(stats) => tracing::info!(posts = stats.posts, "search index updated"),
        Err(e) => eprintln!("mimamori: search index: {e}"),
    }
}

async fn watch(
    watcher: Watcher,
    once: bool,
    data: &Path,
    index: Option<Arc<SyncHandle>>,
    shots: ShotConfig,
    alerts: Option<Arc<Dispatcher>>,
    metrics_addr: Option<std::net::SocketAddr>,
) -> anyhow::Result<Outcome> {
    let worker = match watcher.evidence() {
        Some(evidence) if shots.enabled => Some(ShotWorker::start(
            Arc::clone(evidence),
            Arc::clone(watcher.store()),
            shots,
            Guard::new(Some(watcher.fetcher().clone())),
        )),
        _ => None,
    };
    if let Some(addr) = metrics_addr {
        let scrape = Scrape {
            store: Arc::clone(watcher.store()),
            data: data.to_path_buf(),
            fetcher: Some(watcher.fetcher().clone()),
            shots: worker.as_ref().map(ShotWorker::sender),
        };
        let bound = serve_metrics(addr, scrape)
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        eprintln!("mimamori: metrics on http://{bound}/metrics");
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = Arc::new(watcher.with_events(tx));
    let progress = Arc::new(Progress::start(Arc::clone(&watcher), PLAIN_PROGRESS));
    // With --once, failures are reported once in the summary.
    let printer = tokio::spawn(print_events(
        rx,
        Arc::clone(&progress),
        !once,
        index,
        worker.as_ref().map(ShotWorker::sender),
        alerts,
    ));
    let summary = if once {
        watcher.run_once(shutdown_signal()).await
    } else {
        watcher.run(shutdown_signal()).await
    };
    // The progress task holds the watcher, and the watcher the event sender: stop it so the
    // printer sees the channel close.
    progress.stop();
    drop(watcher);
    let _ = printer.await;
    if let Some(worker) = worker {
        // A signal must stop the service within seconds: what is left in the queue has no
        // ledger entry yet, so the next start's recovery takes it.
        let stats = if once {
            worker.finish().await
        } else {
            worker.stop().await
        };
        tracing::info!(
            captured = stats.captured,
            notes = stats.notes,
            recovered = stats.recovered,
            dropped = stats.dropped,
            failed = stats.failed,
            "screenshots done"
        );
        if stats.failed > 0 {
            eprintln!(
                "mimamori: {} screenshot(s) could not be written (see the errors above)",
                stats.failed
            );
        }
    }
    if let Ok(p) = Arc::try_unwrap(progress) {
        p.finish();
    }
    report(&summary, data, once)
}

/// Prints new hits on stdout and failures on stderr as they come.
async fn print_events(
    mut rx: mpsc::UnboundedReceiver<WatchEvent>,
    progress: Arc<Progress>,
    failures: bool,
    index: Option<Arc<SyncHandle>>,
    shots: Option<ShotSender>,
    alerts: Option<Arc<Dispatcher>>,
) {
    while let Some(ev) = rx.recv().await {
        match ev {
            WatchEvent::Hit { hit, post } => {
                // The hit is committed (with its outbox row): send it now.
                if let Some(alerts) = &alerts {
                    alerts.wake();
                }
                progress.println(&hit_line(&hit));
                if let Some(shots) = &shots {
                    shots.submit(ShotTarget::of_hit(&hit, Some(post.source_url.clone())));
                }
            }
            WatchEvent::Failed { source_id, error } if failures => {
                progress.println_err(&format!(
                    "mimamori: {source_id}: {}",
                    super::line(&error.to_string())
                ));
            }
            WatchEvent::Polled(report) if report.new_posts > 0 => {
                if let Some(index) = &index {
                    index.wake();
                }
            }
            WatchEvent::Health(event) => {
                // Committed with its operational alert: send it now, and say it here too.
                if let Some(alerts) = &alerts {
                    alerts.wake();
                }
                progress.println_err(&format!(
                    "mimamori: source {} is now {}: {}",
                    event.source_id, event.state, event.detail
                ));
            }
            WatchEvent::Failed { .. } | WatchEvent::Polled(_) => {}
        }
    }
}

/// One line per hit: `HIT  75 yamada defamation,insult https://… [phone]`; a crawled URL's
/// control and bidi characters are shown as `<U+XXXX>`.
pub fn hit_line(hit: &Hit) -> String {
    let pii = if hit.pii.is_empty() {
        String::new()
    } else {
        format!(" [{}]", hit.pii.join(","))
    };
    format!(
        "HIT {:>3} {} {} {}{}",
        hit.severity,
        hit.target,
        hit.categories.join(","),
        super::line(&hit.url),
        pii
    )
}

fn report(summary: &Summary, data: &Path, once: bool) -> anyhow::Result<Outcome> {
    let t = &summary.totals;
    for (source, error) in &summary.failing {
        eprintln!("mimamori: source failed: {source}: {}", super::line(error));
    }
    eprintln!(
        "mimamori: {} sources, {} polls, {} requests, {} new posts, {} new hits{}; state in {}",
        t.sources,
        t.polls,
        t.requests,
        t.new_posts,
        t.hits,
        if once && summary.interrupted {
            " (interrupted)"
        } else {
            ""
        },
        data.join(mimamori::store::STATE_FILE).display()
    );
    if once && !summary.failing.is_empty() {
        return Ok(Outcome::Partial);
    }
    Ok(Outcome::Ok)
}

/// Resolves on the first Ctrl-C or SIGTERM; a second one exits the process at once.
pub async fn shutdown_signal() {
    wait_signal().await;
    eprintln!("mimamori: stopping after the commits in flight (press Ctrl-C again to quit now)");
    tokio::spawn(async {
        wait_signal().await;
        std::process::exit(130);
    });
}

async fn wait_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A hit whose URL was written to take over the terminal.
    pub(crate) fn hostile_hit() -> Hit {
        Hit {
            id: 1,
            post_key: "5ch:x/1/1".into(),
            source_id: "5ch-test".into(),
            target: "yamada".into(),
            categories: vec!["defamation".into()],
            pii: vec![],
            severity: 80,
            posted_at: None,
            url: "https://egg.5ch.net/x\x1b]0;pwned\x07\u{202E}lmth.\n#2 HIT 99".into(),
            matches: vec![mimamori::store::HitMatch {
                kind: "risk".into(),
                label: "defamation:詐欺".into(),
                text: "詐\x1b[2J欺".into(),
                field: None,
                start: None,
                end: None,
            }],
            created_at: "2026-01-01T00:00:00Z".into(),
            status: "new".into(),
        }
    }

    #[test]
    fn hit_lines_show_controls_and_stay_one_line() {
        let line = hit_line(&hostile_hit());
        assert!(
            !line
                .chars()
                .any(|c| c.is_control() || mimamori::text::control::is_bidi_control(c)),
            "{line:?}"
        );
        assert!(
            line.ends_with("x<U+001B>]0;pwned<U+0007><U+202E>lmth.<U+000A>#2 HIT 99"),
            "{line}"
        );
    }
}
