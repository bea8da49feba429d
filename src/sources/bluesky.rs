//! The `bluesky` source: `app.bsky.feed.searchPosts` for each target name, newest first,
//! with an app-password session.
//!
//! The identifier and app password come from environment variables whose *names* the config
//! gives (`identifier_env`, `password_env`; default `BLUESKY_IDENTIFIER`,
//! `BLUESKY_APP_PASSWORD`) — never from the file itself; a missing variable is a
//! [`SourceError::Credentials`] naming it. The session (access + refresh JWT) lives in memory
//! only — tokens are never written to the state database. A 401 (or `ExpiredToken`) refreshes
//! the session, or creates a new one if the refresh is refused, and retries once.
//! A re-check asks `app.bsky.feed.getPosts` for the post's at:// URI (missing = deleted).
//!
//! Per name, the cursor keeps `since` (the newest `createdAt` seen, capped at now, since a
//! client may write any time into a record) and the recently seen post URIs: `since` is
//! inclusive, so the boundary posts come back and are dropped by URI.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, FetchResponse, Method};
use crate::model::Post;
use crate::sources::web::{self, EnvLookup, Settings};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// Settings this kind reads.
const KNOWN: &[&str] = &[
    "identifier_env",
    "password_env",
    "limit",
    "max_pages",
    "use_aliases",
    "lang",
];
/// Variable holding the identifier when the config names none.
pub const DEFAULT_IDENTIFIER_ENV: &str = "BLUESKY_IDENTIFIER";
/// Variable holding the app password when the config names none.
pub const DEFAULT_PASSWORD_ENV: &str = "BLUESKY_APP_PASSWORD";
/// URIs remembered per query.
const MAX_SEEN: usize = 300;

/// One post of a `searchPosts` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BskyPost {
    /// `at://did/app.bsky.feed.post/rkey`.
    pub uri: String,
    /// Author handle.
    pub handle: String,
    /// Author display name.
    pub display_name: Option<String>,
    /// Post text.
    pub text: String,
    /// `createdAt` as written.
    pub created_at_raw: Option<String>,
    /// `createdAt` parsed.
    pub created_at: Option<DateTime<Utc>>,
}

impl BskyPost {
    /// The post's web URL: `https://bsky.app/profile/<handle>/post/<rkey>`.
    pub fn web_url(&self) -> String {
        let rkey = self.uri.rsplit('/').next().unwrap_or("");
        format!("https://bsky.app/profile/{}/post/{rkey}", self.handle)
    }
}

#[derive(Deserialize)]
struct RawSearch {
    #[serde(default)]
    posts: Vec<RawPost>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct RawPost {
    uri: String,
    author: RawAuthor,
    #[serde(default)]
    record: Value,
}

#[derive(Deserialize)]
struct RawAuthor {
    handle: String,
    #[serde(rename = "displayName")]
    display_name: Option<String>,
}

/// Parses a `searchPosts` response: the posts and the next-page cursor.
pub fn parse_search(body: &[u8]) -> Result<(Vec<BskyPost>, Option<String>), String> {
    let raw: RawSearch =
        serde_json::from_slice(body).map_err(|e| format!("searchPosts answer: {e}"))?;
    let posts = raw
        .posts
        .into_iter()
        .map(|p| {
            let created_at_raw = p
                .record
                .get("createdAt")
                .and_then(Value::as_str)
                .map(str::to_string);
            BskyPost {
                uri: p.uri,
                handle: p.author.handle,
                display_name: p.author.display_name.filter(|d| !d.trim().is_empty()),
                text: p
                    .record
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                created_at: created_at_raw
                    .as_deref()
                    .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
                    .map(|t| t.with_timezone(&Utc)),
                created_at_raw,
            }
        })
        .collect();
    Ok((posts, raw.cursor.filter(|c| !c.is_empty())))
}

/// An authenticated session.
#[derive(Debug, Clone)]
struct Session {
    access: String,
    refresh: String,
}

fn parse_session(resp: &FetchResponse) -> Option<Session> {
    let v: Value = serde_json::from_slice(&resp.body).ok()?;
    Some(Session {
        access: v.get("accessJwt")?.as_str()?.to_string(),
        refresh: v.get("refreshJwt")?.as_str()?.to_string(),
    })
}

/// Whether a response says the access token is not (or no longer) valid.
fn auth_failed(resp: &FetchResponse) -> bool {
    if resp.status == 401 {
        return true;
    }
    resp.status == 400
        && serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| {
                v.get("error")
                    .and_then(Value::as_str)
                    .map(|e| e == "ExpiredToken" || e == "InvalidToken")
            })
            .unwrap_or(false)
}

/// A configured `bluesky` source (url = PDS or AppView base, e.g. `https://bsky.social`).
pub struct BlueskySource {
    id: String,
    every: Duration,
    url: Url,
    identifier_env: String,
    password_env: String,
    limit: u64,
    max_pages: usize,
    use_aliases: bool,
    lang: Option<String>,
    env: EnvLookup,
    session: Mutex<Option<Session>>,
}

impl BlueskySource {
    /// Builds the source; credentials are read from the process environment at poll time.
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        Self::with_env(cfg, web::process_env())
    }

    /// Builds the source with another environment lookup (tests, `demo`).
    pub fn with_env(cfg: &SourceConfig, env: EnvLookup) -> Result<Self, SourceError> {
        let s = Settings::new(cfg);
        s.reject_unknown(KNOWN)?;
        let mut url = s.url()?;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        Ok(BlueskySource {
            id: source_id(cfg),
            every: cfg.every,
            url,
            identifier_env: s
                .str("identifier_env")?
                .unwrap_or_else(|| DEFAULT_IDENTIFIER_ENV.to_string()),
            password_env: s
                .str("password_env")?
                .unwrap_or_else(|| DEFAULT_PASSWORD_ENV.to_string()),
            limit: s.int("limit", 25, 1, 100)?,
            max_pages: s.int("max_pages", 2, 1, 20)? as usize,
            use_aliases: s.bool("use_aliases", false)?,
            lang: s.str("lang")?,
            env,
            session: Mutex::new(None),
        })
    }

    fn xrpc(&self, method: &str) -> Result<Url, SourceError> {
        self.url
            .join(&format!("xrpc/{method}"))
            .map_err(|e| SourceError::Config {
                origin: self.id.clone(),
                message: e.to_string(),
            })
    }

    /// `com.atproto.server.createSession` with the credentials from the environment.
    async fn create_session(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
    ) -> Result<Session, SourceError> {
        let identifier = web::secret(&self.env, "bluesky", "identifier_env", &self.identifier_env)?;
        let password = web::secret(&self.env, "bluesky", "password_env", &self.password_env)?;
        let url = self.xrpc("com.atproto.server.createSession")?;
        let resp = ctx
            .fetcher
            .fetch(FetchRequest::post_json(
                url.clone(),
                &json!({"identifier": identifier, "password": password}),
            ))
            .await?;
        out.requests += 1;
        out.bytes += resp.body.len() as u64;
        match resp.status {
            200 => parse_session(&resp).ok_or_else(|| SourceError::Parse {
                url: url.to_string(),
                message: "createSession answer has no accessJwt/refreshJwt".into(),
            }),
            400 | 401 => Err(SourceError::Credentials(format!(
                "bluesky source: {url} refused the identifier in {} / app password in {} (HTTP {}); check them",
                self.identifier_env, self.password_env, resp.status
            ))),
            _ => Err(web::status_error(&resp)),
        }
    }

    /// `com.atproto.server.refreshSession`; `None` if the refresh token is refused.
    async fn refresh_session(
        &self,
        old: &Session,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
    ) -> Result<Option<Session>, SourceError> {
        let url = self.xrpc("com.atproto.server.refreshSession")?;
        let mut req = FetchRequest::get(url);
        req.method = Method::Post;
        let req = req.with_header("authorization", &format!("Bearer {}", old.refresh));
        let resp = ctx.fetcher.fetch(req).await?;
        out.requests += 1;
        out.bytes += resp.body.len() as u64;
        Ok(if resp.status == 200 {
            parse_session(&resp)
        } else {
            None
        })
    }

    /// The current session, creating one if there is none.
    async fn session(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
    ) -> Result<Session, SourceError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref() {
            return Ok(s.clone());
        }
        let s = self.create_session(ctx, out).await?;
        *guard = Some(s.clone());
        Ok(s)
    }

    /// Replaces a session the server refused: refresh, else create anew.
    async fn renew(
        &self,
        refused: &Session,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
    ) -> Result<Session, SourceError> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref()
            && s.access != refused.access
        {
            return Ok(s.clone());
        }
        let s = match self.refresh_session(refused, ctx, out).await? {
            Some(s) => s,
            None => self.create_session(ctx, out).await?,
        };
        *guard = Some(s.clone());
        Ok(s)
    }

    /// One authenticated GET (`searchPosts`, `getPosts`), renewing the session once on an
    /// auth failure.
    async fn get_authed(
        &self,
        url: &Url,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
    ) -> Result<FetchResponse, SourceError> {
        let mut session = self.session(ctx, out).await?;
        for attempt in 0..2 {
            let req = FetchRequest::get(url.clone())
                .with_header("authorization", &format!("Bearer {}", session.access))
                .with_header("accept", "application/json");
            let resp = ctx.fetcher.fetch(req).await?;
            out.requests += 1;
            out.bytes += resp.body.len() as u64;
            if !auth_failed(&resp) {
                return Ok(resp);
            }
            if attempt == 0 {
                tracing::info!(source = %self.id, "bluesky session refused; renewing");
                session = self.renew(&session, ctx, out).await?;
            }
        }
        *self.session.lock().await = None;
        Err(SourceError::Credentials(format!(
            "bluesky source: {url}: the server refused a fresh session (HTTP 401)"
        )))
    }

    fn post(&self, p: &BskyPost, source_url: &Url, ctx: &PollContext<'_>) -> Post {
        Post {
            key: format!("bluesky:{}", p.uri),
            source_kind: "bluesky".to_string(),
            source_id: self.id.clone(),
            source_url: source_url.to_string(),
            url: p.web_url(),
            thread_title: None,
            number: None,
            author_name: p.display_name.clone(),
            author_id: Some(format!("@{}", p.handle)),
            posted_at_raw: p.created_at_raw.clone(),
            posted_at: p.created_at.map(web::to_jst),
            body: p.text.clone(),
            body_html: None,
            fetched_at: ctx.now,
        }
    }
}

#[async_trait::async_trait]
impl Source for BlueskySource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "bluesky"
    }

    fn every(&self) -> Duration {
        self.every
    }

    /// Asks the AppView for the post itself (`app.bsky.feed.getPosts?uris=<at-uri>`): a post
    /// missing from the answer is deleted; its text changed (records can be rewritten) is
    /// changed.
    async fn recheck(
        &self,
        fetcher: &crate::fetch::Fetcher,
        post: &Post,
    ) -> Result<crate::sources::recheck::Observation, SourceError> {
        use crate::sources::recheck::{Liveness, Observation};
        let Some(uri) = post.key.strip_prefix("bluesky:") else {
            return crate::sources::recheck::check_page(fetcher, post).await;
        };
        let mut url = self.xrpc("app.bsky.feed.getPosts")?;
        url.query_pairs_mut().append_pair("uris", uri);
        let cursors = crate::sources::Cursors::default();
        let ctx = PollContext {
            fetcher,
            targets: &[],
            cursors: &cursors,
            now: Utc::now(),
        };
        let resp = self
            .get_authed(&url, &ctx, &mut PollOutput::default())
            .await?;
        if resp.status != 200 {
            return Err(SourceError::Parse {
                url: url.to_string(),
                message: format!("HTTP {} on re-check; trying again later", resp.status),
            });
        }
        let (posts, _) = parse_search(&resp.body).map_err(|message| SourceError::Parse {
            url: url.to_string(),
            message,
        })?;
        let (state, detail) = match posts.iter().find(|p| p.uri == uri) {
            None => (
                Liveness::Deleted,
                "getPosts no longer returns the post".to_string(),
            ),
            Some(p) if crate::sources::recheck::holds_body(&p.text, &post.body) => {
                (Liveness::Up, "the post is up".to_string())
            }
            Some(_) => (
                Liveness::Changed,
                "the post no longer holds the text".to_string(),
            ),
        };
        Ok(Observation {
            state,
            detail,
            response: Some(resp),
        })
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let mut out = PollOutput::default();
        let mut names: Vec<String> = Vec::new();
        for t in ctx.targets {
            names.extend(t.names.iter().cloned());
            if self.use_aliases {
                names.extend(t.aliases.iter().cloned());
            }
        }
        let mut unique = HashSet::new();
        names.retain(|n| unique.insert(n.clone()));
        let mut this_poll: HashSet<String> = HashSet::new();
        let endpoint = self.xrpc("app.bsky.feed.searchPosts")?;
        for name in &names {
            let key = format!("q:{name}");
            let cursor = ctx.cursors.get(&key);
            let old_seen = web::cursor_list(cursor, "seen");
            let since = web::cursor_str(cursor, "since");
            let mut newest: Option<DateTime<Utc>> = since
                .as_deref()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc));
            let mut new_uris: Vec<String> = Vec::new();
            let mut page_cursor: Option<String> = None;
            for _ in 0..self.max_pages {
                let mut url = endpoint.clone();
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("q", name)
                        .append_pair("sort", "latest")
                        .append_pair("limit", &self.limit.to_string());
                    if let Some(s) = &since {
                        q.append_pair("since", s);
                    }
                    if let Some(l) = &self.lang {
                        q.append_pair("lang", l);
                    }
                    if let Some(c) = &page_cursor {
                        q.append_pair("cursor", c);
                    }
                }
                let resp = self.get_authed(&url, ctx, &mut out).await?;
                if resp.status != 200 {
                    out.notes
                        .push(format!("bluesky \"{name}\": HTTP {}", resp.status));
                    break;
                }
                let (posts, next) =
                    parse_search(&resp.body).map_err(|message| SourceError::Parse {
                        url: url.to_string(),
                        message,
                    })?;
                let mut keys = Vec::new();
                let mut reached_seen = false;
                for p in &posts {
                    if old_seen.contains(&p.uri) {
                        reached_seen = true;
                        continue;
                    }
                    if let Some(c) = p.created_at {
                        newest = Some(newest.map_or(c, |n| n.max(c)).min(ctx.now));
                    }
                    new_uris.push(p.uri.clone());
                    if !this_poll.insert(p.uri.clone()) {
                        continue;
                    }
                    let post = self.post(p, &url, ctx);
                    keys.push(post.key.clone());
                    out.posts.push(post);
                }
                if !keys.is_empty() {
                    out.captures.push(Capture {
                        response: resp,
                        post_keys: keys,
                    });
                }
                match next {
                    Some(c) if !reached_seen && posts.len() as u64 >= self.limit => {
                        page_cursor = Some(c)
                    }
                    _ => break,
                }
            }
            if !new_uris.is_empty() {
                let since = newest.map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true));
                out.cursor_updates.push(CursorUpdate {
                    key,
                    value: Some(json!({"since": since, "seen": web::merge_seen(&new_uris, &old_seen, MAX_SEEN)})),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEARCH: &[u8] = include_bytes!("../../tests/fixtures/sites/bsky_search_posts.json");

    #[test]
    fn search_posts() {
        let (posts, cursor) = parse_search(SEARCH).expect("parse");
        assert_eq!(cursor.as_deref(), Some("25"));
        assert_eq!(posts.len(), 2);
        let p = &posts[0];
        assert_eq!(
            p.uri,
            "at://did:plc:u5cwb2mwiv2bfq53cjufe6yn/app.bsky.feed.post/3kq4wz7rnt22c"
        );
        assert_eq!(p.handle, "hanako.bsky.social");
        assert_eq!(p.display_name.as_deref(), Some("はなこ"));
        assert_eq!(
            p.text,
            "さくら食品の工場、衛生管理ひどいって元社員が言ってた"
        );
        assert_eq!(
            p.created_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-12T03:04:05.123+00:00")
        );
        assert_eq!(
            p.web_url(),
            "https://bsky.app/profile/hanako.bsky.social/post/3kq4wz7rnt22c"
        );
        assert_eq!(
            posts[1].display_name, None,
            "an empty display name is no name"
        );
        assert!(parse_search(b"{\"posts\": 3}").is_err());
        assert!(parse_search(b"").is_err());
        assert_eq!(
            parse_search(b"{\"posts\": []}").map(|(p, c)| (p.len(), c)),
            Ok((0, None))
        );
    }
}
