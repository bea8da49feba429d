//! Watchlists and sources: loading TOML, validating it, and reporting every mistake with the
//! file, line, column and field so a user can fix it without guessing.
//!
//! A config is either one file (`--config F`) or every `*.toml` in `watchlists/`, merged in
//! file-name order. The format is the stable one in `design.md` §2. Personal values are
//! normalized here (or kept as `sha256:` hashes of the normalized form) so the analyzer never
//! sees a raw watchlist string.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::analyze::pii::{self, PiiKind, WatchedValue};

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
    /// Other top-level tables (alerts, fetch settings), merged by name.
    pub extra: toml::Table,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    names: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    readings: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    personal: Option<RawPersonal>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPersonal {
    #[serde(default)]
    phones: Vec<Spanned<String>>,
    #[serde(default)]
    emails: Vec<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    my_numbers: Vec<Spanned<String>>,
    #[serde(default)]
    cards: Vec<Spanned<String>>,
    #[serde(default)]
    bank_accounts: Vec<Spanned<String>>,
}

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

fn read_file(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
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
    alert: Option<toml::Value>,
    #[serde(default)]
    alerts: Option<toml::Value>,
    #[serde(default)]
    fetch: Option<toml::Value>,
    #[serde(default)]
    evidence: Option<toml::Value>,
    #[serde(default)]
    serve: Option<toml::Value>,
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
        ("alerts", raw.alerts),
        ("fetch", raw.fetch),
        ("evidence", raw.evidence),
        ("serve", raw.serve),
    ];
    for (name, value) in extras {
        if let Some(value) = value {
            into.extra.insert(name.to_string(), value);
        }
    }
    Ok(())
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn strings(
    loc: &Located,
    prefix: &str,
    field: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let span = item.span();
        let value = item.into_inner().trim().to_string();
        if value.is_empty() {
            return Err(loc.error(span, format!("{prefix}: {field}: empty string")));
        }
        if !out.contains(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

fn validate_target(
    loc: &Located,
    raw: RawTarget,
    span: Range<usize>,
) -> Result<Target, ConfigError> {
    let id_span = raw.id.span();
    let id = raw.id.into_inner();
    if !is_valid_id(&id) {
        return Err(loc.error(
            id_span,
            format!("target \"{id}\": id: use only a-z, 0-9, '_' and '-'"),
        ));
    }
    let prefix = format!("target \"{id}\"");
    let kind_span = raw.kind.span();
    let kind = match raw.kind.into_inner().as_str() {
        "business" => TargetKind::Business,
        "person" => TargetKind::Person,
        other => {
            return Err(loc.error(
                kind_span,
                format!(
                    "{prefix}: kind: unknown kind \"{other}\" (use \"business\" or \"person\")"
                ),
            ));
        }
    };
    let (names_span, names) = match raw.names {
        Some(n) => (n.span(), strings(loc, &prefix, "names", n.into_inner())?),
        None => (span, Vec::new()),
    };
    if names.is_empty() {
        return Err(loc.error(names_span, format!("{prefix}: names must not be empty")));
    }
    let aliases = strings(loc, &prefix, "aliases", raw.aliases)?;
    let readings_raw = raw.readings;
    let mut readings = Vec::new();
    for r in readings_raw {
        let span = r.span();
        let value = r.into_inner();
        let trimmed: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        if trimmed.is_empty() || !crate::text::reading::is_kana(&trimmed) {
            return Err(loc.error(
                span,
                format!(
                    "{prefix}: readings: \"{value}\" is not kana (write it in hiragana or katakana)"
                ),
            ));
        }
        readings.push(trimmed);
    }
    let exclude = strings(loc, &prefix, "exclude", raw.exclude)?;
    let personal_raw = raw.personal.unwrap_or_default();
    let groups = [
        ("phones", PiiKind::Phone, personal_raw.phones),
        ("emails", PiiKind::Email, personal_raw.emails),
        ("addresses", PiiKind::Address, personal_raw.addresses),
        ("my_numbers", PiiKind::MyNumber, personal_raw.my_numbers),
        ("cards", PiiKind::CreditCard, personal_raw.cards),
        (
            "bank_accounts",
            PiiKind::BankAccount,
            personal_raw.bank_accounts,
        ),
    ];
    let mut personal = Vec::new();
    for (field, kind, values) in groups {
        for v in values {
            let span = v.span();
            let value = parse_personal(kind, v.get_ref())
                .map_err(|why| loc.error(span, format!("{prefix}: personal.{field}: {why}")))?;
            personal.push(PersonalValue { kind, value });
        }
    }
    Ok(Target {
        id,
        kind,
        names,
        aliases,
        readings,
        exclude,
        personal,
    })
}

/// Parses a watchlist personal value: `sha256:<64 hex>` or a clear value to normalize.
pub fn parse_personal(kind: PiiKind, value: &str) -> Result<WatchedValue, String> {
    let value = value.trim();
    if let Some(hex) = value.strip_prefix("sha256:") {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "bad sha256 value \"{value}\": expected \"sha256:\" and 64 hex digits (make one with `mimamori watchlist hash VALUE --kind {}`)",
                kind.as_str()
            ));
        }
        return Ok(WatchedValue::Hashed(hex));
    }
    pii::normalize_value(kind, value).map(WatchedValue::Clear)
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
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n * 60),
            "h" => Duration::from_secs(n * 3600),
            "d" => Duration::from_secs(n * 86400),
            _ => return Err(bad()),
        };
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
