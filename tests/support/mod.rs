//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// Runs the `mimamori` binary with `args` in `dir`, feeding `stdin`.
pub fn mimamori(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run(dir, args, stdin, true)
}

/// Runs `mimamori ARGS` as `mimamori ARGS | head -0` would: the reader of its stdout is gone
/// before it writes anything.
pub fn mimamori_into_closed_pipe(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    run(dir, args, stdin, false)
}

/// `mimamori watch --once --no-screenshots --config CONFIG --data DATA` in `dir`.
pub fn watch_once(dir: &Path, config: &Path, data: &Path) -> Output {
    let (config, data) = (
        config.to_str().expect("utf8 config path"),
        data.to_str().expect("utf8 data path"),
    );
    let args = [
        "watch",
        "--once",
        "--no-screenshots",
        "--config",
        config,
        "--data",
        data,
    ];
    mimamori(dir, &args, b"")
}

fn run(dir: &Path, args: &[&str], stdin: &[u8], keep_stdout: bool) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mimamori");
    if !keep_stdout {
        drop(child.stdout.take());
    }
    if let Some(mut input) = child.stdin.take() {
        // A command may end before reading all of its input (a closed pipe): not an error.
        let written = input.write_all(stdin);
        assert!(written.is_ok() || !keep_stdout, "write stdin: {written:?}");
    }
    child.wait_with_output().expect("wait for mimamori")
}

/// Serves `router` on `127.0.0.1:0` in the background (for as long as the runtime lives) and
/// returns the address it bound.
pub async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A stored-post-like [`mimamori::model::Post`] for seeding a data directory: key, source
/// kind, body, posted `days_ago` days ago (thread title, author and ID filled in).
pub fn post(key: &str, source: &str, body: &str, days_ago: i64) -> mimamori::model::Post {
    use chrono::{Duration, Utc};
    let posted = (Utc::now() - Duration::days(days_ago)).with_timezone(&mimamori::model::jst());
    mimamori::model::Post {
        key: key.to_string(),
        source_kind: source.to_string(),
        source_id: format!("{source}-test"),
        source_url: format!("https://example.com/{source}"),
        url: format!("https://example.com/{}", key.replace(':', "/")),
        thread_title: Some("地元の会社について語るスレ".to_string()),
        number: Some(1),
        author_name: Some("名無しさん".to_string()),
        author_id: Some("ID:AbCd1234".to_string()),
        posted_at_raw: None,
        posted_at: Some(posted),
        body: body.to_string(),
        body_html: None,
        fetched_at: Utc::now(),
    }
}

/// Analyzes `posts` with the watchlist at `watchlist` and commits them as one poll into the
/// store of `data` (posts mentioning a target, their hits and outbox rows); returns the store
/// and the hits recorded.
pub fn store_analyzed(
    data: &Path,
    watchlist: &Path,
    posts: Vec<mimamori::model::Post>,
) -> (mimamori::store::Store, Vec<mimamori::store::Hit>) {
    let wl = mimamori::config::load(watchlist).expect("watchlist");
    let analyzer = mimamori::analyze::Analyzer::new(&wl).expect("analyzer");
    let analyzed: Vec<_> = posts
        .into_iter()
        .map(|p| {
            let a = analyzer.analyze(&p.to_input());
            (p, a)
        })
        .collect();
    let store = mimamori::store::Store::open(data).expect("store");
    let hits = store
        .commit_poll("test", &[], &analyzed, &[])
        .expect("commit poll");
    (store, hits)
}
