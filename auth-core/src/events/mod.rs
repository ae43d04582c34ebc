//! Domain events (`user.registered`, `user.approved`, …) through an outbox: each is written in the
//! same transaction as the change it announces, then delivered to the configured webhooks
//! ([`webhooks`], with either database) and, with Redis, published to a Redis Stream by
//! [`publish_forever`], at least once and in order. Delivered events are removed after
//! `events.retention_days`.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;

use crate::clock::SharedClock;
use crate::ids::UserId;
use crate::store::StoreError;
use crate::store::ephemeral::{Ephemeral, RedisStore};
use crate::store::sql::{Db, Executor};

mod store;
pub mod webhooks;

/// Every event type, as webhooks subscribe to them. Each one's `data` is documented in the
/// OpenAPI document's `webhooks`.
pub use crate::config::webhooks::EVENT_TYPES as KINDS;

/// The Redis Stream (after the key prefix) events are published to.
pub const STREAM: &str = "events";

/// Trimming bound of the stream; consumers are expected to keep up well within it.
const STREAM_MAX_LEN: usize = 100_000;

const BATCH: i64 = 100;

/// An event to announce.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub user_id: Option<UserId>,
    pub payload: Value,
}

impl Event {
    pub fn about_user(kind: &'static str, user_id: UserId, payload: Value) -> Self {
        Self {
            kind,
            user_id: Some(user_id),
            payload,
        }
    }

    /// Writes the event to the outbox through `ex`, normally the transaction of the change.
    pub async fn enqueue(self, ex: &mut dyn Executor, at: Timestamp) -> Result<(), StoreError> {
        store::enqueue(ex, &self, at).await
    }
}

/// Publishes the outbox to Redis until the process ends. One publisher at a time across all
/// gateways (a lock in Redis), so the stream keeps the outbox's order.
pub async fn publish_forever(db: Db, redis: RedisStore, clock: SharedClock) {
    let redis = Arc::new(redis);
    loop {
        match publish_batch(&db, &redis, &clock).await {
            Ok(n) if n as i64 == BATCH => continue,
            Ok(_) => {}
            Err(err) => tracing::warn!(%err, "event publishing failed; will retry"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Publishes up to one batch; returns how many events went out.
pub async fn publish_batch(
    db: &Db,
    redis: &RedisStore,
    clock: &SharedClock,
) -> Result<usize, StoreError> {
    if !redis
        .put_new("events:publisher", b"1".to_vec(), Duration::from_secs(10))
        .await?
    {
        return Ok(0);
    }
    let outcome = publish_unlocked(db, redis, clock).await;
    redis.remove("events:publisher").await?;
    outcome
}

async fn publish_unlocked(
    db: &Db,
    redis: &RedisStore,
    clock: &SharedClock,
) -> Result<usize, StoreError> {
    let pending = store::unpublished(db, BATCH).await?;
    let stream = format!("{}{STREAM}", redis.prefix());
    let mut conn = redis.connection();
    let mut published = 0;
    for event in pending {
        let fields = [
            ("id", event.id.clone()),
            ("type", event.kind),
            ("user_id", event.user_id.unwrap_or_default()),
            ("payload", event.payload),
            ("at", event.created_at.to_string()),
        ];
        // Stop at the first failure: later events must not overtake this one.
        redis::cmd("XADD")
            .arg(&stream)
            .arg("MAXLEN")
            .arg("~")
            .arg(STREAM_MAX_LEN)
            .arg("*")
            .arg(&fields[..])
            .query_async::<String>(&mut conn)
            .await
            .map_err(|err| StoreError::Unavailable(err.to_string()))?;
        store::published(db, &event.id, clock.now()).await?;
        published += 1;
    }
    Ok(published)
}
