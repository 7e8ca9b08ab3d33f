//! InfluxDB stopping and coming back (`.ci/services stop|start influxdb`): performance
//! points land in the embedded store first, wait there while InfluxDB is down, and reach
//! it once it returns, each once, also across a restart of the forwarder. Stopping the
//! shared server would disturb other tests, so the cases run in one test, one after the
//! other, and nothing else runs in this binary. With nothing persisted, the points wait
//! in memory instead.

use std::{sync::Arc, time::Duration};

use codecontext_store::{Health, Point, SeriesLog, SeriesQuery, SqliteStore, Store};
use codecontext_team::influx::{Forwarder, InfluxSeries};
use codecontext_tests::{copy_fixture, lsp::LspClient, service_url, unique_name, Stopped};
use serde_json::json;
use tokio::sync::mpsc;

fn point(n: i64, run: &str) -> Point {
    Point {
        at_ms: 1_700_000_000_000 + n,
        measurement: "test".into(),
        tags: vec![
            ("project".into(), run.into()),
            ("test".into(), format!("t{n}")),
        ],
        fields: vec![("duration_ms".into(), n as f64)],
    }
}

async fn in_influx(influx: &InfluxSeries, measurement: &str, project: &str) -> Vec<Point> {
    influx
        .points(SeriesQuery {
            measurement: measurement.into(),
            tags: vec![("project".into(), project.into())],
            limit: 1000,
        })
        .await
        .unwrap()
}

async fn next(events: &mut mpsc::UnboundedReceiver<Health>) -> Health {
    tokio::time::timeout(Duration::from_secs(60), events.recv())
        .await
        .expect("a health event within a minute")
        .expect("the forwarder is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn influx_stopping_and_returning_loses_nothing_and_duplicates_nothing() {
    let (Some(url), Some(db)) = (
        service_url("CODECONTEXT_TEST_INFLUX_URL"),
        service_url("CODECONTEXT_TEST_INFLUX_DB"),
    ) else {
        return;
    };
    points_written_while_influx_is_down_arrive_once_when_it_returns(&url, &db).await;
    a_server_keeps_its_index_timings_while_influx_is_down(&url, &db).await;
    with_nothing_persisted_the_timings_wait_in_memory(&url, &db).await;
}

async fn points_written_while_influx_is_down_arrive_once_when_it_returns(url: &str, db: &str) {
    let run = unique_name("influx-outage-");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let (local, _) = SqliteStore::open(&path, "v1").await.unwrap();
    let store: Arc<dyn Store> = Arc::new(local);
    let influx = Arc::new(InfluxSeries::new(url, db).unwrap());

    let mut stopped = Stopped::now("influxdb");
    let (health, mut events) = mpsc::unbounded_channel();
    let forwarder = Forwarder::start(store.clone(), influx.clone(), health);
    for n in 0..10 {
        store.write_points(vec![point(n, &run)]).await.unwrap();
        forwarder.nudge();
    }
    assert!(matches!(next(&mut events).await, Health::Down(_)));
    // Waiting for delivery while InfluxDB is down ends with the attempt it makes, not
    // with the limit.
    let waited = std::time::Instant::now();
    assert!(!forwarder.drain(Duration::from_secs(30)).await);
    assert!(
        waited.elapsed() < Duration::from_secs(5),
        "{:?}",
        waited.elapsed()
    );

    stopped.restart();
    // Retried after its pause (10 s at most), or at once for someone waiting.
    assert_eq!(next(&mut events).await, Health::Up);
    assert!(
        forwarder.drain(Duration::from_secs(30)).await,
        "every point reaches InfluxDB once it is back"
    );
    let back = in_influx(&influx, "test", &run).await;
    assert_eq!(back.len(), 10, "each point once: {back:?}");

    // The server stops; points written meanwhile go out with the next one, and only they
    // (the mark in the store says where the last delivery ended).
    forwarder.stop();
    drop(forwarder);
    for n in 10..15 {
        store.write_points(vec![point(n, &run)]).await.unwrap();
    }
    let local = store.embedded().unwrap();
    let name = influx.target();
    let before = local.forwarded(&name).await.unwrap();
    assert_eq!(
        local.points_after(before, 100).await.unwrap().len(),
        5,
        "only the new points are left to send"
    );
    let (health, _events) = mpsc::unbounded_channel();
    let forwarder = Forwarder::start(store.clone(), influx.clone(), health);
    assert!(forwarder.drain(Duration::from_secs(30)).await);
    assert_eq!(
        local.forwarded(&name).await.unwrap(),
        local.last_point().await.unwrap()
    );
    let mut back = in_influx(&influx, "test", &run).await;
    back.sort_by_key(|p| p.at_ms);
    let expected: Vec<Point> = (0..15).map(|n| point(n, &run)).collect();
    assert_eq!(back, expected);
    forwarder.stop();
}

/// A copy of the python fixture and the options of a server on it that sends its series
/// to InfluxDB.
struct Folder {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    project: String,
    home: tempfile::TempDir,
    options: serde_json::Value,
}

fn folder(url: &str, db: &str, persist: bool) -> Folder {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let project = codecontext_store::project_key(&root);
    let home = tempfile::tempdir().unwrap();
    let options = json!({ "initializationOptions": {
        "storeHome": home.path(),
        "persist": persist,
        "storage": { "influxUrl": url, "influxDb": db },
    }});
    Folder {
        _dir: dir,
        root,
        project,
        home,
        options,
    }
}

async fn a_server_keeps_its_index_timings_while_influx_is_down(url: &str, db: &str) {
    // Bound, not `..`: the folders must live to the end.
    let Folder {
        _dir,
        root,
        project,
        home: _home,
        options,
    } = folder(url, db, true);
    let influx = InfluxSeries::new(url, db).unwrap();

    let mut stopped = Stopped::now("influxdb");
    let mut a = LspClient::in_process();
    a.initialize(&[&root], options.clone()).await;
    a.indexed().await;
    let text = a.told("InfluxDB").await;
    assert!(text.contains("kept"), "{text}");
    assert!(a.shutdown_and_exit().await);

    // The next start, with InfluxDB back, sends the first run's timing with its own.
    stopped.restart();
    let mut b = LspClient::in_process();
    b.initialize(&[&root], options).await;
    b.indexed().await;
    // Shutting down waits (a few seconds at most) for the points to reach InfluxDB.
    assert!(b.shutdown_and_exit().await);
    let back = in_influx(&influx, "index", &project).await;
    assert_eq!(
        back.len(),
        2,
        "both runs' index timings, once each: {back:?}"
    );
    assert!(back
        .iter()
        .all(|p| p.field("files").is_some_and(|f| f > 0.0)));
}

/// `persist: false`: no store on disk, so the points wait in memory until InfluxDB is
/// back (here: before the server stops).
async fn with_nothing_persisted_the_timings_wait_in_memory(url: &str, db: &str) {
    let Folder {
        _dir,
        root,
        project,
        home,
        options,
    } = folder(url, db, false);
    let influx = InfluxSeries::new(url, db).unwrap();

    let mut stopped = Stopped::now("influxdb");
    let mut client = LspClient::in_process();
    client.initialize(&[&root], options).await;
    client.indexed().await;
    let text = client.told("InfluxDB").await;
    assert!(text.contains("in memory"), "{text}");
    stopped.restart();
    // Shutting down waits (a few seconds at most) for the points to reach InfluxDB.
    assert!(client.shutdown_and_exit().await);
    let back = in_influx(&influx, "index", &project).await;
    assert_eq!(back.len(), 1, "the index timing, once: {back:?}");
    assert!(
        std::fs::read_dir(home.path()).unwrap().next().is_none(),
        "nothing was written to disk"
    );
}
