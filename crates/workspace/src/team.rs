//! The team's graph database and cache, per workspace folder:
//!
//! - the knowledge graph mirrored into the Bolt graph database: a whole folder after it
//!   is indexed, then each changed file (and the files that depend on it) shortly after
//!   it changes;
//! - [`Workspace::callers`]: callers, callees or impact of a symbol to a depth, through
//!   Cypher when a graph database is configured, else PostgreSQL's tables, else the
//!   embedded graph, in the same shape;
//! - answers from the graph database cached in Redis under the project's version, which
//!   every mirror update bumps (other servers drop their stale entries within a second);
//! - a rate limit on executions shared by every server of the project, through Redis.

use crate::blocking::Ended;
use std::{
    collections::{HashMap, HashSet},
    future::Future,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU32, Ordering},
        Arc, Mutex, OnceLock, PoisonError,
    },
    time::{Duration, Instant},
};

use codecontext_analysis::{
    cancel, EntityId, EntityLoc, PositionEncoding, Reached, SearchMode, Walk,
};
use codecontext_team::{
    bolt::{GraphMirror, MirrorFile},
    cache::{RateLimit, SharedCache},
};
use serde_json::{json, Value};
use tracing::{debug, info, warn};

use codecontext_store::Store;

use crate::{Result, Workspace, WorkspaceError};

/// Files mirrored per call to the graph database.
const MIRROR_CHUNK: usize = 200;
/// How long cached answers live (a version bump makes them unreachable sooner).
const CACHE_TTL: Duration = Duration::from_secs(600);
/// Executions (`execute` and `verify`) per minute per project, unless
/// `CODECONTEXT_EXECUTIONS_PER_MINUTE` says otherwise.
const EXECUTIONS_PER_MINUTE: u32 = 120;

/// A folder's links to the team's graph database and cache. A backend that cannot be
/// reached at first is tried again in the background and joins when it answers.
#[derive(Default)]
pub struct TeamLinks {
    mirror: OnceLock<Arc<GraphMirror>>,
    /// The folder's store: the shared PostgreSQL store keeps the graph as tables too.
    store: Option<Arc<dyn Store>>,
    cache: OnceLock<SharedCache>,
    limit: OnceLock<RateLimit>,
    /// Files changed since the last update (absolute paths).
    dirty: Mutex<HashSet<PathBuf>>,
    /// What the graph database and the PostgreSQL tables have not taken yet.
    behind: Mutex<Behind>,
    /// A flush of `dirty` is on its way.
    scheduled: AtomicBool,
    /// A change arrived while the flush on its way waits out a retry's pause: it goes
    /// sooner.
    soon: tokio::sync::Notify,
    /// Mirror updates that failed in a row: the next retry waits longer.
    failures: AtomicU32,
    /// Held while the mirror is written: updates never overlap (an older export never
    /// lands after a newer), and a question waits for the update under way.
    writing: Arc<tokio::sync::Mutex<()>>,
}

impl TeamLinks {
    fn mirror(&self) -> Option<&Arc<GraphMirror>> {
        self.mirror.get()
    }

    fn cache(&self) -> Option<&SharedCache> {
        self.cache.get()
    }

    /// The shared PostgreSQL store's graph tables, while PostgreSQL is up.
    fn tables(&self) -> Option<&codecontext_store::PgStore> {
        self.store.as_ref().and_then(|s| s.graph_tables())
    }

    /// Whether the graph is shared: mirrored to a graph database, or kept in PostgreSQL
    /// (up or down: while it is down, updates wait).
    fn shares_graph(&self) -> bool {
        self.mirror().is_some() || self.store.as_ref().is_some_and(|s| s.is_shared())
    }
}

/// The first wait before a backend that was down is tried again; it doubles up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(2);
const RETRY_MAX: Duration = Duration::from_secs(60);

fn retry_after(failures: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << failures.min(6))
        .min(RETRY_MAX)
}

/// Connects a folder's graph database and cache, once; what cannot be reached is said
/// (once per session), and tried again in the background until it answers.
pub(crate) async fn links(ws: &Arc<Workspace>, root: &Path) -> Arc<TeamLinks> {
    let folder = ws.folder(root);
    if let Some(links) = folder.team.get() {
        return links;
    }
    let config = ws.storage_config(root).await;
    let links = folder.team.keep(Arc::new(TeamLinks {
        store: ws.store(root),
        ..TeamLinks::default()
    }));
    let bolt = config.bolt_url.as_ref().map(|url| Bolt {
        url: url.value.clone(),
        shown: url.shown(),
        user: config.bolt_user.as_ref().map(|s| s.value.clone()),
        password: config.bolt_password.as_ref().map(|s| s.value.clone()),
    });
    let redis = config
        .redis_url
        .as_ref()
        .map(|url| (url.value.clone(), url.shown()));
    let project = codecontext_store::project_key(root);
    let mut waiting = Waiting { bolt, redis };
    waiting.try_connect(ws, root, &links, &project, true).await;
    if !waiting.is_empty() {
        let ws2 = ws.clone();
        let root = root.to_path_buf();
        let links = Arc::downgrade(&links);
        ws.spawn(async move {
            let ws = ws2;
            for attempt in 0.. {
                tokio::time::sleep(retry_after(attempt)).await;
                let Some(folder) = links.upgrade() else {
                    return; // the folder was removed
                };
                if ws.is_stopping() {
                    return;
                }
                waiting
                    .try_connect(&ws, &root, &folder, &project, false)
                    .await;
                if waiting.is_empty() {
                    return;
                }
            }
        });
    }
    links
}

/// Where to reach the graph database.
struct Bolt {
    url: String,
    shown: String,
    user: Option<String>,
    password: Option<String>,
}

/// The configured backends not reached yet.
struct Waiting {
    bolt: Option<Bolt>,
    /// Its URL, and how it is shown.
    redis: Option<(String, String)>,
}

impl Waiting {
    fn is_empty(&self) -> bool {
        self.bolt.is_none() && self.redis.is_none()
    }

    /// Tries each backend still waiting; the first time, says which are down.
    async fn try_connect(
        &mut self,
        ws: &Arc<Workspace>,
        root: &Path,
        links: &Arc<TeamLinks>,
        project: &str,
        first: bool,
    ) {
        if let Some(bolt) = &self.bolt {
            let connect = GraphMirror::connect(
                &bolt.url,
                bolt.user.as_deref(),
                bolt.password.as_deref(),
                project,
            );
            match tokio::time::timeout(Duration::from_secs(10), connect).await {
                Ok(Ok(mirror)) => {
                    if first {
                        info!("knowledge graph mirrored to {}", bolt.shown);
                    } else {
                        info!(
                            "the graph database at {} answers now; mirroring the folder to it",
                            bolt.shown
                        );
                        // What happened meanwhile is not there: all of it goes.
                        links
                            .behind
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .bolt
                            .full = true;
                    }
                    let _ = links.mirror.set(Arc::new(mirror));
                    if !first {
                        schedule(ws, root.to_path_buf(), links.clone(), Duration::ZERO);
                    }
                    self.bolt = None;
                }
                Ok(Err(e)) if first => {
                    ws.backend_down(
                        "graph database",
                        format!(
                            "codecontext: the graph database at {} is unavailable ({e}); callers and impact come from the embedded graph until it answers",
                            bolt.shown
                        ),
                    )
                    .await
                }
                Ok(Err(e)) => debug!("graph database still unavailable: {e}"),
                Err(_) if first => {
                    ws.backend_down(
                        "graph database",
                        format!(
                            "codecontext: the graph database at {} does not answer; callers and impact come from the embedded graph until it does",
                            bolt.shown
                        ),
                    )
                    .await
                }
                Err(_) => debug!("graph database still does not answer"),
            }
        }
        if let Some((url, shown)) = &self.redis {
            match SharedCache::connect(url, project).await {
                Ok(cache) => {
                    if first {
                        info!("shared cache at {shown}");
                    } else {
                        info!("Redis at {shown} answers now; answers are shared again");
                    }
                    let per_minute = codecontext_config::executions_per_minute()
                        .unwrap_or(EXECUTIONS_PER_MINUTE);
                    let _ = links.limit.set(RateLimit::new(
                        &cache,
                        "executions",
                        per_minute,
                        Duration::from_secs(60),
                    ));
                    let _ = links.cache.set(cache);
                    self.redis = None;
                }
                Err(e) if first => {
                    ws.backend_down(
                        "redis",
                        format!(
                            "codecontext: Redis at {shown} is unavailable ({e}); answers are not shared and executions not limited until it answers"
                        ),
                    )
                    .await
                }
                Err(e) => debug!("Redis still unavailable: {e}"),
            }
        }
    }
}

/// How long a change waits for the rest of its burst (typing) before it is written.
const CHANGE_PAUSE: Duration = Duration::from_millis(200);

/// Flushes the folder's changes to the shared graph after `after`. When a flush is on
/// its way already, a change ([`CHANGE_PAUSE`]) cuts its wait short: after a failure
/// the next change is the next attempt.
fn schedule(ws: &Arc<Workspace>, root: PathBuf, links: Arc<TeamLinks>, after: Duration) {
    if links.scheduled.swap(true, Ordering::SeqCst) {
        if after <= CHANGE_PAUSE {
            links.soon.notify_one();
        }
        return;
    }
    let ws2 = ws.clone();
    ws.spawn(async move {
        let ws = ws2;
        tokio::select! {
            _ = tokio::time::sleep(after) => {}
            _ = links.soon.notified() => tokio::time::sleep(CHANGE_PAUSE).await,
        }
        flush(&ws, &root, &links).await;
    });
}

/// What one backend of the shared graph has still to be written.
#[derive(Default)]
struct Backlog {
    /// Every file of the folder.
    full: bool,
    /// Files that changed (absolute paths): each with the files that depend on it, or
    /// removed when it is gone from the graph.
    paths: HashSet<PathBuf>,
    /// The folder's decisions and preferences changed (the graph database holds them as
    /// nodes; a full write includes them).
    decisions: bool,
}

impl Backlog {
    fn add(&mut self, other: Backlog) {
        self.full |= other.full;
        self.paths.extend(other.paths);
        self.decisions |= other.decisions;
    }

    fn is_empty(&self) -> bool {
        !self.full && self.paths.is_empty() && !self.decisions
    }
}

/// What each backend of the shared graph is behind by.
#[derive(Default)]
struct Behind {
    bolt: Backlog,
    tables: Backlog,
}

/// The files a backlog selects (by id), and the relative paths of the files it names
/// that are gone.
fn select(
    host: &codecontext_analysis::AnalysisHost,
    root: &Path,
    backlog: &Backlog,
) -> Option<(HashSet<codecontext_analysis::FileId>, Vec<String>)> {
    let graph = host.graph();
    let mut ids = HashSet::new();
    let mut gone = Vec::new();
    if backlog.full {
        let root_index = host.root_position(root)?;
        ids.extend(
            graph
                .files()
                .filter(|(_, f)| f.root == root_index)
                .map(|(id, _)| id),
        );
    }
    for path in &backlog.paths {
        match host.file_id(path) {
            // A changed file, and the files that read names from it: their resolutions
            // may have moved too.
            Some(id) => {
                ids.insert(id);
                ids.extend(graph.dependents_of(id));
            }
            None => {
                if let Ok(rel) = path.strip_prefix(root) {
                    gone.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    Some((ids, gone))
}

/// A backend that holds the shared graph file by file, and walks it: the graph database,
/// or the PostgreSQL store's tables. Both take the embedded graph's exports and answer
/// walks in the embedded graph's terms ([`Walk`], [`Reached`]), so that every source of
/// an answer is interchangeable.
trait SharedGraph: Sync {
    type Error: std::fmt::Display + Send;
    /// Where answers come from, as the answer says (`source`).
    const SOURCE: &'static str;
    /// The relative paths of every file it holds for the project.
    fn held(&self) -> impl Future<Output = std::result::Result<Vec<String>, Self::Error>> + Send;
    /// Replaces these files' entities and edges.
    fn write(
        &self,
        files: &[codecontext_analysis::FileExport],
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send;
    /// Drops what it holds of these files.
    fn remove(
        &self,
        paths: Vec<String>,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send;
    /// The entities reached from `id` along `walk`, nearest first.
    fn walk(
        &self,
        id: EntityId,
        walk: Walk,
        depth: u32,
        limit: usize,
    ) -> impl Future<Output = std::result::Result<Vec<Reached>, Self::Error>> + Send;
}

impl SharedGraph for GraphMirror {
    type Error = codecontext_team::bolt::MirrorError;
    const SOURCE: &'static str = "graphDatabase";
    fn held(&self) -> impl Future<Output = std::result::Result<Vec<String>, Self::Error>> + Send {
        self.paths()
    }
    async fn write(
        &self,
        files: &[codecontext_analysis::FileExport],
    ) -> std::result::Result<(), Self::Error> {
        let batch = files.iter().cloned().map(MirrorFile::from_export).collect();
        self.replace_files(batch).await.map(|_| ())
    }
    fn remove(
        &self,
        paths: Vec<String>,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send {
        self.remove_files(paths)
    }
    async fn walk(
        &self,
        id: EntityId,
        walk: Walk,
        depth: u32,
        limit: usize,
    ) -> std::result::Result<Vec<Reached>, Self::Error> {
        GraphMirror::walk(self, &id.to_string(), walk, depth, limit).await
    }
}

impl SharedGraph for codecontext_store::PgStore {
    type Error = codecontext_store::StoreError;
    const SOURCE: &'static str = "postgres";
    fn held(&self) -> impl Future<Output = std::result::Result<Vec<String>, Self::Error>> + Send {
        self.graph_paths()
    }
    fn write(
        &self,
        files: &[codecontext_analysis::FileExport],
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send {
        self.replace_graph(files, &[])
    }
    async fn remove(&self, paths: Vec<String>) -> std::result::Result<(), Self::Error> {
        self.replace_graph(&[], &paths).await
    }
    fn walk(
        &self,
        id: EntityId,
        walk: Walk,
        depth: u32,
        limit: usize,
    ) -> impl Future<Output = std::result::Result<Vec<Reached>, Self::Error>> + Send {
        self.walk_graph(id.0, walk, depth, limit)
    }
}

/// Writes `files` to one backend in chunks, then drops the `gone` ones; for a whole
/// folder (`full`), also what the backend holds beyond it (files deleted while no server
/// ran).
async fn write_graph<T: SharedGraph>(
    target: &T,
    files: &[codecontext_analysis::FileExport],
    mut gone: Vec<String>,
    full: bool,
) -> std::result::Result<(), T::Error> {
    if full {
        let kept: HashSet<&str> = files.iter().map(|f| f.rel.as_str()).collect();
        gone.extend(
            target
                .held()
                .await?
                .into_iter()
                .filter(|p| !kept.contains(p.as_str())),
        );
    }
    for chunk in files.chunks(MIRROR_CHUNK) {
        target.write(chunk).await?;
    }
    if !gone.is_empty() {
        target.remove(gone).await?;
    }
    Ok(())
}

/// Writes a folder's changes (and whatever each backend is still behind by) to the
/// shared graph: the graph database, and the PostgreSQL store's tables. What a backend
/// does not take stays in its backlog and is tried again after a pause, or at the next
/// change or question if that is sooner; after a failure the graph database gets the
/// whole folder (it may have lost anything meanwhile: FalkorDB without persistence comes
/// back empty). The number of files written, or `None` when something stays behind.
async fn mirror(
    ws: &Arc<Workspace>,
    root: &Path,
    links: &Arc<TeamLinks>,
    update: Backlog,
    _writing: tokio::sync::OwnedMutexGuard<()>,
) -> Option<usize> {
    let started = Instant::now();
    let graph_db = links.mirror();
    let tables = links.tables();
    let shared_store = links.store.as_ref().is_some_and(|s| s.is_shared());
    // Each backend's work now; PostgreSQL's waits in its backlog while it is down.
    let (bolt_work, tables_work) = {
        let mut behind = links.behind.lock().unwrap_or_else(PoisonError::into_inner);
        if graph_db.is_some() {
            behind.bolt.add(Backlog {
                full: update.full,
                paths: update.paths.clone(),
                decisions: update.decisions,
            });
        }
        if shared_store {
            behind.tables.add(update);
        }
        let bolt = graph_db.map(|_| std::mem::take(&mut behind.bolt));
        let pg = tables.map(|_| std::mem::take(&mut behind.tables));
        (bolt, pg)
    };
    // The files to export, once for both.
    let (bolt_files, bolt_gone, table_files, table_gone) = {
        let host = ws.read();
        let graph = host.graph();
        let (bolt_ids, bolt_gone) = match &bolt_work {
            Some(work) => select(&host, root, work)?,
            None => Default::default(),
        };
        let (table_ids, table_gone) = match &tables_work {
            Some(work) => select(&host, root, work)?,
            None => Default::default(),
        };
        let mut exported = HashMap::new();
        for id in bolt_ids.iter().chain(&table_ids) {
            if !exported.contains_key(id) {
                if let Some(export) = graph.export_file(*id) {
                    exported.insert(*id, export);
                }
            }
        }
        let pick = |ids: &HashSet<codecontext_analysis::FileId>| -> Vec<_> {
            ids.iter()
                .filter_map(|id| exported.get(id).cloned())
                .collect()
        };
        (pick(&bolt_ids), bolt_gone, pick(&table_ids), table_gone)
    };
    let count = bolt_files.len().max(table_files.len());
    let mut failure = None;
    if let (Some(pg), Some(work)) = (tables, tables_work) {
        if let Err(e) = write_graph(pg, &table_files, table_gone, work.full).await {
            warn!("graph tables of {} not written: {e}", root.display());
            // Rows are replaced per file: writing the same files again is enough.
            links
                .behind
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .tables
                .add(work);
        }
    }
    if let (Some(mirror), Some(work)) = (graph_db, bolt_work) {
        let mut written = write_graph(&**mirror, &bolt_files, bolt_gone, work.full).await;
        if written.is_ok() {
            // Whole, when they changed; when an anchored file changed, the anchors'
            // statuses may have.
            let touched: HashSet<String> = work
                .paths
                .iter()
                .filter_map(|p| p.strip_prefix(root).ok())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            let whole = work.full || work.decisions;
            written = match ws
                .mirrored_decisions(root, (!whole).then_some(&touched))
                .await
            {
                Ok(Some(decisions)) => mirror.replace_decisions(decisions).await.map(|_| ()),
                Ok(None) => Ok(()),
                Err(e) => {
                    // The embedded store did not answer: nothing to write, nothing lost.
                    warn!(
                        "decisions of {} not read for the graph database: {e}",
                        root.display()
                    );
                    Ok(())
                }
            };
        }
        if let Err(e) = written {
            warn!("graph database mirror of {} failed: {e}", root.display());
            links
                .behind
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .bolt
                .add(Backlog {
                    full: true,
                    paths: work.paths,
                    decisions: true,
                });
            failure = Some(e);
        }
    }
    let behind = {
        let behind = links.behind.lock().unwrap_or_else(PoisonError::into_inner);
        !behind.bolt.is_empty() || !behind.tables.is_empty()
    };
    if behind {
        let failures = links.failures.fetch_add(1, Ordering::SeqCst);
        if let Some(e) = failure.filter(|_| failures == 0) {
            ws.backend_down(
                "graph database",
                format!(
                    "codecontext: the graph database does not take the folder's changes ({e}); callers and impact come from the embedded graph, and the changes are written when it does"
                ),
            )
            .await;
        }
        schedule(ws, root.to_path_buf(), links.clone(), retry_after(failures));
        return None;
    }
    if links.failures.swap(0, Ordering::SeqCst) > 0 {
        info!("{}: the team's graph is written again", root.display());
    }
    debug!(
        "mirrored {count} files of {} in {} ms",
        root.display(),
        started.elapsed().as_millis()
    );
    if let Some(cache) = links.cache() {
        if let Err(e) = cache.bump("mirror").await {
            debug!("cache version not shared: {e}");
        }
    }
    Some(count)
}

impl Workspace {
    /// After a folder is indexed: mirrors all of it (when the graph is shared), in the
    /// background; questions wait for it.
    pub(crate) async fn folder_indexed(self: &Arc<Self>, root: &Path) {
        let links = links(self, root).await;
        if !links.shares_graph() {
            if let Some(cache) = links.cache() {
                let _ = cache.bump("index").await;
            }
            return;
        }
        // Taken now, so that a question asked from here on waits for the mirror.
        let writing = links.writing.clone().lock_owned().await;
        let ws = self.clone();
        let root = root.to_path_buf();
        self.spawn(async move {
            let started = Instant::now();
            // Seconds on a large project: the user sees it as work under way.
            let progress = ws
                .begin_progress("team", "Writing the team's graph", None, false)
                .await;
            let update = Backlog {
                full: true,
                paths: HashSet::new(),
                decisions: true,
            };
            let done = mirror(&ws, &root, &links, update, writing).await;
            let message = match done {
                Some(n) => {
                    let message = format!(
                        "{n} files of {} written to the team's graph in {} ms",
                        root.display(),
                        started.elapsed().as_millis()
                    );
                    info!("{message}");
                    message
                }
                None => "not written now; it is kept and tried again".to_string(),
            };
            progress.end(message).await;
        });
    }

    /// A file changed (edited, or on disk): written to the shared graph shortly after,
    /// with whatever else changed meanwhile.
    pub fn file_changed(self: &Arc<Self>, path: &Path) {
        let Some(root) = self.root_of(path) else {
            return;
        };
        let Some(links) = self.folder(&root).team.get() else {
            return;
        };
        if !links.shares_graph() && links.cache().is_none() {
            return;
        }
        links
            .dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_path_buf());
        // Typing comes in bursts: gather them.
        schedule(self, root, links, CHANGE_PAUSE);
    }

    /// A memory of the folder was written: its decisions go to the graph database with the
    /// next update (a remember or a forget writes them shortly after).
    pub(crate) fn memory_written(&self, root: &Path) {
        if let Some(links) = self.folder(root).team.get() {
            if links.mirror().is_some() {
                links
                    .behind
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .bolt
                    .decisions = true;
            }
        }
    }

    /// Writes the folder's pending decisions to the graph database shortly after.
    pub(crate) fn share_memory(self: &Arc<Self>, root: &Path) {
        let Some(links) = self.folder(root).team.get() else {
            return;
        };
        let pending = links
            .behind
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .bolt
            .decisions;
        if pending {
            schedule(self, root.to_path_buf(), links.clone(), CHANGE_PAUSE);
        }
    }

    /// Waits for a slot in the project's execution rate limit (shared through Redis);
    /// [`WorkspaceError::RateLimited`] when there is none.
    pub async fn admit_execution(&self) -> Result<()> {
        let Some(root) = self.roots().into_iter().next() else {
            return Ok(());
        };
        let Some(links) = self.folder(&root).team.get() else {
            return Ok(());
        };
        let Some(limit) = links.limit.get() else {
            return Ok(());
        };
        limit
            .acquire()
            .await
            .map_err(|limited| WorkspaceError::RateLimited {
                message: limited.to_string(),
                retry_after: limited.retry_after,
            })
    }
}

/// Writes what changed since the last update, and what the backends are behind by, to
/// the shared graph, after any update under way.
async fn flush(ws: &Arc<Workspace>, root: &Path, links: &Arc<TeamLinks>) {
    let writing = links.writing.clone().lock_owned().await;
    links.scheduled.store(false, Ordering::SeqCst);
    let paths: HashSet<PathBuf> = links
        .dirty
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .collect();
    let behind = {
        let behind = links.behind.lock().unwrap_or_else(PoisonError::into_inner);
        !behind.bolt.is_empty() || !behind.tables.is_empty()
    };
    if paths.is_empty() && !behind {
        return;
    }
    if links.shares_graph() {
        let update = Backlog {
            full: false,
            paths,
            decisions: false,
        };
        mirror(ws, root, links, update, writing).await;
    } else if let Some(cache) = links.cache() {
        let _ = cache.bump("edit").await;
    }
}

/// Which way a walk goes from a symbol: the graph's own [`Walk`].
pub use codecontext_analysis::Walk as Direction;

/// A symbol, as a user names it.
#[derive(Clone, Debug)]
pub enum SymbolRef {
    /// A qualified name (`shop.services.pricing.Cart.add`).
    Name(String),
    /// The symbol at (or referenced at) a zero-based position in a file, the column in
    /// `encoding`'s units.
    At {
        path: PathBuf,
        line: u32,
        col: u32,
        encoding: PositionEncoding,
    },
}

/// A walk over the graph from a symbol.
#[derive(Clone, Debug)]
pub struct CallersQuery {
    pub symbol: SymbolRef,
    pub direction: Direction,
    /// 1 to 10 (default 3).
    pub depth: u32,
    /// 1 to 10,000 (default 1,000).
    pub limit: usize,
}

fn invalid(message: impl Into<String>) -> WorkspaceError {
    WorkspaceError::invalid(message)
}

fn internal(e: impl std::fmt::Display) -> WorkspaceError {
    WorkspaceError::internal(e.to_string())
}

impl Workspace {
    /// Callers, callees or impact of a symbol to a depth, as JSON: `symbol`, `direction`,
    /// `depth`, `source` (`graphDatabase`, `postgres` or `embedded`), `cached` and `items`
    /// (each with `id`, `name`, `qualifiedName`, `kind`, `path`, `line`, `depth`), nearest
    /// first. The team's graph answers when there is one, else the embedded graph.
    pub async fn callers(self: &Arc<Self>, query: CallersQuery) -> Result<Value> {
        let ws = self;
        let depth = query.depth.clamp(1, 10);
        let limit = query.limit.clamp(1, 10_000);
        // The symbol, and the folder it lives in.
        let (id, root, start) = {
            let ws = ws.clone();
            let symbol = query.symbol.clone();
            tokio::task::spawn_blocking(move || find_symbol(&ws, symbol))
                .await
                .map_err(internal)??
        };
        if let Some(links) = ws.folder(&root).team.get() {
            if let Some(answer) =
                shared_walk(ws, &root, &links, id, query.direction, depth, limit).await
            {
                let mut answer = answer;
                answer["symbol"] = start;
                return Ok(answer);
            }
        }
        let ws = ws.clone();
        let walk = query.direction;
        let budget = ws.settings().request_budget();
        // One more than asked: whether there was more to say.
        let (items, cut) = match crate::blocking::cancellable(move || {
            let host = ws.read();
            cancel::within(budget, || host.analysis().walk(id, walk, depth, limit + 1))
        })
        .await
        {
            Ended::Done(walked) => walked,
            Ended::Cancelled => return Err(internal("cancelled")),
            Ended::Failed(why) => return Err(internal(why)),
        };
        let mut answer = walk_answer(walk, depth, "embedded", items, limit);
        answer["symbol"] = start;
        if cut {
            // Stopped at the request's time budget: what it reached is a lower bound.
            answer["truncated"] = json!(true);
        }
        Ok(answer)
    }
}

/// A walk's answer: the walk, where it came from, and what it reached, the first
/// `limit` of `items` (asked for one more, so that `truncated` says whether the limit
/// cut the answer short).
fn walk_answer(
    walk: Walk,
    depth: u32,
    source: &str,
    mut items: Vec<Reached>,
    limit: usize,
) -> Value {
    let truncated = items.len() > limit;
    items.truncate(limit);
    json!({
        "direction": walk.as_str(), "depth": depth,
        "source": source, "cached": false, "items": items, "truncated": truncated,
    })
}

/// The walk on the team's graph: Cypher on the graph database when there is one, else
/// recursive SQL on the shared PostgreSQL store's tables; cached in Redis. `None` when
/// neither is there (or the walk failed, which is logged): the embedded graph answers.
async fn shared_walk(
    ws: &Arc<Workspace>,
    root: &Path,
    links: &Arc<TeamLinks>,
    id: EntityId,
    direction: Direction,
    depth: u32,
    limit: usize,
) -> Option<Value> {
    if !links.shares_graph() {
        return None;
    }
    // What this server changed reaches the shared graph before it is asked.
    flush(ws, root, links).await;
    let key = format!("{}:{id}:{depth}:{limit}", direction.as_str());
    // Read before the walk: an answer computed across a bump is stored under the old
    // version, where nobody looks any more.
    let version = links.cache().map(SharedCache::version);
    if let Some(cache) = links.cache() {
        if let Some(mut hit) = cache.get("callers", &key).await {
            hit["cached"] = json!(true);
            return Some(hit);
        }
    }
    let answer = if let Some(mirror) = links.mirror() {
        let lost = || {
            // Whatever it holds may be gone (FalkorDB without persistence restarts
            // empty): the whole folder is written again before the next walk.
            links
                .behind
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .bolt
                .full = true;
            let failures = links.failures.load(Ordering::SeqCst);
            schedule(ws, root.to_path_buf(), links.clone(), retry_after(failures));
        };
        match walk_on(&**mirror, id, direction, depth, limit).await {
            // Nothing reached: a leaf, or a graph database that lost the project.
            Ok(answer)
                if answer["items"].as_array().is_some_and(Vec::is_empty)
                    && matches!(mirror.counts().await, Ok((0, _))) =>
            {
                warn!("the graph database holds nothing of this project; mirroring it again");
                lost();
                return None;
            }
            Ok(answer) => answer,
            Err(e) => {
                warn!("graph database walk failed ({e}); answering from the embedded graph");
                lost();
                return None;
            }
        }
    } else {
        match walk_on(links.tables()?, id, direction, depth, limit).await {
            Ok(answer) => answer,
            Err(e) => {
                warn!("PostgreSQL walk failed ({e}); answering from the embedded graph");
                return None;
            }
        }
    };
    if let (Some(cache), Some(version)) = (links.cache(), version) {
        cache
            .put_at(version, "callers", &key, &answer, CACHE_TTL)
            .await;
    }
    Some(answer)
}

/// A walk on one backend of the shared graph, as an answer.
async fn walk_on<G: SharedGraph>(
    graph: &G,
    id: EntityId,
    walk: Walk,
    depth: u32,
    limit: usize,
) -> std::result::Result<Value, G::Error> {
    let items = graph.walk(id, walk, depth, limit + 1).await?;
    Ok(walk_answer(walk, depth, G::SOURCE, items, limit))
}

/// The entity named by a qualified name or found at a position, its folder, and how it
/// is shown.
fn find_symbol(ws: &Workspace, symbol: SymbolRef) -> Result<(EntityId, PathBuf, Value)> {
    let host = ws.read();
    let graph = host.graph();
    let loc = match symbol {
        SymbolRef::Name(symbol) => {
            let bare = symbol.rsplit([':', '.']).next().unwrap_or(&symbol);
            let found: Vec<EntityLoc> = graph
                .search_symbols(bare, SearchMode::Exact, 10_000)
                .into_iter()
                .filter(|loc| graph.qualified_name(*loc) == symbol)
                .collect();
            match found.as_slice() {
                [one] => *one,
                [] => return Err(invalid(format!("no symbol is named `{symbol}`"))),
                _ => {
                    return Err(invalid(format!(
                        "`{symbol}` names {} symbols; give a position instead",
                        found.len()
                    )))
                }
            }
        }
        SymbolRef::At {
            path,
            line,
            col,
            encoding,
        } => {
            let file = host
                .file_id(&path)
                .ok_or_else(|| invalid(format!("{} is not indexed", path.display())))?;
            let offset = host
                .analysis()
                .offset(file, line, col, encoding)
                .ok_or_else(|| {
                    invalid(format!(
                        "{}:{}:{} is outside the file",
                        path.display(),
                        line,
                        col
                    ))
                })?;
            let defs = host
                .analysis()
                .definitions(file, offset)
                .and_then(|d| d.targets.into_iter().find_map(|t| t.entity))
                .and_then(|id| graph.locate(id))
                .or_else(|| graph.entity_at(file, offset))
                .ok_or_else(|| invalid("no symbol at this position"))?;
            defs
        }
    };
    let e = graph
        .entity(loc)
        .ok_or_else(|| invalid("the symbol is gone"))?;
    let root = host
        .root_of(loc.file)
        .ok_or_else(|| invalid("the symbol is outside every workspace folder"))?;
    let shown = json!({
        "id": e.id.to_string(),
        "qualifiedName": graph.qualified_name(loc),
        "kind": e.kind.as_str(),
    });
    Ok((e.id, root, shown))
}
