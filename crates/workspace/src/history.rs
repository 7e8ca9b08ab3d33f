//! The run history: every execution and verification is recorded in the store of its
//! workspace folder (when, the edit's hash and diff, the symbols it changed, the verdict
//! and the timings); [`Workspace::history`] lists them for a symbol or a file, and
//! [`Workspace::last_verification`] is a symbol's last verification, for hover.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use codecontext_analysis::{Affected, EditScope, FileId};
use codecontext_store::{RunKind, RunRecord, Subject};
use codecontext_verify::FileChange;
use serde_json::{json, Value};
use tracing::warn;

use crate::{Result, Workspace, WorkspaceError};

/// What an edit is, for the record and for choosing tests.
pub struct EditFacts {
    /// The edit as a unified diff of the files it changes.
    pub diff: String,
    /// xxh3 of the diff, in hex.
    pub hash: String,
    /// What it changes in the knowledge graph, and the tests that reach that.
    pub affected: Affected,
}

/// Lines of the old text a patch changes (zero-based, end excluded; an empty range is
/// an insertion before that line).
fn changed_lines(patch: &diffy::Patch<'_, str>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for hunk in patch.hunks() {
        let range = hunk.old_range();
        // diffy's start is 1-based, or the line before an insertion when nothing is
        // removed.
        let mut line = if range.is_empty() {
            range.start()
        } else {
            range.start().saturating_sub(1)
        } as u32;
        for l in hunk.lines() {
            match l {
                diffy::Line::Context(_) => line += 1,
                diffy::Line::Delete(_) => {
                    match out.last_mut() {
                        Some(last) if last.1 == line => last.1 = line + 1,
                        _ => out.push((line, line + 1)),
                    }
                    line += 1;
                }
                diffy::Line::Insert(_) => {
                    if out.last().is_none_or(|last| last.1 != line) {
                        out.push((line, line));
                    }
                }
            }
        }
    }
    out
}

impl Workspace {
    /// The diff of `changes` against what the session holds now, the symbols they change
    /// and the tests those reach.
    pub fn edit_facts(&self, root: &Path, changes: &[FileChange]) -> EditFacts {
        let mut diff = String::new();
        let mut scopes: Vec<(PathBuf, String, EditScope)> = Vec::new();
        for change in changes {
            let path = root.join(&change.path);
            let old = self.current_text(&path).ok();
            let new = change.content.as_deref();
            let mut options = diffy::DiffOptions::new();
            options
                .set_original_filename(if old.is_some() {
                    format!("a/{}", change.path)
                } else {
                    "/dev/null".into()
                })
                .set_modified_filename(if new.is_some() {
                    format!("b/{}", change.path)
                } else {
                    "/dev/null".into()
                });
            let old_text = old.as_deref().unwrap_or("");
            let patch = options.create_patch(old_text, new.unwrap_or(""));
            diff.push_str(&patch.to_string());
            let scope = match new {
                None => EditScope::Whole,
                Some(_) => EditScope::Lines(changed_lines(&patch)),
            };
            scopes.push((path, change.path.clone(), scope));
        }
        let host = self.read();
        let mut edits: Vec<(FileId, EditScope)> = Vec::new();
        let mut unknown = Vec::new();
        for (path, rel, scope) in scopes {
            match host.file_id(&path) {
                Some(file) if host.graph().file_data(file).is_some() => edits.push((file, scope)),
                _ => unknown.push(format!("{rel} is not in the knowledge graph")),
            }
        }
        let mut affected = host.analysis().affected_tests(&edits);
        affected.unknown.extend(unknown);
        EditFacts {
            hash: format!("{:016x}", codecontext_store::content_hash(diff.as_bytes())),
            diff,
            affected,
        }
    }
}

/// Text kept in a record: at most 256 KiB, cut on a character boundary.
pub fn capped(text: &str) -> String {
    const MAX: usize = 256 * 1024;
    if text.len() <= MAX {
        return text.to_string();
    }
    format!(
        "{}\n[cut at {MAX} bytes]",
        &text[..text.floor_char_boundary(MAX)]
    )
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Which runs to list.
#[derive(Clone, Debug)]
pub enum HistoryOf {
    /// Every run.
    Any,
    /// The runs that changed a symbol: a qualified name, or a bare name.
    Symbol(String),
    /// The runs that changed a file: an absolute path (in one folder), or a path
    /// relative to a workspace folder (in any).
    File(PathBuf),
}

impl HistoryOf {
    /// The runs a question asks for: of a symbol, of a file, or (neither) all.
    pub fn of(symbol: Option<String>, file: Option<PathBuf>) -> Result<HistoryOf> {
        match (symbol, file) {
            (Some(_), Some(_)) => Err(WorkspaceError::invalid(
                "codecontext.history: give a symbol or a file, not both",
            )),
            (Some(symbol), None) => Ok(HistoryOf::Symbol(symbol)),
            (None, Some(file)) => Ok(HistoryOf::File(file)),
            (None, None) => Ok(HistoryOf::Any),
        }
    }
}

/// A run, and the folder whose store holds it.
#[derive(Clone, Debug)]
pub struct FolderRun {
    pub root: PathBuf,
    pub run: RunRecord,
}

impl FolderRun {
    /// As JSON: the run's fields and `root`; `detail` (the whole answer) only when asked.
    pub fn to_json(&self, detail: bool) -> Value {
        let mut run = self.run.clone();
        if !detail {
            run.detail = Value::Null;
        }
        let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
        if !detail {
            if let Some(o) = value.as_object_mut() {
                o.remove("detail");
            }
        }
        value["root"] = json!(self.root.display().to_string());
        value
    }
}

impl Workspace {
    /// Records a run in the store of `root`; its id, or `None` when nothing is persisted.
    pub async fn record_run(&self, root: &Path, run: RunRecord) -> Option<i64> {
        let store = self.open_store(root).await?;
        match store.record_run(run).await {
            Ok(id) => Some(id),
            Err(e) => {
                warn!("the run was not recorded: {e}");
                None
            }
        }
    }

    /// The runs of a symbol or a file (or all), newest first, at most `limit` (1 to 1000).
    pub async fn history(&self, of: HistoryOf, limit: u32) -> Result<Vec<FolderRun>> {
        let invalid =
            |message: String| WorkspaceError::invalid(format!("codecontext.history: {message}"));
        let limit = limit.clamp(1, 1000);
        let roots = self.roots();
        // Each folder with what to ask its store.
        let mut asks: Vec<(PathBuf, Subject)> = Vec::new();
        match of {
            HistoryOf::Symbol(symbol) => asks.extend(
                roots
                    .iter()
                    .map(|r| (r.clone(), Subject::Symbol(symbol.clone()))),
            ),
            HistoryOf::File(path) if path.is_absolute() => {
                let root = self.root_of(&path).ok_or_else(|| {
                    invalid(format!(
                        "{} is outside every workspace folder",
                        path.display()
                    ))
                })?;
                let rel = path.strip_prefix(&root).unwrap_or(&path);
                let rel = rel.to_string_lossy().replace('\\', "/");
                asks.push((root, Subject::File(rel)));
            }
            HistoryOf::File(rel) => {
                let rel = rel.to_string_lossy().replace('\\', "/");
                let rel = rel.trim_start_matches("./").to_string();
                asks.extend(
                    roots
                        .iter()
                        .map(|r| (r.clone(), Subject::File(rel.clone()))),
                )
            }
            HistoryOf::Any => asks.extend(roots.iter().map(|r| (r.clone(), Subject::Any))),
        }
        let mut runs: Vec<FolderRun> = Vec::new();
        for (root, subject) in asks {
            let Some(store) = self.open_store(&root).await else {
                continue;
            };
            match store.runs(subject, limit).await {
                Ok(found) => runs.extend(found.into_iter().map(|run| FolderRun {
                    root: root.clone(),
                    run,
                })),
                Err(e) => {
                    return Err(WorkspaceError::internal(format!(
                        "codecontext.history: {e}"
                    )))
                }
            }
        }
        runs.sort_by(|a, b| b.run.at_ms.cmp(&a.run.at_ms).then(b.run.id.cmp(&a.run.id)));
        runs.truncate(limit as usize);
        Ok(runs)
    }
}

/// How long ago a time was, for people.
pub fn ago(at_ms: i64) -> String {
    let s = (now_ms() - at_ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

impl Workspace {
    /// A line for hover: the last verification of an edit to `symbol`, if any.
    pub async fn last_verification(&self, root: &Path, symbol: &str) -> Option<String> {
        let store = self.store(root)?;
        let runs = store
            .runs(Subject::Symbol(symbol.to_string()), 1)
            .await
            .map_err(|e| warn!("hover: {e}"))
            .ok()?;
        let run = runs.into_iter().find(|r| r.kind == RunKind::Verify)?;
        let mut line = format!(
            "Last verified {}: **{}**, {} passed, {} failed",
            ago(run.at_ms),
            run.status.replace('_', " "),
            run.passed,
            run.failed
        );
        let failed: Vec<&str> = run.detail["tests"]
            .as_array()
            .map(|tests| {
                tests
                    .iter()
                    .filter(|t| t["outcome"] == "failed")
                    .filter_map(|t| t["name"].as_str())
                    .take(3)
                    .collect()
            })
            .unwrap_or_default();
        if !failed.is_empty() {
            line.push_str(&format!(
                " ({})",
                failed
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        line.push_str(&format!(" · run {}", run.id));
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_lines_are_in_the_old_text() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nB\nc\nd\ne\nf\ng\nx\nh\n";
        let patch = diffy::create_patch(old, new);
        // `b` replaced (line 1), `x` inserted before `h` (line 7).
        assert_eq!(changed_lines(&patch), [(1, 2), (7, 7)]);
        let patch = diffy::create_patch("", "new\n");
        assert_eq!(changed_lines(&patch), [(0, 0)]);
        let patch = diffy::create_patch("a\nb\n", "a\n");
        assert_eq!(changed_lines(&patch), [(1, 2)]);
    }
}
