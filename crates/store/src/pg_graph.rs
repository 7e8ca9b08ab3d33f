//! The knowledge graph as tables of the shared PostgreSQL store: each file's entities and
//! outgoing edges ([`FileExport`]), replaced together when the file changes, and walks
//! over them with recursive SQL. The graph is derived data: what a dead PostgreSQL misses
//! is written again by the next full export (every indexing), not queued.

use codecontext_graph::{FileExport, Reached, Walk};
use sqlx::Row;

use crate::{PgStore, StoreError};

impl PgStore {
    /// The paths of the files this project's graph tables hold.
    pub async fn graph_paths(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT path FROM entities WHERE project = $1
             UNION SELECT path FROM edges WHERE project = $1",
        )
        .bind(self.project)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Replaces the rows of these files (entities and the edges that start in them) in
    /// one transaction; `gone` files lose theirs.
    pub async fn replace_graph(
        &self,
        files: &[FileExport],
        gone: &[String],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let paths: Vec<&str> = files
            .iter()
            .map(|f| f.rel.as_str())
            .chain(gone.iter().map(String::as_str))
            .collect();
        sqlx::query("DELETE FROM edges WHERE project = $1 AND path = ANY($2)")
            .bind(self.project)
            .bind(&paths)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM entities WHERE project = $1 AND path = ANY($2)")
            .bind(self.project)
            .bind(&paths)
            .execute(&mut *tx)
            .await?;
        let (mut ids, mut epaths, mut kinds, mut names, mut qualified, mut lines, mut containers) =
            (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
        let (mut gpaths, mut srcs, mut dsts, mut gkinds, mut hows) =
            (vec![], vec![], vec![], vec![], vec![]);
        for f in files {
            for e in &f.entities {
                ids.push(e.id.0 as i64);
                epaths.push(f.rel.as_str());
                kinds.push(e.kind);
                names.push(e.name.as_str());
                qualified.push(e.qualified.as_str());
                lines.push(e.line as i32);
                containers.push(e.container.map(|c| c.0 as i64));
            }
            for e in &f.edges {
                gpaths.push(f.rel.as_str());
                srcs.push(e.from.0 as i64);
                dsts.push(e.to.0 as i64);
                gkinds.push(e.kind.as_str());
                hows.push(e.how.as_str());
            }
        }
        // An entity id can repeat across files only by a hash collision: the last wins.
        sqlx::query(
            "INSERT INTO entities (project, id, path, kind, name, qualified, line, container)
             SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[],
                                      $6::text[], $7::int[], $8::bigint[])
             ON CONFLICT (project, id) DO UPDATE SET path = excluded.path,
                 kind = excluded.kind, name = excluded.name, qualified = excluded.qualified,
                 line = excluded.line, container = excluded.container",
        )
        .bind(self.project)
        .bind(&ids)
        .bind(&epaths)
        .bind(&kinds)
        .bind(&names)
        .bind(&qualified)
        .bind(&lines)
        .bind(&containers)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO edges (project, path, src, dst, kind, how)
             SELECT $1, * FROM UNNEST($2::text[], $3::bigint[], $4::bigint[], $5::text[],
                                      $6::text[])",
        )
        .bind(self.project)
        .bind(&gpaths)
        .bind(&srcs)
        .bind(&dsts)
        .bind(&gkinds)
        .bind(&hows)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Callers, callees or impact of an entity to `depth`, each with its shortest
    /// distance, sorted by depth then qualified name; at most `limit`.
    pub async fn walk_graph(
        &self,
        id: u64,
        walk: Walk,
        depth: u32,
        limit: usize,
    ) -> Result<Vec<Reached>, StoreError> {
        // (from, to) of the step: callers and impact go against the edges' direction.
        let (step, next) = if walk.incoming() {
            ("e.dst = w.id", "e.src")
        } else {
            ("e.src = w.id", "e.dst")
        };
        let kinds: Vec<&str> = walk.edge_kinds().iter().map(|k| k.as_str()).collect();
        let kinds = format!("{{{}}}", kinds.join(","));
        let sql = format!(
            "WITH RECURSIVE w (id, depth) AS (
                 SELECT $2::bigint, 0
                 UNION
                 SELECT {next}, w.depth + 1 FROM w JOIN edges e
                     ON e.project = $1 AND {step} AND e.kind = ANY($3::text[])
                 WHERE w.depth < $4
             )
             SELECT n.id, n.name, n.qualified, n.kind, n.path, n.line, min(w.depth) AS depth
             FROM w JOIN entities n ON n.project = $1 AND n.id = w.id
             WHERE w.id <> $2
             GROUP BY n.id, n.name, n.qualified, n.kind, n.path, n.line
             ORDER BY depth, n.qualified, n.id
             LIMIT $5"
        );
        let rows = sqlx::query(&sql)
            .bind(self.project)
            .bind(id as i64)
            .bind(kinds)
            .bind(depth as i32)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| Reached {
                id: format!("{:016x}", row.get::<i64, _>(0) as u64),
                name: row.get(1),
                qualified: row.get(2),
                kind: row.get(3),
                path: row.get(4),
                line: row.get::<i32, _>(5) as u32,
                depth: row.get::<i32, _>(6) as u32,
            })
            .collect())
    }
}
