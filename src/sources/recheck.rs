//! Looking at a post again: what a re-check saw ([`Liveness`], [`Observation`]) and the checks
//! the sources share — a post's permalink ([`check_page`]) and a board post found by number in
//! its re-read thread ([`classify_board`]). Each source's [`Source::recheck`](super::Source::recheck)
//! uses them; running the checks on a schedule and keeping a change as evidence is
//! `crate::recheck`, above the store and the evidence.

use serde::{Deserialize, Serialize};

use super::SourceError;
use crate::fetch::{FetchRequest, FetchResponse, Fetcher};
use crate::model::Post;
use crate::text::normalize::{compact, fold, normalize};

/// What a re-check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Liveness {
    /// The post is there as it was.
    Up,
    /// The page is there but the post's text is not (edited, or replaced).
    Changed,
    /// The post is gone (404/410, あぼーん, removed from its thread).
    Deleted,
}

impl Liveness {
    /// The name stored and shown (`up`, `changed`, `deleted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Liveness::Up => "up",
            Liveness::Changed => "changed",
            Liveness::Deleted => "deleted",
        }
    }
}

/// One re-check's result.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The verdict.
    pub state: Liveness,
    /// What was seen, for a human (`HTTP 404`, `post 12 is あぼーん`).
    pub detail: String,
    /// The response it is based on (kept as evidence when the state changes).
    pub response: Option<FetchResponse>,
}

/// The text a post's body is recognized by on a page: normalized, folded, without spaces
/// and symbols (markup and line breaks differ between a dat and a page).
pub fn fingerprint(text: &str) -> String {
    fold(&compact(&normalize(text)).text)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// Whether `page_text` still holds the post's body.
pub fn holds_body(page_text: &str, body: &str) -> bool {
    let want = fingerprint(body);
    want.is_empty() || fingerprint(page_text).contains(&want)
}

/// The visible text of an HTML page (tags and scripts removed).
pub fn page_text(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let mut out = String::new();
    for node in doc.root_element().descendants() {
        if let Some(t) = node.value().as_text() {
            let inside_script = node
                .parent()
                .and_then(|p| p.value().as_element().map(|e| e.name()))
                .is_some_and(|n| n == "script" || n == "style");
            if !inside_script {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
    out
}

/// The default re-check: fetch the post's permalink. 404/410 → deleted; a page without the
/// post's text → changed; the text there → up; anything else is an error to retry.
pub async fn check_page(fetcher: &Fetcher, post: &Post) -> Result<Observation, SourceError> {
    let url = url::Url::parse(&post.url).map_err(|e| SourceError::Parse {
        url: post.url.clone(),
        message: format!("not a URL: {e}"),
    })?;
    let resp = fetcher.fetch(FetchRequest::get(url)).await?;
    classify_page(post, resp)
}

/// Judges a permalink response for `post` (see [`check_page`]).
pub fn classify_page(post: &Post, resp: FetchResponse) -> Result<Observation, SourceError> {
    let (state, detail) = match resp.status {
        404 | 410 => (Liveness::Deleted, format!("HTTP {}", resp.status)),
        200..=299 => {
            let text = resp.text().text;
            let looks_html = resp
                .header("content-type")
                .is_some_and(|c| c.contains("html"))
                || text.trim_start().starts_with('<');
            let visible = if looks_html { page_text(&text) } else { text };
            if holds_body(&visible, &post.body) {
                (
                    Liveness::Up,
                    format!("HTTP {}: the post's text is there", resp.status),
                )
            } else {
                (
                    Liveness::Changed,
                    format!(
                        "HTTP {}: the post's text is no longer on the page",
                        resp.status
                    ),
                )
            }
        }
        s => {
            return Err(SourceError::Parse {
                url: resp.url.to_string(),
                message: format!("HTTP {s} on re-check; trying again later"),
            });
        }
    };
    Ok(Observation {
        state,
        detail,
        response: Some(resp),
    })
}

/// Judges a board post found (or not) by number in a re-read thread.
pub fn classify_board(
    post: &Post,
    number: u64,
    found: Option<(&str, &str)>,
    resp: FetchResponse,
) -> Observation {
    let (state, detail) = match found {
        None => (
            Liveness::Deleted,
            format!("post {number} is no longer in the thread"),
        ),
        Some((name, body)) if is_abone(name) || is_abone(body) => {
            (Liveness::Deleted, format!("post {number} is あぼーん"))
        }
        Some((_, body)) if fingerprint(body) == fingerprint(&post.body) => {
            (Liveness::Up, format!("post {number} is there"))
        }
        Some(_) => (
            Liveness::Changed,
            format!("post {number} now reads differently"),
        ),
    };
    Observation {
        state,
        detail,
        response: Some(resp),
    }
}

fn is_abone(s: &str) -> bool {
    let t = s.trim();
    t == "あぼーん" || t == "削除されました" || t == "＜削除＞"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_markup_width_and_breaks() {
        assert!(holds_body(
            "<p>1 名無しさん</p>山田商事は詐欺\n 金返せ！ ＡＢＣ",
            "山田商事は詐欺 金返せ!\nABC"
        ));
        assert!(!holds_body("山田商事は良い会社", "山田商事は詐欺"));
    }

    #[test]
    fn page_text_drops_scripts() {
        let t = page_text(
            "<html><script>var x='山田商事は詐欺';</script><body><p>こんにちは</p></body></html>",
        );
        assert!(t.contains("こんにちは"));
        assert!(!t.contains("詐欺"));
    }
}
