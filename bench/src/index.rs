//! Full index of a folder against universal-ctags on the same files.
//!
//! Both run over the same list of files (the walk's result, handed to ctags with `-L`),
//! alternately, `runs` times; the report gives medians and their ratio. CodeContext runs
//! in-process with all cores (parse, extract, resolve the whole graph); ctags writes its
//! tags to /dev/null.

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{bail, Context, Result};
use codecontext_analysis::{workspace::walk, AnalysisHost};

use crate::stats::{median, ms};

pub fn run(dir: &Path, runs: usize) -> Result<()> {
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    let found = walk(&dir);
    if found.files.is_empty() {
        bail!("no source files in {}", dir.display());
    }
    let mut list = tempfile_in_target("ctags-files.txt")?;
    for f in &found.files {
        writeln!(list.1, "{}", f.path.display())?;
    }
    drop(list.1);
    let mut languages: Vec<&str> = found
        .files
        .iter()
        .map(|f| ctags_language(f.lang.name()))
        .collect();
    languages.sort();
    languages.dedup();
    let ctags_version = Command::new("ctags").arg("--version").output();
    let Ok(version) = ctags_version else {
        bail!("universal-ctags is not installed (apt-get install universal-ctags)");
    };
    let version = String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();

    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let start = Instant::now();
        let mut host = AnalysisHost::default();
        let r = host.index_root(&dir, None);
        ours.push(start.elapsed());
        report = Some(r);
        drop(host);

        let start = Instant::now();
        let status = Command::new("ctags")
            .args(["-f", "/dev/null"])
            .arg(format!("--languages={}", languages.join(",")))
            .arg("-L")
            .arg(&list.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running ctags")?;
        theirs.push(start.elapsed());
        if !status.success() {
            bail!("ctags failed: {status}");
        }
    }
    let report = report.expect("at least one run");
    // The number of tags ctags finds, so that a misconfigured run cannot pass unnoticed.
    let tags = Command::new("ctags")
        .args(["-f", "-"])
        .arg(format!("--languages={}", languages.join(",")))
        .arg("-L")
        .arg(&list.0)
        .stderr(Stdio::null())
        .output()
        .context("running ctags")?;
    let tag_count = String::from_utf8_lossy(&tags.stdout).lines().count();
    let (o, t) = (median(&ours), median(&theirs));
    println!(
        "corpus      {} ({} files, {} lines, {} bytes)",
        dir.display(),
        report.files,
        report.lines,
        report.bytes
    );
    println!(
        "threads     {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("codecontext {:>9.1} ms median of {runs} (walk {} ms, parse+extract {} ms, resolve {} ms in the last run)", ms(o), report.timings.walk_ms, report.timings.parse_ms, report.timings.resolve_ms);
    println!(
        "ctags       {:>9.1} ms median of {runs} ({version}, {tag_count} tags)",
        ms(t)
    );
    println!(
        "ratio       {:>9.2}x ctags's wall time",
        o.as_secs_f64() / t.as_secs_f64().max(1e-9)
    );
    println!(
        "graph       {} symbols, {} edges",
        report.symbols, report.edges.total
    );
    let _ = std::fs::remove_file(&list.0);
    Ok(())
}

/// The name universal-ctags gives a language of ours (`--languages=`).
pub fn ctags_language(name: &str) -> &'static str {
    match name {
        "rust" => "Rust",
        "python" => "Python",
        "typescript" | "tsx" => "TypeScript",
        "javascript" => "JavaScript",
        "go" => "Go",
        "java" => "Java",
        _ => "all",
    }
}

/// A scratch file under the system temp folder.
fn tempfile_in_target(name: &str) -> Result<(std::path::PathBuf, std::fs::File)> {
    let path =
        std::env::temp_dir().join(format!("codecontext-bench-{}-{name}", std::process::id()));
    let file = std::fs::File::create(&path)?;
    Ok((path, file))
}
