//! The `suggest` source: what a search engine suggests after a watched name (さくら食品 詐欺…).
//!
//! Queries are each target name alone, the name + each suffix of `data/suggest/suffixes.toml`
//! (評判, 口コミ, やばい, 詐欺…) and, with `expand = true`, the name + あ…ん / a…z. At most
//! `max_queries` are asked per poll; the rest wait for later polls (a rotation pointer in the
//! cursor), so a long query list never floods the engine.
//!
//! The source does not score: every suggestion never seen before for its query is emitted as a
//! post (body = the suggestion, title = the query) and the analyzer decides whether it is
//! risky. Each query's cursor holds the day's suggestion set and every suggestion seen. An
//! empty body, a body that is not the engine's JSON, a non-200 status or a fetch error is
//! *unknown*: a note, and that query's cursor is left as it was — never "no suggestions".

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchError, FetchRequest};
use crate::model::Post;
use crate::sources::web::{self, Settings};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// Settings this kind reads.
const KNOWN: &[&str] = &[
    "engine",
    "suffixes",
    "expand",
    "max_queries",
    "use_aliases",
    "lang",
];
/// Cursor key of the rotation pointer (query cursors are `<engine>:<query>`).
const ROTATION: &str = "_rotation";
/// Suggestions remembered per query.
const MAX_SEEN: usize = 300;

/// The suffix data file.
#[derive(serde::Deserialize)]
struct SuffixFile {
    suffixes: Vec<String>,
    kana: String,
    latin: String,
}

static SUFFIXES: LazyLock<SuffixFile> = LazyLock::new(|| {
    toml::from_str(include_str!("../../data/suggest/suffixes.toml")).unwrap_or_else(|e| {
        tracing::error!(error = %e, "data/suggest/suffixes.toml does not parse");
        SuffixFile {
            suffixes: Vec::new(),
            kana: String::new(),
            latin: String::new(),
        }
    })
});

/// A suggest engine and its response format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Google `client=firefox`: `["q",["s1","s2"],…]`.
    Google,
    /// Bing OpenSearch (`osjson.aspx`): `["q",["s1",…]]`.
    Bing,
    /// DuckDuckGo `/ac/`: `[{"phrase":"…"},…]`.
    DuckDuckGo,
    /// Brave `/api/suggest`: `["q",["…"]]` (or `[{"q":"…"}]` items when rich).
    Brave,
}

impl Engine {
    /// Parses the config name.
    pub fn from_name(name: &str) -> Option<Engine> {
        match name {
            "google" => Some(Engine::Google),
            "bing" => Some(Engine::Bing),
            "duckduckgo" => Some(Engine::DuckDuckGo),
            "brave" => Some(Engine::Brave),
            _ => None,
        }
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Google => "google",
            Engine::Bing => "bing",
            Engine::DuckDuckGo => "duckduckgo",
            Engine::Brave => "brave",
        }
    }

    /// The request URL for `query` at endpoint `base`.
    pub fn request_url(self, base: &Url, query: &str, lang: &str) -> Url {
        let mut url = base.clone();
        {
            let mut q = url.query_pairs_mut();
            match self {
                Engine::Google => {
                    q.append_pair("client", "firefox")
                        .append_pair("hl", lang)
                        .append_pair("ie", "utf-8")
                        .append_pair("oe", "utf-8");
                    q.append_pair("q", query);
                }
                Engine::Bing => {
                    q.append_pair("query", query).append_pair("setlang", lang);
                }
                Engine::DuckDuckGo => {
                    q.append_pair("q", query).append_pair("kl", "jp-jp");
                }
                Engine::Brave => {
                    q.append_pair("q", query).append_pair("rich", "false");
                }
            }
        }
        url
    }
}

/// Parses an engine's response: the suggestions, or why the answer is unknown.
pub fn parse_suggestions(engine: Engine, body: &str) -> Result<Vec<String>, String> {
    let body = body.trim_start_matches('\u{feff}').trim();
    if body.is_empty() {
        return Err("empty response".to_string());
    }
    let v: Value = serde_json::from_str(body).map_err(|e| format!("not JSON ({e})"))?;
    let items: &Vec<Value> = match (engine, &v) {
        (Engine::DuckDuckGo, Value::Array(items)) if items.iter().all(Value::is_object) => items,
        (_, Value::Array(a)) if a.first().is_some_and(Value::is_string) => match a.get(1) {
            Some(Value::Array(items)) => items,
            _ => return Err("unexpected JSON shape (no suggestion list)".to_string()),
        },
        _ => return Err("unexpected JSON shape".to_string()),
    };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let s = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o
                .get("phrase")
                .or_else(|| o.get("q"))
                .and_then(Value::as_str),
            _ => None,
        };
        let Some(s) = s
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|s| !s.is_empty())
        else {
            return Err("unexpected item in the suggestion list".to_string());
        };
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Every query for these names, in a stable order.
pub fn queries(names: &[String], suffixes: &[String], expand: bool) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        out.push(name.clone());
        out.extend(suffixes.iter().map(|s| format!("{name} {s}")));
        if expand {
            out.extend(
                SUFFIXES
                    .kana
                    .chars()
                    .chain(SUFFIXES.latin.chars())
                    .map(|c| format!("{name} {c}")),
            );
        }
    }
    let mut seen = HashSet::new();
    out.retain(|q| seen.insert(q.clone()));
    out
}

/// A configured `suggest` source (url = the engine's endpoint).
pub struct SuggestSource {
    id: String,
    every: Duration,
    url: Url,
    engine: Engine,
    suffixes: Vec<String>,
    expand: bool,
    max_queries: usize,
    use_aliases: bool,
    lang: String,
}

impl SuggestSource {
    /// Builds the source.
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let s = Settings::new(cfg);
        s.reject_unknown(KNOWN)?;
        let engine_name = s.str("engine")?.unwrap_or_else(|| "google".to_string());
        let engine = Engine::from_name(&engine_name).ok_or_else(|| {
            s.error(
                "engine",
                format!(
                    "unknown engine \"{engine_name}\" (one of: google, bing, duckduckgo, brave)"
                ),
            )
        })?;
        Ok(SuggestSource {
            id: source_id(cfg),
            every: cfg.every,
            url: s.url()?,
            engine,
            suffixes: s
                .str_list("suffixes")?
                .unwrap_or_else(|| SUFFIXES.suffixes.clone()),
            expand: s.bool("expand", false)?,
            max_queries: s.int("max_queries", 20, 1, 1000)? as usize,
            use_aliases: s.bool("use_aliases", false)?,
            lang: s.str("lang")?.unwrap_or_else(|| "ja".to_string()),
        })
    }

    /// This poll's queries: `max_queries` from the rotation pointer on, and the next pointer.
    fn window(&self, ctx: &PollContext<'_>) -> (Vec<String>, Option<usize>) {
        let mut names: Vec<String> = Vec::new();
        for t in ctx.targets {
            names.extend(t.names.iter().cloned());
            if self.use_aliases {
                names.extend(t.aliases.iter().cloned());
            }
        }
        let all = queries(&names, &self.suffixes, self.expand);
        if all.len() <= self.max_queries {
            return (all, None);
        }
        let start = ctx
            .cursors
            .get(ROTATION)
            .and_then(|v| v.get("next"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
            % all.len();
        let window = (0..self.max_queries)
            .map(|i| all[(start + i) % all.len()].clone())
            .collect();
        (window, Some((start + self.max_queries) % all.len()))
    }

    fn post(&self, query: &str, suggestion: &str, url: &Url, ctx: &PollContext<'_>) -> Post {
        Post {
            key: format!("suggest:{}/{query}/{suggestion}", self.engine.name()),
            source_kind: "suggest".to_string(),
            source_id: self.id.clone(),
            source_url: url.to_string(),
            url: url.to_string(),
            thread_title: Some(query.to_string()),
            number: None,
            author_name: None,
            author_id: None,
            posted_at_raw: None,
            posted_at: Some(web::to_jst(ctx.now)),
            body: suggestion.to_string(),
            body_html: None,
            fetched_at: ctx.now,
        }
    }
}

#[async_trait::async_trait]
impl Source for SuggestSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "suggest"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let (window, next) = self.window(ctx);
        let today = web::to_jst(ctx.now).format("%Y-%m-%d").to_string();
        let mut out = PollOutput::default();
        let mut first_error: Option<FetchError> = None;
        let mut answered = 0usize;
        for query in &window {
            let url = self.engine.request_url(&self.url, query, &self.lang);
            let resp = match ctx
                .fetcher
                .fetch(FetchRequest::get(url.clone()).with_header("accept", "application/json"))
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    out.notes
                        .push(format!("suggest \"{query}\": unknown ({e})"));
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            out.requests += 1;
            out.bytes += resp.body.len() as u64;
            if resp.status != 200 {
                out.notes.push(format!(
                    "suggest \"{query}\": unknown (HTTP {})",
                    resp.status
                ));
                continue;
            }
            let suggestions = match parse_suggestions(self.engine, &resp.text().text) {
                Ok(s) => s,
                Err(why) => {
                    out.notes
                        .push(format!("suggest \"{query}\": unknown ({why})"));
                    continue;
                }
            };
            answered += 1;
            let key = format!("{}:{query}", self.engine.name());
            let cursor = ctx.cursors.get(&key);
            let old_seen = web::cursor_list(cursor, "seen");
            let old_day = web::cursor_list(cursor, "suggestions");
            let same_day = web::cursor_str(cursor, "date").as_deref() == Some(today.as_str());
            let suggestions: Vec<String> = suggestions.into_iter().filter(|s| s != query).collect();
            let new: Vec<String> = suggestions
                .iter()
                .filter(|s| !old_seen.contains(s))
                .cloned()
                .collect();
            let day_set = if same_day {
                web::merge_seen(&old_day, &suggestions, MAX_SEEN)
            } else {
                suggestions.clone()
            };
            if cursor.is_some() && new.is_empty() && same_day && day_set == old_day {
                continue;
            }
            let mut keys = Vec::new();
            for s in &new {
                let post = self.post(query, s, &url, ctx);
                keys.push(post.key.clone());
                out.posts.push(post);
            }
            if !keys.is_empty() {
                out.captures.push(Capture {
                    response: resp,
                    post_keys: keys,
                });
            }
            out.cursor_updates.push(CursorUpdate {
                key,
                value: Some(json!({"date": today, "suggestions": day_set, "seen": web::merge_seen(&new, &old_seen, MAX_SEEN)})),
            });
        }
        if answered == 0
            && out.requests == 0
            && let Some(e) = first_error
        {
            return Err(SourceError::Fetch(e));
        }
        if let Some(n) = next {
            out.cursor_updates.push(CursorUpdate {
                key: ROTATION.to_string(),
                value: Some(json!({"next": n})),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let google = r#"["さくら食品",["さくら食品 評判","さくら食品 詐欺","さくら食品 求人"],[],{"google:suggestsubtypes":[[512],[512],[512]]}]"#;
        assert_eq!(
            parse_suggestions(Engine::Google, google),
            Ok(vec![
                "さくら食品 評判".into(),
                "さくら食品 詐欺".into(),
                "さくら食品 求人".into()
            ])
        );
        let bing = r#"["小林クリニック",["小林クリニック 口コミ","小林クリニック  予約"]]"#;
        assert_eq!(
            parse_suggestions(Engine::Bing, bing),
            Ok(vec![
                "小林クリニック 口コミ".into(),
                "小林クリニック 予約".into()
            ])
        );
        let ddg = r#"[{"phrase":"田中美咲 インスタ"},{"phrase":"田中美咲 結婚"}]"#;
        assert_eq!(
            parse_suggestions(Engine::DuckDuckGo, ddg),
            Ok(vec!["田中美咲 インスタ".into(), "田中美咲 結婚".into()])
        );
        let brave = r#"["さくら食品",["さくら食品 やばい"]]"#;
        assert_eq!(
            parse_suggestions(Engine::Brave, brave),
            Ok(vec!["さくら食品 やばい".into()])
        );
        let brave_rich = r#"["さくら食品",[{"is_entity":false,"q":"さくら食品 倒産"}]]"#;
        assert_eq!(
            parse_suggestions(Engine::Brave, brave_rich),
            Ok(vec!["さくら食品 倒産".into()])
        );
        assert_eq!(parse_suggestions(Engine::Google, r#"["x",[]]"#), Ok(vec![]));
        assert_eq!(parse_suggestions(Engine::DuckDuckGo, "[]"), Ok(vec![]));
    }

    #[test]
    fn unknown_is_not_empty() {
        for body in [
            "",
            "  \n",
            "<html>blocked</html>",
            "{\"error\":1}",
            "[\"q\"]",
            "[\"q\",[1,2]]",
            "[\"q\",\"x\"]",
        ] {
            assert!(parse_suggestions(Engine::Google, body).is_err(), "{body:?}");
        }
        assert!(parse_suggestions(Engine::DuckDuckGo, "[{\"nope\":1}]").is_err());
    }

    #[test]
    fn request_urls() {
        let base = Url::parse("https://suggestqueries.google.com/complete/search").expect("url");
        let u = Engine::Google.request_url(&base, "さくら食品 詐欺", "ja");
        assert_eq!(
            u.as_str(),
            "https://suggestqueries.google.com/complete/search?client=firefox&hl=ja&ie=utf-8&oe=utf-8&q=%E3%81%95%E3%81%8F%E3%82%89%E9%A3%9F%E5%93%81+%E8%A9%90%E6%AC%BA"
        );
        let base = Url::parse("https://www.bing.com/osjson.aspx").expect("url");
        assert!(
            Engine::Bing
                .request_url(&base, "a", "ja")
                .as_str()
                .ends_with("osjson.aspx?query=a&setlang=ja")
        );
        let base = Url::parse("https://duckduckgo.com/ac/").expect("url");
        assert!(
            Engine::DuckDuckGo
                .request_url(&base, "a", "ja")
                .as_str()
                .ends_with("/ac/?q=a&kl=jp-jp")
        );
    }

    #[test]
    fn query_list() {
        let q = queries(
            &["さくら食品".to_string()],
            &["評判".to_string(), "詐欺".to_string()],
            false,
        );
        assert_eq!(q, ["さくら食品", "さくら食品 評判", "さくら食品 詐欺"]);
        let q = queries(&["さくら食品".to_string()], &[], true);
        assert_eq!(q.len(), 1 + 46 + 26);
        assert!(SUFFIXES.suffixes.iter().any(|s| s == "詐欺"));
    }
}
