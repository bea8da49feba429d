//! robots.txt bodies as the fetcher reads them (UTF-8, lossily), then paths checked against
//! the rules: a few fixed ones and every line of the body itself as a path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::robots::{PRODUCT_TOKEN, Robots};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let robots = Robots::parse(&text, PRODUCT_TOKEN);
    let _ = robots.crawl_delay();
    for path in ["/", "/robots.txt", "/test/read.cgi/x/1/", "/%E3%83%84?a=b"] {
        let _ = robots.is_allowed(path);
    }
    for line in text.lines().take(64) {
        let _ = robots.is_allowed(line);
    }
});
