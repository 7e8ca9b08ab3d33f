//! `textDocument/codeAction`: the quick fixes of project rules. A rule diagnostic
//! (source `codecontext-rules`) carries its rule's fix in `data` (`{fix: {range,
//! newText, title?}}`), and clients send the diagnostics back with the request; each
//! fix becomes a preferred quick fix that edits the document.

use std::collections::HashMap;

use serde::Deserialize;
use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::diagnostics::RULES_SOURCE;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FixData {
    range: Range,
    new_text: String,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct RuleData {
    fix: FixData,
}

pub(super) async fn code_action(
    _backend: &Backend,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>> {
    let wants_quick_fixes = params.context.only.as_ref().is_none_or(|only| {
        only.iter()
            .any(|k| CodeActionKind::QUICKFIX.as_str().starts_with(k.as_str()))
    });
    if !wants_quick_fixes {
        return Ok(None);
    }
    let uri = params.text_document.uri;
    let actions: Vec<CodeActionOrCommand> = params
        .context
        .diagnostics
        .iter()
        .filter(|d| d.source.as_deref() == Some(RULES_SOURCE))
        .filter_map(|d| {
            let data: RuleData = serde_json::from_value(d.data.clone()?).ok()?;
            let rule = match &d.code {
                Some(NumberOrString::String(id)) => id.clone(),
                _ => String::new(),
            };
            let title = data
                .fix
                .title
                .unwrap_or_else(|| format!("Fix `{rule}`: {}", first_line(&d.message)));
            let edit = TextEdit::new(data.fix.range, data.fix.new_text);
            Some(CodeActionOrCommand::CodeAction(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d.clone()]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(uri.clone(), vec![edit])])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            }))
        })
        .collect();
    Ok((!actions.is_empty()).then_some(actions))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
