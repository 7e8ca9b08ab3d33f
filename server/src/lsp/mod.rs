//! The language server: LSP over stdio with tower-lsp-server, a thin adapter over the
//! workspace (`codecontext-workspace`).
//!
//! Three kinds of work, three places:
//! - state-changing notifications (`textDocument/did*`, `workspace/didChange*`,
//!   `initialized`) are taken out of the message stream in arrival order by [`Ordered`]
//!   and applied one by one on the applier thread ([`applier`], one file per method in
//!   [`notifications`]), whatever the concurrency of the request handlers;
//! - folders are indexed on the indexer thread ([`indexer`]), which holds the host's
//!   lock only to insert each finished batch;
//! - requests ([`requests`], one file per method) wait until every notification
//!   received before them is applied, then read the host on tokio's blocking pool (a
//!   panic there becomes that request's error), or ask the workspace.

mod applier;
mod diagnostics;
mod framing;
mod from_proto;
mod indexer;
mod notifications;
mod notifier;
mod requests;
mod state;
mod to_proto;
mod watcher;

use std::{
    future::Future,
    pin::Pin,
    process::ExitCode,
    sync::{atomic::Ordering, mpsc, Arc},
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{
    jsonrpc::{Request, Response},
    ExitedError, LspService, Server,
};
use tower_service::Service;
use tracing::info;

pub use codecontext_workspace::Settings;
use codecontext_workspace::{Fanout, Workspace};
use notifications::ORDERED;
use notifier::LspNotifier;
use requests::{custom::METHODS, Backend};
use state::{Shared, Work};

/// How many requests tower-lsp keeps in progress at once; past that it stops reading
/// messages. A request about a document still being processed in the background waits
/// (see `state::Shared::caught_up`) without working: tower-lsp's default of 4 let four
/// such requests stop every answer about the other files.
const CONCURRENT_REQUESTS: usize = 64;

pub(crate) use from_proto::path_of as path_of_uri;

/// Serves one client over a byte stream pair in this process until `exit` (or until
/// the input closes). The exit code is 0 if `shutdown` came first, 1 otherwise, as the
/// specification says.
pub(crate) async fn serve_exit_code<I, O>(input: I, output: O) -> ExitCode
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    if serve(input, output).await {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Logs go to stderr (stdout is the protocol); `CODECONTEXT_LOG` filters them, as
/// `RUST_LOG` would (default `info`).
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CODECONTEXT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

/// Serves one client over a byte stream pair; returns whether `shutdown` preceded the
/// end. Tests run it in-process over pipes.
pub async fn serve<I, O>(input: I, output: O) -> bool
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    serve_session(Host::Own, input, output).await
}

/// Where a session's workspace comes from.
pub(crate) enum Host {
    /// A workspace of its own, made for it and stopped when it ends (`--no-daemon`).
    Own,
    /// The daemon's, shared with its other clients: the session's messages and
    /// progress join the fan-out, and when it ends the documents it held open are
    /// released and the workspace goes on.
    Shared {
        ws: Arc<Workspace>,
        fanout: Arc<Fanout>,
        /// Turns `true` when the daemon's first indexing of its folder is done.
        indexed: tokio::sync::watch::Receiver<bool>,
    },
}

/// Serves one client over a byte stream pair with a workspace of its own or the
/// daemon's; returns whether `shutdown` preceded the end.
pub(crate) async fn serve_session<I, O>(host: Host, input: I, output: O) -> bool
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (work_tx, work_rx) = mpsc::channel();
    let notifier = Arc::new(LspNotifier::default());
    let (ws, attached, indexed) = match host {
        Host::Own => (
            Workspace::new(
                Settings::default(),
                notifier.clone(),
                tokio::runtime::Handle::current(),
            ),
            None,
            None,
        ),
        Host::Shared {
            ws,
            fanout,
            indexed,
        } => {
            let key = fanout.attach(notifier.clone());
            (ws, Some((fanout, key)), Some(indexed))
        }
    };
    let mut shared = Shared::new(work_tx, ws, notifier);
    shared.shares_workspace = attached.is_some();
    shared.daemon_indexed = indexed;
    let shared = Arc::new(shared);
    applier::spawn_applier(shared.clone(), work_rx);
    let mut builder = LspService::build(|client| {
        shared.notifier.set_client(client.clone());
        Backend::new(client, shared.clone())
    });
    for method in METHODS {
        builder = builder.custom_method(method.request, method.handler);
    }
    let (service, socket) = builder.finish();
    let service = Ordered {
        inner: service,
        shared: shared.clone(),
    };
    // The client's bytes pass the framing guard; the service's frames and the guard's
    // error replies share one writer.
    let (guard_to_service, service_input) = tokio::io::duplex(1 << 20);
    let (service_output, service_to_writer) = tokio::io::duplex(1 << 20);
    let (frames_tx, frames_rx) = tokio::sync::mpsc::unbounded_channel();
    let guard = tokio::spawn(framing::guard_input(
        input,
        guard_to_service,
        frames_tx.clone(),
    ));
    let collect = tokio::spawn(framing::collect_output(service_to_writer, frames_tx));
    let writer = tokio::spawn(framing::write_output(output, frames_rx));
    Server::new(service_input, service_output, socket)
        .concurrency_level(CONCURRENT_REQUESTS)
        .serve(service)
        .await;
    // After `exit` the client may keep its end open: stop reading it, then let every
    // frame already produced reach the client.
    guard.abort();
    let _ = guard.await;
    let _ = collect.await;
    let _ = writer.await;
    match attached {
        None => shared.ws.stop(),
        Some((fanout, key)) => fanout.detach(key),
    }
    shared.send(Work::Stop);
    let clean = shared.shutdown_requested.load(Ordering::SeqCst);
    info!(
        "exiting ({})",
        if clean {
            "after shutdown"
        } else {
            "without shutdown"
        }
    );
    clean
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Takes state-changing notifications out of the stream, in the order they arrive, and
/// hands everything else to the LSP service.
struct Ordered<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> Service<Request> for Ordered<S>
where
    S: Service<Request, Response = Option<Response>, Error = ExitedError>,
    S::Future: Send + 'static,
{
    type Response = Option<Response>;
    type Error = ExitedError;
    type Future = BoxFuture<Result<Option<Response>, ExitedError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExitedError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if req.id().is_none() && ORDERED.contains(&req.method()) {
            let (method, _, params) = req.into_parts();
            self.shared.enqueue(method.into_owned(), params);
            return Box::pin(async { Ok(None) });
        }
        Box::pin(self.inner.call(req))
    }
}
