//! The MCP SDK (rmcp), and nothing else of the server knows it: the tool registry
//! ([`super::tools::ALL`]) as `tools/list`, calls dispatched by name with the request's
//! cancellation, and each answer as `structuredContent` with its JSON text as content. A
//! tool's error is a result with `isError: true`, never the end of the session. Served
//! over stdio, or as Streamable HTTP on a loopback address (each HTTP session gets its
//! own handler over the one shared workspace).

use std::{
    borrow::Cow,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
        ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
        ServerConfig, Tool, ToolAnnotations,
    },
    service::RequestContext,
    ErrorData, RoleServer, ServerHandler, ServiceExt,
};
use serde_json::{json, Value};
use tracing::warn;

use super::{tools, Ctx};

struct Handler {
    ctx: Arc<Ctx>,
}

/// Serves Streamable HTTP at `addr` (any path), until the process is stopped; `bound` is
/// told the address actually bound (port 0 picks one).
pub(super) async fn serve_http(
    ctx: Arc<Ctx>,
    addr: std::net::SocketAddr,
    bound: impl FnOnce(std::net::SocketAddr),
) -> Result<(), String> {
    use rmcp::transport::streamable_http_server::{
        session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
    };
    // The SDK's defaults accept only loopback Host headers (DNS rebinding).
    let service = StreamableHttpService::new(
        move || Ok(Handler { ctx: ctx.clone() }),
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    bound(listener.local_addr().map_err(|e| e.to_string())?);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("accepting a connection failed: {e}");
                continue;
            }
        };
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
}

/// Serves until the client closes the connection.
pub(super) async fn serve_stdio(ctx: Arc<Ctx>) -> Result<(), String> {
    serve_stream(ctx, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves newline-delimited JSON-RPC over a byte stream pair until it closes.
pub(super) async fn serve_stream<R, W>(ctx: Arc<Ctx>, input: R, output: W) -> Result<(), String>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let service = Handler { ctx }
        .serve((input, output))
        .await
        .map_err(|e| e.to_string())?;
    service.waiting().await.map_err(|e| e.to_string())?;
    Ok(())
}

fn object(value: Value) -> Arc<serde_json::Map<String, Value>> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(serde_json::Map::new()),
    }
}

fn tool(def: &tools::ToolDef) -> Tool {
    let annotations = ToolAnnotations::with_title(def.title)
        .read_only(def.read_only)
        .destructive(def.destructive)
        .idempotent(def.read_only);
    Tool::new(
        Cow::Borrowed(def.name),
        Cow::Borrowed(def.description),
        object((def.input_schema)()),
    )
    .with_title(def.title)
    .with_raw_output_schema(object(tools::with_freshness((def.output_schema)())))
    .with_annotations(annotations)
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "codecontext",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(
                "CodeContext knows this project's code as a graph: find symbols, definitions, \
                 references and call graphs, read a file's outline, run snippets and verify \
                 proposed edits in a sandbox. Positions are `path:line:col`, 1-based. Every \
                 answer says how fresh it is (`freshness`); long lists come in pages (pass \
                 `cursor` back).",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            tools::ALL.iter().map(tool).collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(def) = tools::ALL.iter().find(|t| t.name == request.name) else {
            let names: Vec<&str> = tools::ALL.iter().map(|t| t.name).collect();
            return Ok(error_result(format!(
                "no tool is named `{}`; the tools are {}",
                request.name,
                names.join(", ")
            )));
        };
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let steps = Arc::new(Steps::default());
        let run = STEPS.scope(steps.clone(), (def.run)(&self.ctx, arguments));
        let progress = progress(&self.ctx, def.name, &context, &steps);
        let outcome = tokio::select! {
            outcome = run => outcome,
            _ = context.ct.cancelled() => Err(tools::ToolError::new("cancelled by the client")),
            () = progress => unreachable!("progress is reported until the call ends"),
        };
        Ok(match outcome {
            Ok(answer) => {
                let answer = tools::stamped(&self.ctx, answer);
                CallToolResult::structured(answer).into()
            }
            Err(e) => {
                warn!("{}: {}", def.name, e.message);
                error_result(e.message)
            }
        })
    }
}

tokio::task_local! {
    /// The steps of the tool call running on this task, for its progress notifications.
    static STEPS: Arc<Steps>;
}

/// How far a tool call that counts its work (files searched) has come, and the phases
/// it has begun (a verification's install, its tests).
#[derive(Default)]
pub(crate) struct Steps {
    done: AtomicUsize,
    total: AtomicUsize,
    /// Phases begun and not yet told, in order.
    begun: std::sync::Mutex<Vec<String>>,
    /// Wakes the progress loop when a phase begins (a permit is kept if it is not
    /// waiting).
    began: tokio::sync::Notify,
}

impl Steps {
    /// The steps of the tool call running on this task (`None` outside a call).
    pub(crate) fn of_call() -> Option<Arc<Steps>> {
        STEPS.try_with(Arc::clone).ok()
    }

    pub(crate) fn set(&self, done: usize, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
    }

    /// A phase begins: a call that asked for progress hears of it at once, and of each
    /// phase, however quickly the next one follows.
    pub(crate) fn begin(&self, phase: String) {
        self.begun
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(phase);
        self.began.notify_one();
    }

    fn take_begun(&self) -> Vec<String> {
        std::mem::take(
            &mut *self
                .begun
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// How often a call that asked for progress (`_meta.progressToken`) hears of it.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Reports progress of a call that asked for it, every [`PROGRESS_EVERY`] and as each of
/// its phases begins, until the call ends (this future never does): what it waits for
/// (the first indexing, with the files still to go), how far it has come when it counts
/// its steps, the phase it is in, and for how long.
/// Clients that time calls out reset their clock on each notification, so a long
/// verification is not given up on.
async fn progress(ctx: &Ctx, tool: &str, context: &RequestContext<RoleServer>, steps: &Steps) {
    let Some(token) = context.meta.get_progress_token() else {
        return std::future::pending().await;
    };
    let started = std::time::Instant::now();
    let mut every = tokio::time::interval(PROGRESS_EVERY);
    every.tick().await; // the first tick is now
    let mut count = 0.0;
    let mut phase: Option<String> = None;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = steps.began.notified() => {}
        }
        let begun = steps.take_begun();
        // One notification per phase begun since the last, else one for the tick.
        let told = if begun.is_empty() {
            vec![phase.clone()]
        } else {
            begun.into_iter().map(Some).collect()
        };
        for now in told {
            count += 1.0;
            phase = now;
            let pending = ctx.ws.freshness(&ctx.root).pending_files;
            let seconds = started.elapsed().as_secs();
            let (done, total) = (
                steps.done.load(Ordering::Relaxed),
                steps.total.load(Ordering::Relaxed),
            );
            // The progress must grow with every notification, whether or not the steps
            // did: the notifications count, and the steps done are added to them.
            let message = if pending > 0 {
                format!("{tool}: indexing the project, {pending} files to go ({seconds} s)")
            } else if total > 0 {
                format!("{tool}: {done} of {total} files ({seconds} s)")
            } else if let Some(phase) = &phase {
                format!("{tool}: {phase} ({seconds} s)")
            } else {
                format!("{tool}: working ({seconds} s)")
            };
            let note = ProgressNotificationParam::new(token.clone(), count + done as f64)
                .with_message(message);
            if let Err(e) = context.peer.notify_progress(note).await {
                tracing::debug!("{tool}: progress not sent: {e}");
            }
        }
    }
}

fn error_result(message: String) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(
        json!({ "error": message }).to_string(),
    )])
    .into()
}
