//! The server with the team's graph database (FalkorDB over Bolt, `.ci/services`) and
//! Redis: `codecontext/callers` answers callers, callees and impact through Cypher exactly
//! as the embedded graph does, caches them in Redis, and an edit reaches the graph
//! database before the next question, and another server of the project within a
//! second.

use std::path::Path;

use codecontext_tests::{copy_fixture, lsp::LspClient, service_url};
use serde_json::{json, Value};

const SYMBOLS: [&str; 4] = [
    "shop.util.clamp",
    "shop.services.pricing.total_price",
    "shop.services.pricing.Pricer.price",
    "main.main",
];

async fn start(root: &Path, options: Value) -> LspClient {
    let mut client = LspClient::in_process();
    client
        .initialize(&[root], json!({ "initializationOptions": options }))
        .await;
    client.indexed().await;
    client
}

/// The end of the work that writes the folder to the team's graph.
async fn team_written(client: &mut LspClient) -> Value {
    client
        .notification("$/progress", |p| {
            p["value"]["kind"] == "end"
                && p["token"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("codecontext/team/"))
        })
        .await
}

async fn walks(client: &mut LspClient) -> Vec<Value> {
    let mut out = Vec::new();
    for symbol in SYMBOLS {
        for direction in ["callers", "callees", "impact"] {
            let answer = client
                .request(
                    "codecontext/callers",
                    json!({ "symbol": symbol, "direction": direction, "depth": 3 }),
                )
                .await;
            out.push(answer);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_through_cypher_match_the_embedded_graph_and_are_cached() {
    let (Some(bolt), Some(redis)) = (
        service_url("CODECONTEXT_TEST_BOLT_URL"),
        service_url("CODECONTEXT_TEST_REDIS_URL"),
    ) else {
        return;
    };
    // A fresh copy: its root is the project, so no other run shares it.
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();

    let home = tempfile::tempdir().unwrap();
    let mut embedded = start(&root, json!({ "storeHome": home.path() })).await;
    let expected = walks(&mut embedded).await;
    assert!(embedded.shutdown_and_exit().await);
    assert!(expected.iter().all(|a| a["source"] == "embedded"));
    let clamp_callers = &expected[0]["items"];
    let names: Vec<&str> = clamp_callers
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["qualifiedName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"shop.services.pricing.total_price")
            && names.contains(&"shop.services.pricing.Pricer.price"),
        "callers of clamp to depth 3: {names:?}"
    );

    let home = tempfile::tempdir().unwrap();
    let team = json!({
        "storeHome": home.path(),
        "storage": { "boltUrl": bolt, "redisUrl": redis },
    });
    let mut client = start(&root, team).await;
    // Writing the whole folder is work under way that the client is shown.
    let written = team_written(&mut client).await;
    let message = written["value"]["message"].as_str().unwrap();
    assert!(message.contains("written to the team's graph"), "{message}");
    let through_cypher = walks(&mut client).await;
    for (got, want) in through_cypher.iter().zip(&expected) {
        assert_eq!(got["source"], "graphDatabase", "{got}");
        assert_eq!(got["cached"], false, "{got}");
        assert_eq!(
            got["items"], want["items"],
            "{} {}",
            want["symbol"]["qualifiedName"], want["direction"]
        );
    }
    // The same questions again come from Redis.
    let again = walks(&mut client).await;
    for (got, want) in again.iter().zip(&through_cypher) {
        assert_eq!(got["cached"], true, "{got}");
        assert_eq!(got["items"], want["items"]);
    }

    // Another developer's server on the same project, which has the answer cached.
    let other_home = tempfile::tempdir().unwrap();
    let mut other = start(
        &root,
        json!({
            "storeHome": other_home.path(),
            "storage": { "boltUrl": bolt, "redisUrl": redis },
        }),
    )
    .await;
    let ask = json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 1 });
    let before = other.request("codecontext/callers", ask.clone()).await;
    assert_eq!(before["source"], "graphDatabase");

    // A new caller of clamp, typed in the editor: the next answer has it, not the
    // cached one.
    client
        .type_into(&root.join("shop/util.py"), "python", |text| {
            format!("{text}\n\ndef clamp_twice(v):\n    return clamp(clamp(v, 0, 1), 0, 1)\n")
        })
        .await;
    let answer = client
        .request(
            "codecontext/callers",
            json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 1 }),
        )
        .await;
    assert_eq!(answer["source"], "graphDatabase");
    assert_eq!(answer["cached"], false, "{answer}");
    assert!(
        answer["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["qualifiedName"] == "shop.util.clamp_twice"),
        "{answer}"
    );

    // The other server drops its stale answer within a second and sees the caller (from
    // the cache again, once the first server has put the new answer there).
    let started = std::time::Instant::now();
    loop {
        let seen = other.request("codecontext/callers", ask.clone()).await;
        if seen["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["qualifiedName"] == "shop.util.clamp_twice")
        {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "still stale after a second: {seen}"
        );
    }
    assert!(other.shutdown_and_exit().await);

    // Questions that cannot be answered are errors that say why.
    let error = client
        .request_error(
            "codecontext/callers",
            json!({ "symbol": "shop.util.nothing_here" }),
        )
        .await;
    assert!(
        error["message"].as_str().unwrap().contains("no symbol"),
        "{error}"
    );
    assert!(client.shutdown_and_exit().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_through_postgres_tables_match_the_embedded_graph() {
    let Some(postgres) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut embedded = start(&root, json!({ "storeHome": home.path() })).await;
    let expected = walks(&mut embedded).await;
    assert!(embedded.shutdown_and_exit().await);

    // PostgreSQL alone: the graph's tables answer, with recursive SQL.
    let home = tempfile::tempdir().unwrap();
    let mut client = start(
        &root,
        json!({ "storeHome": home.path(), "storage": { "postgresUrl": postgres } }),
    )
    .await;
    for (got, want) in walks(&mut client).await.iter().zip(&expected) {
        assert_eq!(got["source"], "postgres", "{got}");
        assert_eq!(
            got["items"], want["items"],
            "{} {}",
            want["symbol"]["qualifiedName"], want["direction"]
        );
    }
    assert!(client.shutdown_and_exit().await);
}

/// A file deleted while no server ran: the next start's whole-folder update drops it from
/// the graph database and from PostgreSQL's tables, whose answers then match the
/// embedded graph's again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_deleted_between_sessions_leaves_the_shared_graph() {
    let (Some(bolt), Some(postgres)) = (
        service_url("CODECONTEXT_TEST_BOLT_URL"),
        service_url("CODECONTEXT_TEST_POSTGRES_URL"),
    ) else {
        return;
    };
    let ask = json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 2 });
    let deleted = "shop/services/pricing.py";
    for (storage, source) in [
        (json!({ "boltUrl": bolt }), "graphDatabase"),
        (json!({ "postgresUrl": postgres }), "postgres"),
    ] {
        let dir = copy_fixture("python");
        let root = dir.path().canonicalize().unwrap();
        let home = tempfile::tempdir().unwrap();
        let options = json!({ "storeHome": home.path(), "storage": storage });
        let paths = |answer: &Value| -> Vec<String> {
            answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["path"].as_str().unwrap().to_string())
                .collect()
        };

        let mut client = start(&root, options.clone()).await;
        let before = client.request("codecontext/callers", ask.clone()).await;
        assert_eq!(before["source"], source, "{before}");
        assert!(paths(&before).iter().any(|p| p == deleted), "{before}");
        assert!(client.shutdown_and_exit().await);

        std::fs::remove_file(root.join(deleted)).unwrap();
        let embedded_home = tempfile::tempdir().unwrap();
        let mut embedded = start(&root, json!({ "storeHome": embedded_home.path() })).await;
        let expected = embedded.request("codecontext/callers", ask.clone()).await;
        assert!(embedded.shutdown_and_exit().await);

        let mut client = start(&root, options).await;
        let after = client.request("codecontext/callers", ask.clone()).await;
        assert_eq!(after["source"], source, "{after}");
        assert!(!paths(&after).iter().any(|p| p == deleted), "{after}");
        assert_eq!(after["items"], expected["items"], "{source}");
        assert!(client.shutdown_and_exit().await);
    }
}

/// The decisions about an entity the graph database holds: (id, status, anchor status).
async fn decisions_in_graph(
    mirror: &codecontext_team::bolt::GraphMirror,
    entity: &str,
) -> Vec<(String, String, String)> {
    mirror
        .decisions_about(entity)
        .await
        .unwrap()
        .into_iter()
        .map(|[id, _, status, _, anchor]| (id, status, anchor))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_reach_the_graph_database_as_nodes_about_their_entities() {
    let Some(bolt) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut client = start(
        &root,
        json!({ "storeHome": home.path(), "storage": { "boltUrl": bolt } }),
    )
    .await;
    team_written(&mut client).await;
    let clamp = client
        .request(
            "codecontext/callers",
            json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 1 }),
        )
        .await;
    let entity = clamp["symbol"]["id"].as_str().unwrap().to_string();
    let mirror = codecontext_team::bolt::GraphMirror::connect(
        &bolt,
        None,
        None,
        &codecontext_store::project_key(&root),
    )
    .await
    .unwrap();

    let remembered = client
        .request(
            "codecontext/remember",
            json!({ "kind": "decision", "text": "clamp stays pure", "symbols": ["shop.util.clamp"] }),
        )
        .await;
    let id = remembered["id"].as_str().unwrap().to_string();
    // Written shortly after the answer, with the next update of the team's graph.
    let wait_for = |want: Vec<(String, String, String)>| {
        let mirror = &mirror;
        let entity = entity.clone();
        async move {
            let started = std::time::Instant::now();
            loop {
                let found = decisions_in_graph(mirror, &entity).await;
                if found == want {
                    return;
                }
                assert!(
                    started.elapsed() < std::time::Duration::from_secs(10),
                    "the graph database holds {found:?}, not {want:?}"
                );
                tokio::task::yield_now().await;
            }
        }
    };
    wait_for(vec![(id.clone(), "current".into(), "current".into())]).await;

    // Forgotten: the node says so.
    client
        .request(
            "codecontext/forget",
            json!({ "id": id, "reason": "no longer" }),
        )
        .await;
    wait_for(vec![(id.clone(), "forgotten".into(), "current".into())]).await;
    mirror.clear_project().await.unwrap();
    assert!(client.shutdown_and_exit().await);
}
