//! The progress line: a spinner on stderr with sources, requests, bytes, new posts and hits
//! when stderr is a terminal; otherwise a plain `info!` line at a fixed period (logs are
//! line-oriented, and a redrawn bar would fill them with control characters).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use super::{Totals, Watcher};

/// A running progress display; [`Progress::finish`] clears it.
pub struct Progress {
    bar: Option<ProgressBar>,
    task: JoinHandle<()>,
}

/// The one-line status: `5 sources · 120 requests · 1.2 MiB · 340 new posts · 4 hits`.
pub fn status_line(t: &Totals) -> String {
    let mut s = format!(
        "{} sources · {} polls · {} requests · {} · {} new posts · {} hits",
        t.sources,
        t.polls,
        t.requests,
        human_bytes(t.bytes),
        t.new_posts,
        t.hits
    );
    if t.failing > 0 {
        s.push_str(&format!(" · {} failing", t.failing));
    }
    s
}

/// Writes `line` and a newline to stdout. When the reader has gone (`watch | head`), the
/// process ends quietly with exit code 0, as a pipeline expects — never with a panic; the
/// state is committed in transactions, so stopping here loses nothing. Other write errors
/// (stdout closed some other way) are ignored: the results are in the state already.
pub fn print_line(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let written = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

/// `1023 B`, `1.5 KiB`, `2.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

impl Progress {
    /// Starts showing the watcher's counters: a spinner when stderr is a terminal, else an
    /// `info!` line every `plain_every`. Call inside a tokio runtime.
    pub fn start(watcher: Arc<Watcher>, plain_every: Duration) -> Progress {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            let b = bar.clone();
            let task = tokio::spawn(async move {
                loop {
                    b.set_message(status_line(&watcher.totals()));
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            });
            Progress {
                bar: Some(bar),
                task,
            }
        } else {
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(plain_every.max(Duration::from_secs(1)));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let t = watcher.totals();
                    tracing::info!(
                        sources = t.sources,
                        polls = t.polls,
                        requests = t.requests,
                        bytes = t.bytes,
                        new_posts = t.new_posts,
                        hits = t.hits,
                        failing = t.failing,
                        "watching"
                    );
                }
            });
            Progress { bar: None, task }
        }
    }

    /// Prints a line on stdout without tearing the spinner.
    pub fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| print_line(line)),
            None => print_line(line),
        }
    }

    /// Prints a line on stderr without tearing the spinner.
    pub fn println_err(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Stops updating (and releases the watcher); [`Progress::finish`] clears it.
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Stops and clears the display.
    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_and_bytes() {
        let t = Totals {
            sources: 3,
            polls: 9,
            requests: 12,
            bytes: 1536,
            new_posts: 40,
            hits: 2,
            failing: 1,
            failed_polls: 1,
        };
        assert_eq!(
            status_line(&t),
            "3 sources · 9 polls · 12 requests · 1.5 KiB · 40 new posts · 2 hits · 1 failing"
        );
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
