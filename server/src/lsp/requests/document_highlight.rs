//! `textDocument/documentHighlight`: the references in the same file.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::{at, Backend};

pub(super) async fn document_highlight(
    backend: &Backend,
    params: DocumentHighlightParams,
) -> Result<Option<Vec<DocumentHighlight>>> {
    backend
        .query(
            "textDocument/documentHighlight",
            Some(
                params
                    .text_document_position_params
                    .text_document
                    .uri
                    .clone(),
            ),
            move |conv, _| {
                let Some((file, offset)) = at(conv, &params.text_document_position_params) else {
                    return Ok(None);
                };
                let Some(refs) = conv.analysis.references(file, offset, true) else {
                    return Ok(None);
                };
                Ok(Some(
                    refs.locations
                        .iter()
                        .filter(|l| l.file == file)
                        .filter_map(|l| {
                            Some(DocumentHighlight {
                                range: conv.range(file, l.range)?,
                                kind: Some(DocumentHighlightKind::TEXT),
                            })
                        })
                        .collect(),
                ))
            },
        )
        .await
}
