//! Verification on a Python project's real history, against running its tests directly.
//!
//! For each of the newest commits that change both code (outside `tests/`) and tests,
//! two verifications, each judged against pytest run directly on the same tree:
//!
//! - the commit's diff on its parent (a worktree at the parent, the diff as the edit),
//!   against pytest at the commit;
//! - the commit's code change reverted, its tests kept (a worktree at the commit, the
//!   code files' parent versions as the edit), against pytest on that tree: the tests
//!   that guard the change fail here.
//!
//! The reverted change is verified a second time with `tests: "affected"` (a workspace
//! indexed on the commit, as a server has it): it is safe when every test that fails
//! with all tests selected ran, and its saving is the share of tests it did not run.
//!
//! A verdict is correct when it agrees with the direct run: `passed` exactly when pytest
//! exits 0, `failed` with as many failed tests as pytest's JUnit report names with a
//! failure or an error, `build_failed` when pytest failed too (in collection).
//! Each worktree has its own virtualenv (`.venv`, the project installed editable, with
//! pytest): what a developer of the project has, and what verify finds.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use codecontext_sandbox::LocalSandbox;
use codecontext_verify::{FileChange, TestOutcome, TestSelection, Verdict, VerdictKind};
use codecontext_workspace::{
    verify::{Edit, VerifyRequest},
    Settings, Silent, Workspace,
};

use crate::{context::git, stats::percentile};

fn is_test(path: &str) -> bool {
    path.starts_with("tests/") || path.starts_with("test/")
}

/// A worktree of `repo` at `dir` with its virtualenv: the project installed editable,
/// and pytest (from `CODECONTEXT_TEST_WHEELS` when set, else the index).
fn worktree(repo: &Path, dir: &Path) -> Result<()> {
    git(
        repo,
        &[
            "worktree",
            "add",
            "--detach",
            "--force",
            dir.to_str().unwrap(),
            "HEAD",
        ],
    )?;
    let venv = dir.join(".venv");
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success();
    anyhow::ensure!(ok, "python3 -m venv failed");
    let pip = venv.join("bin/pip");
    let mut install = Command::new(&pip);
    install.args(["install", "-q", "--disable-pip-version-check", "pytest"]);
    if let Ok(wheels) = std::env::var("CODECONTEXT_TEST_WHEELS") {
        install.args(["--find-links", &wheels]);
    }
    anyhow::ensure!(install.status()?.success(), "pip install pytest failed");
    let editable = Command::new(&pip)
        .args(["install", "-q", "--disable-pip-version-check", "-e"])
        .arg(dir)
        .status()?
        .success();
    anyhow::ensure!(editable, "pip install -e {} failed", dir.display());
    Ok(())
}

/// pytest run directly in `dir`: whether it passed, and its failures and errors.
fn direct(dir: &Path) -> Result<(bool, usize, Duration)> {
    let report = dir.join(".direct-junit.xml");
    let t = Instant::now();
    let out = Command::new(dir.join(".venv/bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(format!("--junitxml={}", report.display()))
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()?;
    let took = t.elapsed();
    let xml = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    Ok((out.status.success(), failing(&xml).len(), took))
}

/// The tests a JUnit report says failed or erred, by class and name (a test that fails
/// and then errs in its teardown is reported twice; it is one test).
fn failing(xml: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for case in xml.split("<testcase ").skip(1) {
        let head_end = case.find('>').unwrap_or(case.len());
        let head = &case[..head_end];
        if head.ends_with('/') {
            continue;
        }
        let body = &case[head_end..case.find("</testcase>").unwrap_or(case.len())];
        if body.contains("<failure") || body.contains("<error") {
            let attr = |name: &str| {
                format!(" {head}")
                    .split(&format!(" {name}=\""))
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                    .unwrap_or("")
                    .to_string()
            };
            names.insert(format!("{}::{}", attr("classname"), attr("name")));
        }
    }
    names
}

fn failed(verdict: &Verdict) -> usize {
    failed_names(verdict).len()
}

fn failed_names(verdict: &Verdict) -> BTreeSet<&str> {
    verdict
        .tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Failed)
        .map(|t| t.name.as_str())
        .collect()
}

/// `tests: "affected"` against all tests on the same edits.
#[derive(Default)]
struct AffectedTally {
    edits: usize,
    /// Edits where every test failing with all tests selected ran.
    safe: usize,
    /// Edits where every test the edit makes fail ran (a test failing before the edit
    /// too, for want of something in this environment, is not the edit's).
    safe_on_caused: usize,
    /// Edits where the graph chose no tests and all ran.
    fell_back: usize,
    /// Edits that failed with all tests selected (where safety is at stake).
    failing: usize,
    ran: usize,
    all: usize,
}

impl AffectedTally {
    fn add(&mut self, all: &Verdict, affected: &Verdict, failing_before: &BTreeSet<String>) {
        let ran: BTreeSet<&str> = affected.tests.iter().map(|t| t.name.as_str()).collect();
        let missed: Vec<&str> = failed_names(all)
            .into_iter()
            .filter(|name| !ran.contains(name))
            .collect();
        let caused = missed
            .iter()
            .filter(|name| !failing_before.contains(**name))
            .count();
        let fell_back = affected.affected.is_empty();
        self.edits += 1;
        self.safe += missed.is_empty() as usize;
        self.safe_on_caused += (caused == 0) as usize;
        self.fell_back += fell_back as usize;
        self.failing += (all.verdict != VerdictKind::Passed) as usize;
        self.ran += affected.tests.len();
        self.all += all.tests.len();
        println!(
            "  affected: verify {:?}, ran {} of {} tests{}{}",
            affected.verdict,
            affected.tests.len(),
            all.tests.len(),
            if fell_back {
                format!(" ({})", affected.selection)
            } else {
                String::new()
            },
            if missed.is_empty() {
                String::new()
            } else {
                format!(
                    "  <- missed failing {} ({caused} of them not failing before the edit)",
                    missed.join(", ")
                )
            }
        );
    }
}

/// A workspace on `root`, indexed, with no store of its own on disk.
fn indexed(runtime: &tokio::runtime::Runtime, root: &Path) -> Result<Arc<Workspace>> {
    let settings = Settings {
        persist: false,
        ..Settings::default()
    };
    let ws = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
    let job = ws.register_folder(root).context("the worktree")?;
    ws.index_folder(job);
    Ok(ws)
}

/// The verdicts so far: how many agree, and the times of both sides.
#[derive(Default)]
struct Tally {
    correct: usize,
    total: usize,
    verify_ms: Vec<Duration>,
    direct_ms: Vec<Duration>,
}

impl Tally {
    fn add(&mut self, judged: Judged, verified: Duration, direct: Duration) {
        println!("{}", judged.line);
        self.correct += judged.correct as usize;
        self.total += 1;
        self.verify_ms.push(verified);
        self.direct_ms.push(direct);
    }
}

struct Judged {
    correct: bool,
    line: String,
}

fn judge(what: &str, verdict: &Verdict, passed: bool, failures: usize) -> Judged {
    let agrees = match verdict.verdict {
        VerdictKind::Passed => passed,
        VerdictKind::Failed => !passed && failed(verdict) == failures,
        // The code does not import: pytest fails too, in collection (with or without
        // a report).
        VerdictKind::BuildFailed => !passed,
        _ => false,
    };
    Judged {
        correct: agrees,
        line: format!(
            "{what}: verify {:?} ({} failed), direct {} ({failures} failed){}",
            verdict.verdict,
            failed(verdict),
            if passed { "passed" } else { "failed" },
            if agrees { "" } else { "  <- disagrees" }
        ),
    }
}

pub fn run(repo: &Path, commits: usize) -> Result<()> {
    let repo = repo.canonicalize().context("the repository")?;
    let work = tempfile::tempdir()?;
    let (parent, child) = (work.path().join("parent"), work.path().join("commit"));
    worktree(&repo, &parent)?;
    worktree(&repo, &child)?;
    let log = git(
        &repo,
        &[
            "log",
            "--no-merges",
            "--format=%H",
            "-n",
            "600",
            "--",
            "src",
            "tests",
        ],
    )?;
    let sandbox = LocalSandbox::new(LocalSandbox::default_helper().context("no helper")?, 1)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The workspaces index on their own runtime, as the server's do.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let child: PathBuf = child.canonicalize()?;
    let verify = |root: &Path, changes: Vec<FileChange>| -> Result<(Verdict, Duration)> {
        let t = Instant::now();
        let verdict = rt.block_on(codecontext_verify::verify(
            &sandbox,
            root,
            changes,
            &TestSelection::default(),
            None,
            None,
        ))?;
        Ok((verdict, t.elapsed()))
    };
    let mut tally = Tally::default();
    let mut affected = AffectedTally::default();
    let mut done = 0;
    for commit in log.lines() {
        if done == commits {
            break;
        }
        let files = git(
            &repo,
            &["diff", "--name-only", &format!("{commit}^"), commit],
        )?;
        let files: Vec<&str> = files.lines().collect();
        let code: Vec<&str> = files
            .iter()
            .copied()
            .filter(|f| f.ends_with(".py") && !is_test(f))
            .collect();
        if code.is_empty() || !files.iter().any(|f| is_test(f) && f.ends_with(".py")) {
            continue;
        }
        let short = &commit[..10];
        let subject = git(&repo, &["log", "-1", "--format=%s", commit])?;
        git(
            &parent,
            &["checkout", "-q", "--detach", &format!("{commit}^")],
        )?;
        git(&child, &["checkout", "-q", "--detach", commit])?;
        println!("{short} {}", subject.trim());

        // The commit's diff on its parent, against pytest at the commit.
        let diff = git(&repo, &["diff", &format!("{commit}^"), commit])?;
        let changes = match codecontext_verify::apply_unified_diff(&parent, &diff) {
            Ok(changes) => changes,
            Err(e) => {
                println!("  skipped: the diff does not apply as text ({e})");
                continue;
            }
        };
        let (passed, failures, took) = direct(&child)?;
        let (verdict, verified) = verify(&parent, changes)?;
        tally.add(
            judge("  commit on parent", &verdict, passed, failures),
            verified,
            took,
        );
        // What fails at the commit, before its code is reverted.
        let failing_before: BTreeSet<String> = failed_names(&verdict)
            .into_iter()
            .map(str::to_string)
            .collect();

        // The code change reverted, the tests kept: against pytest on that tree.
        let mut reverted = Vec::new();
        for path in &code {
            let before = git(&repo, &["show", &format!("{commit}^:{path}")]).ok();
            reverted.push(FileChange {
                path: path.to_string(),
                content: before,
            });
        }
        for change in &reverted {
            let at = child.join(&change.path);
            match &change.content {
                Some(text) => std::fs::write(&at, text)?,
                None => std::fs::remove_file(&at)?,
            }
        }
        let (passed, failures, took) = direct(&child)?;
        git(&child, &["checkout", "-q", "--", "."])?;
        let files = reverted
            .iter()
            .map(|c| (child.join(&c.path), c.content.clone()))
            .collect();
        let (verdict, verified) = verify(&child, reverted)?;
        tally.add(
            judge("  code reverted", &verdict, passed, failures),
            verified,
            took,
        );

        // The same, with the tests the graph says the change reaches.
        let ws = indexed(&server, &child)?;
        let answer = server.block_on(ws.verify(
            VerifyRequest {
                edit: Edit::Files(files),
                root: Some(child.clone()),
                tests: TestSelection::Mode("affected".into()),
                timeout_ms: None,
            },
            false,
        ))?;
        drop(ws);
        affected.add(&verdict, &answer.verdict, &failing_before);
        done += 1;
    }
    for dir in [&parent, &child] {
        let _ = git(
            &repo,
            &["worktree", "remove", "--force", dir.to_str().unwrap()],
        );
    }
    let Tally {
        correct,
        total,
        verify_ms,
        direct_ms,
    } = tally;
    let ms = |d: &[Duration]| percentile(d, 50.0).as_secs_f64() * 1000.0;
    println!(
        "correct     {correct} of {total} verdicts agree with pytest run directly ({:.1}%), {done} commits",
        100.0 * correct as f64 / total.max(1) as f64
    );
    println!(
        "time        p50 verify {:.0} ms, direct {:.0} ms ({:.2}x; verify includes the snapshot)",
        ms(&verify_ms),
        ms(&direct_ms),
        ms(&verify_ms) / ms(&direct_ms).max(1.0)
    );
    let AffectedTally {
        edits,
        safe,
        safe_on_caused,
        fell_back,
        failing,
        ran,
        all,
    } = affected;
    println!(
        "affected    safe on {safe} of {edits} reverted changes ({failing} of them failing with all tests), on {safe_on_caused} counting only what the edit makes fail; ran {ran} of {all} tests, skipped {:.1}%; {fell_back} fell back to all tests",
        100.0 * (all - ran.min(all)) as f64 / all.max(1) as f64
    );
    server.shutdown_background();
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn failing_tests_are_counted_once_by_class_and_name() {
        let xml = r#"<?xml version="1.0"?><testsuites name="pytest tests" errors="1" failures="2"><testsuite name="pytest" errors="1" failures="2" tests="4">
<testcase classname="tests.test_a" name="test_x[a]" time="0.1"><failure message="no">x</failure></testcase>
<testcase classname="tests.test_a" name="test_x[b]" time="0.1"><failure message="no">x</failure></testcase>
<testcase classname="tests.test_a" name="test_x[b]" time="0.1"><error message="teardown">x</error></testcase>
<testcase classname="tests.test_a" name="test_y" time="0.1" />
</testsuite></testsuites>"#;
        let names: Vec<String> = super::failing(xml).into_iter().collect();
        assert_eq!(
            names,
            ["tests.test_a::test_x[a]", "tests.test_a::test_x[b]"]
        );
    }
}
