//! Bounds what one post may cost.
//!
//! Context rules look around each match (its sentence, the mentions near it), so analysis of
//! one text grows faster than its length when a text holds thousands of matches: a hostile
//! post of one name and one risk word repeated 20,000 times would pin a core for seconds, and
//! a 50 MB line would exhaust memory in the tokenizer. So a long body is analyzed in windows
//! of [`WINDOW`] bytes, cut at a line or sentence end where one is near, overlapping by
//! [`OVERLAP`] bytes so that a name or phrase across a cut is seen whole in one of them, each
//! with the title; the results are merged (targets, categories and personal-data kinds united,
//! severity the highest, matches shifted to their place in the body and deduplicated). The
//! total is linear in the length. Past [`MAX_ANALYZED`] bytes the body is not analyzed, and
//! past [`MAX_MATCHES`] matches the rest are not listed; both are said in
//! [`Analysis::limited`] — the post itself is stored whole either way.

use std::collections::{BTreeSet, HashSet};

use super::{Analysis, Analyzer, Field, PostInput};

/// Body bytes analyzed together at most.
pub const WINDOW: usize = 16 * 1024;
/// Bytes two neighbouring windows share (longer than any name or phrase matched).
pub const OVERLAP: usize = 1024;
/// Body bytes analyzed at most; the rest of a longer post is stored, not analyzed.
pub const MAX_ANALYZED: usize = 1024 * 1024;
/// Matches listed at most (targets, categories and severity still count every one).
pub const MAX_MATCHES: usize = 1000;

impl Analyzer {
    /// The full pipeline on a body of any length: in windows when it is longer than
    /// [`WINDOW`], within the caps of this module.
    pub(super) fn analyze_bounded(&self, post: &PostInput) -> Analysis {
        let mut notes = Vec::new();
        let text = post.text.as_str();
        let analyzed_len = floor_char_boundary(text, MAX_ANALYZED.min(text.len()));
        if analyzed_len < text.len() {
            notes.push(format!(
                "analyzed the first {analyzed_len} of {} bytes (the rest is stored, not analyzed)",
                text.len()
            ));
        }
        let mut out = if analyzed_len <= WINDOW {
            if analyzed_len == text.len() {
                self.analyze_ungated(post)
            } else {
                self.analyze_ungated(&slice(post, 0..analyzed_len))
            }
        } else {
            self.analyze_windows(post, analyzed_len)
        };
        if out.matches.len() > MAX_MATCHES {
            notes.push(format!(
                "{} matches; the first {MAX_MATCHES} are listed",
                out.matches.len()
            ));
            out.matches.truncate(MAX_MATCHES);
        }
        out.limited = (!notes.is_empty()).then(|| notes.join("; "));
        out
    }

    fn analyze_windows(&self, post: &PostInput, len: usize) -> Analysis {
        let text = &post.text[..len];
        let mut out = Analysis {
            id: post.id.clone(),
            ..Analysis::default()
        };
        let (mut categories, mut pii) = (BTreeSet::new(), BTreeSet::new());
        let mut start = 0;
        loop {
            let end = cut(text, start);
            let part = self.analyze_ungated(&slice(post, start..end));
            for t in part.targets {
                if !out.targets.contains(&t) {
                    out.targets.push(t);
                }
            }
            out.flagged |= part.flagged;
            categories.extend(part.categories);
            pii.extend(part.pii);
            out.severity = out.severity.max(part.severity);
            out.matches.extend(part.matches.into_iter().map(|mut m| {
                if m.field == Field::Text {
                    m.start += start;
                    m.end += start;
                }
                m
            }));
            if end >= text.len() {
                break;
            }
            start = floor_char_boundary(text, end.saturating_sub(OVERLAP)).max(start + 1);
            start = ceil_char_boundary(text, start);
        }
        out.categories = categories.into_iter().collect();
        out.pii = pii.into_iter().collect();
        // The title's matches come from every window, the overlaps' from two: keep one.
        out.matches
            .sort_by_key(|m| (m.field == Field::Text, m.start, m.end));
        let mut seen = HashSet::new();
        out.matches
            .retain(|m| seen.insert(serde_json::to_string(m).unwrap_or_default()));
        out
    }
}

/// The post with its body cut to `range` (title and the rest kept).
fn slice(post: &PostInput, range: std::ops::Range<usize>) -> PostInput {
    PostInput {
        id: post.id.clone(),
        text: post.text[range].to_string(),
        title: post.title.clone(),
        url: post.url.clone(),
        source: post.source.clone(),
        posted_at: post.posted_at.clone(),
    }
}

/// Where the window starting at `start` ends: [`WINDOW`] bytes on, moved back to just after
/// a line or sentence end in its last quarter when there is one, else to a character
/// boundary.
fn cut(text: &str, start: usize) -> usize {
    let end = start + WINDOW;
    if end >= text.len() {
        return text.len();
    }
    let end = floor_char_boundary(text, end);
    let from = ceil_char_boundary(text, end - WINDOW / 4);
    text[from..end]
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '\n' | '。' | '!' | '?' | '！' | '？'))
        .map_or(end, |(i, c)| from + i + c.len_utf8())
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::MatchDetail;

    fn analyzer() -> Analyzer {
        let text = include_str!("../../watchlists/example.toml");
        let wl = crate::config::parse_str(text, std::path::Path::new("example.toml"))
            .expect("watchlist");
        Analyzer::new(&wl).expect("analyzer")
    }

    fn post(text: String) -> PostInput {
        PostInput {
            id: "long".into(),
            text,
            title: Some("地元の店について語るスレ".into()),
            ..PostInput::default()
        }
    }

    /// Every body match points at its own text in the body.
    fn in_place(post: &PostInput, a: &Analysis) {
        for m in a.matches.iter().filter(|m| m.field == Field::Text) {
            if matches!(m.detail, MatchDetail::Pii { .. }) {
                continue; // shown masked
            }
            assert_eq!(
                post.text.get(m.start..m.end),
                Some(m.text.as_str()),
                "{m:?}"
            );
        }
    }

    #[test]
    fn a_long_post_is_read_whole_in_windows_with_matches_in_place() {
        let an = analyzer();
        let filler = "今日は駅前のパン屋に行ってきた。天気もよくて気持ちよかった。\n";
        let mut text = filler.repeat(WINDOW * 3 / filler.len());
        // Far from the start, in the third window: found, and in place.
        text.push_str("さくら食品は産地偽装してる詐欺企業。");
        text.push_str(&filler.repeat(200));
        let p = post(text);
        assert!(p.text.len() > 3 * WINDOW);
        let a = an.analyze(&p);
        assert!(a.flagged, "{a:?}");
        assert_eq!(a.targets, ["sakura_foods"]);
        assert_eq!(a.limited, None);
        in_place(&p, &a);
        // A window holds the same post as a short one would.
        let short = an.analyze(&post("さくら食品は産地偽装してる詐欺企業。".into()));
        assert_eq!(
            (a.categories, a.severity),
            (short.categories, short.severity)
        );
    }

    #[test]
    fn a_name_across_a_window_cut_is_found_once() {
        let an = analyzer();
        // No line or sentence end to cut at: the cut falls inside the name.
        let filler = "あいうえおかきくけこ";
        let mut text = filler.repeat(WINDOW / filler.len());
        while text.len() > WINDOW - 6 {
            text.pop();
        }
        let at = text.len();
        text.push_str("さくら食品は詐欺。");
        text.push_str(&filler.repeat(100));
        let p = post(text);
        assert!(at < WINDOW && WINDOW < at + "さくら食品".len());
        let a = an.analyze(&p);
        let names: Vec<_> = a
            .matches
            .iter()
            .filter(|m| matches!(m.detail, MatchDetail::Target { .. }))
            .collect();
        assert_eq!(names.len(), 1, "{:?}", a.matches);
        assert_eq!(names[0].start, at);
        assert!(a.flagged);
        in_place(&p, &a);
    }

    #[test]
    fn what_is_left_out_is_said_and_the_cost_stays_bounded() {
        let an = analyzer();
        // 20,000 repeats of a name and a risk word: linear, with the matches capped.
        let p = post("さくら食品は詐欺。".repeat(20_000));
        let a = an.analyze(&p);
        assert!(a.flagged);
        assert_eq!(a.matches.len(), MAX_MATCHES);
        let note = a.limited.as_deref().unwrap_or_default();
        assert!(note.contains("the first 1000 are listed"), "{note}");
        // Longer than the cap: the head is analyzed, the rest noted.
        let mut text = "さくら食品は詐欺。".to_string();
        text.push_str(&"あ".repeat(MAX_ANALYZED));
        let a = an.analyze(&post(text));
        assert!(a.flagged);
        let note = a.limited.as_deref().unwrap_or_default();
        assert!(
            note.contains("analyzed the first") && note.contains("not analyzed"),
            "{note}"
        );
    }
}
