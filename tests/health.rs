//! Operational alerts: a source that keeps failing, or whose pages parse to nothing after a
//! redesign, raises one alert through the configured sinks when its health changes, and one
//! when it recovers — not one per poll — and `watch --once` says so on stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// Site modes: 0 works, 1 every page answers 503, 2 the board's layout changed.
const UP: u8 = 0;
const DOWN: u8 = 1;
const REDESIGNED: u8 = 2;

const FEED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>地域ニュース</title><link>http://example.com/</link>
<description>d</description>
<item><title>山田商事の新店舗</title><link>http://example.com/news/1</link>
<guid>news-1</guid><description>山田商事が駅前に新店舗を出した</description>
<pubDate>Tue, 08 Dec 2026 09:00:00 +0900</pubDate></item>
</channel></rss>"#;

const BOARD: &str = r#"<html><head><meta charset="utf-8"><title>口コミ掲示板</title></head><body>
<div class="res" id="r1"><span class="name">名無し</span><p class="msg">山田商事の接客よかった</p></div>
<div class="res" id="r2"><span class="name">名無し</span><p class="msg">駅前の店は混んでる</p></div>
</body></html>"#;

const REDESIGN: &str = r#"<html><head><meta charset="utf-8"><title>口コミ掲示板</title></head><body>
<article class="comment-v2"><div class="comment-body">山田商事の接客よかった</div></article>
</body></html>"#;

async fn site(mode: Arc<AtomicU8>) -> std::net::SocketAddr {
    let feed_mode = Arc::clone(&mode);
    let app = Router::new()
        .route(
            "/feed.xml",
            get(move || {
                let mode = feed_mode.load(Ordering::SeqCst);
                async move {
                    if mode == DOWN {
                        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
                    }
                    ([(header::CONTENT_TYPE, "application/rss+xml")], FEED).into_response()
                }
            }),
        )
        .route(
            "/board/",
            get(move || {
                let mode = mode.load(Ordering::SeqCst);
                async move {
                    let page = if mode == REDESIGNED { REDESIGN } else { BOARD };
                    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
                }
            }),
        );
    crate::support::serve(app).await
}

/// The `source_health` lines of the alert file, as `(source kind, state)`.
fn health_lines(path: &std::path::Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every line parses"))
        .filter(|v| v["kind"] == "source_health")
        .map(|v| {
            assert!(
                v["idempotency_key"].as_str().is_some_and(|k| k.len() == 64),
                "{v}"
            );
            let source = v["source"].as_str().unwrap_or_default();
            let kind = source.split(':').next().unwrap_or_default().to_string();
            (kind, v["state"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_redesigned_source_alerts_once_and_clears_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let feed_mode = Arc::new(AtomicU8::new(DOWN));
    let board_mode = Arc::new(AtomicU8::new(REDESIGNED));
    let feed = site(Arc::clone(&feed_mode)).await;
    let board = site(Arc::clone(&board_mode)).await;
    let jsonl = dir.path().join("alerts.jsonl");
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]

[[source]]
kind = "rss"
url = "http://{feed}/feed.xml"
every = "1m"

[[source]]
kind = "html"
url = "http://{board}/board/"
every = "1m"
item = "div.res"
body = "p.msg"
id = "@id"

[fetch]
min_delay = "0s"
retries = 0

[health]
failing_after = 2
empty_after = 2

[[alert]]
name = "file"
kind = "jsonl"
path = "{}"
"#,
            jsonl.display()
        ),
    )
    .expect("config");
    let args = [
        "watch",
        "--once",
        "--no-screenshots",
        "--config",
        config.to_str().expect("utf8"),
        "--data",
        "data",
    ];
    let run = || {
        let out = crate::support::mimamori(dir.path(), &args, b"");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    // First poll: one failure and one empty page are not yet a state.
    let (code, err) = run();
    assert_eq!(code, Some(3), "a source failed → exit 3: {err}");
    assert!(health_lines(&jsonl).is_empty(), "{err}");

    // Second in a row: both change state, each alerted once, and said on stderr.
    let (code, err) = run();
    assert_eq!(code, Some(3), "{err}");
    let mut got = health_lines(&jsonl);
    got.sort();
    assert_eq!(
        got,
        [
            ("html".to_string(), "parsing_nothing".to_string()),
            ("rss".to_string(), "failing".to_string())
        ],
        "{err}"
    );
    assert!(
        err.contains("is now failing") && err.contains("is now parsing_nothing"),
        "{err}"
    );

    // Still broken: no new alert.
    let (_, err) = run();
    assert_eq!(health_lines(&jsonl).len(), 2, "once per change: {err}");

    // Both recover: one `recovered` each.
    feed_mode.store(UP, Ordering::SeqCst);
    board_mode.store(UP, Ordering::SeqCst);
    let (code, err) = run();
    assert_eq!(code, Some(0), "{err}");
    let got = health_lines(&jsonl);
    assert_eq!(got.len(), 4, "{got:?}");
    let mut recovered: Vec<&str> = got[2..]
        .iter()
        .filter(|(_, s)| s == "recovered")
        .map(|(k, _)| k.as_str())
        .collect();
    recovered.sort_unstable();
    assert_eq!(recovered, ["html", "rss"], "{err}");
    let (code, _) = run();
    assert_eq!(code, Some(0));
    assert_eq!(health_lines(&jsonl).len(), 4, "nothing more once healthy");
}

#[test]
fn a_bad_health_table_is_refused_naming_the_file_line_and_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("watch.toml");
    std::fs::write(
        &config,
        "[[target]]\nid = \"y\"\nkind = \"business\"\nnames = [\"山田商事\"]\n\n\
         [[source]]\nkind = \"rss\"\nurl = \"http://127.0.0.1:9/feed.xml\"\nevery = \"1m\"\n\n\
         [health]\nfailing_after = 0\n",
    )
    .expect("config");
    let out = crate::support::mimamori(
        dir.path(),
        &[
            "watch",
            "--once",
            "--config",
            config.to_str().expect("utf8"),
            "--data",
            "data",
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("watch.toml:12") && err.contains("failing_after"),
        "{err}"
    );
}
