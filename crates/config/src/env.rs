//! What the process's environment says beyond the team backends: where the stores live,
//! where the host's toolchains are, which Docker daemon to ask. Read here so that no
//! other crate reads an environment variable.

use std::path::PathBuf;

/// The folder holding the stores: `CODECONTEXT_HOME` if set, else the user's cache
/// directory (`~/.cache/codecontext` on Linux).
pub fn store_home() -> PathBuf {
    if let Some(home) = std::env::var_os("CODECONTEXT_HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home);
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("codecontext")
}

/// A toolchain or cache folder to show read-only in a sandbox: `$var`, else
/// `~/default`, if it is a folder (`CARGO_HOME` or `~/.cargo`, say).
pub fn toolchain_dir(var: &str, default: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(default)))
        .filter(|p| p.is_dir())
}

/// The Docker daemon, as the Docker client would reach it: `DOCKER_HOST`, else the
/// default socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// How long a daemon waits for a new client after its last one left:
/// `CODECONTEXT_DAEMON_IDLE_S` seconds, 60 by default.
pub fn daemon_idle() -> std::time::Duration {
    let seconds = std::env::var("CODECONTEXT_DAEMON_IDLE_S")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(60);
    std::time::Duration::from_secs(seconds)
}
