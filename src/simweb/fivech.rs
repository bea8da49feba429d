//! A simulated 5ch board: `subject.txt` and dats in cp932 in the real line formats, with
//! `Range` (206 / 416), `If-None-Match` / `If-Modified-Since` (304), `Last-Modified` and `ETag`;
//! read.cgi HTML in the current `div.post` / `.post-content` layout; threads that fill up at
//! the post limit (an `Over 1000 Thread` line) and are replaced by the next part; full threads
//! that go dat落ち (302 to their `kako/` copy) once the next part has 10 posts; deletions that
//! turn a line into `あぼーん<>あぼーん<>…` so the dat shrinks. Also a few helpers shared with
//! the したらば board (dates, bodies, conditional GET).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Datelike, Timelike, Utc};

use super::sitekit::{BoardState, BoardThread, Life, board_mail, board_name, thread_routes};
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

/// A thread's dat: its lines, their cp932 bytes and a version for its ETag.
#[derive(Default)]
struct Dat {
    lines: Vec<String>,
    dat: Vec<u8>,
    version: u64,
}

impl Dat {
    fn push(&mut self, line: String) {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&line);
        self.dat.extend_from_slice(&bytes);
        self.dat.push(b'\n');
        self.lines.push(line);
        self.version += 1;
    }
}

type Thread = BoardThread<Dat>;
type Board = BoardState<Dat>;

impl Thread {
    fn push(&mut self, line: String) {
        self.data.push(line);
        self.modified = SystemTime::now();
    }

    fn touch(&mut self) {
        self.data.version += 1;
        self.modified = SystemTime::now();
    }

    fn etag(&self) -> String {
        format!("\"{}-{}\"", self.key, self.data.version)
    }
}

/// The simulated 5ch board (`/<board>/subject.txt`, `/<board>/dat/<key>.dat`, `kako/`,
/// `/test/read.cgi/<board>/<key>/<range>`).
pub struct SimFiveCh {
    board: String,
    limit: usize,
    dat_forbidden: AtomicBool,
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
        SimFiveCh {
            board: board.to_string(),
            limit: 1000,
            dat_forbidden: AtomicBool::new(false),
            state: Mutex::new(Board::new(86_400)),
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
        self.lock().locate(seq)
    }

    /// Key of the thread now taking posts in `slot`.
    pub fn thread_key(&self, slot: usize) -> Option<String> {
        self.lock().thread_key(slot)
    }

    /// Bytes of a thread's dat.
    pub fn dat_len(&self, key: &str) -> Option<usize> {
        self.lock()
            .threads
            .iter()
            .find(|t| t.key.to_string() == key)
            .map(|t| t.data.dat.len())
    }

    /// Sends the thread now in `slot` to dat落ち (gone from subject.txt, dat → 302 to kako);
    /// the slot's next post starts a new part. Returns its key.
    pub fn dat_ochi(&self, slot: usize) -> Option<String> {
        self.lock().retire(slot)
    }

    /// Makes every dat answer 403 (read.cgi still works).
    pub fn set_dat_forbidden(&self, forbidden: bool) {
        self.dat_forbidden.store(forbidden, Ordering::SeqCst);
    }

    /// Requests served so far: `"<path> <range or -> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// The first line of a new thread in `slot`.
    fn first_line(slot: usize, title: &str, at: DateTime<Utc>) -> String {
        format!(
            "名無しさん@お腹いっぱい。<><>{} ID:Sure{slot:04}<> !extend:checked:vvvvv:1000:512 <br> {} のスレです <br> 荒らしはスルーで <br> VIPQ2_EXTDAT: checked:vvvvv:1000:512:: EXT was configured <>{}",
            board_date(at, true),
            title.replace('&', "&amp;"),
            title.replace('&', "&amp;")
        )
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
        let (etag, modified) = b.subject_validators();
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
        let mut text = String::from("9245000000.dat<>★5ちゃんねるからのお知らせ (1)\n");
        for t in b.listed() {
            text.push_str(&format!(
                "{}.dat<>{} ({})\n",
                t.key,
                t.title.replace('&', "&amp;"),
                t.data.lines.len()
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
            _ if self.dat_forbidden.load(Ordering::SeqCst) => (
                StatusCode::FORBIDDEN,
                "<html><body>403 Forbidden</body></html>",
            )
                .into_response(),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
            Some(i) if b.threads[i].life == Life::Gone => {
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
            .find(|t| Some(t.key) == key && t.life == Life::Gone);
        let resp = match found {
            Some(t) => text_response(
                StatusCode::OK,
                t.data.dat.clone(),
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
        let n = t.data.lines.len();
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
        for (i, line) in t.data.lines.iter().enumerate() {
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
    let len = t.data.dat.len();
    let mut r = match from {
        None => text_response(
            StatusCode::OK,
            t.data.dat.clone(),
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
                t.data.dat[f..].to_vec(),
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
        let router = Router::new()
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
            );
        thread_routes(
            router,
            "/test/read.cgi/{board}/{key}",
            |s, key, range, h| s.read_cgi(key, range, h),
        )
        .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let mut b = self.lock();
        let slot = post.thread;
        let idx = b.open_thread(slot, 0, |title| {
            let mut dat = Dat::default();
            dat.push(Self::first_line(slot, title, post.at));
            dat
        });
        let key = b.threads[idx].key;
        let num = b.threads[idx].data.lines.len() + 1;
        let body = body_html(
            &post.text,
            &format!("../test/read.cgi/{}/{key}", self.board),
        );
        let t = &mut b.threads[idx];
        t.push(format!(
            "{}<>{}<>{} ID:{}<>{body}<>",
            board_name(&post.author),
            board_mail(post.seq),
            board_date(post.at, true),
            post.author_id
        ));
        if t.data.lines.len() >= self.limit {
            t.life = Life::Full;
            let over = format!("Over {} Thread", self.limit);
            t.push(format!("１００１<><>{over}<> このスレッドは{}を超えました。 <br> 新しいスレッドを立ててください。 <>", self.limit));
        }
        // A full thread drops once its successor in the same slot has 10 posts.
        let len = t.data.lines.len();
        b.posted(post.seq, idx, num as u64, len);
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut b = self.lock();
        let Some((t, n)) = b.seq(seq) else {
            return false;
        };
        let th = &mut b.threads[t];
        th.data.lines[n as usize - 1] = "あぼーん<>あぼーん<>あぼーん<>あぼーん<>".to_string();
        let mut dat = Vec::new();
        for l in &th.data.lines {
            let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(l);
            dat.extend_from_slice(&bytes);
            dat.push(b'\n');
        }
        th.data.dat = dat;
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
