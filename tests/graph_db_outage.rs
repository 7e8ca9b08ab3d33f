//! The graph database (FalkorDB, `.ci/services stop|start falkordb`) down when the server
//! starts, and dying mid-session: the server answers from the embedded graph meanwhile,
//! says so once, and when the graph database answers again it gets the whole folder,
//! with the edits made during the outage, after which its answers match the embedded
//! graph's again. FalkorDB keeps nothing across a restart (no persistence in CI), so
//! only a full mirror can make its answers right. Stopping the shared server would
//! disturb other tests: one test, alone in this binary.

use std::time::{Duration, Instant};

use codecontext_tests::{copy_fixture, lsp::LspClient, service_url, Stopped};
use serde_json::{json, Value};

const SYMBOLS: [&str; 3] = [
    "shop.util.clamp",
    "shop.services.pricing.total_price",
    "main.main",
];

async fn walks(client: &mut LspClient) -> Vec<Value> {
    let mut out = Vec::new();
    for symbol in SYMBOLS {
        for direction in ["callers", "callees", "impact"] {
            out.push(
                client
                    .request(
                        "codecontext/callers",
                        json!({ "symbol": symbol, "direction": direction, "depth": 3 }),
                    )
                    .await,
            );
        }
    }
    out
}

/// Asks until the answer comes from the graph database (it rejoins in the background,
/// retrying with a growing pause), for at most a minute and a half.
async fn until_from_graph_database(client: &mut LspClient) {
    let started = Instant::now();
    loop {
        let answer = client
            .request(
                "codecontext/callers",
                json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 1 }),
            )
            .await;
        if answer["source"] == "graphDatabase" {
            return;
        }
        assert_eq!(answer["source"], "embedded", "{answer}");
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "the graph database was not used again within 90 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn same_items(got: &[Value], want: &[Value]) {
    for (got, want) in got.iter().zip(want) {
        assert_eq!(got["source"], "graphDatabase", "{got}");
        assert_eq!(
            got["items"], want["items"],
            "{} {}",
            want["symbol"]["qualifiedName"], want["direction"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_database_joins_late_and_catches_up_after_an_outage() {
    let Some(bolt) = service_url("CODECONTEXT_TEST_BOLT_URL") else {
        return;
    };
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let options = json!({ "initializationOptions": {
        "storeHome": home.path(),
        "storage": { "boltUrl": bolt },
    }});

    // Down at start: said once, and answered from the embedded graph.
    let mut stopped = Stopped::now("falkordb");
    let mut client = LspClient::in_process();
    client.initialize(&[&root], options).await;
    client.indexed().await;
    let told = client.told("graph database").await;
    assert!(told.contains("until it answers"), "{told}");
    let embedded = walks(&mut client).await;
    assert!(embedded.iter().all(|a| a["source"] == "embedded"));

    // Back: the server finds it, mirrors the folder and answers through Cypher, the same.
    stopped.restart();
    until_from_graph_database(&mut client).await;
    same_items(&walks(&mut client).await, &embedded);

    // Dies mid-session; a caller is typed meanwhile. The answers keep coming, from the
    // embedded graph, with the new caller.
    let mut stopped = Stopped::now("falkordb");
    client
        .type_into(&root.join("shop/util.py"), "python", |text| {
            format!("{text}\n\ndef clamp_twice(v):\n    return clamp(clamp(v, 0, 1), 0, 1)\n")
        })
        .await;
    let during = walks(&mut client).await;
    assert!(during.iter().all(|a| a["source"] == "embedded"));
    let clamp_callers = during[0]["items"].as_array().unwrap();
    assert!(
        clamp_callers
            .iter()
            .any(|i| i["qualifiedName"] == "shop.util.clamp_twice"),
        "{clamp_callers:?}"
    );

    // Back, empty: the whole folder, edit included, is mirrored again.
    stopped.restart();
    until_from_graph_database(&mut client).await;
    same_items(&walks(&mut client).await, &during);
    assert!(client.shutdown_and_exit().await);
}
