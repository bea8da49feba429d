//! The server-rendered pages: the hit queue (`/`), search with facet counts (`/search`), a
//! hit with its post, matches highlighted in place, triage form and history (`/hits/{id}`),
//! hits per day per target (`/timeline`) and source health (`/sources`).
//!
//! Pages are plain HTML forms: no script, so the CSP forbids all of it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};

use super::html;
use super::params::{self, QueueFilter};
use super::view;
use super::{ApiError, AppState, blocking};
use crate::model::jst;
use crate::store::{HitFilter, TRIAGE_STATUSES};
use crate::text::html::esc;

/// The page routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(queue))
        .route("/search", get(search))
        .route("/hits/{id}", get(hit))
        .route("/hits/{id}/triage", axum::routing::post(triage))
        .route("/hits/{id}/packet.zip", get(packet))
        .route("/hits/{id}/files/{seq}", get(evidence_file))
        .route("/timeline", get(timeline))
        .route("/sources", get(sources))
        .fallback(not_found)
}

/// An error page with `status`.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><div class=\"error\">{}</div>",
        status.as_u16(),
        esc(message)
    );
    (status, Html(html::page("error", "", &body))).into_response()
}

struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        error_page(self.0.status, &self.0.message)
    }
}

async fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "no such page")
}

fn jst_time(rfc3339: Option<&str>) -> String {
    rfc3339
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(
            || rfc3339.unwrap_or("-").to_string(),
            |t| t.with_timezone(&jst()).format("%Y-%m-%d %H:%M").to_string(),
        )
}

fn categories() -> Vec<String> {
    params::categories().map(str::to_string).to_vec()
}

async fn queue(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Result<Html<String>, PageError> {
    let p = params::params(q.as_deref());
    let filter = QueueFilter::from_params(&p)?;
    let f = filter.clone();
    let (hits, targets) =
        blocking(move || Ok((view::queue(&state, &f)?, view::known_targets(&state)?))).await?;
    let statuses: Vec<String> = TRIAGE_STATUSES.iter().map(|s| s.to_string()).collect();
    let mut b = String::from("<h1>Hit queue</h1>");
    let _ = write!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"/\">\
<label>Target<select name=\"target\">{}</select></label>\
<label>Status<select name=\"status\">{}</select></label>\
<label>Category<select name=\"category\">{}</select></label>\
<button type=\"submit\">Filter</button></form>",
        html::options(&targets, filter.target.as_deref(), "any target"),
        html::options(&statuses, filter.status.as_deref(), "any status"),
        html::options(&categories(), filter.category.as_deref(), "any category"),
    );
    if hits.is_empty() {
        b.push_str("<div class=\"notice\">No hits match these filters.</div>");
    } else {
        let _ = write!(
            b,
            "<p class=\"meta\">{} hits, by severity, then newest first.</p><table id=\"queue\"><thead><tr><th>Sev</th><th>Status</th><th>Target</th><th>Categories</th><th>Posted (JST)</th><th>What matched</th></tr></thead><tbody>",
            hits.len()
        );
        for h in &hits {
            let matched: Vec<String> = h
                .matches
                .iter()
                .filter(|m| m.kind != "target")
                .map(|m| m.text.clone())
                .take(3)
                .collect();
            let _ = write!(
                b,
                "<tr class=\"hit\" data-id=\"{id}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/hits/{id}\">#{id}</a> {}</td></tr>",
                html::severity(h.severity),
                html::status(&h.status),
                esc(&h.target),
                html::tags(&h.categories),
                esc(&jst_time(h.posted_at.as_deref())),
                esc(&matched.join(" · ")),
                id = h.id,
            );
        }
        b.push_str("</tbody></table>");
    }
    Ok(Html(html::page("Queue", "queue", &b)))
}

fn facet_links(
    title: &str,
    key: &str,
    counts: &BTreeMap<String, u64>,
    p: &BTreeMap<String, String>,
) -> String {
    let mut out = format!("<div><b>{}</b><br>", esc(title));
    if counts.is_empty() {
        out.push_str("<span class=\"muted\">—</span>");
    }
    for (v, n) in counts {
        let mut pairs: Vec<(&str, &str)> = p
            .iter()
            .filter(|(k, _)| k.as_str() != key && k.as_str() != "limit")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push((key, v.as_str()));
        let _ = write!(
            out,
            "<a class=\"tag\" href=\"/search?{}\">{} <b>{n}</b></a>",
            html::query(&pairs),
            esc(v)
        );
    }
    out.push_str("</div>");
    out
}

async fn search(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Result<Html<String>, PageError> {
    let p = params::params(q.as_deref());
    let get = |k: &str| p.get(k).map_or("", String::as_str);
    let mut b = String::from("<h1>Search</h1>");
    let _ = write!(
        b,
        "<form class=\"filters\" method=\"get\" action=\"/search\">\
<label>Query<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"山田商事 詐欺, &quot;…&quot;, やまだ, target:yamada\"></label>\
<label>Target<input name=\"target\" value=\"{}\" size=\"10\"></label>\
<label>Category<select name=\"category\">{}</select></label>\
<label>Since<input name=\"since\" value=\"{}\" size=\"8\" placeholder=\"7d\"></label>\
<button type=\"submit\">Search</button></form>",
        esc(get("q")),
        esc(get("target")),
        html::options(
            &categories(),
            p.get("category").map(String::as_str),
            "any category"
        ),
        esc(get("since")),
    );
    if p.is_empty() {
        b.push_str("<p class=\"meta\">Words are ANDed; <code>\"…\"</code> is a phrase; kana finds the kanji it reads (やまだ → 山田); <code>OR</code>, <code>NOT</code>, <code>target:</code>, <code>category:</code>, <code>source:</code>. Empty or <code>*</code> lists every post.</p>");
        return Ok(Html(html::page("Search", "search", &b)));
    }
    // A bad parameter (a query over the limits, an unknown category) is shown beside the form
    // it came from, like a query that does not parse.
    let request = match params::search_request(&p) {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let _ = write!(
                b,
                "<div class=\"error\" id=\"search-error\">{}</div>",
                esc(&e.message)
            );
            return Ok(Html(html::page("Search", "search", &b)));
        }
        Err(e) => return Err(e.into()),
    };
    match super::search::run(Arc::clone(&state), request).await {
        Ok(out) => {
            let _ = write!(
                b,
                "<div class=\"card facets\"><div class=\"grid\">{}{}{}</div></div>",
                facet_links("Targets", "target", &out.facets.targets, &p),
                facet_links("Categories", "category", &out.facets.categories, &p),
                facet_links("Sources", "source", &out.facets.sources, &p),
            );
            let _ = write!(
                b,
                "<p class=\"meta\" id=\"total\">{} posts match; best {} shown.</p>",
                out.total,
                out.results.len()
            );
            for r in &out.results {
                let link = r
                    .hit_ids
                    .first()
                    .map(|id| format!("<a href=\"/hits/{id}\">hit #{id}</a> · "))
                    .unwrap_or_default();
                let url = html::href(&r.url).map_or_else(
                    || esc(&r.url),
                    |h| {
                        format!(
                            "<a href=\"{h}\" rel=\"noopener noreferrer\">{}</a>",
                            esc(&r.url)
                        )
                    },
                );
                let _ = write!(
                    b,
                    "<div class=\"card result\"><div class=\"meta\">{} · {} · {}{}{}</div><div class=\"snippet\">{}</div><div class=\"meta\">{link}{url}</div></div>",
                    esc(&jst_time(r.posted_at.as_deref())),
                    esc(&r.source),
                    html::tags(&r.targets),
                    html::tags(&r.categories),
                    if r.status == crate::index::NO_STATUS {
                        String::new()
                    } else {
                        format!(" {}", html::status(&r.status))
                    },
                    r.snippet_html,
                );
            }
            if out.results.is_empty() {
                b.push_str("<div class=\"notice\">No posts match.</div>");
            }
        }
        Err(e)
            if e.status == StatusCode::SERVICE_UNAVAILABLE
                || e.status == StatusCode::BAD_REQUEST =>
        {
            let _ = write!(
                b,
                "<div class=\"error\" id=\"search-error\">{}</div>",
                esc(&e.message)
            );
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Html(html::page("Search", "search", &b)))
}

fn countdown(label: &str, d: &view::Deadline) -> String {
    let (class, text) = match d.days_remaining {
        n if n < 0 => ("late", format!("passed {} days ago", -n)),
        n if n <= 14 => ("soon", format!("{n} days left")),
        n => ("", format!("{n} days left")),
    };
    format!(
        "<div><div class=\"meta\">{}</div><div class=\"count {class}\">{}</div><div class=\"meta\">{}</div></div>",
        esc(label),
        esc(&text),
        esc(&d.date)
    )
}

/// A match label for people: a risk term that is a pattern (`threat:(晒す|…)`) shows as its
/// category only.
fn match_label(label: &str) -> String {
    match label.split_once(':') {
        Some((cat, term)) if term.contains(['(', '|', '[', '\\', '*', '?', '+']) => cat.to_string(),
        _ => label.to_string(),
    }
}

/// The legal packet of a hit as a zip download (built fresh; see `evidence::export`).
async fn packet(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = super::api::hit_id(&id)?;
    let bytes = blocking(move || {
        let hit = state
            .store
            .hit(id)?
            .ok_or_else(|| ApiError::not_found(format!("no hit with id {id}")))?;
        let input = crate::evidence::export::PacketInput {
            post: state.store.post(&hit.post_key)?,
            history: state.store.triage(id)?,
            hit,
            send_to_notes: vec![
                "（ウェブ画面からの作成では新たに照会しない。`mimamori evidence export` で取得できる）"
                    .to_string(),
            ],
        };
        let tmp = tempdir_for()?;
        let out = tmp.join(format!("hit-{id}.zip"));
        let made = crate::evidence::export::export(&state.data, &input, &out)
            .map_err(|e| match e {
                crate::evidence::EvidenceError::NoEvidence { .. } => {
                    ApiError::not_found(e.to_string())
                }
                e => ApiError::internal(e.to_string()),
            })
            .and_then(|_| std::fs::read(&out).map_err(|e| ApiError::internal(e.to_string())));
        let _ = std::fs::remove_dir_all(&tmp);
        made
    })
    .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/zip".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mimamori-hit-{id}.zip\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// One screenshot, stamped screenshot or PDF of a hit (ledger entry `seq`), served only when
/// its bytes still match the ledger's hash.
async fn evidence_file(
    State(state): State<Arc<AppState>>,
    Path((id, seq)): Path<(String, String)>,
) -> Result<Response, PageError> {
    use crate::evidence::screenshot::{KIND_PDF, KIND_PNG, KIND_STAMPED};
    let id = super::api::hit_id(&id)?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{seq:?} is not a ledger entry number")))?;
    let (bytes, kind) = blocking(move || {
        let missing = || ApiError::not_found(format!("hit {id} has no screenshot or PDF #{seq}"));
        let hit = state.store.hit(id)?.ok_or_else(missing)?;
        let dir = crate::evidence::evidence_dir(&state.data);
        let entries = crate::evidence::ledger::entries(&dir)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let entry = entries
            .into_iter()
            .find(|e| {
                e.seq == seq
                    && [KIND_PNG, KIND_STAMPED, KIND_PDF].contains(&e.kind.as_str())
                    && (e.hit_id == Some(id) || e.post_keys.contains(&hit.post_key))
            })
            .ok_or_else(missing)?;
        if entry.path.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(missing());
        }
        let bytes = std::fs::read(dir.join(&entry.path))
            .map_err(|e| ApiError::internal(format!("{}: {e}", entry.path)))?;
        if crate::evidence::ledger::sha256_hex(&bytes) != entry.sha256 {
            return Err(ApiError::internal(format!(
                "{} no longer matches its ledger hash: run `mimamori evidence verify`",
                entry.path
            )));
        }
        Ok((bytes, entry.kind))
    })
    .await?;
    let content_type = if kind == KIND_PDF {
        "application/pdf"
    } else {
        "image/png"
    };
    Ok(([(axum::http::header::CONTENT_TYPE, content_type)], bytes).into_response())
}

/// A fresh private directory for building one download (outside the data directory, which
/// holds nothing else by design).
fn tempdir_for() -> Result<std::path::PathBuf, ApiError> {
    let dir = std::env::temp_dir().join(format!("mimamori-packet-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

async fn hit(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Html<String>, PageError> {
    let id = super::api::hit_id(&id)?;
    let d = blocking(move || view::detail(&state, id)).await?;
    let h = &d.hit;
    let mut b = format!(
        "<h1>Hit #{} {} {}</h1>",
        h.id,
        html::severity(h.severity),
        html::status(&h.status)
    );
    let _ = write!(
        b,
        "<p class=\"meta\">Target <b>{}</b> · {} {}</p>",
        esc(&h.target),
        html::tags(&d.categories),
        if d.pii.is_empty() {
            String::new()
        } else {
            format!("· personal data: {}", html::tags(&d.pii))
        }
    );
    if let Some(dl) = &d.deadlines {
        let _ = write!(
            b,
            "<div class=\"card\" id=\"deadlines\"><div class=\"grid\">{}{}</div><p class=\"meta\">Counted from {} ({}). Access logs at sites and ISPs are often gone after ~3 months: request disclosure before the red line.</p></div>",
            countdown("Access-log red line (posted + 90 days)", &dl.access_log),
            countdown("Outer limit (posted + 6 months)", &dl.outer_limit),
            esc(&jst_time(Some(&dl.from))),
            esc(&dl.basis),
        );
    }
    match &d.post {
        Some(p) => {
            let marks: Vec<(usize, usize, &str)> = d
                .matches
                .iter()
                .filter(|m| m.field == "text")
                .filter_map(|m| Some((m.start?, m.end?, m.kind.as_str())))
                .collect();
            let url = html::href(&p.url).map_or_else(
                || esc(&p.url),
                |h| {
                    format!(
                        "<a href=\"{h}\" rel=\"noopener noreferrer\">{}</a>",
                        esc(&p.url)
                    )
                },
            );
            let _ = write!(
                b,
                "<div class=\"card\"><div class=\"meta\"><b>{}</b></div>\
<div class=\"meta\">{} {} · <b>{}</b> {} · posted {} {}</div>\
<div class=\"body\" id=\"post-body\">{}</div>\
<div class=\"meta\">{url} · fetched {}</div></div>",
                esc(p.thread_title.as_deref().unwrap_or("(no title)")),
                esc(&p.source),
                p.number.map(|n| format!("#{n}")).unwrap_or_default(),
                esc(p.author_name.as_deref().unwrap_or("")),
                esc(p.author_id.as_deref().unwrap_or("")),
                esc(&jst_time(p.posted_at.as_deref())),
                p.posted_at_raw
                    .as_deref()
                    .map(|r| format!("(as written: {})", esc(r)))
                    .unwrap_or_default(),
                html::highlight(&p.body, &marks),
                esc(&jst_time(Some(&p.fetched_at))),
            );
        }
        None => b.push_str("<div class=\"notice\">The post is not stored.</div>"),
    }
    b.push_str("<h2>Matches</h2><table><thead><tr><th>Kind</th><th>What</th><th>Text</th></tr></thead><tbody>");
    for m in &d.matches {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td><mark class=\"{}\">{}</mark>{}</td></tr>",
            esc(&m.kind),
            esc(&match_label(&m.label)),
            esc(&m.kind),
            esc(&m.text),
            if m.field == "title" {
                " <span class=\"muted\">(title)</span>"
            } else {
                ""
            }
        );
    }
    b.push_str("</tbody></table>");
    let statuses: String = TRIAGE_STATUSES
        .iter()
        .map(|s| {
            let sel = if *s == h.status { " selected" } else { "" };
            format!("<option value=\"{s}\"{sel}>{s}</option>")
        })
        .collect();
    let _ = write!(
        b,
        "<h2>Triage</h2><form class=\"card triage filters\" method=\"post\" action=\"/hits/{}/triage\">\
<label>Status<select name=\"status\">{statuses}</select></label>\
<label>Note<textarea name=\"note\" rows=\"2\" cols=\"50\" maxlength=\"4000\"></textarea></label>\
<button type=\"submit\" id=\"triage-submit\">Save</button></form>",
        h.id
    );
    b.push_str("<h2>History</h2>");
    if d.history.is_empty() {
        b.push_str("<p class=\"meta\" id=\"history\">No triage yet (recorded as new).</p>");
    } else {
        b.push_str("<ol class=\"history\" id=\"history\">");
        for e in &d.history {
            let _ = write!(
                b,
                "<li>{} {} {}</li>",
                esc(&jst_time(Some(&e.at))),
                html::status(&e.status),
                esc(e.note.as_deref().unwrap_or(""))
            );
        }
        b.push_str("</ol>");
    }
    b.push_str("<h2>Evidence</h2>");
    if d.evidence.is_empty() {
        b.push_str("<p class=\"meta\">No evidence captured yet.</p>");
    } else {
        b.push_str("<ul class=\"evidence\" id=\"evidence\">");
        for e in &d.evidence {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            let _ = write!(
                b,
                "<li>{} {} <code>{}</code> bytes {}+{} sha256 <code>{}</code> (ledger #{})</li>",
                esc(&jst_time(Some(&s("captured_at")))),
                esc(&s("kind")),
                esc(&s("path")),
                e["offset"].as_u64().unwrap_or(0),
                e["length"].as_u64().unwrap_or(0),
                esc(&s("sha256")),
                e["seq"].as_u64().unwrap_or(0)
            );
        }
        b.push_str("</ul>");
        shots_html(&mut b, h.id, &d.evidence);
        let _ = write!(
            b,
            "<p><a href=\"/hits/{id}/packet.zip\">Download the legal packet</a> (WARC records, report.html with the takedown form drafts and deadlines, manifest).</p><p class=\"meta\">Replay: <code>mimamori evidence show {id}</code>; check: <code>mimamori evidence verify</code></p>",
            id = h.id
        );
    }
    Ok(Html(html::page(&format!("Hit #{}", h.id), "queue", &b)))
}

async fn triage(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let id = super::api::hit_id(&id)?;
    let mut status = String::new();
    let mut note = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "status" => status = v.into_owned(),
            "note" => note = Some(v.into_owned()),
            _ => {}
        }
    }
    blocking(move || super::api::apply_triage(&state, id, &status, note.as_deref())).await?;
    Ok(Redirect::to(&format!("/hits/{id}")).into_response())
}

async fn timeline(
    State(state): State<Arc<AppState>>,
    RawQuery(q): RawQuery,
) -> Result<Html<String>, PageError> {
    let p = params::params(q.as_deref());
    let days: i64 = match p.get("days") {
        None => 30,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| (1..=366).contains(n))
            .ok_or_else(|| ApiError::bad_request("days must be a number from 1 to 366"))?,
    };
    let hits = blocking(move || Ok(state.store.hits(&HitFilter::default())?)).await?;
    let today = Utc::now().with_timezone(&jst()).date_naive();
    let labels: Vec<String> = (0..days)
        .rev()
        .map(|back| {
            (today - Duration::days(back))
                .format("%Y-%m-%d")
                .to_string()
        })
        .collect();
    let mut series: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for h in &hits {
        let when = h
            .posted_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .or_else(|| DateTime::parse_from_rfc3339(&h.created_at).ok());
        let Some(when) = when else { continue };
        let day = when.with_timezone(&jst()).format("%Y-%m-%d").to_string();
        let row = series
            .entry(h.target.clone())
            .or_insert_with(|| vec![0; labels.len()]);
        if let Ok(i) = labels.binary_search(&day) {
            row[i] += 1;
        }
    }
    let total: u64 = series.values().flat_map(|v| v.iter()).sum();
    let mut b = format!(
        "<h1>Timeline</h1><p class=\"meta\">Hits per day (JST, by posted-at) per target, last {days} days: {total} hits. <a href=\"/timeline?days=7\">7</a> · <a href=\"/timeline?days=30\">30</a> · <a href=\"/timeline?days=90\">90</a> days</p>"
    );
    b.push_str(&html::timeline_svg(&labels, &series));
    Ok(Html(html::page("Timeline", "timeline", &b)))
}

async fn sources(State(state): State<Arc<AppState>>) -> Result<Html<String>, PageError> {
    let list = blocking(move || view::sources(&state)).await?;
    let mut b = String::from("<h1>Sources</h1>");
    if list.is_empty() {
        b.push_str("<div class=\"notice\">No source has been polled yet (run <code>mimamori watch</code>).</div>");
    } else {
        b.push_str("<table id=\"sources\"><thead><tr><th>Source</th><th>State</th><th>Last poll</th><th>Last ok</th><th>Errors (in a row)</th><th>Polls</th><th>Posts</th><th>Hits</th><th>Last error</th></tr></thead><tbody>");
        for s in &list {
            let class = match s.state.as_str() {
                "failing" => "st-reported",
                "ok" => "st-deleted",
                _ => "st-ignored",
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td><span class=\"tag {class}\">{}</span></td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.stored.source_id),
                esc(&s.state),
                esc(&jst_time(s.stored.last_poll.as_deref())),
                esc(&jst_time(s.stored.last_ok.as_deref())),
                s.stored.errors,
                s.stored.consecutive_errors,
                s.stored.polls,
                s.stored.posts,
                s.stored.hits,
                esc(s.stored.last_error.as_deref().unwrap_or("")),
            );
        }
        b.push_str("</tbody></table>");
    }
    Ok(Html(html::page("Sources", "sources", &b)))
}

/// The stamped screenshot (linked to the plain one) and the PDF of a hit, or the note saying
/// why there are none.
fn shots_html(b: &mut String, id: i64, evidence: &[serde_json::Value]) {
    use crate::evidence::screenshot::{KIND_NOTE, KIND_PDF, KIND_PNG, KIND_STAMPED};
    let of = |kind: &str| {
        evidence
            .iter()
            .filter(|e| e["kind"] == kind)
            .filter_map(|e| e["seq"].as_u64())
            .next_back()
    };
    let (png, stamped, pdf) = (of(KIND_PNG), of(KIND_STAMPED), of(KIND_PDF));
    if png.is_none() && stamped.is_none() && pdf.is_none() {
        if of(KIND_NOTE).is_some() {
            b.push_str("<p class=\"meta\" id=\"shots\">No screenshot: see the note in the ledger and the packet's SCREENSHOTS.txt.</p>");
        }
        return;
    }
    b.push_str("<div class=\"card\" id=\"shots\">");
    if let Some(seq) = stamped.or(png) {
        let full = png.unwrap_or(seq);
        let _ = write!(
            b,
            "<a href=\"/hits/{id}/files/{full}\"><img src=\"/hits/{id}/files/{seq}\" alt=\"screenshot of the post's page, stamped with URL, time and hash\" style=\"max-width:100%;border:1px solid #ccc\"></a>"
        );
    }
    if let Some(seq) = pdf {
        let _ = write!(b, "<p><a href=\"/hits/{id}/files/{seq}\">PDF</a></p>");
    }
    b.push_str("</div>");
}
