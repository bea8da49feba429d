//! Text stages: normalization, the prefilter and Lindera tokenization.

pub mod tokenize;
