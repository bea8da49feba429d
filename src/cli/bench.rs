//! `mimamori bench …`: benchmarks that print ratios against a peer run in the same run.

use std::path::PathBuf;

use anyhow::Context;

use super::Outcome;
use mimamori::bench::{AnalyzeBenchOptions, run_analyze};

/// Benchmark subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Analyzer throughput against Lindera alone, MeCab and ripgrep on one generated corpus.
    Analyze {
        /// Corpus size in MB.
        #[arg(long, default_value_t = 50)]
        size_mb: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where the corpus files go.
        #[arg(long, default_value = "target/bench")]
        workdir: PathBuf,
        /// Watchlist (default: watchlists/).
        #[arg(long)]
        watchlist: Option<PathBuf>,
    },
    /// The crawler against simulated 5ch and したらば boards with 1,000 active threads: bytes
    /// fetched ÷ bytes of new posts, polls per second per core, post-to-hit latency.
    Crawl {
        /// Active threads per board.
        #[arg(long, default_value_t = 1000)]
        threads: usize,
        /// Measured cycles.
        #[arg(long, default_value_t = 3)]
        cycles: usize,
        /// New posts per thread per cycle, on average.
        #[arg(long, default_value_t = 2.0)]
        posts_per_thread: f64,
        /// Poll interval of the latency run (`2s`).
        #[arg(long, default_value = "2s", value_parser = mimamori::config::parse_duration)]
        every: std::time::Duration,
        /// Risky posts whose latency is measured.
        #[arg(long, default_value_t = 15)]
        latency_posts: usize,
        /// Seed of the generated posts.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Where the temporary state goes.
        #[arg(long, default_value = "target/bench")]
        workdir: PathBuf,
        /// Print the figures as JSON after the report.
        #[arg(long)]
        json: bool,
    },
    /// The search index at a million posts: ingest posts/s (wall and per core), size, search
    /// latency p50/p99 over a fixed set of Japanese queries, against SQLite FTS5 (trigram).
    Index {
        /// Posts to generate and index.
        #[arg(long, default_value_t = 1_000_000)]
        posts: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Work directory (its index-bench/ is removed at the start).
        #[arg(long, default_value = "target/bench")]
        workdir: PathBuf,
        /// Skip the second ingest pinned to one CPU.
        #[arg(long)]
        no_one_core: bool,
        /// Print the figures as JSON after the report.
        #[arg(long)]
        json: bool,
    },
    /// Evidence and alerts: capture cost per hit (ms, bytes) against a bare WARC writer,
    /// alert latency commit → webhook on loopback (goal p99 ≤ 1 s) against a direct POST,
    /// `evidence verify` MB/s against sha256sum.
    Evidence {
        /// Hits captured.
        #[arg(long, default_value_t = 1_000)]
        hits: usize,
        /// Alerts delivered.
        #[arg(long, default_value_t = 200)]
        alerts: usize,
        /// Generator seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Work directory (its evidence-bench/ is removed at the start).
        #[arg(long, default_value = "target/bench")]
        workdir: PathBuf,
        /// Print the figures as JSON after the report.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: &Command) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Analyze {
            size_mb,
            seed,
            workdir,
            watchlist,
        } => {
            let watchlist = super::load_watchlist(watchlist.as_deref())?;
            let opts = AnalyzeBenchOptions {
                size_mb: *size_mb,
                seed: *seed,
                workdir: workdir.clone(),
                watchlist,
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            run_analyze(&opts, &mut out).context("analyze benchmark failed")?;
            Ok(Outcome::Ok)
        }
        Command::Crawl {
            threads,
            cycles,
            posts_per_thread,
            every,
            latency_posts,
            seed,
            workdir,
            json,
        } => {
            let opts = mimamori::bench::crawl::CrawlBenchOptions {
                threads: *threads,
                cycles: *cycles,
                posts_per_thread: *posts_per_thread,
                every: *every,
                latency_posts: *latency_posts,
                seed: *seed,
                workdir: workdir.clone(),
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let report = mimamori::bench::crawl::run_crawl(&opts, &mut out)
                .context("crawl benchmark failed")?;
            print_json(*json, &mut out, &report)
        }
        Command::Index {
            posts,
            seed,
            workdir,
            no_one_core,
            json,
        } => {
            let opts = mimamori::bench::index::IndexBenchOptions {
                posts: *posts,
                seed: *seed,
                workdir: workdir.clone(),
                one_core: !*no_one_core,
                ..Default::default()
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let report = mimamori::bench::index::run_index(&opts, &mut out)
                .context("index benchmark failed")?;
            print_json(*json, &mut out, &report)
        }
        Command::Evidence {
            hits,
            alerts,
            seed,
            workdir,
            json,
        } => {
            let opts = mimamori::bench::evidence::EvidenceBenchOptions {
                hits: *hits,
                alerts: *alerts,
                seed: *seed,
                workdir: workdir.clone(),
            };
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let report = mimamori::bench::evidence::run_evidence(&opts, &mut out)
                .context("evidence benchmark failed")?;
            print_json(*json, &mut out, &report)
        }
    }
}

/// Prints `report` as JSON after the text report when asked.
fn print_json(
    json: bool,
    out: &mut impl std::io::Write,
    report: &impl serde::Serialize,
) -> anyhow::Result<Outcome> {
    if json {
        serde_json::to_writer_pretty(&mut *out, report).context("cannot write the report")?;
        writeln!(out).context("cannot write the report")?;
    }
    Ok(Outcome::Ok)
}
