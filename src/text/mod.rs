//! Text stages: normalization (with a map back to original offsets), readings and romaji,
//! the Aho-Corasick prefilter and Lindera tokenization; and control characters made visible
//! for terminals.

pub mod control;
pub mod normalize;
pub mod prefilter;
pub mod reading;
pub mod tokenize;
