//! `/metrics`: the counters of [`crate::metrics`] and the levels read at scrape time — from
//! the state (alert queue, source health), the search index (its lag behind the state), and,
//! in `watch`, the fetcher (breakers) and the screenshot queue. `serve` answers it on its own
//! port (with its token rules); `watch --metrics-addr` starts [`serve_metrics`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::evidence::screenshot::worker::ShotSender;
use crate::fetch::Fetcher;
use crate::metrics::{self, Sample};
use crate::store::Store;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a scrape reads besides the counters.
#[derive(Clone)]
pub struct Scrape {
    /// The state.
    pub store: Arc<Store>,
    /// The data directory (for the search index).
    pub data: PathBuf,
    /// The fetcher whose breakers to report (`watch`).
    pub fetcher: Option<Fetcher>,
    /// The screenshot queue (`watch` with screenshots on).
    pub shots: Option<ShotSender>,
}

impl Scrape {
    /// The exposition text now (blocking: it reads the state and the index).
    pub fn render(&self) -> Result<String, crate::store::StoreError> {
        let mut levels = self.store.metric_levels()?;
        levels.push(Sample::new(
            "mimamori_index_lag_posts",
            &[],
            index_lag(&self.store, &self.data) as f64,
        ));
        if let Some(f) = &self.fetcher {
            levels.extend(f.metric_levels());
        }
        if let Some(s) = &self.shots {
            levels.push(Sample::new(
                "mimamori_screenshot_queue_depth",
                &[],
                s.queued() as f64,
            ));
        }
        Ok(metrics::render(&levels))
    }

    /// The `/metrics` answer.
    pub async fn respond(self) -> Response {
        match tokio::task::spawn_blocking(move || self.render()).await {
            Ok(Ok(text)) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
            Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        }
    }
}

/// Stored posts the index has not taken in (all of them when there is no index yet).
fn index_lag(store: &Store, data: &Path) -> u64 {
    match crate::index::sync::lag(data, store) {
        Ok(lag) => lag.posts.max(0) as u64,
        Err(_) => store.last_post_rowid().unwrap_or(0).max(0) as u64,
    }
}

/// Serves `GET /metrics` on `addr` until the process ends; returns the address bound (port 0
/// picks a free one).
pub async fn serve_metrics(addr: SocketAddr, scrape: Scrape) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let scrape = scrape.clone();
            async move { scrape.respond().await }
        }),
    );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics endpoint stopped");
        }
    });
    Ok(bound)
}
