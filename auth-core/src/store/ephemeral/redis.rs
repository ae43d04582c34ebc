//! Short-lived state in Redis, shared by every gateway that points at the same server.
//!
//! One RESP3 connection manager carries commands and subscriptions; it reconnects by itself after
//! Redis restarts and re-subscribes the channels. Compound operations are Lua scripts, so each is
//! atomic on the server.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind, Script};
use tokio::sync::broadcast;

use super::Ephemeral;
use crate::config::RedisConfig;
use crate::store::StoreError;

type Channels = Arc<Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>>;

/// Short-lived state in Redis.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    channels: Channels,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
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

// Built once: `Script::new` hashes its source, which every call would otherwise repeat.
static REPLACE_IF: LazyLock<Script> = LazyLock::new(|| Script::new(REPLACE_IF_SOURCE));
static INCREMENT: LazyLock<Script> = LazyLock::new(|| Script::new(INCREMENT_SOURCE));
static SET_ADD: LazyLock<Script> = LazyLock::new(|| Script::new(SET_ADD_SOURCE));

impl RedisStore {
    /// Prepares a connection to Redis. The connection is made lazily, so Redis being down at start
    /// does not stop the gateway; operations fail with [`StoreError::Unavailable`] until it is back.
    pub fn connect(config: &RedisConfig) -> Result<Self, StoreError> {
        let info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(|err| StoreError::Backend(format!("bad Redis URL: {err}")))?;
        let settings = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(settings))
            .map_err(|err| StoreError::Backend(err.to_string()))?;

        let channels: Channels = Arc::default();
        let router = channels.clone();
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_push_sender(move |push: PushInfo| {
                route_message(&router, push);
                Ok::<(), redis::aio::SendError>(())
            })
            .set_automatic_resubscription();
        let conn = ConnectionManager::new_lazy_with_config(client, manager_config)
            .map_err(|err| StoreError::Backend(err.to_string()))?;
        Ok(Self {
            conn,
            prefix: config.key_prefix.clone(),
            channels,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// The underlying connection, for domain code that needs Redis itself (event streams, shared
    /// rate limits). Keys used through it must carry the same prefix as the store's own keys.
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// The namespace every key and channel of this store lives in.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

fn route_message(channels: &Channels, push: PushInfo) {
    if push.kind != PushKind::Message {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(channel), Some(payload)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(channel), Ok(payload)) = (
        redis::from_redis_value::<String>(channel),
        redis::from_redis_value::<Vec<u8>>(payload),
    ) else {
        return;
    };
    deliver(channels, &channel, payload);
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
    if err.is_io_error()
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
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async::<()>(&mut conn)
            .await
            .map_err(map_error)
    }

    async fn put_new(&self, key: &str, value: Vec<u8>, ttl: Duration) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let stored: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl))
            .query_async(&mut conn)
            .await
            .map_err(map_error)?;
        Ok(stored.is_some())
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get(self.key(key)).await.map_err(map_error)
    }

    async fn remove(&self, key: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let removed: i64 = conn.del(self.key(key)).await.map_err(map_error)?;
        Ok(removed > 0)
    }

    async fn replace_if(
        &self,
        key: &str,
        expected: &[u8],
        value: Vec<u8>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let replaced: i64 = REPLACE_IF
            .key(self.key(key))
            .arg(expected)
            .arg(value)
            .invoke_async(&mut conn)
            .await
            .map_err(map_error)?;
        Ok(replaced == 1)
    }

    async fn increment(&self, key: &str, ttl: Duration) -> Result<i64, StoreError> {
        let mut conn = self.conn.clone();
        INCREMENT
            .key(self.key(key))
            .arg(ttl_millis(ttl))
            .invoke_async(&mut conn)
            .await
            .map_err(map_error)
    }

    async fn set_add(&self, key: &str, member: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        SET_ADD
            .key(self.key(key))
            .arg(member)
            .arg(ttl_millis(ttl))
            .invoke_async::<i64>(&mut conn)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn set_remove(&self, key: &str, member: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.srem::<_, _, i64>(self.key(key), member)
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn set_members(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn.clone();
        let mut members: Vec<String> = conn.smembers(self.key(key)).await.map_err(map_error)?;
        members.sort();
        Ok(members)
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
        "redis"
    }
}
