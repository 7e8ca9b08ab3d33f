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
    let encoding = backend.shared.session().encoding;
    let found = backend
        .query(
            "textDocument/documentSymbol",
            Some(params.text_document.uri.clone()),
            move |conv, _| {
                let Some(file) = conv.file(&params.text_document.uri) else {
                    return Ok(None);
                };
                let outline = conv.analysis.outline(file);
                Ok(Some(if hierarchical {
                    // Converted below, without the lock (100,000 items take a while).
                    let index = conv.analysis.line_index(file).cloned().unwrap_or_default();
                    Outline::ToConvert(outline, index)
                } else {
                    let mut flat = Vec::new();
                    flatten(&outline, &mut flat);
                    Outline::Done(DocumentSymbolResponse::Flat(
                        flat.iter()
                            .filter_map(|t| symbol_information(conv, t))
                            .collect(),
                    ))
                }))
            },
        )
        .await?;
    Ok(match found {
        None => None,
        Some(Outline::Done(answer)) => Some(answer),
        Some(Outline::ToConvert(outline, index)) => Some(DocumentSymbolResponse::Nested(
            tokio::task::spawn_blocking(move || document_symbols(&index, encoding, &outline))
                .await
                .map_err(|e| tower_lsp_server::jsonrpc::Error {
                    code: tower_lsp_server::jsonrpc::ErrorCode::InternalError,
                    message: format!("codecontext: textDocument/documentSymbol failed: {e}").into(),
                    data: None,
                })?,
        )),
    })
}

/// An outline as the analysis gave it: converted already, or to convert from the
/// file's line index.
enum Outline {
    Done(DocumentSymbolResponse),
    ToConvert(
        Vec<codecontext_analysis::OutlineItem>,
        codecontext_text::LineIndex,
    ),
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
