//! The warm pool of the Docker sandbox: idle containers started ahead of runs, per work
//! folder. A run takes one (or has one made), and discards it afterwards, and the pool
//! is filled again in the background; idle containers unused for the idle timeout are
//! removed, and so, at the first start, are the containers of a server that crashed.

use std::{
    collections::HashMap,
    path::Path,
    sync::{atomic::Ordering, Arc, Weak},
    time::{Duration, Instant},
};

use bollard::{query_parameters::ListContainersOptionsBuilder, Docker};
use tracing::{debug, warn};

use super::{
    container::{self, HOST_LABEL, LABEL, OWNER_LABEL},
    Inner,
};
use crate::Limits;

/// The pool of one work folder.
#[derive(Default)]
pub(super) struct Pool {
    idle: Vec<Warm>,
    /// Containers being started for this pool.
    starting: usize,
    last_used: Option<Instant>,
}

/// An idle container, and since when.
struct Warm {
    id: String,
    since: Instant,
}

impl Inner {
    /// Starts containers in the background until the pool for `work_dir` is full.
    pub(super) fn fill(this: &Arc<Inner>, docker: &Docker, work_dir: &str) {
        if this.closed.load(Ordering::SeqCst) {
            return;
        }
        let wanted = {
            let mut pools = this.pools.lock().unwrap_or_else(|e| e.into_inner());
            let pool = pools.entry(work_dir.to_string()).or_default();
            pool.last_used = Some(Instant::now());
            let have = pool.idle.len() + pool.starting;
            let wanted = this.config.pool_size.saturating_sub(have);
            pool.starting += wanted;
            wanted
        };
        for _ in 0..wanted {
            let (this, docker, work_dir) = (this.clone(), docker.clone(), work_dir.to_string());
            tokio::spawn(async move {
                let created =
                    container::create(&docker, &this.config, &work_dir, &Limits::default(), false)
                        .await;
                let warm = match created {
                    Ok(id) if this.closed.load(Ordering::SeqCst) => {
                        // Shut down meanwhile.
                        container::remove(&docker, &id).await;
                        None
                    }
                    Ok(id) => Some(Warm {
                        id,
                        since: Instant::now(),
                    }),
                    Err(e) => {
                        warn!("docker sandbox: cannot start a pooled container: {e}");
                        None
                    }
                };
                // One lock hold: `shutdown` sees either a start or an idle container.
                let mut pools = this.pools.lock().unwrap_or_else(|e| e.into_inner());
                let pool = pools.entry(work_dir).or_default();
                pool.starting = pool.starting.saturating_sub(1);
                pool.idle.extend(warm);
            });
        }
    }

    /// Containers are being started or removed in the background.
    pub(super) fn busy(&self) -> bool {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        self.removing.load(Ordering::SeqCst) > 0 || pools.values().any(|p| p.starting > 0)
    }

    /// An idle container for `work_dir`, if the pool has one.
    pub(super) fn take(&self, work_dir: &str) -> Option<String> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        let pool = pools.get_mut(work_dir)?;
        pool.last_used = Some(Instant::now());
        (!pool.idle.is_empty()).then(|| pool.idle.remove(0).id)
    }

    /// The ids of the idle containers for `work_dir`, oldest first.
    pub(super) fn idle_ids(&self, work_dir: &str) -> Vec<String> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .get(work_dir)
            .map(|p| p.idle.iter().map(|w| w.id.clone()).collect())
            .unwrap_or_default()
    }

    /// Empties every pool: the ids of the idle containers, for the caller to remove.
    pub(super) fn drain_idle(&self) -> Vec<String> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools
            .values_mut()
            .flat_map(|p| p.idle.drain(..).map(|w| w.id))
            .collect()
    }
}

/// Removes a run's container when the run ends, however it ends (a cancelled request
/// drops the run's future midway).
pub(super) struct Discard {
    inner: Arc<Inner>,
    docker: Docker,
    id: String,
}

impl Discard {
    pub(super) fn new(inner: Arc<Inner>, docker: Docker, id: String) -> Discard {
        Discard { inner, docker, id }
    }
}

impl Drop for Discard {
    fn drop(&mut self) {
        let (docker, id) = (self.docker.clone(), std::mem::take(&mut self.id));
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let inner = self.inner.clone();
            inner.removing.fetch_add(1, Ordering::SeqCst);
            handle.spawn(async move {
                container::remove(&docker, &id).await;
                inner.removing.fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

/// Removes the labelled containers of this host whose owner process is gone.
pub(super) async fn remove_orphans(docker: &Docker) -> usize {
    let host = container::hostname();
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![format!("{LABEL}=1")])]))
        .build();
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return 0;
    };
    let mut removed = 0;
    for found in containers {
        let (Some(id), Some(labels)) = (found.id, found.labels) else {
            continue;
        };
        if labels.get(HOST_LABEL).map(String::as_str) != Some(host.as_str()) {
            continue;
        }
        let Some(owner) = labels.get(OWNER_LABEL).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if owner != std::process::id() && !Path::new(&format!("/proc/{owner}")).exists() {
            container::remove(docker, &id).await;
            removed += 1;
        }
    }
    if removed > 0 {
        debug!("docker sandbox: removed {removed} orphaned containers");
    }
    removed
}

/// Removes idle containers unused for the idle timeout; ends with the sandbox.
pub(super) async fn reap_idle(inner: Weak<Inner>, docker: Docker) {
    loop {
        let period = match inner.upgrade() {
            Some(inner) => (inner.config.idle_timeout / 2).max(Duration::from_millis(100)),
            None => return,
        };
        tokio::time::sleep(period).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let stale: Vec<String> = {
            let mut pools = inner.pools.lock().unwrap_or_else(|e| e.into_inner());
            let timeout = inner.config.idle_timeout;
            pools
                .values_mut()
                .filter(|p| p.last_used.is_none_or(|t| t.elapsed() >= timeout))
                .flat_map(|p| {
                    let (old, keep): (Vec<Warm>, Vec<Warm>) =
                        p.idle.drain(..).partition(|w| w.since.elapsed() >= timeout);
                    p.idle = keep;
                    old.into_iter().map(|w| w.id)
                })
                .collect()
        };
        drop(inner);
        for id in stale {
            container::remove(&docker, &id).await;
        }
    }
}
