//! A simulated search-suggest endpoint. Suggestions for a watched name grow as posts about it
//! arrive: a risky post adds "name 詐欺"-style suggestions, a benign one "name 評判"-style.
//! Served in each engine's format: Google `client=firefox` (`/complete/search`, the source
//! URL), Bing osjson (`/osjson.aspx`), DuckDuckGo (`/ac/`) and Brave (`/api/suggest`).
//! [`SuggestMode`] makes it answer an empty body or an HTML block page, as real engines do
//! when they throttle.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::json;

use super::sitekit::{RequestLog, path_query, robots, text, watched_names};
use super::{SimPost, SimSite};
use crate::config::Watchlist;

/// Words a risky post adds after a name.
const RISKY: &[&str] = &[
    "詐欺",
    "やばい",
    "倒産",
    "ブラック",
    "逮捕",
    "食中毒",
    "パワハラ",
    "炎上",
];
/// Words a benign post adds after a name.
const BENIGN: &[&str] = &[
    "評判",
    "口コミ",
    "求人",
    "営業時間",
    "アクセス",
    "年収",
    "ランチ",
];
/// Suggestions returned per query.
const MAX_ANSWER: usize = 10;

/// How the endpoint answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuggestMode {
    /// Suggestions in the engine's format.
    Normal,
    /// A 200 with an empty body.
    Empty,
    /// A 200 with an HTML "unusual traffic" page.
    Blocked,
}

struct Book {
    /// Suggestions in the order they appeared.
    suggestions: Vec<String>,
    mode: SuggestMode,
}

/// The simulated suggest endpoint.
pub struct SimSuggest {
    names: Vec<String>,
    state: Mutex<Book>,
    log: RequestLog,
}

impl SimSuggest {
    /// An endpoint that knows the watchlist's names (and seeds 評判 / 口コミ for each).
    pub fn new(watchlist: &Watchlist) -> Self {
        let names = watched_names(watchlist);
        let suggestions = names
            .iter()
            .flat_map(|n| [format!("{n} 評判"), format!("{n} 口コミ")])
            .collect();
        SimSuggest {
            names,
            state: Mutex::new(Book {
                suggestions,
                mode: SuggestMode::Normal,
            }),
            log: RequestLog::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds one suggestion (tests).
    pub fn add_suggestion(&self, s: &str) {
        let mut st = self.lock();
        if !st.suggestions.iter().any(|x| x == s) {
            st.suggestions.push(s.to_string());
        }
    }

    /// Sets how the endpoint answers.
    pub fn set_mode(&self, mode: SuggestMode) {
        self.lock().mode = mode;
    }

    /// Requests served so far: `"<path?query> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.log.entries()
    }

    /// The suggestions for a query: those starting with it, the newest last, at most 10.
    pub fn answer(&self, q: &str) -> Vec<String> {
        let q = q.split_whitespace().collect::<Vec<_>>().join(" ");
        let st = self.lock();
        let hits: Vec<String> = st
            .suggestions
            .iter()
            .filter(|s| s.starts_with(&q) && **s != q)
            .cloned()
            .collect();
        let skip = hits.len().saturating_sub(MAX_ANSWER);
        hits.into_iter().skip(skip).collect()
    }

    fn respond(&self, engine: &str, q: Option<&String>, path: &str) -> Response {
        let mode = self.lock().mode;
        self.log.record(path, 200);
        match mode {
            SuggestMode::Empty => return text("text/javascript; charset=UTF-8", String::new()),
            SuggestMode::Blocked => {
                return text(
                    "text/html; charset=UTF-8",
                    "<html><head><title>Sorry...</title></head><body>Our systems have detected unusual traffic from your computer network.</body></html>".to_string(),
                );
            }
            SuggestMode::Normal => {}
        }
        let q = q.cloned().unwrap_or_default();
        let list = self.answer(&q);
        let body = match engine {
            "google" => {
                let types: Vec<serde_json::Value> = list.iter().map(|_| json!([512])).collect();
                json!([q, list, [], {"google:suggestsubtypes": types}])
            }
            "duckduckgo" => json!(
                list.iter()
                    .map(|s| json!({"phrase": s}))
                    .collect::<Vec<_>>()
            ),
            _ => json!([q, list]),
        };
        let ct = if engine == "google" {
            "text/javascript; charset=UTF-8"
        } else {
            "application/json; charset=utf-8"
        };
        text(ct, body.to_string())
    }
}

type Params = Query<HashMap<String, String>>;

async fn google(
    State(s): State<Arc<SimSuggest>>,
    OriginalUri(uri): OriginalUri,
    Query(q): Params,
) -> Response {
    s.respond("google", q.get("q"), &path_query(&uri))
}

async fn bing(
    State(s): State<Arc<SimSuggest>>,
    OriginalUri(uri): OriginalUri,
    Query(q): Params,
) -> Response {
    s.respond("bing", q.get("query"), &path_query(&uri))
}

async fn duckduckgo(
    State(s): State<Arc<SimSuggest>>,
    OriginalUri(uri): OriginalUri,
    Query(q): Params,
) -> Response {
    s.respond("duckduckgo", q.get("q"), &path_query(&uri))
}

async fn brave(
    State(s): State<Arc<SimSuggest>>,
    OriginalUri(uri): OriginalUri,
    Query(q): Params,
) -> Response {
    s.respond("brave", q.get("q"), &path_query(&uri))
}

impl SimSite for SimSuggest {
    fn name(&self) -> &'static str {
        "suggest"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(|| async { robots() }))
            .route("/complete/search", get(google))
            .route("/osjson.aspx", get(bing))
            .route("/ac/", get(duckduckgo))
            .route("/api/suggest", get(brave))
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let Some(name) = self.names.iter().find(|n| post.text.contains(n.as_str())) else {
            return;
        };
        let words = if post.risky { RISKY } else { BENIGN };
        let word = words
            .iter()
            .find(|w| post.text.contains(*w))
            .copied()
            .unwrap_or(words[post.seq as usize % words.len()]);
        self.add_suggestion(&format!("{name} {word}"));
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/complete/search")
    }

    fn source_kind(&self) -> &'static str {
        "suggest"
    }
}
