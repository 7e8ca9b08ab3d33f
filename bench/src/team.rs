//! Team mode against the embedded default, in one run:
//!
//! - storing an index: the same parsed and resolved folders written to the embedded
//!   store (SQLite), and to the team's backends (PostgreSQL through the shared store's
//!   queue, until it has drained, and the graph's tables; then the graph mirrored to the
//!   Bolt database); the
//!   ratio is of the whole job, parse and resolve included, as a server does it;
//! - callers to depth 3 of the most called functions: the embedded graph against Cypher
//!   on the graph database (the answers are checked to be the same size);
//! - a cached answer read back from Redis.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use codecontext_analysis::{load_batch, workspace::walk, AnalysisHost, EntityId, BATCH};
use codecontext_store::{FileRecord, IndexStore, PgStore, SharedStore, SqliteStore, Store};
use codecontext_team::{
    bolt::{GraphMirror, MirrorFile, Walk},
    cache::SharedCache,
};

use crate::stats::{ms, percentile, us};

pub struct Backends {
    pub postgres: String,
    pub bolt: String,
    pub redis: String,
}

/// Parses and resolves the folders; the records a store would keep.
fn index(dirs: &[PathBuf]) -> Result<(AnalysisHost, Vec<FileRecord>, usize)> {
    let mut host = AnalysisHost::default();
    let mut records = Vec::new();
    let mut lines = 0;
    for dir in dirs {
        let root = dir
            .canonicalize()
            .with_context(|| format!("{}", dir.display()))?;
        let found = walk(&root);
        let root_index = host.add_root(&root, &found);
        let limits = *host.limits();
        for chunk in found.files.chunks(BATCH) {
            let batch = load_batch(root_index, chunk, &limits, &|_| {});
            records.extend(
                batch
                    .records()
                    .into_iter()
                    .map(|(rel, stamp, data)| FileRecord {
                        rel: format!("{root_index}/{rel}"),
                        size: stamp.size,
                        mtime_ns: stamp.mtime_ns,
                        hash: stamp.hash,
                        data,
                    }),
            );
            host.insert_batch(batch);
        }
        lines += found
            .files
            .iter()
            .filter_map(|f| std::fs::read(&f.path).ok())
            .map(|b| b.iter().filter(|&&c| c == b'\n').count())
            .sum::<usize>();
    }
    host.resolve_pending();
    Ok((host, records, lines))
}

fn unique(what: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("bench://{what}/{now}")
}

pub fn run(dirs: &[PathBuf], backends: &Backends, runs: usize) -> Result<()> {
    if dirs.is_empty() {
        bail!("give the folders to index");
    }
    let rt = tokio::runtime::Runtime::new()?;
    let scratch = tempfile::tempdir()?;
    let mut embedded = Vec::new();
    let mut team = Vec::new();
    let (mut parse, mut sqlite, mut pg, mut bolt) = (vec![], vec![], vec![], vec![]);
    let mut last = None;
    for run in 0..runs {
        let started = Instant::now();
        let (host, records, lines) = index(dirs)?;
        let parsed = started.elapsed();
        parse.push(parsed);
        println!(
            "run {}: {} files, {lines} lines, parsed and resolved in {:.0} ms",
            run + 1,
            records.len(),
            ms(parsed)
        );

        // The embedded default: one SQLite file.
        let t = Instant::now();
        rt.block_on(async {
            let (store, _) =
                SqliteStore::open(&scratch.path().join(format!("e{run}.sqlite")), "bench").await?;
            store.save(records.clone()).await?;
            store.close().await;
            anyhow::Ok(())
        })?;
        sqlite.push(t.elapsed());
        embedded.push(parsed + t.elapsed());

        // Team mode: the embedded store queues, PostgreSQL receives; then the mirror.
        let project = unique("index");
        let t = Instant::now();
        rt.block_on(async {
            let (local, _) =
                SqliteStore::open(&scratch.path().join(format!("t{run}.sqlite")), "bench").await?;
            let (store, _) =
                SharedStore::open(local, &backends.postgres, &project, "bench").await?;
            store.save(records.clone()).await?;
            if !store.replayed(Duration::from_secs(600)).await {
                bail!("PostgreSQL did not receive the index");
            }
            // The graph's tables, as the server writes them after indexing.
            let graph = host.graph();
            let exports: Vec<_> = graph
                .files()
                .filter_map(|(id, _)| graph.export_file(id))
                .collect();
            let Some(pg) = store.graph_tables() else {
                bail!("PostgreSQL went down");
            };
            for chunk in exports.chunks(200) {
                pg.replace_graph(chunk, &[]).await?;
            }
            anyhow::Ok(())
        })?;
        let pg_time = t.elapsed();
        pg.push(pg_time);
        let t = Instant::now();
        let mirror = rt.block_on(GraphMirror::connect(&backends.bolt, None, None, &project))?;
        let graph = host.graph();
        let files: Vec<MirrorFile> = graph
            .files()
            .filter_map(|(id, _)| graph.export_file(id))
            .map(MirrorFile::from_export)
            .collect();
        let mut statements = 0;
        for chunk in files.chunks(200) {
            statements += rt
                .block_on(mirror.replace_files(chunk.to_vec()))?
                .statements;
        }
        let bolt_time = t.elapsed();
        bolt.push(bolt_time);
        team.push(parsed + pg_time + bolt_time);
        let (entities, edges) = rt.block_on(mirror.counts())?;
        println!(
            "       embedded store {:.0} ms; PostgreSQL {:.0} ms; graph database {:.0} ms ({entities} entities, {edges} edges, {statements} statements)",
            ms(*sqlite.last().unwrap()),
            ms(pg_time),
            ms(bolt_time)
        );
        if let Some((_, old_mirror, old_project)) = last.replace((host, mirror, project)) {
            clean(&rt, backends, &old_mirror, &old_project)?;
        }
    }
    let p50 = |v: &[Duration]| ms(percentile(v, 50.0));
    println!();
    println!(
        "index + store, median of {runs}: embedded {:.0} ms, team {:.0} ms: ratio {:.2}x",
        p50(&embedded),
        p50(&team),
        p50(&team) / p50(&embedded)
    );
    println!(
        "  (parse+resolve {:.0} ms, SQLite {:.0} ms, PostgreSQL {:.0} ms, graph database {:.0} ms)",
        p50(&parse),
        p50(&sqlite),
        p50(&pg),
        p50(&bolt)
    );

    let (host, mirror, project) = last.expect("runs >= 1");
    callers(&rt, &host, &mirror)?;
    redis(&rt, backends)?;
    clean(&rt, backends, &mirror, &project)
}

fn clean(
    rt: &tokio::runtime::Runtime,
    backends: &Backends,
    mirror: &GraphMirror,
    project: &str,
) -> Result<()> {
    rt.block_on(async {
        mirror.clear_project().await?;
        let (pg, _) = PgStore::open(&backends.postgres, project, "bench").await?;
        pg.delete_project().await?;
        anyhow::Ok(())
    })
}

/// The most called functions: the ones a caller query is worth asking about.
fn most_called(host: &AnalysisHost, n: usize) -> Vec<EntityId> {
    let graph = host.graph();
    let mut counted: Vec<(usize, EntityId)> = graph
        .files()
        .flat_map(|(_, f)| f.entities.iter().skip(1).map(|e| e.id))
        .map(|id| (graph.callers(id, 1).len(), id))
        .filter(|(n, _)| *n > 0)
        .collect();
    counted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    counted.into_iter().take(n).map(|(_, id)| id).collect()
}

fn callers(rt: &tokio::runtime::Runtime, host: &AnalysisHost, mirror: &GraphMirror) -> Result<()> {
    let ids = most_called(host, 20);
    let graph = host.graph();
    let (mut ours, mut cypher) = (Vec::new(), Vec::new());
    let mut differ = 0;
    for &id in &ids {
        for _ in 0..5 {
            let t = Instant::now();
            let embedded = graph.callers(id, 3);
            ours.push(t.elapsed());
            let t = Instant::now();
            let reached = rt.block_on(mirror.walk(&id.to_string(), Walk::Callers, 3, 10_000))?;
            cypher.push(t.elapsed());
            let mut distinct: Vec<EntityId> = embedded
                .iter()
                .filter_map(|s| graph.entity(s.entity).map(|e| e.id))
                .filter(|e| *e != id)
                .collect();
            distinct.sort();
            distinct.dedup();
            if distinct.len() != reached.len() {
                differ += 1;
            }
        }
    }
    println!();
    println!(
        "callers to depth 3 of the {} most called functions, p50: embedded {:.1} µs, Cypher {:.2} ms: ratio {:.0}x; p90 {:.1} µs vs {:.2} ms; answers of another size: {differ}",
        ids.len(),
        us(percentile(&ours, 50.0)),
        ms(percentile(&cypher, 50.0)),
        ms(percentile(&cypher, 50.0)) / ms(percentile(&ours, 50.0)),
        us(percentile(&ours, 90.0)),
        ms(percentile(&cypher, 90.0)),
    );
    Ok(())
}

fn redis(rt: &tokio::runtime::Runtime, backends: &Backends) -> Result<()> {
    rt.block_on(async {
        let cache = SharedCache::connect(&backends.redis, &unique("cache")).await?;
        // An answer of the size a callers query gives (50 entities).
        let items: Vec<serde_json::Value> = (0..50)
            .map(|i| serde_json::json!({"id": format!("{i:016x}"), "qualifiedName": format!("pkg.module.Class.method_{i}"), "path": "pkg/module.py", "line": i, "depth": 1 + i % 3}))
            .collect();
        let answer = serde_json::json!({ "items": items });
        cache
            .put("callers", "key", &answer, Duration::from_secs(60))
            .await;
        let mut samples = Vec::new();
        for _ in 0..2000 {
            let t = Instant::now();
            let hit = cache.get("callers", "key").await;
            samples.push(t.elapsed());
            if hit.as_ref() != Some(&answer) {
                bail!("the cached answer did not come back");
            }
        }
        println!();
        println!(
            "Redis cache hit ({} bytes), 2000 gets: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs",
            answer.to_string().len(),
            us(percentile(&samples, 50.0)),
            us(percentile(&samples, 90.0)),
            us(percentile(&samples, 99.0)),
        );
        anyhow::Ok(())
    })
}
