//! Integration tests of the crawler as users run it: the `mimamori` binary (`watch`, `hits`,
//! `demo`) against a simulated web started by the test on 127.0.0.1. The store is then read
//! with the library to check that every scripted risky post became exactly one hit per target
//! — across cycles, failures and kill -9 restarts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mimamori::bench::corpus::SplitMix64;
use mimamori::config::{self, Watchlist};
use mimamori::simweb::fivech::SimFiveCh;
use mimamori::simweb::shitaraba::SimShitaraba;
use mimamori::simweb::{Fault, FaultRule, Faults, SimConfig, SimSite, SimWeb};
use mimamori::store::{HitFilter, Store};

use crate::support::{mimamori, root};

/// Risky texts and the target each is about (checked against the analyzer in
/// `the_scripted_texts_are_what_the_tests_assume`).
const RISKY: &[(&str, &str)] = &[
    ("さくら食品は産地偽装してる詐欺企業", "sakura_foods"),
    ("小林クリニック燃やしてやる。覚えとけ", "kobayashi_clinic"),
    ("田中美咲の携帯 080-3141-5926 晒しとく", "tanaka_misaki"),
    (
        "小林医院の受付はマジで無能。二度と行かない",
        "kobayashi_clinic",
    ),
    (
        "サクラ食品の工場長、横領で捕まるらしいｗｗｗ",
        "sakura_foods",
    ),
    ("田中美咲ってほんとブス。性格もゴミ", "tanaka_misaki"),
    ("田中美咲の家わかったから今夜行く", "tanaka_misaki"),
];

/// Texts that are not hits (some mention a target).
const BENIGN: &[&str] = &[
    "今日はいい天気だな",
    "昼飯なに食べた？",
    "さくら食品の新商品うまかったわ",
    "小林クリニックは土曜も診てくれるから助かる",
    "このスレ伸びないな",
    "新しいキーボード買った",
];

/// Thread slots whose titles name no target, per site (so a title adds no context).
fn neutral_slots(site: &str) -> &'static [usize] {
    match site {
        "5ch" => &[1, 4, 5],
        _ => &[0, 3, 4],
    }
}

fn example() -> Watchlist {
    config::load(&root().join("watchlists/example.toml")).expect("example watchlist")
}

/// The boards: 5ch and したらば.
pub(crate) async fn start_boards(faults: Faults) -> Arc<SimWeb> {
    let sites: Vec<Arc<dyn SimSite>> = vec![
        Arc::new(SimFiveCh::new("software")),
        Arc::new(SimShitaraba::new("game", "1234")),
    ];
    let cfg = SimConfig {
        seed: 11,
        threads: 6,
        initial_posts: 0,
        faults,
    };
    Arc::new(
        SimWeb::start(cfg, &example(), sites)
            .await
            .expect("simulated web"),
    )
}

/// A config with the example targets, the web's sources every `every`, and quick retries.
pub(crate) fn write_config(dir: &Path, web: &SimWeb, every: &str) -> PathBuf {
    let example = std::fs::read_to_string(root().join("watchlists/example.toml")).expect("example");
    let text = format!(
        "{example}\n[fetch]\nmin_delay = \"0s\"\nretries = 1\nbackoff_base = \"20ms\"\nbackoff_cap = \"100ms\"\n\n{}",
        web.sources_toml(every)
    );
    let path = dir.join("watch.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// One post the test script made.
struct Scripted {
    /// The site it went to.
    site: &'static str,
    /// The target it is a hit for, if risky.
    target: Option<&'static str>,
}

/// The posts the test script made, by marker number.
#[derive(Default)]
struct Posted {
    posts: BTreeMap<u64, Scripted>,
    rng: Option<SplitMix64>,
    next: u64,
}

impl Posted {
    fn new(seed: u64) -> Self {
        Posted {
            rng: Some(SplitMix64::new(seed)),
            next: 1,
            ..Default::default()
        }
    }

    /// Posts one text (risky with probability 0.35) to a random site and neutral slot.
    fn post(&mut self, web: &SimWeb) {
        let rng = self.rng.get_or_insert_with(|| SplitMix64::new(1));
        let (text, target) = if rng.chance(0.35) {
            let (t, target) = RISKY[rng.below(RISKY.len())];
            (t, Some(target))
        } else {
            (BENIGN[rng.below(BENIGN.len())], None)
        };
        let site = &web.sites[rng.below(web.sites.len())];
        let slots = neutral_slots(site.name);
        let slot = slots[rng.below(slots.len())];
        let n = self.next;
        self.next += 1;
        let text = format!("{text} [#{n}]");
        web.post_to(site.name, slot, &text).expect("site exists");
        self.posts.insert(
            n,
            Scripted {
                site: site.name,
                target,
            },
        );
    }

    fn risky(&self) -> usize {
        self.posts.values().filter(|p| p.target.is_some()).count()
    }
}

/// The marker number in a post body.
fn marker(body: &str) -> Option<u64> {
    let start = body.rfind("[#")? + 2;
    let end = start + body[start..].find(']')?;
    body[start..end].parse().ok()
}

/// Checks the store against the script: each risky post is exactly one hit for its target,
/// nothing else is a hit, one outbox row per hit. Returns the number of hits.
fn check_store(data: &Path, posted: &Posted) -> usize {
    let store = Store::open(data).expect("open store");
    let hits = store.hits(&HitFilter::default()).expect("hits");
    let mut found: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for h in &hits {
        let post = store
            .post(&h.post_key)
            .expect("read post")
            .expect("a hit's post is stored");
        let n = marker(&post.body).unwrap_or_else(|| panic!("no marker in hit {}", h.post_key));
        found.entry(n).or_default().push(h.target.clone());
    }
    for (n, p) in &posted.posts {
        let got = found.get(n).cloned().unwrap_or_default();
        match p.target {
            Some(t) => assert_eq!(
                got,
                vec![t.to_string()],
                "post #{n}: expected one hit for {t}"
            ),
            None => assert!(got.is_empty(), "post #{n} is benign but has hits {got:?}"),
        }
    }
    assert_eq!(hits.len(), posted.risky(), "hits: lost or duplicated");
    let outbox = store.outbox().expect("outbox");
    assert_eq!(outbox.len(), hits.len(), "one outbox row per hit");
    hits.len()
}

/// Runs the binary off the async executor.
pub(crate) async fn run(dir: &Path, args: &[&str]) -> Output {
    let dir = dir.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        mimamori(&dir, &a, b"")
    })
    .await
    .expect("join")
}

fn spawn_watch(dir: &Path, config: &Path, data: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["watch", "--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mimamori watch")
}

/// Committed polls of every source in `data` so far (0 before the first).
fn polls(data: &Path) -> i64 {
    if !data.join(mimamori::store::STATE_FILE).is_file() {
        return 0;
    }
    mimamori::store::Store::open(data)
        .and_then(|s| s.source_states())
        .map(|states| states.iter().map(|s| s.polls).sum())
        .unwrap_or(0)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn hit_lines(o: &Output) -> usize {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with("HIT"))
        .count()
}

#[test]
fn the_scripted_texts_are_what_the_tests_assume() {
    let analyzer = mimamori::analyze::Analyzer::new(&example()).expect("analyzer");
    for (text, target) in RISKY {
        let input = mimamori::analyze::PostInput {
            text: format!("{text} [#1]"),
            ..Default::default()
        };
        let a = analyzer.analyze(&input);
        assert!(
            a.flagged && a.targets == vec![target.to_string()],
            "{text}: {a:?}"
        );
    }
    for text in BENIGN {
        let a = analyzer.analyze(&mimamori::analyze::PostInput {
            text: format!("{text} [#2]"),
            ..Default::default()
        });
        assert!(!a.flagged, "{text}: {a:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_once_finds_the_scripted_hits_and_new_posts_between_cycles_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "1m");
    let cfg = config.to_str().expect("utf8");
    let dat = data.to_str().expect("utf8");
    let mut posted = Posted::new(1);
    for _ in 0..30 {
        posted.post(&web);
    }
    let first = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let n1 = check_store(&data, &posted);
    assert!(n1 >= 5, "only {n1} risky posts scripted");
    assert_eq!(hit_lines(&first), n1, "each new hit printed once");
    assert!(
        !String::from_utf8_lossy(&first.stdout).contains("3141-5926"),
        "personal value in clear"
    );

    // New posts between cycles: found by the next cycle, and only once.
    for _ in 0..20 {
        posted.post(&web);
    }
    let second = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let n2 = check_store(&data, &posted);
    assert_eq!(hit_lines(&second), n2 - n1);
    let third = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(
        hit_lines(&third),
        0,
        "nothing new: {}",
        String::from_utf8_lossy(&third.stdout)
    );
    check_store(&data, &posted);

    // `watch` itself kept the search index: every stored post is in it (read directly, so
    // no catch-up by `search` hides a gap), each hit's post carries its hit id.
    let store = mimamori::store::Store::open(&data).expect("store");
    let index = mimamori::index::SearchIndex::open(&data).expect("watch wrote an index");
    let all = index
        .search(&mimamori::index::search::SearchRequest {
            query: "*".into(),
            limit: 100_000,
            ..Default::default()
        })
        .expect("search");
    assert_eq!(all.len() as u64, store.post_count().expect("count"));
    let flagged = all.iter().filter(|r| !r.hit_ids.is_empty()).count();
    let hit_posts: std::collections::HashSet<String> = store
        .hits(&Default::default())
        .expect("hits")
        .into_iter()
        .map(|h| h.post_key)
        .collect();
    assert_eq!(flagged, hit_posts.len());
    drop((store, index));

    // `hits --json` lists them with the design.md fields.
    let out = run(dir.path(), &["hits", "--json", "--data", dat]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("hits --json is JSON");
    let arr = v.as_array().expect("an array");
    assert_eq!(arr.len(), n2);
    for field in [
        "id",
        "target",
        "url",
        "post_key",
        "posted_at",
        "categories",
        "severity",
        "status",
    ] {
        assert!(
            arr[0].get(field).is_some(),
            "hits --json lacks {field}: {}",
            arr[0]
        );
    }
    let ids: Vec<i64> = arr.iter().filter_map(|h| h["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let tanaka = run(
        dir.path(),
        &[
            "hits",
            "--json",
            "--new",
            "--target",
            "tanaka_misaki",
            "--data",
            dat,
        ],
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&tanaka.stdout).expect("json");
    assert!(
        v.as_array()
            .expect("array")
            .iter()
            .all(|h| h["target"] == "tanaka_misaki")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_9_loses_and_duplicates_no_hit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "500ms");
    let posted = Arc::new(std::sync::Mutex::new(Posted::new(42)));
    for _ in 0..20 {
        posted.lock().expect("lock").post(&web);
    }
    // Posts keep arriving while the watcher is killed and restarted.
    let (w, p) = (Arc::clone(&web), Arc::clone(&posted));
    let poster = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            p.lock().expect("lock").post(&w);
        }
    });
    let mut rng = SplitMix64::new(2024);
    for round in 0..8 {
        let polls_before = polls(&data);
        let mut child = spawn_watch(dir.path(), &config, &data);
        // Every other round is killed only once it polls, so some kills land mid-work even on
        // a loaded machine (where the dictionary load alone can outlast the random wait); the
        // others may die anywhere, start-up included.
        if round % 2 == 0 {
            let started = Instant::now();
            while polls(&data) == polls_before && started.elapsed() < Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let wait = Duration::from_millis(200 + rng.range(0, 1800));
        tokio::time::sleep(wait).await;
        child.kill().expect("kill -9");
        let status = child.wait().expect("wait");
        assert!(
            status.code().is_none(),
            "round {round}: the watcher exited by itself: {status:?}"
        );
    }
    poster.abort();
    let _ = poster.await;
    // The killed watchers did commit work (the kills landed while polls were going on).
    let before = Store::open(&data)
        .expect("store")
        .hits(&HitFilter::default())
        .expect("hits")
        .len();
    assert!(before > 0, "the killed watchers never committed a hit");
    // Catch up once, then compare with the script.
    let last = run(
        dir.path(),
        &[
            "watch",
            "--once",
            "--config",
            config.to_str().expect("utf8"),
            "--data",
            data.to_str().expect("utf8"),
        ],
    )
    .await;
    assert_eq!(last.status.code(), Some(0), "{}", stderr(&last));
    let posted = posted.lock().expect("lock");
    assert!(posted.posts.len() > 60, "only {} posts", posted.posts.len());
    let hits = check_store(&data, &posted);
    assert!(hits > 10, "{hits} hits");
    eprintln!(
        "kill -9 test: {} posts, {before} hits before the catch-up run, {hits} after",
        posted.posts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_watch_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "500ms");
    let mut posted = Posted::new(7);
    for _ in 0..15 {
        posted.post(&web);
    }
    for signal in ["-TERM", "-INT"] {
        let polls_before = polls(&data);
        let child = spawn_watch(dir.path(), &config, &data);
        // Signal only once it is polling (its handlers are installed by then): a fixed sleep
        // is too short on a loaded machine, where the dictionary load alone can take seconds.
        let waited = Instant::now();
        while polls(&data) == polls_before && waited.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        posted.post(&web);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        let started = Instant::now();
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("wait");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{signal}: slow to stop ({:?}): {}",
            started.elapsed(),
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(0), "{signal}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("stopping"),
            "{signal}: {}",
            stderr(&out)
        );
    }
    // A signal abandons the queued screenshots; the next start takes them. Without a browser
    // here (so it is quick), each becomes a note: every hit ends with some screenshot entry.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mimamori"));
    cmd.args(["watch", "--once", "--config"])
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .current_dir(dir.path())
        .env(
            mimamori::evidence::screenshot::ENV_CHROMIUM,
            dir.path().join("no-such-browser"),
        )
        .stdin(Stdio::null());
    let last = tokio::task::spawn_blocking(move || cmd.output().expect("run mimamori"))
        .await
        .expect("join");
    assert_eq!(last.status.code(), Some(0), "{}", stderr(&last));
    check_store(&data, &posted);
    let ledger = mimamori::evidence::ledger::entries(&mimamori::evidence::evidence_dir(&data))
        .expect("ledger");
    let store = Store::open(&data).expect("store");
    for h in store.hits(&HitFilter::default()).expect("hits") {
        assert!(
            !mimamori::evidence::screenshot::entries_of_hit(&ledger, h.id).is_empty(),
            "hit {} has no screenshot or note after the restart: {}",
            h.id,
            stderr(&last)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_that_always_503s_does_not_stop_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let faults =
        Faults::default().with(FaultRule::new("shitaraba", "/game/", Fault::Unavailable, 0));
    let web = start_boards(faults).await;
    let config = write_config(dir.path(), &web, "1m");
    let mut posted = Posted::new(3);
    for _ in 0..40 {
        posted.post(&web);
    }
    let out = run(
        dir.path(),
        &[
            "watch",
            "--once",
            "--config",
            config.to_str().expect("utf8"),
            "--data",
            data.to_str().expect("utf8"),
        ],
    )
    .await;
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a failed source → exit 3: {err}"
    );
    assert!(
        err.contains("shitaraba:") && err.contains("503"),
        "the failure is reported: {err}"
    );
    // Every risky post on 5ch is a hit; the したらば ones wait for the site to recover.
    let store = Store::open(&data).expect("store");
    let hits = store.hits(&HitFilter::default()).expect("hits");
    assert!(hits.iter().all(|h| h.source_id.starts_with("5ch:")));
    let fivech_risky = posted
        .posts
        .values()
        .filter(|p| p.site == "5ch" && p.target.is_some())
        .count();
    assert!(fivech_risky > 0);
    assert_eq!(hits.len(), fivech_risky, "every risky 5ch post is one hit");
    let states = store.source_states().expect("states");
    let bad = states
        .iter()
        .find(|s| s.source_id.starts_with("shitaraba:"))
        .expect("state");
    assert!(
        bad.failing() && bad.last_error.as_deref().is_some_and(|e| e.contains("503")),
        "{bad:?}"
    );
}

#[test]
fn demo_prints_hits_from_the_simulated_web() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("demo-data");
    let started = Instant::now();
    let out = mimamori(
        dir.path(),
        &[
            "demo",
            "--duration",
            "15s",
            "--data",
            data.to_str().expect("utf8"),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(40));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("HIT"), "{stdout}");
    assert!(
        stdout.contains("tanaka_misaki") && stdout.contains("personal data: phone"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("3141-5926"),
        "watched phone printed in clear: {stdout}"
    );
    assert!(
        stdout.contains("mimamori hits --data"),
        "says where to look next: {stdout}"
    );
    assert!(data.join("state.sqlite").is_file(), "--data is honoured");
}

#[test]
fn bench_crawl_reports_ratios_throughput_and_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "bench",
        "crawl",
        "--threads",
        "40",
        "--cycles",
        "1",
        "--latency-posts",
        "3",
        "--every",
        "1s",
        "--json",
        "--workdir",
    ];
    let mut args: Vec<&str> = args.to_vec();
    let work = dir.path().join("bench");
    args.push(work.to_str().expect("utf8"));
    let out = mimamori(dir.path(), &args, b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "5ch",
        "shitaraba",
        "ratio",
        "polls/s/core",
        "latency (poll every 1.0 s): 3 of 3",
    ] {
        assert!(stdout.contains(needle), "{needle} missing: {stdout}");
    }
    let json = &stdout[stdout.find("{\n").expect("json report")..];
    let v: serde_json::Value = serde_json::from_str(json).expect("json");
    for b in v["boards"].as_array().expect("boards") {
        let ratio = b["ratio"].as_f64().expect("ratio");
        assert!(ratio > 1.0 && ratio < 3.0, "{b}");
    }
    assert!(
        v["latency"]["max_s"].as_f64().expect("max") <= 2.0 + 1.0,
        "{}",
        v["latency"]
    );
}
