//! `GET /health`: whether the database and Redis answer, the limit of open files, and which
//! gateway answered (version, instance, time). 200 when
//! every configured backend is up, 503 (naming the one that is down) when not, so a load balancer
//! takes this gateway out of rotation.

use auth_core::Error;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::web::envelope::{Data, Failure, Success, error_json, error_status};
use crate::web::health::{
    Dependency, HealthReport, HealthStatus, NotConfigured, RedisHealth, instance_name,
};
use crate::web::state::AppState;

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
    let mut down = Vec::new();
    if !health.database.up {
        down.push(Dependency::Database);
    }
    if health.redis.as_ref().is_some_and(|r| !r.up) {
        down.push(Dependency::Redis);
    }
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
        version: env!("CARGO_PKG_VERSION"),
        instance: instance_name(state.core.config()),
        time: state.core.clock().now(),
        down: down.clone(),
    };
    if health.all_up() {
        return Data(report).into_response();
    }
    let first_down = down.first().map_or("database", |d| d.as_str());
    let err = Error::Unavailable(first_down).into();
    let mut body = error_json(&err);
    body["error"]["details"] = serde_json::to_value(report).unwrap_or_default();
    (error_status(&err), Json(body)).into_response()
}
