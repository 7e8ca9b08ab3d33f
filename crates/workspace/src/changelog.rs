//! The change log of every definition, read from git: which commits changed a function's
//! body, when, by whom and why. Commits are read in-process (`codecontext_memory::git`,
//! gix) and once: a folder's store keeps each commit read with the definitions it
//! changed, and the next read starts from the commits not read yet, so that a new commit
//! costs its own diff. Each changed file is parsed before and after
//! (`codecontext_memory::changes`), and the line diff is mapped onto both versions'
//! definitions.
//!
//! Commits may also carry decisions: a `Decision:` trailer (with `Rationale:` or `Why:`
//! beside it) becomes a decision anchored to the definitions the commit changed, with
//! their fingerprints as that commit left them.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use codecontext_analysis::{Analysis, NavTarget};
use codecontext_memory::{
    changes::{self, Outline},
    git::{CommitInfo, FileChange, Repo},
    style::StyleCounts,
};
use codecontext_store::{ChangeLog, ChangeRow, CommitChanges, CommitRow, KeyRename};
use codecontext_syntax::Limits;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tracing::{info, warn};

use crate::{
    memory::{Skipped, TrailerDecision},
    Result, Workspace, WorkspaceError,
};

/// The most commits the first read of a folder goes back.
pub const MAX_COMMITS: usize = 2000;
/// A file bigger than this is not parsed for the change log.
const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Commits read between two writes to the store: an interrupted read keeps what it did.
const BATCH: usize = 128;
/// How long recall waits for the change log to catch up before it answers with what is
/// read (the read goes on).
pub const RECALL_WAIT: Duration = Duration::from_secs(2);

/// How far a folder's log was read, as kept in its store.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogState {
    /// The first read finished: later reads stop at the commits read.
    complete: bool,
    /// How the rows were derived ([`LOG_VERSION`]); rows of another version are read
    /// again.
    #[serde(default)]
    version: u32,
}

/// The way changes are mapped onto definitions; raised when it changes (2: overloads
/// told apart, renames followed).
const LOG_VERSION: u32 = 2;

/// What one read did.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogRead {
    /// Whether the folder is in a git repository.
    pub repository: bool,
    /// Commits read now.
    pub commits: usize,
    /// Whether every commit up to [`MAX_COMMITS`] back is read.
    pub complete: bool,
    pub elapsed_ms: u64,
    /// Trailers that were not read as decisions, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
    /// Decisions found in commit messages.
    #[serde(skip)]
    pub decisions: Vec<TrailerDecision>,
}

/// One value per folder, made on first use, for the life of the process.
type PerFolder<T> = OnceLock<Mutex<HashMap<PathBuf, Arc<T>>>>;

fn of_folder<T: Default>(map: &'static PerFolder<T>, root: &Path) -> Arc<T> {
    map.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(root.to_path_buf())
        .or_default()
        .clone()
}

/// One read at a time per folder.
fn folder_lock(root: &Path) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: PerFolder<tokio::sync::Mutex<()>> = OnceLock::new();
    of_folder(&LOCKS, root)
}

/// The key of a definition of the graph: its containers' names and its own, joined with
/// `.`, as `codecontext_memory::changes` names definitions.
pub fn key_of(analysis: &Analysis<'_>, t: &NavTarget) -> Option<String> {
    let g = analysis.graph();
    let loc = g.locate(t.entity?)?;
    let f = g.file_data(loc.file)?;
    let keys = changes::keys_of(
        f.entities
            .iter()
            .map(|e| (e.kind, g.name(e.name), e.container.map(|c| c as usize))),
    );
    keys.into_iter().nth(loc.index as usize)
}

/// An anchor of a decision record, to fingerprint as the commit that added the record
/// left its code.
pub(crate) struct AnchorThen {
    /// The record's path, relative to the folder.
    pub record: String,
    /// The anchor's qualified name.
    pub name: String,
    /// Its file, relative to the folder.
    pub file: String,
    /// Its key in the change log (see [`key_of`]).
    pub key: String,
}

/// The fingerprints of anchors at the commits that added their records: (record, name,
/// file, fingerprint), for those whose record is committed and whose definition existed
/// then. Blocking (reads git).
pub(crate) fn prints_then(
    root: &Path,
    anchors: Vec<AnchorThen>,
) -> Vec<(
    String,
    String,
    String,
    codecontext_memory::anchor::Fingerprint,
)> {
    let Ok(Some(repo)) = Repo::discover(root) else {
        return Vec::new();
    };
    let prefix = root
        .strip_prefix(repo.work_tree())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let in_repo = |rel: &str| {
        if prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{prefix}/{rel}")
        }
    };
    let limits = Limits::default();
    let mut commits: HashMap<String, Option<String>> = HashMap::new();
    let mut outlines: HashMap<(String, String), Outline> = HashMap::new();
    let mut out = Vec::new();
    for a in anchors {
        let commit = commits
            .entry(a.record.clone())
            .or_insert_with(|| match repo.introduced(&in_repo(&a.record), MAX_COMMITS) {
                Ok(found) => found.map(|c| c.id),
                Err(e) => {
                    warn!("who added {} is not known: {e}", a.record);
                    None
                }
            })
            .clone();
        let Some(commit) = commit else {
            continue;
        };
        let Some(lang) = codecontext_lang::language_for_path(Path::new(&a.file)) else {
            continue;
        };
        let outline = outlines
            .entry((commit.clone(), a.file.clone()))
            .or_insert_with(
                || match repo.text_at(&commit, &in_repo(&a.file), MAX_FILE_BYTES) {
                    Ok(Some(text)) => changes::outline(lang, &text, &limits),
                    _ => Arc::default(),
                },
            );
        if let Some(d) = outline.iter().find(|d| d.key == a.key) {
            out.push((a.record, a.name, a.file, d.fingerprint));
        }
    }
    out
}

/// Outlines of file versions by content hash: a version is parsed once, though it is the
/// new side of one commit and the old side of the next. Kept per folder between reads:
/// the versions the last batch used, and each file's newest version read, which is the
/// old side of the next commit that changes it (so that a new commit parses its new
/// versions only).
#[derive(Default)]
struct Outlines {
    by_hash: Mutex<HashMap<u64, Outline>>,
    used: Mutex<HashSet<u64>>,
    /// Per path: the commit time and hash of its newest version read.
    newest: Mutex<HashMap<String, (i64, u64)>>,
}

impl Outlines {
    /// The folder's cache.
    fn of(root: &Path) -> Arc<Outlines> {
        static CACHES: PerFolder<Outlines> = OnceLock::new();
        of_folder(&CACHES, root)
    }

    /// The outline of `text`, a version of `path`; `at_ms`, when it is the version a
    /// commit made at that time left.
    fn get(&self, path: &str, text: &str, at_ms: Option<i64>) -> Option<Outline> {
        let lang = codecontext_lang::language_for_path(Path::new(path))?;
        let hash = codecontext_store::content_hash(text.as_bytes());
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash);
        if let Some(at_ms) = at_ms {
            let mut newest = self.newest.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = newest.entry(path.to_string()).or_insert((at_ms, hash));
            if at_ms > slot.0 {
                *slot = (at_ms, hash);
            }
        }
        let cached = self
            .by_hash
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&hash)
            .cloned();
        if let Some(o) = cached {
            return Some(o);
        }
        let outline = changes::outline(lang, text, &Limits::default());
        self.by_hash
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(hash, outline.clone());
        Some(outline)
    }

    /// Forgets the versions that were not used since the last call and are no file's
    /// newest.
    fn keep_used(&self) {
        let mut keep =
            std::mem::take(&mut *self.used.lock().unwrap_or_else(PoisonError::into_inner));
        keep.extend(
            self.newest
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .values()
                .map(|(_, hash)| *hash),
        );
        self.by_hash
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|hash, _| keep.contains(hash));
    }
}

/// `path` (relative to the work tree) relative to the folder at `prefix`, if inside it.
fn in_folder(prefix: &str, path: &str) -> Option<String> {
    if prefix.is_empty() {
        return Some(path.to_string());
    }
    path.strip_prefix(prefix)?
        .strip_prefix('/')
        .map(str::to_string)
}

/// What a commit did to one file.
struct FileRead {
    /// Its rename (old, new), relative to the folder.
    renamed: Option<(String, String)>,
    key_renames: Vec<KeyRename>,
    changes: Vec<ChangeRow>,
    /// The definitions it touched that are still there, as it left them.
    touched_now: Vec<(String, changes::Defined)>,
    /// How the lines it added are written: (language, counts).
    style: Option<(String, StyleCounts)>,
}

/// What a change did to one file's definitions; None when a side could not be read
/// (binary, too big: that is not a deletion) or the file is outside the folder.
fn read_file(
    prefix: &str,
    change: FileChange,
    at_ms: i64,
    outlines: &Outlines,
) -> Option<FileRead> {
    let FileChange {
        old_path,
        new_path,
        old_text,
        new_text,
    } = change;
    let old_rel = old_path.as_deref().and_then(|p| in_folder(prefix, p));
    let new_rel = new_path.as_deref().and_then(|p| in_folder(prefix, p));
    let mut out = FileRead {
        renamed: None,
        key_renames: Vec::new(),
        changes: Vec::new(),
        touched_now: Vec::new(),
        style: None,
    };
    if let (Some(o), Some(n)) = (&old_rel, &new_rel) {
        if o != n {
            out.renamed = Some((o.clone(), n.clone()));
        }
    }
    let old_side = match (&old_path, &old_text) {
        (Some(p), Some(t)) => outlines.get(p, t, None).map(|o| (t.as_str(), o)),
        _ => None,
    };
    let new_side = match (&new_path, &new_text) {
        (Some(p), Some(t)) => outlines.get(p, t, Some(at_ms)).map(|o| (t.as_str(), o)),
        _ => None,
    };
    if (old_path.is_some() && old_side.is_none()) || (new_path.is_some() && new_side.is_none()) {
        // Still a rename, though its definitions are not known.
        return out.renamed.is_some().then_some(out);
    }
    let Some(path) = new_rel.clone().or(old_rel.clone()) else {
        return out.renamed.is_some().then_some(out);
    };
    let diff = changes::touched(
        old_side.as_ref().map(|(t, o)| (*t, o)),
        new_side.as_ref().map(|(t, o)| (*t, o)),
    );
    out.key_renames = diff
        .renamed
        .into_iter()
        .map(|(old_key, new_key)| KeyRename {
            path: path.clone(),
            old_key,
            new_key,
        })
        .collect();
    // How the author writes: the lines they added, the names they gave.
    if let (Some(lang), Some(text)) = (
        new_path
            .as_deref()
            .and_then(|p| codecontext_lang::language_for_path(Path::new(p))),
        &new_text,
    ) {
        let mut counts = StyleCounts::default();
        let mut wanted = diff.inserted.iter().peekable();
        counts.measure(
            &lang.config.name,
            text.lines().enumerate().filter_map(|(i, line)| {
                while wanted.next_if(|w| (**w as usize) < i).is_some() {}
                wanted.next_if(|w| **w as usize == i).map(|_| line)
            }),
        );
        for t in diff.touched.iter().filter(|t| t.how == changes::How::Added) {
            let name = t.key.rsplit('.').next().unwrap_or(&t.key);
            let name = name.split('#').next().unwrap_or(name);
            if let Some(style) = codecontext_assess::Style::of(name) {
                counts.name(t.kind.as_str(), style.as_str());
            }
        }
        out.style = Some((lang.config.name.clone(), counts));
    }
    for t in diff.touched {
        if t.how != changes::How::Deleted {
            if let Some((_, outline)) = &new_side {
                if let Some(d) = outline.iter().find(|d| d.key == t.key) {
                    out.touched_now.push((path.clone(), d.clone()));
                }
            }
        }
        out.changes.push(ChangeRow {
            path: if t.how == changes::How::Deleted {
                old_rel.clone().unwrap_or_else(|| path.clone())
            } else {
                path.clone()
            },
            key: t.key,
            kind: t.kind.as_str().to_string(),
            how: t.how.as_str().to_string(),
            added: t.added,
            removed: t.removed,
        });
    }
    Some(out)
}

/// What one commit changed, read from the repository (merges: nothing, they change
/// nothing of their own against their first parent that a change log would show).
fn read_commit(
    repo: &Repo,
    prefix: &str,
    commit: &CommitInfo,
    outlines: &Outlines,
) -> std::result::Result<(CommitChanges, Vec<(String, changes::Defined)>), String> {
    let mut out = CommitChanges {
        commit: CommitRow {
            id: commit.id.clone(),
            at_ms: commit.time_ms,
            author: commit.author.clone(),
            email: commit.email.clone(),
            message: commit.message.clone(),
            parents: commit.parents.clone(),
        },
        changes: Vec::new(),
        renames: Vec::new(),
        key_renames: Vec::new(),
        style: String::new(),
    };
    let mut styles: std::collections::BTreeMap<String, StyleCounts> = Default::default();
    let mut touched_now: Vec<(String, changes::Defined)> = Vec::new();
    if commit.parents.len() > 1 {
        out.style = "{}".to_string();
        return Ok((out, touched_now));
    }
    let wanted = |path: &str| {
        in_folder(prefix, path).is_some()
            && codecontext_lang::language_for_path(Path::new(path)).is_some()
    };
    let files = repo
        .changes(commit, &wanted, MAX_FILE_BYTES)
        .map_err(|e| e.to_string())?;
    // The files one at a time on each core: a commit is read alone when it is new, and
    // parsing its files is most of its cost.
    let read: Vec<FileRead> = files
        .into_par_iter()
        .filter_map(|change| read_file(prefix, change, commit.time_ms, outlines))
        .collect();
    for file in read {
        out.renames.extend(file.renamed);
        out.key_renames.extend(file.key_renames);
        out.changes.extend(file.changes);
        touched_now.extend(file.touched_now);
        if let Some((lang, counts)) = file.style {
            styles.entry(lang).or_default().add(&counts);
        }
    }
    styles.retain(|_, counts| !counts.is_empty());
    out.style = serde_json::to_string(&styles).unwrap_or_else(|_| "{}".to_string());
    Ok((out, touched_now))
}

impl Workspace {
    /// Reads the commits of the folder's repository not read yet into its store (the
    /// last [`MAX_COMMITS`] the first time), and the decisions their messages carry.
    pub async fn read_changelog(&self, root: &Path) -> Result<LogRead> {
        const OP: &str = "recall";
        let started = std::time::Instant::now();
        let lock = folder_lock(root);
        let _one = lock.lock().await;
        let store = self.memory_store(OP, root).await?;
        let log = store
            .embedded()
            .ok_or_else(|| WorkspaceError::internal("this store keeps no change log"))?;
        let fail = |e: codecontext_store::StoreError| {
            WorkspaceError::internal(format!("codecontext.{OP}: the change log: {e}"))
        };
        let mut state: LogState = log
            .log_state()
            .await
            .map_err(fail)?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        if state.version != LOG_VERSION {
            // Read by an older build, or never: whatever is there is read again.
            log.clear_log().await.map_err(fail)?;
            state = LogState {
                complete: false,
                version: LOG_VERSION,
            };
            let kept = serde_json::to_string(&state).unwrap_or_default();
            log.set_log_state(kept).await.map_err(fail)?;
        }
        let known: HashSet<String> = log
            .known_commits()
            .await
            .map_err(fail)?
            .into_iter()
            .collect();
        let folder = root.to_path_buf();
        let complete_before = state.complete;
        let listed = tokio::task::spawn_blocking(move || {
            let Some(repo) = Repo::discover(&folder).map_err(|e| e.to_string())? else {
                return Ok::<_, String>(None);
            };
            let prefix = folder
                .strip_prefix(repo.work_tree())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let commits = if complete_before {
                repo.new_commits(&|id| known.contains(id), MAX_COMMITS)
            } else {
                repo.new_commits(&|_| false, MAX_COMMITS)
                    .map(|all| all.into_iter().filter(|c| !known.contains(&c.id)).collect())
            }
            .map_err(|e| e.to_string())?;
            Ok(Some((Arc::new(repo), prefix, commits)))
        })
        .await
        .map_err(|e| WorkspaceError::internal(format!("codecontext.{OP}: {e}")))?
        .map_err(|e| WorkspaceError::internal(format!("codecontext.{OP}: git: {e}")))?;
        let Some((repo, prefix, commits)) = listed else {
            return Ok(LogRead::default());
        };
        let mut read = LogRead {
            repository: true,
            ..LogRead::default()
        };
        let outlines = Outlines::of(root);
        for batch in commits.chunks(BATCH) {
            if self.is_stopping() {
                break;
            }
            let (repo, prefix, cache, batch_owned) = (
                repo.clone(),
                prefix.clone(),
                outlines.clone(),
                batch.to_vec(),
            );
            let done = tokio::task::spawn_blocking(move || {
                batch_owned
                    .par_iter()
                    .map(|c| (c.clone(), read_commit(&repo, &prefix, c, &cache)))
                    .collect::<Vec<_>>()
            })
            .await
            .map_err(|e| WorkspaceError::internal(format!("codecontext.{OP}: {e}")))?;
            let mut rows = Vec::with_capacity(done.len());
            for (commit, result) in done {
                match result {
                    Ok((row, touched)) => {
                        match crate::memory::trailer_decision(&commit, &touched) {
                            Ok(Some(d)) => read.decisions.push(d),
                            Ok(None) => {}
                            Err(reason) => read.skipped.push(Skipped {
                                path: format!("commit {}", &commit.id[..commit.id.len().min(12)]),
                                reason,
                            }),
                        }
                        rows.push(row);
                    }
                    Err(e) => warn!("commit {} not read for the change log: {e}", commit.id),
                }
            }
            read.commits += rows.len();
            outlines.keep_used();
            log.put_commits(rows).await.map_err(fail)?;
        }
        read.complete = !self.is_stopping();
        if read.complete && !complete_before {
            let state = serde_json::to_string(&LogState {
                complete: true,
                version: LOG_VERSION,
            })
            .unwrap_or_default();
            log.set_log_state(state).await.map_err(fail)?;
        }
        read.elapsed_ms = started.elapsed().as_millis() as u64;
        if read.commits > 0 {
            info!(
                "change log of {}: {} commits read in {} ms",
                root.display(),
                read.commits,
                read.elapsed_ms
            );
        }
        Ok(read)
    }

    /// Every rename the change log read, oldest first: (old path, new path).
    pub(crate) async fn renames(&self, root: &Path) -> Result<Vec<(String, String)>> {
        let store = self.memory_store("recall", root).await?;
        let Some(log) = store.embedded() else {
            return Ok(Vec::new());
        };
        log.renames().await.map_err(|e| {
            WorkspaceError::internal(format!("codecontext.recall: the change log: {e}"))
        })
    }

    /// A file's path (relative to the folder) and every older name it had, back through
    /// the renames the change log read.
    pub(crate) async fn names_of_file(&self, root: &Path, rel: &str) -> Result<Vec<String>> {
        let renames = self.renames(root).await?;
        let mut paths = vec![rel.to_string()];
        loop {
            let before = paths.len();
            for (old, new) in &renames {
                if paths.contains(new) && !paths.contains(old) {
                    paths.push(old.clone());
                }
            }
            if paths.len() == before {
                break;
            }
        }
        Ok(paths)
    }

    /// The commits that changed a definition, newest first: in its file, or in the files
    /// that file was renamed from.
    pub async fn changes_of(&self, root: &Path, t: &NavTarget, limit: u32) -> Result<Vec<Value>> {
        let Some(key) = key_of(&self.read().analysis(), t) else {
            return Ok(Vec::new());
        };
        let store = self.memory_store("recall", root).await?;
        let Some(log) = store.embedded() else {
            return Ok(Vec::new());
        };
        let fail = |e: codecontext_store::StoreError| {
            WorkspaceError::internal(format!("codecontext.recall: the change log: {e}"))
        };
        let paths = self.names_of_file(root, &t.path).await?;
        // Back through renames of the definition or of its containers: every older key.
        let key_renames = log.key_renames(paths.clone()).await.map_err(fail)?;
        let mut keys = vec![key.clone()];
        loop {
            let before = keys.len();
            for r in &key_renames {
                let older: Vec<String> = keys
                    .iter()
                    .filter_map(|k| changes::rebase(k, &r.new_key, &r.old_key))
                    .collect();
                for k in older {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            if keys.len() == before || keys.len() > 64 {
                break;
            }
        }
        let mut found = Vec::new();
        for k in keys {
            let name = k.rsplit('.').next().unwrap_or(&k).to_string();
            found.extend(
                log.changes_of(name, k, paths.clone(), limit)
                    .await
                    .map_err(fail)?,
            );
        }
        found.sort_by_key(|f| std::cmp::Reverse(f.0.at_ms));
        found.dedup_by(|a, b| a.0.id == b.0.id);
        // The definition's history begins where it was last added: an older one of the
        // same name that was deleted before is another definition.
        if let Some(born) = found.iter().position(|(_, ch)| ch.how == "added") {
            found.truncate(born + 1);
        }
        found.truncate(limit as usize);
        Ok(found
            .into_iter()
            .map(|(c, ch)| {
                json!({
                    "commit": c.id,
                    "atMs": c.at_ms,
                    "author": c.author,
                    "email": c.email,
                    "summary": c.message.lines().next().unwrap_or(""),
                    "how": ch.how,
                    "added": ch.added,
                    "removed": ch.removed,
                    "path": ch.path,
                    "key": ch.key,
                })
            })
            .collect())
    }
}

/// Tests whose duration series are searched for shifts, per symbol.
const MAX_TESTS_PER_SYMBOL: usize = 10;

impl Workspace {
    /// Where the verification times of edits to a definition shifted (`wall_ms` of the
    /// `verify` series, oldest first), each shift with the commits made between the last
    /// point before it and the first after (those that changed the definition first),
    /// and, for a gain, the decisions about it made in that window: optimizations that
    /// were applied. The same for the durations of the tests that ran when it was
    /// verified (`tests`: those with a shift).
    pub async fn performance_of(&self, root: &Path, t: &NavTarget) -> Result<Value> {
        let verify = self
            .perf_history(crate::perf::PerfOf::Symbol(t.qualified_name.clone()), 1000)
            .await?;
        // The tests its verifications ran.
        let runs = self
            .history(
                crate::history::HistoryOf::Symbol(t.qualified_name.clone()),
                50,
            )
            .await?;
        let mut tests: Vec<String> = Vec::new();
        for r in runs.iter().filter(|r| r.root == root) {
            for test in r.run.detail["tests"].as_array().into_iter().flatten() {
                if let Some(name) = test["name"].as_str() {
                    if !tests.iter().any(|t| t == name) && tests.len() < MAX_TESTS_PER_SYMBOL {
                        tests.push(name.to_string());
                    }
                }
            }
        }
        let mut series = vec![(None, verify, "wall_ms")];
        for name in tests {
            let points = self
                .perf_history(crate::perf::PerfOf::Test(name.clone()), 1000)
                .await?;
            series.push((Some(name), points, "duration_ms"));
        }
        // What every shift is told against: the definition's own commits, the decisions
        // about it. Read once, and only if some series shifted.
        let mut context: Option<(HashSet<String>, Vec<Value>)> = None;
        let mut answer =
            json!({ "series": "verify.wall_ms", "points": 0, "shifts": [], "tests": [] });
        for (test, mut points, field) in series {
            points.retain(|p| p.field(field).is_some());
            points.sort_by_key(|p| p.at_ms);
            let values: Vec<f64> = points.iter().filter_map(|p| p.field(field)).collect();
            let found = codecontext_memory::shift::shifts(&values);
            let mut shifts = Vec::new();
            if !found.is_empty() {
                if context.is_none() {
                    let mine: HashSet<String> = self
                        .changes_of(root, t, 10_000)
                        .await?
                        .iter()
                        .filter_map(|c| c["commit"].as_str().map(str::to_string))
                        .collect();
                    let decisions = self
                        .recall_anchored(root, &t.qualified_name)
                        .await
                        .unwrap_or_default();
                    context = Some((mine, decisions));
                }
                if let Some((mine, decisions)) = &context {
                    for s in found {
                        shifts.push(
                            self.shift_answer(root, &points, &s, mine, decisions)
                                .await?,
                        );
                    }
                }
            }
            match test {
                None => {
                    answer["points"] = json!(values.len());
                    answer["shifts"] = json!(shifts);
                }
                Some(name) if !shifts.is_empty() => {
                    if let Some(tests) = answer["tests"].as_array_mut() {
                        tests.push(json!({
                            "test": name,
                            "series": "test.duration_ms",
                            "points": values.len(),
                            "shifts": shifts,
                        }));
                    }
                }
                Some(_) => {}
            }
        }
        Ok(answer)
    }

    /// One shift of a series: its levels, the commits made across it (the definition's
    /// first) and, for a gain, the decisions made in that window.
    async fn shift_answer(
        &self,
        root: &Path,
        points: &[codecontext_store::Point],
        s: &codecontext_memory::shift::Shift,
        mine: &HashSet<String>,
        decisions: &[Value],
    ) -> Result<Value> {
        let (after_ms, until_ms) = (points[s.index - 1].at_ms, points[s.index].at_ms);
        let store = self.memory_store("recall", root).await?;
        let mut commits = match store.embedded() {
            Some(log) => log
                .commits_between(after_ms, until_ms)
                .await
                .map_err(|e| WorkspaceError::internal(format!("codecontext.recall: {e}")))?,
            None => Vec::new(),
        };
        // The commits that changed the definition first, newest first within each.
        commits.sort_by_key(|c| (!mine.contains(&c.id), std::cmp::Reverse(c.at_ms)));
        let applied: Vec<&Value> = if s.change < 0.0 {
            decisions
                .iter()
                .filter(|d| {
                    d["validFromMs"]
                        .as_i64()
                        .is_some_and(|v| v > after_ms && v <= until_ms)
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(json!({
            "afterMs": after_ms,
            "untilMs": until_ms,
            "before": s.before,
            "after": s.after,
            "change": s.change,
            "pValue": s.p_value,
            "commits": commits.iter().take(10).map(|c| json!({
                "commit": c.id,
                "atMs": c.at_ms,
                "author": c.author,
                "summary": c.message.lines().next().unwrap_or(""),
                "changedSymbol": mine.contains(&c.id),
            })).collect::<Vec<_>>(),
            "appliedOptimizations": applied.iter().map(|d| json!({
                "id": d["id"], "text": d["text"],
            })).collect::<Vec<_>>(),
        }))
    }
}

/// In-folder paths, for tests.
#[cfg(test)]
mod tests {
    use super::in_folder;

    #[test]
    fn paths_are_made_relative_to_the_folder() {
        assert_eq!(in_folder("", "a/b.py").as_deref(), Some("a/b.py"));
        assert_eq!(in_folder("sub", "sub/b.py").as_deref(), Some("b.py"));
        assert_eq!(in_folder("sub", "subway/b.py"), None);
        assert_eq!(in_folder("sub", "other/b.py"), None);
    }
}
