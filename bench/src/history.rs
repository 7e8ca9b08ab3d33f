//! The change log read from git (issue 18): importing a real repository's last commits,
//! reading one new commit, `recall` of a symbol, and agreement with `git log -L` on the
//! commits that changed sampled functions.
//!
//! The repository is cloned (`git clone --shared`, its objects borrowed) into a scratch
//! folder, checked out `steps` first-parent commits before its HEAD; the store is a
//! scratch one. Measured:
//! - the import (the last `commits` commits), against `git log -p` of as many commits,
//!   the peer that produces the same diffs;
//! - each of the `steps` later commits read as it is checked out (the cost of a new
//!   commit);
//! - `recall {symbol}` on sampled functions (p50, p99);
//! - for `sample` functions and methods at HEAD, the commits that changed each, ours
//!   against `git log -L START,END:PATH` over the same commits: functions whose sets are
//!   equal, mean Jaccard, and precision and recall over all (function, commit) pairs.

use std::{
    collections::HashSet,
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use codecontext_analysis::NavTarget;
use codecontext_workspace::{memory::RecallRequest, Settings, Silent, Workspace};

use crate::{
    context::git,
    stats::{ms, percentile, Rng},
};

/// A workspace on `root` with its store in `home`, indexed.
fn open(runtime: &tokio::runtime::Runtime, root: &Path, home: &Path) -> Result<Arc<Workspace>> {
    let settings = Settings {
        persist: true,
        store_home: Some(home.display().to_string()),
        ..Settings::default()
    };
    let ws = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
    let job = ws
        .register_folder(root)
        .context("the clone is not a folder")?;
    ws.index_folder(job);
    Ok(ws)
}

pub fn run(repo: &Path, commits: usize, steps: usize, sample: usize, recalls: usize) -> Result<()> {
    if commits != codecontext_workspace::changelog::MAX_COMMITS {
        eprintln!(
            "note: the server reads the last {} commits; --commits only sets the peer's count",
            codecontext_workspace::changelog::MAX_COMMITS
        );
    }
    let repo = repo.canonicalize().context("the repository")?;
    let scratch = tempfile::tempdir()?;
    let clone = scratch.path().join("repo");
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home)?;
    git(
        scratch.path(),
        &[
            "clone",
            "-q",
            "--shared",
            &repo.display().to_string(),
            "repo",
        ],
    )?;
    let head = git(&clone, &["rev-parse", "HEAD"])?.trim().to_string();
    let later: Vec<String> = git(
        &clone,
        &[
            "rev-list",
            "--first-parent",
            "--reverse",
            &format!("HEAD~{steps}..HEAD"),
        ],
    )?
    .lines()
    .map(str::to_string)
    .collect();
    git(
        &clone,
        &["checkout", "-q", "--detach", &format!("HEAD~{steps}")],
    )?;
    let root = clone.canonicalize()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    // The import, against `git log -p` of as many commits.
    let ws = open(&runtime, &root, &home)?;
    let started = Instant::now();
    let read = runtime.block_on(ws.read_history(&root))?;
    let import = started.elapsed();
    let started = Instant::now();
    let peer = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["log", "-p", "--no-merges", "-n", &commits.to_string()])
        .stdout(std::process::Stdio::null())
        .status()?;
    let peer_time = started.elapsed();
    if !peer.success() {
        bail!("git log -p failed");
    }
    println!(
        "import: {} commits in {:.1} s (target <= 60 s); git log -p -n {commits}: {:.1} s; ratio {:.2}x",
        read.commits,
        import.as_secs_f64(),
        peer_time.as_secs_f64(),
        import.as_secs_f64() / peer_time.as_secs_f64().max(1e-9),
    );

    // One new commit at a time.
    // Each step is one first-parent commit; a merge brings the commits of its branch.
    let mut steps: Vec<(Duration, usize)> = Vec::new();
    for id in &later {
        git(&root, &["checkout", "-q", "--detach", id])?;
        let started = Instant::now();
        let read = runtime.block_on(ws.read_history(&root))?;
        steps.push((started.elapsed(), read.commits));
    }
    if !steps.is_empty() {
        let single: Vec<Duration> = steps.iter().filter(|s| s.1 == 1).map(|s| s.0).collect();
        let all: Vec<Duration> = steps.iter().map(|s| s.0).collect();
        let worst = steps
            .iter()
            .max_by_key(|s| s.0)
            .copied()
            .unwrap_or_default();
        println!(
            "new commit: {} steps reading one commit: p50 {:.1} ms, p99 {:.1} ms (target <= 200 ms); all {} steps ({} commits): p50 {:.1} ms, slowest {:.1} ms for {} commits",
            single.len(),
            ms(percentile(&single, 50.0)),
            ms(percentile(&single, 99.0)),
            steps.len(),
            steps.iter().map(|s| s.1).sum::<usize>(),
            ms(percentile(&all, 50.0)),
            ms(worst.0),
            worst.1,
        );
    }
    drop(ws);

    // At HEAD: the index again (a warm start), recall, and agreement with git.
    if git(&root, &["rev-parse", "HEAD"])?.trim() != head {
        git(&root, &["checkout", "-q", "--detach", &head])?;
    }
    let ws = open(&runtime, &root, &home)?;
    let functions: Vec<NavTarget> = {
        let host = ws.read();
        let analysis = host.analysis();
        let mut all: Vec<NavTarget> = ["function", "method"]
            .iter()
            .flat_map(|kind| {
                analysis.symbols_of_kind("", codecontext_graph::SearchMode::Fuzzy, kind, 1_000_000)
            })
            .filter(|t| t.entity.is_some())
            .collect();
        all.sort_by(|a, b| (&a.path, a.range.start).cmp(&(&b.path, b.range.start)));
        all.dedup_by(|a, b| a.path == b.path && a.range == b.range);
        all
    };
    if functions.is_empty() {
        bail!("no function or method in the index");
    }
    let mut rng = Rng(0x5eed_cafe);
    let mut pick = |n: usize| -> Vec<NavTarget> {
        let mut chosen = HashSet::new();
        let mut out = Vec::new();
        while out.len() < n.min(functions.len()) {
            let i = (rng.next() % functions.len() as u64) as usize;
            if chosen.insert(i) {
                out.push(functions[i].clone());
            }
        }
        out
    };
    let mut recall_times = Vec::new();
    for t in pick(recalls) {
        let started = Instant::now();
        runtime.block_on(ws.recall(RecallRequest {
            symbol: Some(t.qualified_name.clone()),
            ..RecallRequest::default()
        }))?;
        recall_times.push(started.elapsed());
    }
    println!(
        "recall {{symbol}}: {} calls: p50 {:.1} ms, p99 {:.1} ms (target p99 <= 50 ms)",
        recall_times.len(),
        ms(percentile(&recall_times, 50.0)),
        ms(percentile(&recall_times, 99.0)),
    );

    // Agreement with `git log -L` over the commits read.
    let known: HashSet<String> = {
        git(
            &root,
            &[
                "rev-list",
                "-n",
                &codecontext_workspace::changelog::MAX_COMMITS.to_string(),
                "--date-order",
                "HEAD",
            ],
        )?
        .lines()
        .map(str::to_string)
        .collect()
    };
    let (mut equal, mut jaccard_sum, mut both, mut ours_total, mut git_total) = (0, 0.0, 0, 0, 0);
    let mut sampled = 0;
    let mut shown = 0;
    for t in pick(sample) {
        let text = std::fs::read_to_string(root.join(&t.path)).unwrap_or_default();
        let line = |offset: u32| {
            text[..(offset as usize).min(text.len())]
                .matches('\n')
                .count()
                + 1
        };
        let (first, last) = (
            line(t.range.start),
            line(t.range.end.saturating_sub(1).max(t.range.start)),
        );
        let theirs: HashSet<String> = match git(
            &root,
            &[
                "log",
                "-L",
                &format!("{first},{last}:{}", t.path),
                "--format=%H",
                "-s",
                "--no-merges",
            ],
        ) {
            Ok(out) => out
                .lines()
                .map(str::trim)
                .filter(|l| l.len() == 40)
                .filter(|l| known.contains(*l))
                .map(str::to_string)
                .collect(),
            Err(_) => continue,
        };
        let ours: HashSet<String> = runtime
            .block_on(ws.changes_of(&root, &t, 100_000))?
            .iter()
            .filter_map(|c| c["commit"].as_str().map(str::to_string))
            .filter(|c| known.contains(c))
            .collect();
        sampled += 1;
        let common = ours.intersection(&theirs).count();
        let union = ours.union(&theirs).count();
        both += common;
        ours_total += ours.len();
        git_total += theirs.len();
        jaccard_sum += if union == 0 {
            1.0
        } else {
            common as f64 / union as f64
        };
        if ours == theirs {
            equal += 1;
        } else if shown < 10 {
            shown += 1;
            let only_ours: Vec<&str> = ours.difference(&theirs).map(|s| &s[..10]).collect();
            let only_git: Vec<&str> = theirs.difference(&ours).map(|s| &s[..10]).collect();
            println!(
                "  differs: {} ({}:{first}-{last}): only ours {only_ours:?}, only git {only_git:?}",
                t.qualified_name, t.path
            );
        }
    }
    println!(
        "agreement with git log -L on {sampled} functions: {equal} equal ({:.1}%, target >= 95%), mean Jaccard {:.3}; commits: precision {:.3}, recall {:.3}",
        100.0 * equal as f64 / sampled.max(1) as f64,
        jaccard_sum / sampled.max(1) as f64,
        both as f64 / ours_total.max(1) as f64,
        both as f64 / git_total.max(1) as f64,
    );
    drop(ws);
    runtime.shutdown_background();
    Ok(())
}
