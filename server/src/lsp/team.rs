//! The team's graph database and cache, per workspace folder:
//!
//! - the knowledge graph mirrored into the Bolt graph database: a whole folder after it
//!   is indexed, then each changed file (and the files that depend on it) shortly after
//!   it changes;
//! - `codecontext/callers {symbol | textDocument+position, direction, depth}`: callers,
//!   callees or impact to a depth, through Cypher when a graph database is configured,
//!   else from the embedded graph, in the same shape;
//! - answers from the graph database cached in Redis under the project's version, which
//!   every mirror update bumps (other servers drop their stale entries within a second);
//! - a rate limit on executions shared by every server of the project, through Redis.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use codecontext_analysis::{EntityId, EntityLoc, SearchMode};
use codecontext_team::{
    bolt::{GraphMirror, MirrorFile, Walk},
    cache::{RateLimit, SharedCache},
};
use serde::Deserialize;
use serde_json::{json, Value};
use tower_lsp_server::{
    jsonrpc::{Error, ErrorCode, Result},
    lsp_types::{Position, TextDocumentIdentifier},
};
use tracing::{debug, info, warn};

use codecontext_store::{GraphWalk, Store};

use super::{apply::storage_config, convert::path_of, state::Shared};

pub(crate) const CALLERS_REQUEST: &str = "codecontext/callers";
pub(crate) const CALLERS_COMMAND: &str = "codecontext.callers";

/// Files mirrored per call to the graph database.
const MIRROR_CHUNK: usize = 200;
/// How long cached answers live (a version bump makes them unreachable sooner).
const CACHE_TTL: Duration = Duration::from_secs(600);
/// Executions (`execute` and `verify`) per minute per project, unless
/// `CODECONTEXT_EXECUTIONS_PER_MINUTE` says otherwise.
const EXECUTIONS_PER_MINUTE: u32 = 120;

/// A folder's links to the team's graph database and cache.
#[derive(Default)]
pub(crate) struct TeamLinks {
    pub mirror: Option<Arc<GraphMirror>>,
    /// The folder's store: the shared PostgreSQL store keeps the graph as tables too.
    pub store: Option<Arc<dyn Store>>,
    pub cache: Option<SharedCache>,
    pub limit: Option<RateLimit>,
    /// Files changed since they were last mirrored (absolute paths).
    dirty: Mutex<HashSet<PathBuf>>,
    /// A whole-folder mirror failed: the next update does it again.
    full_pending: AtomicBool,
    /// A flush of `dirty` is on its way.
    scheduled: AtomicBool,
    /// Held while the mirror is written: updates never overlap (an older export never
    /// lands after a newer), and a question waits for the update under way.
    writing: Arc<tokio::sync::Mutex<()>>,
}

/// Connects a folder's graph database and cache, once; what cannot be reached is said
/// (once per session) and left out.
pub(crate) async fn links(shared: &Shared, root: &Path) -> Arc<TeamLinks> {
    if let Some(links) = shared.team(root) {
        return links;
    }
    let config = storage_config(shared, root).await;
    let project = codecontext_store::project_key(root);
    let mut links = TeamLinks {
        store: shared.store(root),
        ..TeamLinks::default()
    };
    if let Some(url) = &config.bolt_url {
        let user = config.bolt_user.as_ref().map(|s| s.value.as_str());
        let password = config.bolt_password.as_ref().map(|s| s.value.as_str());
        let connect = GraphMirror::connect(&url.value, user, password, &project);
        match tokio::time::timeout(Duration::from_secs(10), connect).await {
            Ok(Ok(mirror)) => {
                info!("knowledge graph mirrored to {}", url.shown());
                links.mirror = Some(Arc::new(mirror));
            }
            Ok(Err(e)) => {
                super::apply::backend_down(
                    shared,
                    format!(
                        "codecontext: the graph database at {} is unavailable ({e}); callers and impact come from the embedded graph",
                        url.shown()
                    ),
                )
                .await
            }
            Err(_) => {
                super::apply::backend_down(
                    shared,
                    format!(
                        "codecontext: the graph database at {} does not answer; callers and impact come from the embedded graph",
                        url.shown()
                    ),
                )
                .await
            }
        }
    }
    if let Some(url) = &config.redis_url {
        match SharedCache::connect(&url.value, &project).await {
            Ok(cache) => {
                info!("shared cache at {}", url.shown());
                let per_minute = std::env::var("CODECONTEXT_EXECUTIONS_PER_MINUTE")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(EXECUTIONS_PER_MINUTE);
                links.limit = Some(RateLimit::new(
                    &cache,
                    "executions",
                    per_minute,
                    Duration::from_secs(60),
                ));
                links.cache = Some(cache);
            }
            Err(e) => {
                super::apply::backend_down(
                    shared,
                    format!(
                        "codecontext: Redis at {} is unavailable ({e}); answers are not shared and executions are limited per server",
                        url.shown()
                    ),
                )
                .await
            }
        }
    }
    shared.keep_team(root, Arc::new(links))
}

/// Mirrors the given files of a folder (all of them when `None`); files gone from the
/// graph are removed from the mirror.
async fn mirror(
    shared: &Shared,
    root: &Path,
    links: &TeamLinks,
    paths: Option<Vec<PathBuf>>,
    _writing: tokio::sync::OwnedMutexGuard<()>,
) -> Option<usize> {
    let tables = links.store.as_ref().and_then(|s| s.graph_tables());
    if links.mirror.is_none() && tables.is_none() {
        return None;
    }
    let started = Instant::now();
    let again = paths.clone();
    let (files, gone) = {
        let host = shared.read();
        let graph = host.graph();
        let mut files = Vec::new();
        let mut gone = Vec::new();
        match paths {
            None => {
                let root_index = host.root_position(root)?;
                for (id, f) in graph.files() {
                    if f.root == root_index {
                        files.extend(graph.export_file(id));
                    }
                }
            }
            Some(paths) => {
                // A changed file, and the files that read names from it: their
                // resolutions may have moved too.
                let mut ids = HashSet::new();
                for path in &paths {
                    match host.file_id(path) {
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
                files.extend(ids.into_iter().filter_map(|id| graph.export_file(id)));
            }
        }
        (files, gone)
    };
    let count = files.len();
    let mut failed = false;
    if let Some(pg) = tables {
        let mut result = Ok(());
        for chunk in files.chunks(MIRROR_CHUNK) {
            result = pg.replace_graph(chunk, &[]).await;
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() && !gone.is_empty() {
            result = pg.replace_graph(&[], &gone).await;
        }
        if let Err(e) = result {
            warn!("graph tables of {} not written: {e}", root.display());
            failed = true;
        }
    }
    if let Some(mirror) = &links.mirror {
        let mut result = Ok(());
        for chunk in files.chunks(MIRROR_CHUNK) {
            let batch: Vec<MirrorFile> =
                chunk.iter().cloned().map(MirrorFile::from_export).collect();
            result = mirror.replace_files(batch).await.map(|_| ());
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() && !gone.is_empty() {
            result = mirror.remove_files(gone).await;
        }
        if let Err(e) = result {
            warn!("graph database mirror of {} failed: {e}", root.display());
            failed = true;
        }
    }
    if failed {
        // Kept for the next update (the next change, or the next question).
        match again {
            None => links.full_pending.store(true, Ordering::SeqCst),
            Some(paths) => links
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(paths),
        }
        return None;
    }
    debug!(
        "mirrored {count} files of {} in {} ms",
        root.display(),
        started.elapsed().as_millis()
    );
    if let Some(cache) = &links.cache {
        if let Err(e) = cache.bump("mirror").await {
            debug!("cache version not shared: {e}");
        }
    }
    Some(count)
}

/// After a folder is indexed: mirrors all of it (when a graph database is configured),
/// in the background; questions wait for it.
pub(crate) async fn folder_indexed(shared: &Arc<Shared>, root: &Path) {
    let links = links(shared, root).await;
    let tables = links
        .store
        .as_ref()
        .is_some_and(|s| s.graph_tables().is_some());
    if links.mirror.is_none() && !tables {
        if let Some(cache) = &links.cache {
            let _ = cache.bump("index").await;
        }
        return;
    }
    // Taken now, so that a question asked from here on waits for the mirror.
    let writing = links.writing.clone().lock_owned().await;
    let shared = shared.clone();
    let root = root.to_path_buf();
    tokio::spawn(async move {
        let started = Instant::now();
        if let Some(n) = mirror(&shared, &root, &links, None, writing).await {
            info!(
                "{}: {n} files mirrored to the graph database in {} ms",
                root.display(),
                started.elapsed().as_millis()
            );
        }
    });
}

/// A file changed (edited, or on disk): mirrored shortly after, with whatever else
/// changed meanwhile.
pub(crate) fn file_changed(shared: &Arc<Shared>, path: &Path) {
    let Some(root) = shared
        .read()
        .roots()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
        .map(Path::to_path_buf)
    else {
        return;
    };
    let Some(links) = shared.team(&root) else {
        return;
    };
    let tables = links
        .store
        .as_ref()
        .is_some_and(|s| s.graph_tables().is_some());
    if links.mirror.is_none() && links.cache.is_none() && !tables {
        return;
    }
    links
        .dirty
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(path.to_path_buf());
    let first = !links.scheduled.swap(true, Ordering::SeqCst);
    let Some(runtime) = shared.runtime.get() else {
        return;
    };
    if first {
        let shared = shared.clone();
        runtime.spawn(async move {
            // Typing comes in bursts: gather them.
            tokio::time::sleep(Duration::from_millis(200)).await;
            flush(&shared, &root, &links).await;
        });
    }
}

/// Mirrors what is dirty now (the whole folder if that failed last time), after any
/// update under way.
async fn flush(shared: &Shared, root: &Path, links: &TeamLinks) {
    let writing = links.writing.clone().lock_owned().await;
    links.scheduled.store(false, Ordering::SeqCst);
    if links.full_pending.swap(false, Ordering::SeqCst) {
        links
            .dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        mirror(shared, root, links, None, writing).await;
        return;
    }
    let paths: Vec<PathBuf> = links
        .dirty
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .drain()
        .collect();
    if paths.is_empty() {
        return;
    }
    let tables = links
        .store
        .as_ref()
        .is_some_and(|s| s.graph_tables().is_some());
    if links.mirror.is_some() || tables {
        mirror(shared, root, links, Some(paths), writing).await;
    } else if let Some(cache) = &links.cache {
        let _ = cache.bump("edit").await;
    }
}

/// Waits for a slot in the project's execution rate limit; an error when there is none.
pub(crate) async fn admit_execution(shared: &Shared) -> Result<()> {
    let roots: Vec<PathBuf> = shared.read().roots().map(Path::to_path_buf).collect();
    let Some(root) = roots.first() else {
        return Ok(());
    };
    let Some(links) = shared.team(root) else {
        return Ok(());
    };
    let Some(limit) = &links.limit else {
        return Ok(());
    };
    match limit.acquire().await {
        Ok(()) => Ok(()),
        Err(limited) => Err(Error {
            code: ErrorCode::ServerError(-32001),
            message: format!("too many executions for this project: {limited}").into(),
            data: Some(json!({ "retryAfterMs": limited.retry_after.as_millis() as u64 })),
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CallersParams {
    symbol: Option<String>,
    text_document: Option<TextDocumentIdentifier>,
    position: Option<Position>,
    #[serde(default)]
    direction: Direction,
    depth: Option<u32>,
    limit: Option<usize>,
}

#[derive(Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash, Debug)]
#[serde(rename_all = "lowercase")]
enum Direction {
    #[default]
    Callers,
    Callees,
    Impact,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::Callers => "callers",
            Direction::Callees => "callees",
            Direction::Impact => "impact",
        }
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: e.to_string().into(),
        data: None,
    }
}

/// `codecontext/callers`.
pub(crate) async fn callers(shared: &Arc<Shared>, params: Value) -> Result<Value> {
    let params: CallersParams =
        serde_json::from_value(params).map_err(|e| invalid(e.to_string()))?;
    let depth = params.depth.unwrap_or(3).clamp(1, 10);
    let limit = params.limit.unwrap_or(1000).clamp(1, 10_000);
    shared.caught_up().await;
    // The symbol, and the folder it lives in.
    let (id, root, start) = {
        let shared = shared.clone();
        let symbol = params.symbol.clone();
        let document = params.text_document.clone().zip(params.position);
        tokio::task::spawn_blocking(move || find_symbol(&shared, symbol, document))
            .await
            .map_err(internal)??
    };
    if let Some(links) = shared.team(&root) {
        if let Some(answer) = shared_walk(shared, &root, &links, id, &params, depth, limit).await {
            let mut answer = answer;
            answer["symbol"] = start;
            return Ok(answer);
        }
    }
    let shared = shared.clone();
    let direction = params.direction;
    tokio::task::spawn_blocking(move || {
        let host = shared.read();
        let graph = host.graph();
        let mut reached: HashMap<EntityLoc, u32> = HashMap::new();
        let mut add = |loc: EntityLoc, d: u32| {
            let best = reached.entry(loc).or_insert(d);
            *best = (*best).min(d);
        };
        match direction {
            Direction::Callers => graph
                .callers(id, depth)
                .into_iter()
                .for_each(|s| add(s.entity, s.depth)),
            Direction::Callees => graph
                .callees(id, depth)
                .into_iter()
                .for_each(|s| add(s.entity, s.depth)),
            Direction::Impact => graph
                .impact(id, depth)
                .into_iter()
                .for_each(|(loc, d)| add(loc, d)),
        }
        let mut items: Vec<(u32, String, Value)> = reached
            .into_iter()
            .filter_map(|(loc, d)| {
                let e = graph.entity(loc)?;
                if e.id == id {
                    return None;
                }
                let f = graph.file_data(loc.file)?;
                let qualified = graph.qualified_name(loc);
                let name = if loc.index == 0 {
                    f.rel.rsplit('/').next().unwrap_or(&f.rel).to_string()
                } else {
                    graph.name(e.name).to_string()
                };
                let line = f
                    .line_index
                    .line_col(e.selection.start)
                    .map_or(0, |lc| lc.line);
                let kind = if loc.index == 0 {
                    "file"
                } else {
                    e.kind.as_str()
                };
                Some((
                    d,
                    qualified.clone(),
                    json!({
                        "id": e.id.to_string(), "name": name, "qualifiedName": qualified,
                        "kind": kind, "path": f.rel.to_string(), "line": line, "depth": d,
                    }),
                ))
            })
            .collect();
        items.sort_by(|a, b| (a.0, &a.1, a.2["id"].as_str()).cmp(&(b.0, &b.1, b.2["id"].as_str())));
        items.truncate(limit);
        Ok(json!({
            "symbol": start, "direction": direction.as_str(), "depth": depth,
            "source": "embedded", "cached": false,
            "items": items.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
        }))
    })
    .await
    .map_err(internal)?
}

/// The walk on the team's graph: Cypher on the graph database when there is one, else
/// recursive SQL on the shared PostgreSQL store's tables; cached in Redis. `None` when
/// neither is there (or the walk failed, which is logged): the embedded graph answers.
async fn shared_walk(
    shared: &Shared,
    root: &Path,
    links: &TeamLinks,
    id: EntityId,
    params: &CallersParams,
    depth: u32,
    limit: usize,
) -> Option<Value> {
    let tables = links.store.as_ref().and_then(|s| s.graph_tables());
    if links.mirror.is_none() && tables.is_none() {
        return None;
    }
    // What this server changed reaches the shared graph before it is asked.
    flush(shared, root, links).await;
    let direction = params.direction.as_str();
    let key = format!("{direction}:{id}:{depth}:{limit}");
    // Read before the walk: an answer computed across a bump is stored under the old
    // version, where nobody looks any more.
    let version = links.cache.as_ref().map(SharedCache::version);
    if let Some(cache) = &links.cache {
        if let Some(mut hit) = cache.get("callers", &key).await {
            hit["cached"] = json!(true);
            return Some(hit);
        }
    }
    let item = |id: String, name, qualified, kind, path, line: u32, depth: u32| {
        json!({
            "id": id, "name": name, "qualifiedName": qualified,
            "kind": kind, "path": path, "line": line, "depth": depth,
        })
    };
    let (source, items): (&str, Vec<Value>) = if let Some(mirror) = &links.mirror {
        let walk = match params.direction {
            Direction::Callers => Walk::Callers,
            Direction::Callees => Walk::Callees,
            Direction::Impact => Walk::Impact,
        };
        match mirror.walk(&id.to_string(), walk, depth, limit).await {
            Ok(reached) => (
                "graphDatabase",
                reached
                    .into_iter()
                    .map(|r| item(r.id, r.name, r.qualified, r.kind, r.path, r.line, r.depth))
                    .collect(),
            ),
            Err(e) => {
                warn!("graph database walk failed ({e}); answering from the embedded graph");
                return None;
            }
        }
    } else {
        let walk = match params.direction {
            Direction::Callers => GraphWalk::Callers,
            Direction::Callees => GraphWalk::Callees,
            Direction::Impact => GraphWalk::Impact,
        };
        match tables?.walk_graph(id.0, walk, depth, limit).await {
            Ok(reached) => (
                "postgres",
                reached
                    .into_iter()
                    .map(|r| item(r.id, r.name, r.qualified, r.kind, r.path, r.line, r.depth))
                    .collect(),
            ),
            Err(e) => {
                warn!("PostgreSQL walk failed ({e}); answering from the embedded graph");
                return None;
            }
        }
    };
    let answer = json!({
        "direction": direction, "depth": depth,
        "source": source, "cached": false, "items": items,
    });
    if let (Some(cache), Some(version)) = (&links.cache, version) {
        cache
            .put_at(version, "callers", &key, &answer, CACHE_TTL)
            .await;
    }
    Some(answer)
}

/// The entity named by a qualified name or found at a position, its folder, and how it
/// is shown.
fn find_symbol(
    shared: &Shared,
    symbol: Option<String>,
    document: Option<(TextDocumentIdentifier, Position)>,
) -> Result<(EntityId, PathBuf, Value)> {
    let host = shared.read();
    let graph = host.graph();
    let loc = match (symbol, document) {
        (Some(symbol), None) => {
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
        (None, Some((document, position))) => {
            let path = path_of(&document.uri)
                .ok_or_else(|| invalid(format!("{} is not a file", document.uri.as_str())))?;
            let file = host
                .file_id(&path)
                .ok_or_else(|| invalid(format!("{} is not indexed", path.display())))?;
            let encoding = shared.session().encoding;
            let offset = host
                .analysis()
                .offset(file, position.line, position.character, encoding)
                .ok_or_else(|| {
                    invalid(format!(
                        "{}:{}:{} is outside the file",
                        path.display(),
                        position.line,
                        position.character
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
        _ => {
            return Err(invalid(
                "give `symbol` (a qualified name) or `textDocument` and `position`",
            ))
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
