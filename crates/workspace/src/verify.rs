//! Verifying an edit: the new content of each changed file is laid over a sandboxed
//! snapshot of the folder, its build and tests run there, and the verdict is judged,
//! recorded in the run history and written as performance points. The user's files are
//! never written.
//!
//! The edit arrives as a unified diff (applied to the files on disk) or as new contents
//! by absolute path (each adapter turns its own edit format into those: the LSP server a
//! `WorkspaceEdit`, applied to the open documents' text).

use std::path::{Component, Path, PathBuf};

use codecontext_store::{RunKind, RunRecord};
use codecontext_verify::{
    FileChange, GraphAnswer, ReachedTest, TestOutcome, TestSelection, Verdict,
};
use serde::Serialize;
use tracing::info;

use crate::{history, Result, Workspace, WorkspaceError};

/// The proposed edit.
#[derive(Clone, Debug)]
pub enum Edit {
    /// A unified diff against the files on disk of the folder.
    Diff(String),
    /// New contents by absolute path (`None`: the file is deleted).
    Files(Vec<(PathBuf, Option<String>)>),
}

/// What to verify, and how.
#[derive(Clone, Debug)]
pub struct VerifyRequest {
    pub edit: Edit,
    /// The workspace folder to verify in, when the edit alone does not say (a diff
    /// defaults to the first folder; files to the deepest folder holding the first).
    pub root: Option<PathBuf>,
    pub tests: TestSelection,
    pub timeout_ms: Option<u64>,
}

/// The edit as recorded: its hash and the symbols it changes.
#[derive(Clone, Debug, Serialize)]
pub struct EditSummary {
    pub hash: String,
    pub symbols: Vec<String>,
}

/// The verdict, what the edit is, and its id in the run history (when recorded).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyAnswer {
    #[serde(flatten)]
    pub verdict: Verdict,
    pub edit: EditSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// The edit assessed before it ran (see docs/assess.md); none when it could not be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<codecontext_assess::Assessment>,
    /// The folder it ran in.
    #[serde(skip)]
    pub root: PathBuf,
}

fn invalid(message: impl Into<String>) -> WorkspaceError {
    WorkspaceError::invalid(format!("codecontext.verify: {}", message.into()))
}

impl Workspace {
    /// Verifies an edit. `progress` says whether the user sees it as work under way.
    pub async fn verify(
        self: &std::sync::Arc<Self>,
        request: VerifyRequest,
        progress: bool,
    ) -> Result<VerifyAnswer> {
        self.verify_telling(request, progress, &|_| {}).await
    }

    /// [`Workspace::verify`], telling `tell` each phase as it begins
    /// (`installing calcdep (requirements.txt) with pip`, `running pytest`), as the work
    /// done progress shows them.
    pub async fn verify_telling(
        self: &std::sync::Arc<Self>,
        request: VerifyRequest,
        progress: bool,
        tell: &(dyn Fn(&str) + Sync),
    ) -> Result<VerifyAnswer> {
        self.admit_execution().await?;
        // What the edit changes and what to think of it, before it runs; a verdict is
        // given without it when it cannot be had.
        let assessment = match self
            .assess(request.edit.clone(), request.root.clone(), false)
            .await
        {
            Ok(assessment) => Some(assessment),
            Err(e) => {
                tracing::debug!("no assessment of the edit verified: {e}");
                None
            }
        };
        let (root, changes) = self.changes(request.edit, request.root, "verify")?;
        let started = history::now_ms();
        let facts = self.edit_facts(&root, &changes);
        let language = match codecontext_verify::detect(&root) {
            Some(codecontext_verify::ProjectKind::Cargo) => "rust",
            Some(codecontext_verify::ProjectKind::Python) => "python",
            Some(codecontext_verify::ProjectKind::Node) => "javascript",
            Some(codecontext_verify::ProjectKind::Go) => "go",
            None => "",
        };
        let sandbox = self
            .sandbox_for(Some(&root), language)
            .map_err(|e| WorkspaceError::internal(format!("codecontext.verify: {e}")))?;
        let work = if progress {
            Some(
                self.begin_progress("verify", "Verifying the edit", None, true)
                    .await,
            )
        } else {
            None
        };
        let graph = GraphAnswer {
            edited: facts.affected.edited.clone(),
            tests: facts.affected.tests.iter().map(reached_test).collect(),
            unknown: facts.affected.unknown.clone(),
        };
        // Each phase (an install, the tests) shows in the progress as it starts.
        let (sender, mut told) = tokio::sync::mpsc::unbounded_channel::<String>();
        let run = async {
            let report = move |phase: String| {
                let _ = sender.send(phase);
            };
            codecontext_verify::verify_reporting(
                sandbox.as_ref(),
                &root,
                changes,
                &request.tests,
                Some(&graph),
                request.timeout_ms,
                &report,
            )
            .await
        };
        let shown = async {
            while let Some(phase) = told.recv().await {
                tell(&phase);
                if let Some(work) = &work {
                    work.report(phase, None).await;
                }
            }
        };
        let (result, ()) = tokio::join!(run, shown);
        let verdict = match result {
            Ok(v) => v,
            Err(e) => {
                if let Some(work) = work {
                    work.end(e.to_string()).await;
                }
                return Err(invalid(e.to_string()));
            }
        };
        info!(
            "verify in {}: {:?}, {} tests, {} ms",
            root.display(),
            verdict.verdict,
            verdict.tests.len(),
            verdict.wall_ms
        );
        if let Some(work) = work {
            work.end(format!("{:?}", verdict.verdict)).await;
        }
        let mut answer = VerifyAnswer {
            verdict,
            edit: EditSummary {
                hash: facts.hash.clone(),
                symbols: facts.affected.edited.clone(),
            },
            run_id: None,
            assessment,
            root: root.clone(),
        };
        let verdict = &answer.verdict;
        let count = |outcome: TestOutcome| {
            verdict
                .tests
                .iter()
                .filter(|t| t.outcome == outcome)
                .count()
        };
        let detail = serde_json::to_value(&answer).unwrap_or_default();
        let run = RunRecord {
            id: 0,
            at_ms: started,
            kind: RunKind::Verify,
            status: detail["verdict"].as_str().unwrap_or("").to_string(),
            edit_hash: Some(facts.hash.clone()),
            diff: Some(history::capped(&facts.diff)),
            symbols: facts.affected.edited.clone(),
            files: verdict.changed_files.clone(),
            wall_ms: verdict.wall_ms,
            cpu_ms: verdict.cpu_ms,
            peak_memory_bytes: verdict.peak_memory_bytes,
            passed: count(TestOutcome::Passed) as u32,
            failed: count(TestOutcome::Failed) as u32,
            detail,
        };
        let points =
            crate::perf::verification_points(&root, started, &facts.affected.edited, verdict);
        answer.run_id = self.record_run(&root, run).await;
        self.record_points(&root, points).await;
        Ok(answer)
    }

    /// The folder to verify in, and the edit as new contents relative to it.
    /// The folder an edit is in and the new content of each file it changes; errors
    /// name `command` (`verify`, `assess`), the request they answer.
    pub(crate) fn changes(
        &self,
        edit: Edit,
        root: Option<PathBuf>,
        command: &str,
    ) -> Result<(PathBuf, Vec<FileChange>)> {
        let invalid =
            |message: &str| WorkspaceError::invalid(format!("codecontext.{command}: {message}"));
        match edit {
            Edit::Files(changes) => {
                let Some((first, _)) = changes.first() else {
                    return Err(invalid("the edit changes nothing"));
                };
                let root = match root {
                    Some(root) => root,
                    None => self
                        .root_of(first)
                        .ok_or_else(|| invalid("the edit is outside every workspace folder"))?,
                };
                let mut relative = Vec::with_capacity(changes.len());
                for (path, content) in changes {
                    relative.push(FileChange {
                        path: relative_inside(&root, &path).map_err(|e| invalid(&e))?,
                        content,
                    });
                }
                Ok((root, relative))
            }
            Edit::Diff(diff) => {
                let root = match root {
                    Some(root) => root,
                    None => self
                        .roots()
                        .into_iter()
                        .next()
                        .ok_or_else(|| invalid("no workspace folder to apply the diff in"))?,
                };
                let changes = codecontext_verify::apply_unified_diff(&root, &diff)
                    .map_err(|e| invalid(&e.to_string()))?;
                Ok((root, changes))
            }
        }
    }
}

/// `path` relative to `root`, with `/`; `..` must not lead out of the folder.
fn relative_inside(root: &Path, path: &Path) -> std::result::Result<String, String> {
    path.strip_prefix(root)
        .ok()
        .filter(|rel| rel.components().all(|c| matches!(c, Component::Normal(_))))
        .map(|rel| rel.to_string_lossy().replace('\\', "/"))
        .ok_or_else(|| format!("{} is outside {}", path.display(), root.display()))
}

/// A test the graph found, as verification takes it.
pub(crate) fn reached_test(t: &codecontext_analysis::AffectedTest) -> ReachedTest {
    ReachedTest {
        path: t.path.clone(),
        language: t.language.clone(),
        name: t.name.clone(),
        containers: t.containers.clone(),
        via: t.via.clone(),
        how: t.how.as_str().to_string(),
    }
}
