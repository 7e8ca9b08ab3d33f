//! `assess_edit`: what a proposed edit changes and what to think of it, before anyone
//! runs it: changed symbols with their impact and tests, complexity before and after,
//! the project's naming conventions, and located findings (see docs/assess.md).

use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "assess_edit",
    title: "Assess a proposed edit",
    description: "Judge a proposed change before running it (well under a second; nothing is run or written): the functions, methods and types it adds, changes or removes, each with what reaches it (callers and dependents, transitively, and the tests among them) and its complexity before and after (cyclomatic, cognitive, nesting, lines, parameters); the project's own naming conventions; and findings, each located with a confidence: a name that breaks a convention (with the renaming edit), a copy of an existing function (names aside), a complexity jump, calls the edit breaks (wrong number of arguments), a removed symbol still used, a changed function no test reaches; and a risk score from 0 to 1 with its top factors, from a model trained on the project's git history (`riskStatus: training` while it learns). Give the edit as `diff` (a unified diff against the files on disk) or `edits` (new contents by path; `content: null` deletes).",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "diff": {"type": "string", "description": "a unified diff, paths relative to the project"},
                "edits": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"},
                    "content": {"type": ["string", "null"]},
                }, "required": ["path", "content"]}},
            },
        })
    },
    output_schema: || {
        let metrics = json!({"type": ["object", "null"], "properties": {
            "cyclomatic": {"type": "integer"}, "cognitive": {"type": "integer"},
            "nesting": {"type": "integer"}, "lines": {"type": "integer"},
            "parameters": {"type": "integer"},
        }});
        json!({
            "type": "object",
            "properties": {
                "files": {"type": "array", "items": {"type": "string"}},
                "symbols": {"type": "array", "items": {"type": "object", "properties": {
                    "symbol": {"type": "string"},
                    "kind": {"type": "string"},
                    "change": {"type": "string", "enum": ["added", "modified", "removed"]},
                    "location": {"type": "string"},
                    "before": metrics, "after": metrics, "delta": metrics,
                    "impact": {"type": ["object", "null"]},
                }, "required": ["symbol", "kind", "change", "location"]}},
                "conventions": {"type": "array", "items": {"type": "object"}},
                "findings": {"type": "array", "items": {"type": "object", "properties": {
                    "kind": {"type": "string"},
                    "severity": {"type": "string", "enum": ["warning", "suggestion"]},
                    "symbol": {"type": "string"},
                    "location": {"type": "string"},
                    "message": {"type": "string"},
                    "confidence": {"type": "number"},
                    "edit": {"type": ["object", "null"]},
                }, "required": ["kind", "severity", "symbol", "location", "message", "confidence"]}},
                "risk": {"type": ["object", "null"], "properties": {
                    "score": {"type": "number"},
                    "factors": {"type": "array", "items": {"type": "object"}},
                    "model": {"type": "object"},
                }},
                "riskStatus": {"type": "string"},
                "truncated": {"type": "boolean"},
            },
            "required": ["files", "symbols", "conventions", "findings", "truncated"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    diff: Option<String>,
    #[serde(default)]
    edits: Option<Vec<super::FileEdit>>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("assess_edit", arguments)?;
    let edit = super::edit_of(ctx, a.diff, a.edits)?;
    ctx.indexed().await;
    let answer = ctx
        .ws
        .assess(edit, Some(ctx.root.clone()), false)
        .await
        .map_err(|e| ToolError::new(e.to_string()))?;
    serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
}
