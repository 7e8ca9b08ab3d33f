//! The graph's own representation of files, entities, references and resolutions:
//! compact, interned, and laid out flat per file so that a chunk can be spliced.

use std::{
    hash::{Hash, Hasher},
    sync::Arc,
};

use codecontext_lang::LanguageId;
use codecontext_syntax::{EntityKind, RefKind, SkipReason, SyntaxError};
use codecontext_text::{LineIndex, TextRange};
use rustc_hash::FxHashSet;
use serde::Serialize;
use smallvec::SmallVec;

use crate::intern::Name;

/// A file known to the graph. Ids are never reused within one graph.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
pub struct FileId(pub u32);

/// A stable entity id: a hash of the file path, the kind and the chain of names from
/// the file down to the entity (plus an occurrence number for duplicates). It stays the
/// same across reparses as long as the entity keeps its name, kind and place.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
pub struct EntityId(pub u64);

impl std::fmt::Display for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// How a reference was resolved.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// Through scopes, or imports that lead to one definition.
    Exact,
    /// The only definition with that name in the workspace.
    Inferred,
    /// Several candidates; all are kept.
    Ambiguous,
    /// Nothing in the workspace matches (a builtin, an external package, a typo).
    Unresolved,
}

impl How {
    pub fn as_str(self) -> &'static str {
        match self {
            How::Exact => "exact",
            How::Inferred => "inferred",
            How::Ambiguous => "ambiguous",
            How::Unresolved => "unresolved",
        }
    }
}

/// The relation a reference makes between its source entity and its targets.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    Contains,
    Calls,
    References,
    Imports,
    Inherits,
    Implements,
}

impl EdgeKind {
    pub fn of_ref(kind: RefKind) -> EdgeKind {
        match kind {
            RefKind::Call => EdgeKind::Calls,
            RefKind::Read | RefKind::Type => EdgeKind::References,
            RefKind::Inherits => EdgeKind::Inherits,
            RefKind::Implements => EdgeKind::Implements,
            RefKind::ImportName | RefKind::ImportPath => EdgeKind::Imports,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Contains => "contains",
            EdgeKind::Calls => "calls",
            EdgeKind::References => "references",
            EdgeKind::Imports => "imports",
            EdgeKind::Inherits => "inherits",
            EdgeKind::Implements => "implements",
        }
    }

    pub const ALL: [EdgeKind; 6] = [
        EdgeKind::Contains,
        EdgeKind::Calls,
        EdgeKind::References,
        EdgeKind::Imports,
        EdgeKind::Inherits,
        EdgeKind::Implements,
    ];
}

/// What an import entity imports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImportInfo {
    pub path: Name,
    pub name: Option<Name>,
    pub glob: bool,
    pub export: bool,
    pub default: bool,
    pub submodule: bool,
}

/// A definition in the graph.
#[derive(Clone, Debug)]
pub struct Entity {
    pub id: EntityId,
    pub kind: EntityKind,
    pub name: Name,
    /// Index of the container within the same file; `None` = the file itself.
    pub container: Option<u32>,
    pub range: TextRange,
    pub selection: TextRange,
    pub signature: Box<str>,
    pub doc: Option<Box<str>>,
    pub type_name: Option<Name>,
    /// The type this entity is a member of, when declared outside it (Go methods).
    pub owner: Option<Name>,
    pub import: Option<Box<ImportInfo>>,
    /// Not an overload signature or abstract declaration.
    pub has_body: bool,
    /// The shape of its body (functions; see `codecontext_syntax::shape`), or 0.
    pub shape: u64,
    /// Hash of everything about this entity that resolution can read (not its range).
    pub(crate) fact: u64,
}

/// The receiver of a member reference, in graph terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Recv {
    None,
    SelfType,
    SuperType,
    Type(Name),
    /// Index of another reference of the same file.
    Ref(u32),
    /// A module path keyword (`crate`, `self`, `super`).
    ModulePath(Name),
    Unknown,
}

/// An optional index into a file's entities in four bytes (`Option<u32>` takes eight,
/// and a graph holds one reference per identifier of the workspace).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptIdx(u32);

impl OptIdx {
    pub const NONE: OptIdx = OptIdx(u32::MAX);

    pub fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }
}

impl From<Option<u32>> for OptIdx {
    fn from(index: Option<u32>) -> OptIdx {
        match index {
            Some(i) => {
                debug_assert!(i != u32::MAX, "entity index out of range");
                OptIdx(i)
            }
            None => OptIdx::NONE,
        }
    }
}

impl std::fmt::Debug for OptIdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// A reference that may lead outside its function.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ref {
    pub kind: RefKind,
    pub name: Name,
    pub range: TextRange,
    pub receiver: Recv,
    /// Index of the innermost entity around the reference; none = the file.
    pub source: OptIdx,
    /// Set when scopes already lead to an entity of this file.
    pub local_target: OptIdx,
    /// The import entity, for import names and paths.
    pub import: OptIdx,
}

/// Where a reference leads: how it was resolved and its targets (none when
/// unresolved). Sixteen bytes, as the graph holds one per reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Resolution(Res);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Res {
    Unresolved,
    One(How, EntityId),
    // A thin pointer keeps the enum at sixteen bytes; `Box<[EntityId]>` would
    // make every resolution 24 bytes for the 2% of references that need it.
    #[allow(clippy::box_collection)]
    Many(How, Box<Vec<EntityId>>),
}

impl Resolution {
    pub fn unresolved() -> Resolution {
        Resolution(Res::Unresolved)
    }

    /// A resolution with these targets; none makes it unresolved whatever `how` says.
    pub fn new(how: How, targets: &[EntityId]) -> Resolution {
        Resolution(match targets {
            [] => Res::Unresolved,
            [one] => Res::One(how, *one),
            many => Res::Many(how, Box::new(many.to_vec())),
        })
    }

    pub fn how(&self) -> How {
        match &self.0 {
            Res::Unresolved => How::Unresolved,
            Res::One(how, _) | Res::Many(how, _) => *how,
        }
    }

    pub fn targets(&self) -> &[EntityId] {
        match &self.0 {
            Res::Unresolved => &[],
            Res::One(_, id) => std::slice::from_ref(id),
            Res::Many(_, ids) => ids,
        }
    }

    /// Heap bytes held beyond the value itself.
    pub(crate) fn heap_size(&self) -> usize {
        match &self.0 {
            Res::Many(_, ids) => 24 + ids.capacity() * std::mem::size_of::<EntityId>(),
            _ => 0,
        }
    }
}

/// Per chunk: its range and how many entities, refs and errors it holds, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    pub range: TextRange,
    pub package: Option<Name>,
    pub entities: u32,
    pub refs: u32,
    pub errors: u32,
    /// The chunk's distinct word hashes, sorted (see `codecontext_text::tokens`).
    pub tokens: Box<[u32]>,
}

/// A file as the graph holds it: its entities and references laid out flat in chunk
/// order, with parallel vectors for resolutions.
#[derive(Clone, Debug)]
pub struct FileData {
    pub root: u32,
    /// Path relative to its root, `/`-separated.
    pub rel: Arc<str>,
    pub lang: LanguageId,
    pub line_index: LineIndex,
    pub skipped: Option<SkipReason>,
    pub package: Option<Name>,
    pub module_keys: Vec<Name>,
    /// The compilation unit (crate, or root) the file belongs to.
    pub unit: Name,
    /// `entities[0]` is the file entity; the rest are in chunk order.
    pub entities: Vec<Entity>,
    pub refs: Vec<Ref>,
    pub res: Vec<Resolution>,
    /// Per reference: the set (an id in `dep_sets`) of extra names its resolution
    /// read besides its own name.
    pub(crate) ref_deps: Vec<u32>,
    /// Distinct dependency sets of this file; many references share one.
    pub(crate) dep_sets: DepSets,
    pub chunks: Vec<ChunkInfo>,
    pub errors: Vec<SyntaxError>,
    /// File-level bindings: name -> entity indices with no container.
    pub(crate) top: rustc_hash::FxHashMap<Name, SmallVec<[u32; 1]>>,
}

impl FileData {
    /// Index of the first entity of chunk `i` (after the file entity).
    pub(crate) fn chunk_entity_start(&self, i: usize) -> usize {
        1 + self.chunks[..i]
            .iter()
            .map(|c| c.entities as usize)
            .sum::<usize>()
    }

    pub(crate) fn chunk_ref_start(&self, i: usize) -> usize {
        self.chunks[..i].iter().map(|c| c.refs as usize).sum()
    }

    pub(crate) fn chunk_error_start(&self, i: usize) -> usize {
        self.chunks[..i].iter().map(|c| c.errors as usize).sum()
    }

    /// The references of file-local entity `index` of kind inherits/implements.
    pub(crate) fn base_refs(&self, index: u32) -> impl Iterator<Item = (u32, &Ref)> + '_ {
        let range = self.entities[index as usize].range;
        let start = self.refs.partition_point(|r| r.range.start < range.start);
        // Bases are written in the header: the first reference belonging to something
        // else (a member in the body) ends the search.
        self.refs[start..]
            .iter()
            .enumerate()
            .take_while(move |(_, r)| r.range.start < range.end && r.source.get() == Some(index))
            .filter(move |(_, r)| {
                r.source.get() == Some(index)
                    && matches!(r.kind, RefKind::Inherits | RefKind::Implements)
            })
            .map(move |(i, r)| ((start + i) as u32, r))
    }

    /// Number of dependency sets and of names in them (for diagnostics).
    pub fn dep_set_stats(&self) -> (usize, usize) {
        (self.dep_sets.spans.len(), self.dep_sets.pool.len())
    }

    /// Extra dependencies recorded for ref `index`.
    pub(crate) fn deps_of(&self, index: u32) -> &[Name] {
        self.dep_sets.get(self.ref_deps[index as usize])
    }

    /// Entity indices of the containers of `index`, innermost first.
    pub fn container_chain(&self, index: u32) -> impl Iterator<Item = u32> + '_ {
        let mut next = self.entities[index as usize].container;
        std::iter::from_fn(move || {
            let current = next?;
            next = self.entities[current as usize].container;
            Some(current)
        })
    }
}

/// The distinct dependency sets of one file, in one pool. Id 0 is the empty set.
///
/// Sets replaced by re-resolution stay behind as garbage until [`DepSets::compact`]
/// finds that they outnumber the live ones.
#[derive(Clone, Debug)]
pub(crate) struct DepSets {
    pool: Vec<Name>,
    /// Per set id: its range in `pool`.
    spans: Vec<(u32, u32)>,
    /// Hash of a set's names -> the first set with that hash (a set whose hash
    /// collides is stored again, which costs room but never correctness).
    ids: rustc_hash::FxHashMap<u64, u32>,
    /// Number of sets after the last compaction.
    compacted_at: u32,
}

impl Default for DepSets {
    fn default() -> DepSets {
        DepSets {
            pool: Vec::new(),
            spans: vec![(0, 0)],
            ids: Default::default(),
            compacted_at: 1,
        }
    }
}

impl DepSets {
    pub(crate) fn get(&self, id: u32) -> &[Name] {
        let (start, end) = self.spans[id as usize];
        &self.pool[start as usize..end as usize]
    }

    /// Ids of the sets holding any of `names`.
    pub(crate) fn sets_with(&self, names: &FxHashSet<Name>) -> FxHashSet<u32> {
        (0..self.spans.len() as u32)
            .filter(|&id| self.get(id).iter().any(|n| names.contains(n)))
            .collect()
    }

    /// The id of the set of `names`, adding it if new.
    pub(crate) fn intern(&mut self, mut names: Vec<Name>) -> u32 {
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return 0;
        }
        let hash = {
            let mut h = rustc_hash::FxHasher::default();
            names.hash(&mut h);
            h.finish()
        };
        if let Some(&id) = self.ids.get(&hash) {
            if self.get(id) == names.as_slice() {
                return id;
            }
        }
        let id = self.spans.len() as u32;
        let start = self.pool.len() as u32;
        self.pool.extend_from_slice(&names);
        self.spans.push((start, self.pool.len() as u32));
        self.ids.entry(hash).or_insert(id);
        id
    }

    pub(crate) fn clear(&mut self) {
        *self = DepSets::default();
    }

    /// Drops sets no reference uses once there are twice as many as after the last
    /// compaction, renumbering `ref_deps` (amortised: each set is copied a bounded
    /// number of times).
    pub(crate) fn compact(&mut self, ref_deps: &mut [u32]) {
        if (self.spans.len() as u32) < 2 * self.compacted_at + 64 {
            return;
        }
        let mut fresh = DepSets::default();
        let mut renumber: rustc_hash::FxHashMap<u32, u32> = Default::default();
        for id in ref_deps.iter_mut() {
            let old = *id;
            *id = *renumber
                .entry(old)
                .or_insert_with(|| fresh.intern(self.get(old).to_vec()));
        }
        fresh.compacted_at = fresh.spans.len() as u32;
        fresh.pool.shrink_to_fit();
        fresh.spans.shrink_to_fit();
        *self = fresh;
    }

    pub(crate) fn heap_size(&self) -> usize {
        self.pool.capacity() * 4
            + self.spans.capacity() * 8
            + self.ids.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
    }
}

/// One entity as a query result: where it lives and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntityLoc {
    pub file: FileId,
    pub index: u32,
}
