//! `codecontext.execute` end to end: the real binary (which is also its own sandbox
//! helper) runs snippets in the local sandbox, through the custom request and through
//! `workspace/executeCommand`.

use std::path::Path;

use codecontext_tests::{fixtures_dir, lsp::LspClient};
use serde_json::{json, Value};

async fn server() -> (LspClient, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
            ("CODECONTEXT_FAKE_SECRET", "hunter2"),
        ],
    );
    let root = fixtures_dir().join("python").canonicalize().unwrap();
    let caps = client
        .initialize(
            &[&root],
            json!({"capabilities": {"window": {"workDoneProgress": true}}}),
        )
        .await;
    assert_eq!(
        caps["capabilities"]["executeCommandProvider"]["commands"],
        json!([
            "codecontext.execute",
            "codecontext.verify",
            "codecontext.history",
            "codecontext.perfHistory",
            "codecontext.callers",
            "codecontext.context",
            "codecontext.assess",
            "codecontext.report",
            "codecontext.search",
            "codecontext.rules",
            "codecontext.usages",
            "codecontext.recall",
            "codecontext.remember",
            "codecontext.forget",
            "codecontext.feedback"
        ])
    );
    assert_eq!(
        caps["capabilities"]["experimental"]["codecontext/execute"],
        true
    );
    client.indexed().await;
    (client, home)
}

async fn execute(client: &mut LspClient, params: Value) -> Value {
    client.request("codecontext/execute", params).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snippets_run_in_each_language_with_their_outcome() {
    let (mut client, _home) = server().await;
    let out = execute(
        &mut client,
        json!({"language": "python", "code": "import sys, os\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ.get('CODECONTEXT_FAKE_SECRET'))", "stdin": "hi", "args": ["a", "b"]}),
    )
    .await;
    assert_eq!(out["status"], "ok", "{out}");
    assert_eq!(out["language"], "python");
    assert_eq!(
        out["stdout"], "HI ['a', 'b'] None\n",
        "the server's secret stays out"
    );
    assert_eq!(out["exitCode"], 0);
    for key in ["wallMs", "cpuMs", "peakMemoryBytes"] {
        assert!(out[key].is_u64(), "{key}: {out}");
    }

    let out = execute(
        &mut client,
        json!({"language": "shell", "code": "echo to-err >&2; exit 4"}),
    )
    .await;
    assert_eq!(
        (out["status"].as_str(), out["exitCode"].as_i64()),
        (Some("error"), Some(4)),
        "{out}"
    );
    assert_eq!(out["stderr"], "to-err\n");

    let out = execute(
        &mut client,
        json!({"language": "javascript", "code": "console.log([1,2,3].map(x => x * 2).join(','))"}),
    )
    .await;
    assert_eq!(
        (out["status"].as_str(), out["stdout"].as_str()),
        (Some("ok"), Some("2,4,6\n")),
        "{out}"
    );

    let out = execute(
        &mut client,
        json!({"language": "rust", "code": "fn main() { let v: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect(); println!(\"{}\", v.iter().sum::<u64>()); }", "args": ["20", "22"], "timeoutMs": 60000}),
    )
    .await;
    assert_eq!(
        (out["status"].as_str(), out["stdout"].as_str()),
        (Some("ok"), Some("42\n")),
        "{out}"
    );

    // Of Cargo's home, only the toolchain proxies are visible (it may hold credentials).
    let out = execute(
        &mut client,
        json!({"language": "rust", "code": "fn main() { match std::env::var(\"CARGO_HOME\") { Ok(h) => for e in std::fs::read_dir(h).unwrap() { println!(\"{}\", e.unwrap().file_name().to_string_lossy()) }, Err(_) => println!(\"bin\") } }", "timeoutMs": 60000}),
    )
    .await;
    assert_eq!(
        (out["status"].as_str(), out["stdout"].as_str()),
        (Some("ok"), Some("bin\n")),
        "{out}"
    );

    let out = execute(
        &mut client,
        json!({"language": "python", "code": "while True: pass", "timeoutMs": 500}),
    )
    .await;
    assert_eq!(out["status"], "timed_out", "{out}");
    let progress = client.pending_notifications("$/progress");
    assert!(
        progress
            .iter()
            .any(|p| p["value"]["kind"] == "begin" && p["value"]["title"] == "Running python"),
        "{progress:?}"
    );
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_form_and_bad_requests() {
    let (mut client, _home) = server().await;
    let out = client
        .request(
            "workspace/executeCommand",
            json!({"command": "codecontext.execute", "arguments": [{"language": "sh", "code": "echo $((6 * 7))"}]}),
        )
        .await;
    assert_eq!(
        (out["status"].as_str(), out["stdout"].as_str()),
        (Some("ok"), Some("42\n")),
        "{out}"
    );

    let err = client
        .request_error(
            "codecontext/execute",
            json!({"language": "cobol", "code": "x"}),
        )
        .await;
    assert_eq!(err["code"], -32602, "{err}");
    assert!(err["message"].as_str().unwrap().contains("cobol"));
    let err = client
        .request_error("codecontext/execute", json!({"language": "python"}))
        .await;
    assert_eq!(err["code"], -32602, "{err}");
    let err = client
        .request_error(
            "workspace/executeCommand",
            json!({"command": "codecontext.nope", "arguments": []}),
        )
        .await;
    assert_eq!(err["code"], -32602, "{err}");
    // Still serving.
    assert_eq!(client.symbol_names("clamp").await, ["clamp"]);
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_answers_at_once_and_the_server_goes_on() {
    let (mut client, _home) = server().await;
    let id = client
        .send_request(
            "codecontext/execute",
            json!({"language": "shell", "code": "sleep 60", "timeoutMs": 60000}),
        )
        .await;
    let started = std::time::Instant::now();
    client.notify("$/cancelRequest", json!({"id": id})).await;
    let response = client.response(id).await;
    assert_eq!(response["error"]["code"], -32800, "{response}");
    assert!(
        started.elapsed().as_secs() < 10,
        "answered without waiting for the run"
    );
    let out = execute(
        &mut client,
        json!({"language": "shell", "code": "echo next"}),
    )
    .await;
    assert_eq!(out["stdout"], "next\n", "{out}");
    assert!(client.shutdown_and_exit().await);
}

/// The same request in Docker (`CODECONTEXT_SANDBOX=docker`), with the image `.ci/docker`
/// builds: the same shape of answer, the server's secrets out, an unprivileged user, the
/// memory limit (512 MiB by default) kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snippets_run_in_docker_with_the_same_answers() {
    let Some(image) = codecontext_tests::service_url("CODECONTEXT_TEST_DOCKER_IMAGE") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
            ("CODECONTEXT_FAKE_SECRET", "hunter2"),
            ("CODECONTEXT_SANDBOX", "docker"),
            ("CODECONTEXT_DOCKER_IMAGE", &image),
        ],
    );
    let root = fixtures_dir().join("python").canonicalize().unwrap();
    client.initialize(&[&root], json!({})).await;
    client.indexed().await;
    let out = execute(
        &mut client,
        json!({"language": "python", "code": "import sys, os\nprint(sys.stdin.read().upper(), sys.argv[1:], os.environ.get('CODECONTEXT_FAKE_SECRET'), os.getuid())", "stdin": "hi", "args": ["a", "b"]}),
    )
    .await;
    assert_eq!(out["status"], "ok", "{out}");
    assert_eq!(out["stdout"], "HI ['a', 'b'] None 65534\n", "{out}");
    assert_eq!(out["exitCode"], 0);
    let out = execute(
        &mut client,
        json!({"language": "python", "code": "x = b'x' * (1 << 31)"}),
    )
    .await;
    assert_eq!(out["status"], "memory_limit", "{out}");
    assert!(client.shutdown_and_exit().await);
}

/// Docker chosen by the folder's `codecontext.toml`, with the image for the language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_folder_can_choose_docker_and_its_image() {
    let Some(image) = codecontext_tests::service_url("CODECONTEXT_TEST_DOCKER_IMAGE") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::write(
        root.path().join("codecontext.toml"),
        format!("sandbox = \"docker\"\n[docker.images]\npython = \"{image}\"\n"),
    )
    .unwrap();
    std::fs::write(root.path().join("main.py"), "print('hi')\n").unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut client = LspClient::spawn_binary(
        Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.path().to_str().unwrap()),
            ("CODECONTEXT_CONFIG", "/nonexistent/config.toml"),
        ],
    );
    let root = root.path().canonicalize().unwrap();
    client.initialize(&[&root], json!({})).await;
    client.indexed().await;
    let out = execute(
        &mut client,
        json!({"language": "python", "code": "import os\nprint(os.getuid())"}),
    )
    .await;
    assert_eq!(out["stdout"], "65534\n", "in a container: {out}");
    // No image for shell: said, not guessed.
    let error = client
        .request_error(
            "codecontext/execute",
            json!({"language": "shell", "code": "echo hi"}),
        )
        .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("needs an image"),
        "{error}"
    );
    assert!(client.shutdown_and_exit().await);
}
