//! Text stages: normalization (with a map back to original offsets), readings and romaji,
//! the Aho-Corasick prefilter and Lindera tokenization.

pub mod normalize;
pub mod prefilter;
pub mod reading;
pub mod tokenize;
