//! Persistence of the index, behind [`IndexStore`].
//!
//! What is stored is one [`FileRecord`] per file of a workspace folder: the file's size,
//! mtime and content hash when it was extracted, and the extraction (an opaque blob the
//! analysis crate encodes). A warm start compares size and mtime (then the hash) with the
//! disk and re-parses only what changed. Next to the records sits one blob of saved
//! resolutions, keyed by the records it was computed from, so that a start whose records
//! all still hold skips resolving too; with any other key it is ignored.
//!
//! Beside the index, [`RunLog`] keeps the history of executions and verifications, and
//! [`MemoryLog`] the project's decisions, preferences and feedback.
//!
//! [`SqliteStore`] is the embedded default: one SQLite database (WAL) per workspace
//! folder in the user's cache directory. A server backend (PostgreSQL) is another
//! implementation of the same trait.

use std::{
    future::Future,
    path::{Path, PathBuf},
    pin::Pin,
    str::FromStr,
    time::Duration,
};

use sqlx::{
    migrate::MigrateError,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    Row, SqlitePool,
};
use tracing::{info, warn};

mod changelog;
mod memories;
mod outbox;
mod pg;
mod pg_graph;
mod runs;
mod series;
mod shared;

pub use changelog::{ChangeLog, ChangeRow, CommitChanges, CommitRow, CommitStyle, KeyRename};
pub use memories::{MemoryLog, MemoryRecord};
pub use pg::{project_key, PgStore};
pub use runs::{short_name, RunKind, RunLog, RunRecord, Subject};
pub use series::{Point, SeriesLog, SeriesQuery};
pub use shared::{Health, SharedStore};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Saved resolutions: the key of the records they belong to, and the blob.
pub type Resolved = (u64, Vec<u8>);

/// One file as it was extracted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// Relative to the workspace folder, `/`-separated.
    pub rel: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// xxh3 of the content (see [`content_hash`]).
    pub hash: u64,
    /// The extraction, encoded by the analysis crate.
    pub data: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("index store: {0}")]
    Database(#[from] sqlx::Error),
    #[error("index store migration: {0}")]
    Migrate(#[from] MigrateError),
    #[error("index store file: {0}")]
    Io(#[from] std::io::Error),
}

/// Where a workspace folder's index lives, and how it is read and written.
pub trait IndexStore: Send + Sync {
    /// Every record of the folder.
    fn load(&self) -> BoxFuture<'_, Result<Vec<FileRecord>, StoreError>>;
    /// Adds or replaces records, in one transaction.
    fn save(&self, records: Vec<FileRecord>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Forgets files (deleted from the folder).
    fn remove(&self, rels: Vec<String>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The saved resolutions of the folder, with the key of the records they belong to.
    fn load_resolved(&self) -> BoxFuture<'_, Result<Option<Resolved>, StoreError>>;
    /// Replaces the saved resolutions.
    fn save_resolved(&self, key: u64, data: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Everything a workspace folder's store does: the index, the run history, the
/// performance series and the project's memory. The
/// embedded [`SqliteStore`] and the shared [`PgStore`] both are one.
pub trait Store: IndexStore + RunLog + SeriesLog + MemoryLog {
    /// Waits, at most `limit`, until every write has reached the shared backend (there is
    /// none for the embedded store), unless that backend is down; whether they did.
    fn settle(&self, limit: Duration) -> BoxFuture<'_, bool> {
        let _ = limit;
        Box::pin(async { true })
    }

    /// The shared PostgreSQL store, while it is up, for the graph's tables.
    fn graph_tables(&self) -> Option<&PgStore> {
        None
    }
    /// Whether a shared backend stands behind this store, up or down.
    fn is_shared(&self) -> bool {
        false
    }
    /// The embedded store that every write lands in first, if there is one: it numbers
    /// the points, for forwarding them elsewhere.
    fn embedded(&self) -> Option<&SqliteStore> {
        None
    }
    /// Where it is, for the log (credentials left out).
    fn describe(&self) -> String;
}

impl Store for SqliteStore {
    fn embedded(&self) -> Option<&SqliteStore> {
        Some(self)
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

impl Store for PgStore {
    fn describe(&self) -> String {
        format!("PostgreSQL, project {}", self.project_key())
    }
}

/// The hash stored in [`FileRecord::hash`].
pub fn content_hash(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// The database file of a workspace folder: its name for people, a hash of its full
/// path for uniqueness.
pub fn store_path(home: &Path, root: &Path) -> PathBuf {
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let hash = xxhash_rust::xxh3::xxh3_64(root.as_os_str().as_encoded_bytes());
    home.join(format!("{name}-{hash:016x}.sqlite"))
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The embedded store: SQLite in WAL mode, safe for several servers on one folder
/// (SQLite's locking; writers wait for each other up to a timeout).
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    path: PathBuf,
    /// Whether writes also queue themselves for a shared backend (see [`SharedStore`]).
    pub(crate) queue: std::sync::atomic::AtomicBool,
}

/// What opening found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The store was there, written by the same extractor.
    Reused,
    /// New, or emptied because another extractor version wrote it.
    Fresh,
    /// Unreadable or from an incompatible version: moved aside to this path and rebuilt.
    Rebuilt(PathBuf),
}

/// Is this error the database itself being unusable (as opposed to busy, or a disk
/// full), so that moving it aside is the cure?
fn is_unusable(err: &StoreError) -> bool {
    match err {
        StoreError::Migrate(MigrateError::VersionMissing(_))
        | StoreError::Migrate(MigrateError::VersionMismatch(_))
        | StoreError::Migrate(MigrateError::VersionTooNew(_, _)) => true,
        StoreError::Migrate(MigrateError::Execute(e)) | StoreError::Database(e) => {
            let text = e.to_string();
            matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("11" | "26")))
                || text.contains("not a database")
                || text.contains("malformed")
                || text.contains("integrity check")
        }
        _ => false,
    }
}

impl SqliteStore {
    /// Opens (or creates) a store file. A file that is corrupt or was written by an
    /// incompatible schema is moved aside and rebuilt; rows written by another
    /// extractor (`fingerprint`) are dropped.
    pub async fn open(path: &Path, fingerprint: &str) -> Result<(SqliteStore, Opened), StoreError> {
        match SqliteStore::try_open(path, fingerprint).await {
            Ok(r) => Ok(r),
            Err(e) if is_unusable(&e) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                let aside = path.with_extension(format!("sqlite.unusable-{stamp}"));
                warn!(
                    "index store {} is unusable ({e}); moved to {} and rebuilt",
                    path.display(),
                    aside.display()
                );
                std::fs::rename(path, &aside)?;
                for suffix in ["-wal", "-shm"] {
                    let mut side = path.as_os_str().to_owned();
                    side.push(suffix);
                    let _ = std::fs::remove_file(PathBuf::from(side));
                }
                let (store, _) = SqliteStore::try_open(path, fingerprint).await?;
                Ok((store, Opened::Rebuilt(aside)))
            }
            Err(e) => Err(e),
        }
    }

    async fn try_open(path: &Path, fingerprint: &str) -> Result<(SqliteStore, Opened), StoreError> {
        let existed = path.exists();
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&pool)
            .await?;
        if check != "ok" {
            pool.close().await;
            return Err(StoreError::Database(sqlx::Error::Protocol(format!(
                "integrity check failed: {check}"
            ))));
        }
        MIGRATOR.run(&pool).await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'fingerprint'")
                .fetch_optional(&pool)
                .await?;
        let opened = if stored.as_deref() == Some(fingerprint) {
            Opened::Reused
        } else {
            if stored.is_some() {
                info!(
                    "index store {} was written by another version; starting afresh",
                    path.display()
                );
            }
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM files").execute(&mut *tx).await?;
            sqlx::query("DELETE FROM resolved")
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('fingerprint', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(fingerprint)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Opened::Fresh
        };
        let opened = if !existed { Opened::Fresh } else { opened };
        Ok((
            SqliteStore {
                pool,
                path: path.to_path_buf(),
                queue: Default::default(),
            },
            opened,
        ))
    }

    /// A store in memory, gone when the server stops: where something waits when nothing
    /// is persisted (performance points bound for InfluxDB while it is down).
    pub async fn in_memory() -> Result<SqliteStore, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // Each connection to `:memory:` is a database of its own: keep exactly one, open.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            path: PathBuf::from(":memory:"),
            queue: Default::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A record from a row of `rel, size, mtime_ns, hash, data`.
pub(crate) fn record_of(row: &sqlx::sqlite::SqliteRow) -> FileRecord {
    FileRecord {
        rel: row.get(0),
        size: row.get::<i64, _>(1) as u64,
        mtime_ns: row.get(2),
        hash: row.get::<i64, _>(3) as u64,
        data: row.get(4),
    }
}

impl IndexStore for SqliteStore {
    fn load(&self) -> BoxFuture<'_, Result<Vec<FileRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT rel, size, mtime_ns, hash, data FROM files")
                .fetch_all(&self.pool)
                .await?;
            Ok(rows.iter().map(record_of).collect())
        })
    }

    fn save(&self, records: Vec<FileRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for r in &records {
                sqlx::query(
                    "INSERT INTO files (rel, size, mtime_ns, hash, data) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(rel) DO UPDATE SET size = excluded.size,
                         mtime_ns = excluded.mtime_ns, hash = excluded.hash, data = excluded.data",
                )
                .bind(&r.rel)
                .bind(r.size as i64)
                .bind(r.mtime_ns)
                .bind(r.hash as i64)
                .bind(&r.data)
                .execute(&mut *tx)
                .await?;
            }
            if !records.is_empty() {
                let rels: Vec<&str> = records.iter().map(|r| r.rel.as_str()).collect();
                self.enqueue(&mut tx, outbox::SAVE, serde_json::json!(rels))
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn remove(&self, rels: Vec<String>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for rel in &rels {
                sqlx::query("DELETE FROM files WHERE rel = ?1")
                    .bind(rel)
                    .execute(&mut *tx)
                    .await?;
            }
            if !rels.is_empty() {
                self.enqueue(&mut tx, outbox::REMOVE, serde_json::json!(rels))
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn load_resolved(&self) -> BoxFuture<'_, Result<Option<Resolved>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT key, data FROM resolved WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|row| (row.get::<i64, _>(0) as u64, row.get(1))))
        })
    }

    fn save_resolved(&self, key: u64, data: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT INTO resolved (id, key, data) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET key = excluded.key, data = excluded.data",
            )
            .bind(key as i64)
            .bind(data)
            .execute(&mut *tx)
            .await?;
            self.enqueue(&mut tx, outbox::RESOLVED, serde_json::Value::Null)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(rel: &str, hash: u64) -> FileRecord {
        FileRecord {
            rel: rel.into(),
            size: 10,
            mtime_ns: 1_700_000_000_000_000_000,
            hash,
            data: vec![1, 2, 3, hash as u8],
        }
    }

    #[tokio::test]
    async fn records_round_trip_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let (store, opened) = SqliteStore::open(&path, "v1").await.unwrap();
        assert_eq!(opened, Opened::Fresh);
        store
            .save(vec![record("a.rs", 1), record("b.rs", u64::MAX)])
            .await
            .unwrap();
        store.save(vec![record("a.rs", 7)]).await.unwrap();
        store.remove(vec!["b.rs".into()]).await.unwrap();
        store.close().await;
        let (store, opened) = SqliteStore::open(&path, "v1").await.unwrap();
        assert_eq!(opened, Opened::Reused);
        assert_eq!(store.load().await.unwrap(), vec![record("a.rs", 7)]);
        assert_eq!(store.load_resolved().await.unwrap(), None);
        store.save_resolved(1, vec![1]).await.unwrap();
        store.save_resolved(u64::MAX, vec![2, 3]).await.unwrap();
        store.close().await;
        let (store, _) = SqliteStore::open(&path, "v1").await.unwrap();
        assert_eq!(
            store.load_resolved().await.unwrap(),
            Some((u64::MAX, vec![2, 3]))
        );
        store.close().await;
        // Another extractor version: the rows are dropped, not misread.
        let (store, opened) = SqliteStore::open(&path, "v2").await.unwrap();
        assert_eq!(opened, Opened::Fresh);
        assert!(store.load().await.unwrap().is_empty());
        assert_eq!(store.load_resolved().await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_moved_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        std::fs::write(
            &path,
            b"this is not a database, just some bytes ".repeat(200),
        )
        .unwrap();
        let (store, opened) = SqliteStore::open(&path, "v1").await.unwrap();
        let Opened::Rebuilt(aside) = opened else {
            panic!("expected a rebuild, got {opened:?}");
        };
        assert!(aside.exists(), "the unusable file is kept for inspection");
        store.save(vec![record("a.rs", 1)]).await.unwrap();
        assert_eq!(store.load().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_store_from_a_newer_schema_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let (store, _) = SqliteStore::open(&path, "v1").await.unwrap();
        // A migration this build does not know, as a newer release would leave.
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'from the future', 1, x'00', 0)",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;
        let (_, opened) = SqliteStore::open(&path, "v1").await.unwrap();
        assert!(matches!(opened, Opened::Rebuilt(_)), "{opened:?}");
    }

    #[test]
    fn store_paths_are_per_folder_and_readable() {
        let home = Path::new("/cache");
        let a = store_path(home, Path::new("/src/my project"));
        let b = store_path(home, Path::new("/other/my project"));
        assert_ne!(a, b);
        assert!(a
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("my_project-"));
    }
}
