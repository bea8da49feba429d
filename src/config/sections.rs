//! The tables other modules read (`[alert]`, `[fetch]`, `[evidence]`, `[recheck]`,
//! `[whois]`): where each was written, and reading one as the module's own type with every
//! error reported at `file:line:col` of the field it is about.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Watchlist, field_span, line_col};

impl Watchlist {
    /// `file:line:col` of `field` in the `index`-th (0-based) `[name]` / `[[name]]` table, or
    /// of the table's header when the field is not written there or not given; `None` when the
    /// table was not read from a file. The modules that read [`Watchlist::extra`] put it in
    /// front of their errors.
    pub fn locate(&self, name: &str, index: usize, field: Option<&str>) -> Option<String> {
        let site = self.sites.get(name)?.get(index)?;
        let span = match field {
            Some(f) => field_span(&site.text, site.span.clone(), f),
            None => site.span.clone(),
        };
        let (line, column) = line_col(&site.text, span.start);
        Some(format!("{}:{line}:{column}", site.path.display()))
    }

    /// An error about the `index`-th `[name]` table: `file:line:col: label: message`, located
    /// at the field the message starts with (`field: …`, or serde's "unknown field `x`"),
    /// else at the table's header; `label` names the table (`[recheck]`, `[[alert]] #2`).
    pub fn located(&self, name: &str, index: usize, label: &str, message: &str) -> String {
        let field = message_field(message);
        match self.locate(name, index, field.as_deref()) {
            Some(at) => format!("{at}: {label}: {message}"),
            None => format!("{label}: {message}"),
        }
    }
}

impl Watchlist {
    /// The `index`-th `[name]` / `[[name]]` table deserialized as `T` (`None` when there is no
    /// such table). A wrong field is reported as `file:line:col: label: message` at the field:
    /// the table's own text is parsed again for the position.
    pub fn section<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        index: usize,
        label: &str,
    ) -> Result<Option<T>, String> {
        let value = match self.extra.get(name) {
            None => return Ok(None),
            Some(toml::Value::Array(a)) => match a.get(index) {
                Some(v) => v.clone(),
                None => return Ok(None),
            },
            Some(v) if index == 0 => v.clone(),
            Some(_) => return Ok(None),
        };
        let first = match value.try_into::<T>() {
            Ok(t) => return Ok(Some(t)),
            Err(e) => e.message().trim().to_string(),
        };
        Err(self
            .reparse_error::<T>(name, index, label)
            .unwrap_or_else(|| self.located(name, index, label, &first)))
    }

    /// The located error of parsing the table's text alone, when that fails with a position.
    fn reparse_error<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        index: usize,
        label: &str,
    ) -> Option<String> {
        let site = self.sites.get(name)?.get(index)?;
        let slice = site.text.get(site.span.clone())?;
        let err = if matches!(self.extra.get(name), Some(toml::Value::Array(_))) {
            toml::from_str::<BTreeMap<String, Vec<T>>>(slice).err()?
        } else {
            toml::from_str::<BTreeMap<String, T>>(slice).err()?
        };
        let at = site.span.start + err.span()?.start;
        let (line, column) = line_col(&site.text, at);
        Some(format!(
            "{}:{line}:{column}: {label}: {}",
            site.path.display(),
            err.message().trim()
        ))
    }
}

/// The field an error message is about: its leading `field:` or a serde "field `x`" quote.
pub fn message_field(message: &str) -> Option<String> {
    if let Some(rest) = message.split("field `").nth(1) {
        return rest.split('`').next().map(str::to_string);
    }
    let head = message.split(':').next()?;
    let ok = !head.is_empty()
        && head.len() < message.len()
        && head
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| head.to_string())
}

/// The byte ranges of the `[name]` / `[[name]]` tables in `text`, in order: from the header
/// to the next header.
pub(super) fn table_spans(text: &str, name: &str) -> Vec<Range<usize>> {
    let mut headers = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            let start = offset + (line.len() - trimmed.len());
            let inner = trimmed
                .split('#')
                .next()
                .unwrap_or("")
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .trim();
            let inner = inner.trim_matches('"');
            headers.push((start, inner == name));
        }
        offset += line.len();
    }
    let mut out = Vec::new();
    for (i, (start, mine)) in headers.iter().enumerate() {
        if *mine {
            let end = headers.get(i + 1).map_or(text.len(), |(s, _)| *s);
            out.push(*start..end);
        }
    }
    out
}
