//! Which charset a body is in, and decoding it without ever failing. Japanese sites still
//! serve Shift_JIS (really Windows-31J/cp932) and EUC-JP, often without saying so in the
//! header; the order is BOM, then the Content-Type `charset`, then an HTML `<meta>` in the
//! first 2 KB, then an XML declaration, then the source's default. Malformed bytes become
//! U+FFFD and are counted, so a garbled page is visible in reports instead of a panic.
//!
//! encoding_rs's `Shift_JIS` is the WHATWG decoder, which is Windows-31J: NEC row 13 (①),
//! NEC-selected and IBM extensions (ⅰ, 纊) and the cp932 mappings of 0x8160 (～ U+FF5E),
//! 0x817C (－ U+FF0D) and ¢ £ ¬ (fullwidth) — checked in the tests below. Labels the WHATWG
//! list lacks (`cp932`, `eucJP-ms`, …) are mapped here.

use encoding_rs::{DecoderResult, Encoding};

use crate::fetch::DecodedText;

/// How much of the body is searched for `<meta charset>` or an XML declaration.
pub const SNIFF_BYTES: usize = 2048;

/// Decodes `body`, choosing the charset from a BOM, the `content_type` header value, an HTML
/// meta tag or XML declaration, or else `default`; malformed sequences are replaced with
/// U+FFFD and counted.
pub fn decode(body: &[u8], content_type: Option<&str>, default: &'static Encoding) -> DecodedText {
    let (encoding, skip) = match Encoding::for_bom(body) {
        Some(found) => found,
        None => (sniff(body, content_type, default), 0),
    };
    let (text, replaced) = decode_counting(&body[skip..], encoding);
    DecodedText {
        text,
        encoding,
        replaced,
    }
}

/// A stored HTTP response message (status line, headers, a blank line, the body as received,
/// as the evidence keeps it) as text: the head as written (UTF-8, lossily) and the body decoded
/// like a fetched one ([`decode`]) by the `Content-Type` of the head, a BOM, a `<meta>` or XML
/// declaration, else `default`. A message without a blank line is all head.
pub fn decode_response_message(
    message: &[u8],
    default: &'static Encoding,
) -> (String, DecodedText) {
    let (head, body) = match find(message, b"\r\n\r\n") {
        Some(at) => (&message[..at + 4], &message[at + 4..]),
        None => (message, &message[message.len()..]),
    };
    let head = String::from_utf8_lossy(head).into_owned();
    let content_type = head.lines().skip(1).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-type")
            .then(|| value.trim())
    });
    let body = decode(body, content_type, default);
    (head, body)
}

/// The charset of a body without a BOM: header, then meta (HTML or unknown content types
/// only, so a JSON post quoting `<meta charset>` cannot switch the charset), then the XML
/// declaration, then `default`.
pub fn sniff(
    body: &[u8],
    content_type: Option<&str>,
    default: &'static Encoding,
) -> &'static Encoding {
    if let Some(e) = content_type
        .and_then(charset_param)
        .and_then(encoding_for_label)
    {
        return e;
    }
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let html_like = content_type.is_none_or(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.contains("html") || ct.trim().is_empty()
    });
    if html_like && let Some(e) = meta_charset(head) {
        return e;
    }
    xml_encoding(head).unwrap_or(default)
}

/// The `charset` parameter of a Content-Type value, unquoted.
pub fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(['"', '\'']).trim())
    })
}

/// The encoding for a charset label: the WHATWG labels plus the Japanese aliases sites use
/// (`cp932`, `windows-932`, `sjis-win`, `eucJP-ms`, `cp51932`, …). The WHATWG "replacement"
/// encoding counts as unknown.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let label = label.trim().to_ascii_lowercase();
    let encoding = match label.as_str() {
        "cp932" | "windows-932" | "x-ms-cp932" | "sjis-win" | "sjis-open" | "shift_jis-2004"
        | "shift_jisx0213" | "x-sjis-cp932" | "cp943" | "ibm-943" => encoding_rs::SHIFT_JIS,
        "eucjp" | "eucjp-ms" | "euc-jp-ms" | "eucjp-win" | "eucjp-open" | "cp51932"
        | "euc-jis-2004" | "x-eucjp" => encoding_rs::EUC_JP,
        _ => Encoding::for_label(label.as_bytes())?,
    };
    (encoding != encoding_rs::REPLACEMENT).then_some(encoding)
}

/// The charset named by the first `<meta charset=…>` or
/// `<meta http-equiv="content-type" content="…; charset=…">` in `head`. UTF-16 there means
/// UTF-8 (the page was readable as ASCII, as the HTML standard says).
pub fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at + 5;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        from = end;
        if !lower
            .get(start)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
        {
            continue;
        }
        let attrs = attributes(&lower[start..end]);
        let get = |name: &str| {
            attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let label = match get("charset") {
            Some(cs) => Some(cs),
            None if get("http-equiv") == Some("content-type") => {
                get("content").and_then(charset_in_content)
            }
            None => None,
        };
        if let Some(e) = label.and_then(encoding_for_label) {
            let utf16 = e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE;
            return Some(if utf16 { encoding_rs::UTF_8 } else { e });
        }
    }
    None
}

/// The `encoding` of an XML declaration at the start of `head` (`<?xml version="1.0"
/// encoding="EUC-JP"?>`, as RSS feeds write).
pub fn xml_encoding(head: &[u8]) -> Option<&'static Encoding> {
    let trimmed = head.trim_ascii_start();
    if !trimmed.starts_with(b"<?xml") {
        return None;
    }
    let end = find(trimmed, b"?>")?;
    let decl = trimmed[5..end].to_ascii_lowercase();
    let at = find(&decl, b"encoding")?;
    let rest = decl[at + 8..]
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let quote = *rest.first().filter(|q| **q == b'"' || **q == b'\'')?;
    let value = &rest[1..];
    let close = value.iter().position(|b| *b == quote)?;
    encoding_for_label(std::str::from_utf8(&value[..close]).ok()?)
}

/// The charset inside a meta `content` value (`text/html; charset=shift_jis`).
fn charset_in_content(content: &str) -> Option<&str> {
    let at = content.find("charset")?;
    let rest = content[at + 7..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let end = rest
        .find(|c: char| c == '"' || c == '\'' || c == ';' || c.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|s| !s.is_empty())
}

/// Attributes of a (lower-cased) tag body: `name=value`, `name="value"`, `name='value'`, bare
/// `name`. Non-UTF-8 bytes in values are replaced (labels are ASCII anyway).
fn attributes(tag: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    let text = |s: &[u8]| String::from_utf8_lossy(s).into_owned();
    while i < tag.len() {
        while i < tag.len() && (tag[i].is_ascii_whitespace() || tag[i] == b'/') {
            i += 1;
        }
        let name_start = i;
        while i < tag.len() && !tag[i].is_ascii_whitespace() && !matches!(tag[i], b'=' | b'/') {
            i += 1;
        }
        let name = text(&tag[name_start..i]);
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if tag.get(i) == Some(&b'=') {
            i += 1;
            while i < tag.len() && tag[i].is_ascii_whitespace() {
                i += 1;
            }
            if let Some(&q) = tag.get(i).filter(|q| **q == b'"' || **q == b'\'') {
                let start = i + 1;
                let end = tag[start..]
                    .iter()
                    .position(|b| *b == q)
                    .map_or(tag.len(), |e| start + e);
                value = text(&tag[start..end]);
                i = end + 1;
            } else {
                let start = i;
                while i < tag.len() && !tag[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = text(&tag[start..i]);
            }
        }
        if !name.is_empty() {
            out.push((name, value));
        }
    }
    out
}

/// Decodes with U+FFFD for each malformed sequence, returning the text and how many were
/// replaced (a literal U+FFFD in the source is not counted).
fn decode_counting(bytes: &[u8], encoding: &'static Encoding) -> (String, usize) {
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(
        decoder
            .max_utf8_buffer_length_without_replacement(bytes.len())
            .unwrap_or(bytes.len().saturating_mul(3)),
    );
    let mut replaced = 0;
    let mut pos = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[pos..], &mut out, true);
        pos += read;
        match result {
            DecoderResult::InputEmpty => return (out, replaced),
            DecoderResult::Malformed(_, _) => {
                out.push('\u{FFFD}');
                replaced += 1;
            }
            DecoderResult::OutputFull => {
                let need = decoder
                    .max_utf8_buffer_length_without_replacement(bytes.len() - pos)
                    .unwrap_or(4096);
                out.reserve(need.max(16));
            }
        }
    }
}

/// First position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use encoding_rs::{EUC_JP, SHIFT_JIS, UTF_8};

    use super::*;

    /// 5ch answers in Shift_JIS, したらば in EUC-JP, neither always saying so: a stored
    /// response is read by its header when there is one, else by the source's default.
    #[test]
    fn stored_responses_are_read_in_their_charset() {
        let sjis = SHIFT_JIS.encode("山田商事は詐欺").0;
        let mut message = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n".to_vec();
        message.extend_from_slice(&sjis);
        let (head, body) = decode_response_message(&message, SHIFT_JIS);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"));
        assert_eq!(body.text, "山田商事は詐欺");
        assert_eq!(body.replaced, 0);
        let euc = EUC_JP.encode("したらば掲示板").0;
        let mut message =
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=EUC-JP\r\n\r\n".to_vec();
        message.extend_from_slice(&euc);
        let (_, body) = decode_response_message(&message, UTF_8);
        assert_eq!(body.text, "したらば掲示板");
        assert_eq!(body.encoding, EUC_JP);
        let (head, body) = decode_response_message(b"HTTP/1.1 204", UTF_8);
        assert_eq!((head.as_str(), body.text.as_str()), ("HTTP/1.1 204", ""));
    }

    #[test]
    fn shift_jis_is_windows_31j() {
        let cases: [(&[u8], &str); 9] = [
            (b"\x82\xa0\x88\x9f", "あ亜"),
            (b"\x81\x60", "\u{FF5E}"), // ～ (not U+301C WAVE DASH)
            (b"\x81\x61", "\u{2225}"), // ∥
            (b"\x81\x7c", "\u{FF0D}"), // －
            (b"\x81\x91\x81\x92\x81\xca", "\u{FFE0}\u{FFE1}\u{FFE2}"),
            (b"\x87\x40", "①"), // NEC row 13
            (b"\x87\x90", "≒"),
            (b"\xed\x40", "纊"), // NEC-selected IBM extension
            (b"\xfa\x40", "ⅰ"),  // IBM extension
        ];
        for label in [
            "Shift_JIS",
            "shift-jis",
            "SJIS",
            "x-sjis",
            "windows-31j",
            "cp932",
            "MS932",
        ] {
            let e = encoding_for_label(label).expect(label);
            for (bytes, want) in cases {
                let d = decode(bytes, None, e);
                assert_eq!(d.text, want, "{label} {bytes:02x?}");
                assert_eq!(d.replaced, 0);
            }
        }
    }

    #[test]
    fn japanese_labels() {
        for l in [
            "EUC-JP", "euc-jp", "x-euc-jp", "eucJP-ms", "CP51932", "eucjp",
        ] {
            assert_eq!(encoding_for_label(l), Some(EUC_JP), "{l}");
        }
        assert_eq!(encoding_for_label(" utf8 "), Some(UTF_8));
        assert_eq!(
            encoding_for_label("iso-2022-kr"),
            None,
            "replacement is unknown"
        );
        assert_eq!(encoding_for_label("klingon"), None);
    }

    #[test]
    fn header_charset_wins() {
        let (sjis, _, _) = SHIFT_JIS.encode("山田商事は詐欺");
        let d = decode(&sjis, Some("text/plain; charset=Shift_JIS"), UTF_8);
        assert_eq!(d.text, "山田商事は詐欺");
        assert_eq!(d.encoding, SHIFT_JIS);
        assert_eq!(d.replaced, 0);
        let d = decode(&sjis, Some("text/html;CHARSET=\"shift_jis\""), UTF_8);
        assert_eq!(d.text, "山田商事は詐欺");
        // The header beats a meta tag that disagrees.
        let mut page = b"<meta charset=\"euc-jp\">".to_vec();
        page.extend_from_slice(&sjis);
        assert_eq!(
            decode(&page, Some("text/html; charset=cp932"), UTF_8).encoding,
            SHIFT_JIS
        );
        // An unknown header label falls through to the page.
        assert_eq!(
            decode(&page, Some("text/html; charset=bogus"), UTF_8).encoding,
            EUC_JP
        );
    }

    #[test]
    fn meta_tags() {
        let cases: [(&str, &'static Encoding); 7] = [
            ("<html><head><meta charset=\"Shift_JIS\"></head>", SHIFT_JIS),
            ("<META CHARSET=euc-jp>", EUC_JP),
            (
                "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=x-sjis\">",
                SHIFT_JIS,
            ),
            (
                "<meta content='text/html;charset=EUC-JP' http-equiv='content-type' />",
                EUC_JP,
            ),
            ("<meta name=viewport content=x><meta charset=utf-8>", UTF_8),
            ("<meta charset=\"utf-16\">", UTF_8),
            (
                "<metadata charset=euc-jp><meta charset=shift_jis>",
                SHIFT_JIS,
            ),
        ];
        for (html, want) in cases {
            assert_eq!(meta_charset(html.as_bytes()), Some(want), "{html}");
        }
        for html in [
            "<meta http-equiv=refresh content='0; charset=euc-jp'>",
            "<meta charset=klingon>",
            "<p>",
            "<meta",
        ] {
            assert_eq!(meta_charset(html.as_bytes()), None, "{html}");
        }
    }

    #[test]
    fn meta_only_in_the_first_2k_and_only_for_html() {
        let mut page = vec![b' '; SNIFF_BYTES];
        page.extend_from_slice(b"<meta charset=euc-jp>");
        assert_eq!(sniff(&page, None, SHIFT_JIS), SHIFT_JIS);
        let json = br#"{"text":"<meta charset=euc-jp>"}"#;
        assert_eq!(sniff(json, Some("application/json"), UTF_8), UTF_8);
        assert_eq!(
            sniff(json, None, UTF_8),
            EUC_JP,
            "no content type: sniffed like HTML"
        );
    }

    #[test]
    fn xml_declaration() {
        let (euc, _, _) =
            EUC_JP.encode("<?xml version=\"1.0\" encoding=\"EUC-JP\"?><rdf>誹謗</rdf>");
        let d = decode(&euc, Some("application/rss+xml"), UTF_8);
        assert_eq!(d.encoding, EUC_JP);
        assert!(d.text.contains("誹謗"));
        assert_eq!(
            xml_encoding(b"  <?xml version='1.0' encoding = 'shift_jis' ?>"),
            Some(SHIFT_JIS)
        );
        assert_eq!(xml_encoding(b"<?xml version=\"1.0\"?><a/>"), None);
        assert_eq!(
            xml_encoding(b"<a><?xml encoding=\"euc-jp\"?>"),
            None,
            "only at the start"
        );
        assert_eq!(
            xml_encoding(b"<?xml encoding=\"euc-jp\""),
            None,
            "unterminated"
        );
    }

    #[test]
    fn default_when_nothing_says() {
        let (euc, _, _) = EUC_JP.encode("したらば掲示板");
        let d = decode(&euc, Some("text/plain"), EUC_JP);
        assert_eq!(d.text, "したらば掲示板");
        assert_eq!(d.encoding, EUC_JP);
    }

    #[test]
    fn bom_wins() {
        let d = decode(
            b"\xef\xbb\xbfabc",
            Some("text/html; charset=shift_jis"),
            EUC_JP,
        );
        assert_eq!((d.text.as_str(), d.encoding), ("abc", UTF_8));
        let d = decode(b"\xff\xfea\x00", None, SHIFT_JIS);
        assert_eq!((d.text.as_str(), d.encoding), ("a", encoding_rs::UTF_16LE));
    }

    #[test]
    fn malformed_bytes_are_replaced_and_counted() {
        // A lone lead byte, an invalid trail, and a truncated sequence at the end.
        let d = decode(b"\x82\xa0\xff\x82\x20ok\x88", None, SHIFT_JIS);
        assert_eq!(d.replaced, 3, "{:?}", d.text);
        assert!(d.text.starts_with('あ'));
        assert!(d.text.contains("ok"));
        assert_eq!(d.text.matches('\u{FFFD}').count(), 3);
        // A real U+FFFD in valid UTF-8 is not a replacement.
        let d = decode("a\u{FFFD}b".as_bytes(), None, UTF_8);
        assert_eq!(d.replaced, 0);
        let d = decode(b"\xa4\xa2\xa4", None, EUC_JP);
        assert_eq!((d.text.as_str(), d.replaced), ("あ\u{FFFD}", 1));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x: u32 = 0x1234_5678;
        for len in 0..300usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            for e in [SHIFT_JIS, EUC_JP, UTF_8] {
                let d = decode(&bytes, Some("text/html"), e);
                assert!(d.replaced <= bytes.len());
            }
            let _ = meta_charset(&bytes);
            let _ = xml_encoding(&bytes);
        }
    }

    #[test]
    fn charset_param_parsing() {
        assert_eq!(charset_param("text/html; charset=UTF-8"), Some("UTF-8"));
        assert_eq!(
            charset_param("text/html;charset='euc-jp' ; q=1"),
            Some("euc-jp")
        );
        assert_eq!(charset_param("text/html"), None);
        assert_eq!(
            charset_param("charset=utf-8"),
            None,
            "the media type is not a parameter"
        );
    }
}
