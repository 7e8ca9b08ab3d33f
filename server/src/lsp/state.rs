//! State shared by the request handlers, the applier thread (which applies document and
//! workspace changes strictly in arrival order) and the indexer thread: the workspace
//! (the protocol-free core), and what only the protocol knows about: the client's
//! capabilities, the open documents' URIs and versions, the notifications still queued.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc, Arc, Mutex, MutexGuard, PoisonError,
    },
};

use codecontext_analysis::{FileId, PositionEncoding};
use codecontext_workspace::Workspace;
use serde_json::Value;
use tokio::sync::watch;
use tower_lsp_server::{
    lsp_types::{Diagnostic, Uri},
    Client,
};

use super::notifier::LspNotifier;

/// What the client can do and what was negotiated at `initialize`.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub encoding: PositionEncoding,
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
    /// A document's notification that went on in the background is applied (see
    /// `applier.rs`): its document's next ones may go.
    Finished {
        uri: String,
    },
    Stop,
}

pub(crate) struct Shared {
    /// The protocol-free core: the analysis host and the folders.
    pub ws: Arc<Workspace>,
    /// Where the workspace's messages and progress go: this server's client.
    pub notifier: Arc<LspNotifier>,
    session: Mutex<Session>,
    work: Mutex<mpsc::Sender<Work>>,
    /// Sequence number of the last state-changing notification received.
    enqueued: AtomicU64,
    /// Sequence number of the last one applied, or going on in the background.
    applied: watch::Sender<u64>,
    /// Notifications going on in the background or waiting behind one that does, by
    /// sequence number, with their document's URI: requests about that document wait
    /// for them, the others answer from the state before them.
    deferred: Mutex<BTreeMap<u64, String>>,
    /// Bumped whenever a deferred notification is applied.
    settled: watch::Sender<u64>,
    pub shutdown_requested: AtomicBool,
    /// Per open document: the URI, the version, and a counter that makes diagnostics
    /// wait until typing pauses.
    pub documents: Mutex<HashMap<FileId, OpenDocument>>,
    verify_diagnostics: Mutex<HashMap<PathBuf, Vec<Diagnostic>>>,
    /// Our own file watcher, when the client cannot watch files for us.
    pub watcher: Mutex<Option<notify::RecommendedWatcher>>,
    /// The workspace is the daemon's, shared with other clients: it outlives the
    /// session, which releases the documents it held when it ends.
    pub shares_workspace: bool,
    /// The daemon's first indexing of its folder (shown to this client as progress,
    /// since the daemon may have begun it before the client came).
    pub daemon_indexed: Option<watch::Receiver<bool>>,
}

#[derive(Clone, Debug)]
pub(crate) struct OpenDocument {
    pub uri: Uri,
    pub version: i32,
    pub generation: u64,
}

impl Shared {
    pub fn new(work: mpsc::Sender<Work>, ws: Arc<Workspace>, notifier: Arc<LspNotifier>) -> Shared {
        Shared {
            ws,
            notifier,
            session: Mutex::new(Session::default()),
            work: Mutex::new(work),
            enqueued: AtomicU64::new(0),
            applied: watch::Sender::new(0),
            deferred: Mutex::new(BTreeMap::new()),
            settled: watch::Sender::new(0),
            shutdown_requested: AtomicBool::new(false),
            documents: Mutex::new(HashMap::new()),
            verify_diagnostics: Mutex::new(HashMap::new()),
            watcher: Mutex::new(None),
            shares_workspace: false,
            daemon_indexed: None,
        }
    }

    /// The host, for reading (through the workspace).
    pub fn read(&self) -> codecontext_workspace::HostRead<'_> {
        self.ws.read()
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

    /// Notification `seq`, about the document `uri`, goes on in the background (or
    /// waits behind one of the same document that does).
    pub fn defer(&self, seq: u64, uri: &str) {
        self.deferred_lock().insert(seq, uri.to_string());
    }

    /// Deferred notification `seq` is applied.
    pub fn settle(&self, seq: u64) {
        self.deferred_lock().remove(&seq);
        self.settled.send_modify(|n| *n += 1);
    }

    fn deferred_lock(&self) -> MutexGuard<'_, BTreeMap<u64, String>> {
        self.deferred.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every state-changing notification received so far is applied, so
    /// that a request sees the documents as the client last described them; except
    /// that a document's notifications that went on in the background (a slow parse)
    /// are waited for only by requests about that document (`uri`).
    pub async fn caught_up(&self, uri: Option<&Uri>) {
        let want = self.enqueued.load(Ordering::SeqCst);
        let mut settled = self.settled.subscribe();
        let mut rx = self.applied.subscribe();
        let _ = rx.wait_for(|applied| *applied >= want).await;
        let Some(uri) = uri else {
            return;
        };
        loop {
            let waiting = self
                .deferred_lock()
                .range(..=want)
                .any(|(_, deferred)| deferred == uri.as_str());
            if !waiting || settled.changed().await.is_err() {
                return;
            }
        }
    }

    pub fn client(&self) -> Option<&Client> {
        self.notifier.client()
    }

    /// Runs a future on the server's runtime, without waiting.
    pub fn spawn<F>(&self, future: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.ws.spawn(future);
    }
}
