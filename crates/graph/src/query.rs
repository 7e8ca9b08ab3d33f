//! Read-only graph queries: symbols by name, what is at an offset, references,
//! callers and callees to a depth, outlines, imports and dependents, edge statistics.

use std::collections::{BTreeMap, VecDeque};

use codecontext_syntax::{EntityKind, RefKind};
use codecontext_text::TextRange;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{
    intern::Name,
    model::{EdgeKind, EntityId, EntityLoc, FileId, How, Resolution},
    search::SearchMode,
    SymbolGraph,
};

/// A reference in a file: `(file, index among its refs)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefLoc {
    pub file: FileId,
    pub index: u32,
}

/// One step of a call hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallStep {
    /// The caller (for `callers`) or callee (for `callees`); `index 0` is a file's
    /// top-level code.
    pub entity: EntityLoc,
    /// The call sites, in the caller's file.
    pub sites: Vec<RefLoc>,
    /// 1 for direct callers/callees.
    pub depth: u32,
    /// The entity this step was reached from.
    pub via: EntityLoc,
    pub how: How,
}

/// Edge counts by kind and by resolution, for summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EdgeStats {
    pub by_kind: BTreeMap<&'static str, u64>,
    pub by_resolution: BTreeMap<&'static str, u64>,
    pub by_kind_and_resolution: BTreeMap<(&'static str, &'static str), u64>,
}

impl SymbolGraph {
    /// Entities whose name matches `query`, best first.
    /// Stops early with what it has when the request's time budget runs out
    /// ([`crate::cancel::out_of_time`]).
    pub fn search_symbols(&self, query: &str, mode: SearchMode, limit: usize) -> Vec<EntityLoc> {
        self.search_symbols_where(query, mode, limit, |_| true)
    }

    /// [`SymbolGraph::search_symbols`], keeping only the entities `keep` accepts (a kind,
    /// say); the limit counts what is kept. Names are asked for in growing batches until
    /// the limit is reached or the names run out.
    pub fn search_symbols_where(
        &self,
        query: &str,
        mode: SearchMode,
        limit: usize,
        keep: impl Fn(&crate::model::Entity) -> bool,
    ) -> Vec<EntityLoc> {
        if limit == 0 {
            return Vec::new();
        }
        let mut asked = limit;
        loop {
            crate::cancel::check();
            let names = self.search.search(query, mode, asked);
            let exhausted = names.len() < asked;
            let out = self.entities_named(names, limit, &keep);
            if out.len() >= limit || exhausted || crate::cancel::out_of_time() {
                return out;
            }
            asked = asked.saturating_mul(4);
        }
    }

    /// The entities of each name in turn, ranked within a name, up to `limit`.
    fn entities_named(
        &self,
        names: Vec<crate::search::NameMatch>,
        limit: usize,
        keep: &impl Fn(&crate::model::Entity) -> bool,
    ) -> Vec<EntityLoc> {
        let mut out = Vec::new();
        for m in names {
            crate::cancel::check();
            // The best name's entities at least: a request's target is found by name,
            // and a spent budget should cut the answer about it, not say it is missing.
            if !out.is_empty() && crate::cancel::out_of_time() {
                break;
            }
            let Some(ids) = self.by_name.get(&m.name) else {
                continue;
            };
            // A common name (`new`, `__init__`) has thousands of definitions: rank
            // them by borrowed keys and fully sort only the ones that fit the limit.
            let mut keyed: Vec<_> = ids
                .iter()
                .filter_map(|id| self.locate(*id))
                .filter(|l| self.entity(*l).is_some_and(keep))
                .map(|l| {
                    let kind = self.entity(l).map(|e| e.kind);
                    let rel = self.file_data(l.file).map(|f| &f.rel);
                    ((kind_rank(kind), rel, l.index, l.file), l)
                })
                .collect();
            let room = limit - out.len();
            if keyed.len() > room {
                keyed.select_nth_unstable_by(room, |a, b| a.0.cmp(&b.0));
                keyed.truncate(room);
            }
            keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            out.extend(keyed.into_iter().map(|(_, l)| l));
            if out.len() >= limit {
                break;
            }
        }
        out
    }

    /// Number of distinct names in the search index.
    pub fn distinct_names(&self) -> usize {
        self.search.len()
    }

    /// The innermost entity whose name is at `offset`, or else whose range holds it.
    pub fn entity_at(&self, file: FileId, offset: u32) -> Option<EntityLoc> {
        let f = self.file_data(file)?;
        let by_name = f
            .entities
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, e)| e.selection.contains_inclusive(offset) && !e.selection.is_empty())
            .max_by_key(|(_, e)| e.selection.start);
        if let Some((i, _)) = by_name {
            return Some(EntityLoc {
                file,
                index: i as u32,
            });
        }
        None
    }

    /// The innermost entity (not an import) whose range contains `offset`.
    pub fn enclosing_entity(&self, file: FileId, offset: u32) -> Option<EntityLoc> {
        let f = self.file_data(file)?;
        f.entities
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, e)| e.kind != EntityKind::Import && e.range.contains_inclusive(offset))
            .max_by_key(|(_, e)| (e.range.start, std::cmp::Reverse(e.range.end)))
            .map(|(i, _)| EntityLoc {
                file,
                index: i as u32,
            })
    }

    /// The reference whose name covers `offset` (the end counts).
    pub fn ref_at(&self, file: FileId, offset: u32) -> Option<RefLoc> {
        let f = self.file_data(file)?;
        let i = f.refs.partition_point(|r| r.range.start <= offset);
        // Prefer a ref that starts exactly at offset, then one that ends there.
        (i.saturating_sub(2)..i)
            .rev()
            .find(|&j| f.refs[j].range.contains_inclusive(offset))
            .map(|j| RefLoc {
                file,
                index: j as u32,
            })
    }

    pub fn resolution(&self, r: RefLoc) -> Option<&Resolution> {
        self.file_data(r.file)?.res.get(r.index as usize)
    }

    pub fn ref_range(&self, r: RefLoc) -> Option<TextRange> {
        Some(self.file_data(r.file)?.refs.get(r.index as usize)?.range)
    }

    pub fn ref_kind(&self, r: RefLoc) -> Option<RefKind> {
        Some(self.file_data(r.file)?.refs.get(r.index as usize)?.kind)
    }

    /// The entity (or file code, index 0) a reference sits in.
    pub fn ref_source(&self, r: RefLoc) -> Option<EntityLoc> {
        let f = self.file_data(r.file)?;
        let source = f.refs.get(r.index as usize)?.source.get().unwrap_or(0);
        Some(EntityLoc {
            file: r.file,
            index: source,
        })
    }

    /// Who makes a call: the entity the reference sits in, except that a call in a field
    /// or variable defined inside a function (`self.price = clamp(...)` in `__init__`)
    /// is made by that function.
    pub fn call_source(&self, r: RefLoc) -> Option<EntityLoc> {
        let f = self.file_data(r.file)?;
        let source = self.ref_source(r)?;
        let e = f.entities.get(source.index as usize)?;
        if !matches!(
            e.kind,
            EntityKind::Field
                | EntityKind::Variable
                | EntityKind::Constant
                | EntityKind::EnumMember
        ) {
            return Some(source);
        }
        let range = f.refs.get(r.index as usize)?.range;
        let function = f
            .entities
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, x)| {
                matches!(
                    x.kind,
                    EntityKind::Function | EntityKind::Method | EntityKind::Constructor
                ) && x.range.start <= range.start
                    && range.end <= x.range.end
            })
            .max_by_key(|(_, x)| x.range.start);
        Some(match function {
            Some((i, _)) => EntityLoc {
                file: r.file,
                index: i as u32,
            },
            None => source,
        })
    }

    /// The files with references resolved to `id`, in id order, and how many each has.
    pub fn files_referencing(&self, id: EntityId) -> &[(FileId, u32)] {
        self.incoming
            .get(&id)
            .map_or(&[], |counts| counts.as_slice())
    }

    /// Every reference resolved to `id` (possibly among other candidates), in file order.
    /// Stops early with what it has when the request's time budget runs out
    /// ([`crate::cancel::out_of_time`]).
    pub fn references_to(&self, id: EntityId) -> Vec<RefLoc> {
        let Some(files) = self.incoming.get(&id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for &(file, _) in files.iter() {
            crate::cancel::check();
            if crate::cancel::out_of_time() {
                break;
            }
            let Some(f) = self.file_data(file) else {
                continue;
            };
            for (i, res) in f.res.iter().enumerate() {
                if res.targets().contains(&id) {
                    out.push(RefLoc {
                        file,
                        index: i as u32,
                    });
                }
            }
        }
        out.sort_by_key(|r| (self.file_data(r.file).map(|f| f.rel.clone()), r.index));
        out
    }

    /// Who calls `id`, breadth first, up to `depth` levels.
    /// Stops early with what it has when the request's time budget runs out
    /// ([`crate::cancel::out_of_time`]).
    pub fn callers(&self, id: EntityId, depth: u32) -> Vec<CallStep> {
        let Some(start) = self.locate(id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen: FxHashSet<EntityLoc> = FxHashSet::default();
        seen.insert(start);
        let mut queue = VecDeque::from([(start, 0u32)]);
        while let Some((callee, d)) = queue.pop_front() {
            crate::cancel::check();
            if crate::cancel::out_of_time() {
                break;
            }
            if d >= depth {
                continue;
            }
            let Some(callee_id) = self.entity(callee).map(|e| e.id) else {
                continue;
            };
            let mut by_caller: BTreeMap<(FileId, u32), (Vec<RefLoc>, How)> = BTreeMap::new();
            for r in self.references_to(callee_id) {
                if self.ref_kind(r) != Some(RefKind::Call) {
                    continue;
                }
                let Some(caller) = self.call_source(r) else {
                    continue;
                };
                let how = self.resolution(r).map_or(How::Unresolved, |x| x.how());
                let entry = by_caller
                    .entry((caller.file, caller.index))
                    .or_insert((Vec::new(), how));
                entry.0.push(r);
                entry.1 = entry.1.min(how);
            }
            for ((file, index), (sites, how)) in by_caller {
                let caller = EntityLoc { file, index };
                out.push(CallStep {
                    entity: caller,
                    sites,
                    depth: d + 1,
                    via: callee,
                    how,
                });
                if index != 0 && seen.insert(caller) {
                    queue.push_back((caller, d + 1));
                }
            }
        }
        out
    }

    /// What `id` calls, breadth first, up to `depth` levels.
    /// Stops early with what it has when the request's time budget runs out
    /// ([`crate::cancel::out_of_time`]).
    pub fn callees(&self, id: EntityId, depth: u32) -> Vec<CallStep> {
        let Some(start) = self.locate(id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen: FxHashSet<EntityLoc> = FxHashSet::default();
        seen.insert(start);
        let mut queue = VecDeque::from([(start, 0u32)]);
        while let Some((caller, d)) = queue.pop_front() {
            crate::cancel::check();
            if crate::cancel::out_of_time() {
                break;
            }
            if d >= depth {
                continue;
            }
            let Some(f) = self.file_data(caller.file) else {
                continue;
            };
            let range = f.entities[caller.index as usize].range;
            let lo = f.refs.partition_point(|r| r.range.start < range.start);
            let mut by_callee: BTreeMap<EntityId, (Vec<RefLoc>, How)> = BTreeMap::new();
            for (i, r) in f.refs[lo..].iter().enumerate() {
                if r.range.start >= range.end {
                    break;
                }
                if r.kind != RefKind::Call {
                    continue;
                }
                let here = RefLoc {
                    file: caller.file,
                    index: (lo + i) as u32,
                };
                if self.call_source(here).map(|s| s.index) != Some(caller.index) {
                    continue;
                }
                let res = &f.res[lo + i];
                for t in res.targets() {
                    let entry = by_callee.entry(*t).or_insert((Vec::new(), res.how()));
                    entry.0.push(RefLoc {
                        file: caller.file,
                        index: (lo + i) as u32,
                    });
                }
            }
            for (target, (sites, how)) in by_callee {
                let Some(callee) = self.locate(target) else {
                    continue;
                };
                out.push(CallStep {
                    entity: callee,
                    sites,
                    depth: d + 1,
                    via: caller,
                    how,
                });
                if seen.insert(callee) {
                    queue.push_back((callee, d + 1));
                }
            }
        }
        out
    }

    /// Calls a walk may have missed: call references that resolution tied to no entity.
    /// For callees, those made by the entities whose calls the walk followed (`id`, and
    /// every step above the last level); for callers, those named like such an entity
    /// (each may be a call to it). `steps` is what [`SymbolGraph::callees`] or
    /// [`SymbolGraph::callers`] answered for `id` and `depth`.
    pub fn unresolved_calls(
        &self,
        id: EntityId,
        steps: &[CallStep],
        callers: bool,
        depth: u32,
    ) -> usize {
        let Some(start) = self.locate(id) else {
            return 0;
        };
        let mut walked: Vec<EntityLoc> = vec![start];
        walked.extend(
            steps
                .iter()
                .filter(|s| s.depth < depth && s.entity.index != 0)
                .map(|s| s.entity),
        );
        walked.sort_unstable_by_key(|l| (l.file, l.index));
        walked.dedup();
        let unresolved = |file: FileId, i: usize| {
            let f = self.file_data(file)?;
            let r = f.refs.get(i)?;
            let res = f.res.get(i)?;
            (r.kind == RefKind::Call && res.targets().is_empty()).then_some(r)
        };
        if !callers {
            let mut n = 0;
            for loc in walked {
                crate::cancel::check();
                let Some(f) = self.file_data(loc.file) else {
                    continue;
                };
                let range = f.entities[loc.index as usize].range;
                let lo = f.refs.partition_point(|r| r.range.start < range.start);
                for i in lo..f.refs.len() {
                    if f.refs[i].range.start >= range.end {
                        break;
                    }
                    let here = RefLoc {
                        file: loc.file,
                        index: i as u32,
                    };
                    if unresolved(loc.file, i).is_some()
                        && self.call_source(here).map(|s| s.index) == Some(loc.index)
                    {
                        n += 1;
                    }
                }
            }
            return n;
        }
        let mut names: Vec<Name> = walked
            .iter()
            .filter_map(|l| self.entity(*l).map(|e| e.name))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut n = 0;
        for name in names {
            let files = self
                .dependents
                .get(&name)
                .map(|c| c.as_slice())
                .unwrap_or(&[]);
            for (file, _) in files {
                let Some(f) = self.file_data(*file) else {
                    continue;
                };
                n += (0..f.refs.len())
                    .filter(|i| unresolved(*file, *i).is_some_and(|r| r.name == name))
                    .count();
            }
        }
        n
    }

    /// The entities of a file in document order (containers before contents).
    pub fn outline(&self, file: FileId) -> Vec<EntityLoc> {
        let Some(f) = self.file_data(file) else {
            return Vec::new();
        };
        (1..f.entities.len() as u32)
            .map(|index| EntityLoc { file, index })
            .collect()
    }

    /// The import entities of a file with what each resolved to (through the refs of
    /// its imported name or its last path segment).
    pub fn imports_of(&self, file: FileId) -> Vec<(EntityLoc, Vec<EntityId>)> {
        let Some(f) = self.file_data(file) else {
            return Vec::new();
        };
        // The refs of each import, in one pass over the refs (not one per import).
        let mut refs_of: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (j, r) in f.refs.iter().enumerate() {
            if let Some(i) = r.import.get() {
                refs_of.entry(i).or_default().push(j);
            }
        }
        let mut out = Vec::new();
        for (i, e) in f.entities.iter().enumerate() {
            if e.kind != EntityKind::Import {
                continue;
            }
            let mut targets: Vec<EntityId> = Vec::new();
            let mut best_path: Option<usize> = None;
            for &j in refs_of.get(&(i as u32)).into_iter().flatten() {
                match f.refs[j].kind {
                    RefKind::ImportName => targets.extend(f.res[j].targets().iter().copied()),
                    RefKind::ImportPath => best_path = Some(j),
                    _ => {}
                }
            }
            if targets.is_empty() {
                if let Some(j) = best_path {
                    targets.extend(f.res[j].targets().iter().copied());
                }
            }
            out.push((
                EntityLoc {
                    file,
                    index: i as u32,
                },
                targets,
            ));
        }
        out
    }

    /// Files whose imports lead into `file`.
    pub fn dependents_of(&self, file: FileId) -> Vec<FileId> {
        let Some(f) = self.file_data(file) else {
            return Vec::new();
        };
        let mut out: Vec<FileId> = Vec::new();
        for e in &f.entities {
            for r in self.references_to(e.id) {
                if r.file != file
                    && matches!(
                        self.ref_kind(r),
                        Some(RefKind::ImportName | RefKind::ImportPath)
                    )
                {
                    out.push(r.file);
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Counts of edges by kind and resolution. `contains` edges come from containment
    /// (every entity is contained by its container or its file) and are exact.
    pub fn edge_stats(&self) -> EdgeStats {
        let mut stats = EdgeStats::default();
        let mut add = |kind: EdgeKind, how: How, n: u64| {
            if n == 0 {
                return;
            }
            *stats.by_kind.entry(kind.as_str()).or_default() += n;
            *stats.by_resolution.entry(how.as_str()).or_default() += n;
            *stats
                .by_kind_and_resolution
                .entry((kind.as_str(), how.as_str()))
                .or_default() += n;
        };
        for (_, f) in self.files() {
            add(
                EdgeKind::Contains,
                How::Exact,
                f.entities.len().saturating_sub(1) as u64,
            );
            for (r, res) in f.refs.iter().zip(&f.res) {
                add(EdgeKind::of_ref(r.kind), res.how(), 1);
            }
        }
        stats
    }

    /// Number of entities (files included).
    pub fn entity_count(&self) -> usize {
        self.files().map(|(_, f)| f.entities.len()).sum()
    }

    pub fn file_count(&self) -> usize {
        self.files().count()
    }
}

/// Ordering of kinds in search results: types and functions before variables.
fn kind_rank(kind: Option<EntityKind>) -> u8 {
    match kind {
        Some(k) if k.is_type() => 0,
        Some(
            EntityKind::Function | EntityKind::Method | EntityKind::Constructor | EntityKind::Macro,
        ) => 1,
        Some(
            EntityKind::Module
            | EntityKind::Namespace
            | EntityKind::Package
            | EntityKind::TypeAlias,
        ) => 2,
        Some(EntityKind::Constant | EntityKind::EnumMember) => 3,
        _ => 4,
    }
}

/// A file's part of the graph as plain data, for mirrors of it elsewhere (a graph
/// database): its entities, and the edges that start in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileExport {
    pub rel: String,
    pub language: String,
    /// `entities[0]` is the file itself (its top-level code calls too).
    pub entities: Vec<ExportEntity>,
    pub edges: Vec<ExportEdge>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportEntity {
    pub id: EntityId,
    pub kind: &'static str,
    pub name: String,
    pub qualified: String,
    /// 0-based.
    pub line: u32,
    /// None for the file, and for top-level entities the file contains.
    pub container: Option<EntityId>,
}

/// One relation, once per (from, to, kind): `how` is the weakest resolution among the
/// references that make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportEdge {
    pub from: EntityId,
    pub to: EntityId,
    pub kind: EdgeKind,
    pub how: How,
}

impl SymbolGraph {
    /// The file's entities and outgoing edges. Calls start where `callers` says they
    /// do (a field initialised in a function is that function's call); other references
    /// start at the entity they sit in. Unresolved references make no edge.
    pub fn export_file(&self, file: FileId) -> Option<FileExport> {
        let f = self.file_data(file)?;
        let entities = f
            .entities
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let loc = EntityLoc {
                    file,
                    index: i as u32,
                };
                ExportEntity {
                    id: e.id,
                    kind: if i == 0 { "file" } else { e.kind.as_str() },
                    name: if i == 0 {
                        f.rel.rsplit('/').next().unwrap_or(&f.rel).to_string()
                    } else {
                        self.name(e.name).to_string()
                    },
                    qualified: self.qualified_name(loc),
                    line: f
                        .line_index
                        .line_col(e.selection.start)
                        .map_or(0, |lc| lc.line),
                    container: e.container.map(|c| f.entities[c as usize].id),
                }
            })
            .collect();
        let mut edges: BTreeMap<(EntityId, EntityId, EdgeKind), How> = BTreeMap::new();
        for (i, (r, res)) in f.refs.iter().zip(&f.res).enumerate() {
            if res.targets().is_empty() {
                continue;
            }
            let here = RefLoc {
                file,
                index: i as u32,
            };
            let source = if r.kind == RefKind::Call {
                self.call_source(here)
            } else {
                self.ref_source(here)
            };
            let Some(from) = source.and_then(|s| self.entity(s)).map(|e| e.id) else {
                continue;
            };
            for &to in res.targets() {
                if to == from {
                    continue;
                }
                let how = edges
                    .entry((from, to, EdgeKind::of_ref(r.kind)))
                    .or_insert(res.how());
                *how = (*how).max(res.how());
            }
        }
        Some(FileExport {
            rel: f.rel.to_string(),
            language: codecontext_lang::language(f.lang).name().to_string(),
            entities,
            edges: edges
                .into_iter()
                .map(|((from, to, kind), how)| ExportEdge {
                    from,
                    to,
                    kind,
                    how,
                })
                .collect(),
        })
    }
}

impl SymbolGraph {
    /// What may break if `id` changes: whatever calls, reads, names as a type,
    /// inherits or implements it, and so on up to `depth` levels; each with the length
    /// of its shortest path. Imports are not followed (an import alone runs nothing).
    /// Stops early with what it has when the request's time budget runs out
    /// ([`crate::cancel::out_of_time`]).
    pub fn impact(&self, id: EntityId, depth: u32) -> Vec<(EntityLoc, u32)> {
        let Some(start) = self.locate(id) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut seen: FxHashSet<EntityLoc> = FxHashSet::default();
        seen.insert(start);
        let mut queue = VecDeque::from([(id, 0u32)]);
        while let Some((target, d)) = queue.pop_front() {
            crate::cancel::check();
            if crate::cancel::out_of_time() {
                break;
            }
            if d >= depth {
                continue;
            }
            for r in self.references_to(target) {
                let source = match self.ref_kind(r) {
                    Some(RefKind::ImportName | RefKind::ImportPath) | None => continue,
                    Some(RefKind::Call) => self.call_source(r),
                    Some(_) => self.ref_source(r),
                };
                let Some(source) = source else {
                    continue;
                };
                if !seen.insert(source) {
                    continue;
                }
                out.push((source, d + 1));
                if let Some(e) = self.entity(source).filter(|_| source.index != 0) {
                    queue.push_back((e.id, d + 1));
                }
            }
        }
        out
    }
}
