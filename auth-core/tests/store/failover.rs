//! What a Sentinel failover loses. Redis replicates asynchronously: a write the master
//! acknowledged but had not yet sent to the replica is gone once the replica is promoted. With
//! `wait_replicas = 1` such a write is refused (unavailable) instead of acknowledged, so nothing a
//! caller was told is done is lost; without it, the writes of the replication lag are.

use std::sync::Arc;
use std::time::Duration;

use auth_core::config::RedisConfig;
use auth_core::store::ephemeral::RedisStore;
use auth_core::store::{Ephemeral, StoreError};
use auth_test_support::RedisSentinel;

const MINUTE: Duration = Duration::from_secs(60);

fn store(sentinel: &RedisSentinel, prefix: &str, wait_replicas: u32) -> RedisStore {
    RedisStore::connect(&RedisConfig {
        wait_replicas,
        wait_timeout_ms: 300,
        ..RedisConfig::single(sentinel.url(), prefix)
    })
    .unwrap()
}

/// Waits until `store` reads the key written before the failover: it follows the new master.
async fn follows(store: &RedisStore) {
    for _ in 0..100 {
        if store.get("before").await.ok().flatten().as_deref() == Some(&b"kept"[..]) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store did not follow the promoted replica within 10 s");
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_the_replica_never_got_are_lost_unless_acknowledged_with_wait() {
    let sentinel = Arc::new(blocking(RedisSentinel::start_new).await);
    let prefix = sentinel.unique_prefix();
    let plain = store(&sentinel, &prefix, 0);
    let waiting = store(&sentinel, &prefix, 1);

    // Replicated before anything goes wrong: acknowledged with WAIT.
    waiting
        .put("before", b"kept".to_vec(), MINUTE)
        .await
        .unwrap();

    // The replica falls behind: stopped, and its link to the master cut, so nothing more
    // reaches it (not even bytes already in flight).
    let (master, replica) = (sentinel.master_port(), sentinel.replica_port());
    let s = sentinel.clone();
    blocking(move || {
        s.pause(replica, true);
        s.cli(master, &["client", "kill", "type", "replica"]);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !s
            .cli(master, &["info", "replication"])
            .contains("connected_slaves:0")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the replica link stays up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    })
    .await;

    // Without WAIT the master acknowledges; with WAIT 1 the same write is refused.
    for i in 0..10 {
        plain
            .put(&format!("lag:{i}"), b"acknowledged".to_vec(), MINUTE)
            .await
            .unwrap();
    }
    let refused = waiting
        .put("refused", b"never acknowledged".to_vec(), MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");

    // The master dies; the replica (resumed at once, before the sentinels give up on it) is
    // promoted.
    let s = sentinel.clone();
    blocking(move || {
        s.kill(master);
        s.pause(replica, false);
        s.wait_for_master(replica, Duration::from_secs(30));
    })
    .await;

    // Both stores follow the new master by themselves. What was acknowledged with WAIT is there;
    // what the master alone acknowledged is gone.
    for store in [&plain, &waiting] {
        follows(store).await;
    }
    for i in 0..10 {
        assert_eq!(
            plain.get(&format!("lag:{i}")).await.unwrap(),
            None,
            "lag:{i}"
        );
    }
    // The new master has no replica until the old one comes back, so WAIT 1 refuses writes...
    let refused = waiting
        .put("alone", b"x".to_vec(), MINUTE)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
    // ...until the old master returns, which the sentinels turn into a replica of the new one.
    let s = sentinel.clone();
    blocking(move || {
        s.restart(master);
        s.wait_for_replica(master, Duration::from_secs(30));
    })
    .await;
    // The replica acknowledges what it has about once a second, and a busy machine can make the
    // first WAIT after it rejoined miss its 300 ms; any refusal before then is the one above.
    let mut last = None;
    for _ in 0..50 {
        match waiting.put("after", b"replicated".to_vec(), MINUTE).await {
            Ok(()) => return,
            Err(err) => {
                assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
                last = Some(err);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("writes are still refused with the old master back as a replica: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_follow_the_master_across_a_failover() {
    let sentinel = Arc::new(blocking(RedisSentinel::start_new).await);
    let prefix = sentinel.unique_prefix();
    let listener = store(&sentinel, &prefix, 0);
    let mut revocations = listener.subscribe("revocations").await.unwrap();

    let master = sentinel.master_port();
    let replica = sentinel.replica_port();
    let s = sentinel.clone();
    blocking(move || {
        s.kill(master);
        s.wait_for_master(replica, Duration::from_secs(30));
    })
    .await;

    // Another gateway, started after the failover, publishes on the new master: the listener,
    // subscribed before it, hears it.
    let publisher = store(&sentinel, &prefix, 0);
    let mut delivered = false;
    for _ in 0..100 {
        let _ = publisher.publish("revocations", b"s-1".to_vec()).await;
        if let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_millis(100), revocations.recv()).await
        {
            assert_eq!(message, b"s-1");
            delivered = true;
            break;
        }
    }
    assert!(delivered, "the subscription did not move to the new master");
}
