//! The `rss` source: RSS 1.0 (livedoor `index.rdf`), RSS 2.0 (WordPress `/feed/`) and Atom,
//! parsed with `feed-rs` from the raw bytes (it honours the XML prolog's encoding).
//!
//! Every poll is a conditional GET (ETag / Last-Modified from the cursor): a 304 costs a few
//! hundred bytes. Entries are deduplicated by guid / Atom id / link; the cursor keeps the ids
//! of the current feed plus the most recent earlier ones (`max_seen`, default 500), so an
//! entry that drops out of the feed and comes back is not reported twice.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, Validators};
use crate::model::Post;
use crate::sources::web::{self, Settings};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// Settings this kind reads.
const KNOWN: &[&str] = &["max_seen"];
/// Cursor key.
const CURSOR: &str = "feed";

/// One feed entry, reduced to what a post needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// guid (RSS 2.0), id (Atom) or link (RSS 1.0 / no guid).
    pub id: String,
    /// Entry title.
    pub title: Option<String>,
    /// Entry link (the article).
    pub link: Option<String>,
    /// First author's name.
    pub author: Option<String>,
    /// Published (else updated) time.
    pub published: Option<DateTime<Utc>>,
    /// Content (else summary) as text.
    pub body: String,
    /// Content (else summary) as served, when it is HTML.
    pub body_html: Option<String>,
}

/// A parsed feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// Feed title.
    pub title: Option<String>,
    /// Entries in feed order.
    pub entries: Vec<Entry>,
}

fn text_of(t: &feed_rs::model::Text) -> (String, Option<String>) {
    let ct: &str = t.content_type.as_ref();
    if ct.contains("html") {
        (
            web::html_to_text(&t.content),
            Some(t.content.trim().to_string()),
        )
    } else {
        (t.content.trim().to_string(), None)
    }
}

/// Parses feed bytes (any of the three formats); an error says what is wrong.
pub fn parse_feed(bytes: &[u8]) -> Result<Feed, String> {
    // Entries without guid/id get their first link as id (feed-rs would hash link + title,
    // which changes when a title is edited), else their title.
    let parser = feed_rs::parser::Builder::new()
        .id_generator(|links, title, _| {
            links
                .first()
                .map(|l| l.href.clone())
                .or_else(|| title.as_ref().map(|t| t.content.clone()))
                .unwrap_or_default()
        })
        .build();
    let feed = parser.parse(bytes).map_err(|e| e.to_string())?;
    let entries = feed
        .entries
        .into_iter()
        .filter(|e| !e.id.trim().is_empty())
        .map(|e| {
            let link = e
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
                .or_else(|| e.links.first())
                .map(|l| l.href.clone());
            let (body, body_html) = match (&e.content, &e.summary) {
                (Some(c), _) if c.body.as_deref().is_some_and(|b| !b.trim().is_empty()) => {
                    let b = c.body.clone().unwrap_or_default();
                    let ct: &str = c.content_type.as_ref();
                    if ct.contains("html") {
                        (web::html_to_text(&b), Some(b.trim().to_string()))
                    } else {
                        (b.trim().to_string(), None)
                    }
                }
                (_, Some(s)) => text_of(s),
                _ => (String::new(), None),
            };
            Entry {
                id: e.id.trim().to_string(),
                title: e
                    .title
                    .as_ref()
                    .map(|t| text_of(t).0)
                    .filter(|t| !t.is_empty()),
                link,
                author: e
                    .authors
                    .first()
                    .map(|a| a.name.trim().to_string())
                    .filter(|a| !a.is_empty()),
                published: e.published.or(e.updated),
                body,
                body_html,
            }
        })
        .collect();
    Ok(Feed {
        title: feed
            .title
            .as_ref()
            .map(|t| text_of(t).0)
            .filter(|t| !t.is_empty()),
        entries,
    })
}

/// A configured `rss` source (url = the feed).
pub struct RssSource {
    id: String,
    every: Duration,
    url: Url,
    max_seen: usize,
}

impl RssSource {
    /// Builds the source.
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let s = Settings::new(cfg);
        s.reject_unknown(KNOWN)?;
        Ok(RssSource {
            id: source_id(cfg),
            every: cfg.every,
            url: s.url()?,
            max_seen: s.int("max_seen", 500, 10, 100_000)? as usize,
        })
    }

    fn post(&self, feed: &Feed, e: &Entry, ctx: &PollContext<'_>) -> Post {
        let url = e
            .link
            .as_deref()
            .and_then(|l| self.url.join(l).ok())
            .map_or_else(|| self.url.to_string(), |u| u.to_string());
        Post {
            key: format!("rss:{}/{}", web::host_key(&self.url), e.id),
            source_kind: "rss".to_string(),
            source_id: self.id.clone(),
            source_url: self.url.to_string(),
            url,
            thread_title: e.title.clone().or_else(|| feed.title.clone()),
            number: None,
            author_name: e.author.clone(),
            author_id: None,
            posted_at_raw: e.published.map(|t| t.to_rfc3339()),
            posted_at: e.published.map(web::to_jst),
            body: e.body.clone(),
            body_html: e.body_html.clone(),
            fetched_at: ctx.now,
        }
    }
}

#[async_trait::async_trait]
impl Source for RssSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "rss"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let cursor = ctx.cursors.get(CURSOR);
        let old_seen = web::cursor_list(cursor, "seen");
        let old_validators = Validators {
            etag: web::cursor_str(cursor, "etag"),
            last_modified: web::cursor_str(cursor, "last_modified"),
        };
        let req = FetchRequest::get(self.url.clone())
            .with_validators(old_validators.clone())
            .with_header("accept", "application/rss+xml, application/rdf+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5");
        let resp = ctx.fetcher.fetch(req).await?;
        let mut out = PollOutput {
            requests: 1,
            bytes: resp.body.len() as u64,
            ..PollOutput::default()
        };
        if resp.status == 304 {
            return Ok(out);
        }
        if resp.status != 200 {
            return Err(web::status_error(&resp));
        }
        let feed = parse_feed(&resp.body).map_err(|message| SourceError::Parse {
            url: self.url.to_string(),
            message,
        })?;
        let seen: HashSet<&str> = old_seen.iter().map(String::as_str).collect();
        let mut keys = Vec::new();
        let mut in_feed: Vec<String> = Vec::new();
        for e in &feed.entries {
            if in_feed.contains(&e.id) {
                continue;
            }
            in_feed.push(e.id.clone());
            if seen.contains(e.id.as_str()) {
                continue;
            }
            let post = self.post(&feed, e, ctx);
            keys.push(post.key.clone());
            out.posts.push(post);
        }
        let validators = resp.validators();
        // Everything still in the feed stays remembered, whatever `max_seen` says.
        let seen = web::merge_seen(&in_feed, &old_seen, self.max_seen.max(in_feed.len()));
        if !keys.is_empty() || validators != old_validators || seen != old_seen {
            out.cursor_updates.push(CursorUpdate {
                key: CURSOR.to_string(),
                value: Some(json!({"seen": seen, "etag": validators.etag, "last_modified": validators.last_modified})),
            });
        }
        if !keys.is_empty() {
            out.captures.push(Capture {
                response: resp,
                post_keys: keys,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RDF: &[u8] = include_bytes!("../../tests/fixtures/sites/livedoor_index.rdf");
    const WORDPRESS: &[u8] = include_bytes!("../../tests/fixtures/sites/wordpress_feed.xml");
    const ATOM: &[u8] = include_bytes!("../../tests/fixtures/sites/atom.xml");

    #[test]
    fn livedoor_rss1() {
        let feed = parse_feed(RDF).expect("rdf");
        assert_eq!(feed.title.as_deref(), Some("ニュース速報まとめ"));
        assert_eq!(feed.entries.len(), 2);
        let e = &feed.entries[0];
        assert_eq!(
            e.id,
            "http://blog.livedoor.jp/newsmatome/archives/52345678.html"
        );
        assert_eq!(
            e.link.as_deref(),
            Some("http://blog.livedoor.jp/newsmatome/archives/52345678.html")
        );
        assert_eq!(e.title.as_deref(), Some("【悲報】さくら食品、産地偽装か"));
        assert_eq!(e.author.as_deref(), Some("newsmatome"));
        assert_eq!(
            e.published.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-12T12:30:00+00:00")
        );
        assert_eq!(
            e.body,
            "1: 名無しさん\nさくら食品の弁当、中国産なのに国産表示らしい"
        );
    }

    #[test]
    fn wordpress_rss2() {
        let feed = parse_feed(WORDPRESS).expect("rss2");
        assert_eq!(feed.title.as_deref(), Some("小林クリニック 口コミ速報"));
        assert_eq!(feed.entries.len(), 3);
        let e = &feed.entries[0];
        assert_eq!(e.id, "https://kuchikomi.example.jp/?p=1042");
        assert_eq!(
            e.link.as_deref(),
            Some("https://kuchikomi.example.jp/2024/05/kobayashi-clinic-review/")
        );
        assert_eq!(e.author.as_deref(), Some("編集部"));
        assert_eq!(
            e.body,
            "小林クリニックに行ってきました。\n受付の対応がとても丁寧でした。"
        );
        assert!(e.body_html.as_deref().is_some_and(|h| h.contains("<p>")));
        assert_eq!(
            e.published.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-12T03:00:00+00:00")
        );
        // An item without content:encoded: the description is the body.
        assert_eq!(feed.entries[1].body, "短い抜粋です […]");
        // No guid: the link is the id.
        assert_eq!(
            feed.entries[2].id,
            "https://kuchikomi.example.jp/2024/05/no-guid/"
        );
    }

    #[test]
    fn atom() {
        let feed = parse_feed(ATOM).expect("atom");
        assert_eq!(feed.title.as_deref(), Some("田中の日記"));
        let e = &feed.entries[0];
        assert_eq!(e.id, "tag:diary.example.jp,2024:entry-77");
        assert_eq!(e.link.as_deref(), Some("https://diary.example.jp/entry/77"));
        assert_eq!(e.author.as_deref(), Some("tanaka"));
        assert_eq!(e.body, "今日は雨。\n田中美咲さんの新刊を読んだ。");
        assert_eq!(
            e.published.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-11T23:00:00+00:00")
        );
        let plain = &feed.entries[1];
        assert_eq!(plain.body, "<本文> はテキスト");
        assert_eq!(plain.body_html, None);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_feed(b"").is_err());
        assert!(parse_feed(b"<html><body>not a feed</body></html>").is_err());
        assert!(parse_feed(b"\xff\xfe\x00garbage").is_err());
    }
}
