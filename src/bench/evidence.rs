//! `mimamori bench evidence`: the cost of keeping evidence and of alerting, each against a
//! peer measured in the same run on the same data.
//!
//! 1. **Capture cost per hit** (no screenshots): for each generated hit, [`Evidence::capture`]
//!    of a board's differential dat response (the post's own bytes, Shift_JIS) and of its
//!    read.cgi thread page (21 posts): WARC request/response/metadata records, gzip per
//!    record, `fsync`, a hash-chained ledger line each. Peer: the *bare archiver* — the same
//!    records, gzipped, appended and `fsync`ed, with no ledger — which is the floor of any
//!    durable WARC writer. Reported: ms per hit (mean, p99), bytes per hit, the ratio.
//! 2. **Alert latency**: hits are committed with their outbox rows one after another; `watch`
//!    wakes the [`Dispatcher`] after each commit, which posts to a webhook receiver on
//!    127.0.0.1. The latency is commit → receipt. Peer: the same JSON posted directly with a
//!    fresh HTTP request (no outbox, no state), the floor of loopback HTTP. Goal: p99 ≤ 1 s.
//! 3. **`evidence verify` throughput**: [`ledger::verify`] over the evidence written in 1
//!    (every range re-hashed, the chain checked), MB/s, against `sha256sum` over the same
//!    files (coreutils; skipped, said, when missing).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde::Serialize;

use crate::alert::{self, Dispatcher};
use crate::analyze::{Analysis, Analyzer};
use crate::bench::index::Latency;
use crate::bench::{BenchError, MB, builtin_watchlist};
use crate::evidence::{Evidence, ledger};
use crate::fetch::FetchResponse;
use crate::model::Post;
use crate::simweb::corpus::{Generator, SplitMix64};
use crate::sources::Capture;
use crate::store::Store;

/// Goal of the issue: alert delivery p99 at most this, on loopback.
pub const GOAL_ALERT_P99: Duration = Duration::from_secs(1);
/// Posts on the captured thread page.
const PAGE_POSTS: usize = 21;

/// Options of the evidence benchmark.
#[derive(Debug, Clone)]
pub struct EvidenceBenchOptions {
    /// Hits captured.
    pub hits: usize,
    /// Alerts delivered (and posted directly, for the peer).
    pub alerts: usize,
    /// Generator seed.
    pub seed: u64,
    /// Work directory; `evidence-bench/` inside it is removed at the start.
    pub workdir: PathBuf,
}

impl Default for EvidenceBenchOptions {
    fn default() -> Self {
        EvidenceBenchOptions {
            hits: 1_000,
            alerts: 200,
            seed: 42,
            workdir: PathBuf::from("target/bench"),
        }
    }
}

/// What went wrong in the evidence benchmark.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceBenchError {
    /// Generating, writing files or the report failed.
    #[error(transparent)]
    Bench(#[from] BenchError),
    /// The analyzer could not be built.
    #[error("cannot build the analyzer: {0}")]
    Analyzer(#[from] crate::analyze::AnalyzeError),
    /// Writing or verifying evidence failed.
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The alert set-up failed.
    #[error(transparent)]
    Alert(#[from] alert::AlertError),
    /// A step failed (receiver, runtime, peer).
    #[error("{0}")]
    Step(String),
}

/// The figures of one run.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceBenchReport {
    /// Hits captured.
    pub hits: usize,
    /// Capture per hit (dat response + thread page), milliseconds.
    pub capture: Latency,
    /// Mean capture per hit, milliseconds.
    pub capture_mean_ms: f64,
    /// Bytes written per hit (WARC members and ledger lines).
    pub bytes_per_hit: f64,
    /// The bare archiver per hit (same records, gzip + append + fsync), milliseconds.
    pub bare: Latency,
    /// Mean of the bare archiver per hit, milliseconds.
    pub bare_mean_ms: f64,
    /// Capture mean ÷ bare mean.
    pub capture_vs_bare: f64,
    /// Commit → webhook receipt, milliseconds.
    pub alert: Latency,
    /// A direct POST of the same JSON, milliseconds.
    pub direct: Latency,
    /// `evidence verify` throughput, MB/s.
    pub verify_mb_s: f64,
    /// `sha256sum` over the same files, MB/s, when it could run.
    pub sha256sum_mb_s: Option<f64>,
    /// Whether the alert p99 goal is met.
    pub alert_goal_met: bool,
}

/// Runs the benchmark, printing the report to `out`.
pub fn run_evidence(
    opts: &EvidenceBenchOptions,
    out: &mut impl Write,
) -> Result<EvidenceBenchReport, EvidenceBenchError> {
    let root = opts.workdir.join("evidence-bench");
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| BenchError::Io { path, what, source }
    };
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(io("remove", &root))?;
    }
    std::fs::create_dir_all(&root).map_err(io("create", &root))?;
    let say =
        |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(BenchError::Output);
    let watchlist = builtin_watchlist()?;
    say(out, "mimamori bench evidence: loading the analyzer…".into())?;
    let analyzer = Analyzer::new(&watchlist)?;
    let hits = generate(opts, &watchlist, &analyzer)?;
    say(
        out,
        format!(
            "{} flagged posts generated (dat line {} B, thread page {} B on average)",
            hits.len(),
            mean_of(hits.iter().map(|h| h.dat.response.body.len())),
            mean_of(hits.iter().map(|h| h.page.response.body.len())),
        ),
    )?;

    // 1. Capture, then the bare archiver on the same records.
    let data = root.join("data");
    let evidence = Evidence::open(&data)?;
    let mut capture_ms = Vec::with_capacity(hits.len());
    for h in &hits {
        let t = Instant::now();
        evidence.capture(
            std::slice::from_ref(&h.dat),
            std::slice::from_ref(&h.page),
            &[(&h.post, &h.analysis)],
        )?;
        capture_ms.push(ms(t.elapsed()));
    }
    let written = dir_bytes(evidence.dir());
    let bare_path = root.join("bare.warc.gz");
    let mut bare_ms = Vec::with_capacity(hits.len());
    let mut bare = std::fs::OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&bare_path)
        .map_err(io("create", &bare_path))?;
    for h in &hits {
        let t = Instant::now();
        for c in [&h.dat, &h.page] {
            let meta = serde_json::json!({"posts": [{"post": &h.post, "analysis": &h.analysis}]});
            let mut bytes = Vec::new();
            for rec in crate::evidence::exchange_records(&c.response, &meta, None)? {
                bytes.extend(rec.to_gzip().map_err(io("compress", &bare_path))?);
            }
            bare.write_all(&bytes)
                .and_then(|()| bare.sync_data())
                .map_err(io("write", &bare_path))?;
        }
        bare_ms.push(ms(t.elapsed()));
    }
    let capture_mean_ms = mean(&capture_ms);
    let bare_mean_ms = mean(&bare_ms);
    let capture = Latency::of(&capture_ms);
    let bare_l = Latency::of(&bare_ms);
    let bytes_per_hit = written as f64 / hits.len().max(1) as f64;
    say(
        out,
        format!(
            "capture per hit (dat + thread page, no screenshots): mean {capture_mean_ms:.2} ms, p99 {:.2} ms, {bytes_per_hit:.0} bytes",
            capture.p99_ms
        ),
    )?;
    say(
        out,
        format!(
            "  bare archiver (same records, gzip + append + fsync, no ledger): mean {bare_mean_ms:.2} ms, p99 {:.2} ms → capture {:.2}× its cost",
            bare_l.p99_ms,
            capture_mean_ms / bare_mean_ms.max(f64::EPSILON)
        ),
    )?;

    // 3. verify, over what 1 wrote (before 2 adds to the state).
    let t = Instant::now();
    let report = ledger::verify(evidence.dir())?;
    let verify_s = t.elapsed().as_secs_f64();
    if let Some((line, why)) = &report.first_break {
        return Err(EvidenceBenchError::Step(format!(
            "evidence verify found a break in fresh evidence at line {line}: {why}"
        )));
    }
    let verify_mb_s = report.bytes as f64 / MB as f64 / verify_s.max(1e-9);
    let sha = sha256sum_mb_s(
        &evidence.dir().join(crate::evidence::WARC_DIR),
        report.bytes,
    );
    say(
        out,
        format!(
            "evidence verify: {} entries, {:.1} MB re-hashed in {verify_s:.3} s = {verify_mb_s:.0} MB/s{}",
            report.entries,
            report.bytes as f64 / MB as f64,
            match sha {
                Some(s) => format!(
                    "; sha256sum over the same files {s:.0} MB/s → verify {:.2}× its speed",
                    verify_mb_s / s
                ),
                None => "; sha256sum: SKIPPED (not installed)".to_string(),
            }
        ),
    )?;

    // 2. Alerts.
    let (alert_l, direct_l) = alert_latency(opts, &root, &hits)?;
    let alert_goal_met = alert_l.p99_ms <= ms(GOAL_ALERT_P99);
    say(
        out,
        format!(
            "alert latency, commit → webhook receipt on 127.0.0.1 ({} alerts): p50 {:.1} ms, p99 {:.1} ms (goal ≤ {} ms: {})",
            alert_l.runs,
            alert_l.p50_ms,
            alert_l.p99_ms,
            GOAL_ALERT_P99.as_millis(),
            if alert_goal_met { "met" } else { "NOT met" }
        ),
    )?;
    say(
        out,
        format!(
            "  direct POST of the same JSON: p50 {:.1} ms, p99 {:.1} ms → outbox p99 {:.1}× the direct p99",
            direct_l.p50_ms,
            direct_l.p99_ms,
            alert_l.p99_ms / direct_l.p99_ms.max(f64::EPSILON)
        ),
    )?;
    Ok(EvidenceBenchReport {
        hits: hits.len(),
        capture,
        capture_mean_ms,
        bytes_per_hit,
        bare: bare_l,
        bare_mean_ms,
        capture_vs_bare: capture_mean_ms / bare_mean_ms.max(f64::EPSILON),
        alert: alert_l,
        direct: direct_l,
        verify_mb_s,
        sha256sum_mb_s: sha,
        alert_goal_met,
    })
}

/// One generated flagged post with the responses it came from.
struct GenHit {
    post: Post,
    analysis: Analysis,
    dat: Capture,
    page: Capture,
}

/// Flagged posts (the generator's risky mentions), each with a dat line and a thread page of
/// generated neighbours, encoded in Shift_JIS as 5ch serves them.
fn generate(
    opts: &EvidenceBenchOptions,
    watchlist: &crate::config::Watchlist,
    analyzer: &Analyzer,
) -> Result<Vec<GenHit>, EvidenceBenchError> {
    let mut generator = Generator::new(opts.seed, watchlist).map_err(BenchError::from)?;
    let mut rng = SplitMix64::new(opts.seed ^ 0x5eed);
    let mut chatter: Vec<String> = Vec::new();
    let mut out = Vec::new();
    let want = opts.hits.max(opts.alerts);
    let mut tries = 0usize;
    while out.len() < want && tries < want * 1_000 {
        tries += 1;
        let g = generator.post();
        if g.target.is_none() || !g.risky {
            if chatter.len() < 500 {
                chatter.push(g.text);
            }
            continue;
        }
        let n = out.len();
        let thread = 1_700_000_000 + (n / 50) as u64;
        let number = 10 + (n % 50) as u64 * 5;
        let url = format!("http://127.0.0.1/test/read.cgi/bench/{thread}/{number}");
        let now = Utc::now();
        let post = Post {
            key: format!("5ch:bench/{thread}/{number}"),
            source_kind: "5ch".into(),
            source_id: "5ch:http://127.0.0.1/bench/".into(),
            source_url: format!("http://127.0.0.1/bench/dat/{thread}.dat"),
            url: url.clone(),
            thread_title: Some("ベンチマーク用スレ part1".into()),
            number: Some(number),
            author_name: Some("名無しさん".into()),
            author_id: Some(format!("ID:{:08x}", rng.next_u64() as u32)),
            posted_at_raw: Some("2026/12/01(火) 12:34:56.78".into()),
            posted_at: None,
            body: g.text.clone(),
            body_html: None,
            fetched_at: now,
        };
        let analysis = analyzer.analyze(&post.to_input());
        if !analysis.flagged {
            continue;
        }
        let line = format!(
            "名無しさん<>sage<>2026/12/01(火) 12:34:56.78 ID:{}<> {} <>\n",
            post.author_id.as_deref().unwrap_or(""),
            post.body
        );
        let mut page = String::from(
            "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"Shift_JIS\"><title>ベンチマーク用スレ part1</title></head><body><div class=\"thread\">\n",
        );
        for i in 0..PAGE_POSTS {
            let body = if i == PAGE_POSTS / 2 || chatter.is_empty() {
                post.body.clone()
            } else {
                chatter[rng.below(chatter.len())].clone()
            };
            page.push_str(&format!(
                "<div class=\"clear post\" id=\"{i}\"><div class=\"post-header\"><span class=\"postid\">{i}</span><span class=\"postusername\"><b>名無しさん</b></span><span class=\"date\">2026/12/01(火) 12:34:56.78</span><span class=\"uid\">ID:abcd{i:04}</span></div><div class=\"post-content\">{body}</div></div>\n"
            ));
        }
        page.push_str("</div></body></html>\n");
        let sjis = |s: &str| encoding_rs::SHIFT_JIS.encode(s).0.into_owned();
        let response = |url: String, body: Vec<u8>, ct: &str, status: u16| {
            let url = url::Url::parse(&url)
                .map_err(|e| EvidenceBenchError::Step(format!("{url}: {e}")))?;
            Ok::<_, EvidenceBenchError>(FetchResponse {
                url,
                status,
                headers: vec![("content-type".into(), ct.into())],
                body: body.into(),
                remote_addr: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 80))),
                fetched_at: now,
                request_headers: vec![("user-agent".into(), "Monazilla/1.00".into())],
                default_encoding: encoding_rs::SHIFT_JIS,
            })
        };
        let thread_url = url.rsplit_once('/').map_or(url.as_str(), |(t, _)| t);
        out.push(GenHit {
            dat: Capture {
                response: response(
                    post.source_url.clone(),
                    sjis(&line),
                    "text/plain; charset=Shift_JIS",
                    206,
                )?,
                post_keys: vec![post.key.clone()],
            },
            page: Capture {
                response: response(
                    format!("{thread_url}/{}-{}", number - 10, number + 10),
                    sjis(&page),
                    "text/html; charset=Shift_JIS",
                    200,
                )?,
                post_keys: vec![post.key.clone()],
            },
            post,
            analysis,
        });
    }
    if out.len() < want {
        return Err(EvidenceBenchError::Step(format!(
            "the generator gave only {} flagged posts of {want}",
            out.len()
        )));
    }
    Ok(out)
}

/// Commit → receipt of `opts.alerts` alerts through the outbox and a woken dispatcher, and
/// the direct POST peer.
fn alert_latency(
    opts: &EvidenceBenchOptions,
    root: &Path,
    hits: &[GenHit],
) -> Result<(Latency, Latency), EvidenceBenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| EvidenceBenchError::Step(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        let received: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
        let url = receiver(Arc::clone(&received)).await?;
        let text = format!(
            "{}\n[[alert]]\nname = \"bench\"\nkind = \"webhook\"\nurl = \"{url}\"\n",
            crate::bench::BUILTIN_WATCHLIST
        );
        let watchlist = crate::config::parse_str(&text, Path::new("bench-alerts.toml"))
            .map_err(BenchError::from)?;
        let store = Arc::new(Store::open(&root.join("state"))?);
        let dispatcher = Arc::new(Dispatcher::new(
            Arc::clone(&store),
            alert::routes(&watchlist)?,
        ));
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(Arc::clone(&dispatcher).run(stop_rx));
        let mut committed: Vec<(i64, Instant)> = Vec::new();
        let mut rng = SplitMix64::new(opts.seed);
        for h in hits.iter().take(opts.alerts) {
            let (s, p) = (Arc::clone(&store), (h.post.clone(), h.analysis.clone()));
            let new = tokio::task::spawn_blocking(move || {
                s.commit_poll("5ch:http://127.0.0.1/bench/", &[], &[p], &[])
            })
            .await
            .map_err(|e| EvidenceBenchError::Step(format!("commit task: {e}")))??;
            let at = Instant::now();
            dispatcher.wake();
            committed.extend(new.iter().map(|hit| (hit.id, at)));
            // Hits arrive spread out, as from polls, not in one burst.
            tokio::time::sleep(Duration::from_millis(5 + rng.range(0, 20))).await;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while received_count(&received) < committed.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = stop.send(true);
        let _ = task.await;
        let got = received.lock().map(|r| r.clone()).unwrap_or_default();
        let mut samples = Vec::new();
        let arrived: std::collections::HashMap<i64, Instant> = got
            .iter()
            .filter_map(|(body, t)| {
                let v: serde_json::Value = serde_json::from_str(body).ok()?;
                Some((v["alerts"][0]["hit_id"].as_i64()?, *t))
            })
            .collect();
        for (id, at) in &committed {
            if let Some(t) = arrived.get(id) {
                samples.push(ms(t.saturating_duration_since(*at)));
            }
        }
        if samples.len() < committed.len() {
            return Err(EvidenceBenchError::Step(format!(
                "only {} of {} alerts reached the receiver within 30 s",
                samples.len(),
                committed.len()
            )));
        }
        // The peer: the same JSON bodies, posted directly.
        let client = reqwest::Client::new();
        let bodies: Vec<String> = got.iter().map(|(b, _)| b.clone()).collect();
        let mut direct = Vec::new();
        for body in bodies.iter().take(opts.alerts) {
            let before = received_count(&received);
            let t = Instant::now();
            client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .map_err(|e| EvidenceBenchError::Step(format!("direct POST: {e}")))?;
            let at = received
                .lock()
                .ok()
                .and_then(|r| r.get(before).map(|(_, t)| *t))
                .unwrap_or_else(Instant::now);
            direct.push(ms(at.saturating_duration_since(t)));
        }
        Ok((Latency::of(&samples), Latency::of(&direct)))
    })
}

fn received_count(r: &Mutex<Vec<(String, Instant)>>) -> usize {
    r.lock().map(|v| v.len()).unwrap_or(0)
}

/// A webhook receiver on 127.0.0.1 that notes the time each body arrives.
async fn receiver(log: Arc<Mutex<Vec<(String, Instant)>>>) -> Result<String, EvidenceBenchError> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let log = Arc::clone(&log);
            async move {
                if let Ok(mut l) = log.lock() {
                    l.push((body, Instant::now()));
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| EvidenceBenchError::Step(format!("cannot bind the receiver: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| EvidenceBenchError::Step(format!("receiver address: {e}")))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/hook"))
}

/// `sha256sum` over every file under `dir`, MB/s of `bytes`; `None` when it cannot run.
fn sha256sum_mb_s(dir: &Path, bytes: u64) -> Option<f64> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let t = Instant::now();
    let out = std::process::Command::new("sha256sum")
        .args(&files)
        .output()
        .ok()?;
    let s = t.elapsed().as_secs_f64();
    out.status
        .success()
        .then(|| bytes as f64 / MB as f64 / s.max(1e-9))
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn mean_of(v: impl Iterator<Item = usize>) -> usize {
    let (n, sum) = v.fold((0usize, 0usize), |(n, s), x| (n + 1, s + x));
    sum.checked_div(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_measures_every_figure() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = EvidenceBenchOptions {
            hits: 20,
            alerts: 10,
            seed: 7,
            workdir: dir.path().to_path_buf(),
        };
        let mut out = Vec::new();
        let r = run_evidence(&opts, &mut out).expect("bench");
        let text = String::from_utf8_lossy(&out);
        assert_eq!(r.hits, 20);
        assert_eq!(r.capture.runs, 20);
        assert_eq!(r.alert.runs, 10);
        assert_eq!(r.direct.runs, 10);
        assert!(r.bytes_per_hit > 1_000.0, "{}", r.bytes_per_hit);
        assert!(r.capture_vs_bare > 0.0 && r.verify_mb_s > 0.0);
        for want in [
            "capture per hit",
            "bare archiver",
            "evidence verify",
            "alert latency",
            "direct POST",
        ] {
            assert!(text.contains(want), "{want}: {text}");
        }
    }
}
