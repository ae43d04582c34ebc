//! Hot reads (session records) on Redis: answered from the process's copy without a round trip,
//! following every change another gateway makes within the copy's freshness bound, and never
//! answered from the copy once Redis cannot vouch for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_core::config::RedisConfig;
use auth_core::store::Ephemeral;
use auth_core::store::ephemeral::RedisStore;
use auth_test_support::Redis;

use crate::backends::{RedisKind, redis_config};

const MINUTE: Duration = Duration::from_secs(60);
/// The copy's freshness bound, as the store documents it.
const FRESH: Duration = Duration::from_millis(100);

/// A store with read tracking on, once its copy answers.
async fn tracking(config: &RedisConfig) -> RedisStore {
    let store = RedisStore::connect(config).unwrap();
    store.spawn_read_tracking();
    let started = Instant::now();
    while !store.hot_copy_live() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "tracking never came on"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store
}

/// Reads `key` through `store` until it answers `wanted`; every other answer must have been
/// asked for within [`FRESH`] of `acknowledged`. Returns how long the change took to arrive.
async fn until_seen(
    store: &RedisStore,
    key: &str,
    wanted: Option<&[u8]>,
    acknowledged: Instant,
) -> Duration {
    loop {
        let asked = Instant::now();
        let answer = store.get_hot(key).await.unwrap();
        if answer.as_deref() == wanted {
            return asked.saturating_duration_since(acknowledged);
        }
        assert!(
            asked.duration_since(acknowledged) <= FRESH,
            "an old value answered {:?} after the change was acknowledged",
            asked.duration_since(acknowledged)
        );
        tokio::task::yield_now().await;
    }
}

async fn follows_changes_made_elsewhere(config: RedisConfig) {
    let here = tracking(&config).await;
    let elsewhere = RedisStore::connect(&config).unwrap();
    elsewhere
        .put("session:s", b"one".to_vec(), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        here.get_hot("session:s").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );

    elsewhere
        .put("session:s", b"two".to_vec(), MINUTE)
        .await
        .unwrap();
    let changed = until_seen(&here, "session:s", Some(b"two"), Instant::now()).await;

    assert!(elsewhere.remove("session:s").await.unwrap());
    let removed = until_seen(&here, "session:s", None, Instant::now()).await;
    println!("a change reached the other store after {changed:?}, a removal after {removed:?}");

    // This store's own writes are seen by its very next read.
    here.put("session:s", b"three".to_vec(), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        here.get_hot("session:s").await.unwrap().as_deref(),
        Some(&b"three"[..])
    );
    assert!(here.remove("session:s").await.unwrap());
    assert_eq!(here.get_hot("session:s").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_follow_changes_made_elsewhere() {
    follows_changes_made_elsewhere(redis_config(RedisKind::Single).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_follow_changes_made_elsewhere_on_sentinel() {
    follows_changes_made_elsewhere(redis_config(RedisKind::Sentinel).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reads_on_a_cluster_always_ask_redis() {
    let config = redis_config(RedisKind::Cluster).await;
    let store = RedisStore::connect(&config).unwrap();
    store.spawn_read_tracking();
    let elsewhere = RedisStore::connect(&config).unwrap();
    elsewhere
        .put("session:c", b"one".to_vec(), MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store.get_hot("session:c").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    elsewhere.remove("session:c").await.unwrap();
    assert_eq!(store.get_hot("session:c").await.unwrap(), None);
    assert!(!store.hot_copy_live());
}

/// A server of its own, so what it counts is this test's alone.
async fn own_redis() -> Arc<Redis> {
    Arc::new(tokio::task::spawn_blocking(Redis::start_new).await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_hot_reads_cost_no_round_trip() {
    let redis = own_redis().await;
    let config = RedisConfig::single(redis.url(), "h:");
    let store = tracking(&config).await;
    store
        .put("session:r", b"record".to_vec(), MINUTE)
        .await
        .unwrap();
    store.get_hot("session:r").await.unwrap();
    let gets = || tokio::task::block_in_place(|| redis.command_calls("get"));
    let before = gets();
    for _ in 0..200 {
        assert_eq!(
            store.get_hot("session:r").await.unwrap().as_deref(),
            Some(&b"record"[..])
        );
    }
    assert_eq!(gets(), before);
    // Plain reads still go to Redis.
    store.get("session:r").await.unwrap();
    assert_eq!(gets(), before + 1);
}

/// Reads through `store` until Redis refuses; the copy may answer only within [`FRESH`] of the
/// start of `what`.
async fn until_refused(store: &RedisStore, what: &str) {
    let since = Instant::now();
    loop {
        let asked = Instant::now();
        match store.get_hot("session:p").await {
            Ok(_) => assert!(
                asked.duration_since(since) <= FRESH,
                "the copy answered {:?} into {what}",
                asked.duration_since(since)
            ),
            Err(err) => {
                assert!(
                    matches!(err, auth_core::store::StoreError::Unavailable(_)),
                    "{err:?}"
                );
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_copy_stops_answering_when_redis_stops_or_falls_silent() {
    let redis = own_redis().await;
    let config = RedisConfig::single(redis.url(), "h:");
    let store = tracking(&config).await;
    store
        .put("session:p", b"record".to_vec(), MINUTE)
        .await
        .unwrap();
    store.get_hot("session:p").await.unwrap();

    // Paused, the connection stays open but nothing vouches for the copy: once the last
    // heartbeat is older than the bound, reads go to Redis and fail there.
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.pause(true))
        .await
        .unwrap();
    until_refused(&store, "the pause").await;
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.pause(false))
        .await
        .unwrap();

    // Stopped: the dropped connection empties the copy at once. Back again, the copy comes
    // back too, with what Redis holds now (nothing: persistence is off).
    store.get_hot("session:p").await.unwrap();
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.stop()).await.unwrap();
    until_refused(&store, "the stop").await;
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.start())
        .await
        .unwrap();
    let started = Instant::now();
    while !store.hot_copy_live() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no copy after the restart"
        );
        let _ = store.get_hot("session:p").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.get_hot("session:p").await.unwrap(), None);
}
