//! The generic `html` source: 爆サイ-style boards, review sites (食べログ, みん評, エン評判) and
//! matome pages, read with CSS selectors from the config or from a named preset
//! (`data/sites/presets.toml`).
//!
//! Pages are assumed newest first. A poll reads page 1 (a conditional GET: 304 = nothing new),
//! then follows the `next` link while a page holds no item seen before, up to `max_pages`.
//! The cursor keeps the ids of the most recent items (not just the last one), so a deleted
//! or pinned item does not make the source page through the whole board on every poll.
//!
//! Parsing is a pure function of the page text ([`parse_page`]); `scraper` documents are not
//! `Send`, so they never live across an `.await`.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use serde_json::json;
use url::Url;

use crate::config::SourceConfig;
use crate::fetch::{FetchRequest, Validators};
use crate::model::Post;
use crate::sources::web::{self, Settings};
use crate::sources::{
    Capture, CursorUpdate, PollContext, PollOutput, Source, SourceError, source_id,
};

/// The presets shipped in `data/sites/presets.toml`, by name.
static PRESETS: LazyLock<BTreeMap<String, toml::Table>> = LazyLock::new(|| {
    let text = include_str!("../../data/sites/presets.toml");
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => t
            .into_iter()
            .filter_map(|(k, v)| v.as_table().cloned().map(|t| (k, t)))
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "data/sites/presets.toml does not parse");
            BTreeMap::new()
        }
    }
});

/// Keys of a preset that describe it rather than configure the source.
const PRESET_META: &[&str] = &["description", "hosts", "verified"];
/// Settings this kind reads.
const KNOWN: &[&str] = &[
    "preset",
    "item",
    "id",
    "id_pattern",
    "author",
    "author_id",
    "date",
    "date_format",
    "body",
    "link",
    "next",
    "title",
    "item_title",
    "item_thread",
    "encoding",
    "max_pages",
    "max_seen",
];
/// Cursor key of the item-id list.
const CURSOR: &str = "page";

/// Names of the shipped presets.
pub fn preset_names() -> Vec<String> {
    PRESETS.keys().cloned().collect()
}

/// "selector@attribute": where one value of an item is read.
#[derive(Debug)]
pub struct Field {
    /// Selector relative to the item; `None` = the item (or page) itself.
    pub selector: Option<Selector>,
    /// Attribute to read; `None` = the element's text.
    pub attr: Option<String>,
}

impl Field {
    fn parse(
        settings: &Settings<'_>,
        name: &str,
        spec: &str,
        default_attr: Option<&str>,
    ) -> Result<Field, SourceError> {
        let (sel, attr) = match spec.rsplit_once('@') {
            Some((s, a))
                if !a.is_empty()
                    && a.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == ':') =>
            {
                (s.trim(), Some(a.to_string()))
            }
            _ => (spec.trim(), default_attr.map(str::to_string)),
        };
        let selector =
            if sel.is_empty() {
                None
            } else {
                Some(Selector::parse(sel).map_err(|e| {
                    settings.error(name, format!("bad CSS selector \"{sel}\": {e}"))
                })?)
            };
        Ok(Field { selector, attr })
    }

    /// The first matching element under `scope` (or `scope` itself).
    fn element<'a>(&self, scope: ElementRef<'a>) -> Option<ElementRef<'a>> {
        match &self.selector {
            None => Some(scope),
            Some(s) => scope.select(s).next(),
        }
    }

    /// The value (attribute or text) read from under `scope`.
    fn value(&self, scope: ElementRef<'_>) -> Option<String> {
        let el = self.element(scope)?;
        let v = match &self.attr {
            Some(a) => el.value().attr(a)?.trim().to_string(),
            None => web::element_text(el),
        };
        (!v.is_empty()).then_some(v)
    }
}

/// The selectors of one `html` source, validated.
#[derive(Debug)]
pub struct Selectors {
    /// One item (post, review).
    pub item: Selector,
    /// Item id; absent = derived from the permalink.
    pub id: Option<Field>,
    /// Regex applied to the id (first capture group).
    pub id_pattern: Option<Regex>,
    /// Poster name.
    pub author: Option<Field>,
    /// Poster id or trip.
    pub author_id: Option<Field>,
    /// Posted-at.
    pub date: Option<Field>,
    /// Format of `date` (chrono syntax, JST); `None` = common formats.
    pub date_format: Option<String>,
    /// Body.
    pub body: Field,
    /// Permalink.
    pub link: Option<Field>,
    /// Next-page link (page level).
    pub next: Option<Field>,
    /// Thread/page title (page level); `None` = `<title>`.
    pub title: Option<Field>,
    /// Per-item title, put before the body.
    pub item_title: Option<Field>,
    /// Per-item thread title (the shop of a review in a "new reviews" list); overrides `title`.
    pub item_thread: Option<Field>,
}

impl Selectors {
    /// Reads and validates the selectors from settings (preset already overlaid).
    pub fn from_settings(s: &Settings<'_>) -> Result<Selectors, SourceError> {
        let opt = |name: &str, default_attr: Option<&str>| -> Result<Option<Field>, SourceError> {
            s.str(name)?
                .map(|spec| Field::parse(s, name, &spec, default_attr))
                .transpose()
        };
        let item_spec = s.str("item")?.ok_or_else(|| {
            s.error(
                "item",
                format!(
                    "missing (name a preset with preset = \"…\", one of: {}; or set the selectors)",
                    preset_names().join(", ")
                ),
            )
        })?;
        let item = Selector::parse(&item_spec)
            .map_err(|e| s.error("item", format!("bad CSS selector \"{item_spec}\": {e}")))?;
        let body = opt("body", None)?
            .ok_or_else(|| s.error("body", "missing (the selector of an item's text)"))?;
        let id_pattern = match s.str("id_pattern")? {
            Some(p) => {
                Some(Regex::new(&p).map_err(|e| s.error("id_pattern", format!("bad regex: {e}")))?)
            }
            None => None,
        };
        let sel = Selectors {
            item,
            id: opt("id", None)?,
            id_pattern,
            author: opt("author", None)?,
            author_id: opt("author_id", None)?,
            date: opt("date", None)?,
            date_format: s.str("date_format")?,
            body,
            link: opt("link", Some("href"))?,
            next: opt("next", Some("href"))?,
            title: opt("title", None)?,
            item_title: opt("item_title", None)?,
            item_thread: opt("item_thread", None)?,
        };
        if sel.id.is_none() && sel.link.is_none() {
            return Err(s.error(
                "id",
                "missing: set id, or link so the id can be derived from the permalink",
            ));
        }
        Ok(sel)
    }
}

/// One item parsed from a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its id (unique on the host).
    pub id: String,
    /// Permalink, resolved against the page URL.
    pub link: Option<Url>,
    /// Poster name.
    pub author: Option<String>,
    /// Poster id.
    pub author_id: Option<String>,
    /// Date as written.
    pub date_raw: Option<String>,
    /// Date parsed (JST).
    pub posted_at: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Item title (review title), if any.
    pub title: Option<String>,
    /// The item's own thread title (its shop), if the page says.
    pub thread: Option<String>,
    /// Body text.
    pub body: String,
    /// Body HTML.
    pub body_html: String,
}

/// A parsed page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Page title (shop, thread).
    pub title: Option<String>,
    /// Items in page order (newest first).
    pub items: Vec<Item>,
    /// The next page.
    pub next: Option<Url>,
    /// Elements matching `item` that had no id or no body.
    pub skipped: usize,
}

/// The id derived from a permalink: its path (and query, fragment) without the outer slashes.
fn id_from_link(link: &Url) -> String {
    let mut id = link.path().trim_matches('/').to_string();
    if let Some(q) = link.query() {
        id.push('?');
        id.push_str(q);
    }
    if let Some(f) = link.fragment() {
        id.push('#');
        id.push_str(f);
    }
    id
}

/// Parses one page with the selectors; `page_url` resolves relative links.
pub fn parse_page(html: &str, page_url: &Url, sel: &Selectors) -> Page {
    let doc = Html::parse_document(html);
    let root = doc.root_element();
    let title = match &sel.title {
        Some(f) => f.value(root),
        None => Selector::parse("title")
            .ok()
            .and_then(|s| root.select(&s).next())
            .map(web::element_text),
    }
    .filter(|t| !t.is_empty());
    let next = sel
        .next
        .as_ref()
        .and_then(|f| f.value(root))
        .and_then(|href| page_url.join(&href).ok())
        .filter(|u| u != page_url);
    let mut page = Page {
        title,
        next,
        ..Page::default()
    };
    for el in root.select(&sel.item) {
        let link = sel
            .link
            .as_ref()
            .and_then(|f| f.value(el))
            .and_then(|href| page_url.join(&href).ok());
        let raw_id = match &sel.id {
            Some(f) => f.value(el),
            None => link.as_ref().map(id_from_link),
        };
        let id = raw_id.and_then(|raw| match &sel.id_pattern {
            None => Some(raw),
            Some(re) => re
                .captures(&raw)
                .and_then(|c| c.get(1).or_else(|| c.get(0)))
                .map(|m| m.as_str().to_string()),
        });
        let body_el = sel.body.element(el);
        let (Some(id), Some(body_el)) = (id.filter(|i| !i.is_empty()), body_el) else {
            page.skipped += 1;
            continue;
        };
        let body_text = match &sel.body.attr {
            Some(a) => body_el.value().attr(a).unwrap_or("").trim().to_string(),
            None => web::element_text(body_el),
        };
        let item_title = sel.item_title.as_ref().and_then(|f| f.value(el));
        let body = match &item_title {
            Some(t) if !body_text.starts_with(t.as_str()) => format!("{t}\n{body_text}"),
            _ => body_text,
        };
        let date_raw = sel.date.as_ref().and_then(|f| f.value(el));
        let posted_at = date_raw
            .as_deref()
            .and_then(|d| web::parse_jst_date(d, sel.date_format.as_deref()));
        page.items.push(Item {
            id,
            link,
            author: sel.author.as_ref().and_then(|f| f.value(el)),
            author_id: sel.author_id.as_ref().and_then(|f| f.value(el)),
            date_raw,
            posted_at,
            title: item_title,
            thread: sel.item_thread.as_ref().and_then(|f| f.value(el)),
            body,
            body_html: body_el.inner_html().trim().to_string(),
        });
    }
    page
}

/// A configured `html` source.
pub struct HtmlSource {
    id: String,
    every: Duration,
    url: Url,
    selectors: Selectors,
    max_pages: usize,
    max_seen: usize,
    encoding: &'static encoding_rs::Encoding,
}

impl HtmlSource {
    /// Builds the source: resolves the preset (by name or by the url's host), validates every
    /// selector and setting.
    pub fn new(cfg: &SourceConfig) -> Result<Self, SourceError> {
        let own = Settings::new(cfg);
        own.reject_unknown(KNOWN)?;
        let url = own.url()?;
        let preset = match own.str("preset")? {
            Some(name) => Some(PRESETS.get(&name).ok_or_else(|| {
                own.error(
                    "preset",
                    format!(
                        "unknown preset \"{name}\" (one of: {})",
                        preset_names().join(", ")
                    ),
                )
            })?),
            None if cfg.table.contains_key("item") => None,
            None => {
                let host = url.host_str().unwrap_or("");
                PRESETS.values().find(|p| {
                    p.get("hosts")
                        .and_then(|h| h.as_array())
                        .is_some_and(|hs| hs.iter().any(|h| h.as_str() == Some(host)))
                })
            }
        };
        let mut base = preset.cloned().unwrap_or_default();
        base.retain(|k, _| !PRESET_META.contains(&k));
        let s = Settings::with_base(cfg, &base);
        let selectors = Selectors::from_settings(&s)?;
        let encoding = match s.str("encoding")? {
            None => encoding_rs::UTF_8,
            Some(label) => {
                encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                    s.error(
                        "encoding",
                        format!("unknown charset \"{label}\" (e.g. utf-8, shift_jis, euc-jp)"),
                    )
                })?
            }
        };
        Ok(HtmlSource {
            id: source_id(cfg),
            every: cfg.every,
            url,
            selectors,
            max_pages: s.int("max_pages", 3, 1, 100)? as usize,
            max_seen: s.int("max_seen", 500, 10, 100_000)? as usize,
            encoding,
        })
    }

    fn post(&self, item: &Item, page: &Page, page_url: &Url, ctx: &PollContext<'_>) -> Post {
        let url = item
            .link
            .clone()
            .map_or_else(|| format!("{page_url}#{}", item.id), |u| u.to_string());
        Post {
            key: format!("html:{}/{}", web::host_key(&self.url), item.id),
            source_kind: "html".to_string(),
            source_id: self.id.clone(),
            source_url: page_url.to_string(),
            url,
            thread_title: item.thread.clone().or_else(|| page.title.clone()),
            number: None,
            author_name: item.author.clone(),
            author_id: item.author_id.clone(),
            posted_at_raw: item.date_raw.clone(),
            posted_at: item.posted_at,
            body: item.body.clone(),
            body_html: Some(item.body_html.clone()),
            fetched_at: ctx.now,
        }
    }
}

#[async_trait::async_trait]
impl Source for HtmlSource {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> &'static str {
        "html"
    }

    fn every(&self) -> Duration {
        self.every
    }

    async fn poll(&self, ctx: &PollContext<'_>) -> Result<PollOutput, SourceError> {
        let cursor = ctx.cursors.get(CURSOR);
        let old_seen = web::cursor_list(cursor, "seen");
        let seen: HashSet<&str> = old_seen.iter().map(String::as_str).collect();
        let old_validators = Validators {
            etag: web::cursor_str(cursor, "etag"),
            last_modified: web::cursor_str(cursor, "last_modified"),
        };
        let mut out = PollOutput::default();
        let mut new_ids: Vec<String> = Vec::new();
        let mut this_poll: HashSet<String> = HashSet::new();
        let mut visited: HashSet<Url> = HashSet::new();
        let mut validators = old_validators.clone();
        let mut page_url = self.url.clone();
        for page_no in 1..=self.max_pages {
            visited.insert(page_url.clone());
            let mut req = FetchRequest::get(page_url.clone()).with_encoding(self.encoding);
            if page_no == 1 {
                req = req.with_validators(old_validators.clone());
            }
            let resp = ctx.fetcher.fetch(req).await?;
            out.requests += 1;
            out.bytes += resp.body.len() as u64;
            if page_no == 1 && resp.status == 304 {
                return Ok(out);
            }
            if resp.status != 200 {
                if page_no == 1 {
                    return Err(web::status_error(&resp));
                }
                out.notes
                    .push(format!("{page_url}: HTTP {}; paging stopped", resp.status));
                break;
            }
            if page_no == 1 {
                validators = resp.validators();
            }
            let decoded = resp.text();
            if decoded.replaced > 0 {
                out.notes.push(format!(
                    "{page_url}: {} undecodable byte sequences replaced",
                    decoded.replaced
                ));
            }
            let page = parse_page(&decoded.text, &page_url, &self.selectors);
            if page.items.is_empty() && page_no == 1 {
                let note =
                    format!("{page_url}: item selector matched nothing (has the layout changed?)");
                out.parsed_nothing = Some(note.clone());
                out.notes.push(note);
            }
            if page.skipped > 0 {
                out.notes.push(format!(
                    "{page_url}: {} items without an id or body skipped",
                    page.skipped
                ));
            }
            let mut reached_seen = false;
            let mut keys = Vec::new();
            for item in &page.items {
                if seen.contains(item.id.as_str()) {
                    reached_seen = true;
                    continue;
                }
                if !this_poll.insert(item.id.clone()) {
                    continue;
                }
                let post = self.post(item, &page, &page_url, ctx);
                keys.push(post.key.clone());
                out.posts.push(post);
                new_ids.push(item.id.clone());
            }
            if !keys.is_empty() {
                out.captures.push(Capture {
                    response: resp,
                    post_keys: keys,
                });
            }
            match page.next {
                Some(next) if !reached_seen && !visited.contains(&next) => page_url = next,
                _ => break,
            }
        }
        if !new_ids.is_empty() || validators != old_validators {
            let seen = web::merge_seen(&new_ids, &old_seen, self.max_seen);
            out.cursor_updates.push(CursorUpdate {
                key: CURSOR.to_string(),
                value: Some(json!({"seen": seen, "etag": validators.etag, "last_modified": validators.last_modified})),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "html_tests.rs"]
mod tests;
