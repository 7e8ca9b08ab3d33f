//! `get_run`: the result of a verification still running when `verify_edit` answered,
//! or any recorded run (an execution or a verification) by its id. Also the registry of
//! runs under way.

use std::{
    collections::HashMap,
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, PoisonError,
    },
    time::Duration,
};

use codecontext_workspace::history::HistoryOf;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};

use super::{args, ToolDef, ToolError};
use crate::mcp::Ctx;

type Outcome = Option<Result<Value, String>>;

/// A run under way: its outcome when it comes, and its task (aborted to stop it).
type Running = (watch::Receiver<Outcome>, JoinHandle<()>);

/// Runs under way, by id (`run-N`).
#[derive(Default)]
pub(crate) struct Runs {
    next: AtomicU64,
    running: Mutex<HashMap<String, Running>>,
}

impl Runs {
    /// Starts a run in the background; its id.
    pub fn start<F>(&self, work: F) -> String
    where
        F: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let id = format!("run-{}", self.next.fetch_add(1, Ordering::SeqCst) + 1);
        let (tx, rx) = watch::channel(None);
        let task = tokio::spawn(async move {
            let _ = tx.send(Some(work.await));
        });
        self.lock().insert(id.clone(), (rx, task));
        id
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The run's answer if it ends within `wait`, else `status: running` and its id.
    /// With `owned`, the caller started it: when the caller is dropped first (its call
    /// was cancelled) the run is stopped.
    pub async fn wait(&self, id: String, wait: Duration, owned: bool) -> Result<Value, ToolError> {
        let Some(mut rx) = self.lock().get(&id).map(|(rx, _)| rx.clone()) else {
            return Err(ToolError::new(format!("no run `{id}` is under way")));
        };
        let mut stop = owned.then(|| StopOnDrop {
            runs: self,
            id: id.clone(),
        });
        let done = tokio::time::timeout(wait, rx.wait_for(|o| o.is_some())).await;
        if let Some(stop) = stop.as_mut() {
            stop.id.clear(); // answered: the run belongs to get_run now
        }
        match done {
            Ok(Ok(outcome)) => {
                let outcome = outcome.clone();
                self.lock().remove(&id);
                match outcome {
                    Some(Ok(mut answer)) => {
                        answer["status"] = json!("done");
                        Ok(answer)
                    }
                    Some(Err(message)) => Err(ToolError::new(message)),
                    None => Err(ToolError::new("the run ended without an answer")),
                }
            }
            Ok(Err(_)) => {
                self.lock().remove(&id);
                Err(ToolError::new("the run was stopped"))
            }
            Err(_) => Ok(json!({ "status": "running", "runId": id })),
        }
    }
}

/// Stops a run when the call that started it goes away unanswered.
struct StopOnDrop<'a> {
    runs: &'a Runs,
    id: String,
}

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        if self.id.is_empty() {
            return;
        }
        if let Some((_, task)) = self.runs.lock().remove(&self.id) {
            task.abort();
        }
    }
}

/// The schema of a run's answer: a verification's verdict, or `status: running`.
pub fn run_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["done", "running"]},
            "runId": {"type": ["string", "integer", "null"]},
            "verdict": {"type": "string", "description": "passed, failed, build_failed, timed_out, resource_limit, sandbox_error"},
            "reason": {"type": "string", "description": "why a sandbox_error is not the code's fault: toolchain_missing (message names what is missing and how to provide it), install_failed (installing the dependencies failed)"},
            "toolchain": {
                "type": "object",
                "description": "what ran the tests: the interpreter or tool (program), its version, how it was found (source), the test runner",
                "properties": {
                    "program": {"type": "string"},
                    "version": {"type": "string"},
                    "source": {"type": "string"},
                    "runner": {"type": "string"},
                },
            },
            "install": {
                "type": "object",
                "description": "the install phase, when the project's requirements were not all installed: status (installed, cached, failed), wallMs, cached, requirements (files), missing (names), message",
            },
            "message": {"type": "string"},
            "tests": {"type": "array"},
            "buildErrors": {"type": "array"},
            "edit": {"type": "object"},
        },
        "required": ["status"],
    })
}

pub const TOOL: ToolDef = ToolDef {
    name: "get_run",
    title: "A run's result",
    description: "The result of a run: `runId` as verify_edit answered it (`run-N`, still running then; waits up to `waitS` seconds, default 60, for it to end), or the number of a recorded run (from history, or the `runId` of an execute or finished verify_edit answer), whose recorded answer comes back.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "runId": {"type": ["string", "integer"]},
                "waitS": {"type": "number", "minimum": 0, "maximum": 600},
            },
            "required": ["runId"],
        })
    },
    output_schema: run_schema,
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Args {
    run_id: Value,
    #[serde(default)]
    wait_s: Option<f64>,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("get_run", arguments)?;
    let recorded = match &a.run_id {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse::<i64>().ok(),
        _ => None,
    };
    match (recorded, &a.run_id) {
        (Some(id), _) => {
            let runs = ctx.ws.history(HistoryOf::Any, 1000).await?;
            let run = runs.into_iter().find(|r| r.run.id == id).ok_or_else(|| {
                ToolError::new(format!(
                    "no recorded run has id {id}; history lists the recorded runs"
                ))
            })?;
            let mut answer = run.to_json(true);
            let detail = answer["detail"].take();
            let mut out = if detail.is_object() { detail } else { answer };
            out["status"] = json!("done");
            out["runId"] = json!(id);
            Ok(out)
        }
        (None, Value::String(id)) => {
            let wait =
                std::time::Duration::from_secs_f64(a.wait_s.unwrap_or(60.0).clamp(0.0, 600.0));
            ctx.runs.wait(id.clone(), wait, false).await
        }
        _ => Err(ToolError::new(
            "`runId` is `run-N` (a verification under way) or the number of a recorded run",
        )),
    }
}
