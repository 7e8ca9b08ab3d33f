//! Keystroke latency on a large file: each measured step is one `change_document` with
//! a one-character edit, which edits the tree, reparses incrementally, re-extracts the
//! changed chunk and updates the graph (including re-resolution elsewhere).
//!
//! The file is built by concatenating real source files of a corpus up to the requested
//! size; it is indexed together with the corpus so the graph around it is realistic.
//! Edits type a short identifier into function bodies and delete it again.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{bail, Result};
use codecontext_analysis::{AnalysisHost, DocumentChange, PositionEncoding, WideLineCol};

use crate::stats::{percentile, us, Rng};

pub(crate) fn collect(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// The `.ext` files under `dir` (in path order), and about `size` bytes of their text
/// one after another: a large file made of real code.
pub(crate) fn big_text(dir: &Path, ext: &str, size: usize) -> Result<(Vec<PathBuf>, String)> {
    let mut files = Vec::new();
    collect(dir, ext, &mut files);
    let mut text = String::new();
    for f in &files {
        if text.len() >= size {
            break;
        }
        if let Ok(t) = std::fs::read_to_string(f) {
            text.push_str(&t);
            text.push('\n');
        }
    }
    if text.len() < size / 2 {
        bail!("not enough .{ext} source in {}", dir.display());
    }
    Ok((files, text))
}

/// Lines inside bodies, where a keystroke lands: indented by at least 8 spaces, not
/// blank, ASCII; `(line, indentation)`.
pub(crate) fn body_lines(text: &str) -> Vec<(u32, u32)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let indent = l.len() - l.trim_start().len();
            (indent >= 8 && !l.trim().is_empty() && l.is_ascii())
                .then_some((i as u32, indent as u32))
        })
        .collect()
}

pub fn run(dir: &Path, ext: &str, size: usize, edits: usize) -> Result<()> {
    let (files, text) = big_text(dir, ext, size)?;
    let work = std::env::temp_dir().join(format!("codecontext-keystroke-{}", std::process::id()));
    let corpus = work.join("corpus");
    std::fs::create_dir_all(&corpus)?;
    for f in &files {
        let rel = f.strip_prefix(dir).unwrap_or(f);
        let target = corpus.join(rel);
        std::fs::create_dir_all(target.parent().unwrap_or(&corpus))?;
        std::fs::copy(f, target)?;
    }
    let big = work.join(format!("big.{ext}"));
    std::fs::write(&big, &text)?;
    let mut host = AnalysisHost::default();
    host.index_root(&work, None);
    let big = big.canonicalize()?;
    let Some(id) = host.open_document(&big, text.clone()) else {
        bail!("could not open the document");
    };

    let lines = body_lines(&text);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut samples = Vec::with_capacity(edits);
    let (mut new_refs, mut re_resolved) = (0usize, 0usize);
    let word = "tmp_val";
    while samples.len() < edits {
        let (line, col) = lines[(rng.next() % lines.len() as u64) as usize];
        // Type the word one character at a time, then delete it one at a time.
        for i in 0..word.len() {
            let at = WideLineCol {
                line,
                col: col + i as u32,
            };
            let change = DocumentChange {
                range: Some((at, at)),
                text: word[i..i + 1].to_string(),
            };
            let t = Instant::now();
            let stats = host.change_document(id, &[change], PositionEncoding::Utf16)?;
            samples.push(t.elapsed());
            new_refs += stats.resolved_new;
            re_resolved += stats.re_resolved;
        }
        for i in (0..word.len()).rev() {
            let start = WideLineCol {
                line,
                col: col + i as u32,
            };
            let end = WideLineCol {
                line,
                col: col + i as u32 + 1,
            };
            let change = DocumentChange {
                range: Some((start, end)),
                text: String::new(),
            };
            let t = Instant::now();
            let stats = host.change_document(id, &[change], PositionEncoding::Utf16)?;
            samples.push(t.elapsed());
            new_refs += stats.resolved_new;
            re_resolved += stats.re_resolved;
        }
    }
    // The same edits on a bare document: reparse and re-extract only, no graph.
    let lang = codecontext_lang::language_for_path(&big).expect("known language");
    let (mut doc, _) = codecontext_syntax::Document::open(lang, text.clone(), Default::default());
    let mut syntax_samples = Vec::with_capacity(edits);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut chunk_bytes = 0usize;
    while syntax_samples.len() < edits {
        let (line, col) = lines[(rng.next() % lines.len() as u64) as usize];
        for step in 0..2 * word.len() {
            let (start, end, insert) = if step < word.len() {
                let at = WideLineCol {
                    line,
                    col: col + step as u32,
                };
                (at, at, word[step..step + 1].to_string())
            } else {
                let i = (2 * word.len() - 1 - step) as u32;
                (
                    WideLineCol { line, col: col + i },
                    WideLineCol {
                        line,
                        col: col + i + 1,
                    },
                    String::new(),
                )
            };
            let change = codecontext_syntax::DocumentChange {
                range: Some((start, end)),
                text: insert,
            };
            let t = Instant::now();
            let delta = doc.edit(&[change], PositionEncoding::Utf16)?;
            syntax_samples.push(t.elapsed());
            if let codecontext_syntax::FileDelta::Chunks { inserted, .. } = delta {
                chunk_bytes += inserted
                    .iter()
                    .map(|c| c.range.len() as usize)
                    .sum::<usize>();
            }
        }
    }
    let final_text = host
        .document(id)
        .map(|d| d.text().to_string())
        .unwrap_or_default();
    if final_text != text {
        bail!("the document drifted from its original text");
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "file        {} KB of .{ext} from {} ({} lines), corpus {} files",
        text.len() / 1024,
        dir.display(),
        text.lines().count(),
        files.len()
    );
    println!(
        "edits       {} one-character insertions and deletions inside function bodies",
        samples.len()
    );
    println!("p50         {:>9.1} us", us(percentile(&samples, 50.0)));
    println!("p90         {:>9.1} us", us(percentile(&samples, 90.0)));
    println!("p99         {:>9.1} us", us(percentile(&samples, 99.0)));
    println!("max         {:>9.1} us", us(percentile(&samples, 100.0)));
    println!("syntax only p50 {:.1} us, p99 {:.1} us (reparse + re-extract, {:.0} bytes of chunks re-extracted per edit)", us(percentile(&syntax_samples, 50.0)), us(percentile(&syntax_samples, 99.0)), chunk_bytes as f64 / syntax_samples.len() as f64);
    println!(
        "work        {:.1} new refs resolved and {:.1} refs re-resolved per edit on average",
        new_refs as f64 / samples.len() as f64,
        re_resolved as f64 / samples.len() as f64
    );
    Ok(())
}
