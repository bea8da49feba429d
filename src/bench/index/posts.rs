//! Realistic [`Post`]s for the index benchmark: bodies from the seeded corpus generator
//! ([`super::super::corpus`]), the fields around them from `index_sites.toml`.
//!
//! Posts are grouped into threads (5ch, したらば), feeds (RSS) or pages (HTML boards, review
//! sites): each kind keeps a pool of open threads, a post goes to one of them or opens a new
//! one, and posts are numbered in their thread. Post times run evenly over [`SPAN_DAYS`] days
//! up to a fixed end ([`corpus_end`]), with jitter, so the same seed gives the same posts on
//! every machine and date filters mean the same thing in every run.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde::Deserialize;

use super::super::BenchError;
use crate::config::Watchlist;
use crate::model::{Post, jst};
use crate::simweb::corpus::{GeneratedPost, Generator, SplitMix64};

/// The sites, names and title forms, embedded at build time.
const SITES: &str = include_str!("../index_sites.toml");
/// Days over which the posts are spread.
pub const SPAN_DAYS: i64 = 90;
/// Open threads per source kind.
const OPEN_THREADS: usize = 64;
/// Longest thread title, in characters (before the decoration).
const TITLE_CHARS: usize = 24;
/// Letters of a board poster ID.
const ID_LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The newest post time: 2025-06-30 21:00 JST (fixed, so runs and filters are comparable).
pub fn corpus_end() -> DateTime<Utc> {
    jst()
        .with_ymd_and_hms(2025, 6, 30, 21, 0, 0)
        .single()
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |t| t.with_timezone(&Utc))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSites {
    kind: Vec<KindSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KindSpec {
    kind: String,
    weight: u32,
    thread_posts: u32,
    sites: Vec<String>,
    names: Vec<String>,
    titles: Vec<String>,
    has_id: bool,
}

/// One generated post with what the generator meant it to be.
#[derive(Debug, Clone)]
pub struct BenchPost {
    /// The post, as a source would hand it over.
    pub post: Post,
    /// Index of the watchlist target it was generated to mention.
    pub target: Option<usize>,
    /// Whether it was generated with a risk word or phone number.
    pub risky: bool,
}

struct Thread {
    site: usize,
    key: i64,
    title: String,
    posts: u64,
}

/// Generates `n` posts with seed `seed` about the targets of `watchlist`.
pub fn generate(n: usize, seed: u64, watchlist: &Watchlist) -> Result<Vec<BenchPost>, BenchError> {
    let raw: RawSites =
        toml::from_str(SITES).map_err(|e| BenchError::Words(format!("index_sites.toml: {e}")))?;
    let kinds = raw.kind;
    if kinds.is_empty()
        || kinds.iter().any(|k| {
            k.sites.is_empty() || k.names.is_empty() || k.titles.is_empty() || k.weight == 0
        })
    {
        return Err(BenchError::Words(
            "index_sites.toml: every kind needs a weight, sites, names and titles".into(),
        ));
    }
    let total_weight: u32 = kinds.iter().map(|k| k.weight).sum();
    let mut bodies = Generator::new(seed, watchlist)?;
    // Titles come from their own stream, so the bodies are those of `bench analyze`'s seed.
    let mut titles = Generator::new(seed ^ 0x7469_746c_6573, &Watchlist::default())?;
    let mut rng = SplitMix64::new(seed.rotate_left(17) ^ 0x6d69_6d61_6d6f_7269);
    let end = corpus_end();
    let span = Duration::days(SPAN_DAYS).num_seconds();
    let start = end.timestamp() - span;
    let step = span as f64 / n.max(1) as f64;
    let fetched_delay = 120;

    let mut open: Vec<Vec<Thread>> = kinds.iter().map(|_| Vec::new()).collect();
    // Thread keys are creation times in seconds, kept unique per kind (they name the thread).
    let mut last_key: Vec<i64> = vec![i64::MIN; kinds.len()];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut w = rng.below(total_weight as usize) as u32;
        let k = kinds
            .iter()
            .position(|k| {
                if w < k.weight {
                    true
                } else {
                    w -= k.weight;
                    false
                }
            })
            .unwrap_or(0);
        let spec = &kinds[k];
        let jitter = rng.below(step.max(1.0) as usize) as i64;
        let at = start + (i as f64 * step) as i64 + jitter;
        let pool = &mut open[k];
        let new_thread =
            pool.len() < OPEN_THREADS || rng.chance(1.0 / f64::from(spec.thread_posts));
        let slot = if new_thread {
            last_key[k] = at.max(last_key[k].saturating_add(1));
            let thread = Thread {
                site: rng.below(spec.sites.len()),
                key: last_key[k],
                title: thread_title(spec, &mut titles, &mut rng),
                posts: 0,
            };
            if pool.len() < OPEN_THREADS {
                pool.push(thread);
                pool.len() - 1
            } else {
                let s = rng.below(pool.len());
                pool[s] = thread;
                s
            }
        } else {
            rng.below(pool.len())
        };
        let thread = &mut pool[slot];
        thread.posts += 1;
        let GeneratedPost {
            text,
            target,
            risky,
        } = bodies.post();
        let post = make_post(spec, thread, text, at, fetched_delay, &mut rng);
        out.push(BenchPost {
            post,
            target,
            risky,
        });
    }
    Ok(out)
}

fn thread_title(spec: &KindSpec, titles: &mut Generator, rng: &mut SplitMix64) -> String {
    let text = titles.post().text;
    let text = text.trim_start_matches(|c: char| c == '>' || c.is_ascii_digit() || c == ' ');
    let first: String = text
        .split(['。', '！', '？', '　', ' '])
        .find(|s| !s.is_empty())
        .unwrap_or(text)
        .chars()
        .take(TITLE_CHARS)
        .collect();
    let form = &spec.titles[rng.below(spec.titles.len())];
    form.replace("{title}", &first)
        .replace("{n}", &rng.range(2, 120).to_string())
}

fn make_post(
    spec: &KindSpec,
    thread: &Thread,
    body: String,
    at: i64,
    fetched_delay: i64,
    rng: &mut SplitMix64,
) -> Post {
    let site = &spec.sites[thread.site];
    let n = thread.posts;
    let host = site
        .strip_prefix("https://")
        .and_then(|s| s.split('/').next())
        .unwrap_or(site);
    let (key, url) = match spec.kind.as_str() {
        "5ch" | "shitaraba" => {
            let board = site.rsplit("read.cgi/").next().unwrap_or(site);
            (
                format!("{}:{host}/{board}/{}/{n}", spec.kind, thread.key),
                format!("{site}/{}/{n}", thread.key),
            )
        }
        "rss" => (
            format!("rss:{host}/{}-{n}", thread.key),
            format!("{site}/{}{n:03}.html", thread.key),
        ),
        _ => (
            format!("{}:{host}/{}/{n}", spec.kind, thread.key),
            format!("{site}/tid={}/rrid={n}/", thread.key),
        ),
    };
    let author_id = spec.has_id.then(|| {
        (0..8)
            .map(|_| ID_LETTERS[rng.below(ID_LETTERS.len())] as char)
            .collect::<String>()
    });
    let tz: FixedOffset = jst();
    let posted = Utc
        .timestamp_opt(at, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .with_timezone(&tz);
    Post {
        key,
        source_kind: spec.kind.clone(),
        source_id: format!("{}:{host}", spec.kind),
        source_url: site.clone(),
        url,
        thread_title: Some(thread.title.clone()),
        number: Some(n),
        author_name: Some(spec.names[rng.below(spec.names.len())].clone()),
        author_id,
        posted_at_raw: Some(posted.format("%Y/%m/%d %H:%M:%S").to_string()),
        posted_at: Some(posted),
        body,
        body_html: None,
        fetched_at: posted.with_timezone(&Utc) + Duration::seconds(fetched_delay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_are_seeded_unique_and_spread() {
        let w = super::super::super::builtin_watchlist().expect("watchlist");
        let a = generate(3000, 9, &w).expect("posts");
        let b = generate(3000, 9, &w).expect("posts");
        assert_eq!(a.len(), 3000);
        assert!(a.iter().zip(&b).all(|(x, y)| x.post == y.post));
        let keys: std::collections::HashSet<&str> = a.iter().map(|p| p.post.key.as_str()).collect();
        assert_eq!(keys.len(), a.len(), "post keys are unique");
        for kind in ["5ch", "shitaraba", "rss", "html"] {
            assert!(a.iter().any(|p| p.post.source_kind == kind), "no {kind}");
        }
        let first = a[0].post.posted_at.expect("time");
        let last = a[a.len() - 1].post.posted_at.expect("time");
        assert!((last - first).num_days() >= SPAN_DAYS - 1);
        assert!(last.with_timezone(&Utc) <= corpus_end());
        assert!(a.iter().any(|p| p.target.is_some()));
        assert!(a.iter().all(|p| url::Url::parse(&p.post.url).is_ok()));
    }
}
