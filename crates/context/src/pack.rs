//! Packing: which candidates go in, each as a skeleton (where it is, its doc line, its
//! signature) or with its body, chosen by a knapsack over their token costs so that the
//! answer holds the most score the budget allows, and never more tokens than that.

use std::borrow::Cow;

use codecontext_analysis::{Analysis, EntityKind, FileId};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::{count_tokens, rank::Node};

/// How an item is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Form {
    /// Its place, doc line and signature.
    Skeleton,
    /// Its whole text.
    Body,
}

/// A candidate, with what each form costs and is worth.
pub(crate) struct Candidate {
    pub node: Node,
    pub score: f64,
    /// Worth added to either form (the first of a file carries the file's share).
    pub bonus: f64,
    /// A seed: its body is what the question is about.
    pub seed: bool,
    pub skeleton: String,
    pub body: Option<String>,
}

/// The knapsack works in units of this many tokens at most.
const UNITS: usize = 2048;
/// A skeleton is worth this share of the item's score; its body the whole.
const SKELETON_VALUE: f64 = 0.7;
/// A seed's body is worth this many times its score: it comes first.
const SEED_BODY_VALUE: f64 = 4.0;
/// Bodies are offered for the best this many candidates (counting tokens costs time).
pub(crate) const BODIES: usize = 16;

/// The rendered text of a candidate in each form.
pub(crate) fn render<'a>(
    analysis: &Analysis<'a>,
    texts: &mut FxHashMap<FileId, Option<Cow<'a, str>>>,
    node: Node,
    with_body: bool,
    body_limit: usize,
) -> Option<(String, Option<String>)> {
    let g = analysis.graph();
    let f = g.file_data(node.file)?;
    let e = f.entities.get(node.index as usize)?;
    let line = f.line_index.line_col(e.range.start).ok()?.line + 1;
    let end = f
        .line_index
        .line_col(e.range.end)
        .map_or(line, |lc| lc.line + 1);
    if node.index == 0 {
        // A file by itself: where it is.
        return Some((format!("{} file\n", f.rel), None));
    }
    let qualified = g.qualified_name(node);
    let mut skeleton = format!("{}:{line} {} {qualified}\n", f.rel, e.kind.as_str());
    if let Some(doc) = e
        .doc
        .as_deref()
        .and_then(|d| d.lines().find(|l| !l.trim().is_empty()))
    {
        skeleton.push_str("  ");
        skeleton.push_str(doc.trim());
        skeleton.push('\n');
    }
    let signature = e.signature.trim();
    if !signature.is_empty() {
        for l in signature.lines() {
            skeleton.push_str("  ");
            skeleton.push_str(l.trim_end());
            skeleton.push('\n');
        }
    }
    let body = if with_body && (e.range.len() as usize) <= body_limit {
        let text = texts
            .entry(node.file)
            .or_insert_with(|| analysis.text(node.file));
        // From the start of its first line, so that its indentation reads right.
        let start = f
            .line_index
            .line_start(line - 1)
            .filter(|&s| {
                text.as_deref()
                    .and_then(|t| t.get(s as usize..e.range.start as usize))
                    .is_some_and(|lead| lead.trim().is_empty())
            })
            .unwrap_or(e.range.start);
        text.as_deref()
            .and_then(|t| t.get(start as usize..e.range.end as usize))
            .map(|b| {
                format!(
                    "{}:{line}-{end} {} {qualified}\n{b}\n",
                    f.rel,
                    e.kind.as_str()
                )
            })
    } else {
        None
    };
    Some((skeleton, body))
}

/// Whether a kind's body says more than its signature (a constant's does not).
pub(crate) fn has_body(kind: EntityKind) -> bool {
    !matches!(kind, EntityKind::Import | EntityKind::EnumMember)
}

/// The chosen candidates and forms, by a 0/1 knapsack with a choice of form per item.
/// Costs are rounded up to units, so the sum of the chosen costs never exceeds `budget`.
pub(crate) fn choose(candidates: &[Candidate], budget: usize) -> Vec<(usize, Form, usize)> {
    let unit = budget.div_ceil(UNITS).max(1);
    let capacity = budget / unit;
    let costs: Vec<(usize, Option<usize>)> = candidates
        .iter()
        .map(|c| {
            (
                count_tokens(&c.skeleton),
                c.body.as_deref().map(count_tokens),
            )
        })
        .collect();
    let value = |x: f64| (x * 1e12).round() as i64;
    // choice[k][c]: 0 none, 1 skeleton, 2 body, for the best of items 0..=k at capacity c.
    let mut best = vec![0i64; capacity + 1];
    let mut choice = vec![0u8; candidates.len() * (capacity + 1)];
    for (k, c) in candidates.iter().enumerate() {
        let (skeleton, body) = costs[k];
        let s_cost = skeleton.div_ceil(unit);
        let s_value = value(c.score * SKELETON_VALUE + c.bonus);
        let b = body.map(|t| {
            let factor = if c.seed { SEED_BODY_VALUE } else { 1.0 };
            (t.div_ceil(unit), value(c.score * factor + c.bonus))
        });
        let row = &mut choice[k * (capacity + 1)..(k + 1) * (capacity + 1)];
        for cap in (0..=capacity).rev() {
            let mut here = best[cap];
            if s_cost <= cap && best[cap - s_cost] + s_value > here {
                here = best[cap - s_cost] + s_value;
                row[cap] = 1;
            }
            if let Some((b_cost, b_value)) = b {
                if b_cost <= cap && best[cap - b_cost] + b_value > here {
                    here = best[cap - b_cost] + b_value;
                    row[cap] = 2;
                }
            }
            best[cap] = here;
        }
    }
    let mut cap = capacity;
    let mut out = Vec::new();
    for k in (0..candidates.len()).rev() {
        match choice[k * (capacity + 1) + cap] {
            1 => {
                out.push((k, Form::Skeleton, costs[k].0));
                cap -= costs[k].0.div_ceil(unit);
            }
            2 => {
                let tokens = costs[k].1.unwrap_or_default();
                out.push((k, Form::Body, tokens));
                cap -= tokens.div_ceil(unit);
            }
            _ => {}
        }
    }
    out.sort_by_key(|&(k, _, _)| k);
    out
}

#[cfg(test)]
mod tests {
    use codecontext_analysis::{EntityLoc, FileId};

    use super::{choose, Candidate, Form};

    fn candidate(index: u32, score: f64, skeleton: &str, body: Option<&str>) -> Candidate {
        Candidate {
            node: EntityLoc {
                file: FileId(0),
                index,
            },
            score,
            bonus: 0.0,
            seed: false,
            skeleton: skeleton.into(),
            body: body.map(Into::into),
        }
    }

    #[test]
    fn the_knapsack_never_exceeds_the_budget_and_prefers_score() {
        let long = "word ".repeat(200);
        let candidates = vec![
            candidate(
                1,
                0.5,
                "a.rs:1 fn a\n",
                Some(&format!("fn a() {{ {long} }}")),
            ),
            candidate(2, 0.3, "a.rs:9 fn b\n", Some("fn b() { 1 }")),
            candidate(3, 0.01, "a.rs:20 fn c\n", Some("fn c() { 2 }")),
        ];
        for budget in [5, 10, 30, 100, 250, 1000] {
            let chosen = choose(&candidates, budget);
            let used: usize = chosen.iter().map(|c| c.2).sum();
            assert!(used <= budget, "{used} tokens for a budget of {budget}");
        }
        // Room for everything: every body.
        let all = choose(&candidates, 1000);
        assert!(all.iter().all(|c| c.1 == Form::Body), "{:?}", all.len());
        // Room for little: b's body (cheap, valuable) before c's.
        let some = choose(&candidates, 30);
        assert!(some.iter().any(|c| c.0 == 1 && c.1 == Form::Body));
    }
}
