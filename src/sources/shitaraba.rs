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
//! last read, is closed, and its cursor is deleted on the next poll (the loop shared with 5ch
//! in `sources/board.rs`).

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, FetchResponse};
use crate::model::Post;
use crate::sources::board::{
    self as shared, Board, BoardCursor, Job, Origin, Parsed, note_replaced,
};
use crate::sources::fivech::board::{
    self, FirstPoll, name_text, parse_date, split_title_count, trip,
};
use crate::sources::{PollContext, PollOutput, Source, SourceError, source_id};

/// One thread listed in a したらば `subject.txt` (the same shape as 5ch's; `count` is the last
/// post number).
pub use crate::sources::fivech::parse::SubjectEntry;

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
        let bad = |message: String| shared::config_error(cfg, message);
        let (url, host) = shared::configured_url(cfg)?;
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
        shared::site_url(&self.scheme, &self.host, path)
    }

    fn to_post(&self, key: &str, title: &str, p: RawPost, resp: &FetchResponse) -> Post {
        let origin = Origin {
            kind: "shitaraba",
            source_id: &self.id,
            title,
        };
        let (host, cat, no, n) = (&self.host, &self.category, &self.number, p.number);
        let p = Parsed {
            number: p.number,
            name: p.name,
            date_raw: p.date_raw,
            date: p.date,
            author_id: p.author_id,
            body_html: p.body_html,
        };
        p.into_post(
            &origin,
            format!("shitaraba:{host}/{cat}/{no}/{key}/{n}"),
            format!("{}://{host}/bbs/read.cgi/{cat}/{no}/{key}/{n}", self.scheme),
            resp,
        )
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
        let resp = shared::fetch(ctx, out, self.request(url.clone())).await?;
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
        note_replaced(out, key, text.replaced);
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
        shared::record(out, resp, posts);
        Ok(())
    }
}

impl BoardCursor for ThreadCursor {
    fn is_current(&self, listed: u64) -> bool {
        self.closed || listed == self.count
    }

    fn fresh(entry: &SubjectEntry, skip: bool) -> Self {
        let at = if skip { entry.count } else { 0 };
        ThreadCursor {
            last: at,
            count: at,
            closed: false,
            title: entry.title.clone(),
        }
    }

    fn unlisted(&self) -> Option<u64> {
        (!self.closed).then_some(self.count)
    }

    fn close(&mut self) -> bool {
        !std::mem::replace(&mut self.closed, true)
    }
}

impl Board for Shitaraba {
    type Cursor = ThreadCursor;

    fn subject_url(&self) -> Result<Url, SourceError> {
        self.url(&format!("{}/{}/subject.txt", self.category, self.number))
    }

    fn request(&self, url: Url) -> FetchRequest {
        FetchRequest::get(url).with_encoding(encoding_rs::EUC_JP)
    }

    fn parse_subject(&self, text: &str, _now: DateTime<Utc>) -> (Vec<SubjectEntry>, Vec<String>) {
        parse_subject(text)
    }

    /// Reads the thread from `last + 1`; the cursor then remembers the listed count.
    async fn read(
        &self,
        ctx: &PollContext<'_>,
        out: &mut PollOutput,
        job: &Job<'_, ThreadCursor>,
        cur: &mut ThreadCursor,
    ) -> Result<(), String> {
        self.read_thread(ctx, out, job.key, cur, job.since).await?;
        cur.count = job.listed.max(cur.last);
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
        shared::poll(self, self.first_poll, ctx).await
    }

    /// The read.cgi page (EUC-JP HTML, what a person sees) with the posts and their
    /// neighbours.
    fn context_request(&self, posts: &[&Post]) -> Option<FetchRequest> {
        crate::sources::context_url(posts).map(|u| self.request(u))
    }

    /// Reads the post's number from rawmode (`…/rawmode.cgi/<cat>/<no>/<key>/<n>`): a deleted
    /// post is missing there; a thread that is gone answers `ERROR: … NOT FOUND` or 404.
    async fn recheck(
        &self,
        fetcher: &crate::fetch::Fetcher,
        post: &Post,
    ) -> Result<crate::sources::recheck::Observation, SourceError> {
        let raw = post.url.replacen("/bbs/read.cgi/", "/bbs/rawmode.cgi/", 1);
        let (Some(number), Ok(url)) = (post.number, Url::parse(&raw)) else {
            return crate::sources::recheck::check_page(fetcher, post).await;
        };
        let resp = fetcher.fetch(self.request(url)).await?;
        match classify(resp.status, resp.header("error"), &resp.body) {
            RawAction::Closed => {
                let why = resp.header("error").map_or_else(
                    || format!("HTTP {}", resp.status),
                    |e| format!("ERROR: {e}"),
                );
                if why.contains("STORAGE IN") {
                    // Archived (過去ログ), not deleted: the archive page still shows it.
                    return crate::sources::recheck::check_page(fetcher, post).await;
                }
                Ok(crate::sources::recheck::Observation {
                    state: crate::sources::recheck::Liveness::Deleted,
                    detail: format!("the thread answers {why}"),
                    response: Some(resp),
                })
            }
            RawAction::Nothing | RawAction::Posts => {
                let text = resp.text().text;
                let found = text
                    .lines()
                    .filter_map(|l| parse_raw_line(l).ok())
                    .find(|p| p.number == number)
                    .map(|p| (p.name, board::body_to_text(&p.body_html)));
                Ok(crate::sources::recheck::classify_board(
                    post,
                    number,
                    found.as_ref().map(|(n, b)| (n.as_str(), b.as_str())),
                    resp,
                ))
            }
            RawAction::Unexpected => Err(SourceError::Parse {
                url: raw,
                message: format!(
                    "HTTP {} {} on re-check; trying again later",
                    resp.status,
                    resp.header("error").unwrap_or("")
                ),
            }),
        }
    }
}

/// Parses したらば's read.cgi page (`dl#thread-body`: `<dt id="comment_N">N：name：date ID:x</dt>`
/// then `<dd>body</dd>`) into the posts it shows, for the legal packet's neighbouring posts.
pub fn parse_read_cgi(html: &str) -> crate::sources::fivech::readcgi::ReadCgiPage {
    use crate::sources::fivech::readcgi::{HtmlPost, ReadCgiPage};
    use scraper::{Html, Selector};
    use std::sync::LazyLock;
    static SEL: LazyLock<Option<(Selector, Selector, Selector)>> = LazyLock::new(|| {
        Some((
            Selector::parse("dl#thread-body > dt, dl#thread-body > dd").ok()?,
            Selector::parse("b").ok()?,
            Selector::parse("h1, title").ok()?,
        ))
    });
    let mut page = ReadCgiPage::default();
    let Some((items, bold, title)) = SEL.as_ref() else {
        return page;
    };
    let doc = Html::parse_document(html);
    page.title = doc
        .select(title)
        .min_by_key(|t| t.value().name() != "h1")
        .map(|t| t.text().collect::<String>().trim().to_string())
        .filter(|t| !t.is_empty());
    let mut pending: Option<HtmlPost> = None;
    for el in doc.select(items) {
        if el.value().name() == "dt" {
            if pending.take().is_some() {
                page.skipped += 1;
            }
            let number = el
                .value()
                .id()
                .and_then(|id| id.strip_prefix("comment_"))
                .and_then(|n| n.parse::<u64>().ok());
            let Some(number) = number else {
                page.skipped += 1;
                continue;
            };
            let text: String = el.text().collect();
            let after_name = text.splitn(3, '：').nth(2).unwrap_or("");
            let (date_raw, author_id) = crate::sources::fivech::parse::split_date_id(after_name);
            pending = Some(HtmlPost {
                number,
                name: el
                    .select(bold)
                    .next()
                    .map(|b| name_text(&b.inner_html()))
                    .unwrap_or_default(),
                date: parse_date(&date_raw),
                date_raw,
                author_id,
                body_html: String::new(),
            });
        } else if let Some(mut post) = pending.take() {
            post.body_html = el.inner_html().trim().to_string();
            page.posts.push(post);
        }
    }
    if pending.is_some() {
        page.skipped += 1;
    }
    page
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
    fn read_cgi_page_gives_number_name_date_id_and_body() {
        let html = euc(concat!(
            "<html><head><title>雑談 - したらば掲示板</title></head><body>",
            "<div id=\"thread-header\"><h1 class=\"thread-title\">雑談</h1></div><dl id=\"thread-body\">",
            "<dt id=\"comment_1\"><a href=\"/bbs/read.cgi/game/1/2/1\">1</a>：<font color=\"#008800\"><b>管理人</b></font>：2026/11/30(月) 12:34:56 ID:admin000</dt>",
            "<dd> ルールを守って <br> 書き込みましょう <br><br></dd>",
            "<dt id=\"comment_7\"><a href=\"/bbs/read.cgi/game/1/2/7\">7</a>：<a href=\"mailto:sage\"><b>名無し</b></a>：2026/11/30(月) 13:00:01 ID:Ab12Cd34</dt>",
            "<dd> 山田商事は詐欺 <br><br></dd>",
            "<dt>broken</dt></dl></body></html>",
        ));
        let page = parse_read_cgi(&html);
        assert_eq!(page.title.as_deref(), Some("雑談"));
        assert_eq!(page.posts.len(), 2);
        assert_eq!(page.skipped, 1);
        let p = &page.posts[1];
        assert_eq!((p.number, p.name.as_str()), (7, "名無し"));
        assert_eq!(p.author_id.as_deref(), Some("ID:Ab12Cd34"));
        assert!(p.date.is_some(), "{}", p.date_raw);
        assert!(p.body_html.contains("山田商事は詐欺"));
    }

    #[test]
    fn context_url_spans_the_posts_and_their_neighbours() {
        let post = |url: &str, n: u64| Post {
            key: format!("shitaraba:x/{n}"),
            source_kind: "shitaraba".into(),
            source_id: "shitaraba:x".into(),
            source_url: url.into(),
            url: url.into(),
            thread_title: None,
            number: Some(n),
            author_name: None,
            author_id: None,
            posted_at_raw: None,
            posted_at: None,
            body: String::new(),
            body_html: None,
            fetched_at: Utc::now(),
        };
        let base = "https://jbbs.shitaraba.jp/bbs/read.cgi/game/1/2";
        let (a, b) = (
            post(&format!("{base}/3"), 3),
            post(&format!("{base}/40"), 40),
        );
        assert_eq!(
            crate::sources::context_url(&[&a, &b]).map(|u| u.to_string()),
            Some("https://jbbs.shitaraba.jp/bbs/read.cgi/game/1/2/1-50".to_string())
        );
        let odd = post("https://example.jp/thread", 5);
        assert_eq!(crate::sources::context_url(&[&odd]), None);
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
