//! Where state lives: durable data in SQL ([`sql::Db`]: PostgreSQL or the embedded file) and
//! short-lived state behind [`Ephemeral`] (Redis or embedded). [`Stores::open`] picks the backends
//! from configuration and applies migrations.

pub mod backup;
pub mod ephemeral;
mod error;
pub(crate) mod migrations;
pub mod sql;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, StorageBackend};

pub use ephemeral::{Ephemeral, IndexRange};
pub use error::StoreError;
pub use sql::Db;

/// Name of the embedded database file inside `storage.data_dir`.
pub const EMBEDDED_DB_FILE: &str = "auth.db";

const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// The durable and the short-lived store, opened together.
#[derive(Clone, Debug)]
pub struct Stores {
    pub db: Db,
    pub ephemeral: Arc<dyn Ephemeral>,
    redis: Option<ephemeral::RedisStore>,
}

/// The state of one backend, as `/health` reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComponentHealth {
    pub backend: &'static str,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The state of every backend.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Health {
    pub database: ComponentHealth,
    /// None when Redis is not configured.
    pub redis: Option<ComponentHealth>,
}

impl Health {
    pub fn all_up(&self) -> bool {
        self.database.up && self.redis.as_ref().is_none_or(|r| r.up)
    }
}

impl Stores {
    /// Opens the configured backends and brings the schema up to date.
    pub async fn open(config: &Config) -> Result<Stores, StoreError> {
        let db = open_db(config).await?;
        db.migrate().await?;
        Self::with_db(config, db).await
    }

    /// Opens the configured database without migrating it (for `auth-gateway migrate`).
    pub async fn open_db(config: &Config) -> Result<Db, StoreError> {
        open_db(config).await
    }

    async fn with_db(config: &Config, db: Db) -> Result<Stores, StoreError> {
        match &config.redis {
            Some(redis_config) => {
                let redis = ephemeral::RedisStore::connect(redis_config)?;
                Ok(Stores {
                    db,
                    ephemeral: Arc::new(redis.clone()),
                    redis: Some(redis),
                })
            }
            None => {
                let embedded = ephemeral::EmbeddedStore::open(db.clone()).await?;
                Ok(Stores {
                    db,
                    ephemeral: Arc::new(embedded),
                    redis: None,
                })
            }
        }
    }

    /// Redis, when configured; for domains that use it directly (event streams, shared limits).
    pub fn redis(&self) -> Option<&ephemeral::RedisStore> {
        self.redis.as_ref()
    }

    /// Pings every backend, each bounded by a short timeout.
    pub async fn health(&self) -> Health {
        let database = component(self.db.kind().as_str(), self.db.ping()).await;
        let redis = match &self.redis {
            Some(redis) => Some(component(redis.backend_name(), redis.ping()).await),
            None => None,
        };
        Health { database, redis }
    }
}

async fn open_db(config: &Config) -> Result<Db, StoreError> {
    match config.storage.backend {
        StorageBackend::Embedded => {
            Db::open_embedded(&config.storage.data_dir.join(EMBEDDED_DB_FILE)).await
        }
        StorageBackend::Postgres => Db::connect_postgres(&config.storage.postgres),
    }
}

async fn component(
    backend: &'static str,
    ping: impl Future<Output = Result<(), StoreError>>,
) -> ComponentHealth {
    let outcome = tokio::time::timeout(PING_TIMEOUT, ping).await;
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(err.to_string()),
        Err(_) => Some("no answer within 2 seconds".to_string()),
    };
    ComponentHealth {
        backend,
        up: error.is_none(),
        error,
    }
}
