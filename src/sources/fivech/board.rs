//! Text helpers shared by the 2ch-family boards (5ch and したらば): body HTML to plain text,
//! HTML entities, poster names and trips, the `2024/01/15(月) 12:34:56.78` date format, the
//! `title (n)` subject entries, and the first-poll settings both sources read from their table.
//!
//! Everything here is pure and total: odd input gives odd text, never a panic.

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use regex::Regex;

use crate::config::SourceConfig;
use crate::sources::SourceError;

/// How much of an existing board is read on a source's very first poll.
///
/// Every thread listed in `subject.txt` up to `threads` (in subject order, which is the order
/// of last activity) is read in full, but only posts from the last `hours` are returned; the
/// rest only set the thread's cursor. Threads beyond `threads` get a cursor at their current
/// count without being fetched, so later polls return only posts written after the first one.
/// Threads that appear after the first poll are always read from post 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPoll {
    /// Posts older than this many hours are not returned by the first poll.
    pub hours: u64,
    /// Threads read in full by the first poll.
    pub threads: usize,
}

impl Default for FirstPoll {
    fn default() -> Self {
        FirstPoll {
            hours: 24,
            threads: 30,
        }
    }
}

impl FirstPoll {
    /// Reads `first_poll_hours` and `first_poll_threads` from a `[[source]]` table.
    pub fn from_config(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let mut fp = FirstPoll::default();
        let get = |key: &str| -> Result<Option<u64>, SourceError> {
            match cfg.table.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(n)) if *n >= 0 => Ok(Some(*n as u64)),
                Some(_) => Err(SourceError::Config {
                    origin: cfg.origin.clone(),
                    message: format!("{key}: must be a whole number ≥ 0"),
                }),
            }
        };
        if let Some(h) = get("first_poll_hours")? {
            fp.hours = h;
        }
        if let Some(t) = get("first_poll_threads")? {
            fp.threads = usize::try_from(t).unwrap_or(usize::MAX);
        }
        Ok(fp)
    }
}

static BR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i) ?<br\s*/?> ?").expect("valid regex"));
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\d{2,4})/(\d{1,2})/(\d{1,2})(?:\s*[(（][^)）]*[)）])?\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?")
        .expect("valid regex")
});
static TRIP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"◆[A-Za-z0-9./+]{8,12}").expect("valid regex"));

/// Lines of a body that are board settings, not text: `!extend:` (the thread's settings
/// line in post 1) and `VIPQ2_EXTDAT:` (the server's echo of them).
fn is_settings_line(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("!extend:") || l.starts_with("VIPQ2_EXTDAT:")
}

/// A board body's HTML as plain text: `<br>` (with the spaces around it) becomes a newline,
/// other tags go (an anchor `<a …>&gt;&gt;12</a>` keeps its text `>>12`), entities are decoded,
/// `!extend:` / `VIPQ2_EXTDAT:` settings lines and `sssp://` BE icons are dropped, and the
/// result is trimmed.
pub fn body_to_text(html: &str) -> String {
    let with_newlines = BR.replace_all(html, "\n");
    let text = decode_entities(&strip_tags(&with_newlines));
    let lines: Vec<&str> = text
        .split('\n')
        .filter(|l| !is_settings_line(l))
        .map(|l| {
            let t = l.trim_start();
            match t.strip_prefix("sssp://") {
                Some(rest) => rest.split_once(char::is_whitespace).map_or("", |(_, r)| r),
                None => l,
            }
        })
        .collect();
    lines
        .join("\n")
        .trim_matches(|c: char| c == ' ' || c == '\n' || c == '\r' || c == '\t')
        .to_string()
}

/// Removes HTML tags (`<…>` starting with a letter, `/` or `!`); a lone `<` stays text.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let is_tag = after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (is_tag, after.find('>')) {
            (true, Some(end)) => rest = &after[end + 1..],
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&nbsp;`, `&#39;`, `&#x27;`-style
/// references; anything else (a bare `&`, an unknown name) is kept as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find(';').filter(|&e| e > 0 && e <= 10);
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    Some(char::from_u32(code).unwrap_or('\u{FFFD}'))
                }
            }?;
            Some((c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A poster name field as plain text (tags and entities removed, trimmed).
pub fn name_text(field: &str) -> String {
    decode_entities(&strip_tags(field)).trim().to_string()
}

/// The trip (`◆AbCdEf12`) in a poster name, if any.
pub fn trip(name: &str) -> Option<String> {
    TRIP.find(name).map(|m| m.as_str().to_string())
}

/// Parses a board date (`2024/01/15(月) 12:34:56.78`, `24/01/15(月) 12:34`, full-width
/// parentheses) as JST. `None` when the field holds no date (`あぼーん`, `Over 1000 Thread`).
pub fn parse_date(field: &str) -> Option<DateTime<FixedOffset>> {
    let c = DATE.captures(field)?;
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let mut year = i32::try_from(num(1)?).ok()?;
    if year < 100 {
        year += if year >= 90 { 1900 } else { 2000 };
    }
    let date = NaiveDate::from_ymd_opt(year, num(2)?, num(3)?)?;
    let frac = c.get(7).map_or(0, |m| {
        let digits = m.as_str();
        let v: u32 = digits.parse().unwrap_or(0);
        v * 10u32.pow(3 - digits.len().min(3) as u32)
    });
    let time = date.and_hms_milli_opt(num(4)?, num(5)?, num(6).unwrap_or(0), frac)?;
    crate::model::jst().from_local_datetime(&time).single()
}

/// Splits a subject title `タイトル (123)` / `タイトル(123)` into its decoded title and count;
/// `None` when it does not end with a parenthesised number.
pub fn split_title_count(s: &str) -> Option<(String, u64)> {
    let s = s.trim_end();
    let inner = s.strip_suffix(')')?;
    let open = inner.rfind('(')?;
    let count = inner[open + 1..].trim().parse::<u64>().ok()?;
    Some((decode_entities(inner[..open].trim_end()), count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn body_html_to_text() {
        let html = r#" <a href="../test/read.cgi/software/1705290000/12" rel="noopener noreferrer" target="_blank">&gt;&gt;12</a> <br> さくら食品の弁当で&quot;食中毒&quot; &amp; 入院 <br> 3 &lt; 5 &#x263A;&#9731; &unknown; AT&T "#;
        assert_eq!(
            body_to_text(html),
            ">>12\nさくら食品の弁当で\"食中毒\" & 入院\n3 < 5 ☺☃ &unknown; AT&T"
        );
    }

    #[test]
    fn settings_lines_and_icons_are_dropped() {
        let html = " !extend:checked:vvvvv:1000:512 <br> 本スレです <br> 前スレ <br> VIPQ2_EXTDAT: checked:vvvvv:1000:512:: EXT was configured ";
        assert_eq!(body_to_text(html), "本スレです\n前スレ");
        assert_eq!(
            body_to_text("sssp://img.5ch.net/ico/1fu.gif <br> 本文"),
            "本文"
        );
    }

    #[test]
    fn lone_angle_brackets_and_odd_entities_survive() {
        assert_eq!(strip_tags("a < b <b>c</b> d<"), "a < b c d<");
        assert_eq!(decode_entities("&#xD800; & &;&#;"), "\u{FFFD} & &;&#;");
        assert_eq!(decode_entities("&amp;lt;"), "&lt;");
    }

    #[test]
    fn names_and_trips() {
        assert_eq!(
            name_text("<b>名無しさん</b>@お腹いっぱい。"),
            "名無しさん@お腹いっぱい。"
        );
        let n = name_text("山田 </b>◆AbCdEf12<b>");
        assert_eq!(n, "山田 ◆AbCdEf12");
        assert_eq!(trip(&n).as_deref(), Some("◆AbCdEf12"));
        assert_eq!(trip("名無し"), None);
    }

    #[test]
    fn dates() {
        let d = parse_date("2024/01/15(月) 12:34:56.78").expect("date");
        assert_eq!(d.to_rfc3339(), "2024-01-15T12:34:56.780+09:00");
        let d = parse_date("24/01/15（月） 09:05").expect("two-digit year");
        assert_eq!(
            (d.to_rfc3339(), d.second()),
            ("2024-01-15T09:05:00+09:00".to_string(), 0)
        );
        let d = parse_date("2024/01/15(月) 12:34:56.5 ID:x").expect("one decimal");
        assert_eq!(d.timestamp_subsec_millis(), 500);
        assert!(parse_date("あぼーん").is_none());
        assert!(parse_date("Over 1000 Thread").is_none());
        assert!(parse_date("2024/13/40(月) 99:99:99").is_none());
    }

    #[test]
    fn subject_titles() {
        assert_eq!(
            split_title_count("【食品】さくら食品 part3 (123)"),
            Some(("【食品】さくら食品 part3".into(), 123))
        );
        assert_eq!(
            split_title_count("雑談(1)(45)"),
            Some(("雑談(1)".into(), 45))
        );
        assert_eq!(split_title_count("Q&amp;A (2)"), Some(("Q&A".into(), 2)));
        assert_eq!(split_title_count("壊れた行"), None);
        assert_eq!(split_title_count("(x)"), None);
    }
}
