//! The project's memory: `codecontext/remember {kind, text, rationale?, symbols?, files?,
//! supersedes?}`, `codecontext/recall {symbol | file | query}`, `codecontext/forget {id,
//! reason?}` and `codecontext/feedback {about, verdict, reason?}` (see
//! `codecontext_workspace::memory`).

use codecontext_workspace::memory::{
    FeedbackRequest, ForgetRequest, RecallRequest, RememberRequest,
};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use super::{invalid, rpc_error, Backend};
use crate::lsp::from_proto::path_of_file_uri;

/// The request's params as `T`; `null` is `{}`; a `file` given as a file URI becomes
/// its path.
fn params<T: DeserializeOwned>(method: &str, mut params: Value) -> Result<T> {
    if params.is_null() {
        params = json!({});
    }
    if let Some(file) = params.get("file").and_then(Value::as_str) {
        if let Some(path) = path_of_file_uri(file) {
            params["file"] = json!(path.display().to_string());
        }
    }
    serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.{method}: {e}")))
}

pub(super) async fn remember(backend: &Backend, p: Value) -> Result<Value> {
    let request: RememberRequest = params("remember", p)?;
    backend.shared.ws.remember(request).await.map_err(rpc_error)
}

pub(super) async fn recall(backend: &Backend, p: Value) -> Result<Value> {
    let request: RecallRequest = params("recall", p)?;
    backend.shared.ws.recall(request).await.map_err(rpc_error)
}

pub(super) async fn forget(backend: &Backend, p: Value) -> Result<Value> {
    let request: ForgetRequest = params("forget", p)?;
    backend.shared.ws.forget(request).await.map_err(rpc_error)
}

pub(super) async fn feedback(backend: &Backend, p: Value) -> Result<Value> {
    let request: FeedbackRequest = params("feedback", p)?;
    backend.shared.ws.feedback(request).await.map_err(rpc_error)
}
