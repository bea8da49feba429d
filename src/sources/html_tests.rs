//! Unit tests of the `html` source: presets, selector validation and page parsing.

use std::time::Duration;

use super::*;

fn cfg(url: &str, extra: &str) -> SourceConfig {
    let table: toml::Table =
        toml::from_str(&format!("kind = \"html\"\nurl = \"{url}\"\n{extra}")).expect("toml");
    SourceConfig {
        kind: "html".into(),
        url: url.into(),
        every: Duration::from_secs(60),
        origin: "test.toml:1".into(),
        table,
    }
}

const TABELOG: &str = include_str!("../../tests/fixtures/sites/tabelog_rvwlst.html");
const TABELOG_URL: &str = "https://tabelog.com/tokyo/A1303/A130301/13999999/dtlrvwlst/";

fn tabelog_selectors() -> Selectors {
    let c = cfg(TABELOG_URL, "preset = \"tabelog\"");
    let base: toml::Table = PRESETS.get("tabelog").cloned().expect("preset");
    Selectors::from_settings(&Settings::with_base(&c, &base)).expect("selectors")
}

#[test]
fn presets_all_validate() {
    assert!(preset_names().len() >= 4, "{:?}", preset_names());
    for name in preset_names() {
        let c = cfg("https://example.com/", &format!("preset = \"{name}\""));
        if let Err(e) = HtmlSource::new(&c) {
            panic!("preset {name}: {e}");
        }
    }
}

#[test]
fn tabelog_review_list() {
    let url = Url::parse(TABELOG_URL).expect("url");
    let page = parse_page(TABELOG, &url, &tabelog_selectors());
    assert_eq!(page.title.as_deref(), Some("さくら亭 渋谷店"));
    assert_eq!(page.items.len(), 2, "{page:#?}");
    assert_eq!(page.skipped, 1, "the ad slot has no review id");
    let first = &page.items[0];
    assert_eq!(first.id, "B487112233");
    assert_eq!(first.author.as_deref(), Some("グルメ太郎"));
    assert_eq!(first.date_raw.as_deref(), Some("2024/05/12 21:40 投稿"));
    assert_eq!(
        first.posted_at.map(|d| d.to_rfc3339()).as_deref(),
        Some("2024-05-12T21:40:00+09:00")
    );
    assert_eq!(
        first.body,
        "二度と行きません\n料理に髪の毛が入っていました。\n店員さんの対応も\"最悪\"で、\n正直おすすめできません。"
    );
    assert!(first.body_html.contains("<br>"));
    assert_eq!(
        first.link.as_ref().map(Url::as_str),
        Some("https://tabelog.com/tokyo/A1303/A130301/13999999/dtlrvwlst/B487112233/")
    );
    assert_eq!(page.items[1].id, "B487100001");
    assert_eq!(page.items[1].title, None);
    assert_eq!(
        page.next.as_ref().map(Url::as_str),
        Some("https://tabelog.com/tokyo/A1303/A130301/13999999/dtlrvwlst/COND-0/smp1/?PG=2")
    );
}

#[test]
fn preset_found_by_host_and_overridden() {
    let src = HtmlSource::new(&cfg(TABELOG_URL, "max_pages = 2")).expect("tabelog preset by host");
    assert_eq!(src.max_pages, 2);
    let src = HtmlSource::new(&cfg(
        TABELOG_URL,
        "preset = \"tabelog\"\nbody = \".rvw-item__date\"",
    ))
    .expect("override");
    let url = Url::parse(TABELOG_URL).expect("url");
    let page = parse_page(TABELOG, &url, &src.selectors);
    assert_eq!(page.items[1].body, "2024/05/10 12:05 投稿");
}

#[test]
fn bad_settings_name_the_field() {
    let cases = [
        (
            "item = \"div..x\"\nbody = \"p\"\nid = \"@id\"",
            "item: bad CSS selector",
        ),
        (
            "item = \"div\"\nbody = \"p[\"\nid = \"@id\"",
            "body: bad CSS selector",
        ),
        ("item = \"div\"\nbody = \"p\"", "id: missing"),
        (
            "item = \"div\"\nbody = \"p\"\nid = \"@id\"\nid_pattern = \"(\"",
            "id_pattern: bad regex",
        ),
        (
            "item = \"div\"\nbody = \"p\"\nid = \"@id\"\nnext = \"a:nth-child(\"",
            "next: bad CSS selector",
        ),
        (
            "item = \"div\"\nbody = \"p\"\nid = \"@id\"\nencoding = \"klingon\"",
            "encoding: unknown charset",
        ),
        (
            "item = \"div\"\nbody = \"p\"\nid = \"@id\"\nitme = \"x\"",
            "itme: unknown setting",
        ),
        ("preset = \"nope\"", "preset: unknown preset"),
        ("body = \"p\"", "item: missing"),
    ];
    for (extra, want) in cases {
        let err = HtmlSource::new(&cfg("https://example.com/", extra))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(want) && err.starts_with("test.toml:1: html source: "),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn ids_from_permalinks_and_attributes() {
    let html = r#"<html><head><title>スレ</title></head><body>
      <div class="res"><a class="num" href="/thr/555/res/12/">12</a><span class="n">名無し</span><i>ID:Ab12</i><div class="b">本文A</div></div>
      <div class="res"><a class="num" href="/thr/555/res/11/?x=1#r">11</a><div class="b">本文B</div></div>
      <div class="res"><div class="b">リンクなし</div></div>
    </body></html>"#;
    let c = cfg(
        "https://board.example/thr/555/",
        "item = \"div.res\"\nlink = \"a.num\"\nbody = \".b\"\nauthor = \".n\"\nauthor_id = \"i\"",
    );
    let src = HtmlSource::new(&c).expect("source");
    let page = parse_page(html, &src.url, &src.selectors);
    assert_eq!(page.title.as_deref(), Some("スレ"));
    let ids: Vec<&str> = page.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["thr/555/res/12", "thr/555/res/11?x=1#r"]);
    assert_eq!(page.items[0].author_id.as_deref(), Some("ID:Ab12"));
    assert_eq!(page.skipped, 1);
    assert_eq!(page.next, None);
}
