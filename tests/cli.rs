//! End-to-end tests of the `mimamori` binary: the `analyze` contract, watchlist errors and
//! tools, and the demo.

use crate::support::{fixture, mimamori, root};

const WATCHLIST: &str = r#"
[[target]]
id = "yamada"
kind = "business"
names = ["山田商事"]
aliases = ["ヤマダ商事"]
"#;

fn temp_watchlist(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("acme.toml");
    std::fs::write(&path, text).expect("write watchlist");
    (dir, path)
}

#[test]
fn analyze_writes_one_line_per_input_in_order_and_reports_bad_lines() {
    let (dir, path) = temp_watchlist(WATCHLIST);
    let input = "{\"id\":\"a\",\"text\":\"山田商事は詐欺会社\"}\n\
                 this is not json\n\
                 {\"id\":7,\"text\":\"今日はいい天気\",\"extra\":1}\n\
                 {\"id\":\"c\"}\n\
                 {\"id\":\"d\",\"text\":\"ヤマダ商事の新商品よかった\",\"title\":\"雑談\",\"url\":\"https://example.com/1\"}\n";
    let out = mimamori(
        dir.path(),
        &["analyze", "--watchlist", path.to_str().expect("utf8 path")],
        input.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "some lines skipped → exit 3; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8 output");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["id"], "a");
    assert_eq!(lines[0]["targets"], serde_json::json!(["yamada"]));
    assert_eq!(lines[0]["flagged"], true);
    assert_eq!(lines[0]["categories"], serde_json::json!(["defamation"]));
    assert!(lines[0]["severity"].as_u64().expect("severity") > 0);
    assert!(
        lines[0]["matches"]
            .as_array()
            .expect("matches")
            .iter()
            .any(|m| m["kind"] == "target" && m["text"] == "山田商事")
    );
    assert_eq!(
        lines[1]["id"], 2,
        "a line that is not JSON is named by its line number"
    );
    assert!(
        lines[1]["error"]
            .as_str()
            .expect("error")
            .contains("not a post")
    );
    assert_eq!(lines[2]["id"], "7");
    assert_eq!(lines[2]["flagged"], false);
    assert_eq!(lines[3]["id"], "c");
    assert!(
        lines[3]["error"].is_string(),
        "a post without text is an error for that id"
    );
    assert_eq!(lines[4]["targets"], serde_json::json!(["yamada"]));
    assert_eq!(lines[4]["flagged"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(":2: skipped"),
        "stderr names the line: {stderr}"
    );
}

#[test]
fn analyze_clean_input_exits_zero() {
    let (dir, path) = temp_watchlist(WATCHLIST);
    let out = mimamori(
        dir.path(),
        &[
            "analyze",
            "--watchlist",
            path.to_str().expect("utf8 path"),
            "-",
        ],
        b"{\"id\":\"x\",\"text\":\"hello\"}\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn watchlist_errors_name_file_line_column_and_field() {
    let cases = [
        (
            "[[target]]\nid = \"acme\"\nkind = \"business\"\nnames = []\n",
            "acme.toml:4:9: target \"acme\": names must not be empty",
        ),
        (
            "[[target]]\nid = \"acme\"\nkind = \"shop\"\nnames = [\"A社\"]\n",
            "acme.toml:3:8: target \"acme\": kind: unknown kind \"shop\"",
        ),
        (
            "[[target]]\nid = \"a\"\nkind = \"person\"\nnames = [\"佐藤\"]\n[target.personal]\nphones = [\"sha256:abc\"]\n",
            "acme.toml:6:11: target \"a\": personal.phones: bad sha256 value",
        ),
        (
            "[[target]]\nid = \"a\"\nkind = \"person\"\nnames = [\"佐藤\"]\n\n[[target]]\nid = \"a\"\nkind = \"person\"\nnames = [\"鈴木\"]\n",
            "acme.toml:6:1: target \"a\": id: duplicate target id",
        ),
        (
            "[[target]]\nid = \"A B\"\nkind = \"person\"\nnames = [\"佐藤\"]\n",
            "acme.toml:2:6: target \"A B\": id:",
        ),
        (
            "[[target]]\nid = \"a\"\nkind = \"person\"\nnames = [\"佐藤\"]\nnickname = \"x\"\n",
            "acme.toml:5:1: unknown field `nickname`",
        ),
        (
            "[[target]]\nid = \"a\"\nkind = \"person\"\nnames = [\"佐藤\"]\n[target.personal]\nphones = [\"12345\"]\n",
            "acme.toml:6:11: target \"a\": personal.phones:",
        ),
        (
            "[[source]]\nkind = \"myspace\"\nurl = \"https://x\"\n",
            "acme.toml:2:1: source #1: kind: unknown source kind \"myspace\"",
        ),
        (
            "[[source]]\nkind = \"rss\"\nurl = \"https://x/feed\"\nevery = \"often\"\n",
            "acme.toml:4:1: source #1 (rss): every:",
        ),
        ("[[target]\nid = 1\n", "acme.toml:1:"),
        (
            "[[alert]]\nkind = \"jsonl\"\npath = \"a.jsonl\"\n\n[[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"ftp://example.jp\"\n",
            "acme.toml:8:1: [[alert]] #2 (hook): url: \"ftp://example.jp\" is not an http(s) URL",
        ),
        (
            "[[alert]]\nkind = \"webhook\"\nurl = \"https://example.jp/h\"\nmin_severity = \"high\"\n",
            "acme.toml:4:16: [[alert]] #1: invalid type: string \"high\"",
        ),
        (
            "[recheck]\nevery = \"1d\"\nevry = \"6h\"\n",
            "acme.toml:3:1: [recheck]: unknown field `evry`",
        ),
        (
            "[recheck]\nfor_days = 0\n",
            "acme.toml:2:1: [recheck]: for_days: 0 must be at least 1",
        ),
        (
            "[evidence]\nscreenshot_timeout = \"0s\"\n",
            "acme.toml:2:1: [evidence]: screenshot_timeout: must be at least 1s",
        ),
        (
            "[fetch]\nretries = 1\nmin_delay = 5\n",
            "acme.toml:3:13: [fetch]: invalid type: integer `5`",
        ),
        (
            "[serve]\nport = 8080\n",
            "acme.toml:1:2: unknown field `serve`",
        ),
    ];
    for (text, want) in cases {
        let (dir, path) = temp_watchlist(text);
        let out = mimamori(
            dir.path(),
            &["watchlist", "check", path.to_str().expect("utf8 path")],
            b"",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{want}: {stderr}");
        assert!(stderr.contains(want), "want {want:?} in {stderr:?}");
    }
}

#[test]
fn watchlist_hash_matches_the_normalized_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = mimamori(
        dir.path(),
        &["watchlist", "hash", "+81 90-2345-6789", "--kind", "phone"],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    let expected = mimamori::analyze::pii::hash_value("09023456789");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("sha256:{expected}")
    );
    let bad = mimamori(
        dir.path(),
        &["watchlist", "hash", "12", "--kind", "phone"],
        b"",
    );
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn watchlist_check_masks_personal_values() {
    let out = mimamori(
        &root(),
        &[
            "watchlist",
            "check",
            fixture("analyze/watchlist.toml")
                .to_str()
                .expect("utf8 path"),
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok"));
    assert!(
        !stdout.contains("090-4817-2635") && !stdout.contains("09048172635"),
        "phone printed in clear: {stdout}"
    );
    assert!(stdout.contains("****"));
}

#[test]
fn the_shipped_watchlists_load() {
    let out = mimamori(&root(), &["watchlist", "check"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_finds_hits_without_network() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = mimamori(dir.path(), &["demo", "--duration", "15s"], b"");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("HIT"), "{stdout}");
    assert!(
        stdout.contains("tanaka_misaki") && stdout.contains("personal data: phone"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("3141-5926"),
        "watched phone printed in clear: {stdout}"
    );
}

#[test]
fn tables_of_several_watchlist_files_merge_and_a_repeated_table_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wl = dir.path().join("watchlists");
    std::fs::create_dir(&wl).expect("mkdir");
    std::fs::write(
        wl.join("a.toml"),
        "[[target]]\nid = \"a\"\nkind = \"business\"\nnames = [\"山田商事\"]\n\n[[alert]]\nname = \"file-a\"\nkind = \"jsonl\"\npath = \"a.jsonl\"\n\n[recheck]\nevery = \"6h\"\n",
    )
    .expect("write");
    std::fs::write(
        wl.join("b.toml"),
        "[[alert]]\nname = \"file-b\"\nkind = \"jsonl\"\npath = \"b.jsonl\"\n\n[[alert]]\nname = \"bad\"\nkind = \"pager\"\n",
    )
    .expect("write");
    let check = |d: &std::path::Path| {
        let out = mimamori(d, &["watchlist", "check", wl.to_str().expect("utf8")], b"");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The third alert (second of b.toml) is located in b.toml, not by its merged position.
    let (code, _, err) = check(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("b.toml:8:1: [[alert]] #3 (bad): kind: unknown sink kind \"pager\""),
        "{err}"
    );
    std::fs::write(
        wl.join("b.toml"),
        "[[alert]]\nname = \"file-b\"\nkind = \"jsonl\"\npath = \"b.jsonl\"\n",
    )
    .expect("write");
    let (code, out, err) = check(dir.path());
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("alert file-a") && out.contains("alert file-b"),
        "{out}"
    );
    assert!(out.contains("re-checks every 6h for 180 days"), "{out}");
    std::fs::write(wl.join("c.toml"), "[recheck]\nevery = \"1d\"\n").expect("write");
    let (code, _, err) = check(dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("c.toml:1:1: [recheck]: already set in") && err.contains("a.toml:11:1"),
        "{err}"
    );
}

/// Runs `mimamori ARGS` as `mimamori ARGS | head -0` would: the reader of its stdout is gone
/// before it writes anything.
fn into_closed_pipe(dir: &std::path::Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_mimamori"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn mimamori");
    drop(child.stdout.take());
    if let Some(mut input) = child.stdin.take() {
        // It may end before reading all of it: that is the point.
        let _ = input.write_all(stdin);
    }
    child.wait_with_output().expect("wait for mimamori")
}

#[test]
fn writing_into_a_closed_pipe_ends_quietly_with_exit_0() {
    let (dir, path) = temp_watchlist(WATCHLIST);
    let path = path.to_str().expect("utf8 path");
    let posts: String = (0..3000)
        .map(|i| format!("{{\"id\":{i},\"text\":\"山田商事は詐欺会社だと聞いた\"}}\n"))
        .collect();
    let cases: [(&[&str], &[u8]); 3] = [
        (&["watchlist", "check", path], b""),
        (&["analyze", "--watchlist", path], posts.as_bytes()),
        (
            &["watchlist", "hash", "090-1234-5678", "--kind", "phone"],
            b"",
        ),
    ];
    for (args, stdin) in cases {
        let out = into_closed_pipe(dir.path(), args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn inputs_are_bounded_a_runaway_line_file_or_name_is_refused_and_named() {
    let (dir, path) = temp_watchlist(WATCHLIST);
    let wl = path.to_str().expect("utf8 path");
    // A line of 17 MiB (no post is that long): skipped at once, the next line still read.
    let mut input = vec![b'x'; 17 * 1024 * 1024];
    input.extend_from_slice("\n{\"id\":\"next\",\"text\":\"山田商事は詐欺会社\"}\n".as_bytes());
    let out = mimamori(dir.path(), &["analyze", "--watchlist", wl], &input);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(":1: skipped: line longer than 16 MiB"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["id"], "next");
    assert_eq!(lines[1]["flagged"], true);

    // A watchlist file larger than any watchlist: refused, not read whole.
    let big = dir.path().join("big.toml");
    std::fs::write(&big, vec![b'#'; 17 * 1024 * 1024]).expect("write");
    let out = mimamori(
        dir.path(),
        &["watchlist", "check", big.to_str().expect("utf8")],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("big.toml") && stderr.contains("larger than 16 MiB"),
        "{stderr}"
    );

    // A name of a million characters: refused at its line, before the matcher is built.
    let long = format!(
        "[[target]]\nid = \"long\"\nkind = \"business\"\nnames = [\"{}\"]\n",
        "山".repeat(1_000_000)
    );
    let (dir, path) = temp_watchlist(&long);
    let out = mimamori(
        dir.path(),
        &["watchlist", "check", path.to_str().expect("utf8")],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("acme.toml:4")
            && stderr.contains("names")
            && stderr.contains("longer than 200"),
        "{}",
        &stderr[..stderr.len().min(500)]
    );
}
