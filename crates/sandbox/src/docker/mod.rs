//! [`DockerSandbox`]: runs in Docker containers through bollard, from a warm pool.
//!
//! A run takes an idle container of the pool for its work folder (or creates one when
//! the pool is empty), uploads the workspace snapshot and the run's files into that
//! folder (a tmpfs-backed volume: `docker cp` cannot reach a plain tmpfs mount, and the
//! root file system is read-only), execs the command, reads its output up to the cap,
//! and throws the container away: a container serves one run, so nothing leaks from
//! one run to the next. A replacement is started in the background.
//!
//! Containers run with no network (the host's, for a run that asks for the network, as
//! the local sandbox gives), the run's memory (swap included), CPU and process limits,
//! a read-only root, tmpfs scratch space, an unprivileged user, no capabilities and
//! `no-new-privileges`. Each is labelled with this process and host, so that a
//! later start removes what a crashed server left behind.
//!
//! How a run's end is read: the exit code from the exec; timeouts and output past the
//! cap end the run by removing its container; the container's cgroup counters say
//! whether the kernel's OOM killer struck, how much memory was used at most, and
//! whether the process limit was reached. They are read on this host when the daemon
//! is local, else by `head` in a second exec, else (no process can start, say) from the
//! stats API and the container's `OOMKilled`, which stays false when the OOM killer
//! strikes an exec'd process rather than the container's init (dockerd 20.10).
//!
//! This module holds the public types and a run from start to end; the parts are
//! [`container`] (making and removing one container), [`pool`] (the warm pool, its
//! idle timeout and orphan removal), [`archive`] (files into and out of a container),
//! [`exec`] (the command itself) and [`counters`] (the container's cgroup counters).

mod archive;
mod container;
mod counters;
mod exec;
mod pool;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use bollard::Docker;
use tokio::sync::{OnceCell, Semaphore};
use tracing::debug;

use crate::{
    BoxFuture, Enforcement, Limits, RunOutcome, RunSpec, Sandbox, SandboxError, SnapshotKind,
    WORK_DIR,
};

/// How the Docker sandbox makes its containers.
#[derive(Clone, Debug)]
pub struct DockerConfig {
    /// The image runs use; it must have the commands' interpreters on its `PATH`.
    pub image: String,
    /// Idle containers kept started per work folder.
    pub pool_size: usize,
    /// Runs at once; more wait.
    pub concurrency: usize,
    /// Idle containers unused this long are removed (and started again on demand).
    pub idle_timeout: Duration,
    /// The user commands run as, `uid:gid`.
    pub user: String,
    /// CPUs a container may use.
    pub cpus: f64,
    /// Size of the work folder's tmpfs (the workspace snapshot and what the run writes).
    pub work_bytes: u64,
    /// Size of `/tmp`.
    pub tmp_bytes: u64,
    /// Read the containers' cgroup counters on this host when they are there (the
    /// daemon is local), which saves an exec per run.
    pub host_cgroups: bool,
    /// The container runtime, one dockerd knows (`runsc`: gVisor); dockerd's default
    /// when `None`.
    pub runtime: Option<String>,
}

impl DockerConfig {
    fn is_gvisor(&self) -> bool {
        self.runtime.as_deref() == Some("runsc")
    }

    /// Whether the runtime changes a running container's memory and process limits
    /// (`docker update`); gVisor's runsc does not.
    pub fn updates_limits(&self) -> bool {
        !self.is_gvisor()
    }

    /// Whether the runtime's kernel enforces a run's limits on its processes (runc: the
    /// host's). gVisor's runsc has its own kernel, which does not enforce the CPU time
    /// rlimit, and the host's cgroups hold that kernel rather than the run's processes:
    /// its runs are watched from outside (CPU time, and a sandbox that died at its
    /// memory or process limit), and its process limit has room for gVisor's own
    /// threads ([`GVISOR_THREADS`]).
    pub fn enforces_limits(&self) -> bool {
        !self.is_gvisor()
    }
}

/// Host threads gVisor's kernel and file proxy use in a container, beyond the run's
/// processes.
pub const GVISOR_THREADS: u64 = 64;

impl DockerConfig {
    pub fn new(image: impl Into<String>) -> DockerConfig {
        DockerConfig {
            image: image.into(),
            pool_size: 2,
            concurrency: 4,
            idle_timeout: Duration::from_secs(300),
            user: "65534:65534".into(),
            cpus: 1.0,
            work_bytes: 512 << 20,
            tmp_bytes: 256 << 20,
            host_cgroups: true,
            runtime: None,
        }
    }
}

/// The Docker sandbox. Cheap to create: the daemon is first asked at the first run (or
/// [`DockerSandbox::ready`]), which negotiates the API version, removes orphans and
/// starts the pool for [`WORK_DIR`].
pub struct DockerSandbox {
    inner: Arc<Inner>,
}

/// What a sandbox and the background tasks of its pool share.
struct Inner {
    config: DockerConfig,
    /// The daemon, reached at the first run; or why it could not be (every run says so).
    docker: OnceCell<Result<Docker, Unavailable>>,
    /// Idle containers per work folder, oldest first.
    pools: Mutex<HashMap<String, pool::Pool>>,
    /// Shut down: no more pooled containers.
    closed: AtomicBool,
    /// Used containers being removed in the background.
    removing: AtomicUsize,
    /// Runs beyond `concurrency` wait for a free slot.
    permits: Semaphore,
    /// Orphans removed when the daemon was first reached.
    orphans: AtomicUsize,
}

/// Why the daemon could not be reached, kept for every later run
/// ([`SandboxError::DaemonUnavailable`], which is not `Clone`).
#[derive(Clone)]
struct Unavailable {
    context: &'static str,
    source: Arc<bollard::errors::Error>,
}

impl From<Unavailable> for SandboxError {
    fn from(e: Unavailable) -> SandboxError {
        SandboxError::DaemonUnavailable {
            context: e.context,
            source: e.source,
        }
    }
}

/// What the daemon said when asked.
#[derive(Clone, Debug)]
pub struct DaemonInfo {
    pub api_version: String,
    pub orphans_removed: usize,
}

impl DockerSandbox {
    /// A sandbox on the local daemon (`DOCKER_HOST`, else the default unix socket).
    pub fn new(config: DockerConfig) -> Result<DockerSandbox, SandboxError> {
        if config.image.is_empty() {
            return Err(SandboxError::NoImage);
        }
        let permits = Semaphore::new(config.concurrency.max(1));
        Ok(DockerSandbox {
            inner: Arc::new(Inner {
                config,
                docker: OnceCell::new(),
                pools: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                removing: AtomicUsize::new(0),
                permits,
                orphans: AtomicUsize::new(0),
            }),
        })
    }

    /// Connects now (as the first run would): the negotiated API version and how many
    /// orphaned containers were removed.
    pub async fn ready(&self) -> Result<DaemonInfo, SandboxError> {
        let docker = self.inner.docker().await?;
        let orphans = self.inner.orphans.load(Ordering::Relaxed);
        Ok(DaemonInfo {
            api_version: docker.client_version().to_string(),
            orphans_removed: orphans,
        })
    }

    /// The ids of the idle containers ready for runs in `work_dir`.
    pub fn idle_containers(&self, work_dir: &str) -> Vec<String> {
        self.inner.idle_ids(work_dir)
    }

    /// Waits until the pool for `work_dir` holds `pool_size` idle containers, up to
    /// `within`. Starts it if it is not started.
    pub async fn wait_warm(&self, work_dir: &str, within: Duration) -> bool {
        let Ok(docker) = self.inner.docker().await else {
            return false;
        };
        Inner::fill(&self.inner, &docker, work_dir);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.idle_containers(work_dir).len() >= self.inner.config.pool_size {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// Removes the idle containers, once the containers being started or removed in
    /// the background are done (a server's orderly exit; a crash leaves them to the next
    /// start's orphan removal).
    pub async fn shutdown(&self) {
        let Ok(docker) = self.inner.docker().await else {
            return;
        };
        self.inner.closed.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.inner.busy() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for id in self.inner.drain_idle() {
            container::remove(&docker, &id).await;
        }
    }
}

impl Drop for DockerSandbox {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let ids = self.inner.drain_idle();
        let Some(Ok(docker)) = self.inner.docker.get().cloned() else {
            return;
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for id in ids {
                    container::remove(&docker, &id).await;
                }
            });
        }
    }
}

impl Sandbox for DockerSandbox {
    fn run(&self, spec: RunSpec) -> BoxFuture<'_, RunOutcome> {
        Box::pin(async move {
            let started = Instant::now();
            match self.inner.run(spec, started).await {
                Ok(outcome) => outcome,
                Err(e) => failed(e.to_string(), started),
            }
        })
    }

    fn shows_host_programs(&self) -> bool {
        false
    }
}

impl Inner {
    /// The daemon, reached (the API version negotiated, orphans removed, the pool for
    /// [`WORK_DIR`] started) at the first call.
    async fn docker(self: &Arc<Self>) -> Result<Docker, SandboxError> {
        let this = self.clone();
        self.docker
            .get_or_init(|| async move {
                let docker = Docker::connect_with_local_defaults()
                    .map_err(unavailable("cannot reach the Docker daemon"))?
                    .negotiate_version()
                    .await
                    .map_err(unavailable("the Docker daemon does not answer"))?;
                let removed = pool::remove_orphans(&docker).await;
                this.orphans.store(removed, Ordering::Relaxed);
                Inner::fill(&this, &docker, WORK_DIR);
                tokio::spawn(pool::reap_idle(Arc::downgrade(&this), docker.clone()));
                Ok(docker)
            })
            .await
            .clone()
            .map_err(SandboxError::from)
    }

    async fn run(
        self: &Arc<Self>,
        spec: RunSpec,
        started: Instant,
    ) -> Result<RunOutcome, SandboxError> {
        let docker = self.docker().await?;
        let _permit = self.permits.acquire().await;
        let work_dir = spec
            .mount_at
            .clone()
            .unwrap_or_else(|| PathBuf::from(WORK_DIR));
        let work = work_dir.display().to_string();
        for (rel, _) in &spec.files {
            archive::plain_relative(rel)?;
        }
        // The snapshot is made while a container is found or started.
        let (workspace, files) = (spec.workspace.clone(), spec.files.clone());
        let snapshot = tokio::task::spawn_blocking(move || {
            archive::snapshot_archive(workspace.as_deref(), &files)
        });
        // Pooled containers have the default limits and no network. A run that needs
        // another CPU time limit or the network gets a container of its own, made with
        // its limits; so does one with other memory or process limits when the runtime
        // cannot change them on a running container (gVisor's runsc), where runc's
        // pooled containers are updated.
        let defaults = Limits::default();
        let same = |l: &Limits| {
            (l.memory_bytes, l.processes) == (defaults.memory_bytes, defaults.processes)
        };
        let poolable = spec.limits.cpu_ms == defaults.cpu_ms
            && !spec.network
            && (self.config.updates_limits() || same(&spec.limits));
        let pooled = poolable.then(|| self.take(&work)).flatten();
        let id = match pooled {
            Some(id) => {
                if let Err(e) = container::set_limits(&docker, &id, &spec.limits).await {
                    container::remove(&docker, &id).await;
                    return Err(e);
                }
                id
            }
            None => {
                container::create(&docker, &self.config, &work, &spec.limits, spec.network).await?
            }
        };
        // Whatever happens next, this container serves no other run.
        let _discard = pool::Discard::new(self.clone(), docker.clone(), id.clone());
        let outcome = self
            .run_in(&docker, &id, &spec, &work_dir, snapshot, started)
            .await;
        // The replacement starts once the run is over, not competing with it.
        Inner::fill(self, &docker, &work);
        debug!(
            "docker sandbox run in {}: {:?} in {} ms",
            &id[..12.min(id.len())],
            outcome.as_ref().map(|o| o.status),
            started.elapsed().as_millis()
        );
        outcome
    }

    /// One run in container `id` (its limits set): its files, the command, and what it left.
    async fn run_in(
        &self,
        docker: &Docker,
        id: &str,
        spec: &RunSpec,
        work_dir: &Path,
        snapshot: archive::PendingSnapshot,
        started: Instant,
    ) -> Result<RunOutcome, SandboxError> {
        let limits = &spec.limits;
        archive::upload(docker, id, work_dir, snapshot).await?;
        let watched = !self.config.enforces_limits();
        let ended = exec::run_command(docker, id, spec, work_dir, watched).await?;
        let mut counters = counters::read(docker, id, self.config.host_cgroups).await;
        if let Some(seen) = &ended.seen {
            counters = counters.max(&seen.counters);
            if seen.oom_killed {
                counters.oom_kills = counters.oom_kills.max(1);
            }
            if seen.died_at_the_process_limit() {
                counters.pids_max_hits = counters.pids_max_hits.max(1);
            }
        }
        let status = ended.status(&counters);
        let collected = if ended.timed_out || ended.over() || spec.collect.is_empty() {
            Vec::new()
        } else {
            archive::collect(docker, id, work_dir, &spec.collect, limits.output_bytes).await
        };
        let mut notes = Vec::new();
        if !spec.readonly.is_empty() || !spec.overlays.is_empty() {
            notes.push("host toolchain folders are not shown in Docker (the image provides them)");
        }
        if spec.network && self.config.is_gvisor() {
            notes.push("the network was asked for, but gVisor's runsc runs without one here (`--network=none` among its runtime arguments)");
        }
        Ok(RunOutcome {
            status,
            exit_code: ended.exit_code,
            signal: ended.signal(),
            stdout_truncated: ended.out.over(),
            stderr_truncated: ended.err.over(),
            stdout: ended.out.text(),
            stderr: ended.err.text(),
            wall_ms: started.elapsed().as_millis() as u64,
            cpu_ms: counters.cpu_ms,
            peak_memory_bytes: counters.peak_memory,
            process_limit_hit: counters.pids_max_hits > 0,
            snapshot: Some(SnapshotKind::Copy),
            enforcement: Enforcement::Cgroups,
            message: (!notes.is_empty()).then(|| notes.join("; ")),
            collected,
        })
    }
}

fn failed(message: String, started: Instant) -> RunOutcome {
    RunOutcome::sandbox_error(message, started, Enforcement::Cgroups)
}

/// Wraps a failure to reach the daemon; `context` says which.
fn unavailable(context: &'static str) -> impl FnOnce(bollard::errors::Error) -> Unavailable {
    move |e| Unavailable {
        context,
        source: Arc::new(e),
    }
}

/// Wraps a failed request to the daemon; `context` says what was being done.
fn docker_error(context: &'static str) -> impl FnOnce(bollard::errors::Error) -> SandboxError {
    move |source| SandboxError::Docker { context, source }
}

/// The local Docker daemon as `codecontext doctor` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonReport {
    /// The engine's version (`20.10.24`).
    pub version: String,
    /// The API version negotiated with it (`1.41`).
    pub api_version: String,
    /// The images present, by tag (untagged ones left out), sorted.
    pub images: Vec<String>,
    /// The container runtimes dockerd knows (`runc`, `runsc`, ...), sorted.
    pub runtimes: Vec<String>,
}

/// Reaches the local daemon (`DOCKER_HOST`, else the default socket), negotiates the API
/// version, and lists its images and runtimes.
pub async fn daemon_report() -> Result<DaemonReport, SandboxError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(docker_error("cannot reach the Docker daemon"))?
        .negotiate_version()
        .await
        .map_err(docker_error("the Docker daemon does not answer"))?;
    let version = docker.version().await.map_err(docker_error("version"))?;
    let images = docker
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .map_err(docker_error("images"))?;
    let mut images: Vec<String> = images
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .filter(|t| t != "<none>:<none>")
        .collect();
    images.sort();
    let info = docker.info().await.map_err(docker_error("info"))?;
    let runtimes = info.runtimes.unwrap_or_default().into_keys().collect();
    Ok(DaemonReport {
        version: version.version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        images,
        runtimes,
    })
}
