//! The MCP server: CodeContext for AI assistants (Claude Code, Cursor, Copilot, Codex,
//! Zed) over stdio or Streamable HTTP on loopback, a thin adapter over the workspace as
//! the language server is.
//!
//! - [`tools`]: the registry, one file per tool; each tool is a function from JSON
//!   arguments to a JSON answer, with its input and output schemas and annotations.
//! - [`sdk`]: the one module that knows the MCP SDK (rmcp), so that it can be replaced.
//!
//! The folder is indexed in the background from its store (a warm start when it was
//! indexed before); tools that answer from the graph wait for that first indexing, then
//! answer from the live index. Every answer carries a freshness stamp.

mod sdk;
pub mod tools;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use codecontext_workspace::{Settings, Silent, Workspace};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::watch,
};
use tracing::error;

/// What every tool call can reach: the workspace, the folder, and whether its first
/// indexing is done.
pub struct Ctx {
    pub ws: Arc<Workspace>,
    pub root: PathBuf,
    indexed: watch::Receiver<bool>,
    pub(crate) runs: tools::get_run::Runs,
}

impl Ctx {
    /// Starts indexing `path` in `ws` (in the background) and makes the context its MCP
    /// sessions share; `None` when it is not a folder.
    pub fn start(ws: &Arc<Workspace>, path: &Path) -> Option<Arc<Ctx>> {
        let indexing = ws.index_in_background(path)?;
        Some(Arc::new(Ctx {
            ws: ws.clone(),
            root: indexing.root,
            indexed: indexing.done,
            runs: Default::default(),
        }))
    }

    /// Turns `true` when the folder's first indexing is done.
    pub(crate) fn indexed_watch(&self) -> watch::Receiver<bool> {
        self.indexed.clone()
    }

    /// Waits until the folder's first indexing is done (at once afterwards).
    pub async fn indexed(&self) {
        let mut rx = self.indexed.clone();
        let _ = rx.wait_for(|done| *done).await;
    }
}

/// Serves one MCP session over a byte stream pair (a daemon's client), until it ends.
pub(crate) async fn serve_stream<R, W>(ctx: Arc<Ctx>, input: R, output: W) -> Result<(), String>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    sdk::serve_stream(ctx, input, output).await
}

/// How the MCP server is reached.
pub enum Transport {
    /// stdin and stdout, one client, until it leaves.
    Stdio,
    /// Streamable HTTP on a loopback address, until the process is stopped.
    Http(std::net::SocketAddr),
}

/// Serves MCP for the folder `path`.
pub fn run(path: &Path, persist: bool, transport: Transport) -> ExitCode {
    if let Transport::Http(addr) = &transport {
        if !addr.ip().is_loopback() {
            let line = format!("codecontext: error: {addr} is not a loopback address: the MCP server listens on 127.0.0.1 or ::1 only\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            return ExitCode::from(2);
        }
    }
    crate::lsp::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("codecontext-mcp")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            error!("cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let settings = Settings {
        persist,
        ..Settings::default()
    };
    // The workspace logs what it would tell a user (stdout is the protocol); MCP
    // progress belongs to each call.
    let ws = Workspace::new(settings, Arc::new(Silent), runtime.handle().clone());
    let Some(ctx) = Ctx::start(&ws, path) else {
        error!("{} is not a folder", path.display());
        return ExitCode::from(2);
    };
    let _watcher = crate::disk::watch(&ws, &ctx.root);
    let result = match transport {
        Transport::Stdio => runtime.block_on(sdk::serve_stdio(ctx)),
        Transport::Http(addr) => runtime.block_on(sdk::serve_http(ctx, addr, |bound| {
            // On stderr, for whoever started it (a port 0 becomes a real one).
            let line = format!("codecontext: MCP on http://{bound}/mcp\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        })),
    };
    ws.stop();
    runtime.block_on(ws.settle(std::time::Duration::from_secs(5)));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("MCP session ended: {e}");
            ExitCode::from(1)
        }
    }
}
