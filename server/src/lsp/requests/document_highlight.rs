//! `textDocument/documentHighlight`: the references in the same file.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;

pub(super) async fn document_highlight(
    backend: &Backend,
    params: DocumentHighlightParams,
) -> Result<Option<Vec<DocumentHighlight>>> {
    backend
        .query_at(
            "textDocument/documentHighlight",
            params.text_document_position_params.clone(),
            move |conv, file, offset| {
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
