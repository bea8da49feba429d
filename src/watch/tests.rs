//! The watch loop against fake sources (no network): exactly-once commits, seen-key
//! filtering, failures that do not stop other sources, schedules and shutdown.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;

use super::*;
use crate::config;
use crate::fetch::FetchConfig;
use crate::sources::{CursorUpdate, PollContext, PollOutput};
use crate::store::HitFilter;

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]

[[target]]
id = "tanaka"
kind = "person"
names = ["田中美咲"]
[target.personal]
phones = ["080-3141-5926"]
"#;

fn watchlist() -> Watchlist {
    config::parse_str(WATCHLIST, std::path::Path::new("test.toml")).expect("watchlist")
}

fn analyzer() -> Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| Analyzer::new(&watchlist()).expect("analyzer"))
        .clone()
}

/// A board in memory: posts numbered from 1; the cursor `last` is the last number returned.
#[derive(Default)]
struct Fake {
    id: String,
    posts: Mutex<Vec<String>>,
    fail: AtomicBool,
    ignore_cursor: AtomicBool,
    delay: Mutex<Duration>,
    polls: AtomicUsize,
    in_flight: Option<Arc<AtomicUsize>>,
    overlapped: Option<Arc<AtomicBool>>,
}

impl Fake {
    fn new(id: &str) -> Arc<Fake> {
        Arc::new(Fake {
            id: id.into(),
            ..Default::default()
        })
    }
    fn add(&self, text: &str) {
        self.posts.lock().expect("lock").push(text.to_string());
    }
}

#[async_trait::async_trait]
impl Source for Fake {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> &'static str {
        "fake"
    }
    fn every(&self) -> Duration {
        Duration::from_millis(200)
    }
    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        if let Some(f) = &self.in_flight
            && f.fetch_add(1, Ordering::SeqCst) > 0
            && let Some(o) = &self.overlapped
        {
            o.store(true, Ordering::SeqCst);
        }
        let delay = *self.delay.lock().expect("lock");
        tokio::time::sleep(delay).await;
        if let Some(f) = &self.in_flight {
            f.fetch_sub(1, Ordering::SeqCst);
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(SourceError::Parse {
                url: format!("http://{}/", self.id),
                message: "HTTP 503".into(),
            });
        }
        let last = if self.ignore_cursor.load(Ordering::SeqCst) {
            0
        } else {
            ctx.cursors
                .get("last")
                .and_then(|v| v.as_u64())
                .unwrap_or(0) as usize
        };
        let all = self.posts.lock().expect("lock").clone();
        let posts: Vec<Post> = all
            .iter()
            .enumerate()
            .skip(last)
            .map(|(i, text)| Post {
                key: format!("{}/{}", self.id, i + 1),
                source_kind: "fake".into(),
                source_id: self.id.clone(),
                source_url: format!("http://{}/dat", self.id),
                url: format!("http://{}/{}", self.id, i + 1),
                thread_title: None,
                number: Some(i as u64 + 1),
                author_name: None,
                author_id: None,
                posted_at_raw: None,
                posted_at: None,
                body: text.clone(),
                body_html: None,
                fetched_at: Utc::now(),
            })
            .collect();
        Ok(PollOutput {
            posts,
            cursor_updates: vec![CursorUpdate {
                key: "last".into(),
                value: Some(serde_json::json!(all.len())),
            }],
            requests: 1,
            bytes: 100,
            ..Default::default()
        })
    }
}

fn watcher(
    dir: &std::path::Path,
    fakes: &[(&Arc<Fake>, &str)],
) -> (Arc<Watcher>, mpsc::UnboundedReceiver<WatchEvent>) {
    let store = Arc::new(Store::open(dir).expect("store"));
    let fetcher = Fetcher::new(FetchConfig::default()).expect("fetcher");
    let sources = fakes
        .iter()
        .map(|(f, host)| (Arc::clone(f) as Arc<dyn Source>, host.to_string()))
        .collect();
    let (tx, rx) = mpsc::unbounded_channel();
    let w = Watcher::with_sources(sources, fetcher, analyzer(), store, watchlist().targets)
        .with_events(tx);
    (Arc::new(w), rx)
}

fn drain_hits(rx: &mut mpsc::UnboundedReceiver<WatchEvent>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let WatchEvent::Hit { hit, post } = ev {
            assert_eq!(hit.post_key, post.key);
            out.push((hit.post_key, hit.target));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_finds_hits_and_new_posts_between_cycles_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Fake::new("a");
    a.add("今日はいい天気");
    a.add("山田商事は詐欺会社");
    a.add("山田商事の新商品よかった");
    let (w, mut rx) = watcher(dir.path(), &[(&a, "h1")]);
    let s = w.run_once(std::future::pending()).await;
    assert!(s.failing.is_empty() && !s.interrupted);
    assert_eq!(
        (s.totals.polls, s.totals.new_posts, s.totals.hits),
        (1, 3, 1)
    );
    assert_eq!(
        drain_hits(&mut rx),
        vec![("a/2".to_string(), "yamada".to_string())]
    );

    // Nothing new: nothing found. A new post: found once.
    w.run_once(std::future::pending()).await;
    assert!(drain_hits(&mut rx).is_empty());
    a.add("田中美咲の携帯 080-3141-5926 晒しとく");
    w.run_once(std::future::pending()).await;
    w.run_once(std::future::pending()).await;
    assert_eq!(
        drain_hits(&mut rx),
        vec![("a/4".to_string(), "tanaka".to_string())]
    );
    let stored = w.store().hits(&HitFilter::default()).expect("hits");
    assert_eq!(stored.len(), 2);
    assert!(
        stored[0]
            .matches
            .iter()
            .all(|m| !m.text.contains("3141-5926")),
        "{:?}",
        stored[0].matches
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_returned_again_are_not_analyzed_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Fake::new("a");
    a.add("山田商事は詐欺会社");
    a.ignore_cursor.store(true, Ordering::SeqCst);
    let (w, mut rx) = watcher(dir.path(), &[(&a, "h1")]);
    w.run_once(std::future::pending()).await;
    let mut reports = Vec::new();
    for _ in 0..2 {
        if let Ok(r) = w.poll_source(0, None).await {
            reports.push(r);
        }
    }
    assert_eq!(
        reports
            .iter()
            .map(|r| (r.posts, r.new_posts))
            .collect::<Vec<_>>(),
        vec![(1, 0), (1, 0)]
    );
    assert_eq!(drain_hits(&mut rx).len(), 1);
    assert_eq!(w.totals().new_posts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_is_recorded_and_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bad, good) = (Fake::new("bad"), Fake::new("good"));
    bad.add("山田商事は詐欺会社");
    bad.fail.store(true, Ordering::SeqCst);
    good.add("山田商事は詐欺会社");
    let (w, mut rx) = watcher(dir.path(), &[(&bad, "h1"), (&good, "h2")]);
    let s = w.run_once(std::future::pending()).await;
    assert_eq!(s.failing.keys().collect::<Vec<_>>(), vec!["bad"]);
    assert!(s.failing["bad"].contains("HTTP 503"));
    assert_eq!(s.totals.hits, 1);
    assert_eq!(
        drain_hits(&mut rx),
        vec![("good/1".to_string(), "yamada".to_string())]
    );
    let states = w.store().source_states().expect("states");
    let b = states
        .iter()
        .find(|s| s.source_id == "bad")
        .expect("bad state");
    assert!(b.failing() && b.last_error.as_deref().is_some_and(|e| e.contains("503")));
    assert!(
        w.store().load_cursors("bad").expect("cursors").is_empty(),
        "a failed poll keeps the cursors"
    );

    // It recovers: the post it could not fetch is found then.
    bad.fail.store(false, Ordering::SeqCst);
    let s = w.run_once(std::future::pending()).await;
    assert!(s.failing.is_empty());
    assert_eq!(
        drain_hits(&mut rx),
        vec![("bad/1".to_string(), "yamada".to_string())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_polls_on_schedule_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Fake::new("a");
    let (w, mut rx) = watcher(dir.path(), &[(&a, "h1")]);
    let w2 = Arc::clone(&w);
    let run = tokio::spawn(async move {
        w2.run(tokio::time::sleep(Duration::from_millis(1500)))
            .await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.add("山田商事は詐欺会社");
    let s = tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("stops")
        .expect("joins");
    assert!(s.interrupted);
    let polls = a.polls.load(Ordering::SeqCst);
    assert!((4..=9).contains(&polls), "{polls} polls in 1.5 s at 200 ms");
    assert_eq!(drain_hits(&mut rx).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cancels_a_poll_that_is_still_fetching_and_commits_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Fake::new("a");
    a.add("山田商事は詐欺会社");
    *a.delay.lock().expect("lock") = Duration::from_secs(30);
    let (w, _rx) = watcher(dir.path(), &[(&a, "h1")]);
    let started = std::time::Instant::now();
    let s = w
        .run_once(tokio::time::sleep(Duration::from_millis(300)))
        .await;
    assert!(s.interrupted);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(w.store().seen_count().expect("seen"), 0);
    assert!(w.store().load_cursors("a").expect("cursors").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_host_is_polled_in_series_and_hosts_in_parallel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let in_flight = Arc::new(AtomicUsize::new(0));
    let overlapped = Arc::new(AtomicBool::new(false));
    let mk = |id: &str| {
        let f = Fake {
            id: id.into(),
            delay: Mutex::new(Duration::from_millis(500)),
            in_flight: Some(Arc::clone(&in_flight)),
            overlapped: Some(Arc::clone(&overlapped)),
            ..Default::default()
        };
        Arc::new(f)
    };
    let (a, b, c) = (mk("a"), mk("b"), Fake::new("c"));
    *c.delay.lock().expect("lock") = Duration::from_millis(500);
    let (w, _rx) = watcher(dir.path(), &[(&a, "same"), (&b, "same"), (&c, "other")]);
    let started = std::time::Instant::now();
    w.run_once(std::future::pending()).await;
    let took = started.elapsed();
    assert!(
        !overlapped.load(Ordering::SeqCst),
        "two polls of one host overlapped"
    );
    assert!(
        took >= Duration::from_millis(1000),
        "same host in series: {took:?}"
    );
    assert!(
        took < Duration::from_millis(1450),
        "other host in parallel: {took:?}"
    );
}
