//! Navigation queries in editor terms: symbol search, the symbol at a position,
//! definitions, references, call hierarchies, outlines, imports and dependents.

use std::time::Duration;

use codecontext_graph::{EntityId, EntityLoc, FileId, How, RefLoc, SearchMode};
use codecontext_syntax::{
    chunk_ranges, extract_chunks, parse, EntityKind, ExtractOptions, LocalBindings,
};
use codecontext_text::{LineCol, LineIndex, PositionEncoding, TextRange, WideLineCol};
use serde::Serialize;

use crate::host::AnalysisHost;

/// A read-only view of the host for queries.
#[derive(Clone, Copy)]
pub struct Analysis<'a> {
    pub(crate) host: &'a AnalysisHost,
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

    fn graph(&self) -> &'a codecontext_graph::SymbolGraph {
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
            qualified_name: g.qualified_name(loc),
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
        let g = self.graph();
        if let Some(r) = g.ref_at(file, offset) {
            let res = g.resolution(r)?;
            let targets: Vec<NavTarget> =
                res.targets.iter().filter_map(|t| self.nav_id(*t)).collect();
            return Some(Definitions {
                origin: g.ref_range(r)?,
                how: res.how,
                targets,
            });
        }
        if let Some(loc) = g.entity_at(file, offset) {
            let nav = self.nav(loc)?;
            // An import's own name leads where the import leads.
            if nav.kind == EntityKind::Import.as_str() {
                if let Some((_, targets)) = g.imports_of(file).into_iter().find(|(l, _)| *l == loc)
                {
                    let targets: Vec<NavTarget> =
                        targets.iter().filter_map(|t| self.nav_id(*t)).collect();
                    if !targets.is_empty() {
                        return Some(Definitions {
                            origin: nav.focus,
                            how: How::Exact,
                            targets,
                        });
                    }
                }
            }
            return Some(Definitions {
                origin: nav.focus,
                how: How::Exact,
                targets: vec![nav],
            });
        }
        let locals = self.local_bindings(file, offset)?;
        if let Some((range, def)) = locals
            .uses
            .iter()
            .find(|(r, _)| r.contains_inclusive(offset))
        {
            return Some(Definitions {
                origin: *range,
                how: How::Exact,
                targets: vec![self.local_nav(file, &locals, *def as usize)],
            });
        }
        let def = locals
            .defs
            .iter()
            .position(|d| d.range.contains_inclusive(offset))?;
        Some(Definitions {
            origin: locals.defs[def].range,
            how: How::Exact,
            targets: vec![self.local_nav(file, &locals, def)],
        })
    }

    /// Every reference to the symbol at a position (for a local: within its chunk).
    pub fn references(
        &self,
        file: FileId,
        offset: u32,
        include_declaration: bool,
    ) -> Option<References> {
        let defs = self.definitions(file, offset)?;
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
                    if let Some(locals) = self.local_bindings(t.file, t.focus.start) {
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

    /// Who calls `id`, to `depth` levels.
    pub fn callers(&self, id: EntityId, depth: u32) -> Vec<CallInfo> {
        self.call_infos(self.graph().callers(id, depth))
    }

    /// What `id` calls, to `depth` levels.
    pub fn callees(&self, id: EntityId, depth: u32) -> Vec<CallInfo> {
        self.call_infos(self.graph().callees(id, depth))
    }

    /// The entity tree of a file.
    pub fn outline(&self, file: FileId) -> Vec<OutlineItem> {
        let g = self.graph();
        let Some(f) = g.file_data(file) else {
            return Vec::new();
        };
        let mut items: Vec<Option<OutlineItem>> = Vec::new();
        let mut parents: Vec<Option<u32>> = Vec::new();
        for loc in g.outline(file) {
            items.push(self.nav(loc).map(|target| OutlineItem {
                target,
                children: Vec::new(),
            }));
            parents.push(f.entities[loc.index as usize].container);
        }
        // Children come after parents: attach from the end.
        let mut roots = Vec::new();
        for i in (0..items.len()).rev() {
            let Some(item) = items[i].take() else {
                continue;
            };
            match parents[i] {
                Some(p) if (p as usize) >= 1 && items[p as usize - 1].is_some() => {
                    items[p as usize - 1]
                        .as_mut()
                        .expect("checked")
                        .children
                        .insert(0, item);
                }
                _ => roots.insert(0, item),
            }
        }
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

    /// Syntax errors of a file, for diagnostics.
    pub fn syntax_errors(&self, file: FileId) -> Vec<codecontext_syntax::SyntaxError> {
        self.graph()
            .file_data(file)
            .map(|f| f.errors.clone())
            .unwrap_or_default()
    }
}
