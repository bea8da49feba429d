//! 5ch `subject.txt`, decoded as the fetcher decodes it (cp932 by default) and parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::fivech::parse::parse_subject;

fuzz_target!(|data: &[u8]| {
    let text = charset::decode(data, Some("text/plain"), encoding_rs::SHIFT_JIS);
    let _ = parse_subject(&text.text, 1_705_300_000);
});
