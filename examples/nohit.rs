//! Profiles the analyzer's no-hit path: `cargo run --release --example nohit -- CORPUS WATCHLIST`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().ok_or("usage")?;
    let wl = mimamori::config::load(std::path::Path::new(&args.next().ok_or("usage")?))?;
    let analyzer = mimamori::analyze::Analyzer::new(&wl)?;
    let text = std::fs::read_to_string(corpus)?;
    let posts: Vec<mimamori::analyze::PostInput> = text
        .lines()
        .enumerate()
        .map(|(i, l)| mimamori::analyze::PostInput {
            id: i.to_string(),
            text: l.to_string(),
            ..Default::default()
        })
        .collect();
    let nohit: Vec<&mimamori::analyze::PostInput> = posts
        .iter()
        .filter(|p| analyzer.analyze(p).targets.is_empty())
        .collect();
    let bytes: usize = nohit.iter().map(|p| p.text.len() + 1).sum();
    let passes: usize = std::env::var("PASSES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for _ in 0..passes {
        let t = std::time::Instant::now();
        if std::env::var("PRESCREEN").is_ok() {
            let mut n = 0usize;
            for p in &nohit {
                n += usize::from(std::hint::black_box(analyzer.prescreen(&p.text)));
            }
            println!("prescreen passed {n} of {}", nohit.len());
        } else if std::env::var("GATE").is_ok() {
            for p in &nohit {
                std::hint::black_box(analyzer.gate_reason(&p.text));
            }
        } else if std::env::var("INTO").is_ok() {
            let mut out = mimamori::analyze::Analysis::default();
            for p in &nohit {
                analyzer.analyze_into(p, &mut out);
                std::hint::black_box(&out);
            }
        } else {
            for p in &nohit {
                std::hint::black_box(analyzer.analyze(p));
            }
        }
        println!(
            "no-hit analyze {:.1} MB/s",
            bytes as f64 / 1048576.0 / t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
