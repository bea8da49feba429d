//! `mimamori reindex [--config F]`: rebuilds `<data>/tantivy/` from `<data>/state.sqlite`,
//! with a progress bar on stderr when it is a terminal. With a watchlist (`--config`, or
//! `watchlists/` when present) each post is re-analyzed so that every target it mentions is
//! indexed; without one, targets and categories come from the recorded hits only.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Outcome;
use mimamori::analyze::{Analysis, Analyzer};
use mimamori::model::Post;
use mimamori::store::{STATE_FILE, Store};

/// Arguments of `reindex`.
#[derive(clap::Args)]
pub struct Args {
    /// Watchlist used to re-analyze posts (default: every `watchlists/*.toml`, if present).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    let state = data.join(STATE_FILE);
    if !state.is_file() {
        anyhow::bail!(
            "{}: no state to rebuild the index from (run `mimamori watch` first)",
            state.display()
        );
    }
    let store = Store::open(data)?;
    let analyzer = match &args.config {
        Some(path) => Some(Analyzer::new(&super::load_watchlist(Some(path))?)?),
        None if Path::new("watchlists").is_dir() => {
            match super::load_watchlist(None).map(|w| Analyzer::new(&w)) {
                Ok(Ok(a)) => Some(a),
                Ok(Err(e)) => {
                    eprintln!("mimamori: watchlists/: {e}; indexing targets from hits only");
                    None
                }
                Err(e) => {
                    eprintln!("mimamori: {e}; indexing targets from hits only");
                    None
                }
            }
        }
        None => None,
    };
    let analyze = analyzer
        .as_ref()
        .map(|a| move |p: &Post| -> Analysis { a.analyze(&p.to_input()) });
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} posts {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let stats = mimamori::index::reindex(
        data,
        &store,
        analyze.as_ref().map(|f| f as &dyn Fn(&Post) -> Analysis),
        |done, total| {
            if let Some(bar) = &bar {
                bar.set_length(total);
                bar.set_position(done);
            }
        },
    )?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    eprintln!(
        "mimamori: indexed {} posts ({} with hits) into {}",
        stats.posts,
        stats.with_hits,
        mimamori::index::index_dir(data).display()
    );
    Ok(Outcome::Ok)
}
