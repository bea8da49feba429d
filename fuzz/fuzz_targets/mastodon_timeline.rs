//! Mastodon timelines, and each status's (and boosted status's) content made plain text as
//! the source does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::sources::mastodon::parse_timeline;
use mimamori::sources::web::html_to_text;

fuzz_target!(|data: &[u8]| {
    let Ok(statuses) = parse_timeline(data) else {
        return;
    };
    for s in &statuses {
        let _ = html_to_text(&s.content);
        if let Some(r) = &s.reblog {
            let _ = html_to_text(&r.content);
        }
    }
});
