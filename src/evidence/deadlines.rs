//! Legal deadlines of a post: the access-log red line (posted-at + 90 days: sites and ISPs
//! often keep access logs only about three months, so a sender-information disclosure request
//! must reach them before), the outer limit (posted-at + 6 months, the longest logs are
//! usually kept) and the provider's answer window after a takedown request (7 days, the
//! period of the プロバイダ責任制限法 consultation before a provider may act).

use chrono::{DateTime, FixedOffset, Months, Utc};
use serde::Serialize;

use crate::model::jst;

/// Days from posting to the access-log red line.
pub const ACCESS_LOG_DAYS: i64 = 90;
/// Months from posting to the outer limit.
pub const OUTER_LIMIT_MONTHS: u32 = 6;
/// Days a provider has to answer a takedown request (送信防止措置) before acting.
pub const PROVIDER_ANSWER_DAYS: i64 = 7;

/// One deadline.
#[derive(Debug, Clone, Serialize)]
pub struct Deadline {
    /// The day (JST), `YYYY-MM-DD`.
    pub date: String,
    /// Whole days left (negative when past).
    pub days_remaining: i64,
}

/// Access-log deadlines counted from posting.
#[derive(Debug, Clone, Serialize)]
pub struct Deadlines {
    /// What they are counted from (`posted_at`, or `fetched_at` when the post has no time).
    pub basis: String,
    /// That time (RFC 3339).
    pub from: String,
    /// posted-at + 90 days: after this, sites' and ISPs' access logs are often gone.
    pub access_log: Deadline,
    /// posted-at + 6 months: the outer limit.
    pub outer_limit: Deadline,
}

/// Deadlines counted from `from`.
pub fn deadlines(from: DateTime<FixedOffset>, basis: &str, now: DateTime<Utc>) -> Deadlines {
    let day = |t: DateTime<FixedOffset>| {
        let d = t.with_timezone(&jst());
        Deadline {
            date: d.format("%Y-%m-%d").to_string(),
            days_remaining: (d.with_timezone(&Utc) - now).num_days(),
        }
    };
    let access = from + chrono::Duration::days(ACCESS_LOG_DAYS);
    let outer = from
        .checked_add_months(Months::new(OUTER_LIMIT_MONTHS))
        .unwrap_or(from + chrono::Duration::days(183));
    Deadlines {
        basis: basis.to_string(),
        from: from.to_rfc3339(),
        access_log: day(access),
        outer_limit: day(outer),
    }
}

/// The end of the provider's answer window for a takedown request sent at `sent`.
pub fn answer_window(sent: DateTime<FixedOffset>, now: DateTime<Utc>) -> Deadline {
    let end = (sent + chrono::Duration::days(PROVIDER_ANSWER_DAYS)).with_timezone(&jst());
    Deadline {
        date: end.format("%Y-%m-%d").to_string(),
        days_remaining: (end.with_timezone(&Utc) - now).num_days(),
    }
}

/// Parses a post time as a user writes it: RFC 3339 (`2026-11-30T12:34:00+09:00`), or a
/// JST wall-clock time `2026-11-30T12:34`, `2026-11-30 12:34[:56]`, `2026/11/30 12:34[:56]`
/// (a 5ch-style weekday `2026/11/30(月) 12:34:56.78` and fractions allowed), or a day
/// `2026/11/30` (midnight JST). `None` when it is none of these.
pub fn parse_time(input: &str) -> Option<DateTime<FixedOffset>> {
    let s = input.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    // Drop a weekday in brackets and fractional seconds, unify the separators.
    let mut clean = String::new();
    let mut in_brackets = false;
    for c in s.chars() {
        match c {
            '(' | '（' => in_brackets = true,
            ')' | '）' => {
                in_brackets = false;
                clean.push(' ');
            }
            _ if in_brackets => {}
            '/' => clean.push('-'),
            'T' => clean.push(' '),
            _ => clean.push(c),
        }
    }
    let clean = clean.split('.').next().unwrap_or("");
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&clean, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(&clean, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    naive.and_local_timezone(jst()).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_times_parse_as_written() {
        let want = DateTime::parse_from_rfc3339("2026-11-30T12:34:00+09:00").expect("time");
        for s in [
            "2026-11-30T12:34:00+09:00",
            "2026-11-30T03:34:00Z",
            "2026-11-30T12:34",
            "2026-11-30 12:34",
            "2026/11/30 12:34",
            "2026/11/30 12:34:00",
            "2026/11/30(月) 12:34:00.12",
            " 2026/11/30（月）12:34 ",
        ] {
            assert_eq!(parse_time(s), Some(want), "{s}");
        }
        assert_eq!(
            parse_time("2026/11/30").map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-30T00:00:00+09:00")
        );
        for bad in ["", "yesterday", "2026/13/40 12:34", "12:34"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn deadlines_count_from_posting() {
        let posted = DateTime::parse_from_rfc3339("2024-01-10T12:00:00+09:00").expect("time");
        let now = DateTime::parse_from_rfc3339("2024-01-20T12:00:00+09:00")
            .expect("time")
            .with_timezone(&Utc);
        let d = deadlines(posted, "posted_at", now);
        assert_eq!(d.access_log.date, "2024-04-09");
        assert_eq!(d.access_log.days_remaining, 80);
        assert_eq!(d.outer_limit.date, "2024-07-10");
    }

    #[test]
    fn the_answer_window_is_seven_days() {
        let sent = DateTime::parse_from_rfc3339("2024-05-01T10:00:00+09:00").expect("time");
        let w = answer_window(sent, sent.with_timezone(&Utc));
        assert_eq!((w.date.as_str(), w.days_remaining), ("2024-05-08", 7));
    }
}
