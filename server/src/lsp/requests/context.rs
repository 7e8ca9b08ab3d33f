//! `codecontext/context {textDocument+position? | position? | symbols? | files? | diff? |
//! task?, budget?, map?}`: the code a task needs, ranked, within a token budget (the
//! shape of `codecontext_workspace::context::ContextRequest`, plus an editor's
//! `textDocument` and `position`).

use codecontext_context::Target;
use codecontext_workspace::context::{self, ContextRequest};
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{Position, TextDocumentIdentifier, TextDocumentPositionParams},
};

use super::{at, invalid, Backend};

pub(super) async fn context(backend: &Backend, mut params: Value) -> Result<Value> {
    // An editor's place: `textDocument` and a `position` object (LSP's, in the session's
    // encoding); a `position` string is the `path:line:col` every door takes.
    let editor = match params.as_object_mut() {
        Some(object) if object.contains_key("textDocument") => {
            let document: TextDocumentIdentifier =
                serde_json::from_value(object.remove("textDocument").unwrap_or_default())
                    .map_err(|e| invalid(format!("codecontext.context: textDocument: {e}")))?;
            let position: Position = serde_json::from_value(
                object.remove("position").unwrap_or_default(),
            )
            .map_err(|e| {
                invalid(format!(
                    "codecontext.context: position (with textDocument): {e}"
                ))
            })?;
            Some(TextDocumentPositionParams {
                text_document: document,
                position,
            })
        }
        _ => None,
    };
    let request: ContextRequest =
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.context: {e}")))?;
    backend
        .query("codecontext/context", None, move |conv, _| {
            let host = conv.analysis.host();
            let mut targets = Vec::new();
            if let Some(place) = &editor {
                let (file, offset) = at(conv, place).ok_or_else(|| {
                    invalid(format!(
                        "{} is not an indexed file, or the position is outside it",
                        place.text_document.uri.as_str()
                    ))
                })?;
                targets.push(Target::Position { file, offset });
            }
            targets.extend(context::targets(host, &request).map_err(invalid)?);
            let answer = context::answer(host, &request, targets).map_err(invalid)?;
            serde_json::to_value(answer).map_err(|e| invalid(e.to_string()))
        })
        .await
}
