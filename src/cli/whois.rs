//! `mimamori whois DOMAIN|IP|URL [--posted-at TIME] [--bootstrap URL | --rdap URL] [--json]`:
//! who to send it to. Asks RDAP (see `mimamori::rdap`) and prints the site's operator or the
//! network's owner, the registrar, the abuse contact, name servers and dates; with
//! `--posted-at`, the access-log deadline (+90 days) and the outer limit (+6 months) in JST.
//! `[whois]` and `[fetch]` come from `--config F`, else from `watchlists/` when it exists.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Outcome;
use mimamori::evidence::deadlines;
use mimamori::fetch::Fetcher;
use mimamori::rdap::{self, Rdap, Report, Servers, WhoisConfig};

/// Arguments of `whois`.
#[derive(clap::Args)]
pub struct Args {
    /// A domain (`hayabusa9.5ch.net` asks about `5ch.net`), an IP address or a URL.
    target: String,
    /// When the post was made (ISO 8601, or JST `2026/11/30 12:34`): prints the log deadlines.
    #[arg(long, value_name = "TIME")]
    posted_at: Option<String>,
    /// IANA-style bootstrap directory holding dns.json, ipv4.json, ipv6.json.
    #[arg(long, value_name = "URL", conflicts_with = "rdap")]
    bootstrap: Option<String>,
    /// Ask this RDAP base URL directly (`{URL}/domain/NAME`, `{URL}/ip/ADDR`).
    #[arg(long, value_name = "URL")]
    rdap: Option<String>,
    /// One TOML file with `[whois]` / `[fetch]` (default: watchlists/*.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let posted = match &args.posted_at {
        Some(s) => Some(deadlines::parse_time(s).with_context(|| {
            format!("--posted-at {s:?}: not a time (write 2026-11-30T12:34:00+09:00 or 2026/11/30 12:34 JST)")
        })?),
        None => None,
    };
    let (servers, fetch) = rdap_settings(
        args.config.as_deref(),
        args.rdap.as_deref(),
        args.bootstrap.as_deref(),
    )?;
    let fetcher = Fetcher::new(fetch)?;
    let client = Rdap::new(fetcher, servers);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let answer = runtime.block_on(client.lookup_str(&args.target))?;
    let report = Report::of(&args.target, &answer);
    let d = posted.map(|t| deadlines::deadlines(t, "posted_at", chrono::Utc::now()));
    if args.json {
        let mut v = serde_json::to_value(&report).context("cannot serialize the report")?;
        if let (Some(obj), Some(d)) = (v.as_object_mut(), &d) {
            obj.insert(
                "deadlines".into(),
                serde_json::to_value(d).context("cannot serialize the deadlines")?,
            );
        }
        outln!("{}", super::json(&v.to_string()));
        return Ok(Outcome::Ok);
    }
    // What an RDAP server answered (names, addresses, remarks) is shown, not interpreted.
    let text = report.text();
    if !text.is_empty() {
        outln!(
            "{}",
            mimamori::text::control::escape_controls(text.trim_end_matches('\n'))
        );
    }
    if let (Some(t), Some(d)) = (posted, &d) {
        let jst = t.with_timezone(&mimamori::model::jst());
        outln!("{:<14}{}", "posted at", mimamori::model::human_time(&jst));
        outln!(
            "{:<14}{} JST (posted-at + {} days; {} days left) — ask for log preservation before",
            "log deadline",
            d.access_log.date,
            deadlines::ACCESS_LOG_DAYS,
            d.access_log.days_remaining
        );
        outln!(
            "{:<14}{} JST (posted-at + {} months; {} days left)",
            "outer limit",
            d.outer_limit.date,
            deadlines::OUTER_LIMIT_MONTHS,
            d.outer_limit.days_remaining
        );
    }
    Ok(Outcome::Ok)
}

/// Where to ask RDAP and how to fetch, from `--rdap`/`--bootstrap`, else the `[whois]` and
/// `[fetch]` tables of `config` (or of `watchlists/` when it exists), else the defaults.
pub(super) fn rdap_settings(
    config: Option<&Path>,
    rdap_base: Option<&str>,
    bootstrap: Option<&str>,
) -> anyhow::Result<(Servers, mimamori::fetch::FetchConfig)> {
    let watchlist = match config {
        Some(p) => Some(super::load_watchlist(Some(p))?),
        None if Path::new("watchlists").is_dir() => Some(super::load_watchlist(None)?),
        None => None,
    };
    let (whois, fetch) = match &watchlist {
        Some(wl) => (
            WhoisConfig::from_watchlist(wl)?,
            mimamori::watch::fetch_config(wl)?,
        ),
        None => (WhoisConfig::default(), Default::default()),
    };
    let servers = Servers::choose(rdap_base, bootstrap, &whois)?;
    Ok((servers, rdap::fetch_config(&fetch)))
}
