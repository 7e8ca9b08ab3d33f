//! The real `codecontext serve --stdio` binary, spoken to over its stdin and stdout.

use std::path::Path;

use codecontext_tests::{fixtures_dir, lsp::LspClient};
use serde_json::{json, Value};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_codecontext"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_stdio_and_exits_zero_after_shutdown() {
    let root = fixtures_dir().join("rust").canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_str().unwrap();
    let mut client = LspClient::spawn_binary(
        binary(),
        &[("CODECONTEXT_LOG", "warn"), ("CODECONTEXT_HOME", home_path)],
    );
    let caps = client.initialize(&[&root], json!({})).await;
    assert_eq!(caps["serverInfo"]["name"], "codecontext");
    client.indexed().await;
    let names = client.symbol_names("Money").await;
    assert!(names.iter().any(|n| n == "Money"), "{names:?}");
    // Garbage on stdin gets an error; the session goes on.
    client.send_raw(b"Content-Length: 5\r\n\r\n{oops").await;
    let err = client.response(Value::Null).await;
    assert_eq!(err["error"]["code"], -32700);
    assert!(!client.symbol_names("Money").await.is_empty());
    assert!(
        client.shutdown_and_exit().await,
        "exit code 0 after shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_without_shutdown_is_code_one() {
    let root = fixtures_dir().join("python");
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        binary(),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
        ],
    );
    client.initialize(&[&root], json!({})).await;
    client.notify("exit", Value::Null).await;
    assert_eq!(client.exit_code().await, Some(1));
}
