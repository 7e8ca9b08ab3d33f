//! Sandboxes: run a command against a throw-away view of the workspace, within limits,
//! and say how it ended.
//!
//! [`Sandbox`] is the seam: [`LocalSandbox`] builds one from Linux namespaces, cgroups
//! and an overlay of the workspace; `DockerSandbox` (feature `docker`, on by default)
//! runs in Docker containers from a warm pool. Requests and
//! outcomes ([`RunSpec`], [`RunOutcome`]) are plain data, the same for every
//! implementation. The user's files are never written: the workspace is the read-only
//! lower layer of an overlay whose upper layer is thrown away with the run.

use std::{future::Future, path::PathBuf, pin::Pin};

use serde::{Deserialize, Serialize};

#[cfg(feature = "docker")]
mod docker;
mod init;
mod local;

#[cfg(feature = "docker")]
pub use docker::{daemon_report, DaemonInfo, DaemonReport, DockerConfig, DockerSandbox};
pub use init::helper_main;
pub use local::{LocalSandbox, HELPER_ARG, HELPER_BINARY};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a run may use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limits {
    /// Wall-clock time.
    pub timeout_ms: u64,
    /// CPU time, all processes together (enforced per process by `RLIMIT_CPU`).
    pub cpu_ms: u64,
    pub memory_bytes: u64,
    pub processes: u64,
    /// Bytes kept of stdout and of stderr each; more ends the run (`output_limit`).
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            timeout_ms: 10_000,
            cpu_ms: 10_000,
            memory_bytes: 512 << 20,
            processes: 128,
            output_bytes: 1 << 20,
        }
    }
}

/// One command to run.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// Program and arguments; the program is looked up in `PATH` inside the sandbox.
    pub argv: Vec<String>,
    /// A host folder shown, writable but never written, at [`WORK_DIR`].
    pub workspace: Option<PathBuf>,
    /// Files added to [`WORK_DIR`] (relative path, contents), over the workspace's.
    pub files: Vec<(String, Vec<u8>)>,
    /// Files under [`WORK_DIR`] the run writes and the caller wants back (reports:
    /// JUnit XML and the like), relative paths. Read after the run, up to the output cap.
    pub collect: Vec<String>,
    /// Where the workspace and `files` appear inside; [`WORK_DIR`] by default.
    /// Verification mounts a project where it is on the host, so that build caches
    /// keyed by absolute paths (Cargo's) stay valid and reported paths are the user's.
    pub mount_at: Option<PathBuf>,
    /// Working directory inside, relative to the workspace's mount point.
    pub cwd: String,
    /// Environment variables beyond the sandbox's own minimal set.
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    /// Host folders visible read-only at the same path (toolchains, dependency caches).
    pub readonly: Vec<PathBuf>,
    /// Host folders visible writable at the same path: what a run is there to fill
    /// (a dependency cache being installed). The local sandbox only; Docker refuses them.
    pub writable: Vec<PathBuf>,
    /// Host folders visible at the same path, writable, with what the run writes thrown
    /// away after it (an overlay, as the workspace has): a build cache the run may use
    /// and add to (Go's `GOCACHE`) without changing it for anyone else. The local
    /// sandbox only (an empty folder where the overlay cannot be made); Docker shows
    /// the image's.
    pub overlays: Vec<PathBuf>,
    /// Folders prepended to `PATH` inside.
    pub path: Vec<PathBuf>,
    /// Allow network access (a new, empty network namespace otherwise).
    pub network: bool,
    pub limits: Limits,
}

/// Where the workspace appears inside a sandbox.
pub const WORK_DIR: &str = "/work";

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Exited with status 0.
    Ok,
    /// Exited with another status, or was killed by a signal of its own doing.
    Error,
    TimedOut,
    MemoryLimit,
    OutputLimit,
    /// The sandbox itself failed; `message` says why.
    SandboxError,
}

/// How the workspace was made available.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// An overlay: creating it costs the same whatever the workspace's size.
    Overlay,
    /// A copy, where overlays are unavailable.
    Copy,
}

/// How resource limits were enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Enforcement {
    /// Memory and processes by cgroups for the whole run, plus rlimits.
    Cgroups,
    /// Rlimits only, per process (cgroups were not writable).
    Rlimits,
}

/// The outcome of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunOutcome {
    pub status: Status,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub peak_memory_bytes: u64,
    /// The process limit was reached at least once.
    pub process_limit_hit: bool,
    pub snapshot: Option<SnapshotKind>,
    pub enforcement: Enforcement,
    /// Why the sandbox failed, or what it had to do differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The files of [`RunSpec::collect`] the run wrote.
    #[serde(skip)]
    pub collected: Vec<(String, Vec<u8>)>,
}

impl RunOutcome {
    /// The outcome of a run the sandbox itself could not make: why, and how long that
    /// took to find out.
    pub fn sandbox_error(
        message: String,
        started: std::time::Instant,
        enforcement: Enforcement,
    ) -> RunOutcome {
        RunOutcome {
            status: Status::SandboxError,
            exit_code: None,
            signal: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            wall_ms: started.elapsed().as_millis() as u64,
            cpu_ms: 0,
            peak_memory_bytes: 0,
            process_limit_hit: false,
            snapshot: None,
            enforcement,
            message: (!message.is_empty()).then_some(message),
            collected: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "the local sandbox needs Linux user namespaces, which this system does not offer \
         ({0}); use the Docker sandbox instead (sandbox = \"docker\")"
    )]
    Unsupported(String),
    #[error("sandbox: {0}")]
    Io(#[from] std::io::Error),
    /// A file of a run (to add or to collect) that is not a plain relative path: it would
    /// land outside the work folder.
    #[error("sandbox: file {0:?} is not a plain relative path")]
    NotRelative(String),
    /// The Docker sandbox was configured without an image.
    #[cfg(feature = "docker")]
    #[error("sandbox: the Docker sandbox needs an image (CODECONTEXT_DOCKER_IMAGE)")]
    NoImage,
    /// The Docker sandbox could not reach its daemon, or the daemon did not answer
    /// (`context` says which). The cause is shared: a sandbox meets it at its first run
    /// and reports it again at every later one.
    #[cfg(feature = "docker")]
    #[error("sandbox: {context}: {source}")]
    DaemonUnavailable {
        context: &'static str,
        source: std::sync::Arc<bollard::errors::Error>,
    },
    /// A request to the Docker daemon failed; `context` says what was being done.
    #[cfg(feature = "docker")]
    #[error("sandbox: docker: {context}: {source}")]
    Docker {
        context: &'static str,
        source: bollard::errors::Error,
    },
    /// The Docker daemon started a command's exec detached, with no output to read.
    #[cfg(feature = "docker")]
    #[error("sandbox: docker: start exec: detached")]
    ExecDetached,
    /// The workspace snapshot for a Docker run could not be made.
    #[cfg(feature = "docker")]
    #[error("sandbox: docker: snapshot: {0}")]
    Snapshot(#[source] std::io::Error),
}

/// Runs commands in isolation.
pub trait Sandbox: Send + Sync {
    /// Runs one command. A failure of the sandbox itself is an outcome with status
    /// [`Status::SandboxError`], not an `Err`, so that callers report it like any other.
    fn run(&self, spec: RunSpec) -> BoxFuture<'_, RunOutcome>;

    /// Whether runs see the host's programs at their host paths (its system read-only,
    /// and [`RunSpec::readonly`]); a container sees its image's instead.
    fn shows_host_programs(&self) -> bool {
        true
    }
}

/// Output kept up to a cap (a run's stdout or stderr).
pub(crate) struct Capture {
    bytes: Vec<u8>,
    cap: usize,
    over: bool,
}

impl Capture {
    pub(crate) fn new(cap: usize) -> Capture {
        Capture {
            bytes: Vec::new(),
            cap,
            over: false,
        }
    }

    /// Keeps what fits; true once past the cap.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> bool {
        let room = self.cap - self.bytes.len();
        self.bytes
            .extend_from_slice(&chunk[..chunk.len().min(room)]);
        if chunk.len() > room {
            self.over = true;
        }
        self.over
    }

    /// Whether output was cut at the cap.
    pub(crate) fn over(&self) -> bool {
        self.over
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}
