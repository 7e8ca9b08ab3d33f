//! Structural search against the `ast-grep` CLI on the same folder, as ratios measured in
//! one run (issue 17's targets: a pattern with a rare identifier at least 10× faster than
//! `ast-grep run` with a warm index, a common one at least 2×, and one without a literal
//! word at most 1.5× its time), with the match counts of both.
//!
//! The folder is indexed once in-process (the warm index a running server has); each
//! pattern then runs `--rounds` times through `Workspace::search`, as every door runs it,
//! and `ast-grep run --json=stream` runs as many times over the same folder. Medians.

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use codecontext_workspace::{search::SearchRequest, Settings, Silent, Workspace};

use crate::stats::{median, ms};

pub fn run(
    dir: &Path,
    lang: &str,
    patterns: &[String],
    rounds: usize,
    ast_grep: &Path,
) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    let (runtime, ws) = workspace()?;
    eprintln!("pattern: indexing {}", dir.display());
    let started = Instant::now();
    let report = ws.write().index_root(&dir, None);
    eprintln!(
        "pattern: {} files indexed in {:.1} s",
        report.files,
        started.elapsed().as_secs_f64()
    );
    let version = Command::new(ast_grep)
        .arg("--version")
        .output()
        .with_context(|| format!("running {}", ast_grep.display()))?;
    println!(
        "structural search over {} ({lang}), {rounds} rounds each, medians; peer: {}",
        dir.display(),
        String::from_utf8_lossy(&version.stdout).trim()
    );
    println!(
        "{:<44} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8}",
        "pattern", "ours", "ast-grep", "ours ms", "peer ms", "speedup", "parsed"
    );
    for pattern in patterns {
        let request = SearchRequest {
            lang: lang.to_string(),
            pattern: Some(pattern.clone()),
            limit: Some(usize::MAX - 1),
            ..SearchRequest::default()
        };
        let mut ours = Vec::new();
        let mut answer = None;
        for _ in 0..rounds {
            let t = Instant::now();
            let a = ws.search(&request, &|_, _| {})?;
            ours.push(t.elapsed());
            answer = Some(a);
        }
        let Some(answer) = answer else {
            bail!("--rounds must be at least 1")
        };
        let mut peer = Vec::new();
        let mut peer_count = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let out = Command::new(ast_grep)
                .args(["run", "--pattern", pattern, "--lang", lang, "--json=stream"])
                .arg(&dir)
                .output()
                .with_context(|| format!("running {}", ast_grep.display()))?;
            peer.push(t.elapsed());
            if !out.status.success() && !out.stdout.is_empty() {
                bail!("ast-grep failed: {}", String::from_utf8_lossy(&out.stderr));
            }
            peer_count = out
                .stdout
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
        }
        let (o, p): (Duration, Duration) = (median(&ours), median(&peer));
        println!(
            "{:<44} {:>9} {:>9} {:>10.1} {:>10.1} {:>7.1}x {:>8}",
            shorten(pattern),
            answer.matches.len(),
            peer_count,
            ms(o),
            ms(p),
            ms(p) / ms(o).max(0.001),
            answer.files_searched
        );
        if answer.matches.len() != peer_count {
            println!(
                "  counts differ: {} files not searched (skipped by the index: too large or not text)",
                answer.files_not_searched
            );
        }
    }
    drop(ws);
    runtime.shutdown_background();
    Ok(())
}

/// An in-process workspace with the settings a server starts with, and its runtime.
fn workspace() -> Result<(tokio::runtime::Runtime, Arc<Workspace>)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let ws = Workspace::new(
        Settings::default(),
        Arc::new(Silent),
        runtime.handle().clone(),
    );
    Ok((runtime, ws))
}

fn shorten(pattern: &str) -> String {
    if pattern.chars().count() <= 44 {
        pattern.to_string()
    } else {
        pattern.chars().take(41).collect::<String>() + "..."
    }
}

/// Rules on a keystroke (issue 17's target: p99 at most 50 ms from a keystroke to
/// updated rule diagnostics on a 300 KB file). A file of about `size` bytes is made of
/// the folder's `.rs` files, opened as a document with three rules in its folder; each of
/// `edits` keystrokes (a character typed inside a body, then deleted) is applied as the
/// server applies it and the rules are checked on the document, the two timed together
/// (the diagnostics' debounce delay, a setting, is left out). The peer, in the same run:
/// `ast-grep scan` with the same rules over the file, once per round.
pub fn rules(dir: &Path, size: usize, edits: usize, ast_grep: &Path) -> Result<()> {
    use codecontext_analysis::{DocumentChange, PositionEncoding, WideLineCol};

    use crate::stats::{percentile, Rng};

    let (_, text) = crate::keystroke::big_text(dir, "rs", size)?;
    let work = tempfile::tempdir()?;
    let root = work.path().canonicalize()?;
    let rules_dir = root.join(".codecontext/rules");
    std::fs::create_dir_all(&rules_dir)?;
    let rules = "id: no-unwrap\nlanguage: rust\nseverity: warning\nmessage: unwrap\nrule:\n  pattern: $X.unwrap()\nfix: $X.expect(\"why\")\n\
                 ---\nid: no-clone-in-loop\nlanguage: rust\nseverity: info\nmessage: clone in a loop\nrule:\n  pattern: $X.clone()\n  inside:\n    kind: for_expression\n    stopBy: end\n\
                 ---\nid: todo\nlanguage: rust\nseverity: hint\nmessage: todo\nrule:\n  pattern: todo!($$$)\n";
    std::fs::write(rules_dir.join("rules.yml"), rules)?;
    let big = root.join("big.rs");
    std::fs::write(&big, &text)?;

    let (runtime, ws) = workspace()?;
    ws.write().index_root(&root, None);
    let Some(id) = ws.open_document(&big, text.clone(), true) else {
        bail!("could not open the document");
    };
    let first = ws.check_rules(id).len();

    let lines = crate::keystroke::body_lines(&text);
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut samples = Vec::with_capacity(edits);
    let mut checks = Vec::with_capacity(edits);
    let mut applied = Vec::with_capacity(edits);
    let mut keystroke = |range: (WideLineCol, WideLineCol), text: &str| -> Result<()> {
        let t = Instant::now();
        ws.change_document(
            id,
            &[DocumentChange {
                range: Some(range),
                text: text.to_string(),
            }],
            PositionEncoding::Utf16,
        )?;
        let edited = Instant::now();
        applied.push(edited - t);
        let _ = ws.check_rules(id);
        checks.push(edited.elapsed());
        samples.push(t.elapsed());
        Ok(())
    };
    for _ in 0..edits.div_ceil(2) {
        let (line, col) = lines[(rng.next() % lines.len() as u64) as usize];
        let at = WideLineCol { line, col };
        keystroke((at, at), "x")?;
        let end = WideLineCol { line, col: col + 1 };
        keystroke((at, end), "")?;
    }
    let mut peer = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let out = Command::new(ast_grep)
            .args(["scan", "--rule"])
            .arg(rules_dir.join("rules.yml"))
            .args(["--json=stream"])
            .arg(&big)
            .output()
            .with_context(|| format!("running {}", ast_grep.display()))?;
        peer.push(t.elapsed());
        if out.stdout.is_empty() && !out.status.success() {
            bail!(
                "ast-grep scan failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    println!(
        "rules on a keystroke: {} KB file, 3 rules, {} hits; {} keystrokes (edit applied + rules checked)",
        text.len() / 1024,
        first,
        samples.len()
    );
    println!(
        "  ours p50 {:.1} ms, p99 {:.1} ms (target p99 <= 50 ms); ast-grep scan of the file {:.1} ms (median of 5, a whole process)",
        ms(percentile(&samples, 50.0)),
        ms(percentile(&samples, 99.0)),
        ms(median(&peer))
    );
    println!(
        "  of which the rules' check: p50 {:.1} ms, p99 {:.1} ms; the edit (reparse, graph): p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&checks, 50.0)),
        ms(percentile(&checks, 99.0)),
        ms(percentile(&applied, 50.0)),
        ms(percentile(&applied, 99.0)),
    );
    drop(ws);
    runtime.shutdown_background();
    Ok(())
}
