//! `codecontext.verify` end to end: the real binary verifies edits to fixture projects
//! (Cargo, Python, Node) in sandboxed snapshots, and the workspace is unchanged after.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use codecontext_tests::{copy_fixture, lsp::LspClient};
use serde_json::{json, Value};

async fn server(root: &Path) -> (LspClient, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
        ],
    );
    let caps = client.initialize(&[root], json!({})).await;
    assert!(caps["capabilities"]["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("codecontext.verify")));
    client.indexed().await;
    (client, home)
}

/// Every file under `root` and its bytes.
fn contents(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// A WorkspaceEdit replacing the first `old` in `file` with `new` (ASCII text).
fn replace(root: &Path, file: &str, old: &str, new: &str) -> Value {
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find(old)
        .unwrap_or_else(|| panic!("{old:?} not in {file}"));
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    let uri = codecontext_tests::lsp::file_uri(&path);
    json!({"changes": {uri: [{
        "range": {"start": {"line": line, "character": col},
                  "end": {"line": line, "character": col + old.len()}},
        "newText": new
    }]}})
}

fn outcomes(verdict: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = verdict["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cargo_project_passes_fails_and_fails_to_build() {
    let dir = copy_fixture("verify/rust");
    let root = dir.path().canonicalize().unwrap();
    let before = contents(&root);
    let (mut client, _home) = server(&root).await;

    let green = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "src/lib.rs", "a + b", "b + a")}),
        )
        .await;
    assert_eq!(green["verdict"], "passed", "{green}");
    assert_eq!(green["project"], "cargo");
    assert_eq!(
        outcomes(&green),
        [
            ("tests::adds".into(), "passed".into()),
            ("tests::doubles".into(), "passed".into())
        ]
    );
    assert_eq!(green["changedFiles"], json!(["src/lib.rs"]));

    let red = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "src/lib.rs", "a + b", "a - b")}),
        )
        .await;
    assert_eq!(red["verdict"], "failed", "{red}");
    assert_eq!(
        outcomes(&red),
        [
            ("tests::adds".into(), "failed".into()),
            ("tests::doubles".into(), "failed".into())
        ]
    );
    let adds = red["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "tests::adds")
        .unwrap();
    assert_eq!(
        adds["location"],
        json!({"file": "src/lib.rs", "line": 17}),
        "{adds}"
    );
    assert!(
        adds["message"].as_str().unwrap().contains("left == right"),
        "{adds}"
    );

    // The failures in the edited file are published as diagnostics, until it changes.
    let lib_uri = codecontext_tests::lsp::file_uri(&root.join("src/lib.rs"));
    let is_verify = |d: &Value| d["source"] == "codecontext-verify";
    let published = client
        .notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == lib_uri.as_str()
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| d.iter().any(is_verify))
        })
        .await;
    let adds_diag = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["message"].as_str().unwrap().contains("tests::adds"))
        .unwrap_or_else(|| panic!("{published}"));
    assert_eq!(adds_diag["range"]["start"]["line"], 16, "{adds_diag}");
    let text = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let lines = text.lines().count();
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": lib_uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": lib_uri, "version": 2}, "contentChanges": [{
                "range": {"start": {"line": lines, "character": 0}, "end": {"line": lines, "character": 0}},
                "text": "// edited\n"}]}),
        )
        .await;
    client
        .notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == lib_uri.as_str()
                && p["version"] == 2
                && p["diagnostics"]
                    .as_array()
                    .is_some_and(|d| !d.iter().any(is_verify))
        })
        .await;

    let broken = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "src/lib.rs", "a + b", "a + \"b\"")}),
        )
        .await;
    assert_eq!(broken["verdict"], "build_failed", "{broken}");
    assert!(
        broken["stderrTail"].as_str().unwrap().contains("error[E"),
        "{broken}"
    );

    assert!(client.shutdown_and_exit().await);
    assert!(
        before == contents(&root),
        "the workspace is byte-for-byte unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_project_through_an_edit_and_a_diff() {
    let dir = copy_fixture("verify/python");
    let root = dir.path().canonicalize().unwrap();
    let before = contents(&root);
    let (mut client, _home) = server(&root).await;

    let red = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "a + b", "a * b")}),
        )
        .await;
    assert_eq!(red["verdict"], "failed", "{red}");
    assert_eq!(
        outcomes(&red),
        [
            ("tests/test_calc.py::test_adds".into(), "failed".into()),
            ("tests/test_calc.py::test_doubles".into(), "failed".into())
        ]
    );
    let adds = &red["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "tests/test_calc.py::test_adds")
        .unwrap();
    assert_eq!(
        adds["location"],
        json!({"file": "tests/test_calc.py", "line": 5}),
        "{adds}"
    );
    assert!(adds["durationMs"].is_f64());

    let diff = "--- a/calc.py\n+++ b/calc.py\n@@ -8,2 +8,2 @@\n def double(a):\n-    return add(a, a)\n+    return 2 * a\n";
    let green = client
        .request(
            "codecontext/verify",
            json!({"edit": diff, "tests": ["tests/test_calc.py::test_doubles"]}),
        )
        .await;
    assert_eq!(green["verdict"], "passed", "{green}");
    assert_eq!(
        outcomes(&green),
        [("tests/test_calc.py::test_doubles".into(), "passed".into())]
    );

    let broken = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "def add(a, b):", "def add(a, b)")}),
        )
        .await;
    assert_eq!(broken["verdict"], "build_failed", "{broken}");

    // A URI that climbs out of the folder is refused, not written anywhere.
    let outside = format!("{}/../escape.py", codecontext_tests::lsp::file_uri(&root));
    let climbing = json!({"changes": {outside: [{
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
        "newText": "x = 1\n"
    }]}});
    let err = client
        .request_error("codecontext/verify", json!({"edit": climbing}))
        .await;
    assert_eq!(err["code"], -32602, "{err}");
    assert!(!root.parent().unwrap().join("escape.py").exists());

    let err = client
        .request_error(
            "codecontext/verify",
            json!({"edit": "--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n-nope\n+x\n"}),
        )
        .await;
    assert_eq!(err["code"], -32602, "{err}");
    assert!(client.shutdown_and_exit().await);
    assert!(
        before == contents(&root),
        "the workspace is byte-for-byte unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_project_names_its_failing_test() {
    let dir = copy_fixture("verify/node");
    let root = dir.path().canonicalize().unwrap();
    let (mut client, _home) = server(&root).await;
    let red = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.js", "a + b", "a - b")}),
        )
        .await;
    assert_eq!(red["verdict"], "failed", "{red}");
    assert_eq!(red["project"], "node");
    let adds = red["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "adds")
        .unwrap_or_else(|| panic!("{red}"));
    assert_eq!(adds["outcome"], "failed");
    assert_eq!(adds["location"]["file"], "test/calc.test.js", "{adds}");
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_verifications_at_once_get_their_own_verdicts() {
    let dir = copy_fixture("verify/python");
    let root = dir.path().canonicalize().unwrap();
    let (mut client, _home) = server(&root).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let new = if i % 2 == 0 { "b + a" } else { "a - b" };
        let id = client
            .send_request(
                "codecontext/verify",
                json!({"edit": replace(&root, "calc.py", "a + b", new)}),
            )
            .await;
        ids.push((i, id));
    }
    for (i, id) in ids {
        let response = client.response(id).await;
        let verdict = &response["result"]["verdict"];
        assert_eq!(
            verdict,
            if i % 2 == 0 { "passed" } else { "failed" },
            "{i}: {response}"
        );
    }
    assert!(client.shutdown_and_exit().await);
}
