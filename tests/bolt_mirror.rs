//! The knowledge graph mirrored into a Bolt graph database against a real server
//! (`.ci/services`: FalkorDB): replacing files keeps other files' edges, walks answer at the
//! right depths, projects stay apart, and awkward text survives.

use std::time::Instant;

use codecontext_team::bolt::{
    EdgeKind, GraphMirror, MirrorDecision, MirrorEdge, MirrorEntity, MirrorFile, Reached, Walk,
};
use codecontext_tests::{service_url, unique_name};

/// One test at a time against the server. FalkorDB 4.16.3 crashed once in CI (SIGSEGV in
/// `RM_WrongArity`, reached from its Bolt module) while two of these tests wrote at once
/// and a third's connections closed; whether concurrency is the trigger is not known.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn mirror(url: &str, project: &str) -> GraphMirror {
    GraphMirror::connect(url, None, None, project)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

fn entity(
    id: &str,
    kind: &str,
    qualified: &str,
    line: u32,
    container: Option<&str>,
) -> MirrorEntity {
    MirrorEntity {
        id: id.into(),
        kind: kind.into(),
        name: qualified.rsplit("::").next().unwrap_or(qualified).into(),
        qualified: qualified.into(),
        line,
        container: container.map(str::to_string),
    }
}

fn edge(from: &str, to: &str, kind: EdgeKind) -> MirrorEdge {
    MirrorEdge {
        from: from.into(),
        to: to.into(),
        kind,
        how: "exact".into(),
    }
}

fn file(path: &str, entities: Vec<MirrorEntity>, edges: Vec<MirrorEdge>) -> MirrorFile {
    MirrorFile {
        path: path.into(),
        language: "rust".into(),
        entities,
        edges,
    }
}

// Ids: 16 hex digits, as the graph makes them.
const A: &str = "000000000000000a";
const B: &str = "000000000000000b";
const C: &str = "000000000000000c";
const BASE: &str = "00000000000000ba";
const SHAPE: &str = "0000000000000005";
const AREA: &str = "00000000000000ae";
const CONFIG: &str = "00000000000000cf";

/// a.rs: `app::a` calls `mid::b`, reads `core::CONFIG`, and `app::Shape` (with its method
/// `area`) inherits `core::Base`. b.rs: `mid::b` calls `core::c`, and itself. c.rs: `c`, `Base`, `CONFIG`.
fn three_files() -> Vec<MirrorFile> {
    vec![
        file(
            "src/a.rs",
            vec![
                entity(A, "function", "app::a", 0, None),
                entity(SHAPE, "class", "app::Shape", 4, None),
                entity(AREA, "method", "app::Shape::area", 5, Some(SHAPE)),
            ],
            vec![
                edge(A, B, EdgeKind::Calls),
                edge(A, CONFIG, EdgeKind::References),
                edge(SHAPE, BASE, EdgeKind::Inherits),
            ],
        ),
        file(
            "src/b.rs",
            vec![entity(B, "function", "mid::b", 2, None)],
            vec![edge(B, C, EdgeKind::Calls), edge(B, B, EdgeKind::Calls)],
        ),
        file(
            "src/c.rs",
            vec![
                entity(C, "function", "core::c", 0, None),
                entity(BASE, "class", "core::Base", 3, None),
                entity(CONFIG, "constant", "core::CONFIG", 9, None),
            ],
            vec![],
        ),
    ]
}

/// `qualified@depth`, in the walk's order.
fn names(reached: &[Reached]) -> Vec<String> {
    reached
        .iter()
        .map(|r| format!("{}@{}", r.qualified, r.depth))
        .collect()
}

async fn walk(m: &GraphMirror, id: &str, walk: Walk, depth: u32) -> Vec<String> {
    names(&m.walk(id, walk, depth, 100).await.unwrap())
}

#[tokio::test]
async fn walks_follow_calls_references_and_inheritance_to_their_depth() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let m = mirror(&url, &unique_name("bolt")).await;
    let stats = m.replace_files(three_files()).await.unwrap();
    assert_eq!((stats.files, stats.entities, stats.edges), (3, 7, 5));
    assert_eq!(m.counts().await.unwrap(), (7, 5));

    assert_eq!(walk(&m, C, Walk::Callers, 1).await, ["mid::b@1"]);
    assert_eq!(
        walk(&m, C, Walk::Callers, 2).await,
        ["mid::b@1", "app::a@2"]
    );
    assert_eq!(
        walk(&m, C, Walk::Callers, 3).await,
        ["mid::b@1", "app::a@2"]
    );
    assert_eq!(walk(&m, A, Walk::Callees, 1).await, ["mid::b@1"]);
    assert_eq!(
        walk(&m, A, Walk::Callees, 2).await,
        ["mid::b@1", "core::c@2"]
    );
    assert_eq!(
        walk(&m, A, Walk::Callees, 3).await,
        ["mid::b@1", "core::c@2"]
    );
    assert!(walk(&m, A, Walk::Callers, 3).await.is_empty());
    assert_eq!(
        walk(&m, B, Walk::Callers, 3).await,
        ["app::a@1"],
        "not itself"
    );
    assert_eq!(walk(&m, CONFIG, Walk::Impact, 3).await, ["app::a@1"]);
    assert_eq!(walk(&m, BASE, Walk::Impact, 3).await, ["app::Shape@1"]);
    assert_eq!(walk(&m, BASE, Walk::Callers, 3).await, Vec::<String>::new());
    assert!(walk(&m, C, Walk::Callers, 0).await.is_empty());
    assert_eq!(
        walk(&m, C, Walk::Callers, 99).await.len(),
        2,
        "depth is capped, not refused"
    );
    assert_eq!(
        m.walk(C, Walk::Callers, 3, 1).await.unwrap().len(),
        1,
        "limit"
    );
    assert!(walk(&m, "ffffffffffffffff", Walk::Impact, 3)
        .await
        .is_empty());

    // What a reached entity carries.
    let b = &m.walk(C, Walk::Callers, 1, 10).await.unwrap()[0];
    assert_eq!(
        (
            b.id.as_str(),
            b.name.as_str(),
            b.path.as_str(),
            b.line,
            b.kind.as_str()
        ),
        (B, "b", "src/b.rs", 2, "function")
    );

    // A shorter path wins: a -> c directly too.
    let mut files = three_files();
    files[0].edges.push(edge(A, C, EdgeKind::Calls));
    m.replace_files(vec![files.remove(0)]).await.unwrap();
    assert_eq!(
        walk(&m, C, Walk::Callers, 3).await,
        ["app::a@1", "mid::b@1"]
    );
    // Impact on c: its callers, and whoever references or inherits them.
    assert_eq!(walk(&m, C, Walk::Impact, 3).await, ["app::a@1", "mid::b@1"]);

    m.clear_project().await.unwrap();
    assert_eq!(m.counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn replacing_a_file_keeps_other_files_edges_into_it() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let m = mirror(&url, &unique_name("bolt")).await;
    m.replace_files(three_files()).await.unwrap();

    // c.rs again: `c` survives (moved down a line, renamed kind), `CONFIG` is gone, a new
    // `d` calls `Base`.
    const D: &str = "000000000000000d";
    let c_again = file(
        "src/c.rs",
        vec![
            entity(C, "method", "core::c", 1, None),
            entity(BASE, "class", "core::Base", 4, None),
            entity(D, "function", "core::d", 8, None),
        ],
        vec![edge(D, BASE, EdgeKind::Calls)],
    );
    m.replace_files(vec![c_again.clone()]).await.unwrap();
    // b -> c (from b.rs) and Shape -> Base (from a.rs) survive; a -> CONFIG went with CONFIG.
    assert_eq!(
        walk(&m, C, Walk::Callers, 2).await,
        ["mid::b@1", "app::a@2"]
    );
    assert_eq!(
        walk(&m, BASE, Walk::Impact, 1).await,
        ["app::Shape@1", "core::d@1"]
    );
    assert!(walk(&m, CONFIG, Walk::Impact, 3).await.is_empty());
    assert_eq!(walk(&m, A, Walk::Callees, 1).await, ["mid::b@1"]);
    let c = &m.walk(B, Walk::Callees, 1, 10).await.unwrap()[0];
    assert_eq!(
        (c.line, c.kind.as_str()),
        (1, "method"),
        "properties updated"
    );
    assert_eq!(m.counts().await.unwrap(), (7, 5));

    // The same content twice changes nothing.
    m.replace_files(vec![c_again]).await.unwrap();
    assert_eq!(m.counts().await.unwrap(), (7, 5));

    // b.rs changes its edge: b now calls d instead of c.
    m.replace_files(vec![file(
        "src/b.rs",
        vec![entity(B, "function", "mid::b", 2, None)],
        vec![edge(B, D, EdgeKind::Calls)],
    )])
    .await
    .unwrap();
    assert!(walk(&m, C, Walk::Callers, 3).await.is_empty());
    assert_eq!(
        walk(&m, D, Walk::Callers, 3).await,
        ["mid::b@1", "app::a@2"]
    );

    // An edge to a file not mirrored yet waits on a stub, which is not reported, then
    // lands when the file comes.
    const E: &str = "000000000000000e";
    m.replace_files(vec![file(
        "src/b.rs",
        vec![entity(B, "function", "mid::b", 2, None)],
        vec![edge(B, D, EdgeKind::Calls), edge(B, E, EdgeKind::Calls)],
    )])
    .await
    .unwrap();
    assert_eq!(walk(&m, B, Walk::Callees, 1).await, ["core::d@1"]);
    assert_eq!(m.counts().await.unwrap(), (7, 5));
    m.replace_files(vec![file(
        "src/e.rs",
        vec![entity(E, "function", "late::e", 0, None)],
        vec![],
    )])
    .await
    .unwrap();
    assert_eq!(
        walk(&m, B, Walk::Callees, 1).await,
        ["core::d@1", "late::e@1"]
    );
    assert_eq!(
        walk(&m, E, Walk::Callers, 2).await,
        ["mid::b@1", "app::a@2"]
    );

    // Removing a file removes its entities and the edges into them.
    m.remove_files(vec!["src/e.rs".into(), "src/c.rs".into()])
        .await
        .unwrap();
    assert!(walk(&m, B, Walk::Callees, 1).await.is_empty());
    assert!(walk(&m, BASE, Walk::Impact, 1).await.is_empty());
    assert_eq!(
        m.counts().await.unwrap(),
        (4, 1),
        "a, Shape, area, b; a -> b"
    );
    assert_eq!(walk(&m, B, Walk::Callers, 1).await, ["app::a@1"]);

    m.clear_project().await.unwrap();
    assert_eq!(m.counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn an_entity_moving_to_another_file_takes_its_edges_along() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let m = mirror(&url, &unique_name("bolt")).await;
    const X: &str = "00000000000000f1";
    const Y: &str = "00000000000000f2";
    const Z: &str = "00000000000000f3";
    m.replace_files(vec![
        file(
            "one.rs",
            vec![entity(X, "function", "x", 0, None)],
            vec![edge(X, Y, EdgeKind::Calls)],
        ),
        file("two.rs", vec![entity(Y, "function", "y", 0, None)], vec![]),
        file(
            "three.rs",
            vec![entity(Z, "function", "z", 0, None)],
            vec![edge(Z, X, EdgeKind::Calls)],
        ),
    ])
    .await
    .unwrap();
    // x moves to two.rs and now calls z; one.rs is not sent again yet.
    m.replace_files(vec![file(
        "two.rs",
        vec![
            entity(Y, "function", "y", 0, None),
            entity(X, "function", "x", 3, None),
        ],
        vec![edge(X, Z, EdgeKind::Calls)],
    )])
    .await
    .unwrap();
    assert_eq!(
        walk(&m, X, Walk::Callees, 1).await,
        ["z@1"],
        "one.rs's x -> y is gone"
    );
    assert_eq!(
        walk(&m, X, Walk::Callers, 1).await,
        ["z@1"],
        "three.rs's z -> x is kept"
    );
    // one.rs, now empty, does not take x with it.
    m.replace_files(vec![file("one.rs", vec![], vec![])])
        .await
        .unwrap();
    let x = &m.walk(Z, Walk::Callees, 1, 10).await.unwrap()[0];
    assert_eq!((x.path.as_str(), x.line), ("two.rs", 3));
    assert_eq!(m.counts().await.unwrap(), (3, 2));
    m.clear_project().await.unwrap();
}

fn decision(id: &str, text: &str, anchors: &[(&str, &str)]) -> MirrorDecision {
    MirrorDecision {
        id: id.into(),
        kind: "decision".into(),
        status: "current".into(),
        text: text.into(),
        anchors: anchors
            .iter()
            .map(|(e, s)| (e.to_string(), s.to_string()))
            .collect(),
    }
}

/// (id, status, anchor status) of the decisions about an entity.
async fn about(m: &GraphMirror, id: &str) -> Vec<(String, String, String)> {
    m.decisions_about(id)
        .await
        .unwrap()
        .into_iter()
        .map(|[id, _, status, _, anchor]| (id, status, anchor))
        .collect()
}

#[tokio::test]
async fn decisions_are_nodes_about_entities_and_outlive_their_files_replaces() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let m = mirror(&url, &unique_name("bolt")).await;
    m.replace_files(three_files()).await.unwrap();
    let cents = "`charge` takes cents; it's \\ final";
    let made = m
        .replace_decisions(vec![
            decision("adr:docs/adr/0001-cents.md", cents, &[(A, "current")]),
            decision("m-1", "b calls c", &[(A, "suspect"), (B, "current")]),
        ])
        .await
        .unwrap();
    assert_eq!(made, 3);
    assert_eq!(
        about(&m, A).await,
        [
            (
                "adr:docs/adr/0001-cents.md".into(),
                "current".into(),
                "current".into()
            ),
            ("m-1".into(), "current".into(), "suspect".into()),
        ]
    );
    assert_eq!(
        m.decisions_about(A).await.unwrap()[0][3],
        cents,
        "text round-trips"
    );
    // The file's replace keeps the edges into its entities.
    m.replace_files(vec![three_files().remove(0)])
        .await
        .unwrap();
    assert_eq!(about(&m, A).await.len(), 2);
    // Replacing the decisions: one gone, one re-anchored and superseded.
    let mut moved = decision("m-1", "b calls c", &[(B, "current")]);
    moved.status = "superseded".into();
    m.replace_decisions(vec![moved]).await.unwrap();
    assert!(about(&m, A).await.is_empty());
    assert_eq!(
        about(&m, B).await,
        [("m-1".into(), "superseded".into(), "current".into())]
    );
    // An anchor into a file not mirrored yet waits for it on a stub.
    const LATER: &str = "00000000000000ee";
    m.replace_decisions(vec![decision("m-2", "later", &[(LATER, "current")])])
        .await
        .unwrap();
    assert_eq!(about(&m, LATER).await.len(), 1);
    assert_eq!(m.counts().await.unwrap().0, 7, "stubs are not counted");
    m.clear_project().await.unwrap();
    assert!(about(&m, LATER).await.is_empty());
}

#[tokio::test]
async fn quotes_and_backslashes_round_trip() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    // The project name too: it is a parameter of every statement.
    let m = mirror(&url, &format!("{}/it's", unique_name("bolt"))).await;
    let odd = r#"it's a "quote" \ back\slash 100% `tick`"#;
    let path = r"src/it's\odd 100%.rs";
    let mut callee = entity(B, "function", "x::callee", 3, None);
    callee.name = odd.into();
    callee.qualified = format!("x::{odd}");
    m.replace_files(vec![
        file(path, vec![callee], vec![]),
        file(
            "src/caller.rs",
            vec![entity(A, "function", "x::caller", 0, None)],
            vec![MirrorEdge {
                how: "it's".into(),
                ..edge(A, B, EdgeKind::Calls)
            }],
        ),
    ])
    .await
    .unwrap();
    let reached = m.walk(A, Walk::Callees, 1, 10).await.unwrap();
    assert_eq!(reached.len(), 1);
    assert_eq!(reached[0].name, odd);
    assert_eq!(reached[0].qualified, format!("x::{odd}"));
    assert_eq!(reached[0].path, path);
    m.remove_files(vec![path.into()]).await.unwrap();
    assert_eq!(m.counts().await.unwrap(), (1, 0));
    m.clear_project().await.unwrap();
}

// Prints the time taken (shown with --nocapture), for the record.
#[allow(clippy::print_stderr)]
#[tokio::test]
async fn a_large_batch_mirrors_completely_and_projects_stay_apart() {
    let Some(url) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let m = mirror(&url, &unique_name("bolt")).await;
    let other = mirror(&url, &unique_name("bolt-other")).await;
    let id = |i: u32| format!("{i:016x}");

    // 300 entities in 10 files; 600 calls: each entity calls the next one and the one 7
    // further on, across files. The same ids in the other project.
    let (files_n, per_file, total) = (10u32, 30u32, 300u32);
    let files: Vec<MirrorFile> = (0..files_n)
        .map(|f| {
            let range = f * per_file..(f + 1) * per_file;
            file(
                &format!("src/module_{f}/generated_file_{f}.rs"),
                range
                    .clone()
                    .map(|i| {
                        entity(
                            &id(i),
                            "function",
                            &format!("module_{f}::some_long_function_name_{i}"),
                            i,
                            None,
                        )
                    })
                    .collect(),
                range
                    .flat_map(|i| {
                        [
                            edge(&id(i), &id((i + 1) % total), EdgeKind::Calls),
                            edge(&id(i), &id((i + 7) % total), EdgeKind::Calls),
                        ]
                    })
                    .collect(),
            )
        })
        .collect();
    let started = Instant::now();
    let stats = m.replace_files(files.clone()).await.unwrap();
    let first = started.elapsed();
    assert_eq!((stats.entities, stats.edges), (300, 600));
    assert!(stats.statements > 10, "{stats:?}: several UNWIND batches");
    assert_eq!(m.counts().await.unwrap(), (300, 600));

    let started = Instant::now();
    let again = m.replace_files(files.clone()).await.unwrap();
    let second = started.elapsed();
    assert_eq!(
        m.counts().await.unwrap(),
        (300, 600),
        "replacing is idempotent"
    );

    let started = Instant::now();
    let deep = m.walk(&id(0), Walk::Callees, 3, 1000).await.unwrap();
    let walked = started.elapsed();
    // Reached in 3 steps of +1 or +7: 1, 7; 2, 8, 14; 3, 9, 15, 21.
    let mut offsets: Vec<(u32, String)> = deep.iter().map(|r| (r.depth, r.id.clone())).collect();
    offsets.sort();
    let expected: Vec<(u32, String)> = [
        (1, 1),
        (1, 7),
        (2, 2),
        (2, 8),
        (2, 14),
        (3, 3),
        (3, 9),
        (3, 15),
        (3, 21),
    ]
    .into_iter()
    .map(|(d, i)| (d, id(i)))
    .collect();
    assert_eq!(offsets, expected);
    eprintln!(
        "bolt mirror: {} entities + {} edges in {} statements: {:.0?} (again: {:.0?}, {} statements); walk depth 3: {:.1?}",
        stats.entities, stats.edges, stats.statements, first, second, again.statements, walked
    );

    // The other project sees none of it, and has its own copy of the same ids.
    assert_eq!(other.counts().await.unwrap(), (0, 0));
    assert!(other
        .walk(&id(0), Walk::Callees, 3, 10)
        .await
        .unwrap()
        .is_empty());
    other.replace_files(files[..1].to_vec()).await.unwrap();
    assert_eq!(other.counts().await.unwrap(), (30, 60));
    assert_eq!(m.counts().await.unwrap(), (300, 600));

    m.clear_project().await.unwrap();
    assert_eq!(m.counts().await.unwrap(), (0, 0));
    assert_eq!(
        other.counts().await.unwrap(),
        (30, 60),
        "clear is per project"
    );
    other.clear_project().await.unwrap();
    assert_eq!(other.counts().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_credentials() {
    let Some(_) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    // A port nothing listens on.
    let error = GraphMirror::connect("bolt://127.0.0.1:9", Some("neo4j"), Some("s3cret"), "p")
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("127.0.0.1:9"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}
