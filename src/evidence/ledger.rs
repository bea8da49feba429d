//! The evidence ledger, `<data>/evidence/ledger.jsonl`: one JSON line per piece of evidence
//! written, each holding the SHA-256 of the bytes it covers and of the line before it, so a
//! change to any evidence byte or any earlier line breaks the chain from there on.
//!
//! A WARC file grows by whole records during its day, so an entry covers a byte *range*
//! (`offset`, `length`) of a file: bytes once written are never rewritten, and `verify`
//! re-hashes every range. Other evidence files (screenshots, PDFs, their notes) are entries with
//! offset 0 and their whole length, and name the hit they are for (`hit_id`).
//!
//! More than one process may append (`watch` and a hand-run `evidence screenshot`): each append
//! holds an exclusive lock on the ledger file and first reads the lines others added since, so
//! the chain stays one chain.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::EvidenceError;

/// The ledger file name inside the evidence directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the ledger, from 1.
    pub seq: u64,
    /// The evidence file, relative to the evidence directory (`warc/…`).
    pub path: String,
    /// Where the covered bytes start in it.
    pub offset: u64,
    /// How many bytes are covered.
    pub length: u64,
    /// SHA-256 (hex) of the covered bytes.
    pub sha256: String,
    /// When they were captured (RFC 3339 UTC).
    pub captured_at: String,
    /// What they are: `warc` (records of one capture), `screenshot`, …
    pub kind: String,
    /// The URL captured.
    pub url: String,
    /// Keys of the posts this evidence is for.
    pub post_keys: Vec<String>,
    /// The WARC record ids written (for `warc` entries).
    #[serde(default)]
    pub record_ids: Vec<String>,
    /// The hit this evidence is for (screenshots, PDFs and their notes; absent on WARC
    /// entries, which are per response and name their posts instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hit_id: Option<i64>,
    /// SHA-256 (hex) of the previous ledger line ([`GENESIS`] for the first).
    pub prev: String,
}

/// An entry before it is chained.
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// See [`Entry::path`].
    pub path: String,
    /// See [`Entry::offset`].
    pub offset: u64,
    /// The covered bytes (hashed here).
    pub bytes_sha256: String,
    /// See [`Entry::length`].
    pub length: u64,
    /// See [`Entry::captured_at`].
    pub captured_at: String,
    /// See [`Entry::kind`].
    pub kind: String,
    /// See [`Entry::url`].
    pub url: String,
    /// See [`Entry::post_keys`].
    pub post_keys: Vec<String>,
    /// See [`Entry::record_ids`].
    pub record_ids: Vec<String>,
    /// See [`Entry::hit_id`].
    pub hit_id: Option<i64>,
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The ledger of one evidence directory; appends are serialized by the caller.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    last_hash: String,
    seq: u64,
    /// Bytes of the file read into `last_hash` and `seq` (always at a line boundary).
    len: u64,
}

impl Ledger {
    /// Opens (or starts) the ledger in `dir`, reading it to find the chain's head.
    pub fn open(dir: &Path) -> Result<Ledger, EvidenceError> {
        let path = dir.join(LEDGER_FILE);
        let mut ledger = Ledger {
            path: path.clone(),
            last_hash: GENESIS.to_string(),
            seq: 0,
            len: 0,
        };
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ledger),
            Err(e) => return Err(EvidenceError::io(&path, "cannot read the ledger", e)),
        };
        ledger.catch_up(&mut file)?;
        Ok(ledger)
    }

    /// Reads the lines appended after `len` (by this or another process) into the chain head.
    fn catch_up(&mut self, file: &mut File) -> Result<(), EvidenceError> {
        let mut rest = Vec::new();
        file.seek(SeekFrom::Start(self.len))
            .and_then(|_| file.read_to_end(&mut rest))
            .map_err(|e| EvidenceError::io(&self.path, "cannot read the ledger", e))?;
        // Only whole lines: a line being written by a crashed process is not part of the chain.
        let whole = rest.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        for line in rest[..whole].split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            self.last_hash = sha256_hex(line);
            self.seq += 1;
        }
        self.len += whole as u64;
        Ok(())
    }

    /// Appends one entry (flushed and synced before it returns) and returns it.
    pub fn append(&mut self, e: NewEntry) -> Result<Entry, EvidenceError> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| EvidenceError::io(&self.path, "cannot open the ledger", e))?;
        // Held until `file` closes at the end of this call.
        fs4::fs_std::FileExt::lock_exclusive(&file)
            .map_err(|e| EvidenceError::io(&self.path, "cannot lock the ledger", e))?;
        self.catch_up(&mut file)?;
        let entry = Entry {
            seq: self.seq + 1,
            path: e.path,
            offset: e.offset,
            length: e.length,
            sha256: e.bytes_sha256,
            captured_at: e.captured_at,
            kind: e.kind,
            url: e.url,
            post_keys: e.post_keys,
            record_ids: e.record_ids,
            hit_id: e.hit_id,
            prev: self.last_hash.clone(),
        };
        let line = serde_json::to_string(&entry).map_err(|e| EvidenceError::Json {
            what: "a ledger entry",
            source: e,
        })?;
        let bytes = format!("{line}\n");
        file.write_all(bytes.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| EvidenceError::io(&self.path, "cannot write the ledger", e))?;
        self.last_hash = sha256_hex(line.as_bytes());
        self.seq += 1;
        self.len += bytes.len() as u64;
        Ok(entry)
    }
}

/// Every entry of the ledger in `dir`, in order (an unreadable line is an error naming it).
pub fn entries(dir: &Path) -> Result<Vec<Entry>, EvidenceError> {
    let path = dir.join(LEDGER_FILE);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EvidenceError::io(&path, "cannot read the ledger", e)),
    };
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| EvidenceError::io(&path, "cannot read the ledger", e))?;
        if line.is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).map_err(|e| EvidenceError::Ledger {
                path: path.clone(),
                line: i + 1,
                message: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Evidence bytes re-hashed.
    pub bytes: u64,
    /// The first break, if any: ledger line and what is wrong.
    pub first_break: Option<(u64, String)>,
}

/// Re-hashes every range the ledger in `dir` covers and checks the chain; stops at the first
/// break.
pub fn verify(dir: &Path) -> Result<VerifyReport, EvidenceError> {
    let path = dir.join(LEDGER_FILE);
    let mut report = VerifyReport::default();
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(report),
        Err(e) => return Err(EvidenceError::io(&path, "cannot read the ledger", e)),
    };
    let mut prev = GENESIS.to_string();
    let mut buf = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|e| EvidenceError::io(&path, "cannot read the ledger", e))?;
        if line.is_empty() {
            continue;
        }
        let fail = |why: String| {
            Ok(VerifyReport {
                first_break: Some((n, why)),
                ..report.clone()
            })
        };
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(e) => return fail(format!("ledger line is not a valid entry: {e}")),
        };
        if entry.prev != prev {
            return fail(format!(
                "chain broken: entry {} says the previous line hashes to {}, it hashes to {prev}",
                entry.seq, entry.prev
            ));
        }
        let file_path = dir.join(&entry.path);
        let mut f = match File::open(&file_path) {
            Ok(f) => f,
            Err(e) => return fail(format!("{}: cannot open: {e}", file_path.display())),
        };
        buf.clear();
        let read = f
            .seek(SeekFrom::Start(entry.offset))
            .and_then(|_| (&mut f).take(entry.length).read_to_end(&mut buf));
        match read {
            Ok(got) if got as u64 == entry.length => {}
            Ok(got) => {
                return fail(format!(
                    "{}: {} bytes at offset {} expected, only {got} there (truncated)",
                    file_path.display(),
                    entry.length,
                    entry.offset
                ));
            }
            Err(e) => return fail(format!("{}: cannot read: {e}", file_path.display())),
        }
        let got = sha256_hex(&buf);
        if got != entry.sha256 {
            return fail(format!(
                "{}: bytes {}..{} hash to {got}, the ledger recorded {} (the evidence was altered)",
                file_path.display(),
                entry.offset,
                entry.offset + entry.length,
                entry.sha256
            ));
        }
        report.entries += 1;
        report.bytes += entry.length;
        prev = sha256_hex(line.as_bytes());
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> NewEntry {
        NewEntry {
            path: path.to_string(),
            bytes_sha256: sha256_hex(b""),
            kind: "screenshot-note".into(),
            ..NewEntry::default()
        }
    }

    #[test]
    fn two_writers_on_one_ledger_keep_one_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("empty"), b"").expect("evidence file");
        // As `watch` and a hand-run `evidence screenshot` would: each opened before the other
        // appended.
        let mut a = Ledger::open(dir.path()).expect("a");
        let mut b = Ledger::open(dir.path()).expect("b");
        assert_eq!(a.append(entry("empty")).expect("a1").seq, 1);
        assert_eq!(b.append(entry("empty")).expect("b1").seq, 2);
        assert_eq!(a.append(entry("empty")).expect("a2").seq, 3);
        let report = verify(dir.path()).expect("verify");
        assert_eq!((report.entries, report.first_break), (3, None));
        assert_eq!(Ledger::open(dir.path()).expect("reopen").seq, 3);
    }
}
