//! `recall`: what the project remembers about a symbol, a file, or some words.

use codecontext_workspace::memory::RecallRequest;
use serde_json::{json, Value};

use super::{args, ToolDef, ToolError};
use crate::mcp::Ctx;

/// One memory in an answer (recall, remember, forget, feedback).
pub(crate) fn memory_schema() -> Value {
    json!({"type": "object", "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["decision", "preference", "feedback"]},
        "status": {"type": "string", "enum": ["current", "suspect", "orphaned", "superseded", "forgotten"]},
        "title": {"type": "string"},
        "text": {"type": "string"},
        "rationale": {"type": "string"},
        "source": {"type": "object", "properties": {"kind": {"type": "string"}, "path": {"type": "string"}}, "required": ["kind"]},
        "author": {"type": "string"},
        "madeMs": {"type": "integer"},
        "validFromMs": {"type": "integer"},
        "validToMs": {"type": "integer"},
        "supersededBy": {"type": "string"},
        "anchors": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["symbol", "file"]},
            "name": {"type": "string"},
            "file": {"type": "string"},
            "drift": {"type": "string", "enum": ["same", "body_changed", "signature_changed", "gone"]},
        }, "required": ["kind", "name", "drift"]}},
    }, "required": ["id", "kind", "status", "text", "source", "madeMs", "anchors"]})
}

pub const TOOL: ToolDef = ToolDef {
    name: "recall",
    title: "What the project remembers",
    description: "The project's memory of a `symbol` (qualified or bare name), a `file` (relative path), or a `query` (words), or all of it: decisions (from the architecture decision records in docs/adr and similar folders, or remembered), preferences (remembered, or learned from feedback: `learned`), and feedback, newest first, and for a symbol or a file its recorded runs. For a symbol, `changes` lists the commits that changed each definition of that name (from git: who, when, the commit's summary, lines added and removed), newest first, followed through file renames; decisions written in commit messages (`Decision:` trailers) are memories too. Each also has `performance`: where the verification times of edits to it shifted (E-Divisive means), with the commits made across each shift and, for a gain, the decisions behind it; `tests` does the same for the durations of the tests its verifications ran. `historyComplete` is false while the git history is still being read. Each memory says whether it still holds: `current`, `suspect` (code it is anchored to changed since: check before relying on it), `orphaned` (that code is gone), `superseded` (by `supersededBy`), `forgotten` (only with includeForgotten); each anchor says how its code drifted. For a file, or the whole project, `style` says how its code is written, per language: the naming conventions of the code as it is, and the habits (indentation, quotes, line length, imports, error handling, tests, naming) of all the commits read and of each author, from the lines their commits added (for a file: the authors who changed it); each habit is its dominant choice with its share. For the whole project, `habits` lists the commands and tests its verifications and executions ran most. Call it before changing code whose reasons you do not know, and before writing code in someone else's style. `skipped` lists decision records that could not be read, and why.",
    read_only: true,
    destructive: false,
    input_schema: || {
        json!({
            "type": "object",
            "properties": {
                "symbol": {"type": "string", "description": "qualified name as answers show them, or a bare name"},
                "file": {"type": "string", "description": "path relative to the project"},
                "query": {"type": "string", "description": "words to look for in the memories' text"},
                "includeForgotten": {"type": "boolean"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            },
        })
    },
    output_schema: || {
        json!({
            "type": "object",
            "properties": {
                "memories": {"type": "array", "items": memory_schema()},
                "learned": {"type": "array", "items": {"type": "object"}},
                "runs": {"type": "array", "items": {"type": "object"}},
                "skipped": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"}, "reason": {"type": "string"},
                }, "required": ["path", "reason"]}},
                "changes": {"type": "array", "items": {"type": "object", "properties": {
                    "symbol": {"type": "string"},
                    "path": {"type": "string"},
                    "commits": {"type": "array", "items": {"type": "object", "properties": {
                        "commit": {"type": "string"},
                        "atMs": {"type": "integer"},
                        "author": {"type": "string"},
                        "email": {"type": "string"},
                        "summary": {"type": "string"},
                        "how": {"type": "string", "enum": ["added", "modified", "deleted"]},
                        "added": {"type": "integer"},
                        "removed": {"type": "integer"},
                        "path": {"type": "string"},
                        "key": {"type": "string", "description": "the definition's key at that commit (another one before a rename)"},
                    }, "required": ["commit", "atMs", "author", "summary", "how"]}},
                    "performance": {"type": "object", "properties": {
                        "series": {"type": "string"},
                        "points": {"type": "integer"},
                        "shifts": {"type": "array", "items": {"type": "object", "properties": {
                            "before": {"type": "number"},
                            "after": {"type": "number"},
                            "change": {"type": "number"},
                            "commits": {"type": "array", "items": {"type": "object"}},
                            "appliedOptimizations": {"type": "array", "items": {"type": "object"}},
                        }, "required": ["before", "after", "change", "commits", "appliedOptimizations"]}},
                        "tests": {"type": "array", "items": {"type": "object", "properties": {
                            "test": {"type": "string"},
                            "series": {"type": "string"},
                            "points": {"type": "integer"},
                            "shifts": {"type": "array", "items": {"type": "object"}},
                        }, "required": ["test", "series", "points", "shifts"]}},
                    }, "required": ["series", "points", "shifts", "tests"]},
                }, "required": ["symbol", "path", "commits", "performance"]}},
                "style": {"type": "array", "items": {"type": "object", "properties": {
                    "language": {"type": "string"},
                    "code": {"type": "object", "properties": {
                        "naming": {"type": "array", "items": {"type": "object", "properties": {
                            "kind": {"type": "string"}, "style": {"type": "string"},
                            "share": {"type": "number"}, "names": {"type": "integer"},
                        }, "required": ["kind", "style", "share", "names"]}},
                    }, "required": ["naming"]},
                    "commits": {"type": "object", "properties": {
                        "commits": {"type": "integer"}, "habits": habits_schema(),
                    }, "required": ["commits", "habits"]},
                    "authors": {"type": "array", "items": {"type": "object", "properties": {
                        "author": {"type": "string"}, "email": {"type": "string"},
                        "commits": {"type": "integer"}, "habits": habits_schema(),
                    }, "required": ["author", "email", "commits", "habits"]}},
                }, "required": ["language", "code", "commits", "authors"]}},
                "habits": {"type": ["object", "null"], "properties": {
                    "runs": {"type": "integer"},
                    "commands": {"type": "array", "items": counted_schema()},
                    "tests": {"type": "array", "items": counted_schema()},
                }},
                "historyComplete": {"type": "boolean"},
                "truncated": {"type": "boolean"},
            },
            "required": ["memories", "learned", "runs", "changes", "style", "habits", "historyComplete", "skipped", "truncated"],
        })
    },
    run: |ctx, arguments| Box::pin(run(ctx, arguments)),
};

/// A habit's dominant choice (`codecontext_memory::style::Habit`).
fn habit_schema() -> Value {
    json!({"type": "object", "properties": {
        "value": {"type": "string"}, "share": {"type": "number"}, "of": {"type": "integer"},
    }, "required": ["value", "share", "of"]})
}

/// An author's (or all commits') habits (`codecontext_memory::style::StyleSummary`).
fn habits_schema() -> Value {
    let mut properties = serde_json::Map::new();
    for habit in [
        "indent",
        "quotes",
        "lineLength",
        "imports",
        "errors",
        "tests",
    ] {
        properties.insert(habit.to_string(), habit_schema());
    }
    properties.insert(
        "naming".to_string(),
        json!({"type": "object", "additionalProperties": habit_schema()}),
    );
    json!({"type": "object", "properties": properties})
}

/// What was run, and how often.
fn counted_schema() -> Value {
    json!({"type": "object", "properties": {
        "what": {"type": "string"}, "runs": {"type": "integer"},
    }, "required": ["what", "runs"]})
}

async fn run(ctx: &Ctx, arguments: Value) -> Result<Value, ToolError> {
    let request: RecallRequest = args("recall", arguments)?;
    ctx.indexed().await;
    Ok(ctx.ws.recall(request).await?)
}
