//! Pages of the generic `html` source, parsed with each shipped preset's selectors
//! (`data/sites/presets.toml`): the first byte picks the preset, the rest is the page, decoded
//! as the fetcher decodes HTML with the preset's charset as the default.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mimamori::config::SourceConfig;
use mimamori::fetch::charset::{decode, encoding_for_label};
use mimamori::sources::html::{Selectors, parse_page};
use mimamori::sources::web::Settings;
use url::Url;

struct Preset {
    selectors: Selectors,
    encoding: &'static encoding_rs::Encoding,
}

fn presets() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        let all: toml::Table = toml::from_str(include_str!("../../data/sites/presets.toml"))
            .expect("data/sites/presets.toml parses");
        let cfg = SourceConfig {
            kind: "html".into(),
            url: "https://example.jp/".into(),
            every: Duration::from_secs(60),
            origin: "fuzz".into(),
            table: toml::Table::new(),
        };
        all.values()
            .filter_map(toml::Value::as_table)
            .map(|base| Preset {
                selectors: Selectors::from_settings(&Settings::with_base(&cfg, base))
                    .expect("a shipped preset validates"),
                encoding: base
                    .get("encoding")
                    .and_then(toml::Value::as_str)
                    .and_then(encoding_for_label)
                    .unwrap_or(encoding_rs::UTF_8),
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let presets = presets();
    let preset = &presets[usize::from(pick) % presets.len()];
    let page_url = Url::parse("https://example.jp/board/123/?page=2").expect("a valid URL");
    let text = decode(body, Some("text/html"), preset.encoding);
    let _ = parse_page(&text.text, &page_url, &preset.selectors);
});
