//! mimamori: watches the Japanese web for defamation and leaked personal data about
//! watched names, and keeps court-grade evidence of each hit.
//!
//! Layers, bottom to top. A module may use the modules of lower layers and those listed
//! before it in its own group; `·` separates groups, each a crate of the coming workspace.
//! `tests/layers.rs` holds the table and fails on any upward import:
//!
//! 0. `text` · `durable` · `metrics`
//! 1. `model`, then `config`
//! 2. `analyze` · `spread` · `fetch`
//! 3. `sources`
//! 4. `store`
//! 5. `index` · `rdap`, then `evidence`
//! 6. `recheck`, `alert`, `watch`, `serve` (the service) · `simweb`
//! 7. `bench`
//! 8. the binary (`src/cli/`)
//!
//! Module map (one pipeline stage each; see `ARCHITECTURE.md`):

/// Alerts: the outbox delivered to JSONL and webhook sinks, exactly once per (post, target).
pub mod alert;
/// Matching targets, personal data, risk lexicon and severity: posts in, analyses out.
pub mod analyze;
/// Benchmarks that compare mimamori with a peer measured in the same run.
pub mod bench;
/// Watchlists and sources: TOML loading, validation with file:line:col errors.
pub mod config;
/// Append-only files that survive a crash mid-write: torn tails set aside, never glued onto.
pub mod durable;
/// Evidence: WARC captures of flagged posts and the hash-chained ledger.
pub mod evidence;
/// The one HTTP client: robots.txt, per-host pacing, retries, conditional GET, charsets.
pub mod fetch;
/// The search index: Tantivy with Lindera and bigram analyzers, reindexing and queries.
pub mod index;
/// Operational metrics in the Prometheus text format (`/metrics`).
pub mod metrics;
/// The data that flows between stages: `Post`, the analyzer's input, stored timestamps.
pub mod model;
/// Who to send it to: RDAP lookups of a site's domain or an IP address (`whois`).
pub mod rdap;
/// After the alert: re-checks of flagged posts (still up, changed, deleted).
pub mod recheck;
/// `serve`: the HTTP JSON API and the triage web page (axum).
pub mod serve;
/// The simulated web used by `demo` and the tests.
pub mod simweb;
/// Sources: one file per site kind behind the `Source` trait.
pub mod sources;
/// Spread tracking: near-duplicate sketches that link copies of a flagged post.
pub mod spread;
/// SQLite state: cursors, seen posts, hits, alert outbox, triage.
pub mod store;
/// Text stages: normalization with an offset map, readings, prefilter, Lindera tokenizer,
/// the written forms of personal values, HTML escaping.
pub mod text;
/// The watch loop: scheduling, polling, analysis and exactly-once commits.
pub mod watch;
