//! `codecontext.execute`: run a snippet in the sandbox, as `workspace/executeCommand`
//! and as the custom request `codecontext/execute` (see docs/protocol.md).
//!
//! A request is turned into a [`RunSpec`] per language (the snippet becomes a file in
//! the sandbox's `/work`; Rust is compiled there first), run by the session's
//! [`Sandbox`], and answered with the [`RunOutcome`]. Cancelling the request drops the
//! run, which kills the sandbox.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use codecontext_sandbox::{
    DockerConfig, DockerSandbox, LocalSandbox, RunOutcome, RunSpec, Sandbox,
};
use codecontext_store::{RunKind, RunRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::{
        notification::Progress, request::WorkDoneProgressCreate, NumberOrString, ProgressParams,
        ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressCreateParams,
        WorkDoneProgressEnd,
    },
    Client,
};
use tracing::{info, warn};

use super::{history, state::Shared};

/// The command name in `workspace/executeCommand`.
pub(crate) const EXECUTE_COMMAND: &str = "codecontext.execute";
/// The custom request.
pub(crate) const EXECUTE_REQUEST: &str = "codecontext/execute";

/// Runs at once; more wait their turn.
const CONCURRENCY: usize = 4;

/// What to run.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExecuteParams {
    pub language: String,
    pub code: String,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The answer: the run's outcome and the language it ran as.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecuteResult {
    pub language: &'static str,
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

/// The most a request may ask for.
const MAX_TIMEOUT_MS: u64 = 120_000;

fn invalid(message: String) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into(),
        data: None,
    }
}

/// The sandbox for a run in a workspace folder, in a language: Docker when the
/// environment, the folder's `codecontext.toml` or the user's file says so (with the
/// image for the language, else the project's, else `CODECONTEXT_DOCKER_IMAGE`), else
/// the local one. Each Docker image has one sandbox (and warm pool) for the session.
pub(crate) fn sandbox_for(
    root: Option<&std::path::Path>,
    language: &str,
) -> std::result::Result<Arc<dyn Sandbox>, String> {
    let config = codecontext_config::load_sandbox(root).map_err(|e| e.to_string())?;
    if config.kind == codecontext_config::SandboxKind::Local {
        return local_sandbox();
    }
    let image = config.image_for(language).ok_or_else(|| {
        "the Docker sandbox needs an image: CODECONTEXT_DOCKER_IMAGE, or `image` under \
         [docker] in codecontext.toml"
            .to_string()
    })?;
    static DOCKER: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Arc<dyn Sandbox>>>> =
        OnceLock::new();
    let mut pools = DOCKER
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(sandbox) = pools.get(image) {
        return Ok(sandbox.clone());
    }
    // Containers from a warm pool; the daemon is first asked at the first run.
    let number = |var: &str| std::env::var(var).ok().and_then(|v| v.parse().ok());
    let mut docker = DockerConfig::new(image);
    if let Some(n) = number("CODECONTEXT_DOCKER_POOL") {
        docker.pool_size = n as usize;
    }
    if let Some(secs) = number("CODECONTEXT_DOCKER_IDLE_SECS") {
        docker.idle_timeout = std::time::Duration::from_secs(secs);
    }
    let sandbox: Arc<dyn Sandbox> =
        Arc::new(DockerSandbox::new(docker).map_err(|e| e.to_string())?);
    pools.insert(image.to_string(), sandbox.clone());
    Ok(sandbox)
}

/// The local sandbox, one for the session.
fn local_sandbox() -> std::result::Result<Arc<dyn Sandbox>, String> {
    static SANDBOX: OnceLock<std::result::Result<Arc<dyn Sandbox>, String>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            // The small helper beside this binary, else this binary, unless told
            // otherwise (packaging).
            let helper = std::env::var_os("CODECONTEXT_SANDBOX_HELPER")
                .map(PathBuf::from)
                .or_else(LocalSandbox::default_helper)
                .ok_or_else(|| "cannot find the sandbox helper binary".to_string())?;
            let sandbox = LocalSandbox::new(helper, CONCURRENCY).map_err(|e| e.to_string())?;
            Ok(Arc::new(sandbox) as Arc<dyn Sandbox>)
        })
        .clone()
}

/// The run for a snippet.
fn spec_for(params: ExecuteParams) -> Result<(&'static str, RunSpec)> {
    let mut spec = RunSpec::default();
    let language = params.language.to_ascii_lowercase();
    let (language, file, mut argv): (&'static str, &str, Vec<String>) = match language.as_str() {
        "python" | "python3" | "py" => ("python", "main.py", vec!["python3".into(), "main.py".into()]),
        "javascript" | "js" | "node" => ("javascript", "main.js", vec!["node".into(), "main.js".into()]),
        "shell" | "sh" => ("shell", "main.sh", vec!["sh".into(), "main.sh".into()]),
        "bash" => ("bash", "main.sh", vec!["bash".into(), "main.sh".into()]),
        "rust" | "rs" => {
            let cargo = codecontext_sandbox::toolchain_dir("CARGO_HOME", ".cargo");
            let rustup = codecontext_sandbox::toolchain_dir("RUSTUP_HOME", ".rustup");
            // Of Cargo's home only `bin` (rustup's proxies): the rest may hold
            // credentials.
            if let Some(cargo) = &cargo {
                spec.readonly.push(cargo.join("bin"));
                spec.path.push(cargo.join("bin"));
                spec.env.push(("CARGO_HOME".into(), cargo.display().to_string()));
            }
            if let Some(rustup) = &rustup {
                spec.readonly.push(rustup.clone());
                spec.env.push(("RUSTUP_HOME".into(), rustup.display().to_string()));
            }
            (
                "rust",
                "main.rs",
                vec![
                    "sh".into(),
                    "-c".into(),
                    "rustc --edition 2021 -o /tmp/main main.rs && exec /tmp/main \"$@\"".into(),
                    "main".into(),
                ],
            )
        }
        other => {
            return Err(invalid(format!(
                "codecontext.execute: unknown language `{other}` (python, javascript, rust, shell, bash)"
            )))
        }
    };
    argv.extend(params.args);
    spec.argv = argv;
    spec.files = vec![(file.to_string(), params.code.into_bytes())];
    spec.stdin = params.stdin.unwrap_or_default().into_bytes();
    if let Some(ms) = params.timeout_ms {
        if ms == 0 || ms > MAX_TIMEOUT_MS {
            return Err(invalid(format!(
                "codecontext.execute: timeoutMs must be 1..={MAX_TIMEOUT_MS}"
            )));
        }
        spec.limits.timeout_ms = ms;
        spec.limits.cpu_ms = ms;
    }
    Ok((language, spec))
}

/// Runs a snippet; `params` is the request's JSON.
pub(crate) async fn execute(shared: &Shared, client: &Client, params: Value) -> Result<Value> {
    let params: ExecuteParams =
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.execute: {e}")))?;
    let progress = shared.session().progress;
    let code = params.code.clone();
    let started = history::now_ms();
    let (language, spec) = spec_for(params)?;
    super::team::admit_execution(shared).await?;
    let root = shared
        .read()
        .roots()
        .next()
        .map(std::path::Path::to_path_buf);
    let sandbox = sandbox_for(root.as_deref(), language).map_err(|message| Error {
        code: ErrorCode::InternalError,
        message: format!("codecontext.execute: {message}").into(),
        data: None,
    })?;
    let token = if progress {
        begin_progress(client, "execute", &format!("Running {language}"), true).await
    } else {
        None
    };
    let outcome = sandbox.run(spec).await;
    info!(
        "execute {language}: {:?} in {} ms",
        outcome.status, outcome.wall_ms
    );
    if let Some(token) = token {
        end_progress(client, token, format!("{:?}", outcome.status)).await;
    }
    let mut answer =
        serde_json::to_value(ExecuteResult { language, outcome }).map_err(|e| Error {
            code: ErrorCode::InternalError,
            message: e.to_string().into(),
            data: None,
        })?;
    // Recorded in the first folder's store: a snippet belongs to no file.
    let root = shared.read().roots().next().map(Path::to_path_buf);
    if let Some(root) = root {
        let run = RunRecord {
            id: 0,
            at_ms: started,
            kind: RunKind::Execute,
            status: answer["status"].as_str().unwrap_or("").to_string(),
            edit_hash: Some(format!(
                "{:016x}",
                codecontext_store::content_hash(code.as_bytes())
            )),
            diff: None,
            symbols: Vec::new(),
            files: Vec::new(),
            wall_ms: answer["wallMs"].as_u64().unwrap_or(0),
            cpu_ms: answer["cpuMs"].as_u64().unwrap_or(0),
            peak_memory_bytes: answer["peakMemoryBytes"].as_u64().unwrap_or(0),
            passed: 0,
            failed: 0,
            detail: serde_json::json!({
                "language": language,
                "code": history::capped(&code),
                "result": answer.clone(),
            }),
        };
        if let Some(id) = history::record(shared, &root, run).await {
            answer["runId"] = id.into();
        }
    }
    Ok(answer)
}

/// Starts a work-done progress named `codecontext/{kind}/{n}`; `None` when the client
/// refuses it.
pub(crate) async fn begin_progress(
    client: &Client,
    kind: &str,
    title: &str,
    cancellable: bool,
) -> Option<NumberOrString> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let token = NumberOrString::String(format!("codecontext/{kind}/{n}"));
    if let Err(e) = client
        .send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
            token: token.clone(),
        })
        .await
    {
        warn!("work done progress refused: {e}");
        return None;
    }
    client
        .send_notification::<Progress>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: title.into(),
                cancellable: Some(cancellable),
                message: None,
                percentage: None,
            })),
        })
        .await;
    Some(token)
}

pub(crate) async fn end_progress(client: &Client, token: NumberOrString, message: String) {
    client
        .send_notification::<Progress>(ProgressParams {
            token,
            value: ProgressParamsValue::WorkDone(WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(message),
            })),
        })
        .await;
}
