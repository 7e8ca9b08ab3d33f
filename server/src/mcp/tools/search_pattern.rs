//! `search_pattern`: structural search over the project (see docs/search.md).

use codecontext_workspace::search::SearchRequest;
use serde_json::{json, Value};

use super::{args, point_schema, with_workspace, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "search_pattern",
    title: "Structural search",
    description: "Find code by its shape, not its text: a pattern written as code with metavariables, as ast-grep does. `$X` matches one node (`$X.unwrap()`, `requests.get($URL)`), `$$$ARGS` any number (`fetch($$$ARGS)`, `fn $NAME($$$P) -> Result<$T, $E> { $$$ }`), `$_` one without capturing it. Give `lang` (rust, python, typescript, tsx, javascript, go, java) and exactly one of `pattern`, `rule` (an ast-grep rule object, for constraints: `{\"rule\": {\"pattern\": \"$X.unwrap()\", \"inside\": {\"kind\": \"function_item\", \"stopBy\": \"end\"}}, \"constraints\": {\"X\": {\"regex\": \"^self\"}}}`) or `query` (a raw tree-sitter query; `@match` marks the node). Each match comes with its place (path:line:col), text, captures, and the qualified name of the symbol around it. Words in the pattern make it fast: the index rules out files without them. Better than grep when the question is structural (calls without an argument, a method called on what, code inside what).",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "lang": {"type": "string", "description": "rust, python, typescript, tsx, javascript, go or java"},
                "pattern": {"type": "string", "description": "code with metavariables ($X, $$$ARGS, $_)"},
                "rule": {"type": "object", "description": "an ast-grep rule: {rule, constraints?, utils?}"},
                "query": {"type": "string", "description": "a tree-sitter query"},
                "paths": {"type": "array", "items": {"type": "string"}, "description": "only files under these paths, relative to the project"},
                "limit": {"type": "integer", "minimum": 1, "description": "at most this many matches (default 1000)"},
            },
            "required": ["lang"],
        })
    },
    output_schema: || {
        let point = point_schema();
        json!({
            "type": "object",
            "properties": {
                "language": {"type": "string"},
                "matches": {"type": "array", "items": {"type": "object", "properties": {
                    "place": {"type": "string"},
                    "path": {"type": "string"},
                    "start": point,
                    "end": point,
                    "text": {"type": "string"},
                    "captures": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                        "text": {"type": "string"},
                        "start": point,
                        "end": point,
                        "multi": {"type": "boolean"},
                    }, "required": ["text", "start", "end", "multi"]}},
                    "symbol": {"type": ["string", "null"]},
                    "symbol_kind": {"type": ["string", "null"]},
                }, "required": ["place", "path", "start", "end", "text", "captures"]}},
                "files_searched": {"type": "integer"},
                "files_ruled_out": {"type": "integer"},
                "files_not_searched": {"type": "integer"},
                "open_documents": {"type": "integer"},
                "truncated": {"type": "boolean"},
                "warnings": {"type": "array", "items": {"type": "string"}},
                "elapsed_ms": {"type": "integer"},
            },
            "required": ["language", "matches", "files_searched", "files_ruled_out", "files_not_searched", "truncated", "warnings"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: SearchRequest = args("search_pattern", arguments)?;
    request.compile()?;
    // Files done, for the call's progress notifications.
    let steps = crate::mcp::sdk::Steps::of_call();
    let answer: codecontext_workspace::search::SearchAnswer = with_workspace(ctx, move |ws| {
        let progress = |done, total| {
            if let Some(steps) = &steps {
                steps.set(done, total);
            }
        };
        Ok(ws.search(&request, &progress)?)
    })
    .await?;
    serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
}
