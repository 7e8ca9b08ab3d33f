//! The command line as a user runs it, whole processes timed from spawn to exit: a
//! `codecontext definition` cold (`--no-store`: walk, parse and resolve the folder in memory,
//! then answer) against warm (records and resolutions restored from the folder's store,
//! which one first `codecontext index` filled), with `ctags -R` over the same folder as the
//! peer in the same run. Every child gets a fresh temporary `CODECONTEXT_HOME` and no other
//! `CODECONTEXT_*` variable, so only the embedded store is used; every answer must equal the
//! first cold one.

use std::{
    ffi::OsStr,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::{
    index::ctags_language,
    stats::{median, ms},
};

/// The `codecontext` binary, run with its own home and no other `CODECONTEXT_*` variable.
pub(crate) struct Codecontext<'a> {
    pub(crate) binary: &'a Path,
    pub(crate) home: &'a Path,
}

impl Codecontext<'_> {
    /// `codecontext ARGS...` with this home and no other `CODECONTEXT_*` variable, not
    /// yet started.
    pub(crate) fn command<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Command {
        let mut command = Command::new(self.binary);
        command.args(args);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CODECONTEXT_") {
                command.env_remove(&key);
            }
        }
        command.env("CODECONTEXT_HOME", self.home);
        command
    }

    /// Runs `codecontext SUBCOMMAND DIR ARGS...` to its end: its wall time and its
    /// standard output as JSON. Exit status 1 (no result) is an answer; 2 is an error.
    pub(crate) fn run(
        &self,
        subcommand: &str,
        dir: &Path,
        args: &[&str],
    ) -> Result<(Duration, Value)> {
        let mut command = self.command([OsStr::new(subcommand), dir.as_os_str()]);
        command.args(args);
        command.stdin(Stdio::null());
        let shown = format!(
            "codecontext {subcommand} {} {}",
            dir.display(),
            args.join(" ")
        );
        let start = Instant::now();
        let output = command
            .output()
            .with_context(|| format!("running {}", self.binary.display()))?;
        let elapsed = start.elapsed();
        if !matches!(output.status.code(), Some(0 | 1)) {
            bail!(
                "`{shown}` failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("`{shown}` did not print JSON"))?;
        Ok((elapsed, value))
    }
}

/// A function's name to ask `definition` at (`path:line:col`) and what it is: the first
/// function, else method, that a few symbol searches find.
fn pick_position(cc: &Codecontext<'_>, dir: &Path) -> Result<(String, String)> {
    for query in ["a", "e", "new", "get"] {
        let (_, found) = cc.run(
            "symbols",
            dir,
            &[query, "--limit", "50", "--json", "--no-store"],
        )?;
        let found = found.as_array().map(Vec::as_slice).unwrap_or_default();
        for kind in ["function", "method"] {
            let hit = found.iter().find(|s| s["kind"] == kind);
            if let Some(location) = hit.and_then(|s| s["location"].as_str()) {
                let name = hit.and_then(|s| s["qualified_name"].as_str()).unwrap_or("");
                return Ok((location.to_string(), format!("{kind} {name}")));
            }
        }
    }
    bail!("no function or method found in {}", dir.display())
}

/// `ctags -R` over `dir`, limited to `languages`, its tags written to `tags`.
pub(crate) fn ctags(dir: &Path, languages: &str, tags: &Path) -> Result<Duration> {
    let start = Instant::now();
    let status = Command::new("ctags")
        .arg("-R")
        .arg("-f")
        .arg(tags)
        .arg(format!("--languages={languages}"))
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running ctags (apt-get install universal-ctags)")?;
    let elapsed = start.elapsed();
    if !status.success() {
        bail!("ctags failed: {status}");
    }
    Ok(elapsed)
}

/// The name and version of the installed ctags ("Universal Ctags 5.9.0").
pub(crate) fn ctags_version() -> Result<String> {
    let version = Command::new("ctags")
        .arg("--version")
        .output()
        .context("universal-ctags is not installed (apt-get install universal-ctags)")?;
    // "Universal Ctags 5.9.0, Copyright (C) ...": the name and version only.
    Ok(String::from_utf8_lossy(&version.stdout)
        .lines()
        .next()
        .and_then(|l| l.split(',').next())
        .unwrap_or("")
        .to_string())
}

pub fn run(binary: &Path, dir: &Path, runs: usize) -> Result<()> {
    ensure!(runs > 0, "--runs must be at least 1");
    let dir = dir
        .canonicalize()
        .with_context(|| format!("{}", dir.display()))?;
    ensure!(
        binary.is_file(),
        "{} not found (cargo build --release -p codecontext-server)",
        binary.display()
    );
    let home = tempfile::Builder::new()
        .prefix("codecontext-bench-home-")
        .tempdir()
        .context("creating a temporary CODECONTEXT_HOME")?;
    let cc = Codecontext {
        binary,
        home: home.path(),
    };
    let version = ctags_version()?;
    let tags = tempfile::NamedTempFile::new().context("creating the tags file")?;

    // The folder as CodeContext sees it (the languages ctags is limited to), and a position.
    let (_, seen) = cc.run("index", &dir, &["--json", "--no-store"])?;
    let files = seen["files"].as_u64().unwrap_or(0);
    ensure!(files > 0, "no source files in {}", dir.display());
    let by_language: Vec<(&String, &Value)> = seen["languages"]
        .as_object()
        .map(|m| m.iter().collect())
        .unwrap_or_default();
    let mut languages: Vec<&str> = by_language.iter().map(|(l, _)| ctags_language(l)).collect();
    languages.sort();
    languages.dedup();
    let languages = languages.join(",");
    let (position, what) = pick_position(&cc, &dir)?;

    // (a) Cold: every command indexes the folder in memory before it answers.
    let mut cold = Vec::new();
    let mut answer: Option<Value> = None;
    for _ in 0..runs {
        let (elapsed, found) = cc.run("definition", &dir, &[&position, "--json", "--no-store"])?;
        cold.push(elapsed);
        match &answer {
            Some(first) if *first != found => {
                bail!("cold answers differ between runs:\n{first}\n{found}")
            }
            Some(_) => {}
            None => {
                if found["targets"].as_array().is_none_or(Vec::is_empty) {
                    bail!("no definition at {position}: {found}");
                }
                answer = Some(found);
            }
        }
    }
    let answer = answer.context("at least one run")?;

    // (b) The first index with a store: index and save records and resolutions.
    let (first, stored) = cc.run("index", &dir, &["--json"])?;

    // (c) Warm, each followed by (d) ctags, so that both see the same machine.
    let mut warm = Vec::new();
    let mut peer = Vec::new();
    for _ in 0..runs {
        let (elapsed, found) = cc.run("definition", &dir, &[&position, "--json"])?;
        if found != answer {
            bail!("a warm answer differs from the cold one:\ncold: {answer}\nwarm: {found}");
        }
        warm.push(elapsed);
        peer.push(ctags(&dir, &languages, tags.path())?);
    }

    // The warm runs were warm: the store gives back the folder's files.
    let (_, check) = cc.run("index", &dir, &["--json"])?;
    let from_store = check["from_store"].as_u64().unwrap_or(0);
    ensure!(
        from_store > 0,
        "no file came from the store after a first index: the warm runs were not warm"
    );
    let restored = check["resolutions_restored"].as_bool().unwrap_or(false);
    // The number of tags ctags found, so that a misconfigured run cannot pass unnoticed.
    let tag_count = std::fs::read_to_string(tags.path())
        .context("reading the tags file")?
        .lines()
        .filter(|l| !l.starts_with("!_"))
        .count();
    ensure!(tag_count > 0, "ctags found no tags in {}", dir.display());

    let languages_seen: Vec<String> = by_language
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    let targets = answer["targets"].as_array().map_or(0, Vec::len);
    let min = |s: &[Duration]| s.iter().min().copied().unwrap_or_default();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "corpus      {} ({files} files: {})",
        dir.display(),
        languages_seen.join(", ")
    );
    println!("binary      {}", binary.display());
    println!(
        "threads     {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "asked       definition at {position} ({what}): {targets} target(s), `{}`",
        answer["how"].as_str().unwrap_or("?")
    );
    println!();
    println!("                        p50 ms      min ms  runs");
    let row = |name: &str, s: &[Duration], note: &str| {
        println!(
            "{name:<22} {:>9.1}   {:>9.1}  {:>4}  {note}",
            ms(median(s)),
            ms(min(s)),
            s.len()
        );
    };
    row(
        "cold (--no-store)",
        &cold,
        "definition: index in memory, then answer",
    );
    row(
        "first index, storing",
        &[first],
        &format!(
            "index: index and save to the store ({} ms inside)",
            stored["elapsed_ms"].as_u64().unwrap_or(0)
        ),
    );
    row(
        "warm (store)",
        &warm,
        "definition: restore from the store, then answer",
    );
    row(
        "ctags -R",
        &peer,
        &format!("--languages={languages}: {version}, {tag_count} tags"),
    );
    println!(
        "cold / warm            {:>8.2}x   {:>8.2}x",
        ratio(median(&cold), median(&warm)),
        ratio(min(&cold), min(&warm))
    );
    println!(
        "warm / ctags           {:>8.2}x   {:>8.2}x",
        ratio(median(&warm), median(&peer)),
        ratio(min(&warm), min(&peer))
    );
    println!();
    println!(
        "store       {from_store} of {files} files from the store, resolutions {}",
        if restored { "restored" } else { "NOT restored" }
    );
    Ok(())
}
