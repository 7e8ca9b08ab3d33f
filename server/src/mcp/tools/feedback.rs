//! `feedback`: what became of a suggestion; repeated rejections become a preference.

use codecontext_workspace::memory::FeedbackRequest;
use serde_json::{json, Value};

use super::{args, recall::memory_schema, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "feedback",
    title: "Record feedback on a suggestion",
    description: "Records whether a suggestion was `accepted`, `rejected` or `edited`, and why (`reason`). `about` names the kind of suggestion (a rule id such as `rule:no-unwrap`, `assess.naming`, `rename`), so that feedback on the same kind adds up: a kind rejected 3 times or more, and more often than accepted, becomes a learned preference that recall answers (and the answer here, as `preference`).",
    read_only: false,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "about": {"type": "string"},
                "verdict": {"type": "string", "enum": ["accepted", "rejected", "edited"]},
                "reason": {"type": "string"},
                "symbols": {"type": "array", "items": {"type": "string"}},
                "files": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["about", "verdict"],
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "feedback": memory_schema(),
                "preference": {"type": ["object", "null"]},
            },
            "required": ["feedback", "preference"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: FeedbackRequest = args("feedback", arguments)?;
    ctx.indexed().await;
    Ok(ctx.ws.feedback(request).await?)
}
