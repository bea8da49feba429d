//! After the alert: re-checks see posts deleted on the boards (あぼーん on 5ch, removed on
//! したらば) and keep the change as evidence; copies of a flagged post on another board are
//! linked as spreading and raise severity.

use std::process::Output;

use mimamori::evidence::ledger;
use mimamori::simweb::Faults;

use crate::crawl::{run, start_boards, write_config};

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn hits_json(o: &Output) -> Vec<serde_json::Value> {
    serde_json::from_slice(&o.stdout).expect("hits --json is JSON")
}

/// The hit whose source id starts with `source` and whose matches contain `text`.
fn hit_for<'a>(hits: &'a [serde_json::Value], source: &str, text: &str) -> &'a serde_json::Value {
    hits.iter()
        .find(|h| {
            h["source_id"]
                .as_str()
                .is_some_and(|s| s.starts_with(source))
                && h["matches"].to_string().contains(text)
        })
        .unwrap_or_else(|| panic!("no {source} hit matching {text}: {hits:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rechecks_record_deletions_as_evidence_and_show_when_a_takedown_took_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "1m");
    let (cfg, dat) = (config.to_str().expect("utf8"), data.to_str().expect("utf8"));
    let gone5 = web
        .post_to("5ch", 1, "さくら食品は産地偽装してる詐欺企業 [#51]")
        .expect("5ch");
    let goneshi = web
        .post_to("shitaraba", 0, "小林クリニック燃やしてやる。覚えとけ [#52]")
        .expect("shitaraba");
    web.post_to("5ch", 4, "田中美咲ってほんとブス。性格もゴミ [#53]")
        .expect("5ch");
    let o = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    let o = run(dir.path(), &["hits", "--json", "--data", dat]).await;
    let hits = hits_json(&o);
    assert_eq!(hits.len(), 3, "{hits:?}");
    let reported = hit_for(&hits, "5ch", "産地偽装")["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let o = run(
        dir.path(),
        &[
            "triage",
            &reported,
            "--status",
            "reported",
            "--note",
            "送信防止措置依頼を送付",
            "--data",
            dat,
        ],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    // Nothing is due yet (the first check is a day after the hit): a plain run checks nothing.
    let o = run(dir.path(), &["recheck", "--config", cfg, "--data", dat]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(err(&o).contains("re-checked 0 posts"), "{}", err(&o));

    // The boards delete two posts; a forced re-check sees it.
    assert!(web.delete(gone5.seq), "5ch deletes (あぼーん)");
    assert!(web.delete(goneshi.seq), "したらば deletes");
    let o = run(
        dir.path(),
        &["recheck", "--all", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(
        err(&o)
            .contains("re-checked 3 posts: 1 up, 0 changed, 2 deleted, 0 failed; 2 responses kept"),
        "{}",
        err(&o)
    );

    let o = run(dir.path(), &["hits", "--json", "--data", dat]).await;
    let hits = hits_json(&o);
    for (source, text, state, status) in [
        ("5ch", "産地偽装", "deleted", "deleted"),
        ("shitaraba", "燃やし", "deleted", "deleted"),
        ("5ch", "ブス", "up", "new"),
    ] {
        let h = hit_for(&hits, source, text);
        assert_eq!(h["recheck"]["state"], state, "{text}: {h}");
        assert_eq!(h["status"], status, "{text}: {h}");
    }
    assert!(
        hit_for(&hits, "5ch", "産地偽装")["recheck"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("あぼーん")),
        "{hits:?}"
    );
    assert!(
        hit_for(&hits, "shitaraba", "燃やし")["recheck"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no longer in the thread")),
        "{hits:?}"
    );
    let o = run(dir.path(), &["hits", "--data", dat]).await;
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("DELETED since"), "{text}");
    assert!(text.contains("takedown took effect within"), "{text}");
    assert!(text.contains("still up (checked 1×"), "{text}");

    // The deletions are evidence: WARC records in the ledger, and the chain verifies.
    let entries = ledger::entries(&mimamori::evidence::evidence_dir(&data)).expect("ledger");
    let rechecks: Vec<_> = entries.iter().filter(|e| e.kind == "recheck").collect();
    assert_eq!(rechecks.len(), 2, "{entries:?}");
    let o = run(dir.path(), &["evidence", "verify", "--data", dat]).await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));

    // A deleted post is not checked again; the one still up is.
    let o = run(
        dir.path(),
        &["recheck", "--all", "--config", cfg, "--data", dat],
    )
    .await;
    assert!(err(&o).contains("re-checked 1 posts: 1 up"), "{}", err(&o));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_on_another_board_is_linked_as_spreading_and_raises_severity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "1m");
    let (cfg, dat) = (config.to_str().expect("utf8"), data.to_str().expect("utf8"));
    let original = "さくら食品の工場長は産地偽装を指示してる詐欺師。内部告発した社員はクビにされたらしい、みんな買うなよ";
    web.post_to("5ch", 1, original).expect("5ch");
    web.post_to("5ch", 4, "さくら食品は詐欺企業").expect("5ch");
    let o = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let before = hits_json(&run(dir.path(), &["hits", "--json", "--data", dat]).await);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before.iter().all(|h| h.get("spread").is_none()),
        "{before:?}"
    );
    let first = hit_for(&before, "5ch", "クビ");
    let first_severity = first["severity"].as_i64().expect("severity");

    // A copy with changed spacing and width on したらば, and an unrelated short post.
    web.post_to(
        "shitaraba",
        0,
        "【転載】さくら食品の工場長は 産地偽装を指示してる詐欺師。\n内部告発した社員はクビにされたらしい、ﾐﾝﾅ買うなよ",
    )
    .expect("shitaraba");
    web.post_to("shitaraba", 3, "さくら食品は詐欺企業")
        .expect("shitaraba");
    let o = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let after = hits_json(&run(dir.path(), &["hits", "--json", "--data", dat]).await);
    assert_eq!(after.len(), 4, "{after:?}");
    let first = hit_for(&after, "5ch", "クビ");
    let copy = hit_for(&after, "shitaraba", "クビ");
    assert_eq!(copy["spread"]["first"]["hit_id"], first["id"], "{copy}");
    assert_eq!(
        first["spread"]["copies"].as_array().map(Vec::len),
        Some(1),
        "{first}"
    );
    assert!(
        copy["spread"]["copies"][0]["similarity"]
            .as_f64()
            .expect("similarity")
            > 0.8
    );
    assert_eq!(
        first["severity"].as_i64().expect("severity"),
        (first_severity + 10).min(100),
        "the first post's severity rises once"
    );
    assert!(copy["severity"].as_i64().expect("severity") >= (first_severity + 10).min(100));
    // Short one-liners said by many people are not copies of each other.
    let shorts: Vec<_> = after
        .iter()
        .filter(|h| !h["matches"].to_string().contains("クビ"))
        .collect();
    assert_eq!(shorts.len(), 2);
    assert!(
        shorts.iter().all(|h| h.get("spread").is_none()),
        "{shorts:?}"
    );
    let text = String::from_utf8_lossy(&run(dir.path(), &["hits", "--data", dat]).await.stdout)
        .into_owned();
    assert!(text.contains("SPREADING: copy of #"), "{text}");
    assert!(text.contains("SPREADING: copied 1×"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recheck_that_cannot_reach_the_site_exits_3_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let web = start_boards(Faults::default()).await;
    let config = write_config(dir.path(), &web, "1m");
    let (cfg, dat) = (config.to_str().expect("utf8"), data.to_str().expect("utf8"));
    web.post_to("5ch", 1, "さくら食品は産地偽装してる詐欺企業")
        .expect("5ch");
    let o = run(
        dir.path(),
        &["watch", "--once", "--config", cfg, "--data", dat],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // The site goes away: the re-check cannot run.
    drop(web);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let o = run(
        dir.path(),
        &["recheck", "--all", "--config", cfg, "--data", dat],
    )
    .await;
    let stderr = err(&o);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("1 failed") && stderr.contains("first failure: 5ch:"),
        "the reason is printed without MIMAMORI_LOG: {stderr}"
    );
}
