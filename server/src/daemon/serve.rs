//! The daemon: `codecontext daemon run PATH`. It takes the folder's lock (a second
//! daemon of the same folder says so and leaves), listens on the folder's socket, indexes
//! the folder once, and serves each connection as one LSP or MCP session over the one
//! workspace, until it has had no client for the idle time or is told to stop.

use std::{
    io::Write,
    path::Path,
    process::ExitCode,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use codecontext_workspace::{Fanout, Settings, Workspace};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::watch,
};
use tracing::{error, info, warn};

use super::{build_id, Hello, Paths, Want, Welcome};
use crate::{lsp, mcp};

/// The longest first line a client may send.
const MAX_HELLO: usize = 4096;

/// What every connection of the daemon shares.
struct Daemon {
    ws: Arc<Workspace>,
    fanout: Arc<Fanout>,
    mcp: Arc<mcp::Ctx>,
    build: String,
    started: Instant,
    /// Sessions connected now.
    clients: watch::Sender<usize>,
    sessions: AtomicU64,
    stop: watch::Sender<bool>,
}

/// Runs the daemon of `path` until it is idle for `idle` or told to stop. Says `ready`
/// on stdout once it listens (or `running` when another daemon of the folder already
/// does), so that whoever started it knows when to connect; logs go to stderr.
pub fn run(path: &Path, idle: Duration) -> ExitCode {
    crate::lsp::init_logging();
    let root = match super::canonical_root(path) {
        Ok(root) => root,
        Err(e) => {
            error!("{}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let paths = Paths::of(&root);
    if let Some(parent) = paths.lock.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let lock = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)
    {
        Ok(f) => f,
        Err(e) => {
            error!("cannot open {}: {e}", paths.lock.display());
            return ExitCode::from(2);
        }
    };
    if lock.try_lock().is_err() {
        info!("a daemon already serves {}", root.display());
        say("running");
        return ExitCode::SUCCESS;
    }
    let _ = lock.set_len(0);
    let _ = writeln!(&lock, "{}", std::process::id());
    // At least four workers: writing a huge answer to one client (the outline of a file
    // of 100,000 definitions is megabytes of JSON) keeps a worker busy for a while, and
    // on a machine of two cores the other clients' small requests would wait for it.
    let workers = std::thread::available_parallelism().map_or(4, |n| n.get().max(4));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(workers)
        .thread_name("codecontext-daemon")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // A socket file left by a daemon that died is ours to replace: we hold the lock.
    let _ = std::fs::remove_file(&paths.socket);
    let listener = {
        let _entered = runtime.enter();
        match UnixListener::bind(&paths.socket) {
            Ok(l) => l,
            Err(e) => {
                error!("cannot listen on {}: {e}", paths.socket.display());
                return ExitCode::from(2);
            }
        }
    };
    // Only this user may connect: the daemon runs code (execute, verify_edit) for its
    // clients. The socket is the user's alone, and each peer's uid is checked.
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) =
            std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600))
        {
            error!("cannot restrict {}: {e}", paths.socket.display());
            return ExitCode::from(2);
        }
    }
    let fanout = Arc::new(Fanout::default());
    let ws = Workspace::new(
        Settings::default(),
        fanout.clone(),
        runtime.handle().clone(),
    );
    let Some(ctx) = mcp::Ctx::start(&ws, &root) else {
        error!("{} is not a folder", root.display());
        return ExitCode::from(2);
    };
    let _watcher = crate::disk::watch(&ws, &root);
    let daemon = Arc::new(Daemon {
        ws: ws.clone(),
        fanout,
        mcp: ctx,
        build: build_id(),
        started: Instant::now(),
        clients: watch::Sender::new(0),
        sessions: AtomicU64::new(0),
        stop: watch::Sender::new(false),
    });
    info!(
        "daemon of {} on {} (pid {}, leaves after {:?} without clients)",
        root.display(),
        paths.socket.display(),
        std::process::id(),
        idle
    );
    say("ready");
    runtime.block_on(accept(daemon.clone(), listener, idle));
    info!("daemon of {} stopping", root.display());
    let _ = std::fs::remove_file(&paths.socket);
    ws.stop();
    runtime.block_on(ws.settle(Duration::from_secs(5)));
    runtime.shutdown_background();
    drop(lock);
    ExitCode::SUCCESS
}

/// One line for whoever started the daemon (its stdout is their pipe, closed after).
fn say(word: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{word}");
    let _ = out.flush();
}

async fn accept(daemon: Arc<Daemon>, listener: UnixListener, idle: Duration) {
    let mut stop = daemon.stop.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) if !same_user(&stream) => {
                    warn!("refused a connection from another user");
                }
                Ok((stream, _)) => {
                    let daemon = daemon.clone();
                    tokio::spawn(async move { connection(daemon, stream).await });
                }
                Err(e) => warn!("accepting a client failed: {e}"),
            },
            () = idle_for(&daemon.clients, idle) => {
                info!("no client for {idle:?}");
                return;
            }
            _ = stop.wait_for(|s| *s) => {
                info!("told to stop");
                return;
            }
        }
    }
}

/// Returns once no client has been connected for `idle`.
async fn idle_for(clients: &watch::Sender<usize>, idle: Duration) {
    let mut rx = clients.subscribe();
    loop {
        let _ = rx.wait_for(|n| *n == 0).await;
        tokio::select! {
            () = tokio::time::sleep(idle) => return,
            changed = rx.changed() => if changed.is_err() { return },
        }
    }
}

/// Counts a session while it lives.
struct Attached<'a>(&'a Daemon);

impl<'a> Attached<'a> {
    fn new(daemon: &'a Daemon) -> Attached<'a> {
        daemon.clients.send_modify(|n| *n += 1);
        daemon.sessions.fetch_add(1, Ordering::SeqCst);
        Attached(daemon)
    }
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.0.clients.send_modify(|n| *n = n.saturating_sub(1));
    }
}

async fn connection(daemon: Arc<Daemon>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    let read_hello = tokio::time::timeout(Duration::from_secs(10), async {
        let mut limited = (&mut reader).take(MAX_HELLO as u64);
        limited.read_until(b'\n', &mut line).await
    })
    .await;
    let hello: Hello = match read_hello {
        Ok(Ok(n)) if n > 0 => match serde_json::from_slice(&line) {
            Ok(hello) => hello,
            Err(e) => {
                let _ = refuse(&mut write, &format!("bad hello: {e}")).await;
                return;
            }
        },
        _ => return,
    };
    if hello.build != daemon.build && matches!(hello.want, Want::Lsp | Want::Mcp) {
        let message = format!(
            "this daemon is build `{}`, the client `{}`",
            daemon.build, hello.build
        );
        let _ = refuse(&mut write, &message).await;
        return;
    }
    let attached = matches!(hello.want, Want::Lsp | Want::Mcp).then(|| Attached::new(&daemon));
    let welcome = welcome(&daemon);
    let mut text = serde_json::to_string(&welcome).unwrap_or_default();
    text.push('\n');
    if write.write_all(text.as_bytes()).await.is_err() {
        return;
    }
    match hello.want {
        Want::Status => {}
        Want::Stop => {
            daemon.stop.send_replace(true);
        }
        Want::Lsp => {
            info!("LSP client attached ({} now)", welcome.clients);
            let host = lsp::Host::Shared {
                ws: daemon.ws.clone(),
                fanout: daemon.fanout.clone(),
                indexed: daemon.mcp.indexed_watch(),
            };
            lsp::serve_session(host, reader, write).await;
            info!("LSP client left");
        }
        Want::Mcp => {
            info!("MCP client attached ({} now)", welcome.clients);
            if let Err(e) = mcp::serve_stream(daemon.mcp.clone(), reader, write).await {
                info!("MCP session ended: {e}");
            }
            info!("MCP client left");
        }
    }
    drop(attached);
}

fn welcome(daemon: &Daemon) -> Welcome {
    Welcome {
        pid: std::process::id(),
        root: daemon.mcp.root.clone(),
        build: daemon.build.clone(),
        clients: *daemon.clients.borrow(),
        sessions: daemon.sessions.load(Ordering::SeqCst),
        index_version: daemon.ws.freshness(&daemon.mcp.root).index_version,
        uptime_ms: daemon.started.elapsed().as_millis() as u64,
    }
}

async fn refuse(write: &mut (impl AsyncWriteExt + Unpin), message: &str) -> std::io::Result<()> {
    warn!("client refused: {message}");
    let line = format!("{}\n", serde_json::json!({ "error": message }));
    write.write_all(line.as_bytes()).await
}

/// Whether the peer runs as this process's user.
fn same_user(stream: &UnixStream) -> bool {
    use std::os::unix::fs::MetadataExt;
    let ours = std::fs::metadata("/proc/self").map(|m| m.uid());
    match (stream.peer_cred(), ours) {
        (Ok(peer), Ok(ours)) => peer.uid() == ours,
        _ => false,
    }
}
