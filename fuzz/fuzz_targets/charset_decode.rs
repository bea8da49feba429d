//! Charset detection and decoding of a response: the first line (up to 256 bytes) is the
//! Content-Type header (none when empty), the first byte picks the source's default charset,
//! the rest is the body. The whole input is also read as a stored response message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset::{decode, decode_response_message};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let default = match pick % 3 {
        0 => encoding_rs::UTF_8,
        1 => encoding_rs::SHIFT_JIS,
        _ => encoding_rs::EUC_JP,
    };
    let (header, body) = match rest.iter().take(256).position(|&b| b == b'\n') {
        Some(at) => (Some(String::from_utf8_lossy(&rest[..at])), &rest[at + 1..]),
        None => (None, rest),
    };
    let content_type = header.as_deref().filter(|h| !h.is_empty());
    let text = decode(body, content_type, default);
    assert!(text.replaced <= body.len());
    let _ = decode_response_message(rest, default);
});
