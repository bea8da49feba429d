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
pub mod stamp;
pub mod worker;

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventJavascriptDialogOpening,
    HandleJavaScriptDialogParams, PrintToPdfParams, StopLoadingParams, Viewport,
};
use chromiumoxide::page::Page;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;

use super::EvidenceError;
use super::ledger;
use crate::config::Watchlist;
pub use files::{base_name, entries_of_hit, save, save_note};
use stamp::{StampFacts, jst_time, png_size, utc_time};

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

/// Height of the viewport a page is first laid out in (CSS pixels).
const VIEWPORT_HEIGHT: u32 = 900;
/// Deadline of the small DevTools steps (open a tab, read the title…).
const STEP: Duration = Duration::from_secs(10);
/// Limit on each step of closing the browser (then it is killed).
const CLOSE: Duration = Duration::from_secs(2);

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
    /// The server answered with an error status (the post may be gone).
    #[error("{url}: the server answered HTTP {status} (the post may have been deleted)")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
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

/// The browser to run: `MIMAMORI_CHROMIUM` if set, else the first of [`BROWSER_NAMES`] on
/// `PATH`. The error says what was tried and how to fix it.
pub fn find_browser() -> Result<PathBuf, ShotError> {
    find_browser_in(std::env::var_os(ENV_CHROMIUM), std::env::var_os("PATH"))
}

fn find_browser_in(env: Option<OsString>, path: Option<OsString>) -> Result<PathBuf, ShotError> {
    if let Some(exe) = env.filter(|v| !v.is_empty()) {
        let exe = PathBuf::from(exe);
        return if is_executable(&exe) {
            Ok(exe)
        } else {
            Err(ShotError::NoBrowser(format!(
                "{ENV_CHROMIUM}={}: no executable there (unset it to search PATH, or point it at chromium)",
                exe.display()
            )))
        };
    }
    if let Some(path) = path {
        for dir in std::env::split_paths(&path) {
            for name in BROWSER_NAMES {
                let exe = dir.join(name);
                if is_executable(&exe) {
                    return Ok(exe);
                }
            }
        }
    }
    Err(ShotError::NoBrowser(format!(
        "Chromium not found ({} not on PATH, {ENV_CHROMIUM} not set): install it (Debian: apt-get install chromium fonts-ipafont-gothic) or set {ENV_CHROMIUM}",
        BROWSER_NAMES.join(", ")
    )))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
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

/// One headless browser, reused for many captures (one at a time).
pub struct Shooter {
    browser: Browser,
    pump: tokio::task::JoinHandle<()>,
    profile: tempfile::TempDir,
    config: ShotConfig,
    exe: PathBuf,
    product: String,
    user_agent: String,
    counter: AtomicU64,
    broken: AtomicBool,
}

impl std::fmt::Debug for Shooter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shooter")
            .field("exe", &self.exe)
            .field("product", &self.product)
            .finish_non_exhaustive()
    }
}

/// Runs `fut` with a deadline; a timeout or an error becomes [`ShotError::Step`].
async fn step<T, E: std::fmt::Display>(
    url: &str,
    what: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, ShotError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ShotError::Step {
            url: url.to_string(),
            what,
            message: e.to_string(),
        }),
        Err(_) => Err(ShotError::Step {
            url: url.to_string(),
            what,
            message: format!("no answer within {} s", limit.as_secs()),
        }),
    }
}

impl Shooter {
    /// Finds the browser ([`find_browser`]) and starts it.
    pub async fn launch(config: &ShotConfig) -> Result<Shooter, ShotError> {
        let exe = find_browser()?;
        Shooter::launch_at(&exe, config).await
    }

    /// Starts the browser at `exe` headless with a fresh temporary profile.
    pub async fn launch_at(exe: &Path, config: &ShotConfig) -> Result<Shooter, ShotError> {
        let fail = |message: String| ShotError::Launch {
            path: exe.to_path_buf(),
            message,
        };
        let profile = tempfile::Builder::new()
            .prefix("mimamori-chromium-")
            .tempdir()
            .map_err(|e| fail(format!("cannot create a temporary profile: {e}")))?;
        let cfg = BrowserConfig::builder()
            .chrome_executable(exe)
            .disable_default_args()
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(config.width, VIEWPORT_HEIGHT)
            .viewport(None::<chromiumoxide::handler::viewport::Viewport>)
            .request_timeout(config.timeout + Duration::from_secs(5))
            .launch_timeout(Duration::from_secs(30))
            .args([
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--disable-extensions",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--hide-scrollbars",
                "--lang=ja",
            ])
            .build()
            .map_err(fail)?;
        let (mut browser, mut handler) = Browser::launch(cfg)
            .await
            .map_err(|e| fail(e.to_string()))?;
        // The connection is driven by this task; protocol messages it cannot parse are errors
        // we can ignore.
        let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });
        let version = match tokio::time::timeout(STEP, browser.version()).await {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                let _ = browser.kill().await;
                pump.abort();
                return Err(fail(format!("no DevTools answer: {e}")));
            }
            Err(_) => {
                let _ = browser.kill().await;
                pump.abort();
                return Err(fail("no DevTools answer within 10 s".into()));
            }
        };
        Ok(Shooter {
            browser,
            pump,
            profile,
            config: config.clone(),
            exe: exe.to_path_buf(),
            product: version.product,
            user_agent: version.user_agent,
            counter: AtomicU64::new(0),
            broken: AtomicBool::new(false),
        })
    }

    /// The browser's product and version (`Chrome/120.0…`).
    pub fn product(&self) -> &str {
        &self.product
    }

    /// True once a tab could not be opened or closed: the browser should be restarted.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    /// Captures `t`: its permalink, or its fallback page when the permalink cannot be loaded
    /// or answers an error status.
    pub async fn capture(&self, t: &ShotTarget) -> Result<Captured, ShotError> {
        let first = self.capture_url(t, &t.url, None).await;
        match (&first, &t.fallback_url) {
            (Err(e), Some(fallback)) if fallback != &t.url && !self.is_broken() => {
                let remark = format!("permalink failed ({e}); captured the page it was read from");
                match self.capture_url(t, fallback, Some(remark)).await {
                    Ok(c) => Ok(c),
                    Err(e2) => Err(ShotError::Navigate {
                        url: t.url.clone(),
                        message: format!("{e}; fallback: {e2}"),
                    }),
                }
            }
            _ => first,
        }
    }

    async fn capture_url(
        &self,
        t: &ShotTarget,
        url: &str,
        remark: Option<String>,
    ) -> Result<Captured, ShotError> {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(ShotError::Scheme { url: url.into() });
        }
        let page = match step(
            url,
            "opening a tab",
            STEP,
            self.browser.new_page("about:blank"),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                self.broken.store(true, Ordering::Relaxed);
                return Err(e);
            }
        };
        let dialogs = dismiss_dialogs(&page).await;
        let result = self.on_page(&page, t, url, remark).await;
        if let Some(d) = dialogs {
            d.abort();
        }
        if tokio::time::timeout(STEP, page.close()).await.is_err() {
            self.broken.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn on_page(
        &self,
        page: &Page,
        t: &ShotTarget,
        url: &str,
        remark: Option<String>,
    ) -> Result<Captured, ShotError> {
        let width = self.config.width;
        step(
            url,
            "setting the viewport",
            STEP,
            page.execute(metrics(width, VIEWPORT_HEIGHT)),
        )
        .await?;
        match tokio::time::timeout(self.config.timeout, page.goto(url)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                let message = e.to_string();
                let timed_out = message.to_ascii_lowercase().contains("timeout");
                let _ =
                    tokio::time::timeout(STEP, page.execute(StopLoadingParams::default())).await;
                return Err(if timed_out {
                    ShotError::Timeout {
                        url: url.into(),
                        secs: self.config.timeout.as_secs(),
                    }
                } else {
                    ShotError::Navigate {
                        url: url.into(),
                        message,
                    }
                });
            }
            Err(_) => {
                let _ =
                    tokio::time::timeout(STEP, page.execute(StopLoadingParams::default())).await;
                return Err(ShotError::Timeout {
                    url: url.into(),
                    secs: self.config.timeout.as_secs(),
                });
            }
        }
        let captured_at = Utc::now();
        let status: u16 = step(
            url,
            "reading the HTTP status",
            STEP,
            page.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0]; return n && n.responseStatus ? n.responseStatus : 0; })()",
            ),
        )
        .await?
        .into_value::<u16>()
        .unwrap_or(0);
        if status >= 400 {
            return Err(ShotError::Status {
                url: url.into(),
                status,
            });
        }
        let shown_url = step(url, "reading the URL", STEP, page.url())
            .await?
            .unwrap_or_default();
        let title = step(url, "reading the title", STEP, page.get_title())
            .await?
            .unwrap_or_default();

        let deadline = self.config.timeout.max(STEP);
        let (png, cut) = step(
            url,
            "the screenshot",
            deadline,
            full_page(page, width, self.config.max_height),
        )
        .await?;
        let png_sha256 = ledger::sha256_hex(&png);
        let remark = match (remark, cut) {
            (r, None) => r,
            (r, Some(h)) => Some(
                [
                    r.unwrap_or_default(),
                    format!(
                        "page is {h} px tall; the first {} px were captured",
                        self.config.max_height
                    ),
                ]
                .join(" ")
                .trim()
                .to_string(),
            ),
        };
        let facts = StampFacts {
            url: url.to_string(),
            hit_id: t.hit_id,
            post_key: t.post_key.clone(),
            captured_at,
            png_sha256: png_sha256.clone(),
            remark: remark.clone(),
        };
        let pdf = step(
            url,
            "printing the PDF",
            deadline,
            page.pdf(pdf_params(&facts)),
        )
        .await?;
        let stamped = self.stamp(page, url, &png, &facts).await?;
        let facts_json = serde_json::json!({
            "hit_id": t.hit_id,
            "post_key": t.post_key,
            "requested_url": t.url,
            "fallback_url": t.fallback_url,
            "captured_url": url,
            "shown_url": shown_url,
            "http_status": (status > 0).then_some(status),
            "title": title,
            "captured_at": utc_time(captured_at),
            "captured_at_jst": jst_time(captured_at),
            "remark": remark,
            "browser": self.product,
            "user_agent": self.user_agent,
            "viewport": {"width": width, "height": VIEWPORT_HEIGHT, "device_scale_factor": 1},
        });
        Ok(Captured {
            png,
            stamped,
            pdf,
            captured_at,
            url: url.to_string(),
            facts: facts_json,
        })
    }

    /// Renders the stamped copy: a local HTML page with the PNG under the strip, captured
    /// whole in the same tab.
    async fn stamp(
        &self,
        page: &Page,
        url: &str,
        png: &[u8],
        facts: &StampFacts,
    ) -> Result<Vec<u8>, ShotError> {
        let (w, h) = png_size(png).ok_or_else(|| ShotError::Step {
            url: url.into(),
            what: "the screenshot",
            message: "the browser returned no PNG".into(),
        })?;
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let dir = self.profile.path().join(format!("stamp-{n}"));
        let io = |e: std::io::Error| ShotError::Step {
            url: url.into(),
            what: "writing the stamp page",
            message: format!("{}: {e}", dir.display()),
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(dir.join("plain.png"), png).map_err(io)?;
        let html = stamp::stamp_html("plain.png", w, h, facts);
        let page_path = dir.join("stamp.html");
        std::fs::write(&page_path, html).map_err(io)?;
        let file_url = url::Url::from_file_path(&page_path).map_err(|()| ShotError::Step {
            url: url.into(),
            what: "writing the stamp page",
            message: format!("{}: not an absolute path", page_path.display()),
        })?;
        step(
            url,
            "setting the viewport",
            STEP,
            page.execute(metrics(w, VIEWPORT_HEIGHT)),
        )
        .await?;
        step(
            url,
            "rendering the stamp",
            STEP,
            page.goto(file_url.as_str()),
        )
        .await?;
        let (stamped, _) = step(
            url,
            "the stamped screenshot",
            self.config.timeout.max(STEP),
            full_page(page, w, h.saturating_add(2_000)),
        )
        .await?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(stamped)
    }

    /// Closes the browser (killing it if it does not go) and removes its profile.
    pub async fn close(mut self) {
        if tokio::time::timeout(CLOSE, self.browser.close())
            .await
            .is_err()
            || tokio::time::timeout(CLOSE, self.browser.wait())
                .await
                .is_err()
        {
            let _ = self.browser.kill().await;
        }
        self.pump.abort();
    }
}

fn metrics(width: u32, height: u32) -> SetDeviceMetricsOverrideParams {
    SetDeviceMetricsOverrideParams::new(i64::from(width), i64::from(height), 1.0, false)
}

/// Dismisses every JavaScript dialog of `page` (an `alert()` would block the load).
async fn dismiss_dialogs(page: &Page) -> Option<tokio::task::JoinHandle<()>> {
    let mut events =
        tokio::time::timeout(STEP, page.event_listener::<EventJavascriptDialogOpening>())
            .await
            .ok()?
            .ok()?;
    let page = page.clone();
    Some(tokio::spawn(async move {
        while events.next().await.is_some() {
            let _ = page.execute(HandleJavaScriptDialogParams::new(false)).await;
        }
    }))
}

/// A PNG of the whole page (at most `max_height` CSS pixels tall): the viewport is stretched
/// to the content and captured in one piece. Returns the bytes and, when the page was cut,
/// its full height.
async fn full_page(
    page: &Page,
    width: u32,
    max_height: u32,
) -> Result<(Vec<u8>, Option<u32>), chromiumoxide::error::CdpError> {
    let m = page.layout_metrics().await?;
    let content_h = m.css_content_size.height.ceil().max(1.0) as u32;
    let content_w = m.css_content_size.width.ceil() as u32;
    let w = content_w.clamp(width, width.saturating_mul(3));
    let h = content_h.min(max_height);
    page.execute(metrics(w, h)).await?;
    let params = CaptureScreenshotParams::builder()
        .format(CaptureScreenshotFormat::Png)
        .clip(Viewport {
            x: 0.0,
            y: 0.0,
            width: f64::from(w),
            height: f64::from(h),
            scale: 1.0,
        })
        .capture_beyond_viewport(true)
        .build();
    let res = page.execute(params).await?;
    page.execute(metrics(width, VIEWPORT_HEIGHT)).await?;
    let png = base64::engine::general_purpose::STANDARD
        .decode(AsRef::<str>::as_ref(&res.result.data))
        .map_err(|e| chromiumoxide::error::CdpError::msg(format!("screenshot data: {e}")))?;
    Ok((png, (content_h > max_height).then_some(content_h)))
}

fn pdf_params(f: &StampFacts) -> PrintToPdfParams {
    PrintToPdfParams::builder()
        .display_header_footer(true)
        .print_background(true)
        .header_template(stamp::pdf_header(f))
        .footer_template(stamp::pdf_footer(f))
        // A4 with room for the two-line header (inches).
        .paper_width(8.27)
        .paper_height(11.69)
        .margin_top(0.9)
        .margin_bottom(0.7)
        .margin_left(0.4)
        .margin_right(0.4)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_variable_wins_and_is_the_only_one_tried() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("chromium");
        std::fs::write(&exe, "#!/bin/sh\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
        let path = Some(dir.path().as_os_str().to_owned());
        assert_eq!(find_browser_in(None, path.clone()).expect("on PATH"), exe);
        let err = find_browser_in(Some("/nonexistent".into()), path).expect_err("env wins");
        assert!(
            err.to_string().contains("MIMAMORI_CHROMIUM=/nonexistent"),
            "{err}"
        );
        let err = find_browser_in(None, Some("/nonexistent-dir".into())).expect_err("none");
        assert!(
            err.to_string().contains("apt-get install chromium"),
            "{err}"
        );
    }

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
