//! `execute`: run a snippet in the sandbox.

use codecontext_workspace::execute::ExecuteRequest;
use serde_json::{json, Value};

use super::{args, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "execute",
    title: "Run a snippet in a sandbox",
    description: "Run a short program in an isolated sandbox (no network, no access to the user's files or environment, limits on time, memory, processes and output) and get its stdout, stderr, exit code and resource use. `language` is `python`, `javascript` (node), `rust` (one file, compiled first), `shell` or `bash`. Use it to check how something behaves before proposing it. The run is recorded in the project's history.",
    read_only: false,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "language": {"type": "string", "enum": ["python", "javascript", "rust", "shell", "bash"]},
                "code": {"type": "string"},
                "stdin": {"type": "string"},
                "args": {"type": "array", "items": {"type": "string"}},
                "timeoutMs": {"type": "integer", "minimum": 1, "maximum": 120000},
            },
            "required": ["language", "code"],
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "language": {"type": "string"},
                "status": {"type": "string", "description": "ok, timed_out, memory_exceeded, output_exceeded, sandbox_error, ..."},
                "exitCode": {"type": ["integer", "null"]},
                "stdout": {"type": "string"},
                "stderr": {"type": "string"},
                "wallMs": {"type": "integer"},
                "runId": {"type": ["integer", "null"]},
            },
            "required": ["language", "status", "exitCode", "stdout", "stderr", "wallMs"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: ExecuteRequest = args("execute", arguments)?;
    let answer = ctx.ws.execute(request, false).await?;
    serde_json::to_value(answer).map_err(|e| ToolError::new(e.to_string()))
}
