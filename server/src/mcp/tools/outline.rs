//! `outline`: a file's definitions as a tree.

use codecontext_analysis::{Analysis, OutlineItem};
use codecontext_workspace::places;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "outline",
    title: "A file's outline",
    description: "The definitions of one file as a tree (classes with their methods, modules with their functions, ...), each with its kind, signature and line. `path` is relative to the project, as other answers show it.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {"path": {"type": "string", "description": "the file, relative to the project"}},
            "required": ["path"],
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "items": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string"},
                    "line": {"type": "integer"},
                    "signature": {"type": ["string", "null"]},
                    "children": {"type": "array"},
                }, "required": ["name", "kind", "line", "children"]}},
            },
            "required": ["path", "items"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    path: String,
}

fn items(analysis: &Analysis<'_>, outline: &[OutlineItem]) -> Vec<Value> {
    outline
        .iter()
        .filter(|i| i.target.kind != "import")
        .map(|i| {
            json!({
                "name": i.target.name,
                "kind": i.target.kind,
                "line": analysis.line_col(i.target.file, i.target.focus.start).map_or(0, |lc| lc.line + 1),
                "signature": i.target.signature,
                "children": items(analysis, &i.children),
            })
        })
        .collect()
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("outline", arguments)?;
    with_analysis(ctx, move |analysis| {
        let file = places::file_of(analysis.host(), &a.path)?;
        let outline = analysis.outline(file);
        Ok(json!({ "path": analysis.path_of(file), "items": items(analysis, &outline) }))
    })
    .await
}
