//! A client's side of the daemon: connect to the folder's daemon, or start it and then
//! connect; `codecontext daemon status` and `stop`.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader},
    net::{unix::OwnedReadHalf, unix::OwnedWriteHalf, UnixStream},
};
use tracing::{debug, info};

use super::{build_id, Hello, Paths, Want, Welcome};

/// A session with the daemon, after its welcome.
pub struct Connection {
    pub welcome: Welcome,
    pub read: AsyncBufReader<OwnedReadHalf>,
    pub write: OwnedWriteHalf,
}

/// Says what `want`s to the daemon of `root` (canonical) if one answers; `Ok(None)`
/// when none runs.
pub async fn connect(root: &Path, want: Want) -> Result<Option<Connection>> {
    let paths = Paths::of(root);
    let stream = match UnixStream::connect(&paths.socket).await {
        Ok(s) => s,
        // No daemon, or one that died as we connected: a killed daemon's listener resets
        // the connections still in its backlog, which a non-blocking connect reports.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound
                    | std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(e).with_context(|| format!("connecting to {}", paths.socket.display()))
        }
    };
    let (read, mut write) = stream.into_split();
    let mut hello = serde_json::to_string(&Hello {
        want,
        build: build_id(),
    })?;
    hello.push('\n');
    let mut read = AsyncBufReader::new(read);
    let mut line = String::new();
    let answered = async {
        write.write_all(hello.as_bytes()).await?;
        read.read_line(&mut line).await
    };
    match answered.await {
        Ok(n) if n > 0 => {}
        // It was stopping, or died as we connected (a connection still in the backlog
        // of a killed daemon is reset).
        Ok(_) => return Ok(None),
        Err(e) => {
            debug!("the daemon of {} did not answer: {e}", root.display());
            return Ok(None);
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(&line).context("the daemon's answer is not JSON")?;
    if let Some(error) = value.get("error").and_then(|e| e.as_str()) {
        bail!("the daemon of {} refused: {error}", root.display());
    }
    let welcome: Welcome = serde_json::from_value(value).context("the daemon's welcome")?;
    Ok(Some(Connection {
        welcome,
        read,
        write,
    }))
}

/// A daemon log larger than this is moved aside (`.log.old`) when a daemon starts.
const MAX_LOG: u64 = 16 << 20;

/// Attempts to start a daemon and connect before giving up: a daemon that was dying as
/// a client found it is replaced on the next attempt.
const ATTEMPTS: usize = 5;

/// Connects to the daemon of `root` (canonical), starting it first when none runs.
pub async fn connect_or_start(root: &Path, want: Want) -> Result<Connection> {
    for _ in 0..ATTEMPTS {
        if let Some(c) = connect(root, want).await? {
            return Ok(c);
        }
        let started = tokio::task::spawn_blocking({
            let root = root.to_path_buf();
            move || start(&root)
        })
        .await
        .context("starting the daemon")??;
        if let Some(c) = connect(root, want).await? {
            if started {
                info!(
                    "started the daemon of {} (pid {})",
                    root.display(),
                    c.welcome.pid
                );
            }
            return Ok(c);
        }
    }
    bail!(
        "the daemon of {} did not answer; see {}",
        root.display(),
        Paths::of(root).log.display()
    )
}

/// Starts the daemon of `root` unless another client is starting it or one already
/// runs, and waits until it listens. Whether this call started it.
fn start(root: &Path) -> Result<bool> {
    let paths = Paths::of(root);
    if let Some(parent) = paths.starting.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let starting = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.starting)
        .with_context(|| format!("opening {}", paths.starting.display()))?;
    // Clients starting together take turns; the second finds the first's daemon.
    starting
        .lock()
        .context("waiting for another client starting the daemon")?;
    // A daemon holds the lock while it lives: one that answers is the one to use; one
    // that was killed lets go of it as the kernel closes its files, within moments.
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon_holds(&paths.lock) {
        if std::os::unix::net::UnixStream::connect(&paths.socket).is_ok() {
            return Ok(false);
        }
        if Instant::now() > deadline {
            bail!(
                "a daemon of {} holds {} but does not answer on {}",
                root.display(),
                paths.lock.display(),
                paths.socket.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The log is kept across daemons, up to a size: then it goes aside, and a new one
    // begins.
    if std::fs::metadata(&paths.log).is_ok_and(|m| m.len() > MAX_LOG) {
        let _ = std::fs::rename(&paths.log, paths.log.with_extension("log.old"));
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)
        .with_context(|| format!("opening {}", paths.log.display()))?;
    let exe = std::env::current_exe().context("finding the codecontext binary")?;
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(exe)
            .arg("daemon")
            .arg("run")
            .arg(root)
            // Not the client's folder: the daemon must not keep it busy.
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group: the editor's Ctrl-C or hang-up is not for it.
            .process_group(0)
            .spawn()
            .context("starting `codecontext daemon run`")?
    };
    let stdout = child.stdout.take().context("the daemon's stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    // Reaped when it exits, so that its pid does not linger as a zombie while we live.
    std::thread::spawn(move || child.wait());
    match line.trim() {
        "ready" => Ok(true),
        "running" => Ok(false),
        _ => bail!(
            "the daemon of {} did not start; see {}",
            root.display(),
            paths.log.display()
        ),
    }
}

/// Whether a live daemon holds the lock (the kernel lets go of it when the daemon dies).
fn daemon_holds(lock: &Path) -> bool {
    match std::fs::OpenOptions::new().read(true).open(lock) {
        Ok(file) => file.try_lock_shared().is_err(),
        Err(_) => false,
    }
}
