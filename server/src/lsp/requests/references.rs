//! `textDocument/references`.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;

pub(super) async fn references(
    backend: &Backend,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    backend
        .query_at(
            "textDocument/references",
            params.text_document_position.clone(),
            move |conv, file, offset| {
                let include = params.context.include_declaration;
                let Some(refs) = conv.analysis.references(file, offset, include) else {
                    return Ok(None);
                };
                Ok(Some(
                    refs.locations
                        .iter()
                        .filter_map(|l| conv.location(l.file, l.range))
                        .collect(),
                ))
            },
        )
        .await
}
