//! `find_definition`: where the name at a position (or a qualified name) is defined,
//! and how sure the answer is.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{args, symbol_json, target_properties, targets, with_analysis, ToolDef, ToolError};
use crate::mcp::Ctx;

pub const TOOL: ToolDef = ToolDef {
    name: "find_definition",
    title: "Go to definition",
    description: "Where something is defined. Give `position` (path:line:col of a name, 1-based) to resolve the name there the way the language does (locals, imports, members through declared types), or `symbol` (a qualified name) to look it up. `how` says how sure the answer is: `exact` (resolved), `inferred` (by name, one candidate), `ambiguous` (by name, several: all are listed).",
    read_only: true,
    destructive: false,
    input_schema: || json!({"type": "object", "properties": target_properties()}),
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "how": {"type": "string", "enum": ["exact", "inferred", "ambiguous", "unresolved"]},
                "definitions": {"type": "array", "items": super::symbol_schema()},
            },
            "required": ["how", "definitions"],
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
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let a: Args = args("find_definition", arguments)?;
    with_analysis(ctx, move |analysis| {
        let how = match a.position.as_deref() {
            Some(position) => {
                let (file, offset) =
                    codecontext_workspace::places::resolve(analysis.host(), position)?;
                analysis
                    .definitions(file, offset)
                    .map_or("unresolved", |d| d.how.as_str())
            }
            None => "exact",
        };
        let found = targets(analysis, a.position.as_deref(), a.symbol.as_deref())?;
        let how = if a.position.is_none() && found.len() > 1 {
            "ambiguous"
        } else {
            how
        };
        Ok(json!({
            "how": how,
            "definitions": found.iter().map(|t| symbol_json(analysis, t)).collect::<Vec<_>>(),
        }))
    })
    .await
}
