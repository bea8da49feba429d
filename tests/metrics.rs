//! `/metrics` in the Prometheus text format: `watch --metrics-addr` shows polls, requests by
//! host and status class, posts, hits by category, breakers and source health while it runs;
//! `serve` shows the levels of the state it serves.

use std::process::{Command, Stdio};
use std::time::Duration;

use mimamori::simweb::Faults;

/// The value of the first sample line that starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit_once(' '))
        .and_then(|(_, v)| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_and_serve_expose_metrics_while_they_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let web = crate::crawl::start_boards(Faults::default()).await;
    let config = crate::crawl::write_config(dir.path(), &web, "1s");
    web.post_to("5ch", 1, "さくら食品は産地偽装してる詐欺企業")
        .expect("post");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["watch", "--no-screenshots", "--data", "data", "--config"])
        .arg(&config)
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let Ok(resp) = client.get(&url).send().await else {
            continue;
        };
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        text = resp.text().await.expect("body");
        if value(&text, "mimamori_hits_total{category=\"defamation\"}").is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        value(&text, "mimamori_hits_total{category=\"defamation\"}").is_some_and(|v| v >= 1.0),
        "{text}"
    );
    let polls = text
        .lines()
        .filter(|l| {
            l.starts_with("mimamori_polls_total{source=\"5ch:") && l.contains("outcome=\"ok\"")
        })
        .count();
    assert!(polls >= 1, "{text}");
    assert!(
        text.lines().any(
            |l| l.starts_with("mimamori_http_requests_total{host=\"127.0.0.1:")
                && l.contains("class=\"2xx\"")
        ),
        "{text}"
    );
    assert!(
        text.contains("mimamori_http_response_bytes_total{host=\"127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("mimamori_posts_seen_total{source=\"5ch:"),
        "{text}"
    );
    assert!(
        text.contains("mimamori_breaker_open{host=\"127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains(",state=\"ok\"} 1"), "{text}");
    assert!(value(&text, "mimamori_index_lag_posts").is_some(), "{text}");
    // Never a post's text or a personal value: only names, hosts, sources, classes.
    assert!(!text.contains("さくら食品"), "{text}");

    // `serve` answers /metrics for the state it serves, behind its usual guard.
    let server = crate::serve::start(dir.path(), &[]);
    let (status, body) = crate::serve::get(&client, &format!("{}/metrics", server.base)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("# TYPE mimamori_alert_queue_depth gauge"),
        "{body}"
    );
    assert!(
        body.contains("mimamori_source_health{source=\"5ch:"),
        "{body}"
    );
    assert!(value(&body, "mimamori_index_lag_posts").is_some(), "{body}");
}
