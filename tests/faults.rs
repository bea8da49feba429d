//! Integration tests: every fault mode of the simulated web (issue 3 §4) against the real
//! sources — 5ch (on `subject.txt` and on the dat), the RSS feed and the review site — through
//! the real [`Fetcher`] with small timeouts and backoffs.
//!
//! Each case polls once while the site is healthy, lets new posts arrive, injects the fault on
//! the next request to one path, and checks that
//! - the poll fails with a clear error naming the URL (or, when one 5ch dat or one page fails,
//!   succeeds with a note naming it), or absorbs the fault by retrying when it should;
//! - no cursor moves on a failure, so once the fault has fired its `times` the next poll returns
//!   exactly the posts that arrived meanwhile: nothing lost, no post key twice;
//! - what reached the site is what should have: the sites' request logs and the rules'
//!   `fired()` counters, never the clock.
//!
//! A rule fires on the first requests that match it, so each case puts a pass-through rule
//! before the fault ([`first_through`]): the first `n` requests to the path get the real
//! response, and the fault hits the poll after them.
//!
//! Also here: the 5ch dat that shrinks when a post is deleted, and two regression tests for
//! bugs found this way (a garbled subject.txt hiding posts behind a 304; a transient redirect
//! on a listed thread's dat closing it for good).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use mimamori::config::{self, Watchlist};
use mimamori::fetch::{FetchConfig, Fetcher};
use mimamori::simweb::fivech::SimFiveCh;
use mimamori::simweb::review::SimReview;
use mimamori::simweb::rss::SimRss;
use mimamori::simweb::{Fault, FaultRule, Faults, SimConfig, SimPost, SimSite, SimWeb};
use mimamori::sources::{self, Cursors, PollContext, PollOutput, Source, SourceError};

/// Whole-response timeout of the fetcher.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Body cap of the fetcher.
const MAX_BODY: usize = 256 * 1024;
/// Redirects the fetcher follows.
const MAX_REDIRECTS: usize = 3;
/// Retries after a 429/5xx/timeout: a retryable fault must fire `RETRIES + 1` times to fail
/// a fetch.
const RETRIES: u32 = 1;
/// Fires of a retryable fault that make one fetch fail.
const FAIL_ONCE: u32 = RETRIES + 1;

/// Far more than any case needs: past it, a case hangs.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Posts arriving before the first poll and between polls.
const FIRST: usize = 4;
const SECOND: usize = 3;

/// The robots.txt of the "robots.txt disallow" fault.
const DISALLOW_ALL: &str = "User-agent: *\nDisallow: /";

/// The 5ch entry point and dats (board `software`).
const SUBJECT: &str = "/software/subject.txt";
const DAT: &str = "/software/dat/";
/// The RSS 2.0 feed and the review list (each source's first request).
const FEED: &str = "/feed/";
const REVIEWS: &str = "/rvwlst/";

fn fetch_config() -> FetchConfig {
    FetchConfig {
        min_delay: Duration::ZERO,
        connect_timeout: Duration::from_secs(2),
        timeout: TIMEOUT,
        max_body: MAX_BODY,
        max_redirects: MAX_REDIRECTS,
        retries: RETRIES,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_secs(2),
        // High enough that no case here opens it: the breaker is not what these tests check.
        breaker_threshold: 100,
        breaker_cooldown: Duration::from_secs(1),
        ..FetchConfig::default()
    }
}

fn watchlist() -> Watchlist {
    let path = crate::support::root().join("watchlists/example.toml");
    let text = std::fs::read_to_string(&path).expect("read example watchlist");
    config::parse_str(&text, &path).expect("example watchlist parses")
}

/// A rule that lets the first `n` requests to `path` through with the real response (a
/// `SlowBody` fast enough to send it in one piece), so a fault listed after it hits only the
/// requests after those.
fn first_through(site: &str, path: &str, n: u32) -> FaultRule {
    FaultRule::new(
        site,
        path,
        Fault::SlowBody {
            bytes_per_sec: usize::MAX,
        },
        n,
    )
}

/// Which source and simulated site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FiveCh,
    Rss,
    Review,
}

impl Kind {
    fn site_name(self) -> &'static str {
        match self {
            Kind::FiveCh => "5ch",
            Kind::Rss => "rss",
            Kind::Review => "review",
        }
    }
}

enum Site {
    FiveCh(Arc<SimFiveCh>),
    Rss(Arc<SimRss>),
    Review(Arc<SimReview>),
}

/// One source polling one simulated site, like the watch loop: cursor updates are applied
/// after each successful poll and no post key may come back twice.
struct Rig {
    kind: Kind,
    web: SimWeb,
    site: Site,
    watchlist: Watchlist,
    fetcher: Fetcher,
    source: Box<dyn Source>,
    cursors: Cursors,
    seen: HashSet<String>,
}

impl Rig {
    async fn start(kind: Kind, faults: Faults) -> Rig {
        let watchlist = watchlist();
        let (site, dyn_site): (Site, Arc<dyn SimSite>) = match kind {
            Kind::FiveCh => {
                let s = Arc::new(SimFiveCh::new("software"));
                (Site::FiveCh(s.clone()), s)
            }
            Kind::Rss => {
                let s = Arc::new(SimRss::new(20));
                (Site::Rss(s.clone()), s)
            }
            Kind::Review => {
                let s = Arc::new(SimReview::new(20));
                (Site::Review(s.clone()), s)
            }
        };
        // One thread: the 5ch source then makes exactly one dat request per poll.
        let cfg = SimConfig {
            seed: 23,
            threads: 1,
            initial_posts: 0,
            faults,
        };
        let web = SimWeb::start(cfg, &watchlist, vec![dyn_site])
            .await
            .expect("simulated web starts");
        let url = &web.sites[0].url;
        let toml = match kind {
            Kind::FiveCh => {
                format!("[[source]]\nkind = \"5ch\"\nurl = \"{url}\"\nevery = \"1m\"\n")
            }
            Kind::Rss => format!("[[source]]\nkind = \"rss\"\nurl = \"{url}\"\nevery = \"1m\"\n"),
            Kind::Review => format!(
                "[[source]]\nkind = \"html\"\nurl = \"{url}\"\nevery = \"1m\"\npreset = \"tabelog\"\n"
            ),
        };
        let wl = config::parse_str(&toml, Path::new("faults.toml")).expect("source parses");
        let source_cfg = wl.sources.first().expect("one source");
        let source = sources::build(source_cfg).expect("source builds");
        Rig {
            kind,
            web,
            site,
            watchlist,
            fetcher: Fetcher::new(fetch_config()).expect("fetcher"),
            source,
            cursors: Cursors::new(),
            seen: HashSet::new(),
        }
    }

    /// A new fetcher, as after a restart: robots.txt is read again (cursors are kept).
    fn restart_fetcher(&mut self) {
        self.fetcher = Fetcher::new(fetch_config()).expect("fetcher");
    }

    /// `http://127.0.0.1:<port><path>`.
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.web.sites[0].addr)
    }

    /// What the site's handlers served so far (faults that answer in place of the site never
    /// reach them).
    fn log(&self) -> Vec<String> {
        match &self.site {
            Site::FiveCh(s) => s.requests(),
            Site::Rss(s) => s.requests(),
            Site::Review(s) => s.requests(),
        }
    }

    /// Log entries from `from` on whose path starts with `path`.
    fn served(&self, from: usize, path: &str) -> Vec<String> {
        self.log()
            .into_iter()
            .skip(from)
            .filter(|e| e.starts_with(path))
            .collect()
    }

    async fn try_poll(&mut self) -> Result<PollOutput, SourceError> {
        let ctx = PollContext {
            fetcher: &self.fetcher,
            targets: &self.watchlist.targets,
            cursors: &self.cursors,
            now: Utc::now(),
        };
        let out = self.source.poll(&ctx).await?;
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
        }
        let captured: usize = out.captures.iter().map(|c| c.post_keys.len()).sum();
        assert_eq!(
            captured,
            out.posts.len(),
            "every post is in exactly one capture"
        );
        Ok(out)
    }

    async fn poll(&mut self) -> PollOutput {
        match self.try_poll().await {
            Ok(out) => out,
            Err(e) => panic!("{:?}: poll failed: {e}", self.kind),
        }
    }

    /// Whether `key` is the post of arrival `p`.
    fn is_post_of(&self, key: &str, p: &SimPost) -> bool {
        match &self.site {
            Site::FiveCh(s) => s.locate(p.seq).is_some_and(|(thread, n)| {
                key == format!("5ch:{}/software/{thread}/{n}", self.web.sites[0].addr)
            }),
            Site::Rss(_) => key.ends_with(&format!("/?p={}", p.seq)),
            Site::Review(_) => key.ends_with(&format!("/{}", SimReview::review_id(p.seq))),
        }
    }

    /// Asserts `out` holds exactly the posts of `arrivals` (on 5ch also the opening post of a
    /// thread they started), `what` saying which case this is.
    fn assert_returns(&self, out: &PollOutput, arrivals: &[SimPost], what: &str) {
        let keys: Vec<&str> = out.posts.iter().map(|p| p.key.as_str()).collect();
        for a in arrivals {
            assert!(
                keys.iter().any(|k| self.is_post_of(k, a)),
                "{what}: arrival {} missing from {keys:?}; notes {:?}",
                a.seq,
                out.notes
            );
        }
        for k in &keys {
            let opener = self.kind == Kind::FiveCh && k.ends_with("/1");
            assert!(
                opener || arrivals.iter().any(|a| self.is_post_of(k, a)),
                "{what}: {k} returned but did not arrive now"
            );
        }
    }
}

/// What the poll that meets the fault comes to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The poll fails as a whole; the error names the URL and holds these words.
    Fails(&'static [&'static str]),
    /// The poll succeeds with no post (5ch: the one thread's dat failed; html: a page it
    /// could not read); a note names the URL and holds these words.
    Noted(&'static [&'static str]),
    /// The fault is absorbed inside the poll after this many retries.
    Absorbed { retries: u64 },
}

/// One fault on one path of one site.
#[derive(Debug, Clone)]
struct Case {
    kind: Kind,
    path: &'static str,
    fault: Fault,
    times: u32,
    expect: Expect,
}

impl Case {
    fn new(kind: Kind, path: &'static str, fault: Fault, times: u32, expect: Expect) -> Case {
        Case {
            kind,
            path,
            fault,
            times,
            expect,
        }
    }

    /// Whether the fault answers in place of the site (its handler never sees the request).
    fn answers_instead(&self) -> bool {
        !matches!(self.fault, Fault::SlowBody { .. } | Fault::Garbled)
    }
}

/// Healthy poll → posts arrive → the fault → recovery → nothing more (see the file's doc).
async fn fault_between_polls(case: Case) {
    let site = case.kind.site_name();
    let what = format!("{:?} on {site} {}", case.fault, case.path);
    let rule = FaultRule::new(site, case.path, case.fault.clone(), case.times);
    let faults = Faults::default()
        .with(first_through(site, case.path, 1))
        .with(rule.clone());
    let mut rig = Rig::start(case.kind, faults).await;

    let first = rig.web.advance(FIRST);
    let out = rig.poll().await;
    rig.assert_returns(&out, &first, &what);
    assert_eq!(rule.fired(), 0, "{what}: fired before its turn");

    let second = rig.web.advance(SECOND);
    let cursors = rig.cursors.clone();
    let retries = rig.fetcher.stats().retries;
    let logged = rig.log().len();
    let url = rig.url(case.path);
    match case.expect {
        Expect::Fails(words) => {
            let err = match rig.try_poll().await {
                Ok(out) => panic!(
                    "{what}: the poll should fail; got {} posts, notes {:?}",
                    out.posts.len(),
                    out.notes
                ),
                Err(e) => e.to_string(),
            };
            assert!(
                err.contains(&url),
                "{what}: error does not name {url}: {err}"
            );
            for w in words {
                assert!(err.contains(w), "{what}: error lacks {w:?}: {err}");
            }
        }
        Expect::Noted(words) => {
            let out = rig.poll().await;
            assert!(
                out.posts.is_empty(),
                "{what}: {} posts from a failed read",
                out.posts.len()
            );
            let note = out
                .notes
                .iter()
                .find(|n| n.contains(&url))
                .unwrap_or_else(|| panic!("{what}: no note names {url}: {:?}", out.notes));
            for w in words {
                assert!(note.contains(w), "{what}: note lacks {w:?}: {note}");
            }
        }
        Expect::Absorbed { retries: want } => {
            let out = rig.poll().await;
            rig.assert_returns(&out, &second, &what);
            assert_eq!(
                rig.fetcher.stats().retries - retries,
                want,
                "{what}: retries"
            );
        }
    }
    assert!(rule.fired() > 0, "{what}: the fault never fired");
    if case.answers_instead() {
        let reached = rig.served(logged, case.path);
        let want = usize::from(matches!(case.expect, Expect::Absorbed { .. }));
        assert_eq!(
            reached.len(),
            want,
            "{what}: requests that reached the site: {reached:?}"
        );
    }
    if !matches!(case.expect, Expect::Absorbed { .. }) {
        assert_eq!(rig.cursors, cursors, "{what}: a cursor moved on a failure");
        // The fault has cleared: everything that arrived meanwhile comes now, once.
        let out = rig.poll().await;
        rig.assert_returns(&out, &second, &what);
    }
    assert_eq!(rule.fired(), case.times, "{what}: fired");
    let out = rig.poll().await;
    assert!(
        out.posts.is_empty(),
        "{what}: posts after the recovery: {:?}",
        out.posts.iter().map(|p| &p.key).collect::<Vec<_>>()
    );
}

/// Runs cases side by side (each has its own sites and fetcher); a case that has not finished
/// after `WATCHDOG` hangs somewhere and fails.
async fn run(cases: Vec<Case>) {
    join_all(cases.into_iter().map(|case| async move {
        let what = format!(
            "{:?} on {} {}",
            case.fault,
            case.kind.site_name(),
            case.path
        );
        if tokio::time::timeout(WATCHDOG, fault_between_polls(case))
            .await
            .is_err()
        {
            panic!("{what}: did not finish within {WATCHDOG:?}");
        }
    }))
    .await;
}

#[tokio::test]
async fn too_many_requests_with_retry_after_is_retried_within_the_poll() {
    let fault = Fault::TooManyRequests { retry_after: 1 };
    let absorbed = Expect::Absorbed { retries: 1 };
    run(vec![
        Case::new(Kind::FiveCh, SUBJECT, fault.clone(), 1, absorbed),
        Case::new(Kind::FiveCh, DAT, fault.clone(), 1, absorbed),
        Case::new(Kind::Rss, FEED, fault.clone(), 1, absorbed),
        Case::new(Kind::Review, REVIEWS, fault, 1, absorbed),
    ])
    .await;
}

#[tokio::test]
async fn too_many_requests_that_persist_fail_the_poll_and_lose_nothing() {
    let fault = Fault::TooManyRequests { retry_after: 1 };
    let words: &[&str] = &["HTTP 429 after 2 attempts"];
    run(vec![
        Case::new(
            Kind::FiveCh,
            SUBJECT,
            fault.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::FiveCh,
            DAT,
            fault.clone(),
            FAIL_ONCE,
            Expect::Noted(words),
        ),
        Case::new(
            Kind::Rss,
            FEED,
            fault.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::Review,
            REVIEWS,
            fault,
            FAIL_ONCE,
            Expect::Fails(words),
        ),
    ])
    .await;
}

#[tokio::test]
async fn unavailable_n_times_then_recovery() {
    let fault = Fault::Unavailable;
    let words: &[&str] = &["HTTP 503 after 2 attempts"];
    // N = 3: the poll meeting the first two fails; the next one meets the third, retries and
    // gets everything.
    let mut cases = Vec::new();
    for (kind, path) in [
        (Kind::FiveCh, SUBJECT),
        (Kind::Rss, FEED),
        (Kind::Review, REVIEWS),
    ] {
        cases.push(Case::new(
            kind,
            path,
            fault.clone(),
            3,
            Expect::Fails(words),
        ));
        cases.push(Case::new(
            kind,
            path,
            fault.clone(),
            1,
            Expect::Absorbed { retries: 1 },
        ));
    }
    cases.push(Case::new(Kind::FiveCh, DAT, fault, 3, Expect::Noted(words)));
    run(cases).await;
}

#[tokio::test]
async fn slow_body_past_the_timeout_fails_and_slow_in_time_parses() {
    // 20 bytes/s: even subject.txt (~80 bytes) takes seconds; both attempts time out.
    let too_slow = Fault::SlowBody { bytes_per_sec: 20 };
    let words: &[&str] = &["timed out", "body not complete"];
    // A few 100 ms chunks, well inside the 1 s timeout.
    let in_time = |bytes_per_sec| Fault::SlowBody { bytes_per_sec };
    let ok = Expect::Absorbed { retries: 0 };
    run(vec![
        Case::new(
            Kind::FiveCh,
            SUBJECT,
            too_slow.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::FiveCh,
            DAT,
            too_slow.clone(),
            FAIL_ONCE,
            Expect::Noted(words),
        ),
        Case::new(
            Kind::Rss,
            FEED,
            too_slow.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::Review,
            REVIEWS,
            too_slow,
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(Kind::FiveCh, SUBJECT, in_time(400), 1, ok),
        Case::new(Kind::FiveCh, DAT, in_time(4_000), 1, ok),
        Case::new(Kind::Rss, FEED, in_time(40_000), 1, ok),
        Case::new(Kind::Review, REVIEWS, in_time(40_000), 1, ok),
    ])
    .await;
}

#[tokio::test]
async fn endless_body_times_out_without_hanging() {
    let fault = Fault::EndlessBody;
    let words: &[&str] = &["timed out", "body not complete"];
    run(vec![
        Case::new(
            Kind::FiveCh,
            SUBJECT,
            fault.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::FiveCh,
            DAT,
            fault.clone(),
            FAIL_ONCE,
            Expect::Noted(words),
        ),
        Case::new(
            Kind::Rss,
            FEED,
            fault.clone(),
            FAIL_ONCE,
            Expect::Fails(words),
        ),
        Case::new(
            Kind::Review,
            REVIEWS,
            fault,
            FAIL_ONCE,
            Expect::Fails(words),
        ),
    ])
    .await;
}

#[tokio::test]
async fn huge_body_is_too_large_and_skipped() {
    let fault = Fault::Huge {
        bytes: 4 * MAX_BODY,
    };
    let words: &[&str] = &["body larger than 262144 bytes; skipped"];
    // Not retried: one fire fails the fetch.
    run(vec![
        Case::new(
            Kind::FiveCh,
            SUBJECT,
            fault.clone(),
            1,
            Expect::Fails(words),
        ),
        Case::new(Kind::FiveCh, DAT, fault.clone(), 1, Expect::Noted(words)),
        Case::new(Kind::Rss, FEED, fault.clone(), 1, Expect::Fails(words)),
        Case::new(Kind::Review, REVIEWS, fault, 1, Expect::Fails(words)),
    ])
    .await;
}

#[tokio::test]
async fn redirect_loop_is_too_many_redirects() {
    let fault = Fault::RedirectLoop;
    let words: &[&str] = &["too many redirects (limit 3)"];
    // The first request and MAX_REDIRECTS hops, each answered by the loop.
    let hops = MAX_REDIRECTS as u32 + 1;
    run(vec![
        Case::new(Kind::Rss, FEED, fault.clone(), hops, Expect::Fails(words)),
        Case::new(
            Kind::Review,
            REVIEWS,
            fault.clone(),
            hops,
            Expect::Fails(words),
        ),
        // 5ch never follows redirects (a moved board or dat落ち must be seen as such): a
        // redirecting subject.txt is an error that says where it points.
        Case::new(
            Kind::FiveCh,
            SUBJECT,
            fault,
            1,
            Expect::Fails(&["HTTP 302", "moved to /software/subject.txt?loop=1"]),
        ),
    ])
    .await;
}

#[tokio::test]
async fn garbled_bytes_are_replaced_and_noted_never_a_panic() {
    // The feed no longer parses as XML: a clear error, nothing stored, all of it next time.
    // The review page keeps no item: a note, nothing stored, all of it next time.
    run(vec![
        Case::new(
            Kind::Rss,
            FEED,
            Fault::Garbled,
            1,
            Expect::Fails(&["cannot parse"]),
        ),
        Case::new(
            Kind::Review,
            REVIEWS,
            Fault::Garbled,
            1,
            Expect::Noted(&["undecodable byte sequences replaced"]),
        ),
    ])
    .await;
}

#[tokio::test]
async fn garbled_dat_gives_posts_with_replacement_characters_and_a_note() {
    let rule = FaultRule::new("5ch", DAT, Fault::Garbled, 1);
    let faults = Faults::default()
        .with(first_through("5ch", DAT, 1))
        .with(rule.clone());
    let mut rig = Rig::start(Kind::FiveCh, faults).await;
    let first = rig.web.advance(FIRST);
    let out = rig.poll().await;
    rig.assert_returns(&out, &first, "healthy");

    // The differential read of the new posts is garbled.
    rig.web.advance(SECOND);
    let out = rig.poll().await;
    assert_eq!(rule.fired(), 1);
    let garbled = |p: &mimamori::model::Post| {
        [
            Some(p.body.as_str()),
            p.author_name.as_deref(),
            p.posted_at_raw.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|f| f.contains('\u{FFFD}'))
    };
    assert!(
        out.posts.iter().any(garbled),
        "no post shows U+FFFD: {:?}",
        out.posts
    );
    assert!(
        out.notes.iter().any(|n| n.contains("U+FFFD")),
        "{:?}",
        out.notes
    );

    // Later polls read cleanly again and repeat no key (the poller checks).
    let third = rig.web.advance(SECOND);
    let out = rig.poll().await;
    rig.assert_returns(&out, &third, "after the garbled read");
    let out = rig.poll().await;
    assert!(out.posts.is_empty());
}

#[tokio::test]
async fn garbled_subject_txt_keeps_every_thread_cursor() {
    let rule = FaultRule::new("5ch", SUBJECT, Fault::Garbled, 1);
    let faults = Faults::default()
        .with(first_through("5ch", SUBJECT, 1))
        .with(rule.clone());
    let mut rig = Rig::start(Kind::FiveCh, faults).await;
    rig.web.advance(FIRST);
    rig.poll().await;
    let threads: Vec<(String, serde_json::Value)> = rig
        .cursors
        .iter()
        .filter(|(k, _)| k.as_str() != "subject")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert!(!threads.is_empty());

    let mut arrived = rig.web.advance(SECOND);
    let logged = rig.log().len();
    let out = rig.poll().await;
    assert_eq!(rule.fired(), 1);
    assert!(out.posts.is_empty(), "{:?}", out.posts);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("subject.txt") && n.contains("U+FFFD")),
        "{:?}",
        out.notes
    );
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("keeping every thread cursor")),
        "{:?}",
        out.notes
    );
    for (k, v) in &threads {
        assert_eq!(rig.cursors.get(k), Some(v), "thread {k} cursor moved");
    }
    assert!(
        rig.served(logged, DAT).is_empty(),
        "no thread is read from a garbled list"
    );

    // Nothing is lost: every post since the last good read comes, once (the garbled
    // listing's validators were not kept, so no 304 hides them).
    arrived.extend(rig.web.advance(1));
    let out = rig.poll().await;
    rig.assert_returns(&out, &arrived, "after the garbled subject.txt");
}

#[tokio::test]
async fn garbled_subject_txt_does_not_hide_new_posts_behind_a_304() {
    let faults = Faults::default()
        .with(first_through("5ch", SUBJECT, 1))
        .with(FaultRule::new("5ch", SUBJECT, Fault::Garbled, 1));
    let mut rig = Rig::start(Kind::FiveCh, faults).await;
    rig.web.advance(FIRST);
    rig.poll().await;
    let second = rig.web.advance(SECOND);
    rig.poll().await;
    // The fault has cleared and nothing new arrived: the next poll must still read them.
    let out = rig.poll().await;
    rig.assert_returns(&out, &second, "poll after the garbled subject.txt");
}

#[tokio::test]
async fn redirecting_dat_of_a_listed_thread_is_not_dat_ochi() {
    let faults = Faults::default()
        .with(first_through("5ch", DAT, 1))
        .with(FaultRule::new("5ch", DAT, Fault::RedirectLoop, 1));
    let mut rig = Rig::start(Kind::FiveCh, faults).await;
    rig.web.advance(FIRST);
    rig.poll().await;
    let mut arrived = rig.web.advance(SECOND);
    rig.poll().await;
    arrived.extend(rig.web.advance(SECOND));
    let out = rig.poll().await;
    rig.assert_returns(&out, &arrived, "after the redirecting dat");
}

/// robots.txt of a site turns to `robots` (once); `blocked` is the path it forbids.
async fn robots_txt_disallow(
    kind: Kind,
    robots: &'static str,
    blocked: &'static str,
    expect: Expect,
) {
    let site = kind.site_name();
    let what = format!("{site} with robots.txt {robots:?}");
    let rule = FaultRule::new(
        site,
        "/robots.txt",
        Fault::Replace {
            status: 200,
            body: robots.to_string(),
        },
        1,
    );
    let faults = Faults::default()
        .with(first_through(site, "/robots.txt", 1))
        .with(rule.clone());
    let mut rig = Rig::start(kind, faults).await;
    let first = rig.web.advance(FIRST);
    let out = rig.poll().await;
    rig.assert_returns(&out, &first, &what);

    // robots.txt is cached (24 h): the new one is read by the next process.
    let second = rig.web.advance(SECOND);
    rig.restart_fetcher();
    let cursors = rig.cursors.clone();
    let logged = rig.log().len();
    let url = rig.url(blocked);
    // Twice: the second poll answers from the cached robots.txt, again without a request.
    for _ in 0..2 {
        let said = match (expect, rig.try_poll().await) {
            (Expect::Fails(_), Err(e)) => e.to_string(),
            (Expect::Noted(_), Ok(out)) => {
                assert!(out.posts.is_empty(), "{what}: {:?}", out.posts);
                out.notes
                    .into_iter()
                    .find(|n| n.contains(&url))
                    .unwrap_or_else(|| panic!("{what}: no note names {url}"))
            }
            (_, Ok(out)) => panic!("{what}: the poll should fail; notes {:?}", out.notes),
            (_, Err(e)) => panic!("{what}: {e}"),
        };
        assert!(said.contains(&url), "{what}: does not name {url}: {said}");
        assert!(
            said.contains("disallowed by robots.txt"),
            "{what}: unclear: {said}"
        );
        assert_eq!(rule.fired(), 1, "{what}: robots.txt read once");
        let sent = rig.served(logged, blocked);
        assert!(sent.is_empty(), "{what}: requests to {blocked}: {sent:?}");
        assert_eq!(rig.cursors, cursors, "{what}: a cursor moved");
    }

    // robots.txt allows everything again (read by the next process): nothing was lost.
    rig.restart_fetcher();
    let out = rig.poll().await;
    rig.assert_returns(&out, &second, &what);
    let out = rig.poll().await;
    assert!(out.posts.is_empty(), "{what}: {:?}", out.posts);
}

#[tokio::test]
async fn robots_txt_disallow_sends_no_request_and_says_so() {
    let disallowed: &[&str] = &[];
    join_all([
        robots_txt_disallow(
            Kind::FiveCh,
            DISALLOW_ALL,
            SUBJECT,
            Expect::Fails(disallowed),
        ),
        robots_txt_disallow(Kind::Rss, DISALLOW_ALL, FEED, Expect::Fails(disallowed)),
        robots_txt_disallow(
            Kind::Review,
            DISALLOW_ALL,
            REVIEWS,
            Expect::Fails(disallowed),
        ),
        // Only the dats: subject.txt is read, no thread is, and its cursor stays.
        robots_txt_disallow(
            Kind::FiveCh,
            "User-agent: *\nDisallow: /software/dat/\n",
            DAT,
            Expect::Noted(disallowed),
        ),
    ])
    .await;
}

#[tokio::test]
async fn deleted_post_shrinks_the_dat_and_it_is_read_whole_without_repeats() {
    let mut rig = Rig::start(Kind::FiveCh, Faults::default()).await;
    let first = rig.web.advance(FIRST);
    let out = rig.poll().await;
    rig.assert_returns(&out, &first, "healthy");

    // A post in the middle becomes あぼーん: the dat shrinks under our byte cursor.
    assert!(rig.web.delete(first[1].seq));
    let second = rig.web.advance(SECOND);
    let logged = rig.log().len();
    let out = rig.poll().await;
    rig.assert_returns(&out, &second, "after the deletion");
    assert!(
        out.notes.iter().any(|n| n.contains("refetched whole")),
        "{:?}",
        out.notes
    );
    let reads = rig.served(logged, DAT);
    assert_eq!(reads.len(), 2, "{reads:?}");
    assert!(
        reads[0].contains(" bytes=") && reads[0].ends_with(" 206"),
        "{reads:?}"
    );
    assert!(reads[1].ends_with(" - 200"), "then whole: {reads:?}");

    // The cursor is right again: a plain differential read, nothing repeated.
    let third = rig.web.advance(SECOND);
    let logged = rig.log().len();
    let out = rig.poll().await;
    rig.assert_returns(&out, &third, "after the whole read");
    let reads = rig.served(logged, DAT);
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert!(reads[0].ends_with(" 206"), "{reads:?}");
}

#[tokio::test]
async fn deleted_post_whose_whole_refetch_fails_keeps_the_cursor() {
    // Request 1: the first whole read; 2: the differential read that finds the dat shrunk;
    // then the whole refetch meets a 503 twice (both attempts).
    let rule = FaultRule::new("5ch", DAT, Fault::Unavailable, FAIL_ONCE);
    let faults = Faults::default()
        .with(first_through("5ch", DAT, 2))
        .with(rule.clone());
    let mut rig = Rig::start(Kind::FiveCh, faults).await;
    let first = rig.web.advance(FIRST);
    rig.poll().await;

    assert!(rig.web.delete(first[1].seq));
    let second = rig.web.advance(SECOND);
    let cursors = rig.cursors.clone();
    let out = rig.poll().await;
    assert_eq!(rule.fired(), FAIL_ONCE);
    assert!(out.posts.is_empty(), "{:?}", out.posts);
    let url = rig.url(DAT);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains(&url) && n.contains("HTTP 503 after 2 attempts")),
        "{:?}",
        out.notes
    );
    assert_eq!(rig.cursors, cursors, "a cursor moved on a failure");

    let out = rig.poll().await;
    rig.assert_returns(&out, &second, "after the failed refetch");
    let out = rig.poll().await;
    assert!(out.posts.is_empty());
}
