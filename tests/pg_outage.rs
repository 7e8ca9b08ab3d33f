//! PostgreSQL stopping and coming back (`.ci/services stop|start postgres`) while the
//! shared store is written: every write is kept in the embedded store, replayed when
//! PostgreSQL returns, and arrives exactly once. Stopping the shared server would
//! disturb other tests, so both cases run in one test, one after the other, and nothing
//! else runs in this binary.

use std::time::Duration;

use codecontext_store::{
    FileRecord, Health, IndexStore, PgStore, Point, RunKind, RunLog, RunRecord, SeriesLog,
    SeriesQuery, SharedStore, SqliteStore, Subject,
};
use codecontext_tests::{copy_fixture, lsp::LspClient, service_url, unique_name, Stopped};
use serde_json::json;

fn record(rel: &str, hash: u64) -> FileRecord {
    FileRecord {
        rel: rel.into(),
        size: hash,
        mtime_ns: 1_700_000_000_000_000_000,
        hash,
        data: format!("extraction of {rel} #{hash}").into_bytes(),
    }
}

fn run(n: u32) -> RunRecord {
    RunRecord {
        id: 0,
        at_ms: 1_700_000_000_000 + n as i64,
        kind: RunKind::Verify,
        status: "passed".into(),
        edit_hash: Some(format!("{n:016x}")),
        diff: None,
        symbols: vec![format!("calc::f{n}")],
        files: vec!["src/lib.rs".into()],
        wall_ms: 10,
        cpu_ms: 5,
        peak_memory_bytes: 1,
        passed: n,
        failed: 0,
        detail: json!({ "n": n }),
    }
}

fn point(n: u32) -> Point {
    Point {
        at_ms: 1_700_000_000_000 + n as i64,
        measurement: "test".into(),
        tags: vec![("test".into(), "tests::outage".into())],
        fields: vec![("duration_ms".into(), n as f64)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopping_and_returning_loses_nothing_and_duplicates_nothing() {
    let Some(url) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    writes_made_while_postgres_is_down_arrive_once_when_it_returns(&url).await;
    a_server_started_while_postgres_is_down_hands_its_index_over_when_it_returns(&url).await;
}

async fn writes_made_while_postgres_is_down_arrive_once_when_it_returns(url: &str) {
    let url = url.to_string();
    let key = unique_name("test://outage/");
    let dir = tempfile::tempdir().unwrap();
    let (local, _) = SqliteStore::open(&dir.path().join("w.sqlite"), "v1")
        .await
        .unwrap();
    let (store, mut health) = SharedStore::open(local, &url, &key, "v1").await.unwrap();
    assert_eq!(health.recv().await, Some(Health::Up));

    // An indexing of ten batches; PostgreSQL stops after the third and comes back
    // after the seventh. Runs and points are written all along.
    let mut expected = std::collections::BTreeMap::new();
    let mut stopped = None;
    for batch in 0..10u64 {
        if batch == 3 {
            stopped = Some(Stopped::now("postgres"));
        }
        if batch == 8 {
            drop(stopped.take());
        }
        let records: Vec<FileRecord> = (0..50)
            .map(|i| record(&format!("src/b{batch}/f{i}.rs"), batch * 100 + i))
            .collect();
        for r in &records {
            expected.insert(r.rel.clone(), r.clone());
        }
        store.save(records).await.expect("writes never fail");
        // A file saved again and one removed, while down: the last state wins.
        if batch == 5 {
            let again = record("src/b0/f0.rs", 999);
            expected.insert(again.rel.clone(), again.clone());
            store.save(vec![again]).await.unwrap();
            store.remove(vec!["src/b1/f1.rs".into()]).await.unwrap();
            expected.remove("src/b1/f1.rs");
        }
        store.record_run(run(batch as u32)).await.unwrap();
        store.write_points(vec![point(batch as u32)]).await.unwrap();
        if batch == 5 {
            // The replayer finds PostgreSQL gone and says so; reads then come from the
            // embedded store, which has everything.
            let down = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    if let Some(Health::Down(why)) = health.recv().await {
                        return why;
                    }
                }
            })
            .await
            .expect("the outage is noticed");
            assert!(!down.is_empty());
            assert!(!store.is_up());
            assert_eq!(store.runs(Subject::Any, 100).await.unwrap().len(), 6);
            assert!(store.pending().await.unwrap() > 0, "writes wait");
        }
    }
    store.save_resolved(42, vec![4, 2]).await.unwrap();
    assert!(
        store.replayed(Duration::from_secs(60)).await,
        "the queue drains once PostgreSQL is back"
    );
    let events: Vec<Health> = std::iter::from_fn(|| health.try_recv().ok()).collect();
    assert_eq!(events.last(), Some(&Health::Up), "{events:?}");

    // What another server of the project sees: everything, once.
    let (pg, _) = PgStore::open(&url, &key, "v1").await.unwrap();
    let mut seen = pg.load().await.unwrap();
    seen.sort_by(|a, b| a.rel.cmp(&b.rel));
    assert_eq!(seen, expected.into_values().collect::<Vec<_>>());
    let runs = pg.runs(Subject::Any, 100).await.unwrap();
    let mut passed: Vec<u32> = runs.iter().map(|r| r.passed).collect();
    passed.sort();
    assert_eq!(passed, (0..10).collect::<Vec<_>>(), "each run once");
    assert_eq!(runs[0].symbols, ["calc::f9"]);
    let points = pg
        .points(SeriesQuery {
            measurement: "test".into(),
            tags: vec![("test".into(), "tests::outage".into())],
            limit: 100,
        })
        .await
        .unwrap();
    assert_eq!(points.len(), 10, "each point once");
    assert_eq!(pg.load_resolved().await.unwrap(), Some((42, vec![4, 2])));
}

async fn a_server_started_while_postgres_is_down_hands_its_index_over_when_it_returns(url: &str) {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    // The project is the root path: unique per run.
    let home = tempfile::tempdir().unwrap();
    let options = json!({
        "storeHome": home.path(),
        "storage": { "postgresUrl": url },
    });

    let stopped = Stopped::now("postgres");
    let mut a = LspClient::in_process();
    a.initialize(&[&root], json!({ "initializationOptions": options }))
        .await;
    let text = a.told("PostgreSQL").await;
    assert!(text.contains("replayed"), "{text}");
    let end = a.indexed().await;
    let message = end["value"]["message"].as_str().unwrap();
    assert!(message.contains("(0 from the store"), "{message}");
    drop(stopped);
    // Shutting down waits (a few seconds at most) for the queue to reach PostgreSQL.
    assert!(a.shutdown_and_exit().await);

    // Another developer, with nothing of their own: everything comes from PostgreSQL.
    let other_home = tempfile::tempdir().unwrap();
    let mut b = LspClient::in_process();
    b.initialize(
        &[&root],
        json!({ "initializationOptions": {
            "storeHome": other_home.path(),
            "storage": { "postgresUrl": url },
        }}),
    )
    .await;
    let end = b.indexed().await;
    let message = end["value"]["message"].as_str().unwrap();
    assert!(message.contains("resolutions restored"), "{message}");
    let files: usize = message
        .split(": ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(
        message.contains(&format!("({files} from the store")),
        "{message}"
    );
    assert!(b.shutdown_and_exit().await);
}
