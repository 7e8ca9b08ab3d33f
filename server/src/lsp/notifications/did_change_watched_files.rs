//! `workspace/didChangeWatchedFiles`: files created, changed or deleted outside the
//! editor (open documents win), and the shared graph hears of them. A changed project
//! rule file has the open documents checked again.

use std::sync::Arc;

use tower_lsp_server::lsp_types::{DidChangeWatchedFilesParams, FileChangeType};

use crate::lsp::{diagnostics, from_proto::path_of, state::Shared};

pub(super) fn apply(shared: &Arc<Shared>, params: Option<DidChangeWatchedFilesParams>) {
    let Some(p) = params else {
        return;
    };
    let mut rules_changed = false;
    for change in p.changes {
        let Some(path) = path_of(&change.uri) else {
            continue;
        };
        rules_changed |= shared
            .ws
            .changed_on_disk(&path, change.typ == FileChangeType::DELETED);
        shared.ws.file_changed(&path);
    }
    if rules_changed {
        diagnostics::recheck_open_documents(shared);
    }
}
