//! `symbol_info`: what one symbol is: signature, doc, container, location, how much it
//! is used, optionally its body, and the last verification of an edit to it.

use codecontext_analysis::cancel;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, one_target, target_properties, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

/// The most of a body an answer holds.
const MAX_BODY: usize = 16 * 1024;

pub const TOOL: ToolDef = ToolDef {
    name: "symbol_info",
    title: "What a symbol is",
    description: "Everything known about one symbol, named by `position` (path:line:col of its name or of a use of it) or by `symbol` (its qualified name): signature, doc comment, the container it is in, its location, how many references and direct callers it has, and the last verification of an edit to it. With `body: true`, also its source text (cut at 16 KiB).",
    read_only: true,
    destructive: false,
    input_schema: || {
        let mut properties = target_properties();
        properties["body"] = json!({"type": "boolean", "description": "include the source text"});
        json!({"type": "object", "properties": properties})
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": super::symbol_schema(),
                "doc": {"type": ["string", "null"]},
                "references": {"type": "integer"},
                "callers": {"type": "integer"},
                "truncated": {"type": "boolean", "description": "the counts stopped at the request's time budget: they are lower bounds"},
                "body": {"type": ["string", "null"]},
                "lastVerification": {"type": ["string", "null"]},
            },
            "required": ["symbol", "doc", "references", "callers", "body", "lastVerification"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    #[serde(default)]
    position: Option<String>,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    body: bool,
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("symbol_info", arguments)?;
    let ws = ctx.ws.clone();
    let (mut answer, subject) = with_analysis(ctx, move |analysis| {
        let t = one_target(analysis, a.position.as_deref(), a.symbol.as_deref())?;
        let usage = t.entity.map(|id| analysis.usage(id));
        let path = analysis.host().path(t.file);
        let body = match (a.body, &path) {
            (true, Some(path)) => ws.current_text(path).ok().and_then(|text| {
                let body = text.get(t.range.start as usize..t.range.end as usize)?;
                let mut end = body.len().min(MAX_BODY);
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                Some(body[..end].to_string())
            }),
            _ => None,
        };
        let answer = json!({
            "symbol": super::symbol_json(analysis, &t),
            "doc": t.doc,
            "references": usage.map_or(0, |u| u.references),
            "callers": usage.map_or(0, |u| u.callers),
            "truncated": cancel::was_cut(),
            "body": body,
            "lastVerification": null,
        });
        let subject = t.entity.and(path).map(|p| (p, t.qualified_name.clone()));
        Ok((answer, subject))
    })
    .await?;
    if let Some((path, symbol)) = subject {
        if let Some(root) = ctx.ws.root_of(&path) {
            if let Some(line) = ctx.ws.last_verification(&root, &symbol).await {
                answer["lastVerification"] = json!(line);
            }
        }
    }
    Ok(answer)
}
