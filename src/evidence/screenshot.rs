//! Screenshots and PDFs of flagged posts, taken with headless Chromium over the DevTools
//! protocol (`chromiumoxide`), kept under `<data>/evidence/shots/<YYYYMMDD>/` and chained into
//! the ledger like the WARC records.
//!
//! Per hit, one capture of the post's permalink (the page URL it was read from when the
//! permalink fails) writes, each file create-new with one ledger entry carrying the hit id:
//!
//! | file | ledger `kind` | what |
//! |---|---|---|
//! | `hit-<id>-<time>.png` | `screenshot` | full-page PNG as the browser rendered it |
//! | `hit-<id>-<time>-stamped.png` | `screenshot-stamped` | the same image under a strip with the full URL (wrapped, never cut), capture time JST and UTC, hit id, post key and the plain PNG's SHA-256 |
//! | `hit-<id>-<time>.pdf` | `pdf` | `Page.printToPDF` with the URL and capture time in header and footer |
//! | `hit-<id>-<time>.json` | `screenshot-meta` | URLs asked and shown, HTTP status, title, times, browser version, user agent, and the three files' sizes and hashes |
//! | `hit-<id>-<time>.note.txt` | `screenshot-note` | instead of the above when no screenshot could be taken: why |
//!
//! Why a WARC *and* a screenshot: the WARC proves the bytes the server sent; a court and a site
//! operator read pictures. The screenshot is taken after the commit (it needs the hit id), so it
//! is a second look at the page moments later, and may show it already gone — that is recorded
//! too, as a note, and not retried.
//!
//! The browser is found in `MIMAMORI_CHROMIUM` (which, when set, is the only one tried), then as
//! `chromium`, `chromium-browser` or `google-chrome` on `PATH`, and started headless with a
//! fresh temporary profile (`--no-sandbox`: containers rarely allow its sandbox; run mimamori
//! as an unprivileged user). One browser serves many captures, one tab each; every step has a
//! deadline, so a page that never finishes loading, or a script that hangs the tab, ends as a
//! timeout note. JavaScript dialogs are dismissed so they cannot block the load.

mod files;
pub mod guard;
pub(crate) mod orphans;
mod shooter;
pub mod stamp;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::EvidenceError;
use crate::config::Watchlist;
pub use files::{base_name, entries_of_hit, save, save_note};
pub use guard::Guard;
pub use shooter::{Shooter, find_browser};

/// Where screenshots go inside the evidence directory.
pub const SHOTS_DIR: &str = "shots";
/// The environment variable naming the browser executable.
pub const ENV_CHROMIUM: &str = "MIMAMORI_CHROMIUM";
/// Executable names looked for on `PATH`, in order.
pub const BROWSER_NAMES: &[&str] = &["chromium", "chromium-browser", "google-chrome"];
/// Ledger kind of the plain full-page PNG.
pub const KIND_PNG: &str = "screenshot";
/// Ledger kind of the stamped PNG.
pub const KIND_STAMPED: &str = "screenshot-stamped";
/// Ledger kind of the PDF.
pub const KIND_PDF: &str = "pdf";
/// Ledger kind of the capture's JSON description.
pub const KIND_META: &str = "screenshot-meta";
/// Ledger kind of the note written when no screenshot could be taken.
pub const KIND_NOTE: &str = "screenshot-note";
/// Every ledger kind this module writes.
pub const KINDS: &[&str] = &[KIND_PNG, KIND_STAMPED, KIND_PDF, KIND_META, KIND_NOTE];

/// Why a screenshot was not taken; each message names the browser or the URL.
#[derive(Debug, thiserror::Error)]
pub enum ShotError {
    /// No browser to run.
    #[error("{0}")]
    NoBrowser(String),
    /// The browser would not start.
    #[error("cannot start {path}: {message} (check that `{path} --headless --version` runs)")]
    Launch {
        /// The executable.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Only http(s) pages are captured.
    #[error("{url}: not an http(s) URL, not captured")]
    Scheme {
        /// The URL.
        url: String,
    },
    /// The page did not load in time.
    #[error(
        "{url}: the page did not finish loading within {secs} s (slow or endless page; [evidence] screenshot_timeout sets the limit)"
    )]
    Timeout {
        /// The URL.
        url: String,
        /// The limit.
        secs: u64,
    },
    /// The navigation failed (DNS, refused, TLS…).
    #[error("{url}: cannot load the page: {message}")]
    Navigate {
        /// The URL.
        url: String,
        /// The browser's error text.
        message: String,
    },
    /// The server answered with an error status; only 404 and 410 suggest the post is gone.
    #[error("{url}: the server answered HTTP {status}{}", status_meaning(*status))]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The page is not one the browser may open (see [`guard`]).
    #[error("{url}: not opened in the screenshot browser: {why}")]
    Refused {
        /// The URL.
        url: String,
        /// Which rule refused it.
        why: String,
    },
    /// A DevTools step failed or hung.
    #[error("{url}: {what} failed: {message}")]
    Step {
        /// The URL.
        url: String,
        /// The step.
        what: &'static str,
        /// The error.
        message: String,
    },
    /// The `[evidence]` table is wrong (the message names the file, line and field).
    #[error("{0}")]
    Config(String),
    /// Writing the files or the ledger failed.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// What an error status says about the post: a deletion only when the page says it is not
/// there.
fn status_meaning(status: u16) -> &'static str {
    match status {
        404 | 410 => " (the page says it is not there: the post may have been deleted)",
        401 | 403 => " (access refused: a login, a block or a region limit, not a deletion)",
        429 => " (rate limited: try again later)",
        500..=599 => " (a server error, not a deletion: try again later)",
        _ => "",
    }
}

/// Screenshot settings: the `[evidence]` table's `screenshots` (default true),
/// `screenshot_timeout` (default "30s") and `screenshot_width` (default 1280).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShotConfig {
    /// Take screenshots at all.
    pub enabled: bool,
    /// Page-load deadline (each of the permalink and the fallback page).
    pub timeout: Duration,
    /// Viewport width in CSS pixels.
    pub width: u32,
    /// Longest page captured, in CSS pixels (taller pages are cut, and the stamp says so).
    pub max_height: u32,
}

impl Default for ShotConfig {
    fn default() -> Self {
        ShotConfig {
            enabled: true,
            timeout: Duration::from_secs(30),
            width: 1280,
            max_height: 16_000,
        }
    }
}

/// The keys of `[evidence]` read here (the table holds other evidence settings too, so
/// unknown keys are left to their owners).
#[derive(Debug, Default, Deserialize)]
struct RawShotConfig {
    screenshots: Option<bool>,
    screenshot_timeout: Option<String>,
    screenshot_width: Option<u32>,
}

impl ShotConfig {
    /// The settings of a watchlist's `[evidence]` table (defaults when absent).
    pub fn from_watchlist(watchlist: &Watchlist) -> Result<ShotConfig, ShotError> {
        let mut out = ShotConfig::default();
        let Some(raw) = watchlist
            .section::<RawShotConfig>("evidence", 0, "[evidence]")
            .map_err(ShotError::Config)?
        else {
            return Ok(out);
        };
        let bad = |m: String| ShotError::Config(watchlist.located("evidence", 0, "[evidence]", &m));
        if let Some(on) = raw.screenshots {
            out.enabled = on;
        }
        if let Some(t) = raw.screenshot_timeout {
            out.timeout = crate::config::parse_duration(&t)
                .map_err(|e| bad(format!("screenshot_timeout: {e}")))?;
            if out.timeout < Duration::from_secs(1) {
                return Err(bad("screenshot_timeout: must be at least 1s".into()));
            }
        }
        if let Some(w) = raw.screenshot_width {
            if !(320..=3840).contains(&w) {
                return Err(bad(format!("screenshot_width: {w} is outside 320..=3840")));
            }
            out.width = w;
        }
        Ok(out)
    }
}

/// What to capture for one hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShotTarget {
    /// The hit id.
    pub hit_id: i64,
    /// The post key.
    pub post_key: String,
    /// The post's permalink.
    pub url: String,
    /// The page the post was read from, tried when the permalink fails.
    pub fallback_url: Option<String>,
}

/// One capture, not yet written.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The plain full-page PNG.
    pub png: Vec<u8>,
    /// The stamped PNG.
    pub stamped: Vec<u8>,
    /// The PDF.
    pub pdf: Vec<u8>,
    /// When the page had loaded.
    pub captured_at: DateTime<Utc>,
    /// The URL captured (the permalink or the fallback).
    pub url: String,
    /// What the meta file says besides the files (URLs, status, title, browser).
    pub facts: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_table_sets_and_checks_the_screenshot_keys() {
        let wl = |t: &str| {
            crate::config::parse_str(t, std::path::Path::new("w.toml")).expect("watchlist")
        };
        assert_eq!(
            ShotConfig::from_watchlist(&wl("")).expect("defaults"),
            ShotConfig::default()
        );
        let c = ShotConfig::from_watchlist(&wl(
            "[evidence]\nscreenshots = false\nscreenshot_timeout = \"5s\"\nscreenshot_width = 800\nother = 1\n",
        ))
        .expect("config");
        assert!(!c.enabled);
        assert_eq!(c.timeout, Duration::from_secs(5));
        assert_eq!(c.width, 800);
        let e = ShotConfig::from_watchlist(&wl("[evidence]\nscreenshot_timeout = \"soon\"\n"))
            .expect_err("bad duration");
        assert!(e.to_string().contains("screenshot_timeout"), "{e}");
        let e = ShotConfig::from_watchlist(&wl("[evidence]\nscreenshots = \"no\"\n"))
            .expect_err("bad type");
        assert!(e.to_string().starts_with("w.toml:2:15: [evidence]:"), "{e}");
    }
}
