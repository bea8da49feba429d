//! `mimamori hits [--new] [--json] [--target ID]`: the recorded hits, newest first, from
//! `<data>/state.sqlite`. `--json` prints one JSON array (design.md §3: `id`, `target`, `url`,
//! `post_key`, `posted_at`, `categories`, `severity`, `status`, plus `pii`, `source_id`,
//! `created_at` and the matches, personal values masked: as stored, and every watched value
//! of the watchlist again, `--config F` or `watchlists/*.toml`). Crawled text printed as text
//! has its control and bidi characters shown as `<U+XXXX>`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::Outcome;
use mimamori::store::{HitFilter, PostCheck, STATE_FILE, SpreadInfo, Store, TriageEntry};

/// Arguments of `hits`.
#[derive(clap::Args)]
pub struct Args {
    /// Only hits not triaged yet (status `new`).
    #[arg(long)]
    new: bool,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// Only this target id.
    #[arg(long)]
    target: Option<String>,
    /// At most this many.
    #[arg(long)]
    limit: Option<usize>,
    /// Watchlist whose personal values are masked (default: watchlists/*.toml).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    if !data.join(STATE_FILE).is_file() {
        anyhow::bail!(
            "{}: no state yet (run `mimamori watch` or `mimamori demo --data {}` first)",
            data.join(STATE_FILE).display(),
            data.display()
        );
    }
    // Reading only: nothing in the data directory is created or changed.
    let store = Store::open_for_reading(data)?;
    let filter = HitFilter {
        new_only: args.new,
        target: args.target.clone(),
        limit: args.limit,
        ..Default::default()
    };
    let mut hits = store.hits(&filter)?;
    let masker = super::masker(args.config.as_deref())?;
    for h in &mut hits {
        mimamori::serve::view::mask_hit(&masker, h);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut checks = HashMap::new();
    let mut spreads = HashMap::new();
    for h in &hits {
        if !checks.contains_key(&h.post_key)
            && let Some(c) = store.post_check(&h.post_key)?
        {
            checks.insert(h.post_key.clone(), c);
        }
        if let Some(s) = store.spread_of(h.id)? {
            spreads.insert(h.id, s);
        }
    }
    if args.json {
        let rows: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| {
                let mut v = serde_json::to_value(h).unwrap_or_default();
                if let Some(obj) = v.as_object_mut() {
                    if let Some(c) = checks.get(&h.post_key) {
                        obj.insert(
                            "recheck".into(),
                            serde_json::to_value(c).unwrap_or_default(),
                        );
                    }
                    if let Some(s) = spreads.get(&h.id) {
                        obj.insert("spread".into(), serde_json::to_value(s).unwrap_or_default());
                    }
                }
                v
            })
            .collect();
        let json = serde_json::to_string_pretty(&rows).context("cannot serialize the hits")?;
        writeln!(out, "{}", super::json(&json)).context("cannot write the hits")?;
        return Ok(Outcome::Ok);
    }
    let line = super::line;
    for h in &hits {
        writeln!(
            out,
            "#{:<5} {:<9} sev {:>3}  {}  {}  {}",
            h.id,
            h.status,
            h.severity,
            h.target,
            h.categories.join(","),
            line(&h.url)
        )
        .context("cannot write the hits")?;
        let posted = h
            .posted_at
            .as_deref()
            .map_or_else(|| "-".to_string(), mimamori::model::human_time_str);
        let pii = if h.pii.is_empty() {
            String::new()
        } else {
            format!("  personal data: {}", h.pii.join(","))
        };
        writeln!(
            out,
            "       posted {}  found {}{pii}",
            line(&posted),
            mimamori::model::human_time_str(&h.created_at)
        )
        .context("cannot write the hits")?;
        if let Some(c) = checks.get(&h.post_key) {
            let l = liveness_line(c, &store.triage(h.id)?);
            writeln!(out, "       {}", line(&l)).context("cannot write the hits")?;
        }
        if let Some(s) = spreads.get(&h.id) {
            writeln!(out, "       {}", line(&spread_line(h.id, s)))
                .context("cannot write the hits")?;
        }
    }
    if hits.is_empty() {
        eprintln!(
            "mimamori: no hits{}",
            if args.new { " with status new" } else { "" }
        );
    }
    Ok(Outcome::Ok)
}

/// `still up (checked 3×, last …)`, `DELETED since … — 2 days after it was reported`.
fn liveness_line(c: &PostCheck, history: &[TriageEntry]) -> String {
    let detail = c.detail.as_deref().unwrap_or("");
    match c.state.as_str() {
        "deleted" => {
            let reported = history
                .iter()
                .filter(|t| t.status == "reported")
                .map(|t| t.at.as_str())
                .min();
            let took = reported.and_then(|r| {
                let (r, d) = (
                    chrono::DateTime::parse_from_rfc3339(r).ok()?,
                    chrono::DateTime::parse_from_rfc3339(&c.since).ok()?,
                );
                let hours = (d - r).num_hours();
                Some(if hours >= 48 {
                    format!(
                        " — takedown took effect within {} days of the report ({r})",
                        hours / 24
                    )
                } else {
                    format!(" — takedown took effect within {hours} h of the report ({r})")
                })
            });
            let last_up = c
                .last_up
                .as_deref()
                .map(|u| format!(", last seen up {u}"))
                .unwrap_or_default();
            format!(
                "DELETED since {} ({detail}){last_up}{}",
                c.since,
                took.unwrap_or_default()
            )
        }
        "changed" => format!("CHANGED since {} ({detail})", c.since),
        "up" => format!(
            "still up (checked {}×, last {}, next {})",
            c.checks, c.last_checked, c.next_check
        ),
        other => format!("re-check: {other} ({detail}; next {})", c.next_check),
    }
}

/// `SPREADING: copy of #3 (…), 2 copies` or `SPREADING: copied 2× (#7 …, #9 …)`.
fn spread_line(id: i64, s: &SpreadInfo) -> String {
    let copies: Vec<String> = s
        .copies
        .iter()
        .map(|c| format!("#{} {}", c.hit_id, c.url))
        .collect();
    if s.first.hit_id == id {
        format!(
            "SPREADING: copied {}× ({})",
            s.copies.len(),
            copies.join(", ")
        )
    } else {
        format!(
            "SPREADING: copy of #{} first seen {} at {} ({} copies: {})",
            s.first.hit_id,
            s.first.seen_at,
            s.first.url,
            s.copies.len(),
            copies.join(", ")
        )
    }
}
