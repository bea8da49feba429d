//! Opening the state for reading only, so that `search`, `hits` and a read-only `serve` work
//! on a data directory they may not (or should not) write.
//!
//! Why it is not just `mode=ro`: the database runs in WAL mode, and SQLite opens a WAL
//! database's `-shm` file for writing (creating it when missing), which fails in a directory
//! this user cannot write — and silently writes in one that only root can. So a
//! [`write_protected`] directory whose write-ahead log is empty is opened `immutable` (no
//! `-shm`, no locks: a snapshot, which is what a read-only copy is), and an ordinary
//! read-only open that fails for want of write access falls back to the same.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{BUSY_TIMEOUT, SCHEMA_VERSION, STATE_FILE, Store, StoreError};

/// True when the permission bits of `path` let no one write it (`chmod a-w`). A data
/// directory like that is read, never written — even by root, whom the bits do not stop.
/// A path that cannot be inspected counts as writable (opening it reports the real error).
pub fn write_protected(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly())
}

impl Store {
    /// Opens `<dir>/state.sqlite` for reading only: creates nothing, migrates nothing, takes
    /// no write lock. A [`write_protected`] directory with an empty write-ahead log is opened
    /// as an immutable snapshot; otherwise the connection is an ordinary read-only one that
    /// sees what writers commit, falling back to the snapshot when SQLite cannot share the
    /// writers' `-shm` file for want of write access. Fails with [`StoreError::NoState`] when
    /// there is no database and [`StoreError::Outdated`] when it needs a migration.
    pub fn open_read_only(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(STATE_FILE);
        if !path.is_file() {
            return Err(StoreError::NoState { path });
        }
        let wal = dir.join(format!("{STATE_FILE}-wal"));
        let wal_empty = std::fs::metadata(&wal).map_or(true, |m| m.len() == 0);
        if wal_empty && (write_protected(dir) || write_protected(&path)) {
            return connect(dir, &path, true);
        }
        match connect(dir, &path, false) {
            Err(StoreError::Sqlite {
                source: rusqlite::Error::SqliteFailure(f, _),
                ..
            }) if wal_empty && f.code == ErrorCode::ReadOnly => connect(dir, &path, true),
            other => other,
        }
    }

    /// Opens `<dir>/state.sqlite` for a command that only reads: [`Store::open_read_only`],
    /// except that a database needing a migration in a directory that is not
    /// [`write_protected`] is opened with [`Store::open`] (which migrates it).
    pub fn open_for_reading(dir: &Path) -> Result<Store, StoreError> {
        match Store::open_read_only(dir) {
            Err(StoreError::Outdated { .. })
                if !write_protected(dir) && !write_protected(&dir.join(STATE_FILE)) =>
            {
                Store::open(dir)
            }
            other => other,
        }
    }
}

/// A read-only connection to `path` (`immutable`: as a snapshot, without `-shm` or locks),
/// with its schema version checked.
fn connect(dir: &Path, path: &Path, immutable: bool) -> Result<Store, StoreError> {
    let sq = |what| {
        let path = path.to_path_buf();
        move |source| StoreError::Sqlite { path, what, source }
    };
    let not_a_path = |source| StoreError::Dir {
        path: dir.to_path_buf(),
        source,
    };
    let absolute = std::path::absolute(path).map_err(not_a_path)?;
    let mut uri = url::Url::from_file_path(&absolute)
        .map_err(|()| not_a_path(std::io::Error::other("not an absolute path")))?
        .to_string();
    uri.push_str(if immutable {
        "?mode=ro&immutable=1"
    } else {
        "?mode=ro"
    });
    let conn = Connection::open_with_flags(
        &uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sq("cannot open read-only"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(sq("cannot set the busy timeout"))?;
    let found = super::schema::read_version(&conn, path)?;
    if found < SCHEMA_VERSION {
        return Err(StoreError::Outdated {
            path: path.to_path_buf(),
            found,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(Store {
        conn: Mutex::new(conn),
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under `dir` with its size and modification time.
    fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
        let mut out: Vec<_> = std::fs::read_dir(dir)
            .expect("list")
            .filter_map(Result::ok)
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    m.len(),
                    m.modified().ok()?,
                ))
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn no_state_is_an_error_and_nothing_is_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope");
        let err = Store::open_read_only(&missing).expect_err("no state");
        assert!(matches!(err, StoreError::NoState { .. }), "{err}");
        assert!(err.to_string().contains("mimamori watch"), "{err}");
        assert!(!missing.exists());
    }

    #[test]
    fn a_read_only_store_reads_and_refuses_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rw = Store::open(dir.path()).expect("open");
        rw.record_error("5ch:http://b/", "timeout").expect("write");
        let ro = Store::open_read_only(dir.path()).expect("read-only");
        assert_eq!(ro.source_states().expect("read").len(), 1);
        assert!(ro.record_error("5ch:http://b/", "again").is_err());
        drop(rw);
    }

    #[test]
    fn a_write_protected_directory_is_read_without_a_single_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let rw = Store::open(&data).expect("open");
        rw.record_error("5ch:http://b/", "timeout").expect("write");
        drop(rw);
        let protect = |mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            for p in [data.join(STATE_FILE), data.clone()] {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            }
        };
        protect(0o555);
        assert!(write_protected(&data));
        let before = listing(&data);
        let ro = Store::open_read_only(&data).expect("read-only");
        assert_eq!(ro.source_states().expect("read").len(), 1);
        drop(ro);
        let after = listing(&data);
        protect(0o755);
        assert_eq!(before, after, "the read-only open wrote into the directory");
    }

    #[test]
    fn an_outdated_schema_is_not_migrated_read_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        drop(Store::open(dir.path()).expect("open"));
        let conn = Connection::open(dir.path().join(STATE_FILE)).expect("raw open");
        conn.execute("UPDATE schema_version SET version = 1", [])
            .expect("lower");
        drop(conn);
        let err = Store::open_read_only(dir.path()).expect_err("outdated");
        assert!(
            matches!(err, StoreError::Outdated { found: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("write access"), "{err}");
    }
}
