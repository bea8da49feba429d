//! A `[[target]]` table: its id, kind, names, aliases, kana readings, exclusions and personal
//! values, each checked with the error at its own position; personal values are normalized
//! (or kept as `sha256:` hashes) here so the analyzer never sees a raw watchlist string.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::{ConfigError, Located, MAX_NAME_CHARS, PersonalValue, Target, TargetKind};
use crate::text::pii::{self, PiiKind, WatchedValue};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    names: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    aliases: Vec<Spanned<String>>,
    #[serde(default)]
    readings: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    personal: Option<RawPersonal>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPersonal {
    #[serde(default)]
    phones: Vec<Spanned<String>>,
    #[serde(default)]
    emails: Vec<Spanned<String>>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
    #[serde(default)]
    my_numbers: Vec<Spanned<String>>,
    #[serde(default)]
    cards: Vec<Spanned<String>>,
    #[serde(default)]
    bank_accounts: Vec<Spanned<String>>,
}

fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn strings(
    loc: &Located,
    prefix: &str,
    field: &str,
    items: Vec<Spanned<String>>,
) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let span = item.span();
        let value = item.into_inner().trim().to_string();
        if value.is_empty() {
            return Err(loc.error(span, format!("{prefix}: {field}: empty string")));
        }
        check_length(loc, prefix, field, &value, span)?;
        if seen.insert(value.clone()) {
            out.push(value);
        }
    }
    Ok(out)
}

/// Refuses a value longer than [`MAX_NAME_CHARS`] (a name is a few words, and every form of
/// every name is compiled into the matcher).
fn check_length(
    loc: &Located,
    prefix: &str,
    field: &str,
    value: &str,
    span: Range<usize>,
) -> Result<(), ConfigError> {
    if value.chars().nth(MAX_NAME_CHARS).is_some() {
        let head: String = value.chars().take(20).collect();
        return Err(loc.error(
            span.start..span.start,
            format!(
                "{prefix}: {field}: \"{head}…\" is longer than {MAX_NAME_CHARS} characters (a name, alias, reading or phrase is a few words)"
            ),
        ));
    }
    Ok(())
}

pub(super) fn validate_target(
    loc: &Located,
    raw: RawTarget,
    span: Range<usize>,
) -> Result<Target, ConfigError> {
    let id_span = raw.id.span();
    let id = raw.id.into_inner();
    if !is_valid_id(&id) {
        return Err(loc.error(
            id_span,
            format!("target \"{id}\": id: use only a-z, 0-9, '_' and '-'"),
        ));
    }
    let prefix = format!("target \"{id}\"");
    let kind_span = raw.kind.span();
    let kind = match raw.kind.into_inner().as_str() {
        "business" => TargetKind::Business,
        "person" => TargetKind::Person,
        other => {
            return Err(loc.error(
                kind_span,
                format!(
                    "{prefix}: kind: unknown kind \"{other}\" (use \"business\" or \"person\")"
                ),
            ));
        }
    };
    let (names_span, names) = match raw.names {
        Some(n) => (n.span(), strings(loc, &prefix, "names", n.into_inner())?),
        None => (span, Vec::new()),
    };
    if names.is_empty() {
        return Err(loc.error(names_span, format!("{prefix}: names must not be empty")));
    }
    let aliases = strings(loc, &prefix, "aliases", raw.aliases)?;
    let readings_raw = raw.readings;
    let mut readings = Vec::new();
    for r in readings_raw {
        let span = r.span();
        let value = r.into_inner();
        let trimmed: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        check_length(loc, &prefix, "readings", &trimmed, span.clone())?;
        if trimmed.is_empty() || !crate::text::reading::is_kana(&trimmed) {
            return Err(loc.error(
                span,
                format!(
                    "{prefix}: readings: \"{value}\" is not kana (write it in hiragana or katakana)"
                ),
            ));
        }
        readings.push(trimmed);
    }
    let exclude = strings(loc, &prefix, "exclude", raw.exclude)?;
    let personal_raw = raw.personal.unwrap_or_default();
    let groups = [
        ("phones", PiiKind::Phone, personal_raw.phones),
        ("emails", PiiKind::Email, personal_raw.emails),
        ("addresses", PiiKind::Address, personal_raw.addresses),
        ("my_numbers", PiiKind::MyNumber, personal_raw.my_numbers),
        ("cards", PiiKind::CreditCard, personal_raw.cards),
        (
            "bank_accounts",
            PiiKind::BankAccount,
            personal_raw.bank_accounts,
        ),
    ];
    let mut personal = Vec::new();
    for (field, kind, values) in groups {
        for v in values {
            let span = v.span();
            let value = parse_personal(kind, v.get_ref())
                .map_err(|why| loc.error(span, format!("{prefix}: personal.{field}: {why}")))?;
            personal.push(PersonalValue { kind, value });
        }
    }
    Ok(Target {
        id,
        kind,
        names,
        aliases,
        readings,
        exclude,
        personal,
    })
}

/// Parses a watchlist personal value: `sha256:<64 hex>` or a clear value to normalize.
pub fn parse_personal(kind: PiiKind, value: &str) -> Result<WatchedValue, String> {
    let value = value.trim();
    if let Some(hex) = value.strip_prefix("sha256:") {
        let hex = hex.trim().to_ascii_lowercase();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "bad sha256 value \"{value}\": expected \"sha256:\" and 64 hex digits (make one with `mimamori watchlist hash VALUE --kind {}`)",
                kind.as_str()
            ));
        }
        return Ok(WatchedValue::Hashed(hex));
    }
    pii::normalize_value(kind, value).map(WatchedValue::Clear)
}
