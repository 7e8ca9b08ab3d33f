//! Assessing a proposed edit (see `codecontext-assess`): the edit, as a unified diff
//! against the files on disk or new contents by path, becomes each file's text before
//! and after, and is assessed against the analysis on the blocking pool, within the
//! request's time budget. Nothing is written or run.
//!
//! The risk model learns the folder's git history once per `HEAD`, in the background
//! (blaming the lines of every fix takes seconds to minutes): until it has, answers say
//! `riskStatus: training`, and after a new commit they use the model of the commit
//! before while the new one learns.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError},
};

use codecontext_analysis::{cancel, AffectedTest};
use codecontext_assess::{risk, Assessment, Change, HistoryInput};
use tracing::{info, warn};

use crate::{
    blocking::{cancellable, Ended},
    verify::Edit,
    Result, Workspace, WorkspaceError,
};

/// What the risk model knows of a folder's history.
#[derive(Default)]
pub struct RiskState {
    /// The history learned last, for its `head`.
    learned: Option<Arc<risk::Learned>>,
    /// The `HEAD` being learned in the background.
    training: Option<String>,
    /// Why the last learning gave nothing, for the `HEAD` it tried.
    failed: Option<(String, String)>,
}

impl Workspace {
    /// Assesses `edit` in the folder `root` (by default, the one the edit is in);
    /// `learn`: learn the history first if it is not (the CLI), rather than answer
    /// `riskStatus: training` and learn it in the background.
    pub async fn assess(
        self: &std::sync::Arc<Self>,
        edit: Edit,
        root: Option<PathBuf>,
        learn: bool,
    ) -> Result<Assessment> {
        let from_disk = matches!(edit, Edit::Diff(_));
        let (root, files) = self.changes(edit, root, "assess")?;
        let changes: Vec<Change> = files
            .into_iter()
            .map(|f| {
                let path = root.join(&f.path);
                // A diff applies to the files on disk; new contents replace what the
                // client holds.
                let before = if from_disk {
                    std::fs::read_to_string(&path).ok()
                } else {
                    self.current_text(&path).ok()
                };
                Change {
                    path,
                    before,
                    after: f.content,
                }
            })
            .collect();
        let (learned, status) = if learn {
            let ws = self.clone();
            let at = root.clone();
            tokio::task::spawn_blocking(move || ws.learned_history(&at, true))
                .await
                .map_err(|e| WorkspaceError::Internal(e.to_string()))?
        } else {
            self.learned_history(&root, false)
        };
        let times = self.test_times(&root).await;
        let kind = codecontext_verify::detect(&root);
        let author = risk::author(&root);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let ws = self.clone();
        let budget = self.settings().request_budget();
        match cancellable(move || {
            let host = ws.read();
            let runner = |t: &AffectedTest| {
                kind.and_then(|k| {
                    codecontext_verify::select::runner_name(k, &crate::verify::reached_test(t))
                })
            };
            let history = HistoryInput {
                learned: learned.as_deref(),
                status: &status,
                author: &author,
                now,
                times: &times,
                runner: Some(&runner),
            };
            cancel::within(budget, || {
                codecontext_assess::assess(&host.analysis(), &root, &changes, history)
            })
            .0
        })
        .await
        {
            Ended::Done(assessment) => Ok(assessment),
            Ended::Cancelled => Err(WorkspaceError::Internal("cancelled".into())),
            Ended::Failed(why) => Err(WorkspaceError::Internal(format!(
                "codecontext.assess failed: {why}"
            ))),
        }
    }
}

impl Workspace {
    /// The folder's history as learned for its current `HEAD`, or the last one learned
    /// while the current one is learned in the background (`wait`: here, now, as the
    /// CLI does); and the risk status to answer.
    pub fn learned_history(
        self: &Arc<Self>,
        root: &Path,
        wait: bool,
    ) -> (Option<Arc<risk::Learned>>, String) {
        let Some(head) = risk::head(root) else {
            return (None, "no git history".into());
        };
        let folder = self.folder(root);
        {
            let mut state = folder.risk.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(learned) = state.learned.clone().filter(|l| l.head == head) {
                return (Some(learned), "scored".into());
            }
            if let Some((tried, why)) = &state.failed {
                if *tried == head {
                    return (None, why.clone());
                }
            }
            if state.training.as_deref() == Some(head.as_str()) && !wait {
                return (state.learned.clone(), "training".into());
            }
            state.training = Some(head.clone());
        }
        let learn = {
            let folder = folder.clone();
            let root = root.to_path_buf();
            move || {
                let started = std::time::Instant::now();
                let learned = risk::learn(&root);
                let mut state = folder.risk.lock().unwrap_or_else(PoisonError::into_inner);
                state.training = None;
                match learned {
                    Ok(learned) => {
                        info!(
                            "{}: learned {} commits of history in {:?}",
                            root.display(),
                            learned.model.as_ref().map_or(0, |m| m.commits),
                            started.elapsed()
                        );
                        state.learned = Some(Arc::new(learned));
                    }
                    Err(why) => {
                        warn!("{}: no risk model: {why}", root.display());
                        state.failed = Some((head, "no git history".into()));
                    }
                }
            }
        };
        if wait {
            learn();
            return self.learned_history(root, false);
        }
        let previous = folder
            .risk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .learned
            .clone();
        self.runtime.spawn_blocking(learn);
        (previous, "training".into())
    }
}
