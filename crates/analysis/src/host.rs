//! [`AnalysisHost`]: owns the graph and the open documents and applies every change in
//! order. Queries go through [`Analysis`], a read-only view.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use codecontext_graph::{
    EdgeStats, FileId, FileInput, ModuleContext, ResolveStep, SymbolGraph, UpdateStats,
};
use codecontext_lang::Language;
use codecontext_syntax::{
    check_source, summarize, ChunkSummary, Document, DocumentChange, ExtractOptions, FileDelta,
    FileSummary, Limits, SkipReason,
};
use codecontext_text::{LineIndex, PositionEncoding};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::{
    persist::DiskStamp,
    workspace::{extend_module_context, rel_path, walk, SourceFile, WalkResult},
    Analysis,
};

/// Progress of a long indexing run, reported from worker threads.
#[derive(Clone, Debug)]
pub struct Progress<'a> {
    pub done: usize,
    pub total: usize,
    pub current: &'a str,
}

/// A file that was not indexed, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub path: String,
    #[serde(flatten)]
    pub reason: SkipReason,
    pub message: String,
}

/// What an indexing run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndexReport {
    pub files: usize,
    pub languages: BTreeMap<String, usize>,
    pub symbols: usize,
    pub lines: u64,
    pub bytes: u64,
    pub edges: EdgesReport,
    pub skipped: Vec<Skipped>,
    pub syntax_errors: usize,
    pub elapsed_ms: u64,
    pub timings: Timings,
}

/// Edge counts: per kind, per resolution, and both.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EdgesReport {
    pub total: u64,
    pub by_kind: BTreeMap<String, u64>,
    pub by_resolution: BTreeMap<String, u64>,
    pub by_kind_and_resolution: BTreeMap<String, BTreeMap<String, u64>>,
}

impl From<EdgeStats> for EdgesReport {
    fn from(s: EdgeStats) -> EdgesReport {
        let mut both: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for ((kind, how), n) in s.by_kind_and_resolution {
            both.entry(kind.to_string())
                .or_default()
                .insert(how.to_string(), n);
        }
        EdgesReport {
            total: s.by_kind.values().sum(),
            by_kind: s
                .by_kind
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            by_resolution: s
                .by_resolution
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            by_kind_and_resolution: both,
        }
    }
}

/// Where the time of an indexing run went.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub walk_ms: u64,
    pub parse_ms: u64,
    pub resolve_ms: u64,
}

/// Settings of the host.
#[derive(Clone, Debug, Default)]
pub struct HostConfig {
    pub limits: Limits,
}

/// The mutable side: the graph, workspace roots and open documents.
pub struct AnalysisHost {
    pub(crate) graph: SymbolGraph,
    /// Indexed by the `root` of each file; a removed root leaves `None`.
    pub(crate) roots: Vec<Option<PathBuf>>,
    pub(crate) docs: FxHashMap<FileId, Document>,
    pub(crate) config: HostConfig,
    /// Disk versions of open documents met while restoring (see `finish_restore`).
    pub(crate) held: Vec<FileInput>,
    /// Where known, the content hash of the text each file's graph entry was extracted
    /// from: a document opened (or closed) with that same text leaves the graph as it
    /// is, rather than taking it out and putting it back under the server's lock.
    pub(crate) extracted: FxHashMap<FileId, u64>,
}

/// Files are parsed in batches of this many, so that summaries of the whole workspace
/// never sit in memory at once.
pub const BATCH: usize = 256;

impl Default for AnalysisHost {
    fn default() -> Self {
        AnalysisHost::new(HostConfig::default())
    }
}

impl AnalysisHost {
    pub fn new(config: HostConfig) -> AnalysisHost {
        AnalysisHost {
            graph: SymbolGraph::new(),
            roots: Vec::new(),
            docs: FxHashMap::default(),
            config,
            held: Vec::new(),
            extracted: FxHashMap::default(),
        }
    }

    /// A read-only view for queries.
    pub fn analysis(&self) -> Analysis<'_> {
        Analysis { host: self }
    }

    pub fn graph(&self) -> &SymbolGraph {
        &self.graph
    }

    /// The workspace roots, in the order they were added.
    pub fn roots(&self) -> impl Iterator<Item = &Path> + '_ {
        self.roots.iter().flatten().map(PathBuf::as_path)
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// Limits for files loaded from now on.
    pub fn set_limits(&mut self, limits: Limits) {
        self.config.limits = limits;
        // Other limits may extract the same text otherwise.
        self.extracted.clear();
    }

    /// The index of a workspace root, as files carry it.
    pub fn root_position(&self, root: &Path) -> Option<u32> {
        self.roots
            .iter()
            .position(|r| r.as_deref() == Some(root))
            .map(|i| i as u32)
    }

    /// The workspace root a file belongs to.
    pub fn root_of(&self, file: FileId) -> Option<PathBuf> {
        let f = self.graph.file_data(file)?;
        self.roots.get(f.root as usize)?.clone()
    }

    fn root_index(&mut self, root: &Path) -> u32 {
        match self.roots.iter().position(|r| r.as_deref() == Some(root)) {
            Some(i) => i as u32,
            None => {
                self.roots.push(Some(root.to_path_buf()));
                (self.roots.len() - 1) as u32
            }
        }
    }

    /// The file id of an absolute or root-relative path.
    pub fn file_id(&self, path: &Path) -> Option<FileId> {
        for (i, root) in self.roots.iter().enumerate() {
            let Some(root) = root else { continue };
            let rel = if path.is_absolute() {
                match rel_path(root, path) {
                    Some(rel) => rel,
                    None => continue,
                }
            } else {
                path.components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            };
            if let Some(id) = self.graph.file_id(i as u32, &rel) {
                return Some(id);
            }
        }
        None
    }

    /// The absolute path of a file.
    pub fn path(&self, file: FileId) -> Option<PathBuf> {
        let f = self.graph.file_data(file)?;
        Some(self.roots.get(f.root as usize)?.as_ref()?.join(&*f.rel))
    }

    /// Indexes a workspace root: walks it, parses every file on all cores, and resolves
    /// the graph. `progress` is called from worker threads.
    ///
    /// This holds `&mut self` throughout. A server that must answer while indexing uses
    /// the same steps with its lock taken only around the graph updates: [`walk`],
    /// [`AnalysisHost::add_root`], [`load_batch`] (no host needed),
    /// [`AnalysisHost::insert_batch`] and [`AnalysisHost::resolve_pending`].
    pub fn index_root(
        &mut self,
        root: &Path,
        progress: Option<&(dyn Fn(Progress<'_>) + Sync)>,
    ) -> IndexReport {
        let start = Instant::now();
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let found = walk(&root);
        let root_index = self.add_root(&root, &found);
        let walk_time = start.elapsed();

        let total = found.files.len();
        let done = AtomicUsize::new(0);
        let limits = self.config.limits;
        let parse_start = Instant::now();
        let mut bytes = 0u64;
        // Parsing runs on the thread pool while this thread feeds finished batches into
        // the graph, so graph insertion overlaps with parsing.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<LoadedBatch>(2);
        let files = &found.files;
        let done = &done;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for batch in files.chunks(BATCH) {
                    let loaded = load_batch(root_index, batch, &limits, &|rel| {
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if let Some(p) = progress {
                            p(Progress {
                                done: n,
                                total,
                                current: rel,
                            });
                        }
                    });
                    if sender.send(loaded).is_err() {
                        break;
                    }
                }
            });
            for loaded in receiver {
                bytes += loaded.bytes;
                self.insert_batch(loaded);
            }
        });
        let parse_time = parse_start.elapsed();
        let resolve_start = Instant::now();
        self.resolve_pending();
        let resolve_time = resolve_start.elapsed();
        let mut report = self.report();
        report.bytes = bytes;
        report.elapsed_ms = ms(start.elapsed());
        report.timings = Timings {
            walk_ms: ms(walk_time),
            parse_ms: ms(parse_time),
            resolve_ms: ms(resolve_time),
        };
        report
    }

    /// Registers a walked root (or finds it again) and extends the module context with
    /// what its walk found. Cheap: no file is read.
    pub fn add_root(&mut self, root: &Path, found: &WalkResult) -> u32 {
        let root_index = self.root_index(root);
        let mut ctx: ModuleContext = self.graph.module_context().clone();
        extend_module_context(&mut ctx, root_index, found);
        self.graph.set_module_context(ctx);
        root_index
    }

    /// Adds loaded files to the graph without resolving them (see
    /// [`AnalysisHost::resolve_pending`]). A file open in the editor keeps the editor's
    /// text: its copy from disk is dropped.
    pub fn insert_batch(&mut self, batch: LoadedBatch) {
        let mut hashes = Vec::with_capacity(batch.inputs.len());
        let inputs = batch
            .inputs
            .into_iter()
            .zip(batch.stamps)
            .filter(|(input, _)| {
                // A root removed while its files were loading takes them with it.
                self.takes_from_disk(input.root, &input.rel)
            })
            .map(|(input, stamp)| {
                let hash = extracted_hash(&input, stamp);
                hashes.push((input.root, input.rel.clone(), hash));
                input
            })
            .collect();
        self.graph.load_files_unresolved(inputs);
        for (root, rel, hash) in hashes {
            self.note_extracted(root, &rel, hash);
        }
    }

    /// Records what the graph entry of `root`/`rel` was extracted from (`None`: not
    /// known, or not extracted).
    pub(crate) fn note_extracted(&mut self, root: u32, rel: &str, hash: Option<u64>) {
        if let Some(id) = self.graph.file_id(root, rel) {
            self.set_extracted(id, hash);
        }
    }

    /// Whether root `root` is still there (it may be removed while a file of it is read).
    fn has_root(&self, root: u32) -> bool {
        matches!(self.roots.get(root as usize), Some(Some(_)))
    }

    /// Whether a file of `root` read from disk goes in: its root is still there and no
    /// client holds it open as a document (whose text wins).
    fn takes_from_disk(&self, root: u32, rel: &str) -> bool {
        self.has_root(root)
            && self
                .graph
                .file_id(root, rel)
                .is_none_or(|id| !self.docs.contains_key(&id))
    }

    fn set_extracted(&mut self, id: FileId, hash: Option<u64>) {
        match hash {
            Some(hash) => self.extracted.insert(id, hash),
            None => self.extracted.remove(&id),
        };
    }

    /// Resolves the references of every file inserted since the last call, in parallel.
    pub fn resolve_pending(&mut self) -> usize {
        self.graph.resolve_pending()
    }

    /// Resolves pending files a slice of at most `max_files` at a time (see
    /// [`SymbolGraph::resolve_pending_step`]); a server calls it with its lock taken
    /// per slice so that requests are answered in between.
    pub fn resolve_pending_step(&mut self, max_files: usize) -> ResolveStep {
        self.graph.resolve_pending_step(max_files)
    }

    /// Forgets a workspace root and every file under it (open documents included).
    /// Returns how many files were dropped.
    pub fn remove_root(&mut self, root: &Path) -> usize {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let Some(index) = self.roots.iter().position(|r| r.as_deref() == Some(&*root)) else {
            return 0;
        };
        let files: Vec<FileId> = self
            .graph
            .files()
            .filter(|(_, f)| f.root == index as u32)
            .map(|(id, _)| id)
            .collect();
        for id in &files {
            self.docs.remove(id);
            self.extracted.remove(id);
            self.graph.remove_file(*id);
        }
        // The slot stays, empty, so that the indices of the other roots do not move.
        self.roots[index] = None;
        files.len()
    }

    /// A summary of what the graph holds now.
    pub fn report(&self) -> IndexReport {
        let mut report = IndexReport::default();
        for (_, f) in self.graph.files() {
            report.files += 1;
            *report
                .languages
                .entry(codecontext_lang::language(f.lang).name().to_string())
                .or_default() += 1;
            report.lines += f.line_index.line_count() as u64;
            report.syntax_errors += f.errors.len();
            if let Some(reason) = &f.skipped {
                report.skipped.push(Skipped {
                    path: f.rel.to_string(),
                    message: reason.to_string(),
                    reason: reason.clone(),
                });
            }
            report.symbols += f.entities.len().saturating_sub(1);
        }
        report.edges = self.graph.edge_stats().into();
        report
    }

    /// Re-reads one file from disk (created or changed outside the editor). Open
    /// documents win over disk and are left alone. A server does the same in three
    /// steps, the read and parse outside its lock: [`AnalysisHost::plan_reload`],
    /// [`ReloadPlan::load`], [`AnalysisHost::finish_reload`].
    pub fn reload_file(&mut self, path: &Path) -> Option<UpdateStats> {
        match self.plan_reload(path) {
            Reload::Nothing => None,
            Reload::Remove => self.remove_file(path),
            Reload::Load(plan) => self.finish_reload(plan.load()),
        }
    }

    /// What re-reading `path` from disk takes (see [`AnalysisHost::reload_file`]).
    pub fn plan_reload(&self, path: &Path) -> Reload {
        let Some((root, rel)) = self.locate_path(path) else {
            return Reload::Nothing;
        };
        let known = self.graph.file_id(root, &rel);
        match known {
            Some(id) if self.docs.contains_key(&id) => return Reload::Nothing,
            Some(_) => {}
            // A file new to the graph is taken only if the walk would have taken it.
            None => match self.roots.get(root as usize) {
                Some(Some(r)) if !crate::workspace::is_ignored(r, path) => {}
                _ => return Reload::Nothing,
            },
        }
        let Some(lang) = codecontext_lang::language_for_path(path) else {
            return Reload::Nothing;
        };
        if !path.is_file() {
            return Reload::Remove;
        }
        Reload::Load(ReloadPlan {
            root,
            path: path.to_path_buf(),
            rel,
            lang,
            limits: self.config.limits,
            extracted: known.and_then(|id| self.extracted.get(&id).copied()),
        })
    }

    /// Puts in a file read by [`ReloadPlan::load`], unless a client opened it as a
    /// document meanwhile (its text wins) or its root was removed.
    pub fn finish_reload(&mut self, reloaded: Reloaded) -> Option<UpdateStats> {
        let Reloaded::Changed { input, stamp } = reloaded else {
            return Some(UpdateStats::default());
        };
        if !self.takes_from_disk(input.root, &input.rel) {
            return None;
        }
        let hash = extracted_hash(&input, stamp);
        let (id, stats) = self.graph.upsert_file(*input);
        self.set_extracted(id, hash);
        Some(stats)
    }

    /// Drops a file that no longer exists.
    pub fn remove_file(&mut self, path: &Path) -> Option<UpdateStats> {
        let (root_index, rel) = self.locate_path(path)?;
        let id = self.graph.file_id(root_index, &rel)?;
        self.docs.remove(&id);
        self.extracted.remove(&id);
        Some(self.graph.remove_file(id))
    }

    /// Drops every file at or under `path` (a deleted file or folder), except documents
    /// open in the editor, which win over disk. Returns how many were dropped.
    pub fn remove_under(&mut self, path: &Path) -> usize {
        let doomed: Vec<FileId> = self
            .graph
            .files()
            .filter(|(id, _)| !self.docs.contains_key(id))
            .filter(|(id, _)| self.path(*id).is_some_and(|p| p.starts_with(path)))
            .map(|(id, _)| id)
            .collect();
        for id in &doomed {
            self.extracted.remove(id);
            self.graph.remove_file(*id);
        }
        doomed.len()
    }

    fn locate_path(&self, path: &Path) -> Option<(u32, String)> {
        self.roots
            .iter()
            .enumerate()
            .filter_map(|(i, root)| Some((i, root.as_ref()?)))
            .filter_map(|(i, root)| Some((i as u32, root, rel_path(root, path)?)))
            .max_by_key(|(_, root, _)| root.as_os_str().len())
            .map(|(i, _, rel)| (i, rel))
    }

    /// Opens a document with the editor's text; it wins over disk until closed.
    pub fn open_document(&mut self, path: &Path, text: String) -> Option<FileId> {
        let opened = self.plan_open(path)?.parse(text);
        self.finish_open(opened)
    }

    /// Where a document opened at `path` goes, if it is in a root and a language we
    /// index. Its text is then parsed by [`OpenPlan::parse`], which needs no host (a
    /// server does it outside its lock), and put in by [`AnalysisHost::finish_open`].
    pub fn plan_open(&self, path: &Path) -> Option<OpenPlan> {
        let (root, rel) = self.locate_path(path)?;
        let lang = codecontext_lang::language_for_path(path)?;
        Some(OpenPlan {
            root,
            rel,
            lang,
            limits: self.config.limits,
        })
    }

    /// Puts in a document parsed by [`OpenPlan::parse`]; `None` if its root was removed
    /// meanwhile.
    pub fn finish_open(&mut self, opened: OpenedDocument) -> Option<FileId> {
        let mut step = self.begin_open(opened, usize::MAX)?;
        loop {
            match step {
                OpenStep::Done(id) => return Some(id),
                OpenStep::Gone => return None,
                OpenStep::More(opening) => step = self.open_step(opening, usize::MAX),
            }
        }
    }

    /// Starts putting in a document parsed by [`OpenPlan::parse`]: the document, and
    /// its first chunks up to about `slice` entities and references; the rest goes in
    /// by [`AnalysisHost::open_step`], a slice per call, so that a server can let go
    /// of its lock in between (a file of 100,000 definitions takes a while to put in).
    /// Meanwhile the document is open (its changes, and reloads from disk, wait) and
    /// the graph holds the chunks put in so far. `None` if its root was removed.
    pub fn begin_open(&mut self, opened: OpenedDocument, slice: usize) -> Option<OpenStep> {
        let OpenedDocument {
            plan,
            doc,
            summary,
            hash,
        } = opened;
        if !self.has_root(plan.root) {
            return None;
        }
        // Opened with the text the graph was extracted from (a file opened as it is on
        // disk): the graph stays as it is, and nothing waits for it to be rebuilt.
        if let Some(id) = self.graph.file_id(plan.root, &plan.rel) {
            if summary.is_ok() && self.extracted.get(&id) == Some(&hash) {
                self.docs.insert(id, doc);
                return Some(OpenStep::Done(id));
            }
        }
        let line_index = doc.line_index().clone();
        let (summary, rest) = match summary {
            Ok(summary) => {
                let mut rest = summary.chunks.into_iter();
                let first = next_slice(&mut rest, slice);
                (Ok(FileSummary { chunks: first }), Some(rest))
            }
            Err(reason) => (Err(reason), None),
        };
        let (id, _) = self.graph.upsert_file(FileInput {
            root: plan.root,
            rel: plan.rel,
            lang: plan.lang.id,
            line_index: line_index.clone(),
            summary,
        });
        self.extracted.remove(&id);
        self.docs.insert(id, doc);
        let Some(rest) = rest else {
            return Some(OpenStep::Done(id));
        };
        let placed = self.graph.file_data(id).map_or(0, |f| f.chunks.len());
        Some(self.open_step(
            Opening {
                id,
                line_index,
                rest,
                placed,
                hash,
            },
            0,
        ))
    }

    /// Puts in the next slice of a document being opened (see
    /// [`AnalysisHost::begin_open`]): about `slice` entities and references, at least
    /// one chunk (none when `slice` is 0: then it only says whether more is left).
    pub fn open_step(&mut self, mut opening: Opening, slice: usize) -> OpenStep {
        let id = opening.id;
        // Closed, or its root removed, meanwhile.
        let open = self.docs.contains_key(&id)
            && self
                .graph
                .file_data(id)
                .is_some_and(|f| f.chunks.len() == opening.placed);
        if !open {
            return OpenStep::Gone;
        }
        if slice > 0 {
            let next = next_slice(&mut opening.rest, slice);
            opening.placed += next.len();
            self.graph.apply_chunks(
                id,
                opening.line_index.clone(),
                opening.placed - next.len(),
                0,
                next,
                0,
            );
        }
        if opening.rest.len() > 0 {
            return OpenStep::More(opening);
        }
        self.extracted.insert(id, opening.hash);
        OpenStep::Done(id)
    }

    /// Applies an editor's changes to an open document, incrementally.
    pub fn change_document(
        &mut self,
        file: FileId,
        changes: &[DocumentChange],
        encoding: PositionEncoding,
    ) -> Result<UpdateStats, ChangeError> {
        let doc = self.docs.get_mut(&file).ok_or(ChangeError::NotOpen)?;
        let delta = doc.edit(changes, encoding).map_err(ChangeError::Document)?;
        let line_index = doc.line_index().clone();
        self.apply_delta(file, line_index, delta)
    }

    /// A copy of an open document, to be edited by [`edit_document`] outside the host
    /// (and a server's lock), then put back by [`AnalysisHost::finish_change`].
    pub fn document_to_edit(&self, file: FileId) -> Result<EditingDocument, ChangeError> {
        let doc = self.docs.get(&file).ok_or(ChangeError::NotOpen)?;
        Ok(EditingDocument {
            file,
            doc: doc.clone(),
        })
    }

    /// Puts back a document edited by [`edit_document`] and updates the graph. The
    /// caller makes sure nothing else edited it meanwhile (a server's edits of one
    /// document are applied one at a time, in order).
    pub fn finish_change(&mut self, edited: EditedDocument) -> Result<UpdateStats, ChangeError> {
        let EditedDocument { file, doc, delta } = edited;
        if !self.docs.contains_key(&file) {
            return Err(ChangeError::NotOpen);
        }
        let line_index = doc.line_index().clone();
        self.docs.insert(file, doc);
        self.apply_delta(file, line_index, delta)
    }

    fn apply_delta(
        &mut self,
        file: FileId,
        line_index: LineIndex,
        delta: FileDelta,
    ) -> Result<UpdateStats, ChangeError> {
        self.extracted.remove(&file);
        Ok(match delta {
            FileDelta::Chunks {
                first,
                removed,
                inserted,
                shift,
            } => self
                .graph
                .apply_chunks(file, line_index, first, removed, inserted, shift),
            FileDelta::Skipped(reason) => self.graph.skip_file(file, line_index, reason),
            FileDelta::Full(summary) => {
                let f = self.graph.file_data(file).ok_or(ChangeError::NotOpen)?;
                let input = FileInput {
                    root: f.root,
                    rel: f.rel.to_string(),
                    lang: f.lang,
                    line_index,
                    summary: Ok(summary),
                };
                self.graph.upsert_file(input).1
            }
        })
    }

    /// Closes a document; the file goes back to its contents on disk.
    pub fn close_document(&mut self, file: FileId) -> Option<UpdateStats> {
        let path = self.forget_document(file)?;
        self.reload_file(&path)
    }

    /// Closes a document without reading its file again: its path, for a server to
    /// reload outside its lock (see [`AnalysisHost::reload_file`]). Until then the graph
    /// keeps the document's last text.
    pub fn forget_document(&mut self, file: FileId) -> Option<PathBuf> {
        self.docs.remove(&file)?;
        self.path(file)
    }

    pub fn document(&self, file: FileId) -> Option<&Document> {
        self.docs.get(&file)
    }
}

/// What re-reading a file from disk takes, from [`AnalysisHost::plan_reload`].
pub enum Reload {
    /// Nothing: outside the roots, a language not indexed, a document open (it wins),
    /// or a new file the walk would skip.
    Nothing,
    /// The file is gone: [`AnalysisHost::remove_file`].
    Remove,
    /// Read and parse it ([`ReloadPlan::load`], no host needed), then put it in.
    Load(ReloadPlan),
}

/// A file to read again, from [`AnalysisHost::plan_reload`].
pub struct ReloadPlan {
    root: u32,
    path: PathBuf,
    rel: String,
    lang: &'static Language,
    limits: Limits,
    /// The content hash of the text the graph was extracted from, if any.
    extracted: Option<u64>,
}

/// A file read by [`ReloadPlan::load`], for [`AnalysisHost::finish_reload`].
pub enum Reloaded {
    /// The text the graph already holds (a document closed as it was saved).
    Unchanged,
    Changed {
        input: Box<FileInput>,
        stamp: Option<DiskStamp>,
    },
}

impl ReloadPlan {
    /// Reads and parses the file: the slow part, which needs no host.
    pub fn load(self) -> Reloaded {
        let (input, stamp) = match read_source(&self.path, &self.limits) {
            Ok((_, stamp)) if Some(stamp.hash) == self.extracted => return Reloaded::Unchanged,
            Ok((bytes, stamp)) => (
                extract_source(self.root, &self.rel, self.lang, &self.limits, &bytes),
                Some(stamp),
            ),
            Err(reason) => (skipped_input(self.root, &self.rel, self.lang, reason), None),
        };
        Reloaded::Changed {
            input: Box::new(input),
            stamp,
        }
    }
}

/// Where a document goes, from [`AnalysisHost::plan_open`].
#[derive(Clone, Debug)]
pub struct OpenPlan {
    root: u32,
    rel: String,
    lang: &'static Language,
    limits: Limits,
}

impl OpenPlan {
    /// Parses and extracts the document's text: the slow part of opening it, which
    /// needs no host.
    pub fn parse(self, text: String) -> OpenedDocument {
        let hash = crate::persist::content_hash(text.as_bytes());
        let (doc, summary) = Document::open(self.lang, text, self.limits);
        OpenedDocument {
            plan: self,
            doc,
            summary,
            hash,
        }
    }
}

/// A document parsed by [`OpenPlan::parse`], for [`AnalysisHost::finish_open`].
pub struct OpenedDocument {
    plan: OpenPlan,
    doc: Document,
    summary: Result<FileSummary, SkipReason>,
    /// The content hash of the text.
    hash: u64,
}

/// Where opening a document is (see [`AnalysisHost::begin_open`]).
pub enum OpenStep {
    /// In: the document and all of its chunks.
    Done(FileId),
    /// More chunks to put in, by [`AnalysisHost::open_step`].
    More(Opening),
    /// The document was closed, or its root removed, before all of it was in.
    Gone,
}

/// A document whose chunks are being put in a slice at a time.
pub struct Opening {
    id: FileId,
    line_index: LineIndex,
    rest: std::vec::IntoIter<ChunkSummary>,
    /// Chunks of the file in the graph so far.
    placed: usize,
    /// The content hash of the text.
    hash: u64,
}

/// The content hash a file's graph entry is extracted from, when it was read and
/// extracted (a skipped file has no extraction to reuse).
pub(crate) fn extracted_hash(input: &FileInput, stamp: Option<DiskStamp>) -> Option<u64> {
    stamp.filter(|_| input.summary.is_ok()).map(|s| s.hash)
}

/// The next chunks of `rest` holding about `slice` entities and references, at least
/// one.
fn next_slice(rest: &mut std::vec::IntoIter<ChunkSummary>, slice: usize) -> Vec<ChunkSummary> {
    let mut out = Vec::new();
    let mut size = 0usize;
    while size < slice.max(1) {
        let Some(chunk) = rest.next() else {
            break;
        };
        size = size.saturating_add(chunk.entities.len() + chunk.refs.len());
        out.push(chunk);
    }
    out
}

/// A copy of an open document, from [`AnalysisHost::document_to_edit`].
pub struct EditingDocument {
    file: FileId,
    doc: Document,
}

/// A document edited outside the host, for [`AnalysisHost::finish_change`].
pub struct EditedDocument {
    file: FileId,
    doc: Document,
    delta: FileDelta,
}

/// Applies an editor's changes to a copy of an open document: the slow part of a
/// change (reparse and extraction), which needs no host.
pub fn edit_document(
    editing: EditingDocument,
    changes: &[DocumentChange],
    encoding: PositionEncoding,
) -> Result<EditedDocument, ChangeError> {
    let EditingDocument { file, mut doc } = editing;
    let delta = doc.edit(changes, encoding).map_err(ChangeError::Document)?;
    Ok(EditedDocument { file, doc, delta })
}

/// Why a document change was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("the document is not open")]
    NotOpen,
    #[error(transparent)]
    Document(codecontext_syntax::DocumentError),
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Files read and extracted, ready for [`AnalysisHost::insert_batch`].
pub struct LoadedBatch {
    pub(crate) inputs: Vec<FileInput>,
    /// What each file was on disk when read (`None` when it could not be read).
    pub(crate) stamps: Vec<Option<DiskStamp>>,
    /// Bytes read from disk.
    pub bytes: u64,
}

impl LoadedBatch {
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

/// Where a file's extraction may come from instead of a parse: given the relative path
/// and the content hash just read, a stored extraction of that same content.
pub type Reuse<'a> = &'a (dyn Fn(&str, u64) -> Option<FileInput> + Sync);

/// Reads and extracts files of a root on all cores, without touching the host, so a
/// server can do it outside its lock. `done` is called with each file's relative path
/// as it finishes, from worker threads.
pub fn load_batch(
    root_index: u32,
    files: &[SourceFile],
    limits: &Limits,
    done: &(dyn Fn(&str) + Sync),
) -> LoadedBatch {
    load_batch_reusing(root_index, files, limits, done, &|_, _| None)
}

/// [`load_batch`], but a file whose content hash matches a stored extraction takes it
/// from `reuse` instead of being parsed.
pub fn load_batch_reusing(
    root_index: u32,
    files: &[SourceFile],
    limits: &Limits,
    done: &(dyn Fn(&str) + Sync),
    reuse: Reuse<'_>,
) -> LoadedBatch {
    let loaded: Vec<(FileInput, u64, Option<DiskStamp>)> = files
        .par_iter()
        .map(|file| {
            let input = load_file(root_index, &file.path, &file.rel, file.lang, limits, reuse);
            done(&file.rel);
            input
        })
        .collect();
    let mut batch = LoadedBatch {
        inputs: Vec::with_capacity(loaded.len()),
        stamps: Vec::with_capacity(loaded.len()),
        bytes: 0,
    };
    for (input, bytes, stamp) in loaded {
        batch.bytes += bytes;
        batch.inputs.push(input);
        batch.stamps.push(stamp);
    }
    batch
}

/// Reads and extracts one file; never fails, a problem becomes a skip reason.
pub(crate) fn load_file(
    root: u32,
    path: &Path,
    rel: &str,
    lang: &'static Language,
    limits: &Limits,
    reuse: Reuse<'_>,
) -> (FileInput, u64, Option<DiskStamp>) {
    let (bytes, stamp) = match read_source(path, limits) {
        Ok(read) => read,
        Err(reason) => return (skipped_input(root, rel, lang, reason), 0, None),
    };
    let size = bytes.len() as u64;
    if let Some(input) = reuse(rel, stamp.hash) {
        return (input, size, Some(stamp));
    }
    (
        extract_source(root, rel, lang, limits, &bytes),
        size,
        Some(stamp),
    )
}

/// A file's bytes and what it was on disk, its size checked before it is read (so
/// that a huge file is never loaded).
fn read_source(path: &Path, limits: &Limits) -> Result<(Vec<u8>, DiskStamp), SkipReason> {
    let io = |e: std::io::Error| SkipReason::Io {
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > limits.max_file_size {
        return Err(SkipReason::TooLarge {
            size: meta.len(),
            limit: limits.max_file_size,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let stamp = DiskStamp::new(&meta, &bytes);
    Ok((bytes, stamp))
}

/// A file read by [`read_source`], checked and extracted.
fn extract_source(
    root: u32,
    rel: &str,
    lang: &'static Language,
    limits: &Limits,
    bytes: &[u8],
) -> FileInput {
    let text = match check_source(bytes, limits) {
        Ok(t) => t,
        Err(reason) => return skipped_input(root, rel, lang, reason),
    };
    FileInput {
        root,
        rel: rel.to_string(),
        lang: lang.id,
        line_index: LineIndex::new(text),
        summary: summarize(lang, text, limits, ExtractOptions::default()),
    }
}

/// A file that is not indexed, and why.
fn skipped_input(root: u32, rel: &str, lang: &'static Language, reason: SkipReason) -> FileInput {
    FileInput {
        root,
        rel: rel.to_string(),
        lang: lang.id,
        line_index: LineIndex::default(),
        summary: Err(reason),
    }
}

#[cfg(test)]
mod tests {
    use codecontext_syntax::DocumentChange;
    use codecontext_text::WideLineCol;

    use super::*;

    fn names(host: &AnalysisHost, query: &str) -> Vec<String> {
        host.analysis()
            .symbols(query, codecontext_graph::SearchMode::Exact, 10)
            .into_iter()
            .map(|t| t.qualified_name)
            .collect()
    }

    /// Opening a file with the text it has on disk, and closing it unchanged, leave the
    /// graph as it is (nothing is taken out and put back under a server's lock); any
    /// other text, and any edit, updates it.
    #[test]
    fn a_document_opened_or_closed_as_the_graph_has_it_leaves_the_graph_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().canonicalize().expect("canonical");
        let path = root.join("a.py");
        let disk = "def f():\n    return g()\n\ndef g():\n    return 1\n";
        std::fs::write(&path, disk).expect("write");
        let mut host = AnalysisHost::default();
        host.index_root(&root, None);
        let indexed = host.graph().revision();

        let id = host.open_document(&path, disk.to_string()).expect("opens");
        assert_eq!(host.graph().revision(), indexed, "opened as on disk");
        assert_eq!(names(&host, "g"), ["a.g"]);
        host.close_document(id).expect("closes");
        assert_eq!(host.graph().revision(), indexed, "closed unchanged");

        // Open again, then type: the document edits incrementally from the tree it
        // was opened with, and the graph follows.
        let id = host.open_document(&path, disk.to_string()).expect("opens");
        let end = host
            .analysis()
            .line_index(id)
            .expect("indexed")
            .line_count()
            - 1;
        let at = WideLineCol { line: end, col: 0 };
        host.change_document(
            id,
            &[DocumentChange {
                range: Some((at, at)),
                text: "\ndef typed():\n    return f()\n".into(),
            }],
            PositionEncoding::Utf16,
        )
        .expect("the edit applies");
        assert!(host.graph().revision() > indexed);
        assert_eq!(names(&host, "typed"), ["a.typed"]);
        // Closed with unsaved text: back to the disk's.
        let edited = host.graph().revision();
        host.close_document(id).expect("closes");
        assert!(host.graph().revision() > edited);
        assert!(names(&host, "typed").is_empty());

        // Opened with other text than the disk's: the graph has the editor's text.
        let before = host.graph().revision();
        host.open_document(&path, format!("{disk}\ndef other():\n    pass\n"))
            .expect("opens");
        assert!(host.graph().revision() > before);
        assert_eq!(names(&host, "other"), ["a.other"]);
    }

    /// A document put in a chunk at a time (as a server does, letting go of its lock
    /// in between) ends as the same graph as one put in at once: references to names
    /// defined in later slices resolve as they arrive.
    #[test]
    fn a_document_opened_in_slices_is_the_document_opened_at_once() {
        let text: String = (0..40)
            .map(|i| {
                format!(
                    "fn f{i}() -> u32 {{ f{}() + g{}() }}\nstruct S{i};\nimpl S{i} {{ fn m(&self) -> u32 {{ f{}() }} }}\n",
                    (i + 7) % 40,
                    (i + 3) % 40,
                    (i + 39) % 40
                )
            })
            .chain((0..40).map(|i| format!("fn g{i}() -> u32 {{ {i} }}\n")))
            .collect();
        let open = |slice: Option<usize>| {
            let dir = tempfile::tempdir().expect("temp dir");
            let root = dir.path().canonicalize().expect("canonical");
            std::fs::write(root.join("other.rs"), "fn caller() { f3(); g5(); }\n").expect("write");
            let path = root.join("lib.rs");
            let mut host = AnalysisHost::default();
            host.index_root(&root, None);
            let opened = host.plan_open(&path).expect("a plan").parse(text.clone());
            let id = match slice {
                None => host.finish_open(opened).expect("opens"),
                Some(slice) => {
                    let mut step = host.begin_open(opened, slice).expect("opens");
                    let mut steps = 0;
                    let id = loop {
                        match step {
                            OpenStep::Done(id) => break id,
                            OpenStep::Gone => panic!("the document went away"),
                            OpenStep::More(opening) => {
                                steps += 1;
                                step = host.open_step(opening, slice);
                            }
                        }
                    };
                    assert!(steps >= 40, "{steps} steps");
                    id
                }
            };
            let other = host.file_id(&root.join("other.rs")).expect("other.rs");
            let g = host.graph();
            (
                g.export_resolutions(id).expect("lib.rs resolutions"),
                g.export_resolutions(other).expect("other.rs resolutions"),
                host.analysis().outline(id).len(),
                g.file_data(id).expect("lib.rs").entities.len(),
            )
        };
        let at_once = open(None);
        assert_eq!(
            at_once.2, 160,
            "every item in the outline (f, S, impl S, g)"
        );
        assert_eq!(open(Some(1)), at_once);
        assert_eq!(open(Some(8)), at_once);
    }
}
