//! したらば boards (`kind = "shitaraba"`, `url = "https://jbbs.shitaraba.net/<category>/<number>/"`).
//!
//! A poll reads `subject.txt` (EUC-JP, `<key>.cgi,title(n)`, whose last line repeats the
//! first thread and is dropped) with the last validators; for each thread whose listed count
//! changed it asks `rawmode.cgi/<cat>/<no>/<key>/<last+1>-`, where `last` is the last post
//! *number* seen (deleted posts leave gaps, so counting lines would skip posts). Each raw line
//! is `no<>name<>mail<>date<>body<>title<>ID`. An empty body means nothing new; an
//! `ERROR: STORAGE IN` header (moved to the archive) or `… NOT FOUND` closes the thread.
//!
//! The first poll follows [`FirstPoll`] like 5ch; a thread that leaves `subject.txt` gets one
//! last read, is closed, and its cursor is deleted on the next poll.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, FetchResponse, Validators};
use crate::model::Post;
use crate::sources::fivech::board::{
    self, FirstPoll, name_text, parse_date, split_title_count, trip,
};
use crate::sources::fivech::{Job, SUBJECT_CURSOR, authority, load_cursor};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// One thread listed in a したらば `subject.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectEntry {
    /// Thread key (digits).
    pub key: String,
    /// Title, entities decoded.
    pub title: String,
    /// Listed count (the last post number).
    pub count: u64,
}

/// Parses a したらば `subject.txt`: `<key>.cgi,title(n)` lines; the repeated last line (and
/// any other repeated key) is dropped; malformed lines are skipped with a note.
pub fn parse_subject(text: &str) -> (Vec<SubjectEntry>, Vec<String>) {
    let mut entries: Vec<SubjectEntry> = Vec::new();
    let mut notes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line.split_once(',').and_then(|(file, rest)| {
            let key = file.strip_suffix(".cgi")?;
            key.parse::<u64>().ok()?;
            let (title, count) = split_title_count(rest)?;
            Some(SubjectEntry {
                key: key.to_string(),
                title,
                count,
            })
        });
        match parsed {
            Some(e) if entries.iter().any(|x| x.key == e.key) => {}
            Some(e) => entries.push(e),
            None => notes.push(format!(
                "subject.txt line {}: not `<key>.cgi,title(n)`; skipped",
                i + 1
            )),
        }
    }
    (entries, notes)
}

/// One post of a rawmode response.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPost {
    /// Post number.
    pub number: u64,
    /// Poster name as plain text.
    pub name: String,
    /// Date as written.
    pub date_raw: String,
    /// Date parsed as JST.
    pub date: Option<DateTime<FixedOffset>>,
    /// Body HTML as served.
    pub body_html: String,
    /// Title (on the thread's first post), entities decoded.
    pub title: Option<String>,
    /// `ID:xxxx`, else the trip.
    pub author_id: Option<String>,
}

/// Parses one rawmode line `no<>name<>mail<>date<>body<>title<>ID`; `Err` says why not.
pub fn parse_raw_line(line: &str) -> Result<RawPost, String> {
    let f: Vec<&str> = line
        .strip_suffix('\r')
        .unwrap_or(line)
        .split("<>")
        .collect();
    if f.len() < 5 {
        let shown: String = line.chars().take(40).collect();
        return Err(format!("{} field(s) instead of 7: {shown:?}", f.len()));
    }
    let number = f[0]
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("post number {:?} is not a number", f[0]))?;
    let name = name_text(f[1]);
    let id = f
        .get(6)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.starts_with("ID:") {
                s.to_string()
            } else {
                format!("ID:{s}")
            }
        });
    let date_raw = f[3].trim().to_string();
    Ok(RawPost {
        number,
        author_id: id.or_else(|| trip(&name)),
        name,
        date: parse_date(&date_raw),
        date_raw,
        body_html: f[4].to_string(),
        title: f
            .get(5)
            .map(|t| board::decode_entities(t.trim()))
            .filter(|t| !t.is_empty()),
    })
}

/// What a rawmode response means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawAction {
    /// Posts to parse.
    Posts,
    /// An empty body: nothing new.
    Nothing,
    /// Archived (`ERROR: STORAGE IN`) or gone (`… NOT FOUND`, 404): close the thread.
    Closed,
    /// Anything else: an error for this thread this poll.
    Unexpected,
}

/// Classifies a rawmode response from its status, its `ERROR` header and its body.
pub fn classify(status: u16, error_header: Option<&str>, body: &[u8]) -> RawAction {
    match (status, error_header.map(str::trim)) {
        (_, Some(e)) if e.contains("STORAGE IN") || e.contains("NOT FOUND") => RawAction::Closed,
        (404 | 410, _) => RawAction::Closed,
        (200, Some(e)) if !e.is_empty() => RawAction::Unexpected,
        (200, _) if body.iter().all(u8::is_ascii_whitespace) => RawAction::Nothing,
        (200, _) => RawAction::Posts,
        _ => RawAction::Unexpected,
    }
}

/// Per-thread cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCursor {
    /// Last post number seen (the next fetch asks for `last + 1` on).
    pub last: u64,
    /// Count listed in subject.txt when last read.
    pub count: u64,
    /// Archived or gone: never fetched again.
    #[serde(default)]
    pub closed: bool,
    /// Thread title.
    #[serde(default)]
    pub title: String,
}

/// A したらば board source.
#[derive(Debug, Clone)]
pub struct Shitaraba {
    id: String,
    every: Duration,
    scheme: String,
    host: String,
    category: String,
    number: String,
    first_poll: FirstPoll,
}

impl Shitaraba {
    /// Builds the source from its `[[source]]` table (`url` must end in `/<category>/<number>/`).
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let bad = |message: String| SourceError::Config {
            origin: cfg.origin.clone(),
            message,
        };
        let url = Url::parse(&cfg.url).map_err(|e| bad(format!("url: {e}")))?;
        let host = authority(&url).ok_or_else(|| bad(format!("url: {} has no host", cfg.url)))?;
        let segs: Vec<&str> = url
            .path_segments()
            .map(|s| s.filter(|p| !p.is_empty()).collect())
            .unwrap_or_default();
        let [.., category, number] = segs.as_slice() else {
            return Err(bad(format!(
                "url: {} must end in /<category>/<number>/ (e.g. https://jbbs.shitaraba.net/game/12345/)",
                cfg.url
            )));
        };
        Ok(Shitaraba {
            id: source_id(cfg),
            every: cfg.every,
            scheme: url.scheme().to_string(),
            host,
            category: category.to_string(),
            number: number.to_string(),
            first_poll: FirstPoll::from_config(cfg)?,
        })
    }

    fn url(&self, path: &str) -> Result<Url, SourceError> {
        let s = format!("{}://{}/{path}", self.scheme, self.host);
        Url::parse(&s).map_err(|e| SourceError::Parse {
            url: s,
            message: e.to_string(),
        })
    }

    fn to_post(&self, key: &str, title: &str, p: RawPost, resp: &FetchResponse) -> Post {
        let (cat, no) = (&self.category, &self.number);
        Post {
            key: format!("shitaraba:{}/{cat}/{no}/{key}/{}", self.host, p.number),
            source_kind: "shitaraba".to_string(),
            source_id: self.id.clone(),
            source_url: resp.url.to_string(),
            url: format!(
                "{}://{}/bbs/read.cgi/{cat}/{no}/{key}/{}",
                self.scheme, self.host, p.number
            ),
            thread_title: Some(title.to_string()).filter(|t| !t.is_empty()),
            number: Some(p.number),
            author_name: Some(p.name).filter(|n| !n.is_empty()),
            author_id: p.author_id,
            posted_at_raw: Some(p.date_raw).filter(|d| !d.is_empty()),
            posted_at: p.date,
            body: board::body_to_text(&p.body_html),
            body_html: Some(p.body_html),
            fetched_at: resp.fetched_at,
        }
    }

    /// Reads a thread from `last + 1`; records posts, capture and cursor. False if it failed
    /// (the cursor is kept, except that a `vanished` thread is closed either way).
    async fn poll_thread(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        job: Job<'_, ThreadCursor>,
    ) -> bool {
        let Job {
            key,
            cursor: before,
            listed,
            since,
            vanished,
        } = job;
        let mut cur = before.clone();
        let ok = match self.read_thread(ctx, out, key, &mut cur, since).await {
            Ok(()) => {
                cur.count = listed.max(cur.last);
                true
            }
            Err(note) => {
                out.notes.push(note);
                cur = before.clone();
                false
            }
        };
        if vanished && !cur.closed {
            cur.closed = true;
            out.notes
                .push(format!("{key}: no longer in subject.txt; closed"));
        }
        if cur != before {
            out.cursor_updates.push(CursorUpdate {
                key: key.to_string(),
                value: serde_json::to_value(&cur).ok(),
            });
        }
        ok
    }

    async fn read_thread(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        key: &str,
        cur: &mut ThreadCursor,
        since: Option<DateTime<Utc>>,
    ) -> Result<(), String> {
        let (cat, no) = (&self.category, &self.number);
        let url = self
            .url(&format!(
                "bbs/rawmode.cgi/{cat}/{no}/{key}/{}-",
                cur.last + 1
            ))
            .map_err(|e| e.to_string())?;
        out.requests += 1;
        let req = FetchRequest::get(url.clone()).with_encoding(encoding_rs::EUC_JP);
        let resp = ctx
            .fetcher
            .fetch(req)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        out.bytes += resp.body.len() as u64;
        match classify(resp.status, resp.header("error"), &resp.body) {
            RawAction::Nothing => return Ok(()),
            RawAction::Closed => {
                cur.closed = true;
                let why = resp.header("error").map_or_else(
                    || format!("HTTP {}", resp.status),
                    |e| format!("ERROR: {e}"),
                );
                out.notes.push(format!("{key}: {why}; closed"));
                return Ok(());
            }
            RawAction::Unexpected => {
                return Err(format!(
                    "{url}: unexpected HTTP {} {}",
                    resp.status,
                    resp.header("error").unwrap_or("")
                ));
            }
            RawAction::Posts => {}
        }
        let text = resp.text();
        if text.replaced > 0 {
            out.notes.push(format!(
                "{key}: {} undecodable byte sequence(s) replaced with U+FFFD",
                text.replaced
            ));
        }
        let mut posts = Vec::new();
        for (i, line) in text
            .text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            match parse_raw_line(line) {
                Err(why) => out
                    .notes
                    .push(format!("{key}: rawmode line {}: {why}; skipped", i + 1)),
                Ok(p) if p.number <= cur.last => {}
                Ok(mut p) => {
                    cur.last = p.number;
                    if let Some(t) = p.title.take() {
                        cur.title = t;
                    }
                    if let (Some(since), Some(d)) = (since, p.date)
                        && d < since
                    {
                        continue;
                    }
                    posts.push(p);
                }
            }
        }
        let posts: Vec<Post> = posts
            .into_iter()
            .map(|p| self.to_post(key, &cur.title, p, &resp))
            .collect();
        if !posts.is_empty() {
            let post_keys = posts.iter().map(|p| p.key.clone()).collect();
            out.captures.push(Capture {
                response: resp,
                post_keys,
            });
            out.posts.extend(posts);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl Source for Shitaraba {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "shitaraba"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let mut out = PollOutput::default();
        let validators: Option<Validators> = load_cursor(ctx, SUBJECT_CURSOR, &mut out.notes);
        let first = validators.is_none();
        let url = self.url(&format!("{}/{}/subject.txt", self.category, self.number))?;
        let req = FetchRequest::get(url.clone())
            .with_encoding(encoding_rs::EUC_JP)
            .with_validators(validators.unwrap_or_default());
        out.requests += 1;
        let resp = ctx.fetcher.fetch(req).await?;
        out.bytes += resp.body.len() as u64;
        match resp.status {
            304 => return Ok(out),
            200 => {}
            s => {
                return Err(SourceError::Parse {
                    url: url.to_string(),
                    message: format!(
                        "HTTP {s} for subject.txt (expected 200 or 304); check the board url"
                    ),
                });
            }
        }
        let text = resp.text();
        if text.replaced > 0 {
            out.notes.push(format!(
                "subject.txt: {} undecodable byte sequence(s) replaced with U+FFFD",
                text.replaced
            ));
        }
        let (entries, notes) = parse_subject(&text.text);
        out.notes.extend(notes);
        let since = first.then(|| {
            ctx.now
                - chrono::Duration::hours(
                    i64::try_from(self.first_poll.hours).unwrap_or(i64::MAX / 7200),
                )
        });
        let mut budget = self.first_poll.threads;
        let mut all_ok = true;
        for e in &entries {
            let cur: Option<ThreadCursor> = load_cursor(ctx, &e.key, &mut out.notes);
            match cur {
                Some(c) if c.closed || e.count == c.count => {}
                Some(c) => {
                    all_ok &= self
                        .poll_thread(
                            ctx,
                            &mut out,
                            Job {
                                key: &e.key,
                                cursor: c,
                                listed: e.count,
                                since: None,
                                vanished: false,
                            },
                        )
                        .await
                }
                None if first && budget == 0 => {
                    let c = ThreadCursor {
                        last: e.count,
                        count: e.count,
                        closed: false,
                        title: e.title.clone(),
                    };
                    out.cursor_updates.push(CursorUpdate {
                        key: e.key.clone(),
                        value: serde_json::to_value(&c).ok(),
                    });
                }
                None => {
                    budget = budget.saturating_sub(1);
                    let c = ThreadCursor {
                        title: e.title.clone(),
                        ..ThreadCursor::default()
                    };
                    all_ok &= self
                        .poll_thread(
                            ctx,
                            &mut out,
                            Job {
                                key: &e.key,
                                cursor: c,
                                listed: e.count,
                                since,
                                vanished: false,
                            },
                        )
                        .await;
                }
            }
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
                let Some(c) = load_cursor::<ThreadCursor>(ctx, key, &mut out.notes) else {
                    continue;
                };
                if c.closed {
                    out.cursor_updates.push(CursorUpdate {
                        key: key.clone(),
                        value: None,
                    });
                } else {
                    let listed = c.count;
                    self.poll_thread(
                        ctx,
                        &mut out,
                        Job {
                            key,
                            cursor: c,
                            listed,
                            since: None,
                            vanished: true,
                        },
                    )
                    .await;
                }
            }
        }
        if all_ok {
            out.cursor_updates.push(CursorUpdate {
                key: SUBJECT_CURSOR.to_string(),
                value: serde_json::to_value(resp.validators()).ok(),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn euc(s: &str) -> String {
        let (bytes, _, bad) = encoding_rs::EUC_JP.encode(s);
        assert!(!bad, "fixture not encodable in EUC-JP");
        let (text, _, _) = encoding_rs::EUC_JP.decode(&bytes);
        text.into_owned()
    }

    #[test]
    fn subject_drops_the_repeated_last_line() {
        let text = euc(
            "1705300000.cgi,【食品】さくら食品 part3(12)\n1705200000.cgi,雑談スレ(987)\nbroken line\n1705300000.cgi,【食品】さくら食品 part3(12)\n",
        );
        let (entries, notes) = parse_subject(&text);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[0],
            SubjectEntry {
                key: "1705300000".into(),
                title: "【食品】さくら食品 part3".into(),
                count: 12
            }
        );
        assert_eq!(entries[1].count, 987);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("line 3"));
    }

    #[test]
    fn raw_lines() {
        let line = euc(
            "1<>名無しさん<>sage<>2024/01/15(月) 12:34:56<> 最初の書き込み <br> &gt;&gt;0 &amp; 二行目 <>【食品】さくら食品 part3<>AbCd1234",
        );
        let p = parse_raw_line(&line).expect("post");
        assert_eq!(
            (p.number, p.name.as_str(), p.author_id.as_deref()),
            (1, "名無しさん", Some("ID:AbCd1234"))
        );
        assert_eq!(
            p.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-15T12:34:56+09:00")
        );
        assert_eq!(
            board::body_to_text(&p.body_html),
            "最初の書き込み\n>>0 & 二行目"
        );
        assert_eq!(p.title.as_deref(), Some("【食品】さくら食品 part3"));
        let p =
            parse_raw_line("15<>◆AbCdEf12 </b>◆AbCdEf12<b><><>2024/01/15(月) 13:00:00<>本文<><>")
                .expect("post without id");
        assert_eq!(
            (p.number, p.author_id.as_deref(), p.title),
            (15, Some("◆AbCdEf12"), None)
        );
        assert!(parse_raw_line("x<>a<>b<>c<>d<><>").is_err());
        assert!(parse_raw_line("3<>a<>b").is_err());
        assert!(parse_raw_line("").is_err());
    }

    #[test]
    fn rawmode_responses() {
        assert_eq!(
            classify(200, None, b"1<>a<>b<>c<>d<>e<>f\n"),
            RawAction::Posts
        );
        assert_eq!(classify(200, None, b""), RawAction::Nothing);
        assert_eq!(classify(200, None, b"\n"), RawAction::Nothing);
        assert_eq!(classify(200, Some("STORAGE IN"), b""), RawAction::Closed);
        assert_eq!(
            classify(200, Some("THREAD NOT FOUND"), b""),
            RawAction::Closed
        );
        assert_eq!(classify(404, None, b""), RawAction::Closed);
        assert_eq!(classify(200, Some("BBS BUSY"), b""), RawAction::Unexpected);
        assert_eq!(classify(500, None, b""), RawAction::Unexpected);
    }
}
