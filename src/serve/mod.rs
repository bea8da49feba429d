//! `mimamori serve`: the HTTP JSON API (`/api/…`, described by `/api/openapi.json`) and the
//! server-rendered triage web page, on one axum router.
//!
//! Why it is built this way:
//! - **Loopback unless told otherwise, then a token.** [`check_bind`] refuses a non-loopback
//!   address without a token. With a token every request must carry it: `Authorization:
//!   Bearer T` (API), or the `mimamori_token` cookie that `?token=T` on any page sets
//!   (HttpOnly, SameSite=Strict) before redirecting to the same URL without the token.
//!   Tokens are compared in constant time (SHA-256 of both, then a branch-free compare).
//! - **Crawled text is attacker-written.** Pages are built by [`html`] where every piece of
//!   text and every attribute goes through one escaping function; a strict
//!   Content-Security-Policy (no script at all) is a second wall. Posts of unsafe triage forms
//!   from another origin are refused (`Origin` must match `Host`), and without a token the
//!   `Host` header must name a loopback host, so a DNS-rebinding page cannot reach the API.
//! - **Never block the executor.** The store and the index are blocking (SQLite, Tantivy,
//!   Lindera): every handler runs them through [`blocking`] (`spawn_blocking`). The index is
//!   opened per request, so a `mimamori reindex` that swaps the directory is seen at once.
//! - **A search cannot hold a core for long.** Query strings are bounded before parsing
//!   (`index::limits`, 400 past a limit); [`search::run`] runs at most [`AppState`]'s share of
//!   searches at once, each under a time budget enforced inside Tantivy's scoring loop (503
//!   past it); and on SIGTERM/Ctrl-C [`serve`] waits at most [`SHUTDOWN_GRACE`] for requests
//!   in flight.
//! - **Errors speak the route's language.** Every error under `/api/` is JSON `{error}`, even
//!   the ones axum makes itself (a body over [`MAX_BODY`] is a 413, a bad method a 405); on
//!   pages it is an error page.
//! - **A read-only data directory is served read-only.** Searching and reading write nothing;
//!   triage answers 403 saying why.
//! - **Personal data stays masked.** Hit matches are stored masked; post bodies are shown
//!   with every personal value the analyzer found (and any the detector finds now) replaced by
//!   its mask (`090-****-6789`), see [`view`].

pub mod api;
pub mod html;
pub mod metrics;
pub mod pages;
pub mod params;
pub mod search;
pub mod view;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::config::Watchlist;
use crate::index::IndexError;
use crate::index::search::SEARCH_BUDGET;
use crate::store::{Store, StoreError};

/// The name of the cookie that carries the token on pages.
pub const TOKEN_COOKIE: &str = "mimamori_token";
/// The environment variable `serve` reads the token from when `--token` is not given.
pub const TOKEN_ENV: &str = "MIMAMORI_TOKEN";
/// Largest request body accepted, in bytes (a triage update is a status and a note of at most
/// 4,000 bytes).
pub const MAX_BODY: usize = 64 * 1024;
/// How long [`serve`] waits for requests in flight after SIGTERM/Ctrl-C before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The Content-Security-Policy of every response: no script, no external anything.
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// What went wrong starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A non-loopback address without a token.
    #[error(
        "refusing to serve on {addr} without a token: anyone who can reach it could read the hits; pass --token T (or set MIMAMORI_TOKEN), or bind 127.0.0.1"
    )]
    NeedsToken {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The token is empty or has characters a header or cookie cannot carry.
    #[error("the token must be 1–200 printable ASCII characters without spaces, ';' or ','")]
    BadToken,
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr}: {source} (is another server running there? try --addr 127.0.0.1:0)"
    )]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the web server failed: {0}")]
    Serve(std::io::Error),
    /// The state database could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The data directory (the index is opened from it per request).
    pub data: PathBuf,
    /// The state database.
    pub store: Arc<Store>,
    /// The token every request must carry, if any.
    token: Option<String>,
    /// The watchlist, for `/api/watchlist` and the target filter (empty when none).
    pub watchlist: Option<Watchlist>,
    /// The data directory is served read-only: triage is refused.
    read_only: bool,
    /// Time budget of one search.
    search_budget: Duration,
    /// Searches that may run at once (one per core, at most 4).
    searches: Arc<Semaphore>,
}

impl AppState {
    /// State for serving data directory `data` with `store`, an optional token and watchlist.
    pub fn new(
        data: &Path,
        store: Arc<Store>,
        token: Option<String>,
        watchlist: Option<Watchlist>,
    ) -> Result<AppState, ServeError> {
        if let Some(t) = &token
            && !valid_token(t)
        {
            return Err(ServeError::BadToken);
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(AppState {
            data: data.to_path_buf(),
            store,
            token,
            watchlist,
            read_only: false,
            search_budget: SEARCH_BUDGET,
            searches: Arc::new(Semaphore::new(cores.clamp(1, 4))),
        })
    }

    /// Serves the data directory read-only: triage answers 403.
    pub fn with_read_only(mut self, read_only: bool) -> AppState {
        self.read_only = read_only;
        self
    }

    /// Gives each search `budget` instead of [`SEARCH_BUDGET`].
    pub fn with_search_budget(mut self, budget: Duration) -> AppState {
        self.search_budget = budget;
        self
    }

    /// True when the data directory is served read-only.
    pub fn read_only(&self) -> bool {
        self.read_only
    }

    /// Refuses a change (triage) when the data directory is served read-only.
    pub fn check_writable(&self) -> Result<(), ApiError> {
        if self.read_only {
            return Err(ApiError {
                status: StatusCode::FORBIDDEN,
                message: format!(
                    "{}: this server serves a read-only data directory, so triage is off (restart `mimamori serve` with write access to it)",
                    self.data.display()
                ),
            });
        }
        Ok(())
    }
}

fn valid_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 200
        && t.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',' && b != b'"' && b != b'\\')
}

/// Refuses a non-loopback address without a token.
pub fn check_bind(addr: SocketAddr, token: Option<&str>) -> Result<(), ServeError> {
    if !addr.ip().is_loopback() && token.is_none() {
        return Err(ServeError::NeedsToken { addr });
    }
    Ok(())
}

/// The whole application: API, pages and the auth/header/error layers.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .route("/metrics", axum::routing::get(metrics_page))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .layer(middleware::from_fn(uniform_errors))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// `GET /metrics` (behind the same guard as every route: a token off loopback).
async fn metrics_page(State(state): State<Arc<AppState>>) -> Response {
    metrics::Scrape {
        store: Arc::clone(&state.store),
        data: state.data.clone(),
        fetcher: None,
        shots: None,
    }
    .respond()
    .await
}

/// Binds `addr` (after [`check_bind`]) and serves `state` until `shutdown` resolves; calls
/// `on_bound` with the address actually bound (useful with port 0). After `shutdown`,
/// requests in flight get [`SHUTDOWN_GRACE`] to finish; then it returns anyway.
pub async fn serve(
    addr: SocketAddr,
    state: AppState,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check_bind(addr, state.token.as_deref())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    on_bound(bound);
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let server =
        axum::serve(listener, router(Arc::new(state))).with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stopping.send(true);
        });
    match with_grace(server.into_future(), stopped, SHUTDOWN_GRACE).await {
        Some(result) => result.map_err(ServeError::Serve),
        None => {
            tracing::warn!(
                grace_secs = SHUTDOWN_GRACE.as_secs(),
                "requests still in flight after the shutdown grace period: stopping anyway"
            );
            Ok(())
        }
    }
}

/// Runs `server` to its end, but gives up `grace` after `stopping` turns true: `None` then.
pub async fn with_grace<T>(
    server: impl Future<Output = T>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    grace: Duration,
) -> Option<T> {
    let deadline = async move {
        // A dropped sender means no shutdown was ever asked for: wait for the server alone.
        if stopping.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        out = server => Some(out),
        () = deadline => None,
    }
}

/// For `demo`: serves `store` on loopback `addr` in the background (for as long as the runtime
/// runs), falling back to an ephemeral port when `addr` is taken, and returns the page's URL.
pub async fn spawn_local(
    data: &Path,
    store: Arc<Store>,
    addr: SocketAddr,
    watchlist: Option<Watchlist>,
) -> Result<String, ServeError> {
    check_bind(addr, None)?;
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(_) => {
            let any = SocketAddr::new(addr.ip(), 0);
            tokio::net::TcpListener::bind(any)
                .await
                .map_err(|source| ServeError::Bind { addr: any, source })?
        }
    };
    let bound = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let state = Arc::new(AppState::new(data, store, None, watchlist)?);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(state)).await {
            tracing::warn!(error = %e, "the demo web server stopped");
        }
    });
    Ok(format!("http://{bound}/"))
}

/// Runs blocking store/index work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?
}

/// An error answer: a status and a message (JSON `{error}` for the API, a page for pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 503 with `message`.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    /// 500 with `message`.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Status(_) => ApiError::bad_request(e.to_string()),
            StoreError::NoHit(_) => ApiError::not_found(e.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

impl From<IndexError> for ApiError {
    fn from(e: IndexError) -> ApiError {
        let status = match &e {
            IndexError::Missing { .. }
            | IndexError::Version { .. }
            | IndexError::Unreadable { .. }
            | IndexError::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            IndexError::Query { .. } | IndexError::QueryLimit(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError {
            status,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Constant-time equality of two tokens (compares their SHA-256, so lengths do not leak).
pub fn token_eq(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v.to_string())
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
}

/// The query string without its `token` parameter, and that token.
fn split_token(query: &str) -> (String, Option<String>) {
    let mut token = None;
    let rest: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .filter_map(|(k, v)| {
            if k == "token" {
                token = Some(v.into_owned());
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    let rest = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    (rest, token)
}

/// `path` as a redirect target that stays on this origin: one leading `/`. A path that starts
/// with `//` or `/\` would be read by a browser as another host (`//evil.example/`).
fn local_path(path: &str) -> String {
    format!("/{}", path.trim_start_matches(['/', '\\']))
}

fn host_is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn refuse(status: StatusCode, message: &str, api: bool) -> Response {
    if api {
        ApiError {
            status,
            message: message.to_string(),
        }
        .into_response()
    } else {
        pages::error_page(status, message)
    }
}

/// False for a browser request from another origin: `Sec-Fetch-Site` when the browser sends
/// it, else an `Origin` that does not name `host`. Clients that send neither (curl, scripts)
/// pass; they have to pass the token check anyway when there is one.
fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
        return true;
    };
    url::Url::parse(origin).ok().is_some_and(|u| {
        let o = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        o.eq_ignore_ascii_case(host)
    })
}

/// Auth and origin checks for every request.
async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    if state.token.is_none() && !host.is_empty() && !host_is_loopback(&host) {
        return refuse(
            StatusCode::FORBIDDEN,
            "this server answers only to localhost / 127.0.0.1 (serve with --token to allow other hosts)",
            api,
        );
    }
    if req.method() == axum::http::Method::POST && !same_origin(headers, &host) {
        return refuse(StatusCode::FORBIDDEN, "cross-origin request refused", api);
    }
    let Some(expected) = state.token.as_deref() else {
        return next.run(req).await;
    };
    let given = bearer_token(headers).or_else(|| cookie_token(headers));
    if given.as_deref().is_some_and(|g| token_eq(g, expected)) {
        return next.run(req).await;
    }
    if !api {
        let (rest, token) = split_token(req.uri().query().unwrap_or(""));
        if let Some(t) = token
            && token_eq(&t, expected)
        {
            let path = local_path(req.uri().path());
            let to = if rest.is_empty() {
                path
            } else {
                format!("{path}?{rest}")
            };
            let mut resp = Redirect::to(&to).into_response();
            let cookie = format!("{TOKEN_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict");
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            return resp;
        }
    }
    let mut resp = refuse(
        StatusCode::UNAUTHORIZED,
        if api {
            "missing or wrong token: send Authorization: Bearer <token>"
        } else {
            "missing or wrong token: open this page once with ?token=<token>"
        },
        api,
    );
    if api {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"mimamori\""),
        );
    }
    resp
}

/// Makes every error answer speak its route's language: under `/api/` an error that is not
/// JSON yet (axum's own rejections: 413 body too large, 405 method, 400 bad path) becomes
/// `{"error": …}` with the same status; on pages a plain-text one becomes an error page.
async fn uniform_errors(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let kind = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let already = if api {
        kind.starts_with("application/json")
    } else {
        kind.starts_with("text/html")
    };
    if already {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the request body is larger than the limit of {MAX_BODY} bytes")
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_ascii_lowercase()
    } else {
        text
    };
    let mut out = refuse(status, &message, api);
    // Keep what tells the client how to go on (Allow on a 405, WWW-Authenticate on a 401).
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// CSP and friends on every response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_by_value() {
        assert!(token_eq("abc", "abc"));
        assert!(!token_eq("abc", "abd"));
        assert!(!token_eq("", "abc"));
    }

    #[test]
    fn non_loopback_needs_a_token() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap_or_else(|_| unreachable!());
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap_or_else(|_| unreachable!());
        assert!(check_bind(any, None).is_err());
        assert!(check_bind(any, Some("t")).is_ok());
        assert!(check_bind(lo, None).is_ok());
    }

    #[test]
    fn the_token_parameter_is_taken_out_of_the_query() {
        let (rest, t) = split_token("q=%E5%B1%B1&token=s3cret&limit=5");
        assert_eq!(t.as_deref(), Some("s3cret"));
        assert_eq!(rest, "q=%E5%B1%B1&limit=5");
    }

    #[test]
    fn token_redirects_stay_on_this_origin() {
        assert_eq!(local_path("/search"), "/search");
        assert_eq!(local_path("/"), "/");
        assert_eq!(local_path("//evil.example/"), "/evil.example/");
        assert_eq!(local_path("/\\evil.example/"), "/evil.example/");
        assert_eq!(local_path("/\\/\\//evil.example"), "/evil.example");
        assert_eq!(local_path("/hits/3"), "/hits/3");
    }

    #[tokio::test]
    async fn a_stuck_server_is_given_up_after_the_grace_period() {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stuck = std::future::pending::<()>();
        let started = std::time::Instant::now();
        let stop = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let _ = tx.send(true);
        };
        let (out, ()) = tokio::join!(with_grace(stuck, rx, Duration::from_millis(50)), stop);
        assert!(out.is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_server_that_ends_is_waited_for() {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        let out = with_grace(async { 7 }, rx, Duration::from_millis(1)).await;
        assert_eq!(out, Some(7));
    }

    #[test]
    fn loopback_hosts() {
        assert!(host_is_loopback("127.0.0.1:8080"));
        assert!(host_is_loopback("localhost"));
        assert!(host_is_loopback("[::1]:80"));
        assert!(!host_is_loopback("evil.example:8080"));
    }
}
