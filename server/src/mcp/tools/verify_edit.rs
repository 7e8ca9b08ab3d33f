//! `verify_edit`: build and test a proposed edit in a sandboxed snapshot of the project;
//! answers within `waitS`, or with a run id that `get_run` answers when it is done.

use std::time::Duration;

use codecontext_verify::TestSelection;
use codecontext_workspace::verify::VerifyRequest;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, get_run, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "verify_edit",
    title: "Verify a proposed edit",
    description: "Check a proposed change before anyone trusts it: the edit is applied to a throw-away snapshot of the project (the user's files are never touched), the project's build and tests run there in a sandbox, and the answer is a verdict (`passed`, `failed`, `build_failed`, `timed_out`, `sandbox_error`) with every test's outcome and failure location and the compiler's errors. The tests run with the project's own toolchain (its virtualenv, pinned Node, rustup toolchain, Go), named in `toolchain`; when that is missing the verdict is `sandbox_error` with `reason: toolchain_missing` and a `message` that says what to install, not a failure of the code. Give the edit as `diff` (a unified diff against the files on disk) or `edits` (new contents by path; `content: null` deletes). `tests`: `all` (default), `affected` (only the tests that reach the changed code through the call graph), or a list of test names. Answers within `waitS` seconds (default 120); if the run takes longer, the answer has `status: running` and a `runId` to pass to get_run.",
    read_only: false,
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
                "tests": {"oneOf": [
                    {"type": "string", "enum": ["all", "affected"]},
                    {"type": "array", "items": {"type": "string"}},
                ]},
                "timeoutMs": {"type": "integer", "minimum": 1},
                "waitS": {"type": "number", "minimum": 0, "maximum": 600},
            },
        })
    },
    output_schema: get_run::run_schema,
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Args {
    #[serde(default)]
    diff: Option<String>,
    #[serde(default)]
    edits: Option<Vec<super::FileEdit>>,
    #[serde(default)]
    tests: Option<TestSelection>,
    #[serde(default)]
    timeout_ms: Option<u64>,
    #[serde(default)]
    wait_s: Option<f64>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("verify_edit", arguments)?;
    let edit = super::edit_of(ctx, a.diff, a.edits)?;
    let request = VerifyRequest {
        edit,
        root: Some(ctx.root.clone()),
        tests: a.tests.unwrap_or_default(),
        timeout_ms: a.timeout_ms,
    };
    let wait = Duration::from_secs_f64(a.wait_s.unwrap_or(120.0).clamp(0.0, 600.0));
    ctx.indexed().await;
    let ws = ctx.ws.clone();
    // Its phases, for the call's progress notifications.
    let steps = crate::mcp::sdk::Steps::of_call();
    let run = ctx.runs.start(async move {
        let tell = |phase: &str| {
            if let Some(steps) = &steps {
                steps.begin(phase.to_string());
            }
        };
        ws.verify_telling(request, false, &tell)
            .await
            .map_err(|e| e.to_string())
            .and_then(|answer| serde_json::to_value(answer).map_err(|e| e.to_string()))
    });
    // Dropped (the call cancelled) before it is handed over: the run stops.
    ctx.runs.wait(run, wait, true).await
}
