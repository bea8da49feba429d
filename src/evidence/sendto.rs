//! 送付先 — who to send it to: the RDAP record of a hit's site and the site's operator page,
//! kept as evidence and shown in the legal packet.
//!
//! Kept how: the raw RDAP JSON, byte for byte as received, at `rdap/<YYYYMMDD>/<subject>.json`
//! (subject = registrable domain or IP address, UTC day) with a ledger entry of kind
//! [`KIND_RDAP`] (url = the RDAP URL asked); the operator page's HTML at
//! `operator/<YYYYMMDD>/<site>.html` (site = the hit's registrable domain, whatever host the
//! page is on), kind [`KIND_OPERATOR`] (url = the page). Both are
//! create-new like every evidence file. One of each per subject per day is enough: a capture
//! finds today's entry in the ledger and returns it instead of asking again.
//!
//! When: `evidence export` captures what the ledger does not hold yet (flags `--rdap`,
//! `--bootstrap`, `--operator-url`, `--offline`); a record captured earlier — closer to the
//! post — is used as is. Offline, or when RDAP fails, the packet's section says why and the
//! export still succeeds.
//!
//! Which operator page: the configured `--operator-url`, else the first link on the site's
//! top page (`scheme://host/`, fetched under robots.txt like any page) whose text or path
//! matches 運営者情報, 運営会社, 会社概要, 特定商取引, about, company, 利用規約, terms (in that order
//! of preference) and stays on the same registrable domain — links in posts are written by
//! strangers, so another site's page is never taken as the operator's.

use chrono::{DateTime, Utc};
use url::Url;

use super::ledger::{self, Entry};
use super::{Evidence, EvidenceError};
use crate::fetch::{FetchError, FetchRequest, Fetcher};
use crate::rdap::{self, Query, Rdap, RdapError};

/// Ledger kind of a kept RDAP answer.
pub const KIND_RDAP: &str = "rdap";
/// Ledger kind of a kept operator / terms page.
pub const KIND_OPERATOR: &str = "operator_page";

/// Link texts and paths that name a site's operator or terms, most telling first.
const OPERATOR_WORDS: &[&str] = &[
    "運営者情報",
    "運営会社",
    "会社概要",
    "特定商取引",
    "about",
    "company",
    "利用規約",
    "terms",
];

/// Why a 送付先 capture failed.
#[derive(Debug, thiserror::Error)]
pub enum SendToError {
    /// The hit's URL has no host RDAP can be asked about.
    #[error("{url}: {message}")]
    NoHost {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The RDAP lookup failed.
    #[error(transparent)]
    Rdap(#[from] RdapError),
    /// Fetching the operator page failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The top page names no operator page.
    #[error(
        "{url}: no link to 運営者情報, 会社概要, 利用規約, about or terms on the same site (give one with --operator-url)"
    )]
    NoOperatorLink {
        /// The top page.
        url: String,
    },
    /// The operator page did not answer 200.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The page.
        url: String,
        /// Its status.
        status: u16,
    },
    /// Writing the evidence failed.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// The RDAP query for the host of `url`.
pub fn query_of_url(url: &str) -> Result<Query, SendToError> {
    let no_host = |message: String| SendToError::NoHost {
        url: url.to_string(),
        message,
    };
    let parsed = Url::parse(url).map_err(|e| no_host(format!("not a URL: {e}")))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| no_host("the URL has no host".into()))?;
    Query::of_host(host).map_err(no_host)
}

/// The newest kept RDAP answer about `subject`.
pub fn find_rdap<'a>(entries: &'a [Entry], subject: &str) -> Option<&'a Entry> {
    let name = format!("{}.json", file_safe(subject));
    entries
        .iter()
        .rev()
        .find(|e| e.kind == KIND_RDAP && e.path.rsplit('/').next() == Some(name.as_str()))
}

/// The site a host belongs to: its registrable domain, or the address of an IP host.
pub fn site_of(host: &str) -> String {
    Query::of_host(host).map_or_else(|_| host.to_ascii_lowercase(), |q| q.subject())
}

/// The newest kept operator page of the site of `host` (kept under the site's name, whatever
/// host the page itself is on).
pub fn find_operator<'a>(entries: &'a [Entry], host: &str) -> Option<&'a Entry> {
    let name = format!("{}.html", file_safe(&site_of(host)));
    entries
        .iter()
        .rev()
        .find(|e| e.kind == KIND_OPERATOR && e.path.rsplit('/').next() == Some(name.as_str()))
}

/// `subject` as a file name (`:` of IPv6 addresses becomes `_`).
fn file_safe(subject: &str) -> String {
    subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Whether `e` was captured on the UTC day of `now`.
fn same_day(e: &Entry, now: DateTime<Utc>) -> bool {
    e.captured_at.get(..10) == Some(now.format("%Y-%m-%d").to_string().as_str())
}

/// Today's kept RDAP answer about `subject`, if any (reads the ledger; blocking).
pub fn kept_today(evidence: &Evidence, subject: &str) -> Result<Option<Entry>, EvidenceError> {
    let kept = ledger::entries(evidence.dir())?;
    Ok(find_rdap(&kept, subject)
        .filter(|e| same_day(e, Utc::now()))
        .cloned())
}

/// Keeps an RDAP answer as evidence: the raw JSON at `rdap/<day>/<subject>.json`, one ledger
/// entry (blocking).
pub fn save_rdap(evidence: &Evidence, answer: &rdap::Answer) -> Result<Entry, EvidenceError> {
    let r = &answer.response;
    let rel = format!(
        "rdap/{}/{}.json",
        r.fetched_at.format("%Y%m%d"),
        file_safe(&answer.query.subject())
    );
    evidence.add_file(
        &rel,
        &r.body,
        ledger::NewEntry {
            captured_at: crate::model::timestamp(r.fetched_at),
            kind: KIND_RDAP.into(),
            url: answer.url.to_string(),
            ..ledger::NewEntry::default()
        },
    )
}

/// Looks up the host of `url` and keeps the raw answer as evidence — unless today's answer
/// about the same subject is in the ledger already, which is returned instead. The ledger
/// read and the write block; the watcher calls the parts itself.
pub async fn capture_rdap(
    evidence: &Evidence,
    client: &Rdap,
    url: &str,
) -> Result<Entry, SendToError> {
    let query = query_of_url(url)?;
    if let Some(e) = kept_today(evidence, &query.subject())? {
        return Ok(e);
    }
    let answer = client.lookup(&query).await?;
    Ok(save_rdap(evidence, &answer)?)
}

/// Keeps the operator page of the site of `post_url` (`operator_url` if given, else the
/// one its top page links to) as evidence, unless today's is in the ledger already.
pub async fn capture_operator_page(
    evidence: &Evidence,
    fetcher: &Fetcher,
    post_url: &str,
    operator_url: Option<&Url>,
) -> Result<Entry, SendToError> {
    let no_host = |message: String| SendToError::NoHost {
        url: post_url.to_string(),
        message,
    };
    let post = Url::parse(post_url).map_err(|e| no_host(format!("not a URL: {e}")))?;
    let host = post
        .host_str()
        .ok_or_else(|| no_host("the URL has no host".into()))?
        .to_string();
    let now = Utc::now();
    let kept = ledger::entries(evidence.dir())?;
    if let Some(e) = find_operator(&kept, &host).filter(|e| same_day(e, now)) {
        return Ok(e.clone());
    }
    let page = match operator_url {
        Some(u) => u.clone(),
        None => {
            let mut top = post.clone();
            top.set_path("/");
            top.set_query(None);
            top.set_fragment(None);
            let r = fetcher.fetch(FetchRequest::get(top.clone())).await?;
            if r.status != 200 {
                return Err(SendToError::Status {
                    url: top.to_string(),
                    status: r.status,
                });
            }
            operator_link(&r.url, &r.text().text).ok_or_else(|| SendToError::NoOperatorLink {
                url: top.to_string(),
            })?
        }
    };
    let r = fetcher.fetch(FetchRequest::get(page.clone())).await?;
    if r.status != 200 {
        return Err(SendToError::Status {
            url: page.to_string(),
            status: r.status,
        });
    }
    let rel = format!(
        "operator/{}/{}.html",
        r.fetched_at.format("%Y%m%d"),
        file_safe(&site_of(&host))
    );
    Ok(evidence.add_file(
        &rel,
        &r.body,
        ledger::NewEntry {
            captured_at: crate::model::timestamp(r.fetched_at),
            kind: KIND_OPERATOR.into(),
            url: r.url.to_string(),
            ..ledger::NewEntry::default()
        },
    )?)
}

/// The operator / terms link of a page at `base`: the best [`OPERATOR_WORDS`] match in a
/// link's text or path, on the same registrable domain.
pub fn operator_link(base: &Url, html: &str) -> Option<Url> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("a[href]").ok()?;
    let site = base.host_str().map(site_of)?;
    let mut best: Option<(usize, Url)> = None;
    for a in doc.select(&sel) {
        let Some(url) = a.value().attr("href").and_then(|h| base.join(h).ok()) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().map(site_of).as_deref() != Some(site.as_str())
        {
            continue;
        }
        let text = a.text().collect::<String>().to_lowercase();
        let path = url.path().to_lowercase();
        let rank = OPERATOR_WORDS
            .iter()
            .position(|w| text.contains(w) || path.contains(w));
        if let Some(rank) = rank
            && best.as_ref().is_none_or(|(r, _)| rank < *r)
        {
            best = Some((rank, url));
        }
    }
    best.map(|(_, u)| u)
}

/// What a packet holds about who to send it to: the kept RDAP answer and operator page of
/// the hit's site (files for the packet), and why either is missing.
#[derive(Debug, Default)]
pub(crate) struct Recipients {
    /// The hit's host.
    host: String,
    /// The registrable domain or address asked about, or why there is none.
    subject: Option<String>,
    /// Why the host has no RDAP subject.
    no_subject: Option<String>,
    /// The packet file name, ledger entry and parsed record (or why it does not parse).
    rdap: Option<(String, Entry, Result<rdap::Record, String>)>,
    /// The packet file name and ledger entry of the operator page.
    operator: Option<(String, Entry)>,
    /// What the capture at export time reported (errors, offline).
    notes: Vec<String>,
}

/// One packet file: name, ledger entry, bytes.
pub(crate) type PacketFile = (String, Entry, Vec<u8>);

impl Recipients {
    /// The kept records for the site of `url` among `all`, read with `read` (hash-checked).
    pub(crate) fn gather(
        all: &[Entry],
        url: &str,
        notes: &[String],
        read: impl Fn(&Entry) -> Result<Vec<u8>, EvidenceError>,
    ) -> Result<(Recipients, Vec<PacketFile>), EvidenceError> {
        let mut out = Recipients {
            host: Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
            notes: notes.to_vec(),
            ..Recipients::default()
        };
        let mut files = Vec::new();
        match query_of_url(url) {
            Ok(q) => out.subject = Some(q.subject()),
            Err(e) => out.no_subject = Some(e.to_string()),
        }
        if let Some(e) = out.subject.as_deref().and_then(|s| find_rdap(all, s)) {
            let bytes = read(e)?;
            let name = format!(
                "rdap-{}",
                e.path.rsplit('/').next().unwrap_or("record.json")
            );
            let record = rdap::Record::parse(&bytes);
            out.rdap = Some((name.clone(), e.clone(), record));
            files.push((name, e.clone(), bytes));
        }
        if let Some(e) = find_operator(all, &out.host) {
            let bytes = read(e)?;
            let name = format!(
                "operator-{}",
                e.path.rsplit('/').next().unwrap_or("page.html")
            );
            out.operator = Some((name.clone(), e.clone()));
            files.push((name, e.clone(), bytes));
        }
        Ok((out, files))
    }

    /// The report's 送付先 section (escaped HTML); `server_ip` is the address the post was
    /// fetched from (its hosting network is asked with `mimamori whois IP`).
    pub(crate) fn html(&self, server_ip: &str) -> String {
        use crate::text::html::esc;
        let mut s =
            String::from("<h2>3-2. 送付先（サイト運営者・登録事業者・不正利用窓口）</h2><table>");
        let row = |s: &mut String, k: &str, v: String| {
            s.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
        };
        let absent = "（非公開・記載なし）";
        let party = |c: Option<&rdap::Contact>| -> String {
            let Some(c) = c else {
                return absent.to_string();
            };
            let mut parts = Vec::new();
            for v in [&c.org, &c.name].into_iter().flatten() {
                if !parts.contains(v) {
                    parts.push(v.clone());
                }
            }
            if parts.is_empty() {
                parts.push(format!("名称{absent}"));
            }
            parts.extend(c.address.iter().map(|a| format!("住所 {a}")));
            parts.push(if c.emails.is_empty() {
                format!("メール{absent}")
            } else {
                format!("メール {}", c.emails.join(", "))
            });
            if !c.phones.is_empty() {
                parts.push(format!("電話 {}", c.phones.join(", ")));
            }
            let text = parts
                .iter()
                .map(|p| {
                    if rdap::is_redacted(p) {
                        format!("{p}（秘匿）")
                    } else {
                        p.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ・ ");
            esc(&text)
        };
        row(&mut s, "ホスト", esc(&self.host));
        match (&self.subject, &self.no_subject) {
            (Some(sub), _) => row(&mut s, "照会した登録ドメイン・アドレス", esc(sub)),
            (None, Some(why)) => row(&mut s, "照会した登録ドメイン・アドレス", esc(why)),
            (None, None) => {}
        }
        match &self.rdap {
            Some((name, e, Ok(record))) => {
                let sum = record.summary();
                row(
                    &mut s,
                    "RDAP 記録",
                    esc(&format!(
                        "{}（取得 {} UTC、同梱 {name}、SHA-256 {}、台帳 #{}）",
                        e.url, e.captured_at, e.sha256, e.seq
                    )),
                );
                let who = if sum.network.is_some() {
                    "ネットワーク管理者"
                } else {
                    "運営者（登録者）"
                };
                row(&mut s, who, party(sum.operator.as_ref()));
                if sum.network.is_none() {
                    row(
                        &mut s,
                        "登録事業者（レジストラ）",
                        party(sum.registrar.as_ref()),
                    );
                }
                if sum.abuse.is_empty() {
                    row(&mut s, "不正利用窓口（abuse）", esc(absent));
                }
                for a in &sum.abuse {
                    row(&mut s, "不正利用窓口（abuse）", party(Some(a)));
                }
                if sum.network.is_none() {
                    let ns = if sum.nameservers.is_empty() {
                        absent.to_string()
                    } else {
                        sum.nameservers.join(", ")
                    };
                    row(&mut s, "ネームサーバ", esc(&ns));
                    row(
                        &mut s,
                        "登録日・有効期限",
                        esc(&format!(
                            "{} ／ {}",
                            sum.registered.as_deref().unwrap_or(absent),
                            sum.expires.as_deref().unwrap_or(absent)
                        )),
                    );
                }
                if !sum.redacted.is_empty() {
                    row(&mut s, "秘匿された項目", esc(&sum.redacted.join("; ")));
                }
            }
            Some((name, e, Err(why))) => row(
                &mut s,
                "RDAP 記録",
                esc(&format!(
                    "{}（同梱 {name}、台帳 #{}）— 内容を読み取れない: {why}",
                    e.url, e.seq
                )),
            ),
            None => {
                let mut text = String::from("RDAP 記録なし（取得できなかった）。");
                for n in &self.notes {
                    text.push_str(&format!(" {n}"));
                }
                text.push_str(&format!(
                    " 手動で照会: mimamori whois {}",
                    self.subject.as_deref().unwrap_or(&self.host)
                ));
                row(
                    &mut s,
                    "RDAP 記録",
                    format!("<span class=\"warn\">{}</span>", esc(&text)),
                );
            }
        }
        match &self.operator {
            Some((name, e)) => row(
                &mut s,
                "運営者情報・利用規約ページ",
                esc(&format!(
                    "{}（取得 {} UTC、同梱 {name}、SHA-256 {}、台帳 #{}）",
                    e.url, e.captured_at, e.sha256, e.seq
                )),
            ),
            None => row(
                &mut s,
                "運営者情報・利用規約ページ",
                esc(
                    "未取得（サイトの運営者情報・会社概要・利用規約のページを確認すること。export --operator-url URL で保存できる）",
                ),
            ),
        }
        if !server_ip.is_empty() {
            row(
                &mut s,
                "サーバのネットワーク",
                esc(&format!(
                    "投稿取得時のサーバIPアドレス {server_ip}（ホスティング事業者の照会: mimamori whois {server_ip}）"
                )),
            );
        }
        s.push_str("</table><p>送信防止措置依頼はサイト運営者（運営者情報ページ・登録者）へ。運営者が不明・応答しない場合は登録事業者・ホスティング事業者の不正利用窓口へ。発信者のIPアドレスが開示された後は、そのネットワークの管理者（経由プロバイダ）へログ保存を依頼する（mimamori whois IP --posted-at 投稿日時）。</p>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_link_is_the_best_match_on_the_same_site() {
        let base = Url::parse("https://hayabusa9.5ch.net/").expect("url");
        let html = r#"<html><body>
            <a href="https://evil.example/運営者情報">運営者情報</a>
            <a href="/rules/terms.html">利用規約</a>
            <a href="https://info.5ch.net/company">会社概要</a>
            <a href="javascript:alert(1)">about</a>
            </body></html>"#;
        assert_eq!(
            operator_link(&base, html).map(|u| u.to_string()).as_deref(),
            Some("https://info.5ch.net/company")
        );
        let only_terms = r#"<a href="/rules/TERMS.html">Rules</a><a href="/x">home</a>"#;
        assert_eq!(
            operator_link(&base, only_terms)
                .map(|u| u.to_string())
                .as_deref(),
            Some("https://hayabusa9.5ch.net/rules/TERMS.html")
        );
        assert_eq!(operator_link(&base, "<p>no links</p>"), None);
    }

    #[test]
    fn kept_records_are_found_by_subject_and_host() {
        let entry = |kind: &str, path: &str, url: &str| Entry {
            seq: 1,
            path: path.into(),
            offset: 0,
            length: 1,
            sha256: String::new(),
            captured_at: "2026-11-30T03:00:00Z".into(),
            kind: kind.into(),
            url: url.into(),
            post_keys: Vec::new(),
            record_ids: Vec::new(),
            hit_id: None,
            torn_from: None,
            prev: String::new(),
        };
        let mut all = vec![
            entry(
                KIND_RDAP,
                "rdap/20261129/5ch.net.json",
                "https://r/domain/5ch.net",
            ),
            entry(
                KIND_RDAP,
                "rdap/20261130/5ch.net.json",
                "https://r/domain/5ch.net",
            ),
            entry(
                KIND_RDAP,
                "rdap/20261130/2001_db8__1.json",
                "https://r/ip/2001:db8::1",
            ),
            entry(
                KIND_OPERATOR,
                "operator/20261130/5ch.net.html",
                "https://5ch.net/about",
            ),
        ];
        all[0].captured_at = "2026-11-29T03:00:00Z".into();
        assert_eq!(
            find_rdap(&all, "5ch.net").map(|e| e.path.as_str()),
            Some("rdap/20261130/5ch.net.json")
        );
        assert!(find_rdap(&all, "2001:db8::1").is_some());
        assert!(find_rdap(&all, "example.jp").is_none());
        assert!(find_operator(&all, "5ch.net").is_some());
        assert!(find_operator(&all, "egg.5ch.net").is_some(), "same site");
        assert!(find_operator(&all, "example.jp").is_none());
        let now = DateTime::parse_from_rfc3339("2026-11-30T20:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert!(same_day(&all[1], now) && !same_day(&all[0], now));
    }
}
