//! Integration tests: fetch (being written).
