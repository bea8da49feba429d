//! Fallback parser for 5ch's read.cgi HTML, used when a thread's dat cannot be read.
//!
//! Two layouts are known; both are matched on class tokens (never on whole `class`
//! strings), so extra classes such as `clear post` do not break them:
//! - current: `div.post` (or `article.post`) with `.postid`, `.postusername`, `.date`, `.uid`
//!   and the body in `.post-content`;
//! - older: `div.post` with `.meta .number`, `.name`, `.date`, `.uid` and the body in
//!   `.message .escaped` (or `.message`).

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset};
use scraper::{ElementRef, Html, Selector};

use super::board::{name_text, parse_date, trip};
use super::parse::split_date_id;

/// One post read from a read.cgi page.
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlPost {
    /// Post number.
    pub number: u64,
    /// Poster name as plain text.
    pub name: String,
    /// Date as written (ID removed).
    pub date_raw: String,
    /// Date parsed as JST.
    pub date: Option<DateTime<FixedOffset>>,
    /// `ID:xxxx`, else the trip.
    pub author_id: Option<String>,
    /// Body HTML as served.
    pub body_html: String,
}

/// A parsed read.cgi page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadCgiPage {
    /// Thread title (`h1.title`, else `<title>`).
    pub title: Option<String>,
    /// Posts in page order.
    pub posts: Vec<HtmlPost>,
    /// `.post` elements without a number or body (skipped).
    pub skipped: usize,
}

struct Selectors {
    post: Selector,
    number: Vec<Selector>,
    name: Vec<Selector>,
    date: Selector,
    uid: Selector,
    body: Vec<Selector>,
    h1: Selector,
    title: Selector,
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("built-in selector {s:?} is invalid: {e}"))
}

static SEL: LazyLock<Selectors> = LazyLock::new(|| Selectors {
    post: sel(".post"),
    number: vec![sel(".postid"), sel(".number")],
    name: vec![sel(".postusername"), sel(".name")],
    date: sel(".date"),
    uid: sel(".uid"),
    body: vec![
        sel(".post-content"),
        sel(".message .escaped"),
        sel(".message"),
    ],
    h1: sel("h1.title"),
    title: sel("title"),
});

fn first<'a>(el: &ElementRef<'a>, sels: &[Selector]) -> Option<ElementRef<'a>> {
    sels.iter().find_map(|s| el.select(s).next())
}

fn text_of(el: &ElementRef<'_>) -> String {
    el.text().collect::<String>()
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s.trim().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Parses a read.cgi page in either layout.
pub fn parse_read_cgi(html: &str) -> ReadCgiPage {
    let doc = Html::parse_document(html);
    let root = doc.root_element();
    let title = root
        .select(&SEL.h1)
        .next()
        .or_else(|| root.select(&SEL.title).next())
        .map(|t| text_of(&t).trim().to_string())
        .filter(|t| !t.is_empty());
    let mut page = ReadCgiPage {
        title,
        ..ReadCgiPage::default()
    };
    for post in root.select(&SEL.post) {
        let number = first(&post, &SEL.number)
            .and_then(|n| leading_number(&text_of(&n)))
            .or_else(|| post.attr("data-id").and_then(leading_number))
            .or_else(|| post.attr("id").and_then(leading_number));
        let body = first(&post, &SEL.body);
        let (Some(number), Some(body)) = (number, body) else {
            page.skipped += 1;
            continue;
        };
        let name = first(&post, &SEL.name)
            .map(|n| name_text(&n.inner_html()))
            .unwrap_or_default();
        let date_text = post
            .select(&SEL.date)
            .next()
            .map(|d| text_of(&d))
            .unwrap_or_default();
        let (date_raw, id_in_date) = split_date_id(&date_text);
        let author_id = post
            .select(&SEL.uid)
            .next()
            .map(|u| text_of(&u).trim().to_string())
            .filter(|u| !u.is_empty())
            .or(id_in_date)
            .or_else(|| {
                post.attr("data-userid")
                    .map(str::to_string)
                    .filter(|u| u.starts_with("ID:"))
            })
            .or_else(|| trip(&name));
        page.posts.push(HtmlPost {
            number,
            date: parse_date(&date_raw),
            name,
            date_raw,
            author_id,
            body_html: body.inner_html(),
        });
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::fivech::board::body_to_text;

    const CURRENT: &str = r#"<!DOCTYPE html><html lang="ja"><head><meta charset="Shift_JIS"><title>【食品】さくら食品 part3</title></head><body>
<h1 class="title">【食品】さくら食品 part3</h1><div class="thread">
<div class="clear post" id="1" data-date="NG" data-userid="ID:AbCd1234" data-id="1"><div class="post-header"><span class="postid">1</span><span class="postusername"><b>名無しさん@お腹いっぱい。</b></span><span class="date">2024/01/15(月) 12:34:56.78</span><span class="uid">ID:AbCd1234</span></div><div class="post-content"> !extend:checked:vvvvv:1000:512 <br> 本スレです </div></div>
<div class="post" id="2" data-id="2"><div class="post-header"><span class="postid">2</span><span class="postusername"><b>山田 </b>◆AbCdEf12<b></b></span><span class="date">2024/01/15(月) 12:40:00.01</span></div><div class="post-content"> <a href="../test/read.cgi/software/1705290000/1">&gt;&gt;1</a> <br> 弁当で食中毒 &amp; 入院 </div></div>
<div class="post" id="3"><div class="post-header"><span class="postid"></span></div></div>
</div></body></html>"#;

    const OLDER: &str = r#"<html><head><title>雑談スレ part12</title></head><body><div class="thread">
<div class="post" id="5" data-date="NG" data-userid="ID:Zz9" data-id="5"><div class="meta"><span class="number">5</span><span class="name"><b><a href="mailto:sage">風吹けば名無し</a></b></span><span class="date">24/01/16(火) 01:02:03.45</span><span class="uid">ID:Zz9yXw8v</span></div><div class="message"><span class="escaped"> 一行目 <br> 二行目 &lt;3 </span></div></div>
<div class="post" id="6"><div class="meta"><span class="number">6 </span><span class="name"><b>名無し</b></span><span class="date">2024/01/16(火) 01:05:00.00 ID:Qq1</span></div><div class="message"> 本文だけ </div></div>
</div></body></html>"#;

    #[test]
    fn current_layout() {
        let page = parse_read_cgi(CURRENT);
        assert_eq!(page.title.as_deref(), Some("【食品】さくら食品 part3"));
        assert_eq!(page.posts.len(), 2);
        assert_eq!(page.skipped, 1);
        let p1 = &page.posts[0];
        assert_eq!(
            (p1.number, p1.name.as_str(), p1.author_id.as_deref()),
            (1, "名無しさん@お腹いっぱい。", Some("ID:AbCd1234"))
        );
        assert_eq!(
            p1.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-01-15T12:34:56.780+09:00")
        );
        assert_eq!(body_to_text(&p1.body_html), "本スレです");
        let p2 = &page.posts[1];
        assert_eq!((p2.number, p2.author_id.as_deref()), (2, Some("◆AbCdEf12")));
        assert_eq!(body_to_text(&p2.body_html), ">>1\n弁当で食中毒 & 入院");
    }

    #[test]
    fn older_layout() {
        let page = parse_read_cgi(OLDER);
        assert_eq!(page.title.as_deref(), Some("雑談スレ part12"));
        assert_eq!(page.posts.len(), 2);
        let p5 = &page.posts[0];
        assert_eq!(
            (p5.number, p5.name.as_str(), p5.author_id.as_deref()),
            (5, "風吹けば名無し", Some("ID:Zz9yXw8v"))
        );
        assert_eq!(p5.date_raw, "24/01/16(火) 01:02:03.45");
        assert_eq!(body_to_text(&p5.body_html), "一行目\n二行目 <3");
        let p6 = &page.posts[1];
        assert_eq!(
            (p6.number, p6.author_id.as_deref(), p6.date_raw.as_str()),
            (6, Some("ID:Qq1"), "2024/01/16(火) 01:05:00.00")
        );
        assert_eq!(body_to_text(&p6.body_html), "本文だけ");
    }

    #[test]
    fn not_a_thread_page() {
        let page = parse_read_cgi(
            "<html><body><p>ERROR: 該当するスレッドは見つかりませんでした</p></body></html>",
        );
        assert!(page.posts.is_empty());
        assert_eq!(parse_read_cgi("").posts.len(), 0);
    }
}
