//! 5ch read.cgi pages (both layouts), decoded as HTML with cp932 as the default, parsed, and
//! each post's body made plain text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::fivech::board::body_to_text;
use mimamori::sources::fivech::readcgi::parse_read_cgi;

fuzz_target!(|data: &[u8]| {
    let text = charset::decode(data, Some("text/html"), encoding_rs::SHIFT_JIS);
    for post in parse_read_cgi(&text.text).posts {
        let _ = body_to_text(&post.body_html);
    }
});
