//! E-mail addresses, including the usual obfuscations (`name(at)example.com`,
//! `name [at] example [dot] com`, `name あっと example.com`).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

/// `@` written out: `(at)`, `[at]`, `あっと`, ` at ` (the last one only with other clues).
const AT_OBF: &str = r"\s*(?:\((?i:at)\)|\[(?i:at)\]|\{(?i:at)\}|<(?i:at)>|\((?:アット|あっと)\)|あっと(?:まーく)?|アット(?:マーク)?)\s*|\s+(?i:at)\s+";
/// `.` written out: `(dot)`, `[dot]`, `ドット`, ` dot `.
const DOT_OBF: &str =
    r"\s*(?:\((?i:dot)\)|\[(?i:dot)\]|\{(?i:dot)\}|<(?i:dot)>|\(ドット\)|ドット)\s*|\s+(?i:dot)\s+";

fn pattern() -> String {
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?";
    let dot = format!(r"(?:\.|{DOT_OBF})");
    format!(
        r"(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]{{0,63}})(?P<at>@|{AT_OBF})(?P<domain>{label}(?:{dot}{label}){{0,8}}{dot}[A-Za-z]{{2,24}})"
    )
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(&pattern()).expect("e-mail regex"));
static EMAIL_FULL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^(?:{})$", pattern())).expect("e-mail regex"));
static DOT_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(DOT_OBF).expect("dot regex"));

/// Builds the normalized address from a match, or `None` when the match is too doubtful.
fn from_captures(c: &regex::Captures<'_>) -> Option<String> {
    let local = c.name("local")?.as_str().trim_end_matches('.');
    let at = c.name("at")?.as_str();
    let domain = c.name("domain")?.as_str();
    let dot_obfuscated = DOT_RE.is_match(domain);
    // A bare " at " is English prose ("look at example.com") unless the dots are written out
    // too or the local part does not look like a word.
    if at.trim().eq_ignore_ascii_case("at")
        && !dot_obfuscated
        && local.chars().all(|ch| ch.is_ascii_alphabetic())
    {
        return None;
    }
    if local.is_empty() {
        return None;
    }
    let domain = DOT_RE.replace_all(domain, ".");
    let domain: String = domain.chars().filter(|ch| !ch.is_whitespace()).collect();
    Some(format!("{local}@{domain}").to_ascii_lowercase())
}

/// Every e-mail address in folded text: (folded byte range, normalized address).
pub(crate) fn detect(t: &str) -> Vec<(Range<usize>, String)> {
    let mut out = Vec::new();
    for c in EMAIL.captures_iter(t) {
        let Some(m) = c.get(0) else { continue };
        if let Some(norm) = from_captures(&c) {
            out.push((m.start()..m.end(), norm));
        }
    }
    out
}

/// Normalizes a watchlist e-mail value (already folded and trimmed).
pub(crate) fn normalize(v: &str) -> Option<String> {
    let c = EMAIL_FULL.captures(v)?;
    from_captures(&c)
}
