//! Bluesky `searchPosts` answers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::sources::bluesky::parse_search;

fuzz_target!(|data: &[u8]| {
    let _ = parse_search(data);
});
