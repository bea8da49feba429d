//! The pure parts of a screenshot: the stamped copy's HTML page, the PDF's header and footer
//! templates, and reading a PNG's size. No I/O here; every crawled string (the URL above all)
//! goes through one escaping function, since it is attacker-controlled.
//!
//! Why a rendered HTML page for the stamp rather than drawing pixels: the browser already has
//! the Japanese fonts and line breaking, so the URL wraps at any character (`word-break:
//! break-all`) and is never cut, whatever its length.

use chrono::{DateTime, Utc};

use crate::model::jst;
use crate::text::html::esc;

/// What the stamp strip and the PDF margins say.
#[derive(Debug, Clone)]
pub struct StampFacts {
    /// The URL captured, in full.
    pub url: String,
    /// The hit id.
    pub hit_id: i64,
    /// The post key.
    pub post_key: String,
    /// When the page was captured.
    pub captured_at: DateTime<Utc>,
    /// SHA-256 (hex) of the plain PNG.
    pub png_sha256: String,
    /// A remark shown in the strip (fallback URL used, page cut at the height limit…).
    pub remark: Option<String>,
}

/// `2026-12-02 16:50:01 JST`.
pub fn jst_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst())
        .format("%Y-%m-%d %H:%M:%S JST")
        .to_string()
}

/// `2026-12-02T07:50:01Z`.
pub fn utc_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Fonts with Japanese glyphs (Debian `fonts-ipafont-gothic`), then whatever sans-serif has.
const FONTS: &str = "'IPAGothic','IPAPGothic','IPAexGothic','Noto Sans CJK JP',sans-serif";

/// The stamped copy: the plain PNG (`img_src`, a file next to the page) at its natural size
/// `width`×`height` CSS pixels with a strip above it holding the full URL (wrapped), the
/// capture time in JST and UTC, the hit id, the post key and the PNG's SHA-256.
pub fn stamp_html(img_src: &str, width: u32, height: u32, f: &StampFacts) -> String {
    let remark = f.remark.as_deref().map_or_else(String::new, |r| {
        format!("<div class=\"r\">備考 / Note: {}</div>", esc(r))
    });
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>mimamori stamp</title>\
<style>html,body{{margin:0;padding:0;background:#fff}}\
body{{width:{width}px}}\
.s{{box-sizing:border-box;width:{width}px;padding:10px 14px;background:#fff8d6;color:#111;\
border-bottom:4px solid #b00;font:15px/1.5 {FONTS}}}\
.s div{{word-break:break-all;overflow-wrap:anywhere;white-space:normal}}\
.k{{font-weight:bold}}.h{{font-family:monospace;font-size:13px}}.r{{color:#b00}}\
img{{display:block;width:{width}px;height:{height}px}}</style></head><body>\
<div class=\"s\" id=\"stamp\">\
<div class=\"k\">証拠画面 / Evidence screenshot — mimamori/{version}</div>\
<div id=\"url\">URL: {url}</div>\
<div>取得日時 / Captured: {jst}（{utc} UTC）</div>\
<div>ヒットID / Hit ID: {hit} ・ 投稿キー / Post key: {key}</div>\
<div class=\"h\">元画像 SHA-256 / Plain PNG SHA-256: {sha}</div>{remark}</div>\
<img src=\"{img}\" alt=\"\"></body></html>",
        version = env!("CARGO_PKG_VERSION"),
        url = esc(&f.url),
        jst = esc(&jst_time(f.captured_at)),
        utc = esc(&utc_time(f.captured_at)),
        hit = f.hit_id,
        key = esc(&f.post_key),
        sha = esc(&f.png_sha256),
        img = esc(img_src),
    )
}

/// The PDF header template (`Page.printToPDF`): the full URL, wrapped, and the capture time.
pub fn pdf_header(f: &StampFacts) -> String {
    format!(
        "<div style=\"width:100%;margin:0 10mm;font-size:8px;font-family:{FONTS};word-break:break-all;overflow-wrap:anywhere\">\
URL: {}<br>取得日時 / Captured: {}（{} UTC） ・ ヒットID / Hit ID: {}</div>",
        esc(&f.url),
        esc(&jst_time(f.captured_at)),
        esc(&utc_time(f.captured_at)),
        f.hit_id
    )
}

/// The PDF footer template: URL, capture time and page numbers.
pub fn pdf_footer(f: &StampFacts) -> String {
    format!(
        "<div style=\"width:100%;margin:0 10mm;font-size:8px;font-family:{FONTS};word-break:break-all;overflow-wrap:anywhere\">\
{} ・ {} ・ mimamori/{} ・ <span class=\"pageNumber\"></span>/<span class=\"totalPages\"></span></div>",
        esc(&f.url),
        esc(&utc_time(f.captured_at)),
        env!("CARGO_PKG_VERSION")
    )
}

/// Width and height of a PNG from its IHDR chunk; `None` if `bytes` is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIG: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIG || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    Some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(url: &str) -> StampFacts {
        StampFacts {
            url: url.to_string(),
            hit_id: 42,
            post_key: "5ch:software/1700000000/5".into(),
            captured_at: DateTime::parse_from_rfc3339("2026-12-02T07:50:01Z")
                .expect("time")
                .with_timezone(&Utc),
            png_sha256: "ab".repeat(32),
            remark: Some("<b>fallback</b>".into()),
        }
    }

    #[test]
    fn the_stamp_holds_every_fact_escaped_and_wraps_the_url() {
        let hostile = "http://127.0.0.1/test/read.cgi/a/1/5?x=\"><script>alert(1)</script>";
        let html = stamp_html("plain.png", 1280, 900, &facts(hostile));
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<b>fallback"));
        assert!(html.contains("2026-12-02 16:50:01 JST"));
        assert!(html.contains("2026-12-02T07:50:01Z UTC"));
        assert!(html.contains("ヒットID / Hit ID: 42"));
        assert!(html.contains(&"ab".repeat(32)));
        assert!(html.contains("word-break:break-all"));
        assert!(html.contains("width:1280px;height:900px"));
    }

    #[test]
    fn pdf_templates_are_escaped_and_carry_url_and_time() {
        let f = facts("https://example.com/a?b=<i>&c=1");
        for t in [pdf_header(&f), pdf_footer(&f)] {
            assert!(
                t.contains("https://example.com/a?b=&lt;i&gt;&amp;c=1"),
                "{t}"
            );
            assert!(t.contains("2026-12-02T07:50:01Z"));
            assert!(!t.contains("<i>"));
        }
        assert!(pdf_footer(&f).contains("class=\"pageNumber\""));
    }

    #[test]
    fn png_size_reads_ihdr_and_rejects_other_bytes() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend(1280u32.to_be_bytes());
        png.extend(4321u32.to_be_bytes());
        assert_eq!(png_size(&png), Some((1280, 4321)));
        assert_eq!(png_size(b"GIF89a not a png at all......"), None);
        assert_eq!(png_size(&png[..20]), None);
    }
}
