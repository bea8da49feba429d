//! Personal values and their written forms: the kinds ([`PiiKind`]), a watched value
//! ([`WatchedValue`]), the normalized form of a value of each kind (`design.md` §2) and its
//! hash. The grammar of each kind lives in its own file — phone, My Number, card and bank
//! account numbers in `numbers`, e-mail addresses in `email`, street addresses in `address` —
//! with the character folding they all run on (`fold`).
//!
//! This sits below the watchlist (`config` normalizes or checks every personal value it loads)
//! and below the analyzer (`analyze::pii` finds these forms in post text, matches them with
//! watched values and masks them).

pub(crate) mod address;
pub(crate) mod email;
pub(crate) mod fold;
pub(crate) mod numbers;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use fold::fold_char;

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

/// A watched personal value from a watchlist: in clear (already normalized) or as the SHA-256
/// hex of its normalized form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchedValue {
    /// The normalized value.
    Clear(String),
    /// 64 lower-case hex digits: SHA-256 of the normalized value.
    Hashed(String),
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
