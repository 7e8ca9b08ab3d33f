//! Health checks of the configured backends: each is reached as the server would reach
//! it, asked the cheapest real question, and timed. What is shown never holds a secret.

use std::time::{Duration, Instant};

use codecontext_config::{Setting, StorageConfig};

/// How a backend is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Ok,
    /// Configured but unreachable or refusing: why.
    Down(String),
    NotConfigured,
}

/// One backend's check.
#[derive(Clone, Debug)]
pub struct Check {
    /// `postgres`, `bolt`, `redis`, `influx`.
    pub backend: &'static str,
    /// Where, redacted, and from which layer.
    pub target: String,
    pub state: State,
    /// The round trip of the question, when it was answered.
    pub latency: Option<Duration>,
    /// What the server said about itself (its version).
    pub detail: Option<String>,
}

/// Why a backend's check failed. The message is what `codecontext doctor` shows (a
/// client's error is shown as the client words it); it never holds a secret.
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    /// PostgreSQL refused or failed.
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    /// Redis refused or failed (a bad URL included).
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    /// Redis answered `PING` with something other than `PONG`.
    #[error("PING answered {0:?}")]
    Pong(String),
    /// The HTTP client failed (InfluxDB).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// InfluxDB's `/ping` answered with a failing status.
    #[error("/ping answered {0}")]
    PingStatus(reqwest::StatusCode),
    /// The configured InfluxDB database is not on the server.
    #[error("database `{0}` does not exist")]
    NoDatabase(String),
    /// The Bolt URL does not parse.
    #[error(transparent)]
    BoltUrl(#[from] neo4j::driver::ConnectionConfigParseError),
    /// The Bolt graph database refused or failed.
    #[error(transparent)]
    Bolt(#[from] neo4j::Neo4jError),
    /// The blocking thread of the Bolt check stopped.
    #[error(transparent)]
    Worker(#[from] tokio::task::JoinError),
    /// Nothing came back within the time allowed.
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
}

/// Time allowed to each check.
const TIMEOUT: Duration = Duration::from_secs(5);

fn target(setting: &Setting) -> String {
    format!("{} (from {})", setting.shown(), setting.source)
}

async fn timed<T, E: Into<DoctorError>>(
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<(T, Duration), DoctorError> {
    let started = Instant::now();
    match tokio::time::timeout(TIMEOUT, future).await {
        Ok(Ok(value)) => Ok((value, started.elapsed())),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(DoctorError::Timeout(TIMEOUT)),
    }
}

fn check(
    backend: &'static str,
    setting: Option<&Setting>,
    result: Option<Result<(String, Duration), DoctorError>>,
) -> Check {
    let Some(setting) = setting else {
        return Check {
            backend,
            target: String::new(),
            state: State::NotConfigured,
            latency: None,
            detail: None,
        };
    };
    let (state, latency, detail) = match result {
        Some(Ok((detail, latency))) => (State::Ok, Some(latency), Some(detail)),
        Some(Err(why)) => (State::Down(why.to_string()), None, None),
        None => (State::NotConfigured, None, None),
    };
    Check {
        backend,
        target: target(setting),
        state,
        latency,
        detail,
    }
}

/// PostgreSQL: connect, `SELECT version()`.
pub async fn postgres(url: &str) -> Result<(String, Duration), DoctorError> {
    use sqlx::{Connection, PgConnection};
    let mut conn = timed(PgConnection::connect(url)).await?.0;
    let answer =
        timed(sqlx::query_scalar::<_, String>("SELECT version()").fetch_one(&mut conn)).await;
    let _ = conn.close().await;
    let (version, latency) = answer?;
    let short = version.split(" on ").next().unwrap_or(&version).to_string();
    Ok((short, latency))
}

/// Redis: `PING`, then the server's version from `INFO server`.
pub async fn redis(url: &str) -> Result<(String, Duration), DoctorError> {
    let client = redis::Client::open(url)?;
    let mut conn = timed(client.get_multiplexed_async_connection()).await?.0;
    let (pong, latency) = timed(redis::cmd("PING").query_async::<String>(&mut conn)).await?;
    if pong != "PONG" {
        return Err(DoctorError::Pong(pong));
    }
    let info: String = timed(redis::cmd("INFO").arg("server").query_async(&mut conn))
        .await
        .map(|(info, _)| info)
        .unwrap_or_default();
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .map(|v| format!("Redis {}", v.trim()))
        .unwrap_or_else(|| "Redis".into());
    Ok((version, latency))
}

/// InfluxDB 1.x: `GET /ping` (204, with the version in a header), and the database
/// exists.
pub async fn influx(url: &str, db: Option<&str>) -> Result<(String, Duration), DoctorError> {
    let client = reqwest::Client::builder().timeout(TIMEOUT).build()?;
    let base = url.trim_end_matches('/');
    let (response, latency) = timed(client.get(format!("{base}/ping")).send()).await?;
    if !response.status().is_success() {
        return Err(DoctorError::PingStatus(response.status()));
    }
    let version = response
        .headers()
        .get("X-Influxdb-Version")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!("InfluxDB {v}"))
        .unwrap_or_else(|| "InfluxDB".into());
    if let Some(db) = db {
        let query = format!("{base}/query?q=SHOW%20DATABASES");
        let (body, _) = timed(async { client.get(&query).send().await?.text().await }).await?;
        if !body.contains(&format!("[\"{db}\"]")) {
            return Err(DoctorError::NoDatabase(db.to_string()));
        }
    }
    Ok((version, latency))
}

/// A Bolt graph database (Neo4j 5, FalkorDB): `RETURN 1`, with basic auth when a user
/// and password are configured, else none (FalkorDB without a password). The driver
/// blocks: it runs on a blocking thread.
pub async fn bolt(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<(String, Duration), DoctorError> {
    use neo4j::driver::{auth::AuthToken, ConnectionConfig, Driver, DriverConfig, RoutingControl};
    let url = url.to_string();
    let auth = match (user, password) {
        (Some(user), Some(password)) => AuthToken::new_basic_auth(user, password),
        _ => AuthToken::new_none_auth(),
    };
    let job = tokio::task::spawn_blocking(move || {
        let connection = ConnectionConfig::try_from(url.as_str())?;
        let driver = Driver::new(
            connection,
            DriverConfig::new()
                .with_auth(std::sync::Arc::new(auth))
                .with_connection_timeout(TIMEOUT),
        );
        let started = Instant::now();
        let result = driver
            .execute_query("RETURN 1 AS x")
            .with_routing_control(RoutingControl::Read)
            .run()?;
        let latency = started.elapsed();
        let agent = result.summary.server_info.server_agent.to_string();
        let version = if agent.is_empty() {
            "Bolt".to_string()
        } else {
            agent
        };
        Ok::<_, DoctorError>((version, latency))
    });
    match tokio::time::timeout(TIMEOUT, job).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => Err(e.into()),
        Err(_) => Err(DoctorError::Timeout(TIMEOUT)),
    }
}

/// Checks every configured backend, concurrently.
pub async fn check_all(config: &StorageConfig) -> Vec<Check> {
    let value = |s: &Option<Setting>| s.as_ref().map(|s| s.value.clone());
    let pg = value(&config.postgres_url);
    let rd = value(&config.redis_url);
    let ix = value(&config.influx_url);
    let db = value(&config.influx_db);
    let bo = value(&config.bolt_url);
    let user = value(&config.bolt_user);
    let password = value(&config.bolt_password);
    let (pg, bo, rd, ix) = tokio::join!(
        async {
            match &pg {
                Some(url) => Some(postgres(url).await),
                None => None,
            }
        },
        async {
            match &bo {
                Some(url) => Some(bolt(url, user.as_deref(), password.as_deref()).await),
                None => None,
            }
        },
        async {
            match &rd {
                Some(url) => Some(redis(url).await),
                None => None,
            }
        },
        async {
            match &ix {
                Some(url) => Some(influx(url, db.as_deref()).await),
                None => None,
            }
        },
    );
    vec![
        check("postgres", config.postgres_url.as_ref(), pg),
        check("bolt", config.bolt_url.as_ref(), bo),
        check("redis", config.redis_url.as_ref(), rd),
        check("influx", config.influx_url.as_ref(), ix),
    ]
}
