//! The `mastodon` source: hashtag timelines (`/api/v1/timelines/tag/<tag>?min_id=<last>`).
//!
//! `min_id` asks for the statuses just after the last one seen, so a poll never re-reads old
//! ones; when a page comes back full, the next page continues from its newest id (up to
//! `max_pages`). Tags default to the targets' names with spaces removed (a hashtag has none).
//! An access token is optional (some instances require one for timelines); it is read from
//! the environment variable named by `token_env`. A re-check asks for the status itself
//! (`/api/v1/statuses/<id>`).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::FetchRequest;
use crate::model::Post;
use crate::sources::web::{self, EnvLookup, Settings};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// Settings this kind reads.
const KNOWN: &[&str] = &["tags", "token_env", "limit", "max_pages"];

/// One status of a timeline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Status {
    /// Snowflake id (a decimal string).
    pub id: String,
    /// When it was posted.
    pub created_at: Option<String>,
    /// Web URL on its home instance.
    pub url: Option<String>,
    /// ActivityPub URI.
    #[serde(default)]
    pub uri: String,
    /// Content HTML.
    #[serde(default)]
    pub content: String,
    /// Content warning.
    #[serde(default)]
    pub spoiler_text: String,
    /// The author.
    pub account: Account,
    /// The boosted status, when this is a boost.
    pub reblog: Option<Box<Status>>,
}

/// A status's author.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Account {
    /// `user` or `user@instance`.
    pub acct: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
}

/// Parses a timeline (an array of statuses, newest first).
pub fn parse_timeline(body: &[u8]) -> Result<Vec<Status>, String> {
    serde_json::from_slice(body).map_err(|e| format!("timeline answer: {e}"))
}

/// Compares two snowflake ids numerically (longer = larger, then digit by digit).
pub fn cmp_ids(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A configured `mastodon` source (url = the instance).
pub struct MastodonSource {
    id: String,
    every: Duration,
    url: Url,
    tags: Option<Vec<String>>,
    token_env: Option<String>,
    limit: u64,
    max_pages: usize,
    env: EnvLookup,
}

impl MastodonSource {
    /// Builds the source; a token (if named) is read from the process environment.
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        Self::with_env(cfg, web::process_env())
    }

    /// Builds the source with another environment lookup (tests, `demo`).
    pub fn with_env(cfg: &SourceConfig, env: EnvLookup) -> Result<Self, SourceError> {
        let s = Settings::new(cfg);
        s.reject_unknown(KNOWN)?;
        let tags = s.str_list("tags")?.map(|t| {
            t.into_iter()
                .map(|t| t.trim_start_matches('#').to_string())
                .collect::<Vec<_>>()
        });
        if tags.as_ref().is_some_and(|t| {
            t.iter()
                .any(|t| t.is_empty() || t.contains(char::is_whitespace))
        }) {
            return Err(s.error("tags", "a hashtag has no spaces and is not empty"));
        }
        Ok(MastodonSource {
            id: source_id(cfg),
            every: cfg.every,
            url: s.url()?,
            tags,
            token_env: s.str("token_env")?,
            limit: s.int("limit", 40, 1, 40)?,
            max_pages: s.int("max_pages", 3, 1, 20)? as usize,
            env,
        })
    }

    /// `<instance>/api/v1/<segments…>`.
    fn api_url(&self, segments: &[&str]) -> Result<Url, SourceError> {
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|()| SourceError::Config {
                origin: self.id.clone(),
                message: "url cannot be a base".into(),
            })?
            .pop_if_empty()
            .extend(["api", "v1"])
            .extend(segments);
        Ok(url)
    }

    /// The access token, when `token_env` names one.
    fn token(&self) -> Result<Option<String>, SourceError> {
        match &self.token_env {
            Some(var) => Ok(Some(web::secret(&self.env, "mastodon", "token_env", var)?)),
            None => Ok(None),
        }
    }

    fn tags(&self, ctx: &PollContext<'_>) -> Vec<String> {
        let mut tags: Vec<String> = match &self.tags {
            Some(t) => t.clone(),
            None => ctx
                .targets
                .iter()
                .flat_map(|t| t.names.iter())
                .map(|n| n.split_whitespace().collect::<String>())
                .collect(),
        };
        let mut seen = HashSet::new();
        tags.retain(|t| seen.insert(t.to_lowercase()));
        tags
    }

    fn post(&self, s: &Status, tag: &str, source_url: &Url, ctx: &PollContext<'_>) -> Post {
        let text = web::html_to_text(&s.content);
        let body = if s.spoiler_text.trim().is_empty() {
            text
        } else {
            format!("{}\n{text}", s.spoiler_text.trim())
        };
        let created = s
            .created_at
            .as_deref()
            .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Utc));
        Post {
            key: format!("mastodon:{}/{}", web::host_key(&self.url), s.id),
            source_kind: "mastodon".to_string(),
            source_id: self.id.clone(),
            source_url: source_url.to_string(),
            url: s
                .url
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| s.uri.clone()),
            thread_title: Some(format!("#{tag}")),
            number: None,
            author_name: Some(s.account.display_name.trim().to_string()).filter(|d| !d.is_empty()),
            author_id: Some(format!("@{}", s.account.acct)),
            posted_at_raw: s.created_at.clone(),
            posted_at: created.map(web::to_jst),
            body,
            body_html: Some(s.content.clone()),
            fetched_at: ctx.now,
        }
    }
}

#[async_trait::async_trait]
impl Source for MastodonSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "mastodon"
    }

    fn every(&self) -> Duration {
        self.every
    }

    /// Asks the instance for the status itself (`/api/v1/statuses/<id>`): 404/410 = deleted
    /// (the author or a moderator removed it), its text gone from the content = changed
    /// (edited).
    async fn recheck(
        &self,
        fetcher: &crate::fetch::Fetcher,
        post: &Post,
    ) -> Result<crate::sources::recheck::Observation, SourceError> {
        use crate::sources::recheck::{Liveness, Observation};
        let Some(id) = post.key.rsplit_once('/').map(|(_, id)| id) else {
            return crate::sources::recheck::check_page(fetcher, post).await;
        };
        let url = self.api_url(&["statuses", id])?;
        let mut req = FetchRequest::get(url.clone()).with_header("accept", "application/json");
        if let Some(t) = self.token()? {
            req = req.with_header("authorization", &format!("Bearer {t}"));
        }
        let resp = fetcher.fetch(req).await?;
        let (state, detail) = match resp.status {
            404 | 410 => (
                Liveness::Deleted,
                format!("the instance answers HTTP {} for status {id}", resp.status),
            ),
            200 => {
                let status: Status =
                    serde_json::from_slice(&resp.body).map_err(|e| SourceError::Parse {
                        url: url.to_string(),
                        message: format!("status answer: {e}"),
                    })?;
                let text = format!(
                    "{}\n{}",
                    status.spoiler_text,
                    web::html_to_text(&status.content)
                );
                if crate::sources::recheck::holds_body(&text, &post.body) {
                    (Liveness::Up, format!("status {id} is up"))
                } else {
                    (
                        Liveness::Changed,
                        format!("status {id} no longer holds the text (edited)"),
                    )
                }
            }
            s => {
                return Err(SourceError::Parse {
                    url: url.to_string(),
                    message: format!("HTTP {s} on re-check; trying again later"),
                });
            }
        };
        Ok(Observation {
            state,
            detail,
            response: Some(resp),
        })
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let token = self.token()?;
        let mut out = PollOutput::default();
        let mut this_poll: HashSet<String> = HashSet::new();
        for tag in self.tags(ctx) {
            let key = format!("tag:{tag}");
            let old_min = web::cursor_str(ctx.cursors.get(&key), "min_id");
            let mut min_id = old_min.clone();
            for _ in 0..self.max_pages {
                let mut url = self.api_url(&["timelines", "tag", tag.as_str()])?;
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("limit", &self.limit.to_string());
                    if let Some(m) = &min_id {
                        q.append_pair("min_id", m);
                    }
                }
                let mut req =
                    FetchRequest::get(url.clone()).with_header("accept", "application/json");
                if let Some(t) = &token {
                    req = req.with_header("authorization", &format!("Bearer {t}"));
                }
                let resp = ctx.fetcher.fetch(req).await?;
                out.requests += 1;
                out.bytes += resp.body.len() as u64;
                if resp.status == 401 || resp.status == 403 {
                    return Err(SourceError::Credentials(format!(
                        "mastodon source: {url}: HTTP {} (this instance wants an access token: set token_env)",
                        resp.status
                    )));
                }
                if resp.status != 200 {
                    out.notes
                        .push(format!("mastodon #{tag}: HTTP {}", resp.status));
                    break;
                }
                let statuses =
                    parse_timeline(&resp.body).map_err(|message| SourceError::Parse {
                        url: url.to_string(),
                        message,
                    })?;
                if statuses.is_empty() && min_id.is_none() {
                    // An empty tag still counts as seen: later statuses are read from its start.
                    min_id = Some("0".to_string());
                    break;
                }
                let count = statuses.len() as u64;
                let mut keys = Vec::new();
                for s in &statuses {
                    let inner = s.reblog.as_deref().unwrap_or(s);
                    if !this_poll.insert(inner.id.clone()) {
                        continue;
                    }
                    let post = self.post(inner, &tag, &url, ctx);
                    keys.push(post.key.clone());
                    out.posts.push(post);
                }
                let newest = statuses
                    .iter()
                    .map(|s| s.id.as_str())
                    .max_by(|a, b| cmp_ids(a, b))
                    .map(str::to_string);
                if !keys.is_empty() {
                    out.captures.push(Capture {
                        response: resp,
                        post_keys: keys,
                    });
                }
                match newest {
                    Some(n)
                        if min_id
                            .as_deref()
                            .is_none_or(|m| cmp_ids(&n, m) == Ordering::Greater) =>
                    {
                        min_id = Some(n)
                    }
                    _ => break,
                }
                // A full page after `min_id` may hide more; the first poll only takes the latest.
                if count < self.limit || old_min.is_none() {
                    break;
                }
            }
            if min_id != old_min {
                out.cursor_updates.push(CursorUpdate {
                    key,
                    value: Some(json!({"min_id": min_id})),
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMELINE: &[u8] = include_bytes!("../../tests/fixtures/sites/mastodon_tag_timeline.json");

    #[test]
    fn tag_timeline() {
        let statuses = parse_timeline(TIMELINE).expect("parse");
        assert_eq!(statuses.len(), 2);
        let s = &statuses[0];
        assert_eq!(s.id, "112433291802123456");
        assert_eq!(s.account.acct, "misaki_fan@mstdn.example");
        assert_eq!(
            web::html_to_text(&s.content),
            "#田中美咲 さんの住所ってここらしい\n東京都世田谷区三軒茶屋2-11-5"
        );
        assert_eq!(s.spoiler_text, "晒し");
        assert!(statuses[1].reblog.is_none());
        assert!(
            parse_timeline(b"{\"error\":\"This method requires an authenticated user\"}").is_err()
        );
    }

    #[test]
    fn snowflakes_compare_numerically() {
        assert_eq!(
            cmp_ids("112433291802123456", "99999999999999999"),
            Ordering::Greater
        );
        assert_eq!(
            cmp_ids("112433291802123456", "112433291802123457"),
            Ordering::Less
        );
    }
}
