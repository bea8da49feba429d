//! `mimamori triage HIT --status new|reviewing|reported|deleted|ignored [--note …] [--json]`:
//! sets a hit's triage status in `<data>/state.sqlite`. Every change is appended to the hit's
//! history (never overwritten), which is printed afterwards; the search index picks the new
//! status up on its next sync.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::Outcome;
use mimamori::store::{STATE_FILE, Store, TRIAGE_STATUSES};

/// Arguments of `triage`.
#[derive(clap::Args)]
pub struct Args {
    /// The hit id (the `#N` of `mimamori hits`, `id` of `hits --json`).
    hit: i64,
    /// The new status.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(TRIAGE_STATUSES))]
    status: String,
    /// Why, who, what was sent (kept in the history).
    #[arg(long)]
    note: Option<String>,
    /// Print the hit and its history as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args, data: &Path) -> anyhow::Result<Outcome> {
    if !data.join(STATE_FILE).is_file() {
        anyhow::bail!(
            "{}: no state yet (run `mimamori watch` first)",
            data.join(STATE_FILE).display()
        );
    }
    let store = Store::open(data)?;
    store.set_status(args.hit, &args.status, args.note.as_deref())?;
    let hit = store
        .hit(args.hit)?
        .with_context(|| format!("hit {} vanished while being triaged", args.hit))?;
    let history = store.triage(args.hit)?;
    // Best effort: when no watch/serve process keeps the index, bring it up to date now.
    if let Err(e) = mimamori::index::sync::catch_up(data, &store) {
        eprintln!("mimamori: search index not updated: {e}");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let value = serde_json::json!({ "hit": hit, "history": history });
        let json = serde_json::to_string_pretty(&value).context("cannot serialize the hit")?;
        writeln!(out, "{}", super::json(&json)).context("cannot write the hit")?;
        return Ok(Outcome::Ok);
    }
    let line = super::line;
    writeln!(
        out,
        "#{} {} {} {}",
        hit.id,
        hit.status,
        hit.target,
        line(&hit.url)
    )
    .context("cannot write the hit")?;
    writeln!(out, "history:").context("cannot write the hit")?;
    writeln!(out, "  {}  new (recorded)", hit.created_at).context("cannot write the hit")?;
    for t in &history {
        let note = t
            .note
            .as_deref()
            .map(|n| format!("  {}", line(n)))
            .unwrap_or_default();
        writeln!(out, "  {}  {}{note}", t.at, t.status).context("cannot write the hit")?;
    }
    Ok(Outcome::Ok)
}
