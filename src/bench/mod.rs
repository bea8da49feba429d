//! Benchmarks (placeholder: being written).
