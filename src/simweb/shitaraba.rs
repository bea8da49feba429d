//! A simulated したらば board: `/<cat>/<no>/subject.txt` (EUC-JP, `<key>.cgi,title(n)` with
//! the first thread repeated as the last line, conditional GET) and
//! `/bbs/rawmode.cgi/<cat>/<no>/<key>/<range>` (EUC-JP, `no<>name<>mail<>date<>body<>title<>ID`;
//! ranges `N-`, `N`, `N-M`, `lN`). Deleted posts leave gaps in the numbers; threads fill at the
//! post limit and move to the archive (`ERROR: STORAGE IN`) once the next part has 10 posts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::fivech::{TITLES, board_date, body_html, not_modified, robots, text_response};
use super::{SimPost, SimSite};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Open,
    Full,
    Archived,
}

struct Thread {
    key: u64,
    slot: usize,
    title: String,
    /// (number, line); deleted posts are removed, leaving a gap.
    posts: Vec<(u64, String)>,
    next: u64,
    modified: SystemTime,
    life: Life,
}

#[derive(Default)]
struct Board {
    threads: Vec<Thread>,
    current: HashMap<usize, usize>,
    parts: HashMap<usize, u32>,
    seqs: HashMap<u64, (usize, u64)>,
    next_key: u64,
    version: u64,
    modified: Option<SystemTime>,
    log: Vec<String>,
}

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
        let next_key = u64::try_from(Utc::now().timestamp())
            .unwrap_or(1_700_000_000)
            .saturating_sub(90_000);
        SimShitaraba {
            category: category.to_string(),
            number: number.to_string(),
            limit: 1000,
            state: Mutex::new(Board {
                next_key,
                ..Board::default()
            }),
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
        let b = self.lock();
        let &(t, n) = b.seqs.get(&seq)?;
        Some((b.threads[t].key.to_string(), n))
    }

    /// Key of the thread now taking posts in `slot`.
    pub fn thread_key(&self, slot: usize) -> Option<String> {
        let b = self.lock();
        b.current.get(&slot).map(|&t| b.threads[t].key.to_string())
    }

    /// Moves the thread now in `slot` to the archive (`ERROR: STORAGE IN`, gone from
    /// subject.txt). Returns its key.
    pub fn archive(&self, slot: usize) -> Option<String> {
        let mut b = self.lock();
        let t = b.current.remove(&slot)?;
        b.threads[t].life = Life::Archived;
        b.version += 1;
        b.modified = Some(SystemTime::now());
        Some(b.threads[t].key.to_string())
    }

    /// Requests served so far: `"<path> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    fn new_thread(&self, b: &mut Board, slot: usize, at: DateTime<Utc>) -> usize {
        let part = b.parts.entry(slot).or_insert(2);
        *part += 1;
        let title = TITLES[(slot + 1) % TITLES.len()].replace("{}", &part.to_string());
        let key = b.next_key;
        b.next_key += 1;
        let first = format!(
            "1<>管理人<><>{}<> {} のスレッドです。 <br> ルールを守って書き込みましょう。 <>{}<>admin000",
            board_date(at, false),
            title,
            title
        );
        b.threads.push(Thread {
            key,
            slot,
            title,
            posts: vec![(1, first)],
            next: 2,
            modified: SystemTime::now(),
            life: Life::Open,
        });
        let idx = b.threads.len() - 1;
        b.current.insert(slot, idx);
        idx
    }

    fn subject(&self, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let modified = b.modified.unwrap_or(SystemTime::UNIX_EPOCH);
        let etag = format!("\"s{}\"", b.version);
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
        let mut listed: Vec<&Thread> = b
            .threads
            .iter()
            .filter(|t| t.life != Life::Archived)
            .collect();
        listed.sort_by(|x, y| y.modified.cmp(&x.modified).then(y.key.cmp(&x.key)));
        let lines: Vec<String> = listed
            .iter()
            .map(|t| format!("{}.cgi,{}({})\n", t.key, t.title, t.next - 1))
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
            Some(t) if t.life == Life::Archived => error_response("STORAGE IN"),
            Some(t) => {
                let last = t.posts.last().map_or(0, |p| p.0);
                let (from, to) = raw_range(range, last);
                let mut text = String::new();
                for (n, line) in t.posts.iter().filter(|(n, _)| *n >= from && *n <= to) {
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
        type P3 = Path<(String, String, String)>;
        type P4 = Path<(String, String, String, String)>;
        Router::new()
            .route("/robots.txt", get(robots))
            .route(
                "/{cat}/{no}/subject.txt",
                get(|State(s): State<Arc<Self>>, h: HeaderMap| async move { s.subject(&h) }),
            )
            .route(
                "/bbs/rawmode.cgi/{cat}/{no}/{key}",
                get(
                    |State(s): State<Arc<Self>>, Path((_c, _n, key)): P3| async move {
                        s.rawmode(&key, "")
                    },
                ),
            )
            .route(
                "/bbs/rawmode.cgi/{cat}/{no}/{key}/",
                get(
                    |State(s): State<Arc<Self>>, Path((_c, _n, key)): P3| async move {
                        s.rawmode(&key, "")
                    },
                ),
            )
            .route(
                "/bbs/rawmode.cgi/{cat}/{no}/{key}/{range}",
                get(
                    |State(s): State<Arc<Self>>, Path((_c, _n, key, range)): P4| async move {
                        s.rawmode(&key, &range)
                    },
                ),
            )
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let mut b = self.lock();
        let slot = post.thread;
        let idx = match b.current.get(&slot) {
            Some(&i) if b.threads[i].life == Life::Open => i,
            _ => self.new_thread(&mut b, slot, post.at),
        };
        let t = &mut b.threads[idx];
        let n = t.next;
        t.next += 1;
        let link = format!("/bbs/read.cgi/{}/{}/{}", self.category, self.number, t.key);
        let name = post
            .author
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let mail = if post.seq.is_multiple_of(3) {
            "sage"
        } else {
            ""
        };
        t.posts.push((
            n,
            format!(
                "{n}<>{name}<>{mail}<>{}<>{}<><>{}",
                board_date(post.at, false),
                body_html(&post.text, &link),
                post.author_id
            ),
        ));
        t.modified = SystemTime::now();
        if n >= self.limit {
            t.life = Life::Full;
        }
        let open_len = (t.life == Life::Open).then_some(t.posts.len());
        b.seqs.insert(post.seq, (idx, n));
        if open_len.is_some_and(|l| l >= 10) {
            for t in b
                .threads
                .iter_mut()
                .filter(|t| t.slot == slot && t.life == Life::Full)
            {
                t.life = Life::Archived;
            }
        }
        b.version += 1;
        b.modified = Some(SystemTime::now());
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut b = self.lock();
        let Some(&(t, n)) = b.seqs.get(&seq) else {
            return false;
        };
        b.threads[t].posts.retain(|(m, _)| *m != n);
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
