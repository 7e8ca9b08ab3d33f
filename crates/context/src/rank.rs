//! Ranking: personalized PageRank over the symbol graph, computed by forward push from
//! the seeds (Andersen, Chung and Lang, 2006). Only nodes whose residual mass is worth
//! pushing are visited, so the cost of an answer depends on the neighbourhood of its
//! target, not on the size of the project; after an edit, the next answer reads the
//! graph as it is now, with nothing global to recompute.
//!
//! Nodes are entities; a file is its entity 0. Edges, both ways, with weights:
//! - a reference (call, inheritance, type, read, import) from the entity it sits in to
//!   each of its targets, weighted by kind and by how sure the resolution is; the
//!   reverse edge (callers, users) weighs less;
//! - containment between an entity and its container (a file contains its top level);
//! - co-change between files, from git history.

use std::collections::VecDeque;

use codecontext_analysis::{Analysis, EntityId, EntityKind, EntityLoc, FileId, How, RefKind};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::History;

/// A node: an entity, or a file (index 0).
pub(crate) type Node = EntityLoc;

/// What an edge means, read from the node it leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relation {
    Calls,
    CalledBy,
    Inherits,
    InheritedBy,
    Uses,
    UsedBy,
    Imports,
    ImportedBy,
    Contains,
    ContainedIn,
    ChangesWith,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Calls => "calls",
            Relation::CalledBy => "called by",
            Relation::Inherits => "inherits or implements",
            Relation::InheritedBy => "inherited or implemented by",
            Relation::Uses => "uses",
            Relation::UsedBy => "used by",
            Relation::Imports => "imports",
            Relation::ImportedBy => "imported by",
            Relation::Contains => "contains",
            Relation::ContainedIn => "in",
            Relation::ChangesWith => "changes with",
        }
    }

    fn of_ref(kind: RefKind) -> (Relation, Relation, f64) {
        match kind {
            RefKind::Call => (Relation::Calls, Relation::CalledBy, 1.0),
            RefKind::Inherits | RefKind::Implements => {
                (Relation::Inherits, Relation::InheritedBy, 0.9)
            }
            RefKind::Type => (Relation::Uses, Relation::UsedBy, 0.6),
            RefKind::Read => (Relation::Uses, Relation::UsedBy, 0.5),
            RefKind::ImportName | RefKind::ImportPath => {
                (Relation::Imports, Relation::ImportedBy, 0.25)
            }
        }
    }
}

/// How much a resolution is trusted: an exact edge counts in full, an inferred one
/// (the only definition of that name) less, an ambiguous one (a guess among several)
/// little, shared among its candidates.
pub fn trust(how: How, candidates: usize) -> f64 {
    match how {
        How::Exact => 1.0,
        How::Inferred => 0.6,
        How::Ambiguous => 0.3 / candidates.max(1) as f64,
        How::Unresolved => 0.0,
    }
}

/// A user is worth this much of what it uses: what a function calls explains it more
/// than who calls it.
const REVERSE: f64 = 0.6;
/// Several references between the same two entities count, up to this many times one.
const MAX_MULTIPLICITY: f64 = 3.0;
/// The weight of containment, each way; members of a type share more of it.
const CONTAINER: f64 = 0.3;
const MEMBERS: f64 = 0.3;
const TYPE_MEMBERS: f64 = 0.6;
/// The weight of all of a file's co-change partners together, and of its top level.
const CHANGES_WITH: f64 = 3.0;
const TOP_LEVEL: f64 = 0.5;

/// The edges leaving a node: where to, what they mean, their weight.
pub(crate) type Out = std::rc::Rc<[(Node, Relation, f64)]>;

/// One file's edges, built when a walk first reaches it.
#[derive(Default)]
struct FileEdges {
    /// Per entity index: the entities its references lead to.
    out: FxHashMap<u32, Vec<(EntityId, Relation, f64)>>,
    /// Per target: the entities of this file that reference it, with the reverse relation.
    into: FxHashMap<EntityId, Vec<(u32, Relation, f64)>>,
    /// Per entity index (0: the file), its direct members.
    members: FxHashMap<u32, Vec<u32>>,
}

/// The graph seen as weighted adjacency, built lazily file by file.
pub(crate) struct Edges<'a> {
    analysis: Analysis<'a>,
    history: &'a History,
    files: FxHashMap<FileId, FileEdges>,
    cache: FxHashMap<Node, Out>,
}

impl<'a> Edges<'a> {
    pub fn new(analysis: Analysis<'a>, history: &'a History) -> Edges<'a> {
        Edges {
            analysis,
            history,
            files: FxHashMap::default(),
            cache: FxHashMap::default(),
        }
    }

    fn file(&mut self, file: FileId) -> &FileEdges {
        let g = self.analysis.graph();
        self.files.entry(file).or_insert_with(|| {
            let mut edges = FileEdges::default();
            let Some(f) = g.file_data(file) else {
                return edges;
            };
            // Where a reference counts from: the entity around it, except that an
            // import statement is its file's.
            let from = |index: u32| -> u32 {
                match f.entities.get(index as usize) {
                    Some(e) if e.kind == EntityKind::Import => 0,
                    Some(_) => index,
                    None => 0,
                }
            };
            // An import that names what it imports links to that, not to the module
            // it comes from (a package's `__init__` would link everything to everything).
            let named: FxHashSet<u32> = f
                .refs
                .iter()
                .zip(&f.res)
                .filter(|(r, res)| r.kind == RefKind::ImportName && !res.targets().is_empty())
                .filter_map(|(r, _)| r.import.get())
                .collect();
            let mut out: FxHashMap<(u32, EntityId, Relation), (Relation, f64)> =
                FxHashMap::default();
            for (r, res) in f.refs.iter().zip(&f.res) {
                let targets = res.targets();
                if targets.is_empty()
                    || (r.kind == RefKind::ImportPath
                        && r.import.get().is_some_and(|i| named.contains(&i)))
                {
                    continue;
                }
                let source = from(r.source.get().unwrap_or(0));
                let (forward, backward, weight) = Relation::of_ref(r.kind);
                let w = weight * trust(res.how(), targets.len());
                for &to in targets {
                    if f.entities.get(source as usize).is_some_and(|e| e.id == to) {
                        continue;
                    }
                    let entry = out.entry((source, to, forward)).or_insert((backward, 0.0));
                    entry.1 = (entry.1 + w).min(weight * MAX_MULTIPLICITY);
                }
            }
            let mut sorted: Vec<_> = out.into_iter().collect();
            sorted.sort_by_key(|((source, to, rel), _)| (*source, *to, *rel));
            for ((source, to, forward), (backward, w)) in sorted {
                edges.out.entry(source).or_default().push((to, forward, w));
                edges
                    .into
                    .entry(to)
                    .or_default()
                    .push((source, backward, w * REVERSE));
            }
            for (i, e) in f.entities.iter().enumerate().skip(1) {
                if e.kind == EntityKind::Import {
                    continue;
                }
                edges
                    .members
                    .entry(e.container.unwrap_or(0))
                    .or_default()
                    .push(i as u32);
            }
            edges
        })
    }

    /// The edges leaving `node`, in a fixed order.
    pub fn of(&mut self, node: Node) -> Out {
        if let Some(known) = self.cache.get(&node) {
            return known.clone();
        }
        let list: Out = self.build(node).into();
        self.cache.insert(node, list.clone());
        list
    }

    fn build(&mut self, node: Node) -> Vec<(Node, Relation, f64)> {
        let g = self.analysis.graph();
        let Some(f) = g.file_data(node.file) else {
            return Vec::new();
        };
        let mut out: Vec<(Node, Relation, f64)> = Vec::new();
        let Some(entity) = f.entities.get(node.index as usize) else {
            return out;
        };
        let id = entity.id;
        let is_type = node.index != 0 && entity.kind.is_type();
        // What it references.
        let fwd = self.file(node.file).out.get(&node.index).cloned();
        for (to, rel, w) in fwd.into_iter().flatten() {
            if let Some(loc) = g.locate(to) {
                out.push((loc, rel, w));
            }
        }
        // Who references it.
        let referencing: Vec<FileId> = g.files_referencing(id).iter().map(|&(f, _)| f).collect();
        for other in referencing {
            let into = self.file(other).into.get(&id).cloned();
            for (source, rel, w) in into.into_iter().flatten() {
                out.push((
                    EntityLoc {
                        file: other,
                        index: source,
                    },
                    rel,
                    w,
                ));
            }
        }
        // Containment.
        let members = self
            .file(node.file)
            .members
            .get(&node.index)
            .cloned()
            .unwrap_or_default();
        if !members.is_empty() {
            let share = if node.index == 0 {
                TOP_LEVEL
            } else if is_type {
                TYPE_MEMBERS
            } else {
                MEMBERS
            } / members.len() as f64;
            for m in members {
                out.push((
                    EntityLoc {
                        file: node.file,
                        index: m,
                    },
                    Relation::Contains,
                    share,
                ));
            }
        }
        if node.index != 0 {
            let container = entity.container.unwrap_or(0);
            out.push((
                EntityLoc {
                    file: node.file,
                    index: container,
                },
                Relation::ContainedIn,
                CONTAINER,
            ));
        } else {
            // Files that change with this one.
            let root = f.root;
            let partners = self.history.partners(&f.rel);
            let total: f64 = partners.iter().map(|(_, s)| s).sum();
            for (path, share) in partners {
                if let Some(other) = g.file_id(root, path) {
                    out.push((
                        EntityLoc {
                            file: other,
                            index: 0,
                        },
                        Relation::ChangesWith,
                        CHANGES_WITH * share / total.max(1.0),
                    ));
                }
            }
        }
        out
    }
}

/// Scores from a personalized walk, and for each node reached the edge that brought it
/// the most.
pub(crate) struct Ranking {
    pub scores: Vec<(Node, f64)>,
    pub parent: FxHashMap<Node, (Node, Relation)>,
    /// The push stopped at its work limit, or at the request's time budget, before the
    /// residual was spent.
    pub truncated: bool,
}

/// The chance to restart at a seed at each step: high enough to stay near the target.
const RESTART: f64 = 0.25;
/// Mass below this is not pushed further.
const EPSILON: f64 = 2e-5;
/// At most this many pushes per answer: the residual left is reported as truncation.
const MAX_PUSHES: usize = 40_000;

/// Personalized PageRank from `seeds` (weights summing to 1) by forward push.
pub(crate) fn personalized(edges: &mut Edges<'_>, seeds: &[(Node, f64)]) -> Ranking {
    let mut p: FxHashMap<Node, f64> = FxHashMap::default();
    let mut r: FxHashMap<Node, f64> = FxHashMap::default();
    let mut best: FxHashMap<Node, f64> = FxHashMap::default();
    let mut parent: FxHashMap<Node, (Node, Relation)> = FxHashMap::default();
    let mut queue: VecDeque<Node> = VecDeque::new();
    for &(node, w) in seeds {
        *r.entry(node).or_default() += w;
        queue.push_back(node);
    }
    let mut pushes = 0;
    let mut truncated = false;
    while let Some(u) = queue.pop_front() {
        codecontext_analysis::cancel::check();
        let ru = r.insert(u, 0.0).unwrap_or(0.0);
        if ru <= 0.0 {
            continue;
        }
        if pushes == MAX_PUSHES || codecontext_analysis::cancel::out_of_time() {
            truncated = true;
            break;
        }
        pushes += 1;
        *p.entry(u).or_default() += RESTART * ru;
        let mass = (1.0 - RESTART) * ru;
        let out = edges.of(u);
        let total: f64 = out.iter().map(|e| e.2).sum();
        if total <= 0.0 {
            // A dead end keeps what would have left it.
            *p.entry(u).or_default() += mass;
            continue;
        }
        for &(v, rel, w) in out.iter() {
            let add = mass * w / total;
            let rv = r.entry(v).or_default();
            let was = *rv;
            *rv += add;
            let b = best.entry(v).or_default();
            if add > *b {
                *b = add;
                parent.insert(v, (u, rel));
            }
            if was <= EPSILON && *rv > EPSILON {
                queue.push_back(v);
            }
        }
    }
    let mut scores: Vec<(Node, f64)> = p.into_iter().collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| node_order(a.0, b.0)));
    Ranking {
        scores,
        parent,
        truncated,
    }
}

/// PageRank over the whole graph (restart anywhere), by power iteration: the most
/// central entities of the project.
pub(crate) fn global(edges: &mut Edges<'_>) -> Vec<(Node, f64)> {
    let g = edges.analysis.graph();
    let mut nodes: Vec<Node> = Vec::new();
    for (file, f) in g.files() {
        codecontext_analysis::cancel::check();
        for i in 0..f.entities.len() {
            if f.entities[i].kind != EntityKind::Import || i == 0 {
                nodes.push(EntityLoc {
                    file,
                    index: i as u32,
                });
            }
        }
    }
    nodes.sort_by(|a, b| node_order(*a, *b));
    let index: FxHashMap<Node, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let n = nodes.len();
    if n == 0 {
        return Vec::new();
    }
    let adjacency: Vec<Vec<(usize, f64)>> = nodes
        .iter()
        .map(|&u| {
            let out = edges.of(u);
            let total: f64 = out.iter().map(|e| e.2).sum();
            out.iter()
                .filter(|e| e.1 != Relation::ChangesWith)
                .filter_map(|&(v, _, w)| Some((*index.get(&v)?, w / total)))
                .collect()
        })
        .collect();
    let damping = 0.85;
    let mut rank = vec![1.0 / n as f64; n];
    for _ in 0..30 {
        codecontext_analysis::cancel::check();
        // What is ranked so far is the answer (marked truncated).
        if codecontext_analysis::cancel::out_of_time() {
            break;
        }
        let mut next = vec![(1.0 - damping) / n as f64; n];
        let mut dangling = 0.0;
        for (u, out) in adjacency.iter().enumerate() {
            if out.is_empty() {
                dangling += rank[u];
            }
            for &(v, w) in out {
                next[v] += damping * rank[u] * w;
            }
        }
        let spread = damping * dangling / n as f64;
        let mut change = 0.0;
        for (i, x) in next.iter_mut().enumerate() {
            *x += spread;
            change += (*x - rank[i]).abs();
        }
        rank = next;
        if change < 1e-7 {
            break;
        }
    }
    let mut scores: Vec<(Node, f64)> = nodes.into_iter().zip(rank).collect();
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| node_order(a.0, b.0)));
    scores
}

/// A fixed order of nodes, for ties.
pub(crate) fn node_order(a: Node, b: Node) -> std::cmp::Ordering {
    (a.file, a.index).cmp(&(b.file, b.index))
}
