//! Integration tests: the fetcher against small servers on 127.0.0.1 — robots.txt, redirects,
//! conditional and Range requests, charsets here; retries, the breaker, timeouts, caps and
//! per-host pacing in `failures`. Timing is asserted on what the servers record (request start
//! and end instants), never on how long the client took, except for upper bounds on timeouts.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use bytes::Bytes;
use mimamori::fetch::{FetchConfig, FetchError, FetchRequest, Fetcher};
use mimamori::simweb::{Fault, FaultRule, Faults};
use url::Url;

use crate::support::serve;

mod failures;

/// Test settings: no pacing, short timeouts and backoff, robots retried at once.
fn config() -> FetchConfig {
    FetchConfig {
        min_delay: Duration::ZERO,
        timeout: Duration::from_secs(2),
        retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_cap: Duration::from_secs(2),
        breaker_threshold: 100,
        robots_retry: Duration::ZERO,
        ..FetchConfig::default()
    }
}

fn fetcher(cfg: FetchConfig) -> Fetcher {
    Fetcher::new(cfg).expect("build fetcher")
}

fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).expect("url")
}

async fn get_url(
    f: &Fetcher,
    addr: SocketAddr,
    path: &str,
) -> Result<mimamori::fetch::FetchResponse, FetchError> {
    f.fetch(FetchRequest::get(url(addr, path))).await
}

/// In-flight request counter with its high-water mark.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    start: Instant,
    end: Instant,
}

/// What a server saw: every request, and how many were in flight at once (on this server and,
/// shared between servers, overall).
#[derive(Debug, Clone, Default)]
struct Log {
    seen: Arc<Mutex<Vec<Seen>>>,
    local: Arc<InFlight>,
    global: Arc<InFlight>,
}

impl Log {
    /// A log for another server that shares this one's overall in-flight counter.
    fn sharing(&self) -> Log {
        Log {
            global: self.global.clone(),
            ..Log::default()
        }
    }

    /// Requests in start order.
    fn seen(&self) -> Vec<Seen> {
        let mut v = self.seen.lock().expect("log").clone();
        v.sort_by_key(|s| s.start);
        v
    }

    fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|s| s.path).collect()
    }

    fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// Wraps a router so every request is recorded (outermost, so faults are seen too).
    fn record(&self, router: Router) -> Router {
        let log = self.clone();
        router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let log = log.clone();
            async move {
                let start = Instant::now();
                let path = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default();
                let headers = req.headers().clone();
                log.local.enter();
                log.global.enter();
                let resp = next.run(req).await;
                log.local.leave();
                log.global.leave();
                log.seen.lock().expect("log").push(Seen {
                    path,
                    headers,
                    start,
                    end: Instant::now(),
                });
                resp
            }
        }))
    }
}

/// Serves `router` (with `robots` as /robots.txt unless `None`), recording into a new log.
async fn site(robots: Option<&'static str>, router: Router) -> (SocketAddr, Log) {
    let log = Log::default();
    (site_with(robots, router, &log).await, log)
}

async fn site_with(robots: Option<&'static str>, mut router: Router, log: &Log) -> SocketAddr {
    if let Some(text) = robots {
        router = router.route("/robots.txt", get(move || async move { text }));
    }
    serve(log.record(router)).await
}

fn faulty(router: Router, path: &str, fault: Fault, times: u32) -> Router {
    Faults::default()
        .with(FaultRule::new("t", path, fault, times))
        .wrap("t", router)
}

fn gap(earlier: &Seen, later: &Seen) -> Duration {
    later.start.saturating_duration_since(earlier.end)
}

#[tokio::test]
async fn robots_rules_are_obeyed_and_cached() {
    let robots = "User-agent: *\nDisallow: /\n\nUser-agent: mimamori\nDisallow: /secret\nAllow: /secret/ok\n";
    let router = Router::new()
        .route("/public", get(|| async { "public" }))
        .route("/secret", get(|| async { "secret" }))
        .route("/secret/ok", get(|| async { "ok" }));
    let (addr, log) = site(Some(robots), router).await;
    let f = fetcher(config());
    assert_eq!(
        get_url(&f, addr, "/public").await.expect("public").status,
        200
    );
    match get_url(&f, addr, "/secret").await {
        Err(e @ FetchError::Disallowed { .. }) => assert!(e.to_string().contains("/secret"), "{e}"),
        other => panic!("expected Disallowed, got {other:?}"),
    }
    assert_eq!(
        get_url(&f, addr, "/secret/ok")
            .await
            .expect("allowed")
            .body
            .as_ref(),
        b"ok"
    );
    assert_eq!(
        get_url(&f, addr, "/public").await.expect("again").status,
        200
    );
    assert_eq!(
        log.paths(),
        ["/robots.txt", "/public", "/secret/ok", "/public"]
    );
    let stats = f.stats();
    assert_eq!((stats.requests, stats.errors, stats.retries), (4, 1, 0));
}

#[tokio::test]
async fn missing_robots_allows_all_and_4xx_is_not_retried() {
    let router = Router::new()
        .route("/page", get(|| async { "page" }))
        .route("/gone", get(|| async { (StatusCode::GONE, "gone") }));
    let (addr, log) = site(None, router).await;
    let f = fetcher(config());
    assert_eq!(get_url(&f, addr, "/page").await.expect("page").status, 200);
    assert_eq!(
        get_url(&f, addr, "/gone")
            .await
            .expect("410 is a response")
            .status,
        410
    );
    assert_eq!(
        get_url(&f, addr, "/nothing")
            .await
            .expect("404 is a response")
            .status,
        404
    );
    assert_eq!(log.paths(), ["/robots.txt", "/page", "/gone", "/nothing"]);
    assert_eq!(f.stats().retries, 0);
}

#[tokio::test]
async fn robots_5xx_disallows_until_retried() {
    let calls = Arc::new(AtomicUsize::new(0));
    let robots_calls = calls.clone();
    let router = Router::new()
        .route("/page", get(|| async { "page" }))
        .route(
            "/robots.txt",
            get(move || {
                let n = robots_calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response()
                    } else {
                        "User-agent: *\nDisallow:\n".into_response()
                    }
                }
            }),
        );
    let (addr, log) = site(None, router).await;

    // Kept for a minute: the second fetch is refused without asking again.
    let slow = fetcher(FetchConfig {
        robots_retry: Duration::from_secs(60),
        ..config()
    });
    assert!(matches!(
        get_url(&slow, addr, "/page").await,
        Err(FetchError::Disallowed { .. })
    ));
    assert!(matches!(
        get_url(&slow, addr, "/page").await,
        Err(FetchError::Disallowed { .. })
    ));
    assert_eq!(log.paths(), ["/robots.txt"]);
    let health = slow.health();
    assert_eq!(health.len(), 1);
    assert!(
        health[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("robots.txt: HTTP 500")),
        "{health:?}"
    );
    assert_eq!(health[0].consecutive_failures, 1);

    // Retried at once (robots_retry 0): robots.txt now answers, the page is fetched.
    let fast = fetcher(config());
    assert_eq!(
        get_url(&fast, addr, "/page").await.expect("page").status,
        200
    );
    assert_eq!(log.paths(), ["/robots.txt", "/robots.txt", "/page"]);
}

#[tokio::test]
async fn unreachable_host_is_disallowed() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let f = fetcher(config());
    assert!(matches!(
        get_url(&f, addr, "/x").await,
        Err(FetchError::Disallowed { .. })
    ));
    let health = f.health();
    assert!(
        health[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("robots.txt")),
        "{health:?}"
    );
}

#[tokio::test]
async fn crawl_delay_paces_the_host() {
    let router = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }));
    let (addr, log) = site(Some("User-agent: *\nCrawl-delay: 0.4\n"), router).await;
    let f = fetcher(config());
    get_url(&f, addr, "/a").await.expect("a");
    get_url(&f, addr, "/b").await.expect("b");
    let seen = log.seen();
    assert_eq!(
        seen.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(),
        ["/robots.txt", "/a", "/b"]
    );
    for w in seen.windows(2) {
        assert!(
            gap(&w[0], &w[1]) >= Duration::from_millis(400),
            "{} → {}: {:?}",
            w[0].path,
            w[1].path,
            gap(&w[0], &w[1])
        );
    }
}

#[tokio::test]
async fn redirects_are_followed_checked_and_limited() {
    let see =
        |to: &'static str| move || async move { (StatusCode::FOUND, [(header::LOCATION, to)]) };
    let router = faulty(
        Router::new()
            .route("/loop", get(|| async { "" }))
            .route("/moved", get(see("/target")))
            .route("/to-private", get(see("/private")))
            .route("/target", get(|| async { "target" }))
            .route("/private", get(|| async { "private" })),
        "/loop",
        Fault::RedirectLoop,
        0,
    );
    let (addr, log) = site(Some("User-agent: *\nDisallow: /private\n"), router).await;
    let f = fetcher(config());
    match get_url(&f, addr, "/loop").await {
        Err(FetchError::TooManyRedirects { url, limit: 5 }) => assert!(url.ends_with("/loop")),
        other => panic!("expected TooManyRedirects, got {other:?}"),
    }
    assert_eq!(
        log.seen()
            .iter()
            .filter(|s| s.path.starts_with("/loop"))
            .count(),
        6
    );

    let resp = get_url(&f, addr, "/moved").await.expect("followed");
    assert_eq!(
        (resp.status, resp.url.path(), resp.body.as_ref()),
        (200, "/target", b"target".as_ref())
    );

    let resp = f
        .fetch(FetchRequest::get(url(addr, "/moved")).without_redirects())
        .await
        .expect("3xx");
    assert_eq!(
        (resp.status, resp.header("location")),
        (302, Some("/target"))
    );

    match get_url(&f, addr, "/to-private").await {
        Err(FetchError::Disallowed { url }) => assert!(url.ends_with("/private"), "{url}"),
        other => panic!("expected Disallowed for the redirect target, got {other:?}"),
    }
    assert_eq!(
        log.count("/private"),
        0,
        "robots.txt is checked on every hop"
    );
}

#[tokio::test]
async fn redirects_after_post_and_credentials() {
    let auth = |headers: HeaderMap| async move {
        let v = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        v.unwrap_or("none").to_string()
    };
    let (other, _log) = site(None, Router::new().route("/whoami", get(auth))).await;
    let away = format!("http://{other}/whoami");
    let router = Router::new()
        .route("/whoami", get(auth))
        .route(
            "/stay",
            get(|| async { (StatusCode::FOUND, [(header::LOCATION, "/whoami")]) }),
        )
        .route(
            "/away",
            get(move || async move { (StatusCode::FOUND, [(header::LOCATION, away)]) }),
        )
        .route(
            "/session",
            post(|| async { (StatusCode::SEE_OTHER, [(header::LOCATION, "/landing")]) }),
        )
        .route("/landing", get(|| async { "landed" }))
        .route(
            "/api",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/api2")],
                )
            }),
        )
        .route("/api2", post(|body: String| async move { body }));
    let (addr, _log) = site(None, router).await;
    let f = fetcher(config());

    let fetch_auth = |path: &str| {
        let req = FetchRequest::get(url(addr, path)).with_header("Authorization", "Bearer s3cret");
        let f = f.clone();
        async move { f.fetch(req).await.expect("whoami").body }
    };
    assert_eq!(
        fetch_auth("/stay").await.as_ref(),
        b"Bearer s3cret",
        "same origin keeps it"
    );
    assert_eq!(
        fetch_auth("/away").await.as_ref(),
        b"none",
        "another origin never sees it"
    );

    let body = serde_json::json!({"identifier": "x"});
    let resp = f
        .fetch(FetchRequest::post_json(url(addr, "/session"), &body))
        .await
        .expect("303");
    assert_eq!(
        (resp.status, resp.body.as_ref()),
        (200, b"landed".as_ref()),
        "303 continues as GET"
    );
    let resp = f
        .fetch(FetchRequest::post_json(url(addr, "/api"), &body))
        .await
        .expect("307");
    assert_eq!(
        resp.body.as_ref(),
        body.to_string().as_bytes(),
        "307 keeps POST and its body"
    );
}

#[tokio::test]
async fn conditional_get_sends_validators() {
    const ETAG: &str = "\"v1\"";
    const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
    let router = Router::new().route(
        "/subject.txt",
        get(|headers: HeaderMap| async move {
            let inm = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok());
            let ims = headers
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok());
            if inm == Some(ETAG) && ims == Some(LAST_MODIFIED) {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            (
                [(header::ETAG, ETAG), (header::LAST_MODIFIED, LAST_MODIFIED)],
                "1.dat<>thread (1)\n",
            )
                .into_response()
        }),
    );
    let (addr, log) = site(None, router).await;
    let f = fetcher(config());
    let first = get_url(&f, addr, "/subject.txt").await.expect("first");
    assert_eq!(first.status, 200);
    let v = first.validators();
    assert_eq!(
        (v.etag.as_deref(), v.last_modified.as_deref()),
        (Some(ETAG), Some(LAST_MODIFIED))
    );
    let req = FetchRequest::get(url(addr, "/subject.txt"))
        .with_validators(v)
        .with_header("User-Agent", "Monazilla/1.00 mimamori/test");
    let second = f.fetch(req).await.expect("second");
    assert_eq!((second.status, second.body.len()), (304, 0));
    assert!(
        second
            .request_headers
            .iter()
            .any(|(k, v)| k == "if-none-match" && v == ETAG)
    );
    let sent = &log.seen()[2].headers;
    let uas: Vec<_> = sent.get_all(header::USER_AGENT).iter().collect();
    assert_eq!(
        uas,
        ["Monazilla/1.00 mimamori/test"],
        "the request's User-Agent replaces ours"
    );
}

#[tokio::test]
async fn range_requests_skip_gzip() {
    const DAT: &str = "line one\nline two\n";
    let router = Router::new().route(
        "/dat/1.dat",
        get(|headers: HeaderMap| async move {
            let range = headers
                .get(header::RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let Some(from) = range.and_then(|r| {
                r.strip_prefix("bytes=")?
                    .strip_suffix('-')?
                    .parse::<usize>()
                    .ok()
            }) else {
                return DAT.into_response();
            };
            if from >= DAT.len() {
                return StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            }
            let cr = format!("bytes {from}-{}/{}", DAT.len() - 1, DAT.len());
            (
                StatusCode::PARTIAL_CONTENT,
                [(header::CONTENT_RANGE, cr)],
                &DAT[from..],
            )
                .into_response()
        }),
    );
    let (addr, log) = site(None, router).await;
    let f = fetcher(config());
    let full = get_url(&f, addr, "/dat/1.dat").await.expect("full");
    assert_eq!(full.body.as_ref(), DAT.as_bytes());
    let tail = f
        .fetch(FetchRequest::get(url(addr, "/dat/1.dat")).with_range_from(8))
        .await
        .expect("range");
    assert_eq!(
        (tail.status, tail.body.as_ref()),
        (206, b"\nline two\n".as_ref())
    );
    let past = f
        .fetch(FetchRequest::get(url(addr, "/dat/1.dat")).with_range_from(999))
        .await
        .expect("416");
    assert_eq!(past.status, 416);

    let seen = log.seen();
    let enc = |s: &Seen| {
        s.headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(enc(&seen[1]).contains("gzip"), "plain requests accept gzip");
    for s in &seen[2..] {
        assert!(
            !enc(s).contains("gzip"),
            "Range request sent Accept-Encoding {:?}",
            enc(s)
        );
    }
    assert_eq!(
        seen[2]
            .headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok()),
        Some("bytes=8-")
    );
}

#[tokio::test]
async fn charsets_are_detected_and_garbage_counted() {
    const TEXT: &str = "山田商事は詐欺～①";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(TEXT);
    let page = format!(
        "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-JP\"></head><body>{TEXT}</body>"
    );
    let (euc, _, _) = encoding_rs::EUC_JP.encode(&page);
    // Two undecodable bytes in the middle, a truncated sequence at the end.
    let garbled = Bytes::from([sjis.as_ref(), b"\xff\xa0", sjis.as_ref(), b"\x88"].concat());
    let (sjis, euc) = (
        Bytes::from(sjis.into_owned()),
        Bytes::from(euc.into_owned()),
    );
    let typed = |content_type: &'static str, body: Bytes| {
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, content_type)], body) }
        })
    };
    let router = Router::new()
        .route(
            "/sjis",
            typed("text/plain; charset=Shift_JIS", sjis.clone()),
        )
        .route("/euc", typed("text/html", euc))
        .route("/bare", typed("text/plain", sjis))
        .route("/broken", typed("application/octet-stream", garbled))
        .route(
            "/utf8",
            get(|| async { "正常な本文です。山田商事の口コミ。".repeat(4) }),
        );
    let router = faulty(router, "/utf8", Fault::Garbled, 0);
    let (addr, _log) = site(None, router).await;
    let f = fetcher(config());

    let d = get_url(&f, addr, "/sjis").await.expect("sjis").text();
    assert_eq!(
        (d.text.as_str(), d.encoding, d.replaced),
        (TEXT, encoding_rs::SHIFT_JIS, 0)
    );

    let d = get_url(&f, addr, "/euc").await.expect("euc").text();
    assert!(d.text.contains(TEXT), "{}", d.text);
    assert_eq!((d.encoding, d.replaced), (encoding_rs::EUC_JP, 0));

    let req = FetchRequest::get(url(addr, "/bare")).with_encoding(encoding_rs::SHIFT_JIS);
    let d = f.fetch(req).await.expect("bare").text();
    assert_eq!((d.text.as_str(), d.replaced), (TEXT, 0));

    let req = FetchRequest::get(url(addr, "/broken")).with_encoding(encoding_rs::SHIFT_JIS);
    let d = f.fetch(req).await.expect("broken").text();
    assert_eq!(d.replaced, 3, "{:?}", d.text);
    assert_eq!(d.text.matches(TEXT).count(), 2);

    let d = get_url(&f, addr, "/utf8").await.expect("garbled").text();
    assert!(d.replaced > 0);
    assert!(d.text.contains('\u{FFFD}'));
}

#[tokio::test]
async fn non_http_urls_are_invalid_requests() {
    let f = fetcher(config());
    let req = FetchRequest::get(Url::parse("ftp://example.invalid/x").expect("url"));
    assert!(matches!(
        f.fetch(req).await,
        Err(FetchError::InvalidRequest { .. })
    ));
    let (addr, _log) = site(None, Router::new()).await;
    let req = FetchRequest::get(url(addr, "/")).with_header("bad header", "x");
    assert!(matches!(
        f.fetch(req).await,
        Err(FetchError::InvalidRequest { .. })
    ));
}

#[test]
fn fetch_config_reads_from_toml() {
    let cfg: FetchConfig =
        toml::from_str("min_delay = \"0ms\"\nrobots_retry = \"5m\"\nretries = 1\n").expect("toml");
    assert_eq!(
        (cfg.min_delay, cfg.robots_retry, cfg.retries),
        (Duration::ZERO, Duration::from_secs(300), 1)
    );
    assert_eq!(cfg.timeout, FetchConfig::default().timeout);
    assert!(toml::from_str::<FetchConfig>("bogus = 1").is_err());
}
