//! State-changing notifications, one file per method, applied on the applier thread in
//! the order they arrived. A notification whose params do not parse is logged and
//! dropped; the server goes on.

mod did_change;
mod did_change_configuration;
mod did_change_watched_files;
mod did_change_workspace_folders;
mod did_close;
mod did_open;
mod initialized;

use std::sync::{mpsc, Arc};

use serde::de::DeserializeOwned;
use serde_json::Value;
use tower_lsp_server::lsp_types::Uri;
use tracing::{debug, warn};

use codecontext_analysis::FileId;

use super::{from_proto::path_of, indexer::IndexJob, state::Shared};

/// Notifications that change state: taken out of the message stream and applied
/// strictly in arrival order.
pub(crate) const ORDERED: &[&str] = &[
    "initialized",
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
    "textDocument/didSave",
    "workspace/didChangeWatchedFiles",
    "workspace/didChangeWorkspaceFolders",
    "workspace/didChangeConfiguration",
];

/// What a notification may touch besides the shared state: the folders walked at
/// `initialize` and waiting for `initialized`, and the indexer's queue.
pub(crate) struct Folders<'a> {
    pub waiting: &'a mut Vec<IndexJob>,
    pub jobs: &'a mpsc::Sender<IndexJob>,
}

pub(crate) fn apply(
    shared: &Arc<Shared>,
    method: &str,
    params: Option<Value>,
    waiting: &mut Vec<IndexJob>,
    jobs: &mpsc::Sender<IndexJob>,
) {
    if !shared.session().initialized {
        debug!("{method} before initialize, dropped");
        return;
    }
    let folders = Folders { waiting, jobs };
    match method {
        "initialized" => initialized::apply(shared, folders),
        "workspace/didChangeWatchedFiles" => {
            did_change_watched_files::apply(shared, parse(method, params))
        }
        "workspace/didChangeWorkspaceFolders" => {
            did_change_workspace_folders::apply(shared, parse(method, params), folders)
        }
        "workspace/didChangeConfiguration" => {
            did_change_configuration::apply(shared, parse(method, params))
        }
        // One about a document that names none (malformed): said by its parse.
        _ => document(shared, method, params),
    }
}

/// The document a notification is about, for those that are about one.
pub(crate) fn document_of(method: &str, params: Option<&Value>) -> Option<String> {
    if !method.starts_with("textDocument/") {
        return None;
    }
    params?["textDocument"]["uri"].as_str().map(str::to_string)
}

/// Applies a notification about one document (see [`document_of`]): these need
/// nothing but the shared state, so they may run on a thread of their own.
pub(crate) fn apply_document(shared: &Arc<Shared>, method: &str, params: Option<Value>) {
    if !shared.session().initialized {
        debug!("{method} before initialize, dropped");
        return;
    }
    document(shared, method, params);
}

fn document(shared: &Arc<Shared>, method: &str, params: Option<Value>) {
    match method {
        "textDocument/didOpen" => did_open::apply(shared, parse(method, params)),
        "textDocument/didChange" => did_change::apply(shared, parse(method, params)),
        "textDocument/didClose" => did_close::apply(shared, parse(method, params)),
        // The editor's text already won; the file on disk now says the same.
        "textDocument/didSave" => {}
        other => debug!("{other}: nothing to apply"),
    }
}

fn parse<T: DeserializeOwned>(method: &str, params: Option<Value>) -> Option<T> {
    match serde_json::from_value(params.unwrap_or(Value::Null)) {
        Ok(p) => Some(p),
        Err(e) => {
            warn!("{method}: invalid params, ignored: {e}");
            None
        }
    }
}

/// The indexed file behind a URI.
fn file_of(shared: &Shared, uri: &Uri) -> Option<FileId> {
    let path = path_of(uri)?;
    shared.read().file_id(&path)
}
