//! `find_references`: every use of a symbol, in a stable order, a page at a time.

use codecontext_analysis::cancel;
use codecontext_workspace::places;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, one_target, page, target_properties, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "find_references",
    title: "Find references",
    description: "Every place that uses a symbol (calls, reads, type uses, imports, inheritance), named by `position` (path:line:col of its name or of a use) or `symbol` (a qualified name). `includeDeclaration` adds the definition itself. Long answers come in pages: pass `nextCursor` back as `cursor`.",
    read_only: true,
    destructive: false,
    input_schema: || {
        let mut properties = target_properties();
        properties["includeDeclaration"] = json!({"type": "boolean"});
        properties["cursor"] = json!({"type": "string"});
        json!({"type": "object", "properties": properties})
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": super::symbol_schema(),
                "total": {"type": "integer"},
                "references": {"type": "array", "items": {"type": "object", "properties": {
                    "location": {"type": "string"},
                }, "required": ["location"]}},
                "truncated": {"type": "boolean", "description": "the request's time budget (requestBudgetMs) ran out: the answer is what was found before"},
                "nextCursor": super::cursor_schema(),
            },
            "required": ["symbol", "total", "references", "truncated", "nextCursor"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    include_declaration: bool,
    #[serde(default)]
    cursor: Option<String>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("find_references", arguments)?;
    let cursor = a.cursor.clone();
    let (symbol, all, truncated): (Value, Vec<String>, bool) =
        with_analysis(ctx, move |analysis| {
            let t = one_target(analysis, a.position.as_deref(), a.symbol.as_deref())?;
            let refs = analysis
                .references(t.file, t.focus.start, a.include_declaration)
                .map(|r| r.locations)
                .unwrap_or_default();
            // In file order: by path, then position.
            let mut found: Vec<(String, u32, String)> = refs
                .iter()
                .map(|l| {
                    let place = places::place(analysis, l.file, l.range.start);
                    (l.path.clone(), l.range.start, place)
                })
                .collect();
            found.sort();
            found.dedup();
            let places = found.into_iter().map(|(_, _, place)| place).collect();
            Ok((super::symbol_json(analysis, &t), places, cancel::was_cut()))
        })
        .await?;
    let total = all.len();
    let items: Vec<Value> = all.into_iter().map(|p| json!({ "location": p })).collect();
    let (references, next) = page(items, cursor.as_deref())?;
    Ok(json!({
        "symbol": symbol, "total": total, "references": references,
        "truncated": truncated, "nextCursor": next,
    }))
}
