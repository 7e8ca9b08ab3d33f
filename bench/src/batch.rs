//! One `didChange` carrying many changes (a formatter's edits, a multi-cursor edit, a
//! search-and-replace): the time to apply K one-character insertions, spread over a
//! normal file of each language, in one `change_document`, against the peer a client
//! without incremental sync sends for the same result: one change holding the whole
//! new text. Both end in one reparse and re-extraction of what changed, so the ratio is
//! what the K changes themselves cost (their positions, the text splices, the line
//! index). Best of `runs`, each on a freshly opened document.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use codecontext_analysis::{DocumentChange, PositionEncoding, WideLineCol};
use codecontext_tests::pathological::{normal, opened, LANGUAGES};

pub fn run(size: usize, changes: usize, runs: usize) -> Result<()> {
    println!(
        "{:<11} {:>9} {:>8} {:>11} {:>11} {:>6}",
        "language", "bytes", "changes", "batch", "full text", "ratio"
    );
    let mut worst: f64 = 0.0;
    for language in LANGUAGES {
        let text = normal(language, size).text;
        let lines = text.lines().count();
        if lines < 2 {
            bail!("{}: the normal file has no lines", language.name);
        }
        // Column 0 of lines spread over the file, first to last: an insertion there
        // moves no later line, so each change's position is the same before and after
        // the ones before it.
        let k = changes.min(lines);
        let at: Vec<u32> = (0..k).map(|i| (i * lines / k) as u32).collect();
        let batch: Vec<DocumentChange> = at
            .iter()
            .map(|&line| {
                let here = WideLineCol { line, col: 0 };
                DocumentChange {
                    range: Some((here, here)),
                    text: "x".into(),
                }
            })
            .collect();
        let mut edited: Vec<&str> = text.split_inclusive('\n').collect();
        let marked: Vec<String> = at
            .iter()
            .map(|&l| format!("x{}", edited[l as usize]))
            .collect();
        for (&line, m) in at.iter().zip(&marked) {
            edited[line as usize] = m;
        }
        let full = vec![DocumentChange {
            range: None,
            text: edited.concat(),
        }];
        let time = |changes: &[DocumentChange]| -> Result<Duration> {
            let mut best = Duration::MAX;
            for _ in 0..runs.max(1) {
                let (_dir, mut host, id) = opened(language.file, &text);
                let started = Instant::now();
                host.change_document(id, changes, PositionEncoding::Utf16)?;
                best = best.min(started.elapsed());
                let now = host.analysis().text(id).map(|t| t.len());
                if now != Some(full[0].text.len()) {
                    bail!(
                        "{}: the edits did not give the expected text",
                        language.name
                    );
                }
            }
            Ok(best)
        };
        let batched = time(&batch)?;
        let whole = time(&full)?;
        let ratio = batched.as_secs_f64() / whole.as_secs_f64().max(1e-6);
        worst = worst.max(ratio);
        println!(
            "{:<11} {:>9} {:>8} {:>9.1}ms {:>9.1}ms {:>6.2}",
            language.name,
            text.len(),
            k,
            batched.as_secs_f64() * 1000.0,
            whole.as_secs_f64() * 1000.0,
            ratio
        );
    }
    println!("worst ratio {worst:.2} (target: at most 2)");
    Ok(())
}
