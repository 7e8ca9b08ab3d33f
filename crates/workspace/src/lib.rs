//! The workspace: what every door into CodeContext (the LSP server, the MCP server, the
//! CLI) shares, in plain Rust types and without a protocol.
//!
//! A [`Workspace`] holds the analysis host (one lock: changes are applied under the write
//! lock, queries read under the read lock) and its folders. Each [`Folder`] owns what
//! belongs to one root: its team backends' configuration, its store (the embedded
//! SQLite store, with PostgreSQL behind it in team mode), its performance series, and
//! its links to the team's graph database and cache. The operations are methods:
//! indexing with a warm start ([`index`]), the run history ([`history`]), performance
//! history ([`perf`]), the shared graph and its walks ([`team`]), running a snippet
//! ([`execute`]) and verifying an edit ([`verify`]). Whatever the user should see goes
//! through the adapter's [`Notifier`].

pub mod assess;
pub mod blocking;
pub mod changelog;
pub mod context;
pub mod error;
pub mod execute;
pub mod history;
pub mod index;
pub mod memory;
pub mod notify;
pub mod perf;
pub mod places;
pub mod report;
pub mod rules;
pub mod search;
pub mod settings;
mod store;
pub mod style;
pub mod team;
pub mod usages;
pub mod verify;

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, MutexGuard, PoisonError,
    },
    time::Duration,
};

use codecontext_analysis::AnalysisHost;
use codecontext_store::Store;
use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use tracing::debug;

pub use error::{Result, WorkspaceError};
pub use notify::{Fanout, Level, Notifier, Progress, Silent};
pub use settings::{Settings, SettingsError};

/// One value per folder, set once: the first to be kept wins, so that two tasks opening
/// the same store at once end up sharing one.
pub(crate) struct Slot<T>(Mutex<Option<T>>);

impl<T: Clone> Slot<T> {
    pub(crate) fn get(&self) -> Option<T> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn keep(&self, value: T) -> T {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert(value)
            .clone()
    }
}

impl<T> Default for Slot<T> {
    fn default() -> Slot<T> {
        Slot(Mutex::new(None))
    }
}

/// What belongs to one workspace folder, opened as it is first needed and kept until the
/// folder is removed (then closed when its last user lets go).
#[derive(Default)]
pub struct Folder {
    /// The team backends' configuration, read once.
    pub(crate) config: Slot<codecontext_config::StorageConfig>,
    /// The index store and run log.
    pub(crate) store: Slot<Arc<dyn Store>>,
    /// Held while the store is opened: two openings of one SQLite file at once would
    /// race through its migrations.
    pub(crate) opening: tokio::sync::Mutex<()>,
    /// The performance series (the store, and InfluxDB when configured).
    pub(crate) series: Slot<Arc<perf::SeriesSink>>,
    /// The links to the team's graph database and cache.
    pub(crate) team: Slot<Arc<team::TeamLinks>>,
    /// The folder's history as the risk model learned it.
    pub(crate) risk: Mutex<assess::RiskState>,
    /// The project rules, until a rule file changes.
    pub(crate) rules: Mutex<Option<Arc<codecontext_patterns::rules::Rules>>>,
}

/// The analysis host, the folders and what the user is told; shared by every adapter
/// thread and task.
pub struct Workspace {
    host: RwLock<AnalysisHost>,
    settings: Mutex<Settings>,
    notifier: Arc<dyn Notifier>,
    runtime: tokio::runtime::Handle,
    stopping: AtomicBool,
    folders: Mutex<HashMap<PathBuf, Arc<Folder>>>,
    /// The backends the user has been told are down (once each per session).
    told_down: Arc<Mutex<HashSet<&'static str>>>,
    sandboxes: execute::Sandboxes,
    /// Numbers progress tokens.
    progress_seq: AtomicU64,
    /// Changes applied to the host so far: the index's version, for freshness stamps.
    version: AtomicU64,
    /// Files of registered folders not loaded into the graph yet.
    pub(crate) pending_files: std::sync::atomic::AtomicUsize,
    /// How many clients hold each open document: several clients may share one
    /// workspace (the daemon), and a document goes back to its text on disk only when
    /// the last of them closes it.
    holders: Mutex<HashMap<codecontext_analysis::FileId, u32>>,
    /// Per open document, the rule hits of its top-level items (see `rules.rs`).
    pub(crate) rule_memo: Mutex<HashMap<codecontext_analysis::FileId, rules::Memo>>,
}

/// How current an answer is: the index's version (it grows with every change applied),
/// the files still waiting to be indexed, and the git commit the folder's checkout is at.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Freshness {
    pub index_version: u64,
    pub pending_files: usize,
    /// `HEAD`'s commit, when the folder is in a git checkout.
    pub git_head: Option<String>,
}

/// The host as a query holds it (see [`Workspace::read`]).
pub type HostRead<'a> = RwLockReadGuard<'a, AnalysisHost>;

/// How many entities and references of a document go into the graph under one hold of
/// the write lock while it is opened: about 10 ms of work in a release build.
const OPEN_SLICE: usize = 8192;

/// How many times a client's open of a document is tried when other clients close it
/// while it goes in (see [`Workspace::open_document`]).
const OPEN_TRIES: u32 = 3;

/// Another client opened or closed a document while this one's open of it went in.
struct Overtaken;

impl Workspace {
    /// An empty workspace whose background work runs on `runtime` and whose news go to
    /// `notifier`.
    pub fn new(
        settings: Settings,
        notifier: Arc<dyn Notifier>,
        runtime: tokio::runtime::Handle,
    ) -> Arc<Workspace> {
        let mut host = AnalysisHost::default();
        host.set_limits(settings.limits());
        Arc::new(Workspace {
            host: RwLock::new(host),
            settings: Mutex::new(settings),
            notifier,
            runtime,
            stopping: AtomicBool::new(false),
            folders: Mutex::default(),
            told_down: Arc::default(),
            sandboxes: execute::Sandboxes::default(),
            progress_seq: AtomicU64::new(0),
            version: AtomicU64::new(0),
            pending_files: Default::default(),
            holders: Mutex::default(),
            rule_memo: Mutex::default(),
        })
    }

    // The host's lock is parking_lot's: it is not poisoned by a panic (one while the
    // lock was held has already been reported as that request's error, and the data
    // is consistent at the granularity of one host method), and a writer that works in
    // slices can hand the lock to the readers waiting between them
    // (`RwLockWriteGuard::unlock_fair`), which std's lock cannot.
    /// The host, for queries.
    pub fn read(&self) -> RwLockReadGuard<'_, AnalysisHost> {
        self.host.read()
    }

    /// The host, for changes; every change is a new version of the index.
    pub fn write(&self) -> RwLockWriteGuard<'_, AnalysisHost> {
        let guard = self.host.write();
        self.version.fetch_add(1, Ordering::SeqCst);
        guard
    }

    /// How current an answer about `root` is.
    pub fn freshness(&self, root: &Path) -> Freshness {
        Freshness {
            index_version: self.version.load(Ordering::SeqCst),
            pending_files: self.pending_files.load(Ordering::SeqCst),
            git_head: git_head(root),
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings_lock().clone()
    }

    fn settings_lock(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// New settings; the analysis limits apply to what is parsed from now on.
    pub fn set_settings(&self, settings: Settings) {
        self.write().set_limits(settings.limits());
        *self.settings_lock() = settings;
    }

    pub fn notifier(&self) -> &Arc<dyn Notifier> {
        &self.notifier
    }

    /// Background work stops at its next step.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The workspace folders, in the order they were added.
    pub fn roots(&self) -> Vec<PathBuf> {
        self.read().roots().map(Path::to_path_buf).collect()
    }

    /// The deepest workspace folder holding `path`.
    pub fn root_of(&self, path: &Path) -> Option<PathBuf> {
        self.read()
            .roots()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
            .map(Path::to_path_buf)
    }

    /// What `path` holds now: the open document's text, else the file's on disk.
    pub fn current_text(&self, path: &Path) -> std::result::Result<String, String> {
        let host = self.read();
        if let Some(doc) = host.file_id(path).and_then(|id| host.document(id)) {
            return Ok(doc.text().to_string());
        }
        drop(host);
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A client opens `path` with `text`, which wins over the file on disk (and over
    /// another client's text) until it changes again. `None` when the file is outside
    /// the workspace folders or not in a supported language. `first` says whether this
    /// client did not hold it open already (an editor that opens a document twice still
    /// closes it once).
    pub fn open_document(
        &self,
        path: &Path,
        mut text: String,
        first: bool,
    ) -> Option<codecontext_analysis::FileId> {
        // Between two slices another client may open the same document (its text is
        // the latest, and wins: this client holds the document as it is now) or close
        // it (this client's text goes in again, from the start).
        let mut tries = 0;
        let id = loop {
            tries += 1;
            let text = if tries < OPEN_TRIES {
                text.clone()
            } else {
                std::mem::take(&mut text)
            };
            match self.open_once(path, text)? {
                Ok(id) => break id,
                Err(Overtaken) => {
                    let host = self.read();
                    let still_open = host.file_id(path).filter(|&id| host.document(id).is_some());
                    if let Some(id) = still_open {
                        break id;
                    }
                    if tries == OPEN_TRIES {
                        return None;
                    }
                }
            }
        };
        if first {
            *self.holders_lock().entry(id).or_default() += 1;
        }
        Some(id)
    }

    /// One try of [`Workspace::open_document`]: `None` outside the folders or the
    /// languages, `Overtaken` when another client opened or closed the document before
    /// all of it was in.
    fn open_once(
        &self,
        path: &Path,
        text: String,
    ) -> Option<std::result::Result<codecontext_analysis::FileId, Overtaken>> {
        // Parsed outside the lock: a slow document (deeply nested, huge) does not stop
        // the answers about the others meanwhile.
        let plan = self.read().plan_open(path)?;
        let opened = plan.parse(text);
        // Put in a slice at a time, handing the lock to waiting readers in between.
        let mut host = self.write();
        let mut step = host.begin_open(opened, OPEN_SLICE)?;
        loop {
            match step {
                codecontext_analysis::OpenStep::Done(id) => return Some(Ok(id)),
                codecontext_analysis::OpenStep::Gone => return Some(Err(Overtaken)),
                codecontext_analysis::OpenStep::More(opening) => {
                    RwLockWriteGuard::unlock_fair(host);
                    host = self.write();
                    step = host.open_step(opening, OPEN_SLICE);
                }
            }
        }
    }

    /// Applies a client's changes to an open document: reparsed and extracted on a
    /// copy outside the lock, then put in. The changes of one document must come one
    /// call at a time (a server applies them in order).
    pub fn change_document(
        &self,
        id: codecontext_analysis::FileId,
        changes: &[codecontext_analysis::DocumentChange],
        encoding: codecontext_analysis::PositionEncoding,
    ) -> std::result::Result<(), codecontext_analysis::ChangeError> {
        let editing = self.read().document_to_edit(id)?;
        let edited = codecontext_analysis::edit_document(editing, changes, encoding)?;
        self.write().finish_change(edited)?;
        Ok(())
    }

    /// A client closes (or, leaving, drops) a document it held open; the file on disk
    /// counts again once no client holds it. Whether it did.
    pub fn close_document(&self, id: codecontext_analysis::FileId) -> bool {
        let last = {
            let mut holders = self.holders_lock();
            match holders.get_mut(&id) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                _ => {
                    holders.remove(&id);
                    true
                }
            }
        };
        if last {
            self.rule_memo
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&id);
            // The file on disk is read again outside the lock.
            let path = self.write().forget_document(id);
            if let Some(path) = path {
                self.reload(&path);
            }
        }
        last
    }

    fn holders_lock(&self) -> MutexGuard<'_, HashMap<codecontext_analysis::FileId, u32>> {
        self.holders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The folder state of `root`, made on first use.
    pub(crate) fn folder(&self, root: &Path) -> Arc<Folder> {
        let mut folders = self.folders.lock().unwrap_or_else(PoisonError::into_inner);
        folders.entry(root.to_path_buf()).or_default().clone()
    }

    /// Removes a workspace folder: its files leave the graph, and its store, series and
    /// team links close when their last users let go. The number of files dropped.
    pub fn remove_folder(&self, root: &Path) -> usize {
        let n = self.write().remove_root(root);
        self.folders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(root);
        n
    }

    /// Waits, at most `limit` for each kind, for writes on their way to a shared
    /// backend; whatever does not arrive stays queued on disk for the next start.
    pub async fn settle(&self, limit: Duration) {
        let folders: Vec<Arc<Folder>> = self
            .folders
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for folder in &folders {
            if let Some(store) = folder.store.get() {
                if !store.settle(limit).await {
                    debug!("{}: writes stay queued", store.describe());
                }
            }
        }
        perf::settle(&folders, limit).await;
    }

    /// Runs a future on the workspace's runtime from a thread outside it, and waits.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Runs a future on the workspace's runtime without waiting.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(future);
    }

    /// Starts work-done progress of a kind (`index`, `verify`, `team`, ...).
    pub async fn begin_progress(
        &self,
        kind: &str,
        title: &str,
        message: Option<String>,
        cancellable: bool,
    ) -> Progress {
        let n = self.progress_seq.fetch_add(1, Ordering::Relaxed);
        Progress::begin(
            self.notifier.clone(),
            // The process id too: a client that outlives a daemon hears from the next one.
            format!("codecontext/{kind}/{}-{n}", std::process::id()),
            title,
            message,
            cancellable,
        )
        .await
    }

    /// Tells the user that `backend` is down: in the log each time, to the user once per
    /// backend and session.
    pub(crate) async fn backend_down(&self, backend: &'static str, message: String) {
        store::tell_down(&self.notifier, &self.told_down, backend, message).await
    }
}

/// The commit `HEAD` names in the git checkout holding `root`, read from `.git` (a
/// detached head, a branch's loose ref, or `packed-refs`); `None` outside git.
fn git_head(root: &Path) -> Option<String> {
    let git = root
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|g| g.exists())?;
    // A worktree or submodule: `.git` is a file naming the real folder.
    let git = if git.is_file() {
        let text = std::fs::read_to_string(&git).ok()?;
        let target = text.strip_prefix("gitdir:")?.trim();
        git.parent()?.join(target)
    } else {
        git
    };
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(name) = head.strip_prefix("ref:") else {
        return Some(head.to_string());
    };
    let name = name.trim();
    // A worktree's branches live in the common folder.
    let common = std::fs::read_to_string(git.join("commondir"))
        .ok()
        .map(|c| git.join(c.trim()))
        .unwrap_or_else(|| git.clone());
    for dir in [&git, &common] {
        if let Ok(id) = std::fs::read_to_string(dir.join(name)) {
            return Some(id.trim().to_string());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, r)| *r == name)
        .map(|(id, _)| id.to_string())
}

/// A workspace of the folder `root`, indexed and kept in memory (not persisted), with
/// the runtime it needs; for tests.
#[cfg(test)]
pub(crate) fn indexed_folder(root: &Path) -> (tokio::runtime::Runtime, Arc<Workspace>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let settings = Settings {
        persist: false,
        ..Settings::default()
    };
    let workspace = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
    let job = workspace.register_folder(root).unwrap();
    workspace.index_folder(job).unwrap();
    (runtime, workspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace of one folder holding `file` with `text`, indexed, kept in memory;
    /// the runtime and the folder live as long as the test holds them.
    fn indexed(
        file: &str,
        text: &str,
    ) -> (
        tokio::runtime::Runtime,
        tempfile::TempDir,
        PathBuf,
        Arc<Workspace>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().canonicalize().unwrap().join(file);
        std::fs::write(&path, text).unwrap();
        let (runtime, workspace) = indexed_folder(path.parent().unwrap());
        (runtime, dir, path, workspace)
    }

    /// Closing a changed document brings back the file as it is on disk (read outside
    /// the lock, since it may be as slow as any document), also when it changed on disk
    /// while it was open; a file changed on disk meanwhile is left to the document.
    #[test]
    fn a_closed_document_gives_way_to_the_file_on_disk() {
        let (_runtime, _dir, path, workspace) = indexed("a.py", "def on_disk(): pass\n");
        let names = |w: &Workspace| -> Vec<String> {
            let host = w.read();
            let analysis = host.analysis();
            let id = host.file_id(&path).expect("indexed");
            analysis
                .outline(id)
                .iter()
                .map(|item| item.target.name.to_string())
                .collect()
        };
        assert_eq!(names(&workspace), ["on_disk"]);

        let id = workspace
            .open_document(&path, "def typed(): pass\n".into(), true)
            .unwrap();
        std::fs::write(&path, "def saved(): pass\n").unwrap();
        workspace.changed_on_disk(&path, false);
        assert_eq!(names(&workspace), ["typed"], "the open document wins");

        assert!(workspace.close_document(id));
        assert_eq!(
            names(&workspace),
            ["saved"],
            "the disk wins once it is closed"
        );
        assert!(workspace.read().document(id).is_none());
    }

    /// A second client opens a big document while the first's open of it goes in a
    /// slice at a time: the first used to get nothing (its open "gone"), hold nothing,
    /// and lose the document when the second closed it. Both hold it now, with the
    /// latest text, until both have closed it.
    #[test]
    fn two_clients_opening_one_big_document_both_hold_it() {
        let (_runtime, _dir, path, workspace) = indexed("big.py", "");
        // 40,000 definitions: five slices of the graph's lock.
        let big: String = (0..40_000).map(|i| format!("def f{i}(): pass\n")).collect();
        let small = "def g(): pass\n";
        let (first, second) = std::thread::scope(|s| {
            let first = s.spawn(|| workspace.open_document(&path, big, true));
            let second = s.spawn(|| {
                // Once the first client's document is in (its chunks still going in:
                // the lock is handed to this reader between slices), open it too.
                let is_open = || {
                    let host = workspace.read();
                    host.file_id(&path)
                        .is_some_and(|id| host.document(id).is_some())
                };
                while !is_open() {
                    std::thread::yield_now();
                }
                workspace.open_document(&path, small.to_string(), true)
            });
            (first.join().unwrap(), second.join().unwrap())
        });
        let id = second.expect("the second client holds the document");
        assert_eq!(first, Some(id), "the first client holds it too");
        let text = |w: &Workspace| w.read().document(id).map(|d| d.text().to_string());
        assert_eq!(
            text(&workspace).as_deref(),
            Some(small),
            "the latest open wins"
        );
        assert!(!workspace.close_document(id), "one client still holds it");
        assert_eq!(text(&workspace).as_deref(), Some(small));
        assert!(workspace.close_document(id), "the last client let go");
        assert_eq!(text(&workspace), None);
    }

    #[test]
    fn git_head_reads_a_branch_a_packed_ref_a_detached_head_and_a_worktree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(git_head(root), None, "outside git");
        let git = root.join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git.join("refs/heads/main"), "1111\n").unwrap();
        let sub = root.join("src/deep");
        std::fs::create_dir_all(&sub).unwrap();
        assert_eq!(git_head(&sub).as_deref(), Some("1111"), "from a subfolder");

        std::fs::remove_file(git.join("refs/heads/main")).unwrap();
        std::fs::write(
            git.join("packed-refs"),
            "# pack-refs with: peeled\n2222 refs/heads/main\n",
        )
        .unwrap();
        assert_eq!(git_head(root).as_deref(), Some("2222"), "packed");

        std::fs::write(git.join("HEAD"), "3333\n").unwrap();
        assert_eq!(git_head(root).as_deref(), Some("3333"), "detached");

        // A worktree: `.git` is a file pointing into the main checkout's folder.
        let wt = root.join("wt");
        let admin = git.join("worktrees/wt");
        std::fs::create_dir_all(&admin).unwrap();
        std::fs::write(admin.join("HEAD"), "ref: refs/heads/feature\n").unwrap();
        std::fs::write(admin.join("commondir"), "../..\n").unwrap();
        std::fs::write(git.join("refs/heads/feature"), "4444\n").unwrap();
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", admin.display())).unwrap();
        assert_eq!(git_head(&wt).as_deref(), Some("4444"), "worktree");
    }
}
