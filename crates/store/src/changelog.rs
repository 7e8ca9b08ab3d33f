//! The per-symbol change log read from git: commits, the definitions each changed, and
//! the files each renamed. The workspace crate reads git and maps changes onto
//! definitions; the store keeps the rows and answers "which commits changed `Cart.total`
//! in `shop/cart.py` (or in the files it was renamed from)".

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{BoxFuture, SqliteStore, StoreError};

/// A commit as kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitRow {
    pub id: String,
    pub at_ms: i64,
    pub author: String,
    pub email: String,
    pub message: String,
    pub parents: Vec<String>,
}

/// A definition a commit changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRow {
    /// Relative to the workspace folder, at that commit.
    pub path: String,
    /// Its containers' names and its own, joined with `.`.
    pub key: String,
    pub kind: String,
    /// `added`, `modified` or `deleted`.
    pub how: String,
    /// Lines added and removed inside it.
    pub added: u32,
    pub removed: u32,
}

/// A definition a commit renamed within a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRename {
    /// Relative to the workspace folder, at that commit.
    pub path: String,
    pub old_key: String,
    pub new_key: String,
}

/// How a commit's added lines are written, with its author.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitStyle {
    pub author: String,
    pub email: String,
    /// Per language (JSON, see `codecontext_memory::style`).
    pub style: String,
}

/// One commit read: itself, what it changed, which files it renamed (old, new), and
/// which definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitChanges {
    pub commit: CommitRow,
    pub changes: Vec<ChangeRow>,
    pub renames: Vec<(String, String)>,
    pub key_renames: Vec<KeyRename>,
    /// How the lines it added are written, per language (JSON, see
    /// `codecontext_memory::style`).
    pub style: String,
}

/// Where the change log is kept.
pub trait ChangeLog: Send + Sync {
    /// The ids of the commits read.
    fn known_commits(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
    /// Keeps commits read, in one transaction.
    fn put_commits(&self, commits: Vec<CommitChanges>) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Every rename read, oldest commit first: (old path, new path).
    fn renames(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>>;
    /// The definitions renamed in any of `paths`, newest commit first.
    fn key_renames(&self, paths: Vec<String>) -> BoxFuture<'_, Result<Vec<KeyRename>, StoreError>>;
    /// Every commit's author, email and style, oldest first; with `paths`, only the
    /// commits that changed a definition in one of them.
    fn styles(
        &self,
        paths: Option<Vec<String>>,
    ) -> BoxFuture<'_, Result<Vec<CommitStyle>, StoreError>>;
    /// Forgets everything read (the rows are derived from git, and read again when the
    /// way they are derived changes).
    fn clear_log(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The changes of the definitions `key` (ending with its last segment `name`) in
    /// any of `paths`, newest commit first, at most `limit`, each with its commit.
    fn changes_of(
        &self,
        name: String,
        key: String,
        paths: Vec<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(CommitRow, ChangeRow)>, StoreError>>;
    /// The commits read whose time is in `after_ms < at_ms <= until_ms`, oldest first.
    fn commits_between(
        &self,
        after_ms: i64,
        until_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<CommitRow>, StoreError>>;
    /// A value kept beside the log (how far it was read).
    fn log_state(&self) -> BoxFuture<'_, Result<Option<String>, StoreError>>;
    fn set_log_state(&self, value: String) -> BoxFuture<'_, Result<(), StoreError>>;
}

fn commit_of(row: &sqlx::sqlite::SqliteRow) -> CommitRow {
    let parents: String = row.get(5);
    CommitRow {
        id: row.get(0),
        at_ms: row.get(1),
        author: row.get(2),
        email: row.get(3),
        message: row.get(4),
        parents: parents.split_whitespace().map(str::to_string).collect(),
    }
}

/// Commits made within the same second keep the order of their history: a commit comes
/// before its parent.
fn children_first(found: &mut [(CommitRow, ChangeRow)]) {
    let mut start = 0;
    while start < found.len() {
        let at = found[start].0.at_ms;
        let end = start
            + found[start..]
                .iter()
                .take_while(|f| f.0.at_ms == at)
                .count();
        // Within the second: first a commit no other one left names as its parent.
        for i in start..end {
            let pick = (i..end)
                .find(|&j| {
                    let id = &found[j].0.id;
                    !(i..end).any(|k| k != j && found[k].0.parents.contains(id))
                })
                .unwrap_or(i);
            found.swap(i, pick);
        }
        start = end;
    }
}

impl ChangeLog for SqliteStore {
    fn known_commits(&self) -> BoxFuture<'_, Result<Vec<String>, StoreError>> {
        Box::pin(async move {
            Ok(sqlx::query_scalar("SELECT id FROM git_commits")
                .fetch_all(&self.pool)
                .await?)
        })
    }

    fn put_commits(&self, commits: Vec<CommitChanges>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for c in &commits {
                let done = sqlx::query(
                    "INSERT INTO git_commits (id, at_ms, author, email, message, parents, style)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO NOTHING",
                )
                .bind(&c.commit.id)
                .bind(c.commit.at_ms)
                .bind(&c.commit.author)
                .bind(&c.commit.email)
                .bind(&c.commit.message)
                .bind(c.commit.parents.join(" "))
                .bind(&c.style)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() == 0 {
                    // Read already (by another server on the folder).
                    continue;
                }
                for ch in &c.changes {
                    let name = ch.key.rsplit('.').next().unwrap_or(&ch.key);
                    sqlx::query(
                        "INSERT INTO symbol_changes (commit_id, path, key, name, kind, how, added, removed)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .bind(&c.commit.id)
                    .bind(&ch.path)
                    .bind(&ch.key)
                    .bind(name)
                    .bind(&ch.kind)
                    .bind(&ch.how)
                    .bind(ch.added as i64)
                    .bind(ch.removed as i64)
                    .execute(&mut *tx)
                    .await?;
                }
                for (old, new) in &c.renames {
                    sqlx::query(
                        "INSERT INTO file_renames (commit_id, old_path, new_path) VALUES (?1, ?2, ?3)",
                    )
                    .bind(&c.commit.id)
                    .bind(old)
                    .bind(new)
                    .execute(&mut *tx)
                    .await?;
                }
                for r in &c.key_renames {
                    sqlx::query(
                        "INSERT INTO symbol_renames (commit_id, path, old_key, new_key)
                         VALUES (?1, ?2, ?3, ?4)",
                    )
                    .bind(&c.commit.id)
                    .bind(&r.path)
                    .bind(&r.old_key)
                    .bind(&r.new_key)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn renames(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT r.old_path, r.new_path FROM file_renames r
                 JOIN git_commits c ON c.id = r.commit_id ORDER BY c.at_ms",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn changes_of(
        &self,
        name: String,
        key: String,
        paths: Vec<String>,
        limit: u32,
    ) -> BoxFuture<'_, Result<Vec<(CommitRow, ChangeRow)>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT c.id, c.at_ms, c.author, c.email, c.message, c.parents,
                        s.path, s.key, s.kind, s.how, s.added, s.removed
                 FROM symbol_changes s JOIN git_commits c ON c.id = s.commit_id
                 WHERE s.name = ?1 AND s.key = ?2
                 ORDER BY c.at_ms DESC, c.id",
            )
            .bind(&name)
            .bind(&key)
            .fetch_all(&self.pool)
            .await?;
            let mut found: Vec<(CommitRow, ChangeRow)> = rows
                .iter()
                .filter(|r| paths.iter().any(|p| p == r.get::<&str, _>(6)))
                .map(|r| {
                    (
                        commit_of(r),
                        ChangeRow {
                            path: r.get(6),
                            key: r.get(7),
                            kind: r.get(8),
                            how: r.get(9),
                            added: r.get::<i64, _>(10) as u32,
                            removed: r.get::<i64, _>(11) as u32,
                        },
                    )
                })
                .collect();
            children_first(&mut found);
            found.truncate(limit as usize);
            Ok(found)
        })
    }

    fn key_renames(&self, paths: Vec<String>) -> BoxFuture<'_, Result<Vec<KeyRename>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT r.path, r.old_key, r.new_key FROM symbol_renames r
                 JOIN git_commits c ON c.id = r.commit_id ORDER BY c.at_ms DESC, c.id",
            )
            .fetch_all(&self.pool)
            .await?;
            Ok(rows
                .iter()
                .filter(|r| paths.iter().any(|p| p == r.get::<&str, _>(0)))
                .map(|r| KeyRename {
                    path: r.get(0),
                    old_key: r.get(1),
                    new_key: r.get(2),
                })
                .collect())
        })
    }

    fn styles(
        &self,
        paths: Option<Vec<String>>,
    ) -> BoxFuture<'_, Result<Vec<CommitStyle>, StoreError>> {
        Box::pin(async move {
            let rows = match &paths {
                None => {
                    sqlx::query(
                        "SELECT author, email, style FROM git_commits
                         WHERE style <> '{}' ORDER BY at_ms",
                    )
                    .fetch_all(&self.pool)
                    .await?
                }
                Some(paths) => {
                    let marks = vec!["?"; paths.len().max(1)].join(", ");
                    let sql = format!(
                        "SELECT author, email, style FROM git_commits WHERE style <> '{{}}'
                         AND id IN (SELECT commit_id FROM symbol_changes WHERE path IN ({marks}))
                         ORDER BY at_ms"
                    );
                    let mut query = sqlx::query(&sql);
                    if paths.is_empty() {
                        query = query.bind("");
                    }
                    for p in paths {
                        query = query.bind(p);
                    }
                    query.fetch_all(&self.pool).await?
                }
            };
            Ok(rows
                .iter()
                .map(|r| CommitStyle {
                    author: r.get(0),
                    email: r.get(1),
                    style: r.get(2),
                })
                .collect())
        })
    }

    fn clear_log(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            for table in [
                "symbol_renames",
                "symbol_changes",
                "file_renames",
                "git_commits",
            ] {
                sqlx::query(&format!("DELETE FROM {table}"))
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM meta WHERE key = 'git_history'")
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn commits_between(
        &self,
        after_ms: i64,
        until_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<CommitRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, at_ms, author, email, message, parents FROM git_commits
                 WHERE at_ms > ?1 AND at_ms <= ?2 ORDER BY at_ms, id",
            )
            .bind(after_ms)
            .bind(until_ms)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(commit_of).collect())
        })
    }

    fn log_state(&self) -> BoxFuture<'_, Result<Option<String>, StoreError>> {
        Box::pin(async move {
            Ok(
                sqlx::query_scalar("SELECT value FROM meta WHERE key = 'git_history'")
                    .fetch_optional(&self.pool)
                    .await?,
            )
        })
    }

    fn set_log_state(&self, value: String) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO meta (key, value) VALUES ('git_history', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )
            .bind(value)
            .execute(&self.pool)
            .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(id: &str, at_ms: i64, changes: &[(&str, &str)]) -> CommitChanges {
        CommitChanges {
            commit: CommitRow {
                id: id.into(),
                at_ms,
                author: "A".into(),
                email: "a@example.com".into(),
                message: format!("commit {id}"),
                parents: vec!["p1".into(), "p2".into()],
            },
            changes: changes
                .iter()
                .map(|(path, key)| ChangeRow {
                    path: path.to_string(),
                    key: key.to_string(),
                    kind: "method".into(),
                    how: "modified".into(),
                    added: 1,
                    removed: 2,
                })
                .collect(),
            renames: vec![],
            key_renames: vec![],
            style: "{}".into(),
        }
    }

    #[tokio::test]
    async fn changes_are_found_by_key_and_path_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = SqliteStore::open(&dir.path().join("h.sqlite"), "v1")
            .await
            .unwrap();
        let mut renamed = commit("c2", 20, &[("new.py", "Cart.total")]);
        renamed.renames.push(("old.py".into(), "new.py".into()));
        store
            .put_commits(vec![
                commit("c1", 10, &[("old.py", "Cart.total"), ("old.py", "total")]),
                renamed,
                commit("c3", 30, &[("other.py", "Cart.total")]),
            ])
            .await
            .unwrap();
        // Put again (another server read it too): nothing doubles.
        store
            .put_commits(vec![commit("c1", 10, &[("old.py", "Cart.total")])])
            .await
            .unwrap();
        let mut known = store.known_commits().await.unwrap();
        known.sort();
        assert_eq!(known, ["c1", "c2", "c3"]);
        assert_eq!(
            store.renames().await.unwrap(),
            [("old.py".to_string(), "new.py".to_string())]
        );
        let found = store
            .changes_of(
                "total".into(),
                "Cart.total".into(),
                vec!["new.py".into(), "old.py".into()],
                10,
            )
            .await
            .unwrap();
        let ids: Vec<&str> = found.iter().map(|(c, _)| c.id.as_str()).collect();
        assert_eq!(ids, ["c2", "c1"]);
        assert_eq!(found[0].0.parents, ["p1", "p2"]);
        assert_eq!((found[1].1.added, found[1].1.removed), (1, 2));
        assert_eq!(store.log_state().await.unwrap(), None);
        // Three commits within one second: children before parents, whatever the rows' order.
        let mut chain: Vec<CommitChanges> = ["x1", "x2", "x3"]
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut c = commit(id, 50, &[("f.py", "f")]);
                c.commit.parents = if i == 0 {
                    vec![]
                } else {
                    vec![format!("x{i}")]
                };
                c
            })
            .collect();
        chain.swap(0, 2);
        store.put_commits(chain).await.unwrap();
        let found = store
            .changes_of("f".into(), "f".into(), vec!["f.py".into()], 10)
            .await
            .unwrap();
        let ids: Vec<&str> = found.iter().map(|(c, _)| c.id.as_str()).collect();
        assert_eq!(ids, ["x3", "x2", "x1"]);
        let between: Vec<String> = store
            .commits_between(10, 20)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(between, ["c2"]);
        store
            .set_log_state("{\"complete\":true}".into())
            .await
            .unwrap();
        assert_eq!(
            store.log_state().await.unwrap().as_deref(),
            Some("{\"complete\":true}")
        );
    }
}
