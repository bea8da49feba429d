//! A simulated Bluesky PDS/AppView: `com.atproto.server.createSession` (identifier + app
//! password), `com.atproto.server.refreshSession`, and `app.bsky.feed.searchPosts`
//! (`q`, `sort=latest`, inclusive `since`, `limit`, offset `cursor`) that checks the Bearer
//! token: an unknown or expired access token is a 401 `ExpiredToken`. Tests expire tokens
//! with [`SimBluesky::expire_access`] / [`SimBluesky::revoke_all`] and count sessions.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::sitekit::{RequestLog, json, path_query, robots};
use super::{SimPost, SimSite};

#[derive(Debug, Clone)]
struct BPost {
    uri: String,
    did: String,
    handle: String,
    display_name: String,
    text: String,
    created_at: DateTime<Utc>,
}

#[derive(Default)]
struct Sessions {
    access: HashSet<String>,
    refresh: HashSet<String>,
    next: u64,
    created: u64,
    refreshed: u64,
}

/// The simulated Bluesky service.
pub struct SimBluesky {
    identifier: String,
    password: String,
    posts: Mutex<Vec<BPost>>,
    sessions: Mutex<Sessions>,
    log: RequestLog,
}

impl Default for SimBluesky {
    fn default() -> Self {
        SimBluesky::new("mimamori.bsky.social", "abcd-efgh-ijkl-mnop")
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimBluesky {
    /// A service accepting this identifier and app password.
    pub fn new(identifier: &str, password: &str) -> Self {
        SimBluesky {
            identifier: identifier.to_string(),
            password: password.to_string(),
            posts: Mutex::new(Vec::new()),
            sessions: Mutex::new(Sessions::default()),
            log: RequestLog::default(),
        }
    }

    /// Every access token stops working (refresh tokens still do).
    pub fn expire_access(&self) {
        lock(&self.sessions).access.clear();
    }

    /// Every token stops working: only a new session helps.
    pub fn revoke_all(&self) {
        let mut s = lock(&self.sessions);
        s.access.clear();
        s.refresh.clear();
    }

    /// Sessions created so far.
    pub fn sessions_created(&self) -> u64 {
        lock(&self.sessions).created
    }

    /// Sessions refreshed so far.
    pub fn sessions_refreshed(&self) -> u64 {
        lock(&self.sessions).refreshed
    }

    /// Requests served so far: `"<path?query> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.log.entries()
    }

    /// The `at://` URI of an arrival.
    pub fn uri_of(&self, seq: u64) -> Option<String> {
        let suffix = format!("/{}", rkey(seq));
        lock(&self.posts)
            .iter()
            .find(|p| p.uri.ends_with(&suffix))
            .map(|p| p.uri.clone())
    }

    fn new_tokens(&self, s: &mut Sessions) -> (String, String) {
        s.next += 1;
        let access = format!("sim-access-{}", s.next);
        let refresh = format!("sim-refresh-{}", s.next);
        s.access.insert(access.clone());
        s.refresh.insert(refresh.clone());
        (access, refresh)
    }

    fn session_json(&self, access: &str, refresh: &str) -> Value {
        json!({
            "did": "did:plc:mimamorisimulated0000001",
            "handle": self.identifier,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": true
        })
    }

    fn search(&self, q: &HashMap<String, String>) -> Result<Value, (StatusCode, Value)> {
        let bad = |m: &str| {
            (
                StatusCode::BAD_REQUEST,
                json!({"error": "InvalidRequest", "message": m}),
            )
        };
        let query = q
            .get("q")
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("Error: Params must have the property \"q\""))?;
        let since = match q.get("since") {
            Some(s) => Some(
                DateTime::parse_from_rfc3339(s)
                    .map_err(|_| bad("since must be a datetime"))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let limit: usize = q
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(25)
            .clamp(1, 100);
        let offset: usize = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut hits: Vec<BPost> = lock(&self.posts)
            .iter()
            .filter(|p| {
                p.text.to_lowercase().contains(&query) && since.is_none_or(|s| p.created_at >= s)
            })
            .cloned()
            .collect();
        hits.sort_by(|a, b| {
            b.created_at
                .cmp(&a.created_at)
                .then_with(|| b.uri.cmp(&a.uri))
        });
        let total = hits.len();
        let page: Vec<Value> = hits
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|p| post_view(&p))
            .collect();
        let mut answer = json!({"hitsTotal": total, "posts": page});
        if offset + limit < total {
            answer["cursor"] = json!((offset + limit).to_string());
        }
        Ok(answer)
    }
}

/// A post as the AppView shows it (`app.bsky.feed.defs#postView`).
fn post_view(p: &BPost) -> Value {
    json!({
        "uri": p.uri,
        "cid": format!("bafyreisim{}", p.uri.rsplit('/').next().unwrap_or("")),
        "author": {"did": p.did, "handle": p.handle, "displayName": p.display_name, "labels": []},
        "record": {"$type": "app.bsky.feed.post", "createdAt": p.created_at.to_rfc3339_opts(SecondsFormat::Millis, true), "langs": ["ja"], "text": p.text},
        "replyCount": 0, "repostCount": 0, "likeCount": 0, "quoteCount": 0,
        "indexedAt": p.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "labels": []
    })
}

fn rkey(seq: u64) -> String {
    format!("3ksim{seq:08}")
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|t| t.trim().to_string())
}

async fn create_session(
    State(site): State<Arc<SimBluesky>>,
    OriginalUri(uri): OriginalUri,
    body: String,
) -> Response {
    let path = path_query(&uri);
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let ok = v.get("identifier").and_then(Value::as_str) == Some(site.identifier.as_str())
        && v.get("password").and_then(Value::as_str) == Some(site.password.as_str());
    if !ok {
        site.log.record(&path, 401);
        return json(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}),
        );
    }
    let (access, refresh) = {
        let mut s = lock(&site.sessions);
        s.created += 1;
        site.new_tokens(&mut s)
    };
    site.log.record(&path, 200);
    json(StatusCode::OK, &site.session_json(&access, &refresh))
}

async fn refresh_session(
    State(site): State<Arc<SimBluesky>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = path_query(&uri);
    let token = bearer(&headers).unwrap_or_default();
    let tokens = {
        let mut s = lock(&site.sessions);
        if s.refresh.remove(&token) {
            s.refreshed += 1;
            Some(site.new_tokens(&mut s))
        } else {
            None
        }
    };
    match tokens {
        Some((access, refresh)) => {
            site.log.record(&path, 200);
            json(StatusCode::OK, &site.session_json(&access, &refresh))
        }
        None => {
            site.log.record(&path, 400);
            json(
                StatusCode::BAD_REQUEST,
                &json!({"error": "ExpiredToken", "message": "Token has been revoked"}),
            )
        }
    }
}

/// The 401 `ExpiredToken` answer (logged) when the request's Bearer token is not a live
/// access token.
fn refuse_unauthorized(site: &SimBluesky, headers: &HeaderMap, path: &str) -> Option<Response> {
    let authorized = bearer(headers).is_some_and(|t| lock(&site.sessions).access.contains(&t));
    if authorized {
        return None;
    }
    site.log.record(path, 401);
    Some(json(
        StatusCode::UNAUTHORIZED,
        &json!({"error": "ExpiredToken", "message": "Token has expired"}),
    ))
}

async fn search_posts(
    State(site): State<Arc<SimBluesky>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = path_query(&uri);
    if let Some(refused) = refuse_unauthorized(&site, &headers, &path) {
        return refused;
    }
    match site.search(&q) {
        Ok(v) => {
            site.log.record(&path, 200);
            json(StatusCode::OK, &v)
        }
        Err((status, v)) => {
            site.log.record(&path, status.as_u16());
            json(status, &v)
        }
    }
}

/// `app.bsky.feed.getPosts?uris=…`: the posts that still exist (a deleted one is simply
/// missing from the answer, as on the AppView).
async fn get_posts(
    State(site): State<Arc<SimBluesky>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let path = path_query(&uri);
    if let Some(refused) = refuse_unauthorized(&site, &headers, &path) {
        return refused;
    }
    let wanted: Vec<String> = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, _)| k == "uris")
        .map(|(_, v)| v.into_owned())
        .collect();
    let posts: Vec<Value> = lock(&site.posts)
        .iter()
        .filter(|p| wanted.contains(&p.uri))
        .map(post_view)
        .collect();
    site.log.record(&path, 200);
    json(StatusCode::OK, &json!({"posts": posts}))
}

impl SimSite for SimBluesky {
    fn name(&self) -> &'static str {
        "bluesky"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(|| async { robots() }))
            .route(
                "/xrpc/com.atproto.server.createSession",
                post(create_session),
            )
            .route(
                "/xrpc/com.atproto.server.refreshSession",
                post(refresh_session),
            )
            .route("/xrpc/app.bsky.feed.searchPosts", get(search_posts))
            .route("/xrpc/app.bsky.feed.getPosts", get(get_posts))
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let handle = format!("{}.bsky.social", post.author_id.to_lowercase());
        let did = format!("did:plc:sim{}", post.author_id.to_lowercase());
        lock(&self.posts).push(BPost {
            uri: format!("at://{did}/app.bsky.feed.post/{}", rkey(post.seq)),
            did,
            handle,
            display_name: post.author.clone(),
            text: post.text.clone(),
            created_at: post.at,
        });
    }

    fn delete_post(&self, seq: u64) -> bool {
        let suffix = format!("/{}", rkey(seq));
        let mut posts = lock(&self.posts);
        let before = posts.len();
        posts.retain(|p| !p.uri.ends_with(&suffix));
        posts.len() != before
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}")
    }

    fn source_kind(&self) -> &'static str {
        "bluesky"
    }
}
