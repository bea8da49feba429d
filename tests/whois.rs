//! `mimamori whois` against a local RDAP server on 127.0.0.1: IANA-style bootstrap files,
//! JPRS-like domain and APNIC/JPNIC-like network answers, and the hostile cases (404, 429
//! with Retry-After, malformed JSON, a huge body, a redirect loop).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::support::{fixture, mimamori, serve};

/// What the local RDAP server saw.
#[derive(Default)]
pub struct Seen {
    addr: OnceLock<SocketAddr>,
    busy: AtomicUsize,
    flaky: AtomicUsize,
    requests: AtomicUsize,
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(&format!("rdap/{name}"))).expect("rdap fixture")
}

fn rdap_json(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/rdap+json")], body).into_response()
}

async fn bootstrap(State(seen): State<Arc<Seen>>, UrlPath(file): UrlPath<String>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    let base = format!("http://{}/rdap/", seen.addr.get().expect("addr set"));
    let services = match file.as_str() {
        "dns.json" => serde_json::json!([[["jp", "net"], [base]]]),
        "ipv4.json" => serde_json::json!([[["203.0.0.0/16", "198.51.100.0/24"], [base]]]),
        "ipv6.json" => serde_json::json!([[["2001:db8::/32"], [base]]]),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let doc = serde_json::json!({"version": "1.0", "publication": "2026-11-01T00:00:00Z", "services": services});
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}

async fn domain(State(seen): State<Arc<Seen>>, UrlPath(name): UrlPath<String>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    match name.as_str() {
        "example-shop.co.jp" => rdap_json(read("jprs-domain.json")),
        "5ch.net" => rdap_json(read("registrar-net.json")),
        "busy.jp" => {
            seen.busy.fetch_add(1, Ordering::SeqCst);
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        "flaky.jp" if seen.flaky.fetch_add(1, Ordering::SeqCst) == 0 => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        "flaky.jp" => rdap_json(read("jprs-domain.json")),
        "broken.jp" => rdap_json("{\"objectClassName\": \"domain\", \"ldhName\": ".into()),
        "html.jp" => "<html><body>maintenance</body></html>".into_response(),
        "huge.jp" => rdap_json(format!(
            "{{\"objectClassName\":\"domain\",\"remarks\":[{{\"description\":[\"{}\"]}}]}}",
            "x".repeat(3 * 1024 * 1024)
        )),
        "loop.jp" => (
            StatusCode::FOUND,
            [(header::LOCATION, "/rdap/domain/loop.jp")],
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/rdap+json")],
            r#"{"errorCode":404,"title":"Not Found"}"#,
        )
            .into_response(),
    }
}

async fn ip(State(seen): State<Arc<Seen>>, UrlPath(addr): UrlPath<String>) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    if addr.starts_with("203.0.") {
        rdap_json(read("apnic-jpnic-ip.json"))
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Starts the local RDAP server on the runtime; returns its address and what it saw.
pub async fn rdap_server() -> (SocketAddr, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let router = Router::new()
        .route("/boot/{file}", get(bootstrap))
        .route("/rdap/domain/{name}", get(domain))
        .route("/rdap/ip/{addr}", get(ip))
        .route(
            "/company",
            get(|| async {
                axum::response::Html("<html><body><h1>運営者情報</h1><p>株式会社サンプル商店 東京都千代田区</p></body></html>")
            }),
        )
        .with_state(seen.clone());
    let addr = serve(router).await;
    seen.addr.set(addr).expect("set once");
    (addr, seen)
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = mimamori(dir, args, b"");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `mimamori evidence export ID --out packet` asking RDAP at `base`, with `operator` as the
/// operator page.
fn export(d: &Path, id: &str, base: &str, operator: &str) -> (Option<i32>, String, String) {
    run(
        d,
        &[
            "--data",
            "data",
            "evidence",
            "export",
            id,
            "--out",
            "packet",
            "--rdap",
            base,
            "--operator-url",
            operator,
        ],
    )
}

#[test]
fn whois_of_a_url_prints_operator_registrar_abuse_and_deadlines() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = rt.block_on(rdap_server());
    let dir = tempfile::tempdir().expect("tempdir");
    let boot = format!("http://{addr}/boot/");
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "whois",
            "https://www.example-shop.co.jp/company/",
            "--bootstrap",
            &boot,
            "--posted-at",
            "2026/11/30 12:34",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    for want in [
        "example-shop.co.jp (registrable domain of www.example-shop.co.jp)",
        "operator      株式会社サンプル商店 · e-mail not published",
        "registrar     Example Registrar K.K.",
        "abuse         Abuse Desk · e-mail abuse@example-registrar.jp · phone +81-3-5555-0199 [under registrar]",
        "nameservers   ns1.example-dns.jp, ns2.example-dns.jp",
        "registered    2009-04-01T00:00:00+09:00",
        "expires       not published",
        "posted at     2026-11-30 12:34:00 +09:00 (JST)",
        "log deadline  2027-02-28 JST (posted-at + 90 days;",
        "outer limit   2027-05-30 JST (posted-at + 6 months;",
    ] {
        assert!(stdout.contains(want), "{want:?} not in\n{stdout}");
    }
    // Bootstrap + the domain: two requests, robots.txt not asked for.
    assert_eq!(seen.requests.load(Ordering::SeqCst), 2);

    // A .net host under a registrar that redacts: redactions said, not hidden.
    let (code, stdout, stderr) = run(
        dir.path(),
        &["whois", "hayabusa9.5ch.net", "--bootstrap", &boot],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("operator      redacted (REDACTED FOR PRIVACY) · Loki Technology, Inc."),
        "{stdout}"
    );
    assert!(
        stdout.contains("redacted      Registrant Name (replacementValue: Server policy)"),
        "{stdout}"
    );
    assert!(stdout.contains("abuse@registrar.example"), "{stdout}");
}

#[test]
fn whois_of_an_ip_prints_the_network_owner_as_json() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, _) = rt.block_on(rdap_server());
    let dir = tempfile::tempdir().expect("tempdir");
    let base = format!("http://{addr}/rdap");
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "whois",
            "203.0.113.7",
            "--rdap",
            &base,
            "--posted-at",
            "2026-11-30T12:34:00+09:00",
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(v["query"]["type"], "ip");
    assert_eq!(v["url"], format!("http://{addr}/rdap/ip/203.0.113.7"));
    let s = &v["summary"];
    assert_eq!(s["network"]["name"], "EXAMPLE-BB-NET");
    assert_eq!(s["network"]["country"], "JP");
    assert_eq!(s["operator"]["org"], "株式会社エグザンプル・ブロードバンド");
    let abuse: Vec<&str> = s["abuse"]
        .as_array()
        .expect("abuse")
        .iter()
        .filter_map(|a| a["emails"][0].as_str())
        .collect();
    assert_eq!(abuse, ["hostmaster@nic.ad.jp", "abuse@example-bb.ne.jp"]);
    assert_eq!(v["deadlines"]["access_log"]["date"], "2027-02-28");
    assert_eq!(v["deadlines"]["outer_limit"]["date"], "2027-05-30");

    // The same through ipv4.json, and text output names the owner.
    let boot = format!("http://{addr}/boot/");
    let (code, stdout, stderr) = run(dir.path(), &["whois", "203.0.9.9", "--bootstrap", &boot]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("network       EXAMPLE-BB-NET"), "{stdout}");
    assert!(
        stdout.contains(
            "owner         Example Broadband Co., Ltd. · 株式会社エグザンプル・ブロードバンド"
        ),
        "{stdout}"
    );
}

#[test]
fn hostile_rdap_answers_are_clear_errors() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = rt.block_on(rdap_server());
    let dir = tempfile::tempdir().expect("tempdir");
    let base = format!("http://{addr}/rdap/");
    let boot = format!("http://{addr}/boot/");
    for (target, want) in [
        ("missing.jp", "missing.jp: no RDAP record ("),
        ("broken.jp", "malformed RDAP answer: not JSON"),
        ("html.jp", "malformed RDAP answer: not JSON"),
        ("huge.jp", "body larger than 2097152 bytes"),
        ("loop.jp", "too many redirects"),
        ("198.51.100.1", "198.51.100.1: no RDAP record"),
        ("127.0.0.1", "127.0.0.1: no RDAP record: a loopback address"),
        ("http://shop.localhost/", "a reserved or local-only name"),
        ("not a host", "not a host name"),
    ] {
        let (code, stdout, stderr) = run(dir.path(), &["whois", target, "--rdap", &base]);
        assert_eq!(code, Some(1), "{target}: {stdout}");
        assert!(stderr.contains(want), "{target}: {want:?} not in {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, _, stderr) = run(dir.path(), &["whois", "example.org", "--bootstrap", &boot]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("names no server for it"), "{stderr}");
    let (code, _, stderr) = run(
        dir.path(),
        &["whois", "x.jp", "--posted-at", "yesterday", "--rdap", &base],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("--posted-at \"yesterday\": not a time"),
        "{stderr}"
    );

    // 429 with Retry-After: waited, retried twice, then a clear error.
    let started = Instant::now();
    let (code, _, stderr) = run(dir.path(), &["whois", "busy.jp", "--rdap", &base]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("rate limited by the RDAP server (HTTP 429 after 3 attempts"),
        "{stderr}"
    );
    assert_eq!(seen.busy.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After honoured"
    );
    // One 429, then the answer.
    let (code, stdout, stderr) = run(dir.path(), &["whois", "flaky.jp", "--rdap", &base]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("株式会社サンプル商店"), "{stdout}");
}

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]
"#;

/// A data directory with one flagged hit on `https://www.example-shop.co.jp/…` and its WARC
/// capture (as the watcher would have kept it); returns the hit id.
fn seeded(dir: &Path) -> String {
    use mimamori::fetch::FetchResponse;
    use mimamori::sources::Capture;
    let wl = dir.join("wl.toml");
    std::fs::write(&wl, WATCHLIST).expect("write watchlist");
    let mut post = crate::support::post(
        "html:review/5",
        "html",
        "山田商事は詐欺をしている会社だ。社長が逮捕されたらしい。",
        10,
    );
    post.url = "https://www.example-shop.co.jp/review/5".into();
    post.source_url = post.url.clone();
    let data = dir.join("data");
    let (_, hits) = crate::support::store_analyzed(&data, &wl, vec![post.clone()]);
    let hit = hits.first().expect("a flagged hit");
    let watchlist = mimamori::config::load(&wl).expect("watchlist");
    let analysis = mimamori::analyze::Analyzer::new(&watchlist)
        .expect("analyzer")
        .analyze(&post.to_input());
    let response = FetchResponse {
        url: url::Url::parse(&post.url).expect("url"),
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: bytes::Bytes::from(format!("<html><body><p>{}</p></body></html>", post.body)),
        remote_addr: Some("198.51.100.20:443".parse().expect("addr")),
        fetched_at: chrono::Utc::now(),
        request_headers: vec![("user-agent".into(), "mimamori-test".into())],
        default_encoding: encoding_rs::UTF_8,
    };
    let evidence = mimamori::evidence::Evidence::open(&data).expect("evidence");
    evidence
        .capture(
            &[Capture {
                response,
                post_keys: vec![post.key.clone()],
            }],
            &[],
            &[(&post, &analysis)],
        )
        .expect("capture");
    hit.id.to_string()
}

fn manifest(packet: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(packet.join("manifest.json")).expect("manifest"))
        .expect("manifest JSON")
}

#[test]
fn the_packet_names_who_to_send_it_to_and_keeps_the_rdap_record() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = rt.block_on(rdap_server());
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let id = seeded(d);
    let base = format!("http://{addr}/rdap/");
    let operator = format!("http://{addr}/company");
    let (code, _, stderr) = export(d, &id, &base, &operator);
    assert_eq!(code, Some(0), "{stderr}");
    let packet = d.join("packet");
    let m = manifest(&packet);
    for name in [
        "rdap-example-shop.co.jp.json",
        "operator-example-shop.co.jp.html",
    ] {
        let f = m["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {m}"));
        let bytes = std::fs::read(packet.join(name)).expect("packet file");
        assert_eq!(
            f["sha256"],
            mimamori::evidence::ledger::sha256_hex(&bytes),
            "{name}"
        );
    }
    // The RDAP JSON is the server's bytes, and a ledger entry of the packet.
    assert_eq!(
        std::fs::read_to_string(packet.join("rdap-example-shop.co.jp.json")).expect("rdap"),
        read("jprs-domain.json")
    );
    let kinds: Vec<&str> = m["ledger_entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"rdap") && kinds.contains(&"operator_page"),
        "{kinds:?}"
    );
    let report = std::fs::read_to_string(packet.join("report.html")).expect("report");
    for want in [
        "3-2. 送付先",
        "運営者（登録者）</th><td>株式会社サンプル商店 ・ 住所 東京都千代田区神田1-2-3 ・ メール（非公開・記載なし）",
        "Example Registrar K.K.",
        "abuse@example-registrar.jp",
        "ns1.example-dns.jp, ns2.example-dns.jp",
        &format!("http://{addr}/rdap/domain/example-shop.co.jp"),
        &format!("http://{addr}/company"),
        "mimamori whois 198.51.100.20",
    ] {
        assert!(report.contains(want), "report lacks {want:?}");
    }
    let (code, stdout, stderr) = run(d, &["--data", "data", "evidence", "verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");

    // Offline, and again the same day: the kept records are used, nothing is asked.
    let asked = seen.requests.load(Ordering::SeqCst);
    for (out, extra) in [("packet2", "--offline"), ("packet3.zip", "--rdap")] {
        let mut args = vec![
            "--data", "data", "evidence", "export", &id, "--out", out, extra,
        ];
        if extra == "--rdap" {
            args.push(&base);
            args.extend(["--operator-url", &operator]);
        }
        let (code, _, stderr) = run(d, &args);
        assert_eq!(code, Some(0), "{stderr}");
    }
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        asked,
        "cached for the day"
    );
    let m = manifest(&d.join("packet2"));
    assert!(
        m.to_string().contains("rdap-example-shop.co.jp.json"),
        "{m}"
    );
}

#[test]
fn without_rdap_the_packet_says_why_and_export_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let id = seeded(d);
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let base = format!("http://{closed}/rdap/");
    let operator = format!("http://{closed}/company");
    let (code, _, stderr) = export(d, &id, &base, &operator);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("送付先: RDAP: "), "{stderr}");
    let packet = d.join("packet");
    let m = manifest(&packet);
    assert!(!m.to_string().contains("rdap-"), "{m}");
    let report = std::fs::read_to_string(packet.join("report.html")).expect("report");
    assert!(
        report.contains("RDAP 記録なし（取得できなかった）。 RDAP: "),
        "{report}"
    );
    assert!(
        report.contains(&closed.to_string()),
        "the error names the server"
    );
    assert!(report.contains("手動で照会: mimamori whois example-shop.co.jp"));
    assert!(report.contains("運営者情報・利用規約ページ</th><td>未取得"));
}
