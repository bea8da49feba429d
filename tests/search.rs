//! `mimamori reindex` and `mimamori search` on a temp data dir seeded through the store.

use std::path::Path;

use mimamori::analyze::Analyzer;
use mimamori::store::Store;
use serde_json::Value;

use crate::support::{mimamori, post, store_analyzed};

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]
aliases = ["ヤマダ商事"]

[[target]]
id = "sakurai"
kind = "business"
names = ["桜井眼科"]
"#;

/// A data dir with three stored posts and a rebuilt index, and the watchlist beside it.
fn seeded() -> tempfile::TempDir {
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
        post(
            "rss:b/2",
            "rss",
            "ＹＡＭＡＤＡ　ヤマダ商事の新商品よかった",
            30,
        ),
        post(
            "5ch:a/100/2",
            "5ch",
            "桜井眼科の院長は最悪。二度と行かない",
            1,
        ),
    ];
    drop(store_analyzed(&dir.path().join("data"), &wl, posts));
    let out = run(dir.path(), &["reindex", "--config", "wl.toml"]);
    assert!(out.0 == Some(0), "reindex failed: {}", out.2);
    assert!(out.2.contains("indexed 3 posts"), "{}", out.2);
    dir
}

/// Runs mimamori with `--data data` in `dir`: (exit code, stdout, stderr).
pub(crate) fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["--data", "data"];
    all.extend_from_slice(args);
    let out = mimamori(dir, &all, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `search --json ARGS…` → the post keys found, in order, and the parsed array.
fn search(dir: &Path, args: &[&str]) -> (Vec<String>, Vec<Value>) {
    let mut all = vec!["search", "--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(dir, &all);
    assert_eq!(code, Some(0), "search {args:?} failed: {stderr}");
    let results: Vec<Value> = serde_json::from_str(&stdout).expect("a JSON array");
    let mut keys: Vec<String> = results
        .iter()
        .map(|r| r["post_key"].as_str().unwrap_or_default().to_string())
        .collect();
    keys.sort();
    (keys, results)
}

#[test]
fn search_finds_phrases_readings_and_filters() {
    let dir = seeded();
    let d = dir.path();

    // A Japanese phrase, with the match highlighted in the snippet.
    let (keys, results) = search(d, &["\"山田商事は詐欺\""]);
    assert_eq!(keys, ["5ch:a/100/1"]);
    let r = &results[0];
    let snippet = r["snippet"].as_str().unwrap_or_default();
    assert!(snippet.contains("«"), "{snippet}");
    assert!(snippet.contains("詐欺"), "{snippet}");
    assert_eq!(r["url"], "https://example.com/5ch/a/100/1");
    assert_eq!(r["targets"], serde_json::json!(["yamada"]));
    assert!(
        r["posted_at"]
            .as_str()
            .unwrap_or_default()
            .ends_with("+09:00"),
        "{r}"
    );
    assert!(
        r["categories"].as_array().is_some_and(|c| !c.is_empty()),
        "{r}"
    );

    // Kana readings find kanji text; katakana and half/full width fold.
    assert_eq!(search(d, &["さぎ"]).0, ["5ch:a/100/1"]);
    assert_eq!(search(d, &["たいほ"]).0, ["5ch:a/100/1"]);
    assert_eq!(search(d, &["やまだ"]).0, ["5ch:a/100/1", "rss:b/2"]);
    assert_eq!(search(d, &["yamada"]).0, ["rss:b/2"]);

    // A substring Lindera splits (bigrams) and boolean operators.
    assert_eq!(search(d, &["井眼"]).0, ["5ch:a/100/2"]);
    assert_eq!(
        search(d, &["詐欺 OR 最悪"]).0,
        ["5ch:a/100/1", "5ch:a/100/2"]
    );
    assert_eq!(search(d, &["商事 NOT 詐欺"]).0, ["rss:b/2"]);
    assert_eq!(search(d, &["source:rss"]).0, ["rss:b/2"]);

    // Filters.
    assert_eq!(
        search(d, &["--target", "yamada", "*"]).0,
        ["5ch:a/100/1", "rss:b/2"]
    );
    assert_eq!(search(d, &["--target", "sakurai", "*"]).0, ["5ch:a/100/2"]);
    assert_eq!(
        search(d, &["--since", "7d", "*"]).0,
        ["5ch:a/100/1", "5ch:a/100/2"]
    );
    assert_eq!(search(d, &["--until", "7d", "*"]).0, ["rss:b/2"]);
    assert_eq!(
        search(d, &["--source", "5ch", "--limit", "1", "*"]).0.len(),
        1
    );
    assert!(search(d, &["存在しない言葉"]).0.is_empty());
}

#[test]
fn text_output_shows_date_source_url_and_snippet() {
    let dir = seeded();
    let (code, stdout, stderr) = run(dir.path(), &["search", "逮捕"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(" +09:00 (JST)  5ch  [yamada]"), "{stdout}");
    assert!(
        stdout.contains("https://example.com/5ch/a/100/1"),
        "{stdout}"
    );
    assert!(stdout.contains("«逮捕»"), "{stdout}");
}

#[test]
fn an_index_of_another_version_asks_for_reindex() {
    let dir = seeded();
    let version = dir.path().join("data/tantivy/mimamori-index.json");
    std::fs::write(&version, r#"{"version":0}"#).expect("write version");
    let (code, _, stderr) = run(dir.path(), &["search", "詐欺"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("mimamori reindex") && stderr.contains("tantivy"),
        "{stderr}"
    );
    // reindex repairs it.
    let (code, _, stderr) = run(dir.path(), &["reindex", "--config", "wl.toml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(search(dir.path(), &["詐欺"]).0, ["5ch:a/100/1"]);
}

#[test]
fn search_without_an_index_or_with_a_bad_query_fails_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, stderr) = run(dir.path(), &["search", "詐欺"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("no search index") && stderr.contains("reindex"),
        "{stderr}"
    );
    let dir = seeded();
    let (code, _, stderr) = run(dir.path(), &["search", "nosuchfield:x"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot parse the query"), "{stderr}");
}

#[test]
fn the_indexer_replaces_a_post_by_key_and_commits_in_batches() {
    use mimamori::index::search::SearchRequest;
    use mimamori::index::{PostMeta, SearchIndex};
    let dir = tempfile::tempdir().expect("tempdir");
    let index = SearchIndex::open_or_create(dir.path()).expect("create index");
    let mut indexer = index.indexer(2).expect("writer");
    assert!(index.indexer(2).is_err(), "a second writer must fail");
    let meta = PostMeta {
        targets: vec!["yamada".into()],
        ..PostMeta::default()
    };
    let mut p = post("5ch:x/1/1", "5ch", "山田商事は最悪", 0);
    indexer.add(&p, &meta).expect("add");
    p.body = "山田商事は倒産した".into();
    indexer.add(&p, &meta).expect("add again");
    // The batch of two was committed without an explicit commit.
    let request = |q: &str| SearchRequest {
        query: q.into(),
        limit: 10,
        ..SearchRequest::default()
    };
    let found = index.search(&request("山田商事")).expect("search");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].snippet.contains("倒産"), "{found:?}");
    assert!(index.search(&request("最悪")).expect("search").is_empty());
    // More batches: a bulk writer leaves one segment per commit until it finishes, then
    // merges them all into one.
    for n in 2..9 {
        let p = post(
            &format!("5ch:x/1/{n}"),
            "5ch",
            &format!("山田商事その{n}"),
            0,
        );
        indexer.add_new(&p, &meta).expect("add");
    }
    let segments = || {
        index
            .tantivy()
            .searchable_segment_ids()
            .expect("segments")
            .len()
    };
    assert!(segments() > 1, "{} segments before finish", segments());
    indexer.finish().expect("finish");
    let index = SearchIndex::open(dir.path()).expect("reopen");
    assert_eq!(
        index
            .tantivy()
            .searchable_segment_ids()
            .expect("segments")
            .len(),
        1
    );
    assert_eq!(index.search(&request("山田商事")).expect("search").len(), 8);
}

#[test]
fn the_index_follows_new_posts_and_triage_without_a_reindex() {
    let dir = seeded();
    let d = dir.path();
    // A poll committed after the index was built: `search` catches the index up itself.
    let analyzer = Analyzer::new(&mimamori::config::load(&d.join("wl.toml")).expect("watchlist"))
        .expect("analyzer");
    let late = post("5ch:a/100/3", "5ch", "ヤマダ商事の倉庫、放火してやる", 0);
    let analysis = analyzer.analyze(&late.to_input());
    let store = Store::open(&d.join("data")).expect("store");
    let hits = store
        .commit_poll("test", &[], &[(late, analysis)], &[])
        .expect("commit");
    assert_eq!(hits.len(), 1, "{hits:?}");
    let id = hits[0].id.to_string();
    drop(store);
    assert_eq!(search(d, &["放火"]).0, ["5ch:a/100/3"]);
    assert!(search(d, &["status:reported"]).0.is_empty());

    // Triage keeps the history and the index shows the new status.
    let (code, stdout, stderr) = run(d, &["triage", &id, "--status", "reviewing"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("reviewing"), "{stdout}");
    let (code, stdout, stderr) = run(
        d,
        &[
            "triage",
            &id,
            "--status",
            "reported",
            "--note",
            "送信防止措置依頼を送付",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(v["hit"]["status"], "reported");
    let history: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(history, ["reviewing", "reported"]);
    assert_eq!(v["history"][1]["note"], "送信防止措置依頼を送付");
    let (keys, results) = search(d, &["status:reported"]);
    assert_eq!(keys, ["5ch:a/100/3"]);
    assert_eq!(results[0]["status"], "reported");

    // A status outside the five, or an unknown hit, is refused with a message.
    let (code, _, stderr) = run(d, &["triage", &id, "--status", "done"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("reviewing"), "{stderr}");
    let (code, _, stderr) = run(d, &["triage", "99999", "--status", "ignored"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("99999"), "{stderr}");
}
