//! [`SymbolGraph`]: the store of files, entities and resolved references, its global
//! indexes, and the incremental update that keeps them consistent.
//!
//! An update replaces a run of chunks of one file. The graph unregisters what the old
//! chunks defined and referenced, registers the new chunks, resolves the new references,
//! and then re-resolves, anywhere in the workspace, only the references whose recorded
//! dependencies include a name whose facts changed.

use std::{
    hash::{Hash, Hasher},
    sync::Arc,
};

use codecontext_lang::{language, LanguageId};
use codecontext_syntax::{ChunkSummary, EntityKind, FileSummary, Receiver, SkipReason};
use codecontext_text::{LineIndex, TextRange};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use smallvec::SmallVec;

use crate::{
    intern::{Interner, Name},
    model::{
        ChunkInfo, DepSets, Entity, EntityId, EntityLoc, FileData, FileId, ImportInfo, OptIdx,
        Recv, Ref, Resolution,
    },
    modules::{display_module, file_module_keys, ModuleContext},
    resolve::{Dep, Resolver},
    search::SymbolIndex,
};

/// A qualified name lists at most this many containers, the innermost ones: a name per
/// container would make the names of a nest N deep, all together, N² long.
const MAX_QUALIFIED_CONTAINERS: usize = 64;

/// What decides a reference's resolution, besides the names it reads: two references
/// with equal keys in the same file resolve the same way.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct RefKey {
    kind: codecontext_syntax::RefKind,
    name: Name,
    receiver: (u8, u32),
    source: Option<EntityId>,
    local_target: Option<EntityId>,
    import: Option<EntityId>,
}

fn ref_key(f: &FileData, index: usize) -> RefKey {
    let r = &f.refs[index];
    let id = |i: OptIdx| i.get().map(|i| f.entities[i as usize].id);
    let receiver = match r.receiver {
        Recv::None => (0, 0),
        Recv::SelfType => (1, 0),
        Recv::SuperType => (2, 0),
        Recv::Type(t) => (3, t.0),
        Recv::Ref(k) => (4, index as u32 - k),
        Recv::Unknown => (5, 0),
        Recv::ModulePath(p) => (6, p.0),
    };
    RefKey {
        kind: r.kind,
        name: r.name,
        receiver,
        source: id(r.source),
        local_target: id(r.local_target),
        import: id(r.import),
    }
}

/// The outcome of a splice: the range of new references, and those of them whose
/// resolution carried over from an identical reference they replaced.
struct Spliced {
    new_refs: std::ops::Range<u32>,
    reused: Resolved,
}

/// Fresh resolutions of some references of one file, with what each read.
pub(crate) type Resolved = Vec<(u32, Resolution, Vec<Dep>)>;

/// A sorted small map from file to a count, used for reverse indexes.
pub(crate) type FileCounts = SmallVec<[(FileId, u32); 2]>;

fn counts_add(counts: &mut FileCounts, file: FileId, delta: i64) {
    match counts.binary_search_by_key(&file, |(f, _)| *f) {
        Ok(i) => {
            let n = counts[i].1 as i64 + delta;
            if n <= 0 {
                counts.remove(i);
            } else {
                counts[i].1 = n as u32;
            }
        }
        Err(i) => {
            if delta > 0 {
                counts.insert(i, (file, delta as u32));
            }
        }
    }
}

/// A file to load: where it is, its language, and what extraction made of it.
pub struct FileInput {
    pub root: u32,
    pub rel: String,
    pub lang: LanguageId,
    pub line_index: LineIndex,
    pub summary: Result<FileSummary, SkipReason>,
}

/// Pending files being resolved a slice at a time.
#[derive(Clone, Default)]
pub(crate) struct Round {
    /// Files still to resolve, last first.
    todo: Vec<FileId>,
    done: FxHashSet<FileId>,
    /// Names the new files defined or dropped.
    changed: FxHashSet<Name>,
}

/// What a [`SymbolGraph::resolve_pending_step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveStep {
    /// Nothing was pending.
    Idle,
    /// Resolved this many references; more files are pending.
    More(usize),
    /// Resolved this many references; the round is complete.
    Done(usize),
}

/// The code knowledge graph of a workspace.
#[derive(Clone, Default)]
pub struct SymbolGraph {
    pub(crate) interner: Interner,
    pub(crate) module_ctx: ModuleContext,
    pub(crate) files: Vec<Option<FileData>>,
    pub(crate) paths: FxHashMap<(u32, Arc<str>), FileId>,
    pub(crate) entity_loc: FxHashMap<EntityId, EntityLoc>,
    /// Named entities by name (not files, imports or impl blocks).
    pub(crate) by_name: FxHashMap<Name, SmallVec<[EntityId; 2]>>,
    /// Members by `(container name, member name)`.
    pub(crate) members: FxHashMap<(Name, Name), SmallVec<[EntityId; 2]>>,
    /// `impl` blocks by the name of their type.
    pub(crate) impls: FxHashMap<Name, SmallVec<[EntityId; 1]>>,
    pub(crate) by_module: FxHashMap<Name, SmallVec<[FileId; 1]>>,
    /// Which files have references whose resolution read a name.
    pub(crate) dependents: FxHashMap<Name, FileCounts>,
    /// Which files have references resolved to an entity.
    pub(crate) incoming: FxHashMap<EntityId, FileCounts>,
    pub(crate) search: SymbolIndex,
    pub(crate) star: Option<Name>,
    /// Binding names of import entities, with counts.
    pub(crate) import_names: FxHashMap<Name, u32>,
    pub(crate) pending_files: Vec<FileId>,
    pub(crate) pending_changed: FxHashSet<Name>,
    /// A resolution of pending files in progress (see `resolve_pending_step`).
    pub(crate) round: Option<Round>,
    /// Files restored with stored resolutions, until `finish_restore`.
    pub(crate) restore: Option<crate::restore::Restore>,
    /// Bumped by every change of a file's contents or resolutions.
    pub(crate) revision: u64,
}

/// What one update changed, for callers that report or test it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateStats {
    /// References resolved because they were new.
    pub resolved_new: usize,
    /// References elsewhere re-resolved because a name they read changed.
    pub re_resolved: usize,
    /// Names whose facts changed.
    pub changed_names: usize,
}

fn hash_str(h: &mut FxHasher, s: &str) {
    s.hash(h);
}

/// The path-derived base of entity ids.
fn file_hash(root: u32, rel: &str) -> u64 {
    let mut h = FxHasher::default();
    root.hash(&mut h);
    hash_str(&mut h, rel);
    h.finish()
}

impl SymbolGraph {
    pub fn new() -> SymbolGraph {
        let mut g = SymbolGraph::default();
        g.star = Some(g.interner.intern("*"));
        g
    }

    /// Sets crate names and Go module paths. Files already loaded keep their module
    /// keys, so call this before loading.
    pub fn set_module_context(&mut self, ctx: ModuleContext) {
        self.module_ctx = ctx;
    }

    pub fn module_context(&self) -> &ModuleContext {
        &self.module_ctx
    }

    /// Sizes of the global indexes (for diagnostics).
    pub fn index_stats(&self) -> String {
        let dependents: usize = self.dependents.values().map(|v| v.len()).sum();
        let incoming: usize = self.incoming.values().map(|v| v.len()).sum();
        format!(
            "entity_loc {} by_name {} members {} impls {} by_module {} dependents {} names / {} pairs, incoming {} targets / {} pairs, search {}",
            self.entity_loc.len(),
            self.by_name.len(),
            self.members.len(),
            self.impls.len(),
            self.by_module.len(),
            self.dependents.len(),
            dependents,
            self.incoming.len(),
            incoming,
            self.search.len()
        )
    }

    /// Estimated heap bytes held by the graph's parts (capacities times element sizes,
    /// hash tables with one control byte per slot), largest first. A diagnosis aid: it
    /// leaves out allocator overhead and the contents of strings inside elements.
    pub fn memory_report(&self) -> Vec<(&'static str, usize)> {
        use std::mem::size_of;
        fn table<K, V>(m: &FxHashMap<K, V>) -> usize {
            m.capacity() * (size_of::<(K, V)>() + 1)
        }
        fn spilled<A: smallvec::Array>(v: &SmallVec<A>) -> usize {
            if v.spilled() {
                v.capacity() * size_of::<A::Item>()
            } else {
                0
            }
        }
        let mut parts = vec![0usize; 8];
        for f in self.files.iter().flatten() {
            parts[0] += f.refs.capacity() * size_of::<Ref>();
            parts[1] += f.res.capacity() * size_of::<Resolution>()
                + f.res.iter().map(Resolution::heap_size).sum::<usize>();
            parts[2] += f.ref_deps.capacity() * 4 + f.dep_sets.heap_size();
            parts[3] += f.entities.capacity() * size_of::<Entity>()
                + f.entities
                    .iter()
                    .map(|e| {
                        e.signature.len()
                            + e.doc.as_ref().map_or(0, |d| d.len())
                            + e.import.as_ref().map_or(0, |_| size_of::<ImportInfo>())
                    })
                    .sum::<usize>();
            parts[4] += f.line_index.heap_size()
                + f.chunks.capacity() * size_of::<ChunkInfo>()
                + f.chunks.iter().map(|c| c.tokens.len() * 4).sum::<usize>()
                + table(&f.top)
                + f.errors.iter().map(|e| e.message.len() + 32).sum::<usize>();
        }
        fn counts<K>(m: &FxHashMap<K, FileCounts>) -> usize {
            m.values().map(spilled).sum()
        }
        parts[5] = table(&self.dependents)
            + counts(&self.dependents)
            + table(&self.incoming)
            + counts(&self.incoming);
        parts[6] = table(&self.entity_loc)
            + table(&self.by_name)
            + table(&self.members)
            + table(&self.impls)
            + table(&self.by_module)
            + table(&self.import_names);
        parts[7] = self.search.heap_size() + self.interner.heap_size();
        let names = [
            "refs",
            "resolutions",
            "dependency sets",
            "entities",
            "line indexes, chunks, scopes, errors",
            "dependents and incoming",
            "name tables",
            "search index and interner",
        ];
        let mut out: Vec<_> = names.into_iter().zip(parts).collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.1));
        out
    }

    /// True when some entity, or some import, anywhere binds this name.
    pub(crate) fn name_is_bound(&self, name: Name) -> bool {
        self.by_name.contains_key(&name)
            || self.import_names.contains_key(&name)
            || self.impls.contains_key(&name)
    }

    pub fn interner(&self) -> &Interner {
        &self.interner
    }

    pub fn name(&self, name: Name) -> &str {
        self.interner.resolve(name)
    }

    pub fn file_data(&self, id: FileId) -> Option<&FileData> {
        self.files.get(id.0 as usize)?.as_ref()
    }

    pub fn file_id(&self, root: u32, rel: &str) -> Option<FileId> {
        self.paths.get(&(root, Arc::from(rel))).copied()
    }

    /// Every live file.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &FileData)> + '_ {
        self.files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (FileId(i as u32), f)))
    }

    pub fn entity(&self, loc: EntityLoc) -> Option<&Entity> {
        self.file_data(loc.file)?.entities.get(loc.index as usize)
    }

    pub fn locate(&self, id: EntityId) -> Option<EntityLoc> {
        self.entity_loc.get(&id).copied()
    }

    /// The qualified name of an entity: its module, then its containers, then its name.
    /// Past 64 containers, the outer ones are one `…`.
    pub fn qualified_name(&self, loc: EntityLoc) -> String {
        let module = self.module_name(loc.file);
        self.qualified_name_in(loc, &module)
    }

    /// The module a file's entities are qualified by (see [`SymbolGraph::qualified_name`]),
    /// to be computed once for many entities of one file.
    pub fn module_name(&self, file: FileId) -> String {
        let Some(f) = self.file_data(file) else {
            return String::new();
        };
        let config = &language(f.lang).config;
        let package = f.package.map(|p| self.name(p));
        display_module(
            config.module_scheme,
            &self.module_ctx,
            f.root,
            &f.rel,
            package,
        )
    }

    /// [`SymbolGraph::qualified_name`] with its file's `module` already known.
    pub fn qualified_name_in(&self, loc: EntityLoc, module: &str) -> String {
        let Some(f) = self.file_data(loc.file) else {
            return String::new();
        };
        let config = &language(f.lang).config;
        if loc.index == 0 {
            return module.to_string();
        }
        let mut parts: Vec<&str> = f
            .container_chain(loc.index)
            .take(MAX_QUALIFIED_CONTAINERS + 1)
            .map(|c| self.name(f.entities[c as usize].name))
            .collect();
        if parts.len() > MAX_QUALIFIED_CONTAINERS {
            parts[MAX_QUALIFIED_CONTAINERS] = "…";
        }
        parts.reverse();
        let entity = &f.entities[loc.index as usize];
        if let (true, Some(owner)) = (parts.is_empty(), entity.owner) {
            parts.push(self.name(owner));
        }
        parts.push(self.name(entity.name));
        let sep = config.separator.as_str();
        if module.is_empty() {
            parts.join(sep)
        } else {
            format!("{module}{sep}{}", parts.join(sep))
        }
    }

    // ---- Loading and updating -------------------------------------------------------

    pub(crate) fn alloc_file(
        &mut self,
        root: u32,
        rel: &str,
        lang: LanguageId,
        line_index: LineIndex,
    ) -> FileId {
        let rel: Arc<str> = Arc::from(rel);
        let id = FileId(self.files.len() as u32);
        let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
        let name = self.interner.intern(&name);
        let file_entity = Entity {
            id: EntityId(file_hash(root, &rel)),
            kind: EntityKind::File,
            name,
            container: None,
            range: TextRange::new(0, line_index.len()),
            selection: TextRange::empty(0),
            signature: rel.to_string().into_boxed_str(),
            doc: None,
            type_name: None,
            owner: None,
            import: None,
            has_body: false,
            shape: 0,
            fact: 0,
        };
        let scheme = codecontext_lang::language(lang).config.module_scheme;
        let unit = self.interner.intern(&crate::modules::unit_key(
            scheme,
            &self.module_ctx,
            root,
            &rel,
        ));
        self.files.push(Some(FileData {
            root,
            rel: rel.clone(),
            unit,
            lang,
            line_index,
            skipped: None,
            package: None,
            module_keys: Vec::new(),
            entities: vec![file_entity],
            refs: Vec::new(),
            res: Vec::new(),
            ref_deps: Vec::new(),
            dep_sets: DepSets::default(),
            chunks: Vec::new(),
            errors: Vec::new(),
            top: FxHashMap::default(),
        }));
        self.paths.insert((root, rel), id);
        self.entity_loc.insert(
            EntityId(file_hash(
                root,
                &self.files[id.0 as usize].as_ref().expect("just pushed").rel,
            )),
            EntityLoc { file: id, index: 0 },
        );
        id
    }

    /// Loads many files at once: everything is registered first, then all new
    /// references are resolved in parallel. Files already present are replaced.
    pub fn load_files(&mut self, inputs: Vec<FileInput>) -> Vec<FileId> {
        let ids = self.load_files_unresolved(inputs);
        self.resolve_pending();
        ids
    }

    /// Registers files without resolving their references yet; call
    /// [`SymbolGraph::resolve_pending`] once all batches are in. Until then queries see
    /// the new files' entities but not their references' targets.
    pub fn load_files_unresolved(&mut self, inputs: Vec<FileInput>) -> Vec<FileId> {
        let mut ids = Vec::with_capacity(inputs.len());
        let mut changed = std::mem::take(&mut self.pending_changed);
        for input in inputs {
            let id = self.put_file(input, &mut changed);
            ids.push(id);
        }
        self.pending_changed = changed;
        self.pending_files.extend(ids.iter().copied());
        ids
    }

    /// Resolves the references of every file loaded by
    /// [`SymbolGraph::load_files_unresolved`], in parallel, then re-resolves what older
    /// files read of the names those files defined.
    pub fn resolve_pending(&mut self) -> usize {
        let mut total = 0;
        loop {
            match self.resolve_pending_step(usize::MAX) {
                ResolveStep::Idle => return total,
                ResolveStep::More(n) | ResolveStep::Done(n) => total += n,
            }
        }
    }

    /// [`SymbolGraph::resolve_pending`] a slice at a time: resolves the references of at
    /// most `max_files` pending files, so that a caller holding a lock can let readers
    /// in between slices. The last step re-resolves what older files read of the names
    /// the new files defined. Edits between steps are safe: a file not yet resolved
    /// simply has no resolutions for them to revisit.
    pub fn resolve_pending_step(&mut self, max_files: usize) -> ResolveStep {
        let mut round = match self.round.take() {
            Some(round) => round,
            None => {
                let mut todo = std::mem::take(&mut self.pending_files);
                todo.sort();
                todo.dedup();
                if todo.is_empty() && self.pending_changed.is_empty() {
                    return ResolveStep::Idle;
                }
                // Last first, so that `pop` goes in file order.
                todo.reverse();
                Round {
                    todo,
                    done: FxHashSet::default(),
                    changed: std::mem::take(&mut self.pending_changed),
                }
            }
        };
        let take = max_files.min(round.todo.len());
        let mut slice: Vec<FileId> = round.todo.split_off(round.todo.len() - take);
        slice.reverse();
        let mut total = 0;
        // In batches, so that the resolutions waiting to be stored stay bounded.
        for batch in slice.chunks(128) {
            let results: Vec<(FileId, Resolved)> = batch
                .par_iter()
                .map(|&id| {
                    let mut resolver = Resolver::new(self);
                    let n = self.file_data(id).map_or(0, |f| f.refs.len()) as u32;
                    let out = (0..n)
                        .map(|i| {
                            let res = resolver.resolve(id, i);
                            (i, res, resolver.take_deps())
                        })
                        .collect();
                    (id, out)
                })
                .collect();
            for (id, out) in results {
                total += out.len();
                self.store_resolutions(id, out);
            }
        }
        round.done.extend(slice);
        if round.todo.is_empty() {
            total += self.propagate(&round.changed, &round.done, None);
            ResolveStep::Done(total)
        } else {
            self.round = Some(round);
            ResolveStep::More(total)
        }
    }

    /// Replaces a whole file (or adds it).
    pub fn upsert_file(&mut self, input: FileInput) -> (FileId, UpdateStats) {
        let mut changed = FxHashSet::default();
        let id = self.put_file(input, &mut changed);
        let n = self.file_data(id).map_or(0, |f| f.refs.len()) as u32;
        let mut stats = UpdateStats {
            resolved_new: n as usize,
            changed_names: changed.len(),
            ..UpdateStats::default()
        };
        self.resolve_and_store(id, 0..n);
        stats.re_resolved = self.propagate(
            &changed,
            &FxHashSet::default(),
            Some((id, (0..n).collect())),
        );
        (id, stats)
    }

    /// Removes a file and everything it defined; references to it elsewhere re-resolve.
    pub fn remove_file(&mut self, id: FileId) -> UpdateStats {
        let mut changed = FxHashSet::default();
        if self.file_data(id).is_none() {
            return UpdateStats::default();
        }
        self.clear_file(id, &mut changed);
        self.revision += 1;
        // Unregister the file entity and module keys.
        let f = self.files[id.0 as usize].take().expect("checked above");
        self.entity_loc.remove(&f.entities[0].id);
        for key in &f.module_keys {
            if let Some(files) = self.by_module.get_mut(key) {
                files.retain(|x| *x != id);
            }
            changed.insert(*key);
        }
        self.paths.remove(&(f.root, f.rel.clone()));
        let re_resolved = self.propagate(&changed, &FxHashSet::default(), None);
        UpdateStats {
            resolved_new: 0,
            re_resolved,
            changed_names: changed.len(),
        }
    }

    /// Applies an incremental edit of a file: chunks `first..first + removed` are
    /// replaced by `inserted`, later chunks moved by `shift` bytes.
    pub fn apply_chunks(
        &mut self,
        id: FileId,
        line_index: LineIndex,
        first: usize,
        removed: usize,
        inserted: Vec<ChunkSummary>,
        shift: i64,
    ) -> UpdateStats {
        let mut changed = FxHashSet::default();
        let Some(spliced) = self.splice(
            id,
            line_index,
            first,
            removed,
            inserted,
            shift,
            &mut changed,
        ) else {
            return UpdateStats::default();
        };
        let carried: FxHashSet<u32> = spliced.reused.iter().map(|(i, _, _)| *i).collect();
        self.store_resolutions(id, spliced.reused);
        let todo: Vec<u32> = spliced.new_refs.filter(|i| !carried.contains(i)).collect();
        let resolved_new = todo.len();
        self.resolve_and_store(id, todo.clone());
        let re_resolved = self.propagate(&changed, &FxHashSet::default(), Some((id, todo)));
        UpdateStats {
            resolved_new,
            re_resolved,
            changed_names: changed.len(),
        }
    }

    /// Marks a file as skipped: its contents are dropped, the file stays known.
    pub fn skip_file(
        &mut self,
        id: FileId,
        line_index: LineIndex,
        reason: SkipReason,
    ) -> UpdateStats {
        let mut changed = FxHashSet::default();
        self.clear_file(id, &mut changed);
        if let Some(f) = self.files.get_mut(id.0 as usize).and_then(Option::as_mut) {
            f.line_index = line_index;
            f.entities[0].range = TextRange::new(0, f.line_index.len());
            f.skipped = Some(reason);
        }
        let re_resolved = self.propagate(&changed, &FxHashSet::default(), None);
        UpdateStats {
            resolved_new: 0,
            re_resolved,
            changed_names: changed.len(),
        }
    }

    /// Puts a file's extraction in place of what the graph held of it (or adds the
    /// file), resolving nothing; the names it changed go to `changed`.
    pub(crate) fn put_file(&mut self, input: FileInput, changed: &mut FxHashSet<Name>) -> FileId {
        let id = match self.file_id(input.root, &input.rel) {
            Some(id) => {
                self.clear_file(id, changed);
                id
            }
            None => self.alloc_file(input.root, &input.rel, input.lang, input.line_index.clone()),
        };
        self.install_summary(id, input.line_index, input.summary, changed);
        id
    }

    /// Removes all chunks of a file (keeping the file entity and its keys).
    pub(crate) fn clear_file(&mut self, id: FileId, changed: &mut FxHashSet<Name>) {
        let Some(f) = self.file_data(id) else {
            return;
        };
        let n = f.chunks.len();
        let li = f.line_index.clone();
        self.splice(id, li, 0, n, Vec::new(), 0, changed);
        if let Some(f) = self.files.get_mut(id.0 as usize).and_then(Option::as_mut) {
            f.dep_sets.clear();
            f.skipped = None;
        }
    }

    pub(crate) fn install_summary(
        &mut self,
        id: FileId,
        line_index: LineIndex,
        summary: Result<FileSummary, SkipReason>,
        changed: &mut FxHashSet<Name>,
    ) {
        match summary {
            Ok(summary) => {
                let n = self.file_data(id).map_or(0, |f| f.chunks.len());
                self.splice(id, line_index, 0, n, summary.chunks, 0, changed);
            }
            Err(reason) => {
                if let Some(f) = self.files.get_mut(id.0 as usize).and_then(Option::as_mut) {
                    f.line_index = line_index;
                    f.entities[0].range = TextRange::new(0, f.line_index.len());
                    f.skipped = Some(reason);
                }
                self.refresh_module_keys(id, changed);
            }
        }
    }

    /// Converts extracted chunks into graph form, splices them in, and keeps every
    /// index up to date except resolutions. Returns the indices of the new refs.
    #[allow(clippy::too_many_arguments)]
    fn splice(
        &mut self,
        id: FileId,
        line_index: LineIndex,
        first: usize,
        removed: usize,
        inserted: Vec<ChunkSummary>,
        shift: i64,
        changed: &mut FxHashSet<Name>,
    ) -> Option<Spliced> {
        let mut f = self.files.get_mut(id.0 as usize)?.take()?;
        self.revision += 1;
        if let Some(restore) = &mut self.restore {
            // Changed since restored: no longer as the saved resolutions saw it.
            restore.forget(id);
        }
        let removed = removed.min(f.chunks.len().saturating_sub(first));
        let e_start = f.chunk_entity_start(first);
        let r_start = f.chunk_ref_start(first);
        let x_start = f.chunk_error_start(first);
        let e_count: usize = f.chunks[first..first + removed]
            .iter()
            .map(|c| c.entities as usize)
            .sum();
        let r_count: usize = f.chunks[first..first + removed]
            .iter()
            .map(|c| c.refs as usize)
            .sum();
        let x_count: usize = f.chunks[first..first + removed]
            .iter()
            .map(|c| c.errors as usize)
            .sum();
        let e_end = e_start + e_count;
        let r_end = r_start + r_count;

        // Old facts of the removed entities.
        let old_facts: Vec<(EntityId, u64, Name)> = f.entities[e_start..e_end]
            .iter()
            .map(|e| (e.id, e.fact, e.name))
            .collect();
        // Keys and resolutions of the replaced references, to carry over.
        let old_refs: Vec<(RefKey, Resolution, Vec<Name>)> = (r_start..r_end)
            .map(|i| {
                (
                    ref_key(&f, i),
                    f.res[i].clone(),
                    f.deps_of(i as u32).to_vec(),
                )
            })
            .collect();
        for i in r_start..r_end {
            self.unregister_ref(id, &f, i);
        }
        for i in e_start..e_end {
            self.unregister_entity(id, &f, i);
        }
        let old_tail_ids: Vec<EntityId> = f.entities[e_end..].iter().map(|e| e.id).collect();

        // Convert the inserted chunks.
        let mut new_entities: Vec<Entity> = Vec::new();
        let mut new_refs: Vec<Ref> = Vec::new();
        let mut new_errors = Vec::new();
        let mut new_chunks = Vec::new();
        for chunk in inserted {
            let eb = (e_start + new_entities.len()) as u32;
            let rb = (r_start + new_refs.len()) as u32;
            new_chunks.push(ChunkInfo {
                range: chunk.range,
                package: chunk.package.as_deref().map(|p| self.interner.intern(p)),
                entities: chunk.entities.len() as u32,
                refs: chunk.refs.len() as u32,
                errors: chunk.errors.len() as u32,
                tokens: chunk.tokens.into_boxed_slice(),
            });
            for e in chunk.entities {
                let import = e.import.map(|i| {
                    Box::new(ImportInfo {
                        path: self.interner.intern(&i.path),
                        name: i.name.as_deref().map(|n| self.interner.intern(n)),
                        glob: i.glob,
                        export: i.export,
                        default: i.default,
                        submodule: i.submodule,
                    })
                });
                new_entities.push(Entity {
                    id: EntityId(0),
                    kind: e.kind,
                    name: self.interner.intern(&e.name),
                    container: e.container.map(|c| c + eb),
                    range: e.range,
                    selection: e.selection,
                    signature: e.signature.into_boxed_str(),
                    doc: e.doc.map(String::into_boxed_str),
                    type_name: e.type_name.as_deref().map(|t| self.interner.intern(t)),
                    owner: e.owner.as_deref().map(|t| self.interner.intern(t)),
                    has_body: e.has_body,
                    shape: e.shape,
                    import,
                    fact: 0,
                });
            }
            for r in chunk.refs {
                let receiver = match r.receiver {
                    Receiver::None => Recv::None,
                    Receiver::SelfType => Recv::SelfType,
                    Receiver::SuperType => Recv::SuperType,
                    Receiver::Type(t) => Recv::Type(self.interner.intern(&t)),
                    Receiver::Ref(k) => Recv::Ref(k + rb),
                    Receiver::Unknown => Recv::Unknown,
                    Receiver::ModulePath(p) => Recv::ModulePath(self.interner.intern(&p)),
                };
                new_refs.push(Ref {
                    kind: r.kind,
                    name: self.interner.intern(&r.name),
                    range: r.range,
                    receiver,
                    source: r.source.map(|s| s + eb).into(),
                    local_target: r.local_target.map(|t| t + eb).into(),
                    import: r.import.map(|i| i + eb).into(),
                });
            }
            new_errors.extend(chunk.errors);
        }
        let de = new_entities.len() as i64 - e_count as i64;
        let dr = new_refs.len() as i64 - r_count as i64;
        let n_new_refs = new_refs.len();

        // Shift what comes after.
        let adj = |x: u32, d: i64| (x as i64 + d) as u32;
        for e in &mut f.entities[e_end..] {
            e.range = e.range.shifted(shift);
            e.selection = e.selection.shifted(shift);
            if let Some(c) = e.container {
                if c as usize >= e_end {
                    e.container = Some(adj(c, de));
                }
            }
        }
        for r in &mut f.refs[r_end..] {
            r.range = r.range.shifted(shift);
            let fix_e = |x: OptIdx| -> OptIdx {
                x.get()
                    .map(|v| if v as usize >= e_end { adj(v, de) } else { v })
                    .into()
            };
            r.source = fix_e(r.source);
            r.local_target = fix_e(r.local_target);
            r.import = fix_e(r.import);
            if let Recv::Ref(k) = r.receiver {
                if k as usize >= r_end {
                    r.receiver = Recv::Ref(adj(k, dr));
                }
            }
        }
        for x in &mut f.errors[x_start + x_count..] {
            x.range = x.range.shifted(shift);
        }
        for c in &mut f.chunks[first + removed..] {
            c.range = c.range.shifted(shift);
        }
        f.entities.splice(e_start..e_end, new_entities);
        f.refs.splice(r_start..r_end, new_refs);
        f.res.splice(
            r_start..r_end,
            (0..n_new_refs).map(|_| Resolution::unresolved()),
        );
        f.ref_deps
            .splice(r_start..r_end, (0..n_new_refs).map(|_| 0));
        f.errors.splice(x_start..x_start + x_count, new_errors);
        f.chunks.splice(first..first + removed, new_chunks);
        f.line_index = line_index;
        f.entities[0].range = TextRange::new(0, f.line_index.len());

        // Ids from e_start on (later duplicates may renumber); facts of the new ones.
        assign_ids(&mut f, &self.interner, e_start);
        let e_new_end = e_start + (e_count as i64 + de) as usize;
        compute_facts(&mut f, e_start, e_new_end);
        let mut new_facts: FxHashMap<EntityId, u64> = FxHashMap::default();
        let old_fact_set: FxHashSet<(EntityId, u64)> =
            old_facts.iter().map(|(id, fact, _)| (*id, *fact)).collect();
        for e in &f.entities[e_start..e_new_end] {
            new_facts.insert(e.id, e.fact);
            if !old_fact_set.contains(&(e.id, e.fact)) {
                changed.insert(e.name);
            }
        }
        for (oid, ofact, name) in &old_facts {
            if new_facts.get(oid) != Some(ofact) {
                changed.insert(*name);
            }
        }
        // Tail entities: re-register those whose id changed, relocate the others.
        let mut renamed_tail = Vec::new();
        for (k, old_id) in old_tail_ids.iter().enumerate() {
            let i = e_new_end + k;
            if f.entities[i].id != *old_id {
                let new_id = f.entities[i].id;
                f.entities[i].id = *old_id;
                self.unregister_entity(id, &f, i);
                f.entities[i].id = new_id;
                changed.insert(f.entities[i].name);
                renamed_tail.push(i);
            }
        }
        if !renamed_tail.is_empty() {
            compute_facts_at(&mut f, &renamed_tail);
        }

        let reused = carry_over(&f, r_start, n_new_refs, old_refs);
        rebuild_top(&mut f, self.star);
        self.files[id.0 as usize] = Some(f);
        // Register the new entities and renamed tail entities; relocate the rest.
        for i in e_start..e_new_end {
            self.register_entity(id, i);
        }
        for &i in &renamed_tail {
            self.register_entity(id, i);
        }
        if de != 0 {
            let f = self.files[id.0 as usize].as_ref().expect("just stored");
            for (i, e) in f.entities.iter().enumerate().skip(e_new_end) {
                self.entity_loc.insert(
                    e.id,
                    EntityLoc {
                        file: id,
                        index: i as u32,
                    },
                );
            }
        }
        for i in r_start..r_start + n_new_refs {
            let name = self.files[id.0 as usize].as_ref().map(|f| f.refs[i].name);
            if let Some(name) = name {
                counts_add(self.dependents.entry(name).or_default(), id, 1);
            }
        }
        self.refresh_module_keys(id, changed);
        Some(Spliced {
            new_refs: r_start as u32..(r_start + n_new_refs) as u32,
            reused,
        })
    }

    /// Recomputes package and module keys; changes go into `changed`.
    fn refresh_module_keys(&mut self, id: FileId, changed: &mut FxHashSet<Name>) {
        let Some(f) = self.file_data(id) else {
            return;
        };
        let package = f.chunks.iter().find_map(|c| c.package);
        let config = &language(f.lang).config;
        let package_text = package.map(|p| self.interner.resolve(p).to_string());
        let keys = file_module_keys(
            config.module_scheme,
            &self.module_ctx,
            f.root,
            &f.rel,
            package_text.as_deref(),
        );
        let keys: Vec<Name> = keys.iter().map(|k| self.interner.intern(k)).collect();
        let f = self.files[id.0 as usize].as_mut().expect("checked above");
        f.package = package;
        if f.module_keys == keys {
            return;
        }
        let old = std::mem::replace(&mut f.module_keys, keys.clone());
        for key in &old {
            if !keys.contains(key) {
                if let Some(files) = self.by_module.get_mut(key) {
                    files.retain(|x| *x != id);
                }
                changed.insert(*key);
            }
        }
        for key in keys {
            if !old.contains(&key) {
                let files = self.by_module.entry(key).or_default();
                if !files.contains(&id) {
                    files.push(id);
                    files.sort();
                }
                changed.insert(key);
            }
        }
    }

    fn register_entity(&mut self, id: FileId, index: usize) {
        let Some(f) = self.files[id.0 as usize].as_ref() else {
            return;
        };
        let e = &f.entities[index];
        let loc = EntityLoc {
            file: id,
            index: index as u32,
        };
        self.entity_loc.insert(e.id, loc);
        if index == 0 {
            return;
        }
        let (eid, name, kind) = (e.id, e.name, e.kind);
        if kind == EntityKind::Import {
            *self.import_names.entry(name).or_default() += 1;
            // Imports inside a module or function are bindings of that scope.
            if let Some(c) = e.container {
                let cname = f.entities[c as usize].name;
                self.members.entry((cname, name)).or_default().push(eid);
            }
            return;
        }
        let container = match (e.container, e.owner) {
            (Some(c), _) => {
                let ce = &f.entities[c as usize];
                Some((ce.kind, ce.name))
            }
            (None, Some(owner)) => Some((EntityKind::Struct, owner)),
            (None, None) => None,
        };
        if kind == EntityKind::Impl {
            self.impls.entry(name).or_default().push(eid);
        } else {
            let list = self.by_name.entry(name).or_default();
            if list.is_empty() {
                self.search.add_name(name, self.interner.resolve(name));
            }
            list.push(eid);
        }
        if let Some((ckind, cname)) = container {
            if ckind.is_type()
                || matches!(
                    ckind,
                    EntityKind::Module
                        | EntityKind::Namespace
                        | EntityKind::Package
                        | EntityKind::TypeAlias
                )
                // The keys of a literal bound to a name (`const T = { a: 1 }`).
                || kind == EntityKind::Field
                    && matches!(ckind, EntityKind::Variable | EntityKind::Constant)
            {
                self.members.entry((cname, name)).or_default().push(eid);
            }
        }
    }

    fn unregister_entity(&mut self, id: FileId, f: &FileData, index: usize) {
        let e = &f.entities[index];
        if self.entity_loc.get(&e.id).map(|l| l.file) == Some(id) {
            self.entity_loc.remove(&e.id);
        }
        if index == 0 {
            return;
        }
        if e.kind == EntityKind::Import {
            if let Some(n) = self.import_names.get_mut(&e.name) {
                *n -= 1;
                if *n == 0 {
                    self.import_names.remove(&e.name);
                }
            }
            if let Some(c) = e.container {
                let key = (f.entities[c as usize].name, e.name);
                if let Some(list) = self.members.get_mut(&key) {
                    if let Some(p) = list.iter().position(|x| *x == e.id) {
                        list.swap_remove(p);
                    }
                    if list.is_empty() {
                        self.members.remove(&key);
                    }
                }
            }
            return;
        }
        let remove = |list: &mut SmallVec<[EntityId; 2]>| {
            if let Some(p) = list.iter().position(|x| *x == e.id) {
                list.swap_remove(p);
            }
        };
        if e.kind == EntityKind::Impl {
            if let Some(list) = self.impls.get_mut(&e.name) {
                if let Some(p) = list.iter().position(|x| *x == e.id) {
                    list.swap_remove(p);
                }
                if list.is_empty() {
                    self.impls.remove(&e.name);
                }
            }
        } else if let Some(list) = self.by_name.get_mut(&e.name) {
            remove(list);
            if list.is_empty() {
                self.by_name.remove(&e.name);
                self.search.remove_name(e.name);
            }
        }
        let container_name = match (e.container, e.owner) {
            (Some(c), _) => Some(f.entities[c as usize].name),
            (None, owner) => owner,
        };
        if let Some(cname) = container_name {
            if let Some(list) = self.members.get_mut(&(cname, e.name)) {
                remove(list);
                if list.is_empty() {
                    self.members.remove(&(cname, e.name));
                }
            }
        }
    }

    fn unregister_ref(&mut self, id: FileId, f: &FileData, index: usize) {
        let r = &f.refs[index];
        counts_add(self.dependents.entry(r.name).or_default(), id, -1);
        for dep in f.deps_of(index as u32) {
            if let Some(c) = self.dependents.get_mut(dep) {
                counts_add(c, id, -1);
            }
        }
        for t in f.res[index].targets() {
            if let Some(c) = self.incoming.get_mut(t) {
                counts_add(c, id, -1);
                if c.is_empty() {
                    self.incoming.remove(t);
                }
            }
        }
    }

    fn resolve_and_store(&mut self, id: FileId, refs: impl IntoIterator<Item = u32>) {
        let refs: Vec<u32> = refs.into_iter().collect();
        if refs.is_empty() {
            return;
        }
        let out: Resolved = {
            let mut resolver = Resolver::new(self);
            refs.into_iter()
                .map(|i| {
                    let res = resolver.resolve(id, i);
                    (i, res, resolver.take_deps())
                })
                .collect()
        };
        self.store_resolutions(id, out);
    }

    /// Writes resolutions and their dependencies, keeping reverse indexes in step.
    pub(crate) fn store_resolutions(&mut self, id: FileId, out: Resolved) {
        let mut dep_delta: FxHashMap<Name, i64> = FxHashMap::default();
        let mut in_delta: FxHashMap<EntityId, i64> = FxHashMap::default();
        let Some(mut f) = self.files.get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        self.revision += 1;
        for (i, res, deps) in out {
            let i = i as usize;
            let own = f.refs[i].name;
            let names: Vec<Name> = deps
                .into_iter()
                .map(|d| match d {
                    Dep::Name(n) => n,
                    Dep::Key(k) => self.interner.intern(&k),
                })
                .filter(|n| *n != own)
                .collect();
            let set = f.dep_sets.intern(names);
            let old_set = std::mem::replace(&mut f.ref_deps[i], set);
            if old_set != set {
                for n in f.dep_sets.get(old_set) {
                    *dep_delta.entry(*n).or_default() -= 1;
                }
                for n in f.dep_sets.get(set) {
                    *dep_delta.entry(*n).or_default() += 1;
                }
            }
            let old = std::mem::replace(&mut f.res[i], res);
            if old.targets() != f.res[i].targets() {
                for t in old.targets() {
                    *in_delta.entry(*t).or_default() -= 1;
                }
                for t in f.res[i].targets() {
                    *in_delta.entry(*t).or_default() += 1;
                }
            }
        }
        f.dep_sets.compact(&mut f.ref_deps);
        self.files[id.0 as usize] = Some(f);
        for (n, d) in dep_delta {
            if d != 0 {
                let c = self.dependents.entry(n).or_default();
                counts_add(c, id, d);
                if c.is_empty() {
                    self.dependents.remove(&n);
                }
            }
        }
        for (t, d) in in_delta {
            if d != 0 {
                let c = self.incoming.entry(t).or_default();
                counts_add(c, id, d);
                if c.is_empty() {
                    self.incoming.remove(&t);
                }
            }
        }
    }

    /// Re-resolves, in every file that depends on a changed name, the references that
    /// read one. `fresh` names refs that were just resolved and need no second pass.
    pub(crate) fn propagate(
        &mut self,
        changed: &FxHashSet<Name>,
        skip_files: &FxHashSet<FileId>,
        fresh: Option<(FileId, Vec<u32>)>,
    ) -> usize {
        if changed.is_empty() {
            return 0;
        }
        let mut files: Vec<FileId> = changed
            .iter()
            .filter_map(|n| self.dependents.get(n))
            .flat_map(|c| c.iter().map(|(f, _)| *f))
            .filter(|f| !skip_files.contains(f))
            .collect();
        files.sort();
        files.dedup();
        let work: Vec<(FileId, Vec<u32>)> = files
            .into_iter()
            .filter_map(|fid| {
                let f = self.file_data(fid)?;
                let hit_sets = f.dep_sets.sets_with(changed);
                let refs: Vec<u32> = (0..f.refs.len() as u32)
                    .filter(|&i| {
                        if let Some((ff, done)) = &fresh {
                            if *ff == fid && done.binary_search(&i).is_ok() {
                                return false;
                            }
                        }
                        changed.contains(&f.refs[i as usize].name)
                            || hit_sets.contains(&f.ref_deps[i as usize])
                    })
                    .collect();
                (!refs.is_empty()).then_some((fid, refs))
            })
            .collect();
        let total: usize = work.iter().map(|(_, r)| r.len()).sum();
        let results: Vec<(FileId, Resolved)> = if total > 2048 {
            work.par_iter()
                .map(|(fid, refs)| {
                    let mut resolver = Resolver::new(self);
                    let out = refs
                        .iter()
                        .map(|&i| {
                            let res = resolver.resolve(*fid, i);
                            (i, res, resolver.take_deps())
                        })
                        .collect();
                    (*fid, out)
                })
                .collect()
        } else {
            let mut resolver = Resolver::new(self);
            work.iter()
                .map(|(fid, refs)| {
                    let out = refs
                        .iter()
                        .map(|&i| {
                            let res = resolver.resolve(*fid, i);
                            (i, res, resolver.take_deps())
                        })
                        .collect();
                    (*fid, out)
                })
                .collect()
        };
        for (fid, out) in results {
            self.store_resolutions(fid, out);
        }
        total
    }
}

/// Matches the new references `start..start + count` against the ones they replaced,
/// from both ends, and returns the resolutions that carry over. A reference whose
/// receiver is not itself carried over is resolved again.
fn carry_over(
    f: &FileData,
    start: usize,
    count: usize,
    old: Vec<(RefKey, Resolution, Vec<Name>)>,
) -> Resolved {
    let new_keys: Vec<RefKey> = (start..start + count).map(|i| ref_key(f, i)).collect();
    let mut matched: Vec<Option<usize>> = vec![None; count];
    let mut prefix = 0;
    while prefix < count && prefix < old.len() && new_keys[prefix] == old[prefix].0 {
        matched[prefix] = Some(prefix);
        prefix += 1;
    }
    let mut suffix = 0;
    while suffix < count - prefix && suffix < old.len() - prefix {
        let (n, o) = (count - 1 - suffix, old.len() - 1 - suffix);
        if new_keys[n] != old[o].0 {
            break;
        }
        matched[n] = Some(o);
        suffix += 1;
    }
    // A reference is carried over only with its receiver: the new receiver must be
    // the one that replaced the old reference's receiver.
    for i in 0..count {
        if let (Recv::Ref(k), Some(o)) = (f.refs[start + i].receiver, matched[i]) {
            let k = k as usize;
            let distance = start + i - k;
            let same = k >= start && o >= distance && matched[k - start] == Some(o - distance);
            if !same {
                matched[i] = None;
            }
        }
    }
    matched
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let (_, res, deps) = &old[(*m)?];
            Some((
                (start + i) as u32,
                res.clone(),
                deps.iter().map(|n| Dep::Name(*n)).collect(),
            ))
        })
        .collect()
}

/// Gives entities from `from` on their stable ids (the file entity keeps its own).
fn assign_ids(f: &mut FileData, interner: &Interner, from: usize) {
    let base_file = f.entities[0].id.0;
    let mut bases: Vec<u64> = Vec::with_capacity(f.entities.len());
    bases.push(base_file);
    let mut seen: FxHashMap<u64, u32> = FxHashMap::default();
    for i in 1..f.entities.len() {
        let e = &f.entities[i];
        let parent = e.container.map_or(base_file, |c| bases[c as usize]);
        let mut h = FxHasher::default();
        parent.hash(&mut h);
        e.kind.as_str().hash(&mut h);
        hash_str(&mut h, interner.resolve(e.name));
        if let Some(owner) = e.owner {
            hash_str(&mut h, interner.resolve(owner));
        }
        let base = h.finish();
        bases.push(base);
        let n = seen.entry(base).or_insert(0);
        let id = if *n == 0 {
            base
        } else {
            let mut h = FxHasher::default();
            base.hash(&mut h);
            n.hash(&mut h);
            h.finish()
        };
        *n += 1;
        if i >= from {
            f.entities[i].id = EntityId(id);
        }
    }
}

/// Hashes what resolution can read of entities `from..to`.
fn compute_facts(f: &mut FileData, from: usize, to: usize) {
    let indices: Vec<usize> = (from.max(1)..to).collect();
    compute_facts_at(f, &indices);
}

fn compute_facts_at(f: &mut FileData, indices: &[usize]) {
    for &i in indices {
        let mut h = FxHasher::default();
        let e = &f.entities[i];
        e.kind.hash(&mut h);
        e.name.hash(&mut h);
        e.container
            .map(|c| (f.entities[c as usize].kind, f.entities[c as usize].name))
            .hash(&mut h);
        e.type_name.hash(&mut h);
        e.owner.hash(&mut h);
        e.import.hash(&mut h);
        for (_, r) in f.base_refs(i as u32) {
            r.name.hash(&mut h);
            r.kind.hash(&mut h);
            let mut recv = r.receiver;
            let mut guard = 0;
            while let Recv::Ref(k) = recv {
                f.refs[k as usize].name.hash(&mut h);
                recv = f.refs[k as usize].receiver;
                guard += 1;
                if guard > 16 {
                    break;
                }
            }
        }
        f.entities[i].fact = h.finish();
    }
}

/// File-level bindings: top-level entities by name; glob imports under `*`.
fn rebuild_top(f: &mut FileData, star: Option<Name>) {
    f.top.clear();
    for (i, e) in f.entities.iter().enumerate().skip(1) {
        if e.container.is_some() || e.owner.is_some() || e.kind == EntityKind::Impl {
            continue;
        }
        let key = match (&e.import, star) {
            (Some(info), Some(star)) if info.glob => star,
            _ => e.name,
        };
        f.top.entry(key).or_default().push(i as u32);
    }
}
