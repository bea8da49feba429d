//! A simulated Mastodon instance: `/api/v1/statuses/<id>` (404 once deleted) and
//! `/api/v1/timelines/tag/<tag>` with `min_id` (the statuses
//! just after it, newest first), `since_id`, `max_id` and `limit` (≤ 40). A post is tagged
//! with every watched name or alias it mentions (spaces removed) and any `#tag` it contains;
//! ids are snowflake-like (milliseconds << 16 | sequence), so they grow with time. An access
//! token can be required ([`SimMastodon::require_token`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::sitekit::{RequestLog, base, escape, json, path_query, robots, watched_names};
use super::{SimPost, SimSite};
use crate::config::Watchlist;

#[derive(Debug, Clone)]
struct Status {
    id: u64,
    seq: u64,
    tags: Vec<String>,
    text: String,
    acct: String,
    display_name: String,
    created_at: DateTime<Utc>,
}

/// The simulated Mastodon instance.
pub struct SimMastodon {
    names: Vec<String>,
    token: Option<String>,
    statuses: Mutex<Vec<Status>>,
    log: RequestLog,
}

impl SimMastodon {
    /// An instance whose posts are tagged with the watchlist's names they mention.
    pub fn new(watchlist: &Watchlist) -> Self {
        SimMastodon {
            names: watched_names(watchlist),
            token: None,
            statuses: Mutex::new(Vec::new()),
            log: RequestLog::default(),
        }
    }

    /// Timelines answer 401 without this Bearer token.
    pub fn require_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Status>> {
        self.statuses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests served so far: `"<path?query> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.log.entries()
    }

    /// The status id of an arrival.
    pub fn status_id(&self, seq: u64) -> Option<String> {
        self.lock()
            .iter()
            .find(|s| s.seq == seq)
            .map(|s| s.id.to_string())
    }

    fn tags_of(&self, text: &str) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        let mut push = |t: String| {
            if !t.is_empty() && !tags.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
                tags.push(t);
            }
        };
        for n in &self.names {
            if text.to_lowercase().contains(&n.to_lowercase()) {
                push(n.split_whitespace().collect());
            }
        }
        for part in text.split('#').skip(1) {
            push(
                part.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
        tags
    }
}

fn status_json(s: &Status, site: &str) -> Value {
    let mut content = format!(
        "<p>{}",
        s.text
            .lines()
            .map(escape)
            .collect::<Vec<_>>()
            .join("<br />")
    );
    for t in &s.tags {
        if !s.text.contains(&format!("#{t}")) {
            let href = format!(
                "{site}/tags/{}",
                url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
            );
            content.push_str(&format!(
                " <a href=\"{href}\" class=\"mention hashtag\" rel=\"tag\">#<span>{}</span></a>",
                escape(t)
            ));
        }
    }
    content.push_str("</p>");
    let user = s.acct.clone();
    json!({
        "id": s.id.to_string(),
        "created_at": s.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "in_reply_to_id": null,
        "sensitive": false,
        "spoiler_text": "",
        "visibility": "public",
        "language": "ja",
        "uri": format!("{site}/users/{user}/statuses/{}", s.id),
        "url": format!("{site}/@{user}/{}", s.id),
        "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
        "content": content,
        "reblog": null,
        "account": {"id": "1", "username": user, "acct": user, "display_name": s.display_name, "url": format!("{site}/@{user}")},
        "media_attachments": [],
        "mentions": [],
        "tags": s.tags.iter().map(|t| json!({"name": t.to_lowercase(), "url": format!("{site}/tags/{t}")})).collect::<Vec<_>>(),
        "emojis": []
    })
}

async fn tag_timeline(
    State(site): State<Arc<SimMastodon>>,
    OriginalUri(uri): OriginalUri,
    Path(tag): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = path_query(&uri);
    if let Some(want) = &site.token {
        let got = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if got != Some(want.as_str()) {
            site.log.record(&path, 401);
            return json(
                StatusCode::UNAUTHORIZED,
                &json!({"error": "The access token is invalid"}),
            );
        }
    }
    let id_param = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20)
        .clamp(1, 40);
    let tag = tag.trim_start_matches('#').to_lowercase();
    let mut matching: Vec<Status> = site
        .lock()
        .iter()
        .filter(|s| s.tags.iter().any(|t| t.to_lowercase() == tag))
        .filter(|s| id_param("max_id").is_none_or(|m| s.id < m))
        .filter(|s| id_param("since_id").is_none_or(|m| s.id > m))
        .filter(|s| id_param("min_id").is_none_or(|m| s.id > m))
        .cloned()
        .collect();
    if id_param("min_id").is_some() {
        // The statuses immediately after min_id, returned newest first.
        matching.sort_by_key(|s| s.id);
        matching.truncate(limit);
        matching.reverse();
    } else {
        matching.sort_by_key(|s| std::cmp::Reverse(s.id));
        matching.truncate(limit);
    }
    let origin = base(&headers);
    let body: Vec<Value> = matching.iter().map(|s| status_json(s, &origin)).collect();
    site.log.record(&path, 200);
    json(StatusCode::OK, &Value::Array(body))
}

/// `/api/v1/statuses/<id>`: the status, or 404 `Record not found` once deleted.
async fn one_status(
    State(site): State<Arc<SimMastodon>>,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = path_query(&uri);
    let found = site.lock().iter().find(|s| s.id.to_string() == id).cloned();
    match found {
        Some(s) => {
            site.log.record(&path, 200);
            json(StatusCode::OK, &status_json(&s, &base(&headers)))
        }
        None => {
            site.log.record(&path, 404);
            json(StatusCode::NOT_FOUND, &json!({"error": "Record not found"}))
        }
    }
}

impl SimSite for SimMastodon {
    fn name(&self) -> &'static str {
        "mastodon"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(|| async { robots() }))
            .route("/api/v1/timelines/tag/{tag}", get(tag_timeline))
            .route("/api/v1/statuses/{id}", get(one_status))
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let tags = self.tags_of(&post.text);
        let mut statuses = self.lock();
        let millis = u64::try_from(post.at.timestamp_millis()).unwrap_or(0);
        let candidate = (millis << 16) | (post.seq & 0xffff);
        let id = statuses
            .iter()
            .map(|s| s.id + 1)
            .max()
            .map_or(candidate, |next| next.max(candidate));
        statuses.push(Status {
            id,
            seq: post.seq,
            tags,
            text: post.text.clone(),
            acct: post.author_id.to_lowercase(),
            display_name: post.author.clone(),
            created_at: post.at,
        });
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut statuses = self.lock();
        let before = statuses.len();
        statuses.retain(|s| s.seq != seq);
        statuses.len() != before
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}")
    }

    fn source_kind(&self) -> &'static str {
        "mastodon"
    }
}
