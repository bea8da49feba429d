//! したらば `subject.txt`, decoded as EUC-JP by default and parsed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::shitaraba::parse_subject;

fuzz_target!(|data: &[u8]| {
    let text = charset::decode(data, Some("text/plain"), encoding_rs::EUC_JP);
    let _ = parse_subject(&text.text);
});
