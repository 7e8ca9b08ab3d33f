//! [`PgStore`]: the shared memory of a team in PostgreSQL, behind the same traits as
//! the embedded store. Every row belongs to a project ([`project_key`]: the repository's
//! remote URL, else the root path), so that servers of several developers share one
//! database; a server's writes are visible to the others' next loads. Writes are
//! batched: one statement per batch of records, in one transaction.

use std::path::Path;

use sqlx::{postgres::PgPoolOptions, PgConnection, PgPool, Row};
use tracing::info;

use crate::outbox::Op;

use crate::{
    runs::short_name, BoxFuture, FileRecord, IndexStore, MemoryLog, MemoryRecord, Opened, Resolved,
    RunKind, RunLog, RunRecord, StoreError, Subject,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-pg");

/// Records written per statement.
const BATCH: usize = 500;

/// One project's view of a shared PostgreSQL database.
pub struct PgStore {
    pub(crate) pool: PgPool,
    pub(crate) project: i64,
    key: String,
}

/// What identifies a project across machines: the URL of the repository's `origin`
/// remote (credentials dropped), else the canonical root path.
pub fn project_key(root: &Path) -> String {
    remote_url(root)
        .map(|url| strip_credentials(&url))
        .unwrap_or_else(|| {
            root.canonicalize()
                .unwrap_or_else(|_| root.to_path_buf())
                .display()
                .to_string()
        })
}

/// `remote "origin"`'s URL from `.git/config`, read directly (no git needed).
fn remote_url(root: &Path) -> Option<String> {
    let config = std::fs::read_to_string(root.join(".git").join("config")).ok()?;
    let mut in_origin = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
        } else if in_origin {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "url" {
                    return Some(value.trim().to_string());
                }
            }
        }
    }
    None
}

/// `https://user:token@host/x` -> `https://host/x`.
fn strip_credentials(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            return format!("{}{}", &url[..scheme_end + 3], &rest[at + 1..]);
        }
    }
    url.to_string()
}

impl PgStore {
    /// Connects (a small pool), migrates, and finds or creates the project. Rows written
    /// by another extractor (`fingerprint`) are dropped, as in the embedded store.
    pub async fn open(
        url: &str,
        project_key: &str,
        fingerprint: &str,
    ) -> Result<(PgStore, Opened), StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await?;
        // Several servers may start at once: migrations take an advisory lock.
        MIGRATOR.run(&pool).await?;
        let row = sqlx::query(
            "INSERT INTO projects (key) VALUES ($1)
             ON CONFLICT (key) DO UPDATE SET key = excluded.key
             RETURNING id, fingerprint",
        )
        .bind(project_key)
        .fetch_one(&pool)
        .await?;
        let project: i64 = row.get(0);
        let stored: String = row.get(1);
        let opened = if stored == fingerprint {
            Opened::Reused
        } else {
            if !stored.is_empty() {
                info!(
                    "shared store of {project_key} was written by another version; starting afresh"
                );
            }
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM files WHERE project = $1")
                .bind(project)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM resolved WHERE project = $1")
                .bind(project)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE projects SET fingerprint = $2 WHERE id = $1")
                .bind(project)
                .bind(fingerprint)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Opened::Fresh
        };
        Ok((
            PgStore {
                pool,
                project,
                key: project_key.to_string(),
            },
            opened,
        ))
    }

    pub fn project_key(&self) -> &str {
        &self.key
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Deletes the project and everything it holds (benchmarks clean up with it).
    pub async fn delete_project(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(self.project)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl IndexStore for PgStore {
    fn load(&self) -> BoxFuture<'_, Result<Vec<FileRecord>, StoreError>> {
        Box::pin(async move {
            let rows =
                sqlx::query("SELECT rel, size, mtime_ns, hash, data FROM files WHERE project = $1")
                    .bind(self.project)
                    .fetch_all(&self.pool)
                    .await?;
            Ok(rows
                .into_iter()
                .map(|row| FileRecord {
                    rel: row.get(0),
                    size: row.get::<i64, _>(1) as u64,
                    mtime_ns: row.get(2),
                    hash: row.get::<i64, _>(3) as u64,
                    data: row.get(4),
                })
                .collect())
        })
    }

    fn save(&self, records: Vec<FileRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            self.save_in(&mut tx, &records).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn remove(&self, rels: Vec<String>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            self.remove_in(&mut conn, &rels).await
        })
    }

    fn load_resolved(&self) -> BoxFuture<'_, Result<Option<Resolved>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT key, data FROM resolved WHERE project = $1")
                .bind(self.project)
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.map(|row| (row.get::<i64, _>(0) as u64, row.get(1))))
        })
    }

    fn save_resolved(&self, key: u64, data: Vec<u8>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            self.save_resolved_in(&mut conn, key, &data).await
        })
    }
}

/// The writes, each on a connection or inside a transaction of the caller's.
impl PgStore {
    async fn save_in(
        &self,
        conn: &mut PgConnection,
        records: &[FileRecord],
    ) -> Result<(), StoreError> {
        for batch in records.chunks(BATCH) {
            // One statement per batch: the columns as arrays, unnested.
            let rels: Vec<&str> = batch.iter().map(|r| r.rel.as_str()).collect();
            let sizes: Vec<i64> = batch.iter().map(|r| r.size as i64).collect();
            let mtimes: Vec<i64> = batch.iter().map(|r| r.mtime_ns).collect();
            let hashes: Vec<i64> = batch.iter().map(|r| r.hash as i64).collect();
            let data: Vec<&[u8]> = batch.iter().map(|r| r.data.as_slice()).collect();
            sqlx::query(
                "INSERT INTO files (project, rel, size, mtime_ns, hash, data)
                     SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[],
                                              $5::bigint[], $6::bytea[])
                     ON CONFLICT (project, rel) DO UPDATE SET size = excluded.size,
                         mtime_ns = excluded.mtime_ns, hash = excluded.hash, data = excluded.data",
            )
            .bind(self.project)
            .bind(&rels)
            .bind(&sizes)
            .bind(&mtimes)
            .bind(&hashes)
            .bind(&data)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    async fn remove_in(&self, conn: &mut PgConnection, rels: &[String]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM files WHERE project = $1 AND rel = ANY($2)")
            .bind(self.project)
            .bind(rels)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn save_resolved_in(
        &self,
        conn: &mut PgConnection,
        key: u64,
        data: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resolved (project, key, data) VALUES ($1, $2, $3)
             ON CONFLICT (project) DO UPDATE SET key = excluded.key, data = excluded.data",
        )
        .bind(self.project)
        .bind(key as i64)
        .bind(data)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Applies a write queued by `client` as its `seq`th, unless it was applied already:
    /// the client's mark and the write commit together. Whether it was applied now.
    pub(crate) async fn apply_once(
        &self,
        client: &str,
        seq: i64,
        op: &Op,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO replay_marks (project, client, seq) VALUES ($1, $2, 0)
             ON CONFLICT DO NOTHING",
        )
        .bind(self.project)
        .bind(client)
        .execute(&mut *tx)
        .await?;
        let mark: i64 = sqlx::query_scalar(
            "SELECT seq FROM replay_marks WHERE project = $1 AND client = $2 FOR UPDATE",
        )
        .bind(self.project)
        .bind(client)
        .fetch_one(&mut *tx)
        .await?;
        if seq <= mark {
            return Ok(false);
        }
        match op {
            Op::Save(records) => self.save_in(&mut tx, records).await?,
            Op::Remove(rels) => self.remove_in(&mut tx, rels).await?,
            Op::Resolved(key, data) => self.save_resolved_in(&mut tx, *key, data).await?,
            Op::Run(run) => {
                self.record_run_in(&mut tx, run).await?;
            }
            Op::Points(points) => self.write_points_in(&mut tx, points).await?,
            Op::Memory(memory) => {
                self.put_memory_in(&mut tx, memory).await?;
            }
            Op::Nothing => {}
        }
        sqlx::query("UPDATE replay_marks SET seq = $3 WHERE project = $1 AND client = $2")
            .bind(self.project)
            .bind(client)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

const COLUMNS: &str = "r.id, r.at_ms, r.kind, r.status, r.edit_hash, r.diff, r.wall_ms, \
                       r.cpu_ms, r.peak_memory_bytes, r.passed, r.failed, r.detail";

impl RunLog for PgStore {
    fn record_run(&self, run: RunRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let id = self.record_run_in(&mut tx, &run).await?;
            tx.commit().await?;
            Ok(id)
        })
    }
    fn runs(
        &self,
        subject: Subject,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<RunRecord>, StoreError>> {
        Box::pin(async move {
            let query = match &subject {
                Subject::Any => format!(
                    "SELECT {COLUMNS} FROM runs r WHERE r.project = $1 ORDER BY r.id DESC LIMIT $2"
                ),
                Subject::Symbol(name) => {
                    let column = if short_name(name) == name {
                        "short"
                    } else {
                        "name"
                    };
                    format!(
                        "SELECT {COLUMNS} FROM runs r WHERE r.project = $1 AND r.id IN
                         (SELECT run_id FROM run_subjects WHERE kind = 'symbol' AND {column} = $3)
                         ORDER BY r.id DESC LIMIT $2"
                    )
                }
                Subject::File(_) => format!(
                    "SELECT {COLUMNS} FROM runs r WHERE r.project = $1 AND r.id IN
                     (SELECT run_id FROM run_subjects WHERE kind = 'file' AND name = $3)
                     ORDER BY r.id DESC LIMIT $2"
                ),
            };
            let mut q = sqlx::query(&query).bind(self.project).bind(limit as i64);
            if let Subject::Symbol(name) | Subject::File(name) = &subject {
                q = q.bind(name);
            }
            let rows = q.fetch_all(&self.pool).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
            let subjects = sqlx::query(
                "SELECT run_id, kind, name FROM run_subjects WHERE run_id = ANY($1)
                 ORDER BY run_id, ord",
            )
            .bind(&ids)
            .fetch_all(&self.pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let id: i64 = row.get(0);
                let (mut symbols, mut files) = (Vec::new(), Vec::new());
                for s in subjects.iter().filter(|s| s.get::<i64, _>(0) == id) {
                    let kind: String = s.get(1);
                    if kind == "symbol" {
                        symbols.push(s.get(2));
                    } else {
                        files.push(s.get(2));
                    }
                }
                let kind: String = row.get(2);
                let detail: sqlx::types::Json<serde_json::Value> = row.get(11);
                out.push(RunRecord {
                    id,
                    at_ms: row.get(1),
                    kind: RunKind::parse(&kind),
                    status: row.get(3),
                    edit_hash: row.get(4),
                    diff: row.get(5),
                    symbols,
                    files,
                    wall_ms: row.get::<i64, _>(6) as u64,
                    cpu_ms: row.get::<i64, _>(7) as u64,
                    peak_memory_bytes: row.get::<i64, _>(8) as u64,
                    passed: row.get::<i32, _>(9) as u32,
                    failed: row.get::<i32, _>(10) as u32,
                    detail: detail.0,
                });
            }
            Ok(out)
        })
    }
}

impl MemoryLog for PgStore {
    fn put_memory(&self, memory: MemoryRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await?;
            self.put_memory_in(&mut conn, &memory).await
        })
    }

    fn memories(&self) -> BoxFuture<'_, Result<Vec<MemoryRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT uid, kind, made_ms, body FROM memories WHERE project = $1
                 ORDER BY made_ms, uid",
            )
            .bind(self.project)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .iter()
                .enumerate()
                .map(|(i, row)| MemoryRecord {
                    id: i as i64 + 1,
                    uid: row.get(0),
                    kind: row.get(1),
                    made_ms: row.get(2),
                    body: row.get::<sqlx::types::Json<serde_json::Value>, _>(3).0,
                })
                .collect())
        })
    }
}

impl PgStore {
    /// Adds or replaces a memory by its uid (the first time it was made is kept); 0, as
    /// memories are named by uid across servers.
    async fn put_memory_in(
        &self,
        conn: &mut PgConnection,
        memory: &MemoryRecord,
    ) -> Result<i64, StoreError> {
        sqlx::query(
            "INSERT INTO memories (project, uid, kind, made_ms, body) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (project, uid) DO UPDATE SET kind = excluded.kind, body = excluded.body",
        )
        .bind(self.project)
        .bind(&memory.uid)
        .bind(&memory.kind)
        .bind(memory.made_ms)
        .bind(sqlx::types::Json(&memory.body))
        .execute(&mut *conn)
        .await?;
        Ok(0)
    }

    async fn record_run_in(
        &self,
        conn: &mut PgConnection,
        run: &RunRecord,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (project, at_ms, kind, status, edit_hash, diff, wall_ms, cpu_ms,
                     peak_memory_bytes, passed, failed, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(self.project)
        .bind(run.at_ms)
        .bind(run.kind.as_str())
        .bind(&run.status)
        .bind(&run.edit_hash)
        .bind(&run.diff)
        .bind(run.wall_ms as i64)
        .bind(run.cpu_ms as i64)
        .bind(run.peak_memory_bytes as i64)
        .bind(run.passed as i32)
        .bind(run.failed as i32)
        .bind(sqlx::types::Json(&run.detail))
        .fetch_one(&mut *conn)
        .await?;
        let subjects: Vec<(&str, &str, &str)> = run
            .symbols
            .iter()
            .map(|s| ("symbol", s.as_str(), short_name(s)))
            .chain(run.files.iter().map(|f| ("file", f.as_str(), f.as_str())))
            .collect();
        if !subjects.is_empty() {
            let kinds: Vec<&str> = subjects.iter().map(|s| s.0).collect();
            let names: Vec<&str> = subjects.iter().map(|s| s.1).collect();
            let shorts: Vec<&str> = subjects.iter().map(|s| s.2).collect();
            let order: Vec<i32> = (0..subjects.len() as i32).collect();
            sqlx::query(
                "INSERT INTO run_subjects (run_id, kind, name, short, ord)
                     SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::int[])",
            )
            .bind(id)
            .bind(&kinds)
            .bind(&names)
            .bind(&shorts)
            .bind(&order)
            .execute(&mut *conn)
            .await?;
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_keys_come_from_the_origin_remote_without_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        std::fs::write(
            dir.path().join(".git/config"),
            "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://example.org/up.git\n[remote \"origin\"]\n\turl = https://me:token@example.org/team/app.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        )
        .unwrap();
        assert_eq!(project_key(dir.path()), "https://example.org/team/app.git");
        let plain = tempfile::tempdir().unwrap();
        assert_eq!(
            project_key(plain.path()),
            plain.path().canonicalize().unwrap().display().to_string()
        );
        assert_eq!(
            strip_credentials("git@example.org:team/app.git"),
            "git@example.org:team/app.git"
        );
    }
}
