//! Integration tests: the 5ch and したらば sources against their simulated boards on
//! 127.0.0.1 — only new posts come back, with the right numbers, authors, IDs, times and
//! bodies; conditional GETs and Range requests are really used; deletions, dat落ち, full
//! threads, forbidden dats and garbled bytes are handled without repeating a post.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mimamori::config::{self, Watchlist};
use mimamori::fetch::{FetchConfig, Fetcher};
use mimamori::model::Post;
use mimamori::simweb::fivech::SimFiveCh;
use mimamori::simweb::shitaraba::SimShitaraba;
use mimamori::simweb::{Fault, FaultRule, Faults, SimConfig, SimPost, SimSite, SimWeb};
use mimamori::sources::{self, Cursors, PollContext, PollOutput, Source};

const FIVE: usize = 0;
const SHITA: usize = 1;

struct Boards {
    web: SimWeb,
    five: Arc<SimFiveCh>,
    shita: Arc<SimShitaraba>,
    watchlist: Watchlist,
    fetcher: Fetcher,
    sources: Vec<Box<dyn Source>>,
    cursors: Vec<Cursors>,
    seen: HashSet<String>,
}

impl Boards {
    async fn start(five: SimFiveCh, shita: SimShitaraba, faults: Faults) -> Boards {
        let path = crate::support::root().join("watchlists/example.toml");
        let text = std::fs::read_to_string(&path).expect("read example watchlist");
        let watchlist = config::parse_str(&text, &path).expect("example watchlist parses");
        let (five, shita) = (Arc::new(five), Arc::new(shita));
        let sites: Vec<Arc<dyn SimSite>> = vec![five.clone(), shita.clone()];
        let cfg = SimConfig {
            seed: 7,
            threads: 4,
            initial_posts: 40,
            faults,
        };
        let web = SimWeb::start(cfg, &watchlist, sites)
            .await
            .expect("simulated web starts");
        let sources_cfg = config::parse_str(&web.sources_toml("1m"), Path::new("sim.toml"))
            .expect("sources parse");
        let sources: Vec<Box<dyn Source>> = sources_cfg
            .sources
            .iter()
            .map(|c| sources::build(c).expect("source builds"))
            .collect();
        assert_eq!(
            sources.iter().map(|s| s.kind()).collect::<Vec<_>>(),
            ["5ch", "shitaraba"]
        );
        let fetcher = Fetcher::new(FetchConfig {
            min_delay: Duration::ZERO,
            ..FetchConfig::default()
        })
        .expect("fetcher");
        Boards {
            web,
            five,
            shita,
            watchlist,
            fetcher,
            sources,
            cursors: vec![Cursors::new(), Cursors::new()],
            seen: HashSet::new(),
        }
    }

    async fn default() -> Boards {
        Boards::start(
            SimFiveCh::default(),
            SimShitaraba::default(),
            Faults::default(),
        )
        .await
    }

    /// Polls one source, stores its cursor updates, and checks no post key repeats.
    async fn poll(&mut self, i: usize) -> PollOutput {
        let ctx = PollContext {
            fetcher: &self.fetcher,
            targets: &self.watchlist.targets,
            cursors: &self.cursors[i],
            now: Utc::now(),
        };
        let out = self.sources[i].poll(&ctx).await.expect("poll succeeds");
        for u in &out.cursor_updates {
            match &u.value {
                Some(v) => self.cursors[i].insert(u.key.clone(), v.clone()),
                None => self.cursors[i].remove(&u.key),
            };
        }
        for p in &out.posts {
            assert!(
                self.seen.insert(p.key.clone()),
                "post {} returned twice",
                p.key
            );
        }
        let captured: usize = out.captures.iter().map(|c| c.post_keys.len()).sum();
        assert_eq!(
            captured,
            out.posts.len(),
            "every post is in exactly one capture"
        );
        out
    }

    fn addr(&self, i: usize) -> String {
        self.web.sites[i].addr.to_string()
    }

    /// The arrivals among `posts` that went to board `i`, with their thread key and number.
    fn located(&self, i: usize, posts: &[SimPost]) -> Vec<(SimPost, String, u64)> {
        posts
            .iter()
            .filter_map(|p| {
                let loc = if i == FIVE {
                    self.five.locate(p.seq)
                } else {
                    self.shita.locate(p.seq)
                };
                loc.map(|(k, n)| (p.clone(), k, n))
            })
            .collect()
    }

    fn key(&self, i: usize, thread: &str, n: u64) -> String {
        match i {
            FIVE => format!("5ch:{}/software/{thread}/{n}", self.addr(i)),
            _ => format!("shitaraba:{}/game/12345/{thread}/{n}", self.addr(i)),
        }
    }

    fn cursor(&self, i: usize, key: &str) -> Option<&serde_json::Value> {
        self.cursors[i].get(key)
    }

    /// Asserts `out` holds exactly the arrivals `want` (board `i`), field by field.
    fn expect_exactly(&self, i: usize, out: &PollOutput, want: &[(SimPost, String, u64)]) {
        let mut got: Vec<&str> = out.posts.iter().map(|p| p.key.as_str()).collect();
        let mut keys: Vec<String> = want.iter().map(|(_, k, n)| self.key(i, k, *n)).collect();
        got.sort_unstable();
        keys.sort_unstable();
        assert_eq!(got, keys, "notes: {:?}", out.notes);
        for (sim, thread, n) in want {
            let key = self.key(i, thread, *n);
            let post = out
                .posts
                .iter()
                .find(|p| p.key == key)
                .unwrap_or_else(|| panic!("{key} missing"));
            check_post(post, sim, *n);
            let path = if i == FIVE {
                format!("test/read.cgi/software/{thread}/{n}")
            } else {
                format!("bbs/read.cgi/game/12345/{thread}/{n}")
            };
            assert_eq!(post.url, format!("http://{}/{path}", self.addr(i)));
        }
    }
}

fn check_post(p: &Post, s: &SimPost, n: u64) {
    assert_eq!(p.number, Some(n), "{}", p.key);
    assert_eq!(
        p.author_name.as_deref(),
        Some(s.author.as_str()),
        "{}",
        p.key
    );
    assert_eq!(
        p.author_id.as_deref(),
        Some(format!("ID:{}", s.author_id).as_str()),
        "{}",
        p.key
    );
    assert_eq!(p.body, s.text.trim(), "{}", p.key);
    let at = p
        .posted_at
        .unwrap_or_else(|| panic!("{}: no date in {:?}", p.key, p.posted_at_raw));
    assert_eq!(at.offset().local_minus_utc(), 9 * 3600);
    let diff = (at.with_timezone(&Utc) - s.at).num_milliseconds().abs();
    assert!(diff < 1000, "{}: posted_at {at} vs {}", p.key, s.at);
    assert!(p.thread_title.is_some(), "{}", p.key);
    assert!(p.body_html.is_some());
}

#[tokio::test]
async fn fivech_returns_only_new_posts() {
    let mut b = Boards::default().await;
    let first = b.poll(FIVE).await;
    assert!(!first.posts.is_empty(), "initial posts on the first poll");
    assert!(first.posts.iter().any(|p| p.number == Some(1)
        && p.body.contains("のスレです")
        && !p.body.contains("!extend")));
    assert!(
        first
            .posts
            .iter()
            .any(|p| p.thread_title.as_deref() == Some("【食品】さくら食品 part3"))
    );
    let added = b.web.advance(30);
    let want = b.located(FIVE, &added);
    assert!(!want.is_empty());
    let second = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &second, &want);
    let third = b.poll(FIVE).await;
    assert!(third.posts.is_empty());
    assert!(b.cursor(FIVE, "subject").is_some());
}

#[tokio::test]
async fn unchanged_boards_cost_one_304() {
    let mut b = Boards::default().await;
    b.poll(FIVE).await;
    b.poll(SHITA).await;
    for i in [FIVE, SHITA] {
        let out = b.poll(i).await;
        assert_eq!(
            (out.posts.len(), out.requests, out.bytes),
            (0, 1, 0),
            "board {i}: {:?}",
            out.notes
        );
    }
    assert!(b.five.requests().last().is_some_and(|r| r.ends_with("304")));
    assert_eq!(
        b.shita.requests().last().map(String::as_str),
        Some("subject.txt 304")
    );
}

#[tokio::test]
async fn big_thread_is_read_with_range_requests() {
    let mut b = Boards::default().await;
    let long = "さくら食品の新商品を食べてみたけど、味は普通で値段が高いと思った。".repeat(5);
    for _ in 0..300 {
        b.web.post_to("5ch", 0, &long).expect("5ch site");
    }
    b.poll(FIVE).await;
    let key = b.five.thread_key(0).expect("thread 0");
    let dat_len = b.five.dat_len(&key).expect("dat");
    assert!(dat_len > 100_000, "dat is {dat_len} bytes");
    let p = b.web.post_to("5ch", 0, "新着の書き込み >>5").expect("post");
    let want = b.located(FIVE, &[p]);
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    assert_eq!(out.requests, 2, "subject.txt + one ranged dat request");
    assert!(
        out.bytes * 20 < dat_len as u64,
        "second poll fetched {} bytes of a {dat_len}-byte dat",
        out.bytes
    );
    let log = b.five.requests();
    let last = log.last().expect("requests");
    assert!(
        last.starts_with(&format!("/software/dat/{key}.dat bytes=")) && last.ends_with(" 206"),
        "{last}"
    );
    assert_eq!(out.posts[0].body, "新着の書き込み >>5");
    assert!(
        out.posts[0]
            .body_html
            .as_deref()
            .is_some_and(|h| h.contains("&gt;&gt;5</a>"))
    );
}

#[tokio::test]
async fn deleted_post_makes_a_whole_refetch_without_repeats() {
    let mut b = Boards::default().await;
    let early = b
        .web
        .post_to("5ch", 1, "消される予定の書き込み")
        .expect("post");
    let middle = b.web.post_to("5ch", 1, "普通の書き込み").expect("post");
    b.poll(FIVE).await;
    let key = b.five.thread_key(1).expect("thread 1");
    // A post in the middle disappears (あぼーん): the dat shrinks, the next ranged request's
    // first byte is no longer the newline we had, and the whole dat is read again.
    let before = b.five.dat_len(&key).expect("dat");
    assert!(b.web.delete(early.seq));
    assert!(b.five.dat_len(&key).expect("dat") < before);
    let new = b
        .web
        .post_to("5ch", 1, "削除のあとの書き込み")
        .expect("post");
    let want = b.located(FIVE, &[new]);
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    assert!(
        out.notes.iter().any(|n| n.contains("refetched whole")),
        "{:?}",
        out.notes
    );
    assert_eq!(
        out.requests, 3,
        "subject.txt, the ranged dat, the whole dat"
    );
    // The cursor is right again: the next post is a plain 206.
    let next = b
        .web
        .post_to("5ch", 1, &"長い書き込み。".repeat(40))
        .expect("post");
    let want = b.located(FIVE, &[next]);
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    assert_eq!(out.requests, 2);
    // The long last post disappears and a short one follows: the range now starts past the
    // end (416), whole refetch.
    assert!(b.web.delete(want[0].0.seq));
    let after = b.web.post_to("5ch", 1, "短い").expect("post");
    let want = b.located(FIVE, &[after]);
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    let log = b.five.requests();
    assert!(
        log[log.len() - 2].ends_with(" 416") && log[log.len() - 1].ends_with(" - 200"),
        "{log:?}"
    );
    assert!(
        out.notes.iter().any(|n| n.contains("refetched whole")),
        "{:?}",
        out.notes
    );
    let _ = middle;
}

#[tokio::test]
async fn dat_ochi_closes_the_thread_after_reading_kako() {
    let mut b = Boards::default().await;
    b.poll(FIVE).await;
    let last = b
        .web
        .post_to("5ch", 2, "落ちる前の最後の書き込み")
        .expect("post");
    let want = b.located(FIVE, &[last]);
    let key = b.five.dat_ochi(2).expect("thread 2 exists");
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    let cur = b.cursor(FIVE, &key).expect("cursor kept while closing");
    assert_eq!(cur["closed"], serde_json::Value::Bool(true), "{cur}");
    assert!(
        out.notes.iter().any(|n| n.contains("dat落ち")),
        "{:?}",
        out.notes
    );
    let log = b.five.requests();
    assert!(
        log.iter()
            .any(|r| r.starts_with(&format!("/software/dat/{key}.dat")) && r.ends_with(" 302")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|r| r.contains("/kako/") && r.ends_with(" 200")),
        "{log:?}"
    );
    // Closed and no longer listed: the cursor goes, and nothing asks for the dat again.
    b.web.post_to("5ch", 0, "別スレ").expect("post");
    let n = b.five.requests().len();
    b.poll(FIVE).await;
    assert!(b.cursor(FIVE, &key).is_none());
    assert!(b.five.requests()[n..].iter().all(|r| !r.contains(&key)));
}

#[tokio::test]
async fn full_thread_closes_and_the_next_part_is_read() {
    let mut b = Boards::start(
        SimFiveCh::new("software").with_limit(30),
        SimShitaraba::default(),
        Faults::default(),
    )
    .await;
    b.poll(FIVE).await;
    let old = b.five.thread_key(3).expect("thread 3");
    // Fill the thread, then write three posts into the next part (fewer than the ten after
    // which the full thread drops): the full one is still listed, closed by its Over line.
    let mut added: Vec<SimPost> = Vec::new();
    while b.five.thread_key(3).as_deref() == Some(old.as_str()) {
        added.push(
            b.web
                .post_to("5ch", 3, &format!("書き込み{}", added.len()))
                .expect("post"),
        );
    }
    for i in 0..2 {
        added.push(
            b.web
                .post_to("5ch", 3, &format!("次スレ{i}"))
                .expect("post"),
        );
    }
    let new = b.five.thread_key(3).expect("next part");
    let want = b.located(FIVE, &added);
    let out = b.poll(FIVE).await;
    let got: HashSet<&str> = out.posts.iter().map(|p| p.key.as_str()).collect();
    for (sim, thread, n) in &want {
        assert!(
            got.contains(b.key(FIVE, thread, *n).as_str()),
            "missing {thread}/{n}"
        );
        let p = out
            .posts
            .iter()
            .find(|p| p.key == b.key(FIVE, thread, *n))
            .expect("post");
        check_post(p, sim, *n);
    }
    assert!(
        out.posts.iter().any(|p| p.key == b.key(FIVE, &new, 1)),
        "the new part's first post"
    );
    assert!(
        out.posts
            .iter()
            .all(|p| p.author_name.as_deref() != Some("１００１"))
    );
    assert_eq!(
        b.cursor(FIVE, &old).map(|c| c["closed"].clone()),
        Some(serde_json::Value::Bool(true))
    );
    assert_eq!(
        b.cursor(FIVE, &new).map(|c| c["closed"].clone()),
        Some(serde_json::Value::Bool(false))
    );
}

#[tokio::test]
async fn forbidden_dat_falls_back_to_read_cgi() {
    let mut b = Boards::default().await;
    b.five.set_dat_forbidden(true);
    let first = b.poll(FIVE).await;
    assert!(!first.posts.is_empty());
    assert!(
        first.notes.iter().any(|n| n.contains("read.cgi")),
        "{:?}",
        first.notes
    );
    let added = b.web.advance(20);
    let want = b.located(FIVE, &added);
    let out = b.poll(FIVE).await;
    b.expect_exactly(FIVE, &out, &want);
    let log = b.five.requests();
    let reads: Vec<&String> = log
        .iter()
        .filter(|r| r.starts_with("/test/read.cgi/"))
        .collect();
    let ranged = |r: &&String| r.split(' ').next().is_some_and(|path| path.ends_with('-'));
    assert!(
        reads.iter().any(ranged),
        "later reads ask only for new numbers: {reads:?}"
    );
}

#[tokio::test]
async fn garbled_dat_gives_replacement_characters_and_a_note() {
    let faults = Faults::default().with(FaultRule::new("5ch", "/software/dat/", Fault::Garbled, 1));
    let mut b = Boards::start(SimFiveCh::default(), SimShitaraba::default(), faults).await;
    let out = b.poll(FIVE).await;
    assert!(out.posts.iter().any(|p| {
        p.body.contains('\u{FFFD}')
            || p.author_name
                .as_deref()
                .is_some_and(|n| n.contains('\u{FFFD}'))
    }));
    assert!(
        out.notes.iter().any(|n| n.contains("U+FFFD")),
        "{:?}",
        out.notes
    );
    // Later polls still work.
    let added = b.web.advance(10);
    let out = b.poll(FIVE).await;
    assert!(out.posts.len() >= b.located(FIVE, &added).len().min(1));
}

#[tokio::test]
async fn shitaraba_returns_only_new_posts() {
    let mut b = Boards::default().await;
    let first = b.poll(SHITA).await;
    assert!(!first.posts.is_empty());
    assert!(
        first
            .posts
            .iter()
            .any(|p| p.number == Some(1) && p.author_id.as_deref() == Some("ID:admin000"))
    );
    let added = b.web.advance(30);
    let want = b.located(SHITA, &added);
    assert!(!want.is_empty());
    let out = b.poll(SHITA).await;
    b.expect_exactly(SHITA, &out, &want);
    let log = b.shita.requests();
    assert!(
        log.iter()
            .any(|r| r.starts_with("rawmode/") && !r.contains("/1- ")),
        "rawmode asks from last+1: {log:?}"
    );
    assert!(b.poll(SHITA).await.posts.is_empty());
}

#[tokio::test]
async fn shitaraba_gaps_and_archive() {
    let mut b = Boards::default().await;
    let a = b
        .web
        .post_to("shitaraba", 0, "消される書き込み")
        .expect("post");
    b.poll(SHITA).await;
    // The last post is deleted: numbers now have a gap, and the next post keeps its number.
    assert!(b.web.delete(a.seq));
    let next = b.web.post_to("shitaraba", 0, "次の書き込み").expect("post");
    let want = b.located(SHITA, &[next]);
    assert_eq!(want[0].2, b.shita.locate(a.seq).expect("a").1 + 1);
    let out = b.poll(SHITA).await;
    b.expect_exactly(SHITA, &out, &want);
    // Archived: `ERROR: STORAGE IN`, gone from subject.txt; closed, then forgotten.
    let key = b.shita.archive(0).expect("thread 0");
    let out = b.poll(SHITA).await;
    assert!(
        out.notes.iter().any(|n| n.contains("STORAGE IN")),
        "{:?}",
        out.notes
    );
    assert_eq!(
        b.cursor(SHITA, &key).map(|c| c["closed"].clone()),
        Some(serde_json::Value::Bool(true))
    );
    b.web.post_to("shitaraba", 1, "別スレ").expect("post");
    b.poll(SHITA).await;
    assert!(b.cursor(SHITA, &key).is_none());
}

#[tokio::test]
async fn shitaraba_garbled_bytes_are_replaced() {
    let faults = Faults::default().with(FaultRule::new(
        "shitaraba",
        "/bbs/rawmode.cgi/",
        Fault::Garbled,
        1,
    ));
    let mut b = Boards::start(SimFiveCh::default(), SimShitaraba::default(), faults).await;
    let out = b.poll(SHITA).await;
    assert!(
        out.notes.iter().any(|n| n.contains("U+FFFD")),
        "{:?}",
        out.notes
    );
}
