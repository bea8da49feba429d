//! HTML escaping: the project's one escaping function, shared by the triage page, the evidence
//! reports and the simulated web. It sits here, below them all, so none of them has to reach
//! up into another's module for it.

/// Escapes `s` for HTML text and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
