//! The applier thread applies every state-changing notification in the order it
//! arrived (see [`super::notifications`]); it hands registered folders to the indexer
//! thread ([`super::indexer`]), which loads them in the background.
//!
//! A notification about one document (open, change, close) runs on a thread of its
//! own while the applier waits for it up to [`FOREGROUND`]. One that takes longer (a
//! deeply nested or huge document) goes on in the background: the applier goes on with
//! the other notifications, the later ones about that document wait behind it in order,
//! and requests about other documents answer from the state before it (see
//! [`Shared::caught_up`]). Its parse holds no lock (see `Workspace::open_document` and
//! `Workspace::change_document`), so nothing else waits for it. At most half the cores
//! parse in the background ([`Lanes`]); a document that finds no room there waits,
//! unstarted, with its notifications deferred in the same way.

use std::{
    collections::{HashMap, VecDeque},
    sync::{mpsc, Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde_json::Value;
use tracing::{debug, warn};

use super::{
    indexer::{self, IndexJob},
    notifications,
    state::{Shared, Work},
};

/// How long the applier waits for a document's notification before it lets it go on
/// in the background. Typing in a normal file takes a few milliseconds.
const FOREGROUND: Duration = Duration::from_millis(50);

pub(crate) fn spawn_applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>) {
    let jobs = indexer::spawn_indexer(shared.clone());
    std::thread::Builder::new()
        .name("codecontext-applier".into())
        .spawn(move || applier(shared, work, jobs))
        .expect("spawn the applier thread");
}

/// A document's notification: the sequence number it is waited for by (the first of
/// those folded into it), the method and the params.
struct Pending {
    seq: u64,
    method: String,
    params: Option<Value>,
}

/// What a document's notifications are waiting for.
struct Busy {
    /// The one going on in the background (its sequence number); `None` while the
    /// document waits for room in the background.
    running: Option<u64>,
    /// Those waiting behind it, in order.
    queued: VecDeque<Pending>,
}

/// The documents whose notifications go on in the background or wait, and the room
/// there: at most half the cores parse in the background, so that requests keep the
/// others. A document that finds no room waits, unstarted, in `ready`.
struct Lanes {
    busy: HashMap<String, Busy>,
    ready: VecDeque<String>,
    running: usize,
    room: usize,
}

impl Lanes {
    fn new() -> Lanes {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Lanes {
            busy: HashMap::new(),
            ready: VecDeque::new(),
            running: 0,
            room: (cores / 2).max(1),
        }
    }

    /// A notification about document `uri` arrives.
    fn arrive(&mut self, shared: &Arc<Shared>, uri: String, pending: Pending) {
        let seq = pending.seq;
        if let Some(state) = self.busy.get_mut(&uri) {
            shared.defer(seq, &uri);
            state.queued.push_back(pending);
        } else if self.running >= self.room {
            shared.defer(seq, &uri);
            self.busy.insert(
                uri.clone(),
                Busy {
                    running: None,
                    queued: VecDeque::from([pending]),
                },
            );
            self.ready.push_back(uri);
        } else if run_document(shared, &uri, pending) == Ran::Background {
            shared.defer(seq, &uri);
            self.running += 1;
            self.busy.insert(
                uri,
                Busy {
                    running: Some(seq),
                    queued: VecDeque::new(),
                },
            );
        }
    }

    /// The background notification of `uri` is applied: its next ones, and the
    /// documents waiting for room, may go.
    fn finished(&mut self, shared: &Arc<Shared>, uri: String) {
        let Some(mut state) = self.busy.remove(&uri) else {
            return;
        };
        if let Some(seq) = state.running.take() {
            shared.settle(seq);
            self.running -= 1;
        }
        if !state.queued.is_empty() {
            self.busy.insert(uri.clone(), state);
            self.ready.push_back(uri);
        }
        while self.running < self.room {
            let Some(uri) = self.ready.pop_front() else {
                break;
            };
            let Some(mut state) = self.busy.remove(&uri) else {
                continue;
            };
            while let Some(next) = state.queued.pop_front() {
                let seq = next.seq;
                if run_document(shared, &uri, next) == Ran::Background {
                    state.running = Some(seq);
                    self.running += 1;
                    break;
                }
                shared.settle(seq);
            }
            if state.running.is_some() {
                self.busy.insert(uri, state);
            }
        }
    }
}

fn applier(shared: Arc<Shared>, work: mpsc::Receiver<Work>, jobs: mpsc::Sender<IndexJob>) {
    // Folders from `initialize` are walked at once, so that documents opened right
    // after find their folder; they are loaded once the client is `initialized`.
    let mut waiting: Vec<IndexJob> = Vec::new();
    let mut queue: VecDeque<Work> = VecDeque::new();
    let mut lanes = Lanes::new();
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
                let mut rules_changed = false;
                for path in paths {
                    rules_changed |= shared.ws.changed_on_disk(&path, false);
                }
                if rules_changed {
                    super::diagnostics::recheck_open_documents(&shared);
                }
            }
            Work::Folders(folders) => {
                for folder in folders {
                    if let Some(job) = shared.ws.register_folder(&folder) {
                        waiting.push(job);
                    }
                }
            }
            Work::Finished { uri } => lanes.finished(&shared, uri),
            Work::Notification {
                seq,
                method,
                mut params,
            } => {
                let first = seq;
                let mut last = seq;
                if method == "textDocument/didChange" {
                    last = coalesce(&work, &mut queue, seq, &mut params);
                }
                match notifications::document_of(&method, params.as_ref()) {
                    Some(uri) => {
                        let pending = Pending {
                            seq: first,
                            method,
                            params,
                        };
                        lanes.arrive(&shared, uri, pending);
                    }
                    None => applying(&method, || {
                        notifications::apply(&shared, &method, params, &mut waiting, &jobs)
                    }),
                }
                shared.mark_applied(last);
            }
        }
    }
}

/// Where a document's notification ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ran {
    /// Applied within [`FOREGROUND`].
    Done,
    /// Still going; the thread running it sends [`Work::Finished`] when it is applied.
    Background,
}

/// Between the applier and the thread applying a document's notification: who is done
/// first decides whether the applier waits or the thread reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Running,
    Done,
    Background,
}

/// Applies a document's notification on a thread of its own, waiting for it up to
/// [`FOREGROUND`]. Its sequence number is marked deferred by the caller when it goes on
/// in the background (before `mark_applied`, so that no request misses it).
fn run_document(shared: &Arc<Shared>, uri: &str, pending: Pending) -> Ran {
    let job = Arc::new(Mutex::new(Job::Running));
    let (done, finished) = mpsc::channel::<()>();
    // Taken by the thread, or by the applier if no thread could be started.
    let pending = Arc::new(Mutex::new(Some(pending)));
    let thread = {
        let shared = shared.clone();
        let job = job.clone();
        let pending = pending.clone();
        let uri = uri.to_string();
        move || {
            if let Some(pending) = take(&pending) {
                apply_pending(&shared, pending);
            }
            let mut job = job.lock().unwrap_or_else(PoisonError::into_inner);
            if *job == Job::Background {
                shared.send(Work::Finished { uri });
            } else {
                *job = Job::Done;
                let _ = done.send(());
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("codecontext-document".into())
        .spawn(thread)
    {
        // No thread to be had: the applier applies it, as it would a quick one.
        warn!("could not start a thread for a document ({e}); applying it in order");
        if let Some(pending) = take(&pending) {
            apply_pending(shared, pending);
        }
        return Ran::Done;
    }
    if finished.recv_timeout(FOREGROUND).is_ok() {
        return Ran::Done;
    }
    let mut job = job.lock().unwrap_or_else(PoisonError::into_inner);
    if *job == Job::Done {
        Ran::Done
    } else {
        *job = Job::Background;
        Ran::Background
    }
}

fn take(pending: &Mutex<Option<Pending>>) -> Option<Pending> {
    pending
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
}

fn apply_pending(shared: &Arc<Shared>, pending: Pending) {
    let Pending { method, params, .. } = pending;
    applying(&method, || {
        notifications::apply_document(shared, &method, params)
    });
}

/// Runs `apply`, the application of notification `method`: a panic in it is logged and
/// serving goes on.
fn applying(method: &str, apply: impl FnOnce()) {
    let started = Instant::now();
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(apply)).is_err() {
        warn!("{method}: the change could not be applied (panic); serving goes on");
    }
    debug!("{method} applied in {:?}", started.elapsed());
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
