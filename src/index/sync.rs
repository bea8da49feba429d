//! Keeping the search index current with `state.sqlite`, and rebuilding it.
//!
//! The index is derived data: everything in it comes from the stored posts, their hits and
//! the triage history. So instead of a second write path beside [`Store::commit_poll`] (which
//! a crash between the two could split), the index *follows* the state: [`sync`] reads the
//! posts stored after the index's [`SyncCursor`] (the posts table's row ids only grow) and the
//! triage entries after it (a status change re-indexes that post), adds them, and commits the
//! documents together with the advanced cursor as the Tantivy commit payload. A crash before
//! that commit replays the same rows, and replaying is harmless: a document replaces the one
//! with its post key. `watch`, `demo` and `serve` run one [`SyncHandle`] — the one writer
//! thread — that syncs whenever it is woken and at least every second; `search` catches up
//! itself when no such process holds the index. `reindex` is a sync from zero into a fresh
//! directory that then replaces the old one.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{INDEX_DIR, IndexError, Indexer, PostMeta, SearchIndex, index_dir, io};
use crate::analyze::Analysis;
use crate::model::Post;
use crate::store::{Store, StoredPost};

/// Rows read from the state per query.
const PAGE: usize = 500;
/// Longest a woken-up sync thread waits before looking at the state anyway.
const TICK: Duration = Duration::from_secs(1);

/// How far into `state.sqlite` an index reaches: the last post row and triage entry indexed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCursor {
    /// Last `posts.rowid` indexed.
    pub posts: i64,
    /// Last `triage.id` applied.
    pub triage: i64,
}

impl SyncCursor {
    /// Parses a commit payload; an unreadable one starts from zero (a full, idempotent
    /// re-sync) rather than skipping anything.
    pub fn from_payload(payload: &str) -> SyncCursor {
        Self::parse(payload).unwrap_or_else(|| {
            tracing::warn!("unreadable index cursor: re-indexing from the start");
            SyncCursor::default()
        })
    }

    /// The cursor of a commit payload, `None` when it is not one.
    pub fn parse(payload: &str) -> Option<SyncCursor> {
        serde_json::from_str(payload).ok()
    }

    /// The commit payload.
    pub fn to_payload(self) -> String {
        format!(
            "{{\"posts\":{},\"triage\":{}}}",
            self.posts.max(0),
            self.triage.max(0)
        )
    }
}

/// What one [`sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// New posts indexed.
    pub posts: u64,
    /// Of which with at least one hit.
    pub with_hits: u64,
    /// Posts re-indexed because their triage status changed.
    pub restatused: u64,
}

/// Re-analysis of a post (reindex with a watchlist): finds targets of old rows.
pub type Reanalyze<'a> = &'a dyn Fn(&Post) -> Analysis;

fn add_stored(
    indexer: &mut Indexer,
    store: &Store,
    stored: &StoredPost,
    reanalyze: Option<Reanalyze<'_>>,
    new: bool,
) -> Result<bool, IndexError> {
    let hits = store.hits_of_post(&stored.post.key)?;
    let analysis = reanalyze.map(|f| f(&stored.post));
    let meta = PostMeta::with_targets(&stored.targets, analysis.as_ref(), &hits);
    if new {
        indexer.add_new(&stored.post, &meta)?;
    } else {
        indexer.add(&stored.post, &meta)?;
    }
    Ok(!hits.is_empty())
}

/// Brings the index behind `indexer` up to date with `store`: indexes the posts stored after
/// its cursor, re-indexes the posts whose triage changed, and commits with the new cursor.
/// `progress(done, total)` is called after each new post.
pub fn sync(
    indexer: &mut Indexer,
    store: &Store,
    reanalyze: Option<Reanalyze<'_>>,
    mut progress: impl FnMut(u64, u64),
) -> Result<SyncStats, IndexError> {
    let mut stats = SyncStats::default();
    let mut cursor = indexer.cursor();
    let total = (store.last_post_rowid()? - cursor.posts).max(0) as u64;
    // Post keys are unique in the state, so posts after a trusted cursor are new here.
    let new = indexer.cursor_trusted();
    loop {
        let page = store.posts_after(cursor.posts, PAGE)?;
        let Some(last) = page.last().map(|p| p.rowid) else {
            break;
        };
        for stored in &page {
            let flagged = add_stored(indexer, store, stored, reanalyze, new)?;
            stats.posts += 1;
            stats.with_hits += u64::from(flagged);
            progress(stats.posts, total.max(stats.posts));
        }
        cursor.posts = last;
        indexer.set_cursor(cursor);
    }
    loop {
        let page = store.triage_after(cursor.triage, PAGE)?;
        let Some(last) = page.last().map(|(id, _)| *id) else {
            break;
        };
        let mut keys: Vec<&str> = page.iter().map(|(_, k)| k.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            if let Some(stored) = store.stored_post(key)? {
                add_stored(indexer, store, &stored, reanalyze, false)?;
                stats.restatused += 1;
            }
        }
        cursor.triage = last;
        indexer.set_cursor(cursor);
    }
    indexer.commit()?;
    Ok(stats)
}

/// What `reindex` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReindexStats {
    /// Posts indexed.
    pub posts: u64,
    /// Of which with at least one hit.
    pub with_hits: u64,
}

/// Rebuilds `<data>/tantivy/` from the posts and hits in `store`: builds a fresh index in
/// `<data>/tantivy.reindex/`, then replaces the old one. Refuses ([`IndexError::Busy`]) while
/// another process writes the live index. `reanalyze`, when given, re-analyzes each post to
/// learn which targets it mentions (rows stored before targets were recorded have none).
pub fn reindex(
    data: &Path,
    store: &Store,
    reanalyze: Option<Reanalyze<'_>>,
    progress: impl FnMut(u64, u64),
) -> Result<ReindexStats, IndexError> {
    let dir = index_dir(data);
    // Hold the live index's writer lock while rebuilding, so no one writes to it meanwhile;
    // an index of another version (or a damaged one) is simply replaced.
    let live = match SearchIndex::open_dir(&dir) {
        Ok(index) => Some(index.indexer_with_threads(1, 1)?),
        Err(IndexError::Busy { path }) => return Err(IndexError::Busy { path }),
        Err(_) => None,
    };
    let tmp = data.join(format!("{INDEX_DIR}.reindex"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp, "cannot remove a stale rebuild"))?;
    }
    let index = SearchIndex::create_dir(&tmp)?;
    let mut indexer = index.indexer(10_000)?;
    let stats = sync(&mut indexer, store, reanalyze, progress)?;
    // An empty store still gets a committed (empty) index.
    indexer.set_cursor(SyncCursor {
        posts: indexer.cursor().posts,
        triage: store.last_triage_id()?,
    });
    indexer.pending = indexer.pending.max(1);
    indexer.finish()?;
    drop(index);
    drop(live);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io(&dir, "cannot remove the old index"))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io(&dir, "cannot move the rebuilt index in place"))?;
    Ok(ReindexStats {
        posts: stats.posts,
        with_hits: stats.with_hits,
    })
}

/// How far an index is behind the state: rows stored after its cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lag {
    /// Post rows after the cursor.
    pub posts: i64,
    /// Triage entries after the cursor.
    pub triage: i64,
}

impl Lag {
    /// True when the index holds everything in the state.
    pub fn is_current(self) -> bool {
        self.posts <= 0 && self.triage <= 0
    }
}

/// How far the index of `data` is behind `store`, reading both and writing nothing (so
/// `search` only catches up, which writes, when there is something to catch up on). Fails
/// like [`SearchIndex::open`] when there is no usable index.
pub fn lag(data: &Path, store: &Store) -> Result<Lag, IndexError> {
    let index = SearchIndex::open(data)?;
    let payload = index
        .tantivy()
        .load_metas()
        .map_err(super::tv(index.path(), "cannot read the index metadata"))?
        .payload;
    // An index without a cursor was never synced: everything is behind it.
    let cursor = payload
        .as_deref()
        .and_then(SyncCursor::parse)
        .unwrap_or_default();
    Ok(Lag {
        posts: store.last_post_rowid()? - cursor.posts,
        triage: store.last_triage_id()? - cursor.triage,
    })
}

/// Catches the index of `data` up with `store` if no other process is writing it (that
/// process keeps it current), creating it when missing. Returns what was done, or `None`
/// when another writer holds the index.
pub fn catch_up(data: &Path, store: &Store) -> Result<Option<SyncStats>, IndexError> {
    let index = SearchIndex::open_or_create(data)?;
    let mut indexer = match index.indexer_with_threads(PAGE, 1) {
        Ok(i) => i,
        Err(IndexError::Busy { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let stats = sync(&mut indexer, store, None, |_, _| {})?;
    indexer.finish()?;
    Ok(Some(stats))
}

enum Msg {
    Wake,
    Finish,
}

/// The live index writer: a thread that owns the one `IndexWriter` and syncs the index with
/// the state whenever woken ([`SyncHandle::wake`], after a poll commits) and at least every
/// second (so triage done by another process shows up too).
#[derive(Debug)]
pub struct SyncHandle {
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<Result<SyncStats, IndexError>>>,
}

impl SyncHandle {
    /// Opens (or creates) the index of `data` and starts its writer thread. `Ok(None)` when
    /// another process is writing the index (it keeps it current); an index of another
    /// schema version is an error that says to run `mimamori reindex`.
    pub fn start(data: &Path, store: Arc<Store>) -> Result<Option<SyncHandle>, IndexError> {
        let index = SearchIndex::open_or_create(data)?;
        let mut indexer = match index.indexer_with_threads(PAGE, 1) {
            Ok(i) => i,
            Err(IndexError::Busy { path }) => {
                tracing::info!(path = %path.display(), "another process keeps the search index");
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("mimamori-index".into())
            .spawn(move || {
                let _index = index;
                let mut total = SyncStats::default();
                let mut round = |indexer: &mut Indexer| match sync(indexer, &store, None, |_, _| {})
                {
                    Ok(s) => {
                        if s.posts + s.restatused > 0 {
                            tracing::debug!(
                                posts = s.posts,
                                restatused = s.restatused,
                                "index synced"
                            );
                        }
                        total.posts += s.posts;
                        total.with_hits += s.with_hits;
                        total.restatused += s.restatused;
                    }
                    // The state is the truth and the cursor did not move: the next round
                    // retries the same rows.
                    Err(e) => tracing::warn!(error = %e, "index sync failed; retrying"),
                };
                // Finish, or every sender gone, ends the loop.
                while let Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) = rx.recv_timeout(TICK) {
                    round(&mut indexer);
                }
                round(&mut indexer);
                indexer.finish()?;
                Ok(total)
            })
            .map_err(io(&index_dir(data), "cannot start the index thread"))?;
        Ok(Some(SyncHandle {
            tx,
            thread: Some(thread),
        }))
    }

    /// Asks for a sync now (new posts or triage were committed).
    pub fn wake(&self) {
        let _ = self.tx.send(Msg::Wake);
    }

    /// Syncs once more, commits, stops the thread and returns what it indexed in all.
    pub fn finish(mut self) -> Result<SyncStats, IndexError> {
        let _ = self.tx.send(Msg::Finish);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(IndexError::Thread),
            None => Ok(SyncStats::default()),
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Finish);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
