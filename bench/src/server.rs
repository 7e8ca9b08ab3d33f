//! The language server as an editor sees it, over the real binary's stdio:
//! - startup: time from `initialize` to the first non-empty `workspace/symbol` answer and
//!   to the end of indexing, cold (empty store) and warm (store from the previous run);
//! - typing: `definition` and `references` latency while a simulated user types into an
//!   open ~300 KB file, a keystroke every `pace` milliseconds.

use std::{
    ffi::OsStr,
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::{
    keystroke::collect,
    lsp::{uri, LspClient},
    stats::{percentile, us},
};

struct Startup {
    first_symbol: Duration,
    complete: Duration,
    indexed: Duration,
    message: String,
}

fn initialize(client: &mut LspClient, root: &Path) -> Result<()> {
    client.request(
        "initialize",
        json!({
            "processId": null,
            "rootUri": null,
            "workspaceFolders": [{"uri": uri(root), "name": "bench"}],
            "capabilities": {"window": {"workDoneProgress": true}}
        }),
    )?;
    client.notify("initialized", json!({}))
}

fn startup(binary: &Path, root: &Path, home: &Path, query: &str) -> Result<Startup> {
    let command = format!("'{}' serve --stdio", binary.display());
    let envs: [(&str, &OsStr); 2] = [
        ("CODECONTEXT_HOME", home.as_os_str()),
        ("CODECONTEXT_LOG", OsStr::new("warn")),
    ];
    let start = Instant::now();
    let mut client = LspClient::start_with_env(&command, &envs)?;
    initialize(&mut client, root)?;
    // Ask again and again until indexing ends, as an impatient user would: the first
    // non-empty answer, and the first answer that is already the final one (every
    // file's symbols in, before references are resolved).
    let is_end = |p: &Value| p["value"]["kind"] == "end";
    let mut answers: Vec<(Duration, Value)> = Vec::new();
    let end = loop {
        let found = client.request("workspace/symbol", json!({ "query": query }))?;
        answers.push((start.elapsed(), found));
        if let Some(end) = client.received("$/progress", is_end) {
            break end;
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("indexing did not end within 10 minutes");
        }
    };
    let indexed = start.elapsed();
    let last = client.request("workspace/symbol", json!({ "query": query }))?;
    client.shutdown();
    let first_symbol = answers
        .iter()
        .find(|(_, a)| a.as_array().is_some_and(|a| !a.is_empty()))
        .map_or(indexed, |(t, _)| *t);
    let complete = answers
        .iter()
        .rev()
        .take_while(|(_, a)| *a == last)
        .last()
        .map_or(indexed, |(t, _)| *t);
    Ok(Startup {
        first_symbol,
        complete,
        indexed,
        message: end["value"]["message"].as_str().unwrap_or("").to_string(),
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(
    binary: &Path,
    dir: &Path,
    runs: usize,
    query: &str,
    ext: &str,
    keystrokes: usize,
    pace_ms: u64,
) -> Result<()> {
    let binary = binary.canonicalize().with_context(|| {
        format!(
            "{} (build it: cargo build --release -p codecontext-server)",
            binary.display()
        )
    })?;
    let root = dir.canonicalize()?;
    let work =
        std::env::temp_dir().join(format!("codecontext-bench-server-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;

    let (mut cold_first, mut cold_end, mut warm_first, mut warm_end) =
        (vec![], vec![], vec![], vec![]);
    let (mut cold_complete, mut warm_complete) = (vec![], vec![]);
    let mut last = (String::new(), String::new());
    for run in 0..runs {
        let home = work.join(format!("home-{run}"));
        let cold = startup(&binary, &root, &home, query)?;
        let warm = startup(&binary, &root, &home, query)?;
        cold_first.push(ms(cold.first_symbol));
        cold_end.push(ms(cold.indexed));
        warm_first.push(ms(warm.first_symbol));
        warm_end.push(ms(warm.indexed));
        cold_complete.push(ms(cold.complete));
        warm_complete.push(ms(warm.complete));
        last = (cold.message, warm.message);
        std::fs::remove_dir_all(&home).ok();
    }
    println!("corpus      {}", root.display());
    println!("cold        {}", last.0);
    println!("warm        {}", last.1);
    println!(
        "first workspace/symbol  cold {:>8.1} ms   warm {:>8.1} ms   ({:.1}x)   median of {runs}",
        median(cold_first.clone()),
        median(warm_first.clone()),
        median(cold_first) / median(warm_first)
    );
    println!(
        "complete workspace/symbol cold {:>6.1} ms   warm {:>8.1} ms   ({:.1}x)   (answer already final)",
        median(cold_complete.clone()),
        median(warm_complete.clone()),
        median(cold_complete) / median(warm_complete)
    );
    println!(
        "end of indexing         cold {:>8.1} ms   warm {:>8.1} ms   ({:.1}x)   median of {runs}",
        median(cold_end.clone()),
        median(warm_end.clone()),
        median(cold_end) / median(warm_end)
    );

    if keystrokes > 0 {
        typing(&binary, &root, &work, ext, keystrokes, pace_ms)?;
    }
    std::fs::remove_dir_all(&work).ok();
    Ok(())
}

/// Identifier starts on lines other than `skip`, as 0-based (line, UTF-16 column).
fn identifiers(text: &str, skip: usize) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if i == skip || !line.is_ascii() {
            continue;
        }
        let bytes = line.as_bytes();
        for (j, b) in bytes.iter().enumerate() {
            let starts = (b.is_ascii_alphabetic() || *b == b'_')
                && (j == 0 || !(bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'_'));
            if starts {
                out.push((i as u32, j as u32));
            }
        }
    }
    out
}

fn typing(
    binary: &Path,
    root: &Path,
    work: &Path,
    ext: &str,
    keystrokes: usize,
    pace_ms: u64,
) -> Result<()> {
    // A workspace of the corpus's files plus one ~300 KB file made of them.
    let ws = work.join("typing");
    let mut files = Vec::new();
    collect(root, ext, &mut files);
    let mut big = String::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f);
        let target = ws.join(rel);
        std::fs::create_dir_all(target.parent().unwrap_or(&ws))?;
        std::fs::copy(f, &target)?;
        if big.len() < 300 * 1024 {
            if let Ok(t) = std::fs::read_to_string(f) {
                big.push_str(&t);
                big.push('\n');
            }
        }
    }
    let big_path = ws.join(format!("big_typing_target.{ext}"));
    std::fs::write(&big_path, &big)?;
    let home = work.join("home-typing");
    let command = format!("'{}' serve --stdio", binary.display());
    let envs: [(&str, &OsStr); 2] = [
        ("CODECONTEXT_HOME", home.as_os_str()),
        ("CODECONTEXT_LOG", OsStr::new("warn")),
    ];
    let mut client = LspClient::start_with_env(&command, &envs)?;
    initialize(&mut client, &ws)?;
    client.notification("$/progress", |p| p["value"]["kind"] == "end")?;
    let doc = uri(&big_path);
    let opened = Instant::now();
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": doc, "languageId": ext, "version": 1, "text": big}}),
    )?;
    // Typing starts once the file is open (a request waits for the open to be
    // applied), so that the latencies below are those of typing, not of opening.
    client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": doc}}),
    )?;
    let open_ms = ms(opened.elapsed());
    // Type into a line in the middle of a body, a word at a time, then delete it.
    let lines: Vec<&str> = big.lines().collect();
    let typing_line = (lines.len() / 2..lines.len())
        .find(|&i| lines[i].starts_with("        ") && lines[i].is_ascii())
        .context("no indented line to type into")?;
    let col = (lines[typing_line].len() - lines[typing_line].trim_start().len()) as u32;
    let targets = identifiers(&big, typing_line);
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let word = "tmp_val ";
    let (mut defs, mut refs) = (Vec::new(), Vec::new());
    let mut typed = 0u32;
    let mut version = 1;
    let pace = Duration::from_millis(pace_ms);
    for k in 0..keystrokes {
        let tick = Instant::now();
        version += 1;
        // Forward through the word, then back out of it.
        let change = if (k / word.len()).is_multiple_of(2) {
            let c = &word[k % word.len()..k % word.len() + 1];
            let at = json!({"line": typing_line, "character": col + typed});
            typed += 1;
            json!({"range": {"start": at, "end": at}, "text": c})
        } else {
            typed -= 1;
            json!({"range": {"start": {"line": typing_line, "character": col + typed},
                             "end": {"line": typing_line, "character": col + typed + 1}},
                   "text": ""})
        };
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": doc, "version": version}, "contentChanges": [change]}),
        )?;
        if k % 2 == 1 {
            let (line, character) = targets[(next() % targets.len() as u64) as usize];
            let pos = json!({"textDocument": {"uri": doc}, "position": {"line": line, "character": character}});
            let t = Instant::now();
            if k % 4 == 1 {
                client.request("textDocument/definition", pos)?;
                defs.push(t.elapsed());
            } else {
                let mut params = pos;
                params["context"] = json!({"includeDeclaration": false});
                client.request("textDocument/references", params)?;
                refs.push(t.elapsed());
            }
        }
        if let Some(rest) = pace.checked_sub(tick.elapsed()) {
            // Pacing a simulated typist, not synchronisation.
            std::thread::sleep(rest);
        }
    }
    client.shutdown();
    println!(
        "typing      {keystrokes} keystrokes every {pace_ms} ms into a {} KB file ({} lines), {} files in the workspace",
        big.len() / 1024,
        lines.len(),
        files.len() + 1
    );
    println!("open        {open_ms:.1} ms (didOpen and a first documentSymbol)");
    for (name, v) in [("definition", &defs), ("references", &refs)] {
        println!(
            "{name:<11} p50 {:>8.1} us   p99 {:>8.1} us   ({} requests)",
            us(percentile(v, 50.0)),
            us(percentile(v, 99.0)),
            v.len()
        );
    }
    Ok(())
}
