//! HTML building blocks: the page layout (inline CSS, no script, no external asset), in-place
//! highlighting and the inline-SVG timeline chart, over the one escaping function (kept in
//! `text::html` so the evidence reports and the simulated web share it).
//!
//! Every piece of crawled or user-given text reaches the page through [`esc`] (text and
//! attribute values alike: it escapes `& < > " '`), and URLs through [`href`], which also
//! refuses every scheme but http(s). Nothing else writes text into markup.
//!
//! Control and bidi characters are shown, not obeyed: a RIGHT-TO-LEFT OVERRIDE would make the
//! page show a run reversed (`\u{202E}欺詐` displayed as 詐欺), so the analyst would not see
//! what the post holds. [`esc`] writes each as the text `<U+202E>`; post text (the body, the
//! snippets) goes through [`esc_text`], which puts that marker in a `<span class="ctl">`.

use std::collections::BTreeMap;
use std::fmt::Write;

pub use crate::text::html::{esc, esc_text};

/// An http(s) URL escaped for an `href`; `None` for any other scheme (`javascript:`…).
pub fn href(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    matches!(u.scheme(), "http" | "https").then(|| esc(u.as_str()))
}

/// A query string built from pairs (percent-encoded, then escaped for an attribute).
pub fn query(pairs: &[(&str, &str)]) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    esc(&q)
}

/// A snippet with « » around matches as HTML: escaped, matches in `<mark>`.
pub fn marked_html(snippet: &str) -> String {
    let mut out = String::new();
    let mut rest = snippet;
    while let Some(open) = rest.find('«') {
        let after = &rest[open + '«'.len_utf8()..];
        let Some(close) = after.find('»') else { break };
        out.push_str(&esc_text(&rest[..open]));
        out.push_str("<mark>");
        out.push_str(&esc_text(&after[..close]));
        out.push_str("</mark>");
        rest = &after[close + '»'.len_utf8()..];
    }
    out.push_str(&esc_text(rest));
    out
}

/// `text` as HTML with the byte ranges `marks` (start, end, css class) wrapped in `<mark>`;
/// overlapping or invalid ranges are skipped; line breaks become `<br>`.
pub fn highlight(text: &str, marks: &[(usize, usize, &str)]) -> String {
    let mut sorted: Vec<(usize, usize, &str)> = marks
        .iter()
        .copied()
        .filter(|&(s, e, _)| s < e && text.get(s..e).is_some())
        .collect();
    sorted.sort_by_key(|&(s, e, _)| (s, std::cmp::Reverse(e)));
    let mut out = String::new();
    let mut at = 0;
    for (s, e, class) in sorted {
        if s < at {
            continue;
        }
        out.push_str(&esc_text(&text[at..s]));
        let _ = write!(
            out,
            "<mark class=\"{}\">{}</mark>",
            esc(class),
            esc_text(&text[s..e])
        );
        at = e;
    }
    out.push_str(&esc_text(&text[at..]));
    out.replace('\n', "<br>")
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans CJK JP","Noto Sans JP",sans-serif;color:#1d2430;background:#f4f5f7}
header{background:#23324a;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.4rem;align-items:center;flex-wrap:wrap}
header b{font-size:1.1rem;letter-spacing:.04em}
header a{color:#cfe0ff;text-decoration:none}
header a:hover,header a.on{color:#fff;text-decoration:underline}
main{max-width:1100px;margin:1.2rem auto;padding:0 1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem 1.2rem;margin-bottom:1rem}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #dde1e7;border-radius:8px;overflow:hidden}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #eceef2;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:.85rem;color:#4a5566}
tr:last-child td{border-bottom:0}
td a{color:#1a56b8}
.sev{display:inline-block;min-width:2.4em;text-align:center;border-radius:4px;padding:0 .3em;font-weight:700;color:#fff;background:#8a94a6}
.sev.hi{background:#c62828}.sev.mid{background:#e07b00}.sev.lo{background:#607d8b}
.tag{display:inline-block;font-size:.78rem;border-radius:10px;padding:0 .55em;margin:0 .2em .1em 0;background:#e8edf5;color:#33415c;white-space:nowrap}
.st-new{background:#fff3cd;color:#7a5b00}.st-reviewing{background:#dbeafe;color:#1e40af}.st-reported{background:#fde2e1;color:#a11}.st-deleted{background:#dcfce7;color:#166534}.st-ignored{background:#eee;color:#555}
form.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end;margin-bottom:1rem}
label{font-size:.82rem;color:#4a5566;display:flex;flex-direction:column;gap:.15rem}
input,select,textarea,button{font:inherit;padding:.3rem .5rem;border:1px solid #c3c9d3;border-radius:5px;background:#fff}
button{background:#23324a;color:#fff;border-color:#23324a;cursor:pointer}
input[type=search]{min-width:22rem}
.body{white-space:normal;word-break:break-word;font-size:1rem;background:#fcfcfd;border:1px solid #eceef2;border-radius:6px;padding:.8rem 1rem}
mark{background:#ffe58f;border-radius:2px;padding:0 1px}
mark.risk{background:#ffc9c9}mark.pii{background:#d0bfff}mark.target{background:#ffe58f}
.meta{color:#5b6678;font-size:.88rem}
.meta b{color:#1d2430;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:.8rem}
.count{font-size:1.6rem;font-weight:700}
.late{color:#c62828;font-weight:700}.soon{color:#e07b00;font-weight:700}
.notice{background:#fff8e1;border:1px solid #f0d589;border-radius:8px;padding:.8rem 1rem}
.error{background:#fdecea;border:1px solid #f5b7b1;border-radius:8px;padding:.8rem 1rem}
.facets a{text-decoration:none;color:#1a56b8}
.muted{color:#8a94a6}
.ctl{color:#c62828;background:#fdecea;font-size:.8em;border-radius:2px;unicode-bidi:isolate}
ol.history{padding-left:1.2rem;margin:.3rem 0}
"#;

/// The page layout around `body`; `nav` is the active tab (`queue`, `search`, `timeline`,
/// `sources`).
pub fn page(title: &str, nav: &str, body: &str) -> String {
    let tab = |id: &str, path: &str, label: &str| {
        let on = if id == nav { " class=\"on\"" } else { "" };
        format!("<a href=\"{path}\"{on}>{label}</a>")
    };
    format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"same-origin\">\
<title>{} — mimamori</title><style>{CSS}</style></head><body>\
<header><b>見守り mimamori</b>{}{}{}{}</header><main>{body}</main></body></html>\n",
        esc(title),
        tab("queue", "/", "Queue"),
        tab("search", "/search", "Search"),
        tab("timeline", "/timeline", "Timeline"),
        tab("sources", "/sources", "Sources"),
    )
}

/// A severity badge.
pub fn severity(s: u8) -> String {
    let class = match s {
        70.. => "hi",
        40..=69 => "mid",
        _ => "lo",
    };
    format!("<span class=\"sev {class}\">{s}</span>")
}

/// A status tag.
pub fn status(s: &str) -> String {
    format!("<span class=\"tag st-{0}\">{0}</span>", esc(s))
}

/// Tags for a list of words.
pub fn tags(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("<span class=\"tag\">{}</span>", esc(w)))
        .collect()
}

/// `<option>`s for `values`, `selected` marked; the first option is "any".
pub fn options(values: &[String], selected: Option<&str>, any: &str) -> String {
    let mut out = format!("<option value=\"\">{}</option>", esc(any));
    for v in values {
        let sel = if Some(v.as_str()) == selected {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(v));
    }
    out
}

const PALETTE: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// An inline SVG bar chart: per day (labels `YYYY-MM-DD`), one bar per series side by side,
/// with a legend.
pub fn timeline_svg(days: &[String], series: &BTreeMap<String, Vec<u64>>) -> String {
    let (w, h, left, right, top, bottom) = (960.0, 320.0, 44.0, 16.0, 16.0, 56.0);
    let max = series
        .values()
        .flat_map(|v| v.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = days.len().max(1);
    let step = (w - left - right) / n as f64;
    let groups = series.len().max(1) as f64;
    let bar = (step * 0.8 / groups).max(1.0);
    let y = |v: u64| top + (h - top - bottom) * (1.0 - v as f64 / max as f64);
    let base = y(0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" aria-label=\"hits per day per target\" style=\"background:#fff;border:1px solid #dde1e7;border-radius:8px\">"
    );
    let ticks = 4u64.min(max);
    for t in 0..=ticks {
        let v = max * t / ticks.max(1);
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#eceef2\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6678\">{v}</text>",
            w - right,
            left - 6.0,
            yy + 4.0
        );
    }
    // About eight x labels, evenly spaced.
    let every = n.div_ceil(8).max(1);
    for (i, d) in days.iter().enumerate() {
        if (n - 1 - i).is_multiple_of(every) {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6678\">{}</text>",
                left + step * (i as f64 + 0.5),
                h - bottom + 16.0,
                esc(d.get(5..).unwrap_or(d))
            );
        }
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        for (i, v) in values.iter().enumerate() {
            if *v == 0 {
                continue;
            }
            let x = left + step * i as f64 + step * 0.1 + bar * k as f64;
            let top_y = y(*v);
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{top_y:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{} {}: {v}</title></rect>",
                base - top_y,
                esc(name),
                esc(days.get(i).map_or("", String::as_str))
            );
        }
        let lx = left + 130.0 * k as f64;
        let ly = h - 14.0;
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/><text x=\"{}\" y=\"{ly}\" font-size=\"12\" fill=\"#1d2430\">{}</text>",
            ly - 10.0,
            lx + 16.0,
            esc(name)
        );
    }
    let _ = write!(
        svg,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{base:.1}\" y2=\"{base:.1}\" stroke=\"#8a94a6\"/></svg>",
        w - right
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::control::is_bidi_control;

    #[test]
    fn everything_is_escaped() {
        let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
        let out = esc(evil);
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        assert!(!highlight(evil, &[(0, 8, "x\"onmouseover")]).contains("<script"));
        assert!(!marked_html("«<b>»").contains("<b>"));
    }

    #[test]
    fn bidi_and_controls_are_shown_not_obeyed() {
        let post = "山田商事は\u{202E}欺詐\u{202C}\x1b[2J\u{2067}x\u{200F}";
        for out in [esc(post), highlight(post, &[]), marked_html(post)] {
            assert!(
                !out.chars().any(|c| c.is_control() || is_bidi_control(c)),
                "{out:?}"
            );
            for marker in [
                "&lt;U+202E&gt;",
                "&lt;U+202C&gt;",
                "&lt;U+001B&gt;",
                "&lt;U+2067&gt;",
            ] {
                assert!(out.contains(marker), "{marker} missing: {out}");
            }
            // Logical order kept: the page shows 欺詐 between its markers, not 詐欺.
            assert!(out.contains("欺詐") && !out.contains("詐欺"), "{out}");
        }
        assert!(highlight(post, &[]).contains("<span class=\"ctl\""));
        assert!(!esc(post).contains("<span"), "attributes get no markup");
        assert_eq!(highlight("a\r\nb", &[]), "a\r<br>b");
    }

    #[test]
    fn only_http_links() {
        assert!(href("javascript:alert(1)").is_none());
        assert!(href("https://example.com/a?b=\"c\"").is_some_and(|h| !h.contains('"')));
    }

    #[test]
    fn highlights_are_in_place() {
        assert_eq!(
            highlight("山田商事は詐欺", &[(15, 21, "risk"), (0, 12, "target")]),
            "<mark class=\"target\">山田商事</mark>は<mark class=\"risk\">詐欺</mark>"
        );
    }
}
