//! `mimamori serve`: the JSON API, token auth, escaping in pages, and a headless-Chromium walk
//! through the triage page, on a temp data dir seeded through the store and `reindex`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::support::{mimamori, post, store_analyzed};

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]
aliases = ["ヤマダ商事"]

[[target]]
id = "tanaka"
kind = "person"
names = ["田中花子"]
[target.personal]
phones = ["090-2345-6789"]
"#;

/// The post whose body is an XSS attempt.
const XSS: &str = "山田商事は詐欺。<script>alert(1)</script><img src=x onerror=alert(2)>";

/// A data dir with four stored posts (three hits) and a rebuilt index; the watchlist beside it.
pub(crate) fn seeded() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let wl = dir.path().join("wl.toml");
    std::fs::write(&wl, WATCHLIST).expect("write watchlist");
    let posts = vec![
        post(
            "5ch:a/100/1",
            "5ch",
            "山田商事は詐欺をしている。\n社長が逮捕されたらしい",
            2,
        ),
        post("rss:b/2", "rss", "ヤマダ商事の新商品よかった", 30),
        post(
            "5ch:a/100/3",
            "5ch",
            "田中花子の電話番号は090-2345-6789だよ。晒す",
            1,
        ),
        post("5ch:a/100/4", "5ch", XSS, 0),
    ];
    drop(store_analyzed(&dir.path().join("data"), &wl, posts));
    let out = mimamori(
        dir.path(),
        &["--data", "data", "reindex", "--config", "wl.toml"],
        b"",
    );
    assert!(
        out.status.success(),
        "reindex failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// A running `mimamori serve`, killed on drop.
/// A running `mimamori serve`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `serve --addr 127.0.0.1:0` in `dir` with `extra` arguments and reads the URL it
/// prints.
/// Starts `serve` over `dir/data` on a free port.
pub(crate) fn start(dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["--data", "data", "serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .current_dir(dir)
        .env_remove("MIMAMORI_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn mimamori serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the listening line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    Server { child, base }
}

/// GET `url`: (status, body).
pub(crate) async fn get(c: &reqwest::Client, url: &str) -> (u16, String) {
    let r = c.get(url).send().await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn hit_of(hits: &Value, post_key: &str) -> Value {
    hits.as_array()
        .and_then(|a| a.iter().find(|h| h["post_key"] == post_key))
        .cloned()
        .unwrap_or_else(|| panic!("no hit for {post_key} in {hits}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_every_endpoint() {
    let dir = seeded();
    let s = start(dir.path(), &["--config", "wl.toml"]);
    let c = reqwest::Client::new();
    let b = &s.base;

    // OpenAPI.
    let (code, body) = get(&c, &format!("{b}/api/openapi.json")).await;
    assert_eq!(code, 200);
    assert!(json(&body)["paths"]["/api/search"].is_object());

    // Queue: severity first; filters; bad params are 400 JSON.
    let (code, body) = get(&c, &format!("{b}/api/hits")).await;
    assert_eq!(code, 200, "{body}");
    let hits = json(&body);
    let list = hits.as_array().expect("array");
    assert_eq!(list.len(), 3, "{hits}");
    let sev: Vec<u64> = list
        .iter()
        .map(|h| h["severity"].as_u64().unwrap_or(0))
        .collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
    let (_, body) = get(&c, &format!("{b}/api/hits?target=tanaka")).await;
    assert_eq!(json(&body).as_array().map(Vec::len), Some(1), "{body}");
    for bad in ["status=bogus", "limit=abc", "limit=0"] {
        let (code, body) = get(&c, &format!("{b}/api/hits?{bad}")).await;
        assert_eq!(code, 400, "{bad}: {body}");
        assert!(json(&body)["error"].is_string(), "{body}");
    }

    // Detail: post, matches in place, PII masked, deadlines, evidence present.
    let tanaka = hit_of(&hits, "5ch:a/100/3");
    let id = tanaka["id"].as_i64().expect("id");
    let (code, body) = get(&c, &format!("{b}/api/hits/{id}")).await;
    assert_eq!(code, 200, "{body}");
    assert!(
        !body.contains("2345-6789") && !body.contains("23456789"),
        "{body}"
    );
    let d = json(&body);
    let text = d["post"]["body"].as_str().expect("body");
    assert!(text.contains("090-****-6789"), "{text}");
    assert_eq!(d["post"]["author_id"], "ID:AbCd1234");
    assert!(d["evidence"].as_array().is_some_and(Vec::is_empty), "{d}");
    assert!(
        d["deadlines"]["access_log"]["days_remaining"]
            .as_i64()
            .is_some_and(|n| (88..=89).contains(&n)),
        "{d}"
    );
    assert!(d["deadlines"]["outer_limit"]["date"].is_string(), "{d}");
    let located = d["matches"].as_array().expect("matches");
    assert!(!located.is_empty());
    for m in located.iter().filter(|m| m["field"] == "text") {
        let (Some(s), Some(e)) = (m["start"].as_u64(), m["end"].as_u64()) else {
            panic!("match not located: {m}")
        };
        assert_eq!(
            &text[s as usize..e as usize],
            m["text"].as_str().unwrap_or(""),
            "{m}"
        );
    }
    let (code, _) = get(&c, &format!("{b}/api/hits/99999")).await;
    assert_eq!(code, 404);
    let (code, _) = get(&c, &format!("{b}/api/hits/abc")).await;
    assert_eq!(code, 400);

    // Triage: update, history kept, bad status 400, unknown hit 404.
    let post_triage = |id: i64, body: &'static str| {
        c.post(format!("{b}/api/hits/{id}/triage"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post_triage(id, r#"{"status":"reviewing","note":"確認中"}"#)
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 200);
    let r = post_triage(id, r#"{"status":"reported"}"#)
        .await
        .expect("post");
    let out = json(&r.text().await.expect("body"));
    assert_eq!(out["hit"]["status"], "reported");
    let history: Vec<&str> = out["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|e| e["status"].as_str())
        .collect();
    assert_eq!(history, ["reviewing", "reported"]);
    let r = post_triage(id, r#"{"status":"confirmed"}"#)
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        json(&r.text().await.expect("body"))["error"]
            .as_str()
            .is_some_and(|e| e.contains("ignored"))
    );
    let r = post_triage(id, "not json").await.expect("post");
    assert_eq!(r.status().as_u16(), 400);
    let r = post_triage(99999, r#"{"status":"ignored"}"#)
        .await
        .expect("post");
    assert_eq!(r.status().as_u16(), 404);
    let (_, body) = get(&c, &format!("{b}/api/hits?status=reported")).await;
    assert_eq!(json(&body).as_array().map(Vec::len), Some(1), "{body}");

    // Search: results, facets over all matches, histogram, status from the store.
    let (code, body) = get(&c, &format!("{b}/api/search?q=*&limit=1")).await;
    assert_eq!(code, 200, "{body}");
    let sr = json(&body);
    assert_eq!(sr["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(sr["facets"]["targets"]["yamada"], 3, "{sr}");
    assert_eq!(sr["facets"]["sources"]["5ch"], 3, "{sr}");
    let days: u64 = sr["histogram"]
        .as_array()
        .expect("histogram")
        .iter()
        .filter_map(|d| d["count"].as_u64())
        .sum();
    assert_eq!(days, 4, "{sr}");
    let (_, body) = get(&c, &format!("{b}/api/search?q=%E6%99%92%E3%81%99")).await; // 晒す
    let sr = json(&body);
    assert_eq!(sr["results"][0]["status"], "reported", "{sr}");
    assert!(!body.contains("2345-6789"), "{body}");
    let (_, body) = get(&c, &format!("{b}/api/search?q=%E3%82%84%E3%81%BE%E3%81%A0")).await; // やまだ
    assert!(
        json(&body)["results"]
            .as_array()
            .is_some_and(|r| r.len() >= 2),
        "{body}"
    );
    for bad in ["q=nosuchfield:x", "since=tomorrow", "limit=-1"] {
        let (code, body) = get(&c, &format!("{b}/api/search?{bad}")).await;
        assert_eq!(code, 400, "{bad}: {body}");
        assert!(json(&body)["error"].is_string());
    }

    // Watchlist (masked) and sources.
    let (code, body) = get(&c, &format!("{b}/api/watchlist")).await;
    assert_eq!(code, 200);
    assert!(
        body.contains("090-****-6789") && !body.contains("2345-6789"),
        "{body}"
    );
    assert_eq!(json(&body)["targets"].as_array().map(Vec::len), Some(2));
    let (code, body) = get(&c, &format!("{b}/api/sources")).await;
    assert_eq!(code, 200, "{body}");
    assert!(json(&body).is_array());
    let (code, body) = get(&c, &format!("{b}/api/nope")).await;
    assert_eq!(code, 404);
    assert!(json(&body)["error"].is_string());

    // Pages: escaped, CSP, form POST redirects back.
    let r = c.get(format!("{b}/")).send().await.expect("page");
    let csp = r
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let xss = hit_of(&hits, "5ch:a/100/4")["id"].as_i64().expect("id");
    let (code, page) = get(&c, &format!("{b}/hits/{xss}")).await;
    assert_eq!(code, 200);
    assert!(
        !page.contains("<script>alert") && !page.contains("<img src=x"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    for path in [
        "/search?q=%E8%A9%90%E6%AC%BA",
        "/timeline",
        "/sources",
        "/?status=new",
    ] {
        let (code, page) = get(&c, &format!("{b}{path}")).await;
        assert_eq!(code, 200, "{path}: {page}");
        assert!(!page.contains("<script>alert"), "{path}");
    }
    let r = c
        .post(format!("{b}/hits/{xss}/triage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=ignored&note=%E5%BA%83%E5%91%8A")
        .send()
        .await
        .expect("form");
    assert_eq!(r.status().as_u16(), 200); // followed the redirect to the hit page
    assert!(r.text().await.expect("page").contains("広告"));
    let r = c
        .post(format!("{b}/hits/{xss}/triage"))
        .header("origin", "http://evil.example")
        .body("status=deleted")
        .send()
        .await
        .expect("form");
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_every_request() {
    let dir = seeded();
    let s = start(dir.path(), &["--token", "s3cret-token"]);
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let b = &s.base;
    for path in [
        "/api/hits",
        "/api/watchlist",
        "/api/openapi.json",
        "/",
        "/sources",
    ] {
        let (code, _) = get(&c, &format!("{b}{path}")).await;
        assert_eq!(code, 401, "{path}");
    }
    let r = c
        .get(format!("{b}/api/hits"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .get(format!("{b}/api/hits"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 200);
    // No watchlist given and none in the directory: an empty list.
    let r = c
        .get(format!("{b}/api/watchlist"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .expect("request");
    assert_eq!(
        json(&r.text().await.expect("body"))["targets"],
        serde_json::json!([])
    );
    // ?token= once on a page sets the cookie and redirects without the token.
    let r = c
        .get(format!("{b}/search?q=x&token=s3cret-token"))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let loc = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert_eq!(loc, "/search?q=x");
    let pair = cookie.split(';').next().unwrap_or("").to_string();
    let r = c
        .get(format!("{b}/"))
        .header("cookie", pair)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 200);
}

#[test]
fn a_public_address_without_a_token_is_refused_and_an_outdated_index_is_503() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = mimamori(dir.path(), &["serve", "--addr", "0.0.0.0:0"], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("without a token") && err.contains("--token"),
        "{err}"
    );

    // serve builds a missing index itself; one written by another schema version is left
    // alone (it needs `mimamori reindex`) and search answers 503 saying so. (`--create`: the
    // directory holds no state yet.)
    let tantivy = dir.path().join("data/tantivy");
    std::fs::create_dir_all(&tantivy).expect("mkdir");
    std::fs::write(tantivy.join("meta.json"), "{}").expect("meta");
    std::fs::write(tantivy.join("mimamori-index.json"), r#"{"version":0}"#).expect("version");
    let s = start(dir.path(), &["--create"]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = reqwest::Client::new();
        let (code, body) = get(&c, &format!("{}/api/search?q=x", s.base)).await;
        assert_eq!(code, 503, "{body}");
        assert!(
            json(&body)["error"]
                .as_str()
                .is_some_and(|e| e.contains("mimamori reindex"))
        );
        let (code, page) = get(&c, &format!("{}/search?q=x", s.base)).await;
        assert_eq!(code, 200);
        assert!(page.contains("mimamori reindex"), "{page}");
        let (code, _) = get(&c, &format!("{}/api/hits", s.base)).await;
        assert_eq!(code, 200);
    });
}

mod browser;
mod hardening;
