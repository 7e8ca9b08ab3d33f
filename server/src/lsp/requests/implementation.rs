//! `textDocument/implementation`: the types that inherit from or implement the one at
//! the cursor.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::to_proto::nav_location;

pub(super) async fn goto_implementation(
    backend: &Backend,
    params: request::GotoImplementationParams,
) -> Result<Option<request::GotoImplementationResponse>> {
    backend
        .query_at(
            "textDocument/implementation",
            params.text_document_position_params.clone(),
            move |conv, file, offset| {
                let Some(found) = conv.analysis.implementations(file, offset) else {
                    return Ok(None);
                };
                let mut out: Vec<Location> = Vec::new();
                for l in found.iter().filter_map(|t| nav_location(conv, t)) {
                    if !out.contains(&l) {
                        out.push(l);
                    }
                }
                Ok(Some(GotoDefinitionResponse::Array(out)))
            },
        )
        .await
}
