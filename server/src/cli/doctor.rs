//! `codecontext doctor`: every configured team backend (PostgreSQL, Bolt, Redis,
//! InfluxDB) and the Docker daemon when it is the sandbox: state, version, latency.

use std::{io::Write, path::Path, process::ExitCode};

use anyhow::Result;
use serde_json::json;

use super::DoctorArgs;

pub(super) fn doctor(args: DoctorArgs, out: &mut dyn Write) -> Result<ExitCode> {
    use codecontext_team::doctor::State;
    let root = match args.path {
        Some(path) => path,
        None => std::env::current_dir()?,
    };
    let config = codecontext_config::load(Some(&root), None)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut checks = runtime.block_on(codecontext_team::doctor::check_all(&config));
    checks.push(runtime.block_on(docker_check(&root)));
    let down = checks.iter().any(|c| matches!(c.state, State::Down(_)));
    let store = codecontext_config::store_home();
    if args.json {
        let backends: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                let (state, error) = match &c.state {
                    State::Ok => ("ok", None),
                    State::Down(why) => ("down", Some(why.clone())),
                    State::NotConfigured => ("not_configured", None),
                };
                json!({
                    "backend": c.backend,
                    "target": c.target,
                    "state": state,
                    "error": error,
                    "latencyMs": c.latency.map(|l| l.as_secs_f64() * 1000.0),
                    "version": c.detail,
                })
            })
            .collect();
        let answer = json!({"embeddedStore": store.display().to_string(), "backends": backends});
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        writeln!(out, "{:<15} ok       {}", "embedded store", store.display())?;
        for c in &checks {
            match &c.state {
                State::Ok => writeln!(
                    out,
                    "{:<15} ok       {}  {:.1} ms  {}",
                    c.backend,
                    c.target,
                    c.latency.unwrap_or_default().as_secs_f64() * 1000.0,
                    c.detail.as_deref().unwrap_or("")
                )?,
                State::Down(why) => {
                    writeln!(out, "{:<15} DOWN     {}: {why}", c.backend, c.target)?
                }
                State::NotConfigured if c.backend == "docker" => writeln!(
                    out,
                    "{:<15} -        not chosen (the local sandbox runs)",
                    c.backend
                )?,
                State::NotConfigured => writeln!(
                    out,
                    "{:<15} -        not configured (the embedded store serves)",
                    c.backend
                )?,
            }
        }
    }
    Ok(if down {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The Docker daemon, when the Docker sandbox is chosen (`CODECONTEXT_SANDBOX=docker`,
/// or `sandbox = "docker"` in `codecontext.toml`): its version, the API version
/// negotiated, and its images, of which every image configured must be one.
async fn docker_check(root: &Path) -> codecontext_team::doctor::Check {
    use codecontext_team::doctor::{Check, State};
    let config = match codecontext_config::load_sandbox(Some(root)) {
        Ok(config) => config,
        Err(e) => {
            return Check {
                backend: "docker",
                target: String::new(),
                state: State::Down(e.to_string()),
                latency: None,
                detail: None,
            }
        }
    };
    let target = codecontext_config::docker_host();
    if config.kind != codecontext_config::SandboxKind::Docker {
        return Check {
            backend: "docker",
            target: String::new(),
            state: State::NotConfigured,
            latency: None,
            detail: None,
        };
    }
    let started = std::time::Instant::now();
    let report = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        codecontext_sandbox::daemon_report(),
    )
    .await;
    let (state, detail) = match report {
        Ok(Ok(report)) => {
            let present = |image: &str| {
                report
                    .images
                    .iter()
                    .any(|i| i == image || *i == format!("{image}:latest"))
            };
            let mut missing: Vec<&String> = config
                .default_image
                .iter()
                .chain(&config.image)
                .chain(config.images.values())
                .filter(|image| !present(image))
                .collect();
            if let Some(runtime) = config
                .docker_runtime
                .as_ref()
                .filter(|r| !report.runtimes.contains(r))
            {
                missing.push(runtime);
            }
            let runtime = config
                .docker_runtime
                .as_deref()
                .map_or(String::new(), |r| format!(", runtime {r}"));
            let detail = format!(
                "Docker {}, API {}{runtime}, images: {}",
                report.version,
                report.api_version,
                if report.images.is_empty() {
                    "none".to_string()
                } else {
                    report.images.join(", ")
                }
            );
            if !missing.is_empty() {
                let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                (
                    State::Down(format!(
                        "configured but not there: {}; {detail} (runtimes: {})",
                        missing.join(", "),
                        report.runtimes.join(", ")
                    )),
                    None,
                )
            } else {
                (State::Ok, Some(detail))
            }
        }
        Ok(Err(e)) => (State::Down(e.to_string()), None),
        Err(_) => (State::Down("no answer within 5 s".into()), None),
    };
    Check {
        backend: "docker",
        target,
        latency: matches!(state, State::Ok).then(|| started.elapsed()),
        state,
        detail,
    }
}
