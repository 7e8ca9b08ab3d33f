//! `textDocument/hover`: the definition's signature and doc, what it is and where, how
//! much it is used, how sure the resolution is, how the project usually calls it (its
//! usage patterns, in one line), the decisions and preferences anchored to it with their
//! status (from the project's memory), its last change (from the change log read from
//! git), and the last verification of an edit to it (from the run history).

use codecontext_analysis::{How, NavTarget};
use tower_lsp_server::{jsonrpc::Result, lsp_types::*};

use super::Backend;
use crate::lsp::to_proto::Conv;

pub(super) async fn hover(backend: &Backend, params: HoverParams) -> Result<Option<Hover>> {
    let answer = backend
        .query_at(
            "textDocument/hover",
            params.text_document_position_params.clone(),
            move |conv, file, offset| {
                let Some(defs) = conv.analysis.definitions(file, offset) else {
                    return Ok(None);
                };
                let Some(first) = defs.targets.first() else {
                    return Ok(None);
                };
                let mut value = hover_text(conv, first, defs.how);
                if let Some(line) = usage_hint(conv, first) {
                    value.push_str(&format!("\n\nUsage: {line}"));
                }
                if defs.targets.len() > 1 {
                    value.push_str(&format!(
                        "\n\n{} candidates: {}",
                        defs.targets.len(),
                        defs.targets
                            .iter()
                            .map(|t| format!("`{}`", t.qualified_name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                let path = conv.analysis.host().path(first.file);
                let symbol = (first.entity.is_some()).then(|| first.clone());
                Ok(Some((
                    value,
                    conv.range(file, defs.origin),
                    path.zip(symbol),
                )))
            },
        )
        .await?;
    let Some((mut value, range, subject)) = answer else {
        return Ok(None);
    };
    // The folder of the symbol, to look up its last verification.
    let ws = &backend.shared.ws;
    if let Some((root, target)) =
        subject.and_then(|(path, target)| Some((ws.root_of(&path)?, target)))
    {
        let symbol = &target.qualified_name;
        let mut lines = ws.memory_lines(&root, symbol).await;
        lines.extend(ws.last_change_line(&root, &target).await);
        lines.extend(ws.last_verification(&root, symbol).await);
        if !lines.is_empty() {
            value.push_str("\n\n---\n\n");
            value.push_str(&lines.join("\n\n"));
        }
    }
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }))
}

/// How the project usually calls a function or method, in one line.
fn usage_hint(conv: &Conv<'_>, t: &NavTarget) -> Option<String> {
    if !matches!(t.kind.as_str(), "function" | "method" | "constructor") {
        return None;
    }
    codecontext_workspace::usages::hint(conv.analysis, t.entity?)
}

fn hover_text(conv: &Conv<'_>, t: &NavTarget, how: How) -> String {
    // Markdown code blocks are labelled by language name (`python`, not `py`), which
    // is what editors map to a highlighter.
    let lang = conv.analysis.language_name(t.file).unwrap_or_default();
    let mut text = String::new();
    let head = t.signature.clone().unwrap_or_else(|| t.name.clone());
    text.push_str(&format!("```{lang}\n{head}\n```\n"));
    if let Some(doc) = &t.doc {
        text.push_str(&format!("\n{doc}\n"));
    }
    let mut facts = vec![format!("{} `{}`", t.kind, t.qualified_name)];
    if let Some(c) = &t.container {
        facts.push(format!("in `{c}`"));
    }
    if let Some(id) = t.entity {
        let usage = conv.analysis.usage(id);
        // Counted within the request's time budget: past it, what was counted.
        let at_least = if codecontext_analysis::cancel::was_cut() {
            "at least "
        } else {
            ""
        };
        facts.push(format!("{at_least}{} references", usage.references));
        facts.push(format!("{at_least}{} callers", usage.callers));
    }
    if how == How::Inferred || how == How::Ambiguous {
        facts.push(format!("resolved by name ({})", how.as_str()));
    }
    text.push_str(&format!("\n{}", facts.join(" · ")));
    text
}
