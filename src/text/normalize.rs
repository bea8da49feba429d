//! Normalization of post text for matching (placeholder: being written).
