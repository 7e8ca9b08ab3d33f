//! `remember`: keep a decision or a preference, anchored to the code it is about.

use codecontext_workspace::memory::RememberRequest;
use serde_json::{json, Value};

use super::{args, recall::memory_schema, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "remember",
    title: "Remember a decision or a preference",
    description: "Keeps a `decision` (what was decided and, in `rationale`, why) or a `preference` (how this project or user wants things done) in the project's memory, anchored to the `symbols` (qualified or bare names) and `files` (relative paths) it is about: recall answers it for them, hover shows it, and it turns `suspect` when that code changes. `supersedes` names the id of a memory this one replaces. Answers the memory with its id (for forget).",
    read_only: false,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["decision", "preference"]},
                "text": {"type": "string"},
                "rationale": {"type": "string"},
                "symbols": {"type": "array", "items": {"type": "string"}},
                "files": {"type": "array", "items": {"type": "string"}},
                "supersedes": {"type": "string", "description": "the id of the memory this one replaces"},
                "author": {"type": "string"},
            },
            "required": ["kind", "text"],
        })
    },
    output_schema: memory_schema,
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: RememberRequest = args("remember", arguments)?;
    ctx.indexed().await;
    Ok(ctx.ws.remember(request).await?)
}
