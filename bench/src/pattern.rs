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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let ws: Arc<Workspace> = Workspace::new(
        Settings::default(),
        Arc::new(Silent),
        runtime.handle().clone(),
    );
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

fn shorten(pattern: &str) -> String {
    if pattern.chars().count() <= 44 {
        pattern.to_string()
    } else {
        pattern.chars().take(41).collect::<String>() + "..."
    }
}
