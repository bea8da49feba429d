//! The fetch engine: one reqwest client with redirects turned off (we follow them ourselves so
//! every hop passes robots.txt, pacing and the breaker), per-host state (a one-at-a-time turn,
//! the pacer, the breaker, counters) and a per-origin robots.txt cache. The policy pieces are
//! pure and live in `robots`, `pacing` and `retry`; this file only sequences them and sleeps.
//!
//! One request to a host = take the host's turn (a FIFO async mutex) → check the breaker →
//! sleep until the pacer says go → send and read the body under one deadline → record the
//! end in the pacer → give the turn back. Retry waits are written into the pacer
//! (`defer_until`), so a `Retry-After` also holds back every other request to that host.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::fetch::pacing::{Pacer, add};
use crate::fetch::retry::{self, Breaker};
use crate::fetch::robots::{self, Robots};
use crate::fetch::{
    FetchConfig, FetchError, FetchRequest, FetchResponse, FetchStats, HostHealth, Method,
};

/// Redirects followed when fetching robots.txt (RFC 9309 §2.3.1.2: at least five).
const ROBOTS_REDIRECTS: usize = 5;

/// The HTTP client. Cheap to clone (the state is shared); share one per process so that
/// pacing and robots.txt hold across sources.
#[derive(Debug, Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    config: FetchConfig,
    /// By `host:port`.
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// By origin (`scheme://host:port`); the async mutex makes one fetch of a robots.txt
    /// serve everyone waiting for it.
    robots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<RobotsEntry>>>>>,
    stats: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    bytes: AtomicU64,
    retries: AtomicU64,
    errors: AtomicU64,
}

/// One host (`host:port`).
#[derive(Debug)]
struct Host {
    key: String,
    /// Held for the whole of one request, pacing wait included: one request at a time.
    turn: tokio::sync::Mutex<()>,
    state: Mutex<HostState>,
}

#[derive(Debug)]
struct HostState {
    pacer: Pacer,
    breaker: Breaker,
    last_error: Option<String>,
    requests: u64,
    bytes: u64,
}

#[derive(Debug)]
struct RobotsEntry {
    robots: Arc<Robots>,
    expires: Instant,
}

/// What one request came to.
enum Outcome {
    /// A response to hand back, body read.
    Response(FetchResponse),
    /// A redirect to follow (body not read).
    Redirect { status: u16, location: Url },
    /// A 429/5xx worth retrying, with the server's Retry-After if it gave one.
    Retryable {
        status: u16,
        retry_after: Option<Duration>,
    },
}

/// What to do when a body passes the limit.
#[derive(Clone, Copy)]
enum Limit {
    /// Fail with `TooLarge` (pages).
    Fail(usize),
    /// Keep the first bytes and stop reading (robots.txt).
    Truncate(usize),
}

/// One request's parameters, for every attempt and hop.
struct Call<'a> {
    url: &'a Url,
    method: Method,
    body: Option<Bytes>,
    headers: &'a HeaderMap,
    follow: bool,
    limit: Limit,
    default_encoding: &'static encoding_rs::Encoding,
}

impl Fetcher {
    /// Builds the client.
    pub fn new(config: FetchConfig) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                config,
                hosts: Mutex::default(),
                robots: Mutex::default(),
                stats: Counters::default(),
            }),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> &FetchConfig {
        &self.inner.config
    }

    /// Fetches one URL: breaker, robots.txt, pacing, conditional headers, retries, redirects
    /// and the body cap. Any status that is not retried (2xx, 304, 3xx when not following,
    /// 4xx other than 429) comes back as `Ok` for the source to judge.
    pub async fn fetch(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let result = self.fetch_inner(&req).await;
        if let Err(e) = &result {
            self.inner.stats.errors.fetch_add(1, Ordering::Relaxed);
            let host = host_key(&req.url).unwrap_or_default();
            crate::metrics::inc(
                "mimamori_fetch_errors_total",
                &[("host", &host), ("kind", e.kind())],
            );
            tracing::debug!(host = req.url.host_str().unwrap_or(""), error = %e, "fetch failed");
        }
        result
    }

    /// Counters so far.
    pub fn stats(&self) -> FetchStats {
        let s = &self.inner.stats;
        FetchStats {
            requests: s.requests.load(Ordering::Relaxed),
            bytes: s.bytes.load(Ordering::Relaxed),
            retries: s.retries.load(Ordering::Relaxed),
            errors: s.errors.load(Ordering::Relaxed),
        }
    }

    /// `mimamori_breaker_open` for every host contacted so far (1 while paused).
    pub fn metric_levels(&self) -> Vec<crate::metrics::Sample> {
        self.health()
            .iter()
            .map(|h| {
                crate::metrics::Sample::new(
                    "mimamori_breaker_open",
                    &[("host", &h.host)],
                    if h.paused_until.is_some() { 1.0 } else { 0.0 },
                )
            })
            .collect()
    }

    /// The state of every host contacted so far, sorted by host, for reports.
    pub fn health(&self) -> Vec<HostHealth> {
        let hosts: Vec<Arc<Host>> = lock(&self.inner.hosts).values().cloned().collect();
        let now = Instant::now();
        let mut out: Vec<HostHealth> = hosts
            .iter()
            .map(|h| {
                let st = lock(&h.state);
                HostHealth {
                    host: h.key.clone(),
                    consecutive_failures: st.breaker.consecutive_failures(),
                    paused_until: st
                        .breaker
                        .open_until(now)
                        .map(|until| wall_clock(until, now)),
                    last_error: st.last_error.clone(),
                    requests: st.requests,
                    bytes: st.bytes,
                }
            })
            .collect();
        out.sort_by(|a, b| a.host.cmp(&b.host));
        out
    }

    async fn fetch_inner(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let mut url = req.url.clone();
        let mut method = req.method;
        let mut body = req.body.clone();
        let mut extra = req.headers.clone();
        let mut hops = 0;
        loop {
            let host = self.host(&url)?;
            breaker_check(&host)?;
            if req.obey_robots {
                self.check_robots(&url).await?;
            }
            let headers = self.headers(req, &url, &extra)?;
            let call = Call {
                url: &url,
                method,
                body: body.clone(),
                headers: &headers,
                follow: req.follow_redirects,
                limit: Limit::Fail(self.inner.config.max_body),
                default_encoding: req.default_encoding,
            };
            let (status, location) = match self.with_retries(&host, &call).await? {
                Outcome::Response(resp) => return Ok(resp),
                Outcome::Redirect { status, location } => (status, location),
                // with_retries turns these into errors.
                Outcome::Retryable { status, .. } => {
                    return Err(FetchError::Status {
                        url: url.to_string(),
                        status,
                        attempts: 1,
                    });
                }
            };
            hops += 1;
            if hops > self.inner.config.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    url: req.url.to_string(),
                    limit: self.inner.config.max_redirects,
                });
            }
            // 303, and 301/302 after a POST, continue as a GET without the body (as browsers
            // do); 307 and 308 keep the method and body.
            if method == Method::Post && matches!(status, 301..=303) {
                method = Method::Get;
                body = None;
                extra.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            }
            // Credentials never follow a redirect to another origin.
            if location.origin() != url.origin() {
                extra.retain(|(k, _)| {
                    !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case("cookie")
                });
            }
            tracing::debug!(host = %host.key, hops, "following redirect");
            url = location;
        }
    }

    /// One hop: attempts until an answer that is not retried, or retries run out.
    async fn with_retries(&self, host: &Arc<Host>, call: &Call<'_>) -> Result<Outcome, FetchError> {
        let cfg = &self.inner.config;
        let mut retries = 0u32;
        loop {
            let result = self.attempt(host, call).await;
            let (retry_after, failure) = match result {
                Ok(Outcome::Retryable {
                    status,
                    retry_after,
                }) => {
                    let err = FetchError::Status {
                        url: call.url.to_string(),
                        status,
                        attempts: retries + 1,
                    };
                    (retry_after.map(|ra| ra.min(cfg.backoff_cap)), err)
                }
                Err(e @ (FetchError::Timeout { .. } | FetchError::Network { .. })) => (None, e),
                Err(e) => return Err(e),
                Ok(outcome) => {
                    lock(&host.state).breaker.success();
                    return Ok(outcome);
                }
            };
            // The server's Retry-After holds the host even when we give up.
            if let Some(ra) = retry_after {
                lock(&host.state).pacer.defer_until(add(Instant::now(), ra));
            }
            if retries >= cfg.retries {
                self.record_failure(host, &failure);
                return Err(failure);
            }
            let wait = match retry_after {
                Some(ra) => ra,
                None => {
                    let d = retry::backoff(
                        cfg.backoff_base,
                        cfg.backoff_cap,
                        retries,
                        retry::jitter_unit(),
                    );
                    lock(&host.state).pacer.defer_until(add(Instant::now(), d));
                    d
                }
            };
            retries += 1;
            self.inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            let wait_ms = wait.as_millis() as u64;
            tracing::debug!(host = %host.key, retry = retries, wait_ms, error = %failure, "retrying");
        }
    }

    /// One request on the host's turn, paced.
    async fn attempt(&self, host: &Arc<Host>, call: &Call<'_>) -> Result<Outcome, FetchError> {
        let _turn = host.turn.lock().await;
        breaker_check(host)?;
        loop {
            let wait = lock(&host.state).pacer.wait(Instant::now());
            if wait.is_zero() {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        // Records the end in the pacer even if this future is dropped mid-request.
        let _end = EndGuard(host);
        let started = Instant::now();
        self.inner.stats.requests.fetch_add(1, Ordering::Relaxed);
        lock(&host.state).requests += 1;
        let result = self.exchange(call).await;
        let ms = started.elapsed().as_millis() as u64;
        let path = call.url.path();
        let class = match &result {
            Ok(Outcome::Response(r)) => crate::metrics::status_class(r.status),
            Ok(Outcome::Redirect { status, .. } | Outcome::Retryable { status, .. }) => {
                crate::metrics::status_class(*status)
            }
            Err(_) => "error",
        };
        crate::metrics::inc(
            "mimamori_http_requests_total",
            &[("host", &host.key), ("class", class)],
        );
        match &result {
            Ok(Outcome::Response(r)) => {
                let bytes = r.body.len() as u64;
                self.inner.stats.bytes.fetch_add(bytes, Ordering::Relaxed);
                crate::metrics::add(
                    "mimamori_http_response_bytes_total",
                    &[("host", &host.key)],
                    bytes,
                );
                lock(&host.state).bytes += bytes;
                tracing::debug!(host = %host.key, path, status = r.status, bytes, ms, "fetched");
            }
            Ok(Outcome::Redirect { status, .. }) => {
                tracing::debug!(host = %host.key, path, status, ms, "redirected")
            }
            Ok(Outcome::Retryable { status, .. }) => {
                tracing::debug!(host = %host.key, path, status, ms, "fetched")
            }
            Err(e) => tracing::debug!(host = %host.key, path, error = %e, ms, "request failed"),
        }
        result
    }

    /// Sends the request and reads the body, all under one deadline.
    async fn exchange(&self, call: &Call<'_>) -> Result<Outcome, FetchError> {
        let cfg = &self.inner.config;
        let url_s = || call.url.to_string();
        let timeout = |what: &str| FetchError::Timeout {
            url: url_s(),
            what: format!("{what} after {:?}", cfg.timeout),
        };
        let deadline = tokio::time::Instant::now() + cfg.timeout;
        let mut builder = match call.method {
            Method::Get => self.inner.client.get(call.url.clone()),
            Method::Post => self.inner.client.post(call.url.clone()),
        };
        builder = builder.headers(call.headers.clone());
        if let Some(b) = &call.body {
            builder = builder.body(b.clone());
        }
        let fetched_at = Utc::now();
        let mut resp = match tokio::time::timeout_at(deadline, builder.send()).await {
            Err(_) => return Err(timeout("no response")),
            Ok(Err(e)) => return Err(from_reqwest(e, call.url)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if retry::is_retryable_status(status) {
            let retry_after = retry::honours_retry_after(status)
                .then(|| resp.headers().get(header::RETRY_AFTER))
                .flatten()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
            return Ok(Outcome::Retryable {
                status,
                retry_after,
            });
        }
        if call.follow
            && matches!(status, 301 | 302 | 303 | 307 | 308)
            && let Some(location) = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| call.url.join(v).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Ok(Outcome::Redirect { status, location });
        }
        let (limit, truncate) = match call.limit {
            Limit::Fail(n) => (n, false),
            Limit::Truncate(n) => (n, true),
        };
        let too_large = || FetchError::TooLarge {
            url: url_s(),
            limit,
        };
        if !truncate && resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let url = resp.url().clone();
        let remote_addr = resp.remote_addr();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = BytesMut::new();
        loop {
            let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
                Err(_) => return Err(timeout("body not complete")),
                Ok(Err(e)) => return Err(from_reqwest(e, call.url)),
                Ok(Ok(None)) => break,
                Ok(Ok(Some(c))) => c,
            };
            if body.len() + chunk.len() > limit {
                if !truncate {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk[..limit - body.len()]);
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Outcome::Response(FetchResponse {
            url,
            status,
            headers,
            body: body.freeze(),
            remote_addr,
            fetched_at,
            request_headers: call
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            default_encoding: call.default_encoding,
        }))
    }

    /// Request headers: User-Agent, Accept-Encoding (gzip, or identity on a Range request),
    /// Range, the validators, then the request's own headers (which replace ours by name).
    fn headers(
        &self,
        req: &FetchRequest,
        url: &Url,
        extra: &[(String, String)],
    ) -> Result<HeaderMap, FetchError> {
        let invalid = |what: String| FetchError::InvalidRequest {
            url: url.to_string(),
            message: what,
        };
        let value = |v: &str| {
            HeaderValue::from_str(v).map_err(|_| invalid(format!("invalid header value {v:?}")))
        };
        let mut h = HeaderMap::new();
        h.insert(header::USER_AGENT, value(&self.inner.config.user_agent)?);
        match req.range_from {
            Some(from) => {
                h.insert(header::RANGE, value(&format!("bytes={from}-"))?);
                // Explicit, or the decompression layer would add `gzip` (offsets are in raw bytes).
                h.insert(
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_static("identity"),
                );
            }
            None => {
                h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
            }
        }
        if let Some(etag) = &req.validators.etag {
            h.insert(header::IF_NONE_MATCH, value(etag)?);
        }
        if let Some(lm) = &req.validators.last_modified {
            h.insert(header::IF_MODIFIED_SINCE, value(lm)?);
        }
        let mut replaced: Vec<HeaderName> = Vec::new();
        for (k, v) in extra {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| invalid(format!("invalid header name {k:?}")))?;
            let v = value(v)?;
            if !replaced.contains(&name) {
                h.remove(&name);
                replaced.push(name.clone());
            }
            h.append(name, v);
        }
        Ok(h)
    }

    /// Whether robots.txt lets us fetch `url`, read through this fetcher's cache, pacing and
    /// breaker (for clients that fetch by other means: the screenshot browser).
    pub async fn robots_allows(&self, url: &Url) -> Result<bool, FetchError> {
        match self.check_robots(url).await {
            Ok(()) => Ok(true),
            Err(FetchError::Disallowed { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether robots.txt lets us fetch `url` (loading it if not cached or expired).
    async fn check_robots(&self, url: &Url) -> Result<(), FetchError> {
        if url.path() == "/robots.txt" {
            return Ok(());
        }
        let robots = self.robots_for(url).await?;
        if robots.is_url_allowed(url) {
            Ok(())
        } else {
            Err(FetchError::Disallowed {
                url: url.to_string(),
            })
        }
    }

    async fn robots_for(&self, url: &Url) -> Result<Arc<Robots>, FetchError> {
        let origin = url.origin().ascii_serialization();
        let slot = lock(&self.inner.robots).entry(origin).or_default().clone();
        let mut entry = slot.lock().await;
        if let Some(e) = entry.as_ref()
            && e.expires > Instant::now()
        {
            return Ok(e.robots.clone());
        }
        let (robots, ttl) = self.load_robots(url).await?;
        let robots = Arc::new(robots);
        let host = self.host(url)?;
        lock(&host.state)
            .pacer
            .set_crawl_delay(robots.crawl_delay());
        *entry = Some(RobotsEntry {
            robots: robots.clone(),
            expires: add(Instant::now(), ttl),
        });
        Ok(robots)
    }

    /// Fetches and parses an origin's robots.txt, once, and says how long to keep the answer:
    /// 2xx = parsed, 4xx (and too many redirects) = allow all for `robots_ttl`; 429, 5xx or a
    /// network error = disallow all for `robots_retry`, then try again.
    async fn load_robots(&self, url: &Url) -> Result<(Robots, Duration), FetchError> {
        let cfg = &self.inner.config;
        let ttl = cfg.robots_ttl.min(Duration::from_secs(24 * 3600));
        let mut current = url
            .join("/robots.txt")
            .map_err(|e| FetchError::InvalidRequest {
                url: url.to_string(),
                message: format!("no robots.txt URL: {e}"),
            })?;
        let mut headers = HeaderMap::new();
        if let Ok(ua) = HeaderValue::from_str(&cfg.user_agent) {
            headers.insert(header::USER_AGENT, ua);
        }
        for _ in 0..=ROBOTS_REDIRECTS {
            let host = self.host(&current)?;
            let call = Call {
                url: &current,
                method: Method::Get,
                body: None,
                headers: &headers,
                follow: true,
                limit: Limit::Truncate(robots::MAX_ROBOTS_BYTES),
                default_encoding: encoding_rs::UTF_8,
            };
            let failure = match self.attempt(&host, &call).await {
                Ok(Outcome::Redirect { location, .. }) => {
                    current = location;
                    continue;
                }
                Ok(Outcome::Response(r)) if (200..300).contains(&r.status) => {
                    lock(&host.state).breaker.success();
                    let text = String::from_utf8_lossy(&r.body);
                    return Ok((Robots::parse(&text, robots::PRODUCT_TOKEN), ttl));
                }
                Ok(Outcome::Response(r)) if (400..500).contains(&r.status) => {
                    lock(&host.state).breaker.success();
                    return Ok((Robots::allow_all(), ttl));
                }
                Ok(Outcome::Response(r)) => format!("unexpected HTTP {}", r.status),
                Ok(Outcome::Retryable { status, .. }) => format!("HTTP {status}"),
                Err(e @ FetchError::CircuitOpen { .. }) => return Err(e),
                Err(e) => e.to_string(),
            };
            let err = FetchError::Network {
                url: current.to_string(),
                message: format!("robots.txt: {failure}"),
            };
            tracing::warn!(
                host = %host.key,
                error = %err,
                "robots.txt unreachable; treating the site as disallowed"
            );
            self.record_failure(&host, &err);
            return Ok((Robots::disallow_all(), cfg.robots_retry.min(ttl)));
        }
        // More than five redirects: unavailable, which RFC 9309 treats like a 4xx.
        Ok((Robots::allow_all(), ttl))
    }

    /// Counts a failed fetch against the host's breaker and remembers the error.
    fn record_failure(&self, host: &Host, err: &FetchError) {
        let mut st = lock(&host.state);
        st.last_error = Some(err.to_string());
        if st.breaker.failure(Instant::now()) {
            tracing::warn!(
                host = %host.key,
                failures = st.breaker.consecutive_failures(),
                cooldown_s = self.inner.config.breaker_cooldown.as_secs(),
                "circuit breaker open; pausing host"
            );
        }
    }

    /// The state of `url`'s host, created on first use.
    fn host(&self, url: &Url) -> Result<Arc<Host>, FetchError> {
        let key = host_key(url).ok_or_else(|| FetchError::InvalidRequest {
            url: url.to_string(),
            message: "not an http(s) URL with a host".to_string(),
        })?;
        let cfg = &self.inner.config;
        let mut hosts = lock(&self.inner.hosts);
        let host = hosts.entry(key.clone()).or_insert_with(|| {
            Arc::new(Host {
                key,
                turn: tokio::sync::Mutex::new(()),
                state: Mutex::new(HostState {
                    pacer: Pacer::new(cfg.min_delay),
                    breaker: Breaker::new(cfg.breaker_threshold, cfg.breaker_cooldown),
                    last_error: None,
                    requests: 0,
                    bytes: 0,
                }),
            })
        });
        Ok(host.clone())
    }
}

/// Records the end of a request in the host's pacer when dropped.
struct EndGuard<'a>(&'a Host);

impl Drop for EndGuard<'_> {
    fn drop(&mut self) {
        lock(&self.0.state).pacer.finished(Instant::now());
    }
}

/// `host:port` of an http(s) URL (the pacing and breaker key).
fn host_key(url: &Url) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    Some(format!(
        "{}:{}",
        url.host_str()?,
        url.port_or_known_default()?
    ))
}

/// `CircuitOpen` if the host's breaker is open now.
fn breaker_check(host: &Host) -> Result<(), FetchError> {
    let now = Instant::now();
    let open = lock(&host.state).breaker.open_until(now);
    match open {
        Some(until) => Err(FetchError::CircuitOpen {
            host: host.key.clone(),
            until: wall_clock(until, now),
        }),
        None => Ok(()),
    }
}

/// A monotonic instant as wall-clock time.
fn wall_clock(at: Instant, now: Instant) -> DateTime<Utc> {
    let ahead = chrono::Duration::from_std(at.saturating_duration_since(now))
        .unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_add_signed(ahead)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Maps a reqwest error: timeouts (connect included) to `Timeout`, the rest to `Network`
/// with the cause chain (reqwest's own line says little: "error sending request").
fn from_reqwest(e: reqwest::Error, url: &Url) -> FetchError {
    if e.is_timeout() {
        let what = if e.is_connect() {
            "connect"
        } else {
            "response"
        };
        return FetchError::Timeout {
            url: url.to_string(),
            what: what.to_string(),
        };
    }
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let line = cause.to_string();
        if !message.contains(&line) {
            message.push_str(": ");
            message.push_str(&line);
        }
        source = cause.source();
    }
    FetchError::Network {
        url: url.to_string(),
        message,
    }
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it (the state is
/// counters and timestamps; a torn update is harmless).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
