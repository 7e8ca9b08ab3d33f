//! Context for a task: the few symbols an assistant needs, ranked, within a token budget.
//!
//! A question names a target (a position, symbols, a file, a diff, a task in words). Its
//! seeds start a personalized PageRank over the symbol graph (`rank`): references weigh
//! by kind and by how sure their resolution is, files that git shows changing together
//! are linked, and recently changed files get a lift; half the walk restarts at the
//! targets' files, so that their co-change partners are reached. The best candidates are
//! then packed (`pack`) as skeletons or with their bodies, by a knapsack over their o200k
//! token counts. The files that hold the most of the walk come first: each one's best
//! entity (or the file itself, when the walk reached none of its entities) carries the
//! file's share as a bonus, so that the answer names the files a change is likely to
//! touch before it spends tokens on bodies. The answer never exceeds the budget, every
//! item says which path in the graph led to it, and the same question on the same code
//! gives the same answer.
//!
//! [`map`] is the project-wide counterpart: the most central symbols of the whole
//! project (global PageRank) as skeletons within a budget.

mod history;
mod pack;
mod rank;
mod target;
mod tokens;

use std::borrow::Cow;

use codecontext_analysis::{Analysis, EntityId, EntityKind, FileId};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

pub use history::History;
pub use pack::Form;
pub use rank::Relation;
pub use target::Target;
pub use tokens::count_tokens;

use pack::Candidate;
use rank::{Edges, Node};

/// The smallest and largest budgets: below the smallest, not even a signature fits;
/// above the largest, the answer is no longer a selection.
pub const MIN_BUDGET: usize = 64;
pub const MAX_BUDGET: usize = 200_000;

/// At most this many ranked entities are considered for packing.
const CANDIDATES: usize = 300;
/// A file is about as much of the question as its target: this share of the walk
/// restarts at the targets' files, where their co-change partners and top level are.
const FILE_SEED: f64 = 0.5;
/// At most this many files are represented, each by its best entity (or by itself).
const FILES: usize = 80;
/// A file's representative is worth this many times the file's share of the walk on
/// top of its own score: which files matter is the first thing the reader needs, and
/// one skeleton per file says it at the least cost.
const FILE_VALUE: f64 = 3.0;
/// Recently changed files lift their entities' scores by up to this share.
const RECENCY_LIFT: f64 = 0.3;

/// A question.
#[derive(Clone, Debug)]
pub struct ContextQuery {
    pub targets: Vec<Target>,
    /// In o200k tokens.
    pub budget: usize,
}

/// Why a question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("{0}")]
    NoTarget(String),
    #[error("a budget of {0} tokens is outside {MIN_BUDGET}..={MAX_BUDGET}")]
    Budget(usize),
}

/// One step of the path that led to an item: the relation, and the symbol it reached.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub relation: &'static str,
    pub symbol: String,
}

/// A symbol in an answer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextItem {
    #[serde(skip)]
    pub file: FileId,
    #[serde(skip)]
    pub entity: Option<EntityId>,
    /// Relative to its root.
    pub path: String,
    /// 1-based, the first and last lines of the entity.
    pub line: u32,
    pub end_line: u32,
    pub symbol: String,
    pub kind: &'static str,
    pub score: f64,
    pub form: Form,
    /// What this item costs in o200k tokens.
    pub tokens: usize,
    /// From a target to this item: the first step is the target itself (`target`).
    pub why: Vec<Step>,
    pub text: String,
}

/// An answer: the items, best first, and their text together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContextAnswer {
    /// The symbols (or files) the question was taken to be about.
    pub targets: Vec<String>,
    pub items: Vec<ContextItem>,
    /// The items' texts, in order: what to hand the model.
    pub text: String,
    /// o200k tokens of `text`, never more than `budget`.
    pub tokens: usize,
    pub budget: usize,
    /// How many ranked entities were considered.
    pub considered: usize,
    /// The ranking stopped at its work limit or at the request's time budget (the
    /// scores far from the target are partial).
    pub truncated: bool,
}

/// The context for `query`.
pub fn context(
    analysis: &Analysis<'_>,
    history: &History,
    query: &ContextQuery,
) -> Result<ContextAnswer, ContextError> {
    check_budget(query.budget)?;
    let mut seeds = target::seeds(analysis, &query.targets)?;
    let labels = seeds.iter().map(|s| label(analysis, s.0)).collect();
    restart_at_files(&mut seeds);
    let mut edges = Edges::new(*analysis, history);
    let ranking = rank::personalized(&mut edges, &seeds);
    let seed_set: FxHashSet<Node> = seeds.iter().map(|s| s.0).collect();
    let answer = pack_answer(
        analysis,
        history,
        ranking.scores,
        &seed_set,
        &ranking.parent,
        query.budget,
        true,
    );
    Ok(ContextAnswer {
        targets: labels,
        truncated: ranking.truncated || codecontext_analysis::cancel::was_cut(),
        ..answer
    })
}

/// Moves [`FILE_SEED`] of each seed's weight to its file.
fn restart_at_files(seeds: &mut Vec<(Node, f64)>) {
    let mut files: FxHashMap<Node, f64> = FxHashMap::default();
    for (node, w) in seeds.iter_mut() {
        if node.index != 0 {
            let file = Node {
                file: node.file,
                index: 0,
            };
            *files.entry(file).or_default() += *w * FILE_SEED;
            *w *= 1.0 - FILE_SEED;
        }
    }
    for (file, w) in files {
        match seeds.iter_mut().find(|s| s.0 == file) {
            Some(seed) => seed.1 += w,
            None => seeds.push((file, w)),
        }
    }
    seeds.sort_by(|a, b| rank::node_order(a.0, b.0));
}

/// The project's most central symbols, as skeletons within `budget`.
pub fn map(
    analysis: &Analysis<'_>,
    history: &History,
    budget: usize,
) -> Result<ContextAnswer, ContextError> {
    check_budget(budget)?;
    let mut edges = Edges::new(*analysis, history);
    let scores = rank::global(&mut edges);
    Ok(pack_answer(
        analysis,
        history,
        scores,
        &FxHashSet::default(),
        &FxHashMap::default(),
        budget,
        false,
    ))
}

fn check_budget(budget: usize) -> Result<(), ContextError> {
    if (MIN_BUDGET..=MAX_BUDGET).contains(&budget) {
        Ok(())
    } else {
        Err(ContextError::Budget(budget))
    }
}

/// How a node is named in answers: its qualified name, or its file's path.
fn label(analysis: &Analysis<'_>, node: Node) -> String {
    let g = analysis.graph();
    if node.index == 0 {
        return g
            .file_data(node.file)
            .map_or_else(String::new, |f| f.rel.to_string());
    }
    g.qualified_name(node)
}

fn pack_answer(
    analysis: &Analysis<'_>,
    history: &History,
    scores: Vec<(Node, f64)>,
    seeds: &FxHashSet<Node>,
    parent: &FxHashMap<Node, (Node, Relation)>,
    budget: usize,
    bodies: bool,
) -> ContextAnswer {
    let g = analysis.graph();
    // How much of the walk ended in each file, whatever the entity.
    let mut file_mass: FxHashMap<FileId, f64> = FxHashMap::default();
    let mut file_nodes: FxHashMap<FileId, f64> = FxHashMap::default();
    for &(node, score) in &scores {
        *file_mass.entry(node.file).or_default() += score;
        if node.index == 0 {
            file_nodes.insert(node.file, score);
        }
    }
    // Scores with the recency lift; files and imports are not items.
    let mut ranked: Vec<(Node, f64)> = scores
        .into_iter()
        .filter(|(node, _)| {
            node.index != 0
                && g.entity(*node)
                    .is_some_and(|e| e.kind != EntityKind::Import)
        })
        .map(|(node, score)| {
            let recency = g
                .file_data(node.file)
                .map_or(0.0, |f| history.recency(&f.rel));
            (node, score * (1.0 + RECENCY_LIFT * recency))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| rank::node_order(a.0, b.0)));
    // The files that hold the most of the walk: each is represented by its best entity,
    // which carries the file's share as a bonus.
    let mut files: Vec<(FileId, f64)> = file_mass.into_iter().collect();
    files.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    files.truncate(FILES);
    let wanted: FxHashMap<FileId, f64> = files.into_iter().collect();
    let mut represented: FxHashSet<FileId> = FxHashSet::default();
    let mut picked: Vec<(Node, f64, f64)> = Vec::new();
    for (i, &(node, score)) in ranked.iter().enumerate() {
        let first = wanted.contains_key(&node.file) && represented.insert(node.file);
        if i < CANDIDATES || first {
            let bonus = if first {
                FILE_VALUE * wanted[&node.file]
            } else {
                0.0
            };
            picked.push((node, score, bonus));
        }
        if i >= CANDIDATES && represented.len() == wanted.len() {
            break;
        }
    }
    // A file none of whose entities the walk reached (a test file of macro calls, say)
    // is shown by itself.
    let mut unrepresented: Vec<(FileId, f64)> = wanted
        .iter()
        .filter(|(file, _)| !represented.contains(*file))
        .map(|(&file, &mass)| (file, mass))
        .collect();
    unrepresented.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (file, mass) in unrepresented {
        let node = Node { file, index: 0 };
        let score = file_nodes.get(&file).copied().unwrap_or_default();
        picked.push((node, score, FILE_VALUE * mass));
    }
    let considered = picked.len();
    let mut texts: FxHashMap<FileId, Option<Cow<'_, str>>> = FxHashMap::default();
    // A body can only be chosen if it could fit: bytes beyond 16 per token never do.
    let body_limit = budget.saturating_mul(16);
    let candidates: Vec<Candidate> = picked
        .iter()
        .enumerate()
        .filter_map(|(i, &(node, score, bonus))| {
            let kind = g.entity(node)?.kind;
            // The container of a seed is shown by its skeleton: the seed's body is
            // the part of it the question is about.
            let with_body = bodies
                && node.index != 0
                && (i < pack::BODIES || seeds.contains(&node))
                && pack::has_body(kind)
                && !holds_seed(analysis, node, seeds);
            let (skeleton, body) = pack::render(analysis, &mut texts, node, with_body, body_limit)?;
            Some(Candidate {
                node,
                score,
                bonus,
                seed: seeds.contains(&node),
                skeleton,
                body,
            })
        })
        .collect();
    let mut chosen = pack::choose(&candidates, budget);
    // A body already holds its members: drop members of a chosen body.
    let bodies_chosen: FxHashSet<Node> = chosen
        .iter()
        .filter(|c| c.1 == Form::Body)
        .map(|c| candidates[c.0].node)
        .collect();
    chosen.retain(|&(k, _, _)| !inside_any(analysis, candidates[k].node, &bodies_chosen));
    let mut items: Vec<ContextItem> = chosen
        .into_iter()
        .filter_map(|(k, form, tokens)| {
            let c = &candidates[k];
            let f = g.file_data(c.node.file)?;
            let e = g.entity(c.node)?;
            let line = f.line_index.line_col(e.range.start).ok()?.line + 1;
            let end_line = f
                .line_index
                .line_col(e.range.end)
                .map_or(line, |lc| lc.line + 1);
            Some(ContextItem {
                file: c.node.file,
                entity: Some(e.id),
                path: f.rel.to_string(),
                line,
                end_line,
                symbol: label(analysis, c.node),
                kind: if c.node.index == 0 {
                    "file"
                } else {
                    e.kind.as_str()
                },
                score: c.score,
                form,
                tokens,
                why: why(analysis, c.node, seeds, parent),
                text: match form {
                    Form::Skeleton => c.skeleton.clone(),
                    Form::Body => c.body.clone().unwrap_or_default(),
                },
            })
        })
        .collect();
    // The whole text, counted as one: joining may merge tokens differently, so the
    // last items go until it fits.
    let mut text: String = items.iter().map(|i| i.text.as_str()).collect();
    let mut tokens = count_tokens(&text);
    while tokens > budget {
        items.pop();
        text = items.iter().map(|i| i.text.as_str()).collect();
        tokens = count_tokens(&text);
    }
    ContextAnswer {
        targets: Vec::new(),
        items,
        text,
        tokens,
        budget,
        considered,
        truncated: codecontext_analysis::cancel::was_cut(),
    }
}

/// Is one of `seeds` inside `node`?
fn holds_seed(analysis: &Analysis<'_>, node: Node, seeds: &FxHashSet<Node>) -> bool {
    let single = FxHashSet::from_iter([node]);
    seeds
        .iter()
        .any(|&s| s.file == node.file && inside_any(analysis, s, &single))
}

/// Is `node` inside (a member, at any depth, of) one of `bodies`?
fn inside_any(analysis: &Analysis<'_>, node: Node, bodies: &FxHashSet<Node>) -> bool {
    let g = analysis.graph();
    let Some(f) = g.file_data(node.file) else {
        return false;
    };
    let mut next = f
        .entities
        .get(node.index as usize)
        .and_then(|e| e.container);
    let mut steps = 0;
    while let Some(index) = next {
        if bodies.contains(&Node {
            file: node.file,
            index,
        }) {
            return true;
        }
        steps += 1;
        if steps > 64 {
            break;
        }
        next = f.entities.get(index as usize).and_then(|e| e.container);
    }
    false
}

/// The path that led from a target to `node`, target first.
fn why(
    analysis: &Analysis<'_>,
    node: Node,
    seeds: &FxHashSet<Node>,
    parent: &FxHashMap<Node, (Node, Relation)>,
) -> Vec<Step> {
    if parent.is_empty() {
        return vec![Step {
            relation: "central",
            symbol: label(analysis, node),
        }];
    }
    let mut steps = Vec::new();
    let mut at = node;
    let mut seen = FxHashSet::default();
    while !seeds.contains(&at) && seen.insert(at) && steps.len() < 16 {
        let Some(&(from, relation)) = parent.get(&at) else {
            break;
        };
        steps.push(Step {
            relation: relation.as_str(),
            symbol: label(analysis, at),
        });
        at = from;
    }
    steps.push(Step {
        relation: "target",
        symbol: label(analysis, at),
    });
    steps.reverse();
    steps
}
