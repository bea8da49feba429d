//! Watchlists and sources: loading TOML, validating it, and reporting every mistake with the
//! file, line, column and field so a user can fix it without guessing.
//!
//! A config is either one file (`--config F`) or every `*.toml` in `watchlists/`, merged in
//! file-name order. The format is the stable one in `design.md` §2. Personal values are
//! normalized here (or kept as `sha256:` hashes of the normalized form) so the analyzer never
//! sees a raw watchlist string.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::text::pii::{self, PiiKind, WatchedValue};

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
pub const EXTRA_TABLES: &[&str] = &["alert", "fetch", "evidence", "recheck", "whois"];

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

    /// `file:line:col` of `field` in the `index`-th (0-based) `[name]` / `[[name]]` table, or
    /// of the table's header when the field is not written there or not given; `None` when the
    /// table was not read from a file. The modules that read [`Watchlist::extra`] put it in
    /// front of their errors.
    pub fn locate(&self, name: &str, index: usize, field: Option<&str>) -> Option<String> {
        let site = self.sites.get(name)?.get(index)?;
        let span = match field {
            Some(f) => field_span(&site.text, site.span.clone(), f),
            None => site.span.clone(),
        };
        let (line, column) = line_col(&site.text, span.start);
        Some(format!("{}:{line}:{column}", site.path.display()))
    }

    /// An error about the `index`-th `[name]` table: `file:line:col: label: message`, located
    /// at the field the message starts with (`field: …`, or serde's "unknown field `x`"),
    /// else at the table's header; `label` names the table (`[recheck]`, `[[alert]] #2`).
    pub fn located(&self, name: &str, index: usize, label: &str, message: &str) -> String {
        let field = message_field(message);
        match self.locate(name, index, field.as_deref()) {
            Some(at) => format!("{at}: {label}: {message}"),
            None => format!("{label}: {message}"),
        }
    }
}

impl Watchlist {
    /// The `index`-th `[name]` / `[[name]]` table deserialized as `T` (`None` when there is no
    /// such table). A wrong field is reported as `file:line:col: label: message` at the field:
    /// the table's own text is parsed again for the position.
    pub fn section<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        index: usize,
        label: &str,
    ) -> Result<Option<T>, String> {
        let value = match self.extra.get(name) {
            None => return Ok(None),
            Some(toml::Value::Array(a)) => match a.get(index) {
                Some(v) => v.clone(),
                None => return Ok(None),
            },
            Some(v) if index == 0 => v.clone(),
            Some(_) => return Ok(None),
        };
        let first = match value.try_into::<T>() {
            Ok(t) => return Ok(Some(t)),
            Err(e) => e.message().trim().to_string(),
        };
        Err(self
            .reparse_error::<T>(name, index, label)
            .unwrap_or_else(|| self.located(name, index, label, &first)))
    }

    /// The located error of parsing the table's text alone, when that fails with a position.
    fn reparse_error<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        index: usize,
        label: &str,
    ) -> Option<String> {
        let site = self.sites.get(name)?.get(index)?;
        let slice = site.text.get(site.span.clone())?;
        let err = if matches!(self.extra.get(name), Some(toml::Value::Array(_))) {
            toml::from_str::<BTreeMap<String, Vec<T>>>(slice).err()?
        } else {
            toml::from_str::<BTreeMap<String, T>>(slice).err()?
        };
        let at = site.span.start + err.span()?.start;
        let (line, column) = line_col(&site.text, at);
        Some(format!(
            "{}:{line}:{column}: {label}: {}",
            site.path.display(),
            err.message().trim()
        ))
    }
}

/// The field an error message is about: its leading `field:` or a serde "field `x`" quote.
pub fn message_field(message: &str) -> Option<String> {
    if let Some(rest) = message.split("field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    let head = message.split(':').next()?;
    let ok = !head.is_empty()
        && head.len() < message.len()
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| head.to_string())
}

/// The byte ranges of the `[name]` / `[[name]]` tables in `text`, in order: from the header
/// to the next header.
fn table_spans(text: &str, name: &str) -> Vec<Range<usize>> {
    let mut headers = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            let start = offset + (line.len() - trimmed.len());
            let inner = trimmed
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim();
            let inner = inner.trim_matches('"');
            headers.push((start, inner == name));
        }
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, (start, mine)) in headers.iter().enumerate() {
        if *mine {
            let end = headers.get(i + 1).map_or(text.len(), |(s, _)| *s);
            out.push(*start..end);
        }
    }
    out
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
    alert: Option<Spanned<toml::Value>>,
    #[serde(default)]
    fetch: Option<Spanned<toml::Value>>,
    #[serde(default)]
    evidence: Option<Spanned<toml::Value>>,
    #[serde(default)]
    recheck: Option<Spanned<toml::Value>>,
    #[serde(default)]
    whois: Option<Spanned<toml::Value>>,
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
    }
}
