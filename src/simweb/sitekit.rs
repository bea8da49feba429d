//! Small pieces shared by the simulated review site, feed, suggest endpoint and SNS APIs:
//! a request log for tests, robots.txt, conditional-GET checks, HTML escaping, JSON answers;
//! and the thread bookkeeping shared by the simulated 5ch and したらば boards (`BoardState`:
//! parts per slot, thread keys, full threads retired once the next part has 10 posts, the
//! version and Last-Modified of `subject.txt`, the request log).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

/// Requests a simulated site served: `"<path?query> <status>"`, in order.
#[derive(Debug, Default)]
pub struct RequestLog(Mutex<Vec<String>>);

impl RequestLog {
    /// Records one request.
    pub fn record(&self, path: &str, status: u16) {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        log.push(format!("{path} {status}"));
    }

    /// Everything recorded so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A robots.txt that allows everything.
pub fn robots() -> Response {
    text(
        "text/plain; charset=utf-8",
        "User-agent: *\nAllow: /\n".to_string(),
    )
}

/// A 200 with a body and content type.
pub fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// A JSON answer with a status.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        value.to_string(),
    )
        .into_response()
}

/// Escapes text for HTML (the project's one escaping function).
pub fn escape(s: &str) -> String {
    crate::text::html::esc(s)
}

/// Escaped text with line breaks as `<br>`.
pub fn escape_lines(s: &str) -> String {
    s.lines().map(escape).collect::<Vec<_>>().join("<br>")
}

/// Whether a conditional GET matches the current version (→ 304).
pub fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| t.trim() == etag || t.trim() == "*");
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| {
            httpdate::fmt_http_date(since) == httpdate::fmt_http_date(modified) || since > modified
        })
}

/// Adds ETag and Last-Modified headers to a response.
pub fn with_validators(mut r: Response, etag: &str, modified: SystemTime) -> Response {
    if let Ok(v) = HeaderValue::from_str(etag) {
        r.headers_mut().insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
        r.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    r
}

/// `http://<Host>` of a request (links in pages and feeds point back at the site).
pub fn base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The request path and query, for the log.
pub fn path_query(uri: &axum::http::Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// Names and aliases of every watched target (simulated sites decide what a post mentions).
pub fn watched_names(watchlist: &crate::config::Watchlist) -> Vec<String> {
    let mut names: Vec<String> = watchlist
        .targets
        .iter()
        .flat_map(|t| t.names.iter().chain(t.aliases.iter()).cloned())
        .collect();
    // Longest first, so 株式会社さくら食品 is found before さくら食品.
    names.sort_by_key(|n| std::cmp::Reverse(n.chars().count()));
    names.dedup();
    names
}

/// Where a simulated board thread is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    /// Taking posts.
    Open,
    /// At the post limit: still listed and readable.
    Full,
    /// Gone from subject.txt (5ch: dat落ち to `kako/`; したらば: archived).
    Gone,
}

/// One thread of a simulated board; `data` holds its posts in the board's own form.
pub(crate) struct BoardThread<D> {
    pub(crate) key: u64,
    pub(crate) slot: usize,
    pub(crate) title: String,
    pub(crate) modified: SystemTime,
    pub(crate) life: Life,
    pub(crate) data: D,
}

/// The threads of a simulated board (behind the board's mutex).
pub(crate) struct BoardState<D> {
    pub(crate) threads: Vec<BoardThread<D>>,
    /// Slot → index of the thread now taking its posts.
    current: HashMap<usize, usize>,
    /// Slot → part number of its latest thread.
    parts: HashMap<usize, u32>,
    /// Arrival → (thread index, post number).
    seqs: HashMap<u64, (usize, u64)>,
    next_key: u64,
    version: u64,
    modified: Option<SystemTime>,
    /// Requests served, for tests.
    pub(crate) log: Vec<String>,
}

impl<D> BoardState<D> {
    /// No threads yet; the first key is `back` seconds before now.
    pub(crate) fn new(back: u64) -> Self {
        let next_key = u64::try_from(Utc::now().timestamp())
            .unwrap_or(1_700_000_000)
            .saturating_sub(back);
        BoardState {
            threads: Vec::new(),
            current: HashMap::new(),
            parts: HashMap::new(),
            seqs: HashMap::new(),
            next_key,
            version: 0,
            modified: None,
            log: Vec::new(),
        }
    }

    /// The thread key and post number of an arrival.
    pub(crate) fn locate(&self, seq: u64) -> Option<(String, u64)> {
        let &(t, n) = self.seqs.get(&seq)?;
        Some((self.threads[t].key.to_string(), n))
    }

    /// (thread index, post number) of an arrival.
    pub(crate) fn seq(&self, seq: u64) -> Option<(usize, u64)> {
        self.seqs.get(&seq).copied()
    }

    /// Key of the thread now taking posts in `slot`.
    pub(crate) fn thread_key(&self, slot: usize) -> Option<String> {
        self.current
            .get(&slot)
            .map(|&t| self.threads[t].key.to_string())
    }

    /// Takes the thread now in `slot` off subject.txt ([`Life::Gone`]); the slot's next post
    /// starts a new part. Returns its key.
    pub(crate) fn retire(&mut self, slot: usize) -> Option<String> {
        let t = self.current.remove(&slot)?;
        self.threads[t].life = Life::Gone;
        self.touch();
        Some(self.threads[t].key.to_string())
    }

    /// The thread taking the posts of `slot`, a new part (titled from
    /// `TITLES[(slot + shift) % len]`, its posts built by `data` from the title) when none is open.
    pub(crate) fn open_thread(
        &mut self,
        slot: usize,
        shift: usize,
        data: impl FnOnce(&str) -> D,
    ) -> usize {
        if let Some(&i) = self.current.get(&slot)
            && self.threads[i].life == Life::Open
        {
            return i;
        }
        let part = self.parts.entry(slot).or_insert(2);
        *part += 1;
        let titles = super::fivech::TITLES;
        let title = titles[(slot + shift) % titles.len()].replace("{}", &part.to_string());
        let key = self.next_key;
        self.next_key += 1;
        let data = data(&title);
        self.threads.push(BoardThread {
            key,
            slot,
            title,
            modified: SystemTime::now(),
            life: Life::Open,
            data,
        });
        let idx = self.threads.len() - 1;
        self.current.insert(slot, idx);
        idx
    }

    /// Records post `number` of thread `idx` as arrival `seq`, now that the thread has `len`
    /// posts: an open thread with 10 posts retires the full ones of its slot. Bumps the board.
    pub(crate) fn posted(&mut self, seq: u64, idx: usize, number: u64, len: usize) {
        self.seqs.insert(seq, (idx, number));
        let t = &self.threads[idx];
        if t.life == Life::Open && len >= 10 {
            let slot = t.slot;
            for t in self
                .threads
                .iter_mut()
                .filter(|t| t.slot == slot && t.life == Life::Full)
            {
                t.life = Life::Gone;
            }
        }
        self.touch();
    }

    fn touch(&mut self) {
        self.version += 1;
        self.modified = Some(SystemTime::now());
    }

    /// The ETag and Last-Modified of subject.txt.
    pub(crate) fn subject_validators(&self) -> (String, SystemTime) {
        (
            format!("\"s{}\"", self.version),
            self.modified.unwrap_or(SystemTime::UNIX_EPOCH),
        )
    }

    /// The threads subject.txt lists, last modified first.
    pub(crate) fn listed(&self) -> Vec<&BoardThread<D>> {
        let mut listed: Vec<&BoardThread<D>> = self
            .threads
            .iter()
            .filter(|t| t.life != Life::Gone)
            .collect();
        listed.sort_by(|x, y| y.modified.cmp(&x.modified).then(y.key.cmp(&x.key)));
        listed
    }
}

/// A poster name as board HTML (`&`, `<`, `>` escaped).
pub(crate) fn board_name(author: &str) -> String {
    author
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The mail field of a simulated post: every third one is `sage`.
pub(crate) fn board_mail(seq: u64) -> &'static str {
    if seq.is_multiple_of(3) { "sage" } else { "" }
}

/// What reads a thread page: the site, the thread key, the range (empty: all) and the headers.
pub(crate) type ThreadReader<S> = fn(&S, &str, &str, &HeaderMap) -> Response;

/// Routes `<base>`, `<base>/` and `<base>/{range}` (where `base` ends in `/{key}`) to `read`.
pub(crate) fn thread_routes<S: Send + Sync + 'static>(
    router: Router<std::sync::Arc<S>>,
    base: &str,
    read: ThreadReader<S>,
) -> Router<std::sync::Arc<S>> {
    type Params = Path<HashMap<String, String>>;
    let handler = move |State(s): State<std::sync::Arc<S>>, Path(p): Params, h: HeaderMap| async move {
        let key = p.get("key").map_or("", String::as_str);
        let range = p.get("range").map_or("", String::as_str);
        read(&s, key, range, &h)
    };
    router
        .route(base, get(handler))
        .route(&format!("{base}/"), get(handler))
        .route(&format!("{base}/{{range}}"), get(handler))
}
