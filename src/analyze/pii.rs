//! Personal-data detection (placeholder: being written).
