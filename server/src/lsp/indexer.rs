//! The indexer thread: loads each registered workspace folder through the workspace
//! ([`codecontext_workspace::Workspace::index_folder`]), one at a time, taking the
//! host's lock only to insert each finished batch, so requests keep being answered from
//! what is indexed so far.

use std::sync::{mpsc, Arc};

pub(crate) use codecontext_workspace::index::IndexJob;

use super::state::Shared;

/// Starts the indexer; folders to load go into the channel it answers.
pub(crate) fn spawn_indexer(shared: Arc<Shared>) -> mpsc::Sender<IndexJob> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<IndexJob>();
    std::thread::Builder::new()
        .name("codecontext-indexer".into())
        .spawn(move || {
            for job in jobs_rx {
                if shared.ws.is_stopping() {
                    break;
                }
                shared.ws.index_folder(job);
            }
        })
        .expect("spawn the indexer thread");
    jobs_tx
}
