//! `call_graph`: callers, callees or impact of a symbol to a depth, every edge with how
//! sure it is.

use codecontext_analysis::{cancel, Walk};
use codecontext_workspace::places;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, one_target, page, target_properties, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "call_graph",
    title: "Callers, callees, impact",
    description: "Walk the call graph from one symbol (`position` or `symbol`): `direction` `callers` (who calls it, and who calls them), `callees` (what it calls) or `impact` (everything that calls, references, inherits or implements it: what may break if it changes), up to `depth` steps (default 2, at most 10). Each item says its depth, the symbol it was reached through (`via`), where the call is, and `how` the edge was resolved: `exact`, `inferred` or `ambiguous` (by name; may be wrong). `unresolved` counts the calls the walk may have missed because they resolve to nothing in the project (library calls, dynamic dispatch the graph cannot follow; for callers: unresolved calls named like a walked symbol). `complete` is true only when every edge is exact and `unresolved` is 0; otherwise the answer is a lower bound.",
    read_only: true,
    destructive: false,
    input_schema: || {
        let mut properties = target_properties();
        properties["direction"] = json!({"type": "string", "enum": ["callers", "callees", "impact"]});
        properties["depth"] = json!({"type": "integer", "minimum": 1, "maximum": 10});
        properties["cursor"] = json!({"type": "string"});
        json!({"type": "object", "properties": properties})
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": super::symbol_schema(),
                "direction": {"type": "string"},
                "depth": {"type": "integer"},
                "complete": {"type": "boolean"},
                "unresolved": {"type": "integer", "minimum": 0, "description": "calls that resolve to nothing and may have been missed"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "symbol": {"type": "string", "description": "qualified name"},
                    "kind": {"type": "string"},
                    "location": {"type": "string"},
                    "depth": {"type": "integer"},
                    "via": {"type": ["string", "null"]},
                    "how": {"type": ["string", "null"], "enum": ["exact", "inferred", "ambiguous", null]},
                    "site": {"type": ["string", "null"], "description": "where the call is"},
                }, "required": ["symbol", "kind", "location", "depth", "via", "how", "site"]}},
                "truncated": {"type": "boolean", "description": "the request's time budget (requestBudgetMs) ran out: the answer is what was found before"},
                "nextCursor": super::cursor_schema(),
            },
            "required": ["symbol", "direction", "depth", "complete", "unresolved", "items", "truncated", "nextCursor"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    direction: Walk,
    #[serde(default)]
    depth: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("call_graph", arguments)?;
    let depth = a.depth.unwrap_or(2).clamp(1, 10);
    let direction = a.direction;
    let cursor = a.cursor.clone();
    let (symbol, items, unresolved, truncated) = with_analysis(ctx, move |analysis| {
        let t = one_target(analysis, a.position.as_deref(), a.symbol.as_deref())?;
        let Some(id) = t.entity else {
            return Err(ToolError::new(format!(
                "`{}` is a local binding: it has no call graph; ask about the function around it",
                t.name
            )));
        };
        let mut unresolved = 0;
        let items: Vec<Value> = match direction {
            Walk::Callers | Walk::Callees => {
                let (steps, missed) = analysis.call_walk(id, direction == Walk::Callers, depth);
                unresolved = missed;
                steps
                    .iter()
                    .map(|s| {
                        json!({
                            "symbol": s.target.qualified_name,
                            "kind": s.target.kind,
                            "location": places::place(analysis, s.target.file, s.target.focus.start),
                            "depth": s.depth,
                            "via": s.via,
                            "how": s.how.as_str(),
                            "site": s.sites.first().map(|l| places::place(analysis, l.file, l.range.start)),
                        })
                    })
                    .collect()
            }
            Walk::Impact => analysis
                .walk(id, Walk::Impact, depth, 10_000)
                .into_iter()
                .map(|r| {
                    json!({
                        "symbol": r.qualified,
                        "kind": r.kind,
                        "location": format!("{}:{}:1", r.path, r.line + 1),
                        "depth": r.depth,
                        "via": null,
                        "how": null,
                        "site": null,
                    })
                })
                .collect(),
        };
        Ok((
            super::symbol_json(analysis, &t),
            items,
            unresolved,
            cancel::was_cut(),
        ))
    })
    .await?;
    let complete = !truncated && unresolved == 0 && items.iter().all(|i| i["how"] == "exact");
    let (items, next) = page(items, cursor.as_deref())?;
    Ok(json!({
        "symbol": symbol,
        "direction": direction.as_str(),
        "depth": depth,
        "complete": complete,
        "unresolved": unresolved,
        "items": items,
        "truncated": truncated,
        "nextCursor": next,
    }))
}
