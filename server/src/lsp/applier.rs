//! The applier thread applies every state-changing notification in the order it
//! arrived (see [`super::notifications`]); it hands registered folders to the indexer
//! thread ([`super::indexer`]), which loads them in the background.

use std::{
    collections::VecDeque,
    sync::{mpsc, Arc},
    time::Instant,
};

use serde_json::Value;
use tracing::{debug, warn};

use super::{
    indexer::{self, IndexJob},
    notifications,
    state::{Shared, Work},
};

pub(crate) fn spawn_applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>) {
    let jobs = indexer::spawn_indexer(shared.clone());
    std::thread::Builder::new()
        .name("codecontext-applier".into())
        .spawn(move || applier(shared, work, jobs))
        .expect("spawn the applier thread");
}

fn applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>, jobs: mpsc::Sender<IndexJob>) {
    // Folders from `initialize` are walked at once, so that documents opened right
    // after find their folder; they are loaded once the client is `initialized`.
    let mut waiting: Vec<IndexJob> = Vec::new();
    let mut queue: VecDeque<Work> = VecDeque::new();
    while let Some(item) = queue.pop_front().or_else(|| work.recv().ok()) {
        match item {
            Work::Stop => {
                if shared.shares_workspace {
                    // What this client held open goes back to disk (or to another
                    // client's text) for the others.
                    let held: Vec<_> = shared.documents().drain().map(|(id, _)| id).collect();
                    for id in held {
                        shared.ws.close_document(id);
                    }
                }
                break;
            }
            Work::Disk(paths) => {
                for path in paths {
                    shared.ws.changed_on_disk(&path, false);
                }
            }
            Work::Folders(folders) => {
                for folder in folders {
                    if let Some(job) = shared.ws.register_folder(&folder) {
                        waiting.push(job);
                    }
                }
            }
            Work::Notification {
                mut seq,
                method,
                mut params,
            } => {
                if method == "textDocument/didChange" {
                    seq = coalesce(&work, &mut queue, seq, &mut params);
                }
                let started = Instant::now();
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    notifications::apply(&shared, &method, params, &mut waiting, &jobs)
                }));
                if outcome.is_err() {
                    warn!("{method}: the change could not be applied (panic); serving goes on");
                }
                debug!("{method} applied in {:?}", started.elapsed());
                shared.mark_applied(seq);
            }
        }
    }
}

/// Folds the `didChange`s of the same document already waiting behind this one into
/// it: one reparse for a burst of keystrokes instead of one each (LSP applies the
/// changes of one notification in order, so this is the same edit). Returns the
/// sequence number of the last one folded in; anything else stays queued, in order.
fn coalesce(
    work: &mpsc::Receiver<Work>,
    queue: &mut VecDeque<Work>,
    mut seq: u64,
    params: &mut Option<Value>,
) -> u64 {
    let Some(p) = params.as_mut() else {
        return seq;
    };
    let uri = p["textDocument"]["uri"].clone();
    if !queue.is_empty() {
        return seq;
    }
    while let Ok(next) = work.try_recv() {
        match next {
            Work::Notification {
                seq: next_seq,
                method,
                params: Some(next_params),
            } if method == "textDocument/didChange"
                && next_params["textDocument"]["uri"] == uri
                && next_params["contentChanges"].is_array()
                && p["contentChanges"].is_array() =>
            {
                let changes = next_params["contentChanges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if let Some(all) = p["contentChanges"].as_array_mut() {
                    all.extend(changes);
                }
                p["textDocument"]["version"] = next_params["textDocument"]["version"].clone();
                seq = next_seq;
            }
            other => {
                queue.push_back(other);
                break;
            }
        }
    }
    seq
}
