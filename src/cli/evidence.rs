//! `mimamori evidence show HIT` prints the stored HTTP response a hit was found in (from the
//! WARC records captured at fetch time); `mimamori evidence export HIT --out DIR|FILE.zip`
//! writes the legal packet; `mimamori evidence verify [PATH]` re-hashes every
//! evidence byte range and the ledger chain and reports the first break (exit 1);
//! `mimamori evidence screenshot HIT` takes a hit's screenshots and PDF now, by hand (headless
//! Chromium; exit 1 with the reason when it cannot, after keeping a note in the ledger).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::Outcome;
use mimamori::evidence::{self, ledger};
use mimamori::store::{STATE_FILE, Store};

/// Evidence subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the stored HTTP response (status, headers, body) a hit was found in.
    Show {
        /// The hit id (`mimamori hits`).
        hit: i64,
        /// Print every record of the capture (request, response, metadata), not only the
        /// response.
        #[arg(long)]
        all: bool,
    },
    /// Write the legal packet of a hit: WARC records, post, report.html (Japanese), manifest.
    Export {
        /// The hit id (`mimamori hits`).
        hit: i64,
        /// A directory to create, or a file ending in .zip (default: hit-<id>-<time>/).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        send_to: SendToArgs,
    },
    /// Take a hit's screenshot, stamped screenshot and PDF now (headless Chromium).
    Screenshot {
        /// The hit id (`mimamori hits`).
        hit: i64,
        /// Page-load limit.
        #[arg(long, default_value = "30s", value_parser = mimamori::config::parse_duration)]
        timeout: std::time::Duration,
        /// Viewport width in CSS pixels.
        #[arg(long, default_value_t = 1280, value_parser = clap::value_parser!(u32).range(320..=3840))]
        width: u32,
    },
    /// Re-hash every evidence file range and check the ledger chain.
    Verify {
        /// A data directory or an evidence directory (default: the data directory's).
        path: Option<PathBuf>,
    },
}

/// How `evidence export` captures the 送付先 records the ledger does not hold yet.
#[derive(clap::Args)]
pub struct SendToArgs {
    /// Capture nothing now: the packet holds only the RDAP record and operator page kept before.
    #[arg(long)]
    offline: bool,
    /// IANA-style RDAP bootstrap directory (default: [whois] bootstrap, else data.iana.org).
    #[arg(long, value_name = "URL", conflicts_with = "rdap")]
    bootstrap: Option<String>,
    /// Ask this RDAP base URL directly.
    #[arg(long, value_name = "URL")]
    rdap: Option<String>,
    /// The site's operator / terms page (default: the link on its top page).
    #[arg(long, value_name = "URL")]
    operator_url: Option<String>,
    /// One TOML file with `[whois]` / `[fetch]` (default: watchlists/*.toml if present).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(cmd: &Command, data: &Path) -> anyhow::Result<Outcome> {
    match cmd {
        Command::Show { hit, all } => show(*hit, *all, data),
        Command::Export { hit, out, send_to } => export(*hit, out.as_deref(), send_to, data),
        Command::Verify { path } => verify(path.as_deref(), data),
        Command::Screenshot {
            hit,
            timeout,
            width,
        } => screenshot(*hit, *timeout, *width, data),
    }
}

fn show(hit_id: i64, all: bool, data: &Path) -> anyhow::Result<Outcome> {
    let (_, hit) = open_hit(data, hit_id)?;
    let dir = evidence::evidence_dir(data);
    let entries: Vec<_> = ledger::entries(&dir)?
        .into_iter()
        .filter(|e| e.kind == "warc" && e.post_keys.contains(&hit.post_key))
        .collect();
    let Some(entry) = entries.first() else {
        anyhow::bail!(
            "hit {hit_id} ({}) has no captured evidence in {}",
            hit.url,
            dir.display()
        );
    };
    let records = evidence::read_entry(&dir, entry)?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if all {
        out.write_all(&records)
            .context("cannot write the records")?;
        return Ok(Outcome::Ok);
    }
    let block = evidence::warc::response_block(&records).with_context(|| {
        format!(
            "{}: the capture at offset {} holds no response record",
            entry.path, entry.offset
        )
    })?;
    eprintln!(
        "mimamori: hit {hit_id}: {} captured {} ({}, ledger entry {})",
        entry.url, entry.captured_at, entry.path, entry.seq
    );
    out.write_all(block).context("cannot write the response")?;
    Ok(Outcome::Ok)
}

fn export(
    hit_id: i64,
    out: Option<&Path>,
    send_to: &SendToArgs,
    data: &Path,
) -> anyhow::Result<Outcome> {
    let (store, hit) = open_hit(data, hit_id)?;
    let send_to_notes = capture_send_to(&hit.url, send_to, data)?;
    for n in &send_to_notes {
        eprintln!("mimamori: 送付先: {n}");
    }
    let input = evidence::export::PacketInput {
        post: store.post(&hit.post_key)?,
        history: store.triage(hit_id)?,
        hit,
        send_to_notes,
    };
    let out = out.map_or_else(|| evidence::export::default_out(hit_id), Path::to_path_buf);
    let manifest = evidence::export::export(data, &input, &out)?;
    outln!("{}", out.display());
    for f in &manifest.files {
        outln!("  {:<18} {:>9} bytes  sha256 {}", f.name, f.size, f.sha256);
    }
    Ok(Outcome::Ok)
}

/// Captures the RDAP record and operator page of the site of `url` into the evidence (unless
/// kept today already, or `--offline`); returns what failed, for the packet. A bad flag or
/// config is an error; an unreachable server is only a note.
fn capture_send_to(url: &str, args: &SendToArgs, data: &Path) -> anyhow::Result<Vec<String>> {
    use mimamori::evidence::sendto;
    use mimamori::rdap::Rdap;
    if args.offline {
        return Ok(vec!["--offline: 新たな照会はしていない".to_string()]);
    }
    let (servers, fetch) = super::whois::rdap_settings(
        args.config.as_deref(),
        args.rdap.as_deref(),
        args.bootstrap.as_deref(),
    )?;
    let operator_url = match &args.operator_url {
        Some(u) => {
            Some(url::Url::parse(u).with_context(|| format!("--operator-url {u:?}: not a URL"))?)
        }
        None => None,
    };
    // Interactive: one retry at most, so an unreachable site costs seconds, not minutes.
    let config = mimamori::fetch::FetchConfig {
        retries: 1,
        ..fetch
    };
    let fetcher = mimamori::fetch::Fetcher::new(config)?;
    let client = Rdap::new(fetcher.clone(), servers);
    let evidence = evidence::Evidence::open(data)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut notes = Vec::new();
    runtime.block_on(async {
        if let Err(e) = sendto::capture_rdap(&evidence, &client, url).await {
            notes.push(format!("RDAP: {e}"));
        }
        if let Err(e) =
            sendto::capture_operator_page(&evidence, &fetcher, url, operator_url.as_ref()).await
        {
            notes.push(format!("operator page: {e}"));
        }
    });
    Ok(notes)
}

fn screenshot(
    hit_id: i64,
    timeout: std::time::Duration,
    width: u32,
    data: &Path,
) -> anyhow::Result<Outcome> {
    use mimamori::evidence::screenshot::{self, Shooter, ShotConfig, ShotTarget};
    let (store, hit) = open_hit(data, hit_id)?;
    let fallback = store.post(&hit.post_key)?.map(|p| p.source_url);
    let target = ShotTarget::of_hit(&hit, fallback);
    let config = ShotConfig {
        timeout,
        width,
        ..ShotConfig::default()
    };
    let evidence = evidence::Evidence::open(data)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let shooter = Shooter::launch(&config).await?;
        let captured = shooter.capture(&target).await;
        shooter.close().await;
        captured
    });
    match result {
        Ok(captured) => {
            let entries = screenshot::save(&evidence, &target, &captured)?;
            outln!("hit {hit_id}: {} captured", captured.url);
            for e in &entries {
                outln!(
                    "  {:<18} {:>9} bytes  sha256 {}  {}",
                    e.kind,
                    e.length,
                    e.sha256,
                    evidence.dir().join(&e.path).display()
                );
            }
            Ok(Outcome::Ok)
        }
        Err(e) => {
            let note =
                screenshot::save_note(&evidence, &target, &e.to_string(), chrono::Utc::now())?;
            Err(anyhow::Error::new(e).context(format!(
                "no screenshot of hit {hit_id} (note kept in {})",
                evidence.dir().join(&note.path).display()
            )))
        }
    }
}

fn verify(path: Option<&Path>, data: &Path) -> anyhow::Result<Outcome> {
    let dir = match path {
        Some(p) if p.join(ledger::LEDGER_FILE).is_file() => p.to_path_buf(),
        Some(p) => evidence::evidence_dir(p),
        None => evidence::evidence_dir(data),
    };
    let started = std::time::Instant::now();
    let report = ledger::verify(&dir)?;
    let secs = started.elapsed().as_secs_f64();
    match report.first_break {
        None => {
            outln!(
                "ok: {} ledger entries, {} bytes of evidence re-hashed, chain intact ({}; {:.1} MB/s)",
                report.entries,
                report.bytes,
                dir.display(),
                report.bytes as f64 / 1_048_576.0 / secs.max(1e-9)
            );
            for t in &report.torn {
                outln!(
                    "torn tail set aside after a crash mid-write: {} bytes cut from {} at offset {}, kept in {} (hashed into the ledger)",
                    t.length,
                    t.from.path,
                    t.from.offset,
                    t.path
                );
            }
            for p in &report.pending {
                outln!(
                    "torn tail not yet set aside: {} bytes of {} from offset {} are covered by no entry (a crash mid-write; the next `watch` or capture sets them aside)",
                    p.length,
                    p.path,
                    p.offset
                );
            }
            Ok(Outcome::Ok)
        }
        Some((line, why)) => anyhow::bail!(
            "{}:{line}: evidence check failed after {} good entries: {why}",
            dir.join(ledger::LEDGER_FILE).display(),
            report.entries
        ),
    }
}

/// The state and hit `hit_id` of `data`, or an error that says what to run first.
fn open_hit(data: &Path, hit_id: i64) -> anyhow::Result<(Store, mimamori::store::Hit)> {
    if !data.join(STATE_FILE).is_file() {
        anyhow::bail!("{}: no state yet", data.join(STATE_FILE).display());
    }
    let store = Store::open(data)?;
    let hit = store
        .hit(hit_id)?
        .with_context(|| format!("no hit with id {hit_id} (see `mimamori hits`)"))?;
    Ok((store, hit))
}
