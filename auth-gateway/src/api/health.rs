//! `GET /health`: whether the database and Redis answer, and the limit of open files. 200 when
//! every configured backend is up, 503 (naming the one that is down) when not, so a load balancer
//! takes this gateway out of rotation.

use auth_core::Error;
use auth_core::store::ComponentHealth;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::envelope::{Data, Failure, Success, error_json, error_status};
use crate::open_files::OpenFiles;
use crate::state::AppState;

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
    status: HealthStatus,
    database: ComponentHealth,
    redis: RedisHealth,
    /// The process's limit of open files (each connection holds one), raised at start to the
    /// hard limit; absent when the gateway runs embedded in another program.
    #[serde(skip_serializing_if = "Option::is_none")]
    open_files: Option<OpenFiles>,
}

/// Whether the gateway's backends answer
#[utoipa::path(
    get,
    path = "/health",
    tag = "system",
    responses(
        (status = 200, description = "Every backend is up", body = Success<HealthReport>),
        (status = 503, description = "SERVICE_UNAVAILABLE: a backend is down; `details` is the \
            health report", body = Failure),
    )
)]
pub async fn health(State(state): State<AppState>) -> Response {
    let health = state.core.health().await;
    let report = HealthReport {
        status: if health.all_up() {
            HealthStatus::Ok
        } else {
            HealthStatus::Unavailable
        },
        database: health.database.clone(),
        redis: health.redis.clone().map_or(
            RedisHealth::Absent(NotConfigured::NotConfigured),
            RedisHealth::Checked,
        ),
        open_files: crate::open_files::current(),
    };
    if health.all_up() {
        return Data(report).into_response();
    }
    let down = if health.database.up {
        "redis"
    } else {
        "database"
    };
    let err = Error::Unavailable(down);
    let mut body = error_json(&err);
    body["error"]["details"] = serde_json::to_value(report).unwrap_or_default();
    (error_status(&err), Json(body)).into_response()
}
