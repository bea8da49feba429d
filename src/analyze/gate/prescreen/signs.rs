//! The signs of the first tier as one bit-parallel automaton.

/// The signs as one bit-parallel (shift-and) automaton over the characters of a post: each
/// literal word has a bit per character, the word "at" four (a non-letter or the start, `a`,
/// `t`, a non-letter or the end; ASCII or full-width letters, as the gate reads them), and
/// a character that is a sign by itself one. A position's bit is set after a character when
/// the one before was set (or it starts a pattern) and the character can stand there; a
/// pattern's last bit set is a sign. The exact passes see the same signs, so a post goes to
/// them only when one occurs.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Signs {
    /// The first bit of every pattern.
    pub(super) start: u32,
    /// The last bit of every pattern: set, a sign.
    pub(super) last: u32,
    /// The state before the first character (the start counts as a non-letter).
    pub(super) init: u32,
    /// Bits that are a sign when set after the last character (the end counts as a
    /// non-letter).
    pub(super) at_end: u32,
}

impl Signs {
    /// Lays out the patterns; words that do not fit in 32 bits become signs at their first
    /// character. Returns the automaton and each BMP character's positions.
    pub(super) fn new(
        words: &[(Vec<char>, usize)],
        at: bool,
        passes: impl Fn(u32) -> bool,
        letter: impl Fn(u32) -> Option<u8>,
    ) -> (Signs, Vec<u32>) {
        let mut s = Signs::default();
        let mut masks = vec![0u32; 0x10000];
        let mut next = 0u32;
        let mut take = |n: u32| {
            let at = next;
            (at + n <= 32).then(|| {
                next = at + n;
                at
            })
        };
        let by_itself = take(1).unwrap_or(0);
        s.start |= 1 << by_itself;
        s.last |= 1 << by_itself;
        for (cp, m) in masks.iter_mut().enumerate() {
            if passes(cp as u32) {
                *m |= 1 << by_itself;
            }
        }
        if at && let Some(b) = take(4) {
            s.start |= 1 << b;
            s.last |= 1 << (b + 3);
            s.init |= 1 << b;
            s.at_end |= 1 << (b + 2);
            for (cp, m) in masks.iter_mut().enumerate() {
                *m |= match letter(cp as u32) {
                    None => 1 << b | 1 << (b + 3),
                    Some(0) => 1 << (b + 1),
                    Some(19) => 1 << (b + 2),
                    Some(_) => 0,
                };
            }
        }
        for (w, _) in words {
            let Some(first) = w.first() else { continue };
            if w.iter().any(|c| *c as u32 > 0xFFFF) {
                // The first tier reads characters above the BMP as NUL.
                for c in w.iter().map(|c| *c as usize).chain([0]) {
                    if let Some(m) = masks.get_mut(c) {
                        *m |= 1 << by_itself;
                    }
                }
                continue;
            }
            match u32::try_from(w.len()).ok().and_then(&mut take) {
                Some(b) => {
                    s.start |= 1 << b;
                    s.last |= 1 << (b + w.len() as u32 - 1);
                    for (j, c) in w.iter().enumerate() {
                        if let Some(m) = masks.get_mut(*c as usize) {
                            *m |= 1 << (b + j as u32);
                        }
                    }
                }
                None => {
                    if let Some(m) = masks.get_mut(*first as usize) {
                        *m |= 1 << by_itself;
                    }
                }
            }
        }
        (s, masks)
    }
}
