//! How the workspace tells the user things: messages (a backend went down, a bad
//! configuration) and work-done progress (indexing, a run, writing the team's graph).
//! Each adapter implements [`Notifier`] in its own terms: the LSP server as
//! `window/showMessage` and `$/progress`, the CLI on stderr, tests by recording.

use std::sync::Arc;

use codecontext_store::BoxFuture;

/// How much a message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// Where the workspace's messages and progress go. Every method may be called from any
/// thread of the runtime; none may block.
pub trait Notifier: Send + Sync {
    /// A message for the user (not the log: the workspace logs through `tracing`).
    fn message(&self, level: Level, text: String) -> BoxFuture<'_, ()>;

    /// Starts work-done progress under `token` (unique per workspace); whether the
    /// user will see it. When it answers `false`, `report` and `end` are not called.
    fn begin(
        &self,
        token: String,
        title: String,
        message: Option<String>,
        cancellable: bool,
    ) -> BoxFuture<'_, bool>;

    /// Progress of work begun under `token`: a message and, when known, a percentage.
    fn report(&self, token: String, message: String, percentage: Option<u32>) -> BoxFuture<'_, ()>;

    /// The end of work begun under `token`, with what came of it.
    fn end(&self, token: String, message: String) -> BoxFuture<'_, ()>;
}

/// Tells nobody: for tests and for callers that only read the log.
pub struct Silent;

impl Notifier for Silent {
    fn message(&self, _: Level, _: String) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn begin(&self, _: String, _: String, _: Option<String>, _: bool) -> BoxFuture<'_, bool> {
        Box::pin(async { false })
    }

    fn report(&self, _: String, _: String, _: Option<u32>) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    fn end(&self, _: String, _: String) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Work under way, as the user sees it: a no-op when the notifier declined it.
pub struct Progress {
    notifier: Arc<dyn Notifier>,
    token: Option<String>,
}

impl Progress {
    pub(crate) async fn begin(
        notifier: Arc<dyn Notifier>,
        token: String,
        title: &str,
        message: Option<String>,
        cancellable: bool,
    ) -> Progress {
        let shown = notifier
            .begin(token.clone(), title.to_string(), message, cancellable)
            .await;
        Progress {
            notifier,
            token: shown.then_some(token),
        }
    }

    pub async fn report(&self, message: String, percentage: Option<u32>) {
        if let Some(token) = &self.token {
            self.notifier
                .report(token.clone(), message, percentage)
                .await;
        }
    }

    pub async fn end(self, message: String) {
        if let Some(token) = self.token {
            self.notifier.end(token, message).await;
        }
    }
}
