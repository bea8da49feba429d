//! Why posts pass the prescreen but not the gate: `cargo run --release --example prestat --
//! CORPUS WATCHLIST`.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let corpus = args.next().ok_or("usage: prestat CORPUS WATCHLIST")?;
    let wl_path = args.next().ok_or("usage: prestat CORPUS WATCHLIST")?;
    let wl = mimamori::config::load(std::path::Path::new(&wl_path))?;
    let analyzer = mimamori::analyze::Analyzer::new(&wl)?;
    let text = std::fs::read_to_string(corpus)?;
    let (mut pre, mut gate, mut total, mut missed) = (0, 0, 0, 0);
    let mut why: std::collections::BTreeMap<&str, (usize, usize, String)> = Default::default();
    for l in text.lines() {
        total += 1;
        let g = analyzer.gate_reason(l).is_some();
        let p = analyzer.prescreen(l);
        gate += usize::from(g);
        pre += usize::from(p);
        missed += usize::from(g && !p);
        if p && !g {
            let no_letters: String = l
                .chars()
                .filter(|c| !c.is_alphabetic() || !c.is_ascii() && !('Ａ'..='ｚ').contains(c))
                .collect();
            let no_digits: String = l.chars().filter(|c| !c.is_numeric()).collect();
            let k = if !analyzer.prescreen(&no_letters) {
                "letters"
            } else if !analyzer.prescreen(&no_digits) {
                "digits"
            } else {
                "anchors or signs"
            };
            let e = why.entry(k).or_default();
            e.0 += 1;
            e.1 += l.len();
            if e.0 <= 3 {
                e.2.push_str(l);
                e.2.push('\n');
            }
        }
    }
    println!("total {total} prescreen {pre} gate {gate} missed by the prescreen {missed}");
    for (k, (n, bytes, ex)) in why {
        println!("{k}: {n} posts, {bytes} bytes\n{ex}");
    }
    Ok(())
}
