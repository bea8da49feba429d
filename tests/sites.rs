//! Integration tests: the html (review site), rss/atom, suggest, Bluesky and Mastodon sources
//! against their simulated sites on 127.0.0.1 — only new posts come back, with the right
//! fields; paging stops at the last seen item; feeds answer 304 when unchanged; a new risky
//! suggestion is a post once and an empty or failed answer changes nothing; sessions are
//! renewed on 401; no post key ever repeats across polls.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mimamori::config::{self, SourceConfig, Watchlist};
use mimamori::fetch::{FetchConfig, Fetcher};
use mimamori::model::Post;
use mimamori::simweb::bluesky::SimBluesky;
use mimamori::simweb::mastodon::SimMastodon;
use mimamori::simweb::review::SimReview;
use mimamori::simweb::rss::SimRss;
use mimamori::simweb::suggest::{SimSuggest, SuggestMode};
use mimamori::simweb::{Fault, FaultRule, Faults, SimConfig, SimPost, SimSite, SimWeb};
use mimamori::sources::bluesky::BlueskySource;
use mimamori::sources::mastodon::MastodonSource;
use mimamori::sources::web::EnvLookup;
use mimamori::sources::{self, Cursors, PollContext, PollOutput, Source, SourceError};

fn watchlist() -> Watchlist {
    let path = crate::support::root().join("watchlists/example.toml");
    let text = std::fs::read_to_string(&path).expect("read example watchlist");
    config::parse_str(&text, &path).expect("example watchlist parses")
}

async fn start(site: Arc<dyn SimSite>, initial_posts: usize, faults: Faults) -> SimWeb {
    let cfg = SimConfig {
        seed: 11,
        threads: 4,
        initial_posts,
        faults,
    };
    SimWeb::start(cfg, &watchlist(), vec![site])
        .await
        .expect("simulated web starts")
}

/// The one `[[source]]` of a TOML snippet.
fn source_cfg(toml: &str) -> SourceConfig {
    let wl = config::parse_str(toml, Path::new("sites.toml")).expect("source parses");
    wl.sources.into_iter().next().expect("one source")
}

fn env(pairs: &[(&str, &str)]) -> EnvLookup {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(move |name| map.get(name).cloned())
}

/// Whitespace removed (HTML rendering re-flows spaces and lines).
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Polls one source like the watch loop: applies cursor updates, checks no key repeats.
struct Poller {
    fetcher: Fetcher,
    watchlist: Watchlist,
    cursors: Cursors,
    seen: HashSet<String>,
}

impl Poller {
    fn new() -> Poller {
        Poller::with_fetch(FetchConfig {
            min_delay: Duration::ZERO,
            ..FetchConfig::default()
        })
    }

    fn with_fetch(cfg: FetchConfig) -> Poller {
        Poller {
            fetcher: Fetcher::new(cfg).expect("fetcher"),
            watchlist: watchlist(),
            cursors: Cursors::new(),
            seen: HashSet::new(),
        }
    }

    async fn try_poll(&mut self, source: &dyn Source) -> Result<PollOutput, SourceError> {
        let ctx = PollContext {
            fetcher: &self.fetcher,
            targets: &self.watchlist.targets,
            cursors: &self.cursors,
            now: Utc::now(),
        };
        let out = source.poll(&ctx).await?;
        for u in &out.cursor_updates {
            match &u.value {
                Some(v) => self.cursors.insert(u.key.clone(), v.clone()),
                None => self.cursors.remove(&u.key),
            };
        }
        for p in &out.posts {
            assert!(
                self.seen.insert(p.key.clone()),
                "post {} returned twice",
                p.key
            );
            assert_eq!(p.source_kind, source.kind());
            assert_eq!(p.source_id, source.id());
        }
        let captured: usize = out.captures.iter().map(|c| c.post_keys.len()).sum();
        assert_eq!(
            captured,
            out.posts.len(),
            "every post is in exactly one capture"
        );
        Ok(out)
    }

    async fn poll(&mut self, source: &dyn Source) -> PollOutput {
        match self.try_poll(source).await {
            Ok(out) => out,
            Err(e) => panic!("poll of {} failed: {e}", source.id()),
        }
    }
}

fn keys(out: &PollOutput) -> Vec<&str> {
    let mut k: Vec<&str> = out.posts.iter().map(|p| p.key.as_str()).collect();
    k.sort_unstable();
    k
}

fn post_with<'a>(out: &'a PollOutput, key: &str) -> &'a Post {
    out.posts
        .iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("{key} missing from {:?}", keys(out)))
}

fn assert_jst_near(p: &Post, s: &SimPost, tolerance_ms: i64) {
    let at = p
        .posted_at
        .unwrap_or_else(|| panic!("{}: no date in {:?}", p.key, p.posted_at_raw));
    assert_eq!(at.offset().local_minus_utc(), 9 * 3600, "{}", p.key);
    let diff = (at.with_timezone(&Utc) - s.at).num_milliseconds().abs();
    assert!(
        diff <= tolerance_ms,
        "{}: posted_at {at} vs {}",
        p.key,
        s.at
    );
}

// ---------------------------------------------------------------- html: the review site

fn review_source(web: &SimWeb, extra: &str) -> Box<dyn Source> {
    let url = &web.sites[0].url;
    sources::build(&source_cfg(&format!("[[source]]\nkind = \"html\"\nurl = \"{url}\"\nevery = \"5m\"\npreset = \"tabelog\"\n{extra}")))
        .expect("html source builds")
}

fn list_pages(site: &SimReview) -> Vec<String> {
    site.requests()
        .into_iter()
        .filter(|r| r.starts_with("/rvwlst/"))
        .collect()
}

#[tokio::test]
async fn review_site_new_reviews_and_paging_stops_at_last_seen() {
    let site = Arc::new(SimReview::new(5));
    let web = start(site.clone(), 12, Faults::default()).await;
    let source = review_source(&web, "max_pages = 10");
    let host = web.sites[0].addr.to_string();
    let mut p = Poller::new();

    let first = p.poll(source.as_ref()).await;
    assert_eq!(first.posts.len(), 12, "notes: {:?}", first.notes);
    assert_eq!(
        list_pages(&site),
        ["/rvwlst/ 200", "/rvwlst/?page=2 200", "/rvwlst/?page=3 200"]
    );

    let added: Vec<SimPost> = [
        "さくら食品の弁当に髪の毛が入ってた",
        "小林クリニックの受付が感じ悪い",
        "普通においしかった",
    ]
    .iter()
    .enumerate()
    .filter_map(|(i, t)| web.post_to("review", i, t))
    .collect();
    let second = p.poll(source.as_ref()).await;
    let want: Vec<String> = added
        .iter()
        .map(|s| format!("html:{host}/{}", SimReview::review_id(s.seq)))
        .collect();
    let mut want_sorted: Vec<&str> = want.iter().map(String::as_str).collect();
    want_sorted.sort_unstable();
    assert_eq!(keys(&second), want_sorted);
    assert_eq!(
        list_pages(&site).len(),
        4,
        "page 1 held seen reviews: no page 2"
    );
    for s in &added {
        let post = post_with(
            &second,
            &format!("html:{host}/{}", SimReview::review_id(s.seq)),
        );
        assert_eq!(post.author_name.as_deref(), Some(s.author.as_str()));
        assert!(
            squash(&post.body).ends_with(&squash(&s.text)),
            "{:?}",
            post.body
        );
        assert!(
            post.body.lines().count() >= 2,
            "the review title comes first: {:?}",
            post.body
        );
        assert!(
            post.thread_title
                .as_deref()
                .is_some_and(|t| !t.is_empty() && t != "新着口コミ"),
            "the shop: {:?}",
            post.thread_title
        );
        assert_eq!(
            post.url,
            format!(
                "http://{host}/shop/{}/dtlrvwlst/{}/",
                s.thread % 5,
                SimReview::review_id(s.seq)
            )
        );
        assert_eq!(post.source_url, format!("http://{host}/rvwlst/"));
        assert!(
            post.posted_at_raw
                .as_deref()
                .is_some_and(|d| d.ends_with("投稿"))
        );
        assert_jst_near(post, s, 60_000);
        assert!(post.body_html.as_deref().is_some_and(|h| h.contains("<p>")));
    }

    // Seven more: five fill page 1, two push onto page 2 before the seen ones; page 3 is
    // not read.
    let more = web.advance(7);
    let third = p.poll(source.as_ref()).await;
    assert_eq!(third.posts.len(), more.len());
    assert_eq!(
        &list_pages(&site)[4..],
        ["/rvwlst/ 200", "/rvwlst/?page=2 200"]
    );

    let quiet = p.poll(source.as_ref()).await;
    assert!(
        quiet.posts.is_empty() && quiet.cursor_updates.is_empty(),
        "{:?}",
        quiet.cursor_updates
    );
    assert_eq!(quiet.requests, 1);

    // A deleted review (the newest seen one) does not make the source re-read old pages.
    assert!(web.delete(more.last().map_or(0, |s| s.seq)));
    let after_delete = p.poll(source.as_ref()).await;
    assert!(after_delete.posts.is_empty());
    assert_eq!(after_delete.requests, 1);
}

#[tokio::test]
async fn review_site_first_poll_is_bounded_by_max_pages() {
    let site = Arc::new(SimReview::new(5));
    let web = start(site.clone(), 23, Faults::default()).await;
    let source = review_source(&web, "max_pages = 2");
    let mut p = Poller::new();
    let first = p.poll(source.as_ref()).await;
    assert_eq!(first.posts.len(), 10);
    assert_eq!(list_pages(&site), ["/rvwlst/ 200", "/rvwlst/?page=2 200"]);
    // Newest first: the ten newest arrivals.
    let ids: HashSet<String> = first
        .posts
        .iter()
        .map(|p| p.key.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    assert!(
        (14..=23).all(|seq| ids.contains(&SimReview::review_id(seq))),
        "{ids:?}"
    );
}

// ---------------------------------------------------------------- rss / atom / rdf

fn rss_source(web: &SimWeb, path: &str) -> Box<dyn Source> {
    let url = format!("http://{}{path}", web.sites[0].addr);
    sources::build(&source_cfg(&format!(
        "[[source]]\nkind = \"rss\"\nurl = \"{url}\"\nevery = \"10m\"\n"
    )))
    .expect("rss source builds")
}

#[tokio::test]
async fn feeds_return_new_entries_and_304_when_unchanged() {
    let site = Arc::new(SimRss::new(20));
    let web = start(site.clone(), 3, Faults::default()).await;
    let host = web.sites[0].addr.to_string();
    for (i, path) in ["/feed/", "/feed/atom/", "/index.rdf"]
        .into_iter()
        .enumerate()
    {
        let source = rss_source(&web, path);
        let mut p = Poller::new();
        let first = p.poll(source.as_ref()).await;
        assert_eq!(first.posts.len(), 3 + i, "{path}: {:?}", first.notes);

        let unchanged = p.poll(source.as_ref()).await;
        assert!(
            unchanged.posts.is_empty() && unchanged.cursor_updates.is_empty(),
            "{path}"
        );
        assert_eq!(
            site.requests().last().map(String::as_str),
            Some(format!("{path} 304").as_str())
        );
        assert!(
            unchanged.bytes < 100,
            "{path}: a 304 has no body ({} bytes)",
            unchanged.bytes
        );

        let s = web
            .post_to("rss", 1, "さくら食品の新工場、産地偽装の噂\n本当なら大問題")
            .expect("posted");
        let second = p.poll(source.as_ref()).await;
        assert_eq!(second.posts.len(), 1, "{path}");
        let post = &second.posts[0];
        let link = format!("http://{host}/archives/{}.html", s.seq);
        let want_key = match path {
            "/index.rdf" => format!("rss:{host}/{link}"),
            _ => format!("rss:{host}/http://{host}/?p={}", s.seq),
        };
        assert_eq!(post.key, want_key);
        assert_eq!(post.url, link);
        assert_eq!(
            post.body, "さくら食品の新工場、産地偽装の噂\n本当なら大問題",
            "{path}"
        );
        assert_eq!(
            post.thread_title.as_deref(),
            Some("さくら食品の新工場、産地偽装の噂")
        );
        assert_eq!(post.author_name.as_deref(), Some(s.author.as_str()));
        assert_jst_near(post, &s, 1000);

        assert!(p.poll(source.as_ref()).await.posts.is_empty(), "{path}");
    }
    // Removing an entry changes the feed (200) but brings nothing new back.
    let source = rss_source(&web, "/feed/");
    let mut p = Poller::new();
    let all = p.poll(source.as_ref()).await.posts.len();
    assert!(web.delete(1));
    let after = p.poll(source.as_ref()).await;
    assert!(after.posts.is_empty());
    assert_eq!(
        site.requests().last().map(String::as_str),
        Some("/feed/ 200")
    );
    assert_eq!(all, 6);
}

// ---------------------------------------------------------------- suggest

fn suggest_source(web: &SimWeb, engine: &str, path: &str, extra: &str) -> Box<dyn Source> {
    let url = format!("http://{}{path}", web.sites[0].addr);
    sources::build(&source_cfg(&format!(
        "[[source]]\nkind = \"suggest\"\nengine = \"{engine}\"\nurl = \"{url}\"\nevery = \"1h\"\nsuffixes = [\"詐欺\", \"評判\"]\n{extra}"
    )))
    .expect("suggest source builds")
}

#[tokio::test]
async fn new_risky_suggestion_is_a_post_once_and_unknown_changes_nothing() {
    let wl = watchlist();
    let site = Arc::new(SimSuggest::new(&wl));
    // The fourth request to the endpoint fails with 503 (the retry is off for this test).
    let faults = Faults::default().with(FaultRule::new(
        "suggest",
        "/complete/search",
        Fault::Unavailable,
        1,
    ));
    let web = start(site.clone(), 0, faults).await;
    let source = suggest_source(&web, "google", "/complete/search", "max_queries = 100");
    let mut p = Poller::with_fetch(FetchConfig {
        min_delay: Duration::ZERO,
        retries: 0,
        ..FetchConfig::default()
    });

    // First poll: the 503 makes the first query unknown; the others answer.
    let first = p.poll(source.as_ref()).await;
    assert!(
        first
            .notes
            .iter()
            .any(|n| n.contains("\"さくら食品\": unknown")),
        "{:?}",
        first.notes
    );
    assert!(!p.cursors.contains_key("google:さくら食品"));
    assert!(
        first
            .posts
            .iter()
            .all(|p| p.thread_title.as_deref() != Some("さくら食品"))
    );
    assert!(
        first.posts.iter().any(|p| p.body == "小林クリニック 評判"
            && p.thread_title.as_deref() == Some("小林クリニック"))
    );
    let second = p.poll(source.as_ref()).await;
    assert!(second.notes.is_empty(), "{:?}", second.notes);
    assert!(
        second
            .posts
            .iter()
            .all(|p| p.thread_title.as_deref() == Some("さくら食品")),
        "{:?}",
        keys(&second)
    );
    assert!(p.poll(source.as_ref()).await.posts.is_empty());

    site.add_suggestion("さくら食品 詐欺");
    let third = p.poll(source.as_ref()).await;
    assert_eq!(keys(&third), ["suggest:google/さくら食品/さくら食品 詐欺"]);
    let post = &third.posts[0];
    assert_eq!(post.body, "さくら食品 詐欺");
    assert_eq!(post.thread_title.as_deref(), Some("さくら食品"));
    assert!(post.url.contains("client=firefox"));
    let analysis = mimamori::analyze::Analyzer::new(&wl)
        .expect("analyzer")
        .analyze(&post.to_input());
    assert!(
        analysis.flagged,
        "the analyzer flags the new suggestion: {analysis:?}"
    );
    let day = p.cursors.get("google:さくら食品").cloned().expect("cursor");
    assert!(
        day["suggestions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == "さくら食品 詐欺"))
    );
    assert!(day["date"].as_str().is_some_and(|d| d.len() == 10));
    assert!(
        p.poll(source.as_ref()).await.posts.is_empty(),
        "reported once"
    );

    // Empty and blocked answers are unknown: no posts, no cursor change.
    site.add_suggestion("さくら食品 倒産");
    for mode in [SuggestMode::Empty, SuggestMode::Blocked] {
        site.set_mode(mode);
        let before = p.cursors.clone();
        let out = p.poll(source.as_ref()).await;
        assert!(
            out.posts.is_empty() && out.cursor_updates.is_empty(),
            "{mode:?}"
        );
        assert!(
            out.notes.iter().all(|n| n.contains("unknown")) && !out.notes.is_empty(),
            "{:?}",
            out.notes
        );
        assert_eq!(p.cursors, before);
    }
    site.set_mode(SuggestMode::Normal);
    let back = p.poll(source.as_ref()).await;
    assert_eq!(keys(&back), ["suggest:google/さくら食品/さくら食品 倒産"]);
}

#[tokio::test]
async fn suggest_rotation_caps_queries_per_poll() {
    let wl = watchlist();
    let site = Arc::new(SimSuggest::new(&wl));
    let web = start(site.clone(), 0, Faults::default()).await;
    let source = suggest_source(&web, "google", "/complete/search", "max_queries = 5");
    let mut p = Poller::new();
    // 4 names × (name + 2 suffixes) = 12 queries: 5 + 5 + 2(+3 again).
    let mut asked: Vec<String> = Vec::new();
    for _ in 0..3 {
        let before = site.requests().len();
        let out = p.poll(source.as_ref()).await;
        assert_eq!(out.requests, 5);
        asked.extend(
            site.requests()[before..]
                .iter()
                .filter(|r| r.starts_with("/complete/search"))
                .cloned(),
        );
    }
    assert_eq!(asked.len(), 15);
    let distinct: HashSet<&String> = asked.iter().collect();
    assert_eq!(distinct.len(), 12, "every query asked within three polls");
}

#[tokio::test]
async fn every_suggest_format_end_to_end() {
    let wl = watchlist();
    let site = Arc::new(SimSuggest::new(&wl));
    let web = start(site.clone(), 0, Faults::default()).await;
    site.add_suggestion("田中美咲 不倫");
    for (engine, path) in [
        ("google", "/complete/search"),
        ("bing", "/osjson.aspx"),
        ("duckduckgo", "/ac/"),
        ("brave", "/api/suggest"),
    ] {
        let source = suggest_source(&web, engine, path, "max_queries = 100");
        let mut p = Poller::new();
        let out = p.poll(source.as_ref()).await;
        assert!(out.notes.is_empty(), "{engine}: {:?}", out.notes);
        let key = format!("suggest:{engine}/田中美咲/田中美咲 不倫");
        assert_eq!(post_with(&out, &key).body, "田中美咲 不倫");
    }
}

// ---------------------------------------------------------------- bluesky

const BSKY_TOML: &str = "identifier_env = \"SITES_TEST_BSKY_ID\"\npassword_env = \"SITES_TEST_BSKY_PW\"\nlimit = 10\nmax_pages = 5";

fn bluesky_cfg(web: &SimWeb, extra: &str) -> SourceConfig {
    source_cfg(&format!(
        "[[source]]\nkind = \"bluesky\"\nurl = \"{}\"\nevery = \"2m\"\n{extra}\n",
        web.sites[0].url
    ))
}

#[tokio::test]
async fn bluesky_search_since_and_session_renewal() {
    let site = Arc::new(SimBluesky::new("watcher.bsky.social", "app-pass-1234"));
    let web = start(site.clone(), 0, Faults::default()).await;
    let good = env(&[
        ("SITES_TEST_BSKY_ID", "watcher.bsky.social"),
        ("SITES_TEST_BSKY_PW", "app-pass-1234"),
    ]);
    let source = BlueskySource::with_env(&bluesky_cfg(&web, BSKY_TOML), good)
        .expect("bluesky source builds");
    let mut p = Poller::new();

    let s1 = web
        .post_to("bluesky", 0, "さくら食品の工場で食中毒が出たらしい")
        .expect("posted");
    web.post_to("bluesky", 0, "今日はいい天気");
    let first = p.poll(&source).await;
    assert_eq!(first.posts.len(), 1, "{:?}", first.notes);
    let post = &first.posts[0];
    let uri = site.uri_of(s1.seq).expect("uri");
    assert_eq!(post.key, format!("bluesky:{uri}"));
    let handle = format!("{}.bsky.social", s1.author_id.to_lowercase());
    assert_eq!(
        post.url,
        format!(
            "https://bsky.app/profile/{handle}/post/{}",
            uri.rsplit('/').next().unwrap_or("")
        )
    );
    assert_eq!(
        post.author_id.as_deref(),
        Some(format!("@{handle}").as_str())
    );
    assert_eq!(post.author_name.as_deref(), Some(s1.author.as_str()));
    assert_eq!(post.body, s1.text);
    assert_jst_near(post, &s1, 1);
    assert_eq!(site.sessions_created(), 1);

    let again = p.poll(&source).await;
    assert!(again.posts.is_empty());
    assert!(
        site.requests().iter().any(|r| r.contains("since=")),
        "since is sent once something was seen"
    );

    // Many new posts: pages of 10 with the cursor, nothing twice.
    let many: Vec<SimPost> = (0..23)
        .filter_map(|i| web.post_to("bluesky", 0, &format!("さくら食品 その{i}")))
        .collect();
    let burst = p.poll(&source).await;
    assert_eq!(burst.posts.len(), many.len());

    // Expired access token: refreshed, not recreated.
    site.expire_access();
    web.post_to("bluesky", 0, "小林クリニックの院長、態度が最悪");
    let refreshed = p.poll(&source).await;
    assert_eq!(refreshed.posts.len(), 1);
    assert_eq!((site.sessions_created(), site.sessions_refreshed()), (1, 1));

    // Everything revoked: a new session is created.
    site.revoke_all();
    web.post_to("bluesky", 0, "田中美咲って人の話");
    let recreated = p.poll(&source).await;
    assert_eq!(recreated.posts.len(), 1);
    assert_eq!(site.sessions_created(), 2);
    assert!(p.poll(&source).await.posts.is_empty());
}

#[tokio::test]
async fn bluesky_credentials_errors_name_the_variable() {
    let site = Arc::new(SimBluesky::new("watcher.bsky.social", "app-pass-1234"));
    let web = start(site.clone(), 0, Faults::default()).await;
    // Built from the config through the registry: the process environment lacks the variable.
    let unset = "MIMAMORI_SITES_TEST_UNSET_BSKY_ID_8F3A";
    let source = sources::build(&bluesky_cfg(
        &web,
        &format!("identifier_env = \"{unset}\"\npassword_env = \"{unset}_PW\""),
    ))
    .expect("builds");
    let mut p = Poller::new();
    match p.try_poll(source.as_ref()).await {
        Err(SourceError::Credentials(m)) => assert!(m.contains(unset), "{m}"),
        other => panic!(
            "expected a credentials error, got {:?}",
            other.map(|o| o.posts.len())
        ),
    }
    // A wrong app password is a credentials error too, and no search is made.
    let wrong = env(&[
        ("SITES_TEST_BSKY_ID", "watcher.bsky.social"),
        ("SITES_TEST_BSKY_PW", "nope"),
    ]);
    let source = BlueskySource::with_env(&bluesky_cfg(&web, BSKY_TOML), wrong).expect("builds");
    match p.try_poll(&source).await {
        Err(SourceError::Credentials(m)) => assert!(
            m.contains("SITES_TEST_BSKY_PW") && !m.contains("nope"),
            "{m}"
        ),
        other => panic!(
            "expected a credentials error, got {:?}",
            other.map(|o| o.posts.len())
        ),
    }
    assert!(site.requests().iter().all(|r| !r.contains("searchPosts")));
}

// ---------------------------------------------------------------- mastodon

/// A simulated Mastodon instance (no token) and a `mastodon` source on it.
async fn mastodon() -> (Arc<SimMastodon>, SimWeb, Box<dyn Source>) {
    let site = Arc::new(SimMastodon::new(&watchlist()));
    let web = start(site.clone(), 0, Faults::default()).await;
    let cfg = source_cfg(&format!(
        "[[source]]\nkind = \"mastodon\"\nurl = \"{}\"\nevery = \"2m\"\n",
        web.sites[0].url
    ));
    let source = sources::build(&cfg).expect("mastodon source builds");
    (site, web, source)
}

#[tokio::test]
async fn mastodon_tag_timeline_with_min_id() {
    let (site, web, source) = mastodon().await;
    let host = web.sites[0].addr.to_string();
    let mut p = Poller::new();

    let s1 = web
        .post_to(
            "mastodon",
            0,
            "田中美咲の住所晒しとく\n東京都世田谷区三軒茶屋2-11-5",
        )
        .expect("posted");
    web.post_to("mastodon", 0, "関係ない話 #猫");
    let first = p.poll(source.as_ref()).await;
    assert_eq!(first.posts.len(), 1, "{:?}", first.notes);
    let post = &first.posts[0];
    let id = site.status_id(s1.seq).expect("id");
    assert_eq!(post.key, format!("mastodon:{host}/{id}"));
    assert_eq!(post.thread_title.as_deref(), Some("#田中美咲"));
    assert_eq!(
        post.author_id.as_deref(),
        Some(format!("@{}", s1.author_id.to_lowercase()).as_str())
    );
    assert_eq!(
        post.url,
        format!("http://{host}/@{}/{id}", s1.author_id.to_lowercase())
    );
    assert_eq!(
        post.body,
        "田中美咲の住所晒しとく\n東京都世田谷区三軒茶屋2-11-5 #田中美咲"
    );
    assert_jst_near(post, &s1, 1);

    assert!(p.poll(source.as_ref()).await.posts.is_empty());
    assert!(
        site.requests()
            .iter()
            .any(|r| r.contains(&format!("min_id={id}")))
    );

    // 45 new statuses under one tag: 40 after min_id, then the next 5; each once.
    let many: Vec<SimPost> = (0..45)
        .filter_map(|i| web.post_to("mastodon", 0, &format!("さくら食品 #{i}")))
        .collect();
    let burst = p.poll(source.as_ref()).await;
    assert_eq!(burst.posts.len(), many.len(), "{:?}", burst.notes);
    assert!(p.poll(source.as_ref()).await.posts.is_empty());
}

#[tokio::test]
async fn mastodon_token_from_the_named_variable() {
    let wl = watchlist();
    let site = Arc::new(SimMastodon::new(&wl).require_token("tok-123"));
    let web = start(site.clone(), 0, Faults::default()).await;
    web.post_to("mastodon", 0, "小林クリニック、予約が取れない");
    let toml = format!(
        "[[source]]\nkind = \"mastodon\"\nurl = \"{}\"\ntags = [\"#小林クリニック\"]\ntoken_env = \"SITES_TEST_MSTDN\"\n",
        web.sites[0].url
    );
    let mut p = Poller::new();
    let without = MastodonSource::with_env(&source_cfg(&toml), env(&[])).expect("builds");
    match p.try_poll(&without).await {
        Err(SourceError::Credentials(m)) => assert!(m.contains("SITES_TEST_MSTDN"), "{m}"),
        other => panic!(
            "expected a credentials error, got {:?}",
            other.map(|o| o.posts.len())
        ),
    }
    let with =
        MastodonSource::with_env(&source_cfg(&toml), env(&[("SITES_TEST_MSTDN", "tok-123")]))
            .expect("builds");
    assert_eq!(p.poll(&with).await.posts.len(), 1);
    let wrong =
        MastodonSource::with_env(&source_cfg(&toml), env(&[("SITES_TEST_MSTDN", "tok-999")]))
            .expect("builds");
    assert!(matches!(
        p.try_poll(&wrong).await,
        Err(SourceError::Credentials(_))
    ));
}

// ---------------------------------------------------------------- re-checks of SNS posts

#[tokio::test]
async fn mastodon_and_bluesky_rechecks_ask_for_the_post_and_see_it_deleted() {
    use mimamori::recheck::Liveness;
    // Mastodon: /api/v1/statuses/<id>, 404 once deleted.
    let (site, web, source) = mastodon().await;
    let mut p = Poller::new();
    let s1 = web
        .post_to("mastodon", 0, "さくら食品は産地偽装してる詐欺企業")
        .expect("posted");
    let posts = p.poll(source.as_ref()).await.posts;
    assert_eq!(posts.len(), 1);
    let up = source
        .recheck(&p.fetcher, &posts[0])
        .await
        .expect("recheck");
    assert_eq!(up.state, Liveness::Up, "{}", up.detail);
    assert!(web.delete(s1.seq));
    let gone = source
        .recheck(&p.fetcher, &posts[0])
        .await
        .expect("recheck");
    assert_eq!(gone.state, Liveness::Deleted, "{}", gone.detail);
    assert!(gone.detail.contains("404"), "{}", gone.detail);
    let id = site.status_id(s1.seq);
    assert!(
        site.requests()
            .iter()
            .any(|r| r.contains("/api/v1/statuses/")),
        "{id:?}: {:?}",
        site.requests()
    );

    // Bluesky: getPosts with the at:// URI, a deleted post is missing from the answer.
    let bsky = Arc::new(SimBluesky::new("watcher.bsky.social", "app-pass-1234"));
    let web = start(bsky.clone(), 0, Faults::default()).await;
    let good = env(&[
        ("SITES_TEST_BSKY_ID", "watcher.bsky.social"),
        ("SITES_TEST_BSKY_PW", "app-pass-1234"),
    ]);
    let source = BlueskySource::with_env(&bluesky_cfg(&web, BSKY_TOML), good)
        .expect("bluesky source builds");
    let mut p = Poller::new();
    let s2 = web
        .post_to("bluesky", 0, "小林クリニック燃やしてやる。覚えとけ")
        .expect("posted");
    let posts = p.poll(&source).await.posts;
    assert_eq!(posts.len(), 1);
    let up = source
        .recheck(&p.fetcher, &posts[0])
        .await
        .expect("recheck");
    assert_eq!(up.state, Liveness::Up, "{}", up.detail);
    // An expired session is renewed on the re-check too.
    bsky.expire_access();
    assert!(web.delete(s2.seq));
    let gone = source
        .recheck(&p.fetcher, &posts[0])
        .await
        .expect("recheck");
    assert_eq!(gone.state, Liveness::Deleted, "{}", gone.detail);
    assert!(
        bsky.requests()
            .iter()
            .any(|r| r.contains("app.bsky.feed.getPosts")),
        "{:?}",
        bsky.requests()
    );
}
