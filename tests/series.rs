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
