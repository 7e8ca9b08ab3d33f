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

/// Tells every client attached to a shared workspace (the daemon's): messages go to all
/// of them, progress to those that showed its beginning. Clients come and go.
#[derive(Default)]
pub struct Fanout {
    next: std::sync::atomic::AtomicU64,
    sinks: std::sync::Mutex<Vec<(u64, Arc<dyn Notifier>)>>,
    /// Per progress token, the clients showing it.
    shown: std::sync::Mutex<std::collections::HashMap<String, Vec<u64>>>,
}

impl Fanout {
    /// Attaches a client's notifier; the key detaches it.
    pub fn attach(&self, sink: Arc<dyn Notifier>) -> u64 {
        let key = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        lock(&self.sinks).push((key, sink));
        key
    }

    pub fn detach(&self, key: u64) {
        lock(&self.sinks).retain(|(k, _)| *k != key);
    }

    fn sinks(&self, only: Option<&[u64]>) -> Vec<Arc<dyn Notifier>> {
        lock(&self.sinks)
            .iter()
            .filter(|(k, _)| only.is_none_or(|keys| keys.contains(k)))
            .map(|(_, s)| s.clone())
            .collect()
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Notifier for Fanout {
    fn message(&self, level: Level, text: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            for sink in self.sinks(None) {
                sink.message(level, text.clone()).await;
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
            let sinks: Vec<(u64, Arc<dyn Notifier>)> = lock(&self.sinks).clone();
            let mut showing = Vec::new();
            for (key, sink) in sinks {
                let shown = sink
                    .begin(token.clone(), title.clone(), message.clone(), cancellable)
                    .await;
                if shown {
                    showing.push(key);
                }
            }
            let any = !showing.is_empty();
            if any {
                lock(&self.shown).insert(token, showing);
            }
            any
        })
    }

    fn report(&self, token: String, message: String, percentage: Option<u32>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let keys = lock(&self.shown).get(&token).cloned().unwrap_or_default();
            for sink in self.sinks(Some(&keys)) {
                sink.report(token.clone(), message.clone(), percentage)
                    .await;
            }
        })
    }

    fn end(&self, token: String, message: String) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let keys = lock(&self.shown).remove(&token).unwrap_or_default();
            for sink in self.sinks(Some(&keys)) {
                sink.end(token.clone(), message.clone()).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what it is told; shows progress when `shows`.
    struct Recorder {
        shows: bool,
        heard: std::sync::Mutex<Vec<String>>,
    }

    impl Recorder {
        fn new(shows: bool) -> Arc<Recorder> {
            Arc::new(Recorder {
                shows,
                heard: Default::default(),
            })
        }

        fn heard(&self) -> Vec<String> {
            lock(&self.heard).clone()
        }
    }

    impl Notifier for Recorder {
        fn message(&self, _: Level, text: String) -> BoxFuture<'_, ()> {
            lock(&self.heard).push(format!("message {text}"));
            Box::pin(async {})
        }

        fn begin(
            &self,
            token: String,
            _: String,
            _: Option<String>,
            _: bool,
        ) -> BoxFuture<'_, bool> {
            lock(&self.heard).push(format!("begin {token}"));
            let shows = self.shows;
            Box::pin(async move { shows })
        }

        fn report(&self, token: String, message: String, _: Option<u32>) -> BoxFuture<'_, ()> {
            lock(&self.heard).push(format!("report {token} {message}"));
            Box::pin(async {})
        }

        fn end(&self, token: String, message: String) -> BoxFuture<'_, ()> {
            lock(&self.heard).push(format!("end {token} {message}"));
            Box::pin(async {})
        }
    }

    #[tokio::test]
    async fn progress_goes_to_the_clients_that_showed_its_beginning() {
        let fanout = Fanout::default();
        let (shows, declines, late) = (
            Recorder::new(true),
            Recorder::new(false),
            Recorder::new(true),
        );
        fanout.attach(shows.clone());
        let gone = fanout.attach(declines.clone());
        assert!(
            fanout
                .begin("t".into(), "Indexing".into(), None, false)
                .await
        );
        let late_key = fanout.attach(late.clone());
        fanout.report("t".into(), "half".into(), Some(50)).await;
        fanout.detach(gone);
        fanout.message(Level::Info, "hello".into()).await;
        fanout.end("t".into(), "done".into()).await;
        fanout.detach(late_key);
        assert_eq!(
            shows.heard(),
            ["begin t", "report t half", "message hello", "end t done"]
        );
        assert_eq!(declines.heard(), ["begin t"]);
        assert_eq!(late.heard(), ["message hello"]);
        // Nobody to show it to: not shown.
        let nobody = Fanout::default();
        assert!(
            !nobody
                .begin("u".into(), "Indexing".into(), None, false)
                .await
        );
    }
}
