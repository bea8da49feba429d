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
//! the chain stays one chain. A writer of a shared file (a day's WARC) holds the same lock from
//! the moment it looks at the file's end until its entry is in the ledger ([`Ledger::lock`]).
//!
//! The ledger is the commit point of evidence: bytes no entry covers were never committed. A
//! crash part-way through a write leaves a *torn tail* — half a ledger line, or WARC bytes past
//! the last range an entry covers. Under the lock such a tail is set aside (see
//! [`crate::durable`]): copied to `<file>.<offset>.torn`, hashed into the ledger as an entry of
//! kind [`KIND_TORN`] that says where the bytes were cut from, then cut from the file, so the
//! next record starts on a clean boundary and `verify` and WARC readers see whole records only.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::EvidenceError;
use crate::durable;

/// The ledger file name inside the evidence directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Ledger kind of an entry that keeps a torn tail: bytes cut from the end of an evidence file
/// or of the ledger after a crash mid-write (see [`Entry::torn_from`]).
pub const KIND_TORN: &str = "torn";

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
    /// What they are: `warc` (records of one capture), `screenshot`, [`KIND_TORN`], …
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
    /// For a [`KIND_TORN`] entry: the file the bytes were cut from and where they started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torn_from: Option<TornFrom>,
    /// SHA-256 (hex) of the previous ledger line ([`GENESIS`] for the first).
    pub prev: String,
}

/// Where the bytes of a torn-tail entry were cut from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TornFrom {
    /// The file, relative to the evidence directory (`warc/…` or the ledger itself).
    pub path: String,
    /// The offset in it where the torn bytes started (its length once they were cut).
    pub offset: u64,
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
    /// See [`Entry::torn_from`].
    pub torn_from: Option<TornFrom>,
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The part of a ledger line that says which bytes it covers.
#[derive(Deserialize)]
struct Range {
    path: String,
    offset: u64,
    length: u64,
}

/// The ledger of one evidence directory; appends are serialized by the caller.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    path: PathBuf,
    last_hash: String,
    seq: u64,
    /// Bytes of the file read into `last_hash` and `seq` (always at a line boundary).
    len: u64,
    /// For each file an entry covers, where the last covered range ends.
    ends: HashMap<String, u64>,
}

impl Ledger {
    /// Opens (or starts) the ledger in `dir`, reading it to find the chain's head. Opening
    /// changes nothing: torn tails are set aside by the first [`Ledger::lock`] or by
    /// [`Ledger::recover`].
    pub fn open(dir: &Path) -> Result<Ledger, EvidenceError> {
        let path = dir.join(LEDGER_FILE);
        let mut ledger = Ledger {
            dir: dir.to_path_buf(),
            path: path.clone(),
            last_hash: GENESIS.to_string(),
            seq: 0,
            len: 0,
            ends: HashMap::new(),
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
    /// Returns the length of the file: more than `len` when it ends in a partial line.
    fn catch_up(&mut self, file: &mut File) -> Result<u64, EvidenceError> {
        let mut rest = Vec::new();
        file.seek(SeekFrom::Start(self.len))
            .and_then(|_| file.read_to_end(&mut rest))
            .map_err(|e| EvidenceError::io(&self.path, "cannot read the ledger", e))?;
        // Only whole lines: a line being written by a crashed process is not part of the chain.
        let whole = durable::whole_lines(&rest);
        for line in rest[..whole].split(|b| *b == b'\n') {
            if line.is_empty() {
                continue;
            }
            self.last_hash = sha256_hex(line);
            self.seq += 1;
            if let Ok(r) = serde_json::from_slice::<Range>(line) {
                let end = self.ends.entry(r.path).or_insert(0);
                *end = (*end).max(r.offset + r.length);
            }
        }
        self.len += whole as u64;
        Ok(self.len + (rest.len() - whole) as u64)
    }

    /// Takes the ledger's exclusive file lock (held until the guard drops), reads what other
    /// processes appended, and sets aside a torn last line. A writer of a shared evidence file
    /// holds the guard while it reads the file's end, writes and appends its entry.
    pub fn lock(&mut self) -> Result<Locked<'_>, EvidenceError> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| EvidenceError::io(&self.path, "cannot open the ledger", e))?;
        fs4::fs_std::FileExt::lock_exclusive(&file)
            .map_err(|e| EvidenceError::io(&self.path, "cannot lock the ledger", e))?;
        let file_len = self.catch_up(&mut file)?;
        let mut locked = Locked {
            ledger: self,
            file,
            torn: Vec::new(),
        };
        if file_len > locked.ledger.len {
            // The ledger itself cannot take an entry before its tail is cut: copy, cut, record.
            let from = locked.ledger.len;
            let path = locked.ledger.path.clone();
            let torn = durable::set_aside(&path, from).map_err(|e| {
                EvidenceError::io(&path, "cannot set aside the ledger's torn tail", e)
            })?;
            if let Some(torn) = torn {
                locked.record_torn(&torn, LEDGER_FILE)?;
            }
        }
        Ok(locked)
    }

    /// Appends one entry (flushed and synced before it returns) and returns it.
    pub fn append(&mut self, e: NewEntry) -> Result<Entry, EvidenceError> {
        self.lock()?.append(e)
    }

    /// Sets aside every torn tail of the evidence directory: the ledger's last line, bytes
    /// past the last covered range of every file in `shared` (relative to the evidence
    /// directory; files of one day that grow by ranges), and the ledger's own torn copies a
    /// crash left unrecorded. Returns the entries written, one per tail.
    pub fn recover(&mut self, shared: &[String]) -> Result<Vec<Entry>, EvidenceError> {
        let mut lk = self.lock()?;
        for rel in shared {
            lk.set_aside_unrecorded(rel)?;
        }
        // A crash between cutting the ledger and recording the copy leaves a `.torn` file of
        // the ledger that no entry covers yet.
        let prefix = format!("{LEDGER_FILE}.");
        let mut orphans = Vec::new();
        if let Ok(read) = std::fs::read_dir(&lk.ledger.dir) {
            for name in read
                .flatten()
                .map(|d| d.file_name().to_string_lossy().into_owned())
            {
                if name.starts_with(&prefix)
                    && name.ends_with(".torn")
                    && !lk.ledger.ends.contains_key(&name)
                {
                    orphans.push(name);
                }
            }
        }
        orphans.sort();
        for name in orphans {
            let path = lk.ledger.dir.join(&name);
            let bytes = std::fs::read(&path)
                .map_err(|e| EvidenceError::io(&path, "cannot read a torn tail", e))?;
            let from = name[prefix.len()..]
                .split('.')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let torn = durable::Torn { path, from, bytes };
            lk.record_torn(&torn, LEDGER_FILE)?;
        }
        Ok(std::mem::take(&mut lk.torn))
    }
}

/// The ledger under its exclusive file lock (see [`Ledger::lock`]).
#[derive(Debug)]
pub struct Locked<'a> {
    ledger: &'a mut Ledger,
    file: File,
    /// Torn-tail entries written while locked, not yet handed out.
    torn: Vec<Entry>,
}

impl Locked<'_> {
    /// Where the last range the ledger covers in `rel` ends (0 when none does): the length the
    /// file had when its last record was committed.
    pub fn end_of(&self, rel: &str) -> u64 {
        self.ledger.ends.get(rel).copied().unwrap_or(0)
    }

    /// Appends one entry (flushed and synced before it returns) and returns it.
    pub fn append(&mut self, e: NewEntry) -> Result<Entry, EvidenceError> {
        let ledger = &mut *self.ledger;
        let entry = Entry {
            seq: ledger.seq + 1,
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
            torn_from: e.torn_from,
            prev: ledger.last_hash.clone(),
        };
        let line = serde_json::to_string(&entry).map_err(|e| EvidenceError::Json {
            what: "a ledger entry",
            source: e,
        })?;
        let bytes = format!("{line}\n");
        if let Err(e) = self
            .file
            .write_all(bytes.as_bytes())
            .and_then(|()| self.file.sync_data())
        {
            // Part of the line may be on disk: `len` still ends before it, so the next lock
            // sets it aside.
            return Err(EvidenceError::io(
                &ledger.path,
                "cannot write the ledger",
                e,
            ));
        }
        ledger.last_hash = sha256_hex(line.as_bytes());
        ledger.seq += 1;
        ledger.len += bytes.len() as u64;
        let end = ledger.ends.entry(entry.path.clone()).or_insert(0);
        *end = (*end).max(entry.offset + entry.length);
        Ok(entry)
    }

    /// Sets aside the bytes of `rel` (relative to the evidence directory) past the last range
    /// the ledger covers: copies them to a `.torn` file, records it, then cuts the file back to
    /// its last committed record. Returns the torn entry, or `None` when there was no tail.
    pub fn set_aside_unrecorded(&mut self, rel: &str) -> Result<Option<Entry>, EvidenceError> {
        let path = self.ledger.dir.join(rel);
        let end = self.end_of(rel);
        let len = durable::len(&path)
            .map_err(|e| EvidenceError::io(&path, "cannot read the file size", e))?;
        if len <= end {
            return Ok(None);
        }
        let torn = durable::copy_tail(&path, end)
            .map_err(|e| EvidenceError::io(&path, "cannot set aside a torn tail", e))?;
        let Some(torn) = torn else {
            return Ok(None);
        };
        let entry = self.record_torn(&torn, rel)?;
        durable::cut(&path, end)
            .map_err(|e| EvidenceError::io(&path, "cannot cut a torn tail", e))?;
        if end == 0 {
            // Nothing of the file was ever committed: an empty file is no evidence.
            let _ = std::fs::remove_file(&path);
        }
        Ok(entry)
    }

    /// Records a torn copy of `from_rel`'s tail (unless an entry covers it already) and logs it.
    fn record_torn(
        &mut self,
        torn: &durable::Torn,
        from_rel: &str,
    ) -> Result<Option<Entry>, EvidenceError> {
        let rel = match torn.path.strip_prefix(&self.ledger.dir) {
            Ok(r) => r.to_string_lossy().into_owned(),
            Err(_) => torn.path.to_string_lossy().into_owned(),
        };
        tracing::warn!(
            file = %self.ledger.dir.join(from_rel).display(),
            offset = torn.from,
            bytes = torn.bytes.len(),
            kept_in = %torn.path.display(),
            "torn tail after a crash mid-write: set aside and recorded in the ledger"
        );
        if self.ledger.ends.contains_key(&rel) {
            return Ok(None);
        }
        let entry = self.append(NewEntry {
            path: rel,
            offset: 0,
            length: torn.bytes.len() as u64,
            bytes_sha256: sha256_hex(&torn.bytes),
            captured_at: crate::store::timestamp(chrono::Utc::now()),
            kind: KIND_TORN.into(),
            torn_from: Some(TornFrom {
                path: from_rel.to_string(),
                offset: torn.from,
            }),
            ..NewEntry::default()
        })?;
        self.torn.push(entry.clone());
        Ok(Some(entry))
    }
}

/// The whole lines of the ledger file at `path` (a torn last line is left out) and the
/// length of that torn line (0 when the file ends with a newline).
fn read_lines(path: &Path) -> Result<Option<(Vec<u8>, u64)>, EvidenceError> {
    let mut bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EvidenceError::io(path, "cannot read the ledger", e)),
    };
    let whole = durable::whole_lines(&bytes);
    let torn = (bytes.len() - whole) as u64;
    bytes.truncate(whole);
    Ok(Some((bytes, torn)))
}

/// Every entry of the ledger in `dir`, in order (an unreadable line is an error naming it; a
/// torn last line is not an entry).
pub fn entries(dir: &Path) -> Result<Vec<Entry>, EvidenceError> {
    let path = dir.join(LEDGER_FILE);
    let Some((bytes, _)) = read_lines(&path)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        out.push(
            serde_json::from_slice(line).map_err(|e| EvidenceError::Ledger {
                path: path.clone(),
                line: i + 1,
                message: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

/// A torn tail the ledger keeps (an entry of kind [`KIND_TORN`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornNote {
    /// The `.torn` file, relative to the evidence directory.
    pub path: String,
    /// Where its bytes were cut from.
    pub from: TornFrom,
    /// How many bytes.
    pub length: u64,
}

/// Bytes no entry covers yet: a torn tail the next writer (or `watch`) will set aside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The file, relative to the evidence directory.
    pub path: String,
    /// Where the uncovered bytes start.
    pub offset: u64,
    /// How many there are.
    pub length: u64,
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
    /// Torn tails set aside after crashes, as the ledger records them.
    pub torn: Vec<TornNote>,
    /// Torn tails not yet set aside (the ledger's last line, bytes past a file's last range).
    pub pending: Vec<Pending>,
}

/// Re-hashes every range the ledger in `dir` covers and checks the chain; stops at the first
/// break. Reads only: torn tails are reported, not set aside.
pub fn verify(dir: &Path) -> Result<VerifyReport, EvidenceError> {
    let path = dir.join(LEDGER_FILE);
    let mut report = VerifyReport::default();
    let Some((bytes, torn_len)) = read_lines(&path)? else {
        return Ok(report);
    };
    if torn_len > 0 {
        report.pending.push(Pending {
            path: LEDGER_FILE.to_string(),
            offset: bytes.len() as u64,
            length: torn_len,
        });
    }
    let mut prev = GENESIS.to_string();
    let mut buf = Vec::new();
    let mut ends: HashMap<String, u64> = HashMap::new();
    let mut reader = BufReader::new(&bytes[..]);
    let mut raw = Vec::new();
    let mut n = 0u64;
    loop {
        raw.clear();
        match reader.read_until(b'\n', &mut raw) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(EvidenceError::io(&path, "cannot read the ledger", e)),
        }
        n += 1;
        let line = raw.strip_suffix(b"\n").unwrap_or(&raw);
        if line.is_empty() {
            continue;
        }
        let fail = |why: String| {
            Ok(VerifyReport {
                first_break: Some((n, why)),
                ..report.clone()
            })
        };
        let entry: Entry = match serde_json::from_slice(line) {
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
        if let Some(from) = entry.torn_from {
            report.torn.push(TornNote {
                path: entry.path.clone(),
                from,
                length: entry.length,
            });
        }
        let end = ends.entry(entry.path).or_insert(0);
        *end = (*end).max(entry.offset + entry.length);
        prev = sha256_hex(line);
    }
    let mut files: Vec<(String, u64)> = ends.into_iter().collect();
    files.sort();
    for (rel, end) in files {
        let len = durable::len(&dir.join(&rel))
            .map_err(|e| EvidenceError::io(&dir.join(&rel), "cannot read the file size", e))?;
        if len > end {
            report.pending.push(Pending {
                path: rel,
                offset: end,
                length: len - end,
            });
        }
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
