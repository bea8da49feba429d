//! Fault injection for the simulated web: a rule names a site and a path prefix and what goes
//! wrong there (429 with Retry-After, 503, a slow or endless body, garbled bytes, a huge body,
//! a redirect loop, a replaced response such as a robots.txt that disallows everything). Rules
//! can fire a limited number of times so tests can check recovery.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 Too Many Requests with `Retry-After: <secs>`.
    TooManyRequests {
        /// Seconds in Retry-After.
        retry_after: u64,
    },
    /// 503 Service Unavailable (no Retry-After).
    Unavailable,
    /// The real response, sent at this many bytes per second.
    SlowBody {
        /// Bytes per second.
        bytes_per_sec: usize,
    },
    /// A body that never ends (a chunk every 100 ms).
    EndlessBody,
    /// The real response with every 7th byte flipped (broken multibyte sequences).
    Garbled,
    /// A 200 with this many bytes of filler.
    Huge {
        /// Body size.
        bytes: usize,
    },
    /// A redirect to itself with a counter, forever.
    RedirectLoop,
    /// This status and body (`text/plain; charset=utf-8`) instead of the real response; e.g.
    /// on `/robots.txt`, `User-agent: *\nDisallow: /` ("robots.txt disallow"). A status that
    /// is not a valid HTTP status code is served as 500.
    Replace {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
}

/// One rule: on `site`, for paths starting with `path`, `fault` happens `times` times
/// (0 = always).
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Site name.
    pub site: String,
    /// Path prefix.
    pub path: String,
    /// The fault.
    pub fault: Fault,
    /// How many times it fires (0 = every time).
    pub times: u32,
    fired: Arc<AtomicU32>,
}

impl FaultRule {
    /// A rule firing `times` times (0 = always).
    pub fn new(site: &str, path: &str, fault: Fault, times: u32) -> Self {
        FaultRule {
            site: site.to_string(),
            path: path.to_string(),
            fault,
            times,
            fired: Arc::new(AtomicU32::new(0)),
        }
    }

    /// How many times it has fired.
    pub fn fired(&self) -> u32 {
        self.fired.load(Ordering::SeqCst)
    }

    fn take(&self) -> bool {
        let n = self.fired.fetch_add(1, Ordering::SeqCst);
        if self.times != 0 && n >= self.times {
            self.fired.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }
}

/// The fault rules of a simulated web.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// The rules, first match wins.
    pub rules: Vec<FaultRule>,
}

impl Faults {
    /// Adds a rule.
    pub fn with(mut self, rule: FaultRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Wraps a site's router with the rules for that site.
    pub fn wrap(&self, site: &str, router: axum::Router) -> axum::Router {
        let rules: Arc<Vec<FaultRule>> = Arc::new(
            self.rules
                .iter()
                .filter(|r| r.site == site)
                .cloned()
                .collect(),
        );
        if rules.is_empty() {
            return router;
        }
        router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let rules = rules.clone();
            async move { apply(&rules, req, next).await }
        }))
    }
}

async fn apply(rules: &[FaultRule], req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(rule) = rules.iter().find(|r| path.starts_with(&r.path) && r.take()) else {
        return next.run(req).await;
    };
    match &rule.fault {
        Fault::TooManyRequests { retry_after } => {
            let mut r = (StatusCode::TOO_MANY_REQUESTS, "slow down").into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Fault::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "maintenance").into_response(),
        Fault::Replace { status, body } => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body.clone(),
        )
            .into_response(),
        Fault::Huge { bytes } => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let n = bytes.div_ceil(chunk.len());
            let stream = futures_util::stream::iter(
                (0..n).map(move |_| Ok::<Bytes, std::io::Error>(chunk.clone())),
            );
            Response::new(Body::from_stream(stream))
        }
        Fault::EndlessBody => {
            let stream = futures_util::stream::unfold((), |()| async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((
                    Ok::<Bytes, std::io::Error>(Bytes::from_static(b"still going ")),
                    (),
                ))
            });
            Response::new(Body::from_stream(stream))
        }
        Fault::RedirectLoop => {
            let q = req.uri().query().unwrap_or("");
            let n: u32 = q
                .strip_prefix("loop=")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{path}?loop={}", n + 1)) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Fault::SlowBody { bytes_per_sec } => {
            let resp = next.run(req).await;
            let (parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let step = (*bytes_per_sec / 10).max(1);
            let chunks: Vec<Bytes> = bytes.chunks(step).map(Bytes::copy_from_slice).collect();
            let stream = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
                let c = it.next()?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((Ok::<Bytes, std::io::Error>(c), it))
            });
            Response::from_parts(parts, Body::from_stream(stream))
        }
        Fault::Garbled => {
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let mut bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default()
                .to_vec();
            for (i, b) in bytes.iter_mut().enumerate() {
                if i % 7 == 3 {
                    *b ^= 0xC0;
                }
            }
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, Body::from(bytes))
        }
    }
}
