//! The project's memory: decisions, preferences and feedback, each under a stable uid.
//! The store keeps a memory's body as JSON and does not read it; the workspace crate
//! says what is in it.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BoxFuture, SqliteStore, StoreError};

/// One memory as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryRecord {
    /// Assigned by the store; ignored when writing.
    pub id: i64,
    /// Stable across writes: writing a memory with the uid of one stored replaces it.
    pub uid: String,
    /// `decision`, `preference` or `feedback`.
    pub kind: String,
    /// When it was first recorded, in milliseconds since the epoch (kept on replace).
    pub made_ms: i64,
    pub body: serde_json::Value,
}

/// Where memories are written and read back.
pub trait MemoryLog: Send + Sync {
    /// Adds a memory, or replaces the one with its uid; returns its id.
    fn put_memory(&self, memory: MemoryRecord) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// Every memory, oldest first.
    fn memories(&self) -> BoxFuture<'_, Result<Vec<MemoryRecord>, StoreError>>;
}

fn memory_of(row: &sqlx::sqlite::SqliteRow) -> MemoryRecord {
    MemoryRecord {
        id: row.get(0),
        uid: row.get(1),
        kind: row.get(2),
        made_ms: row.get(3),
        body: serde_json::from_str(row.get::<&str, _>(4)).unwrap_or(serde_json::Value::Null),
    }
}

impl SqliteStore {
    /// One memory by its uid, as kept here.
    pub(crate) async fn memory_by_uid(
        &self,
        uid: &str,
    ) -> Result<Option<MemoryRecord>, StoreError> {
        let row = sqlx::query("SELECT id, uid, kind, made_ms, body FROM memories WHERE uid = ?1")
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(memory_of))
    }
}

impl MemoryLog for SqliteStore {
    fn put_memory(&self, memory: MemoryRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO memories (uid, kind, made_ms, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(uid) DO UPDATE SET kind = excluded.kind, body = excluded.body
                 RETURNING id",
            )
            .bind(&memory.uid)
            .bind(&memory.kind)
            .bind(memory.made_ms)
            .bind(memory.body.to_string())
            .fetch_one(&mut *tx)
            .await?;
            self.enqueue(
                &mut tx,
                crate::outbox::MEMORY,
                serde_json::json!(memory.uid),
            )
            .await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    fn memories(&self) -> BoxFuture<'_, Result<Vec<MemoryRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT id, uid, kind, made_ms, body FROM memories ORDER BY id")
                .fetch_all(&self.pool)
                .await?;
            Ok(rows.iter().map(memory_of).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(uid: &str, made_ms: i64, text: &str) -> MemoryRecord {
        MemoryRecord {
            id: 0,
            uid: uid.into(),
            kind: "decision".into(),
            made_ms,
            body: serde_json::json!({ "text": text }),
        }
    }

    #[tokio::test]
    async fn a_memory_is_replaced_by_uid_and_keeps_its_id_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SqliteStore::open(&dir.path().join("m.sqlite"), "v1")
            .await
            .unwrap();
        let a = store
            .put_memory(memory("adr:a.md", 10, "one"))
            .await
            .unwrap();
        let b = store.put_memory(memory("r:b", 20, "two")).await.unwrap();
        assert_ne!(a, b);
        let again = store
            .put_memory(memory("adr:a.md", 30, "one, edited"))
            .await
            .unwrap();
        assert_eq!(again, a);
        store.close().await;
        // Another extractor: the index goes, memories stay.
        let (store, _) = SqliteStore::open(&dir.path().join("m.sqlite"), "v2")
            .await
            .unwrap();
        let all = store.memories().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].id, a);
        assert_eq!(all[0].made_ms, 10);
        assert_eq!(all[0].body["text"], "one, edited");
        assert_eq!(all[1].uid, "r:b");
    }
}
