//! Assessing a proposed edit (see `codecontext-assess`): the edit, as a unified diff
//! against the files on disk or new contents by path, becomes each file's text before
//! and after, and is assessed against the analysis on the blocking pool, within the
//! request's time budget. Nothing is written or run.

use std::path::PathBuf;

use codecontext_analysis::cancel;
use codecontext_assess::{Assessment, Change};

use crate::{
    blocking::{cancellable, Ended},
    verify::Edit,
    Result, Workspace, WorkspaceError,
};

impl Workspace {
    /// Assesses `edit` in the folder `root` (by default, the one the edit is in).
    pub async fn assess(
        self: &std::sync::Arc<Self>,
        edit: Edit,
        root: Option<PathBuf>,
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
        let ws = self.clone();
        let budget = self.settings().request_budget();
        match cancellable(move || {
            let host = ws.read();
            cancel::within(budget, || {
                codecontext_assess::assess(&host.analysis(), &root, &changes)
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
