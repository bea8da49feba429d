//! Text stages: normalization (with a map back to original offsets), readings and romaji,
//! the Aho-Corasick prefilter, Lindera tokenization, the written forms of personal values,
//! HTML escaping; and control characters made visible for terminals.

pub mod control;
pub mod html;
pub mod normalize;
pub mod pii;
pub mod prefilter;
pub mod reading;
pub mod tokenize;
