//! The run history: every execution and verification is recorded in the store of its
//! workspace folder (when, the edit's hash and diff, the symbols it changed, the verdict
//! and the timings); `codecontext.history` lists them for a symbol or a file, and hover
//! shows a symbol's last verification.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use codecontext_analysis::{Affected, EditScope, FileId};
use codecontext_store::{RunKind, RunRecord, Subject};
use codecontext_verify::FileChange;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::Uri,
};
use tracing::warn;

use super::{apply::open_store, convert::path_of, state::Shared, verify::current_text};

pub(crate) const HISTORY_COMMAND: &str = "codecontext.history";
pub(crate) const HISTORY_REQUEST: &str = "codecontext/history";

/// What an edit is, for the record and for choosing tests.
pub(crate) struct EditFacts {
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

/// The diff of `changes` against what the session holds now, the symbols they change
/// and the tests those reach.
pub(crate) fn edit_facts(shared: &Shared, root: &Path, changes: &[FileChange]) -> EditFacts {
    let mut diff = String::new();
    let mut scopes: Vec<(PathBuf, String, EditScope)> = Vec::new();
    for change in changes {
        let path = root.join(&change.path);
        let old = current_text(shared, &path).ok();
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
    let host = shared.read();
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

/// Text kept in a record: at most 256 KiB, cut on a character boundary.
pub(crate) fn capped(text: &str) -> String {
    const MAX: usize = 256 * 1024;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[cut at {MAX} bytes]", &text[..end])
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Records a run in the store of `root`; its id, or `None` when nothing is persisted.
pub(crate) async fn record(shared: &Shared, root: &Path, run: RunRecord) -> Option<i64> {
    let store = open_store(shared, root).await?;
    match store.record_run(run).await {
        Ok(id) => Some(id),
        Err(e) => {
            warn!("the run was not recorded: {e}");
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryParams {
    /// A qualified name, or a bare name.
    #[serde(default)]
    symbol: Option<String>,
    /// A file URI, or a path relative to a workspace folder.
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    /// Include each run's whole answer.
    #[serde(default)]
    detail: bool,
}

fn invalid(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: format!("codecontext.history: {}", message.into()).into(),
        data: None,
    }
}

/// `codecontext.history`: the runs of a symbol or a file (or all), newest first.
pub(crate) async fn history(shared: &Shared, params: Value) -> Result<Value> {
    let params: HistoryParams =
        serde_json::from_value(if params.is_null() { json!({}) } else { params })
            .map_err(|e| invalid(e.to_string()))?;
    let limit = params.limit.unwrap_or(20).clamp(1, 1000);
    let roots: Vec<PathBuf> = shared.read().roots().map(Path::to_path_buf).collect();
    // Each folder with what to ask its store.
    let mut asks: Vec<(PathBuf, Subject)> = Vec::new();
    match (&params.symbol, &params.file) {
        (Some(_), Some(_)) => return Err(invalid("give a symbol or a file, not both")),
        (Some(symbol), None) => asks.extend(
            roots
                .iter()
                .map(|r| (r.clone(), Subject::Symbol(symbol.clone()))),
        ),
        (None, Some(file)) => {
            let absolute = file
                .parse::<Uri>()
                .ok()
                .filter(|u| u.scheme().is_some_and(|s| s.as_str() == "file"))
                .and_then(|u| path_of(&u));
            match absolute {
                Some(path) => {
                    let root = roots
                        .iter()
                        .filter(|r| path.starts_with(r))
                        .max_by_key(|r| r.as_os_str().len())
                        .ok_or_else(|| {
                            invalid(format!("{file} is outside every workspace folder"))
                        })?;
                    let rel = path.strip_prefix(root).unwrap_or(&path);
                    asks.push((
                        root.clone(),
                        Subject::File(rel.to_string_lossy().replace('\\', "/")),
                    ));
                }
                None => asks.extend(roots.iter().map(|r| {
                    (
                        r.clone(),
                        Subject::File(file.trim_start_matches("./").into()),
                    )
                })),
            }
        }
        (None, None) => asks.extend(roots.iter().map(|r| (r.clone(), Subject::Any))),
    }
    let mut runs: Vec<(PathBuf, RunRecord)> = Vec::new();
    for (root, subject) in asks {
        let Some(store) = open_store(shared, &root).await else {
            continue;
        };
        match store.runs(subject, limit).await {
            Ok(found) => runs.extend(found.into_iter().map(|r| (root.clone(), r))),
            Err(e) => {
                return Err(Error {
                    code: ErrorCode::InternalError,
                    message: format!("codecontext.history: {e}").into(),
                    data: None,
                })
            }
        }
    }
    runs.sort_by(|a, b| b.1.at_ms.cmp(&a.1.at_ms).then(b.1.id.cmp(&a.1.id)));
    runs.truncate(limit as usize);
    let runs: Vec<Value> = runs
        .into_iter()
        .map(|(root, mut run)| {
            if !params.detail {
                run.detail = Value::Null;
            }
            let mut value = serde_json::to_value(run).unwrap_or(Value::Null);
            if !params.detail {
                if let Some(o) = value.as_object_mut() {
                    o.remove("detail");
                }
            }
            value["root"] = json!(root.display().to_string());
            value
        })
        .collect();
    Ok(json!({ "runs": runs }))
}

/// How long ago a time was, for people.
fn ago(at_ms: i64) -> String {
    let s = (now_ms() - at_ms).max(0) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// A line for hover: the last verification of an edit to `symbol`, if any.
pub(crate) async fn last_verification(
    shared: &Shared,
    root: &Path,
    symbol: &str,
) -> Option<String> {
    let store = shared.store(root)?;
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
