//! The embedded store's queue of writes for a shared backend.
//!
//! When queueing is on, every write of the embedded store also appends one row to its
//! `outbox`, in the same transaction: nothing written here can miss the backend, even if
//! the server dies the moment after. A row names what changed (paths, a run's id, the
//! ids of points) rather than copying it; replaying reads the rows as they are then.
//! That is right because every write is an upsert or an append: a file saved twice
//! replays its latest contents twice, and a file removed since is skipped by the save
//! and removed by the later entry.

use std::sync::atomic::Ordering;

use sqlx::{Row, Sqlite, Transaction};

use crate::{FileRecord, MemoryRecord, Point, RunRecord, SqliteStore, StoreError};

pub(crate) const SAVE: &str = "save";
pub(crate) const REMOVE: &str = "remove";
pub(crate) const RESOLVED: &str = "resolved";
pub(crate) const RUN: &str = "run";
pub(crate) const POINTS: &str = "points";
pub(crate) const MEMORY: &str = "memory";

/// One queued write, as read back for replaying.
#[derive(Debug)]
pub(crate) enum Op {
    Save(Vec<FileRecord>),
    Remove(Vec<String>),
    Resolved(u64, Vec<u8>),
    Run(Box<RunRecord>),
    Points(Vec<Point>),
    Memory(Box<MemoryRecord>),
    /// What it named is gone (a run or points deleted with a reset store): nothing to do.
    Nothing,
}

/// One row of the outbox.
#[derive(Debug)]
pub(crate) struct Entry {
    pub seq: i64,
    pub op: String,
    pub payload: serde_json::Value,
}

impl SqliteStore {
    /// Turns queueing on: from now on every write is also queued.
    pub(crate) fn queue_writes(&self) {
        self.queue.store(true, Ordering::SeqCst);
    }

    pub(crate) async fn enqueue(
        &self,
        tx: &mut Transaction<'_, Sqlite>,
        op: &str,
        payload: serde_json::Value,
    ) -> Result<(), StoreError> {
        if !self.queue.load(Ordering::SeqCst) {
            return Ok(());
        }
        sqlx::query("INSERT INTO outbox (op, payload) VALUES (?1, ?2)")
            .bind(op)
            .bind(payload.to_string())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// This store's name as a client of shared backends: made once, kept in `meta`.
    pub(crate) async fn client_id(&self) -> Result<String, StoreError> {
        let fresh = {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let seed = format!("{now}:{}:{}", std::process::id(), self.path.display());
            format!("{:016x}", xxhash_rust::xxh3::xxh3_64(seed.as_bytes()))
        };
        sqlx::query("INSERT INTO meta (key, value) VALUES ('client', ?1) ON CONFLICT DO NOTHING")
            .bind(&fresh)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'client'")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// The oldest queued writes, at most `limit`.
    pub(crate) async fn outbox_head(&self, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let rows = sqlx::query("SELECT seq, op, payload FROM outbox ORDER BY seq LIMIT ?1")
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Entry {
                seq: row.get(0),
                op: row.get(1),
                payload: serde_json::from_str(row.get::<&str, _>(2))
                    .unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    /// The uids of the memories written here that wait for the shared backend.
    pub(crate) async fn pending_memories(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT json_extract(payload, '$') FROM outbox WHERE op = ?1",
        )
        .bind(MEMORY)
        .fetch_all(&self.pool)
        .await?)
    }

    pub(crate) async fn outbox_len(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub(crate) async fn outbox_done(&self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM outbox WHERE seq = ?1")
            .bind(seq)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// What an entry names, read as it is now.
    pub(crate) async fn outbox_op(&self, entry: &Entry) -> Result<Op, StoreError> {
        let payload = entry.payload.to_string();
        Ok(match entry.op.as_str() {
            SAVE => {
                let rows = sqlx::query(
                    "SELECT rel, size, mtime_ns, hash, data FROM files
                     WHERE rel IN (SELECT value FROM json_each(?1))",
                )
                .bind(&payload)
                .fetch_all(&self.pool)
                .await?;
                Op::Save(rows.iter().map(crate::record_of).collect())
            }
            REMOVE => Op::Remove(serde_json::from_value(entry.payload.clone()).unwrap_or_default()),
            RESOLVED => {
                let row = sqlx::query("SELECT key, data FROM resolved WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await?;
                match row {
                    Some(row) => Op::Resolved(row.get::<i64, _>(0) as u64, row.get(1)),
                    None => Op::Nothing,
                }
            }
            RUN => match entry.payload.as_i64() {
                Some(id) => match self.run_by_id(id).await? {
                    Some(run) => Op::Run(Box::new(run)),
                    None => Op::Nothing,
                },
                None => Op::Nothing,
            },
            POINTS => {
                let points = self.points_by_id(&payload).await?;
                if points.is_empty() {
                    Op::Nothing
                } else {
                    Op::Points(points)
                }
            }
            MEMORY => match entry.payload.as_str() {
                Some(uid) => match self.memory_by_uid(uid).await? {
                    Some(memory) => Op::Memory(Box::new(memory)),
                    None => Op::Nothing,
                },
                None => Op::Nothing,
            },
            other => {
                tracing::warn!("outbox: unknown entry `{other}` skipped");
                Op::Nothing
            }
        })
    }
}
