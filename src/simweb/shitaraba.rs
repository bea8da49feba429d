//! A simulated したらば board: `/<cat>/<no>/subject.txt` (EUC-JP, `<key>.cgi,title(n)` with
//! the first thread repeated as the last line, conditional GET) and
//! `/bbs/read.cgi/<cat>/<no>/<key>/<range>` (the HTML page a person sees, EUC-JP),
//! `/bbs/rawmode.cgi/<cat>/<no>/<key>/<range>` (EUC-JP, `no<>name<>mail<>date<>body<>title<>ID`;
//! ranges `N-`, `N`, `N-M`, `lN`). Deleted posts leave gaps in the numbers; threads fill at the
//! post limit and move to the archive (`ERROR: STORAGE IN`) once the next part has 10 posts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::fivech::{board_date, body_html, not_modified, robots, text_response};
use super::sitekit::{BoardState, Life, board_mail, board_name, thread_routes};
use super::{SimPost, SimSite};

/// A thread's posts: (number, line); deleted posts are removed, leaving a gap.
struct Raw {
    posts: Vec<(u64, String)>,
    next: u64,
}

type Board = BoardState<Raw>;

/// The simulated したらば board.
pub struct SimShitaraba {
    category: String,
    number: String,
    limit: u64,
    state: Mutex<Board>,
}

impl Default for SimShitaraba {
    fn default() -> Self {
        SimShitaraba::new("game", "12345")
    }
}

impl SimShitaraba {
    /// A board `/<category>/<number>/` whose threads fill at 1000 posts.
    pub fn new(category: &str, number: &str) -> Self {
        SimShitaraba {
            category: category.to_string(),
            number: number.to_string(),
            limit: 1000,
            state: Mutex::new(Board::new(90_000)),
        }
    }

    /// Threads fill at `limit` posts instead of 1000 (tests).
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit.max(2);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The thread key and post number of an arrival.
    pub fn locate(&self, seq: u64) -> Option<(String, u64)> {
        self.lock().locate(seq)
    }

    /// Key of the thread now taking posts in `slot`.
    pub fn thread_key(&self, slot: usize) -> Option<String> {
        self.lock().thread_key(slot)
    }

    /// Moves the thread now in `slot` to the archive (`ERROR: STORAGE IN`, gone from
    /// subject.txt). Returns its key.
    pub fn archive(&self, slot: usize) -> Option<String> {
        self.lock().retire(slot)
    }

    /// Requests served so far: `"<path> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// A new thread's posts: the administrator's first post.
    fn first_post(title: &str, at: DateTime<Utc>) -> Raw {
        let first = format!(
            "1<>管理人<><>{}<> {title} のスレッドです。 <br> ルールを守って書き込みましょう。 <>{title}<>admin000",
            board_date(at, false),
        );
        Raw {
            posts: vec![(1, first)],
            next: 2,
        }
    }

    fn subject(&self, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let (etag, modified) = b.subject_validators();
        if not_modified(headers, &etag, modified) {
            b.log.push("subject.txt 304".to_string());
            return text_response(
                StatusCode::NOT_MODIFIED,
                Vec::new(),
                "EUC-JP",
                &etag,
                modified,
            );
        }
        let lines: Vec<String> = b
            .listed()
            .iter()
            .map(|t| format!("{}.cgi,{}({})\n", t.key, t.title, t.data.next - 1))
            .collect();
        let mut text = lines.concat();
        if let Some(first) = lines.first() {
            text.push_str(first);
        }
        let (bytes, _, _) = encoding_rs::EUC_JP.encode(&text);
        let body = bytes.into_owned();
        b.log.push("subject.txt 200".to_string());
        text_response(StatusCode::OK, body, "EUC-JP", &etag, modified)
    }

    fn rawmode(&self, key: &str, range: &str) -> Response {
        let mut b = self.lock();
        let found = b.threads.iter().find(|t| t.key.to_string() == key);
        let resp = match found {
            None => error_response("THREAD NOT FOUND"),
            Some(t) if t.life == Life::Gone => error_response("STORAGE IN"),
            Some(t) => {
                let last = t.data.posts.last().map_or(0, |p| p.0);
                let (from, to) = raw_range(range, last);
                let mut text = String::new();
                for (n, line) in t.data.posts.iter().filter(|(n, _)| *n >= from && *n <= to) {
                    debug_assert!(line.starts_with(&format!("{n}<>")));
                    text.push_str(line);
                    text.push('\n');
                }
                let (bytes, _, _) = encoding_rs::EUC_JP.encode(&text);
                let mut r = (StatusCode::OK, bytes.into_owned()).into_response();
                r.headers_mut().insert(
                    "content-type",
                    HeaderValue::from_static("text/plain; charset=EUC-JP"),
                );
                r
            }
        };
        b.log
            .push(format!("rawmode/{key}/{range} {}", resp.status().as_u16()));
        resp
    }
}

impl SimShitaraba {
    /// The thread's read.cgi page as したらば serves it: EUC-JP HTML, one
    /// `<dt id="comment_N">` (number, name, date and ID) and `<dd>` (body) per post in the
    /// range, post 1 always; archived threads are still served (過去ログ).
    fn read_cgi(&self, key: &str, range: &str) -> Response {
        let mut b = self.lock();
        let Some(t) = b.threads.iter().find(|t| t.key.to_string() == key) else {
            b.log.push(format!("read.cgi/{key}/{range} 404"));
            return (StatusCode::NOT_FOUND, "スレッドが見つかりません").into_response();
        };
        let last = t.data.posts.last().map_or(0, |p| p.0);
        let (from, to) = raw_range(range, last);
        let link = format!("/bbs/read.cgi/{}/{}/{}", self.category, self.number, t.key);
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=EUC-JP\"><title>{0} - したらば掲示板</title></head><body>\n<div id=\"thread-header\"><h1 class=\"thread-title\">{0}</h1></div>\n<dl id=\"thread-body\">\n",
            t.title
        );
        for (n, line) in &t.data.posts {
            if *n != 1 && (*n < from || *n > to) {
                continue;
            }
            let f: Vec<&str> = line.split("<>").collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("");
            let name = if field(2).is_empty() {
                format!("<font color=\"#008800\"><b>{}</b></font>", field(1))
            } else {
                format!("<a href=\"mailto:{}\"><b>{}</b></a>", field(2), field(1))
            };
            html.push_str(&format!(
                "<dt id=\"comment_{n}\"><a href=\"{link}/{n}\">{n}</a>：{name}：{} ID:{}</dt>\n<dd> {} <br><br></dd>\n",
                field(3),
                field(6),
                field(4)
            ));
        }
        html.push_str("</dl>\n</body></html>\n");
        b.log.push(format!("read.cgi/{key}/{range} 200"));
        let (bytes, _, _) = encoding_rs::EUC_JP.encode(&html);
        let mut r = (StatusCode::OK, bytes.into_owned()).into_response();
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=EUC-JP"),
        );
        r
    }
}

fn error_response(what: &'static str) -> Response {
    let mut r = (StatusCode::OK, "").into_response();
    r.headers_mut()
        .insert("error", HeaderValue::from_static(what));
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=EUC-JP"),
    );
    r
}

/// `N-`, `N`, `N-M`, `lN` or empty over posts numbered up to `last`.
fn raw_range(range: &str, last: u64) -> (u64, u64) {
    let r = range.trim_matches('/');
    if r.is_empty() {
        return (1, last);
    }
    if let Some(l) = r.strip_prefix('l').and_then(|x| x.parse::<u64>().ok()) {
        return (last.saturating_sub(l) + 1, last);
    }
    match r.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(1), b.parse().unwrap_or(u64::MAX)),
        None => r.parse().map_or((1, last), |x| (x, x)),
    }
}

impl SimSite for SimShitaraba {
    fn name(&self) -> &'static str {
        "shitaraba"
    }

    fn router(self: Arc<Self>) -> Router {
        let router = Router::new().route("/robots.txt", get(robots)).route(
            "/{cat}/{no}/subject.txt",
            get(|State(s): State<Arc<Self>>, h: HeaderMap| async move { s.subject(&h) }),
        );
        let router = thread_routes(
            router,
            "/bbs/rawmode.cgi/{cat}/{no}/{key}",
            |s, key, range, _| s.rawmode(key, range),
        );
        thread_routes(
            router,
            "/bbs/read.cgi/{cat}/{no}/{key}",
            |s, key, range, _| s.read_cgi(key, range),
        )
        .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let mut b = self.lock();
        let slot = post.thread;
        let idx = b.open_thread(slot, 1, |title| Self::first_post(title, post.at));
        let t = &mut b.threads[idx];
        let n = t.data.next;
        t.data.next += 1;
        let link = format!("/bbs/read.cgi/{}/{}/{}", self.category, self.number, t.key);
        t.data.posts.push((
            n,
            format!(
                "{n}<>{}<>{}<>{}<>{}<><>{}",
                board_name(&post.author),
                board_mail(post.seq),
                board_date(post.at, false),
                body_html(&post.text, &link),
                post.author_id
            ),
        ));
        t.modified = SystemTime::now();
        if n >= self.limit {
            t.life = Life::Full;
        }
        let len = t.data.posts.len();
        b.posted(post.seq, idx, n, len);
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut b = self.lock();
        let Some((t, n)) = b.seq(seq) else {
            return false;
        };
        b.threads[t].data.posts.retain(|(m, _)| *m != n);
        b.threads[t].modified = SystemTime::now();
        true
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/{}/{}/", self.category, self.number)
    }

    fn source_kind(&self) -> &'static str {
        "shitaraba"
    }
}
