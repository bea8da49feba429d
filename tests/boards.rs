//! Integration tests: boards (being written).
