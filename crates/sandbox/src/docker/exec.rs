//! The command of a Docker run: exec'd in its container with the sandbox's minimal
//! environment, fed its stdin, its output read up to the cap within the wall-clock
//! time-out, and how it ended (exit code, signal, [`Status`]).

use std::{path::Path, time::Duration};

use bollard::{container::LogOutput, exec::StartExecResults, models::ExecConfig, Docker};
use futures_util::StreamExt;
use nix::sys::signal::Signal;
use tokio::io::AsyncWriteExt;

use super::{counters::Counters, docker_error};
use crate::{Capture, RunSpec, SandboxError, Status};

/// How the command ended, as seen from outside its container.
pub(super) struct Ended {
    pub(super) out: Capture,
    pub(super) err: Capture,
    /// The wall-clock time-out ended it.
    pub(super) timed_out: bool,
    /// The exec's exit code; `None` when the run was ended from outside.
    pub(super) exit_code: Option<i32>,
    /// What the watch saw while the run went on (see [`watch`]).
    pub(super) seen: Option<Seen>,
}

/// What watching a run from outside saw: for runtimes that do not enforce a CPU time
/// limit themselves and end with their whole sandbox at a memory or process limit
/// (gVisor's runsc: the host's cgroups hold its kernel, not the run's processes).
#[derive(Default, Debug)]
pub(super) struct Seen {
    /// The cgroup counters, last read while the container lived.
    pub(super) counters: Counters,
    /// The watch ended the run at its CPU time limit.
    pub(super) cpu_limited: bool,
    /// The container stopped under the run (its sandbox died).
    pub(super) died: bool,
    /// Docker says the OOM killer ended it.
    pub(super) oom_killed: bool,
    /// The container's exit code when it died.
    pub(super) exit_code: Option<i64>,
}

impl Seen {
    /// The sandbox's kernel died for want of a thread: gVisor's (a Go program, which
    /// exits with status 2 on a fatal error) at the container's process limit, since
    /// the container's own command only sleeps.
    pub(super) fn died_at_the_process_limit(&self) -> bool {
        self.died && !self.oom_killed && self.exit_code == Some(2)
    }
}

impl Ended {
    /// Output went past the cap (which ended the run).
    pub(super) fn over(&self) -> bool {
        self.out.over() || self.err.over()
    }

    /// Killed by a signal: the exit code is 128 plus the signal's number.
    pub(super) fn signal(&self) -> Option<i32> {
        self.exit_code
            .filter(|c| (129..=128 + 64).contains(c))
            .map(|c| c - 128)
    }

    /// The run's status, given the container's counters (`SIGXCPU`: past the CPU time
    /// limit, a time-out as in the local sandbox).
    pub(super) fn status(&self, counters: &Counters) -> Status {
        if self.over() {
            Status::OutputLimit
        } else if self.timed_out
            || self.signal() == Some(Signal::SIGXCPU as i32)
            || self.seen.as_ref().is_some_and(|s| s.cpu_limited)
        {
            Status::TimedOut
        } else if counters.oom_kills > 0 {
            Status::MemoryLimit
        } else if self.exit_code == Some(0) {
            Status::Ok
        } else {
            Status::Error
        }
    }
}

/// The environment inside: a `PATH` of the run's folders then the system's, the work
/// folder as `HOME`, and the run's variables over these.
fn environment(spec: &RunSpec, work: &str) -> Vec<(String, String)> {
    let mut path: Vec<String> = spec.path.iter().map(|p| p.display().to_string()).collect();
    path.extend(
        [
            "/usr/local/sbin",
            "/usr/local/bin",
            "/usr/sbin",
            "/usr/bin",
            "/sbin",
            "/bin",
        ]
        .map(String::from),
    );
    let mut env = vec![
        ("PATH".to_string(), path.join(":")),
        ("HOME".to_string(), work.to_string()),
        ("TMPDIR".to_string(), "/tmp".to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("TERM".to_string(), "dumb".to_string()),
    ];
    for (k, v) in &spec.env {
        env.retain(|(key, _)| key != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Watches a run in container `id` from this host: its cgroup counters every 100 ms,
/// until its CPU time passes `cpu_ms` or the container stops.
async fn watch(docker: &Docker, id: &str, cpu_ms: u64) -> Seen {
    let mut seen = Seen::default();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    loop {
        every.tick().await;
        if look(docker, id, &mut seen).await {
            return seen;
        }
        if seen.counters.cpu_ms >= cpu_ms {
            seen.cpu_limited = true;
            return seen;
        }
    }
}

/// Reads the container's counters into `seen` and whether it still runs; true when it
/// has stopped.
async fn look(docker: &Docker, id: &str, seen: &mut Seen) -> bool {
    if let Some(counters) = super::counters::read_on_host(id) {
        seen.counters = counters;
    }
    let state = docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()
        .and_then(|c| c.state);
    match state.filter(|s| s.running != Some(true)) {
        Some(state) => {
            seen.died = true;
            seen.oom_killed = state.oom_killed == Some(true);
            seen.exit_code = state.exit_code;
            true
        }
        None => false,
    }
}

/// Runs the command of `spec` in container `id`, within its time-out and output cap,
/// watched from outside (see [`watch`]) when `watched`. Past either, the run is left
/// unfinished: removing the container ends it.
pub(super) async fn run_command(
    docker: &Docker,
    id: &str,
    spec: &RunSpec,
    work_dir: &Path,
    watched: bool,
) -> Result<Ended, SandboxError> {
    let limits = &spec.limits;
    let env = environment(spec, &work_dir.display().to_string());
    let exec = docker
        .create_exec(
            id,
            ExecConfig {
                attach_stdin: Some(!spec.stdin.is_empty()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                env: Some(env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
                cmd: Some(spec.argv.clone()),
                working_dir: Some(
                    work_dir
                        .join(spec.cwd.trim_start_matches('/'))
                        .display()
                        .to_string(),
                ),
                ..ExecConfig::default()
            },
        )
        .await
        .map_err(docker_error("create exec"))?
        .id;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = docker
        .start_exec(&exec, None)
        .await
        .map_err(docker_error("start exec"))?
    else {
        return Err(SandboxError::ExecDetached);
    };
    let stdin = spec.stdin.clone();
    let feed = async move {
        if !stdin.is_empty() {
            // A command that does not read its input is not an error.
            let _ = input.write_all(&stdin).await;
            let _ = input.shutdown().await;
        }
    };
    let cap = limits.output_bytes;
    let (mut out, mut err) = (Capture::new(cap), Capture::new(cap));
    let read = async {
        while let Some(Ok(chunk)) = output.next().await {
            let over = match chunk {
                LogOutput::StdOut { message } => out.push(&message),
                LogOutput::StdErr { message } => err.push(&message),
                _ => false,
            };
            if over {
                return;
            }
        }
    };
    let timeout = Duration::from_millis(limits.timeout_ms);
    let mut seen = None;
    let ran = async {
        let io = async { tokio::join!(feed, read) };
        if watched {
            tokio::select! {
                _ = io => {}
                s = watch(docker, id, limits.cpu_ms) => seen = Some(s),
            }
        } else {
            io.await;
        }
    };
    let timed_out = tokio::time::timeout(timeout, ran).await.is_err();
    if watched && !timed_out {
        match &mut seen {
            Some(s) if s.cpu_limited => {
                let _ = docker
                    .kill_container(id, None::<bollard::query_parameters::KillContainerOptions>)
                    .await;
            }
            Some(_) => {}
            // The command ended: whether its sandbox died under it.
            None => {
                let mut s = Seen::default();
                look(docker, id, &mut s).await;
                seen = Some(s);
            }
        }
    }
    let ended_outside = seen
        .as_ref()
        .is_some_and(|s: &Seen| s.cpu_limited || s.died);
    let exit_code = if timed_out || ended_outside || out.over() || err.over() {
        None
    } else {
        docker
            .inspect_exec(&exec)
            .await
            .ok()
            .and_then(|i| i.exit_code)
            .map(|c| c as i32)
    };
    Ok(Ended {
        out,
        err,
        timed_out,
        exit_code,
        seen,
    })
}
