//! Watchlists and sources: loading TOML, validating it, and reporting every mistake with the
//! file, line, column and field so a user can fix it without guessing.
//!
//! A config is either one file (`--config F`) or every `*.toml` in `watchlists/`, merged in
//! file-name order. The format is the stable one in `design.md` §2. Personal values are
//! normalized here (or kept as `sha256:` hashes of the normalized form) so the analyzer never
//! sees a raw watchlist string.

mod sections;
mod target;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::text::pii::{PiiKind, WatchedValue};
pub use sections::message_field;
use sections::table_spans;
pub use target::parse_personal;
use target::{RawTarget, validate_target};

/// What went wrong loading a watchlist; messages name the file and position.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file or directory could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The path that failed.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory held no `*.toml` file.
    #[error("{0}: no *.toml watchlist in this directory (copy watchlists/example.toml)")]
    NoFiles(PathBuf),
    /// The file is not valid TOML or a field is wrong.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// What is wrong and, where it helps, what to write instead.
        message: String,
    },
}

/// Whether a target is a business (its public contact data is not a leak) or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// A company, shop, product or service.
    Business,
    /// A private person.
    Person,
}

/// One watched personal value of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalValue {
    /// What kind of value it is.
    pub kind: PiiKind,
    /// The normalized value, or its SHA-256.
    pub value: WatchedValue,
}

/// A watched name or person with everything needed to recognize posts about it.
#[derive(Debug, Clone)]
pub struct Target {
    /// Unique id, `[a-z0-9_-]+`.
    pub id: String,
    /// Business or person.
    pub kind: TargetKind,
    /// Official names.
    pub names: Vec<String>,
    /// Other names it goes by (katakana forms, romaji, abbreviations).
    pub aliases: Vec<String>,
    /// Kana readings; derived from the dictionary when empty.
    pub readings: Vec<String>,
    /// Phrases that contain a name but are not about the target.
    pub exclude: Vec<String>,
    /// The target's own personal values, to catch leaks.
    pub personal: Vec<PersonalValue>,
}

/// One configured source to poll (the crawler reads the rest of the table).
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Source kind (`5ch`, `shitaraba`, `rss`, `html`, `suggest`, `bluesky`, `mastodon`).
    pub kind: String,
    /// Base URL.
    pub url: String,
    /// Poll interval.
    pub every: Duration,
    /// Where it was defined, for messages.
    pub origin: String,
    /// The whole table, for source-specific settings.
    pub table: toml::Table,
}

/// A loaded, validated watchlist: targets and sources from one or more files.
#[derive(Debug, Clone, Default)]
pub struct Watchlist {
    /// Every target, in file order.
    pub targets: Vec<Target>,
    /// Every source, in file order.
    pub sources: Vec<SourceConfig>,
    /// Other top-level tables ([`EXTRA_TABLES`]): each module reads its own. `[[alert]]`
    /// tables of several files are concatenated; another table may be set in one file only.
    pub extra: toml::Table,
    /// Where each extra table was written (one entry per `[[name]]` element), for errors.
    sites: BTreeMap<String, Vec<TableSite>>,
}

/// Top-level tables besides `[[target]]` and `[[source]]`, read by other modules.
pub const EXTRA_TABLES: &[&str] = &["alert", "fetch", "evidence", "recheck", "whois", "health"];

/// Where one extra table (or one `[[name]]` element) was written: its file and byte range.
#[derive(Debug, Clone)]
struct TableSite {
    path: PathBuf,
    text: Arc<str>,
    span: Range<usize>,
}

impl Watchlist {
    /// The target with this id.
    pub fn target(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.id == id)
    }
}

/// Source kinds the crawler knows.
pub const SOURCE_KINDS: &[&str] = &[
    "5ch",
    "shitaraba",
    "rss",
    "html",
    "suggest",
    "bluesky",
    "mastodon",
];

/// Turns byte spans into `file:line:col` errors for one file.
struct Located<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Located<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Loads one file, or every `*.toml` in a directory (sorted by name), and validates it.
pub fn load(path: &Path) -> Result<Watchlist, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(ConfigError::NoFiles(path.to_path_buf()));
        }
        let mut merged = Watchlist::default();
        for file in files {
            let text = read_file(&file)?;
            merge(&mut merged, &text, &file)?;
        }
        Ok(merged)
    } else {
        let text = read_file(path)?;
        parse_str(&text, path)
    }
}

/// Largest watchlist file read (a device or a runaway file is refused, not read whole).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Longest name, alias, reading or exclude phrase, in characters.
pub const MAX_NAME_CHARS: usize = 200;

fn read_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(read_err(std::io::Error::other(format!(
            "larger than {} MiB: not a watchlist (split a long one into several files of a directory)",
            MAX_FILE_BYTES / 1024 / 1024
        ))));
    }
    String::from_utf8(bytes).map_err(|e| {
        let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
        let at = e.utf8_error().valid_up_to();
        Located { path, text: &text }.error(at..at, "the file is not UTF-8 (save it as UTF-8)")
    })
}

/// Parses and validates one watchlist file's text; `path` names it in errors.
pub fn parse_str(text: &str, path: &Path) -> Result<Watchlist, ConfigError> {
    let mut wl = Watchlist::default();
    merge(&mut wl, text, path)?;
    Ok(wl)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    target: Vec<Spanned<RawTarget>>,
    #[serde(default)]
    source: Vec<Spanned<toml::Table>>,
    #[serde(default)]
    alert: Option<Spanned<toml::Value>>,
    #[serde(default)]
    fetch: Option<Spanned<toml::Value>>,
    #[serde(default)]
    evidence: Option<Spanned<toml::Value>>,
    #[serde(default)]
    recheck: Option<Spanned<toml::Value>>,
    #[serde(default)]
    whois: Option<Spanned<toml::Value>>,
    #[serde(default)]
    health: Option<Spanned<toml::Value>>,
}

fn merge(into: &mut Watchlist, text: &str, path: &Path) -> Result<(), ConfigError> {
    let loc = Located { path, text };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        loc.error(span, e.message().trim().to_string())
    })?;
    for raw_target in raw.target {
        let span = raw_target.span();
        let target = validate_target(&loc, raw_target.into_inner(), span.clone())?;
        if into.targets.iter().any(|t| t.id == target.id) {
            return Err(loc.error(
                span,
                format!(
                    "target \"{}\": id: duplicate target id (ids must be unique across all watchlist files)",
                    target.id
                ),
            ));
        }
        into.targets.push(target);
    }
    for (i, table) in raw.source.into_iter().enumerate() {
        let span = table.span();
        into.sources
            .push(validate_source(&loc, i + 1, table.into_inner(), span)?);
    }
    let extras = [
        ("alert", raw.alert),
        ("fetch", raw.fetch),
        ("evidence", raw.evidence),
        ("recheck", raw.recheck),
        ("whois", raw.whois),
        ("health", raw.health),
    ];
    let shared: Arc<str> = Arc::from(text);
    for (name, value) in extras {
        let Some(value) = value else {
            continue;
        };
        let span = value.span();
        let value = value.into_inner();
        let mut spans = table_spans(text, name);
        let count = match &value {
            toml::Value::Array(a) => a.len(),
            _ => 1,
        };
        if spans.len() != count {
            // Written inline (`alert = [{…}]`): every element points at the key.
            spans = vec![span.clone(); count];
        }
        let sites: Vec<TableSite> = spans
            .into_iter()
            .map(|span| TableSite {
                path: path.to_path_buf(),
                text: Arc::clone(&shared),
                span,
            })
            .collect();
        match (into.extra.remove(name), value) {
            (None, value) => {
                into.extra.insert(name.to_string(), value);
                into.sites.insert(name.to_string(), sites);
            }
            (Some(toml::Value::Array(mut before)), toml::Value::Array(more)) => {
                before.extend(more);
                into.extra
                    .insert(name.to_string(), toml::Value::Array(before));
                into.sites
                    .entry(name.to_string())
                    .or_default()
                    .extend(sites);
            }
            (Some(_), _) => {
                let first = into.locate(name, 0, None).unwrap_or_default();
                return Err(loc.error(
                    span,
                    format!(
                        "[{name}]: already set in {first} (write it in one watchlist file only)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn validate_source(
    loc: &Located,
    number: usize,
    table: toml::Table,
    span: Range<usize>,
) -> Result<SourceConfig, ConfigError> {
    let field_span = |key: &str| field_span(loc.text, span.clone(), key);
    let prefix = format!("source #{number}");
    let get_str = |key: &str| -> Result<Option<String>, ConfigError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(loc.error(
                field_span(key),
                format!("{prefix}: {key}: must be a string"),
            )),
        }
    };
    let kind = get_str("kind")?.ok_or_else(|| {
        loc.error(
            span.clone(),
            format!(
                "{prefix}: kind: missing (one of: {})",
                SOURCE_KINDS.join(", ")
            ),
        )
    })?;
    if !SOURCE_KINDS.contains(&kind.as_str()) {
        return Err(loc.error(
            field_span("kind"),
            format!(
                "{prefix}: kind: unknown source kind \"{kind}\" (one of: {})",
                SOURCE_KINDS.join(", ")
            ),
        ));
    }
    let prefix = format!("source #{number} ({kind})");
    let url = get_str("url")?
        .ok_or_else(|| loc.error(span.clone(), format!("{prefix}: url: missing")))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(loc.error(
            field_span("url"),
            format!("{prefix}: url: \"{url}\" must start with http:// or https://"),
        ));
    }
    let every = match get_str("every")? {
        None => Duration::from_secs(300),
        Some(s) => parse_duration(&s)
            .map_err(|why| loc.error(field_span("every"), format!("{prefix}: every: {why}")))?,
    };
    let (line, _) = line_col(loc.text, span.start);
    Ok(SourceConfig {
        kind,
        url,
        every,
        origin: format!("{}:{line}", loc.path.display()),
        table,
    })
}

/// Parses a duration like `30s`, `5m`, `1h`, `1d`, `1h30m` or `500ms`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("\"{s}\" is not a duration (write e.g. 30s, 5m, 1h, 1d)");
    if s.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let secs_per = match unit {
            "ms" => 0,
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(bad()),
        };
        let part = if secs_per == 0 {
            Some(Duration::from_millis(n))
        } else {
            n.checked_mul(secs_per).map(Duration::from_secs)
        };
        let too_long = || format!("\"{s}\" is too long a duration");
        total = part
            .and_then(|p| total.checked_add(p))
            .ok_or_else(too_long)?;
    }
    Ok(total)
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        line,
        before.get(line_start..).map_or(0, |s| s.chars().count()) + 1,
    )
}

/// The span of `key = …` inside a table's span (the table's span if not found).
fn field_span(text: &str, table: Range<usize>, key: &str) -> Range<usize> {
    let Some(body) = text.get(table.clone()) else {
        return table;
    };
    let mut offset = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(after) = trimmed.strip_prefix(key)
            && after.trim_start().starts_with('=')
        {
            let start = table.start + offset + (line.len() - trimmed.len());
            return start..start + key.len();
        }
        offset += line.len();
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_of_a_message_is_its_head_or_serdes_quote() {
        assert_eq!(message_field("every: too short").as_deref(), Some("every"));
        assert_eq!(
            message_field("unknown field `evry`, expected one of `every`").as_deref(),
            Some("evry")
        );
        assert_eq!(message_field("invalid type: integer `5`"), None);
        assert_eq!(message_field("no colon here"), None);
    }

    #[test]
    fn table_spans_run_from_each_header_to_the_next() {
        let text =
            "[[alert]]\nkind = \"a\"\n\n[fetch]\nretries = 1\n[[ alert ]] # two\nkind = \"b\"\n";
        let spans = table_spans(text, "alert");
        assert_eq!(spans.len(), 2);
        assert!(
            text[spans[0].clone()].contains("\"a\"") && !text[spans[0].clone()].contains("retries")
        );
        assert!(text[spans[1].clone()].contains("\"b\""));
        let w = parse_str(text, Path::new("w.toml")).expect("watchlist");
        assert_eq!(
            w.locate("alert", 1, Some("kind")).as_deref(),
            Some("w.toml:7:1")
        );
        assert_eq!(w.locate("fetch", 0, None).as_deref(), Some("w.toml:4:1"));
        assert_eq!(w.locate("fetch", 1, None), None);
        assert!(parse_duration("999999999999999999d").is_err());
        assert!(parse_duration("18446744073709551615s1s").is_err());
    }
}
