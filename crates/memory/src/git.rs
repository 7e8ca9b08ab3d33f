//! A repository's history, read for the memory's per-symbol change log.
//!
//! The change log says which commits changed a symbol's body. This module delivers the
//! raw material: the commits reachable from HEAD that the memory has not processed yet
//! ([`Repo::new_commits`]), and for one commit the files it changed against its first
//! parent, with their text before and after ([`Repo::changes`]). Mapping a file's line
//! hunks onto symbols (parsing both versions) is the caller's work.
//!
//! Reading is incremental: the caller says which commits it already knows, the walk stops
//! at them, and a new commit costs only its own tree diff. The repository is read in
//! process with gix (no `git` child process): it is opened once, and each thread that
//! reads borrows a reader from a small pool, so object and delta caches (and the diff
//! machinery's attribute set-up) survive from one call to the next.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use gix::bstr::{BStr, ByteSlice};
use gix::diff::tree::recorder::Location;
use gix::diff::tree_with_rewrites::ChangeRef;
use gix::objs::TreeRefIter;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;
use gix::ObjectId;

/// How much of a blob is looked at for a NUL byte to call it binary (git looks at 8000
/// bytes).
const BINARY_PROBE_BYTES: usize = 8 * 1024;

/// The decoded-object cache of each reader: trees and commits read by one commit's diff
/// are read again by its neighbour's (a commit's tree is its child's parent tree).
const OBJECT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// What went wrong reading the history. Each message says what was being read; the
/// underlying gix error (with its causes) follows the colon.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Searching for, or opening, the repository failed.
    #[error("cannot open the repository at {path}: {detail}")]
    Open {
        /// The path the search started from.
        path: PathBuf,
        /// What gix said.
        detail: String,
    },
    /// HEAD could not be read or resolved.
    #[error("cannot read HEAD: {detail}")]
    Head {
        /// What gix said.
        detail: String,
    },
    /// The commit walk failed (a missing or corrupt commit on the way).
    #[error("cannot walk the history from {from}: {detail}")]
    Walk {
        /// The commit the walk started from.
        from: String,
        /// What gix said.
        detail: String,
    },
    /// A commit could not be read or decoded.
    #[error("cannot read commit {id}: {detail}")]
    Commit {
        /// The commit's hex id.
        id: String,
        /// What gix said.
        detail: String,
    },
    /// A commit id given by the caller is not a hex object id.
    #[error("`{id}` is not a commit id: {detail}")]
    BadId {
        /// The id as given.
        id: String,
        /// Why it does not parse.
        detail: String,
    },
    /// Diffing a commit's tree against its parent's failed.
    #[error("cannot diff commit {id} against {parent}: {detail}")]
    Diff {
        /// The commit's hex id.
        id: String,
        /// The first parent's hex id, or "the empty tree" for a root commit.
        parent: String,
        /// What gix said.
        detail: String,
    },
    /// A changed file's content could not be read.
    #[error("cannot read {path} (blob {blob}) of commit {commit}: {detail}")]
    Blob {
        /// The file's path in the commit or its parent.
        path: String,
        /// The blob's hex id.
        blob: String,
        /// The commit whose change it is.
        commit: String,
        /// What gix said.
        detail: String,
    },
}

/// A commit, as the memory keeps it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// Full hex id.
    pub id: String,
    /// Full hex ids of its parents, first parent first.
    pub parents: Vec<String>,
    /// Committer time, milliseconds since the epoch.
    pub time_ms: i64,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// The whole message, as UTF-8 (lossy), as stored (usually ending with a newline).
    pub message: String,
}

/// One file a commit changed, against its first parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path before (None when added), relative to the repository's work tree,
    /// `/`-separated. A rename (detected as git does by default: exact and similarity
    /// renames, 50%) has both paths and they differ.
    pub old_path: Option<String>,
    /// Path after (None when deleted), relative to the repository's work tree,
    /// `/`-separated.
    pub new_path: Option<String>,
    /// The text before; None when absent (added), binary (a NUL byte in the first
    /// 8 KiB), over `max_bytes`, or not UTF-8.
    pub old_text: Option<String>,
    /// The text after; None when absent (deleted), binary, over `max_bytes`, or not
    /// UTF-8.
    pub new_text: Option<String>,
}

/// An open repository with a work tree. `Send + Sync`: it may be shared across threads,
/// and calls from several threads run in parallel, each on its own reader.
pub struct Repo {
    shared: gix::ThreadSafeRepository,
    work_tree: PathBuf,
    /// Idle readers, taken by a call and put back when it is done.
    readers: Mutex<Vec<Reader>>,
}

/// One thread's view of the repository, with the caches that make the next call cheap.
struct Reader {
    repo: gix::Repository,
    /// Made on the first diff: it loads the index and the attribute set-up once.
    diff_cache: Option<gix::diff::blob::Platform>,
    tree_state: gix::diff::tree::State,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("git_dir", &self.shared.git_dir())
            .field("work_tree", &self.work_tree)
            .finish_non_exhaustive()
    }
}

/// A file side of a change still to be read: its path and blob.
struct Side {
    path: String,
    blob: ObjectId,
}

/// A change kept by the tree diff, before its texts are read.
struct Pending {
    old: Option<Side>,
    new: Option<Side>,
}

impl Repo {
    /// The repository whose work tree holds `path` (searching upwards, as git does);
    /// Ok(None) when `path` is in no repository. Bare repositories: Ok(None).
    pub fn discover(path: &Path) -> Result<Option<Repo>, GitError> {
        use gix::discover::upwards::Error as Upwards;
        let shared = match gix::ThreadSafeRepository::discover(path) {
            Ok(shared) => shared,
            Err(err) => {
                return match err.downcast_any_ref::<Upwards>() {
                    Some(
                        Upwards::NoGitRepository { .. }
                        | Upwards::NoGitRepositoryWithinCeiling { .. }
                        | Upwards::NoGitRepositoryWithinFs { .. },
                    ) => Ok(None),
                    _ => Err(GitError::Open {
                        path: path.to_path_buf(),
                        detail: describe(&err),
                    }),
                };
            }
        };
        let Some(work_tree) = shared.work_dir().map(Path::to_path_buf) else {
            return Ok(None);
        };
        Ok(Some(Repo {
            shared,
            work_tree,
            readers: Mutex::new(Vec::new()),
        }))
    }

    /// The work tree's root.
    pub fn work_tree(&self) -> &Path {
        &self.work_tree
    }

    /// HEAD's commit id in hex; None when HEAD is unborn (no commit yet).
    pub fn head(&self) -> Result<Option<String>, GitError> {
        let head = self.with_reader(|reader| head_id(&reader.repo))?;
        Ok(head.map(|id| id.to_string()))
    }

    /// Commits reachable from HEAD, newest first by committer time, that are not in
    /// `known` and not reachable only through known ones: the walk does not go past a
    /// commit for which `known(id)` is true. At most `limit` commits. Merge commits are
    /// included (the caller skips their diffs). An unborn HEAD has none.
    pub fn new_commits(
        &self,
        known: &dyn Fn(&str) -> bool,
        limit: usize,
    ) -> Result<Vec<CommitInfo>, GitError> {
        self.with_reader(|reader| walk(&reader.repo, known, limit))
    }

    /// The files `commit` changed against its first parent (against the empty tree for a
    /// root commit), with rename detection, keeping only files for which `wanted(path)`
    /// is true (for a rename, if either path is wanted), each text capped at `max_bytes`.
    ///
    /// Only content changes of files are reported: a change of mode alone is not, and a
    /// side that is not a regular file (a symbolic link, a submodule) counts as absent,
    /// so a file that became a symbolic link reads as deleted. The parent is the one
    /// recorded in the commit object. When that parent is not in the repository (the
    /// boundary commit of a shallow clone), what the commit changed is unknown and the
    /// answer is empty. Changes are ordered by path.
    pub fn changes(
        &self,
        commit: &CommitInfo,
        wanted: &dyn Fn(&str) -> bool,
        max_bytes: usize,
    ) -> Result<Vec<FileChange>, GitError> {
        let id = parse_id(&commit.id)?;
        self.with_reader(|reader| diff(reader, id, wanted, max_bytes))
    }

    /// The commit that added the file at `path` (relative to the work tree) as HEAD has
    /// it: walking first parents back from HEAD, at most `limit` commits, the last one
    /// whose tree holds the path. None when HEAD does not hold it, or it is older than
    /// `limit` commits (or than a shallow clone's boundary).
    pub fn introduced(&self, path: &str, limit: usize) -> Result<Option<CommitInfo>, GitError> {
        self.with_reader(|reader| {
            let repo = &reader.repo;
            let Some(mut at) = head_id(repo)? else {
                return Ok(None);
            };
            if blob_at(repo, at, path)?.is_none() {
                return Ok(None);
            }
            for _ in 0..limit {
                let parent = {
                    let commit = repo.find_commit(at).map_err(|err| GitError::Commit {
                        id: at.to_string(),
                        detail: describe(&err),
                    })?;
                    let first = commit.parent_ids().next().map(|p| p.detach());
                    first
                };
                // The root commit added it; past a shallow clone's boundary, who did is
                // not known.
                let Some(parent) = parent else {
                    return commit_info(repo, at).map(Some);
                };
                if !repo.has_object(parent) {
                    return Ok(None);
                }
                if blob_at(repo, parent, path)?.is_none() {
                    return commit_info(repo, at).map(Some);
                }
                at = parent;
            }
            // Older than `limit`: not known.
            Ok(None)
        })
    }

    /// The text of `path` (relative to the work tree) at `commit`: None when absent, not
    /// a regular file, binary, over `max_bytes` or not UTF-8.
    pub fn text_at(
        &self,
        commit: &str,
        path: &str,
        max_bytes: usize,
    ) -> Result<Option<String>, GitError> {
        let id = parse_id(commit)?;
        self.with_reader(|reader| {
            let Some(blob) = blob_at(&reader.repo, id, path)? else {
                return Ok(None);
            };
            read_side(
                &reader.repo,
                Some(&Side {
                    path: path.to_string(),
                    blob,
                }),
                id,
                max_bytes,
            )
        })
    }

    /// Runs `read` with a reader: an idle one from the pool, or a new one. The reader goes
    /// back to the pool afterwards (not when `read` panics: then it is dropped).
    fn with_reader<T>(&self, read: impl FnOnce(&mut Reader) -> T) -> T {
        let idle = self
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut reader = idle.unwrap_or_else(|| {
            let mut repo = self.shared.to_thread_local();
            repo.object_cache_size_if_unset(OBJECT_CACHE_BYTES);
            Reader {
                repo,
                diff_cache: None,
                tree_state: Default::default(),
            }
        });
        let result = read(&mut reader);
        self.readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(reader);
        result
    }
}

/// The commits of [`Repo::new_commits`], read with `repo`.
fn walk(
    repo: &gix::Repository,
    known: &dyn Fn(&str) -> bool,
    limit: usize,
) -> Result<Vec<CommitInfo>, GitError> {
    let Some(head) = head_id(repo)? else {
        return Ok(Vec::new());
    };
    if limit == 0 {
        return Ok(Vec::new());
    }
    let walk_error = |err: &gix::Error| GitError::Walk {
        from: head.to_string(),
        detail: describe(err),
    };
    let walk = repo
        .rev_walk([head])
        .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .selected(|id| !known(&id.to_string()))
        .map_err(|err| walk_error(&err))?;
    let mut commits = Vec::new();
    for info in walk {
        let info = info.map_err(|err| walk_error(&err))?;
        commits.push(commit_info(repo, info.id)?);
        if commits.len() >= limit {
            break;
        }
    }
    Ok(commits)
}

/// The changes of [`Repo::changes`] for the commit `id`, read with `reader`.
fn diff(
    reader: &mut Reader,
    id: ObjectId,
    wanted: &dyn Fn(&str) -> bool,
    max_bytes: usize,
) -> Result<Vec<FileChange>, GitError> {
    let Reader {
        repo,
        diff_cache,
        tree_state,
    } = reader;

    let commit_error = |id: ObjectId, err: &gix::Error| GitError::Commit {
        id: id.to_string(),
        detail: describe(err),
    };
    let (new_tree, parent) = {
        let object = repo.find_commit(id).map_err(|err| commit_error(id, &err))?;
        let decoded = object.decode().map_err(|err| commit_error(id, &err))?;
        let parent = decoded.parents().next();
        (decoded.tree(), parent)
    };
    let old_tree = match parent {
        None => None,
        Some(parent) => match repo
            .try_find_object(parent)
            .map_err(|err| commit_error(parent, &err))?
        {
            // A shallow clone's boundary: its parent was never fetched.
            None => return Ok(Vec::new()),
            Some(object) => {
                let parent_commit = object
                    .try_into_commit()
                    .map_err(|err| commit_error(parent, &err))?;
                let tree = parent_commit
                    .tree_id()
                    .map_err(|err| commit_error(parent, &err))?;
                Some(tree.detach())
            }
        },
    };

    let diff_error = |err: &gix::Error| GitError::Diff {
        id: id.to_string(),
        parent: parent.map_or_else(|| "the empty tree".to_owned(), |p| p.to_string()),
        detail: describe(err),
    };
    let new_data = tree_data(repo, new_tree).map_err(|err| diff_error(&err))?;
    let old_data = match old_tree {
        Some(tree) => tree_data(repo, tree).map_err(|err| diff_error(&err))?,
        None => Vec::new(),
    };
    let cache = match diff_cache {
        Some(cache) => cache,
        None => diff_cache.insert(
            repo.diff_resource_cache_for_tree_diff()
                .map_err(|err| diff_error(&err))?,
        ),
    };

    let mut pending = Vec::new();
    let kind = repo.object_hash();
    let outcome = gix::diff::tree_with_rewrites(
        TreeRefIter::from_bytes(&old_data, kind),
        TreeRefIter::from_bytes(&new_data, kind),
        cache,
        tree_state,
        &repo.objects,
        |change| {
            if let Some(change) = keep(change, wanted) {
                pending.push(change);
            }
            Ok(std::ops::ControlFlow::Continue(()))
        },
        gix::diff::tree_with_rewrites::Options {
            location: Some(Location::Path),
            rewrites: Some(gix::diff::Rewrites::default()),
        },
    );
    cache.clear_resource_cache_keep_allocation();
    outcome.map_err(|err| diff_error(&gix::Error::from_error(err)))?;

    let mut changes = Vec::with_capacity(pending.len());
    for Pending { old, new } in pending {
        let old_text = read_side(repo, old.as_ref(), id, max_bytes)?;
        let new_text = read_side(repo, new.as_ref(), id, max_bytes)?;
        changes.push(FileChange {
            old_path: old.map(|side| side.path),
            new_path: new.map(|side| side.path),
            old_text,
            new_text,
        });
    }
    changes.sort_by(|a, b| sort_key(a).cmp(sort_key(b)));
    Ok(changes)
}

/// The blob of the regular file at `path` in `commit`'s tree, if there is one.
fn blob_at(
    repo: &gix::Repository,
    commit: ObjectId,
    path: &str,
) -> Result<Option<ObjectId>, GitError> {
    let commit_error = |err: &gix::Error| GitError::Commit {
        id: commit.to_string(),
        detail: describe(err),
    };
    let tree = repo
        .find_commit(commit)
        .map_err(|err| commit_error(&err))?
        .tree()
        .map_err(|err| commit_error(&err))?;
    let entry = tree
        .lookup_entry_by_path(path)
        .map_err(|err| commit_error(&err))?;
    Ok(entry.filter(|e| e.mode().is_blob()).map(|e| e.object_id()))
}

/// HEAD peeled to its commit; None when HEAD is unborn.
fn head_id(repo: &gix::Repository) -> Result<Option<ObjectId>, GitError> {
    let head_error = |err: &gix::Error| GitError::Head {
        detail: describe(err),
    };
    let head = repo.head().map_err(|err| head_error(&err))?;
    let id = head.try_into_peeled_id().map_err(|err| head_error(&err))?;
    Ok(id.map(|id| id.detach()))
}

/// A commit as [`CommitInfo`].
fn commit_info(repo: &gix::Repository, id: ObjectId) -> Result<CommitInfo, GitError> {
    let commit_error = |err: &gix::Error| GitError::Commit {
        id: id.to_string(),
        detail: describe(err),
    };
    let object = repo.find_commit(id).map_err(|err| commit_error(&err))?;
    let commit = object.decode().map_err(|err| commit_error(&err))?;
    let author = commit.author().map_err(|err| commit_error(&err))?.trim();
    let committer = commit.committer().map_err(|err| commit_error(&err))?;
    Ok(CommitInfo {
        id: id.to_string(),
        parents: commit.parents().map(|parent| parent.to_string()).collect(),
        time_ms: committer.seconds().saturating_mul(1000),
        author: lossy(author.name),
        email: lossy(author.email),
        message: lossy(commit.message),
    })
}

/// Keeps a change of the tree diff if it touches a regular file that is wanted.
fn keep(change: ChangeRef<'_>, wanted: &dyn Fn(&str) -> bool) -> Option<Pending> {
    let side = |location: &BStr, mode: gix::object::tree::EntryMode, blob: ObjectId| {
        mode.is_blob().then(|| Side {
            path: lossy(location),
            blob,
        })
    };
    let (old, new) = match change {
        ChangeRef::Addition {
            location,
            entry_mode,
            id,
            ..
        } => (None, side(location, entry_mode, id)),
        ChangeRef::Deletion {
            location,
            entry_mode,
            id,
            ..
        } => (side(location, entry_mode, id), None),
        ChangeRef::Modification {
            location,
            previous_entry_mode,
            previous_id,
            entry_mode,
            id,
        } => {
            if previous_id == id && previous_entry_mode.is_blob() && entry_mode.is_blob() {
                // Only the mode changed: no text changed.
                return None;
            }
            (
                side(location, previous_entry_mode, previous_id),
                side(location, entry_mode, id),
            )
        }
        ChangeRef::Rewrite {
            source_location,
            source_entry_mode,
            source_id,
            entry_mode,
            id,
            location,
            copy,
            ..
        } => {
            let new = side(location, entry_mode, id);
            // Copies are not tracked; were they, the source would be unchanged.
            let old = if copy {
                None
            } else {
                side(source_location, source_entry_mode, source_id)
            };
            (old, new)
        }
    };
    if old.is_none() && new.is_none() {
        return None;
    }
    let is_wanted = |side: &Option<Side>| side.as_ref().is_some_and(|side| wanted(&side.path));
    (is_wanted(&old) || is_wanted(&new)).then_some(Pending { old, new })
}

/// The text of one side of a change, or None (see [`FileChange`]).
fn read_side(
    repo: &gix::Repository,
    side: Option<&Side>,
    commit: ObjectId,
    max_bytes: usize,
) -> Result<Option<String>, GitError> {
    let Some(side) = side else {
        return Ok(None);
    };
    let blob_error = |err: &gix::Error| GitError::Blob {
        path: side.path.clone(),
        blob: side.blob.to_string(),
        commit: commit.to_string(),
        detail: describe(err),
    };
    // The header gives the size without inflating the whole object.
    let header = repo
        .find_header(side.blob)
        .map_err(|err| blob_error(&err))?;
    if header.size() > max_bytes as u64 {
        return Ok(None);
    }
    let mut blob = repo.find_blob(side.blob).map_err(|err| blob_error(&err))?;
    Ok(text(blob.take_data(), max_bytes))
}

/// `data` as text: None when over `max_bytes`, binary, or not UTF-8.
fn text(data: Vec<u8>, max_bytes: usize) -> Option<String> {
    if data.len() > max_bytes {
        return None;
    }
    let probe = &data[..data.len().min(BINARY_PROBE_BYTES)];
    if probe.contains(&0) {
        return None;
    }
    String::from_utf8(data).ok()
}

/// A tree's raw data, for the diff's tree iterators.
fn tree_data(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<u8>, gix::Error> {
    Ok(repo.find_tree(tree)?.detach().data)
}

/// A commit id given by the caller.
fn parse_id(hex: &str) -> Result<ObjectId, GitError> {
    ObjectId::from_hex(hex.as_bytes()).map_err(|err| GitError::BadId {
        id: hex.to_owned(),
        detail: err.to_string(),
    })
}

/// The path a change is ordered by: its new path, or its old one when deleted.
fn sort_key(change: &FileChange) -> &str {
    change
        .new_path
        .as_deref()
        .or(change.old_path.as_deref())
        .unwrap_or_default()
}

/// Bytes from git (paths, names, messages) as a String, invalid UTF-8 replaced.
fn lossy(bytes: &BStr) -> String {
    bytes.to_str_lossy().into_owned()
}

/// A gix error with its causes, as one line: "what failed: why: why".
fn describe(err: &gix::Error) -> String {
    let mut out = String::new();
    for cause in err.iter_errors() {
        let message = cause.to_string();
        if message.is_empty() || out.ends_with(&message) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::process::Command;

    /// A repository in a temporary folder, written with the `git` command line under a
    /// fixed identity, clock and configuration.
    struct Fixture {
        dir: tempfile::TempDir,
        /// The next commit's time, seconds since the epoch.
        clock: Cell<i64>,
    }

    const START: i64 = 1_700_000_000;

    impl Fixture {
        fn new() -> Fixture {
            let fixture = Fixture {
                dir: tempfile::tempdir().unwrap(),
                clock: Cell::new(START),
            };
            fixture.git(&["init", "-q"]);
            fixture
        }

        fn root(&self) -> &Path {
            self.dir.path()
        }

        fn git(&self, args: &[&str]) -> String {
            git_in(self.root(), self.clock.get(), args)
        }

        fn write(&self, path: &str, content: impl AsRef<[u8]>) {
            let path = self.root().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }

        /// Commits everything in the work tree; returns the new commit's id.
        fn commit(&self, message: &str) -> String {
            self.git(&["add", "-A"]);
            self.git(&["commit", "-q", "--allow-empty", "-m", message]);
            self.clock.set(self.clock.get() + 60);
            self.git(&["rev-parse", "HEAD"]).trim().to_owned()
        }

        fn repo(&self) -> Repo {
            Repo::discover(self.root()).unwrap().unwrap()
        }
    }

    fn git_in(dir: &Path, time: i64, args: &[&str]) -> String {
        let date = format!("{time} +0000");
        let output = Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Charles Babbage")
            .env("GIT_COMMITTER_EMAIL", "charles@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn all(_: &str) -> bool {
        true
    }

    fn none(_: &str) -> bool {
        false
    }

    fn commit_by_id(repo: &Repo, id: &str) -> CommitInfo {
        repo.new_commits(&none, usize::MAX)
            .unwrap()
            .into_iter()
            .find(|commit| commit.id == id)
            .unwrap()
    }

    fn change(old: Option<(&str, &str)>, new: Option<(&str, &str)>) -> FileChange {
        FileChange {
            old_path: old.map(|(path, _)| path.to_owned()),
            new_path: new.map(|(path, _)| path.to_owned()),
            old_text: old.map(|(_, text)| text.to_owned()),
            new_text: new.map(|(_, text)| text.to_owned()),
        }
    }

    #[test]
    fn repo_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Repo>();
        assert_send_sync::<GitError>();
    }

    #[test]
    fn discovers_the_repository_from_a_subfolder() {
        let fixture = Fixture::new();
        fixture.write("src/deep/lib.rs", "fn a() {}\n");
        fixture.commit("first");
        let repo = Repo::discover(&fixture.root().join("src/deep"))
            .unwrap()
            .unwrap();
        assert_eq!(
            repo.work_tree().canonicalize().unwrap(),
            fixture.root().canonicalize().unwrap()
        );
    }

    #[test]
    fn no_repository_outside_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        assert!(Repo::discover(&dir.path().join("sub")).unwrap().is_none());
    }

    #[test]
    fn a_bare_repository_is_none() {
        let dir = tempfile::tempdir().unwrap();
        git_in(dir.path(), START, &["init", "-q", "--bare", "store.git"]);
        assert!(Repo::discover(&dir.path().join("store.git"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn an_unborn_head_has_no_commits() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        let repo = fixture.repo();
        assert_eq!(repo.head().unwrap(), None);
        assert!(repo.new_commits(&none, 10).unwrap().is_empty());
    }

    #[test]
    fn commits_come_newest_first_with_their_metadata() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        let first = fixture.commit("first\n\nwith a body");
        fixture.write("a.rs", "fn a() { 1 }\n");
        let second = fixture.commit("second");
        let third = fixture.commit("third, héllo");

        let repo = fixture.repo();
        assert_eq!(repo.head().unwrap().as_deref(), Some(third.as_str()));
        let commits = repo.new_commits(&none, 10).unwrap();
        let ids: Vec<&str> = commits.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, [&third, &second, &first]);

        assert_eq!(
            commits[2],
            CommitInfo {
                id: first.clone(),
                parents: Vec::new(),
                time_ms: START * 1000,
                author: "Ada Lovelace".to_owned(),
                email: "ada@example.com".to_owned(),
                message: "first\n\nwith a body\n".to_owned(),
            }
        );
        assert_eq!(commits[1].parents, std::slice::from_ref(&first));
        assert_eq!(commits[1].time_ms, (START + 60) * 1000);
        assert_eq!(commits[0].parents, std::slice::from_ref(&second));
        assert_eq!(commits[0].message, "third, héllo\n");

        let limited = repo.new_commits(&none, 2).unwrap();
        assert_eq!(limited.len(), 2);
        assert_eq!(limited[0].id, third);
        assert!(repo.new_commits(&none, 0).unwrap().is_empty());
    }

    #[test]
    fn known_commits_stop_the_walk() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        fixture.commit("one");
        fixture.write("a.rs", "fn a() { 2 }\n");
        fixture.commit("two");
        let repo = fixture.repo();

        let mut known = std::collections::HashSet::new();
        for commit in repo.new_commits(&none, usize::MAX).unwrap() {
            known.insert(commit.id);
        }
        assert_eq!(known.len(), 2);
        let is_known = |id: &str| known.contains(id);
        assert!(repo.new_commits(&is_known, 100).unwrap().is_empty());

        // One new commit: exactly one new commit, without walking what is known.
        fixture.write("a.rs", "fn a() { 3 }\n");
        let three = fixture.commit("three");
        let fresh = repo.new_commits(&is_known, 100).unwrap();
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].id, three);
        assert_eq!(repo.head().unwrap(), Some(three));

        // A known commit hides its ancestors even when they are not known themselves.
        let head_only = fresh[0].parents[0].clone();
        let stops_at_two = |id: &str| id == head_only;
        assert_eq!(repo.new_commits(&stops_at_two, 100).unwrap().len(), 1);
    }

    #[test]
    fn a_root_commit_adds_all_its_files() {
        let fixture = Fixture::new();
        fixture.write("src/lib.rs", "pub fn lib() {}\n");
        fixture.write("README.md", "# readme\n");
        let root = fixture.commit("root");
        let repo = fixture.repo();
        let commit = commit_by_id(&repo, &root);
        assert_eq!(
            repo.changes(&commit, &all, 1 << 20).unwrap(),
            [
                change(None, Some(("README.md", "# readme\n"))),
                change(None, Some(("src/lib.rs", "pub fn lib() {}\n"))),
            ]
        );
    }

    #[test]
    fn modifications_additions_and_deletions() {
        let fixture = Fixture::new();
        fixture.write("keep.rs", "fn keep() {}\n");
        fixture.write("gone.rs", "fn gone() {}\n");
        fixture.write("edit.rs", "fn edit() { 1 }\n");
        fixture.commit("before");
        std::fs::remove_file(fixture.root().join("gone.rs")).unwrap();
        fixture.write("edit.rs", "fn edit() { 2 }\n");
        fixture.write("dir/new.rs", "fn new() {}\n");
        let after = fixture.commit("after");

        let repo = fixture.repo();
        let commit = commit_by_id(&repo, &after);
        assert_eq!(
            repo.changes(&commit, &all, 1 << 20).unwrap(),
            [
                change(None, Some(("dir/new.rs", "fn new() {}\n"))),
                change(
                    Some(("edit.rs", "fn edit() { 1 }\n")),
                    Some(("edit.rs", "fn edit() { 2 }\n"))
                ),
                change(Some(("gone.rs", "fn gone() {}\n")), None),
            ]
        );
    }

    #[test]
    fn a_rename_with_a_small_edit_is_a_rename() {
        let body: String = (0..30)
            .map(|i| format!("fn f{i}() -> u32 {{ {i} }}\n"))
            .collect();
        let fixture = Fixture::new();
        fixture.write("old/name.rs", &body);
        fixture.commit("before");
        std::fs::remove_file(fixture.root().join("old/name.rs")).unwrap();
        let edited = body.replace("{ 7 }", "{ 700 }");
        fixture.write("new/name.rs", &edited);
        let renamed = fixture.commit("rename");

        let repo = fixture.repo();
        let commit = commit_by_id(&repo, &renamed);
        assert_eq!(
            repo.changes(&commit, &all, 1 << 20).unwrap(),
            [change(
                Some(("old/name.rs", &body)),
                Some(("new/name.rs", &edited))
            )]
        );
        // Either path being wanted keeps the rename.
        let old_only = |path: &str| path.starts_with("old/");
        assert_eq!(repo.changes(&commit, &old_only, 1 << 20).unwrap().len(), 1);
        let new_only = |path: &str| path.starts_with("new/");
        assert_eq!(repo.changes(&commit, &new_only, 1 << 20).unwrap().len(), 1);
    }

    #[test]
    fn binary_and_oversized_files_have_no_text() {
        let fixture = Fixture::new();
        fixture.write("small.rs", "fn small() {}\n");
        fixture.commit("before");
        let mut binary = b"PNG-like header".to_vec();
        binary.extend_from_slice(&[0, 1, 2, 3]);
        fixture.write("image.bin", &binary);
        fixture.write("big.rs", "x".repeat(2_000));
        fixture.write("latin1.txt", b"caf\xe9\n");
        fixture.write("small.rs", "fn small() { 1 }\n");
        let after = fixture.commit("after");

        let repo = fixture.repo();
        let commit = commit_by_id(&repo, &after);
        let changes = repo.changes(&commit, &all, 1_000).unwrap();
        assert_eq!(
            changes,
            [
                FileChange {
                    old_path: None,
                    new_path: Some("big.rs".to_owned()),
                    old_text: None,
                    new_text: None,
                },
                FileChange {
                    old_path: None,
                    new_path: Some("image.bin".to_owned()),
                    old_text: None,
                    new_text: None,
                },
                FileChange {
                    old_path: None,
                    new_path: Some("latin1.txt".to_owned()),
                    old_text: None,
                    new_text: None,
                },
                change(
                    Some(("small.rs", "fn small() {}\n")),
                    Some(("small.rs", "fn small() { 1 }\n"))
                ),
            ]
        );
        // Under a larger cap the big file has its text.
        let roomy = repo.changes(&commit, &all, 10_000).unwrap();
        assert_eq!(
            roomy[0].new_text.as_deref(),
            Some("x".repeat(2_000).as_str())
        );
    }

    #[test]
    fn wanted_filters_the_files() {
        let fixture = Fixture::new();
        fixture.write("src/a.rs", "fn a() {}\n");
        fixture.write("docs/a.md", "# a\n");
        let root = fixture.commit("root");
        let repo = fixture.repo();
        let commit = commit_by_id(&repo, &root);
        let rust = |path: &str| path.ends_with(".rs");
        assert_eq!(
            repo.changes(&commit, &rust, 1 << 20).unwrap(),
            [change(None, Some(("src/a.rs", "fn a() {}\n")))]
        );
        assert!(repo.changes(&commit, &none, 1 << 20).unwrap().is_empty());
    }

    #[test]
    fn a_merge_commit_has_two_parents() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        let base = fixture.commit("base");
        fixture.git(&["checkout", "-q", "-b", "side"]);
        fixture.write("b.rs", "fn b() {}\n");
        let side = fixture.commit("side");
        fixture.git(&["checkout", "-q", "main"]);
        fixture.write("c.rs", "fn c() {}\n");
        let main = fixture.commit("main");
        fixture.git(&["merge", "-q", "--no-ff", "-m", "merge side", "side"]);
        let merge = fixture.git(&["rev-parse", "HEAD"]).trim().to_owned();

        let repo = fixture.repo();
        let commits = repo.new_commits(&none, 10).unwrap();
        assert_eq!(commits.len(), 4);
        assert_eq!(commits[0].id, merge);
        assert_eq!(commits[0].parents, [main.clone(), side.clone()]);
        assert_eq!(commits[0].message, "merge side\n");
        assert_eq!(commits[3].id, base);

        // Against its first parent, the merge brought in the side's file.
        assert_eq!(
            repo.changes(&commits[0], &all, 1 << 20).unwrap(),
            [change(None, Some(("b.rs", "fn b() {}\n")))]
        );

        // Knowing the main line, the side commit is still new: it is reachable through
        // the unknown merge, and so is the base below it.
        let ids = |known: &dyn Fn(&str) -> bool| -> Vec<String> {
            let commits = repo.new_commits(known, 10).unwrap();
            commits.into_iter().map(|c| c.id).collect()
        };
        let known_main = |id: &str| id == main;
        assert_eq!(
            ids(&known_main),
            [merge.clone(), side.clone(), base.clone()]
        );
        let known_main_and_base = |id: &str| id == main || id == base;
        assert_eq!(ids(&known_main_and_base), [merge, side]);
    }

    #[test]
    fn a_bad_commit_id_is_an_error() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        let root = fixture.commit("root");
        let repo = fixture.repo();
        let mut commit = commit_by_id(&repo, &root);
        commit.id = "not-hex".to_owned();
        let err = repo.changes(&commit, &all, 1 << 20).unwrap_err();
        assert!(matches!(err, GitError::BadId { .. }), "{err}");
        commit.id = "1".repeat(40);
        let err = repo.changes(&commit, &all, 1 << 20).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read commit {}: ", "1".repeat(40))),
            "{err}"
        );
    }

    #[test]
    fn threads_share_one_repo() {
        let fixture = Fixture::new();
        for i in 0..8 {
            fixture.write(&format!("f{i}.rs"), format!("fn f{i}() {{}}\n"));
            fixture.commit(&format!("commit {i}"));
        }
        let repo = fixture.repo();
        let commits = repo.new_commits(&none, 100).unwrap();
        let counts: Vec<usize> = std::thread::scope(|scope| {
            let handles: Vec<_> = commits
                .iter()
                .map(|commit| scope.spawn(|| repo.changes(commit, &all, 1 << 20).unwrap().len()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(counts, vec![1; 8]);
    }

    #[test]
    fn a_shallow_clone_boundary_has_no_changes() {
        let fixture = Fixture::new();
        fixture.write("a.rs", "fn a() {}\n");
        fixture.commit("one");
        fixture.write("a.rs", "fn a() { 2 }\n");
        let two = fixture.commit("two");
        let clones = tempfile::tempdir().unwrap();
        let source = format!("file://{}", fixture.root().display());
        git_in(
            clones.path(),
            START,
            &["clone", "-q", "--depth", "1", &source, "shallow"],
        );

        let repo = Repo::discover(&clones.path().join("shallow"))
            .unwrap()
            .unwrap();
        let commits = repo.new_commits(&none, 10).unwrap();
        assert_eq!(commits.len(), 1);
        assert_eq!(commits[0].id, two);
        assert_eq!(commits[0].parents.len(), 1);
        assert!(repo.changes(&commits[0], &all, 1 << 20).unwrap().is_empty());
    }

    #[test]
    fn the_commit_that_added_a_file_and_a_file_at_a_commit() {
        let fixture = Fixture::new();
        fixture.write("a.txt", "one\n");
        let first = fixture.commit("a");
        fixture.write("docs/adr/0001.md", "# 1. X\n");
        let added = fixture.commit("adr");
        fixture.write("a.txt", "two\n");
        fixture.commit("a again");
        let repo = fixture.repo();
        let found = repo.introduced("docs/adr/0001.md", 100).unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.message.trim()),
            (added.as_str(), "adr")
        );
        assert_eq!(repo.introduced("a.txt", 100).unwrap().unwrap().id, first);
        assert_eq!(
            repo.introduced("a.txt", 1).unwrap(),
            None,
            "older than the limit"
        );
        assert_eq!(repo.introduced("nope.txt", 100).unwrap(), None);
        assert_eq!(
            repo.text_at(&first, "a.txt", 100).unwrap().as_deref(),
            Some("one\n")
        );
        assert_eq!(repo.text_at(&first, "docs/adr/0001.md", 100).unwrap(), None);
        assert_eq!(
            repo.text_at(&first, "docs", 100).unwrap(),
            None,
            "a tree is no file"
        );
    }
}
