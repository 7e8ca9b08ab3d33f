//! Walks over the knowledge graph from one entity, in the one vocabulary that the
//! embedded graph, the team's graph database and PostgreSQL's graph tables share: which
//! edges a walk follows and which way ([`Walk`]), and what it reaches ([`Reached`]).

use serde::{Deserialize, Serialize};

use crate::{EdgeKind, EntityId, SymbolGraph};

/// Which edges a walk follows, and which way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Walk {
    /// Incoming `calls`: who calls it, and who calls them.
    #[default]
    Callers,
    /// Outgoing `calls`: what it calls.
    Callees,
    /// Incoming `calls`, `references`, `inherits`, `implements`: what may break if it
    /// changes. Imports are not followed (an import alone runs nothing).
    Impact,
}

impl Walk {
    pub fn as_str(self) -> &'static str {
        match self {
            Walk::Callers => "callers",
            Walk::Callees => "callees",
            Walk::Impact => "impact",
        }
    }

    /// The kinds of edge the walk follows.
    pub fn edge_kinds(self) -> &'static [EdgeKind] {
        match self {
            Walk::Callers | Walk::Callees => &[EdgeKind::Calls],
            Walk::Impact => &[
                EdgeKind::Calls,
                EdgeKind::References,
                EdgeKind::Inherits,
                EdgeKind::Implements,
            ],
        }
    }

    /// Whether the walk goes against the edges, from what is pointed at to what points
    /// at it (callers, impact), rather than along them (callees).
    pub fn incoming(self) -> bool {
        !matches!(self, Walk::Callees)
    }
}

/// An entity a walk reached, with the length of its shortest path from the start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reached {
    /// The entity's stable id, 16 hex digits.
    pub id: String,
    /// The entity's name; a file's name for a file's top-level code.
    pub name: String,
    #[serde(rename = "qualifiedName")]
    pub qualified: String,
    /// `function`, `method`, `class`, ..., or `file`.
    pub kind: String,
    /// Relative to its workspace folder, `/`-separated.
    pub path: String,
    /// 0-based line of its name.
    pub line: u32,
    pub depth: u32,
}

impl SymbolGraph {
    /// The entities reached from `id` along `walk`, at most `depth` edges away, each once
    /// at its shortest depth, sorted by depth, then qualified name, then id; at most
    /// `limit`. The start itself is not reported.
    pub fn walk(&self, id: EntityId, walk: Walk, depth: u32, limit: usize) -> Vec<Reached> {
        let mut reached: std::collections::HashMap<crate::EntityLoc, u32> = Default::default();
        let mut add = |loc, d: u32| {
            let best = reached.entry(loc).or_insert(d);
            *best = (*best).min(d);
        };
        match walk {
            Walk::Callers => self
                .callers(id, depth)
                .into_iter()
                .for_each(|s| add(s.entity, s.depth)),
            Walk::Callees => self
                .callees(id, depth)
                .into_iter()
                .for_each(|s| add(s.entity, s.depth)),
            Walk::Impact => self
                .impact(id, depth)
                .into_iter()
                .for_each(|(loc, d)| add(loc, d)),
        }
        let mut items: Vec<Reached> = reached
            .into_iter()
            .filter_map(|(loc, depth)| {
                let e = self.entity(loc)?;
                if e.id == id {
                    return None;
                }
                let f = self.file_data(loc.file)?;
                let file = loc.index == 0;
                Some(Reached {
                    id: e.id.to_string(),
                    name: if file {
                        f.rel.rsplit('/').next().unwrap_or(&f.rel).to_string()
                    } else {
                        self.name(e.name).to_string()
                    },
                    qualified: self.qualified_name(loc),
                    kind: if file { "file" } else { e.kind.as_str() }.to_string(),
                    path: f.rel.to_string(),
                    line: f
                        .line_index
                        .line_col(e.selection.start)
                        .map_or(0, |lc| lc.line),
                    depth,
                })
            })
            .collect();
        items.sort_by(|a, b| (a.depth, &a.qualified, &a.id).cmp(&(b.depth, &b.qualified, &b.id)));
        items.truncate(limit);
        items
    }
}
