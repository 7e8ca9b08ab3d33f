//! Syntax diagnostics (tree-sitter's error and missing nodes), published once typing
//! pauses for the configured delay.

use std::{sync::Arc, time::Duration};

use codecontext_analysis::FileId;
use tower_lsp_server::lsp_types::{Diagnostic, DiagnosticSeverity, Uri};

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
        let diagnostics = {
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
                .collect::<Vec<_>>()
        };
        if let Some(client) = shared.client() {
            client
                .publish_diagnostics(doc.uri, diagnostics, Some(doc.version))
                .await;
        }
    });
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
