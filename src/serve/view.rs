//! What the API returns and the pages show, computed once for both (parameters are parsed
//! in [`super::params`]): the hit queue, a hit's detail (body with personal values masked and matches located in it),
//! deadlines, the watchlist and source summaries, and search with facets.
//!
//! Everything here is blocking (store and index): call it inside [`super::blocking`].

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use super::params::QueueFilter;
use super::{ApiError, AppState};
use crate::analyze::pii::{self, Masker, WatchedValue, apply_masks};
use crate::config::TargetKind;
use crate::index::SearchIndex;
use crate::index::facets::DayCount;
use crate::index::search::{Deadline as SearchDeadline, SearchRequest, SearchResult};
use crate::model::{Post, jst};
use crate::store::{Hit, HitFilter, HitMatch, SourceState, TriageEntry};

pub use crate::evidence::deadlines::{
    ACCESS_LOG_DAYS, Deadline, Deadlines, OUTER_LIMIT_MONTHS, deadlines,
};

/// Sort key of a hit's time: posted-at, else recorded-at (RFC 3339 strings compared as times).
fn hit_time(h: &Hit) -> Option<DateTime<FixedOffset>> {
    h.posted_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .or_else(|| DateTime::parse_from_rfc3339(&h.created_at).ok())
}

/// The triage queue: hits matching `f`, by severity, then newest first.
pub fn queue(state: &AppState, f: &QueueFilter) -> Result<Vec<Hit>, ApiError> {
    let mut hits = state.store.hits(&HitFilter {
        target: f.target.clone(),
        ..HitFilter::default()
    })?;
    hits.retain(|h| {
        f.status.as_ref().is_none_or(|s| &h.status == s)
            && f.category
                .as_ref()
                .is_none_or(|c| h.categories.iter().any(|x| x == c))
    });
    hits.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| hit_time(b).cmp(&hit_time(a)))
            .then_with(|| b.id.cmp(&a.id))
    });
    hits.truncate(f.limit.max(1));
    let masker = Masker::of_watchlist(state.watchlist.as_ref());
    for h in &mut hits {
        mask_hit(&masker, h);
    }
    Ok(hits)
}

/// A hit's match texts masked again by `masker` (they are stored masked by the detector's
/// view; this adds every watched value): for the queue, the detail and `mimamori hits`.
pub fn mask_hit(masker: &Masker, hit: &mut Hit) {
    for m in &mut hit.matches {
        m.text = masker.mask(&m.text);
    }
}

/// A post as the detail shows it: body with personal values masked.
#[derive(Debug, Clone, Serialize)]
pub struct PostView {
    /// The post key.
    pub key: String,
    /// Source kind.
    pub source: String,
    /// Canonical URL.
    pub url: String,
    /// Thread title.
    pub thread_title: Option<String>,
    /// Post number.
    pub number: Option<u64>,
    /// Poster name.
    pub author_name: Option<String>,
    /// Poster ID / trip / handle.
    pub author_id: Option<String>,
    /// Posted-at as written.
    pub posted_at_raw: Option<String>,
    /// Posted-at (RFC 3339, JST).
    pub posted_at: Option<String>,
    /// Fetched-at (RFC 3339, UTC).
    pub fetched_at: String,
    /// The body text, personal values replaced by their masks.
    pub body: String,
}

/// A match located in [`PostView::body`] (offsets are into the masked body).
#[derive(Debug, Clone, Serialize)]
pub struct MatchView {
    /// `target`, `risk` or `pii`.
    pub kind: String,
    /// How / which term / which kind.
    pub label: String,
    /// The matched text (masked for personal data).
    pub text: String,
    /// `text` (body) or `title`.
    pub field: String,
    /// Byte offset in the (masked) body or the title; absent when it could not be located.
    pub start: Option<usize>,
    /// Byte offset one past the end.
    pub end: Option<usize>,
}

/// Everything the hit page and `GET /api/hits/{id}` show.
#[derive(Debug, Clone, Serialize)]
pub struct HitDetail {
    /// The hit (its matches as stored: masked).
    pub hit: Hit,
    /// The post, when it is stored.
    pub post: Option<PostView>,
    /// The matches, located in the masked body.
    pub matches: Vec<MatchView>,
    /// Categories about the target.
    pub categories: Vec<String>,
    /// Severity 0–100.
    pub severity: u8,
    /// Personal-data kinds leaked.
    pub pii: Vec<String>,
    /// Evidence captured for it (none yet).
    pub evidence: Vec<serde_json::Value>,
    /// Triage history, oldest first.
    pub history: Vec<TriageEntry>,
    /// Deadlines, when a time is known.
    pub deadlines: Option<Deadlines>,
}

/// Ranges of `text` to mask, with their masks: every personal-data match of the hit in that
/// field that has an offset, plus whatever the masker finds now (the detector's findings and
/// every watched value). Sorted, non-overlapping.
fn mask_ranges(
    masker: &Masker,
    text: &str,
    field: &str,
    matches: &[HitMatch],
) -> Vec<(Range<usize>, String)> {
    let mut ranges = masker.ranges(text);
    for m in matches {
        if m.kind == "pii"
            && m.field.as_deref().unwrap_or("text") == field
            && let (Some(s), Some(e)) = (m.start, m.end)
            && s < e
            && text.get(s..e).is_some()
        {
            ranges.push((s..e, m.text.clone()));
        }
    }
    ranges.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(Range<usize>, String)> = Vec::new();
    for (r, m) in ranges {
        match out.last_mut() {
            Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push((r, m)),
        }
    }
    out
}

fn post_view(post: &Post, masker: &Masker, body: String, title: Option<String>) -> PostView {
    PostView {
        key: post.key.clone(),
        source: post.source_kind.clone(),
        url: post.url.clone(),
        thread_title: title,
        number: post.number,
        author_name: post.author_name.as_deref().map(|a| masker.mask(a)),
        author_id: post.author_id.as_deref().map(|a| masker.mask(a)),
        posted_at_raw: post.posted_at_raw.clone(),
        posted_at: post.posted_at.map(|t| t.to_rfc3339()),
        fetched_at: post.fetched_at.to_rfc3339(),
        body,
    }
}

/// Locates the matches in the masked body and title (old rows without offsets: the first
/// occurrence of their text, masked personal data is then found as written in the masked
/// text).
fn locate(hit: &Hit, post: Option<&Post>, masker: &Masker) -> (Option<PostView>, Vec<MatchView>) {
    let Some(post) = post else {
        let ms = hit
            .matches
            .iter()
            .map(|m| MatchView {
                kind: m.kind.clone(),
                label: m.label.clone(),
                text: m.text.clone(),
                field: m.field.clone().unwrap_or_else(|| "text".into()),
                start: None,
                end: None,
            })
            .collect();
        return (None, ms);
    };
    let ranges = mask_ranges(masker, &post.body, "text", &hit.matches);
    let (body, map) = apply_masks(&post.body, &ranges);
    let raw_title = post.thread_title.as_deref().unwrap_or("");
    let title_ranges = mask_ranges(masker, raw_title, "title", &hit.matches);
    let (title, title_map) = apply_masks(raw_title, &title_ranges);
    let mut out = Vec::new();
    for m in &hit.matches {
        let field = m.field.clone().unwrap_or_else(|| "text".into());
        let (start, end) = match (m.start, m.end) {
            (Some(s), Some(e)) if field == "text" && s < e && post.body.get(s..e).is_some() => {
                (Some(map(s)), Some(map(e)))
            }
            (Some(s), Some(e)) if field == "title" && s < e && raw_title.get(s..e).is_some() => {
                (Some(title_map(s)), Some(title_map(e)))
            }
            _ if !m.text.is_empty() => {
                let hay = if field == "title" {
                    title.as_str()
                } else {
                    body.as_str()
                };
                match hay.find(&m.text) {
                    Some(s) => (Some(s), Some(s + m.text.len())),
                    None => (None, None),
                }
            }
            _ => (None, None),
        };
        out.push(MatchView {
            kind: m.kind.clone(),
            label: m.label.clone(),
            text: m.text.clone(),
            field,
            start,
            end,
        });
    }
    let title = post.thread_title.is_some().then_some(title);
    (Some(post_view(post, masker, body, title)), out)
}

/// The ledger entries capturing post `key` (the WARC ranges its responses were stored in).
/// An unreadable ledger shows no evidence here (and `mimamori evidence verify` says why).
fn evidence_of(data: &std::path::Path, key: &str) -> Vec<serde_json::Value> {
    let dir = crate::evidence::evidence_dir(data);
    match crate::evidence::ledger::entries(&dir) {
        Ok(entries) => entries
            .into_iter()
            .filter(|e| e.post_keys.iter().any(|k| k == key))
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the evidence ledger");
            Vec::new()
        }
    }
}

/// The detail of hit `id`; 404 when there is none.
pub fn detail(state: &AppState, id: i64) -> Result<HitDetail, ApiError> {
    let mut hit = state
        .store
        .hit(id)?
        .ok_or_else(|| ApiError::not_found(format!("no hit with id {id}")))?;
    let post = state.store.post(&hit.post_key)?;
    let history = state.store.triage(id)?;
    let masker = Masker::of_watchlist(state.watchlist.as_ref());
    mask_hit(&masker, &mut hit);
    let (post_view, matches) = locate(&hit, post.as_ref(), &masker);
    let posted = hit
        .posted_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .or_else(|| post.as_ref().and_then(|p| p.posted_at));
    let deadlines = match (posted, &post) {
        (Some(t), _) => Some(deadlines(t, "posted_at", Utc::now())),
        (None, Some(p)) => Some(deadlines(
            p.fetched_at.with_timezone(&jst()),
            "fetched_at",
            Utc::now(),
        )),
        (None, None) => None,
    };
    let evidence = evidence_of(&state.data, &hit.post_key);
    Ok(HitDetail {
        categories: hit.categories.clone(),
        severity: hit.severity,
        pii: hit.pii.clone(),
        hit,
        post: post_view,
        matches,
        evidence,
        history,
        deadlines,
    })
}

/// One watched value as shown: its kind and its mask.
#[derive(Debug, Clone, Serialize)]
pub struct PersonalView {
    /// The kind (`phone`, …).
    pub kind: String,
    /// Masked (`090-****-6789`) or the hash's first 8 digits (`sha256:1a2b3c4d…`).
    pub value: String,
}

/// One target as shown.
#[derive(Debug, Clone, Serialize)]
pub struct TargetView {
    /// Target id.
    pub id: String,
    /// `business` or `person`.
    pub kind: String,
    /// Names.
    pub names: Vec<String>,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Readings.
    pub readings: Vec<String>,
    /// Exclusions.
    pub exclude: Vec<String>,
    /// Watched personal values, masked.
    pub personal: Vec<PersonalView>,
}

/// `GET /api/watchlist`.
#[derive(Debug, Clone, Serialize)]
pub struct WatchlistView {
    /// Every target.
    pub targets: Vec<TargetView>,
    /// Configured sources: `{kind, url, every_secs}`.
    pub sources: Vec<serde_json::Value>,
}

/// A watched value as `mimamori watchlist check` shows it.
pub fn mask_watched(kind: pii::PiiKind, value: &WatchedValue) -> String {
    match value {
        WatchedValue::Clear(v) => pii::mask(kind, v),
        WatchedValue::Hashed(h) => format!("sha256:{}…", h.get(..8).unwrap_or(h)),
    }
}

/// The watchlist summary (empty when there is none).
pub fn watchlist(state: &AppState) -> WatchlistView {
    let Some(wl) = &state.watchlist else {
        return WatchlistView {
            targets: Vec::new(),
            sources: Vec::new(),
        };
    };
    WatchlistView {
        targets: wl
            .targets
            .iter()
            .map(|t| TargetView {
                id: t.id.clone(),
                kind: match t.kind {
                    TargetKind::Business => "business".into(),
                    TargetKind::Person => "person".into(),
                },
                names: t.names.clone(),
                aliases: t.aliases.clone(),
                readings: t.readings.clone(),
                exclude: t.exclude.clone(),
                personal: t
                    .personal
                    .iter()
                    .map(|p| PersonalView {
                        kind: p.kind.as_str().to_string(),
                        value: mask_watched(p.kind, &p.value),
                    })
                    .collect(),
            })
            .collect(),
        sources: wl
            .sources
            .iter()
            .map(|s| serde_json::json!({"kind": s.kind, "url": s.url, "every_secs": s.every.as_secs()}))
            .collect(),
    }
}

/// Target ids known from the watchlist and the stored hits (for filters).
pub fn known_targets(state: &AppState) -> Result<Vec<String>, ApiError> {
    let mut ids: BTreeSet<String> = state
        .watchlist
        .iter()
        .flat_map(|w| w.targets.iter().map(|t| t.id.clone()))
        .collect();
    ids.extend(
        state
            .store
            .hits(&HitFilter::default())?
            .into_iter()
            .map(|h| h.target),
    );
    Ok(ids.into_iter().collect())
}

/// One source's health: the stored counters plus what the page makes of them.
#[derive(Debug, Clone, Serialize)]
pub struct SourceView {
    /// `ok`, `failing`, `paused` (stored but no longer configured) or `never polled`.
    pub state: String,
    /// True when the last poll failed.
    pub failing: bool,
    /// True when the source is in the state but not in the loaded watchlist.
    pub paused: bool,
    /// The stored health and counters (`source_id`, `last_poll`, `consecutive_errors`, …).
    #[serde(flatten)]
    pub stored: SourceState,
}

/// Source health: every source in the state, plus configured ones never polled.
pub fn sources(state: &AppState) -> Result<Vec<SourceView>, ApiError> {
    let configured: Option<BTreeSet<String>> = state
        .watchlist
        .as_ref()
        .map(|w| w.sources.iter().map(crate::sources::source_id).collect());
    let mut out: Vec<SourceView> = state
        .store
        .source_states()?
        .into_iter()
        .map(|s| {
            let paused = configured
                .as_ref()
                .is_some_and(|c| !c.is_empty() && !c.contains(&s.source_id));
            let failing = s.failing();
            let st = if paused {
                "paused"
            } else if failing {
                "failing"
            } else if s.last_poll.is_none() {
                "never polled"
            } else {
                "ok"
            };
            SourceView {
                state: st.into(),
                failing,
                paused,
                stored: s,
            }
        })
        .collect();
    for id in configured.unwrap_or_default() {
        if !out.iter().any(|s| s.stored.source_id == id) {
            out.push(SourceView {
                state: "never polled".into(),
                failing: false,
                paused: false,
                stored: SourceState {
                    source_id: id,
                    ..SourceState::default()
                },
            });
        }
    }
    Ok(out)
}

/// `GET /api/search`.
#[derive(Debug, Clone, Serialize)]
pub struct SearchView {
    /// The best results, statuses from the store.
    pub results: Vec<SearchResult>,
    /// Counts over every matching document.
    pub facets: FacetsView,
    /// Documents per day (JST) over every matching document.
    pub histogram: Vec<DayCount>,
    /// Documents matched in all.
    pub total: u64,
}

/// Facet counts.
#[derive(Debug, Clone, Serialize)]
pub struct FacetsView {
    /// Target id → count.
    pub targets: BTreeMap<String, u64>,
    /// Category → count.
    pub categories: BTreeMap<String, u64>,
    /// Source kind → count.
    pub sources: BTreeMap<String, u64>,
}

/// Runs a search with facets, both within `deadline`; each result's status comes from the
/// store.
pub fn search(
    state: &AppState,
    request: &SearchRequest,
    deadline: &SearchDeadline,
) -> Result<SearchView, ApiError> {
    let index = SearchIndex::open(&state.data)?;
    let mut results = index.search_within(request, deadline)?;
    let facets = index.facets_within(request, deadline)?;
    let masker = Masker::of_watchlist(state.watchlist.as_ref());
    for r in &mut results {
        let mut status = None;
        for id in &r.hit_ids {
            if let Some(h) = state.store.hit(*id as i64)? {
                status = Some(h.status);
                break;
            }
        }
        r.status = status.unwrap_or_else(|| crate::index::NO_STATUS.to_string());
        mask_result(&masker, r);
    }
    Ok(SearchView {
        results,
        total: facets.total,
        histogram: facets.histogram,
        facets: FacetsView {
            targets: facets.targets,
            categories: facets.categories,
            sources: facets.sources,
        },
    })
}

/// A search result as shown (page, API, `mimamori search`): snippet and title masked by
/// `masker`, the snippet's HTML made again from the masked snippet.
pub fn mask_result(masker: &Masker, r: &mut SearchResult) {
    r.snippet = masker.mask_marked(&r.snippet);
    r.snippet_html = super::html::marked_html(&r.snippet);
    if let Some(t) = &r.title {
        r.title = Some(masker.mask(t));
    }
}
