//! WARC/1.1 records (ISO 28500:2017), each gzip-compressed as its own member so a record can be
//! read at its offset without the rest of the file.
//!
//! Digests are `sha256:<BASE32>` (RFC 4648 alphabet, padded), the form `warcio check`
//! verifies. A `response` record's block is the HTTP status line, headers and body *as
//! mimamori received them after content decoding*: `Content-Encoding`, `Transfer-Encoding` and
//! `Content-Length` describe the wire form, so they are kept renamed `X-Archive-Orig-…` and a
//! `Content-Length` of the stored body is added — the way web archives keep decoded payloads
//! replayable and their digests checkable.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// Headers whose meaning changes once the body is stored decoded.
const WIRE_HEADERS: &[&str] = &["content-encoding", "transfer-encoding", "content-length"];

/// RFC 4648 base32 with padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(ALPHABET[((n >> (35 - i * 5)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha256:<BASE32>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", base32(&Sha256::digest(bytes)))
}

/// A fresh `<urn:uuid:…>` record id.
pub fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// The WARC-Date form: UTC, seconds (fractions when given).
pub fn warc_date(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// One WARC record before encoding.
#[derive(Debug, Clone)]
pub struct Record {
    /// `WARC-Type`: warcinfo, request, response, metadata, resource.
    pub kind: &'static str,
    /// `WARC-Record-ID`.
    pub id: String,
    /// `WARC-Date`.
    pub date: DateTime<Utc>,
    /// `WARC-Target-URI` (absent for warcinfo).
    pub target_uri: Option<String>,
    /// `WARC-IP-Address`.
    pub ip: Option<String>,
    /// `WARC-Concurrent-To`: the record this one was captured with.
    pub concurrent_to: Option<String>,
    /// `WARC-Refers-To`.
    pub refers_to: Option<String>,
    /// `WARC-Warcinfo-ID`.
    pub warcinfo_id: Option<String>,
    /// `WARC-Filename` (warcinfo only).
    pub filename: Option<String>,
    /// `Content-Type` of the block.
    pub content_type: &'static str,
    /// The block.
    pub block: Vec<u8>,
    /// Where the HTTP payload starts inside the block (request/response), for
    /// `WARC-Payload-Digest`.
    pub payload_offset: Option<usize>,
}

impl Record {
    /// A record of `kind` with a fresh id, dated `date`.
    pub fn new(
        kind: &'static str,
        date: DateTime<Utc>,
        content_type: &'static str,
        block: Vec<u8>,
    ) -> Record {
        Record {
            kind,
            id: record_id(),
            date,
            target_uri: None,
            ip: None,
            concurrent_to: None,
            refers_to: None,
            warcinfo_id: None,
            filename: None,
            content_type,
            block,
            payload_offset: None,
        }
    }

    /// The record as WARC/1.1 bytes (uncompressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = String::new();
        let mut put = |name: &str, value: &str| {
            // Header values never carry line breaks (a hostile URL must not inject a field).
            let value: String = value
                .chars()
                .filter(|c| !matches!(c, '\r' | '\n'))
                .collect();
            head.push_str(name);
            head.push_str(": ");
            head.push_str(&value);
            head.push_str("\r\n");
        };
        put("WARC-Type", self.kind);
        put("WARC-Record-ID", &self.id);
        put("WARC-Date", &warc_date(self.date));
        if let Some(v) = &self.target_uri {
            put("WARC-Target-URI", v);
        }
        if let Some(v) = &self.ip {
            put("WARC-IP-Address", v);
        }
        if let Some(v) = &self.concurrent_to {
            put("WARC-Concurrent-To", v);
        }
        if let Some(v) = &self.refers_to {
            put("WARC-Refers-To", v);
        }
        if let Some(v) = &self.warcinfo_id {
            put("WARC-Warcinfo-ID", v);
        }
        if let Some(v) = &self.filename {
            put("WARC-Filename", v);
        }
        put("WARC-Block-Digest", &digest(&self.block));
        if let Some(at) = self.payload_offset {
            put(
                "WARC-Payload-Digest",
                &digest(self.block.get(at..).unwrap_or_default()),
            );
        }
        put("Content-Type", self.content_type);
        put("Content-Length", &self.block.len().to_string());
        let mut out = Vec::with_capacity(head.len() + self.block.len() + 16);
        out.extend_from_slice(b"WARC/1.1\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    /// The record as one gzip member.
    pub fn to_gzip(&self) -> std::io::Result<Vec<u8>> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&self.to_bytes())?;
        gz.finish()
    }
}

/// An HTTP/1.1 request message: `GET path HTTP/1.1` and the headers sent (`Host` first).
pub fn http_request(url: &url::Url, headers: &[(String, String)]) -> Vec<u8> {
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut out = format!("GET {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => String::new(),
        };
        out.push_str(&format!("Host: {host}\r\n"));
    }
    for (k, v) in headers {
        out.push_str(&format!("{k}: {}\r\n", clean(v)));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// An HTTP/1.1 response message with the body as stored, and where the body starts.
pub fn http_response(status: u16, headers: &[(String, String)], body: &[u8]) -> (Vec<u8>, usize) {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        if WIRE_HEADERS.iter().any(|w| k.eq_ignore_ascii_case(w)) {
            out.push_str(&format!("X-Archive-Orig-{k}: {}\r\n", clean(v)));
        } else {
            out.push_str(&format!("{k}: {}\r\n", clean(v)));
        }
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    let at = bytes.len();
    bytes.extend_from_slice(body);
    (bytes, at)
}

fn clean(v: &str) -> String {
    v.chars().filter(|c| !matches!(c, '\r' | '\n')).collect()
}

/// The block of the `response` record among concatenated WARC records (the HTTP response as
/// received: status line, headers, body).
pub fn response_block(records: &[u8]) -> Option<&[u8]> {
    let mut rest = records;
    while !rest.is_empty() {
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))?
            .trim()
            .parse()
            .ok()?;
        // A hostile or corrupt Content-Length may be near usize::MAX: checked, not wrapped.
        let end = (head_end + 4).checked_add(length)?;
        let block = rest.get(head_end + 4..end)?;
        if head.lines().any(|l| l == "WARC-Type: response") {
            return Some(block);
        }
        rest = rest.get(end + 4..)?;
    }
    None
}

/// The body of a stored HTTP response block decoded as text: by the `charset` of its
/// Content-Type, else `fallback`. Undecodable bytes become U+FFFD.
pub fn response_text(block: &[u8], fallback: &'static encoding_rs::Encoding) -> Option<String> {
    let head_end = find(block, b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&block[..head_end]);
    let charset = head
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("content-type:"))
        .find_map(|l| {
            l.split(';')
                .find_map(|p| p.trim().strip_prefix("charset="))
                .map(|c| c.trim_matches('"').to_string())
        });
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes()))
        .unwrap_or(fallback);
    let (text, _, _) = encoding.decode(block.get(head_end + 4..)?);
    Some(text.into_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "MY======"),
            ("fo", "MZXQ===="),
            ("foo", "MZXW6==="),
            ("foob", "MZXW6YQ="),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI======"),
        ] {
            assert_eq!(base32(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn a_content_length_past_usize_max_finds_no_block() {
        // Found while writing the `warc_records` fuzz target: the end of the block overflowed.
        let records = b"WARC/1.1\r\nContent-Length: 18446744073709551615\r\n\r\nx";
        assert_eq!(response_block(records), None);
        let records =
            b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: 18446744073709551612\r\n\r\nx";
        assert_eq!(response_block(records), None);
    }

    #[test]
    fn a_record_has_the_headers_and_digests_and_no_injected_fields() {
        let (block, at) = http_response(
            200,
            &[
                (
                    "content-type".into(),
                    "text/plain; charset=shift_jis".into(),
                ),
                ("content-encoding".into(), "gzip".into()),
                ("x-evil".into(), "a\r\nWARC-Type: forged".into()),
            ],
            b"body",
        );
        let mut r = Record::new(
            "response",
            Utc::now(),
            "application/http; msgtype=response",
            block,
        );
        r.payload_offset = Some(at);
        r.target_uri = Some("https://egg.5ch.net/test/read.cgi/x/1/\r\nX: y".into());
        let text = String::from_utf8(r.to_bytes()).expect("utf8");
        assert!(text.starts_with("WARC/1.1\r\nWARC-Type: response\r\n"));
        assert!(text.contains(&format!("WARC-Payload-Digest: {}", digest(b"body"))));
        assert!(text.contains("X-Archive-Orig-content-encoding: gzip\r\n"));
        assert!(text.contains("Content-Length: 4\r\n\r\nbody\r\n\r\n"));
        assert_eq!(text.matches("\r\nWARC-Type:").count(), 1, "{text}");
        assert!(!text.contains("\r\nX: y"), "{text}");
        let gz = r.to_gzip().expect("gzip");
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    }
}
