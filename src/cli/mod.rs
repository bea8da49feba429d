//! Command-line front end: one file per subcommand. `anyhow` lives here and nowhere else.
//! Exit codes (design.md §3): 0 ok, 1 error, 2 usage error (clap), 3 finished but some
//! inputs, sources, sinks or re-checks failed (each reported on stderr). Writing into a closed
//! pipe (`| head`) ends the command quietly with 0.

/// `println!` that ends the command quietly when stdout's reader has gone (`| head`).
macro_rules! outln {
    ($($arg:tt)*) => {
        mimamori::watch::progress::print_line(&format!($($arg)*))
    };
}

mod analyze;
mod bench;
mod demo;
mod evidence;
mod hits;
mod recheck;
mod reindex;
mod search;
mod serve;
mod triage;
mod watch;
mod watchlist;
mod whois;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How a command finished when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything was processed.
    Ok,
    /// Finished, but some inputs, sources, sinks or re-checks failed (each reported on
    /// stderr): exit code 3.
    Partial,
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
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Watch a simulated web on 127.0.0.1 with watchlists/example.toml and print hits as found.
    Demo(demo::Args),
    /// Poll every configured source; record and print new hits (until Ctrl-C, or --once).
    Watch(watch::Args),
    /// List recorded hits, newest first.
    Hits(hits::Args),
    /// Set a hit's triage status (the history is kept).
    Triage(triage::Args),
    /// Evidence: show what a hit was found in, verify hashes and the ledger chain.
    #[command(subcommand)]
    Evidence(evidence::Command),
    /// Full-text search of the index (Japanese words, phrases, kana readings, filters).
    Search(search::Args),
    /// Re-check flagged posts now: still up, changed or deleted (also run by `watch`).
    Recheck(recheck::Args),
    /// Rebuild the search index from state.sqlite.
    Reindex(reindex::Args),
    /// Serve the HTTP JSON API and the triage web page (127.0.0.1 unless given a token).
    Serve(serve::Args),
    /// Analyze JSON Lines posts offline: one JSON result line per input line.
    Analyze(analyze::Args),
    /// Who to send it to: a domain's operator, registrar and abuse contact, or an IP's network
    /// owner (RDAP), and the access-log deadline of a post.
    Whois(whois::Args),
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
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // `demo` uses a fresh temporary directory unless --data is given.
    let data_given = matches.value_source("data") == Some(clap::parser::ValueSource::CommandLine);
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args, data_given.then_some(cli.data.as_path())),
        Command::Watch(args) => watch::run(&args, &cli.data),
        Command::Hits(args) => hits::run(&args, &cli.data),
        Command::Triage(args) => triage::run(&args, &cli.data),
        Command::Evidence(cmd) => evidence::run(&cmd, &cli.data),
        Command::Search(args) => search::run(&args, &cli.data),
        Command::Recheck(args) => recheck::run(&args, &cli.data),
        Command::Reindex(args) => reindex::run(&args, &cli.data),
        Command::Serve(args) => serve::run(&args, &cli.data),
        Command::Analyze(args) => analyze::run(&args),
        Command::Watchlist(cmd) => watchlist::run(&cmd),
        Command::Whois(args) => whois::run(&args),
        Command::Bench(cmd) => bench::run(&cmd),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(3),
        // The reader of stdout has gone (`| head`): end quietly, as a pipeline expects.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors may quote what a server sent or a post held (line breaks are kept: a
            // config error shows the lines around it).
            use mimamori::text::control::escape_controls;
            eprintln!("mimamori: error: {}", escape_controls(&e.to_string()));
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {}", escape_controls(&cause.to_string()));
            }
            ExitCode::from(1)
        }
    }
}

/// True when `e` comes from writing into a closed pipe.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        // serde_json's writer errors hide the io::Error from the chain; ask them.
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == broken
            || c.downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

/// Logs on stderr, in colour only when stderr is a terminal (a log file gets no ANSI codes).
fn init_tracing() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIMAMORI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Serialized JSON holding crawled text, with its DEL, C1 and bidi characters as `\uXXXX`
/// escapes (the same JSON value, safe on a terminal: [`mimamori::text::control::escape_json`]).
fn json(s: &str) -> std::borrow::Cow<'_, str> {
    mimamori::text::control::escape_json(s)
}

/// One line of crawled text as a terminal may show it: controls, line breaks and bidi
/// characters as `<U+XXXX>` ([`mimamori::text::control`]).
fn line(s: &str) -> std::borrow::Cow<'_, str> {
    mimamori::text::control::escape_controls_line(s)
}

/// The masker for what a command shows people: the watched values of `--config` F (an error
/// when it does not load), else of `watchlists/` when there is one (a warning when it does not
/// load), else only what the detector finds (said on stderr).
fn masker(config: Option<&std::path::Path>) -> anyhow::Result<mimamori::analyze::pii::Masker> {
    use mimamori::analyze::pii::Masker;
    let watchlist = match config {
        Some(p) => Some(load_watchlist(Some(p))?),
        None if std::path::Path::new("watchlists").is_dir() => match load_watchlist(None) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!(
                    "mimamori: warning: watchlists/ not loaded ({e:#}): only personal data the detector finds is masked"
                );
                None
            }
        },
        None => {
            eprintln!(
                "mimamori: note: no watchlist (--config F or watchlists/): only personal data the detector finds is masked"
            );
            None
        }
    };
    Ok(Masker::of_watchlist(watchlist.as_ref()))
}

/// Loads `--watchlist`/`--config` if given, else every `watchlists/*.toml`.
fn load_watchlist(path: Option<&std::path::Path>) -> anyhow::Result<mimamori::config::Watchlist> {
    let path = path.unwrap_or_else(|| std::path::Path::new("watchlists"));
    Ok(mimamori::config::load(path)?)
}
