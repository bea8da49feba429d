//! The headless browser: finding it ([`find_browser`]) and driving it over the DevTools
//! protocol ([`Shooter`]) — one tab per capture, a deadline on every step, JavaScript dialogs
//! dismissed — to take the full-page PNG, the stamped copy and the PDF of one page.

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::network::SetBlockedUrLsParams;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventJavascriptDialogOpening,
    HandleJavaScriptDialogParams, PrintToPdfParams, StopLoadingParams, Viewport,
};
use chromiumoxide::page::Page;
use chrono::Utc;
use futures_util::StreamExt;

use super::guard::{self, Guard};
use super::orphans;
use super::stamp::{self, StampFacts, jst_time, png_size, utc_time};
use super::{BROWSER_NAMES, Captured, ENV_CHROMIUM, ShotConfig, ShotError, ShotTarget};
use crate::evidence::ledger;

/// Height of the viewport a page is first laid out in (CSS pixels).
const VIEWPORT_HEIGHT: u32 = 900;
/// Deadline of the small DevTools steps (open a tab, read the title…).
const STEP: Duration = Duration::from_secs(10);
/// Limit on each step of closing the browser (then it is killed).
const CLOSE: Duration = Duration::from_secs(2);

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
    /// What the browser may open.
    guard: Guard,
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
        orphans::sweep();
        let profile = tempfile::Builder::new()
            .prefix(orphans::PROFILE_PREFIX)
            .tempdir()
            .map_err(|e| fail(format!("cannot create a temporary profile: {e}")))?;
        orphans::claim(profile.path())
            .map_err(|e| fail(format!("cannot write into the temporary profile: {e}")))?;
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
            guard: Guard::default(),
        })
    }

    /// The rules the browser checks before it opens a page (robots.txt through a fetcher;
    /// without this, only the scheme and private-address rules).
    pub fn with_guard(mut self, guard: Guard) -> Shooter {
        self.guard = guard;
        self
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
        self.guard.check(url, t.fallback_url.as_deref()).await?;
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
        // A public page may not make the browser reach into the network it runs in.
        if !self.guard.is_local(url).await {
            step(
                url,
                "blocking private addresses",
                STEP,
                page.execute(SetBlockedUrLsParams::new(guard::private_patterns())),
            )
            .await?;
        }
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

    /// Closes the browser (killing it if it does not go, with every process it started) and
    /// removes its profile.
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
        // Drop kills what is left of the tree.
    }
}

impl Drop for Shooter {
    /// Whatever way the shooter ends (closed, dropped by a stopping runtime, a panic), no
    /// browser process of its profile outlives it.
    fn drop(&mut self) {
        orphans::kill_profile(self.profile.path());
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
}
