//! The versioned schema: migrations applied in order at open, each in its own transaction,
//! the version kept in `schema_version`. A database newer than this build is refused rather
//! than written with assumptions that may no longer hold.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: the crawler's state, hits, triage, outbox, suggestions.
    "CREATE TABLE source_state (
        source_id TEXT PRIMARY KEY,
        last_poll TEXT,
        last_ok TEXT,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_errors INTEGER NOT NULL DEFAULT 0,
        polls INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        posts INTEGER NOT NULL DEFAULT 0,
        hits INTEGER NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        last_notes TEXT
    );
    CREATE TABLE cursors (
        source_id TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source_id, key)
    );
    CREATE TABLE seen (
        post_key TEXT PRIMARY KEY,
        source_id TEXT NOT NULL,
        first_seen TEXT NOT NULL
    );
    CREATE TABLE posts (
        post_key TEXT PRIMARY KEY,
        source_id TEXT NOT NULL,
        url TEXT NOT NULL,
        posted_at TEXT,
        fetched_at TEXT NOT NULL,
        json TEXT NOT NULL
    );
    CREATE TABLE hits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        post_key TEXT NOT NULL,
        source_id TEXT NOT NULL,
        target TEXT NOT NULL,
        categories TEXT NOT NULL,
        pii TEXT NOT NULL,
        severity INTEGER NOT NULL,
        posted_at TEXT,
        url TEXT NOT NULL,
        matches TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        UNIQUE (post_key, target)
    );
    CREATE INDEX hits_target ON hits (target, id);
    CREATE INDEX hits_status ON hits (status, id);
    CREATE TABLE triage (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hit_id INTEGER NOT NULL REFERENCES hits (id),
        status TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    );
    CREATE INDEX triage_hit ON triage (hit_id, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        hit_id INTEGER NOT NULL REFERENCES hits (id),
        sink TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (hit_id, sink)
    );
    CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
    CREATE TABLE suggestions (
        engine TEXT NOT NULL,
        query TEXT NOT NULL,
        day TEXT NOT NULL,
        json TEXT NOT NULL,
        PRIMARY KEY (engine, query, day)
    );",
    // v2: the targets each stored post mentions (JSON array), so the search index is built
    // from state alone; triage statuses of the search issue (`confirmed` → `reviewing`,
    // `dismissed` → `ignored`, `resolved` → `deleted`).
    "ALTER TABLE posts ADD COLUMN targets TEXT NOT NULL DEFAULT '[]';
    UPDATE hits SET status = 'reviewing' WHERE status = 'confirmed';
    UPDATE hits SET status = 'ignored' WHERE status = 'dismissed';
    UPDATE hits SET status = 'deleted' WHERE status = 'resolved';",
    // v3: after the alert — re-checks of flagged posts (the current state per post and the
    // history of every check), and spread tracking (shingle sketches of flagged posts, and
    // which hit copies which).
    "CREATE TABLE post_checks (
        post_key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        since TEXT NOT NULL,
        last_checked TEXT NOT NULL,
        next_check TEXT NOT NULL,
        checks INTEGER NOT NULL DEFAULT 0,
        detail TEXT
    );
    CREATE TABLE rechecks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        post_key TEXT NOT NULL,
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        http_status INTEGER,
        detail TEXT,
        evidence_seq INTEGER
    );
    CREATE INDEX rechecks_post ON rechecks (post_key, id);
    CREATE TABLE sketches (
        post_key TEXT PRIMARY KEY,
        shingles INTEGER NOT NULL,
        hashes BLOB NOT NULL
    );
    CREATE TABLE spread (
        hit_id INTEGER PRIMARY KEY REFERENCES hits (id),
        first_hit_id INTEGER NOT NULL REFERENCES hits (id),
        similarity REAL NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX spread_first ON spread (first_hit_id);",
    // v4: source health as a state (ok, failing, parsing nothing) with its changes as events,
    // each delivered once to every alert sink (operational alerts).
    "ALTER TABLE source_state ADD COLUMN health TEXT NOT NULL DEFAULT 'ok';
    ALTER TABLE source_state ADD COLUMN empty_polls INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE health_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source_id TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE health_deliveries (
        event_id INTEGER NOT NULL REFERENCES health_events (id),
        sink TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        sent_at TEXT,
        PRIMARY KEY (event_id, sink)
    );",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The schema version recorded in the database (0 before the first migration); refuses a
/// database newer than this build.
pub(super) fn read_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let version: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .optional()
        .map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            what: "cannot read the schema version",
            source,
        })?
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Applies the missing migrations; refuses a database newer than this build.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let sq = |what| {
        let path = path.to_path_buf();
        move |source| StoreError::Sqlite { path, what, source }
    };
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(sq("cannot create the schema version table"))?;
    loop {
        // IMMEDIATE: two processes opening a new database at once do not both migrate.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sq("cannot begin a migration"))?;
        let version = read_version(&tx, path)?;
        let Some(step) = MIGRATIONS.get(version as usize) else {
            return Ok(());
        };
        tx.execute_batch(step)
            .map_err(sq("cannot migrate the schema"))?;
        tx.execute("DELETE FROM schema_version", [])
            .map_err(sq("cannot write the schema version"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [version + 1],
        )
        .map_err(sq("cannot write the schema version"))?;
        tx.commit().map_err(sq("cannot commit a migration"))?;
        tracing::debug!(path = %path.display(), version = version + 1, "state schema migrated");
    }
}
