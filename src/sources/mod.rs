//! Sources: one file per kind behind the [`Source`] trait. A source knows a site's formats
//! and protocol (what to fetch, how to parse it, what its cursor is); it never owns an HTTP
//! client — every request goes through [`Fetcher`], so robots.txt and pacing cannot be
//! skipped. Adding a source = one new file + one line in [`build`].
//!
//! Exactly-once: a poll returns the new posts *and* the cursor updates that account for them;
//! the caller stores both in one transaction. A crash before the commit re-polls from the old
//! cursor, and the seen-key table drops what was already processed.

pub mod bluesky;
mod board;
pub mod fivech;
pub mod html;
pub mod mastodon;
pub mod recheck;
pub mod rss;
pub mod shitaraba;
pub mod suggest;
pub mod web;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::config::{SourceConfig, Target};
use crate::fetch::{FetchError, FetchRequest, FetchResponse, Fetcher};
use crate::model::Post;

/// Saved cursor values of one source, by key (a thread key, `feed`, a query…).
pub type Cursors = BTreeMap<String, serde_json::Value>;

/// What a poll may read.
pub struct PollContext<'a> {
    /// The shared HTTP client.
    pub fetcher: &'a Fetcher,
    /// The watched targets (suggest and SNS sources build their queries from them).
    pub targets: &'a [Target],
    /// This source's saved cursors.
    pub cursors: &'a Cursors,
    /// Now (tests may fix it).
    pub now: DateTime<Utc>,
}

/// A cursor change to store with the poll's posts.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorUpdate {
    /// Cursor key within the source.
    pub key: String,
    /// New value, or `None` to delete it.
    pub value: Option<serde_json::Value>,
}

/// A response that produced posts, kept for evidence capture.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The response as fetched.
    pub response: FetchResponse,
    /// Keys of the posts parsed from it.
    pub post_keys: Vec<String>,
}

/// The result of one poll.
#[derive(Debug, Clone, Default)]
pub struct PollOutput {
    /// New posts (the caller still drops keys it has seen).
    pub posts: Vec<Post>,
    /// Cursor changes that account for these posts.
    pub cursor_updates: Vec<CursorUpdate>,
    /// Responses the posts came from.
    pub captures: Vec<Capture>,
    /// Things skipped or noticed (a thread gone to dat落ち, garbled bytes replaced, a feed
    /// that failed while others worked); logged and shown in source health.
    pub notes: Vec<String>,
    /// Requests made.
    pub requests: u64,
    /// Bytes fetched.
    pub bytes: u64,
    /// Set when a page that should list posts yielded none (a selector matched nothing: the
    /// site's layout may have changed): what and where. Polls that keep yielding nothing
    /// turn the source's health to "parsing nothing" and raise an operational alert.
    pub parsed_nothing: Option<String>,
}

/// Why a poll failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The configuration is wrong for this kind.
    #[error("{origin}: {message}")]
    Config {
        /// Where the source was configured.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// Fetching failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The site answered something that cannot be parsed.
    #[error("{url}: cannot parse: {message}")]
    Parse {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Credentials are missing (environment variable not set).
    #[error("{0}")]
    Credentials(String),
}

/// One configured source.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// Stable id (see [`source_id`]): the key of its cursors and stats.
    fn id(&self) -> &str;
    /// Its kind (`5ch`, …).
    fn kind(&self) -> &'static str;
    /// How often to poll.
    fn every(&self) -> Duration;
    /// Fetches what is new since the cursors.
    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError>;
    /// The page that shows `posts` (flagged posts of one thread, see
    /// [`crate::spread::thread_of`]) in context, captured with them before the commit: for a
    /// board, the thread's read.cgi page around them. `None` (the default) when the response
    /// already is the page a person sees.
    fn context_request(&self, posts: &[&Post]) -> Option<FetchRequest> {
        let _ = posts;
        None
    }

    /// Looks at one of its posts again: still up, changed or deleted (see [`crate::recheck`]).
    /// The default fetches the post's permalink.
    async fn recheck(
        &self,
        fetcher: &Fetcher,
        post: &Post,
    ) -> Result<crate::sources::recheck::Observation, SourceError> {
        crate::sources::recheck::check_page(fetcher, post).await
    }
}

/// Posts around a flagged post on its thread page: this many before the first and after the
/// last (the page also shows the thread's first post).
pub const CONTEXT_POSTS: u64 = 10;

/// The read.cgi URL showing `posts` of one thread with [`CONTEXT_POSTS`] around them:
/// `<thread URL>/<from>-<to>`, from the posts' permalinks `<thread URL>/<number>`.
pub fn context_url(posts: &[&Post]) -> Option<Url> {
    let numbers = posts.iter().filter_map(|p| p.number);
    let (lo, hi) = numbers.fold(None, |acc: Option<(u64, u64)>, n| match acc {
        None => Some((n, n)),
        Some((lo, hi)) => Some((lo.min(n), hi.max(n))),
    })?;
    let first = posts.first()?;
    let (thread, last) = first.url.trim_end_matches('/').rsplit_once('/')?;
    if last.parse::<u64>().ok() != first.number {
        return None;
    }
    let from = lo.saturating_sub(CONTEXT_POSTS).max(1);
    Url::parse(&format!("{thread}/{from}-{}", hi + CONTEXT_POSTS)).ok()
}

/// The posts a captured thread page of a `source_kind` source shows (5ch and したらば
/// read.cgi), for the legal packet; `None` for other kinds.
pub fn thread_page(source_kind: &str, html: &str) -> Option<fivech::readcgi::ReadCgiPage> {
    match source_kind {
        "5ch" => Some(fivech::readcgi::parse_read_cgi(html)),
        "shitaraba" => Some(shitaraba::parse_read_cgi(html)),
        _ => None,
    }
}

/// The stable id of a configured source: its kind and base URL.
pub fn source_id(cfg: &SourceConfig) -> String {
    format!("{}:{}", cfg.kind, cfg.url)
}

/// Builds the source for one `[[source]]` table.
pub fn build(cfg: &SourceConfig) -> Result<Box<dyn Source>, SourceError> {
    match cfg.kind.as_str() {
        "5ch" => Ok(Box::new(fivech::FiveCh::new(cfg)?)),
        "shitaraba" => Ok(Box::new(shitaraba::Shitaraba::new(cfg)?)),
        "html" => Ok(Box::new(html::HtmlSource::new(cfg)?)),
        "rss" => Ok(Box::new(rss::RssSource::new(cfg)?)),
        "suggest" => Ok(Box::new(suggest::SuggestSource::new(cfg)?)),
        "bluesky" => Ok(Box::new(bluesky::BlueskySource::new(cfg)?)),
        "mastodon" => Ok(Box::new(mastodon::MastodonSource::new(cfg)?)),
        other => Err(SourceError::Config {
            origin: cfg.origin.clone(),
            message: format!("source kind \"{other}\" is not implemented yet"),
        }),
    }
}
