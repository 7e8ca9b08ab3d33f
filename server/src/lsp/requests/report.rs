//! `codecontext/report {root?, out?}`: the project report (see docs/report.md): its data,
//! and the page, inline as `html` or written to `out` (a path, relative to the folder).
//! The risk model is used if it has learned the history; while it learns, the report
//! says so and shows the past fixes instead.

use std::path::PathBuf;

use codecontext_workspace::report::write_page;
use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::Uri,
};

use super::{rpc_error, Backend};
use crate::lsp::from_proto::path_of;

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReportParams {
    /// The workspace folder; by default the first.
    #[serde(default)]
    root: Option<Uri>,
    /// Where to write the page; by default it comes back inline.
    #[serde(default)]
    out: Option<PathBuf>,
}

fn invalid(message: impl Into<String>) -> Error {
    super::invalid(format!("codecontext.report: {}", message.into()))
}

pub(super) async fn report(backend: &Backend, params: Value) -> Result<Value> {
    let shared = &backend.shared;
    let params: ReportParams = if params.is_null() {
        ReportParams::default()
    } else {
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?
    };
    let root = match &params.root {
        Some(uri) => Some(path_of(uri).ok_or_else(|| invalid("root is not a file URI"))?),
        None => None,
    };
    shared.caught_up(None).await;
    let report = shared.ws.report(root, false).await.map_err(rpc_error)?;
    let mut answer = serde_json::to_value(&report).map_err(|e| Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })?;
    match params.out {
        Some(out) => {
            let out = write_page(&report, &out).map_err(invalid)?;
            answer["written"] = Value::String(out.display().to_string());
        }
        None => answer["html"] = Value::String(codecontext_report::html(&report)),
    }
    Ok(answer)
}
