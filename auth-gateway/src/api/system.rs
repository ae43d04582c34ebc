//! `/api/system/*` and `/api/admin/schedule`: whether the system is open, its hours, and changing
//! them; `/metrics` for Prometheus.

use auth_core::schedule::Schedule;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use super::envelope::{ApiResult, Data};
use super::extract::{AdminReader, AdminWriter, Client, JsonBody};
use crate::state::AppState;

pub async fn status(State(state): State<AppState>) -> Data<serde_json::Value> {
    let schedule = state.core.schedule().current();
    let status = schedule.status_at(state.core.clock().now());
    let message = match (status.open, status.warning) {
        (true, true) => format!(
            "open; closing in {} minutes",
            (status.seconds_until_close.unwrap_or(0).max(0) as u64).div_ceil(60)
        ),
        (true, false) => "open".to_string(),
        (false, _) => match status.opens_at {
            Some(at) => format!("closed; opens at {at}"),
            None => "closed".to_string(),
        },
    };
    Data(json!({
        "status": if status.open { "open" } else { "closed" },
        "warning": status.warning,
        "message": message,
        "closes_at": status.closes_at,
        "opens_at": status.opens_at,
        "seconds_until_close": status.seconds_until_close,
        "timezone": schedule.timezone,
    }))
}

pub async fn operating_hours(State(state): State<AppState>) -> Data<Schedule> {
    Data((*state.core.schedule().current()).clone())
}

pub async fn schedule(State(state): State<AppState>, _: AdminReader) -> Data<Schedule> {
    Data((*state.core.schedule().current()).clone())
}

pub async fn replace_schedule(
    State(state): State<AppState>,
    AdminWriter(admin): AdminWriter,
    Client(client): Client,
    JsonBody(schedule): JsonBody<Schedule>,
) -> ApiResult<Data<Schedule>> {
    let stored = state
        .core
        .schedule()
        .replace(
            schedule,
            auth_core::Actor::Admin(admin),
            &client,
            state.core.stores().ephemeral.as_ref(),
            state.core.clock().now(),
        )
        .await?;
    Ok(Data((*stored).clone()))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
