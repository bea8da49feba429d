//! Evidence: the HTTP exchanges flagged posts came from, kept as WARC/1.1 records in
//! `<data>/evidence/warc/` and chained into `<data>/evidence/ledger.jsonl`.
//!
//! Why at fetch time and before the commit: a post may be deleted minutes after it is found,
//! and once a poll is committed its cursor has moved on — the response would never be fetched
//! again. So the watch loop captures a poll's flagged responses first and commits after; a
//! crash in between re-polls and captures again (a duplicate record, never a missing one).
//! If the capture fails (disk full), the poll fails and nothing is committed.
//!
//! Per capture (one response that produced flagged posts) one append to the day's file
//! `warc/mimamori-YYYYMMDD.warc.gz` (UTC day; a new file starts with a `warcinfo` record):
//! `request`, `response` (the body as received, see [`warc`]) and `metadata` (the extracted
//! posts and their analyses as JSON), each its own gzip member, then one ledger entry covering
//! exactly those bytes. Bytes once written are never rewritten.

pub mod deadlines;
pub mod export;
pub mod ledger;
pub mod screenshot;
pub mod sendto;
pub mod warc;

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::analyze::Analysis;
use crate::fetch::FetchResponse;
use crate::model::Post;
use crate::sources::Capture;
pub use ledger::{Entry, Ledger, VerifyReport};
use warc::Record;

/// The evidence directory inside the data directory.
pub const EVIDENCE_DIR: &str = "evidence";
/// Where the WARC files go inside the evidence directory.
pub const WARC_DIR: &str = "warc";
/// Ledger kind of a thread page captured with a flagged post (its read.cgi page, with the
/// posts around it).
pub const KIND_THREAD: &str = "thread";

/// What went wrong with evidence; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file operation failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Something could not be serialized.
    #[error("cannot serialize {what}: {source}")]
    Json {
        /// What.
        what: &'static str,
        /// The error.
        source: serde_json::Error,
    },
    /// The hit has no captured evidence.
    #[error(
        "hit {hit} has no captured evidence in {dir} (it was found before evidence capture, or by a source that keeps none)"
    )]
    NoEvidence {
        /// The hit id.
        hit: i64,
        /// The evidence directory.
        dir: PathBuf,
    },
    /// Evidence bytes no longer match their ledger hash.
    #[error(
        "{path}: the bytes of ledger entry {seq} were altered (run `mimamori evidence verify`)"
    )]
    Altered {
        /// The file.
        path: PathBuf,
        /// The ledger entry.
        seq: u64,
    },
    /// A ledger line is not an entry.
    #[error("{path}:{line}: not a ledger entry: {message} (run `mimamori evidence verify`)")]
    Ledger {
        /// The ledger file.
        path: PathBuf,
        /// Line number.
        line: usize,
        /// The parse error.
        message: String,
    },
}

impl EvidenceError {
    fn io(path: &Path, what: &'static str, source: std::io::Error) -> EvidenceError {
        EvidenceError::Io {
            path: path.to_path_buf(),
            what,
            source,
        }
    }
}

/// The evidence directory of data directory `data`.
pub fn evidence_dir(data: &Path) -> PathBuf {
    data.join(EVIDENCE_DIR)
}

/// Writes evidence for one data directory (one per process; appends are serialized).
#[derive(Debug)]
pub struct Evidence {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    ledger: Ledger,
    /// `warcinfo` record id of each day file this process started.
    warcinfo: HashMap<String, String>,
}

impl Evidence {
    /// Opens (creating) `<data>/evidence/` and sets aside the torn tails a crash mid-write left
    /// (the ledger's last line, WARC bytes past the last recorded range; see [`ledger`]).
    pub fn open(data: &Path) -> Result<Evidence, EvidenceError> {
        let dir = evidence_dir(data);
        let warc_dir = dir.join(WARC_DIR);
        std::fs::create_dir_all(&warc_dir)
            .map_err(|e| EvidenceError::io(&dir, "cannot create the evidence directory", e))?;
        let mut ledger = Ledger::open(&dir)?;
        let mut shared: Vec<String> = std::fs::read_dir(&warc_dir)
            .map_err(|e| EvidenceError::io(&warc_dir, "cannot list the WARC files", e))?
            .flatten()
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".warc.gz"))
            .map(|name| format!("{WARC_DIR}/{name}"))
            .collect();
        shared.sort();
        ledger.recover(&shared)?;
        Ok(Evidence {
            dir,
            state: Mutex::new(State {
                ledger,
                warcinfo: HashMap::new(),
            }),
        })
    }

    /// The evidence directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes one whole evidence file at `rel` (relative to the evidence directory; parents
    /// created) — create-new, so an existing file is never replaced — syncs it and appends its
    /// ledger entry (offset 0, whole length). `entry.path`, `offset`, `length` and
    /// `bytes_sha256` are filled in here.
    pub fn add_file(
        &self,
        rel: &str,
        bytes: &[u8],
        entry: ledger::NewEntry,
    ) -> Result<Entry, EvidenceError> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| EvidenceError::io(parent, "cannot create the directory", e))?;
        }
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                EvidenceError::io(&path, "cannot create (evidence is never overwritten)", e)
            })?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| EvidenceError::io(&path, "cannot write", e))?;
        state.ledger.append(ledger::NewEntry {
            path: rel.to_string(),
            offset: 0,
            length: bytes.len() as u64,
            bytes_sha256: ledger::sha256_hex(bytes),
            ..entry
        })
    }

    /// Captures every response in `captures` that produced one of the `flagged` posts, and
    /// every thread page in `context` that shows one ([`Source::context_request`](crate::sources::Source::context_request)):
    /// request, response and metadata records, one ledger entry each (kind `warc`, and
    /// [`KIND_THREAD`] for the thread pages). Returns the entries.
    pub fn capture(
        &self,
        captures: &[Capture],
        context: &[Capture],
        flagged: &[(&Post, &Analysis)],
    ) -> Result<Vec<Entry>, EvidenceError> {
        let by_key: HashMap<&str, (&Post, &Analysis)> = flagged
            .iter()
            .map(|(p, a)| (p.key.as_str(), (*p, *a)))
            .collect();
        let mut out = Vec::new();
        for capture in captures {
            let posts: Vec<(&Post, &Analysis)> = capture
                .post_keys
                .iter()
                .filter_map(|k| by_key.get(k.as_str()).copied())
                .collect();
            if posts.is_empty() {
                continue;
            }
            out.push(self.capture_one(capture, &posts, "warc")?);
        }
        for capture in context {
            let posts: Vec<(&Post, &Analysis)> = capture
                .post_keys
                .iter()
                .filter_map(|k| by_key.get(k.as_str()).copied())
                .collect();
            if !posts.is_empty() {
                out.push(self.capture_one(capture, &posts, KIND_THREAD)?);
            }
        }
        Ok(out)
    }

    fn capture_one(
        &self,
        capture: &Capture,
        posts: &[(&Post, &Analysis)],
        kind: &str,
    ) -> Result<Entry, EvidenceError> {
        let r = &capture.response;
        let meta = serde_json::json!({
            "software": format!("mimamori/{}", env!("CARGO_PKG_VERSION")),
            "fetched_at": crate::store::timestamp(r.fetched_at),
            "status": r.status,
            "posts": posts.iter().map(|(p, a)| serde_json::json!({"post": p, "analysis": a})).collect::<Vec<_>>(),
        });
        let keys = posts.iter().map(|(p, _)| p.key.clone()).collect();
        self.append_exchange(r, &meta, kind, keys)
    }

    /// Keeps a re-check's response (see [`crate::recheck`]) as request, response and metadata
    /// records; the metadata says what the re-check concluded. Ledger kind `recheck`.
    pub fn capture_recheck(
        &self,
        response: &FetchResponse,
        post: &Post,
        state: &str,
        detail: &str,
    ) -> Result<Entry, EvidenceError> {
        let meta = serde_json::json!({
            "software": format!("mimamori/{}", env!("CARGO_PKG_VERSION")),
            "fetched_at": crate::store::timestamp(response.fetched_at),
            "status": response.status,
            "recheck": {"post_key": post.key, "url": post.url, "state": state, "detail": detail},
        });
        self.append_exchange(response, &meta, "recheck", vec![post.key.clone()])
    }

    /// Appends one exchange (and the day's `warcinfo` first, for a new day file) and its
    /// ledger entry.
    fn append_exchange(
        &self,
        r: &FetchResponse,
        meta: &serde_json::Value,
        kind: &str,
        post_keys: Vec<String>,
    ) -> Result<Entry, EvidenceError> {
        let day = r.fetched_at.format("%Y%m%d").to_string();
        let name = format!("mimamori-{day}.warc.gz");
        let rel = format!("{WARC_DIR}/{name}");
        let path = self.dir.join(&rel);
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let State { ledger, warcinfo } = &mut *state;
        // Held from reading the file's end until the entry is in the ledger, so no other
        // process takes these bytes for a torn tail.
        let mut lk = ledger.lock()?;
        lk.set_aside_unrecorded(&rel)?;
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| EvidenceError::io(&path, "cannot open the WARC file", e))?;
        let mut offset = f
            .metadata()
            .map_err(|e| EvidenceError::io(&path, "cannot read the WARC file size", e))?
            .len();
        if offset == 0 {
            let info = warcinfo_record(&name, r.fetched_at);
            let bytes = info
                .to_gzip()
                .map_err(|e| EvidenceError::io(&path, "cannot compress a record", e))?;
            f.write_all(&bytes)
                .and_then(|()| f.sync_data())
                .map_err(|e| EvidenceError::io(&path, "cannot write the WARC file", e))?;
            lk.append(ledger::NewEntry {
                path: rel.clone(),
                offset: 0,
                length: bytes.len() as u64,
                bytes_sha256: ledger::sha256_hex(&bytes),
                captured_at: crate::store::timestamp(r.fetched_at),
                kind: "warcinfo".into(),
                record_ids: vec![info.id.clone()],
                ..ledger::NewEntry::default()
            })?;
            offset = bytes.len() as u64;
            warcinfo.insert(day.clone(), info.id);
        }
        let warcinfo_id = warcinfo.get(&day).cloned();
        let records = exchange_records(r, meta, warcinfo_id)?;
        let mut bytes = Vec::new();
        for rec in &records {
            bytes.extend(
                rec.to_gzip()
                    .map_err(|e| EvidenceError::io(&path, "cannot compress a record", e))?,
            );
        }
        f.write_all(&bytes)
            .and_then(|()| f.sync_data())
            .map_err(|e| EvidenceError::io(&path, "cannot write the WARC file", e))?;
        lk.append(ledger::NewEntry {
            path: rel,
            offset,
            length: bytes.len() as u64,
            bytes_sha256: ledger::sha256_hex(&bytes),
            captured_at: crate::store::timestamp(r.fetched_at),
            kind: kind.into(),
            url: r.url.to_string(),
            post_keys,
            record_ids: records.iter().map(|r| r.id.clone()).collect(),
            ..ledger::NewEntry::default()
        })
    }
}

/// The `warcinfo` record that starts a day file.
fn warcinfo_record(filename: &str, date: DateTime<Utc>) -> Record {
    let body = format!(
        "software: mimamori/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\ndescription: evidence of posts flagged by mimamori, captured when they were fetched\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut r = Record::new(
        "warcinfo",
        date,
        "application/warc-fields",
        body.into_bytes(),
    );
    r.filename = Some(filename.to_string());
    r
}

/// The request, response and metadata records of one capture.
pub(crate) fn exchange_records(
    r: &FetchResponse,
    meta: &serde_json::Value,
    warcinfo_id: Option<String>,
) -> Result<Vec<Record>, EvidenceError> {
    let (block, payload_at) = warc::http_response(r.status, &r.headers, &r.body);
    let mut response = Record::new(
        "response",
        r.fetched_at,
        "application/http; msgtype=response",
        block,
    );
    response.target_uri = Some(r.url.to_string());
    response.ip = r.remote_addr.map(|a| a.ip().to_string());
    response.payload_offset = Some(payload_at);
    response.warcinfo_id = warcinfo_id.clone();

    let block = warc::http_request(&r.url, &r.request_headers);
    let mut request = Record::new(
        "request",
        r.fetched_at,
        "application/http; msgtype=request",
        block,
    );
    request.target_uri = response.target_uri.clone();
    request.concurrent_to = Some(response.id.clone());
    request.payload_offset = Some(request.block.len());
    request.warcinfo_id = warcinfo_id.clone();

    let block = serde_json::to_vec_pretty(meta).map_err(|e| EvidenceError::Json {
        what: "capture metadata",
        source: e,
    })?;
    let mut metadata = Record::new("metadata", r.fetched_at, "application/json", block);
    metadata.target_uri = response.target_uri.clone();
    metadata.refers_to = Some(response.id.clone());
    metadata.concurrent_to = Some(response.id.clone());
    metadata.warcinfo_id = warcinfo_id;
    Ok(vec![request, response, metadata])
}

/// The decompressed records (concatenated gzip members) of one ledger entry.
pub fn read_entry(dir: &Path, entry: &Entry) -> Result<Vec<u8>, EvidenceError> {
    let path = dir.join(&entry.path);
    let mut f = std::fs::File::open(&path)
        .map_err(|e| EvidenceError::io(&path, "cannot open the WARC file", e))?;
    let mut raw = Vec::new();
    std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(entry.offset))
        .and_then(|_| f.take(entry.length).read_to_end(&mut raw))
        .map_err(|e| EvidenceError::io(&path, "cannot read the WARC file", e))?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| EvidenceError::io(&path, "cannot decompress the WARC records", e))?;
    Ok(out)
}
