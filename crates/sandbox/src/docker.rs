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

use std::{
    collections::HashMap,
    path::{Component, Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex, Weak,
    },
    time::{Duration, Instant},
};

use bollard::{
    container::LogOutput,
    exec::StartExecResults,
    models::{
        ContainerCreateBody, ContainerUpdateBody, ExecConfig, HostConfig, Mount, MountType,
        MountVolumeOptions, MountVolumeOptionsDriverConfig, ResourcesUlimits,
    },
    query_parameters::{
        DownloadFromContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
        RemoveContainerOptionsBuilder, StartContainerOptions, StatsOptionsBuilder,
        UploadToContainerOptionsBuilder,
    },
    Docker,
};
use futures_util::StreamExt;
use tokio::{
    io::AsyncWriteExt,
    sync::{OnceCell, Semaphore},
};
use tracing::{debug, warn};

use crate::{
    BoxFuture, Capture, Enforcement, Limits, RunOutcome, RunSpec, Sandbox, SandboxError,
    SnapshotKind, Status, WORK_DIR,
};

/// The signal past the CPU time limit (Linux).
const SIGXCPU: i32 = 24;
/// The label every container of the Docker sandbox carries.
pub const LABEL: &str = "codecontext.sandbox";
/// The label naming the process that started a container.
pub const OWNER_LABEL: &str = "codecontext.owner";
/// The label naming the host of that process (a PID means nothing elsewhere).
pub const HOST_LABEL: &str = "codecontext.host";
/// The label naming the work folder a pooled container was made for.
const WORK_LABEL: &str = "codecontext.work";

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
}

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
        }
    }
}

/// The Docker sandbox. Cheap to create: the daemon is first asked at the first run (or
/// [`DockerSandbox::ready`]), which negotiates the API version, removes orphans and
/// starts the pool for [`WORK_DIR`].
pub struct DockerSandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: DockerConfig,
    docker: OnceCell<Result<Docker, String>>,
    /// Idle containers per work folder, oldest first.
    pools: Mutex<HashMap<String, Pool>>,
    /// Shut down: no more pooled containers.
    closed: AtomicBool,
    /// Used containers being removed in the background.
    removing: AtomicUsize,
    /// Runs beyond `concurrency` wait for a free slot.
    permits: Semaphore,
    /// Orphans removed when the daemon was first reached.
    orphans: AtomicUsize,
}

#[derive(Default)]
struct Pool {
    idle: Vec<Warm>,
    /// Containers being started for this pool.
    starting: usize,
    last_used: Option<Instant>,
}

struct Warm {
    id: String,
    since: Instant,
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
            return Err(SandboxError::Io(std::io::Error::other(
                "the Docker sandbox needs an image (CODECONTEXT_DOCKER_IMAGE)",
            )));
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
        let orphans = self.inner.orphans_removed();
        Ok(DaemonInfo {
            api_version: docker.client_version().to_string(),
            orphans_removed: orphans,
        })
    }

    /// The ids of the idle containers ready for runs in `work_dir`.
    pub fn idle_containers(&self, work_dir: &str) -> Vec<String> {
        let pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .get(work_dir)
            .map(|p| p.idle.iter().map(|w| w.id.clone()).collect())
            .unwrap_or_default()
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
        let ids: Vec<String> = {
            let mut pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools
                .values_mut()
                .flat_map(|p| p.idle.drain(..).map(|w| w.id))
                .collect()
        };
        for id in ids {
            remove(&docker, &id).await;
        }
    }
}

impl Drop for DockerSandbox {
    fn drop(&mut self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        let ids: Vec<String> = {
            let mut pools = self.inner.pools.lock().unwrap_or_else(|e| e.into_inner());
            pools
                .values_mut()
                .flat_map(|p| p.idle.drain(..).map(|w| w.id))
                .collect()
        };
        let Some(Ok(docker)) = self.inner.docker.get().cloned() else {
            return;
        };
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for id in ids {
                    remove(&docker, &id).await;
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
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

fn io_error(context: &str, e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Io(std::io::Error::other(format!("docker: {context}: {e}")))
}

impl Inner {
    async fn docker(self: &Arc<Self>) -> Result<Docker, SandboxError> {
        let this = self.clone();
        self.docker
            .get_or_init(|| async move {
                let docker = Docker::connect_with_local_defaults()
                    .map_err(|e| format!("cannot reach the Docker daemon: {e}"))?
                    .negotiate_version()
                    .await
                    .map_err(|e| format!("the Docker daemon does not answer: {e}"))?;
                let removed = remove_orphans(&docker).await;
                this.orphans.store(removed, Ordering::Relaxed);
                Inner::fill(&this, &docker, WORK_DIR);
                tokio::spawn(reap_idle(Arc::downgrade(&this), docker.clone()));
                Ok(docker)
            })
            .await
            .clone()
            .map_err(|e| SandboxError::Io(std::io::Error::other(e)))
    }

    fn orphans_removed(&self) -> usize {
        self.orphans.load(Ordering::Relaxed)
    }

    /// Starts containers in the background until the pool for `work_dir` is full.
    fn fill(this: &Arc<Inner>, docker: &Docker, work_dir: &str) {
        if this.closed.load(Ordering::SeqCst) {
            return;
        }
        let wanted = {
            let mut pools = this.pools.lock().unwrap_or_else(|e| e.into_inner());
            let pool = pools.entry(work_dir.to_string()).or_default();
            pool.last_used = Some(Instant::now());
            let have = pool.idle.len() + pool.starting;
            let wanted = this.config.pool_size.saturating_sub(have);
            pool.starting += wanted;
            wanted
        };
        for _ in 0..wanted {
            let (this, docker, work_dir) = (this.clone(), docker.clone(), work_dir.to_string());
            tokio::spawn(async move {
                let created = this
                    .create(&docker, &work_dir, Limits::default().cpu_ms, false)
                    .await;
                let warm = match created {
                    Ok(id) if this.closed.load(Ordering::SeqCst) => {
                        // Shut down meanwhile.
                        remove(&docker, &id).await;
                        None
                    }
                    Ok(id) => Some(Warm {
                        id,
                        since: Instant::now(),
                    }),
                    Err(e) => {
                        warn!("docker sandbox: cannot start a pooled container: {e}");
                        None
                    }
                };
                // One lock hold: `shutdown` sees either a start or an idle container.
                let mut pools = this.pools.lock().unwrap_or_else(|e| e.into_inner());
                let pool = pools.entry(work_dir).or_default();
                pool.starting = pool.starting.saturating_sub(1);
                pool.idle.extend(warm);
            });
        }
    }

    /// Containers are being started or removed in the background.
    fn busy(&self) -> bool {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        self.removing.load(Ordering::SeqCst) > 0 || pools.values().any(|p| p.starting > 0)
    }

    /// An idle container for `work_dir`, if the pool has one.
    fn take(&self, work_dir: &str) -> Option<String> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let pool = pools.get_mut(work_dir)?;
        pool.last_used = Some(Instant::now());
        (!pool.idle.is_empty()).then(|| pool.idle.remove(0).id)
    }

    /// Creates and starts a container waiting for execs, with [`Limits::default`] but for
    /// the CPU time of each process, `cpu_ms` (a ulimit, which every exec inherits and no
    /// update can change), and with no network unless `network` (then the host's).
    async fn create(
        &self,
        docker: &Docker,
        work_dir: &str,
        cpu_ms: u64,
        network: bool,
    ) -> Result<String, SandboxError> {
        let config = &self.config;
        let limits = Limits::default();
        let cpu_seconds = cpu_ms.div_ceil(1000).max(1) as i64;
        let (uid, gid) = config.user.split_once(':').unwrap_or((&config.user, "0"));
        let labels = HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (OWNER_LABEL.to_string(), std::process::id().to_string()),
            (HOST_LABEL.to_string(), hostname()),
            (WORK_LABEL.to_string(), work_dir.to_string()),
        ]);
        // The work folder is a volume on tmpfs, so that uploads (which go through the
        // daemon's view of the container's volumes) land where the run sees them.
        let work = Mount {
            target: Some(work_dir.to_string()),
            typ: Some(MountType::VOLUME),
            volume_options: Some(MountVolumeOptions {
                labels: Some(labels.clone()),
                driver_config: Some(MountVolumeOptionsDriverConfig {
                    name: Some("local".into()),
                    options: Some(HashMap::from([
                        ("type".to_string(), "tmpfs".to_string()),
                        ("device".to_string(), "tmpfs".to_string()),
                        (
                            "o".to_string(),
                            format!("size={},uid={uid},gid={gid},mode=0755", config.work_bytes),
                        ),
                    ])),
                }),
                ..MountVolumeOptions::default()
            }),
            ..Mount::default()
        };
        let host = HostConfig {
            network_mode: Some(if network { "host" } else { "none" }.into()),
            memory: Some(limits.memory_bytes as i64),
            memory_swap: Some(limits.memory_bytes as i64),
            nano_cpus: Some((config.cpus * 1e9) as i64),
            pids_limit: Some(limits.processes as i64),
            ulimits: Some(vec![ResourcesUlimits {
                name: Some("cpu".into()),
                // SIGXCPU at the limit; SIGKILL a second later for a process that
                // ignores it.
                soft: Some(cpu_seconds),
                hard: Some(cpu_seconds + 1),
            }]),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            init: Some(true),
            mounts: Some(vec![work]),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_string(),
                format!("rw,exec,nosuid,nodev,size={},mode=1777", config.tmp_bytes),
            )])),
            ..HostConfig::default()
        };
        let body = ContainerCreateBody {
            image: Some(config.image.clone()),
            // The image's own `sleep` (an integer: busybox's may not take `infinity`);
            // `init` (docker-init) is PID 1 and reaps orphans.
            entrypoint: Some(vec!["sleep".into()]),
            cmd: Some(vec!["2147483647".into()]),
            user: Some(config.user.clone()),
            working_dir: Some(work_dir.to_string()),
            network_disabled: Some(!network),
            labels: Some(labels),
            host_config: Some(host),
            ..ContainerCreateBody::default()
        };
        let id = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .map_err(|e| io_error("create container", e))?
            .id;
        if let Err(e) = docker
            .start_container(&id, None::<StartContainerOptions>)
            .await
        {
            remove(docker, &id).await;
            return Err(io_error("start container", e));
        }
        Ok(id)
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
            plain_relative(rel)?;
        }
        // The snapshot is made while a container is found or started.
        let (workspace, files) = (spec.workspace.clone(), spec.files.clone());
        let archive =
            tokio::task::spawn_blocking(move || snapshot_archive(workspace.as_deref(), &files));
        // Pooled containers have the default CPU time limit and no network; a run that
        // needs another limit or the network gets a container of its own.
        let cpu_ms = spec.limits.cpu_ms;
        let pooled = (cpu_ms == Limits::default().cpu_ms && !spec.network)
            .then(|| self.take(&work))
            .flatten();
        let id = match pooled {
            Some(id) => id,
            None => self.create(&docker, &work, cpu_ms, spec.network).await?,
        };
        // Whatever happens next, this container serves no other run.
        let _discard = Discard {
            inner: self.clone(),
            docker: docker.clone(),
            id: id.clone(),
        };
        let outcome = self
            .run_in(&docker, &id, &spec, &work_dir, archive, started)
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

    async fn run_in(
        &self,
        docker: &Docker,
        id: &str,
        spec: &RunSpec,
        work_dir: &Path,
        archive: tokio::task::JoinHandle<std::io::Result<Option<Vec<u8>>>>,
        started: Instant,
    ) -> Result<RunOutcome, SandboxError> {
        let work = work_dir.display().to_string();
        let limits = &spec.limits;
        let defaults = Limits::default();
        if (limits.memory_bytes, limits.processes) != (defaults.memory_bytes, defaults.processes) {
            docker
                .update_container(
                    id,
                    ContainerUpdateBody {
                        memory: Some(limits.memory_bytes as i64),
                        memory_swap: Some(limits.memory_bytes as i64),
                        pids_limit: Some(limits.processes as i64),
                        ..ContainerUpdateBody::default()
                    },
                )
                .await
                .map_err(|e| io_error("set limits", e))?;
        }
        let archive = archive
            .await
            .map_err(|e| io_error("snapshot", e))?
            .map_err(|e| io_error("snapshot", e))?;
        if let Some(archive) = archive {
            docker
                .upload_to_container(
                    id,
                    Some(
                        UploadToContainerOptionsBuilder::default()
                            .path(&work)
                            .build(),
                    ),
                    bollard::body_full(archive.into()),
                )
                .await
                .map_err(|e| io_error("upload the workspace", e))?;
        }

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
            ("HOME".to_string(), work.clone()),
            ("TMPDIR".to_string(), "/tmp".to_string()),
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("TERM".to_string(), "dumb".to_string()),
        ];
        for (k, v) in &spec.env {
            env.retain(|(key, _)| key != k);
            env.push((k.clone(), v.clone()));
        }
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
            .map_err(|e| io_error("create exec", e))?
            .id;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = docker
            .start_exec(&exec, None)
            .await
            .map_err(|e| io_error("start exec", e))?
        else {
            return Err(io_error("start exec", "detached"));
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
        let timed_out = tokio::time::timeout(timeout, async { tokio::join!(feed, read) })
            .await
            .is_err();
        let over = out.over() || err.over();
        let exit_code = if timed_out || over {
            None
        } else {
            docker
                .inspect_exec(&exec)
                .await
                .ok()
                .and_then(|i| i.exit_code)
                .map(|c| c as i32)
        };
        let counters = self.counters(docker, id).await;
        // Killed by a signal: the exit code is 128 plus the signal's number (SIGXCPU: past
        // the CPU time limit, a time-out as in the local sandbox).
        let signal = exit_code
            .filter(|c| (129..=128 + 64).contains(c))
            .map(|c| c - 128);
        let status = if over {
            Status::OutputLimit
        } else if timed_out || signal == Some(SIGXCPU) {
            Status::TimedOut
        } else if counters.oom_kills > 0 {
            Status::MemoryLimit
        } else if exit_code == Some(0) {
            Status::Ok
        } else {
            Status::Error
        };
        let collected = if timed_out || over || spec.collect.is_empty() {
            Vec::new()
        } else {
            self.collect(docker, id, work_dir, &spec.collect, cap).await
        };
        let mut notes = Vec::new();
        if !spec.readonly.is_empty() {
            notes.push("host toolchain folders are not shown in Docker (the image provides them)");
        }
        Ok(RunOutcome {
            status,
            exit_code,
            signal,
            stdout_truncated: out.over(),
            stderr_truncated: err.over(),
            stdout: out.text(),
            stderr: err.text(),
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

    /// The container's cgroup counters: on this host if they are there, else by `head`
    /// in the container where it can still start a process, else from the stats API
    /// (which has no OOM-kill count: then the container's `OOMKilled` state).
    async fn counters(&self, docker: &Docker, id: &str) -> Counters {
        if let Some(c) = self
            .config
            .host_cgroups
            .then(|| counters_on_host(id))
            .flatten()
        {
            return c;
        }
        if let Some(c) = self.counters_by_exec(docker, id).await {
            return c;
        }
        let mut c = Counters::default();
        let stats = docker
            .stats(
                id,
                Some(
                    StatsOptionsBuilder::default()
                        .stream(false)
                        .one_shot(true)
                        .build(),
                ),
            )
            .next()
            .await;
        if let Some(Ok(stats)) = stats {
            if let Some(memory) = stats.memory_stats {
                c.peak_memory = memory.max_usage.or(memory.usage).unwrap_or(0);
            }
            if let Some(pids) = stats.pids_stats {
                if let (Some(current), Some(limit)) = (pids.current, pids.limit) {
                    c.pids_max_hits = u64::from(current >= limit);
                }
            }
            if let Some(cpu) = stats.cpu_stats.and_then(|c| c.cpu_usage) {
                c.cpu_ms = cpu.total_usage.unwrap_or(0) / 1_000_000;
            }
        }
        if let Ok(inspect) = docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            if inspect.state.and_then(|s| s.oom_killed) == Some(true) {
                c.oom_kills = 1;
            }
        }
        c
    }

    async fn counters_by_exec(&self, docker: &Docker, id: &str) -> Option<Counters> {
        // cgroup v1 files first, then v2's.
        let files = [
            "/sys/fs/cgroup/memory/memory.oom_control",
            "/sys/fs/cgroup/memory/memory.max_usage_in_bytes",
            "/sys/fs/cgroup/pids/pids.events",
            "/sys/fs/cgroup/cpuacct/cpuacct.usage",
            "/sys/fs/cgroup/memory.events",
            "/sys/fs/cgroup/memory.peak",
            "/sys/fs/cgroup/pids.events",
            "/sys/fs/cgroup/cpu.stat",
        ];
        // `head` names each file it prints (`==> path <==`), and skips missing ones.
        let mut cmd = vec!["head".to_string(), "-n".to_string(), "64".to_string()];
        cmd.extend(files.iter().map(|f| f.to_string()));
        let exec = docker
            .create_exec(
                id,
                ExecConfig {
                    attach_stdout: Some(true),
                    attach_stderr: Some(false),
                    cmd: Some(cmd),
                    ..ExecConfig::default()
                },
            )
            .await
            .ok()?
            .id;
        let StartExecResults::Attached { mut output, .. } =
            docker.start_exec(&exec, None).await.ok()?
        else {
            return None;
        };
        let mut text = String::new();
        let read = async {
            while let Some(Ok(chunk)) = output.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        };
        tokio::time::timeout(Duration::from_secs(2), read)
            .await
            .ok()?;
        let c = Counters::parse(&text);
        (c.peak_memory > 0).then_some(c)
    }

    /// Reads back the files a run wrote, each up to `cap` bytes.
    async fn collect(
        &self,
        docker: &Docker,
        id: &str,
        work_dir: &Path,
        wanted: &[String],
        cap: usize,
    ) -> Vec<(String, Vec<u8>)> {
        let mut collected = Vec::new();
        for rel in wanted {
            if plain_relative(rel).is_err() {
                continue;
            }
            let path = work_dir.join(rel.trim_start_matches('/'));
            let stream = docker.download_from_container(
                id,
                Some(
                    DownloadFromContainerOptionsBuilder::default()
                        .path(&path.display().to_string())
                        .build(),
                ),
            );
            // The archive holds one file; a little over the cap for its header.
            let mut bytes = Vec::new();
            let mut stream = std::pin::pin!(stream);
            let mut ok = true;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) if bytes.len() <= cap + (64 << 10) => bytes.extend_from_slice(&chunk),
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if !ok {
                continue;
            }
            if let Some(file) = first_file(&bytes).filter(|f| f.len() <= cap) {
                collected.push((rel.clone(), file));
            }
        }
        collected
    }
}

/// Removes a run's container when the run ends, however it ends (a cancelled request
/// drops the run's future midway).
struct Discard {
    inner: Arc<Inner>,
    docker: Docker,
    id: String,
}

impl Drop for Discard {
    fn drop(&mut self) {
        let (docker, id) = (self.docker.clone(), std::mem::take(&mut self.id));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let inner = self.inner.clone();
            inner.removing.fetch_add(1, Ordering::SeqCst);
            handle.spawn(async move {
                remove(&docker, &id).await;
                inner.removing.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

/// Removes a container (killing what runs in it) and its volumes.
async fn remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    if let Err(e) = docker.remove_container(id, Some(options)).await {
        debug!("docker sandbox: remove {id}: {e}");
    }
}

/// Removes the labelled containers of this host whose owner process is gone.
async fn remove_orphans(docker: &Docker) -> usize {
    let host = hostname();
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![format!("{LABEL}=1")])]))
        .build();
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return 0;
    };
    let mut removed = 0;
    for container in containers {
        let (Some(id), Some(labels)) = (container.id, container.labels) else {
            continue;
        };
        if labels.get(HOST_LABEL).map(String::as_str) != Some(host.as_str()) {
            continue;
        }
        let Some(owner) = labels.get(OWNER_LABEL).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
            remove(docker, &id).await;
            removed += 1;
        }
    }
    if removed > 0 {
        debug!("docker sandbox: removed {removed} orphaned containers");
    }
    removed
}

/// Removes idle containers unused for the idle timeout; ends with the sandbox.
async fn reap_idle(inner: Weak<Inner>, docker: Docker) {
    loop {
        let period = match inner.upgrade() {
            Some(inner) => (inner.config.idle_timeout / 2).max(Duration::from_millis(100)),
            None => return,
        };
        tokio::time::sleep(period).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let stale: Vec<String> = {
            let mut pools = inner.pools.lock().unwrap_or_else(|e| e.into_inner());
            let timeout = inner.config.idle_timeout;
            pools
                .values_mut()
                .filter(|p| p.last_used.is_none_or(|t| t.elapsed() >= timeout))
                .flat_map(|p| {
                    let (old, keep): (Vec<Warm>, Vec<Warm>) =
                        p.idle.drain(..).partition(|w| w.since.elapsed() >= timeout);
                    p.idle = keep;
                    old.into_iter().map(|w| w.id)
                })
                .collect()
        };
        drop(inner);
        for id in stale {
            remove(&docker, &id).await;
        }
    }
}

/// The counters read straight from the container's cgroups when the daemon is on this
/// host and they are where its default drivers put them (cgroupfs or systemd, v1 or
/// v2): no second exec.
fn counters_on_host(id: &str) -> Option<Counters> {
    let root = Path::new("/sys/fs/cgroup");
    let names = [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
    ];
    let mut files = Vec::new();
    if let Some(name) = names.iter().find(|n| root.join("memory").join(n).is_dir()) {
        files.extend([
            root.join("memory").join(name).join("memory.oom_control"),
            root.join("memory")
                .join(name)
                .join("memory.max_usage_in_bytes"),
            root.join("pids").join(name).join("pids.events"),
            root.join("cpuacct").join(name).join("cpuacct.usage"),
        ]);
    } else if let Some(name) = names
        .iter()
        .find(|n| root.join(n).join("memory.events").is_file())
    {
        files.extend(
            ["memory.events", "memory.peak", "pids.events", "cpu.stat"]
                .map(|f| root.join(name).join(f)),
        );
    } else {
        return None;
    }
    let mut text = String::new();
    for file in files {
        if let Ok(contents) = std::fs::read_to_string(&file) {
            text.push_str(&format!("==> {} <==\n{contents}\n", file.display()));
        }
    }
    let c = Counters::parse(&text);
    (c.peak_memory > 0).then_some(c)
}

/// Counters of a container's cgroups.
#[derive(Default, Debug)]
struct Counters {
    peak_memory: u64,
    oom_kills: u64,
    pids_max_hits: u64,
    cpu_ms: u64,
}

impl Counters {
    /// Parses what `head` prints of the cgroup files: `==> path <==` before each file,
    /// then its `key value` lines or its single number.
    fn parse(text: &str) -> Counters {
        let mut c = Counters::default();
        let mut file = "";
        for line in text.lines() {
            if let Some(name) = line
                .strip_prefix("==> ")
                .and_then(|l| l.strip_suffix(" <=="))
            {
                file = name.rsplit('/').next().unwrap_or(name);
                continue;
            }
            let mut words = line.split_whitespace();
            let number = |w: &str| w.parse::<u64>().unwrap_or(0);
            match (file, words.next(), words.next()) {
                ("memory.oom_control" | "memory.events", Some("oom_kill"), Some(n)) => {
                    c.oom_kills += number(n)
                }
                ("memory.max_usage_in_bytes" | "memory.peak", Some(n), None) => {
                    c.peak_memory = number(n)
                }
                ("pids.events", Some("max"), Some(n)) => c.pids_max_hits += number(n),
                ("cpuacct.usage", Some(n), None) => c.cpu_ms = number(n) / 1_000_000,
                ("cpu.stat", Some("usage_usec"), Some(n)) => c.cpu_ms = number(n) / 1_000,
                _ => {}
            }
        }
        c
    }
}

fn failed(message: String, started: Instant) -> RunOutcome {
    RunOutcome::sandbox_error(message, started, Enforcement::Cgroups)
}

fn plain_relative(rel: &str) -> Result<&Path, SandboxError> {
    let relative = Path::new(rel.trim_start_matches('/'));
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    {
        return Err(SandboxError::Io(std::io::Error::other(format!(
            "file {rel:?} is not a plain relative path"
        ))));
    }
    Ok(relative)
}

/// The workspace and the run's files as one tar, to unpack in the work folder; `None`
/// when there is nothing to unpack. Entries are owned by nobody in particular (the
/// daemon writes them as root); modes keep them writable by the run's user.
fn snapshot_archive(
    workspace: Option<&Path>,
    files: &[(String, Vec<u8>)],
) -> std::io::Result<Option<Vec<u8>>> {
    if workspace.is_none() && files.is_empty() {
        return Ok(None);
    }
    let mut tar = tar::Builder::new(Vec::new());
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    if let Some(root) = workspace {
        append_tree(&mut tar, root, Path::new(""))?;
    }
    let mut dirs_done = std::collections::HashSet::new();
    for (rel, bytes) in files {
        let rel = Path::new(rel.trim_start_matches('/'));
        for dir in rel.ancestors().skip(1) {
            if !dir.as_os_str().is_empty() && dirs_done.insert(dir.to_path_buf()) {
                let mut header = tar::Header::new_gnu();
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_data(&mut header, dir, std::io::empty())?;
            }
        }
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o666);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, rel, bytes.as_slice())?;
    }
    Ok(Some(tar.into_inner()?))
}

/// Appends a folder's contents; every entry world-writable so that the run's user may
/// change and delete what it likes in its copy.
fn append_tree(tar: &mut tar::Builder<Vec<u8>>, dir: &Path, rel: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let (path, rel) = (entry.path(), rel.join(entry.file_name()));
        let kind = entry.file_type()?;
        let mut header = tar::Header::new_gnu();
        if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_data(&mut header, &rel, std::io::empty())?;
            append_tree(tar, &path, &rel)?;
        } else if kind.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, &rel, std::fs::read_link(&path)?)?;
        } else if kind.is_file() {
            let file = std::fs::File::open(&path)?;
            let meta = file.metadata()?;
            let executable = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111;
            header.set_mode(0o666 | executable);
            header.set_size(meta.len());
            tar.append_data(&mut header, &rel, file)?;
        }
    }
    Ok(())
}

/// The contents of the first regular file of a tar.
fn first_file(archive: &[u8]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(archive);
    let mut entries = archive.entries().ok()?;
    entries.find_map(|entry| {
        let mut entry = entry.ok()?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return None;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).ok()?;
        Some(bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_v1_counters_are_read() {
        let text = "==> /sys/fs/cgroup/memory/memory.oom_control <==\noom_kill_disable 0\n\
                    under_oom 0\noom_kill 2\n\n==> /sys/fs/cgroup/memory/memory.max_usage_in_bytes <==\n\
                    134217728\n\n==> /sys/fs/cgroup/pids/pids.events <==\nmax 7\n\n\
                    ==> /sys/fs/cgroup/cpuacct/cpuacct.usage <==\n2500000000\n";
        let c = Counters::parse(text);
        assert_eq!(
            (c.oom_kills, c.peak_memory, c.pids_max_hits, c.cpu_ms),
            (2, 134217728, 7, 2500)
        );
    }

    #[test]
    fn cgroup_v2_counters_are_read() {
        let text = "==> /sys/fs/cgroup/memory.events <==\nlow 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n\n\
                    ==> /sys/fs/cgroup/memory.peak <==\n5000\n\n==> /sys/fs/cgroup/pids.events <==\n\
                    max 0\n\n==> /sys/fs/cgroup/cpu.stat <==\nusage_usec 1500\nuser_usec 1000\n";
        let c = Counters::parse(text);
        assert_eq!(
            (c.oom_kills, c.peak_memory, c.pids_max_hits, c.cpu_ms),
            (1, 5000, 0, 1)
        );
    }

    #[test]
    fn the_snapshot_holds_files_over_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        let files = vec![("a.txt".to_string(), b"new".to_vec())];
        let tar = snapshot_archive(Some(dir.path()), &files).unwrap().unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.txt", "a.txt"]);
        assert!(snapshot_archive(None, &[]).unwrap().is_none());
    }
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
}

/// Reaches the local daemon (`DOCKER_HOST`, else the default socket), negotiates the API
/// version, and lists its images.
pub async fn daemon_report() -> Result<DaemonReport, SandboxError> {
    let docker = Docker::connect_with_local_defaults()
        .map_err(|e| io_error("cannot reach the Docker daemon", e))?
        .negotiate_version()
        .await
        .map_err(|e| io_error("the Docker daemon does not answer", e))?;
    let version = docker.version().await.map_err(|e| io_error("version", e))?;
    let images = docker
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .map_err(|e| io_error("images", e))?;
    let mut images: Vec<String> = images
        .into_iter()
        .flat_map(|i| i.repo_tags)
        .filter(|t| t != "<none>:<none>")
        .collect();
    images.sort();
    Ok(DaemonReport {
        version: version.version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        images,
    })
}
