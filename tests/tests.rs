//! The one integration-test binary (each extra binary would re-link the embedded dictionary).

mod support;

mod analyze_fixtures;
mod boards;
mod cli;
mod crawl;
mod faults;
mod fetch;
mod search;
mod serve;
mod sites;
