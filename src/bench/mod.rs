//! Benchmarks that measure mimamori against a peer in the same run, on the same input.
//!
//! `mimamori bench analyze` generates a seeded board-style corpus ([`corpus`]), writes it to
//! disk for the external peers, then times on one thread: (a) the analyzer over every post,
//! (a') the analyzer over the posts that mention no target (the prefilter-only path), (b)
//! Lindera tokenizing every post, (c) MeCab over the corpus file and (d) `rg -F -f` of the
//! target names. Ratios against a peer measured on the same machine in the same run say more
//! than absolute figures, which depend on the machine. Peers that are not installed are
//! reported as skipped; the run does not fail for them.

pub mod corpus;
pub mod crawl;
pub mod evidence;
pub mod index;
mod peers;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::analyze::{Analysis, AnalyzeError, Analyzer, PostInput};
use crate::config::{ConfigError, Watchlist};
use crate::simweb::corpus::{CorpusError, Generator};
use crate::text::tokenize::{self, TokenizeError};
use peers::PeerRun;

/// Bytes in the MB of every figure (MiB; the corpus holds at least `size_mb` of them).
pub const MB: u64 = 1 << 20;
/// A measurement shorter than this is repeated, and the runs averaged.
const MIN_MEASURE: Duration = Duration::from_secs(1);
/// Upper bound on repeats of one measurement.
const MAX_RUNS: usize = 50;
/// Goal of the issue: the analyzer at least this many times MeCab's speed.
pub const GOAL_VS_MECAB: f64 = 3.0;
/// Goal of the issue: the no-hit path at least this fraction of ripgrep's speed.
pub const GOAL_NO_HIT_VS_RIPGREP: f64 = 0.1;

/// The watchlist used when the caller's has no target.
const BUILTIN_WATCHLIST: &str = include_str!("watchlist.toml");

/// What went wrong in a benchmark; each message names the file or stage that failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The embedded word lists (`src/bench/corpus_words.toml`) are broken.
    #[error("src/bench/corpus_words.toml: {0} (fix the word lists and rebuild)")]
    Words(String),
    /// The corpus generator's word lists are broken.
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    /// The built-in benchmark watchlist (`src/bench/watchlist.toml`) is broken.
    #[error("the built-in benchmark watchlist is invalid: {0}")]
    Watchlist(#[from] ConfigError),
    /// A corpus file could not be written.
    #[error("{path}: cannot {what}: {source} (pass another --workdir)")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The report could not be written to the output.
    #[error("cannot write the benchmark report: {0}")]
    Output(#[source] std::io::Error),
    /// The analyzer could not be built for the watchlist.
    #[error("cannot build the analyzer: {0}")]
    Analyzer(#[from] AnalyzeError),
    /// Lindera failed (a broken dictionary, or a post it cannot segment).
    #[error("lindera failed on post {post}: {source}")]
    Tokenize {
        /// Line number of the post in corpus.txt (1-based; 0 for the warm-up).
        post: usize,
        /// The tokenizer's error.
        source: TokenizeError,
    },
}

/// Options for the analyze benchmark.
#[derive(Debug, Clone)]
pub struct AnalyzeBenchOptions {
    /// Corpus size in MB (2^20 bytes); at least this much is generated.
    pub size_mb: usize,
    /// Seed of the corpus generator: the same seed gives the same corpus.
    pub seed: u64,
    /// Where `corpus.txt` and `names.txt` are written.
    pub workdir: PathBuf,
    /// The targets to look for; a built-in one is used when it has none.
    pub watchlist: Watchlist,
}

impl Default for AnalyzeBenchOptions {
    fn default() -> Self {
        AnalyzeBenchOptions {
            size_mb: 50,
            seed: 42,
            workdir: PathBuf::from("target/bench"),
            watchlist: Watchlist::default(),
        }
    }
}

/// One throughput measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Bytes processed per run (post bytes plus one newline each, as in corpus.txt).
    pub bytes: u64,
    /// Posts processed per run.
    pub posts: u64,
    /// How many times it was run.
    pub runs: usize,
    /// Seconds per run (the mean, or the fastest for ripgrep).
    pub seconds: f64,
    /// MB (2^20 bytes) per second.
    pub mb_per_s: f64,
    /// Posts per second.
    pub posts_per_s: f64,
}

impl Throughput {
    fn new(bytes: u64, posts: u64, runs: usize, per_run: Duration) -> Self {
        let seconds = per_run.as_secs_f64().max(1e-9);
        Throughput {
            bytes,
            posts,
            runs,
            seconds,
            mb_per_s: bytes as f64 / MB as f64 / seconds,
            posts_per_s: posts as f64 / seconds,
        }
    }
}

/// The ratios the issue asks for (`None` when the peer was skipped).
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// (a)/(c): analyzer over MeCab, in MB/s. Goal ≥ 3.
    pub analyze_vs_mecab: Option<f64>,
    /// (a')/(d): no-hit path over ripgrep, in MB/s. Goal ≥ 0.1.
    pub no_hit_vs_ripgrep: Option<f64>,
    /// (a)/(b): analyzer over Lindera tokenizing everything.
    pub analyze_vs_lindera: f64,
}

/// Figures of one `bench analyze` run.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeBenchReport {
    /// The generator's seed.
    pub seed: u64,
    /// The corpus file.
    pub corpus_path: PathBuf,
    /// Size of the corpus file in bytes.
    pub corpus_bytes: u64,
    /// Posts in the corpus.
    pub posts: u64,
    /// Posts generated to mention a target.
    pub target_posts: u64,
    /// Of those, posts generated with a risk word or phone number.
    pub risky_posts: u64,
    /// Whether the built-in watchlist was used (the given one had no target).
    pub builtin_watchlist: bool,
    /// (a) the analyzer over every post.
    pub analyze: Throughput,
    /// (a') the analyzer over the posts that mention no target.
    pub analyze_no_hit: Throughput,
    /// (b) Lindera tokenizing every post.
    pub lindera: Throughput,
    /// (c) MeCab over corpus.txt, if it ran.
    pub mecab: Option<Throughput>,
    /// (d) ripgrep over corpus.txt, if it ran.
    pub ripgrep: Option<Throughput>,
    /// Posts the analyzer flagged.
    pub flagged: u64,
    /// Posts for which the analyzer found at least one target.
    pub with_targets: u64,
    /// Generated target posts in which the analyzer found that target.
    pub found_mentions: u64,
    /// Posts with a target found although none was generated.
    pub unexpected_targets: u64,
    /// Tokens Lindera produced over the corpus.
    pub lindera_tokens: u64,
    /// Lines ripgrep counted (a cross-check of `target_posts`).
    pub ripgrep_lines: Option<u64>,
    /// The ratios.
    pub ratios: Ratios,
    /// One line per skipped peer, saying why.
    pub skipped: Vec<String>,
}

/// The watchlist shipped for benchmarks (five targets, businesses and persons).
pub fn builtin_watchlist() -> Result<Watchlist, BenchError> {
    Ok(crate::config::parse_str(
        BUILTIN_WATCHLIST,
        Path::new("src/bench/watchlist.toml"),
    )?)
}

/// Runs `f` until at least [`MIN_MEASURE`] has passed (or [`MAX_RUNS`]); the mean per run.
fn measure<E>(mut f: impl FnMut() -> Result<(), E>) -> Result<(usize, Duration), E> {
    let mut runs = 0;
    let mut total = Duration::ZERO;
    while runs == 0 || (total < MIN_MEASURE && runs < MAX_RUNS) {
        let start = Instant::now();
        f()?;
        total += start.elapsed();
        runs += 1;
    }
    Ok((runs, total / runs as u32))
}

fn line(out: &mut dyn Write, text: std::fmt::Arguments) -> Result<(), BenchError> {
    out.write_fmt(text)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(BenchError::Output)
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => { line($out, format_args!($($arg)*)) };
}

/// Runs the benchmark and writes a human report to `out`.
pub fn run_analyze(
    opts: &AnalyzeBenchOptions,
    out: &mut dyn Write,
) -> Result<AnalyzeBenchReport, BenchError> {
    let builtin = opts.watchlist.targets.is_empty();
    let watchlist = if builtin {
        builtin_watchlist()?
    } else {
        opts.watchlist.clone()
    };
    let min_bytes = opts.size_mb.max(1) as u64 * MB;

    let start = Instant::now();
    let corpus = Generator::new(opts.seed, &watchlist)?.corpus(min_bytes);
    corpus::write(&corpus, &opts.workdir, &watchlist)?;
    let corpus_path = opts.workdir.join("corpus.txt");
    let names_path = opts.workdir.join("names.txt");
    let target_posts = corpus.target_posts() as u64;
    let risky_posts = corpus.posts.iter().filter(|p| p.risky).count() as u64;
    say!(
        out,
        "corpus: {} ({:.1} MB, {} posts, {} about a target, {} of them risky; seed {}) in {:.1} s",
        corpus_path.display(),
        corpus.bytes as f64 / MB as f64,
        corpus.posts.len(),
        target_posts,
        risky_posts,
        opts.seed,
        start.elapsed().as_secs_f64()
    )?;
    say!(
        out,
        "watchlist: {} targets{}, names in {}",
        watchlist.targets.len(),
        if builtin {
            " (built-in: the given watchlist has none)"
        } else {
            ""
        },
        names_path.display()
    )?;

    // The generator's view, kept beside the inputs the analyzer sees (the texts move over).
    let corpus_bytes = corpus.bytes;
    let mut expected: Vec<Option<&str>> = Vec::with_capacity(corpus.posts.len());
    let mut inputs: Vec<PostInput> = Vec::with_capacity(corpus.posts.len());
    for (i, p) in corpus.posts.into_iter().enumerate() {
        expected.push(p.target.map(|t| watchlist.targets[t].id.as_str()));
        inputs.push(PostInput {
            id: (i + 1).to_string(),
            text: p.text,
            ..Default::default()
        });
    }
    let post_bytes = |p: &PostInput| p.text.len() as u64 + 1;
    let all_bytes: u64 = inputs.iter().map(post_bytes).sum();
    let no_hit: Vec<&PostInput> = inputs
        .iter()
        .zip(&expected)
        .filter(|(_, e)| e.is_none())
        .map(|(p, _)| p)
        .collect();
    let no_hit_bytes: u64 = no_hit.iter().map(|p| post_bytes(p)).sum();

    tokenize::warm_up().map_err(|source| BenchError::Tokenize { post: 0, source })?;
    let analyzer = Analyzer::new(&watchlist)?;
    for p in inputs.iter().take(200) {
        std::hint::black_box(analyzer.analyze(p));
    }

    say!(out, "(a)  mimamori analyze, every post …")?;
    let (mut flagged, mut with_targets, mut found_mentions, mut unexpected) = (0, 0, 0, 0);
    let mut first = true;
    // As `mimamori analyze` streams posts: one output reused.
    let mut a = Analysis::default();
    let (runs, per_run) = measure(|| -> Result<(), BenchError> {
        for (p, e) in inputs.iter().zip(&expected) {
            analyzer.analyze_into(p, &mut a);
            if first {
                flagged += u64::from(a.flagged);
                with_targets += u64::from(!a.targets.is_empty());
                match e {
                    Some(id) if a.targets.iter().any(|t| t == id) => found_mentions += 1,
                    None if !a.targets.is_empty() => unexpected += 1,
                    _ => {}
                }
            }
        }
        first = false;
        Ok(())
    })?;
    let analyze = Throughput::new(all_bytes, inputs.len() as u64, runs, per_run);

    say!(out, "(a') mimamori analyze, posts that mention no target …")?;
    let (runs, per_run) = measure(|| -> Result<(), BenchError> {
        for p in &no_hit {
            analyzer.analyze_into(p, &mut a);
            std::hint::black_box(&a);
        }
        Ok(())
    })?;
    let analyze_no_hit = Throughput::new(no_hit_bytes, no_hit.len() as u64, runs, per_run);

    say!(out, "(b)  lindera, every post …")?;
    let mut lindera_tokens = 0u64;
    let (runs, per_run) = measure(|| {
        lindera_tokens = 0;
        for (i, p) in inputs.iter().enumerate() {
            let n = tokenize::count_tokens(&p.text).map_err(|source| BenchError::Tokenize {
                post: i + 1,
                source,
            })?;
            lindera_tokens += n as u64;
        }
        Ok::<(), BenchError>(())
    })?;
    let lindera = Throughput::new(all_bytes, inputs.len() as u64, runs, per_run);

    let mut skipped = Vec::new();
    say!(out, "(c)  mecab < {} …", corpus_path.display())?;
    let mecab = match peers::mecab(&corpus_path, MIN_MEASURE, MAX_RUNS) {
        PeerRun::Ran { times, .. } => {
            let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
            Some(Throughput::new(
                corpus_bytes,
                inputs.len() as u64,
                times.len(),
                mean,
            ))
        }
        PeerRun::Skipped(why) => {
            say!(out, "SKIPPED {why}")?;
            skipped.push(why);
            None
        }
    };
    say!(
        out,
        "(d)  rg -F -c -f {} {} …",
        names_path.display(),
        corpus_path.display()
    )?;
    let (ripgrep, ripgrep_lines) =
        match peers::ripgrep(&names_path, &corpus_path, MIN_MEASURE, MAX_RUNS) {
            PeerRun::Ran { times, output } => {
                let fastest = times.iter().min().copied().unwrap_or_default();
                let lines = output.parse().unwrap_or(0);
                (
                    Some(Throughput::new(
                        corpus_bytes,
                        inputs.len() as u64,
                        times.len(),
                        fastest,
                    )),
                    Some(lines),
                )
            }
            PeerRun::Skipped(why) => {
                say!(out, "SKIPPED {why}")?;
                skipped.push(why);
                (None, None)
            }
        };

    let ratios = Ratios {
        analyze_vs_mecab: mecab.as_ref().map(|m| analyze.mb_per_s / m.mb_per_s),
        no_hit_vs_ripgrep: ripgrep
            .as_ref()
            .map(|r| analyze_no_hit.mb_per_s / r.mb_per_s),
        analyze_vs_lindera: analyze.mb_per_s / lindera.mb_per_s,
    };
    let report = AnalyzeBenchReport {
        seed: opts.seed,
        corpus_path,
        corpus_bytes,
        posts: inputs.len() as u64,
        target_posts,
        risky_posts,
        builtin_watchlist: builtin,
        analyze,
        analyze_no_hit,
        lindera,
        mecab,
        ripgrep,
        flagged,
        with_targets,
        found_mentions,
        unexpected_targets: unexpected,
        lindera_tokens,
        ripgrep_lines,
        ratios,
        skipped,
    };
    write_report(&report, out)?;
    Ok(report)
}

/// Prints the table and the ratios with their goals.
fn write_report(r: &AnalyzeBenchReport, out: &mut dyn Write) -> Result<(), BenchError> {
    say!(out, "")?;
    say!(
        out,
        "single thread, MB = 2^20 bytes, {} posts, {:.1} MB",
        r.posts,
        r.corpus_bytes as f64 / MB as f64
    )?;
    say!(
        out,
        "{:<34} {:>10} {:>12} {:>6}",
        "",
        "MB/s",
        "posts/s",
        "runs"
    )?;
    let rows: [(&str, Option<&Throughput>); 5] = [
        ("(a)  mimamori analyze", Some(&r.analyze)),
        ("(a') mimamori analyze, no target", Some(&r.analyze_no_hit)),
        ("(b)  lindera tokenize", Some(&r.lindera)),
        ("(c)  mecab", r.mecab.as_ref()),
        ("(d)  rg -F -f names (fastest run)", r.ripgrep.as_ref()),
    ];
    for (name, t) in rows {
        match t {
            Some(t) => say!(
                out,
                "{name:<34} {:>10.2} {:>12.0} {:>6}",
                t.mb_per_s,
                t.posts_per_s,
                t.runs
            )?,
            None => say!(out, "{name:<34} {:>10} {:>12} {:>6}", "SKIPPED", "-", "-")?,
        }
    }
    say!(out, "")?;
    let verdict = |ratio: f64, goal: f64| if ratio >= goal { "ok" } else { "BELOW GOAL" };
    match r.ratios.analyze_vs_mecab {
        Some(x) => say!(
            out,
            "(a)/(c)  analyze vs mecab:        {x:>8.2}x  (goal >= {GOAL_VS_MECAB}: {})",
            verdict(x, GOAL_VS_MECAB)
        )?,
        None => say!(
            out,
            "(a)/(c)  analyze vs mecab:        SKIPPED (mecab did not run)"
        )?,
    }
    match r.ratios.no_hit_vs_ripgrep {
        Some(x) => say!(
            out,
            "(a')/(d) no-hit path vs ripgrep:  {x:>8.3}x  (goal >= {GOAL_NO_HIT_VS_RIPGREP}: {})",
            verdict(x, GOAL_NO_HIT_VS_RIPGREP)
        )?,
        None => say!(
            out,
            "(a')/(d) no-hit path vs ripgrep:  SKIPPED (rg did not run)"
        )?,
    }
    say!(
        out,
        "(a)/(b)  analyze vs lindera:      {:>8.2}x",
        r.ratios.analyze_vs_lindera
    )?;
    say!(out, "")?;
    say!(
        out,
        "analyzer: {} posts with a target ({} of {} generated mentions found, {} unexpected), {} flagged",
        r.with_targets,
        r.found_mentions,
        r.target_posts,
        r.unexpected_targets,
        r.flagged
    )?;
    say!(out, "lindera: {} tokens", r.lindera_tokens)?;
    if let Some(lines) = r.ripgrep_lines {
        say!(out, "ripgrep: {lines} lines hold a name or alias literally")?;
    }
    for why in &r.skipped {
        say!(out, "SKIPPED {why}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_watchlist_loads() {
        let w = builtin_watchlist().expect("builtin watchlist");
        assert!(w.targets.len() >= 3);
        assert!(w.targets.iter().all(|t| !t.names.is_empty()));
    }

    #[test]
    fn runs_end_to_end_on_one_mb() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = AnalyzeBenchOptions {
            size_mb: 1,
            seed: 5,
            workdir: dir.path().to_path_buf(),
            watchlist: builtin_watchlist().expect("builtin watchlist"),
        };
        let mut out = Vec::new();
        let report = run_analyze(&opts, &mut out).expect("bench runs");
        let text = String::from_utf8_lossy(&out);
        assert!(report.corpus_bytes >= MB, "{text}");
        assert!(report.analyze.mb_per_s > 0.0 && report.analyze.posts_per_s > 0.0);
        assert!(report.analyze_no_hit.mb_per_s > 0.0);
        assert!(report.lindera.mb_per_s > 0.0 && report.lindera_tokens > 0);
        assert!(report.target_posts > 0 && report.analyze_no_hit.posts < report.posts);
        assert!(report.ratios.analyze_vs_lindera > 0.0);
        assert_eq!(
            report.mecab.is_some(),
            report.ratios.analyze_vs_mecab.is_some()
        );
        assert!(text.contains("(a)/(b)"), "{text}");
        let file = std::fs::metadata(dir.path().join("corpus.txt")).expect("corpus.txt");
        assert_eq!(file.len(), report.corpus_bytes);
        let names = std::fs::read_to_string(dir.path().join("names.txt")).expect("names.txt");
        assert!(names.lines().any(|l| l == "山田商事") && names.lines().all(|l| !l.is_empty()));
        serde_json::to_string(&report).expect("report serializes");
    }
}
