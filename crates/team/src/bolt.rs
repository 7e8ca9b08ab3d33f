//! The knowledge graph mirrored into a Bolt graph database (Neo4j 5, FalkorDB), and walks
//! over it in Cypher.
//!
//! The server fills plain [`MirrorFile`]s (this crate does not know the graph crate) and
//! [`GraphMirror::replace_files`] writes them; [`GraphMirror::walk`] answers "who calls this,
//! what does it call, what may break" with variable-length patterns.
//!
//! # Model
//!
//! - `(:File {project, path, language})` and `(:Entity {project, id, path, name, qualified,
//!   kind, line, gen})`; `gen` marks which replace wrote the entity last.
//! - `CONTAINS` from a file to its top-level entities and from an entity to its members;
//!   `CALLS`, `REFERENCES`, `IMPORTS`, `INHERITS`, `IMPLEMENTS` between entities. Every
//!   relationship has `how` (`exact`, `inferred`, `ambiguous`) and `path`, the file that owns
//!   it: the file of its source.
//! - `(:Decision {project, id, kind, status, text, gen})`: the project's decisions and
//!   preferences (the memory engine's), each `ABOUT` the entities it is anchored to, the
//!   relationship with the anchor's `status` (`current`, `suspect`, `orphaned`). They are
//!   replaced as a whole ([`GraphMirror::replace_decisions`]); a file's replace keeps the
//!   `ABOUT` edges into its entities, which keep their ids.
//! - Everything is scoped by `project`: several projects share one database (and FalkorDB has
//!   a single graph over Bolt).
//! - An edge to an entity whose file is not mirrored yet points at a *stub*
//!   `(:Entity {project, id})` with no `path`, which that file's replace fills in. Walks and
//!   counts skip stubs; a stub nothing points at any more is deleted.
//!
//! # Replacing a file
//!
//! Entity ids are stable across reparses and other files' edges point at this file's
//! entities, so a file is never deleted and recreated. In order: merge the file's entities
//! by `(project, id)` and set their properties and the replace's `gen`; delete every outgoing
//! relationship of the entities that now have the file's path (its own edges, including
//! those of an entity that moved here from another file); `DETACH DELETE` the file's entities
//! the replace did not write (older `gen`); create its edges. Incoming edges from other files
//! to entities that still exist are untouched.
//!
//! # What FalkorDB imposes (the same Cypher runs on Neo4j 5)
//!
//! - Parameters are pasted into the query text unescaped: a `'` or `\` in a string breaks the
//!   query. Every string sent is [`encode_text`]-ed (`%`, `'`, `\` and control characters
//!   become `%XX`) and decoded when read back; the database holds encoded text.
//! - A query and its parameters over about 4 KiB crash the server: rows go in `UNWIND`
//!   batches of at most [`QUERY_BUDGET`] bytes, text included, and long strings are cut.
//! - `BEGIN`/`COMMIT` are no-ops: the statements of one call run in one transaction (atomic on
//!   Neo4j), but every statement leaves the graph consistent on its own.
//! - No APOC, no `CALL {}` subqueries, no `IF NOT EXISTS` on indexes ("already" errors are
//!   ignored instead), no database name (FalkorDB answers on its one graph).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use neo4j::driver::auth::AuthToken;
use neo4j::driver::{ConnectionConfig, Driver, DriverConfig, Record, RoutingControl};
use neo4j::retry::ExponentialBackoff;
use neo4j::session::SessionConfig;
use neo4j::transaction::Transaction;
use neo4j::{ValueReceive, ValueSend};

pub use codecontext_graph::{EdgeKind, Reached, Walk};

/// The most bytes of query text plus rendered parameters sent in one statement. FalkorDB
/// crashes somewhere above 4 KiB; this leaves room for its own wrapping.
pub const QUERY_BUDGET: usize = 3 * 1024;

/// The deepest walk answered; deeper requests are cut to this.
pub const MAX_WALK_DEPTH: u32 = 10;

/// The most results one walk returns, whatever the caller asks.
pub const MAX_WALK_RESULTS: usize = 10_000;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a write (one batch of files, or a removal) may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a read (a walk, a count, the first `RETURN 1`) may take.
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest encoded strings sent, per field: a row must fit in [`QUERY_BUDGET`].
const MAX_ID: usize = 64;
const MAX_NAME: usize = 256;
const MAX_QUALIFIED: usize = 512;
const MAX_PATH: usize = 512;
const MAX_WORD: usize = 32;
const MAX_PROJECT: usize = 256;
/// A decision's text is cut to this (the store keeps it whole).
const MAX_DECISION_TEXT: usize = 1024;

/// Nodes deleted per statement by [`GraphMirror::clear_project`].
const CLEAR_CHUNK: i64 = 5_000;

/// One entity of a mirrored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorEntity {
    /// Stable across reparses: 16 hex digits.
    pub id: String,
    /// `function`, `method`, `class`, ...
    pub kind: String,
    pub name: String,
    /// For example `calc::double`.
    pub qualified: String,
    /// 0-based.
    pub line: u32,
    /// The id of the containing entity in the same file; `None` for the file itself.
    pub container: Option<String>,
}

/// The edge kinds a mirror holds as relationships of their own (`CONTAINS` comes from
/// the entities' containers).
const MIRRORED: [EdgeKind; 5] = [
    EdgeKind::Calls,
    EdgeKind::References,
    EdgeKind::Imports,
    EdgeKind::Inherits,
    EdgeKind::Implements,
];

/// The relationship type of an edge kind in the database.
fn relationship(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Contains => "CONTAINS",
        EdgeKind::Calls => "CALLS",
        EdgeKind::References => "REFERENCES",
        EdgeKind::Imports => "IMPORTS",
        EdgeKind::Inherits => "INHERITS",
        EdgeKind::Implements => "IMPLEMENTS",
    }
}

/// One edge; it belongs to the file of `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorEdge {
    /// Entity id, in the file the edge is given with.
    pub from: String,
    /// Entity id, in any file (or in none mirrored yet).
    pub to: String,
    pub kind: EdgeKind,
    /// `exact`, `inferred` or `ambiguous`.
    pub how: String,
}

/// A decision or preference, with the entities it is anchored to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorDecision {
    /// The memory's id (`adr:docs/adr/0001-x.md`, `m-…`, `commit:…`).
    pub id: String,
    /// `decision` or `preference`.
    pub kind: String,
    /// `current`, `suspect`, `orphaned`, `superseded` or `forgotten`.
    pub status: String,
    pub text: String,
    /// (entity id, the anchor's status).
    pub anchors: Vec<(String, String)>,
}

/// One file's entities and outgoing edges, replacing what the mirror held for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MirrorFile {
    /// Relative to the project root, `/`-separated.
    pub path: String,
    pub language: String,
    pub entities: Vec<MirrorEntity>,
    pub edges: Vec<MirrorEdge>,
}

impl MirrorFile {
    /// The mirror's shape of a file's part of the knowledge graph (`CONTAINS` comes from
    /// the entities' containers).
    pub fn from_export(export: codecontext_graph::FileExport) -> MirrorFile {
        let kind = |k: EdgeKind| MIRRORED.contains(&k).then_some(k);
        MirrorFile {
            path: export.rel,
            language: export.language,
            entities: export
                .entities
                .into_iter()
                .map(|e| MirrorEntity {
                    id: e.id.to_string(),
                    kind: e.kind.to_string(),
                    name: e.name,
                    qualified: e.qualified,
                    line: e.line,
                    container: e.container.map(|c| c.to_string()),
                })
                .collect(),
            edges: export
                .edges
                .into_iter()
                .filter_map(|e| {
                    Some(MirrorEdge {
                        from: e.from.to_string(),
                        to: e.to.to_string(),
                        kind: kind(e.kind)?,
                        how: e.how.as_str().to_string(),
                    })
                })
                .collect(),
        }
    }
}

/// The pattern of a walk from the start `s` to a reached `t`, at most `depth` edges long.
fn pattern(walk: Walk, depth: u32) -> String {
    let kinds: Vec<&str> = walk.edge_kinds().iter().map(|k| relationship(*k)).collect();
    let kinds = kinds.join("|");
    if walk.incoming() {
        format!("(s)<-[:{kinds}*1..{depth}]-(t:Entity)")
    } else {
        format!("(s)-[:{kinds}*1..{depth}]->(t:Entity)")
    }
}

/// What one [`GraphMirror::replace_files`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MirrorStats {
    pub files: usize,
    pub entities: u64,
    /// Edges created, `CONTAINS` not counted.
    pub edges: u64,
    /// Edges left out: their `from` is not an entity of their file, or they repeat another.
    pub skipped_edges: usize,
    /// Statements sent (each one round trip).
    pub statements: usize,
}

/// A failure of the mirror. Messages never carry credentials.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("`{address}` is not a Bolt URL: {message}")]
    Url { address: String, message: String },
    #[error("cannot reach the graph database at {address}: {message}")]
    Connect { address: String, message: String },
    #[error("the graph database failed the {statement} statement: {message}")]
    Query {
        statement: &'static str,
        message: String,
    },
    #[error("unexpected answer to the {statement} statement: {message}")]
    Answer {
        statement: &'static str,
        message: String,
    },
    #[error("the graph database worker stopped: {0}")]
    Worker(String),
    #[error("the graph database at {address} did not answer within {seconds} s")]
    Timeout { address: String, seconds: u64 },
}

/// A project's mirror in a Bolt graph database. Cheap to share: one pooled driver inside.
pub struct GraphMirror {
    driver: Arc<Driver>,
    /// Encoded, as stored.
    project: String,
    address: String,
}

impl std::fmt::Debug for GraphMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphMirror")
            .field("address", &self.address)
            .field("project", &self.project)
            .finish()
    }
}

impl GraphMirror {
    /// Connects, checks the server answers `RETURN 1`, and creates the indexes the mirror
    /// uses (an index that exists already is fine; one that cannot be made is logged).
    pub async fn connect(
        url: &str,
        user: Option<&str>,
        password: Option<&str>,
        project: &str,
    ) -> Result<GraphMirror, MirrorError> {
        let address = redact(url);
        let connection = ConnectionConfig::try_from(url).map_err(|e| MirrorError::Url {
            address: address.clone(),
            message: e.to_string().replace(url, &address),
        })?;
        let auth = match (user, password) {
            (Some(user), Some(password)) => AuthToken::new_basic_auth(user, password),
            _ => AuthToken::new_none_auth(),
        };
        let driver = Driver::new(
            connection,
            DriverConfig::new()
                .with_auth(Arc::new(auth))
                .with_connection_timeout(CONNECT_TIMEOUT)
                .with_connection_acquisition_timeout(READ_TIMEOUT),
        );
        let mirror = GraphMirror {
            driver: Arc::new(driver),
            project: encode_text(project, MAX_PROJECT),
            address: address.clone(),
        };
        mirror
            .blocking(READ_TIMEOUT, move |driver| {
                driver
                    .execute_query("RETURN 1 AS x")
                    .with_routing_control(RoutingControl::Read)
                    .run()
                    .map_err(|e| MirrorError::Connect {
                        address,
                        message: e.to_string(),
                    })?;
                for statement in INDEXES {
                    if let Err(e) = driver.execute_query(statement).run() {
                        let message = e.to_string();
                        if !message.contains("already") {
                            tracing::warn!("graph mirror: no index ({statement}): {message}");
                        }
                    }
                }
                Ok(())
            })
            .await?;
        Ok(mirror)
    }

    /// Replaces each file's own nodes and outgoing edges with the given ones; other files'
    /// edges into its entities that still exist are kept.
    pub async fn replace_files(&self, files: Vec<MirrorFile>) -> Result<MirrorStats, MirrorError> {
        let plan = ReplacePlan::new(&files, next_generation());
        let project = self.project.clone();
        self.blocking(WRITE_TIMEOUT, move |driver| {
            in_transaction(driver, |tx, run| {
                let mut stats = MirrorStats {
                    files: files.len(),
                    skipped_edges: plan.skipped_edges,
                    ..MirrorStats::default()
                };
                let fixed = |extra: Vec<(&str, ValueSend)>| {
                    let mut params = HashMap::from([(
                        "project".to_string(),
                        ValueSend::String(project.clone()),
                    )]);
                    for (k, v) in extra {
                        params.insert(k.to_string(), v);
                    }
                    params
                };
                let generation = || vec![("gen", ValueSend::Integer(plan.generation))];
                for params in batches(MERGE_FILES, fixed(vec![]), plan.files.clone()) {
                    run(tx, "merge files", MERGE_FILES, params)?;
                }
                for params in batches(MERGE_ENTITIES, fixed(generation()), plan.entities.clone()) {
                    stats.entities += count(&run(tx, "merge entities", MERGE_ENTITIES, params)?);
                }
                let mut stubs = Vec::new();
                for params in batches(STUB_CANDIDATES, fixed(vec![]), plan.paths.clone()) {
                    for record in run(tx, "find stubs", STUB_CANDIDATES, params)? {
                        if let Some(ValueReceive::String(id)) = record.value("id") {
                            stubs.push(id.clone());
                        }
                    }
                }
                for statement in [DROP_EDGES, DROP_FILE_EDGES] {
                    for params in batches(statement, fixed(vec![]), plan.paths.clone()) {
                        run(tx, "drop edges", statement, params)?;
                    }
                }
                for params in batches(DROP_STALE, fixed(generation()), plan.paths.clone()) {
                    run(tx, "drop stale entities", DROP_STALE, params)?;
                }
                for params in batches(CONTAIN_TOP, fixed(vec![]), plan.top_level.clone()) {
                    run(tx, "contain", CONTAIN_TOP, params)?;
                }
                for params in batches(CONTAIN_MEMBERS, fixed(vec![]), plan.members.clone()) {
                    run(tx, "contain", CONTAIN_MEMBERS, params)?;
                }
                for kind in MIRRORED {
                    let Some(rows) = plan.edges.get(&kind) else {
                        continue;
                    };
                    let text = create_edges(kind);
                    for params in batches(&text, fixed(vec![]), rows.clone()) {
                        stats.edges += count(&run(tx, "create edges", &text, params)?);
                    }
                }
                collect_stubs(tx, run, fixed(vec![]), stubs)?;
                Ok(stats)
            })
        })
        .await
        .map(|(mut stats, statements)| {
            stats.statements = statements;
            tracing::debug!("graph mirror: {stats:?}");
            stats
        })
    }

    /// Removes files: their nodes, their edges, and edges into their entities.
    pub async fn remove_files(&self, paths: Vec<String>) -> Result<(), MirrorError> {
        let project = self.project.clone();
        let paths: Vec<ValueSend> = paths
            .iter()
            .map(|p| ValueSend::String(encode_text(p, MAX_PATH)))
            .collect();
        self.blocking(WRITE_TIMEOUT, move |driver| {
            in_transaction(driver, |tx, run| {
                let fixed =
                    || HashMap::from([("project".to_string(), ValueSend::String(project.clone()))]);
                let mut stubs = Vec::new();
                for params in batches(STUB_CANDIDATES, fixed(), paths.clone()) {
                    for record in run(tx, "find stubs", STUB_CANDIDATES, params)? {
                        if let Some(ValueReceive::String(id)) = record.value("id") {
                            stubs.push(id.clone());
                        }
                    }
                }
                for statement in [REMOVE_ENTITIES, REMOVE_FILES] {
                    for params in batches(statement, fixed(), paths.clone()) {
                        run(tx, "remove files", statement, params)?;
                    }
                }
                collect_stubs(tx, run, fixed(), stubs)
            })
        })
        .await
        .map(|_| ())
    }

    /// Replaces the project's decisions with these: each merged by id with its `ABOUT`
    /// edges made again, and those not given deleted. The number of `ABOUT` edges made.
    pub async fn replace_decisions(
        &self,
        decisions: Vec<MirrorDecision>,
    ) -> Result<u64, MirrorError> {
        let generation = next_generation();
        let (mut nodes, mut ids, mut anchors) = (Vec::new(), Vec::new(), Vec::new());
        for d in &decisions {
            let id = encode_text(&d.id, MAX_PATH);
            ids.push(text(&id));
            nodes.push(row([
                ("i", text(&id)),
                ("k", text(&encode_text(&d.kind, MAX_WORD))),
                ("s", text(&encode_text(&d.status, MAX_WORD))),
                ("t", text(&encode_text(&d.text, MAX_DECISION_TEXT))),
            ]));
            for (entity, status) in &d.anchors {
                anchors.push(row([
                    ("d", text(&id)),
                    ("t", text(&encode_text(entity, MAX_ID))),
                    ("s", text(&encode_text(status, MAX_WORD))),
                ]));
            }
        }
        let project = self.project.clone();
        self.blocking(WRITE_TIMEOUT, move |driver| {
            in_transaction(driver, |tx, run| {
                let fixed = |gen: bool| {
                    let mut params = HashMap::from([(
                        "project".to_string(),
                        ValueSend::String(project.clone()),
                    )]);
                    if gen {
                        params.insert("gen".to_string(), ValueSend::Integer(generation));
                    }
                    params
                };
                for params in batches(MERGE_DECISIONS, fixed(true), nodes) {
                    run(tx, "merge decisions", MERGE_DECISIONS, params)?;
                }
                for params in batches(DROP_ABOUT, fixed(false), ids) {
                    run(tx, "drop anchors", DROP_ABOUT, params)?;
                }
                let mut made = 0;
                for params in batches(CREATE_ABOUT, fixed(false), anchors) {
                    made += count(&run(tx, "anchor decisions", CREATE_ABOUT, params)?);
                }
                run(tx, "drop old decisions", DROP_OLD_DECISIONS, fixed(true))?;
                Ok(made)
            })
        })
        .await
        .map(|(made, _)| made)
    }

    /// The decisions about an entity: (id, kind, status, text, the anchor's status), by id.
    pub async fn decisions_about(&self, id: &str) -> Result<Vec<[String; 5]>, MirrorError> {
        let params = HashMap::from([
            ("project", ValueSend::String(self.project.clone())),
            ("id", ValueSend::String(encode_text(id, MAX_ID))),
        ]);
        self.blocking(READ_TIMEOUT, move |driver| {
            let result = driver
                .execute_query(DECISIONS_ABOUT)
                .with_parameters(params)
                .with_routing_control(RoutingControl::Read)
                .run_with_retry(reads())
                .map_err(|e| query_error("decisions", e))?;
            Ok(result
                .records
                .iter()
                .map(|r| {
                    ["id", "kind", "status", "text", "anchor"].map(|key| match r.value(key) {
                        Some(ValueReceive::String(s)) => decode_text(s),
                        _ => String::new(),
                    })
                })
                .collect())
        })
        .await
    }

    /// Removes everything of this project (other projects are untouched).
    pub async fn clear_project(&self) -> Result<(), MirrorError> {
        let project = self.project.clone();
        self.blocking(WRITE_TIMEOUT, move |driver| {
            // Chunks, so that Neo4j's transaction memory stays small; each its own
            // transaction, as the work is idempotent.
            for statement in [CLEAR_DECISIONS, CLEAR_ENTITIES, CLEAR_FILES] {
                loop {
                    let result = driver
                        .execute_query(statement)
                        .with_parameters(HashMap::from([
                            ("project", ValueSend::String(project.clone())),
                            ("chunk", ValueSend::Integer(CLEAR_CHUNK)),
                        ]))
                        .run()
                        .map_err(|e| query_error("clear project", e))?;
                    if count(&result.records) < CLEAR_CHUNK as u64 {
                        break;
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// The entities reached from `id` along `walk`, at most `depth` edges away (cut to
    /// [`MAX_WALK_DEPTH`]), each once at its shortest depth, sorted by depth then qualified
    /// name, at most `limit` of them. The start itself and stubs are not reported.
    pub async fn walk(
        &self,
        id: &str,
        walk: Walk,
        depth: u32,
        limit: usize,
    ) -> Result<Vec<Reached>, MirrorError> {
        let depth = depth.min(MAX_WALK_DEPTH);
        let limit = limit.min(MAX_WALK_RESULTS);
        if depth == 0 || limit == 0 {
            return Ok(Vec::new());
        }
        let text = format!(
            "MATCH (s:Entity {{project: $project, id: $id}}) \
             MATCH p = {} \
             WHERE t.path IS NOT NULL AND t.id <> $id \
             RETURN t.id AS id, t.name AS name, t.qualified AS qualified, t.path AS path, \
             t.line AS line, t.kind AS kind, min(length(p)) AS depth \
             ORDER BY depth, qualified, id LIMIT {limit}",
            pattern(walk, depth)
        );
        let params = HashMap::from([
            ("project", ValueSend::String(self.project.clone())),
            ("id", ValueSend::String(encode_text(id, MAX_ID))),
        ]);
        let mut reached: Vec<Reached> = self
            .blocking(READ_TIMEOUT, move |driver| {
                let result = driver
                    .execute_query(&text)
                    .with_parameters(params)
                    .with_routing_control(RoutingControl::Read)
                    .run_with_retry(reads())
                    .map_err(|e| query_error("walk", e))?;
                result.records.iter().map(reached).collect()
            })
            .await?;
        // Encoded text sorts a little differently from decoded text.
        reached.sort_by(|a, b| (a.depth, &a.qualified, &a.id).cmp(&(b.depth, &b.qualified, &b.id)));
        Ok(reached)
    }

    /// How many entities (stubs not counted) and edges (`CONTAINS` not counted) this
    /// project's mirror holds.
    pub async fn counts(&self) -> Result<(u64, u64), MirrorError> {
        let project = self.project.clone();
        self.blocking(READ_TIMEOUT, move |driver| {
            let mut answers = [0; 2];
            for (answer, statement) in answers.iter_mut().zip([COUNT_ENTITIES, COUNT_EDGES]) {
                let result = driver
                    .execute_query(statement)
                    .with_parameters(HashMap::from([(
                        "project",
                        ValueSend::String(project.clone()),
                    )]))
                    .with_routing_control(RoutingControl::Read)
                    .run_with_retry(reads())
                    .map_err(|e| query_error("count", e))?;
                *answer = count(&result.records);
            }
            Ok((answers[0], answers[1]))
        })
        .await
    }

    /// The paths of the files this project's mirror holds.
    pub async fn paths(&self) -> Result<Vec<String>, MirrorError> {
        let project = self.project.clone();
        self.blocking(READ_TIMEOUT, move |driver| {
            let result = driver
                .execute_query(FILE_PATHS)
                .with_parameters(HashMap::from([("project", ValueSend::String(project))]))
                .with_routing_control(RoutingControl::Read)
                .run_with_retry(reads())
                .map_err(|e| query_error("file paths", e))?;
            Ok(result
                .records
                .iter()
                .filter_map(|r| match r.value("path") {
                    Some(ValueReceive::String(path)) => Some(decode_text(path)),
                    _ => None,
                })
                .collect())
        })
        .await
    }

    /// Runs blocking driver work on tokio's blocking pool, for at most `limit`. The driver
    /// has no read timeout of its own (only the server can set one), so a server that
    /// never answers would hold the caller forever; after `limit` the caller gets
    /// [`MirrorError::Timeout`] and the stuck worker is left to the socket's fate.
    async fn blocking<T, F>(&self, limit: Duration, work: F) -> Result<T, MirrorError>
    where
        T: Send + 'static,
        F: FnOnce(&Driver) -> Result<T, MirrorError> + Send + 'static,
    {
        let driver = Arc::clone(&self.driver);
        match tokio::time::timeout(limit, tokio::task::spawn_blocking(move || work(&driver))).await
        {
            Ok(done) => done.map_err(|e| MirrorError::Worker(e.to_string()))?,
            Err(_) => Err(MirrorError::Timeout {
                address: self.address.clone(),
                seconds: limit.as_secs(),
            }),
        }
    }
}

// ---------------------------------------------------------------------------- Cypher

/// FalkorDB makes one index per property of a composite and refuses the statement if any
/// exists ("already indexed"), hence the single ones too; Neo4j says "already exists".
const INDEXES: [&str; 6] = [
    "CREATE INDEX FOR (n:Entity) ON (n.project, n.id)",
    "CREATE INDEX FOR (n:Entity) ON (n.id)",
    "CREATE INDEX FOR (n:Entity) ON (n.path)",
    "CREATE INDEX FOR (n:Entity) ON (n.project)",
    "CREATE INDEX FOR (f:File) ON (f.path)",
    "CREATE INDEX FOR (d:Decision) ON (d.id)",
];

// Row keys are one letter: every byte of a batch counts against the budget.
const MERGE_FILES: &str = "UNWIND $rows AS f \
    MERGE (x:File {project: $project, path: f.p}) SET x.language = f.l";

const MERGE_ENTITIES: &str = "UNWIND $rows AS e \
    MERGE (n:Entity {project: $project, id: e.i}) \
    SET n.path = e.p, n.name = e.n, n.qualified = e.q, n.kind = e.k, n.line = e.l, \
    n.gen = $gen RETURN count(n) AS n";

/// Stubs the file's edges point at now: they may be left with nothing pointing at them.
const STUB_CANDIDATES: &str = "UNWIND $rows AS p \
    MATCH (:Entity {project: $project, path: p})-->(t:Entity) WHERE t.path IS NULL \
    RETURN DISTINCT t.id AS id";

/// All outgoing relationships of entities that have the file's path: the file owns them.
const DROP_EDGES: &str = "UNWIND $rows AS p \
    MATCH (:Entity {project: $project, path: p})-[r]->() DELETE r";

const DROP_FILE_EDGES: &str = "UNWIND $rows AS p \
    MATCH (:File {project: $project, path: p})-[r]->() DELETE r";

const DROP_STALE: &str = "UNWIND $rows AS p \
    MATCH (n:Entity {project: $project, path: p}) WHERE n.gen IS NULL OR n.gen <> $gen \
    DETACH DELETE n";

const CONTAIN_TOP: &str = "UNWIND $rows AS e \
    MATCH (f:File {project: $project, path: e.p}) \
    MATCH (n:Entity {project: $project, id: e.i}) \
    CREATE (f)-[r:CONTAINS]->(n) SET r.how = 'exact', r.path = e.p";

const CONTAIN_MEMBERS: &str = "UNWIND $rows AS e \
    MATCH (c:Entity {project: $project, id: e.f}) \
    MATCH (n:Entity {project: $project, id: e.t}) \
    CREATE (c)-[r:CONTAINS]->(n) SET r.how = 'exact', r.path = c.path";

fn create_edges(kind: EdgeKind) -> String {
    format!(
        "UNWIND $rows AS e \
         MATCH (a:Entity {{project: $project, id: e.f}}) \
         MERGE (b:Entity {{project: $project, id: e.t}}) \
         CREATE (a)-[r:{}]->(b) SET r.how = e.h, r.path = a.path RETURN count(r) AS n",
        relationship(kind)
    )
}

/// Deletes the stubs among the rows that nothing points at any more.
const COLLECT_STUBS: &str = "UNWIND $rows AS i \
    MATCH (t:Entity {project: $project, id: i}) WHERE t.path IS NULL \
    OPTIONAL MATCH (t)<-[r]-() WITH t, count(r) AS c WHERE c = 0 DELETE t";

const REMOVE_ENTITIES: &str = "UNWIND $rows AS p \
    MATCH (n:Entity {project: $project, path: p}) DETACH DELETE n";

const REMOVE_FILES: &str = "UNWIND $rows AS p \
    MATCH (f:File {project: $project, path: p}) DETACH DELETE f";

const CLEAR_ENTITIES: &str = "MATCH (n:Entity {project: $project}) \
    WITH n LIMIT $chunk DETACH DELETE n RETURN count(*) AS n";

const CLEAR_FILES: &str = "MATCH (n:File {project: $project}) \
    WITH n LIMIT $chunk DETACH DELETE n RETURN count(*) AS n";

const MERGE_DECISIONS: &str = "UNWIND $rows AS d \
    MERGE (x:Decision {project: $project, id: d.i}) \
    SET x.kind = d.k, x.status = d.s, x.text = d.t, x.gen = $gen RETURN count(x) AS n";

const DROP_ABOUT: &str = "UNWIND $rows AS i \
    MATCH (:Decision {project: $project, id: i})-[r:ABOUT]->() DELETE r";

/// An anchor whose entity's file is not mirrored yet points at a stub, as edges do.
const CREATE_ABOUT: &str = "UNWIND $rows AS e \
    MATCH (d:Decision {project: $project, id: e.d}) \
    MERGE (n:Entity {project: $project, id: e.t}) \
    CREATE (d)-[r:ABOUT]->(n) SET r.status = e.s RETURN count(r) AS n";

const DROP_OLD_DECISIONS: &str = "MATCH (d:Decision {project: $project}) \
    WHERE d.gen IS NULL OR d.gen <> $gen DETACH DELETE d";

const CLEAR_DECISIONS: &str = "MATCH (n:Decision {project: $project}) \
    WITH n LIMIT $chunk DETACH DELETE n RETURN count(*) AS n";

const DECISIONS_ABOUT: &str = "MATCH (d:Decision {project: $project})-[r:ABOUT]->\
    (n:Entity {project: $project, id: $id}) \
    RETURN d.id AS id, d.kind AS kind, d.status AS status, d.text AS text, \
    r.status AS anchor ORDER BY id";

const FILE_PATHS: &str = "MATCH (f:File {project: $project}) RETURN f.path AS path";

const COUNT_ENTITIES: &str = "MATCH (n:Entity {project: $project}) \
    WHERE n.path IS NOT NULL RETURN count(n) AS n";

const COUNT_EDGES: &str = "MATCH (:Entity {project: $project})\
    -[r:CALLS|REFERENCES|IMPORTS|INHERITS|IMPLEMENTS]->() RETURN count(r) AS n";

// ---------------------------------------------------------------------------- writing

/// The rows one replace writes, encoded and checked.
struct ReplacePlan {
    generation: i64,
    paths: Vec<ValueSend>,
    files: Vec<ValueSend>,
    entities: Vec<ValueSend>,
    top_level: Vec<ValueSend>,
    members: Vec<ValueSend>,
    edges: HashMap<EdgeKind, Vec<ValueSend>>,
    skipped_edges: usize,
}

impl ReplacePlan {
    fn new(files: &[MirrorFile], generation: i64) -> ReplacePlan {
        let mut plan = ReplacePlan {
            generation,
            paths: Vec::new(),
            files: Vec::new(),
            entities: Vec::new(),
            top_level: Vec::new(),
            members: Vec::new(),
            edges: HashMap::new(),
            skipped_edges: 0,
        };
        for file in files {
            let path = encode_text(&file.path, MAX_PATH);
            plan.paths.push(text(&path));
            plan.files.push(row([
                ("p", text(&path)),
                ("l", text(&encode_text(&file.language, MAX_WORD))),
            ]));
            let ids: HashSet<&str> = file.entities.iter().map(|e| e.id.as_str()).collect();
            for entity in &file.entities {
                let id = encode_text(&entity.id, MAX_ID);
                plan.entities.push(row([
                    ("i", text(&id)),
                    ("p", text(&path)),
                    ("n", text(&encode_text(&entity.name, MAX_NAME))),
                    ("q", text(&encode_text(&entity.qualified, MAX_QUALIFIED))),
                    ("k", text(&encode_text(&entity.kind, MAX_WORD))),
                    ("l", ValueSend::Integer(i64::from(entity.line))),
                ]));
                // A container outside the file (or the entity itself) cannot hold it: the
                // file does.
                match &entity.container {
                    Some(c) if ids.contains(c.as_str()) && *c != entity.id => {
                        plan.members.push(row([
                            ("f", text(&encode_text(c, MAX_ID))),
                            ("t", text(&id)),
                        ]))
                    }
                    _ => plan
                        .top_level
                        .push(row([("p", text(&path)), ("i", text(&id))])),
                }
            }
            let mut seen = HashSet::new();
            for edge in &file.edges {
                if !ids.contains(edge.from.as_str())
                    || !seen.insert((&edge.from, &edge.to, edge.kind))
                {
                    plan.skipped_edges += 1;
                    continue;
                }
                plan.edges.entry(edge.kind).or_default().push(row([
                    ("f", text(&encode_text(&edge.from, MAX_ID))),
                    ("t", text(&encode_text(&edge.to, MAX_ID))),
                    ("h", text(&encode_text(&edge.how, MAX_WORD))),
                ]));
            }
        }
        plan
    }
}

fn text(s: &str) -> ValueSend {
    ValueSend::String(s.to_string())
}

fn row<const N: usize>(fields: [(&str, ValueSend); N]) -> ValueSend {
    ValueSend::Map(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// A generation no earlier replace used (nanoseconds, made unique in this process).
fn next_generation() -> i64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut last = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return (next & i64::MAX as u64) as i64,
            Err(seen) => last = seen,
        }
    }
}

type Params = HashMap<String, ValueSend>;

/// Runs one statement in the transaction and collects its records.
type Runner<'r> = dyn for<'t, 'd> FnMut(
        &'t Transaction<'d, 't>,
        &'static str,
        &str,
        Params,
    ) -> neo4j::Result<Vec<Record>>
    + 'r;

/// Runs `work` in one write transaction; returns its answer and how many statements ran.
/// The error names the statement that failed.
fn in_transaction<T>(
    driver: &Driver,
    work: impl FnOnce(&Transaction<'_, '_>, &mut Runner<'_>) -> neo4j::Result<T>,
) -> Result<(T, usize), MirrorError> {
    let doing = Cell::new("begin");
    let statements = Cell::new(0);
    let mut session = driver.session(SessionConfig::new());
    let answer = session
        .transaction()
        .with_routing_control(RoutingControl::Write)
        .run(|tx| {
            let mut run = |tx: &Transaction<'_, '_>,
                           what: &'static str,
                           text: &str,
                           params: Params|
             -> neo4j::Result<Vec<Record>> {
                doing.set(what);
                statements.set(statements.get() + 1);
                let mut stream = tx.query(text).with_parameters(params).run()?;
                let records = stream.by_ref().collect::<neo4j::Result<Vec<_>>>()?;
                stream.consume()?;
                Ok(records)
            };
            let answer = work(&tx, &mut run)?;
            doing.set("commit");
            tx.commit()?;
            Ok(answer)
        })
        .map_err(|e| query_error(doing.get(), e))?;
    Ok((answer, statements.get()))
}

fn collect_stubs(
    tx: &Transaction<'_, '_>,
    run: &mut Runner<'_>,
    fixed: Params,
    mut stubs: Vec<String>,
) -> neo4j::Result<()> {
    stubs.sort();
    stubs.dedup();
    let rows = stubs.into_iter().map(ValueSend::String).collect();
    for params in batches(COLLECT_STUBS, fixed, rows) {
        run(tx, "collect stubs", COLLECT_STUBS, params)?;
    }
    Ok(())
}

/// Splits `rows` into parameter maps (`fixed` plus `rows`) such that each statement, text
/// and rendered parameters, stays within [`QUERY_BUDGET`]. A batch holds at least one row.
fn batches(query: &str, fixed: Params, rows: Vec<ValueSend>) -> Vec<Params> {
    let base = query.len()
        + "CYPHER ".len()
        + fixed
            .iter()
            .map(|(k, v)| k.len() + 2 + literal_len(v))
            .sum::<usize>()
        + "rows=[] ".len();
    let room = QUERY_BUDGET.saturating_sub(base);
    let mut out = Vec::new();
    let mut batch = Vec::new();
    let mut used = 0;
    let flush = |batch: Vec<ValueSend>, out: &mut Vec<Params>| {
        let mut params = fixed.clone();
        params.insert("rows".to_string(), ValueSend::List(batch));
        out.push(params);
    };
    for row in rows {
        let size = literal_len(&row) + 2;
        if !batch.is_empty() && used + size > room {
            flush(std::mem::take(&mut batch), &mut out);
            used = 0;
        }
        used += size;
        batch.push(row);
    }
    if !batch.is_empty() {
        flush(batch, &mut out);
    }
    out
}

/// The length of a value written as a Cypher literal, as FalkorDB pastes it (an upper
/// bound for the values sent here).
fn literal_len(value: &ValueSend) -> usize {
    match value {
        ValueSend::Null => 4,
        ValueSend::Boolean(_) => 5,
        ValueSend::Integer(i) => i.to_string().len(),
        ValueSend::Float(_) => 24,
        ValueSend::String(s) => s.len() + 2,
        ValueSend::List(items) => 2 + items.iter().map(|v| literal_len(v) + 2).sum::<usize>(),
        ValueSend::Map(map) => {
            2 + map
                .iter()
                .map(|(k, v)| k.len() + 3 + literal_len(v))
                .sum::<usize>()
        }
        _ => 64,
    }
}

// ---------------------------------------------------------------------------- text

/// Makes a string safe to paste into a single-quoted Cypher string literal, as FalkorDB
/// does with parameters: `%`, `'`, `\` and ASCII control characters become `%XX`. Cut (at a
/// character, never inside an escape) to at most `max` bytes.
pub fn encode_text(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars() {
        let piece = match c {
            '%' | '\'' | '\\' => format!("%{:02X}", c as u32),
            c if c.is_control() && (c as u32) < 0x80 => format!("%{:02X}", c as u32),
            c => c.to_string(),
        };
        if out.len() + piece.len() > max {
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// The inverse of [`encode_text`]; text that is not a valid escape stays as it is.
pub fn decode_text(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                if b < 0x80 {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// `scheme://host:port` of a URL, without user, password or options.
fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    }
}

// ---------------------------------------------------------------------------- reading

/// Reads are retried for a few seconds when the connection drops before an answer (a
/// pooled connection the server closed): they change nothing, so trying again is safe.
fn reads() -> ExponentialBackoff {
    ExponentialBackoff::new().with_max_retry_time(Duration::from_secs(5))
}

/// A statement's failure, from the driver (`Neo4jError`) or after its retries (`RetryError`).
fn query_error(statement: &'static str, error: impl std::fmt::Display) -> MirrorError {
    MirrorError::Query {
        statement,
        message: error.to_string(),
    }
}

/// The integer in column `n` of the first record (0 when there is none).
fn count(records: &[Record]) -> u64 {
    records
        .first()
        .and_then(|r| r.value("n"))
        .and_then(|v| v.as_int())
        .map_or(0, |n| n.max(0) as u64)
}

fn reached(record: &Record) -> Result<Reached, MirrorError> {
    let string = |key: &str| match record.value(key) {
        Some(ValueReceive::String(s)) => Ok(decode_text(s)),
        Some(ValueReceive::Null) | None => Ok(String::new()),
        Some(other) => Err(MirrorError::Answer {
            statement: "walk",
            message: format!("`{key}` is {other:?}, not text"),
        }),
    };
    let number = |key: &str| match record.value(key) {
        Some(ValueReceive::Integer(n)) => Ok(u32::try_from(*n).unwrap_or(0)),
        Some(ValueReceive::Null) | None => Ok(0),
        Some(other) => Err(MirrorError::Answer {
            statement: "walk",
            message: format!("`{key}` is {other:?}, not an integer"),
        }),
    };
    Ok(Reached {
        id: string("id")?,
        name: string("name")?,
        qualified: string("qualified")?,
        path: string("path")?,
        line: number("line")?,
        kind: string("kind")?,
        depth: number("depth")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that accepts the connection and then never says a word: the Bolt
    /// handshake waits for an answer the driver has no timeout for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_never_answers_is_a_timeout_not_a_hang() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (release, released) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            // Keeps the accepted socket open and silent until released: closing it lets
            // the driver's stuck worker end, and the runtime with it.
            let (socket, _) = listener.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = std::io::Read::read(&mut &socket, &mut buf);
            let _ = released.recv();
            drop(socket);
        });
        let started = std::time::Instant::now();
        let err = GraphMirror::connect(&format!("bolt://127.0.0.1:{port}"), None, None, "p")
            .await
            .unwrap_err();
        assert!(matches!(err, MirrorError::Timeout { .. }), "{err}");
        assert!(started.elapsed() < READ_TIMEOUT + Duration::from_secs(5));
        assert!(err.to_string().contains("did not answer"), "{err}");
        drop(release);
    }

    #[test]
    fn text_round_trips_and_is_safe_to_paste() {
        for s in [
            "plain",
            "it's",
            r"C:\dir\file",
            "100% \"quoted\" `tick`",
            "line\nbreak\ttab",
            "ünïcödé ✓",
            "%27 stays literal",
            "",
        ] {
            let encoded = encode_text(s, 1024);
            assert!(
                !encoded.contains(['\'', '\\', '\n', '\t']),
                "{s:?} -> {encoded:?}"
            );
            assert_eq!(decode_text(&encoded), s);
        }
        assert_eq!(decode_text("50%"), "50%");
        assert_eq!(decode_text("%zz%4"), "%zz%4");
    }

    #[test]
    fn encoding_cuts_at_whole_characters_and_escapes() {
        assert_eq!(encode_text("abcdef", 4), "abcd");
        assert_eq!(encode_text("ab'c", 4), "ab");
        assert_eq!(encode_text("aé", 2), "a");
        assert_eq!(encode_text(&"x".repeat(10_000), MAX_NAME).len(), MAX_NAME);
    }

    #[test]
    fn batches_stay_within_the_budget_and_keep_every_row() {
        let mut file = MirrorFile {
            path: "src/it's here/lib.rs".into(),
            language: "rust".into(),
            ..MirrorFile::default()
        };
        for i in 0..300u32 {
            file.entities.push(MirrorEntity {
                id: format!("{i:016x}"),
                kind: "function".into(),
                name: format!("f{i}"),
                qualified: format!("module::with::a::long::path::f{i}"),
                line: i,
                container: None,
            });
        }
        let plan = ReplacePlan::new(&[file], 7);
        let fixed = HashMap::from([
            ("project".to_string(), text(&"p".repeat(MAX_PROJECT))),
            ("gen".to_string(), ValueSend::Integer(i64::MAX)),
        ]);
        let out = batches(MERGE_ENTITIES, fixed, plan.entities.clone());
        assert!(out.len() > 5, "{} batches", out.len());
        let mut total = 0;
        for params in &out {
            let size = MERGE_ENTITIES.len()
                + params
                    .iter()
                    .map(|(k, v)| k.len() + 2 + literal_len(v))
                    .sum::<usize>();
            assert!(size <= QUERY_BUDGET, "{size} bytes");
            let Some(ValueSend::List(rows)) = params.get("rows") else {
                panic!("no rows");
            };
            total += rows.len();
        }
        assert_eq!(total, 300);
        assert!(batches(MERGE_ENTITIES, Params::new(), Vec::new()).is_empty());
    }

    #[test]
    fn the_worst_row_fits_a_statement() {
        let long = "'".repeat(10_000);
        let file = MirrorFile {
            path: long.clone(),
            language: long.clone(),
            entities: vec![MirrorEntity {
                id: long.clone(),
                kind: long.clone(),
                name: long.clone(),
                qualified: long.clone(),
                line: u32::MAX,
                container: Some(long.clone()),
            }],
            edges: Vec::new(),
        };
        let plan = ReplacePlan::new(&[file], i64::MAX);
        let fixed = HashMap::from([
            ("project".to_string(), text(&"p".repeat(MAX_PROJECT))),
            ("gen".to_string(), ValueSend::Integer(i64::MAX)),
        ]);
        let size = MERGE_ENTITIES.len()
            + batches(MERGE_ENTITIES, fixed, plan.entities)[0]
                .iter()
                .map(|(k, v)| k.len() + 2 + literal_len(v))
                .sum::<usize>();
        assert!(size <= QUERY_BUDGET, "{size} bytes");
    }

    #[test]
    fn edges_from_other_files_and_repeats_are_skipped() {
        let entity = |id: &str, container: Option<&str>| MirrorEntity {
            id: id.into(),
            kind: "function".into(),
            name: id.into(),
            qualified: id.into(),
            line: 0,
            container: container.map(str::to_string),
        };
        let edge = |from: &str, to: &str| MirrorEdge {
            from: from.into(),
            to: to.into(),
            kind: EdgeKind::Calls,
            how: "exact".into(),
        };
        let file = MirrorFile {
            path: "a.rs".into(),
            language: "rust".into(),
            entities: vec![
                entity("a", None),
                entity("m", Some("a")),
                entity("x", Some("zz")),
            ],
            edges: vec![
                edge("a", "b"),
                edge("a", "b"),
                edge("elsewhere", "a"),
                edge("m", "a"),
            ],
        };
        let plan = ReplacePlan::new(&[file], 1);
        assert_eq!(plan.skipped_edges, 2);
        assert_eq!(plan.edges[&EdgeKind::Calls].len(), 2);
        assert_eq!(plan.members.len(), 1, "m is in a");
        assert_eq!(
            plan.top_level.len(),
            2,
            "a, and x whose container is elsewhere"
        );
    }

    #[test]
    fn addresses_carry_no_credentials() {
        assert_eq!(
            redact("bolt://neo4j:secret@db.example:7687/x?policy=a"),
            "bolt://db.example:7687"
        );
        assert_eq!(redact("127.0.0.1:7687"), "127.0.0.1:7687");
    }

    #[test]
    fn generations_increase() {
        let a = next_generation();
        let b = next_generation();
        assert!(b > a);
    }
}
