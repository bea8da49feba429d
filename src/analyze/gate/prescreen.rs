//! The prescreen: a byte-level necessary condition of the gate, so that most posts are
//! rejected by a cheap pass, without the gate's digit buffers, run texts or per-anchor tables.
//!
//! The gate passes a post for one of five reasons, and each has a form that needs no more
//! than a few counters per post:
//!
//! - a pattern group: at least `need` of its anchors occur within its span of letters. Each
//!   anchor owns one bit of a 64-bit word (anchors of one group get different bits while
//!   there are bits to spare; when two share one, the group's need drops by one, so the test
//!   stays a necessary condition however many anchors there are);
//! - an ASCII run that holds an ASCII name or a romaji key: some run of the characters the
//!   gate joins into a run (letters, digits, `-'._`, spaces, full-width forms, invisible
//!   characters) holds enough letters, and the letters of some name or key in order, each
//!   from one of the letters it can be spelled from (a key's `t` from `t` or `c`, see
//!   [`crate::text::reading::romaji_key_letter_sources`] and [`Spelling`]);
//! - a digit chain of a watched number: some chain of digits joined by at most three
//!   separators, as the gate reads it, ends with the last (up to 16) digits of a watched
//!   number, or is long enough for a hashed one; a digit of another form (①, ⑴…) lets the post
//!   through;
//! - an e-mail sign: an '@', the word "at" in ASCII or full-width letters (no letter on
//!   either side), or one of the literals (＠, invisible characters that the gate skips
//!   between letters, あっと…);
//! - an address shape: one of the address marks.
//!
//! The tiers, each a necessary condition of the next:
//!
//! 1. [`Prescreen::pass`]: one loop with no branch on a character's role (the roles of mixed
//!    text are what a branch predictor cannot learn). Each character is looked up in a u8
//!    table of the BMP that names its 32-byte entry, applied with a few ANDs, ORs, shifts
//!    and adds: anchor bits and letter bits ORed; the digit chain and the letter run kept as
//!    two 16-bit lanes of one word that a character either keeps or resets, each starting at
//!    `2^15 - need` so that its top bit says "long enough"; the signs as one bit-parallel
//!    automaton ([`Signs`]: whole words, and "at" with its boundaries). Chains here ignore
//!    the three-separator limit and the watched digits, and runs are not checked run by run,
//!    so this tier only over-approximates. Most no-hit posts stop here.
//! 2. A sign, or a long run while the post's letters could spell a name or key, and one run
//!    spells it in order ([`Prescreen::runs_cover`]): the exact passes of
//!    [`Prescreen::scan`] (as the gate reads the post, without its buffers; one u16 table of
//!    the BMP gives each character's role and whether it counts as a letter of distance),
//!    first with each group's anchors needed *anywhere*, then with letter positions and the
//!    gate's window test.
//! 3. Otherwise a long chain is read as the gate reads it ([`Prescreen::chains_pass`]), and
//!    when a group's need of anchors occurs somewhere (long posts, mostly, where common kana
//!    anchors all occur), [`Prescreen::windows`] runs the window test alone, for those groups:
//!    first sparsely ([`Prescreen::rare_near`]: a packed literal search finds each group's
//!    rarest anchors, and only a few letters around each are read), then over the whole post.
//!
//! Characters above the BMP that matter at all send the post to the exact passes.

/// The role bits of a character.
pub(super) mod role {
    /// A digit of a chain.
    pub const DIGIT: u8 = 1;
    /// A separator inside a digit chain.
    pub const SEPARATOR: u8 = 2;
    /// Invisible: neither breaks a digit chain nor counts in it.
    pub const TRANSPARENT: u8 = 4;
    /// Continues an ASCII run.
    pub const RUN: u8 = 8;
    /// A letter of an ASCII run (with [`RUN`]).
    pub const LETTER: u8 = 16;
    /// Lets the post through by itself.
    pub const PASS: u8 = 32;
    /// May be the trigger character of a literal word.
    pub const WORD: u8 = 64;
    /// The 't' of the word "at" (e-mails are watched).
    pub const AT_T: u8 = 128;
}

use role::*;

mod chain;
mod compile;
mod near;
mod signs;
mod spell;

use chain::Chain;
use near::Rare;
use signs::Signs;
use spell::Spelling;

/// What one character is to the prescreen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct CharSpec {
    /// [`role`] bits.
    pub flags: u8,
    /// The anchors it is a raw form of.
    pub anchors: Vec<u16>,
    /// A letter's index (`a` = 0), a digit's value.
    pub value: u8,
}

/// What the gate needs the prescreen to look for.
#[derive(Debug, Clone, Default)]
pub(super) struct Spec {
    /// Every non-ASCII character with a role or an anchor.
    pub chars: Vec<(char, CharSpec)>,
    /// The role of each ASCII byte.
    pub ascii: Vec<CharSpec>,
    /// Pattern groups: their anchors (rarest first), how many distinct ones must occur, and
    /// within how many letters of each other (the gate's span).
    pub groups: Vec<(Vec<u16>, usize, u32)>,
    /// Words that let a post through, with the byte offset of their trigger character (one
    /// marked [`WORD`]).
    pub words: Vec<(String, usize)>,
    /// Letters in one run that let a post through, when runs are checked, if the run spells
    /// one of `keys`.
    pub letters: Option<usize>,
    /// Names and keys a run may hold: for each of their letters in order, the letters (a bit
    /// each) it may be spelled from (see [`Spelling`]).
    pub keys: Vec<Vec<u32>>,
    /// Digits in one chain that let a post through whatever they are (hashed numbers).
    pub digits: Option<usize>,
    /// Watched numbers: their last (up to 16) digits, and the chain length they need.
    pub numbers: Vec<(Vec<u8>, usize)>,
}

/// What the first tier does with one character: OR its anchor bits and letter bit, keep or
/// reset the chain and run lanes and add to them, and step the sign automaton.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(32))]
struct Quick {
    anchors: u64,
    /// Lane bits kept (all ones in a lane that goes on, zero in one that ends here).
    keep: u32,
    /// Added after `keep`: the lane's start where it ends, plus one digit or letter.
    add: u32,
    /// The letter's bit in the post's letter set.
    letter_bit: u32,
    /// The positions of the sign automaton ([`Signs`]) that this character can stand at.
    signs: u32,
    /// 1 if the character counts as a letter of distance (the window test's).
    letter: u32,
}

/// The [`Quick`] entry of a character that is a sign by itself (entry 255 of the table,
/// shared by every entry past 254).
const QUICK_SIGN: Quick = Quick {
    anchors: 0,
    keep: 0,
    add: 0,
    letter_bit: 0,
    signs: u32::MAX,
    letter: 0,
};

/// The longest post the first tier takes: its 16-bit lanes cannot overflow below this.
const QUICK_MAX_BYTES: usize = 1 << 14;

/// A compiled character role: the bits of its anchors, flags and value.
#[derive(Debug, Clone, Copy, Default)]
struct Info {
    anchors: u64,
    flags: u8,
    value: u8,
}

/// The compiled prescreen of one gate.
#[derive(Debug, Clone)]
pub(super) struct Prescreen {
    /// Per BMP code point: its entry in `info` (0: no role), and [`LETTER_POS`] if it counts
    /// as a letter of distance (as the gate counts).
    index: Box<[u16; 0x10000]>,
    /// Entry 0 for characters without a role, then the roles of the others.
    info: Vec<Info>,
    /// Every group: the bits of its anchors, how many must be seen within its span, the span.
    groups: Vec<(u64, u32, u32)>,
    /// The groups holding each anchor bit.
    groups_of: Vec<Vec<u16>>,
    /// Characters above the BMP that let a post through.
    astral: Vec<char>,
    /// Literal words and the byte offset of their trigger.
    words: Vec<(Vec<u8>, usize)>,
    letters: usize,
    keys: Vec<Vec<u32>>,
    digits: usize,
    /// Watched numbers as 4-bit digits: value, mask, chain length needed.
    numbers: Vec<(u64, u64, usize)>,
    /// The shortest chain that can pass.
    shortest_chain: usize,
    /// Per BMP code point: its entry in `quick` (the first tier's own, smaller table).
    quick_index: Box<[u8; 0x10000]>,
    /// The first tier's entry of each `info` entry (255: every entry past 254).
    quick: Box<[Quick; 256]>,
    /// The sign automaton of the first tier.
    signs: Signs,
    /// Whether the word "at" is a sign (e-mails are watched).
    at_word: bool,
    /// The lanes at the start of a post (each at `2^15 - need`).
    lane_start: u32,
    /// Anchor bits of which a post must hold one for any group to pass (for each group, all
    /// but `need - 1` of its bits).
    required: u64,
    /// Searchers for each group's rarest members (the sparse window test).
    rare: Rare,
}

/// Bit of an [`Prescreen::index`] entry: the character counts as a letter of distance.
const LETTER_POS: u16 = 0x8000;

impl Prescreen {
    /// Whether a set of letters (a bit each) holds a source of every letter of one of the
    /// names or keys (the first tier's test; [`Spelling`] also needs their order).
    fn covers(&self, letters: u32) -> bool {
        self.keys
            .iter()
            .any(|key| key.iter().all(|sources| sources & letters != 0))
    }

    /// Whether a digit chain may hold a watched number: long enough for a hashed one, or
    /// ending with one's digits.
    fn chain_passes(&self, chain: &Chain) -> bool {
        chain.len >= self.shortest_chain
            && (chain.len >= self.digits
                || self
                    .numbers
                    .iter()
                    .any(|&(value, mask, n)| chain.len >= n && chain.tail & mask == value))
    }

    /// Whether some digit chain may hold a watched number (the first tier only knows that
    /// one is long enough).
    fn chains_pass(&self, raw: &str) -> bool {
        let mut chain = Chain::default();
        for c in raw.chars() {
            let cp = bmp(c);
            let info = &self.info[usize::from(self.index[cp as usize] & !LETTER_POS)];
            if chain.step(info.flags, info.value) && self.chain_passes(&chain) {
                return true;
            }
        }
        false
    }

    /// Whether the character at byte `at`, with flags `f`, lets the post through by itself:
    /// a sign, the trigger of a literal word.
    #[inline]
    fn signals(&self, raw: &[u8], at: usize, f: u8) -> bool {
        f & PASS != 0 || (f & WORD != 0 && self.word_at(raw, at))
    }

    /// Whether a character above the BMP lets a post through.
    fn astral_passes(&self, cp: u32) -> bool {
        !self.astral.is_empty()
            && char::from_u32(cp).is_some_and(|c| self.astral.binary_search(&c).is_ok())
    }

    /// Whether a literal word has its trigger at byte `i` of `raw`.
    fn word_at(&self, raw: &[u8], i: usize) -> bool {
        self.words
            .iter()
            .any(|(w, at)| i >= *at && raw[i - at..].starts_with(w))
    }

    /// True if a group of anchor bit `b`, just seen at `here`, has its need of anchors
    /// within its span.
    fn completes(&self, b: usize, here: u32, last: &[u32; 64]) -> bool {
        self.groups_of[b].iter().any(|&g| {
            let (mask, need, span) = self.groups[usize::from(g)];
            Self::near(mask, here, span, last) >= need
        })
    }

    /// False only if the gate cannot pass `raw`: the first tier (see the module), then the
    /// exact passes or the window test for the posts it cannot dismiss.
    pub(super) fn pass(&self, raw: &str) -> bool {
        let bytes = raw.as_bytes();
        if bytes.len() >= QUICK_MAX_BYTES {
            return self.exact(bytes);
        }
        let mut seen = 0u64;
        let (mut lanes, mut lanes_seen) = (self.lane_start, 0u32);
        let (sign_start, sign_last) = (self.signs.start, self.signs.last);
        let (mut letters, mut states, mut state) = (0u32, 0u32, self.signs.init);
        for c in raw.chars() {
            let mut cp = c as u32;
            if cp > 0xFFFF {
                if !self.astral.is_empty() {
                    return self.exact(bytes);
                }
                // Above the BMP: no role, no letter (as NUL), as the exact passes read it.
                cp = 0;
            }
            let q = &self.quick[usize::from(self.quick_index[cp as usize])];
            seen |= q.anchors;
            state = ((state << 1) | sign_start) & q.signs;
            states |= state;
            lanes = (lanes & q.keep) + q.add;
            lanes_seen |= lanes;
            letters |= q.letter_bit;
        }
        let signs = (states & sign_last) | (state & self.signs.at_end);
        let long_chain = lanes_seen & (1 << 15) != 0;
        let long_run = lanes_seen & (1 << 31) != 0;
        if signs != 0 || (long_run && self.covers(letters) && self.runs_cover(raw)) {
            return self.exact(bytes);
        }
        // Without a sign or run, the exact passes would pass the post for a chain or a window.
        if long_chain && self.chains_pass(raw) {
            return true;
        }
        seen & self.required != 0 && self.windows(raw, seen)
    }

    /// Whether one long enough run spells a name or key in order (the first tier only knows
    /// that the post's letters can and that some run is long): first whether the letters of
    /// the long runs can, with a few bit operations a character, then, for the few posts
    /// where they can, whether one run spells it in order ([`Spelling`]).
    fn runs_cover(&self, raw: &str) -> bool {
        let mut lanes = self.lane_start;
        let (mut run_set, mut long_runs) = (0u32, 0u32);
        for c in raw.chars() {
            let q = self.quick_of(c);
            lanes = (lanes & q.keep) + q.add;
            run_set = (run_set & 0u32.wrapping_sub(q.keep >> 31)) | q.letter_bit;
            long_runs |= run_set & 0u32.wrapping_sub(lanes >> 31);
        }
        long_runs != 0 && self.covers(long_runs) && self.runs_spell(raw)
    }

    /// Whether one long enough run spells a name or key in order ([`Spelling`]).
    fn runs_spell(&self, raw: &str) -> bool {
        let mut lanes = self.lane_start;
        let mut spelling = Spelling::new(self.keys.len());
        for c in raw.chars() {
            let q = self.quick_of(c);
            lanes = (lanes & q.keep) + q.add;
            if q.keep >> 31 == 0 {
                spelling.reset();
            }
            let spelled = if q.letter_bit != 0 {
                spelling.feed(&self.keys, q.letter_bit)
            } else {
                spelling.done()
            };
            if spelled && lanes >> 31 != 0 {
                return true;
            }
        }
        false
    }

    /// A character's first-tier entry (one above the BMP as NUL).
    #[inline(always)]
    fn quick_of(&self, c: char) -> &Quick {
        &self.quick[usize::from(self.quick_index[bmp(c) as usize])]
    }

    /// Whether a group of anchor bits `mask` has its need of them among `seen` (anywhere in
    /// the post): the window test follows it.
    #[inline(always)]
    fn open(mask: u64, need: u32, seen: u64) -> bool {
        mask & seen != 0 && (mask & seen).count_ones() >= need
    }

    /// Whether some group has its need of anchor bits among `seen` (anywhere in the post).
    fn groups_seen(&self, seen: u64) -> bool {
        self.groups
            .iter()
            .any(|&(mask, need, _)| Self::open(mask, need, seen))
    }

    /// The exact passes of [`Prescreen::scan`]: the first needs each group's anchors
    /// *somewhere*; the posts it lets through are scanned again with positions.
    fn exact(&self, raw: &[u8]) -> bool {
        self.scan::<false>(raw) && self.scan::<true>(raw)
    }

    /// The window test alone (no sign, chain or run can pass the post): some group has its
    /// need of anchors within its span, as [`Prescreen::scan`] counts letters. Only the
    /// groups whose need is among `seen` (the post's anchor bits) can complete, so only
    /// their anchors are followed (none: false at once; more than [`MAX_WINDOWS`]: the post
    /// passes), and only if one of them passes the sparse test of [`Prescreen::rare_near`].
    fn windows(&self, raw: &str, seen: u64) -> bool {
        let mut open = [(0u64, 0u32, 0u32); MAX_WINDOWS];
        let mut n = 0;
        let mut followed = 0u64;
        let mut near = false;
        for (g, &(mask, need, span)) in self.groups.iter().enumerate() {
            if Self::open(mask, need, seen) {
                let Some(slot) = open.get_mut(n) else {
                    return true;
                };
                *slot = (mask, need, span);
                n += 1;
                followed |= mask;
                near = near || self.rare_near(raw, g);
            }
        }
        if !near {
            return false;
        }
        let open = &open[..n];
        let mut last = [NEVER; 64];
        let mut pos = 0u32;
        for c in raw.chars() {
            let cp = bmp(c);
            let q = &self.quick[usize::from(self.quick_index[cp as usize])];
            let here = pos;
            pos += q.letter;
            let anchors = q.anchors & followed;
            if anchors == 0 {
                continue;
            }
            let here = Self::anchor_letter(cp, here);
            let mut bits = anchors;
            while bits != 0 {
                last[bits.trailing_zeros() as usize] = here;
                bits &= bits - 1;
            }
            for &(mask, need, span) in open {
                if mask & anchors != 0 && Self::near(mask, here, span, &last) >= need {
                    return true;
                }
            }
        }
        false
    }

    /// The letter an anchor stands at: a separate voicing mark at its base's.
    #[inline(always)]
    fn anchor_letter(cp: u32, here: u32) -> u32 {
        if matches!(cp, 0x3099 | 0x309A | 0xFF9E | 0xFF9F) {
            here.saturating_sub(1)
        } else {
            here
        }
    }

    /// How many of the anchor bits in `mask` were last seen within `span` letters of `here`.
    #[inline(always)]
    fn near(mask: u64, here: u32, span: u32, last: &[u32; 64]) -> u32 {
        let mut near = 0;
        let mut bits = mask;
        while bits != 0 {
            let at = last[bits.trailing_zeros() as usize];
            near += u32::from(at != NEVER && here.abs_diff(at) <= span);
            bits &= bits - 1;
        }
        near
    }

    /// Records anchors seen at letter `here` (a separate voicing mark at its base's letter)
    /// and tells whether one of their groups is now complete.
    #[inline(always)]
    fn note_anchors(&self, cp: u32, anchors: u64, here: u32, last: &mut [u32; 64]) -> bool {
        let here = Self::anchor_letter(cp, here);
        let mut bits = anchors;
        while bits != 0 {
            last[bits.trailing_zeros() as usize] = here;
            bits &= bits - 1;
        }
        let mut bits = anchors;
        while bits != 0 {
            if self.completes(bits.trailing_zeros() as usize, here, last) {
                return true;
            }
            bits &= bits - 1;
        }
        false
    }

    /// One pass as the gate reads the post, without its buffers: digits must form a chain,
    /// letters a run; a group needs its anchors anywhere, or (with `WINDOWS`) within its span.
    #[inline(always)]
    fn scan<const WINDOWS: bool>(&self, raw: &[u8]) -> bool {
        let mut seen = 0u64;
        // Where each anchor bit was last seen, in letters.
        let mut last = [NEVER; 64];
        let mut pos = 0u32;
        // The current digit chain (digits, separators since the last digit, its last 16
        // digits) and letter run (letters, how far it spells each name and key).
        let mut chain = Chain::default();
        let mut run = 0usize;
        let mut spelling = Spelling::new(self.keys.len());
        // The word "at" (ASCII or full-width letters), as the gate reads it.
        let mut at_word = super::AtWord::default();
        let mut i = 0;
        let n = raw.len();
        while i < n {
            let at = i;
            let (cp, width) = super::decode_at(raw, i);
            let cp = if cp < 0x10000 {
                cp
            } else if self.astral_passes(cp) {
                return true;
            } else {
                // Above the BMP: no role, no letter (as NUL).
                0
            };
            i += width;
            let slot = self.index[cp as usize & 0xFFFF];
            let info = &self.info[usize::from(slot & !LETTER_POS)];
            seen |= info.anchors;
            let here = pos;
            if WINDOWS {
                pos += u32::from(slot >> 15);
            }
            if WINDOWS && info.anchors != 0 && self.note_anchors(cp, info.anchors, here, &mut last)
            {
                return true;
            }
            let f = info.flags;
            if self.at_word {
                at_word.feed((f & LETTER != 0).then(|| char::from(b'a' + info.value)));
                if at_word.found {
                    return true;
                }
            }
            if f == 0 {
                // Anything without a role ends the chain and the run.
                chain.end();
                run = 0;
                spelling.reset();
                continue;
            }
            if f & (PASS | WORD) != 0 && self.signals(raw, at, f) {
                return true;
            }
            if chain.step(f, info.value) && self.chain_passes(&chain) {
                return true;
            }
            if f & RUN == 0 {
                run = 0;
                spelling.reset();
            } else if f & LETTER != 0 {
                run += 1;
                if spelling.feed(&self.keys, 1 << info.value) && run >= self.letters {
                    return true;
                }
            }
        }
        at_word.feed(None);
        (self.at_word && at_word.found) || (!WINDOWS && self.groups_seen(seen))
    }
}

/// The most groups the window test follows at once (a post with more that could complete
/// passes to the gate).
const MAX_WINDOWS: usize = 16;

/// A character's code point for the BMP tables: one above the BMP reads as NUL (no role, no
/// letter), as the exact passes read it when no astral character matters.
#[inline(always)]
fn bmp(c: char) -> u32 {
    let cp = c as u32;
    if cp > 0xFFFF { 0 } else { cp }
}

/// An anchor bit not seen yet.
const NEVER: u32 = u32::MAX;

#[cfg(test)]
mod tests;
