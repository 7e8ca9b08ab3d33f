//! The shared cache through Redis outages (the library, then the server started while
//! Redis is down): Redis is stopped and started with
//! `.ci/services`, so this is its own test binary with a single test (test binaries run
//! one after another; tests inside one run in parallel and would see the outage).

use std::time::Duration;

use codecontext_team::cache::{CacheError, RateLimit, SharedCache};
use codecontext_tests::{copy_fixture, lsp::LspClient, service_url, unique_name, Stopped};
use serde_json::json;

const TTL: Duration = Duration::from_secs(60);

/// Waits until `done` holds, polling, for at most `deadline`.
async fn until(deadline: Duration, what: &str, done: impl Fn() -> bool) {
    let poll = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(deadline, poll)
        .await
        .unwrap_or_else(|_| panic!("not within {deadline:?}: {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outages_degrade_to_local_and_heal() {
    let (Some(redis), Some(postgres)) = (
        service_url("CODECONTEXT_TEST_REDIS_URL"),
        service_url("CODECONTEXT_TEST_POSTGRES_URL"),
    ) else {
        return;
    };
    an_outage_degrades_to_local_and_heals(&redis).await;
    a_server_started_while_redis_is_down_uses_it_once_it_answers(&redis, &postgres).await;
}

#[allow(clippy::print_stderr)]
async fn an_outage_degrades_to_local_and_heals(url: &str) {
    let project = unique_name("outage");
    let a = SharedCache::connect(url, &project).await.unwrap();
    let b = SharedCache::connect(url, &project).await.unwrap();
    a.put("hover", "x", &json!("cached"), TTL).await;
    assert!(b.get("hover", "x").await.is_some());
    let window = Duration::from_secs(60);
    let limit_a = RateLimit::new(&a, "verify", 2, window);
    let limit_b = RateLimit::new(&b, "verify", 2, window);
    assert_eq!(limit_b.acquire().await, Ok(()));
    assert_eq!(limit_b.acquire().await, Ok(()));
    assert!(limit_a.acquire().await.is_err(), "shared: b used both");
    let before = (a.version(), b.version());
    let mut a_changes = a.subscribe();
    let mut b_changes = b.subscribe();
    a_changes.borrow_and_update();
    b_changes.borrow_and_update();

    let stopped = Stopped::now("redis");

    // Down: misses, local limits, local bumps.
    assert_eq!(a.get("hover", "x").await, None);
    assert_eq!(limit_a.acquire().await, Ok(()), "a counts on its own now");
    assert_eq!(limit_a.acquire().await, Ok(()));
    assert!(limit_a.acquire().await.is_err(), "with the same numbers");
    until(Duration::from_secs(5), "a sees the outage", || !a.is_up()).await;
    assert!(matches!(
        a.bump("edit while down").await,
        Err(CacheError::Unavailable)
    ));
    assert_eq!(a.version(), before.0 + 1, "the local version moved anyway");
    a.put("hover", "y", &json!("dropped"), TTL).await;
    assert_eq!(a.get("hover", "y").await, None);

    drop(stopped);
    let started = std::time::Instant::now();
    until(Duration::from_secs(10), "both reconnect", || {
        a.is_up() && b.is_up()
    })
    .await;
    eprintln!(
        "shared cache: both servers up {:?} after Redis accepted connections again",
        started.elapsed()
    );
    // Redis restarted empty (no persistence): reconnecting, each server found Redis's
    // version below its own and bumped past it, so versions move on, never reused, and
    // every server hears that something changed (a's bump made while down among it).
    tokio::time::timeout(
        Duration::from_secs(5),
        b_changes.wait_for(|v| *v > before.1),
    )
    .await
    .expect("b's version moved on after the restart")
    .unwrap();
    assert!(a.version() > before.0 + 1);

    // And a bump from b reaches a again, well under a second.
    a_changes.borrow_and_update();
    let new = b.bump("edit after").await.unwrap();
    tokio::time::timeout(Duration::from_secs(1), a_changes.wait_for(|v| *v >= new))
        .await
        .expect("a hears b's bump again")
        .unwrap();
    assert_eq!(a.version(), new);
    assert_eq!(b.version(), new);

    // Shared again: entries and limits.
    a.put("hover", "x", &json!("again"), TTL).await;
    assert_eq!(b.get("hover", "x").await, Some(json!("again")));
    let limit_a = RateLimit::new(&a, "after", 1, window);
    let limit_b = RateLimit::new(&b, "after", 1, window);
    assert_eq!(limit_a.acquire().await, Ok(()));
    assert!(limit_b.acquire().await.is_err());
}

/// The server's cache of shared answers: Redis down at start is said once, and joins when
/// it answers (PostgreSQL's graph tables give the answers worth caching).
async fn a_server_started_while_redis_is_down_uses_it_once_it_answers(redis: &str, postgres: &str) {
    let dir = copy_fixture("python");
    let root = dir.path().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap();
    let options = json!({ "initializationOptions": {
        "storeHome": home.path(),
        "storage": { "redisUrl": redis, "postgresUrl": postgres },
    }});
    let stopped = Stopped::now("redis");
    let mut client = LspClient::in_process();
    client.initialize(&[&root], options).await;
    client.indexed().await;
    let told = client.told("Redis").await;
    assert!(told.contains("until it answers"), "{told}");
    let ask = json!({ "symbol": "shop.util.clamp", "direction": "callers", "depth": 2 });
    let first = client.request("codecontext/callers", ask.clone()).await;
    assert_eq!(first["source"], "postgres", "{first}");
    assert_eq!(first["cached"], false);

    drop(stopped);
    // Tried again in the background, after 2 s and then twice as long each time: asked
    // until an answer comes from Redis, for at most a minute and a half.
    let started = std::time::Instant::now();
    loop {
        let answer = client.request("codecontext/callers", ask.clone()).await;
        assert_eq!(answer["items"], first["items"], "{answer}");
        if answer["cached"] == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "Redis was not used within 90 s of its return"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(client.shutdown_and_exit().await);
}
