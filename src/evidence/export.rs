//! The legal packet of one hit (`mimamori evidence export HIT --out DIR|FILE.zip`): what a
//! victim's lawyer hands to a site operator (送信防止措置依頼) and to a court (発信者情報開示請求).
//!
//! | file | what |
//! |---|---|
//! | `evidence.warc.gz` | the captured WARC records of the post, byte for byte as in the archive (their ledger hashes still hold), after the day file's `warcinfo` |
//! | `post.json` | the post as extracted (text, poster, times, URL) |
//! | `hit.json` | the hit, its matches and triage history |
//! | `hit-<id>-<time>.png`, `…-stamped.png`, `….pdf`, `….json` | the hit's screenshots, PDF and their description, byte for byte as in `evidence/shots/` |
//! | `SCREENSHOTS.txt` | instead, when the hit has no screenshot: why (the note kept at the time, or what to do) |
//! | `rdap-<domain>.json`, `operator-<host>.html` | the site's RDAP answer and operator / terms page as kept in `evidence/rdap/`, `evidence/operator/` (see [`super::sendto`]), when kept |
//! | `report.html` | the report in Japanese, printable: the post, capture details, the stamped screenshot, deadlines, who to send it to (送付先: operator, registrar, abuse contact), drafts of the テレコムサービス協会 takedown form fields, the disclosure checklist and a 証拠説明書 row |
//! | `manifest.json` | SHA-256 and size of every file above, the ledger entries they come from |
//!
//! The post is shown in clear here — it is the evidence — so the packet is for the victim and
//! their lawyer, not for logs or alerts.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::deadlines::{self, Deadlines};
use super::ledger::{self, Entry};
use super::screenshot;
use super::sendto::Recipients;
use super::{EvidenceError, evidence_dir, read_entry};
use crate::model::{Post, jst};
use crate::store::{Hit, TriageEntry};
use crate::text::html::esc;

/// What the packet is made from (read from the data directory by the caller).
#[derive(Debug, Clone)]
pub struct PacketInput {
    /// The hit.
    pub hit: Hit,
    /// Its post, when stored.
    pub post: Option<Post>,
    /// Its triage history.
    pub history: Vec<TriageEntry>,
    /// What capturing the 送付先 records at export time reported (errors, "offline"); the
    /// records themselves are read from the ledger (see [`super::sendto`]).
    pub send_to_notes: Vec<String>,
}

/// One file of the packet.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestFile {
    /// File name inside the packet.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// Tool and version.
    pub software: String,
    /// When the packet was made (RFC 3339 UTC).
    pub created_at: String,
    /// The hit id.
    pub hit_id: i64,
    /// The files.
    pub files: Vec<ManifestFile>,
    /// The ledger entries whose bytes the packet holds (`evidence.warc.gz`, screenshots).
    pub ledger_entries: Vec<Entry>,
}

/// Builds the packet of `input` from the evidence of `data` into `out` (a directory, created;
/// or a `.zip` file, created new). Fails if the hit has no captured evidence.
pub fn export(data: &Path, input: &PacketInput, out: &Path) -> Result<Manifest, EvidenceError> {
    let dir = evidence_dir(data);
    let all = ledger::entries(&dir)?;
    let captures: Vec<&Entry> = all
        .iter()
        .filter(|e| e.kind == "warc" && e.post_keys.contains(&input.hit.post_key))
        .collect();
    if captures.is_empty() {
        return Err(EvidenceError::NoEvidence {
            hit: input.hit.id,
            dir,
        });
    }
    let threads: Vec<&Entry> = all
        .iter()
        .filter(|e| e.kind == super::KIND_THREAD && e.post_keys.contains(&input.hit.post_key))
        .collect();
    let mut warc = Vec::new();
    let mut used: Vec<Entry> = Vec::new();
    for c in captures.iter().chain(&threads) {
        if let Some(info) = all
            .iter()
            .find(|e| e.kind == "warcinfo" && e.path == c.path)
            .filter(|i| !used.contains(i))
        {
            warc.extend(raw_range(&dir, info)?);
            used.push(info.clone());
        }
        warc.extend(raw_range(&dir, c)?);
        used.push((*c).clone());
    }
    let records = read_entry(&dir, captures[0])?;
    let capture = CaptureFacts::from_records(&records, captures[0]);
    let now = Utc::now();
    let post_json = json_bytes(&input.post, "the post")?;
    let hit_json = json_bytes(
        &serde_json::json!({"hit": input.hit, "history": input.history}),
        "the hit",
    )?;
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("evidence.warc.gz".into(), warc),
        ("post.json".into(), post_json),
        ("hit.json".into(), hit_json),
    ];
    let shots = shot_files(&dir, &all, input.hit.id)?;
    for (name, entry, bytes) in &shots.files {
        files.push((name.clone(), bytes.clone()));
        used.push(entry.clone());
    }
    if let Some(text) = &shots.missing {
        files.push(("SCREENSHOTS.txt".into(), text.clone().into_bytes()));
    }
    let context = match threads.first() {
        Some(e) => Some(ThreadContext::read(&dir, e, input)?),
        None => None,
    };
    let (recipients, kept) = Recipients::gather(&all, &input.hit.url, &input.send_to_notes, |e| {
        raw_range(&dir, e)
    })?;
    for (name, entry, bytes) in kept {
        files.push((name, bytes));
        used.push(entry);
    }
    let send_to = recipients.html(&capture.server_ip);
    let report = report_html(
        input,
        &capture,
        context.as_ref(),
        &shots,
        &used,
        &send_to,
        now,
    );
    files.push(("report.html".into(), report.into_bytes()));
    let manifest = Manifest {
        software: format!("mimamori/{}", env!("CARGO_PKG_VERSION")),
        created_at: crate::model::timestamp(now),
        hit_id: input.hit.id,
        files: files
            .iter()
            .map(|(name, bytes)| ManifestFile {
                name: name.clone(),
                size: bytes.len() as u64,
                sha256: ledger::sha256_hex(bytes),
            })
            .collect(),
        ledger_entries: used,
    };
    files.push((
        "manifest.json".into(),
        json_bytes(&manifest, "the manifest")?,
    ));
    if out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        let captured = DateTime::parse_from_rfc3339(&captures[0].captured_at)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        write_zip(out, &files, captured)?;
    } else {
        write_dir(out, &files)?;
    }
    Ok(manifest)
}

/// A fresh name beside `out` for the packet while it is written: a crash or an error leaves
/// that (`.<name>.partial-<uuid>`), never a half packet under the asked-for name.
fn partial_name(out: &Path) -> PathBuf {
    let name = out.file_name().map_or_else(
        || "packet".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    out.with_file_name(format!(".{name}.partial-{}", uuid::Uuid::new_v4()))
}

fn json_bytes<T: Serialize>(v: &T, what: &'static str) -> Result<Vec<u8>, EvidenceError> {
    serde_json::to_vec_pretty(v).map_err(|source| EvidenceError::Json { what, source })
}

fn raw_range(dir: &Path, e: &Entry) -> Result<Vec<u8>, EvidenceError> {
    use std::io::{Read, Seek, SeekFrom};
    let path = dir.join(&e.path);
    let mut f = std::fs::File::open(&path)
        .map_err(|err| EvidenceError::io(&path, "cannot open the evidence file", err))?;
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(e.offset))
        .and_then(|_| f.take(e.length).read_to_end(&mut buf))
        .map_err(|err| EvidenceError::io(&path, "cannot read the evidence file", err))?;
    if ledger::sha256_hex(&buf) != e.sha256 {
        return Err(EvidenceError::Altered { path, seq: e.seq });
    }
    Ok(buf)
}

/// The screenshot part of a packet.
#[derive(Debug, Default)]
struct ShotFiles {
    /// File name in the packet, its ledger entry, its bytes (hash checked).
    files: Vec<(String, Entry, Vec<u8>)>,
    /// The stamped PNG's name, SHA-256 and capture time (the newest capture).
    stamped: Option<(String, String, String)>,
    /// Why there is no screenshot (the text of `SCREENSHOTS.txt`).
    missing: Option<String>,
}

fn shot_files(dir: &Path, all: &[Entry], hit_id: i64) -> Result<ShotFiles, EvidenceError> {
    let mut out = ShotFiles::default();
    let mut notes = Vec::new();
    for e in screenshot::entries_of_hit(all, hit_id) {
        let bytes = raw_range(dir, e)?;
        let name = e.path.rsplit('/').next().unwrap_or(&e.path).to_string();
        if e.kind == screenshot::KIND_NOTE {
            notes.push(String::from_utf8_lossy(&bytes).into_owned());
            continue;
        }
        if e.kind == screenshot::KIND_STAMPED {
            out.stamped = Some((name.clone(), e.sha256.clone(), e.captured_at.clone()));
        }
        out.files.push((name, e.clone(), bytes));
    }
    if out.stamped.is_none() {
        let mut text =
            format!("スクリーンショット未取得 / no screenshot of hit {hit_id} was taken.\n\n");
        if notes.is_empty() {
            text.push_str(
                "No attempt is recorded in the ledger: screenshots were off (watch --no-screenshots, [evidence] screenshots = false), or the hit was found before the screenshot worker took it.\n",
            );
        } else {
            text.push_str("Recorded at the time:\n\n");
            for n in &notes {
                text.push_str(n);
                text.push('\n');
            }
        }
        if let Err(e) = screenshot::find_browser() {
            text.push_str(&format!("\nNow: {e}\n"));
        }
        text.push_str(&format!(
            "\nTo take one now (the page as it is now, not as it was when found): mimamori evidence screenshot {hit_id}\n"
        ));
        out.missing = Some(text);
    }
    Ok(out)
}

/// Writes the packet as a directory: into a temporary one beside `out`, renamed into place
/// when whole. `out` may be missing or an empty directory; a non-empty one is refused before
/// anything is written (files are never overwritten).
fn write_dir(out: &Path, files: &[(String, Vec<u8>)]) -> Result<(), EvidenceError> {
    match std::fs::read_dir(out) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(EvidenceError::io(
                    out,
                    "cannot write the packet here",
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "the directory is not empty (give a new or empty directory; files are never overwritten)",
                    ),
                ));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(EvidenceError::io(
                out,
                "cannot use as the packet directory",
                e,
            ));
        }
    }
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| EvidenceError::io(parent, "cannot create the directory", e))?;
    }
    let tmp = partial_name(out);
    let written = write_files(&tmp, files).and_then(|()| {
        // rename(2) replaces a missing or empty directory at once.
        std::fs::rename(&tmp, out)
            .map_err(|e| EvidenceError::io(out, "cannot move the packet into place", e))
    });
    if written.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), EvidenceError> {
    std::fs::create_dir(dir)
        .map_err(|e| EvidenceError::io(dir, "cannot create the packet directory", e))?;
    for (name, bytes) in files {
        let path = dir.join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                EvidenceError::io(&path, "cannot create (files are never overwritten)", e)
            })?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| EvidenceError::io(&path, "cannot write", e))?;
    }
    Ok(())
}

/// Writes the packet as a zip: into a temporary file beside `out`, then linked to `out` only
/// if no such file exists (never overwritten). Entries are dated `captured` (JST, the zip's
/// local time), not 1980-01-01.
fn write_zip(
    out: &Path,
    files: &[(String, Vec<u8>)],
    captured: DateTime<Utc>,
) -> Result<(), EvidenceError> {
    if out.exists() {
        return Err(EvidenceError::io(
            out,
            "cannot create (files are never overwritten)",
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    let tmp = partial_name(out);
    let written = write_zip_file(&tmp, out, files, captured).and_then(|()| {
        std::fs::hard_link(&tmp, out)
            .map_err(|e| EvidenceError::io(out, "cannot create (files are never overwritten)", e))
    });
    let _ = std::fs::remove_file(&tmp);
    written
}

fn write_zip_file(
    tmp: &Path,
    out: &Path,
    files: &[(String, Vec<u8>)],
    captured: DateTime<Utc>,
) -> Result<(), EvidenceError> {
    use chrono::{Datelike, Timelike};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)
        .map_err(|e| EvidenceError::io(tmp, "cannot create a temporary file", e))?;
    let mut zip = zip::ZipWriter::new(f);
    let t = captured.with_timezone(&jst());
    let stamp = zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).unwrap_or(1980),
        t.month() as u8,
        t.day() as u8,
        t.hour() as u8,
        t.minute() as u8,
        t.second() as u8,
    )
    .unwrap_or_default();
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(stamp);
    let zerr = |e: zip::result::ZipError| {
        EvidenceError::io(out, "cannot write the zip", std::io::Error::other(e))
    };
    for (name, bytes) in files {
        zip.start_file(name.as_str(), opts).map_err(zerr)?;
        zip.write_all(bytes)
            .map_err(|e| EvidenceError::io(out, "cannot write the zip", e))?;
    }
    let f = zip.finish().map_err(zerr)?;
    f.sync_all()
        .map_err(|e| EvidenceError::io(out, "cannot write the zip", e))
}

/// What the report says about the capture, read back from the WARC records.
#[derive(Debug, Clone, Default)]
struct CaptureFacts {
    url: String,
    captured_at: String,
    server_ip: String,
    user_agent: String,
    status: String,
    path: String,
    offset: u64,
    sha256: String,
    seq: u64,
}

impl CaptureFacts {
    fn from_records(records: &[u8], e: &Entry) -> CaptureFacts {
        let text = String::from_utf8_lossy(records);
        let field = |prefix: &str| {
            text.lines()
                .find(|l| {
                    l.to_ascii_lowercase()
                        .starts_with(&prefix.to_ascii_lowercase())
                })
                .map(|l| l[prefix.len()..].trim().to_string())
                .unwrap_or_default()
        };
        CaptureFacts {
            url: e.url.clone(),
            captured_at: e.captured_at.clone(),
            server_ip: field("WARC-IP-Address:"),
            user_agent: field("user-agent:"),
            status: text
                .lines()
                .find(|l| l.starts_with("HTTP/1.1 "))
                .unwrap_or_default()
                .to_string(),
            path: e.path.clone(),
            offset: e.offset,
            sha256: e.sha256.clone(),
            seq: e.seq,
        }
    }
}

/// The right each category infringes, as the takedown form words it.
fn rights(categories: &[String], person: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    for c in categories {
        out.push(match c.as_str() {
            "defamation" if person => (
                "名誉権（名誉毀損）",
                "具体的な事実を摘示して社会的評価を低下させる投稿であり、摘示された事実は真実ではなく、公共の利害に関する事実でもない。",
            ),
            "defamation" => (
                "名誉権・信用（名誉毀損・信用毀損）",
                "当社について虚偽の事実（詐欺・違法行為等）を摘示し、社会的評価及び信用を低下させる投稿である。",
            ),
            "insult" => (
                "名誉感情（侮辱）",
                "社会通念上許される限度を超える侮辱的表現であり、名誉感情を侵害する。",
            ),
            "threat" => (
                "平穏な生活を営む権利（脅迫）",
                "生命・身体・財産に危害を加える旨を告知する投稿であり、平穏な生活を営む権利を侵害する。",
            ),
            "personal_data" => (
                "プライバシー権",
                "本人の同意なく、電話番号・住所等の個人情報を公開するものであり、プライバシーを侵害する。",
            ),
            _ => continue,
        });
    }
    out
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS JST` (as given when it does not parse).
fn jst_of(t: &str) -> String {
    DateTime::parse_from_rfc3339(t)
        .map(|t| {
            t.with_timezone(&jst())
                .format("%Y-%m-%d %H:%M:%S JST")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_string())
}

/// The thread page captured with the post: where and when, and the posts it shows.
struct ThreadContext {
    url: String,
    captured_at: String,
    seq: u64,
    title: Option<String>,
    /// Number, name, date as shown, ID, body text.
    posts: Vec<(u64, String, String, Option<String>, String)>,
}

impl ThreadContext {
    fn read(dir: &Path, e: &Entry, input: &PacketInput) -> Result<ThreadContext, EvidenceError> {
        let records = read_entry(dir, e)?;
        let kind = input.post.as_ref().map_or("", |p| p.source_kind.as_str());
        let fallback = if kind == "shitaraba" {
            encoding_rs::EUC_JP
        } else {
            encoding_rs::SHIFT_JIS
        };
        let page = super::warc::response_block(&records)
            .and_then(|b| super::warc::response_text(b, fallback))
            .and_then(|html| crate::sources::thread_page(kind, &html))
            .unwrap_or_default();
        Ok(ThreadContext {
            url: e.url.clone(),
            captured_at: e.captured_at.clone(),
            seq: e.seq,
            title: page.title,
            posts: page
                .posts
                .into_iter()
                .map(|p| {
                    let body = crate::sources::fivech::board::body_to_text(&p.body_html);
                    (p.number, p.name, p.date_raw, p.author_id, body)
                })
                .collect(),
        })
    }

    /// The report's section: the posts around the hit's, as the captured page shows them.
    fn html(&self, number: Option<u64>) -> String {
        let mut s = String::from("<h2>1-2. 前後の投稿（スレッド・ページ）</h2>");
        s.push_str(&format!(
            "<p>{}（{}、台帳 #{}）の記載。★ が本件投稿。</p>",
            esc(&self.url),
            esc(&jst_of(&self.captured_at)),
            self.seq
        ));
        if let Some(t) = &self.title {
            s.push_str(&format!("<p>スレッド名：{}</p>", esc(t)));
        }
        if self.posts.is_empty() {
            s.push_str("<p class=\"warn\">保存したページから投稿を読み取れませんでした（WARC の原本を参照）。</p>");
            return s;
        }
        s.push_str("<table><tr><th>番号</th><th>投稿者・日時・ID</th><th>本文</th></tr>");
        for (n, name, date, id, body) in &self.posts {
            let mark = if Some(*n) == number { "★ " } else { "" };
            s.push_str(&format!(
                "<tr><td>{mark}{n}</td><td>{}<br>{} {}</td><td><pre>{}</pre></td></tr>",
                esc(name),
                esc(date),
                esc(id.as_deref().unwrap_or("")),
                esc(body)
            ));
        }
        s.push_str("</table>");
        s
    }
}

fn report_html(
    input: &PacketInput,
    cap: &CaptureFacts,
    context: Option<&ThreadContext>,
    shots: &ShotFiles,
    entries: &[Entry],
    send_to: &str,
    now: DateTime<Utc>,
) -> String {
    let h = &input.hit;
    let p = input.post.as_ref();
    let posted = p.and_then(|p| p.posted_at).or_else(|| {
        h.posted_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    });
    let d: Option<Deadlines> = posted.map(|t| deadlines::deadlines(t, "posted_at", now));
    let reported = input
        .history
        .iter()
        .find(|t| t.status == "reported")
        .and_then(|t| DateTime::parse_from_rfc3339(&t.at).ok());
    // Hits do not record the target's kind; personal data marks a person.
    let person = h.categories.iter().any(|c| c == "personal_data");
    let opt = |v: Option<&String>| esc(v.map(String::as_str).unwrap_or("（不明）"));
    let title = p.and_then(|p| p.thread_title.clone());
    let number = p
        .and_then(|p| p.number)
        .map_or_else(|| "（なし）".to_string(), |n| n.to_string());
    let body = p.map_or("", |p| p.body.as_str());
    let quoted: String = body.chars().take(400).collect();
    let mut s = String::new();
    s.push_str("<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>証拠保全報告書</title><style>body{font-family:sans-serif;max-width:52em;margin:2em auto;line-height:1.6;color:#111}h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.6em}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#eee;width:12em}pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:.6em;border:1px solid #ccc}.warn{color:#b00;font-weight:bold}@media print{body{margin:0}}</style></head><body>");
    s.push_str(&format!(
        "<h1>証拠保全報告書（ヒット #{}）</h1><p>作成: {} ・ mimamori/{}</p>",
        h.id,
        esc(&jst_of(&crate::model::timestamp(now))),
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str("<h2>1. 投稿（掲載情報）</h2><table>");
    let row = |s: &mut String, k: &str, v: String| {
        s.push_str(&format!("<tr><th>{k}</th><td>{v}</td></tr>"));
    };
    row(&mut s, "URL", esc(&h.url));
    row(&mut s, "スレッド・ページ", opt(title.as_ref()));
    row(&mut s, "投稿番号", esc(&number));
    row(
        &mut s,
        "投稿者名",
        opt(p.and_then(|p| p.author_name.as_ref())),
    );
    row(
        &mut s,
        "投稿者ID",
        opt(p.and_then(|p| p.author_id.as_ref())),
    );
    row(
        &mut s,
        "投稿日時（表示どおり）",
        opt(p.and_then(|p| p.posted_at_raw.as_ref())),
    );
    row(
        &mut s,
        "投稿日時（ISO 8601, JST）",
        esc(&posted.map_or("（不明）".to_string(), |t| {
            t.with_timezone(&jst()).to_rfc3339()
        })),
    );
    row(&mut s, "対象", esc(&h.target));
    row(
        &mut s,
        "分類・重大度",
        esc(&format!("{} / {}", h.categories.join(", "), h.severity)),
    );
    s.push_str("</table><p>本文：</p>");
    s.push_str(&format!("<pre>{}</pre>", esc(body)));
    match context {
        Some(c) => s.push_str(&c.html(p.and_then(|p| p.number))),
        None if p.is_some_and(|p| matches!(p.source_kind.as_str(), "5ch" | "shitaraba")) => {
            s.push_str("<h2>1-2. 前後の投稿（スレッド・ページ）</h2><p class=\"warn\">スレッド・ページは保存されていません（取得時に失敗。ソースの状態を参照）。</p>");
        }
        None => {}
    }
    s.push_str("<h2>2. 取得（保存）の記録</h2><table>");
    row(
        &mut s,
        "取得日時",
        esc(&format!(
            "{}（{} UTC）",
            jst_of(&cap.captured_at),
            cap.captured_at
        )),
    );
    row(&mut s, "取得したURL", esc(&cap.url));
    row(&mut s, "応答", esc(&cap.status));
    row(&mut s, "サーバIPアドレス", esc(&cap.server_ip));
    row(&mut s, "User-Agent", esc(&cap.user_agent));
    row(
        &mut s,
        "取得ツール",
        esc(&format!("mimamori/{}", env!("CARGO_PKG_VERSION"))),
    );
    row(
        &mut s,
        "保存形式",
        esc(&format!(
            "WARC/1.1（{} のオフセット {}、SHA-256 {}、台帳 #{}）。同梱の evidence.warc.gz は保存記録の複製で、manifest.json のハッシュ値で同一性を確認できる。",
            cap.path, cap.offset, cap.sha256, cap.seq
        )),
    );
    s.push_str("</table>");
    s.push_str("<h2>2-2. 画面の記録（スクリーンショット・PDF）</h2>");
    match &shots.stamped {
        Some((name, sha, at)) => {
            s.push_str(&format!(
                "<p>取得日時 {}（{} UTC）。上部の帯に URL・取得日時・ヒットID・元画像の SHA-256 を記載した複製（{}、SHA-256 {}）：</p><p><img src=\"{}\" alt=\"スクリーンショット\" style=\"max-width:100%;border:1px solid #999\"></p><table>",
                esc(&jst_of(at)),
                esc(at),
                esc(name),
                esc(sha),
                esc(name)
            ));
            for (name, e, _) in &shots.files {
                row(
                    &mut s,
                    &esc(&e.kind),
                    esc(&format!(
                        "{name}（{} bytes、SHA-256 {}、台帳 #{}）",
                        e.length, e.sha256, e.seq
                    )),
                );
            }
            s.push_str("</table>");
        }
        None => s.push_str(&format!(
            "<p class=\"warn\">スクリーンショットは取得されていない。</p><pre>{}</pre>",
            esc(shots.missing.as_deref().unwrap_or(""))
        )),
    }
    s.push_str("<h2>3. 期限</h2><table>");
    match &d {
        Some(d) => {
            let warn = if d.access_log.days_remaining < 30 {
                " class=\"warn\""
            } else {
                ""
            };
            row(
                &mut s,
                "アクセスログ保存の目安",
                format!(
                    "<span{warn}>{}（投稿から{}日、残り{}日）</span> — サイト・プロバイダのアクセスログは約3か月で消去されることが多い。発信者情報開示請求・ログ保存の依頼はこの日までに。",
                    esc(&d.access_log.date),
                    deadlines::ACCESS_LOG_DAYS,
                    d.access_log.days_remaining
                ),
            );
            row(
                &mut s,
                "外側の期限",
                format!(
                    "{}（投稿から{}か月、残り{}日）",
                    esc(&d.outer_limit.date),
                    deadlines::OUTER_LIMIT_MONTHS,
                    d.outer_limit.days_remaining
                ),
            );
        }
        None => row(
            &mut s,
            "アクセスログ保存の目安",
            "投稿日時が不明のため計算できない（取得日時から逆算して早急に）".into(),
        ),
    }
    match reported {
        Some(t) => {
            let w = deadlines::answer_window(t, now);
            row(
                &mut s,
                "送信防止措置依頼の回答期間",
                format!(
                    "依頼日 {} から{}日：{}（残り{}日）",
                    esc(&t.with_timezone(&jst()).format("%Y-%m-%d").to_string()),
                    deadlines::PROVIDER_ANSWER_DAYS,
                    esc(&w.date),
                    w.days_remaining
                ),
            );
        }
        None => row(
            &mut s,
            "送信防止措置依頼の回答期間",
            "未依頼（依頼後7日間、発信者への照会期間）".into(),
        ),
    }
    s.push_str("</table>");
    s.push_str(send_to);
    s.push_str("<h2>4. 送信防止措置依頼書（テレコムサービス協会書式）記入案</h2><table>");
    row(
        &mut s,
        "掲載されている場所",
        esc(&format!(
            "URL: {}　スレッド名: {}　投稿番号: {}",
            h.url,
            title.as_deref().unwrap_or("（なし）"),
            number
        )),
    );
    row(
        &mut s,
        "掲載されている情報",
        format!("「{}」", esc(&quoted)),
    );
    let r = rights(&h.categories, person);
    row(
        &mut s,
        "侵害されたとする権利",
        esc(&r.iter().map(|(k, _)| *k).collect::<Vec<_>>().join("、")),
    );
    row(
        &mut s,
        "権利が侵害されたとする理由（被害の状況など）",
        esc(&r.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" ")),
    );
    s.push_str("</table>");
    s.push_str("<h2>5. 発信者情報開示請求 チェックリスト</h2><ul>");
    for item in [
        "対象投稿のURL・投稿日時・投稿番号・投稿者ID（本報告書 1.）",
        "投稿の保存記録（evidence.warc.gz、report.html の印刷）とハッシュ値（manifest.json）",
        "権利侵害の明白性：摘示事実が真実でないこと、違法性阻却事由がないことの説明と資料",
        "開示を受けるべき正当な理由（損害賠償請求・差止請求の予定など）",
        "コンテンツプロバイダ（サイト運営者）の特定：WHOIS/RDAP・運営者情報ページ",
        "アクセスログ保存期限（3.）までの申立て：発信者情報開示命令・提供命令・消去禁止命令の検討",
        "経由プロバイダ判明後のログ保存依頼",
    ] {
        s.push_str(&format!("<li>☐ {}</li>", esc(item)));
    }
    s.push_str("</ul>");
    s.push_str("<h2>6. 証拠説明書（案）</h2><table><tr><th>号証</th><th>標目</th><th>原本・写しの別</th><th>作成日</th><th>作成者</th><th>立証趣旨</th></tr>");
    let made = jst_of(&cap.captured_at);
    s.push_str(&format!(
        "<tr><td>甲第　号証</td><td>{}</td><td>写し</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        esc(&format!(
            "ウェブページ「{}」の保存記録（WARC）及びその印刷",
            title.as_deref().unwrap_or(&h.url)
        )),
        esc(made.get(..10).unwrap_or(&made)),
        esc("申立人（mimamori による自動取得）"),
        esc(&format!(
            "{}に、{}において、{}について「{}」との投稿が掲載されていた事実",
            posted.map_or("（日時不明）".to_string(), |t| t.with_timezone(&jst()).format("%Y年%m月%d日%H時%M分").to_string()),
            h.url,
            h.target,
            quoted.chars().take(80).collect::<String>()
        ))
    ));
    s.push_str("<h2>7. 同梱ファイルと台帳</h2><p>manifest.json に各ファイルの SHA-256 を記載。台帳（ledger.jsonl）の該当エントリ：</p><ul>");
    for e in entries {
        s.push_str(&format!(
            "<li>#{} {} {} bytes {}+{} SHA-256 {}</li>",
            e.seq,
            esc(&e.kind),
            esc(&e.path),
            e.offset,
            e.length,
            esc(&e.sha256)
        ));
    }
    s.push_str("</ul><p>検証: <code>mimamori evidence verify</code> が保存記録全体と台帳のハッシュ連鎖を再計算する。</p></body></html>");
    s
}

/// The default packet location for hit `id`: `hit-<id>-<YYYYMMDDhhmmss>` in the current
/// directory.
pub fn default_out(id: i64) -> PathBuf {
    PathBuf::from(format!("hit-{id}-{}", Utc::now().format("%Y%m%d%H%M%S")))
}
