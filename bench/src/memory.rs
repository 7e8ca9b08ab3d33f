//! Peak resident memory of indexing, measured in a fresh process (`memory-child`) that
//! reads its own high-water mark (`VmHWM`) from /proc after indexing.

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result};
use codecontext_analysis::AnalysisHost;

pub fn run(dirs: &[PathBuf]) -> Result<()> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("memory-child")
        .args(dirs)
        .output()
        .context("running the memory child")?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

pub fn child(dirs: &[PathBuf]) -> Result<()> {
    let before = status_kb("VmRSS:").unwrap_or(0);
    let mut host = AnalysisHost::default();
    let mut lines = 0;
    let mut files = 0;
    let mut symbols = 0;
    for dir in dirs {
        let r = host.index_root(dir, None);
        lines = r.lines;
        files = r.files;
        symbols = r.symbols;
    }
    let peak = status_kb("VmHWM:").unwrap_or(0);
    let now = status_kb("VmRSS:").unwrap_or(0);
    println!(
        "workspace   {} folders, {files} files, {lines} lines, {symbols} symbols",
        dirs.len()
    );
    println!("rss before  {:>8.1} MB", before as f64 / 1024.0);
    println!(
        "rss peak    {:>8.1} MB (VmHWM while indexing)",
        peak as f64 / 1024.0
    );
    println!(
        "rss after   {:>8.1} MB (graph held, no syntax trees)",
        now as f64 / 1024.0
    );
    // The search index: every chunk's sorted word hashes (4 bytes each, in a boxed
    // slice of 16 bytes).
    let (mut chunks, mut words) = (0usize, 0usize);
    for (_, file) in host.graph().files() {
        chunks += file.chunks.len();
        words += file.chunks.iter().map(|c| c.tokens.len()).sum::<usize>();
    }
    println!(
        "word sets   {:>8.1} MB ({words} word hashes in {chunks} chunks, part of the above)",
        (words * 4 + chunks * 16) as f64 / 1024.0 / 1024.0
    );
    drop(host);
    Ok(())
}
