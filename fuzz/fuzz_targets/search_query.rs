//! The search path of `mimamori search` and `serve`'s `/api/search`: the query string checked
//! against the limits, parsed by Tantivy's QueryParser with the project's schema and
//! analyzers, and run with snippets under the search budget, on a small index built once.
#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use mimamori::index::search::{Deadline, SEARCH_BUDGET, SearchRequest};
use mimamori::index::{PostMeta, SearchIndex};
use mimamori::model::{Post, jst};

/// The index, and the directory it lives in (removed when the process ends).
fn index() -> &'static (SearchIndex, tempfile::TempDir) {
    static INDEX: OnceLock<(SearchIndex, tempfile::TempDir)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let at = Utc
            .with_ymd_and_hms(2024, 1, 15, 3, 34, 56)
            .single()
            .expect("a valid time");
        let bodies = [
            ("5ch", "さくら食品の弁当で食中毒。あそこは詐欺だろ"),
            ("shitaraba", "田中美咲の電話番号は080-3141-5926らしい"),
            ("rss", "Sakura Foods recalls its bento; 小林クリニックは最悪"),
            ("html", "やまだ商事の口コミ ★☆☆☆☆ 二度と行かない"),
        ];
        {
            let index = SearchIndex::open_or_create(dir.path()).expect("create the index");
            let mut indexer = index.indexer(16).expect("an index writer");
            for (n, (source, body)) in bodies.into_iter().enumerate() {
                let post = Post {
                    key: format!("{source}:example.jp/1/{n}"),
                    source_kind: source.into(),
                    source_id: format!("{source}:https://example.jp/"),
                    source_url: "https://example.jp/".into(),
                    url: format!("https://example.jp/1/{n}"),
                    thread_title: Some("地元の会社について語るスレ".into()),
                    number: u64::try_from(n).ok(),
                    author_name: Some("名無しさん".into()),
                    author_id: Some("ID:AbCd1234".into()),
                    posted_at_raw: None,
                    posted_at: Some(at.with_timezone(&jst())),
                    body: body.into(),
                    body_html: None,
                    fetched_at: at,
                };
                let meta = PostMeta {
                    targets: vec!["sakura_foods".into()],
                    categories: vec!["defamation".into()],
                    severity: 60,
                    ..PostMeta::default()
                };
                indexer.add(&post, &meta).expect("add a post");
            }
            indexer.finish().expect("commit the index");
        }
        let index = SearchIndex::open(dir.path()).expect("reopen the index");
        (index, dir)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let request = SearchRequest {
        query: query.to_string(),
        limit: 10,
        ..SearchRequest::default()
    };
    let _ = index()
        .0
        .search_within(&request, &Deadline::after(SEARCH_BUDGET));
});
