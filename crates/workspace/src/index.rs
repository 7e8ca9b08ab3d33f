//! Indexing a folder: walked and registered first (so that a document opened next finds
//! its folder), then loaded in the background with a warm start from the folder's store,
//! taking the host's write lock only to insert each finished batch and to resolve a
//! slice of files, so that queries keep being answered from what is indexed so far.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use codecontext_analysis::{
    decode_snapshot, encode_snapshot, load_batch_reusing, persist,
    workspace::{walk, SourceFile},
    AnalysisHost, LoadedBatch, Reload, ResolveStep,
};
use codecontext_store::{FileRecord, Store};
use serde::Serialize;
use tracing::{debug, info, warn};

use crate::Workspace;

/// Files per batch while indexing in the background: small enough for smooth progress
/// and short lock holds.
const BATCH: usize = 64;

/// Files resolved per hold of the write lock (a few tens of milliseconds).
const RESOLVE_SLICE: usize = 32;

/// Stored files per batch: decoding is cheap, so batches can be larger.
const STORE_BATCH: usize = 512;

/// A folder walked and registered, waiting to be loaded.
pub struct IndexJob {
    root: PathBuf,
    root_index: u32,
    files: Vec<SourceFile>,
    walk_ms: u64,
}

impl IndexJob {
    /// The folder, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// The files of a folder being loaded that are not in the graph yet.
struct Pending<'a> {
    ws: &'a Workspace,
    left: std::cell::Cell<usize>,
}

impl Pending<'_> {
    fn down_to(&self, left: usize) {
        let gone = self.left.get().saturating_sub(left);
        self.left.set(left);
        self.ws
            .pending_files
            .fetch_sub(gone, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.down_to(0);
    }
}

/// How indexing a folder went.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexSummary {
    pub files: usize,
    /// Files that came from the store without being parsed.
    pub from_store: usize,
    /// Whether the saved resolutions were used.
    pub restored: bool,
    pub walk_ms: u64,
    /// Reading and parsing (or decoding) the files.
    pub load_ms: u64,
    pub resolve_ms: u64,
    pub store_ms: u64,
    /// From the start of loading to the end (the walk is before).
    pub elapsed_ms: u64,
}

/// A folder being loaded on a thread of its own ([`Workspace::index_in_background`]).
pub struct Indexing {
    /// The folder, canonical.
    pub root: PathBuf,
    /// Turns `true` when its first indexing is done (or given up).
    pub done: tokio::sync::watch::Receiver<bool>,
}

impl Indexing {
    /// Waits until the first indexing is done (at once afterwards).
    pub async fn wait(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

impl Workspace {
    /// Registers `folder` and loads it on a new thread (a warm start from its store);
    /// what the MCP server and the daemon serve. `None` when it is not a folder or is
    /// already registered, or when no thread can be started (said in the log).
    pub fn index_in_background(self: &Arc<Self>, folder: &Path) -> Option<Indexing> {
        let job = self.register_folder(folder)?;
        let root = job.root().to_path_buf();
        let (tx, done) = tokio::sync::watch::channel(false);
        let ws = self.clone();
        let spawned = std::thread::Builder::new()
            .name("codecontext-indexer".into())
            .spawn(move || {
                if let Some(summary) = ws.index_folder(job) {
                    info!(
                        "indexed {} files ({} from the store) in {} ms",
                        summary.files, summary.from_store, summary.elapsed_ms
                    );
                }
                let _ = tx.send(true);
            });
        if let Err(e) = spawned {
            warn!("cannot start the indexer: {e}");
            return None;
        }
        Some(Indexing { root, done })
    }

    /// Walks a folder and registers it as a root; loading is [`Workspace::index_folder`].
    /// `None` when it is not a folder (said in the log), or already registered.
    pub fn register_folder(&self, folder: &Path) -> Option<IndexJob> {
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
        if self.read().roots().any(|r| r == root) {
            // Another client of a shared workspace registered it first.
            info!("{}: already a workspace folder", root.display());
            return None;
        }
        let started = Instant::now();
        let found = walk(&root);
        let root_index = {
            let mut host = self.write();
            if host.roots().any(|r| r == root) {
                info!("{}: already a workspace folder", root.display());
                return None;
            }
            host.add_root(&root, &found)
        };
        self.pending_files
            .fetch_add(found.files.len(), std::sync::atomic::Ordering::SeqCst);
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
            walk_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// A file created, changed or deleted outside the editor. Open documents win. The
    /// answer says whether it was a project rule file (its folder's rules load again on
    /// next use; the caller checks the open documents again).
    pub fn changed_on_disk(&self, path: &Path, deleted: bool) -> bool {
        let rules = self.rules_changed(path);
        if deleted || !path.exists() {
            let n = self.write().remove_under(path);
            debug!("{} deleted: {n} files dropped", path.display());
        } else if path.is_dir() {
            // A folder appeared (a branch switch, an unpacked archive): load what is in it.
            let found = walk(path);
            for file in found.files {
                self.reload(&file.path);
            }
        } else {
            self.reload(path);
        }
        rules
    }

    /// Reads a file again from disk, unless it is open as a document: read and parsed
    /// outside the lock (a file changed on disk may be as slow as any document).
    pub(crate) fn reload(&self, path: &Path) {
        let plan = self.read().plan_reload(path);
        match plan {
            Reload::Nothing => {}
            Reload::Remove => {
                self.write().remove_file(path);
            }
            Reload::Load(plan) => {
                let reloaded = plan.load();
                self.write().finish_reload(reloaded);
            }
        }
    }
}

struct Stored {
    records: HashMap<String, FileRecord>,
    /// Relative path -> content hash of every record.
    hashes: HashMap<String, u64>,
    /// Saved resolutions, when they belong to exactly these records.
    resolved: Option<HashMap<String, Vec<u8>>>,
}

impl Workspace {
    fn load_stored(&self, store: Option<&Arc<dyn Store>>, job: &IndexJob) -> Stored {
        let mut stored = Stored {
            records: HashMap::new(),
            hashes: HashMap::new(),
            resolved: None,
        };
        let Some(store) = store else {
            return stored;
        };
        match self.block_on(store.load()) {
            Ok(records) => {
                stored.hashes = records.iter().map(|r| (r.rel.clone(), r.hash)).collect();
                stored.records = records.into_iter().map(|r| (r.rel.clone(), r)).collect();
            }
            Err(e) => {
                warn!("{e}; reading every file");
                return stored;
            }
        }
        let saved = match self.block_on(store.load_resolved()) {
            Ok(saved) => saved,
            Err(e) => {
                warn!("{e}; resolving every file");
                None
            }
        };
        if let Some((key, data)) = saved {
            let host = self.read();
            let usable = host.root_count() == 1
                && key == snapshot_key(job.root_index, &host, &stored.hashes);
            drop(host);
            if usable {
                stored.resolved = decode_snapshot(&data);
            } else {
                debug!("saved resolutions are for other records; resolving");
            }
        }
        stored
    }
}

fn snapshot_key(root: u32, host: &AnalysisHost, hashes: &HashMap<String, u64>) -> u64 {
    codecontext_analysis::snapshot_key(
        root,
        &host.module_context_key(),
        host.limits(),
        hashes.iter().map(|(rel, hash)| (rel.as_str(), *hash)),
    )
}

impl Workspace {
    /// Loads a registered folder: unchanged files from the store (with their saved
    /// resolutions when they still hold), the rest read and parsed, then everything
    /// resolved, a slice at a time; the store gets what changed. Runs on the calling
    /// thread, which must be outside the workspace's runtime; progress goes to the
    /// notifier. `None` when the workspace stopped meanwhile.
    pub fn index_folder(self: &Arc<Self>, job: IndexJob) -> Option<IndexSummary> {
        let started = Instant::now();
        let name = job
            .root
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| job.root.display().to_string());
        let total = job.files.len();
        let progress = self.block_on(self.begin_progress(
            "index",
            "Indexing",
            Some(format!("{name}: {total} files")),
            false,
        ));
        let limits = *self.read().limits();
        let store = self.block_on(self.open_store(&job.root));
        let Stored {
            records: mut stored,
            hashes: mut disk,
            resolved,
        } = self.load_stored(store.as_ref(), &job);
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
        let present: HashSet<&str> = job.files.iter().map(|f| f.rel.as_str()).collect();
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
        // Files not in the graph yet, for freshness stamps; whatever is left when this
        // returns (done, or stopped) is no longer pending.
        let pending = Pending {
            ws: self,
            left: std::cell::Cell::new(total),
        };
        let mut last_report = Instant::now();
        let mut report = |done: usize, force: bool| {
            if force || last_report.elapsed() >= Duration::from_millis(100) {
                last_report = Instant::now();
                let percentage = (done * 100 / total.max(1)) as u32;
                self.block_on(
                    progress.report(format!("{name}: {done}/{total} files"), Some(percentage)),
                );
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
            if self.is_stopping() {
                return None;
            }
            let (batch, failed) = LoadedBatch::from_records(job.root_index, chunk);
            match &mut resolved {
                Some(saved) => self.write().restore_batch(batch, saved),
                None => self.write().insert_batch(batch),
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
            pending.down_to(total - done);
            report(done, false);
        }
        if restoring {
            let n = self.write().finish_restore();
            debug!("restore re-resolved {n} references");
            // Files deleted since are dropped like any deletion (open documents stay).
            let mut host = self.write();
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
        for batch in to_read.chunks(BATCH) {
            if self.is_stopping() {
                return None;
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
            self.write().insert_batch(loaded);
            done = (done + batch.len()).min(total);
            pending.down_to(total - done);
            report(done, done == total);
        }
        let load_ms = started.elapsed().as_millis() as u64;
        self.block_on(progress.report(format!("{name}: resolving references"), Some(100)));
        let resolve_started = Instant::now();
        // A slice of files at a time, so that requests get the lock in between.
        while !matches!(
            {
                let mut host = self.write();
                let step = host.resolve_pending_step(RESOLVE_SLICE);
                parking_lot::RwLockWriteGuard::unlock_fair(host);
                step
            },
            ResolveStep::Idle | ResolveStep::Done(_)
        ) {
            if self.is_stopping() {
                return None;
            }
        }
        let resolve_ms = resolve_started.elapsed().as_millis() as u64;
        let from_store = total.saturating_sub(to_read.len());

        let store_started = Instant::now();
        if let Some(store) = &store {
            // Files read that yielded no record (now skipped) lose their stale one.
            let mut forget = gone;
            let recorded: HashSet<&str> = records.iter().map(|r| r.rel.as_str()).collect();
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
                    let host = self.read();
                    let files = host.export_root(job.root_index, &disk)?;
                    Some((snapshot_key(job.root_index, &host, &disk), files))
                })
                .flatten()
                .and_then(|(key, files)| Some((key, encode_snapshot(files)?)));
            let saved = records.len();
            let result = self.block_on(async {
                store.save(records).await?;
                store.remove(forget).await?;
                if let Some((key, data)) = snapshot {
                    store.save_resolved(key, data).await?;
                }
                Ok::<_, codecontext_store::StoreError>(())
            });
            if let Err(e) = result {
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
            at_ms: crate::history::now_ms(),
            measurement: "index".into(),
            tags: vec![("project".into(), codecontext_store::project_key(&job.root))],
            fields: vec![
                ("files".into(), total as f64),
                ("from_store".into(), from_store as f64),
                ("ms".into(), started.elapsed().as_secs_f64() * 1000.0),
                ("resolve_ms".into(), resolve_ms as f64),
            ],
        };
        self.block_on(self.record_points(&job.root, vec![point]));
        self.block_on(self.folder_indexed(&job.root));
        self.block_on(progress.end(message));
        Some(IndexSummary {
            files: total,
            from_store,
            restored: restoring,
            walk_ms: job.walk_ms,
            load_ms,
            resolve_ms,
            store_ms: store_started.elapsed().as_millis() as u64,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }
}
