//! したらば read.cgi pages, decoded as HTML with EUC-JP as the default and parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::fivech::board::body_to_text;
use mimamori::sources::shitaraba::parse_read_cgi;

fuzz_target!(|data: &[u8]| {
    let text = charset::decode(data, Some("text/html"), encoding_rs::EUC_JP);
    for post in parse_read_cgi(&text.text).posts {
        let _ = body_to_text(&post.body_html);
    }
});
