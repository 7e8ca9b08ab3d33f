//! `project_report`: what a team looks at to decide where to spend its care: hotspots,
//! risk by module, test durations, verification outcomes and module dependencies (see
//! docs/report.md); with `out`, also the page, written there.

use std::path::PathBuf;

use codecontext_workspace::report::write_page;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "project_report",
    title: "Project report",
    description: "Where this project's risk is, from its code, git history and recorded runs: hotspots (files that change often and are complex: commits that changed each × the sum of its functions' cyclomatic complexity, with the most complex function), risk by module (the history-trained model's probability that a typical change needs a fix later, with past changes and fixes), the slowest tests' durations over the verifications that ran them, verification outcomes, and which modules import which. Give `out` (a path relative to the project) to also write the report as an HTML page with plots for a person to read.",
    read_only: false,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "out": {"type": "string", "description": "write the HTML page here (relative to the project)"},
            },
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "project": {"type": "string"},
                "commits": {"type": "integer"},
                "riskStatus": {"type": "string"},
                "files": {"type": "integer"},
                "hotspots": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"},
                    "changes": {"type": "integer"},
                    "fixes": {"type": "integer"},
                    "complexity": {"type": "integer"},
                    "score": {"type": "integer"},
                }, "required": ["path", "changes", "complexity", "score"]}},
                "modules": {"type": "array", "items": {"type": "object", "properties": {
                    "module": {"type": "string"},
                    "risk": {"type": ["number", "null"]},
                }, "required": ["module"]}},
                "tests": {"type": "array", "items": {"type": "object"}},
                "verifications": {"type": "array", "items": {"type": "object"}},
                "dependencies": {"type": "object"},
                "written": {"type": "string"},
            },
            "required": ["project", "hotspots", "modules", "tests", "verifications", "dependencies"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    out: Option<PathBuf>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("project_report", arguments)?;
    ctx.indexed().await;
    let report = ctx.ws.report(Some(ctx.root.clone()), false).await?;
    let mut answer = serde_json::to_value(&report).map_err(|e| ToolError::new(e.to_string()))?;
    if let Some(out) = a.out {
        let out = write_page(&report, &out).map_err(ToolError::new)?;
        answer["written"] = Value::String(out.display().to_string());
    }
    Ok(answer)
}
