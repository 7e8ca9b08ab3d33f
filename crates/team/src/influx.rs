//! InfluxDB 1.x as a [`SeriesLog`]: points written in line protocol over HTTP
//! (`/write`, millisecond precision), read back with InfluxQL (`/query`, epoch ms).
//!
//! A [`Forwarder`] feeds it from the embedded store, which is the durable queue: points
//! land there first and go to InfluxDB oldest first, from where the last delivery
//! stopped, when InfluxDB answers.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use codecontext_store::{BoxFuture, Health, Point, SeriesLog, SeriesQuery, Store, StoreError};
use tokio::sync::{mpsc, watch, Notify};
use tracing::{debug, warn};

pub struct InfluxSeries {
    client: reqwest::Client,
    base: String,
    db: String,
}

fn error(message: impl std::fmt::Display) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("InfluxDB: {message}")))
}

/// Escapes a measurement name (commas, spaces) or, with `equals`, a tag key or value.
fn escape(text: &str, equals: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == ',' || c == ' ' || (equals && c == '=') || c == '\\' {
            out.push('\\');
        }
        // Line protocol has no escape for a newline: it ends the point.
        out.push(if c == '\n' || c == '\r' { ' ' } else { c });
    }
    out
}

/// One point as a line: `measurement,tag=v field=1.5 <ms>`.
pub fn line(point: &Point) -> String {
    let mut out = escape(&point.measurement, false);
    let mut tags: Vec<&(String, String)> =
        point.tags.iter().filter(|(_, v)| !v.is_empty()).collect();
    tags.sort();
    for (k, v) in tags {
        out.push(',');
        out.push_str(&escape(k, true));
        out.push('=');
        out.push_str(&escape(v, true));
    }
    let fields: Vec<String> = point
        .fields
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| format!("{}={v:?}", escape(k, true)))
        .collect();
    out.push(' ');
    out.push_str(&fields.join(","));
    out.push(' ');
    out.push_str(&point.at_ms.to_string());
    out
}

/// An InfluxQL identifier or string literal.
fn quote(text: &str, mark: char) -> String {
    let mut out = String::from(mark);
    for c in text.chars() {
        if c == mark || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(mark);
    out
}

impl InfluxSeries {
    /// Where this writes, as a name that stays the same across runs (the server's address
    /// and database, hashed: the address may carry credentials).
    pub fn target(&self) -> String {
        let text = format!("{}\n{}", self.base, self.db);
        format!(
            "influx-{:016x}",
            xxhash_rust::xxh3::xxh3_64(text.as_bytes())
        )
    }

    pub fn new(url: &str, db: &str) -> Result<InfluxSeries, StoreError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(error)?;
        Ok(InfluxSeries {
            client,
            base: url.trim_end_matches('/').to_string(),
            db: db.to_string(),
        })
    }
}

impl SeriesLog for InfluxSeries {
    fn write_points(&self, points: Vec<Point>) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let body: Vec<String> = points
                .iter()
                .filter(|p| p.fields.iter().any(|(_, v)| v.is_finite()))
                .map(line)
                .collect();
            if body.is_empty() {
                return Ok(());
            }
            let response = self
                .client
                .post(format!("{}/write", self.base))
                .query(&[("db", self.db.as_str()), ("precision", "ms")])
                .body(body.join("\n"))
                .send()
                .await
                .map_err(error)?;
            if !response.status().is_success() {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                let message = format!("InfluxDB: /write answered {status}: {text}");
                // 4xx: these points are refused as they are, and would be every time.
                let kind = if status.is_client_error() {
                    std::io::ErrorKind::InvalidData
                } else {
                    std::io::ErrorKind::Other
                };
                return Err(StoreError::Io(std::io::Error::new(kind, message)));
            }
            Ok(())
        })
    }

    fn points(&self, query: SeriesQuery) -> BoxFuture<'_, Result<Vec<Point>, StoreError>> {
        Box::pin(async move {
            let conditions: Vec<String> = query
                .tags
                .iter()
                .map(|(k, v)| format!("{} = {}", quote(k, '"'), quote(v, '\'')))
                .collect();
            let filter = if conditions.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", conditions.join(" AND "))
            };
            let q = format!(
                "SELECT * FROM {}{filter} ORDER BY time DESC LIMIT {}",
                quote(&query.measurement, '"'),
                query.limit
            );
            let response = self
                .client
                .get(format!("{}/query", self.base))
                .query(&[("db", self.db.as_str()), ("epoch", "ms"), ("q", q.as_str())])
                .send()
                .await
                .map_err(error)?;
            let status = response.status();
            let answer: serde_json::Value = response.json().await.map_err(error)?;
            if !status.is_success() {
                return Err(error(format!("/query answered {status}: {answer}")));
            }
            if let Some(message) = answer["results"][0]["error"].as_str() {
                return Err(error(message));
            }
            let mut out = Vec::new();
            let Some(series) = answer["results"][0]["series"].as_array() else {
                return Ok(out);
            };
            for s in series {
                let columns: Vec<&str> = s["columns"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|c| c.as_str()).collect())
                    .unwrap_or_default();
                // Tags and fields share the columns: strings are tags, numbers fields.
                for row in s["values"].as_array().into_iter().flatten() {
                    let mut point = Point {
                        at_ms: 0,
                        measurement: query.measurement.clone(),
                        tags: Vec::new(),
                        fields: Vec::new(),
                    };
                    for (column, value) in columns.iter().zip(row.as_array().into_iter().flatten())
                    {
                        match (*column, value) {
                            ("time", v) => point.at_ms = v.as_i64().unwrap_or(0),
                            (_, serde_json::Value::Null) => {}
                            (c, serde_json::Value::String(v)) => {
                                point.tags.push((c.to_string(), v.clone()))
                            }
                            (c, v) => {
                                if let Some(v) = v.as_f64() {
                                    point.fields.push((c.to_string(), v));
                                }
                            }
                        }
                    }
                    point.tags.sort();
                    out.push(point);
                }
            }
            Ok(out)
        })
    }
}

/// Points sent per `/write`.
const FORWARD_BATCH: u32 = 5000;
/// The first wait after a failed delivery; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// Sends an embedded store's points to InfluxDB, oldest first, from the last point it
/// delivered (kept in the store, so a restart goes on where the last run stopped). A
/// point delivered twice, because the server died between InfluxDB's answer and the
/// mark, lands on itself: InfluxDB keeps one point per measurement, tag set and time.
pub struct Forwarder {
    store: Arc<dyn Store>,
    influx: Arc<InfluxSeries>,
    /// New points were written.
    wake: Notify,
    /// Someone waits: retry now rather than after the back-off.
    urgent: Notify,
    /// The number of the last point delivered.
    sent: watch::Sender<i64>,
    /// Deliveries tried so far, and the number of the last one that failed.
    attempts: AtomicU64,
    failed: watch::Sender<u64>,
    stopped: AtomicBool,
}

impl Forwarder {
    /// Starts forwarding `store`'s points (it must have an embedded store) to `influx`;
    /// each change of InfluxDB's health goes to `health`, once: `Down` when a delivery
    /// failed (the points wait in the store), `Up` when deliveries succeed again.
    pub fn start(
        store: Arc<dyn Store>,
        influx: Arc<InfluxSeries>,
        health: mpsc::UnboundedSender<Health>,
    ) -> Arc<Forwarder> {
        let forwarder = Arc::new(Forwarder {
            store,
            influx,
            wake: Notify::new(),
            urgent: Notify::new(),
            sent: watch::Sender::new(i64::MIN),
            attempts: AtomicU64::new(0),
            failed: watch::Sender::new(0),
            stopped: AtomicBool::new(false),
        });
        tokio::spawn(forwarder.clone().run(health));
        forwarder
    }

    /// New points are in the store.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Stops the forwarding task (what is not delivered stays in the store).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        self.urgent.notify_one();
    }

    /// Waits, at most `limit`, until every point in the store now has been delivered;
    /// whether it was. A delivery is tried at once; if that one fails (InfluxDB is
    /// down), this gives up then rather than waiting out `limit`.
    pub async fn drain(&self, limit: Duration) -> bool {
        let Some(local) = self.store.embedded() else {
            return false;
        };
        let Ok(target) = local.last_point().await else {
            return false;
        };
        // An attempt under way now may have started before the newest points: only a
        // later one's failure counts.
        let before = self.attempts.load(Ordering::SeqCst);
        let mut sent = self.sent.subscribe();
        let mut failed = self.failed.subscribe();
        self.wake.notify_one();
        self.urgent.notify_one();
        let outcome = async {
            tokio::select! {
                arrived = sent.wait_for(|&s| s >= target) => arrived.is_ok(),
                _ = failed.wait_for(|&a| a > before) => false,
            }
        };
        tokio::time::timeout(limit, outcome).await.unwrap_or(false)
    }

    async fn run(self: Arc<Self>, health: mpsc::UnboundedSender<Health>) {
        let Some(local) = self.store.embedded() else {
            return;
        };
        let name = self.influx.target();
        let mut down = false;
        let mut retry = RETRY_FIRST;
        while !self.stopped.load(Ordering::SeqCst) {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            let step = async {
                let mark = local.forwarded(&name).await?;
                self.sent.send_replace(mark);
                let batch = local.points_after(mark, FORWARD_BATCH).await?;
                let Some(&(last, _)) = batch.last() else {
                    return Ok(None);
                };
                let count = batch.len();
                match self
                    .influx
                    .write_points(batch.into_iter().map(|(_, p)| p).collect())
                    .await
                {
                    Ok(()) => {}
                    // Refused for what they are (a field's type changed, say): sending
                    // them again would block every later point behind them.
                    Err(StoreError::Io(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                        warn!("InfluxDB refused {count} points, which are skipped: {e}");
                    }
                    Err(e) => return Err(e),
                }
                local.set_forwarded(&name, last).await?;
                self.sent.send_replace(last);
                Ok::<_, StoreError>(Some(last))
            };
            match step.await {
                Ok(delivered) => {
                    if down {
                        down = false;
                        let _ = health.send(Health::Up);
                    }
                    retry = RETRY_FIRST;
                    if delivered.is_none() {
                        // Everything is out: wait for new points.
                        self.wake.notified().await;
                    }
                }
                Err(e) => {
                    self.failed.send_replace(attempt);
                    if !down {
                        down = true;
                        let _ = health.send(Health::Down(e.to_string()));
                    } else {
                        debug!("InfluxDB still refuses points: {e}");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(retry) => {}
                        _ = self.urgent.notified() => {}
                    }
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_escape_what_line_protocol_needs() {
        let point = Point {
            at_ms: 1_700_000_000_123,
            measurement: "test".into(),
            tags: vec![
                ("test".into(), "tests/a b.py::test_x[a=1,2]".into()),
                ("project".into(), "p".into()),
                ("empty".into(), String::new()),
            ],
            fields: vec![("duration_ms".into(), 1.5), ("nan".into(), f64::NAN)],
        };
        assert_eq!(
            line(&point),
            r"test,project=p,test=tests/a\ b.py::test_x[a\=1\,2] duration_ms=1.5 1700000000123"
        );
        assert_eq!(quote("it's", '\''), r"'it\'s'");
    }
}
