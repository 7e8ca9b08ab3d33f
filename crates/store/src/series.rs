//! Time series of performance: index timings, verifications and per-test durations, as
//! points with a measurement, tags (project, file, symbol, test, ...) and numeric
//! fields. The embedded store keeps them in SQLite; the team's InfluxDB is another
//! [`SeriesLog`] (in `codecontext-team`).

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BoxFuture, PgStore, SqliteStore, StoreError};

/// One measurement at one time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Point {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    /// `index`, `verify`, `test`, `execute`.
    pub measurement: String,
    /// Read back in key order.
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, f64)>,
}

impl Point {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn field(&self, key: &str) -> Option<f64> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The points of one measurement that carry all these tags, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesQuery {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub limit: u32,
}

/// Where series are written and read back.
pub trait SeriesLog: Send + Sync {
    fn write_points(&self, points: Vec<Point>) -> BoxFuture<'_, Result<(), StoreError>>;
    fn points(&self, query: SeriesQuery) -> BoxFuture<'_, Result<Vec<Point>, StoreError>>;
}

fn tags_json(tags: &[(String, String)]) -> serde_json::Value {
    serde_json::Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

fn fields_json(fields: &[(String, f64)]) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), serde_json::Number::from_f64(*v)?.into())))
            .collect(),
    )
}

fn point_of(
    at_ms: i64,
    measurement: String,
    tags: &serde_json::Value,
    fields: &serde_json::Value,
) -> Point {
    let pairs = |v: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        v.as_object()
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    };
    Point {
        at_ms,
        measurement,
        tags: pairs(tags)
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
            .collect(),
        fields: pairs(fields)
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_f64()?)))
            .collect(),
    }
}

/// A point from a row whose columns `first..first + 4` are `at_ms, measurement, tags,
/// fields`.
fn point_from(row: &sqlx::sqlite::SqliteRow, first: usize) -> Point {
    let tags: String = row.get(first + 2);
    let fields: String = row.get(first + 3);
    point_of(
        row.get(first),
        row.get(first + 1),
        &serde_json::from_str(&tags).unwrap_or_default(),
        &serde_json::from_str(&fields).unwrap_or_default(),
    )
}

impl SqliteStore {
    /// Points by their ids (a JSON array), in the order they were written.
    pub(crate) async fn points_by_id(&self, ids: &str) -> Result<Vec<Point>, StoreError> {
        let rows = sqlx::query(
            "SELECT at_ms, measurement, tags, fields FROM series
             WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|row| point_from(row, 0)).collect())
    }

    /// The points written after the one numbered `after`, oldest first, at most `limit`,
    /// each with its number: what a forwarder has still to send. Numbers only grow (one
    /// writer at a time, and ids are never reused).
    pub async fn points_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Point)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, measurement, tags, fields FROM series
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| (row.get(0), point_from(row, 1)))
            .collect())
    }

    /// The number of the newest point; 0 when there is none.
    pub async fn last_point(&self) -> Result<i64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT max(id) FROM series")
            .fetch_one(&self.pool)
            .await?;
        Ok(last.unwrap_or(0))
    }

    /// How far the forwarder `name` has got: the number of the last point it delivered
    /// (0: none yet).
    pub async fn forwarded(&self, name: &str) -> Result<i64, StoreError> {
        let mark: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
            .bind(format!("forwarded:{name}"))
            .fetch_optional(&self.pool)
            .await?;
        Ok(mark.and_then(|m| m.parse().ok()).unwrap_or(0))
    }

    /// Records that the forwarder `name` delivered every point up to number `id`.
    pub async fn set_forwarded(&self, name: &str, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(format!("forwarded:{name}"))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl SeriesLog for SqliteStore {
    fn write_points(&self, points: Vec<Point>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let mut ids = Vec::with_capacity(points.len());
            for p in &points {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO series (at_ms, measurement, tags, fields) VALUES (?1, ?2, ?3, ?4)
                     RETURNING id",
                )
                .bind(p.at_ms)
                .bind(&p.measurement)
                .bind(tags_json(&p.tags).to_string())
                .bind(fields_json(&p.fields).to_string())
                .fetch_one(&mut *tx)
                .await?;
                ids.push(id);
                for (k, v) in &p.tags {
                    sqlx::query(
                        "INSERT INTO series_tags (point_id, key, value) VALUES (?1, ?2, ?3)",
                    )
                    .bind(id)
                    .bind(k)
                    .bind(v)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if !ids.is_empty() {
                self.enqueue(&mut tx, crate::outbox::POINTS, serde_json::json!(ids))
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn points(&self, query: SeriesQuery) -> BoxFuture<'_, Result<Vec<Point>, StoreError>> {
        Box::pin(async move {
            // One lookup per tag, all of which must hold.
            let mut sql = String::from(
                "SELECT s.at_ms, s.measurement, s.tags, s.fields FROM series s WHERE s.measurement = ?",
            );
            for _ in &query.tags {
                sql.push_str(
                    " AND s.id IN (SELECT point_id FROM series_tags WHERE key = ? AND value = ?)",
                );
            }
            sql.push_str(" ORDER BY s.at_ms DESC, s.id DESC LIMIT ?");
            let mut q = sqlx::query(&sql).bind(&query.measurement);
            for (k, v) in &query.tags {
                q = q.bind(k).bind(v);
            }
            let rows = q.bind(query.limit as i64).fetch_all(&self.pool).await?;
            Ok(rows.iter().map(|row| point_from(row, 0)).collect())
        })
    }
}

impl PgStore {
    pub(crate) async fn write_points_in(
        &self,
        conn: &mut sqlx::PgConnection,
        points: &[Point],
    ) -> Result<(), StoreError> {
        if points.is_empty() {
            return Ok(());
        }
        let at: Vec<i64> = points.iter().map(|p| p.at_ms).collect();
        let measurement: Vec<&str> = points.iter().map(|p| p.measurement.as_str()).collect();
        let tags: Vec<serde_json::Value> = points.iter().map(|p| tags_json(&p.tags)).collect();
        let fields: Vec<serde_json::Value> =
            points.iter().map(|p| fields_json(&p.fields)).collect();
        sqlx::query(
            "INSERT INTO series (project, at_ms, measurement, tags, fields)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::jsonb[], $5::jsonb[])",
        )
        .bind(self.project)
        .bind(&at)
        .bind(&measurement)
        .bind(&tags)
        .bind(&fields)
        .execute(conn)
        .await?;
        Ok(())
    }
}

impl SeriesLog for PgStore {
    fn write_points(&self, points: Vec<Point>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            self.write_points_in(&mut conn, &points).await
        })
    }

    fn points(&self, query: SeriesQuery) -> BoxFuture<'_, Result<Vec<Point>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT at_ms, measurement, tags, fields FROM series
                 WHERE project = $1 AND measurement = $2 AND tags @> $3
                 ORDER BY at_ms DESC, id DESC LIMIT $4",
            )
            .bind(self.project)
            .bind(&query.measurement)
            .bind(tags_json(&query.tags))
            .bind(query.limit as i64)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let tags: serde_json::Value = row.get(2);
                    let fields: serde_json::Value = row.get(3);
                    point_of(row.get(0), row.get(1), &tags, &fields)
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: i64, test: &str, ms: f64) -> Point {
        Point {
            at_ms,
            measurement: "test".into(),
            tags: vec![
                ("file".into(), "src/lib.rs".into()),
                ("project".into(), "p".into()),
                ("test".into(), test.into()),
            ],
            fields: vec![("duration_ms".into(), ms)],
        }
    }

    #[tokio::test]
    async fn points_come_back_by_tag_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SqliteStore::open(&dir.path().join("w.sqlite"), "v1")
            .await
            .unwrap();
        store
            .write_points(vec![
                point(1, "tests::adds", 1.5),
                point(2, "tests::doubles", 2.0),
                point(3, "tests::adds", 0.25),
            ])
            .await
            .unwrap();
        let adds = store
            .points(SeriesQuery {
                measurement: "test".into(),
                tags: vec![("test".into(), "tests::adds".into())],
                limit: 10,
            })
            .await
            .unwrap();
        assert_eq!(
            adds,
            [point(3, "tests::adds", 0.25), point(1, "tests::adds", 1.5)]
        );
        assert_eq!(adds[0].field("duration_ms"), Some(0.25));
        assert_eq!(adds[0].tag("file"), Some("src/lib.rs"));
        let none = store
            .points(SeriesQuery {
                measurement: "verify".into(),
                tags: vec![("test".into(), "tests::adds".into())],
                limit: 10,
            })
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    /// A store in memory keeps what it is given for as long as it lives, across queries
    /// run concurrently, and numbers points for a forwarder as a file store does.
    #[tokio::test]
    async fn a_store_in_memory_is_one_database_that_stays() {
        let store = std::sync::Arc::new(SqliteStore::in_memory().await.unwrap());
        let writers: Vec<_> = (0..4)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .write_points(vec![point(n, "tests::adds", n as f64)])
                        .await
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let all = store.points_after(0, 100).await.unwrap();
        assert_eq!(all.len(), 4);
        let last = store.last_point().await.unwrap();
        store.set_forwarded("influx", last).await.unwrap();
        assert_eq!(store.forwarded("influx").await.unwrap(), last);
        assert!(store.points_after(last, 100).await.unwrap().is_empty());
    }
}
