//! [`SharedStore`]: the team's PostgreSQL store in front of the embedded one.
//!
//! Every write goes to the embedded store first, which queues it in the same transaction
//! (see `outbox`); a background task replays the queue into PostgreSQL in order, and
//! deletes each entry once PostgreSQL has committed it. PostgreSQL keeps, per client, the
//! last entry it applied, in the same transaction as the write, so an entry replayed
//! again (the server died between PostgreSQL's commit and the delete) is skipped: nothing
//! is lost, nothing is written twice.
//!
//! PostgreSQL down at start or dying later changes nothing for the caller: writes
//! succeed locally and wait, reads come from the embedded store, and [`Health`] events
//! say when the backend went and came back. Reads go to PostgreSQL while it is up (the
//! team's whole memory), except the index while writes of this server still wait.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Weak,
    },
    time::{Duration, Instant},
};

use tokio::sync::{mpsc, Notify, OnceCell};
use tracing::{debug, info, warn};

use crate::{
    BoxFuture, FileRecord, IndexStore, MemoryLog, MemoryRecord, PgStore, Point, Resolved, RunLog,
    RunRecord, SeriesLog, SeriesQuery, SqliteStore, Store, StoreError, Subject,
};

/// Entries replayed per read of the queue.
const REPLAY_BATCH: u32 = 64;
/// How long opening waits for PostgreSQL before it goes on without it.
const FIRST_CONNECT: Duration = Duration::from_secs(1);
/// The longest wait between two attempts to reach a backend that is down.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A change of the backend's state, for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// Unreachable (at start, or since a write failed): why. Writes wait in the queue.
    Down(String),
    /// Reachable again; the queue is being replayed.
    Up,
}

/// Where to reach the backend.
struct Remote {
    url: String,
    key: String,
    fingerprint: String,
}

pub struct SharedStore {
    local: SqliteStore,
    remote: Remote,
    pg: OnceCell<PgStore>,
    up: AtomicBool,
    client: String,
    /// Woken by each write, for the replayer.
    queued: Notify,
    /// Woken each time the replayer found the queue empty.
    drained: Notify,
    /// Cuts short the replayer's pause after a failure (someone is waiting).
    retry: Arc<Notify>,
    /// Woken each time an attempt to reach PostgreSQL failed.
    failed: Notify,
    events: mpsc::UnboundedSender<Health>,
}

impl SharedStore {
    /// Puts PostgreSQL at `url` (project `key`) in front of `local`, and starts the
    /// replayer. Never fails: a backend that does not answer is retried in the
    /// background, and its state comes as [`Health`] events (the first one says whether
    /// it answered now).
    pub async fn open(
        local: SqliteStore,
        url: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<(Arc<SharedStore>, mpsc::UnboundedReceiver<Health>), StoreError> {
        local.queue_writes();
        let client = local.client_id().await?;
        let (events, health) = mpsc::unbounded_channel();
        let store = Arc::new(SharedStore {
            local,
            remote: Remote {
                url: url.to_string(),
                key: key.to_string(),
                fingerprint: fingerprint.to_string(),
            },
            pg: OnceCell::new(),
            up: AtomicBool::new(false),
            client,
            queued: Notify::new(),
            drained: Notify::new(),
            retry: Arc::new(Notify::new()),
            failed: Notify::new(),
            events,
        });
        // A second at most: a server that is down (sqlx retries a refused connection
        // until its pool's timeout) must not hold the start up; the replayer keeps trying.
        match tokio::time::timeout(FIRST_CONNECT, store.connect()).await {
            Ok(Ok(_)) => {
                store.up.store(true, Ordering::SeqCst);
                let _ = store.events.send(Health::Up);
            }
            Ok(Err(e)) => store.went_down(&e),
            Err(_) => store.went_down(&StoreError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no answer within {} ms", FIRST_CONNECT.as_millis()),
            ))),
        }
        tokio::spawn(replayer(Arc::downgrade(&store)));
        Ok((store, health))
    }

    /// The embedded store behind.
    pub fn local(&self) -> &SqliteStore {
        &self.local
    }

    /// Whether PostgreSQL answered the last time it was asked.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// Writes waiting for PostgreSQL.
    pub async fn pending(&self) -> Result<u64, StoreError> {
        self.local.outbox_len().await
    }

    async fn connect(&self) -> Result<&PgStore, StoreError> {
        self.pg
            .get_or_try_init(|| async {
                let (pg, opened) =
                    PgStore::open(&self.remote.url, &self.remote.key, &self.remote.fingerprint)
                        .await?;
                info!("shared store for project {} ({opened:?})", self.remote.key);
                Ok(pg)
            })
            .await
    }

    fn went_down(&self, e: &StoreError) {
        if self.up.swap(false, Ordering::SeqCst) || self.pg.get().is_none() {
            warn!(
                "shared store of {} is unavailable ({e}); writes wait in the embedded store",
                self.remote.key
            );
        }
        let _ = self.events.send(Health::Down(e.to_string()));
    }

    fn came_up(&self) {
        if !self.up.swap(true, Ordering::SeqCst) {
            info!("shared store of {} is back; replaying", self.remote.key);
            let _ = self.events.send(Health::Up);
        }
    }

    /// Replays some of the queue; how many entries were done (0: it is empty).
    async fn replay_some(&self) -> Result<usize, StoreError> {
        let pg = self.connect().await?;
        let entries = self.local.outbox_head(REPLAY_BATCH).await?;
        if entries.is_empty() {
            // The backend may have died with nothing to write: ask it, cheaply, so
            // that reads do not keep going to a dead server.
            if !self.is_up() {
                sqlx::query("SELECT 1").execute(&pg.pool).await?;
            }
            self.came_up();
            return Ok(0);
        }
        for entry in &entries {
            let op = self.local.outbox_op(entry).await?;
            let applied = pg.apply_once(&self.client, entry.seq, &op).await?;
            if !applied {
                debug!("outbox entry {} was applied already", entry.seq);
            }
            self.local.outbox_done(entry.seq).await?;
            self.came_up();
        }
        Ok(entries.len())
    }

    /// Runs a read on PostgreSQL while it is up; `None` sends the caller to the
    /// embedded store.
    async fn read_remote<'a, T>(
        &'a self,
        read: impl FnOnce(&'a PgStore) -> BoxFuture<'a, Result<T, StoreError>>,
    ) -> Option<T> {
        if !self.is_up() {
            return None;
        }
        let pg = self.pg.get()?;
        match read(pg).await {
            Ok(value) => Some(value),
            Err(e) => {
                self.went_down(&e);
                self.queued.notify_one();
                None
            }
        }
    }

    /// Waits, at most `limit`, until PostgreSQL is up and holds every write made here;
    /// whether it came to that.
    pub async fn replayed(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            // Registered before looking, so that a drain in between is not missed.
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.is_up() && self.pending().await.is_ok_and(|n| n == 0) {
                return true;
            }
            self.queued.notify_one();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, drained).await.is_err() {
                return self.is_up() && self.pending().await.is_ok_and(|n| n == 0);
            }
        }
    }

    fn wrote(&self) {
        self.queued.notify_one();
    }
}

/// Replays the queue whenever something is written, and retries a backend that is
/// down with a growing pause; ends when the store is dropped.
async fn replayer(store: Weak<SharedStore>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let Some(this) = store.upgrade() else {
            return;
        };
        match this.replay_some().await {
            Ok(0) => {
                backoff = Duration::from_millis(100);
                this.drained.notify_waiters();
                // Woken by a write; the timeout only lets a dropped store end the task.
                let _ = tokio::time::timeout(Duration::from_secs(1), this.queued.notified()).await;
            }
            Ok(_) => backoff = Duration::from_millis(100),
            Err(e) => {
                this.went_down(&e);
                this.failed.notify_waiters();
                let retry = this.retry.clone();
                drop(this);
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = retry.notified() => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl IndexStore for SharedStore {
    fn load(&self) -> BoxFuture<'_, Result<Vec<FileRecord>, StoreError>> {
        Box::pin(async move {
            // The team's records, unless this server's own writes have yet to reach them.
            if self.pending().await? == 0 {
                if let Some(records) = self.read_remote(|pg| pg.load()).await {
                    return Ok(records);
                }
            }
            self.local.load().await
        })
    }

    fn save(&self, records: Vec<FileRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.local.save(records).await?;
            self.wrote();
            Ok(())
        })
    }

    fn remove(&self, rels: Vec<String>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.local.remove(rels).await?;
            self.wrote();
            Ok(())
        })
    }

    fn load_resolved(&self) -> BoxFuture<'_, Result<Option<Resolved>, StoreError>> {
        Box::pin(async move {
            if self.pending().await? == 0 {
                if let Some(resolved) = self.read_remote(|pg| pg.load_resolved()).await {
                    return Ok(resolved);
                }
            }
            self.local.load_resolved().await
        })
    }

    fn save_resolved(&self, key: u64, data: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.local.save_resolved(key, data).await?;
            self.wrote();
            Ok(())
        })
    }
}

impl RunLog for SharedStore {
    /// Recorded here at once; the id is this store's.
    fn record_run(&self, run: RunRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let id = self.local.record_run(run).await?;
            self.wrote();
            Ok(id)
        })
    }

    fn runs(
        &self,
        subject: Subject,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let remote = subject.clone();
            match self.read_remote(|pg| pg.runs(remote, limit)).await {
                Some(runs) => Ok(runs),
                None => self.local.runs(subject, limit).await,
            }
        })
    }
}

impl SeriesLog for SharedStore {
    fn write_points(&self, points: Vec<Point>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            self.local.write_points(points).await?;
            self.wrote();
            Ok(())
        })
    }

    fn points(&self, query: SeriesQuery) -> BoxFuture<'_, Result<Vec<Point>, StoreError>> {
        Box::pin(async move {
            let remote = query.clone();
            match self.read_remote(|pg| pg.points(remote)).await {
                Some(points) => Ok(points),
                None => self.local.points(query).await,
            }
        })
    }
}

impl MemoryLog for SharedStore {
    fn put_memory(&self, memory: MemoryRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let id = self.local.put_memory(memory).await?;
            self.wrote();
            Ok(id)
        })
    }

    /// The team's memories while PostgreSQL is up, with those written here that still
    /// wait for it as they are here; the embedded store's while it is down.
    fn memories(&self) -> BoxFuture<'_, Result<Vec<MemoryRecord>, StoreError>> {
        Box::pin(async move {
            let Some(mut team) = self.read_remote(|pg| pg.memories()).await else {
                return self.local.memories().await;
            };
            let pending = self.local.pending_memories().await?;
            if !pending.is_empty() {
                for mine in self.local.memories().await? {
                    if !pending.contains(&mine.uid) {
                        continue;
                    }
                    match team.iter_mut().find(|m| m.uid == mine.uid) {
                        Some(theirs) => {
                            *theirs = MemoryRecord {
                                id: theirs.id,
                                ..mine
                            }
                        }
                        None => team.push(MemoryRecord {
                            id: team.len() as i64 + 1,
                            ..mine
                        }),
                    }
                }
            }
            Ok(team)
        })
    }
}

impl Store for SharedStore {
    fn describe(&self) -> String {
        format!(
            "PostgreSQL, project {} ({}), queued in {}",
            self.remote.key,
            if self.is_up() { "up" } else { "down" },
            self.local.path().display()
        )
    }

    fn graph_tables(&self) -> Option<&PgStore> {
        self.pg.get().filter(|_| self.is_up())
    }

    fn embedded(&self) -> Option<&SqliteStore> {
        Some(&self.local)
    }

    fn is_shared(&self) -> bool {
        true
    }

    /// Waits for the queue while PostgreSQL is up. One that was down is tried once more
    /// at once (it may be back while the replayer waits out its pause); if that attempt
    /// fails, the queue stays on disk for the next start.
    fn settle(&self, limit: Duration) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            if self.is_up() {
                return self.replayed(limit).await;
            }
            let failed = self.failed.notified();
            tokio::pin!(failed);
            failed.as_mut().enable();
            self.retry.notify_one();
            tokio::select! {
                done = self.replayed(limit) => done,
                _ = failed => false,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunKind;

    /// The shared test server's URL (`.ci/services`), as the end-to-end tests read it.
    fn postgres_url() -> Option<String> {
        let url = std::env::var("CODECONTEXT_TEST_POSTGRES_URL").ok();
        if url.is_none() && std::env::var_os("CODECONTEXT_REQUIRE_SERVICES").is_some() {
            panic!("CODECONTEXT_TEST_POSTGRES_URL is required (CODECONTEXT_REQUIRE_SERVICES)");
        }
        url
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_replayed_again_is_applied_once() {
        let Some(url) = postgres_url() else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let (local, _) = SqliteStore::open(&dir.path().join("w.sqlite"), "v1")
            .await
            .unwrap();
        let key = format!("test://replay-once/{:?}", Instant::now());
        let (store, _) = SharedStore::open(local, &url, &key, "v1").await.unwrap();
        let run = RunRecord {
            id: 0,
            at_ms: 1,
            kind: RunKind::Execute,
            status: "ok".into(),
            edit_hash: None,
            diff: None,
            symbols: vec![],
            files: vec![],
            wall_ms: 1,
            cpu_ms: 1,
            peak_memory_bytes: 1,
            passed: 0,
            failed: 0,
            detail: serde_json::Value::Null,
        };
        let id = store.record_run(run).await.unwrap();
        assert!(store.replayed(Duration::from_secs(30)).await);
        // As if the server had died after PostgreSQL's commit and before the entry was
        // deleted here: the same entry, with the same number, comes again.
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
            .fetch_one(&store.local.pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO outbox (seq, op, payload) VALUES (?1, 'run', ?2)")
            .bind(seq)
            .bind(id.to_string())
            .execute(&store.local.pool)
            .await
            .unwrap();
        assert_eq!(store.pending().await.unwrap(), 1);
        store.wrote();
        assert!(store.replayed(Duration::from_secs(30)).await);
        let (pg, _) = PgStore::open(&url, &key, "v1").await.unwrap();
        assert_eq!(pg.runs(Subject::Any, 10).await.unwrap().len(), 1);
    }
}
