//! End-to-end verification time against running the same tests directly.
//!
//! The project (a fixture, say) is copied to a scratch folder and its tests run once
//! directly to warm it (Cargo builds its `target/`). Then, alternating, the tests run
//! directly and through `codecontext_verify::verify`, both with the same edit that
//! changes nothing visible (a trailing newline on a source file, which Cargo rebuilds).

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use codecontext_sandbox::LocalSandbox;
use codecontext_verify::{FileChange, ProjectKind, TestSelection, VerdictKind};

use crate::stats::percentile;

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

pub fn run(dir: &Path, runs: usize) -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().join("project");
    copy(dir, &root).context("copying the project")?;
    let root = root.canonicalize()?;
    let kind = codecontext_verify::detect(&root).context("not a known kind of project")?;
    let (direct, source): (Vec<&str>, &str) = match kind {
        ProjectKind::Cargo => (
            vec!["cargo", "test", "--offline", "--no-fail-fast"],
            "src/lib.rs",
        ),
        ProjectKind::Python => (
            vec![
                "/usr/bin/python3",
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            "calc.py",
        ),
        ProjectKind::Node => (vec!["node", "--test"], "calc.js"),
        ProjectKind::Go => (vec!["go", "test", "./..."], "calc.go"),
    };
    let text = std::fs::read_to_string(root.join(source))?;
    // The direct run makes the same edit (so Cargo rebuilds the crate in both), and
    // undoes it afterwards, outside the timing.
    let run_direct = || -> Result<Duration> {
        std::fs::write(root.join(source), format!("{text}\n"))?;
        let t = Instant::now();
        let out = Command::new(direct[0])
            .args(&direct[1..])
            .current_dir(&root)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()?;
        let elapsed = t.elapsed();
        std::fs::write(root.join(source), &text)?;
        anyhow::ensure!(
            out.status.success(),
            "direct run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(elapsed)
    };
    run_direct()?; // warm: builds, caches
    let sandbox = LocalSandbox::new(LocalSandbox::default_helper().context("no helper")?, 1)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let verify = || -> Result<Duration> {
        let t = Instant::now();
        let change = FileChange {
            path: source.into(),
            content: Some(format!("{text}\n")),
        };
        let verdict = rt.block_on(codecontext_verify::verify(
            &sandbox,
            &root,
            vec![change],
            &TestSelection::default(),
            None,
            None,
        ))?;
        anyhow::ensure!(
            verdict.verdict == VerdictKind::Passed,
            "verify: {verdict:?}"
        );
        Ok(t.elapsed())
    };
    verify()?; // warm the same way
    let (mut d, mut v) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        d.push(run_direct()?);
        v.push(verify()?);
    }
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let (dp, vp) = (ms(percentile(&d, 50.0)), ms(percentile(&v, 50.0)));
    println!(
        "project     {} ({kind:?}), {runs} runs each, warm",
        dir.display()
    );
    println!("direct      p50 {dp:>9.1} ms   `{}`", direct.join(" "));
    println!("verify      p50 {vp:>9.1} ms   edit applied in a sandboxed overlay");
    println!("ratio       {:.2}x", vp / dp);
    Ok(())
}
