//! `codecontext/assess {edit, root?}`: what a proposed edit changes and what to think of
//! it, before anyone runs it (see docs/assess.md). The edit is an LSP `WorkspaceEdit`
//! (applied here to the open documents' text) or a unified diff (applied by the
//! workspace to the files on disk), as for `codecontext/verify`.

use codecontext_workspace::verify::Edit;
use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::Uri,
};

use super::{
    rpc_error,
    verify::{workspace_changes, EditParam},
    Backend,
};
use crate::lsp::from_proto::path_of;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AssessParams {
    edit: EditParam,
    /// The workspace folder, when the edit alone does not say.
    #[serde(default)]
    root: Option<Uri>,
}

fn invalid(message: impl Into<String>) -> Error {
    super::invalid(format!("codecontext.assess: {}", message.into()))
}

pub(super) async fn assess(backend: &Backend, params: Value) -> Result<Value> {
    let shared = &backend.shared;
    let params: AssessParams =
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?;
    let root = match &params.root {
        Some(uri) => Some(path_of(uri).ok_or_else(|| invalid("root is not a file URI"))?),
        None => None,
    };
    // Applied to, and assessed against, the analysis once it has every change the
    // client sent.
    shared.caught_up(None).await;
    let edit = match params.edit {
        EditParam::Workspace(edit) => {
            let encoding = shared.session().encoding;
            Edit::Files(workspace_changes(&shared.ws, edit, encoding).map_err(invalid)?)
        }
        EditParam::Diff(diff) => Edit::Diff(diff),
    };
    let answer = shared
        .ws
        .assess(edit, root, false)
        .await
        .map_err(rpc_error)?;
    serde_json::to_value(&answer).map_err(|e| Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })
}
