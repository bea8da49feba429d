//! The hostile-input pass on `serve` and the search commands (issue 18): bounded queries, a
//! time budget, no data directory made up on the spot, searching a read-only copy without a
//! single write, JSON errors everywhere under `/api/`, redirects that stay on this origin, and
//! a prompt stop on SIGTERM with a request in flight.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use super::{get, json, seeded, start};
use crate::search::run;
use crate::support::{fixture, mimamori};

/// Every file and directory under `dir` with its size and modification time.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, SystemTime)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("list") {
            let entry = entry.expect("entry");
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                todo.push(entry.path());
            }
            out.push((entry.path(), meta.len(), meta.modified().expect("mtime")));
        }
    }
    let meta = std::fs::metadata(dir).expect("metadata");
    out.push((
        dir.to_path_buf(),
        meta.len(),
        meta.modified().expect("mtime"),
    ));
    out.sort();
    out
}

/// `chmod -R` to `dirs` for directories and `files` for files.
fn chmod_all(root: &Path, dirs: u32, files: u32) {
    use std::os::unix::fs::PermissionsExt;
    let mut todo = vec![root.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(files))
                    .expect("chmod");
            }
        }
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(dirs)).expect("chmod");
    }
}

/// True when this process runs as root (a file it creates is owned by uid 0).
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join("uid-probe");
    std::fs::write(&probe, b"").expect("probe");
    let root = std::fs::metadata(&probe).expect("probe").uid() == 0;
    std::fs::remove_file(&probe).expect("probe");
    root
}

#[test]
fn serve_search_and_hits_never_make_up_a_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-dir");
    let m = missing.to_str().expect("utf-8 path");
    for args in [
        vec!["--data", m, "serve", "--addr", "127.0.0.1:0"],
        vec!["--data", m, "search", "詐欺"],
        vec!["--data", m, "hits"],
    ] {
        let out = mimamori(dir.path(), &args, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("no-such-dir"), "{args:?}: {err}");
        assert!(!missing.exists(), "{args:?} created {m}");
    }
    let out = mimamori(
        dir.path(),
        &["--data", m, "serve", "--addr", "127.0.0.1:0"],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a mimamori data directory") && err.contains("--create"),
        "{err}"
    );

    // An existing directory that is not a data directory (think `--data /`) is refused too,
    // and left as it was.
    let other = dir.path().join("data");
    std::fs::create_dir(&other).expect("mkdir");
    let before = listing(&other);
    let (code, _, err) = run(dir.path(), &["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(listing(&other), before);

    // --create starts an empty one on purpose.
    let s = start(dir.path(), &["--create"]);
    assert!(other.join("state.sqlite").is_file());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (code, body) = get(&reqwest::Client::new(), &format!("{}/api/hits", s.base)).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(json(&body), serde_json::json!([]));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_are_refused_at_once_with_the_limit_named() {
    let dir = seeded();
    let s = start(dir.path(), &["--config", "wl.toml"]);
    let c = reqwest::Client::new();
    let b = &s.base;
    let nested = |depth: usize| format!("{}a{}", "(".repeat(depth), ")".repeat(depth));
    let started = Instant::now();
    for (q, limit) in [
        (nested(9), "limit is 8"),
        (nested(30), "limit is 8"),
        (nested(1550), "limit is 1000"),
        ("(".repeat(3000), "limit is 1000"),
        (vec!["詐欺"; 65].join(" "), "limit is 64"),
    ] {
        let url =
            reqwest::Url::parse_with_params(&format!("{b}/api/search"), [("q", &q)]).expect("url");
        let (code, body) = get(&c, url.as_str()).await;
        assert_eq!(code, 400, "{body}");
        let e = json(&body)["error"].as_str().unwrap_or("").to_string();
        assert!(e.contains(limit), "{e}");
        let page =
            reqwest::Url::parse_with_params(&format!("{b}/search"), [("q", &q)]).expect("url");
        let (code, body) = get(&c, page.as_str()).await;
        assert_eq!(code, 200);
        assert!(body.contains(limit), "the page does not say why");
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "hostile queries took {:?}",
        started.elapsed()
    );
    // Nesting within the limit is still a query.
    let url = reqwest::Url::parse_with_params(&format!("{b}/api/search"), [("q", &nested(8))])
        .expect("url");
    let (code, body) = get(&c, url.as_str()).await;
    assert_eq!(code, 200, "{body}");

    // A bad category is refused like a bad status, on both routes.
    for path in ["/api/hits?category=AAA", "/api/search?category=AAA"] {
        let (code, body) = get(&c, &format!("{b}{path}")).await;
        assert_eq!(code, 400, "{path}: {body}");
        assert!(
            json(&body)["error"]
                .as_str()
                .is_some_and(|e| e.contains("personal_data")),
            "{body}"
        );
    }
    let (code, _) = get(&c, &format!("{b}/api/hits?category=threat")).await;
    assert_eq!(code, 200);

    // The CLI refuses the same queries with exit code 1 and the same words.
    let (code, _, err) = run(dir.path(), &["search", &nested(30)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("limit is 8"), "{err}");
    let (code, _, err) = run(dir.path(), &["search", &"詐".repeat(1001)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("limit is 1000"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_over_its_budget_is_stopped_with_an_error() {
    let dir = seeded();
    let s = start(dir.path(), &["--search-timeout", "0s"]);
    let c = reqwest::Client::new();
    let (code, body) = get(&c, &format!("{}/api/search?q=*", s.base)).await;
    assert_eq!(code, 503, "{body}");
    assert!(
        json(&body)["error"]
            .as_str()
            .is_some_and(|e| e.contains("time budget")),
        "{body}"
    );
    let (code, page) = get(&c, &format!("{}/search?q=*", s.base)).await;
    assert_eq!(code, 200);
    assert!(page.contains("time budget"), "{page}");
    // Reading hits does not search: unaffected.
    let (code, _) = get(&c, &format!("{}/api/hits", s.base)).await;
    assert_eq!(code, 200);

    let (code, _, err) = run(dir.path(), &["search", "--timeout", "0s", "詐欺"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("time budget"), "{err}");
    let (code, out, err) = run(dir.path(), &["search", "--timeout", "30s", "詐欺"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("詐欺"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_rejections_on_the_api_are_json_too() {
    let dir = seeded();
    let s = start(dir.path(), &[]);
    let c = reqwest::Client::new();
    let b = &s.base;
    let big = vec![b'a'; 100 * 1024];
    let r = c
        .post(format!("{b}/api/hits/1/triage"))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 413);
    let kind = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(kind.starts_with("application/json"), "{kind}");
    let body = r.text().await.expect("body");
    assert!(
        json(&body)["error"]
            .as_str()
            .is_some_and(|e| e.contains("65536")),
        "{body}"
    );
    // The page's form gets an error page, not plain text.
    let r = c
        .post(format!("{b}/hits/1/triage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(big)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 413);
    let page = r.text().await.expect("page");
    assert!(
        page.contains("<html") || page.contains("<!doctype"),
        "{page}"
    );
    // A method the route does not have: 405, JSON, with Allow.
    let r = c
        .delete(format!("{b}/api/hits"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status().as_u16(), 405);
    assert!(r.headers().get("allow").is_some());
    assert!(json(&r.text().await.expect("body"))["error"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_redirects_never_leave_this_origin() {
    let dir = seeded();
    let s = start(dir.path(), &["--token", "s3cret-token"]);
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for (path, expected) in [
        ("//evil.example/?token=s3cret-token", "/evil.example/"),
        (
            "///evil.example/x?token=s3cret-token&q=1",
            "/evil.example/x?q=1",
        ),
        ("/search?q=x&token=s3cret-token", "/search?q=x"),
    ] {
        let r = c
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 303, "{path}");
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(loc, expected, "{path}");
    }
}

#[test]
fn serve_stops_on_sigterm_with_a_request_in_flight() {
    use std::io::Write;
    let dir = seeded();
    let mut s = start(dir.path(), &[]);
    let addr = s.base.trim_start_matches("http://").to_string();
    // A triage request whose body never arrives: the handler waits for it forever.
    let mut stalled = std::net::TcpStream::connect(&addr).expect("connect");
    stalled
        .write_all(
            format!(
                "POST /api/hits/1/triage HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"status\""
            )
            .as_bytes(),
        )
        .expect("send a partial request");
    std::thread::sleep(Duration::from_millis(300));
    let pid = s.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = s.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve still running {:?} after SIGTERM",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_copy_is_searched_and_served_without_a_single_write() {
    let dir = seeded();
    // Bring the index up to date (a search catches up), then hand out a read-only copy.
    let (code, _, err) = run(dir.path(), &["search", "詐欺"]);
    assert_eq!(code, Some(0), "{err}");
    let copy = tempfile::tempdir().expect("tempdir");
    let status = Command::new("cp")
        .args(["-a"])
        .arg(dir.path().join("data"))
        .arg(copy.path().join("data"))
        .status()
        .expect("cp");
    assert!(status.success());
    std::fs::copy(dir.path().join("wl.toml"), copy.path().join("wl.toml")).expect("copy");
    let data = copy.path().join("data");
    let as_root = running_as_root(copy.path());
    chmod_all(&data, 0o555, 0o444);
    let before = listing(&data);

    let (code, out, err) = run(copy.path(), &["search", "詐欺"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("逮捕"), "{out}");
    let (code, out, err) = run(copy.path(), &["search", "--json", "*"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json(&out).as_array().map(Vec::len), Some(4), "{out}");
    let (code, out, err) = run(copy.path(), &["hits", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json(&out).as_array().map(Vec::len), Some(3), "{out}");

    {
        let s = start(copy.path(), &["--config", "wl.toml"]);
        let c = reqwest::Client::new();
        let b = &s.base;
        let (code, body) = get(&c, &format!("{b}/api/search?q=%E8%A9%90%E6%AC%BA")).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(json(&body)["results"].as_array().map(Vec::len), Some(2));
        let (code, body) = get(&c, &format!("{b}/api/hits")).await;
        assert_eq!(code, 200, "{body}");
        let id = json(&body)[0]["id"].as_i64().expect("id");
        let (code, _) = get(&c, &format!("{b}/api/hits/{id}")).await;
        assert_eq!(code, 200);
        let (code, page) = get(&c, &format!("{b}/search?q=%E8%A9%90%E6%AC%BA")).await;
        assert_eq!(code, 200);
        assert!(page.contains("逮捕"), "{page}");
        let r = c
            .post(format!("{b}/api/hits/{id}/triage"))
            .header("content-type", "application/json")
            .body(r#"{"status":"reviewing"}"#)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status().as_u16(), 403);
        let e = json(&r.text().await.expect("body"))["error"]
            .as_str()
            .unwrap_or("")
            .to_string();
        assert!(e.contains("read-only"), "{e}");
    }
    assert_eq!(
        listing(&data),
        before,
        "searching, listing hits or serving wrote into the read-only copy"
    );

    // Root ignores the permission bits, so the check above is of the code path. Run the
    // search again as an unprivileged user, for whom the directory really is read-only.
    if as_root {
        if Path::new("/usr/bin/setpriv").is_file() {
            chmod_all(copy.path(), 0o755, 0o644);
            chmod_all(&data, 0o555, 0o444);
            let out = Command::new("/usr/bin/setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_mimamori"))
                .args(["--data", "data", "search", "詐欺"])
                .current_dir(copy.path())
                .output()
                .expect("setpriv");
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "as nobody: {err}");
            assert!(String::from_utf8_lossy(&out.stdout).contains("逮捕"));
            assert_eq!(listing(&data), before);
        } else {
            eprintln!(
                "SKIPPED the unprivileged part of a_read_only_copy_is_searched_and_served_without_a_single_write: running as root without /usr/bin/setpriv"
            );
        }
    }
    chmod_all(&data, 0o755, 0o644);
}

#[test]
fn an_index_written_by_tantivy_0_25_is_searched_without_a_reindex() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tantivy = dir.path().join("data/tantivy");
    std::fs::create_dir_all(&tantivy).expect("mkdir");
    let source = fixture("index-tantivy-0.25/tantivy");
    for entry in std::fs::read_dir(&source).expect("fixture") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, tantivy.join(path.file_name().expect("name"))).expect("copy");
    }
    let (code, out, err) = run(dir.path(), &["search", "--json", "--limit", "100", "*"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json(&out).as_array().map(Vec::len), Some(32), "{out}");
    let (code, out, err) = run(dir.path(), &["search", "さくら食品"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("«さくら食品»"), "{out}");

    // Files this Tantivy cannot read ask for a reindex instead of failing obscurely.
    std::fs::write(tantivy.join("meta.json"), b"{\"segments\": 7}").expect("damage");
    let (code, _, err) = run(dir.path(), &["search", "さくら食品"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("mimamori reindex"), "{err}");
}
