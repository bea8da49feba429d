//! Alert delivery from the outbox: a webhook that fails before it recovers still gets each
//! alert once, a JSONL sink never writes one twice, filters and digests hold, bad `[[alert]]`
//! tables are refused with the field named, and a `watch` killed between a delivery and its
//! mark resends only that alert, under the same idempotency key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use chrono::{Duration, Utc};
use mimamori::alert::{self, Dispatcher};
use mimamori::model::Post;
use mimamori::store::Store;

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]

[[target]]
id = "tanaka"
kind = "person"
names = ["田中美咲"]
[target.personal]
phones = ["080-3141-5926"]
"#;

fn post(n: u32, body: &str) -> Post {
    crate::support::post(&format!("5ch:test/1/{n}"), "5ch", body, 0)
}

/// A store with three hits (two about yamada, one about tanaka with her phone).
fn seeded(dir: &std::path::Path, alerts: &str) -> (Arc<Store>, mimamori::config::Watchlist) {
    let wl_path = dir.join("wl.toml");
    std::fs::write(&wl_path, format!("{WATCHLIST}\n{alerts}")).expect("write watchlist");
    let wl = mimamori::config::load(&wl_path).expect("watchlist");
    let posts = vec![
        post(1, "山田商事は詐欺会社"),
        post(2, "山田商事の社長が逮捕されたらしい"),
        post(3, "田中美咲の携帯 080-3141-5926 晒しとくわ"),
    ];
    let (store, hits) = crate::support::store_analyzed(&dir.join("data"), &wl_path, posts);
    assert_eq!(hits.len(), 3, "{hits:?}");
    (Arc::new(store), wl)
}

#[derive(Default)]
struct Receiver {
    calls: u32,
    fail_first: u32,
    /// Accepted deliveries per idempotency key.
    accepted: HashMap<String, u32>,
    bodies: Vec<serde_json::Value>,
}

async fn receiver(fail_first: u32) -> (String, Arc<Mutex<Receiver>>) {
    let state = Arc::new(Mutex::new(Receiver {
        fail_first,
        ..Default::default()
    }));
    let s = Arc::clone(&state);
    let app = Router::new().route(
        "/hook",
        routing::post(move |headers: HeaderMap, body: String| {
            let s = Arc::clone(&s);
            async move {
                let mut r = s.lock().expect("lock");
                r.calls += 1;
                if r.calls <= r.fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                *r.accepted.entry(key).or_default() += 1;
                r.bodies
                    .push(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null));
                StatusCode::OK
            }
        }),
    );
    let addr = crate::support::serve(app).await;
    (format!("http://{addr}/hook"), state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_gets_every_alert_once_after_retries_and_jsonl_never_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, rx) = receiver(4).await;
    let jsonl = dir.path().join("alerts.jsonl");
    let alerts = format!(
        r#"
[[alert]]
name = "hook"
kind = "webhook"
url = "{url}"

[[alert]]
name = "file"
kind = "jsonl"
path = "{}"

[[alert]]
name = "slack-tanaka"
kind = "webhook"
format = "slack"
url = "{url}"
targets = ["tanaka"]
min_severity = 50
"#,
        jsonl.display()
    );
    let (store, wl) = seeded(dir.path(), &alerts);
    let routes = alert::routes(&wl).expect("routes");
    assert_eq!(routes.len(), 3);
    let dispatcher = Dispatcher::new(Arc::clone(&store), routes);

    // Time moves on ten minutes per round, past every backoff.
    let mut now = Utc::now();
    let mut failed = 0;
    for _ in 0..12 {
        let stats = dispatcher.deliver(now).await.expect("deliver");
        failed += stats.failed;
        now += Duration::minutes(10);
    }
    assert!(
        failed >= 4,
        "the receiver failed four times, {failed} failures seen"
    );
    {
        let r = rx.lock().expect("lock");
        // 3 generic alerts + 1 slack alert (tanaka only), each accepted exactly once.
        assert_eq!(r.accepted.len(), 4, "{:?}", r.accepted);
        assert!(r.accepted.values().all(|n| *n == 1), "{:?}", r.accepted);
        let slack: Vec<_> = r
            .bodies
            .iter()
            .filter(|b| b.get("text").is_some())
            .collect();
        assert_eq!(slack.len(), 1);
        let text = slack[0]["text"].as_str().unwrap_or_default();
        assert!(text.contains("tanaka") && text.contains("phone"), "{text}");
        // Never the watched value in clear; the mask instead.
        let all = serde_json::to_string(&r.bodies).expect("json");
        assert!(
            !all.contains("3141-5926") && !all.contains("31415926"),
            "{all}"
        );
        assert!(all.contains("080-****-5926"), "{all}");
        let generic = r
            .bodies
            .iter()
            .find(|b| b.get("alerts").is_some())
            .expect("generic");
        let a = &generic["alerts"][0];
        for field in [
            "idempotency_key",
            "hit_id",
            "target",
            "categories",
            "severity",
            "url",
            "posted_at",
            "deadline",
            "matched",
        ] {
            assert!(a.get(field).is_some(), "alert lacks {field}: {a}");
        }
    }

    let lines = std::fs::read_to_string(&jsonl).expect("alerts.jsonl");
    assert_eq!(lines.lines().count(), 3, "{lines}");
    // Every row is marked sent; another round sends nothing.
    assert!(
        store
            .outbox()
            .expect("outbox")
            .iter()
            .all(|o| o.sent_at.is_some())
    );
    let again = dispatcher.deliver(now).await.expect("deliver");
    assert_eq!(again.sent + again.failed, 0);

    // The at-least-once corner: the sink accepted, the process died before marking the row.
    // A restarted JSONL sink reads the keys it holds and writes nothing twice.
    let sink = alert::sinks::JsonlSink::open(jsonl.clone()).expect("reopen");
    let hit = store.hit(1).expect("hit").expect("exists");
    let row = store
        .outbox()
        .expect("outbox")
        .into_iter()
        .find(|o| o.sink == "file" && o.hit_id == 1)
        .expect("row");
    alert::Sink::send(&sink, &[alert::Alert::new(&hit, &row)])
        .await
        .expect("send");
    assert_eq!(
        std::fs::read_to_string(&jsonl)
            .expect("read")
            .lines()
            .count(),
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_waits_then_sends_everything_queued_in_one_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, rx) = receiver(0).await;
    let alerts = format!(
        "[[alert]]\nname = \"digest\"\nkind = \"webhook\"\nformat = \"discord\"\nurl = \"{url}\"\ndigest = \"30m\"\n"
    );
    let (store, wl) = seeded(dir.path(), &alerts);
    let dispatcher = Dispatcher::new(Arc::clone(&store), alert::routes(&wl).expect("routes"));
    let now = Utc::now();
    assert_eq!(
        dispatcher.deliver(now).await.expect("deliver").sent,
        0,
        "too early"
    );
    assert_eq!(rx.lock().expect("lock").calls, 0);
    let later = dispatcher
        .deliver(now + Duration::minutes(31))
        .await
        .expect("deliver");
    assert_eq!(later.sent, 3);
    let r = rx.lock().expect("lock");
    assert_eq!(r.calls, 1, "one digest message");
    let content = r.bodies[0]["content"].as_str().unwrap_or_default();
    assert_eq!(content.lines().count(), 3, "{content}");
}

/// A crawled URL and post written to use the alert as a megaphone reach Slack and Discord as
/// text: no `<!channel>`, no disguised `<url|label>` or `[label](url)`, no `@everyone`, and
/// Discord is told to ping nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_urls_and_posts_reach_chat_webhooks_escaped() {
    const HOSTILE_URL: &str = "data:,<!channel> <https://evil.example/|…>";
    let dir = tempfile::tempdir().expect("tempdir");
    let (url, rx) = receiver(0).await;
    let wl_path = dir.path().join("wl.toml");
    let alerts = format!(
        "[[alert]]\nname = \"slack\"\nkind = \"webhook\"\nformat = \"slack\"\nurl = \"{url}\"\n\n\
         [[alert]]\nname = \"discord\"\nkind = \"webhook\"\nformat = \"discord\"\nurl = \"{url}\"\n"
    );
    std::fs::write(&wl_path, format!("{WATCHLIST}\n{alerts}")).expect("write watchlist");
    let wl = mimamori::config::load(&wl_path).expect("watchlist");
    let mut p = post(1, "山田商事は詐欺\u{1b}[2J");
    p.url = HOSTILE_URL.to_string();
    let (store, hits) = crate::support::store_analyzed(&dir.path().join("data"), &wl_path, vec![p]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    let dispatcher = Dispatcher::new(Arc::new(store), alert::routes(&wl).expect("routes"));
    let stats = dispatcher.deliver(Utc::now()).await.expect("deliver");
    assert_eq!(stats.sent, 2);
    let r = rx.lock().expect("lock");
    let slack = r
        .bodies
        .iter()
        .find_map(|b| b["text"].as_str())
        .expect("a slack body");
    assert!(!slack.contains(['<', '>', '\u{1b}']), "{slack}");
    assert!(
        slack.contains("data:,&lt;!channel&gt; &lt;https://evil.example/|…&gt;"),
        "{slack}"
    );
    let discord = r
        .bodies
        .iter()
        .find(|b| b.get("content").is_some())
        .expect("a discord body");
    assert_eq!(
        discord["allowed_mentions"],
        serde_json::json!({ "parse": [] })
    );
    let content = discord["content"].as_str().unwrap_or_default();
    assert!(
        !content.contains("<!channel")
            && !content.contains("<https")
            && !content.contains('\u{1b}'),
        "{content}"
    );
}

#[test]
fn bad_alert_tables_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (table, want) in [
        ("[[alert]]\nkind = \"pager\"\n", "kind"),
        ("[[alert]]\nkind = \"webhook\"\n", "url"),
        ("[[alert]]\nkind = \"webhook\"\nurl = \"ftp://x\"\n", "url"),
        ("[[alert]]\nkind = \"jsonl\"\n", "path"),
        (
            "[[alert]]\nkind = \"jsonl\"\npath = \"a\"\ndigest = \"soon\"\n",
            "digest",
        ),
        (
            "[[alert]]\nkind = \"jsonl\"\npath = \"a\"\ncolour = 1\n",
            "colour",
        ),
        (
            "[[alert]]\nkind = \"email\"\nfrom = \"a@example.jp\"\nto = [\"b@example.jp\"]\n",
            "smtp_host",
        ),
        (
            "[[alert]]\nkind = \"email\"\nsmtp_host = \"localhost\"\nfrom = \"not an address\"\nto = [\"b@example.jp\"]\n",
            "from",
        ),
        (
            "[[alert]]\nkind = \"email\"\nsmtp_host = \"localhost\"\nfrom = \"a@example.jp\"\n",
            "to",
        ),
        (
            "[[alert]]\nkind = \"email\"\nsmtp_host = \"localhost\"\nfrom = \"a@example.jp\"\nto = [\"b@example.jp\"]\npassword_env = \"MIMAMORI_TEST_UNSET_PASSWORD\"\n",
            "MIMAMORI_TEST_UNSET_PASSWORD",
        ),
    ] {
        let path = dir.path().join("wl.toml");
        std::fs::write(&path, format!("{WATCHLIST}\n{table}")).expect("write");
        let wl = mimamori::config::load(&path).expect("watchlist");
        let err = alert::routes(&wl).expect_err(table).to_string();
        assert!(
            err.contains("[[alert]] #1") && err.contains(want),
            "{table}: {err}"
        );
    }
}

/// `python3 -m aiosmtpd` delivering into a maildir on `port`, or `None` (said loudly) when
/// aiosmtpd is not installed (`.ci/run` installs it).
fn smtp_server(port: u16, maildir: &std::path::Path) -> Option<std::process::Child> {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED e-mail delivery test: python3 -m aiosmtpd is not available (pip install aiosmtpd)"
        );
        return None;
    }
    let child = std::process::Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn aiosmtpd");
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "aiosmtpd did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_alerts_wait_for_a_down_smtp_server_and_arrive_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let alerts = format!(
        "[[alert]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\nfrom = \"mimamori@example.jp\"\nto = [\"victim@example.jp\", \"lawyer@example.jp\"]\n"
    );
    let (store, wl) = seeded(dir.path(), &alerts);
    let dispatcher = Dispatcher::new(Arc::clone(&store), alert::routes(&wl).expect("routes"));
    // The server is down: every alert fails and stays queued.
    let mut now = Utc::now();
    let down = dispatcher.deliver(now).await.expect("deliver");
    assert_eq!((down.sent, down.failed), (0, 3));
    let maildir = dir.path().join("maildir");
    let Some(mut server) = smtp_server(port, &maildir) else {
        return;
    };
    let mut sent = 0;
    for _ in 0..6 {
        now += Duration::minutes(10);
        sent += dispatcher.deliver(now).await.expect("deliver").sent;
    }
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(sent, 3);
    let mails: Vec<String> = std::fs::read_dir(maildir.join("new"))
        .expect("maildir/new")
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).expect("mail"))
        .collect();
    assert_eq!(mails.len(), 3, "one mail per hit");
    let keys: std::collections::HashSet<&str> = mails
        .iter()
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("X-Mimamori-Idempotency-Key: "))
        })
        .collect();
    assert_eq!(keys.len(), 3, "{mails:?}");
    assert!(
        mails
            .iter()
            .all(|m| m.contains("Subject: [mimamori]") && m.contains("lawyer@example.jp"))
    );
    assert!(
        mails
            .iter()
            .all(|m| !m.contains("3141-5926") && !m.contains("31415926"))
    );
}

/// A webhook receiver that SIGKILLs the process in `victim` when the first alert arrives,
/// after it has accepted it and before it answers: the sender never learns it was delivered.
async fn killing_receiver(victim: Arc<Mutex<Option<u32>>>) -> (String, Arc<Mutex<Receiver>>) {
    let state = Arc::new(Mutex::new(Receiver::default()));
    let s = Arc::clone(&state);
    let app = Router::new().route(
        "/hook",
        routing::post(move |headers: HeaderMap, body: String| {
            let (s, victim) = (Arc::clone(&s), Arc::clone(&victim));
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let first = {
                    let mut r = s.lock().expect("lock");
                    r.calls += 1;
                    *r.accepted.entry(key).or_default() += 1;
                    r.bodies
                        .push(serde_json::from_str(&body).unwrap_or(serde_json::Value::Null));
                    r.calls == 1
                };
                if first {
                    let pid = victim.lock().expect("lock").take();
                    if let Some(pid) = pid {
                        let killed = std::process::Command::new("kill")
                            .args(["-KILL", &pid.to_string()])
                            .status()
                            .expect("kill");
                        assert!(killed.success());
                    }
                    // Never answer before the sender is dead.
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                }
                StatusCode::OK
            }
        }),
    );
    let addr = crate::support::serve(app).await;
    (format!("http://{addr}/hook"), state)
}

/// `mimamori watch --once` on `config`, as a child whose pid goes into `pid` before it runs.
async fn watch_once(
    dir: &std::path::Path,
    config: &std::path::Path,
    data: &std::path::Path,
    pid: &Arc<Mutex<Option<u32>>>,
) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(["watch", "--once", "--no-screenshots", "--config"])
        .arg(config)
        .arg("--data")
        .arg(data)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn mimamori");
    *pid.lock().expect("lock") = Some(child.id());
    tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_between_send_and_mark_resends_once_with_the_same_idempotency_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = crate::crawl::start_boards(mimamori::simweb::Faults::default()).await;
    let config = crate::crawl::write_config(dir.path(), &web, "1m");
    let victim = Arc::new(Mutex::new(None));
    let (url, rx) = killing_receiver(Arc::clone(&victim)).await;
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
    ));
    std::fs::write(&config, text).expect("write config");
    for (site, thread, body) in [
        ("5ch", 1, "さくら食品は産地偽装してる詐欺企業"),
        ("5ch", 2, "田中美咲ってほんとブス。性格もゴミ"),
        ("shitaraba", 0, "小林クリニック燃やしてやる。覚えとけ"),
    ] {
        web.post_to(site, thread, body).expect("post");
    }

    let killed = watch_once(dir.path(), &config, &data, &victim).await;
    assert_eq!(
        killed.status.code(),
        None,
        "the receiver should have killed it: {}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let store = Store::open(&data).expect("store");
    // Alerts go out as soon as a hit is committed, so the other boards' polls may not have
    // committed yet when the process dies: the restart finds those.
    let hits = store.hits(&Default::default()).expect("hits");
    assert!(!hits.is_empty(), "a hit was committed before the kill");
    let first_key = {
        let r = rx.lock().expect("lock");
        assert_eq!(r.calls, 1, "one delivery before the kill");
        r.accepted.keys().next().cloned().expect("a key")
    };
    let unmarked: Vec<_> = store
        .outbox()
        .expect("outbox")
        .into_iter()
        .filter(|o| o.sink == "hook" && o.sent_at.is_none())
        .collect();
    assert!(
        unmarked.iter().any(|o| o.idempotency_key == first_key),
        "the delivered alert is not marked sent (the process died first): {unmarked:?}"
    );

    let restarted = watch_once(dir.path(), &config, &data, &victim).await;
    assert_eq!(
        restarted.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    let hits = store.hits(&Default::default()).expect("hits");
    assert!(hits.len() >= 3, "{hits:?}");
    let r = rx.lock().expect("lock");
    // Each hit arrived; the one in flight at the kill arrived twice with the same key, which
    // is how the receiver drops the repeat. No other alert was repeated.
    let want: std::collections::HashSet<String> = store
        .outbox()
        .expect("outbox")
        .into_iter()
        .filter(|o| o.sink == "hook")
        .map(|o| o.idempotency_key)
        .collect();
    let got: std::collections::HashSet<String> = r.accepted.keys().cloned().collect();
    assert_eq!(got, want, "every alert delivered, under its own key");
    assert_eq!(want.len(), hits.len());
    assert_eq!(r.accepted[&first_key], 2, "{:?}", r.accepted);
    assert!(
        r.accepted.iter().all(|(k, n)| *n == 1 || k == &first_key),
        "{:?}",
        r.accepted
    );
    for body in &r.bodies {
        let key = body["alerts"][0]["idempotency_key"].as_str();
        assert!(
            key.is_some_and(|k| r.accepted.contains_key(k)),
            "the body carries the header's key: {body}"
        );
    }
    assert!(
        store
            .outbox()
            .expect("outbox")
            .iter()
            .filter(|o| o.sink == "hook")
            .all(|o| o.sent_at.is_some()),
        "all marked after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_once_exits_3_naming_a_sink_that_failed_every_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let web = crate::crawl::start_boards(mimamori::simweb::Faults::default()).await;
    let config = crate::crawl::write_config(dir.path(), &web, "1m");
    // A port nothing listens on: every delivery is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!(
        "\n[[alert]]\nname = \"down-hook\"\nkind = \"webhook\"\nurl = \"http://{closed}/hook\"\n"
    ));
    std::fs::write(&config, text).expect("write config");
    web.post_to("5ch", 1, "さくら食品は産地偽装してる詐欺企業")
        .expect("post");
    let out = crate::support::mimamori(
        dir.path(),
        &[
            "watch",
            "--once",
            "--no-screenshots",
            "--config",
            config.to_str().expect("utf8"),
            "--data",
            "data",
        ],
        b"",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("alert sink failed: down-hook") && err.contains("outbox"),
        "the reason is printed without MIMAMORI_LOG: {err}"
    );
    // The alert waits in the outbox, unsent.
    let store = Store::open(&dir.path().join("data")).expect("store");
    assert!(
        store
            .outbox()
            .expect("outbox")
            .iter()
            .any(|o| o.sink == "down-hook" && o.sent_at.is_none())
    );
}
