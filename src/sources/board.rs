//! The poll loop shared by the board sources (5ch and したらば): `subject.txt` with the last
//! validators, then one job per listed thread whose count changed, the [`FirstPoll`] budget,
//! one last read of threads that left `subject.txt`, and the `subject.txt` validators saved only
//! when every thread of the poll was read. A board says how to fetch and parse its files and
//! read one thread through [`Board`]; its cursor follows [`BoardCursor`].

use std::collections::HashSet;
use std::future::Future;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, FetchResponse, Validators};
use crate::model::Post;
use crate::sources::fivech::board::{FirstPoll, body_to_text};
use crate::sources::fivech::parse::SubjectEntry;
use crate::sources::{Capture, CursorUpdate, PollContext, PollOutput, SourceError};

/// Cursor key of the `subject.txt` validators.
pub const SUBJECT_CURSOR: &str = "subject";

/// One thread to read this poll.
pub(crate) struct Job<'k, C> {
    /// Thread key.
    pub(crate) key: &'k str,
    /// Its cursor before the read.
    pub(crate) cursor: C,
    /// Count listed in subject.txt (what an unlisted thread was last listed with, or 0).
    pub(crate) listed: u64,
    /// On the first poll: return only posts from this time on.
    pub(crate) since: Option<DateTime<Utc>>,
    /// No longer in subject.txt: close it after this last read.
    pub(crate) vanished: bool,
}

/// A board's per-thread cursor, as the shared loop sees it.
pub(crate) trait BoardCursor:
    Clone + Default + PartialEq + Serialize + DeserializeOwned + Send + Sync
{
    /// Whether a thread listed with `listed` posts needs no read (closed, or nothing new).
    fn is_current(&self, listed: u64) -> bool;
    /// The cursor of a newly listed thread: at the start, or (`skip`, a thread past the first
    /// poll's budget) at its listed count without being read.
    fn fresh(entry: &SubjectEntry, skip: bool) -> Self;
    /// For a thread no longer listed: `None` to delete its cursor, else the listed count to
    /// give its last read.
    fn unlisted(&self) -> Option<u64>;
    /// Closes the thread (it is never fetched again); false if it already was.
    fn close(&mut self) -> bool;
}

/// What a board source tells the shared poll loop.
pub(crate) trait Board: Sync {
    /// Its per-thread cursor.
    type Cursor: BoardCursor;
    /// The URL of `subject.txt`.
    fn subject_url(&self) -> Result<Url, SourceError>;
    /// A request for one of the board's files (charset, headers).
    fn request(&self, url: Url) -> FetchRequest;
    /// Why a `subject.txt` answer other than 200 / 304 fails the poll.
    fn subject_status(&self, resp: &FetchResponse) -> String {
        subject_status_message(resp.status)
    }
    /// Parses `subject.txt` into its threads and notes.
    fn parse_subject(&self, text: &str, now: DateTime<Utc>) -> (Vec<SubjectEntry>, Vec<String>);
    /// Reads one thread from `cur` (a clone of `job.cursor`), recording its posts and
    /// captures in `out` and updating `cur`; `Err` is a note (the cursor is then kept).
    fn read(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        job: &Job<'_, Self::Cursor>,
        cur: &mut Self::Cursor,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The usual message for a `subject.txt` status other than 200 / 304.
pub(crate) fn subject_status_message(status: u16) -> String {
    format!("HTTP {status} for subject.txt (expected 200 or 304); check the board url")
}

/// One poll of a board.
pub(crate) async fn poll<B: Board>(
    board: &B,
    first_poll: FirstPoll,
    ctx: &PollContext<'_>,
) -> Result<PollOutput, SourceError> {
    let mut out = PollOutput::default();
    let validators: Option<Validators> = load_cursor(ctx, SUBJECT_CURSOR, &mut out.notes);
    let first = validators.is_none();
    let url = board.subject_url()?;
    let req = board
        .request(url.clone())
        .with_validators(validators.unwrap_or_default());
    out.requests += 1;
    let resp = ctx.fetcher.fetch(req).await?;
    out.bytes += resp.body.len() as u64;
    match resp.status {
        304 => return Ok(out),
        200 => {}
        _ => {
            return Err(SourceError::Parse {
                url: url.to_string(),
                message: board.subject_status(&resp),
            });
        }
    }
    let text = resp.text();
    note_replaced(&mut out, "subject.txt", text.replaced);
    let (entries, notes) = board.parse_subject(&text.text, ctx.now);
    out.notes.extend(notes);
    // A damaged or empty listing must not be remembered: its validators would turn the next
    // poll into a 304 and hide the posts it failed to list.
    let listing_ok = text.replaced == 0 && !entries.is_empty();
    let since = first.then(|| {
        ctx.now
            - chrono::Duration::hours(i64::try_from(first_poll.hours).unwrap_or(i64::MAX / 7200))
    });
    let mut budget = first_poll.threads;
    let mut all_ok = true;
    for e in &entries {
        let cur: Option<B::Cursor> = load_cursor(ctx, &e.key, &mut out.notes);
        let (cursor, since) = match cur {
            Some(c) if c.is_current(e.count) => continue,
            Some(c) => (c, None),
            None if first && budget == 0 => {
                out.cursor_updates.push(CursorUpdate {
                    key: e.key.clone(),
                    value: serde_json::to_value(B::Cursor::fresh(e, true)).ok(),
                });
                continue;
            }
            None => {
                budget = budget.saturating_sub(1);
                (B::Cursor::fresh(e, false), since)
            }
        };
        let job = Job {
            key: &e.key,
            cursor,
            listed: e.count,
            since,
            vanished: false,
        };
        all_ok &= poll_thread(board, ctx, &mut out, job).await;
    }
    if entries.is_empty() && ctx.cursors.len() > 1 {
        out.notes
            .push("subject.txt lists no thread; keeping every thread cursor".to_string());
    } else {
        let listed: HashSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
        for key in ctx
            .cursors
            .keys()
            .filter(|k| *k != SUBJECT_CURSOR && !listed.contains(k.as_str()))
        {
            let Some(c) = load_cursor::<B::Cursor>(ctx, key, &mut out.notes) else {
                continue;
            };
            match c.unlisted() {
                None => out.cursor_updates.push(CursorUpdate {
                    key: key.clone(),
                    value: None,
                }),
                Some(listed) => {
                    let job = Job {
                        key,
                        cursor: c,
                        listed,
                        since: None,
                        vanished: true,
                    };
                    poll_thread(board, ctx, &mut out, job).await;
                }
            }
        }
    }
    if all_ok && listing_ok {
        out.cursor_updates.push(CursorUpdate {
            key: SUBJECT_CURSOR.to_string(),
            value: serde_json::to_value(resp.validators()).ok(),
        });
    }
    Ok(out)
}

/// Reads one thread and records its cursor; false if it failed (the cursor is then kept). A
/// `vanished` thread (no longer in subject.txt) is closed either way.
async fn poll_thread<B: Board>(
    board: &B,
    ctx: &PollContext<'_>,
    out: &mut PollOutput,
    job: Job<'_, B::Cursor>,
) -> bool {
    let mut cur = job.cursor.clone();
    let ok = match board.read(ctx, out, &job, &mut cur).await {
        Ok(()) => true,
        Err(note) => {
            out.notes.push(note);
            cur = job.cursor.clone();
            false
        }
    };
    if job.vanished && cur.close() {
        out.notes
            .push(format!("{}: no longer in subject.txt; closed", job.key));
    }
    if cur != job.cursor {
        out.cursor_updates.push(CursorUpdate {
            key: job.key.to_string(),
            value: serde_json::to_value(&cur).ok(),
        });
    }
    ok
}

/// Fetches one request, counting it and its bytes; `Err` is a note naming the URL.
pub(crate) async fn fetch(
    ctx: &PollContext<'_>,
    out: &mut PollOutput,
    req: FetchRequest,
) -> Result<FetchResponse, String> {
    let url = req.url.to_string();
    out.requests += 1;
    match ctx.fetcher.fetch(req).await {
        Ok(r) => {
            out.bytes += r.body.len() as u64;
            Ok(r)
        }
        Err(e) => Err(format!("{url}: {e}")),
    }
}

/// Notes `n` undecodable byte sequences replaced in `what` (nothing when `n` is 0).
pub(crate) fn note_replaced(out: &mut PollOutput, what: &str, n: usize) {
    if n > 0 {
        out.notes.push(format!(
            "{what}: {n} undecodable byte sequence(s) replaced with U+FFFD"
        ));
    }
}

/// Records posts with the response they came from (nothing when there are none).
pub(crate) fn record(out: &mut PollOutput, response: FetchResponse, posts: Vec<Post>) {
    if !posts.is_empty() {
        let post_keys = posts.iter().map(|p| p.key.clone()).collect();
        out.captures.push(Capture {
            response,
            post_keys,
        });
        out.posts.extend(posts);
    }
}

/// One board post before it becomes a [`Post`].
pub(crate) struct Parsed {
    pub(crate) number: u64,
    pub(crate) name: String,
    pub(crate) date_raw: String,
    pub(crate) date: Option<DateTime<FixedOffset>>,
    pub(crate) author_id: Option<String>,
    pub(crate) body_html: String,
}

/// Where a board's posts come from: what [`Parsed::into_post`] needs besides the post.
pub(crate) struct Origin<'a> {
    /// Source kind (`5ch`, `shitaraba`).
    pub(crate) kind: &'a str,
    /// Source id.
    pub(crate) source_id: &'a str,
    /// Thread title (empty: none).
    pub(crate) title: &'a str,
}

impl Parsed {
    /// The post under `key` (with `url` as its link), read from `resp`.
    pub(crate) fn into_post(
        self,
        origin: &Origin<'_>,
        key: String,
        url: String,
        resp: &FetchResponse,
    ) -> Post {
        Post {
            key,
            source_kind: origin.kind.to_string(),
            source_id: origin.source_id.to_string(),
            source_url: resp.url.to_string(),
            url,
            thread_title: Some(origin.title.to_string()).filter(|t| !t.is_empty()),
            number: Some(self.number),
            author_name: Some(self.name).filter(|n| !n.is_empty()),
            author_id: self.author_id,
            posted_at_raw: Some(self.date_raw).filter(|d| !d.is_empty()),
            posted_at: self.date,
            body: body_to_text(&self.body_html),
            body_html: Some(self.body_html),
            fetched_at: resp.fetched_at,
        }
    }
}

/// Reads a cursor, noting (and ignoring) one that does not parse.
pub(crate) fn load_cursor<T: DeserializeOwned>(
    ctx: &PollContext<'_>,
    key: &str,
    notes: &mut Vec<String>,
) -> Option<T> {
    let v = ctx.cursors.get(key)?;
    match serde_json::from_value(v.clone()) {
        Ok(c) => Some(c),
        Err(e) => {
            notes.push(format!("cursor {key}: unreadable ({e}); starting it over"));
            None
        }
    }
}

/// A configuration error of the source configured at `cfg`.
pub(crate) fn config_error(cfg: &SourceConfig, message: String) -> SourceError {
    SourceError::Config {
        origin: cfg.origin.clone(),
        message,
    }
}

/// A board source's configured `url` and its `host[:port]`.
pub(crate) fn configured_url(cfg: &SourceConfig) -> Result<(Url, String), SourceError> {
    let url = Url::parse(&cfg.url).map_err(|e| config_error(cfg, format!("url: {e}")))?;
    let host = authority(&url)
        .ok_or_else(|| config_error(cfg, format!("url: {} has no host", cfg.url)))?;
    Ok((url, host))
}

/// `<scheme>://<host>/<path>` as a URL.
pub(crate) fn site_url(scheme: &str, host: &str, path: &str) -> Result<Url, SourceError> {
    let s = format!("{scheme}://{host}/{path}");
    Url::parse(&s).map_err(|e| SourceError::Parse {
        url: s,
        message: e.to_string(),
    })
}

/// `host` or `host:port` of a URL.
fn authority(url: &Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}
