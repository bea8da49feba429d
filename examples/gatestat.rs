//! Counts why posts of a corpus pass the analyzer's gate: `cargo run --release --example
//! gatestat -- target/bench/corpus.txt watchlists/example.toml`.

use std::collections::BTreeMap;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().ok_or("usage: gatestat CORPUS WATCHLIST")?;
    let wl_path = args.next().ok_or("usage: gatestat CORPUS WATCHLIST")?;
    let wl = mimamori::config::load(std::path::Path::new(&wl_path))?;
    let analyzer = mimamori::analyze::Analyzer::new(&wl)?;
    let text = std::fs::read_to_string(corpus)?;
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for line in text.lines() {
        total += 1;
        let r = analyzer
            .gate_reason(line)
            .map_or_else(|| "rejected".to_string(), |r| format!("{r:?}"));
        *reasons.entry(r).or_default() += 1;
    }
    let t = std::time::Instant::now();
    let mut passed = 0usize;
    for line in text.lines() {
        passed += usize::from(analyzer.gate_reason(line).is_some());
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "gate alone: {:.1} MB/s ({passed} passed)",
        text.len() as f64 / 1048576.0 / secs
    );
    let t = std::time::Instant::now();
    for (i, line) in text.lines().enumerate() {
        let post = mimamori::analyze::PostInput {
            id: i.to_string(),
            text: line.to_string(),
            ..Default::default()
        };
        std::hint::black_box(analyzer.analyze(&post));
    }
    let secs = t.elapsed().as_secs_f64();
    println!("analyze: {:.1} MB/s", text.len() as f64 / 1048576.0 / secs);
    println!("{total} posts");
    for (r, n) in reasons {
        println!("{n:>8}  {r}");
    }
    Ok(())
}
