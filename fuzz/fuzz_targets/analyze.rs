//! The analyzer on arbitrary text with the example watchlist (`watchlists/example.toml`): the
//! first line is the thread title (none when there is no newline), the rest the body.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mimamori::analyze::Analyzer;
use mimamori::model::PostInput;

fn analyzer() -> &'static Analyzer {
    static ANALYZER: OnceLock<Analyzer> = OnceLock::new();
    ANALYZER.get_or_init(|| {
        let watchlist = mimamori::config::parse_str(
            include_str!("../../watchlists/example.toml"),
            Path::new("watchlists/example.toml"),
        )
        .expect("the example watchlist loads");
        Analyzer::new(&watchlist).expect("the analyzer builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (title, body) = match text.split_once('\n') {
        Some((t, b)) => (Some(t.to_string()), b),
        None => (None, text),
    };
    let post = PostInput {
        id: "fuzz".into(),
        text: body.to_string(),
        title,
        ..PostInput::default()
    };
    let analysis = analyzer().analyze(&post);
    assert!(analysis.severity <= 100);
});
