//! Personal-data detection: phone numbers, e-mail addresses, street addresses, My Numbers,
//! card numbers and bank accounts in post text, their normalized forms (`design.md` §2), hashing
//! and matching against watched values, and masking for logs and alerts.
//!
//! Detection runs on a folded copy of the text (full-width ASCII → ASCII, dashes → `-`) so raw
//! and NFKC-normalized text give the same results; ranges are mapped back to the caller's text.
//! Candidates are taken in the order e-mail, digit-based kinds (card > My Number > phone > bank
//! account) and address; a later candidate overlapping an earlier one is dropped.

mod address;
mod email;
mod fold;
mod masker;
mod numbers;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use fold::{Folded, fold_char};
pub use masker::{MaskRanges, Masker, apply_masks};

/// PII kinds (`design.md`): serialized snake_case: `phone`, `email`, `address`, `my_number`,
/// `credit_card`, `bank_account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    /// A Japanese phone number (mobile or landline; not free dial or navi dial).
    Phone,
    /// An e-mail address, also when obfuscated (`(at)`, `[dot]`, `あっと`).
    Email,
    /// A street address with block numbers.
    Address,
    /// A 12-digit My Number (個人番号) with a valid check digit.
    MyNumber,
    /// A Luhn-valid payment card number from a real issuer range.
    CreditCard,
    /// A bank account number next to banking words (口座, 普通, 支店, …).
    BankAccount,
}

impl PiiKind {
    /// Every kind, in declaration order.
    pub const ALL: [PiiKind; 6] = [
        PiiKind::Phone,
        PiiKind::Email,
        PiiKind::Address,
        PiiKind::MyNumber,
        PiiKind::CreditCard,
        PiiKind::BankAccount,
    ];

    /// The stable snake_case name (`phone`, `email`, `address`, `my_number`, `credit_card`,
    /// `bank_account`).
    pub fn as_str(self) -> &'static str {
        match self {
            PiiKind::Phone => "phone",
            PiiKind::Email => "email",
            PiiKind::Address => "address",
            PiiKind::MyNumber => "my_number",
            PiiKind::CreditCard => "credit_card",
            PiiKind::BankAccount => "bank_account",
        }
    }
}

impl std::fmt::Display for PiiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// A watched personal value from a watchlist: in clear (already normalized) or as the SHA-256
/// hex of its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchedValue {
    /// The normalized value.
    Clear(String),
    /// 64 lower-case hex digits: SHA-256 of the normalized value.
    Hashed(String),
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

/// Normalizes a watchlist value of `kind` to its stable form (`design.md` §2): phone = digits
/// with a leading 0 (`+81` folded), e-mail = lower-case, address = NFKC with 漢数字 → digits and
/// 丁目/番地/番/号 → `-` (no spaces, postal code and room dropped), My Number / card / bank
/// account = digits. `Err` is a human message saying why the value is not a valid `kind`.
pub fn normalize_value(kind: PiiKind, value: &str) -> Result<String, String> {
    let folded: String = value.nfkc().map(fold_char).collect();
    let v = folded.trim();
    match kind {
        PiiKind::Phone => normalize_phone(v),
        PiiKind::Email => email::normalize(v)
            .ok_or_else(|| format!("not an e-mail address: expected name@domain.tld, got {v:?}")),
        PiiKind::Address => address::normalize(v),
        PiiKind::MyNumber => {
            let d = digits_only(v, "My Number", "- ")?;
            if d.len() != 12 {
                Err(format!(
                    "not a My Number: expected 12 digits, got {}",
                    d.len()
                ))
            } else if !numbers::my_number_ok(&d) {
                Err("not a My Number: the check digit (last digit) does not match".to_string())
            } else {
                Ok(d)
            }
        }
        PiiKind::CreditCard => {
            let d = digits_only(v, "card number", "- ")?;
            if !(13..=19).contains(&d.len()) {
                Err(format!(
                    "not a card number: expected 13 to 19 digits, got {}",
                    d.len()
                ))
            } else if !numbers::card_value_ok(&d) {
                Err("not a card number: the Luhn checksum does not match".to_string())
            } else {
                Ok(d)
            }
        }
        PiiKind::BankAccount => {
            let d = digits_only(v, "bank account number", "- ")?;
            if (6..=8).contains(&d.len()) || d.len() == 13 {
                Ok(d)
            } else {
                Err(format!(
                    "not a bank account number: expected 6 to 8 digits (ゆうちょ: 記号 5 + 番号 8), got {}",
                    d.len()
                ))
            }
        }
    }
}

fn digits_only(v: &str, what: &str, seps: &str) -> Result<String, String> {
    if let Some(c) = v
        .chars()
        .find(|&c| !c.is_ascii_digit() && !seps.contains(c))
    {
        return Err(format!("not a {what}: unexpected character {c:?}"));
    }
    Ok(v.chars().filter(char::is_ascii_digit).collect())
}

fn normalize_phone(v: &str) -> Result<String, String> {
    let d = digits_only(v, "phone number", "-.()+ ー")?;
    let d = if v.starts_with('+') {
        let Some(nat) = d.strip_prefix("81") else {
            return Err(
                "not a phone number: only Japanese numbers (+81) are supported".to_string(),
            );
        };
        format!("0{}", nat.strip_prefix('0').unwrap_or(nat))
    } else {
        d
    };
    if !(10..=11).contains(&d.len()) || !d.starts_with('0') {
        return Err(
            "not a phone number: expected 10 or 11 digits starting with 0 (or +81)".to_string(),
        );
    }
    if !numbers::phone_ok(&d) {
        return Err(
            "not a personal phone number: service numbers (0120, 0800, 0570, 0990) and \
                    incomplete mobile numbers are never detected"
                .to_string(),
        );
    }
    Ok(d)
}

/// Lower-case hex SHA-256 of the UTF-8 bytes of a normalized value.
pub fn hash_value(normalized: &str) -> String {
    hex::encode(Sha256::digest(normalized.as_bytes()))
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
