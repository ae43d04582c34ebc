//! Configuration as data: one serde tree, read from `config/default.toml`, an optional file and the
//! environment, checked once in [`load`]. Nothing else in the program parses configuration.

mod load;
mod validate;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, DEFAULT_TOML, from_toml, load};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub storage: StorageConfig,
    /// Present when short-lived state should live in Redis.
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    /// Services placed behind the gateway, created on first start.
    #[serde(default)]
    pub services: Vec<ServiceSeed>,
}

/// The listener and how the gateway is reached.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// `ip:port` to listen on.
    pub listen: String,
    /// Base URL people use to reach the gateway (QR codes and mailed links point here).
    pub public_url: String,
    pub threads: usize,
    pub max_body_bytes: usize,
}

/// Where durable data lives.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    pub data_dir: PathBuf,
    pub postgres: PostgresConfig,
}

/// The durable store in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    /// One SQLite file in `data_dir`.
    Embedded,
    /// A PostgreSQL server.
    Postgres,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    pub url: String,
    pub pool_size: usize,
    pub connect_timeout_secs: u64,
    pub acquire_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    pub url: String,
    /// Prefix of every key and channel, so several deployments can share one Redis.
    #[serde(default = "default_redis_prefix")]
    pub key_prefix: String,
}

fn default_redis_prefix() -> String {
    "auth:".to_string()
}

/// A service to create on first start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSeed {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub path_prefix: Option<String>,
    pub upstreams: Vec<String>,
}

impl Config {
    /// The configuration of `config/default.toml` alone.
    pub fn defaults() -> Config {
        from_toml("").expect("config/default.toml is valid")
    }
}
