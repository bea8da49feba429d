//! A simulated blog with feeds: `/feed/` (WordPress-style RSS 2.0, the source URL),
//! `/feed/atom/` (Atom) and `/index.rdf` (livedoor-style RSS 1.0), each with an ETag and
//! Last-Modified and a 304 for a matching conditional GET; `/archives/<n>.html` are the
//! articles. Each arrival is an article; the feeds hold the newest `feed_len`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::sitekit::{
    RequestLog, base, escape, escape_lines, not_modified, path_query, robots, text, with_validators,
};
use super::{SimPost, SimSite};

/// Categories (a post's thread picks one).
const CATEGORIES: &[&str] = &["ニュース", "口コミ", "雑談", "地域"];

#[derive(Debug, Clone)]
struct Article {
    seq: u64,
    title: String,
    text: String,
    author: String,
    category: &'static str,
    at: DateTime<Utc>,
}

struct Blog {
    articles: Vec<Article>,
    version: u64,
    modified: SystemTime,
}

/// Which feed format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Rss2,
    Atom,
    Rss1,
}

/// The simulated blog and its feeds.
pub struct SimRss {
    feed_len: usize,
    blog: Mutex<Blog>,
    log: RequestLog,
}

impl Default for SimRss {
    fn default() -> Self {
        SimRss::new(20)
    }
}

impl SimRss {
    /// A blog whose feeds hold the newest `feed_len` articles.
    pub fn new(feed_len: usize) -> Self {
        SimRss {
            feed_len: feed_len.max(1),
            blog: Mutex::new(Blog {
                articles: Vec::new(),
                version: 0,
                modified: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            }),
            log: RequestLog::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Blog> {
        self.blog.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests served so far: `"<path?query> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.log.entries()
    }

    fn feed(&self, format: Format, headers: &HeaderMap, path: &str) -> Response {
        let (articles, version, modified) = {
            let b = self.lock();
            let newest: Vec<Article> = b
                .articles
                .iter()
                .rev()
                .take(self.feed_len)
                .cloned()
                .collect();
            (newest, b.version, b.modified)
        };
        let tag = match format {
            Format::Rss2 => "rss2",
            Format::Atom => "atom",
            Format::Rss1 => "rdf",
        };
        let etag = format!("\"{tag}-{version}\"");
        if not_modified(headers, &etag, modified) {
            self.log.record(path, 304);
            return with_validators(StatusCode::NOT_MODIFIED.into_response(), &etag, modified);
        }
        let site = base(headers);
        let body = match format {
            Format::Rss2 => rss2(&site, &articles, modified),
            Format::Atom => atom(&site, &articles, modified),
            Format::Rss1 => rss1(&site, &articles),
        };
        let ct = match format {
            Format::Rss2 => "application/rss+xml; charset=UTF-8",
            Format::Atom => "application/atom+xml; charset=UTF-8",
            Format::Rss1 => "application/rdf+xml; charset=UTF-8",
        };
        self.log.record(path, 200);
        with_validators(text(ct, body), &etag, modified)
    }
}

fn link(site: &str, a: &Article) -> String {
    format!("{site}/archives/{}.html", a.seq)
}

fn html_body(a: &Article) -> String {
    a.text
        .lines()
        .map(|l| format!("<p>{}</p>", escape(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn cdata(s: &str) -> String {
    format!("<![CDATA[{}]]>", s.replace("]]>", "]]]]><![CDATA[>"))
}

fn rss2(site: &str, articles: &[Article], modified: SystemTime) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"\n\txmlns:content=\"http://purl.org/rss/1.0/modules/content/\"\n\txmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n\txmlns:atom=\"http://www.w3.org/2005/Atom\"\n\t>\n<channel>\n\t<title>地域の口コミ速報</title>\n\t<atom:link href=\"{site}/feed/\" rel=\"self\" type=\"application/rss+xml\" />\n\t<link>{site}</link>\n\t<description>口コミとニュースのまとめ</description>\n\t<lastBuildDate>{}</lastBuildDate>\n\t<language>ja</language>\n\t<generator>https://wordpress.org/?v=6.5.3</generator>\n",
        httpdate::fmt_http_date(modified).replace("GMT", "+0000")
    );
    for a in articles {
        x.push_str(&format!(
            "\t<item>\n\t\t<title>{}</title>\n\t\t<link>{}</link>\n\t\t<dc:creator>{}</dc:creator>\n\t\t<pubDate>{}</pubDate>\n\t\t<category>{}</category>\n\t\t<guid isPermaLink=\"false\">{site}/?p={}</guid>\n\t\t<description>{}</description>\n\t\t<content:encoded>{}</content:encoded>\n\t</item>\n",
            escape(&a.title),
            link(site, a),
            cdata(&a.author),
            a.at.format("%a, %d %b %Y %H:%M:%S +0000"),
            cdata(a.category),
            a.seq,
            cdata(&format!("{} [&#8230;]", escape(&a.title))),
            cdata(&html_body(a)),
        ));
    }
    x.push_str("</channel>\n</rss>\n");
    x
}

fn atom(site: &str, articles: &[Article], modified: SystemTime) -> String {
    let updated: DateTime<Utc> = modified.into();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"ja\">\n  <title>地域の口コミ速報</title>\n  <link rel=\"alternate\" type=\"text/html\" href=\"{site}/\"/>\n  <link rel=\"self\" href=\"{site}/feed/atom/\"/>\n  <id>{site}/feed/atom/</id>\n  <updated>{}</updated>\n",
        updated.to_rfc3339()
    );
    for a in articles {
        x.push_str(&format!(
            "  <entry>\n    <author><name>{}</name></author>\n    <title type=\"html\">{}</title>\n    <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n    <id>{site}/?p={}</id>\n    <updated>{}</updated>\n    <published>{}</published>\n    <category term=\"{}\"/>\n    <summary type=\"html\">{}</summary>\n    <content type=\"html\" xml:base=\"{}\">{}</content>\n  </entry>\n",
            escape(&a.author),
            escape(&a.title),
            link(site, a),
            a.seq,
            a.at.to_rfc3339(),
            a.at.to_rfc3339(),
            escape(a.category),
            cdata(&escape(&a.title)),
            link(site, a),
            cdata(&html_body(a)),
        ));
    }
    x.push_str("</feed>\n");
    x
}

fn rss1(site: &str, articles: &[Article]) -> String {
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rdf:RDF xmlns=\"http://purl.org/rss/1.0/\" xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xml:lang=\"ja\">\n<channel rdf:about=\"{site}/index.rdf\">\n  <title>地域の口コミ速報</title>\n  <link>{site}/</link>\n  <description>口コミとニュースのまとめ</description>\n  <items><rdf:Seq>\n"
    );
    for a in articles {
        x.push_str(&format!(
            "    <rdf:li rdf:resource=\"{}\" />\n",
            link(site, a)
        ));
    }
    x.push_str("  </rdf:Seq></items>\n</channel>\n");
    for a in articles {
        x.push_str(&format!(
            "<item rdf:about=\"{l}\">\n  <title>{}</title>\n  <link>{l}</link>\n  <description>{}</description>\n  <dc:subject>{}</dc:subject>\n  <dc:creator>{}</dc:creator>\n  <dc:date>{}</dc:date>\n  <content:encoded>{}</content:encoded>\n</item>\n",
            escape(&a.title),
            escape(&a.text),
            escape(a.category),
            escape(&a.author),
            a.at.with_timezone(&crate::model::jst()).to_rfc3339(),
            cdata(&html_body(a)),
            l = link(site, a),
        ));
    }
    x.push_str("</rdf:RDF>\n");
    x
}

async fn rss2_feed(
    State(site): State<Arc<SimRss>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    site.feed(Format::Rss2, &headers, &path_query(&uri))
}

async fn atom_feed(
    State(site): State<Arc<SimRss>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    site.feed(Format::Atom, &headers, &path_query(&uri))
}

async fn rdf_feed(
    State(site): State<Arc<SimRss>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    site.feed(Format::Rss1, &headers, &path_query(&uri))
}

async fn article(
    State(site): State<Arc<SimRss>>,
    OriginalUri(uri): OriginalUri,
    Path(file): Path<String>,
) -> Response {
    let path = path_query(&uri);
    let seq: Option<u64> = file.strip_suffix(".html").and_then(|n| n.parse().ok());
    let found = seq.and_then(|s| site.lock().articles.iter().find(|a| a.seq == s).cloned());
    let Some(a) = found else {
        site.log.record(&path, 404);
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    site.log.record(&path, 200);
    text(
        "text/html; charset=UTF-8",
        format!(
            "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"UTF-8\"><title>{t}</title></head><body><article><h1 class=\"entry-title\">{t}</h1><div class=\"entry-content\"><p>{}</p></div></article></body></html>",
            escape_lines(&a.text),
            t = escape(&a.title)
        ),
    )
}

impl SimSite for SimRss {
    fn name(&self) -> &'static str {
        "rss"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(|| async { robots() }))
            .route("/feed/", get(rss2_feed))
            .route("/feed/atom/", get(atom_feed))
            .route("/index.rdf", get(rdf_feed))
            .route("/archives/{file}", get(article))
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let first = post.text.lines().next().unwrap_or("");
        let title: String = first.chars().take(30).collect();
        let title = if first.chars().count() > 30 {
            format!("{title}…")
        } else {
            title
        };
        let mut b = self.lock();
        b.articles.push(Article {
            seq: post.seq,
            title,
            text: post.text.clone(),
            author: post.author.clone(),
            category: CATEGORIES[post.thread % CATEGORIES.len()],
            at: post.at,
        });
        b.version += 1;
        // Last-Modified has one-second resolution: keep it strictly increasing so a change in
        // the same second as the previous one still defeats If-Modified-Since.
        let now = SystemTime::now();
        let next = b.modified + Duration::from_secs(1);
        b.modified = if now > next { now } else { next };
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut b = self.lock();
        let before = b.articles.len();
        b.articles.retain(|a| a.seq != seq);
        if b.articles.len() == before {
            return false;
        }
        b.version += 1;
        b.modified += Duration::from_secs(1);
        true
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/feed/")
    }

    fn source_kind(&self) -> &'static str {
        "rss"
    }
}
