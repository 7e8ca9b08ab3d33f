//! Usage patterns of a function or method (`codecontext/usages`, `codecontext usages`,
//! the MCP tool `usage_patterns`): which symbol the request names, then
//! `codecontext_assess::usage`.

use codecontext_analysis::{Analysis, EntityId, EntityLoc, RefKind};
use codecontext_assess::usage::{usages, Usages};
use serde::Deserialize;

use crate::{places, Result, WorkspaceError};

/// The symbol whose calls to read: a qualified name (or a unique suffix of one), or a
/// place `path:line:col` on its name or inside it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UsagesRequest {
    #[serde(default)]
    pub symbol: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
}

const CALLABLE: &[&str] = &["function", "method", "constructor", "macro", "class"];

/// The function or method `request` names.
pub fn target(analysis: &Analysis<'_>, request: &UsagesRequest) -> Result<EntityLoc> {
    let g = analysis.graph();
    match (&request.symbol, &request.position) {
        (Some(name), None) => {
            let found: Vec<EntityLoc> = analysis
                .find_by_name(name)
                .into_iter()
                .filter(|t| CALLABLE.contains(&t.kind.as_str()))
                .filter_map(|t| g.locate(t.entity?))
                .filter(|&loc| {
                    let q = g.qualified_name(loc);
                    q == *name
                        || q.ends_with(&format!(".{name}"))
                        || q.ends_with(&format!("::{name}"))
                })
                .collect();
            match found.as_slice() {
                [] => Err(WorkspaceError::invalid(format!(
                    "no function or method is named `{name}`"
                ))),
                [one] => Ok(*one),
                many => Err(WorkspaceError::invalid(format!(
                    "`{name}` names {} symbols; give one of: {}",
                    many.len(),
                    many.iter()
                        .take(10)
                        .map(|&l| g.qualified_name(l))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        }
        (None, Some(spec)) => {
            let (file, offset) = places::resolve(analysis.host(), spec)
                .map_err(|e| WorkspaceError::invalid(e.to_string()))?;
            g.entity_at(file, offset)
                .or_else(|| g.enclosing_entity(file, offset))
                .filter(|&loc| {
                    g.entity(loc)
                        .is_some_and(|e| CALLABLE.contains(&e.kind.as_str()))
                })
                .ok_or_else(|| WorkspaceError::invalid(format!("no function or method at {spec}")))
        }
        _ => Err(WorkspaceError::invalid(
            "give exactly one of `symbol` (a qualified name) or `position` (path:line:col)",
        )),
    }
}

/// The usage patterns of the symbol `request` names.
pub fn answer(analysis: &Analysis<'_>, request: &UsagesRequest) -> Result<Usages> {
    let loc = target(analysis, request)?;
    Ok(usages(analysis, loc))
}

/// The first line of a function's usage patterns, for a hover: only when it has a few
/// calls to learn from (3) and not so many (over 200) that reading them would slow the
/// hover down.
pub fn hint(analysis: &Analysis<'_>, id: EntityId) -> Option<String> {
    const CALLS: std::ops::RangeInclusive<usize> = 3..=200;
    let g = analysis.graph();
    let calls = g
        .references_to(id)
        .into_iter()
        .filter(|&r| g.ref_kind(r) == Some(RefKind::Call))
        .count();
    if !CALLS.contains(&calls) {
        return None;
    }
    usages(analysis, g.locate(id)?).summary.into_iter().next()
}
