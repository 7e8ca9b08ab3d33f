//! Running a snippet in the sandbox: a request is turned into a [`RunSpec`] per language
//! (the snippet becomes a file in the sandbox's `/work`; Rust is compiled there first),
//! run by the folder's [`Sandbox`], recorded in the run history, and answered with the
//! [`RunOutcome`]. Dropping the future drops the run, which kills the sandbox.
//!
//! The sandboxes belong to the workspace: the local one, made on first use, and one
//! Docker sandbox (with its warm pool) per image.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Duration,
};

use codecontext_sandbox::{
    DockerConfig, DockerSandbox, LocalSandbox, RunOutcome, RunSpec, Sandbox,
};
use codecontext_store::{RunKind, RunRecord};
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::{history, Result, Workspace, WorkspaceError};

/// Runs at once in the local sandbox; more wait their turn.
const CONCURRENCY: usize = 4;

/// What to run.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExecuteRequest {
    /// `python`, `javascript`, `rust`, `shell` or `bash` (and the usual short names).
    pub language: String,
    pub code: String,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    /// 1 to 120,000; the default is the sandbox's.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
}

/// The answer: the run's outcome, the language it ran as, and its id in the run
/// history (when it was recorded).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteAnswer {
    pub language: &'static str,
    #[serde(flatten)]
    pub outcome: RunOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
}

/// The most a request may ask for.
const MAX_TIMEOUT_MS: u64 = 120_000;

fn invalid(message: String) -> WorkspaceError {
    WorkspaceError::Invalid(message)
}

/// The workspace's sandboxes.
#[derive(Default)]
pub(crate) struct Sandboxes {
    local: OnceLock<std::result::Result<Arc<dyn Sandbox>, String>>,
    /// One Docker sandbox, and warm pool, per image.
    docker: Mutex<HashMap<String, Arc<dyn Sandbox>>>,
}

impl Sandboxes {
    /// The sandbox for a run in a workspace folder, in a language: Docker when the
    /// environment, the folder's `codecontext.toml` or the user's file says so (with the
    /// image for the language, else the project's, else `CODECONTEXT_DOCKER_IMAGE`), else
    /// the local one.
    fn sandbox_for(
        &self,
        root: Option<&Path>,
        language: &str,
    ) -> std::result::Result<Arc<dyn Sandbox>, String> {
        let config = codecontext_config::load_sandbox(root).map_err(|e| e.to_string())?;
        if config.kind == codecontext_config::SandboxKind::Local {
            return self.local(&config);
        }
        let image = config.image_for(language).ok_or_else(|| {
            "the Docker sandbox needs an image: CODECONTEXT_DOCKER_IMAGE, or `image` under \
             [docker] in codecontext.toml"
                .to_string()
        })?;
        // One pool per image and runtime.
        let key = match &config.docker_runtime {
            Some(runtime) => format!("{image} ({runtime})"),
            None => image.to_string(),
        };
        let mut pools = self.docker.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sandbox) = pools.get(&key) {
            return Ok(sandbox.clone());
        }
        // Containers from a warm pool; the daemon is first asked at the first run.
        let mut docker = DockerConfig::new(image);
        if let Some(n) = config.docker_pool {
            docker.pool_size = n;
        }
        if let Some(secs) = config.docker_idle_secs {
            docker.idle_timeout = Duration::from_secs(secs);
        }
        docker.runtime = config.docker_runtime.clone();
        let sandbox: Arc<dyn Sandbox> =
            Arc::new(DockerSandbox::new(docker).map_err(|e| e.to_string())?);
        pools.insert(key, sandbox.clone());
        Ok(sandbox)
    }

    /// The local sandbox, made once.
    fn local(
        &self,
        config: &codecontext_config::SandboxConfig,
    ) -> std::result::Result<Arc<dyn Sandbox>, String> {
        self.local
            .get_or_init(|| {
                // The small helper beside this binary, else this binary, unless told
                // otherwise (packaging).
                let helper = config
                    .helper
                    .clone()
                    .or_else(LocalSandbox::default_helper)
                    .ok_or_else(|| "cannot find the sandbox helper binary".to_string())?;
                let sandbox = LocalSandbox::new(helper, CONCURRENCY).map_err(|e| e.to_string())?;
                Ok(Arc::new(sandbox) as Arc<dyn Sandbox>)
            })
            .clone()
    }
}

impl Workspace {
    /// The sandbox for a run in `root` (or no folder), in a language.
    pub fn sandbox_for(&self, root: Option<&Path>, language: &str) -> Result<Arc<dyn Sandbox>> {
        self.sandboxes
            .sandbox_for(root, language)
            .map_err(WorkspaceError::Internal)
    }
}

/// The run for a snippet.
fn spec_for(params: ExecuteRequest) -> Result<(&'static str, RunSpec)> {
    let mut spec = RunSpec::default();
    let language = params.language.to_ascii_lowercase();
    let (language, file, mut argv): (&'static str, &str, Vec<String>) = match language.as_str() {
        "python" | "python3" | "py" => ("python", "main.py", vec!["python3".into(), "main.py".into()]),
        "javascript" | "js" | "node" => ("javascript", "main.js", vec!["node".into(), "main.js".into()]),
        "shell" | "sh" => ("shell", "main.sh", vec!["sh".into(), "main.sh".into()]),
        "bash" => ("bash", "main.sh", vec!["bash".into(), "main.sh".into()]),
        "rust" | "rs" => {
            let cargo = codecontext_config::toolchain_dir("CARGO_HOME", ".cargo");
            let rustup = codecontext_config::toolchain_dir("RUSTUP_HOME", ".rustup");
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

impl Workspace {
    /// Runs a snippet in the sandbox of the first folder (a snippet belongs to no file),
    /// and records it in that folder's run history. `progress` says whether the user
    /// sees it as work under way.
    pub async fn execute(&self, request: ExecuteRequest, progress: bool) -> Result<ExecuteAnswer> {
        let code = request.code.clone();
        let started = history::now_ms();
        let (language, spec) = spec_for(request)?;
        self.admit_execution().await?;
        let root = self.roots().into_iter().next();
        let sandbox = self
            .sandboxes
            .sandbox_for(root.as_deref(), language)
            .map_err(|message| {
                WorkspaceError::internal(format!("codecontext.execute: {message}"))
            })?;
        let work = if progress {
            Some(
                self.begin_progress("execute", &format!("Running {language}"), None, true)
                    .await,
            )
        } else {
            None
        };
        let outcome = sandbox.run(spec).await;
        info!(
            "execute {language}: {:?} in {} ms",
            outcome.status, outcome.wall_ms
        );
        if let Some(work) = work {
            work.end(format!("{:?}", outcome.status)).await;
        }
        let mut answer = ExecuteAnswer {
            language,
            outcome,
            run_id: None,
        };
        if let Some(root) = root {
            let result = serde_json::to_value(&answer).unwrap_or_default();
            let run = RunRecord {
                id: 0,
                at_ms: started,
                kind: RunKind::Execute,
                status: result["status"].as_str().unwrap_or("").to_string(),
                edit_hash: Some(format!(
                    "{:016x}",
                    codecontext_store::content_hash(code.as_bytes())
                )),
                diff: None,
                symbols: Vec::new(),
                files: Vec::new(),
                wall_ms: answer.outcome.wall_ms,
                cpu_ms: answer.outcome.cpu_ms,
                peak_memory_bytes: answer.outcome.peak_memory_bytes,
                passed: 0,
                failed: 0,
                detail: serde_json::json!({
                    "language": language,
                    "code": history::capped(&code),
                    "result": result,
                }),
            };
            answer.run_id = self.record_run(&root, run).await;
        }
        Ok(answer)
    }
}
