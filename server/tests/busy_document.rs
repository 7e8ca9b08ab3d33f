//! Slow documents do not stall the server (issue 24): while documents nested 20,000
//! deep, in every language, are opened, edited and processed, every answer about a normal file
//! (its outline, a workspace symbol search) arrives within 1 s, and the slow documents
//! are served once processed. Before, the applier parsed them holding everything:
//! each request waited until every document opened before it was processed.

#![allow(
    clippy::print_stderr,
    reason = "each language's times are printed for --nocapture, as the test's record"
)]

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use codecontext_tests::{
    lsp::{file_uri, LspClient},
    pathological::{normal, pathological_inputs, LANGUAGES},
};
use serde_json::{json, Value};

/// The tests here measure latencies: one at a time, so that they do not take each
/// other's cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The longest an answer about the normal file may take.
const LIMIT: Duration = Duration::from_secs(1);

/// The slow documents: a language and a shape of `tests/src/pathological.rs`. Eight,
/// as many as the server lets go on in the background at once (`MAX_BACKGROUND`).
const SLOW: &[(&str, &str)] = &[
    ("rust", "unclosed_braces"),
    ("rust", "parens"),
    ("javascript", "parens"),
    ("typescript", "unclosed_braces"),
    ("go", "parens"),
    ("java", "brackets"),
    ("java", "unclosed_braces"),
    ("python", "unclosed_brackets"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_about_a_normal_file_while_slow_documents_are_processed() {
    let _serial = SERIAL.lock().await;
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path().canonicalize().expect("canonical");
    let rust = LANGUAGES.iter().find(|l| l.name == "rust").expect("rust");
    let normal_path = root.join("normal.rs");
    std::fs::write(&normal_path, normal(rust, 20_000).text).expect("write");
    let normal_uri = file_uri(&normal_path);
    let home = tempfile::tempdir().expect("home");
    let mut client = serve(home.path());
    client.initialize(&[&root], json!({})).await;
    client.indexed().await;
    let outline = json!({"textDocument": {"uri": normal_uri}});
    let search = json!({"query": "helper1"});
    let normal_symbols = client
        .request("textDocument/documentSymbol", outline.clone())
        .await;
    assert!(
        normal_symbols.as_array().is_some_and(|s| !s.is_empty()),
        "{normal_symbols}"
    );

    let mut slow = Vec::new();
    for (i, (lang, shape)) in SLOW.iter().enumerate() {
        let language = LANGUAGES
            .iter()
            .find(|l| l.name == *lang)
            .expect("a language");
        let input = pathological_inputs(language)
            .into_iter()
            .find(|input| input.shape == *shape)
            .expect("a shape");
        let extension = language.file.rsplit('.').next().expect("an extension");
        let uri = file_uri(&root.join(format!("slow{i}.{extension}")));
        // Edited at once, as typing would: the edit waits behind the open in the
        // background, and requests about the normal file wait for neither.
        open_and_edit_in_the_middle(&mut client, &uri, lang, &input.text).await;
        slow.push(uri);
    }
    let started = Instant::now();
    // Each slow document's outline: answered once it is processed.
    let mut waiting: Vec<(String, i64)> = Vec::new();
    for uri in &slow {
        let id = client
            .send_request(
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": uri}}),
            )
            .await;
        waiting.push((uri.clone(), id));
    }
    let mut worst = Duration::ZERO;
    let mut asked_meanwhile = 0;
    let mut answers: Vec<(String, Value)> = Vec::new();
    loop {
        waiting.retain(|(uri, id)| match client.try_response(*id) {
            Some(answer) => {
                answers.push((uri.clone(), answer));
                false
            }
            None => true,
        });
        if waiting.is_empty() {
            break;
        }
        worst = worst.max(ask_about_the_normal_file(&mut client, "rust", &outline, &search).await);
        asked_meanwhile += 2;
    }
    let processing = started.elapsed();
    assert!(
        asked_meanwhile > 0,
        "the slow documents were processed in {processing:?}, before anything could be asked"
    );
    assert!(
        worst < LIMIT,
        "an answer about the normal file took {worst:?} while the slow documents were \
         processed ({processing:?}, {asked_meanwhile} questions)"
    );
    // The slow documents are served: an outline (empty, for what error recovery kept
    // nothing of), never an error.
    for (uri, answer) in &answers {
        assert!(answer.get("error").is_none(), "{uri}: {answer}");
        assert!(answer["result"].is_array(), "{uri}: {answer}");
    }
    assert!(
        client.shutdown_and_exit().await,
        "exit code 0 after shutdown"
    );
}

/// Inputs whose definitions all sit in one chunk (a Java class of 100,000 methods, or
/// of 10,000 methods of one name): the graph takes a chunk in under one hold of its
/// lock, about 0.9 s for these in a debug build (0.1 s in a release build), and an
/// edit inside the class takes the whole class out and puts it back. Chunks per class
/// member (issue 22) would make them like the others; until then they are left out
/// here, and `codecontext-bench pathological` reports them.
const ONE_CHUNK: &[(&str, &str)] = &[("java", "siblings"), ("java", "candidates")];

/// Every pathological shape of every language (nesting 20,000 deep, a 1 MB line,
/// 100,000 siblings, 10,000 candidates for one name), opened and edited by one editor
/// while another editor of the same folder (one daemon) asks about a normal file: every
/// answer to the second arrives within 1 s, and the first is then served each document.
/// (The first editor's own answers wait behind the transfer of its huge outlines; the
/// server's responsiveness is what the other client sees.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_editor_is_answered_while_every_shape_is_opened_and_edited() {
    let _serial = SERIAL.lock().await;
    for language in LANGUAGES {
        every_shape(language.name).await;
    }
}

async fn every_shape(lang: &'static str) {
    let began = Instant::now();
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path().canonicalize().expect("canonical");
    let language = LANGUAGES
        .iter()
        .find(|l| l.name == lang)
        .expect("a language");
    let extension = language.file.rsplit('.').next().expect("an extension");
    let normal_path = root.join(format!("normal.{extension}"));
    std::fs::write(&normal_path, normal(language, 20_000).text).expect("write");
    let home = tempfile::tempdir().expect("home");
    let envs: Vec<(&'static str, String)> = vec![
        ("CODECONTEXT_LOG", "warn".into()),
        (
            "CODECONTEXT_HOME",
            home.path().to_str().expect("utf-8 path").into(),
        ),
        ("CODECONTEXT_DAEMON_IDLE_S", "1".into()),
    ];
    let spawn = {
        let envs = envs.clone();
        move || {
            let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let binary = std::path::Path::new(env!("CARGO_BIN_EXE_codecontext"));
            LspClient::spawn_binary_with(binary, &["serve", "--stdio"], &envs)
        }
    };
    // The editor runs on a thread and runtime of its own: reading its huge answers (an
    // outline of 100,000 items) must not hold up the asker's reading in this process.
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let done = Arc::new(AtomicBool::new(false));
    let editing = std::thread::spawn({
        let (root, done, spawn) = (root.clone(), done.clone(), spawn.clone());
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut editor = spawn();
                editor.initialize(&[&root], json!({})).await;
                daemon_indexed(&mut editor).await;
                let _ = ready_tx.send(());
                go_rx.await.expect("go");
                let mut ids = Vec::new();
                for input in pathological_inputs(language)
                    .into_iter()
                    .filter(|input| !ONE_CHUNK.contains(&(lang, input.shape)))
                {
                    let uri = file_uri(&root.join(format!("{}.{extension}", input.shape)));
                    open_and_edit_in_the_middle(&mut editor, &uri, lang, &input.text).await;
                    let id = editor
                        .send_request(
                            "textDocument/documentSymbol",
                            json!({"textDocument": {"uri": uri}}),
                        )
                        .await;
                    ids.push((input.shape, id));
                }
                let mut answers = Vec::new();
                for (shape, id) in ids {
                    answers.push((shape, editor.response(id).await));
                }
                done.store(true, Ordering::SeqCst);
                assert!(
                    editor.shutdown_and_exit().await,
                    "{lang}: the editor's exit"
                );
                answers
            })
        }
    });
    ready_rx.await.expect("the editor is ready");
    let mut asker = spawn();
    asker.initialize(&[&root], json!({})).await;
    daemon_indexed(&mut asker).await;
    let outline = json!({"textDocument": {"uri": file_uri(&normal_path)}});
    let search = json!({"query": "helper1"});
    let _ = go_tx.send(());

    let mut worst = Duration::ZERO;
    let mut asked = 0;
    while !done.load(Ordering::SeqCst) && !editing.is_finished() {
        worst = worst.max(ask_about_the_normal_file(&mut asker, lang, &outline, &search).await);
        asked += 2;
    }
    let answers = editing.join().expect("the editor's thread");
    assert!(
        worst < LIMIT,
        "{lang}: an answer about the normal file took {worst:?} ({asked} questions)"
    );
    // Served: an outline for each (empty for what error recovery kept nothing of).
    for (shape, answer) in &answers {
        assert!(answer["result"].is_array(), "{lang} {shape}: {answer}");
    }
    assert!(asker.shutdown_and_exit().await, "{lang}: the asker's exit");
    eprintln!(
        "{lang}: every shape served in {:?}; worst answer about the normal file {worst:?} \
         ({asked} questions)",
        began.elapsed()
    );
}

/// Asks for the normal file's outline and searches for a symbol of it: the longer of the
/// two answers' times. Each must find something.
async fn ask_about_the_normal_file(
    client: &mut LspClient,
    lang: &str,
    outline: &Value,
    search: &Value,
) -> Duration {
    let mut worst = Duration::ZERO;
    for (method, params) in [
        ("textDocument/documentSymbol", outline),
        ("workspace/symbol", search),
    ] {
        let asked = Instant::now();
        let answer = client.request(method, params.clone()).await;
        worst = worst.max(asked.elapsed());
        assert!(
            answer.as_array().is_some_and(|a| !a.is_empty()),
            "{lang} {method}: {answer}"
        );
    }
    worst
}

/// Waits until the client is told the daemon's indexing is over.
async fn daemon_indexed(client: &mut LspClient) {
    client
        .notification("$/progress", |p| {
            p["value"]["kind"] == "end"
                && p["token"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("codecontext/daemon-indexing/"))
        })
        .await;
}

/// A document the server will not index says why, in its diagnostics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_not_indexed_says_why() {
    let _serial = SERIAL.lock().await;
    let root = tempfile::tempdir().expect("temp dir");
    let root = root.path().canonicalize().expect("canonical");
    let home = tempfile::tempdir().expect("home");
    let mut client = serve(home.path());
    client.initialize(&[&root], json!({})).await;
    client.indexed().await;
    // Over the 2 MiB limit.
    let text = "fn a() {}\n".repeat(220_000);
    let uri = file_uri(&root.join("huge.rs"));
    client.open(&uri, "rust", &text).await;
    let published = client
        .notification("textDocument/publishDiagnostics", |p| p["uri"] == uri)
        .await;
    let message = published["diagnostics"][0]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.starts_with("not indexed: file is 2200000 bytes"),
        "{published}"
    );
    assert!(
        client.shutdown_and_exit().await,
        "exit code 0 after shutdown"
    );
}

/// Opens `text` as the document `uri`, then types a space in its middle (version 2).
async fn open_and_edit_in_the_middle(client: &mut LspClient, uri: &str, lang: &str, text: &str) {
    client.open(uri, lang, text).await;
    let (line, character) = utf16_position(text, text.len() / 2);
    let at = json!({"line": line, "character": character});
    client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": {"start": at, "end": at}, "text": " "}]}),
        )
        .await;
}

/// The LSP position (UTF-16) of the character boundary at or before byte `offset`.
fn utf16_position(text: &str, offset: usize) -> (usize, usize) {
    let mut at = offset;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.matches('\n').count();
    (line, before[line_start..].encode_utf16().count())
}

/// The binary over stdio, with its own home (store, logs) at `home`.
fn serve(home: &std::path::Path) -> LspClient {
    LspClient::spawn_binary(
        std::path::Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.to_str().expect("utf-8 path")),
        ],
    )
}
