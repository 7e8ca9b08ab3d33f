//! `textDocument/didChange`: the edits, in the session's position encoding, applied to
//! the open document; the shared graph hears of the change, and diagnostics follow
//! once typing pauses.

use std::sync::Arc;

use codecontext_analysis::{DocumentChange, WideLineCol};
use tower_lsp_server::lsp_types::DidChangeTextDocumentParams;
use tracing::warn;

use super::file_of;
use crate::lsp::{diagnostics, from_proto::path_of, state::Shared};

pub(super) fn apply(shared: &Arc<Shared>, params: Option<DidChangeTextDocumentParams>) {
    let Some(p) = params else {
        return;
    };
    let Some(id) = file_of(shared, &p.text_document.uri) else {
        warn!(
            "didChange for {}, which was never opened: ignored",
            p.text_document.uri.as_str()
        );
        return;
    };
    let changes: Vec<DocumentChange> = p
        .content_changes
        .into_iter()
        .map(|c| DocumentChange {
            range: c.range.map(|r| {
                (
                    WideLineCol {
                        line: r.start.line,
                        col: r.start.character,
                    },
                    WideLineCol {
                        line: r.end.line,
                        col: r.end.character,
                    },
                )
            }),
            text: c.text,
        })
        .collect();
    let encoding = shared.session().encoding;
    let result = shared.ws.change_document(id, &changes, encoding);
    match result {
        Ok(_) => {
            if let Some(d) = shared.documents().get_mut(&id) {
                d.version = p.text_document.version;
            }
            if let Some(path) = path_of(&p.text_document.uri) {
                shared.ws.file_changed(&path);
            }
            diagnostics::forget_verified(shared, id);
            diagnostics::schedule(shared, id);
        }
        Err(e) => warn!(
            "didChange for {}: {e}; ignored",
            p.text_document.uri.as_str()
        ),
    }
}
