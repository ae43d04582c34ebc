//! One handle for every Redis deployment: a single server, the master Sentinel names, or a
//! Cluster. [`RedisConnection`] implements the redis crate's `ConnectionLike`, so commands and
//! scripts are written once and run on any of them; subscriptions go through
//! [`RedisConnection::subscribe`].
//!
//! Every connection is made lazily and remade by itself: Redis being down at start, restarting,
//! failing over or resharding shows as failed commands (503 at the edge), never as a gateway that
//! has to be restarted.

use std::time::Duration;

use redis::aio::{AsyncPushSender, ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, IntoConnectionInfo, Pipeline, ProtocolVersion, RedisFuture, RedisResult, Value};

use super::sentinel::SentinelLink;
use crate::config::RedisTopology;
use crate::store::StoreError;

/// How long making a connection may take.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may wait for its answer.
pub(super) const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Commands and subscriptions on the configured Redis deployment. Cheap to clone: clones share
/// the connections.
#[derive(Clone)]
pub enum RedisConnection {
    /// One server, reconnected after restarts.
    Server(ConnectionManager),
    /// The current master of a Sentinel set-up, followed across failovers.
    Sentinel(SentinelLink),
    /// A Redis Cluster: each command goes to the node that owns its key's slot.
    Cluster(ClusterConnection),
}

impl RedisConnection {
    /// Prepares the connection to `topology`; push messages (what subscribed channels receive)
    /// go to `push`. Nothing is connected yet.
    pub(super) fn open(
        topology: &RedisTopology,
        push: impl AsyncPushSender + Clone,
    ) -> Result<Self, StoreError> {
        let backend = |err: redis::RedisError| StoreError::Backend(err.to_string());
        match topology {
            RedisTopology::Single { url } => {
                let info = url
                    .as_str()
                    .into_connection_info()
                    .map_err(|err| StoreError::Backend(format!("bad Redis URL: {err}")))?;
                let settings = info
                    .redis_settings()
                    .clone()
                    .set_protocol(ProtocolVersion::RESP3);
                let client =
                    redis::Client::open(info.set_redis_settings(settings)).map_err(backend)?;
                let manager = ConnectionManager::new_lazy_with_config(client, manager_config(push))
                    .map_err(backend)?;
                Ok(Self::Server(manager))
            }
            RedisTopology::Sentinel {
                sentinels,
                master_name,
                db,
                username,
                password,
            } => {
                let link = SentinelLink::open(
                    sentinels,
                    master_name,
                    *db,
                    username.as_deref(),
                    password.as_deref(),
                    manager_config(push),
                )?;
                Ok(Self::Sentinel(link))
            }
            RedisTopology::Cluster {
                nodes,
                username,
                password,
            } => {
                let mut builder = ClusterClientBuilder::new(nodes.clone())
                    .use_protocol(ProtocolVersion::RESP3)
                    .push_sender(push)
                    .retries(2)
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT);
                if let Some(username) = username {
                    builder = builder.username(username);
                }
                if let Some(password) = password {
                    builder = builder.password(password);
                }
                let client = builder.build().map_err(backend)?;
                let config = ClusterConfig::new()
                    .set_connection_timeout(CONNECT_TIMEOUT)
                    .set_response_timeout(RESPONSE_TIMEOUT);
                Ok(Self::Cluster(
                    client.get_pending_async_connection_with_config(config),
                ))
            }
        }
    }

    /// Subscribes to `channel`; its messages arrive through the push sender given at
    /// [`RedisConnection::open`], and the subscription is made again after every reconnect,
    /// failover or cluster change.
    pub(super) async fn subscribe(&mut self, channel: &str) -> RedisResult<()> {
        match self {
            Self::Server(conn) => conn.subscribe(channel).await,
            Self::Sentinel(link) => link.subscribe(channel).await,
            Self::Cluster(conn) => conn.subscribe(channel).await,
        }
    }

    /// Which kind of deployment this is, for health reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Server(_) => "redis",
            Self::Sentinel(_) => "redis-sentinel",
            Self::Cluster(_) => "redis-cluster",
        }
    }
}

/// Reconnection and timeouts of one server's connection; subscriptions come back by themselves.
fn manager_config(push: impl AsyncPushSender) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(2)
        .set_push_sender(push)
        .set_automatic_resubscription()
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Server(conn) => conn.req_packed_command(cmd),
            Self::Sentinel(link) => link.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Server(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(link) => link.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Server(conn) => conn.get_db(),
            Self::Sentinel(link) => link.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
