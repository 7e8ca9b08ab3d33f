//! Opening the workspace for one command: a runtime for its background work, the folder
//! registered and (for the commands that need answers from the graph) indexed with a
//! warm start from the folder's store, so that a folder indexed before answers in
//! milliseconds. What the workspace tells the user goes to stderr: messages as lines,
//! progress as a bar when stderr is a terminal.

use std::{
    io::IsTerminal,
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use anyhow::{bail, Context, Result};
use codecontext_analysis::IndexReport;
use codecontext_store::BoxFuture;
use codecontext_workspace::{index::IndexSummary, Level, Notifier, Settings, Workspace};

use super::Common;

/// An open workspace; its background work stops, and what it queued for the store is
/// given a moment to land, when it is dropped.
pub(super) struct Opened {
    // Declared first: dropped before the runtime it runs on.
    pub ws: Arc<Workspace>,
    pub summary: Option<IndexSummary>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Opened {
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.ws.block_on(future)
    }

    /// The index's report, with the timings of this command's indexing.
    pub fn report(&self) -> IndexReport {
        let mut report = self.ws.read().report();
        if let Some(s) = &self.summary {
            report.elapsed_ms = s.walk_ms + s.elapsed_ms;
            report.timings.walk_ms = s.walk_ms;
            report.timings.parse_ms = s.load_ms;
            report.timings.resolve_ms = s.resolve_ms;
        }
        report
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.ws.stop();
        let ws = self.ws.clone();
        self.ws.block_on(ws.settle(Duration::from_secs(5)));
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Opens the folder of `common` and indexes it.
pub(super) fn open(common: &Common, progress: bool) -> Result<Opened> {
    open_folder(&common.path, !common.no_store, progress, true)
}

/// Opens a folder; indexes it when `index` (answers from the graph need it; the run
/// history and snippets do not).
pub(super) fn open_folder(
    path: &Path,
    persist: bool,
    progress: bool,
    index: bool,
) -> Result<Opened> {
    if !path.is_dir() {
        bail!("{} is not a folder", path.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("codecontext-cli")
        .build()
        .context("cannot start the async runtime")?;
    let notifier = Arc::new(StderrNotifier {
        bar: Mutex::new(None),
        progress: progress && std::io::stderr().is_terminal(),
    });
    let settings = Settings {
        persist,
        ..Settings::default()
    };
    let ws = Workspace::new(settings, notifier, runtime.handle().clone());
    let mut opened = Opened {
        ws,
        summary: None,
        runtime: Some(runtime),
    };
    let job = opened
        .ws
        .register_folder(path)
        .with_context(|| format!("{} cannot be read as a folder", path.display()))?;
    if index {
        opened.summary = opened.ws.index_folder(job);
    }
    Ok(opened)
}

/// Messages on stderr; progress as a bar, when asked for and stderr is a terminal.
struct StderrNotifier {
    bar: Mutex<Option<indicatif::ProgressBar>>,
    progress: bool,
}

impl Notifier for StderrNotifier {
    fn message(&self, level: Level, text: String) -> BoxFuture<'_, ()> {
        let level = match level {
            Level::Info => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        };
        let line = format!("codecontext: {level}: {text}\n");
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        Box::pin(async {})
    }

    fn begin(
        &self,
        _token: String,
        title: String,
        message: Option<String>,
        _cancellable: bool,
    ) -> BoxFuture<'_, bool> {
        if !self.progress {
            return Box::pin(async { false });
        }
        let bar = indicatif::ProgressBar::new(100);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(title);
        bar.set_message(message.unwrap_or_default());
        bar.enable_steady_tick(Duration::from_millis(100));
        *self.bar.lock().unwrap_or_else(PoisonError::into_inner) = Some(bar);
        Box::pin(async { true })
    }

    fn report(
        &self,
        _token: String,
        message: String,
        percentage: Option<u32>,
    ) -> BoxFuture<'_, ()> {
        if let Some(bar) = &*self.bar.lock().unwrap_or_else(PoisonError::into_inner) {
            if let Some(p) = percentage {
                bar.set_position(p.into());
            }
            bar.set_message(message);
        }
        Box::pin(async {})
    }

    fn end(&self, _token: String, _message: String) -> BoxFuture<'_, ()> {
        if let Some(bar) = self
            .bar
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            bar.finish_and_clear();
        }
        Box::pin(async {})
    }
}
