//! Unit tests of the 5ch parsers, the differential-fetch decision and the dat bookkeeping,
//! over cp932 fixtures encoded with encoding_rs (no I/O).

use super::parse::{
    DatAction, DatLine, complete_lines, decide, kako_path, parse_dat_line, parse_subject,
    split_date_id,
};
use super::*;

fn sjis(s: &str) -> Vec<u8> {
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!bad, "fixture not encodable in cp932: {s}");
    bytes.into_owned()
}

fn unsjis(b: &[u8]) -> String {
    encoding_rs::SHIFT_JIS
        .decode_without_bom_handling(b)
        .0
        .into_owned()
}

const NOW: i64 = 1_705_300_000;

#[test]
fn subject_skips_notices_and_bad_lines() {
    let raw = sjis(concat!(
        "9245000000.dat<>★5ちゃんねるからのお知らせ (1)\n",
        "1705290000.dat<>【食品】さくら食品 part3 (123)\n",
        "1705280000.dat<>Ｑ＆Ａ &amp; 雑談（ワッチョイ ①～⑩） (1001)\n",
        "1999999999.dat<>未来から来たスレ (1)\n",
        "abc.dat<>壊れた行 (3)\n",
        "1705290000.dat<>【食品】さくら食品 part3 (123)\n",
        "170528000.dat<>九桁の古いキー (45)\n",
        "\n",
        "1705270000.dat<>件数なし\n",
    ));
    let (entries, notes) = parse_subject(&unsjis(&raw), NOW);
    let keys: Vec<&str> = entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["1705290000", "1705280000", "170528000"]);
    assert_eq!(entries[0].title, "【食品】さくら食品 part3");
    assert_eq!(entries[0].count, 123);
    assert_eq!(entries[1].title, "Ｑ＆Ａ & 雑談（ワッチョイ ①～⑩）");
    assert_eq!(entries[1].count, 1001);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("line 5") && notes[1].contains("line 9"));
}

#[test]
fn dat_lines() {
    let DatLine::Post(p) = parse_dat_line(
        "名無しさん@お腹いっぱい。<>sage<>2024/01/15(月) 12:34:56.78 ID:AbCd1234<> <a href=\"../test/read.cgi/software/1705290000/1\" rel=\"noopener noreferrer\" target=\"_blank\">&gt;&gt;1</a> <br> さくら食品は&quot;偽装&quot;してる <>",
    ) else {
        panic!("expected a post")
    };
    assert_eq!(
        (p.name.as_str(), p.mail.as_str(), p.date_raw.as_str()),
        (
            "名無しさん@お腹いっぱい。",
            "sage",
            "2024/01/15(月) 12:34:56.78"
        )
    );
    assert_eq!(p.author_id.as_deref(), Some("ID:AbCd1234"));
    assert_eq!(
        p.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-01-15T12:34:56.780+09:00")
    );
    assert_eq!(
        board::body_to_text(&p.body_html),
        ">>1\nさくら食品は\"偽装\"してる"
    );
    assert_eq!(p.title, None);

    let DatLine::Post(p) = parse_dat_line(
        "<b>名無し</b>\u{3000}</b>◆AbCdEf12<b><><>2024/01/15(月) 12:00:00.00 BE:123456789-2BP(1000)<> !extend:checked:vvvvv:1000:512 <br> 立てました <br> VIPQ2_EXTDAT: checked:vvvvv:1000:512:: EXT was configured <>【食品】さくら食品 part3\r",
    ) else {
        panic!("expected the first post")
    };
    assert_eq!(p.author_id.as_deref(), Some("◆AbCdEf12"));
    assert_eq!(p.date_raw, "2024/01/15(月) 12:00:00.00");
    assert_eq!(board::body_to_text(&p.body_html), "立てました");
    assert_eq!(p.title.as_deref(), Some("【食品】さくら食品 part3"));

    assert_eq!(
        parse_dat_line("あぼーん<>あぼーん<>あぼーん<>あぼーん<>"),
        DatLine::Deleted
    );
    assert_eq!(
        parse_dat_line("１００１<><>Over 1000 Thread<> このスレッドは１０００を超えました。 <>"),
        DatLine::Full
    );
    assert!(matches!(
        parse_dat_line("名無し<>sage<>本文だけ"),
        DatLine::Malformed(_)
    ));
    assert!(matches!(parse_dat_line(""), DatLine::Malformed(_)));
    assert!(matches!(
        parse_dat_line("\u{FFFD}\u{FFFD}壊れ"),
        DatLine::Malformed(_)
    ));
}

#[test]
fn old_comma_dats() {
    let DatLine::Post(p) =
        parse_dat_line("名無しさん,sage,01/03/04 12:34,こんにちは＠｀元気？ <br> 二行目,昔のスレ")
    else {
        panic!("expected a comma post")
    };
    assert_eq!(p.name, "名無しさん");
    assert_eq!(
        board::body_to_text(&p.body_html),
        "こんにちは,元気？\n二行目"
    );
    assert_eq!(
        p.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2001-03-04T12:34:00+09:00")
    );
    assert_eq!(p.title.as_deref(), Some("昔のスレ"));
    assert!(matches!(parse_dat_line("a,b"), DatLine::Malformed(_)));
}

#[test]
fn date_and_id_split() {
    assert_eq!(
        split_date_id("2024/01/15(月) 12:34:56.78 ID:AbCd1234"),
        (
            "2024/01/15(月) 12:34:56.78".into(),
            Some("ID:AbCd1234".into())
        )
    );
    assert_eq!(
        split_date_id("2024/01/15(月) 12:34:56.78 ID:Ab+/x0 BE:1-2BP(3)"),
        (
            "2024/01/15(月) 12:34:56.78".into(),
            Some("ID:Ab+/x0".into())
        )
    );
    assert_eq!(
        split_date_id("2024/01/15(月) 12:34:56.78 BE:1-2BP(3)"),
        ("2024/01/15(月) 12:34:56.78".into(), None)
    );
    assert_eq!(
        split_date_id("2024/01/15(月) 12:34:56.78 ID:"),
        ("2024/01/15(月) 12:34:56.78".into(), None)
    );
}

#[test]
fn lines_stop_at_the_last_newline() {
    assert_eq!(complete_lines(b"a\nb\nc"), (4, vec![&b"a"[..], &b"b"[..]]));
    assert_eq!(complete_lines(b"a\n"), (2, vec![&b"a"[..]]));
    assert_eq!(complete_lines(b"partial"), (0, Vec::<&[u8]>::new()));
    assert_eq!(complete_lines(b""), (0, Vec::<&[u8]>::new()));
}

#[test]
fn differential_fetch_decisions() {
    use DatAction::*;
    let cases: &[(bool, u16, &[u8], DatAction)] = &[
        (true, 206, b"\nnew<>line<>x<>y<>\n", Append),
        (true, 206, b"\n", Append),
        (true, 206, b"x<>shifted\n", RefetchWhole),
        (true, 206, b"", RefetchWhole),
        (true, 416, b"", RefetchWhole),
        (true, 304, b"", NotModified),
        (true, 200, b"a<>b<>c<>d<>t\n", Replace),
        (false, 200, b"a<>b<>c<>d<>t\n", Replace),
        (false, 200, b"</b>\x81\x9fAbCdEf12<b><><>x<>y<>t\n", Replace),
        (
            false,
            200,
            b"<!DOCTYPE html><html><body>login</body></html>",
            UseReadCgi,
        ),
        (true, 403, b"", UseReadCgi),
        (true, 302, b"", Gone),
        (true, 301, b"", Gone),
        (false, 404, b"", Gone),
        (false, 410, b"", Gone),
        (false, 206, b"\n", Unexpected(206)),
        (false, 416, b"", Unexpected(416)),
        (false, 304, b"", Unexpected(304)),
        (true, 500, b"", Unexpected(500)),
    ];
    for (ranged, status, body, want) in cases {
        assert_eq!(
            decide(*ranged, *status, body),
            *want,
            "ranged={ranged} status={status} body={:?}",
            String::from_utf8_lossy(body)
        );
    }
}

#[test]
fn kako_paths() {
    assert_eq!(kako_path("1705290000"), "kako/1705/17052/1705290000.dat");
    assert_eq!(kako_path("170528000"), "kako/170/170528000.dat");
}

fn source() -> FiveCh {
    let cfg = SourceConfig {
        kind: "5ch".into(),
        url: "https://egg.5ch.net/software/".into(),
        every: Duration::from_secs(60),
        origin: "test:1".into(),
        table: toml::Table::new(),
    };
    FiveCh::new(&cfg).expect("valid source")
}

fn response(status: u16, body: Vec<u8>) -> FetchResponse {
    FetchResponse {
        url: Url::parse("https://egg.5ch.net/software/dat/1705290000.dat").expect("url"),
        status,
        headers: vec![
            (
                "last-modified".into(),
                "Mon, 15 Jan 2024 03:34:56 GMT".into(),
            ),
            ("etag".into(), "\"v2\"".into()),
        ],
        body: body.into(),
        remote_addr: None,
        fetched_at: Utc::now(),
        request_headers: Vec::new(),
        default_encoding: encoding_rs::SHIFT_JIS,
    }
}

const DAT: &str = concat!(
    "名無しさん<><>2024/01/15(月) 12:00:00.00 ID:Sure0001<> !extend:checked:vvvvv:1000:512 <br> 本スレ <>【食品】さくら食品 part3\n",
    "名無しさん<>sage<>2024/01/15(月) 12:01:00.00 ID:AbCd1234<> さくら食品～① <>\n",
    "あぼーん<>あぼーん<>あぼーん<>あぼーん<>\n",
    "壊れた行\n",
    "名無しさん<><>2024/01/15(月) 12:03:00.00 ID:Zz9yXw8v<> &gt;&gt;2 わかる <>\n",
);

#[test]
fn whole_dat_then_appended_tail() {
    let src = source();
    let mut out = PollOutput::default();
    let mut cur = ThreadCursor::default();
    let mut dat = sjis(DAT);
    let read = src.apply_dat(
        &mut out,
        "1705290000",
        &mut cur,
        response(200, dat.clone()),
        0,
    );
    assert_eq!((cur.len, cur.count), (dat.len() as u64, 5));
    assert_eq!(cur.etag.as_deref(), Some("\"v2\""));
    let numbers: Vec<u64> = read.posts.iter().map(|p| p.number).collect();
    assert_eq!(numbers, [1, 2, 5]);
    assert_eq!(read.title.as_deref(), Some("【食品】さくら食品 part3"));
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    assert!(out.notes[0].contains("line 4"));
    let post = src.to_post(
        "1705290000",
        "【食品】さくら食品 part3",
        read.posts.into_iter().nth(1).expect("post 2"),
        &response(200, Vec::new()),
    );
    assert_eq!(post.key, "5ch:egg.5ch.net/software/1705290000/2");
    assert_eq!(
        post.url,
        "https://egg.5ch.net/test/read.cgi/software/1705290000/2"
    );
    assert_eq!(post.body, "さくら食品～①");
    assert_eq!(post.author_id.as_deref(), Some("ID:AbCd1234"));

    // The server answers `Range: bytes=<len-1>-` with the last newline, one new line and a
    // partial one (still being written): only the complete line counts.
    let old_len = dat.len();
    let tail_line =
        sjis("名無しさん<><>2024/01/15(月) 12:04:00.00 ID:New00001<> 新着 <br> 二行目 <>\n");
    dat.extend_from_slice(&tail_line);
    dat.extend_from_slice(&sjis("名無しさん<><>2024/01/15"));
    let body = dat[old_len - 1..].to_vec();
    assert_eq!(decide(true, 206, &body), DatAction::Append);
    let read = src.apply_dat(&mut out, "1705290000", &mut cur, response(206, body), 1);
    assert_eq!(cur.count, 6);
    assert_eq!(cur.len, (old_len + tail_line.len()) as u64);
    assert_eq!(read.posts.len(), 1);
    assert_eq!(read.posts[0].number, 6);
    assert_eq!(
        board::body_to_text(&read.posts[0].body_html),
        "新着\n二行目"
    );
    assert_eq!(dat[cur.len as usize - 1], b'\n');
}

#[test]
fn garbled_bytes_become_replacement_characters() {
    let src = source();
    let mut out = PollOutput::default();
    let mut cur = ThreadCursor::default();
    let mut dat =
        sjis("名無しさん<><>2024/01/15(月) 12:01:00.00 ID:AbCd1234<> さくら食品の話 <>\n");
    let i = dat.len() - 8;
    dat[i] = 0x81;
    dat[i + 1] = 0x20;
    let read = src.apply_dat(&mut out, "1705290000", &mut cur, response(200, dat), 0);
    assert_eq!(read.posts.len(), 1);
    assert!(board::body_to_text(&read.posts[0].body_html).contains('\u{FFFD}'));
    assert!(
        out.notes.iter().any(|n| n.contains("U+FFFD")),
        "{:?}",
        out.notes
    );
}

#[test]
fn board_urls() {
    let cfg = |url: &str| SourceConfig {
        kind: "5ch".into(),
        url: url.into(),
        every: Duration::from_secs(60),
        origin: "t:1".into(),
        table: toml::Table::new(),
    };
    let s = FiveCh::new(&cfg("https://egg.5ch.io/software")).expect("no trailing slash");
    assert_eq!(
        (s.host.as_str(), s.board.as_str()),
        ("egg.5ch.io", "software")
    );
    let s = FiveCh::new(&cfg("http://127.0.0.1:8080/news/")).expect("local");
    assert_eq!(s.host, "127.0.0.1:8080");
    assert!(FiveCh::new(&cfg("https://egg.5ch.net/")).is_err());
    let mut bad = cfg("https://egg.5ch.net/software/");
    bad.table
        .insert("first_poll_hours".into(), toml::Value::String("x".into()));
    assert!(FiveCh::new(&bad).is_err());
    assert!(USER_AGENT.starts_with("Monazilla/1.00 mimamori/"));
}
