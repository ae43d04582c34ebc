//! The short-lived store, on the embedded backend and on Redis.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_core::config::RedisConfig;
use auth_core::store::ephemeral::{EmbeddedStore, RedisStore, follow_announcements};
use auth_core::store::{Ephemeral, StoreError};
use auth_test_support::{Redis, RedisCluster};

use crate::backends::RedisKind;

use crate::ephemeral_test;

const MINUTE: Duration = Duration::from_secs(60);

ephemeral_test!(put_get_remove, |store| {
    assert_eq!(store.get("a").await.unwrap(), None);
    store.put("a", b"one".to_vec(), MINUTE).await.unwrap();
    assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    store.put("a", b"two".to_vec(), MINUTE).await.unwrap();
    assert_eq!(store.get("a").await.unwrap().as_deref(), Some(&b"two"[..]));
    assert!(store.remove("a").await.unwrap());
    assert!(!store.remove("a").await.unwrap());
    assert_eq!(store.get("a").await.unwrap(), None);
});

// The store's TTL is wall-clock on both backends (Redis keeps its own time); domain expiry is
// tested with the manual clock elsewhere. This only checks keys really go away.
ephemeral_test!(keys_expire_after_their_ttl, |store| {
    store
        .put("short", b"x".to_vec(), Duration::from_millis(100))
        .await
        .unwrap();
    store
        .increment("count", Duration::from_millis(100))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.get("short").await.unwrap(), None);
    assert_eq!(store.increment("count", MINUTE).await.unwrap(), 1);
});

ephemeral_test!(put_new_has_one_winner, |store| {
    let attempts = (0..20u8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move { store.put_new("claim", vec![i], MINUTE).await.unwrap() })
    });
    let wins = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);
});

ephemeral_test!(replace_if_has_one_winner_and_keeps_ttl, |store| {
    store
        .put("state", b"pending".to_vec(), MINUTE)
        .await
        .unwrap();
    let attempts = (0..20u8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .replace_if("state", b"pending", format!("used-{i}").into_bytes())
                .await
                .unwrap()
        })
    });
    let wins = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(wins, 1);
    let value = store.get("state").await.unwrap().unwrap();
    assert!(value.starts_with(b"used-"));
    assert!(
        !store
            .replace_if("absent", b"x", b"y".to_vec())
            .await
            .unwrap()
    );
    assert_eq!(store.get("absent").await.unwrap(), None);
});

ephemeral_test!(increments_are_atomic, |store| {
    let attempts = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.increment("fails", MINUTE).await.unwrap() })
    });
    let mut counts: Vec<i64> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort();
    assert_eq!(counts, (1..=50).collect::<Vec<_>>());
});

ephemeral_test!(sets_hold_members, |store| {
    store.set_add("s", "b", MINUTE).await.unwrap();
    store.set_add("s", "a", MINUTE).await.unwrap();
    store.set_add("s", "a", MINUTE).await.unwrap();
    assert_eq!(store.set_members("s").await.unwrap(), vec!["a", "b"]);
    store.set_remove("s", "a").await.unwrap();
    assert_eq!(store.set_members("s").await.unwrap(), vec!["b"]);
    assert!(store.set_members("none").await.unwrap().is_empty());
});

ephemeral_test!(
    indexes_count_and_order_their_members_above_the_floor,
    |store| {
        for (member, score) in [("a", 10), ("b", 30), ("c", 20), ("d", 5)] {
            store
                .index_add("live", member, score, 0, MINUTE)
                .await
                .unwrap();
        }
        // A new score moves a member; the floor forgets what ended.
        store.index_add("live", "a", 40, 0, MINUTE).await.unwrap();
        let all = store.index_range("live", 0, 0, 10).await.unwrap();
        assert_eq!(all.total, 4);
        assert_eq!(all.members, ["a", "b", "c", "d"]);
        let second_page = store.index_range("live", 0, 2, 2).await.unwrap();
        assert_eq!(second_page.members, ["c", "d"]);
        let above_ten = store.index_range("live", 10, 0, 0).await.unwrap();
        assert_eq!((above_ten.total, above_ten.members.len()), (3, 0));
        store.index_remove("live", "b").await.unwrap();
        store.index_remove("live", "never").await.unwrap();
        assert_eq!(
            store.index_range("live", 10, 0, 10).await.unwrap().members,
            ["a", "c"]
        );
        // Adding forgets what is at or below its floor too.
        store.index_add("live", "e", 50, 20, MINUTE).await.unwrap();
        assert_eq!(
            store.index_range("live", 0, 0, 10).await.unwrap().members,
            ["e", "a"]
        );
        assert_eq!(
            store.index_range("none", 0, 0, 10).await.unwrap(),
            Default::default()
        );
    }
);

ephemeral_test!(published_messages_reach_subscribers, |store| {
    let mut first = store.subscribe("revocations").await.unwrap();
    let mut second = store.subscribe("revocations").await.unwrap();
    let mut other = store.subscribe("other").await.unwrap();
    store
        .publish("revocations", b"session-1".to_vec())
        .await
        .unwrap();
    for receiver in [&mut first, &mut second] {
        let got = tokio::time::timeout(Duration::from_secs(5), receiver.recv())
            .await
            .expect("message within 5 s")
            .unwrap();
        assert_eq!(got, b"session-1");
    }
    assert!(other.try_recv().is_err());
});

/// Another gateway's store on the same deployment publishes, so the message must come back
/// through Redis (a store hears its own messages without Redis).
mod messages_from_another_gateway_arrive {
    use super::*;

    crate::redis_test!(|store, config| {
        let mut revocations = store.subscribe("revocations").await.unwrap();
        let other_gateway = RedisStore::connect(&config).unwrap();
        let mut delivered = false;
        for _ in 0..50 {
            other_gateway
                .publish("revocations", b"session-9".to_vec())
                .await
                .unwrap();
            if let Ok(Ok(message)) =
                tokio::time::timeout(Duration::from_millis(100), revocations.recv()).await
            {
                assert_eq!(message, b"session-9");
                delivered = true;
                break;
            }
        }
        assert!(delivered, "no message from the other gateway within 5 s");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_spreads_the_keys_over_its_nodes() {
    let (store, config) = crate::backends::redis_ephemeral(RedisKind::Cluster).await;
    for i in 0..30 {
        store
            .increment(&format!("spread:{i}"), MINUTE)
            .await
            .unwrap();
        store
            .set_add(&format!("spread-set:{i}"), "m", MINUTE)
            .await
            .unwrap();
    }
    let cluster = RedisCluster::shared();
    let pattern = format!("{}spread*", config.key_prefix);
    let mut nodes_holding = 0;
    let mut total = 0;
    for port in cluster.ports() {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        nodes_holding += usize::from(!keys.is_empty());
        total += keys.len();
    }
    assert_eq!(total, 60, "every key is on exactly one node");
    assert!(nodes_holding >= 2, "the keys all landed on one node");
}

#[tokio::test]
async fn embedded_entries_survive_a_restart() {
    let test_db = crate::backends::embedded().await;
    {
        let store = EmbeddedStore::open(test_db.db.clone()).await.unwrap();
        store
            .put("session:1", b"alive".to_vec(), MINUTE)
            .await
            .unwrap();
        store.increment("fails:u", MINUTE).await.unwrap();
        store.set_add("sessions:u", "1", MINUTE).await.unwrap();
        store.index_add("live", "1", 7, 0, MINUTE).await.unwrap();
        store.index_add("live", "2", 9, 0, MINUTE).await.unwrap();
        store.index_remove("live", "2").await.unwrap();
        store.put("gone", b"x".to_vec(), MINUTE).await.unwrap();
        store.remove("gone").await.unwrap();
    }
    let reopened = EmbeddedStore::open(test_db.db.clone()).await.unwrap();
    assert_eq!(
        reopened.get("session:1").await.unwrap().as_deref(),
        Some(&b"alive"[..])
    );
    assert_eq!(reopened.increment("fails:u", MINUTE).await.unwrap(), 2);
    assert_eq!(reopened.set_members("sessions:u").await.unwrap(), vec!["1"]);
    let live = reopened.index_range("live", 0, 0, 10).await.unwrap();
    assert_eq!((live.total, live.members), (1, vec!["1".to_string()]));
    assert_eq!(reopened.get("gone").await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reconnects_and_resubscribes_after_a_restart() {
    let redis = Arc::new(
        tokio::task::spawn_blocking(auth_test_support::Redis::start_new)
            .await
            .unwrap(),
    );
    let store = redis_store(&redis);
    // Another gateway publishes, so the message must really come back through Redis.
    let other_gateway = redis_store(&redis);
    store.ping().await.unwrap();
    let mut revocations = store.subscribe("revocations").await.unwrap();

    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.stop()).await.unwrap();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");

    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.start())
        .await
        .unwrap();
    let mut back = false;
    for _ in 0..50 {
        if store.ping().await.is_ok() {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(back, "no reconnect after Redis came back");

    // The subscription is restored too: a message published now arrives.
    let mut delivered = false;
    for _ in 0..50 {
        other_gateway
            .publish("revocations", b"s".to_vec())
            .await
            .unwrap();
        if let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_millis(100), revocations.recv()).await
        {
            assert_eq!(message, b"s");
            delivered = true;
            break;
        }
    }
    assert!(
        delivered,
        "the subscription did not come back after the restart"
    );
}

/// A store on `redis` with the key prefix every test gateway here shares.
fn redis_store(redis: &Redis) -> RedisStore {
    RedisStore::connect(&RedisConfig::single(redis.url(), "r:")).unwrap()
}

async fn redis_stopped() -> Arc<Redis> {
    let redis = Arc::new(tokio::task::spawn_blocking(Redis::start_new).await.unwrap());
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.stop()).await.unwrap();
    redis
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_a_process_still_hears_its_own_announcement() {
    let redis = Arc::new(tokio::task::spawn_blocking(Redis::start_new).await.unwrap());
    let store = redis_store(&redis);
    let mut changes = store.subscribe("services:changed").await.unwrap();
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.stop()).await.unwrap();
    let err = store
        .publish("services:changed", b"x".to_vec())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(changes.try_recv().unwrap(), b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_started_while_redis_is_down_hears_announcements_once_it_is_up() {
    let redis = redis_stopped().await;
    // Each reload records whether the follower was subscribed by then, as Redis counts it, so the
    // reload that follows a new subscription is told apart from those made while Redis was down,
    // and a reload after it can only be the announcement's (the timer is an hour).
    let reloads: Arc<Mutex<Vec<i64>>> = Arc::default();
    let recorded = reloads.clone();
    let url = redis.url();
    follow_announcements(
        Arc::new(redis_store(&redis)),
        "services:changed",
        "route table",
        Duration::from_secs(3600),
        move || {
            let (recorded, url) = (recorded.clone(), url.clone());
            async move {
                let subscribers = subscribers(&url, "r:services:changed").await;
                recorded.lock().unwrap().push(subscribers.unwrap_or(-1));
                Ok::<(), StoreError>(())
            }
        },
    );
    let count = || reloads.lock().unwrap().len();
    // The first subscription fails; the follower reloads anyway and keeps trying.
    wait_until(|| count() >= 1, "a reload while Redis is down").await;
    let r = redis.clone();
    tokio::task::spawn_blocking(move || r.start())
        .await
        .unwrap();
    wait_until(
        || reloads.lock().unwrap().contains(&1),
        "the follower subscribing once Redis was up, then reloading",
    )
    .await;

    let before = count();
    redis_store(&redis)
        .publish("services:changed", b"x".to_vec())
        .await
        .unwrap();
    wait_until(|| count() > before, "the reload the announcement asks for").await;
}

/// How many clients Redis at `url` has subscribed to `channel`; `None` while it is down.
async fn subscribers(url: &str, channel: &str) -> Option<i64> {
    let client = redis::Client::open(url).ok()?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(1),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()?;
    let (_, count): (String, i64) = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(channel)
        .query_async(&mut conn)
        .await
        .ok()?;
    Some(count)
}

async fn wait_until(done: impl Fn() -> bool, what: &str) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 10 s for {what}");
}
