//! `mimamori serve [--addr 127.0.0.1:8080] [--token T] [--config F]`: the HTTP JSON API and
//! the triage web page over `<data>/` (see `mimamori::serve`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::Outcome;
use mimamori::serve::{self, AppState, TOKEN_ENV};
use mimamori::store::Store;

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
    let store = Arc::new(Store::open(data)?);
    // Keep the index current (new posts, triage done here) unless a watch process does.
    let index = super::watch::start_index(data, Arc::clone(&store)).map(Arc::new);
    let state = AppState::new(data, store, token.clone(), watchlist)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let with_token = token.is_some();
    runtime.block_on(serve::serve(
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
    ))?;
    super::watch::finish_index(index);
    Ok(Outcome::Ok)
}
