//! Syntax diagnostics (tree-sitter's error and missing nodes), published once typing
//! pauses for the configured delay, together with the test failures the last
//! verification found in the file (source `codecontext-verify`) until it next changes.

use std::{path::Path, sync::Arc, time::Duration};

use codecontext_analysis::FileId;
use codecontext_verify::{TestOutcome, Verdict};
use tower_lsp_server::{
    lsp_types::{Diagnostic, DiagnosticSeverity, Position, Range, Uri},
    Client, UriExt,
};

use super::{convert::Conv, state::Shared};

/// Publishes a document's diagnostics after the delay, unless it changes again first.
pub(crate) fn schedule(shared: &Arc<Shared>, file: FileId) {
    let (enabled, delay) = {
        let s = shared.session();
        (s.settings.diagnostics, s.settings.diagnostics_delay_ms)
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
        if let Some(path) = shared.read().path(file) {
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
    analysis
        .syntax_errors(file)
        .into_iter()
        .filter_map(|e| {
            Some(Diagnostic {
                range: conv.range(file, e.range)?,
                severity: Some(DiagnosticSeverity::ERROR),
                source: Some("codecontext".into()),
                message: e.message,
                ..Diagnostic::default()
            })
        })
        .collect()
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

/// Publishes the failures of a verification on the files its edit touched (each file's
/// earlier verification failures are replaced), with the file's syntax diagnostics.
pub(crate) async fn publish_verified(
    shared: &Shared,
    client: &Client,
    root: &Path,
    verdict: &Verdict,
) {
    for rel in &verdict.changed_files {
        let path = root.join(rel);
        let failures: Vec<Diagnostic> = verdict
            .tests
            .iter()
            .filter(|t| t.outcome == TestOutcome::Failed)
            .filter_map(|t| {
                let at = t.location.as_ref().filter(|l| l.file == *rel)?;
                let line = at.line.saturating_sub(1);
                Some(Diagnostic {
                    range: Range::new(Position::new(line, 0), Position::new(line + 1, 0)),
                    severity: Some(DiagnosticSeverity::ERROR),
                    source: Some("codecontext-verify".into()),
                    message: match &t.message {
                        Some(m) if !m.is_empty() => format!("test {} failed: {m}", t.name),
                        _ => format!("test {} failed", t.name),
                    },
                    ..Diagnostic::default()
                })
            })
            .collect();
        let had = shared.verify_diagnostics().contains_key(&path);
        if failures.is_empty() && !had {
            continue;
        }
        let file = shared.read().file_id(&path);
        let mut all = match file {
            Some(file) if shared.documents().contains_key(&file) => syntax(shared, file),
            _ => Vec::new(),
        };
        all.extend(failures.iter().cloned());
        if failures.is_empty() {
            shared.verify_diagnostics().remove(&path);
        } else {
            shared.verify_diagnostics().insert(path.clone(), failures);
        }
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
