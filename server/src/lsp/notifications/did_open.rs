//! `textDocument/didOpen`: the editor's text wins over the file on disk until it is
//! closed (by every client holding it, when clients share the workspace).

use std::sync::Arc;

use tower_lsp_server::lsp_types::DidOpenTextDocumentParams;
use tracing::info;

use crate::lsp::{
    diagnostics,
    from_proto::path_of,
    state::{OpenDocument, Shared},
};

pub(super) fn apply(shared: &Arc<Shared>, params: Option<DidOpenTextDocumentParams>) {
    let Some(p) = params else {
        return;
    };
    let doc = p.text_document;
    let Some(path) = path_of(&doc.uri) else {
        info!("didOpen: {} is not a file, ignored", doc.uri.as_str());
        return;
    };
    let held = shared
        .read()
        .file_id(&path)
        .is_some_and(|id| shared.documents().contains_key(&id));
    let opened = shared.ws.open_document(&path, doc.text, !held);
    match opened {
        Some(id) => {
            shared.documents().insert(
                id,
                OpenDocument {
                    uri: doc.uri,
                    version: doc.version,
                    generation: 0,
                },
            );
            diagnostics::schedule(shared, id);
        }
        None => info!(
            "didOpen: {} is outside the workspace folders or not a supported language",
            path.display()
        ),
    }
}
