//! `codecontext/execute`: run a snippet in the sandbox (see docs/protocol.md).
//! Cancelling the request drops the run, which kills the sandbox.

use codecontext_workspace::execute::ExecuteRequest;
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};

use super::{invalid, rpc_error, Backend};

pub(super) async fn execute(backend: &Backend, params: Value) -> Result<Value> {
    let request: ExecuteRequest =
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.execute: {e}")))?;
    let progress = backend.shared.session().progress;
    let answer = backend
        .shared
        .ws
        .execute(request, progress)
        .await
        .map_err(rpc_error)?;
    serde_json::to_value(answer).map_err(|e| Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })
}
