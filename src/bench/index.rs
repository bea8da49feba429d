//! `mimamori bench index`: ingest rate, size and search latency of the search index at a
//! million posts, against SQLite FTS5 (trigram tokenizer) loaded with the same posts and
//! asked the same queries in the same run.
//!
//! The posts are realistic [`Post`]s ([`posts`]): bodies from the seeded corpus generator,
//! threads, URLs, poster names and IDs of 5ch, したらば, RSS and HTML boards, post times over
//! 90 days. The real [`Analyzer`] runs on every post to give the indexed targets, categories
//! and severity (the flagged ones get a hit id and status `new`, as after `reindex`). Ingest
//! is timed around [`Indexer::add`] and [`Indexer::finish`] (writer as configured), and, when
//! `taskset` is installed, again with the whole process pinned to one CPU; posts per core
//! divide by the process's CPU time (`/proc/self/stat`), which counts Tantivy's threads too.
//! Latency is timed around [`SearchIndex::search`] (top 20 with snippets, what users get)
//! and, for comparison, around the query alone (no stored fields, no snippets). The FTS5
//! side and how queries are translated are in [`fts5`]. Speed is never asserted in tests.

mod fts5;
mod measure;
pub mod posts;
mod queries;
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};

use super::{BenchError, MB, builtin_watchlist};
use crate::analyze::{AnalyzeError, Analyzer};
use crate::index::{IndexError, PostMeta, SearchIndex};
use fts5::Fts5;
use measure::{dir_bytes, pin_to_one_cpu, process_cpu_seconds, set_affinity};
use posts::BenchPost;
pub use queries::{BenchQuery, CLASSES, QUERIES, Words};

/// Goal: posts per second indexed on one core.
pub const GOAL_POSTS_PER_CORE_S: f64 = 10_000.0;
/// Goal: p99 search latency at a million posts, in milliseconds.
pub const GOAL_P99_MS: f64 = 50.0;
/// Results per query (what `mimamori search` shows by default).
pub const LIMIT: usize = 20;

/// What went wrong in the index benchmark.
#[derive(Debug, thiserror::Error)]
pub enum IndexBenchError {
    /// Generating posts, writing files or the report failed.
    #[error(transparent)]
    Bench(#[from] BenchError),
    /// The analyzer could not be built.
    #[error("cannot build the analyzer: {0}")]
    Analyzer(#[from] AnalyzeError),
    /// The Tantivy index failed.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// SQLite failed.
    #[error("{path}: {what}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// Options of the index benchmark.
#[derive(Debug, Clone)]
pub struct IndexBenchOptions {
    /// Posts to generate and index.
    pub posts: usize,
    /// Generator seed: the same seed gives the same posts.
    pub seed: u64,
    /// Work directory; `index-bench/` inside it is removed at the start.
    pub workdir: PathBuf,
    /// Posts per commit (Tantivy) and per transaction (SQLite); `reindex` uses 10,000.
    pub batch: usize,
    /// Repeat the Tantivy ingest pinned to one CPU (needs `taskset`).
    pub one_core: bool,
    /// Timed runs of each query: at least this many …
    pub min_runs: usize,
    /// … and more until this much time was spent on the query or [`Self::max_runs`].
    pub query_budget: Duration,
    /// Upper bound on timed runs of one query.
    pub max_runs: usize,
}

impl Default for IndexBenchOptions {
    fn default() -> Self {
        IndexBenchOptions {
            posts: 1_000_000,
            seed: 42,
            workdir: PathBuf::from("target/bench"),
            batch: 10_000,
            one_core: true,
            min_runs: 10,
            query_budget: Duration::from_secs(2),
            max_runs: 200,
        }
    }
}

/// One ingest measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Ingest {
    /// Posts indexed.
    pub posts: u64,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// Process CPU seconds (user + system, every thread), when known.
    pub cpu_s: Option<f64>,
    /// Posts per wall-clock second.
    pub posts_per_s: f64,
    /// Posts per CPU second, when known.
    pub posts_per_core_s: Option<f64>,
    /// How it ran (threads, pinning).
    pub how: String,
}

impl Ingest {
    fn new(posts: u64, wall: Duration, cpu_s: Option<f64>, how: String) -> Ingest {
        let wall_s = wall.as_secs_f64().max(1e-9);
        Ingest {
            posts,
            wall_s,
            cpu_s,
            posts_per_s: posts as f64 / wall_s,
            posts_per_core_s: cpu_s.map(|c| posts as f64 / c.max(1e-9)),
            how,
        }
    }
}

/// Latency percentiles of a set of timed runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Timed runs.
    pub runs: usize,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile (nearest rank), milliseconds.
    pub p99_ms: f64,
}

impl Latency {
    pub(crate) fn of(samples: &[f64]) -> Latency {
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * s.len() as f64).ceil() as usize).clamp(1, s.len().max(1)) - 1;
            s.get(i).copied().unwrap_or(0.0)
        };
        Latency {
            runs: s.len(),
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
        }
    }
}

/// One query's figures on both engines.
#[derive(Debug, Clone, Serialize)]
pub struct QueryRow {
    /// Query class.
    pub class: String,
    /// As given to `mimamori search`.
    pub query: String,
    /// Filters as `mimamori search` options.
    pub filters: String,
    /// The FTS5 WHERE clause as run.
    pub fts5_where: String,
    /// Whether FTS5 needed a LIKE scan (a word of fewer than 3 letters).
    pub fts5_like: bool,
    /// Posts mimamori matches.
    pub mimamori_count: u64,
    /// Posts FTS5 matches.
    pub fts5_count: u64,
    /// Posts in both top-20 lists.
    pub top_overlap: usize,
    /// mimamori, top 20 with snippets.
    pub mimamori: Latency,
    /// mimamori, the query alone.
    pub mimamori_no_snippets: Latency,
    /// FTS5, top 20 with snippet().
    pub fts5: Latency,
    /// mimamori's top post keys.
    #[serde(skip)]
    pub mimamori_top: Vec<String>,
    /// FTS5's top post keys.
    #[serde(skip)]
    pub fts5_top: Vec<String>,
    /// The timed runs, milliseconds (pooled for the class figures).
    #[serde(skip)]
    pub samples: Samples,
}

/// Timed runs of one query, milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// mimamori, top 20 with snippets.
    pub mimamori: Vec<f64>,
    /// mimamori, the query alone.
    pub mimamori_no_snippets: Vec<f64>,
    /// FTS5.
    pub fts5: Vec<f64>,
}

/// Latency of one query class (or all queries) on both engines.
#[derive(Debug, Clone, Serialize)]
pub struct ClassRow {
    /// Class name (`overall` for every query).
    pub class: String,
    /// Queries in it.
    pub queries: usize,
    /// mimamori, top 20 with snippets.
    pub mimamori: Latency,
    /// mimamori, the query alone.
    pub mimamori_no_snippets: Latency,
    /// FTS5.
    pub fts5: Latency,
    /// FTS5 p50 ÷ mimamori p50.
    pub p50_ratio: f64,
    /// FTS5 p99 ÷ mimamori p99.
    pub p99_ratio: f64,
}

/// One goal of the issue.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    /// What is asked.
    pub goal: String,
    /// What was measured.
    pub measured: String,
    /// Whether it was met.
    pub met: bool,
}

/// Figures of one `bench index` run.
#[derive(Debug, Clone, Serialize)]
pub struct IndexBenchReport {
    /// Posts indexed.
    pub posts: u64,
    /// The generator's seed.
    pub seed: u64,
    /// Bytes of post bodies.
    pub body_bytes: u64,
    /// Posts generated to mention a target.
    pub generated_target_posts: u64,
    /// Posts the analyzer ran on (every post).
    pub analyzed_posts: u64,
    /// Seconds the analysis took (not part of the ingest figures).
    pub analysis_s: f64,
    /// Posts the analyzer found a target in.
    pub with_targets: u64,
    /// Posts the analyzer flagged.
    pub flagged: u64,
    /// mimamori ingest, writer as configured.
    pub mimamori_ingest: Ingest,
    /// mimamori ingest pinned to one CPU, when it ran.
    pub mimamori_ingest_one_core: Option<Ingest>,
    /// FTS5 ingest.
    pub fts5_ingest: Ingest,
    /// mimamori index size, bytes.
    pub mimamori_bytes: u64,
    /// FTS5 database size, bytes.
    pub fts5_bytes: u64,
    /// Per query.
    pub queries: Vec<QueryRow>,
    /// Per class, then `overall`.
    pub classes: Vec<ClassRow>,
    /// The goals.
    pub goals: Vec<Goal>,
    /// Caveats of this run.
    pub notes: Vec<String>,
}

fn say(out: &mut dyn Write, text: std::fmt::Arguments) -> Result<(), IndexBenchError> {
    out.write_fmt(text)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| BenchError::Output(e).into())
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => { say($out, format_args!($($arg)*)) };
}

/// Indexes `posts` into a fresh index in `dir`; the measurement.
fn ingest_mimamori(
    dir: &Path,
    posts: &[BenchPost],
    metas: &[PostMeta],
    batch: usize,
    how: String,
) -> Result<(SearchIndex, Ingest), IndexBenchError> {
    let index = SearchIndex::create_dir(dir)?;
    let cpu0 = process_cpu_seconds();
    let start = Instant::now();
    let mut indexer = index.indexer(batch)?;
    for (p, m) in posts.iter().zip(metas) {
        indexer.add_new(&p.post, m)?;
    }
    indexer.finish()?;
    let wall = start.elapsed();
    let cpu = cpu0.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    Ok((index, Ingest::new(posts.len() as u64, wall, cpu, how)))
}

/// Times `f` on one query: two untimed runs, then at least `min_runs`, more until `budget`.
fn time_runs<E>(
    opts: &IndexBenchOptions,
    mut f: impl FnMut() -> Result<(), E>,
) -> Result<Vec<f64>, E> {
    f()?;
    f()?;
    let mut samples = Vec::new();
    let began = Instant::now();
    while samples.len() < opts.min_runs.max(1)
        || (began.elapsed() < opts.query_budget && samples.len() < opts.max_runs)
    {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(samples)
}

/// Runs the benchmark, writing progress and the report to `out`.
pub fn run_index(
    opts: &IndexBenchOptions,
    out: &mut dyn Write,
) -> Result<IndexBenchReport, IndexBenchError> {
    let work = opts.workdir.join("index-bench");
    let io = |what: &'static str| {
        let path = work.clone();
        move |source| BenchError::Io { path, what, source }
    };
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(io("remove the old work directory"))?;
    }
    std::fs::create_dir_all(&work).map_err(io("create the work directory"))?;
    let watchlist = builtin_watchlist()?;
    let mut notes = Vec::new();

    let t = Instant::now();
    let posts = posts::generate(opts.posts, opts.seed, &watchlist)?;
    let body_bytes: u64 = posts.iter().map(|p| p.post.body.len() as u64).sum();
    let generated_target_posts = posts.iter().filter(|p| p.target.is_some()).count() as u64;
    say!(
        out,
        "posts: {} ({:.1} MB of bodies, {} generated about a target; seed {}) in {:.1} s",
        posts.len(),
        body_bytes as f64 / MB as f64,
        generated_target_posts,
        opts.seed,
        t.elapsed().as_secs_f64()
    )?;

    let t = Instant::now();
    let analyzer = Analyzer::new(&watchlist)?;
    let mut metas = Vec::with_capacity(posts.len());
    let (mut with_targets, mut flagged) = (0u64, 0u64);
    for p in &posts {
        let a = analyzer.analyze(&p.post.to_input());
        let mut meta = PostMeta::new(Some(&a), &[]);
        if a.flagged {
            flagged += 1;
            meta.status = Some("new".into());
            meta.hit_ids = vec![flagged as i64];
        }
        with_targets += u64::from(!meta.targets.is_empty());
        metas.push(meta);
    }
    let analysis_s = t.elapsed().as_secs_f64();
    say!(
        out,
        "analyzer on every post: {with_targets} with a target, {flagged} flagged, in {analysis_s:.1} s (not part of the ingest figures)"
    )?;

    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    say!(out, "mimamori: indexing (writer as configured) …")?;
    let (index, mimamori_ingest) = ingest_mimamori(
        &work.join("tantivy"),
        &posts,
        &metas,
        opts.batch,
        format!("{threads} indexing threads, commit every {}", opts.batch),
    )?;
    let mimamori_bytes = dir_bytes(index.path());

    let mut mimamori_ingest_one_core = None;
    if opts.one_core {
        say!(out, "mimamori: indexing again, pinned to one CPU …")?;
        match pin_to_one_cpu() {
            Ok(mask) => {
                let run = ingest_mimamori(
                    &work.join("tantivy-one-core"),
                    &posts,
                    &metas,
                    opts.batch,
                    format!("pinned to CPU 0 ({threads} threads share it)"),
                );
                let restored = set_affinity(&std::process::id().to_string(), &mask);
                let (one, ingest) = run?;
                drop(one);
                if let Err(why) = restored {
                    notes.push(format!("could not restore the CPU mask: {why}"));
                }
                let _ = std::fs::remove_dir_all(work.join("tantivy-one-core"));
                mimamori_ingest_one_core = Some(ingest);
            }
            Err(why) => notes.push(format!("one-core ingest skipped: {why}")),
        }
    }

    say!(out, "fts5: loading …")?;
    let fts_path = work.join("fts5.sqlite");
    let mut fts = Fts5::create(&fts_path)?;
    let cpu0 = process_cpu_seconds();
    let start = Instant::now();
    fts.ingest(&posts, &metas, opts.batch)?;
    let wall = start.elapsed();
    let cpu = cpu0.zip(process_cpu_seconds()).map(|(a, b)| b - a);
    let fts5_ingest = Ingest::new(
        posts.len() as u64,
        wall,
        cpu,
        format!(
            "one thread, one transaction every {}, WAL, synchronous=NORMAL",
            opts.batch
        ),
    );
    let fts5_bytes = fts.size_bytes();
    drop(posts);

    say!(out, "queries: {} on each engine …", QUERIES.len())?;
    let mut queries = Vec::new();
    for bq in QUERIES {
        queries.push(run_query(opts, &index, &fts, bq)?);
    }
    let classes = report::summarize(&queries);
    let goals = report::goals(
        mimamori_ingest_one_core.as_ref(),
        &mimamori_ingest,
        &classes,
    );
    notes.extend(report::notes(&queries));
    let report = IndexBenchReport {
        posts: opts.posts as u64,
        seed: opts.seed,
        body_bytes,
        generated_target_posts,
        analyzed_posts: metas.len() as u64,
        analysis_s,
        with_targets,
        flagged,
        mimamori_ingest,
        mimamori_ingest_one_core,
        fts5_ingest,
        mimamori_bytes,
        fts5_bytes,
        queries,
        classes,
        goals,
        notes,
    };
    report::write(&report, out)?;
    Ok(report)
}

fn run_query(
    opts: &IndexBenchOptions,
    index: &SearchIndex,
    fts: &Fts5,
    bq: &BenchQuery,
) -> Result<QueryRow, IndexBenchError> {
    let request = bq.request();
    let tv = |what: &'static str| {
        let path = index.path().to_path_buf();
        move |source| IndexError::Tantivy { path, what, source }
    };
    let results = index.search(&request)?;
    let mimamori_top: Vec<String> = results.into_iter().map(|r| r.post_key).collect();
    let query = index.query(&request)?;
    let searcher = index
        .tantivy()
        .reader()
        .map_err(tv("cannot open an index reader"))?
        .searcher();
    let mimamori_count = searcher
        .search(&query, &Count)
        .map_err(tv("count failed"))? as u64;
    let translated = fts5::translate(bq, bq.since().map(|t| t.timestamp()));
    let fts5_top: Vec<String> = fts
        .search(&translated, LIMIT)?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let fts5_count = fts.count(&translated)?;

    let m = time_runs(opts, || {
        index
            .search(&request)
            .map(|r| drop(std::hint::black_box(r)))
    })?;
    let m_bare = time_runs(opts, || -> Result<(), IndexBenchError> {
        let query = index.query(&request)?;
        let reader = index
            .tantivy()
            .reader()
            .map_err(tv("cannot open an index reader"))?;
        let top = reader
            .searcher()
            .search(&query, &TopDocs::with_limit(LIMIT).order_by_score())
            .map_err(tv("search failed"))?;
        std::hint::black_box(top);
        Ok(())
    })?;
    let f = time_runs(opts, || {
        fts.search(&translated, LIMIT)
            .map(|r| drop(std::hint::black_box(r)))
    })?;
    let top_overlap = fts5_top.iter().filter(|k| mimamori_top.contains(k)).count();
    Ok(QueryRow {
        class: bq.class.to_string(),
        query: bq.tantivy(),
        filters: bq.filters(),
        fts5_where: translated.shown.clone(),
        fts5_like: translated.like,
        mimamori_count,
        fts5_count,
        top_overlap,
        mimamori: Latency::of(&m),
        mimamori_no_snippets: Latency::of(&m_bare),
        fts5: Latency::of(&f),
        mimamori_top,
        fts5_top,
        samples: Samples {
            mimamori: m,
            mimamori_no_snippets: m_bare,
            fts5: f,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_find_the_same_posts_and_the_report_is_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = IndexBenchOptions {
            posts: 2_000,
            seed: 7,
            workdir: dir.path().to_path_buf(),
            batch: 500,
            one_core: false,
            min_runs: 1,
            query_budget: Duration::ZERO,
            max_runs: 1,
        };
        let mut out = Vec::new();
        let report = run_index(&opts, &mut out).expect("bench runs");
        let text = String::from_utf8_lossy(&out);

        // An exact name: both engines find posts, and the same ones.
        let name = report
            .queries
            .iter()
            .find(|q| q.query == "山田商事" && q.filters.is_empty())
            .expect("name query");
        assert!(name.fts5_count > 0, "{text}");
        assert_eq!(name.mimamori_count, name.fts5_count, "{text}");
        let mut a = name.mimamori_top.clone();
        let mut b = name.fts5_top.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);

        // Every query, class, goal and table row is there.
        assert_eq!(report.queries.len(), QUERIES.len());
        assert!(QUERIES.len() >= 20);
        let classes: Vec<&str> = report.classes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(classes, [CLASSES, &["overall"]].concat());
        assert_eq!(report.goals.len(), 3);
        assert!(report.mimamori_bytes > 0 && report.fts5_bytes > 0);
        assert_eq!(report.mimamori_ingest.posts, 2_000);
        for row in [
            "ingest posts/s, wall clock",
            "ingest posts/s per core",
            "size on disk, MB",
            "overall (",
            "without snippets",
            "goals:",
            "\"山田商事は詐欺\"",
            "--since 7d",
        ] {
            assert!(text.contains(row), "no {row:?} in\n{text}");
        }
        assert!(report.queries.iter().all(|q| q.mimamori.runs == 1));
        // A kana reading finds the kanji name in mimamori only.
        let kana = report
            .queries
            .iter()
            .find(|q| q.query == "やまだ")
            .expect("kana query");
        assert!(kana.mimamori_count > kana.fts5_count, "{text}");
        serde_json::to_string(&report).expect("report serializes");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        let l = Latency::of(&samples);
        assert_eq!((l.runs, l.p50_ms, l.p99_ms), (100, 50.0, 99.0));
        assert_eq!(Latency::of(&[]).runs, 0);
    }

    #[test]
    fn short_words_fall_back_to_like_in_fts5() {
        let t = fts5::translate(&QUERIES[14], None);
        assert!(t.like && t.top.contains("LIKE") && !t.top.contains("MATCH"));
        let t = fts5::translate(&QUERIES[0], None);
        assert!(!t.like && t.top.contains("MATCH") && t.top.contains("bm25"));
    }
}
