use chrono::Utc;
use serde_json::json;

use super::*;
use crate::analyze::matcher::MatchHow;
use crate::analyze::pii::PiiKind;
use crate::analyze::risk::Category;
use crate::analyze::{Field, Match, MatchDetail};

fn post(key: &str) -> Post {
    Post {
        key: key.to_string(),
        source_kind: "5ch".into(),
        source_id: "5ch:http://b/".into(),
        source_url: "http://b/dat/1.dat".into(),
        url: format!("http://b/read/{key}"),
        thread_title: Some("雑談".into()),
        number: Some(1),
        author_name: None,
        author_id: None,
        posted_at_raw: Some("2024/01/01(月) 12:00:00.00".into()),
        posted_at: None,
        body: "本文".into(),
        body_html: None,
        fetched_at: Utc::now(),
    }
}

fn m(target: &str, detail: MatchDetail, text: &str) -> Match {
    Match {
        target: Some(target.into()),
        detail,
        field: Field::Text,
        start: 0,
        end: text.len(),
        text: text.into(),
    }
}

fn benign() -> Analysis {
    Analysis::default()
}

fn mention_only(target: &str) -> Analysis {
    Analysis {
        targets: vec![target.into()],
        matches: vec![m(
            target,
            MatchDetail::Target {
                how: MatchHow::Name,
            },
            "山田商事",
        )],
        ..Default::default()
    }
}

/// Defames `a`, merely names `b`.
fn defames(a: &str, b: Option<&str>) -> Analysis {
    let mut an = Analysis {
        targets: vec![a.into()],
        flagged: true,
        categories: vec![Category::Defamation],
        severity: 75,
        matches: vec![
            m(
                a,
                MatchDetail::Target {
                    how: MatchHow::Name,
                },
                "山田商事",
            ),
            m(
                a,
                MatchDetail::Risk {
                    category: Category::Defamation,
                    term: "詐欺".into(),
                    score: 75,
                },
                "詐欺",
            ),
        ],
        ..Default::default()
    };
    if let Some(b) = b {
        an.targets.push(b.into());
        an.matches.push(m(
            b,
            MatchDetail::Target {
                how: MatchHow::Alias,
            },
            "田中",
        ));
    }
    an
}

fn leaks(target: &str) -> Analysis {
    Analysis {
        targets: vec![target.into()],
        flagged: true,
        categories: vec![Category::PersonalData],
        pii: vec![PiiKind::Phone],
        severity: 70,
        matches: vec![m(
            target,
            MatchDetail::Pii {
                pii: PiiKind::Phone,
                watched: true,
            },
            "080-****-5926",
        )],
        ..Default::default()
    }
}

fn cursor(key: &str, v: serde_json::Value) -> CursorUpdate {
    CursorUpdate {
        key: key.into(),
        value: Some(v),
    }
}

#[test]
fn open_creates_the_schema_and_reopens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("nested/index");
    {
        let s = Store::open(&data).expect("open");
        assert!(s.path().ends_with(STATE_FILE));
        assert!(s.load_cursors("x").expect("cursors").is_empty());
    }
    let s = Store::open(&data).expect("reopen");
    let conn = s.lock();
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode.to_lowercase(), "wal");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("open"));
    let conn = Connection::open(dir.path().join(STATE_FILE)).expect("raw open");
    conn.execute("UPDATE schema_version SET version = 99", [])
        .expect("bump");
    drop(conn);
    let err = Store::open(dir.path()).expect_err("too new");
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    assert!(err.to_string().contains("upgrade mimamori"), "{err}");
}

#[test]
fn commit_poll_stores_everything_once_and_returns_only_new_hits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path()).expect("open");
    let src = "5ch:http://b/";
    let batch = vec![
        (post("k1"), benign()),
        (post("k2"), mention_only("yamada")),
        (post("k3"), defames("yamada", Some("tanaka"))),
        (post("k4"), leaks("tanaka")),
    ];
    let hits = s
        .commit_poll(
            src,
            &[cursor("1", json!({"len": 10})), cursor("2", json!(5))],
            &batch,
            &["note".into()],
        )
        .expect("commit");
    let got: Vec<(&str, &str)> = hits
        .iter()
        .map(|h| (h.post_key.as_str(), h.target.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![("k3", "yamada"), ("k4", "tanaka")],
        "no hit for a mere mention"
    );
    assert_eq!(hits[0].categories, vec!["defamation"]);
    assert_eq!(hits[1].categories, vec!["personal_data"]);
    assert_eq!(hits[1].pii, vec!["phone"]);
    assert_eq!(hits[1].matches[0].text, "080-****-5926");
    assert_eq!(hits[0].status, "new");

    let cursors = s.load_cursors(src).expect("cursors");
    assert_eq!(cursors.get("1"), Some(&json!({"len": 10})));
    assert_eq!(cursors.get("2"), Some(&json!(5)));
    assert!(s.load_cursors("other").expect("other").is_empty());

    // Seen: all four; posts: the three that mention a target.
    assert_eq!(
        s.filter_unseen(&["k1", "k2", "k5", "k5", "k4", "k6"])
            .expect("unseen"),
        vec!["k5", "k6"]
    );
    assert_eq!(s.seen_count().expect("count"), 4);
    assert!(s.post("k1").expect("post").is_none());
    assert_eq!(s.post("k3").expect("post").expect("stored").key, "k3");
    assert_eq!(s.posts_after(0, 10).expect("posts").len(), 3);

    // Re-committing the same poll (a crash after commit, before the caller knew) adds nothing.
    let again = s
        .commit_poll(
            src,
            &[CursorUpdate {
                key: "2".into(),
                value: None,
            }],
            &batch,
            &[],
        )
        .expect("again");
    assert!(again.is_empty());
    assert_eq!(s.hits(&HitFilter::default()).expect("hits").len(), 2);
    assert_eq!(
        s.outbox().expect("outbox").len(),
        2,
        "one outbox row per hit"
    );
    assert!(
        !s.load_cursors(src).expect("cursors").contains_key("2"),
        "None deletes a cursor"
    );

    let st = &s.source_states().expect("states")[0];
    assert_eq!((st.polls, st.posts, st.hits, st.errors), (2, 4, 2, 0));
}

#[test]
fn the_outbox_row_is_created_with_its_hit_and_has_a_stable_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path()).expect("open");
    let hits = s
        .commit_poll("s", &[], &[(post("k"), defames("yamada", None))], &[])
        .expect("commit");
    let out = s.outbox().expect("outbox");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].hit_id, hits[0].id);
    assert_eq!(out[0].sink, ANY_SINK);
    assert_eq!(out[0].idempotency_key, hits::idempotency_key("k", "yamada"));
    assert_eq!(out[0].idempotency_key.len(), 64);
    let due = s
        .outbox_due(Utc::now() + chrono::Duration::seconds(1), 10)
        .expect("due");
    assert_eq!(due.len(), 1);
    s.outbox_retry(due[0].id, Utc::now() + chrono::Duration::hours(1))
        .expect("retry");
    assert!(s.outbox_due(Utc::now(), 10).expect("due").is_empty());
    s.outbox_sent(due[0].id, Utc::now()).expect("sent");
    let row = &s.outbox().expect("outbox")[0];
    assert_eq!(row.attempts, 2);
    assert!(row.sent_at.is_some());
}

#[test]
fn hits_filter_newest_first_and_triage_keeps_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path()).expect("open");
    s.commit_poll(
        "s",
        &[],
        &[
            (post("a"), defames("yamada", None)),
            (post("b"), leaks("tanaka")),
        ],
        &[],
    )
    .expect("commit");
    s.commit_poll("s", &[], &[(post("c"), defames("yamada", None))], &[])
        .expect("commit");
    let all = s.hits(&HitFilter::default()).expect("hits");
    assert_eq!(
        all.iter().map(|h| h.post_key.as_str()).collect::<Vec<_>>(),
        vec!["c", "b", "a"]
    );
    let yamada = s
        .hits(&HitFilter {
            target: Some("yamada".into()),
            ..Default::default()
        })
        .expect("hits");
    assert_eq!(yamada.len(), 2);
    s.set_status(all[0].id, "reviewing", Some("確認済み"))
        .expect("status");
    s.set_status(all[0].id, "reported", None).expect("status");
    assert!(matches!(
        s.set_status(all[0].id, "bogus", None),
        Err(StoreError::Status(_))
    ));
    assert!(matches!(
        s.set_status(999, "reviewing", None),
        Err(StoreError::NoHit(999))
    ));
    let new = s
        .hits(&HitFilter {
            new_only: true,
            ..Default::default()
        })
        .expect("hits");
    assert_eq!(new.len(), 2);
    let history = s.triage(all[0].id).expect("triage");
    assert_eq!(
        history
            .iter()
            .map(|t| t.status.as_str())
            .collect::<Vec<_>>(),
        vec!["reviewing", "reported"]
    );
    assert_eq!(history[0].note.as_deref(), Some("確認済み"));
    assert_eq!(
        s.hit(all[0].id).expect("hit").expect("exists").status,
        "reported"
    );
    let limited = s
        .hits(&HitFilter {
            limit: Some(1),
            ..Default::default()
        })
        .expect("hits");
    assert_eq!(limited.len(), 1);
}

#[test]
fn errors_and_traffic_are_recorded_per_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path()).expect("open");
    s.record_error("bad", "http://x/: HTTP 503 after 4 attempts")
        .expect("error");
    s.record_error("bad", "again").expect("error");
    s.commit_poll("good", &[], &[], &["skipped 1".into()])
        .expect("commit");
    s.record_traffic("good", 3, 1200).expect("traffic");
    let states = s.source_states().expect("states");
    let bad = states.iter().find(|s| s.source_id == "bad").expect("bad");
    assert!(bad.failing());
    assert_eq!((bad.polls, bad.errors, bad.consecutive_errors), (2, 2, 2));
    assert_eq!(bad.last_error.as_deref(), Some("again"));
    let good = states.iter().find(|s| s.source_id == "good").expect("good");
    assert!(!good.failing());
    assert_eq!((good.requests, good.bytes), (3, 1200));
    assert_eq!(good.last_notes, vec!["skipped 1"]);
    s.record_error("good", "boom").expect("error");
    s.commit_poll("good", &[], &[], &[]).expect("commit");
    let good = s
        .source_states()
        .expect("states")
        .into_iter()
        .find(|s| s.source_id == "good")
        .expect("good");
    assert_eq!(good.consecutive_errors, 0, "a success clears the streak");
    assert_eq!(good.errors, 1);
}

#[test]
fn suggestions_are_kept_per_engine_query_and_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(dir.path()).expect("open");
    s.save_suggestions(
        "google",
        "さくら食品",
        "2024-05-01",
        &json!(["さくら食品 評判"]),
    )
    .expect("save");
    s.save_suggestions(
        "google",
        "さくら食品",
        "2024-05-01",
        &json!(["さくら食品 詐欺"]),
    )
    .expect("replace");
    assert_eq!(
        s.suggestions("google", "さくら食品", "2024-05-01")
            .expect("get"),
        Some(json!(["さくら食品 詐欺"]))
    );
    assert_eq!(
        s.suggestions("bing", "さくら食品", "2024-05-01")
            .expect("get"),
        None
    );
}

#[test]
fn two_handles_on_one_file_see_each_others_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Store::open(dir.path()).expect("open a");
    let b = Store::open(dir.path()).expect("open b");
    a.commit_poll(
        "s",
        &[cursor("t", json!(1))],
        &[(post("k"), defames("yamada", None))],
        &[],
    )
    .expect("commit");
    assert_eq!(b.hits(&HitFilter::default()).expect("hits").len(), 1);
    assert_eq!(
        b.load_cursors("s").expect("cursors").get("t"),
        Some(&json!(1))
    );
    assert!(
        b.commit_poll("s", &[], &[(post("k"), defames("yamada", None))], &[])
            .expect("commit")
            .is_empty()
    );
}
