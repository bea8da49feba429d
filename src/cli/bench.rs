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
    }
}
