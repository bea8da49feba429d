//! `mimamori search QUERY [--target ID] [--category C] [--source KIND] [--since 7d]
//! [--until …] [--limit N] [--timeout 5s] [--json] [--config F]`: full-text search of `<data>/tantivy/`.
//! Snippets and titles are masked as the page masks them (every watched value of the
//! watchlist, whatever the detector finds); crawled text printed as text has its control and
//! bidi characters shown as `<U+XXXX>`.
//!
//! Searching needs no write access: the index and the state are opened read-only, and the
//! index is only caught up (which writes) when it is behind the state and the data directory
//! is writable; a write-protected one is searched as it is, with a warning when it is behind.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

use super::Outcome;
use mimamori::index::search::{Deadline, SearchRequest};
use mimamori::index::{INDEX_DIR, IndexError, SearchIndex, sync};
use mimamori::store::{STATE_FILE, Store, write_protected};

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
or an RFC 3339 time.
Limits: a query of at most 1000 characters, 64 terms and parentheses nested 8 deep;
a search stops after --timeout (default 5s).";

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
    /// Stop a search that runs longer than this (500ms, 5s, 1m).
    #[arg(long, value_parser = parse_timeout, default_value = "5s")]
    timeout: Duration,
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
    let back = mimamori::index::search::parse_duration(s).map_err(|e| {
        format!("{e}, a date (2024-05-01) or an RFC 3339 time (2024-05-01T09:00:00+09:00)")
    })?;
    let back = chrono::Duration::from_std(back).map_err(|e| e.to_string())?;
    Ok(Utc::now() - back)
}

/// `--timeout`: a duration, as in the config files.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    mimamori::index::search::parse_duration(s)
}

/// Brings the index up to date with `state.sqlite` when it is behind and the data directory
/// may be written (building it when missing), so a search never misses a stored post. Reads
/// only when the index is current; warns and goes on when it cannot catch up.
fn catch_up(data: &Path) -> anyhow::Result<()> {
    let read_only = write_protected(data)
        || write_protected(&data.join(STATE_FILE))
        || write_protected(&data.join(INDEX_DIR));
    let store = Store::open_for_reading(data)?;
    let behind = match sync::lag(data, &store) {
        Ok(lag) if lag.is_current() => return Ok(()),
        Ok(lag) => Some(lag),
        // No index yet: build it (below) unless the directory is read-only.
        Err(IndexError::Missing { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if read_only {
        if let Some(lag) = behind {
            eprintln!(
                "mimamori: warning: the search index is {} posts and {} triage changes behind {} and the data directory is read-only: results may miss them (run `mimamori search` once with write access, or keep `watch` or `serve` running)",
                lag.posts.max(0),
                lag.triage.max(0),
                data.join(STATE_FILE).display()
            );
        }
        return Ok(());
    }
    match sync::catch_up(data, &store) {
        Ok(Some(stats)) if stats.posts > 0 => {
            tracing::info!(posts = stats.posts, "search index caught up");
        }
        Ok(_) => {}
        Err(e) if behind.is_some() => {
            eprintln!(
                "mimamori: warning: cannot bring the search index up to date ({e}); searching it as it is"
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    // Checked here too (the index checks again) so that a refused query costs nothing.
    mimamori::index::limits::check(&args.query).map_err(IndexError::QueryLimit)?;
    if data.join(STATE_FILE).is_file() {
        catch_up(data)?;
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
    let mut results = index.search_within(&request, &Deadline::after(args.timeout))?;
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
            .map_or_else(|| "-".to_string(), |t| mimamori::model::human_time(&t));
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, FromArgMatches};
    use mimamori::index::limits::{MAX_QUERY_CHARS, MAX_QUERY_DEPTH, MAX_QUERY_TERMS};
    use mimamori::index::search::SEARCH_BUDGET;

    #[test]
    fn the_help_states_the_limits_in_force() {
        let limits = format!(
            "at most {MAX_QUERY_CHARS} characters, {MAX_QUERY_TERMS} terms and parentheses nested {MAX_QUERY_DEPTH} deep"
        );
        assert!(QUERY_HELP.contains(&limits), "{QUERY_HELP}");
        let timeout = format!("default {}s", SEARCH_BUDGET.as_secs());
        assert!(QUERY_HELP.contains(&timeout), "{QUERY_HELP}");
    }

    #[test]
    fn the_default_timeout_is_the_search_budget() {
        let cmd = Args::augment_args(clap::Command::new("search"));
        let matches = cmd.try_get_matches_from(["search", "詐欺"]).expect("parse");
        let args = Args::from_arg_matches(&matches).expect("args");
        assert_eq!(args.timeout, SEARCH_BUDGET);
    }
}
