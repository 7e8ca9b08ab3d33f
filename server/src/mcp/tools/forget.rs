//! `forget`: take a memory back.

use codecontext_workspace::memory::ForgetRequest;
use serde_json::{json, Value};

use super::{args, recall::memory_schema, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "forget",
    title: "Forget a memory",
    description: "Takes back a memory by its `id` (as recall and remember answer it), with an optional `reason`. It is kept for the record of what held when, marked `forgotten`, and recall leaves it out unless asked for it.",
    read_only: false,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["id"],
        })
    },
    output_schema: memory_schema,
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: ForgetRequest = args("forget", arguments)?;
    ctx.indexed().await;
    Ok(ctx.ws.forget(request).await?)
}
