//! `check_rules`: the project's rules (`.codecontext/rules/*.yml`) over its files.

use codecontext_workspace::rules::RulesRequest;
use serde_json::{json, Value};

use super::{args, point_schema, with_workspace, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "check_rules",
    title: "Check the project's rules",
    description: "The project's own rules (`.codecontext/rules/*.yml`, in ast-grep's rule format: id, language, rule, message, severity, fix) checked over its files: each hit with its place (path:line:col), rule, severity, message (metavariables filled in), note, and the rule's fix as replacement text. Call it on the files you changed before you hand them back: these are the conventions the team wrote down. `errors` lists rule files that do not load, as file:line: why. `paths` restricts the check to files under those paths.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "paths": {"type": "array", "items": {"type": "string"}, "description": "only files under these paths, relative to the project"},
                "limit": {"type": "integer", "minimum": 1, "description": "at most this many hits (default 1000)"},
            },
        })
    },
    output_schema: || {
        let point = point_schema();
        json!({
            "type": "object",
            "properties": {
                "rules": {"type": "array", "items": {"type": "string"}},
                "errors": {"type": "array", "items": {"type": "string"}},
                "hits": {"type": "array", "items": {"type": "object", "properties": {
                    "place": {"type": "string"},
                    "path": {"type": "string"},
                    "start": point,
                    "end": point,
                    "rule": {"type": "string"},
                    "severity": {"type": "string", "enum": ["hint", "info", "warning", "error"]},
                    "message": {"type": "string"},
                    "note": {"type": ["string", "null"]},
                    "fix": {"type": ["object", "null"], "properties": {
                        "start": point, "end": point, "text": {"type": "string"},
                    }},
                }, "required": ["place", "path", "start", "end", "rule", "severity", "message"]}},
                "files_checked": {"type": "integer"},
                "files_ruled_out": {"type": "integer"},
                "truncated": {"type": "boolean"},
                "elapsed_ms": {"type": "integer"},
            },
            "required": ["rules", "errors", "hits", "files_checked", "truncated"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: RulesRequest = args("check_rules", arguments)?;
    let answer: codecontext_workspace::rules::RulesAnswer =
        with_workspace(ctx, move |ws| Ok(ws.scan_rules(&request)?)).await?;
    serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
}
