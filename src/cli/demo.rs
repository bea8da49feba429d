//! `mimamori demo [--duration 60s]`: the whole pipeline on a simulated web, with no internet.
//!
//! Starts every simulated site on 127.0.0.1 (boards, review site, feed, suggest API, SNS
//! search), watches them with `watchlists/example.toml`'s targets (embedded, so it runs from
//! any directory) polling every 2 s, and keeps posts arriving: generated chatter every second
//! plus scripted hits — defamation, insults, threats and leaked personal data about the
//! example targets, from `data/demo/posts.jsonl`. Each new hit is printed as it is found; at
//! the end (Ctrl-C or `--duration`) it says where the state is and what to run next.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use tokio::sync::mpsc;

use super::Outcome;
use mimamori::config::{self, SourceConfig};
use mimamori::index::SyncHandle;
use mimamori::model::{Post, jst};
use mimamori::simweb::bluesky::SimBluesky;
use mimamori::simweb::fivech::SimFiveCh;
use mimamori::simweb::mastodon::SimMastodon;
use mimamori::simweb::review::SimReview;
use mimamori::simweb::rss::SimRss;
use mimamori::simweb::shitaraba::SimShitaraba;
use mimamori::simweb::suggest::SimSuggest;
use mimamori::simweb::{SimConfig, SimSite, SimWeb};
use mimamori::sources::bluesky::BlueskySource;
use mimamori::sources::web::EnvLookup;
use mimamori::sources::{self, Source, SourceError};
use mimamori::store::{Hit, STATE_FILE, Store};
use mimamori::watch::progress::Progress;
use mimamori::watch::{WatchEvent, Watcher};

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Stop after this long (`60s`, `2m`); default: until Ctrl-C.
    #[arg(long, value_parser = config::parse_duration)]
    duration: Option<Duration>,
    /// Seed of the simulated web's script (same seed, same posts).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Where to serve the web page (an ephemeral port when taken).
    #[arg(long, default_value = "127.0.0.1:8080")]
    serve_addr: std::net::SocketAddr,
}

const EXAMPLE: &str = include_str!("../../watchlists/example.toml");
const POSTS: &str = include_str!("../../data/demo/posts.jsonl");

/// How often the demo polls each source.
const EVERY: &str = "2s";
/// Generated chatter: this many posts per second.
const CHATTER_PER_SEC: usize = 2;

/// Every simulated site there is.
fn sites(example: &config::Watchlist) -> Vec<Arc<dyn SimSite>> {
    vec![
        Arc::new(SimFiveCh::new("software")),
        Arc::new(SimShitaraba::new("game", "1234")),
        Arc::new(SimReview::new(20)),
        Arc::new(SimRss::new(20)),
        Arc::new(SimSuggest::new(example)),
        Arc::new(SimMastodon::new(example)),
        Arc::new(SimBluesky::new(BSKY_ID, BSKY_PASSWORD)),
    ]
}

/// Credentials of the simulated Bluesky (handed to the source directly, not via the
/// environment).
const BSKY_ID: &str = "demo.bsky.social";
const BSKY_PASSWORD: &str = "demo-app-password";
const BSKY_ID_ENV: &str = "MIMAMORI_DEMO_BSKY_ID";
const BSKY_PASSWORD_ENV: &str = "MIMAMORI_DEMO_BSKY_PASSWORD";

/// `[[source]]` tables for the running sites, with what each kind needs beyond its URL.
fn sources_toml(web: &SimWeb) -> String {
    let mut out = String::new();
    for s in &web.sites {
        out.push_str(&format!(
            "[[source]]\nkind = \"{}\"\nurl = \"{}\"\nevery = \"{EVERY}\"\n",
            s.kind, s.url
        ));
        match s.kind {
            "html" => out.push_str("preset = \"tabelog\"\n"),
            "bluesky" => out.push_str(&format!(
                "identifier_env = \"{BSKY_ID_ENV}\"\npassword_env = \"{BSKY_PASSWORD_ENV}\"\n"
            )),
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// Builds a source; the simulated Bluesky gets the demo credentials.
fn build_source(cfg: &SourceConfig) -> Result<Box<dyn Source>, SourceError> {
    if cfg.kind == "bluesky" {
        let env: EnvLookup = Arc::new(|name| match name {
            BSKY_ID_ENV => Some(BSKY_ID.to_string()),
            BSKY_PASSWORD_ENV => Some(BSKY_PASSWORD.to_string()),
            _ => None,
        });
        return Ok(Box::new(BlueskySource::with_env(cfg, env)?));
    }
    sources::build(cfg)
}

#[derive(serde::Deserialize)]
struct DemoPost {
    text: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

pub fn run(args: &Args, data: Option<&Path>) -> anyhow::Result<Outcome> {
    let dir = match data {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("mimamori-demo-{}", std::process::id())),
    };
    let scripted: Vec<DemoPost> = POSTS
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("bundled data/demo/posts.jsonl is not valid JSON Lines")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(demo(args, &dir, scripted))
}

async fn demo(args: &Args, dir: &Path, scripted: Vec<DemoPost>) -> anyhow::Result<Outcome> {
    let example_path = Path::new("watchlists/example.toml");
    let example = config::parse_str(EXAMPLE, example_path)?;
    let sites = sites(&example);
    anyhow::ensure!(
        !sites.is_empty(),
        "no simulated site is built into this mimamori"
    );
    let sim = SimConfig {
        seed: args.seed,
        ..SimConfig::default()
    };
    let web = Arc::new(
        SimWeb::start(sim, &example, sites)
            .await
            .context("cannot start the simulated web")?,
    );
    let text = format!(
        "{EXAMPLE}\n[fetch]\nmin_delay = \"0s\"\n\n{}",
        sources_toml(&web)
    );
    let watchlist = config::parse_str(&text, example_path).context("demo watchlist")?;
    let store = Arc::new(Store::open(dir)?);
    let index = super::watch::start_index(dir, Arc::clone(&store)).map(Arc::new);
    let page = mimamori::serve::spawn_local(
        dir,
        Arc::clone(&store),
        args.serve_addr,
        Some(example.clone()),
    )
    .await?;
    outln!("mimamori demo: web page on {page}");
    let (tx, rx) = mpsc::unbounded_channel();
    let watcher = tokio::task::spawn_blocking(move || {
        Watcher::from_watchlist_with(&watchlist, store, &build_source)
    })
    .await
    .context("cannot build the watcher")??
    .with_events(tx);
    let watcher = Arc::new(watcher);

    outln!(
        "mimamori demo: {} targets from watchlists/example.toml; simulated web on 127.0.0.1:",
        example.targets.len()
    );
    for s in &web.sites {
        outln!("  {:<10} {:<10} {}", s.name, s.kind, s.url);
    }
    outln!(
        "Polling every {EVERY}; posts arrive every second. State: {}\n{}\n",
        dir.join(STATE_FILE).display(),
        match args.duration {
            Some(d) => format!("Running for {} s (Ctrl-C stops earlier).", d.as_secs()),
            None => "Press Ctrl-C to stop.".to_string(),
        }
    );

    let chatter = web.run_script(Duration::from_secs(1), CHATTER_PER_SEC);
    let script = tokio::spawn(post_scripted_hits(Arc::clone(&web), scripted));
    let progress = Arc::new(Progress::start(
        Arc::clone(&watcher),
        Duration::from_secs(10),
    ));
    let printer = tokio::spawn(print_hits(rx, Arc::clone(&progress), index.clone()));
    let duration = args.duration;
    let stop = async move {
        match duration {
            Some(d) => tokio::select! {
                () = tokio::time::sleep(d) => {}
                () = super::watch::shutdown_signal() => {}
            },
            None => super::watch::shutdown_signal().await,
        }
    };
    let summary = watcher.run(stop).await;
    chatter.abort();
    script.abort();
    // The progress task holds the watcher, and the watcher the event sender: stop it so the
    // printer sees the channel close.
    progress.stop();
    drop(watcher);
    let _ = printer.await;
    if let Ok(p) = Arc::try_unwrap(progress) {
        p.finish();
    }
    super::watch::finish_index(index);

    let t = &summary.totals;
    outln!(
        "\n{} polls, {} requests, {} new posts analyzed, {} hits recorded.",
        t.polls,
        t.requests,
        t.new_posts,
        t.hits
    );
    for (source, error) in &summary.failing {
        eprintln!("mimamori: source failed: {source}: {}", super::line(error));
    }
    if t.polls == 0 && t.failed_polls > 0 {
        anyhow::bail!(
            "no poll was committed: all {} failed (the errors are above; a full disk or an unwritable --data directory is the usual cause)",
            t.failed_polls
        );
    }
    let data = shell_path(dir);
    outln!("Next:");
    outln!(
        "  mimamori hits --data {data}            # the hits, newest first (--json for scripts)"
    );
    outln!("  mimamori hits --data {data} --new --target tanaka_misaki");
    outln!("  mimamori search --data {data} 'さくら食品 食中毒'   # full-text search, kana too");
    outln!(
        "  mimamori watch --config watchlists/example.toml   # watch real sources: add [[source]]s first"
    );
    Ok(Outcome::Ok)
}

/// Posts the scripted texts, two a second, each to the site of its kind when there is one
/// (else the next site in turn), in a thread whose title fits it (the さくら食品 thread for
/// posts that rely on their thread title, a chat thread otherwise); then one every five
/// seconds, round and round.
async fn post_scripted_hits(web: Arc<SimWeb>, scripted: Vec<DemoPost>) {
    if scripted.is_empty() || web.sites.is_empty() {
        return;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for round in 0usize.. {
        for (i, p) in scripted.iter().enumerate() {
            let n = round * scripted.len() + i;
            let site = p
                .source
                .as_deref()
                .and_then(|kind| web.sites.iter().find(|s| s.kind == kind))
                .unwrap_or(&web.sites[n % web.sites.len()]);
            web.post_to(
                site.name,
                thread_for(site.name, p.title.as_deref()),
                &p.text,
            );
            let pause = if round == 0 { 500 } else { 5000 };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }
}

/// The thread slot of the simulated boards for a post: slot 0 of 5ch is the さくら食品
/// thread; 5ch slot 1 and したらば slot 0 are chat threads whose titles name no target.
fn thread_for(site: &str, title: Option<&str>) -> usize {
    match (site, title) {
        ("5ch", Some(t)) if t.contains("さくら食品") => 0,
        ("5ch", _) => 1,
        _ => 0,
    }
}

async fn print_hits(
    mut rx: mpsc::UnboundedReceiver<WatchEvent>,
    progress: Arc<Progress>,
    index: Option<Arc<SyncHandle>>,
) {
    while let Some(ev) = rx.recv().await {
        match ev {
            WatchEvent::Hit { hit, post } => progress.println(&describe(&hit, &post)),
            WatchEvent::Failed { source_id, error } => progress.println_err(&format!(
                "mimamori: {source_id}: {}",
                super::line(&error.to_string())
            )),
            WatchEvent::Polled(report) => {
                if let (Some(index), true) = (&index, report.new_posts > 0) {
                    index.wake();
                }
            }
            WatchEvent::Health(event) => progress.println_err(&format!(
                "mimamori: source {} is now {}: {}",
                event.source_id, event.state, event.detail
            )),
        }
    }
}

/// A hit as the demo prints it: target, categories, severity, URL, masked personal data, the
/// matched text. Never the whole post body; crawled parts with their control and bidi
/// characters shown as `<U+XXXX>`.
fn describe(hit: &Hit, post: &Post) -> String {
    let line = super::line;
    let mut s = format!(
        "HIT [{}] severity {:>3}  {}  categories: {}\n      {}",
        post.source_kind,
        hit.severity,
        hit.target,
        hit.categories.join(","),
        line(&hit.url)
    );
    if !hit.pii.is_empty() {
        s.push_str(&format!("\n      personal data: {}", hit.pii.join(",")));
    }
    for m in &hit.matches {
        let what = match m.kind.as_str() {
            "target" => format!("mention ({})", m.label),
            // The label is `category:term`; terms may be patterns, so show the category.
            "risk" => m.label.split(':').next().unwrap_or("risk").to_string(),
            _ => m.label.clone(),
        };
        s.push_str(&format!("\n      {}: 「{}」", line(&what), line(&m.text)));
    }
    let found = Utc::now().with_timezone(&jst()).format("%H:%M:%S");
    match &post.posted_at_raw {
        Some(raw) => s.push_str(&format!(
            "\n      posted {}, found {found} JST (+09:00)",
            line(raw)
        )),
        None => s.push_str(&format!("\n      found {found} JST (+09:00)")),
    }
    s
}

/// A path as it can be pasted into a shell (quoted when it has spaces).
fn shell_path(p: &Path) -> String {
    let s = p.display().to_string();
    if s.contains(' ') { format!("'{s}'") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_hit_lines_show_controls() {
        let hit = super::super::watch::tests::hostile_hit();
        let post = Post {
            key: hit.post_key.clone(),
            source_kind: "5ch".into(),
            source_id: hit.source_id.clone(),
            source_url: "https://egg.5ch.net/x/".into(),
            url: hit.url.clone(),
            thread_title: None,
            number: Some(1),
            author_name: None,
            author_id: None,
            posted_at_raw: Some("2026/01/01\x1b[2J".into()),
            posted_at: None,
            body: String::new(),
            body_html: None,
            fetched_at: Utc::now(),
        };
        let text = describe(&hit, &post);
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n')
                    || mimamori::text::control::is_bidi_control(c)),
            "{text:?}"
        );
        assert!(text.contains("「詐<U+001B>[2J欺」"), "{text}");
        assert!(text.contains("posted 2026/01/01<U+001B>[2J"), "{text}");
    }
}
