//! `codecontext/verify`: a proposed edit built and tested in a sandboxed snapshot of
//! the workspace (see docs/protocol.md).
//!
//! The edit comes as an LSP `WorkspaceEdit` (applied here to the open document's text,
//! or the file's on disk, in the session's position encoding) or as a unified diff
//! (applied by the workspace to the files on disk). Either way the result is the new
//! content of each changed file, which the sandbox lays over the workspace; the user's
//! files are never written. What the verification found is published as diagnostics.

use std::path::PathBuf;

use codecontext_analysis::{PositionEncoding, WideLineCol};
use codecontext_text::LineIndex;
use codecontext_verify::TestSelection;
use codecontext_workspace::{
    verify::{Edit, VerifyRequest},
    Workspace,
};
use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::{
        AnnotatedTextEdit, DocumentChangeOperation, DocumentChanges, OneOf, ResourceOp, TextEdit,
        Uri, WorkspaceEdit,
    },
};

use super::{rpc_error, Backend};
use crate::lsp::{diagnostics, from_proto::path_of};

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum EditParam {
    Diff(String),
    Workspace(WorkspaceEdit),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VerifyParams {
    edit: EditParam,
    #[serde(default)]
    tests: TestSelection,
    #[serde(default)]
    timeout_ms: Option<u64>,
    /// The workspace folder to verify in, when the edit alone does not say.
    #[serde(default)]
    root: Option<Uri>,
}

fn invalid(message: impl Into<String>) -> Error {
    super::invalid(format!("codecontext.verify: {}", message.into()))
}

/// Applies LSP text edits to a text.
fn apply_text_edits(
    text: &str,
    edits: &[TextEdit],
    encoding: PositionEncoding,
) -> std::result::Result<String, String> {
    let index = LineIndex::new(text);
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            let at = |p: tower_lsp_server::lsp_types::Position| {
                index.offset_of_wide(
                    encoding,
                    WideLineCol {
                        line: p.line,
                        col: p.character,
                    },
                ) as usize
            };
            (at(e.range.start), at(e.range.end), e.new_text.as_str())
        })
        .collect();
    spans.sort_by_key(|s| (s.0, s.1));
    if spans.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err("overlapping text edits".into());
    }
    let mut out = text.to_string();
    for (start, end, new) in spans.into_iter().rev() {
        if start > end || end > out.len() {
            return Err("an edit range is inverted".into());
        }
        out.replace_range(start..end, new);
    }
    Ok(out)
}

/// The text edits of a `TextDocumentEdit` (annotations dropped).
fn text_edits(edits: Vec<OneOf<TextEdit, AnnotatedTextEdit>>) -> Vec<TextEdit> {
    edits
        .into_iter()
        .map(|e| match e {
            OneOf::Left(e) => e,
            OneOf::Right(a) => a.text_edit,
        })
        .collect()
}

/// The changes of a `WorkspaceEdit`, as absolute paths and new contents.
pub(super) fn workspace_changes(
    ws: &Workspace,
    edit: WorkspaceEdit,
    encoding: PositionEncoding,
) -> std::result::Result<Vec<(PathBuf, Option<String>)>, String> {
    let mut out: Vec<(PathBuf, Option<String>)> = Vec::new();
    let edit_file = |uri: &Uri, edits: &[TextEdit], out: &mut Vec<(PathBuf, Option<String>)>| {
        let path = path_of(uri).ok_or_else(|| format!("not a file URI: {}", uri.as_str()))?;
        // Edits to a file changed earlier in the same edit apply to that new text.
        let base = match out.iter().position(|(p, _)| *p == path) {
            Some(i) => out.remove(i).1.unwrap_or_default(),
            None => ws.current_text(&path).unwrap_or_default(),
        };
        let text = apply_text_edits(&base, edits, encoding)?;
        out.push((path, Some(text)));
        Ok::<_, String>(())
    };
    if let Some(changes) = &edit.changes {
        for (uri, edits) in changes {
            edit_file(uri, edits, &mut out)?;
        }
    }
    match edit.document_changes {
        Some(DocumentChanges::Edits(edits)) => {
            for e in edits {
                edit_file(&e.text_document.uri, &text_edits(e.edits), &mut out)?;
            }
        }
        Some(DocumentChanges::Operations(ops)) => {
            for op in ops {
                match op {
                    DocumentChangeOperation::Edit(e) => {
                        edit_file(&e.text_document.uri, &text_edits(e.edits), &mut out)?;
                    }
                    DocumentChangeOperation::Op(ResourceOp::Create(c)) => {
                        let path = path_of(&c.uri).ok_or("not a file URI")?;
                        out.push((path, Some(String::new())));
                    }
                    DocumentChangeOperation::Op(ResourceOp::Delete(d)) => {
                        let path = path_of(&d.uri).ok_or("not a file URI")?;
                        out.retain(|(p, _)| *p != path);
                        out.push((path, None));
                    }
                    DocumentChangeOperation::Op(ResourceOp::Rename(r)) => {
                        let from = path_of(&r.old_uri).ok_or("not a file URI")?;
                        let to = path_of(&r.new_uri).ok_or("not a file URI")?;
                        let text = match out.iter().position(|(p, _)| *p == from) {
                            Some(i) => out.remove(i).1.unwrap_or_default(),
                            None => ws.current_text(&from)?,
                        };
                        out.push((from, None));
                        out.push((to, Some(text)));
                    }
                }
            }
        }
        None => {}
    }
    if out.is_empty() {
        return Err("the edit changes nothing".into());
    }
    Ok(out)
}

/// Verifies an edit; `params` is the request's JSON.
pub(super) async fn verify(backend: &Backend, params: Value) -> Result<Value> {
    let shared = &backend.shared;
    let params: VerifyParams =
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?;
    let (encoding, progress) = {
        let s = shared.session();
        (s.encoding, s.progress)
    };
    let root = match &params.root {
        Some(uri) => Some(path_of(uri).ok_or_else(|| invalid("root is not a file URI"))?),
        None => None,
    };
    let edit = match params.edit {
        EditParam::Workspace(edit) => {
            Edit::Files(workspace_changes(&shared.ws, edit, encoding).map_err(invalid)?)
        }
        EditParam::Diff(diff) => Edit::Diff(diff),
    };
    let request = VerifyRequest {
        edit,
        root,
        tests: params.tests,
        timeout_ms: params.timeout_ms,
    };
    let answer = shared
        .ws
        .verify(request, progress)
        .await
        .map_err(rpc_error)?;
    diagnostics::publish_verified(shared, &backend.client, &answer.root, &answer.verdict).await;
    serde_json::to_value(&answer).map_err(|e| Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })
}
