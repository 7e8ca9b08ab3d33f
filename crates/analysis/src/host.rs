//! [`AnalysisHost`]: owns the graph and the open documents and applies every change in
//! order. Queries go through [`Analysis`], a read-only view.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use codecontext_graph::{EdgeStats, FileId, FileInput, ModuleContext, SymbolGraph, UpdateStats};
use codecontext_lang::Language;
use codecontext_syntax::{
    check_source, summarize, Document, DocumentChange, ExtractOptions, FileDelta, Limits,
    SkipReason,
};
use codecontext_text::{LineIndex, PositionEncoding};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::{
    workspace::{extend_module_context, rel_path, walk},
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
    pub(crate) roots: Vec<PathBuf>,
    pub(crate) docs: FxHashMap<FileId, Document>,
    pub(crate) config: HostConfig,
}

/// Files are parsed in batches of this many, so that summaries of the whole workspace
/// never sit in memory at once.
const BATCH: usize = 256;

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
        }
    }

    /// A read-only view for queries.
    pub fn analysis(&self) -> Analysis<'_> {
        Analysis { host: self }
    }

    pub fn graph(&self) -> &SymbolGraph {
        &self.graph
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    fn root_index(&mut self, root: &Path) -> u32 {
        match self.roots.iter().position(|r| r == root) {
            Some(i) => i as u32,
            None => {
                self.roots.push(root.to_path_buf());
                (self.roots.len() - 1) as u32
            }
        }
    }

    /// The file id of an absolute or root-relative path.
    pub fn file_id(&self, path: &Path) -> Option<FileId> {
        for (i, root) in self.roots.iter().enumerate() {
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
        Some(self.roots.get(f.root as usize)?.join(&*f.rel))
    }

    /// Indexes a workspace root: walks it, parses every file on all cores, and resolves
    /// the graph. `progress` is called from worker threads.
    pub fn index_root(
        &mut self,
        root: &Path,
        progress: Option<&(dyn Fn(Progress<'_>) + Sync)>,
    ) -> IndexReport {
        let start = Instant::now();
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let root_index = self.root_index(&root);
        let found = walk(&root);
        let mut ctx: ModuleContext = self.graph.module_context().clone();
        extend_module_context(&mut ctx, root_index, &found);
        self.graph.set_module_context(ctx);
        let walk_time = start.elapsed();

        let total = found.files.len();
        let done = AtomicUsize::new(0);
        let limits = self.config.limits;
        let parse_start = Instant::now();
        let mut bytes = 0u64;
        // Parsing runs on the thread pool while this thread feeds finished batches into
        // the graph, so graph insertion overlaps with parsing.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<(FileInput, u64)>>(2);
        let files = &found.files;
        let done = &done;
        std::thread::scope(|scope| {
            scope.spawn(move || {
                for batch in files.chunks(BATCH) {
                    let inputs: Vec<(FileInput, u64)> = batch
                        .par_iter()
                        .map(|file| {
                            let input =
                                load_file(root_index, &file.path, &file.rel, file.lang, &limits);
                            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                            if let Some(p) = progress {
                                p(Progress {
                                    done: n,
                                    total,
                                    current: &file.rel,
                                });
                            }
                            input
                        })
                        .collect();
                    if sender.send(inputs).is_err() {
                        break;
                    }
                }
            });
            for inputs in receiver {
                bytes += inputs.iter().map(|(_, b)| *b).sum::<u64>();
                self.graph
                    .load_files_unresolved(inputs.into_iter().map(|(i, _)| i).collect());
            }
        });
        let parse_time = parse_start.elapsed();
        let resolve_start = Instant::now();
        self.graph.resolve_pending();
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
    /// documents win over disk and are left alone.
    pub fn reload_file(&mut self, path: &Path) -> Option<UpdateStats> {
        let (root_index, rel) = self.locate_path(path)?;
        if let Some(id) = self.graph.file_id(root_index, &rel) {
            if self.docs.contains_key(&id) {
                return None;
            }
        }
        let lang = codecontext_lang::language_for_path(path)?;
        if !path.is_file() {
            return self.remove_file(path);
        }
        let (input, _) = load_file(root_index, path, &rel, lang, &self.config.limits);
        Some(self.graph.upsert_file(input).1)
    }

    /// Drops a file that no longer exists.
    pub fn remove_file(&mut self, path: &Path) -> Option<UpdateStats> {
        let (root_index, rel) = self.locate_path(path)?;
        let id = self.graph.file_id(root_index, &rel)?;
        self.docs.remove(&id);
        Some(self.graph.remove_file(id))
    }

    fn locate_path(&self, path: &Path) -> Option<(u32, String)> {
        self.roots
            .iter()
            .enumerate()
            .filter_map(|(i, root)| Some((i as u32, rel_path(root, path)?)))
            .max_by_key(|(i, _)| self.roots[*i as usize].as_os_str().len())
    }

    /// Opens a document with the editor's text; it wins over disk until closed.
    pub fn open_document(&mut self, path: &Path, text: String) -> Option<FileId> {
        let (root_index, rel) = self.locate_path(path)?;
        let lang = codecontext_lang::language_for_path(path)?;
        let (doc, summary) = Document::open(lang, text, self.config.limits);
        let line_index = doc.line_index().clone();
        let (id, _) = self.graph.upsert_file(FileInput {
            root: root_index,
            rel,
            lang: lang.id,
            line_index,
            summary,
        });
        self.docs.insert(id, doc);
        Some(id)
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
        self.docs.remove(&file)?;
        let path = self.path(file)?;
        self.reload_file(&path)
    }

    pub fn document(&self, file: FileId) -> Option<&Document> {
        self.docs.get(&file)
    }
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

/// Reads and extracts one file; never fails, a problem becomes a skip reason.
pub(crate) fn load_file(
    root: u32,
    path: &Path,
    rel: &str,
    lang: &'static Language,
    limits: &Limits,
) -> (FileInput, u64) {
    let fail = |reason: SkipReason, size: u64| {
        (
            FileInput {
                root,
                rel: rel.to_string(),
                lang: lang.id,
                line_index: LineIndex::default(),
                summary: Err(reason),
            },
            size,
        )
    };
    // Check the size before reading, so a huge file is never loaded.
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > limits.max_file_size => {
            return fail(
                SkipReason::TooLarge {
                    size: meta.len(),
                    limit: limits.max_file_size,
                },
                0,
            )
        }
        Ok(_) => {}
        Err(e) => {
            return fail(
                SkipReason::Io {
                    message: e.to_string(),
                },
                0,
            )
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                SkipReason::Io {
                    message: e.to_string(),
                },
                0,
            )
        }
    };
    let size = bytes.len() as u64;
    let text = match check_source(&bytes, limits) {
        Ok(t) => t,
        Err(reason) => return fail(reason, size),
    };
    let line_index = LineIndex::new(text);
    let summary = summarize(lang, text, limits, ExtractOptions::default());
    (
        FileInput {
            root,
            rel: rel.to_string(),
            lang: lang.id,
            line_index,
            summary,
        },
        size,
    )
}
