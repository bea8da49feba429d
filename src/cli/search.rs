//! `mimamori search QUERY [--target ID] [--category C] [--source KIND] [--since 7d]
//! [--until …] [--limit N] [--json] [--config F]`: full-text search of `<data>/tantivy/`.
//! Snippets and titles are masked as the page masks them (every watched value of the
//! watchlist, whatever the detector finds); crawled text printed as text has its control and
//! bidi characters shown as `<U+XXXX>`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use super::Outcome;
use mimamori::index::SearchIndex;
use mimamori::index::search::SearchRequest;
use mimamori::store::{STATE_FILE, Store};

const QUERY_HELP: &str = "\
Query syntax:
  山田商事 詐欺              both words (words are ANDed)
  \"山田商事は詐欺\"          a phrase: the words in this order
  詐欺 OR 倒産               either word
  山田商事 NOT 求人          (or -求人) without a word
  やまだ                     kana finds the kanji it reads (山田)
  target:yamada  category:threat  source:5ch  host:egg.5ch.net  status:new
  author:名無し  author_id:AbCd1234  title:スレ
  severity:[50 TO 100]       a range
A word without a field is searched in the body (words, readings and two-letter
substrings) and the thread title; text is normalized like the matcher does
(full/half width, katakana = hiragana, upper = lower case).
--since/--until take a duration back from now (7d, 12h) or a date (2024-05-01, JST)
or an RFC 3339 time.";

/// Arguments of `search`.
#[derive(clap::Args)]
#[command(after_help = QUERY_HELP)]
pub struct Args {
    /// The query (see the syntax below); `*` lists every post.
    query: String,
    /// Only posts that mention this target id.
    #[arg(long)]
    target: Option<String>,
    /// Only posts with a hit of this category (defamation, insult, threat, personal_data).
    #[arg(long)]
    category: Option<String>,
    /// Only posts from this source kind (5ch, shitaraba, rss, html, …).
    #[arg(long)]
    source: Option<String>,
    /// Only posts posted since then: 7d, 12h, 2024-05-01 or an RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    since: Option<DateTime<Utc>>,
    /// Only posts posted before then (same forms as --since).
    #[arg(long, value_parser = parse_time)]
    until: Option<DateTime<Utc>>,
    /// At most this many results.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Watchlist whose personal values are masked (default: watchlists/*.toml).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

/// A duration back from now (`7d`), a date at midnight JST, or an RFC 3339 time.
fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(mimamori::model::jst()).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| format!("{s:?} is not a valid date"));
    }
    let back = mimamori::config::parse_duration(s).map_err(|e| {
        format!("{e}, a date (2024-05-01) or an RFC 3339 time (2024-05-01T09:00:00+09:00)")
    })?;
    let back = chrono::Duration::from_std(back).map_err(|e| e.to_string())?;
    Ok(Utc::now() - back)
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    // The index follows state.sqlite; when no watch/serve process keeps it current, catch it
    // up (or build it) first so a search never misses a stored post.
    if data.join(STATE_FILE).is_file() {
        let store = Store::open(data)?;
        if let Some(stats) = mimamori::index::sync::catch_up(data, &store)?
            && stats.posts > 0
        {
            tracing::info!(posts = stats.posts, "search index caught up");
        }
    }
    let index = SearchIndex::open(data)?;
    let request = SearchRequest {
        query: args.query.clone(),
        target: args.target.clone(),
        category: args.category.clone(),
        source: args.source.clone(),
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    let mut results = index.search(&request)?;
    let masker = super::masker(args.config.as_deref())?;
    for r in &mut results {
        mimamori::serve::view::mask_result(&masker, r);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let json =
            serde_json::to_string_pretty(&results).context("cannot serialize the results")?;
        writeln!(out, "{}", super::json(&json)).context("cannot write the results")?;
        return Ok(Outcome::Ok);
    }
    for r in &results {
        let posted = r
            .posted_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(
                || "-".to_string(),
                |t| t.format("%Y-%m-%d %H:%M JST").to_string(),
            );
        let targets = if r.targets.is_empty() {
            String::new()
        } else {
            format!("  [{}]", r.targets.join(","))
        };
        let flagged = if r.categories.is_empty() {
            String::new()
        } else {
            format!(
                "  {} sev {} ({})",
                r.categories.join(","),
                r.severity,
                r.status
            )
        };
        let line = super::line;
        writeln!(out, "{posted}  {}{targets}{flagged}", line(&r.source))
            .and_then(|()| writeln!(out, "  {}", line(&r.url)))
            .and_then(|()| writeln!(out, "  {}", line(&r.snippet)))
            .and_then(|()| writeln!(out))
            .context("cannot write the results")?;
    }
    if results.is_empty() {
        eprintln!("mimamori: no posts match {:?}", args.query);
    }
    Ok(Outcome::Ok)
}
