//! `textDocument/references`.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::{at, Backend};

pub(super) async fn references(
    backend: &Backend,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    backend
        .query(
            "textDocument/references",
            Some(params.text_document_position.text_document.uri.clone()),
            move |conv, _| {
                let Some((file, offset)) = at(conv, &params.text_document_position) else {
                    return Ok(None);
                };
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
