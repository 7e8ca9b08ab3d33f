//! The shared cache and rate limit against a real Redis (`.ci/services`): entries per
//! project and version, a bump seen by every server, a limit counted across servers.
//! The outage behaviour (Redis stopped and started) is in `redis_outage.rs`, its own
//! binary, since it takes the shared Redis down.

use std::time::{Duration, Instant};

use codecontext_team::cache::{RateLimit, SharedCache};
use codecontext_tests::{service_url, unique_name};
use serde_json::json;

const TTL: Duration = Duration::from_secs(60);

/// Two servers on one fresh project.
async fn two_servers(url: &str) -> (SharedCache, SharedCache) {
    let project = unique_name("cache");
    let a = SharedCache::connect(url, &project).await.unwrap();
    let b = SharedCache::connect(url, &project).await.unwrap();
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn answers_round_trip_between_servers() {
    let Some(url) = service_url("CODECONTEXT_TEST_REDIS_URL") else {
        return;
    };
    let (a, b) = two_servers(&url).await;
    assert!(a.is_up() && b.is_up());
    assert_eq!(a.version(), b.version());
    let answer = json!({"locations": [{"file": "src/a.rs", "line": 3}], "note": "ü:é"});
    assert_eq!(a.get("references", "src/a.rs:3:4").await, None);
    a.put("references", "src/a.rs:3:4", &answer, TTL).await;
    assert_eq!(
        a.get("references", "src/a.rs:3:4").await,
        Some(answer.clone())
    );
    assert_eq!(
        b.get("references", "src/a.rs:3:4").await,
        Some(answer.clone())
    );
    assert_eq!(b.get("references", "src/a.rs:3:5").await, None, "other key");
    assert_eq!(
        b.get("definitions", "src/a.rs:3:4").await,
        None,
        "other kind"
    );

    // An answer computed at an older version is not stored where the new one is read.
    let before = a.version();
    a.bump("edit").await.unwrap();
    a.put_at(before, "references", "k", &answer, TTL).await;
    assert_eq!(a.get("references", "k").await, None);

    // Latency of a hit, for the record. Through `a`, which made the bump: `b` hears of
    // it through its subscription, at a moment of its own, and a hit stored under the
    // old version would then be a miss.
    a.put("outline", "src/big.rs", &answer, TTL).await;
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let start = Instant::now();
        let hit = a.get("outline", "src/big.rs").await;
        times.push(start.elapsed());
        assert!(hit.is_some());
    }
    times.sort();
    eprintln!(
        "shared cache get hit over 1000: p50 {:?}, p99 {:?}",
        times[500], times[990]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stderr)]
async fn a_bump_invalidates_every_server_within_a_second() {
    let Some(url) = service_url("CODECONTEXT_TEST_REDIS_URL") else {
        return;
    };
    let (a, b) = two_servers(&url).await;
    a.put("hover", "x", &json!("from a"), TTL).await;
    b.put("hover", "y", &json!("from b"), TTL).await;
    assert!(a.get("hover", "y").await.is_some());
    let mut changes = b.subscribe();
    changes.borrow_and_update();
    let old = b.version();

    let start = Instant::now();
    let new = a.bump("indexed src/a.rs").await.unwrap();
    assert!(new > old);
    assert_eq!(a.version(), new, "the bumper knows at once");
    tokio::time::timeout(Duration::from_secs(1), changes.wait_for(|v| *v >= new))
        .await
        .expect("b heard the bump within 1 s")
        .unwrap();
    let heard = start.elapsed();
    assert!(heard < Duration::from_secs(1), "{heard:?}");
    eprintln!("shared cache bump heard by another server after {heard:?}");
    assert_eq!(b.version(), new);

    for (server, key) in [(&a, "x"), (&a, "y"), (&b, "x"), (&b, "y")] {
        assert_eq!(server.get("hover", key).await, None, "old entry {key}");
    }
    // The new version caches again.
    b.put("hover", "y", &json!("again"), TTL).await;
    assert_eq!(a.get("hover", "y").await, Some(json!("again")));
}

#[tokio::test]
async fn projects_do_not_interfere() {
    let Some(url) = service_url("CODECONTEXT_TEST_REDIS_URL") else {
        return;
    };
    let one = SharedCache::connect(&url, &unique_name("cache://one/?a b:c"))
        .await
        .unwrap();
    let two = SharedCache::connect(&url, &unique_name("cache://two/"))
        .await
        .unwrap();
    one.put("symbols", "Cart", &json!(1), TTL).await;
    assert_eq!(one.get("symbols", "Cart").await, Some(json!(1)));
    assert_eq!(two.get("symbols", "Cart").await, None);
    two.put("symbols", "Cart", &json!(2), TTL).await;

    let mut two_changes = two.subscribe();
    two_changes.borrow_and_update();
    let two_version = two.version();
    one.bump("edit").await.unwrap();
    one.bump("edit").await.unwrap();
    // `two` hears its own bump, and only that one.
    let mine = two.bump("edit").await.unwrap();
    assert_eq!(mine, two_version + 1);
    tokio::time::timeout(Duration::from_secs(1), two_changes.changed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.version(), mine);
    assert_eq!(one.get("symbols", "Cart").await, None, "one's bump");
    two.put("symbols", "Cart", &json!(2), TTL).await;
    assert_eq!(two.get("symbols", "Cart").await, Some(json!(2)));
    assert_eq!(one.get("symbols", "Cart").await, None);

    // A rate limit of the same name is per project.
    let limit_one = RateLimit::new(&one, "verify", 1, Duration::from_secs(30));
    let limit_two = RateLimit::new(&two, "verify", 1, Duration::from_secs(30));
    assert_eq!(limit_one.acquire().await, Ok(()));
    assert_eq!(limit_two.acquire().await, Ok(()));
    assert!(limit_one.acquire().await.is_err());
}

#[tokio::test]
async fn the_rate_limit_is_shared_between_servers() {
    let Some(url) = service_url("CODECONTEXT_TEST_REDIS_URL") else {
        return;
    };
    let (a, b) = two_servers(&url).await;
    let window = Duration::from_secs(20);
    let on_a = RateLimit::new(&a, "verify:alice", 3, window);
    let on_b = RateLimit::new(&b, "verify:alice", 3, window);
    let other_user = RateLimit::new(&b, "verify:bob", 3, window);

    assert_eq!(on_a.acquire().await, Ok(()));
    assert_eq!(on_b.acquire().await, Ok(()));
    assert_eq!(on_a.acquire().await, Ok(()));
    let limited = on_b.acquire().await.expect_err("the 4th in the window");
    assert!(
        limited.retry_after > Duration::ZERO && limited.retry_after <= window,
        "{limited:?}"
    );
    assert!(on_a.acquire().await.is_err(), "still limited on a");
    assert_eq!(other_user.acquire().await, Ok(()), "another name");

    // A short window frees up again: wait for what retry-after says, no more.
    let short = Duration::from_millis(300);
    let on_a = RateLimit::new(&a, "hover", 1, short);
    let on_b = RateLimit::new(&b, "hover", 1, short);
    assert_eq!(on_a.acquire().await, Ok(()));
    let wait = on_b.acquire().await.expect_err("limited").retry_after;
    assert!(wait <= short, "{wait:?}");
    tokio::time::sleep(wait + Duration::from_millis(5)).await;
    assert_eq!(on_b.acquire().await, Ok(()));
}
