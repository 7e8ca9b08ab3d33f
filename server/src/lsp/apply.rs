//! The applier thread applies every state-changing notification in the order it
//! arrived; the indexer thread loads workspace folders in the background, taking the
//! host's lock only to insert each finished batch, so requests keep being answered
//! from what is indexed so far.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    path::{Path, PathBuf},
    sync::{atomic::Ordering, mpsc, Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use codecontext_analysis::{
    decode_snapshot, encode_snapshot, load_batch_reusing, persist,
    workspace::{walk, SourceFile},
    AnalysisHost, DocumentChange, FileId, LoadedBatch, PositionEncoding, ResolveStep, WideLineCol,
};
use codecontext_store::{FileRecord, Opened, SharedStore, SqliteStore, Store};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_lsp_server::lsp_types::{
    notification::Progress as ProgressNotification, request::WorkDoneProgressCreate,
    DidChangeConfigurationParams, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidChangeWatchedFilesRegistrationOptions, DidChangeWorkspaceFoldersParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, FileChangeType, FileSystemWatcher,
    GlobPattern, NumberOrString, ProgressParams, ProgressParamsValue, Registration,
    WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressCreateParams, WorkDoneProgressEnd,
    WorkDoneProgressReport,
};
use tracing::{debug, info, warn};

use super::{
    config::Settings,
    convert::path_of,
    diagnostics,
    state::{OpenDocument, Shared, Work},
};

/// Files per batch while indexing in the server: small enough for smooth progress and
/// short lock holds.
const SERVER_BATCH: usize = 64;

/// Files resolved per hold of the write lock (a few tens of milliseconds).
const RESOLVE_SLICE: usize = 32;

/// Stored files per batch: decoding is cheap, so batches can be larger.
const STORE_BATCH: usize = 512;

/// A folder walked and registered, waiting to be loaded.
pub(crate) struct IndexJob {
    root: PathBuf,
    root_index: u32,
    files: Vec<SourceFile>,
}

pub(crate) fn spawn_applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>) {
    let (jobs_tx, jobs_rx) = mpsc::channel::<IndexJob>();
    let indexer_shared = shared.clone();
    std::thread::Builder::new()
        .name("codecontext-indexer".into())
        .spawn(move || indexer(indexer_shared, jobs_rx))
        .expect("spawn the indexer thread");
    std::thread::Builder::new()
        .name("codecontext-applier".into())
        .spawn(move || applier(shared, work, jobs_tx))
        .expect("spawn the applier thread");
}

fn applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>, jobs: mpsc::Sender<IndexJob>) {
    // Folders from `initialize` are walked at once, so that documents opened right
    // after find their folder; they are loaded once the client is `initialized`.
    let mut waiting: Vec<IndexJob> = Vec::new();
    let mut queue: VecDeque<Work> = VecDeque::new();
    while let Some(item) = queue.pop_front().or_else(|| work.recv().ok()) {
        match item {
            Work::Stop => break,
            Work::Disk(paths) => {
                for path in paths {
                    changed_on_disk(&shared, &path, false);
                }
            }
            Work::Folders(folders) => {
                for folder in folders {
                    if let Some(job) = register_folder(&shared, &folder) {
                        waiting.push(job);
                    }
                }
            }
            Work::Notification {
                mut seq,
                method,
                mut params,
            } => {
                if method == "textDocument/didChange" {
                    seq = coalesce(&work, &mut queue, seq, &mut params);
                }
                let started = Instant::now();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    apply(&shared, &method, params, &mut waiting, &jobs)
                }));
                if outcome.is_err() {
                    warn!("{method}: the change could not be applied (panic); serving goes on");
                }
                debug!("{method} applied in {:?}", started.elapsed());
                shared.mark_applied(seq);
            }
        }
    }
}

/// Folds the `didChange`s of the same document already waiting behind this one into
/// it: one reparse for a burst of keystrokes instead of one each (LSP applies the
/// changes of one notification in order, so this is the same edit). Returns the
/// sequence number of the last one folded in; anything else stays queued, in order.
fn coalesce(
    work: &mpsc::Receiver<Work>,
    queue: &mut VecDeque<Work>,
    mut seq: u64,
    params: &mut Option<Value>,
) -> u64 {
    let Some(p) = params.as_mut() else {
        return seq;
    };
    let uri = p["textDocument"]["uri"].clone();
    if !queue.is_empty() {
        return seq;
    }
    while let Ok(next) = work.try_recv() {
        match next {
            Work::Notification {
                seq: next_seq,
                method,
                params: Some(next_params),
            } if method == "textDocument/didChange"
                && next_params["textDocument"]["uri"] == uri
                && next_params["contentChanges"].is_array()
                && p["contentChanges"].is_array() =>
            {
                let changes = next_params["contentChanges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if let Some(all) = p["contentChanges"].as_array_mut() {
                    all.extend(changes);
                }
                p["textDocument"]["version"] = next_params["textDocument"]["version"].clone();
                seq = next_seq;
            }
            other => {
                queue.push_back(other);
                break;
            }
        }
    }
    seq
}

fn parse<T: DeserializeOwned>(method: &str, params: Option<Value>) -> Option<T> {
    match serde_json::from_value(params.unwrap_or(Value::Null)) {
        Ok(p) => Some(p),
        Err(e) => {
            warn!("{method}: invalid params, ignored: {e}");
            None
        }
    }
}

fn apply(
    shared: &Arc<Shared>,
    method: &str,
    params: Option<Value>,
    waiting: &mut Vec<IndexJob>,
    jobs: &mpsc::Sender<IndexJob>,
) {
    if !shared.session().initialized {
        debug!("{method} before initialize, dropped");
        return;
    }
    match method {
        "initialized" => {
            register_watchers(shared);
            for job in waiting.drain(..) {
                let _ = jobs.send(job);
            }
        }
        "textDocument/didOpen" => {
            let Some(p) = parse::<DidOpenTextDocumentParams>(method, params) else {
                return;
            };
            let doc = p.text_document;
            let Some(path) = path_of(&doc.uri) else {
                info!("didOpen: {} is not a file, ignored", doc.uri.as_str());
                return;
            };
            let opened = shared.write().open_document(&path, doc.text);
            match opened {
                Some(id) => {
                    shared.documents().insert(
                        id,
                        OpenDocument {
                            uri: doc.uri,
                            version: doc.version,
                            generation: 0,
                        },
                    );
                    diagnostics::schedule(shared, id);
                }
                None => info!(
                    "didOpen: {} is outside the workspace folders or not a supported language",
                    path.display()
                ),
            }
        }
        "textDocument/didChange" => {
            let Some(p) = parse::<DidChangeTextDocumentParams>(method, params) else {
                return;
            };
            let Some(id) = file_of(shared, &p.text_document.uri) else {
                warn!(
                    "didChange for {}, which was never opened: ignored",
                    p.text_document.uri.as_str()
                );
                return;
            };
            let changes: Vec<DocumentChange> = p
                .content_changes
                .into_iter()
                .map(|c| DocumentChange {
                    range: c.range.map(|r| {
                        (
                            WideLineCol {
                                line: r.start.line,
                                col: r.start.character,
                            },
                            WideLineCol {
                                line: r.end.line,
                                col: r.end.character,
                            },
                        )
                    }),
                    text: c.text,
                })
                .collect();
            let encoding: PositionEncoding = shared.session().encoding;
            let result = shared.write().change_document(id, &changes, encoding);
            match result {
                Ok(_) => {
                    if let Some(d) = shared.documents().get_mut(&id) {
                        d.version = p.text_document.version;
                    }
                    if let Some(path) = path_of(&p.text_document.uri) {
                        super::team::file_changed(shared, &path);
                    }
                    diagnostics::forget_verified(shared, id);
                    diagnostics::schedule(shared, id);
                }
                Err(e) => warn!(
                    "didChange for {}: {e}; ignored",
                    p.text_document.uri.as_str()
                ),
            }
        }
        "textDocument/didClose" => {
            let Some(p) = parse::<DidCloseTextDocumentParams>(method, params) else {
                return;
            };
            let Some(id) = file_of(shared, &p.text_document.uri) else {
                return;
            };
            shared.write().close_document(id);
            if let Some(doc) = shared.documents().remove(&id) {
                diagnostics::clear(shared, doc.uri);
            }
        }
        // The editor's text already won; the file on disk now says the same.
        "textDocument/didSave" => {}
        "workspace/didChangeWatchedFiles" => {
            let Some(p) = parse::<DidChangeWatchedFilesParams>(method, params) else {
                return;
            };
            for change in p.changes {
                let Some(path) = path_of(&change.uri) else {
                    continue;
                };
                changed_on_disk(shared, &path, change.typ == FileChangeType::DELETED);
                super::team::file_changed(shared, &path);
            }
        }
        "workspace/didChangeWorkspaceFolders" => {
            let Some(p) = parse::<DidChangeWorkspaceFoldersParams>(method, params) else {
                return;
            };
            for folder in p.event.removed {
                if let Some(path) = path_of(&folder.uri) {
                    let n = shared.write().remove_root(&path);
                    shared.drop_store(&path);
                    info!("workspace folder {} removed ({n} files)", path.display());
                }
            }
            for folder in p.event.added {
                if let Some(path) = path_of(&folder.uri) {
                    if let Some(job) = register_folder(shared, &path) {
                        watch_folder(shared, &job.root);
                        let _ = jobs.send(job);
                    }
                }
            }
        }
        "workspace/didChangeConfiguration" => {
            let Some(p) = parse::<DidChangeConfigurationParams>(method, params) else {
                return;
            };
            match Settings::from_json(Some(&p.settings)) {
                Ok(settings) => {
                    shared.write().set_limits(settings.limits());
                    shared.session().settings = settings;
                    info!("configuration updated");
                }
                Err(e) => warn!("didChangeConfiguration: {e}; settings unchanged"),
            }
        }
        other => debug!("{other}: nothing to apply"),
    }
}

fn file_of(shared: &Shared, uri: &tower_lsp_server::lsp_types::Uri) -> Option<FileId> {
    let path = path_of(uri)?;
    shared.read().file_id(&path)
}

/// A file created, changed or deleted outside the editor. Open documents win.
fn changed_on_disk(shared: &Shared, path: &Path, deleted: bool) {
    let mut host = shared.write();
    if deleted || !path.exists() {
        let n = host.remove_under(path);
        debug!("{} deleted: {n} files dropped", path.display());
    } else if path.is_dir() {
        drop(host);
        // A folder appeared (a branch switch, an unpacked archive): load what is in it.
        let found = walk(path);
        for file in found.files {
            shared.write().reload_file(&file.path);
        }
    } else {
        host.reload_file(path);
    }
}

/// Walks a folder and registers it as a root; loading happens on the indexer.
fn register_folder(shared: &Shared, folder: &Path) -> Option<IndexJob> {
    if !folder.is_dir() {
        warn!(
            "workspace folder {} does not exist or is not a folder; skipped",
            folder.display()
        );
        return None;
    }
    let root = folder
        .canonicalize()
        .unwrap_or_else(|_| folder.to_path_buf());
    let started = Instant::now();
    let found = walk(&root);
    let root_index = shared.write().add_root(&root, &found);
    info!(
        "{}: {} files found in {:?}",
        root.display(),
        found.files.len(),
        started.elapsed()
    );
    Some(IndexJob {
        root,
        root_index,
        files: found.files,
    })
}

/// Is a path inside a folder that is never indexed (`.git`, `target`, ...)?
fn excluded(path: &Path) -> bool {
    path.components().any(|c| {
        codecontext_analysis::workspace::EXCLUDED_DIRS
            .iter()
            .any(|d| c.as_os_str() == *d)
    })
}

/// Watches the workspace folders ourselves (inotify and friends, through `notify`) for
/// clients that cannot watch files for us; changes join the applier's queue.
fn start_own_watcher(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        if !matches!(
            event.kind,
            notify::EventKind::Create(_)
                | notify::EventKind::Modify(_)
                | notify::EventKind::Remove(_)
        ) {
            return;
        }
        let paths: Vec<PathBuf> = event.paths.into_iter().filter(|p| !excluded(p)).collect();
        if let (false, Some(shared)) = (paths.is_empty(), weak.upgrade()) {
            shared.send(Work::Disk(paths));
        }
    });
    match watcher {
        Ok(watcher) => {
            *shared
                .watcher
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(watcher);
            let roots: Vec<PathBuf> = shared.read().roots().map(Path::to_path_buf).collect();
            for root in roots {
                watch_folder(shared, &root);
            }
        }
        Err(e) => warn!("cannot watch files ({e}); changes on disk are seen when files are opened"),
    }
}

fn watch_folder(shared: &Shared, root: &Path) {
    use notify::Watcher;
    let mut guard = shared
        .watcher
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(watcher) = guard.as_mut() {
        match watcher.watch(root, notify::RecursiveMode::Recursive) {
            Ok(()) => info!("watching {} for changes", root.display()),
            Err(e) => warn!(
                "cannot watch {} ({e}); its changes on disk are seen when files are opened",
                root.display()
            ),
        }
    }
}

fn register_watchers(shared: &Arc<Shared>) {
    if !shared.session().watch_dynamic {
        info!("the client cannot watch files for us: watching them ourselves");
        start_own_watcher(shared);
        return;
    }
    let Some(client) = shared.client().cloned() else {
        return;
    };
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher {
            glob_pattern: GlobPattern::String("**/*".into()),
            kind: None,
        }],
    };
    let registration = Registration {
        id: "codecontext-watched-files".into(),
        method: "workspace/didChangeWatchedFiles".into(),
        register_options: serde_json::to_value(options).ok(),
    };
    shared.spawn(async move {
        if let Err(e) = client.register_capability(vec![registration]).await {
            warn!("registering file watchers failed: {e}");
        }
    });
}

fn indexer(shared: Arc<Shared>, jobs: mpsc::Receiver<IndexJob>) {
    let mut n = 0u64;
    for job in jobs {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        n += 1;
        index_folder(&shared, job, n);
    }
}

/// Work-done progress for one folder, if the client takes it.
struct ProgressReporter<'a> {
    shared: &'a Shared,
    token: Option<NumberOrString>,
}

impl<'a> ProgressReporter<'a> {
    fn begin(shared: &'a Shared, n: u64, title: &str, message: String) -> ProgressReporter<'a> {
        let mut token = None;
        if let (true, Some(client)) = (shared.session().progress, shared.client()) {
            let t = NumberOrString::String(format!("codecontext/index/{n}"));
            let created = shared.block_on(client.send_request::<WorkDoneProgressCreate>(
                WorkDoneProgressCreateParams { token: t.clone() },
            ));
            if let Some(Ok(())) = created {
                token = Some(t);
            }
        }
        let p = ProgressReporter { shared, token };
        p.send(WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.into(),
            cancellable: Some(false),
            message: Some(message),
            percentage: Some(0),
        }));
        p
    }

    fn send(&self, value: WorkDoneProgress) {
        let (Some(token), Some(client)) = (&self.token, self.shared.client()) else {
            return;
        };
        let client = client.clone();
        let params = ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(value),
        };
        // Waits for the message to be queued, so progress reaches the client in order.
        self.shared
            .block_on(client.send_notification::<ProgressNotification>(params));
    }

    fn report(&self, message: String, percentage: u32) {
        self.send(WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
            message: Some(message),
            percentage: Some(percentage),
        }));
    }

    fn end(&self, message: String) {
        self.send(WorkDoneProgress::End(WorkDoneProgressEnd {
            message: Some(message),
        }));
    }
}

/// Tells the user, once per session, that a configured backend is down (the log says
/// it every time).
/// Says that `backend` is down: in the log, and to the user once per backend and session.
pub(crate) async fn backend_down(shared: &Shared, backend: &'static str, message: String) {
    tell_down(shared.client(), &shared.backend_down_told, backend, message).await
}

async fn tell_down(
    client: Option<&tower_lsp_server::Client>,
    told: &Mutex<HashSet<&'static str>>,
    backend: &'static str,
    message: String,
) {
    warn!("{message}");
    if !told
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(backend)
    {
        return;
    }
    if let Some(client) = client {
        client
            .show_message(tower_lsp_server::lsp_types::MessageType::WARNING, message)
            .await;
    }
}

/// Follows a backend's health events: says that it is down (`down`, given why), once per
/// backend and session to the user and in the log each time it goes down, and `back` in
/// the log when it answers again.
pub(crate) fn watch_backend(
    shared: &Shared,
    backend: &'static str,
    mut health: tokio::sync::mpsc::UnboundedReceiver<codecontext_store::Health>,
    back: String,
    down: impl Fn(&str) -> String + Send + 'static,
) {
    let client = shared.client().cloned();
    let told = shared.backend_down_told.clone();
    tokio::spawn(async move {
        let mut is_down = false;
        while let Some(event) = health.recv().await {
            match event {
                codecontext_store::Health::Down(why) if !is_down => {
                    is_down = true;
                    let message = down(&why);
                    tell_down(client.as_ref(), &told, backend, message).await;
                }
                codecontext_store::Health::Down(why) => debug!("{backend} still down: {why}"),
                codecontext_store::Health::Up if is_down => {
                    is_down = false;
                    info!("{back}");
                }
                codecontext_store::Health::Up => {}
            }
        }
    });
}

/// The team backends' configuration for a folder (initializationOptions, environment,
/// `codecontext.toml`, user file), read once per session; a wrong one is reported and
/// nothing is configured.
pub(crate) async fn storage_config(
    shared: &Shared,
    root: &Path,
) -> codecontext_config::StorageConfig {
    let known = shared
        .storage_configs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(root)
        .cloned();
    if let Some(config) = known {
        return config;
    }
    let options = shared
        .session()
        .settings
        .storage
        .as_ref()
        .map(|storage| serde_json::json!({ "storage": storage }));
    let config = match codecontext_config::load(Some(root), options.as_ref()) {
        Ok(config) => config,
        Err(e) => {
            backend_down(
                shared,
                "configuration",
                format!("codecontext: the configuration is wrong ({e}); using the embedded store"),
            )
            .await;
            Default::default()
        }
    };
    shared
        .storage_configs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(root.to_path_buf())
        .or_insert(config)
        .clone()
}

/// The folder's store, if persistence is on and it opens: the embedded one, with the
/// shared PostgreSQL store in front when one is configured (reached now or later; its
/// writes wait in the embedded store meanwhile). A store that cannot be opened costs the
/// warm start and the run history, never the session. Once open, it stays open for the
/// session.
pub(crate) async fn open_store(shared: &Shared, root: &Path) -> Option<Arc<dyn Store>> {
    if let Some(store) = shared.store(root) {
        return Some(store);
    }
    let settings = shared.session().settings.clone();
    if !settings.persist {
        return None;
    }
    let fingerprint = persist::fingerprint();
    let config = storage_config(shared, root).await;
    let home = settings
        .store_home
        .map(PathBuf::from)
        .unwrap_or_else(codecontext_store::store_home);
    if let Err(e) = std::fs::create_dir_all(&home) {
        warn!(
            "cannot create the index store folder {}: {e}; not persisting",
            home.display()
        );
        return None;
    }
    let path = codecontext_store::store_path(&home, root);
    let local = match SqliteStore::open(&path, &fingerprint).await {
        Ok((store, opened)) => {
            match opened {
                Opened::Rebuilt(aside) => warn!(
                    "index store {} was unusable: moved to {} and rebuilt",
                    path.display(),
                    aside.display()
                ),
                Opened::Fresh => info!("index store {} created", path.display()),
                Opened::Reused => info!("index store {}", path.display()),
            }
            store
        }
        Err(e) => {
            warn!("{e} ({}); indexing without persistence", path.display());
            return None;
        }
    };
    let Some(url) = &config.postgres_url else {
        return Some(shared.keep_store(root, Arc::new(local)));
    };
    let key = codecontext_store::project_key(root);
    match SharedStore::open(local, &url.value, &key, &fingerprint).await {
        Ok((store, health)) => {
            info!("shared store {} for project {key}", url.shown());
            let shown = url.shown();
            watch_backend(
                shared,
                "postgres",
                health,
                format!("PostgreSQL at {shown} is back; replaying the writes kept meanwhile"),
                move |why| {
                    format!("codecontext: PostgreSQL at {shown} is unavailable ({why}); using the embedded store, and its writes are kept and replayed when PostgreSQL is back")
                },
            );
            Some(shared.keep_store(root, store))
        }
        Err(e) => {
            warn!("{e} ({}); indexing without persistence", path.display());
            None
        }
    }
}

/// What the store held for a folder when its indexing started.
struct Stored {
    records: HashMap<String, FileRecord>,
    /// Relative path -> content hash of every record.
    hashes: HashMap<String, u64>,
    /// Saved resolutions, when they belong to exactly these records.
    resolved: Option<HashMap<String, Vec<u8>>>,
}

fn load_stored(shared: &Shared, store: Option<&Arc<dyn Store>>, job: &IndexJob) -> Stored {
    let mut stored = Stored {
        records: HashMap::new(),
        hashes: HashMap::new(),
        resolved: None,
    };
    let Some(store) = store else {
        return stored;
    };
    match shared.block_on(store.load()) {
        Some(Ok(records)) => {
            stored.hashes = records.iter().map(|r| (r.rel.clone(), r.hash)).collect();
            stored.records = records.into_iter().map(|r| (r.rel.clone(), r)).collect();
        }
        Some(Err(e)) => {
            warn!("{e}; reading every file");
            return stored;
        }
        None => return stored,
    }
    let saved = match shared.block_on(store.load_resolved()) {
        Some(Ok(saved)) => saved,
        Some(Err(e)) => {
            warn!("{e}; resolving every file");
            None
        }
        None => None,
    };
    if let Some((key, data)) = saved {
        let host = shared.read();
        let usable =
            host.root_count() == 1 && key == snapshot_key(job.root_index, &host, &stored.hashes);
        drop(host);
        if usable {
            stored.resolved = decode_snapshot(&data);
        } else {
            debug!("saved resolutions are for other records; resolving");
        }
    }
    stored
}

fn snapshot_key(root: u32, host: &AnalysisHost, hashes: &HashMap<String, u64>) -> u64 {
    codecontext_analysis::snapshot_key(
        root,
        &host.module_context_key(),
        host.limits(),
        hashes.iter().map(|(rel, hash)| (rel.as_str(), *hash)),
    )
}

fn index_folder(shared: &Arc<Shared>, job: IndexJob, n: u64) {
    let started = Instant::now();
    let name = job
        .root
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| job.root.display().to_string());
    let total = job.files.len();
    let progress = ProgressReporter::begin(shared, n, "Indexing", format!("{name}: {total} files"));
    let limits = *shared.read().limits();
    let store = shared.block_on(open_store(shared, &job.root)).flatten();
    let Stored {
        records: mut stored,
        hashes: mut disk,
        resolved,
    } = load_stored(shared, store.as_ref(), &job);
    let restoring = resolved.is_some();

    // Files unchanged on disk (same size and mtime) come from the store first, so that
    // symbols answer before anything is parsed. With saved resolutions every stored
    // file comes back as it was saved, resolved; what changed since is applied after.
    let mut unchanged: Vec<(String, Vec<u8>)> = Vec::new();
    let mut to_read: Vec<&SourceFile> = Vec::new();
    for file in &job.files {
        let same = stored.get(&file.rel).is_some_and(|r| {
            std::fs::metadata(&file.path)
                .is_ok_and(|m| m.len() == r.size && persist::mtime_ns(&m) == r.mtime_ns)
        });
        if same {
            // Taken out of the map, not copied: only the files read below look records
            // up again, and the ones gone from disk are found among what stays.
            if let Some(record) = stored.remove(&file.rel) {
                unchanged.push((file.rel.clone(), record.data));
            }
        } else {
            if restoring {
                if let Some(record) = stored.get(&file.rel) {
                    unchanged.push((file.rel.clone(), record.data.clone()));
                }
            }
            to_read.push(file);
        }
    }
    let present: std::collections::HashSet<&str> =
        job.files.iter().map(|f| f.rel.as_str()).collect();
    let gone: Vec<String> = stored
        .keys()
        .filter(|rel| !present.contains(rel.as_str()))
        .cloned()
        .collect();
    if restoring {
        for rel in &gone {
            if let Some(record) = stored.get(rel) {
                unchanged.push((rel.clone(), record.data.clone()));
            }
        }
    }
    let by_rel: HashMap<&str, &SourceFile> =
        job.files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let mut done = 0usize;
    let mut last_report = Instant::now();
    let mut report = |done: usize, force: bool| {
        if force || last_report.elapsed() >= Duration::from_millis(100) {
            last_report = Instant::now();
            let percentage = (done * 100 / total.max(1)) as u32;
            progress.report(format!("{name}: {done}/{total} files"), percentage);
        }
    };
    // What the graph holds from the store, by content hash.
    let mut in_graph = if restoring {
        disk.clone()
    } else {
        HashMap::new()
    };
    let mut resolved = resolved;
    for chunk in unchanged.chunks(STORE_BATCH) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let (batch, failed) = LoadedBatch::from_records(job.root_index, chunk);
        match &mut resolved {
            Some(saved) => shared.write().restore_batch(batch, saved),
            None => shared.write().insert_batch(batch),
        }
        for rel in &failed {
            in_graph.remove(rel);
        }
        to_read.extend(
            failed
                .iter()
                .filter_map(|rel| by_rel.get(rel.as_str()).copied()),
        );
        done = (done + chunk.len()).min(total);
        report(done, false);
    }
    if restoring {
        let n = shared.write().finish_restore();
        debug!("restore re-resolved {n} references");
        // Files deleted since are dropped like any deletion (open documents stay).
        let mut host = shared.write();
        for rel in &gone {
            host.remove_under(&job.root.join(rel));
        }
    }

    // The rest is read; a file whose content is what was stored (only its mtime moved)
    // still is not parsed, and when restoring it is not even reloaded.
    let reuse = |rel: &str, hash: u64| {
        stored
            .get(rel)
            .filter(|r| r.hash == hash)
            .and_then(|r| persist::decode(job.root_index, rel, &r.data))
    };
    let mut records: Vec<FileRecord> = Vec::new();
    let mut changed = !gone.is_empty();
    let to_read: Vec<SourceFile> = to_read.into_iter().cloned().collect();
    for batch in to_read.chunks(SERVER_BATCH) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let mut loaded = load_batch_reusing(job.root_index, batch, &limits, &|_| {}, &reuse);
        if store.is_some() {
            records.extend(
                loaded
                    .records()
                    .into_iter()
                    .map(|(rel, stamp, data)| FileRecord {
                        rel,
                        size: stamp.size,
                        mtime_ns: stamp.mtime_ns,
                        hash: stamp.hash,
                        data,
                    }),
            );
        }
        loaded.drop_unchanged(|rel, hash| in_graph.get(rel) == Some(&hash));
        changed |= !loaded.is_empty();
        shared.write().insert_batch(loaded);
        done = (done + batch.len()).min(total);
        report(done, done == total);
    }
    progress.report(format!("{name}: resolving references"), 100);
    let resolve_started = Instant::now();
    // A slice of files at a time, so that requests get the lock in between.
    while !matches!(
        shared.write().resolve_pending_step(RESOLVE_SLICE),
        ResolveStep::Idle | ResolveStep::Done(_)
    ) {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
    }
    let resolve_ms = resolve_started.elapsed().as_millis();
    let from_store = total.saturating_sub(to_read.len());

    let store_started = Instant::now();
    if let Some(store) = &store {
        // Files read that yielded no record (now skipped) lose their stale one.
        let mut forget = gone;
        let recorded: std::collections::HashSet<&str> =
            records.iter().map(|r| r.rel.as_str()).collect();
        forget.extend(
            to_read
                .iter()
                .filter(|f| !recorded.contains(f.rel.as_str()) && disk.contains_key(&f.rel))
                .map(|f| f.rel.clone()),
        );
        for rel in &forget {
            disk.remove(rel);
        }
        for r in &records {
            disk.insert(r.rel.clone(), r.hash);
        }
        // Resolutions are saved unless the ones saved are still right.
        let snapshot = (!restoring || changed)
            .then(|| {
                let host = shared.read();
                let files = host.export_root(job.root_index, &disk)?;
                Some((snapshot_key(job.root_index, &host, &disk), files))
            })
            .flatten()
            .and_then(|(key, files)| Some((key, encode_snapshot(files)?)));
        let saved = records.len();
        let result = shared.block_on(async {
            store.save(records).await?;
            store.remove(forget).await?;
            if let Some((key, data)) = snapshot {
                store.save_resolved(key, data).await?;
            }
            Ok::<_, codecontext_store::StoreError>(())
        });
        if let Some(Err(e)) = result {
            warn!("{e}; the next start will parse these files again");
        } else {
            debug!("{saved} records saved");
        }
    }
    let message = format!(
        "{name}: {total} files ({from_store} from the store{}) in {} ms (resolve {resolve_ms} ms, store {} ms)",
        if restoring {
            ", resolutions restored"
        } else {
            ""
        },
        started.elapsed().as_millis(),
        store_started.elapsed().as_millis(),
    );
    info!("indexed {message}");
    let point = codecontext_store::Point {
        at_ms: super::history::now_ms(),
        measurement: "index".into(),
        tags: vec![("project".into(), codecontext_store::project_key(&job.root))],
        fields: vec![
            ("files".into(), total as f64),
            ("from_store".into(), from_store as f64),
            ("ms".into(), started.elapsed().as_secs_f64() * 1000.0),
            ("resolve_ms".into(), resolve_ms as f64),
        ],
    };
    shared.block_on(super::perf::record(shared, &job.root, vec![point]));
    shared.block_on(super::team::folder_indexed(shared, &job.root));
    progress.end(message);
}
