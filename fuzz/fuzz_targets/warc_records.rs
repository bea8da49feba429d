//! Stored WARC records read back as `evidence show` and `evidence export` read them: the
//! response block found, its message decoded by its charset, and its page parsed as a thread.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::evidence::warc::{response_block, response_text};
use mimamori::fetch::charset::decode_response_message;
use mimamori::sources::thread_page;

fuzz_target!(|data: &[u8]| {
    let Some(block) = response_block(data) else {
        return;
    };
    let _ = decode_response_message(block, encoding_rs::SHIFT_JIS);
    for (kind, fallback) in [
        ("5ch", encoding_rs::SHIFT_JIS),
        ("shitaraba", encoding_rs::EUC_JP),
    ] {
        if let Some(html) = response_text(block, fallback) {
            let _ = thread_page(kind, &html);
        }
    }
});
