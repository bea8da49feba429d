//! Spread tracking: is a flagged post a copy of an earlier one seen elsewhere? Matome sites
//! and reposters copy board posts word for word, often inside a longer page, sometimes with
//! spaces, full-width letters or a changed line break.
//!
//! A post's [`Sketch`] is the bottom-`K` of the 64-bit hashes of its character 3-grams
//! ("shingles"), taken over the normalized, case- and kana-folded text with spaces, symbols
//! and punctuation removed. Two posts are near-duplicates when the shingles they share are at
//! least [`MIN_SIMILARITY`] of the smaller post's (containment, not Jaccard, so a copy quoted
//! inside a long article still counts) and the smaller has at least [`MIN_SHINGLES`]: a
//! one-line 「山田商事は詐欺」 is said by many people independently and is not a copy.
//!
//! With at most `K` hashes per post the measure is exact for posts up to `K` + 2 characters
//! and a sampled estimate (the bottom-`K` of the union) beyond; board posts are mostly short.

use crate::text::normalize::{fold, normalize};

/// Hashes kept per post.
pub const K: usize = 128;
/// The fewest shingles the shorter of two posts needs before they can be copies.
pub const MIN_SHINGLES: usize = 12;
/// Shared shingles ÷ shingles of the shorter post, at least.
pub const MIN_SIMILARITY: f64 = 0.6;
/// Severity points a hit gains when it is spreading (a copy, or copied), up to 100.
pub const SEVERITY_BOOST: u8 = 10;

/// The shingle sketch of one post.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sketch {
    /// Distinct shingles in the post (all of them, not only the kept hashes).
    pub shingles: usize,
    /// The smallest distinct shingle hashes, ascending, at most [`K`].
    pub hashes: Vec<u64>,
}

impl Sketch {
    /// The sketch of a post body.
    pub fn of(text: &str) -> Sketch {
        let folded = fold(&normalize(text).text);
        let chars: Vec<char> = folded
            .chars()
            .filter(|c| c.is_alphanumeric() || is_japanese(*c))
            .collect();
        let mut all: Vec<u64> = chars.windows(3).map(hash3).collect();
        all.sort_unstable();
        all.dedup();
        let shingles = all.len();
        all.truncate(K);
        Sketch {
            shingles,
            hashes: all,
        }
    }

    /// Containment of the smaller post in the larger: shared ÷ the smaller's count, over the
    /// bottom-`K` of the union. `None` when the smaller is too short to judge.
    pub fn similarity(&self, other: &Sketch) -> Option<f64> {
        let small = self.shingles.min(other.shingles);
        if small < MIN_SHINGLES {
            return None;
        }
        // The union's bottom-K, and how many of those both sketches hold.
        let (mut i, mut j, mut seen, mut both) = (0, 0, 0usize, 0usize);
        let (a, b) = (&self.hashes, &other.hashes);
        while seen < K && (i < a.len() || j < b.len()) {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    both += 1;
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x < y => i += 1,
                (Some(_), Some(_)) => j += 1,
                (Some(_), None) => i += 1,
                (None, _) => j += 1,
            }
            seen += 1;
        }
        if seen == 0 {
            return None;
        }
        // Exact when both sets are whole; otherwise scale the sampled Jaccard-like share to
        // the smaller set: |A∩B| ≈ share × |A∪B|, |A∪B| ≈ |A| + |B| − |A∩B|.
        let whole = self.shingles <= K && other.shingles <= K;
        let shared = if whole {
            both as f64
        } else {
            let share = both as f64 / seen as f64;
            let (na, nb) = (self.shingles as f64, other.shingles as f64);
            // share = s / (na + nb − s)  ⇒  s = share (na + nb) / (1 + share)
            share * (na + nb) / (1.0 + share)
        };
        Some((shared / small as f64).min(1.0))
    }

    /// Whether `other` is a near-duplicate of this post (see the module notes).
    pub fn is_copy(&self, other: &Sketch) -> Option<f64> {
        self.similarity(other).filter(|s| *s >= MIN_SIMILARITY)
    }

    /// The hashes as little-endian bytes (how the store keeps them).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.iter().flat_map(|h| h.to_le_bytes()).collect()
    }

    /// A sketch from [`Sketch::to_bytes`] output; trailing partial bytes are ignored.
    pub fn from_bytes(shingles: usize, bytes: &[u8]) -> Sketch {
        let hashes = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        Sketch { shingles, hashes }
    }
}

fn is_japanese(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}' | '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}')
}

/// FNV-1a over the three code points, then a final mix so the low bits spread.
fn hash3(w: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in w {
        for b in (*c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The thread a post key belongs to: board keys end in `/<number>`, so a copy within the same
/// thread (someone quoting the post) is not spread; other sources' keys are their own thread.
pub fn thread_of(post_key: &str) -> &str {
    match post_key.rsplit_once('/') {
        Some((thread, n))
            if (post_key.starts_with("5ch:") || post_key.starts_with("shitaraba:"))
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit()) =>
        {
            thread
        }
        _ => post_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: &str =
        "山田商事の社長は客の金を持ち逃げした詐欺師。被害者の会もあるらしい、みんな気をつけろ";

    #[test]
    fn a_copy_with_spacing_and_width_changes_is_a_copy() {
        let a = Sketch::of(POST);
        let b = Sketch::of(
            "山田商事の社長は 客の金を持ち逃げした詐欺師。\n被害者の会もあるらしい、ﾐﾝﾅ気をつけろ！！",
        );
        let s = a.is_copy(&b).expect("a copy");
        assert!(s > 0.85, "{s}");
    }

    #[test]
    fn a_copy_inside_a_longer_article_is_a_copy() {
        let article = format!(
            "【悲報】例の会社、またやらかす\n\n1: 名無しさん\n{POST}\n\n2: 名無しさん\nまじかよ、俺もあそこで買い物したことある。返金してもらえるのかな。\n\n3: 名無しさん\n消費者センターに相談した方がいいぞ。"
        );
        let s = Sketch::of(POST)
            .is_copy(&Sketch::of(&article))
            .expect("quoted copy");
        assert!(s > 0.9, "{s}");
    }

    #[test]
    fn different_posts_about_the_same_target_are_not_copies() {
        let a = Sketch::of(POST);
        let b = Sketch::of(
            "山田商事の対応が最悪だった。電話しても担当者がいないの一点張りで話にならない",
        );
        assert_eq!(a.is_copy(&b), None);
    }

    #[test]
    fn short_posts_are_never_copies() {
        let a = Sketch::of("山田商事は詐欺");
        assert_eq!(a.similarity(&a.clone()), None);
    }

    #[test]
    fn long_texts_use_the_sampled_estimate() {
        // Pseudo-random kanji: every 3-gram distinct, far more than K of them.
        let mut x: u32 = 12345;
        let base: String = (0..400)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                char::from_u32(0x4E00 + (x >> 16) % 2000).unwrap_or('山')
            })
            .collect();
        let a = Sketch::of(&base);
        assert!(a.shingles > K);
        let copy = Sketch::of(&format!("{base}以上、転載終わり"));
        assert!(a.is_copy(&copy).expect("copy") > 0.8);
        let other: String = (0..40)
            .map(|i| format!("今日の天気{i}は晴れ、明日は雨が降るらしい。洗濯物に注意。"))
            .collect();
        assert_eq!(a.is_copy(&Sketch::of(&other)), None);
    }

    #[test]
    fn bytes_round_trip() {
        let a = Sketch::of(POST);
        assert_eq!(Sketch::from_bytes(a.shingles, &a.to_bytes()), a);
    }

    #[test]
    fn board_threads() {
        assert_eq!(
            thread_of("5ch:egg.5ch.net/software/1700000000/12"),
            "5ch:egg.5ch.net/software/1700000000"
        );
        assert_eq!(
            thread_of("rss:example.jp/archives/1"),
            "rss:example.jp/archives/1"
        );
    }
}
