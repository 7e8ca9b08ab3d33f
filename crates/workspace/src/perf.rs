//! Performance history: index timings, verifications and per-test durations written as
//! time series to the folder's store, and from there to the team's InfluxDB when it is
//! configured (the store keeps them while InfluxDB is down); and
//! [`Workspace::perf_history`] (a symbol's verifications or a test's durations) to read
//! them back. Writes happen in the background: a slow or dead backend never delays an
//! answer.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use codecontext_assess::perf::TestTimes;
use codecontext_store::{BoxFuture, Point, SeriesLog, SeriesQuery, SqliteStore, Store, StoreError};
use codecontext_team::influx::{Forwarder, InfluxSeries};
use codecontext_verify::Verdict;
use serde_json::{json, Value};
use tracing::{debug, info, warn};

use crate::{Folder, Result, Workspace, WorkspaceError};

/// A folder's store as a series log.
struct StoreSeries(Arc<dyn Store>);

impl SeriesLog for StoreSeries {
    fn write_points(
        &self,
        points: Vec<Point>,
    ) -> BoxFuture<'_, std::result::Result<(), StoreError>> {
        self.0.write_points(points)
    }

    fn points(
        &self,
        query: SeriesQuery,
    ) -> BoxFuture<'_, std::result::Result<Vec<Point>, StoreError>> {
        self.0.points(query)
    }
}

/// A folder's series: writes go through one queue, in order, written by one task; a
/// reader first waits for what was queued before it.
pub(crate) struct SeriesSink {
    /// Where points are written: the folder's store (durable), else InfluxDB itself.
    log: Arc<dyn SeriesLog>,
    /// InfluxDB, when configured, and what feeds it from the store.
    influx: Option<Influx>,
    queue: tokio::sync::mpsc::UnboundedSender<Queued>,
}

struct Influx {
    series: Arc<InfluxSeries>,
    /// `None` when no store opens, not even one in memory: points then go straight to
    /// InfluxDB, and are lost while it is down.
    forwarder: Option<Arc<Forwarder>>,
}

enum Queued {
    Write(Vec<Point>),
    Flush(tokio::sync::oneshot::Sender<()>),
}

impl SeriesSink {
    fn new(log: Arc<dyn SeriesLog>, influx: Option<Influx>) -> SeriesSink {
        let (queue, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let writer = log.clone();
        let forwarder = influx.as_ref().and_then(|i| i.forwarder.clone());
        tokio::spawn(async move {
            while let Some(item) = rx.recv().await {
                match item {
                    Queued::Write(points) => match writer.write_points(points).await {
                        Ok(()) => {
                            if let Some(forwarder) = &forwarder {
                                forwarder.nudge();
                            }
                        }
                        Err(e) => warn!("performance points not written: {e}"),
                    },
                    Queued::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        SeriesSink { log, influx, queue }
    }

    /// Waits until everything queued so far is written.
    async fn flush(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.queue.send(Queued::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Waits, at most `limit`, until everything queued so far is written, and has reached
    /// InfluxDB if it is configured; whether it did.
    pub(crate) async fn settle(&self, limit: Duration) -> bool {
        let started = Instant::now();
        if tokio::time::timeout(limit, self.flush()).await.is_err() {
            return false;
        }
        match self.influx.as_ref().and_then(|i| i.forwarder.as_ref()) {
            Some(forwarder) => {
                forwarder
                    .drain(limit.saturating_sub(started.elapsed()))
                    .await
            }
            None => true,
        }
    }

    /// Points matching `query`: from InfluxDB when configured (every developer's), after
    /// a moment for this server's own to arrive; from the folder's store when InfluxDB
    /// fails and there is a store (this server's only).
    async fn points(&self, query: SeriesQuery) -> std::result::Result<Vec<Point>, StoreError> {
        self.flush().await;
        let Some(influx) = &self.influx else {
            return self.log.points(query).await;
        };
        let Some(forwarder) = &influx.forwarder else {
            return influx.series.points(query).await;
        };
        if !forwarder.drain(READ_WAIT).await {
            debug!("InfluxDB is behind; performance history from the folder's store");
            return self.log.points(query).await;
        }
        match influx.series.points(query.clone()).await {
            Ok(points) => Ok(points),
            Err(e) => {
                warn!("{e}; performance history from the folder's store");
                self.log.points(query).await
            }
        }
    }
}

impl Drop for SeriesSink {
    fn drop(&mut self) {
        if let Some(forwarder) = self.influx.as_ref().and_then(|i| i.forwarder.as_ref()) {
            forwarder.stop();
        }
    }
}

/// How long a question about performance history waits for points still on their way
/// to InfluxDB before it reads the folder's store instead.
const READ_WAIT: Duration = Duration::from_secs(2);

impl Workspace {
    /// Where a folder's series go: the folder's store, and from there to InfluxDB when it is
    /// configured (through a queue in memory when nothing is persisted).
    async fn series_for(&self, root: &Path) -> Option<Arc<SeriesSink>> {
        let folder = self.folder(root);
        if let Some(series) = folder.series.get() {
            return Some(series);
        }
        let config = self.storage_config(root).await;
        let mut store = self.open_store(root).await;
        // Nothing persisted: points bound for InfluxDB wait in memory while it is down.
        let mut in_memory = false;
        if store.is_none() && config.influx_url.is_some() {
            match SqliteStore::in_memory().await {
                Ok(memory) => {
                    store = Some(Arc::new(memory));
                    in_memory = true;
                }
                Err(e) => warn!("{e}; performance points go straight to InfluxDB"),
            }
        }
        let kept = if in_memory {
            "in memory (nothing is persisted)"
        } else {
            "in the folder's store"
        };
        let influx = match &config.influx_url {
            Some(url) => {
                let db = config
                    .influx_db
                    .as_ref()
                    .map_or("codecontext", |d| d.value.as_str());
                match InfluxSeries::new(&url.value, db) {
                    Ok(influx) => {
                        let influx = Arc::new(influx);
                        let forwarder =
                        store
                            .as_ref()
                            .filter(|s| s.embedded().is_some())
                            .map(|store| {
                                let (health, events) = tokio::sync::mpsc::unbounded_channel();
                                let shown = url.shown();
                                self.watch_backend(
                                    "influxdb",
                                    events,
                                    format!("InfluxDB at {shown} is back; sending the points kept meanwhile"),
                                    move |why| format!("codecontext: InfluxDB at {shown} is unavailable ({why}); performance points are kept {kept} and sent when it is back"),
                                );
                                Forwarder::start(store.clone(), influx.clone(), health)
                            });
                        info!(
                            "performance series go to {} ({db}){}",
                            url.shown(),
                            match (&forwarder, in_memory) {
                                (Some(_), false) => ", through the folder's store",
                                (Some(_), true) => ", through a queue in memory",
                                (None, _) => "",
                            }
                        );
                        Some(Influx {
                            series: influx,
                            forwarder,
                        })
                    }
                    Err(e) => {
                        warn!("{e}; performance series stay in the folder's store");
                        None
                    }
                }
            }
            None => None,
        };
        let log: Arc<dyn SeriesLog> = match (store, &influx) {
            (Some(store), _) => Arc::new(StoreSeries(store)),
            (None, Some(influx)) => influx.series.clone(),
            (None, None) => return None,
        };
        Some(folder.series.keep(Arc::new(SeriesSink::new(log, influx))))
    }

    /// Queues points; they are written in the background, in order.
    pub async fn record_points(&self, root: &Path, points: Vec<Point>) {
        if points.is_empty() {
            return;
        }
        if let Some(series) = self.series_for(root).await {
            let _ = series.queue.send(Queued::Write(points));
        }
    }
}

/// Waits, at most `limit` in all, for every folder's points to be written and delivered.
pub(crate) async fn settle(folders: &[Arc<Folder>], limit: Duration) {
    let sinks: Vec<Arc<SeriesSink>> = folders.iter().filter_map(|f| f.series.get()).collect();
    let started = Instant::now();
    for sink in sinks {
        if !sink.settle(limit.saturating_sub(started.elapsed())).await {
            debug!("performance points stay queued in the folder's store");
        }
    }
}

/// The points of a verification: one `verify` per symbol the edit changed (or one with
/// no symbol), and one `test` per test whose duration the runner reported.
pub fn verification_points(
    root: &Path,
    at_ms: i64,
    symbols: &[String],
    verdict: &Verdict,
) -> Vec<Point> {
    let project = codecontext_store::project_key(root);
    let status = serde_json::to_value(verdict.verdict)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let count = |outcome| {
        verdict
            .tests
            .iter()
            .filter(|t| t.outcome == outcome)
            .count() as f64
    };
    let fields = vec![
        ("wall_ms".to_string(), verdict.wall_ms as f64),
        ("cpu_ms".to_string(), verdict.cpu_ms as f64),
        (
            "peak_memory_bytes".to_string(),
            verdict.peak_memory_bytes as f64,
        ),
        (
            "passed".to_string(),
            count(codecontext_verify::TestOutcome::Passed),
        ),
        (
            "failed".to_string(),
            count(codecontext_verify::TestOutcome::Failed),
        ),
    ];
    let mut points = Vec::new();
    let symbols: Vec<Option<&String>> = if symbols.is_empty() {
        vec![None]
    } else {
        symbols.iter().map(Some).collect()
    };
    for symbol in symbols {
        let mut tags = vec![
            ("project".to_string(), project.clone()),
            ("verdict".to_string(), status.clone()),
        ];
        if let Some(symbol) = symbol {
            tags.push(("symbol".to_string(), symbol.clone()));
        }
        points.push(Point {
            at_ms,
            measurement: "verify".into(),
            tags,
            fields: fields.clone(),
        });
    }
    for test in &verdict.tests {
        let Some(ms) = test.duration_ms else {
            continue;
        };
        let mut tags = vec![
            ("project".to_string(), project.clone()),
            ("test".to_string(), test.name.clone()),
            (
                "outcome".to_string(),
                serde_json::to_value(test.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            ),
        ];
        // The file: where the runner located it, else the file a pytest node id names.
        let file = test
            .location
            .as_ref()
            .map(|at| at.file.clone())
            .or_else(|| {
                test.name
                    .split_once("::")
                    .map(|(file, _)| file)
                    .filter(|file| file.contains('.'))
                    .map(String::from)
            });
        if let Some(file) = file {
            tags.push(("file".to_string(), file));
        }
        points.push(Point {
            at_ms,
            measurement: "test".into(),
            tags,
            fields: vec![("duration_ms".to_string(), ms)],
        });
    }
    points
}

/// Whose performance history to read.
#[derive(Clone, Debug)]
pub enum PerfOf {
    /// The verifications of edits that changed a symbol (qualified name).
    Symbol(String),
    /// The durations of a test, as its runner names it.
    Test(String),
}

/// A point as JSON: `atMs`, `measurement`, `tags` and `fields` as objects.
pub fn point_json(p: Point) -> Value {
    json!({
        "atMs": p.at_ms,
        "measurement": p.measurement,
        "tags": p.tags.into_iter().map(|(k, v)| (k, Value::String(v)))
            .collect::<serde_json::Map<_, _>>(),
        "fields": p.fields.into_iter().map(|(k, v)| (k, json!(v)))
            .collect::<serde_json::Map<_, _>>(),
    })
}

/// At most this many points of one measurement are read back for an assessment or a
/// report.
const PROJECT_POINTS: u32 = 5000;

impl Workspace {
    /// The folder's points of `measurement` (`test`, `verify`), newest first, the newest
    /// [`PROJECT_POINTS`]; none when nothing is recorded or the store cannot be read.
    pub(crate) async fn project_points(&self, root: &Path, measurement: &str) -> Vec<Point> {
        let Some(series) = self.series_for(root).await else {
            return Vec::new();
        };
        let query = SeriesQuery {
            measurement: measurement.into(),
            tags: vec![("project".into(), codecontext_store::project_key(root))],
            limit: PROJECT_POINTS,
        };
        series.points(query).await.unwrap_or_else(|e| {
            warn!("the recorded {measurement} points cannot be read: {e}");
            Vec::new()
        })
    }

    /// The durations of the folder's tests in the runs recorded so far.
    pub async fn test_times(&self, root: &Path) -> TestTimes {
        let mut times = TestTimes::default();
        for p in self.project_points(root, "test").await {
            if let (Some(test), Some(ms)) = (p.tag("test"), p.field("duration_ms")) {
                times
                    .durations
                    .entry(test.to_string())
                    .or_default()
                    .push(ms);
            }
        }
        times
    }

    /// A symbol's verifications or a test's durations, newest first, at most `limit`
    /// (1 to 1000), from every folder.
    pub async fn perf_history(&self, of: PerfOf, limit: u32) -> Result<Vec<Point>> {
        let (measurement, tag) = match of {
            PerfOf::Symbol(symbol) => ("verify", ("symbol".to_string(), symbol)),
            PerfOf::Test(test) => ("test", ("test".to_string(), test)),
        };
        let limit = limit.clamp(1, 1000);
        let mut points = Vec::new();
        for root in self.roots() {
            let Some(series) = self.series_for(&root).await else {
                continue;
            };
            let project = ("project".to_string(), codecontext_store::project_key(&root));
            let found = series
                .points(SeriesQuery {
                    measurement: measurement.into(),
                    tags: vec![tag.clone(), project],
                    limit,
                })
                .await
                .map_err(|e| WorkspaceError::internal(format!("codecontext.perfHistory: {e}")))?;
            points.extend(found);
        }
        points.sort_by_key(|p| std::cmp::Reverse(p.at_ms));
        points.truncate(limit as usize);
        Ok(points)
    }
}
