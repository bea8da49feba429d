//! 5ch boards (`kind = "5ch"`, `url = "https://egg.5ch.net/software/"`; `5ch.net`, `5ch.io`
//! or any host serving the same files).
//!
//! A poll reads `subject.txt` (cp932) with the validators of the last one — a 304 ends the
//! poll after one request. For each listed thread whose count grew (or that is new) it reads
//! the dat differentially: `Range: bytes=<len-1>-` plus the last validators, so an unchanged
//! thread costs a 304 and a grown one only its new bytes. The byte before the new ones must be
//! the `\n` we already have; anything else (a post deleted, あぼーん changing the size) or a
//! 416 means the dat changed under us and it is fetched whole once, returning only numbers
//! above the cursor, so keys stay stable and nothing repeats (see [`parse::decide`]).
//!
//! Decisions:
//! - **First poll** ([`FirstPoll`]): the first `first_poll_threads` (30) listed threads are
//!   read whole and their posts of the last `first_poll_hours` (24) returned; later listed
//!   threads only get a cursor at their listed count.
//! - **dat落ち** (301/302/303/307/308/404/410 on the dat): the thread's cursor is marked
//!   closed and `kako/<key[0..4]>/<key[0..5]>/<key>.dat` is fetched once (see
//!   [`parse::kako_path`]); posts found there above the cursor are returned. A closed thread
//!   is never fetched again. A thread that leaves `subject.txt` gets one last differential
//!   fetch, is marked closed, and its cursor is deleted once it is closed and unlisted.
//! - **read.cgi fallback**: a 403 on the dat, or an HTML page where the dat should be, switches
//!   that thread to `/test/read.cgi/<board>/<key>/<n+1>-` for good (its cursor says `html`).
//! - The full thread (`Over 1000 Thread` line) is closed as soon as that line is seen.
//! - `subject.txt` validators are saved only when every thread of the poll was read, so a
//!   thread that failed is retried next poll instead of hiding behind a 304.
//! - A dat that yields fewer lines than `subject.txt` lists (newlines lost to garbled bytes, a
//!   cut-short body) gets `len = 0`, so the next poll reads it whole instead of trusting it.
//! - Post keys use the configured host (`5ch:egg.5ch.net/software/<key>/<n>`): the same thread
//!   watched through `5ch.net` and `5ch.io` gives two keys.
//!
//! The poll loop (subject.txt, per-thread jobs, vanished threads, validators) is shared with
//! したらば in `sources/board.rs`; this file reads one thread.

pub mod board;
pub mod parse;
pub mod readcgi;
#[cfg(test)]
mod tests;

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, FetchResponse, Validators};
use crate::model::Post;
use crate::sources::board::{
    self as shared, Board, BoardCursor, Job, Origin, Parsed, note_replaced,
};
use crate::sources::{PollContext, PollOutput, Source, SourceError, source_id};
pub use board::FirstPoll;
use parse::{DatAction, DatLine, SubjectEntry, decide};
pub use shared::SUBJECT_CURSOR;

/// User-Agent sent to 5ch (dat readers identify as Monazilla).
pub const USER_AGENT: &str = concat!("Monazilla/1.00 mimamori/", env!("CARGO_PKG_VERSION"));

/// Per-thread cursor (stored as JSON under the thread key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCursor {
    /// Bytes of the dat read so far (0 = not read yet: the next fetch is whole).
    pub len: u64,
    /// Lines (posts, deleted ones included) accounted for: the next post is `count + 1`.
    pub count: u64,
    /// `Last-Modified` of the last dat response.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// `ETag` of the last dat response.
    #[serde(default)]
    pub etag: Option<String>,
    /// dat落ち or full: never fetched again.
    #[serde(default)]
    pub closed: bool,
    /// Read through read.cgi HTML instead of the dat.
    #[serde(default)]
    pub html: bool,
    /// Thread title.
    #[serde(default)]
    pub title: String,
}

impl ThreadCursor {
    fn validators(&self) -> Validators {
        Validators {
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

/// A 5ch board source.
#[derive(Debug, Clone)]
pub struct FiveCh {
    id: String,
    every: Duration,
    scheme: String,
    host: String,
    board: String,
    first_poll: FirstPoll,
}

/// What reading one thread produced.
struct ThreadRead {
    posts: Vec<Parsed>,
    title: Option<String>,
    response: FetchResponse,
}

impl FiveCh {
    /// Builds the source from its `[[source]]` table (`url` must name a board).
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let bad = |message: String| shared::config_error(cfg, message);
        let (url, host) = shared::configured_url(cfg)?;
        let board = url
            .path_segments()
            .and_then(|mut s| s.rfind(|p| !p.is_empty()))
            .filter(|b| *b != "test")
            .ok_or_else(|| {
                bad(format!(
                    "url: {} names no board (write e.g. https://egg.5ch.net/software/)",
                    cfg.url
                ))
            })?
            .to_string();
        Ok(FiveCh {
            id: source_id(cfg),
            every: cfg.every,
            scheme: url.scheme().to_string(),
            host,
            board,
            first_poll: FirstPoll::from_config(cfg)?,
        })
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        shared::site_url(&self.scheme, &self.host, path)
    }

    fn request(&self, url: Url) -> FetchRequest {
        FetchRequest::get(url)
            .with_encoding(encoding_rs::SHIFT_JIS)
            .with_header("user-agent", USER_AGENT)
            .without_redirects()
    }

    /// Reads one thread from its cursor; updates `cur`; `Err` is a note (the cursor is
    /// then left as it was).
    async fn read_thread(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        key: &str,
        cur: &mut ThreadCursor,
        still_listed: bool,
    ) -> Result<Option<ThreadRead>, String> {
        if cur.html {
            return self.read_html(ctx, out, key, cur).await;
        }
        let dat = self
            .url(&format!("{}/dat/{key}.dat", self.board))
            .map_err(|e| e.to_string())?;
        let ranged = cur.len > 0;
        let mut req = self.request(dat.clone());
        if ranged {
            req = req
                .with_range_from(cur.len - 1)
                .with_validators(cur.validators());
        }
        let mut resp = shared::fetch(ctx, out, req).await?;
        let mut action = decide(ranged, resp.status, &resp.body);
        if action == DatAction::RefetchWhole {
            out.notes.push(format!(
                "{key}: dat changed size (HTTP {}); refetched whole",
                resp.status
            ));
            resp = shared::fetch(ctx, out, self.request(dat.clone())).await?;
            action = decide(false, resp.status, &resp.body);
        }
        match action {
            DatAction::NotModified => Ok(None),
            DatAction::Append => {
                let read = self.apply_dat(out, key, cur, resp, 1);
                Ok(Some(read))
            }
            DatAction::Replace => {
                cur.len = 0;
                let old = cur.count;
                cur.count = 0;
                let mut read = self.apply_dat(out, key, cur, resp, 0);
                if cur.count < old {
                    out.notes.push(format!(
                        "{key}: dat has {} lines, fewer than the {old} seen",
                        cur.count
                    ));
                }
                read.posts.retain(|p| p.number > old);
                Ok(Some(read))
            }
            DatAction::Gone => {
                self.read_kako(ctx, out, key, cur, resp.status, still_listed)
                    .await
            }
            DatAction::UseReadCgi => {
                out.notes.push(format!(
                    "{key}: dat not readable (HTTP {}); reading read.cgi instead",
                    resp.status
                ));
                cur.html = true;
                self.read_html(ctx, out, key, cur).await
            }
            DatAction::RefetchWhole | DatAction::Unexpected(_) => {
                Err(format!("{dat}: unexpected HTTP {}", resp.status))
            }
        }
    }

    /// Parses the complete lines of a dat body (after `skip` overlap bytes) from `cur`.
    fn apply_dat(
        &self,
        out: &mut PollOutput,
        key: &str,
        cur: &mut ThreadCursor,
        resp: FetchResponse,
        skip: usize,
    ) -> ThreadRead {
        let encoding = encoding_of(&resp);
        let body = resp.body.get(skip..).unwrap_or_default();
        let (consumed, lines) = parse::complete_lines(body);
        let mut posts = Vec::new();
        let mut title = None;
        let (mut replaced, mut malformed) = (0usize, Vec::new());
        for line in lines {
            cur.count += 1;
            let (text, bad) = encoding.decode_without_bom_handling(line);
            if bad {
                replaced += text.matches('\u{FFFD}').count();
            }
            match parse::parse_dat_line(&text) {
                DatLine::Post(p) => {
                    if cur.count == 1 {
                        title = p.title.clone();
                    }
                    posts.push(Parsed {
                        number: cur.count,
                        name: p.name,
                        date_raw: p.date_raw,
                        date: p.date,
                        author_id: p.author_id,
                        body_html: p.body_html,
                    });
                }
                DatLine::Deleted => {}
                DatLine::Full => cur.closed = true,
                DatLine::Malformed(why) => malformed.push(format!("{}: {why}", cur.count)),
            }
        }
        // The `skip` overlap byte(s) were already counted in `len`.
        cur.len = cur.len.saturating_sub(skip as u64) + (skip + consumed) as u64;
        let v = resp.validators();
        cur.etag = v.etag;
        cur.last_modified = v.last_modified;
        note_replaced(out, key, replaced);
        for m in malformed {
            out.notes.push(format!("{key}: line {m}; skipped"));
        }
        ThreadRead {
            posts,
            title,
            response: resp,
        }
    }

    /// dat落ち: reads the dat from `kako/` once. A thread that `subject.txt` still lists is
    /// not gone (a redirect or 404 there is a glitch of the server): unless kako has it, that
    /// is an error and the cursor is kept, so later posts are not lost.
    async fn read_kako(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        key: &str,
        cur: &mut ThreadCursor,
        status: u16,
        still_listed: bool,
    ) -> Result<Option<ThreadRead>, String> {
        let url = self
            .url(&format!("{}/{}", self.board, parse::kako_path(key)))
            .map_err(|e| e.to_string())?;
        let resp = match shared::fetch(ctx, out, self.request(url.clone())).await {
            Ok(r) => r,
            Err(e) if still_listed => {
                return Err(format!(
                    "{key}: dat answered HTTP {status} but the thread is still listed; kako failed: {e}; will retry"
                ));
            }
            Err(e) => {
                cur.closed = true;
                out.notes.push(format!(
                    "{key}: dat落ち (HTTP {status}); kako failed: {e}; closed"
                ));
                return Ok(None);
            }
        };
        if decide(false, resp.status, &resp.body) != DatAction::Replace {
            if still_listed {
                return Err(format!(
                    "{key}: dat answered HTTP {status} but the thread is still listed and not in kako (HTTP {}); will retry",
                    resp.status
                ));
            }
            cur.closed = true;
            out.notes.push(format!(
                "{key}: dat落ち (HTTP {status}); not in kako (HTTP {}); closed",
                resp.status
            ));
            return Ok(None);
        }
        cur.closed = true;
        out.notes.push(format!(
            "{key}: dat落ち (HTTP {status}); read from {url}; closed"
        ));
        let old = cur.count;
        cur.len = 0;
        cur.count = 0;
        let mut read = self.apply_dat(out, key, cur, resp, 0);
        read.posts.retain(|p| p.number > old);
        cur.count = cur.count.max(old);
        Ok(Some(read))
    }

    async fn read_html(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        key: &str,
        cur: &mut ThreadCursor,
    ) -> Result<Option<ThreadRead>, String> {
        let range = if cur.count > 0 {
            format!("{}-", cur.count + 1)
        } else {
            String::new()
        };
        let url = self
            .url(&format!("test/read.cgi/{}/{key}/{range}", self.board))
            .map_err(|e| e.to_string())?;
        let resp = shared::fetch(ctx, out, self.request(url.clone())).await?;
        match resp.status {
            200 => {}
            301 | 302 | 303 | 307 | 308 | 404 | 410 => {
                cur.closed = true;
                out.notes.push(format!(
                    "{key}: read.cgi answered HTTP {}; dat落ち, closed",
                    resp.status
                ));
                return Ok(None);
            }
            s => return Err(format!("{url}: unexpected HTTP {s}")),
        }
        let text = resp.text();
        note_replaced(out, key, text.replaced);
        let page = readcgi::parse_read_cgi(&text.text);
        if page.skipped > 0 {
            out.notes.push(format!(
                "{key}: {} read.cgi post(s) without number or body; skipped",
                page.skipped
            ));
        }
        let old = cur.count;
        let mut posts = Vec::new();
        for p in page.posts {
            cur.count = cur.count.max(p.number);
            if p.date_raw.starts_with("Over ") {
                cur.closed = true;
                continue;
            }
            let deleted = p.name == "あぼーん" && board::body_to_text(&p.body_html) == "あぼーん";
            if p.number > old && !deleted {
                posts.push(Parsed {
                    number: p.number,
                    name: p.name,
                    date_raw: p.date_raw,
                    date: p.date,
                    author_id: p.author_id,
                    body_html: p.body_html,
                });
            }
        }
        Ok(Some(ThreadRead {
            posts,
            title: page.title,
            response: resp,
        }))
    }

    fn to_post(&self, key: &str, title: &str, p: Parsed, resp: &FetchResponse) -> Post {
        let origin = Origin {
            kind: "5ch",
            source_id: &self.id,
            title,
        };
        let (host, board, n) = (&self.host, &self.board, p.number);
        p.into_post(
            &origin,
            format!("5ch:{host}/{board}/{key}/{n}"),
            format!("{}://{host}/test/read.cgi/{board}/{key}/{n}", self.scheme),
            resp,
        )
    }
}

impl BoardCursor for ThreadCursor {
    fn is_current(&self, listed: u64) -> bool {
        self.closed || listed <= self.count
    }

    fn fresh(entry: &SubjectEntry, skip: bool) -> Self {
        ThreadCursor {
            count: if skip { entry.count } else { 0 },
            title: entry.title.clone(),
            ..ThreadCursor::default()
        }
    }

    fn unlisted(&self) -> Option<u64> {
        (!(self.closed || self.len == 0 && !self.html)).then_some(0)
    }

    fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }
}

impl Board for FiveCh {
    type Cursor = ThreadCursor;

    fn subject_url(&self) -> Result<Url, SourceError> {
        self.url(&format!("{}/subject.txt", self.board))
    }

    fn request(&self, url: Url) -> FetchRequest {
        FiveCh::request(self, url)
    }

    fn subject_status(&self, resp: &FetchResponse) -> String {
        match resp.header("location") {
            Some(to) => format!(
                "HTTP {}: the board moved to {to}; update the url",
                resp.status
            ),
            None => shared::subject_status_message(resp.status),
        }
    }

    fn parse_subject(
        &self,
        text: &str,
        now: chrono::DateTime<Utc>,
    ) -> (Vec<SubjectEntry>, Vec<String>) {
        parse::parse_subject(text, now.timestamp())
    }

    /// Reads the thread and records its posts; a dat that yields fewer lines than
    /// subject.txt lists is read whole next time.
    async fn read(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        job: &Job<'_, ThreadCursor>,
        cur: &mut ThreadCursor,
    ) -> Result<(), String> {
        let key = job.key;
        if let Some(read) = self.read_thread(ctx, out, key, cur, !job.vanished).await? {
            if let Some(t) = read.title.filter(|t| !t.is_empty()) {
                cur.title = t;
            }
            let posts: Vec<Post> = read
                .posts
                .into_iter()
                .filter(|p| match (job.since, p.date) {
                    (Some(since), Some(d)) => d >= since,
                    _ => true,
                })
                .map(|p| self.to_post(key, &cur.title, p, &read.response))
                .collect();
            shared::record(out, read.response, posts);
        }
        let listed = job.listed;
        if !cur.html && cur.len > 0 && cur.count < listed && *cur != job.cursor {
            // Fewer lines than subject.txt lists: newlines were lost (garbled bytes) or the
            // dat was cut short; read it whole next time rather than trust this length.
            out.notes.push(format!(
                "{key}: dat has {} lines but subject.txt lists {listed}; will refetch whole",
                cur.count
            ));
            cur.len = 0;
        }
        Ok(())
    }
}

/// The charset of a response: its Content-Type's, else the request's default.
pub(crate) fn encoding_of(resp: &FetchResponse) -> &'static encoding_rs::Encoding {
    resp.header("content-type")
        .and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("charset="))
        })
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim_matches('"').as_bytes()))
        .unwrap_or(resp.default_encoding)
}

#[async_trait::async_trait]
impl Source for FiveCh {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "5ch"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        shared::poll(self, self.first_poll, ctx).await
    }

    /// The read.cgi page with the posts and their neighbours (5ch also shows post 1 on it).
    fn context_request(&self, posts: &[&Post]) -> Option<FetchRequest> {
        let url = crate::sources::context_url(posts)?;
        Some(
            FetchRequest::get(url)
                .with_encoding(encoding_rs::SHIFT_JIS)
                .with_header("user-agent", USER_AGENT),
        )
    }

    /// Reads the post's read.cgi page (what a person sees; it also serves threads gone to
    /// kako) and finds the post by number.
    async fn recheck(
        &self,
        fetcher: &crate::fetch::Fetcher,
        post: &Post,
    ) -> Result<crate::sources::recheck::Observation, SourceError> {
        let (Some(number), Ok(url)) = (post.number, Url::parse(&post.url)) else {
            return crate::sources::recheck::check_page(fetcher, post).await;
        };
        let req = FetchRequest::get(url)
            .with_encoding(encoding_rs::SHIFT_JIS)
            .with_header("user-agent", USER_AGENT);
        let resp = fetcher.fetch(req).await?;
        match resp.status {
            404 | 410 => Ok(crate::sources::recheck::Observation {
                state: crate::sources::recheck::Liveness::Deleted,
                detail: format!("the thread answers HTTP {}", resp.status),
                response: Some(resp),
            }),
            200 => {
                let page = readcgi::parse_read_cgi(&resp.text().text);
                let found = page
                    .posts
                    .iter()
                    .find(|p| p.number == number)
                    .map(|p| (p.name.clone(), board::body_to_text(&p.body_html)));
                Ok(crate::sources::recheck::classify_board(
                    post,
                    number,
                    found.as_ref().map(|(n, b)| (n.as_str(), b.as_str())),
                    resp,
                ))
            }
            s => Err(SourceError::Parse {
                url: post.url.clone(),
                message: format!("HTTP {s} on re-check; trying again later"),
            }),
        }
    }
}
