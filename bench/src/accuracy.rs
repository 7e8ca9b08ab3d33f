//! Definition accuracy against a type-aware language server.
//!
//! Positions are identifiers of the repository's own files (every kind listed in the
//! language's `identifier_kinds`), sampled evenly. For each position both CodeContext and
//! the reference server are asked for definitions; a location is `(file, line)` of the
//! target's name. Only locations inside the repository count as the reference's answers
//! (a server's answers in typeshed or node_modules cannot be in our graph).
//!
//! - precision: of all locations we answer, the share the reference also answers;
//! - recall: of all in-repository locations the reference answers, the share we answer.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use codecontext_analysis::{AnalysisHost, FileId, PositionEncoding};
use serde_json::{json, Value};

use crate::lsp::{uri, uri_path, LspClient};

type Loc = (PathBuf, u32);

struct Position {
    file: FileId,
    path: PathBuf,
    offset: u32,
    line: u32,
    col16: u32,
    text: String,
}

fn language_id(lang: &str) -> &'static str {
    match lang {
        "python" => "python",
        "typescript" => "typescript",
        "tsx" => "typescriptreact",
        "javascript" => "javascript",
        "go" => "go",
        "java" => "java",
        "rust" => "rust",
        _ => "plaintext",
    }
}

/// Identifier nodes of a file.
fn identifiers(host: &AnalysisHost, file: FileId, path: &Path) -> Result<Vec<Position>> {
    let text = std::fs::read_to_string(path)?;
    let lang = codecontext_lang::language_for_path(path).context("language")?;
    let tree = codecontext_syntax::parse(lang, &text, None, Duration::from_secs(10))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let kinds = &lang.config.identifier_kinds;
    let index = host.analysis().line_index(file).context("indexed")?.clone();
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    loop {
        let node = cursor.node();
        if node.child_count() == 0 && kinds.iter().any(|k| k == node.kind()) {
            let offset = node.start_byte() as u32;
            let wide = index.wide_of_offset(PositionEncoding::Utf16, offset);
            out.push(Position {
                file,
                path: path.to_path_buf(),
                offset,
                line: wide.line,
                col16: wide.col,
                text: text[node.byte_range()].to_string(),
            });
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                return Ok(out);
            }
        }
    }
}

fn locations_of(result: &Value) -> Vec<Loc> {
    let items: Vec<&Value> = match result {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        v => vec![v],
    };
    items
        .into_iter()
        .filter_map(|item| {
            let (uri, range) = if let Some(u) = item.get("targetUri") {
                (
                    u,
                    item.get("targetSelectionRange")
                        .or(item.get("targetRange"))?,
                )
            } else {
                (item.get("uri")?, item.get("range")?)
            };
            let path = std::path::PathBuf::from(uri_path(uri.as_str()?)?);
            let line = range["start"]["line"].as_u64()? as u32;
            Some((path, line))
        })
        .collect()
}

pub fn run(dir: &Path, server: &str, lang: &str, limit: usize, show: usize) -> Result<()> {
    let dir = dir.canonicalize()?;
    let mut host = AnalysisHost::default();
    let start = Instant::now();
    let report = host.index_root(&dir, None);
    let index_time = start.elapsed();
    let langs: Vec<&str> = match lang {
        "typescript" => vec!["typescript", "tsx"],
        "javascript" => vec!["javascript"],
        other => vec![other],
    };
    let mut files: Vec<(FileId, PathBuf)> = host
        .graph()
        .files()
        .filter(|(_, f)| {
            langs.contains(&codecontext_lang::language(f.lang).name()) && f.skipped.is_none()
        })
        .filter_map(|(id, _)| Some((id, host.path(id)?)))
        .collect();
    files.sort_by(|a, b| a.1.cmp(&b.1));
    if files.is_empty() {
        bail!("no {lang} files in {}", dir.display());
    }
    let mut all = Vec::new();
    for (id, path) in &files {
        all.extend(identifiers(&host, *id, path)?);
    }
    let stride = all.len().div_ceil(limit).max(1);
    let sample: Vec<Position> = all.into_iter().step_by(stride).collect();

    // Our answers.
    let analysis = host.analysis();
    let start = Instant::now();
    let ours: Vec<BTreeSet<Loc>> = sample
        .iter()
        .map(|p| {
            analysis
                .definitions(p.file, p.offset)
                .map(|d| {
                    d.targets
                        .iter()
                        .filter_map(|t| {
                            let path = host.path(t.file)?;
                            let line = analysis.line_col(t.file, t.focus.start)?.line;
                            Some((path, line))
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let our_time = start.elapsed();

    // The reference server's answers.
    let mut client = LspClient::start(server)?;
    let root_uri = uri(&dir);
    client.request(
        "initialize",
        json!({
            "processId": std::process::id(),
            "rootUri": root_uri,
            "workspaceFolders": [{ "uri": root_uri, "name": "bench" }],
            "capabilities": {
                "workspace": { "configuration": true, "workspaceFolders": true },
                "textDocument": { "definition": { "linkSupport": true } },
            },
            // typescript-language-server: answer from the full project, never from the
            // syntax-only server that stands in while the project loads.
            "initializationOptions": { "tsserver": { "useSyntaxServer": "never" } },
        }),
    )?;
    client.notify("initialized", json!({}))?;
    // pyright asks for its settings (and starts analysing) only after this.
    client.notify(
        "workspace/didChangeConfiguration",
        json!({ "settings": {} }),
    )?;
    let start = Instant::now();
    let mut theirs: Vec<BTreeSet<Loc>> = Vec::with_capacity(sample.len());
    let mut open: Option<PathBuf> = None;
    for p in &sample {
        if open.as_ref() != Some(&p.path) {
            if let Some(prev) = open.take() {
                client.notify(
                    "textDocument/didClose",
                    json!({ "textDocument": { "uri": uri(&prev) } }),
                )?;
            }
            let text = std::fs::read_to_string(&p.path)?;
            let lang_name = codecontext_lang::language_for_path(&p.path).map_or("", |l| l.name());
            client.notify(
                "textDocument/didOpen",
                json!({ "textDocument": { "uri": uri(&p.path), "languageId": language_id(lang_name), "version": 1, "text": text } }),
            )?;
            open = Some(p.path.clone());
        }
        let result = client.request(
            "textDocument/definition",
            json!({ "textDocument": { "uri": uri(&p.path) }, "position": { "line": p.line, "character": p.col16 } }),
        )?;
        theirs.push(
            locations_of(&result)
                .into_iter()
                .filter(|(path, _)| path.starts_with(&dir))
                .collect(),
        );
    }
    let their_time = start.elapsed();
    client.shutdown();

    // Files where the reference answers nothing at all are files it did not analyse
    // (code it considers unreachable, such as platform-specific modules): left out.
    let answered_files: BTreeSet<&PathBuf> = sample
        .iter()
        .zip(&theirs)
        .filter(|(_, t)| !t.is_empty())
        .map(|(p, _)| &p.path)
        .collect();
    let skipped_files = files.len() - answered_files.len();
    // Scores.
    let (mut our_locs, mut our_good, mut their_locs, mut their_found) =
        (0usize, 0usize, 0usize, 0usize);
    let mut disagreements: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shown = 0;
    for ((p, o), t) in sample.iter().zip(&ours).zip(&theirs) {
        if !answered_files.contains(&p.path) {
            continue;
        }
        our_locs += o.len();
        our_good += o.intersection(t).count();
        their_locs += t.len();
        their_found += t.intersection(o).count();
        let category = match (o.is_empty(), t.is_empty(), o == t) {
            (_, _, true) => continue,
            (true, false, _) => "we answer nothing, reference answers",
            (false, true, _) => "we answer, reference has nothing in the repository",
            (false, false, _) if o.is_superset(t) => "we answer more candidates",
            _ => "different answers",
        };
        *disagreements.entry(category).or_default() += 1;
        if shown < show {
            shown += 1;
            let rel = |l: &Loc| {
                format!(
                    "{}:{}",
                    l.0.strip_prefix(&dir).unwrap_or(&l.0).display(),
                    l.1 + 1
                )
            };
            println!(
                "  {}:{}:{} `{}`\n      ours:   {}\n      theirs: {}",
                p.path.strip_prefix(&dir).unwrap_or(&p.path).display(),
                p.line + 1,
                p.col16 + 1,
                p.text,
                o.iter().map(rel).collect::<Vec<_>>().join(" "),
                t.iter().map(rel).collect::<Vec<_>>().join(" ")
            );
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    println!(
        "corpus      {} ({} {lang} files of {} indexed, {} lines in all)",
        dir.display(),
        files.len(),
        report.files,
        report.lines
    );
    println!("reference   {server}");
    println!("left out    {skipped_files} files where the reference answered no position");
    println!(
        "positions   {} identifiers asked (1 in {stride})",
        sample.len()
    );
    println!(
        "ours        {our_locs} locations at {} positions, {:.1} ms total (index {:.0} ms)",
        ours.iter().filter(|o| !o.is_empty()).count(),
        our_time.as_secs_f64() * 1e3,
        index_time.as_secs_f64() * 1e3
    );
    println!(
        "reference   {their_locs} in-repository locations at {} positions, {:.1} s total",
        theirs.iter().filter(|t| !t.is_empty()).count(),
        their_time.as_secs_f64()
    );
    println!(
        "precision   {:.1}% ({our_good} of our {our_locs} locations agree)",
        pct(our_good, our_locs)
    );
    println!(
        "recall      {:.1}% ({their_found} of its {their_locs} locations found)",
        pct(their_found, their_locs)
    );
    for (k, v) in disagreements {
        println!("  {v:>6}  {k}");
    }
    Ok(())
}
