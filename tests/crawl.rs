//! Integration tests: crawl (being written).
