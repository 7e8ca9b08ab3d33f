//! Verification of a proposed edit: the edit is applied to a throw-away snapshot of the
//! workspace (the sandbox's overlay: the user's files are never written), the project's
//! build and tests run in the sandbox, and the answer is a [`Verdict`] with every test's
//! outcome and where it failed, and when the code does not build, the compiler's errors
//! ([`BuildError`]) and where they point.
//!
//! - [`config`]: the `[verify]` table of `codecontext.toml`: a build command run first,
//!   a test command instead of the detected one, the results parser, defaults.
//! - [`edit`]: edits as whole new file contents, or a unified diff applied here.
//! - [`project`]: what kind of project a folder is, and how its build and tests run.
//! - [`results`]: test results from `cargo test` output, JUnit XML (pytest), TAP and
//!   `go test -json`; build errors from rustc, Go and Python (collection errors).
//! - [`select`]: which tests run; `"affected"` takes the tests the knowledge graph found
//!   reaching the edit ([`GraphAnswer`]), in the names the runner takes.
//!
//! A folder that is not a known kind of project can still be verified with a `test`
//! command in `codecontext.toml`: its verdict's `project` is `None`.

pub mod config;
pub mod deps;
pub mod edit;
pub mod project;
pub mod results;
pub mod select;
pub mod toolchain;

use std::path::Path;

use codecontext_sandbox::{RunOutcome, Sandbox, SnapshotKind, Status};
use serde::{Deserialize, Serialize};

pub use config::{ConfigError, VerifyConfig};
pub use deps::{InstallPhase, InstallStatus};
pub use edit::{apply_unified_diff, EditError, FileChange};
pub use project::{detect, ProjectKind};
pub use results::{BuildError, Location, ResultsParser, TestOutcome, TestResult};
pub use select::{ChosenTest, GraphAnswer, ReachedTest};
pub use toolchain::{Missing, Toolchain};

/// Which tests to run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TestSelection {
    /// `"all"` or `"affected"`.
    Mode(String),
    /// Test names as the runner reports them (`module::test`, `file.py::test`).
    Names(Vec<String>),
}

impl Default for TestSelection {
    fn default() -> TestSelection {
        TestSelection::Mode("all".into())
    }
}

/// The verdict's headline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Passed,
    Failed,
    BuildFailed,
    TimedOut,
    ResourceLimit,
    SandboxError,
}

/// What a verification found.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    pub verdict: VerdictKind,
    /// `None` for a folder verified only through `codecontext.toml`'s `test` command.
    pub project: Option<ProjectKind>,
    /// The command that ran, and why these tests.
    pub command: Vec<String>,
    pub selection: String,
    /// For `"affected"`: each test chosen, and how it reaches the edit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<ChosenTest>,
    /// Files the edit changed (relative to the workspace root).
    pub changed_files: Vec<String>,
    pub tests: Vec<TestResult>,
    /// The compiler's errors (rustc, Go, Python's import-time errors), paths relative to
    /// the workspace root.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_errors: Vec<BuildError>,
    pub stdout_tail: String,
    pub stderr_tail: String,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub peak_memory_bytes: u64,
    pub snapshot: Option<SnapshotKind>,
    /// What ran the tests: the interpreter or tool, how it was found, the runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<Toolchain>,
    /// The install phase, when the project's requirements were not all installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<InstallPhase>,
    /// Why a `sandbox_error` is not the code's fault, when it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Why a verification could not judge the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The interpreter, compiler or test runner is not there; `message` names it and
    /// says how to provide it.
    ToolchainMissing,
    /// Installing the project's requirements failed; `install.message` says how.
    InstallFailed,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error(
        "no build or test command known for {0} (a Cargo, Python, Node or Go project, \
         or a `test` command in the [verify] table of codecontext.toml)"
    )]
    UnknownProject(String),
    /// `codecontext.toml` does not parse or its `[verify]` table is wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The last `n` bytes of a text, on a character boundary.
fn tail(text: &str, n: usize) -> String {
    if text.len() <= n {
        return text.to_string();
    }
    let mut start = text.len() - n;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

/// Bytes of stdout and stderr kept in a verdict.
const TAIL: usize = 8 * 1024;

/// Verifies `changes` (already applied to file contents) on the workspace at `root`.
/// `graph` is what the knowledge graph says about the edit, for `"affected"`.
pub async fn verify(
    sandbox: &dyn Sandbox,
    root: &Path,
    changes: Vec<FileChange>,
    tests: &TestSelection,
    graph: Option<&GraphAnswer>,
    timeout_ms: Option<u64>,
) -> Result<Verdict, VerifyError> {
    verify_reporting(sandbox, root, changes, tests, graph, timeout_ms, &|_| {}).await
}

/// [`verify`], telling `report` each phase as it starts, in words for the user
/// (`installing calcdep (requirements.txt) with pip`, `running pytest`).
pub async fn verify_reporting(
    sandbox: &dyn Sandbox,
    root: &Path,
    changes: Vec<FileChange>,
    tests: &TestSelection,
    graph: Option<&GraphAnswer>,
    timeout_ms: Option<u64>,
    report: &(dyn Fn(String) + Sync),
) -> Result<Verdict, VerifyError> {
    let config = config::load(root)?;
    let kind = detect(root);
    let select::Selection {
        names,
        description: mut selection,
        chosen,
    } = select::select(tests, graph, kind, &config);
    // Finding it reads files and may ask an interpreter or Poetry: off the runtime.
    let found = match kind {
        Some(kind) if !sandbox.shows_host_programs() => Some(Ok(toolchain::in_image(kind, root))),
        Some(kind) => {
            let (root, config) = (root.to_path_buf(), config.clone());
            let env = toolchain::Env::current();
            let found =
                tokio::task::spawn_blocking(move || toolchain::find(kind, &root, &config, &env))
                    .await;
            Some(found.unwrap_or_else(|e| {
                Err(Missing {
                    what: format!("finding the toolchain failed ({e})"),
                    how: "set it in the [verify] table of codecontext.toml".into(),
                })
            }))
        }
        None => None,
    };
    let toolchain = match (kind, found) {
        (Some(kind), Some(found)) => match found {
            Ok(found) => Some(found),
            // A configured test command may not need what was not found.
            Err(_) if config.test.is_some() => None,
            Err(missing) => return Ok(toolchain_missing(kind, &changes, selection, missing)),
        },
        _ => None,
    };
    let plan = project::plan(kind, toolchain.as_ref(), root, &names, &config)
        .ok_or_else(|| VerifyError::UnknownProject(root.display().to_string()))?;
    let mut spec = plan.spec;
    // The dependencies the toolchain lacks are installed first.
    let mut install = None;
    if let (Some(kind), Some(found), true) = (kind, &toolchain, sandbox.shows_host_programs()) {
        match prepare(sandbox, kind, root, &changes, found, report).await {
            Prepared::Nothing => {}
            Prepared::Ready(needed, phase) => {
                needed.use_cache(&mut spec);
                install = Some(phase);
            }
            Prepared::Failed {
                phase,
                outcome,
                installer,
                installer_missing,
            } => {
                let mut verdict = judge(Some(kind), &plan.reading, Vec::new(), Vec::new(), outcome);
                verdict.verdict = VerdictKind::SandboxError;
                verdict.tests.clear();
                verdict.build_errors.clear();
                verdict.changed_files = changes.iter().map(|c| c.path.clone()).collect();
                verdict.selection = selection;
                verdict.reason = Some(if installer_missing.is_some() {
                    Reason::ToolchainMissing
                } else {
                    Reason::InstallFailed
                });
                verdict.message = Some(match installer_missing {
                    Some(missing) => missing.to_string(),
                    None => format!(
                        "installing the dependencies ({}) with {installer} failed: {}",
                        phase.requirements.join(", "),
                        phase.message.as_deref().unwrap_or("")
                    ),
                });
                verdict.toolchain = toolchain;
                verdict.install = Some(phase);
                return Ok(verdict);
            }
        }
    }
    let changed_files: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    let mut deleted = Vec::new();
    for change in changes {
        match change.content {
            Some(text) => spec.files.push((change.path, text.into_bytes())),
            None => deleted.push(change.path),
        }
    }
    if !deleted.is_empty() {
        // Deleting inside the snapshot happens first, in the sandbox itself.
        let quoted: Vec<String> = deleted
            .iter()
            .map(|d| format!("'{}'", d.replace('\'', "'\\''")))
            .collect();
        let script = format!("rm -f -- {} && exec \"$@\"", quoted.join(" "));
        let mut argv = vec![
            "sh".to_string(),
            "-c".to_string(),
            script,
            "verify".to_string(),
        ];
        argv.extend(spec.argv);
        spec.argv = argv;
    }
    spec.workspace = Some(root.to_path_buf());
    // Where it is on the host: Cargo's build cache (keyed by absolute paths) stays warm,
    // and the paths runners print are the user's.
    spec.mount_at = Some(root.to_path_buf());
    if let Some(ms) = timeout_ms.or(config.timeout_ms) {
        spec.limits.timeout_ms = ms;
        spec.limits.cpu_ms = ms;
    }
    let command = plan.command;
    report(match &toolchain {
        Some(t) => format!("running {}", t.runner),
        None => format!("running {}", command.join(" ")),
    });
    let outcome = sandbox.run(spec).await;
    let said_missing = match (kind, &toolchain) {
        (Some(kind), Some(toolchain))
            if config.test.is_none() && outcome.status == Status::Error =>
        {
            toolchain::missing_in_output(kind, toolchain, outcome.exit_code, &outcome.stderr)
        }
        _ => None,
    };
    let mut verdict = judge(kind, &plan.reading, command, changed_files, outcome);
    verdict.toolchain = toolchain;
    verdict.install = install;
    if let Some(missing) = said_missing {
        verdict.verdict = VerdictKind::SandboxError;
        verdict.reason = Some(Reason::ToolchainMissing);
        verdict.message = Some(missing.to_string());
    }
    if !names.is_empty() {
        let missing = names
            .iter()
            .filter(|n| !verdict.tests.iter().any(|t| runs_as(&t.name, n)))
            .count();
        if missing > 0 {
            selection.push_str(&format!(
                " ({missing} of the {} selected were not reported by the runner)",
                names.len()
            ));
        }
    }
    verdict.selection = selection;
    verdict.affected = chosen;
    let prefix = format!("{}/", root.display());
    let locations = verdict.tests.iter_mut().map(|t| &mut t.location);
    let locations = locations.chain(verdict.build_errors.iter_mut().map(|e| &mut e.location));
    for location in locations.flatten() {
        if let Some(rel) = location.file.strip_prefix(&prefix) {
            location.file = rel.to_string();
        }
    }
    Ok(verdict)
}

/// What the install phase left for the tests.
enum Prepared {
    /// Nothing lacking, or nothing pins the dependencies.
    Nothing,
    /// The cache holds what was lacking; the phase as the verdict tells it.
    Ready(deps::Needed, InstallPhase),
    /// The install failed: the tests cannot run.
    Failed {
        phase: InstallPhase,
        outcome: RunOutcome,
        /// `pip`, `cargo fetch`, `npm ci`, `go mod download`.
        installer: &'static str,
        /// The installer itself is missing.
        installer_missing: Option<Missing>,
    },
}

/// The install phase (see [`deps`]): nothing when the toolchain has every dependency,
/// the cache when an earlier install has the rest, else an install into the cache, in
/// the sandbox with the network on.
async fn prepare(
    sandbox: &dyn Sandbox,
    kind: ProjectKind,
    root: &Path,
    changes: &[FileChange],
    toolchain: &Toolchain,
    report: &(dyn Fn(String) + Sync),
) -> Prepared {
    let home = codecontext_config::store_home();
    let (at, edited, found) = (root.to_path_buf(), changes.to_vec(), toolchain.clone());
    let needed =
        tokio::task::spawn_blocking(move || deps::needed(kind, &at, &edited, &found, &home))
            .await
            .ok()
            .flatten();
    let Some(needed) = needed else {
        return Prepared::Nothing;
    };
    let mut phase = InstallPhase {
        status: InstallStatus::Cached,
        wall_ms: 0,
        cached: true,
        requirements: needed.files.clone(),
        missing: needed.missing.clone(),
        message: None,
    };
    if deps::is_complete(&needed.cache) {
        phase.missing = needed.installed_missing();
        return Prepared::Ready(needed, phase);
    }
    // The files may say more is lacking than the build needs: the toolchain decides.
    if let Some(probe) = needed.probe_spec(root, changes, toolchain) {
        let outcome = sandbox.run(probe).await;
        if !needed.probe_says_lacking(&outcome) {
            if outcome.status != Status::Ok {
                tracing::debug!(
                    "the install probe failed for another reason than a lacking dependency: {}",
                    deps::failure(&outcome)
                );
            }
            return Prepared::Nothing;
        }
    }
    phase.cached = false;
    phase.status = InstallStatus::Failed;
    report(format!(
        "installing {} ({}) with {}",
        deps::summary(&phase.missing),
        phase.requirements.join(", "),
        needed.installer()
    ));
    let installer = needed.installer();
    let partial = match deps::partial_dir(&needed.cache) {
        Ok(partial) => partial,
        Err(e) => {
            let message = format!(
                "cannot make a folder beside {}: {e}",
                needed.cache.display()
            );
            phase.message = Some(message.clone());
            let outcome = RunOutcome::sandbox_error(
                message,
                std::time::Instant::now(),
                codecontext_sandbox::Enforcement::Rlimits,
            );
            return Prepared::Failed {
                phase,
                outcome,
                installer,
                installer_missing: None,
            };
        }
    };
    let spec = needed.install_spec(root, changes, toolchain, partial.path());
    let outcome = sandbox.run(spec).await;
    phase.wall_ms = outcome.wall_ms;
    if outcome.status == Status::Ok {
        match deps::finish(partial, &needed.cache) {
            Ok(()) => {
                phase.status = InstallStatus::Installed;
                phase.missing = needed.installed_missing();
                return Prepared::Ready(needed, phase);
            }
            Err(e) => phase.message = Some(e.to_string()),
        }
    } else {
        phase.message = Some(deps::failure(&outcome));
    }
    let installer_missing = needed.installer_missing(&outcome, toolchain);
    Prepared::Failed {
        phase,
        outcome,
        installer,
        installer_missing,
    }
}

/// The verdict when the toolchain is not there: nothing ran.
fn toolchain_missing(
    kind: ProjectKind,
    changes: &[FileChange],
    selection: String,
    missing: Missing,
) -> Verdict {
    Verdict {
        verdict: VerdictKind::SandboxError,
        project: Some(kind),
        command: Vec::new(),
        selection,
        affected: Vec::new(),
        changed_files: changes.iter().map(|c| c.path.clone()).collect(),
        tests: Vec::new(),
        build_errors: Vec::new(),
        stdout_tail: String::new(),
        stderr_tail: String::new(),
        wall_ms: 0,
        cpu_ms: 0,
        peak_memory_bytes: 0,
        snapshot: None,
        toolchain: None,
        install: None,
        reason: Some(Reason::ToolchainMissing),
        message: Some(missing.to_string()),
    }
}

/// Whether a reported test is the one selected as `name` (Node selects files).
fn runs_as(reported: &str, name: &str) -> bool {
    reported == name || reported.ends_with(&format!("::{name}")) || name.ends_with(".js")
}

fn judge(
    kind: Option<ProjectKind>,
    reading: &results::Reading,
    command: Vec<String>,
    changed_files: Vec<String>,
    outcome: RunOutcome,
) -> Verdict {
    let parsed = results::parse(reading, &outcome);
    let verdict = match outcome.status {
        Status::TimedOut => VerdictKind::TimedOut,
        Status::MemoryLimit | Status::OutputLimit => VerdictKind::ResourceLimit,
        Status::SandboxError => VerdictKind::SandboxError,
        Status::Ok | Status::Error => {
            if parsed.build_failed {
                VerdictKind::BuildFailed
            } else if outcome.status == Status::Ok
                && parsed
                    .tests
                    .iter()
                    .all(|t| t.outcome != TestOutcome::Failed)
            {
                VerdictKind::Passed
            } else {
                VerdictKind::Failed
            }
        }
    };
    Verdict {
        verdict,
        project: kind,
        command,
        selection: String::new(),
        affected: Vec::new(),
        changed_files,
        tests: parsed.tests,
        build_errors: parsed.build_errors,
        stdout_tail: tail(&outcome.stdout, TAIL),
        stderr_tail: tail(&outcome.stderr, TAIL),
        wall_ms: outcome.wall_ms,
        cpu_ms: outcome.cpu_ms,
        peak_memory_bytes: outcome.peak_memory_bytes,
        snapshot: outcome.snapshot,
        toolchain: None,
        install: None,
        reason: None,
        message: outcome.message,
    }
}
