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
    let client = server_with_home(root, home.path()).await;
    (client, home)
}

async fn server_with_home(root: &Path, home: &Path) -> LspClient {
    server_with_options(root, home, json!({})).await
}

async fn server_with_options(root: &Path, home: &Path, extra: Value) -> LspClient {
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.to_str().unwrap()),
        ],
    );
    let caps = client.initialize(&[root], extra).await;
    assert!(caps["capabilities"]["executeCommandProvider"]["commands"]
        .as_array()
        .unwrap()
        .contains(&json!("codecontext.verify")));
    client.indexed().await;
    client
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
            ("tests::doubles".into(), "passed".into()),
            ("tests::negates".into(), "passed".into())
        ]
    );
    assert_eq!(green["changedFiles"], json!(["src/lib.rs"]));

    // Only the tests that reach `add` through the graph run, and the verdict says how.
    let affected = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "src/lib.rs", "a + b", "b + a"), "tests": "affected"}),
        )
        .await;
    assert_eq!(affected["verdict"], "passed", "{affected}");
    assert_eq!(
        outcomes(&affected),
        [
            ("tests::adds".into(), "passed".into()),
            ("tests::doubles".into(), "passed".into())
        ]
    );
    assert_eq!(
        affected["affected"][1]["via"],
        json!(["calc::tests::doubles", "calc::double", "calc::add"]),
        "{affected}"
    );
    assert!(
        affected["selection"]
            .as_str()
            .unwrap()
            .starts_with("2 affected tests"),
        "{affected}"
    );

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
            ("tests::doubles".into(), "failed".into()),
            ("tests::negates".into(), "passed".into())
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
        json!({"file": "src/lib.rs", "line": 21, "column": 9}),
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
    assert_eq!(adds_diag["range"]["start"]["line"], 20, "{adds_diag}");
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
    // The compiler's error, where it points, also as a diagnostic.
    let error = &broken["buildErrors"][0];
    assert_eq!(error["location"]["file"], "src/lib.rs", "{broken}");
    assert_eq!(error["location"]["line"], 4, "{broken}");
    let message = error["message"].as_str().unwrap().to_string();
    client
        .notification("textDocument/publishDiagnostics", |p| {
            p["uri"] == lib_uri.as_str()
                && p["diagnostics"].as_array().is_some_and(|d| {
                    d.iter()
                        .any(|d| is_verify(d) && d["message"] == message.as_str())
                })
        })
        .await;

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
            ("tests/test_calc.py::test_doubles".into(), "failed".into()),
            (
                "tests/test_negate.py::TestNegate::test_negates".into(),
                "passed".into()
            )
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

    let negate = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "return -a", "return 0 - a"), "tests": "affected"}),
        )
        .await;
    assert_eq!(
        outcomes(&negate),
        [(
            "tests/test_negate.py::TestNegate::test_negates".into(),
            "passed".into()
        )],
        "{negate}"
    );
    // An edit the graph cannot see into runs everything, and says why.
    let config = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "pytest.ini", "[pytest]", "[pytest]\n"), "tests": "affected"}),
        )
        .await;
    assert_eq!(outcomes(&config).len(), 3, "{config}");
    assert!(
        config["selection"]
            .as_str()
            .unwrap()
            .contains("pytest.ini is not in the knowledge graph"),
        "{config}"
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
    let negate = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.js", "return -a", "return 0 - a"), "tests": "affected"}),
        )
        .await;
    assert_eq!(negate["verdict"], "passed", "{negate}");
    assert_eq!(
        outcomes(&negate),
        [("negates".into(), "passed".into())],
        "{negate}"
    );
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

/// The runs a history request lists: (kind, status, symbols).
async fn history(client: &mut LspClient, params: Value) -> Vec<(String, String, Value)> {
    let answer = client.request("codecontext/history", params).await;
    answer["runs"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["symbols"].clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_are_recorded_listed_and_shown_on_hover() {
    let dir = copy_fixture("verify/python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut client = server_with_home(&root, home.path()).await;

    let red = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "a + b", "a * b")}),
        )
        .await;
    assert_eq!(red["verdict"], "failed", "{red}");
    assert_eq!(red["edit"]["symbols"], json!(["calc.add"]), "{red}");
    assert!(red["runId"].is_i64(), "{red}");
    let green = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "return -a", "return 0 - a")}),
        )
        .await;
    assert_eq!(green["verdict"], "passed", "{green}");
    let ran = client
        .request(
            "codecontext/execute",
            json!({"language": "python", "code": "print(1)"}),
        )
        .await;
    assert_eq!(ran["status"], "ok", "{ran}");

    assert_eq!(
        history(&mut client, json!({"symbol": "calc.add"})).await,
        [("verify".into(), "failed".into(), json!(["calc.add"]))]
    );
    assert_eq!(
        history(&mut client, json!({"symbol": "negate"})).await,
        [("verify".into(), "passed".into(), json!(["calc.negate"]))]
    );
    let calc_uri = codecontext_tests::lsp::file_uri(&root.join("calc.py"));
    let by_file = history(&mut client, json!({"file": calc_uri})).await;
    assert_eq!(
        by_file.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
        ["passed", "failed"],
        "newest first"
    );
    assert_eq!(
        history(&mut client, json!({"file": "calc.py"})).await,
        by_file
    );
    let all = history(&mut client, json!({})).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].0, "execute");
    let err = client
        .request_error("codecontext/history", json!({"symbol": 3}))
        .await;
    assert_eq!(err["code"], -32602, "{err}");

    // Performance history: the verification of `calc.add`, and test durations.
    let perf = client
        .request("codecontext/perfHistory", json!({"symbol": "calc.add"}))
        .await;
    let points = perf["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{perf}");
    assert_eq!(points[0]["tags"]["verdict"], "failed");
    assert!(points[0]["fields"]["wall_ms"].as_f64().unwrap() > 0.0);
    let perf = client
        .request(
            "codecontext/perfHistory",
            json!({"test": "tests/test_negate.py::TestNegate::test_negates"}),
        )
        .await;
    let points = perf["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "both verifications ran it: {perf}");
    assert!(points[0]["atMs"].as_i64() >= points[1]["atMs"].as_i64());
    assert!(points[0]["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(points[0]["tags"]["file"], "tests/test_negate.py");

    // Hover on a use of `add` shows its last verification.
    let test_uri = codecontext_tests::lsp::file_uri(&root.join("tests/test_calc.py"));
    let hover = client
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": test_uri}, "position": {"line": 4, "character": 12}}),
        )
        .await;
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("Last verified"), "{hover}");
    assert!(text.contains("**failed**"), "{hover}");
    assert!(text.contains("test_adds"), "{hover}");
    assert!(client.shutdown_and_exit().await);

    // The history outlives the session.
    let mut client = server_with_home(&root, home.path()).await;
    assert_eq!(history(&mut client, json!({})).await, all);
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn performance_series_go_to_influxdb_when_configured() {
    let (Some(url), Some(db)) = (
        codecontext_tests::service_url("CODECONTEXT_TEST_INFLUX_URL"),
        codecontext_tests::service_url("CODECONTEXT_TEST_INFLUX_DB"),
    ) else {
        return;
    };
    let dir = copy_fixture("verify/python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let options = json!({"initializationOptions": {"storage": {"influxUrl": url, "influxDb": db}}});
    let mut client = server_with_options(&root, home.path(), options).await;
    let green = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "return -a", "return 0 - a")}),
        )
        .await;
    assert_eq!(green["verdict"], "passed", "{green}");
    // Read back through the server, and straight from InfluxDB: the same points.
    let perf = client
        .request("codecontext/perfHistory", json!({"symbol": "calc.negate"}))
        .await;
    let points = perf["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{perf}");
    let project = points[0]["tags"]["project"].as_str().unwrap().to_string();
    assert_eq!(project, root.display().to_string());
    let influx = codecontext_team::influx::InfluxSeries::new(&url, &db).unwrap();
    use codecontext_store::SeriesLog;
    let stored = influx
        .points(codecontext_store::SeriesQuery {
            measurement: "verify".into(),
            tags: vec![("project".into(), project)],
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].tag("symbol"), Some("calc.negate"));
    assert_eq!(
        stored[0].field("wall_ms"),
        points[0]["fields"]["wall_ms"].as_f64()
    );
    assert!(client.shutdown_and_exit().await);
}

/// The same verification in Docker (`CODECONTEXT_SANDBOX=docker`, the image of
/// `.ci/docker`, which has python3 and pytest): the same verdict, the user's files
/// untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_project_verifies_in_docker_as_it_does_locally() {
    let Some(image) = codecontext_tests::service_url("CODECONTEXT_TEST_DOCKER_IMAGE") else {
        return;
    };
    let dir = copy_fixture("verify/python");
    let root = dir.path().canonicalize().unwrap();
    let before = contents(&root);
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
            ("CODECONTEXT_SANDBOX", "docker"),
            ("CODECONTEXT_DOCKER_IMAGE", &image),
        ],
    );
    client.initialize(&[&root], json!({})).await;
    client.indexed().await;
    let red = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "a + b", "a * b")}),
        )
        .await;
    // Uploaded into the container: a copy, where the local sandbox makes an overlay.
    assert_eq!(red["snapshot"], "copy", "{red}");
    assert_eq!(red["verdict"], "failed", "{red}");
    assert_eq!(
        outcomes(&red),
        [
            ("tests/test_calc.py::test_adds".into(), "failed".into()),
            ("tests/test_calc.py::test_doubles".into(), "failed".into()),
            (
                "tests/test_negate.py::TestNegate::test_negates".into(),
                "passed".into()
            )
        ]
    );
    let green = client
        .request(
            "codecontext/verify",
            json!({"edit": replace(&root, "calc.py", "return -a", "return 0 - a"), "tests": "affected"}),
        )
        .await;
    assert_eq!(green["verdict"], "passed", "{green}");
    assert_eq!(
        outcomes(&green),
        [(
            "tests/test_negate.py::TestNegate::test_negates".into(),
            "passed".into()
        )]
    );
    assert!(client.shutdown_and_exit().await);
    assert_eq!(
        contents(&root),
        before,
        "the user's files are never touched"
    );
}
