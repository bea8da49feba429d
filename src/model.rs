//! The data that flows between pipeline stages: a [`Post`] as parsed from a source,
//! and [`PostInput`], the analyzer's input. (`Analysis`, the analyzer's verdict on a post,
//! lives in `analyze`.)

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Japan Standard Time (UTC+9, no daylight saving): boards write their times in it.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset is valid"))
}

/// Now as stored: RFC 3339, UTC, milliseconds.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time for people to read: JST with the offset shown, `2026-12-08 09:14:06 +09:00 (JST)`.
pub fn human_time<Tz: chrono::TimeZone>(t: &DateTime<Tz>) -> String {
    t.with_timezone(&jst())
        .format("%Y-%m-%d %H:%M:%S %:z (JST)")
        .to_string()
}

/// [`human_time`] of an RFC 3339 text (as the state stores times); the text itself when it is
/// not one.
pub fn human_time_str(rfc3339: &str) -> String {
    DateTime::parse_from_rfc3339(rfc3339).map_or_else(|_| rfc3339.to_string(), |t| human_time(&t))
}

/// One post as parsed from a source (design.md §1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Stable key: source kind + site + thread + number, or the site's own id
    /// (`5ch:egg.5ch.net/software/1700000000/12`). Unique across all sources.
    pub key: String,
    /// Source kind (`5ch`, `shitaraba`, `html`, `rss`, `suggest`, `bluesky`, `mastodon`).
    pub source_kind: String,
    /// Id of the configured source that produced it (see `sources::source_id`).
    pub source_id: String,
    /// The URL that was fetched to get it (dat, feed, API call, page).
    pub source_url: String,
    /// Canonical URL of the post for a human (read.cgi/…/12, permalink).
    pub url: String,
    /// Thread, page or feed title.
    pub thread_title: Option<String>,
    /// Post number in its thread, where the site numbers posts.
    pub number: Option<u64>,
    /// Poster name as shown (名無しさん…).
    pub author_name: Option<String>,
    /// Poster ID, trip or handle (`ID:AbCd1234`, `◆trip`, `@user`).
    pub author_id: Option<String>,
    /// Posted-at exactly as written on the page.
    pub posted_at_raw: Option<String>,
    /// Posted-at parsed, in JST.
    pub posted_at: Option<DateTime<FixedOffset>>,
    /// Body as plain text (HTML removed, `<br>` as newlines, entities decoded).
    pub body: String,
    /// Body HTML as served, when the source has one.
    pub body_html: Option<String>,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

impl Post {
    /// The analyzer's input for this post.
    pub fn to_input(&self) -> PostInput {
        PostInput {
            id: self.key.clone(),
            text: self.body.clone(),
            title: self.thread_title.clone(),
            url: Some(self.url.clone()),
            source: Some(self.source_kind.clone()),
            posted_at: self
                .posted_at
                .map(|t| t.to_rfc3339())
                .or_else(|| self.posted_at_raw.clone()),
        }
    }
}

/// One post to analyze, as `mimamori analyze` reads it (JSON Lines).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PostInput {
    /// Caller's id, echoed in the output.
    #[serde(default, deserialize_with = "id_string")]
    pub id: String,
    /// The post body.
    pub text: String,
    /// Thread or page title, if any: a target named there is what the post is about.
    #[serde(default)]
    pub title: Option<String>,
    /// Post URL, if known.
    #[serde(default)]
    pub url: Option<String>,
    /// Source kind (5ch, rss, …), if known.
    #[serde(default)]
    pub source: Option<String>,
    /// Posted-at as written, if known.
    #[serde(default)]
    pub posted_at: Option<String>,
}

fn id_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(match v {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn human_times_are_jst_with_the_offset() {
        assert_eq!(
            human_time_str("2026-12-08T00:14:06.123Z"),
            "2026-12-08 09:14:06 +09:00 (JST)"
        );
        assert_eq!(human_time_str("not a time"), "not a time");
    }
}
