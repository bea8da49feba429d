//! A crash part-way through a write (a short write, a full disk, a power cut) leaves a torn
//! tail at the end of an append-only file. Each file is torn here at every interesting cut —
//! between characters, inside a multibyte one, inside a gzip member, between members — and
//! the next run must start, set the torn bytes aside (kept, and hashed into the ledger for
//! evidence), write every record whole, and leave a ledger that `verify` passes and WARC files
//! that decode (and that `warcio` reads) record by record.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use mimamori::alert::{self, Alert, Sink};
use mimamori::evidence::{Evidence, ledger};
use mimamori::fetch::FetchResponse;

use crate::evidence::warcio;

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]
"#;

/// The `.torn` files in `dir`, sorted.
fn torn_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "torn"))
        .collect();
    out.sort();
    out
}

fn remove_torn(dir: &Path) {
    for p in torn_files(dir) {
        std::fs::remove_file(p).expect("remove torn");
    }
}

/// Where the last line of `bytes` (which ends with a newline) starts.
fn last_line_start(bytes: &[u8]) -> usize {
    let body = &bytes[..bytes.len() - 1];
    body.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

/// Three alerts (their hits in a fresh store) for one `jsonl` sink named `file`.
fn alerts(dir: &Path) -> Vec<Alert> {
    let wl = dir.join("wl.toml");
    std::fs::write(&wl, WATCHLIST).expect("watchlist");
    let posts = vec![
        crate::support::post("5ch:test/1/1", "5ch", "山田商事は詐欺会社", 0),
        crate::support::post("5ch:test/1/2", "5ch", "山田商事の社長が逮捕されたらしい", 0),
        crate::support::post("5ch:test/1/3", "5ch", "山田商事ってブラック企業だよな…", 0),
    ];
    let (store, hits) = crate::support::store_analyzed(&dir.join("data"), &wl, posts);
    assert_eq!(hits.len(), 3, "{hits:?}");
    store
        .outbox_expand(&["file".to_string()], Utc::now())
        .expect("expand");
    store
        .outbox()
        .expect("outbox")
        .iter()
        .filter(|row| row.sink == "file")
        .map(|row| {
            let hit = store.hit(row.hit_id).expect("hit").expect("exists");
            Alert::new(&hit, row)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jsonl_alert_file_cut_at_any_byte_of_its_last_line_recovers_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = alerts(dir.path());
    let path = dir.path().join("alerts").join("alerts.jsonl");
    let sink = alert::sinks::JsonlSink::open(path.clone()).expect("open");
    sink.send(&alerts).await.expect("send");
    let full = std::fs::read(&path).expect("read");
    let start = last_line_start(&full);
    assert!(
        full[start..].iter().any(|b| *b >= 0x80),
        "the last line holds multibyte characters to cut inside"
    );
    // Every cut: at the line's start (nothing torn), inside and between characters, and
    // just before the newline.
    for cut in start..full.len() {
        std::fs::write(&path, &full[..cut]).expect("tear");
        remove_torn(path.parent().expect("dir"));
        let sink = alert::sinks::JsonlSink::open(path.clone())
            .unwrap_or_else(|e| panic!("cut at {cut}: the sink must open: {e}"));
        sink.send(&alerts).await.expect("send");
        // The torn alert was never marked sent: it is written again, whole, once.
        assert_eq!(
            std::fs::read(&path).expect("read"),
            full,
            "cut at {cut}: every line whole, none twice"
        );
        let torn = torn_files(path.parent().expect("dir"));
        if cut == start {
            assert!(torn.is_empty(), "nothing was torn: {torn:?}");
        } else {
            assert_eq!(torn.len(), 1, "cut at {cut}: {torn:?}");
            assert_eq!(
                std::fs::read(&torn[0]).expect("torn"),
                &full[start..cut],
                "the torn bytes are kept as they were"
            );
        }
    }
    // A write of this process that failed part-way (a full disk) is not glued onto either.
    std::fs::write(&path, &full[..full.len() - 5]).expect("tear");
    remove_torn(path.parent().expect("dir"));
    let sink = alert::sinks::JsonlSink::open(path.clone()).expect("open");
    let mut bytes = full[..start].to_vec();
    bytes.extend_from_slice(&full[start..start + 7]);
    std::fs::write(&path, &bytes).expect("a failed write");
    sink.send(&alerts).await.expect("send");
    let text = std::fs::read_to_string(&path).expect("utf8");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("every line parses");
    }
    assert_eq!(text.lines().count(), 3, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_starts_on_an_alert_file_torn_inside_a_character_and_resends_that_alert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let jsonl = dir.path().join("alerts.jsonl");
    let web = crate::crawl::start_boards(mimamori::simweb::Faults::default()).await;
    let config = crate::crawl::write_config(dir.path(), &web, "1m");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[alert]]\nname = \"file\"\nkind = \"jsonl\"\npath = \"{}\"\n",
        jsonl.display()
    ));
    std::fs::write(&config, text).expect("write config");
    for (site, thread, body) in [
        ("5ch", 1, "さくら食品は産地偽装してる詐欺企業"),
        ("5ch", 2, "田中美咲ってほんとブス。性格もゴミ"),
        ("shitaraba", 0, "小林クリニック燃やしてやる。覚えとけ"),
    ] {
        web.post_to(site, thread, body).expect("post");
    }
    let args = [
        "watch",
        "--once",
        "--no-screenshots",
        "--config",
        config.to_str().expect("utf8"),
        "--data",
        data.to_str().expect("utf8"),
    ];
    let out = crate::support::mimamori(dir.path(), &args, b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = std::fs::read(&jsonl).expect("alerts");
    let start = last_line_start(&full);
    let line: serde_json::Value =
        serde_json::from_slice(&full[start..full.len() - 1]).expect("last line");
    let key = line["idempotency_key"].as_str().expect("key").to_string();
    // Inside the first multibyte character, right after it, and before the newline.
    let first_wide = start
        + full[start..]
            .iter()
            .position(|b| *b >= 0x80)
            .expect("a multibyte character");
    for cut in [first_wide + 1, first_wide + 3, full.len() - 1] {
        std::fs::write(&jsonl, &full[..cut]).expect("tear");
        // The crash came before the row was marked sent.
        let db = rusqlite::Connection::open(data.join("state.sqlite")).expect("db");
        let n = db
            .execute(
                "UPDATE outbox SET sent_at = NULL, next_attempt_at = '2000-01-01T00:00:00Z' \
                 WHERE idempotency_key = ?1",
                [&key],
            )
            .expect("unmark");
        assert_eq!(n, 1);
        drop(db);
        let out = crate::support::mimamori(dir.path(), &args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "cut at {cut}: {stderr}");
        assert!(
            stderr.contains("partial line"),
            "the recovery is logged: {stderr}"
        );
        let text = std::fs::read_to_string(&jsonl).expect("the file is UTF-8 again");
        let keys: Vec<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("every line parses");
                v["idempotency_key"].as_str().expect("key").to_string()
            })
            .collect();
        let unique: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), keys.len(), "no alert twice: {keys:?}");
        assert!(keys.contains(&key), "the torn alert is written again");
    }
}

/// A re-check response of `n` (Shift_JIS, as 5ch serves it), fetched at `at`.
fn response(n: u32, at: DateTime<Utc>) -> FetchResponse {
    let html = format!(
        "<html><head><title>山田商事スレ</title></head><body><dl><dt>{n} ：名無しさん</dt>\
         <dd>山田商事は詐欺会社。書き込み{n}</dd></dl></body></html>"
    );
    let (body, _, _) = encoding_rs::SHIFT_JIS.encode(&html);
    FetchResponse {
        url: url::Url::parse(&format!("https://egg.example/test/read.cgi/biz/1/{n}")).expect("url"),
        status: 200,
        headers: vec![(
            "content-type".to_string(),
            "text/html; charset=Shift_JIS".to_string(),
        )],
        body: bytes::Bytes::from(body.into_owned()),
        remote_addr: None,
        fetched_at: at,
        request_headers: vec![("user-agent".to_string(), "mimamori-test".to_string())],
        default_encoding: encoding_rs::SHIFT_JIS,
    }
}

fn capture(data: &Path, n: u32, at: DateTime<Utc>) {
    let ev = Evidence::open(data).expect("open evidence");
    let post = crate::support::post(&format!("5ch:掲示板/1/{n}"), "5ch", "山田商事は詐欺会社", 0);
    ev.capture_recheck(&response(n, at), &post, "up", "still there")
        .expect("capture");
}

/// The evidence directory's ledger and its one WARC file (relative path).
fn files(data: &Path) -> (PathBuf, PathBuf, String) {
    let ev = mimamori::evidence::evidence_dir(data);
    let warcs: Vec<PathBuf> = std::fs::read_dir(ev.join("warc"))
        .expect("warc dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".warc.gz"))
        .collect();
    assert_eq!(warcs.len(), 1, "{warcs:?}");
    let name = warcs[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    (
        ev.join(ledger::LEDGER_FILE),
        warcs[0].clone(),
        format!("warc/{name}"),
    )
}

/// The WARC records of `path`, decoded member by member (a torn member would fail here).
fn record_count(path: &Path) -> usize {
    let bytes = std::fs::read(path).expect("warc");
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&bytes[..])
        .read_to_end(&mut out)
        .expect("every gzip member decodes");
    out.windows(10).filter(|w| w == b"WARC/1.1\r\n").count()
}

/// What one torn state must give after the next run's recovery and capture.
struct Case {
    name: String,
    ledger: Vec<u8>,
    warc: Vec<u8>,
    /// (file the bytes were cut from, offset, the torn bytes), ledger first.
    torn: Vec<(String, u64, Vec<u8>)>,
    warcio: bool,
}

#[test]
fn torn_ledger_lines_and_warc_members_are_set_aside_and_the_next_capture_verifies() {
    let at = Utc::now();
    let base = tempfile::tempdir().expect("tempdir");
    let data = base.path().join("data");
    capture(&data, 1, at);
    capture(&data, 2, at);
    let (ledger_path, warc_path, warc_rel) = files(&data);
    let (la, wa) = (
        std::fs::read(&ledger_path).expect("ledger"),
        std::fs::read(&warc_path).expect("warc"),
    );
    capture(&data, 3, at);
    let (lb, wb) = (
        std::fs::read(&ledger_path).expect("ledger"),
        std::fs::read(&warc_path).expect("warc"),
    );
    let line = lb[la.len()..].to_vec();
    let members = wb[wa.len()..].to_vec();
    let records_a = record_count(&warc_path) - 3;

    let mut cases = Vec::new();
    // The crash came while the ledger line was written: the WARC records are whole but no
    // entry covers them. Every byte of the line, including inside its multibyte characters.
    for k in 1..line.len() {
        cases.push(Case {
            name: format!("ledger line cut after {k} bytes"),
            ledger: [&la[..], &line[..k]].concat(),
            warc: wb.clone(),
            torn: vec![
                (
                    ledger::LEDGER_FILE.to_string(),
                    la.len() as u64,
                    line[..k].to_vec(),
                ),
                (warc_rel.clone(), wa.len() as u64, members.clone()),
            ],
            warcio: k == 1 || k == line.len() - 1,
        });
    }
    // The crash came while the WARC records were written: inside a gzip header, inside the
    // deflate data, at a member boundary (whole records no entry covers), one byte short.
    let mut bounds = Vec::new();
    let mut at_member = 0;
    while at_member < members.len() {
        let mut d = flate2::bufread::GzDecoder::new(&members[at_member..]);
        std::io::copy(&mut d, &mut std::io::sink()).expect("member");
        at_member = members.len() - d.into_inner().len();
        bounds.push(at_member);
    }
    assert_eq!(bounds.len(), 3, "request, response and metadata members");
    let mut cuts = vec![1, 5, 11, bounds[0] / 2, bounds[0], bounds[0] + 3];
    cuts.extend([(bounds[0] + bounds[1]) / 2, bounds[1], members.len() - 1]);
    for k in cuts {
        cases.push(Case {
            name: format!("WARC cut {k} bytes into the capture"),
            ledger: la.clone(),
            warc: [&wa[..], &members[..k]].concat(),
            torn: vec![(warc_rel.clone(), wa.len() as u64, members[..k].to_vec())],
            warcio: true,
        });
    }

    for case in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let ev = mimamori::evidence::evidence_dir(&data);
        std::fs::create_dir_all(ev.join("warc")).expect("dirs");
        std::fs::write(ev.join(ledger::LEDGER_FILE), &case.ledger).expect("ledger");
        std::fs::write(ev.join(&warc_rel), &case.warc).expect("warc");
        let name = &case.name;

        // Before any run: the chain holds, and the tails are reported as pending.
        let before = ledger::verify(&ev).expect("verify");
        assert_eq!(before.first_break, None, "{name}");
        assert_eq!(before.pending.len(), case.torn.len(), "{name}: {before:?}");

        // The next run sets them aside and captures on a clean boundary.
        capture(&data, 4, at);
        let report = ledger::verify(&ev).expect("verify");
        assert_eq!(report.first_break, None, "{name}");
        assert!(report.pending.is_empty(), "{name}: {:?}", report.pending);
        let torn: Vec<(String, u64, Vec<u8>)> = report
            .torn
            .iter()
            .map(|t| {
                let bytes = std::fs::read(ev.join(&t.path)).expect("torn file");
                assert_eq!(bytes.len() as u64, t.length, "{name}");
                (t.from.path.clone(), t.from.offset, bytes)
            })
            .collect();
        assert_eq!(
            torn, case.torn,
            "{name}: the torn bytes are kept and recorded"
        );
        let entries = ledger::entries(&ev).expect("every ledger line parses");
        assert_eq!(entries.len() as u64, report.entries, "{name}");
        let warc = ev.join(&warc_rel);
        assert_eq!(
            record_count(&warc),
            records_a + 3,
            "{name}: whole records only"
        );
        let last = entries.last().expect("an entry");
        assert_eq!(last.kind, "recheck", "{name}");
        let replayed = mimamori::evidence::read_entry(&ev, last).expect("read entry");
        assert!(
            replayed.windows(8).any(|w| w == b"WARC/1.1"),
            "{name}: the new capture reads back"
        );
        if case.warcio
            && let Some(out) = warcio(&["check", "-v", warc.to_str().expect("utf8")])
        {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{name}: warcio check: {text}");
            assert!(!text.contains("fail"), "{name}: {text}");
        }
        // Opening again finds nothing more to set aside.
        drop(Evidence::open(&data).expect("reopen"));
        assert_eq!(ledger::verify(&ev).expect("verify"), report, "{name}");
    }
}

#[test]
fn verify_reports_torn_tails_and_a_crash_between_cut_and_record_is_mended() {
    let at = Utc::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    capture(&data, 1, at);
    let (ledger_path, _, _) = files(&data);
    let good = std::fs::read(&ledger_path).expect("ledger");
    // A half line, set aside and cut, but the process died before recording the copy.
    let ev = mimamori::evidence::evidence_dir(&data);
    let half = b"{\"seq\":3,\"path\":\"warc/x";
    let orphan = ev.join(format!("{}.{}.torn", ledger::LEDGER_FILE, good.len()));
    std::fs::write(&orphan, half).expect("orphan");
    capture(&data, 2, at);
    let report = ledger::verify(&ev).expect("verify");
    assert_eq!(report.first_break, None);
    assert_eq!(report.torn.len(), 1, "{report:?}");
    assert_eq!(report.torn[0].from.path, ledger::LEDGER_FILE);
    assert_eq!(report.torn[0].from.offset, good.len() as u64);
    assert_eq!(report.torn[0].length, half.len() as u64);

    // `evidence verify` says so, and exits 0: the chain is intact.
    let out = crate::support::mimamori(
        dir.path(),
        &["--data", data.to_str().expect("utf8"), "evidence", "verify"],
        b"",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("chain intact"), "{stdout}");
    assert!(
        stdout.contains("torn tail") && stdout.contains(".torn"),
        "{stdout}"
    );
}
