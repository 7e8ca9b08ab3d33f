//! The index kept between sessions: warm restarts, damaged stores, two servers at once.

use std::path::Path;

use codecontext_tests::{copy_fixture, lsp::LspClient};
use serde_json::{json, Value};

/// Starts a server on `root` with its store in `home`; returns the client and how many
/// files came from the store, as the end of the indexing progress reports it.
async fn start(root: &Path, home: &Path) -> (LspClient, usize, usize) {
    let (client, total, from_store, _) = start_restoring(root, home).await;
    (client, total, from_store)
}

/// [`start`], also telling whether saved resolutions were restored.
async fn start_restoring(root: &Path, home: &Path) -> (LspClient, usize, usize, bool) {
    let mut client = LspClient::in_process();
    client
        .initialize(
            &[root],
            json!({"initializationOptions": {"storeHome": home}}),
        )
        .await;
    let end = client.indexed().await;
    let message = end["value"]["message"].as_str().unwrap().to_string();
    // "<folder>: <total> files (<n> from the store) in ..."
    let number_before = |marker: &str| -> usize {
        let head = &message[..message.find(marker).unwrap_or_else(|| panic!("{message}"))];
        head.rsplit(|c: char| !c.is_ascii_digit())
            .find(|w| !w.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    let total = number_before(" files (");
    let from_store = number_before(" from the store");
    let restored = message.contains("resolutions restored");
    (client, total, from_store, restored)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_start_reads_only_what_changed_and_answers_the_same() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();

    let (mut client, total, from_store, restored) = start_restoring(&root, home.path()).await;
    assert_eq!((from_store, restored), (0, false), "cold start");
    // References of `clamp`, from every file.
    let clamp_refs = json!({
        "textDocument": {"uri": codecontext_tests::lsp::file_uri(&root.join("shop/util.py"))},
        "position": {"line": 5, "character": 4},
        "context": {"includeDeclaration": true}
    });
    let cold_refs = client
        .request("textDocument/references", clamp_refs.clone())
        .await;
    assert!(client.shutdown_and_exit().await);

    // Nothing changed: everything comes from the store, and answers are identical.
    let (mut client, total2, from_store, restored) = start_restoring(&root, home.path()).await;
    assert_eq!((total2, from_store, restored), (total, total, true));
    let warm_refs = client.request("textDocument/references", clamp_refs).await;
    assert_eq!(cold_refs, warm_refs);
    assert!(client.shutdown_and_exit().await);

    // One file edited, one added, one only touched (same content, new mtime).
    let util = root.join("shop/util.py");
    let text = std::fs::read_to_string(&util).unwrap();
    std::fs::write(&util, text.replace("def with_tax", "def with_vat")).unwrap();
    std::fs::write(root.join("extra.py"), "def added_later():\n    pass\n").unwrap();
    let main = root.join("main.py");
    let main_text = std::fs::read(&main).unwrap();
    std::fs::write(&main, &main_text).unwrap();
    let file = std::fs::File::options().write(true).open(&main).unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();

    let (mut client, total3, from_store, restored) = start_restoring(&root, home.path()).await;
    assert!(
        restored,
        "the saved resolutions still describe the stored records"
    );
    assert_eq!(total3, total + 1);
    assert_eq!(from_store, total - 2, "util.py and main.py were read again");
    assert_eq!(client.symbol_names("with_vat").await, ["with_vat"]);
    assert!(!client
        .symbol_names("with_tax")
        .await
        .contains(&"with_tax".to_string()));
    assert_eq!(client.symbol_names("added_later").await, ["added_later"]);
    assert!(client.shutdown_and_exit().await);

    // A deleted file leaves the store too.
    std::fs::remove_file(root.join("extra.py")).unwrap();
    let (mut client, total4, from_store) = start(&root, home.path()).await;
    assert_eq!((total4, from_store), (total, total));
    assert!(client.symbol_names("added_later").await.is_empty());
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_is_moved_aside_and_rebuilt() {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let path = codecontext_store::store_path(home.path(), &root);
    std::fs::write(&path, b"not sqlite at all ".repeat(500)).unwrap();

    let (mut client, total, from_store) = start(&root, home.path()).await;
    assert!(total > 0);
    assert_eq!(from_store, 0);
    assert_eq!(client.symbol_names("clamp").await, ["clamp"]);
    assert!(client.shutdown_and_exit().await);
    let aside: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".unusable-"))
        .collect();
    assert_eq!(aside.len(), 1, "the damaged file is kept aside");

    // The rebuilt store works: the next start reads nothing.
    let (client, total2, from_store) = start(&root, home.path()).await;
    assert_eq!((total2, from_store), (total, total));
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_workspace_share_the_store_safely() {
    let dir = copy_fixture("typescript");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (a, b) = tokio::join!(start(&root, home.path()), start(&root, home.path()));
    let (mut a, total, _) = a;
    let (mut b, _, _) = b;
    for client in [&mut a, &mut b] {
        let found = client
            .request("workspace/symbol", json!({"query": "Cart"}))
            .await;
        assert_ne!(found, Value::Null);
    }
    assert!(a.shutdown_and_exit().await);
    assert!(b.shutdown_and_exit().await);
    let (c, total2, from_store) = start(&root, home.path()).await;
    assert_eq!((total2, from_store), (total, total));
    assert!(c.shutdown_and_exit().await);
}
