//! Operational metrics in the Prometheus text format (version 0.0.4), served at `/metrics` by
//! `serve` and by `watch --metrics-addr`.
//!
//! Counters are kept in one process-wide registry that the stages bump as they work (the one
//! `Fetcher`, the watch loop, the alert dispatcher); levels that live in the state (the alert
//! queue, the index lag, source health) or in another owner (breakers, the screenshot queue)
//! are read when scraped and handed to [`render`] as [`Sample`]s. Every name is in [`HELP`],
//! which is also the documentation (docs/operations.md lists the same). Labels never carry a
//! post's text or a personal value: hosts, source ids, sink names, categories, classes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// Every metric: name, type, help.
pub const HELP: &[(&str, &str, &str)] = &[
    (
        "mimamori_polls_total",
        "counter",
        "Source polls by source and outcome (ok, failed).",
    ),
    (
        "mimamori_posts_seen_total",
        "counter",
        "New posts analyzed, by source.",
    ),
    (
        "mimamori_hits_total",
        "counter",
        "Hits recorded, by category (a hit counts once per category).",
    ),
    (
        "mimamori_http_requests_total",
        "counter",
        "HTTP requests by host and status class (2xx, 3xx, 4xx, 5xx, error).",
    ),
    (
        "mimamori_http_response_bytes_total",
        "counter",
        "Response body bytes by host.",
    ),
    (
        "mimamori_fetch_errors_total",
        "counter",
        "Fetches that failed after their retries, by host and kind.",
    ),
    (
        "mimamori_alert_deliveries_total",
        "counter",
        "Alert delivery attempts by sink and outcome (sent, failed).",
    ),
    (
        "mimamori_alert_queue_depth",
        "gauge",
        "Alerts waiting in the outbox, by sink.",
    ),
    (
        "mimamori_breaker_open",
        "gauge",
        "1 while a host's circuit breaker is open, else 0.",
    ),
    (
        "mimamori_source_health",
        "gauge",
        "1 for each source's current health state (ok, failing, parsing_nothing).",
    ),
    (
        "mimamori_index_lag_posts",
        "gauge",
        "Stored posts the search index has not taken in yet.",
    ),
    (
        "mimamori_screenshot_queue_depth",
        "gauge",
        "Hits waiting for their screenshot.",
    ),
];

/// One value with its labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The metric name (one of [`HELP`]).
    pub name: &'static str,
    /// Label pairs.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A sample of `name` with `labels`.
    pub fn new(name: &'static str, labels: &[(&'static str, &str)], value: f64) -> Sample {
        Sample {
            name,
            labels: labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
            value,
        }
    }
}

type Key = (&'static str, Vec<(&'static str, String)>);

fn counters() -> &'static Mutex<BTreeMap<Key, u64>> {
    static COUNTERS: OnceLock<Mutex<BTreeMap<Key, u64>>> = OnceLock::new();
    COUNTERS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

/// Adds `by` to the counter `name` with `labels`.
pub fn add(name: &'static str, labels: &[(&'static str, &str)], by: u64) {
    let key = (
        name,
        labels.iter().map(|(k, v)| (*k, (*v).to_string())).collect(),
    );
    let mut c = match counters().lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    *c.entry(key).or_insert(0) += by;
}

/// Adds one to the counter `name` with `labels`.
pub fn inc(name: &'static str, labels: &[(&'static str, &str)]) {
    add(name, labels, 1);
}

/// The counters so far, as samples.
pub fn counter_samples() -> Vec<Sample> {
    let c = match counters().lock() {
        Ok(c) => c,
        Err(p) => p.into_inner(),
    };
    c.iter()
        .map(|((name, labels), v)| Sample {
            name,
            labels: labels.clone(),
            value: *v as f64,
        })
        .collect()
}

/// The status class of an HTTP status (`2xx` …).
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The exposition text of the counters and `levels`, grouped by metric with `# HELP` and
/// `# TYPE` lines, in the order of [`HELP`].
pub fn render(levels: &[Sample]) -> String {
    let mut all = counter_samples();
    all.extend(levels.iter().cloned());
    let mut out = String::new();
    for (name, kind, help) in HELP {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in all.iter().filter(|s| s.name == *name) {
            out.push_str(name);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape(v));
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", s.value);
        }
    }
    out
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_levels_render_in_the_text_format() {
        inc(
            "mimamori_http_requests_total",
            &[("host", "test.invalid:80"), ("class", "2xx")],
        );
        add(
            "mimamori_http_requests_total",
            &[("host", "test.invalid:80"), ("class", "2xx")],
            2,
        );
        let text = render(&[Sample::new(
            "mimamori_breaker_open",
            &[("host", "a\"b\\c\nd")],
            1.0,
        )]);
        assert!(
            text.contains(
                "mimamori_http_requests_total{host=\"test.invalid:80\",class=\"2xx\"} 3\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("mimamori_breaker_open{host=\"a\\\"b\\\\c\\nd\"} 1\n"),
            "{text}"
        );
        // Every metric is announced once, with its type, before its samples.
        for (name, kind, _) in HELP {
            assert_eq!(text.matches(&format!("# TYPE {name} {kind}\n")).count(), 1);
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("name and value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(series.starts_with("mimamori_"), "{line}");
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(304), "3xx");
        assert_eq!(status_class(429), "4xx");
        assert_eq!(status_class(503), "5xx");
    }
}
