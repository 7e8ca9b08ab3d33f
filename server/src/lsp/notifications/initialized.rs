//! `initialized`: file watching starts, and the folders walked at `initialize` go to
//! the indexer.

use std::sync::Arc;

use super::Folders;
use crate::lsp::{state::Shared, watcher};

pub(super) fn apply(shared: &Arc<Shared>, folders: Folders<'_>) {
    watcher::register_watchers(shared);
    for job in folders.waiting.drain(..) {
        let _ = folders.jobs.send(job);
    }
}
