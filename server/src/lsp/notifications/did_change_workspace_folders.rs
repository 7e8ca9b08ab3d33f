//! `workspace/didChangeWorkspaceFolders`: removed folders leave the graph (and their
//! stores close); added ones are walked, watched, and go to the indexer.

use std::sync::Arc;

use tower_lsp_server::lsp_types::DidChangeWorkspaceFoldersParams;
use tracing::info;

use super::Folders;
use crate::lsp::{from_proto::path_of, state::Shared, watcher};

pub(super) fn apply(
    shared: &Arc<Shared>,
    params: Option<DidChangeWorkspaceFoldersParams>,
    folders: Folders<'_>,
) {
    let Some(p) = params else {
        return;
    };
    for folder in p.event.removed {
        if shared.shares_workspace {
            // Other clients of the daemon may still work in it.
            info!(
                "workspace folder {} left by this client; kept for the others",
                folder.uri.as_str()
            );
            continue;
        }
        if let Some(path) = path_of(&folder.uri) {
            let n = shared.ws.remove_folder(&path);
            info!("workspace folder {} removed ({n} files)", path.display());
        }
    }
    for folder in p.event.added {
        if let Some(path) = path_of(&folder.uri) {
            if let Some(job) = shared.ws.register_folder(&path) {
                watcher::watch_folder(shared, job.root());
                let _ = folders.jobs.send(job);
            }
        }
    }
}
