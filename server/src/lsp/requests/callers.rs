//! `codecontext/callers {symbol | textDocument+position, direction?, depth?, limit?}`:
//! callers, callees or impact to a depth, through the team's graph when there is one,
//! else the embedded graph, in one shape.

use codecontext_workspace::team::{CallersQuery, Direction, SymbolRef};
use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{Position, TextDocumentIdentifier},
};

use super::{invalid, rpc_error, Backend};
use crate::lsp::from_proto::path_of;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallersParams {
    symbol: Option<String>,
    text_document: Option<TextDocumentIdentifier>,
    position: Option<Position>,
    #[serde(default)]
    direction: Direction,
    depth: Option<u32>,
    limit: Option<usize>,
}

pub(super) async fn callers(backend: &Backend, params: Value) -> Result<Value> {
    let params: CallersParams =
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?;
    let about = params.text_document.as_ref().map(|d| d.uri.clone());
    let symbol = match (params.symbol, params.text_document.zip(params.position)) {
        (Some(symbol), None) => SymbolRef::Name(symbol),
        (None, Some((document, position))) => {
            let path = path_of(&document.uri)
                .ok_or_else(|| invalid(format!("{} is not a file", document.uri.as_str())))?;
            SymbolRef::At {
                path,
                line: position.line,
                col: position.character,
                encoding: backend.shared.session().encoding,
            }
        }
        _ => {
            return Err(invalid(
                "give `symbol` (a qualified name) or `textDocument` and `position`",
            ))
        }
    };
    backend.shared.caught_up(about.as_ref()).await;
    backend
        .shared
        .ws
        .callers(CallersQuery {
            symbol,
            direction: params.direction,
            depth: params.depth.unwrap_or(3),
            limit: params.limit.unwrap_or(1000),
        })
        .await
        .map_err(rpc_error)
}
