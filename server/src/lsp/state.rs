//! State shared by the request handlers, the applier thread (which applies document and
//! workspace changes strictly in arrival order) and the indexer thread.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard,
        RwLockWriteGuard,
    },
};

use codecontext_analysis::{AnalysisHost, FileId, PositionEncoding};
use codecontext_store::Store;
use serde_json::Value;
use tokio::sync::watch;
use tower_lsp_server::{
    lsp_types::{Diagnostic, Uri},
    Client,
};

use super::config::Settings;

/// What the client can do and what was negotiated at `initialize`.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub encoding: PositionEncoding,
    pub settings: Settings,
    /// `window.workDoneProgress`.
    pub progress: bool,
    /// `workspace.didChangeWatchedFiles.dynamicRegistration`.
    pub watch_dynamic: bool,
    /// `textDocument.documentSymbol.hierarchicalDocumentSymbolSupport`.
    pub hierarchical_symbols: bool,
    /// `textDocument.definition.linkSupport`.
    pub definition_links: bool,
    /// `initialize` has been answered; notifications before it are dropped.
    pub initialized: bool,
}

impl Default for Session {
    fn default() -> Session {
        Session {
            encoding: PositionEncoding::Utf16,
            settings: Settings::default(),
            progress: false,
            watch_dynamic: false,
            hierarchical_symbols: false,
            definition_links: false,
            initialized: false,
        }
    }
}

/// Work for the applier thread, in arrival order.
pub(crate) enum Work {
    /// A notification that changes state (`textDocument/did*`, `workspace/didChange*`,
    /// `initialized`), with its sequence number.
    Notification {
        seq: u64,
        method: String,
        params: Option<Value>,
    },
    /// Workspace folders from `initialize`: registered before any other message.
    Folders(Vec<PathBuf>),
    /// Paths changed on disk, seen by our own watcher (for clients that cannot watch).
    Disk(Vec<PathBuf>),
    Stop,
}

pub(crate) struct Shared {
    host: RwLock<AnalysisHost>,
    session: Mutex<Session>,
    work: Mutex<mpsc::Sender<Work>>,
    /// Sequence number of the last state-changing notification received.
    enqueued: AtomicU64,
    /// Sequence number of the last one applied.
    applied: watch::Sender<u64>,
    pub shutdown_requested: AtomicBool,
    /// Set when the server exits: background threads stop at their next step.
    pub stopping: AtomicBool,
    pub client: OnceLock<Client>,
    pub runtime: OnceLock<tokio::runtime::Handle>,
    /// Per open document: the URI, the version, and a counter that makes diagnostics
    /// wait until typing pauses.
    pub documents: Mutex<HashMap<FileId, OpenDocument>>,
    verify_diagnostics: Mutex<HashMap<PathBuf, Vec<Diagnostic>>>,
    /// The open store of each workspace folder (index and run history).
    stores: Mutex<HashMap<PathBuf, Arc<dyn Store>>>,
    /// Each folder's performance series (its store, and InfluxDB when configured).
    pub series: Mutex<HashMap<PathBuf, Arc<super::perf::SeriesSink>>>,
    /// Each folder's links to the team's graph database and cache.
    team: Mutex<HashMap<PathBuf, Arc<super::team::TeamLinks>>>,
    /// Each folder's team backends' configuration, read once.
    pub storage_configs: Mutex<HashMap<PathBuf, codecontext_config::StorageConfig>>,
    /// The backends the user has been told are down (once each per session).
    pub backend_down_told: Arc<Mutex<HashSet<&'static str>>>,
    /// Our own file watcher, when the client cannot watch files for us.
    pub watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

#[derive(Clone, Debug)]
pub(crate) struct OpenDocument {
    pub uri: Uri,
    pub version: i32,
    pub generation: u64,
}

impl Shared {
    pub fn new(work: mpsc::Sender<Work>) -> Shared {
        Shared {
            host: RwLock::new(AnalysisHost::default()),
            session: Mutex::new(Session::default()),
            work: Mutex::new(work),
            enqueued: AtomicU64::new(0),
            applied: watch::Sender::new(0),
            shutdown_requested: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            client: OnceLock::new(),
            runtime: OnceLock::new(),
            documents: Mutex::new(HashMap::new()),
            verify_diagnostics: Mutex::new(HashMap::new()),
            stores: Mutex::new(HashMap::new()),
            team: Mutex::new(HashMap::new()),
            storage_configs: Mutex::default(),
            backend_down_told: Arc::default(),
            series: Mutex::new(HashMap::new()),
            watcher: Mutex::new(None),
        }
    }

    // A panic while a lock was held has already been reported as that request's
    // error; the data behind the lock is still consistent at the granularity of one
    // host method, so serving goes on with it.
    pub fn read(&self) -> RwLockReadGuard<'_, AnalysisHost> {
        self.host.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, AnalysisHost> {
        self.host.write().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Test failures of the last verification, by file, until the file next changes.
    pub fn verify_diagnostics(&self) -> MutexGuard<'_, HashMap<PathBuf, Vec<Diagnostic>>> {
        self.verify_diagnostics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The store of a workspace folder, if it is open.
    pub fn store(&self, root: &Path) -> Option<Arc<dyn Store>> {
        let stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        stores.get(root).cloned()
    }

    /// Keeps a folder's store open for the session; a store opened meanwhile by
    /// someone else wins, so that there is one per folder.
    pub fn team(&self, root: &Path) -> Option<Arc<super::team::TeamLinks>> {
        let team = self.team.lock().unwrap_or_else(PoisonError::into_inner);
        team.get(root).cloned()
    }

    pub fn keep_team(
        &self,
        root: &Path,
        links: Arc<super::team::TeamLinks>,
    ) -> Arc<super::team::TeamLinks> {
        let mut team = self.team.lock().unwrap_or_else(PoisonError::into_inner);
        team.entry(root.to_path_buf()).or_insert(links).clone()
    }

    /// Every folder's store.
    pub fn stores(&self) -> Vec<Arc<dyn Store>> {
        let stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        stores.values().cloned().collect()
    }

    pub fn keep_store(&self, root: &Path, store: Arc<dyn Store>) -> Arc<dyn Store> {
        let mut stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        stores.entry(root.to_path_buf()).or_insert(store).clone()
    }

    /// Closes a removed folder's store and series (when their last users let go).
    pub fn drop_store(&self, root: &Path) {
        let mut stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        stores.remove(root);
        drop(stores);
        let mut team = self.team.lock().unwrap_or_else(PoisonError::into_inner);
        team.remove(root);
        drop(team);
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        series.remove(root);
        drop(series);
        let mut configs = self
            .storage_configs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        configs.remove(root);
    }

    pub fn documents(&self) -> MutexGuard<'_, HashMap<FileId, OpenDocument>> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a state-changing notification; called in arrival order.
    pub fn enqueue(&self, method: String, params: Option<Value>) {
        let seq = self.enqueued.fetch_add(1, Ordering::SeqCst) + 1;
        self.send(Work::Notification {
            seq,
            method,
            params,
        });
    }

    pub fn send(&self, work: Work) {
        let sender = self.work.lock().unwrap_or_else(PoisonError::into_inner);
        // The applier only goes away when the server stops.
        let _ = sender.send(work);
    }

    pub fn mark_applied(&self, seq: u64) {
        self.applied.send_replace(seq);
    }

    /// Waits until every state-changing notification received so far is applied, so
    /// that a request sees the documents as the client last described them.
    pub async fn caught_up(&self) {
        let want = self.enqueued.load(Ordering::SeqCst);
        let mut rx = self.applied.subscribe();
        let _ = rx.wait_for(|applied| *applied >= want).await;
    }

    pub fn client(&self) -> Option<&Client> {
        self.client.get()
    }

    /// Runs a future on the server's runtime from a background thread, without waiting.
    pub fn spawn<F>(&self, future: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        if let Some(rt) = self.runtime.get() {
            rt.spawn(future);
        }
    }

    /// Runs a future on the server's runtime from a background thread and waits for it.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> Option<F::Output> {
        self.runtime.get().map(|rt| rt.block_on(future))
    }
}
