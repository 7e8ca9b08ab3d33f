//! [`LocalSandbox`]: the Linux sandbox, from namespaces, cgroups and an overlay.
//!
//! Per run: a scratch folder (the overlay's upper layer, the new root's mount point,
//! the helper's spec and result), cgroups for memory and processes where the cgroup
//! tree is writable, and the helper process ([`crate::helper_main`]) that builds the
//! sandbox. This side feeds stdin, reads stdout and stderr up to the cap, enforces the
//! wall-clock timeout by killing the helper (which takes the sandbox's PID namespace
//! with it), and reads back the helper's result and the cgroups' counters.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use nix::sys::signal::Signal;
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::Command,
    sync::Semaphore,
};
use tracing::{debug, warn};

use crate::{
    init::{HelperResult, HelperSpec},
    BoxFuture, Capture, Enforcement, RunOutcome, RunSpec, Sandbox, SandboxError, Status, WORK_DIR,
};

/// The first argument that makes a binary run [`crate::helper_main`].
pub const HELPER_ARG: &str = "__codecontext-sandbox-helper";

/// The name of the helper binary of this crate.
pub const HELPER_BINARY: &str = "codecontext-sandbox-helper";

/// Where cgroup (v1) controllers are mounted; a v2-only tree falls back to rlimits.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

static RUNS: AtomicU64 = AtomicU64::new(0);

/// The local sandbox. Runs beyond `concurrency` wait for a free slot.
pub struct LocalSandbox {
    helper: PathBuf,
    permits: Arc<Semaphore>,
    /// Where runs make their scratch folders (see [`scratch_parent`]).
    scratch: PathBuf,
}

impl LocalSandbox {
    /// A sandbox whose helper is `helper` run with [`HELPER_ARG`] (the server's own
    /// binary, or any binary calling [`crate::helper_main`] for that argument). Fails
    /// with a message naming the Docker sandbox where Linux namespaces are missing.
    pub fn new(helper: PathBuf, concurrency: usize) -> Result<LocalSandbox, SandboxError> {
        check_platform()?;
        remove_orphan_cgroups();
        let scratch = scratch_parent();
        remove_orphan_scratch(&scratch);
        Ok(LocalSandbox {
            helper,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            scratch,
        })
    }

    /// The helper to use for a program: the small `codecontext-sandbox-helper` binary
    /// beside it when there is one (it starts faster than a large program), else the
    /// program itself, which must then call [`crate::helper_main`] for [`HELPER_ARG`].
    pub fn default_helper() -> Option<PathBuf> {
        let exe = std::env::current_exe().ok()?;
        let beside = exe.with_file_name(HELPER_BINARY);
        Some(if beside.is_file() { beside } else { exe })
    }

    async fn run_inner(&self, spec: RunSpec) -> RunOutcome {
        let started = Instant::now();
        let _permit = self.permits.acquire().await;
        match self.run_in_scratch(spec, started).await {
            Ok(outcome) => outcome,
            Err(e) => failed(format!("{e}"), started),
        }
    }

    async fn run_in_scratch(
        &self,
        spec: RunSpec,
        started: Instant,
    ) -> Result<RunOutcome, SandboxError> {
        let scratch = Scratch(
            tempfile::Builder::new()
                .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
                .tempdir_in(&self.scratch)?
                .keep(),
        );
        let dir = scratch.0.as_path();
        let (upper, overlay_work, root) = (dir.join("upper"), dir.join("work"), dir.join("root"));
        for d in [&upper, &overlay_work, &root] {
            std::fs::create_dir_all(d)?;
        }
        let mut overlays = Vec::new();
        for (i, lower) in spec.overlays.iter().enumerate() {
            let (upper, work) = (
                dir.join(format!("upper-{i}")),
                dir.join(format!("work-{i}")),
            );
            std::fs::create_dir_all(&upper)?;
            std::fs::create_dir_all(&work)?;
            overlays.push((lower.clone(), upper, work));
        }
        for (rel, bytes) in &spec.files {
            // Only plain relative paths: `..` would write outside the scratch folder.
            let relative = Path::new(rel.trim_start_matches('/'));
            if !relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
            {
                return Err(SandboxError::NotRelative(rel.clone()));
            }
            let path = upper.join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)?;
        }
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let cgroups = Cgroups::create(&format!("{}-{n}", std::process::id()), &spec.limits);
        let enforcement = if cgroups.memory.is_some() && cgroups.pids.is_some() {
            Enforcement::Cgroups
        } else {
            Enforcement::Rlimits
        };
        let mut path: Vec<String> = spec.path.iter().map(|p| p.display().to_string()).collect();
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(String::from));
        let work_dir = spec
            .mount_at
            .clone()
            .unwrap_or_else(|| PathBuf::from(WORK_DIR));
        let mut env = vec![
            ("PATH".to_string(), path.join(":")),
            ("HOME".to_string(), work_dir.display().to_string()),
            ("TMPDIR".to_string(), "/tmp".to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("TERM".to_string(), "dumb".to_string()),
        ];
        for (k, v) in &spec.env {
            env.retain(|(key, _)| key != k);
            env.push((k.clone(), v.clone()));
        }
        let result_path = dir.join("result.json");
        let helper_spec = HelperSpec {
            argv: spec.argv.clone(),
            env,
            cwd: work_dir
                .join(spec.cwd.trim_start_matches('/'))
                .display()
                .to_string(),
            lower: spec.workspace.clone(),
            work: work_dir.clone(),
            upper,
            overlay_work,
            root,
            readonly: spec.readonly.clone(),
            writable: spec.writable.clone(),
            overlays,
            network: spec.network,
            limits: spec.limits.clone(),
            cgroups: cgroups.dirs(),
            rlimit_memory: cgroups.memory.is_none(),
            result: result_path.clone(),
        };
        let spec_path = dir.join("spec.json");
        std::fs::write(
            &spec_path,
            serde_json::to_vec(&helper_spec).map_err(std::io::Error::other)?,
        )?;

        let mut child = Command::new(&self.helper)
            .arg(HELPER_ARG)
            .arg(&spec_path)
            .env_clear()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let mut stdin = child.stdin.take();
        let input = spec.stdin.clone();
        let feed = async move {
            if let Some(stdin) = stdin.as_mut() {
                // A command that does not read its input is not an error.
                let _ = stdin.write_all(&input).await;
            }
            drop(stdin);
        };
        let cap = spec.limits.output_bytes;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let timeout = Duration::from_millis(spec.limits.timeout_ms);
        let (mut out, mut err) = (Capture::new(cap), Capture::new(cap));
        // Past the cap, the run is ended rather than drained: killing the helper takes
        // the sandbox with it, which closes the other stream too.
        let helper = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
        let end = || {
            if let Some(pid) = helper {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
        };
        let outcome = tokio::time::timeout(timeout, async {
            tokio::join!(
                feed,
                read_capped(stdout, &mut out, &end),
                read_capped(stderr, &mut err, &end)
            );
            child.wait().await
        })
        .await;
        let timed_out = outcome.is_err();
        if timed_out {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let wall_ms = started.elapsed().as_millis() as u64;
        let result: HelperResult = match std::fs::read(&result_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
            Err(_) if timed_out || out.over() || err.over() => HelperResult::default(),
            Err(e) => {
                return Ok(failed(
                    format!(
                        "the sandbox helper ended without a result ({e}); stderr: {}",
                        err.text()
                    ),
                    started,
                ))
            }
        };
        let counters = cgroups.counters();
        drop(cgroups);
        let status = if let Some(error) = &result.error {
            return Ok(RunOutcome {
                message: Some(error.clone()),
                ..failed(String::new(), started)
            });
        } else if out.over() || err.over() {
            Status::OutputLimit
        } else if timed_out || result.signal == Some(Signal::SIGXCPU as i32) {
            Status::TimedOut
        } else if counters.oom_kills > 0
            || (enforcement == Enforcement::Rlimits && err.text().contains("MemoryError"))
        {
            Status::MemoryLimit
        } else if result.exit_code == Some(0) {
            Status::Ok
        } else {
            Status::Error
        };
        let message = (!result.notes.is_empty()).then(|| result.notes.join("; "));
        // What the run wrote to /work is in the overlay's upper layer.
        let collected = spec
            .collect
            .iter()
            .filter_map(|rel| {
                let path = helper_spec.upper.join(rel.trim_start_matches('/'));
                let bytes = std::fs::read(path).ok()?;
                (bytes.len() <= spec.limits.output_bytes).then(|| (rel.clone(), bytes))
            })
            .collect();
        debug!("sandbox run {n}: {status:?} in {wall_ms} ms");
        Ok(RunOutcome {
            status,
            exit_code: result.exit_code,
            signal: result.signal,
            stdout_truncated: out.over(),
            stderr_truncated: err.over(),
            stdout: out.text(),
            stderr: err.text(),
            wall_ms,
            cpu_ms: result.cpu_ms,
            peak_memory_bytes: counters.peak_memory.unwrap_or(result.max_rss_bytes),
            process_limit_hit: counters.pids_max_hits > 0,
            snapshot: result.snapshot,
            enforcement,
            message,
            collected,
        })
    }
}

impl Sandbox for LocalSandbox {
    fn run(&self, spec: RunSpec) -> BoxFuture<'_, RunOutcome> {
        Box::pin(self.run_inner(spec))
    }
}

fn failed(message: String, started: Instant) -> RunOutcome {
    RunOutcome::sandbox_error(message, started, Enforcement::Rlimits)
}

/// Does this system have what the local sandbox needs?
fn check_platform() -> Result<(), SandboxError> {
    if !cfg!(target_os = "linux") {
        return Err(SandboxError::Unsupported("not Linux".into()));
    }
    if !Path::new("/proc/self/ns/user").exists() {
        return Err(SandboxError::Unsupported("no user namespaces".into()));
    }
    let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default();
    if max.trim() == "0" {
        return Err(SandboxError::Unsupported(
            "user namespaces are disabled (user.max_user_namespaces = 0)".into(),
        ));
    }
    Ok(())
}

/// Reads a stream into `capture`, calling `over` once it passes the cap.
async fn read_capped<R: AsyncRead + Unpin>(
    stream: Option<R>,
    capture: &mut Capture,
    over: &(dyn Fn() + Sync),
) {
    let Some(mut stream) = stream else {
        return;
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if capture.push(&buf[..n]) {
                    over();
                    return;
                }
            }
        }
    }
}

/// The run's cgroups (v1 `memory` and `pids`), where the tree is writable.
struct Cgroups {
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
}

#[derive(Default)]
struct Counters {
    peak_memory: Option<u64>,
    oom_kills: u64,
    pids_max_hits: u64,
}

impl Cgroups {
    fn create(name: &str, limits: &crate::Limits) -> Cgroups {
        let make = |controller: &str, settings: &[(&str, String)]| -> Option<PathBuf> {
            let dir = Path::new(CGROUP_ROOT)
                .join(controller)
                .join("codecontext")
                .join(name);
            std::fs::create_dir_all(&dir).ok()?;
            for (file, value) in settings {
                if let Err(e) = std::fs::write(dir.join(file), value) {
                    // memsw exists only with swap accounting; the rest must work.
                    if !file.contains("memsw") {
                        warn!("cgroup {}: {file}: {e}", dir.display());
                        let _ = std::fs::remove_dir(&dir);
                        return None;
                    }
                }
            }
            Some(dir)
        };
        let memory = make(
            "memory",
            &[
                ("memory.limit_in_bytes", limits.memory_bytes.to_string()),
                (
                    "memory.memsw.limit_in_bytes",
                    limits.memory_bytes.to_string(),
                ),
            ],
        );
        let pids = make("pids", &[("pids.max", limits.processes.to_string())]);
        Cgroups { memory, pids }
    }

    fn dirs(&self) -> Vec<PathBuf> {
        self.memory.iter().chain(&self.pids).cloned().collect()
    }

    fn counters(&self) -> Counters {
        let read = |dir: &Option<PathBuf>, file: &str| {
            dir.as_ref()
                .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
        };
        let mut c = Counters {
            peak_memory: read(&self.memory, "memory.max_usage_in_bytes")
                .and_then(|s| s.trim().parse().ok()),
            ..Counters::default()
        };
        // Counter files are `key value` lines.
        let count = |text: Option<String>, key: &str| {
            text.and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
            })
            .unwrap_or(0)
        };
        c.oom_kills = count(read(&self.memory, "memory.oom_control"), "oom_kill");
        c.pids_max_hits = count(read(&self.pids, "pids.events"), "max");
        c
    }

    /// Kills whatever is left in the cgroups (processes that escaped the PID
    /// namespace's end cannot exist, but a helper killed mid-setup may leave one).
    fn kill_all(&self) {
        for dir in self.dirs() {
            if let Ok(procs) = std::fs::read_to_string(dir.join("cgroup.procs")) {
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
    }
}

/// A run dropped midway (its request cancelled) leaves nothing behind either. A
/// cgroup can only go once its last process is reaped, which for a killed run may take
/// a moment: a background thread retries.
impl Drop for Cgroups {
    fn drop(&mut self) {
        self.kill_all();
        let dirs: Vec<PathBuf> = self
            .dirs()
            .into_iter()
            .filter(|dir| std::fs::remove_dir(dir).is_err())
            .collect();
        if dirs.is_empty() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("codecontext-cgroup-cleanup".into())
            .spawn(move || {
                for _ in 0..500 {
                    if dirs
                        .iter()
                        .all(|d| std::fs::remove_dir(d).is_ok() || !d.exists())
                    {
                        return;
                    }
                    // Retrying a cleanup, not synchronising anything.
                    std::thread::sleep(Duration::from_millis(10));
                }
                warn!("cgroups {dirs:?} could not be removed");
            });
    }
}

/// The start of a scratch folder's name; the server's process id follows.
const SCRATCH_PREFIX: &str = "codecontext-sandbox-";

/// Where runs make their scratch folders, whose overlay upper layer takes all a run
/// writes (a build's artifacts): `CODECONTEXT_SANDBOX_SCRATCH` when set, else the
/// temporary folder. A RAM-backed folder (`/dev/shm`) makes builds faster (`cargo test`
/// after a one-line edit: 1.22x-1.29x its direct time from disk, 1.10x-1.11x from tmpfs,
/// `codecontext-bench verify fixtures/verify/rust`), but what a run writes there is
/// memory and counts against its memory limit: a large build may then stop at the limit,
/// so it is a choice, not the default.
pub fn scratch_parent() -> PathBuf {
    std::env::var_os("CODECONTEXT_SANDBOX_SCRATCH")
        .filter(|dir| !dir.is_empty())
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

/// Scratch folders of servers that died before they could remove them (in RAM, they
/// would hold it until the next boot).
fn remove_orphan_scratch(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix(SCRATCH_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
            remove_tree(&entry.path());
        }
    }
}

/// A run's scratch folder, removed when the run is over.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        remove_tree(&self.0);
    }
}

/// Removes a folder and all in it, though folders in it deny their owner access: the
/// overlay leaves its `work/work` folder with mode 000, which a server not running as
/// root cannot list until it gives itself the right.
fn remove_tree(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_ok() {
        return;
    }
    fn open_up(dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&entry.path());
            }
        }
    }
    open_up(dir);
    if let Err(e) = std::fs::remove_dir_all(dir) {
        tracing::warn!("scratch folder {} not removed: {e}", dir.display());
    }
}

/// Removes the cgroups of runs whose server is gone (crashed before cleaning up).
fn remove_orphan_cgroups() {
    for controller in ["memory", "pids"] {
        let parent = Path::new(CGROUP_ROOT).join(controller).join("codecontext");
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(owner) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
                continue;
            };
            if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dead server's scratch folder goes, even with a folder its owner cannot list
    /// (the overlay's `work/work`); a live one's and anything else stay.
    #[test]
    fn scratch_folders_of_dead_servers_are_removed() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dead = parent
            .path()
            .join(format!("{SCRATCH_PREFIX}{}-x1", u32::MAX - 1));
        std::fs::create_dir_all(dead.join("upper/target")).unwrap();
        std::fs::write(dead.join("upper/target/a.o"), b"built").unwrap();
        std::fs::create_dir_all(dead.join("work/work")).unwrap();
        std::fs::set_permissions(
            dead.join("work/work"),
            std::fs::Permissions::from_mode(0o000),
        )
        .unwrap();
        let live = parent.path().join(format!("{SCRATCH_PREFIX}1-x2"));
        let other = parent.path().join("someone-elses");
        std::fs::create_dir_all(&live).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        remove_orphan_scratch(parent.path());
        assert!(!dead.exists());
        assert!(live.exists() && other.exists());
    }
}
