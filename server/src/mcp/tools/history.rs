//! `history`: the recorded runs of a symbol, a file, or the project.

use std::path::PathBuf;

use codecontext_workspace::history::HistoryOf;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, page, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "history",
    title: "Run history",
    description: "The executions and verifications recorded for this project, newest first: those that changed a `symbol` (qualified or bare name), those that changed a `file` (relative path), or all. Each run has its id, kind, verdict or status, test counts, the symbols and files it changed and its timings; get_run gives a run's whole answer.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": {"type": "string"},
                "file": {"type": "string"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "cursor": {"type": "string"},
            },
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "runs": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "integer"},
                    "kind": {"type": "string"},
                    "status": {"type": "string"},
                }, "required": ["id", "kind", "status"]}},
                "nextCursor": super::cursor_schema(),
            },
            "required": ["runs", "nextCursor"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    cursor: Option<String>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("history", arguments)?;
    let of = HistoryOf::of(a.symbol, a.file.map(PathBuf::from))?;
    let runs = ctx.ws.history(of, a.limit.unwrap_or(20)).await?;
    let runs: Vec<Value> = runs.iter().map(|r| r.to_json(false)).collect();
    let (runs, next) = page(runs, a.cursor.as_deref())?;
    Ok(json!({ "runs": runs, "nextCursor": next }))
}
