//! Navigation queries in editor terms: symbol search, the symbol at a position,
//! definitions, references, call hierarchies, outlines, imports and dependents.

use std::time::Duration;

use codecontext_graph::{EntityId, EntityLoc, FileId, How, RefLoc, SearchMode};
use codecontext_syntax::{
    chunk_ranges, extract_chunks, parse, EntityKind, ExtractOptions, LocalBindings, RefKind,
};
use codecontext_text::{LineCol, LineIndex, PositionEncoding, TextRange, WideLineCol};
use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::host::AnalysisHost;

/// A read-only view of the host for queries.
#[derive(Clone, Copy)]
pub struct Analysis<'a> {
    pub(crate) host: &'a AnalysisHost,
}

/// How much an entity is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Every reference that resolves to it.
    pub references: usize,
    /// Its direct callers.
    pub callers: usize,
}

/// Something to navigate to: an entity or a local binding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NavTarget {
    #[serde(skip)]
    pub file: FileId,
    pub path: String,
    /// The whole definition.
    pub range: TextRange,
    /// The name.
    pub focus: TextRange,
    pub name: String,
    /// An entity kind, or `local` for a variable or parameter.
    pub kind: String,
    pub qualified_name: String,
    pub container: Option<String>,
    pub signature: Option<String>,
    pub doc: Option<String>,
    #[serde(skip)]
    pub entity: Option<EntityId>,
}

/// The definitions of the reference at a position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Definitions {
    /// The range of the name that was asked about.
    pub origin: TextRange,
    pub how: How,
    pub targets: Vec<NavTarget>,
}

/// A place in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Location {
    #[serde(skip)]
    pub file: FileId,
    pub path: String,
    pub range: TextRange,
}

/// The references of the symbol at a position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct References {
    pub targets: Vec<NavTarget>,
    pub locations: Vec<Location>,
}

/// A caller or callee at some depth.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CallInfo {
    pub target: NavTarget,
    pub via: String,
    pub depth: u32,
    pub how: How,
    pub sites: Vec<Location>,
}

/// The most levels an outline has. Deeper trees would be of no use to read, and every
/// consumer of one (dropping it, converting it, serializing it) recurses once per level.
/// Each level is two levels of JSON in an LSP answer (a symbol, its `children`), and
/// clients that read JSON with serde_json (Zed, Helix) refuse more than 128: 32 levels
/// keep a document symbol answer, and an MCP answer wrapping it, well inside that.
pub const MAX_OUTLINE_DEPTH: usize = 32;

/// An outline entry with its children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutlineItem {
    pub target: NavTarget,
    pub children: Vec<OutlineItem>,
}

/// An import of a file and what it leads to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportInfo {
    pub binding: NavTarget,
    pub targets: Vec<NavTarget>,
}

impl<'a> Analysis<'a> {
    pub fn host(&self) -> &'a AnalysisHost {
        self.host
    }

    pub fn graph(&self) -> &'a codecontext_graph::SymbolGraph {
        &self.host.graph
    }

    pub fn line_index(&self, file: FileId) -> Option<&'a LineIndex> {
        Some(&self.graph().file_data(file)?.line_index)
    }

    pub fn path_of(&self, file: FileId) -> String {
        self.graph()
            .file_data(file)
            .map(|f| f.rel.to_string())
            .unwrap_or_default()
    }

    /// The byte offset of a position in `encoding`, clamped to the line and the text.
    pub fn offset(
        &self,
        file: FileId,
        line: u32,
        col: u32,
        encoding: PositionEncoding,
    ) -> Option<u32> {
        let index = self.line_index(file)?;
        Some(index.offset_of_wide(encoding, WideLineCol { line, col }))
    }

    /// The zero-based line and UTF-8 column of a byte offset.
    pub fn line_col(&self, file: FileId, offset: u32) -> Option<LineCol> {
        self.line_index(file)?.line_col(offset).ok()
    }

    /// A navigation target for an entity.
    pub fn nav(&self, loc: EntityLoc) -> Option<NavTarget> {
        self.nav_in(loc, &self.graph().module_name(loc.file))
    }

    /// [`Analysis::nav`] with the module of the entity's file already known (for many
    /// entities of one file).
    fn nav_in(&self, loc: EntityLoc, module: &str) -> Option<NavTarget> {
        let g = self.graph();
        let f = g.file_data(loc.file)?;
        let e = g.entity(loc)?;
        let container = e
            .container
            .map(|c| g.name(f.entities[c as usize].name).to_string());
        Some(NavTarget {
            file: loc.file,
            path: f.rel.to_string(),
            range: e.range,
            focus: e.selection,
            name: g.name(e.name).to_string(),
            kind: e.kind.as_str().to_string(),
            qualified_name: g.qualified_name_in(loc, module),
            container,
            signature: (!e.signature.is_empty()).then(|| e.signature.to_string()),
            doc: e.doc.as_ref().map(|d| d.to_string()),
            entity: Some(e.id),
        })
    }

    fn nav_id(&self, id: EntityId) -> Option<NavTarget> {
        self.nav(self.graph().locate(id)?)
    }

    /// Symbols whose names match `query`, best first.
    pub fn symbols(&self, query: &str, mode: SearchMode, limit: usize) -> Vec<NavTarget> {
        self.graph()
            .search_symbols(query, mode, limit)
            .into_iter()
            .filter_map(|loc| self.nav(loc))
            .collect()
    }

    /// Symbols of one kind (`function`, `method`, `class`, ...) whose names match
    /// `query`, best first; the limit counts symbols of that kind.
    pub fn symbols_of_kind(
        &self,
        query: &str,
        mode: SearchMode,
        kind: &str,
        limit: usize,
    ) -> Vec<NavTarget> {
        self.graph()
            .search_symbols_where(query, mode, limit, |e| e.kind.as_str() == kind)
            .into_iter()
            .filter_map(|loc| self.nav(loc))
            .collect()
    }

    /// Entities named exactly `name`, or whose qualified name ends with it.
    pub fn find_by_name(&self, name: &str) -> Vec<NavTarget> {
        let simple = name.rsplit(['.', ':', '/']).next().unwrap_or(name);
        self.graph()
            .search_symbols(simple, SearchMode::Exact, 10_000)
            .into_iter()
            .filter_map(|loc| self.nav(loc))
            .filter(|t| t.name == simple && (name == simple || t.qualified_name.ends_with(name)))
            .collect()
    }

    /// The entity defined at a position (its name under the cursor).
    pub fn entity_at(&self, file: FileId, offset: u32) -> Option<NavTarget> {
        self.nav(self.graph().entity_at(file, offset)?)
    }

    /// Local bindings of the chunk around `offset`, from the open document or disk.
    pub fn local_bindings(&self, file: FileId, offset: u32) -> Option<LocalBindings> {
        if let Some(doc) = self.host.docs.get(&file) {
            return doc.locals_at(offset)?.locals;
        }
        let path = self.host.path(file)?;
        let bytes = std::fs::read(&path).ok()?;
        let limits = self.host.limits();
        let text = codecontext_syntax::check_source(&bytes, limits).ok()?;
        let lang = codecontext_lang::language(self.graph().file_data(file)?.lang);
        let tree = parse(
            lang,
            text,
            None,
            limits.parse_budget.max(Duration::from_millis(100)),
        )
        .ok()?;
        let chunk = chunk_ranges(&tree, &lang.config)
            .into_iter()
            .find(|c| c.contains_inclusive(offset))?;
        extract_chunks(
            lang,
            tree.root_node(),
            text,
            &[chunk],
            ExtractOptions { keep_locals: true },
            None,
        )
        .ok()?
        .pop()?
        .locals
    }

    fn local_nav(&self, file: FileId, locals: &LocalBindings, def: usize) -> NavTarget {
        let d = &locals.defs[def];
        NavTarget {
            file,
            path: self.path_of(file),
            range: d.range,
            focus: d.range,
            name: d.name.clone(),
            kind: "local".to_string(),
            qualified_name: d.name.clone(),
            container: None,
            signature: d.type_name.as_ref().map(|t| format!("{}: {t}", d.name)),
            doc: None,
            entity: None,
        }
    }

    /// The definitions of the name at a position. A definition's own name answers
    /// itself; a local variable answers its binding.
    pub fn definitions(&self, file: FileId, offset: u32) -> Option<Definitions> {
        self.definitions_and_locals(file, offset)
            .map(|(defs, _)| defs)
    }

    /// [`Analysis::definitions`], with the local bindings of the chunk when the answer
    /// came from them (so that references need not extract them again).
    fn definitions_and_locals(
        &self,
        file: FileId,
        offset: u32,
    ) -> Option<(Definitions, Option<LocalBindings>)> {
        let g = self.graph();
        if let Some(r) = g.ref_at(file, offset) {
            let res = g.resolution(r)?;
            // A name imported from outside the workspace resolves to its import
            // statement in the graph; that is not its definition.
            let targets: Vec<NavTarget> = res
                .targets()
                .iter()
                .filter_map(|t| self.nav_id(*t))
                .filter(|t| t.kind != EntityKind::Import.as_str())
                .collect();
            let targets = self.refine(file, g.ref_kind(r), targets);
            let defs = Definitions {
                origin: g.ref_range(r)?,
                how: res.how(),
                targets,
            };
            return Some((defs, None));
        }
        if let Some(loc) = g.entity_at(file, offset) {
            let nav = self.nav(loc)?;
            // An import's own name leads where the import leads.
            if nav.kind == EntityKind::Import.as_str() {
                if let Some((_, targets)) = g.imports_of(file).into_iter().find(|(l, _)| *l == loc)
                {
                    let targets: Vec<NavTarget> =
                        targets.iter().filter_map(|t| self.nav_id(*t)).collect();
                    // An import of something outside the workspace has no definition
                    // here.
                    let how = if targets.is_empty() {
                        How::Unresolved
                    } else {
                        How::Exact
                    };
                    let defs = Definitions {
                        origin: nav.focus,
                        how,
                        targets,
                    };
                    return Some((defs, None));
                }
            }
            // A definition's own name: itself, or where every binding declares, all
            // declarations of that name in the same place (overloads, `self.x =`).
            let f = g.file_data(file)?;
            let targets = if codecontext_lang::language(f.lang).config.all_declarations {
                let e = &f.entities[loc.index as usize];
                f.entities
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, o)| {
                        o.name == e.name && o.container == e.container && o.kind == e.kind
                    })
                    .filter_map(|(i, _)| {
                        self.nav(EntityLoc {
                            file,
                            index: i as u32,
                        })
                    })
                    .collect()
            } else {
                self.refine(file, None, vec![nav.clone()])
            };
            let defs = Definitions {
                origin: nav.focus,
                how: How::Exact,
                targets,
            };
            return Some((defs, None));
        }
        if let Some(locals) = self.local_bindings(file, offset) {
            if let Some((range, def)) = locals
                .uses
                .iter()
                .find(|(r, _)| r.contains_inclusive(offset))
            {
                let defs = Definitions {
                    origin: *range,
                    how: How::Exact,
                    targets: self.local_targets(file, &locals, *def as usize),
                };
                return Some((defs, Some(locals)));
            }
            if let Some(def) = locals
                .defs
                .iter()
                .position(|d| d.range.contains_inclusive(offset))
            {
                let defs = Definitions {
                    origin: locals.defs[def].range,
                    how: How::Exact,
                    targets: self.local_targets(file, &locals, def),
                };
                return Some((defs, Some(locals)));
            }
        }
        self.keyword_argument(file, offset).map(|defs| (defs, None))
    }

    /// Language conventions for definition answers: an overload signature gives way to
    /// its implementation; `new C()` also leads to `C`'s constructor.
    fn refine(
        &self,
        file: FileId,
        kind: Option<RefKind>,
        targets: Vec<NavTarget>,
    ) -> Vec<NavTarget> {
        let g = self.graph();
        let config = |f: FileId| {
            g.file_data(f)
                .map(|d| &codecontext_lang::language(d.lang).config)
        };
        let mut out: Vec<NavTarget> = Vec::new();
        for t in targets {
            let Some(loc) = t.entity.and_then(|id| g.locate(id)) else {
                out.push(t);
                continue;
            };
            let Some(f) = g.file_data(loc.file) else {
                continue;
            };
            let e = &f.entities[loc.index as usize];
            let mut replaced = false;
            // Only a signature's own name leads to the implementation: a reference may
            // mean any overload.
            if kind.is_none()
                && !e.has_body
                && e.kind.is_callable()
                && config(loc.file).is_some_and(|c| c.prefer_implementations)
            {
                let implementation = f.entities.iter().enumerate().skip(1).find(|(_, o)| {
                    o.has_body && o.name == e.name && o.container == e.container && o.kind == e.kind
                });
                if let Some((i, _)) = implementation {
                    if let Some(n) = self.nav(EntityLoc {
                        file: loc.file,
                        index: i as u32,
                    }) {
                        out.push(n);
                        replaced = true;
                    }
                }
            }
            if e.kind.is_type()
                && kind == Some(RefKind::Call)
                && config(file).is_some_and(|c| c.calls_include_constructors)
            {
                for (i, o) in f.entities.iter().enumerate().skip(1) {
                    let constructor =
                        o.kind == EntityKind::Constructor || g.name(o.name) == "constructor";
                    if o.container == Some(loc.index) && constructor && o.kind.is_callable() {
                        if let Some(n) = self.nav(EntityLoc {
                            file: loc.file,
                            index: i as u32,
                        }) {
                            out.push(n);
                        }
                    }
                }
            }
            if !replaced {
                out.push(t);
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|t| seen.insert((t.file, t.focus)));
        out
    }

    /// The text of a file: the open document's, else the file on disk.
    pub fn text(&self, file: FileId) -> Option<std::borrow::Cow<'a, str>> {
        if let Some(doc) = self.host.docs.get(&file) {
            return Some(doc.text().into());
        }
        let bytes = std::fs::read(self.host.path(file)?).ok()?;
        String::from_utf8(bytes).ok().map(Into::into)
    }

    /// A keyword argument's name (`f(width=1)`) leads to the callee's parameter.
    fn keyword_argument(&self, file: FileId, offset: u32) -> Option<Definitions> {
        let g = self.graph();
        let lang = codecontext_lang::language(g.file_data(file)?.lang);
        lang.config.keyword_argument.as_ref()?;
        let text = self.text(file)?;
        // Parsing is only worth it where the text looks like `name=` (not `==`).
        if !looks_like_keyword_argument(&text, offset) {
            return None;
        }
        let arg = match self.host.docs.get(&file) {
            Some(doc) => {
                let view = doc.chunk_view(offset)?;
                let mut arg = codecontext_syntax::keyword_argument_in(
                    lang,
                    &view.tree,
                    view.text,
                    offset - view.base,
                )?;
                arg.callee = arg.callee.shifted(view.base as i64);
                arg
            }
            None => {
                codecontext_syntax::keyword_argument_at(lang, &text, offset, self.host.limits())?
            }
        };
        let callee = g.ref_at(file, arg.callee.start)?;
        let mut targets = Vec::new();
        for id in g.resolution(callee)?.targets() {
            let Some(loc) = g.locate(*id) else { continue };
            let Some(f) = g.file_data(loc.file) else {
                continue;
            };
            let entity = &f.entities[loc.index as usize];
            // A class is called through its constructor.
            let functions: Vec<u32> = if entity.kind.is_type() {
                (0..f.entities.len() as u32)
                    .filter(|&i| {
                        let e = &f.entities[i as usize];
                        e.container == Some(loc.index)
                            && e.kind.is_callable()
                            && matches!(g.name(e.name), "__init__" | "constructor" | "new")
                    })
                    .collect()
            } else {
                vec![loc.index]
            };
            for function in functions {
                let range = f.entities[function as usize].range;
                let Some(locals) = self.local_bindings(loc.file, range.start) else {
                    continue;
                };
                // The parameter: the first binding of the name in the function.
                if let Some(i) = locals
                    .defs
                    .iter()
                    .position(|d| d.name == arg.name && d.scope == range)
                {
                    targets.push(self.local_nav(loc.file, &locals, i));
                }
            }
        }
        Some(Definitions {
            origin: TextRange::new(offset, offset + arg.name.len() as u32),
            how: if targets.is_empty() {
                How::Unresolved
            } else {
                How::Exact
            },
            targets,
        })
    }

    /// The binding `def`, or, where every assignment declares (Python), all bindings of
    /// its name in its scope.
    fn local_targets(&self, file: FileId, locals: &LocalBindings, def: usize) -> Vec<NavTarget> {
        let all = self
            .graph()
            .file_data(file)
            .is_some_and(|f| codecontext_lang::language(f.lang).config.all_declarations);
        let d = &locals.defs[def];
        if !all {
            return vec![self.local_nav(file, locals, def)];
        }
        locals
            .defs
            .iter()
            .enumerate()
            .filter(|(_, o)| o.scope == d.scope && o.name == d.name && o.entity.is_none())
            .map(|(i, _)| self.local_nav(file, locals, i))
            .collect()
    }

    /// Every reference to the symbol at a position (for a local: within its chunk).
    pub fn references(
        &self,
        file: FileId,
        offset: u32,
        include_declaration: bool,
    ) -> Option<References> {
        let (defs, known) = self.definitions_and_locals(file, offset)?;
        let mut locations = Vec::new();
        let mut targets = Vec::new();
        for t in defs.targets {
            match t.entity {
                Some(id) => {
                    for r in self.graph().references_to(id) {
                        if let Some(range) = self.graph().ref_range(r) {
                            locations.push(Location {
                                file: r.file,
                                path: self.path_of(r.file),
                                range,
                            });
                        }
                    }
                }
                None => {
                    // The bindings the definition came from, else those around it.
                    let computed;
                    let locals = match &known {
                        Some(locals) if t.file == file => Some(locals),
                        _ => {
                            computed = self.local_bindings(t.file, t.focus.start);
                            computed.as_ref()
                        }
                    };
                    if let Some(locals) = locals {
                        if let Some(def) = locals.defs.iter().position(|d| d.range == t.focus) {
                            for (range, d) in &locals.uses {
                                if *d as usize == def {
                                    locations.push(Location {
                                        file: t.file,
                                        path: t.path.clone(),
                                        range: *range,
                                    });
                                }
                            }
                        }
                    }
                }
            }
            if include_declaration {
                locations.push(Location {
                    file: t.file,
                    path: t.path.clone(),
                    range: t.focus,
                });
            }
            targets.push(t);
        }
        locations.sort();
        locations.dedup();
        Some(References { targets, locations })
    }

    fn call_infos(&self, steps: Vec<codecontext_graph::CallStep>) -> Vec<CallInfo> {
        steps
            .into_iter()
            .filter_map(|s| {
                let target = self
                    .nav(s.entity)
                    .or_else(|| self.file_nav(s.entity.file))?;
                let via = self.graph().qualified_name(s.via);
                let sites = s
                    .sites
                    .iter()
                    .filter_map(|r: &RefLoc| {
                        Some(Location {
                            file: r.file,
                            path: self.path_of(r.file),
                            range: self.graph().ref_range(*r)?,
                        })
                    })
                    .collect();
                Some(CallInfo {
                    target,
                    via,
                    depth: s.depth,
                    how: s.how,
                    sites,
                })
            })
            .collect()
    }

    fn file_nav(&self, file: FileId) -> Option<NavTarget> {
        self.nav(EntityLoc { file, index: 0 })
    }

    /// The entities reached from `id` along `walk` (callers, callees, impact), at most
    /// `depth` edges away, nearest first, at most `limit`: the same shape as the team's
    /// graph database and PostgreSQL's tables answer.
    pub fn walk(
        &self,
        id: EntityId,
        walk: codecontext_graph::Walk,
        depth: u32,
        limit: usize,
    ) -> Vec<codecontext_graph::Reached> {
        self.graph().walk(id, walk, depth, limit)
    }

    /// How much an entity is used: its references, and its direct callers.
    pub fn usage(&self, id: EntityId) -> Usage {
        let g = self.graph();
        Usage {
            references: g.references_to(id).len(),
            callers: g.callers(id, 1).len(),
        }
    }

    /// The types that inherit from or implement what the name at `offset` defines or
    /// refers to, each once, in the graph's order.
    pub fn implementations(&self, file: FileId, offset: u32) -> Option<Vec<NavTarget>> {
        let defs = self.definitions(file, offset)?;
        let g = self.graph();
        let mut out: Vec<NavTarget> = Vec::new();
        let mut seen: FxHashSet<(FileId, TextRange)> = FxHashSet::default();
        for id in defs.targets.iter().filter_map(|t| t.entity) {
            for r in g.references_to(id) {
                if !matches!(g.ref_kind(r), Some(RefKind::Inherits | RefKind::Implements)) {
                    continue;
                }
                let Some(t) = g.ref_source(r).and_then(|source| self.nav(source)) else {
                    continue;
                };
                if seen.insert((t.file, t.focus)) {
                    out.push(t);
                }
            }
        }
        Some(out)
    }

    /// The name of a file's language (`python`, `rust`, ...), as Markdown code blocks
    /// are labelled.
    pub fn language_name(&self, file: FileId) -> Option<&'static str> {
        let f = self.graph().file_data(file)?;
        Some(codecontext_lang::language(f.lang).name())
    }

    /// Who calls `id`, to `depth` levels.
    pub fn callers(&self, id: EntityId, depth: u32) -> Vec<CallInfo> {
        self.call_infos(self.graph().callers(id, depth))
    }

    /// What `id` calls, to `depth` levels.
    pub fn callees(&self, id: EntityId, depth: u32) -> Vec<CallInfo> {
        self.call_infos(self.graph().callees(id, depth))
    }

    /// Who calls `id` (`callers`) or what it calls, to `depth` levels, with the number of
    /// calls the walk may have missed because resolution tied them to nothing (see
    /// `SymbolGraph::unresolved_calls`): when it is not 0, the answer is a lower bound.
    pub fn call_walk(&self, id: EntityId, callers: bool, depth: u32) -> (Vec<CallInfo>, usize) {
        let g = self.graph();
        let steps = if callers {
            g.callers(id, depth)
        } else {
            g.callees(id, depth)
        };
        let unresolved = g.unresolved_calls(id, &steps, callers, depth);
        (self.call_infos(steps), unresolved)
    }

    /// The entity tree of a file, at most [`MAX_OUTLINE_DEPTH`] levels deep: entities
    /// nested deeper are listed beside their container.
    pub fn outline(&self, file: FileId) -> Vec<OutlineItem> {
        let g = self.graph();
        let Some(f) = g.file_data(file) else {
            return Vec::new();
        };
        let mut items: Vec<Option<OutlineItem>> = Vec::new();
        let mut parents: Vec<Option<u32>> = Vec::new();
        let module = g.module_name(file);
        for loc in g.outline(file) {
            items.push(self.nav_in(loc, &module).map(|target| OutlineItem {
                target,
                children: Vec::new(),
            }));
            parents.push(f.entities[loc.index as usize].container);
        }
        // Where each item is listed: under its container's item, unless that is at the
        // depth limit (then beside it) or missing (then at the top).
        let mut under: Vec<Option<usize>> = Vec::with_capacity(items.len());
        let mut depth: Vec<usize> = Vec::with_capacity(items.len());
        for (i, parent) in parents.iter().enumerate() {
            let parent = parent
                .map(|p| p as usize)
                .filter(|&p| p >= 1 && p - 1 < i && items[p - 1].is_some())
                .map(|p| p - 1);
            let (at, d) = match parent {
                Some(p) if depth[p] + 1 < MAX_OUTLINE_DEPTH => (Some(p), depth[p] + 1),
                Some(p) => (under[p], depth[p]),
                None => (None, 0),
            };
            under.push(at);
            depth.push(d);
        }
        // Children come after parents: attach from the end (each list backwards, then
        // reversed: inserting at the front would cost the number of siblings each time).
        let mut roots = Vec::new();
        for i in (0..items.len()).rev() {
            let Some(mut item) = items[i].take() else {
                continue;
            };
            item.children.reverse();
            match under[i] {
                Some(p) => items[p]
                    .as_mut()
                    .expect("listed under an item")
                    .children
                    .push(item),
                None => roots.push(item),
            }
        }
        roots.reverse();
        roots
    }

    /// The imports of a file and where each leads.
    pub fn imports(&self, file: FileId) -> Vec<ImportInfo> {
        self.graph()
            .imports_of(file)
            .into_iter()
            .filter_map(|(loc, targets)| {
                Some(ImportInfo {
                    binding: self.nav(loc)?,
                    targets: targets.iter().filter_map(|t| self.nav_id(*t)).collect(),
                })
            })
            .collect()
    }

    /// Files that import `file`.
    pub fn dependents(&self, file: FileId) -> Vec<String> {
        self.graph()
            .dependents_of(file)
            .into_iter()
            .map(|f| self.path_of(f))
            .collect()
    }

    /// Why a file is not indexed (too large, binary, its parse over budget), if it is
    /// not: its diagnostics say so.
    pub fn skipped(&self, file: FileId) -> Option<codecontext_syntax::SkipReason> {
        self.graph().file_data(file)?.skipped.clone()
    }

    /// Syntax errors of a file, for diagnostics.
    pub fn syntax_errors(&self, file: FileId) -> Vec<codecontext_syntax::SyntaxError> {
        self.graph()
            .file_data(file)
            .map(|f| f.errors.clone())
            .unwrap_or_default()
    }
}

/// Whether the identifier at `offset` is followed by `=` (and not `==`), the one shape a
/// keyword argument can have; a cheap test before parsing.
fn looks_like_keyword_argument(text: &str, offset: u32) -> bool {
    let bytes = text.as_bytes();
    let mut i = offset as usize;
    while i < bytes.len()
        && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
    {
        i += 1;
    }
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    bytes.get(i) == Some(&b'=') && bytes.get(i + 1) != Some(&b'=')
}

#[cfg(test)]
mod tests {
    use super::looks_like_keyword_argument;

    #[test]
    fn keyword_argument_shape() {
        assert!(looks_like_keyword_argument("f(width=1)", 2));
        assert!(looks_like_keyword_argument("f(width = 1)", 3));
        assert!(!looks_like_keyword_argument("if width == 1:", 3));
        assert!(!looks_like_keyword_argument("f(width)", 2));
        assert!(looks_like_keyword_argument("f(größe=1)", 2));
    }
}
