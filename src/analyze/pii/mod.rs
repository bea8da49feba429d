//! Personal-data detection: phone numbers, e-mail addresses, street addresses, My Numbers,
//! card numbers and bank accounts in post text, matching against watched values, and masking
//! for logs and alerts. The kinds, the grammar of each kind, normalized forms (`design.md` §2)
//! and hashing are in `text::pii`, below the watchlist that needs them too; they are
//! re-exported here.
//!
//! Detection runs on a folded copy of the text (full-width ASCII → ASCII, dashes → `-`) so raw
//! and NFKC-normalized text give the same results; ranges are mapped back to the caller's text.
//! Candidates are taken in the order e-mail, digit-based kinds (card > My Number > phone > bank
//! account) and address; a later candidate overlapping an earlier one is dropped.

mod masker;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;

use crate::text::pii::fold::{Folded, fold_char};
pub use crate::text::pii::{PiiKind, WatchedValue, hash_value, normalize_value};
use crate::text::pii::{address, email, numbers};
pub use masker::{MaskRanges, Masker, apply_masks};

/// One piece of personal data found in text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PiiFound {
    /// What kind of value it is.
    pub kind: PiiKind,
    /// Byte range in the text given to [`detect`].
    pub range: Range<usize>,
    /// The stable normalized form (see [`normalize_value`]).
    pub normalized: String,
}

/// Finds personal data in `text` (raw or NFKC-normalized); sorted by `range.start`,
/// non-overlapping. Never panics.
pub fn detect(text: &str) -> Vec<PiiFound> {
    let folded = Folded::new(text);
    let t: &str = &folded.text;
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    let mut found = Vec::new();
    let mut take = |kind: PiiKind, r: Range<usize>, normalized: String| {
        if r.is_empty() {
            return;
        }
        if let Some((_, &end)) = taken.range(..r.end).next_back()
            && end > r.start
        {
            return;
        }
        taken.insert(r.start, r.end);
        found.push(PiiFound {
            kind,
            range: folded.orig_range(r),
            normalized,
        });
    };
    for (r, n) in email::detect(t) {
        take(PiiKind::Email, r, n);
    }
    for f in numbers::detect(t) {
        take(f.kind, f.range, f.normalized);
    }
    for (r, n) in address::detect(t) {
        take(PiiKind::Address, r, n);
    }
    found.sort_by_key(|f| f.range.start);
    found
}

/// How far after a municipality's last character an address's block numbers may start
/// (a town name is at most 12 units of up to 4 characters).
const UNIT_WINDOW: usize = 50;

/// Cheap single-pass prefilter (no allocation): `false` means [`detect`] finds nothing.
///
/// True on: ten digits in a run of digits and separators (six after a banking word), `@`/`＠`,
/// `at` as a word (`(at)`, `[at]`, ` at `), `あっと`/`アット`, or a digit/漢数字 within
/// 50 characters after 市/区/町/村/郡.
pub fn might_contain_pii(text: &str) -> bool {
    let mut digits = 0usize;
    let mut bank_word = false;
    let mut since_unit = usize::MAX;
    let (mut p1, mut p2) = (' ', ' ');
    let mut pending_at = false;
    for (i, c) in text.char_indices() {
        let f = fold_char(c);
        if pending_at && !f.is_ascii_alphabetic() {
            return true;
        }
        pending_at = false;
        if f.is_ascii_digit() {
            digits += 1;
            if digits >= 10 || (bank_word && digits >= 6) || since_unit <= UNIT_WINDOW {
                return true;
            }
        } else if !numbers::is_num_sep(f) {
            digits = 0;
        }
        let kanji_number = matches!(
            f,
            '〇' | '一'
                | '二'
                | '三'
                | '四'
                | '五'
                | '六'
                | '七'
                | '八'
                | '九'
                | '十'
                | '百'
                | '千'
        );
        if f == '@' || (since_unit <= UNIT_WINDOW && kanji_number) {
            return true;
        }
        if f.eq_ignore_ascii_case(&'t')
            && p1.eq_ignore_ascii_case(&'a')
            && !p2.is_ascii_alphabetic()
        {
            pending_at = true;
        }
        if (f == 'と' && p1 == 'っ' && p2 == 'あ') || (f == 'ト' && p1 == 'ッ' && p2 == 'ア')
        {
            return true;
        }
        if matches!(
            c,
            '座' | '通' | '蓄' | '店' | '行' | '金' | '庫' | 'ょ' | '貯' | '先'
        ) {
            let upto = &text[..i + c.len_utf8()];
            bank_word |= numbers::BANK_CONTEXT.iter().any(|k| upto.ends_with(k));
        }
        let unit_end = matches!(f, '市' | '区' | '町' | '村' | '郡');
        since_unit = if unit_end {
            0
        } else {
            since_unit.saturating_add(1)
        };
        (p2, p1) = (p1, f);
    }
    pending_at
}

/// Whether `found` is the watched value. Clear values compare normalized forms, hashed ones
/// compare [`hash_value`] of the found form. Addresses also match when one is a shorter
/// version of the other (prefecture or city left out) that still names the municipality, the
/// town and all block numbers; for hashed addresses the found form is also tried with each
/// prefecture (and, when it starts at a ward, each designated city) put in front.
pub fn watched_matches(kind: PiiKind, watched: &WatchedValue, found: &PiiFound) -> bool {
    if found.kind != kind {
        return false;
    }
    match watched {
        WatchedValue::Clear(v) => {
            let same = |v: &str| match kind {
                PiiKind::Address => address::clear_matches(v, &found.normalized),
                _ => v == found.normalized,
            };
            same(v) || normalize_value(kind, v).is_ok_and(|n| n != *v && same(&n))
        }
        WatchedValue::Hashed(h) => {
            let h = h.trim().trim_start_matches("sha256:").to_ascii_lowercase();
            match kind {
                PiiKind::Address => address::hash_candidates(&found.normalized)
                    .iter()
                    .any(|c| hash_value(c) == h),
                _ => hash_value(&found.normalized) == h,
            }
        }
    }
}

/// Masks a normalized value for logs and alerts; never returns the value in clear:
/// `090-****-6789`, `h****@example.com`, `神奈川県横浜市港北区****`, `********9018`,
/// `**** **** **** 4588`, `****567`.
pub fn mask(kind: PiiKind, normalized: &str) -> String {
    let digits: Vec<char> = normalized.chars().filter(char::is_ascii_digit).collect();
    let last = |n: usize| -> String { digits[digits.len() - n..].iter().collect() };
    match kind {
        PiiKind::Phone if digits.len() >= 10 => {
            format!(
                "{}-****-{}",
                digits[..3].iter().collect::<String>(),
                last(4)
            )
        }
        PiiKind::Email => match normalized.rsplit_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}****@{domain}")
            }
            None => "****".to_string(),
        },
        PiiKind::Address => address::mask(normalized),
        PiiKind::MyNumber if digits.len() > 8 => {
            format!("{}{}", "*".repeat(digits.len() - 4), last(4))
        }
        PiiKind::CreditCard if digits.len() > 8 => {
            let groups = (digits.len() - 4).div_ceil(4);
            format!("{}{}", "**** ".repeat(groups), last(4))
        }
        PiiKind::BankAccount if digits.len() > 4 => format!("****{}", last(3)),
        _ => "****".to_string(),
    }
}
