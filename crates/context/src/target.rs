//! What a question is about, turned into the seeds of the walk: entities (or files), each
//! with a weight, the weights summing to 1.

use codecontext_analysis::{Analysis, EntityKind, EntityLoc, FileId, SearchMode};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::{rank::Node, ContextError};

/// What the context is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A place in a file (a byte offset): the symbol defined or used there, and the
    /// entity around it.
    Position { file: FileId, offset: u32 },
    /// A qualified name as answers show it, or a unique suffix of one.
    Symbol(String),
    /// A whole file: its top-level entities.
    File(FileId),
    /// A unified diff against the files as they are: the entities its hunks change.
    Diff(String),
    /// A task in words: the symbols whose names (or docs) it mentions.
    Task(String),
}

/// The seeds of `targets`, merged, and a label for each.
pub(crate) fn seeds(
    analysis: &Analysis<'_>,
    targets: &[Target],
) -> Result<Vec<(Node, f64)>, ContextError> {
    if targets.is_empty() {
        return Err(ContextError::NoTarget(
            "no target: give a position, a symbol, a file, a diff or a task".into(),
        ));
    }
    let mut merged: FxHashMap<Node, f64> = FxHashMap::default();
    for target in targets {
        let found = one(analysis, target)?;
        let total: f64 = found.iter().map(|(_, w)| w).sum();
        for (node, w) in found {
            *merged.entry(node).or_default() += w / total / targets.len() as f64;
        }
    }
    let mut out: Vec<(Node, f64)> = merged.into_iter().collect();
    out.sort_by(|a, b| crate::rank::node_order(a.0, b.0));
    Ok(out)
}

fn one(analysis: &Analysis<'_>, target: &Target) -> Result<Vec<(Node, f64)>, ContextError> {
    let g = analysis.graph();
    let found = match target {
        Target::Position { file, offset } => {
            let f = g
                .file_data(*file)
                .ok_or_else(|| ContextError::NoTarget("that file is not indexed".into()))?;
            if *offset > f.line_index.len() {
                return Err(ContextError::NoTarget(format!(
                    "offset {offset} is past the end of {} ({} bytes)",
                    f.rel,
                    f.line_index.len()
                )));
            }
            let mut found: Vec<(Node, f64)> = Vec::new();
            if let Some(at) = g.enclosing_entity(*file, *offset) {
                found.push((at, 1.0));
            }
            if let Some(defs) = analysis.definitions(*file, *offset) {
                let entities: Vec<EntityLoc> = defs
                    .targets
                    .iter()
                    .filter_map(|t| g.locate(t.entity?))
                    .collect();
                for loc in &entities {
                    found.push((*loc, 1.0 / entities.len() as f64));
                }
            }
            if found.is_empty() {
                found.push((file_node(*file), 1.0));
            }
            found
        }
        Target::Symbol(name) => {
            let found: Vec<EntityLoc> = analysis
                .find_by_name(name)
                .iter()
                .filter_map(|t| g.locate(t.entity?))
                .collect();
            if found.is_empty() {
                return Err(ContextError::NoTarget(format!(
                    "no symbol is named `{name}`; search symbols by part of a name first"
                )));
            }
            found.into_iter().map(|loc| (loc, 1.0)).collect()
        }
        Target::File(file) => {
            let f = g
                .file_data(*file)
                .ok_or_else(|| ContextError::NoTarget("that file is not indexed".into()))?;
            let mut found = vec![(file_node(*file), 1.0)];
            found.extend(
                f.entities
                    .iter()
                    .enumerate()
                    .skip(1)
                    .filter(|(_, e)| e.container.is_none() && e.kind != EntityKind::Import)
                    .map(|(i, _)| {
                        (
                            EntityLoc {
                                file: *file,
                                index: i as u32,
                            },
                            1.0,
                        )
                    }),
            );
            found
        }
        Target::Diff(diff) => diff_seeds(analysis, diff)?,
        Target::Task(text) => task_seeds(analysis, text)?,
    };
    Ok(found)
}

fn file_node(file: FileId) -> Node {
    EntityLoc { file, index: 0 }
}

/// The entities a unified diff changes: around each removed line, and around the place
/// of each added one, in the files as they are now.
fn diff_seeds(analysis: &Analysis<'_>, diff: &str) -> Result<Vec<(Node, f64)>, ContextError> {
    let g = analysis.graph();
    let host = analysis.host();
    let mut found: FxHashMap<Node, f64> = FxHashMap::default();
    let mut file: Option<FileId> = None;
    let mut unknown: Vec<String> = Vec::new();
    let mut old_line: u32 = 0;
    let mut files = 0;
    let hit = |file: FileId, line: u32, found: &mut FxHashMap<Node, f64>| {
        let Some(f) = g.file_data(file) else { return };
        let Some(start) = f.line_index.line_start(line) else {
            return;
        };
        let node = g.enclosing_entity(file, start).unwrap_or(file_node(file));
        *found.entry(node).or_default() += 1.0;
    };
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("--- ") {
            let path = path.split('\t').next().unwrap_or(path).trim();
            file = None;
            if path == "/dev/null" {
                continue;
            }
            let rel = path.strip_prefix("a/").unwrap_or(path);
            files += 1;
            file = host.roots().find_map(|root| host.file_id(&root.join(rel)));
            if file.is_none() {
                unknown.push(rel.to_string());
            }
        } else if line.starts_with("+++ ") {
            continue;
        } else if let Some(hunk) = line.strip_prefix("@@ -") {
            // @@ -start,count +start,count @@
            let old = hunk.split([' ', ',']).next().unwrap_or("1");
            old_line = old.parse::<u32>().unwrap_or(1).saturating_sub(1);
        } else if let Some(file) = file {
            match line.as_bytes().first() {
                Some(b'-') => {
                    hit(file, old_line, &mut found);
                    old_line += 1;
                }
                // An added line belongs with the line before it.
                Some(b'+') => hit(file, old_line.saturating_sub(1), &mut found),
                Some(b' ') | None => old_line += 1,
                _ => {}
            }
        }
    }
    if files == 0 {
        return Err(ContextError::NoTarget(
            "the diff names no file: give a unified diff (`--- a/path`, `+++ b/path`, `@@` hunks)"
                .into(),
        ));
    }
    if found.is_empty() {
        return Err(ContextError::NoTarget(if unknown.is_empty() {
            "the diff changes no line of an indexed file".into()
        } else {
            format!(
                "the diff changes files that are not indexed: {}",
                unknown.join(", ")
            )
        }));
    }
    Ok(found.into_iter().collect())
}

/// Words too common in task descriptions to name a symbol.
const STOP: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "into", "when", "then", "than", "add",
    "fix", "make", "use", "new", "should", "must", "not", "are", "was", "all", "any", "its", "can",
    "does", "get", "set", "have", "has", "out", "one", "each", "also", "but", "only",
];

/// The symbols a task's words name: identifiers it spells, matched exactly (then
/// case-insensitively), and docs that mention several of its words.
fn task_seeds(analysis: &Analysis<'_>, text: &str) -> Result<Vec<(Node, f64)>, ContextError> {
    let g = analysis.graph();
    let words: Vec<&str> = {
        let mut seen = FxHashSet::default();
        text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
            .filter(|w| !STOP.contains(&w.to_lowercase().as_str()))
            .filter(|w| seen.insert(w.to_lowercase()))
            .collect()
    };
    if words.is_empty() {
        return Err(ContextError::NoTarget(
            "the task names nothing to look for: mention the functions, types or files it is about"
                .into(),
        ));
    }
    let mut found: FxHashMap<Node, f64> = FxHashMap::default();
    for w in &words {
        let hits: Vec<EntityLoc> = g
            .search_symbols(w, SearchMode::Exact, 16)
            .into_iter()
            .filter(|loc| g.entity(*loc).is_some_and(|e| e.kind != EntityKind::Import))
            .collect();
        // A name defined once says more than one defined everywhere.
        for loc in &hits {
            *found.entry(*loc).or_default() += 1.0 / hits.len() as f64;
        }
    }
    // Docs that mention at least two of the words (or the only one).
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let need = lower.len().min(2);
    let mut by_doc: Vec<(usize, EntityLoc)> = Vec::new();
    for (file, f) in g.files() {
        for (i, e) in f.entities.iter().enumerate().skip(1) {
            let Some(doc) = e.doc.as_deref() else {
                continue;
            };
            let doc = doc.to_lowercase();
            let n = lower.iter().filter(|w| doc.contains(w.as_str())).count();
            if n >= need {
                by_doc.push((
                    n,
                    EntityLoc {
                        file,
                        index: i as u32,
                    },
                ));
            }
        }
    }
    by_doc.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| crate::rank::node_order(a.1, b.1))
    });
    for (n, loc) in by_doc.into_iter().take(8) {
        *found.entry(loc).or_default() += 0.5 * n as f64 / lower.len() as f64;
    }
    if found.is_empty() {
        return Err(ContextError::NoTarget(format!(
            "no symbol is named like the task's words ({}) and no doc mentions them",
            words.join(", ")
        )));
    }
    Ok(found.into_iter().collect())
}
