//! Syntax diagnostics (tree-sitter's error and missing nodes), published once typing
//! pauses for the configured delay, together with the hits of the project's rules
//! (source `codecontext-rules`, with each rule's fix in `data` for the quick fix) and the
//! build errors and test failures the last verification found in the file (source
//! `codecontext-verify`) until it next changes.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use codecontext_analysis::FileId;
use codecontext_patterns::rules::{Hit, Severity};
use codecontext_verify::{Location, TestOutcome, Verdict};
use serde_json::json;
use tower_lsp_server::{
    lsp_types::{
        CodeDescription, Diagnostic, DiagnosticSeverity, NumberOrString, Position, Range, Uri,
    },
    Client, UriExt,
};

use super::{state::Shared, to_proto::Conv};

/// Publishes a document's diagnostics after the delay, unless it changes again first.
pub(crate) fn schedule(shared: &Arc<Shared>, file: FileId) {
    let (enabled, delay) = {
        let s = shared.ws.settings();
        (s.diagnostics, s.diagnostics_delay_ms)
    };
    if !enabled {
        return;
    }
    let generation = {
        let mut docs = shared.documents();
        let Some(doc) = docs.get_mut(&file) else {
            return;
        };
        doc.generation += 1;
        doc.generation
    };
    let shared2 = shared.clone();
    shared.spawn(async move {
        // Debounce: a newer change restarts the wait. This is the product's behaviour
        // (no diagnostics mid-word), not synchronisation.
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let shared = shared2;
        let Some(doc) = shared.documents().get(&file).cloned() else {
            return;
        };
        if doc.generation != generation {
            return;
        }
        let mut diagnostics = syntax(&shared, file);
        let ws = shared.ws.clone();
        if let Ok(hits) = tokio::task::spawn_blocking(move || ws.check_rules(file)).await {
            diagnostics.extend(rules(&shared, file, hits));
        }
        let path = shared.read().path(file);
        if let Some(path) = path {
            diagnostics.extend(verified(&shared, &path));
        }
        if let Some(client) = shared.client() {
            client
                .publish_diagnostics(doc.uri, diagnostics, Some(doc.version))
                .await;
        }
    });
}

/// Syntax diagnostics of an open document.
fn syntax(shared: &Shared, file: FileId) -> Vec<Diagnostic> {
    let host = shared.read();
    let analysis = host.analysis();
    let encoding = shared.session().encoding;
    let conv = Conv {
        analysis: &analysis,
        encoding,
    };
    // A document that is not indexed says why, at its start.
    let skipped = analysis.skipped(file).map(|reason| Diagnostic {
        range: Range::new(Position::new(0, 0), Position::new(0, 0)),
        severity: Some(DiagnosticSeverity::WARNING),
        source: Some("codecontext".into()),
        message: format!("not indexed: {reason}"),
        ..Diagnostic::default()
    });
    skipped
        .into_iter()
        .chain(analysis.syntax_errors(file).into_iter().filter_map(|e| {
            Some(Diagnostic {
                range: conv.range(file, e.range)?,
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("codecontext".into()),
                message: e.message,
                ..Diagnostic::default()
            })
        }))
        .collect()
}

/// The `source` of project rules' diagnostics.
pub(crate) const RULES_SOURCE: &str = "codecontext-rules";

/// Project rules' hits as diagnostics, each fix in `data` for `textDocument/codeAction`.
fn rules(shared: &Shared, file: FileId, hits: Vec<Hit>) -> Vec<Diagnostic> {
    if hits.is_empty() {
        return Vec::new();
    }
    let host = shared.read();
    let analysis = host.analysis();
    let conv = Conv {
        analysis: &analysis,
        encoding: shared.session().encoding,
    };
    hits.into_iter()
        .filter_map(|hit| {
            let data = match &hit.fix {
                Some(fix) => Some(json!({"fix": {
                    "range": conv.range(file, fix.range)?,
                    "newText": fix.text,
                    "title": fix.title,
                }})),
                None => None,
            };
            let message = match &hit.note {
                Some(note) => format!("{}\n{note}", hit.message),
                None => hit.message,
            };
            Some(Diagnostic {
                range: conv.range(file, hit.range)?,
                severity: Some(match hit.severity {
                    Severity::Hint => DiagnosticSeverity::HINT,
                    Severity::Info => DiagnosticSeverity::INFORMATION,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                    Severity::Error => DiagnosticSeverity::ERROR,
                }),
                code: Some(NumberOrString::String(hit.rule)),
                code_description: hit
                    .url
                    .and_then(|u| u.parse().ok())
                    .map(|href| CodeDescription { href }),
                source: Some(RULES_SOURCE.into()),
                message,
                data,
                ..Diagnostic::default()
            })
        })
        .collect()
}

/// Checks every open document again (the project's rules changed).
pub(crate) fn recheck_open_documents(shared: &Arc<Shared>) {
    let files: Vec<FileId> = shared.documents().keys().copied().collect();
    for file in files {
        schedule(shared, file);
    }
}

/// What the last verification found in a file.
fn verified(shared: &Shared, path: &Path) -> Vec<Diagnostic> {
    shared
        .verify_diagnostics()
        .get(path)
        .cloned()
        .unwrap_or_default()
}

/// A file changed: its verification failures no longer describe it.
pub(crate) fn forget_verified(shared: &Shared, file: FileId) {
    if let Some(path) = shared.read().path(file) {
        shared.verify_diagnostics().remove(&path);
    }
}

/// A verification's diagnostic at a runner's location: from its column (or the line's
/// start) to the end of the line.
fn at_location(location: &Location, message: String) -> Diagnostic {
    let line = location.line.saturating_sub(1);
    let column = location.column.map_or(0, |c| c.saturating_sub(1));
    Diagnostic {
        range: Range::new(Position::new(line, column), Position::new(line + 1, 0)),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some("codecontext-verify".into()),
        message,
        ..Diagnostic::default()
    }
}

/// Publishes what a verification found: its build errors wherever they are, and its
/// failed tests located in files the edit touched. They replace what the previous
/// verification published, and stay with the file's syntax diagnostics until it
/// changes.
pub(crate) async fn publish_verified(
    shared: &Shared,
    client: &Client,
    root: &Path,
    verdict: &Verdict,
) {
    let mut found: HashMap<PathBuf, Vec<Diagnostic>> = HashMap::new();
    for error in &verdict.build_errors {
        if let Some(at) = &error.location {
            found
                .entry(root.join(&at.file))
                .or_default()
                .push(at_location(at, error.message.clone()));
        }
    }
    for t in verdict
        .tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Failed)
    {
        let Some(at) = &t.location else {
            continue;
        };
        if !verdict.changed_files.contains(&at.file) {
            continue;
        }
        let message = match &t.message {
            Some(m) if !m.is_empty() => format!("test {} failed: {m}", t.name),
            _ => format!("test {} failed", t.name),
        };
        found
            .entry(root.join(&at.file))
            .or_default()
            .push(at_location(at, message));
    }
    let before: Vec<PathBuf> = {
        let mut held = shared.verify_diagnostics();
        let before = held.keys().cloned().collect();
        *held = found.clone();
        before
    };
    let mut paths: Vec<PathBuf> = before;
    paths.extend(found.keys().cloned());
    paths.sort();
    paths.dedup();
    for path in paths {
        let file = shared.read().file_id(&path);
        let mut all = match file {
            Some(file) if shared.documents().contains_key(&file) => syntax(shared, file),
            _ => Vec::new(),
        };
        all.extend(found.remove(&path).unwrap_or_default());
        if let Some(uri) = Uri::from_file_path(&path) {
            client.publish_diagnostics(uri, all, None).await;
        }
    }
}

/// Clears the diagnostics of a closed document.
pub(crate) fn clear(shared: &Arc<Shared>, uri: Uri) {
    let Some(client) = shared.client().cloned() else {
        return;
    };
    shared.spawn(async move {
        client.publish_diagnostics(uri, Vec::new(), None).await;
    });
}
