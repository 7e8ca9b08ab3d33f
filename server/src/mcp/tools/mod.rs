//! The tools, one file each. A tool is a [`ToolDef`]: its name, a description written
//! for a model, JSON schemas for what it takes and what it answers, its annotations, and
//! one function from arguments to answer. Adding a tool is a file here, a row in
//! [`ALL`], and a test in `tests/clients/mcp/`.
//!
//! Shared here: reading arguments ([`args`]), finding the symbol a call names (a
//! `path:line:col` position or a qualified name), the pages of long answers (an opaque
//! cursor, at most [`PAGE_CHARS`] of JSON per answer, in a stable order), and the
//! freshness stamp every answer carries.

pub(crate) mod assess_edit;
pub(crate) mod call_graph;
pub(crate) mod check_rules;
pub(crate) mod context_for_task;
pub(crate) mod execute;
pub(crate) mod feedback;
pub(crate) mod find_definition;
pub(crate) mod find_references;
pub(crate) mod find_symbol;
pub(crate) mod forget;
pub(crate) mod get_run;
pub(crate) mod history;
pub(crate) mod outline;
pub(crate) mod project_report;
pub(crate) mod recall;
pub(crate) mod remember;
pub(crate) mod search_pattern;
pub(crate) mod symbol_info;
pub(crate) mod usage_patterns;
pub(crate) mod verify_edit;

use codecontext_analysis::{cancel, Analysis, NavTarget};
use codecontext_store::BoxFuture;
use codecontext_workspace::blocking::{cancellable, Ended};
use codecontext_workspace::{places, Workspace, WorkspaceError};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::Ctx;

type Run = for<'a> fn(&'a Ctx, Value) -> BoxFuture<'a, Result<Value, ToolError>>;

/// One tool.
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// Reads only: nothing is written, no code runs.
    pub read_only: bool,
    /// May change the user's files or the world outside the sandbox.
    pub destructive: bool,
    pub input_schema: fn() -> Value,
    /// The answer's properties; `freshness` is added to every one.
    pub output_schema: fn() -> Value,
    pub run: Run,
}

/// Every tool, in the order `tools/list` shows them.
pub const ALL: &[ToolDef] = &[
    find_symbol::TOOL,
    symbol_info::TOOL,
    outline::TOOL,
    find_definition::TOOL,
    find_references::TOOL,
    call_graph::TOOL,
    context_for_task::TOOL,
    execute::TOOL,
    verify_edit::TOOL,
    assess_edit::TOOL,
    get_run::TOOL,
    history::TOOL,
    project_report::TOOL,
    search_pattern::TOOL,
    check_rules::TOOL,
    usage_patterns::TOOL,
    recall::TOOL,
    remember::TOOL,
    forget::TOOL,
    feedback::TOOL,
];

/// A call that gives no answer: what was wrong, and what to send instead.
#[derive(Debug)]
pub struct ToolError {
    pub message: String,
}

impl ToolError {
    pub fn new(message: impl Into<String>) -> ToolError {
        ToolError {
            message: message.into(),
        }
    }
}

impl From<WorkspaceError> for ToolError {
    fn from(e: WorkspaceError) -> ToolError {
        ToolError::new(e.to_string())
    }
}

impl From<places::PlaceError> for ToolError {
    fn from(e: places::PlaceError) -> ToolError {
        ToolError::new(e.to_string())
    }
}

/// The arguments as the tool's own type; a wrong one says which field and why.
pub fn args<T: DeserializeOwned>(tool: &str, arguments: Value) -> Result<T, ToolError> {
    serde_json::from_value(arguments)
        .map_err(|e| ToolError::new(format!("{tool}: bad arguments: {e}")))
}

/// An answer with its freshness stamp.
pub fn stamped(ctx: &Ctx, mut answer: Value) -> Value {
    if let Some(object) = answer.as_object_mut() {
        let freshness = ctx.ws.freshness(&ctx.root);
        object.insert(
            "freshness".into(),
            serde_json::to_value(freshness).unwrap_or_default(),
        );
    }
    answer
}

/// An output schema with the freshness stamp every answer has.
pub fn with_freshness(mut schema: Value) -> Value {
    if let Some(properties) = schema["properties"].as_object_mut() {
        properties.insert(
            "freshness".into(),
            json!({
                "type": "object",
                "description": "How current the answer is: the index's version (it grows with every change), files still waiting to be indexed, and the git commit of the checkout.",
                "properties": {
                    "indexVersion": {"type": "integer"},
                    "pendingFiles": {"type": "integer"},
                    "gitHead": {"type": ["string", "null"]},
                },
                "required": ["indexVersion", "pendingFiles", "gitHead"],
            }),
        );
    }
    if let Some(required) = schema["required"].as_array_mut() {
        required.push(json!("freshness"));
    }
    schema
}

/// How much JSON one answer holds at most: about 8,000 tokens at four characters each.
pub const PAGE_CHARS: usize = 32_000;

/// The page of `items` that starts at `cursor`, as much as fits in [`PAGE_CHARS`]
/// (at least one item), and the cursor of the next page. Cursors are opaque to the
/// client: `c` and an offset, checked here.
pub fn page(
    items: Vec<Value>,
    cursor: Option<&str>,
) -> Result<(Vec<Value>, Option<String>), ToolError> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix('c')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                ToolError::new(format!(
                    "`{c}` is not a cursor of this answer; pass the `nextCursor` of the previous page, or none for the first"
                ))
            })?,
    };
    let mut used = 0;
    let mut out = Vec::new();
    for item in items.iter().skip(start) {
        let size = item.to_string().len() + 1;
        if !out.is_empty() && used + size > PAGE_CHARS {
            break;
        }
        used += size;
        out.push(item.clone());
    }
    let end = start + out.len();
    let next = (end < items.len()).then(|| format!("c{end}"));
    Ok((out, next))
}

/// The schema of a page's `nextCursor`.
pub fn cursor_schema() -> Value {
    json!({"type": ["string", "null"], "description": "Pass it back as `cursor` for the rest; null on the last page."})
}

/// The schema of a point in a file (`codecontext_workspace::search::Point`): 1-based
/// line and column, as search matches and rule hits give them.
pub fn point_schema() -> Value {
    json!({"type": "object", "properties": {
        "line": {"type": "integer"}, "column": {"type": "integer"},
    }, "required": ["line", "column"]})
}

/// The schema of a symbol in an answer.
pub fn symbol_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "qualifiedName": {"type": "string"},
            "kind": {"type": "string"},
            "location": {"type": "string", "description": "path:line:col, 1-based"},
            "container": {"type": ["string", "null"]},
            "signature": {"type": ["string", "null"]},
        },
        "required": ["name", "qualifiedName", "kind", "location"],
    })
}

/// A symbol as answers show it.
pub fn symbol_json(analysis: &Analysis<'_>, t: &NavTarget) -> Value {
    json!({
        "name": t.name,
        "qualifiedName": t.qualified_name,
        "kind": t.kind,
        "location": places::place(analysis, t.file, t.focus.start),
        "container": t.container,
        "signature": t.signature,
    })
}

/// The input schema's properties that name a symbol: a position, or a qualified name.
pub fn target_properties() -> Value {
    json!({
        "position": {"type": "string", "description": "path:line:col, 1-based, column in characters; the path relative to the project (as answers show it)"},
        "symbol": {"type": "string", "description": "a qualified name as answers show it (e.g. `shop.services.pricing.Cart.add`), or a unique suffix of one"},
    })
}

/// The symbols a call names: the definitions at `position`, or the symbols whose
/// qualified name is `symbol` (or ends with it).
pub fn targets(
    analysis: &Analysis<'_>,
    position: Option<&str>,
    symbol: Option<&str>,
) -> Result<Vec<NavTarget>, ToolError> {
    match (position, symbol) {
        (Some(position), None) => {
            let (file, offset) = places::resolve(analysis.host(), position)?;
            let found = analysis
                .definitions(file, offset)
                .map(|d| d.targets)
                .unwrap_or_default();
            if found.is_empty() {
                return Err(ToolError::new(format!(
                    "nothing is defined or referenced at {position}; point at a name (find_symbol gives positions)"
                )));
            }
            Ok(found)
        }
        (None, Some(symbol)) => {
            let found = analysis.find_by_name(symbol);
            if found.is_empty() {
                return Err(ToolError::new(format!(
                    "no symbol is named `{symbol}`; find_symbol searches by part of a name"
                )));
            }
            Ok(found)
        }
        _ => Err(ToolError::new(
            "give either `position` (path:line:col) or `symbol` (a qualified name), not both",
        )),
    }
}

/// The one symbol a call names; several are an error that lists them.
pub fn one_target(
    analysis: &Analysis<'_>,
    position: Option<&str>,
    symbol: Option<&str>,
) -> Result<NavTarget, ToolError> {
    let mut found = targets(analysis, position, symbol)?;
    if found.len() > 1 && symbol.is_some() {
        let names: Vec<String> = found
            .iter()
            .take(10)
            .map(|t| {
                format!(
                    "{} ({})",
                    t.qualified_name,
                    places::place(analysis, t.file, t.focus.start)
                )
            })
            .collect();
        return Err(ToolError::new(format!(
            "`{}` names {} symbols: {}; give a longer qualified name or a position",
            symbol.unwrap_or_default(),
            found.len(),
            names.join(", ")
        )));
    }
    Ok(found.swap_remove(0))
}

/// A file's new content in an edit (`content: null` deletes it), by path relative to
/// the project.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEdit {
    path: String,
    content: Option<String>,
}

/// The edit of `verify_edit` and `assess_edit`: a unified diff, or new contents.
pub fn edit_of(
    ctx: &Ctx,
    diff: Option<String>,
    edits: Option<Vec<FileEdit>>,
) -> Result<codecontext_workspace::verify::Edit, ToolError> {
    use codecontext_workspace::verify::Edit;
    match (diff, edits) {
        (Some(diff), None) => Ok(Edit::Diff(diff)),
        (None, Some(edits)) if !edits.is_empty() => Ok(Edit::Files(
            edits
                .into_iter()
                .map(|e| (ctx.root.join(e.path.trim_start_matches("./")), e.content))
                .collect(),
        )),
        _ => Err(ToolError::new(
            "give the edit as `diff` (a unified diff) or as `edits` ([{path, content}]), one of them",
        )),
    }
}

/// Runs `f` on the analysis once the first indexing is done, on the blocking pool.
pub async fn with_analysis<T, F>(ctx: &Ctx, f: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce(&Analysis<'_>) -> Result<T, ToolError> + Send + 'static,
{
    with_workspace(ctx, move |ws| f(&ws.read().analysis())).await
}

/// Runs `f` on the workspace once the first indexing is done, on the blocking pool, for
/// work that takes the index's lock only when it needs it (a search reads files outside
/// it).
pub async fn with_workspace<T, F>(ctx: &Ctx, f: F) -> Result<T, ToolError>
where
    T: Send + 'static,
    F: FnOnce(&Workspace) -> Result<T, ToolError> + Send + 'static,
{
    ctx.indexed().await;
    let ws = ctx.ws.clone();
    let budget = ws.settings().request_budget();
    // Dropped when the client cancels the call: the work stops at its next check. Past
    // the budget, walks and searches stop; `f` asks `cancel::was_cut` to say so.
    match cancellable(move || cancel::within(budget, || f(&ws)).0).await {
        Ended::Done(answer) => answer,
        Ended::Cancelled => Err(ToolError::new("cancelled by the client")),
        Ended::Failed(why) => Err(ToolError::new(format!("the query failed: {why}"))),
    }
}
