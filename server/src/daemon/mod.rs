//! One index per workspace folder, shared by every client: the daemon.
//!
//! `codecontext serve --stdio` and `codecontext mcp` connect to the folder's daemon
//! through a Unix socket beside the folder's store, and start it when none answers
//! ([`client`]); they then carry their client's messages to it and back ([`forward`]),
//! and when it dies they start a new one and replay what their client had set up (the
//! `initialize` handshake, the open documents). The daemon ([`serve`]) holds one
//! workspace: one index, one set of backend connections, one sandbox pool; each
//! connection is one LSP or MCP session over it. It leaves some time after its last
//! client (`CODECONTEXT_DAEMON_IDLE_S`, 60 s by default).
//!
//! A connection starts with one line of JSON from the client, [`Hello`], answered by one
//! line, [`Welcome`] (or `{"error": ...}`); the session's own protocol follows.

pub mod client;
pub mod forward;
mod serve;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tracing::warn;

pub use serve::run;

/// `codecontext serve --stdio`: LSP through the daemon of the folder the client's
/// `initialize` names, started if need be; in this process with `no_daemon`, when the
/// client names no folder, or when no daemon can be reached (said in the log).
pub fn serve_lsp(no_daemon: bool) -> ExitCode {
    crate::lsp::init_logging();
    let Some(runtime) = runtime() else {
        return ExitCode::from(2);
    };
    let code = runtime.block_on(async {
        if no_daemon {
            return crate::lsp::serve_exit_code(tokio::io::stdin(), tokio::io::stdout()).await;
        }
        let mut input = tokio::io::BufReader::new(tokio::io::stdin());
        let Some(first) = forward::read_message(forward::Wire::Lsp, &mut input).await else {
            return ExitCode::from(1);
        };
        let root = serde_json::from_slice(&first)
            .ok()
            .and_then(|m| forward::folder_of_initialize(&m))
            .and_then(|f| canonical_root(&f).ok());
        if let Some(root) = root {
            match client::connect_or_start(&root, Want::Lsp).await {
                Ok(connection) => {
                    let forwarded =
                        forward::forward(forward::Wire::Lsp, &root, connection, Some(first), input);
                    return forwarded.await.unwrap_or_else(|e| {
                        tracing::error!("{e:#}");
                        ExitCode::from(1)
                    });
                }
                Err(e) => warn!("{e:#}; serving in this process"),
            }
        }
        // What was read already goes first.
        let replay = std::io::Cursor::new(forward::frame(forward::Wire::Lsp, &first));
        crate::lsp::serve_exit_code(replay.chain(input), tokio::io::stdout()).await
    });
    // Background work (a long request, indexing) must not hold up the exit.
    runtime.shutdown_background();
    code
}

/// `codecontext mcp PATH` over stdio: through the folder's daemon, started if need be;
/// in this process with `no_daemon` or `--no-store`, or when no daemon can be reached.
pub fn serve_mcp(path: &Path, persist: bool, no_daemon: bool) -> ExitCode {
    if no_daemon || !persist {
        return crate::mcp::run(path, persist, crate::mcp::Transport::Stdio);
    }
    crate::lsp::init_logging();
    let root = match canonical_root(path) {
        Ok(root) => root,
        Err(e) => {
            tracing::error!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let Some(runtime) = runtime() else {
        return ExitCode::from(2);
    };
    let connection = runtime.block_on(client::connect_or_start(&root, Want::Mcp));
    let code = match connection {
        Ok(connection) => runtime
            .block_on(forward::forward(
                forward::Wire::Mcp,
                &root,
                connection,
                None,
                tokio::io::BufReader::new(tokio::io::stdin()),
            ))
            .unwrap_or_else(|e| {
                tracing::error!("{e:#}");
                ExitCode::from(1)
            }),
        Err(e) => {
            warn!("{e:#}; serving in this process");
            runtime.shutdown_background();
            return crate::mcp::run(path, persist, crate::mcp::Transport::Stdio);
        }
    };
    runtime.shutdown_background();
    code
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            None
        }
    }
}

/// What a client wants of the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Want {
    /// An LSP session (Content-Length framed JSON-RPC).
    Lsp,
    /// An MCP session (newline-delimited JSON-RPC).
    Mcp,
    /// The daemon's state, then the connection closes.
    Status,
    /// The daemon stops (its clients start a new one if they still need it).
    Stop,
}

/// The client's first line.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hello {
    pub want: Want,
    /// The client binary's [`build_id`]: a daemon of another build answers with an
    /// error, and the client serves in-process instead.
    pub build: String,
}

/// The daemon's answer to a [`Hello`], and what `codecontext daemon status` prints.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    pub pid: u32,
    pub root: PathBuf,
    pub build: String,
    /// LSP and MCP sessions connected now (this one included).
    pub clients: usize,
    /// Sessions served since the daemon started.
    pub sessions: u64,
    /// The index's version (it grows with every change applied).
    pub index_version: u64,
    pub uptime_ms: u64,
}

/// Where one folder's daemon is found: beside the folder's store.
#[derive(Clone, Debug)]
pub struct Paths {
    pub socket: PathBuf,
    /// Held (locked) by the running daemon for its whole life; holds its pid.
    pub lock: PathBuf,
    /// Held by a client while it starts a daemon, so that clients starting together
    /// start one.
    pub starting: PathBuf,
    /// The daemon's log (its stderr).
    pub log: PathBuf,
}

/// Unix socket paths are limited to about 108 bytes.
const MAX_SOCKET_PATH: usize = 100;

impl Paths {
    /// The paths of the daemon of `root` (canonical) for this user's store folder.
    pub fn of(root: &Path) -> Paths {
        let home = codecontext_config::store_home();
        let store = codecontext_store::store_path(&home, root);
        let mut socket = store.with_extension("sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            // In a folder of the user's own (mode 0700) under the temporary folder.
            let hash = fnv1a(socket.as_os_str().as_encoded_bytes());
            let dir = std::env::temp_dir().join(format!(
                "codecontext-{:016x}",
                fnv1a(home.as_os_str().as_encoded_bytes())
            ));
            {
                use std::os::unix::fs::DirBuilderExt;
                let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
            }
            socket = dir.join(format!("{hash:016x}.sock"));
        }
        Paths {
            socket,
            lock: store.with_extension("daemon.lock"),
            starting: store.with_extension("daemon.starting"),
            log: store.with_extension("daemon.log"),
        }
    }
}

/// FNV-1a: enough to tell sockets apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Which build of `codecontext` this is: the version and the executable's modification
/// time, so that a rebuilt binary does not talk to an older daemon.
pub fn build_id() -> String {
    let modified = std::env::current_exe()
        .and_then(std::fs::metadata)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{} {modified}", env!("CARGO_PKG_VERSION"))
}

/// The folder a client names, canonical (the daemon's identity).
pub fn canonical_root(path: &Path) -> std::io::Result<PathBuf> {
    let root = path.canonicalize()?;
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            format!("{} is not a folder", root.display()),
        ));
    }
    Ok(root)
}
