//! `textDocument/documentSymbol`: a file's outline, nested when the client takes it,
//! else flat.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::to_proto::{document_symbols, symbol_information};

pub(super) async fn document_symbol(
    backend: &Backend,
    params: DocumentSymbolParams,
) -> Result<Option<DocumentSymbolResponse>> {
    let hierarchical = backend.shared.session().hierarchical_symbols;
    backend
        .query(
            "textDocument/documentSymbol",
            Some(params.text_document.uri.clone()),
            move |conv, _| {
                let Some(file) = conv.file(&params.text_document.uri) else {
                    return Ok(None);
                };
                let outline = conv.analysis.outline(file);
                Ok(Some(if hierarchical {
                    DocumentSymbolResponse::Nested(document_symbols(conv, &outline))
                } else {
                    let mut flat = Vec::new();
                    flatten(&outline, &mut flat);
                    DocumentSymbolResponse::Flat(
                        flat.iter()
                            .filter_map(|t| symbol_information(conv, t))
                            .collect(),
                    )
                }))
            },
        )
        .await
}

fn flatten(
    items: &[codecontext_analysis::OutlineItem],
    out: &mut Vec<codecontext_analysis::NavTarget>,
) {
    for i in items {
        if i.target.kind != "import" {
            out.push(i.target.clone());
        }
        flatten(&i.children, out);
    }
}
