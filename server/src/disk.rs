//! Changes on disk for servers without an editor to tell them (the MCP server, the
//! daemon): the folder is watched (inotify and friends, through `notify`) and every file
//! created, changed or deleted goes to the workspace. Open documents still win.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Weak},
};

use codecontext_workspace::Workspace;
use tracing::{info, warn};

/// Is a path inside a folder that is never indexed (`.git`, `target`, ...)?
pub(crate) fn excluded(path: &Path) -> bool {
    path.components().any(|c| {
        codecontext_analysis::workspace::EXCLUDED_DIRS
            .iter()
            .any(|d| c.as_os_str() == *d)
    })
}

/// Whether an event changes what a file holds.
pub(crate) fn changes_files(event: &notify::Event) -> bool {
    matches!(
        event.kind,
        notify::EventKind::Create(_) | notify::EventKind::Modify(_) | notify::EventKind::Remove(_)
    )
}

/// Watches `root` for `ws` until the watcher is dropped; `None` (said in the log) when
/// the system cannot watch it.
pub(crate) fn watch(ws: &Arc<Workspace>, root: &Path) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let weak: Weak<Workspace> = Arc::downgrade(ws);
    let handler = move |event: notify::Result<notify::Event>| {
        let (Ok(event), Some(ws)) = (event, weak.upgrade()) else {
            return;
        };
        if !changes_files(&event) || ws.is_stopping() {
            return;
        }
        let paths: Vec<PathBuf> = event.paths.into_iter().filter(|p| !excluded(p)).collect();
        for path in paths {
            ws.changed_on_disk(&path, false);
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            warn!("cannot watch files ({e}); changes on disk are not seen");
            return None;
        }
    };
    match watcher.watch(root, notify::RecursiveMode::Recursive) {
        Ok(()) => {
            info!("watching {} for changes", root.display());
            Some(watcher)
        }
        Err(e) => {
            warn!(
                "cannot watch {} ({e}); changes on disk are not seen",
                root.display()
            );
            None
        }
    }
}
