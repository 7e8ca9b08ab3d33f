//! The graph's own representation of files, entities, references and resolutions:
//! compact, interned, and laid out flat per file so that a chunk can be spliced.

use std::sync::Arc;

use codecontext_lang::LanguageId;
use codecontext_syntax::{EntityKind, RefKind, SkipReason, SyntaxError};
use codecontext_text::{LineIndex, TextRange};
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

/// A reference that may lead outside its function.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ref {
    pub kind: RefKind,
    pub name: Name,
    pub range: TextRange,
    pub receiver: Recv,
    /// Index of the innermost entity around the reference; `None` = the file.
    pub source: Option<u32>,
    /// Set when scopes already lead to an entity of this file.
    pub local_target: Option<u32>,
    /// The import entity, for import names and paths.
    pub import: Option<u32>,
}

/// Where a reference leads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Resolution {
    pub how: How,
    pub targets: SmallVec<[EntityId; 1]>,
}

impl Resolution {
    pub fn unresolved() -> Resolution {
        Resolution {
            how: How::Unresolved,
            targets: SmallVec::new(),
        }
    }
}

/// Per chunk: its range and how many entities, refs and errors it holds, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    pub range: TextRange,
    pub package: Option<Name>,
    pub entities: u32,
    pub refs: u32,
    pub errors: u32,
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
    /// Per reference: the set (index into `dep_sets`) of extra names its resolution
    /// read besides its own name. Set 0 is the empty set.
    pub(crate) ref_deps: Vec<u32>,
    /// Distinct dependency sets of this file; many references share one.
    pub(crate) dep_sets: Vec<Box<[Name]>>,
    pub(crate) dep_set_ids: rustc_hash::FxHashMap<Box<[Name]>, u32>,
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
            .take_while(move |(_, r)| r.range.start < range.end && r.source == Some(index))
            .filter(move |(_, r)| {
                r.source == Some(index) && matches!(r.kind, RefKind::Inherits | RefKind::Implements)
            })
            .map(move |(i, r)| ((start + i) as u32, r))
    }

    /// Number of dependency sets and of names in them (for diagnostics).
    pub fn dep_set_stats(&self) -> (usize, usize) {
        (
            self.dep_sets.len(),
            self.dep_sets.iter().map(|s| s.len()).sum(),
        )
    }

    /// Extra dependencies recorded for ref `index`.
    pub(crate) fn deps_of(&self, index: u32) -> &[Name] {
        &self.dep_sets[self.ref_deps[index as usize] as usize]
    }

    /// The id of a dependency set, adding it if new.
    pub(crate) fn intern_dep_set(&mut self, mut names: Vec<Name>) -> u32 {
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return 0;
        }
        let key: Box<[Name]> = names.into_boxed_slice();
        if let Some(&id) = self.dep_set_ids.get(&key) {
            return id;
        }
        let id = self.dep_sets.len() as u32;
        self.dep_sets.push(key.clone());
        self.dep_set_ids.insert(key, id);
        id
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

/// One entity as a query result: where it lives and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EntityLoc {
    pub file: FileId,
    pub index: u32,
}
