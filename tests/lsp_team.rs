//! The server with a shared PostgreSQL store (`.ci/services`): a fixture indexed through
//! it answers definition, references and callers exactly as through the embedded store,
//! and another developer's server, with nothing of its own, starts from what the first
//! one wrote.

use std::path::Path;

use codecontext_tests::{copy_fixture, lsp::LspClient, service_url};
use serde_json::{json, Value};

/// Starts a server on `root`; returns it and the end of its indexing message.
async fn start(root: &Path, options: Value) -> (LspClient, String) {
    let mut client = LspClient::in_process();
    client
        .initialize(&[root], json!({ "initializationOptions": options }))
        .await;
    let end = client.indexed().await;
    let message = end["value"]["message"].as_str().unwrap().to_string();
    (client, message)
}

/// Definition of `util.clamp` where pricing calls it, its references, and its callers.
async fn answers(client: &mut LspClient, root: &Path) -> Vec<Value> {
    let uri = |rel: &str| codecontext_tests::lsp::file_uri(&root.join(rel));
    let definition = client
        .request(
            "textDocument/definition",
            json!({"textDocument": {"uri": uri("shop/services/pricing.py")},
                   "position": {"line": 12, "character": 24}}),
        )
        .await;
    let at_clamp = json!({"textDocument": {"uri": uri("shop/util.py")},
                          "position": {"line": 5, "character": 5}});
    let mut references = at_clamp.clone();
    references["context"] = json!({"includeDeclaration": true});
    let references = client.request("textDocument/references", references).await;
    let items = client
        .request("textDocument/prepareCallHierarchy", at_clamp)
        .await;
    let callers = client
        .request("callHierarchy/incomingCalls", json!({"item": items[0]}))
        .await;
    assert!(
        definition.as_array().is_some_and(|d| !d.is_empty()) || definition.is_object(),
        "{definition}"
    );
    assert!(references.as_array().unwrap().len() >= 3, "{references}");
    assert!(callers.as_array().unwrap().len() >= 2, "{callers}");
    vec![definition, references, callers]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_as_the_embedded_store_and_is_shared() {
    let Some(url) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();

    let home = tempfile::tempdir().unwrap();
    let (mut embedded, _) = start(&root, json!({ "storeHome": home.path() })).await;
    let expected = answers(&mut embedded, &root).await;
    assert!(embedded.shutdown_and_exit().await);

    // One developer indexes through the shared store...
    let home_a = tempfile::tempdir().unwrap();
    let shared = json!({ "storeHome": home_a.path(), "storage": { "postgresUrl": url } });
    let (mut a, message) = start(&root, shared).await;
    assert!(message.contains("(0 from the store"), "{message}");
    assert_eq!(answers(&mut a, &root).await, expected);
    assert!(a.shutdown_and_exit().await);
    // The embedded store beside it keeps a copy and the queue, for when PostgreSQL
    // is down (tests/pg_outage.rs); shutting down waited for the queue to drain.
    assert!(
        std::fs::read_dir(home_a.path()).unwrap().next().is_some(),
        "the embedded store is the first copy"
    );

    // ...and another, with an empty home of its own, starts from what they wrote.
    let home_b = tempfile::tempdir().unwrap();
    let shared = json!({ "storeHome": home_b.path(), "storage": { "postgresUrl": url } });
    let (mut b, message) = start(&root, shared).await;
    assert!(
        message.contains("resolutions restored") && !message.contains("(0 from the store"),
        "{message}"
    );
    assert_eq!(answers(&mut b, &root).await, expected);
    assert!(b.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_postgres_falls_back_to_the_embedded_store_and_says_so() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::in_process();
    client
        .initialize(
            &[&root],
            json!({"initializationOptions": {
                "storeHome": home.path(),
                "storage": {"postgresUrl": "postgres://u:secret@127.0.0.1:1/db"}
            }}),
        )
        .await;
    let text = client.told("PostgreSQL").await;
    assert!(text.contains("embedded store"), "{text}");
    assert!(
        !text.contains("secret"),
        "credentials are never shown: {text}"
    );
    client.indexed().await;
    let expected = answers(&mut client, &root).await;
    assert_eq!(expected.len(), 3);
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_some(),
        "the embedded store serves"
    );
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_projects_memory_through_postgres() {
    let Some(url) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    let dir = copy_fixture("memory");
    let root = dir.path().canonicalize().unwrap();
    let shared = |home: &Path| json!({ "storeHome": home, "storage": { "postgresUrl": url } });

    // One developer remembers a decision; shutting down waits for it to reach PostgreSQL.
    let home_a = tempfile::tempdir().unwrap();
    let (mut a, _) = start(&root, shared(home_a.path())).await;
    let remembered = a
        .request(
            "codecontext/remember",
            json!({"kind": "decision", "text": "Retries back off exponentially", "symbols": ["retry_delay"]}),
        )
        .await;
    assert_eq!(remembered["status"], "current", "{remembered}");
    let id = remembered["id"].as_str().unwrap().to_string();
    assert!(a.shutdown_and_exit().await);

    // Another, with an empty home of its own, recalls it, and forgets it for the team.
    let home_b = tempfile::tempdir().unwrap();
    let (mut b, _) = start(&root, shared(home_b.path())).await;
    let recalled = b
        .request("codecontext/recall", json!({"symbol": "retry_delay"}))
        .await;
    let memories = recalled["memories"].as_array().unwrap();
    assert_eq!(memories.len(), 1, "{recalled}");
    assert_eq!(memories[0]["id"], id.as_str());
    assert_eq!(memories[0]["status"], "current");
    assert_eq!(memories[0]["anchors"][0]["name"], "billing.retry_delay");
    let forgotten = b
        .request(
            "codecontext/forget",
            json!({"id": id, "reason": "linear now"}),
        )
        .await;
    assert_eq!(forgotten["status"], "forgotten", "{forgotten}");
    assert!(b.shutdown_and_exit().await);

    // The first developer's server, started again, sees it forgotten.
    let (mut a, _) = start(&root, shared(home_a.path())).await;
    let recalled = a
        .request(
            "codecontext/recall",
            json!({"symbol": "retry_delay", "includeForgotten": true}),
        )
        .await;
    assert_eq!(recalled["memories"][0]["status"], "forgotten", "{recalled}");
    assert_eq!(recalled["memories"][0]["forgotten"]["reason"], "linear now");
    assert!(a.shutdown_and_exit().await);
}
