//! The shape of the health report: the answer of `/health`, and the details of its
//! SERVICE_UNAVAILABLE refusal.

use auth_core::store::ComponentHealth;
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
}
