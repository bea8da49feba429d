//! Suggest-API answers of each engine: the first byte picks the engine, the rest is the body,
//! decoded as the fetcher decodes a JSON response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori::fetch::charset;
use mimamori::sources::suggest::{Engine, parse_suggestions};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let engine = match pick % 4 {
        0 => Engine::Google,
        1 => Engine::Bing,
        2 => Engine::DuckDuckGo,
        _ => Engine::Brave,
    };
    let text = charset::decode(body, Some("application/json"), encoding_rs::UTF_8);
    let _ = parse_suggestions(engine, &text.text);
});
