//! The PostgreSQL store against a real server (`.ci/services`): the same behaviour as the
//! embedded store, per project, shared between servers.

use codecontext_store::{
    FileRecord, IndexStore, Opened, PgStore, RunKind, RunLog, RunRecord, Subject,
};
use codecontext_tests::{service_url, unique_name};

fn record(rel: &str, hash: u64) -> FileRecord {
    FileRecord {
        rel: rel.into(),
        size: 10,
        mtime_ns: 1_700_000_000_000_000_000,
        hash,
        data: vec![1, 2, 3, hash as u8],
    }
}

/// A project key no other test run uses.
fn unique(name: &str) -> String {
    unique_name(&format!("test://{name}/"))
}

#[tokio::test]
async fn records_are_per_project_shared_and_survive_reconnecting() {
    let Some(url) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    let key = unique("records");
    let (a, opened) = PgStore::open(&url, &key, "v1").await.unwrap();
    assert_eq!(opened, Opened::Fresh);
    // Another developer's server on the same project, and one on another project.
    let (b, opened) = PgStore::open(&url, &key, "v1").await.unwrap();
    assert_eq!(opened, Opened::Reused);
    let (other, _) = PgStore::open(&url, &unique("other"), "v1").await.unwrap();

    let many: Vec<FileRecord> = (0..1200).map(|i| record(&format!("f{i}.rs"), i)).collect();
    a.save(many).await.unwrap();
    a.save(vec![record("f1.rs", u64::MAX)]).await.unwrap();
    a.remove(vec!["f2.rs".into(), "f3.rs".into()])
        .await
        .unwrap();
    let mut seen = b.load().await.unwrap();
    seen.sort_by(|x, y| x.rel.cmp(&y.rel));
    assert_eq!(seen.len(), 1198, "b sees a's writes");
    assert!(seen.contains(&record("f1.rs", u64::MAX)));
    assert!(!seen.iter().any(|r| r.rel == "f2.rs"));
    assert!(other.load().await.unwrap().is_empty(), "projects are apart");

    assert_eq!(b.load_resolved().await.unwrap(), None);
    a.save_resolved(u64::MAX, vec![9, 8]).await.unwrap();
    assert_eq!(
        b.load_resolved().await.unwrap(),
        Some((u64::MAX, vec![9, 8]))
    );

    let id = a
        .record_run(RunRecord {
            id: 0,
            at_ms: 1_700_000_000_000,
            kind: RunKind::Verify,
            status: "failed".into(),
            edit_hash: Some("00ff".into()),
            diff: Some("--- a/x\n+++ b/x\n".into()),
            symbols: vec!["calc::double".into(), "calc::add".into()],
            files: vec!["src/lib.rs".into()],
            wall_ms: 5,
            cpu_ms: 4,
            peak_memory_bytes: 1 << 20,
            passed: 2,
            failed: 1,
            detail: serde_json::json!({"verdict": "failed"}),
        })
        .await
        .unwrap();
    let runs = b.runs(Subject::Symbol("add".into()), 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, id);
    assert_eq!(runs[0].symbols, ["calc::double", "calc::add"]);
    assert_eq!(runs[0].detail["verdict"], "failed");
    assert_eq!(
        b.runs(Subject::File("src/lib.rs".into()), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(other.runs(Subject::Any, 10).await.unwrap().is_empty());
    a.close().await;
    b.close().await;

    // A new extractor drops the project's index, not its history.
    let (c, opened) = PgStore::open(&url, &key, "v2").await.unwrap();
    assert_eq!(opened, Opened::Fresh);
    assert!(c.load().await.unwrap().is_empty());
    assert_eq!(c.load_resolved().await.unwrap(), None);
    assert_eq!(c.runs(Subject::Any, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_dead_server_is_a_clear_error() {
    // Nothing listens on port 1 of 127.0.0.1.
    let err = PgStore::open("postgres://u:p@127.0.0.1:1/db", "k", "v1")
        .await
        .err()
        .expect("no server");
    let text = err.to_string();
    assert!(
        text.contains("refused") || text.contains("connect"),
        "{text}"
    );
}
