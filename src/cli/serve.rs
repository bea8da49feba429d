//! `mimamori serve [--addr 127.0.0.1:8080] [--token T] [--config F] [--create]
//! [--search-timeout 5s]`: the HTTP JSON API and the triage web page over `<data>/` (see
//! `mimamori::serve`).
//!
//! The data directory must already be one (hold `state.sqlite`): a mistyped `--data` would
//! otherwise serve an empty queue from a directory created on the spot. `--create` starts an
//! empty one on purpose. A write-protected data directory is served read-only (search and
//! hits work, triage is refused, the index is not synced).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::Outcome;
use mimamori::serve::{self, AppState, TOKEN_ENV};
use mimamori::store::{STATE_FILE, Store, write_protected};

/// Arguments of `serve`.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on; anything but loopback needs a token. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Token every request must carry (Authorization: Bearer T, or ?token=T once on a page);
    /// default: the MIMAMORI_TOKEN environment variable.
    #[arg(long)]
    token: Option<String>,
    /// Watchlist file for /api/watchlist and the target filter (default: watchlists/*.toml;
    /// none is fine).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Create the data directory (an empty state) when it is not one yet; without it, serve
    /// refuses a --data directory that holds no state.sqlite.
    #[arg(long)]
    create: bool,
    /// Stop a search (API or page) that runs longer than this, answering 503.
    #[arg(long, value_parser = parse_timeout, default_value = "5s")]
    search_timeout: Duration,
}

/// `--search-timeout`: a duration, as in the config files.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    mimamori::index::search::parse_duration(s)
}

/// Opens the state of `data`: read-only when the directory is write-protected or cannot be
/// opened for writing. Returns the store and whether it is read-only.
fn open_store(data: &Path, create: bool) -> anyhow::Result<(Store, bool)> {
    let state = data.join(STATE_FILE);
    if !state.is_file() && !create {
        anyhow::bail!(
            "{}: not a mimamori data directory (no {STATE_FILE}); check --data, run `mimamori watch --data {0}` or `mimamori demo --data {0}` first, or pass `serve --create` to start an empty one",
            data.display()
        );
    }
    if state.is_file() && (write_protected(data) || write_protected(&state)) {
        return Ok((Store::open_read_only(data)?, true));
    }
    match Store::open(data) {
        Ok(store) => Ok((store, false)),
        Err(e) => match Store::open_read_only(data) {
            Ok(store) => {
                eprintln!("mimamori: warning: {e}; serving the data directory read-only");
                Ok((store, true))
            }
            Err(_) => Err(e.into()),
        },
    }
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_ENV).ok())
        .filter(|t| !t.is_empty());
    serve::check_bind(args.addr, token.as_deref())?;
    let watchlist = match &args.config {
        Some(f) => Some(super::load_watchlist(Some(f.as_path()))?),
        None if Path::new("watchlists").is_dir() => match super::load_watchlist(None) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("mimamori: warning: watchlists/ not loaded: {e:#}");
                None
            }
        },
        None => None,
    };
    let (store, read_only) = open_store(data, args.create)?;
    let store = Arc::new(store);
    // Keep the index current (new posts, triage done here) unless a watch process does.
    let index = if read_only {
        eprintln!(
            "mimamori serve: {} is read-only: serving search and hits, triage is off",
            data.display()
        );
        None
    } else {
        super::watch::start_index(data, Arc::clone(&store)).map(Arc::new)
    };
    let state = AppState::new(data, store, token.clone(), watchlist)?
        .with_read_only(read_only)
        .with_search_budget(args.search_timeout);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let with_token = token.is_some();
    let served = runtime.block_on(serve::serve(
        args.addr,
        state,
        move |bound| {
            let hint = if with_token {
                " (open it once with ?token=<token>)"
            } else {
                ""
            };
            outln!("mimamori serve: listening on http://{bound}/{hint}");
        },
        super::watch::shutdown_signal(),
    ));
    // Searches still running stop at their deadline; do not wait for them past the grace.
    runtime.shutdown_timeout(Duration::from_secs(1));
    served?;
    super::watch::finish_index(index);
    Ok(Outcome::Ok)
}
