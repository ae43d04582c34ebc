//! Configuration as data: one serde tree, read from `config/default.toml`, an optional file and the
//! environment, checked once in [`load`]. Nothing else in the program parses configuration.

pub mod hours;
mod load;
mod redis_section;
pub mod retention;
pub mod service;
mod validate;
pub mod values;
pub mod webhooks;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, DEFAULT_TOML, from_toml, load};
pub use redis_section::{RedisConfig, RedisTopology};
pub use retention::RetentionConfig;
pub use service::ServiceDefinition;
pub use webhooks::{EventsConfig, WebhookConfig};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub gateway: GatewayConfig,
    pub storage: StorageConfig,
    pub passwords: PasswordConfig,
    pub lockout: LockoutConfig,
    pub tokens: TokenConfig,
    #[serde(default)]
    pub keys: KeysConfig,
    pub mail: MailConfig,
    pub accounts: AccountsConfig,
    pub sessions: SessionsConfig,
    pub qr: QrConfig,
    pub schedule: ScheduleConfig,
    pub rate_limits: RateLimitConfig,
    pub cors: CorsConfig,
    pub retention: RetentionConfig,
    /// Present when short-lived state should live in Redis.
    #[serde(default)]
    pub redis: Option<RedisConfig>,
    /// Services placed behind the gateway, created on first start.
    #[serde(default)]
    pub services: Vec<ServiceDefinition>,
    /// Retention of events and how webhooks are delivered.
    pub events: EventsConfig,
    /// Receivers of events, each with its own signing secret.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// The closing warning of a service, by slug (`[service_warnings.service-b]`); a service
    /// without an entry gets the banner and the schedule's warning window.
    #[serde(default)]
    pub service_warnings: std::collections::BTreeMap<String, ServiceWarning>,
}

/// How the closing warning reaches the pages of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceWarning {
    /// Insert the live closing banner into the service's HTML answers.
    #[serde(default = "yes")]
    pub warning_banner: bool,
    /// Minutes before closing the warning starts at this service (0 to 1440); the schedule's
    /// `warning_minutes` when absent.
    #[serde(default)]
    pub warning_minutes: Option<u32>,
}

impl Default for ServiceWarning {
    fn default() -> Self {
        ServiceWarning {
            warning_banner: true,
            warning_minutes: None,
        }
    }
}

fn yes() -> bool {
    true
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
    pub hosts: Vec<String>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Addresses (CIDRs) that may read `/metrics`; others get 404 as for an unknown route.
    pub metrics_allow: Vec<String>,
    /// Seconds a client has to send a whole request head: from the connection for its first
    /// request, from the first byte for a later one. Then the connection is closed (408).
    pub request_head_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait, idle, for its next request.
    pub keepalive_idle_secs: u64,
    /// Connections one client address (an IPv6 client by its /64) may hold open at once; more
    /// are closed as they arrive. 0: no cap. Trusted proxies are not capped.
    pub max_connections_per_address: u32,
    /// The name `/health` gives this gateway; unset: the host name and the listening port.
    #[serde(default)]
    pub instance: Option<String>,
}

impl GatewayConfig {
    /// The host names of the gateway's own API and pages: `hosts`, the host of `public_url`, and
    /// the address it listens on. No service may be routed by one of them.
    pub fn own_hosts(&self) -> Vec<String> {
        let mut hosts = self.hosts.clone();
        if let Some(host) = url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_string()))
        {
            hosts.push(host);
        }
        if let Some((ip, _)) = self.listen.rsplit_once(':') {
            hosts.push(ip.trim_matches(['[', ']']).to_string());
        }
        hosts
    }

    /// Whether `ip` may read `/metrics`. The list is checked at load, so an entry that does not
    /// parse here cannot happen and would match nothing.
    pub fn metrics_allowed(&self, ip: Option<std::net::IpAddr>) -> bool {
        let Some(ip) = ip.map(|ip| ip.to_canonical()) else {
            return false;
        };
        self.metrics_allow
            .iter()
            .filter_map(|cidr| parse_ip_range(cidr))
            .any(|net| net.contains(&ip))
    }
}

/// An address or CIDR (`10.0.0.0/8`, `::1/128`, `127.0.0.1`): the one reader of the address
/// ranges in the configuration (`gateway.metrics_allow`, `rate_limits.trusted_proxies`).
pub fn parse_ip_range(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .ok()
}

/// An HTTPS listener.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub listen: String,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Request rates allowed per route class.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub login_per_minute: u32,
    /// Registration, verification and password recovery (API and pages).
    pub register_per_minute: u32,
    pub pin_per_minute: u32,
    pub scan_per_minute: u32,
    /// New QR codes on the login page, per address.
    pub challenge_per_minute: u32,
    /// Polling a QR code's state, per address.
    pub poll_per_minute: u32,
    /// A service's QR login calls (new codes, polls, PINs), per service key and kind of call.
    pub service_key_per_minute: u32,
    pub service_per_minute_per_session: u32,
    pub service_per_minute_per_ip: u32,
    pub shared: bool,
    pub trusted_proxies: Vec<String>,
}

/// Cross-origin access to the API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    pub allowed_origins: Vec<String>,
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

/// Password rules and hashing cost.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    pub min_length: usize,
    pub max_length: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub max_concurrent_hashes: usize,
    pub max_queued_hashes: usize,
}

/// How many wrong passwords lock an account, and for how long.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockoutConfig {
    pub max_failures: u32,
    pub lock_minutes: u32,
}

/// Token lifetimes and names.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    pub issuer: String,
    pub api_audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub refresh_grace_secs: u64,
    pub admin_ttl_secs: u64,
    pub leeway_secs: u64,
    pub email_verification_ttl_secs: u64,
    pub password_reset_ttl_secs: u64,
    pub pat_max_ttl_days: u32,
}

/// The master key that seals signing keys at rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Base64 of 32 bytes; None reads or creates `data_dir/master.key`.
    #[serde(default)]
    pub master_key: Option<String>,
}

/// Where mail goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub from: String,
    #[serde(default)]
    pub smtp_url: Option<String>,
    pub outbox_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsConfig {
    pub verification_resends_per_hour: u32,
}

/// Sessions at services.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsConfig {
    pub service_ttl_secs: u64,
}

/// The QR + PIN login.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QrConfig {
    pub challenge_ttl_secs: u64,
    pub pin_ttl_secs: u64,
    pub max_pin_attempts: u32,
}

/// The default operating hours.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub timezone: String,
    pub days: Vec<String>,
    pub open: String,
    pub close: String,
    pub warning_minutes: u32,
}

impl Config {
    /// Where mail is written when no SMTP server is configured.
    pub fn outbox_dir(&self) -> PathBuf {
        self.storage.data_dir.join(&self.mail.outbox_dir)
    }

    /// The configuration of `config/default.toml` alone.
    #[allow(
        clippy::expect_used,
        reason = "default.toml is built in, and a unit test loads it"
    )]
    pub fn defaults() -> Config {
        from_toml("").expect("config/default.toml is valid")
    }
}
