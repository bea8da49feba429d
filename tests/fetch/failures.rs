//! Failure modes and manners: Retry-After, backoff, the circuit breaker, timeouts on a silent
//! server and an endless body, dropped connections, the body cap, and per-host pacing with
//! hosts in parallel.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use mimamori::fetch::{FetchConfig, FetchError};
use mimamori::simweb::Fault;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Log, Seen, config, faulty, fetcher, gap, get_url, site, site_with};

#[tokio::test]
async fn retry_after_is_honoured() {
    let router = faulty(
        Router::new().route("/busy", get(|| async { "done" })),
        "/busy",
        Fault::TooManyRequests { retry_after: 1 },
        1,
    );
    let (addr, log) = site(Some("User-agent: *\nAllow: /\n"), router).await;
    let f = fetcher(config());
    let resp = get_url(&f, addr, "/busy").await.expect("retried");
    assert_eq!((resp.status, resp.body.as_ref()), (200, b"done".as_ref()));
    let busy: Vec<Seen> = log
        .seen()
        .into_iter()
        .filter(|s| s.path == "/busy")
        .collect();
    assert_eq!(busy.len(), 2);
    assert!(
        gap(&busy[0], &busy[1]) >= Duration::from_secs(1),
        "waited only {:?}",
        gap(&busy[0], &busy[1])
    );
    let stats = f.stats();
    assert_eq!((stats.requests, stats.retries, stats.errors), (3, 1, 0));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let router = faulty(
        Router::new().route("/flaky", get(|| async { "fine" })),
        "/flaky",
        Fault::Unavailable,
        2,
    );
    let (addr, log) = site(None, router).await;
    let f = fetcher(FetchConfig {
        retries: 3,
        ..config()
    });
    assert_eq!(
        get_url(&f, addr, "/flaky")
            .await
            .expect("third time")
            .status,
        200
    );
    assert_eq!(log.count("/flaky"), 3);
    assert_eq!(f.stats().retries, 2);

    // Out of retries: the status, with the attempts made.
    let router = faulty(
        Router::new().route("/down", get(|| async { "never" })),
        "/down",
        Fault::Unavailable,
        0,
    );
    let (addr, log) = site(None, router).await;
    match get_url(&f, addr, "/down").await {
        Err(FetchError::Status {
            status: 503,
            attempts: 4,
            url,
        }) => assert!(url.ends_with("/down")),
        other => panic!("expected Status 503, got {other:?}"),
    }
    assert_eq!(log.count("/down"), 4);
}

#[tokio::test]
async fn breaker_opens_after_repeated_failures_and_closes_on_success() {
    // Four 503s, then the site recovers.
    let router = faulty(
        Router::new().route("/down", get(|| async { "back" })),
        "/down",
        Fault::Unavailable,
        4,
    );
    let (addr, log) = site(None, router).await;
    let cooldown = Duration::from_millis(300);
    let f = fetcher(FetchConfig {
        retries: 1,
        breaker_threshold: 2,
        breaker_cooldown: cooldown,
        ..config()
    });
    for _ in 0..2 {
        assert!(matches!(
            get_url(&f, addr, "/down").await,
            Err(FetchError::Status { status: 503, .. })
        ));
    }
    match get_url(&f, addr, "/down").await {
        Err(FetchError::CircuitOpen { host, until }) => {
            assert_eq!(host, addr.to_string());
            assert!(until > chrono::Utc::now());
        }
        other => panic!("expected CircuitOpen, got {other:?}"),
    }
    assert_eq!(
        log.count("/down"),
        4,
        "no request while the breaker is open"
    );
    let health = f.health();
    assert_eq!(health.len(), 1);
    assert_eq!(health[0].consecutive_failures, 2);
    assert!(health[0].paused_until.is_some());
    assert!(
        health[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 503")),
        "{health:?}"
    );
    assert_eq!(health[0].requests, 5, "robots.txt and four attempts");

    tokio::time::sleep(cooldown + Duration::from_millis(50)).await;
    assert_eq!(
        get_url(&f, addr, "/down").await.expect("recovered").status,
        200
    );
    let health = f.health();
    assert_eq!(
        (health[0].consecutive_failures, health[0].paused_until),
        (0, None)
    );
}

#[tokio::test]
async fn endless_body_times_out() {
    let router = faulty(
        Router::new().route("/endless", get(|| async { "" })),
        "/endless",
        Fault::EndlessBody,
        0,
    );
    let (addr, _log) = site(None, router).await;
    let f = fetcher(FetchConfig {
        timeout: Duration::from_secs(1),
        retries: 0,
        ..config()
    });
    let started = Instant::now();
    match get_url(&f, addr, "/endless").await {
        Err(e @ FetchError::Timeout { .. }) => assert!(e.to_string().contains("/endless"), "{e}"),
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn silent_server_times_out_and_dropped_connections_are_network_errors() {
    let addr = raw_server().await;
    let f = fetcher(FetchConfig {
        timeout: Duration::from_secs(1),
        retries: 1,
        ..config()
    });
    let started = Instant::now();
    assert!(matches!(
        get_url(&f, addr, "/hang").await,
        Err(FetchError::Timeout { .. })
    ));
    assert!(
        started.elapsed() < Duration::from_millis(2900),
        "two attempts of 1 s: {:?}",
        started.elapsed()
    );
    match get_url(&f, addr, "/close").await {
        Err(FetchError::Network { url, message }) => {
            assert!(url.ends_with("/close"));
            assert!(!message.is_empty());
        }
        other => panic!("expected Network, got {other:?}"),
    }
    let stats = f.stats();
    assert_eq!((stats.retries, stats.errors), (2, 2));
}

#[tokio::test]
async fn huge_bodies_are_refused() {
    let limit = 256 * 1024;
    let router = faulty(
        Router::new()
            .route("/huge", get(|| async { "" }))
            .route("/big", get(|| async { vec![b'x'; 300 * 1024] }))
            .route("/fits", get(|| async { vec![b'x'; 200 * 1024] })),
        "/huge",
        Fault::Huge {
            bytes: 20 * 1024 * 1024,
        },
        0,
    );
    let (addr, _log) = site(None, router).await;
    let f = fetcher(FetchConfig {
        max_body: limit,
        ..config()
    });
    for path in ["/huge", "/big"] {
        match get_url(&f, addr, path).await {
            Err(FetchError::TooLarge { url, limit: l }) => {
                assert!(url.ends_with(path) && l == limit)
            }
            other => panic!("{path}: expected TooLarge, got {other:?}"),
        }
    }
    assert_eq!(
        get_url(&f, addr, "/fits").await.expect("fits").body.len(),
        200 * 1024
    );
    assert_eq!(
        f.stats().bytes,
        200 * 1024,
        "refused bodies are not counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_run_in_parallel_but_each_is_serialized() {
    let slow = || {
        Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(150)).await;
                "done"
            }),
        )
    };
    let log_a = Log::default();
    let log_b = log_a.sharing();
    let a = site_with(None, slow(), &log_a).await;
    let b = site_with(None, slow(), &log_b).await;
    let min_delay = Duration::from_millis(200);
    let f = fetcher(FetchConfig {
        min_delay,
        ..config()
    });
    let jobs: Vec<_> = [a, b, a, b, a, b]
        .into_iter()
        .map(|addr| {
            let f = f.clone();
            tokio::spawn(async move { get_url(&f, addr, "/slow").await.map(|r| r.status) })
        })
        .collect();
    for job in jobs {
        assert_eq!(job.await.expect("join").expect("fetch"), 200);
    }
    for log in [&log_a, &log_b] {
        assert_eq!(log.local.max(), 1, "one request at a time per host");
        let seen = log.seen();
        assert_eq!(seen.len(), 4, "robots.txt and three pages");
        for w in seen.windows(2) {
            assert!(
                gap(&w[0], &w[1]) >= min_delay,
                "{:?} between requests",
                gap(&w[0], &w[1])
            );
        }
    }
    assert_eq!(
        log_a.global.max(),
        2,
        "the two hosts were fetched in parallel"
    );
    let health = f.health();
    assert_eq!(health.len(), 2);
    assert!(
        health
            .iter()
            .all(|h| h.requests == 4 && h.bytes == 3 * 4 && h.consecutive_failures == 0)
    );
}

/// A bare TCP server: `/robots.txt` is a 404, `/hang` never answers, anything else is closed
/// without a response.
async fn raw_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                if head.starts_with("GET /robots.txt ") {
                    let reply =
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                    let _ = sock.write_all(reply.as_bytes()).await;
                } else if head.starts_with("GET /hang ") {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            });
        }
    });
    addr
}
