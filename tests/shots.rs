//! Screenshots and PDFs of flagged posts (`mimamori::evidence::screenshot`): `watch --once`
//! against the simulated 5ch board takes a full-page PNG, a stamped copy and a PDF of every new
//! hit, chains them into the ledger, `evidence verify` re-hashes them and the legal packet
//! holds them; a page that never finishes loading ends as a timeout note; without Chromium the
//! run goes on and the packet says why.
//!
//! The Chromium tests need a browser (`.ci/run` installs Debian's `chromium`); without one they
//! print a loud SKIPPED line and pass. The no-Chromium test always runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use mimamori::config;
use mimamori::evidence::ledger::{self, Entry};
use mimamori::evidence::screenshot::{self, stamp::png_size};
use mimamori::simweb::fivech::SimFiveCh;
use mimamori::simweb::{Faults, SimConfig, SimSite, SimWeb};
use mimamori::store::{Hit, HitFilter, Store};

use crate::support::root;

const RISKY: &[&str] = &[
    "さくら食品は産地偽装してる詐欺企業",
    "小林クリニック燃やしてやる。覚えとけ",
];

/// Runs the binary in `dir` with `args`, and `MIMAMORI_CHROMIUM` set to `chromium` if given.
async fn run(dir: &Path, args: &[&str], chromium: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mimamori"));
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match chromium {
        Some(c) => cmd.env(screenshot::ENV_CHROMIUM, c),
        None => cmd.env_remove(screenshot::ENV_CHROMIUM),
    };
    tokio::task::spawn_blocking(move || cmd.output().expect("run mimamori"))
        .await
        .expect("join")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A 5ch board with the risky posts, and a config watching it.
async fn board(dir: &Path) -> (Arc<SimWeb>, PathBuf) {
    let wl = config::load(&root().join("watchlists/example.toml")).expect("example");
    let sites: Vec<Arc<dyn SimSite>> = vec![Arc::new(SimFiveCh::new("software"))];
    let cfg = SimConfig {
        seed: 5,
        threads: 2,
        initial_posts: 0,
        faults: Faults::default(),
    };
    let web = Arc::new(SimWeb::start(cfg, &wl, sites).await.expect("simulated web"));
    for t in RISKY {
        web.post_to("5ch", 1, t).expect("post");
    }
    web.post_to("5ch", 1, "今日はいい天気だな").expect("post");
    let example = std::fs::read_to_string(root().join("watchlists/example.toml")).expect("read");
    let config = dir.join("watch.toml");
    std::fs::write(
        &config,
        format!(
            "{example}\n[fetch]\nmin_delay = \"0s\"\nretries = 0\n\n[evidence]\nscreenshot_timeout = \"20s\"\n\n{}",
            web.sources_toml("1m")
        ),
    )
    .expect("write config");
    (web, config)
}

fn hits(data: &Path) -> Vec<Hit> {
    Store::open(data)
        .expect("store")
        .hits(&HitFilter::default())
        .expect("hits")
}

fn shot_entries(data: &Path, hit: i64) -> Vec<Entry> {
    let all = ledger::entries(&mimamori::evidence::evidence_dir(data)).expect("ledger");
    screenshot::entries_of_hit(&all, hit)
        .into_iter()
        .cloned()
        .collect()
}

fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    match screenshot::find_browser() {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_takes_png_stamped_png_and_pdf_of_each_hit_into_ledger_and_packet() {
    let Some(_) = chromium_or_skip("watch_takes_png_stamped_png_and_pdf…") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_web, config) = board(d).await;
    let cfg = config.to_str().expect("utf8");
    let out = run(
        d,
        &["watch", "--once", "--config", cfg, "--data", "data"],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let data = d.join("data");
    let hits = hits(&data);
    assert_eq!(hits.len(), RISKY.len(), "{}", text(&out.stdout));
    let ev = mimamori::evidence::evidence_dir(&data);

    for hit in &hits {
        let entries = shot_entries(&data, hit.id);
        let kind = |k: &str| {
            entries
                .iter()
                .find(|e| e.kind == k)
                .unwrap_or_else(|| panic!("hit {}: no {k} entry in {entries:?}", hit.id))
        };
        let (plain, stamped, pdf, meta) = (
            kind(screenshot::KIND_PNG),
            kind(screenshot::KIND_STAMPED),
            kind(screenshot::KIND_PDF),
            kind(screenshot::KIND_META),
        );
        assert!(
            entries.iter().all(|e| e.kind != screenshot::KIND_NOTE),
            "{entries:?}"
        );
        for e in [plain, stamped, pdf, meta] {
            assert_eq!(e.offset, 0);
            assert_eq!(e.post_keys, vec![hit.post_key.clone()]);
            assert_eq!(e.url, hit.url, "the permalink was captured");
            assert!(e.path.starts_with("shots/"), "{}", e.path);
        }
        let png = std::fs::read(ev.join(&plain.path)).expect("png");
        let (w, h) = png_size(&png).expect("a PNG with an IHDR");
        assert_eq!(w, 1280);
        assert!(h >= 100, "{h}");
        let st = std::fs::read(ev.join(&stamped.path)).expect("stamped png");
        let (sw, sh) = png_size(&st).expect("stamped PNG");
        assert_eq!(sw, w);
        assert!(
            sh > h,
            "the stamped copy ({sh}) is taller than the plain one ({h})"
        );
        let pdf_bytes = std::fs::read(ev.join(&pdf.path)).expect("pdf");
        assert!(pdf_bytes.starts_with(b"%PDF-"), "not a PDF");
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(ev.join(&meta.path)).expect("meta"))
                .expect("meta JSON");
        assert_eq!(meta["hit_id"], hit.id);
        assert_eq!(meta["http_status"], 200);
        assert_eq!(meta["files"]["screenshot"]["sha256"], plain.sha256);
        assert!(
            meta["browser"]
                .as_str()
                .is_some_and(|b| b.contains("Chrome")),
            "{meta}"
        );
    }
    // One stamped copy kept for a human to look at.
    let first = shot_entries(&data, hits[0].id);
    let stamped = first
        .iter()
        .find(|e| e.kind == screenshot::KIND_STAMPED)
        .expect("stamped");
    let look = root().join("target/screenshots");
    std::fs::create_dir_all(&look).expect("target/screenshots");
    std::fs::copy(ev.join(&stamped.path), look.join("stamped-hit.png")).expect("copy");

    let out = run(d, &["--data", "data", "evidence", "verify"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The packet holds the files with their hashes and shows the stamped copy.
    let id = hits[0].id.to_string();
    let out = run(
        d,
        &[
            "--data", "data", "evidence", "export", &id, "--out", "packet",
        ],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let packet = d.join("packet");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(packet.join("manifest.json")).expect("manifest"))
            .expect("manifest JSON");
    let names: Vec<&str> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    for e in &first {
        let name = e.path.rsplit('/').next().expect("name");
        assert!(names.contains(&name), "{name} not in {names:?}");
        let bytes = std::fs::read(packet.join(name)).expect("packet file");
        assert_eq!(ledger::sha256_hex(&bytes), e.sha256, "{name}");
    }
    assert!(!names.contains(&"SCREENSHOTS.txt"), "{names:?}");
    let report = std::fs::read_to_string(packet.join("report.html")).expect("report");
    let stamped_name = stamped.path.rsplit('/').next().expect("name");
    assert!(
        report.contains(&format!("<img src=\"{stamped_name}\"")),
        "the report shows the stamped screenshot"
    );
    assert!(report.contains(&stamped.sha256));

    // The hit's web page shows the stamped copy, linked to the plain one, and the PDF; the
    // files are served as stored, and nothing else of the ledger is.
    let server = crate::serve::start(d, &[]);
    let c = reqwest::Client::new();
    let (status, page) = crate::serve::get(&c, &format!("{}/hits/{id}", server.base)).await;
    assert_eq!(status, 200, "{page}");
    let plain = first
        .iter()
        .find(|e| e.kind == screenshot::KIND_PNG)
        .expect("plain");
    let pdf = first
        .iter()
        .find(|e| e.kind == screenshot::KIND_PDF)
        .expect("pdf");
    for (seq, want) in [
        (
            stamped.seq,
            format!("<img src=\"/hits/{id}/files/{}\"", stamped.seq),
        ),
        (
            plain.seq,
            format!("<a href=\"/hits/{id}/files/{}\"><img", plain.seq),
        ),
        (
            pdf.seq,
            format!("<a href=\"/hits/{id}/files/{}\">PDF</a>", pdf.seq),
        ),
    ] {
        assert!(page.contains(&want), "{want} not in the page");
        let r = c
            .get(format!("{}/hits/{id}/files/{seq}", server.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 200);
        let e = first.iter().find(|e| e.seq == seq).expect("entry");
        let bytes = r.bytes().await.expect("body");
        assert_eq!(ledger::sha256_hex(&bytes), e.sha256);
    }
    let warc_seq = ledger::entries(&ev)
        .expect("ledger")
        .iter()
        .find(|e| e.kind == "warc")
        .map(|e| e.seq)
        .expect("a warc entry");
    for bad in [warc_seq.to_string(), "99999".into(), "x".into()] {
        let r = c
            .get(format!("{}/hits/{id}/files/{bad}", server.base))
            .send()
            .await
            .expect("request");
        assert!(
            matches!(r.status().as_u16(), 400 | 404),
            "{bad}: {}",
            r.status()
        );
    }
    drop(server);

    // A second run finds nothing new and takes no second screenshot.
    let before = ledger::entries(&ev).expect("ledger").len();
    let out = run(
        d,
        &["watch", "--once", "--config", cfg, "--data", "data"],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(ledger::entries(&ev).expect("ledger").len(), before);
}

/// A server whose page never finishes: headers, a little HTML, then nothing, forever.
async fn endless_server() -> String {
    use axum::body::Body;
    use axum::routing::get;
    let router = axum::Router::new().route(
        "/endless",
        get(|| async {
            let stream = futures_util::stream::unfold(0u32, |n| async move {
                if n > 0 {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
                Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(
                        "<html><body><p>読み込み中".as_bytes(),
                    )),
                    n + 1,
                ))
            });
            axum::response::Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(Body::from_stream(stream))
                .expect("response")
        }),
    );
    let addr = crate::support::serve(router).await;
    format!("http://{addr}/endless")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_never_finishes_loading_times_out_into_a_note() {
    let Some(_) = chromium_or_skip("a_page_that_never_finishes_loading…") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let url = endless_server().await;
    let mut post = crate::support::post("5ch:software/1/1", "5ch", RISKY[0], 0);
    post.url = url.clone();
    post.source_url = url.clone();
    let data = d.join("data");
    let (_, hits) =
        crate::support::store_analyzed(&data, &root().join("watchlists/example.toml"), vec![post]);
    let id = hits[0].id.to_string();
    let started = std::time::Instant::now();
    let out = run(
        d,
        &[
            "--data",
            "data",
            "evidence",
            "screenshot",
            &id,
            "--timeout",
            "3s",
        ],
        None,
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not finish loading within 3 s") && stderr.contains(&url),
        "{stderr}"
    );
    assert!(started.elapsed().as_secs() < 60, "the timeout held");
    let entries = shot_entries(&data, hits[0].id);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].kind, screenshot::KIND_NOTE);
    let note =
        std::fs::read_to_string(mimamori::evidence::evidence_dir(&data).join(&entries[0].path))
            .expect("note");
    assert!(note.contains("did not finish loading"), "{note}");
    let out = run(d, &["--data", "data", "evidence", "verify"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_chromium_watch_goes_on_and_the_packet_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_web, config) = board(d).await;
    let cfg = config.to_str().expect("utf8");
    let out = run(
        d,
        &["watch", "--once", "--config", cfg, "--data", "data"],
        Some("/nonexistent"),
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr.matches("no screenshots").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(
        stderr.contains("MIMAMORI_CHROMIUM=/nonexistent"),
        "{stderr}"
    );
    let data = d.join("data");
    let hits = hits(&data);
    assert_eq!(hits.len(), RISKY.len());
    for h in &hits {
        let entries = shot_entries(&data, h.id);
        assert_eq!(
            entries.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            vec![screenshot::KIND_NOTE],
            "hit {}",
            h.id
        );
    }
    let id = hits[0].id.to_string();
    let out = run(
        d,
        &[
            "--data", "data", "evidence", "export", &id, "--out", "packet",
        ],
        Some("/nonexistent"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let note = std::fs::read_to_string(d.join("packet/SCREENSHOTS.txt")).expect("SCREENSHOTS.txt");
    assert!(
        note.contains("no screenshot") && note.contains("MIMAMORI_CHROMIUM=/nonexistent"),
        "{note}"
    );
    let report = std::fs::read_to_string(d.join("packet/report.html")).expect("report");
    assert!(report.contains("スクリーンショットは取得されていない"));
    let out = run(d, &["--data", "data", "evidence", "verify"], None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Turned off: no note, no warning.
    let out = run(
        d,
        &[
            "watch",
            "--once",
            "--no-screenshots",
            "--config",
            cfg,
            "--data",
            "data2",
        ],
        Some("/nonexistent"),
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("no screenshots"), "{stderr}");
    let all = ledger::entries(&mimamori::evidence::evidence_dir(&d.join("data2"))).expect("ledger");
    assert!(
        all.iter()
            .all(|e| !mimamori::evidence::screenshot::KINDS.contains(&e.kind.as_str())),
        "no screenshot entries when they are off: {all:?}"
    );
    assert!(all.iter().any(|e| e.kind == "warc"));
}

/// Pids of processes whose command line names a mimamori browser profile owned by `owner`.
fn browsers_of(owner: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        let Some(at) = cmd.find("--user-data-dir=") else {
            continue;
        };
        let profile: String = cmd[at + "--user-data-dir=".len()..]
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_string();
        let owned = std::fs::read_to_string(Path::new(&profile).join("owner.pid"))
            .is_ok_and(|p| p.trim() == owner.to_string());
        if profile.contains("mimamori-chromium-") && owned {
            out.push((pid, profile));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_left_by_a_killed_watch_is_swept_by_the_next_one() {
    let Some(_) = chromium_or_skip("a_browser_left_by_a_killed_watch…") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (_web, config) = board(d).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["watch", "--data", "data", "--config"])
        .arg(&config)
        .current_dir(d)
        .env_remove(screenshot::ENV_CHROMIUM)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let owner = child.id();
    let mut left = Vec::new();
    for _ in 0..300 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        left = browsers_of(owner);
        if !left.is_empty() {
            break;
        }
    }
    if left.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        let procs: Vec<String> = std::fs::read_dir("/proc")
            .map(|d| {
                d.flatten()
                    .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
                    .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                    .filter(|c| c.contains("chrom"))
                    .collect()
            })
            .unwrap_or_default();
        panic!("watch started no browser for its hits; browsers: {procs:#?}");
    }
    // SIGKILL: no destructor runs, the browser is left behind.
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let orphaned = !browsers_of(owner).is_empty();
    if !orphaned {
        eprintln!("note: this Chromium ended with its owner; the sweep had nothing to do");
    }
    // The next run's screenshot worker sweeps it (and its profile) as it starts.
    let out = run(
        d,
        &[
            "watch",
            "--once",
            "--config",
            config.to_str().expect("utf8"),
            "--data",
            "data",
        ],
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(browsers_of(owner).is_empty(), "{:?}", browsers_of(owner));
    let profile = &left[0].1;
    assert!(
        !Path::new(profile).exists(),
        "its profile {profile} removed"
    );
}
