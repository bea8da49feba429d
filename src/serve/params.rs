//! Query parameters of the API and the pages, parsed once for both: a bad one is a 400 with
//! a message naming it and what it may be, never a panic or a plain-text rejection.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::ApiError;
use crate::analyze::risk::Category;
use crate::index::IndexError;
use crate::index::search::SearchRequest;
use crate::model::jst;
use crate::store::TRIAGE_STATUSES;

/// Most results or hits one request may ask for.
pub const MAX_LIMIT: usize = 1000;

/// Query parameters of an API request as name → value (the last one wins), every value as
/// sent: an empty `status=` is a bad status, not "any". Never fails.
pub fn api_params(query: Option<&str>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Query parameters of a page: as [`api_params`], without the empty values a form sends for
/// "any".
pub fn params(query: Option<&str>) -> BTreeMap<String, String> {
    let mut p = api_params(query);
    p.retain(|_, v| !v.trim().is_empty());
    p
}

/// `limit` parameter: 1..=[`MAX_LIMIT`], `default` when absent.
pub fn limit(p: &BTreeMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match p.get("limit") {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(format!(
                "limit must be a number from 1 to {MAX_LIMIT}, not {s:?}"
            ))),
        },
    }
}

/// A time parameter: RFC 3339, a date (midnight JST) or a duration back from now (`7d`).
pub fn time_param(name: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d
            .and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(jst()).single())
    {
        return Ok(t.with_timezone(&Utc));
    }
    crate::index::search::parse_duration(s)
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{name} must be a duration back from now (7d, 12h), a date (2024-05-01, JST) or an RFC 3339 time, not {s:?}"
            ))
        })
}

/// `s` when it is one of `known`, else a 400 naming `what` it should have been.
fn one_of(what: &str, s: &str, known: &[&str]) -> Result<String, ApiError> {
    if known.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(ApiError::bad_request(format!(
            "unknown {what} {s:?} (use one of: {})",
            known.join(", ")
        )))
    }
}

/// A status parameter: one of [`TRIAGE_STATUSES`].
pub fn status_param(s: &str) -> Result<String, ApiError> {
    one_of("triage status", s, TRIAGE_STATUSES)
}

/// The risk categories a hit can have (design.md §3).
pub fn categories() -> [&'static str; 4] {
    [
        Category::Defamation,
        Category::Insult,
        Category::Threat,
        Category::PersonalData,
    ]
    .map(Category::as_str)
}

/// A category parameter: one of [`categories`].
pub fn category_param(s: &str) -> Result<String, ApiError> {
    one_of("category", s, &categories())
}

/// Which hits the queue shows.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this target.
    pub target: Option<String>,
    /// Only hits of this category.
    pub category: Option<String>,
    /// At most this many.
    pub limit: usize,
}

impl QueueFilter {
    /// From query parameters `status`, `target`, `category`, `limit` (default 100).
    pub fn from_params(p: &BTreeMap<String, String>) -> Result<QueueFilter, ApiError> {
        Ok(QueueFilter {
            status: p.get("status").map(|s| status_param(s)).transpose()?,
            target: p.get("target").cloned(),
            category: p.get("category").map(|c| category_param(c)).transpose()?,
            limit: limit(p, 100)?,
        })
    }
}

/// The search request of parameters `q`, `target`, `category`, `source`, `since`, `until`,
/// `limit` (default 20); a `q` over the query limits is refused here, before any work.
pub fn search_request(p: &BTreeMap<String, String>) -> Result<SearchRequest, ApiError> {
    let query = p.get("q").cloned().unwrap_or_default();
    crate::index::limits::check(&query).map_err(|e| ApiError::from(IndexError::QueryLimit(e)))?;
    Ok(SearchRequest {
        query,
        target: p.get("target").cloned(),
        category: p.get("category").map(|c| category_param(c)).transpose()?,
        source: p.get("source").cloned(),
        since: p.get("since").map(|s| time_param("since", s)).transpose()?,
        until: p.get("until").map(|s| time_param("until", s)).transpose()?,
        limit: limit(p, 20)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_params_are_400_not_panics() {
        let p = params(Some("limit=-3&since=tomorrow&%ZZ=1"));
        assert!(limit(&p, 20).is_err());
        assert!(search_request(&p).is_err());
        assert!(status_param("bogus").is_err());
        assert!(time_param("since", "7d").is_ok());
        assert!(time_param("since", "999999999999999999d").is_err());
    }

    #[test]
    fn api_values_are_taken_as_sent_and_page_blanks_mean_any() {
        let api = api_params(Some("status=&category=&limit=%205"));
        assert!(QueueFilter::from_params(&api).is_err());
        assert!(category_param("").is_err());
        assert!(limit(&api, 20).is_err());
        let page = params(Some("status=&category=&target=+"));
        assert!(page.is_empty(), "{page:?}");
        assert!(QueueFilter::from_params(&page).is_ok());
    }

    #[test]
    fn categories_are_checked_like_statuses() {
        for c in categories() {
            assert_eq!(category_param(c), Ok(c.to_string()));
        }
        let e = category_param("AAA").expect_err("unknown category");
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("personal_data"), "{}", e.message);
        assert!(QueueFilter::from_params(&params(Some("category=AAA"))).is_err());
        assert!(QueueFilter::from_params(&params(Some("category=threat"))).is_ok());
        assert!(search_request(&params(Some("category=AAA"))).is_err());
    }

    #[test]
    fn an_oversized_query_is_refused_before_any_search() {
        let deep = format!("q={}", "(".repeat(30));
        let e = search_request(&params(Some(&deep))).expect_err("too deep");
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        assert!(e.message.contains("limit is 8"), "{}", e.message);
        let long = format!("q={}", "a".repeat(5000));
        let e = search_request(&params(Some(&long))).expect_err("too long");
        assert!(e.message.contains("limit is 1000"), "{}", e.message);
    }
}
