//! Searching an index without writing a byte: a Tantivy [`Directory`] over [`MmapDirectory`]
//! that refuses every write and takes no lock.
//!
//! Why: opening an index reader takes Tantivy's meta lock, which creates (opens for writing)
//! `.tantivy-meta.lock` in the index directory, so a search on a read-only data directory (a
//! copy handed to an analyst, a read-only mount) failed. The lock only keeps a writer's
//! garbage collection from deleting segment files while a reader opens them; in a directory
//! this process cannot write there is no writer of ours to race, so the read-only directory
//! skips it (and [`super::SearchIndex`] retries once if a foreign writer's merge deleted a
//! segment at that instant).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, WatchCallback, WatchHandle, WritePtr,
};

/// An [`MmapDirectory`] that only reads.
#[derive(Debug, Clone)]
pub struct ReadOnlyDirectory {
    inner: MmapDirectory,
    path: PathBuf,
}

impl ReadOnlyDirectory {
    /// Opens directory `path` for reading.
    pub fn open(path: &Path) -> Result<ReadOnlyDirectory, tantivy::TantivyError> {
        let inner = MmapDirectory::open(path)?;
        Ok(ReadOnlyDirectory {
            inner,
            path: path.to_path_buf(),
        })
    }

    fn refused(&self, path: &Path) -> io::Error {
        io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{}: the search index is open read-only",
                self.path.join(path).display()
            ),
        )
    }
}

impl Directory for ReadOnlyDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        Err(DeleteError::IoError {
            io_error: Arc::new(self.refused(path)),
            filepath: path.to_path_buf(),
        })
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        Err(OpenWriteError::wrap_io_error(
            self.refused(path),
            path.to_path_buf(),
        ))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, _data: &[u8]) -> io::Result<()> {
        Err(self.refused(path))
    }

    fn sync_directory(&self) -> io::Result<()> {
        Ok(())
    }

    fn acquire_lock(&self, _lock: &Lock) -> Result<DirectoryLock, LockError> {
        Ok(DirectoryLock::from(Box::new(())))
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_refused_and_locks_create_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ro = ReadOnlyDirectory::open(dir.path()).expect("open");
        assert!(ro.open_write(Path::new("x")).is_err());
        assert!(ro.atomic_write(Path::new("meta.json"), b"{}").is_err());
        assert!(ro.delete(Path::new("x")).is_err());
        let lock = ro.acquire_lock(&tantivy::directory::META_LOCK);
        assert!(lock.is_ok());
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert!(names.is_empty(), "{names:?}");
    }
}
