//! `usage_patterns`: how the project calls a function or method.

use codecontext_workspace::usages::{self, UsagesRequest};
use serde_json::{json, Value};

use super::{args, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "usage_patterns",
    title: "How a function is usually called",
    description: "How this project calls a function or method, before you write a new call to it: its call sites grouped by shape (each argument a literal, a keyword, None/null, a lambda, a name or a call), the keyword arguments most calls pass and the calls that leave them out (\"41 of 44 calls pass `timeout=`; 3 do not: ...\"), what is done with the result (assigned, returned, discarded, awaited, chained), and what is called right before and after. Counts with one example each, and a `summary` in words. Name it with `symbol` (a qualified name, or a unique suffix) or `position` (path:line:col).",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "qualified name as answers show them, or a unique suffix"},
                "position": {"type": "string", "description": "path:line:col, 1-based, on the function's name or inside it"},
            },
        })
    },
    output_schema: || {
        let count = json!({"type": "object", "properties": {
            "what": {"type": "string"}, "count": {"type": "integer"}, "example": {"type": "string"},
        }, "required": ["what", "count", "example"]});
        json!({
            "type": "object",
            "properties": {
                "symbol": {"type": "string"},
                "calls": {"type": "integer"},
                "files": {"type": "integer"},
                "shapes": {"type": "array", "items": {"type": "object", "properties": {
                    "shape": {"type": "string"},
                    "count": {"type": "integer"},
                    "example": {"type": "object", "properties": {
                        "place": {"type": "string"}, "text": {"type": "string"},
                    }, "required": ["place", "text"]},
                }, "required": ["shape", "count", "example"]}},
                "keywords": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "passed": {"type": "integer"},
                    "missing": {"type": "integer"},
                    "missing_at": {"type": "array", "items": {"type": "string"}},
                }, "required": ["name", "passed", "missing", "missing_at"]}},
                "results": {"type": "array", "items": count},
                "before": {"type": "array", "items": count},
                "after": {"type": "array", "items": count},
                "summary": {"type": "array", "items": {"type": "string"}},
                "truncated": {"type": "boolean"},
            },
            "required": ["symbol", "calls", "files", "shapes", "keywords", "results", "before", "after", "summary", "truncated"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: UsagesRequest = args("usage_patterns", arguments)?;
    with_analysis(ctx, move |analysis| {
        let answer = usages::answer(analysis, &request)?;
        serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
    })
    .await
}
