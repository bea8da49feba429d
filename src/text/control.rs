//! Control characters in crawled text, made visible before a human sees them.
//!
//! Post text is written by whoever posted it. Written to a terminal as it is, an ESC starts an
//! escape sequence (`\x1b]0;…\x07` retitles the window, `\x1b[2J` clears the screen), a lone
//! CR lets the rest of a line overwrite its start, NUL and BEL do what they do, and a bidi
//! control (`U+202E` RIGHT-TO-LEFT OVERRIDE) shows a run of text reversed, so what is on the
//! screen is not what is in the post. Every human-readable output of crawled text goes through
//! [`escape_controls`] (multi-line text) or [`escape_controls_line`] (one line): each such
//! character is shown as `<U+XXXX>`, which no terminal interprets.
//!
//! Escaped: C0 controls except `\t` and `\n` (a CR too: `\r\n` is kept as a line end by
//! [`escape_controls`], a lone `\r` is shown), DEL, C1 controls (U+0080–U+009F) and the bidi
//! controls of [`is_bidi_control`]. JSON output keeps its values: serde escapes C0 controls,
//! and [`escape_json`] writes the rest (DEL, C1, bidi) as `\uXXXX` escapes, the same JSON
//! value, so `--json` on a terminal is safe too.

use std::borrow::Cow;
use std::fmt::Write;

/// The bidi formatting characters: LRM, RLM, ALM (U+200E, U+200F, U+061C), the embeddings and
/// overrides U+202A–U+202E (LRE, RLE, PDF, LRO, RLO) and the isolates U+2066–U+2069 (LRI, RLI,
/// FSI, PDI). They change how text around them is displayed, never what it says.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether [`escape_controls_line`] shows `c` as `<U+XXXX>`: every C0 control but `\t`, DEL,
/// C1 controls and bidi controls.
fn shown_in_line(c: char) -> bool {
    (c.is_control() && c != '\t') || is_bidi_control(c)
}

/// Whether `c` needs escaping in multi-line text ([`escape_controls`]).
fn shown_in_text(c: char) -> bool {
    c != '\n' && shown_in_line(c)
}

/// `<U+001B>`: how an escaped character is shown.
pub fn marker(c: char) -> String {
    format!("<U+{:04X}>", c as u32)
}

/// Multi-line text made safe for a terminal: line ends (`\n`, `\r\n` as `\n`) and tabs kept,
/// every other control and bidi character shown as `<U+XXXX>`. Borrows when nothing changes.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    escape(s, shown_in_text, true)
}

/// One line of output made safe for a terminal: like [`escape_controls`], and line breaks
/// are shown too (`<U+000A>`), so a crawled title or URL cannot start a line of its own that
/// looks like output. Borrows when nothing changes.
pub fn escape_controls_line(s: &str) -> Cow<'_, str> {
    escape(s, shown_in_line, false)
}

/// `s` with every char `shown` says as `<U+XXXX>` (a CR right before a LF dropped when
/// `crlf_is_newline`).
fn escape(s: &str, shown: fn(char) -> bool, crlf_is_newline: bool) -> Cow<'_, str> {
    if !s.chars().any(shown) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if crlf_is_newline && c == '\r' && chars.peek() == Some(&'\n') {
            continue;
        }
        if shown(c) {
            out.push_str(&marker(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with DEL, C1 controls and bidi controls written as `\uXXXX` escapes: the
/// same JSON value (these characters can only stand inside strings, where an escape means the
/// character), safe to print on a terminal. serde_json already escapes C0 controls.
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let needs = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || is_bidi_control(c);
    if !json.chars().any(needs) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an attacker writes into a post to take over the analyst's terminal.
    const HOSTILE: &str = "a\x1b]0;pwned\x07b\x1b[2Jc\0d\u{202E}欺詐\u{202C}e\x7f\u{9b}31m\rX";

    #[test]
    fn no_control_reaches_the_terminal() {
        for out in [escape_controls(HOSTILE), escape_controls_line(HOSTILE)] {
            assert!(
                !out.chars().any(|c| c.is_control() || is_bidi_control(c)),
                "{out:?}"
            );
        }
        assert_eq!(
            escape_controls(HOSTILE),
            "a<U+001B>]0;pwned<U+0007>b<U+001B>[2Jc<U+0000>d<U+202E>欺詐<U+202C>e<U+007F><U+009B>31m<U+000D>X"
        );
    }

    #[test]
    fn line_ends_and_tabs_stay_in_text_not_in_lines() {
        assert_eq!(escape_controls("a\r\nb\n\tc"), "a\nb\n\tc");
        assert!(matches!(
            escape_controls("山田商事\n詐欺"),
            Cow::Borrowed(_)
        ));
        assert_eq!(escape_controls_line("a\nb\tc"), "a<U+000A>b\tc");
        assert_eq!(escape_controls_line("a\r\nb"), "a<U+000D><U+000A>b");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_tricks() {
        let value = serde_json::json!({ "snippet": HOSTILE });
        let json = serde_json::to_string(&value).unwrap_or_default();
        let safe = escape_json(&json);
        assert!(
            !safe.chars().any(|c| c.is_control() || is_bidi_control(c)),
            "{safe}"
        );
        assert!(safe.contains("\\u202e欺詐\\u202c"), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn every_bidi_control_is_listed() {
        for c in [
            '\u{200E}', '\u{200F}', '\u{061C}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}',
            '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
        ] {
            assert!(is_bidi_control(c), "{c:?}");
            assert_eq!(escape_controls_line(&c.to_string()), marker(c));
        }
        assert!(!is_bidi_control('\u{200B}') && !is_bidi_control('a'));
    }
}
