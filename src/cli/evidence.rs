//! `mimamori evidence show HIT` prints the stored HTTP response a hit was found in (from the
//! WARC records captured at fetch time): the body decoded in its charset (the `Content-Type`
//! or `<meta>` it was served with, else the source's: Shift_JIS for 5ch, EUC-JP for したらば),
//! personal values masked (`--unmasked` shows them as posted), control and bidi characters
//! shown as `<U+XXXX>`; `--raw` writes the stored bytes as they are (to a file or a pipe, never
//! to a terminal). The packet (`export`) always holds the bytes as stored.
//! `mimamori evidence export HIT --out DIR|FILE.zip`
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
    /// Print the stored HTTP response (status, headers, body) a hit was found in, decoded in
    /// its charset, personal values masked.
    Show {
        /// The hit id (`mimamori hits`).
        hit: i64,
        /// Print every record of the capture (request, response, metadata), not only the
        /// response.
        #[arg(long)]
        all: bool,
        /// Write the stored bytes exactly as kept (charset, controls, personal values): for a
        /// file or a pipe; refused when stdout is a terminal.
        #[arg(long)]
        raw: bool,
        /// Show personal values as posted instead of masked.
        #[arg(long)]
        unmasked: bool,
        /// Watchlist whose personal values are masked (default: watchlists/*.toml).
        #[arg(long)]
        config: Option<PathBuf>,
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
        Command::Show {
            hit,
            all,
            raw,
            unmasked,
            config,
        } => {
            let how = ShowHow {
                all: *all,
                raw: *raw,
                unmasked: *unmasked,
            };
            show(*hit, how, config.as_deref(), data)
        }
        Command::Export { hit, out, send_to } => export(*hit, out.as_deref(), send_to, data),
        Command::Verify { path } => verify(path.as_deref(), data),
        Command::Screenshot {
            hit,
            timeout,
            width,
        } => screenshot(*hit, *timeout, *width, data),
    }
}

/// What `evidence show` prints.
#[derive(Debug, Clone, Copy)]
struct ShowHow {
    /// Every record, not only the response.
    all: bool,
    /// The stored bytes as they are.
    raw: bool,
    /// Personal values in clear.
    unmasked: bool,
}

fn show(hit_id: i64, how: ShowHow, config: Option<&Path>, data: &Path) -> anyhow::Result<Outcome> {
    use std::io::IsTerminal;
    let (store, hit) = open_hit(data, hit_id)?;
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
    if how.raw && std::io::stdout().is_terminal() {
        anyhow::bail!(
            "--raw writes the stored bytes as they are, control characters included: redirect \
             it to a file or a pipe (`mimamori evidence show {hit_id} --raw > response.http`)"
        );
    }
    let records = evidence::read_entry(&dir, entry)?;
    let block = evidence::warc::response_block(&records);
    let source_kind = store.post(&hit.post_key)?.map(|p| p.source_kind);
    let default = default_encoding(source_kind.as_deref());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if how.all {
        if how.raw {
            out.write_all(&records)
                .context("cannot write the records")?;
            return Ok(Outcome::Ok);
        }
        let text = records_text(&records, default);
        return write_shown(&mut out, &text, how, config);
    }
    let block = block.with_context(|| {
        format!(
            "{}: the capture at offset {} holds no response record",
            entry.path, entry.offset
        )
    })?;
    eprintln!(
        "mimamori: hit {hit_id}: {} captured {} ({}, ledger entry {})",
        super::line(&entry.url),
        entry.captured_at,
        entry.path,
        entry.seq
    );
    if how.raw {
        out.write_all(block).context("cannot write the response")?;
        return Ok(Outcome::Ok);
    }
    let (head, body) = mimamori::fetch::charset::decode_response_message(block, default);
    eprintln!(
        "mimamori: body decoded as {}{}",
        body.encoding.name(),
        if body.replaced > 0 {
            format!(" ({} malformed sequences shown as U+FFFD)", body.replaced)
        } else {
            String::new()
        }
    );
    write_shown(&mut out, &format!("{head}{}", body.text), how, config)
}

/// The charset a source's responses are read in when they do not say (what its requests ask
/// the fetcher for).
fn default_encoding(source_kind: Option<&str>) -> &'static encoding_rs::Encoding {
    match source_kind {
        Some("5ch") => encoding_rs::SHIFT_JIS,
        Some("shitaraba") => encoding_rs::EUC_JP,
        _ => encoding_rs::UTF_8,
    }
}

/// Concatenated WARC records as text: each record's header as written, a response's message
/// decoded in its charset, every other block as UTF-8.
fn records_text(records: &[u8], default: &'static encoding_rs::Encoding) -> String {
    let mut out = String::new();
    let mut rest = records;
    while !rest.is_empty() {
        let Some(head_end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            out.push_str(&String::from_utf8_lossy(rest));
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end + 4]);
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|n| n.trim().parse::<usize>().ok());
        let Some(block) = length.and_then(|n| rest.get(head_end + 4..head_end + 4 + n)) else {
            out.push_str(&String::from_utf8_lossy(rest));
            break;
        };
        out.push_str(&head);
        if head.lines().any(|l| l == "WARC-Type: response") {
            let (h, body) = mimamori::fetch::charset::decode_response_message(block, default);
            out.push_str(&h);
            out.push_str(&body.text);
        } else {
            out.push_str(&String::from_utf8_lossy(block));
        }
        rest = rest.get(head_end + 4 + block.len()..).unwrap_or_default();
        let after = rest.len() - rest.trim_ascii_start().len();
        out.push_str(&"\n".repeat(after.min(2)));
        rest = rest.trim_ascii_start();
    }
    out
}

/// Writes evidence text for a person to read: masked unless `--unmasked`, control and bidi
/// characters shown as `<U+XXXX>`.
fn write_shown(
    out: &mut impl Write,
    text: &str,
    how: ShowHow,
    config: Option<&Path>,
) -> anyhow::Result<Outcome> {
    let text = if how.unmasked {
        text.to_string()
    } else {
        super::masker(config)?.mask(text)
    };
    out.write_all(mimamori::text::control::escape_controls(&text).as_bytes())
        .context("cannot write the response")?;
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
    use mimamori::evidence::screenshot::{self, Guard, Shooter, ShotConfig, ShotTarget};
    let (store, hit) = open_hit(data, hit_id)?;
    let fallback = store.post(&hit.post_key)?.map(|p| p.source_url);
    let target = ShotTarget::of_hit(&hit, fallback);
    let config = ShotConfig {
        timeout,
        width,
        ..ShotConfig::default()
    };
    let evidence = evidence::Evidence::open(data)?;
    // robots.txt as the crawler reads it (default fetch settings).
    let fetcher = mimamori::fetch::Fetcher::new(mimamori::fetch::FetchConfig::default())
        .context("cannot set up the HTTP client for robots.txt")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let shooter = Shooter::launch(&config)
            .await?
            .with_guard(Guard::new(Some(fetcher)));
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
