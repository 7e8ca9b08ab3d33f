//! Pathological inputs (issue 24), each against a normal file of its size: the inputs of
//! `tests/src/pathological.rs` (nesting 20,000 deep, a 1 MB line, 100,000 siblings,
//! 10,000 definitions of one name, per language).
//! - In process: the time to index it, open it, edit it once and ask about it (outline,
//!   syntax errors, symbols, definitions, references), best of `runs`, and its ratio to
//!   the same for the normal file (target: at most 2).
//! - Over the real binary's stdio, two editors on one folder (one daemon): one opens the
//!   input and asks for its outline while the other asks about a normal file
//!   (`textDocument/documentSymbol`, `workspace/symbol`) again and again until the
//!   input's outline is answered; the worst latency of those answers (target: at most
//!   100 ms), and how long the input took to be served.

use std::{
    ffi::OsStr,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use codecontext_tests::pathological::{normal, pathological_inputs, process, LANGUAGES};
use serde_json::{json, Value};

use crate::lsp::{uri, LspClient};

/// What the server did while one input was processed.
struct Concurrent {
    worst: Duration,
    asked: usize,
    served: Duration,
}

pub fn run(binary: &Path, runs: usize, only: Option<&str>, shape: Option<&str>) -> Result<()> {
    let runs = runs.max(1);
    println!(
        "{:<11} {:<18} {:>9} {:>10} {:>10} {:>6}   {:>10} {:>6} {:>10}",
        "language", "input", "bytes", "time", "normal", "ratio", "worst", "asked", "served"
    );
    let mut worst_ratio: f64 = 0.0;
    let mut worst_latency = Duration::ZERO;
    for language in LANGUAGES {
        if only.is_some_and(|o| o != language.name) {
            continue;
        }
        // Once small, for what happens once per process.
        process(language.file, &normal(language, 4096).text, None);
        for input in pathological_inputs(language) {
            if shape.is_some_and(|s| s != input.shape) {
                continue;
            }
            let baseline = normal(language, input.text.len());
            let best = |text: &str, reference| {
                (0..runs)
                    .map(|_| process(language.file, text, reference).0)
                    .min()
                    .unwrap_or_default()
            };
            let normal_time = best(&baseline.text, baseline.reference);
            let time = best(&input.text, input.reference);
            let ratio = time.as_secs_f64() / normal_time.as_secs_f64().max(1e-6);
            let concurrent = concurrent(binary, language.name, language.file, &input.text)
                .with_context(|| format!("{} {} over LSP", language.name, input.shape))?;
            worst_ratio = worst_ratio.max(ratio);
            worst_latency = worst_latency.max(concurrent.worst);
            println!(
                "{:<11} {:<18} {:>9} {:>8.1}ms {:>8.1}ms {:>5.1}x   {:>8.1}ms {:>6} {:>8.1}ms",
                language.name,
                input.shape,
                input.text.len(),
                ms(time),
                ms(normal_time),
                ratio,
                ms(concurrent.worst),
                concurrent.asked,
                ms(concurrent.served),
            );
        }
    }
    println!(
        "worst ratio {worst_ratio:.1}x (target 2x); worst latency on the normal file \
         {:.1} ms (target 100 ms)",
        ms(worst_latency)
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Two editors on one folder holding a normal file, through the daemon they share: the
/// first opens `text` as a document and asks for its outline; meanwhile the second asks
/// about the normal file, again and again, until the first has its answer. The second's
/// latencies are the server's, not the transfer of the first's (possibly huge) answer.
fn concurrent(binary: &Path, lang: &str, file: &str, text: &str) -> Result<Concurrent> {
    let root = tempfile::tempdir()?;
    let root = root.path().canonicalize()?;
    let language = LANGUAGES
        .iter()
        .find(|l| l.name == lang)
        .context("a language")?;
    let extension = file.rsplit('.').next().unwrap_or(file);
    let normal_path = root.join(format!("normal.{extension}"));
    std::fs::write(&normal_path, normal(language, 20_000).text)?;
    let home = tempfile::tempdir()?;
    let extra = std::env::var("CODECONTEXT_BENCH_SERVE_ARGS").unwrap_or_default();
    let command = format!("'{}' serve --stdio {extra}", binary.display());
    let envs: [(&str, &OsStr); 2] = [
        ("CODECONTEXT_HOME", home.path().as_os_str()),
        ("CODECONTEXT_LOG", OsStr::new("warn")),
    ];
    let start = || -> Result<LspClient> {
        let mut client = LspClient::start_with_env(&command, &envs)?;
        client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "workspaceFolders": [{"uri": uri(&root), "name": "bench"}],
                "capabilities": {"window": {"workDoneProgress": true}}
            }),
        )?;
        client.notify("initialized", json!({}))?;
        client.notification("$/progress", |p| p["value"]["kind"] == "end")?;
        Ok(client)
    };
    let mut editor = start()?;
    let mut asker = start()?;
    let outline = json!({"textDocument": {"uri": uri(&normal_path)}});
    let search = json!({"query": "helper1"});
    if asker
        .request("textDocument/documentSymbol", outline.clone())?
        .as_array()
        .is_none_or(|a| a.is_empty())
    {
        bail!("no outline of the normal file");
    }
    let slow = uri(&root.join(file));
    let (lang, text) = (lang.to_string(), text.to_string());
    let opened = Instant::now();
    let served = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let editing = std::thread::spawn({
        let served = served.clone();
        move || -> Result<(Duration, LspClient)> {
            editor.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": slow, "languageId": lang, "version": 1, "text": text}}),
            )?;
            let answer = editor.request(
                "textDocument/documentSymbol",
                json!({"textDocument": {"uri": slow}}),
            );
            served.store(true, std::sync::atomic::Ordering::SeqCst);
            answer?;
            Ok((opened.elapsed(), editor))
        }
    });
    let mut worst = Duration::ZERO;
    let mut asked = 0;
    while !served.load(std::sync::atomic::Ordering::SeqCst) {
        for (method, params) in [
            ("textDocument/documentSymbol", &outline),
            ("workspace/symbol", &search),
        ] {
            let started = Instant::now();
            let answer: Value = asker.request(method, params.clone())?;
            worst = worst.max(started.elapsed());
            asked += 1;
            if answer.as_array().is_none_or(|a| a.is_empty()) {
                bail!("{method} answered nothing about the normal file");
            }
        }
    }
    let (served, editor) = editing
        .join()
        .map_err(|_| anyhow::anyhow!("the editor's thread panicked"))??;
    asker.shutdown();
    editor.shutdown();
    Ok(Concurrent {
        worst,
        asked,
        served,
    })
}
