//! Feed bytes (RSS 1.0, RSS 2.0, Atom) as the `rss` source parses them: raw bytes to feed-rs,
//! HTML content made plain text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::sources::rss::parse_feed;

fuzz_target!(|data: &[u8]| {
    let _ = parse_feed(data);
});
