//! `mimamori bench crawl`: the crawler against the simulated 5ch and したらば boards with
//! 1,000 active threads each, measured on three questions of the crawler issue:
//!
//! 1. **Bytes fetched per cycle ÷ bytes of new posts** (goal ≤ 1.2 per board). The numerator
//!    is what the sources report fetching (response bodies: `subject.txt`, dat/rawmode
//!    ranges); the denominator is the new posts as the board's own lines (name, mail, date,
//!    ID, body HTML and separators, in the board's charset) — what a perfect differential
//!    reader could not avoid downloading. Each cycle adds `posts_per_thread` new posts per
//!    thread on average, to random threads, then runs one `watch --once` cycle.
//! 2. **Polls per second per core**: source polls and HTTP requests (one per changed thread
//!    plus `subject.txt`) per CPU-second of the crawler. The simulated web runs in the same
//!    process on its own runtime whose threads are named `simweb`; their CPU time is
//!    subtracted (Linux `/proc`; elsewhere the wall time times the cores is used).
//! 3. **Post-to-hit latency** (goal ≤ poll interval + 1 s): `watch` runs on its schedule while
//!    chatter keeps arriving and risky posts appear at random moments; the latency of each is
//!    the time from its arrival on the site to its hit being committed and reported.
//!
//! The peer of the ratio is the ideal reader (bytes of the new posts themselves); the goal of
//! the latency is the poll interval, which bounds any polling crawler.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::analyze::AnalyzeError;
use crate::bench::{BenchError, MB};
use crate::config::{self, ConfigError, SourceConfig, Watchlist};
use crate::fetch::{FetchConfig, FetchError, Fetcher};
use crate::model::Post;
use crate::simweb::corpus::{Generator, SplitMix64};
use crate::simweb::fivech::SimFiveCh;
use crate::simweb::shitaraba::SimShitaraba;
use crate::simweb::{SimConfig, SimError, SimSite, SimWeb};
use crate::sources::{self, PollContext, PollOutput, Source, SourceError};
use crate::store::{Store, StoreError};
use crate::watch::{WatchEvent, Watcher};

/// Goal of the issue: bytes fetched ÷ bytes of new posts, per board.
pub const GOAL_BYTES_RATIO: f64 = 1.2;
/// Goal of the issue: latency ≤ poll interval + this.
pub const GOAL_LATENCY_SLACK: Duration = Duration::from_secs(1);

const EXAMPLE: &str = include_str!("../../watchlists/example.toml");

/// Risky texts about the example targets; each gets a unique `[#n]` marker.
const RISKY: &[&str] = &[
    "さくら食品は産地偽装してる詐欺企業",
    "小林クリニック燃やしてやる。覚えとけ",
    "田中美咲の携帯 080-3141-5926 晒しとく",
    "小林医院の受付はマジで無能。二度と行かない",
    "田中美咲の家わかったから今夜行く",
];

/// Why the crawl benchmark failed.
#[derive(Debug, thiserror::Error)]
pub enum CrawlBenchError {
    /// The report could not be written.
    #[error("cannot write the benchmark report: {0}")]
    Output(#[source] std::io::Error),
    /// A runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The simulated web failed.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The built-in config is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A source could not be built.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The fetcher could not be built.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The analyzer could not be built.
    #[error(transparent)]
    Analyze(#[from] AnalyzeError),
    /// The corpus generator failed.
    #[error(transparent)]
    Corpus(#[from] BenchError),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A poll failed during a measured cycle.
    #[error("a poll failed: {0}")]
    Poll(String),
}

/// Options of `bench crawl`.
#[derive(Debug, Clone)]
pub struct CrawlBenchOptions {
    /// Active threads per board.
    pub threads: usize,
    /// Measured cycles.
    pub cycles: usize,
    /// New posts per thread per cycle, on average.
    pub posts_per_thread: f64,
    /// Poll interval of the latency run.
    pub every: Duration,
    /// Risky posts whose latency is measured.
    pub latency_posts: usize,
    /// Seed of the generated posts.
    pub seed: u64,
    /// Where the state database goes (a fresh directory is made inside).
    pub workdir: std::path::PathBuf,
}

impl Default for CrawlBenchOptions {
    fn default() -> Self {
        CrawlBenchOptions {
            threads: 1000,
            cycles: 3,
            posts_per_thread: 2.0,
            every: Duration::from_secs(2),
            latency_posts: 15,
            seed: 42,
            workdir: std::path::PathBuf::from("target/bench"),
        }
    }
}

/// Figures for one board.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BoardFigures {
    /// Source kind (`5ch`, `shitaraba`).
    pub kind: String,
    /// Bytes fetched over the measured cycles.
    pub bytes_fetched: u64,
    /// Bytes of the new posts as the board's lines, over the measured cycles.
    pub new_post_bytes: u64,
    /// New posts over the measured cycles.
    pub new_posts: u64,
    /// Requests over the measured cycles.
    pub requests: u64,
    /// `bytes_fetched / new_post_bytes`.
    pub ratio: f64,
    /// Bytes fetched by the first (catch-up) cycle, not measured.
    pub first_cycle_bytes: u64,
}

/// Latency figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Poll interval.
    pub every_s: f64,
    /// Risky posts made.
    pub posts: usize,
    /// Of those, found.
    pub found: usize,
    /// Median, seconds.
    pub p50_s: f64,
    /// 95th percentile, seconds.
    pub p95_s: f64,
    /// Worst, seconds.
    pub max_s: f64,
    /// The goal: `every + 1 s`.
    pub goal_s: f64,
}

/// Figures of one `bench crawl` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrawlBenchReport {
    /// Active threads per board.
    pub threads: usize,
    /// Measured cycles.
    pub cycles: usize,
    /// Per board.
    pub boards: Vec<BoardFigures>,
    /// Source polls in the measured cycles.
    pub polls: u64,
    /// Requests in the measured cycles.
    pub requests: u64,
    /// Wall seconds of the measured cycles.
    pub wall_s: f64,
    /// CPU seconds of the crawler in the measured cycles (simulated web excluded), if known.
    pub cpu_s: Option<f64>,
    /// Source polls per second per core.
    pub polls_per_core_s: f64,
    /// Requests (thread checks) per second per core.
    pub requests_per_core_s: f64,
    /// The latency run.
    pub latency: Latency,
}

/// Counts what a source fetches and how large its new posts are as board lines.
struct Measured {
    inner: Box<dyn Source>,
    counted: Mutex<HashSet<String>>,
    stats: Mutex<BoardFigures>,
}

#[async_trait::async_trait]
impl Source for Measured {
    fn id(&self) -> &str {
        self.inner.id()
    }
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn every(&self) -> Duration {
        self.inner.every()
    }
    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let out = self.inner.poll(ctx).await?;
        let mut new_posts = 0;
        let mut wire = 0;
        {
            let mut counted = lock(&self.counted);
            for p in &out.posts {
                if counted.insert(p.key.clone()) {
                    new_posts += 1;
                    wire += line_bytes(p, self.inner.kind());
                }
            }
        }
        let mut s = lock(&self.stats);
        s.bytes_fetched += out.bytes;
        s.requests += out.requests;
        s.new_posts += new_posts;
        s.new_post_bytes += wire;
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A post as its board line in the board's charset: `name<>mail<>date ID:x<>body<>` (5ch)
/// or `n<>name<>mail<>date<>body<>title<>ID` (したらば); mail and title empty.
fn line_bytes(p: &Post, kind: &str) -> u64 {
    let name = p.author_name.as_deref().unwrap_or("");
    let date = p.posted_at_raw.as_deref().unwrap_or("");
    let id = p.author_id.as_deref().unwrap_or("");
    let id = id.strip_prefix("ID:").unwrap_or(id);
    let body = p.body_html.as_deref().unwrap_or(&p.body);
    let (line, encoding) = match kind {
        "shitaraba" => {
            let n = p.number.unwrap_or(0);
            (
                format!("{n}<>{name}<><>{date}<>{body}<><>{id}\n"),
                encoding_rs::EUC_JP,
            )
        }
        _ => (
            format!("{name}<><>{date} ID:{id}<>{body}<>\n"),
            encoding_rs::SHIFT_JIS,
        ),
    };
    let (bytes, _, _) = encoding.encode(&line);
    bytes.len() as u64
}

/// CPU seconds used by this process, minus the threads named `simweb…` (Linux only).
fn crawler_cpu_seconds() -> Option<f64> {
    const TICKS: f64 = 100.0; // USER_HZ on Linux
    let fields = |stat: &str| -> Option<(String, f64)> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let name = stat.get(open + 1..close)?.to_string();
        let rest: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
        // After the name: state(3) … utime(14) stime(15), 1-based over the whole line.
        let ut: f64 = rest.get(11)?.parse().ok()?;
        let st: f64 = rest.get(12)?.parse().ok()?;
        Some((name, (ut + st) / TICKS))
    };
    let (_, total) = fields(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let mut sim = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("stat"))
            && let Some((name, cpu)) = fields(&stat)
            && name.starts_with("simweb")
        {
            sim += cpu;
        }
    }
    Some(total - sim)
}

fn marker(body: &str) -> Option<u64> {
    let start = body.rfind("[#")? + 2;
    let end = start + body[start..].find(']')?;
    body[start..end].parse().ok()
}

/// Runs the benchmark and writes the report to `out`.
pub fn run_crawl(
    opts: &CrawlBenchOptions,
    out: &mut dyn Write,
) -> Result<CrawlBenchReport, CrawlBenchError> {
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("simweb")
        .enable_all()
        .build()
        .map_err(CrawlBenchError::Runtime)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("mimamori")
        .enable_all()
        .build()
        .map_err(CrawlBenchError::Runtime)?;
    let example = config::parse_str(EXAMPLE, Path::new("watchlists/example.toml"))?;
    let threads = opts.threads.max(1);
    let sites: Vec<Arc<dyn SimSite>> = vec![
        Arc::new(SimFiveCh::new("software")),
        Arc::new(SimShitaraba::new("game", "1234")),
    ];
    let sim = SimConfig {
        seed: opts.seed,
        threads,
        initial_posts: 0,
        ..SimConfig::default()
    };
    let web = {
        let ex = example.clone();
        sim_rt.block_on(async move { SimWeb::start(sim, &ex, sites).await })?
    };
    let mut generator = Generator::new(opts.seed, &example).map_err(BenchError::from)?;
    let mut rng = SplitMix64::new(opts.seed ^ 0xC0FFEE);
    let say =
        |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(CrawlBenchError::Output);

    // Every thread gets posts before the first cycle.
    for site in &web.sites {
        for t in 0..threads {
            for _ in 0..3 {
                web.post_to(site.name, t, &generator.post().text);
            }
        }
    }
    say(
        out,
        format!(
            "bench crawl: simulated 5ch and したらば boards on 127.0.0.1, {threads} active threads each; \
             {} measured cycles of ~{:.1} new posts per thread (seed {})",
            opts.cycles, opts.posts_per_thread, opts.seed
        ),
    )?;

    let dir = opts.workdir.join(format!("crawl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(Store::open(&dir)?);
    let every = format!("{}ms", opts.every.as_millis());
    let text = format!(
        "{EXAMPLE}\n[fetch]\nmin_delay = \"0s\"\n\n{}",
        web.sites
            .iter()
            .map(|s| format!(
                "[[source]]\nkind = \"{}\"\nurl = \"{}\"\nevery = \"{every}\"\n\n",
                s.kind, s.url
            ))
            .collect::<String>()
    );
    let watchlist = config::parse_str(&text, Path::new("bench-crawl.toml"))?;
    let (measured, watcher) = build_watcher(&watchlist, Arc::clone(&store))?;
    let watcher = Arc::new(watcher);

    // Warm-up, not measured: cycle 0 catches up (a cursor for every thread; the source reads
    // only the newest threads whole on its first poll), then one post in every thread and a
    // cycle that gives every thread its byte-length cursor — the steady state of a watcher
    // that has been running for a while.
    let s0 = rt.block_on(watcher.run_once(std::future::pending()));
    if let Some((id, e)) = s0.failing.iter().next() {
        return Err(CrawlBenchError::Poll(format!("{id}: {e}")));
    }
    let first: Vec<u64> = measured
        .iter()
        .map(|m| lock(&m.stats).bytes_fetched)
        .collect();
    for site in &web.sites {
        for t in 0..threads {
            web.post_to(site.name, t, &generator.post().text);
        }
    }
    let s1 = rt.block_on(watcher.run_once(std::future::pending()));
    if let Some((id, e)) = s1.failing.iter().next() {
        return Err(CrawlBenchError::Poll(format!("{id}: {e}")));
    }
    for m in &measured {
        *lock(&m.stats) = BoardFigures::default();
    }

    let (polls0, cpu0) = (watcher.totals().polls, crawler_cpu_seconds());
    let mut wall = Duration::ZERO;
    for _ in 0..opts.cycles {
        let n = (threads as f64 * opts.posts_per_thread).round() as usize;
        for site in &web.sites {
            for _ in 0..n {
                web.post_to(site.name, rng.below(threads), &generator.post().text);
            }
        }
        let started = Instant::now();
        let s = rt.block_on(watcher.run_once(std::future::pending()));
        wall += started.elapsed();
        if let Some((id, e)) = s.failing.iter().next() {
            return Err(CrawlBenchError::Poll(format!("{id}: {e}")));
        }
    }
    // Posting happens between cycles on this thread: its CPU counts as the crawler's, a
    // small overstatement of the crawler's cost.
    let cpu = match (cpu0, crawler_cpu_seconds()) {
        (Some(a), Some(b)) => Some((b - a).max(0.0)),
        _ => None,
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let polls = watcher.totals().polls - polls0;
    let mut report = CrawlBenchReport {
        threads,
        cycles: opts.cycles,
        polls,
        ..Default::default()
    };
    for (m, first_bytes) in measured.iter().zip(first) {
        let mut b = lock(&m.stats).clone();
        b.kind = m.kind().to_string();
        b.first_cycle_bytes = first_bytes;
        b.ratio = b.bytes_fetched as f64 / (b.new_post_bytes.max(1)) as f64;
        report.requests += b.requests;
        report.boards.push(b);
    }
    report.wall_s = wall.as_secs_f64();
    report.cpu_s = cpu;
    let cpu_s = cpu
        .filter(|c| *c > 0.0)
        .unwrap_or(report.wall_s * cores)
        .max(1e-9);
    report.polls_per_core_s = polls as f64 / cpu_s;
    report.requests_per_core_s = report.requests as f64 / cpu_s;

    say(
        out,
        format!(
            "{:<10} {:>14} {:>14} {:>10} {:>9} {:>9}",
            "board", "fetched", "new posts", "posts", "requests", "ratio"
        ),
    )?;
    for b in &report.boards {
        say(
            out,
            format!(
                "{:<10} {:>14} {:>14} {:>10} {:>9} {:>9.3}  (goal ≤ {GOAL_BYTES_RATIO}: {}; first cycle {:.2} MB)",
                b.kind,
                b.bytes_fetched,
                b.new_post_bytes,
                b.new_posts,
                b.requests,
                b.ratio,
                if b.ratio <= GOAL_BYTES_RATIO {
                    "met"
                } else {
                    "NOT met"
                },
                b.first_cycle_bytes as f64 / MB as f64
            ),
        )?;
    }
    say(
        out,
        format!(
            "throughput: {} source polls ({} requests: subject.txt + one per changed thread) in {:.2} s wall, {} → \
             {:.1} source polls/s/core, {:.0} thread polls (requests)/s/core",
            polls,
            report.requests,
            report.wall_s,
            match cpu {
                Some(c) => format!("{c:.2} CPU-s of the crawler (simulated web excluded)"),
                None => format!("CPU time unknown, wall × {cores} cores used"),
            },
            report.polls_per_core_s,
            report.requests_per_core_s
        ),
    )?;

    report.latency = rt.block_on(latency(
        &web,
        &watchlist,
        &dir,
        opts,
        &mut generator,
        &mut rng,
    ))?;
    let l = &report.latency;
    say(
        out,
        format!(
            "latency (poll every {:.1} s): {} of {} risky posts found; p50 {:.2} s, p95 {:.2} s, max {:.2} s (goal ≤ {:.1} s: {})",
            l.every_s,
            l.found,
            l.posts,
            l.p50_s,
            l.p95_s,
            l.max_s,
            l.goal_s,
            if l.found == l.posts && l.max_s <= l.goal_s {
                "met"
            } else {
                "NOT met"
            }
        ),
    )?;
    drop(watcher);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    drop(web);
    sim_rt.shutdown_background();
    Ok(report)
}

fn build_watcher(
    watchlist: &Watchlist,
    store: Arc<Store>,
) -> Result<(Vec<Arc<Measured>>, Watcher), CrawlBenchError> {
    let fetch: FetchConfig = match watchlist.extra.get("fetch") {
        Some(v) => v
            .clone()
            .try_into()
            .map_err(|e: toml::de::Error| CrawlBenchError::Poll(e.to_string()))?,
        None => FetchConfig::default(),
    };
    let fetcher = Fetcher::new(fetch)?;
    let analyzer = crate::analyze::Analyzer::new(watchlist)?;
    let mut measured = Vec::new();
    let mut list: Vec<(Arc<dyn Source>, String)> = Vec::new();
    for cfg in &watchlist.sources {
        let m = Arc::new(measure(cfg)?);
        list.push((
            Arc::clone(&m) as Arc<dyn Source>,
            crate::watch::host_key(&cfg.url),
        ));
        measured.push(m);
    }
    let w = Watcher::with_sources(list, fetcher, analyzer, store, watchlist.targets.clone());
    Ok((measured, w))
}

fn measure(cfg: &SourceConfig) -> Result<Measured, SourceError> {
    Ok(Measured {
        inner: sources::build(cfg)?,
        counted: Mutex::new(HashSet::new()),
        stats: Mutex::new(BoardFigures::default()),
    })
}

/// Runs `watch` on its schedule with chatter arriving, posts risky texts at random moments
/// and measures arrival → hit.
async fn latency(
    web: &SimWeb,
    watchlist: &Watchlist,
    dir: &Path,
    opts: &CrawlBenchOptions,
    generator: &mut Generator,
    rng: &mut SplitMix64,
) -> Result<Latency, CrawlBenchError> {
    let store = Arc::new(Store::open(&dir.join("latency"))?);
    let (_, watcher) = build_watcher(watchlist, store)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = Arc::new(watcher.with_events(tx));
    // Catch up first so the schedule starts from cursors at the boards' ends.
    watcher.run_once(std::future::pending()).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let w = Arc::clone(&watcher);
    let run = tokio::spawn(async move {
        w.run(async {
            let _ = stop_rx.await;
        })
        .await
    });
    let posted: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let mut found: HashMap<u64, Duration> = HashMap::new();
    let threads = opts.threads.max(1);
    // Chatter: threads / 10 posts per second per board.
    let chatter_per_tick = (threads / 100).max(1);
    let mut made = 0;
    let mut next_risky = Instant::now() + Duration::from_millis(300);
    let give_up_after = opts.every * 3 + Duration::from_secs(5);
    let mut last_post = Instant::now();
    loop {
        // Chatter every 100 ms, a risky post now and then.
        for site in &web.sites {
            for _ in 0..chatter_per_tick {
                web.post_to(site.name, rng.below(threads), &generator.post().text);
            }
        }
        if made < opts.latency_posts && Instant::now() >= next_risky {
            made += 1;
            let site = &web.sites[rng.below(web.sites.len())];
            let text = format!("{} [#{made}]", RISKY[rng.below(RISKY.len())]);
            web.post_to(site.name, rng.below(threads), &text);
            lock(&posted).insert(made as u64, Instant::now());
            last_post = Instant::now();
            next_risky = Instant::now() + opts.every.mul_f64(0.3 + rng.below(1000) as f64 / 1000.0);
        }
        while let Ok(ev) = rx.try_recv() {
            if let WatchEvent::Hit { post, .. } = ev
                && let Some(n) = marker(&post.body)
                && let Some(at) = lock(&posted).get(&n)
            {
                found.entry(n).or_insert_with(|| at.elapsed());
            }
        }
        if made >= opts.latency_posts
            && (found.len() >= made || last_post.elapsed() > give_up_after)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(());
    let _ = run.await;
    let mut lat: Vec<f64> = found.values().map(Duration::as_secs_f64).collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1]
    };
    Ok(Latency {
        every_s: opts.every.as_secs_f64(),
        posts: made,
        found: found.len(),
        p50_s: pct(0.5),
        p95_s: pct(0.95),
        max_s: lat.last().copied().unwrap_or(f64::NAN),
        goal_s: (opts.every + GOAL_LATENCY_SLACK).as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_and_line_sizes() {
        assert_eq!(marker("本文 [#12]"), Some(12));
        assert_eq!(marker("本文"), None);
        let p = Post {
            key: "k".into(),
            source_kind: "5ch".into(),
            source_id: "s".into(),
            source_url: "u".into(),
            url: "u".into(),
            thread_title: None,
            number: Some(1),
            author_name: Some("名無し".into()),
            author_id: Some("ID:abc".into()),
            posted_at_raw: Some("2024/01/01(月) 00:00:00.00".into()),
            posted_at: None,
            body: "あ".into(),
            body_html: Some(" あ ".into()),
            fetched_at: chrono::Utc::now(),
        };
        let dat = "名無し<><>2024/01/01(月) 00:00:00.00 ID:abc<> あ <>\n";
        let (b, _, _) = encoding_rs::SHIFT_JIS.encode(dat);
        assert_eq!(line_bytes(&p, "5ch"), b.len() as u64);
        let raw = "1<>名無し<><>2024/01/01(月) 00:00:00.00<> あ <><>abc\n";
        let (b, _, _) = encoding_rs::EUC_JP.encode(raw);
        assert_eq!(line_bytes(&p, "shitaraba"), b.len() as u64);
    }

    #[test]
    fn crawler_cpu_is_measured_on_linux() {
        if Path::new("/proc/self/stat").exists() {
            assert!(crawler_cpu_seconds().is_some_and(|c| c >= 0.0));
        }
    }
}
