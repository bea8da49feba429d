//! Command-line front end: one file per subcommand. `anyhow` lives here and nowhere else.
//! Exit codes (design.md §3): 0 ok, 1 error, 2 finished with some inputs skipped.

mod analyze;
mod bench;
mod demo;
mod watchlist;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How a command finished when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was processed.
    Ok,
    /// Finished, but some inputs were skipped (each reported on stderr).
    Skipped,
}

#[derive(Parser)]
#[command(
    name = "mimamori",
    version,
    about = "Watches the Japanese web for defamation and leaked personal data about watched names"
)]
struct Cli {
    /// Data directory (search index, state, evidence).
    #[arg(long, global = true, default_value = "index")]
    #[allow(dead_code)]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pipeline on bundled sample posts with watchlists/example.toml and print the hits.
    Demo(demo::Args),
    /// Analyze JSON Lines posts offline: one JSON result line per input line.
    Analyze(analyze::Args),
    /// Watchlist tools: hash a personal value, check a file.
    #[command(subcommand)]
    Watchlist(watchlist::Command),
    /// Benchmarks that compare mimamori with a peer measured in the same run.
    #[command(subcommand)]
    Bench(bench::Command),
}

/// Parses the command line, runs the command and maps the result to an exit code.
pub fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Analyze(args) => analyze::run(&args),
        Command::Watchlist(cmd) => watchlist::run(&cmd),
        Command::Bench(cmd) => bench::run(&cmd),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Skipped) => ExitCode::from(2),
        Err(e) => {
            eprintln!("mimamori: error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIMAMORI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads `--watchlist`/`--config` if given, else every `watchlists/*.toml`.
fn load_watchlist(path: Option<&std::path::Path>) -> anyhow::Result<mimamori::config::Watchlist> {
    let path = path.unwrap_or_else(|| std::path::Path::new("watchlists"));
    Ok(mimamori::config::load(path)?)
}
