//! Character folding for detection, with a map back to byte offsets in the original text.
//!
//! Every original character folds to exactly one character, so character boundaries of the
//! folded text correspond one to one with those of the original and ranges map back exactly.

use std::borrow::Cow;

/// Folds one character: full-width ASCII to ASCII, dash-like characters to `-`, the
/// ideographic space to a space and the half-width prolonged sound mark to `ー`.
pub(crate) fn fold_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{2043}' => '-',
        '\u{FF70}' => 'ー',
        _ => c,
    }
}

/// Text after [`fold_char`] on every character, plus the offset map back to the original.
pub(crate) struct Folded<'a> {
    /// The folded text.
    pub text: Cow<'a, str>,
    /// `(folded offset, original − folded)` from that offset on; sorted by folded offset.
    deltas: Vec<(usize, isize)>,
    /// Length of the original text.
    orig_len: usize,
}

impl<'a> Folded<'a> {
    /// Folds `text`; borrows it unchanged when nothing folds.
    pub fn new(text: &'a str) -> Self {
        if text.chars().all(|c| fold_char(c) == c) {
            return Folded {
                text: Cow::Borrowed(text),
                deltas: Vec::new(),
                orig_len: text.len(),
            };
        }
        let mut out = String::with_capacity(text.len());
        let mut deltas = Vec::new();
        let mut delta: isize = 0;
        for (i, c) in text.char_indices() {
            let f = fold_char(c);
            out.push(f);
            let d = (i + c.len_utf8()) as isize - out.len() as isize;
            if d != delta {
                delta = d;
                deltas.push((out.len(), d));
            }
        }
        Folded {
            text: Cow::Owned(out),
            deltas,
            orig_len: text.len(),
        }
    }

    /// Maps a byte offset on a character boundary of the folded text to the original text.
    pub fn orig(&self, pos: usize) -> usize {
        let idx = self.deltas.partition_point(|&(p, _)| p <= pos);
        let delta = if idx == 0 { 0 } else { self.deltas[idx - 1].1 };
        let o = pos as isize + delta;
        (o.max(0) as usize).min(self.orig_len)
    }

    /// Maps a folded byte range to the original text.
    pub fn orig_range(&self, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
        self.orig(r.start)..self.orig(r.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_back() {
        let t = "電話０９０－２３４５ｘ";
        let f = Folded::new(t);
        assert_eq!(f.text, "電話090-2345x");
        let s = f.text.find("090").unwrap_or(0);
        let r = f.orig_range(s..s + 8);
        assert_eq!(&t[r], "０９０－２３４５");
        assert_eq!(f.orig(f.text.len()), t.len());
    }
}
