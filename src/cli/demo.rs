//! `mimamori demo`: runs the analysis pipeline over bundled sample posts with
//! `watchlists/example.toml` and prints each hit. (Once the crawler lands it will start the
//! simulated web and watch it instead.) Needs no network and no files outside the binary.

use anyhow::Context;

use super::Outcome;
use mimamori::analyze::{Analyzer, MatchDetail, PostInput};
use mimamori::config;

/// Arguments of `demo`.
#[derive(clap::Args)]
pub struct Args {
    /// Print every post, not only the flagged ones.
    #[arg(long)]
    all: bool,
}

const EXAMPLE: &str = include_str!("../../watchlists/example.toml");
const POSTS: &str = include_str!("../../data/demo/posts.jsonl");

pub fn run(args: &Args) -> anyhow::Result<Outcome> {
    let watchlist = config::parse_str(EXAMPLE, std::path::Path::new("watchlists/example.toml"))?;
    let analyzer = Analyzer::new(&watchlist).context("cannot build the analyzer")?;
    println!(
        "mimamori demo: {} targets from watchlists/example.toml, {} sample posts (5ch, したらば, reviews, SNS, RSS)\n",
        watchlist.targets.len(),
        POSTS.lines().count()
    );
    let (mut flagged, mut total) = (0, 0);
    for line in POSTS.lines().filter(|l| !l.trim().is_empty()) {
        let post: PostInput =
            serde_json::from_str(line).context("bundled demo post is not valid JSON")?;
        total += 1;
        let a = analyzer.analyze(&post);
        if !a.flagged && !args.all {
            continue;
        }
        if a.flagged {
            flagged += 1;
        }
        let cats: Vec<&str> = a.categories.iter().map(|c| c.as_str()).collect();
        let pii: Vec<&str> = a.pii.iter().map(|k| k.as_str()).collect();
        println!(
            "{} [{}] severity {:>3}  {}  targets: {}{}",
            if a.flagged { "HIT " } else { "    " },
            post.source.as_deref().unwrap_or("-"),
            a.severity,
            post.id,
            a.targets.join(","),
            if cats.is_empty() {
                String::new()
            } else {
                format!("  categories: {}", cats.join(","))
            },
        );
        if !pii.is_empty() {
            println!("      personal data: {}", pii.join(","));
        }
        for m in &a.matches {
            let what = match &m.detail {
                MatchDetail::Target { how } => format!(
                    "mention ({})",
                    serde_json::to_string(how)
                        .unwrap_or_default()
                        .trim_matches('"')
                ),
                MatchDetail::Risk {
                    category,
                    term,
                    score,
                } => format!("{} term {term:?} score {score}", category.as_str()),
                MatchDetail::Pii { pii, watched } => format!(
                    "{}{}",
                    pii.as_str(),
                    if *watched { " (watched value)" } else { "" }
                ),
            };
            println!("      {what}: 「{}」", m.text);
        }
    }
    println!(
        "\n{flagged} of {total} posts flagged. Try: mimamori analyze --watchlist watchlists/example.toml data/demo/posts.jsonl"
    );
    Ok(Outcome::Ok)
}
