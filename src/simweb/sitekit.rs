//! Small pieces shared by the simulated review site, feed, suggest endpoint and SNS APIs:
//! a request log for tests, robots.txt, conditional-GET checks, HTML escaping, JSON answers.

use std::sync::Mutex;
use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Requests a simulated site served: `"<path?query> <status>"`, in order.
#[derive(Debug, Default)]
pub struct RequestLog(Mutex<Vec<String>>);

impl RequestLog {
    /// Records one request.
    pub fn record(&self, path: &str, status: u16) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.push(format!("{path} {status}"));
    }

    /// Everything recorded so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A robots.txt that allows everything.
pub fn robots() -> Response {
    text(
        "text/plain; charset=utf-8",
        "User-agent: *\nAllow: /\n".to_string(),
    )
}

/// A 200 with a body and content type.
pub fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A JSON answer with a status.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escaped text with line breaks as `<br>`.
pub fn escape_lines(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

/// Whether a conditional GET matches the current version (→ 304).
pub fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| t.trim() == etag || t.trim() == "*");
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| {
            httpdate::fmt_http_date(since) == httpdate::fmt_http_date(modified) || since > modified
        })
}

/// Adds ETag and Last-Modified headers to a response.
pub fn with_validators(mut r: Response, etag: &str, modified: SystemTime) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r
}

/// `http://<Host>` of a request (links in pages and feeds point back at the site).
pub fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The request path and query, for the log.
pub fn path_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// Names and aliases of every watched target (simulated sites decide what a post mentions).
pub fn watched_names(watchlist: &crate::config::Watchlist) -> Vec<String> {
    let mut names: Vec<String> = watchlist
        .targets
        .iter()
        .flat_map(|t| t.names.iter().chain(t.aliases.iter()).cloned())
        .collect();
    // Longest first, so 株式会社さくら食品 is found before さくら食品.
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.dedup();
    names
}
