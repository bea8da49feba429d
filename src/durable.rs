//! Append-only files that survive a crash part-way through a write.
//!
//! A short write, a full disk or a power cut can leave half a line (or half a gzip member) at
//! the end of a file that only ever grows. Left there, the next append is glued onto it and
//! the damage spreads to a record that was written whole. So, as a write-ahead log does, an
//! owner finds its file's last complete record on open and before it appends, and moves the
//! bytes after it — the *torn tail* — into a file of their own beside it
//! (`<name>.<offset>.torn`): kept, never silently deleted, and cut from the original only
//! once the copy is on disk.
//!
//! The two steps are separate ([`copy_tail`], then [`cut`]) so that an owner which records the
//! copy somewhere (the evidence ledger hashes it) can do that in between; both are idempotent,
//! so a crash between them is mended by running them again.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Bytes cut from the end of a file and where they were kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// The `.torn` file holding the bytes (beside the original).
    pub path: PathBuf,
    /// Where in the original they started.
    pub from: u64,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Length of the longest prefix of `bytes` that ends with a newline (0 when there is none).
pub fn whole_lines(bytes: &[u8]) -> usize {
    bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1)
}

/// The length of `path`, 0 when it does not exist.
pub fn len(path: &Path) -> std::io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Copies the bytes of `path` from offset `from` to its end into `<name>.<from>.torn` beside
/// it (synced), or returns `None` when the file is no longer than `from`.
///
/// A `.torn` file of that name holding the same bytes is reused (a crash after the copy and
/// before the cut leaves one); one holding other bytes is kept and the copy gets the next free
/// name (`<name>.<from>.2.torn`, …). The original is not changed: call [`cut`] next.
pub fn copy_tail(path: &Path, from: u64) -> std::io::Result<Option<Torn>> {
    let mut file = File::open(path)?;
    let end = file.metadata()?.len();
    if end <= from {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity((end - from) as usize);
    file.seek(SeekFrom::Start(from))?;
    file.take(end - from).read_to_end(&mut bytes)?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    for n in 1u32.. {
        let torn_name = if n == 1 {
            format!("{name}.{from}.torn")
        } else {
            format!("{name}.{from}.{n}.torn")
        };
        let torn_path = path.with_file_name(torn_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&torn_path)
        {
            Ok(mut f) => {
                f.write_all(&bytes)?;
                f.sync_all()?;
                sync_dir(&torn_path);
                return Ok(Some(Torn {
                    path: torn_path,
                    from,
                    bytes,
                }));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if std::fs::read(&torn_path)? == bytes {
                    return Ok(Some(Torn {
                        path: torn_path,
                        from,
                        bytes,
                    }));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free name for the torn tail"))
}

/// Shortens `path` to `to` bytes and syncs it (nothing happens when it is no longer).
pub fn cut(path: &Path, to: u64) -> std::io::Result<()> {
    let file = OpenOptions::new().write(true).open(path)?;
    if file.metadata()?.len() > to {
        file.set_len(to)?;
        file.sync_all()?;
    }
    Ok(())
}

/// Copies and cuts in one step, for owners that record the copy nowhere but the log.
pub fn set_aside(path: &Path, from: u64) -> std::io::Result<Option<Torn>> {
    let torn = copy_tail(path, from)?;
    if torn.is_some() {
        cut(path, from)?;
    }
    Ok(torn)
}

/// Syncs the directory holding `path`, so a new name in it survives a power cut (best effort:
/// not every file system can sync a directory).
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_copied_beside_the_file_then_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("alerts.jsonl");
        std::fs::write(&path, "{\"a\":1}\n{\"b\":").expect("write");
        let whole = whole_lines(&std::fs::read(&path).expect("read")) as u64;
        assert_eq!(whole, 8);
        let torn = set_aside(&path, whole).expect("set aside").expect("a tail");
        assert_eq!(torn.path, dir.path().join("alerts.jsonl.8.torn"));
        assert_eq!(std::fs::read(&torn.path).expect("torn"), b"{\"b\":");
        assert_eq!(std::fs::read(&path).expect("file"), b"{\"a\":1}\n");
        assert_eq!(set_aside(&path, whole).expect("again"), None);
    }

    #[test]
    fn copying_again_after_a_crash_reuses_the_copy_and_never_overwrites_another() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"abcdef").expect("write");
        let first = copy_tail(&path, 3).expect("copy").expect("tail");
        // The crash came before the cut: the same copy is found again.
        let again = copy_tail(&path, 3).expect("copy").expect("tail");
        assert_eq!(first, again);
        // Other bytes at the same offset later get a name of their own.
        cut(&path, 3).expect("cut");
        std::fs::write(&path, b"abcXYZ").expect("write");
        let other = copy_tail(&path, 3).expect("copy").expect("tail");
        assert_eq!(other.path, dir.path().join("f.3.2.torn"));
        assert_eq!(std::fs::read(&first.path).expect("first"), b"def");
        assert_eq!(std::fs::read(&other.path).expect("other"), b"XYZ");
    }

    #[test]
    fn a_missing_file_has_length_zero() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(len(&dir.path().join("none")).expect("len"), 0);
    }
}
