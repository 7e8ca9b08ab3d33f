//! Reference resolution.
//!
//! A reference resolves, in order, through: the local scope (already done by
//! extraction), the enclosing types (`self`, `this`, implicit members), inline modules,
//! the file's bindings (definitions and imports, imports chased to what they import),
//! glob imports, the package scope, and last the workspace by name.
//!
//! Resolution reads only syntax-level facts (entities, imports, module keys), never
//! other resolutions, and records every name and module key it looked up. When those
//! facts change, the graph re-resolves exactly the references that read them; this is
//! what makes incremental updates equal to a fresh index.

use codecontext_lang::{language, LanguageConfig, ModuleScheme};
use codecontext_syntax::{EntityKind, RefKind};
use std::rc::Rc;

use rustc_hash::{FxHashMap, FxHashSet};
use smallvec::SmallVec;

use crate::{
    intern::Name,
    model::{EntityId, EntityLoc, FileData, FileId, How, Recv, Resolution},
    modules::{module_keys_for, package_scope_key, path_segments},
    SymbolGraph,
};

/// A dependency: an interned name, or a key that nothing has interned yet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dep {
    Name(Name),
    Key(Box<str>),
}

type Targets = SmallVec<[EntityLoc; 2]>;

/// A memoized lookup: what it found, and what it read to find out (recorded again for
/// each computation that reuses it).
type Memoized = (Targets, Rc<[Dep]>);

/// The most candidates a name-based guess (`inferred`/`ambiguous`) keeps; see
/// [`Resolver::fallback_named`].
const MAX_GUESSES: usize = 16;

/// The type name extraction gives values whose type is built in (literals).
const EXTERNAL_TYPE: &str = codecontext_syntax::EXTERNAL_TYPE;

/// Whether a lookup has as many targets as a reference keeps: the candidates after
/// them are not looked up (each may be a chain of imports and members of its own).
fn full(targets: &Targets) -> bool {
    targets.len() >= MAX_TARGETS
}

/// Removes repeated targets, keeping the first of each.
fn dedup(targets: &mut Targets) {
    if targets.len() > 1 {
        let mut seen: FxHashSet<EntityLoc> = FxHashSet::default();
        targets.retain(|t| seen.insert(*t));
    }
}

/// Limits recursion through import chains, bases and receivers.
const MAX_DEPTH: u32 = 24;

/// A bare name or a type name is looked up in at most this many of the entities around
/// the reference (the innermost first: its source, then their containers), before the
/// file and the workspace. Each lookup reads the container's members and records what
/// it read, so a walk through every container of a definition nested N deep, for each of
/// N references, would cost the square of N. Real code nests a few levels.
const MAX_SCOPE_WALK: usize = 64;

/// A reference keeps at most this many targets, the first found; a lookup that lists
/// candidates (a file's bindings of a name, its package's) stops there. A name defined
/// N times, used N times, would otherwise cost N² (and keep as many targets).
const MAX_TARGETS: usize = 64;

/// A module path is looked up by its first this many segments at most: each candidate
/// prefix is a key built from its segments, so trying every prefix of a path N long
/// would cost the square of N.
const MAX_MODULE_PATH_SEGMENTS: usize = 64;

/// A memoized module lookup: how many path segments named a module, its files, and
/// the keys read to find out.
pub(crate) struct ModulePrefix {
    consumed: usize,
    files: SmallVec<[FileId; 2]>,
    segs: Vec<String>,
    deps: Vec<Dep>,
}

pub(crate) struct Resolver<'g> {
    g: &'g SymbolGraph,
    module_memo: FxHashMap<(FileId, Box<str>), Rc<ModulePrefix>>,
    /// What the resolution in progress read: a set per memoized computation under way,
    /// the outermost for the reference being resolved.
    frames: Vec<FxHashSet<Dep>>,
    /// Resolved bases per type, with the dependencies read to find them.
    bases_memo: FxHashMap<EntityLoc, Memoized>,
    /// The innermost type around each entity asked about (itself if it is one), so
    /// that asking for every reference in a deep nest costs its depth once.
    type_around: FxHashMap<EntityLoc, Option<u32>>,
    /// What each import chased by the resolution in progress stands for, with what was
    /// read to find out. A reference that reaches one import by many paths chases it
    /// once: 2,000 nested `use a::{…}` lists bind `a` 2,000 times, each binding leads
    /// to the others, and without this the paths multiply (64 bindings per level, 24
    /// levels). Kept for one reference only, so that a reference resolves the same way
    /// whatever was resolved before it.
    chased: FxHashMap<(FileId, u32), Memoized>,
    /// The members of a name found by the resolution in progress, per entity asked
    /// about, with what was read to find out: for the same reason, each entity's
    /// members of a name are looked up once per reference (variables typed by each
    /// other, bases reached through many imports).
    members: FxHashMap<(EntityLoc, Name), Memoized>,
    depth: u32,
    visiting: FxHashSet<(u32, u32, u8)>,
}

impl<'g> Resolver<'g> {
    pub(crate) fn new(g: &'g SymbolGraph) -> Self {
        Resolver {
            g,
            module_memo: FxHashMap::default(),
            frames: vec![FxHashSet::default()],
            bases_memo: FxHashMap::default(),
            type_around: FxHashMap::default(),
            chased: FxHashMap::default(),
            members: FxHashMap::default(),
            depth: 0,
            visiting: FxHashSet::default(),
        }
    }

    /// The dependencies of the last resolution.
    pub(crate) fn take_deps(&mut self) -> Vec<Dep> {
        self.frames.truncate(1);
        self.frames[0].drain().collect()
    }

    fn record(&mut self, dep: Dep) {
        if let Some(frame) = self.frames.last_mut() {
            frame.insert(dep);
        }
    }

    fn dep(&mut self, name: Name) {
        self.record(Dep::Name(name));
    }

    /// Starts collecting the dependencies of a memoized computation on their own.
    fn push_frame(&mut self) {
        self.frames.push(FxHashSet::default());
    }

    /// Ends it: its dependencies, which also count for the computation around it.
    fn pop_frame(&mut self) -> Rc<[Dep]> {
        let frame = self.frames.pop().unwrap_or_default();
        let deps: Rc<[Dep]> = frame.iter().cloned().collect();
        if let Some(parent) = self.frames.last_mut() {
            parent.extend(frame);
        }
        deps
    }

    /// A memoized lookup's targets, its dependencies recorded for the computation
    /// under way.
    fn reuse(&mut self, (targets, deps): Memoized) -> Targets {
        for d in deps.iter() {
            self.record(d.clone());
        }
        targets
    }

    fn dep_key(&mut self, key: &str) -> Option<Name> {
        match self.g.interner.get(key) {
            Some(n) => {
                self.record(Dep::Name(n));
                Some(n)
            }
            None => {
                self.record(Dep::Key(key.into()));
                None
            }
        }
    }

    fn file(&self, id: FileId) -> &'g FileData {
        self.g
            .file_data(id)
            .expect("resolver only visits live files")
    }

    fn config(&self, id: FileId) -> &'static LanguageConfig {
        &language(self.file(id).lang).config
    }

    fn id_of(&self, loc: EntityLoc) -> EntityId {
        self.file(loc.file).entities[loc.index as usize].id
    }

    fn kind_of(&self, loc: EntityLoc) -> EntityKind {
        self.file(loc.file).entities[loc.index as usize].kind
    }

    /// Resolves reference `index` of `file`.
    pub(crate) fn resolve(&mut self, file: FileId, index: u32) -> Resolution {
        self.frames.truncate(1);
        if let Some(frame) = self.frames.first_mut() {
            frame.clear();
        }
        self.visiting.clear();
        if !self.chased.is_empty() {
            self.chased.clear();
        }
        if !self.members.is_empty() {
            self.members.clear();
        }
        self.depth = 0;
        let (how, targets) = self.resolve_ref(file, index);
        let mut ids: SmallVec<[EntityId; 1]> = targets
            .into_iter()
            .take(MAX_TARGETS)
            .map(|t| self.id_of(t))
            .collect();
        ids.sort();
        ids.dedup();
        // A package of several files (Go) is one place to go: its first file.
        if ids.len() > 1 {
            let locs: SmallVec<[EntityLoc; 4]> = ids
                .iter()
                .filter_map(|id| self.g.entity_loc.get(id).copied())
                .collect();
            let dir = |l: &EntityLoc| {
                let rel = &self.file(l.file).rel;
                rel.rsplit_once('/').map_or("", |(d, _)| d).to_string()
            };
            if locs.len() == ids.len()
                && locs.iter().all(|l| l.index == 0)
                && locs.iter().all(|l| dir(l) == dir(&locs[0]))
            {
                let first = locs
                    .iter()
                    .min_by_key(|l| self.file(l.file).rel.clone())
                    .map(|l| self.id_of(*l));
                ids.retain(|id| Some(*id) == first);
            }
        }
        let how = match (how, ids.len()) {
            (_, 0) => How::Unresolved,
            (_, n) if n > 1 => How::Ambiguous,
            (how, _) => how,
        };
        Resolution::new(how, &ids)
    }

    fn resolve_ref(&mut self, file: FileId, index: u32) -> (How, Targets) {
        if self.depth > MAX_DEPTH {
            return (How::Unresolved, Targets::new());
        }
        self.depth += 1;
        let out = self.resolve_ref_inner(file, index);
        self.depth -= 1;
        out
    }

    fn resolve_ref_inner(&mut self, file: FileId, index: u32) -> (How, Targets) {
        let f = self.file(file);
        let r = &f.refs[index as usize];
        let name = r.name;
        // A receiver's own name is a dependency of the references that read it.
        self.dep(name);
        match r.kind {
            RefKind::ImportName => {
                let Some(import) = r.import.get() else {
                    return (How::Unresolved, Targets::new());
                };
                // The import entity is read by index: depend on its name, which is
                // what changes when the import statement does.
                self.dep(f.entities[import as usize].name);
                return (How::Exact, self.chase_import(file, import, true));
            }
            RefKind::ImportPath => {
                let path = self.g.interner.resolve(name).to_string();
                return (How::Exact, self.resolve_module_path(file, &path));
            }
            _ => {}
        }
        if let Some(target) = r.local_target.get() {
            return (
                How::Exact,
                smallvec::smallvec![EntityLoc {
                    file,
                    index: target
                }],
            );
        }
        match r.receiver {
            Recv::None => self.resolve_bare(file, r.source.get(), name, r.kind),
            Recv::SelfType => match self.enclosing_type(file, r.source.get()) {
                Some(t) => (How::Exact, self.members_of(t, name)),
                None => self.fallback_member(file, name),
            },
            Recv::SuperType => match self.enclosing_type(file, r.source.get()) {
                Some(t) => {
                    let mut found = Targets::new();
                    for base in self.bases_of(t) {
                        found.extend(self.members_of(base, name));
                    }
                    (How::Exact, found)
                }
                None => self.fallback_member(file, name),
            },
            Recv::Type(type_name) => {
                let (how, types, unknown) = self.resolve_type_name(file, r.source.get(), type_name);
                if types.is_empty() {
                    // A declared type from outside the workspace has no members here; a
                    // workspace value without type information may have any.
                    return if unknown {
                        self.fallback_member(file, name)
                    } else {
                        (How::Unresolved, Targets::new())
                    };
                }
                let mut found = Targets::new();
                for t in &types {
                    found.extend(self.members_of(*t, name));
                }
                if found.is_empty() && !self.typed(&types) {
                    self.fallback_member(file, name)
                } else {
                    (how, found)
                }
            }
            Recv::Ref(k) => {
                let (how, receivers) = self.resolve_ref(file, k);
                if receivers.is_empty() {
                    // A receiver that names nothing in the workspace (a global such as
                    // `console`, a module outside it): its members are not ours either.
                    return (How::Unresolved, Targets::new());
                }
                let mut found = Targets::new();
                for t in &receivers {
                    found.extend(self.members_of(*t, name));
                }
                if found.is_empty() && !self.typed(&receivers) {
                    self.fallback_member(file, name)
                } else {
                    (how, found)
                }
            }
            Recv::Unknown => self.fallback_member(file, name),
            Recv::ModulePath(keyword) => {
                let path = self.g.interner.resolve(keyword).to_string();
                let mut found = Targets::new();
                for module in self.resolve_module_path(file, &path) {
                    found.extend(self.members_of(module, name));
                }
                (How::Exact, found)
            }
        }
    }

    /// The innermost type around entity `source` (an `impl` block counts).
    fn enclosing_type(&mut self, file: FileId, source: Option<u32>) -> Option<EntityLoc> {
        let f = self.file(file);
        let mut walked: SmallVec<[u32; 8]> = SmallVec::new();
        let mut next = source;
        let found = loop {
            let Some(index) = next else {
                break None;
            };
            if let Some(&known) = self.type_around.get(&EntityLoc { file, index }) {
                break known;
            }
            if f.entities[index as usize].kind.is_type() {
                break Some(index);
            }
            walked.push(index);
            next = f.entities[index as usize].container;
        };
        for index in walked {
            self.type_around.insert(EntityLoc { file, index }, found);
        }
        found.map(|index| EntityLoc { file, index })
    }

    fn resolve_bare(
        &mut self,
        file: FileId,
        source: Option<u32>,
        name: Name,
        kind: RefKind,
    ) -> (How, Targets) {
        let f = self.file(file);
        let config = self.config(file);
        // A base clause (`class B extends A`) is resolved around the class, not in it.
        let source = if matches!(kind, RefKind::Inherits | RefKind::Implements) {
            source.and_then(|s| f.entities[s as usize].container)
        } else {
            source
        };
        if config
            .self_names
            .iter()
            .any(|s| s == self.g.interner.resolve(name))
        {
            return (
                How::Exact,
                self.enclosing_type(file, source).into_iter().collect(),
            );
        }
        if let Some(start) = source {
            let chain: SmallVec<[u32; 8]> = std::iter::once(start)
                .chain(f.container_chain(start))
                .take(MAX_SCOPE_WALK)
                .collect();
            for c in chain {
                let kind = f.entities[c as usize].kind;
                let loc = EntityLoc { file, index: c };
                let scoped = self.scoped_imports(loc, name);
                if !scoped.is_empty() {
                    return (How::Exact, scoped);
                }
                if (kind.is_type() && config.implicit_member_scope)
                    || matches!(kind, EntityKind::Module | EntityKind::Namespace)
                {
                    // Constructors are not reached by a bare name.
                    let found: Targets = self
                        .members_of(loc, name)
                        .into_iter()
                        .filter(|t| self.kind_of(*t) != EntityKind::Constructor)
                        .collect();
                    if !found.is_empty() {
                        return (How::Exact, found);
                    }
                }
            }
        }
        let found = self.resolve_name_in_file(file, name);
        if !found.is_empty() {
            return (How::Exact, found);
        }
        if config
            .module_attributes
            .iter()
            .any(|m| m == self.g.interner.resolve(name))
        {
            return (
                How::Exact,
                smallvec::smallvec![EntityLoc { file, index: 0 }],
            );
        }
        let module_like = self
            .g
            .interner
            .resolve(name)
            .starts_with(|c: char| c.is_lowercase() || c == '_');
        if config.bare_names_as_modules && module_like {
            let path = self.g.interner.resolve(name).to_string();
            let found = self.resolve_module_path(file, &path);
            if !found.is_empty() {
                return (How::Exact, found);
            }
        }
        if config.bare_name_fallback {
            return self.fallback_named(file, name, |k| !k.is_member());
        }
        (How::Unresolved, Targets::new())
    }

    /// Imports named `name` declared inside the entity at `loc` (a module or function
    /// body), chased to what they import.
    fn scoped_imports(&mut self, loc: EntityLoc, name: Name) -> Targets {
        let container_name = self.file(loc.file).entities[loc.index as usize].name;
        // Most names are imported nowhere: then the members of that name (a class
        // with thousands of methods of one name) need not be read, once per reference.
        let imported = self.g.import_names.get(&name).is_some_and(|n| *n > 0);
        let ids = if imported {
            self.g.members.get(&(container_name, name))
        } else {
            None
        };
        let Some(ids) = ids else {
            self.dep(container_name);
            self.dep(name);
            return Targets::new();
        };
        self.dep(container_name);
        self.dep(name);
        let mut out = Targets::new();
        for id in ids.clone() {
            let Some(&m) = self.g.entity_loc.get(&id) else {
                continue;
            };
            let e = &self.file(m.file).entities[m.index as usize];
            if m.file == loc.file && e.container == Some(loc.index) && e.kind == EntityKind::Import
            {
                let chased = self.chase_import(m.file, m.index, false);
                if chased.is_empty() {
                    out.push(m);
                } else {
                    out.extend(chased);
                }
            }
        }
        out
    }

    /// True when lookups on these receivers are authoritative: they are types, modules
    /// or imports, or values whose type is declared. Members not found on them are
    /// unresolved rather than guessed by name.
    fn typed(&self, receivers: &Targets) -> bool {
        receivers.iter().any(|t| {
            let e = &self.file(t.file).entities[t.index as usize];
            e.kind.is_type()
                || e.kind.is_module_like()
                || e.kind == EntityKind::Import
                || e.type_name.is_some()
        })
    }

    /// A type name as written in a file (`x: Foo`), to the type entities it names.
    fn resolve_type_name(
        &mut self,
        file: FileId,
        source: Option<u32>,
        type_name: Name,
    ) -> (How, Targets, bool) {
        let text = self.g.interner.resolve(type_name);
        if text == EXTERNAL_TYPE {
            return (How::Unresolved, Targets::new(), false);
        }
        if text.contains(['|', '&']) {
            return self.resolve_type_parts(file, source, text);
        }
        if self.config(file).self_names.iter().any(|s| s == text) {
            return (
                How::Exact,
                self.enclosing_type(file, source).into_iter().collect(),
                false,
            );
        }
        let text = text.to_string();
        let mut segments = text.split('.');
        let first = segments.next().unwrap_or("");
        let rest: Vec<&str> = segments.collect();
        // `this.load` (a callee whose result is a local's type) starts at the enclosing
        // type.
        let is_self = self.config(file).self_names.iter().any(|s| s == first);
        let first_name = self.g.interner.get(first);
        if first_name.is_none() && !is_self {
            self.record(Dep::Key(first.into()));
            return (How::Unresolved, Targets::new(), false);
        }
        // A type nested in an enclosing type is visible by its bare name.
        let mut found = Targets::new();
        if is_self {
            found.extend(self.enclosing_type(file, source));
        } else if let (Some(start), Some(first_name)) = (source, first_name) {
            let f = self.file(file);
            let chain: SmallVec<[u32; 8]> = std::iter::once(start)
                .chain(f.container_chain(start))
                .take(MAX_SCOPE_WALK)
                .filter(|&c| f.entities[c as usize].kind.is_type())
                .collect();
            for c in chain {
                let nested: Targets = self
                    .members_of(EntityLoc { file, index: c }, first_name)
                    .into_iter()
                    .filter(|t| self.kind_of(*t).is_type())
                    .collect();
                if !nested.is_empty() {
                    found = nested;
                    break;
                }
            }
        }
        if let (true, Some(first_name)) = (found.is_empty() && !is_self, first_name) {
            found = self.resolve_name_in_file(file, first_name);
        }
        // `pkg.Type`, `ns.Inner`: members of what the first segment names.
        for seg in &rest {
            let Some(seg_name) = self.g.interner.get(seg) else {
                self.record(Dep::Key((*seg).into()));
                found.clear();
                break;
            };
            let mut next = Targets::new();
            for t in &found {
                next.extend(self.members_of(*t, seg_name));
            }
            found = next;
        }
        let types: Targets = found
            .iter()
            .copied()
            .filter(|t| self.kind_of(*t).is_type() || self.kind_of(*t) == EntityKind::TypeAlias)
            .collect();
        if !types.is_empty() {
            return (How::Exact, types, false);
        }
        // A constructor function (`x := NewServer()`, `c = make_cart()`): members of what
        // it returns.
        let callables: Targets = found
            .iter()
            .copied()
            .filter(|t| {
                matches!(self.kind_of(*t), EntityKind::Function | EntityKind::Method)
                    && self.file(t.file).entities[t.index as usize]
                        .type_name
                        .is_some()
            })
            .collect();
        if !callables.is_empty() {
            return (How::Exact, callables, false);
        }
        // `this.options` (what a local was assigned): a value whose type is declared
        // has that type's members.
        let typed_values: Targets = found
            .iter()
            .copied()
            .filter(|t| {
                matches!(
                    self.kind_of(*t),
                    EntityKind::Field | EntityKind::Variable | EntityKind::Constant
                ) && self.file(t.file).entities[t.index as usize]
                    .type_name
                    .is_some()
            })
            .collect();
        if !typed_values.is_empty() && !rest.is_empty() {
            return (How::Exact, typed_values, false);
        }
        let unknown = !found.is_empty();
        let last = rest.last().copied().unwrap_or(first);
        let (how, types) = match self.g.interner.get(last) {
            Some(last) => self.fallback_named(file, last, |k| k.is_type()),
            None => (How::Unresolved, Targets::new()),
        };
        (how, types, unknown)
    }

    /// The types of a union (`A|B`: each is a candidate, several are ambiguous) or an
    /// intersection (`A&B`: each holds some of the members), as normalized by
    /// [`codecontext_syntax::normalize_type`].
    fn resolve_type_parts(
        &mut self,
        file: FileId,
        source: Option<u32>,
        text: &str,
    ) -> (How, Targets, bool) {
        let (sep, parts) = codecontext_syntax::type_parts(text);
        let mut how = How::Exact;
        let mut found = Targets::new();
        let mut unknown = false;
        let mut resolved_parts = 0;
        for part in parts {
            let Some(name) = self.g.interner.get(part) else {
                self.record(Dep::Key(part.into()));
                continue;
            };
            let (h, types, u) = self.resolve_type_name(file, source, name);
            unknown |= u;
            if types.is_empty() {
                continue;
            }
            resolved_parts += 1;
            if h != How::Exact {
                how = h;
            }
            found.extend(types);
        }
        dedup(&mut found);
        if sep == '|' && resolved_parts > 1 {
            how = How::Ambiguous;
        }
        (how, found, unknown)
    }

    /// Workspace-wide lookup by name among entities whose kind passes `filter`.
    ///
    /// A guess among more than [`MAX_GUESSES`] definitions keeps those of the
    /// referencing file's own unit (crate, root); if that still leaves too many, the
    /// name says nothing about which is meant (`new`, `fmt`, `len` in a big Rust
    /// workspace) and the reference stays unresolved rather than pointing everywhere.
    fn fallback_named(
        &mut self,
        file: FileId,
        name: Name,
        filter: impl Fn(EntityKind) -> bool,
    ) -> (How, Targets) {
        self.dep(name);
        let Some(ids) = self.g.by_name.get(&name) else {
            return (How::Unresolved, Targets::new());
        };
        let mut found: Targets = ids
            .iter()
            .filter_map(|id| self.g.entity_loc.get(id).copied())
            .filter(|loc| filter(self.kind_of(*loc)))
            .collect();
        if found.len() > MAX_GUESSES {
            let unit = self.file(file).unit;
            found.retain(|t| self.file(t.file).unit == unit);
            if found.len() > MAX_GUESSES {
                return (How::Unresolved, Targets::new());
            }
        }
        match found.len() {
            0 => (How::Unresolved, found),
            1 => (How::Inferred, found),
            _ => (How::Ambiguous, found),
        }
    }

    fn fallback_member(&mut self, file: FileId, name: Name) -> (How, Targets) {
        if !self.config(file).member_name_fallback {
            return (How::Unresolved, Targets::new());
        }
        self.fallback_named(file, name, |k| k.is_member())
    }

    /// File-level bindings of `name` in `file`, imports chased; then glob imports and
    /// the package scope.
    pub(crate) fn resolve_name_in_file(&mut self, file: FileId, name: Name) -> Targets {
        self.dep(name);
        // A name that nothing in the workspace defines or imports cannot be reached
        // through any import or glob: skip the search (`Some`, `println`, ...).
        if !self.g.name_is_bound(name) {
            return Targets::new();
        }
        let f = self.file(file);
        let mut out = Targets::new();
        if let Some(bindings) = f.top.get(&name) {
            let bindings: SmallVec<[u32; 4]> = bindings.iter().take(MAX_TARGETS).copied().collect();
            for b in bindings {
                if full(&out) {
                    break;
                }
                let entity = &f.entities[b as usize];
                if entity.import.is_some() {
                    let chased = self.chase_import(file, b, false);
                    if chased.is_empty() {
                        // An import of something outside the workspace: the import
                        // statement is the best definition we have.
                        out.push(EntityLoc { file, index: b });
                    } else {
                        out.extend(chased);
                    }
                } else {
                    out.push(EntityLoc { file, index: b });
                }
            }
        }
        if !out.is_empty() {
            out.truncate(MAX_TARGETS);
            return out;
        }
        out.extend(self.glob_lookup(file, name, false));
        if !out.is_empty() {
            return out;
        }
        let config = self.config(file);
        let package = f.package.map(|p| self.g.interner.resolve(p));
        if let Some(key) = package_scope_key(config.module_scheme, f.root, &f.rel, package) {
            if let Some(k) = self.dep_key(&key) {
                if let Some(files) = self.g.by_module.get(&k) {
                    for &other in files {
                        if out.len() >= MAX_TARGETS {
                            break;
                        }
                        if other == file {
                            continue;
                        }
                        let of = self.file(other);
                        if let Some(bindings) = of.top.get(&name) {
                            out.extend(
                                bindings
                                    .iter()
                                    .filter(|&&b| of.entities[b as usize].import.is_none())
                                    .take(MAX_TARGETS)
                                    .map(|&index| EntityLoc { file: other, index }),
                            );
                        }
                    }
                }
            }
        }
        out
    }

    /// Names brought in by `*` imports of `file` (only exported ones when `exported`).
    fn glob_lookup(&mut self, file: FileId, name: Name, exported: bool) -> Targets {
        let mut out = Targets::new();
        let Some(star) = self.g.star else {
            return out;
        };
        self.dep(star);
        let f = self.file(file);
        let Some(globs) = f.top.get(&star) else {
            return out;
        };
        let exports_all = self.config(file).imports_are_exports;
        for &g in globs.clone().iter() {
            let Some(info) = f.entities[g as usize].import.as_deref() else {
                continue;
            };
            if exported && !(exports_all || info.export) {
                continue;
            }
            if !self.visiting.insert((file.0, g, 1)) {
                continue;
            }
            let path = self.g.interner.resolve(info.path).to_string();
            for module in self.resolve_module_path(file, &path) {
                if full(&out) {
                    break;
                }
                out.extend(self.members_of(module, name));
            }
            self.visiting.remove(&(file.0, g, 1));
        }
        out
    }

    /// What the import entity `index` of `file` stands for.
    fn chase_import(&mut self, file: FileId, index: u32, for_name_ref: bool) -> Targets {
        if let Some(hit) = self.chased.get(&(file, index)).cloned() {
            return self.reuse(hit);
        }
        if self.depth > MAX_DEPTH || !self.visiting.insert((file.0, index, 0)) {
            return Targets::new();
        }
        self.depth += 1;
        self.push_frame();
        let mut out = self.chase_import_inner(file, index, for_name_ref);
        out.truncate(MAX_TARGETS);
        let deps = self.pop_frame();
        self.chased.insert((file, index), (out.clone(), deps));
        self.depth -= 1;
        self.visiting.remove(&(file.0, index, 0));
        out
    }

    fn chase_import_inner(&mut self, file: FileId, index: u32, _for_name_ref: bool) -> Targets {
        let f = self.file(file);
        let entity = &f.entities[index as usize];
        let Some(info) = entity.import.as_deref().cloned() else {
            return Targets::new();
        };
        let scheme = self.config(file).module_scheme;
        let sep = self.config(file).separator.clone();
        let path = self.g.interner.resolve(info.path).to_string();
        if info.glob {
            return Targets::new();
        }
        if info.submodule {
            let name = info
                .name
                .map(|n| self.g.interner.resolve(n).to_string())
                .unwrap_or_default();
            return self.resolve_module_path(file, &format!("self{sep}{name}"));
        }
        match info.name {
            Some(name) => {
                if path.is_empty() {
                    // A local alias (`export { x as y }`, `export default x`).
                    return self.resolve_name_in_file(file, name);
                }
                let mut out = Targets::new();
                for module in self.resolve_module_path(file, &path) {
                    if full(&out) {
                        break;
                    }
                    out.extend(self.members_of(module, name));
                }
                if out.is_empty() {
                    // `from pkg import submodule`, `use a::module`, `import a.b.Class`.
                    let name_text = self.g.interner.resolve(name);
                    let joined = if path.ends_with('.') || path.ends_with('/') {
                        format!("{path}{name_text}")
                    } else {
                        format!("{path}{sep}{name_text}")
                    };
                    out = self.resolve_module_path(file, &joined);
                }
                out
            }
            None => {
                // `import a.b.c` binds `a` in Python (unless aliased).
                let binding = self.g.interner.resolve(entity.name);
                let path = if scheme == ModuleScheme::Python
                    && !path.starts_with('.')
                    && path.split('.').next() == Some(binding)
                {
                    binding.to_string()
                } else {
                    path
                };
                self.resolve_module_path(file, &path)
            }
        }
    }

    /// The module (or, past the longest module prefix, the members) an import path
    /// names, as seen from `file`.
    pub(crate) fn resolve_module_path(&mut self, file: FileId, path: &str) -> Targets {
        let Some(prefix) = self.module_prefix(file, path) else {
            return Targets::new();
        };
        let (k, files, segs) = (prefix.consumed, prefix.files.clone(), prefix.segs.clone());
        {
            let mut targets: Targets = files
                .iter()
                .map(|&file| EntityLoc { file, index: 0 })
                .collect();
            for seg in &segs[k..] {
                let name = match self.g.interner.get(seg) {
                    Some(n) => n,
                    None => {
                        self.record(Dep::Key(seg.as_str().into()));
                        return Targets::new();
                    }
                };
                let mut next = Targets::new();
                for t in targets {
                    next.extend(self.members_of(t, name));
                }
                targets = next;
                if targets.is_empty() {
                    break;
                }
            }
            targets
        }
    }

    /// The longest prefix of an import path that names a module, and that module's
    /// files. Pure in the graph's state, so it is memoized per resolver, with the module
    /// keys it read replayed as dependencies on every use.
    fn module_prefix(&mut self, file: FileId, path: &str) -> Option<Rc<ModulePrefix>> {
        if let Some(hit) = self.module_memo.get(&(file, Box::<str>::from(path))) {
            let hit = hit.clone();
            for d in hit.deps.iter() {
                self.record(d.clone());
            }
            return (!hit.files.is_empty()).then_some(hit);
        }
        let f = self.file(file);
        let config = self.config(file);
        let segs = path_segments(config.module_scheme, path);
        let mut deps = Vec::new();
        let mut result = ModulePrefix {
            consumed: 0,
            files: SmallVec::new(),
            segs: segs.clone(),
            deps: Vec::new(),
        };
        'outer: for k in (1..=segs.len().min(MAX_MODULE_PATH_SEGMENTS)).rev() {
            let keys = module_keys_for(
                config.module_scheme,
                &self.g.module_ctx,
                f.root,
                &f.rel,
                &segs[..k],
            );
            for key in keys {
                match self.g.interner.get(&key) {
                    Some(n) => {
                        deps.push(Dep::Name(n));
                        if let Some(found) = self.g.by_module.get(&n) {
                            let found: SmallVec<[FileId; 2]> = if key.starts_with("py:") {
                                found
                                    .iter()
                                    .copied()
                                    .filter(|&m| self.python_import_root(m, k, &mut deps))
                                    .collect()
                            } else {
                                found.iter().copied().collect()
                            };
                            if !found.is_empty() {
                                result.consumed = k;
                                result.files.extend(found);
                                break 'outer;
                            }
                        }
                    }
                    None => deps.push(Dep::Key(key.into())),
                }
            }
        }
        result.deps = deps;
        let result = Rc::new(result);
        for d in result.deps.iter() {
            self.record(d.clone());
        }
        self.module_memo
            .insert((file, Box::from(path)), result.clone());
        (!result.files.is_empty()).then_some(result)
    }

    /// Python: whether `file` can be the module named by a dotted path of `segments`
    /// segments, i.e. the folder above that path is not itself a package (with an
    /// `__init__.py`). `import logging` inside a package `rich` means the standard
    /// library, not `rich/logging.py`; `src/pkg/mod.py` is `pkg.mod` with `src` on the
    /// path. The `__init__.py` keys looked at are dependencies.
    fn python_import_root(&self, file: FileId, segments: usize, deps: &mut Vec<Dep>) -> bool {
        let f = self.file(file);
        let module = crate::modules::python_module(&f.rel);
        if module.len() < segments {
            return false;
        }
        let root = module[..module.len() - segments].join("/");
        if root.is_empty() {
            return true;
        }
        for init in ["__init__.py", "__init__.pyi"] {
            let key = crate::modules::path_key(f.root, &format!("{root}/{init}"));
            match self.g.interner.get(&key) {
                Some(n) => {
                    deps.push(Dep::Name(n));
                    if self.g.by_module.get(&n).is_some_and(|v| !v.is_empty()) {
                        return false;
                    }
                }
                None => deps.push(Dep::Key(key.into())),
            }
        }
        true
    }

    /// Names visible from outside a module file.
    fn exported_name(&mut self, file: FileId, name: Name) -> Targets {
        self.dep(name);
        if !self.g.name_is_bound(name) {
            return Targets::new();
        }
        let f = self.file(file);
        let exports_all = self.config(file).imports_are_exports;
        let mut out = Targets::new();
        if let Some(bindings) = f.top.get(&name) {
            let bindings: SmallVec<[u32; 4]> = bindings.iter().take(MAX_TARGETS).copied().collect();
            for b in bindings {
                if full(&out) {
                    break;
                }
                match f.entities[b as usize].import.as_deref() {
                    Some(info) => {
                        if exports_all || info.export {
                            out.extend(self.chase_import(file, b, false));
                        }
                    }
                    None => out.push(EntityLoc { file, index: b }),
                }
            }
        }
        if out.is_empty() {
            out.extend(self.glob_lookup(file, name, true));
        }
        out
    }

    /// The resolved bases of a type: its own `extends`/`implements` and those of the
    /// `impl Trait for Type` blocks of its name.
    fn bases_of(&mut self, loc: EntityLoc) -> Targets {
        if let Some(hit) = self.bases_memo.get(&loc).cloned() {
            return self.reuse(hit);
        }
        self.push_frame();
        let out = self.bases_of_uncached(loc);
        let deps = self.pop_frame();
        self.bases_memo.insert(loc, (out.clone(), deps));
        out
    }

    fn bases_of_uncached(&mut self, loc: EntityLoc) -> Targets {
        let f = self.file(loc.file);
        let type_name = f.entities[loc.index as usize].name;
        let mut refs: SmallVec<[(FileId, u32); 4]> =
            f.base_refs(loc.index).map(|(i, _)| (loc.file, i)).collect();
        self.dep(type_name);
        if let Some(impls) = self.g.impls.get(&type_name) {
            for id in impls {
                if let Some(&il) = self.g.entity_loc.get(id) {
                    if il != loc && self.file(il.file).unit == f.unit {
                        refs.extend(
                            self.file(il.file)
                                .base_refs(il.index)
                                .map(|(i, _)| (il.file, i)),
                        );
                    }
                }
            }
        }
        let mut out = Targets::new();
        for (bf, bi) in refs {
            out.extend(self.resolve_ref(bf, bi).1);
        }
        // Many `impl Trait for Type` blocks name the same trait.
        dedup(&mut out);
        out
    }

    /// Members named `name` of the entity at `loc`: module exports, type members
    /// (through bases), or members of a variable's declared type.
    pub(crate) fn members_of(&mut self, loc: EntityLoc, name: Name) -> Targets {
        if let Some(hit) = self.members.get(&(loc, name)).cloned() {
            return self.reuse(hit);
        }
        if self.depth > MAX_DEPTH || !self.visiting.insert((loc.file.0, loc.index, 2)) {
            return Targets::new();
        }
        self.depth += 1;
        self.push_frame();
        let mut out = self.members_of_inner(loc, name);
        dedup(&mut out);
        out.truncate(MAX_TARGETS);
        let deps = self.pop_frame();
        self.members.insert((loc, name), (out.clone(), deps));
        self.depth -= 1;
        self.visiting.remove(&(loc.file.0, loc.index, 2));
        out
    }

    fn members_of_inner(&mut self, loc: EntityLoc, name: Name) -> Targets {
        let f = self.file(loc.file);
        let entity = &f.entities[loc.index as usize];
        let kind = entity.kind;
        match kind {
            EntityKind::File => {
                let out = self.exported_name(loc.file, name);
                if !out.is_empty()
                    || !is_python_package(self.config(loc.file).module_scheme, &f.rel)
                {
                    return out;
                }
                // `pkg.sub` after `import pkg.sub`: a package's submodule is its
                // attribute once imported anywhere.
                let sub = format!(".{}", self.g.interner.resolve(name));
                let mut out = self.resolve_module_path(loc.file, &sub);
                out.retain(|t| t.index == 0 && t.file != loc.file);
                out
            }
            EntityKind::Import => {
                let mut out = Targets::new();
                for t in self.chase_import(loc.file, loc.index, false) {
                    if full(&out) {
                        break;
                    }
                    out.extend(self.members_of(t, name));
                }
                out
            }
            k if k.is_type()
                || matches!(
                    k,
                    EntityKind::Module
                        | EntityKind::Namespace
                        | EntityKind::Package
                        | EntityKind::TypeAlias
                ) =>
            {
                let type_name = entity.name;
                self.dep(type_name);
                self.dep(name);
                let mut out = Targets::new();
                if let Some(ids) = self.g.members.get(&(type_name, name)) {
                    for id in ids {
                        let Some(&m) = self.g.entity_loc.get(id) else {
                            continue;
                        };
                        let mf = self.file(m.file);
                        let container = mf.entities[m.index as usize].container;
                        // Members declared in the type itself; in `impl` blocks of its
                        // name; or, asked of an `impl` block, in the type it implements.
                        let same_unit = mf.unit == f.unit;
                        let owned = mf.entities[m.index as usize].owner.is_some()
                            && (k.is_type() || k == EntityKind::TypeAlias)
                            && same_unit;
                        let belongs = container == Some(loc.index) && m.file == loc.file
                            || owned
                            || same_unit
                                && container.is_some_and(|c| {
                                    let ck = mf.entities[c as usize].kind;
                                    k.is_type()
                                        && (ck == EntityKind::Impl
                                            || (k == EntityKind::Impl && ck.is_type()))
                                });
                        if belongs {
                            out.push(m);
                            if out.len() >= MAX_TARGETS {
                                break;
                            }
                        }
                    }
                }
                if !out.is_empty() {
                    return out;
                }
                if k == EntityKind::TypeAlias {
                    // `type A = B & { ... }`: the members of what it names.
                    return self.members_of_declared_type(loc, name);
                }
                if !k.is_type() {
                    return out;
                }
                for base in self.bases_of(loc) {
                    if full(&out) {
                        break;
                    }
                    out.extend(self.members_of(base, name));
                }
                out
            }
            EntityKind::Variable
            | EntityKind::Field
            | EntityKind::Constant
            | EntityKind::Function
            | EntityKind::Method => {
                if matches!(kind, EntityKind::Variable | EntityKind::Constant) {
                    // The keys of the literal it is bound to (`const T = { a: 1 }`).
                    let own = entity.name;
                    self.dep(own);
                    self.dep(name);
                    let keys: Targets = self
                        .g
                        .members
                        .get(&(own, name))
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.g.entity_loc.get(id).copied())
                        .filter(|m| {
                            m.file == loc.file
                                && f.entities[m.index as usize].container == Some(loc.index)
                        })
                        .collect();
                    if !keys.is_empty() {
                        return keys;
                    }
                }
                self.members_of_declared_type(loc, name)
            }
            _ => Targets::new(),
        }
    }

    /// Members named `name` of the types `loc`'s `@type` names: a value's declared type,
    /// a function's return type, what a type alias stands for.
    fn members_of_declared_type(&mut self, loc: EntityLoc, name: Name) -> Targets {
        let entity = &self.file(loc.file).entities[loc.index as usize];
        let Some(type_name) = entity.type_name else {
            return Targets::new();
        };
        let source = entity.container.or(Some(loc.index));
        let (_, types, _) = self.resolve_type_name(loc.file, source, type_name);
        let mut out = Targets::new();
        for t in types {
            if full(&out) {
                break;
            }
            if t != loc {
                out.extend(self.members_of(t, name));
            }
        }
        out
    }
}

/// A Python package's `__init__` module, whose submodules are its attributes.
fn is_python_package(scheme: ModuleScheme, rel: &str) -> bool {
    scheme == ModuleScheme::Python
        && matches!(rel.rsplit('/').next(), Some("__init__.py" | "__init__.pyi"))
}
