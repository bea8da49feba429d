//! A sparse necessary condition of the window test: only the neighbourhoods of a group's
//! rarest anchors are read, not the whole post.
//!
//! If the gate passes a post for a group, the `need` anchors it found within the group's
//! span include one of its rarest `count - need + 1` members (the other members are only
//! `need - 1`). So some occurrence of a rare member must have, within `span + 1` letters on
//! either side (one more for a voicing mark, which stands at its base's letter), enough of
//! the group's anchor bits. Long posts where every common kana anchor occurs somewhere hold
//! few rare ones: a packed literal search finds them, and each is checked by reading a few
//! letters around it.

use aho_corasick::{AhoCorasick, MatchKind};

use super::{Info, LETTER_POS, Prescreen};

/// For each pattern group, a searcher for every raw form of its rarest members (`None`: the
/// group is never skipped this way).
#[derive(Debug, Clone, Default)]
pub(super) struct Rare {
    finders: Vec<Option<AhoCorasick>>,
}

impl Rare {
    /// Builds a searcher per group for the BMP characters whose anchor bits meet the group's
    /// `rare` bits (`None`: the group needs no anchor); `index` and `info` are the
    /// prescreen's tables.
    pub(super) fn new(rare: &[Option<u64>], index: &[u16; 0x10000], info: &[Info]) -> Rare {
        let finders = rare
            .iter()
            .map(|&bits| {
                let bits = bits?;
                let forms: Vec<String> = (0..0x10000u32)
                    .filter(|&cp| {
                        let slot = index[cp as usize] & !LETTER_POS;
                        info.get(usize::from(slot))
                            .is_some_and(|i| i.anchors & bits != 0)
                    })
                    .filter_map(char::from_u32)
                    .map(String::from)
                    .collect();
                if forms.is_empty() {
                    return None;
                }
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&forms)
                    .ok()
            })
            .collect();
        Rare { finders }
    }
}

impl Prescreen {
    /// False only if group `g` cannot complete its window in `raw`: no occurrence of one of
    /// its rare members has the group's need of anchor bits within `span + 1` letters.
    pub(super) fn rare_near(&self, raw: &str, g: usize) -> bool {
        let Some(Some(finder)) = self.rare.finders.get(g) else {
            return true;
        };
        let Some(&(mask, need, span)) = self.groups.get(g) else {
            return true;
        };
        let reach = span + 1;
        for m in finder.find_iter(raw) {
            let (before, after) = raw.split_at(m.start());
            let mut bits = 0u64;
            let mut letters = 0;
            for c in before.chars().rev() {
                let q = self.quick_of(c);
                letters += q.letter;
                if letters > reach {
                    break;
                }
                bits |= q.anchors;
            }
            letters = 0;
            for c in after.chars() {
                if letters > reach {
                    break;
                }
                let q = self.quick_of(c);
                bits |= q.anchors;
                letters += q.letter;
            }
            if (bits & mask).count_ones() >= need {
                return true;
            }
        }
        false
    }
}
