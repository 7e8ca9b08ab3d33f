//! Verification on a project's real history, against running its tests directly: a
//! Python project (pytest), a Rust one (`cargo test`) or a Go one (`go test`).
//!
//! For each of the newest commits that change both code and tests (files under
//! `tests/`, or Go's `_test.go`),
//! two verifications, each judged against the tests run directly on the same tree:
//!
//! - the commit's diff on its parent (a worktree at the parent, the diff as the edit),
//!   against the tests at the commit;
//! - the commit's code change reverted, its tests kept (a worktree at the commit, the
//!   code files' parent versions as the edit), against the tests on that tree: the tests
//!   that guard the change fail here.
//!
//! The reverted change is verified a second time with `tests: "affected"` (a workspace
//! indexed on the commit, as a server has it): it is safe when every test that fails
//! with all tests selected ran, and its saving is the share of tests it did not run.
//!
//! A verdict is correct when it agrees with the direct run: `passed` exactly when the
//! tests pass, `failed` with as many failed tests as the direct run names (pytest's JUnit
//! report, with a failure or an error; `cargo test`'s `... FAILED` lines; the tests
//! `go test -json` says failed),
//! `build_failed` when the direct run failed too (in collection, or compiling).
//! Each worktree is what a developer of the project has: for Python its own virtualenv
//! (`.venv`, the project installed editable, with pytest); for Rust a built `target/`
//! (`cargo test --no-run` before each verification, not timed), so that verify, like
//! the developer, rebuilds only what the edit changes.

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

/// The kind of project replayed, and how its tests run directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lang {
    Python,
    Rust,
    Go,
}

impl Lang {
    fn of(repo: &Path) -> Lang {
        if repo.join("Cargo.toml").is_file() {
            Lang::Rust
        } else if repo.join("go.mod").is_file() {
            Lang::Go
        } else {
            Lang::Python
        }
    }

    fn runner(self) -> &'static str {
        match self {
            Lang::Python => "pytest",
            Lang::Rust => "cargo test",
            Lang::Go => "go test",
        }
    }

    /// Where its code and tests are, for `git log` (literal paths; none: anywhere).
    fn paths(self) -> &'static [&'static str] {
        match self {
            Lang::Python | Lang::Rust => &["src", "tests"],
            Lang::Go => &[],
        }
    }

    fn is_test(self, path: &str) -> bool {
        match self {
            Lang::Python => path.starts_with("tests/") || path.starts_with("test/"),
            Lang::Rust => path.starts_with("tests/"),
            Lang::Go => path.ends_with("_test.go"),
        }
    }

    fn is_source(self, path: &str) -> bool {
        path.ends_with(match self {
            Lang::Python => ".py",
            Lang::Rust => ".rs",
            Lang::Go => ".go",
        })
    }

    /// A worktree of `repo` at `dir`, set up as the project's developers have it.
    fn worktree(self, repo: &Path, dir: &Path) -> Result<()> {
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
        match self {
            Lang::Python => python_venv(dir),
            Lang::Rust | Lang::Go => Ok(()),
        }
    }

    /// Brings the worktree at `dir` to where a developer who has been working on it is:
    /// for Rust, built (its Cargo.lock made and its dependencies fetched the first time).
    fn warm(self, dir: &Path) -> Result<()> {
        if self == Lang::Rust {
            let out = Command::new("cargo")
                .args(["test", "--no-run", "--quiet"])
                .current_dir(dir)
                .output()?;
            if !out.status.success() {
                println!("  (cargo test --no-run fails in {})", dir.display());
            }
        }
        Ok(())
    }

    /// The tests run directly in `dir`: whether they passed, how many failed, and how
    /// long it took.
    fn direct(self, dir: &Path) -> Result<(bool, usize, Duration)> {
        match self {
            Lang::Python => pytest(dir),
            Lang::Rust => cargo_test(dir),
            Lang::Go => go_test(dir),
        }
    }
}

/// A virtualenv in the worktree at `dir`: the project installed editable, and pytest
/// (from `CODECONTEXT_TEST_WHEELS` when set, else the index).
fn python_venv(dir: &Path) -> Result<()> {
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
fn pytest(dir: &Path) -> Result<(bool, usize, Duration)> {
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

/// `cargo test` run directly in `dir`: whether it passed, and how many tests it says
/// failed (by name: two test binaries may each have a test of the same name).
fn cargo_test(dir: &Path) -> Result<(bool, usize, Duration)> {
    let t = Instant::now();
    let out = Command::new("cargo")
        .args(["test", "--no-fail-fast"])
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .output()?;
    let took = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok((out.status.success(), cargo_failures(&stdout).len(), took))
}

/// `go test` run directly in `dir` (its results not cached): whether it passed, and how
/// many tests (subtests among them) it says failed.
fn go_test(dir: &Path) -> Result<(bool, usize, Duration)> {
    let t = Instant::now();
    let out = Command::new("go")
        .args(["test", "-json", "-count=1", "./..."])
        .current_dir(dir)
        .output()?;
    let took = t.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok((out.status.success(), go_failures(&stdout).len(), took))
}

/// The tests `go test -json` says failed, by package and name.
fn go_failures(stdout: &str) -> BTreeSet<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["Action"] == "fail")
        .filter_map(|e| {
            Some(format!(
                "{} {}",
                e["Package"].as_str()?,
                e["Test"].as_str()?
            ))
        })
        .collect()
}

/// The names of the tests `cargo test`'s output says failed (`test a::b ... FAILED`).
fn cargo_failures(stdout: &str) -> BTreeSet<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.strip_suffix(" ... FAILED"))
        .collect()
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

fn judge(lang: Lang, what: &str, verdict: &Verdict, passed: bool, failures: usize) -> Judged {
    let agrees = match verdict.verdict {
        VerdictKind::Passed => passed,
        VerdictKind::Failed => !passed && failed(verdict) == failures,
        // The code does not build or import: the direct run fails too (compiling, or
        // in collection, with or without a report).
        VerdictKind::BuildFailed => !passed,
        _ => false,
    };
    Judged {
        correct: agrees,
        line: format!(
            "{what}: verify {:?} ({} failed), {} {} ({failures} failed){}",
            verdict.verdict,
            failed(verdict),
            lang.runner(),
            if passed { "passed" } else { "failed" },
            if agrees { "" } else { "  <- disagrees" }
        ),
    }
}

pub fn run(repo: &Path, commits: usize) -> Result<()> {
    let repo = repo.canonicalize().context("the repository")?;
    let work = tempfile::tempdir()?;
    let (parent, child) = (work.path().join("parent"), work.path().join("commit"));
    let lang = Lang::of(&repo);
    lang.worktree(&repo, &parent)?;
    lang.worktree(&repo, &child)?;
    let mut log_args = vec!["log", "--no-merges", "--format=%H", "-n", "600", "--"];
    log_args.extend(lang.paths());
    let log = git(&repo, &log_args)?;
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
            .filter(|f| lang.is_source(f) && !lang.is_test(f))
            .collect();
        if code.is_empty() || !files.iter().any(|f| lang.is_test(f) && lang.is_source(f)) {
            continue;
        }
        let short = &commit[..10];
        let subject = git(&repo, &["log", "-1", "--format=%s", commit])?;
        println!("{short} {}", subject.trim());
        // Both worktrees at the parent, built: the commit's diff, applied by verify in
        // one and checked out in the other, is all either rebuilds.
        for dir in [&parent, &child] {
            git(dir, &["checkout", "-q", "--detach", &format!("{commit}^")])?;
            lang.warm(dir)?;
        }
        git(&child, &["checkout", "-q", "--detach", commit])?;

        // The commit's diff on its parent, against the tests run at the commit.
        let diff = git(&repo, &["diff", &format!("{commit}^"), commit])?;
        let changes = match codecontext_verify::apply_unified_diff(&parent, &diff) {
            Ok(changes) => changes,
            Err(e) => {
                println!("  skipped: the diff does not apply as text ({e})");
                continue;
            }
        };
        let (passed, failures, took) = lang.direct(&child)?;
        let (verdict, verified) = verify(&parent, changes)?;
        tally.add(
            judge(lang, "  commit on parent", &verdict, passed, failures),
            verified,
            took,
        );
        // What fails at the commit, before its code is reverted.
        let failing_before: BTreeSet<String> = failed_names(&verdict)
            .into_iter()
            .map(str::to_string)
            .collect();

        // The code change reverted, the tests kept: against the tests run on that tree,
        // verified first (both then rebuild from the commit's build).
        let mut reverted = Vec::new();
        for path in &code {
            let before = git(&repo, &["show", &format!("{commit}^:{path}")]).ok();
            reverted.push(FileChange {
                path: path.to_string(),
                content: before,
            });
        }
        let files = reverted
            .iter()
            .map(|c| (child.join(&c.path), c.content.clone()))
            .collect();
        let (verdict, verified) = verify(&child, reverted.clone())?;
        for change in &reverted {
            let at = child.join(&change.path);
            match &change.content {
                Some(text) => std::fs::write(&at, text)?,
                None => std::fs::remove_file(&at)?,
            }
        }
        let (passed, failures, took) = lang.direct(&child)?;
        git(&child, &["checkout", "-q", "--", "."])?;
        tally.add(
            judge(lang, "  code reverted", &verdict, passed, failures),
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
        "correct     {correct} of {total} verdicts agree with {} run directly ({:.1}%), {done} commits",
        lang.runner(),
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
    fn go_failures_are_the_failed_tests_by_package() {
        let out = r#"{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}
not json
"#;
        let names: Vec<String> = super::go_failures(out).into_iter().collect();
        assert_eq!(names, ["p TestA", "p TestA/sub"]);
    }

    #[test]
    fn cargo_failures_are_the_failed_lines_by_name() {
        let out = "running 3 tests\ntest a::x ... ok\ntest a::y ... FAILED\ntest z ... FAILED\n\
                   failures:\n    a::y\ntest result: FAILED. 1 passed; 2 failed\n\
                   running 1 test\ntest z ... FAILED\n";
        let names: Vec<&str> = super::cargo_failures(out).into_iter().collect();
        assert_eq!(names, ["a::y", "z"]);
    }

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
