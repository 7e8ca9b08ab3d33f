//! `codecontext/search {lang, pattern | rule | query, paths?, limit?}`: structural search
//! over the workspace (see docs/search.md). The answer is the workspace's, with each
//! match's `uri` and LSP `range` (in the session's encoding) added. A search that goes
//! through many files reports `$/progress`; `$/cancelRequest` stops it between batches
//! of files; at the request budget it answers what it found, `truncated`.

use std::sync::atomic::{AtomicU64, Ordering};

use codecontext_analysis::cancel;
use codecontext_workspace::{blocking::cancellable, search::SearchRequest};
use serde_json::Value;
use tower_lsp_server::{
    jsonrpc::Result,
    lsp_types::{Position, Range, Uri},
    UriExt,
};

use super::{finished, invalid, rpc_error, Backend};

/// Searches that parse more files than this report progress.
const PROGRESS_AFTER_FILES: usize = 64;

pub(super) async fn search(backend: &Backend, params: Value) -> Result<Value> {
    let mut request: SearchRequest =
        serde_json::from_value(params).map_err(|e| invalid(format!("codecontext.search: {e}")))?;
    request.compile().map_err(rpc_error)?;
    let shared = backend.shared.clone();
    shared.caught_up(None).await;
    request.encoding = Some(shared.session().encoding);

    static SEARCHES: AtomicU64 = AtomicU64::new(0);
    let token = format!(
        "codecontext/search/{}",
        SEARCHES.fetch_add(1, Ordering::Relaxed)
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, usize)>();
    // How the search ended, for the progress's end; dropped unsent when the request's
    // future is dropped ($/cancelRequest), and the progress then ends as cancelled.
    let (end_tx, end_rx) = tokio::sync::oneshot::channel::<String>();
    let notifier = shared.ws.notifier().clone();
    let progress = {
        let token = token.clone();
        let notifier = notifier.clone();
        tokio::spawn(async move {
            let mut shown = false;
            while let Some((done, total)) = rx.recv().await {
                if !shown {
                    if total <= PROGRESS_AFTER_FILES {
                        continue;
                    }
                    shown = notifier
                        .begin(token.clone(), "Searching".into(), None, true)
                        .await;
                    if !shown {
                        break;
                    }
                }
                let percentage = (done * 100 / total.max(1)) as u32;
                notifier
                    .report(
                        token.clone(),
                        format!("{done}/{total} files"),
                        Some(percentage),
                    )
                    .await;
            }
            // Drain what came after the client declined, so that senders never wait.
            while rx.recv().await.is_some() {}
            if shown {
                let how = end_rx.await.unwrap_or_else(|_| "cancelled".into());
                notifier.end(token, how).await;
            }
        })
    };
    let ws = shared.ws.clone();
    let budget = ws.settings().request_budget();
    let ended = cancellable(move || {
        let report = move |done: usize, total: usize| {
            let _ = tx.send((done, total));
        };
        cancel::within(budget, || ws.search(&request, &report)).0
    })
    .await;
    let answer = finished("codecontext/search", ended);
    let _ = end_tx.send(match &answer {
        Ok(answer) => format!("{} matches", answer.matches.len()),
        Err(e) => format!("stopped: {}", e.message),
    });
    // The progress ends before the answer goes out.
    let _ = progress.await;
    let answer = answer?;
    let mut value = serde_json::to_value(&answer).map_err(|e| invalid(e.to_string()))?;
    if let Some(list) = value.get_mut("matches").and_then(Value::as_array_mut) {
        for (json, m) in list.iter_mut().zip(&answer.matches) {
            let position = |p: codecontext_workspace::search::Point| {
                Position::new(p.line.saturating_sub(1), p.column.saturating_sub(1))
            };
            json["uri"] = serde_json::to_value(Uri::from_file_path(&m.file)).unwrap_or_default();
            json["range"] = serde_json::to_value(Range::new(position(m.start), position(m.end)))
                .unwrap_or_default();
        }
    }
    Ok(value)
}
