//! Integration tests: sites (being written).
