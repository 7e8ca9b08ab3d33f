//! `initialized`: file watching starts, and the folders walked at `initialize` go to
//! the indexer. A client of the daemon is shown the daemon's first indexing as
//! progress of its own (at once done when it is over), as a client of its own
//! server would be.

use std::sync::Arc;

use super::Folders;
use crate::lsp::{state::Shared, watcher};

pub(super) fn apply(shared: &Arc<Shared>, folders: Folders<'_>) {
    watcher::register_watchers(shared);
    if let Some(indexed) = shared.daemon_indexed.clone() {
        show_daemon_indexing(shared, indexed);
    }
    for job in folders.waiting.drain(..) {
        let _ = folders.jobs.send(job);
    }
}

fn show_daemon_indexing(shared: &Arc<Shared>, mut indexed: tokio::sync::watch::Receiver<bool>) {
    use codecontext_workspace::Notifier;
    let notifier = shared.notifier.clone();
    shared.spawn(async move {
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let token = format!("codecontext/daemon-indexing/{}-{n}", std::process::id());
        let shown = notifier
            .begin(
                token.clone(),
                "Indexing".into(),
                Some("the daemon indexes the workspace".into()),
                false,
            )
            .await;
        let _ = indexed.wait_for(|done| *done).await;
        if shown {
            notifier.end(token, "indexed".into()).await;
        }
    });
}
