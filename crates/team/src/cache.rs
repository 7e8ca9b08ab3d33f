//! Redis: a shared cache of query results, invalidated through pub/sub, and a shared
//! rate limit.
//!
//! Several developers' servers on one project share one Redis. The project has a
//! *version*, a counter in Redis; every cached answer is stored under the version it was
//! computed at, so a bump makes all older entries unreachable without deleting them (they
//! expire by their TTL). Keys, with `{p}` the hex xxh3 hash of the project (which may be a
//! URL with any characters):
//!
//! ```text
//! codecontext:{p}:version                      the version counter (no TTL)
//! codecontext:{p}:bumps                        pub/sub channel: each new version, in decimal
//! codecontext:{p}:v{version}:{kind}:{key-hash} a cached answer (JSON), with the caller's TTL
//! codecontext:{p}:rate:{name-hash}             a rate limit's sorted set of recent executions
//! ```
//!
//! A background task holds a dedicated subscriber connection and raises the local version
//! to every published one (never lowering it). When that connection drops it reconnects
//! with backoff (100 ms doubling to 2 s), subscribes again, then *reconciles*: if Redis's
//! version is below this server's (Redis restarted without persistence, or this server
//! bumped while Redis was unreachable), it bumps past both, so that a version number is
//! never handed out twice for different project states and every server hears about the
//! change; otherwise it adopts Redis's version. Until that is done the cache is *down*:
//! [`SharedCache::get`] misses, [`SharedCache::put`] drops, [`SharedCache::bump`] raises the
//! local version only and errs, and [`RateLimit::acquire`] counts in process.

use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a cache read, write or rate-limit check may take before it counts as a miss
/// (or a local decision): an answer computed locally is cheaper than waiting longer.
const FAST_TIMEOUT: Duration = Duration::from_millis(500);
/// How long connecting, subscribing or bumping may take.
const SLOW_TIMEOUT: Duration = Duration::from_secs(2);
/// The subscriber's reconnect backoff: the first delay, doubled up to the second.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// How often the idle subscriber connection is pinged, to notice a half-open connection.
const PING_EVERY: Duration = Duration::from_secs(10);

/// Bumps or reconciles the version. KEYS: version, channel. ARGV: this server's version,
/// `1` to always bump (`0`: only when Redis's version is below this server's). Returns the
/// version; a new one is published.
const BUMP_SCRIPT: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local known = tonumber(ARGV[1])
if ARGV[2] == '0' and current >= known then
  return current
end
local next = math.max(current, known) + 1
redis.call('SET', KEYS[1], next)
redis.call('PUBLISH', KEYS[2], next)
return next
";

/// A sliding-window log: the sorted set holds one member per execution in the last
/// window, scored by Redis's clock in ms (one clock for every server). KEYS: the set.
/// ARGV: max, window in ms, a unique member. Returns 0 when admitted (and recorded), else
/// the ms until the oldest execution leaves the window.
const RATE_SCRIPT: &str = r"
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < max then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #oldest == 0 then
  return window
end
return math.max(1, tonumber(oldest[2]) + window - now)
";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    /// A bump while Redis is unreachable: this server's version moved, the others' did not
    /// (they will once Redis is back).
    #[error("Redis is unreachable: the version changed on this server only")]
    Unavailable,
}

/// A rate limit said no: try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("rate limited: retry after {retry_after:?}")]
pub struct Limited {
    pub retry_after: Duration,
}

/// Stable hex hash of a name, for keys (Redis keys are binary-safe, but a project URL or
/// a query key can be long and contain `:`).
fn hash_hex(text: &str) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(text.as_bytes()))
}

/// The key layout of one project (see the module documentation).
#[derive(Debug, Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn new(project: &str) -> Keys {
        Keys {
            prefix: format!("codecontext:{}", hash_hex(project)),
        }
    }

    fn version(&self) -> String {
        format!("{}:version", self.prefix)
    }

    fn channel(&self) -> String {
        format!("{}:bumps", self.prefix)
    }

    fn entry(&self, version: u64, kind: &str, key: &str) -> String {
        format!("{}:v{version}:{kind}:{}", self.prefix, hash_hex(key))
    }

    fn rate(&self, name: &str) -> String {
        format!("{}:rate:{}", self.prefix, hash_hex(name))
    }
}

/// What the subscriber task and the handles share.
struct State {
    keys: Keys,
    conn: ConnectionManager,
    /// The version as this server knows it; receivers are told of every raise.
    version: watch::Sender<u64>,
    /// The subscription is live and the version reconciled since it (re)connected.
    up: AtomicBool,
    /// A bump made while Redis was unreachable, to publish once it is back.
    pending: AtomicBool,
    /// This outage has been logged (cleared when Redis is back).
    outage_logged: AtomicBool,
}

impl State {
    fn current(&self) -> u64 {
        *self.version.borrow()
    }

    /// Raises the version to `to` if that is higher; true if it was.
    fn raise(&self, to: u64) -> bool {
        self.version.send_if_modified(|v| {
            if to > *v {
                *v = to;
                true
            } else {
                false
            }
        })
    }

    fn note_outage(&self, what: &dyn Display) {
        if !self.outage_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "shared cache: Redis unreachable ({what}); cache misses and local limits until it is back"
            );
        } else {
            tracing::debug!("shared cache: Redis still unreachable ({what})");
        }
    }

    fn note_back(&self) {
        if self.outage_logged.swap(false, Ordering::Relaxed) {
            tracing::info!(
                version = self.current(),
                "shared cache: Redis is back, version reconciled"
            );
        }
    }

    /// Runs the bump script (see [`BUMP_SCRIPT`]) and raises the local version to its
    /// answer.
    async fn run_bump(&self, always: bool) -> Result<u64, CacheError> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(BUMP_SCRIPT)
            .arg(2)
            .arg(self.keys.version())
            .arg(self.keys.channel())
            .arg(self.current())
            .arg(if always { "1" } else { "0" });
        let version: u64 = query(&self.conn, &cmd, SLOW_TIMEOUT).await?;
        if always {
            // Past every version this server had, a local-only bump included.
            self.pending.store(false, Ordering::Release);
        }
        self.raise(version);
        Ok(version)
    }

    /// A version published on the channel.
    async fn received(&self, version: u64) {
        if self.raise(version) || version == self.current() {
            return;
        }
        // Lower than ours: either an older bump overtaken by our own (Redis is then at
        // least at ours and nothing happens), or Redis lost count (a bump from a server
        // that started after a restart): then bump past everyone.
        if let Err(e) = self.run_bump(false).await {
            tracing::debug!("shared cache: reconciling after version {version}: {e}");
        }
    }
}

/// One command with a deadline. A connection the manager found dropped is retried once
/// (the manager reconnects in between), so the first command after Redis restarted does
/// not fail for nothing.
async fn query<T: redis::FromRedisValue>(
    conn: &ConnectionManager,
    cmd: &redis::Cmd,
    deadline: Duration,
) -> Result<T, CacheError> {
    let attempt = async {
        let mut conn = conn.clone();
        match cmd.query_async(&mut conn).await {
            Err(e) if e.is_unrecoverable_error() || e.is_connection_dropped() => {
                cmd.query_async(&mut conn).await
            }
            other => other,
        }
    };
    match tokio::time::timeout(deadline, attempt).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(CacheError::Timeout(deadline)),
    }
}

/// Subscribes on a new connection, then reconciles the version (publishing a bump made
/// while disconnected). Subscribing first means no bump falls between the two.
async fn attach(
    client: &redis::Client,
    state: &State,
) -> Result<(PubSubSink, PubSubStream), CacheError> {
    let subscribe = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(state.keys.channel()).await?;
        Ok::<_, redis::RedisError>(pubsub.split())
    };
    let pubsub = match tokio::time::timeout(SLOW_TIMEOUT, subscribe).await {
        Ok(result) => result?,
        Err(_) => return Err(CacheError::Timeout(SLOW_TIMEOUT)),
    };
    let always = state.pending.swap(false, Ordering::AcqRel);
    if let Err(e) = state.run_bump(always).await {
        if always {
            state.pending.store(true, Ordering::Release);
        }
        return Err(e);
    }
    Ok(pubsub)
}

/// The subscriber task: follows the channel while connected, reconnects with backoff.
async fn follow(client: redis::Client, state: Arc<State>, first: (PubSubSink, PubSubStream)) {
    let mut live = Some(first);
    let mut backoff = BACKOFF.0;
    loop {
        if let Some((mut sink, mut messages)) = live.take() {
            backoff = BACKOFF.0;
            let mut ping = tokio::time::interval(PING_EVERY);
            ping.tick().await;
            let lost = loop {
                tokio::select! {
                    message = messages.next() => match message {
                        Some(message) => match message.get_payload::<u64>() {
                            Ok(version) => state.received(version).await,
                            Err(e) => tracing::debug!("shared cache: bad version message: {e}"),
                        },
                        None => break "subscription closed".to_string(),
                    },
                    _ = ping.tick() => {
                        match tokio::time::timeout(SLOW_TIMEOUT, sink.ping::<redis::Value>()).await {
                            Ok(Ok(_)) => {}
                            Ok(Err(e)) => break e.to_string(),
                            Err(_) => break "ping unanswered".to_string(),
                        }
                    }
                }
            };
            state.up.store(false, Ordering::Release);
            state.note_outage(&lost);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
        match attach(&client, &state).await {
            Ok(pubsub) => {
                state.up.store(true, Ordering::Release);
                state.note_back();
                live = Some(pubsub);
            }
            Err(e) => state.note_outage(&e),
        }
    }
}

struct Inner {
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A project's shared cache in Redis, with its version. Cheap to clone; the subscriber
/// task stops when the last clone is dropped. Needs a tokio runtime.
#[derive(Clone)]
pub struct SharedCache {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCache")
            .field("prefix", &self.state().keys.prefix)
            .field("version", &self.version())
            .field("up", &self.is_up())
            .finish()
    }
}

impl SharedCache {
    /// Connects (commands go through a reconnecting [`ConnectionManager`]), subscribes to
    /// the project's channel and reads its version. Fails if Redis cannot be reached now;
    /// later outages are survived.
    pub async fn connect(url: &str, project: &str) -> Result<SharedCache, CacheError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_secs(1))
            .set_response_timeout(Duration::from_secs(1))
            .set_number_of_retries(1)
            .set_max_delay(BACKOFF.1.as_millis() as u64);
        let conn = match tokio::time::timeout(
            SLOW_TIMEOUT,
            ConnectionManager::new_with_config(client.clone(), config),
        )
        .await
        {
            Ok(conn) => conn?,
            Err(_) => return Err(CacheError::Timeout(SLOW_TIMEOUT)),
        };
        let state = Arc::new(State {
            keys: Keys::new(project),
            conn,
            version: watch::Sender::new(0),
            up: AtomicBool::new(false),
            pending: AtomicBool::new(false),
            outage_logged: AtomicBool::new(false),
        });
        let pubsub = attach(&client, &state).await?;
        state.up.store(true, Ordering::Release);
        let task = tokio::spawn(follow(client, state.clone(), pubsub));
        Ok(SharedCache {
            inner: Arc::new(Inner { state, task }),
        })
    }

    fn state(&self) -> &State {
        &self.inner.state
    }

    /// The project's current version as this server knows it.
    pub fn version(&self) -> u64 {
        self.state().current()
    }

    /// Whether Redis is reachable: the subscription is live and the version reconciled.
    pub fn is_up(&self) -> bool {
        self.state().up.load(Ordering::Acquire)
    }

    /// The cached answer for (`kind`, `key`) at the current version. `None` on a miss, on
    /// an entry that is not JSON, and while Redis is unreachable: never an error.
    pub async fn get(&self, kind: &str, key: &str) -> Option<serde_json::Value> {
        let state = self.state();
        if !self.is_up() {
            return None;
        }
        let cmd = redis::Cmd::get(state.keys.entry(state.current(), kind, key));
        match query::<Option<Vec<u8>>>(&state.conn, &cmd, FAST_TIMEOUT).await {
            Ok(Some(bytes)) => match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(e) => {
                    tracing::debug!("shared cache: entry {kind} is not JSON: {e}");
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                state.note_outage(&e);
                None
            }
        }
    }

    /// Stores an answer at the current version for `ttl`. Dropped while Redis is
    /// unreachable. An answer computed from a state read before an `.await` should go
    /// through [`SharedCache::put_at`] with the version read then.
    pub async fn put(&self, kind: &str, key: &str, value: &serde_json::Value, ttl: Duration) {
        self.put_at(self.version(), kind, key, value, ttl).await;
    }

    /// Stores an answer computed at `version`. If the project has moved on since, the
    /// entry is written under the old version, which nobody reads: never a stale hit.
    pub async fn put_at(
        &self,
        version: u64,
        kind: &str,
        key: &str,
        value: &serde_json::Value,
        ttl: Duration,
    ) {
        let state = self.state();
        if !self.is_up() || version < state.current() {
            return;
        }
        let bytes = match serde_json::to_vec(value) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::debug!("shared cache: {kind} answer not serialisable: {e}");
                return;
            }
        };
        let mut cmd = redis::cmd("SET");
        cmd.arg(state.keys.entry(version, kind, key))
            .arg(bytes)
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64);
        if let Err(e) = query::<()>(&state.conn, &cmd, FAST_TIMEOUT).await {
            state.note_outage(&e);
        }
    }

    /// The project changed (this server indexed an edit): a new version, published to
    /// every server; returns it. While Redis is unreachable the local version still moves
    /// (so this server's own entries are not read again), the error says so, and the bump
    /// is published once Redis is back.
    pub async fn bump(&self, reason: &str) -> Result<u64, CacheError> {
        let state = self.state();
        let error = if self.is_up() {
            match state.run_bump(true).await {
                Ok(version) => {
                    tracing::debug!(version, reason, "shared cache: bumped");
                    return Ok(version);
                }
                Err(e) => {
                    state.note_outage(&e);
                    e
                }
            }
        } else {
            CacheError::Unavailable
        };
        state.version.send_modify(|v| *v += 1);
        state.pending.store(true, Ordering::Release);
        // The subscriber may have come back between the check and now: publish here then.
        if self.is_up() && state.pending.swap(false, Ordering::AcqRel) {
            match state.run_bump(true).await {
                Ok(version) => return Ok(version),
                Err(_) => state.pending.store(true, Ordering::Release),
            }
        }
        tracing::debug!(
            version = state.current(),
            reason,
            "shared cache: bumped locally only"
        );
        Err(error)
    }

    /// A receiver of the version: it changes each time any server (this one included)
    /// bumps it, or when it is reconciled after an outage. The server drops its
    /// in-process caches on each change. Values only rise; intermediate ones may be
    /// skipped (a `watch`, not a queue).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.state().version.subscribe()
    }
}

/// A sliding-window log of executions, kept in process.
#[derive(Debug, Default)]
struct LocalWindow {
    times: VecDeque<Instant>,
}

impl LocalWindow {
    fn acquire(&mut self, now: Instant, max: u32, window: Duration) -> Result<(), Limited> {
        while let Some(&oldest) = self.times.front() {
            if now.duration_since(oldest) >= window {
                self.times.pop_front();
            } else {
                break;
            }
        }
        if self.times.len() < max as usize {
            self.times.push_back(now);
            return Ok(());
        }
        let retry_after = match self.times.front() {
            Some(&oldest) => (oldest + window).saturating_duration_since(now),
            None => window,
        };
        Err(Limited {
            retry_after: retry_after.max(Duration::from_millis(1)),
        })
    }
}

/// At most `max` executions per sliding `window`, counted across every server on the
/// project: a sorted set in Redis updated by one Lua script, on Redis's clock (see
/// [`RATE_SCRIPT`]). While Redis is unreachable each server counts in process with the
/// same numbers, so the team as a whole may then run up to `max` per server.
#[derive(Debug)]
pub struct RateLimit {
    cache: SharedCache,
    key: String,
    max: u32,
    window: Duration,
    /// Unique per limiter: with `seq`, the member recorded for each execution.
    instance: String,
    seq: AtomicU64,
    local: Mutex<LocalWindow>,
    fallback_logged: AtomicBool,
}

impl RateLimit {
    /// A limit named `name` (per project; put a user or client in the name to limit
    /// each separately).
    pub fn new(cache: &SharedCache, name: &str, max: u32, window: Duration) -> RateLimit {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let instance = hash_hex(&format!("{}:{nanos}:{name}", std::process::id()));
        RateLimit {
            cache: cache.clone(),
            key: cache.state().keys.rate(name),
            max,
            window: window.max(Duration::from_millis(1)),
            instance: instance[..16].to_string(),
            seq: AtomicU64::new(0),
            local: Mutex::new(LocalWindow::default()),
            fallback_logged: AtomicBool::new(false),
        }
    }

    /// Takes one execution, or says when one will be free. Never fails for Redis being
    /// unreachable: it then decides in process (and logs that once per outage).
    pub async fn acquire(&self) -> Result<(), Limited> {
        if self.cache.is_up() {
            let seq = self.seq.fetch_add(1, Ordering::Relaxed);
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(RATE_SCRIPT)
                .arg(1)
                .arg(&self.key)
                .arg(self.max)
                .arg(self.window.as_millis() as u64)
                .arg(format!("{}:{seq}", self.instance));
            let state = self.cache.state();
            match query::<u64>(&state.conn, &cmd, FAST_TIMEOUT).await {
                Ok(wait_ms) => {
                    if self.fallback_logged.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limit: shared again through Redis");
                    }
                    return match wait_ms {
                        0 => Ok(()),
                        ms => Err(Limited {
                            retry_after: Duration::from_millis(ms).min(self.window),
                        }),
                    };
                }
                Err(e) => state.note_outage(&e),
            }
        }
        if !self.fallback_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                max = self.max,
                window_ms = self.window.as_millis() as u64,
                "rate limit: Redis unreachable, limiting in this process only"
            );
        }
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.acquire(Instant::now(), self.max, self.window)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hash_the_project_and_the_key_and_carry_the_version() {
        let keys = Keys::new("https://example.com/org/repo.git?x=1 2");
        let prefix = &keys.prefix;
        assert!(prefix.starts_with("codecontext:"));
        assert_eq!(prefix.len(), "codecontext:".len() + 32);
        assert!(prefix["codecontext:".len()..]
            .chars()
            .all(|c| c.is_ascii_hexdigit()));
        assert_eq!(keys.version(), format!("{prefix}:version"));
        assert_eq!(keys.channel(), format!("{prefix}:bumps"));
        let entry = keys.entry(7, "references", "src/a.rs:10:4");
        assert!(entry.starts_with(&format!("{prefix}:v7:references:")));
        assert_ne!(entry, keys.entry(8, "references", "src/a.rs:10:4"));
        assert_ne!(entry, keys.entry(7, "references", "src/a.rs:10:5"));
        // Stable across runs and machines: servers must agree on it.
        assert_eq!(Keys::new("p").prefix, Keys::new("p").prefix);
        assert_ne!(Keys::new("p").prefix, Keys::new("q").prefix);
        assert_eq!(
            hash_hex(""),
            format!("{:032x}", 0x99aa06d3014798d86001c324468d497f_u128)
        );
    }

    #[test]
    fn the_local_window_admits_max_then_says_when() {
        let mut window = LocalWindow::default();
        let start = Instant::now();
        let span = Duration::from_secs(10);
        for i in 0..3 {
            let at = start + Duration::from_secs(i);
            assert_eq!(window.acquire(at, 3, span), Ok(()));
        }
        let at = start + Duration::from_secs(4);
        assert_eq!(
            window.acquire(at, 3, span),
            Err(Limited {
                retry_after: Duration::from_secs(6)
            })
        );
        // The first execution leaves the window at 10 s.
        assert_eq!(window.acquire(start + span, 3, span), Ok(()));
        assert!(window.acquire(start + span, 3, span).is_err());
        assert!(LocalWindow::default().acquire(start, 0, span).is_err());
    }
}
