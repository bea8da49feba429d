//! Helpers shared by the web sources (`html`, `rss`, `suggest`, `bluesky`, `mastodon`):
//! reading kind-specific settings from a `[[source]]` table with errors that name the field,
//! HTML → plain text, dates written in JST, bounded "seen" lists kept in cursors, and
//! credentials looked up in environment variables whose *names* are in the config.
//!
//! Everything here is pure (no I/O, no `.await`) so each piece is unit-tested on strings.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use scraper::{ElementRef, Html, Node};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchError, FetchResponse};
use crate::model::jst;
use crate::sources::SourceError;

/// Keys every `[[source]]` table may hold whatever its kind.
const COMMON_KEYS: &[&str] = &["kind", "url", "every", "name", "enabled"];

/// Reads a source's kind-specific settings; every error names the field and the source.
pub struct Settings<'a> {
    cfg: &'a SourceConfig,
    table: toml::Table,
}

impl<'a> Settings<'a> {
    /// Settings from the source's own table.
    pub fn new(cfg: &'a SourceConfig) -> Self {
        Settings {
            cfg,
            table: cfg.table.clone(),
        }
    }

    /// Settings from `base` (a preset) overlaid with the source's own table.
    pub fn with_base(cfg: &'a SourceConfig, base: &toml::Table) -> Self {
        let mut table = base.clone();
        for (k, v) in &cfg.table {
            table.insert(k.clone(), v.clone());
        }
        Settings { cfg, table }
    }

    /// A configuration error about `field`.
    pub fn error(&self, field: &str, message: impl std::fmt::Display) -> SourceError {
        SourceError::Config {
            origin: self.cfg.origin.clone(),
            message: format!("{} source: {field}: {message}", self.cfg.kind),
        }
    }

    /// Rejects keys of the source's own table that neither the kind nor every source knows
    /// (a typo such as `itme` would otherwise be silently ignored).
    pub fn reject_unknown(&self, known: &[&str]) -> Result<(), SourceError> {
        for key in self.cfg.table.keys() {
            if !COMMON_KEYS.contains(&key.as_str()) && !known.contains(&key.as_str()) {
                let mut all: Vec<&str> = known.to_vec();
                all.sort_unstable();
                return Err(self.error(key, format!("unknown setting (known: {})", all.join(", "))));
            }
        }
        Ok(())
    }

    /// An optional string.
    pub fn str(&self, key: &str) -> Result<Option<String>, SourceError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.error(key, "must be a string")),
        }
    }

    /// A required, non-empty string.
    pub fn required_str(&self, key: &str) -> Result<String, SourceError> {
        match self.str(key)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(self.error(key, "missing")),
        }
    }

    /// An optional boolean, `default` when absent.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, SourceError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(*b),
            Some(_) => Err(self.error(key, "must be true or false")),
        }
    }

    /// An optional integer in `min..=max`, `default` when absent.
    pub fn int(&self, key: &str, default: u64, min: u64, max: u64) -> Result<u64, SourceError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(n))
                if (min as i128..=max as i128).contains(&(*n as i128)) =>
            {
                Ok(*n as u64)
            }
            Some(_) => Err(self.error(key, format!("must be a whole number from {min} to {max}"))),
        }
    }

    /// An optional list of non-empty strings (`None` when absent).
    pub fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, SourceError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        toml::Value::String(s) if !s.trim().is_empty() => {
                            out.push(s.trim().to_string())
                        }
                        _ => return Err(self.error(key, "must be a list of non-empty strings")),
                    }
                }
                Ok(Some(out))
            }
            Some(_) => Err(self.error(key, "must be a list of strings")),
        }
    }

    /// The source's base URL, parsed.
    pub fn url(&self) -> Result<Url, SourceError> {
        Url::parse(&self.cfg.url)
            .map_err(|e| self.error("url", format!("\"{}\" is not a URL: {e}", self.cfg.url)))
    }
}

/// Looks up an environment variable by name (injectable so tests need not touch the
/// process environment).
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok())
}

/// The value of the environment variable `var` (named in the config for `field`), or a
/// [`SourceError::Credentials`] naming the variable. The value is never logged.
pub fn secret(env: &EnvLookup, kind: &str, field: &str, var: &str) -> Result<String, SourceError> {
    match env(var) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(SourceError::Credentials(format!(
            "{kind} source: environment variable {var} (named by {field}) is not set; export it before running"
        ))),
    }
}

/// `host` or `host:port` of a URL, for post keys.
pub fn host_key(url: &Url) -> String {
    let host = url.host_str().unwrap_or("unknown");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// A non-success status as a source error (`HTTP 404 after 1 attempts`).
pub fn status_error(resp: &FetchResponse) -> SourceError {
    SourceError::Fetch(FetchError::Status {
        url: resp.url.to_string(),
        status: resp.status,
        attempts: 1,
    })
}

/// Elements whose content is not text.
const SKIPPED: &[&str] = &[
    "script", "style", "template", "noscript", "head", "iframe", "object", "svg",
];
/// Elements that start and end a line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "hr",
    "form",
    "address",
];

/// Plain text of an HTML fragment: `<br>` and block ends become newlines, entities are
/// decoded, scripts and styles dropped, runs of spaces collapsed, blank lines squeezed.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return tidy(html);
    }
    let frag = Html::parse_fragment(html);
    element_text(frag.root_element())
}

/// Plain text of an element (see [`html_to_text`]).
pub fn element_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    walk(el, &mut out);
    tidy(&out)
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        if let Some(e) = ElementRef::wrap(child) {
            let name = e.value().name();
            if SKIPPED.contains(&name) {
                continue;
            }
            if name == "br" {
                out.push('\n');
                continue;
            }
            let block = BLOCKS.contains(&name);
            if block {
                line_break(out);
            }
            walk(e, out);
            if block {
                line_break(out);
            }
        } else if let Node::Text(t) = child.value() {
            // Source newlines are collapsible spaces in HTML, except in preformatted text.
            let pre = el.value().name() == "pre"
                || el
                    .ancestors()
                    .filter_map(ElementRef::wrap)
                    .any(|a| a.value().name() == "pre");
            if pre {
                out.push_str(t)
            } else {
                out.push_str(&t.replace(['\n', '\r'], " "))
            }
        }
    }
}

/// Ends the current line unless it is already ended (blocks do not make blank lines;
/// `<br><br>` does).
fn line_break(out: &mut String) {
    let trimmed = out.trim_end_matches([' ', '\t', '\r']);
    if !trimmed.is_empty() && !trimmed.ends_with('\n') {
        out.push('\n');
    }
}

/// Collapses ASCII whitespace runs within lines, trims lines, keeps at most one blank line.
fn tidy(s: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in s.split('\n') {
        let collapsed = line
            .split([' ', '\t', '\r', '\x0c'])
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let trimmed = collapsed
            .trim_matches(|c: char| c.is_whitespace())
            .to_string();
        if trimmed.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        lines.push(trimmed);
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// Formats tried, in order, when a source gives no `date_format`.
const DATE_FORMATS: &[&str] = &[
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日 %H時%M分",
    "%Y.%m.%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%d",
    "%Y年%m月%d日",
    "%Y.%m.%d",
];

/// Parses a date as written on a Japanese page, in JST: RFC 3339 first, then `format`
/// (chrono syntax) or the common formats. Leading labels (`投稿日：`), full-width digits,
/// weekdays in brackets (`(水)`) and trailing text (`投稿`, `.12`) are tolerated.
pub fn parse_jst_date(raw: &str, format: Option<&str>) -> Option<DateTime<FixedOffset>> {
    let cleaned = clean_date(raw);
    if let Ok(dt) = DateTime::parse_from_rfc3339(cleaned.split_whitespace().next().unwrap_or("")) {
        return Some(dt.with_timezone(&jst()));
    }
    let formats: Vec<&str> = match format {
        Some(f) => vec![f],
        None => DATE_FORMATS.to_vec(),
    };
    for fmt in formats {
        if let Ok((naive, _)) = NaiveDateTime::parse_and_remainder(&cleaned, fmt) {
            return jst().from_local_datetime(&naive).single();
        }
        if let Ok((date, _)) = NaiveDate::parse_and_remainder(&cleaned, fmt) {
            return jst()
                .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
                .single();
        }
    }
    None
}

fn clean_date(raw: &str) -> String {
    let mut s: String = raw
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '／' => '/',
            '：' => ':',
            '－' => '-',
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect();
    for open in ['(', '（'] {
        while let Some(start) = s.find(open) {
            let Some(len) = s[start..].find([')', '）']) else {
                break;
            };
            let close_len = s[start + len..].chars().next().map_or(1, char::len_utf8);
            s.replace_range(start..start + len + close_len, " ");
        }
    }
    let start = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
    s[start..].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A UTC time in JST.
pub fn to_jst(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&jst())
}

/// The string list `field` of a cursor value (empty when absent).
pub fn cursor_list(cursor: Option<&serde_json::Value>, field: &str) -> Vec<String> {
    cursor
        .and_then(|v| v.get(field))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The string `field` of a cursor value.
pub fn cursor_str(cursor: Option<&serde_json::Value>, field: &str) -> Option<String> {
    cursor
        .and_then(|v| v.get(field))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// `first` then the items of `rest` not in `first`, at most `cap` items (newest first).
pub fn merge_seen(first: &[String], rest: &[String], cap: usize) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    first
        .iter()
        .chain(rest)
        .filter(|s| seen.insert(s.as_str()))
        .take(cap)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_html() {
        let html = "<p>一行目<br>二行目&amp;<b>太字</b></p>\n  <p>  次の<br>\n段落 </p><pre>a\n b</pre><p>x<br><br>y</p><script>x()</script><div><ul><li>a</li><li>b</li></ul></div>";
        assert_eq!(
            html_to_text(html),
            "一行目\n二行目&太字\n次の\n段落\na\nb\nx\n\ny\na\nb"
        );
        assert_eq!(html_to_text("plain  text"), "plain text");
        assert_eq!(html_to_text("&lt;b&gt; &#x3042;"), "<b> あ");
    }

    #[test]
    fn dates_in_jst() {
        let d = parse_jst_date("2024/05/12 14:03 投稿", None).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-05-12T14:03:00+09:00");
        let d = parse_jst_date("投稿日：２０２４年５月１日", None).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-05-01T00:00:00+09:00");
        let d = parse_jst_date("2024/05/01(水) 12:34:56.78", None).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-05-01T12:34:56+09:00");
        let d = parse_jst_date("2024-05-01T03:00:00Z", None).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-05-01T12:00:00+09:00");
        let d = parse_jst_date("12.05.2024 09時05分", Some("%d.%m.%Y %H時%M分")).expect("date");
        assert_eq!(d.to_rfc3339(), "2024-05-12T09:05:00+09:00");
        assert!(parse_jst_date("昨日", None).is_none());
    }

    #[test]
    fn seen_lists_are_bounded_and_newest_first() {
        let a = vec!["3".to_string(), "2".to_string()];
        let b = vec!["2".to_string(), "1".to_string(), "0".to_string()];
        assert_eq!(merge_seen(&a, &b, 3), vec!["3", "2", "1"]);
    }

    #[test]
    fn secrets_name_the_variable() {
        let env: EnvLookup = Arc::new(|n| (n == "SET").then(|| "v".to_string()));
        assert_eq!(
            secret(&env, "bluesky", "password_env", "SET")
                .ok()
                .as_deref(),
            Some("v")
        );
        let err = secret(&env, "bluesky", "password_env", "UNSET_VAR")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("UNSET_VAR"), "{err}");
    }
}
