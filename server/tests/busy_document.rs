//! Slow documents do not stall the server (issue 24): while documents nested 20,000
//! deep, in every language, are opened, edited and processed, every answer about a normal file
//! (its outline, a workspace symbol search) arrives within 1 s, and the slow documents
//! are served once processed. Before, the applier parsed them holding everything:
//! each request waited until every document opened before it was processed.

use std::time::{Duration, Instant};

use codecontext_tests::{
    lsp::{file_uri, LspClient},
    pathological::{normal, pathological_inputs, LANGUAGES},
};
use serde_json::{json, Value};

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
        client.open(&uri, lang, &input.text).await;
        // Edited at once, in the middle, as typing would: the edit waits behind the
        // open in the background, and requests about the normal file wait for neither.
        let (line, character) = utf16_position(&input.text, input.text.len() / 2);
        let at = json!({"line": line, "character": character});
        client
            .notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": 2},
                       "contentChanges": [{"range": {"start": at, "end": at}, "text": " "}]}),
            )
            .await;
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
        for (method, params) in [
            ("textDocument/documentSymbol", &outline),
            ("workspace/symbol", &search),
        ] {
            let asked = Instant::now();
            let answer = client.request(method, params.clone()).await;
            worst = worst.max(asked.elapsed());
            asked_meanwhile += 1;
            assert!(
                answer.as_array().is_some_and(|a| !a.is_empty()),
                "{method}: {answer}"
            );
        }
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

/// A document the server will not index says why, in its diagnostics.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_not_indexed_says_why() {
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

/// The binary over stdio, with its own home (store, logs) at `home`.
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

fn serve(home: &std::path::Path) -> LspClient {
    LspClient::spawn_binary(
        std::path::Path::new(env!("CARGO_BIN_EXE_codecontext")),
        &[
            ("CODECONTEXT_LOG", "warn"),
            ("CODECONTEXT_HOME", home.to_str().expect("utf-8 path")),
        ],
    )
}
