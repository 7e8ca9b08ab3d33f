//! Assessment latency on a large workspace (issue 16's target: p99 at most 300 ms for a
//! 10-function diff on the ~700k-line set). The folder is indexed once; then each of
//! `--diffs` edits changes `--functions` functions picked at random (a comment line
//! after the first line of each, so that every file still parses and each function is
//! `modified`), and is assessed in-process as `codecontext/assess` assesses it, without
//! the risk model (once learned, its score is a dot product).
//!
//! The peer, measured in the same run on the same edits: parsing each changed file's
//! text before and after with tree-sitter alone, the floor of any assessment that reads
//! the syntax of both sides.

use std::{path::Path, time::Instant};

use anyhow::{bail, Context as _, Result};
use codecontext_analysis::{AnalysisHost, FileId};
use codecontext_assess::{metrics::is_function, perf::TestTimes, Change, HistoryInput};

use crate::stats::{median, ms, percentile, Rng};

/// The target for a 10-function diff.
const TARGET_MS: f64 = 300.0;

pub fn run(dir: &Path, diffs: usize, functions: usize) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    eprintln!("assess: indexing {}", dir.display());
    let started = Instant::now();
    let mut host = AnalysisHost::default();
    let indexed = host.index_root(&dir, None);
    let index = started.elapsed();
    let g = host.graph();
    // Each function with a body: its file, and the offset of its definition's start.
    let candidates: Vec<(FileId, u32)> = g
        .files()
        .filter(|(_, f)| f.skipped.is_none())
        .flat_map(|(file, f)| {
            f.entities
                .iter()
                .skip(1)
                .filter(|e| is_function(e.kind) && e.has_body)
                .map(move |e| (file, e.range.start))
        })
        .collect();
    if candidates.len() < functions {
        bail!("{} functions in {}", candidates.len(), dir.display());
    }
    let analysis = host.analysis();
    let times = TestTimes::default();
    let history = HistoryInput {
        learned: None,
        status: "not learned (benchmark)",
        author: "bench",
        now: 0,
        times: &times,
        runner: None,
    };
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    let (mut assessed, mut parsed) = (Vec::new(), Vec::new());
    let (mut modified, mut files_changed) = (0usize, 0usize);
    for _ in 0..diffs {
        // `functions` distinct functions, grouped by file.
        let mut picked: Vec<(FileId, u32)> = Vec::new();
        while picked.len() < functions {
            let c = candidates[(rng.next() % candidates.len() as u64) as usize];
            if !picked.contains(&c) {
                picked.push(c);
            }
        }
        picked.sort();
        let mut changes = Vec::new();
        let mut i = 0;
        while i < picked.len() {
            let file = picked[i].0;
            let starts: Vec<u32> = picked[i..]
                .iter()
                .take_while(|p| p.0 == file)
                .map(|p| p.1)
                .collect();
            i += starts.len();
            let (Some(f), Some(text)) = (g.file_data(file), analysis.text(file)) else {
                continue;
            };
            let comment = if analysis.language_name(file) == Some("python") {
                "#"
            } else {
                "//"
            };
            let mut after = text.to_string();
            // From the last, so that earlier offsets stay right.
            for start in starts.iter().rev() {
                let line_end = after[*start as usize..]
                    .find('\n')
                    .map_or(after.len(), |n| *start as usize + n + 1);
                after.insert_str(line_end, &format!("{comment} benchmark\n"));
            }
            changes.push(Change {
                path: dir.join(&*f.rel),
                before: Some(text.to_string()),
                after: Some(after),
            });
        }
        files_changed += changes.len();

        let started = Instant::now();
        let answer = codecontext_assess::assess(&analysis, &dir, &changes, history);
        assessed.push(started.elapsed());
        modified += answer
            .symbols
            .iter()
            .filter(|s| s.change == "modified")
            .count();

        let started = Instant::now();
        for c in &changes {
            let lang = codecontext_lang::language_for_path(&c.path)
                .context("a language for a changed file")?;
            for text in [&c.before, &c.after].into_iter().flatten() {
                let _ =
                    codecontext_syntax::parse(lang, text, None, std::time::Duration::from_secs(2));
            }
        }
        parsed.push(started.elapsed());
    }

    let p99 = ms(percentile(&assessed, 99.0));
    let peer_p99 = ms(percentile(&parsed, 99.0));
    println!(
        "assess latency: {} ({} files, {} lines, {} functions; indexed in {:.1} s)",
        dir.display(),
        indexed.files,
        indexed.lines,
        candidates.len(),
        index.as_secs_f64()
    );
    println!(
        "{diffs} diffs of {functions} functions ({:.1} files and {:.1} modified symbols a diff)",
        files_changed as f64 / diffs.max(1) as f64,
        modified as f64 / diffs.max(1) as f64
    );
    println!(
        "assess            p50 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
        ms(median(&assessed)),
        p99,
        ms(assessed.iter().max().copied().unwrap_or_default())
    );
    println!(
        "peer: parse both  p50 {:>8.1} ms  p99 {:>8.1} ms",
        ms(median(&parsed)),
        peer_p99
    );
    println!(
        "ratio assess/parse at p99: {:.2}x; target p99 <= {TARGET_MS} ms: {}",
        p99 / peer_p99.max(f64::MIN_POSITIVE),
        if p99 <= TARGET_MS { "met" } else { "NOT met" }
    );
    Ok(())
}
