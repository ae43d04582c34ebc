//! `GET /health`: whether the database and Redis answer. 200 when every configured backend is up,
//! 503 (naming the one that is down) when not, so a load balancer takes this gateway out of
//! rotation.

use auth_core::Error;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::envelope::{Data, error_json, error_status};
use crate::state::AppState;

pub async fn health(State(state): State<AppState>) -> Response {
    let health = state.core.health().await;
    let report = json!({
        "status": if health.all_up() { "ok" } else { "unavailable" },
        "database": health.database,
        "redis": health.redis.as_ref().map_or(json!("not_configured"), |r| json!(r)),
    });
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
    body["error"]["details"] = report;
    (error_status(&err), Json(body)).into_response()
}
