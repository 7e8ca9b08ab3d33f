//! `find_symbol`: symbols by name, fuzzy (ranked) or exact, optionally of one kind.

use codecontext_analysis::{cancel, SearchMode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, page, symbol_json, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "find_symbol",
    title: "Find symbols by name",
    description: "Find functions, methods, classes, types and other definitions in the project by name. `mode` is `fuzzy` (default: ranked, tolerant of typos and abbreviations such as `cartadd` for `Cart.add`), `prefix` or `exact`. `kind` keeps one kind (function, method, class, struct, interface, trait, enum, constant, field, module, ...). Answers each symbol's qualified name, kind and `path:line:col` location, best match first; use the location with find_definition, find_references or symbol_info.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "a name or part of one"},
                "mode": {"type": "string", "enum": ["fuzzy", "prefix", "exact"]},
                "kind": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "at most this many (default 50)"},
                "cursor": {"type": "string"},
            },
            "required": ["query"],
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbols": {"type": "array", "items": super::symbol_schema()},
                "truncated": {"type": "boolean", "description": "the request's time budget (requestBudgetMs) ran out: the answer is what was found before"},
                "nextCursor": super::cursor_schema(),
            },
            "required": ["symbols", "truncated", "nextCursor"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    query: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("find_symbol", arguments)?;
    let mode = match a.mode.as_deref().unwrap_or("fuzzy") {
        "fuzzy" => SearchMode::Fuzzy,
        "prefix" => SearchMode::Prefix,
        "exact" => SearchMode::Exact,
        other => {
            return Err(ToolError::new(format!(
                "`mode` is `fuzzy`, `prefix` or `exact`, not `{other}`"
            )))
        }
    };
    let limit = a.limit.unwrap_or(50).clamp(1, 1000);
    let kind = a.kind.map(|k| k.to_lowercase());
    let (found, truncated) = with_analysis(ctx, move |analysis| {
        let found = match &kind {
            Some(kind) => analysis.symbols_of_kind(&a.query, mode, kind, limit),
            None => analysis.symbols(&a.query, mode, limit),
        };
        let found: Vec<Value> = found.iter().map(|t| symbol_json(analysis, t)).collect();
        Ok((found, cancel::was_cut()))
    })
    .await?;
    let (symbols, next) = page(found, a.cursor.as_deref())?;
    Ok(json!({ "symbols": symbols, "truncated": truncated, "nextCursor": next }))
}
