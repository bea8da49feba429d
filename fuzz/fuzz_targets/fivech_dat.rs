//! 5ch dat bodies as `FiveCh::apply_dat` reads them: the HTML check of `decide`, the complete
//! lines, each decoded as cp932, parsed, and its body made plain text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::sources::fivech::board::body_to_text;
use mimamori::sources::fivech::parse::{DatLine, complete_lines, decide, parse_dat_line};

fuzz_target!(|data: &[u8]| {
    let _ = decide(false, 200, data);
    let (consumed, lines) = complete_lines(data);
    assert!(consumed <= data.len());
    for line in lines {
        let (text, _) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(line);
        if let DatLine::Post(p) = parse_dat_line(&text) {
            let _ = body_to_text(&p.body_html);
        }
    }
});
