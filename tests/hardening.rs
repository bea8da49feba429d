//! Output hardening: a watched card number that is a known test number (the detector rejects
//! it) is masked everywhere a person sees it — `search` (text and `--json`), `hits --json`,
//! `evidence show`, the hit page and the API — and control and bidi characters written into a
//! post (`\x1b]0;…\x07`, `\x1b[2J`, NUL, `&#27;` once decoded, U+202E) never reach a terminal
//! or a page as themselves.

use std::path::Path;

use mimamori::analyze::pii::hash_value;
use mimamori::evidence::Evidence;
use mimamori::fetch::FetchResponse;
use mimamori::sources::Capture;

use crate::support::{mimamori, post, store_analyzed};

/// The Visa test number: Luhn-valid, and on every list of test cards.
const CARD: &str = "4111111111111111";
const CARD_WRITTEN: &str = "4111 1111 1111 1111";
const CARD_MASK: &str = "**** **** **** 1111";

/// One target watching the card in clear, one watching it as a hash.
fn watchlist() -> String {
    format!(
        r#"
[[target]]
id = "hanako"
kind = "person"
names = ["田中花子"]
[target.personal]
cards = ["{CARD_WRITTEN}"]

[[target]]
id = "taro"
kind = "person"
names = ["佐藤太郎"]
[target.personal]
cards = ["sha256:{}"]
"#,
        hash_value(CARD)
    )
}

/// The body of the hostile post: the card, terminal escapes, NUL, a decoded `&#27;` and a
/// right-to-left override.
fn hostile_body() -> String {
    let decoded = mimamori::sources::fivech::board::body_to_text("&#27;[31m");
    assert!(decoded.contains('\x1b'), "the entity decodes to a real ESC");
    format!(
        "田中花子のカード {CARD_WRITTEN} 晒す\x1b]0;pwned\x07\x1b[2J\0{decoded}佐藤太郎は\u{202E}欺詐\u{202C}"
    )
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = mimamori(dir, args, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// No terminal control, no bidi control, and the card only masked.
fn assert_safe(what: &str, out: &str) {
    let bad: Vec<char> = out
        .chars()
        .filter(|&c| {
            (c.is_control() && !matches!(c, '\n' | '\t'))
                || mimamori::text::control::is_bidi_control(c)
        })
        .collect();
    assert!(bad.is_empty(), "{what}: {bad:?} in {out:?}");
    let digits: String = out.chars().filter(char::is_ascii_digit).collect();
    assert!(
        !out.contains(CARD_WRITTEN) && !out.contains(CARD) && !digits.contains(CARD),
        "{what}: the card in clear: {out}"
    );
}

/// A 5ch dat line of the post, as 5ch serves it: Shift_JIS, no charset in the header.
fn dat_response(body: &str) -> FetchResponse {
    let line = format!(
        "名無しさん<><>2026/01/05(月) 12:00:00.00 ID:AbCd1234<> {} <>カード晒しスレ\n",
        body.replace('\n', " <br> ")
    );
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&line);
    FetchResponse {
        url: url::Url::parse("https://egg.5ch.net/test/read.cgi/x/100/").expect("url"),
        status: 200,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: bytes::Bytes::from(bytes.into_owned()),
        remote_addr: None,
        fetched_at: chrono::Utc::now(),
        request_headers: vec![("user-agent".into(), "mimamori-test".into())],
        default_encoding: encoding_rs::SHIFT_JIS,
    }
}

/// A data dir with the hostile post stored, analyzed, captured as evidence and indexed.
fn seeded() -> (tempfile::TempDir, i64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let wl = dir.path().join("wl.toml");
    std::fs::write(&wl, watchlist()).expect("write watchlist");
    let mut p = post("5ch:x/100/1", "5ch", &hostile_body(), 0);
    p.thread_title = Some(format!("カード {CARD_WRITTEN} 晒しスレ"));
    p.url = "https://egg.5ch.net/test/read.cgi/x/100/1\x1b[2J".into();
    let data = dir.path().join("data");
    let (store, hits) = store_analyzed(&data, &wl, vec![p.clone()]);
    let hit = hits
        .iter()
        .find(|h| h.target == "hanako")
        .unwrap_or_else(|| panic!("no hit about hanako: {hits:?}"));
    assert!(
        hit.pii.is_empty(),
        "the detector rejects the test number, so only the watched-value masking can hide it"
    );
    let wl = mimamori::config::load(&wl).expect("watchlist");
    let analysis = mimamori::analyze::Analyzer::new(&wl)
        .expect("analyzer")
        .analyze(&p.to_input());
    let evidence = Evidence::open(&data).expect("evidence");
    let capture = Capture {
        response: dat_response(&p.body),
        post_keys: vec![p.key.clone()],
    };
    evidence
        .capture(&[capture], &[], &[(&p, &analysis)])
        .expect("capture");
    let id = hit.id;
    drop(store);
    let (code, _, stderr) = run(
        dir.path(),
        &["--data", "data", "reindex", "--config", "wl.toml"],
    );
    assert_eq!(code, Some(0), "reindex: {stderr}");
    (dir, id)
}

#[test]
fn cli_output_masks_watched_values_and_shows_controls() {
    let (dir, id) = seeded();
    let d = dir.path();
    let data = ["--data", "data"];
    let with = |args: &[&str]| -> Vec<String> {
        data.iter()
            .chain(args)
            .chain(&["--config", "wl.toml"])
            .map(|s| s.to_string())
            .collect()
    };
    let run_with = |args: &[&str]| {
        let all = with(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        run(d, &all)
    };

    let (code, stdout, stderr) = run_with(&["search", "田中花子"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_safe("search", &stdout);
    assert!(stdout.contains(CARD_MASK), "{stdout}");
    assert!(stdout.contains("<U+001B>"), "{stdout}");

    let (code, stdout, stderr) = run_with(&["search", "--json", "カード"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_safe("search --json", &stdout);
    let results: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let first = &results[0];
    assert!(
        first["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("****")),
        "{first}"
    );
    assert!(
        first["title"]
            .as_str()
            .is_some_and(|t| t.contains(CARD_MASK)),
        "{first}"
    );

    for args in [&["hits"][..], &["hits", "--json"][..]] {
        let (code, stdout, stderr) = run_with(args);
        assert_eq!(code, Some(0), "{stderr}");
        assert_safe(&args.join(" "), &stdout);
    }
    let (_, stdout, _) = run_with(&["hits"]);
    assert!(stdout.contains("/100/1<U+001B>[2J"), "{stdout}");

    let id = id.to_string();
    let (code, stdout, stderr) = run_with(&["evidence", "show", &id]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_safe("evidence show", &stdout);
    assert!(
        stdout.starts_with("HTTP/1.1 200 OK\n") && stdout.contains("田中花子のカード"),
        "decoded from Shift_JIS: {stdout}"
    );
    // (Shift_JIS has no U+202E: the dat holds it as `&#8238;`, text a terminal shows as is.)
    assert!(
        stdout.contains(CARD_MASK) && stdout.contains("<U+0007>"),
        "{stdout}"
    );
    assert!(stderr.contains("Shift_JIS"), "{stderr}");

    let (code, stdout, stderr) = run_with(&["evidence", "show", &id, "--unmasked"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(CARD_WRITTEN),
        "--unmasked shows the post as posted"
    );
    assert!(
        !stdout.contains('\x1b') && stdout.contains("<U+0007>"),
        "{stdout}"
    );

    let raw = mimamori(
        d,
        &with(&["evidence", "show", &id, "--raw"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        b"",
    );
    assert!(raw.status.success());
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("田中花子のカード");
    assert!(
        raw.stdout.windows(sjis.len()).any(|w| w == &sjis[..]),
        "--raw writes the bytes as stored"
    );
    assert!(raw.stdout.contains(&0x1b));

    let (code, stdout, stderr) = run_with(&["evidence", "show", &id, "--all"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_safe("evidence show --all", &stdout);
    for record in [
        "WARC-Type: request",
        "WARC-Type: response",
        "WARC-Type: metadata",
    ] {
        assert!(stdout.contains(record), "{record}: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hit_page_and_api_mask_a_watched_test_card() {
    let (dir, id) = seeded();
    let server = crate::serve::start(dir.path(), &["--config", "wl.toml"]);
    let c = reqwest::Client::new();
    let (code, api) = crate::serve::get(&c, &format!("{}/api/hits/{id}", server.base)).await;
    assert_eq!(code, 200, "{api}");
    let v: serde_json::Value = serde_json::from_str(&api).expect("json");
    let body = v["post"]["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(CARD_MASK) && !body.contains(CARD_WRITTEN),
        "{body}"
    );
    let title = v["post"]["thread_title"].as_str().unwrap_or_default();
    assert!(title.contains(CARD_MASK), "{title}");
    for m in v["matches"].as_array().into_iter().flatten() {
        if let (Some(s), Some(e)) = (m["start"].as_u64(), m["end"].as_u64()) {
            let hay = if m["field"] == "title" { title } else { body };
            assert_eq!(
                hay.get(s as usize..e as usize),
                m["text"].as_str(),
                "match offsets point into the masked text: {m}"
            );
        }
    }

    let (code, page) = crate::serve::get(&c, &format!("{}/hits/{id}", server.base)).await;
    assert_eq!(code, 200);
    assert_safe("hit page", &page);
    assert!(page.contains(CARD_MASK), "{page}");
    assert!(page.contains("&lt;U+202E&gt;") && page.contains("class=\"ctl\""));

    let (code, search) = crate::serve::get(
        &c,
        &format!(
            "{}/api/search?q=%E7%94%B0%E4%B8%AD%E8%8A%B1%E5%AD%90",
            server.base
        ),
    )
    .await;
    assert_eq!(code, 200, "{search}");
    assert!(!search.contains(CARD_WRITTEN), "{search}");

    // The queue of both targets' hits holds no card either.
    let (_, hits) = crate::serve::get(&c, &format!("{}/api/hits", server.base)).await;
    assert!(
        hits.contains("taro") && !hits.contains(CARD_WRITTEN),
        "{hits}"
    );
}

/// Logs written into a file or a pipe carry no ANSI colour codes.
#[test]
fn logs_into_a_file_have_no_colour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wl = dir.path().join("wl.toml");
    std::fs::write(&wl, watchlist()).expect("write watchlist");
    let p = post("5ch:x/100/2", "5ch", "田中花子は詐欺師", 0);
    drop(store_analyzed(&dir.path().join("data"), &wl, vec![p]));
    let log = std::fs::File::create(dir.path().join("log.txt")).expect("log file");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args([
            "--data",
            "data",
            "search",
            "田中花子",
            "--config",
            "wl.toml",
        ])
        .current_dir(dir.path())
        .env("MIMAMORI_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .status()
        .expect("run mimamori");
    assert!(status.success());
    let log = std::fs::read_to_string(dir.path().join("log.txt")).expect("read log");
    assert!(log.contains("search index caught up"), "{log}");
    assert!(!log.contains('\x1b'), "{log:?}");
}
