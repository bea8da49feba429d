//! Evidence captured by the watch loop: WARC records of every flagged post's response that
//! `warcio` accepts, a ledger whose chain and hashes `evidence verify` checks, and a byte
//! changed anywhere is reported.

use std::path::Path;
use std::process::Command;

use mimamori::evidence::ledger;
use mimamori::store::{HitFilter, Store};

use crate::support::mimamori;

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = mimamori(dir, args, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `warcio ARGS…` if warcio is installed (`.ci/run` installs it); `None` (said loudly) if not.
pub(crate) fn warcio(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("warcio").args(args).output() {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!("SKIPPED warcio checks: cannot run warcio ({e}); `pip install warcio`");
            None
        }
    }
}

#[test]
fn demo_hits_have_warc_evidence_that_verifies_and_detects_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (code, _, stderr) = run(d, &["--data", "data", "demo", "--duration", "8s"]);
    assert_eq!(code, Some(0), "{stderr}");
    let data = d.join("data");
    let store = Store::open(&data).expect("store");
    let hits = store.hits(&HitFilter::default()).expect("hits");
    assert!(!hits.is_empty(), "the demo found no hit: {stderr}");
    drop(store);

    // Every hit's post has a capture in the ledger, captured at fetch time.
    let ev = mimamori::evidence::evidence_dir(&data);
    let entries = ledger::entries(&ev).expect("ledger");
    for h in &hits {
        assert!(
            entries
                .iter()
                .any(|e| e.kind == "warc" && e.post_keys.contains(&h.post_key)),
            "no evidence for hit {} ({})",
            h.id,
            h.post_key
        );
    }
    assert_eq!(entries[0].kind, "warcinfo");
    assert!(entries.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert_eq!(entries[0].prev, ledger::GENESIS);

    // warcio accepts the files: digests pass, every record indexes.
    let warcs: Vec<_> = std::fs::read_dir(ev.join("warc"))
        .expect("warc dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert!(!warcs.is_empty());
    for w in &warcs {
        let w = w.to_str().expect("utf8");
        if let Some(out) = warcio(&["check", "-v", w]) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "warcio check {w}: {text}");
            assert!(
                text.contains("digest pass") && !text.contains("fail"),
                "{text}"
            );
        }
        if let Some(out) = warcio(&["index", "-f", "warc-type,warc-target-uri", w]) {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "warcio index {w}");
            for kind in ["warcinfo", "request", "response", "metadata"] {
                assert!(
                    text.contains(&format!("\"{kind}\"")),
                    "no {kind} record: {text}"
                );
            }
        }
    }

    // verify passes; `evidence show` replays the stored response.
    let (code, stdout, stderr) = run(d, &["--data", "data", "evidence", "verify"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.starts_with("ok: ") && stdout.contains("chain intact"),
        "{stdout}"
    );
    let id = hits[0].id.to_string();
    let (code, stdout, stderr) = run(d, &["--data", "data", "evidence", "show", &id]);
    assert_eq!(code, Some(0), "{stderr}");
    // 200 for a whole dat, page or feed; 206 for a differential dat read (stored as fetched).
    assert!(
        stdout.starts_with("HTTP/1.1 200 OK") || stdout.starts_with("HTTP/1.1 206 Partial Content"),
        "{stdout}"
    );
    assert!(
        stderr.contains(&hits[0].url) || stderr.contains("captured"),
        "{stderr}"
    );
    let (code, _, stderr) = run(d, &["--data", "data", "evidence", "show", "99999"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("99999"), "{stderr}");

    // The hit's page and API list its captures.
    let server = crate::serve::start(d, &[]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (api, page) = rt.block_on(async {
        let c = reqwest::Client::new();
        let (_, api) = crate::serve::get(&c, &format!("{}/api/hits/{id}", server.base)).await;
        let (_, page) = crate::serve::get(&c, &format!("{}/hits/{id}", server.base)).await;
        let zip = c
            .get(format!("{}/hits/{id}/packet.zip", server.base))
            .send()
            .await
            .expect("request");
        assert_eq!(zip.status().as_u16(), 200);
        assert_eq!(
            zip.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/zip")
        );
        let bytes = zip.bytes().await.expect("zip body");
        assert_eq!(&bytes[..2], b"PK");
        let missing = c
            .get(format!("{}/hits/99999/packet.zip", server.base))
            .send()
            .await
            .expect("request");
        assert_eq!(missing.status().as_u16(), 404);
        (api, page)
    });
    drop(server);
    let v: serde_json::Value = serde_json::from_str(&api).expect("JSON");
    let listed = v["evidence"].as_array().expect("evidence array");
    assert!(!listed.is_empty(), "{api}");
    assert!(
        listed
            .iter()
            .all(|e| e["path"].as_str().is_some_and(|p| p.starts_with("warc/")))
    );
    assert!(
        page.contains("mimamori evidence show") && page.contains("warc/mimamori-"),
        "{page}"
    );
    assert!(page.contains(&format!("/hits/{id}/packet.zip")), "{page}");

    // The legal packet, as a directory and as a zip: every file hashed in the manifest, the
    // WARC copy still passes warcio, the report carries the form fields and deadlines.
    let (code, _, stderr) = run(
        d,
        &[
            "--data", "data", "evidence", "export", &id, "--out", "packet",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let packet = d.join("packet");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(packet.join("manifest.json")).expect("manifest"))
            .expect("manifest JSON");
    let files = manifest["files"].as_array().expect("files");
    // The demo takes no screenshots: the packet says so in SCREENSHOTS.txt.
    assert_eq!(files.len(), 5, "{manifest}");
    assert!(packet.join("SCREENSHOTS.txt").is_file());
    for f in files {
        let name = f["name"].as_str().expect("name");
        let bytes = std::fs::read(packet.join(name)).expect("packet file");
        assert_eq!(f["sha256"], ledger::sha256_hex(&bytes), "{name}");
    }
    let report = std::fs::read_to_string(packet.join("report.html")).expect("report");
    for want in [
        "送信防止措置依頼書",
        "掲載されている場所",
        "侵害されたとする権利",
        "発信者情報開示請求",
        "証拠説明書",
        "アクセスログ保存の目安",
        &hits[0].url,
    ] {
        assert!(report.contains(want), "report lacks {want}");
    }
    if let Some(out) = warcio(&[
        "check",
        packet.join("evidence.warc.gz").to_str().expect("utf8"),
    ]) {
        assert!(out.status.success(), "warcio check of the packet failed");
    }
    let (code, _, stderr) = run(
        d,
        &[
            "--data", "data", "evidence", "export", &id, "--out", "packet",
        ],
    );
    assert_eq!(code, Some(1), "an existing packet is never overwritten");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    // Nothing half-written is left beside it, and an empty directory is fine.
    let partial = std::fs::read_dir(d)
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .count();
    assert_eq!(partial, 0);
    std::fs::create_dir(d.join("empty")).expect("empty dir");
    let (code, _, stderr) = run(
        d,
        &[
            "--data", "data", "evidence", "export", &id, "--out", "empty",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(d.join("empty/manifest.json").is_file());
    let (code, _, stderr) = run(
        d,
        &[
            "--data",
            "data",
            "evidence",
            "export",
            &id,
            "--out",
            "packet.zip",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let zip = std::fs::read(d.join("packet.zip")).expect("zip");
    assert_eq!(&zip[..2], b"PK");
    // Entries are dated when the post was captured (JST), not 1980-01-01.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("zip archive");
    let dated = archive
        .by_index(0)
        .expect("entry")
        .last_modified()
        .expect("a date");
    assert!(dated.year() >= 2026, "{dated:?}");

    // One byte changed in a WARC file: verify names the file and fails.
    let last = entries.last().expect("entries");
    let target = ev.join(&last.path);
    let mut bytes = std::fs::read(&target).expect("read warc");
    let at = (last.offset + last.length / 2) as usize;
    bytes[at] ^= 0x01;
    std::fs::write(&target, &bytes).expect("tamper");
    let (code, _, stderr) = run(d, &["--data", "data", "evidence", "verify"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("altered") && stderr.contains(&last.path),
        "{stderr}"
    );
    bytes[at] ^= 0x01;
    std::fs::write(&target, &bytes).expect("restore");
    let (code, _, stderr) = run(d, &["--data", "data", "evidence", "verify"]);
    assert_eq!(code, Some(0), "{stderr}");

    // A ledger line edited (the chain): the next entry no longer follows.
    let ledger_path = ev.join(ledger::LEDGER_FILE);
    let text = std::fs::read_to_string(&ledger_path).expect("ledger");
    let edited = text.replacen("\"kind\":\"warc\"", "\"kind\":\"warC\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&ledger_path, edited).expect("edit ledger");
    let (code, _, stderr) = run(d, &["--data", "data", "evidence", "verify"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("chain broken"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn board_hits_keep_their_thread_page_with_the_neighbouring_posts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let web = crate::crawl::start_boards(mimamori::simweb::Faults::default()).await;
    let config = crate::crawl::write_config(d, &web, "1m");
    for (site, thread) in [("5ch", 2), ("shitaraba", 1)] {
        web.post_to(site, thread, &format!("{site}の前のレス：今日は寒いね"))
            .expect("post");
    }
    web.post_to("5ch", 2, "さくら食品は産地偽装してる詐欺企業")
        .expect("post");
    web.post_to("shitaraba", 1, "小林クリニック燃やしてやる。覚えとけ")
        .expect("post");
    let (cfg, data) = (config.to_str().expect("utf8"), d.join("data"));
    let out = crate::crawl::run(
        d,
        &[
            "watch",
            "--once",
            "--no-screenshots",
            "--config",
            cfg,
            "--data",
            data.to_str().expect("utf8"),
        ],
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = Store::open(&data).expect("store");
    let hits = store.hits(&HitFilter::default()).expect("hits");
    let entries = ledger::entries(&mimamori::evidence::evidence_dir(&data)).expect("ledger");
    for (site, risky, neighbour) in [
        ("5ch", "産地偽装", "5chの前のレス"),
        ("shitaraba", "燃やしてやる", "shitarabaの前のレス"),
    ] {
        let hit = hits
            .iter()
            .find(|h| h.source_id.starts_with(site) && h.post_key.starts_with(site))
            .unwrap_or_else(|| panic!("no {site} hit: {hits:?}"));
        let post = store.post(&hit.post_key).expect("post").expect("stored");
        let thread = entries
            .iter()
            .find(|e| {
                e.kind == mimamori::evidence::KIND_THREAD && e.post_keys.contains(&hit.post_key)
            })
            .unwrap_or_else(|| panic!("no thread page captured for {}", hit.post_key));
        // The page around the post: <thread>/<n-10>-<n+10> of its permalink's thread.
        let thread_url = post.url.rsplit_once('/').expect("permalink").0;
        assert!(
            thread.url.starts_with(thread_url) && thread.url.contains('-'),
            "{} for {}",
            thread.url,
            post.url
        );
        let packet = d.join(format!("packet-{site}"));
        let id = hit.id.to_string();
        let (code, _, stderr) = run(
            d,
            &[
                "--data",
                data.to_str().expect("utf8"),
                "evidence",
                "export",
                &id,
                "--out",
                packet.to_str().expect("utf8"),
            ],
        );
        assert_eq!(code, Some(0), "{stderr}");
        let report = std::fs::read_to_string(packet.join("report.html")).expect("report");
        let section = report
            .split("1-2. 前後の投稿")
            .nth(1)
            .and_then(|r| r.split("<h2>").next())
            .unwrap_or_else(|| panic!("{site}: no neighbouring-posts section: {report}"));
        assert!(section.contains(neighbour), "{site}: {section}");
        assert!(section.contains(risky), "{site}: {section}");
        let number = post.number.expect("number");
        assert!(
            section.contains(&format!("★ {number}")),
            "{site}: the hit's post is marked: {section}"
        );
        // Decoded from Shift_JIS / EUC-JP: no replacement characters.
        assert!(!section.contains('\u{FFFD}'), "{site}: {section}");
        if let Some(out) = warcio(&[
            "check",
            packet.join("evidence.warc.gz").to_str().expect("utf8"),
        ]) {
            assert!(
                out.status.success(),
                "{site}: warcio check of the packet failed"
            );
        }
    }
    let (code, stdout, stderr) = run(
        d,
        &["--data", data.to_str().expect("utf8"), "evidence", "verify"],
    );
    assert_eq!(code, Some(0), "{stdout}{stderr}");
}
