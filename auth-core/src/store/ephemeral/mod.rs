//! Short-lived state: QR challenges, PINs, sessions, counters, and revocation fan-out. Keys expire
//! by themselves; every read-modify-write the domains need is one atomic call here, so it holds when
//! several gateways share one Redis.
//!
//! Two backends: Redis ([`RedisStore`]), and [`EmbeddedStore`] for the default mode, which keeps the
//! state in process and writes it through to the durable database so a restart loses nothing.
//!
//! Expiry here is wall-clock and only bounds memory; the domains also check their own expiry times
//! against the [`Clock`](crate::Clock), so a key that outlives its TTL is still refused.

mod announcements;
mod embedded;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::store::StoreError;

pub use self::announcements::follow_announcements;
pub use self::embedded::EmbeddedStore;
pub use self::redis::RedisStore;

/// A slice of an ordered index ([`Ephemeral::index_range`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexRange {
    /// How many members the index holds above the floor.
    pub total: u64,
    /// The members asked for, highest score first.
    pub members: Vec<String>,
}

/// The operations short-lived state needs. Keys and channels are plain strings; backends add
/// their own namespace.
#[async_trait]
pub trait Ephemeral: Send + Sync + std::fmt::Debug {
    /// Stores `value` under `key` for `ttl`, replacing what was there.
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError>;

    /// Stores `value` only if `key` is absent; returns whether it was stored.
    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError>;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;

    /// A read on every request's path (a session record). Redis answers it from this process's
    /// copy while server-assisted invalidation keeps that copy exact; other backends read as
    /// [`Ephemeral::get`] does.
    async fn get_hot(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(key).await
    }

    /// Removes `key`; returns whether it existed.
    async fn remove(&self, key: &str) -> Result<bool, StoreError>;

    /// Replaces the value of `key` with `value` only if it currently equals `expected`, keeping its
    /// TTL. Returns whether it was replaced. This is the one primitive every state machine uses:
    /// of two racing writers exactly one wins.
    async fn replace_if(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, StoreError>;

    /// Adds one to the counter at `key` (created at 0 with `ttl`) and returns the new count.
    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError>;

    /// Adds `member` to the set at `key`, extending the set's TTL to at least `ttl`.
    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError>;

    async fn set_remove(&self, key: &str, member: &str) -> Result<(), StoreError>;

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError>;

    /// Puts `member` in the ordered index at `key` with `score` (moving it if it is there), for at
    /// most `ttl`, and forgets the members scored at or below `floor`. An index answers "how many"
    /// and "which, highest first" without reading its members' records: the live sessions of a
    /// service, scored by when they end.
    async fn index_add(
        &self,
        key: &str,
        member: &str,
        score: i64,
        floor: i64,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    async fn index_remove(&self, key: &str, member: &str) -> Result<(), StoreError>;

    /// Forgets the members of the index at `key` scored at or below `floor`, then answers how many
    /// are left and `limit` of them from `offset`, highest score first.
    async fn index_range(
        &self,
        key: &str,
        floor: i64,
        offset: usize,
        limit: usize,
    ) -> Result<IndexRange, StoreError>;

    /// Sends `message` to every subscriber of `channel`: at once in this process, and (with Redis)
    /// to every other gateway. With Redis a subscriber here hears its own message twice (once
    /// directly, once back from Redis), so what a message triggers must be safe to repeat.
    async fn publish(&self, channel: &str, message: Vec<u8>) -> Result<(), StoreError>;

    /// Receives what is published on `channel` from now on. With Redis the subscription comes back
    /// by itself after a reconnect.
    async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<Vec<u8>>, StoreError>;

    /// A cheap round trip proving the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Which backend this is, for health reports.
    fn backend_name(&self) -> &'static str;
}
