//! `textDocument/didClose`: the file on disk counts again (once no other client holds
//! the document open), and the document's
//! diagnostics are cleared.

use std::sync::Arc;

use tower_lsp_server::lsp_types::DidCloseTextDocumentParams;

use super::file_of;
use crate::lsp::{diagnostics, state::Shared};

pub(super) fn apply(shared: &Arc<Shared>, params: Option<DidCloseTextDocumentParams>) {
    let Some(p) = params else {
        return;
    };
    let Some(id) = file_of(shared, &p.text_document.uri) else {
        return;
    };
    let held = shared.documents().remove(&id);
    if let Some(doc) = held {
        shared.ws.close_document(id);
        diagnostics::clear(shared, doc.uri);
    }
}
