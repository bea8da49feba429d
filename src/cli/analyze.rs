//! `mimamori analyze --watchlist F [INPUT]`: JSON Lines in, one JSON line out per input line,
//! in order. A bad line yields `{"id", "error"}` for that line and processing goes on (exit 3).
//! A UTF-8 byte order mark at the start of the input is skipped.

use std::io::{BufRead, BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::Context;

use super::Outcome;
use mimamori::analyze::{Analysis, Analyzer, PostInput};

/// Arguments of `analyze`.
#[derive(clap::Args)]
pub struct Args {
    /// Watchlist file or directory (default: every watchlists/*.toml).
    #[arg(long, alias = "config")]
    watchlist: Option<PathBuf>,
    /// JSON Lines input (`{"id","text"}` plus optional title, url, source, posted_at); stdin if absent or "-".
    input: Option<PathBuf>,
}

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let watchlist = super::load_watchlist(args.watchlist.as_deref())?;
    let analyzer = Analyzer::new(&watchlist).context("cannot build the analyzer")?;
    let input: Box<dyn BufRead> = match args.input.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open input {}", p.display()))?,
        )),
    };
    let name = args
        .input
        .as_ref()
        .map_or_else(|| "stdin".to_string(), |p| p.display().to_string());
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let skipped = analyze_lines(&analyzer, input, &mut out, &name)?;
    out.flush().context("cannot write to stdout")?;
    Ok(if skipped > 0 {
        Outcome::Partial
    } else {
        Outcome::Ok
    })
}

/// Longest input line read (a post far longer is skipped; its analysis would be capped anyway).
const MAX_LINE: u64 = 16 * 1024 * 1024;

/// Reads past the rest of the current line without keeping it.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                input.consume(n);
            }
        }
    }
}

/// The UTF-8 byte order mark, skipped at the start of the input.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Analyzes every line of `input` into `out`; returns how many lines were skipped.
fn analyze_lines(
    analyzer: &Analyzer,
    mut input: impl BufRead,
    out: &mut impl Write,
    name: &str,
) -> anyhow::Result<usize> {
    let mut skipped = 0;
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    let mut analysis = Analysis::default();
    loop {
        buf.clear();
        let n = input
            .by_ref()
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("cannot read {name} after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.len() as u64 > MAX_LINE && buf.last() != Some(&b'\n') {
            // Said at once (the rest may never end, as on /dev/zero), then skipped unread.
            skipped += 1;
            eprintln!(
                "mimamori: {name}:{line_no}: skipped: line longer than {} MiB",
                MAX_LINE / 1024 / 1024
            );
            serde_json::to_writer(
                &mut *out,
                &serde_json::json!({"id": line_no, "line": line_no, "error": "line too long"}),
            )?;
            out.write_all(b"\n")?;
            skip_line(&mut input)
                .with_context(|| format!("cannot read {name} at line {line_no}"))?;
            continue;
        }
        // Windows editors start a UTF-8 file with a byte order mark: not part of the JSON.
        if line_no == 1 && buf.starts_with(UTF8_BOM) {
            buf.drain(..UTF8_BOM.len());
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        let result = match std::str::from_utf8(&buf) {
            Err(e) => Err(format!("line is not UTF-8 (byte {})", e.valid_up_to())),
            Ok(_) => serde_json::from_str::<PostInput>(line)
                .map_err(|e| format!("not a post object: {e}")),
        };
        match result {
            Ok(post) => {
                analyzer.analyze_into(&post, &mut analysis);
                serde_json::to_writer(&mut *out, &analysis)?;
            }
            Err(message) => {
                skipped += 1;
                let id = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("id").cloned())
                    .filter(|v| !v.is_null())
                    .unwrap_or_else(|| serde_json::Value::from(line_no));
                eprintln!("mimamori: {name}:{line_no}: skipped: {message}");
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({"id": id, "line": line_no, "error": message}),
                )?;
            }
        }
        out.write_all(b"\n")?;
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_order_mark_on_the_first_line_is_skipped() {
        let wl = mimamori::config::parse_str(
            "[[target]]\nid = \"yamada\"\nkind = \"business\"\nnames = [\"山田商事\"]\n",
            std::path::Path::new("wl.toml"),
        )
        .expect("watchlist");
        let analyzer = Analyzer::new(&wl).expect("analyzer");
        let input = "\u{FEFF}{\"id\":\"1\",\"text\":\"山田商事は詐欺\"}\n\u{FEFF}{\"id\":\"2\",\"text\":\"x\"}\n";
        let mut out = Vec::new();
        let skipped =
            analyze_lines(&analyzer, input.as_bytes(), &mut out, "test").expect("analyze");
        let out = String::from_utf8(out).expect("utf8");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines[0]["targets"], serde_json::json!(["yamada"]), "{out}");
        // Only the start of the input may carry one: elsewhere it is an error, as before.
        assert_eq!(skipped, 1, "{out}");
        assert!(lines[1].get("error").is_some(), "{out}");
    }
}
