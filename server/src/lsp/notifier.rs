//! The workspace's messages and progress as LSP: `window/showMessage`, and work-done
//! progress (`window/workDoneProgress/create`, then `$/progress`) when the client
//! declared `window.workDoneProgress`.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    OnceLock,
};

use codecontext_store::BoxFuture;
use codecontext_workspace::{Level, Notifier};
use tower_lsp_server::{
    lsp_types::{
        notification::Progress, request::WorkDoneProgressCreate, MessageType, NumberOrString,
        ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
        WorkDoneProgressCreateParams, WorkDoneProgressEnd, WorkDoneProgressReport,
    },
    Client,
};
use tracing::warn;

/// The client, once the service is built, and whether it takes progress.
#[derive(Default)]
pub(crate) struct LspNotifier {
    client: OnceLock<Client>,
    progress: AtomicBool,
}

impl LspNotifier {
    pub fn set_client(&self, client: Client) {
        let _ = self.client.set(client);
    }

    pub fn client(&self) -> Option<&Client> {
        self.client.get()
    }

    /// Whether the client declared `window.workDoneProgress` at `initialize`.
    pub fn set_progress(&self, progress: bool) {
        self.progress.store(progress, Ordering::SeqCst);
    }

    async fn send(&self, token: String, value: WorkDoneProgress) {
        if let Some(client) = self.client() {
            // Waits for the message to be queued, so progress reaches the client in order.
            client
                .send_notification::<Progress>(ProgressParams {
                    token: NumberOrString::String(token),
                    value: ProgressParamsValue::WorkDone(value),
                })
                .await;
        }
    }
}

impl Notifier for LspNotifier {
    fn message(&self, level: Level, text: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let kind = match level {
                Level::Info => MessageType::INFO,
                Level::Warning => MessageType::WARNING,
                Level::Error => MessageType::ERROR,
            };
            if let Some(client) = self.client() {
                client.show_message(kind, text).await;
            }
        })
    }

    fn begin(
        &self,
        token: String,
        title: String,
        message: Option<String>,
        cancellable: bool,
    ) -> BoxFuture<'_, bool> {
        Box::pin(async move {
            let Some(client) = self.client() else {
                return false;
            };
            if !self.progress.load(Ordering::SeqCst) {
                return false;
            }
            let created = client
                .send_request::<WorkDoneProgressCreate>(WorkDoneProgressCreateParams {
                    token: NumberOrString::String(token.clone()),
                })
                .await;
            if let Err(e) = created {
                warn!("work done progress refused: {e}");
                return false;
            }
            self.send(
                token,
                WorkDoneProgress::Begin(WorkDoneProgressBegin {
                    title,
                    cancellable: Some(cancellable),
                    message,
                    percentage: None,
                }),
            )
            .await;
            true
        })
    }

    fn report(&self, token: String, message: String, percentage: Option<u32>) -> BoxFuture<'_, ()> {
        Box::pin(self.send(
            token,
            WorkDoneProgress::Report(WorkDoneProgressReport {
                cancellable: Some(false),
                message: Some(message),
                percentage,
            }),
        ))
    }

    fn end(&self, token: String, message: String) -> BoxFuture<'_, ()> {
        Box::pin(self.send(
            token,
            WorkDoneProgress::End(WorkDoneProgressEnd {
                message: Some(message),
            }),
        ))
    }
}
