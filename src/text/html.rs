//! HTML escaping: the project's one escaping function, shared by the triage page, the evidence
//! reports and the simulated web. It sits here, below them all, so none of them has to reach
//! up into another's module for it.
//!
//! Control and bidi characters are shown, not obeyed: [`esc`] writes each as the text
//! `<U+XXXX>`, and [`esc_text`] (for post text in a page) puts that marker in a
//! `<span class="ctl">`.

use std::fmt::Write;

use crate::text::control::is_bidi_control;

/// Whether the page shows `c` as a `<U+XXXX>` marker: controls (but tab and line ends) and
/// bidi controls.
fn shown_as_marker(c: char) -> bool {
    (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || is_bidi_control(c)
}

/// Escapes `s`, writing each character [`shown_as_marker`] with `marker`.
fn escape(s: &str, marker: fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if shown_as_marker(c) => marker(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// Escapes `s` for HTML text and quoted attribute values; control and bidi characters become
/// the text `<U+XXXX>`.
pub fn esc(s: &str) -> String {
    escape(s, |c, out| {
        let _ = write!(out, "&lt;U+{:04X}&gt;", c as u32);
    })
}

/// Escapes post text for HTML text content (not attributes): as [`esc`], with each control or
/// bidi marker in a `<span class="ctl">` so it stands out.
pub fn esc_text(s: &str) -> String {
    escape(s, |c, out| {
        let _ = write!(
            out,
            "<span class=\"ctl\" title=\"control character\">&lt;U+{:04X}&gt;</span>",
            c as u32
        );
    })
}
