//! Context questions as every door asks them: one JSON shape (`ContextRequest`) read by
//! the CLI, the MCP tool `context_for_task` and the LSP request `codecontext/context`, so
//! that the three answer the same question the same way.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use codecontext_analysis::{AnalysisHost, FileId};
use codecontext_context::{context, map, ContextAnswer, ContextQuery, History, Target};
use serde::Deserialize;

use crate::places;

/// The default budget: a few functions with their bodies, and the skeletons around them.
pub const DEFAULT_BUDGET: usize = 4000;

/// A context question. Every target given counts: a position, symbols, files, a diff,
/// a task in words; none, with `map`, asks for the project's map.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextRequest {
    /// `path:line:col`, 1-based, the column in characters.
    #[serde(default)]
    pub position: Option<String>,
    /// Qualified names, or unique suffixes of them.
    #[serde(default)]
    pub symbols: Vec<String>,
    /// Paths, relative to the workspace folder or absolute.
    #[serde(default)]
    pub files: Vec<String>,
    /// A unified diff against the files as they are.
    #[serde(default)]
    pub diff: Option<String>,
    /// The task in words.
    #[serde(default)]
    pub task: Option<String>,
    /// In o200k tokens; 4000 when absent.
    #[serde(default)]
    pub budget: Option<usize>,
    /// The project's map instead: its most central symbols as skeletons.
    #[serde(default)]
    pub map: bool,
}

/// The targets a request names, resolved against the index; `extra` are targets the
/// caller resolved itself (an editor's position).
pub fn targets(host: &AnalysisHost, request: &ContextRequest) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    if let Some(position) = &request.position {
        let (file, offset) = places::resolve(host, position).map_err(|e| e.to_string())?;
        targets.push(Target::Position { file, offset });
    }
    targets.extend(request.symbols.iter().cloned().map(Target::Symbol));
    for file in &request.files {
        targets.push(Target::File(
            places::file_of(host, file).map_err(|e| e.to_string())?,
        ));
    }
    if let Some(diff) = &request.diff {
        targets.push(Target::Diff(diff.clone()));
    }
    if let Some(task) = &request.task {
        targets.push(Target::Task(task.clone()));
    }
    Ok(targets)
}

/// Answers `request` with `targets` (from [`targets`], and any the caller added), with
/// the git history of the folder the first target is in.
pub fn answer(
    host: &AnalysisHost,
    request: &ContextRequest,
    targets: Vec<Target>,
) -> Result<ContextAnswer, String> {
    let budget = request.budget.unwrap_or(DEFAULT_BUDGET);
    let history = history_of(&history_root(host, &targets));
    let analysis = host.analysis();
    if request.map {
        if !targets.is_empty() {
            return Err("`map` is the whole project's: give it no target".into());
        }
        return map(&analysis, &history, budget).map_err(|e| e.to_string());
    }
    if targets.is_empty() {
        return Err(
            "give a target: `position`, `symbols`, `files`, `diff` or `task` (or `map` for the project's map)"
                .into(),
        );
    }
    context(&analysis, &history, &ContextQuery { targets, budget }).map_err(|e| e.to_string())
}

/// The folder whose history counts: the first target's, else the first folder.
fn history_root(host: &AnalysisHost, targets: &[Target]) -> PathBuf {
    let file: Option<FileId> = targets.iter().find_map(|t| match t {
        Target::Position { file, .. } | Target::File(file) => Some(*file),
        _ => None,
    });
    file.and_then(|f| host.root_of(f))
        .or_else(|| host.roots().next().map(PathBuf::from))
        .unwrap_or_default()
}

/// A folder's history is read again after this long (uncommitted changes move its
/// recency), or at once when its HEAD moved.
const HISTORY_TTL: Duration = Duration::from_secs(30);

type HistoryCache = Mutex<Vec<(PathBuf, Option<String>, Instant, Arc<History>)>>;

/// The history of `root`, read at most every [`HISTORY_TTL`] while its HEAD stays: `git
/// log` of 500 commits costs tens of milliseconds on a large repository, more than the
/// rest of an answer.
fn history_of(root: &Path) -> Arc<History> {
    static CACHE: HistoryCache = Mutex::new(Vec::new());
    let head = crate::git_head(root);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, _, history)) = cache
        .iter()
        .find(|(r, h, at, _)| r == root && *h == head && at.elapsed() < HISTORY_TTL)
    {
        return history.clone();
    }
    let history = Arc::new(History::from_git(root));
    cache.retain(|(r, _, _, _)| r != root);
    cache.push((root.to_path_buf(), head, Instant::now(), history.clone()));
    history
}
