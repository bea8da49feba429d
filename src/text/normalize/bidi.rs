//! Step 0 of [`normalize`](super::normalize): the text under a right-to-left override, in the
//! order a reader sees it (see the module header of `normalize`).

use unicode_normalization::char::canonical_combining_class;

use super::{Piece, Step};

/// RIGHT-TO-LEFT OVERRIDE: what follows is displayed right to left, letters and digits too.
const RLO: char = '\u{202E}';
/// POP DIRECTIONAL FORMATTING: ends the innermost embedding or override.
const PDF: char = '\u{202C}';

/// Step 0: a run under a right-to-left override, in display order (see the module header).
///
/// Why reverse rather than only strip: the override exists to make the screen show something
/// else than the bytes say. `\u{202E}欺詐\u{202C}` is read as 詐欺 (fraud) by every reader of
/// the page, while its logical order is no word at all; a name written backwards under an
/// override (`\u{202E}事商田山`) is read as 山田商事. Judging the displayed order catches both,
/// and a text reversed in logical order but not on screen is harmless, as nobody reads it so.
/// The run ends at the PDF that closes it (embeddings and overrides opened inside it are
/// counted), at the end of the line (a paragraph end closes every embedding), or at the end of
/// the text. Nested left-to-right overrides are reversed with the rest: rare, and still
/// showing the words an override was used to hide.
pub(super) struct ReverseOverrides<S> {
    next: S,
    /// Open embeddings and overrides since the run began (0: no run).
    depth: u32,
    /// The run's chars, logical order (the embedding and override controls left out).
    run: Vec<Piece>,
    /// Original start of the override.
    start: u32,
    /// Original end of the last char taken into the run.
    end: u32,
}

/// Chars that end a paragraph, and with it every embedding and override (UAX #9, class B).
fn is_paragraph_end(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{1C}'..='\u{1E}' | '\u{85}' | '\u{2029}')
}

/// A char displayed with the char before it: a combining mark, ZWJ or variation selector.
fn extends_cluster(c: char) -> bool {
    canonical_combining_class(c) != 0
        || matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

impl<S: Step> ReverseOverrides<S> {
    pub(super) fn new(next: S) -> Self {
        ReverseOverrides {
            next,
            depth: 0,
            run: Vec::new(),
            start: 0,
            end: 0,
        }
    }

    /// Emits the run in display order, each char mapped to the whole run.
    fn flush(&mut self) {
        let (start, end) = (self.start, self.end);
        let mut clusters: Vec<&[Piece]> = Vec::new();
        let mut from = 0;
        for i in 1..=self.run.len() {
            if i == self.run.len() || !extends_cluster(self.run[i].ch) {
                clusters.push(&self.run[from..i]);
                from = i;
            }
        }
        for cluster in clusters.into_iter().rev() {
            for p in cluster {
                self.next.put(Piece::new(p.ch, start, end));
            }
        }
        self.run.clear();
        self.depth = 0;
    }
}

impl<S: Step> Step for ReverseOverrides<S> {
    type Out = S::Out;
    #[inline]
    fn put(&mut self, p: Piece) {
        if self.depth == 0 {
            if p.ch == RLO {
                (self.depth, self.start, self.end) = (1, p.start, p.end);
            } else {
                self.next.put(p);
            }
            return;
        }
        if is_paragraph_end(p.ch) {
            self.flush();
            self.next.put(p);
            return;
        }
        self.end = p.end;
        match p.ch {
            '\u{202A}' | '\u{202B}' | '\u{202D}' | RLO => self.depth += 1,
            PDF => {
                self.depth -= 1;
                if self.depth == 0 {
                    self.flush();
                }
            }
            _ => self.run.push(p),
        }
    }
    fn finish(mut self) -> S::Out {
        if self.depth > 0 {
            self.flush();
        }
        self.next.finish()
    }
}
