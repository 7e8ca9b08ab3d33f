//! Performance series through InfluxDB (`.ci/services`) and PostgreSQL, read back by tag
//! as the embedded store does.

use codecontext_store::{PgStore, Point, SeriesLog, SeriesQuery};
use codecontext_team::influx::InfluxSeries;
use codecontext_tests::{service_url, unique_name};

fn point(at_ms: i64, test: &str, ms: f64) -> Point {
    Point {
        at_ms,
        measurement: "test".into(),
        tags: vec![
            ("file".into(), "tests/test_calc.py".into()),
            ("project".into(), "p".into()),
            ("test".into(), test.into()),
        ],
        fields: vec![("duration_ms".into(), ms)],
    }
}

async fn round_trip(log: &dyn SeriesLog, tag: &str) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let name = format!("tests/test_calc.py::test_{tag}");
    let other = format!("{name}_other");
    log.write_points(vec![
        point(now - 2000, &name, 1.5),
        point(now - 1000, &other, 9.0),
        point(now, &name, 0.25),
    ])
    .await
    .unwrap();
    let back = log
        .points(SeriesQuery {
            measurement: "test".into(),
            tags: vec![
                ("test".into(), name.clone()),
                ("project".into(), "p".into()),
            ],
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        back,
        [point(now, &name, 0.25), point(now - 2000, &name, 1.5)]
    );
}

fn unique() -> String {
    unique_name("")
}

#[tokio::test]
async fn influx_keeps_points_and_finds_them_by_tag() {
    let (Some(url), Some(db)) = (
        service_url("CODECONTEXT_TEST_INFLUX_URL"),
        service_url("CODECONTEXT_TEST_INFLUX_DB"),
    ) else {
        return;
    };
    let influx = InfluxSeries::new(&url, &db).unwrap();
    round_trip(&influx, &unique()).await;
}

#[tokio::test]
async fn postgres_keeps_points_per_project() {
    let Some(url) = service_url("CODECONTEXT_TEST_POSTGRES_URL") else {
        return;
    };
    let (store, _) = PgStore::open(&url, &format!("test://series/{}", unique()), "v1")
        .await
        .unwrap();
    round_trip(&store, &unique()).await;
}

#[tokio::test]
async fn a_dead_influx_is_an_error_not_a_hang() {
    let influx = InfluxSeries::new("http://127.0.0.1:1", "x").unwrap();
    let err = influx
        .write_points(vec![point(1, "t", 1.0)])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("InfluxDB"), "{err}");
}

/// An InfluxDB that refuses the points themselves (HTTP 400, as for a field whose type
/// changed): the forwarder logs and skips them instead of retrying them forever, which
/// would hold back every later point.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_influx_refuses_are_skipped_not_retried_forever() {
    use std::io::{Read, Write};
    use std::sync::Arc;

    use codecontext_store::{SqliteStore, Store};
    use codecontext_team::influx::Forwarder;

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 65536];
            let _ = stream.read(&mut buf);
            let body = r#"{"error":"partial write: field type conflict"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (local, _) = SqliteStore::open(&dir.path().join("store.db"), "v1")
        .await
        .unwrap();
    let store: Arc<dyn Store> = Arc::new(local);
    store
        .write_points(vec![point(1, "t", 1.0), point(2, "t", 2.0)])
        .await
        .unwrap();
    let influx = Arc::new(InfluxSeries::new(&format!("http://127.0.0.1:{port}"), "x").unwrap());
    let (health, _events) = tokio::sync::mpsc::unbounded_channel();
    let forwarder = Forwarder::start(store.clone(), influx.clone(), health);
    assert!(forwarder.drain(std::time::Duration::from_secs(10)).await);
    let local = store.embedded().unwrap();
    assert_eq!(
        local.forwarded(&influx.target()).await.unwrap(),
        local.last_point().await.unwrap()
    );
    forwarder.stop();
}
