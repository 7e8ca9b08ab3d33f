//! `codecontext/history {symbol? | file?, limit?, detail?}`: the runs (executions and
//! verifications) of a symbol or a file, or all, newest first.

use std::path::PathBuf;

use codecontext_workspace::history::HistoryOf;
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::jsonrpc::Result;

use super::{invalid, rpc_error, Backend};
use crate::lsp::from_proto::path_of_file_uri;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HistoryParams {
    /// A qualified name, or a bare name.
    #[serde(default)]
    symbol: Option<String>,
    /// A file URI, or a path relative to a workspace folder.
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    /// Include each run's whole answer.
    #[serde(default)]
    detail: bool,
}

pub(super) async fn history(backend: &Backend, params: Value) -> Result<Value> {
    let params: HistoryParams =
        serde_json::from_value(if params.is_null() { json!({}) } else { params })
            .map_err(|e| invalid(format!("codecontext.history: {e}")))?;
    // A file URI names an absolute path; anything else is relative to a folder.
    let file = params
        .file
        .map(|file| path_of_file_uri(&file).unwrap_or_else(|| PathBuf::from(file)));
    let of = HistoryOf::of(params.symbol, file).map_err(rpc_error)?;
    let runs = backend
        .shared
        .ws
        .history(of, params.limit.unwrap_or(20))
        .await
        .map_err(rpc_error)?;
    let runs: Vec<Value> = runs.iter().map(|r| r.to_json(params.detail)).collect();
    Ok(json!({ "runs": runs }))
}
