//! Requests, one file per method. Each waits until the notifications received before it
//! are applied, then answers from an analysis snapshot on tokio's blocking pool (a panic
//! there becomes that request's error), or asks the workspace. The custom methods
//! (`codecontext/*`, and the same as `workspace/executeCommand` commands) are one table,
//! [`custom::METHODS`].

mod assess;
mod call_hierarchy;
mod callers;
mod code_action;
mod context;
pub(crate) mod custom;
mod definition;
mod document_highlight;
mod document_symbol;
mod execute;
mod execute_command;
mod history;
mod hover;
mod implementation;
mod initialize;
mod memory;
mod perf_history;
mod references;
mod report;
mod rules;
mod search;
mod usages;
mod verify;
mod workspace_symbol;

use codecontext_workspace::blocking::{cancellable, Ended};
use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use codecontext_analysis::{cancel, FileId};
use codecontext_workspace::{Settings, WorkspaceError};
use serde_json::json;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::*,
    Client, LanguageServer,
};
use tracing::{debug, error, warn};

use super::{state::Shared, to_proto::Conv};

pub(crate) struct Backend {
    shared: Arc<Shared>,
    client: Client,
}

impl Backend {
    pub fn new(client: Client, shared: Arc<Shared>) -> Backend {
        Backend { shared, client }
    }

    /// A query about a position in a document: none when the document is not indexed or
    /// the position is not in it.
    async fn query_at<T, F>(
        &self,
        method: &'static str,
        position: TextDocumentPositionParams,
        f: F,
    ) -> Result<Option<T>>
    where
        T: Send + 'static,
        F: FnOnce(&Conv<'_>, FileId, u32) -> Result<Option<T>> + Send + 'static,
    {
        let uri = position.text_document.uri.clone();
        self.query(method, Some(uri), move |conv, _| {
            let Some((file, offset)) = at(conv, &position) else {
                return Ok(None);
            };
            f(conv, file, offset)
        })
        .await
    }

    /// Answers a request from the analysis once it has caught up with the client (with
    /// everything about `document`, the document it is about, if any; see
    /// [`Shared::caught_up`]).
    async fn query<T, F>(&self, method: &'static str, document: Option<Uri>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Conv<'_>, &Settings) -> Result<T> + Send + 'static,
    {
        let received = Instant::now();
        self.shared.caught_up(document.as_ref()).await;
        let caught_up = received.elapsed();
        let shared = self.shared.clone();
        let ended = cancellable(move || {
            let encoding = shared.session().encoding;
            let settings = shared.ws.settings();
            let budget = settings.request_budget();
            let started = Instant::now();
            let host = shared.read();
            let locked = started.elapsed();
            let analysis = host.analysis();
            let conv = Conv {
                analysis: &analysis,
                encoding,
            };
            let (result, cut) = cancel::within(budget, || f(&conv, &settings));
            debug!(
                "{method}: {:?} (waited {caught_up:?} for earlier changes, {locked:?} for the lock)",
                received.elapsed()
            );
            (result, cut.then_some(budget))
        })
        .await;
        match ended {
            Ended::Done((result, None)) => result,
            Ended::Done((result, Some(budget))) => {
                // The answers that can say so carry `truncated`; LSP's own cannot, so
                // the client's log says it.
                let why = format!(
                    "codecontext: {method} stopped at its {} ms budget (requestBudgetMs); the answer is partial",
                    budget.as_millis()
                );
                warn!("{why}");
                self.client.log_message(MessageType::WARNING, why).await;
                result
            }
            // The client is no longer waiting (tower-lsp has answered it already when
            // the future was dropped); an answer all the same, should anyone ask.
            Ended::Cancelled => {
                debug!("{method}: cancelled after {:?}", received.elapsed());
                Err(Error::request_cancelled())
            }
            Ended::Failed(why) => {
                error!("{method} failed: {why}");
                Err(Error {
                    code: ErrorCode::InternalError,
                    message: format!("codecontext: {method} failed: {why}").into(),
                    data: None,
                })
            }
        }
    }
}

/// The file and byte offset of a position, or `None` for a file we do not index.
fn at(conv: &Conv<'_>, doc: &TextDocumentPositionParams) -> Option<(FileId, u32)> {
    let file = conv.file(&doc.text_document.uri)?;
    let offset = conv.offset(file, doc.position)?;
    Some((file, offset))
}

/// An invalid-params error.
fn invalid(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

/// How blocking work on the workspace ended, as a request's answer: cancelled is
/// JSON-RPC's RequestCancelled, a panic an internal error that names the method.
fn finished<T>(method: &str, ended: Ended<std::result::Result<T, WorkspaceError>>) -> Result<T> {
    match ended {
        Ended::Done(answer) => answer.map_err(rpc_error),
        Ended::Cancelled => Err(Error::request_cancelled()),
        Ended::Failed(why) => Err(Error {
            code: ErrorCode::InternalError,
            message: format!("codecontext: {method} failed: {why}").into(),
            data: None,
        }),
    }
}

/// A workspace error as JSON-RPC: a wrong request is invalid params, a rate limit is
/// server error -32001 with `retryAfterMs`, anything else an internal error.
fn rpc_error(e: WorkspaceError) -> Error {
    match e {
        WorkspaceError::Invalid(message) => invalid(message),
        WorkspaceError::Internal(message) => Error {
            code: ErrorCode::InternalError,
            message: message.into(),
            data: None,
        },
        WorkspaceError::RateLimited {
            message,
            retry_after,
        } => Error {
            code: ErrorCode::ServerError(-32001),
            message: format!("too many executions for this project: {message}").into(),
            data: Some(json!({ "retryAfterMs": retry_after.as_millis() as u64 })),
        },
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        initialize::initialize(&self.shared, params)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        execute_command::execute_command(self, params).await
    }

    async fn shutdown(&self) -> Result<()> {
        self.shared.shutdown_requested.store(true, Ordering::SeqCst);
        if self.shared.shares_workspace {
            // The daemon's workspace serves its other clients on.
            return Ok(());
        }
        self.shared.ws.stop();
        // Writes still on their way to a shared backend that is up get a moment to
        // arrive; whatever does not stays queued on disk for the next start.
        self.shared.ws.settle(Duration::from_secs(5)).await;
        Ok(())
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        document_symbol::document_symbol(self, params).await
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<OneOf<Vec<SymbolInformation>, Vec<WorkspaceSymbol>>>> {
        workspace_symbol::symbol(self, params).await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        definition::goto_definition(self, params).await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        references::references(self, params).await
    }

    async fn document_highlight(
        &self,
        params: DocumentHighlightParams,
    ) -> Result<Option<Vec<DocumentHighlight>>> {
        document_highlight::document_highlight(self, params).await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        code_action::code_action(self, params).await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        hover::hover(self, params).await
    }

    async fn goto_implementation(
        &self,
        params: request::GotoImplementationParams,
    ) -> Result<Option<request::GotoImplementationResponse>> {
        implementation::goto_implementation(self, params).await
    }

    async fn prepare_call_hierarchy(
        &self,
        params: CallHierarchyPrepareParams,
    ) -> Result<Option<Vec<CallHierarchyItem>>> {
        call_hierarchy::prepare(self, params).await
    }

    async fn incoming_calls(
        &self,
        params: CallHierarchyIncomingCallsParams,
    ) -> Result<Option<Vec<CallHierarchyIncomingCall>>> {
        call_hierarchy::incoming(self, params).await
    }

    async fn outgoing_calls(
        &self,
        params: CallHierarchyOutgoingCallsParams,
    ) -> Result<Option<Vec<CallHierarchyOutgoingCall>>> {
        call_hierarchy::outgoing(self, params).await
    }
}
