//! `codecontext.verify`: a proposed edit built and tested in a sandboxed snapshot of
//! the workspace, as `workspace/executeCommand` and as the request `codecontext/verify`
//! (see docs/protocol.md).
//!
//! The edit comes as an LSP `WorkspaceEdit` (applied here to the open document's text,
//! or the file's on disk, in the session's position encoding) or as a unified diff
//! (applied by `codecontext-verify` to the files on disk). Either way the result is the
//! new content of each changed file, which the sandbox lays over the workspace; the
//! user's files are never written.

use std::path::{Path, PathBuf};

use codecontext_analysis::{PositionEncoding, WideLineCol};
use codecontext_store::{RunKind, RunRecord};
use codecontext_text::LineIndex;
use codecontext_verify::{FileChange, GraphAnswer, ReachedTest, TestOutcome, TestSelection};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::{
        AnnotatedTextEdit, DocumentChangeOperation, DocumentChanges, OneOf, ResourceOp, TextEdit,
        Uri, WorkspaceEdit,
    },
    Client,
};
use tracing::info;

use super::{convert::path_of, diagnostics, execute, history, perf, state::Shared};

pub(crate) const VERIFY_COMMAND: &str = "codecontext.verify";
pub(crate) const VERIFY_REQUEST: &str = "codecontext/verify";

#[derive(Deserialize)]
#[serde(untagged)]
enum EditParam {
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
    Error {
        code: ErrorCode::InvalidParams,
        message: format!("codecontext.verify: {}", message.into()).into(),
        data: None,
    }
}

/// The workspace folder holding `path` (the deepest), from the session's roots.
fn root_of(roots: &[PathBuf], path: &Path) -> Option<PathBuf> {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .cloned()
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

/// What `path` holds now for the session: the open document's text, else the disk's.
pub(crate) fn current_text(shared: &Shared, path: &Path) -> std::result::Result<String, String> {
    let host = shared.read();
    if let Some(doc) = host.file_id(path).and_then(|id| host.document(id)) {
        return Ok(doc.text().to_string());
    }
    drop(host);
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
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
fn workspace_changes(
    shared: &Shared,
    edit: WorkspaceEdit,
    encoding: PositionEncoding,
) -> std::result::Result<Vec<(PathBuf, Option<String>)>, String> {
    let mut out: Vec<(PathBuf, Option<String>)> = Vec::new();
    let edit_file = |uri: &Uri, edits: &[TextEdit], out: &mut Vec<(PathBuf, Option<String>)>| {
        let path = path_of(uri).ok_or_else(|| format!("not a file URI: {}", uri.as_str()))?;
        // Edits to a file changed earlier in the same edit apply to that new text.
        let base = match out.iter().position(|(p, _)| *p == path) {
            Some(i) => out.remove(i).1.unwrap_or_default(),
            None => current_text(shared, &path).unwrap_or_default(),
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
                            None => current_text(shared, &from)?,
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
pub(crate) async fn verify(shared: &Shared, client: &Client, params: Value) -> Result<Value> {
    let params: VerifyParams =
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?;
    super::team::admit_execution(shared).await?;
    let (encoding, progress) = {
        let s = shared.session();
        (s.encoding, s.progress)
    };
    let roots: Vec<PathBuf> = shared.read().roots().map(Path::to_path_buf).collect();
    let (root, changes) = match params.edit {
        EditParam::Workspace(edit) => {
            let changes = workspace_changes(shared, edit, encoding).map_err(invalid)?;
            let root = match &params.root {
                Some(uri) => path_of(uri).ok_or_else(|| invalid("root is not a file URI"))?,
                None => root_of(&roots, &changes[0].0)
                    .ok_or_else(|| invalid("the edit is outside every workspace folder"))?,
            };
            let mut relative = Vec::with_capacity(changes.len());
            for (path, content) in changes {
                // `..` in a URI must not lead out of the folder.
                let rel = path
                    .strip_prefix(&root)
                    .ok()
                    .filter(|rel| {
                        rel.components()
                            .all(|c| matches!(c, std::path::Component::Normal(_)))
                    })
                    .ok_or_else(|| {
                        invalid(format!("{} is outside {}", path.display(), root.display()))
                    })?;
                relative.push(FileChange {
                    path: rel.to_string_lossy().replace('\\', "/"),
                    content,
                });
            }
            (root, relative)
        }
        EditParam::Diff(diff) => {
            let root = match &params.root {
                Some(uri) => path_of(uri).ok_or_else(|| invalid("root is not a file URI"))?,
                None => roots
                    .first()
                    .cloned()
                    .ok_or_else(|| invalid("no workspace folder to apply the diff in"))?,
            };
            let changes = codecontext_verify::apply_unified_diff(&root, &diff)
                .map_err(|e| invalid(e.to_string()))?;
            (root, changes)
        }
    };
    let started = history::now_ms();
    let facts = history::edit_facts(shared, &root, &changes);
    let language = match codecontext_verify::detect(&root) {
        Some(codecontext_verify::ProjectKind::Cargo) => "rust",
        Some(codecontext_verify::ProjectKind::Python) => "python",
        Some(codecontext_verify::ProjectKind::Node) => "javascript",
        Some(codecontext_verify::ProjectKind::Go) => "go",
        None => "",
    };
    let sandbox = execute::sandbox_for(Some(&root), language).map_err(|message| Error {
        code: ErrorCode::InternalError,
        message: format!("codecontext.verify: {message}").into(),
        data: None,
    })?;
    let token = if progress {
        execute::begin_progress(client, "verify", "Verifying the edit", true).await
    } else {
        None
    };
    let graph = GraphAnswer {
        edited: facts.affected.edited.clone(),
        tests: facts
            .affected
            .tests
            .iter()
            .map(|t| ReachedTest {
                path: t.path.clone(),
                language: t.language.clone(),
                name: t.name.clone(),
                containers: t.containers.clone(),
                via: t.via.clone(),
                how: t.how.as_str().to_string(),
            })
            .collect(),
        unknown: facts.affected.unknown.clone(),
    };
    let result = codecontext_verify::verify(
        sandbox.as_ref(),
        &root,
        changes,
        &params.tests,
        Some(&graph),
        params.timeout_ms,
    )
    .await;
    let verdict = match result {
        Ok(v) => v,
        Err(e) => {
            if let Some(token) = token {
                execute::end_progress(client, token, e.to_string()).await;
            }
            return Err(invalid(e.to_string()));
        }
    };
    info!(
        "verify in {}: {:?}, {} tests, {} ms",
        root.display(),
        verdict.verdict,
        verdict.tests.len(),
        verdict.wall_ms
    );
    diagnostics::publish_verified(shared, client, &root, &verdict).await;
    if let Some(token) = token {
        execute::end_progress(client, token, format!("{:?}", verdict.verdict)).await;
    }
    let mut answer = serde_json::to_value(&verdict).map_err(|e| Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    })?;
    answer["edit"] = json!({
        "hash": facts.hash,
        "symbols": facts.affected.edited,
    });
    let count = |outcome: TestOutcome| {
        verdict
            .tests
            .iter()
            .filter(|t| t.outcome == outcome)
            .count()
    };
    let run = RunRecord {
        id: 0,
        at_ms: started,
        kind: RunKind::Verify,
        status: answer["verdict"].as_str().unwrap_or("").to_string(),
        edit_hash: Some(facts.hash.clone()),
        diff: Some(history::capped(&facts.diff)),
        symbols: facts.affected.edited.clone(),
        files: verdict.changed_files.clone(),
        wall_ms: verdict.wall_ms,
        cpu_ms: verdict.cpu_ms,
        peak_memory_bytes: verdict.peak_memory_bytes,
        passed: count(TestOutcome::Passed) as u32,
        failed: count(TestOutcome::Failed) as u32,
        detail: answer.clone(),
    };
    if let Some(id) = history::record(shared, &root, run).await {
        answer["runId"] = id.into();
    }
    let points = perf::verification_points(&root, started, &facts.affected.edited, &verdict);
    perf::record(shared, &root, points).await;
    Ok(answer)
}
