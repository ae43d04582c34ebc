//! Following the master a Sentinel set-up names. The sentinels are asked every
//! [`WATCH_EVERY`], and at once (at most every [`NUDGE_PAUSE`]) when a command fails in a way a
//! failover explains: the master unreachable, or a server that has become a replica refusing
//! writes. When they name another server, commands and subscriptions move to it.
//!
//! The hot path takes a read lock only long enough to clone the current connection; lookups run
//! in a task of their own, so no request waits on the sentinels, except the first ones after start,
//! before any master is known.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    Cmd, ErrorKind, IntoConnectionInfo, Pipeline, ProtocolVersion, RedisError, RedisFuture,
    RedisResult, ServerErrorKind, Value,
};

use crate::store::StoreError;

/// How often the sentinels are asked which server is master.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// The least time between two lookups that failed commands ask for.
const NUDGE_PAUSE: Duration = Duration::from_millis(200);
/// How long one lookup may take (the sentinels, then a `ROLE` check of the master they name).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The master of one Sentinel-watched set, followed across failovers. Cheap to clone.
#[derive(Clone)]
pub struct SentinelLink {
    inner: Arc<Inner>,
}

struct Inner {
    master_name: String,
    sentinel: tokio::sync::Mutex<SentinelClient>,
    config: ConnectionManagerConfig,
    current: RwLock<Option<Master>>,
    /// Channels subscribed to, made again on each new master.
    channels: Mutex<BTreeSet<String>>,
    /// Channels the current master has not confirmed yet.
    missing: Mutex<BTreeSet<String>>,
    nudged: AtomicBool,
}

struct Master {
    address: String,
    conn: ConnectionManager,
}

impl SentinelLink {
    /// Prepares to follow `master_name` as `sentinels` name it, and starts watching them. The
    /// data nodes are reached with `username`/`password` and database `db`.
    pub(super) fn open(
        sentinels: &[String],
        master_name: &str,
        db: i64,
        username: Option<&str>,
        password: Option<&str>,
        config: ConnectionManagerConfig,
    ) -> Result<Self, StoreError> {
        let backend = |err: RedisError| StoreError::Backend(err.to_string());
        // The only way to give a database number is through a URL.
        let mut node = format!("redis://127.0.0.1/{db}")
            .as_str()
            .into_connection_info()
            .map_err(backend)?
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        if let Some(username) = username {
            node = node.set_username(username);
        }
        if let Some(password) = password {
            node = node.set_password(password);
        }
        let client = SentinelClient::build(
            sentinels.to_vec(),
            master_name.to_string(),
            Some(SentinelNodeConnectionInfo::default().set_redis_connection_info(node)),
            SentinelServerType::Master,
        )
        .map_err(backend)?;
        let inner = Arc::new(Inner {
            master_name: master_name.to_string(),
            sentinel: tokio::sync::Mutex::new(client),
            config,
            current: RwLock::new(None),
            channels: Mutex::default(),
            missing: Mutex::default(),
            nudged: AtomicBool::new(false),
        });
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Backend("Sentinel needs a Tokio runtime".into()))?;
        runtime.spawn(watch(Arc::downgrade(&inner)));
        Ok(Self { inner })
    }

    /// The current master's connection. Before one is known the sentinels are asked at once
    /// (the first command after start); if they name none, an I/O error (unavailable).
    async fn current(&self) -> RedisResult<ConnectionManager> {
        if let Some(conn) = self.inner.master() {
            return Ok(conn);
        }
        self.inner.look_up().await;
        self.inner.master().ok_or_else(|| {
            RedisError::from(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                format!(
                    "the sentinels name no master of `{}`",
                    self.inner.master_name
                ),
            ))
        })
    }

    /// Asks for a lookup soon when `outcome` suggests the master has changed.
    fn after<T>(&self, outcome: &RedisResult<T>) {
        let Err(err) = outcome else {
            return;
        };
        let failover_like = err.is_io_error()
            || err.is_connection_refusal()
            || err.is_connection_dropped()
            || err.is_timeout()
            || matches!(
                err.kind(),
                ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
            );
        if failover_like && !self.inner.nudged.swap(true, Ordering::AcqRel) {
            let inner = self.inner.clone();
            tokio::spawn(async move {
                inner.look_up().await;
                tokio::time::sleep(NUDGE_PAUSE).await;
                inner.nudged.store(false, Ordering::Release);
            });
        }
    }

    /// Subscribes on the current master, and on every master after it.
    pub(super) async fn subscribe(&self, channel: &str) -> RedisResult<()> {
        // Recorded first: a master installed from now on subscribes to it too.
        self.inner
            .channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(channel.to_string());
        let mut conn = self.current().await?;
        let outcome = conn.subscribe(channel).await;
        self.after(&outcome);
        outcome
    }

    pub(super) fn get_db(&self) -> i64 {
        self.inner.master().map_or(0, |conn| conn.get_db())
    }

    pub(super) fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let outcome = match self.current().await {
                Ok(mut conn) => conn.req_packed_command(cmd).await,
                Err(err) => Err(err),
            };
            self.after(&outcome);
            outcome
        })
    }

    pub(super) fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let outcome = match self.current().await {
                Ok(mut conn) => conn.req_packed_commands(pipeline, offset, count).await,
                Err(err) => Err(err),
            };
            self.after(&outcome);
            outcome
        })
    }
}

/// Asks the sentinels every [`WATCH_EVERY`] until the link is dropped.
async fn watch(inner: Weak<Inner>) {
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        strong.look_up().await;
        drop(strong);
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

impl Inner {
    /// The current master's connection, if one is known.
    fn master(&self) -> Option<ConnectionManager> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|master| master.conn.clone())
    }

    /// Asks the sentinels for the master and, when it is a server other than the current one,
    /// moves commands and subscriptions to it.
    async fn look_up(&self) {
        let found = {
            let mut sentinel = self.sentinel.lock().await;
            tokio::time::timeout(LOOKUP_TIMEOUT, sentinel.async_get_client()).await
        };
        let client = match found {
            Ok(Ok(client)) => client,
            Ok(Err(err)) => {
                tracing::debug!(%err, master = %self.master_name, "no master from the sentinels");
                return;
            }
            Err(_) => {
                tracing::debug!(master = %self.master_name, "the sentinels did not answer in time");
                return;
            }
        };
        let address = client.get_connection_info().addr().to_string();
        let known = self
            .current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .map(|master| master.address.clone());
        if known.as_deref() == Some(address.as_str()) {
            self.subscribe_missing().await;
            return;
        }
        let conn = match ConnectionManager::new_lazy_with_config(client, self.config.clone()) {
            Ok(conn) => conn,
            Err(err) => {
                tracing::warn!(%err, %address, "could not prepare a connection to the new master");
                return;
            }
        };
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Master {
            address: address.clone(),
            conn: conn.clone(),
        });
        match &known {
            None => {
                tracing::info!(master = %self.master_name, %address, "following the Redis master")
            }
            Some(before) => tracing::warn!(
                master = %self.master_name,
                %before,
                %address,
                "the Redis master changed; following it"
            ),
        }
        let channels = self
            .channels
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        *self
            .missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = channels;
        self.subscribe_missing().await;
    }

    /// Subscribes the current master to the channels it has not confirmed yet. A subscription
    /// that fails is tried again at the next lookup: the connection only makes again, after a
    /// reconnect, the subscriptions the server confirmed.
    async fn subscribe_missing(&self) {
        let missing = std::mem::take(
            &mut *self
                .missing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        if missing.is_empty() {
            return;
        }
        let Some(mut conn) = self.master() else {
            return;
        };
        let mut failed = BTreeSet::new();
        for channel in missing {
            if let Err(err) = conn.subscribe(&channel).await {
                tracing::warn!(%err, %channel, "could not subscribe on the Redis master; will retry");
                failed.insert(channel);
            }
        }
        self.missing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(failed);
    }
}
