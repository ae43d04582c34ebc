//! Short-lived state in Redis, shared by every gateway that points at the same deployment: one
//! server, a Sentinel set-up or a Cluster ([`connection`]).
//!
//! One RESP3 connection carries commands and subscriptions; it reconnects by itself after Redis
//! restarts, follows a failover, and subscribes again. Session records, read on every request,
//! are answered from a copy in process that Redis keeps exact with server-assisted invalidation
//! ([`tracked`]).
//!
//! Compound operations are Lua scripts, so each is atomic on the server. Every script touches
//! exactly one key (`KEYS[1]`), so each runs on a Cluster whatever slot its key hashes to; a
//! script that ever needs two keys must give them one hash tag (`{…}`), so they live in one slot.
//!
//! With `wait_replicas`, each write travels with a `WAIT` in one pipeline, on the connection (and
//! Cluster node) that made it, and counts as done only once that many replicas hold it.

mod connection;
mod sentinel;
mod tracked;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::{
    AsyncCommands, Cmd, ErrorKind, FromRedisValue, PushInfo, PushKind, Script, ServerErrorKind,
};
use tokio::sync::broadcast;

use self::tracked::TrackedReads;
use super::Ephemeral;
use crate::config::RedisConfig;
use crate::measure::StoreTimer;
use crate::store::{IndexRange, StoreError};

pub use self::connection::RedisConnection;

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>>;

/// Short-lived state in Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: RedisConnection,
    prefix: String,
    channels: Channels,
    /// Replicas a write must reach, and how long to wait for them (ms).
    wait: Option<(u32, u64)>,
    /// The copy of hot keys ([`Ephemeral::get_hot`]), answering only while tracking is vouched
    /// for ([`RedisStore::spawn_read_tracking`]).
    tracked: Arc<TrackedReads>,
    /// The channel the heartbeats of [`TrackedReads`] travel on, heard by this process alone.
    beats: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("kind", &self.conn.kind())
            .finish()
    }
}

const REPLACE_IF_SOURCE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0";

const INCREMENT_SOURCE: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count";

const SET_ADD_SOURCE: &str = r"
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1";

const INDEX_ADD_SOURCE: &str = r"
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1";

const INDEX_RANGE_SOURCE: &str = r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local total = redis.call('ZCARD', KEYS[1])
local members = {}
local limit = tonumber(ARGV[3])
if limit > 0 then
  local first = tonumber(ARGV[2])
  members = redis.call('ZREVRANGE', KEYS[1], first, first + limit - 1)
end
return {total, members}";

// Built once: `Script::new` hashes its source, which every call would otherwise repeat.
static REPLACE_IF: LazyLock<Script> = LazyLock::new(|| Script::new(REPLACE_IF_SOURCE));
static INCREMENT: LazyLock<Script> = LazyLock::new(|| Script::new(INCREMENT_SOURCE));
static SET_ADD: LazyLock<Script> = LazyLock::new(|| Script::new(SET_ADD_SOURCE));
static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| Script::new(INDEX_ADD_SOURCE));
static INDEX_RANGE: LazyLock<Script> = LazyLock::new(|| Script::new(INDEX_RANGE_SOURCE));

impl RedisStore {
    /// Prepares a connection to Redis. The connection is made lazily, so Redis being down at start
    /// does not stop the gateway; operations fail with [`StoreError::Unavailable`] until it is back.
    pub fn connect(config: &RedisConfig) -> Result<Self, StoreError> {
        let topology = config
            .topology()
            .map_err(|err| StoreError::Backend(err.to_string()))?;
        let channels: Channels = Arc::default();
        let tracked = Arc::new(TrackedReads::default());
        let beats = format!(
            "{}tracking-beats:{}",
            config.key_prefix,
            hex::encode(crate::secret::random_bytes::<8>())
        );
        let router = channels.clone();
        let invalidations = tracked.clone();
        let beat_channel = beats.clone();
        let push = move |push: PushInfo| {
            match push.kind {
                PushKind::Invalidate => invalidations.invalidate(push.data),
                PushKind::Disconnection => invalidations.forget_all(),
                _ => {
                    if let Some((channel, payload)) = message_of(push) {
                        if channel == beat_channel {
                            if let Some(sent_at) = tracked::beat_sent_at(&payload) {
                                invalidations.confirm(sent_at);
                            }
                        } else {
                            deliver(&router, &channel, payload);
                        }
                    }
                }
            }
            Ok::<(), redis::aio::SendError>(())
        };
        let conn = RedisConnection::open(&topology, push)?;
        Ok(Self {
            conn,
            prefix: config.key_prefix.clone(),
            channels,
            wait: (config.wait_replicas > 0)
                .then_some((config.wait_replicas, config.wait_timeout_ms)),
            tracked,
            beats,
        })
    }

    /// Starts the heartbeat that turns server-assisted tracking on and vouches for the copy of
    /// hot keys; it ends when the store is dropped. Without it (and on a Cluster) every read goes
    /// to Redis. Runs on the calling Tokio runtime.
    pub fn spawn_read_tracking(&self) {
        if matches!(self.conn, RedisConnection::Cluster(_)) {
            return;
        }
        tokio::spawn(tracked::heartbeat_forever(
            Arc::downgrade(&self.tracked),
            self.conn.clone(),
            self.beats.clone(),
        ));
    }

    /// Whether hot reads may be answered from this process's copy right now.
    pub fn hot_copy_live(&self) -> bool {
        self.tracked.ticket().is_some()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The underlying connection, for domain code that needs Redis itself (event streams, shared
    /// rate limits). Keys used through it must carry the same prefix as the store's own keys, and
    /// a script run through it must touch one key, or keys sharing one hash tag.
    pub fn connection(&self) -> RedisConnection {
        self.conn.clone()
    }

    /// Runs a command that changes data: with `wait_replicas`, together with a `WAIT` for the
    /// replicas, refused as unavailable when fewer hold it in time. The write itself may then
    /// still be on the master; what matters is that nobody was told it is done.
    async fn write<T: FromRedisValue>(&self, cmd: Cmd) -> Result<T, StoreError> {
        self.try_write(cmd).await.map_err(map_error)?
    }

    /// [`RedisStore::write`], with Redis's own error kept apart for the caller to look at.
    async fn try_write<T: FromRedisValue>(
        &self,
        cmd: Cmd,
    ) -> redis::RedisResult<Result<T, StoreError>> {
        let _timer = StoreTimer::start("redis");
        let mut conn = self.conn.clone();
        let Some((replicas, timeout_ms)) = self.wait else {
            return cmd.query_async(&mut conn).await.map(Ok);
        };
        let mut pipe = redis::pipe();
        pipe.add_command(cmd)
            .cmd("WAIT")
            .arg(replicas)
            .arg(timeout_ms);
        let (value, acknowledged): (T, u32) = pipe.query_async(&mut conn).await?;
        if acknowledged < replicas {
            return Ok(Err(StoreError::Unavailable(format!(
                "{acknowledged} of {replicas} Redis replicas confirmed the write within {timeout_ms} ms"
            ))));
        }
        Ok(Ok(value))
    }

    /// Runs one of the store's scripts on `key` as a write, loading it first where the server
    /// does not have it yet (a new or restarted server, another Cluster node).
    async fn write_script<T: FromRedisValue>(
        &self,
        script: &Script,
        key: &str,
        args: &[&[u8]],
    ) -> Result<T, StoreError> {
        let call = || {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(script.get_hash()).arg(1).arg(key);
            for arg in args {
                cmd.arg(*arg);
            }
            cmd
        };
        match self.try_write(call()).await {
            Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                let mut conn = self.conn.clone();
                // A script refused with NOSCRIPT did not run, so running it now runs it once.
                script
                    .prepare_invoke()
                    .key(key)
                    .load_async(&mut conn)
                    .await
                    .map_err(map_error)?;
                self.write(call()).await
            }
            outcome => outcome.map_err(map_error)?,
        }
    }

    /// The namespace every key and channel of this store lives in.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// The channel and payload of a subscribed channel's message.
fn message_of(push: PushInfo) -> Option<(String, Vec<u8>)> {
    if push.kind != PushKind::Message {
        return None;
    }
    let mut data = push.data.into_iter();
    let (channel, payload) = (data.next()?, data.next()?);
    Some((
        redis::from_redis_value::<String>(channel).ok()?,
        redis::from_redis_value::<Vec<u8>>(payload).ok()?,
    ))
}

/// Hands `payload` to this process's subscribers of `channel`.
fn deliver(channels: &Channels, channel: &str, payload: Vec<u8>) {
    if let Ok(map) = channels.lock()
        && let Some(sender) = map.get(channel)
    {
        // No receiver left is not an error: nobody is listening right now.
        let _ = sender.send(payload);
    }
}

fn map_error(err: redis::RedisError) -> StoreError {
    // A server loading its data, a replica refusing writes, a Cluster or master down: the states
    // a restart or failover passes through, gone by themselves in moments.
    let passing = matches!(
        err.kind(),
        ErrorKind::Server(
            ServerErrorKind::BusyLoading
                | ServerErrorKind::ReadOnly
                | ServerErrorKind::MasterDown
                | ServerErrorKind::ClusterDown
                | ServerErrorKind::TryAgain
        )
    );
    if passing
        || err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
    {
        StoreError::Unavailable(err.to_string())
    } else {
        StoreError::Backend(err.to_string())
    }
}

fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait]
impl Ephemeral for RedisStore {
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SET");
        let key = self.key(key);
        cmd.arg(&key).arg(value).arg("PX").arg(ttl_millis(ttl));
        let written = self.write(cmd).await;
        self.tracked.forget(&key);
        written
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        let stored: Option<String> = self.write(cmd).await?;
        Ok(stored.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let _timer = StoreTimer::start("redis");
        let mut conn = self.conn.clone();
        conn.get(self.key(key)).await.map_err(map_error)
    }

    async fn get_hot(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.key(key);
        if let Some(value) = self.tracked.get(&key) {
            return Ok(Some(value));
        }
        let ticket = self.tracked.ticket();
        let _timer = StoreTimer::start("redis");
        let mut conn = self.conn.clone();
        let value: Option<Vec<u8>> = conn.get(&key).await.map_err(map_error)?;
        if let (Some(ticket), Some(value)) = (ticket, &value) {
            self.tracked.keep(ticket, &key, value);
        }
        Ok(value)
    }

    async fn remove(&self, key: &str) -> Result<bool, StoreError> {
        let key = self.key(key);
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&key);
        let removed = self.write::<i64>(cmd).await;
        self.tracked.forget(&key);
        Ok(removed? > 0)
    }

    async fn replace_if(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let key = self.key(key);
        let replaced = self
            .write_script::<i64>(&REPLACE_IF, &key, &[expected, &value])
            .await;
        self.tracked.forget(&key);
        Ok(replaced? == 1)
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let ttl = ttl_millis(ttl).to_string();
        self.write_script(&INCREMENT, &self.key(key), &[ttl.as_bytes()])
            .await
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let ttl = ttl_millis(ttl).to_string();
        self.write_script::<i64>(
            &SET_ADD,
            &self.key(key),
            &[member.as_bytes(), ttl.as_bytes()],
        )
        .await?;
        Ok(())
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("SREM");
        cmd.arg(self.key(key)).arg(member);
        self.write::<i64>(cmd).await?;
        Ok(())
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let mut members: Vec<String> = conn.smembers(self.key(key)).await.map_err(map_error)?;
        members.sort();
        Ok(members)
    }

    async fn index_add(
        &self,
        key: &str,
        member: &str,
        score: i64,
        floor: i64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (score, floor) = (score.to_string(), floor.to_string());
        let ttl = ttl_millis(ttl).to_string();
        self.write_script::<i64>(
            &INDEX_ADD,
            &self.key(key),
            &[
                member.as_bytes(),
                score.as_bytes(),
                floor.as_bytes(),
                ttl.as_bytes(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn index_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.key(key)).arg(member);
        self.write::<i64>(cmd).await?;
        Ok(())
    }

    async fn index_range(
        &self,
        key: &str,
        floor: i64,
        offset: usize,
        limit: usize,
    ) -> Result<IndexRange, StoreError> {
        let (floor, offset, limit) = (floor.to_string(), offset.to_string(), limit.to_string());
        let (total, members): (u64, Vec<String>) = self
            .write_script(
                &INDEX_RANGE,
                &self.key(key),
                &[floor.as_bytes(), offset.as_bytes(), limit.as_bytes()],
            )
            .await?;
        Ok(IndexRange { total, members })
    }

    async fn publish(&self, channel: &str, message: Vec<u8>) -> Result<(), StoreError> {
        let channel = self.key(channel);
        // This process hears its own change without waiting on Redis, or when Redis is down.
        deliver(&self.channels, &channel, message.clone());
        let mut conn = self.conn.clone();
        conn.publish::<_, _, i64>(channel, message)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<broadcast::Receiver<Vec<u8>>, StoreError> {
        let full = self.key(channel);
        let (receiver, is_new) = {
            let mut map = self
                .channels
                .lock()
                .map_err(|_| StoreError::Backend("channel map poisoned".into()))?;
            match map.get(&full) {
                Some(sender) => (sender.subscribe(), false),
                None => {
                    let (sender, receiver) = broadcast::channel(1024);
                    map.insert(full.clone(), sender);
                    (receiver, true)
                }
            }
        };
        if is_new {
            let mut conn = self.conn.clone();
            if let Err(err) = conn.subscribe(&full).await {
                if let Ok(mut map) = self.channels.lock() {
                    map.remove(&full);
                }
                return Err(map_error(err));
            }
        }
        Ok(receiver)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        self.conn.kind()
    }
}
