//! A simulated 5ch board: `subject.txt` and dats in cp932 in the real line formats, with
//! `Range` (206 / 416), `If-None-Match` / `If-Modified-Since` (304), `Last-Modified` and `ETag`;
//! read.cgi HTML in the current `div.post` / `.post-content` layout; threads that fill up at
//! the post limit (an `Over 1000 Thread` line) and are replaced by the next part; full threads
//! that go dat落ち (302 to their `kako/` copy) once the next part has 10 posts; deletions that
//! turn a line into `あぼーん<>あぼーん<>…` so the dat shrinks. Also a few helpers shared with
//! the したらば board (dates, bodies, conditional GET).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Timelike, Utc};

use super::{SimPost, SimSite};

/// Thread titles by slot; `{}` is the part number. Some name `watchlists/example.toml` targets.
pub(crate) const TITLES: &[&str] = &[
    "【食品】さくら食品 part{}",
    "雑談スレ part{}",
    "【医療】小林クリニックってどうよ？ part{}",
    "【悲報】近所の噂話 part{}",
    "ソフトウェア総合 part{}",
    "ニュース速報＠実況 part{}",
];

/// The JST date as boards write it: `2024/01/15(月) 12:34:56.78` (`centis` adds `.78`).
pub(crate) fn board_date(at: DateTime<Utc>, centis: bool) -> String {
    let t = at.with_timezone(&crate::model::jst());
    let wd =
        ["月", "火", "水", "木", "金", "土", "日"][t.weekday().num_days_from_monday() as usize];
    let base = format!(
        "{:04}/{:02}/{:02}({wd}) {:02}:{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if centis {
        format!("{base}.{:02}", t.timestamp_subsec_millis() / 10)
    } else {
        base
    }
}

/// Post text as board body HTML: escaped, lines joined by ` <br> `, `>>N` anchors linked to
/// `link_base/N`.
pub(crate) fn body_html(text: &str, link_base: &str) -> String {
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let esc = line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            link_anchors(&esc, link_base)
        })
        .collect();
    format!(" {} ", lines.join(" <br> "))
}

fn link_anchors(esc: &str, link_base: &str) -> String {
    let mut out = String::with_capacity(esc.len());
    let mut rest = esc;
    while let Some(i) = rest.find("&gt;&gt;") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 8..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            out.push_str("&gt;&gt;");
        } else {
            out.push_str(&format!(r#"<a href="{link_base}/{digits}" rel="noopener noreferrer" target="_blank">&gt;&gt;{digits}</a>"#));
        }
        rest = &after[digits.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether a conditional GET is answered with 304: `If-None-Match` wins over
/// `If-Modified-Since` (RFC 9110), so a change within the same second is still seen.
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str, modified: SystemTime) -> bool {
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        return inm.split(',').any(|t| t.trim() == etag || t.trim() == "*");
    }
    let ims = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    ims.is_some_and(|ims| modified <= ims + std::time::Duration::from_millis(999))
}

/// A plain response with a charset, Last-Modified and ETag.
pub(crate) fn text_response(
    status: StatusCode,
    body: Vec<u8>,
    charset: &str,
    etag: &str,
    modified: SystemTime,
) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("text/plain; charset={charset}")) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(modified)) {
        h.insert(header::LAST_MODIFIED, v);
    }
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    r
}

/// robots.txt allowing everything.
pub(crate) async fn robots() -> &'static str {
    "User-agent: *\nDisallow:\n"
}

/// Where a thread is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Life {
    Open,
    Full,
    Dropped,
}

struct Thread {
    key: u64,
    slot: usize,
    title: String,
    lines: Vec<String>,
    dat: Vec<u8>,
    modified: SystemTime,
    version: u64,
    life: Life,
}

impl Thread {
    fn push(&mut self, line: String) {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&line);
        self.dat.extend_from_slice(&bytes);
        self.dat.push(b'\n');
        self.lines.push(line);
        self.touch();
    }

    fn touch(&mut self) {
        self.version += 1;
        self.modified = SystemTime::now();
    }

    fn etag(&self) -> String {
        format!("\"{}-{}\"", self.key, self.version)
    }
}

#[derive(Default)]
struct Board {
    threads: Vec<Thread>,
    current: HashMap<usize, usize>,
    parts: HashMap<usize, u32>,
    seqs: HashMap<u64, (usize, usize)>,
    next_key: u64,
    version: u64,
    modified: Option<SystemTime>,
    dat_forbidden: bool,
    log: Vec<String>,
}

/// The simulated 5ch board (`/<board>/subject.txt`, `/<board>/dat/<key>.dat`, `kako/`,
/// `/test/read.cgi/<board>/<key>/<range>`).
pub struct SimFiveCh {
    board: String,
    limit: usize,
    state: Mutex<Board>,
}

impl Default for SimFiveCh {
    fn default() -> Self {
        SimFiveCh::new("software")
    }
}

impl SimFiveCh {
    /// A board named `board` whose threads fill at 1000 posts.
    pub fn new(board: &str) -> Self {
        let next_key = u64::try_from(Utc::now().timestamp())
            .unwrap_or(1_700_000_000)
            .saturating_sub(86_400);
        SimFiveCh {
            board: board.to_string(),
            limit: 1000,
            state: Mutex::new(Board {
                next_key,
                ..Board::default()
            }),
        }
    }

    /// Threads fill at `limit` posts instead of 1000 (tests).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit.max(2);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The thread key and post number of an arrival.
    pub fn locate(&self, seq: u64) -> Option<(String, u64)> {
        let b = self.lock();
        let &(t, line) = b.seqs.get(&seq)?;
        Some((b.threads[t].key.to_string(), line as u64 + 1))
    }

    /// Key of the thread now taking posts in `slot`.
    pub fn thread_key(&self, slot: usize) -> Option<String> {
        let b = self.lock();
        b.current.get(&slot).map(|&t| b.threads[t].key.to_string())
    }

    /// Bytes of a thread's dat.
    pub fn dat_len(&self, key: &str) -> Option<usize> {
        self.lock()
            .threads
            .iter()
            .find(|t| t.key.to_string() == key)
            .map(|t| t.dat.len())
    }

    /// Sends the thread now in `slot` to dat落ち (gone from subject.txt, dat → 302 to kako);
    /// the slot's next post starts a new part. Returns its key.
    pub fn dat_ochi(&self, slot: usize) -> Option<String> {
        let mut b = self.lock();
        let t = b.current.remove(&slot)?;
        b.threads[t].life = Life::Dropped;
        b.version += 1;
        b.modified = Some(SystemTime::now());
        Some(b.threads[t].key.to_string())
    }

    /// Makes every dat answer 403 (read.cgi still works).
    pub fn set_dat_forbidden(&self, forbidden: bool) {
        self.lock().dat_forbidden = forbidden;
    }

    /// Requests served so far: `"<path> <range or -> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    fn new_thread(&self, b: &mut Board, slot: usize, at: DateTime<Utc>) -> usize {
        let part = b.parts.entry(slot).or_insert(2);
        *part += 1;
        let title = TITLES[slot % TITLES.len()].replace("{}", &part.to_string());
        let key = b.next_key;
        b.next_key += 1;
        let mut t = Thread {
            key,
            slot,
            title,
            lines: Vec::new(),
            dat: Vec::new(),
            modified: SystemTime::now(),
            version: 0,
            life: Life::Open,
        };
        let first = format!(
            "名無しさん@お腹いっぱい。<><>{} ID:Sure{slot:04}<> !extend:checked:vvvvv:1000:512 <br> {} のスレです <br> 荒らしはスルーで <br> VIPQ2_EXTDAT: checked:vvvvv:1000:512:: EXT was configured <>{}",
            board_date(at, true),
            t.title.replace('&', "&amp;"),
            t.title.replace('&', "&amp;")
        );
        t.push(first);
        b.threads.push(t);
        let idx = b.threads.len() - 1;
        b.current.insert(slot, idx);
        idx
    }

    fn log(&self, b: &mut Board, path: String, headers: &HeaderMap, status: StatusCode) {
        let range = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        b.log.push(format!("{path} {range} {}", status.as_u16()));
    }

    fn subject(&self, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let modified = b.modified.unwrap_or(SystemTime::UNIX_EPOCH);
        let etag = format!("\"s{}\"", b.version);
        let path = format!("/{}/subject.txt", self.board);
        if not_modified(headers, &etag, modified) {
            self.log(&mut b, path, headers, StatusCode::NOT_MODIFIED);
            return text_response(
                StatusCode::NOT_MODIFIED,
                Vec::new(),
                "Shift_JIS",
                &etag,
                modified,
            );
        }
        let mut listed: Vec<&Thread> = b
            .threads
            .iter()
            .filter(|t| t.life != Life::Dropped)
            .collect();
        listed.sort_by(|x, y| y.modified.cmp(&x.modified).then(y.key.cmp(&x.key)));
        let mut text = String::from("9245000000.dat<>★5ちゃんねるからのお知らせ (1)\n");
        for t in listed {
            text.push_str(&format!(
                "{}.dat<>{} ({})\n",
                t.key,
                t.title.replace('&', "&amp;"),
                t.lines.len()
            ));
        }
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let body = bytes.into_owned();
        self.log(&mut b, path, headers, StatusCode::OK);
        text_response(StatusCode::OK, body, "Shift_JIS", &etag, modified)
    }

    fn dat(&self, file: &str, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let path = format!("/{}/dat/{file}", self.board);
        let key = file
            .strip_suffix(".dat")
            .and_then(|k| k.parse::<u64>().ok());
        let found = key.and_then(|k| b.threads.iter().position(|t| t.key == k));
        let resp = match found {
            _ if b.dat_forbidden => (
                StatusCode::FORBIDDEN,
                "<html><body>403 Forbidden</body></html>",
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
            Some(i) if b.threads[i].life == Life::Dropped => {
                let k = b.threads[i].key.to_string();
                let loc = format!(
                    "/{}/{}",
                    self.board,
                    crate::sources::fivech::parse::kako_path(&k)
                );
                let mut r = StatusCode::FOUND.into_response();
                if let Ok(v) = HeaderValue::from_str(&loc) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            Some(i) => ranged(&b.threads[i], headers),
        };
        self.log(&mut b, path, headers, resp.status());
        resp
    }

    fn kako(&self, file: &str, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let key = file
            .strip_suffix(".dat")
            .and_then(|k| k.parse::<u64>().ok());
        let found = b
            .threads
            .iter()
            .find(|t| Some(t.key) == key && t.life == Life::Dropped);
        let resp = match found {
            Some(t) => text_response(
                StatusCode::OK,
                t.dat.clone(),
                "Shift_JIS",
                &t.etag(),
                t.modified,
            ),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
        self.log(
            &mut b,
            format!("/{}/kako/…/{file}", self.board),
            headers,
            resp.status(),
        );
        resp
    }

    fn read_cgi(&self, key: &str, range: &str, headers: &HeaderMap) -> Response {
        let mut b = self.lock();
        let path = format!("/test/read.cgi/{}/{key}/{range}", self.board);
        let Some(t) = b.threads.iter().find(|t| t.key.to_string() == key) else {
            self.log(&mut b, path, headers, StatusCode::NOT_FOUND);
            return (StatusCode::NOT_FOUND, "ERROR: スレッドが見つかりません").into_response();
        };
        let n = t.lines.len();
        let (from, to) = parse_range(range, n);
        let esc = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        };
        let mut html = format!(
            "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"Shift_JIS\"><title>{0}</title></head><body><h1 class=\"title\">{0}</h1><div class=\"thread\">\n",
            esc(&t.title)
        );
        for (i, line) in t.lines.iter().enumerate() {
            let num = i + 1;
            if num != 1 && (num < from || num > to) {
                continue;
            }
            let f: Vec<&str> = line.split("<>").collect();
            let (name, date_id, body) = (
                f.first().copied().unwrap_or(""),
                f.get(2).copied().unwrap_or(""),
                f.get(3).copied().unwrap_or(""),
            );
            let (date, uid) = date_id
                .split_once(" ID:")
                .map_or((date_id, String::new()), |(d, id)| (d, format!("ID:{id}")));
            html.push_str(&format!(
                "<div class=\"clear post\" id=\"{num}\" data-date=\"NG\" data-userid=\"{uid}\" data-id=\"{num}\"><div class=\"post-header\"><span class=\"postid\">{num}</span><span class=\"postusername\"><b>{name}</b></span><span class=\"date\">{date}</span><span class=\"uid\">{uid}</span></div><div class=\"post-content\">{body}</div></div>\n"
            ));
        }
        html.push_str("</div></body></html>\n");
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&html);
        let mut r = (StatusCode::OK, bytes.into_owned()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=Shift_JIS"),
        );
        self.log(&mut b, path, headers, StatusCode::OK);
        r
    }
}

/// `N-`, `N`, `N-M`, `lN` or empty (all) as an inclusive 1-based range over `n` posts.
fn parse_range(range: &str, n: usize) -> (usize, usize) {
    let r = range.trim_matches('/');
    if r.is_empty() {
        return (1, n);
    }
    if let Some(last) = r.strip_prefix('l').and_then(|x| x.parse::<usize>().ok()) {
        return (n.saturating_sub(last) + 1, n);
    }
    match r.split_once('-') {
        Some((a, b)) => (a.parse().unwrap_or(1), b.parse().unwrap_or(n)),
        None => r.parse().map_or((1, n), |x| (x, x)),
    }
}

/// A dat response honouring `If-None-Match` / `If-Modified-Since` and `Range: bytes=N-`.
fn ranged(t: &Thread, headers: &HeaderMap) -> Response {
    let etag = t.etag();
    if not_modified(headers, &etag, t.modified) {
        return text_response(
            StatusCode::NOT_MODIFIED,
            Vec::new(),
            "Shift_JIS",
            &etag,
            t.modified,
        );
    }
    let from = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.strip_suffix('-'))
        .and_then(|v| v.parse::<usize>().ok());
    let len = t.dat.len();
    let mut r = match from {
        None => text_response(
            StatusCode::OK,
            t.dat.clone(),
            "Shift_JIS",
            &etag,
            t.modified,
        ),
        Some(f) if f >= len => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
        Some(f) => {
            let mut r = text_response(
                StatusCode::PARTIAL_CONTENT,
                t.dat[f..].to_vec(),
                "Shift_JIS",
                &etag,
                t.modified,
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {f}-{}/{len}", len - 1)) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
    };
    r.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    r
}

impl SimSite for SimFiveCh {
    fn name(&self) -> &'static str {
        "5ch"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(robots))
            .route(
                "/{board}/subject.txt",
                get(|State(s): State<Arc<Self>>, h: HeaderMap| async move { s.subject(&h) }),
            )
            .route(
                "/{board}/dat/{file}",
                get(
                    |State(s): State<Arc<Self>>,
                     Path((_b, file)): Path<(String, String)>,
                     h: HeaderMap| async move { s.dat(&file, &h) },
                ),
            )
            .route(
                "/{board}/kako/{a}/{b}/{file}",
                get(
                    |State(s): State<Arc<Self>>,
                     Path((_x, _a, _b, file)): Path<(String, String, String, String)>,
                     h: HeaderMap| async move { s.kako(&file, &h) },
                ),
            )
            .route(
                "/test/read.cgi/{board}/{key}",
                get(
                    |State(s): State<Arc<Self>>,
                     Path((_b, key)): Path<(String, String)>,
                     h: HeaderMap| async move { s.read_cgi(&key, "", &h) },
                ),
            )
            .route(
                "/test/read.cgi/{board}/{key}/",
                get(
                    |State(s): State<Arc<Self>>,
                     Path((_b, key)): Path<(String, String)>,
                     h: HeaderMap| async move { s.read_cgi(&key, "", &h) },
                ),
            )
            .route(
                "/test/read.cgi/{board}/{key}/{range}",
                get(
                    |State(s): State<Arc<Self>>,
                     Path((_b, key, range)): Path<(String, String, String)>,
                     h: HeaderMap| async move { s.read_cgi(&key, &range, &h) },
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
        let key = b.threads[idx].key;
        let num = b.threads[idx].lines.len() + 1;
        let mail = if post.seq.is_multiple_of(3) {
            "sage"
        } else {
            ""
        };
        let body = body_html(
            &post.text,
            &format!("../test/read.cgi/{}/{key}", self.board),
        );
        let name = post
            .author
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        b.threads[idx].push(format!(
            "{name}<>{mail}<>{} ID:{}<>{body}<>",
            board_date(post.at, true),
            post.author_id
        ));
        b.seqs.insert(post.seq, (idx, num - 1));
        if b.threads[idx].lines.len() >= self.limit {
            b.threads[idx].life = Life::Full;
            let over = format!("Over {} Thread", self.limit);
            b.threads[idx].push(format!("１００１<><>{over}<> このスレッドは{}を超えました。 <br> 新しいスレッドを立ててください。 <>", self.limit));
        }
        // A full thread drops once its successor in the same slot has 10 posts.
        if b.threads[idx].life == Life::Open && b.threads[idx].lines.len() >= 10 {
            for t in b
                .threads
                .iter_mut()
                .filter(|t| t.slot == slot && t.life == Life::Full)
            {
                t.life = Life::Dropped;
            }
        }
        b.version += 1;
        b.modified = Some(SystemTime::now());
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut b = self.lock();
        let Some(&(t, line)) = b.seqs.get(&seq) else {
            return false;
        };
        let th = &mut b.threads[t];
        th.lines[line] = "あぼーん<>あぼーん<>あぼーん<>あぼーん<>".to_string();
        let mut dat = Vec::new();
        for l in &th.lines {
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(l);
            dat.extend_from_slice(&bytes);
            dat.push(b'\n');
        }
        th.dat = dat;
        th.touch();
        true
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/{}/", self.board)
    }

    fn source_kind(&self) -> &'static str {
        "5ch"
    }
}
