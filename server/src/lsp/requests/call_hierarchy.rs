//! `textDocument/prepareCallHierarchy`, `callHierarchy/incomingCalls` and
//! `callHierarchy/outgoingCalls`: one level of callers or callees at a time.

use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::{
    from_proto::entity_of,
    to_proto::{call_item, calls},
};

pub(super) async fn prepare(
    backend: &Backend,
    params: CallHierarchyPrepareParams,
) -> Result<Option<Vec<CallHierarchyItem>>> {
    backend
        .query_at(
            "textDocument/prepareCallHierarchy",
            params.text_document_position_params.clone(),
            move |conv, file, offset| {
                let Some(defs) = conv.analysis.definitions(file, offset) else {
                    return Ok(None);
                };
                let items: Vec<CallHierarchyItem> = defs
                    .targets
                    .iter()
                    .filter(|t| t.entity.is_some())
                    .filter_map(|t| call_item(conv, t))
                    .collect();
                Ok((!items.is_empty()).then_some(items))
            },
        )
        .await
}

pub(super) async fn incoming(
    backend: &Backend,
    params: CallHierarchyIncomingCallsParams,
) -> Result<Option<Vec<CallHierarchyIncomingCall>>> {
    let id = entity_of(&params.item)?;
    backend
        .query(
            "callHierarchy/incomingCalls",
            Some(params.item.uri.clone()),
            move |conv, _| {
                Ok(Some(calls(
                    conv,
                    conv.analysis.callers(id, 1),
                    |from, from_ranges| CallHierarchyIncomingCall { from, from_ranges },
                )))
            },
        )
        .await
}

pub(super) async fn outgoing(
    backend: &Backend,
    params: CallHierarchyOutgoingCallsParams,
) -> Result<Option<Vec<CallHierarchyOutgoingCall>>> {
    let id = entity_of(&params.item)?;
    backend
        .query(
            "callHierarchy/outgoingCalls",
            Some(params.item.uri.clone()),
            move |conv, _| {
                Ok(Some(calls(
                    conv,
                    conv.analysis.callees(id, 1),
                    |to, from_ranges| CallHierarchyOutgoingCall { to, from_ranges },
                )))
            },
        )
        .await
}
