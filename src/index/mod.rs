//! The search index: Tantivy in `<data>/tantivy/`, one document per stored post.
//!
//! Analyzers are in [`tokenizer`] (Lindera words + readings, bigrams, reading bigrams, all
//! registered by [`tokenizer::register_tokenizers`]); fields in [`schema`]; queries in
//! [`search`]. The directory also holds [`VERSION_FILE`] with [`SCHEMA_VERSION`]: an index of
//! another version is refused with a message to run `mimamori reindex`, which rebuilds the
//! index from `state.sqlite` into a sibling directory and swaps it in.
//!
//! Searching never writes: [`SearchIndex::open`] opens a write-protected directory through
//! [`readonly::ReadOnlyDirectory`], and falls back to it when the directory turns out not to
//! be writable. Every query string is bounded ([`limits`]) before it is parsed, and every
//! search runs under a time budget ([`deadline`]).
//!
//! One [`Indexer`] owns the one `IndexWriter` (Tantivy also locks the directory, so a second
//! writer fails instead of corrupting anything); it replaces a post's document by post key and
//! commits every `batch` documents and on [`Indexer::commit`].

pub mod deadline;
pub mod facets;
pub mod limits;
pub mod readonly;
pub mod schema;
pub mod search;
pub mod sync;
pub mod tokenizer;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tantivy::directory::error::{LockError, OpenReadError};
use tantivy::schema::{Schema, TantivyDocument};
use tantivy::{Index, IndexWriter, ReloadPolicy, Searcher, TantivyError, Term};

use crate::analyze::Analysis;
use crate::model::Post;
use crate::store::{Hit, StoreError};
use schema::Fields;
pub use sync::{ReindexStats, SyncCursor, SyncHandle, SyncStats, reindex, sync};

/// The index directory inside the data directory.
pub const INDEX_DIR: &str = "tantivy";
/// The file in the index directory that records [`SCHEMA_VERSION`].
pub const VERSION_FILE: &str = "mimamori-index.json";
/// Version of the schema and analyzers this build writes; bumped on any change to either.
pub const SCHEMA_VERSION: u32 = 1;
/// Status of a post that has no hit.
pub const NO_STATUS: &str = "none";

/// What went wrong with the search index; each message names the directory.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// There is no index yet.
    #[error("{path}: no search index (run `mimamori reindex` to build it from state.sqlite)")]
    Missing {
        /// The index directory.
        path: PathBuf,
    },
    /// The index was built with another schema version.
    #[error(
        "{path}: search index has schema version {found}, this mimamori needs {expected}: run `mimamori reindex` to rebuild it"
    )]
    Version {
        /// The index directory.
        path: PathBuf,
        /// Version found (0 when the version file is missing).
        found: u32,
        /// Version this build writes.
        expected: u32,
    },
    /// The version file could not be read or parsed.
    #[error("{path}: cannot read the index version: {message} (run `mimamori reindex`)")]
    VersionFile {
        /// The version file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A file system operation failed.
    #[error("{path}: {what}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Tantivy failed.
    #[error("{path}: {what}: {source}")]
    Tantivy {
        /// The index directory.
        path: PathBuf,
        /// What was being done.
        what: &'static str,
        /// The Tantivy error.
        source: tantivy::TantivyError,
    },
    /// Another process (or another writer in this one) is writing the index.
    #[error(
        "{path}: another mimamori process (watch, demo or serve) is writing the search index; it keeps the index current, or stop it first"
    )]
    Busy {
        /// The index directory.
        path: PathBuf,
    },
    /// The index writer thread panicked.
    #[error(
        "the search index thread stopped unexpectedly (run `mimamori reindex` if searches miss posts)"
    )]
    Thread,
    /// The index files could not be read: damaged, or written by an incompatible version.
    #[error(
        "{path}: cannot read the search index: {source} (run `mimamori reindex` to rebuild it from state.sqlite)"
    )]
    Unreadable {
        /// The index directory.
        path: PathBuf,
        /// The Tantivy error.
        source: TantivyError,
    },
    /// The query string is over one of the limits checked before parsing.
    #[error("query refused: {0}")]
    QueryLimit(#[from] limits::QueryLimit),
    /// The search ran out of its time budget and was stopped.
    #[error(
        "the search took longer than its time budget ({}) and was stopped: narrow the query (fewer words joined by OR, a target: or category: filter, --since) and try again",
        budget_text(*budget)
    )]
    TimedOut {
        /// The budget.
        budget: Duration,
    },
    /// The query could not be parsed.
    #[error("cannot parse the query {query:?}: {source} (see `mimamori search --help`)")]
    Query {
        /// The query as given.
        query: String,
        /// The parser's error.
        source: tantivy::query::QueryParserError,
    },
    /// The state database failed during `reindex`.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `5 s`, `1.5 s`, `200 ms`.
fn budget_text(budget: Duration) -> String {
    if budget.subsec_millis() == 0 && budget.as_secs() > 0 {
        format!("{} s", budget.as_secs())
    } else if budget.as_secs() > 0 {
        format!("{:.1} s", budget.as_secs_f64())
    } else {
        format!("{} ms", budget.as_millis())
    }
}

/// The contents of [`VERSION_FILE`].
#[derive(Debug, Serialize, Deserialize)]
struct VersionInfo {
    version: u32,
}

/// An open search index.
pub struct SearchIndex {
    index: Index,
    fields: Fields,
    path: PathBuf,
    /// Opened through [`readonly::ReadOnlyDirectory`]: nothing is written, no lock taken.
    read_only: bool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// The index directory of data directory `data`.
pub fn index_dir(data: &Path) -> PathBuf {
    data.join(INDEX_DIR)
}

impl SearchIndex {
    /// Opens the index of data directory `data` for searching; fails if there is none or it
    /// has another schema version. Writes nothing: a data or index directory without write
    /// permission is opened read-only, and [`SearchIndex::searcher`] falls back to read-only
    /// when the directory turns out not to be writable.
    pub fn open(data: &Path) -> Result<SearchIndex, IndexError> {
        let dir = index_dir(data);
        let read_only = crate::store::write_protected(data) || crate::store::write_protected(&dir);
        Self::open_with(&dir, read_only)
    }

    /// Opens the index of `data`, creating an empty one if there is none.
    pub fn open_or_create(data: &Path) -> Result<SearchIndex, IndexError> {
        let dir = index_dir(data);
        if dir.join("meta.json").is_file() {
            Self::open_dir(&dir)
        } else {
            Self::create_dir(&dir)
        }
    }

    /// Opens the index in directory `dir` (for writing too).
    pub fn open_dir(dir: &Path) -> Result<SearchIndex, IndexError> {
        Self::open_with(dir, false)
    }

    /// Opens the index in directory `dir`, through [`readonly::ReadOnlyDirectory`] when
    /// `read_only`.
    fn open_with(dir: &Path, read_only: bool) -> Result<SearchIndex, IndexError> {
        if !dir.join("meta.json").is_file() {
            return Err(IndexError::Missing {
                path: dir.to_path_buf(),
            });
        }
        let found = read_version(dir)?;
        if found != SCHEMA_VERSION {
            return Err(IndexError::Version {
                path: dir.to_path_buf(),
                found,
                expected: SCHEMA_VERSION,
            });
        }
        let index = if read_only {
            readonly::ReadOnlyDirectory::open(dir).and_then(Index::open)
        } else {
            Index::open_in_dir(dir)
        }
        .map_err(open_failure(dir, "cannot open the index"))?;
        Self::wrap(index, dir, read_only)
    }

    /// Creates an empty index in `dir` (created if needed; must not hold an index).
    pub fn create_dir(dir: &Path) -> Result<SearchIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(io(dir, "cannot create the index directory"))?;
        let index = Index::create_in_dir(dir, schema::build())
            .map_err(tv(dir, "cannot create the index"))?;
        let version = serde_json::to_string(&VersionInfo {
            version: SCHEMA_VERSION,
        })
        .map_err(|e| IndexError::VersionFile {
            path: dir.join(VERSION_FILE),
            message: e.to_string(),
        })?;
        let file = dir.join(VERSION_FILE);
        std::fs::write(&file, version).map_err(io(&file, "cannot write the index version"))?;
        Self::wrap(index, dir, false)
    }

    fn wrap(index: Index, dir: &Path, read_only: bool) -> Result<SearchIndex, IndexError> {
        tokenizer::register_tokenizers(&index);
        let fields = Fields::resolve(&index.schema()).ok_or_else(|| IndexError::Version {
            path: dir.to_path_buf(),
            found: 0,
            expected: SCHEMA_VERSION,
        })?;
        Ok(SearchIndex {
            index,
            fields,
            path: dir.to_path_buf(),
            read_only,
        })
    }

    /// True when the index was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// A searcher over the last commit. When the index directory cannot be written (the meta
    /// lock cannot be created), the index is reopened read-only; a read-only open retries once
    /// when a segment vanished under it (another user's writer merging at that instant).
    pub fn searcher(&self) -> Result<Searcher, IndexError> {
        let what = "cannot open an index reader";
        match reader_of(&self.index) {
            Ok(s) => Ok(s),
            Err(TantivyError::LockFailure(LockError::IoError(e), _))
                if !self.read_only && cannot_write(&e) =>
            {
                tracing::debug!(path = %self.path.display(), error = %e, "index not writable: reading it read-only");
                Self::open_with(&self.path, true)?.searcher()
            }
            Err(TantivyError::OpenReadError(OpenReadError::FileDoesNotExist(_)))
                if self.read_only =>
            {
                let again = Self::open_with(&self.path, true)?;
                reader_of(&again.index).map_err(open_failure(&self.path, what))
            }
            Err(e) => Err(open_failure(&self.path, what)(e)),
        }
    }

    /// The index directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema's fields.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The schema.
    pub fn schema(&self) -> Schema {
        self.index.schema()
    }

    /// The Tantivy index (for callers that build their own queries or collectors).
    pub fn tantivy(&self) -> &Index {
        &self.index
    }

    /// The writer for a bulk load (`reindex`, the benchmark), committing every `batch`
    /// documents. Segments are not merged while it runs: [`Indexer::finish`] merges them all
    /// once, so each document is merged once instead of at every level of the log merge
    /// policy. Only one writer may exist per index (Tantivy locks the directory; a second one
    /// fails with a message naming it).
    pub fn indexer(&self, batch: usize) -> Result<Indexer, IndexError> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        let mut indexer = self.indexer_with_threads(batch, threads)?;
        indexer
            .writer
            .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        indexer.merge_at_finish = true;
        Ok(indexer)
    }

    /// [`SearchIndex::indexer`] with `threads` indexing threads (1 for the live sync, which
    /// indexes a few posts a second; more for a rebuild). Fails with [`IndexError::Busy`]
    /// when another writer holds the index.
    pub fn indexer_with_threads(
        &self,
        batch: usize,
        threads: usize,
    ) -> Result<Indexer, IndexError> {
        let threads = threads.max(1);
        let writer = match self
            .index
            .writer_with_num_threads(threads, threads * 32_000_000)
        {
            Ok(w) => w,
            Err(tantivy::TantivyError::LockFailure(
                tantivy::directory::error::LockError::LockBusy,
                _,
            )) => {
                return Err(IndexError::Busy {
                    path: self.path.clone(),
                });
            }
            Err(e) => return Err(tv(&self.path, "cannot open the index writer")(e)),
        };
        let metas = self.index.load_metas().ok();
        let payload = metas.as_ref().and_then(|m| m.payload.clone());
        let cursor = payload
            .as_deref()
            .and_then(SyncCursor::parse)
            .unwrap_or_default();
        // Posts after the cursor are certainly not in the index when the cursor came from a
        // commit payload, or the index is empty: then they are added without a delete by key.
        let empty = metas.is_none_or(|m| m.segments.iter().all(|s| s.num_docs() == 0));
        let cursor_trusted = empty || payload.as_deref().and_then(SyncCursor::parse).is_some();
        Ok(Indexer {
            writer,
            fields: self.fields,
            path: self.path.clone(),
            batch: batch.max(1),
            pending: 0,
            cursor,
            cursor_trusted,
            merge_at_finish: false,
        })
    }
}

fn read_version(dir: &Path) -> Result<u32, IndexError> {
    let file = dir.join(VERSION_FILE);
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => {
            return Err(IndexError::VersionFile {
                path: file,
                message: e.to_string(),
            });
        }
    };
    serde_json::from_str::<VersionInfo>(&text)
        .map(|v| v.version)
        .map_err(|e| IndexError::VersionFile {
            path: file,
            message: e.to_string(),
        })
}

/// A searcher of `index` that does not watch for new commits (one per search).
fn reader_of(index: &Index) -> tantivy::Result<Searcher> {
    let reader: tantivy::IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok(reader.searcher())
}

/// True for an I/O error that means "this process may not write here".
fn cannot_write(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Maps a failure to open an existing index: one that `mimamori reindex` repairs (damaged
/// files, another index format, a missing segment) becomes [`IndexError::Unreadable`].
fn open_failure(path: &Path, what: &'static str) -> impl FnOnce(TantivyError) -> IndexError {
    let path = path.to_path_buf();
    move |source| match source {
        TantivyError::DataCorruption(_)
        | TantivyError::IncompatibleIndex(_)
        | TantivyError::SchemaError(_)
        | TantivyError::DeserializeError(_)
        | TantivyError::OpenReadError(
            OpenReadError::FileDoesNotExist(_) | OpenReadError::IncompatibleIndex(_),
        ) => IndexError::Unreadable { path, source },
        source => IndexError::Tantivy { path, what, source },
    }
}

fn tv(path: &Path, what: &'static str) -> impl FnOnce(tantivy::TantivyError) -> IndexError {
    let path = path.to_path_buf();
    move |source| IndexError::Tantivy { path, what, source }
}

fn io(path: &Path, what: &'static str) -> impl FnOnce(std::io::Error) -> IndexError {
    let path = path.to_path_buf();
    move |source| IndexError::Io { path, what, source }
}

/// What the index records about a post besides the post itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostMeta {
    /// Targets the post mentions (sorted, unique).
    pub targets: Vec<String>,
    /// Risk categories of its hits (sorted, unique).
    pub categories: Vec<String>,
    /// Highest severity (0 when not flagged).
    pub severity: u8,
    /// Triage status of its hit (the first one when several); `None` when not flagged.
    pub status: Option<String>,
    /// Hit row ids.
    pub hit_ids: Vec<i64>,
}

impl PostMeta {
    /// Combines a fresh analysis (if any) with the post's recorded hits.
    pub fn new(analysis: Option<&Analysis>, hits: &[Hit]) -> PostMeta {
        Self::with_targets(&[], analysis, hits)
    }

    /// [`PostMeta::new`] plus the targets stored with the post.
    pub fn with_targets(stored: &[String], analysis: Option<&Analysis>, hits: &[Hit]) -> PostMeta {
        let mut targets: BTreeSet<String> = hits.iter().map(|h| h.target.clone()).collect();
        targets.extend(stored.iter().cloned());
        let mut categories: BTreeSet<String> = hits
            .iter()
            .flat_map(|h| h.categories.iter().cloned())
            .collect();
        let mut severity = hits.iter().map(|h| h.severity).max().unwrap_or(0);
        if let Some(a) = analysis {
            targets.extend(a.targets.iter().cloned());
            categories.extend(a.categories.iter().map(|c| c.as_str().to_string()));
            severity = severity.max(a.severity);
        }
        let mut hit_ids: Vec<i64> = hits.iter().map(|h| h.id).collect();
        hit_ids.sort_unstable();
        PostMeta {
            targets: targets.into_iter().collect(),
            categories: categories.into_iter().collect(),
            severity,
            status: hits.first().map(|h| h.status.clone()),
            hit_ids,
        }
    }
}

/// The one writer of an index: adds posts, commits in batches.
pub struct Indexer {
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    path: PathBuf,
    batch: usize,
    pending: usize,
    /// How far into `state.sqlite` the index is; saved as each commit's payload.
    cursor: SyncCursor,
    /// True when no post after `cursor` can be in the index already.
    cursor_trusted: bool,
    /// A bulk writer: no merges while it runs, one merge of every segment at the end.
    merge_at_finish: bool,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer")
            .field("path", &self.path)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

fn tantivy_date(t: DateTime<Utc>) -> tantivy::DateTime {
    tantivy::DateTime::from_timestamp_secs(t.timestamp())
}

impl Indexer {
    /// Adds (or replaces, by post key) the document of `post`; commits when `batch`
    /// documents are pending.
    pub fn add(&mut self, post: &Post, meta: &PostMeta) -> Result<(), IndexError> {
        self.add_doc(post, meta, true)
    }

    /// [`Indexer::add`] for a post the caller knows is not in the index (a post stored after
    /// a trusted cursor, a fresh index): skips the delete by key, which costs every commit a
    /// lookup in every segment.
    pub fn add_new(&mut self, post: &Post, meta: &PostMeta) -> Result<(), IndexError> {
        self.add_doc(post, meta, false)
    }

    /// True when posts after [`Indexer::cursor`] may be added with [`Indexer::add_new`].
    pub fn cursor_trusted(&self) -> bool {
        self.cursor_trusted
    }

    fn add_doc(&mut self, post: &Post, meta: &PostMeta, replace: bool) -> Result<(), IndexError> {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.post_key, &post.key);
        doc.add_text(f.source, &post.source_kind);
        if let Some(host) = url::Url::parse(&post.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        {
            doc.add_text(f.host, host);
        }
        doc.add_text(f.url, &post.url);
        if let Some(t) = &post.thread_title {
            doc.add_text(f.title, t);
        }
        if let Some(a) = &post.author_name {
            doc.add_text(f.author, a);
        }
        if let Some(a) = &post.author_id {
            doc.add_text(f.author_id, a);
        }
        let posted = post
            .posted_at
            .map_or(post.fetched_at, |t| t.with_timezone(&Utc));
        doc.add_date(f.posted_at, tantivy_date(posted));
        doc.add_date(f.fetched_at, tantivy_date(post.fetched_at));
        doc.add_text(f.body, &post.body);
        doc.add_text(f.body_ngram, &post.body);
        doc.add_text(f.body_reading, &post.body);
        for t in &meta.targets {
            doc.add_text(f.target, t);
        }
        for c in &meta.categories {
            doc.add_text(f.category, c);
        }
        doc.add_u64(f.severity, u64::from(meta.severity));
        doc.add_text(f.status, meta.status.as_deref().unwrap_or(NO_STATUS));
        for id in &meta.hit_ids {
            doc.add_u64(f.hit_id, (*id).max(0) as u64);
        }
        if replace {
            self.writer
                .delete_term(Term::from_field_text(f.post_key, &post.key));
        }
        self.writer
            .add_document(doc)
            .map_err(tv(&self.path, "cannot add a document"))?;
        self.pending += 1;
        if self.pending >= self.batch {
            self.commit()?;
        }
        Ok(())
    }

    /// Commits the pending documents (a no-op when there are none).
    pub fn commit(&mut self) -> Result<(), IndexError> {
        if self.pending == 0 {
            return Ok(());
        }
        let payload = self.cursor.to_payload();
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(tv(&self.path, "cannot commit the index"))?;
        prepared.set_payload(&payload);
        prepared
            .commit()
            .map_err(tv(&self.path, "cannot commit the index"))?;
        self.pending = 0;
        Ok(())
    }

    /// How far into `state.sqlite` the committed and pending documents reach.
    pub fn cursor(&self) -> SyncCursor {
        self.cursor
    }

    /// Moves the cursor (saved with the next commit).
    pub fn set_cursor(&mut self, cursor: SyncCursor) {
        if cursor != self.cursor {
            self.cursor = cursor;
            // A moved cursor alone is worth a commit: the next sync starts from it.
            self.pending = self.pending.max(1);
        }
    }

    /// Commits, merges every segment into one for a bulk writer, and waits for the writer's
    /// threads to finish merging.
    pub fn finish(mut self) -> Result<(), IndexError> {
        self.commit()?;
        if self.merge_at_finish {
            let ids = self
                .writer
                .index()
                .searchable_segment_ids()
                .map_err(tv(&self.path, "cannot list the index segments"))?;
            if ids.len() > 1 {
                self.writer
                    .merge(&ids)
                    .wait()
                    .map_err(tv(&self.path, "cannot merge the index segments"))?;
            }
        }
        self.writer
            .wait_merging_threads()
            .map_err(tv(&self.path, "cannot finish merging the index"))
    }
}
