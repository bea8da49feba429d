//! The one integration-test binary (each extra binary would re-link the embedded dictionary).

mod support;

mod after_alert;
mod alerts;
mod analyze_fixtures;
mod boards;
mod cli;
mod crawl;
mod evidence;
mod faults;
mod fetch;
mod hardening;
mod health;
mod layers;
mod metrics;
mod schema;
mod search;
mod serve;
mod shots;
mod sites;
mod torn;
mod whois;
