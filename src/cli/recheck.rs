//! `mimamori recheck [--config F] [--all] [HIT…]`: re-fetches flagged posts now and records
//! whether each is still up, changed or deleted (`watch` does this on the `[recheck]`
//! schedule). Without arguments only the posts that are due; `--all` every flagged post not
//! yet seen deleted; hit ids limit it to those hits' posts. Exit 2 when some check failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::Outcome;
use mimamori::evidence::Evidence;
use mimamori::fetch::Fetcher;
use mimamori::recheck::{RecheckConfig, Rechecker};
use mimamori::sources::{self, Source};
use mimamori::store::{STATE_FILE, Store};
use mimamori::watch::fetch_config;

/// Arguments of `recheck`.
#[derive(clap::Args)]
pub struct Args {
    /// One TOML file with the sources (default: every watchlists/*.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Every flagged post not yet seen deleted, whether due or not.
    #[arg(long)]
    all: bool,
    /// Only these hits' posts (implies --all for them).
    hits: Vec<i64>,
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    if !data.join(STATE_FILE).is_file() {
        anyhow::bail!(
            "{}: no state yet (run `mimamori watch` first)",
            data.join(STATE_FILE).display()
        );
    }
    let watchlist = super::load_watchlist(args.config.as_deref())?;
    let config = RecheckConfig::from_watchlist(&watchlist)?;
    let store = Arc::new(Store::open(data)?);
    let only = if args.hits.is_empty() {
        None
    } else {
        let mut keys = Vec::new();
        for id in &args.hits {
            let hit = store
                .hit(*id)?
                .with_context(|| format!("no hit with id {id} (see `mimamori hits`)"))?;
            keys.push(hit.post_key);
        }
        Some(keys)
    };
    let fetcher = Fetcher::new(fetch_config(&watchlist)?)?;
    let mut built: Vec<Arc<dyn Source>> = Vec::new();
    for cfg in &watchlist.sources {
        built.push(Arc::from(sources::build(cfg)?));
    }
    let evidence = Arc::new(Evidence::open(data)?);
    let rechecker = Rechecker::new(built, fetcher, store, Some(evidence), config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let all = args.all || only.is_some();
    let s = runtime.block_on(rechecker.run_due(chrono::Utc::now(), all, only.as_deref()))?;
    // The first failure may quote what a server answered.
    eprintln!("mimamori: {}", super::line(&s.to_string()));
    Ok(if s.failed > 0 {
        Outcome::Partial
    } else {
        Outcome::Ok
    })
}
