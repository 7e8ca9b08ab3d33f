//! The history of executions and verifications: each run with what it touched, so that
//! a symbol or a file can be asked for its runs, newest first.

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BoxFuture, SqliteStore, StoreError};

/// What kind of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Execute,
    Verify,
}

impl RunKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunKind::Execute => "execute",
            RunKind::Verify => "verify",
        }
    }

    pub(crate) fn parse(s: &str) -> RunKind {
        if s == "execute" {
            RunKind::Execute
        } else {
            RunKind::Verify
        }
    }
}

/// One execution or verification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Assigned by the store; ignored when recording.
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    pub kind: RunKind,
    /// The verdict of a verification, the status of an execution.
    pub status: String,
    /// xxh3 of the diff, in hex.
    pub edit_hash: Option<String>,
    /// The edit as a unified diff.
    pub diff: Option<String>,
    /// Qualified names of the symbols the edit changed.
    pub symbols: Vec<String>,
    /// Files the edit changed, relative to the folder.
    pub files: Vec<String>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub peak_memory_bytes: u64,
    pub passed: u32,
    pub failed: u32,
    /// The whole answer, as it was given.
    pub detail: serde_json::Value,
}

/// What to list the runs of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A qualified name (`calc::double`), or a bare name (`double`) for every symbol of
    /// that name.
    Symbol(String),
    /// A path relative to the folder.
    File(String),
    /// Every run.
    Any,
}

/// Where runs are recorded and read back.
pub trait RunLog: Send + Sync {
    /// Records a run; returns its id.
    fn record_run(&self, run: RunRecord) -> BoxFuture<'_, Result<i64, StoreError>>;
    /// The runs of a subject, newest first, at most `limit`.
    fn runs(
        &self,
        subject: Subject,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<RunRecord>, StoreError>>;
}

/// The last segment of a qualified name, whatever its separator.
pub fn short_name(qualified: &str) -> &str {
    qualified
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .find(|s| !s.is_empty())
        .unwrap_or(qualified)
}

const COLUMNS: &str = "r.id, r.at_ms, r.kind, r.status, r.edit_hash, r.diff, r.wall_ms, \
                       r.cpu_ms, r.peak_memory_bytes, r.passed, r.failed, r.detail";

impl RunLog for SqliteStore {
    fn record_run(&self, run: RunRecord) -> BoxFuture<'_, Result<i64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO runs (at_ms, kind, status, edit_hash, diff, wall_ms, cpu_ms,
                     peak_memory_bytes, passed, failed, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
            )
            .bind(run.at_ms)
            .bind(run.kind.as_str())
            .bind(&run.status)
            .bind(&run.edit_hash)
            .bind(&run.diff)
            .bind(run.wall_ms as i64)
            .bind(run.cpu_ms as i64)
            .bind(run.peak_memory_bytes as i64)
            .bind(run.passed as i64)
            .bind(run.failed as i64)
            .bind(run.detail.to_string())
            .fetch_one(&mut *tx)
            .await?;
            let subjects = run
                .symbols
                .iter()
                .map(|s| ("symbol", s.as_str(), short_name(s)))
                .chain(run.files.iter().map(|f| ("file", f.as_str(), f.as_str())));
            for (kind, name, short) in subjects {
                sqlx::query(
                    "INSERT INTO run_subjects (run_id, kind, name, short) VALUES (?1, ?2, ?3, ?4)",
                )
                .bind(id)
                .bind(kind)
                .bind(name)
                .bind(short)
                .execute(&mut *tx)
                .await?;
            }
            self.enqueue(&mut tx, crate::outbox::RUN, serde_json::json!(id))
                .await?;
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
                Subject::Any => format!("SELECT {COLUMNS} FROM runs r ORDER BY r.id DESC LIMIT ?1"),
                Subject::Symbol(name) => {
                    // A bare name matches by its short form; a qualified one exactly.
                    let column = if short_name(name) == name {
                        "short"
                    } else {
                        "name"
                    };
                    format!(
                        "SELECT {COLUMNS} FROM runs r WHERE r.id IN (SELECT run_id FROM run_subjects
                         WHERE kind = 'symbol' AND {column} = ?2) ORDER BY r.id DESC LIMIT ?1"
                    )
                }
                Subject::File(_) => format!(
                    "SELECT {COLUMNS} FROM runs r WHERE r.id IN (SELECT run_id FROM run_subjects
                     WHERE kind = 'file' AND name = ?2) ORDER BY r.id DESC LIMIT ?1"
                ),
            };
            let mut q = sqlx::query(&query).bind(limit as i64);
            if let Subject::Symbol(name) | Subject::File(name) = &subject {
                q = q.bind(name);
            }
            let rows = q.fetch_all(&self.pool).await?;
            self.runs_of(rows).await
        })
    }
}

impl SqliteStore {
    /// One run by its id, as recorded here.
    pub(crate) async fn run_by_id(&self, id: i64) -> Result<Option<RunRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM runs r WHERE r.id = ?1"))
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        Ok(self.runs_of(rows).await?.pop())
    }

    /// The runs of rows of `COLUMNS`, with their subjects.
    async fn runs_of(
        &self,
        rows: Vec<sqlx::sqlite::SqliteRow>,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.get(0);
            let subjects =
                sqlx::query("SELECT kind, name FROM run_subjects WHERE run_id = ?1 ORDER BY rowid")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await?;
            let (mut symbols, mut files) = (Vec::new(), Vec::new());
            for s in subjects {
                let kind: String = s.get(0);
                if kind == "symbol" {
                    symbols.push(s.get(1));
                } else {
                    files.push(s.get(1));
                }
            }
            let kind: String = row.get(2);
            let detail: String = row.get(11);
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
                passed: row.get::<i64, _>(9) as u32,
                failed: row.get::<i64, _>(10) as u32,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: RunKind, status: &str, symbols: &[&str], files: &[&str]) -> RunRecord {
        RunRecord {
            id: 0,
            at_ms: 1_700_000_000_000,
            kind,
            status: status.into(),
            edit_hash: Some("00ff".into()),
            diff: Some("--- a/x\n+++ b/x\n".into()),
            symbols: symbols.iter().map(|s| s.to_string()).collect(),
            files: files.iter().map(|s| s.to_string()).collect(),
            wall_ms: 5,
            cpu_ms: 4,
            peak_memory_bytes: 1 << 20,
            passed: 2,
            failed: 1,
            detail: serde_json::json!({"verdict": status}),
        }
    }

    #[test]
    fn short_names_are_the_last_segment() {
        assert_eq!(short_name("calc::tests::adds"), "adds");
        assert_eq!(short_name("pkg.mod.Class.method"), "method");
        assert_eq!(short_name("plain"), "plain");
    }

    #[tokio::test]
    async fn runs_are_found_by_symbol_file_and_bare_name_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let (store, _) = SqliteStore::open(&path, "v1").await.unwrap();
        let first = store
            .record_run(run(
                RunKind::Verify,
                "passed",
                &["calc::double"],
                &["src/lib.rs"],
            ))
            .await
            .unwrap();
        let second = store
            .record_run(run(
                RunKind::Verify,
                "failed",
                &["calc::double", "calc::add"],
                &["src/lib.rs"],
            ))
            .await
            .unwrap();
        let third = store
            .record_run(run(RunKind::Execute, "ok", &[], &[]))
            .await
            .unwrap();
        assert!(first < second && second < third);

        let by_symbol = store
            .runs(Subject::Symbol("calc::double".into()), 10)
            .await
            .unwrap();
        assert_eq!(
            by_symbol.iter().map(|r| r.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(by_symbol[0].status, "failed");
        assert_eq!(by_symbol[0].symbols, ["calc::double", "calc::add"]);
        assert_eq!(by_symbol[0].detail["verdict"], "failed");

        let by_name = store.runs(Subject::Symbol("add".into()), 10).await.unwrap();
        assert_eq!(by_name.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);
        let by_file = store
            .runs(Subject::File("src/lib.rs".into()), 1)
            .await
            .unwrap();
        assert_eq!(by_file.iter().map(|r| r.id).collect::<Vec<_>>(), [second]);
        assert!(store
            .runs(Subject::Symbol("calc::nothing".into()), 10)
            .await
            .unwrap()
            .is_empty());
        let all = store.runs(Subject::Any, 10).await.unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].kind, RunKind::Execute);
        store.close().await;

        // History outlives a new extractor, which drops the index.
        let (store, _) = SqliteStore::open(&path, "v2").await.unwrap();
        assert_eq!(store.runs(Subject::Any, 10).await.unwrap().len(), 3);
    }
}
