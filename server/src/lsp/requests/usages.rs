//! `codecontext/usages {symbol | position | textDocument+position}`: how the project
//! calls a function or method, grouped by shape (see `codecontext_assess::usage`).

use codecontext_workspace::usages::{self, UsagesRequest};
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{Position, TextDocumentIdentifier, TextDocumentPositionParams},
};

use super::{at, invalid, rpc_error, Backend};

pub(super) async fn usages(backend: &Backend, mut params: Value) -> Result<Value> {
    // An editor's place: `textDocument` and an LSP `position`, in the session's encoding.
    let editor = match params.as_object_mut() {
        Some(object) if object.contains_key("textDocument") => {
            let document: TextDocumentIdentifier =
                serde_json::from_value(object.remove("textDocument").unwrap_or_default())
                    .map_err(|e| invalid(format!("codecontext.usages: textDocument: {e}")))?;
            let position: Position =
                serde_json::from_value(object.remove("position").unwrap_or_default())
                    .map_err(|e| invalid(format!("codecontext.usages: position: {e}")))?;
            Some(TextDocumentPositionParams {
                text_document: document,
                position,
            })
        }
        _ => None,
    };
    let request: UsagesRequest =
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.usages: {e}")))?;
    backend
        .query("codecontext/usages", None, move |conv, _| {
            let answer = match &editor {
                Some(place) => {
                    let (file, offset) = at(conv, place).ok_or_else(|| {
                        invalid(format!(
                            "{} is not an indexed file, or the position is outside it",
                            place.text_document.uri.as_str()
                        ))
                    })?;
                    let spec = codecontext_workspace::places::place(conv.analysis, file, offset);
                    usages::answer(
                        conv.analysis,
                        &UsagesRequest {
                            position: Some(spec),
                            ..UsagesRequest::default()
                        },
                    )
                }
                None => usages::answer(conv.analysis, &request),
            }
            .map_err(rpc_error)?;
            serde_json::to_value(answer).map_err(|e| invalid(e.to_string()))
        })
        .await
}
