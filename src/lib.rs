//! mimamori: watches the Japanese web for defamation and leaked personal data about
//! watched names, and keeps court-grade evidence of each hit.
//!
//! Module map (one pipeline stage each; see `ARCHITECTURE.md`):

/// Watchlists and sources: TOML loading, validation with file:line:col errors.
pub mod config;
/// Text stages: normalization with an offset map, readings, prefilter, Lindera tokenizer.
pub mod text;
/// Matching targets, personal data, risk lexicon and severity: posts in, analyses out.
pub mod analyze;
/// Benchmarks that compare mimamori with a peer measured in the same run.
pub mod bench;
