//! Changes on disk: the client watches files for us when it can (registered here as
//! `workspace/didChangeWatchedFiles`); otherwise we watch the workspace folders
//! ourselves (inotify and friends, through `notify`), and changes join the applier's
//! queue.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, PoisonError},
};

use tower_lsp_server::lsp_types::{
    DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, Registration,
};
use tracing::{info, warn};

use super::state::{Shared, Work};

/// Asks the client to watch every file for us, or watches them ourselves when it cannot.
pub(crate) fn register_watchers(shared: &Arc<Shared>) {
    if !shared.session().watch_dynamic {
        info!("the client cannot watch files for us: watching them ourselves");
        start_own_watcher(shared);
        return;
    }
    let Some(client) = shared.client().cloned() else {
        return;
    };
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher {
            glob_pattern: GlobPattern::String("**/*".into()),
            kind: None,
        }],
    };
    let registration = Registration {
        id: "codecontext-watched-files".into(),
        method: "workspace/didChangeWatchedFiles".into(),
        register_options: serde_json::to_value(options).ok(),
    };
    shared.spawn(async move {
        if let Err(e) = client.register_capability(vec![registration]).await {
            warn!("registering file watchers failed: {e}");
        }
    });
}

fn start_own_watcher(shared: &Arc<Shared>) {
    let weak = Arc::downgrade(shared);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else {
            return;
        };
        if !crate::disk::changes_files(&event) {
            return;
        }
        let paths: Vec<PathBuf> = event
            .paths
            .into_iter()
            .filter(|p| !crate::disk::excluded(p))
            .collect();
        if let (false, Some(shared)) = (paths.is_empty(), weak.upgrade()) {
            shared.send(Work::Disk(paths));
        }
    });
    match watcher {
        Ok(watcher) => {
            *shared
                .watcher
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(watcher);
            for root in shared.ws.roots() {
                watch_folder(shared, &root);
            }
        }
        Err(e) => warn!("cannot watch files ({e}); changes on disk are seen when files are opened"),
    }
}

/// Watches a folder added later, when we watch files ourselves.
pub(crate) fn watch_folder(shared: &Shared, root: &Path) {
    use notify::Watcher;
    let mut guard = shared
        .watcher
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(watcher) = guard.as_mut() {
        match watcher.watch(root, notify::RecursiveMode::Recursive) {
            Ok(()) => info!("watching {} for changes", root.display()),
            Err(e) => warn!(
                "cannot watch {} ({e}); its changes on disk are seen when files are opened",
                root.display()
            ),
        }
    }
}
