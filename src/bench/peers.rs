//! The external peers: MeCab and ripgrep, run as subprocesses over `corpus.txt`.
//!
//! A peer that is missing or fails is reported as skipped with the reason (and how to install
//! it), never as a benchmark failure: the in-process figures stand on their own.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What running a peer gave: its timings, or why it was skipped.
#[derive(Debug, Clone)]
pub enum PeerRun {
    /// Wall-clock time of each run, and what the peer printed (ripgrep's count).
    Ran {
        /// One duration per run.
        times: Vec<Duration>,
        /// The peer's stdout of the last run, trimmed (empty for MeCab, which writes to null).
        output: String,
    },
    /// The peer did not run; the message says why and what to install.
    Skipped(String),
}

/// How a finished subprocess ended.
struct Finished {
    elapsed: Duration,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// Runs `command`, feeding `stdin` from a file when given; the clock runs from spawn to exit.
fn run(
    command: &mut Command,
    stdin: Option<&Path>,
    keep_stdout: bool,
) -> std::io::Result<Finished> {
    match stdin {
        Some(path) => command.stdin(std::fs::File::open(path)?),
        None => command.stdin(Stdio::null()),
    };
    command.stdout(if keep_stdout {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    command.stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = command.spawn()?;
    // Drain stderr on the side so neither pipe can fill up and stall the child.
    let stderr = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    });
    let mut bytes = Vec::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_end(&mut bytes)?;
    }
    let stdout = String::from_utf8_lossy(&bytes).into_owned();
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    let status = child.wait()?;
    Ok(Finished {
        elapsed: start.elapsed(),
        code: status.code(),
        stdout,
        stderr,
    })
}

/// Why a peer could not start, worded for the report.
fn spawn_failure(name: &str, install: &str, e: &std::io::Error) -> PeerRun {
    if e.kind() == std::io::ErrorKind::NotFound {
        PeerRun::Skipped(format!("{name}: not installed (apt-get install {install})"))
    } else {
        PeerRun::Skipped(format!("{name}: cannot run: {e}"))
    }
}

/// Tokenizes `corpus` with `mecab` (default dictionary, output to a null sink), repeating
/// until at least `min_total` has been measured.
pub fn mecab(corpus: &Path, min_total: Duration, max_runs: usize) -> PeerRun {
    const INSTALL: &str = "mecab mecab-ipadic-utf8";
    // The dictionary must be UTF-8: EUC-JP IPADIC would "work" on garbage and mislead.
    let info = match run(Command::new("mecab").arg("-D"), None, true) {
        Ok(info) => info,
        Err(e) => return spawn_failure("mecab", INSTALL, &e),
    };
    // `mecab -D` prints the dictionary's header and exits 1 even when all is well.
    let Some(charset) = info
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("charset:"))
        .map(|c| c.trim().to_ascii_lowercase())
    else {
        let why = match first_line(&info.stderr) {
            "" => "`mecab -D` shows no charset",
            why => why,
        };
        return PeerRun::Skipped(format!(
            "mecab: no usable dictionary: {why} (apt-get install mecab-ipadic-utf8)"
        ));
    };
    if charset != "utf-8" && charset != "utf8" {
        return PeerRun::Skipped(format!(
            "mecab: the default dictionary is {charset}, not UTF-8 (apt-get install mecab-ipadic-utf8)"
        ));
    }
    let mut times = Vec::new();
    while times.len() < max_runs && times.iter().sum::<Duration>() < min_total {
        match run(&mut Command::new("mecab"), Some(corpus), false) {
            Ok(done) if done.code == Some(0) => times.push(done.elapsed),
            Ok(done) => {
                return PeerRun::Skipped(format!(
                    "mecab < {}: exit code {:?}: {}",
                    corpus.display(),
                    done.code,
                    first_line(&done.stderr)
                ));
            }
            Err(e) => return spawn_failure("mecab", INSTALL, &e),
        }
    }
    PeerRun::Ran {
        times,
        output: String::new(),
    }
}

/// Counts the lines of `corpus` holding any name of `names` with `rg -F -c -f`; runs it at
/// least twice (the first run may read from disk) and until `min_total` has been measured.
pub fn ripgrep(names: &Path, corpus: &Path, min_total: Duration, max_runs: usize) -> PeerRun {
    let mut times = Vec::new();
    let mut output = String::new();
    while times.len() < 2 || (times.len() < max_runs && times.iter().sum::<Duration>() < min_total)
    {
        let mut command = Command::new("rg");
        command
            .arg("--no-config")
            .arg("-F")
            .arg("-c")
            .arg("-f")
            .arg(names)
            .arg(corpus);
        match run(&mut command, None, true) {
            // 0: some lines matched, 1: none did.
            Ok(done) if matches!(done.code, Some(0 | 1)) => {
                times.push(done.elapsed);
                output = done.stdout.trim().to_string();
            }
            Ok(done) => {
                return PeerRun::Skipped(format!(
                    "rg -F -c -f {} {}: exit code {:?}: {}",
                    names.display(),
                    corpus.display(),
                    done.code,
                    first_line(&done.stderr)
                ));
            }
            Err(e) => return spawn_failure("ripgrep", "ripgrep", &e),
        }
    }
    PeerRun::Ran { times, output }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_skipped_with_the_install_hint() {
        let e = std::io::Error::from(std::io::ErrorKind::NotFound);
        match spawn_failure("mecab", "mecab mecab-ipadic-utf8", &e) {
            PeerRun::Skipped(why) => {
                assert_eq!(
                    why,
                    "mecab: not installed (apt-get install mecab mecab-ipadic-utf8)"
                );
            }
            PeerRun::Ran { .. } => panic!("expected skipped"),
        }
        assert_eq!(first_line("\n  error: x \nmore"), "error: x");
    }
}
