//! したらば rawmode responses: classified, decoded as EUC-JP, each non-blank line parsed and its
//! body made plain text (as `Shitaraba::read_thread` does).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::fivech::board::body_to_text;
use mimamori::sources::shitaraba::{classify, parse_raw_line};

fuzz_target!(|data: &[u8]| {
    let _ = classify(200, None, data);
    let text = charset::decode(data, Some("text/plain"), encoding_rs::EUC_JP);
    for line in text.text.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok(p) = parse_raw_line(line) {
            let _ = body_to_text(&p.body_html);
        }
    }
});
