//! The shape of the health report: the answer of `/health`, and the details of its
//! SERVICE_UNAVAILABLE refusal; and the name the report gives this gateway.

use auth_core::Config;
use auth_core::store::ComponentHealth;
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use crate::open_files::OpenFiles;

/// Up or not.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Unavailable,
}

/// Redis: its state, or `not_configured` when short-lived state is kept in the embedded store.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RedisHealth {
    Checked(ComponentHealth),
    Absent(NotConfigured),
}

/// Redis is not part of this deployment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotConfigured {
    NotConfigured,
}

/// The state of every backend.
#[derive(Serialize, ToSchema)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub database: ComponentHealth,
    pub redis: RedisHealth,
    /// The process's limit of open files (each connection holds one), raised at start to the
    /// hard limit; absent when the gateway runs embedded in another program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_files: Option<OpenFiles>,
    /// The gateway's version (of the crate it was built from).
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// Which gateway answered: `gateway.instance`, or the host name and listening port.
    #[schema(example = "gw1.example.net:8080")]
    pub instance: String,
    /// The gateway's clock when it answered.
    pub time: Timestamp,
    /// The dependencies that are down (`database`, `redis`); empty when all are up.
    pub down: Vec<Dependency>,
}

/// A dependency of the gateway that `/health` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Dependency {
    Database,
    Redis,
}

impl Dependency {
    pub fn as_str(self) -> &'static str {
        match self {
            Dependency::Database => "database",
            Dependency::Redis => "redis",
        }
    }
}

/// The name `/health` gives this gateway: `gateway.instance`, or `host:port` from the machine's
/// host name and the port it listens on.
pub fn instance_name(config: &Config) -> String {
    if let Some(name) = config.gateway.instance.as_deref() {
        return name.to_string();
    }
    let port = config
        .gateway
        .listen
        .rsplit_once(':')
        .map_or("", |(_, port)| port);
    format!(
        "{}:{port}",
        host_name().unwrap_or_else(|| "localhost".into())
    )
}

fn host_name() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    std::str::from_utf8(&buf[..end])
        .ok()
        .filter(|name| !name.is_empty())
        .map(str::to_string)
}
