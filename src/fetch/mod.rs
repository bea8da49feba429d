//! The one HTTP client every source goes through, so nobody can skip robots.txt or pacing.
//!
//! A source builds a [`FetchRequest`] (validators, Range, a fallback charset) and gets back a
//! [`FetchResponse`] with the body read, or a [`FetchError`] naming the URL. In between,
//! [`Fetcher::fetch`] checks the host's circuit breaker, robots.txt (RFC 9309, cached per
//! origin), waits its turn on the host (one request at a time, `min_delay` apart), retries
//! 429/5xx/timeouts with Retry-After or jittered backoff, follows redirects itself (each hop
//! checked again), and caps the body and the time. The policies are pure and unit-tested in
//! their own files; `client` only sequences them:
//!
//! - `robots` — robots.txt parser and matcher;
//! - `pacing` — the per-host rate limiter ("wait this long");
//! - `retry` — retryable statuses, backoff with jitter, Retry-After, the circuit breaker;
//! - `charset` — charset sniffing and counted, never-failing decoding;
//! - `client` — the async engine ([`Fetcher`]).
//!
//! [`FetchRequest`]: crate::fetch::FetchRequest
//! [`FetchResponse`]: crate::fetch::FetchResponse
//! [`FetchError`]: crate::fetch::FetchError
//! [`Fetcher`]: crate::fetch::Fetcher
//! [`Fetcher::fetch`]: crate::fetch::Fetcher::fetch

pub mod charset;
mod client;
pub mod pacing;
pub mod retry;
pub mod robots;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use url::Url;

/// Fetch settings (`[fetch]` table of the config); every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchConfig {
    /// User-Agent sent to sites (5ch wants `Monazilla/1.00 …`; sources may override per request).
    pub user_agent: String,
    /// Minimum delay between two requests to the same host.
    #[serde(with = "crate::fetch::duration_str")]
    pub min_delay: Duration,
    /// Connect timeout.
    #[serde(with = "crate::fetch::duration_str")]
    pub connect_timeout: Duration,
    /// Timeout for the whole response, body included.
    #[serde(with = "crate::fetch::duration_str")]
    pub timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_body: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Retries after a 429/5xx/network error.
    pub retries: u32,
    /// First backoff delay (doubles each retry, with jitter).
    #[serde(with = "crate::fetch::duration_str")]
    pub backoff_base: Duration,
    /// Longest backoff or Retry-After honoured.
    #[serde(with = "crate::fetch::duration_str")]
    pub backoff_cap: Duration,
    /// Consecutive failures that open a host's circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker pauses a host.
    #[serde(with = "crate::fetch::duration_str")]
    pub breaker_cooldown: Duration,
    /// How long a robots.txt is cached (at most 24 h per RFC 9309).
    #[serde(with = "crate::fetch::duration_str")]
    pub robots_ttl: Duration,
    /// After a robots.txt could not be fetched (5xx, network error) the site counts as
    /// disallowed; this is how long until robots.txt is tried again.
    #[serde(with = "crate::fetch::duration_str")]
    pub robots_retry: Duration,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            user_agent: format!(
                "mimamori/{} (+https://github.com/mimamori)",
                env!("CARGO_PKG_VERSION")
            ),
            min_delay: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 16 * 1024 * 1024,
            max_redirects: 5,
            retries: 3,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(120),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(600),
            robots_ttl: Duration::from_secs(24 * 3600),
            robots_retry: Duration::from_secs(60),
        }
    }
}

/// Serde helper: durations written as `"500ms"`, `"1s"`, `"5m"`.
pub mod duration_str {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Parses a duration string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        crate::config::parse_duration(&s).map_err(serde::de::Error::custom)
    }

    /// Writes a duration as milliseconds.
    pub fn serialize<S: Serializer>(v: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", v.as_millis()))
    }
}

/// Cache validators from an earlier response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Validators {
    /// `ETag` of the earlier response.
    pub etag: Option<String>,
    /// `Last-Modified` of the earlier response.
    pub last_modified: Option<String>,
}

/// HTTP method of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST (JSON APIs such as Bluesky's createSession).
    Post,
}

/// One request, built with [`FetchRequest::get`] and the `with_*` methods.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Where.
    pub url: Url,
    /// GET or POST.
    pub method: Method,
    /// Body for POST.
    pub body: Option<Bytes>,
    /// Conditional-GET validators (If-None-Match / If-Modified-Since).
    pub validators: Validators,
    /// `Range: bytes=<from>-` (and no gzip) when set.
    pub range_from: Option<u64>,
    /// Charset used when neither the header nor the page says.
    pub default_encoding: &'static encoding_rs::Encoding,
    /// Extra headers (User-Agent overrides, Authorization, Accept).
    pub headers: Vec<(String, String)>,
    /// Follow redirects (default) or return the 3xx itself (5ch dat落ち detection).
    pub follow_redirects: bool,
    /// Check robots.txt before the request (default). Only query APIs asked on a user's
    /// behalf turn this off ([`FetchRequest::api_query`]); sources never do.
    pub obey_robots: bool,
}

impl FetchRequest {
    /// A GET of `url` with no validators, UTF-8 default, redirects followed.
    pub fn get(url: Url) -> Self {
        FetchRequest {
            url,
            method: Method::Get,
            body: None,
            validators: Validators::default(),
            range_from: None,
            default_encoding: encoding_rs::UTF_8,
            headers: Vec::new(),
            follow_redirects: true,
            obey_robots: true,
        }
    }

    /// A POST of a JSON body.
    pub fn post_json(url: Url, body: &serde_json::Value) -> Self {
        let mut r = Self::get(url);
        r.method = Method::Post;
        r.body = Some(Bytes::from(body.to_string()));
        r.headers
            .push(("content-type".into(), "application/json".into()));
        r
    }

    /// Adds conditional-GET validators.
    pub fn with_validators(mut self, v: Validators) -> Self {
        self.validators = v;
        self
    }

    /// Asks for the bytes from `from` on.
    pub fn with_range_from(mut self, from: u64) -> Self {
        self.range_from = Some(from);
        self
    }

    /// Sets the fallback charset.
    pub fn with_encoding(mut self, e: &'static encoding_rs::Encoding) -> Self {
        self.default_encoding = e;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Returns redirects as responses instead of following them.
    pub fn without_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// Marks the request as a query to a lookup API (RDAP, RFC 7480), not crawling: robots.txt
    /// is not consulted (it addresses crawlers, and RDAP servers rate-limit with 429 instead),
    /// while pacing, retries, the breaker, timeouts and the body cap still apply.
    pub fn api_query(mut self) -> Self {
        self.obey_robots = false;
        self
    }
}

/// A response with its body read in full (up to the cap).
#[derive(Debug, Clone)]
pub struct FetchResponse {
    /// The final URL (after redirects).
    pub url: Url,
    /// HTTP status.
    pub status: u16,
    /// Response headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes as received (after content decoding).
    pub body: Bytes,
    /// The server's address.
    pub remote_addr: Option<SocketAddr>,
    /// When the response started.
    pub fetched_at: DateTime<Utc>,
    /// Request headers sent, names lower-case (for evidence).
    pub request_headers: Vec<(String, String)>,
    /// The charset fallback of the request.
    pub default_encoding: &'static encoding_rs::Encoding,
}

/// Text decoded from a body.
#[derive(Debug, Clone)]
pub struct DecodedText {
    /// The text.
    pub text: String,
    /// The charset used.
    pub encoding: &'static encoding_rs::Encoding,
    /// How many malformed sequences were replaced with U+FFFD.
    pub replaced: usize,
}

impl FetchResponse {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Validators for the next conditional GET.
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.header("etag").map(str::to_string),
            last_modified: self.header("last-modified").map(str::to_string),
        }
    }

    /// Decodes the body: charset from a BOM, the Content-Type header, an HTML `<meta>` in the
    /// first 2 KB or an XML declaration, else the request's default (`Shift_JIS` decodes as
    /// Windows-31J). Malformed bytes become U+FFFD and are counted in `replaced`.
    pub fn text(&self) -> DecodedText {
        charset::decode(
            &self.body,
            self.header("content-type"),
            self.default_encoding,
        )
    }
}

/// Why a fetch failed; each names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// robots.txt disallows the URL for our product token.
    #[error("{url}: disallowed by robots.txt (product token \"mimamori\")")]
    Disallowed {
        /// The URL.
        url: String,
    },
    /// The host's circuit breaker is open after repeated failures.
    #[error("{host}: paused after repeated failures until {until} (circuit breaker)")]
    CircuitOpen {
        /// The host.
        host: String,
        /// When it will be tried again.
        until: DateTime<Utc>,
    },
    /// Connect or whole-response timeout.
    #[error("{url}: timed out ({what})")]
    Timeout {
        /// The URL.
        url: String,
        /// Which timeout.
        what: String,
    },
    /// The body exceeded the cap.
    #[error("{url}: body larger than {limit} bytes; skipped")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// Too many redirects (or a loop).
    #[error("{url}: too many redirects (limit {limit})")]
    TooManyRedirects {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// A 429/5xx status that persisted through the retries.
    #[error("{url}: HTTP {status} after {attempts} attempts")]
    Status {
        /// The URL.
        url: String,
        /// Last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Connection or protocol error.
    #[error("{url}: {message}")]
    Network {
        /// The URL.
        url: String,
        /// What happened.
        message: String,
    },
    /// The client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// The request cannot be sent as built (not an http(s) URL, an invalid header); a bug in
    /// the caller or its configuration, not the site's fault.
    #[error("{url}: cannot send this request: {message}")]
    InvalidRequest {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

impl FetchError {
    /// A short name of the failure for metrics (`timeout`, `disallowed`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Disallowed { .. } => "disallowed",
            FetchError::CircuitOpen { .. } => "circuit_open",
            FetchError::Timeout { .. } => "timeout",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::TooManyRedirects { .. } => "redirects",
            FetchError::Status { .. } => "status",
            FetchError::Network { .. } => "network",
            FetchError::Client(_) => "client",
            FetchError::InvalidRequest { .. } => "invalid_request",
        }
    }
}

/// Counters over the fetcher's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchStats {
    /// Requests sent (retries included).
    pub requests: u64,
    /// Body bytes received.
    pub bytes: u64,
    /// Retries made.
    pub retries: u64,
    /// Fetches that ended in an error.
    pub errors: u64,
}

/// How one host (`host:port`) is doing, for reports (`Fetcher::health`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostHealth {
    /// `host:port`.
    pub host: String,
    /// Failed fetches since the last success.
    pub consecutive_failures: u32,
    /// While the circuit breaker is open: when the host will be tried again.
    pub paused_until: Option<DateTime<Utc>>,
    /// The last failure, if any (kept after a success, for the report).
    pub last_error: Option<String>,
    /// Requests sent to the host (robots.txt and retries included).
    pub requests: u64,
    /// Body bytes received from the host.
    pub bytes: u64,
}

pub use client::Fetcher;
