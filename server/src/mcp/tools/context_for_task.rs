//! `context_for_task`: the symbols a task needs, ranked, packed within a token budget.

use codecontext_workspace::context::{self, ContextRequest};
use serde_json::{json, Value};

use super::{args, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "context_for_task",
    title: "Context for a task",
    description: "The code a task needs, ranked and packed within `budget` o200k tokens (default 4000): instead of grepping around or reading whole files, call this first. Name the target with any of `position` (path:line:col), `symbols` (qualified names), `files`, `diff` (a unified diff you are about to apply) or `task` (the task in words: symbols whose names or docs it mentions). Ranking is personalized PageRank over the symbol graph (calls, inheritance, types, imports; exact resolutions weigh more than guesses) plus files git shows changing together. Each item is a skeleton (place, doc line, signature) or its whole body, with its `score` and `why` (the path in the graph from the target). `text` is everything together, `tokens` its count, never over the budget. `map: true` without a target gives the project's map: its most central symbols as skeletons.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "position": {"type": "string", "description": "path:line:col, 1-based, column in characters"},
                "symbols": {"type": "array", "items": {"type": "string"}, "description": "qualified names as answers show them, or unique suffixes"},
                "files": {"type": "array", "items": {"type": "string"}, "description": "paths relative to the project"},
                "diff": {"type": "string", "description": "a unified diff against the files as they are"},
                "task": {"type": "string", "description": "the task in words"},
                "budget": {"type": "integer", "minimum": codecontext_context::MIN_BUDGET, "maximum": codecontext_context::MAX_BUDGET},
                "map": {"type": "boolean", "description": "the project's map instead (no target)"},
            },
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "targets": {"type": "array", "items": {"type": "string"}, "description": "what the question was taken to be about"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"},
                    "line": {"type": "integer"},
                    "end_line": {"type": "integer"},
                    "symbol": {"type": "string"},
                    "kind": {"type": "string"},
                    "score": {"type": "number"},
                    "form": {"type": "string", "enum": ["skeleton", "body"]},
                    "tokens": {"type": "integer"},
                    "why": {"type": "array", "items": {"type": "object", "properties": {
                        "relation": {"type": "string"},
                        "symbol": {"type": "string"},
                    }, "required": ["relation", "symbol"]}},
                    "text": {"type": "string"},
                }, "required": ["path", "line", "symbol", "kind", "score", "form", "tokens", "why", "text"]}},
                "text": {"type": "string"},
                "tokens": {"type": "integer"},
                "budget": {"type": "integer"},
                "considered": {"type": "integer"},
                "truncated": {"type": "boolean"},
            },
            "required": ["targets", "items", "text", "tokens", "budget", "considered", "truncated"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: ContextRequest = args("context_for_task", arguments)?;
    with_analysis(ctx, move |analysis| {
        let host = analysis.host();
        let targets = context::targets(host, &request).map_err(ToolError::new)?;
        let answer = context::answer(host, &request, targets).map_err(ToolError::new)?;
        serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
    })
    .await
}
