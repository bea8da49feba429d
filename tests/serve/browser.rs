//! The triage page in headless Chromium (driven over the DevTools protocol by chromiumoxide):
//! queue → filter → hit → mark reported → search (phrase, kana) → the XSS post renders as
//! text. Screenshots of the main pages go to `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium` (`.ci/run` installs Debian's `chromium`); without it the test
//! prints a loud SKIPPED line and passes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chromiumoxide::browser::{Browser, BrowserConfig};
use chromiumoxide::cdp::browser_protocol::page::EventJavascriptDialogOpening;
use chromiumoxide::page::{Page, ScreenshotParams};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::{XSS, hit_of, json, seeded, start};

const CHROMIUM: &str = "/usr/bin/chromium";

fn screenshots() -> PathBuf {
    let dir = crate::support::root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

async fn eval<T: DeserializeOwned>(page: &Page, js: &str) -> T {
    page.evaluate(js)
        .await
        .unwrap_or_else(|e| panic!("evaluate {js}: {e}"))
        .into_value()
        .unwrap_or_else(|e| panic!("value of {js}: {e}"))
}

/// Waits until the JS expression `cond` is true (10 s at most).
async fn wait_for(page: &Page, cond: &str) {
    for _ in 0..100 {
        if let Ok(v) = page.evaluate(cond).await
            && v.into_value::<bool>().unwrap_or(false)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text: String = eval(page, "document.body ? document.body.innerText : ''").await;
    panic!("timed out waiting for {cond}; page text:\n{text}");
}

async fn shot(page: &Page, name: &str) {
    let path = screenshots().join(name);
    page.save_screenshot(ScreenshotParams::builder().full_page(true).build(), &path)
        .await
        .unwrap_or_else(|e| panic!("screenshot {}: {e}", path.display()));
}

async fn goto(page: &Page, url: &str) {
    page.goto(url)
        .await
        .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    wait_for(page, "document.readyState === 'complete'").await;
}

/// Submits the form holding `button` and waits for the next page (`marker` changes).
async fn submit(page: &Page, button: &str) {
    let _: bool = eval(page, "(window.__before = 1, true)").await;
    page.find_element(button)
        .await
        .unwrap_or_else(|e| panic!("no {button}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {button}: {e}"));
    wait_for(
        page,
        "window.__before === undefined && document.readyState === 'complete'",
    )
    .await;
}

fn js_str(s: &str) -> String {
    serde_json::to_string(s).expect("a JS string")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_in_a_real_browser() {
    if !Path::new(CHROMIUM).exists() {
        eprintln!("SKIPPED: chromium not found at {CHROMIUM} (apt-get install -y chromium)");
        return;
    }
    let dir = seeded();
    let server = start(dir.path(), &["--config", "wl.toml"]);
    let b = server.base.clone();
    let hits = {
        let body = reqwest::get(format!("{b}/api/hits"))
            .await
            .expect("hits")
            .text()
            .await
            .expect("body");
        json(&body)
    };
    let xss_id = hit_of(&hits, "5ch:a/100/4")["id"].as_i64().expect("id");

    let profile = tempfile::tempdir().expect("profile dir");
    let config = BrowserConfig::builder()
        .chrome_executable(CHROMIUM)
        .disable_default_args()
        .no_sandbox()
        .user_data_dir(profile.path())
        .window_size(1280, 900)
        .viewport(None::<chromiumoxide::handler::viewport::Viewport>)
        .args([
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--lang=ja",
        ])
        .build()
        .expect("browser config");
    let (mut browser, mut handler) = Browser::launch(config).await.expect("launch chromium");
    // Keep pumping the connection; unknown protocol events are errors we can ignore.
    let pump = tokio::spawn(async move { while handler.next().await.is_some() {} });

    let page = browser.new_page("about:blank").await.expect("new page");
    let dialogs = Arc::new(AtomicUsize::new(0));
    let mut events = page
        .event_listener::<EventJavascriptDialogOpening>()
        .await
        .expect("dialog events");
    let seen = Arc::clone(&dialogs);
    let listener = tokio::spawn(async move {
        while events.next().await.is_some() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });

    // The queue, then filtered by target.
    goto(&page, &format!("{b}/")).await;
    let rows: usize = eval(&page, "document.querySelectorAll('tr.hit').length").await;
    assert_eq!(rows, 3);
    shot(&page, "queue.png").await;
    let _: bool = eval(
        &page,
        "(document.querySelector('select[name=target]').value = 'tanaka', true)",
    )
    .await;
    submit(&page, "form.filters button").await;
    let url: String = eval(&page, "location.href").await;
    assert!(url.contains("target=tanaka"), "{url}");
    let rows: usize = eval(&page, "document.querySelectorAll('tr.hit').length").await;
    assert_eq!(rows, 1);

    // Open the hit; mark it reported with a note.
    page.find_element("tr.hit a")
        .await
        .expect("hit link")
        .click()
        .await
        .expect("click hit");
    wait_for(
        &page,
        "location.pathname.startsWith('/hits/') && document.readyState === 'complete'",
    )
    .await;
    let body: String = eval(&page, "document.getElementById('post-body').innerText").await;
    assert!(
        body.contains("090-****-6789") && !body.contains("2345-6789"),
        "{body}"
    );
    let marks: usize = eval(&page, "document.querySelectorAll('#post-body mark').length").await;
    assert!(marks >= 2, "matches are highlighted in place");
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('select[name=status]').value = 'reported', document.querySelector('textarea[name=note]').value = {}, true)",
            js_str("削除依頼を送付")
        ),
    )
    .await;
    submit(&page, "#triage-submit").await;
    let h1: String = eval(&page, "document.querySelector('h1').innerText").await;
    assert!(h1.contains("reported"), "{h1}");
    let history: String = eval(&page, "document.getElementById('history').innerText").await;
    assert!(
        history.contains("reported") && history.contains("削除依頼を送付"),
        "{history}"
    );
    let deadlines: String = eval(&page, "document.getElementById('deadlines').innerText").await;
    assert!(deadlines.contains("days left"), "{deadlines}");
    shot(&page, "hit.png").await;

    // Search a Japanese phrase, then a kana reading.
    goto(&page, &format!("{b}/search")).await;
    let _: bool = eval(
        &page,
        &format!(
            "(document.querySelector('input[name=q]').value = {}, true)",
            js_str("\"山田商事は詐欺\"")
        ),
    )
    .await;
    submit(&page, "form.filters button").await;
    let results: Vec<String> = eval(
        &page,
        "[...document.querySelectorAll('.result')].map(e => e.innerText)",
    )
    .await;
    assert!(
        !results.is_empty() && results.iter().all(|r| r.contains("山田商事")),
        "{results:?}"
    );
    goto(&page, &format!("{b}/search?q=%E3%82%84%E3%81%BE%E3%81%A0")).await;
    let text: String = eval(&page, "document.body.innerText").await;
    assert!(
        text.contains("山田商事") && text.contains("ヤマダ商事"),
        "{text}"
    );
    let facets: String = eval(&page, "document.querySelector('.facets').innerText").await;
    assert!(facets.contains("yamada"), "{facets}");
    shot(&page, "search.png").await;

    // The attacker's post renders as text: nothing runs, no element is made.
    goto(&page, &format!("{b}/hits/{xss_id}")).await;
    let body: String = eval(&page, "document.getElementById('post-body').innerText").await;
    assert!(
        body.contains(XSS.split('。').nth(1).unwrap_or(XSS)),
        "{body}"
    );
    let imgs: usize = eval(&page, "document.querySelectorAll('img').length").await;
    assert_eq!(imgs, 0);
    let scripts: usize = eval(&page, "document.querySelectorAll('script').length").await;
    assert_eq!(scripts, 0);
    let onerror: usize = eval(&page, "document.querySelectorAll('[onerror]').length").await;
    assert_eq!(onerror, 0);
    shot(&page, "xss.png").await;

    goto(&page, &format!("{b}/timeline")).await;
    let svg: usize = eval(&page, "document.querySelectorAll('svg rect title').length").await;
    assert!(svg >= 1);
    shot(&page, "timeline.png").await;
    goto(&page, &format!("{b}/sources")).await;
    shot(&page, "sources.png").await;

    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(dialogs.load(Ordering::SeqCst), 0, "a dialog was opened");
    listener.abort();
    let _ = browser.close().await;
    let _ = browser.wait().await;
    pump.abort();
}
