//! `mimamori hits [--new] [--json] [--target ID]`: the recorded hits, newest first, from
//! `<data>/state.sqlite`. `--json` prints one JSON array (design.md §3: `id`, `target`, `url`,
//! `post_key`, `posted_at`, `categories`, `severity`, `status`, plus `pii`, `source_id`,
//! `created_at` and the matches, personal values masked).

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::Outcome;
use mimamori::store::{HitFilter, STATE_FILE, Store};

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
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    if !data.join(STATE_FILE).is_file() {
        anyhow::bail!(
            "{}: no state yet (run `mimamori watch` or `mimamori demo --data {}` first)",
            data.join(STATE_FILE).display(),
            data.display()
        );
    }
    let store = Store::open(data)?;
    let filter = HitFilter {
        new_only: args.new,
        target: args.target.clone(),
        limit: args.limit,
        ..Default::default()
    };
    let hits = store.hits(&filter)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &hits).context("cannot write the hits")?;
        writeln!(out).context("cannot write the hits")?;
        return Ok(Outcome::Ok);
    }
    for h in &hits {
        writeln!(
            out,
            "#{:<5} {:<9} sev {:>3}  {}  {}  {}",
            h.id,
            h.status,
            h.severity,
            h.target,
            h.categories.join(","),
            h.url
        )
        .context("cannot write the hits")?;
        let posted = h.posted_at.as_deref().unwrap_or("-");
        let pii = if h.pii.is_empty() {
            String::new()
        } else {
            format!("  personal data: {}", h.pii.join(","))
        };
        writeln!(out, "       posted {posted}  found {}{pii}", h.created_at)
            .context("cannot write the hits")?;
    }
    if hits.is_empty() {
        eprintln!(
            "mimamori: no hits{}",
            if args.new { " with status new" } else { "" }
        );
    }
    Ok(Outcome::Ok)
}
